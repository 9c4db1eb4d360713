"""The officer's explorer (notebooks/explore.ipynb): a branch, a member, their points card.

Everything is built from one scored ``Result`` with ipywidgets: the branch table, the member's
points card laid out like the paper 积分卡, the trace from the total down to each input cell, three
charts and a what-if on the scheme's parameters. A unit workbook (支部联评联考, SPEC 3.9) is shown
by branch with ``unit_explorer``: the ranking by month, a branch's card, its trend and its trace.
Nothing here writes a file, except the demo workbooks while they are read and the page template
while the server runs, each in a temporary folder removed right after.

What an officer reads is Chinese: no ``nan``, ``None`` or ``<NA>``, yes/no as 是/否, computed
figures with two decimals, and no absolute path of the machine (SPEC 9).
"""

from __future__ import annotations

import datetime as dt
import html
import math
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, SupportsInt, cast

import numpy as np
import pandas as pd

from ..exceptions import InputError, RunError
from ..inputs.reading import BRANCH_KEYS, SHEETS, InputBook, _find_sheet, _header_key, _norm, load_inputs
from ..inputs.unit import UNIT_KEYS, UNIT_SHEETS, UnitBook, is_unit_workbook, load_unit
from ..labels import LABELS, label
from ..rules.engine import Result, score, sub_events
from ..rules.engine.pipeline import score_unit
from ..rules.periods import parse_period
from ..rules.scheme import LoadedScheme, Scheme, load_scheme
from ..rules.words import (
    COMBINE_WORDS,
    MONTHS_WORDS,
    band_name,
    sub_word,
    veto_text,
    words,
    year_text,
)
from ..runs.record import recorded_prior
from ..runs.summaries import compare_summaries, read_summary, summary_text
from . import unit_explorer as unit_view
from .display import CHART_DPI, CHART_SIZE
from .display import entered as _entered
from .display import fmt as _fmt
from .display import html_table as _html_table
from .display import legend_outside as _legend_outside
from .display import missing as _missing
from .display import new_figure as _figure
from .display import number as _number
from .display import padded as _padded
from .display import png as _png
from .display import show as show
from .display import trace_table as trace_table
from .display import trace_table_html as trace_table_html
from .display import use_cjk_fonts as _cjk
from .trace import trace

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SCORE_COLUMN = {"year": "total", "half": "half_score", "quarter": "quarter_score", "month": "month_total"}


@dataclass(frozen=True)
class Source:
    """One branch to look at: an input workbook read with its own scheme, or a run folder's
    archived input read with the run's archived scheme (what the run was scored with).

    ``content``: the workbook's bytes when it is held in memory (the demo), not on disk; then
    ``workbook`` is only its file name."""

    label: str
    workbook: Path
    scheme: str | None = None  # archived scheme file (or built-in name) of a run; None: the workbook's own
    run: Path | None = None
    period: str | None = None  # the run's period
    content: bytes | None = field(default=None, repr=False, compare=False)


@dataclass
class Scored:
    path: Path
    book: InputBook
    scheme: LoadedScheme
    result: Result
    unit: UnitBook | None = None  # a unit workbook's contents (SPEC 3.9): its branches are the subjects

    @property
    def is_unit(self) -> bool:
        """A unit's branches scored (SPEC 3.9), not a branch's members."""
        return self.unit is not None


def score_workbook(path: str | Path, period: str, scheme: str | Path | None = None, run: Path | None = None) -> Scored:
    """Score a workbook for ``period``; ``scheme`` (a file or built-in name) instead of the one the
    workbook names, e.g. the scheme a run archived; ``run``: the sealed run it came from, whose
    recorded prior runs and 公示 start it is scored with (SPEC 8), as ``verify`` re-scores it."""
    p = parse_period(period)
    chosen = load_scheme(str(scheme)) if scheme is not None else None
    if is_unit_workbook(path):  # a unit's branches (SPEC 3.9)
        unit_book, sch = load_unit(path, p, chosen)
        r = score_unit(unit_book, sch, p)
        assert r.book is not None  # the branches as subjects
        return Scored(Path(path), r.book, sch, r, unit_book)
    book, sch = load_inputs(path, p, chosen)
    prior, start, note = None, None, ""
    if run is not None:
        try:
            prior, start = recorded_prior(run)
        except (RunError, OSError, ValueError) as exc:  # shown without them, and said so
            note = f"本运行所依据的以前运行缺失或已改动, 以下未计入以前年度 (earlier runs gone or changed): {exc}"
    result = score(book, sch, p, prior, start)
    if note:
        result.notes.append(note)
    return Scored(Path(path), book, sch, result)


@contextmanager
def workbook_file(src: Source) -> Iterator[Path]:
    """The source's workbook as a file: its own path, or (held in memory) a copy in a temporary
    folder that is removed when the block ends."""
    if src.content is None:
        yield src.workbook
        return
    with tempfile.TemporaryDirectory(prefix="scoring-explore-") as tmp:
        path = Path(tmp) / src.workbook.name
        path.write_bytes(src.content)
        yield path


def score_source(src: Source, period: str) -> Scored:
    """Score one source for ``period`` (a run folder with its archived scheme)."""
    with workbook_file(src) as path:
        s = score_workbook(path, period, src.scheme, src.run)
    if src.content is not None:
        s.path = src.workbook  # the temporary copy is gone
    return s


def demo_sources(year: int = 2025) -> list[Source]:
    """The demo county's branches and its unit's 支部联评联考 workbook, held in memory: written to a
    temporary folder, read back and the folder removed at once, so a page load leaves nothing behind."""
    from ..inputs.demo import generate_demo
    from ..inputs.unit_demo import DEMO_YEARS, write_demo_unit

    with tempfile.TemporaryDirectory(prefix="scoring-explore-") as tmp:
        paths = generate_demo(Path(tmp), year)
        found = [Source(p.stem, Path(p.name), content=p.read_bytes()) for p in paths]
        if year in DEMO_YEARS:
            unit = write_demo_unit(Path(tmp), year)
            found.append(Source(f"{unit.stem} (支部联评联考)", Path(unit.name), content=unit.read_bytes()))
        return found


def sources(inputs: str | Path) -> list[Source]:
    """What to choose from: one workbook, every ``*.xlsx`` of a folder (a unit's branches), or a
    run folder (``runs/PERIOD/BRANCH/vNNN``): its archived input with its archived scheme."""
    path = Path(inputs)
    if (path / "manifest.json").is_file():
        import json

        m = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        recorded = m.get("scheme", {})
        scheme = str((path / recorded["archived"]).resolve()) if recorded.get("archived") else recorded.get("name")
        run = path.resolve()
        return [
            Source(
                f"{m.get('branch_id') or m.get('unit_id') or path.parent.name} ({m['period']} {path.name})",
                (path / m["inputs"][0]["archived"]).resolve(),
                scheme,
                run,
                str(m["period"]),
            )
        ]
    if path.is_dir():
        return [Source(_source_label(p), p) for p in sorted(path.glob("*.xlsx")) if not p.name.startswith(("~$", "."))]
    return [Source(_source_label(path), path)]


def _source_label(path: Path) -> str:
    """A workbook as the chooser lists it: its name, and 支部联评联考 for a unit workbook."""
    return f"{path.stem} (支部联评联考)" if is_unit_workbook(path) else path.stem


def run_shown(run: Path) -> str:
    """A run folder as the page shows it: relative to the runs folder (``runs/2025/B001/v001``),
    never the machine's absolute path (SPEC 9)."""
    parts = run.parts
    return "/".join(parts[-4:]) if len(parts) >= 4 else run.name


