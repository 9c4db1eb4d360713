"""The results workbook: live formulas that a real spreadsheet (LibreOffice) recomputes to the
package's figures, cached values for readers that do not recalculate, user text never a formula,
no ballot anywhere, and a check sheet that compares every figure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from conftest import (
    YEAR,
    BookMaker,
    adjustment,
    ballots,
    county_sheets,
    kept_libreoffice,
    member_rows,
    monthly_rows,
    veto,
)
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

from scoring.inputs.demo import DEMO_BRANCHES, generate_demo
from scoring.inputs.reading import load_inputs
from scoring.labels import YES_NO
from scoring.outputs.excel import write_results_workbook
from scoring.outputs.excel.items import TOTAL_SHEETS
from scoring.outputs.recompute import compare_workbook
from scoring.rules.engine import Result, score
from scoring.rules.periods import parse_period

ROOT = Path(__file__).resolve().parents[1]
CUSTOM_SCHEME = Path(__file__).parent / "schemes" / "group-caps.yaml"

needs_office = pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"),
    reason="LibreOffice not installed (make test installs it; in CI this test must run)",
)


def office_checks() -> bool:
    """Whether to run a LibreOffice check inside a test that has others: always in CI, where a
    missing soffice must fail the test rather than skip the check."""
    return shutil.which("soffice") is not None or bool(os.environ.get("CI"))


def scored(path: Path, period: str) -> Result:
    p = parse_period(period)
    book, sch = load_inputs(path, p)
    return score(book, sch, p)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_demo(tmp_path_factory.mktemp("demo"))


def write(result: Result, folder: Path, name: str = "book.xlsx") -> Path:
    return write_results_workbook(result, folder / name, {"test": "yes"})


def recomputed(path: Path) -> pd.DataFrame:
    """LibreOffice's recompute of ``path`` beside the package's figures (the kept LibreOffice)."""
    with kept_libreoffice():
        return compare_workbook(path)


def assert_recomputes(path: Path) -> pd.DataFrame:
    table = recomputed(path)
    bad = table[~table["ok"]]
    assert bad.empty, bad.head(20).to_string()
    assert (table["sheet"] == "结果").sum() > 0
    return table


def key_of(header: Any) -> str:
    """``年度总积分 (total)`` -> ``total``; a header without a key stays as it is."""
    m = re.search(r"\(([^()]*)\)$", str(header))
    return m.group(1) if m else str(header)


def header_cells(ws: Worksheet) -> list[Cell]:
    """The cells of the header row (row 1, where no cell is merged)."""
    cells = [c for c in ws[1] if isinstance(c, Cell)]
    assert len(cells) == len(ws[1]), f"{ws.title}: a merged header cell"
    return cells


def formula_texts(ws: Worksheet) -> list[str]:
    """The text of every formula below the header row."""
    texts = []
    for row in ws.iter_rows(min_row=2):
        for c in row:
            if c.data_type == "f":
                # an array formula {=...} (entered with Ctrl+Shift+Enter) is an object with its text
                text = c.value.text if isinstance(c.value, ArrayFormula) else c.value
                assert isinstance(text, str), f"{ws.title}!{c.coordinate}: {c.value!r}"
                texts.append(text)
    return texts


def blank(v: Any) -> Any:
    return "" if v is None else v


def read_only(path: Path, data_only: bool = False) -> Any:
    """``path`` opened read-only: its cells as written, without openpyxl binding every merged range
    of every sheet (a full load of a results workbook takes about a second: its 积分卡 merges a
    thousand ranges); the caller closes it."""
    return openpyxl.load_workbook(path, read_only=True, data_only=data_only)


def sheet_values(path: Path, sheet: str, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """A sheet by column key: formula cells as LibreOffice recomputed them (from ``table``, the
    comparison) or as cached, other cells as written."""
    got = (
        {}
        if table is None
        else {c: v for s, c, v in zip(table["sheet"], table["cell"], table["spreadsheet"], strict=True) if s == sheet}
    )
    book, cached_book = read_only(path), read_only(path, data_only=True)
    try:
        written, cached = book[sheet].iter_rows(), cached_book[sheet].iter_rows()
        header = [key_of(c.value) for c in next(written)]
        next(cached)
        rows = []
        for r, values in zip(written, cached, strict=True):
            rows.append(
                [
                    blank(got.get(c.coordinate, v.value)) if c.data_type == "f" else blank(c.value)
                    for c, v in zip(r, values, strict=True)
                ]
            )
    finally:
        book.close()
        cached_book.close()
    return pd.DataFrame(rows, columns=header)


def check_columns(path: Path) -> tuple[list[str], str]:
    """Column letters of 核对's per-figure verdicts, and of its 全部一致 column (its header row
    merges no cell: a merged cell would be an empty one here)."""
    book = read_only(path)
    try:
        header = next(book["核对"].iter_rows(max_row=1))
    finally:
        book.close()
    assert all(c.value is not None for c in header), "核对: a merged or empty header cell"
    verdicts = [c.column_letter for c in header if str(c.value).endswith(" 核对")]
    overall = next(c.column_letter for c in header if c.value == "全部一致 (all_ok)")
    return verdicts, overall


def assert_checks_ok(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    """Every verdict on 核对, recomputed by LibreOffice, is OK; returns the verdict rows."""
    verdict_cols, overall = check_columns(path)
    on = table[table["sheet"] == "核对"]
    letters = on["cell"].str.extract(r"^([A-Z]+)", expand=False)
    verdicts = on[letters.isin(verdict_cols)]
    assert len(verdicts) > 0 and (verdicts["spreadsheet"] == "OK").all(), (
        verdicts[verdicts["spreadsheet"] != "OK"].head().to_string()
    )
    rows = on[letters == overall]
    assert len(rows) > 0 and (rows["spreadsheet"] == "OK").all()
    return verdicts


# -- LibreOffice recomputes the package's figures ---------------------------------------------


@needs_office
@pytest.mark.parametrize(
    ("index", "period"),
    [(i, "2025") for i in range(len(DEMO_BRANCHES))]
    + [(0, "2025Q3"), (2, "2025H1"), (3, "2025-05"), (3, "2025Q2"), (0, "2025H2")],
)
def test_libreoffice_recomputes_every_formula_to_the_package_figure(
    demo: list[Path], index: int, period: str, tmp_path: Path
) -> None:
    result = scored(demo[index], period)
    path = write(result, tmp_path)
    table = assert_recomputes(path)
    s = result.scheme.scheme
    expected = {"结果", "核对"} | ({TOTAL_SHEETS[s.cadence]} if s.items else set())
    expected |= {"季度汇总"} if s.sub_months <= 3 else set()  # a yearly scheme has no quarters
    expected |= {"加减分"} if len(result.adjustments) else set()
    expected |= {"一票否决"} if len(result.vetoes) else set()
    assert expected <= set(table["sheet"]), (expected, set(table["sheet"]))
    assert_checks_ok(path, table)


def edge_case_sheets() -> dict[str, pd.DataFrame]:
    """county-10-stars, every monthly item 9.5, 20 raters giving 9.5:
    M01 one rating of I10 is 9.0 -> base 94.995 -> 95.00, ten stars;
    M02 bonuses +2, +5, +5 (two equal highest: the earlier counts once) and -1 -> 99.00;
    M03 vetoed; M04 exempt with 9 stars entered by hand; M05 joined in April (9 months)."""
    sheets = county_sheets(
        n=12,
        item_score=9.5,
        M04={"exempt": "是", "exempt_reason": "年老体弱", "exempt_stars": 9},
        M05={"joined": f"{YEAR}-04"},
    )
    sheets["appraisal"] = ballots(
        "county-10-stars",
        sheets["members"],
        lambda b, m, it: 9.0 if (b == 1 and m == "M01" and it == "I10") else 9.5,
        raters=20,
    )
    sheets["adjustments"] = pd.DataFrame(
        [
            adjustment("M02", "commend.county", dt.date(YEAR, 6, 1)),
            adjustment("M02", "commend.national", dt.date(YEAR, 8, 1)),
            adjustment("M02", "criticism.unit", dt.date(YEAR, 6, 1)),
            adjustment("M02", "commend.national", dt.date(YEAR, 3, 1)),
        ]
    )
    sheets["vetoes"] = pd.DataFrame([veto("M03", "embezzlement")])
    return sheets


@needs_office
def test_spec_edge_cases_recompute_to_hand_computed_figures(maker: BookMaker, tmp_path: Path) -> None:
    result = maker.score("county-10-stars", edge_case_sheets())
    path = write(result, tmp_path)
    table = assert_recomputes(path)
    assert_checks_ok(path, table)
    got = sheet_values(path, "结果", table).set_index("member_id")
    # by hand: item score = mean x 0.8 + appraisal x 0.2; M01's I10 appraisal (19 x 9.5 + 9) / 20 = 9.475
    assert got.loc["M01", "I10_appraisal"] == pytest.approx(9.475, abs=1e-12)
    assert got.loc["M01", "I10_score"] == pytest.approx(9.495, abs=1e-12)
    assert got.loc["M01", "total_raw"] == pytest.approx(94.995, abs=1e-9)
    expected = {
        #      months total  stars grade   rank bonus deduction veto annual_star
        "M01": (12, 95.0, 10, "优秀", 2, 0.0, 0.0, "否", "否"),
        "M02": (12, 99.0, 10, "优秀", 1, 5.0, -1.0, "否", "是"),
        "M03": (12, 95.0, "", "不合格", "", 0.0, 0.0, "是", "否"),
        "M05": (9, 95.0, 10, "优秀", 2, 0.0, 0.0, "否", "否"),
        "M06": (12, 95.0, 10, "优秀", 2, 0.0, 0.0, "否", "否"),
    }
    for mid, (months, total, stars, grade, rank, bonus, deduction, vetoed, star) in expected.items():
        row = got.loc[mid]
        assert (row["months"], row["total"], row["stars"], row["grade"], row["rank"]) == (
            months,
            total,
            stars,
            grade,
            rank,
        ), mid
        assert (row["bonus"], row["deduction"], row["veto"], row["annual_star"]) == (bonus, deduction, vetoed, star), (
            mid
        )
    # the exempt member: no score, his hand-entered stars and the grade they give, no rank or star
    m04 = got.loc["M04"]
    assert (
        m04["exempt"],
        m04["months"],
        m04["total"],
        m04["stars"],
        m04["grade"],
        m04["rank"],
        m04["annual_star"],
    ) == ("是", "", "", 9, "合格", "", "")
    # ten-star ranked members: M01, M02, M05, M06..M12 = 10 -> 年度之星名额 floor(10% x 10) = 1
    params = sheet_values(path, "参数", table).set_index("key")
    assert params.loc["annual_star_candidates", "value"] == 10
    assert params.loc["annual_star_quota", "value"] == 1
    # 加减分: the two equal highest bonuses count once, the earlier (March) one
    adj = sheet_values(path, "加减分", table)
    assert adj["applied_points"].tolist() == [0, 0, -1, 5]
    assert adj["status"].tolist() == ["not_applied", "not_applied", "applied", "applied"]
    assert (
        "低于最高加分" in adj["reason"][0]
        and "与最高加分相同" in adj["reason"][1]
        and adj["reason"][3].startswith("计入")
    )
    # a reader that does not recalculate sees the same figures
    cached = pd.read_excel(path, sheet_name="结果", engine="openpyxl").set_index("党员编号 (member_id)")
    assert cached.loc["M01", "年度总积分 (total)"] == 95.0 and cached.loc["M02", "年度总积分 (total)"] == 99.0


def quarter_star_sheets() -> dict[str, pd.DataFrame]:
    """21 members, M21 exempt: 20 scored, 季度之星 quota floor(5% x 20) = 1. Items 8.0, except
    M01 9.0 all year, M02 9.0 in Q1, M03 10.0 in Q2 but vetoed in May.
    Q1: M01 and M02 tie across the quota line; Q2: M03 highest but vetoed, M01 the star."""

    def item(m: str, month: int, it: str) -> float:
        if m == "M01" or (m == "M02" and month <= 3):
            return 9.0
        if m == "M03" and 4 <= month <= 6:
            return 10.0
        return 8.0

    members = member_rows(
        [f"M{i:02d}" for i in range(1, 22)], M21={"exempt": "是", "exempt_reason": "长期患病", "exempt_stars": 8}
    )
    return {
        "members": members,
        "monthly_scores": monthly_rows("county-10-stars", members, item),
        "appraisal": ballots("county-10-stars", members, lambda b, m, it: 8.0),
        "vetoes": pd.DataFrame([veto("M03", "embezzlement", date=dt.date(YEAR, 5, 20))]),
    }


@needs_office
def test_quarter_star_ties_vetoes_and_exempt_members_recompute(maker: BookMaker, tmp_path: Path) -> None:
    sheets = quarter_star_sheets()
    path_q1 = maker.write("county-10-stars", sheets)
    stars: dict[str, dict[str, Any]] = {}
    for period in ("2025Q1", "2025Q2", "2025"):
        p = parse_period(period)
        book, sch = load_inputs(path_q1, p)
        result = score(book, sch, p)
        path = write(result, tmp_path, f"{period}.xlsx")
        table = assert_recomputes(path)
        assert_checks_ok(path, table)
        quarters = sheet_values(path, "季度汇总", table)
        stars[period] = {
            f"{m}|{q}": s
            for m, q, s in zip(quarters["member_id"], quarters["quarter"], quarters["quarter_star"], strict=True)
        }
        if period != "2025":
            got = sheet_values(path, "结果", table).set_index("member_id")
            engine = result.summary().set_index("member_id")
            for mid in got.index:
                assert got.loc[mid, "quarter_star"] == blank(
                    None if pd.isna(engine.loc[mid, "quarter_star"]) else YES_NO[engine.loc[mid, "quarter_star"]]
                ), (period, mid)
            params = sheet_values(path, "参数", table).set_index("key")
            assert (params.loc["quarter_scored", "value"], params.loc["quarter_star_quota", "value"]) == (20, 1)
            assert got.loc["M21", "quarter_star"] == "" and got.loc["M21", "months"] == ""  # exempt: not scored
        if period == "2025Q1":
            assert (
                got.loc["M01", "quarter_star"],
                got.loc["M02", "quarter_star"],
                got.loc["M01", "quarter_rank"],
                got.loc["M02", "quarter_rank"],
            ) == ("并列待定", "并列待定", 1, 1)
            assert set(got.loc[[f"M{i:02d}" for i in range(3, 21)], "quarter_star"]) == {"否"}
        if period == "2025Q2":
            assert (got.loc["M03", "quarter_rank"], got.loc["M03", "quarter_star"]) == ("", "否")  # vetoed in May
            assert (got.loc["M01", "quarter_rank"], got.loc["M01", "quarter_star"]) == (1, "是")
    year = stars["2025"]
    assert (year["M01|1"], year["M02|1"], year["M01|2"], year["M03|2"], year["M03|1"]) == (
        "并列待定",
        "并列待定",
        "是",
        "否",
        "否",
    )
    assert "M21|1" not in year


@needs_office
def test_quarter_star_needs_the_minimum_of_scored_members(maker: BookMaker, tmp_path: Path) -> None:
    # a copy of county-10-stars with share 0.5: 9 scored members would give 4 stars, but the
    # branch has fewer than min_scored_members (10) and names none; 10 members name 5
    text = (ROOT / "scoring" / "schemes" / "county-10-stars.yaml").read_text(encoding="utf-8")
    text = text.replace("name: county-10-stars", "name: county-half").replace("share: 0.05", "share: 0.5")
    scheme = tmp_path / "county-half.yaml"
    scheme.write_text(text, encoding="utf-8")
    for n, quota in ((9, 0), (10, 5)):
        members = member_rows([f"M{i:02d}" for i in range(1, n + 1)])
        sheets = {
            "members": members,
            "monthly_scores": monthly_rows("county-10-stars", members, lambda m, mo, it: 8.0 + int(m[1:]) / 10),
        }
        result = maker.score(str(scheme), sheets, period="2025Q1")
        path = write(result, tmp_path, f"q{n}.xlsx")
        table = assert_recomputes(path)
        got = sheet_values(path, "结果", table)
        assert (got["quarter_star"] == "是").sum() == quota, n
        assert sheet_values(path, "参数", table).set_index("key").loc["quarter_star_quota", "value"] == quota


@needs_office
def test_show_of_hands_vetoes_and_evidence_decided_by_formulas(maker: BookMaker, tmp_path: Path) -> None:
    # ganzi: a veto applies only with more than half of the members voting for it; a bonus or a
    # deduction without evidence does not count; after the period neither counts
    members = member_rows([f"G{i:02d}" for i in range(1, 13)])
    sheets = {
        "members": members,
        "monthly_scores": monthly_rows("ganzi-base-plus-minus", members, lambda m, mo, it: 20.0),
        "adjustments": pd.DataFrame(
            [
                adjustment("G01", "B1.rescue", dt.date(YEAR, 3, 1)),
                adjustment("G01", "B1.rescue", dt.date(YEAR, 4, 1), evidence=None),
                adjustment("G02", "D3.absence", dt.date(YEAR, 5, 1)),
                adjustment("G02", "D3.absence", dt.date(YEAR, 8, 1)),
            ]
        ),
        "vetoes": pd.DataFrame(
            [
                veto("G03", "law", 6, 5, dt.date(YEAR, 5, 1)),
                veto("G04", "discipline", 7, 4, dt.date(YEAR, 5, 1)),
                veto("G05", "law", 9, 0, dt.date(YEAR, 9, 1)),
            ]
        ),
    }
    path_in = maker.write("ganzi-base-plus-minus", sheets)
    for period, applies, applied in (
        ("2025Q2", ["否", "是", "否"], [True, False, True, False]),
        ("2025", ["否", "是", "是"], [True, False, True, True]),
    ):
        p = parse_period(period)
        book, sch = load_inputs(path_in, p)
        path = write(score(book, sch, p), tmp_path, f"{period}.xlsx")
        table = assert_recomputes(path)
        v = sheet_values(path, "一票否决", table)
        assert v["members_on_date"].tolist() == [12, 12, 12]
        assert v["applies"].tolist() == applies, period
        assert "未过全体党员半数" in v["reason"][0] and v["reason"][1].startswith("否决生效")
        a = sheet_values(path, "加减分", table)
        assert [x != 0 for x in a["applied_points"]] == applied, period
        assert "无佐证" in a["blocked"][1] and a["eligible"][1] == "否"
        if period == "2025Q2":
            assert "晚于本期间" in a["reason"][3] and "晚于本期间" in v["reason"][2]


@needs_office
def test_group_caps_decided_by_formulas(maker: BookMaker, tmp_path: Path) -> None:
    # group-caps (SPEC 3.4): bonuses and deductions each capped per group, in date order
    ids = ["F01", "F02"]
    members = member_rows(ids)
    monthly = pd.DataFrame(
        [
            {
                "member_id": m,
                "month": f"{YEAR}-{mo:02d}",
                "EDU": 20.0,
                "DUTY": 20.0,
                "WORK": 20.0,
                "VOW": 20.0,
                "note": None,
            }
            for m in ids
            for mo in range(1, 13)
        ]
    )
    adjustments = pd.DataFrame(
        [
            adjustment("F01", "edu.paper", dt.date(YEAR, 3, 1)),
            adjustment("F01", "edu.paper", dt.date(YEAR, 2, 1)),  # earlier: counts in full
            adjustment("F01", "work.error", dt.date(YEAR, 4, 1)),
            adjustment("F01", "work.error", dt.date(YEAR, 5, 1)),
            adjustment("F01", "edu.absent", dt.date(YEAR, 6, 1)),
            adjustment("F01", "edu.paper", dt.date(YEAR, 7, 1)),  # the cap is reached
        ]
    )
    result = maker.score(
        str(CUSTOM_SCHEME),
        {"members": members, "monthly_scores": monthly, "adjustments": adjustments},
    )
    path = write(result, tmp_path)
    table = assert_recomputes(path)
    assert_checks_ok(path, table)
    a = sheet_values(path, "加减分", table)
    assert a["applied_points"].tolist() == [2, 3, -3, -2, -2, 0]
    assert ["partly" in r for r in a["reason"]] == [True, False, False, True, False, False]
    assert "已达该项上限" in a["reason"][5] and a["status"][5] == "not_applied"
    got = sheet_values(path, "结果", table).set_index("member_id")
    assert (got.loc["F01", "bonus"], got.loc["F01", "deduction"], got.loc["F01", "total"]) == (5, -7, 78)


@needs_office
def test_a_wrong_figure_is_caught(demo: list[Path], tmp_path: Path) -> None:
    # the workbook states the package's figures; change one monthly cell under them and the
    # spreadsheet's recomputation must disagree for that member
    result = scored(demo[0], "2025")
    target = result.item_scores.index[(result.item_scores["member_id"] == "B001M002")][0]
    result.item_scores.loc[target, "I01"] = result.item_scores.loc[target, "I01"] - 3
    path = write(result, tmp_path)
    table = recomputed(path)
    bad = table[~table["ok"]]
    assert not bad.empty
    assert set(bad["sheet"]) >= {"结果", "核对"}
    verdict_cols, overall = check_columns(path)
    on = bad[bad["sheet"] == "核对"]
    letters = on["cell"].str.extract(r"^([A-Z]+)", expand=False)
    verdicts = on[letters.isin(verdict_cols)]
    assert len(verdicts) > 0 and not (verdicts["spreadsheet"] == "OK").any()  # 核对 shows the difference
    ids = sheet_values(path, "核对")["member_id"]
    flagged = [ids[r - 2] for r in on.loc[letters == overall, "cell"].str.extract(r"(\d+)$", expand=False).astype(int)]
    assert "B001M002" in flagged and len(flagged) < len(ids) / 2  # 全部一致 flags the member
    # other members are flagged only for figures that depend on his: ranks and stars
    check = openpyxl.load_workbook(path)["核对"]
    head = {c.column_letter: key_of(str(c.value)[: -len(" 核对")]) for c in header_cells(check)}
    for cell, letter in zip(verdicts["cell"], letters[letters.isin(verdict_cols)], strict=True):
        if ids[int(re.sub(r"^[A-Z]+", "", cell)) - 2] != "B001M002":
            assert re.fullmatch(r"rank|annual_star|q\d_rank|q\d_quarter_star", head[letter]), head[letter]


# -- what the workbook holds --------------------------------------------------------------------


def test_results_sheet_is_formulas_with_named_weights_and_keys(demo: list[Path], tmp_path: Path) -> None:
    result = scored(demo[0], "2025")
    path = write(result, tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["结果"]
    header = [c.value for c in ws[1]]
    assert "党员编号 (member_id)" in header and "年度总积分 (total)" in header
    formulas = formula_texts(ws)
    assert any("月度权重" in f for f in formulas) and any("测评权重" in f for f in formulas)
    assert not any("0.8" in f or "0.2" in f for f in formulas)  # weights are named cells, not literals
    assert any("'月度评分'" in f for f in formulas)
    # Excel 2010-2016 show #NAME? for MAXIFS / MINIFS (and any other _xlfn. function): none is used
    for sheet in ("结果", "加减分"):
        assert not any("MAXIFS" in f or "MINIFS" in f or "_xlfn." in f for f in formula_texts(wb[sheet]))
    # highest-only: the bonus is the largest points_used over the ELIGIBLE rows of 加减分 (not over
    # picked rows), an array formula with MAX(IF(...)) that gives 0 itself when no row is eligible
    cell = ws.cell(2, header.index("加分 (bonus)") + 1)
    assert isinstance(cell.value, ArrayFormula)
    bonus = cell.value.text
    assert (
        isinstance(bonus, str)
        and "MAX(IF(" in bonus
        and "SUMPRODUCT(" in bonus
        and ")=0,0," in bonus
        and '"是"' in bonus
        and '"bonus"' in bonus
        and "可计入" not in bonus
        and "eligible" not in bonus
    )
    assert any(f.startswith("=ROUND(") for f in formulas) and any("RANK(" in f for f in formulas)
    assert any("LOOKUP(" in f and "分档下限" in f for f in formulas)
    star = ws.cell(2, header.index("年度之星 (annual_star)") + 1)
    assert star.data_type == "f" and isinstance(star.value, str) and "年度之星名额" in star.value
    for name in ("月度权重", "分档等级", "期末月份", "年度之星名额", "排名人数", "季度之星比例", "季度之星最少人数"):
        assert name in wb.defined_names, name
    # 加减分 and 一票否决 decide by formulas; what stays a value says why in a comment
    adj = wb["加减分"]
    adj_head = {key_of(c.value): c for c in header_cells(adj)}
    for key in ("eligible", "best", "applied_points", "status", "reason", "blocked", "month"):
        assert adj.cell(2, adj_head[key].column).data_type == "f", key
    for key in ("rule_name", "points_used", "kind"):
        assert adj.cell(2, adj_head[key].column).data_type != "f" and adj_head[key].comment is not None, key
    vet = wb["一票否决"]
    vet_head = {key_of(c.value): c for c in header_cells(vet)}
    assert vet.cell(2, vet_head["applies"].column).data_type == "f" and vet_head["members_on_date"].comment is not None
    quarters = wb["季度汇总"]
    q_head = {key_of(c.value): c.column for c in header_cells(quarters)}
    for key in ("eligible", "rank", "quota", "quarter_star"):
        assert quarters.cell(2, q_head[key]).data_type == "f", key
    # cached values: what pandas (no recalculation) reads equals the package's summary
    cached = pd.read_excel(path, sheet_name="结果", engine="openpyxl").set_index("党员编号 (member_id)")
    summary = result.summary().set_index("member_id")
    for col, key in (
        ("年度总积分 (total)", "total"),
        ("年度之星 (annual_star)", "annual_star"),
        ("排名 (rank)", "rank"),
    ):
        for mid, value in summary[key].items():
            got = cached[col].loc[str(mid)]  # member ids are text
            assert (pd.isna(value) and pd.isna(got)) or got == YES_NO.get(value, value), (key, mid)


def test_check_sheet_compares_every_figure(demo: list[Path], tmp_path: Path) -> None:
    result = scored(demo[0], "2025")
    path = write(result, tmp_path)
    ws = openpyxl.load_workbook(path)["核对"]
    figures = {str(c.value)[: -len(" 核对")] for c in ws[1] if str(c.value).endswith(" 核对")}
    keys = {key_of(f) for f in figures}
    items = result.items
    expected = {
        "veto",
        "months",
        "base",
        "bonus",
        "deduction",
        "total_raw",
        "total",
        "stars",
        "grade",
        "rank",
        "annual_star",
    }
    expected |= {f"{i}_{k}" for i in items for k in ("mean", "appraisal", "score")}
    expected |= {f"q{q}_{k}" for q in range(1, 5) for k in ("months", "score", "score_rounded", "rank", "quarter_star")}
    expected |= {f"h{h}_{k}" for h in (1, 2) for k in ("months", "score", "score_rounded")}
    assert expected <= keys, sorted(expected - keys)
    # one row per member: the workbook's formula beside the package's value
    assert ws.max_row == len(result.members) + 1
    head = {c.value: c.column for c in header_cells(ws)}
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "B001M002")
    total = ws.cell(row, head["年度总积分 (total) 工作簿"])
    assert (
        isinstance(total.value, str)
        and total.value.startswith("='结果'!")
        and ws.cell(row, head["年度总积分 (total) 程序"]).value
        == result.annual.set_index("member_id").loc["B001M002", "total"]
    )
    xinluo = scored(demo[2], "2025")
    keys = {
        key_of(str(c.value)[: -len(" 核对")])
        for c in openpyxl.load_workbook(write(xinluo, tmp_path, "x.xlsx"))["核对"][1]
        if str(c.value).endswith(" 核对")
    }
    assert {"monthly_mean", "appraisal", "total_raw"} <= keys  # its tiers are the roll-up's (scope: unit)


def ballot_outputs(result: Result, out: Path) -> list[Path]:
    """Every output of a run but the notebook: workbook, summary.csv, 公示.pdf, 积分卡.pdf."""
    from scoring.outputs.publicity import write_cards_pdf, write_publicity_pdf

    out.mkdir(parents=True, exist_ok=True)
    files = [write(result, out), out / "summary.csv"]
    result.summary().to_csv(files[1], index=False, encoding="utf-8")
    if office_checks():
        with kept_libreoffice():
            files += [write_publicity_pdf(result, out, start=dt.date(2026, 1, 9)), write_cards_pdf(result, out)]
    return files


def test_no_ballot_in_the_workbook(maker: BookMaker, tmp_path: Path) -> None:
    # one ballot with a mark no average or sum can produce (7.37) and ballot numbers no other
    # text contains: neither may appear in any cell, file or printed page
    sheets = county_sheets(n=12)
    sheets["appraisal"] = ballots(
        "county-10-stars", sheets["members"], lambda b, m, it: 7.37 if (b == 3 and m == "M01") else 9.5, raters=10
    )
    sheets["appraisal"]["ballot_no"] = sheets["appraisal"]["ballot_no"].str.replace("P", "QZX-")
    result = maker.score("county-10-stars", sheets)
    assert result.book is not None
    assert (result.book.appraisal["I01"] == 7.37).sum() == 1 and (
        result.appraisal.set_index("member_id").loc["M01", "I01_raters"]
    ) == 10
    mark = re.compile(r"(?<![\d.])7\.37(?!\d)")
    files = ballot_outputs(result, tmp_path / "out")
    for f in files:
        if f.suffix == ".xlsx":
            wb = openpyxl.load_workbook(f)
            for ws in wb.worksheets:
                for row in ws.iter_rows():
                    for c in row:
                        v = c.value
                        assert not (isinstance(v, float) and abs(v - 7.37) < 1e-9), f"{ws.title}!{c.coordinate}"
                        assert not (isinstance(v, str) and (mark.search(v) or "QZX" in v)), (
                            f"{ws.title}!{c.coordinate}: {v}"
                        )
                        if c.comment is not None:
                            assert not mark.search(c.comment.text) and "QZX" not in c.comment.text
            cached = openpyxl.load_workbook(f, data_only=True)
            assert not any(
                isinstance(c.value, float) and abs(c.value - 7.37) < 1e-9
                for ws in cached.worksheets
                for row in ws.iter_rows()
                for c in row
            )
            assert "民主测评" in wb.sheetnames
            with zipfile.ZipFile(f) as z:  # nothing hidden in the XML either
                for name in z.namelist():
                    text = z.read(name).decode("utf-8", "replace")
                    assert "QZX" not in text and not mark.search(text), name
        elif f.suffix == ".csv":
            text = f.read_text(encoding="utf-8")
            assert not mark.search(text) and "QZX" not in text
        else:
            assert f.suffix == ".pdf"
            text = subprocess.run(
                ["pdftotext", "-layout", str(f), "-"], capture_output=True, text=True, check=True
            ).stdout
            assert text.strip() and not mark.search(text) and "QZX" not in text, f.name


FORMULA_LOOKING = ['=HYPERLINK("http://x","y")', "+1-2"]


@pytest.mark.parametrize("text", [*FORMULA_LOOKING, "=1+1", "-3", "@SUM(A1)"])
def test_user_text_is_never_a_formula(maker: BookMaker, tmp_path: Path, text: str) -> None:
    # a member's name, the branch's name, an adjustment's evidence and note, a veto's note and an
    # amendment's reason, all text a spreadsheet could take for a formula
    sheets = county_sheets(M01={"name": text})
    sheets["adjustments"] = pd.DataFrame([adjustment("M01", "commend.unit", evidence=text) | {"note": text}])
    sheets["vetoes"] = pd.DataFrame([veto("M03", "embezzlement") | {"note": text}])
    sheets["amendments"] = pd.DataFrame(
        [
            {
                "member_id": "M01",
                "month": f"{YEAR}-03",
                "item": "I02",
                "new_score": 7.0,
                "reason": text,
                "decided_on": dt.date(YEAR, 4, 1),
            }
        ]
    )
    result = maker.score("county-10-stars", sheets)
    result = dataclasses.replace(result, branch_name=text)  # the reader's own checks are not under test
    assert result.members.set_index("member_id").loc["M01", "name"] == text
    assert result.adjustments["evidence"].tolist() == [text] and result.vetoes["note"].tolist() == [text]
    path = write(result, tmp_path)
    wb = openpyxl.load_workbook(path)
    where: dict[str, set[str]] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    assert text not in str(c.value), f"{ws.title}!{c.coordinate}: {c.value}"
                elif c.value == text:
                    assert c.data_type == "s", f"{ws.title}!{c.coordinate} is {c.data_type}"
                    where.setdefault(ws.title, set()).add(key_of(ws.cell(1, c.column).value))
    # each piece of user text is a string cell equal to the literal, on its sheet
    assert "name" in where["结果"] and "name" in where["核对"]
    assert {"evidence", "note"} <= where["加减分"] and "note" in where["一票否决"] and "reason" in where["评分更正"]
    assert "参数" in where and "公示" in where and "积分卡" in where
    if office_checks():
        assert_recomputes(path)  # and LibreOffice keeps it as text too


def test_a_sheet_beyond_excels_row_limit_is_refused_not_truncated(
    maker: BookMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scoring.outputs.excel
    from scoring.exceptions import RunError

    result = maker.score("county-10-stars", county_sheets(n=12))
    monkeypatch.setattr(scoring.outputs.excel.writer, "EXCEL_MAX_ROWS", 100)  # 12 members x 12 months = 144 rows
    with pytest.raises(RunError, match=r"月度评分.*145"):
        write(result, tmp_path)


# -- python -m scoring recompute ------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_folder(demo: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scoring.runs.execute import run_branch

    return run_branch(demo[1], "2025", tmp_path_factory.mktemp("runs"))


def recompute_cli(run: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scoring", "recompute", str(run)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=600,
    )


@needs_office
def test_recompute_command_on_a_run_folder(run_folder: Path) -> None:
    done = recompute_cli(run_folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "全部" in done.stdout and "一致 (all formulas recomputed equal)" in done.stdout
    for sheet in ("结果", "核对", "加减分", "季度汇总"):
        # engine, sheet, formulas and equal
        assert re.search(rf"^\s*LibreOffice\s+{sheet}\s+\d+\s+\d+", done.stdout, re.M), sheet
    found = re.search(r"全部 (\d+) 个公式", done.stdout)
    assert found, done.stdout
    n = int(found.group(1))
    assert n > 100


@needs_office
def test_recompute_command_lists_a_cell_whose_cached_value_was_altered(run_folder: Path, tmp_path: Path) -> None:
    # change the cached value of one formula in the XML (openpyxl would drop every cached value)
    copy = tmp_path / "run"
    shutil.copytree(run_folder, copy)
    for p in copy.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)  # the run folder is sealed read-only
    book = next(copy.glob("*_结果.xlsx"))
    wb = openpyxl.load_workbook(book)
    sheet_index = wb.sheetnames.index("结果") + 1
    head = {key_of(c.value): c.column_letter for c in header_cells(wb["结果"])}
    cell = f"{head['total']}2"
    original = openpyxl.load_workbook(book, data_only=True)["结果"][cell].value
    part = f"xl/worksheets/sheet{sheet_index}.xml"
    altered = tmp_path / "altered.xlsx"
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(altered, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == part:
                text = data.decode("utf-8")
                pattern = re.compile(rf'(<c r="{cell}"[^>]*>(?:(?!</c>).)*?<v>)([^<]*)(</v>)', re.S)
                text, count = pattern.subn(lambda m: m.group(1) + "12.34" + m.group(3), text)
                assert count == 1, "the cell's cached value was not found"
                data = text.encode("utf-8")
            dst.writestr(item, data)
    shutil.move(altered, book)
    assert openpyxl.load_workbook(book, data_only=True)["结果"][cell].value == 12.34 != original
    done = recompute_cli(copy)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "formulas differ" in done.stdout
    listed = [ln for ln in done.stdout.splitlines() if re.match(rf"\s*LibreOffice\s+结果\s+{cell}\s", ln)]
    assert listed and "12.34" in listed[0], done.stdout


@needs_office
def test_scheme_text_stays_text_in_formulas_and_a_vetoed_exempt_member_keeps_his_tier(
    maker: BookMaker, tmp_path: Path
) -> None:
    # a copied scheme (users edit these files) whose veto tier tries to close the formula's string
    # and call HYPERLINK: the tier cell must show that text, literally, after recomputation
    from scoring.rules.scheme import load_scheme

    text = '后进"&HYPERLINK("http://x","y")&"'
    source = load_scheme("xinluo-three-level").path.read_text(encoding="utf-8")
    assert "veto_tier: 后进" in source
    copy = tmp_path / "xinluo-quoted.yaml"
    assert "  scope: unit" in source  # ranked within the branch in this copy, so the branch shows tiers
    edited = source.replace("veto_tier: 后进", "veto_tier: '" + text + "'").replace("  scope: unit", "  scope: branch")
    copy.write_text(edited, encoding="utf-8")
    ids = [f"X{i:02d}" for i in range(1, 13)]
    members = member_rows(ids, X05={"exempt": "是", "exempt_reason": "年老体弱"})
    sheets = {
        "members": members,
        "monthly_scores": monthly_rows(
            "xinluo-three-level", members, lambda m, mo, it: 20.0 if it in ("POL", "DIS", "MOR") else 2.0
        ),
        "appraisal": ballots("xinluo-three-level", members, lambda b, m, c: 90.0),
        "vetoes": pd.DataFrame([veto("X02", "discipline"), veto("X05", "law")]),
    }
    path_in = maker.write(str(copy), sheets)
    p = parse_period("2025")
    book, sch = load_inputs(path_in, p)
    result = score(book, sch, p)
    annual = result.annual.set_index("member_id")
    assert annual.at["X02", "tier"] == text and annual.at["X05", "tier"] == text  # the engine's figure
    assert annual.at["X05", "grade"] == "不合格" and annual.at["X05", "exempt"] == "yes"
    path = write(result, tmp_path)
    ws = openpyxl.load_workbook(path)["结果"]
    formulas = [str(c.value) for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert not any("HYPERLINK(" in f and '""&HYPERLINK(' not in f for f in formulas)
    table = assert_recomputes(path)
    v = sheet_values(path, "结果", table).set_index("member_id")
    assert v.at["X02", "tier"] == text and v.at["X05", "tier"] == text
    assert v.at["X05", "grade"] == "不合格"
    assert_checks_ok(path, table)


def test_formulas_are_stored_as_written_and_a_newer_function_is_still_found(tmp_path: Path) -> None:
    """The workbooks' sheets skip xlsxwriter's rewriting for Excel 365 functions (scoring.outputs.
    excel2010): a formula is stored as written, an array formula without its braces, and a newer
    function that slipped in stays bare, where the Excel 2010 check of the written file finds it."""
    from scoring.outputs.excel2010 import Workbook
    from scoring.outputs.recompute import newer_functions

    path = tmp_path / "f.xlsx"
    wb = Workbook(str(path))
    ws = wb.add_worksheet("表")
    ws.write_formula("A1", '=SUMPRODUCT((B1:B3="是")*C1:C3)', None, 2)
    ws.write_array_formula("A2", '{=MAX(IF(B1:B3="是",C1:C3))}', None, 3)
    ws.write_formula("A3", "=XLOOKUP(1,C1:C3,C1:C3)", None, 1)
    wb.close()
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert '<f>SUMPRODUCT((B1:B3="是")*C1:C3)</f>' in sheet
    assert 't="array" ref="A2">MAX(IF(B1:B3="是",C1:C3))</f>' in sheet
    assert ">XLOOKUP(1,C1:C3,C1:C3)</f>" in sheet and "_xlfn" not in sheet
    assert list(newer_functions(path)["function"]) == ["XLOOKUP"]
