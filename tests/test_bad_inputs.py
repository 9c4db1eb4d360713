"""Bad input workbooks (SPEC 4 and 7).

Every rejected input must name the file, the sheet, the Excel row (header = row 1, first data row
= row 2) and the column, say what is wrong and what is allowed, and report every problem at once.
Nothing is written to the run folder when inputs are rejected, and an earlier run is never changed.

Each test starts from a valid workbook (``county_sheets()`` or the xinluo / ganzi equivalents
below), breaks one thing and checks the failure table of the :class:`InputError`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import BookMaker, adjustment, as_float, ballots, county_sheets, member_rows, monthly_rows, veto

from scoring.exceptions import FAILURE_COLUMNS, InputError
from scoring.inputs.reading import BRANCH_KEYS, SHEETS, load_inputs
from scoring.rules.periods import parse_period
from scoring.rules.scheme import load_scheme

REPO_ROOT = Path(__file__).resolve().parents[1]
COUNTY = "county-10-stars"
XINLUO = "xinluo-three-level"
GANZI = "ganzi-base-plus-minus"


# -- helpers ----------------------------------------------------------------------------------


def excel_row(index: int) -> int:
    """Excel row of the DataFrame row at positional ``index`` (header is row 1)."""
    return int(index) + 2


def xinluo_sheets(n: int = 12) -> dict[str, pd.DataFrame]:
    members = member_rows([f"M{i:02d}" for i in range(1, n + 1)])
    maxima = {i.code: i.max for i in load_scheme(XINLUO).scheme.items}
    return {
        "members": members,
        "monthly_scores": monthly_rows(XINLUO, members, lambda m, mo, it: maxima[it] * 0.9),
        "appraisal": ballots(XINLUO, members, lambda b, m, c: 90.0),
    }


def ganzi_sheets(n: int = 6) -> dict[str, pd.DataFrame]:
    members = member_rows([f"M{i:02d}" for i in range(1, n + 1)])
    return {"members": members, "monthly_scores": monthly_rows(GANZI, members, lambda m, mo, it: 20.0)}


def amendment(
    member_id: str, month: str, item: str, new_score: Any, decided_on: dt.date = dt.date(2025, 7, 1)
) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "month": month,
        "item": item,
        "new_score": new_score,
        "reason": "异议复核",
        "decided_on": decided_on,
    }


def append_row(df: pd.DataFrame, row: dict[str, Any] | dict[Hashable, Any]) -> tuple[pd.DataFrame, int]:
    """``df`` with ``row`` appended (one made here or another row's ``to_dict()``), and the Excel row it lands on."""
    out = pd.concat([df, pd.DataFrame([row])], ignore_index=True)
    return out, excel_row(len(out) - 1)


def monthly_index(ms: pd.DataFrame, member_id: str, month: str) -> int:
    hit = ms.index[(ms["member_id"] == member_id) & (ms["month"] == month)]
    assert len(hit) == 1
    return int(hit[0])


def set_cell(df: pd.DataFrame, index: int, column: str, value: Any) -> pd.DataFrame:
    """Put any value (text in a number column too) into one cell."""
    out = df.copy()
    out[column] = out[column].astype(object)
    out.loc[index, column] = value
    return out


def expect_failures(path: Path, period: str = "2025") -> pd.DataFrame:
    """Load ``path`` and return the failure table of the InputError it must raise."""
    with pytest.raises(InputError) as info:
        load_inputs(path, parse_period(period))
    err = info.value
    assert isinstance(err, ValueError)
    f = err.failures
    assert isinstance(f, pd.DataFrame)
    assert list(f.columns) == FAILURE_COLUMNS
    assert len(f) >= 1
    assert (f["file"] == path.name).all(), f["file"].unique()
    assert f["problem"].astype(str).str.strip().ne("").all()
    # the message carries the same table, so a user who only sees str(err) sees every problem
    assert path.name in str(err)
    return f


def member_row(s: dict[str, pd.DataFrame], member_id: str) -> int:
    """Excel row of ``member_id`` in the members sheet."""
    hit = s["members"].index[s["members"]["member_id"] == member_id]
    assert len(hit) == 1
    return excel_row(int(hit[0]))


def assert_located(f: pd.DataFrame) -> None:
    """Every failure names a sheet, an Excel row (a number) and a column (SPEC 7)."""
    for rec in f.itertuples(index=False):
        assert str(rec.sheet).strip(), rec
        assert isinstance(rec.row, (int, np.integer)) and not isinstance(rec.row, bool) and int(rec.row) >= 1, rec
        assert str(rec.column).strip(), rec


def _same_row(actual: Any, expected: int | None) -> bool:
    if expected is None:
        return (
            actual is None
            or (isinstance(actual, str) and actual == "")
            or (isinstance(actual, float) and np.isnan(actual))
        )
    if isinstance(actual, bool) or not isinstance(actual, (int, np.integer)):
        return False
    return int(actual) == expected


def failure(
    f: pd.DataFrame,
    sheet: str,
    row: int | None,
    column: str,
    value: str | None = None,
    problem: tuple[str, ...] = (),
    member: str | None = None,
) -> pd.Series:
    """The single failure at ``sheet``/``row``/``column`` (row None: a whole-sheet problem);
    ``member`` narrows whole-sheet problems to the one whose text names that member."""
    at = f[(f["sheet"] == sheet) & (f["column"] == column) & f["row"].map(lambda r: _same_row(r, row))]
    if member is not None:
        at = at[at["problem"].astype(str).str.contains(rf"\b{member}\b", regex=True)]
    assert len(at) == 1, f"expected one failure at {sheet} row {row} column {column}, got:\n{f.to_string()}"
    rec = at.iloc[0]
    if value is not None:
        assert value in str(rec["value"]), rec.to_dict()
    for word in problem:
        assert word in str(rec["problem"]), rec.to_dict()
    assert str(rec["allowed"]).strip(), f"failure does not say what is allowed: {rec.to_dict()}"
    return rec


# -- the valid starting points load ------------------------------------------------------------


@pytest.mark.parametrize(
    "scheme, sheets",
    [(COUNTY, county_sheets), (XINLUO, xinluo_sheets), (GANZI, ganzi_sheets)],
    ids=["county", "xinluo", "ganzi"],
)
def test_baseline_workbooks_load(maker: BookMaker, scheme: str, sheets: Any) -> None:
    s = sheets()
    if scheme == COUNTY:
        s["adjustments"] = pd.DataFrame(
            [adjustment("M01", "commend.national"), adjustment("M02", "sanction.unit", points=-2)]
        )
        s["vetoes"] = pd.DataFrame([veto("M03", "embezzlement")])
        s["amendments"] = pd.DataFrame([amendment("M01", "2025-03", "I01", 9)])
    if scheme == GANZI:
        s["adjustments"] = pd.DataFrame([adjustment("M01", "B1.rescue"), adjustment("M02", "D3.dues")])
        s["vetoes"] = pd.DataFrame([veto("M03", "law", votes_for=4, votes_against=1)])
    book, sch = load_inputs(maker.write(scheme, s), parse_period("2025"))
    assert sch.name == scheme
    assert book.year == 2025 and book.branch_id == "T001"
    assert list(book.members["member_id"]) == list(s["members"]["member_id"])
    assert len(book.monthly) == len(s["monthly_scores"])
    assert list(book.monthly["row"]) == [excel_row(i) for i in range(len(s["monthly_scores"]))]


# -- item scores ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, words",
    [("九", ("not a number",)), (11, ("out of range",)), (-1, ("out of range",)), (10.5, ("out of range",))],
    ids=["text", "above-max", "negative", "above-max-fraction"],
)
def test_bad_item_score(maker: BookMaker, bad: Any, words: tuple[str, ...]) -> None:
    s = county_sheets()
    s["monthly_scores"] = set_cell(s["monthly_scores"], 5, "I03", bad)
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "monthly_scores", excel_row(5), "I03", value=str(bad), problem=words)
    assert "10" in rec["allowed"]
    assert len(f) == 1, f.to_string()


