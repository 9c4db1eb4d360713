"""What the branch-period notebook calls: load, show, chart, trace, write. No logic in cells.

Every function prints Chinese headings and shows heads of tables (never thousands of rows, never
an appraisal ballot).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import __version__
from ..exceptions import RunError
from ..inputs.reading import check_outcomes_against, load_inputs
from ..labels import LABELS, label, readable, readable_values
from ..outputs.case_notices import NOTICE_DIR, notice_writer, opened_cases
from ..outputs.cases import CASE_LABELS, cases_table
from ..outputs.csvfile import write_csv
from ..outputs.excel import write_results_workbook
from ..outputs.member_cards import CARDS_DIR, card_writer
from ..outputs.printing import print_apart
from ..outputs.publicity import write_publicity_pdf
from ..rules.engine import Result, score
from ..rules.engine.cases import OPEN, OVERDUE, THIS_RUN
from ..rules.engine.objections import PENDING, seen_on
from ..rules.engine.prior import Prior
from ..rules.periods import KIND_LABELS, Period, parse_period
from ..rules.scheme import SPAN_MONTHS, LoadedScheme, load_scheme
from ..rules.words import (
    CADENCE_TEXT,
    COMBINE_WORDS,
    SOURCE_WORDS,
    appraisal_text,
    bands_text,
    column_names,
    sub_period_text,
    sub_word,
    veto_text,
    words,
    year_text,
)
from ..runs.environment import describe, interpreter_shown, main_packages
from ..runs.record import CASES_FILE, load_prior
from .trace import trace

if TYPE_CHECKING:  # matplotlib is imported where a chart is drawn
    from matplotlib.figure import Figure

HEAD_ROWS = 10
SCORE_COLUMN: dict[str, str] = {
    "year": "total",
    "quarter": "quarter_score",
    "half": "half_score",
    "month": "month_total",
}


@dataclass
class Run:
    """A scored branch and period, with what it was made from."""

    inputs_path: Path
    period: Period
    scheme: LoadedScheme
    result: Result

    @property
    def item_names(self) -> dict[str, str]:
        return column_names(self.scheme.scheme)


def _table(run: Run, df: pd.DataFrame, table: str = "") -> pd.DataFrame:
    """``df`` as an officer reads it: blanks, 是/否, ``中文 (key)`` headers in the scheme's words."""
    own = words(run.scheme.scheme, table)
    names = run.item_names
    out = readable_values(df)
    return out.rename(columns={c: f"{own[c]} ({c})" if c in own else label(str(c), names) for c in out.columns})


def _sub_periods(run: Run, df: pd.DataFrame) -> pd.DataFrame:
    """A table keyed by sub-period (``month``: its last month) with the sub-period as the input
    workbook names it: ``month`` 2025-03 for a monthly scheme, ``quarter`` 2025Q1, ``period`` 2025."""
    if "month" not in df.columns:
        return df
    s = run.scheme.scheme
    key = {"quarter": "quarter", "year": "period"}.get(s.cadence, "month")
    years = df["month_year"] if "month_year" in df.columns else pd.Series(run.period.year, index=df.index)
    text = [
        sub_period_text(s, int(y) if pd.notna(y) else run.period.year, m)
        for y, m in zip(years, df["month"], strict=True)
    ]
    out = df.drop(columns=[c for c in ("month_year",) if c in df.columns]).copy()
    out["month"] = pd.Series(text, index=df.index, dtype=object)
    return out.rename(columns={"month": key})


def _unused(run: Run, df: pd.DataFrame) -> list[str]:
    """Columns of a result table the scheme has no use for (no stars, no quarter or annual star),
    and banded columns that are blank on every row (a scheme that bands no tier here)."""
    s = run.scheme.scheme
    drop = set()
    if not s.has_stars:
        drop.add("stars")
    if s.annual_star is None:
        drop.add("annual_star")
    if s.quarter_star is None:
        drop |= {
            "quarter_star",
            "scored_members",
            "quota",
            *(c for c in df.columns if re.fullmatch(r"q\d_star", str(c))),
        }
    if not s.has_grades and "grade" in df.columns and df["grade"].isna().all():
        drop.add("grade")
    for c in ("tier", "band_grade"):
        if c in df.columns and df[c].isna().all():
            drop.add(c)
    return [c for c in df.columns if c in drop]


