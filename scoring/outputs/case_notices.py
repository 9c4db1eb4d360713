"""《党员告诫通知书》 and 《限期整改通知书》 (SPEC 3.1, 8; seed 004): one A4 notice per case this run
opened, ``通知书/<member_id>_<title>.pdf`` in the run folder, and the same notices on a sheet of
the results workbook.

A notice names the member, the branch, the year, the grade and total, the items that cost the
most points (as the member's card computes them), what is asked and by when, the helper, the
branch's signature lines and a receipt the member signs. Wording from seed 004: 基本合格 ->
《党员告诫通知书》, "指出存在的问题和不足, 限期进行整改, 整改的期限为半年, 半年后仍无明显转变的,
进行组织处理"; 不合格 -> 《限期整改通知书》, "指定专人进行帮助整改, 整改的期限为一年".
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from ..rules.engine import Result
from .printing import Printout, Writer, file_stem, number_own_pages, print_apart
from .publicity import FONT, _CardData, _cn_date, _items_lost, _missing, _page_setup, _width, _zh

NOTICE_DIR = "通知书"
NOTICE_SHEET = "通知书"
THIS_RUN = "本次运行"  # cases.opened_by of the cases this run opened
TITLES: dict[str, str] = {"告诫": "党员告诫通知书", "限期整改": "限期整改通知书"}
TERMS: dict[str, str] = {"告诫": "六个月", "限期整改": "一年"}
BLANK = "______________"
WIDTHS = [8.5] * 8  # A4 portrait: 68 units print about 510 points wide where LibreOffice lacks Calibri, less with it
INDENT = "\u3000\u3000"  # a paragraph starts two full-width spaces in


def opened_cases(result: Result) -> pd.DataFrame:
    """The cases this run opened (``result.cases`` rows with ``opened_by`` 本次运行), in register order."""
    c = result.cases
    if not len(c):
        return c.iloc[0:0]
    return c[(c["opened_by"] == THIS_RUN) & c["kind"].isin(list(TITLES))].reset_index(drop=True)


# -- text ---------------------------------------------------------------------------------------


def _text(v: Any) -> str:
    return "" if _missing(v) else str(v).strip()


def _date(v: Any) -> dt.date | None:
    """A register date (``YYYY-MM-DD`` text, a date or a timestamp) as a date; None when blank."""
    if _missing(v) or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v).strip()[:10])


def _day(v: Any) -> str:
    d = _date(v)
    return _cn_date(d) if d is not None else "____年__月__日"


def _year(case: dict[str, Any], result: Result) -> int:
    y = case.get("case_year")
    return result.period.year if _missing(y) or not str(y).strip() else int(float(str(y)))


NO_SCORE = "不体现积分"


def _total(case: dict[str, Any]) -> str:
    """The total with two decimals, or 不体现积分 (a veto that hides the score)."""
    v: Any = case.get("total")
    try:
        x = float(v)
    except (TypeError, ValueError):
        return NO_SCORE
    return NO_SCORE if math.isnan(x) else f"{x:.2f} 分"


class _NoticeFormats:
    """The notice's formats: a letter in 12-point text, a small table of facts."""

    def __init__(self, wb: xlsxwriter.Workbook) -> None:
        base: dict[str, Any] = {"font_name": FONT, "font_size": 12, "valign": "vcenter"}

        def add(**kw: Any) -> Format:
            return wb.add_format(base | kw)

        self.title = add(bold=True, font_size=20, align="center")
        self.subtitle = add(font_size=12, align="center")
        self.body = add(text_wrap=True, valign="top")
        self.section = add(bold=True)
        self.label = add(font_size=11, bold=True, align="center", text_wrap=True, border=1, bg_color="#F7F7F7")
        self.cell = add(font_size=11, align="center", text_wrap=True, border=1)
        self.right = add(align="right")
        self.cut = add(font_size=9, align="center", font_color="#808080")
        self.receipt_title = add(bold=True, font_size=14, align="center")


