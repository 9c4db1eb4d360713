"""Writing the tables of an audited workbook: sheets with Chinese headers and the key beside, cached
values for formulas, the figures checked on 核对, and the A4 page set-up of every sheet (SPEC 9)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from ...exceptions import RunError
from ...labels import YES_NO, label
from ...rules.engine import Result

# The engine's flags yes / no / tie as the formulas write them (SPEC 9: 是 / 否, never yes / no).
F_YES, F_NO, F_TIE = (f'"{YES_NO[k]}"' for k in ("yes", "no", "tie"))


DATE_FORMAT = "yyyy-mm-dd"


class Record(Protocol):
    """A row read by column name."""

    def _asdict(self) -> dict[str, Any]: ...


def plain(v: Any) -> Any:
    """A Python value xlsxwriter can write; None for blanks."""
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, (np.bool_, bool)):
        return "是" if v else "否"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def extreme_where(fn: str, values: str, conditions: list[str], none: str = "0") -> str:
    """MAXIFS / MINIFS (``fn``: ``MAX`` or ``MIN``) with functions Excel 2010 has, for an array
    formula (``write_array_formula``): the extreme of ``values`` over the rows where every
    condition (``range=value``) holds, and ``none`` when no row does. The empty match is decided
    by the formula itself, not left to how an engine treats MAX of nothing (SPEC 9)."""
    mask = "*".join(f"({c})" for c in conditions)
    beyond = "-9.99E+307" if fn == "MAX" else "9.99E+307"  # never the extreme of real figures
    return f"IF(SUMPRODUCT({mask})=0,{none},{fn}(IF({mask},{values},{beyond})))"


def write_array(ws: Worksheet, row: int, col: int, formula: str, fmt: Any, value: Any) -> None:
    """One cell's array formula (entered with Ctrl+Shift+Enter in Excel 2010) with its cached value."""
    ws.write_array_formula(row, col, row, col, formula, fmt, value)


def cached(v: Any) -> Any:
    """The cached value of a formula: a number, a text, or "" for a blank result; the engine's
    yes/no/tie as the formulas write them, 是/否/并列待定 (SPEC 9)."""
    v = plain(v)
    if v is None:
        return ""
    return YES_NO.get(v, v) if isinstance(v, str) else v


# -- printing (SPEC 9): A4, fitted to the page width, header rows and member columns on every page --

FONT = "Noto Sans CJK SC"


A4 = 9  # xlsxwriter's paper code


MARGIN = 0.4  # inches, left and right


# Printed pixels (96 per inch) of one column-width unit. Excel's is 7 (Calibri's digit) plus 5 of
# padding per column; LibreOffice without Calibri or its metric twin Carlito falls back to DejaVu
# Sans and prints about 9.4. Page breaks are planned with the wider one, so they hold everywhere.
PX_PER_UNIT = 9.5


PAGE_PX = {
    "portrait": (210 / 25.4 - 2 * MARGIN) * 96,
    "landscape": (297 / 25.4 - 2 * MARGIN) * 96,
}


MIN_FIT_SCALE = 0.6  # narrower than this when fitted to one page's width: printed over pages instead


PORTRAIT_MIN_SCALE = 0.8  # a sheet that fits across a portrait page at this scale prints portrait


PAGED_SCALE = 70  # per cent, for a sheet printed over several pages' width


LINE_HEIGHT = 16.0  # points per line of a wrapped header cell (Noto Sans CJK at 11 points)


TEXT_LINE_HEIGHT = 15.0  # points per line of wrapped text in a data cell


_WORDS = re.compile(r"[\u2e80-\uffff]|[^\s\u2e80-\uffff]+")


def _header_footer(text: str) -> str:
    """Header/footer text: ``&`` is a control character there, and Excel allows 255 characters."""
    return text.replace("&", "&&")[:120]


def text_width(text: str) -> float:
    """Printed width of ``text`` in column-width units: a CJK or full-width character takes about two."""
    return sum(2.0 if ord(ch) >= 0x2E80 else 1.0 for ch in text)


def wrapped_lines(text: str, width: float) -> int:
    """Lines ``text`` takes when wrapped in a column ``width`` units wide: lines break between
    Chinese characters and at spaces, and inside a word longer than the line."""
    lines = 0
    for part in text.split("\n"):
        n, used = 1, 0.0
        for word in _WORDS.findall(part):
            size = sum(1.8 if ord(ch) >= 0x2E80 else 1.1 for ch in word)
            gap = 1.0 if used and ord(word[0]) < 0x2E80 else 0.0
            if used and used + gap + size > width:
                n, used, gap = n + 1, 0.0, 0.0
            while size > width:  # a word longer than the line is broken inside
                n, size = n + 1, size - width
            used += gap + size
        lines += n
    return lines


