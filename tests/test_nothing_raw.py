"""Nothing raw where a person reads (SPEC 9): no nan, NaN, None, <NA> or NaT, no English yes/no,
no absolute path of the machine, in any workbook, PDF or executed notebook of a demo run.

One run per built-in scheme for a year and a quarter (the run folders reviewers receive), and
the unit roll-up of each period; ``summary.csv`` and ``unit_summary.csv`` keep their keys
(yes/no/tie) and are not read here, nor is ``manifest.json`` (it records where things were)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from test_print_ready import columns

from scoring.inputs.demo import generate_demo
from scoring.runs.execute import run_branch, run_rollup

needs_office = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("soffice", "pdftotext")) and not os.environ.get("CI"),
    reason="LibreOffice or poppler-utils not installed (make test installs them; in CI this test must run)",
)
BRANCHES = [0, 2, 3]  # B001 county-10-stars, B003 xinluo-three-level, B004 ganzi-base-plus-minus
PERIODS = ["2025", "2025Q4"]
RAW = re.compile(r"(?<![A-Za-z0-9_])(nan|NaN|None|NaT|<NA>|&lt;NA&gt;)(?![A-Za-z0-9_])")
FLAGS = {"yes", "no", "tie", "True", "False"}  # a whole cell's text; 是/否/并列待定 instead
HTML_FLAG = re.compile(r"<td>\s*(yes|no|tie|True|False)\s*</td>")
PDF_FLAG = re.compile(r"(?<![A-Za-z])(yes|no|tie|True|False)(?![A-Za-z])")


def absolute_paths(*roots: Path) -> re.Pattern[str]:
    """Any absolute path of this machine: the test's folders, the interpreter's, home folders."""
    places = {str(r) for r in roots} | {sys.prefix, str(Path(sys.prefix).parent), "/root", "/home/", "/work/", "/tmp/"}
    return re.compile("|".join(re.escape(p) for p in sorted(places, key=len, reverse=True)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUT with a year and a quarter run of one branch per scheme, and the roll-up of each period."""
    root = tmp_path_factory.mktemp("raw")
    demo = generate_demo(root / "inputs")
    out = root / "runs"
    for period in PERIODS:
        folders = {}
        for i in BRANCHES:
            folder = run_branch(demo[i], period, out)
            folders[folder.parent.name] = folder
        run_rollup(folders, period, out)
    return out


def workbook_findings(path: Path, paths: re.Pattern[str]) -> list[str]:
    """Every cell's text (values, and formulas' cached values), comments, headers and footers."""
    found = []
    for cached in (False, True):
        wb = openpyxl.load_workbook(path, data_only=cached)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for c in row:
                    if c.data_type == "f":  # a formula's text is not read; its cached value is
                        continue
                    text = "" if c.value is None else str(c.value)
                    where = f"{path.name}!{ws.title}!{c.coordinate}"
                    if RAW.search(text) or text.strip() in FLAGS or paths.search(text):
                        found.append(f"{where}: {text[:120]!r}")
                    if (
                        not cached
                        and c.comment is not None
                        and (RAW.search(c.comment.text) or paths.search(c.comment.text))
                    ):
                        found.append(f"{where} (comment): {c.comment.text[:120]!r}")
            for hf in (ws.oddHeader, ws.oddFooter) if not cached else ():
                for part in (hf.left, hf.center, hf.right) if hf is not None else ():
                    if part.text and (RAW.search(part.text) or paths.search(part.text)):
                        found.append(f"{path.name}!{ws.title} (header/footer): {part.text!r}")
    return found


def notebook_findings(path: Path, paths: re.Pattern[str]) -> list[str]:
    """What the executed notebook displays: streams, tables (HTML and plain text), errors."""
    found = []
    nb = json.loads(path.read_text(encoding="utf-8"))
    for k, cell in enumerate(nb["cells"]):
        # the cell papermill injects holds the parameters the run was given: relative paths only
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            m = paths.search("".join(cell["source"]))
            if m:
                found.append(f"{path.name} injected parameters: {''.join(cell['source'])[: m.end() + 60]!r}")
        for output in cell.get("outputs", []):
            texts = ["".join(output.get("text", ""))] + [
                "".join(v) for mime, v in output.get("data", {}).items() if mime.startswith("text/")
            ]
            for text in texts:
                for pattern in (RAW, HTML_FLAG, paths):
                    m = pattern.search(text)
                    if m:
                        found.append(f"{path.name} cell {k}: {text[max(0, m.start() - 60) : m.end() + 60]!r}")
    return found


