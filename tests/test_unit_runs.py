"""支部联评联考 runs (SPEC 3.9): a unit workbook through ``run``, ``validate``, ``approve``, ``verify``,
``diff`` and ``review`` with a branch run's contract (real papermill runs of the unit in
tests/test_branch_assessment.py, whose figures are computed by hand in its docstring)."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import openpyxl
import pytest
from conftest import read_notebook
from test_branch_assessment import Rows, unit_rows, write_unit
from test_nothing_raw import absolute_paths, notebook_findings

from scoring import __version__
from scoring.runs.codeversion import UNIT_NOTEBOOK, code_sha256
from scoring.runs.execute import find_reusable, run_branch
from scoring.runs.review import HIDDEN_MUTUAL, approve, diff, verify
from scoring.runs.subjects import BRANCHES

REPO = Path(__file__).resolve().parents[1]
SUMMARY_COLUMNS = ["branch_id", "branch_name", "score", "rank", "level", "approved"]
# what no executed notebook may show: a 互评 rater (SPEC 3.9)
RATER = re.compile(r"rater_branch|rater(?!s)|评价支部 \(")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scoring", *args], capture_output=True, text=True, cwd=REPO)


def february(b1_rates_b3: int = 16) -> Rows:
    """The unit scored to February, January approved; B1's 互评 mark of B3 in February given."""
    rows = unit_rows(months=2, approved=1)
    for r in rows["mutual_scores"]:
        if r[:4] == ["B1", "B3", "2025-02", "PJ1"]:
            r[4] = b1_rates_b3
    return rows


class UnitRuns(NamedTuple):
    out: Path
    year_input: Path
    month_input: Path
    month: Path  # 2025-02, February not approved
    year: Path  # 2025, tracing B3


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> UnitRuns:
    data = tmp_path_factory.mktemp("inputs")
    out = tmp_path_factory.mktemp("runs")
    month_input = write_unit(data / "U01_2025-02.xlsx", february())
    year_input = write_unit(data / "U01_2025.xlsx", unit_rows())
    month = run_branch(month_input, "2025-02", out)
    year = run_branch(year_input, "2025", out, branch_id="B3")
    return UnitRuns(out, year_input, month_input, month, year)


def summary(run: Path) -> dict[str, dict[str, str]]:
    with open(run / "summary.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return {r["branch_id"]: r for r in rows}


def notebook_outputs(path: Path) -> str:
    """Every output of the executed notebook as text (streams, plain text and HTML)."""
    nb = read_notebook(path, as_version=4)
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            parts.append(o.get("text", ""))
            parts += [str(v) for k, v in o.get("data", {}).items() if k.startswith("text/")]
    return "".join(parts)


def test_a_unit_run_is_sealed_like_a_branch_run(runs: UnitRuns) -> None:
    assert runs.year.relative_to(runs.out).as_posix() == "2025/U01/v001"
    assert runs.month.relative_to(runs.out).as_posix() == "2025-02/U01/v001"
    names = sorted(p.name for p in runs.year.iterdir() if not p.name.startswith("approval-"))
    assert names == ["U01_2025.ipynb", "U01_2025_结果.xlsx", "manifest.json", "summary.csv", "通报.pdf"]
    for p in runs.year.iterdir():
        assert not p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), p
    assert not list(runs.out.glob(".staging-*"))
    # the unit workbook holds who rated whom: it is archived outside the run folder, never inside;
    # the results workbook there has the 互评 averages and their raters' number only
    assert [p.name for p in runs.year.rglob("*.xlsx")] == ["U01_2025_结果.xlsx"]
    results = openpyxl.load_workbook(runs.year / "U01_2025_结果.xlsx", read_only=True)
    headers = {str(c) for ws in results.worksheets for row in ws.iter_rows(max_row=1, values_only=True) for c in row}
    assert "评价支部数 (raters)" in headers and not any("rater_branch" in h or "评价支部 (" in h for h in headers)


def test_manifest_records_the_unit_its_inputs_and_every_output(runs: UnitRuns) -> None:
    m = json.loads((runs.year / "manifest.json").read_text(encoding="utf-8"))
    assert (m["status"], m["subject"], m["unit_id"], m["unit_name"], m["period"]) == (
        "draft",
        "branch",
        "U01",
        "示范供电局党委",
        "2025",
    )
    assert "branch_id" not in m  # the run folder is named by the unit; its subjects are branches
    (given,) = m["inputs"]
    assert given["file"] == "U01_2025.xlsx" and given["sha256"] == sha(runs.year_input)
    assert sha((runs.year / given["archived"]).resolve()) == given["sha256"]
    scheme_file = REPO / "scoring" / "schemes" / "branch-assessment.yaml"
    assert (m["scheme"]["name"], m["scheme"]["sha256"]) == ("branch-assessment", sha(scheme_file))
    assert sha((runs.year / m["scheme"]["archived"]).resolve()) == sha(scheme_file)
    assert m["package"]["version"] == __version__
    assert m["package"]["code_sha256"] == code_sha256(UNIT_NOTEBOOK)
    assert Path(m["kernel"]["interpreter"]).exists() and m["environment"]["sha256"]
    assert m["parameters"] == {
        "inputs_path": str(runs.year_input.resolve()),
        "period": "2025",
        "branch_id": "B3",
        "scheme": "",
    }
    assert m["started_at"] <= m["finished_at"]
    outputs = {o["file"]: o for o in m["outputs"]}
    assert set(outputs) == {"U01_2025.ipynb", "U01_2025_结果.xlsx", "summary.csv", "通报.pdf"}
    for name, o in outputs.items():
        assert o["sha256"] == sha(runs.year / name) and o["bytes"] == (runs.year / name).stat().st_size