def _display(obj: Any) -> None:
    try:
        from IPython.display import display

        display(obj)  # type: ignore[no-untyped-call]  # IPython.display is not annotated
    except ImportError:  # outside IPython
        print(obj)


def environment() -> pd.DataFrame:
    """Which interpreter and packages ran this notebook (recorded in the executed notebook).

    The interpreter is printed as a path inside its environment's folder (``.venv/bin/python``),
    never as the machine's absolute path (SPEC 9: the manifest keeps that); the SHA-256 over every
    installed distribution is printed in full: it equals the manifest's ``environment.sha256``,
    where the full list is kept."""
    env = describe()
    print(f"解释器 (interpreter): {interpreter_shown()}")
    print(f"已安装的软件包 (distributions installed): {len(env['packages'])} 个, SHA-256 {env['sha256']}")
    table = main_packages(env)
    scoring_row = pd.DataFrame([("scoring", __version__)], columns=table.columns)
    return pd.concat([table.iloc[:1], scoring_row, table.iloc[1:]], ignore_index=True)


def demo_inputs(branch_index: int = 0, year: int = 2025) -> Path:
    """A demo branch workbook in a temporary folder (used when no input is given)."""
    from ..inputs.demo import DEMO_BRANCHES, branch_tables, write_input_workbook

    spec = DEMO_BRANCHES[branch_index]
    branch, sheets = branch_tables(spec, year, seed=1000 + branch_index)
    folder = Path(tempfile.mkdtemp(prefix="scoring-demo-"))
    return write_input_workbook(
        folder / f"{spec.branch_id}_{year}.xlsx", branch, sheets, load_scheme(spec.scheme).scheme
    )


def load(
    inputs_path: str,
    period: str,
    scheme: str = "",
    prior_runs: dict[str, str] | None = None,
    publicity_start: str = "",
) -> Run:
    """Read, validate and score; show the input checks. ``prior_runs``: the earlier sealed runs the
    run starts from (role -> folder relative to the runs folder, the kernel's working folder:
    SPEC 8); the workbook's follow_up_outcomes are checked against their register.
    ``publicity_start``: the 公示's first day (YYYY-MM-DD); "" for the branch sheet's, else the
    next working day after today."""
    path = Path(inputs_path) if inputs_path else demo_inputs()
    p = parse_period(period)
    loaded = load_scheme(scheme) if scheme else None
    book, sch = load_inputs(path, p, loaded)
    prior = load_prior(Path.cwd(), prior_runs) if prior_runs else Prior()
    check_outcomes_against(book, prior.cases, str((prior_runs or {}).get("cases", "")))
    start = dt.date.fromisoformat(publicity_start) if publicity_start else None
    result = score(book, sch, p, prior, start)
    run = Run(path, p, sch, result)
    s = sch.scheme
    print(f"支部 (branch): {book.branch_id} {book.branch_name}")
    print(f"期间 (period): {p.text} {p.label} ({KIND_LABELS[p.kind]})")
    print(f"积分方案 (scheme): {s.name} {s.version} — {s.title}; SHA-256 {sch.sha256}")
    print(f"输入文件 (input): {path.name}; SHA-256 {book.sha256}")
    print("输入检查通过: 各工作表行数如下 (all input checks passed; rows per sheet):")
    counts = book.sheet_counts()
    if s.cadence == "none":  # no item scores: the score sheets are not part of this scheme's workbook
        counts = counts[~counts["sheet"].isin(["monthly_scores", "self_scores"])].reset_index(drop=True)
        print("本方案不评项目分 (cadence: none), 不需要月度评分和党员自评表。")
    _display(readable(counts))
    for note in book.notes:
        print("说明:", note)
    _show_prior(result)
    return run


def _show_prior(result: Result) -> None:
    """What the earlier sealed runs handed in (SPEC 8), and the 公示's first day."""
    if result.publicity_start is not None:
        print(f"公示开始日期 (publicity start): {result.publicity_start.isoformat()}")
    if not result.prior.refs:
        print("以前的运行 (earlier runs): 无, 帮教台账从空开始 (none: the follow-up register starts empty)")
    for ref in result.prior.refs:
        role = PRIOR_ROLES.get(ref["role"], ref["role"])
        print(f"以前的运行 (earlier run) {role}: {ref['run']}/{ref['file']}; SHA-256 {ref['sha256']}")