def header_height(texts: Sequence[str], widths: Sequence[float]) -> float:
    """Height (points) of a header row whose wrapped ``texts`` sit in columns of ``widths``."""
    lines = max([1, *(wrapped_lines(t, w) for t, w in zip(texts, widths, strict=False))])
    return LINE_HEIGHT * lines + 4


def fit_rows(ws: Worksheet, columns: Sequence[tuple[float, pd.Series]], first_row: int = 1) -> None:
    """Rows tall enough for the wrapped text of ``columns`` (width, values from ``first_row``):
    neither LibreOffice nor every Excel fits a row's height to wrapped text when it opens a file."""
    if not columns:
        return
    heights: dict[int, int] = {}
    for width, values in columns:
        for i, v in enumerate(values.tolist()):
            if isinstance(v, str) and text_width(v) > width:
                heights[i] = max(heights.get(i, 1), wrapped_lines(v, width))
    for i, lines in heights.items():
        if lines > 1:
            ws.set_row(first_row + i, TEXT_LINE_HEIGHT * lines + 2)


def _column_px(width: float) -> float:
    return width * PX_PER_UNIT + 5


def page_breaks(
    widths: Sequence[float], repeat_columns: int, groups: Sequence[tuple[int, int]], scale: int
) -> list[int]:
    """Columns that start a new landscape page at ``scale`` per cent, the ``repeat_columns`` on the
    left of every page, never inside one of ``groups`` (first, last column; a figure's columns)."""
    capacity = 0.97 * PAGE_PX["landscape"] / (scale / 100) - sum(_column_px(x) for x in widths[:repeat_columns])
    starts = dict(groups)
    breaks, used, j = [], 0.0, repeat_columns
    while j < len(widths):
        last = starts.get(j, j)
        size = sum(_column_px(x) for x in widths[j : last + 1])
        if used and used + size > capacity:
            breaks.append(j)
            used = 0.0
        used += size
        j = last + 1
    return breaks


def print_setup(
    ws: Worksheet,
    widths: Sequence[float],
    title: str,
    repeat_columns: int = 0,
    repeat_rows: int = 1,
    groups: Sequence[tuple[int, int]] = (),
    gridlines: bool = True,
) -> str:
    """Page set-up of a sheet a reviewer may print (SPEC 9): A4; portrait when its columns fit
    across, else landscape fitted to the page width; the first ``repeat_rows`` rows and the first
    ``repeat_columns`` columns (a member's id and name) repeated on every page; the sheet's name
    and ``title`` in the page header, page numbers in the footer; gridlines printed.

    A sheet so wide that one page's width would print it below ``MIN_FIT_SCALE`` (核对: three
    columns per figure; 结果 with ten items) prints at ``PAGED_SCALE`` over several pages instead,
    each starting at a whole group of ``groups`` (an item's or a figure's columns), the member's
    id and name on the left of each. Returns the mode: ``portrait``, ``landscape`` or ``pages``."""
    ws.set_paper(A4)
    ws.set_margins(left=MARGIN, right=MARGIN, top=0.75, bottom=0.6)
    font = f'&"{FONT},Regular"&9'
    ws.set_header(f"&L{font}&A&C{font}{_header_footer(title)}", {"margin": 0.3})
    ws.set_footer(f"&C{font}第 &P 页, 共 &N 页", {"margin": 0.3})
    if repeat_rows:
        ws.repeat_rows(0, repeat_rows - 1)
    if repeat_columns:
        ws.repeat_columns(0, repeat_columns - 1)
    if gridlines:
        ws.hide_gridlines(0)  # printed too: a table of figures reads along its lines
    total = sum(_column_px(x) for x in widths)
    if total * PORTRAIT_MIN_SCALE <= PAGE_PX["portrait"]:
        ws.set_portrait()
        ws.fit_to_pages(1, 0)
        return "portrait"
    ws.set_landscape()
    if total * MIN_FIT_SCALE <= PAGE_PX["landscape"]:
        ws.fit_to_pages(1, 0)
        return "landscape"
    ws.set_print_scale(PAGED_SCALE)
    ws.set_v_pagebreaks(page_breaks(widths, repeat_columns, groups, PAGED_SCALE)[:MAX_PAGE_BREAKS])
    return "pages"