def workbook_year(path: str | Path) -> int | None:
    """The year the workbook's branch sheet (支部信息) or unit sheet (单位信息) states, or None."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception:  # calamine raises its own error types; the loader reports a bad file
        return None
    keys = BRANCH_KEYS
    sheet = _find_sheet(list(wb.sheet_names), SHEETS["branch"])
    if sheet is None:  # a unit workbook states its year in 单位信息
        keys, sheet = UNIT_KEYS, _find_sheet(list(wb.sheet_names), UNIT_SHEETS["unit"])
    if sheet is None:
        return None
    names = {_norm(k): k for k in keys} | {_norm(v): k for k, v in keys.items()}
    for row in wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False):
        if len(row) >= 2 and _header_key(row[0], names) == "year":
            text = str(row[1]).strip().removesuffix(".0")
            return int(text) if text.isdigit() and len(text) == 4 else None
    return None


def periods_of(year: int) -> list[str]:
    """Every period of one year: the year, its halves, quarters and months."""
    return (
        [str(year), f"{year}H1", f"{year}H2"]
        + [f"{year}Q{q}" for q in range(1, 5)]
        + [f"{year}-{m:02d}" for m in range(1, 13)]
    )


def run_differences(src: Source, s: Scored) -> pd.DataFrame | None:
    """For a run folder scored for the run's own period: every figure of the run's ``summary.csv``
    that differs from the re-scored one (empty: all equal). None when there is nothing to compare."""
    if src.run is None or src.period != s.result.period.text or not (src.run / "summary.csv").is_file():
        return None
    recorded, now = read_summary(src.run), summary_text(s.result.summary())
    if "branch_id" not in now.columns:
        return compare_summaries(recorded, now, "summary.csv", "重新计分 now")
    # a unit's branches (SPEC 3.9): compared as members are, named as branches
    recorded, now = (t.rename(columns={"branch_id": "member_id"}) for t in (recorded, now))
    diffs = compare_summaries(recorded, now, "summary.csv", "重新计分 now")
    return diffs.rename(columns={"member_id": "branch_id"})


def run_notice_html(src: Source, s: Scored) -> str:
    """What the explorer says above the tabs about a run folder: equal to its summary.csv, or not."""
    if src.run is None:
        return ""
    scheme = f"{html.escape(s.scheme.name)} {html.escape(str(s.scheme.scheme.version))}"
    diffs = run_differences(src, s)
    if diffs is None:
        return (
            '<div class="run-check run-check-other" style="color:#555">'
            f"运行 {html.escape(run_shown(src.run))} 的期间是 {html.escape(str(src.period))}; "
            f"现在显示的 {html.escape(s.result.period.label)} 是按存档输入和存档方案 ({scheme}) 重新计分, "
            "没有可比较的 summary.csv。</div>"
        )
    if diffs.empty:
        return (
            '<div class="run-check run-check-ok" style="color:#2e7d32">'
            f"按存档输入和存档方案 ({scheme}) 重新计分, 与本次运行的 summary.csv 完全一致。</div>"
        )
    table = _html_table(diffs.head(20))
    more = f"<p>(只列出前 20 处, 共 {len(diffs)} 处)</p>" if len(diffs) > 20 else ""
    return (
        f'<div class="run-check run-check-differs" style="color:#c00000; border:2px solid #c00000; padding:6px">'
        f"<b>注意: 按存档输入和存档方案 ({scheme}) 重新计分, 与本次运行的 summary.csv 有 {len(diffs)} 处不同。</b> "
        "summary.csv 可能被改动过, 或运行时的程序版本不同; "
        f"请用 <code>python -m scoring verify {html.escape(run_shown(src.run))}</code> 核验。"
        f"下面的积分卡等按重新计分显示。{table}{more}</div>"
    )


# -- tables -------------------------------------------------------------------------------------


def _no_score_veto(s: Scored) -> set[str]:
    """Members whose period figure is not shown because of a veto (seed 000: "不体现积分")."""
    r = s.result
    summ = r.summary()
    key = SCORE_COLUMN[r.period.kind]
    if r.scheme.scheme.veto.effect != "no_score" or not len(r.vetoes):
        return set()
    vetoed = set(r.vetoes.loc[r.vetoes["applies"].astype(bool), "member_id"])
    return {str(m) for m, v in zip(summ["member_id"], summ[key], strict=True) if m in vetoed and _missing(v)}


def branch_table(s: Scored) -> pd.DataFrame:
    """Members with their monthly totals of the period, quarter scores and the period's result.

    Values stay as they are (numbers sort as numbers); ``displayed`` turns them into text. Columns
    the scheme has no use for (stars, quarter and annual stars, tiers) are left out, and a member
    whose figure a veto hides ("不体现积分") shows no monthly or quarter figure either."""
    r = s.result
    sch = r.scheme.scheme
    p = r.period
    summ = r.summary().set_index("member_id")
    t = r.monthly_totals
    t = t[(t["month"] >= p.first_month) & (t["month"] <= p.last_month)]
    if sch.cadence != "month":  # quarters scored (their figures are the quarter columns) or the year's
        t = t.iloc[0:0]
    months = t.pivot_table(index="member_id", columns="month", values="total", aggfunc="first")
    months.columns = [f"{int(m)}月" for m in months.columns]
    q = r.quarters[r.quarters["quarter"].between((p.first_month + 2) // 3, p.last_month // 3)]
    if p.kind == "quarter":  # its one quarter is the period's own figure
        q = q.iloc[0:0]
    quarters = q.pivot_table(index="member_id", columns="quarter", values="score_rounded", aggfunc="first")
    running = "(截至季末)" if sch.period("quarter").combine == "year_to_date" else ""
    quarters.columns = [f"第{int(c)}季度{running}" for c in quarters.columns]
    unused = set()
    if not sch.has_stars:
        unused.add("stars")
    if sch.quarter_star is None:
        unused.add("quarter_star")
    if sch.annual_star is None:
        unused.add("annual_star")
    if "tier" in summ.columns and summ["tier"].isna().all():
        unused.add("tier")
    if not sch.has_grades and "grade" in summ.columns and summ["grade"].isna().all():
        unused.add("grade")  # banded by tiers only (seed 003 亮分制)
    # the parts of a total that is made of a base, the bonuses and the appraisal (seed 004 农村): the
    # card's own columns, and for a quarter that quarter's 扣分小计 and 加分 beside the running ones
    parts = ["span_deduction", "span_bonus", "base_points", "bonus", "appraisal_added"] if "base_points" in summ else []
    keep = [
        c
        for c in [
            "name",
            *parts,
            SCORE_COLUMN[p.kind],
            "stars",
            "grade",
            "rank",
            "tier",
            "annual_star",
            "quarter_rank",
            "quarter_star",
            "exempt",
            "veto",
        ]
        if c in summ.columns and c not in unused
    ]
    # a yearly scheme's 大项 subtotals (seed 004 富县: "Group subtotals (大项) are shown")
    whole = r.monthly_totals[r.monthly_totals["month"] == 12] if sch.cadence == "year" else r.monthly_totals.iloc[0:0]
    groups = whole.set_index("member_id")[[f"group_{g.code}" for g in sch.item_groups]]
    groups.columns = [f"{g.name}小计" for g in sch.item_groups]
    out = summ[keep].join(groups).join(months).join(quarters)
    hidden = sorted(_no_score_veto(s) & set(out.index))
    if hidden:
        figures = [*groups.columns, *months.columns, *quarters.columns]
        out[figures] = out[figures].astype(object)
        out.loc[hidden, figures] = None
    own = words(sch, p.kind)
    out = out.rename(columns={c: f"{own[c]} ({c})" if c in own else label(c) for c in keep})
    out.index.name = label("member_id")
    return out.reset_index()


def branch_table_html(s: Scored, sort: str | None = None, ascending: bool = False) -> str:
    """The branch table as the page shows it, sorted by the column ``sort`` (as headed)."""
    table = branch_table(s)
    if sort is not None and sort in table.columns:
        table = table.sort_values(sort, ascending=ascending, na_position="last", kind="stable")
    return _html_table(table)


def _member_row(table: pd.DataFrame, member_id: str) -> pd.Series:
    """The member's row of a table keyed by ``member_id`` (unique there: pandas-stubs also allow the
    DataFrame that ``.loc`` gives for a repeated label)."""
    return cast(pd.Series, table.set_index("member_id").loc[member_id])


def _member_vetoes(r: Result, member_id: str) -> pd.DataFrame:
    v = r.vetoes
    return v[v["member_id"] == member_id] if len(v) and "applies" in v.columns else v.iloc[0:0]


def _veto_effect(r: Result, summ: pd.Series) -> str:
    """What the veto did to this period's figures, read from the figures themselves."""
    sch = r.scheme.scheme
    p = r.period
    key = SCORE_COLUMN[p.kind]
    effects = []
    if "grade" in summ.index:
        effects.append(f"等级定为{show(summ.get('grade')) or sch.veto.grade}")
    effects.append("不显示积分" if _missing(summ.get(key)) else "积分照常显示")
    if p.kind == "year":
        if sch.has_stars and _missing(summ.get("stars")):
            effects.append("不评星级")
        if _missing(summ.get("rank")):
            effects.append("不参加支部排名")
        if sch.annual_star is not None and show(summ.get("annual_star")) != "是":
            effects.append("不评年度之星")
    elif p.kind == "quarter":
        if _missing(summ.get("quarter_rank")):
            effects.append("不参加季度排名")
        if sch.quarter_star is not None and show(summ.get("quarter_star")) != "是":
            effects.append("不评季度之星")
    return "、".join(effects)


