"""What the reviewer notebook shows about a sealed run, and the warning signs the seeds name.

The seeds warn that points management can decay into a formality: "走过场" (everyone gets the same
score, every month) and "一团和气" (a democratic appraisal where nobody rates anybody lower). The
checks below look for those patterns in a run's inputs and results. A flag is a question for the
reviewer, not a verdict.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import pandas as pd

from ..exceptions import RunError
from ..inputs.reading import InputBook
from ..inputs.unit import UnitBook
from ..outputs.csvfile import read_csv_text
from ..outputs.publicity import PUBLICITY_SHEET, publicity_window
from ..rules.engine import TIE, YES, Result, share_quota
from ..rules.engine.objections import PENDING
from ..rules.periods import parse_period
from ..runs.environment import interpreter_shown
from ..runs.subjects import BRANCHES, run_identity, subject_of
from ..runs.summaries import summary_text

if TYPE_CHECKING:  # for annotations only: audit imports review lazily, inside its functions
    from ..runs.review import Verification

OK = "正常"
FLAG = "注意"
MIN_PUBLICITY_DAYS = 7  # seeds: 公示 for no fewer than 7 working days
COPY_SHARE = 0.9  # self-scores equal to the committee's in at least this share of rows
SAME_MONTH_CHECK = "所有党员同一月份总分相同 (same total for everyone in a month)"
FLAT_CHECK = "党员各月各项得分完全相同 (same scores every month)"
COPY_CHECK = "支委会评分照抄党员自评 (committee copied the self-scores)"
SPREAD_CHECK = "民主测评平均分没有差别 (appraisal averages without spread)"
QUARTER_CHECK = "季度之星超过名额 (quarter stars above quota)"
PUBLICITY_CHECK = "公示期少于 7 个工作日 (publicity shorter than 7 working days)"
STAR_CHECK = "党支部定星与按积分的星级不同 (the committee's stars differ from the score's)"
OBJECTION_CHECK = "仍有待答复的异议 (objections still pending)"
# a unit's run (SPEC 3.9): the same warning signs, in the branches' terms
UNIT_SAME_MONTH_CHECK = "所有党支部同一月份得分相同 (same score for every branch in a month)"
UNIT_FLAT_CHECK = "党支部各月各类得分完全相同 (same category scores every month)"
FULL_MARKS_CHECK = "支部自评几乎全为满分 (self-scores at the maximum)"
MUTUAL_SPREAD_CHECK = "互评平均分没有差别 (mutual averages without spread)"
UNIT_APPROVAL_CHECK = "本期有未经党委审定的月份 (a month not approved: its ranking is a draft)"
FULL_MARKS_SHARE = 0.9  # self-scores at the indicator's maximum in at least this share of rows
_WINDOW = re.compile(r"公示期[:：]\s*(\d{4})年(\d{1,2})月(\d{1,2})日\s*至\s*(\d{4})年(\d{1,2})月(\d{1,2})日")


@dataclass
class RunView:
    """A sealed run re-read from its archived inputs: what the reviewer notebook looks at. For a
    unit's run (SPEC 3.9) ``book`` is the unit as the engine reads it, a branch per subject."""

    run: Path
    manifest: dict[str, Any]
    book: InputBook
    result: Result


class _QuarterCount(Protocol):
    """A row of :func:`quarter_star_counts` (pandas-stubs types itertuples fields as any scalar)."""

    quarter: int
    scored: int
    quota: int
    yes: int
    tie: int


def open_run(run_dir: str | Path) -> RunView:
    from ..runs.record import recorded_prior
    from ..runs.review import _load_recorded, load_manifest

    run = Path(run_dir).resolve()
    manifest = load_manifest(run)
    loaded = _load_recorded(run, manifest)
    period = parse_period(manifest["period"])
    if isinstance(loaded.book, UnitBook):
        result = loaded.score(period)
    else:  # as the run was scored: from its recorded prior runs and 公示 start (SPEC 8)
        try:
            result = loaded.score(period, *recorded_prior(run))
        except RunError as exc:
            print(f"注意: 本运行所依据的以前运行缺失或已改动, 以下未计入 (earlier runs gone or changed): {exc}")
            result = loaded.score(period)
    book = result.book if isinstance(loaded.book, UnitBook) else loaded.book
    assert book is not None  # the engine keeps the book it scored
    return RunView(run, manifest, book, result)


