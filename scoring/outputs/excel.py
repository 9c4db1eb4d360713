"""The results workbook of a run: intermediate tables as sheets, results as live formulas.

Written with xlsxwriter rather than openpyxl because xlsxwriter stores a cached value beside each
formula (``write_formula(..., value=...)``): a reader that does not recalculate (pandas, a
previewer, a phone) still sees the package's figures, while Excel or LibreOffice recompute the
same figures from the intermediate sheets. ``strings_to_formulas`` is off and every text goes
through ``write_string``, so user text such as ``=HYPERLINK(...)`` is never a formula.

The spreadsheet decides what a formula can decide, from the input rows it shows: which
adjustments count (evidence, date, exempt member, then highest-only, sum or sum capped per
group), which vetoes apply (a majority of the members on a show of hands), ranks, tiers,
季度之星 and 年度之星 against their quotas. What stays a value is an input or a catalogue lookup
(rule names and points, members in the branch on a date, hand-entered stars of exempt members),
and each such column says so in a cell comment.

Layout: every sheet has its header in row 1 and data from row 2; parameters are named cells on
参数 (``月度权重``, ``测评权重``, ``否决等级``, ``期末月份``, quotas, ...), the bands table is the named
ranges ``分档下限`` / ``分档星级`` / ``分档等级``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
import xlsxwriter
from pandas.api.typing import NAType
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from ..exceptions import RunError
from ..labels import YES_NO, label, provenance_label, shown
from ..rules.engine import REASONS, Result, share_quota, sub_events
from ..rules.scheme import Band, Scheme
from .publicity import add_publicity_sheets

README_LINES: list[str] = [
    "本工作簿由党员积分制管理评分程序 (scoring) 生成。 This workbook was written by the scoring package.",
    "",
    "怎样读 (how to read):",
    "1. 「结果」表中的每个积分都是公式, 引用「月度评分」「月度总分」「民主测评」「加减分」「一票否决」和「参数」表;",
    "   在 Excel 中用「公式 → 追踪引用单元格」(Trace Precedents) 可一路追到每个月的评分单元格。",
    (
        "2. 权重、名额比例等是「参数」表中的命名单元格 (月度权重、测评权重、期末月份、季度之星名额、年度之星名额等), "
        "星级和等级按「参数」表中的分档表查找 (LOOKUP)。"
    ),
    (
        "3. 「核对」表每名党员一行, 逐项 (各项月平均、测评、项目积分、年度总积分、星级、等级、排名、档次、年度之星、"
        "各季度和半年的积分、排名和季度之星)"
    ),
    "   列出工作簿公式值、程序计算值和核对结果 (OK 或差值); 「全部一致」列汇总一行。 重新计算后应全部为 OK。",
    "4. 「月度评分」中黄色单元格是经过更正的评分, 批注中有原分数; 「评分更正」表列出每条更正。",
    "5. 「民主测评」只有测评人数、合计和平均分, 不含任何单张选票 (无记名测评)。",
    (
        "6. 「加减分」由公式判定每条加减分能否计入 (佐证、日期、是否不列入积分) "
        "和计入分值 (只计最高 / 累加 / 分组封顶), 并给出原因;"
    ),
    "   「一票否决」由公式判定是否生效 (举手表决须赞成票超过当月党员人数的一半)。",
    "7. 排名用 RANK 公式; 季度之星、年度之星按「参数」表中的名额由公式确定: 名次加并列人数不超过名额为 是,",
    "   名次在名额内但并列跨过名额线为 并列待定 (由支委会研究), 否则为 否; 排序档次按排名人数和各档比例由公式确定。",
    (
        "8. 保留为数值的列 (加减分目录的名称和分值、当月党员人数、不列入积分党员直接评定的星级等) 是输入或方案目录, "
        "表头批注中有说明。"
    ),
    "9. 「来源」表记录输入文件、积分方案及其 SHA-256、程序版本和运行时间; 「参数」表记录支部和期间。",
    (
        "10. 打印: 每张表按 A4 设置, 较宽的表横向并缩放到一页宽, 每页重复表头和党员编号、姓名;"
        " 积分显示两位小数 (单元格中的数值不取舍), 「年度总积分(未四舍五入)」列是取舍前的数值。"
    ),
    "    「核对」列数很多, 每页打印若干项核对, 每页左侧重复党员编号、姓名和「全部一致」。",
]

# The engine's flags yes / no / tie as the formulas write them (SPEC 9: 是 / 否, never yes / no).
F_YES, F_NO, F_TIE = (f'"{YES_NO[k]}"' for k in ("yes", "no", "tie"))

# The engine's reasons, as the spreadsheet's formulas write them.
R_APPLIED = REASONS["applied"]
VETO_APPLIES = "否决生效 (veto applies)"
VETO_NO_MAJORITY = "赞成票未过全体党员半数, 否决不生效 (no majority of the branch's members)"
DATE_FORMAT = "yyyy-mm-dd"


# Rows of ``DataFrame.itertuples(index=False)`` as this module reads them. pandas-stubs types every
# field as any scalar; these name the columns used and the types the result's tables hold
# (an ``Int64`` column gives a numpy integer or pd.NA).


class _AmendmentRow(Protocol):
    """A row of ``Result.amendments``."""

    member_id: str
    month: float
    item: str
    original: float
    new_score: float
    reason: str
    decided_on: dt.date


class _SpanRow(Protocol):
    """A row of ``Result.quarters`` (or, without rank, quota and star, of ``Result.halves``)."""

    member_id: str
    months: int
    score: float
    score_rounded: float
    rank: np.int64 | NAType
    scored_members: int
    quota: int
    quarter_star: str

    def _asdict(self) -> dict[str, Any]: ...


class _VetoRow(Protocol):
    """A row of ``Result.vetoes``."""

    date: dt.date
    applies: bool
    reason: str


class _AdjustmentRow(Protocol):
    """A row of ``Result.adjustments``."""

    member_id: str
    date: dt.date
    kind: str
    applied_points: float
    status: str
    reason: str


class _AnnualRow(Protocol):
    """A row of ``Result.annual``."""

    member_id: str
    name: str
    exempt: str
    veto: str
    base: float
    bonus: float
    deduction: float
    base_points: float
    total_raw: float
    total: float
    stars: np.int64 | NAType
    grade: str | None
    rank: np.int64 | NAType
    tier: str | float  # NaN without a tier
    annual_star: str


class _Record(Protocol):
    """A row read by column name."""

    def _asdict(self) -> dict[str, Any]: ...


def _plain(v: Any) -> Any:
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


def _cached(v: Any) -> Any:
    """The cached value of a formula: a number, a text, or "" for a blank result; the engine's
    yes/no/tie as the formulas write them, 是/否/并列待定 (SPEC 9)."""
    v = _plain(v)
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
class _Checks:
    """Figures to compare on 核对: per member, the formula cell and the package's value."""

    columns: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # key -> (group, order, label)
    rows: dict[str, dict[str, tuple[str, Any]]] = field(default_factory=dict)  # member -> key -> (cell, value)

    def add(self, member: str, key: str, text: str, cell: str, value: Any, group: int = 0) -> None:
        if key not in self.columns:
            self.columns[key] = (group, len(self.columns), text)
        self.rows.setdefault(member, {})[key] = (cell, _cached(value))


def _text_literal(text: str) -> str:
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
    if key in ("stars", "grade", "rank_basis", "rank", "tier", "annual_star"):
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
    texts = {str(v) for v in head.tolist() if _plain(v) is not None}
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
class _Layout:
    """How a sheet prints: its column widths, how many leading columns (member id and name) repeat
    on each page, and the groups of columns (first, last) a page never splits."""

    widths: list[float]
    repeat_columns: int = 0
    groups: list[tuple[int, int]] = field(default_factory=list)
    repeat_rows: int = 1
    gridlines: bool = True


@dataclass
class _Writer:
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
    layout: dict[str, _Layout] = field(default_factory=dict)  # how each sheet prints

    def cell(self, ws: Any, r: int, c: int, v: Any, fmt: Any = None) -> None:
        v = _plain(v)
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
        _fits(name, len(df))
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
        self.layout[name] = _Layout(widths, 2 if per_member else 0, _groups(list(df.columns)))
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


def _fits(sheet: str, data_rows: int) -> None:
    """xlsxwriter drops cells beyond Excel's last row without an error: refuse instead."""
    if data_rows + 1 > EXCEL_MAX_ROWS:
        raise RunError(
            f"「{sheet}」需要 {data_rows + 1:,} 行, 超过 "
            f"Excel 每张工作表 {EXCEL_MAX_ROWS:,} 行的上限 (too many rows for one sheet); "
            "请按支部分别运行, 单位汇总用 batch 的 roll-up"
        )


def _labels(result: Result) -> _LabelMap:
    names = {i.code: i.name for i in result.scheme.scheme.items}
    return _LabelMap(names)


class _LabelMap(dict[str, str]):
    def __init__(self, names: dict[str, str]) -> None:
        super().__init__()
        self.names = names

    def get(self, key: str, default: Any = None) -> str:
        return label(key, self.names)