PRIOR_ROLES: dict[str, str] = {"cases": "帮教台账 (cases)", "previous_year": "上年输入 (previous_year)"}


RUN_FOLDER_TEXT = "本次运行的文件夹 (the run folder)"


def _parameter_text(key: str, value: Any) -> str:
    """A parameter as the notebook shows it: a file by its name, the output folder as the run
    folder, never an absolute path of the machine (SPEC 9)."""
    text = "" if value is None else str(value)
    if key == "out_dir":
        return RUN_FOLDER_TEXT if text else "(未指定, 不写文件 none: nothing written)"
    if text and Path(text).is_absolute():
        return Path(text).name
    return text


def show_parameters(**params: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {"参数 (parameter)": list(params), "值 (value)": [_parameter_text(k, v) for k, v in params.items()]}
    )


def show_scheme(run: Run) -> pd.DataFrame:
    """The scheme in the words an officer reads: when items are scored, how each period's figure
    is formed, the appraisal, adjustments, veto and bands; then its items (with their groups), or,
    for a scheme that scores no items, its catalogue of adjustments (what the points come from)."""
    s = run.scheme.scheme
    lines = [f"评分周期: {CADENCE_TEXT[s.cadence]}"]
    if s.base is not None:
        lines.append(f"基础分: {s.base:g} 分, 扣分从中扣减, 扣完为止 (不低于 0)")
    for kind in ("month", "quarter", "half", "year"):
        if (s.cadence == "none" and kind not in s.periods) or SPAN_MONTHS[kind] < s.sub_months:
            continue  # a period shorter than the cadence is never scored
        lines.append(f"{KIND_LABELS[kind]}: {year_text(s) if kind == 'year' else s.period_text(kind)}")
    lines.append(appraisal_text(s))
    evidence = [
        k
        for k, on in (
            ("加分", s.adjustments.bonus_evidence_required),
            ("减分", s.adjustments.deduction_evidence_required),
        )
        if on
    ]
    lines.append(
        f"加减分: {COMBINE_WORDS[s.adjustments.combine]}"
        + (f"; {'、'.join(evidence)}须有佐证, 无佐证不计入" if evidence else "")
    )
    lines.append(f"一票否决: {veto_text(s)}")
    lines.append(f"年度分档: {bands_text(s, 'year')}")
    for kind in ("month", "quarter", "half"):
        if s.period_bands.get(kind):  # type: ignore[call-overload]  # a literal key of the mapping
            lines.append(f"{KIND_LABELS[kind]}分档: {bands_text(s, kind)}")
    print("\n".join(lines))
    if s.items:
        groups = {g.code: g.name for g in s.item_groups}
        rows = [(i.code, i.name, groups.get(i.group or "", ""), i.max) for i in s.items]
        items = pd.DataFrame(rows, columns=["代码 (code)", "考评项目 (item)", "大项 (group)", "满分 (max)"])
        if not groups:
            items = items.drop(columns="大项 (group)")
        print(f"\n考评项目 {len(s.items)} 项 ({sub_word(s)}评分), 合计满分 {s.sub_max:g}:")
        return readable(items)
    print("\n本方案不评项目分, 所以没有考评项目表; 积分来自下面的加减分目录和年终民主评议:")
    catalogue = pd.DataFrame(
        [(r.code, r.name, "加分" if r.kind == "bonus" else "扣分", r.signed_points) for r in s.adjustments.rules],
        columns=["代码 (rule_code)", "加减分项目 (rule_name)", "类别 (kind)", "分值 (points)"],
    )
    return readable(catalogue)


def _show_part(title: str, df: pd.DataFrame, note: str = "") -> None:
    """One intermediate table: its title and row count, then its head (an empty one says so)."""
    print(f"\n【{title}】 共 {len(df)} 行" + (f", 显示前 {min(len(df), HEAD_ROWS)} 行" if len(df) else ": 无 (none)"))
    if note:
        print(note)
    if len(df):
        with pd.option_context("display.max_columns", 60):
            _display(df.head(HEAD_ROWS))


