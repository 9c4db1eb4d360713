"""The results workbook: live formulas that a real spreadsheet (LibreOffice) recomputes to the
package's figures, cached values for readers that do not recalculate, user text never a formula."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from conftest import YEAR, BookMaker, adjustment, ballots, county_sheets, veto
from scoring.demo import DEMO_BRANCHES, generate_demo
from scoring.engine import Result, score
from scoring.excel import write_results_workbook
from scoring.inputs import load_inputs
from scoring.periods import parse_period
from scoring.recompute import compare_workbook

needs_office = pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"),
    reason="LibreOffice not installed (make test installs it; in CI this test must run)",
)


def scored(path: Path, period: str) -> Result:
    p = parse_period(period)
    book, sch = load_inputs(path, p)
    return score(book, sch, p)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_demo(tmp_path_factory.mktemp("demo"))


def write(result: Result, folder: Path, name: str = "book.xlsx") -> Path:
    return write_results_workbook(result, folder / name, {"test": "yes"})


def assert_recomputes(path: Path) -> pd.DataFrame:
    table = compare_workbook(path)
    bad = table[~table["ok"]]
    assert bad.empty, bad.head(20).to_string()
    assert (table["sheet"] == "结果").sum() > 0
    return table


@needs_office
@pytest.mark.parametrize(("index", "period"), [(i, "2025") for i in range(len(DEMO_BRANCHES))] + [(0, "2025Q3"), (2, "2025H1"), (3, "2025-05")])
def test_libreoffice_recomputes_every_formula_to_the_package_figure(demo: list[Path], index: int, period: str, tmp_path: Path) -> None:
    table = assert_recomputes(write(scored(demo[index], period), tmp_path))
    if period == "2025":
        assert {"结果", "核对", "月度总分", "季度汇总"} <= set(table["sheet"])
        verdicts = table[(table["sheet"] == "核对") & table["cell"].str.startswith("E")]
        assert len(verdicts) > 0 and (verdicts["spreadsheet"] == "OK").all()


@needs_office
def test_spec_edge_cases_recompute(maker: BookMaker, tmp_path: Path) -> None:
    # 94.995 -> 95.00 ten stars (M01), highest-only bonus (M02), veto (M03), exempt (M04),
    # mid-year joiner (M05), float error just below the half (whole branch via 40 raters on M06)
    sheets = county_sheets(n=12, item_score=9.5, M04={"exempt": "是", "exempt_reason": "年老体弱", "exempt_stars": 9}, M05={"joined": f"{YEAR}-04"})
    sheets["appraisal"] = ballots("county-10-stars", sheets["members"], lambda b, m, it: 9.0 if (b == 1 and m == "M01" and it == "I10") else 9.5, raters=20)
    sheets["adjustments"] = pd.DataFrame([adjustment("M02", "commend.county"), adjustment("M02", "commend.national"), adjustment("M02", "criticism.unit")])
    sheets["vetoes"] = pd.DataFrame([veto("M03", "embezzlement")])
    result = maker.score("county-10-stars", sheets)
    a = result.annual.set_index("member_id")
    assert a.loc["M01", "total"] == 95.0 and a.loc["M01", "stars"] == 10
    path = write(result, tmp_path)
    assert_recomputes(path)
    cached = pd.read_excel(path, sheet_name="结果", engine="openpyxl")  # a reader that does not recalculate
    row = cached.set_index("党员编号 (member_id)").loc["M01"]
    assert row["年度总积分 (total)"] == 95.0


@needs_office
def test_a_wrong_figure_is_caught(demo: list[Path], tmp_path: Path) -> None:
    # the workbook states the package's figures; change one monthly cell under them and the
    # spreadsheet's recomputation must disagree for that member
    result = scored(demo[0], "2025")
    target = result.item_scores.index[(result.item_scores["member_id"] == "B001M002")][0]
    result.item_scores.loc[target, "I01"] = result.item_scores.loc[target, "I01"] - 3
    table = compare_workbook(write(result, tmp_path))
    bad = table[~table["ok"]]
    assert not bad.empty
    assert set(bad["sheet"]) >= {"结果", "核对"}
    verdicts = bad[(bad["sheet"] == "核对") & bad["cell"].str.startswith("E")]
    assert len(verdicts) > 0 and not (verdicts["spreadsheet"] == "OK").any()  # 核对 shows the difference


def test_results_sheet_is_formulas_with_named_weights_and_keys(demo: list[Path], tmp_path: Path) -> None:
    result = scored(demo[0], "2025")
    path = write(result, tmp_path)
    wb = openpyxl.load_workbook(path)
    ws = wb["结果"]
    header = [c.value for c in ws[1]]
    assert "党员编号 (member_id)" in header and "年度总积分 (total)" in header
    formulas = [c.value for row in ws.iter_rows(min_row=2) for c in row if c.data_type == "f"]
    assert any("月度权重" in f for f in formulas) and any("测评权重" in f for f in formulas)
    assert not any("0.8" in f or "0.2" in f for f in formulas)  # weights are named cells, not literals
    assert any("'月度评分'" in f for f in formulas) and any("MAXIFS" in f for f in formulas)
    # Excel shows #NAME? for a 2019 function stored without its _xlfn. prefix
    assert all("_xlfn.MAXIFS(" in f for f in formulas if "MAXIFS(" in f)
    assert all("_xlfn.MINIFS(" in f for f in formulas if "MINIFS(" in f)
    assert any(f.startswith("=ROUND(") for f in formulas) and any("RANK(" in f for f in formulas)
    assert any("LOOKUP(" in f and "分档下限" in f for f in formulas)
    assert "月度权重" in wb.defined_names and "分档等级" in wb.defined_names
    # cached values: what pandas (no recalculation) reads equals the package's summary
    cached = pd.read_excel(path, sheet_name="结果", engine="openpyxl").set_index("党员编号 (member_id)")
    summary = result.summary().set_index("member_id")
    for mid, total in summary["total"].items():
        got = cached.loc[mid, "年度总积分 (total)"]
        assert (pd.isna(total) and pd.isna(got)) or got == total


def test_no_ballot_in_the_workbook(demo: list[Path], tmp_path: Path) -> None:
    path = write(scored(demo[0], "2025"), tmp_path)
    wb = openpyxl.load_workbook(path)
    values = {str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None}
    assert not any(v.startswith("P0") for v in values)
    assert "民主测评" in wb.sheetnames


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x","y")', "+1-2", "=1+1", "-3"])
def test_user_text_is_never_a_formula(maker: BookMaker, tmp_path: Path, name: str) -> None:
    sheets = county_sheets(M01={"name": name})
    result = maker.score("county-10-stars", sheets)
    assert result.members.set_index("member_id").loc["M01", "name"] == name
    path = write(result, tmp_path)
    wb = openpyxl.load_workbook(path)
    seen = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if c.data_type == "f":
                    assert "HYPERLINK" not in str(c.value) and "1+1" not in str(c.value)
                elif c.value == name:
                    seen += 1
    assert seen >= 1
    if shutil.which("soffice"):
        assert_recomputes(path)  # and LibreOffice keeps it as text too


def test_a_sheet_beyond_excels_row_limit_is_refused_not_truncated(maker: BookMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import scoring.excel
    from scoring.exceptions import RunError

    result = maker.score("county-10-stars", county_sheets(n=12))
    monkeypatch.setattr(scoring.excel, "EXCEL_MAX_ROWS", 100)  # 12 members x 12 months = 144 rows
    with pytest.raises(RunError, match="月度评分.*145"):
        write(result, tmp_path)