# -- the layout of 结果 (needed before it is written: 加减分 refers to its exempt column) ----------


def _year_columns(result: Result) -> list[str]:
    s = result.scheme.scheme
    cols: list[str] = ["member_id", "name", "exempt", "veto", "months"]
    if s.year.by == "per_item":
        for c in s.item_codes:
            cols += [f"{c}_mean"] + ([f"{c}_appraisal"] if s.appraisal.mode == "per_item" else []) + [f"{c}_score"]
    elif s.cadence != "none":
        cols += ["monthly_mean"] + (["appraisal"] if s.appraisal.mode == "single" else [])
    elif s.appraisal.mode == "single":
        cols += ["appraisal"]
    cols += [] if s.cadence == "none" else ["base"]
    cols += ["base_points"] if s.base is not None else []
    cols += ["bonus", "deduction"] if s.year.events else []
    cols += ["total_raw", "total"]
    cols += (["stars"] if s.has_stars else []) + (["grade"] if s.has_grades else []) + ["rank_basis", "rank"]
    tiers = s.branch_tiers or s.band_tiers
    cols += (["tier"] if tiers else []) + (["annual_star"] if s.annual_star is not None else [])
    return cols


# what a vetoed member of a no-score scheme still shows (SPEC 3.2): the months, grade and veto
_SHOWN_UNDER_VETO = frozenset({"veto", "months", "stars", "grade", "rank_basis", "rank", "tier", "annual_star"})


def _veto_wrap(s: Scheme, vetoed: str, formula: str) -> str:
    """``formula`` under the scheme's veto when ``vetoed`` holds: blank, capped at 否决封顶分, or 0."""
    effect = s.veto.effect
    if effect == "no_score":
        return f'IF({vetoed},"",{formula})'
    if effect == "cap":
        return f"IF({vetoed},MIN({formula},否决封顶分),{formula})"
    if effect == "zero":
        return f"IF({vetoed},0,{formula})"
    return formula


def _vetoed_by(result: Result, member_id: str) -> bool:
    """Whether a veto that applies in the run's period names the member."""
    v = result.vetoes
    return bool(len(v)) and bool((v["applies"] & (v["member_id"] == member_id)).any())


def _period_key(result: Result) -> str:
    return {"month": "month_total", "quarter": "quarter_score", "half": "half_score"}[result.period.kind]


# a quarter's published columns besides its score, formed on 季度汇总 (running figures, tier)
QUARTER_EXTRAS = ("span_bonus", "span_deduction", "bonus", "deduction", "base_points", "tier")


def _period_columns(result: Result) -> list[str]:
    s = result.scheme.scheme
    p = result.period
    cols = ["member_id", "name", "exempt", "veto", "months", _period_key(result)]
    if p.kind == "month":
        cols += ["rank_basis", "month_rank"]
    if p.kind == "quarter":
        cols += ["rank_basis", "quarter_rank"] + (["quarter_star"] if s.quarter_star is not None else [])
        cols += [k for k in QUARTER_EXTRAS if k in result.quarters]
    elif p.kind == "half" and s.quarter_star is not None:
        cols += [f"q{q}_star" for q in p.quarters]
    return cols


def write_results_workbook(result: Result, path: Path, provenance: dict[str, Any]) -> Path:
    """Write the audited workbook of a run and return its path."""
    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    font = {"font_name": FONT}
    w = _Writer(
        wb,
        header=wb.add_format(font | {"bold": True, "bg_color": "#F2DCDB", "text_wrap": True, "valign": "top"}),
        amended=wb.add_format(font | {"bg_color": "#FFF2CC"}),
        amended2=wb.add_format(font | {"bg_color": "#FFF2CC", "num_format": "0.00"}),
        number=wb.add_format(font | {"num_format": "0.00"}),
        date=wb.add_format(font | {"num_format": DATE_FORMAT}),
        wrap=wb.add_format({"text_wrap": True}),
        names=dict(zip(result.members["member_id"].astype(str), result.members["name"].astype(str), strict=True)),
    )
    labels = _labels(result)
    s = result.scheme.scheme
    p = result.period
    checks = _Checks()

    ws = wb.add_worksheet("说明")
    for i, line in enumerate(README_LINES):
        ws.write_string(i, 0, line)
    ws.set_column(0, 0, 110, w.wrap)
    fit_rows(ws, [(110.0, pd.Series(README_LINES))], first_row=0)
    w.layout["说明"] = _Layout([110.0], repeat_rows=0, gridlines=False)
    prov = pd.DataFrame(
        {
            "provenance_key": [provenance_label(k) for k in provenance],
            "provenance_value": [str(shown(v)) for v in provenance.values()],
        }
    )
    w.table("来源", prov, {"provenance_key": "项目 (key)", "provenance_value": "内容 (value)"})
    params = _parameters(w, result)
    results_ws = wb.add_worksheet("结果")
    check_ws = wb.add_worksheet("核对")
    cols = _year_columns(result) if p.kind == "year" else _period_columns(result)
    n_rows = len(result.annual) if p.kind == "year" else len(result.members)
    w.sheets["results"] = Sheet("结果", {c: j for j, c in enumerate(cols)}, n_rows)

    # 一票否决 and 加减分 first: each sub-period's figure and every span add the events dated in them
    _vetoes(w, result)
    _adjustments(w, result)
    _scores_and_totals(w, result, labels)
    if s.sub_months <= 3:  # a scheme scored once a year has no quarters or half-years
        _spans(w, result, "quarter", "季度汇总", result.quarters, checks)
        _spans(w, result, "half", "半年汇总", result.halves, checks)
    if p.kind == "year" and s.appraisal.mode != "none":
        _appraisal(w, result)

    if p.kind == "year":
        _year_results(w, result, results_ws, checks)
    else:
        _period_results(w, result, results_ws, checks)
    _quota_cells(w, result, params)
    _check_sheet(w, result, check_ws, checks)

    _print_ready(w, result)
    add_publicity_sheets(wb, result)  # 公示, 积分卡, 组织处置 (print-ready)
    wb.close()
    return path


SCORE_SHEETS = {"month": "月度评分", "quarter": "季度评分", "year": "年度评分", "none": "项目评分"}
TOTAL_SHEETS = {"month": "月度总分", "quarter": "季度总分", "year": "年度总分", "none": "项目总分"}


def _scores_and_totals(w: _Writer, result: Result, labels: _LabelMap) -> None:
    """The item scores of each sub-period (amended cells in yellow with the original in a note)
    and, over them, each sub-period's total, group subtotals, the events dated in it and its
    figure, as formulas. A sub-period is a month, or a quarter or the year dated by its last month."""
    s = result.scheme.scheme
    items = s.item_codes
    scores = result.item_scores.copy()
    scores["quarter"] = (scores["month"].astype(int) - 1) // 3 + 1
    am = result.amendments
    amended_cells: dict[tuple[int, str], _AmendmentRow] = {}
    if len(am):
        pos = {(m, int(mo)): i for i, (m, mo) in enumerate(zip(scores["member_id"], scores["month"], strict=True))}
        for r in cast(Iterator[_AmendmentRow], am.itertuples(index=False)):
            amended_cells[(pos[(r.member_id, int(r.month))], r.item)] = r
    scores = scores[["member_id", "month", "quarter", *items, "row"]]
    name = SCORE_SHEETS[s.cadence]
    ms = w.table(name, scores, labels, key="scores")
    sws = w.wb.get_worksheet_by_name(name)
    for (i, item), r in amended_cells.items():
        j = ms.columns[item]
        sws.write_number(i + 1, j, float(r.new_score), w.amended2 if (name, j) in w.fractions else w.amended)
        sws.write_comment(i + 1, j, f"已更正: 原 {r.original:g} → {r.new_score:g}; {r.reason}; {r.decided_on}")
    if len(am):
        w.table(
            "评分更正",
            am[["member_id", "month", "item", "original", "new_score", "reason", "decided_on", "row", "target_row"]],
            labels,
            key="amendments",
        )
    groups = [f"group_{g.code}" for g in s.item_groups]
    extra = ["events"] if "events" in result.monthly_totals else []
    totals = result.monthly_totals.assign(quarter=lambda d: (d["month"].astype(int) - 1) // 3 + 1)[
        ["member_id", "month", "quarter", *groups, "total", *extra, "figure", "row"]
    ]
    total_name = TOTAL_SHEETS[s.cadence]
    formulas = (*groups, "total", *extra, "figure")
    group_names = {f"group_{g.code}": f"{g.name}小计" for g in s.item_groups}
    mt = w.table(total_name, totals, _LabelMap({**labels, **group_names}), key="totals", formulas=formulas)
    tws = w.wb.get_worksheet_by_name(total_name)
    adj = w.sheets["adjustments"]
    at, col = mt.columns, mt.col
    first_item, last_item = (ms.col(items[0]), ms.col(items[-1])) if items else ("A", "A")
    for i, rd in enumerate(totals.to_dict("records"), start=1):
        row = i + 1
        for g in s.item_groups:
            cells = "+".join(f"'{name}'!{ms.col(it.code)}{row}" for it in s.items if it.group == g.code)
            tws.write_formula(i, at[f"group_{g.code}"], f"={cells}", w.number, float(rd[f"group_{g.code}"]))
        tws.write_formula(
            i, at["total"], f"=SUM('{name}'!{first_item}{row}:{last_item}{row})", w.number, float(rd["total"])
        )
        figure = f"{col('total')}{row}"
        if extra:  # the events dated in this sub-period enter its figure (seed 004 8:2)
            month = f"{col('month')}{row}"
            crit = (
                f"{adj.rng('member_id')},{col('member_id')}{row},"
                f'{adj.rng("month")},">="&({month}-{s.sub_months - 1}),{adj.rng("month")},"<="&{month}'
            )
            tws.write_formula(
                i, at["events"], f"=SUMIFS({adj.rng('applied_points')},{crit})", w.number, float(rd["events"])
            )
            figure += f"+{col('events')}{row}"
        tws.write_formula(i, at["figure"], f"={figure}", w.number, float(rd["figure"]))
    w.note(
        total_name,
        mt,
        {
            "total": "公式: 本期各项评分之和",
            "figure": "公式: 本期总分" + (" + 本期计入的加减分 (按日期)" if extra else ""),
            **dict.fromkeys(groups, "公式: 本大项各小项评分之和"),
        },
    )