def pdf_findings(path: Path, paths: re.Pattern[str]) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert text.strip(), path
    return [
        f"{path.name}: {text[max(0, m.start() - 60) : m.end() + 60]!r}"
        for pattern in (RAW, PDF_FLAG, paths)
        for m in pattern.finditer(text)
    ]


@needs_office
def test_nothing_raw_in_what_reviewers_receive(runs: Path) -> None:
    paths = absolute_paths(runs.parent, runs.parent.resolve())
    files = sorted(p for p in runs.rglob("*") if p.is_file() and ".archive" not in p.parts)
    kinds = {suffix: [p for p in files if p.suffix == suffix] for suffix in (".xlsx", ".ipynb", ".pdf")}
    # a year and a quarter of three branches (workbook, notebook, 公示.pdf, 积分卡/ a card per member
    # of summary.csv, 通知书/ a notice per 基本合格 or 不合格 member of the year not exempt unless
    # vetoed), two roll-ups (workbook, notebook)
    cards = [p for p in kinds[".pdf"] if p.parent.name == "积分卡"]
    notices = [p for p in kinds[".pdf"] if p.parent.name == "通知书"]
    members = sum(len(pd.read_csv(p / "summary.csv")) for p in runs.glob("2025*/B*/v001"))
    graded = [pd.read_csv(p / "summary.csv", dtype=str) for p in runs.glob("2025/B*/v001")]
    cases = sum(
        int((g["grade"].isin(["基本合格", "不合格"]) & ((g["exempt"] == "no") | (g["veto"] == "yes"))).sum())
        for g in graded
    )
    pdfs = len(kinds[".pdf"]) - len(cards) - len(notices)
    assert (len(kinds[".xlsx"]), len(kinds[".ipynb"]), pdfs) == (8, 8, 6), files
    assert len(cards) == members > 0
    assert len(notices) == cases > 0
    found = []
    for path in kinds[".xlsx"]:
        found += workbook_findings(path, paths)
    for path in kinds[".ipynb"]:
        found += notebook_findings(path, paths)
    for path in kinds[".pdf"]:
        found += pdf_findings(path, paths)
    assert not found, f"{len(found)} raw values or paths:\n" + "\n".join(found[:40])


@needs_office
def test_exempt_members_and_flags_read_in_chinese(runs: Path) -> None:
    """B003 and B004 have exempt members (no stars, so no grade: a blank, not nan); veto, exempt
    and 年度之星 are 是/否 on 结果, and 核对 compares them as such."""
    for branch in ("B001", "B003", "B004"):
        (book,) = (runs / "2025" / branch / "v001").glob("*_结果.xlsx")
        ws = openpyxl.load_workbook(book, data_only=True)["结果"]
        head = columns(ws)
        exempt = [r for r in range(2, ws.max_row + 1) if ws.cell(r, head["不列入积分 (exempt)"]).value == "是"]
        assert exempt, branch
        for r in exempt:
            assert ws.cell(r, head["等级 (grade)"]).value in {None, "合格", "优秀", "基本合格", "不合格"}, branch
        for key in ("一票否决 (veto)", "不列入积分 (exempt)"):
            assert {ws.cell(r, head[key]).value for r in range(2, ws.max_row + 1)} <= {"是", "否"}, (branch, key)
        if "年度之星 (annual_star)" in head:
            values = {ws.cell(r, head["年度之星 (annual_star)"]).value for r in range(2, ws.max_row + 1)}
            assert values <= {"是", "否", "并列待定", None}, values
        check = openpyxl.load_workbook(book, data_only=True)["核对"]
        assert {check.cell(r, 3).value for r in range(2, check.max_row + 1)} == {"OK"}, branch


@needs_office
def test_notebooks_show_where_not_the_machine(runs: Path) -> None:
    nb = json.loads((runs / "2025" / "B001" / "v001" / "B001_2025.ipynb").read_text(encoding="utf-8"))
    streams = "".join(
        "".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "stream"
    )
    venv = Path(sys.prefix).name
    assert f"解释器 (interpreter): {venv}/bin/python" in streams, streams[:300]
    (params,) = [c for c in nb["cells"] if c["cell_type"] == "code" and "nb.show_parameters(" in "".join(c["source"])]
    shown = json.dumps(params["outputs"], ensure_ascii=False)
    assert "B001_2025.xlsx" in shown and "本次运行的文件夹" in shown
    rollup = (runs / "2025" / "_rollup" / "v001" / "单位汇总_2025.ipynb").read_text(encoding="utf-8")
    assert "2025/B001/v001" in rollup
