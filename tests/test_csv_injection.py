"""No CSV the project writes carries a live formula (CSV injection, OWASP), and every reader gets
the exact text back: summary.csv, the roll-up's unit_summary.csv, the batch's status and error CSVs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import county_sheets

from scoring.inputs.demo import write_input_workbook
from scoring.outputs.csvfile import guard, read_csv_text, unguard, write_csv
from scoring.rules.scheme import load_scheme
from scoring.runs.execute import run_branch
from scoring.runs.review import diff, verify

TEXTS = [
    '=HYPERLINK("http://x","y")',
    "+1-2",
    "-3",
    "@SUM(A1)",
    "\tindented",
    "\rreturn",
    "'=already quoted",
    "''=twice",
    "'plain quote",
    "王 =x",
    "",
]


def test_formula_looking_text_is_quoted_and_read_back_exactly(tmp_path: Path) -> None:
    table = pd.DataFrame({"name": TEXTS, "points": [-1.5] * len(TEXTS)})
    path = write_csv(table, tmp_path / "t.csv")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    # by hand: a text starting with = + - @ tab or CR, or a quote before one, gets one more quote
    assert raw["name"].tolist() == [
        '\'=HYPERLINK("http://x","y")',
        "'+1-2",
        "'-3",
        "'@SUM(A1)",
        "'\tindented",
        "'\rreturn",
        "''=already quoted",
        "'''=twice",
        "'plain quote",
        "王 =x",
        "",
    ]
    assert set(raw["points"]) == {"-1.5"}  # a number is a number: never quoted
    assert read_csv_text(path)["name"].tolist() == TEXTS
    assert [unguard(str(guard(t))) for t in TEXTS] == TEXTS


@pytest.mark.skipif(shutil.which("soffice") is None and not os.environ.get("CI"), reason="LibreOffice missing")
def test_a_spreadsheet_opening_summary_csv_sees_text_not_formulas(tmp_path: Path) -> None:
    data = tmp_path / "data"
    members = county_sheets(n=6)
    names = ['=HYPERLINK("http://evil","点我")', "-王五", "+1-2"]
    members["members"].loc[:2, "name"] = names
    sch = load_scheme("county-10-stars").scheme
    info = {"branch_id": "C001", "branch_name": "注入测试支部", "scheme": "county-10-stars", "year": 2025}
    book = write_input_workbook(data / "C001.xlsx", info, members, sch)
    run = run_branch(book, "2025Q1", tmp_path / "runs")
    text = (run / "summary.csv").read_text(encoding="utf-8")
    assert '\'=HYPERLINK(""http://evil"",""点我"")' in text and ",'-王五," in text and ",'+1-2," in text
    # LibreOffice opens the CSV as a spreadsheet would: no cell is a formula
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "xlsx", "--outdir", str(tmp_path / "lo"), str(run / "summary.csv")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    ws = openpyxl.load_workbook(tmp_path / "lo" / "summary.xlsx").active
    assert ws is not None
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert any(isinstance(c.value, str) and "HYPERLINK" in c.value for c in cells)
    # and the package reads every name back exactly: verify re-scores and matches, diff is empty
    assert (
        read_csv_text(run / "summary.csv").set_index("member_id").loc[["M01", "M02", "M03"], "name"].tolist() == names
    )
    v = verify(run)
    assert v.ok, v.report()
    assert diff(run, run).figures.empty
