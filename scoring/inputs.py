"""Read and validate the input workbook of one branch and one year (SPEC 4).

Everything is checked before anything is scored, and every problem found is collected into one
:class:`~scoring.exceptions.InputError` whose table names file, sheet, row, column, value, what is
wrong and what is allowed. A header may be the key (``member_id``), the Chinese label (``党员编号``)
or both (``党员编号 (member_id)``); sheet names likewise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from .exceptions import FAILURE_COLUMNS, InputError
from .periods import Period, active_counts
from .scheme import LoadedScheme, Scheme, load_scheme

Kind = Literal["text", "number", "int", "month", "date", "yesno", "choice"]

MEMBER_TYPES: list[str] = ["在职党员", "无职党员", "流动党员", "农村", "社区", "机关", "企业", "社会组织"]
ROLES: dict[str, str] = {
    "member": "member",
    "党员": "member",
    "secretary": "secretary",
    "支部书记": "secretary",
    "书记": "secretary",
}
RATER_KINDS: list[str] = ["党员", "群众代表"]
ATTENDANCE: list[str] = ["出席", "请假", "缺席"]
YES = {"yes", "y", "是", "true", "1"}
NO = {"no", "n", "否", "false", "0", ""}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"
    required: bool = False  # the column must exist
    not_blank: bool = False  # every row needs a value
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class SheetSpec:
    key: str
    label: str
    columns: tuple[Column, ...]
    required: bool = False
    item_columns: Literal["none", "scores", "appraisal"] = "none"


SHEETS: dict[str, SheetSpec] = {
    s.key: s
    for s in [
        SheetSpec(
            "branch",
            "支部信息",
            (Column("key", "项目", required=True), Column("value", "内容", required=True)),
            required=True,
        ),
        SheetSpec(
            "members",
            "党员名单",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("name", "姓名", required=True, not_blank=True),
                Column("member_type", "党员类别", "choice", required=True, not_blank=True, choices=tuple(MEMBER_TYPES)),
                Column("role", "身份", "choice", choices=tuple(ROLES)),
                Column("joined", "转入月份", "month"),
                Column("left", "转出月份", "month"),
                Column("exempt", "不列入积分", "yesno"),
                Column("exempt_reason", "不列入原因"),
                Column("exempt_stars", "直接评定星级", "int"),
            ),
            required=True,
        ),
        SheetSpec(
            "monthly_scores",
            "月度评分",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("month", "月份", "month", required=True, not_blank=True),
                Column("note", "备注"),
            ),
            required=True,
            item_columns="scores",
        ),
        SheetSpec(
            "self_scores",
            "党员自评",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("month", "月份", "month", required=True, not_blank=True),
                Column("note", "备注"),
            ),
            item_columns="scores",
        ),
        SheetSpec(
            "appraisal",
            "民主测评",
            (
                Column("ballot_no", "票号", required=True, not_blank=True),
                Column("rater_kind", "测评人类别", "choice", required=True, not_blank=True, choices=tuple(RATER_KINDS)),
                Column("member_id", "党员编号", required=True, not_blank=True),
            ),
            item_columns="appraisal",
        ),
        SheetSpec(
            "adjustments",
            "加减分",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("date", "日期", "date", required=True, not_blank=True),
                Column("rule_code", "加减分代码", required=True, not_blank=True),
                Column("points", "分值", "number"),
                Column("evidence", "佐证材料"),
                Column("approved_by", "审批人"),
                Column("note", "备注"),
            ),
        ),
        SheetSpec(
            "vetoes",
            "一票否决",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("date", "日期", "date", required=True, not_blank=True),
                Column("condition", "否决情形", required=True, not_blank=True),
                Column("votes_for", "赞成票", "int"),
                Column("votes_against", "反对票", "int"),
                Column("note", "备注"),
            ),
        ),
        SheetSpec(
            "amendments",
            "评分更正",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("month", "月份", "month", required=True, not_blank=True),
                Column("item", "考评项目", required=True, not_blank=True),
                Column("new_score", "更正后分数", "number", required=True, not_blank=True),
                Column("reason", "更正理由", required=True, not_blank=True),
                Column("decided_on", "决定日期", "date", required=True, not_blank=True),
            ),
        ),
        SheetSpec(
            "attendance",
            "组织生活",
            (
                Column("date", "日期", "date", required=True, not_blank=True),
                Column("activity", "活动", required=True, not_blank=True),
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("status", "出勤", "choice", required=True, not_blank=True, choices=tuple(ATTENDANCE)),
            ),
        ),
        SheetSpec(
            "dues",
            "党费交纳",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("month", "月份", "month", required=True, not_blank=True),
                Column("paid", "已交纳", "yesno", required=True, not_blank=True),
            ),
        ),
    ]
}

BRANCH_KEYS: dict[str, str] = {"branch_id": "支部编号", "branch_name": "支部名称", "scheme": "积分方案", "year": "年度"}


def header_text(key: str, label: str) -> str:
    """The header our templates write: ``党员编号 (member_id)``."""
    return f"{label} ({key})"


def _norm(text: Any) -> str:
    return re.sub(r"\s+", "", str(text)).replace("（", "(").replace("）", ")").lower()


def _header_key(text: Any, names: dict[str, str]) -> str | None:
    """Map a header cell to its key: ``key``, ``label`` or ``label (key)``."""
    t = _norm(text)
    if not t:
        return None
    if t in names:
        return names[t]
    m = re.match(r"^(.*)\(([^()]*)\)$", t)
    if m and m.group(2) in names:
        return names[m.group(2)]
    return None


@dataclass
class InputBook:
    """The validated contents of one input workbook; every table keeps ``row`` (the Excel row)."""

    path: Path
    sha256: str
    branch_id: str
    branch_name: str
    scheme_ref: str
    year: int
    members: pd.DataFrame
    monthly: pd.DataFrame
    self_scores: pd.DataFrame
    appraisal: pd.DataFrame
    adjustments: pd.DataFrame
    vetoes: pd.DataFrame
    amendments: pd.DataFrame
    attendance: pd.DataFrame
    dues: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    # sheet key -> column key -> (sheet name as found, Excel column letter), for tracing cells
    cells: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)

    def cell(self, sheet: str, column: str, row: int) -> str:
        """``月度评分 (monthly_scores)!D14`` for a sheet key, a column key and an Excel row."""
        name, letter = self.cells.get(sheet, {}).get(column, (sheet, column))
        return f"{name}!{letter}{int(row)}"

    def sheet_counts(self) -> pd.DataFrame:
        """Rows read per sheet, for the notebook's input checks (no cell values)."""
        rows = [(SHEETS[k].label, k, len(getattr(self, a))) for k, a in _SHEET_ATTRS.items()]
        return pd.DataFrame(rows, columns=["工作表", "sheet", "行数 rows"])


