"""The unit workbook's template and the demo unit (SPEC 3.9, 支部联评联考).

The template is inspected with openpyxl (sheets, headers, drop-downs, validations, protection),
filled the way an office fills it, cell by cell into unlocked cells, and read back with
``load_unit``; its score rule is evaluated by LibreOffice on cases whose answer is known. The demo
unit's two workbooks are read for a year, a quarter and months, with the draft month unapproved.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from scoring.exceptions import InputError, ScoringError
from scoring.inputs.reading import header_text
from scoring.inputs.templates import LISTS_SHEET, README_SHEET, TEMPLATES_DIR, write_template
from scoring.inputs.unit import UNIT_KEYS, UNIT_SHEETS, is_unit_workbook, load_unit
from scoring.inputs.unit_demo import UNIT_DEMO_BRANCHES, generate_unit_demo
from scoring.inputs.unit_template import BRANCH_IDS_NAME, INDICATOR_NAMES, VALIDATION_LIMIT
from scoring.outputs.recompute import newer_functions
from scoring.rules.engine.pipeline import score_unit
from scoring.rules.periods import parse_period
from scoring.rules.scheme import builtin_schemes, load_scheme

SCHEME = "branch-assessment"
TEMPLATE = TEMPLATES_DIR / f"{SCHEME}.xlsx"
TABLES = [key for key in UNIT_SHEETS if key != "unit"]


def sheet(wb: openpyxl.Workbook, key: str) -> Worksheet:
    return wb[f"{UNIT_SHEETS[key].label} ({key})"]


def letters(ws: Worksheet) -> dict[str, str]:
    """Column key -> letter, from the ``中文 (key)`` headers of row 1."""
    out = {}
    for c in ws[1]:
        m = re.search(r"\(([^()]*)\)$", str(c.value))
        assert m and isinstance(c, Cell), c.value
        out[m.group(1)] = c.column_letter
    return out


def validations(ws: Worksheet) -> dict[str, Any]:
    """Column letter -> the data validation of its data rows."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            m = re.match(r"[A-Z]+", rng.coord)
            assert m, rng.coord
            out[m.group(0)] = dv
    return out


def named_range(wb: openpyxl.Workbook, name: str) -> tuple[str, str, int, str, int]:
    """(sheet, first column, first row, last column, last row) of a defined name's range."""
    m = re.fullmatch(r"'?(.*?)'?!\$([A-Z]+)\$(\d+):\$([A-Z]+)\$(\d+)", wb.defined_names[name].attr_text)
    assert m, wb.defined_names[name].attr_text
    return m.group(1), m.group(2), int(m.group(3)), m.group(4), int(m.group(5))


def list_values(wb: openpyxl.Workbook, formula: str) -> list[str]:
    """What a list validation offers: inline ``"a,b"`` or the filled cells of a defined name's range."""
    if formula.startswith('"'):
        return formula.strip('"').split(",")
    title, a, first, b, last = named_range(wb, formula)
    return [str(c.value) for row in wb[title][f"{a}{first}:{b}{last}"] for c in row if c.value is not None]


def locked(ws: Worksheet, row: int, column: str) -> bool:
    """Locked as Excel sees it: the cell's own style, else its column's."""
    col = openpyxl.utils.column_index_from_string(column)
    if (row, col) in ws._cells:
        return bool(ws._cells[(row, col)].protection.locked)
    dim = ws.column_dimensions.get(column)
    return bool(dim.protection.locked) if dim is not None and dim.style_id else True


# -- the template ---------------------------------------------------------------------------------


def test_committed_template_is_current_byte_for_byte(tmp_path: Path) -> None:
    fresh = write_template(SCHEME, tmp_path)
    assert fresh.name == TEMPLATE.name
    assert TEMPLATE.read_bytes() == fresh.read_bytes(), "templates_xlsx is stale: run `python -m scoring template`"


