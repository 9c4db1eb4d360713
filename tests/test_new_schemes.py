"""The four new built-in schemes (SPEC 3.4 to 3.7), scored from small workbooks whose every
expected figure is worked out by hand below from SPEC's text, edge cases included: a member who
joins mid-year, an exempt member, a veto, caps reached, a score exactly on a tier line and one
that only reaches the line by rounding x.xx5 half away from zero (SPEC 5)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from conftest import YEAR, BookMaker, adjustment, as_float, ballots, member_rows, veto

from scoring.rules.engine import Result


def quarterly(scores: dict[str, dict[int, tuple[float, ...]]], items: list[str]) -> pd.DataFrame:
    """A quarterly_scores sheet: member -> quarter -> the items' scores in scheme order."""
    rows: list[dict[str, Any]] = []
    for mid, by_quarter in scores.items():
        for q, values in by_quarter.items():
            rows.append({"member_id": mid, "quarter": f"{YEAR}Q{q}", **dict(zip(items, values, strict=True))})
    return pd.DataFrame(rows)


def row(result: Result, member_id: str) -> pd.Series:
    summary = result.summary().set_index("member_id")
    out = summary.loc[member_id]
    assert isinstance(out, pd.Series)
    return out


# -- shaoxing-liangfen: 一季一评、季末亮分、年度总评 (SPEC 3.4) -----------------------------------

SHAOXING_ITEMS = ["POL", "PRO", "CIV"]  # 40, 40, 20
SHAOXING: dict[str, dict[int, tuple[float, ...]]] = {
    "M01": dict.fromkeys((1, 2, 3, 4), (38, 36, 18)),  # 92 every quarter
    "M02": {1: (30, 30, 15), 2: (35, 30, 15), 3: (32, 32, 16), 4: (28, 28, 14)},  # 75, 80, 80, 70
    "M03": dict.fromkeys((1, 2, 3, 4), (20, 20, 10)),  # 50
    "M04": {1: (36, 36, 18), 2: (36, 36, 17.995), 3: (30, 30, 10), 4: (40, 40, 20)},  # 90, 89.995, 70, 100
    "M05": {2: (30, 30, 15), 3: (36, 36, 18), 4: (36, 34, 20)},  # joined in April: 75, 90, 90
}


def shaoxing_sheets() -> dict[str, pd.DataFrame]:
    members = member_rows(
        ["M01", "M02", "M03", "M04", "M05", "M06"],
        M05={"joined": f"{YEAR}-04"},
        M06={"exempt": "是", "exempt_reason": "年老体弱"},
    )
    return {"members": members, "quarterly_scores": quarterly(SHAOXING, SHAOXING_ITEMS)}


def test_shaoxing_quarter_scores_ranks_and_tiers(maker: BookMaker) -> None:
    r = maker.score("shaoxing-liangfen", shaoxing_sheets(), "2025Q2")
    # Q2: M01 92 标杆型; M04 89.995 rounds to 90.00 (half away from zero) and is 标杆型 too;
    # M02 exactly 80 is 优秀型 (>= 80); M05 75 良好型; M03 50 警示型
    expected = {
        "M01": (92.00, 1, "标杆型"),
        "M04": (90.00, 2, "标杆型"),
        "M02": (80.00, 3, "优秀型"),
        "M05": (75.00, 4, "良好型"),
        "M03": (50.00, 5, "警示型"),
    }
    for mid, (score, rank, tier) in expected.items():
        got = row(r, mid)
        assert (float(got["quarter_score"]), int(got["quarter_rank"]), got["tier"]) == (score, rank, tier), mid
    assert pd.isna(row(r, "M06")["quarter_score"])  # exempt
    follow = r.follow_up.set_index("member_id")["action"].to_dict()
    commend, remind = "列入表彰名单 (commendation)", "提醒谈话 (reminder talk)"
    assert follow == {"M01": commend, "M04": commend, "M03": remind}