def test_bad_score_in_xinluo_item_with_max_5(maker: BookMaker) -> None:
    s = xinluo_sheets()
    s["monthly_scores"] = set_cell(s["monthly_scores"], 20, "INNO", 6)  # INNO max 5, 6 is fine for POL
    f = expect_failures(maker.write(XINLUO, s))
    rec = failure(f, "monthly_scores", excel_row(20), "INNO", value="6", problem=("out of range",))
    assert "5" in rec["allowed"]
    assert len(f) == 1, f.to_string()


def test_blank_item_score(maker: BookMaker) -> None:
    s = county_sheets()
    s["monthly_scores"] = set_cell(s["monthly_scores"], 9, "I10", None)
    f = expect_failures(maker.write(COUNTY, s))
    failure(f, "monthly_scores", excel_row(9), "I10")
    assert len(f) == 1, f.to_string()


# -- months -----------------------------------------------------------------------------------


def test_month_outside_the_year(maker: BookMaker) -> None:
    s = county_sheets()
    i = monthly_index(s["monthly_scores"], "M04", "2025-05")
    s["monthly_scores"] = set_cell(s["monthly_scores"], i, "month", "2024-05")
    f = expect_failures(maker.write(COUNTY, s))
    failure(f, "monthly_scores", excel_row(i), "month", value="2024-05", problem=("outside the year",))


@pytest.mark.parametrize("bad", ["2025-13", "May", "2025-00"])
def test_malformed_month(maker: BookMaker, bad: str) -> None:
    s = county_sheets()
    i = monthly_index(s["monthly_scores"], "M02", "2025-07")
    s["monthly_scores"] = set_cell(s["monthly_scores"], i, "month", bad)
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "monthly_scores", excel_row(i), "month", value=bad, problem=("not a month",))
    assert "YYYY-MM" in rec["allowed"]


# -- unknown members --------------------------------------------------------------------------


