"""Possible 自行脱党 (SPEC 3.1, 8): six or more consecutive months without organisational life or
without paying dues, counted across the turn of the year, in every period kind.

Pure: from this year's inputs and, when a sealed run of the same branch's previous year exists,
that year's inputs (``Prior.previous_year``); nothing is read from disk.

Per member and month, each kind of lapse gives one of four states:

* organisational life (组织生活): the activities held are the ``activities`` sheet's, else the
  distinct (date, activity) of ``attendance``. A member in the branch that month is expected at
  every activity of the month, except a 支委会 or 党小组会 (only some members attend those), where
  he is expected only when the attendance sheet lists him. The month is *missed* when he was
  expected somewhere and has no 出席 or 请假 row for any of it (a 缺席 row and no row at all are
  the same: a sign-in sheet lists only who came), *kept* when he has one, *idle* when no activity
  was expected of him (it neither breaks nor extends a run);
* dues (党费): with a ``dues`` sheet, a month in the branch with a row ``paid = 是`` is kept, and
  one with no row, or ``paid = 否``, is missed;
* a month the member was not in the branch (joined / left), or a year whose workbook keeps no
  record of that kind, breaks a run: nothing says he lapsed then.

A run of at least ``scheme.follow_up.lapse_months`` missed months (idle months skipped over) that
includes a month of this run's year and ends by the period's last month is listed: the latest such
run per member and kind, since it is the one the branch has to examine now (an earlier one of the
same window was the business of the run that saw it end).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ...inputs.reading import PARTIAL_KINDS, SHEETS, InputBook
from ..periods import Period
from ..scheme import Scheme
from .prior import LAPSE_COLUMNS, empty

ORG_LIFE, DUES = "组织生活", "党费"
PRESENT = ("出席", "请假")  # 请假 is an excused absence: the member kept his organisational life
LAPSE_ACTION = "可能视为自行脱党, 由支部讨论 (possible 自行脱党: for the branch to examine)"

# the months of a lapse case, each with what was missed and the input cells behind it (脱党核查)
EVIDENCE_COLUMNS: list[str] = [
    "member_id",
    "name",
    "kind",  # 组织生活 / 党费
    "run",  # 2024-08 至 2025-01
    "month",  # YYYY-MM
    "what",  # the activity (kind, date), or 党费
    "finding",  # 缺席 / 未出席 (无记录) / 本月未开展组织生活 / 未交纳 / 无交纳记录
    "source",  # the input cells: sheet!cell, or 无记录 (no row)
]

# month states
OUT, MISSED, KEPT, IDLE = 0, 1, 2, 3


@dataclass
class Lapses:
    """What the check found: the cases (prior.LAPSE_COLUMNS), the months behind them
    (EVIDENCE_COLUMNS) and what the check was based on, in Chinese."""

    cases: pd.DataFrame = field(default_factory=lambda: empty(LAPSE_COLUMNS))
    evidence: pd.DataFrame = field(default_factory=lambda: empty(EVIDENCE_COLUMNS))
    basis: list[str] = field(default_factory=list)


@dataclass
class _Year:
    """One workbook's months, laid on the members of this run's book (by member_id)."""

    book: InputBook
    last: int  # the last month looked at
    prefix: str  # how its cells are named: "" for this run's workbook, else which workbook
    ids: pd.Index  # this run's members: row i of every matrix is ids[i]
    in_branch: npt.NDArray[np.bool_]  # members x 12
    exempt: npt.NDArray[np.bool_]  # members
    held: pd.DataFrame | None = None  # the activities held: date, activity, kind, month, row, sheet
    attendance: pd.DataFrame | None = None  # attendance rows with ``act`` (index into held) and ``pos``


def find_lapses(book: InputBook, scheme: Scheme, period: Period, previous: InputBook | None = None) -> Lapses:
    """The possible 自行脱党 cases of ``book`` for ``period``; ``previous``: the same branch's
    workbook of the year before (its months count into a run), or None."""
    out = Lapses()
    if scheme.subject != "member":
        return out
    if previous is not None and (previous.year != book.year - 1 or previous.branch_id != book.branch_id):
        raise ValueError(
            f"上年工作簿应为支部 {book.branch_id} 的 {book.year - 1} 年度 "
            f"(the previous year's book must be branch {book.branch_id}, {book.year - 1}): "
            f"got {previous.branch_id} {previous.year}"
        )
    if book.activities.empty and book.attendance.empty and book.dues.empty:  # nothing recorded to check
        out.basis += [_unchecked(ORG_LIFE), _unchecked(DUES)]
        return out
    members = book.members.drop_duplicates("member_id").reset_index(drop=True)
    ids = pd.Index(members["member_id"])
    names = dict(zip(members["member_id"], members["name"], strict=True))
    years = [_year(book, ids, period.last_month, "")]
    if previous is not None:
        years.insert(0, _year(previous, ids, 12, f"[{previous.year}年工作簿 {previous.path.name}] "))
    lapse = scheme.follow_up.lapse_months
    cases: list[dict[str, Any]] = []
    evidence: list[dict[str, Any]] = []
    checked = False
    for kind, states_of in ((ORG_LIFE, _org_life), (DUES, _dues)):
        current = states_of(years[-1])
        if current is None:
            out.basis.append(_unchecked(kind))
            continue
        checked = True
        out.basis.append(_checked(kind, years[-1]))
        gaps = _dues_gaps(years[-1]) if kind == DUES else ""
        if gaps:
            out.basis.append(gaps)
        parts, months = [], []
        for y in years[:-1]:
            earlier = states_of(y)
            if earlier is None:
                out.basis.append(f"{y.book.year} 年工作簿没有{kind}记录, 连续月数从 {book.year} 年 1 月起算。")
                continue
            parts.append(earlier)
            months += [(y.book.year, m) for m in range(1, 13)]
        parts.append(current)
        months += [(book.year, m) for m in range(1, period.last_month + 1)]
        states = np.concatenate(parts, axis=1)
        start, end, count = latest_runs(states, lapse, first_current=len(months) - period.last_month)
        for i in np.flatnonzero(count >= lapse).tolist():
            mid = ids[i]
            span = [(months[t], states[i, t]) for t in range(int(start[i]), int(end[i]) + 1)]
            rows = _evidence(kind, mid, span, years)
            first, last = _ym(months[int(start[i])]), _ym(months[int(end[i])])
            run = f"{first} 至 {last}"
            cases.append(
                {
                    "member_id": mid,
                    "name": names[mid],
                    "kind": kind,
                    "first_month": first,
                    "last_month": last,
                    "months": int(count[i]),
                    "detail": _detail(rows),
                }
            )
            evidence += [{"member_id": mid, "name": names[mid], "kind": kind, "run": run} | r for r in rows]
    if previous is None and checked:
        out.basis.append(f"没有上年度 ({book.year - 1}) 的运行记录: 连续月数从 {book.year} 年 1 月起算。")
    if cases:
        # in members-table order, organisational life before dues; each case's months stay in order
        order = {m: k for k, m in enumerate(members["member_id"])} | {ORG_LIFE: 0, DUES: 1}
        by = ["member_id", "kind"]
        out.cases = (
            pd.DataFrame(cases, columns=LAPSE_COLUMNS)
            .sort_values(by, key=lambda s: s.map(order), kind="stable")
            .reset_index(drop=True)
        )
        out.evidence = (
            pd.DataFrame(evidence, columns=EVIDENCE_COLUMNS)
            .sort_values(by, key=lambda s: s.map(order), kind="stable")
            .reset_index(drop=True)
        )
    return out


def lapse_follow_ups(cases: pd.DataFrame) -> pd.DataFrame:
    """The cases as rows of the 组织处置 list (member_id, name, reason, action)."""
    what = {ORG_LIFE: "无故不参加组织生活", DUES: "未交纳党费"}
    return pd.DataFrame(
        {
            "member_id": cases["member_id"],
            "name": cases["name"],
            "reason": [
                f"{a} 至 {b} 连续 {int(n)} 个月{what[k]}"
                for a, b, n, k in zip(
                    cases["first_month"], cases["last_month"], cases["months"], cases["kind"], strict=True
                )
            ],
            "action": LAPSE_ACTION,
        },
        columns=["member_id", "name", "reason", "action"],
    )


def latest_runs(
    states: npt.NDArray[np.int8], lapse: int, first_current: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per member (row of ``states``, months in order), the latest run of at least ``lapse``
    MISSED months (IDLE ones skipped over, OUT and KEPT ending it) whose last month is at or after
    column ``first_current``: its first and last column and its count of missed months (0, with
    -1 for the columns, when there is none)."""
    n = states.shape[0]
    start, end, count = np.full(n, -1), np.full(n, -1), np.zeros(n, dtype=np.int64)
    best_start, best_end, best_count = start.copy(), end.copy(), count.copy()

    def close(mask: npt.NDArray[np.bool_]) -> None:
        ok = mask & (count >= lapse) & (end >= first_current)
        best_start[ok], best_end[ok], best_count[ok] = start[ok], end[ok], count[ok]
        start[mask], end[mask], count[mask] = -1, -1, 0

    for t in range(states.shape[1]):
        col = states[:, t]
        close((col == KEPT) | (col == OUT))
        missed = col == MISSED
        start[missed & (count == 0)] = t
        end[missed] = t
        count[missed] += 1
    close(np.ones(n, dtype=bool))
    return best_start, best_end, best_count