def _veto_html(r: Result, member_id: str, summ: pd.Series) -> str:
    """The card's veto box: 一票否决, the condition, the date (and the vote), and its effect; a
    recorded veto that does not apply to this period is named with the reason."""
    out = []
    for v in _member_vetoes(r, member_id).to_dict("records"):
        votes = ""
        if not _missing(v.get("votes_for")):
            against = 0 if _missing(v.get("votes_against")) else int(v["votes_against"])
            votes = f"; 表决: 赞成 {int(v['votes_for'])}, 反对 {against}, 党员 {int(v['members_on_date'])} 人"
        note = f"; {v['note']}" if not _missing(v.get("note")) and str(v["note"]).strip() else ""
        what = html.escape(f"{v['condition_name']}; 决定日期 {show(v['date'])}{votes}{note}")
        if bool(v["applies"]):
            out.append(
                '<div class="card-veto" style="color:#c00000; border:2px solid #c00000; padding:4px 8px; margin:8px 0">'
                f"<b>一票否决</b>: {what}。<br>效果: {html.escape(_veto_effect(r, summ))}。</div>"
            )
        else:
            out.append(
                f'<p class="card-veto-not-applied" style="color:#555">记录的一票否决 ({what}) 本期间不生效: '
                f"{html.escape(str(v['reason']))}。</p>"
            )
    return "".join(out)


def _exempt_html(r: Result, member: pd.Series, summ: pd.Series) -> str:
    """The card's box for a member not scored (不列入积分): why, and the stars entered by hand."""
    sch = r.scheme.scheme
    reason = show(member.get("exempt_reason"))
    stars = _number(member.get("exempt_stars"))
    text = "<b>不列入积分</b>" + (f" (原因: {html.escape(reason)})" if reason else "") + ": 不计分, 不排名。"
    if sch.has_stars and stars is not None:
        text += f" 星级由党支部直接评定: <b>{int(stars)}星</b> (输入工作簿中手工录入)"
        grade = show(summ.get("grade"))
        text += f", 等级 <b>{html.escape(grade)}</b>。" if grade and r.period.kind == "year" else "。"
    elif sch.has_stars:
        text += " 星级由党支部年底直接评定 (输入工作簿中尚未录入)。"
    else:
        text += " 年底由党支部直接评定。"
    return f'<div class="card-exempt" style="border:2px solid #555; padding:4px 8px; margin:8px 0">{text}</div>'