AMENDMENT_COLUMNS = ["member_id", "month_year", "month", "item", "original", "new_score", "reason", "decided_on", "row"]
ADJUSTMENT_COLUMNS = ["member_id", "date", "rule_code", "rule_name", "points_used", "applied_points", "reason"]
VETO_COLUMNS = [
    "member_id",
    "date",
    "condition_name",
    "votes_for",
    "votes_against",
    "members_on_date",
    "applies",
    "reason",
]


def show_intermediate(run: Run) -> None:
    """Heads of the intermediate tables, named for the scheme's cadence (月度/季度/年度评分); a
    scheme without item scores has no item tables, and shows its quarters' running figures."""
    r = run.result
    s = run.scheme.scheme
    sub = sub_word(s)
    if s.cadence == "none":
        print("本方案不评项目分 (cadence: none): 没有评分表、评分更正和总分表; 各季度的累计数字见季度汇总。")
    else:
        unit = {"month": "monthly", "quarter": "quarterly", "year": "annual"}[s.cadence]
        scores = _sub_periods(run, r.item_scores)
        _show_part(f"{sub}评分 ({unit} item scores, amendments applied)", _table(run, scores))
        am = r.amendments[[c for c in AMENDMENT_COLUMNS if c in r.amendments.columns]]
        _show_part("评分更正 (amendments: original kept)", _table(run, _sub_periods(run, am)))
        totals = _sub_periods(run, r.monthly_totals)
        _show_part(f"{sub}总分 ({unit} totals)", _table(run, totals, "totals"))
    spans = [("quarter", "季度汇总 (quarters)", r.quarters)]
    if run.period.kind == "half":
        spans.append(("half", "半年汇总 (halves)", r.halves))
    for kind, title, df in spans:
        if len(df):
            _show_part(title, _table(run, df.drop(columns=_unused(run, df)), kind), s.period_text(kind))
        elif s.sub_months > {"quarter": 3, "half": 6}[kind]:
            print(f"\n【{title}】 本方案{CADENCE_TEXT[s.cadence].split(' (')[0]}, 没有{KIND_LABELS[kind]}积分。")
    if run.period.kind == "year":
        if s.cadence != "none" and len(r.item_year):
            title = (
                "年终项目积分 (annual item scores)"
                if s.year.by == "per_item"
                else "年度积分的构成 (how the year's figure is formed)"
            )
            years = r.item_year.copy()
            unscored = years["months"] == 0  # exempt, or never scored: no figure rather than zeros
            figures = [c for c in years.columns if c not in ("member_id", "months")]
            years[figures] = years[figures].astype("float64").mask(unscored)
            _show_part(title, _table(run, years, "year"), year_text(s))
        if len(r.appraisal.columns) > 1:
            _show_part("民主测评平均 (appraisal averages: counts and averages only)", _table(run, r.appraisal))
    if s.adjustments.rules or len(r.adjustments):
        _show_part(
            "加减分 (adjustments applied and not applied)",
            _table(run, r.adjustments[ADJUSTMENT_COLUMNS]),
            f"规则: {COMBINE_WORDS[s.adjustments.combine]}",
        )
    else:
        print("\n【加减分 (adjustments)】 本方案没有加减分目录 (no adjustments in this scheme)。")
    if s.veto.active or len(r.vetoes):
        _show_part("一票否决 (vetoes)", _table(run, r.vetoes[VETO_COLUMNS]), f"规则: {veto_text(s)}")
    else:
        print("\n【一票否决 (vetoes)】 本方案没有一票否决 (no veto in this scheme)。")
    show_objections(run)