def _print_ready(w: _Writer, result: Result) -> None:
    """Page set-up of every sheet written so far (SPEC 9); 核对 has its own (:func:`_check_print_setup`)."""
    title = f"{result.branch_id} {result.branch_name}  {result.period.label}"
    for name, layout in w.layout.items():
        print_setup(
            w.wb.get_worksheet_by_name(name),
            layout.widths,
            title,
            repeat_columns=layout.repeat_columns,
            repeat_rows=layout.repeat_rows,
            groups=layout.groups,
            gridlines=layout.gridlines,
        )


# -- 参数 -------------------------------------------------------------------------------------


@dataclass
class _Params:
    ws: Worksheet
    next_row: int  # the next free row (0-based) of the key/value table


def _param(
    w: _Writer,
    pr: _Params,
    key: str,
    name: str,
    value: Any,
    defined: str | None = None,
    formula: str | None = None,
    note: str | None = None,
) -> None:
    """One key/value row on 参数, optionally a named cell; ``formula`` caches ``value``."""
    i = pr.next_row
    pr.ws.write_string(i, 0, key)
    pr.ws.write_string(i, 1, name)
    if formula is not None:
        pr.ws.write_formula(i, 2, formula, None, _cached(value))
    else:
        w.cell(pr.ws, i, 2, value)
    if note:
        pr.ws.write_comment(i, 2, note, {"x_scale": 2.2, "y_scale": 1.4})
    if defined:
        w.wb.define_name(defined, f"='参数'!$C${i + 1}")
    pr.next_row += 1


COMBINE_TEXT: dict[str, str] = {
    "highest_only": "只计最高一项加分和最大一项减分 (highest_only)",
    "sum": "逐条累加 (sum)",
    "capped_per_group": "逐条累加, 每组不超过上限 (capped_per_group)",
    "capped_per_item": "逐条累加, 每一考评项目不超过该项目的分值 (capped_per_item)",
}
VETO_EFFECT_TEXT: dict[str, str] = {
    "forced_grade": "定为否决等级, 积分照常显示 (forced_grade)",
    "no_score": "定为否决等级, 不体现积分 (no_score)",
    "cap": "定为否决等级, 积分不超过否决后积分上限 (cap)",
    "zero": "定为否决等级, 积分计为 0 (zero)",
    "none": "本方案不设一票否决 (none)",
}


def _parameters(w: _Writer, result: Result) -> _Params:
    """Scheme and period parameters as named cells, then the bands, group caps and tiers tables.
    The quota cells, which count rows of 结果, are added by :func:`_quota_cells`."""
    s = result.scheme.scheme
    ws = w.wb.add_worksheet("参数")
    ws.write_row(0, 0, ["项目 (key)", "名称", "值 (value)"], w.header)
    pr = _Params(ws, 1)
    yes_no = {True: "是", False: "否"}
    _param(w, pr, "monthly_weight", "月度权重", s.year.weight, "月度权重")
    _param(w, pr, "appraisal_weight", "测评权重", s.appraisal.weight, "测评权重")
    if s.veto.active:
        _param(w, pr, "veto_grade", "否决等级", s.veto.grade, "否决等级")
    if s.veto.effect == "cap":
        _param(w, pr, "veto_cap", "否决后积分上限", float(s.veto.cap or 0), "否决封顶分")
    if s.base is not None:
        _param(w, pr, "base", "基础分", s.base, "基础分", note="扣分从基础分中扣减, 扣完为止 (不低于 0)")
    _param(w, pr, "scheme", "积分方案", f"{s.name} {s.version}")
    _param(w, pr, "adjustments", "加减分合并", COMBINE_TEXT.get(s.adjustments.combine, s.adjustments.combine))
    _param(w, pr, "veto_effect", "一票否决效果", VETO_EFFECT_TEXT.get(s.veto.effect, s.veto.effect))
    _param(w, pr, "branch_id", "支部编号", result.branch_id)
    _param(w, pr, "branch_name", "支部名称", result.branch_name)
    _param(w, pr, "period", "期间", result.period.text)
    _param(
        w,
        pr,
        "period_last_month",
        "期末月份",
        result.period.last_month,
        "期末月份",
        note="晚于期末月份的加减分和一票否决不计入本期 (after the period: not counted)",
    )
    _param(w, pr, "bonus_evidence_required", "加分须佐证", yes_no[s.adjustments.bonus_evidence_required], "加分须佐证")
    _param(
        w,
        pr,
        "deduction_evidence_required",
        "减分须佐证",
        yes_no[s.adjustments.deduction_evidence_required],
        "减分须佐证",
    )
    if s.veto.active:
        _param(w, pr, "veto_requires_majority", "否决须举手表决过半数", yes_no[s.veto.requires_majority])
    if s.quarter_star is not None:
        _param(w, pr, "quarter_star_share", "季度之星比例", s.quarter_star.share, "季度之星比例")
        _param(
            w,
            pr,
            "quarter_star_min_scored",
            "季度之星最少参评人数",
            s.quarter_star.min_scored_members,
            "季度之星最少人数",
        )
    if s.annual_star is not None:
        _param(w, pr, "annual_star_share", "年度之星比例", s.annual_star.share, "年度之星比例")
        _param(w, pr, "annual_star_of_stars", "年度之星星级", s.annual_star.of_stars, "年度之星星级")
    return pr


def _tables(w: _Writer, result: Result, pr: _Params) -> None:
    """Below the key/value rows: bands, group caps and (with their bounds as formulas) tiers."""
    s = result.scheme.scheme
    ws = pr.ws
    top = pr.next_row + 2
    top = _band_table(w, ws, top, s.bands, "", "年度")
    quarter_bands = s.bands_for("quarter")
    if quarter_bands is not None:
        top = _band_table(w, ws, top, quarter_bands, "季度", "季度")
    if s.adjustments.combine == "capped_per_item":
        ws.write_row(top, 0, ["考评项目 (item)", "分值 (加分、减分各自上限)", "名称"], w.header)
        for i, it in enumerate(s.items, start=top + 1):
            ws.write_string(i, 0, it.code)
            ws.write_number(i, 1, it.max)
            ws.write_string(i, 2, it.name)
        w.wb.define_name("项目分值表", f"='参数'!$A${top + 2}:$B${top + 1 + len(s.items)}")
        top += len(s.items) + 2
    groups = s.adjustments.groups
    if groups:
        ws.write_row(top, 0, ["加减分分组 (group)", "分组上限 (cap)", "名称"], w.header)
        for i, g in enumerate(groups, start=top + 1):
            ws.write_string(i, 0, g.code)
            ws.write_number(i, 1, float(g.cap or 0))  # the engine caps a group without cap at 0
            ws.write_string(i, 2, g.name)
        w.wb.define_name("分组上限表", f"='参数'!$A${top + 2}:$B${top + 1 + len(groups)}")
        top += len(groups) + 2
    if s.branch_tiers and s.tiers is not None and result.period.kind == "year":
        tiers = s.tiers.tiers
        ws.write_row(top, 0, ["排序档次 (tier)", "比例 (share)", "累计比例", "名次界限 (排名人数×累计比例)"], w.header)
        ws.write_comment(
            top,
            3,
            "名次-1 小于第一个界限的在第一档, 依此类推 (rank - 1 below the first bound: first tier)",
            {"x_scale": 2.2},
        )
        cum = np.cumsum([t.share for t in tiers])
        n_ranked = int(result.annual["rank"].notna().sum())
        bounds = np.round(cum * n_ranked, 9)
        for i, (t, c, b) in enumerate(zip(tiers, cum, bounds, strict=True), start=top + 1):
            ws.write_string(i, 0, t.name)
            ws.write_number(i, 1, t.share)
            ws.write_number(i, 2, float(c))
            ws.write_formula(i, 3, f"=ROUND(C{i + 1}*排名人数,9)", None, float(b))
        w.wb.define_name("档次名称", f"='参数'!$A${top + 2}:$A${top + 1 + len(tiers)}")
        w.wb.define_name("档次界限", f"='参数'!$D${top + 2}:$D${top + 1 + len(tiers)}")
    widths = [24.0, 18.0, 30.0, 14.0]
    for j, width in enumerate(widths):
        ws.set_column(j, j, width)
    w.layout["参数"] = _Layout(widths)