def test_shaoxing_joiner_has_no_first_quarter(maker: BookMaker) -> None:
    r = maker.score("shaoxing-liangfen", shaoxing_sheets(), "2025Q1")
    assert pd.isna(row(r, "M05")["quarter_score"]) and pd.isna(row(r, "M05")["quarter_rank"])
    assert int(row(r, "M03")["quarter_rank"]) == 4  # M01 92, M04 90, M02 75, M03 50


def test_shaoxing_year_is_the_mean_of_the_members_quarters(maker: BookMaker) -> None:
    r = maker.score("shaoxing-liangfen", shaoxing_sheets(), "2025")
    expected = {
        "M01": (92.00, 1, "标杆型"),  # (92 x 4) / 4
        "M04": (87.50, 2, "优秀型"),  # (90 + 89.995 + 70 + 100) / 4 = 87.49875
        "M05": (85.00, 3, "优秀型"),  # (75 + 90 + 90) / 3: his own three quarters
        "M02": (76.25, 4, "良好型"),  # (75 + 80 + 80 + 70) / 4
        "M03": (50.00, 5, "警示型"),
    }
    for mid, (total, rank, tier) in expected.items():
        got = row(r, mid)
        assert (float(got["total"]), int(got["rank"]), got["tier"]) == (total, rank, tier), mid
    assert int(row(r, "M05")["months"]) == 3  # quarters scored
    assert r.scheme.scheme.veto.effect == "none" and r.vetoes.empty


# -- enterprise-8-2: quarterly daily score with its events, 8:2 with the appraisal (SPEC 3.7) -------

ENTERPRISE_ITEMS = ["POL", "DUTY", "DISC", "DEDI"]  # 25 each


def enterprise_sheets() -> dict[str, pd.DataFrame]:
    members = member_rows(["M01", "M02", "M03", "M04"], M02={"joined": f"{YEAR}-07"})
    scores: dict[str, dict[int, tuple[float, ...]]] = {
        "M01": dict.fromkeys((1, 2, 3, 4), (20, 20, 20, 20)),  # 80 a quarter
        "M02": dict.fromkeys((3, 4), (25, 25, 25, 22.5)),  # 97.5, from July
        "M03": dict.fromkeys((1, 2, 3, 4), (15, 15, 15, 15)),  # 60
        "M04": dict.fromkeys((1, 2, 3, 4), (20, 20, 15, 15)),  # 70
    }
    ratings: dict[str, list[float]] = {
        "M01": [80, 85, 90, 80, 85, 90, 80, 85, 90, 80],
        "M02": [100] * 10,
        "M03": [60] * 10,
        "M04": [70] * 9 + [69.75],
    }
    events = [
        adjustment("M01", "B.urgent", dt.date(YEAR, 2, 3)),  # +3 in Q1
        adjustment("M01", "D.safety", dt.date(YEAR, 5, 3)),  # -5 in Q2
        adjustment("M03", "D.rules", dt.date(YEAR, 12, 31)),  # -2 on the last day of Q4
    ]
    return {
        "members": members,
        "quarterly_scores": quarterly(scores, ENTERPRISE_ITEMS),
        "appraisal": ballots("enterprise-8-2", members, lambda b, m, c: ratings[m][b - 1]),
        "adjustments": pd.DataFrame(events),
    }


def test_enterprise_quarter_adds_the_events_dated_in_it(maker: BookMaker) -> None:
    q1 = maker.score("enterprise-8-2", enterprise_sheets(), "2025Q1")
    assert float(row(q1, "M01")["quarter_score"]) == 83.00  # 80 + 3
    q2 = maker.score("enterprise-8-2", enterprise_sheets(), "2025Q2")
    assert float(row(q2, "M01")["quarter_score"]) == 75.00  # 80 - 5: the February bonus is Q1's
    assert [int(row(q2, m)["quarter_rank"]) for m in ("M01", "M03", "M04")] == [1, 3, 2]
    assert pd.isna(row(q2, "M02")["quarter_score"])  # joined in July