# -- one workbook's months ----------------------------------------------------------------------


def _year(book: InputBook, ids: pd.Index, last: int, prefix: str) -> _Year:
    """Which months of ``book``'s year each member of ``ids`` was in the branch, and the
    activities held in it with the attendance rows that name them."""
    m = book.members.drop_duplicates("member_id")
    pos = ids.get_indexer(pd.Index(m["member_id"]))
    keep = pos >= 0
    n = len(ids)
    first = m["joined_month"].to_numpy(dtype=np.int64)[keep] if "joined_month" in m else np.ones(keep.sum(), int)
    final = m["left_month"].to_numpy(dtype=np.int64)[keep] if "left_month" in m else np.full(keep.sum(), 12)
    months = np.arange(1, 13)
    in_branch = np.zeros((n, 12), dtype=bool)
    in_branch[pos[keep]] = (months[None, :] >= first[:, None]) & (months[None, :] <= final[:, None])
    in_branch[:, last:] = False
    exempt = np.zeros(n, dtype=bool)
    exempt[pos[keep]] = m["exempt"].to_numpy(dtype=bool)[keep]
    y = _Year(book, last, prefix, ids, in_branch, exempt)
    acts = book.activities.dropna(subset=["date", "activity"])
    if len(acts):
        held = acts[["date", "activity", "kind", "row"]].assign(sheet="activities")
    else:  # no activities sheet: what the attendance sheet names was held
        att = book.attendance.dropna(subset=["date", "activity"]).drop_duplicates(["date", "activity"])
        held = att[["date", "activity", "row"]].assign(kind=None, sheet="attendance")
    held = held.assign(month=[d.month for d in held["date"]])
    held = held[held["month"] <= last].sort_values(["date", "row"]).reset_index(drop=True)
    if held.empty:
        return y
    y.held = held.assign(act=np.arange(len(held)))
    att = book.attendance.dropna(subset=["date", "activity", "member_id"])
    att = att.merge(y.held[["date", "activity", "act", "month"]], on=["date", "activity"], how="inner")
    att = att.assign(pos=ids.get_indexer(pd.Index(att["member_id"])))
    y.attendance = att[att["pos"] >= 0].drop_duplicates(["pos", "act"]).reset_index(drop=True)
    return y


