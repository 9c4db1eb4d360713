"""Every sheet a reviewer may print is set up for A4 (SPEC 9), and prints so: a 30-member branch's
results workbook and the unit roll-up are printed by LibreOffice to PDF and PNG, and every page of
a sheet about members shows the header row and, on each row, the member's id beside his name."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest
from conftest import kept_libreoffice
from openpyxl.worksheet.worksheet import Worksheet

from scoring.inputs.demo import BranchSpec, generate_demo
from scoring.inputs.reading import load_inputs
from scoring.outputs import office
from scoring.outputs.excel import write_results_workbook
from scoring.rules.engine import Result, score
from scoring.rules.periods import parse_period
from scoring.runs.rollup import build, demo_sources, write_rollup_workbook

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("soffice", "pdftotext", "pdftoppm")) and not os.environ.get("CI"),
    reason="LibreOffice or poppler-utils not installed (make test installs them; in CI this test must run)",
)

BRANCH = BranchSpec("B030", "县直机关第三十党支部", "county-10-stars", 30, 0.90)
# sheet -> whether it is about members (their id and name on every page)
RESULT_SHEETS = {
    "结果": True,
    "核对": True,
    "加减分": True,
    "季度汇总": True,
    "半年汇总": True,
    "月度评分": True,
    "月度总分": True,
    "民主测评": True,
    "一票否决": True,
    "脱党核查": True,
    "参数": False,
    "来源": False,
    "说明": False,
}
ROLLUP_SHEETS = {"全单位排名": True, "组织处置": True, "支部对比": False, "名额使用": False, "支部运行": False}
RAW = re.compile(r"(?<![A-Za-z0-9_])(nan|NaN|None|NaT|<NA>)(?![A-Za-z0-9_])")


def columns(ws: Worksheet) -> dict[str, int]:
    """Header text -> column number (1-based) of row 1."""
    return {str(c.value): j for j, c in enumerate(ws[1], start=1)}


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each page (``pdftotext -layout``: a table row stays on one line)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def pages_by_sheet(pdf: Path) -> dict[str, list[tuple[int, str]]]:
    """Pages (number, text) by the sheet named on the left of their page header."""
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for number, page in enumerate(pdf_pages(pdf), start=1):
        first = next((line.split()[0] for line in page.splitlines() if line.strip()), "")
        out[first].append((number, page))
    return out


def render(workbook: Path, out: Path) -> tuple[Path, dict[str, list[tuple[int, str]]]]:
    """The workbook printed to PDF by LibreOffice, and its pages as PNG images beside it."""
    out.mkdir(parents=True, exist_ok=True)
    with kept_libreoffice():
        pdf = office.convert(workbook, out, "pdf")
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(pdf), str(out / "page")], check=True)
    return pdf, pages_by_sheet(pdf)


def assert_members_on_every_page(sheet: str, pages: list[tuple[int, str]], names: dict[str, str]) -> None:
    """Each page repeats the header row, and each member id on it has the member's name beside it."""
    for number, text in pages:
        assert "党员编号" in text, f"{sheet} page {number}: no header row"
        ids = re.findall(r"\b[A-Z]\d{3}M\d{3}\b", text)
        assert ids, f"{sheet} page {number}: no member id\n{text[:500]}"
        for line in text.splitlines():
            for mid in re.findall(r"\b[A-Z]\d{3}M\d{3}\b", line):
                assert names[mid] in line, f"{sheet} page {number}: {mid} without {names[mid]}: {line}"


