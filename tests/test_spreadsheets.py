"""Every workbook the project writes opens in Excel 2010+ and recomputes equal in two engines (SPEC 9).

LibreOffice and Gnumeric (``ssconvert --recalc``) recalculate the results workbook of a generated
branch for every built-in scheme and every period kind, and the unit roll-up; every formula cell
must come back equal to the package's cached value. No written workbook (results, roll-up,
templates, demo inputs) may use a function Excel 2010 lacks.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import xlsxwriter
from conftest import kept_libreoffice
from test_branch_assessment import unit_rows, write_unit
from test_stages import EXPECTED, stage_of

from scoring.exceptions import InputError
from scoring.inputs.demo import DEMO_BRANCHES, generate_demo
from scoring.inputs.reading import load_inputs
from scoring.inputs.templates import TEMPLATES_DIR
from scoring.inputs.unit import load_unit
from scoring.outputs.excel import extreme_where, write_array, write_results_workbook
from scoring.outputs.recompute import ENGINES, compare_workbook, newer_functions, read_cells, recalculate_with
from scoring.rules.engine import score
from scoring.rules.engine.pipeline import score_unit
from scoring.rules.periods import parse_period
from scoring.rules.scheme import SPAN_MONTHS, load_scheme
from scoring.runs.rollup import build, demo_sources, write_rollup_workbook

needs_engines = pytest.mark.skipif(
    (shutil.which("soffice") is None or shutil.which("ssconvert") is None) and not os.environ.get("CI"),
    reason="LibreOffice or Gnumeric not installed (make test installs both; in CI this test must run)",
)
PERIODS = ["2025", "2025H1", "2025Q2", "2025-03"]  # year, half, quarter, month
# one demo branch per built-in scheme
BRANCHES = {spec.scheme: i for i, spec in reversed(list(enumerate(DEMO_BRANCHES)))}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_demo(tmp_path_factory.mktemp("demo"))


def assert_recomputes_equal(path: Path, kind: str | None = None) -> None:
    """Every formula recomputes equal in both engines; for a results workbook (``kind``: the period's
    kind) every sheet belongs to a stage and the stages the period needs are all there."""
    with kept_libreoffice():
        table = compare_workbook(path, ENGINES)
    assert set(table["engine"]) == {"LibreOffice", "Gnumeric"}
    assert len(table) > 0
    bad = table[~table["ok"]]
    assert bad.empty, f"{len(bad)} formula cells differ:\n{bad.head(20).to_string()}"
    if kind is not None:
        stages = {stage_of(sheet, kind) for sheet in table["sheet"]}
        assert EXPECTED[kind] <= stages, stages


@needs_engines
@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("scheme", sorted(BRANCHES))
def test_results_workbook_recomputes_equal_in_both_engines(
    demo: list[Path], scheme: str, period: str, tmp_path: Path
) -> None:
    p = parse_period(period)
    s = load_scheme(scheme).scheme
    if SPAN_MONTHS[p.kind] < s.shortest_months:  # a yearly scheme has no quarters (SPEC 4): refused
        with pytest.raises(InputError, match="shorter than the scheme's cadence"):
            load_inputs(demo[BRANCHES[scheme]], p)
        return
    book, sch = load_inputs(demo[BRANCHES[scheme]], p)
    assert sch.name == scheme
    path = write_results_workbook(score(book, sch, p), tmp_path / "结果.xlsx", {})
    assert newer_functions(path).empty
    kind = p.kind if s.cadence != "none" else None  # no item sheets without item scores
    assert_recomputes_equal(path, kind)


@needs_engines
@pytest.mark.parametrize(("period", "months", "approved"), [("2025", 12, 12), ("2025-02", 2, 1)])
def test_unit_workbook_recomputes_equal_in_both_engines(
    period: str, months: int, approved: int, tmp_path: Path
) -> None:
    """A unit's branch assessment (SPEC 3.9): the indicators' scores, the categories, the months, the
    year, the ranks and the levels are formulas over the self-scores, verifications and 互评 averages."""
    p = parse_period(period)
    unit, sch = load_unit(write_unit(tmp_path / "U01.xlsx", unit_rows(months, approved)), p)
    path = write_results_workbook(score_unit(unit, sch, p), tmp_path / "结果.xlsx", {})
    assert newer_functions(path).empty
    assert_recomputes_equal(path, p.kind)
    cells = read_cells(path)
    with_formulas = {sheet for sheet, got in cells.items() if any(f for f, _ in got.values())}
    assert {"指标得分", "互评平均", "月度评分"} <= with_formulas


@needs_engines
@pytest.mark.parametrize("period", ["2025", "2025Q4"])
def test_rollup_workbook_recomputes_equal_in_both_engines(demo: list[Path], period: str, tmp_path: Path) -> None:
    rollup = build(period, demo_sources(demo[0].parent))
    path = write_rollup_workbook(rollup, tmp_path / "单位汇总.xlsx", {})
    assert newer_functions(path).empty
    assert_recomputes_equal(path)


def test_templates_and_demo_inputs_use_only_excel_2010_functions(demo: list[Path]) -> None:
    written = [*sorted(TEMPLATES_DIR.glob("*.xlsx")), *demo]
    assert len(written) >= 7
    for path in written:
        found = newer_functions(path)
        assert found.empty, f"{path.name}:\n{found.to_string()}"


def test_the_scan_finds_newer_functions_however_they_are_written(tmp_path: Path) -> None:
    path = tmp_path / "newer.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("S")
    ws.write_formula("A1", "=_xlfn.MAXIFS(B1:B3,C1:C3,1)", None, 0)
    ws.write_formula("A2", '=IFS(B1>0,"a",TRUE,"b")', None, "a")
    ws.write_formula("A3", "=COUNTIFS(C1:C3,1)+CONCATENATE(1,2)", None, 12)  # Excel 2007 functions
    ws.data_validation("D1", {"validate": "custom", "value": "=_xlfn.XOR(TRUE,FALSE)"})
    wb.close()
    assert sorted(newer_functions(path)["function"]) == ["IFS", "_xlfn.MAXIFS", "_xlfn.XOR"]


@needs_engines
def test_extreme_where_decides_the_empty_match_itself(tmp_path: Path) -> None:
    """Hand-computed: member M1 has eligible bonuses 2 and 5 and deductions -3 and -1; M2 has
    none eligible; M3 has only negative values marked as bonuses; blanks never count."""
    path = tmp_path / "extremes.xlsx"
    wb = xlsxwriter.Workbook(path)
    data = wb.add_worksheet("D")
    rows = [
        ("M1", "是", 2),
        ("M1", "是", 5),
        ("M1", "否", 9),
        ("M2", "否", 4),
        ("M3", "是", -2),
        ("M3", "是", -7),
        ("M1", "是", -3),
        ("M1", "是", -1),
    ]
    for i, row in enumerate(rows, start=1):
        data.write_row(i, 0, row)
    ws = wb.add_worksheet("R")
    ids, ok, pts = "D!$A$2:$A$9", "D!$B$2:$B$9", "D!$C$2:$C$9"
    cases = {  # cell: (function, member, expected)
        "A1": ("MAX", "M1", 5.0),  # the 9 is not eligible
        "A2": ("MIN", "M1", -3.0),
        "A3": ("MAX", "M2", 0.0),  # nothing eligible: the formula's own 0, not an engine's
        "A4": ("MAX", "M3", -2.0),  # all negative: the largest of them, not 0
        "A5": ("MIN", "M9", 0.0),  # no row at all
    }
    for i, (fn, member, _) in enumerate(cases.values()):
        formula = "=" + extreme_where(fn, pts, [f'{ids}="{member}"', f'{ok}="是"'])
        write_array(ws, i, 0, formula, None, 123456)  # a wrong cached value: only the engines count
    wb.close()
    assert newer_functions(path).empty

    for engine in ENGINES:
        with kept_libreoffice():
            cells = read_cells(recalculate_with(path, engine, tmp_path / engine))["R"]
        got = {ref: cells[ref][1] for ref in cases}
        assert got == {ref: expected for ref, (_, _, expected) in cases.items()}, engine