def test_template_has_the_unit_sheets_with_their_headers() -> None:
    wb = openpyxl.load_workbook(TEMPLATE)
    assert wb.sheetnames == [
        README_SHEET,
        *(f"{spec.label} ({key})" for key, spec in UNIT_SHEETS.items()),
        LISTS_SHEET,
    ]
    assert is_unit_workbook(TEMPLATE)
    for key in TABLES:
        ws = sheet(wb, key)
        assert [c.value for c in ws[1]] == [header_text(c.key, c.label) for c in UNIT_SHEETS[key].columns]
        assert ws.freeze_panes is not None and ws.freeze_panes.endswith("2")
    unit = sheet(wb, "unit")
    assert [unit[f"A{r}"].value for r in range(2, 6)] == [header_text(k, v) for k, v in UNIT_KEYS.items()]
    assert unit["B4"].value == SCHEME and unit["B5"].value is None  # the year is left blank
    assert wb.defined_names["scoring_year"].attr_text == "'单位信息 (unit)'!$B$5"


def test_every_branch_and_indicator_column_is_a_drop_down() -> None:
    wb = openpyxl.load_workbook(TEMPLATE)
    assert named_range(wb, BRANCH_IDS_NAME) == ("党支部名单 (branches)", "A", 2, "A", 201)
    assert named_range(wb, INDICATOR_NAMES["code"]) == ("考评指标 (indicators)", "B", 2, "B", 2001)
    branch_columns = indicator_columns = 0
    for key in TABLES:
        ws = sheet(wb, key)
        dvs = validations(ws)
        for column, letter in letters(ws).items():
            dv = dvs.get(letter)
            if column in ("branch_id", "rater_branch") and key != "branches":
                assert dv is not None and dv.type == "list" and dv.formula1 == BRANCH_IDS_NAME, (key, column)
                branch_columns += 1
            if column == "indicator":
                assert dv is not None and dv.type == "list" and dv.formula1 == INDICATOR_NAMES["code"], key
                indicator_columns += 1
            if dv is not None:
                assert dv.showErrorMessage and dv.errorStyle in (None, "stop") and dv.allow_blank
                assert re.search(r"[\u4e00-\u9fff]", dv.error), (key, column)  # told in Chinese
                assert str(dv.sqref).startswith(f"{letter}2:"), dv.sqref
    assert (branch_columns, indicator_columns) == (5, 3)  # 适用支部, 3 支部编号, 评价支部 + 被评支部
    ind = sheet(wb, "indicators")
    category = validations(ind)[letters(ind)["category"]]
    assert list_values(wb, category.formula1) == [i.name for i in load_scheme(SCHEME).scheme.items]
    # a branch id on the branch list is unique and an id
    br = sheet(wb, "branches")
    dv = validations(br)["A"]
    assert dv.type == "custom" and dv.formula1.startswith("AND(COUNTIF($A$2:$A$201,A2)=1,")


def test_scores_are_checked_against_the_indicator_in_force() -> None:
    wb = openpyxl.load_workbook(TEMPLATE)
    s = load_scheme(SCHEME).scheme
    for key, column, kind in (
        ("self_scores", "score", "self"),
        ("verification", "verified_score", "self"),
        ("mutual_scores", "score", "mutual"),
    ):
        ws = sheet(wb, key)
        at = letters(ws)
        f = validations(ws)[at[column]].formula1
        assert len(f) <= VALIDATION_LIMIT
        assert f.startswith(f"AND(ISNUMBER({at[column]}2),{at[column]}2>=0,")
        # the maximum of the row's indicator in its month's quarter, for its branch (common or its own)
        assert f"(ind_code={at['indicator']}2)" in f and f"(ind_branch={at['branch_id']}2)" in f
        assert f'LEFT({at["month"]}2,4)&"Q"&INT((RIGHT({at["month"]}2,2)+2)/3)' in f
        assert f"(ind_max>={at[column]}2)" in f and f"list_{kind}_category" in f
        assert ("A2<>B2" in f) == (kind == "mutual")  # a branch never rates itself
        assert list_values(wb, f"list_{kind}_category") == [i.name for i in s.items if i.scored_by == kind]
    ind = sheet(wb, "indicators")
    at = letters(ind)
    assert validations(ind)[at["max"]].formula1 == "AND(ISNUMBER(E2),E2>0,E2<=VLOOKUP(C2,list_category_max,2,FALSE))"
    assert list_values(wb, "list_category_max") == [str(x) for i in s.items for x in (i.name, f"{i.max:g}")]
    assert newer_functions(TEMPLATE).empty  # Excel 2010 functions only