@pytest.mark.parametrize("sheet", ["monthly_scores", "adjustments", "appraisal", "vetoes", "amendments"])
def test_unknown_member(maker: BookMaker, sheet: str) -> None:
    s = county_sheets()
    if sheet == "monthly_scores":
        row = s["monthly_scores"].iloc[0].to_dict() | {"member_id": "M99", "month": "2025-01"}
        s[sheet], r = append_row(s[sheet], row)
    elif sheet == "appraisal":
        row = s["appraisal"].iloc[0].to_dict() | {"member_id": "M99", "ballot_no": "P01"}
        s[sheet], r = append_row(s[sheet], row)
    elif sheet == "adjustments":
        s[sheet], r = append_row(
            pd.DataFrame([adjustment("M01", "commend.unit"), adjustment("M02", "criticism.unit")]),
            adjustment("M99", "commend.county"),
        )
    elif sheet == "vetoes":
        s[sheet], r = append_row(pd.DataFrame([veto("M01", "embezzlement")]), veto("M99", "probation"))
    else:
        s[sheet], r = append_row(
            pd.DataFrame([amendment("M01", "2025-02", "I01", 7)]), amendment("M99", "2025-02", "I01", 7)
        )
    f = expect_failures(maker.write(COUNTY, s))
    failure(f, sheet, r, "member_id", value="M99", problem=("unknown member",))
    assert len(f) == 1, f.to_string()


# -- duplicates and coverage ------------------------------------------------------------------


def test_duplicate_member_month(maker: BookMaker) -> None:
    s = county_sheets()
    first = monthly_index(s["monthly_scores"], "M01", "2025-04")
    s["monthly_scores"], second = append_row(s["monthly_scores"], s["monthly_scores"].iloc[first].to_dict())
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "monthly_scores", second, "month", problem=("duplicate",))
    assert re.search(rf"\b{excel_row(first)}\b", rec["problem"]), rec["problem"]
    assert "M01" in rec["value"]
    assert len(f) == 1, f.to_string()


def test_duplicate_member_id(maker: BookMaker) -> None:
    s = county_sheets()
    s["members"], r = append_row(s["members"], s["members"].iloc[1].to_dict() | {"name": "重名"})
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "members", r, "member_id", value="M02", problem=("duplicate",))
    assert re.search(r"\b3\b", rec["problem"]), rec["problem"]
    assert len(f) == 1, f.to_string()


def test_duplicate_ballot_for_a_member(maker: BookMaker) -> None:
    s = county_sheets()
    first = int(
        s["appraisal"].index[(s["appraisal"]["ballot_no"] == "P04") & (s["appraisal"]["member_id"] == "M06")][0]
    )
    s["appraisal"], second = append_row(s["appraisal"], s["appraisal"].iloc[first].to_dict())
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "appraisal", second, "member_id", problem=("duplicate",))
    assert re.search(rf"\b{excel_row(first)}\b", rec["problem"]), rec["problem"]
    assert len(f) == 1, f.to_string()


def test_row_of_another_year_is_not_called_a_duplicate(maker: BookMaker) -> None:
    s = county_sheets()
    i = monthly_index(s["monthly_scores"], "M01", "2025-05")
    s["monthly_scores"], r = append_row(
        s["monthly_scores"], s["monthly_scores"].iloc[i].to_dict() | {"month": "2024-05"}
    )
    f = expect_failures(maker.write(COUNTY, s))
    failure(f, "monthly_scores", r, "month", value="2024-05", problem=("outside the year",))
    assert len(f) == 1, f.to_string()


def test_row_of_another_year_does_not_stand_in_for_a_missing_month(maker: BookMaker) -> None:
    s = county_sheets()
    i = monthly_index(s["monthly_scores"], "M04", "2025-05")
    s["monthly_scores"] = set_cell(s["monthly_scores"], i, "month", "2024-05")
    f = expect_failures(maker.write(COUNTY, s))
    failure(f, "monthly_scores", excel_row(i), "month", value="2024-05", problem=("outside the year",))
    failure(f, "members", member_row(s, "M04"), "member_id", value="M04", problem=("2025-05", "monthly_scores"))
    assert_located(f)


def _drop_month(s: dict[str, pd.DataFrame], member: str, month: str) -> None:
    ms = s["monthly_scores"]
    s["monthly_scores"] = ms.drop(index=monthly_index(ms, member, month)).reset_index(drop=True)


@pytest.mark.parametrize("period", ["2025", "2025Q1", "2025-03", "2025H1"])
def test_missing_month(maker: BookMaker, period: str) -> None:
    s = county_sheets()
    _drop_month(s, "M02", "2025-03")
    f = expect_failures(maker.write(COUNTY, s), period)
    # a missing month has no row of its own: the failure points at the member's row in the members
    # sheet (M02 is the second member -> Excel row 3), column member_id, and names the months
    rec = failure(f, "members", 3, "member_id", value="M02", problem=("M02", "2025-03", "monthly_scores"))
    assert rec["cell"].endswith("!A3"), rec["cell"]
    assert "monthly_scores" in rec["allowed"]
    assert_located(f)
    assert len(f) == 1, f.to_string()


def test_later_month_missing_is_fine_for_an_earlier_period(maker: BookMaker) -> None:
    s = county_sheets()
    _drop_month(s, "M02", "2025-11")
    path = maker.write(COUNTY, s)
    for period in ("2025Q1", "2025H1", "2025Q3", "2025-10"):
        book, _ = load_inputs(path, parse_period(period))
        assert len(book.monthly) == len(s["monthly_scores"])
    for period in ("2025", "2025Q4", "2025H2", "2025-11", "2025-12"):
        f = expect_failures(path, period)
        rec = failure(f, "members", 3, "member_id", value="M02", problem=("2025-11",))
        assert "2025-10" not in rec["problem"]
        assert len(f) == 1, f.to_string()


