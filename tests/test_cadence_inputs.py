"""The input side of the scheme's cadence (SPEC 3.8 and 4): item scores entered per month, per
quarter (``quarterly_scores``), once a year (``annual_scores``) or not at all (cadence none), and
items entered as letter grades.

The reader's contract with the engine: ``InputBook.monthly`` holds the item scores whatever the
cadence, one row per member and sub-period, ``month`` the sub-period's last month, ``row`` the Excel
row of ``InputBook.score_sheet``; ``InputBook.letters`` the letter grades read and their points.
Every bad input is reported at once with sheet, row, column and what is allowed (SPEC 7).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from conftest import BookMaker, adjustment, annual_rows, ballots, member_rows, monthly_rows, quarterly_rows
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from scoring.exceptions import InputError
from scoring.inputs.demo import CADENCE_DEMO_BRANCHES, DEMO_BRANCHES, MONTHLY_DEMO_BRANCHES, generate_demo
from scoring.inputs.reading import LETTER_COLUMNS, SHEETS, InputBook, load_inputs, scheme_sheets
from scoring.inputs.templates import LISTS_SHEET, README_SHEET, TEMPLATES_DIR, write_template
from scoring.rules.periods import parse_period
from scoring.rules.scheme import LoadedScheme, load_scheme

SHAOXING = "shaoxing-liangfen"
ENTERPRISE = "enterprise-8-2"
FUXIAN = "fuxian-18"
RURAL = "rural-card"
LETTERS = str(Path(__file__).parent / "schemes" / "letter-grades.yaml")

IDS = [f"M{i:02d}" for i in range(1, 9)]


# -- helpers ----------------------------------------------------------------------------------


def members(**overrides: dict[str, Any]) -> pd.DataFrame:
    """Eight members: M07 joins in May, M08 leaves in August, M06 is exempt."""
    base: dict[str, dict[str, Any]] = {
        "M06": {"exempt": "是", "exempt_reason": "年老体弱"},
        "M07": {"joined": "2025-05"},
        "M08": {"left": "2025-08"},
    }
    for mid, change in overrides.items():
        base[mid] = base.get(mid, {}) | change
    return member_rows(IDS, **base)


def shaoxing_sheets() -> dict[str, pd.DataFrame]:
    m = members()
    return {"members": m, "quarterly_scores": quarterly_rows(SHAOXING, m, lambda mid, q, it: 10.0 + q)}


def fuxian_sheets() -> dict[str, pd.DataFrame]:
    m = members()
    return {"members": m, "annual_scores": annual_rows(FUXIAN, m, lambda mid, it: 4.0)}


def letter_sheets(score: Any = "B+") -> dict[str, pd.DataFrame]:
    m = members()
    return {
        "members": m,
        "quarterly_scores": quarterly_rows(LETTERS, m, lambda mid, q, it: 20.0 if it == "DEDI" else score),
        "appraisal": ballots(LETTERS, m, lambda b, mid, c: 85.0),
    }


def rejected(maker: BookMaker, scheme: str, sheets: dict[str, pd.DataFrame], period: str = "2025") -> pd.DataFrame:
    path = maker.write(scheme, sheets)
    with pytest.raises(InputError) as exc:
        load_inputs(path, parse_period(period))
    return exc.value.failures


def read(
    maker: BookMaker, scheme: str, sheets: dict[str, pd.DataFrame], period: str = "2025"
) -> tuple[InputBook, LoadedScheme]:
    return load_inputs(maker.write(scheme, sheets), parse_period(period))


def at(f: pd.DataFrame, sheet: str, row: int | str, column: str) -> pd.Series:
    """The one failure at ``sheet`` / ``row`` / ``column`` (row "": a whole-sheet problem)."""
    hit = f[(f["sheet"] == sheet) & (f["row"].astype(str) == str(row)) & (f["column"] == column)]
    assert len(hit) == 1, f"expected one failure at {sheet} {row} {column}, got:\n{f.to_string()}"
    return hit.iloc[0]


def excel_row(df: pd.DataFrame, **where: Any) -> int:
    """The Excel row of the one row of ``df`` matching ``where`` (header = row 1)."""
    mask = pd.Series(True, index=df.index)
    for k, v in where.items():
        mask &= df[k] == v
    (pos,) = [i for i, hit in enumerate(mask.to_numpy()) if hit]
    return pos + 2


# -- reading each cadence ---------------------------------------------------------------------


def test_quarterly_scores_become_rows_ending_in_the_quarters_last_month(maker: BookMaker) -> None:
    sheets = shaoxing_sheets()
    book, sch = read(maker, SHAOXING, sheets)
    assert sch.scheme.cadence == "quarter" and book.score_sheet == "quarterly_scores"
    ms = book.monthly
    assert list(ms.columns) == ["row", "member_id", "month_year", "month", "note", "POL", "PRO", "CIV"]
    assert set(ms["month"]) == {3, 6, 9, 12}
    # M07 joins in May (quarters 2-4), M08 leaves in August (quarters 1-3), M06 is exempt
    by_member = ms.groupby("member_id")["month"].apply(list).to_dict()
    assert by_member["M07"] == [6, 9, 12] and by_member["M08"] == [3, 6, 9] and "M06" not in by_member
    assert len(ms) == 5 * 4 + 3 + 3
    r = excel_row(sheets["quarterly_scores"], member_id="M02", quarter="2025Q3")
    rec = ms[(ms["member_id"] == "M02") & (ms["month"] == 9)].iloc[0]
    assert rec["row"] == r and rec["POL"] == 13.0
    # cell references: the quarterly sheet, under its own key and as the rows of ``monthly``
    assert book.cell("quarterly_scores", "POL", r) == f"季度评分 (quarterly_scores)!C{r}"
    assert book.cell(book.score_sheet, "month", r) == f"季度评分 (quarterly_scores)!B{r}"
    assert book.cell("monthly_scores", "CIV", r) == f"季度评分 (quarterly_scores)!E{r}"
    assert list(book.letters.columns) == LETTER_COLUMNS and book.letters.empty
    counts = book.sheet_counts().set_index("sheet")["行数 rows"]
    assert counts["quarterly_scores"] == len(ms) and "monthly_scores" not in counts.index


def test_quarters_written_other_ways_are_read_and_recorded(maker: BookMaker) -> None:
    sheets = shaoxing_sheets()
    qs = sheets["quarterly_scores"]
    spelled = {"2025Q1": "2025q1", "2025Q2": "2025-Q2", "2025Q3": "2025年第三季度", "2025Q4": "２０２５Ｑ４"}
    mine = qs["member_id"] == "M01"
    qs.loc[mine, "quarter"] = qs.loc[mine, "quarter"].map(spelled)
    book, _ = read(maker, SHAOXING, sheets)
    assert book.monthly.loc[book.monthly["member_id"] == "M01", "month"].tolist() == [3, 6, 9, 12]
    norm = book.normalised
    seen = dict(zip(norm["value"], norm["read_as"], strict=True))
    assert seen["2025q1"] == "2025Q1" and seen["2025-Q2"] == "2025Q2" and seen["2025年第三季度"] == "2025Q3"
    assert seen["２０２５Ｑ４"] == "2025Q4"  # full-width digits and letter
    assert set(norm.loc[norm["value"] != "２０２５Ｑ４", "column"]) == {"quarter"}


def test_annual_scores_become_one_december_row_per_member(maker: BookMaker) -> None:
    sheets = fuxian_sheets()
    book, _ = read(maker, FUXIAN, sheets)
    ms = book.monthly
    assert book.score_sheet == "annual_scores" and set(ms["month"]) == {12} and set(ms["month_year"]) == {2025}
    assert sorted(ms["member_id"]) == [m for m in IDS if m != "M06"]  # joiner and leaver too
    items = load_scheme(FUXIAN).scheme.item_codes
    assert list(ms.columns) == ["row", "member_id", "month_year", "month", "note", *items]
    r = excel_row(sheets["annual_scores"], member_id="M03")
    assert int(ms.loc[ms["member_id"] == "M03", "row"].iloc[0]) == r
    assert book.cell("annual_scores", "E1", r) == f"年度评分 (annual_scores)!B{r}"
    assert book.cell("annual_scores", "V4", r) == f"年度评分 (annual_scores)!S{r}"
    # one row per member: the cell naming the row is the member id
    assert book.cell(book.score_sheet, "month", r) == f"年度评分 (annual_scores)!A{r}"


def test_cadence_none_has_no_item_scores_and_is_kept_per_quarter(maker: BookMaker) -> None:
    m = members()
    sheets = {
        "members": m,
        "adjustments": pd.DataFrame([adjustment("M01", "D.meeting", dt.date(2025, 2, 3))]),
        "appraisal": ballots(RURAL, m, lambda b, mid, c: 30.0, raters=3),
    }
    # the card is kept per quarter (seed 004): a month has no figure of its own, so it is refused
    with pytest.raises(InputError, match="shorter than the scheme's cadence"):
        read(maker, RURAL, sheets, "2025-02")
    for period in ("2025Q1", "2025H1", "2025"):
        book, _ = read(maker, RURAL, sheets, period)
        assert book.score_sheet == "monthly_scores" and book.monthly.empty
        assert list(book.monthly.columns) == ["row", "member_id", "month_year", "month", "note"]
        assert len(book.adjustments) == 1 and book.letters.empty


def test_monthly_scheme_is_read_as_before(maker: BookMaker) -> None:
    m = member_rows(IDS)
    sheets = {
        "members": m,
        "monthly_scores": monthly_rows("ganzi-base-plus-minus", m, lambda mid, mo, it: 20.0),
    }
    book, _ = read(maker, "ganzi-base-plus-minus", sheets, "2025-03")
    assert book.score_sheet == "monthly_scores" and sorted(set(book.monthly["month"])) == list(range(1, 13))
    assert book.cell("monthly_scores", "month", 5) == "月度评分 (monthly_scores)!B5"
    assert "new_letter" in book.amendments.columns and book.letters.empty


def test_letter_grades_are_turned_into_points_and_listed(maker: BookMaker) -> None:
    sheets = letter_sheets()
    qs = sheets["quarterly_scores"]
    first = qs.index[0]
    qs.loc[first, "POL"] = "a"  # any case
    qs.loc[first, "DUTY"] = "Ｂ＋"  # full-width letter and plus
    qs.loc[first, "DISC"] = " c "
    sheets["amendments"] = pd.DataFrame(
        [
            {
                "member_id": "M02",
                "month": "2025Q2",
                "item": "POL",
                "new_score": "A",
                "reason": "异议复核",
                "decided_on": dt.date(2025, 7, 1),
            },
            {
                "member_id": "M02",
                "month": "2025Q2",
                "item": "DEDI",
                "new_score": 23,
                "reason": "异议复核",
                "decided_on": dt.date(2025, 7, 1),
            },
        ]
    ).astype(object)
    book, _ = read(maker, LETTERS, sheets, "2025Q4")
    ms = book.monthly
    row1 = ms.iloc[0]
    assert (row1["POL"], row1["DUTY"], row1["DISC"], row1["DEDI"]) == (25.0, 20.0, 15.0, 20.0)
    assert set(ms.loc[1:, "POL"]) == {20.0}  # B+ everywhere else
    letters = book.letters
    assert list(letters.columns) == LETTER_COLUMNS
    assert len(letters) == 3 * len(ms) and set(letters["item"]) == {"POL", "DUTY", "DISC"}
    mine = letters[letters["row"] == row1["row"]].set_index("item")
    assert mine.loc["POL", "letter"] == "A" and mine.loc["POL", "points"] == 25.0  # shown as A → 25
    assert mine.loc["DUTY", "letter"] == "B+" and mine.loc["DISC", "letter"] == "C"
    assert (mine["member_id"] == row1["member_id"]).all() and (mine["month"] == row1["month"]).all()
    typed = set(book.normalised["value"])
    assert {"a", "Ｂ＋"} <= typed  # the respelt letters are recorded where they were typed
    am = book.amendments.set_index("item")
    assert am.loc["POL", "new_score"] == 25.0 and am.loc["POL", "new_letter"] == "A" and am.loc["POL", "month"] == 6
    assert am.loc["DEDI", "new_score"] == 23.0 and am["new_letter"].isna().tolist() == [False, True]


def test_amendments_name_the_quarter_or_the_year(maker: BookMaker) -> None:
    def amend(month: Any, item: str, score: float) -> dict[str, Any]:
        return {
            "member_id": "M02",
            "month": month,
            "item": item,
            "new_score": score,
            "reason": "异议复核",
            "decided_on": dt.date(2025, 12, 20),
        }

    sheets = shaoxing_sheets()
    sheets["amendments"] = pd.DataFrame([amend("2025Q2", "POL", 30), amend("2025年第3季度", "PRO", 31)])
    book, _ = read(maker, SHAOXING, sheets)
    assert book.amendments["month"].tolist() == [6, 9]
    sheets = fuxian_sheets()
    sheets["amendments"] = pd.DataFrame([amend(2025, "E1", 5), amend("2025年", "E2", 5)]).astype(object)
    book, _ = read(maker, FUXIAN, sheets)
    assert book.amendments["month"].tolist() == [12, 12]


def test_exempt_members_need_no_rows_and_later_quarters_may_be_absent(maker: BookMaker) -> None:
    sheets = shaoxing_sheets()
    qs = sheets["quarterly_scores"]
    sheets["quarterly_scores"] = qs[qs["quarter"].isin(["2025Q1", "2025Q2"])]
    book, _ = read(maker, SHAOXING, sheets, "2025H1")
    assert set(book.monthly["month"]) == {3, 6}
    f = rejected(maker, SHAOXING, sheets, "2025Q3")  # the third quarter is due now
    missing = f[f["sheet"] == "members"]
    assert len(missing) == 7 and missing["problem"].str.contains("2025Q3").all()
    assert "M06" not in set(missing["value"])  # exempt


# -- bad input, all at once -------------------------------------------------------------------


def test_bad_quarterly_scores_are_reported_together(maker: BookMaker) -> None:
    sheets = shaoxing_sheets()
    qs = sheets["quarterly_scores"]
    r_bad = excel_row(qs, member_id="M01", quarter="2025Q1")
    qs.loc[r_bad - 2, "quarter"] = "2025Q5"
    r_month = excel_row(qs, member_id="M01", quarter="2025Q2")
    qs.loc[r_month - 2, "quarter"] = "2025-06"  # a month is not a quarter
    r_year = excel_row(qs, member_id="M01", quarter="2025Q3")
    qs.loc[r_year - 2, "quarter"] = "2024Q3"
    r_range = excel_row(qs, member_id="M02", quarter="2025Q1")
    qs.loc[r_range - 2, "CIV"] = 25.0  # CIV is 0..20
    dropped = excel_row(qs, member_id="M03", quarter="2025Q2")
    qs = qs.drop(index=dropped - 2).reset_index(drop=True)
    dup = qs[(qs["member_id"] == "M04") & (qs["quarter"] == "2025Q4")]
    outside = {"member_id": "M07", "quarter": "2025Q1", "POL": 30.0, "PRO": 30.0, "CIV": 15.0, "note": None}
    qs = pd.concat([qs, dup, pd.DataFrame([outside])], ignore_index=True)
    sheets["quarterly_scores"] = qs
    f = rejected(maker, SHAOXING, sheets)

    a = at(f, "quarterly_scores", r_bad, "quarter")
    assert a["value"] == "2025Q5" and "不是季度" in a["problem"] and "2025Q1" in a["allowed"]
    assert a["cell"] == f"季度评分 (quarterly_scores)!B{r_bad}"
    assert "不是季度" in at(f, "quarterly_scores", r_month, "quarter")["problem"]
    a = at(f, "quarterly_scores", r_year, "quarter")
    assert a["value"] == "2024Q3" and "不在 2025 年内" in a["problem"] and a["allowed"] == "2025Q1 .. 2025Q4"
    a = at(f, "quarterly_scores", r_range, "CIV")
    assert "超出分值范围" in a["problem"] and a["allowed"] == "0..20"
    n = len(qs)
    a = at(f, "quarterly_scores", n, "quarter")  # the duplicate, second row from the end
    assert a["value"] == "M04 / 2025Q4" and "重复" in a["problem"] and "quarter" in a["allowed"]
    a = at(f, "quarterly_scores", n + 1, "quarter")  # M07 joined in May: not in the first quarter
    assert "该季度不在本支部" in a["problem"] and a["allowed"] == "2025Q2 .. 2025Q4"
    # the missing quarters, at the member's row in the members sheet (as months are: a quarter that
    # is not one counts as missing too, so M01 lacks the first three)
    a = at(f, "members", 2, "member_id")
    assert "2025Q1, 2025Q2, 2025Q3" in a["problem"]
    a = at(f, "members", 4, "member_id")
    assert a["value"] == "M03" and "2025Q2" in a["problem"] and "quarterly_scores" in a["allowed"]
    assert "季度内任一月在支部即算" in a["allowed"]


def test_bad_annual_scores_and_amendments_are_reported_together(maker: BookMaker) -> None:
    sheets = fuxian_sheets()
    an = sheets["annual_scores"]
    gone = excel_row(an, member_id="M05")
    an = an.drop(index=gone - 2).reset_index(drop=True)
    an = pd.concat([an, an.iloc[[0]]], ignore_index=True)  # M01 twice
    sheets["annual_scores"] = an
    sheets["amendments"] = pd.DataFrame(
        [
            {
                "member_id": "M02",
                "month": "2024",
                "item": "E1",
                "new_score": 5,
                "reason": "x",
                "decided_on": "2025-12-01",
            },
            {
                "member_id": "M05",
                "month": "2025",
                "item": "E1",
                "new_score": 5,
                "reason": "x",
                "decided_on": "2025-12-01",
            },
            {
                "member_id": "M03",
                "month": "2025Q4",
                "item": "W1",
                "new_score": 9,
                "reason": "x",
                "decided_on": "2025-12-01",
            },
        ]
    ).astype(object)
    f = rejected(maker, FUXIAN, sheets)
    a = at(f, "members", 6, "member_id")
    assert a["value"] == "M05" and "年度评分表缺少党员 M05" in a["problem"]
    a = at(f, "annual_scores", len(an) + 1, "member_id")
    assert "重复" in a["problem"] and a["allowed"] == "one row per member_id"
    a = at(f, "amendments", 2, "month")
    assert "不是本工作簿的年度 2025" in a["problem"] and a["allowed"] == "2025"
    a = at(f, "amendments", 3, "month")  # M05 has no annual row
    assert "更正指向的年度评分不存在" in a["problem"] and "annual_scores" in a["allowed"]
    a = at(f, "amendments", 4, "month")
    assert "不是年度" in a["problem"] and a["allowed"].startswith("YYYY")
    a = at(f, "amendments", 4, "new_score")
    assert "超出分值范围" in a["problem"]  # W1 is 0..8


def test_bad_letter_grades_are_reported_with_the_letters_allowed(maker: BookMaker) -> None:
    sheets = letter_sheets()
    qs = sheets["quarterly_scores"]
    qs.loc[0, "POL"] = "E"  # not a grade of the item
    qs.loc[1, "DUTY"] = 20  # points typed into a graded item
    qs.loc[2, "DISC"] = "17"  # points typed as text
    qs.loc[3, "POL"] = None  # not scored
    qs.loc[4, "DEDI"] = "A"  # a letter in an item scored in points
    sheets["amendments"] = pd.DataFrame(
        [
            {
                "member_id": "M01",
                "month": "2025Q1",
                "item": "POL",
                "new_score": 25,
                "reason": "x",
                "decided_on": "2025-05-01",
            },
            {
                "member_id": "M01",
                "month": "2025Q1",
                "item": "DUTY",
                "new_score": "F",
                "reason": "x",
                "decided_on": "2025-05-01",
            },
        ]
    ).astype(object)
    f = rejected(maker, LETTERS, sheets)
    letters = "A=25 / B+=20 / B=17 / C=15 / D=12"
    a = at(f, "quarterly_scores", 2, "POL")
    assert a["value"] == "E" and "不是本项的等次" in a["problem"] and letters in a["allowed"]
    assert a["cell"] == "季度评分 (quarterly_scores)!C2"
    for row, column in ((3, "DUTY"), (4, "DISC")):
        a = at(f, "quarterly_scores", row, column)
        assert "应填等次字母而不是分数" in a["problem"] and letters in a["allowed"]
    a = at(f, "quarterly_scores", 5, "POL")
    assert "未评分" in a["problem"] and letters in a["allowed"]
    a = at(f, "quarterly_scores", 6, "DEDI")
    assert "不是数字" in a["problem"] and a["allowed"] == "0..25"
    a = at(f, "amendments", 2, "new_score")
    assert "应填等次字母而不是分数" in a["problem"] and letters in a["allowed"]
    a = at(f, "amendments", 3, "new_score")
    assert a["value"] == "F" and "不是 DUTY 的等次" in a["problem"] and letters in a["allowed"]


def test_a_score_sheet_for_a_scheme_without_item_scores_is_refused(maker: BookMaker) -> None:
    m = members()
    sheets = {
        "members": m,
        "monthly_scores": monthly_rows(SHAOXING, m, lambda mid, mo, it: 10.0)[["member_id", "month"]],
        "quarterly_scores": shaoxing_sheets()["quarterly_scores"][["member_id", "quarter"]],
        "amendments": pd.DataFrame(
            [
                {
                    "member_id": "M01",
                    "month": "2025-03",
                    "item": "X",
                    "new_score": 1,
                    "reason": "x",
                    "decided_on": "2025-04-01",
                }
            ]
        ),
    }
    f = rejected(maker, RURAL, sheets, "2025Q1")
    a = at(f, "monthly_scores", "", "")
    assert "没有项目评分" in a["problem"] and "monthly_scores" in a["problem"] and "删除该工作表" in a["allowed"]
    assert a["cell"] == "月度评分 (monthly_scores)" and a["value"].startswith(str(len(sheets["monthly_scores"])))
    assert "没有项目评分" in at(f, "quarterly_scores", "", "")["problem"]
    assert "无可更正" in at(f, "amendments", "", "")["problem"]
    assert len(f) == 3  # nothing else: the sheets are not read
    # an empty one (a leftover of another template) is only noted
    book, _ = read(
        maker, RURAL, {"members": m, "monthly_scores": pd.DataFrame(columns=["member_id", "month"])}, "2025Q1"
    )
    assert any("为空, 本方案不使用" in n for n in book.notes)


def test_score_sheets_of_another_cadence_are_refused_and_the_right_one_required(maker: BookMaker) -> None:
    m = members()
    monthly = monthly_rows(SHAOXING, m, lambda mid, mo, it: 10.0)
    f = rejected(maker, SHAOXING, {"members": m, "monthly_scores": monthly, "self_scores": monthly})
    a = at(f, "quarterly_scores", "", "")
    assert "缺少必需的工作表" in a["problem"] and "季度评分 (quarterly_scores)" in a["allowed"]
    a = at(f, "monthly_scores", "", "")
    assert "评分应填在 季度评分 (quarterly_scores)" in a["problem"] and "quarterly_scores" in a["allowed"]
    a = at(f, "self_scores", "", "")
    assert "党员自评只用于按月评分的方案" in a["problem"]
    f = rejected(maker, FUXIAN, {**fuxian_sheets(), "quarterly_scores": shaoxing_sheets()["quarterly_scores"]})
    assert "annual_scores" in at(f, "quarterly_scores", "", "")["problem"]


@pytest.mark.parametrize(
    ("scheme", "period", "allowed"),
    [
        (SHAOXING, "2025-03", "2025Q1 .. 2025Q4 (季度); 2025H1, 2025H2 (半年); 2025 (年度)"),
        (LETTERS, "2025-12", "2025Q1 .. 2025Q4 (季度)"),
        (FUXIAN, "2025Q4", "2025 (年度)"),
        (FUXIAN, "2025H2", "2025 (年度)"),
        (FUXIAN, "2025-12", "2025 (年度)"),
    ],
    ids=["quarterly-month", "graded-month", "yearly-quarter", "yearly-half", "yearly-month"],
)
def test_a_period_shorter_than_the_cadence_is_refused(maker: BookMaker, scheme: str, period: str, allowed: str) -> None:
    sheets = {SHAOXING: shaoxing_sheets, LETTERS: letter_sheets, FUXIAN: fuxian_sheets}[scheme]()
    f = rejected(maker, scheme, sheets, period)
    assert len(f) == 1, f.to_string()  # and nothing else (no "missing quarter" for a month run)
    a = at(f, "branch", 4, "scheme")
    s = load_scheme(scheme).scheme
    assert s.name in a["problem"] and f"cadence: {s.cadence}" in a["problem"] and period in a["problem"]
    assert "短于评分周期" in a["problem"] and allowed in a["allowed"]
    assert a["cell"] == "支部信息 (branch)!B4"
    if s.cadence == "year":
        assert "季度" not in a["allowed"] and "半年" not in a["allowed"]


# -- templates --------------------------------------------------------------------------------


def sheet_of(wb: openpyxl.Workbook, key: str) -> Worksheet:
    return wb[f"{SHEETS[key].label} ({key})"]


def headers(ws: Worksheet) -> dict[str, str]:
    """Column key -> letter, from ``label (key)`` headers in row 1."""
    out = {}
    for c in ws[1]:
        m = re.search(r"\(([^()]*)\)$", str(c.value or ""))
        if m:
            out[m.group(1)] = get_column_letter(c.column or 0)
    return out


def validation(ws: Worksheet, letter: str) -> Any:
    (dv,) = [d for d in ws.data_validations.dataValidation if str(d.sqref).startswith(f"{letter}2:")]
    return dv


@pytest.mark.parametrize(
    ("scheme", "score", "absent"),
    [
        (SHAOXING, "quarterly_scores", {"monthly_scores", "annual_scores", "self_scores", "adjustments", "vetoes"}),
        (ENTERPRISE, "quarterly_scores", {"monthly_scores", "annual_scores", "self_scores", "vetoes"}),
        (FUXIAN, "annual_scores", {"monthly_scores", "quarterly_scores", "self_scores", "appraisal"}),
        (RURAL, None, {"monthly_scores", "quarterly_scores", "annual_scores", "self_scores", "amendments", "vetoes"}),
    ],
)
def test_committed_templates_have_the_score_sheet_of_their_cadence(
    scheme: str, score: str | None, absent: set[str]
) -> None:
    s = load_scheme(scheme).scheme
    wb = openpyxl.load_workbook(TEMPLATES_DIR / f"{scheme}.xlsx")
    keys = {m.group(1) for name in wb.sheetnames if (m := re.search(r"\((\w+)\)$", name))}
    assert not keys & absent and set(scheme_sheets(s)) - {"branch"} <= keys
    if score is None:
        return
    ws = sheet_of(wb, score)
    letters = headers(ws)
    assert list(letters)[: 2 if score == "quarterly_scores" else 1] == (
        ["member_id", "quarter"] if score == "quarterly_scores" else ["member_id"]
    )
    for it in s.items:
        dv = validation(ws, letters[it.code])
        assert (dv.type, dv.operator, float(dv.formula1), float(dv.formula2)) == ("decimal", "between", 0, it.max)
    if score == "quarterly_scores":  # no year in the committed template: text YYYYQn of the branch's year
        dv = validation(ws, letters["quarter"])
        assert dv.type == "custom" and '"Q"' in dv.formula1 and "scoring_year" in dv.formula1
    am = sheet_of(wb, "amendments")
    assert [c.value for c in am[1]][1] == ("季度 (month)" if score == "quarterly_scores" else "年度 (month)")
    readme = "\n".join(
        " ".join(str(v) for v in r if v is not None) for r in wb[README_SHEET].iter_rows(values_only=True)
    )
    assert f"{SHEETS[score].label} ({score})" in readme and "必填表" in readme


def test_template_for_a_year_has_a_quarter_drop_down_and_prefilled_rows(tmp_path: Path) -> None:
    people = (
        pd.DataFrame(
            [
                {"member_id": "A1", "name": "甲", "member_type": "企业"},
                {"member_id": "A2", "name": "乙", "member_type": "企业", "joined": "2025-05"},
                {"member_id": "A3", "name": "丙", "member_type": "企业", "left": "2025-08"},
                {"member_id": "A4", "name": "丁", "member_type": "企业", "exempt": "是"},
            ]
        )
        .astype(object)
        .where(lambda d: d.notna(), None)
    )
    wb = openpyxl.load_workbook(write_template(ENTERPRISE, tmp_path, year=2025, members=people))
    ws = sheet_of(wb, "quarterly_scores")
    letters = headers(ws)
    dv = validation(ws, letters["quarter"])
    assert dv.type == "list" and dv.formula1 == '"2025Q1,2025Q2,2025Q3,2025Q4"'
    rows = [(r[0].value, r[1].value) for r in ws.iter_rows(min_row=2) if r[0].value]
    assert rows == [
        *[("A1", f"2025Q{q}") for q in range(1, 5)],
        *[("A2", f"2025Q{q}") for q in range(2, 5)],
        *[("A3", f"2025Q{q}") for q in range(1, 4)],
    ]
    am = sheet_of(wb, "amendments")
    assert validation(am, headers(am)["month"]).formula1 == '"2025Q1,2025Q2,2025Q3,2025Q4"'
    yearly = openpyxl.load_workbook(write_template(FUXIAN, tmp_path, year=2025, members=people))
    ys = sheet_of(yearly, "annual_scores")
    assert [r[0].value for r in ys.iter_rows(min_row=2) if r[0].value] == ["A1", "A2", "A3"]
    am = sheet_of(yearly, "amendments")
    assert validation(am, headers(am)["month"]).formula1 == '"2025"'
    none = openpyxl.load_workbook(write_template(RURAL, tmp_path, year=2025, members=people))
    assert not [n for n in none.sheetnames if "scores" in n]


def test_template_fills_and_reads_back_for_each_cadence(tmp_path: Path) -> None:
    # prefilled for a year, the officer types the item scores (and the ballots): the reader takes it
    people = pd.DataFrame(
        [{"member_id": f"A{i}", "name": f"甲{i}", "member_type": "企业"} for i in range(1, 4)]
    ).astype(object)
    for scheme, rows in ((SHAOXING, 12), (FUXIAN, 3), (RURAL, 0)):
        s = load_scheme(scheme).scheme
        path = write_template(scheme, tmp_path, year=2025, branch_id="B9", members=people)
        wb = openpyxl.load_workbook(path)
        wb[f"{SHEETS['branch'].label} (branch)"]["B3"] = "填表测试支部"
        if s.items:
            ws = sheet_of(wb, "quarterly_scores" if s.cadence == "quarter" else "annual_scores")
            letters = headers(ws)
            for r in range(2, ws.max_row + 1):
                if ws[f"A{r}"].value:
                    for it in s.items:
                        ws[f"{letters[it.code]}{r}"] = it.max * 0.75
        if s.appraisal.mode == "single":
            ap = sheet_of(wb, "appraisal")
            for r, mid in enumerate(["A1", "A2", "A3"], start=2):
                ap[f"A{r}"], ap[f"B{r}"], ap[f"C{r}"], ap[f"D{r}"] = "P01", "党员", mid, 30
        wb.save(path)
        book, _ = load_inputs(path, parse_period("2025"))
        assert len(book.monthly) == rows and book.branch_id == "B9"


def test_template_of_a_graded_scheme_offers_the_letters(tmp_path: Path) -> None:
    s = load_scheme(LETTERS).scheme
    wb = openpyxl.load_workbook(write_template(LETTERS, tmp_path / "out"))
    ws = sheet_of(wb, "quarterly_scores")
    letters = headers(ws)
    for it in s.items:
        dv = validation(ws, letters[it.code])
        if it.grades:
            assert dv.type == "list" and dv.formula1 == '"A,B+,B,C,D"' and "A=25 / B+=20" in dv.error
        else:
            assert dv.type == "decimal" and float(dv.formula2) == it.max
    am = sheet_of(wb, "amendments")
    f1 = validation(am, headers(am)["new_score"]).formula1
    assert f1.startswith("IF(COUNTIF(list_graded,") and "COUNTIFS(list_grade_item," in f1 and "list_item_max" in f1
    ref = wb.defined_names["list_grade_letter"].attr_text
    assert ref.startswith(f"'{LISTS_SHEET}'!")
    readme = "\n".join(
        " ".join(str(v) for v in r if v is not None) for r in wb[README_SHEET].iter_rows(values_only=True)
    )
    assert "填等次字母" in readme and "A=25 / B+=20 / B=17 / C=15 / D=12" in readme


def test_readme_explains_the_cadence_and_the_periods() -> None:
    def text(name: str) -> str:
        wb = openpyxl.load_workbook(TEMPLATES_DIR / f"{name}.xlsx")
        return "\n".join(
            " ".join(str(v) for v in r if v is not None) for r in wb[README_SHEET].iter_rows(values_only=True)
        )

    shaoxing = text(SHAOXING)
    s = load_scheme(SHAOXING).scheme
    assert "每季度由支部委员会逐项评分一次" in shaoxing and "月度短于评分周期, 不能计算" in shaoxing
    assert s.period_text("quarter") in shaoxing and s.period_text("half") in shaoxing
    assert "标杆型" in shaoxing and "提醒谈话" in shaoxing
    fuxian = text(FUXIAN)
    assert "每年由支部委员会逐项评分一次" in fuxian and "月度、季度、半年短于评分周期" in fuxian
    assert "大项小计" in fuxian and "EDU 党员教育培训 25 分" in fuxian and "所属项目" in fuxian
    rural = text(RURAL)
    assert "没有项目评分" in rural and "基础分 = 60" in rural and "不加权" in rural


# -- demo -------------------------------------------------------------------------------------


def test_demo_books_of_the_new_schemes_load_for_their_year(tmp_path: Path) -> None:
    paths = generate_demo(tmp_path, branches=CADENCE_DEMO_BRANCHES)
    assert [p.name for p in paths] == [f"B00{i}_2025.xlsx" for i in range(5, 9)]
    books = {}
    for p, spec in zip(paths, CADENCE_DEMO_BRANCHES, strict=True):
        book, sch = load_inputs(p, parse_period("2025"))
        assert sch.name == spec.scheme and book.branch_id == spec.branch_id and 12 <= len(book.members) <= 16
        assert book.members["exempt"].sum() == 1 and (book.members["joined_month"] > 1).sum() == 1
        books[spec.scheme] = book
        if sch.scheme.cadence == "quarter":  # a quarter run too
            load_inputs(p, parse_period("2025Q4"))
    # shaoxing: two members exactly on the 优秀型 line (80.00) every quarter
    ms = books[SHAOXING].monthly
    totals = ms.assign(total=ms["POL"] + ms["PRO"] + ms["CIV"]).groupby("member_id")["total"].mean()
    assert (totals == 80.0).sum() >= 2
    # rural-card: deductions in every quarter, bonuses, a few ballots per member
    adj = books[RURAL].adjustments
    rural_rules = load_scheme(RURAL).scheme.rules_by_code
    kinds = adj["rule_code"].map(lambda c: rural_rules[c].kind)
    quarters = adj.loc[kinds == "deduction", "date"].map(lambda d: (d.month - 1) // 3 + 1)
    assert set(quarters) == {1, 2, 3, 4} and (kinds == "bonus").sum() >= 3
    assert books[RURAL].appraisal.groupby("member_id").size().min() >= 3
    # fuxian-18: an item's bonuses beyond its points (the cap is reached) and a veto
    fx = load_scheme(FUXIAN).scheme
    adj = books[FUXIAN].adjustments
    per_item = (
        adj.assign(
            item=adj["rule_code"].map(lambda c: fx.rules_by_code[c].item),
            points=adj["rule_code"].map(lambda c: fx.rules_by_code[c].points),
            kind=adj["rule_code"].map(lambda c: fx.rules_by_code[c].kind),
        )
        .groupby(["member_id", "item", "kind"])["points"]
        .sum()
    )
    over = [
        str(kind)
        for _, item, kind, v in per_item.reset_index().itertuples(index=False)
        if v > fx.items_by_code[item].max
    ]
    assert set(over) == {"bonus", "deduction"}
    assert len(books[FUXIAN].vetoes) == 1
    # enterprise-8-2: events in different quarters, at least ten raters per scored member
    adj = books[ENTERPRISE].adjustments
    assert len(set(adj["date"].map(lambda d: (d.month - 1) // 3 + 1))) == 4
    assert books[ENTERPRISE].appraisal.groupby("member_id").size().min() >= 10
    assert len(books[ENTERPRISE].amendments) == 1 and books[ENTERPRISE].amendments["month"].iloc[0] == 6


def test_new_demo_branches_are_the_same_bytes_on_their_own_or_with_the_others(tmp_path: Path) -> None:
    alone = generate_demo(tmp_path / "alone", branches=CADENCE_DEMO_BRANCHES)
    together = generate_demo(tmp_path / "all", branches=DEMO_BRANCHES)
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in together}
    assert all(digest[p.name] == hashlib.sha256(p.read_bytes()).hexdigest() for p in alone)
    assert [s.branch_id for s in MONTHLY_DEMO_BRANCHES] == ["B001", "B002", "B003", "B004"]
    assert DEMO_BRANCHES == MONTHLY_DEMO_BRANCHES + CADENCE_DEMO_BRANCHES


needs_office = pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"),
    reason="LibreOffice not installed (make test installs it; in CI this test must run)",
)


@needs_office
def test_libreoffice_evaluates_the_quarter_and_the_graded_amendment_rules(tmp_path: Path) -> None:
    # the validation formulas as a spreadsheet computes them, moved to each row, in cells
    from scoring.outputs.office import convert

    wb = openpyxl.load_workbook(write_template(LETTERS, tmp_path / "out"))
    wb[f"{SHEETS['branch'].label} (branch)"]["B5"] = 2025
    qs = sheet_of(wb, "quarterly_scores")
    quarter = headers(qs)["quarter"]
    f1 = validation(qs, quarter).formula1
    quarters = [
        ("2025Q1", True),
        ("2025Q4", True),
        ("2025q2", True),
        ("2024Q1", False),
        ("2025Q5", False),
        ("2025-03", False),
    ]
    for r, (value, _) in enumerate(quarters, start=2):
        qs[f"{quarter}{r}"] = value
        qs[f"Z{r}"] = "=IFERROR(" + f1.replace(f"{quarter}2", f"{quarter}{r}") + ",FALSE)"
    am = sheet_of(wb, "amendments")
    letters = headers(am)
    score, item = letters["new_score"], letters["item"]
    f1 = validation(am, score).formula1
    cases: list[tuple[str | None, Any, bool]] = [
        ("POL", "B+", True),
        ("POL", "b+", True),  # the reader takes any case, and so does COUNTIFS
        ("POL", "E", False),
        ("POL", 20, False),  # points for a graded item
        ("DEDI", 20, True),
        ("DEDI", 26, False),
        ("DEDI", "A", False),
        (None, "A", False),
    ]
    for r, (code, value, _) in enumerate(cases, start=2):
        if code is not None:
            am[f"{item}{r}"] = code
        am[f"{score}{r}"] = value
        am[f"Z{r}"] = "=IFERROR(" + f1.replace(f"{score}2", f"{score}{r}").replace(f"{item}2", f"{item}{r}") + ",FALSE)"
    src = tmp_path / "rules.xlsx"
    wb.save(src)
    got = openpyxl.load_workbook(convert(src, tmp_path / "lo", "xlsx"), data_only=True)
    q = sheet_of(got, "quarterly_scores")
    assert [bool(q[f"Z{r}"].value) for r in range(2, 2 + len(quarters))] == [ok for _, ok in quarters]
    a = sheet_of(got, "amendments")
    assert [bool(a[f"Z{r}"].value) for r in range(2, 2 + len(cases))] == [ok for _, _, ok in cases]