def _quarter_star_text(r: Result, member_id: str, summ: pd.Series) -> str:
    qs = r.scheme.scheme.quarter_star
    if qs is None:
        return ""
    q = r.quarters
    row = q[(q["member_id"] == member_id) & (q["quarter"] == r.period.last_month // 3)]
    if len(row) and int(row.iloc[0]["quota"]) == 0:
        n = int(row.iloc[0]["scored_members"])
        return f"季度之星: <b>本季度不评</b> (参评 {n} 人, 名额为 0)"
    return f"季度之星: <b>{_fmt(summ.get('quarter_star'))}</b>"


def _amended(r: Result, member_id: str) -> dict[tuple[int, str], Any]:
    """The member's amended cells by (sub-period's last month, item)."""
    am = r.amendments
    if not len(am):
        return {}
    return {
        (int(cast(SupportsInt, a.month)), str(a.item)): a  # pandas-stubs type the fields as any scalar
        for a in am[am["member_id"] == member_id].itertuples(index=False)
    }


def _cell_html(v: Any, a: Any | None, own: str = "") -> str:
    """One score cell of the card; an amended one in red with the original in its tooltip."""
    if a is None:
        return f"<td>{_entered(v)}{own}</td>"
    title = html.escape(f"已更正: 原 {a.original:g} → {a.new_score:g}; {a.reason}; {a.decided_on}")
    return f'<td title="{title}" style="color:#c00000; font-weight:bold">{_entered(v)}*{own}</td>'


def _amended_note(amended: dict[tuple[int, str], Any], when: Callable[[int], str]) -> list[str]:
    if not amended:
        return []
    notes = "; ".join(
        html.escape(f"{when(m)} {it}: 原 {a.original:g} → {a.new_score:g} ({a.reason})")
        for (m, it), a in sorted(amended.items())
    )
    return [f"<p style='font-size:12px'>* {notes}</p>"]


def _grid_html(s: Scored, member_id: str) -> list[str]:
    """The card's grid of a scheme scored per month or per quarter: one row per sub-period of the
    period (1月.., 第1季度..), the committee's score with the member's self-score beside it,
    amendments marked, the sub-period's total (and its events and figure where they enter it)."""
    r = s.result
    sch = r.scheme.scheme
    p = r.period
    items = sch.items
    quarterly = sch.cadence == "quarter"
    sc = r.item_scores[r.item_scores["member_id"] == member_id].set_index("month")
    selfs = s.book.self_scores
    selfs = (
        selfs[selfs["member_id"] == member_id].assign(month=lambda d: d["month"].astype(int)).set_index("month")
        if len(selfs)
        else pd.DataFrame()
    )
    amended = _amended(r, member_id)
    mine = r.monthly_totals[r.monthly_totals["member_id"] == member_id].set_index("month")
    events = sub_events(sch)
    sub = sub_word(sch)

    def when(m: int) -> str:
        return f"第{m // 3}季度" if quarterly else f"{m}月"

    table = '<table border="1" style="border-collapse: collapse; font-size: 12px">'
    parts = [f"{table}<tr><th>{'季度' if quarterly else '月份'}</th>"]
    parts += [f"<th>{html.escape(it.name)}<br>({it.max:g}分)</th>" for it in items]
    parts.append(
        f"<th>{sub}合计</th>"
        + (f"<th>本{sub[:-1] if quarterly else '月'}加减分</th><th>{sub}得分</th>" if events else "")
        + "</tr>"
    )
    first = 1 if p.kind == "year" else p.first_month
    ends = [m for m in range(first, p.last_month + 1) if not quarterly or m % 3 == 0]
    for m in ends:
        parts.append(f"<tr><td>{when(m)}</td>")
        if m not in sc.index:
            parts.append(f'<td colspan="{len(items) + 1 + 2 * events}">未在本支部, 不计分</td></tr>')
            continue
        for it in items:
            own = (
                f' <span style="color:#888">(自评 {_entered(selfs.at[m, it.code])})</span>'
                if len(selfs) and m in selfs.index and it.code in selfs.columns
                else ""
            )
            parts.append(_cell_html(sc.at[m, it.code], amended.get((m, it.code)), own))
        parts.append(f"<td><b>{_fmt(mine['total'].get(m))}</b></td>")
        if events:
            parts.append(f"<td>{_fmt(mine['events'].get(m))}</td><td><b>{_fmt(mine['figure'].get(m))}</b></td>")
        parts.append("</tr>")
    parts.append("</table>")
    return parts + _amended_note(amended, when)


def _year_items_html(r: Result, member_id: str) -> list[str]:
    """The card of a scheme scored once a year: one row per item (grouped into its 大项, with the
    group's subtotal), its points and the committee's score, amendments marked."""
    sch = r.scheme.scheme
    sc = r.item_scores[r.item_scores["member_id"] == member_id]
    if not len(sc):
        return ["<p>本年度没有本人的年度评分 (未在本支部)。</p>"]
    row = sc.iloc[0]
    month = int(row["month"])
    amended = _amended(r, member_id)
    groups = {g.code: g.name for g in sch.item_groups}
    parts = ['<table border="1" style="border-collapse: collapse; font-size: 12px"><tr>']
    parts.append(
        ("<th>大项</th>" if groups else "") + "<th>代码</th><th>考评项目</th><th>满分</th><th>年度评分</th></tr>"
    )
    for code in [*groups, None] if groups else [None]:
        mine = [it for it in sch.items if (it.group == code if groups else True)]
        if not mine:
            continue
        for n, it in enumerate(mine):
            head = (
                f'<td rowspan="{len(mine) + 1}">{html.escape(groups[code])}</td>' if groups and code and n == 0 else ""
            )
            parts.append(f"<tr>{head}<td>{html.escape(it.code)}</td><td>{html.escape(it.name)}</td><td>{it.max:g}</td>")
            parts.append(_cell_html(row[it.code], amended.get((month, it.code))) + "</tr>")
        if groups and code:
            subtotal = sum(float(row[it.code]) for it in mine)
            parts.append(
                f'<tr><td colspan="2"><b>小计</b></td><td>{sum(it.max for it in mine):g}</td>'
                f"<td><b>{subtotal:.2f}</b></td></tr>"
            )
    total = sum(float(row[it.code]) for it in sch.items)
    span = 3 if groups else 2
    parts.append(
        f'<tr><td colspan="{span}"><b>项目合计</b></td><td>{sch.sub_max:g}</td><td><b>{total:.2f}</b></td></tr>'
    )
    parts.append("</table>")
    return parts + _amended_note(amended, lambda m: f"{r.period.year}年度")


def _register_html(r: Result, member_id: str) -> list[str]:
    """The card of a scheme without item scores, as the paper 登记表 has it: per quarter that
    quarter's 扣分小计 and 加分, and the running 已得基础分, 已得加分 and figure."""
    sch = r.scheme.scheme
    q = r.quarters[(r.quarters["member_id"] == member_id) & (r.quarters["quarter"] <= r.period.last_month // 3)]
    if not len(q):
        return ["<p>本期间没有本人的季度登记 (未在本支部, 或尚无季度结束)。</p>"]
    cols = [c for c in ("span_deduction", "span_bonus", "base_points", "bonus", "score") if c in q.columns]
    own = words(sch, "quarter")
    heads = {"span_deduction": "本季度扣分小计", "span_bonus": "本季度加分"}
    parts = ['<table border="1" style="border-collapse: collapse; font-size: 12px"><tr><th>季度</th>']
    parts += [f"<th>{html.escape(heads.get(c) or own.get(c) or LABELS.get(c, c))}</th>" for c in cols]
    parts.append("</tr>")
    for row in q.sort_values("quarter").to_dict("records"):
        parts.append(f"<tr><td>第{int(row['quarter'])}季度</td>")
        parts += [
            f"<td>{'<b>' if c == 'score' else ''}{_fmt(row[c])}{'</b>' if c == 'score' else ''}</td>" for c in cols
        ]
        parts.append("</tr>")
    parts.append("</table>")
    rule = f"已得基础分 = {sch.base:g} + 各季度扣分小计 (不低于 0); " if sch.base is not None else ""
    parts.append(f"<p style='font-size:12px;color:#555'>{rule}已得加分 = 各季度加分累计 (本方案不评项目分)。</p>")
    return parts


def card_html(s: Scored, member_id: str) -> str:
    """The member's points card as HTML: monthly items with self-scores, amendments marked,
    appraisal averages, adjustments with evidence, total, stars, rank and the gap to the next star.

    A vetoed member's card says 一票否决 with the condition, date and effect, and offers no star
    gap; an exempt member's card says 不列入积分 and shows the stars entered by hand."""
    r = s.result
    sch = r.scheme.scheme
    p = r.period
    member = _member_row(r.members, member_id)
    summ = _member_row(r.summary(), member_id)
    key = SCORE_COLUMN[p.kind]
    exempt = bool(member["exempt"])
    mv = _member_vetoes(r, member_id)
    vetoed = bool(mv["applies"].astype(bool).any()) if len(mv) else False
    hidden = member_id in _no_score_veto(s)
    parts = [f'<div class="points-card" data-member="{html.escape(member_id)}" style="font-family: sans-serif">']
    parts.append(f"<h3>党员积分卡 · {html.escape(r.branch_name)} · {html.escape(p.label)}</h3>")
    parts.append(
        f"<p><b>{html.escape(member_id)} {html.escape(str(member['name']))}</b> · "
        f"{html.escape(show(member.get('member_type')))}</p>"
    )
    if exempt:
        parts.append(_exempt_html(r, member, summ))
        parts.append(_veto_html(r, member_id, summ))
        parts.append("</div>")
        return "".join(parts)

    total = summ.get(key)
    headline = []
    if hidden:
        headline.append(f"{label(key)}: <b>不显示 (一票否决)</b>")
        if "months" in summ.index:
            headline.append(f"{MONTHS_WORDS[sch.cadence]}: <b>{_fmt(summ.get('months'))}</b>")
    else:
        headline.append(f'{label(key)}: <b class="card-total">{_fmt(total)}</b>')
    if p.kind == "year":
        if sch.has_stars:
            stars = "不评 (一票否决)" if vetoed else f"{_fmt(summ.get('stars'))}星"
            headline.append(f"星级: <b>{stars}</b>")
        if sch.has_grades or not _missing(summ.get("grade")):
            headline.append(f"等级: <b>{_fmt(summ.get('grade'))}</b>")
        if not _missing(summ.get("tier")):
            headline.append(f"档次: <b>{_fmt(summ.get('tier'))}</b>")
        rank = summ.get("rank")
        if vetoed:
            headline.append("支部排名: <b>不排名 (一票否决)</b>")
        elif _missing(rank):
            headline.append("支部排名: <b>不排名</b>")
        else:
            headline.append(f"支部排名: <b>{_fmt(rank)}</b> / {int(r.annual['rank'].notna().sum())}")
        value = _number(total)
        if sch.has_stars and not vetoed and value is not None:
            higher = [b for b in sch.bands if b.stars is not None and b.min > value]
            if higher:
                nxt = min(higher, key=lambda b: b.min)
                headline.append(f'<span class="star-gap">距{nxt.stars}星还差 <b>{nxt.min - value:.2f}</b> 分</span>')
    elif p.kind == "quarter":
        qr = summ.get("quarter_rank")
        headline.append(f"季度排名: <b>{'不排名 (一票否决)' if vetoed and _missing(qr) else _fmt(qr)}</b>")
        if not _missing(summ.get("tier")):
            headline.append(f"档次: <b>{_fmt(summ.get('tier'))}</b>")
        star = _quarter_star_text(r, member_id, summ)
        if star:
            headline.append(star)
    elif p.kind == "month":
        mr = summ.get("month_rank")
        ranked = int(r.summary()["month_rank"].notna().sum())
        headline.append(
            f"月度排名: <b>{'不排名 (一票否决)' if vetoed and _missing(mr) else _fmt(mr)}</b>"
            + (f" / {ranked}" if not _missing(mr) else "")
        )
    parts.append("<p>" + " · ".join(headline) + "</p>")
    parts_of = ("span_deduction", "span_bonus", "base_points", "bonus", "deduction", "appraisal_added")
    made = [c for c in parts_of if c in summ.index and not _missing(summ.get(c))]
    if made and not hidden and (p.kind != "year" or "base_points" in summ.index or "appraisal_added" in summ.index):
        own = words(sch, p.kind) | {"span_deduction": "本季度扣分小计", "span_bonus": "本季度加分"}
        drawn = "base_points" in made and "deduction" in made and sch.base is not None  # the base less deductions
        if drawn:
            base = own.get("base_points") or LABELS["base_points"]
            own["base_points"] = f"{base} ({sch.base:g} {float(summ['deduction']):+.2f}, 不低于 0)"
        text = " · ".join(
            f"{html.escape(own.get(c) or LABELS.get(c, c))} {_fmt(summ.get(c))}"
            for c in made
            if not (drawn and c == "deduction")
        )
        parts.append(f'<p class="card-parts">构成: {text}</p>')
    parts.append(_veto_html(r, member_id, summ))
    if hidden:  # "no score means none at all": only the months counted, the grade and the veto
        parts.append("</div>")
        return "".join(parts)

    sc = r.item_scores[r.item_scores["member_id"] == member_id].set_index("month")
    if sch.cadence == "none":
        parts += _register_html(r, member_id)
    elif sch.cadence == "year":
        parts += _year_items_html(r, member_id)
    else:
        parts += _grid_html(s, member_id)

    # appraisal averages (never a ballot) and what cost the member most
    items = sch.items
    app = r.appraisal
    if len(app.columns) > 1 and member_id in set(app["member_id"]):
        row = _member_row(app, member_id)
        if sch.appraisal.mode == "per_item":
            cells = ", ".join(f"{html.escape(it.name)} {_fmt(row[f'{it.code}_average'])}" for it in items)
            parts.append(f"<p>民主测评平均 ({int(row[f'{items[0].code}_raters'])} 人, 不显示单张选票): {cells}</p>")
        elif "score_average" in row:
            parts.append(f"<p>民主评议平均 ({int(row['score_raters'])} 人): {_fmt(row['score_average'])}</p>")
    in_period = sc[(sc.index >= p.first_month) & (sc.index <= p.last_month)]
    if len(in_period):
        gaps = sorted(((it.max - float(in_period[it.code].mean()), it.name) for it in items), reverse=True)
        lost = "、".join(f"{html.escape(n)} {g:.2f}" for g, n in gaps[:3] if g > 0.005)
        each = {"month": "月平均", "quarter": "季度平均"}.get(sch.cadence, "得分")
        if lost:
            parts.append(f"<p>失分最多的项目 ({each}与满分之差, 病根在此): {lost}</p>")

    # adjustments with their evidence
    adj = r.adjustments[r.adjustments["member_id"] == member_id]
    if len(adj):
        parts.append("<p>加减分:</p><ul>")
        evidence = (
            s.book.adjustments.set_index("row")["evidence"]
            if "evidence" in s.book.adjustments.columns
            else pd.Series(dtype=object)
        )
        for a in adj.itertuples(index=False):
            ev = evidence.get(a.row, "")
            status = f"计入 {a.applied_points:+g}" if a.status == "applied" else "不计入"
            rule_name = cast(str, a.rule_name)  # text; pandas-stubs type the fields as any scalar
            parts.append(
                f"<li>{html.escape(str(a.date))} {html.escape(rule_name)} ({a.points_used:+g}) — {status}; "
                f"依据: {_fmt(ev) or '无'}; {html.escape(str(a.reason))}</li>"
            )
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def _num(v: Any) -> str:
    """A figure for a group title: two decimals, blank when missing."""
    if _missing(v):
        return ""
    try:
        return f"{float(v):.2f}"
    except (TypeError, ValueError):
        return str(v)


def _pct(w: float) -> str:
    return f"{w * 100:g}%"


def _adjustment_rule(sch: Scheme) -> str:
    a = sch.adjustments
    needs = [k for k, on in (("加分", a.bonus_evidence_required), ("减分", a.deduction_evidence_required)) if on]
    return COMBINE_WORDS[a.combine] + (f"; {'、'.join(needs)}须有依据, 无依据不计入" if needs else "")


def _veto_rule(sch: Scheme) -> str:
    return veto_text(sch)


def _month_rule(sch: Scheme, kind: str) -> str:
    """How a month's total enters the period's figure."""
    if kind == "year":
        return f"月度基础分 = Σ 各项月评分; 年终总积分 = 月平均基础分 × {_pct(sch.year.weight)}" + (
            f" + 民主评议 × {_pct(sch.appraisal.weight)}" if sch.appraisal.mode != "none" else ""
        )
    if kind == "quarter":
        return "月度总分 = Σ 各项月评分; 季度积分 = " + (
            "Σ 本季度月度总分" if sch.period("quarter").combine == "sum" else "本季度月度总分的平均"
        )
    if kind == "half":
        return "月度总分 = Σ 各项月评分; 半年积分 = Σ 半年内月度总分"
    return "月度总分 = Σ 各项月评分"


def _sub_title(month: str) -> str:
    """A sub-period as a group's title: 2025年3月, 2025年第1季度, 2025年度."""
    if "Q" in month:
        y, q = month.split("Q")
        return f"{y}年第{int(q)}季度"
    if "-" in month:
        y, m = month.split("-")
        return f"{y}年{int(m)}月"
    return f"{month}年度"


def _sub_rule(sch: Scheme, kind: str) -> str:
    """How a sub-period's total enters the period's figure (months: ``_month_rule``)."""
    if sch.cadence == "month":
        return _month_rule(sch, kind)
    events = sub_events(sch)
    first = f"{sub_word(sch)}{'得分' if events else '总分'} = Σ 各项评分" + (" + 本期加减分" if events else "")
    if kind == sch.cadence:
        return first
    return f"{first}; {year_text(sch) if kind == 'year' else sch.period_text(kind)}"


def trace_groups(s: Scored, member_id: str) -> tuple[pd.DataFrame, list[tuple[str, pd.DataFrame]]]:
    """The trace split for drill-down: the head rows (total, stars, grade, rank, base, bonus,
    deduction), then one group per item (a year scored item by item) or per month, then the base
    and appraisal, the adjustments and the vetoes; every group's title says the rule that applied."""
    t = trace(s.result, member_id)
    sch = s.result.scheme.scheme
    kind = s.result.period.kind
    in_head = (t["level"] <= 1) & (t["month"] == "") & ~t["step"].str.startswith("一票否决")
    head = t[in_head]  # a month's total (a shorter period) and a veto belong to their groups
    rest = t[~in_head]
    groups: list[tuple[str, pd.DataFrame]] = []
    if kind == "year" and sch.year.by == "per_item":
        names = {it.code: it.name for it in sch.items}
        rule = f"月度平均 × {_pct(sch.year.weight)}" + (
            f" + 民主测评平均 × {_pct(sch.appraisal.weight)}" if sch.appraisal.mode == "per_item" else ""
        )
        by_item = rest[rest["item"] != ""]
        for code, g in by_item.groupby("item", sort=False):
            item = str(code)  # the item column holds codes (text)
            groups.append((f"{names.get(item, item)}: {_num(g.iloc[0]['value'])} = {rule}", g))
        other = rest[rest["item"] == ""]
    else:  # one group per sub-period: its total and every row under it (cells, its own events)
        rule = _sub_rule(sch, kind)
        members: list[list[int]] = []
        outside: list[int] = []
        level = 0
        for pos, (lvl, month, item) in enumerate(zip(rest["level"], rest["month"], rest["item"], strict=True)):
            if members and lvl > level:
                members[-1].append(pos)
            elif month != "" and item == "":
                members.append([pos])
                level = int(lvl)
            else:
                outside.append(pos)
        for rows in members:
            g = rest.iloc[rows]
            title = _sub_title(str(g.iloc[0]["month"]))
            groups.append((f"{title}: {_num(g.iloc[0]['value'])} — {rule}", g))
        other = rest.iloc[outside]
    adjustments = other["step"].str.startswith(("加分", "减分"))
    vetoes = other["step"].str.startswith("一票否决")
    base = other[~adjustments & ~vetoes]
    if len(base) and sch.cadence == "month":
        rule = f"月平均基础分 × {_pct(sch.year.weight)}" + (
            f" + 民主评议 × {_pct(sch.appraisal.weight)}" if sch.appraisal.mode != "none" else ""
        )
        groups.append((f"年终总积分的构成: {rule}", base))
    elif len(base):
        groups.append((f"年度积分的构成: {year_text(sch)}", base))
    if adjustments.any():
        groups.append((f"加减分: {_adjustment_rule(sch)}", other[adjustments]))
    if vetoes.any():
        groups.append((f"一票否决: {_veto_rule(sch)}", other[vetoes]))
    return head, groups


# -- charts -------------------------------------------------------------------------------------


@dataclass
class ChartSet:
    """The chart tab: the figures, and what is missing from them and why (in Chinese)."""

    figures: list[Figure]
    notes: list[str]


def _bins(values: pd.Series) -> np.ndarray:
    """Bin edges of a round width that fit the values (about 5 to 15 bins)."""
    lo, hi = float(values.min()), float(values.max())
    width = next((w for w in (0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 25.0, 50.0) if (hi - lo) / w <= 15), 100.0)
    start = math.floor(lo / width) * width
    stop = max(math.ceil(hi / width) * width, start + width)
    return np.arange(start, stop + width / 2, width)


def distribution_figure(r: Result, member_id: str | None = None, title: str = "") -> Figure | None:
    """The branch's distribution of the period's figure, with the bands of this kind of period (the
    year's stars or grades, a quarter's tiers where the scheme bands quarters) and, given a member,
    his own figure; None when no member has a figure. Used by the explorer and the run notebook."""
    from matplotlib.ticker import MaxNLocator

    _cjk()
    p = r.period
    summ = r.summary()
    col = SCORE_COLUMN[p.kind]
    values = pd.to_numeric(summ[col], errors="coerce").dropna()
    if not len(values):
        return None
    fig, ax = _figure()
    edges = _bins(values)
    counts, _, _ = ax.hist(values, bins=edges, color="#c0392b", alpha=0.8, edgecolor="white", label="人数")
    width = float(edges[1] - edges[0])
    left, right = float(edges[0]) - width, float(edges[-1]) + width
    ax.set_xlim(left, right)
    ax.set_ylim(0, int(max(counts)) + 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    inside = [b for b in r.scheme.scheme.bands_for(p.kind) or [] if left < b.min < right]
    for i, band in enumerate(inside):
        ax.axvline(band.min, color="#555", linestyle=":", linewidth=1, label="分档线 (下限)" if i == 0 else None)
    if inside:  # the bands named above the plot, where no bar or line can cover them
        bands = ax.secondary_xaxis("top")
        bands.set_xticks([b.min for b in inside], [band_name(b) for b in inside])
        bands.tick_params(labelsize=8, length=3)
    mv = _number(summ.set_index("member_id")[col].get(member_id)) if member_id is not None else None
    if mv is not None:
        ax.axvline(mv, color="#1f4e79", linewidth=2, label=f"本人 {mv:.2f}")
    ax.set_xlabel(LABELS.get(col, col))
    ax.set_ylabel("人数")
    ax.set_title(title or f"支部{LABELS.get(col, col)}分布 · {p.label} (共 {len(values)} 人)")
    _legend_outside(ax)
    return fig


# a sub-period of the cadence: its word, its x-axis tick, its figure's name
_SUB: dict[str, tuple[str, str, str]] = {
    "month": ("月度", "{n}月", "月度总分"),
    "quarter": ("季度", "第{n}季度", "季度得分"),
    "year": ("年度", "{n}年", "年度得分"),
}


def _trend_figure(r: Result, member_id: str | None) -> Figure | str:
    """The member's figure for each sub-period of the period against the branch average: months
    (1月..12月), quarters (第1季度..) of a quarterly scheme, and for a scheme without item scores
    the running figure at each quarter's end (基础分 + 已得加分, as the card has it). A string: why
    there is no trend (fewer than two sub-periods, or none at all)."""
    sch = r.scheme.scheme
    p = r.period
    if sch.cadence == "none":
        q = r.quarters[r.quarters["quarter"] <= p.last_month // 3]  # the running figures, from January on
        t = pd.DataFrame({"member_id": q["member_id"], "x": q["quarter"], "y": q["score"]})
        tick, name = "第{n}季度", "截至季末积分"
    else:
        _, tick, name = _SUB[sch.cadence]
        t = r.monthly_totals
        t = t[t["month"].between(p.first_month, p.last_month)]
        step = max(1, sch.sub_months)
        t = pd.DataFrame({"member_id": t["member_id"], "x": t["month"] // step, "y": t["figure"]})
    t = t.dropna(subset=["y"])
    xs = sorted({int(v) for v in t["x"]})
    if not xs:
        what = "季末积分" if sch.cadence == "none" else f"{_SUB[sch.cadence][0]}评分"
        return f"{p.label}没有{what}, 所以没有走势图。"
    if len(xs) < 2:
        if sch.cadence == "year":
            return "本方案每年评分一次, 没有走势图 (见分布图和各项得分图)。"
        unit = "月" if sch.cadence == "month" else "季度"
        return f"{p.label}只有一个{unit}的{name}, 所以没有走势图 (见分布图)。"
    fig, ax = _figure()
    avg = t.groupby("x")["y"].mean()
    ax.plot(avg.index, avg.to_numpy(), color="#888", linestyle="--", marker=".", label="支部平均")
    shown = [float(v) for v in avg]
    mine = t[t["member_id"] == member_id].sort_values("x") if member_id is not None else t.iloc[0:0]
    if len(mine):
        ax.plot(mine["x"], mine["y"], marker="o", color="#c0392b", label=f"本人 ({member_id})")
        shown += [float(v) for v in mine["y"]]
    ax.set_xticks(xs, [tick.format(n=n) for n in xs])
    ax.set_xlim(xs[0] - 0.5, xs[-1] + 0.5)
    ax.set_ylim(*_padded(shown, 1.0))
    ax.set_ylabel(name)
    ax.set_title(f"{name}走势 · {p.label}")
    ax.grid(axis="y", alpha=0.3)
    _legend_outside(ax)
    return fig


def chart_figures(s: Scored, member_id: str) -> ChartSet:
    """The member's monthly trend (the period's months), the branch's distribution of the
    period's figure with the star bands, and the member's item profile against the branch, as
    matplotlib figures; ``notes`` say what is missing and why."""
    _cjk()
    r = s.result
    sch = r.scheme.scheme
    p = r.period
    member = _member_row(r.members, member_id)
    exempt = bool(member["exempt"])
    hidden = member_id in _no_score_veto(s)
    figures: list[Figure] = []
    notes: list[str] = []
    if exempt:
        notes.append(f"{member_id} 不列入积分, 没有月度评分和积分: 图中只有支部的数字。")
    elif hidden:
        notes.append(f"{member_id} 一票否决, 不显示积分 (不体现积分): 图中没有本人的数字。")
    elif len(vetoes := _member_vetoes(r, member_id)) and bool(vetoes["applies"].astype(bool).any()):
        notes.append(f"{member_id} 一票否决: 积分照常显示, 图中照画; 星级、排名等见积分卡。")
    show_member = not exempt and not hidden
    trend = _trend_figure(r, member_id if show_member else None)
    if isinstance(trend, str):
        notes.append(trend)
    else:
        figures.append(trend)

    dist = distribution_figure(r, member_id if show_member else None)
    if dist is not None:
        figures.append(dist)
    else:
        col = SCORE_COLUMN[p.kind]
        notes.append(f"{p.label}没有可比较的{LABELS.get(col, col)}, 所以没有分布图。")

    sc = r.item_scores
    codes = [c for c in sch.item_codes if c in sc.columns]
    sc = sc[sc["month"].between(p.first_month, p.last_month)]
    sub = _SUB.get(sch.cadence, ("", "", ""))[0]
    each = {"month": "月平均", "quarter": "季度平均"}.get(sch.cadence, "")  # once a year: the score itself
    if len(sc) and codes:
        fig, ax = _figure()
        x = np.arange(len(codes))
        mine_items = sc[sc["member_id"] == member_id]
        if show_member and len(mine_items):
            ax.bar(
                x - 0.2,
                mine_items[codes].mean().to_numpy(dtype=float),
                width=0.4,
                color="#c0392b",
                label=f"本人{each or '得分'}",
            )
        ax.bar(x + 0.2, sc[codes].mean().to_numpy(dtype=float), width=0.4, color="#888", label=f"支部{each or '平均'}")
        names = {it.code: it.name for it in sch.items}
        many = len(codes) > 10  # long names of many items would overlap: codes, named in the title
        ax.set_xticks(
            x,
            [c if many else names[c] for c in codes],
            rotation=0 if many else 30,
            ha="center" if many else "right",
            fontsize=8,
        )
        ax.set_xlim(-0.6, len(codes) - 0.4)
        ax.set_ylim(0, max(it.max for it in sch.items if it.code in codes) * 1.05)
        ax.set_ylabel(f"{each or '得分'}")
        ax.set_title(f"各项得分与支部平均 · {p.label}" + (" (项目代码见积分卡)" if many else ""))
        _legend_outside(ax)
        figures.append(fig)
    elif sch.cadence == "none":
        notes.append("本方案不评项目分 (只有加减分和民主评议), 所以没有各项得分图。")
    else:
        notes.append(f"{p.label}没有各项{sub}评分, 所以没有各项得分图。")
    return ChartSet(figures, notes)


def charts(s: Scored, member_id: str) -> list[bytes]:
    """The figures of ``chart_figures`` as PNG images."""
    return [_png(fig) for fig in chart_figures(s, member_id).figures]


# -- what-if ------------------------------------------------------------------------------------


def weighted_appraisal(sch: Scheme) -> bool:
    """Whether the year weighs its item part against the appraisal (what the what-if's weight
    changes); a scheme without appraisal, or with one added as it is, has no such weight."""
    return sch.appraisal.mode != "none" and sch.appraisal.combine == "weighted" and sch.cadence != "none"


def what_if_notes(s: Scored) -> list[str]:
    """Why a parameter of the what-if cannot be changed for this scheme and period."""
    sch = s.scheme.scheme
    p = s.result.period
    notes = []
    if p.kind != "year":
        notes.append(f"{p.label}不是年度: 权重和年度之星比例只影响年度结果, 请选年度期间再试。")
    elif not weighted_appraisal(sch):
        why = {
            "none": "没有民主测评",
            "single": "民主评议分直接加入年度积分 (不加权)",
            "per_item": "民主测评直接加入年度积分 (不加权)",
        }[sch.appraisal.mode]
        notes.append(f"本方案{'不评项目分' if sch.cadence == 'none' else why}, 没有可调的权重。")
    if not sch.bands_for(p.kind):
        notes.append(f"本方案对{p.label.removeprefix(str(p.year) + '年')}不分档, 没有可调的分档下限。")
    if p.kind == "year" and sch.annual_star is None:
        notes.append("本方案不评年度之星。")
    return notes


WEIGHT_WORDS: dict[str, str] = {"month": "月度权重", "quarter": "季度积分权重", "year": "项目分权重", "none": "权重"}


def what_if(
    s: Scored,
    monthly_weight: float | None = None,
    band_min: dict[str, float] | None = None,
    annual_star_share: float | None = None,
) -> pd.DataFrame:
    """Re-score with changed scheme parameters (nothing is written) and list the members whose
    stars, grade, tier or annual star change. ``monthly_weight``: the weight of the item part of
    the year (the appraisal takes the rest), only where the appraisal is weighted; ``band_min``
    maps a band of the period's kind (``"N星"``, a grade or a tier) to a new minimum: the year's
    bands, or a quarter's where the scheme bands quarters."""
    sch = s.scheme.scheme
    kind = s.result.period.kind
    update: dict[str, Any] = {}
    if monthly_weight is not None and weighted_appraisal(sch):
        update["periods"] = {**sch.periods, "year": sch.year.model_copy(update={"weight": monthly_weight})}
        update["appraisal"] = sch.appraisal.model_copy(update={"weight": round(1.0 - monthly_weight, 10)})
    bands = sch.bands_for(kind)
    if band_min and bands:
        moved = [b.model_copy(update={"min": band_min.get(band_name(b), b.min)}) for b in bands]
        if kind == "year":
            update["bands"] = moved
        else:
            update["period_bands"] = {**sch.period_bands, kind: moved}
    if annual_star_share is not None and sch.annual_star is not None:
        update["annual_star"] = sch.annual_star.model_copy(update={"share": annual_star_share})
    changed = type(sch).model_validate(sch.model_copy(update=update).model_dump())  # validated like a file
    alt = LoadedScheme(scheme=changed, path=s.scheme.path, sha256="what-if")
    new = score(s.book, alt, s.result.period).summary().set_index("member_id")
    old = s.result.summary().set_index("member_id")
    figure = SCORE_COLUMN[kind]
    cols = [c for c in (figure, "stars", "grade", "tier", "annual_star", "rank") if c in old.columns]
    rows = []
    for mid in old.index:
        diffs = {c: (old.at[mid, c], new.at[mid, c]) for c in cols if show(old.at[mid, c]) != show(new.at[mid, c])}
        if any(c in diffs for c in ("stars", "grade", "tier", "annual_star")):
            rows.append(
                {
                    "党员编号": mid,
                    "姓名": old.at[mid, "name"],
                    **{
                        k: v
                        for c, (a, b) in diffs.items()
                        for k, v in ((f"{label(c)} 现在", show(a)), (f"{label(c)} 假设", show(b)))
                    },
                }
            )
    return pd.DataFrame(rows).fillna("")


# -- the widget ---------------------------------------------------------------------------------


# the tabs' titles: a branch's members, or a unit's branches (SPEC 3.9)
# the last, 历年 (SPEC 8): every member's figures across the runs folder's sealed runs (history_view)
MEMBER_TABS = ["支部总表", "积分卡", "追溯", "图表", "假设分析 (what-if)", "历年"]
UNIT_TABS = ["联评联考排名", "支部卡", "追溯", "走势", "假设分析 (what-if)", "历年"]


def history_runs(inputs: str | Path, runs: str | Path = "") -> Path | None:
    """The runs folder the 历年 tab reads: ``runs`` when given; a run folder's own runs folder
    (``runs/PERIOD/BRANCH/vNNN``); for the demo (no ``inputs``) the repository's ``runs``, where
    ``make demo`` writes; else None (a workbook says nothing of where its runs are)."""
    if str(runs):
        return Path(runs)
    if str(inputs) and (Path(inputs) / "manifest.json").is_file():
        return Path(inputs).resolve().parents[2]
    if not str(inputs):
        from ..runs.codeversion import REPO_ROOT

        return REPO_ROOT / "runs" if (REPO_ROOT / "runs").is_dir() else None
    return None


class Explorer:
    """``Explorer(inputs).widget`` : pick a branch, a period and a member; see the card and more.

    ``inputs``: a workbook, a folder of workbooks or a run folder; empty: the demo county (held in
    memory: nothing is left in the temporary folder). A unit workbook (支部联评联考, SPEC 3.9) is
    shown by branch: the ranking by month, a branch's card, its trend against the unit, its trace.
    ``period``: the period shown first; empty: a run folder's own period, else the workbook's year.
    The periods to choose from are those of the chosen workbook's year. ``runs``: the runs folder
    whose sealed runs the 历年 tab shows (see :func:`history_runs`)."""

    def __init__(self, inputs: str | Path = "", period: str = "", runs: str | Path = "") -> None:
        import ipywidgets as w

        self.sources = demo_sources() if not inputs else sources(inputs)
        if not self.sources:
            raise ValueError(f"{Path(inputs).name} 中没有输入工作簿 (no *.xlsx input workbook here)")
        self._quiet = False
        self.cache: dict[tuple[int, str], Scored] = {}
        self.branch = w.Dropdown(
            description="支部",
            options=[(src.label, i) for i, src in enumerate(self.sources)],
            value=0,
            layout=w.Layout(width="360px"),
        )
        self.period = w.Dropdown(description="期间", layout=w.Layout(width="220px"))
        self._periods(period)
        self.notice = w.HTML()
        self.notice.add_class("notice-area")
        self.member = w.Dropdown(description="党员", layout=w.Layout(width="320px"))
        self.member.add_class("member-select")
        self.branch.add_class("branch-select")
        self.sort = w.Dropdown(description="排序", layout=w.Layout(width="260px"))
        self.ascending = w.ToggleButton(value=False, description="升序", layout=w.Layout(width="80px"))
        self.table = w.HTML()
        self.table.add_class("table-area")
        self.card = w.HTML()
        self.card.add_class("card-area")
        self.trace_box = w.VBox()
        self.trace_box.add_class("trace-area")
        self.chart_box = w.VBox()
        self.chart_box.add_class("chart-area")
        self.weight = w.FloatSlider(
            description="月度权重", min=0.0, max=1.0, step=0.05, style={"description_width": "initial"}
        )
        self.band = w.Dropdown(description="分档")
        self.band.add_class("band-select")
        self.band_min = w.FloatText(description="下限")
        self.band_min.add_class("band-min")
        self.share = w.FloatText(description="年度之星比例", style={"description_width": "initial"})
        self.run_what_if = w.Button(
            description="计算 (不写任何文件)", button_style="warning", layout=w.Layout(width="200px")
        )
        self.what_if_out = w.HTML()
        self.what_if_out.add_class("what-if-area")
        self.what_if_note = w.HTML()  # what cannot be changed for this scheme and period, and why
        self.what_if_note.add_class("what-if-note")
        self.sort_row = w.HBox([self.sort, self.ascending])
        self.what_if_controls = [self.weight, self.band, self.band_min, self.share, self.run_what_if]
        self.unit_mode: bool | None = None  # showing a unit's branches; None: not yet shown
        self.tabs = tabs = w.Tab(
            children=[
                w.VBox([self.sort_row, self.table]),
                self.card,
                self.trace_box,
                self.chart_box,
                w.VBox(
                    [
                        w.HBox([self.weight]),
                        w.HBox([self.band, self.band_min]),
                        self.share,
                        self.run_what_if,
                        self.what_if_note,
                        self.what_if_out,
                    ]
                ),
                self._history_tab(inputs, runs),
            ]
        )
        for i, title in enumerate(MEMBER_TABS):
            tabs.set_title(i, title)
        self.widget = w.VBox([w.HBox([self.branch, self.period, self.member]), self.notice, tabs])
        self.branch.observe(lambda _: self._branch(), names="value")
        self.period.observe(lambda _: None if self._quiet else self._load(), names="value")
        self.member.observe(lambda _: self._member(), names="value")
        self.sort.observe(lambda _: self._table(), names="value")
        self.ascending.observe(lambda _: self._table(), names="value")
        self.band.observe(lambda _: self._band(), names="value")
        self.run_what_if.on_click(lambda _: self._what_if())
        self._load()

    def _history_tab(self, inputs: str | Path, runs: str | Path) -> Any:
        """The 历年 tab, its branch first that of the first workbook (a run folder's branch)."""
        from .history_view import HistoryTab

        src = self.sources[0]
        first = str(src.label).split()[0] if src.run is not None else Path(src.workbook).stem.split("_")[0]
        self.history = HistoryTab(history_runs(inputs, runs), first)
        return self.history.widget

    @property
    def source(self) -> Source:
        return self.sources[int(self.branch.value)]

    @property
    def scored(self) -> Scored:
        key = (int(self.branch.value), str(self.period.value))
        if key not in self.cache:
            self.cache[key] = score_source(self.sources[key[0]], key[1])
        return self.cache[key]

    def _periods(self, wanted: str = "") -> None:
        """The chosen workbook's periods; keep ``wanted`` (or the current one) if it is one of them,
        else a run's own period, else the year."""
        src = self.source
        with workbook_file(src) as path:
            stated = workbook_year(path)
        year = (
            stated
            or (parse_period(src.period).year if src.period else None)
            or (parse_period(wanted).year if wanted else dt.date.today().year)
        )
        choices = periods_of(year)
        keep = next((c for c in (wanted.strip(), self.period.value, src.period) if c and c in choices), str(year))
        self._quiet = True
        try:
            self.period.options = choices
            self.period.value = keep
        finally:
            self._quiet = False

    def _branch(self) -> None:
        self._periods()
        self._load()

    def _empty(self, why: str) -> None:
        """Every tab says why it is empty (the notice above says what went wrong)."""
        import ipywidgets as w

        text = f"<p class='empty-tab' style='color:#555'>{html.escape(why)}</p>"
        self.table.value = self.card.value = self.what_if_out.value = text
        self.what_if_note.value = ""
        self.trace_box.children = (w.HTML(text),)
        self.chart_box.children = (w.HTML(text),)

    def _load(self) -> None:
        try:
            s = self.scored
        except (InputError, ValueError) as exc:
            self.notice.value = (
                "<div class='run-check run-check-error' style='color:#c00000'>"
                f"<b>{html.escape(self.source.label)} {html.escape(str(self.period.value))} 不能计分:</b>"
                f"<pre>{html.escape(str(exc))}</pre></div>"
            )
            self._quiet = True
            try:
                self.member.options = []
            finally:
                self._quiet = False
            self._empty("输入工作簿不能计分 (见上面的说明), 所以这里没有内容。")
            return
        self.notice.value = run_notice_html(self.source, s)
        self._mode(s.is_unit)
        if s.is_unit:
            self._load_unit(s)
            return
        summ = s.result.summary()
        key = SCORE_COLUMN[s.result.period.kind]
        ranked = summ.sort_values(key, ascending=False, na_position="last")
        previous = self.member.value
        options = [(f"{m} {n}", m) for m, n in zip(ranked["member_id"], ranked["name"], strict=True)]
        ids = [m for _, m in options]
        self._quiet = True  # one render after the member list changes, not one per trait event
        try:
            self.member.options = options
            self.member.value = previous if previous in ids else (ids[0] if ids else None)
        finally:
            self._quiet = False
        table = branch_table(s)
        self.sort.options = list(table.columns)
        self.sort.value = label(key) if label(key) in table.columns else table.columns[0]
        sch = s.scheme.scheme
        year = s.result.period.kind == "year"
        self.weight.value = sch.year.weight
        self.weight.description = WEIGHT_WORDS[sch.cadence]
        self.weight.disabled = not (year and weighted_appraisal(sch))
        bands = [band_name(b) for b in sch.bands_for(s.result.period.kind) or []]
        kept = self.band.value
        self.band.options = bands
        self.band.value = kept if kept in bands else (bands[0] if bands else None)  # options alone leave it empty
        self.band.disabled = self.band_min.disabled = not bands
        self.share.value = sch.annual_star.share if sch.annual_star is not None else 0.0
        self.share.disabled = not year or sch.annual_star is None
        self._band()
        self._table()
        if ids:
            self._member()
        else:
            self._empty(f"{s.result.branch_name} {s.result.period.label} 没有党员, 所以这里没有内容。")
        self.what_if_out.value = (
            "<p style='color:#555'>上面是积分方案现在的参数。改动权重、某一档的下限或年度之星比例后点「计算」, "
            "列出星级、等级、档次或年度之星会变的党员 (不写任何文件)。</p>"
        )
        self.what_if_note.value = "".join(f"<p style='color:#555'>{html.escape(n)}</p>" for n in what_if_notes(s))

    def _mode(self, unit: bool) -> None:
        """Words and controls for a branch's members or for a unit's branches."""
        if unit == self.unit_mode:
            return
        self.unit_mode = unit
        self.branch.description = "单位" if unit else "支部"
        self.member.description = "党支部" if unit else "党员"
        for i, title in enumerate(UNIT_TABS if unit else MEMBER_TABS):
            self.tabs.set_title(i, title)
        self.sort_row.layout.display = "none" if unit else None
        for control in self.what_if_controls:
            control.disabled = unit

    def _load_unit(self, s: Scored) -> None:
        """A unit's branches (SPEC 3.9): the ranking; the branches to choose, best first."""
        summ = s.result.summary().sort_values("rank", na_position="last", kind="stable")
        previous = self.member.value
        options = [(f"{b} {n}", b) for b, n in zip(summ["branch_id"], summ["branch_name"], strict=True)]
        ids = [b for _, b in options]
        self._quiet = True
        try:
            self.member.options = options
            self.member.value = previous if previous in ids else (ids[0] if ids else None)
        finally:
            self._quiet = False
        self.table.value = unit_view.ranking_html(s.result)
        self.what_if_note.value = ""
        self.what_if_out.value = (
            "<p style='color:#555'>支部联评联考按指标逐项计分, 没有权重、分档或名额可调, 所以没有假设分析。</p>"
        )
        self._member()

    def _band(self) -> None:
        s = self.scored
        bands = {band_name(b): b for b in s.scheme.scheme.bands_for(s.result.period.kind) or []}
        if self.band.value in bands:
            self.band_min.value = bands[self.band.value].min

    def _table(self) -> None:
        self.table.value = branch_table_html(self.scored, self.sort.value, bool(self.ascending.value))

    def _member(self) -> None:
        import ipywidgets as w

        mid = self.member.value
        if not mid or self._quiet:
            return
        s = self.scored
        if s.unit is not None:
            self.card.value = unit_view.branch_card_html(s.result, mid)
            head, groups = unit_view.trace_groups(s.result, s.unit, mid)
            trend = unit_view.trend_figure(s.result, mid)
            made = ChartSet([], [trend]) if isinstance(trend, str) else ChartSet([trend], [])
        else:
            self.card.value = card_html(s, mid)
            head, groups = trace_groups(s, mid)
            made = chart_figures(s, mid)
        acc = w.Accordion(children=[w.HTML(trace_table_html(g)) for _, g in groups])
        for i, (title, _) in enumerate(groups):
            acc.set_title(i, title)
        acc.selected_index = None
        hint = w.HTML(
            "<p style='color:#555'>上表是本期间的结果; 点开下面各组, 一层层追到输入工作簿的单元格 (来源单元格列)。</p>"
            if groups
            else ""
        )
        self.trace_box.children = [w.HTML(trace_table_html(head)), hint, acc]
        notes = [w.HTML(f"<p class='chart-note' style='color:#555'>{html.escape(n)}</p>") for n in made.notes]
        if not made.figures:
            notes.insert(0, w.HTML("<p class='chart-note'><b>本页没有图表:</b></p>"))
        width = str(int(CHART_SIZE[0] * CHART_DPI))  # as drawn, not stretched to the page
        images = [w.Image(value=_png(f), format="png", width=width) for f in made.figures]
        self.chart_box.children = [*notes, *images]

    def _what_if(self) -> None:
        from pydantic import ValidationError

        s = self.scored
        try:
            changes = what_if(
                s,
                monthly_weight=self.weight.value if not self.weight.disabled else None,
                band_min={self.band.value: self.band_min.value} if self.band.value else None,
                annual_star_share=self.share.value if not self.share.disabled else None,
            )
        except (ValidationError, ValueError) as exc:
            why = "; ".join(e["msg"] for e in exc.errors()) if isinstance(exc, ValidationError) else str(exc)
            self.what_if_out.value = (
                f"<p style='color:#c00000'>参数不合规, 未计算 (not a valid scheme): {html.escape(why)}</p>"
            )
            return
        self.what_if_out.value = (
            "<p>星级、等级、档次或年度之星不变。</p>"
            if changes.empty
            else f"<p>{len(changes)} 人会变化:</p>" + _html_table(changes)
        )


# -- serving the page (make explore) ------------------------------------------------------------

VOILA_TEMPLATE = "scoring-offline"

# Voila's own "lab" template links Font Awesome's style sheets (and through them its fonts) from a
# CDN, and nbconvert's lab template can import mermaid from one. This template is "lab" without
# them: the page works offline and nothing is fetched from the network. The explorer draws no
# icon and no diagram, so nothing is lost.
_TEMPLATE_FILES: dict[str, str] = {
    "conf.json": '{\n  "base_template": "lab"\n}\n',
    "index.html.j2": """{%- extends 'lab/index.html.j2' -%}
{#- scoring: Voila's lab template without anything loaded from the network -#}
{%- block notebook_css -%}
{%- for line in super().split('\\n') if 'https://' not in line and 'http://' not in line %}
{{ line }}
{%- endfor %}
{%- endblock notebook_css -%}
{%- block html_head_js_mermaidjs -%}
{%- endblock html_head_js_mermaidjs -%}
""",
}


def write_voila_template(data_dir: Path) -> Path:
    """Write the explorer's page template into the Jupyter data folder ``data_dir`` (to be put on
    ``JUPYTER_PATH``); return the template's folder."""
    folder = data_dir / "voila" / "templates" / VOILA_TEMPLATE
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in _TEMPLATE_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def voila_command(
    notebook: str | Path, port: int, data_dir: Path, ip: str = "127.0.0.1"
) -> tuple[list[str], dict[str, str]]:
    """The command and environment that serve ``notebook`` with the offline template written by
    ``write_voila_template(data_dir)``, listening on ``ip`` (127.0.0.1 unless the operator says
    otherwise, SPEC 10); the template cannot be switched back by the page's address."""
    import os
    import sys

    argv = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={ip}",
        f"--template={VOILA_TEMPLATE}",
        "--VoilaConfiguration.allow_template_override=NO",
    ]
    path = [str(data_dir), *([os.environ["JUPYTER_PATH"]] if os.environ.get("JUPYTER_PATH") else [])]
    return argv, {**os.environ, "JUPYTER_PATH": os.pathsep.join(path)}


def serve(notebook: str | Path = "notebooks/explore.ipynb", port: int = 8866, ip: str = "127.0.0.1") -> int:
    """Serve the explorer with Voila until interrupted; the template's temporary folder is removed
    when the server stops. Returns Voila's exit status."""
    import subprocess

    with tempfile.TemporaryDirectory(prefix="scoring-voila-") as tmp:
        write_voila_template(Path(tmp))
        argv, env = voila_command(notebook, port, Path(tmp), ip)
        server = subprocess.Popen(argv, env=env)
        try:
            return server.wait()
        finally:  # interrupted or stopped: stop Voila too before the folder goes
            if server.poll() is None:
                server.terminate()
                server.wait()


def main(argv: list[str] | None = None) -> int:
    """``python -m scoring.views.explorer [NOTEBOOK] [--port 8866] [--ip 127.0.0.1]``: the explorer as a web page."""
    return serve_main(argv, "scoring.views.explorer", "积分查看 (explorer) 网页", "notebooks/explore.ipynb", 8866)


def serve_main(argv: list[str] | None, module: str, description: str, notebook: str, port: int) -> int:
    """The command line of a page served by Voila (the explorer, the workbench): ``[NOTEBOOK]
    [--port] [--ip]``, on 127.0.0.1 unless the operator says otherwise (SPEC 10)."""
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("notebook", nargs="?", default=notebook)
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--ip", default="127.0.0.1")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stopped: still remove the template folder
    try:
        return serve(args.notebook, args.port, args.ip)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