_SHEET_ATTRS: dict[str, str] = {
    "members": "members",
    "monthly_scores": "monthly",
    "self_scores": "self_scores",
    "appraisal": "appraisal",
    "adjustments": "adjustments",
    "vetoes": "vetoes",
    "amendments": "amendments",
    "attendance": "attendance",
    "dues": "dues",
}


class _Collector:
    """Collects failures as rows of the error table."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.rows: list[dict[str, Any]] = []
        self.sheet_names: dict[str, str] = {}  # sheet key -> name in the workbook
        self.letters: dict[str, dict[str, str]] = {}  # sheet key -> column key -> letter
        # kept here, not in DataFrame.attrs: pandas deep-copies attrs on every operation
        self.present: dict[str, set[str]] = {}  # sheet key -> columns the sheet has
        self.header_rows: dict[str, int] = {}  # sheet key -> Excel row of the header

    def _cell(self, sheet: str, row: Any, column: str) -> str:
        name = self.sheet_names.get(sheet, "")
        if not name:
            return ""
        letter = self.letters.get(sheet, {}).get(column, "")
        if letter and isinstance(row, (int, np.integer)):
            return f"{name}!{letter}{int(row)}"
        return f"{name}!{letter}:{letter}" if letter else name

    def add(self, sheet: str, row: Any, column: str, value: Any, problem: str, allowed: str = "") -> None:
        self.rows.append(
            {
                "file": self.file,
                "sheet": sheet,
                "row": row,
                "column": column,
                "cell": self._cell(sheet, row, column),
                "value": _show(value),
                "problem": problem,
                "allowed": allowed,
            }
        )

    def add_mask(
        self,
        df: pd.DataFrame,
        mask: pd.Series,
        sheet: str,
        column: str,
        problem: str,
        allowed: str = "",
        values: pd.Series | np.ndarray | str | Callable[[], Any] | None = None,
    ) -> None:
        """A failure for each row of ``df`` where ``mask`` holds. ``values``: what each cell held,
        row by row with ``df`` (default ``df[column]``), or one text for every row; a function is
        called only when a row fails, since most checks find nothing."""
        if not mask.index.equals(df.index):
            mask = mask.reindex(df.index, fill_value=False)
        hit = mask.to_numpy(dtype=bool)
        if not hit.any():
            return
        given: pd.Series | np.ndarray | str | None = values() if callable(values) else values
        if isinstance(given, pd.Series) and not given.index.equals(df.index):
            given = given.reindex(df.index)
        if given is None:
            shown = (
                df[column].to_numpy(dtype=object)[hit] if column in df else np.full(int(hit.sum()), "", dtype=object)
            )
        elif np.ndim(given) == 0:
            shown = np.full(int(hit.sum()), given, dtype=object)
        else:
            shown = np.asarray(given, dtype=object)[hit]
        for r, v in zip(df["row"].to_numpy()[hit].tolist(), shown.tolist(), strict=True):
            self.add(sheet, r, column, v, problem, allowed)

    def raise_if_any(self) -> None:
        if self.rows:
            table = pd.DataFrame(self.rows, columns=FAILURE_COLUMNS)
            table["_order"] = table["row"].map(lambda r: r if isinstance(r, (int, np.integer)) else 0)
            table = table.sort_values(["sheet", "_order"], kind="stable").drop(columns="_order")
            raise InputError(table)


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- reading ----------------------------------------------------------------------------------


def _find_sheet(names: list[str], spec: SheetSpec) -> str | None:
    wanted = {_norm(spec.key): spec.key, _norm(spec.label): spec.key}
    for name in names:
        if _header_key(name, wanted) == spec.key:
            return name
    return None


def _raw_table(
    wb: CalamineWorkbook, sheet_name: str, spec: SheetSpec, item_names: dict[str, str], c: _Collector
) -> pd.DataFrame | None:
    """Sheet -> DataFrame of raw cell values with key headers and the Excel ``row``."""
    rows = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    names = {_norm(col.key): col.key for col in spec.columns}
    names.update({_norm(col.label): col.key for col in spec.columns})
    names.update(item_names)
    header_idx = None
    for i, row in enumerate(rows[:10]):
        if sum(_header_key(v, names) is not None for v in row) >= min(2, len(spec.columns)):
            header_idx = i
            break
    if header_idx is None:
        c.add(
            spec.key,
            "",
            "",
            "",
            f"找不到表头行 (no header row) in sheet {sheet_name!r}",
            ", ".join(header_text(col.key, col.label) for col in spec.columns),
        )
        return None
    header = rows[header_idx]
    c.sheet_names[spec.key] = sheet_name
    keys: list[str | None] = []
    for h in header:
        k = _header_key(h, names)
        if k is None and _norm(h):
            c.add(
                spec.key, header_idx + 1, str(h), h, "未知的列 (unknown column)", ", ".join(sorted(set(names.values())))
            )
        if k is not None and k in keys:
            c.add(spec.key, header_idx + 1, str(h), h, "列重复 (duplicate column)", "each column once")
            k = None
        keys.append(k)
    present = [k for k in keys if k is not None]
    for col in spec.columns:
        if col.required and col.key not in present:
            c.add(
                spec.key,
                header_idx + 1,
                col.key,
                "",
                "缺少必需的列 (required column missing)",
                header_text(col.key, col.label),
            )
    body = list(rows[header_idx + 1 :])
    cols = {k: [r[j] if j < len(r) else "" for r in body] for j, k in enumerate(keys) if k is not None}
    df = pd.DataFrame(cols, dtype=object)
    df["row"] = np.arange(header_idx + 2, header_idx + 2 + len(body))
    c.letters[spec.key] = {k: get_column_letter(j + 1) for j, k in enumerate(keys) if k is not None}
    data_cols = list(present)
    if data_cols:
        blank = np.logical_and.reduce([_blank_array(df[k].to_numpy(dtype=object)) for k in data_cols])
        df = df.loc[~blank]
    df = df.reset_index(drop=True)
    c.present[spec.key] = set(present)
    c.header_rows[spec.key] = header_idx + 1  # where a missing column belongs
    for col in spec.columns:
        if col.key not in df:
            df[col.key] = ""
    return df


def _blank_array(a: np.ndarray) -> np.ndarray:
    """None, NaN, or text of nothing but spaces; only text cells are stripped."""
    blank = pd.isna(a)
    text = np.fromiter((type(v) is str for v in a), dtype=bool, count=len(a))
    if text.any():
        blank[text] = np.char.strip(a[text].astype(str)) == ""
    return blank


def _is_blank(s: pd.Series) -> pd.Series:
    return pd.Series(_blank_array(s.to_numpy(dtype=object)), index=s.index)


def _to_text(s: pd.Series) -> pd.Series:
    def conv(v: Any) -> Any:
        if v is None or (isinstance(v, str) and not v.strip()):
            return pd.NA
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    return s.map(conv).astype("string")


def _to_number(s: pd.Series, blank: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """Numbers; returns (values, bad) where bad marks non-blank cells that are not numbers."""
    blank = _is_blank(s) if blank is None else blank
    a, b = s.to_numpy(dtype=object), blank.to_numpy(dtype=bool)
    if all(type(v) is float or type(v) is int for v in a[~b]):  # number cells, as calamine reads them
        return pd.Series(np.where(b, np.nan, a).astype("float64"), index=s.index), pd.Series(False, index=s.index)
    vals = pd.to_numeric(s.where(~blank, np.nan), errors="coerce")  # float() parsing: spaces around a number are fine
    bad = ~blank & vals.isna()
    return vals.astype("float64"), bad


_MONTH_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")


def _to_month(s: pd.Series, blank: pd.Series | None = None) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``YYYY-MM`` text or a date cell -> (year, month, bad)."""

    def conv(v: Any) -> tuple[float, float]:
        if isinstance(v, (dt.date, dt.datetime)):
            return float(v.year), float(v.month)
        if isinstance(v, str):
            m = _MONTH_RE.match(v.strip())
            if m and 1 <= int(m.group(2)) <= 12:
                return float(m.group(1)), float(m.group(2))
        return np.nan, np.nan

    blank = _is_blank(s) if blank is None else blank
    codes, uniques = _factorize(s)  # a month column holds a dozen distinct values: convert each once
    pairs = np.array([conv(u) for u in uniques] + [(np.nan, np.nan)], dtype="float64").reshape(-1, 2)
    year = pd.Series(pairs[codes, 0], index=s.index)
    month = pd.Series(pairs[codes, 1], index=s.index)
    return year, month, ~blank & month.isna()


