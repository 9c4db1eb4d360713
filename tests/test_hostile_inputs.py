"""Hostile but realistic input workbooks (issue 14; SPEC 4, 7 and 10).

Each kind of bad or odd input is either refused with a located problem (sheet, Excel row, column,
what is wrong, what is allowed), with exit code 2 and nothing written, or, where it can mean one
thing only, read as that and listed in ``InputBook.normalised``. Never a traceback, never a silent
wrong figure.

Workbooks are written as a branch would have them: by ``scoring.inputs.demo.write_input_workbook``
(openpyxl), then edited with openpyxl the way Excel stores the cell (a TRUE cell, an error value, a
formula), with xlsxwriter, or, for the error values openpyxl cannot write (``#SPILL!``, ``#CALC!``
...), by putting the cell into the sheet's XML exactly as Excel 365 saves it.

Expected figures are worked out by hand from SPEC 3.1 (county-10-stars: per item, the monthly mean
x 80% + the appraisal mean x 20%, ten items; bands >= 95 ten stars 优秀, >= 90 nine stars 合格,
>= 80 eight stars 合格, >= 70 seven stars 基本合格).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from conftest import BookMaker, adjustment, county_sheets
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ERROR_CODES

from scoring.cli import main
from scoring.exceptions import LISTED_PROBLEMS, InputError
from scoring.inputs.reading import BRANCH_KEYS, SHEETS, header_text, load_inputs
from scoring.rules.engine import score
from scoring.rules.periods import parse_period
from scoring.rules.scheme import load_scheme

REPO_ROOT = Path(__file__).resolve().parents[1]
COUNTY = "county-10-stars"
ITEMS = [f"I{i:02d}" for i in range(1, 11)]
# error values Excel 365 writes that python-calamine cannot read (it refuses the whole sheet)
NEWER_ERRORS = ["#SPILL!", "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"]
EVERY_ERROR = [*ERROR_CODES, *NEWER_ERRORS, "#EXTERNAL!", "#PYTHON!", "#WHATEVER!"]


# -- writing hostile workbooks ------------------------------------------------------------------


def title(key: str) -> str:
    """The sheet name ``write_input_workbook`` gives an input sheet."""
    return f"{SHEETS[key].label} ({key})"


def ref(df: pd.DataFrame, index: int, column: str) -> str:
    """The Excel reference of ``df``'s row ``index`` (header in row 1) and ``column``."""
    return f"{openpyxl.utils.get_column_letter(list(df.columns).index(column) + 1)}{index + 2}"


def edit(path: Path, edits: dict[tuple[str, str], Any]) -> Path:
    """Set cells as Excel stores them: ``True`` a TRUE cell, ``"#REF!"`` an error value, ``"=4+4"``
    a formula (openpyxl saves no result for it). Keys: (sheet key, A1 reference)."""
    wb = openpyxl.load_workbook(path)
    for (key, cell), value in edits.items():
        ws = wb[title(key)] if key != "branch" else wb[f"{SHEETS['branch'].label} (branch)"]
        ws[cell] = value
        if isinstance(value, str) and value in ERROR_CODES:
            assert ws[cell].data_type == "e"
    wb.save(path)
    return path


def put_xml(path: Path, key: str, cell: str, xml: str, recalc_on_open: bool | None = None) -> Path:
    """Replace one cell in a sheet's XML, e.g. ``<c r="E3" t="e"><v>#SPILL!</v></c>`` as Excel 365
    saves a spilled formula's error; ``recalc_on_open`` sets or drops the workbook's
    ``fullCalcOnLoad`` flag (openpyxl and xlsxwriter set it, Excel and LibreOffice do not)."""
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    wanted = title(key) if key != "branch" else f"{SHEETS['branch'].label} (branch)"
    part = f"xl/worksheets/sheet{names.index(wanted) + 1}.xml"
    out = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == part:
                pattern = rb'<c r="' + cell.encode() + rb'"(?:[^>]*/>|[^>]*>.*?</c>)'
                data, n = re.subn(pattern, xml.encode(), data, count=1, flags=re.S)
                assert n == 1, f"{cell} not in {part}"
            if info.filename == "xl/workbook.xml" and recalc_on_open is not None:
                data = re.sub(rb'\s*fullCalcOnLoad="[^"]*"', b"", data)
                if recalc_on_open:
                    data = data.replace(b"<calcPr ", b'<calcPr fullCalcOnLoad="1" ')
            zout.writestr(info, data)
    path.write_bytes(out.getvalue())
    return path


def failures_of(path: Path, period: str = "2025") -> pd.DataFrame:
    with pytest.raises(InputError) as info:
        load_inputs(path, parse_period(period))
    return info.value.failures