def _org_life(y: _Year) -> npt.NDArray[np.int8] | None:
    """Members x 12 month states of organisational life; None when the workbook names no activity."""
    if y.held is None or y.attendance is None:
        return None
    held, att = y.held, y.attendance
    n = len(y.exempt)
    partial = held["kind"].isin(list(PARTIAL_KINDS)).to_numpy()
    whole = np.bincount(held["month"].to_numpy(dtype=np.int64)[~partial], minlength=13)[1:13]
    expected = np.zeros((n, 12), dtype=np.int64) + whole[None, :]
    attended = np.zeros((n, 12), dtype=np.int64)
    pos, month = att["pos"].to_numpy(dtype=np.int64), att["month"].to_numpy(dtype=np.int64) - 1
    listed_partial = partial[att["act"].to_numpy(dtype=np.int64)]
    np.add.at(expected, (pos[listed_partial], month[listed_partial]), 1)
    came = att["status"].isin(list(PRESENT)).to_numpy()
    np.add.at(attended, (pos[came], month[came]), 1)
    # exempt members (年老体弱, 长期患病) are excused from organisational life, as they are from
    # points: their months break a run; their dues are checked like anyone's (党费 is every member's duty)
    out = np.where(expected == 0, IDLE, np.where(attended > 0, KEPT, MISSED))
    out[~y.in_branch | y.exempt[:, None]] = OUT
    return out.astype(np.int8)