def test_missing_months_of_a_member_who_left(maker: BookMaker) -> None:
    """A member who left in June needs scores up to June only; one who is missing May is listed."""
    s = county_sheets(M05={"left": "2025-06"})
    path = maker.write(COUNTY, s)
    book, _ = load_inputs(path, parse_period("2025"))
    assert int((book.monthly["member_id"] == "M05").sum()) == 6
    _drop_month(s, "M05", "2025-05")
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "members", member_row(s, "M05"), "member_id", value="M05", problem=("2025-05",))
    assert "2025-07" not in rec["problem"]
    assert_located(f)


def test_month_outside_membership(maker: BookMaker) -> None:
    s = county_sheets(M03={"joined": "2025-04"})
    row = s["monthly_scores"].iloc[0].to_dict() | {"member_id": "M03", "month": "2025-02"}
    s["monthly_scores"], r = append_row(s["monthly_scores"], row)
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "monthly_scores", r, "month", value="2025-02", problem=("M03",))
    assert "2025-04" in rec["allowed"]
    assert len(f) == 1, f.to_string()


# -- appraisal --------------------------------------------------------------------------------


def test_too_few_raters_for_a_year(maker: BookMaker) -> None:
    s = county_sheets()
    s["appraisal"] = ballots(COUNTY, s["members"], lambda b, m, it: 8.0, raters=9)
    path = maker.write(COUNTY, s)
    f = expect_failures(path, "2025")
    # one failure per member, at the member's row in the members sheet, naming each short item
    assert set(f["sheet"]) == {"members"}
    assert len(f) == 12, f.to_string()
    assert list(f["row"]) == [member_row(s, f"M{i:02d}") for i in range(1, 13)]
    rec = failure(f, "members", 2, "member_id", value="M01", problem=("too few raters", "I01 9 人", "I10 9 人"))
    assert rec["cell"].endswith("!A2"), rec["cell"]
    assert "10" in rec["allowed"] and "appraisal" in rec["allowed"]
    assert_located(f)
    # a quarter needs no appraisal: the same workbook loads for 2025Q2
    book, _ = load_inputs(path, parse_period("2025Q2"))
    assert len(book.appraisal) == 9 * 12


def test_ten_raters_are_enough(maker: BookMaker) -> None:
    s = county_sheets()
    s["appraisal"] = ballots(COUNTY, s["members"], lambda b, m, it: 8.0, raters=10)
    book, _ = load_inputs(maker.write(COUNTY, s), parse_period("2025"))
    assert len(book.appraisal) == 10 * 12


def test_too_few_raters_single_score_scheme(maker: BookMaker) -> None:
    s = xinluo_sheets()
    s["appraisal"] = ballots(XINLUO, s["members"], lambda b, m, c: 90.0, raters=9)
    f = expect_failures(maker.write(XINLUO, s))
    assert set(f["sheet"]) == {"members"}
    assert len(f) == 12
    failure(f, "members", member_row(s, "M07"), "member_id", value="M07", problem=("score 9 人",))
    assert_located(f)


def test_one_item_short_of_raters_names_that_item_only(maker: BookMaker) -> None:
    # ballot 10 leaves I07 blank for M03 only: M03 has 9 ratings on I07 and 10 on every other item
    s = county_sheets()
    ap = s["appraisal"]
    i = int(ap.index[(ap["ballot_no"] == "P10") & (ap["member_id"] == "M03")][0])
    s["appraisal"] = set_cell(ap, i, "I07", None)
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "members", member_row(s, "M03"), "member_id", value="M03", problem=("I07 9 人",))
    assert "I06" not in rec["problem"] and "I08" not in rec["problem"]
    assert len(f) == 1, f.to_string()


def test_appraisal_sheet_needed_only_for_a_year(maker: BookMaker) -> None:
    s = county_sheets()
    del s["appraisal"]
    path = maker.write(COUNTY, s)
    book, _ = load_inputs(path, parse_period("2025Q2"))
    assert len(book.appraisal) == 0
    f = expect_failures(path, "2025")
    assert set(f["sheet"]) == {"appraisal"}
    assert len(f) == 1, f.to_string()
    assert _same_row(f.iloc[0]["row"], None)


def test_appraisal_rating_above_max(maker: BookMaker) -> None:
    s = county_sheets()
    s["appraisal"] = set_cell(s["appraisal"], 30, "I07", 12)
    f = expect_failures(maker.write(COUNTY, s))
    failure(f, "appraisal", excel_row(30), "I07", value="12", problem=("out of range",))
    assert len(f) == 1, f.to_string()


# -- adjustments ------------------------------------------------------------------------------


def test_unknown_rule_code(maker: BookMaker) -> None:
    s = county_sheets()
    s["adjustments"] = pd.DataFrame(
        [
            adjustment("M01", "commend.national"),
            adjustment("M02", "commend.galactic"),
            adjustment("M03", "sanction.unit"),
        ]
    )
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "adjustments", 3, "rule_code", value="commend.galactic", problem=("unknown rule code",))
    assert "commend.national" in rec["allowed"]
    assert len(f) == 1, f.to_string()


