"""The unit roll-up of one period: every branch scored by the engine, ranked across the unit.

The roll-up's numbers come from the engine over each branch run's archived input and scheme (the
same arithmetic as the branch notebooks, in one process); each branch run's ``summary.csv`` is
then compared with them, so the roll-up also checks the runs it references by hash.
Members are ranked across the unit within each scheme: totals of different rule sets are not on
one scale.
"""

from __future__ import annotations

import io
import json
import multiprocessing
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from xlsxwriter.utility import xl_col_to_name

from ..exceptions import InputError
from ..inputs.reading import InputBook, load_inputs, period_not_formed
from ..labels import YES_NO, provenance_label, readable_values, run_label, shown
from ..outputs.csvfile import csv_text, write_csv
from ..outputs.excel import FONT, column_width, extreme_where, header_height, print_setup, wrapped_lines, write_array
from ..outputs.excel2010 import Workbook as Excel2010Workbook
from ..rules.engine import TIE, YES, Result, score, share_quota, tier_names
from ..rules.periods import parse_period
from ..rules.scheme import LoadedScheme, Tiers, load_scheme
from .execute import MANIFEST, sha256_file
from .summaries import compare_summaries, read_summary, summary_text

SCORE_COLUMN = {"year": "total", "half": "half_score", "quarter": "quarter_score", "month": "month_total"}
# the roll-up's list of open follow-up cases (SPEC 8), from each branch run's cases.csv
ROLLUP_CASE_COLUMNS = [
    "branch_id",
    "branch_name",
    "member_id",
    "name",
    "case_year",
    "kind",
    "grade",
    "opened_on",
    "deadline",
    "overdue",
    "decided_on",
    "action",
    "helper",
]


@dataclass
class BranchSource:
    """Where one branch's figures come from: its input and scheme, and the run that used them."""

    branch_id: str
    input_path: Path
    scheme_path: Path | None
    run: Path | None = None
    manifest_sha256: str = ""
    summary_sha256: str = ""
    input_name: str = ""  # the input workbook's name when the run was made (its archived copy is named by hash)

    @property
    def input_shown(self) -> str:
        return self.input_name or self.input_path.name


@dataclass
class Rollup:
    period: str
    sources: list[BranchSource]
    results: list[Result]
    unit: pd.DataFrame  # one row per member of the unit
    branches: pd.DataFrame  # branch comparison
    quotas: pd.DataFrame  # star quota use per branch
    follow_ups: pd.DataFrame
    checks: pd.DataFrame  # per branch run: figures that differ from the engine's (0 expected)
    missing: list[str] = field(default_factory=list)  # branches in the batch without a run
    # the unit's 支部联评联考 runs of the period (SPEC 3.9), by unit id; their figures are in branches
    assessment_runs: dict[str, Path] = field(default_factory=dict)
    # the open follow-up cases of every branch (SPEC 8: ROLLUP_CASE_COLUMNS), overdue first
    cases: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ROLLUP_CASE_COLUMNS))


def latest_runs(out: str | Path, period: str) -> dict[str, Path]:
    """The newest sealed run of every branch under ``OUT/PERIOD`` (roll-ups excluded)."""
    runs: dict[str, Path] = {}
    for branch in sorted((Path(out) / period).glob("*")):
        if branch.name.startswith("_"):
            continue
        versions = sorted(v for v in branch.glob("v[0-9][0-9][0-9]") if (v / MANIFEST).is_file())
        if versions:
            runs[branch.name] = versions[-1]
    return runs


def sources_from_runs(runs: Mapping[str, str | Path]) -> list[BranchSource]:
    out = []
    for branch_id, run in sorted(runs.items()):
        run = Path(run)
        m = json.loads((run / MANIFEST).read_text(encoding="utf-8"))
        scheme = m["scheme"]
        out.append(
            BranchSource(
                branch_id=branch_id,
                input_path=(run / m["inputs"][0]["archived"]).resolve(),
                scheme_path=(run / scheme["archived"]).resolve() if scheme.get("archived") else None,
                run=run,
                manifest_sha256=sha256_file(run / MANIFEST),
                summary_sha256=sha256_file(run / "summary.csv"),
                input_name=str(m["inputs"][0].get("file", "")),
            )
        )
    return out