class _Page:
    """Writes a notice row by row, keeping the height used so far (every row's height is set)."""

    def __init__(self, ws: Worksheet, fmt: _NoticeFormats, row: int) -> None:
        self.ws, self.fmt, self.row, self.used = ws, fmt, row, 0.0

    def gap(self, height: float) -> None:
        self.ws.set_row(self.row, height)
        self.row += 1
        self.used += height

    def para(self, text: str, f: Format, size: float = 12, minimum: float = 22) -> None:
        """Text across the notice (merged), the row tall enough for it wrapped."""
        last = len(WIDTHS) - 1
        self.ws.merge_range(self.row, 0, self.row, last, "", f)
        self.ws.write_string(self.row, 0, text, f)
        # a column-width unit is a digit of the default font, Calibri 11 (a CJK character ~1.8
        # units; it grows with the point size): where LibreOffice lacks Calibri a unit is wider
        # and the estimate leaves room to spare, never too little
        usable = 0.93 * sum(WIDTHS) * 11 / size
        lines = sum(max(1, math.ceil(_width(part) / usable)) for part in text.split("\n"))
        self.gap(max(minimum, lines * size * 1.55))

    def facts(self, pairs: list[tuple[str, str]]) -> None:
        """Label/value pairs, two to a line (label one column, value three)."""
        for k in range(0, len(pairs), 2):
            for j, (label, value) in enumerate(pairs[k : k + 2]):
                a = j * 4
                self.ws.write_string(self.row, a, label, self.fmt.label)
                self.ws.merge_range(self.row, a + 1, self.row, a + 3, "", self.fmt.cell)
                if value:
                    self.ws.write_string(self.row, a + 1, value, self.fmt.cell)
            self.gap(26)


def _problems(result: Result, d: _CardData, mid: str) -> list[str]:
    """What cost the member points: the items lost most on, the deductions counted, a veto."""
    out = []
    lost = _items_lost(result, d, mid)
    if lost:
        out.append(f"失分较多的项目 (月平均与满分之差): {lost}。")
    for r in d.adjustments.get(mid, []):
        if r.kind != "bonus" and r.status == "applied":
            out.append(f"减分: {_day(r.date)} {_zh(r.rule_name)} ({r.applied_points:+g} 分)。")
    return out or ["见本人积分卡。"]


def _asked(kind: str, deadline: str) -> str:
    if kind == "告诫":
        return (
            f"{INDENT}党支部向你发出告诫, 指出存在的问题和不足。请你正视问题, 认真整改, 整改期限为六个月, "
            f"至{deadline}止。整改期满, 党支部对整改情况进行考察; 半年后仍无明显转变的, 进行组织处理。"
        )
    return (
        f"{INDENT}党支部对你限期整改, 并指定专人帮助整改, 整改期限为一年, 至{deadline}止。请你接受党组织的"
        "教育和帮助, 认真改正。整改期满仍无明显转变的, 进行组织处理; 本人无改正决心, 又不愿接受党组织的"
        "教育和纪律约束的, 劝其退党, 劝而不退的, 由党支部讨论决定后报上级党组织批准, 予以除名。"
    )


PAGE_HEIGHT = 700.0  # points of an A4 page inside its margins (734), with some to spare
RECEIPT_HEIGHT = 150.0  # the cut line and the receipt


def _notice(ws: Worksheet, fmt: _NoticeFormats, result: Result, d: _CardData, case: dict[str, Any], row: int) -> int:
    """One notice from ``row``, the receipt at the foot of the page; returns the row after it."""
    kind = str(case["kind"])
    title = TITLES[kind]
    mid = _text(case["member_id"])
    name = _text(case.get("name"))
    grade = _text(case.get("grade"))
    year = _year(case, result)
    deadline = _day(case.get("deadline"))
    helper = _text(case.get("helper"))
    stars = _stars(result, mid)
    total = _total(case)
    page = _Page(ws, fmt, row)
    page.para(title, fmt.title, 22, 48)
    page.para(f"{result.branch_name}  {year}年度党员积分评定", fmt.subtitle)
    page.gap(12)
    page.para(f"{name} 同志:", fmt.body)
    score = f"总积分为 {total}" if total != NO_SCORE else "积分不体现"
    veto = f" (一票否决: {'、'.join(d.veto_conditions.get(mid, []))})" if mid in d.vetoed else ""
    page.para(
        f"{INDENT}经党支部考评, 你{year}年度{score}, 评定为{grade}党员{veto}。现将存在的主要问题和整改要求通知如下。",
        fmt.body,
    )
    page.gap(8)
    page.facts(
        [
            ("党员编号", mid),
            ("姓名", name),
            ("所在党支部", result.branch_name),
            ("考评年度", f"{year}年度"),
            ("年度总积分", total),
            ("评定等级", f"{grade} {stars}".strip()),
            ("整改期限", f"{_day(case.get('opened_on'))}至{deadline}"),
            ("帮教人", helper or BLANK),
        ]
    )
    page.gap(12)
    page.para("一、存在的主要问题", fmt.section)
    for line in _problems(result, d, mid):
        page.para(f"{INDENT}{line}", fmt.body)
    page.para("二、整改要求", fmt.section)
    page.para(_asked(kind, deadline), fmt.body)
    page.gap(12)
    page.para(f"帮教人签字: {BLANK}", fmt.body)
    page.gap(24)
    page.para(f"中共{result.branch_name} (盖章)", fmt.right, minimum=28)
    page.para(f"支部书记签字: {BLANK}", fmt.right, minimum=28)
    page.para("年      月      日", fmt.right, minimum=28)
    page.gap(max(16.0, PAGE_HEIGHT - RECEIPT_HEIGHT - page.used))  # the receipt at the foot of the page
    page.para("- " * 28 + "沿此线剪下, 回执交党支部" + " -" * 28, fmt.cut, 9, 18)
    page.para("回  执", fmt.receipt_title, 14, 30)
    page.para(f"{INDENT}{result.branch_name}: 《{title}》({year}年度, 整改期限至{deadline}) 本人已收到。", fmt.body)
    page.gap(10)
    page.para(f"本人签收: {BLANK}    ({mid} {name})      年    月    日", fmt.right, minimum=30)
    return page.row