def provenance(view: RunView) -> pd.DataFrame:
    m = view.manifest
    whose = "单位 unit" if subject_of(m) is BRANCHES else "支部 branch"
    rows = [
        (whose, " ".join(run_identity(m)).strip()),
        ("期间 period", m["period"]),
        ("输入 input", f"{m['inputs'][0]['file']}  SHA-256 {m['inputs'][0]['sha256']}"),
        ("积分方案 scheme", f"{m['scheme']['name']} {m['scheme']['version']}  SHA-256 {m['scheme']['sha256']}"),
        (
            "程序 package",
            f"{m['package']['version']}  commit {m['package'].get('git_commit')}  "
            f"code {str(m['package'].get('code_sha256', ''))[:16]}",
        ),
        ("解释器 interpreter", interpreter_shown(m.get("kernel", {}).get("interpreter", ""))),
        ("运行时间 time", f"{m.get('started_at')} → {m.get('finished_at')}"),
    ]
    return pd.DataFrame(rows, columns=["项目", "内容"])


def adjustments_not_applied(view: RunView) -> pd.DataFrame:
    a = view.result.adjustments
    cols = ["member_id", "date", "rule_code", "rule_name", "points_used", "status", "reason", "row"]
    return a.loc[a["status"] != "applied", cols].rename(columns={"row": "输入行 row"}).reset_index(drop=True)


def vetoes(view: RunView) -> pd.DataFrame:
    v = view.result.vetoes
    cols = [
        "member_id",
        "date",
        "condition_name",
        "votes_for",
        "votes_against",
        "members_on_date",
        "applies",
        "reason",
        "row",
    ]
    return v[[c for c in cols if c in v.columns]].rename(columns={"row": "输入行 row"}).reset_index(drop=True)


def pattern_flags(
    book: InputBook, result: Result, run: str | Path | None = None, holidays: Iterable[dt.date | str] = ()
) -> pd.DataFrame:
    """The seeds' warning signs, each with 正常 or 注意 and what was found.

    ``run``: the run folder whose published files are checked: the 季度之星 marked ``yes`` in its
    ``summary.csv`` and the 公示期 its results workbook states. Without one, the figures the
    package would publish now are checked. ``holidays``: public holidays (dates or ``YYYY-MM-DD``)
    that are not working days when the publicity period is counted."""
    s = result.scheme.scheme
    if s.subject == "branch":
        return unit_flags(result, run, holidays)
    items = s.item_codes
    rows: list[tuple[str, str, str]] = []
    m = result.item_scores
    totals = result.monthly_totals

    # 走过场 (1): every member the same monthly total in a month
    # pandas-stubs types a group's key as any scalar; month is a number
    same_month = [int(cast(float, mo)) for mo, g in totals.groupby("month") if len(g) > 2 and g["total"].nunique() == 1]
    rows.append(
        (
            SAME_MONTH_CHECK,
            FLAG if same_month else OK,
            f"月份: {', '.join(map(str, same_month))}" if same_month else "各月总分有差别",
        )
    )

    # 走过场 (2): a member scored exactly the same in every month
    if len(m):
        per_member = m.groupby("member_id")[items].nunique()
        months = m.groupby("member_id").size()
        flat = per_member.index[(per_member.max(axis=1) == 1) & (months > 2)]
        rows.append(
            (FLAT_CHECK, FLAG if len(flat) else OK, f"{len(flat)} 人: {', '.join(flat[:10])}" if len(flat) else "无")
        )
    else:
        rows.append((FLAT_CHECK, OK, "无月度评分"))

    # self-scores copied into the committee's scores across the branch
    ss = book.self_scores
    if len(ss) and len(book.monthly):
        keys = ["member_id", "month"]
        merged = book.monthly[keys + items].merge(ss[keys + items], on=keys, suffixes=("", "_self"))
        if len(merged):
            equal = np.all(
                merged[items].to_numpy(dtype=float) == merged[[f"{c}_self" for c in items]].to_numpy(dtype=float),
                axis=1,
            )
            share = float(equal.mean())
            rows.append(
                (
                    COPY_CHECK,
                    FLAG if share >= COPY_SHARE else OK,
                    f"{share:.0%} 的行完全相同 ({int(equal.sum())}/{len(merged)})",
                )
            )
        else:
            rows.append((COPY_CHECK, OK, "自评与支委会评分没有同一党员同一月份的行"))
    else:
        rows.append((COPY_CHECK, OK, "无自评数据"))

    # 一团和气: appraisal averages with no spread
    app = result.appraisal
    avg_cols = [c for c in app.columns if c.endswith("_average")]
    values = app[avg_cols].to_numpy(dtype=float) if avg_cols else np.empty((0, 0))
    rated = ~np.isnan(values)
    if len(app) > 2 and avg_cols and (rated.sum(axis=0) > 2).any():
        spread = max(float(np.std(col[~np.isnan(col)])) for col in values.T if (~np.isnan(col)).sum() > 2)
        rows.append((SPREAD_CHECK, FLAG if spread < 0.01 else OK, f"各项平均分的最大标准差 {spread:.3f}"))
    else:
        rows.append(
            (
                SPREAD_CHECK,
                OK,
                "本期没有足够的民主测评平均分可比较 (no appraisal in this period, or fewer than 3 rated members)",
            )
        )

    rows.append(quarter_star_flag(result, _published_summary(result, run)))
    rows.append(publicity_flag(result, run, holidays))
    rows.append(star_override_flag(result))
    rows.append(pending_objection_flag(result))
    return pd.DataFrame(rows, columns=["检查 check", "结果", "发现 found"])


