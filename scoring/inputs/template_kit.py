"""The building blocks of an input template (SPEC 4): literal text cells, data validations, drop-down
lists on a hidden code table, protected tables and the 填表说明 sheet.

Shared by a branch's template (:mod:`scoring.inputs.templates`) and a unit's
(:mod:`scoring.inputs.unit_template`), so that both look and behave alike.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from .reading import header_text

README_SHEET = "填表说明 (readme)"
LISTS_SHEET = "代码表 (lists)"
YEAR_NAME = "scoring_year"  # defined name of the year cell on the branch (or unit) sheet
# An id (branch, unit) of letters, digits, - and _, at most 30 characters, as the readers require
ID_FORMULA = (
    'AND(LEN({c})<=30,SUMPRODUCT(--ISERROR(FIND(MID(UPPER({c}),ROW(INDIRECT("1:"&LEN({c}))),1),'
    '"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")))=0)'
)
INLINE_LIST_LIMIT = 255  # Excel: an inline list source may hold at most 255 characters

_UNLOCKED = Protection(locked=False)
_LOCKED = Protection(locked=True)
_BOLD = Font(bold=True)
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")  # required column: light orange
_OPTIONAL_FILL = PatternFill("solid", fgColor="DDEBF7")  # optional column: light blue
_TITLE_FONT = Font(bold=True, size=14)
_HEADING_FONT = Font(bold=True, size=12)


# -- literal text -------------------------------------------------------------------------------

# A typed text starting with one of these is taken for a formula (or a signed number) by Excel
# when the cell is edited; such cells also get the quote-prefix style (Excel's leading apostrophe).
FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@")


def put_cell(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """Write one template cell. Text is always stored as literal text: openpyxl turns any str
    starting with ``=`` into a formula (and ``#N/A`` into an error), so a member named
    ``=HYPERLINK(...)`` or a scheme text ``=1+1`` would otherwise run in the officer's Excel."""
    cell = ws.cell(row=row, column=column)
    cell.value = value
    assert isinstance(cell, Cell)  # a merged cell has a read-only value: the assignment raised
    if isinstance(value, str):
        cell.data_type = "s"  # after the assignment, which guessed "f" (or "e") from the text
        if value.startswith(FORMULA_START):
            cell.quotePrefix = True  # stays text when the officer edits the cell (F2, Enter)
    return cell


# -- validation rules -------------------------------------------------------------------------

# The validation types and operators the templates use, as openpyxl's DataValidation names them.
CheckType = Literal["whole", "decimal", "list", "date", "custom"]
CheckOperator = Literal["between", "greaterThanOrEqual"]


@dataclass(frozen=True)
class Check:
    """One data validation; ``{c}`` in a formula is the first data cell (``B2``), ``{rng}`` the
    absolute data range of the column (``$B$2:$B$2001``), ``{col:KEY}`` the first data cell of
    the sheet's column KEY (another cell of the same row)."""

    type: CheckType
    formula1: str
    formula2: str | None = None
    operator: CheckOperator | None = None
    title: str = "输入有误"
    error: str = ""


@dataclass(frozen=True)
class TemplateColumn:
    key: str
    header: str
    required: bool
    number_format: str  # "@" text, a date format, or General
    check: Check | None
    hint: str  # what to enter: the input prompt and the 填表说明 text


def _fmt(x: float) -> str:
    return f"{x:g}"


def _between(kind: Literal["whole", "decimal"], lo: float, hi: float, what: str) -> Check:
    word = "整数" if kind == "whole" else "数字"
    return Check(kind, _fmt(lo), _fmt(hi), "between", "超出范围", f"{what}应为 {_fmt(lo)} 到 {_fmt(hi)} 之间的{word}。")


def _month_formula(year_bound: bool) -> str:
    """Text ``YYYY-MM``; with ``year_bound`` the year must equal the branch sheet's year when set."""
    m = "IFERROR(--RIGHT({c},2),0)"
    f = f'AND(LEN({{c}})=7,MID({{c}},5,1)="-",ISNUMBER(-LEFT({{c}},4)),{m}>=1,{m}<=12'
    if year_bound:
        f += f",OR(NOT(ISNUMBER({YEAR_NAME})),IFERROR(--LEFT({{c}},4),0)={YEAR_NAME})"
    return f + ")"


def _month_check(year: int | None, year_bound: bool, lists: _Lists, where: str = "支部信息表") -> tuple[Check, str]:
    if year is not None and year_bound:
        months = [f"{year}-{m:02d}" for m in range(1, 13)]
        return Check(
            "list",
            lists.source("month", "月份", months),
            title="月份有误",
            error=f"请从下拉列表选择 {year}-01 到 {year}-12 的月份 (文本 YYYY-MM)。",
        ), f"{year}-01 .. {year}-12, 从下拉列表选择"
    if year_bound:
        return Check(
            "custom",
            _month_formula(True),
            title="月份有误",
            error=f"月份应为文本 YYYY-MM (如 2025-03), 且在{where}所填年度之内。",
        ), "文本 YYYY-MM (如 2025-03), 在本年度之内"
    return Check(
        "custom", _month_formula(False), title="月份有误", error="月份应为文本 YYYY-MM, 如 2024-11。"
    ), "文本 YYYY-MM, 如 2024-11; 可早于或晚于本年度"


def _quarter_check(year: int | None, lists: _Lists, where: str = "支部信息表") -> tuple[Check, str]:
    """A quarter ``YYYYQn`` of the year: a drop-down of its four quarters when the year is known,
    else text tied to the branch sheet's year (as months are)."""
    if year is not None:
        quarters = [f"{year}Q{q}" for q in range(1, 5)]
        return Check(
            "list",
            lists.source("quarter", "季度", quarters),
            title="季度有误",
            error=f"请从下拉列表选择 {year}Q1 到 {year}Q4 的季度 (文本 YYYYQn)。",
        ), f"{year}Q1 .. {year}Q4, 从下拉列表选择"
    q = "IFERROR(--RIGHT({c},1),0)"
    formula = (
        f'AND(LEN({{c}})=6,MID({{c}},5,1)="Q",ISNUMBER(-LEFT({{c}},4)),{q}>=1,{q}<=4,'
        f"OR(NOT(ISNUMBER({YEAR_NAME})),IFERROR(--LEFT({{c}},4),0)={YEAR_NAME}))"
    )
    return Check(
        "custom",
        formula,
        title="季度有误",
        error=f"季度应为文本 YYYYQn (如 2025Q1), 且在{where}所填年度之内。",
    ), "文本 YYYYQn (如 2025Q1), 在本年度之内"


def _date_check(year: int | None, where: str = "支部信息表") -> tuple[Check, str]:
    if year is not None:
        return Check(
            "date",
            f"DATE({year},1,1)",
            f"DATE({year},12,31)",
            "between",
            "日期有误",
            f"日期应在 {year}-01-01 到 {year}-12-31 之间。",
        ), f"日期 YYYY-MM-DD, 在 {year} 年内"
    y = f"ISNUMBER({YEAR_NAME})"
    return (
        Check(
            "date",
            f"DATE(IF({y},{YEAR_NAME},1900),1,1)",
            f"DATE(IF({y},{YEAR_NAME},9999),12,31)",
            "between",
            "日期有误",
            f"日期应为 YYYY-MM-DD, 且在{where}所填年度之内。",
        ),
        "日期 YYYY-MM-DD, 在本年度之内",
    )


class _Lists:
    """Drop-down sources: inline when short enough, else a column of the hidden code table; and
    lookup tables (code, value) that validation formulas read with VLOOKUP."""

    def __init__(self, wb: Workbook) -> None:
        self.wb = wb
        self.ws: Worksheet | None = None
        self.names: dict[str, str] = {}
        self.next_column = 1

    def _columns(self, key: str, headers: list[str], columns: list[list[Any]]) -> str:
        """Write ``columns`` side by side on the code table; the defined name covers their data."""
        if self.ws is None:
            self.ws = self.wb.create_sheet(LISTS_SHEET)
        ws = self.ws
        first = self.next_column
        for k, (text, values) in enumerate(zip(headers, columns, strict=True)):
            col = first + k
            head = put_cell(ws, 1, col, text)
            head.font = _BOLD
            for i, v in enumerate(values, start=2):
                cell = put_cell(ws, i, col, v)
                if isinstance(v, str):
                    cell.number_format = "@"
            ws.column_dimensions[get_column_letter(col)].width = _fit([head.value, *values])
        self.next_column = first + len(columns)
        name = f"list_{key}"
        a, b = get_column_letter(first), get_column_letter(first + len(columns) - 1)
        ref = f"{quote_sheetname(LISTS_SHEET)}!${a}$2:${b}${len(columns[0]) + 1}"
        self.wb.defined_names[name] = DefinedName(name, attr_text=ref)
        self.names[key] = name
        return name

    def source(self, key: str, label: str, values: list[str]) -> str:
        inline = ",".join(values)
        if _width(inline) <= INLINE_LIST_LIMIT and not any("," in v or '"' in v for v in values):
            return f'"{inline}"'
        if key in self.names:
            return self.names[key]
        return self._columns(key, [header_text(key, label)], [values])

    def column(self, key: str, header: str, values: list[Any]) -> str:
        """One column of the code table under its own name, for COUNTIF / COUNTIFS."""
        if key in self.names:
            return self.names[key]
        return self._columns(key, [header], [values])

    def lookup(self, key: str, headers: tuple[str, str], pairs: list[tuple[str, float]]) -> str:
        """A two-column table (code, value) on the code table, for ``VLOOKUP(code, name, 2, FALSE)``."""
        if key in self.names:
            return self.names[key]
        return self._columns(key, list(headers), [[c for c, _ in pairs], [v for _, v in pairs]])


# -- writing ----------------------------------------------------------------------------------


def _width(text: Any) -> int:
    """Display width: CJK and other wide characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in str(text))


def _fit(values: Iterable[Any], lo: int = 8, hi: int = 60) -> float:
    return float(min(hi, max(lo, max((_width(v) for v in values if v is not None), default=0) + 3)))


def _data_validation(
    check: Check, first: str, rng: str, prompt_title: str, prompt: str, letters: dict[str, str] | None = None
) -> DataValidation:
    """``{col:KEY}`` in a formula is column KEY's cell in the first data row (row 2): relative,
    so Excel moves it with each validated row."""

    def fill(f: str) -> str:
        f = f.replace("{c}", first).replace("{rng}", rng)
        for key, letter in (letters or {}).items():
            f = f.replace(f"{{col:{key}}}", f"{letter}2")
        if "{col:" in f:
            raise ValueError(f"validation formula names a column the sheet does not have: {f}")
        return f

    f1 = fill(check.formula1)
    f2 = fill(check.formula2) if check.formula2 else None
    return DataValidation(
        type=check.type,
        formula1=f1,
        formula2=f2,
        operator=check.operator,
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorStyle="stop",
        errorTitle=check.title[:32],
        error=check.error[:255],
        promptTitle=prompt_title[:32],
        prompt=prompt[:255],
    )


def _protect(ws: Worksheet) -> None:
    """Protect the sheet without a password; users may still resize and insert or delete rows."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = False
    p.formatRows = False
    p.insertRows = False
    p.deleteRows = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False


def _write_table(
    ws: Worksheet, columns: list[TemplateColumn], rows: list[dict[str, Any]], n_rows: int, freeze: str = "A2"
) -> None:
    """Headers in row 1 (locked), the columns below unlocked with their validation over ``n_rows``
    data rows (at least twice the prefilled ``rows``); panes frozen at ``freeze``."""
    last = 1 + max(n_rows, 2 * len(rows))
    letters = {col.key: get_column_letter(j) for j, col in enumerate(columns, start=1)}
    for j, col in enumerate(columns, start=1):
        letter = get_column_letter(j)
        head = put_cell(ws, 1, j, col.header)
        head.font = _BOLD
        head.fill = _REQUIRED_FILL if col.required else _OPTIONAL_FILL
        head.alignment = Alignment(vertical="center")
        head.protection = _LOCKED
        dim = ws.column_dimensions[letter]
        dim.width = _fit([col.header, *(r.get(col.key) for r in rows[:200])], lo=10)
        dim.protection = _UNLOCKED  # every cell typed below the header is unlocked
        dim.number_format = col.number_format
        if col.check is not None:
            dv = _data_validation(
                col.check, f"{letter}2", f"${letter}$2:${letter}${last}", col.header, col.hint, letters
            )
            dv.add(f"{letter}2:{letter}{last}")
            ws.add_data_validation(dv)
    for i, r in enumerate(rows, start=2):
        for j, col in enumerate(columns, start=1):
            v = r.get(col.key)
            if v is None or v == "":
                continue
            cell = put_cell(ws, i, j, v)
            cell.protection = _UNLOCKED
            cell.number_format = col.number_format
    ws.freeze_panes = freeze
    _protect(ws)


def _write_readme(ws: Worksheet, rows: list[tuple[str, list[Any]]]) -> None:
    widths = [22.0, 40.0, 10.0, 12.0, 12.0, 30.0]
    for i, (style, values) in enumerate(rows, start=1):
        for j, v in enumerate(values, start=1):
            cell = put_cell(ws, i, j, v)
            if style == "title":
                cell.font = _TITLE_FONT
            elif style == "h":
                cell.font = _HEADING_FONT
            elif style == "th":
                cell.font = _BOLD
                cell.fill = _OPTIONAL_FILL
            if style in ("th", "td") and j <= len(widths):
                widths[j - 1] = max(widths[j - 1], min(60.0, float(_width(v) + 3)))
            if style == "td" and isinstance(v, str):
                cell.number_format = "@"
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = w
    _protect(ws)