MAX_PAGE_BREAKS = 1023  # Excel's limit of manual page breaks per sheet


@dataclass
class Sheet:
    """A written table: where each key's column is and how many data rows it has."""

    name: str
    columns: dict[str, int]
    rows: int

    def col(self, key: str) -> str:
        return str(xl_col_to_name(self.columns[key]))

    def rng(self, key: str) -> str:
        """Absolute data range of a column, at least one row: ``月度评分!$A$2:$A$145``."""
        c = self.col(key)
        return f"'{self.name}'!${c}$2:${c}${max(2, self.rows + 1)}"


@dataclass
class Checks:
    """Figures to compare on 核对: per member, the formula cell and the package's value."""

    columns: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # key -> (group, order, label)
    rows: dict[str, dict[str, tuple[str, Any]]] = field(default_factory=dict)  # member -> key -> (cell, value)

    def add(self, member: str, key: str, text: str, cell: str, value: Any, group: int = 0) -> None:
        if key not in self.columns:
            self.columns[key] = (group, len(self.columns), text)
        self.rows.setdefault(member, {})[key] = (cell, cached(value))


def text_literal(text: str) -> str:
    """``text`` as a string constant inside a formula: quotes doubled, so text from a scheme file
    (which users edit) can never close the string and add formula code of its own."""
    return '"' + text.replace('"', '""') + '"'


def _group_key(key: str) -> str:
    """Columns printed together: an item's (``I01_mean``, ``I01_appraisal``, ``I01_score``), an
    appraisal's (``I01_raters``, ``I01_sum``, ``I01_average``), the totals, the results."""
    for suffix in ("_mean", "_appraisal", "_score", "_raters", "_sum", "_average"):
        if key.endswith(suffix) and key not in ("quarter_score", "half_score"):
            return key[: -len(suffix)]
    if key in ("monthly_mean", "appraisal", "base", "bonus", "deduction", "total_raw", "total"):
        return "total"
    if key in ("stars", "computed_stars", "star_reason", "grade", "rank_basis", "rank", "tier", "annual_star"):
        return "result"
    return key


def _groups(keys: list[str]) -> list[tuple[int, int]]:
    """(first, last) column of each run of columns with the same :func:`_group_key`."""
    out: list[tuple[int, int]] = []
    for j, key in enumerate(keys):
        if out and j > 0 and _group_key(keys[j - 1]) == _group_key(key):
            out[-1] = (out[-1][0], j)
        else:
            out.append((j, j))
    return out


def _value_width(values: pd.Series) -> float:
    """Width (column-width units) the values of a column need, from its first rows."""
    head = values.head(200)
    if pd.api.types.is_numeric_dtype(head) and not pd.api.types.is_bool_dtype(head):
        numbers = head.to_numpy(dtype=float, na_value=np.nan)
        numbers = numbers[~np.isnan(numbers)]
        if not len(numbers):
            return 0.0
        widest = float(numbers[np.argmax(np.abs(numbers))])
        fraction = not np.all(numbers == np.round(numbers))
        return float(len(f"{widest:.2f}" if fraction else str(int(widest))))
    texts = {str(v) for v in head.tolist() if plain(v) is not None}
    return max((text_width(t) for t in texts), default=0.0)


def column_width(header: str, values: pd.Series | None) -> float:
    """A printable width: what the values need (6 to 30 units) and, up to 10 units, the header's
    longest unbroken word such as ``(member_id)``; Chinese headers wrap between characters."""
    content = _value_width(values) if values is not None else 0.0
    word = max((text_width(w) for w in header.split() if text_width(w) == len(w)), default=0.0)
    return float(min(30.0, max(6.0, content + 1.5, min(word, 10.0))))


# Columns whose width is not what their values need: long text wrapped (reasons, names of rules),
# formula columns whose values the table does not hold.
TABLE_WIDTHS: dict[str, float] = {
    "key": 13.0,
    "reason": 22.0,
    "blocked": 18.0,
    "rule_name": 14.0,
    "condition_name": 16.0,
    "evidence": 12.0,
    "note": 12.0,
    "approved_by": 9.0,
    "status": 10.0,
    "applies": 6.0,
    "eligible": 6.0,
    "member_exempt": 8.0,
}


WRAPPED = frozenset(
    {"reason", "blocked", "rule_name", "condition_name", "evidence", "note", "approved_by", "provenance_value"}
)