# -- 异议 and 党支部定星 (SPEC 8) ------------------------------------------------------------------


def star_overrides(result: Result) -> pd.DataFrame:
    """Every committee decision that changed a member's stars, or that a veto set aside: the member,
    the stars the score gives, the stars published, the reason and the decision's cell."""
    a = result.annual
    if result.period.kind != "year" or not len(a) or "star_row" not in a:
        return pd.DataFrame(columns=["member_id", "name", "computed_stars", "stars", "star_reason", "source"])
    decided = a[a["star_row"].notna()]
    changed = decided[(decided["stars"].fillna(-1) != decided["computed_stars"].fillna(-1)) | (decided["veto"] == YES)]
    out = changed[["member_id", "name", "computed_stars", "stars", "star_reason"]].copy()
    out["source"] = [result.cell("star_decisions", "stars", int(r)) for r in changed["star_row"]]
    return out.reset_index(drop=True)


def star_override_flag(result: Result) -> tuple[str, str, str]:
    """注意 for every star the committee decided otherwise than the score (and for a decision a veto
    set aside), each named with both stars and the reason."""
    if result.period.kind != "year" or not result.scheme.scheme.has_stars:
        return (STAR_CHECK, OK, "本期不评星级 (no stars in this period or scheme)")
    found = star_overrides(result)
    if not len(found):
        return (STAR_CHECK, OK, "无 (党支部没有改定星级)")
    parts = []
    for r in cast(Iterator[Any], found.itertuples(index=False)):
        computed = "无" if pd.isna(r.computed_stars) else f"{int(r.computed_stars)}星"
        published = "不评星级" if pd.isna(r.stars) else f"{int(r.stars)}星"
        parts.append(
            f"{r.member_id} {r.name}: 按积分 {computed} → 公示 {published} (理由: {r.star_reason}; {r.source})"
        )
    return (STAR_CHECK, FLAG, f"{len(found)} 人: " + "; ".join(parts))


def pending_objection_flag(result: Result) -> tuple[str, str, str]:
    """注意 for every objection still pending at the run (no outcome yet, or answered after the day
    the run sees): after the 公示 the branch owes each an answer."""
    o = result.objections
    pending = o[o["status"] == PENDING] if len(o) else o
    if not len(pending):
        return (OBJECTION_CHECK, OK, "无")
    parts = []
    for r in cast(Iterator[Any], pending.itertuples(index=False)):
        cell = result.cell("objections", "outcome", int(r.row))
        parts.append(f"{r.member_id} {r.name} ({r.subject}, {r.raised_on:%Y-%m-%d} 提出, {cell})")
    return (OBJECTION_CHECK, FLAG, f"{len(pending)} 项: " + "; ".join(parts))