def test_summary_csv_holds_the_hand_computed_figures(runs: UnitRuns) -> None:
    with open(runs.year / "summary.csv", encoding="utf-8", newline="") as f:
        assert next(csv.reader(f)) == SUMMARY_COLUMNS
    year = summary(runs.year)
    assert {b: float(r["score"]) for b, r in year.items()} == {"B1": 91.88, "B2": 80.13, "B3": 83.5}
    assert {b: r["rank"] for b, r in year.items()} == {"B1": "1", "B2": "3", "B3": "2"}
    assert {b: r["level"] for b, r in year.items()} == {"B1": "一级", "B2": "二级", "B3": "二级"}
    assert {r["approved"] for r in year.values()} == {"yes"}  # SPEC 6: the file keeps yes/no
    month = summary(runs.month)
    assert {b: float(r["score"]) for b, r in month.items()} == {"B1": 86.5, "B2": 92.5, "B3": 86.5}
    assert {b: r["rank"] for b, r in month.items()} == {"B1": "2", "B2": "1", "B3": "2"}
    assert {r["approved"] for r in month.values()} == {"no"} and "level" not in month["B1"]


def test_executed_notebook_reads_top_to_bottom_in_chinese(runs: UnitRuns) -> None:
    nb = read_notebook(runs.year / "U01_2025.ipynb", as_version=4)
    for heading in ["参数", "输入检查", "考评方案", "中间表", "结果", "图表", "追溯", "输出"]:
        assert any(c.cell_type == "markdown" and heading in c.source for c in nb.cells), heading
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    text = notebook_outputs(runs.year / "U01_2025.ipynb")
    # the trace of the branch asked for: its level, months, categories and cells
    assert "追溯 (trace): B3 机关党支部" in text and "年度定级 (level)" in text
    assert "支部自评 (self_scores)!D" in text and "检查验证 (verification)!D2" in text
    assert "其他支部互评的平均, 2 个支部评价" in text
    assert "83.50" in text and "二级" in text and "是" in text
    assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert "已写出 (written): summary.csv" in text
    month = notebook_outputs(runs.month / "U01_2025-02.ipynb")
    assert "未审定, 排名为草稿" in month and "追溯 (trace): B2 营销党支部" in month  # the first-ranked


def test_no_notebook_shows_a_raw_value_a_flag_a_rater_or_a_path_of_the_machine(runs: UnitRuns) -> None:
    paths = absolute_paths(runs.out, runs.year_input.parent)
    for run in (runs.year, runs.month):
        (path,) = run.glob("*.ipynb")
        assert notebook_findings(path, paths) == []  # no nan, None, <NA>, yes/no cell, absolute path
        assert not RATER.findall(notebook_outputs(path))


def test_an_unchanged_unit_run_is_found_for_reuse(runs: UnitRuns) -> None:
    m = json.loads((runs.year / "manifest.json").read_text(encoding="utf-8"))
    key = (runs.out, "2025", "U01", m["inputs"][0]["sha256"], m["scheme"]["sha256"])
    assert find_reusable(*key, subject=BRANCHES) == runs.year
    assert find_reusable(*key) is None  # a branch run's code hash is the branch notebook's


def test_validate_and_run_of_a_bad_unit_workbook_exit_2_and_write_nothing(runs: UnitRuns, tmp_path: Path) -> None:
    rows = unit_rows()
    rows["mutual_scores"].append(["B2", "B2", "2025-05", "PJ1", 20])  # a branch rates itself
    bad = write_unit(tmp_path / "bad.xlsx", rows)
    out = tmp_path / "runs"
    for args in (
        ("validate", "--inputs", str(bad), "--period", "2025"),
        ("run", "--inputs", str(bad), "--period", "2025", "--out", str(out)),
    ):
        done = cli(*args)
        assert done.returncode == 2, done.stderr
        assert "支部不能评价自己" in done.stderr and "bad.xlsx" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
    good = cli("validate", "--inputs", str(runs.year_input), "--period", "2025")
    assert good.returncode == 0 and "U01 示范供电局党委" in good.stdout and "3 branches" in good.stdout
    # a half-year is no period of the assessment (月评季考年定级)
    done = cli("run", "--inputs", str(runs.year_input), "--period", "2025H1", "--out", str(out))
    assert done.returncode == 2 and "不评半年" in done.stderr and not out.exists()
    # a member to trace names nothing in a unit's run: refused before anything is written
    done = cli("run", "--inputs", str(runs.year_input), "--period", "2025", "--out", str(out), "--member", "M01")
    assert done.returncode == 2 and "--branch" in done.stderr and not out.exists()