@dataclass
class Layout:
    """How a sheet prints: its column widths, how many leading columns (member id and name) repeat
    on each page, and the groups of columns (first, last) a page never splits."""

    widths: list[float]
    repeat_columns: int = 0
    groups: list[tuple[int, int]] = field(default_factory=list)
    repeat_rows: int = 1
    gridlines: bool = True


@dataclass
class Writer:
    wb: xlsxwriter.Workbook
    header: Any
    amended: Any
    amended2: Any  # an amended score in a column shown with two decimals
    number: Any
    date: Any
    wrap: Any = None  # long text wrapped in its column
    names: dict[str, str] = field(default_factory=dict)  # member id -> name, beside every member id
    fractions: set[tuple[str, int]] = field(default_factory=set)  # (sheet, column) shown with two decimals
    sheets: dict[str, Sheet] = field(default_factory=dict)
    layout: dict[str, Layout] = field(default_factory=dict)  # how each sheet prints

    def cell(self, ws: Any, r: int, c: int, v: Any, fmt: Any = None) -> None:
        v = plain(v)
        if v is None:
            return
        if isinstance(v, str):
            ws.write_string(r, c, v, fmt)
        else:
            ws.write_number(r, c, v, fmt)

    def column(self, ws: Any, j: int, values: pd.Series) -> None:
        """One column from row 2; numeric columns skip the per-cell type dispatch of ``cell``. A
        column of fractions shows two decimals (the cells keep the unrounded values)."""
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            write = ws.write_number
            numbers = values.to_numpy(dtype=float, na_value=np.nan)
            known = numbers[~np.isnan(numbers)]
            fmt = self.number if len(known) and not np.all(known == np.round(known)) else None
            if fmt is not None:
                self.fractions.add((ws.name, j))
            for i, v in enumerate(numbers.tolist(), start=1):
                if v == v:  # not NaN
                    write(i, j, v, fmt)
            return
        for i, v in enumerate(values.to_numpy(dtype=object).tolist(), start=1):
            if type(v) is str:
                ws.write_string(i, j, v)
            else:
                self.cell(ws, i, j, v)

    def table(
        self,
        name: str,
        df: pd.DataFrame,
        labels: dict[str, str],
        key: str | None = None,
        formulas: tuple[str, ...] = (),
    ) -> Sheet:
        """Write ``df`` as a sheet; the ``formulas`` columns get only their header (the caller
        writes their formulas). A table of members gets each member's name beside the id, and
        both are repeated on every printed page."""
        fits(name, len(df))
        df = self.with_names(df)
        ws = self.wb.add_worksheet(name)
        texts = [labels.get(str(col), str(col)) for col in df.columns]
        widths = [
            TABLE_WIDTHS.get(str(col)) or column_width(text, df[col])
            for text, col in zip(texts, df.columns, strict=True)
        ]
        for j, (text, width) in enumerate(zip(texts, widths, strict=True)):
            ws.write_string(0, j, text, self.header)
            ws.set_column(j, j, width, self.wrap if str(df.columns[j]) in WRAPPED else None)
        ws.set_row(0, header_height(texts, widths))
        for j, col in enumerate(df.columns):
            if str(col) not in formulas:
                self.column(ws, j, df[col])
        fit_rows(ws, [(widths[j], df[col]) for j, col in enumerate(df.columns) if str(col) in WRAPPED])
        per_member = list(df.columns[:2]) == ["member_id", "name"]
        ws.freeze_panes(1, 2 if per_member else 1)
        self.layout[name] = Layout(widths, 2 if per_member else 0, _groups(list(df.columns)))
        sheet = Sheet(name, {str(c): j for j, c in enumerate(df.columns)}, len(df))
        self.sheets[key or name] = sheet
        return sheet

    def with_names(self, df: pd.DataFrame) -> pd.DataFrame:
        """``df`` with a ``name`` column after a leading ``member_id`` (a reader, and every printed
        page, sees who a row is about)."""
        if not self.names or list(df.columns[:1]) != ["member_id"] or "name" in df.columns:
            return df
        out = df.copy()
        out.insert(1, "name", out["member_id"].map(self.names))
        return out

    def note(self, name: str, sheet: Sheet, notes: dict[str, str]) -> None:
        """Header comments: why a column is a value, or what its formula decides."""
        ws = self.wb.get_worksheet_by_name(name)
        for key, text in notes.items():
            if key in sheet.columns:
                ws.write_comment(0, sheet.columns[key], text, {"x_scale": 2.2, "y_scale": 1.6})


EXCEL_MAX_ROWS = 1_048_576


EXCEL_MAX_COLUMNS = 16_384


