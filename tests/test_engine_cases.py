"""Hand-computed cases from the seeds' formulas, one scheme feature at a time.

Each expected figure is worked out in the comment beside it from the seed's own formula, not
taken from the engine.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import YEAR, BookMaker, adjustment, ballots, county_sheets, member_rows, monthly_rows, veto

from scoring.rules.engine import Result, quota_pick, share_quota
from scoring.rules.scheme import SCHEMES_DIR


def row(result: Result, member_id: str) -> pd.Series:
    found = result.annual.set_index("member_id").loc[member_id]
    assert isinstance(found, pd.Series)  # one row: member ids are unique
    return found


# -- county-10-stars (seed 004) ---------------------------------------------------------------


def test_county_item_formula_and_total(maker: BookMaker) -> None:
    # every monthly item 8, every rating 9: each item 8*0.8 + 9*0.2 = 8.2; 10 items -> 82.00
    sheets = county_sheets(item_score=8.0, rating=9.0)
    r = maker.score("county-10-stars", sheets)
    a = row(r, "M01")
    assert a["months"] == 12
    assert a["total"] == pytest.approx(82.0, abs=1e-12)
    assert a["stars"] == 8 and a["grade"] == "合格"
    y = r.item_year.set_index("member_id").loc["M01"]
    assert y["I01_mean"] == pytest.approx(8.0) and y["I01_appraisal"] == pytest.approx(9.0)
    assert y["I01_score"] == pytest.approx(8.2)


def test_spec_example_94_995_rounds_to_95_and_ten_stars(maker: BookMaker) -> None:
    # monthly items all 9.5 -> 0.8 * 9.5 * 10 = 76; 20 raters rate 9.5 except ballot 1 rates
    # I10 9.0 -> I10 appraisal 189.5 / 20 = 9.475; 0.2 * (9 * 9.5 + 9.475) = 18.995; 94.995
    sheets = county_sheets(n=12, item_score=9.5)
    sheets["appraisal"] = ballots(
        "county-10-stars",
        sheets["members"],
        lambda b, m, it: 9.0 if (b == 1 and m == "M01" and it == "I10") else 9.5,
        raters=20,
    )
    r = maker.score("county-10-stars", sheets)
    a = row(r, "M01")
    assert f"{a['total_raw']:.15g}" == "94.995"
    assert a["total"] == 95.0
    assert a["stars"] == 10 and a["grade"] == "优秀"
    assert row(r, "M02")["total"] == 95.0  # 76 + 19 exactly


def test_float_error_below_half_still_rounds_up_like_a_spreadsheet(maker: BookMaker) -> None:
    # items 9.5 -> 76; every item appraisal 9.4975 (40 raters: 39 x 9.5 + 1 x 9.4 = 379.9)
    # -> 10 x 0.2 x 9.4975 = 18.995, but in binary the sum lands just below 94.995.
    sheets = county_sheets(n=12, item_score=9.5)
    sheets["appraisal"] = ballots(
        "county-10-stars", sheets["members"], lambda b, m, it: 9.4 if b == 1 else 9.5, raters=40
    )
    r = maker.score("county-10-stars", sheets)
    a = row(r, "M01")
    assert f"{a['total_raw']:.15g}" == "94.995"
    assert round(float(a["total_raw"]), 2) == 94.99  # what naive rounding would publish
    assert a["total"] == 95.0 and a["stars"] == 10


def test_mid_year_joiner_divides_by_own_months(maker: BookMaker) -> None:
    # joined 2025-04: 9 months of items 9 -> mean 9 (not 81/12 = 6.75); ratings 9 -> 90.00
    sheets = county_sheets(item_score=9.0, rating=9.0, M03={"joined": f"{YEAR}-04"})
    r = maker.score("county-10-stars", sheets)
    a = row(r, "M03")
    assert a["months"] == 9
    assert r.item_year.set_index("member_id").loc["M03", "I05_mean"] == 9.0
    assert a["total"] == 90.0 and a["stars"] == 9
    # a member who left after September: months 1..9
    sheets = county_sheets(item_score=9.0, rating=9.0, M04={"left": f"{YEAR}-09"})
    assert row(maker.score("county-10-stars", sheets), "M04")["months"] == 9


def test_only_the_highest_bonus_and_largest_deduction_count(maker: BookMaker) -> None:
    # base 80; commendations +5 and +2 -> +5 only; sanction.unit -2 and criticism.unit -1 -> -2 only
    sheets = county_sheets()
    sheets["adjustments"] = pd.DataFrame(
        [
            adjustment("M01", "commend.county", dt.date(YEAR, 2, 1)),
            adjustment("M01", "commend.national", dt.date(YEAR, 5, 1)),
            adjustment("M01", "sanction.unit", dt.date(YEAR, 7, 1)),
            adjustment("M01", "criticism.unit", dt.date(YEAR, 8, 1)),
        ]
    )
    r = maker.score("county-10-stars", sheets)
    a = row(r, "M01")
    assert (a["bonus"], a["deduction"], a["total"]) == (5.0, -2.0, 83.0)
    adj = r.adjustments.set_index("rule_code")
    assert adj.loc["commend.national", "status"] == "applied"
    assert adj.loc["commend.county", "status"] == "not_applied"
    assert "lower than the highest bonus" in str(adj.loc["commend.county", "reason"])
    assert adj.loc["criticism.unit", "status"] == "not_applied"
    assert "largest deduction" in str(adj.loc["criticism.unit", "reason"])


def test_county_veto_forces_grade_and_shows_score(maker: BookMaker) -> None:
    sheets = county_sheets(item_score=9.8, rating=9.8)
    sheets["vetoes"] = pd.DataFrame([veto("M02", "embezzlement")])
    r = maker.score("county-10-stars", sheets)
    a = row(r, "M02")
    assert a["total"] == 98.0  # 9.8 x 10: the score is shown
    assert a["grade"] == "不合格" and a["veto"] == "yes"
    assert pd.isna(a["rank"]) and pd.isna(a["stars"])
    assert row(r, "M01")["rank"] == 1


def test_exempt_member_has_hand_entered_stars_and_no_score(maker: BookMaker) -> None:
    sheets = county_sheets(M05={"exempt": "是", "exempt_reason": "年老体弱", "exempt_stars": 8})
    r = maker.score("county-10-stars", sheets)
    a = row(r, "M05")
    assert pd.isna(a["total"]) and a["stars"] == 8 and a["grade"] == "合格"
    assert a["exempt"] == "yes" and pd.isna(a["rank"])
    assert (r.item_scores["member_id"] == "M05").sum() == 0


def test_veto_wins_over_an_exempt_members_hand_entered_stars(maker: BookMaker) -> None:
    # M05 is exempt and rated ten stars by hand, which alone means 10 stars 优秀 (grade_for_stars).
    # A decided veto makes him 不合格 whatever the score (SPEC 3.1): grade 不合格, no stars (the
    # rule for every vetoed member), still marked exempt, no points, no rank, no 年度之星.
    exempt = {"exempt": "是", "exempt_reason": "年老体弱", "exempt_stars": 10}
    sheets = county_sheets(M05=exempt)
    unvetoed = row(maker.score("county-10-stars", sheets), "M05")
    assert unvetoed["stars"] == 10 and unvetoed["grade"] == "优秀"  # the case the veto must override
    sheets["vetoes"] = pd.DataFrame([veto("M05", "embezzlement")])
    r = maker.score("county-10-stars", sheets)
    a = row(r, "M05")
    assert a["veto"] == "yes" and a["exempt"] == "yes"
    assert a["grade"] == "不合格"
    assert pd.isna(a["stars"]) and pd.isna(a["total"]) and pd.isna(a["rank"])
    assert pd.isna(a["annual_star"])
    s = r.summary().set_index("member_id").loc["M05"]
    assert isinstance(s, pd.Series)
    assert (s["grade"], s["veto"], s["exempt"]) == ("不合格", "yes", "yes") and pd.isna(s["stars"])
    assert row(r, "M01")["grade"] == "合格" and row(r, "M01")["stars"] == 8  # the others unchanged: 80.00
    # 不合格 by a veto gets the 限期整改 notice like any other member's; the unvetoed exempt did not
    follow = r.follow_up.set_index("member_id")
    assert "M05" in follow.index and "限期整改" in str(follow.at["M05", "action"])
    assert "M05" not in set(maker.score("county-10-stars", county_sheets(M05=exempt)).follow_up["member_id"])


def test_amendment_replaces_score_and_keeps_original(maker: BookMaker) -> None:
    # M01 March I03 8 -> 2 changes the I03 mean from 8 to (11 x 8 + 2) / 12 = 7.5:
    # total = 80 - 0.8 x 0.5 = 79.60
    sheets = county_sheets()
    sheets["amendments"] = pd.DataFrame(
        [
            {
                "member_id": "M01",
                "month": f"{YEAR}-03",
                "item": "I03",
                "new_score": 2.0,
                "reason": "异议复核",
                "decided_on": dt.date(YEAR, 4, 10),
            }
        ]
    )
    r = maker.score("county-10-stars", sheets)
    assert row(r, "M01")["total"] == 79.6
    am = r.amendments.iloc[0]
    assert (am["original"], am["new_score"], am["target_row"]) == (8.0, 2.0, 4)  # monthly_scores row 4 = M01 March
    cell = r.item_scores[(r.item_scores["member_id"] == "M01") & (r.item_scores["month"] == 3)]["I03"].item()
    assert cell == 2.0


def test_nine_member_branch_names_no_quarter_star(maker: BookMaker) -> None:
    # With the built-in 5% share, floor(5% x 9) = 0 names nobody anyway; the min_scored_members
    # rule itself is tested by test_min_scored_members_is_what_stops_the_quarter_star.
    sheets = county_sheets(n=9, item_score=8.0)
    sheets["monthly_scores"].loc[sheets["monthly_scores"]["member_id"] == "M01", "I01"] = 10.0
    r = maker.score("county-10-stars", sheets, period="2025Q1")
    s = r.summary()
    assert set(s["quarter_star"]) == {"no"}
    assert (r.quarters["quota"] == 0).all()


def _quarter_star_scheme(tmp_path: Path, share: float, min_scored_members: int) -> str:
    """A copy of county-10-stars with another 季度之星 rule, as a branch would edit it."""
    data = yaml.safe_load((SCHEMES_DIR / "county-10-stars.yaml").read_text(encoding="utf-8"))
    data["name"] = "county-quarter-star-test"
    data["quarter_star"] = {"share": share, "min_scored_members": min_scored_members}
    path = tmp_path / "county-quarter-star-test.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("n", "expected_quota", "stars"),
    [
        # 9 scored members: floor(20% x 9) = floor(1.8) = 1 would name M01, but 9 < 10 members -> none
        (9, 0, {"M01": "no", "M02": "no"}),
        # 10 scored members: floor(20% x 10) = 2 -> M01 (246 points) and M02 (243) are named
        (10, 2, {"M01": "yes", "M02": "yes"}),
    ],
)
def test_min_scored_members_is_what_stops_the_quarter_star(
    maker: BookMaker, tmp_path: Path, n: int, expected_quota: int, stars: dict[str, str]
) -> None:
    # Quarter points Q1 = sum of 3 monthly totals: M01 (I01 10) 3 x 82 = 246, M02 (I01 9) 3 x 81 =
    # 243, everyone else 3 x 80 = 240. The share alone would name one of 9 members: only the
    # min_scored_members rule (10) can make the 9-member quota 0, so this test fails without it.
    scheme = _quarter_star_scheme(tmp_path, share=0.20, min_scored_members=10)
    assert share_quota(0.20, 9) == 1  # the share alone would name one member
    sheets = county_sheets(n=n, item_score=8.0)
    ms = sheets["monthly_scores"]
    ms.loc[ms["member_id"] == "M01", "I01"] = 10.0
    ms.loc[ms["member_id"] == "M02", "I01"] = 9.0
    r = maker.score(scheme, sheets, period="2025Q1")
    assert r.scheme.scheme.quarter_star is not None and r.scheme.scheme.quarter_star.min_scored_members == 10
    assert set(r.quarters["quota"]) == {expected_quota}
    assert set(r.quarters["scored_members"]) == {n}
    s = r.summary().set_index("member_id")
    assert (s.loc["M01", "quarter_score"], s.loc["M02", "quarter_score"], s.loc["M03", "quarter_score"]) == (
        246.0,
        243.0,
        240.0,
    )
    for mid, expected in stars.items():
        assert s.loc[mid, "quarter_star"] == expected, mid
    assert (s.drop(index=["M01", "M02"])["quarter_star"] == "no").all()


def test_tie_on_the_quota_line_is_listed_not_broken(maker: BookMaker) -> None:
    # 20 scored members -> quota floor(5% x 20) = 1; M01 and M02 tie on top -> both "tie"
    sheets = county_sheets(n=20, item_score=8.0)
    ms = sheets["monthly_scores"]
    ms.loc[ms["member_id"].isin(["M01", "M02"]), "I01"] = 10.0
    s = maker.score("county-10-stars", sheets, period="2025Q2").summary().set_index("member_id")
    assert s.loc["M01", "quarter_star"] == "tie" and s.loc["M02", "quarter_star"] == "tie"
    assert (s.drop(index=["M01", "M02"])["quarter_star"] == "no").all()
    assert s.loc["M01", "quarter_score"] == 3 * 82.0  # quarter points: the sum of three months


def test_clear_winner_is_quarter_star(maker: BookMaker) -> None:
    sheets = county_sheets(n=20, item_score=8.0)
    ms = sheets["monthly_scores"]
    ms.loc[(ms["member_id"] == "M07") & (ms["month"] == f"{YEAR}-08"), "I02"] = 10.0
    s = maker.score("county-10-stars", sheets, period="2025Q3").summary().set_index("member_id")
    assert s.loc["M07", "quarter_star"] == "yes" and s.loc["M07", "quarter_rank"] == 1
    assert (s.drop(index="M07")["quarter_star"] == "no").all()


def test_annual_star_quota_of_ten_star_members(maker: BookMaker) -> None:
    # all 20 members at 96 (ten stars) except M01 at 98.0: quota floor(10% x 20) = 2 -> M01 yes,
    # then 19 members tied for the second place -> "tie"
    sheets = county_sheets(n=20, item_score=9.6, rating=9.6)
    ms = sheets["monthly_scores"]
    ms.loc[ms["member_id"] == "M01", [f"I{i:02d}" for i in range(1, 11)]] = 9.85
    r = maker.score("county-10-stars", sheets)
    s = r.summary().set_index("member_id")
    assert s.loc["M01", "total"] == 98.0  # 0.8 x 98.5 + 0.2 x 96 = 78.8 + 19.2
    assert s.loc["M01", "annual_star"] == "yes"
    assert set(s.drop(index="M01")["annual_star"]) == {"tie"}


def test_ranks_share_places(maker: BookMaker) -> None:
    sheets = county_sheets(n=4, item_score=8.0)
    ms = sheets["monthly_scores"]
    ms.loc[ms["member_id"] == "M04", "I01"] = 10.0
    ms.loc[ms["member_id"] == "M03", "I01"] = 6.0
    s = maker.score("county-10-stars", sheets).summary().set_index("member_id")
    assert list(s.loc[["M04", "M01", "M02", "M03"], "rank"]) == [1, 2, 2, 4]


# -- xinluo-three-level (seed 000) ------------------------------------------------------------


def _xinluo(n: int, monthly_total_of: Callable[[str], float], appraisal: float = 90.0) -> dict[str, pd.DataFrame]:
    ids = [f"X{i:02d}" for i in range(1, n + 1)]
    members = member_rows(ids)
    share = {"POL": 0.25, "DIS": 0.25, "MOR": 0.25, "PERF": 0.10, "INNO": 0.05, "COOP": 0.05, "TASK": 0.05}
    monthly = monthly_rows("xinluo-three-level", members, lambda m, mo, it: monthly_total_of(m) * share[it])
    return {
        "members": members,
        "monthly_scores": monthly,
        "appraisal": ballots("xinluo-three-level", members, lambda b, m, c: appraisal),
    }


def test_xinluo_formula_uncapped_bonus_and_no_score_veto(maker: BookMaker) -> None:
    # monthly base 96 -> 96 x 0.9 + 90 x 0.1 = 95.4; bonuses +5 +4 +3 all count -> 107.40 优秀
    sheets = _xinluo(10, lambda m: 96.0)
    sheets["adjustments"] = pd.DataFrame(
        [adjustment("X01", "honour.national"), adjustment("X01", "honour.provincial"), adjustment("X01", "honour.city")]
    )
    sheets["vetoes"] = pd.DataFrame([veto("X02", "discipline")])
    r = maker.score("xinluo-three-level", sheets)
    assert row(r, "X01")["total"] == 107.4 and row(r, "X01")["grade"] == "优秀"
    assert row(r, "X03")["total"] == 95.4 and row(r, "X03")["grade"] == "合格"
    x2 = row(r, "X02")
    # the tiers are ranked across the unit (SPEC 3.2): the roll-up gives them, not the branch run
    assert pd.isna(x2["total"]) and x2["grade"] == "不合格" and pd.isna(x2["tier"])


def test_rank_share_tiers_within_a_branch(maker: BookMaker) -> None:
    # xinluo-three-level copied with its tiers ranked within the branch (tests/schemes/branch-tiers.yaml)
    # 20 distinct scores: shares 20/60/15/5 % -> 4 优秀, 12 合格, 3 一般, 1 后进
    sheets = _xinluo(20, lambda m: 60.0 + int(m[1:]))
    s = maker.score(str(Path(__file__).parent / "schemes" / "branch-tiers.yaml"), sheets).summary()
    counts = s["tier"].value_counts().to_dict()
    assert counts == {"优秀": 4, "合格": 12, "一般": 3, "后进": 1}
    assert s.set_index("member_id").loc["X20", "tier"] == "优秀"
    assert s.set_index("member_id").loc["X01", "tier"] == "后进"


# -- ganzi-base-plus-minus (seed 001) ---------------------------------------------------------


def _ganzi(n: int = 12, monthly_total: float = 80.0) -> dict[str, pd.DataFrame]:
    ids = [f"G{i:02d}" for i in range(1, n + 1)]
    members = member_rows(ids)
    return {
        "members": members,
        "monthly_scores": monthly_rows("ganzi-base-plus-minus", members, lambda m, mo, it: monthly_total / 4),
    }


def test_ganzi_base_plus_minus_and_evidence(maker: BookMaker) -> None:
    # base 80; +3 (rescue) +2 (lecture) -2 (dues) = 83; a bonus without evidence is not applied
    sheets = _ganzi()
    sheets["adjustments"] = pd.DataFrame(
        [
            adjustment("G01", "B1.rescue"),
            adjustment("G01", "B2.lecture"),
            adjustment("G01", "D3.dues"),
            adjustment("G01", "B3.bravery", evidence=None),
        ]
    )
    r = maker.score("ganzi-base-plus-minus", sheets)
    assert row(r, "G01")["total"] == 83.0
    adj = r.adjustments.set_index("rule_code")
    assert adj.loc["B3.bravery", "status"] == "not_applied" and "no evidence" in str(adj.loc["B3.bravery", "reason"])


def test_ganzi_veto_needs_a_majority_of_members(maker: BookMaker) -> None:
    # 12 members: 6 votes for is not a majority, 7 is
    sheets = _ganzi(12)
    sheets["vetoes"] = pd.DataFrame([veto("G01", "law", 6, 5), veto("G02", "discipline", 7, 4)])
    r = maker.score("ganzi-base-plus-minus", sheets)
    assert row(r, "G01")["veto"] == "no" and row(r, "G01")["grade"] == "合格"
    assert row(r, "G02")["veto"] == "yes" and row(r, "G02")["grade"] == "不合格"
    assert row(r, "G02")["total"] == 80.0
    v = r.vetoes.set_index("member_id")
    assert list(v["members_on_date"]) == [12, 12] and "no majority" in str(v.loc["G01", "reason"])


# -- quota helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "quota", "expected"),
    [
        ([90, 80, 70], 1, ["yes", "no", "no"]),
        ([90, 90, 70], 1, ["tie", "tie", "no"]),
        ([90, 90, 70], 2, ["yes", "yes", "no"]),
        ([95, 90, 90, 70], 2, ["yes", "tie", "tie", "no"]),
        ([90, 80], 0, ["no", "no"]),
    ],
)
def test_quota_pick(scores: list[float], quota: int, expected: list[str]) -> None:
    assert list(quota_pick(pd.Series(scores, dtype=float), quota)) == expected


@pytest.mark.parametrize(
    ("share", "n", "expected"), [(0.05, 60, 3), (0.05, 19, 0), (0.05, 20, 1), (0.1, 30, 3), (0.1, 9, 0)]
)
def test_share_quota_is_floor_without_float_surprises(share: float, n: int, expected: int) -> None:
    assert share_quota(share, n) == expected == math.floor(round(share * n, 9))


def test_amendment_after_the_period_is_not_applied_to_it(maker: BookMaker) -> None:
    # a July amendment does not touch a May run, and the May run does not fail on it
    sheets = county_sheets()
    sheets["amendments"] = pd.DataFrame(
        [
            {
                "member_id": "M01",
                "month": f"{YEAR}-07",
                "item": "I03",
                "new_score": 2.0,
                "reason": "异议复核",
                "decided_on": dt.date(YEAR, 8, 10),
            }
        ]
    )
    r = maker.score("county-10-stars", sheets, period="2025-05")
    assert r.amendments.empty
    assert r.summary().set_index("member_id").loc["M01", "month_total"] == 80.0
    assert len(maker.score("county-10-stars", sheets, period="2025").amendments) == 1