def _band_table(w: _Writer, ws: Worksheet, top: int, bands: list[Band], prefix: str, what: str) -> int:
    """One bands table, ascending as LOOKUP needs, with its columns as defined names
    (``分档下限``, ``季度分档档次`` ...); returns the next free row."""
    ws.write_row(top, 0, [f"{what}分档下限 (min, 升序)", "星级 (stars)", "等级 (grade)", "档次 (tier)"], w.header)
    ascending = list(reversed(bands))
    for i, b in enumerate(ascending, start=top + 1):
        # the lowest band catches everything below the next one, negative totals included
        ws.write_number(i, 0, b.min if i > top + 1 else -1e9)
        w.cell(ws, i, 1, b.stars)
        w.cell(ws, i, 2, b.grade)
        w.cell(ws, i, 3, b.tier)
    first, last = top + 2, top + 1 + len(bands)
    for letter, name in zip("ABCD", ("分档下限", "分档星级", "分档等级", "分档档次"), strict=True):
        w.wb.define_name(f"{prefix}{name}", f"='参数'!${letter}${first}:${letter}${last}")
    return last + 1


def _quota_cells(w: _Writer, result: Result, pr: _Params) -> None:
    """Counts and quotas over 结果, as named formula cells; then the tables below them."""
    s = result.scheme.scheme
    p = result.period
    res = w.sheets["results"]
    if p.kind == "year":
        annual = result.annual
        n_ranked = int(annual["rank"].notna().sum())
        _param(
            w,
            pr,
            "ranked",
            "排名人数",
            n_ranked,
            "排名人数",
            formula=f"=COUNT({res.rng('rank')})",
            note="有排名的党员人数 (不含一票否决和不列入积分的党员)",
        )
        if s.annual_star is not None:
            stars = annual["stars"].fillna(-1).to_numpy()
            top = int((annual["rank"].notna().to_numpy() & (stars == s.annual_star.of_stars)).sum())
            _param(
                w,
                pr,
                "annual_star_candidates",
                "年度之星候选人数",
                top,
                "年度之星候选人数",
                formula=f'=COUNTIFS({res.rng("stars")},年度之星星级,{res.rng("rank")},">0")',
                note="有排名且星级等于年度之星星级的党员人数",
            )
            _param(
                w,
                pr,
                "annual_star_quota",
                "年度之星名额",
                share_quota(s.annual_star.share, top),
                "年度之星名额",
                formula="=ROUNDDOWN(ROUND(年度之星比例*年度之星候选人数,9),0)",
                note="向下取整 (floor)",
            )
    elif p.kind == "quarter" and s.quarter_star is not None:
        q = result.quarters[result.quarters["quarter"] == p.last_month // 3]
        scored = len(q)
        quota = share_quota(s.quarter_star.share, scored) if scored >= s.quarter_star.min_scored_members else 0
        _param(
            w,
            pr,
            "quarter_scored",
            "季度参评人数",
            scored,
            "季度参评人数",
            formula=f'=COUNTIF({res.rng("months")},">0")',
            note="本季度计分的党员人数 (含一票否决的党员, 不含不列入积分的党员)",
        )
        _param(
            w,
            pr,
            "quarter_star_quota",
            "季度之星名额",
            quota,
            "季度之星名额",
            formula="=IF(季度参评人数>=季度之星最少人数,ROUNDDOWN(ROUND(季度之星比例*季度参评人数,9),0),0)",
            note="参评人数不足最少人数的支部不评选; 向下取整 (floor)",
        )
    _tables(w, result, pr)


# -- intermediate sheets ----------------------------------------------------------------------


def _spans(w: _Writer, result: Result, span: str, name: str, table: pd.DataFrame, checks: _Checks) -> None:
    """Quarter or half-year sheet: months and score as formulas over 月度总分; for quarters also
    eligibility (no veto by the quarter's end), rank, quota and 季度之星 as formulas."""
    s = result.scheme.scheme
    mt, vet = w.sheets["totals"], w.sheets["vetoes"]
    stars = span == "quarter" and s.quarter_star is not None
    events = [k for k in ("span_bonus", "span_deduction", "bonus", "deduction", "base_points") if k in table]
    cols = ["member_id", span, "key", "months", *events, "score", "score_rounded"]
    if span == "quarter":
        cols += ["eligible", "rank", "scored_members"] + (["quota", "quarter_star"] if stars else [])
        cols += ["tier"] if "tier" in table else []
    df = table.reset_index(drop=True)
    formulas = tuple(c for c in cols if c not in ("member_id", span))
    sheet = w.table(name, df.reindex(columns=cols), _labels(result), key=span, formulas=formulas)
    ws = w.wb.get_worksheet_by_name(name)
    size = 3 if span == "quarter" else 6
    at = sheet.columns
    c = {k: sheet.col(k) for k in cols}
    rule = s.period(span)
    ytd = rule.combine == "year_to_date"
    adj = w.sheets["adjustments"]
    prefix = "q" if span == "quarter" else "h"
    for i, r in enumerate(cast(Iterator[_SpanRow], df.itertuples(index=False)), start=1):
        row = i + 1
        n = int(getattr(r, span))
        first_month, last_month = 1 if ytd else (n - 1) * size + 1, n * size
        own_first = (n - 1) * size + 1
        member = f"${c['member_id']}{row}"
        crit = f'{mt.rng("member_id")},{member},{mt.rng("month")},">={first_month}",{mt.rng("month")},"<={last_month}"'
        if s.cadence == "none":  # no item scores: the months in the branch (党员名单), a value
            ws.write_number(i, at["months"], int(r.months))
            items_f = ""
        else:
            ws.write_formula(i, at["months"], f"=COUNTIFS({crit})", None, int(r.months))
            items_f = f"SUMIFS({mt.rng('figure')},{crit})"
            if rule.combine != "sum":
                items_f = f"IF({c['months']}{row}=0,0,{items_f}/{c['months']}{row})"
            if ytd:  # the year's formula to the span's end: its item part x the year's weight
                items_f = f"{items_f}*月度权重"
        rd = r._asdict()

        def events_f(kind: str, first: int, member: str = member, last: int = last_month) -> str:
            sign = '">0"' if kind == "bonus" else '"<0"'
            return (
                f"SUMIFS({adj.rng('applied_points')},{adj.rng('member_id')},{member},"
                f'{adj.rng("month")},">={first}",{adj.rng("month")},"<={last}",{adj.rng("applied_points")},{sign})'
            )

        for k in events:
            kind = "bonus" if k.endswith("bonus") else "deduction"
            f = events_f(kind, own_first if k.startswith("span_") else first_month)
            if k == "base_points":  # deductions draw from the constant base, never below 0
                f = f"MAX(0,基础分+{c['deduction']}{row})"
            ws.write_formula(i, at[k], f"={f}", w.number, float(rd[k]))
        parts = [items_f] if items_f else []
        if "bonus" in events and not sub_events(s):  # events enter here (not already in the sub-periods)
            if "base_points" in events:
                parts += [f"{c['base_points']}{row}", f"{c['bonus']}{row}"]
            else:
                parts += [f"{c['bonus']}{row}", f"{c['deduction']}{row}"]
        score_f = "+".join(parts) or "0"
        reached = (
            f'COUNTIFS({vet.rng("member_id")},{member},{vet.rng("applies")},"是",{vet.rng("month")},"<={last_month}")'
        )
        score_f = _veto_wrap(s, reached + ">0", score_f)
        ws.write_formula(i, at["score"], f"={score_f}", w.number, _cached(r.score))
        rounded_f = f"ROUND({c['score']}{row},2)"
        if s.no_score_veto:
            rounded_f = f'IF({c["score"]}{row}="","",{rounded_f})'
        ws.write_formula(i, at["score_rounded"], f"={rounded_f}", w.number, _cached(r.score_rounded))
        mid = str(r.member_id)
        group = 1 if span == "quarter" else 2

        def check(k: str, value: Any, mid: str = mid, n: int = n, row: int = row, group: int = group) -> None:
            key = f"{prefix}{n}_{k}"  # q3_rank: 第3季度排名 (q3_rank)
            checks.add(mid, key, label(key), f"'{name}'!{c[k]}{row}", value, group=group)

        check("months", int(r.months))
        for k in events:
            check(k, float(rd[k]))
        check("score", _plain(r.score))
        check("score_rounded", _plain(r.score_rounded))
        ws.write_formula(i, at["key"], f'={c["member_id"]}{row}&"|"&{c[span]}{row}', None, f"{mid}|{n}")
        if span != "quarter":
            continue
        # vetoed by the quarter's end: no rank, no star (engine.quarter_stars)
        vetoed = (
            f'COUNTIFS({vet.rng("member_id")},{c["member_id"]}{row},{vet.rng("applies")},"是",'
            f'{vet.rng("month")},"<="&(3*{c["quarter"]}{row}))'
        )
        eligible = pd.notna(r.rank)
        ws.write_formula(i, at["eligible"], f'=IF({vetoed}>0,"否","是")', None, "是" if eligible else "否")
        same_quarter = f"{sheet.rng('quarter')},{c['quarter']}{row}"
        ws.write_formula(
            i,
            at["rank"],
            f'=IF({c["eligible"]}{row}="是",1+COUNTIFS({same_quarter},{sheet.rng("eligible")},"是",{sheet.rng("score_rounded")},">"&{c["score_rounded"]}{row}),"")',
            None,
            _cached(r.rank),
        )
        ws.write_formula(i, at["scored_members"], f"=COUNTIFS({same_quarter})", None, int(r.scored_members))
        check("rank", r.rank)
        if stars:
            sc = f"{c['scored_members']}{row}"
            ws.write_formula(
                i,
                at["quota"],
                f"=IF({sc}>=季度之星最少人数,ROUNDDOWN(ROUND(季度之星比例*{sc},9),0),0)",
                None,
                int(r.quota),
            )
            rk, qt = f"{c['rank']}{row}", f"{c['quota']}{row}"
            star_f = (
                f'=IF({c["eligible"]}{row}<>"是",{F_NO},'
                f"IF({rk}+COUNTIFS({same_quarter},{sheet.rng('rank')},{rk})-1<={qt},{F_YES},"
                f"IF({rk}<={qt},{F_TIE},{F_NO})))"
            )
            ws.write_formula(i, at["quarter_star"], star_f, None, _cached(r.quarter_star))
            check("quarter_star", r.quarter_star)
        if "tier" in at:  # the quarter's own bands (seed 003 季末亮分)
            rounded = f"{c['score_rounded']}{row}"
            tier_f = f'=IF({rounded}="","",LOOKUP({rounded},季度分档下限,季度分档档次))'
            ws.write_formula(i, at["tier"], tier_f, None, _cached(rd["tier"]))
            check("tier", rd["tier"])
    if span == "quarter":
        notes = {
            "eligible": "公式: 季度末以前没有生效的一票否决为 是 (vetoed by the quarter's end: not ranked, no star)",
            "rank": "公式: 同季度可参评党员中积分(两位小数)更高的人数 + 1; 并列同名次",
            "scored_members": "公式: 本季度计分的党员人数 (含一票否决的党员)",
            "quota": "公式: 参评人数不少于 季度之星最少人数 时为 向下取整(季度之星比例 × 参评人数), 否则 0",
            "quarter_star": (
                "公式: 名次 + 并列人数 - 1 不超过名额为 是; "
                "名次在名额内但并列跨过名额线为 并列待定 (由支委会研究); 否则为 否"
            ),
        }
        w.note(name, sheet, notes)


def _appraisal(w: _Writer, result: Result) -> None:
    s = result.scheme.scheme
    cols = s.item_codes if s.appraisal.mode == "per_item" else ["score"]
    app = result.appraisal
    keep = ["member_id", "ballots"] + [f"{c}_{k}" for c in cols for k in ("raters", "sum", "average")]
    sheet = w.table(
        "民主测评", app[keep], _labels(result), key="appraisal", formulas=tuple(f"{c}_average" for c in cols)
    )
    ws = w.wb.get_worksheet_by_name("民主测评")
    for c in cols:
        avg, n, tot = sheet.columns[f"{c}_average"], sheet.col(f"{c}_raters"), sheet.col(f"{c}_sum")
        for i, v in enumerate(app[f"{c}_average"].to_numpy(), start=1):
            if np.isnan(v):
                continue
            ws.write_formula(i, avg, f"={tot}{i + 1}/{n}{i + 1}", w.number, float(v))


def _dates(w: _Writer, ws: Worksheet, col: int, values: pd.Series) -> None:
    """Real dates (not text), so formulas compare and take MONTH of them."""
    for i, d in enumerate(values.tolist(), start=1):
        if isinstance(d, (dt.date, dt.datetime)):
            ws.write_datetime(i, col, d if isinstance(d, dt.datetime) else dt.datetime(d.year, d.month, d.day), w.date)


def _vetoes(w: _Writer, result: Result) -> None:
    """一票否决: whether each recorded veto applies, as a formula over its month and votes."""
    s = result.scheme.scheme
    v = result.vetoes.reset_index(drop=True)
    cols = [
        "member_id",
        "date",
        "month",
        "condition_code",
        "condition_name",
        "votes_for",
        "votes_against",
        "members_on_date",
        "applies",
        "reason",
        "note",
        "row",
    ]
    df = v.reindex(columns=cols)
    sheet = w.table("一票否决", df, _labels(result), key="vetoes", formulas=("date", "month", "applies", "reason"))
    ws = w.wb.get_worksheet_by_name("一票否决")
    _dates(w, ws, sheet.columns["date"], df["date"])
    c = {k: sheet.col(k) for k in cols}
    for i, r in enumerate(cast(Iterator[_VetoRow], df.itertuples(index=False)), start=1):
        row = i + 1
        ws.write_formula(i, sheet.columns["month"], f"=MONTH({c['date']}{row})", None, int(r.date.month))
        in_period = f"{c['month']}{row}<=期末月份"
        if s.veto.requires_majority:
            applies_f = f'=IF(AND({in_period},N({c["votes_for"]}{row})>{c["members_on_date"]}{row}/2),"是","否")'
        else:
            applies_f = f'=IF({in_period},"是","否")'
        ws.write_formula(i, sheet.columns["applies"], applies_f, None, "是" if bool(r.applies) else "否")
        reason_f = (
            f'=IF(NOT({in_period}),"{REASONS["after_period"]}",'
            f'IF({c["applies"]}{row}="是","{VETO_APPLIES}","{VETO_NO_MAJORITY}"))'
        )
        ws.write_formula(i, sheet.columns["reason"], reason_f, None, str(r.reason))
    majority = "赞成票 > 当月党员数 / 2 且" if s.veto.requires_majority else ""
    w.note(
        "一票否决",
        sheet,
        {
            "members_on_date": (
                "数值: 否决当月在本支部的党员人数, 由党员名单的转入、转出月份计算 (程序计算值, 举手表决的分母)"
            ),
            "applies": f"公式: {majority} 月份不晚于 期末月份 时生效 (是)",
            "reason": "公式: 给出是否生效的原因",
            "condition_name": "数值: 输入的否决情形 (名称或代码) 对应积分方案中的情形",
        },
    )


def _adjustments(w: _Writer, result: Result) -> None:
    """加减分: per row, whether it is eligible (evidence, date, exempt member) and the points it
    adds, as formulas that follow the scheme's rule (highest only, sum, sum capped per group)."""
    s = result.scheme.scheme
    combine = s.adjustments.combine
    a = result.adjustments.reset_index(drop=True)
    cols = [
        "member_id",
        "date",
        "month",
        "rule_code",
        "rule_name",
        "kind",
        "item" if combine == "capped_per_item" else "group",
        "points",
        "points_used",
        "evidence",
        "approved_by",
        "note",
        "member_exempt",
        "blocked",
        "eligible",
    ]
    cols += (["best"] if combine == "highest_only" else []) + ["applied_points", "status", "reason", "row"]
    formulas = ("date", "month", "member_exempt", "blocked", "eligible", "best", "applied_points", "status", "reason")
    df = a.reindex(columns=cols)
    sheet = w.table("加减分", df, _labels(result), key="adjustments", formulas=formulas)
    ws = w.wb.get_worksheet_by_name("加减分")
    _dates(w, ws, sheet.columns["date"], df["date"])
    res = w.sheets["results"]
    at = sheet.columns
    rng = sheet.rng
    exempt_ids = set(result.members.loc[result.members["exempt"].astype(bool), "member_id"])
    for i, r in enumerate(cast(Iterator[_AdjustmentRow], df.itertuples(index=False)), start=1):
        row = i + 1
        c = {k: f"{sheet.col(k)}{row}" for k in cols}
        ws.write_formula(i, at["month"], f"=MONTH({c['date']})", None, int(r.date.month))
        ws.write_formula(
            i,
            at["member_exempt"],
            f'=IF(COUNTIFS({res.rng("member_id")},{c["member_id"]},{res.rng("exempt")},{F_YES})>0,"是","否")',
            None,
            "是" if r.member_id in exempt_ids else "否",
        )
        # the engine's order: exempt before after-the-period before no evidence
        evidence = f'AND({c["evidence"]}="",IF({c["kind"]}="bonus",加分须佐证,减分须佐证)="是")'
        blocked_f = (
            f'=IF({c["member_exempt"]}="是","{REASONS["exempt"]}",'
            f'IF({c["month"]}>期末月份,"{REASONS["after_period"]}",'
            f'IF({evidence},"{REASONS["no_evidence"]}","")))'
        )
        reason = str(r.reason)
        blocked = reason if reason in (REASONS["exempt"], REASONS["after_period"], REASONS["no_evidence"]) else ""
        ws.write_formula(i, at["blocked"], blocked_f, None, blocked)
        ws.write_formula(i, at["eligible"], f'=IF({c["blocked"]}="","是","否")', None, "否" if blocked else "是")
        pu, el, kind = c["points_used"], c["eligible"], c["kind"]
        if combine == "sum":
            applied_f = f'=IF({el}="是",{pu},0)'
            reason_f = f'=IF({c["blocked"]}<>"",{c["blocked"]},"{R_APPLIED}")'
        elif combine == "highest_only":
            crit = f'{rng("member_id")},{c["member_id"]},{rng("kind")},{kind},{rng("eligible")},"是"'
            same_kind = [f"{rng('member_id')}={c['member_id']}", f"{rng('kind')}={kind}", f'{rng("eligible")}="是"']
            best_f = (
                f'=IF({kind}="bonus",{extreme_where("MAX", rng("points_used"), same_kind)},'
                f"{extreme_where('MIN', rng('points_used'), same_kind)})"
            )
            write_array(ws, i, at["best"], best_f, None, _best(a, r))
            # of two equal highest, the earlier (date, then input row) counts, as in the engine
            earlier = (
                f'COUNTIFS({crit},{rng("points_used")},{pu},{rng("date")},"<"&{c["date"]})+'
                f'COUNTIFS({crit},{rng("points_used")},{pu},{rng("date")},{c["date"]},{rng("row")},"<"&{c["row"]})'
            )
            applied_f = f'=IF(AND({el}="是",{pu}={c["best"]},{earlier}=0),{pu},0)'
            same = f'IF({kind}="bonus","{REASONS["equal_bonus"]}","{REASONS["equal_deduction"]}")'
            lower = f'IF({kind}="bonus","{REASONS["lower_bonus"]}","{REASONS["lower_deduction"]}")'
            reason_f = (
                f'=IF({c["blocked"]}<>"",{c["blocked"]},'
                f'IF({c["applied_points"]}<>0,"{R_APPLIED}",'
                f"IF({pu}={c['best']},{same},{lower})))"
            )
        else:  # capped per group or item: the cap minus what earlier rows of the group or item used
            per_item = combine == "capped_per_item"
            key = "item" if per_item else "group"
            crit = (
                f'{rng("member_id")},{c["member_id"]},{rng(key)},{c[key]},{rng("kind")},{kind},{rng("eligible")},"是"'
            )
            prior = (
                f'ABS(SUMIFS({rng("points_used")},{crit},{rng("date")},"<"&{c["date"]})+'
                f'SUMIFS({rng("points_used")},{crit},{rng("date")},{c["date"]},{rng("row")},"<"&{c["row"]}))'
            )
            cum = f"({prior}+ABS({pu}))"
            partial, reached = ("item_cap_partial", "item_cap_reached") if per_item else ("cap_partial", "cap_reached")
            cap = f"VLOOKUP({c[key]},{'项目分值表' if per_item else '分组上限表'},2,FALSE)"
            used = f"(MIN({cum},{cap})-MIN({cum}-ABS({pu}),{cap}))"
            applied_f = f'=IF({el}="是",IF({kind}="bonus",1,-1)*{used},0)'
            reason_f = (
                f'=IF({c["blocked"]}<>"",{c["blocked"]},'
                f'IF(ABS({c["applied_points"]})=ABS({pu}),"{R_APPLIED}",'
                f'IF({c["applied_points"]}<>0,"{REASONS[partial]}","{REASONS[reached]}")))'
            )
        ws.write_formula(i, at["applied_points"], applied_f, None, float(r.applied_points))
        ws.write_formula(i, at["status"], f'=IF({c["applied_points"]}<>0,"applied","not_applied")', None, str(r.status))
        ws.write_formula(i, at["reason"], reason_f, None, reason)
    rule = {
        "highest_only": (
            "公式: 可计入且等于该党员同类 (加分或减分) 可计入各条的最高 (最大扣分) 分值的那一条计入; "
            "相同的最高分只计最早 (日期, 再按输入行) 的一条"
        ),
        "sum": "公式: 可计入的逐条累加",
        "capped_per_group": (
            "公式: 可计入的按日期 (再按输入行) 逐条累加, 每名党员每组的加分、减分各自不超过该组上限 (参数表 分组上限表)"
        ),
        "capped_per_item": (
            "公式: 可计入的按日期 (再按输入行) 逐条累加, 每名党员每一考评项目的加分、减分各自不超过该项目的分值 "
            "(参数表 项目分值表)"
        ),
    }[combine]
    w.note(
        "加减分",
        sheet,
        {
            "rule_name": "数值: 按加减分代码取自积分方案的加减分目录",
            "kind": "数值: 按加减分代码取自积分方案的加减分目录 (bonus 加分 / deduction 减分)",
            "group": "数值: 按加减分代码取自积分方案的加减分目录",
            "points_used": "数值: 填报分值; 未填时取加减分目录的分值",
            "member_exempt": "公式: 该党员在「结果」表中 不列入积分 为 是",
            "blocked": "公式: 不列入积分的党员、晚于期末月份、按方案须佐证而无佐证材料的不能计入 (依次判断)",
            "eligible": "公式: 没有不计入原因的为 是",
            "best": "公式: 该党员同类可计入各条中的最高加分 (MAX) 或最大扣分 (MIN), 没有可计入的为 0 (数组公式)",
            "applied_points": rule,
            "status": "公式: 计入分值不为 0 为 applied",
            "reason": "公式: 计入或不计入的原因",
        },
    )


def _best(a: pd.DataFrame, r: _AdjustmentRow) -> float:
    """The cached value of the ``best`` column: the highest eligible bonus (or the largest
    eligible deduction) of the row's member, 0 when there is none (as its formula says)."""
    blocked = {REASONS["exempt"], REASONS["after_period"], REASONS["no_evidence"]}
    same = a[(a["member_id"] == r.member_id) & (a["kind"] == r.kind) & ~a["reason"].isin(blocked)]
    if same.empty:
        return 0.0
    return float(same["points_used"].max() if r.kind == "bonus" else same["points_used"].min())


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


def _results_header(w: _Writer, ws: Worksheet, res: Sheet, labels: _LabelMap) -> None:
    """The header of 结果 (``中文 (key)``, wrapped), widths that print the sheet on a page's width
    with the member's id and name first on every page, the unrounded total labelled as such."""
    texts, widths = [], []
    for c, j in res.columns.items():
        text = {"rank_basis": "排名用分 (rank_basis)"}.get(c) or labels.get(c)
        item_column = c.endswith(("_mean", "_appraisal", "_score")) and c not in ("quarter_score", "half_score")
        width = RESULT_WIDTHS.get(c, 7.5 if item_column else 9.0)
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
    w.layout["结果"] = _Layout(widths, 2, _groups(list(res.columns)))


def _year_results(w: _Writer, result: Result, ws: Any, checks: _Checks) -> None:
    """结果 for a year: one row per member, every score a formula."""
    s = result.scheme.scheme
    items = s.item_codes
    annual = result.annual.reset_index(drop=True)
    years = result.item_year.set_index("member_id").to_dict("index")  # one dict lookup per member
    ms, mt, adj, vet = w.sheets["scores"], w.sheets["totals"], w.sheets["adjustments"], w.sheets["vetoes"]
    app = w.sheets.get("appraisal")
    appr = (
        result.appraisal.set_index("member_id")["score_average"].to_dict()
        if "appraisal" in w.sheets and "score_average" in result.appraisal.columns
        else {}
    )

    res = w.sheets["results"]
    at = res.columns
    header_labels = _labels(result)
    _results_header(w, ws, res, header_labels)
    _fits("结果", len(annual))
    col = res.col

    def ref(key: str, row: int) -> str:
        return f"{col(key)}{row}"

    def on(key: str, row: int) -> str:
        return f"'结果'!{col(key)}{row}"

    rank_range = f"${col('rank_basis')}$2:${col('rank_basis')}${max(2, len(annual) + 1)}"
    highest = s.adjustments.combine == "highest_only"
    tier_count = len(s.tiers.tiers) if s.tiers is not None else 0
    no_score = s.no_score_veto

    for i, a in enumerate(cast(Iterator[_AnnualRow], annual.itertuples(index=False)), start=1):
        row = i + 1
        mid = str(a.member_id)

        def put(
            key: str,
            formula: str,
            value: Any,
            fmt: Any = None,
            check: bool = True,
            row: int = row,
            mid: str = mid,
            array: bool = False,
        ) -> None:
            if no_score and key not in _SHOWN_UNDER_VETO and key not in ("total_raw", "total"):
                # 不体现积分: every figure of a vetoed member is blank, by the formula itself
                formula = f'=IF({ref("veto", row)}={F_YES},"",{formula[1:]})'
            if array:
                write_array(ws, row - 1, at[key], formula, fmt, _cached(value))
            else:
                ws.write_formula(row - 1, at[key], formula, fmt, _cached(value))
            if check:
                checks.add(mid, key, header_labels.get(key), on(key, row), value)

        ws.write_string(i, at["member_id"], mid)
        ws.write_string(i, at["name"], str(a.name))
        ws.write_string(i, at["exempt"], shown(a.exempt))
        vcrit = f'{vet.rng("member_id")},$A{row},{vet.rng("applies")},"是"'
        put("veto", f"=IF(COUNTIFS({vcrit})>0,{F_YES},{F_NO})", a.veto)
        veto_cell = ref("veto", row)
        if a.exempt == "yes":  # not scored: hand-entered stars; only a veto overrides them
            if s.has_stars and pd.notna(a.stars):
                ws.write_number(i, at["stars"], int(a.stars))
            if a.veto == "yes":
                if "grade" in at:
                    put("grade", f'=IF({veto_cell}={F_YES},否决等级,"")', str(a.grade))
                if s.branch_tiers and s.tiers is not None and pd.notna(a.tier):
                    put("tier", f'=IF({veto_cell}={F_YES},{_text_literal(s.tiers.veto_tier or "")},"")', a.tier)
            elif "grade" in at and shown(a.grade) != "":  # the grade of the hand-entered stars
                ws.write_string(i, at["grade"], str(a.grade))
            continue
        y = years[mid]
        if s.cadence == "none":  # no item scores: the months in the branch (党员名单), a value
            ws.write_number(i, at["months"], int(y["months"]))
        else:
            put("months", f"=COUNTIFS({ms.rng('member_id')},$A{row})", int(y["months"]))
        crit = f"{ms.rng('member_id')},$A{row}"
        per = "" if s.year.combine == "sum" else f"/{ref('months', row)}"  # the year: sum or mean
        if s.year.by == "per_item":
            parts = []
            for c in items:
                put(f"{c}_mean", f"=SUMIFS({ms.rng(c)},{crit}){per}", float(y[f"{c}_mean"]), w.number)
                score_formula = f"={ref(f'{c}_mean', row)}*月度权重"
                if s.appraisal.mode == "per_item":
                    assert app is not None  # 民主测评 is written for a year with an appraisal
                    put(
                        f"{c}_appraisal",
                        f"=INDEX({app.rng(f'{c}_average')},MATCH($A{row},{app.rng('member_id')},0))",
                        float(y[f"{c}_appraisal"]),
                        w.number,
                    )
                    score_formula += f"+{ref(f'{c}_appraisal', row)}*测评权重"
                put(f"{c}_score", score_formula, float(y[f"{c}_score"]), w.number)
                parts.append(ref(f"{c}_score", row))
            base_formula = f"=SUM({parts[0]}:{parts[-1]})" if len(parts) == 1 else "=" + "+".join(parts)
        else:
            if s.cadence != "none":
                mean_f = f"=SUMIFS({mt.rng('figure')},{mt.rng('member_id')},$A{row}){per}"
                put("monthly_mean", mean_f, float(y["monthly_mean"]), w.number)
            base_formula = f"={ref('monthly_mean', row)}*月度权重" if s.cadence != "none" else "=0"
            if s.appraisal.mode == "single":
                assert app is not None  # 民主测评 is written for a year with an appraisal
                put(
                    "appraisal",
                    f"=INDEX({app.rng('score_average')},MATCH($A{row},{app.rng('member_id')},0))",
                    float("nan") if no_score and a.veto == "yes" else float(appr[mid]),
                    w.number,
                )
                if s.appraisal.combine == "weighted":
                    base_formula += f"+{ref('appraisal', row)}*测评权重"
        parts = []
        if "base" in at:
            put("base", base_formula, float(a.base), w.number)
            parts.append(ref("base", row))
        if s.year.events:
            if highest:
                # the highest ELIGIBLE bonus and the largest eligible deduction, counted once each,
                # over the rows that pass the checks on 加减分 (not over rows already picked)
                eligible = [f"{adj.rng('member_id')}=$A{row}", f'{adj.rng("eligible")}="是"']
                used = adj.rng("points_used")
                bonus_f = "=" + extreme_where("MAX", used, [*eligible, f'{adj.rng("kind")}="bonus"'])
                ded_f = "=" + extreme_where("MIN", used, [*eligible, f'{adj.rng("kind")}="deduction"'])
            else:
                acrit = f"{adj.rng('member_id')},$A{row}"
                bonus_f = f'=SUMIFS({adj.rng("applied_points")},{acrit},{adj.rng("applied_points")},">0")'
                ded_f = f'=SUMIFS({adj.rng("applied_points")},{acrit},{adj.rng("applied_points")},"<0")'
            put("bonus", bonus_f, float(a.bonus), w.number, array=highest)
            put("deduction", ded_f, float(a.deduction), w.number, array=highest)
            if s.base is not None:  # deductions draw from the constant base, never below 0 (SPEC 3.5)
                put("base_points", f"=MAX(0,基础分+{ref('deduction', row)})", float(a.base_points), w.number)
                parts += [ref("base_points", row), ref("bonus", row)]
            else:
                parts += [ref("bonus", row), ref("deduction", row)]
        if s.appraisal.mode == "single" and s.appraisal.combine == "added":  # 评议分, added as it is
            parts.append(ref("appraisal", row))
        vetoed = f"{veto_cell}={F_YES}"
        raw_f = "+".join(parts) or "0"
        put("total_raw", f"={_veto_wrap(s, vetoed, raw_f)}", a.total_raw)
        if no_score:
            total_f = f'=IF({veto_cell}={F_YES},"",ROUND({ref("total_raw", row)},2))'
        else:
            total_f = f"=ROUND({ref('total_raw', row)},2)"
        put("total", total_f, a.total, w.number)
        tot = ref("total", row)
        if s.has_stars:
            put("stars", f'=IF({veto_cell}={F_YES},"",LOOKUP({tot},分档下限,分档星级))', a.stars)
        if s.has_grades:
            grade_f = f"LOOKUP({tot},分档下限,分档等级)"
            put("grade", f"=IF({vetoed},否决等级,{grade_f})" if s.veto.active else f"={grade_f}", str(a.grade))
        if s.band_tiers:
            put("tier", f'=IF({tot}="","",LOOKUP({tot},分档下限,分档档次))', a.tier)
        basis = "" if a.veto == "yes" else a.total
        put("rank_basis", f'=IF({veto_cell}={F_YES},"",{tot})', basis, w.number, check=False)
        rk = ref("rank", row)
        put("rank", f'=IF({ref("rank_basis", row)}="","",RANK({ref("rank_basis", row)},{rank_range}))', a.rank)
        if s.branch_tiers and s.tiers is not None:
            veto_tier = s.tiers.veto_tier or ""
            # the first tier whose bound (排名人数 x cumulative share) exceeds rank - 1
            tier_f = (
                f"=IF({veto_cell}={F_YES},{_text_literal(veto_tier)},"
                f'IF({rk}="","",INDEX(档次名称,MIN(COUNTIF(档次界限,"<="&({rk}-1))+1,{tier_count}))))'
            )
            put("tier", tier_f, a.tier)
        if s.annual_star is not None:
            top = f'{res.rng("stars")},年度之星星级,{res.rng("rank")},">0"'
            higher = f'COUNTIFS({top},{res.rng("total")},">"&{tot})'
            star_f = (
                f"=IF(AND(ISNUMBER({rk}),{ref('stars', row)}=年度之星星级),"
                f"IF({higher}+COUNTIFS({top},{res.rng('total')},{tot})<=年度之星名额,{F_YES},"
                f"IF({higher}+1<=年度之星名额,{F_TIE},{F_NO})),{F_NO})"
            )
            put("annual_star", star_f, a.annual_star)
    notes = {
        "exempt": "数值: 党员名单中 不列入积分 (exempt)",
        "stars": "公式; 不列入积分的党员为党支部直接评定的星级 (输入值)",
        "grade": "公式; 不列入积分的党员按直接评定的星级定等级 (程序计算值), 受一票否决的为 否决等级 (公式)",
        "rank": "公式: RANK, 并列同名次; 一票否决和不列入积分的党员不排名",
        "tier": "公式: 按 名次-1 与「参数」表 名次界限 (排名人数 × 累计比例) 比较确定档次; 一票否决列入方案规定的档次",
        "annual_star": (
            "公式: 有排名且星级等于 年度之星星级 的党员中, 高于本人的人数 + "
            "与本人并列的人数不超过 年度之星名额 为 是; "
            "本人名次在名额内但并列跨过名额线为 并列待定 (由支委会研究); 否则为 否"
        ),
        "bonus": "公式: 「加减分」中该党员可计入各条的最高加分 (MAX, 数组公式), 只计一次, 没有为 0"
        if highest
        else "公式: 「加减分」中该党员计入的加分之和",
        "deduction": "公式: 「加减分」中该党员可计入各条的最大扣分 (MIN, 数组公式), 只计一次, 没有为 0"
        if highest
        else "公式: 「加减分」中该党员计入的减分之和",
    }
    w.note("结果", res, notes)


def _period_results(w: _Writer, result: Result, ws: Any, checks: _Checks) -> None:
    """结果 for a month, quarter or half-year: the period's score as a formula over 月度总分; for
    a quarter its rank and 季度之星, for a half-year its quarters' stars from 季度汇总."""
    s = result.scheme.scheme
    p = result.period
    mt, vet = w.sheets["totals"], w.sheets["vetoes"]
    summ = result.summary().reset_index(drop=True)
    key = _period_key(result)
    res = w.sheets["results"]
    at = res.columns
    labels = _labels(result)
    _results_header(w, ws, res, labels)
    _fits("结果", len(summ))
    mt_ = result.monthly_totals
    months_in = mt_.loc[mt_["month"].between(p.first_month, p.last_month), "member_id"].value_counts().to_dict()
    col = res.col
    last = max(2, len(summ) + 1)
    rank_range = f"${col('rank_basis')}$2:${col('rank_basis')}${last}" if "rank_basis" in at else ""
    quarters = w.sheets.get("quarter")
    span = w.sheets.get(p.kind)  # 季度汇总 / 半年汇总: the period's figure is formed there, once
    rank_key = {"month": "month_rank", "quarter": "quarter_rank"}.get(p.kind, "")
    for i, r in enumerate(cast(Iterator[_Record], summ.itertuples(index=False)), start=1):
        row = i + 1
        rd = r._asdict()
        mid = str(rd["member_id"])

        def put(
            k: str, formula: str, value: Any, fmt: Any = None, check: bool = True, row: int = row, mid: str = mid
        ) -> None:
            ws.write_formula(row - 1, at[k], formula, fmt, _cached(value))
            if check:
                checks.add(mid, k, labels.get(k), f"'结果'!{col(k)}{row}", value)

        ws.write_string(i, at["member_id"], mid)
        ws.write_string(i, at["name"], str(rd["name"]))
        ws.write_string(i, at["exempt"], shown(rd["exempt"]))
        # a veto that applies in this period (dated by its end): no rank, no star
        vetoed = f'COUNTIFS({vet.rng("member_id")},$A{row},{vet.rng("applies")},"是")>0'
        put("veto", f"=IF({vetoed},{F_YES},{F_NO})", "yes" if _vetoed_by(result, mid) else "no")
        if rd["exempt"] == "yes":
            continue
        crit = (
            f'{mt.rng("member_id")},$A{row},{mt.rng("month")},">={p.first_month}",{mt.rng("month")},"<={p.last_month}"'
        )
        if s.cadence == "none":  # no item scores: the months in the branch (党员名单), a value
            ws.write_number(i, at["months"], int(0 if pd.isna(rd.get("months")) else rd["months"]))
        else:
            put("months", f"=COUNTIFS({crit})", int(months_in.get(mid, 0)))
        months = f"{col('months')}{row}"
        if span is None:  # a month: its total from 月度总分
            figure = f"ROUND(SUMIFS({mt.rng('total')},{crit}),2)"
            if s.no_score_veto:
                figure = f'IF({col("veto")}{row}={F_YES},"",{figure})'
        else:
            look = f'$A{row}&"|"&{p.quarters[-1] if p.kind == "quarter" else (1 if p.first_month == 1 else 2)}'
            figure = f"INDEX({span.rng('score_rounded')},MATCH({look},{span.rng('key')},0))"
        put(key, f'=IF({months}=0,"",{figure})', rd[key], w.number)
        if span is not None:
            for k in (k for k in QUARTER_EXTRAS if k in at):
                fmt = None if k == "tier" else w.number
                value = f"INDEX({span.rng(k)},MATCH({look},{span.rng('key')},0))"
                put(k, f'=IF({months}=0,"",{value})', rd[k], fmt)
        if rank_key:
            basis_v = rd[key] if pd.notna(rd[rank_key]) else ""
            basis_f = f'=IF(OR({months}=0,{col("veto")}{row}={F_YES}),"",{col(key)}{row})'
            put("rank_basis", basis_f, basis_v, w.number, check=False)
            rk = f"{col(rank_key)}{row}"
            put(
                rank_key,
                f'=IF({col("rank_basis")}{row}="","",RANK({col("rank_basis")}{row},{rank_range}))',
                rd[rank_key],
            )
        if p.kind == "quarter" and "quarter_star" in at:
            ranks = f"${col('quarter_rank')}$2:${col('quarter_rank')}${last}"
            star_f = (
                f'=IF({months}=0,"",IF({rk}="",{F_NO},'
                f"IF({rk}+COUNTIF({ranks},{rk})-1<=季度之星名额,{F_YES},"
                f"IF({rk}<=季度之星名额,{F_TIE},{F_NO}))))"
            )
            put("quarter_star", star_f, rd["quarter_star"])
        for q in p.quarters if p.kind == "half" else []:
            k = f"q{q}_star"
            if k in at and quarters is not None:
                look_q = (
                    f'=IFERROR(INDEX({quarters.rng("quarter_star")},MATCH($A{row}&"|"&{q},{quarters.rng("key")},0)),"")'
                )
                put(k, look_q, rd.get(k))
    notes = {
        "exempt": "数值: 党员名单中 不列入积分 (exempt)",
        "quarter_rank": "公式: RANK, 并列同名次; 一票否决的党员不排名",
        "month_rank": "公式: RANK, 并列同名次; 一票否决的党员不排名",
        "veto": "公式: 本期末以前有生效的一票否决为 是",
        "quarter_star": (
            "公式: 名次 + 并列人数 - 1 不超过 季度之星名额 (参数表) 为 是; "
            "名次在名额内但并列跨过名额线为 并列待定 (由支委会研究); 否则为 否"
        ),
    }
    notes |= {f"q{q}_star": "公式: 取自「季度汇总」" for q in p.quarters}
    w.note("结果", res, notes)


# -- 核对 -------------------------------------------------------------------------------------


CHECK_LEAD_WIDTHS = (11.0, 8.0, 6.5)  # 党员编号, 姓名, 全部一致: repeated on every printed page
CHECK_FIGURE_WIDTHS = (7.0, 7.0, 5.0)  # 工作簿, 程序, 核对 of one figure


def _check_sheet(w: _Writer, result: Result, ws: Any, checks: _Checks) -> None:
    """核对: one row per member; per figure the workbook's formula value, the package's value and
    OK or the difference; ``全部一致`` sums the row up. One row per member (not per figure) keeps
    a 50,000-member unit far below Excel's row limit."""
    members = result.members.reset_index(drop=True)
    _fits("核对", len(members))
    keys = sorted(checks.columns, key=lambda k: checks.columns[k][:2])
    if 3 + 3 * len(keys) > EXCEL_MAX_COLUMNS:
        raise RunError(
            f"「核对」需要 {3 + 3 * len(keys):,} 列, 超过 Excel 的 {EXCEL_MAX_COLUMNS:,} 列 (too many figures to check)"
        )
    texts = ["党员编号 (member_id)", "姓名 (name)", "全部一致 (all_ok)"]
    widths = list(CHECK_LEAD_WIDTHS)
    for key in keys:
        text = checks.columns[key][2]
        texts += [f"{text} 工作簿", f"{text} 程序", f"{text} 核对"]
        widths += list(CHECK_FIGURE_WIDTHS)
    for j, (text, width) in enumerate(zip(texts, widths, strict=True)):
        ws.write_string(0, j, text, w.header)
        ws.set_column(j, j, width)
    ws.write_comment(0, 2, "本行各项核对均为 OK 时为 OK, 否则为 ≠", {"x_scale": 2})
    ws.set_row(0, header_height(texts, widths))
    ws.freeze_panes(1, 3)
    w.layout["核对"] = _Layout(widths, 3, [(3 + 3 * k, 5 + 3 * k) for k in range(len(keys))])
    # scores with two decimals (the cells keep the unrounded values); the unrounded total as it is
    fmt = {key: w.number if key != "total_raw" else None for key in keys}
    last = xl_col_to_name(2 + 3 * len(keys)) if keys else "C"
    for i, (mid, name) in enumerate(zip(members["member_id"], members["name"], strict=True), start=1):
        row = i + 1
        ws.write_string(i, 0, str(mid))
        ws.write_string(i, 1, str(name))
        figures = checks.rows.get(str(mid), {})
        for k, key in enumerate(keys):
            if key not in figures:
                continue
            cell, value = figures[key]
            j = 3 + 3 * k
            number = fmt[key] if isinstance(value, float) else None
            ws.write_formula(i, j, f"={cell}", number, value)
            w.cell(ws, i, j + 1, value, number)
            a, b = xl_rowcol_to_cell(i, j), xl_rowcol_to_cell(i, j + 1)
            verdict = (
                f'=IF(AND(ISNUMBER({a}),ISNUMBER({b})),IF(ABS({a}-{b})<=0.000000001,"OK",{a}-{b}),'
                f'IF({a}&""={b}&"","OK","≠"))'
            )
            ws.write_formula(i, j + 2, verdict, None, "OK")
        ws.write_formula(i, 2, f'=IF(COUNTIF(D{row}:{last}{row},"OK")={len(figures)},"OK","≠")', None, "OK")