def show_objections(run: Run) -> None:
    """异议处理 (each objection with its state at the run) and 党支部定星 (the committee's stars beside
    the stars the score gives, with the reason), in Chinese."""
    r = run.result
    s = run.scheme.scheme
    o = r.objections
    pending = int((o["status"] == PENDING).sum()) if len(o) else 0
    _show_part(
        "异议处理 (objections)",
        _table(run, o.drop(columns=["content"]).rename(columns={"status": "objection_status"})),
        f"截至 {seen_on(run.period):%Y-%m-%d}: 待答复 {pending} 项 (pending); 异议内容见工作簿「异议处理」表",
    )
    if not s.has_stars:
        return
    d = r.book.star_decisions if r.book is not None else pd.DataFrame(columns=["member_id"])
    if run.period.kind == "year" and len(r.annual):
        shown = r.annual[["member_id", "name", "stars", "computed_stars", "star_reason", "star_row"]]
        shown = shown[shown["star_row"].notna()].rename(columns={"stars": "published_stars"})
        note = "公示的星级为党支部确定的星级, 按积分计算的星级并列; 等级仍按积分评定"
    else:  # only a year has stars: the decisions as entered
        shown = d.rename(columns={"reason": "star_reason", "row": "star_row"}).assign(stars=d["stars"].astype("Int64"))[
            ["member_id", "stars", "star_reason", "decided_on", "star_row"]
        ]
        note = "星级只按年度评定; 党支部定星在年度运行中采用"
    _show_part("党支部定星 (committee's star decisions)", _table(run, shown), note)


def show_results(run: Run) -> pd.DataFrame:
    """The period's results, all members (a branch has tens of members); columns the scheme has no
    use for (stars, quarter or annual stars, tiers it does not band) are left out here, not in
    summary.csv."""
    summ = run.result.summary()
    return _table(run, summ.drop(columns=_unused(run, summ)), run.period.kind)


def headline(run: Run) -> pd.DataFrame:
    """A few deterministic figures of the run (checked by nbval on the demo)."""
    summ = run.result.summary()
    if run.period.kind == "year":
        scored = summ[summ["total"].notna()]
        rows = [
            ("党员人数 members", len(summ)),
            ("计分人数 scored", len(scored)),
            ("年度总积分平均 mean total", f"{scored['total'].mean():.2f}" if len(scored) else ""),
            ("最高分 highest", f"{scored['total'].max():.2f}" if len(scored) else ""),
            ("一票否决 vetoed", int((summ["veto"] == "yes").sum())),
            ("不列入积分 exempt", int((summ["exempt"] == "yes").sum())),
        ]
        if run.scheme.scheme.has_stars:
            rows.append(("十星党员 ten stars", int((summ["stars"] == 10).sum())))
    else:
        col = SCORE_COLUMN[run.period.kind]
        values = summ[col].dropna()
        rows = [
            ("党员人数 members", len(summ)),
            ("计分人数 scored", len(values)),
            (f"{LABELS[col]}平均 mean {col}", f"{values.mean():.2f}" if len(values) else ""),
        ]
    return pd.DataFrame(rows, columns=["指标", "值"])


def chart(run: Run) -> None:
    """Distribution of the period's figures with the bands of this kind of period (the year's
    stars or grades; a quarter's tiers where the scheme bands quarters), as the explorer draws it.

    The figure is displayed as a PNG, so it lands in the executed notebook whatever matplotlib
    backend the kernel inherited (``MPLBACKEND=Agg`` under the test runner).
    """
    from .explorer import distribution_figure

    r = run.result
    col = SCORE_COLUMN[run.period.kind]
    fig = distribution_figure(r, title=f"{r.branch_name} {run.period.label} {LABELS[col]}分布")
    if fig is None:
        print(f"{run.period.label}没有可比较的{LABELS[col]} (无人计分), 所以没有图表。")
        return
    bands = run.scheme.scheme.bands_for(run.period.kind)
    print(
        "虚线为分档下限 (band lines): " + bands_text(run.scheme.scheme, run.period.kind) if bands else "本期间不分档。"
    )
    show_png(fig)