def unit_flags(result: Result, run: str | Path | None = None, holidays: Iterable[dt.date | str] = ()) -> pd.DataFrame:
    """The seeds' warning signs for a unit's branch assessment: every branch the same score in a
    month, a branch with the same category scores every month, self-scores at the maximum almost
    everywhere (the verification then checks little), 互评 that tell no branch from another (一团和气),
    and months of the period the 党委 has not approved (their 通报 is a draft). The 通报 is read out
    at the secretaries' meeting: it has no 公示期 to count."""
    s = result.scheme.scheme
    rows: list[tuple[str, str, str]] = []
    totals = result.monthly_totals
    # pandas-stubs types a group's key as any scalar; month is a number
    same = [int(cast(float, mo)) for mo, g in totals.groupby("month") if len(g) > 2 and g["total"].nunique() == 1]
    found = f"月份: {', '.join(map(str, same))}" if same else "各月得分有差别"
    rows.append((UNIT_SAME_MONTH_CHECK, FLAG if same else OK, found))
    m = result.item_scores
    per_branch = m.groupby("member_id")[s.item_codes].nunique()
    months = m.groupby("member_id").size()
    flat = per_branch.index[(per_branch.max(axis=1) == 1) & (months > 2)]
    found = f"{len(flat)} 个支部: {', '.join(map(str, flat[:10]))}" if len(flat) else "无"
    rows.append((UNIT_FLAT_CHECK, FLAG if len(flat) else OK, found))
    ind = result.indicators if result.indicators is not None else pd.DataFrame(columns=["self_score", "max"])
    own = ind[ind["self_score"].notna()]
    if len(own):
        full = own["self_score"].to_numpy(dtype=float) >= own["max"].to_numpy(dtype=float)
        share = float(full.mean())
        found = f"{share:.0%} 的自评分为满分 ({int(full.sum())}/{len(own)})"
        rows.append((FULL_MARKS_CHECK, FLAG if share >= FULL_MARKS_SHARE else OK, found))
    else:
        rows.append((FULL_MARKS_CHECK, OK, "无自评分"))
    rated = ind[ind["raters"].notna()] if "raters" in ind.columns else ind.iloc[0:0]
    spread = rated.groupby(["month", "code"])["score"].agg(["std", "size"])
    spread = spread[spread["size"] > 2]
    if len(spread):
        flat_months = sorted({int(cast(float, mo)) for mo, _ in spread.index[spread["std"] < 0.01]})
        found = (
            f"月份: {', '.join(map(str, flat_months))} 各支部的互评平均分相同"
            if flat_months
            else f"各月互评平均分的最小标准差 {float(spread['std'].min()):.3f}"
        )
        rows.append((MUTUAL_SPREAD_CHECK, FLAG if flat_months else OK, found))
    else:
        rows.append((MUTUAL_SPREAD_CHECK, OK, "互评的支部不足 3 个, 无法比较 (fewer than 3 branches rated)"))
    p = result.period
    draft = [f"{p.year}-{m:02d}" for m in range(p.first_month, p.last_month + 1) if m not in result.approved_months]
    found = f"未审定: {', '.join(draft)}" if draft else "本期各月均经党委审定"
    rows.append((UNIT_APPROVAL_CHECK, FLAG if draft else OK, found))
    return pd.DataFrame(rows, columns=["检查 check", "结果", "发现 found"])


def _published_summary(result: Result, run: str | Path | None) -> pd.DataFrame:
    """``summary.csv`` as the run published it (every cell as text); without a run, the summary
    the package makes now, as it would be written."""
    if run is not None:
        return read_csv_text(Path(run) / "summary.csv")
    return summary_text(result.summary())