def test_headers_locked_inputs_unlocked_everything_protected() -> None:
    wb = openpyxl.load_workbook(TEMPLATE)
    assert wb.security.lockStructure and wb[LISTS_SHEET].sheet_state == "hidden"
    for ws in wb.worksheets:
        assert ws.protection.sheet and ws.protection.password is None, ws.title
    for key in TABLES:
        table = sheet(wb, key)
        for letter in letters(table).values():
            assert locked(table, 1, letter) and not locked(table, 2, letter), table.title
            assert not locked(table, 150, letter), table.title
    unit = sheet(wb, "unit")
    assert [unit[f"B{r}"].protection.locked for r in range(2, 6)] == [False, False, True, False]  # scheme locked


def test_readme_explains_the_sheets_and_the_rules() -> None:
    wb = openpyxl.load_workbook(TEMPLATE)
    text = "\n".join(" ".join(str(v) for v in r if v is not None) for r in wb[README_SHEET].iter_rows(values_only=True))
    s = load_scheme(SCHEME).scheme
    assert s.title in text and s.version in text and s.source in text
    for it in s.items:
        assert f"{it.code} {it.name} {it.max:g}" in text
    for b in s.bands:
        assert f"{b.min:g} {b.label}" in text
    for key, spec in UNIT_SHEETS.items():
        assert f"{spec.label} ({key})" in text
    for rule in (
        "次月月初由联评联考办公室检查验证",  # 自评 + 验证
        "以验证分为准, 自评分保留备查",
        "支部不能评价本支部",  # 互评 by the others
        "各评价支部评分的平均",
        "每个季度的指标都要列出",  # indicators per quarter
        "适用支部 留空的指标适用于全部支部",
        "经党委审定后",
        "未审定",
        "有未审定的月份时年度不能定级",
        "同分同名次",
        "无密码",
    ):
        assert rule in text, rule
    assert "nan" not in text and "None" not in text


def test_a_member_list_has_no_place_in_a_unit_template(tmp_path: Path) -> None:
    members = tmp_path / "m.csv"
    members.write_text("member_id,name\nM1,甲\n", encoding="utf-8")
    with pytest.raises(ScoringError, match="党员名单"):
        write_template(SCHEME, tmp_path, members=members)
    path = write_template(SCHEME, tmp_path, year=2026, branch_id="U07")
    assert path.name == "U07_branch-assessment_2026.xlsx"
    wb = openpyxl.load_workbook(path)
    unit = sheet(wb, "unit")
    assert (unit["B2"].value, unit["B5"].value, unit["B5"].protection.locked) == ("U07", 2026, True)
    month = validations(sheet(wb, "self_scores"))["B"]
    assert month.type == "list" and list_values(wb, month.formula1) == [f"2026-{m:02d}" for m in range(1, 13)]
    with pytest.raises(ScoringError, match="单位编号"):
        write_template(SCHEME, tmp_path, branch_id="U 7")


# -- filling the template ---------------------------------------------------------------------------