@pytest.mark.parametrize(
    "code, points",
    [
        ("commend.national", -5),
        ("commend.national", 6),
        ("commend.unit", 1.5),
        ("sanction.region", 5),
        ("sanction.region", -6),
        ("criticism.unit", -2),
    ],
    ids=[
        "bonus-negative",
        "bonus-above",
        "bonus-above-fraction",
        "deduction-positive",
        "deduction-above",
        "criticism-above",
    ],
)
def test_adjustment_points_do_not_fit_rule(maker: BookMaker, code: str, points: float) -> None:
    s = county_sheets()
    s["adjustments"] = pd.DataFrame([adjustment("M01", "commend.county"), adjustment("M02", code, points=points)])
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "adjustments", 3, "points", value=f"{points:g}", problem=(code,))
    assert f"{load_scheme(COUNTY).scheme.rules_by_code[code].points:g}" in rec["allowed"]
    assert len(f) == 1, f.to_string()


@pytest.mark.parametrize(
    "code, points", [("commend.national", 5), ("commend.national", 3), ("sanction.region", -5), ("sanction.region", -1)]
)
def test_adjustment_points_within_rule_are_fine(maker: BookMaker, code: str, points: float) -> None:
    s = county_sheets()
    s["adjustments"] = pd.DataFrame([adjustment("M02", code, points=points)])
    book, _ = load_inputs(maker.write(COUNTY, s), parse_period("2025"))
    assert float(book.adjustments["points"].iloc[0]) == points


@pytest.mark.parametrize(
    "bad, words",
    [("2025-02-30", ("not a date",)), (dt.date(2024, 12, 31), ("outside the year",)), ("soon", ("not a date",))],
    ids=["feb-30", "previous-year", "text"],
)
def test_bad_adjustment_date(maker: BookMaker, bad: Any, words: tuple[str, ...]) -> None:
    s = county_sheets()
    s["adjustments"] = pd.DataFrame(
        [
            adjustment("M01", "commend.county"),
            adjustment("M02", "commend.unit"),
            adjustment("M03", "commend.unit", date=bad),
        ]
    )
    f = expect_failures(maker.write(COUNTY, s))
    failure(f, "adjustments", 4, "date", value=str(bad)[:10], problem=words)
    assert len(f) == 1, f.to_string()


# -- vetoes -----------------------------------------------------------------------------------


def test_veto_condition_not_in_scheme(maker: BookMaker) -> None:
    s = county_sheets()
    s["vetoes"] = pd.DataFrame([veto("M01", "serious_warning"), veto("M02", "迟到早退")])
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "vetoes", 3, "condition", value="迟到早退", problem=("not a veto condition",))
    assert "embezzlement" in rec["allowed"]
    assert len(f) == 1, f.to_string()


def test_veto_condition_by_chinese_name_is_accepted(maker: BookMaker) -> None:
    s = county_sheets()
    s["vetoes"] = pd.DataFrame([veto("M01", "受党内严重警告处分期间")])
    book, _ = load_inputs(maker.write(COUNTY, s), parse_period("2025"))
    assert len(book.vetoes) == 1


def test_majority_veto_needs_votes_for(maker: BookMaker) -> None:
    s = ganzi_sheets()
    s["vetoes"] = pd.DataFrame(
        [veto("M01", "law", votes_for=4, votes_against=2), veto("M02", "discipline", votes_for=None, votes_against=0)]
    )
    f = expect_failures(maker.write(GANZI, s))
    failure(f, "vetoes", 3, "votes_for", problem=("votes",))
    assert len(f) == 1, f.to_string()


def test_majority_veto_more_votes_than_members(maker: BookMaker) -> None:
    s = ganzi_sheets(n=6)
    s["vetoes"] = pd.DataFrame([veto("M01", "law", votes_for=5, votes_against=3)])
    f = expect_failures(maker.write(GANZI, s))
    failure(f, "vetoes", 2, "votes_for", problem=("more votes than members",))
    assert len(f) == 1, f.to_string()


# -- amendments -------------------------------------------------------------------------------


def test_amendment_points_at_no_monthly_row(maker: BookMaker) -> None:
    s = county_sheets(M03={"joined": "2025-04"})
    s["amendments"] = pd.DataFrame([amendment("M01", "2025-02", "I01", 7), amendment("M03", "2025-02", "I01", 7)])
    f = expect_failures(maker.write(COUNTY, s))
    failure(f, "amendments", 3, "month", value="M03", problem=("no monthly score",))
    assert len(f) == 1, f.to_string()


def test_amendment_for_unknown_item(maker: BookMaker) -> None:
    s = county_sheets()
    s["amendments"] = pd.DataFrame([amendment("M01", "2025-02", "政治素质", 7), amendment("M02", "2025-02", "I11", 7)])
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "amendments", 3, "item", value="I11", problem=("unknown item",))
    assert "I10" in rec["allowed"]
    assert len(f) == 1, f.to_string()


