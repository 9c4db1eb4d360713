"""Rule sets no built-in scheme has, each written by copying a built-in file and editing only the
copy (tests/schemes/), then run end to end: the papermill notebook, the workbook recomputed by
LibreOffice and Gnumeric, the trace. Every expected figure is worked out by hand below (SPEC 3.5,
3.8): the language is the only place rules live.

- ``rural-100``: seed 004's 公示栏 "年度积分=100+各季度得分" (rural-card with base 100, no appraisal,
  a quarter's figure its own events);
- ``letters-cap60``: items entered as letter grades, a veto that caps the total at 60;
- ``branch-tiers``: rank-share tiers within each branch (xinluo-three-level ranks across the unit,
  SPEC 3.2; its unit-wide tiers are checked here too, through the roll-up);
- ``no-veto``: county-10-stars with its veto taken out.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import (
    YEAR,
    BookMaker,
    adjustment,
    as_float,
    as_int,
    ballots,
    county_sheets,
    kept_libreoffice,
    member_rows,
    monthly_rows,
    veto,
)

from scoring.exceptions import InputError
from scoring.inputs.reading import load_inputs
from scoring.outputs.recompute import ENGINES, compare_workbook, results_workbook
from scoring.rules.periods import parse_period
from scoring.runs.execute import run_branch
from scoring.runs.rollup import build, latest_runs, sources_from_runs, write_rollup_workbook
from scoring.views.trace import trace

SCHEMES = Path(__file__).parent / "schemes"
needs_engines = pytest.mark.skipif(
    (shutil.which("soffice") is None or shutil.which("ssconvert") is None) and not os.environ.get("CI"),
    reason="LibreOffice or Gnumeric not installed (make test installs both; in CI this test must run)",
)


def summary(folder: Path) -> dict[str, dict[str, str]]:
    with open(folder / "summary.csv", encoding="utf-8", newline="") as f:
        return {r["member_id"]: r for r in csv.DictReader(f)}


def assert_recomputes_equal(path: Path) -> None:
    with kept_libreoffice():  # only around the recompute: the runs above convert as a single run does
        table = compare_workbook(results_workbook(path), ENGINES)
    assert set(table["engine"]) == {"LibreOffice", "Gnumeric"} and len(table) > 0
    bad = table[~table["ok"]]
    assert bad.empty, f"{len(bad)} formula cells differ:\n{bad.head(20).to_string()}"


def run(maker: BookMaker, scheme: str, sheets: dict[str, pd.DataFrame], period: str, branch: str) -> Path:
    path = maker.write(str(SCHEMES / f"{scheme}.yaml"), sheets, branch={"branch_id": branch}, name=f"{branch}.xlsx")
    return run_branch(path, period, maker.tmp_path / "runs")


# -- 年度积分 = 100 + 各季度得分 ------------------------------------------------------------------


def rural_100_sheets() -> dict[str, pd.DataFrame]:
    events = [
        adjustment("M01", "D.meeting", dt.date(YEAR, 2, 3)),  # -2, Q1
        adjustment("M01", "D.decision", dt.date(YEAR, 5, 3)),  # -3, Q2
        adjustment("M01", "B.poverty", dt.date(YEAR, 6, 3)),  # +2, Q2
        adjustment("M01", "B.policy", dt.date(YEAR, 10, 3)),  # +1, Q4
        adjustment("M03", "B.watch", dt.date(YEAR, 8, 3)),  # +1, Q3
        adjustment("M03", "D.dues", dt.date(YEAR, 11, 3)),  # -2, Q4
    ]
    members = member_rows(["M01", "M02", "M03"], M03={"joined": f"{YEAR}-07"})
    return {"members": members, "adjustments": pd.DataFrame(events)}


@needs_engines
def test_rural_100_is_100_plus_the_quarters(tmp_path: Path) -> None:
    maker = BookMaker(tmp_path)
    q2 = run(maker, "rural-100", rural_100_sheets(), "2025Q2", "R1")
    s = summary(q2)
    # Q2's own events: M01 -3 + 2 = -1; M02 none; M03 not yet in the branch
    assert (float(s["M01"]["quarter_score"]), float(s["M02"]["quarter_score"])) == (-1.0, 0.0)
    assert (s["M02"]["quarter_rank"], s["M01"]["quarter_rank"], s["M03"]["quarter_score"]) == ("1", "2", "")
    year = run(maker, "rural-100", rural_100_sheets(), "2025", "R1")
    s = summary(year)
    # 100 + each quarter: M01 100 - 2 - 1 + 0 + 1 = 98; M02 100; M03 100 + 1 - 2 = 99
    assert {m: float(r["total"]) for m, r in s.items()} == {"M01": 98.0, "M02": 100.0, "M03": 99.0}
    assert {m: r["rank"] for m, r in s.items()} == {"M01": "3", "M02": "1", "M03": "2"}
    assert {r["grade"] for r in s.values()} == {"优秀"}
    assert "appraisal_added" not in s["M01"]  # no 评议分 in this variant
    assert_recomputes_equal(q2)
    assert_recomputes_equal(year)
    book, sch = load_inputs(maker.tmp_path / "R1.xlsx", parse_period("2025"))
    from scoring.rules.engine import score

    t = trace(score(book, sch, parse_period("2025")), "M01")
    assert t.iloc[0]["value"] == 98.0 and t.iloc[0]["rule"] == "ROUND(基础分 + 加分, 2)"
    applied = t[t["step"].str.startswith(("加分:", "减分:"))]
    assert sorted(applied["value"]) == [-3.0, -2.0, 1.0, 2.0]  # each event, with its input cell
    assert applied["source"].str.startswith("加减分 (adjustments)!").all()


# -- letter grades and a veto that caps the total at 60 ------------------------------------------

LETTERS = {"A": 25, "B+": 20, "B": 17, "C": 15, "D": 12}


def letters_sheets() -> dict[str, pd.DataFrame]:
    members = member_rows(["M01", "M02", "M03"])
    grades = {"M01": ["A"] * 4, "M02": ["B+", "B", "C", "D"], "M03": ["A"] * 4}
    items = ["POL", "DUTY", "DISC", "DEDI"]
    rows = [
        {"member_id": m, "quarter": f"{YEAR}Q{q}", **dict(zip(items, g, strict=True))}
        for m, g in grades.items()
        for q in (1, 2, 3, 4)
    ]
    ratings = {"M01": 90.0, "M02": 80.0, "M03": 90.0}
    return {
        "members": members,
        "quarterly_scores": pd.DataFrame(rows),
        "appraisal": ballots(str(SCHEMES / "letters-cap60.yaml"), members, lambda b, m, c: ratings[m]),
        "vetoes": pd.DataFrame([veto("M03", "发生重大安全责任事故", date=dt.date(YEAR, 10, 1))]),
    }


@needs_engines
def test_letter_grades_and_a_veto_capping_the_total(tmp_path: Path) -> None:
    maker = BookMaker(tmp_path)
    year = run(maker, "letters-cap60", letters_sheets(), "2025", "L1")
    s = summary(year)
    # M01: A x 4 = 100 a quarter; 100 x 0.8 + 90 x 0.2 = 98
    # M02: B+ 20 + B 17 + C 15 + D 12 = 64 a quarter; 64 x 0.8 + 80 x 0.2 = 67.2
    # M03: 98 like M01, but vetoed in October: capped at 60, 不合格, unranked
    assert [float(s[m]["total"]) for m in ("M01", "M02", "M03")] == [98.0, 67.2, 60.0]
    assert [s[m]["grade"] for m in ("M01", "M02", "M03")] == ["优秀", "基本合格", "不合格"]
    assert (s["M03"]["veto"], s["M03"]["rank"], s["M01"]["rank"], s["M02"]["rank"]) == ("yes", "", "1", "2")
    q3 = run(maker, "letters-cap60", letters_sheets(), "2025Q3", "L1")
    q4 = run(maker, "letters-cap60", letters_sheets(), "2025Q4", "L1")
    assert float(summary(q3)["M03"]["quarter_score"]) == 100.0  # the veto is dated in Q4
    assert float(summary(q4)["M03"]["quarter_score"]) == 60.0  # ... and caps Q4
    assert_recomputes_equal(year)
    assert_recomputes_equal(q4)
    book, sch = load_inputs(maker.tmp_path / "L1.xlsx", parse_period("2025"))
    from scoring.rules.engine import score

    t = trace(score(book, sch, parse_period("2025")), "M02")
    cells = t[t["step"].str.endswith("季度评分")]
    assert len(cells) == 16 and cells["source"].str.contains("quarterly_scores").all()
    noted = dict(zip(cells["value"], cells["note"], strict=True))
    assert {v: noted[v] for v in (20.0, 17.0, 15.0, 12.0)} == {
        20.0: "等次 B+ → 20 分",
        17.0: "等次 B → 17 分",
        15.0: "等次 C → 15 分",
        12.0: "等次 D → 12 分",
    }


# -- rank-share tiers across the unit ---------------------------------------------------------


def xinluo_like(totals: dict[str, float], vetoed: str | None = None) -> dict[str, pd.DataFrame]:
    """Every month and every ballot at ``total`` for each member: the base is then exactly the total
    (0.9 x total + 0.1 x total)."""
    scheme = "xinluo-three-level"
    members = member_rows(list(totals))
    maxima = {"POL": 25, "DIS": 25, "MOR": 25, "PERF": 10, "INNO": 5, "COOP": 5, "TASK": 5}
    sheets: dict[str, Any] = {
        "members": members,
        "monthly_scores": monthly_rows(scheme, members, lambda m, mo, it: maxima[it] * totals[m] / 100),
        "appraisal": ballots(scheme, members, lambda b, m, c: totals[m]),
    }
    if vetoed:
        sheets["vetoes"] = pd.DataFrame([veto(vetoed, "受到党纪政务处分")])
    return sheets


@needs_engines
def test_xinluo_tiers_rank_across_the_units_branches(tmp_path: Path) -> None:
    unit = tmp_path / "unit"
    unit.mkdir()
    maker = BookMaker(unit)
    scheme = "xinluo-three-level"  # SPEC 3.2: 排序 within the unit, in the roll-up
    maker.write(scheme, xinluo_like({"A1": 100, "A2": 95, "A3": 90, "A4": 85}), {"branch_id": "U1"}, "U1.xlsx")
    maker.write(scheme, xinluo_like({"B1": 98, "B2": 80, "B3": 75, "B4": 99}, "B4"), {"branch_id": "U2"}, "U2.xlsx")
    runs = tmp_path / "runs"
    for branch in ("U1", "U2"):
        run_branch(unit / f"{branch}.xlsx", "2025", runs)
    rollup = build("2025", sources_from_runs(latest_runs(runs, "2025")))
    assert (rollup.checks["differences"] == 0).all()
    got = rollup.unit.set_index("member_id")
    # 7 ranked across the unit (B4 vetoed): 100, 98, 95, 90, 85, 80, 75. Bounds 7 x (0.2, 0.8, 0.95,
    # 1) = 1.4, 5.6, 6.65, 7; rank r is in the first tier whose bound exceeds r - 1
    expected = {"A1": "优秀", "B1": "优秀", "A2": "合格", "A3": "合格", "A4": "合格", "B2": "合格", "B3": "一般"}
    assert {m: got.at[m, "unit_tier"] for m in expected} == expected
    assert got.at["B4", "unit_tier"] == "后进"  # the veto tier
    year = latest_runs(runs, "2025")["U1"]
    assert {r["tier"] for r in summary(year).values()} == {""}  # branch runs leave the tier to the roll-up
    path = write_rollup_workbook(rollup, tmp_path / "单位汇总_2025.xlsx", {})
    assert_recomputes_equal(path)


def test_branch_tiers_rank_within_the_branch(maker: BookMaker) -> None:
    # the same U1 ranked within itself: 4 ranked, bounds 4 x (0.2, 0.8, 0.95, 1) = 0.8, 3.2, 3.8, 4;
    # A2 (rank 2, position 1) is 合格 where the unit-wide ranking above made it 优秀; A4 (position
    # 3, under 3.2) is 合格 where the unit made it 合格 too
    scheme = str(SCHEMES / "branch-tiers.yaml")
    s = maker.score(scheme, xinluo_like({"A1": 100, "A2": 95, "A3": 90, "A4": 85})).summary().set_index("member_id")
    assert [s.at[m, "tier"] for m in ("A1", "A2", "A3", "A4")] == ["优秀", "合格", "合格", "合格"]


# -- no veto ----------------------------------------------------------------------------------


def test_a_scheme_without_veto_scores_and_refuses_a_veto_row(maker: BookMaker) -> None:
    scheme = str(SCHEMES / "no-veto.yaml")
    sheets = county_sheets(n=12)
    # M01: 9.5 every month and 9 on every ballot: per item 9.5 x 0.8 + 9 x 0.2 = 9.4, ten items 94
    sheets["monthly_scores"].loc[
        sheets["monthly_scores"]["member_id"] == "M01", [f"I{i:02d}" for i in range(1, 11)]
    ] = 9.5
    sheets["appraisal"].loc[sheets["appraisal"]["member_id"] == "M01", [f"I{i:02d}" for i in range(1, 11)]] = 9.0
    r = maker.score(scheme, sheets)
    s = r.summary().set_index("member_id")
    assert (as_float(s.at["M01", "total"]), as_int(s.at["M01", "stars"]), s.at["M01", "grade"]) == (94.0, 9, "合格")
    assert (as_float(s.at["M02", "total"]), as_int(s.at["M02", "stars"])) == (80.0, 8)  # 8 x 0.8 + 8 x 0.2 = 8 x 10
    assert (s["veto"] == "no").all() and r.scheme.scheme.veto.effect == "none"
    sheets["vetoes"] = pd.DataFrame([veto("M02", "受党内严重警告处分期间")])
    with pytest.raises(InputError) as info:
        maker.score(scheme, sheets)
    f = info.value.failures
    assert (f["sheet"] == "vetoes").any(), f.to_string()


# -- bands for a month and a half-year --------------------------------------------------------


@needs_engines
def test_bands_for_a_month_and_a_half_year(maker: BookMaker, tmp_path: Path) -> None:
    from scoring.outputs.excel import write_results_workbook

    scheme = str(SCHEMES / "period-bands.yaml")
    sheets = county_sheets(n=12)  # 8 on every item: a month's total 80
    items = [f"I{i:02d}" for i in range(1, 11)]
    monthly = sheets["monthly_scores"]
    monthly.loc[monthly["member_id"] == "M01", items] = 9.5  # 95 a month
    monthly.loc[monthly["member_id"] == "M02", items] = 7.0  # 70 a month
    month = maker.score(scheme, sheets, "2025-03").summary().set_index("member_id")
    # month bands: >= 90 好, >= 75 较好, else 一般
    assert [month.at[m, "grade"] for m in ("M01", "M03", "M02")] == ["好", "较好", "一般"]
    half_result = maker.score(scheme, sheets, "2025H1")
    half = half_result.summary().set_index("member_id")
    # the half-year sums its six months (county-10-stars): 570, 480, 420; >= 500 前列
    assert [as_float(half.at[m, "half_score"]) for m in ("M01", "M03", "M02")] == [570.0, 480.0, 420.0]
    assert [half.at[m, "tier"] for m in ("M01", "M03", "M02")] == ["前列", "其他", "其他"]
    for period, result in (("2025-03", maker.score(scheme, sheets, "2025-03")), ("2025H1", half_result)):
        assert_recomputes_equal(write_results_workbook(result, tmp_path / f"{period}.xlsx", {}))
