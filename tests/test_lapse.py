"""自行脱党 (SPEC 3.1, 8): six or more consecutive months without organisational life or without
paying dues, across the turn of the year, in every period kind. Each test writes small workbooks
as a branch would fill them, reads them, and checks the cases against months counted by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import ballots, member_rows

from scoring.exceptions import InputError
from scoring.inputs.demo import DEMO_BRANCHES, generate_demo, write_input_workbook
from scoring.inputs.reading import InputBook, load_inputs
from scoring.inputs.templates import README_SHEET, build_template
from scoring.outputs.excel import write_results_workbook
from scoring.rules.engine import Result, score
from scoring.rules.engine.lapse import IDLE, KEPT, MISSED, OUT, find_lapses, latest_runs
from scoring.rules.engine.prior import LAPSE_COLUMNS, Prior
from scoring.rules.periods import parse_period
from scoring.rules.scheme import load_scheme

SCHEME = "county-10-stars"
IDS = ["M01", "M02", "M03", "M04"]
ABSENT = "absent"  # no attendance row at all (a sign-in sheet lists only who came)


def monthly(year: int, members: pd.DataFrame) -> pd.DataFrame:
    """Every scored member 8 points per item in every month he is in the branch."""
    items = load_scheme(SCHEME).scheme.item_codes
    rows = []
    for m in members.itertuples(index=False):
        if m.exempt == "是":
            continue
        first = int(str(m.joined)[-2:]) if isinstance(m.joined, str) else 1
        for month in range(first, 13):
            rows.append({"member_id": m.member_id, "month": f"{year}-{month:02d}", **dict.fromkeys(items, 8.0)})
    return pd.DataFrame(rows)


def monthly_activities(year: int, months: range | list[int] = range(1, 13), kind: str = "主题党日") -> pd.DataFrame:
    """One activity on the 15th of each of ``months``."""
    return pd.DataFrame([{"date": dt.date(year, m, 15), "activity": kind, "kind": kind} for m in months])


def sign_in(acts: pd.DataFrame, members: list[str], status: dict[tuple[str, int], str]) -> pd.DataFrame:
    """Attendance for ``acts``: 出席 for every member unless ``status[(member, month)]`` says
    otherwise (ABSENT: no row at all)."""
    rows = []
    for date, activity in zip(acts["date"], acts["activity"], strict=True):
        assert isinstance(date, dt.date)
        for mid in members:
            st = status.get((mid, date.month), "出席")
            if st != ABSENT:
                rows.append({"date": date, "activity": activity, "member_id": mid, "status": st})
    return pd.DataFrame(rows, columns=["date", "activity", "member_id", "status"])


def workbook(
    tmp_path: Path,
    year: int,
    sheets: dict[str, pd.DataFrame],
    period: str,
    overrides: dict[str, dict[str, Any]] | None = None,
    name: str = "",
) -> InputBook:
    members = member_rows(IDS, **(overrides or {}))
    tables = {"members": members, "monthly_scores": monthly(year, members)}
    tables["appraisal"] = ballots(SCHEME, members, lambda b, m, it: 8.0)
    tables.update(sheets)
    branch = {"branch_id": "T001", "branch_name": "测试支部", "scheme": SCHEME, "year": year}
    path = write_input_workbook(tmp_path / (name or f"T001_{year}.xlsx"), branch, tables, load_scheme(SCHEME).scheme)
    book, _ = load_inputs(path, parse_period(period))
    return book


def run(book: InputBook, period: str, previous: InputBook | None = None) -> Result:
    loaded = load_scheme(SCHEME)
    return score(book, loaded, parse_period(period), Prior(previous_year=previous))


def cases(result: Result) -> dict[tuple[str, str], tuple[str, str, int]]:
    """(member, kind) -> (first month, last month, months)."""
    lap = result.lapses
    assert list(lap.columns) == LAPSE_COLUMNS
    return {
        (str(mid), str(kind)): (str(a), str(b), int(n))
        for mid, kind, a, b, n in zip(
            lap["member_id"], lap["kind"], lap["first_month"], lap["last_month"], lap["months"], strict=True
        )
    }


# -- (a) no attendance row at all ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        # M03 has no row for any 主题党日: Jan..last month of the period are all missed
        ("2025-05", None),  # 5 months < 6
        ("2025-06", ("2025-01", "2025-06", 6)),  # a month run
        ("2025Q2", ("2025-01", "2025-06", 6)),  # a quarter run
        ("2025H1", ("2025-01", "2025-06", 6)),  # a half-year run
        ("2025", ("2025-01", "2025-12", 12)),  # the year
    ],
)
def test_member_with_no_attendance_row_is_listed_in_every_period_kind(
    tmp_path: Path, period: str, expected: tuple[str, str, int] | None
) -> None:
    acts = monthly_activities(2025)
    att = sign_in(acts, IDS, {("M03", m): ABSENT for m in range(1, 13)})
    r = run(workbook(tmp_path, 2025, {"activities": acts, "attendance": att}, period), period)
    assert cases(r) == ({("M03", "组织生活"): expected} if expected else {})
    follow = r.follow_up[r.follow_up["reason"].str.contains("组织生活")]
    if expected:
        first, last, n = expected
        assert list(follow["member_id"]) == ["M03"]
        assert follow["reason"].iloc[0] == f"{first} 至 {last} 连续 {n} 个月无故不参加组织生活"
        assert "自行脱党" in follow["action"].iloc[0]
        detail = r.lapses["detail"].iloc[0]
        assert detail.startswith("2025-01 主题党日(1/15) 未出席; 2025-02 主题党日(2/15) 未出席")
    else:
        assert follow.empty


def test_without_an_activities_sheet_the_attendance_sheet_names_what_was_held(tmp_path: Path) -> None:
    # no activities sheet: the 主题党日 of Jan..Jun appear in attendance (M01, M02, M04 came);
    # M03 has no row for any of them -> 6 missed months; the detail cites the attendance row
    # where each activity first appears
    acts = monthly_activities(2025, range(1, 7))
    att = sign_in(acts, IDS, {("M03", m): ABSENT for m in range(1, 13)})
    r = run(workbook(tmp_path, 2025, {"attendance": att}, "2025H1"), "2025H1")
    assert cases(r) == {("M03", "组织生活"): ("2025-01", "2025-06", 6)}
    ev = r.lapse_evidence
    jan = ev[ev["month"] == "2025-01"].iloc[0]
    # January's first attendance row is the sheet's row 2 (header in row 1): M01 at column B
    assert jan["source"] == "组织生活 (attendance): 无记录 (no row); 活动: 组织生活 (attendance)!B2"


# -- (b) dues -------------------------------------------------------------------------------------


def test_dues_months_without_a_row_or_unpaid_count_as_unpaid(tmp_path: Path) -> None:
    # 2025Q3 (months 1..9). M01 paid every month. M02 paid Jan..Mar, no row Apr..Sep: 6 months
    # with no row -> listed 2025-04 至 2025-09. M03 paid = 否 Jan..Jun, paid Jul..Sep: 6 -> listed
    # 2025-01 至 2025-06. M04 no row in May only: 1 month -> not listed.
    rows = []
    for m in range(1, 10):
        rows.append({"member_id": "M01", "month": f"2025-{m:02d}", "paid": "是"})
        if m <= 3:
            rows.append({"member_id": "M02", "month": f"2025-{m:02d}", "paid": "是"})
        rows.append({"member_id": "M03", "month": f"2025-{m:02d}", "paid": "否" if m <= 6 else "是"})
        if m != 5:
            rows.append({"member_id": "M04", "month": f"2025-{m:02d}", "paid": "是"})
    r = run(workbook(tmp_path, 2025, {"dues": pd.DataFrame(rows)}, "2025Q3"), "2025Q3")
    assert cases(r) == {("M02", "党费"): ("2025-04", "2025-09", 6), ("M03", "党费"): ("2025-01", "2025-06", 6)}
    reasons = dict(zip(r.follow_up["member_id"], r.follow_up["reason"], strict=True))
    assert reasons == {
        "M02": "2025-04 至 2025-09 连续 6 个月未交纳党费",
        "M03": "2025-01 至 2025-06 连续 6 个月未交纳党费",
    }
    ev = r.lapse_evidence.set_index(["member_id", "month"])
    assert ev.loc[("M02", "2025-04"), "finding"] == "无交纳记录"
    assert ev.loc[("M02", "2025-04"), "source"] == "党费交纳 (dues): 无记录 (no row)"
    # M03's January row is the third written (M01, M02, M03 for January): Excel row 4, paid in column C
    assert ev.loc[("M03", "2025-01"), "finding"] == "未交纳"
    assert ev.loc[("M03", "2025-01"), "source"] == "党费交纳 (dues)!C4"


def test_an_empty_dues_sheet_is_a_record_not_kept(tmp_path: Path) -> None:
    empty = pd.DataFrame(columns=["member_id", "month", "paid"])
    r = run(workbook(tmp_path, 2025, {"dues": empty}, "2025Q3"), "2025Q3")
    assert r.lapses.empty and any("党费交纳表没有记录" in b for b in r.lapse_basis)


# -- (c), (d) across the turn of the year ------------------------------------------------------


def two_years(tmp_path: Path, absent_2024: range, absent_2025: range) -> tuple[InputBook, InputBook]:
    acts24, acts25 = monthly_activities(2024), monthly_activities(2025, range(1, 4))
    att24 = sign_in(acts24, IDS, {("M03", m): ABSENT for m in absent_2024})
    att25 = sign_in(acts25, IDS, {("M03", m): ABSENT for m in absent_2025})
    b24 = workbook(tmp_path, 2024, {"activities": acts24, "attendance": att24}, "2024-12", name="T001_2024.xlsx")
    b25 = workbook(tmp_path, 2025, {"activities": acts25, "attendance": att25}, "2025Q1", name="T001_2025.xlsx")
    return b24, b25


def test_a_run_across_new_year_counts_the_previous_years_months(tmp_path: Path) -> None:
    # 2024: M03 missed Aug..Dec (5); 2025: missed Jan, came Feb and Mar. With the 2024 book the run
    # is 2024-08 .. 2025-01: 5 + 1 = 6 months, and it has a month of 2025 -> listed in 2025Q1.
    # Without it only 2025-01: 1 month -> not listed.
    b24, b25 = two_years(tmp_path, range(8, 13), range(1, 2))
    r = run(b25, "2025Q1", b24)
    assert cases(r) == {("M03", "组织生活"): ("2024-08", "2025-01", 6)}
    assert "2024-08 至 2025-01 连续 6 个月无故不参加组织生活" in set(r.follow_up["reason"])
    detail = r.lapses["detail"].iloc[0]
    assert detail.split("; ")[0] == "2024-08 主题党日(8/15) 未出席" and detail.endswith("2025-01 主题党日(1/15) 未出席")
    ev = r.lapse_evidence
    assert list(ev["month"]) == ["2024-08", "2024-09", "2024-10", "2024-11", "2024-12", "2025-01"]
    assert ev["source"].iloc[0].startswith("[2024年工作簿 T001_2024.xlsx] 组织生活 (attendance): 无记录 (no row)")
    # the August 2024 activity is the 8th row of 2024's activities sheet: Excel row 9, activity in column B
    assert ev["source"].iloc[0].endswith("; 活动: 活动安排 (activities)!B9")
    assert ev["what"].iloc[0] == "主题党日 (2024-08-15)"
    assert ev["source"].iloc[-1] == "组织生活 (attendance): 无记录 (no row); 活动: 活动安排 (activities)!B2"
    assert run(b25, "2025Q1").lapses.empty
    assert cases(run(b25, "2025-01", b24)) == {("M03", "组织生活"): ("2024-08", "2025-01", 6)}  # a month run too


def test_a_run_entirely_in_the_previous_year_is_not_listed_again(tmp_path: Path) -> None:
    # 2024: M03 missed Mar..Aug (6), came Sep..Dec; 2025: came every month. The 2024 run lists it;
    # the 2025 run does not (none of its months is in 2025).
    b24, b25 = two_years(tmp_path, range(3, 9), range(0))
    assert cases(run(b24, "2024-12")) == {("M03", "组织生活"): ("2024-03", "2024-08", 6)}
    assert run(b25, "2025Q1", b24).lapses.empty


def test_previous_book_of_another_year_is_refused(tmp_path: Path) -> None:
    _, b25 = two_years(tmp_path, range(0), range(0))
    with pytest.raises(ValueError, match="2024"):
        find_lapses(b25, load_scheme(SCHEME).scheme, parse_period("2025Q1"), b25)


# -- (e) months with no activity; (f) 请假; (g) a member who joined later ----------------------


def test_a_month_without_activity_neither_breaks_nor_extends_a_run(tmp_path: Path) -> None:
    # activities in Jan, Feb, Mar, May, Jun, Jul (none in April); M03 never came.
    # By June: Jan, Feb, Mar, May, Jun = 5 missed (April is not counted) -> not listed.
    # By July: 6 missed; April did not break the run -> 2025-01 至 2025-07, 6 months.
    acts = monthly_activities(2025, [1, 2, 3, 5, 6, 7])
    att = sign_in(acts, IDS, {("M03", m): ABSENT for m in range(1, 13)})
    sheets = {"activities": acts, "attendance": att}
    assert run(workbook(tmp_path, 2025, sheets, "2025-06"), "2025-06").lapses.empty
    r = run(workbook(tmp_path, 2025, sheets, "2025-07", name="b.xlsx"), "2025-07")
    assert cases(r) == {("M03", "组织生活"): ("2025-01", "2025-07", 6)}
    assert "2025-04 未安排组织生活 (不计)" in r.lapses["detail"].iloc[0]
    april = r.lapse_evidence[r.lapse_evidence["month"] == "2025-04"]
    assert len(april) == 1 and "不计入" in april["finding"].iloc[0]


def test_leave_is_not_absence(tmp_path: Path) -> None:
    # M03: 缺席 Jan, Feb, Apr..Aug, 请假 in March. Runs: Jan..Feb (2), Apr..Aug (5) -> none >= 6.
    # Were 请假 an absence, Jan..Aug would be 8 months.
    acts = monthly_activities(2025, range(1, 9))
    status = {("M03", m): "缺席" for m in range(1, 9)} | {("M03", 3): "请假"}
    sheets = {"activities": acts, "attendance": sign_in(acts, IDS, status)}
    assert run(workbook(tmp_path, 2025, sheets, "2025-08"), "2025-08").lapses.empty
    # the same with 缺席 in March: 8 months, and the detail says 缺席 (a row), not 未出席 (no row)
    status[("M03", 3)] = "缺席"
    sheets = {"activities": acts, "attendance": sign_in(acts, IDS, status)}
    r = run(workbook(tmp_path, 2025, sheets, "2025-08", name="b.xlsx"), "2025-08")
    assert cases(r) == {("M03", "组织生活"): ("2025-01", "2025-08", 8)}
    assert r.lapses["detail"].iloc[0].startswith("2025-01 主题党日(1/15) 缺席")


def test_a_member_who_joined_in_march_was_not_absent_before(tmp_path: Path) -> None:
    # M04 joined 2025-03 and never came. By July: Mar..Jul = 5 -> not listed (were Jan and Feb
    # counted, 7). By August: Mar..Aug = 6 -> listed from 2025-03.
    acts = monthly_activities(2025)
    att = sign_in(acts, IDS, {("M04", m): ABSENT for m in range(1, 13)})
    sheets = {"activities": acts, "attendance": att}
    joined = {"M04": {"joined": "2025-03"}}
    assert run(workbook(tmp_path, 2025, sheets, "2025-07", joined), "2025-07").lapses.empty
    r = run(workbook(tmp_path, 2025, sheets, "2025-08", joined, name="b.xlsx"), "2025-08")
    assert cases(r) == {("M04", "组织生活"): ("2025-03", "2025-08", 6)}


# -- who is expected where; exempt members -------------------------------------------------------


def test_committee_meetings_count_only_for_those_listed(tmp_path: Path) -> None:
    # Jan..Jun only a 支委会 each month. M01 (on the committee) came; M02 is listed 缺席 every
    # time: 6 missed -> listed. M03 and M04 are not on its attendance list: not expected, the months
    # are idle for them -> not listed.
    acts = monthly_activities(2025, range(1, 7), kind="支委会")
    att = sign_in(acts, ["M01", "M02"], {("M02", m): "缺席" for m in range(1, 7)})
    r = run(workbook(tmp_path, 2025, {"activities": acts, "attendance": att}, "2025H1"), "2025H1")
    assert cases(r) == {("M02", "组织生活"): ("2025-01", "2025-06", 6)}


def test_exempt_members_are_excused_organisational_life_but_not_dues(tmp_path: Path) -> None:
    # M04 exempt (年老体弱): no attendance and no dues rows Jan..Jun; the others came and paid.
    # Organisational life: not checked for him. Dues: 6 months without a row -> listed.
    acts = monthly_activities(2025, range(1, 7))
    att = sign_in(acts, IDS, {("M04", m): ABSENT for m in range(1, 13)})
    dues = pd.DataFrame(
        [{"member_id": mid, "month": f"2025-{m:02d}", "paid": "是"} for mid in IDS[:3] for m in range(1, 7)]
    )
    exempt = {"M04": {"exempt": "是", "exempt_reason": "年老体弱", "exempt_stars": 8}}
    book = workbook(tmp_path, 2025, {"activities": acts, "attendance": att, "dues": dues}, "2025H1", exempt)
    assert cases(run(book, "2025H1")) == {("M04", "党费"): ("2025-01", "2025-06", 6)}


# -- the run finder itself -------------------------------------------------------------------------


def test_latest_runs_takes_the_latest_qualifying_run() -> None:
    X, K, Z, N = MISSED, KEPT, IDLE, OUT  # (the states, one letter each; Z idle, N not in the branch)
    states = np.array(
        [
            # two runs of 3 in the current part (columns 4..): the later one
            [K, K, K, K, X, X, X, K, X, Z, X, X],
            # a run of 4 that ends before the current part (column 4) -> none
            [X, X, X, X, K, K, K, K, K, K, K, K],
            # a run of 4 broken by OUT (not in the branch) -> 2 + 2: none
            [K, K, K, K, X, X, N, X, X, K, K, K],
        ],
        dtype=np.int8,
    )
    start, end, count = latest_runs(states, 3, first_current=4)
    assert (start.tolist(), end.tolist(), count.tolist()) == ([8, -1, -1], [11, -1, -1], [3, 0, 0])


# -- bad inputs ----------------------------------------------------------------------------------


def test_bad_activities_are_reported_together(tmp_path: Path) -> None:
    acts = monthly_activities(2025, range(1, 4))
    acts = pd.concat(
        [
            acts,
            pd.DataFrame(
                [
                    {"date": dt.date(2024, 12, 20), "activity": "党课", "kind": "党课"},  # row 5: last year
                    {"date": dt.date(2025, 2, 15), "activity": "主题党日", "kind": "主题党日"},  # row 6: duplicate of 3
                    {"date": dt.date(2025, 4, 1), "activity": "读书会", "kind": "读书会"},  # row 7: unknown kind
                ]
            ),
        ],
        ignore_index=True,
    )
    att = sign_in(acts.iloc[:3], IDS, {})
    stray = {"date": dt.date(2025, 3, 16), "activity": "主题党日", "member_id": "M01", "status": "出席"}
    att = pd.concat([att, pd.DataFrame([stray])], ignore_index=True)  # row 14: no such activity that day
    members = member_rows(IDS)
    tables = {"members": members, "monthly_scores": monthly(2025, members), "activities": acts, "attendance": att}
    branch = {"branch_id": "T001", "branch_name": "测试支部", "scheme": SCHEME, "year": 2025}
    path = write_input_workbook(tmp_path / "bad.xlsx", branch, tables, load_scheme(SCHEME).scheme)
    with pytest.raises(InputError) as exc:
        load_inputs(path, parse_period("2025Q1"))
    f = exc.value.failures
    got = {(str(r.sheet), r.row, str(r.column)) for r in f.itertuples(index=False)}
    assert ("activities", 5, "date") in got  # dated outside the workbook's year
    assert ("activities", 6, "activity") in got  # the same date and activity as row 3
    assert ("activities", 7, "kind") in got
    assert ("attendance", 14, "activity") in got  # naming no activity of the activities sheet
    row14 = f[(f["sheet"] == "attendance") & (f["row"] == 14)].iloc[0]
    assert row14["cell"] == "组织生活 (attendance)!B14" and "2025-03-16" in row14["problem"]
    assert len(f) == 4, f


# -- traceability: the workbook sheet ---------------------------------------------------------------


def test_workbook_sheet_lists_the_months_and_the_cells(tmp_path: Path) -> None:
    b24, b25 = two_years(tmp_path, range(8, 13), range(1, 2))
    r = run(b25, "2025Q1", b24)
    path = write_results_workbook(r, tmp_path / "out.xlsx", {"inputs": "T001_2025.xlsx"})
    ws = openpyxl.load_workbook(path, read_only=True)["脱党核查"]
    rows = [list(v) for v in ws.iter_rows(values_only=True)]
    header = [str(h) for h in rows[0]]
    assert header[:3] == ["党员编号 (member_id)", "姓名 (name)", "类别 (kind)"]
    data = [r_ for r_ in rows[1:] if r_[0] == "M03"]
    assert [d[header.index("月份 (month)")] for d in data] == [
        "2024-08",
        "2024-09",
        "2024-10",
        "2024-11",
        "2024-12",
        "2025-01",
    ]
    assert all(d[header.index("连续期间 (run)")] == "2024-08 至 2025-01" for d in data)
    assert "无记录 (no row)" in str(data[0][header.index("依据单元格 (source)")])
    text = " ".join(str(c) for row in rows for c in row if c is not None)
    assert "nan" not in text and "None" not in text


# -- the template ----------------------------------------------------------------------------------


def test_template_has_the_activities_sheet_and_states_the_rule() -> None:
    wb = build_template(SCHEME, 2025)
    ws = wb["活动安排 (activities)"]
    assert [c.value for c in ws[1]] == ["日期 (date)", "活动 (activity)", "活动类别 (kind)"]
    kinds = [dv for dv in ws.data_validations.dataValidation if str(dv.sqref).startswith("C2")]
    assert len(kinds) == 1 and kinds[0].type == "list"
    names = wb.sheetnames
    assert names.index("活动安排 (activities)") + 1 == names.index("组织生活 (attendance)")
    readme = " ".join(str(v) for row in wb[README_SHEET].iter_rows(values_only=True) for v in row if v)
    assert "没有任何 出席 或 请假 记录, 该月即为未参加" in readme
    assert "没有记录或 已交纳 为 否 的即为未交纳" in readme and "上年 8 月 至 本年 1 月" in readme


# -- the demo --------------------------------------------------------------------------------------


def test_demo_branch_has_a_lapse_across_new_year(tmp_path: Path) -> None:
    # the demo's ninth member of B001 has no sign-in row from August to January, every year: in
    # 2024 that is Jan (1) and Aug..Dec (5), never 6; the 2025Q1 run with the 2024 book counts
    # Aug..Dec 2024 + Jan 2025 = 6 -> listed 2024-08 至 2025-01; without it, Jan 2025 alone.
    (p24,) = generate_demo(tmp_path / "2024", 2024, branches=DEMO_BRANCHES[:1])
    (p25,) = generate_demo(tmp_path / "2025", 2025, branches=DEMO_BRANCHES[:1])
    b24, _ = load_inputs(p24, parse_period("2024"))
    b25, loaded = load_inputs(p25, parse_period("2025Q1"))
    assert "B001M009" not in set(score(b24, loaded, parse_period("2024")).lapses["member_id"])
    r = score(b25, loaded, parse_period("2025Q1"), Prior(previous_year=b24))
    assert cases(r) == {("B001M009", "组织生活"): ("2024-08", "2025-01", 6)}
    assert score(b25, loaded, parse_period("2025Q1")).lapses.empty


def test_cases_in_member_order_organisational_life_before_dues(tmp_path: Path) -> None:
    # Jan..Jun: M04 neither came nor paid (no rows), M02 came but paid nothing (no rows), M01 and
    # M03 came and paid. Listed: M02 党费; M04 组织生活, then M04 党费; every run 2025-01 .. 2025-06.
    acts = monthly_activities(2025, range(1, 7))
    att = sign_in(acts, IDS, {("M04", m): ABSENT for m in range(1, 13)})
    dues = pd.DataFrame(
        [{"member_id": mid, "month": f"2025-{m:02d}", "paid": "是"} for mid in ("M01", "M03") for m in range(1, 7)]
    )
    r = run(workbook(tmp_path, 2025, {"activities": acts, "attendance": att, "dues": dues}, "2025H1"), "2025H1")
    assert list(zip(r.lapses["member_id"], r.lapses["kind"], strict=True)) == [
        ("M02", "党费"),
        ("M04", "组织生活"),
        ("M04", "党费"),
    ]
    ev = r.lapse_evidence
    assert (
        list(zip(ev["member_id"], ev["kind"], strict=True))
        == [("M02", "党费")] * 6 + [("M04", "组织生活")] * 6 + [("M04", "党费")] * 6
    )
    assert list(ev["month"].iloc[6:12]) == [f"2025-{m:02d}" for m in range(1, 7)]