BRANCHES = [("B1", "检修工区党支部", "甲"), ("B2", "营销党支部", "乙"), ("B3", "机关党支部", "丙")]
# (quarter, code, category, name, max, branch)
INDICATORS = [
    *((f"2025Q{q}", "BB1", "必备类", "三会一课", 30, "") for q in range(1, 5)),
    ("2025Q1", "JB1", "基本类", "中心工作", 40, ""),
    *((f"2025Q{q}", code, "基本类", "中心工作", 20, "") for q in range(2, 5) for code in ("JB1", "JB2")),
    *((f"2025Q{q}", "PJ1", "评价类", "互评", 20, "") for q in range(1, 5)),
    *((f"2025Q{q}", "CX1", "创新类", "创新项目", 10, "") for q in (1, 2, 4)),
    ("2025Q3", "CX1", "创新类", "创新项目", 10, "B1"),
]


class Filler:
    """Types values into a template copy as an officer does: only into unlocked cells, a listed
    value only where the drop-down offers it."""

    def __init__(self, wb: openpyxl.Workbook) -> None:
        self.wb = wb
        self.next: dict[str, int] = {}

    def row(self, key: str, **values: Any) -> None:
        ws = sheet(self.wb, key)
        r = self.next.get(key, 2)
        self.next[key] = r + 1
        at, dvs = letters(ws), validations(ws)
        for column, value in values.items():
            letter = at[column]
            assert not locked(ws, r, letter), f"{ws.title}!{letter}{r} is locked"
            dv = dvs.get(letter)
            if dv is not None and dv.type == "list" and value != "":
                assert str(value) in list_values(self.wb, dv.formula1), (ws.title, column, value)
            if value != "":
                ws[f"{letter}{r}"] = value


def fill(tmp_path: Path, months: int = 3) -> Path:
    path = tmp_path / "U09_2025.xlsx"
    shutil.copyfile(TEMPLATE, path)
    wb = openpyxl.load_workbook(path)
    unit = sheet(wb, "unit")
    for ref, value in (("B2", "U09"), ("B3", "填表测试党委"), ("B5", 2025)):
        assert not unit[ref].protection.locked
        unit[ref] = value
    f = Filler(wb)
    for bid, name, secretary in BRANCHES:
        f.row("branches", branch_id=bid, branch_name=name, secretary=secretary)
    for quarter, code, category, name, mx, branch in INDICATORS:
        f.row("indicators", quarter=quarter, code=code, category=category, name=name, max=mx, branch_id=branch)
    ids = [b[0] for b in BRANCHES]
    for m in range(1, months + 1):
        month = f"2025-{m:02d}"
        for k, bid in enumerate(ids):
            for code, mark in (("BB1", 28 - k), ("JB1", 35 + k), ("CX1", 8)):
                f.row("self_scores", branch_id=bid, month=month, indicator=code, score=mark, evidence="台账")
            for rater in ids:
                if rater != bid:
                    f.row("mutual_scores", rater_branch=rater, branch_id=bid, month=month, indicator="PJ1", score=17)
        f.row("approvals", month=month, approved_by="党委会", approved_on=dt.date(2025, m + 1, 5))
    f.row(
        "verification",
        branch_id="B2",
        month="2025-02",
        indicator="JB1",
        verified_score=33,
        reason="记录不全",
        verified_by="联评联考办公室 丁",
    )
    wb.save(path)
    return path


def test_a_filled_copy_of_the_template_loads(tmp_path: Path) -> None:
    path = fill(tmp_path)
    book, loaded = load_unit(path, parse_period("2025Q1"))
    assert loaded.name == SCHEME and (book.unit_id, book.unit_name, book.year) == ("U09", "填表测试党委", 2025)
    assert book.branches["branch_id"].tolist() == ["B1", "B2", "B3"]
    assert len(book.indicators) == len(INDICATORS) and len(book.self_scores) == 27 and len(book.mutual_scores) == 18
    assert book.approved_months == {1, 2, 3} and len(book.verification) == 1
    s = score_unit(book, loaded, parse_period("2025-02")).summary().set_index("branch_id")
    # B2 in February: 27 + 33 (verified, not 36) + 17 + 8
    assert s.loc["B2", "score"] == 85 and set(s["approved"]) == {"yes"}