def show_png(fig: Figure) -> None:
    """A figure shown as a PNG, so that it lands in the executed notebook whatever matplotlib
    backend the kernel inherited; outside IPython, its size."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    try:
        from IPython.display import Image

        _display(Image(data=buffer.getvalue(), format="png"))  # type: ignore[no-untyped-call]  # not annotated
    except ImportError:
        print(f"图表 (chart): {len(buffer.getvalue())} bytes PNG")


def default_member(run: Run) -> str:
    """The member to trace when none is given: the best-ranked scored member."""
    summ = run.result.summary()
    key = SCORE_COLUMN[run.period.kind]
    ranked = summ.dropna(subset=[key]).sort_values([key, "member_id"], ascending=[False, True])
    return str(ranked["member_id"].iloc[0]) if len(ranked) else str(summ["member_id"].iloc[0])


# -- 自行脱党 (SPEC 8) -----------------------------------------------------------------------------

LAPSE_LABELS: dict[str, str] = {
    "member_id": "党员编号 (member_id)",
    "name": "姓名 (name)",
    "kind": "类别 (kind)",
    "first_month": "起始月份 (first_month)",
    "last_month": "截止月份 (last_month)",
    "months": "连续月数 (months)",
    "detail": "各月情况 (detail)",
}


def show_lapses(run: Run) -> pd.DataFrame | None:
    """The possible 自行脱党 cases of this run (every period kind; months of the previous year
    count when its sealed run was handed in), after what the check was based on; the months and
    input cells behind each case are on the workbook's 脱党核查 sheet."""
    r = run.result
    lapse = run.scheme.scheme.follow_up.lapse_months
    print(f"依据: 无正当理由连续 {lapse} 个月以上不参加组织生活或不交纳党费的, 由党支部讨论是否视为自行脱党。")
    for line in r.lapse_basis:
        print("  ·", line)
    if r.lapses.empty:
        print(f"本期没有连续 {lapse} 个月以上无故不参加组织生活或未交纳党费的党员 (no possible 自行脱党 case)。")
        return None
    print(f"共 {len(r.lapses)} 例; 各月的活动、出勤和党费记录所在单元格见结果工作簿「脱党核查」表。")
    return readable_values(r.lapses).rename(columns=LAPSE_LABELS)


def show_trace(run: Run, member_id: str = "") -> None:
    """The whole trace of one member (a few hundred rows at most), shown in full: columns blank on
    every row are left out, the scheme's rules named in Chinese, a sub-period named as the cadence
    has it."""
    s = run.scheme.scheme
    mid = member_id or default_member(run)
    t = trace(run.result, mid)
    name = str(run.result.members.set_index("member_id").loc[mid, "name"])
    down = (
        "每条加减分和民主测评平均"
        if s.cadence == "none"
        else f"每个{sub_word(s)}评分单元格"
        + ("、民主测评平均" if s.appraisal.mode != "none" and run.period.kind == "year" else "")
        + ("和加减分" if s.adjustments.rules else "")
    )
    print(f"追溯 (trace): {mid} {name} — {len(t)} 行, 从期间总分一直到{down} (input cell of every figure)")
    t = t.assign(source=[SOURCE_WORDS.get(str(v), v) for v in t["source"]])
    keep = [c for c in t.columns if c in ("level", "step", "value") or t[c].astype(str).str.strip().ne("").any()]
    shown = _table(run, t[keep])
    if s.cadence != "month" and "month" in keep:  # the trace names the sub-period: 2025Q1, 2025
        shown = shown.rename(columns={label("month"): f"{LABELS['period']} (month)"})
    with pd.option_context("display.max_rows", 1000, "display.max_colwidth", 80):
        _display(shown)


def show_cases(run: Run) -> pd.DataFrame | None:
    """The follow-up register after this run (SPEC 8): open cases first, overdue ones first, then
    by deadline; closed ones after them. The case opened by this run is named 本次运行."""
    register = run.result.cases
    open_now = register[register["status"] == OPEN]
    late = int((open_now["overdue"] == OVERDUE).sum())
    print(
        f"帮教台账 (follow-up register): {len(register)} 个案件, 办理中 {len(open_now)} 个, 其中逾期 {late} 个"
        f" (cases: {len(register)}, open {len(open_now)}, overdue {late})"
    )
    opened = int((register["opened_by"] == THIS_RUN).sum())
    if opened:
        print(f"本次运行新开案件 (opened by this run): {opened} 个, 开案日期为公示期最后一天")
    if register.empty:
        return None
    with pd.option_context("display.max_rows", 500):
        return readable(register.rename(columns=CASE_LABELS))