def quarter_star_counts(summary: pd.DataFrame, result: Result) -> pd.DataFrame:
    """Per quarter in a published summary: scored members (a quarter score is shown), the quota the
    recorded scheme allows (floor(share x scored), none below its minimum of members) and how many
    members are marked ``yes`` and ``tie``. A year's summary has no quarter stars: no rows."""
    qs = result.scheme.scheme.quarter_star
    if "quarter_star" in summary.columns:
        spans = [(result.period.last_month // 3, "quarter_score", "quarter_star")]
    else:
        spans = [(k, f"q{k}_score", f"q{k}_star") for k in range(1, 5) if f"q{k}_star" in summary.columns]
    rows = []
    for k, score_col, star_col in spans:
        scored = (
            int(summary[score_col].astype(str).str.strip().ne("").sum())
            if score_col in summary.columns
            else len(summary)
        )
        quota = 0 if qs is None or scored < qs.min_scored_members else share_quota(qs.share, scored)
        star = summary[star_col].astype(str).str.strip().str.lower()
        rows.append((k, scored, quota, int((star == YES).sum()), int((star == TIE).sum())))
    return pd.DataFrame(rows, columns=["quarter", "scored", "quota", "yes", "tie"])


def quarter_star_flag(result: Result, summary: pd.DataFrame) -> tuple[str, str, str]:
    """注意 when a published summary marks more 季度之星 ``yes`` than the recorded scheme allows."""
    qs = result.scheme.scheme.quarter_star
    counts = quarter_star_counts(summary, result)
    if counts.empty:
        return (
            QUARTER_CHECK,
            OK,
            "年度结果的 summary.csv 不含季度之星, 本项不适用; 请审核各季度的运行 (not applicable to a year run)",
        )
    over = counts[counts["yes"] > counts["quota"]]
    parts = []
    for r in cast(Iterator[_QuarterCount], counts.itertuples(index=False)):
        if qs is None:
            rule = "方案不设季度之星, 名额 0"
        elif r.scored < qs.min_scored_members:
            rule = f"参评 {r.scored} 人, 不足 {qs.min_scored_members} 人不评, 名额 0"
        else:
            rule = f"参评 {r.scored} 人, 名额 floor({qs.share:.0%} × {r.scored}) = {r.quota}"
        tie = f", 并列待支委会研究 {r.tie} 人" if r.tie else ""
        parts.append(
            f"第{r.quarter}季度: {rule}; summary.csv 标为 yes {r.yes} 人{tie}"
            + (" — 超过名额" if r.yes > r.quota else "")
        )
    return (QUARTER_CHECK, FLAG if len(over) else OK, "; ".join(parts))


def results_workbook(run: str | Path) -> Path | None:
    """The run's published results workbook (``*_结果.xlsx``), if it has one."""
    run = Path(run)
    from ..runs.review import load_manifest

    names = [o["file"] for o in load_manifest(run).get("outputs", []) if str(o["file"]).endswith("_结果.xlsx")]
    found = [run / n for n in names if (run / n).is_file()] or sorted(run.glob("*_结果.xlsx"))
    return found[0] if found else None


def published_window(run: str | Path) -> tuple[dt.date, dt.date] | None:
    """The first and last day of the publicity period as the run's 公示 sheet states it."""
    import openpyxl

    path = results_workbook(run)
    if path is None:
        return None
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        if PUBLICITY_SHEET not in wb.sheetnames:
            return None
        for row in wb[PUBLICITY_SHEET].iter_rows(max_row=10, values_only=True):
            for value in row:
                m = _WINDOW.search(str(value)) if value is not None else None
                if m:
                    y1, m1, d1, y2, m2, d2 = (int(g) for g in m.groups())
                    return dt.date(y1, m1, d1), dt.date(y2, m2, d2)
    finally:
        wb.close()
    return None


def _dates(days: Iterable[dt.date | str]) -> set[dt.date]:
    out = set()
    for d in days:
        if isinstance(d, dt.datetime):
            out.add(d.date())
        elif isinstance(d, dt.date):
            out.add(d)
        else:
            out.add(dt.date.fromisoformat(str(d).strip()))
    return out


def working_days(first: dt.date, last: dt.date, holidays: Iterable[dt.date | str] = ()) -> int:
    """Working days from ``first`` to ``last`` inclusive: Saturdays, Sundays and ``holidays`` are not."""
    off = _dates(holidays)
    n = (last - first).days + 1
    return sum(1 for i in range(max(n, 0)) if (d := first + dt.timedelta(days=i)).weekday() < 5 and d not in off)


def publicity_flag(
    result: Result, run: str | Path | None = None, holidays: Iterable[dt.date | str] = ()
) -> tuple[str, str, str]:
    """注意 when the recorded scheme asks for fewer than 7 working days of 公示, or when the period
    the run's 公示 sheet states (first to last day) holds fewer than 7 working days once weekends
    and ``holidays`` are skipped."""
    off = _dates(holidays)
    days = result.scheme.scheme.publicity.working_days
    rule = f"方案规定 {days} 个工作日"
    if run is not None:
        window = published_window(run)
        if window is None:
            return (
                PUBLICITY_CHECK,
                FLAG,
                f"{rule}; 运行的结果工作簿中找不到公示期 (no publicity period found in the run's 公示 sheet)",
            )
        source = "公示表"
    else:
        window = publicity_window(dt.date.today() + dt.timedelta(days=1), days, off)
        source = "未给出运行文件夹, 按方案从明天起计算的公示期"
    first, last = window
    counted = working_days(first, last, off)
    skipped = f", 扣除周末和 {len(off)} 个节假日" if off else ", 扣除周末 (未给出节假日)"
    found = f"{rule}; {source} {first:%Y-%m-%d} 至 {last:%Y-%m-%d}{skipped}, 实际 {counted} 个工作日"
    short = days < MIN_PUBLICITY_DAYS or counted < MIN_PUBLICITY_DAYS
    return (PUBLICITY_CHECK, FLAG if short else OK, found)


# -- what notebooks/review.ipynb calls --------------------------------------------------------


def run_for_notebook(run_dir: str) -> Path:
    """The run to review; without one (the notebook opened by hand), a fresh run of demo branch
    B001 for 2025 in a temporary folder."""
    if run_dir:
        return Path(run_dir).resolve()
    import tempfile

    from ..inputs.demo import generate_demo
    from ..runs.execute import run_branch

    tmp = Path(tempfile.mkdtemp(prefix="scoring-review-demo-"))
    print("未给出运行文件夹, 先为示范支部 B001 运行 2025 年度 (no run_dir: scoring demo branch B001 for 2025 first)")
    return run_branch(generate_demo(tmp / "inputs")[0], "2025", tmp / "runs")


def recompute_table(run: Path) -> pd.DataFrame:
    """Formula counts per sheet, and how many LibreOffice recomputes to the package's figure.

    Without LibreOffice the table says plainly that the workbook was not recomputed and why; under
    CI (the ``CI`` environment variable set) a missing LibreOffice is an error, never a skip."""
    import shutil

    if (Path(run) / "manifest.json").is_file() and results_workbook(run) is None:  # a unit's run has none yet
        why = "本运行没有结果工作簿 (*_结果.xlsx), 没有公式可重算 (no results workbook: nothing to recompute)"
        print(why)
        return pd.DataFrame([("无 (none)", why)], columns=["工作簿重算 recompute", "原因 why"])
    if shutil.which("soffice") is None:
        why = (
            "未安装 LibreOffice (找不到 soffice 命令), 结果工作簿中的公式没有经过独立重算, "
            "不能据此确认公式与程序的数字一致 (LibreOffice missing: the workbook was NOT recomputed)"
        )
        if os.environ.get("CI"):
            raise RuntimeError(f"{why}; CI 中必须重算 (in CI the recompute must run): apt-get install libreoffice-calc")
        print(f"未重算 (NOT recomputed): {why}")
        return pd.DataFrame(
            [("未重算 (not done)", why, "apt-get install libreoffice-calc, 然后重新执行 python -m scoring review RUN")],
            columns=["工作簿重算 recompute", "原因 why", "怎样补做 how to do it"],
        )
    from ..outputs.recompute import recompute

    table = recompute(run)
    by_sheet = (
        table.groupby("sheet")["ok"].agg(["size", "sum"]).rename(columns={"size": "公式 formulas", "sum": "一致 equal"})
    )
    bad = table[~table["ok"]]
    if len(bad):
        print(f"{len(bad)} 个公式重算结果与程序不一致 (formulas differ):")
        print(bad.head(20).to_string(index=False))
    return by_sheet


def _rescored_text(verification: Verification) -> str:
    """Equal only when the re-scoring really ran and compared something."""
    if not verification.rescored:
        return "未比较 (not compared): 见核验说明 see the verification notes"
    if len(verification.figures):
        return f"否, {len(verification.figures)} 个不同"
    return f"是 ({verification.compared} 行)"


def headline(verification: Verification, flags: pd.DataFrame) -> pd.DataFrame:
    """The reviewer's first look: can the run be trusted, and what deserves a question."""
    files = verification.files
    rows = [
        ("文件未改动 files unchanged", f"{int((files['status'] == 'ok').sum())}/{len(files)}"),
        ("重新计分一致 figures re-scored equal", _rescored_text(verification)),
        ("核验结论 verification", "通过" if verification.ok else "未通过"),
        ("需要注意的检查 flags", f"{int((flags['结果'] == FLAG).sum())}/{len(flags)}"),
    ]
    return pd.DataFrame(rows, columns=["项目", "值"])
