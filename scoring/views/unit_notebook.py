"""What the unit-period notebook calls (SPEC 3.9: a unit's 党委 scores its branches month by month):
load, show, chart, trace, write. No logic in cells.

Every table is shown as an officer reads it: Chinese headers with the key beside, scores with two
decimals, 是/否, blanks for missing values. The 互评 appear only as each indicator's mean and its
number of raters, never as which branch gave which mark.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..inputs.unit import SCORED_BY_WORDS, UNIT_SHEETS, UnitBook, load_unit
from ..inputs.unit_demo import write_demo_unit
from ..labels import label, readable_values
from ..outputs.csvfile import write_csv
from ..outputs.excel import write_results_workbook
from ..outputs.notice import write_notice_pdf
from ..rules.engine import NO
from ..rules.engine.pipeline import score_unit
from ..rules.periods import KIND_LABELS, parse_period
from ..rules.rounding import round_scores
from ..rules.scheme import load_scheme
from ..rules.words import bands_text
from .notebook import Run, _display, check_provenance, show_png
from .notebook import environment as environment  # the same cell as the branch notebook's
from .notebook import show_parameters as show_parameters
from .unit_trace import month_ranks, unit_trace

# the unit's words for the keys of its tables (the general labels say 积分 and 层级, which a
# branch's score and level are not)
UNIT_LABELS: dict[str, str] = {
    "branch_id": "支部编号",
    "branch_name": "支部名称",
    "member_id": "支部编号",
    "name": "指标名称",
    "score": "得分",
    "rank": "排名",
    "level": "定级",
    "approved": "党委审定",
    "month": "月份",
    "quarter": "季度",
    "months": "计分月数",
    "category": "类别",
    "code": "指标代码",
    "indicator": "指标",
    "max": "满分",
    "self_score": "自评分",
    "verified_score": "验证分",
    "reason": "验证说明",
    "verified_by": "验证人",
    "mutual_mean": "互评平均",
    "raters": "评价支部数",
    "total": "月度得分",
    "cell": "单元格",
    "sheet": "工作表",
    "rows": "行数",
    "scored_by": "评分方式",
    "applies_to": "适用支部",
    "step": "步骤",
    "item": "类别或指标",
    "value": "数值",
    "text": "文字结果",
    "rule": "规则",
    "source": "来源单元格",
    "note": "说明",
}
SCORE_KEYS = {"score", "max", "self_score", "verified_score", "mutual_mean", "total"}
MAX_ROWS = 500  # a table longer than this shows its head (a unit of 20 branches has 3,000 indicator rows a year)


@dataclass
class UnitRun(Run):
    """A scored unit and period: the branch notebook's :class:`Run` with the unit workbook beside."""

    unit: UnitBook

    @property
    def months(self) -> list[int]:
        return self.period.months

    def month_text(self, month: int) -> str:
        return f"{self.period.year}-{int(month):02d}"


def two(values: Any) -> list[str]:
    """Scores as an officer reads them: two decimals, rounded as a spreadsheet's ROUND; blank for none."""
    x = round_scores(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=np.float64))
    return ["" if np.isnan(v) else f"{v:.2f}" for v in x]