@pytest.mark.parametrize("new_score", [11, -1])
def test_amendment_new_score_out_of_range(maker: BookMaker, new_score: float) -> None:
    s = county_sheets()
    s["amendments"] = pd.DataFrame(
        [amendment("M01", "2025-02", "I01", 10), amendment("M02", "2025-02", "I01", new_score)]
    )
    f = expect_failures(maker.write(COUNTY, s))
    failure(f, "amendments", 3, "new_score", value=str(new_score), problem=("out of range",))
    assert len(f) == 1, f.to_string()


# -- members ----------------------------------------------------------------------------------


def test_bad_yes_no(maker: BookMaker) -> None:
    s = county_sheets()
    s["members"] = set_cell(s["members"], 3, "exempt", "maybe")
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "members", excel_row(3), "exempt", value="maybe", problem=("yes/no",))
    assert "是" in rec["allowed"]
    assert len(f) == 1, f.to_string()


def test_bad_member_type(maker: BookMaker) -> None:
    s = county_sheets()
    s["members"] = set_cell(s["members"], 7, "member_type", "预备党员")
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "members", excel_row(7), "member_type", value="预备党员", problem=("not an allowed value",))
    assert "在职党员" in rec["allowed"] and "流动党员" in rec["allowed"]
    assert len(f) == 1, f.to_string()


def test_exempt_member_needs_stars(maker: BookMaker) -> None:
    s = county_sheets(M05={"exempt": "是", "exempt_reason": "年老体弱", "exempt_stars": None})
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "members", excel_row(4), "exempt_stars", problem=("stars",))
    assert "10" in rec["allowed"]
    assert len(f) == 1, f.to_string()
    # with the stars entered the same workbook is fine
    s["members"] = set_cell(s["members"], 4, "exempt_stars", 8)
    book, _ = load_inputs(maker.write(COUNTY, s), parse_period("2025"))
    assert bool(book.members.set_index("member_id").loc["M05", "exempt"])


def test_stars_for_a_member_who_is_not_exempt(maker: BookMaker) -> None:
    # M06 is scored (not exempt) but has hand-entered stars: they would be silently ignored
    s = county_sheets()
    s["members"] = set_cell(s["members"], 5, "exempt_stars", 9)
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "members", excel_row(5), "exempt_stars", value="9", problem=("only for exempt members",))
    assert "exempt" in rec["allowed"]
    assert_located(f)
    assert len(f) == 1, f.to_string()


@pytest.mark.parametrize("stars", [11, 12])
def test_exempt_stars_above_the_schemes_range(maker: BookMaker, stars: int) -> None:
    s = county_sheets(M05={"exempt": "是", "exempt_reason": "年老体弱", "exempt_stars": stars})
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "members", excel_row(4), "exempt_stars", value=str(stars), problem=("range",))
    assert rec["allowed"] == "0..10"
    assert len(f) == 1, f.to_string()


def test_exempt_stars_below_the_range_of_a_copied_scheme(maker: BookMaker, tmp_path: Path) -> None:
    # a copy of county-10-stars whose lowest band gives 1 star: 0 stars is outside its range
    text = (REPO_ROOT / "scoring" / "schemes" / f"{COUNTY}.yaml").read_text(encoding="utf-8")
    text = (
        text.replace("name: county-10-stars", "name: one-star-floor")
        .replace("{min: 0,  stars: 0,", "{min: 0,  stars: 1,")
        .replace("{min: 10, stars: 1,", "{min: 10, stars: 2,")
    )
    scheme = tmp_path / "one-star-floor.yaml"
    scheme.write_text(text, encoding="utf-8")
    assert min(b.stars for b in load_scheme(scheme).scheme.bands if b.stars is not None) == 1
    s = county_sheets(M05={"exempt": "是", "exempt_reason": "年老体弱", "exempt_stars": 0})
    f = expect_failures(maker.write(str(scheme), s))
    rec = failure(f, "members", excel_row(4), "exempt_stars", value="0", problem=("range",))
    assert rec["allowed"] == "1..10"
    assert len(f) == 1, f.to_string()


def test_exempt_stars_in_a_scheme_without_stars(maker: BookMaker) -> None:
    s = xinluo_sheets()
    s["members"] = set_cell(s["members"], 4, "exempt", "是")
    s["members"] = set_cell(s["members"], 4, "exempt_stars", 8)
    s["monthly_scores"] = s["monthly_scores"][s["monthly_scores"]["member_id"] != "M05"].reset_index(drop=True)
    s["appraisal"] = s["appraisal"][s["appraisal"]["member_id"] != "M05"].reset_index(drop=True)
    f = expect_failures(maker.write(XINLUO, s))
    failure(f, "members", excel_row(4), "exempt_stars", value="8", problem=("no stars",))
    assert len(f) == 1, f.to_string()


def test_exempt_member_needs_no_stars_without_star_bands(maker: BookMaker) -> None:
    s = xinluo_sheets()
    s["members"] = set_cell(s["members"], 4, "exempt", "是")
    s["monthly_scores"] = s["monthly_scores"][s["monthly_scores"]["member_id"] != "M05"].reset_index(drop=True)
    s["appraisal"] = s["appraisal"][s["appraisal"]["member_id"] != "M05"].reset_index(drop=True)
    book, _ = load_inputs(maker.write(XINLUO, s), parse_period("2025"))
    assert bool(book.members.set_index("member_id").loc["M05", "exempt"])


