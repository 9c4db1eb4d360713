"""The follow-up register (跟踪帮教台账, SPEC 8) as a run writes it: ``cases.csv``, the results
workbook's 跟踪帮教 sheet (a plain table: a list, not a figure) and the open cases on 组织处置.

Every piece of user text (names, helpers, notes) is written as literal text, never a formula.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..rules.engine.cases import OPEN, period_end
from ..rules.engine.prior import CASE_COLUMNS
from ..rules.engine.result import Result

if TYPE_CHECKING:
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