def _dues(y: _Year) -> npt.NDArray[np.int8] | None:
    """Members x 12 month states of dues; None when the workbook has no dues rows (a dues sheet
    left empty is a record not kept, not a year of unpaid dues)."""
    d = y.book.dues
    if d.empty:
        return None
    d = d[(d["month_year"] == y.book.year) & d["paid"].astype(bool)]
    pos = y.ids.get_indexer(pd.Index(d["member_id"]))
    ok = pos >= 0
    paid = np.zeros((len(y.ids), 12), dtype=bool)
    paid[pos[ok], d["month"].to_numpy(dtype=np.int64)[ok] - 1] = True
    out = np.where(paid, KEPT, MISSED)
    out[~y.in_branch] = OUT
    return out.astype(np.int8)


def _dues_gaps(y: _Year) -> str:
    """The months up to the last one looked at for which the dues sheet has no row at all: most
    likely not yet entered, and every member in the branch then counts as unpaid."""
    d = y.book.dues
    have = set(d.loc[d["month_year"] == y.book.year, "month"].dropna().astype(int))
    gaps = [m for m in range(1, y.last + 1) if m not in have and y.in_branch[:, m - 1].any()]
    if not gaps:
        return ""
    listed = ", ".join(f"{y.book.year}-{m:02d}" for m in gaps)
    return f"党费交纳表中 {listed} 没有任何人的记录, 这些月份在支部的党员都按未交纳计; 已收缴的请补录。"


# -- the months behind a case ---------------------------------------------------------------------


def _evidence(
    kind: str, member_id: str, span: list[tuple[tuple[int, int], int]], years: list[_Year]
) -> list[dict[str, Any]]:
    by_year = {y.book.year: y for y in years}
    rows: list[dict[str, Any]] = []
    for (year, month), state in span:
        y = by_year[year]
        ym = _ym((year, month))
        if kind == DUES:
            found = [_dues_row(y, member_id, month)]
        elif state == IDLE:
            finding = "本月未安排该党员参加的组织生活 (不计入, 也不中断连续月数)"
            found = [{"what": "", "finding": finding, "source": _no_activity_source(y)}]
        else:
            found = _missed_activities(y, member_id, month)
        # the cells of the previous year's workbook say which workbook they are in
        rows += [{"month": ym} | r | {"source": y.prefix + r["source"]} for r in found]
    return rows