def _factorize(s: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes into the distinct values of ``s``; a missing value gets the code ``len(uniques)``.

    Only for conversions that look at text and dates alone: factorize treats ``1.0`` and
    ``True`` as one value."""
    codes, uniques = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
    values = list(uniques)
    return np.where(codes < 0, len(values), codes), values


def _to_date(s: pd.Series, blank: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    def conv(v: Any) -> Any:
        if isinstance(v, dt.datetime):
            return v.date()
        if isinstance(v, dt.date):
            return v
        if isinstance(v, str):
            try:
                return dt.date.fromisoformat(v.strip().replace("/", "-"))
            except ValueError:
                return None
        return None

    blank = _is_blank(s) if blank is None else blank
    codes, uniques = _factorize(s)
    converted = np.array([conv(u) for u in uniques] + [None], dtype=object)
    vals = pd.Series(converted[codes], index=s.index, dtype=object)
    return vals, ~blank & vals.isna()


def _to_yesno(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    def conv(v: Any) -> Any:
        t = _show(v).strip().lower() if not isinstance(v, bool) else ("yes" if v else "no")
        if t in YES:
            return True
        if t in NO:
            return False
        return None

    vals = s.map(conv)
    return vals.map(lambda v: bool(v) if v is not None else False).astype(bool), vals.isna()


def _convert(df: pd.DataFrame, spec: SheetSpec, c: _Collector, year: int | None) -> pd.DataFrame:
    """Type every known column; record a failure for each cell that does not fit."""
    out = pd.DataFrame({"row": df["row"].to_numpy()})
    for col in spec.columns:
        raw = df[col.key]
        blank = _is_blank(raw)
        if col.not_blank and col.key in c.present.get(spec.key, set(df.columns)):
            c.add_mask(df, blank, spec.key, col.key, "不能为空 (must not be blank)", col.label, values=raw)
        if col.kind in ("text", "choice"):
            vals = _to_text(raw)
            if col.kind == "choice":
                bad = ~blank & ~vals.isin(list(col.choices)).fillna(False)
                c.add_mask(
                    df,
                    bad,
                    spec.key,
                    col.key,
                    "不是允许的取值 (not an allowed value)",
                    " / ".join(col.choices),
                    values=raw,
                )
            out[col.key] = vals.to_numpy()
        elif col.kind in ("number", "int"):
            vals, bad = _to_number(raw, blank)
            if col.kind == "int":
                frac = ~vals.isna() & (vals != np.floor(vals.fillna(0)))
                neg = vals < 0
                bad = bad | frac | neg
            c.add_mask(
                df,
                bad,
                spec.key,
                col.key,
                "不是数字 (not a number)" if col.kind == "number" else "不是非负整数 (not a whole number >= 0)",
                "数字 number",
                values=raw,
            )
            out[col.key] = vals.to_numpy()
        elif col.kind == "month":
            y, m, bad = _to_month(raw, blank)
            c.add_mask(df, bad, spec.key, col.key, "不是月份 (not a month)", "YYYY-MM, e.g. 2025-03", values=raw)
            out[f"{col.key}_year"] = y.to_numpy()
            out[col.key] = m.to_numpy()
        elif col.kind == "date":
            vals, bad = _to_date(raw, blank)
            c.add_mask(df, bad, spec.key, col.key, "不是日期 (not a date)", "YYYY-MM-DD", values=raw)
            if year is not None:
                outside = ~bad & ~blank & vals.map(lambda d: d is not None and d.year != year)
                c.add_mask(
                    df,
                    outside,
                    spec.key,
                    col.key,
                    f"日期不在 {year} 年内 (date outside the year)",
                    f"{year}-01-01 .. {year}-12-31",
                    values=raw,
                )
            out[col.key] = vals.to_numpy()
        elif col.kind == "yesno":
            vals, bad = _to_yesno(raw)
            c.add_mask(df, bad, spec.key, col.key, "应填 是/否 (not yes/no)", "是 / 否 (yes / no)", values=raw)
            out[col.key] = vals.to_numpy()
    return out


def _month_in_year(df: pd.DataFrame, sheet: str, column: str, year: int, c: _Collector) -> None:
    y = df[f"{column}_year"]
    outside = y.notna() & (y != year)
    c.add_mask(
        df,
        outside,
        sheet,
        column,
        f"月份不在 {year} 年内 (month outside the year)",
        f"{year}-01 .. {year}-12",
        values=lambda: (
            df[f"{column}_year"].astype("Int64").astype(str) + "-" + df[column].astype("Int64").astype(str).str.zfill(2)
        ),
    )


def _item_columns(
    df: pd.DataFrame,
    raw: pd.DataFrame,
    sheet: str,
    present: bool,
    maxima: dict[str, float],
    allow_blank: bool,
    c: _Collector,
) -> None:
    """Type and range-check item score columns in place (``present``: the sheet exists)."""
    for code, mx in maxima.items():
        if code not in raw:
            if present:  # the header row is where the column has to be added
                c.add(
                    sheet,
                    c.header_rows.get(sheet, 1),
                    code,
                    "",
                    "缺少考评项目列 (item column missing)",
                    f"{code} (0..{mx:g})",
                )
            df[code] = np.nan
            continue
        blank = _is_blank(raw[code])
        vals, bad = _to_number(raw[code], blank)
        c.add_mask(raw, bad, sheet, code, "不是数字 (not a number)", f"0..{mx:g}", values=raw[code])
        out_of_range = vals.notna() & ((vals < 0) | (vals > mx))
        c.add_mask(raw, out_of_range, sheet, code, "超出分值范围 (out of range)", f"0..{mx:g}", values=raw[code])
        if not allow_blank:
            c.add_mask(raw, blank, sheet, code, "未评分 (score missing)", f"0..{mx:g}", values=raw[code])
        df[code] = vals.to_numpy()


# -- the public entry point -------------------------------------------------------------------


def load_inputs(path: str | Path, period: Period, scheme: LoadedScheme | None = None) -> tuple[InputBook, LoadedScheme]:
    """Read and validate an input workbook for ``period``; raise one InputError with all problems."""
    path = Path(path)
    c = _Collector(path.name)
    try:
        content = path.read_bytes()
        wb = CalamineWorkbook.from_filelike(__import__("io").BytesIO(content))
    except Exception as exc:  # calamine raises its own error types for broken files
        c.add("", "", "", "", f"无法读取工作簿 (cannot read workbook): {exc}", ".xlsx workbook")
        c.raise_if_any()
        raise AssertionError("unreachable") from exc
    sheet_names = list(wb.sheet_names)
    found = {key: _find_sheet(sheet_names, spec) for key, spec in SHEETS.items()}
    for key, spec in SHEETS.items():
        if spec.required and found[key] is None:
            c.add(key, "", "", "", "缺少必需的工作表 (required sheet missing)", f"{spec.label} ({spec.key})")

    # branch sheet: key/value rows
    branch: dict[str, Any] = {}
    branch_rows: dict[str, int] = {}
    if found["branch"] is not None:
        c.sheet_names["branch"] = found["branch"]
        c.letters["branch"] = dict.fromkeys(BRANCH_KEYS, "B")
        rows = wb.get_sheet_by_name(found["branch"]).to_python(skip_empty_area=False)
        names = {_norm(k): k for k in BRANCH_KEYS} | {_norm(v): k for k, v in BRANCH_KEYS.items()}
        for i, row in enumerate(rows):
            if len(row) >= 2:
                k = _header_key(row[0], names)
                if k is not None:
                    branch[k] = row[1]
                    branch_rows[k] = i + 1
        for k, label in BRANCH_KEYS.items():
            if _show(branch.get(k, "")).strip() == "":
                c.add(
                    "branch",
                    branch_rows.get(k, ""),
                    k,
                    "",
                    "缺少支部信息 (missing branch field)",
                    header_text(k, label),
                )
    branch_id = _show(branch.get("branch_id", "")).strip()
    if branch_id and not re.match(r"^[A-Za-z0-9_\-]+$", branch_id):
        c.add(
            "branch",
            branch_rows.get("branch_id", ""),
            "branch_id",
            branch_id,
            "支部编号只能含字母、数字、- 和 _ (invalid branch id)",
            "letters, digits, - and _, e.g. B001",
        )
    year: int | None = None
    y_raw = _show(branch.get("year", "")).strip()
    if y_raw:
        if re.match(r"^\d{4}$", y_raw):
            year = int(y_raw)
            if year != period.year:
                c.add(
                    "branch",
                    branch_rows.get("year", ""),
                    "year",
                    y_raw,
                    f"工作簿年度与期间 {period.text} 不符 (year does not match the period)",
                    str(period.year),
                )
        else:
            c.add(
                "branch",
                branch_rows.get("year", ""),
                "year",
                y_raw,
                "年度应为四位数字 (year must be YYYY)",
                "e.g. 2025",
            )
    scheme_ref = _show(branch.get("scheme", "")).strip()
    if scheme is None and scheme_ref:
        try:
            ref = Path(scheme_ref)
            if not ref.is_absolute() and (path.parent / ref).exists():
                ref = path.parent / ref
            scheme = load_scheme(ref if ref.suffix in {".yaml", ".yml"} else scheme_ref)
        except ValueError as exc:
            c.add(
                "branch",
                branch_rows.get("scheme", ""),
                "scheme",
                scheme_ref,
                str(exc).splitlines()[0],
                "built-in scheme name or .yaml path",
            )
    if scheme is None:
        c.raise_if_any()
        raise AssertionError("unreachable")
    s = scheme.scheme
    year = year or period.year
    item_names = {}
    for it in s.items:
        item_names[_norm(it.code)] = it.code
        item_names[_norm(it.name)] = it.code
    app_names = (
        dict(item_names)
        if s.appraisal.mode == "per_item"
        else ({_norm("score"): "score", _norm("测评分"): "score"} if s.appraisal.mode == "single" else {})
    )

    tables: dict[str, pd.DataFrame] = {}
    raws: dict[str, pd.DataFrame] = {}
    cells: dict[str, dict[str, tuple[str, str]]] = {}
    for key, spec in SHEETS.items():
        if key == "branch":
            continue
        extra = item_names if spec.item_columns == "scores" else app_names if spec.item_columns == "appraisal" else {}
        sheet_name = found[key]
        raw = _raw_table(wb, sheet_name, spec, extra, c) if sheet_name is not None else None
        if raw is None:
            raw = pd.DataFrame(
                {col.key: pd.Series(dtype=object) for col in spec.columns} | {"row": pd.Series(dtype="int64")}
            )
        raws[key] = raw
        if sheet_name is not None:
            cells[key] = {k: (sheet_name, letter) for k, letter in c.letters.get(key, {}).items()}
        tables[key] = _convert(raw, spec, c, year)

    members = tables["members"]
    _check_members(members, raws["members"], s, year, period, c)
    known = set(members["member_id"].dropna())
    active = _active_months(members, year)

    for key in ("monthly_scores", "self_scores"):
        _month_in_year(tables[key], key, "month", year, c)
        _item_columns(
            tables[key],
            raws[key],
            key,
            found[key] is not None,
            {i.code: i.max for i in s.items},
            key == "self_scores",
            c,
        )
        _unknown_member(tables[key], key, known, c)
        _duplicates(_of_year(tables[key], year), ["member_id", "month"], key, "month", c)
    _check_monthly_coverage(_of_year(tables["monthly_scores"], year), members, active, period, c)
    _check_scores_outside_membership(tables["self_scores"], active, "self_scores", c, period)

    appraisal = tables["appraisal"]
    if s.appraisal.mode != "none":
        maxima = (
            {i.code: i.max for i in s.items}
            if s.appraisal.mode == "per_item"
            else {"score": float(s.appraisal.max or 0)}
        )
        _item_columns(appraisal, raws["appraisal"], "appraisal", found["appraisal"] is not None, maxima, True, c)
        _unknown_member(appraisal, "appraisal", known, c)
        _duplicates(appraisal, ["ballot_no", "member_id"], "appraisal", "member_id", c)
        if period.kind == "year":
            if found["appraisal"] is None:
                c.add(
                    "appraisal",
                    "",
                    "",
                    "",
                    "年度评分需要民主测评表 (appraisal sheet needed for a year)",
                    "民主测评 (appraisal)",
                )
            else:
                _check_raters(appraisal, members, list(maxima), s.appraisal.min_raters, c)

    _check_adjustments(tables["adjustments"], s, known, c)
    _check_vetoes(tables["vetoes"], s, known, active, c)
    _check_amendments(tables["amendments"], tables["monthly_scores"], s, known, year, c)
    _unknown_member(tables["attendance"], "attendance", known, c)
    _unknown_member(tables["dues"], "dues", known, c)
    _month_in_year(tables["dues"], "dues", "month", year, c)
    _duplicates(_of_year(tables["dues"], year), ["member_id", "month"], "dues", "month", c)

    c.raise_if_any()

    notes: list[str] = []
    ms = _of_year(tables["monthly_scores"], year).reset_index(drop=True)
    exempt_ids = set(members.loc[members["exempt"], "member_id"])
    n_exempt_rows = int(ms["member_id"].isin(exempt_ids).sum())
    if n_exempt_rows:
        notes.append(f"不列入积分的党员有 {n_exempt_rows} 行月度评分, 不计分 (rows of exempt members are not scored)")
    later = int((ms["month"] > period.last_month).sum())
    if later:
        notes.append(f"{later} 行月度评分晚于期间 {period.text}, 本次不计 (rows after the period are not used)")

    members = members.assign(joined_month=active["first"].to_numpy(), left_month=active["last"].to_numpy())
    book = InputBook(
        path=path.resolve(),
        sha256=hashlib.sha256(content).hexdigest(),
        branch_id=branch_id,
        branch_name=_show(branch.get("branch_name", "")).strip(),
        scheme_ref=scheme_ref,
        year=year,
        members=members,
        monthly=ms,
        self_scores=tables["self_scores"],
        appraisal=appraisal,
        adjustments=tables["adjustments"],
        vetoes=tables["vetoes"],
        amendments=tables["amendments"],
        attendance=tables["attendance"],
        dues=tables["dues"],
        notes=notes,
        cells=cells,
    )
    return book, scheme


# -- checks -----------------------------------------------------------------------------------


MEMBER_ID_PATTERN = r"[A-Za-z0-9_\-]*[A-Za-z][A-Za-z0-9_\-]*"


def _of_year(df: pd.DataFrame, year: int) -> pd.DataFrame:
    """Rows whose month lies in ``year`` (rows of other years are reported on their own)."""
    return df[df["month_year"] == year]


def _check_members(m: pd.DataFrame, raw: pd.DataFrame, s: Scheme, year: int, period: Period, c: _Collector) -> None:
    _duplicates(m, ["member_id"], "members", "member_id", c)
    # the results workbook matches members with COUNTIFS/SUMIFS, where * ? ~ < > = are patterns
    # and an all-digit id is a number ("001" = 1): ids are kept to what matches only itself
    ids = m["member_id"].astype("string")
    odd = m["member_id"].notna() & ~ids.str.fullmatch(MEMBER_ID_PATTERN).fillna(False).astype(bool)
    c.add_mask(
        m,
        odd,
        "members",
        "member_id",
        "党员编号只能含字母、数字、- 和 _, 且至少有一个字母 (invalid member id)",
        "letters, digits, - and _, at least one letter, e.g. M0001",
    )
    m["role"] = m["role"].map(lambda v: ROLES.get(str(v), "member") if pd.notna(v) else "member")
    for col in ("joined", "left"):
        y = m[f"{col}_year"]
        late = y.notna() & (y > year)
        early = y.notna() & (y < year)
        if col == "joined":
            c.add_mask(
                m,
                late,
                "members",
                col,
                f"转入月份晚于 {year} 年 (joined after the year)",
                f"<= {year}-12",
                values=raw[col].to_numpy(),
            )
        else:
            c.add_mask(
                m,
                early,
                "members",
                col,
                f"转出月份早于 {year} 年 (left before the year)",
                f">= {year}-01",
                values=raw[col].to_numpy(),
            )
    first = np.where(m["joined_year"] < year, 1, m["joined"].fillna(1))
    last = np.where(m["left_year"] > year, 12, m["left"].fillna(12))
    backwards = pd.Series(first > last, index=m.index) & m["joined"].notna() & m["left"].notna()
    c.add_mask(
        m,
        backwards,
        "members",
        "left",
        "转出月份早于转入月份 (left before joined)",
        "left >= joined",
        values=raw["left"].to_numpy(),
    )
    stars_given = m["exempt_stars"].notna()
    if s.has_stars:
        # the scheme's own star range: a copied scheme may start above 0 stars
        star_counts = [b.stars for b in s.bands if b.stars is not None]
        min_stars, max_stars = min(star_counts), max(star_counts)
        need = m["exempt"] & ~stars_given
        c.add_mask(
            m,
            need,
            "members",
            "exempt_stars",
            "不列入积分的党员须直接评定星级 (exempt member needs hand-entered stars)",
            f"{min_stars}..{max_stars}",
            values="",
        )
        out_of_range = stars_given & m["exempt"] & ((m["exempt_stars"] < min_stars) | (m["exempt_stars"] > max_stars))
        c.add_mask(
            m,
            out_of_range,
            "members",
            "exempt_stars",
            "星级超出本方案的范围 (stars outside the scheme's range)",
            f"{min_stars}..{max_stars}",
        )
        # stars are entered only for exempt members; for anyone else they would be silently ignored
        c.add_mask(
            m,
            stars_given & ~m["exempt"],
            "members",
            "exempt_stars",
            "只有不列入积分的党员才直接评定星级 (stars are entered only for exempt members)",
            "留空, 或在 不列入积分 (exempt) 填 是 (blank, or set exempt to yes)",
        )
    else:
        c.add_mask(
            m,
            stars_given,
            "members",
            "exempt_stars",
            f"方案 {s.name} 不评星级, 直接评定星级不会被使用 "
            f"(scheme {s.name} has no stars: the value would be ignored)",
            "留空 (blank)",
        )


def _active_months(m: pd.DataFrame, year: int) -> pd.DataFrame:
    first = np.where(m["joined_year"].fillna(year) < year, 1, m["joined"].fillna(1)).astype(int)
    last = np.where(m["left_year"].fillna(year) > year, 12, m["left"].fillna(12)).astype(int)
    return pd.DataFrame(
        {"member_id": m["member_id"].to_numpy(), "first": first, "last": last, "exempt": m["exempt"].to_numpy()}
    )


def _unknown_member(df: pd.DataFrame, sheet: str, known: set[Any], c: _Collector) -> None:
    bad = df["member_id"].notna() & ~df["member_id"].isin(known)
    c.add_mask(df, bad, sheet, "member_id", "党员名单中没有此编号 (unknown member)", "a member_id of the members sheet")


def _duplicates(df: pd.DataFrame, keys: list[str], sheet: str, column: str, c: _Collector) -> None:
    sub = df.dropna(subset=keys)
    dup = sub.duplicated(subset=keys, keep="first")
    if not dup.any():
        return
    first_rows = sub.drop_duplicates(subset=keys, keep="first").set_index(keys)["row"]
    for _, r in sub.loc[dup].iterrows():
        key = tuple(r[k] for k in keys)
        first = first_rows.loc[key if len(keys) > 1 else key[0]]
        shown = " / ".join(
            f"{int(r['month_year'])}-{int(k):02d}" if name == "month" and "month_year" in r else _show(k)
            for name, k in zip(keys, key, strict=True)
        )
        c.add(
            sheet,
            int(r["row"]),
            column,
            shown,
            f"重复, 与第 {int(first)} 行相同 (duplicate of row {int(first)})",
            f"one row per {' + '.join(keys)}",
        )


def _check_monthly_coverage(
    ms: pd.DataFrame, members: pd.DataFrame, active: pd.DataFrame, period: Period, c: _Collector
) -> None:
    _check_scores_outside_membership(ms, active, "monthly_scores", c, period)
    need = active.loc[~active["exempt"]]
    if need.empty:
        return
    months = np.arange(1, 13)
    grid = need.loc[need.index.repeat(12)].assign(month=np.tile(months, len(need)))
    grid = grid[
        (grid["month"] >= grid["first"]) & (grid["month"] <= grid["last"]) & (grid["month"] <= period.last_month)
    ]
    have = ms[["member_id", "month"]].dropna().drop_duplicates()
    merged = grid.merge(have.assign(_have=True), on=["member_id", "month"], how="left")
    missing = merged[merged["_have"].isna()]
    if missing.empty:
        return
    # A missing month has no row of its own in monthly_scores; the cell a user can act on is the
    # member's row in the members sheet (the member to add rows for, or whose joined/left is wrong).
    member_rows = members.drop_duplicates("member_id").set_index("member_id")["row"]
    for mid, grp in missing.groupby("member_id", sort=True):
        listed = ", ".join(f"{period.year}-{int(mo):02d}" for mo in grp["month"])
        c.add(
            "members",
            int(member_rows.loc[mid]),
            "member_id",
            mid,
            f"月度评分表缺少党员 {mid} 这些月份的评分: {listed} "
            f"(monthly_scores has no row for this member in these months: {listed})",
            f"在 月度评分 (monthly_scores) 中为该党员在支部的每个月各填一行, 直到 {period.text}; 或改正 转入/转出月份 "
            f"(one row per month the member was in the branch, up to {period.text}; or correct joined / left)",
        )


def _check_scores_outside_membership(
    ms: pd.DataFrame, active: pd.DataFrame, sheet: str, c: _Collector, period: Period
) -> None:
    merged = ms.merge(active, on="member_id", how="inner")
    outside = merged["month"].notna() & ((merged["month"] < merged["first"]) | (merged["month"] > merged["last"]))
    if outside.any():
        bad = merged.loc[outside]
        for r, mid, mo, f, last in zip(
            bad["row"], bad["member_id"], bad["month"], bad["first"], bad["last"], strict=True
        ):
            c.add(
                sheet,
                int(r),
                "month",
                f"{period.year}-{int(mo):02d}",
                f"党员 {mid} 该月不在本支部 (member not in the branch that month)",
                f"{period.year}-{int(f):02d} .. {period.year}-{int(last):02d}",
            )


def _check_raters(app: pd.DataFrame, members: pd.DataFrame, cols: list[str], min_raters: int, c: _Collector) -> None:
    """One problem per member rated by too few raters, at the member's row in the members sheet:
    the missing ballots have no row of their own, and a member with no ballot at all has none."""
    scored = members.loc[~members["exempt"], ["member_id", "row"]].drop_duplicates("member_id")
    counts = app.groupby("member_id")[cols].count().reindex(scored["member_id"]).fillna(0).astype(int).to_numpy()
    short = counts < min_raters
    member_ids, member_rows = scored["member_id"].to_numpy(), scored["row"].to_numpy()
    for i in np.nonzero(short.any(axis=1))[0]:  # members in list order
        mid, mrow = member_ids[i], int(member_rows[i])
        few = [(cols[j], int(counts[i, j])) for j in np.nonzero(short[i])[0]]
        listed = ", ".join(f"{col} {n} 人" for col, n in few)
        c.add(
            "members",
            mrow,
            "member_id",
            mid,
            f"党员 {mid} 的民主测评人数不足 (too few raters): {listed}",
            f"每名党员每项至少 {min_raters} 人测评, 在 民主测评 (appraisal) 中补足选票 "
            f"(>= {min_raters} ratings per member and item in the appraisal sheet)",
        )


def _check_adjustments(adj: pd.DataFrame, s: Scheme, known: set[Any], c: _Collector) -> None:
    _unknown_member(adj, "adjustments", known, c)
    rules = s.rules_by_code
    unknown = adj["rule_code"].notna() & ~adj["rule_code"].isin(list(rules))
    c.add_mask(
        adj,
        unknown,
        "adjustments",
        "rule_code",
        "加减分目录中没有此代码 (unknown rule code)",
        ", ".join(rules) or "(scheme has no adjustments)",
    )
    for _, r in adj.loc[adj["rule_code"].isin(list(rules)) & adj["points"].notna()].iterrows():
        rule = rules[r["rule_code"]]
        p = float(r["points"])
        sign_ok = p > 0 if rule.kind == "bonus" else p < 0
        if not sign_ok or abs(p) > rule.limit + 1e-9:
            sign = "+" if rule.kind == "bonus" else "-"
            allowed = f"{sign}0 .. {sign}{rule.limit:g} (blank = {rule.signed_points:+g})"
            c.add(
                "adjustments",
                int(r["row"]),
                "points",
                p,
                f"分值与 {rule.code} ({rule.name}) 不符 (points do not fit the rule)",
                allowed,
            )


def _check_vetoes(v: pd.DataFrame, s: Scheme, known: set[Any], active: pd.DataFrame, c: _Collector) -> None:
    _unknown_member(v, "vetoes", known, c)
    conds = s.conditions_by_key
    bad = v["condition"].notna() & ~v["condition"].isin(list(conds))
    c.add_mask(
        v,
        bad,
        "vetoes",
        "condition",
        "不是本方案的否决情形 (not a veto condition of the scheme)",
        " / ".join(f"{x.code} {x.name}" for x in s.veto.conditions),
    )
    if s.veto.requires_majority:
        c.add_mask(
            v,
            v["votes_for"].isna(),
            "vetoes",
            "votes_for",
            "须填写举手表决的赞成票数 (votes needed: vetoes are decided by a show of hands)",
            "whole number >= 0",
        )
        c.add_mask(
            v,
            v["votes_against"].isna(),
            "vetoes",
            "votes_against",
            "须填写反对票数 (votes needed)",
            "whole number >= 0",
        )
    n_members = _members_on(v, active)
    over = (v["votes_for"].fillna(0) + v["votes_against"].fillna(0)) > n_members
    c.add_mask(
        v,
        over & v["date"].notna(),
        "vetoes",
        "votes_for",
        "票数多于当月支部党员人数 (more votes than members)",
        "votes_for + votes_against <= members in the branch that month",
        values=lambda: (v["votes_for"].fillna(0) + v["votes_against"].fillna(0)).astype(int),
    )


def _members_on(v: pd.DataFrame, active: pd.DataFrame) -> pd.Series:
    """Members in the branch in the month of each row's ``date``."""
    months = v["date"].map(lambda d: d.month if d is not None and not pd.isna(d) else 0).to_numpy(dtype=np.int64)
    counts = active_counts(active["first"].to_numpy(), active["last"].to_numpy())
    return pd.Series(np.where(months > 0, counts[months], 0), index=v.index)


def _check_amendments(a: pd.DataFrame, ms: pd.DataFrame, s: Scheme, known: set[Any], year: int, c: _Collector) -> None:
    _unknown_member(a, "amendments", known, c)
    _month_in_year(a, "amendments", "month", year, c)
    items = {i.code: i for i in s.items} | {i.name: i for i in s.items}
    bad_item = a["item"].notna() & ~a["item"].isin(list(items))
    c.add_mask(a, bad_item, "amendments", "item", "不是本方案的考评项目 (unknown item)", ", ".join(s.item_codes))
    a["item"] = a["item"].map(lambda v: items[v].code if v in items else v)
    mx = a["item"].map(lambda v: items[v].max if v in items else np.nan)
    out_of_range = a["new_score"].notna() & mx.notna() & ((a["new_score"] < 0) | (a["new_score"] > mx))
    c.add_mask(a, out_of_range, "amendments", "new_score", "超出分值范围 (out of range)", "0..item maximum")
    have = (
        ms[["member_id", "month", "row"]].dropna(subset=["member_id", "month"]).drop_duplicates(["member_id", "month"])
    )
    merged = a.merge(have.rename(columns={"row": "target_row"}), on=["member_id", "month"], how="left")
    dangling = merged["target_row"].isna() & a["member_id"].isin(known).to_numpy() & a["month"].notna().to_numpy()
    dangling.index = a.index
    c.add_mask(
        a,
        dangling,
        "amendments",
        "month",
        "更正指向的月度评分不存在 (amendment points at no monthly score)",
        "a member and month that have a row in monthly_scores",
        values=lambda: (
            a["member_id"].astype(str) + " " + a["month"].map(lambda m: f"{year}-{int(m):02d}" if pd.notna(m) else "")
        ),
    )
    _duplicates(a, ["member_id", "month", "item"], "amendments", "item", c)