def demo_sources(folder: str | Path) -> list[BranchSource]:
    """The demo county's branches straight from generated inputs (no runs): for the notebook
    opened by hand or under nbval."""
    from ..inputs.demo import generate_demo

    return [BranchSource(p.stem.split("_")[0], p, None) for p in generate_demo(Path(folder))]


# Starting two reading processes costs about 0.5 s; 20 branches (30 members each) take as long
# read by two as by one (1.13 s against 1.10 s, measured): fewer are read in this process.
PARALLEL_MIN_BRANCHES = 20


def _read_one(period: str, input_path: Path, scheme_path: Path | None) -> tuple[InputBook, LoadedScheme] | None:
    """One branch's input; None when its scheme scores quarters or the year and so cannot form a
    shorter ``period`` (SPEC 4): such a branch is not in this period's roll-up."""
    loaded = load_scheme(str(scheme_path)) if scheme_path is not None else None  # parsed once per process
    try:
        return load_inputs(input_path, parse_period(period), loaded)
    except InputError as exc:
        if period_not_formed(exc):
            return None
        raise


def read_sources(
    period: str, sources: list[BranchSource], jobs: int = 1, min_parallel: int = PARALLEL_MIN_BRANCHES
) -> list[tuple[InputBook, LoadedScheme] | None]:
    """Every branch's input read and validated, in the order of ``sources``.

    Reading the workbooks is most of a roll-up's time; with ``jobs`` > 1 and at least
    ``min_parallel`` branches it is spread over ``jobs`` processes. The scoring itself stays in
    one process (:func:`build`)."""
    periods = [period] * len(sources)
    inputs = [src.input_path for src in sources]
    schemes = [src.scheme_path for src in sources]
    if jobs <= 1 or len(sources) < max(min_parallel, 2):
        return list(map(_read_one, periods, inputs, schemes))
    # spawn: the kernel running the roll-up notebook has threads, which a fork would copy mid-flight
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_read_one, periods, inputs, schemes, chunksize=max(1, len(sources) // (jobs * 4))))


def build(
    period: str,
    sources: list[BranchSource],
    missing: list[str] | None = None,
    jobs: int = 1,
    assessment_runs: Mapping[str, str | Path] | None = None,
) -> Rollup:
    """Score every branch with the engine and make the roll-up tables (inputs read with ``jobs``
    processes, see :func:`read_sources`); ``assessment_runs``: the unit's 支部联评联考 runs of the
    period, whose score, rank and level stand beside each branch in the branch comparison."""
    p = parse_period(period)
    results: list[Result] = []
    checks = []
    for src, read in zip(sources, read_sources(p.text, sources, jobs), strict=True):
        if read is None:  # a scheme scored once a year has no quarter, and so on
            continue
        book, sch = read
        result = score(book, sch, p)
        results.append(result)
        if src.run is not None:
            diff = compare_summaries(read_summary(src.run), summary_text(result.summary()), "run", "engine")
            checks.append((src.branch_id, run_label(src.run), len(diff), "OK" if diff.empty else "不一致 (differs)"))
    unit = unit_table(results)
    assessed = {k: Path(v) for k, v in (assessment_runs or {}).items()}
    branches = branch_table(unit, results)
    if assessed and len(branches):
        branches = branches.merge(assessment_table(assessed), on="branch_id", how="left")
    return Rollup(
        period=p.text,
        sources=sources,
        results=results,
        unit=unit,
        branches=branches,
        assessment_runs=assessed,
        quotas=quota_table(results),
        follow_ups=follow_up_table(results),
        checks=pd.DataFrame(checks, columns=["branch_id", "run", "differences", "check"]),
        missing=list(missing or []),
        cases=case_table(sources, results),
    )


def unit_table(results: list[Result]) -> pd.DataFrame:
    """Every member of the unit with the period's score and the rank across the unit (per scheme)."""
    frames = []
    for r in results:
        s = r.summary()
        key = SCORE_COLUMN[r.period.kind]
        cols: dict[str, pd.Series | None] = {
            "member_id": s["member_id"],
            "name": s["name"],
            "score": pd.to_numeric(s[key], errors="coerce"),
        }
        for c in ("stars", "grade", "veto", "exempt"):
            cols[c] = s[c] if c in s.columns else None
        frame = pd.DataFrame(cols)
        frame.insert(0, "scheme", r.scheme.name)
        frame.insert(0, "branch_name", r.branch_name)
        frame.insert(0, "branch_id", r.branch_id)
        frames.append(frame)
    unit = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if unit.empty:
        return unit
    ranked = unit["score"].notna() & (unit["veto"].fillna("no") != YES) & (unit["exempt"].fillna("no") != YES)
    unit["unit_rank"] = unit["score"].where(ranked).groupby(unit["scheme"]).rank(method="min", ascending=False)
    unit_tiers = {r.scheme.name: r.scheme.scheme.tiers for r in results if _unit_scope(r)}
    if unit_tiers:  # rank-share tiers across the unit's branches of a scheme (SPEC 3.8)
        unit["unit_tier"] = None
        for name, tiers in unit_tiers.items():
            assert tiers is not None  # _unit_scope
            mine = (unit["scheme"] == name).to_numpy()
            veto = (unit["veto"].fillna("no") == YES).to_numpy()
            unit.loc[mine, "unit_tier"] = tier_names(unit.loc[mine, "unit_rank"], veto[mine], tiers).to_numpy()
    return unit.sort_values(["scheme", "unit_rank", "branch_id", "member_id"], na_position="last").reset_index(
        drop=True
    )


def _unit_tier_formula(tiers: Tiers, row: int, rng: dict[str, str], at: dict[str, int]) -> str:
    """The unit-wide tier as a formula: the first tier whose bound (members of the scheme ranked
    across the unit x cumulative share) exceeds rank - 1; a vetoed member gets the veto tier."""
    rank, scheme, veto = (f"{xl_col_to_name(at[c])}{row}" for c in ("unit_rank", "scheme", "veto"))
    shares = ",".join(f"{c:.10g}" for c in np.cumsum([t.share for t in tiers.tiers]))
    names = ",".join(_quoted(t.name) for t in tiers.tiers)
    ranked = f'COUNTIFS({rng["scheme"]},{scheme},{rng["unit_rank"]},">0")'
    # no ROUND over the array (Gnumeric rounds its first element only): a bound within 1E-9 of
    # rank - 1 counts as reached, as the engine's bounds rounded to 9 decimals do
    k = f"1+SUMPRODUCT(--({{{shares}}}*{ranked}<={rank}-1+1E-9))"
    vetoed = _quoted(tiers.veto_tier or "")
    return f'=IF({rank}="",IF({veto}="{YES_NO["yes"]}",{vetoed},""),INDEX({{{names}}},1,MIN({k},{len(tiers.tiers)})))'


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _unit_scope(r: Result) -> bool:
    tiers = r.scheme.scheme.tiers
    return r.period.kind == "year" and tiers is not None and tiers.scope == "unit"


def branch_table(unit: pd.DataFrame, results: list[Result]) -> pd.DataFrame:
    """Per branch: members, members scored, mean, spread, lowest and highest score, and how many
    members have each star level (or grade, for schemes without stars)."""
    rows = []
    for r in results:
        u = unit[unit["branch_id"] == r.branch_id]
        scored = u["score"].dropna()
        row: dict[str, Any] = {
            "branch_id": r.branch_id,
            "branch_name": r.branch_name,
            "scheme": r.scheme.name,
            "members": len(u),
            "scored": len(scored),
            "mean": float(scored.mean()) if len(scored) else np.nan,
            "std": float(scored.std(ddof=1)) if len(scored) > 1 else np.nan,
            "min": float(scored.min()) if len(scored) else np.nan,
            "max": float(scored.max()) if len(scored) else np.nan,
        }
        if r.period.kind == "year":
            if r.scheme.scheme.has_stars:
                counts = pd.to_numeric(u["stars"], errors="coerce").value_counts()
                for stars in range(10, -1, -1):
                    row[f"stars_{stars}"] = int(counts.get(stars, 0))
            for band in r.scheme.scheme.bands:
                if band.grade is not None:
                    row[f"grade_{band.grade}"] = int((u["grade"] == band.grade).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def assessment_table(runs: Mapping[str, Path]) -> pd.DataFrame:
    """Each branch's 支部联评联考 figures from the unit's sealed runs (their summary.csv, SPEC 3.9):
    branch_id, assessment_score, assessment_rank, and for a year assessment_level."""
    frames = []
    for run in runs.values():
        s = read_summary(run)
        t = pd.DataFrame(
            {
                "branch_id": s["branch_id"],
                "assessment_score": pd.to_numeric(s["score"], errors="coerce"),
                "assessment_rank": pd.to_numeric(s["rank"], errors="coerce").astype("Int64"),
            }
        )
        if "level" in s:
            t["assessment_level"] = s["level"]
        t["assessment_approved"] = s["approved"]
        frames.append(t)
    columns = ["branch_id", "assessment_score", "assessment_rank", "assessment_approved"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def quota_table(results: list[Result]) -> pd.DataFrame:
    """Per branch: the star quota of the period, how many were picked and how many are tied."""
    rows = []
    for r in results:
        s = r.scheme.scheme
        if r.period.kind == "year" and s.annual_star is not None:
            a = r.annual
            eligible = int((a["rank"].notna() & (a["stars"].fillna(-1) == s.annual_star.of_stars)).sum())
            rows.append(
                (
                    r.branch_id,
                    "年度之星 (annual star)",
                    eligible,
                    share_quota(s.annual_star.share, eligible),
                    int((a["annual_star"] == YES).sum()),
                    int((a["annual_star"] == TIE).sum()),
                )
            )
        if r.period.kind == "quarter" and s.quarter_star is not None:
            q = r.quarters[r.quarters["quarter"] == r.period.last_month // 3]
            rows.append(
                (
                    r.branch_id,
                    "季度之星 (quarter star)",
                    int(q["scored_members"].max()) if len(q) else 0,
                    int(q["quota"].max()) if len(q) else 0,
                    int((q["quarter_star"] == YES).sum()),
                    int((q["quarter_star"] == TIE).sum()),
                )
            )
    return pd.DataFrame(rows, columns=["branch_id", "quota_of", "eligible", "quota", "picked", "tied"])


def follow_up_table(results: list[Result]) -> pd.DataFrame:
    frames = [
        r.follow_up.assign(branch_id=r.branch_id, branch_name=r.branch_name)
        for r in results
        if r.period.kind == "year" and len(r.follow_up)
    ]
    cols = ["branch_id", "branch_name", "member_id", "name", "reason", "action"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


# -- follow-up cases (SPEC 8) -----------------------------------------------------------------


def case_table(sources: list[BranchSource], results: list[Result]) -> pd.DataFrame:
    """The unit's open follow-up cases, overdue first, then by deadline: read from each branch
    run's cases.csv (the register that run left); a branch read without a run (the demo) from
    the engine's register."""
    from ..outputs.cases import cases_table
    from ..outputs.csvfile import read_csv_text
    from ..rules.engine.cases import OPEN, OVERDUE
    from .record import CASES_FILE

    names = {r.branch_id: r.branch_name for r in results}
    engine = {r.branch_id: r.cases for r in results}
    frames = []
    for src in sources:
        if src.run is not None:
            path = Path(src.run) / CASES_FILE
            if not path.is_file():  # a run made before the register was kept
                continue
            register = read_csv_text(path)
        elif src.branch_id in engine:
            register = read_csv_text(io.StringIO(csv_text(cases_table(engine[src.branch_id]))))
        else:
            continue
        if register.empty or "status" not in register.columns:
            continue
        open_ = register[register["status"] == OPEN]
        frames.append(open_.assign(branch_id=src.branch_id, branch_name=names.get(src.branch_id, "")))
    if not frames:
        return pd.DataFrame(columns=ROLLUP_CASE_COLUMNS)
    table = pd.concat(frames, ignore_index=True)[ROLLUP_CASE_COLUMNS]
    late = table["overdue"] != OVERDUE
    order = table.assign(_late=late).sort_values(["_late", "deadline", "branch_id", "member_id"], kind="stable")
    return order.drop(columns="_late").reset_index(drop=True)


# -- the roll-up workbook ---------------------------------------------------------------------

ROLLUP_LABELS: dict[str, str] = {
    "branch_id": "支部编号",
    "branch_name": "支部名称",
    "scheme": "积分方案",
    "member_id": "党员编号",
    "name": "姓名",
    "score": "本期积分",
    "stars": "星级",
    "grade": "等级",
    "veto": "一票否决",
    "exempt": "不列入积分",
    "unit_rank": "全单位排名 (同一方案内)",
    "unit_tier": "全单位排序档次",
    "members": "党员数",
    "scored": "参评人数",
    "mean": "平均分",
    "std": "标准差",
    "min": "最低分",
    "max": "最高分",
    "assessment_score": "联评联考得分",
    "assessment_rank": "联评联考排名",
    "assessment_level": "联评联考定级",
    "assessment_approved": "联评联考已审定",
    "quota_of": "名额类别",
    "eligible": "候选人数",
    "quota": "名额",
    "picked": "已评出",
    "tied": "并列待定",
    "reason": "原因",
    "action": "处置措施",
    "run": "支部运行 (运行文件夹内的位置)",
    "differences": "不一致的数字个数",
    "check": "核对结果",
    "manifest_sha256": "manifest.json 的 SHA-256",
    "summary_sha256": "summary.csv 的 SHA-256",
    "input": "输入文件",
    "case_year": "案件年度",
    "kind": "类别",
    "opened_on": "开案日期",
    "deadline": "期限",
    "overdue": "逾期",
    "decided_on": "最近决定日期",
    "helper": "帮教人",
}


def rollup_label(key: str) -> str:
    """``星级 (stars)``: a roll-up column as people read it, the key beside; ``stars_10`` is
    ``10星人数 (stars_10)``, ``grade_优秀`` is ``优秀人数 (grade_优秀)``."""
    if key in ROLLUP_LABELS:
        return f"{ROLLUP_LABELS[key]} ({key})"
    if key.startswith("stars_") and key[6:].isdigit():
        return f"{key[6:]}星人数 ({key})"
    if key.startswith("grade_"):
        return f"{key[6:]}人数 ({key})"
    return key


def show(df: pd.DataFrame) -> pd.DataFrame:
    """A roll-up table as the notebook shows it: Chinese headers with the keys, blanks for missing
    values, 是/否 for yes/no."""
    return readable_values(df).rename(columns={c: rollup_label(str(c)) for c in df.columns})


ROLLUP_WRAPPED = frozenset({"reason", "action", "manifest_sha256", "summary_sha256", "provenance_value"})
ROLLUP_NUMBERS = frozenset({"score", "mean", "std", "min", "max", "assessment_score"})  # shown with two decimals
ROLLUP_FLAGS = frozenset({"veto", "exempt", "assessment_approved"})  # the engine's yes/no, shown as 是/否
README = [
    "单位汇总 (unit roll-up) {period}: 各支部的积分由程序按各支部运行存档的输入和方案重新计算,"
    " 并与各支部运行的 summary.csv 核对 (见「核对」)。",
    "「全单位排名」中排名为公式: 同一积分方案内积分更高的人数 + 1 (不同方案的积分不可直接比较);"
    " 一票否决、不列入积分和无积分者不排名。",
    "「支部对比」中人数、平均分、最低分和最高分为公式, 引用「全单位排名」; 标准差为程序计算值。",
    "「支部运行」列出每个支部运行的文件夹 (相对于运行文件夹, 如 2025Q4/B001/v001) 及其 manifest.json 和"
    " summary.csv 的 SHA-256; 「来源」是本次汇总的运行信息。",
    "打印: 每张表按 A4 设置, 较宽的表横向并缩放到一页宽, 每页重复表头和党员 (或支部) 编号、名称; 积分显示两位小数。",
]


def write_rollup_workbook(rollup: Rollup, path: Path, provenance: dict[str, Any]) -> Path:
    """全单位排名 with the rank as a formula (COUNTIFS within the scheme), 支部对比 with counts,
    means, lowest and highest as formulas over it; each formula carries the package's value.
    Headers in Chinese with the key beside, 是/否 for yes/no, no absolute path (SPEC 9), and every
    sheet set up for A4 with its header row and the member's (or branch's) id and name on each page."""
    wb = Excel2010Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    head = wb.add_format({"font_name": FONT, "bold": True, "bg_color": "#F2DCDB", "text_wrap": True, "valign": "top"})
    num = wb.add_format({"num_format": "0.00"})
    wrap = wb.add_format({"text_wrap": True})
    title = f"单位汇总 {rollup.period}"

    def table(name: str, df: pd.DataFrame, repeat_columns: int = 0) -> Any:
        ws = wb.add_worksheet(name)
        keys = [str(c) for c in df.columns]
        texts = [rollup_label(k) if k not in ("provenance_key", "provenance_value") else k for k in keys]
        texts = [{"provenance_key": "项目 (key)", "provenance_value": "内容 (value)"}.get(t, t) for t in texts]
        widths = [min(30.0, column_width(t, df[c])) for t, c in zip(texts, df.columns, strict=True)]
        for j, (key, text, width) in enumerate(zip(keys, texts, widths, strict=True)):
            ws.write_string(0, j, text, head)
            ws.set_column(j, j, width, wrap if key in ROLLUP_WRAPPED else None)
        ws.set_row(0, header_height(texts, widths))
        for i, row in enumerate(df.itertuples(index=False), start=1):
            lines = 1
            for j, (key, v) in enumerate(zip(keys, row, strict=True)):
                v = shown(v) if key in ROLLUP_FLAGS or not isinstance(v, str) else v
                if isinstance(v, str):
                    if v:
                        ws.write_string(i, j, v)
                        if key in ROLLUP_WRAPPED:
                            lines = max(lines, wrapped_lines(v, widths[j]))
                else:
                    ws.write_number(i, j, float(v), num if key in ROLLUP_NUMBERS else None)
            if lines > 1:
                ws.set_row(i, 15.0 * lines + 2)
        ws.freeze_panes(1, repeat_columns)
        print_setup(ws, widths, title, repeat_columns=repeat_columns)
        return ws

    ws = wb.add_worksheet("说明")
    for i, line in enumerate(README):
        ws.write_string(i, 0, line.format(period=rollup.period), wrap)
        ws.set_row(i, 15.0 * wrapped_lines(line, 110.0) + 2)
    ws.set_column(0, 0, 110)
    print_setup(ws, [110.0], title, repeat_rows=0, gridlines=False)
    src = pd.DataFrame(
        [(s.branch_id, run_label(s.run), s.manifest_sha256, s.summary_sha256, s.input_shown) for s in rollup.sources],
        columns=["branch_id", "run", "manifest_sha256", "summary_sha256", "input"],
    )
    table(
        "来源",
        pd.DataFrame(
            {
                "provenance_key": [provenance_label(k) for k in provenance],
                "provenance_value": [str(shown(v)) for v in provenance.values()],
            }
        ),
    )
    table("支部运行", src, repeat_columns=1)

    unit = rollup.unit
    cols = [
        "member_id",
        "name",
        "branch_id",
        "branch_name",
        "scheme",
        "score",
        "stars",
        "grade",
        "veto",
        "exempt",
        "unit_rank",
        "unit_tier",
    ]
    unit = unit[[c for c in cols if c in unit.columns]]
    shown_first = unit.drop(columns=["unit_rank"]).assign(unit_rank=np.nan)
    if "unit_tier" in unit:
        shown_first = shown_first.drop(columns=["unit_tier"]).assign(unit_tier="")
    uws = table("全单位排名", shown_first, repeat_columns=2)
    at = {c: j for j, c in enumerate(unit.columns)}
    n = len(unit)
    rng = {c: f"${xl_col_to_name(at[c])}$2:${xl_col_to_name(at[c])}${max(2, n + 1)}" for c in at}
    sc, rk = xl_col_to_name(at["score"]), xl_col_to_name(at["scheme"])
    yes = '"<>' + YES_NO["yes"] + '"'
    for i, v in enumerate(unit["unit_rank"].to_numpy(), start=1):
        row = i + 1
        if np.isnan(v):
            continue
        # members of the same scheme with a higher score, vetoed and exempt members not counted
        same_scheme_higher = f'{rng["scheme"]},{rk}{row},{rng["score"]},">"&{sc}{row}'
        formula = f"=COUNTIFS({same_scheme_higher},{rng['veto']},{yes},{rng['exempt']},{yes})+1"
        uws.write_formula(i, at["unit_rank"], formula, None, int(v))
    tiers_of = {r.scheme.name: r.scheme.scheme.tiers for r in rollup.results if _unit_scope(r)}
    for i, (scheme, tier) in enumerate(zip(unit["scheme"], unit.get("unit_tier", []), strict=False), start=1):
        tiers = tiers_of.get(str(scheme))
        if tiers is not None:
            cached = tier if isinstance(tier, str) else ""  # unranked and not vetoed: no tier
            uws.write_formula(i, at["unit_tier"], _unit_tier_formula(tiers, i + 1, rng, at), None, cached)

    branches = rollup.branches
    bws = table("支部对比", branches, repeat_columns=2)
    bat = {c: j for j, c in enumerate(branches.columns)}
    bid = "'全单位排名'!" + rng["branch_id"]
    score_rng = "'全单位排名'!" + rng["score"]
    for i, r in enumerate(branches.to_dict("records"), start=1):
        row = i + 1
        key = f"$A{row}"
        bws.write_formula(i, bat["members"], f"=COUNTIFS({bid},{key})", None, int(r["members"]))
        bws.write_formula(i, bat["scored"], f'=COUNTIFS({bid},{key},{score_rng},"<>")', None, int(r["scored"]))
        if r["scored"]:
            bws.write_formula(i, bat["mean"], f"=AVERAGEIFS({score_rng},{bid},{key})", num, float(r["mean"]))
            scored = [f"{bid}={key}", f'{score_rng}<>""']
            write_array(bws, i, bat["min"], "=" + extreme_where("MIN", score_rng, scored, '""'), num, float(r["min"]))
            write_array(bws, i, bat["max"], "=" + extreme_where("MAX", score_rng, scored, '""'), num, float(r["max"]))
    table("名额使用", rollup.quotas, repeat_columns=1)
    follow_ups = rollup.follow_ups  # member first: id and name repeat on each page
    first = ["member_id", "name"]
    table("组织处置", follow_ups[first + [c for c in follow_ups.columns if c not in first]], repeat_columns=2)
    cases = rollup.cases  # member first: id and name repeat on each page
    table("跟踪帮教", cases[first + [c for c in cases.columns if c not in first]], repeat_columns=2)
    table("核对", rollup.checks, repeat_columns=1)
    wb.close()
    return path


def write_outputs(rollup: Rollup, out_dir: str | Path, provenance: dict[str, Any]) -> list[Path]:
    """``unit_summary.csv`` and the roll-up workbook into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = out / "unit_summary.csv"
    write_csv(rollup.unit, summary)
    book = write_rollup_workbook(rollup, out / f"单位汇总_{rollup.period}.xlsx", provenance)
    return [summary, book]


# -- what notebooks/rollup.ipynb calls --------------------------------------------------------


def notebook_sources(branch_runs: dict[str, str]) -> list[BranchSource]:
    """The batch's branch runs, or (no runs given: the notebook opened by hand) the demo county."""
    if branch_runs:
        return sources_from_runs(branch_runs)
    import tempfile

    print("未给出支部运行, 使用示范数据 (no branch runs given: the demo county's generated inputs)")
    return demo_sources(tempfile.mkdtemp(prefix="scoring-rollup-demo-"))


def sources_table(sources: list[BranchSource]) -> pd.DataFrame:
    return pd.DataFrame(
        [(s.branch_id, run_label(s.run), s.manifest_sha256[:16], s.summary_sha256[:16]) for s in sources],
        columns=["支部 branch_id", "支部运行 run", "manifest.json SHA-256 (前16位)", "summary.csv SHA-256 (前16位)"],
    )


def headline(rollup: Rollup) -> pd.DataFrame:
    """The few numbers a reviewer checks first (stable under the demo data: nbval compares them)."""
    u = rollup.unit
    rows = [
        ("期间 period", rollup.period),
        ("支部 branches", str(len(rollup.results))),
        ("缺少运行的支部 branches without a run", "、".join(rollup.missing) or "无"),
        ("党员 members", str(len(u))),
        ("参与排名 ranked", str(int(u["unit_rank"].notna().sum())) if len(u) else "0"),
        ("组织处置 follow-ups", str(len(rollup.follow_ups))),
        ("跟踪帮教办理中 open cases", str(len(rollup.cases))),
        ("其中逾期 overdue", str(int((rollup.cases["overdue"] == "是").sum()))),
        (
            "与支部运行不一致 runs that differ",
            str(int((rollup.checks["differences"] > 0).sum())) if len(rollup.checks) else "-",
        ),
    ]
    return pd.DataFrame(rows, columns=["项目", "值"])


def top(rollup: Rollup, n: int = 10) -> pd.DataFrame:
    """The first ``n`` of each scheme's unit ranking (the whole table is in the workbook)."""
    u = rollup.unit
    return show(u[u["unit_rank"] <= n])


def chart(rollup: Rollup) -> None:
    """Scores by branch, one box per branch (the branch comparison at a glance)."""
    import io

    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    cjk = [f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name or "Noto Sans SC" in f.name]
    if cjk:
        plt.rcParams["font.sans-serif"] = [cjk[0], *plt.rcParams["font.sans-serif"]]
    u = rollup.unit.dropna(subset=["score"])
    ids = sorted(u["branch_id"].unique())
    fig, ax = plt.subplots(figsize=(8, 3.5))
    if ids:
        ax.boxplot([u.loc[u["branch_id"] == b, "score"].to_numpy() for b in ids])
        ax.set_xticks(range(1, len(ids) + 1), ids)
    ax.set_title(f"{rollup.period} 各支部积分分布 (scores by branch)")
    ax.set_ylabel("积分")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    from IPython.display import Image, display

    # IPython.display is not annotated
    display(Image(data=buffer.getvalue(), format="png"))  # type: ignore[no-untyped-call]
