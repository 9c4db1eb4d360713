"""不体现积分 (SPEC 3.2): a member vetoed under a no-score scheme (xinluo-three-level) has no score
figure in any output: not in summary.csv, not on any sheet of the results workbook (结果, 季度汇总,
半年汇总, 公示, 积分卡), not in 公示.pdf, not in the executed notebook's result tables, the trace or
the explorer's card. Only the months counted, the grade and the veto (with its condition) show.
The demo's B003 has such a member: a veto dated 2025-11-05, so it reaches Q4 and H2 but not Q3.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from scoring.inputs.demo import DEMO_BRANCHES, generate_demo
from scoring.runs.execute import run_branch
from scoring.views.explorer import card_html, score_workbook
from scoring.views.trace import trace

BRANCH = next(i for i, b in enumerate(DEMO_BRANCHES) if b.scheme == "xinluo-three-level")
FIGURES = ("base", "bonus", "deduction", "total", "rank", "quarter_score", "quarter_rank", "half_score", "q4_score")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("noscore")
    path = generate_demo(folder / "demo", branches=[DEMO_BRANCHES[BRANCH]])[0]
    return {p: run_branch(path, p, folder / "runs") for p in ("2025", "2025Q4", "2025H2")}


def vetoed_member(run: Path) -> tuple[str, str]:
    with open(run / "summary.csv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["veto"] == "yes"]
    assert len(rows) == 1, rows
    return rows[0]["member_id"], rows[0]["name"]


def test_summary_has_no_figure_of_the_vetoed_member(runs: dict[str, Path]) -> None:
    for period, run in runs.items():
        mid, _ = vetoed_member(run)
        with open(run / "summary.csv", encoding="utf-8", newline="") as f:
            row = next(r for r in csv.DictReader(f) if r["member_id"] == mid)
        assert all(row[k] == "" for k in FIGURES if k in row), (period, row)
        if period == "2025":
            assert row["grade"] == "不合格" and row["months"] == "12"
        if period == "2025H2":  # Q3 ended before the veto: its score stays
            assert row["q3_score"] != ""


def test_no_sheet_of_the_workbook_shows_a_figure_of_the_vetoed_member(runs: dict[str, Path]) -> None:
    for period, run in runs.items():
        mid, name = vetoed_member(run)
        wb = openpyxl.load_workbook(next(run.glob("*_结果.xlsx")), data_only=True)
        res = wb["结果"]
        header = [str(c.value) for c in res[1]]
        row = next(r for r in res.iter_rows(min_row=2, values_only=True) if r[0] == mid)
        shown = {h: v for h, v in zip(header, row, strict=True) if v not in (None, "")}
        allowed = ("member_id", "name", "exempt", "veto", "months", "grade", "tier", "rank_basis", "annual_star")
        assert all(any(f"({k})" in h for k in allowed) for h in shown), (period, shown)
        for sheet in ("季度汇总", "半年汇总"):
            if sheet not in wb.sheetnames:
                continue
            ws = wb[sheet]
            head = [str(c.value) for c in ws[1]]
            score = next(j for j, h in enumerate(head) if h.endswith("(score)"))
            number = next(j for j, h in enumerate(head) if h.endswith(("(quarter)", "(half)")))
            for r in ws.iter_rows(min_row=2, values_only=True):
                reached = str(r[number]) == ("4" if sheet == "季度汇总" else "2")
                if r[0] == mid and reached:
                    assert r[score] in (None, ""), (period, sheet, r)
        for sheet in ("公示", "积分卡"):
            lines = [
                [v for v in cells if v not in (None, "")]
                for cells in wb[sheet].iter_rows(values_only=True)
                if name in [str(v) for v in cells]
            ]
            assert lines, (period, sheet)
            for line in lines:
                numbers = [v for v in line if isinstance(v, (int, float))]
                assert not numbers, (period, sheet, line)
        # the card's result block (四、年度结果 / 本期结果): labels and words, no figure
        rows = [[v for v in r if v not in (None, "")] for r in wb["积分卡"].iter_rows(values_only=True)]
        start = next(i for i, r in enumerate(rows) if mid in [str(v) for v in r])
        block = next(i for i in range(start, len(rows)) if rows[i] and str(rows[i][0]).endswith("结果"))
        end = next(i for i in range(block, len(rows)) if rows[i] and str(rows[i][0]).startswith("党员本人签字"))
        assert end > block + 1
        for cells in rows[block + 1 : end]:
            assert not [v for v in cells if isinstance(v, (int, float))], (period, cells)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_the_publicity_pdf_shows_no_figure_of_the_vetoed_member(runs: dict[str, Path]) -> None:
    run = runs["2025"]
    mid, _ = vetoed_member(run)
    text = subprocess.run(["pdftotext", "-layout", str(run / "公示.pdf"), "-"], capture_output=True, text=True).stdout
    line = next(line for line in text.splitlines() if mid in line)
    assert "一票否决" in line and not re.search(r"\d+\.\d\d", line), line


def test_notebook_trace_and_explorer_show_no_figure(runs: dict[str, Path]) -> None:
    run = runs["2025"]
    mid, _ = vetoed_member(run)
    nb = json.loads(next(run.glob("*.ipynb")).read_text(encoding="utf-8"))
    html = "".join(
        "".join(o.get("data", {}).get("text/html", ""))
        for cell in nb["cells"]
        for o in cell.get("outputs", [])
        if "结果 (results)" in "".join(cell.get("source", "")) or "show_results" in "".join(cell.get("source", ""))
    )
    for row in re.findall(rf"<tr>(?:(?!</tr>).)*{mid}(?:(?!</tr>).)*</tr>", html, re.S):
        assert not re.search(r">\s*\d+\.\d\d\s*<", row), row
    s = score_workbook(_input(run), "2025")
    t = trace(s.result, mid)
    assert list(t["value"].dropna()) == [12.0], t  # the months counted, nothing else
    card = card_html(s, mid)
    assert "一票否决" in card and not re.search(r">\s*\d+\.\d\d\s*<", card), card


def _input(run: Path) -> Path:
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    return run / str(m["inputs"][0]["archived"])
