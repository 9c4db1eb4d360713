"""Print-ready sheets a branch posts or hands out: 公示, 积分卡 and 组织处置 (SPEC 3.1, 6).

``add_publicity_sheets`` adds the three sheets to an open xlsxwriter workbook; each prints on A4
portrait, one page wide, with the branch and period in the page header. Every piece of user text
(names, reasons) is written with ``write_string``, so a name such as ``=HYPERLINK(...)`` stays
literal text. The points cards show appraisal averages and rater counts only, never a ballot.
``write_publicity_pdf`` prints the 公示 sheet to ``公示.pdf`` through LibreOffice.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from ..rules.engine import NO, TIE, YES, Result, share_quota, sub_events
from ..rules.engine.cases import OVERDUE, period_end
from ..rules.engine.cases import publicity_window as publicity_window  # where it lives now (SPEC 8)
from ..rules.engine.objections import PENDING
from . import office
from .cases import open_cases_rows
from .excel2010 import Workbook as Excel2010Workbook

# Noto Sans CJK SC (fonts-noto-cjk). One glyph set serves its JP, KR, SC, TC and HK faces, and
# LibreOffice picks the regional forms by the text's Asian language, which an xlsx cannot state:
# LibreOffice's profile (``office.PROFILE``) therefore sets that language to zh-CN, or a machine with
# a Japanese locale would print Japanese forms of 直, 骨, 角 whatever the font's name. The PDF names
# the embedded font NotoSansCJKjp-... for every face (the name inside the shared CFF table).
FONT = "Noto Sans CJK SC"
PUBLICITY_SHEET = "公示"
CARDS_SHEET = "积分卡"
FOLLOW_UP_SHEET = "组织处置"
PDF_NAME = "公示.pdf"
WORKBOOK_OPTIONS: dict[str, Any] = {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": True}
ROLE_NAMES: dict[str, str] = {"secretary": "支部书记", "member": "党员"}
OBJECTION_LINE = "对评定结果有异议的, 可在公示期内向党支部反映, 党支部将及时调查核实并反馈结果。"
SIGN_LINE = "党员本人签字: ______________    党支部 (盖章): ______________    日期: ____年__月__日"
MAX_PAGE_BREAKS = 1023  # Excel's limit on manual page breaks per sheet
CARDS_PER_SHEET = MAX_PAGE_BREAKS + 1  # so every card starts a page; ~45 rows a card stays far below the row limit


class _Record(Protocol):
    """A row of ``DataFrame.itertuples()`` read by column name (pandas-stubs types its fields, and
    so ``_asdict`` itself, as any scalar)."""

    def _asdict(self) -> dict[str, Any]: ...


def _rows(df: pd.DataFrame) -> Iterator[_Record]:
    """``df.itertuples(index=False)``, each row as a :class:`_Record`."""
    return cast(Iterator[_Record], df.itertuples(index=False))


# -- publicity window -------------------------------------------------------------------------


def _window(result: Result, start: dt.date | None, holidays: Iterable[dt.date]) -> tuple[dt.date, dt.date]:
    """The scheme's publicity window; by default it starts on the run's 公示 start (the day that
    opened its follow-up cases: SPEC 8), else on the next working day after today."""
    begin = start if start is not None else result.publicity_start or dt.date.today() + dt.timedelta(days=1)
    return publicity_window(begin, result.scheme.scheme.publicity.working_days, holidays)


# -- small helpers ----------------------------------------------------------------------------


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return bool(isinstance(v, float | np.floating) and np.isnan(v))
    except TypeError:
        return False


def _cn_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _num(v: float) -> str:
    """A score as an officer writes it: 96.88, 9.5, 10."""
    return f"{float(v):.2f}".rstrip("0").rstrip(".")


def _zh(text: Any) -> str:
    """Engine reasons carry an English gloss, ``计入 (applied)``; the printed sheets drop it."""
    s = "" if _missing(text) else str(text)
    return re.sub(r"\s*\([A-Za-z][^()]*\)\s*$", "", s)


@functools.lru_cache(maxsize=1 << 16)  # labels and headings repeat on every card
def _width(text: str) -> float:
    """Printed width in column-width units: a CJK or full-width character is about 1.8."""
    return sum(1.8 if ord(ch) >= 0x2E80 else 1.0 for ch in text)


def _hf(text: str) -> str:
    """Header/footer text: ``&`` is a control character there, and Excel allows 255 characters."""
    return text.replace("&", "&&")[:200]


class _Formats:
    """The cell formats of the printed sheets, all in a CJK font LibreOffice can render."""

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        base: dict[str, Any] = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}

        def add(**kw: Any) -> Format:
            return wb.add_format(base | kw)

        self.title = add(bold=True, font_size=16, align="center")
        self.subtitle = add(font_size=11, align="center")
        self.text = add(text_wrap=True)
        self.small = add(font_size=9, text_wrap=True)
        self.right = add(align="right")
        self.section = add(bold=True, font_size=11)
        self.head = add(bold=True, align="center", text_wrap=True, border=1, bg_color="#F2DCDB")
        self.label = add(bold=True, align="center", text_wrap=True, border=1, bg_color="#F7F7F7")
        self.cell = add(align="center", text_wrap=True, border=1)
        self.cell_left = add(text_wrap=True, border=1)
        self.score = add(align="center", border=1)  # General: 9.5, 10, 293.5
        self.score2 = add(align="center", border=1, num_format="0.00")
        self.signed = add(align="center", border=1, num_format="+0.##;-0.##;0")
        self.count = add(align="center", border=1, num_format="0")
        self.stars = add(align="center", border=1, num_format='0"星"')
        self.amended = add(align="center", border=1, bold=True, font_color="#C00000")
        self.star_mark = add(align="center", text_wrap=True, border=1, bold=True, font_color="#C00000")


def _put(ws: Worksheet, row: int, col: int, value: Any, fmt: Format, num_fmt: Format | None = None) -> None:
    """Write one cell: numbers as numbers, everything else as literal text (never a formula)."""
    # the two common cases first: a card writes hundreds of cells per member
    if type(value) is str and value:
        ws.write_string(row, col, value, fmt)
    elif type(value) is float and value == value:
        ws.write_number(row, col, value, num_fmt or fmt)
    elif _missing(value) or (isinstance(value, str) and not value):
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool | np.bool_):
        ws.write_string(row, col, "是" if value else "否", fmt)
    elif isinstance(value, int | float | np.integer | np.floating):
        ws.write_number(row, col, float(value), num_fmt or fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _lines(text: str, width: float) -> int:
    """Printed lines of wrapped ``text`` in a cell ``width`` character cells wide."""
    usable = max(1.0, 0.95 * width)
    return sum(max(1, math.ceil(_width(part) / usable)) for part in text.split("\n"))


def _fit_row(
    ws: Worksheet, row: int, cells: list[tuple[int, int, Any]], line_height: float = 15.0, minimum: float = 0.0
) -> None:
    """Make ``row`` tall enough for its wrapped text: ``cells`` are (first col, last col, value).
    Row heights are set explicitly because neither Excel nor LibreOffice fits them on load."""
    widths = _WIDTHS.get(ws, [])
    n = max((_lines(str(v), sum(widths[a : b + 1]) or 10.0) for a, b, v in cells if isinstance(v, str)), default=1)
    if n > 1 or minimum:
        ws.set_row(row, max(minimum, line_height * n))


def _line(ws: Worksheet, row: int, first: int, last: int, text: str, fmt: Format, line_height: float = 16.0) -> int:
    """Text across columns ``first..last`` (merged), the row made tall enough; returns next row."""
    if last > first:
        ws.merge_range(row, first, row, last, "", fmt)
    ws.write_string(row, first, text, fmt)
    _fit_row(ws, row, [(first, last, text)], line_height, line_height)
    return row + 1


_WIDTHS: weakref.WeakKeyDictionary[Worksheet, list[float]] = weakref.WeakKeyDictionary()  # column widths per sheet


def _page_setup(ws: Worksheet, header: str, widths: list[float]) -> None:
    """A4 portrait, one page wide, centred, header with branch and period, page numbers."""
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    _WIDTHS[ws] = list(widths)
    ws.set_paper(9)
    ws.set_portrait()
    ws.set_margins(left=0.5, right=0.5, top=0.8, bottom=0.7)
    ws.set_header(f'&C&"{FONT},Regular"&10{_hf(header)}', {"margin": 0.35})
    ws.set_footer(f'&C&"{FONT},Regular"&9第 &P 页, 共 &N 页', {"margin": 0.3})
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()


def _vetoed(result: Result) -> set[str]:
    v = result.vetoes
    return set(v.loc[v["applies"].astype(bool), "member_id"]) if len(v) else set()


def _star_text(flag: Any, title: str) -> str:
    if flag == YES:
        return f"★{title}"
    if flag == TIE:
        return "并列, 待支委会研究"
    if flag == NO:
        return "否"
    return ""


# -- 公示 -------------------------------------------------------------------------------------


def _publicity_title(result: Result) -> str:
    s = result.scheme.scheme
    kind = result.period.kind
    if kind == "year":
        what = "党员积分评星定格公示" if s.has_stars else "党员积分评定公示"
    elif kind == "quarter":
        what = "党员季度积分及季度之星公示" if s.quarter_star is not None else "党员季度积分公示"
    else:
        what = "党员半年积分公示" if kind == "half" else "党员月度积分公示"
    return f"{result.branch_name} {result.period.label} {what}"


SCORE_COLUMNS = frozenset(
    {"total", "quarter_score", "half_score", "month_total", "base_points", "bonus", "deduction", "appraisal_added"}
    | {"span_bonus", "span_deduction"}
)
# a quarter's running figures and subtotals (seed 004 农村 登记表) and its tier (seed 003 亮分)
QUARTER_COLUMNS: dict[str, str] = {
    "span_deduction": "本季度扣分",
    "span_bonus": "本季度加分",
    "base_points": "已得基础分",
    "bonus": "已得加分",
    "deduction": "累计扣分",
    "tier": "档次",
}


def _publicity_columns(result: Result) -> list[tuple[str, str, float]]:
    """(summary column or remark key, Chinese header, column width) of the 公示 table."""
    s = result.scheme.scheme
    cols: list[tuple[str, str, float]] = [("member_id", "党员编号", 11), ("name", "姓名", 13)]
    kind = result.period.kind
    tier_head = "排序档次" if s.branch_tiers else "档次"
    if kind == "year":
        if s.base is not None:  # the card's columns (seed 004 农村: 基础分 + 加分 + 评议分)
            cols += [("base_points", "基础分", 8), ("bonus", "加分", 7)]
        if s.appraisal.combine == "added" and s.appraisal.mode != "none":
            cols.append(("appraisal_added", "评议分", 8))
        cols.append(("total", "年度总积分", 10))
        if s.has_stars:
            cols.append(("stars", "星级", 7))
        cols += ([("grade", "等级", 9)] if s.has_grades else []) + [("rank", "排名", 6)]
        if s.branch_tiers or s.band_tiers:
            cols.append(("tier", tier_head, 8))
        if s.annual_star is not None:
            cols.append(("annual_star", "年度之星", 12))
    elif kind == "quarter":
        extras = [k for k in QUARTER_COLUMNS if k in result.quarters]
        cols += [(k, QUARTER_COLUMNS[k], 9) for k in extras if k != "tier"]
        ytd = s.period("quarter").combine == "year_to_date"
        cols += [("quarter_score", "累计积分" if ytd else "季度积分", 10), ("quarter_rank", "季度排名", 8)]
        if "tier" in extras:
            cols.append(("tier", "档次", 8))
        if s.quarter_star is not None:
            cols.append(("quarter_star", "季度之星", 12))
    elif kind == "month":
        cols += [("month_total", "月度总分", 10), ("month_rank", "月度排名", 8)]
    else:
        cols.append(("half_score", "半年积分", 10))
    if kind in ("month", "half"):  # the period's own bands (period_bands)
        bands = s.bands_for(kind) or []
        cols += [("grade", "等级", 8)] if bands and bands[0].grade is not None else []
        cols += [("tier", "档次", 8)] if bands and bands[0].tier is not None else []
    cols.append(("remark", "备注", 26))
    return cols


VETO_WORDS = {"no_score": "不体现积分, ", "cap": "积分封顶, ", "zero": "积分计为0, ", "forced_grade": "", "none": ""}
VETO_SPAN = "一票否决, 不参与排名和评选"


def _remarks(result: Result, summary: pd.DataFrame) -> list[str]:
    """The 备注 of each 公示 row: exempt, vetoed, or scored for fewer months than the period."""
    s = result.scheme.scheme
    vetoed = _vetoed(result)
    p = result.period
    span = {"year": "本年度", "quarter": "本季度", "half": "本期", "month": "本月"}[p.kind]
    # a run counts months, or the quarters or the year of a scheme scored per quarter or per year
    unit = {"quarter": "个季度", "year": "年"}.get(s.cadence, "个月")
    ytd = p.kind != "year" and s.period(p.kind).combine == "year_to_date"
    expected = (p.last_month if ytd else len(p.months)) // max(1, s.sub_months) if s.sub_months else 0
    out = []
    for r in _rows(summary):
        rd = r._asdict()
        mid = rd["member_id"]
        months = rd.get("months", None if _missing(rd.get("month_total")) else 1)  # a month's table has no months
        if rd.get("exempt") == YES:
            out.append("不列入积分管理, 星级由党支部直接评定" if p.kind == "year" and s.has_stars else "不列入积分管理")
        elif mid in vetoed:
            out.append(f"一票否决, {VETO_WORDS[s.veto.effect]}定为{s.veto.grade}" if p.kind == "year" else VETO_SPAN)
        elif months is None or _missing(months):  # _missing(None) is True; the test narrows the type
            out.append(f"{span}不在本支部, 无积分")
        elif int(months) < expected:
            out.append(f"{span}计分 {int(months)} {unit}")
        else:
            out.append("")
        out[-1] = _joined(out[-1], _committee_remark(rd))
    return out


# -- 异议 and 党支部定星 (SPEC 8) ------------------------------------------------------------------


def _joined(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _committee_remark(rd: dict[str, Any]) -> str:
    """``星级由党支部确定 (按积分 8星)``: the 公示 publishes the committee's stars and says so, with the
    stars the score gives; the reason stays in the workbook."""
    if _missing(rd.get("star_reason")) or _missing(rd.get("stars")) or rd.get("exempt") == YES:
        return ""
    computed: Any = rd.get("computed_stars")
    return "星级由党支部确定" + ("" if _missing(computed) else f" (按积分 {int(computed)}星)")


def pending_objections(result: Result) -> list[str]:
    """``张三 (星级)``: each objection still to be answered at the run, by the member's name and what
    it is about, never its content."""
    o = result.objections
    if not len(o) or "status" not in o:
        return []
    pending = o[o["status"] == PENDING]
    return [f"{name} ({subject})" for name, subject in zip(pending["name"], pending["subject"], strict=True)]


def pending_line(result: Result) -> str:
    """The 公示's line naming the objections the branch is still looking into ("" when none)."""
    named = pending_objections(result)
    return f"尚待答复的异议 (党支部正在调查核实): {'、'.join(named)}。" if named else ""