needs_office = pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"),
    reason="LibreOffice not installed (make test installs it; in CI this test must run)",
)


@needs_office
def test_libreoffice_evaluates_the_score_rules(tmp_path: Path) -> None:
    """Each validation formula, moved to its row, computed in a cell by LibreOffice: a score within
    the maximum of the indicator in force for the branch that quarter passes, anything else not."""
    from scoring.outputs.office import convert

    wb = openpyxl.load_workbook(fill(tmp_path, months=0))
    own, mutual = sheet(wb, "self_scores"), sheet(wb, "mutual_scores")
    # (branch, month, indicator, score, accepted)
    self_cases: list[tuple[str, str, str, float, bool]] = [
        ("B1", "2025-02", "JB1", 40, True),  # 基本类 40 in the first quarter
        ("B1", "2025-05", "JB1", 21, False),  # split into two of 20 from the second
        ("B1", "2025-05", "JB2", 20, True),
        ("B1", "2025-02", "JB2", 1, False),  # not in force in the first quarter
        ("B1", "2025-08", "CX1", 10, True),  # B1's own 创新类 indicator in the third quarter
        ("B2", "2025-08", "CX1", 0, False),  # ... which B2 does not have
        ("B2", "2025-11", "CX1", 10, True),
        ("B3", "2025-03", "PJ1", 10, False),  # 评价类 is not self-scored
        ("B3", "2025-03", "BB1", -1, False),
        ("B3", "2025-03", "BB1", 30.5, False),
        ("B3", "2025-03", "XX9", 1, False),
        ("B3", "", "BB1", 1, False),  # no month yet
    ]
    mutual_cases: list[tuple[str, str, str, str, float, bool]] = [
        ("B1", "B2", "2025-01", "PJ1", 20, True),
        ("B1", "B2", "2025-01", "PJ1", 20.5, False),
        ("B2", "B2", "2025-01", "PJ1", 15, False),  # a branch never rates itself
        ("B1", "B3", "2025-01", "BB1", 15, False),  # 必备类 is not mutually scored
    ]
    checks = {"self": validations(own)["D"].formula1, "mutual": validations(mutual)["E"].formula1}

    def moved(formula: str, row: int) -> str:
        return "=IFERROR(" + re.sub(r"(?<![A-Za-z_$])([A-F])2(?![0-9])", rf"\g<1>{row}", formula) + ",FALSE)"

    for r, (branch, month, code, score, _) in enumerate(self_cases, start=2):
        typed: list[str | float] = [branch, month, code, score]
        for letter, value in zip("ABCD", typed, strict=True):
            own[f"{letter}{r}"] = None if value == "" else value
        own[f"Z{r}"] = moved(checks["self"], r)
    for r, (rater, branch, month, code, score, _) in enumerate(mutual_cases, start=2):
        typed = [rater, branch, month, code, score]
        for letter, value in zip("ABCDE", typed, strict=True):
            mutual[f"{letter}{r}"] = value
        mutual[f"Z{r}"] = moved(checks["mutual"], r)
    src = tmp_path / "rules.xlsx"
    wb.save(src)
    got = openpyxl.load_workbook(convert(src, tmp_path / "lo", "xlsx"), data_only=True)
    computed = [bool(sheet(got, "self_scores")[f"Z{r}"].value) for r in range(2, 2 + len(self_cases))]
    assert computed == [ok for *_, ok in self_cases]
    computed = [bool(sheet(got, "mutual_scores")[f"Z{r}"].value) for r in range(2, 2 + len(mutual_cases))]
    assert computed == [ok for *_, ok in mutual_cases]


# -- the demo unit -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    paths = generate_unit_demo(tmp_path_factory.mktemp("unit"))
    assert [p.name for p in paths] == ["U01_2025.xlsx", "U01_2026.xlsx"]
    return {2025: paths[0], 2026: paths[1]}