def _stars(result: Result, mid: str) -> str:
    """``7星`` where the scheme has stars and the member has a star figure; else blank."""
    annual = result.annual
    if not result.scheme.scheme.has_stars or not len(annual) or "stars" not in annual.columns:
        return ""
    hit = annual.loc[annual["member_id"] == mid, "stars"]
    return f"{int(hit.iloc[0])}星" if len(hit) and not _missing(hit.iloc[0]) else ""


def _who(case: dict[str, Any]) -> str:
    """``党员告诫通知书  B001M003 王伟``: the notice and its member, for headers and PDF titles."""
    return f"{TITLES[str(case['kind'])]}  {_text(case['member_id'])} {_text(case.get('name'))}".strip()


def notice_writer(result: Result, out_dir: Path) -> Writer:
    """Adds one sheet per case this run opened, each to become
    ``out_dir / 通知书 / <member_id>_<党员告诫通知书|限期整改通知书>.pdf``."""

    def write(wb: xlsxwriter.Workbook) -> list[Printout]:
        cases = opened_cases(result)
        if not len(cases):
            return []
        fmt = _NoticeFormats(wb)
        d = _CardData(result)
        out: list[Printout] = []
        for k, case in enumerate(cases.to_dict("records"), start=1):
            c = {str(key): v for key, v in case.items()}
            name = f"{file_stem(_text(c['member_id']))}_{TITLES[str(c['kind'])]}"
            target = Path(out_dir) / NOTICE_DIR / f"{name}.pdf"
            if any(p.target == target for p in out):
                raise ValueError(f"本次运行为同一党员开了两个相同的案件 (two cases of one kind for one member): {name}")
            sheet = f"通知{k}"
            ws = wb.add_worksheet(sheet)
            _page_setup(ws, f"{result.branch_name}  {_who(c)}", WIDTHS)
            ws.fit_to_pages(1, 1)  # the receipt stays on the page, a long notice a little smaller
            number_own_pages(ws)
            _notice(ws, fmt, result, d, c, 0)
            out.append(
                Printout(sheet, target, f"{TITLES[str(c['kind'])]} {_text(c['member_id'])} {_text(c.get('name'))}")
            )
        return out

    return write


def write_case_notices(result: Result, out_dir: Path) -> list[Path]:
    """Print a notice per case this run opened to ``out_dir / 通知书``; returns the files (none
    when the run opened no case)."""
    return print_apart([notice_writer(result, out_dir)])


def add_case_notice_sheet(wb: xlsxwriter.Workbook, result: Result) -> Worksheet | None:
    """The notices on one sheet of the results workbook, each on its own page; None (no sheet)
    when the run opened no case."""
    cases = opened_cases(result)
    if not len(cases):
        return None
    fmt = _NoticeFormats(wb)
    d = _CardData(result)
    ws = wb.add_worksheet(NOTICE_SHEET)
    _page_setup(ws, f"{result.branch_name}  {result.period.label}  告诫及限期整改通知书", WIDTHS)
    row, starts = 0, []
    for case in cases.to_dict("records"):
        starts.append(row)
        row = _notice(ws, fmt, result, d, {str(k): v for k, v in case.items()}, row) + 1
    ws.set_h_pagebreaks(starts[1:])
    return ws