def test_enterprise_year_is_eight_tenths_daily_and_two_tenths_appraisal(maker: BookMaker) -> None:
    r = maker.score("enterprise-8-2", enterprise_sheets(), "2025")
    expected = {
        # (83 + 75 + 80 + 80) / 4 = 79.5 x 0.8 = 63.6; ballots 845 / 10 = 84.5 x 0.2 = 16.9
        "M01": (80.50, "合格"),
        # his two quarters: 97.5 x 0.8 = 78; 100 x 0.2 = 20
        "M02": (98.00, "优秀"),
        # (60 x 3 + 58) / 4 = 59.5 x 0.8 = 47.6; 60 x 0.2 = 12
        "M03": (59.60, "不合格"),
        # 70 x 0.8 = 56; (70 x 9 + 69.75) / 10 = 69.975 x 0.2 = 13.995: 69.995 rounds to 70.00
        "M04": (70.00, "合格"),
    }
    for mid, (total, grade) in expected.items():
        got = row(r, mid)
        assert (float(got["total"]), got["grade"]) == (total, grade), mid
    assert [int(row(r, m)["rank"]) for m in ("M02", "M01", "M04", "M03")] == [1, 2, 3, 4]


# -- fuxian-18: 18 items once a year, bonuses and deductions capped at the item's points (SPEC 3.6) -


def fuxian_sheets() -> dict[str, pd.DataFrame]:
    from scoring.rules.scheme import load_scheme

    items = load_scheme("fuxian-18").scheme.items
    members = member_rows(["M01", "M02", "M03", "M04", "M05"], M05={"exempt": "是", "exempt_reason": "长期病休"})
    full = {it.code: it.max for it in items}
    rows = [
        {"member_id": "M01", **full},  # 100
        {"member_id": "M02", **{c: v - 1 for c, v in full.items()}},  # 100 - 18 = 82
        {"member_id": "M03", **full},  # 100, vetoed
        {"member_id": "M04", **{c: v - 2 for c, v in full.items()}, "E1": 4.995, "E2": 2.0},
    ]
    # M04: 100 - 36 = 64, E1 3 -> 4.995 (+1.995), E2 3 -> 2 (-1): 64.995, rounds to 65.00
    events = [
        adjustment("M01", "W1.innov", dt.date(YEAR, 2, 3)),  # +4
        adjustment("M01", "W1.innov", dt.date(YEAR, 5, 3)),  # +4: W1's 8 points reached
        adjustment("M01", "W1.innov", dt.date(YEAR, 6, 3)),  # +4: nothing left of W1's cap
        adjustment("M02", "W1.error", dt.date(YEAR, 3, 3)),  # -3
        adjustment("M02", "W1.error", dt.date(YEAR, 4, 3)),  # -3
        adjustment("M02", "W1.error", dt.date(YEAR, 7, 3)),  # -3, of which 2 fit under W1's 8
        adjustment("M02", "E5.paper", dt.date(YEAR, 8, 3)),  # +3 (E5: 5 points)
    ]
    return {
        "members": members,
        "annual_scores": pd.DataFrame(rows),
        "adjustments": pd.DataFrame(events),
        "vetoes": pd.DataFrame([veto("M03", "关键工作未完成 (一票否决)")]),
    }


def test_fuxian_caps_come_from_the_items_points(maker: BookMaker) -> None:
    r = maker.score("fuxian-18", fuxian_sheets(), "2025")
    expected = {
        "M01": (100.0, 8.0, 0.0, 108.00, "优秀"),  # 4 + 4 + (4 capped to 0)
        "M02": (82.0, 3.0, -8.0, 77.00, "合格"),  # -3 -3 -2 (W1: 8 points), +3
        "M03": (100.0, 0.0, 0.0, 100.00, "不合格"),  # vetoed: grade forced, score shown
        "M04": (64.995, 0.0, 0.0, 65.00, "基本合格"),  # 64.995 rounds half away from zero
    }
    for mid, (base, bonus, deduction, total, grade) in expected.items():
        got = row(r, mid)
        assert float(got["base"]) == pytest.approx(round(base, 2)), mid
        assert (float(got["bonus"]), float(got["deduction"])) == (bonus, deduction), mid
        assert (float(got["total"]), got["grade"]) == (total, grade), mid
    assert row(r, "M03")["veto"] == "yes" and pd.isna(row(r, "M03")["rank"])
    applied = r.adjustments.set_index(["member_id", "date"])["applied_points"]
    assert applied.loc[("M01", dt.date(YEAR, 6, 3))] == 0.0
    assert applied.loc[("M02", dt.date(YEAR, 7, 3))] == -2.0
    groups = r.monthly_totals.set_index("member_id")
    assert [as_float(groups.at["M02", f"group_{g}"]) for g in ("EDU", "DUTY", "WORK", "VOW")] == [20, 20, 21, 21]
    assert r.quarters.empty and r.halves.empty  # scored once a year: no quarter figures