@pytest.mark.parametrize("period", ["2025", "2025Q1", "2025-02", "2025-12"])
def test_demo_2025_loads_and_scores(demo: dict[int, Path], period: str) -> None:
    book, loaded = load_unit(demo[2025], parse_period(period))
    assert book.unit_id == "U01" and loaded.name == SCHEME and book.approved_months == set(range(1, 13))
    s = score_unit(book, loaded, parse_period(period)).summary()
    assert len(s) == len(book.branches) >= 8 and set(s["approved"]) == {"yes"}
    assert s["score"].between(0, 100).all() and s["rank"].min() == 1
    if period == "2025":
        assert s["level"].nunique() >= 2  # the levels tell the branches apart


def test_demo_2025_has_tailored_indicators_and_corrections(demo: dict[int, Path]) -> None:
    book, _ = load_unit(demo[2025], parse_period("2025"))
    ind = book.indicators
    by_quarter = {q: set(zip(g["code"], g["max"], strict=True)) for q, g in ind.groupby("quarter")}
    assert by_quarter[1] != by_quarter[2]  # 基本类 split in two from the second quarter
    assert {("JB1", 40)} <= by_quarter[1] and {("JB1", 20), ("JB2", 20)} <= by_quarter[2]
    own = ind[ind["branch_id"] != ""]
    assert len(own) >= 1 and set(own["category"]) == {"CX"}  # one branch's own 创新类 indicator
    ver = book.verification
    assert len(ver) >= 5 and ver["reason"].str.len().gt(0).all() and ver["verified_by"].str.len().gt(0).all()
    # each verification lowers a self-score that exists
    joined = ver.merge(book.self_scores, on=["branch_id", "month", "indicator"])
    assert len(joined) == len(ver) and (joined["verified_score"] < joined["score"]).all()
    # every other branch rates each branch's 评价类 indicator every month
    n = len(book.branches)
    raters = book.mutual_scores.groupby(["branch_id", "month", "indicator"])["rater_branch"].nunique()
    assert (raters == n - 1).all()
    assert {b.branch_id for b in UNIT_DEMO_BRANCHES} == set(book.branches["branch_id"])


def test_demo_2026_november_is_a_draft(demo: dict[int, Path]) -> None:
    book, loaded = load_unit(demo[2026], parse_period("2026-11"))
    assert book.approved_months == set(range(1, 11))
    s = score_unit(book, loaded, parse_period("2026-11")).summary()
    assert len(s) >= 8 and set(s["approved"]) == {"no"}
    october = score_unit(*load_unit(demo[2026], parse_period("2026-10")), parse_period("2026-10")).summary()
    assert set(october["approved"]) == {"yes"}
    with pytest.raises(InputError) as info:  # the year cannot be graded: November is not approved
        load_unit(demo[2026], parse_period("2026"))
    assert "2026-11 未经党委审定" in str(info.value)


def test_a_true_false_on_the_unit_sheet_is_reported(demo: dict[int, Path], tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(demo[2025])
    sheet(wb, "unit")["B3"] = True  # 单位名称 typed as TRUE
    wb.save(tmp_path / "u.xlsx")
    with pytest.raises(InputError) as info:
        load_unit(tmp_path / "u.xlsx", parse_period("2025"))
    assert "不是单位信息" in str(info.value)


def test_demo_unit_is_the_same_bytes_every_time(demo: dict[int, Path], tmp_path: Path) -> None:
    again = generate_unit_demo(tmp_path)
    assert [p.read_bytes() for p in again] == [demo[2025].read_bytes(), demo[2026].read_bytes()]
    wb = openpyxl.load_workbook(demo[2025])
    assert not [c.coordinate for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_unit_scheme_is_a_builtin_with_a_template() -> None:
    assert SCHEME in builtin_schemes() and TEMPLATE.exists()
