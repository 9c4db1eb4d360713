"""The follow-up register (跟踪帮教台账, SPEC 8): cases opened by a year's grade and carried across
years until the committee closes them. Pure: the register an earlier run left, this workbook's
decisions and the period in, the register after this run out.

A year run opens a case for each member graded 基本合格 (告诫, six months) or 不合格 (限期整改, one
year) who is not exempt, unless a veto made the grade; the case opens on the last day of the year's
公示 (``opened_on``) and is due that many months later, on the same day of the month (the month's
last day when it has fewer). Each decision of ``follow_up_outcomes`` dated up to the period's last
day is applied in date order: 结案 closes the case (已结案), 组织处理 / 劝退 / 除名 close it with that
status, 继续帮教 keeps it open with a new deadline the case's term after the decision. A case still
open whose deadline lies before the period's last day is overdue.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..periods import Period
from .prior import CASE_COLUMNS, empty
from .tables import NO, YES

# grade -> (kind of case, months to the deadline)
TERMS: dict[str, tuple[str, int]] = {"基本合格": ("告诫", 6), "不合格": ("限期整改", 12)}
KIND_MONTHS: dict[str, int] = dict(TERMS.values())
OPEN = "办理中"
CLOSED = "已结案"
# action -> the status it leaves the case in (继续帮教 keeps it open)
STATUS_AFTER: dict[str, str] = {
    "结案": CLOSED,
    "继续帮教": OPEN,
    "组织处理": "组织处理",
    "劝退": "劝退",
    "除名": "除名",
}
THIS_RUN = "本次运行"  # opened_by of a case this run opened (its folder is named only when sealed)
OVERDUE, ON_TIME = "是", "否"  # the register's overdue column, as an officer reads it


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day of the month ``months`` later, the month's last day when it has fewer days."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_end(period: Period) -> dt.date:
    """The last day of the period."""
    return dt.date(period.year, period.last_month, calendar.monthrange(period.year, period.last_month)[1])


def publicity_window(start: dt.date, working_days: int, holidays: Iterable[dt.date] = ()) -> tuple[dt.date, dt.date]:
    """First and last day of a posting of ``working_days`` working days, starting on the first
    working day on or after ``start``; Saturdays, Sundays and ``holidays`` are not working days.

    Make-up working weekends (调休) are not counted, which can only lengthen the posting.
    """
    if working_days < 1:
        raise ValueError(f"公示期至少 1 个工作日 (working_days must be >= 1, got {working_days})")
    off = {h.date() if isinstance(h, dt.datetime) else h for h in holidays}

    def working(day: dt.date) -> bool:
        return day.weekday() < 5 and day not in off

    day = start.date() if isinstance(start, dt.datetime) else start
    while not working(day):
        day += dt.timedelta(days=1)
    first, counted = day, 1
    while counted < working_days:
        day += dt.timedelta(days=1)
        counted += working(day)
    return first, day


def next_working_day(today: dt.date) -> dt.date:
    """The first working day after ``today`` (Saturdays and Sundays are not): where a 公示 starts
    when neither the run nor the branch sheet names a day."""
    return publicity_window(today + dt.timedelta(days=1), 1)[0]


def _date(value: Any) -> dt.date | None:
    if value is None or (not isinstance(value, dt.date) and (pd.isna(value) or str(value).strip() == "")):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip()[:10])


def _text(value: Any) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def case_register(
    annual: pd.DataFrame,
    members: pd.DataFrame,
    prior_cases: pd.DataFrame,
    outcomes: pd.DataFrame,
    period: Period,
    opened_on: dt.date | None,
) -> pd.DataFrame:
    """The register after this run (CASE_COLUMNS), open cases first, overdue ones first, then by
    deadline.

    ``annual``: the year's figures (member_id, name, total, grade, veto, exempt; empty unless the
    period is a year); ``members``: the branch's members (for names); ``prior_cases``: the register
    the latest earlier year's run left (CASE_COLUMNS, as read from its cases.csv); ``outcomes``: the
    follow_up_outcomes sheet, validated against ``prior_cases`` when it was read (a row naming no
    open case is skipped here); ``opened_on``: the last day of the year's 公示 (a year run only).
    Dates are ``YYYY-MM-DD`` text, ``case_year`` an int, ``total`` the published (rounded) total.
    """
    end = period_end(period)
    cases: list[dict[str, Any]] = []
    for rec in prior_cases.to_dict("records"):
        row: dict[str, Any] = {c: _text(rec.get(c, "")) for c in CASE_COLUMNS}
        row["case_year"] = int(str(rec["case_year"]))
        total = str(rec.get("total", "")).strip()
        row["total"] = float(total) if total not in ("", "nan") else float("nan")
        cases.append(row)
    by_key = {(str(c["member_id"]), int(c["case_year"])): c for c in cases}

    if len(outcomes):
        decided = outcomes.assign(_on=outcomes["decided_on"].map(_date))
        decided = decided[decided["_on"].map(lambda d: d is not None and d <= end)]
        for rec in decided.sort_values(["_on", "row"], kind="stable").to_dict("records"):
            case = by_key.get((str(rec["member_id"]), int(rec["case_year"])))
            if case is None or case["status"] != OPEN:
                continue  # validated at load (reading.check_outcomes_against): no open case
            on: dt.date = rec["_on"]
            action = str(rec["action"])
            case.update(
                decided_on=on.isoformat(),
                outcome=_text(rec["outcome"]),
                action=action,
                helper=_text(rec.get("helper")),
                note=_text(rec.get("note")),
                status=STATUS_AFTER[action],
            )
            if action == "继续帮教":  # a new term from the decision
                case["deadline"] = add_months(on, KIND_MONTHS[str(case["kind"])]).isoformat()

    if period.kind == "year" and len(annual):
        if opened_on is None:
            raise ValueError("a year run opens cases on the last day of its 公示: opened_on is needed")
        # exempt members are rated by hand and get no notice, unless a veto made the grade
        hit = annual[annual["grade"].isin(list(TERMS)) & ((annual["exempt"] == NO) | (annual["veto"] == YES))]
        for rec in hit.to_dict("records"):
            kind, months = TERMS[str(rec["grade"])]
            points = rec.get("total")
            cases.append(
                {
                    **dict.fromkeys(CASE_COLUMNS, ""),
                    "member_id": str(rec["member_id"]),
                    "name": _text(rec["name"]),
                    "case_year": period.year,
                    "kind": kind,
                    "grade": str(rec["grade"]),
                    "total": float(points) if points is not None and not pd.isna(points) else float("nan"),
                    "opened_on": opened_on.isoformat(),
                    "deadline": add_months(opened_on, months).isoformat(),
                    "status": OPEN,
                    "opened_by": THIS_RUN,
                }
            )
    if not cases:
        return empty(CASE_COLUMNS)
    names = dict(zip(members["member_id"].astype(str), members["name"].astype(str), strict=True))
    for case in cases:
        case["name"] = case["name"] or names.get(str(case["member_id"]), "")
        late = case["status"] == OPEN and dt.date.fromisoformat(str(case["deadline"])) < end
        case["overdue"] = OVERDUE if late else ON_TIME
    register = pd.DataFrame(cases, columns=CASE_COLUMNS)
    register["case_year"] = register["case_year"].astype("int64")
    register["total"] = register["total"].astype("float64")
    order = pd.DataFrame(
        {
            "closed": register["status"] != OPEN,
            "on_time": register["overdue"] != OVERDUE,
            "deadline": register["deadline"],
            "member_id": register["member_id"],
            "case_year": register["case_year"],
        }
    ).sort_values(["closed", "on_time", "deadline", "member_id", "case_year"], kind="stable")
    return register.loc[order.index].reset_index(drop=True)


def open_cases(register: pd.DataFrame) -> pd.DataFrame:
    """The cases still open, in the register's order (overdue first, then by deadline)."""
    return register[register["status"] == OPEN].reset_index(drop=True)