# -- rural-card: base 60 that deductions draw from, bonuses, appraisal added (SPEC 3.5) ------------


def rural_sheets() -> dict[str, pd.DataFrame]:
    members = member_rows(["M01", "M02", "M03", "M04"], M04={"joined": f"{YEAR}-05"})
    events = [
        adjustment("M01", "D.meeting", dt.date(YEAR, 2, 3)),  # -2 in Q1
        adjustment("M01", "D.decision", dt.date(YEAR, 5, 3)),  # -3 in Q2
        adjustment("M01", "B.poverty", dt.date(YEAR, 6, 3)),  # +2 in Q2
        adjustment("M02", "B.policy", dt.date(YEAR, 11, 3)),  # +1 in Q4
    ] + [adjustment("M03", "D.decision", dt.date(YEAR, m, 1)) for m in range(1, 12) for _ in (0, 1)]  # 22 x -3
    ratings = [30, 35, 40, 30, 35]  # 170 / 5 = 34
    return {
        "members": members,
        "appraisal": ballots("rural-card", members, lambda b, m, c: ratings[b - 1], raters=5),
        "adjustments": pd.DataFrame(events),
    }


def test_rural_quarter_shows_the_quarter_and_the_running_figures(maker: BookMaker) -> None:
    q1 = maker.score("rural-card", rural_sheets(), "2025Q1")
    m01 = row(q1, "M01")
    assert (float(m01["span_deduction"]), float(m01["base_points"]), float(m01["quarter_score"])) == (-2, 58, 58)
    assert pd.isna(row(q1, "M04")["quarter_score"])  # joined in May
    q2 = maker.score("rural-card", rural_sheets(), "2025Q2")
    m01 = row(q2, "M01")
    # 扣分小计 -3, 加分 +2 this quarter; 已得基础分 60 - 2 - 3 = 55; 已得加分 2; 55 + 2 = 57
    assert [float(m01[k]) for k in ("span_deduction", "span_bonus", "base_points", "bonus")] == [-3, 2, 55, 2]
    assert float(m01["quarter_score"]) == 57.00
    m03 = row(q2, "M03")  # 12 deductions of 3 by June: 60 - 36
    assert float(m03["base_points"]) == 24.00


def test_rural_year_adds_base_bonus_and_appraisal(maker: BookMaker) -> None:
    r = maker.score("rural-card", rural_sheets(), "2025")
    expected = {
        "M01": (55.0, 2.0, 91.00, "优秀"),  # 55 + 2 + 34
        "M02": (60.0, 1.0, 95.00, "优秀"),  # 60 + 1 + 34
        "M03": (0.0, 0.0, 34.00, "不合格"),  # 66 points of deductions: the base stops at 0
        "M04": (60.0, 0.0, 94.00, "优秀"),
    }
    for mid, (base_points, bonus, total, grade) in expected.items():
        got = row(r, mid)
        assert (float(got["base_points"]), float(got["bonus"])) == (base_points, bonus), mid
        assert as_float(got["appraisal_added"]) == 34.00
        assert (float(got["total"]), got["grade"]) == (total, grade), mid
    assert [int(row(r, m)["rank"]) for m in ("M02", "M04", "M01", "M03")] == [1, 2, 3, 4]