def provenance_of(run: Run) -> dict[str, Any]:
    """Provenance when the notebook is run by hand rather than by ``python -m scoring run``."""
    book = run.result.book
    return {
        "branch_id": run.result.branch_id,
        "period": run.period.text,
        "input_file": run.inputs_path.name,
        "input_sha256": book.sha256 if book is not None else "",
        "scheme_name": run.scheme.name,
        "scheme_version": run.scheme.version,
        "scheme_sha256": run.scheme.sha256,
        "package_version": __version__,
    }


def check_provenance(run: Run, provenance: dict[str, Any]) -> None:
    """Refuse to publish figures scored from other bytes than the provenance records.

    ``python -m scoring run`` validates and hashes the input workbook (and archives it) before it
    starts the notebook, which then reads the file again: if the file was changed in between, the
    manifest and the results would describe different inputs. The scheme file is read twice the
    same way, so its hash is checked too. A hash the provenance does not carry (a notebook run by
    hand) is not checked.
    """
    book = run.result.book
    checks: list[tuple[str, str, str, str, str]] = [
        ("input_sha256", book.sha256 if book is not None else "", "输入文件", "the input file", str(run.inputs_path)),
        ("scheme_sha256", run.scheme.sha256, "积分方案文件", "the scheme file", str(run.scheme.path)),
    ]
    checks += _prior_checks(run, provenance)
    for key, actual, zh, en, where in checks:
        expected = str(provenance.get(key) or "")
        if expected and expected != actual:
            raise RunError(
                f"{zh}在运行期间被改动, 不写出结果 ({en} changed during the run; nothing is written): "
                f"{where}: 运行开始时 SHA-256 (at the start) {expected},"
                f" 笔记本读到的 SHA-256 (read by the notebook) {actual}. "
                "请确认文件不再改动后重新运行 (make sure the file is no longer being edited, then run again)."
            )


def _prior_checks(run: Run, provenance: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """The earlier runs' files as the notebook read them, against what the run recorded before
    it started (the provenance's ``prior_runs`` text, SPEC 8)."""
    if "prior_runs" not in provenance:
        return []
    refs = run.result.prior.refs
    read = "; ".join(f"{r['role']}: {r['run']}/{r['file']} SHA-256 {r['sha256']}" for r in refs) or "无 (none)"
    return [("prior_runs", read, "以前的运行的文件", "an earlier run's file", "prior_runs")]


def write_outputs(run: Run, out_dir: str, provenance: dict[str, Any]) -> list[Path]:
    """Write the results workbook, summary.csv, 公示.pdf and the members' PDFs (:func:`write_member_pdfs`)
    into ``out_dir`` (the run's staging folder).

    Nothing is written when the files scored differ from those ``provenance`` records
    (:func:`check_provenance`)."""
    check_provenance(run, provenance)
    if not out_dir:
        print("未指定输出文件夹, 不写文件 (no out_dir: nothing written)")
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = out / "summary.csv"
    write_csv(run.result.summary(), summary)  # a text cell never becomes a formula in Excel or WPS
    cases = write_csv(cases_table(run.result.cases), out / CASES_FILE)  # the register (SPEC 8)
    workbook = write_results_workbook(
        run.result, out / f"{run.result.branch_id}_{run.period.text}_结果.xlsx", provenance
    )
    written = [summary, cases, workbook]
    if shutil.which("soffice"):
        written.append(write_publicity_pdf(run.result, out))
    else:
        print(
            "未安装 LibreOffice, 不生成 公示.pdf (LibreOffice missing: no 公示.pdf); apt-get install libreoffice-calc"
        )
    for p in written:
        print("已写出 (written):", p.name)
    return written + write_member_pdfs(run, out)


def write_member_pdfs(run: Run, out: Path) -> list[Path]:
    """Each member's card as a PDF (a year or a quarter run) and a notice per case this run opened
    (SPEC 8), all printed with one LibreOffice conversion; nothing without LibreOffice."""
    if not shutil.which("soffice"):
        return []
    writers = [card_writer(run.result, out)] if run.period.kind in ("year", "quarter") else []
    if len(opened_cases(run.result)):
        writers.append(notice_writer(run.result, out))
    written = print_apart(writers) if writers else []
    for folder in (CARDS_DIR, NOTICE_DIR):
        n = sum(p.parent.name == folder for p in written)
        if n:
            print(f"已写出 (written): {folder}/ 共 {n} 个 PDF")
    return written
