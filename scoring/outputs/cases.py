"""The follow-up register (跟踪帮教台账, SPEC 8) as a run writes it: ``cases.csv``, the results
workbook's 跟踪帮教 sheet (a plain table: a list, not a figure) and the open cases on 组织处置.

Every piece of user text (names, helpers, notes) is written as literal text, never a formula.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..rules.engine.cases import OPEN, OVERDUE, period_end
from ..rules.engine.prior import CASE_COLUMNS
from ..rules.engine.result import Result

if TYPE_CHECKING:
    from xlsxwriter.worksheet import Worksheet

    from .excel.writer import Writer

CASES_SHEET = "跟踪帮教"
CASE_WORDS: dict[str, str] = {
    "member_id": "党员编号",
    "name": "姓名",
    "case_year": "案件年度",
    "kind": "类别",
    "grade": "年度等级",
    "total": "年度总积分",
    "opened_on": "开案日期",
    "deadline": "期限",
    "status": "办理情况",
    "decided_on": "决定日期",
    "outcome": "帮教结论",
    "action": "处理",
    "helper": "帮教人",
    "note": "备注",
    "overdue": "逾期",
    "opened_by": "开案的运行",
    "source": "帮教结论所在单元格",
}
# ``中文 (key)`` headers, as every other table of a run
CASE_LABELS: dict[str, str] = {k: f"{v} ({k})" for k, v in CASE_WORDS.items()}


def cases_table(register: pd.DataFrame) -> pd.DataFrame:
    """The register as ``cases.csv`` holds it (CASE_COLUMNS; dates as YYYY-MM-DD text)."""
    return register[CASE_COLUMNS].reset_index(drop=True)


def outcome_cells(result: Result) -> list[str]:
    """For each case of the register, the follow_up_outcomes cells this run applied to it (the
    decision's row, by its 帮教结论 cell), "" when none."""
    book = result.book
    register = result.cases
    if book is None or book.follow_up_outcomes.empty or register.empty:
        return [""] * len(register)
    end = period_end(result.period)
    f = book.follow_up_outcomes
    applied = f[[_on_or_before(d, end) for d in f["decided_on"]]]
    rows: dict[tuple[str, int], list[int]] = {}
    for r in applied.sort_values(["decided_on", "row"], kind="stable").to_dict("records"):
        rows.setdefault((str(r["member_id"]), int(r["case_year"])), []).append(int(r["row"]))
    return [
        "、".join(book.cell("follow_up_outcomes", "outcome", n) for n in rows.get((str(m), int(y)), []))
        for m, y in zip(register["member_id"], register["case_year"], strict=True)
    ]


def _on_or_before(day: Any, end: dt.date) -> bool:
    return isinstance(day, dt.date) and day <= end


def cases_sheet(w: Writer, result: Result) -> None:
    """The 跟踪帮教 sheet: the register after this run, with the cells of the decisions applied."""
    table = cases_table(result.cases).drop(columns=["name"]).astype({"case_year": "int64"})
    table["source"] = outcome_cells(result)
    w.table(CASES_SHEET, table, CASE_LABELS)


def open_cases_rows(result: Result) -> list[dict[str, Any]]:
    """The open cases, overdue first, then by deadline (the register's order)."""
    register = result.cases
    return [{str(k): v for k, v in r.items()} for r in register[register["status"] == OPEN].to_dict("records")]


def open_cases_block(ws: Worksheet, fmt: Any, result: Result, row: int, last: int) -> int:
    """The open follow-up cases on the 组织处置 sheet, below its list: each with its deadline,
    overdue ones first. ``fmt``: the publicity sheets' formats. Returns the next free row."""
    from .publicity import _fit_row, _line, _put

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