def located(f: pd.DataFrame, sheet: str, row: int, column: str, *words: str) -> pd.Series:
    """The single failure at (sheet, row, column), whose problem has ``words``."""
    at = f[(f["sheet"] == sheet) & (f["column"] == column) & (f["row"].map(lambda r: r == row))]
    assert len(at) == 1, f"expected one failure at {sheet} row {row} column {column}:\n{f.to_string()}"
    rec = at.iloc[0]
    for w in words:
        assert w in str(rec["problem"]), rec.to_dict()
    assert str(rec["allowed"]).strip(), rec.to_dict()
    return rec


def refused_by_cli(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """``run`` exits 2, writes nothing into --out and no traceback; returns what it printed."""
    out = tmp_path / "runs"
    code = main(["run", "--inputs", str(path), "--period", "2025", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert not out.exists() or list(out.iterdir()) == [], list(out.rglob("*"))
    return err


def monthly_row(s: dict[str, pd.DataFrame], member: str, month: str) -> int:
    ms = s["monthly_scores"]
    return int(ms.index[(ms["member_id"] == member) & (ms["month"] == month)][0])


def summary_of(path: Path, period: str = "2025") -> pd.DataFrame:
    p = parse_period(period)
    book, sch = load_inputs(path, p)
    return score(book, sch, p).summary().set_index("member_id")


def published(summ: pd.DataFrame, member: str) -> tuple[str, int, str]:
    """(total as published, 2 decimals; stars; grade) of one member of a summary."""
    row = summ.loc[member]
    return f"{float(str(row['total'])):.2f}", int(str(row["stars"])), str(row["grade"])


# -- error values -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", EVERY_ERROR)
def test_every_error_value_in_a_score_is_located(maker: BookMaker, code: str) -> None:
    s = county_sheets()
    i = monthly_row(s, "M03", "2025-05")
    path = maker.write(COUNTY, s)
    cell = ref(s["monthly_scores"], i, "I03")  # E: member_id A, month B, I01 C, I02 D, I03 E
    assert cell == f"E{i + 2}"
    if code in ERROR_CODES:
        edit(path, {("monthly_scores", cell): code})  # openpyxl stores it as an error cell
    else:
        put_xml(path, "monthly_scores", cell, f'<c r="{cell}" t="e"><f>SEQUENCE(2)</f><v>{code}</v></c>')
    f = failures_of(path)
    rec = located(f, "monthly_scores", i + 2, "I03", "error value", code)
    assert rec["value"] == code and rec["cell"] == f"{title('monthly_scores')}!{cell}"
    assert len(f) == 1, f.to_string()  # not also "score missing" (calamine reads it as blank)


@pytest.mark.parametrize(
    ("sheet", "column", "code"),
    [
        ("appraisal", "I01", "#REF!"),  # issue 14: the rating was dropped, 95.00 became 94.99
        ("adjustments", "points", "#N/A"),  # issue 14: fell back to the catalogue's points
        ("members", "member_id", "#SPILL!"),
        ("members", "joined", "#CALC!"),
        ("monthly_scores", "month", "#VALUE!"),
        ("adjustments", "date", "#DIV/0!"),
        ("vetoes", "votes_for", "#NUM!"),
    ],
)
def test_error_value_in_any_column_read_is_located(maker: BookMaker, sheet: str, column: str, code: str) -> None:
    s = county_sheets()
    s["adjustments"] = pd.DataFrame(
        [adjustment("M01", "commend.county", points=2.0), adjustment("M02", "commend.unit")]
    )
    s["vetoes"] = pd.DataFrame([{"member_id": "M04", "date": dt.date(2025, 10, 1), "condition": "embezzlement"}])
    s["vetoes"]["votes_for"] = 3
    i = 1 if sheet != "vetoes" else 0
    s[sheet] = s[sheet].astype(object)
    s[sheet].loc[i, column] = "x"  # a cell to replace (an empty one is not in the XML)
    path = maker.write(COUNTY, s)
    cell = ref(s[sheet], i, column)
    put_xml(path, sheet, cell, f'<c r="{cell}" t="e"><v>{code}</v></c>')
    f = failures_of(path)
    located(f, sheet, i + 2, column, "error value", code)
    # nothing else about that cell (blank, missing, not a number): the one cause is reported
    assert not ((f["sheet"] == sheet) & (f["row"] == i + 2) & (f["column"] == column)).sum() > 1


def test_spill_error_in_a_column_not_read_does_not_stop_the_sheet(maker: BookMaker) -> None:
    # calamine refuses a whole sheet for #SPILL! anywhere in it; a helper column beside the table
    # (no header, not read) must neither crash the reader nor hide the sheet's scores
    s = county_sheets()
    path = maker.write(COUNTY, s)
    n = len(s["monthly_scores"])
    wb = openpyxl.load_workbook(path)
    wb[title("monthly_scores")]["Q3"] = "placeholder"
    wb.save(path)
    put_xml(path, "monthly_scores", "Q3", '<c r="Q3" t="e"><f>SORT(A2:A9)</f><v>#SPILL!</v></c>')
    book, _ = load_inputs(path, parse_period("2025"))
    assert len(book.monthly) == n


def test_error_value_in_the_branch_sheet_is_located(maker: BookMaker) -> None:
    path = maker.write(COUNTY, county_sheets())
    row = 2 + list(BRANCH_KEYS).index("year")  # header row 1, then branch_id, branch_name, scheme, year
    put_xml(path, "branch", f"B{row}", f'<c r="B{row}" t="e"><v>#NAME?</v></c>')
    f = failures_of(path)
    located(f, "branch", row, "year", "error value", "#NAME?")
    assert len(f) == 1, f.to_string()  # not also "missing branch field"


def test_appraisal_ref_error_refused_and_the_typed_rating_scored_by_hand(maker: BookMaker) -> None:
    # every monthly item 9, every rating 10: per item 9 x 0.8 + 10 x 0.2 = 9.2, ten items = 92.00.
    # One of M01's ten I01 ratings (ballot P05) is #REF!: silently dropping it would leave nine
    # ratings of 10 (92.00); typed as 0 it is (9 x 10 + 0) / 10 = 9 -> 9 x 0.8 ... I01 = 7.2 + 1.8
    # = 9.0, total 91.80 (nine stars, 合格). Refused, never 92.00.
    s = county_sheets(item_score=9.0, rating=10.0)
    ap = s["appraisal"]
    i = int(ap.index[(ap["ballot_no"] == "P05") & (ap["member_id"] == "M01")][0])
    path = maker.write(COUNTY, s, name="ref.xlsx")
    edit(path, {("appraisal", ref(ap, i, "I01")): "#REF!"})
    f = failures_of(path)
    located(f, "appraisal", i + 2, "I01", "#REF!")
    assert len(f) == 1, f.to_string()  # no "too few raters" knock-on either

    typed = {k: v.copy() for k, v in s.items()}
    typed["appraisal"].loc[i, "I01"] = 0.0
    assert published(summary_of(maker.write(COUNTY, typed, name="typed.xlsx")), "M01") == ("91.80", 9, "合格")


def test_adjustment_points_na_refused_not_the_catalogue_points(maker: BookMaker) -> None:
    s = county_sheets()
    s["adjustments"] = pd.DataFrame([adjustment("M02", "commend.national", points=3.0)])
    path = maker.write(COUNTY, s)
    edit(path, {("adjustments", ref(s["adjustments"], 0, "points")): "#N/A"})
    f = failures_of(path)
    located(f, "adjustments", 2, "points", "#N/A")
    assert len(f) == 1, f.to_string()


# -- formulas -----------------------------------------------------------------------------------


def test_formula_without_a_saved_result_is_located(maker: BookMaker) -> None:
    # openpyxl (and any program that does not calculate) saves a formula with no result: calamine
    # reads it as blank; issue 14: =4+4 in a ballot silently dropped the rating
    s = county_sheets()
    ap = s["appraisal"]
    path = maker.write(COUNTY, s)
    edit(path, {("appraisal", ref(ap, 7, "I04")): "=4+4"})
    f = failures_of(path)
    rec = located(f, "appraisal", 9, "I04", "formula", "saved result")
    assert rec["value"] == "=4+4"
    assert "Excel" in rec["allowed"] and "WPS" in rec["allowed"]
    assert len(f) == 1, f.to_string()


def test_formula_saved_with_its_result_by_a_spreadsheet_is_read(maker: BookMaker) -> None:
    # as Excel or LibreOffice save it: the formula and its result, no request to recalculate
    s = county_sheets()
    i = monthly_row(s, "M02", "2025-04")
    cell = ref(s["monthly_scores"], i, "I02")
    path = maker.write(COUNTY, s)
    put_xml(path, "monthly_scores", cell, f'<c r="{cell}"><f>3+4</f><v>7</v></c>', recalc_on_open=False)
    book, _ = load_inputs(path, parse_period("2025"))
    row = book.monthly[(book.monthly["member_id"] == "M02") & (book.monthly["month"] == 4)]
    assert float(row["I02"].iloc[0]) == 7.0


def test_formula_result_a_program_never_calculated_is_located(tmp_path: Path) -> None:
    # xlsxwriter saves 0 as the result of every formula and asks Excel to recalculate on opening:
    # the 0 is not a score anyone gave
    sch = load_scheme(COUNTY).scheme
    s = county_sheets()
    path = tmp_path / "xlsxwriter.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    branch = wb.add_worksheet(f"{SHEETS['branch'].label} (branch)")
    branch.write_row(0, 0, [header_text("key", "项目"), header_text("value", "内容")])
    info = {"branch_id": "T001", "branch_name": "测试支部", "scheme": COUNTY, "year": 2025}
    for r, (k, label) in enumerate(BRANCH_KEYS.items(), start=1):
        branch.write_row(r, 0, [header_text(k, label), info[k]])
    labels = {i.code: header_text(i.code, i.name) for i in sch.items}
    for key, df in s.items():
        ws = wb.add_worksheet(title(key))
        names = {c.key: header_text(c.key, c.label) for c in SHEETS[key].columns} | labels
        ws.write_row(0, 0, [names[c] for c in df.columns])
        for r, row in enumerate(df.itertuples(index=False), start=1):
            for c, v in enumerate(row):
                if v is not None and not (isinstance(v, float) and pd.isna(v)):
                    ws.write(r, c, v)
    i = monthly_row(s, "M05", "2025-09")
    ws = wb.get_worksheet_by_name(title("monthly_scores"))
    ws.write_formula(i + 1, 2, "=4+4")  # I01 of that row
    wb.close()
    f = failures_of(path)
    rec = located(f, "monthly_scores", i + 2, "I01", "saved result", "'0'")
    assert rec["value"].startswith("=4+4")
    assert len(f) == 1, f.to_string()


# -- TRUE / FALSE -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sheet", "column", "value", "words"),
    [
        ("monthly_scores", "I06", True, "not a number"),  # issue 14: counted as 1 point
        ("appraisal", "I02", False, "not a number"),
        ("monthly_scores", "member_id", True, "not text"),
        ("members", "member_type", False, "not text"),
        ("monthly_scores", "month", True, "not a month"),
    ],
)
def test_true_false_where_a_number_text_or_month_belongs(
    maker: BookMaker, sheet: str, column: str, value: bool, words: str
) -> None:
    s = county_sheets()
    path = maker.write(COUNTY, s)
    edit(path, {(sheet, ref(s[sheet], 4, column)): value})
    f = failures_of(path)
    rec = located(f, sheet, 6, column, "TRUE/FALSE", words)
    assert rec["value"] == ("TRUE" if value else "FALSE")
    assert ((f["sheet"] == sheet) & (f["row"] == 6)).sum() == 1, f.to_string()


def test_true_false_in_a_yes_no_column_is_yes_or_no(maker: BookMaker) -> None:
    s = county_sheets()
    path = maker.write(COUNTY, s)
    edit(path, {("members", ref(s["members"], 2, "exempt")): False})
    book, _ = load_inputs(path, parse_period("2025"))
    assert not bool(book.members.set_index("member_id").loc["M03", "exempt"])


# -- sheets -------------------------------------------------------------------------------------


def test_hidden_old_copy_placed_before_the_sheet_is_refused(maker: BookMaker, tmp_path: Path, capsys: Any) -> None:
    # issue 14: a hidden old copy of 月度评分 before monthly_scores was read instead of it
    s = county_sheets()
    path = maker.write(COUNTY, s)
    old = {k: v.copy() for k, v in s.items()}
    old["monthly_scores"][ITEMS] = 1.0
    wb = openpyxl.load_workbook(path)
    copy = wb.copy_worksheet(wb[title("monthly_scores")])
    copy.title = "月度评分"
    for r in range(2, copy.max_row + 1):
        for c in range(3, 13):
            copy.cell(r, c).value = 1.0
    copy.sheet_state = "hidden"
    wb.move_sheet(copy, -(len(wb.sheetnames) - 2))
    wb.save(path)
    assert wb.sheetnames.index("月度评分") < wb.sheetnames.index(title("monthly_scores"))
    f = failures_of(path)
    assert len(f) == 1, f.to_string()
    rec = f.iloc[0]
    assert rec["sheet"] == "monthly_scores" and "'月度评分'" in rec["problem"]
    assert f"'{title('monthly_scores')}'" in rec["problem"] and "hidden" in rec["problem"]
    assert "月度评分_旧" in rec["allowed"]
    err = refused_by_cli(path, tmp_path, capsys)
    assert "月度评分" in err and "none was read" in err


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_hidden_input_sheet_alone_is_refused(maker: BookMaker, state: str) -> None:
    path = maker.write(COUNTY, county_sheets())
    wb = openpyxl.load_workbook(path)
    wb[title("appraisal")].sheet_state = "hidden" if state == "hidden" else "veryHidden"
    wb.save(path)
    f = failures_of(path)
    assert len(f) == 1, f.to_string()
    assert f.iloc[0]["sheet"] == "appraisal" and "hidden" in f.iloc[0]["problem"]
    assert f.iloc[0]["cell"] == title("appraisal")


def test_two_visible_sheets_for_one_input_sheet_name_both(maker: BookMaker) -> None:
    path = maker.write(COUNTY, county_sheets())
    wb = openpyxl.load_workbook(path)
    wb.copy_worksheet(wb[title("members")]).title = "members"
    wb.save(path)
    f = failures_of(path)
    assert len(f) == 1, f.to_string()  # not "unknown member" for every score row
    assert f.iloc[0]["sheet"] == "members"
    assert f"'{title('members')}'" in f.iloc[0]["problem"] and "'members'" in f.iloc[0]["problem"]


# -- empty workbook and knock-on problems ------------------------------------------------------


def test_workbook_with_headers_only_is_an_input_error(maker: BookMaker, tmp_path: Path, capsys: Any) -> None:
    # issue 14: a template with headers only failed inside the notebook (IndexError, exit 1)
    s = {k: v.iloc[0:0] for k, v in county_sheets().items()}
    path = maker.write(COUNTY, s)
    f = failures_of(path)
    located(f, "members", 2, "member_id", "no member")
    assert len(f) == 1, f.to_string()
    err = refused_by_cli(path, tmp_path, capsys)
    assert "no member" in err


def test_blank_template_filled_with_the_branch_only(tmp_path: Path, capsys: Any) -> None:
    from scoring.inputs.templates import write_template

    path = write_template(COUNTY, tmp_path / "tpl", year=2025, branch_id="B001")
    wb = openpyxl.load_workbook(path)
    wb[f"{SHEETS['branch'].label} (branch)"]["B3"] = "空白支部"
    wb.save(path)
    f = failures_of(path)
    located(f, "members", 2, "member_id", "no member")
    assert len(f) == 1, f.to_string()
    refused_by_cli(path, tmp_path, capsys)


@pytest.mark.parametrize(
    ("drop", "sheet", "row", "column"),
    [
        ("sheet:members", "members", "", ""),  # issue 14: 1,151 problems, the cause after ~900
        ("sheet:monthly_scores", "monthly_scores", "", ""),
        ("column:members:member_id", "members", 1, "member_id"),
        ("column:monthly_scores:month", "monthly_scores", 1, "month"),
        ("column:monthly_scores:member_id", "monthly_scores", 1, "member_id"),
        ("column:appraisal:I05", "appraisal", 1, "I05"),
    ],
)
def test_missing_sheet_or_column_is_reported_once(
    maker: BookMaker, drop: str, sheet: str, row: Any, column: str
) -> None:
    s = county_sheets()
    kind, key, *col = drop.split(":")
    if kind == "sheet":
        del s[key]
    else:
        s[key] = s[key].drop(columns=col)
    f = failures_of(maker.write(COUNTY, s))
    assert len(f) == 1, f.to_string()
    rec = f.iloc[0]
    assert (rec["sheet"], rec["column"]) == (sheet, column)
    assert rec["row"] == row


def test_unreadable_month_does_not_also_report_the_month_missing(maker: BookMaker) -> None:
    s = county_sheets()
    i = monthly_row(s, "M07", "2025-08")
    path = maker.write(COUNTY, s)
    edit(path, {("monthly_scores", ref(s["monthly_scores"], i, "month")): "#REF!"})
    f = failures_of(path)
    located(f, "monthly_scores", i + 2, "month", "#REF!")
    assert len(f) == 1, f.to_string()


# -- many problems ------------------------------------------------------------------------------


def _many_bad(maker: BookMaker, n_members: int) -> tuple[Path, int]:
    s = county_sheets(n=n_members)
    s["monthly_scores"]["I03"] = 11.0  # out of range in every row
    s["members"]["member_type"] = "学生"  # not an allowed value
    return maker.write(COUNTY, s, name="many.xlsx"), len(s["monthly_scores"]) + n_members


def test_more_than_50_problems_grouped_with_counts_and_the_whole_table_as_csv(
    maker: BookMaker, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, n = _many_bad(maker, 40)  # 480 score rows + 40 members = 520 problems
    assert n == 520
    import tempfile

    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    out = tmp_path / "runs"
    code = main(["run", "--inputs", str(path), "--period", "2025", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert "input has 520 problem(s)" in err
    blocks = re.findall(r"^(\d+)\. ", err, flags=re.M)
    assert len(blocks) == LISTED_PROBLEMS
    assert "[members] 不是允许的取值 (not an allowed value) — 共 40 处 (count 40)" in err
    assert "[monthly_scores] 超出分值范围 (out of range) — 共 480 处 (count 480)" in err
    m = re.search(r"\(the full table of 520 problem\(s\), CSV\): (.+\.csv)$", err, flags=re.M)
    assert m, err
    table = Path(m.group(1))
    assert table.is_relative_to(tmp_path / "tmp") and not table.is_relative_to(out)
    written = pd.read_csv(table, encoding="utf-8-sig")
    assert len(written) == 520 and list(written.columns) == list(InputError(written).failures.columns)
    # the Python error keeps the whole table
    with pytest.raises(InputError) as info:
        load_inputs(path, parse_period("2025"))
    assert len(info.value.failures) == 520
    assert len(re.findall(r"^\d+\. ", str(info.value), flags=re.M)) == LISTED_PROBLEMS


def test_validate_errors_file(maker: BookMaker, tmp_path: Path, capsys: Any) -> None:
    path, n = _many_bad(maker, 3)
    target = tmp_path / "reports" / "problems.csv"
    assert main(["validate", "--inputs", str(path), "--period", "2025", "--errors", str(target)]) == 2
    err = capsys.readouterr().err
    assert str(target) in err
    assert len(pd.read_csv(target, encoding="utf-8-sig")) == n == 39
    good = maker.write(COUNTY, county_sheets(), name="good.xlsx")
    assert main(["validate", "--inputs", str(good), "--period", "2025", "--errors", str(target)]) == 0
    assert pd.read_csv(target, encoding="utf-8-sig").empty  # the file says: no problem now


def test_thousands_of_bad_rows_print_a_bounded_report(maker: BookMaker, tmp_path: Path) -> None:
    # issue 14: a 200,000-row workbook with every row bad printed 30 MB; here 2,400 + 200 rows
    path, n = _many_bad(maker, 200)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    env["TMPDIR"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "scoring", "validate", "--inputs", str(path), "--period", "2025"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.encode()) < 30_000, len(proc.stderr.encode())
    assert f"input has {n} problem(s)" in proc.stderr


# -- password-protected workbook ---------------------------------------------------------------


def _compound_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE compound file (CFB v3) holding ``streams`` (each padded to 4096 bytes, so all
    live in regular sectors), as Excel's encrypted workbooks are: EncryptionInfo and
    EncryptedPackage."""
    end, free, fat_sect, nostream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    fat = [fat_sect, end]  # sector 0: the FAT, sector 1: the directory
    starts = []
    data = b""
    for body in streams.values():
        body = body.ljust(4096, b"\0")
        n = len(body) // 512
        first = len(fat)
        starts.append((first, len(body)))
        fat += [*range(first + 1, first + n), end]
        data += body
    fat += [free] * (128 - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (
            raw.ljust(64, b"\0")
            + struct.pack("<HBB", len(raw), kind, 1)
            + struct.pack("<III", nostream, right, child)
            + b"\0" * 36
            + struct.pack("<IQ", start, size)
        )

    names = list(streams)
    directory = entry("Root Entry", 5, 1, nostream, end, 0)
    for k, name in enumerate(names):
        directory += entry(name, 2, nostream, k + 2 if k + 1 < len(names) else nostream, *starts[k])
    directory = directory.ljust(512, b"\0")
    header = (
        bytes.fromhex("d0cf11e0a1b11ae1")
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )
    assert len(header) == 512
    return header + struct.pack("<128I", *fat) + directory + data


def test_password_protected_workbook_says_so(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "B001_2025.xlsx"
    path.write_bytes(_compound_file({"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": os.urandom(600)}))
    f = failures_of(path)
    assert len(f) == 1
    rec = f.iloc[0]
    assert "password-protected" in rec["problem"] and "密码" in rec["problem"]
    assert "Encrypt with Password" in rec["allowed"] and "用密码进行加密" in rec["allowed"]
    err = refused_by_cli(path, tmp_path, capsys)
    assert "password-protected" in err and "Cannot detect file format" not in err


@pytest.mark.parametrize("content", [b"", b"member_id,name\nM01,x\n", b"PK\x03\x04broken"], ids=["empty", "csv", "zip"])
def test_a_file_that_is_no_workbook_is_refused_without_traceback(tmp_path: Path, capsys: Any, content: bytes) -> None:
    path = tmp_path / "B001_2025.xlsx"
    path.write_bytes(content)
    f = failures_of(path)
    assert len(f) == 1 and f.iloc[0]["cell"] == path.name
    refused_by_cli(path, tmp_path, capsys)


# -- unambiguous forms are read, and listed ------------------------------------------------------


def test_unambiguous_forms_are_read_and_listed(maker: BookMaker) -> None:
    # county_sheets: every monthly item and rating 8 -> per item 8 x 0.8 + 8 x 0.2 = 8, total 80.00.
    # M01's I01 in 2025-03 typed as full-width ６: I01 = (11 x 8 + 6) / 12 x 0.8 + 8 x 0.2
    # = 7.8333.. x 0.8 + 1.6 = 7.8667; + 9 x 8 = 79.8667 -> 79.87 (seven stars, 基本合格).
    # M02's commend.county (+2, dated by an Excel serial 45809 = 2025-06-01): 82.00 (eight stars).
    s = county_sheets()
    ms = s["monthly_scores"].astype(object)
    ms.loc[monthly_row(s, "M01", "2025-03"), "I01"] = "６"
    ms.loc[monthly_row(s, "M03", "2025-01"), "month"] = "２０２５－０１"
    ms.loc[monthly_row(s, "M03", "2025-02"), "month"] = "2025年2月"
    ms.loc[monthly_row(s, "M04", "2025-06"), "month"] = 45809  # 2025-06-01 as Excel counts days
    ms.loc[monthly_row(s, "M05", "2025-07"), "member_id"] = "\u00a0M05"
    ms.loc[monthly_row(s, "M06", "2025-07"), "member_id"] = "M06\u200b"
    ms.loc[monthly_row(s, "M07", "2025-07"), "I09"] = "８\u00a0"
    s["monthly_scores"] = ms
    s["adjustments"] = pd.DataFrame([adjustment("M02", "commend.county")]).astype(object)
    s["adjustments"].loc[0, "date"] = 45809
    path = maker.write(COUNTY, s, branch={"year": "２０２５年"})
    book, sch = load_inputs(path, parse_period("2025"))
    norm = book.normalised
    by_value = dict(zip(norm["value"], norm.to_dict("records"), strict=True))
    assert by_value["６"]["read_as"] == "6" and "full-width" in by_value["６"]["why"]
    assert by_value["２０２５－０１"]["read_as"] == "2025-01"
    assert by_value["2025年2月"]["read_as"] == "2025-02"
    assert by_value["45809"]["read_as"] in {"2025-06", "2025-06-01"}
    assert {r["column"] for r in norm.to_dict("records") if r["value"] == "45809"} == {"month", "date"}
    assert by_value["[U+00A0]M05"]["read_as"] == "M05"
    assert by_value["M06[U+200B]"]["read_as"] == "M06" and "zero-width" in by_value["M06[U+200B]"]["why"]
    assert by_value["８[U+00A0]"]["read_as"] == "8"
    assert by_value["２０２５年"]["read_as"] == "2025" and by_value["２０２５年"]["sheet"] == "branch"
    assert by_value["６"]["cells"] == f"{title('monthly_scores')}!C{monthly_row(s, 'M01', '2025-03') + 2}"
    shown = book.normalisations()
    assert list(shown.columns)[:2] == ["工作表 sheet", "列 column"] and len(shown) == len(norm)

    p = parse_period("2025")
    summ = score(book, sch, p).summary().set_index("member_id")
    assert published(summ, "M01") == ("79.87", 7, "基本合格")
    assert published(summ, "M02") == ("82.00", 8, "合格")
    for m in ("M03", "M04", "M05", "M06", "M07", "M08"):
        assert published(summ, m) == ("80.00", 8, "合格"), m


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("month", 3, "not a month"),  # March? of which year?
        ("month", 202503, "not a month"),
        ("month", "3/2025", "not a month"),
        ("I02", "7,5", "not a number"),  # 7.5 or 75?
        ("member_id", "M 01", "unknown member"),  # a space inside an id is not around it
    ],
)
def test_ambiguous_forms_stay_located_errors(maker: BookMaker, column: str, value: Any, words: str) -> None:
    s = county_sheets()
    i = monthly_row(s, "M02", "2025-04")
    s["monthly_scores"] = s["monthly_scores"].astype(object)
    s["monthly_scores"].loc[i, column] = value
    f = failures_of(maker.write(COUNTY, s))
    located(f, "monthly_scores", i + 2, column, words)


# -- property: refused with a located problem, or scored as the clean workbook ------------------

FULL_WIDTH = str.maketrans("0123456789-.M", "０１２３４５６７８９－．Ｍ")
Mutation = tuple[str, str, int, str, Any]  # (kind, sheet, row index, column, payload)

COLUMNS: dict[str, list[str]] = {
    "members": ["member_id", "member_type", "exempt"],
    "monthly_scores": ["member_id", "month", *ITEMS[:3]],
    "appraisal": ["ballot_no", "member_id", "I01", "I10"],
}
KINDS = ["error", "formula", "bool", "full_width", "spaces", "month_cn", "serial", "number", "blank", "text"]


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    sheet = draw(st.sampled_from(sorted(COLUMNS)))
    column = draw(st.sampled_from(COLUMNS[sheet]))
    row = draw(st.integers(0, {"members": 3, "monthly_scores": 47, "appraisal": 39}[sheet]))
    kind = draw(st.sampled_from(KINDS))
    payload: Any = None
    if kind == "error":
        payload = draw(st.sampled_from(EVERY_ERROR))
    elif kind == "bool":
        payload = draw(st.booleans())
    elif kind == "number":
        payload = draw(st.sampled_from([-1.0, 0.0, 3.5, 7.0, 10.0, 10.5, 99.0]))
    elif kind == "text":
        payload = draw(st.sampled_from(["九", "N/A", "M99", "—", "2025-13"]))
    return (kind, sheet, row, column, payload)


NO_MEANING = object()  # a cell with no plain meaning: it must be refused where it is


def _mutated_and_clean(s: dict[str, pd.DataFrame], m: Mutation) -> tuple[Any, Any]:
    """(what the hostile cell holds, the plain value a clean workbook would hold instead, or
    NO_MEANING)."""
    kind, sheet, row, column, payload = m
    original = s[sheet].loc[row, column]
    if kind == "bool" and column == "exempt":
        return payload, "是" if payload else "否"  # TRUE/FALSE in a yes/no column means yes/no
    if kind in ("error", "bool"):
        return payload, NO_MEANING
    if kind == "formula":
        return "=1+1", NO_MEANING
    if kind == "full_width":
        text = f"{original:g}" if isinstance(original, float) else str(original)
        return text.translate(FULL_WIDTH), original
    if kind == "spaces":
        text = f"{original:g}" if isinstance(original, float) else str(original)
        return f"\u00a0{text}\u200b", original
    if kind == "month_cn" and column == "month":
        y, mo = str(original).split("-")
        return f"{y}年{int(mo)}月", original
    if kind == "serial" and column == "month":
        y, mo = str(original).split("-")
        return (dt.date(int(y), int(mo), 1) - dt.date(1899, 12, 30)).days, original
    if kind == "number":
        return payload, payload
    if kind == "blank":
        return " \u3000 ", None  # spaces only: a blank cell
    if kind == "text":
        return payload, payload
    return original, original  # a form that does not apply to this column: unchanged


def _result(path: Path) -> pd.DataFrame | InputError:
    p = parse_period("2025")
    try:
        book, sch = load_inputs(path, p)
    except InputError as exc:
        return exc
    return score(book, sch, p).summary()


@settings(max_examples=30, deadline=None, database=None)
@given(m=mutations())
def test_any_mutated_cell_is_refused_where_it_is_or_scored_as_the_clean_workbook(
    tmp_path_factory: pytest.TempPathFactory, m: Mutation
) -> None:
    kind, sheet, row, column, _ = m
    folder = tmp_path_factory.mktemp("mutation")
    maker = BookMaker(folder)
    s = county_sheets(n=4)
    s["monthly_scores"].loc[s["monthly_scores"].index % 5 == 0, "I02"] = 6.5  # not all the same
    hostile, plain = _mutated_and_clean(s, m)
    cell = ref(s[sheet], row, column)

    mutated = {k: v.astype(object) for k, v in s.items()}
    special = kind in ("error", "formula", "bool")
    mutated[sheet].loc[row, column] = "x" if special else hostile  # "x": a cell to replace
    path = maker.write(COUNTY, mutated, name="mutated.xlsx")
    if special:
        if kind == "error" and hostile not in ERROR_CODES:
            put_xml(path, sheet, cell, f'<c r="{cell}" t="e"><v>{hostile}</v></c>')
        else:
            edit(path, {(sheet, cell): hostile})
    got = _result(path)

    if isinstance(got, InputError):  # refused: every problem located (sheet, Excel row, column)
        f = got.failures
        assert f["row"].map(lambda r: isinstance(r, int) and r >= 1).all(), f.to_string()
        assert (f["column"].astype(str) != "").all() and (f["sheet"].astype(str) != "").all(), f.to_string()

    if plain is NO_MEANING:
        assert isinstance(got, InputError), f"{m} was read without a word"
        # the cell itself is named, and nothing else is said about it
        at = got.failures[(got.failures["sheet"] == sheet) & (got.failures["row"] == row + 2)]
        assert (at["column"] == column).sum() == 1, got.failures.to_string()
        return

    clean = {k: v.astype(object) for k, v in s.items()}
    clean[sheet].loc[row, column] = plain
    expected = _result(maker.write(COUNTY, clean, name="clean.xlsx"))
    if isinstance(expected, InputError):
        assert isinstance(got, InputError), f"{m}: the clean workbook is refused, the hostile one read"
    else:
        assert not isinstance(got, InputError), f"{m}: refused, though it means {plain!r}:\n{got}"
        pd.testing.assert_frame_equal(got, expected)