def shown(df: pd.DataFrame, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """``df`` for display: scores with two decimals, counts as whole numbers, blanks, 是/否, and
    ``中文 (key)`` headers (``labels`` first, then the unit's words, then the package's)."""
    out = df.copy()
    for c in out.columns:
        if c in SCORE_KEYS:
            out[c] = two(out[c])
        elif pd.api.types.is_float_dtype(out[c]) and out[c].dropna().apply(float.is_integer).all():
            out[c] = out[c].astype("Int64")
    out = readable_values(out)
    words = UNIT_LABELS | (labels or {})
    return out.rename(columns={c: f"{words[c]} ({c})" if c in words else label(str(c)) for c in out.columns})


def _show_table(title: str, df: pd.DataFrame, note: str = "") -> None:
    """A titled table: in full up to :data:`MAX_ROWS` rows, else its head with the count."""
    n = len(df)
    more = f", 显示前 {MAX_ROWS} 行" if n > MAX_ROWS else ""
    print(f"\n【{title}】 共 {n} 行{more}" if n else f"\n【{title}】 无 (none)")
    if note:
        print(note)
    if n:
        with pd.option_context("display.max_rows", MAX_ROWS + 10, "display.max_columns", 40):
            _display(df.head(MAX_ROWS))


def demo_unit_inputs(year: int = 2025) -> Path:
    """The demo unit's workbook in a temporary folder (used when no input is given)."""
    return write_demo_unit(Path(tempfile.mkdtemp(prefix="scoring-demo-unit-")), year)


# -- 2. input checks ----------------------------------------------------------------------------


def load(inputs_path: str, period: str, scheme: str = "") -> UnitRun:
    """Read, validate and score the unit workbook; show the input checks."""
    path = Path(inputs_path) if inputs_path else demo_unit_inputs()
    p = parse_period(period)
    unit, sch = load_unit(path, p, load_scheme(scheme) if scheme else None)
    result = score_unit(unit, sch, p)
    run = UnitRun(path, p, sch, result, unit)
    s = sch.scheme
    print(f"单位 (unit): {unit.unit_id} {unit.unit_name}")
    print(f"期间 (period): {p.text} {p.label} ({KIND_LABELS[p.kind]})")
    print(f"积分方案 (scheme): {s.name} {s.version} — {s.title}; SHA-256 {sch.sha256}")
    print(f"输入文件 (input): {path.name}; SHA-256 {unit.sha256}")
    print("输入检查通过: 各工作表行数如下 (all input checks passed; rows per sheet of the year):")
    counts = pd.DataFrame(
        [(f"{UNIT_SHEETS[k].label} ({k})", len(getattr(unit, k))) for k in UNIT_SHEETS if k != "unit"],
        columns=["sheet", "rows"],
    )
    _display(shown(counts))
    if len(unit.normalised):
        print("以下单元格按规则规范化后读取 (cells read after a normalisation):")
        n = unit.normalised[["sheet", "column", "cells", "count", "value", "read_as", "why"]]
        _display(
            shown(
                n,
                {
                    "sheet": "工作表",
                    "column": "列",
                    "cells": "单元格",
                    "count": "个数",
                    "value": "原值",
                    "read_as": "读作",
                    "why": "原因",
                },
            )
        )
    else:
        print("没有需要规范化读取的单元格 (no cell needed a normalisation)。")
    for note in unit.notes:
        print("说明:", note)
    return run


# -- 3. the scheme ------------------------------------------------------------------------------


def show_scheme(run: UnitRun) -> pd.DataFrame:
    """How a branch's score is formed, the level thresholds, then the categories with their maxima
    and who scores them; the indicators the 党委 set for the period's quarters follow."""
    s = run.scheme.scheme
    print("考评对象: 党支部 (subject: branch); 每月评分 (cadence: month)")
    print("月度得分 = 各类指标得分之和 (0..100)")
    print("自评类指标计检查验证分 (没有验证则计自评分); 评价类指标计其他支部互评的平均")
    print(f"季度 (季考): {s.period_text('quarter')}")
    print(f"年度 (年定级): {s.period_text('year')}; 定级: {bands_text(s, 'year')}")
    print("排名: 按四舍五入到两位小数后的得分降序, 并列同名次; 党委未审定的月份, 其排名为草稿 (未审定)。")
    cats = pd.DataFrame(
        [(i.code, i.name, i.max, SCORED_BY_WORDS[str(i.scored_by)]) for i in s.items],
        columns=["code", "category", "max", "scored_by"],
    )
    ind = run.unit.indicators
    quarters = sorted({(m - 1) // 3 + 1 for m in run.months})
    ind = ind[ind["quarter"].isin(quarters)].copy()
    names = {i.code: f"{i.name} ({i.code})" for i in s.items}
    table = pd.DataFrame(
        {
            "quarter": [f"{run.period.year}Q{int(q)}" for q in ind["quarter"]],
            "code": ind["code"],
            "category": ind["category"].map(names),
            "name": ind["name"],
            "max": ind["max"],
            "applies_to": [b if b else "全部支部" for b in ind["branch_id"]],
            "cell": [run.unit.cell("indicators", "code", int(r)) for r in ind["row"]],
        }
    )
    _show_table("本期考评指标 (indicators of the period's quarters, as the 党委 set them)", shown(table))
    print(f"\n考评类别 {len(s.items)} 类, 合计满分 {sum(i.max for i in s.items):.2f}:")
    return shown(cats, {"code": "类别代码"})


# -- 4. intermediate tables ---------------------------------------------------------------------


def _in_period(run: UnitRun, df: pd.DataFrame) -> pd.DataFrame:
    return df[df["month"].between(run.period.first_month, run.period.last_month)]


def indicator_table(run: UnitRun) -> pd.DataFrame:
    """Each indicator's score per branch and month of the period: self-score, verified score and
    why, the mutual mean and its number of raters (never a rater), the score that counts."""
    ind = run.result.indicators
    assert ind is not None  # score_unit always sets it
    ind = _in_period(run, ind)
    names = {i.code: i.name for i in run.scheme.scheme.items}
    return pd.DataFrame(
        {
            "branch_id": ind["branch_id"],
            "month": [run.month_text(m) for m in ind["month"]],
            "category": ind["category"].map(names),
            "code": ind["code"],
            "name": ind["name"],
            "max": ind["max"],
            "self_score": ind["self_score"],
            "verified_score": ind["verified_score"],
            "reason": ind["reason"],
            "mutual_mean": ind["mutual_mean"],
            "raters": ind["raters"],
            "score": ind["score"],
        }
    ).reset_index(drop=True)


def category_table(run: UnitRun) -> pd.DataFrame:
    """Each branch's category scores and score in each month of the period, and whether the 党委
    approved the month."""
    r = run.result
    s = run.scheme.scheme
    cats = _in_period(run, r.item_scores).drop(columns="row")
    totals = _in_period(run, r.monthly_totals)[["member_id", "month", "total"]]
    t = cats.merge(totals, on=["member_id", "month"])
    approved = run.unit.approved_months
    out = pd.DataFrame({"branch_id": t["member_id"], "month": [run.month_text(m) for m in t["month"]]})
    for i in s.items:
        out[i.code] = two(t[i.code])
    out["total"] = t["total"].to_numpy()
    out["approved"] = ["是" if int(m) in approved else "否" for m in t["month"]]
    return out.rename(columns={i.code: f"{i.name} ({i.code})" for i in s.items})


def show_intermediate(run: UnitRun) -> None:
    """The indicators' scores, the verifications, the categories per month and, for a quarter or a
    year, the quarters (季考)."""
    _show_table(
        "指标得分 (indicator scores per branch and month)",
        shown(indicator_table(run)),
        "自评类指标: 有验证分时计验证分, 否则计自评分; 评价类指标: 计其他支部互评的平均 (只显示平均分和评价支部数)。",
    )
    ver = run.unit.verification
    ver = ver[ver["month"].between(run.period.first_month, run.period.last_month)]
    ind = run.result.indicators
    assert ind is not None
    selfs = ind.set_index(["branch_id", "month", "code"])["self_score"]
    table = pd.DataFrame(
        {
            "branch_id": ver["branch_id"],
            "month": [run.month_text(m) for m in ver["month"]],
            "indicator": ver["indicator"],
            "self_score": [
                selfs.get((b, m, k)) for b, m, k in zip(ver["branch_id"], ver["month"], ver["indicator"], strict=True)
            ],
            "verified_score": ver["verified_score"],
            "reason": ver["reason"],
            "verified_by": ver["verified_by"],
            "cell": [run.unit.cell("verification", "verified_score", int(r)) for r in ver["row"]],
        }
    )
    _show_table("检查验证 (the self-scores the 联评联考办公室 replaced; the original is kept)", shown(table))
    _show_table("各类得分和月度得分 (category scores and the month's score per branch)", shown(category_table(run)))
    if run.period.kind != "month":
        q = run.result.quarters
        q = q[q["quarter"].isin(run.period.quarters)]
        table = pd.DataFrame(
            {
                "branch_id": q["member_id"],
                "quarter": [f"{run.period.year}Q{int(k)}" for k in q["quarter"]],
                "months": q["months"],
                "score": q["score_rounded"],
                "rank": q["rank"],
            }
        )
        _show_table("季考 (quarters: the mean of the quarter's months, ranked)", shown(table))


# -- 5. results ---------------------------------------------------------------------------------


def _unapproved(run: UnitRun) -> list[int]:
    return [m for m in run.months if m not in run.unit.approved_months]


def headline(run: UnitRun) -> pd.DataFrame:
    """A few deterministic figures of the run (checked by nbval on the demo)."""
    summ = run.result.summary()
    rows: list[tuple[str, Any]] = [
        ("党支部数 branches", len(summ)),
        ("党委已审定的月份 months approved", f"{len(run.months) - len(_unapproved(run))}/{len(run.months)}"),
        ("平均得分 mean score", two([summ["score"].mean()])[0]),
        ("最高分 highest", two([summ["score"].max()])[0]),
    ]
    if run.period.kind == "year":
        counts = summ["level"].value_counts()
        levels = ", ".join(f"{b.grade} {int(counts.get(b.grade, 0))}" for b in run.scheme.scheme.bands)
        rows.append(("定级 levels", levels))
    return pd.DataFrame(rows, columns=["指标", "值"])


def show_results(run: UnitRun) -> pd.DataFrame:
    """The period's ranking, best first; for a period with a month the 党委 has not approved, says
    the ranking is a draft (未审定)."""
    p = run.period
    missing = _unapproved(run)
    if not missing:
        print(f"{p.label}各月均已经党委审定, 排名为正式结果 (approved: the ranking is final)。")
    elif p.kind == "month":
        print(f"{p.label}未审定, 排名为草稿 (not approved by the 党委: the ranking is a draft)。")
    else:
        months = "、".join(run.month_text(m) for m in missing)
        print(f"{months} 未审定, 本期排名为草稿 (months not approved by the 党委: the ranking is a draft)。")
    summ = run.result.summary().sort_values(["rank", "branch_id"], kind="stable")
    summ = summ[["rank", *[c for c in summ.columns if c != "rank"]]].reset_index(drop=True)
    summ["approved"] = [("是" if v != NO else "否") for v in summ["approved"]]
    return shown(summ, {"score": f"{KIND_LABELS[p.kind]}得分"})


def monthly_scores(run: UnitRun) -> pd.DataFrame | None:
    """Each branch's score and rank in each month of a quarter or a year (None for a month)."""
    if run.period.kind == "month":
        return None
    t = _in_period(run, month_ranks(run.result))
    scores = t.pivot(index="member_id", columns="month", values="total")
    ranks = t.pivot(index="member_id", columns="month", values="rank")
    order = list(run.result.members["member_id"])
    out = pd.DataFrame({"branch_id": order})
    for m in scores.columns:
        out[f"{int(m)}月"] = [
            f"{s} ({int(r)})" for s, r in zip(two(scores.loc[order, m]), ranks.loc[order, m], strict=True)
        ]
    print("各月得分 (括号内为当月排名; monthly score with the month's rank in brackets):")
    return shown(out)


# -- 6. chart -----------------------------------------------------------------------------------


def chart(run: UnitRun) -> None:
    """A month: the ranking as bars; a quarter or a year: each branch's monthly scores as lines,
    with the level thresholds. Displayed as a PNG, whatever matplotlib backend the kernel has."""
    from .display import legend_outside as _legend_outside
    from .display import new_figure as _figure
    from .display import use_cjk_fonts as _cjk

    _cjk()
    r = run.result
    p = run.period
    names = r.members.set_index("member_id")["name"]
    fig, ax = _figure()
    if p.kind == "month":
        summ = r.summary().sort_values(["rank", "branch_id"], ascending=[False, False], kind="stable")
        labels = [f"{names[b]} ({b})" for b in summ["branch_id"]]
        bars = ax.barh(labels, summ["score"], color="#c0392b", alpha=0.85)
        ax.bar_label(bars, labels=two(summ["score"]), padding=3, fontsize=8)
        ax.set_xlim(0, 105)
        ax.set_xlabel("月度得分")
        draft = "" if not _unapproved(run) else " (未审定, 草稿)"
        ax.set_title(f"{run.unit.unit_name} {p.label}党支部联评联考排名{draft}")
    else:
        t = _in_period(run, r.monthly_totals)
        for b, g in t.groupby("member_id", sort=False):
            ax.plot(g["month"], g["total"], marker="o", linewidth=1.5, label=f"{names[b]} ({b})")
        for band in run.scheme.scheme.bands:
            if band.min > 0:
                ax.axhline(band.min, color="#888", linestyle=":", linewidth=1)
                ax.annotate(
                    f"{band.grade} ≥{band.min:g}", (p.last_month + 0.4, band.min), fontsize=8, color="#555", va="center"
                )
        ax.set_xticks(run.months, [f"{m}月" for m in run.months])
        ax.set_xlim(p.first_month - 0.3, p.last_month + 1.6)
        ax.set_ylabel("月度得分")
        ax.set_title(f"{run.unit.unit_name} {p.label}各党支部月度得分")
        _legend_outside(ax)
    show_png(fig)


# -- 7. trace -----------------------------------------------------------------------------------


def default_branch(run: UnitRun) -> str:
    """The branch to trace when none is given: the first-ranked (the first listed among equals)."""
    summ = run.result.summary()
    return str(summ.sort_values(["rank"], kind="stable")["branch_id"].iloc[0])


def show_trace(run: UnitRun, branch_id: str = "") -> None:
    """The whole trace of one branch: the level or the period's score, each month's score, each
    category and each indicator with its cell, verification row or mutual mean and raters."""
    bid = branch_id or default_branch(run)
    t = unit_trace(run.result, run.unit, bid)
    name = str(run.result.members.set_index("member_id").loc[bid, "name"])
    print(
        f"追溯 (trace): {bid} {name} — {len(t)} 行, 从{run.period.label}得分一直到每个指标的自评单元格、"
        "检查验证行和互评平均 (the input cell of every figure)"
    )
    value = [
        "" if pd.isna(v) else (str(int(v)) if whole else f"{v:.2f}")
        for v, whole in zip(round_scores(t["value"].to_numpy(dtype=np.float64)), t["whole"], strict=True)
    ]
    t = t.drop(columns="whole").assign(value=value)
    # a year's rule names its twelve months' scores: shown whole, not cut at pandas' 50 characters
    with pd.option_context("display.max_rows", 2000, "display.max_colwidth", 300):
        _display(shown(t, {"level": "层级"}))


# -- 8. outputs ---------------------------------------------------------------------------------


def provenance_of(run: UnitRun) -> dict[str, Any]:
    """Provenance when the notebook is run by hand rather than by ``python -m scoring run``."""
    return {
        "unit_id": run.unit.unit_id,
        "unit_name": run.unit.unit_name,
        "period": run.period.text,
        "input_file": run.inputs_path.name,
        "input_sha256": run.unit.sha256,
        "scheme_name": run.scheme.name,
        "scheme_version": run.scheme.version,
        "scheme_sha256": run.scheme.sha256,
        "package_version": __version__,
    }


def write_outputs(run: UnitRun, out_dir: str, provenance: dict[str, Any]) -> list[Path]:
    """Write summary.csv (SPEC 3.9's table; keys and yes/no as SPEC 6 keeps them), the results
    workbook and 通报.pdf into ``out_dir`` and list what was written. Nothing is written when the
    files scored differ from those ``provenance`` records."""
    check_provenance(run, provenance)
    if not out_dir:
        print("未指定输出文件夹, 不写文件 (no out_dir: nothing written)")
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [write_csv(run.result.summary(), out / "summary.csv")]  # no text cell becomes a formula
    result = run.result
    written.append(
        write_results_workbook(result, out / f"{run.unit.unit_id}_{result.period.text}_结果.xlsx", provenance)
    )
    if shutil.which("soffice"):
        written.append(write_notice_pdf(result, out))
    else:
        print(
            "未安装 LibreOffice, 不生成 通报.pdf (LibreOffice missing: no 通报.pdf); apt-get install libreoffice-calc"
        )
    for path in written:
        print("已写出 (written):", path.name)
    return written