def _publicity_sheet(
    wb: xlsxwriter.Workbook, fmt: _Formats, result: Result, window: tuple[dt.date, dt.date]
) -> Worksheet:
    s = result.scheme.scheme
    p = result.period
    summary = result.summary()
    cols = _publicity_columns(result)
    last = len(cols) - 1
    ws = wb.add_worksheet(PUBLICITY_SHEET)
    _page_setup(ws, f"{result.branch_name}  {p.label}  公示", [w for _, _, w in cols])
    row = _line(ws, 0, 0, last, _publicity_title(result), fmt.title, 30)
    first, final = window
    row = _line(
        ws,
        row,
        0,
        last,
        f"公示期: {_cn_date(first)} 至 {_cn_date(final)} (共 {s.publicity.working_days} 个工作日)",
        fmt.subtitle,
        20,
    )
    if p.kind == "year" or s.bands_for(p.kind) is not None:
        row = _line(ws, row, 0, last, f"评定标准: {_band_legend(result)}。", fmt.small, 14)
    header_row = row
    for j, (_, title, _) in enumerate(cols):
        ws.write_string(row, j, title, fmt.head)
    row += 1
    remarks = _remarks(result, summary)
    for r, remark in zip(_rows(summary), remarks, strict=True):
        rd = r._asdict()
        for j, (key, _, _) in enumerate(cols):
            v = remark if key == "remark" else rd.get(key)
            if key in ("annual_star", "quarter_star"):
                text = _star_text(v, "年度之星" if key == "annual_star" else "季度之星")
                _put(ws, row, j, text, fmt.star_mark if v in (YES, TIE) else fmt.cell)
            elif key == "stars":
                _put(ws, row, j, v, fmt.cell, fmt.stars)
            elif key in ("rank", "quarter_rank", "month_rank"):
                _put(ws, row, j, v, fmt.cell, fmt.count)
            elif key in SCORE_COLUMNS:
                _put(ws, row, j, v, fmt.cell, fmt.score2)
            else:
                _put(ws, row, j, v, fmt.cell_left if key in ("name", "remark") else fmt.cell)
        _fit_row(ws, row, [(j, j, remark if key == "remark" else rd.get(key)) for j, (key, _, _) in enumerate(cols)])
        row += 1
    ws.repeat_rows(header_row)
    row += 1
    row = _publicity_notes(ws, fmt, result, summary, row, last)
    if pending_line(result):
        row = _line(ws, row, 0, last, pending_line(result), fmt.text)
    row = _line(ws, row, 0, last, OBJECTION_LINE, fmt.text)
    row += 1
    row = _line(ws, row, 0, last, f"中共{result.branch_name} (盖章)", fmt.right)
    _line(ws, row, 0, last, _cn_date(first), fmt.right)
    return ws