def test_approve_and_verify_a_unit_run(runs: UnitRuns) -> None:
    approval = approve(runs.year, "党委组织部 王")
    assert approval.parent == runs.year
    v = verify(runs.year)
    assert v.ok and v.rescored and v.compared == 3 and v.figures.empty, v.report()
    done = cli("verify", str(runs.year))
    assert done.returncode == 0 and "通过 OK" in done.stdout, done.stdout + done.stderr


def test_diff_of_two_unit_runs_names_the_changed_branch_and_hides_the_rater(runs: UnitRuns) -> None:
    # B1 rates B3 14 instead of 16 in February: B3's 互评 mean (14 + 17) / 2 = 15.5, its month 85.5
    write_unit(runs.month_input, february(b1_rates_b3=14))
    second = run_branch(runs.month_input, "2025-02", runs.out)
    assert second.name == "v002"
    d = diff(runs.month, second)
    changed = {(r.branch_id, r.figure): (r.a, r.b) for r in d.figures.itertuples()}
    assert changed == {("B3", "score"): ("86.5", "85.5"), ("B3", "rank"): ("2", "3")}
    (row,) = d.inputs.itertuples()
    assert "mutual_scores" in str(row.sheet) and row.branch_id == "B3"
    assert (row.a, row.b) == (HIDDEN_MUTUAL, HIDDEN_MUTUAL)
    report = d.report()
    assert "得分有变化的党支部 (branches whose figures changed): 1" in report
    assert "14" not in report.split("输入有变化的行")[1].split("运行环境")[0]  # the mark itself is not shown
    done = cli("diff", str(runs.month), str(second))
    assert done.returncode == 0 and "B3" in done.stdout, done.stderr


def test_reviewer_notebook_of_a_unit_run(runs: UnitRuns) -> None:
    from scoring.runs.execute import run_review

    target = run_review(runs.year)
    assert target.parent == runs.year.parent / "reviews"
    nb = read_notebook(target, as_version=4)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    text = notebook_outputs(target)
    assert "单位 unit" in text and "U01 示范供电局党委" in text
    assert "所有党支部同一月份得分相同" in text and "没有公式可重算" not in text
    assert "指标得分" in text and "formulas differ" not in text  # the workbook's formulas recomputed equal


def test_the_quarterly_batch_runs_a_unit_beside_its_branches_and_the_roll_up_shows_its_ranks(tmp_path: Path) -> None:
    """A unit workbook in the batch's folder is run beside the member branches (its own notebook,
    folder and status row) and the roll-up's 支部对比 shows each branch's 联评联考 score and rank
    (2025Q1, hand-computed in test_branch_assessment: B1 88.5 rank 2, B2 92.5 rank 1, B3 86.5 rank 3)."""
    from test_batch import make_branches

    from scoring.runs.batch import ROLLUP_ROW, run_batch

    inputs, out = tmp_path / "in", tmp_path / "out"
    make_branches(inputs, 3)  # K001..K003, county-10-stars
    ids = {"B1": "K001", "B2": "K002", "B3": "K003"}
    rows = {k: [[ids.get(v, v) if isinstance(v, str) else v for v in r] for r in t] for k, t in unit_rows(3, 3).items()}
    write_unit(inputs / "U01_2025.xlsx", rows)
    table, _ = run_batch(inputs, "2025Q1", out, jobs=2)
    status = table.set_index("file")
    assert status.loc["U01_2025.xlsx", "status"] == "done" and status.loc["U01_2025.xlsx", "subject"] == "branch"
    assert Path(str(status.loc["U01_2025.xlsx", "where"])).relative_to(out).as_posix() == "2025Q1/U01/v001"
    assert status.loc[ROLLUP_ROW, "status"] == "done"
    rollup = Path(str(status.loc[ROLLUP_ROW, "where"]))
    m = json.loads((rollup / "manifest.json").read_text(encoding="utf-8"))
    assert [r["branch_id"] for r in m["branch_runs"]] == ["K001", "K002", "K003"]
    assert [r["unit_id"] for r in m["assessment_runs"]] == ["U01"]
    ws = openpyxl.load_workbook(rollup / "单位汇总_2025Q1.xlsx")["支部对比"]
    header = [c.value for c in ws[1]]
    got = {
        r[0]: (r[header.index("联评联考得分 (assessment_score)")], r[header.index("联评联考排名 (assessment_rank)")])
        for r in ws.iter_rows(min_row=2, values_only=True)
    }
    assert got == {"K001": (88.5, 2), "K002": (92.5, 1), "K003": (86.5, 3)}