def _missed_activities(y: _Year, member_id: str, month: int) -> list[dict[str, Any]]:
    """The activities of ``month`` expected of the member, each with how he missed it."""
    assert y.held is not None and y.attendance is not None
    held = y.held[y.held["month"] == month]
    own = y.attendance[y.attendance["member_id"] == member_id]
    rows: dict[int, tuple[str, int]] = {
        int(a): (str(st), int(r)) for a, st, r in zip(own["act"], own["status"], own["row"], strict=True)
    }
    out = []
    for act, activity, kind, date, sheet, row in zip(
        held["act"].tolist(),
        held["activity"].astype(str).tolist(),
        held["kind"].tolist(),
        held["date"].tolist(),
        held["sheet"].tolist(),
        held["row"].tolist(),
        strict=True,
    ):
        status = rows.get(int(act))
        if kind in PARTIAL_KINDS and status is None:
            continue  # not expected of him
        day = date.isoformat()
        what = f"{activity} ({kind}, {day})" if isinstance(kind, str) and kind != activity else f"{activity} ({day})"
        where = _cell(y, str(sheet), "activity", int(row))
        if status is not None:
            finding = status[0]
            source = f"{_cell(y, 'attendance', 'status', status[1])}; 活动: {where}"
        else:
            finding = "未出席 (无出勤记录)"
            source = f"{_sheet(y, 'attendance')}: 无记录 (no row); 活动: {where}"
        short = f"{activity}({date.month}/{date.day}) {'缺席' if status is not None else '未出席'}"
        out.append({"what": what, "finding": finding, "source": source, "_short": short})
    return out


def _dues_row(y: _Year, member_id: str, month: int) -> dict[str, Any]:
    d = y.book.dues
    hit = d[(d["member_id"] == member_id) & (d["month_year"] == y.book.year) & (d["month"] == month)]
    if len(hit):
        return {
            "what": DUES,
            "finding": "未交纳",
            "source": _cell(y, "dues", "paid", int(hit["row"].iloc[0])),
            "_short": "未交纳",
        }
    return {
        "what": DUES,
        "finding": "无交纳记录",
        "source": f"{_sheet(y, 'dues')}: 无记录 (no row)",
        "_short": "无交纳记录",
    }


def _detail(rows: list[dict[str, Any]]) -> str:
    """``2024-08 主题党日(8/15) 未出席; 2024-09 ...``: each month and what was missed."""
    parts: list[str] = []
    month, items = "", list[str]()
    for r in [*rows, {"month": ""}]:
        if r["month"] != month:
            if month:
                parts.append(f"{month} {', '.join(items)}" if items else f"{month} 未安排组织生活 (不计)")
            month, items = r["month"], []
        if "_short" in r:
            items.append(r["_short"])
    return "; ".join(parts)


def _ym(ym: tuple[int, int]) -> str:
    return f"{ym[0]}-{ym[1]:02d}"


def _sheet(y: _Year, key: str) -> str:
    """A sheet as the workbook names it (its key and label when it has none)."""
    found = y.book.cells.get(key)
    return next(iter(found.values()))[0] if found else f"{SHEETS[key].label} ({key})"


def _cell(y: _Year, sheet: str, column: str, row: int) -> str:
    return y.book.cell(sheet, column, row)


def _no_activity_source(y: _Year) -> str:
    if y.book.activities.dropna(subset=["date", "activity"]).empty:
        return f"{_sheet(y, 'attendance')}: 本月无活动记录 (no activity this month)"
    return f"{_sheet(y, 'activities')}: 本月无活动 (no activity this month)"


def _checked(kind: str, y: _Year) -> str:
    if kind == DUES:
        return "党费: 依据党费交纳表; 党员在支部的月份没有交纳记录或 已交纳 为 否 的, 按未交纳计。"
    assert y.held is not None
    source = "活动安排表" if y.held["sheet"].eq("activities").all() else "组织生活表中出现的活动"
    return (
        f"组织生活: 依据{source} ({len(y.held)} 次活动); 党员在支部期间没有 出席 或 请假 记录的活动按未出席计 "
        "(支委会、党小组会只计出勤表列出的党员); 不列入积分的党员不查组织生活。"
    )


def _unchecked(kind: str) -> str:
    if kind == DUES:
        return "党费: 党费交纳表没有记录, 未核查 (no dues rows: not checked)。"
    return "组织生活: 活动安排表和组织生活表都没有记录, 未核查 (no activities: not checked)。"