# -- sheets and columns -----------------------------------------------------------------------


def test_required_sheet_missing(maker: BookMaker) -> None:
    s = county_sheets()
    del s["members"]
    f = expect_failures(maker.write(COUNTY, s))
    rec = f[(f["sheet"] == "members") & f["row"].map(lambda r: _same_row(r, None))]
    assert len(rec) == 1, f.to_string()
    assert "sheet" in rec.iloc[0]["problem"]
    assert "members" in rec.iloc[0]["allowed"]


def test_required_column_missing(maker: BookMaker) -> None:
    s = county_sheets()
    s["members"] = s["members"].drop(columns=["name"])
    f = expect_failures(maker.write(COUNTY, s))
    rec = failure(f, "members", 1, "name", problem=("column",))
    assert "姓名" in rec["allowed"]


def test_required_column_missing_is_reported_once(maker: BookMaker) -> None:
    s = county_sheets()
    s["members"] = s["members"].drop(columns=["name"])
    f = expect_failures(maker.write(COUNTY, s))
    assert len(f) == 1, f.to_string()


def test_item_column_missing(maker: BookMaker) -> None:
    s = county_sheets()
    s["monthly_scores"] = s["monthly_scores"].drop(columns=["I04"])
    f = expect_failures(maker.write(COUNTY, s))
    failure(f, "monthly_scores", 1, "I04", problem=("column",))  # header row 1: where to add it
    assert_located(f)
    assert len(f) == 1, f.to_string()


# -- branch sheet -----------------------------------------------------------------------------


def test_year_does_not_match_period(maker: BookMaker) -> None:
    s = county_sheets()
    f = expect_failures(maker.write(COUNTY, s, branch={"year": 2024}), "2025")
    # branch sheet: header row 1, then branch_id, branch_name, scheme, year
    row = 2 + list(BRANCH_KEYS).index("year")
    rec = failure(f, "branch", row, "year", value="2024", problem=("period",))
    assert "2025" in rec["allowed"]


def test_unknown_scheme_name(maker: BookMaker) -> None:
    s = county_sheets()
    f = expect_failures(maker.write(COUNTY, s, branch={"scheme": "county-11-stars"}))
    row = 2 + list(BRANCH_KEYS).index("scheme")
    rec = failure(f, "branch", row, "scheme", value="county-11-stars", problem=("county-11-stars",))
    assert "county-10-stars" in rec["problem"] + rec["allowed"] or "built-in" in rec["allowed"]


# -- everything at once -----------------------------------------------------------------------


def test_all_problems_reported_at_once(maker: BookMaker) -> None:
    s = county_sheets()
    s["members"] = set_cell(s["members"], 3, "member_type", "学生")  # members row 5
    s["monthly_scores"] = set_cell(s["monthly_scores"], 17, "I02", "九")  # monthly_scores row 19
    s["adjustments"] = pd.DataFrame([adjustment("M01", "commend.unit"), adjustment("M02", "commend.moon")])  # row 3
    s["vetoes"] = pd.DataFrame([veto("M06", "jaywalking")])  # row 2
    s["amendments"] = pd.DataFrame([amendment("M01", "2025-02", "I01", 15)])  # row 2
    f = expect_failures(maker.write(COUNTY, s))
    assert len(f) == 5, f.to_string()
    failure(f, "members", 5, "member_type", value="学生")
    failure(f, "monthly_scores", 19, "I02", value="九")
    failure(f, "adjustments", 3, "rule_code", value="commend.moon")
    failure(f, "vetoes", 2, "condition", value="jaywalking")
    failure(f, "amendments", 2, "new_score", value="15")
    assert set(f["sheet"]) == {"members", "monthly_scores", "adjustments", "vetoes", "amendments"}


# -- Chinese headers --------------------------------------------------------------------------


def _chinese_columns(key: str, df: pd.DataFrame, scheme: str) -> pd.DataFrame:
    names = {c.key: c.label for c in SHEETS[key].columns}
    names |= {i.code: i.name for i in load_scheme(scheme).scheme.items}
    names["score"] = "测评分"
    return df.rename(columns=names)


@pytest.mark.parametrize("sheet_names_too", [False, True], ids=["headers", "headers-and-sheet-names"])
def test_chinese_labels_only(maker: BookMaker, sheet_names_too: bool) -> None:
    s = county_sheets()
    s["monthly_scores"] = set_cell(s["monthly_scores"], 0, "I05", 6.5)
    s["adjustments"] = pd.DataFrame([adjustment("M02", "commend.county")])
    expected, _ = load_inputs(maker.write(COUNTY, s), parse_period("2025"))
    cn = {k: _chinese_columns(k, df, COUNTY) for k, df in s.items()}
    assert "党员编号" in cn["members"].columns and "政治素质" in cn["monthly_scores"].columns
    assert "member_id" not in cn["monthly_scores"].columns and "I01" not in cn["monthly_scores"].columns
    path = maker.write(COUNTY, cn)
    if sheet_names_too:
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            ws.title = re.sub(r"\s*\([a-z_]+\)$", "", ws.title)
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str):
                        cell.value = re.sub(r"\s*\([a-z_]+\)$", "", cell.value)
        assert "党员名单" in wb.sheetnames and "支部信息" in wb.sheetnames
        wb.save(path)
    book, sch = load_inputs(path, parse_period("2025"))
    assert sch.name == COUNTY and book.branch_id == "T001" and book.year == 2025
    assert list(book.members["member_id"]) == list(expected.members["member_id"])
    cols = ["member_id", "month", *sch.scheme.item_codes]
    pd.testing.assert_frame_equal(
        book.monthly[cols].reset_index(drop=True), expected.monthly[cols].reset_index(drop=True)
    )
    assert as_float(book.monthly.loc[0, "I05"]) == 6.5
    assert len(book.appraisal) == len(expected.appraisal)
    assert list(book.adjustments["rule_code"]) == ["commend.county"]