def fits(sheet: str, data_rows: int) -> None:
    """xlsxwriter drops cells beyond Excel's last row without an error: refuse instead."""
    if data_rows + 1 > EXCEL_MAX_ROWS:
        raise RunError(
            f"「{sheet}」需要 {data_rows + 1:,} 行, 超过 "
            f"Excel 每张工作表 {EXCEL_MAX_ROWS:,} 行的上限 (too many rows for one sheet); "
            "请按支部分别运行, 单位汇总用 batch 的 roll-up"
        )


# the headers of the subject's id and name where the subject is a branch (SPEC 3.9)
BRANCH_HEADERS: dict[str, str] = {
    "member_id": "支部编号 (branch_id)",
    "name": "支部名称 (branch_name)",
    "monthly_mean": "月平均得分 (monthly_mean)",
    "base": "年度得分 (base)",
    "total_raw": "年度得分(未四舍五入) (total_raw)",
    "total": "年度得分 (score)",
    "grade": "定级 (level)",
    "month_total": "月度得分 (score)",
    "month_rank": "月度排名 (rank)",
    "quarter_score": "季考得分 (score)",
    "quarter_rank": "季考排名 (rank)",
}


def subject_headers(result: Result) -> dict[str, str]:
    """The subject's id and name headers: a member's, or a branch's in a unit's workbook."""
    if result.scheme.scheme.subject == "branch":
        return BRANCH_HEADERS
    return {"member_id": label("member_id"), "name": label("name")}


def labels_of(result: Result) -> LabelMap:
    names = {i.code: i.name for i in result.scheme.scheme.items}
    return LabelMap(names, subject_headers(result))


class LabelMap(dict[str, str]):
    def __init__(self, names: dict[str, str], headers: dict[str, str] | None = None) -> None:
        super().__init__()
        self.names = names
        self.headers = headers or {}

    def get(self, key: str, default: Any = None) -> str:
        return self.headers.get(key) or label(key, self.names)


def write_dates(w: Writer, ws: Worksheet, col: int, values: pd.Series) -> None:
    """Real dates (not text), so formulas compare and take MONTH of them."""
    for i, d in enumerate(values.tolist(), start=1):
        if isinstance(d, (dt.date, dt.datetime)):
            ws.write_datetime(i, col, d if isinstance(d, dt.datetime) else dt.datetime(d.year, d.month, d.day), w.date)


# -- 结果 -------------------------------------------------------------------------------------


RESULT_WIDTHS: dict[str, float] = {
    "member_id": 11.0,
    "name": 8.0,
    "exempt": 6.5,
    "veto": 6.5,
    "months": 6.5,
    "stars": 6.5,
    "rank": 6.5,
    "quarter_rank": 6.5,
    "total_raw": 12.0,
    "grade": 9.0,
    "tier": 9.0,
    "annual_star": 9.0,
    "quarter_star": 9.0,
}


def name_width(w: Writer) -> float:
    """The name column's width: a person's name fits in 8 characters, a branch's (in a unit's
    workbook, SPEC 3.9) needs up to 20, two per Chinese character."""
    longest = max((len(n) for n in w.names.values()), default=0)
    return max(RESULT_WIDTHS["name"], min(20.0, 2.0 * longest + 1.0))


def results_header(w: Writer, ws: Worksheet, res: Sheet, labels: LabelMap) -> None:
    """The header of 结果 (``中文 (key)``, wrapped), widths that print the sheet on a page's width
    with the member's id and name first on every page, the unrounded total labelled as such."""
    texts, widths = [], []
    for c, j in res.columns.items():
        text = {"rank_basis": "排名用分 (rank_basis)"}.get(c) or labels.get(c)
        item_column = c.endswith(("_mean", "_appraisal", "_score")) and c not in ("quarter_score", "half_score")
        width = name_width(w) if c == "name" else RESULT_WIDTHS.get(c, 7.5 if item_column else 9.0)
        ws.write_string(0, j, text, w.header)
        ws.set_column(j, j, width)
        texts.append(text)
        widths.append(width)
    ws.set_row(0, header_height(texts, widths))
    ws.freeze_panes(1, 2)
    if "total_raw" in res.columns:
        ws.write_comment(
            0,
            res.columns["total_raw"],
            "未四舍五入的年度总积分 (unrounded); 年度总积分 = ROUND(本列, 2), 星级、等级和排名按年度总积分",
            {"x_scale": 2.2, "y_scale": 1.2},
        )
    w.layout["结果"] = Layout(widths, 2, _groups(list(res.columns)))