@pytest.fixture(scope="module")
def branch_book(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    folder = tmp_path_factory.mktemp("print")
    (path,) = generate_demo(folder / "inputs", branches=[BRANCH])
    p = parse_period("2025")
    book, sch = load_inputs(path, p)
    result = score(book, sch, p)
    return result, write_results_workbook(result, folder / "B030_2025_结果.xlsx", {"input_file": path.name})


def test_every_sheet_has_an_a4_page_setup(branch_book: tuple[Result, Path]) -> None:
    _, path = branch_book
    wb = openpyxl.load_workbook(path)
    for sheet, per_member in RESULT_SHEETS.items():
        ws = wb[sheet]
        assert ws.page_setup.paperSize == 9, sheet  # A4
        header, footer = ws.oddHeader, ws.oddFooter
        assert header is not None and footer is not None, sheet
        assert "&A" in (header.left.text or ""), sheet  # the sheet's name on every page
        assert "&P" in (footer.center.text or "") and "&N" in (footer.center.text or ""), sheet
        if sheet != "说明":
            assert ws.print_title_rows == "$1:$1", sheet
        if per_member:
            assert ws.print_title_cols in ("$A:$B", "$A:$C"), sheet
            assert [c.value for c in ws[1]][:2] == ["党员编号 (member_id)", "姓名 (name)"], sheet
        fitted = ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage
        if fitted:
            # one page wide (fitToWidth 1 is the default, which xlsxwriter leaves out), pages tall as needed
            assert ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0, sheet
        else:  # too wide for one page: a fixed scale, pages that start at whole items or figures
            assert ws.page_setup.orientation == "landscape" and ws.page_setup.scale == 70, sheet
            assert ws.col_breaks.count > 0, sheet
    # scores with two decimals; the unrounded total in its own, labelled column
    ws = wb["结果"]
    head = columns(ws)
    assert ws.cell(2, head["年度总积分 (total)"]).number_format == "0.00"
    assert ws.cell(2, head["政治素质年终积分 (I01_score)"]).number_format == "0.00"
    raw = next(c for h, c in head.items() if h.endswith("(total_raw)"))
    assert "未四舍五入" in str(ws.cell(1, raw).value) and ws.cell(2, raw).number_format == "General"
    # a page of 结果 starts at an item's first column, a page of 核对 at a figure's 工作簿 column
    starts = {str(ws.cell(1, b.id + 1).value) for b in ws.col_breaks.brk}
    assert starts and all(re.search(r"\((I\d\d_mean|exempt|base|stars)\)$", h) for h in starts), starts
    check = wb["核对"]
    assert all(str(check.cell(1, b.id + 1).value).endswith(" 工作簿") for b in check.col_breaks.brk)


def test_results_workbook_prints_members_on_every_page(
    branch_book: tuple[Result, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    result, path = branch_book
    out = tmp_path_factory.mktemp("print-pdf")
    pdf, pages = render(path, out)
    names = dict(zip(result.members["member_id"], result.members["name"], strict=True))
    for sheet, per_member in RESULT_SHEETS.items():
        assert pages.get(sheet), f"{sheet} was not printed"
        if per_member:
            assert_members_on_every_page(sheet, pages[sheet], names)
        for number, text in pages[sheet]:
            assert not RAW.search(text), f"{sheet} page {number}: {RAW.search(text)}"
    # 30 members: 结果 on 3 pages (no longer 9 portrait pages of 5 columns), 核对 on 12 (no longer 51)
    counts = {sheet: len(pages[sheet]) for sheet in RESULT_SHEETS}
    assert counts["结果"] <= 4 and counts["核对"] <= 15 and counts["参数"] == 1 and counts["季度汇总"] <= 5, counts
    for number, text in pages["核对"]:
        assert "全部一致" in text, number  # repeated beside the member on every page
    assert len(list(out.glob("page*.png"))) == len(pdf_pages(pdf))
    print(f"PDF and PNG pages of the results workbook: {out}")


def test_a_quarter_prints_its_results_on_one_page_wide(
    branch_book: tuple[Result, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    year, _ = branch_book
    assert year.book is not None
    p = parse_period("2025Q4")
    quarter = score(*load_inputs(year.book.path, p), p)  # the same branch's fourth quarter
    out = tmp_path_factory.mktemp("print-quarter")
    workbook = write_results_workbook(quarter, out / "B030_2025Q4_结果.xlsx", {})
    ws = openpyxl.load_workbook(workbook)["结果"]
    assert ws.sheet_properties.pageSetUpPr is not None and ws.sheet_properties.pageSetUpPr.fitToPage
    head = columns(ws)
    assert ws.cell(2, head["季度积分 (quarter_score)"]).number_format == "0.00"
    _, pages = render(workbook, out / "pdf")
    names = dict(zip(quarter.members["member_id"], quarter.members["name"], strict=True))
    for sheet in ("结果", "核对", "季度汇总", "加减分", "月度总分"):
        assert pages.get(sheet), f"{sheet} was not printed"
        assert_members_on_every_page(sheet, pages[sheet], names)
    assert len(pages["结果"]) == 1 and len(pages["核对"]) <= 6, {k: len(v) for k, v in pages.items()}


def test_rollup_workbook_prints_members_on_every_page(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("print-rollup")
    rollup = build("2025", demo_sources(folder / "demo"))
    path = write_rollup_workbook(rollup, folder / "单位汇总_2025.xlsx", {"unit_rollup_period": "2025"})
    wb = openpyxl.load_workbook(path)
    for sheet in ROLLUP_SHEETS:
        ws = wb[sheet]
        assert ws.page_setup.paperSize == 9 and ws.print_title_rows == "$1:$1", sheet
        header = [str(c.value) for c in ws[1]]
        assert all(re.search(r"\S \([^()]+\)$", h) for h in header), header  # 中文 (key)
    assert wb["全单位排名"].print_title_cols == "$A:$B"
    _, pages = render(path, folder / "pdf")
    names = dict(zip(rollup.unit["member_id"], rollup.unit["name"], strict=True))
    for sheet, per_member in ROLLUP_SHEETS.items():
        assert pages.get(sheet), f"{sheet} was not printed"
        if per_member:
            assert_members_on_every_page(sheet, pages[sheet], names)
        for number, text in pages[sheet]:
            assert not RAW.search(text), f"{sheet} page {number}"
    print(f"PDF and PNG pages of the roll-up workbook: {folder / 'pdf'}")