# -- nothing written --------------------------------------------------------------------------


def _bad_workbook(maker: BookMaker) -> Path:
    s = county_sheets()
    s["monthly_scores"] = set_cell(s["monthly_scores"], 5, "I03", "九")  # monthly_scores!I03 row 7
    return maker.write(COUNTY, s, name="bad.xlsx")


def _tree(root: Path) -> dict[str, tuple[bytes | None, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize("out_exists", [False, True])
def test_run_branch_writes_nothing_for_bad_input(maker: BookMaker, tmp_path: Path, out_exists: bool) -> None:
    from scoring.runs.execute import run_branch

    bad = _bad_workbook(maker)
    out = tmp_path / "runs"
    if out_exists:
        out.mkdir()
    with pytest.raises(InputError) as info:
        run_branch(bad, "2025", out)
    assert isinstance(info.value, ValueError)
    failure(info.value.failures, "monthly_scores", 7, "I03", value="九")
    assert not out.exists() or list(out.iterdir()) == []
    assert not list(tmp_path.rglob(".staging-*"))


def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    return subprocess.run(
        [sys.executable, "-m", "scoring", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


def _assert_names_the_cell(stderr: str) -> None:
    lines = [ln for ln in stderr.splitlines() if "monthly_scores" in ln and "I03" in ln and re.search(r"\b7\b", ln)]
    assert lines, stderr
    assert "bad.xlsx" in stderr


def test_cli_run_bad_input_exit_2_and_nothing_written(maker: BookMaker, tmp_path: Path) -> None:
    bad = _bad_workbook(maker)
    out = tmp_path / "runs"
    proc = _cli(["run", "--inputs", str(bad), "--period", "2025", "--out", str(out)], tmp_path)
    assert proc.returncode == 2, proc.stderr
    _assert_names_the_cell(proc.stderr)
    assert "Traceback" not in proc.stderr
    assert not out.exists() or list(out.iterdir()) == []
    assert not list(tmp_path.rglob(".staging-*"))


def test_cli_validate_bad_input_exit_2(maker: BookMaker, tmp_path: Path) -> None:
    bad = _bad_workbook(maker)
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = _cli(["validate", "--inputs", str(bad), "--period", "2025"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    _assert_names_the_cell(proc.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_earlier_run_is_unchanged_by_bad_input(maker: BookMaker, tmp_path: Path) -> None:
    from scoring.runs.execute import run_branch

    bad = _bad_workbook(maker)
    out = tmp_path / "runs"
    earlier = out / "2025" / "T001" / "v001"
    earlier.mkdir(parents=True)
    (earlier / "summary.csv").write_bytes("member_id,name,total\nM01,测试01,88.5\n".encode())
    (earlier / "manifest.json").write_text('{"status": "approved"}\n', encoding="utf-8")
    past = 1_600_000_000
    for p in [*earlier.iterdir(), earlier, earlier.parent, earlier.parent.parent, out]:
        os.utime(p, (past, past))
    snapshot = _tree(out)
    out_mtime = out.stat().st_mtime_ns

    with pytest.raises(InputError):
        run_branch(bad, "2025", out)
    assert _tree(out) == snapshot
    assert out.stat().st_mtime_ns == out_mtime

    proc = _cli(["run", "--inputs", str(bad), "--period", "2025", "--out", str(out)], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert _tree(out) == snapshot
    assert out.stat().st_mtime_ns == out_mtime
    assert not list(tmp_path.rglob(".staging-*"))


@pytest.mark.parametrize("bad_id", ["M*1", "M?2", "~M3", "<M4", "=M5", "001", "M 6", "党员7"])
def test_member_id_that_a_spreadsheet_would_read_as_a_pattern_or_a_number(maker: BookMaker, bad_id: str) -> None:
    sheets = county_sheets(n=12)
    for key in ("members", "monthly_scores", "appraisal"):
        sheets[key]["member_id"] = sheets[key]["member_id"].replace("M03", bad_id)
    path = maker.write("county-10-stars", sheets)
    with pytest.raises(InputError) as err:
        load_inputs(path, parse_period("2025"))
    f = err.value.failures
    hit = f[(f["sheet"] == "members") & (f["column"] == "member_id")]
    assert len(hit) == 1 and hit.iloc[0]["row"] == 4 and str(hit.iloc[0]["value"]) == bad_id, f.to_string()
    assert "at least one letter" in hit.iloc[0]["allowed"]