def _band_legend(result: Result) -> str:
    """``95分及以上 10星 优秀; ...; 10分以下 0星 不合格`` from the bands of the run's period."""
    bands = result.scheme.scheme.bands_for(result.period.kind) or result.scheme.scheme.bands

    def stars(b: Any) -> str:
        return f" {b.stars}星" if b.stars is not None else ""

    parts = [f"{b.min:g}分及以上{stars(b)} {b.label}" for b in bands[:-1]]
    lowest = bands[-1]
    parts.append(f"{bands[-2].min:g}分以下{stars(lowest)} {lowest.label}" if len(bands) > 1 else f"{lowest.label}")
    return "; ".join(parts)


def _names(summary: pd.DataFrame, mask: pd.Series) -> str:
    return "、".join(str(n) for n in summary.loc[mask, "name"])


def _publicity_notes(ws: Worksheet, fmt: _Formats, result: Result, summary: pd.DataFrame, row: int, last: int) -> int:
    """Lines under the 公示 table: the star list with its quota, exempt and vetoed members."""
    s = result.scheme.scheme
    p = result.period
    vetoed = summary["member_id"].isin(_vetoed(result))
    if p.kind == "year" and s.annual_star is not None:
        picked = summary["annual_star"] == YES
        tied = summary["annual_star"] == TIE
        top = summary["rank"].notna() & (summary["stars"].fillna(-1) == s.annual_star.of_stars)
        quota = share_quota(s.annual_star.share, int(top.sum()))
        text = (
            f"年度之星 (不超过{s.annual_star.of_stars}星级党员总数的{s.annual_star.share:.0%}, "
            f"{s.annual_star.of_stars}星级党员 {int(top.sum())} 名, 名额 {quota} 名): "
        )
        text += _names(summary, picked) or "无"
        if tied.any():
            text += f"; 积分并列、待支委会研究确定: {_names(summary, tied)}"
        row = _line(ws, row, 0, last, text + "。", fmt.text)
    if p.kind == "quarter" and s.quarter_star is not None:
        q = result.quarters[result.quarters["quarter"] == p.last_month // 3]
        quota = int(q["quota"].max()) if len(q) else 0
        n = int(q["scored_members"].max()) if len(q) else 0
        text = f"季度之星 (不超过参评党员的{s.quarter_star.share:.0%}, 参评 {n} 名, 名额 {quota} 名"
        text += (
            f"; 不足{s.quarter_star.min_scored_members}名不评选): " if n < s.quarter_star.min_scored_members else "): "
        )
        text += _names(summary, summary["quarter_star"] == YES) or "无"
        if (summary["quarter_star"] == TIE).any():
            text += f"; 积分并列、待支委会研究确定: {_names(summary, summary['quarter_star'] == TIE)}"
        row = _line(ws, row, 0, last, text + "。", fmt.text)
    exempt = summary["exempt"] == YES
    if exempt.any():
        if p.kind == "year" and s.has_stars:
            listed = "、".join(
                f"{name} {int(stars)}星" if not _missing(stars) else str(name)
                for name, stars in zip(summary.loc[exempt, "name"], summary.loc[exempt, "stars"], strict=True)
            )
            row = _line(
                ws, row, 0, last, f"不列入积分管理的党员 (年老体弱等, 年底由党支部直接评定星级): {listed}。", fmt.text
            )
        else:
            row = _line(ws, row, 0, last, f"不列入积分管理的党员: {_names(summary, exempt)}。", fmt.text)
    if vetoed.any():
        shown = {"no_score": ", 不体现积分", "cap": f", 积分不超过{s.veto.cap or 0:g}分", "zero": ", 积分计为0"}
        effect = (
            f"该年度一律定为{s.veto.grade}" + shown.get(s.veto.effect, ", 积分照常显示")
            if p.kind == "year"
            else "不参与排名和评选"
        )
        row = _line(ws, row, 0, last, f"一票否决 ({effect}): {_names(summary, vetoed)}。", fmt.text)
    return row


# -- 积分卡 -----------------------------------------------------------------------------------


class _CardData:
    """The result's tables split by member once, so that writing n cards takes time linear in n
    (filtering every table for every member would be quadratic: hours for a 50,000-member unit)."""

    def __init__(self, result: Result) -> None:
        s = result.scheme.scheme
        self.codes = s.item_codes
        sc = result.item_scores
        self.score_pos = _positions(sc)
        self.score_month = sc["month"].astype(int).to_numpy()
        self.score_vals = (
            sc[self.codes].to_numpy(dtype=float, na_value=np.nan) if len(sc) else np.empty((0, len(self.codes)))
        )
        mt = result.monthly_totals
        keys = zip(mt["member_id"], mt["month"].astype(int), strict=True)
        self.total = dict(zip(keys, mt["total"].astype(float), strict=True))
        self.amended = _records(result.amendments)
        adj = result.adjustments
        if len(adj):
            adj = adj[adj["date"].map(lambda d: d.month <= result.period.last_month)].sort_values(["date", "row"])
        self.adjustments = _records(adj)
        self.quarters = _records(result.quarters)
        self.annual = _by_member(result.annual)
        self.item_year = _by_member(result.item_year)
        self.appraisal = _by_member(result.appraisal) if len(result.appraisal.columns) > 1 else {}
        self.summary = _by_member(result.summary()) if result.period.kind != "year" else {}
        self.vetoed = _vetoed(result)
        v = result.vetoes
        self.veto_conditions: dict[str, list[str]] = {}
        if len(v):
            for mid, name in zip(
                v.loc[v["applies"].astype(bool), "member_id"],
                v.loc[v["applies"].astype(bool), "condition_name"],
                strict=True,
            ):
                self.veto_conditions.setdefault(str(mid), []).append(str(name))
        self.ranked = int(result.annual["rank"].notna().sum()) if result.period.kind == "year" else 0

    def scores(self, mid: str) -> tuple[np.ndarray, np.ndarray]:
        """(months, item scores matrix) of one member, in table order."""
        pos = self.score_pos.get(mid)
        if pos is None:
            return np.empty(0, dtype=int), np.empty((0, len(self.codes)))
        return self.score_month[pos], self.score_vals[pos]


def _positions(df: pd.DataFrame) -> dict[str, np.ndarray]:
    # np.asarray returns each array itself: pandas-stubs also allows an Index or a list here
    return {str(k): np.asarray(v) for k, v in df.groupby("member_id", sort=False).indices.items()} if len(df) else {}


def _records(df: pd.DataFrame) -> dict[str, list[Any]]:
    """Rows of ``df`` as named tuples, by member, in table order."""
    out: dict[str, list[Any]] = {}
    for r in df.itertuples(index=False):
        out.setdefault(str(r.member_id), []).append(r)
    return out


def _by_member(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """One row per member as a dict of column -> value."""
    if not len(df):
        return {}
    # pandas-stubs types the keys as Hashable; they are member ids and column labels, both str
    return cast(dict[str, dict[str, Any]], df.drop_duplicates("member_id").set_index("member_id").to_dict("index"))


def _card_members(result: Result) -> list[str]:
    """Members who get a card: everyone scored in the period so far, and the exempt."""
    scored = set(result.item_scores["member_id"])
    if result.scheme.scheme.cadence == "none":  # no item scores: everyone in the branch so far
        scored = set(result.quarters["member_id"]) | set(result.annual.get("member_id", []))
    exempt = result.members["exempt"].astype(bool)
    return [m for m, e in zip(result.members["member_id"], exempt, strict=True) if e or m in scored]


def _pairs(
    ws: Worksheet, fmt: _Formats, row: int, ncols: int, pairs: list[tuple[str, Any, Format | None]], per_line: int = 3
) -> int:
    """Label/value pairs across the card, ``per_line`` to a line, each value merged over the rest
    of its pair's columns; returns the next row."""
    per_line = max(1, min(per_line, ncols // 2))
    span = ncols // per_line
    label_cols = 1 if span <= 3 else span // 2
    for k in range(0, len(pairs), per_line):
        chunk = pairs[k : k + per_line]
        cells: list[tuple[int, int, Any]] = []
        for j, (label, value, num_fmt) in enumerate(chunk):
            a = j * span
            b = ncols - 1 if j == len(chunk) - 1 else a + span - 1  # the last value takes the rest
            _cell_span(ws, row, a, a + label_cols - 1, label, fmt.label)
            _cell_span(ws, row, a + label_cols, b, value, fmt.cell, num_fmt)
            cells += [(a, a + label_cols - 1, label), (a + label_cols, b, value)]
        _fit_row(ws, row, cells)
        row += 1
    return row


def _card(
    ws: Worksheet, fmt: _Formats, result: Result, d: _CardData, member: dict[str, Any], row: int, ncols: int
) -> int:
    """One member's card from ``row``; returns the row after it."""
    s = result.scheme.scheme
    p = result.period
    last = ncols - 1
    mid = str(member["member_id"])
    row = _line(ws, row, 0, last, "党员积分卡", fmt.title, 28)
    row = _line(ws, row, 0, last, f"{result.branch_name}  {p.label}", fmt.subtitle, 18)
    role = ROLE_NAMES.get(str(member.get("role")), str(member.get("role") or ""))
    row = _pairs(
        ws,
        fmt,
        row,
        ncols,
        [
            ("党员编号", mid, None),
            ("姓名", member["name"], None),
            ("党员类别", member.get("member_type"), None),
            ("身份", role, None),
        ],
        per_line=4,
    )
    row += 1
    if bool(member["exempt"]):
        reason = "" if _missing(member.get("exempt_reason")) else f" (原因: {member['exempt_reason']})"
        row = _line(
            ws, row, 0, last, f"不列入积分管理{reason}, 年底由党支部根据参与组织活动和日常表现直接评定星级。", fmt.text
        )
        if p.kind == "year":
            a = d.annual[mid]
            pairs: list[tuple[str, Any, Format | None]] = []
            if s.has_stars:
                pairs.append(("直接评定星级", a["stars"], fmt.stars))
            pairs.append(("等级", "年底由党支部直接评定" if _missing(a["grade"]) else a["grade"], None))
            row = _pairs(ws, fmt, row, ncols, pairs)
    else:
        if s.cadence != "none":
            row = _monthly_grid(ws, fmt, result, d, mid, row, ncols) + 1
        if s.sub_months <= 3:  # a scheme scored once a year has no quarters
            row = _quarter_block(ws, fmt, result, d, mid, row, ncols)
        row = _adjustment_block(ws, fmt, result, d, mid, row + 1, last)
        row = _result_block(ws, fmt, result, d, mid, row + 1, ncols)
    return _line(ws, row + 1, 0, last, SIGN_LINE, fmt.text, 24)


GRID_WORDS: dict[str, tuple[str, str, str]] = {
    "month": ("一、月度评分 (支委会逐月逐项评分)", "月份", "月度合计"),
    "quarter": ("一、季度评分 (支委会每季度逐项评分)", "季度", "季度合计"),
    "year": ("一、年度评分 (支委会年终逐项评分)", "年度", "合计"),
}


def _sub_name(cadence: str, month: int) -> str:
    """A sub-period by its last month: ``3月``, ``第1季度``, ``全年``."""
    return {"quarter": f"第{month // 3}季度", "year": "全年"}.get(cadence, f"{month}月")


def _monthly_grid(ws: Worksheet, fmt: _Formats, result: Result, d: _CardData, mid: str, row: int, ncols: int) -> int:
    """月份 x 考评项目 grid of the committee's scores, amended cells marked, then annual rows."""
    s = result.scheme.scheme
    p = result.period
    last = ncols - 1
    items = s.items
    title, head, total = GRID_WORDS[s.cadence]
    row = _line(ws, row, 0, last, title, fmt.section, 18)
    ws.write_string(row, 0, head, fmt.head)
    for j, it in enumerate(items, start=1):
        ws.write_string(row, j, f"{it.name}\n({it.max:g}分)", fmt.head)
    ws.write_string(row, last, total, fmt.head)
    ws.set_row(row, 30)
    row += 1
    months, values = d.scores(mid)
    scores = {int(m): values[k] for k, m in enumerate(months)}
    amended = {(int(r.month), str(r.item)): r for r in d.amended.get(mid, [])}
    names = {it.code: it.name for it in items}
    for m in range(s.sub_months, p.last_month + 1, s.sub_months):  # each sub-period by its last month
        ws.write_string(row, 0, _sub_name(s.cadence, m), fmt.label)
        if m not in scores:
            ws.merge_range(row, 1, row, last, "", fmt.cell)
            ws.write_string(row, 1, "未在本支部, 不计分", fmt.cell)
        else:
            for j, (it, v) in enumerate(zip(items, scores[m], strict=True), start=1):
                if (m, it.code) in amended:
                    ws.write_string(row, j, f"{_num(v)}*", fmt.amended)
                else:
                    _put(ws, row, j, v, fmt.score)
            _put(ws, row, last, d.total.get((mid, m)), fmt.score)
        row += 1
    if p.kind == "year" and s.year.by == "per_item":
        row = _item_year_rows(ws, fmt, result, d, mid, row, last)
    for (m, code), r in sorted(amended.items()):
        if m <= p.last_month:
            row = _line(
                ws,
                row,
                0,
                last,
                f"* 更正: {_sub_name(s.cadence, m)} {names.get(code, code)} "
                f"原 {_num(r.original)} → {_num(r.new_score)} ({_zh(r.reason)}, {r.decided_on})",
                fmt.small,
                14,
            )
    return row


def _item_year_rows(ws: Worksheet, fmt: _Formats, result: Result, d: _CardData, mid: str, row: int, last: int) -> int:
    """Below the grid: per item the monthly average, the appraisal average and raters, and the
    annual item score; the appraisal shows only averages and rater counts, never a ballot."""
    s = result.scheme.scheme
    y = d.item_year[mid]
    app = d.appraisal[mid] if s.appraisal.mode == "per_item" and d.appraisal else None
    rows: list[tuple[str, dict[str, Any], str, Format, Any]] = [("月平均", y, "_mean", fmt.score2, None)]
    if app is not None:
        rows += [("民主测评平均", app, "_average", fmt.score2, None), ("测评人数", app, "_raters", fmt.count, None)]
    weights = f"月平均×{s.year.weight:.0%}" + (f"+测评×{s.appraisal.weight:.0%}" if app is not None else "")
    rows.append((f"年终项目积分\n({weights})", y, "_score", fmt.score2, y["base"]))
    for label, src, suffix, num_fmt, total in rows:
        ws.write_string(row, 0, label, fmt.label)
        for j, it in enumerate(s.items, start=1):
            _put(ws, row, j, src[f"{it.code}{suffix}"], fmt.cell, num_fmt)
        _put(ws, row, last, total, fmt.cell, fmt.score2)
        if "\n" in label:
            ws.set_row(row, 42)
        row += 1
    return row


def _quarter_block(ws: Worksheet, fmt: _Formats, result: Result, d: _CardData, mid: str, row: int, ncols: int) -> int:
    s = result.scheme.scheme
    last = ncols - 1
    q = d.quarters.get(mid, [])
    number = "一" if s.cadence == "none" else "二"
    row = _line(ws, row, 0, last, f"{number}、季度汇总 ({s.period_text('quarter')})", fmt.section, 18)
    if not q:
        return _line(ws, row, 0, last, "本期尚无已结束的季度。", fmt.text)
    extras = [k for k in QUARTER_COLUMNS if k != "tier" and hasattr(q[0], k)]
    tier = hasattr(q[0], "tier")
    months_head = {"quarter": "计分季度", "none": "在支部月数"}.get(s.cadence, "计分月数")
    heads = ["季度", months_head, *(QUARTER_COLUMNS[k] for k in extras), "季度积分", "季度排名"]
    heads += (["档次"] if tier else []) + (["季度之星"] if s.quarter_star is not None else [])
    spans = _spans(len(heads), ncols)
    for (a, b), h in zip(spans, heads, strict=True):
        _cell_span(ws, row, a, b, h, fmt.head)
    row += 1
    for r in q:
        values: list[tuple[Any, Format, Format | None]] = [
            (f"第{int(r.quarter)}季度", fmt.label, None),
            (r.months, fmt.cell, fmt.count),
            *((getattr(r, k), fmt.cell, fmt.score) for k in extras),
            (r.score_rounded, fmt.cell, fmt.score),
            (r.rank, fmt.cell, fmt.count),
        ]
        if tier:
            values.append((r.tier, fmt.cell, None))
        if s.quarter_star is not None:
            values.append(
                (
                    _star_text(r.quarter_star, "季度之星"),
                    fmt.star_mark if r.quarter_star in (YES, TIE) else fmt.cell,
                    None,
                )
            )
        for (a, b), (v, f, nf) in zip(spans, values, strict=True):
            _cell_span(ws, row, a, b, v, f, nf)
        row += 1
    return row


def _spans(n: int, ncols: int) -> list[tuple[int, int]]:
    """Split ``ncols`` columns into ``n`` adjacent spans (the first column alone)."""
    if n >= ncols:
        return [(j, j) for j in range(n)]
    rest = ncols - 1
    size, extra = divmod(rest, n - 1)
    out, c = [(0, 0)], 1
    for k in range(n - 1):
        w = size + (1 if k < extra else 0)
        out.append((c, c + w - 1))
        c += w
    return out


def _cell_span(ws: Worksheet, row: int, a: int, b: int, value: Any, fmt: Format, num_fmt: Format | None = None) -> None:
    if b > a:
        ws.merge_range(row, a, row, b, "", num_fmt or fmt)
    _put(ws, row, a, value, fmt, num_fmt)


def _adjustment_block(ws: Worksheet, fmt: _Formats, result: Result, d: _CardData, mid: str, row: int, last: int) -> int:
    """Adjustments so far, each applied or not, with the reason."""
    p = result.period
    a = d.adjustments.get(mid, [])
    s = result.scheme.scheme
    if sub_events(s):
        where = " (计入所在季度的得分)" if s.cadence == "quarter" else " (计入所在月份的得分)"
    elif p.kind != "year" and s.period(p.kind).combine == "year_to_date":
        where = " (计入截至期末的累计积分)"
    else:
        where = "" if p.kind == "year" else " (年终计入年度总积分)"
    number = "二" if s.cadence == "none" else "三"
    row = _line(ws, row, 0, last, f"{number}、加减分{where}", fmt.section, 18)
    if not a:
        return _line(ws, row, 0, last, "无。", fmt.cell_left)
    for r in a:
        kind = "加分" if r.kind == "bonus" else "减分"
        status = f"计入 {r.applied_points:+g} 分" if r.status == "applied" else "不计入"
        reason = _zh(r.reason)
        text = f"{r.date} {kind}: {r.rule_name} ({r.points_used:+g} 分) — {status}" + (
            "" if r.status == "applied" and reason == "计入" else f"; {reason}"
        )
        row = _line(ws, row, 0, last, text, fmt.cell_left)
    return row


def _result_block(ws: Worksheet, fmt: _Formats, result: Result, d: _CardData, mid: str, row: int, ncols: int) -> int:
    """The period's result: total, stars, grade, rank, stars list, gap to the next star band."""
    s = result.scheme.scheme
    p = result.period
    last = ncols - 1
    number = "三" if s.cadence == "none" else "四"
    if p.kind != "year":
        row = _line(ws, row, 0, last, f"{number}、本期结果", fmt.section, 18)
        summ = d.summary[mid]
        key = {"quarter": "quarter_score", "half": "half_score", "month": "month_total"}[p.kind]
        ytd = p.kind != "month" and s.period(p.kind).combine == "year_to_date"
        title = "累计积分" if ytd else {"quarter": "季度积分", "half": "半年积分", "month": "月度总分"}[p.kind]
        pairs: list[tuple[str, Any, Format | None]] = [(title, summ.get(key), fmt.score2)]
        if p.kind == "month":
            pairs.append(("月度排名", summ.get("month_rank"), fmt.count))
        if p.kind == "quarter":
            pairs.append(("季度排名", summ.get("quarter_rank"), fmt.count))
            if "tier" in summ:
                pairs.append(("档次", summ.get("tier"), None))
            if s.quarter_star is not None:
                pairs.append(("季度之星", _star_text(summ.get("quarter_star"), "季度之星"), None))
        return _pairs(ws, fmt, row, ncols, pairs)
    row = _line(ws, row, 0, last, f"{number}、年度结果", fmt.section, 18)
    a = d.annual[mid]
    ranked = d.ranked
    vetoed = mid in d.vetoed
    pairs = [] if s.cadence == "none" else [("年终总积分", a["base_rounded"], fmt.score2)]
    if s.base is not None:
        pairs.append(("基础分 (已扣减)", a["base_points"], fmt.score2))
    if s.year.events:
        pairs += [("加分", a["bonus"], fmt.signed), ("减分", a["deduction"], fmt.signed)]
    if s.year.by != "per_item":
        y = d.item_year[mid]
        if s.cadence != "none":
            mean = {"quarter": "季度平均分", "year": "年度项目总分"}.get(s.cadence, "月平均基础分")
            pairs.insert(0, (mean, y["monthly_mean"], fmt.score2))
        if s.appraisal.mode == "single" and d.appraisal:
            app = d.appraisal[mid]
            where = 1 if s.cadence != "none" else len(pairs)
            shown = app["score_average"] if mid not in d.vetoed or not s.no_score_veto else None
            pairs.insert(where, (f"民主评议平均 ({int(app['score_raters'])}人)", shown, fmt.score2))
    pairs.append(("年度总积分", a["total"], fmt.score2))
    if s.has_stars:
        pairs.append(("星级", a["stars"], fmt.stars))
        if not _missing(a.get("star_reason")) and not vetoed and not _missing(a.get("computed_stars")):
            pairs.append(("按积分星级", a["computed_stars"], fmt.stars))
    if s.has_grades:
        pairs.append(("等级", a["grade"], None))
    pairs.append(
        (
            "支部排名",
            "不排名 (一票否决)"
            if vetoed
            else (f"第 {int(a['rank'])} 名 (共 {ranked} 人)" if not _missing(a["rank"]) else "不排名"),
            None,
        )
    )
    if (s.branch_tiers or s.band_tiers) and not _missing(a["tier"]):
        pairs.append(("排序档次" if s.branch_tiers else "档次", a["tier"], None))
    if s.annual_star is not None:
        pairs.append(("年度之星", _star_text(a["annual_star"], "年度之星"), None))
    row = _pairs(ws, fmt, row, ncols, pairs)
    if vetoed:
        conditions = "、".join(d.veto_conditions.get(mid, []))
        row = _line(
            ws,
            row,
            0,
            last,
            f"一票否决: {conditions}; 该年度定为{s.veto.grade}" + VETO_WORDS[s.veto.effect].rstrip(", ") + "。",
            fmt.text,
        )
    elif s.has_stars and not _missing(a["total"]):
        row = _line(ws, row, 0, last, _star_gap(result, float(a["total"])), fmt.text)
    if s.has_stars and not vetoed and not _missing(a.get("star_reason")):
        row = _line(ws, row, 0, last, f"星级由党支部确定: {a['star_reason']}。", fmt.text)
    lost = _items_lost(result, d, mid)
    if lost:
        row = _line(ws, row, 0, last, f"失分较多的项目 (月平均与满分之差): {lost}。", fmt.small, 14)
    return row


def _star_gap(result: Result, total: float) -> str:
    """``距9星还差 1.23 分``, from the scheme's bands and the rounded total."""
    bands = result.scheme.scheme.bands
    higher = [b for b in bands if b.stars is not None and b.min > total]
    if not higher:
        return "已达最高星级。"
    nxt = min(higher, key=lambda b: b.min)
    return f"距{nxt.stars}星还差 {nxt.min - total:.2f} 分。"


def _items_lost(result: Result, d: _CardData, mid: str, top: int = 3) -> str:
    """The items where the member lost most points on average per month."""
    s = result.scheme.scheme
    _, values = d.scores(mid)
    if not len(values):
        return ""
    known = ~np.isnan(values)
    counts = known.sum(axis=0)
    means = np.where(counts > 0, np.where(known, values, 0.0).sum(axis=0) / np.maximum(counts, 1), np.nan)
    gaps = sorted(((it.max - float(m), it.name) for it, m in zip(s.items, means, strict=True)), reverse=True)
    return "、".join(f"{name} {gap:.2f}" for gap, name in gaps[:top] if gap > 0.005)


def card_widths(result: Result) -> list[float]:
    """Column widths of a card: 月份, one column per item, 月度合计."""
    n = len(result.scheme.scheme.items) or 8  # a scheme without item scores: its quarter table spreads over 10 columns
    item_w = max(6.0, min(9.0, 72.0 / n))
    return [11.0] + [item_w] * n + [9.0]


def _cards_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, result: Result) -> Worksheet:
    """One card per member and page. A sheet holds at most ``CARDS_PER_SHEET`` cards (Excel allows
    1,023 manual page breaks per sheet and 1,048,576 rows); more members continue on
    ``积分卡 (2)``, ``积分卡 (3)``, ... Returns the first sheet."""
    widths = card_widths(result)
    ncols = len(widths)
    records = cast(list[dict[str, Any]], result.members.to_dict("records"))  # column labels are str
    members = {str(m["member_id"]): m for m in records}
    d = _CardData(result)
    ids = _card_members(result)
    sheets: list[Worksheet] = []
    for k in range(0, max(1, len(ids)), CARDS_PER_SHEET):
        name = CARDS_SHEET if k == 0 else f"{CARDS_SHEET} ({k // CARDS_PER_SHEET + 1})"
        ws = wb.add_worksheet(name)
        sheets.append(ws)
        _page_setup(ws, f"{result.branch_name}  {result.period.label}  党员积分卡", widths)
        row, starts = 0, []
        for mid in ids[k : k + CARDS_PER_SHEET]:
            starts.append(row)
            row = _card(ws, fmt, result, d, members[mid], row, ncols) + 1
        if not starts:
            _line(ws, 0, 0, ncols - 1, "本期没有需要制卡的党员。", fmt.text)
        ws.set_h_pagebreaks(starts[1:])
    return sheets[0]


# -- 组织处置 ---------------------------------------------------------------------------------


def _follow_up_sheet(wb: xlsxwriter.Workbook, fmt: _Formats, result: Result) -> Worksheet:
    s = result.scheme.scheme
    cols = [("序号", 6), ("党员编号", 11), ("姓名", 12), ("原因", 24), ("处置措施", 32), ("办理情况", 14)]
    last = len(cols) - 1
    ws = wb.add_worksheet(FOLLOW_UP_SHEET)
    _page_setup(ws, f"{result.branch_name}  {result.period.label}  组织处置", [w for _, w in cols])
    row = _line(ws, 0, 0, last, f"{result.branch_name} {result.period.label} 组织处置名单", fmt.title, 30)
    if s.follow_up.actions:
        rule = "; ".join(f"{g}: {a}" for g, a in s.follow_up.actions.items())
        row = _line(
            ws,
            row,
            0,
            last,
            f"依据: {rule}; 无正当理由连续{s.follow_up.lapse_months}个月以上不参加组织生活或不交纳党费的, "
            "由党支部讨论是否视为自行脱党。",
            fmt.small,
            14,
        )
    if s.follow_up.tier_actions:
        rule = "; ".join(f"{t}: {a}" for t, a in s.follow_up.tier_actions.items())
        row = _line(ws, row, 0, last, f"按档次奖罚: {rule}。", fmt.small, 14)
    f = result.follow_up
    if f.empty:
        empty = (
            "本年度无需组织处置的党员。"
            if result.period.kind == "year"
            else "组织处置在年终总评后进行, 本期无组织处置事项。"
        )
        row = _line(ws, row + 1, 0, last, empty, fmt.text)
        open_cases_block(ws, fmt, result, row, last)  # every period lists the open cases (SPEC 8)
        return ws
    header_row = row
    for j, (title, _) in enumerate(cols):
        ws.write_string(row, j, title, fmt.head)
    row += 1
    for k, r in enumerate(f.itertuples(index=False), start=1):
        ws.write_number(row, 0, k, fmt.count)
        _put(ws, row, 1, r.member_id, fmt.cell)
        _put(ws, row, 2, r.name, fmt.cell_left)
        ws.write_string(row, 3, _zh(r.reason), fmt.cell_left)
        ws.write_string(row, 4, _zh(r.action), fmt.cell_left)
        ws.write_blank(row, 5, None, fmt.cell)
        _fit_row(ws, row, [(1, 1, r.member_id), (2, 2, r.name), (3, 3, _zh(r.reason)), (4, 4, _zh(r.action))])
        row += 1
    ws.repeat_rows(header_row)
    open_cases_block(ws, fmt, result, row, last)  # every period lists the open cases (SPEC 8)
    return ws


# -- entry points -----------------------------------------------------------------------------


def add_publicity_sheets(
    wb: xlsxwriter.Workbook, result: Result, start: dt.date | None = None, holidays: Iterable[dt.date] = ()
) -> None:
    """Add the 公示, 积分卡 and 组织处置 sheets to an open xlsxwriter workbook.

    ``start``: first possible day of the posting (default: the next working day after today);
    ``holidays``: public holidays that are not working days.
    """
    fmt = _Formats(wb)
    _publicity_sheet(wb, fmt, result, _window(result, start, holidays))
    _cards_sheet(wb, fmt, result)
    _follow_up_sheet(wb, fmt, result)


def _sheet_pdf(result: Result, target: Path, sheet: str, start: dt.date | None, holidays: Iterable[dt.date]) -> Path:
    """Print one of the sheets to ``target`` through a temporary workbook and LibreOffice."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scoring-publicity-") as tmp:
        source = Path(tmp) / "sheet.xlsx"  # an ASCII name: soffice under a C locale
        wb = Excel2010Workbook(str(source), WORKBOOK_OPTIONS)
        fmt = _Formats(wb)
        if sheet == PUBLICITY_SHEET:
            _publicity_sheet(wb, fmt, result, _window(result, start, holidays))
        elif sheet == CARDS_SHEET:
            _cards_sheet(wb, fmt, result)
        else:
            _follow_up_sheet(wb, fmt, result)
        wb.close()
        pdf = office.convert(source, Path(tmp) / "out", "pdf")
        shutil.move(str(pdf), target)
    return target


def write_publicity_pdf(
    result: Result, out_dir: Path, start: dt.date | None = None, holidays: Iterable[dt.date] = ()
) -> Path:
    """Print the 公示 sheet to ``out_dir / "公示.pdf"`` with LibreOffice; returns that path."""
    return _sheet_pdf(result, Path(out_dir) / PDF_NAME, PUBLICITY_SHEET, start, holidays)


def write_cards_pdf(result: Result, out_dir: Path) -> Path:
    """Print the points cards, one member per page, to ``out_dir / "积分卡.pdf"``."""
    return _sheet_pdf(result, Path(out_dir) / "积分卡.pdf", CARDS_SHEET, None, ())


def open_cases_block(ws: Worksheet, fmt: _Formats, result: Result, row: int, last: int) -> int:
    """The open follow-up cases on the 组织处置 sheet, below its list: each with its deadline,
    overdue ones first. ``fmt``: the publicity sheets' formats. Returns the next free row."""
    cases = open_cases_rows(result)
    end = period_end(result.period)
    row = _line(ws, row + 1, 0, last, f"跟踪帮教中的案件 (截至 {end.isoformat()})", fmt.section, 20)
    if not cases:
        return _line(ws, row, 0, last, "没有办理中的帮教案件。", fmt.text)
    late = sum(1 for c in cases if c["overdue"] == OVERDUE)
    row = _line(
        ws,
        row,
        0,
        last,
        f"办理中 {len(cases)} 个, 其中逾期 {late} 个; 逾期的排在前面, 再按期限。"
        "基本合格的告诫期六个月, 不合格的限期整改一年; 期满由支委会作出帮教结论。",
        fmt.small,
        14,
    )
    heads = ["序号", "党员编号", "姓名", "案件", "期限", "逾期"]
    for j, title in enumerate(heads):
        ws.write_string(row, j, title, fmt.head)
    row += 1
    for k, c in enumerate(cases, start=1):
        case = f"{c['case_year']}年度{c['grade']} {c['kind']} (开案 {c['opened_on']})"
        ws.write_number(row, 0, k, fmt.count)
        _put(ws, row, 1, str(c["member_id"]), fmt.cell)
        _put(ws, row, 2, str(c["name"]), fmt.cell_left)
        ws.write_string(row, 3, case, fmt.cell_left)
        ws.write_string(row, 4, str(c["deadline"]), fmt.cell)
        ws.write_string(row, 5, str(c["overdue"]), fmt.star_mark if c["overdue"] == OVERDUE else fmt.cell)
        _fit_row(ws, row, [(1, 1, str(c["member_id"])), (2, 2, str(c["name"])), (3, 3, case)])
        row += 1
    return row
