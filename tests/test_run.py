"""End to end: a real papermill run per branch and period, sealed into an immutable folder."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import read_notebook

from scoring import __version__
from scoring.inputs.demo import generate_demo
from scoring.inputs.reading import load_inputs
from scoring.rules.engine import score
from scoring.rules.engine.cases import next_working_day
from scoring.rules.periods import parse_period
from scoring.runs.execute import run_branch

REPO = Path(__file__).resolve().parents[1]
YEAR_COLUMNS = ["member_id", "name", "total", "stars", "grade", "veto", "exempt", "rank"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_demo(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def year_run(demo: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_branch(demo[0], "2025", tmp_path_factory.mktemp("runs"), member_id="B001M003")


def test_run_folder_has_the_four_outputs(year_run: Path) -> None:
    assert year_run.name == "v001" and year_run.parent.name == "B001" and year_run.parent.parent.name == "2025"
    names = sorted(p.name for p in year_run.iterdir())
    # cases.csv: the follow-up register (SPEC 8); 通知书/: B001's vetoed member is 不合格 (a 限期整改)
    expected = ["B001_2025.ipynb", "B001_2025_结果.xlsx", "summary.csv", "manifest.json", "cases.csv"] + (
        ["公示.pdf", "积分卡", "通知书"] if shutil.which("soffice") else []
    )
    assert names == sorted(expected)
    assert not list(year_run.parent.parent.parent.glob(".staging-*"))


def test_manifest_records_inputs_scheme_code_and_output_hashes(year_run: Path, demo: list[Path]) -> None:
    m = json.loads((year_run / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "draft" and "reviewer" not in m  # approvals are separate files
    assert m["inputs"][0]["sha256"] == sha(demo[0])
    scheme_file = REPO / "scoring" / "schemes" / "county-10-stars.yaml"
    archived = m["scheme"].pop("archived")
    assert m["scheme"] == {
        "name": "county-10-stars",
        "version": "1.0.0",
        "sha256": sha(scheme_file),
        "path": str(scheme_file),
    }
    assert sha(year_run / archived) == sha(scheme_file)
    assert m["package"]["version"] == __version__
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert m["package"]["git_commit"] == (commit or None)
    # no earlier run of B001 in this runs folder; the 公示 starts on the first working day after
    # the run, as the branch sheet names none (SPEC 8), and the manifest keeps the day
    started = dt.date.fromisoformat(m["started_at"][:10])
    assert m["parameters"] == {
        "inputs_path": str(demo[0].resolve()),
        "period": "2025",
        "member_id": "B001M003",
        "scheme": "",
        "prior_runs": {},
        "publicity_start": next_working_day(started).isoformat(),
    }
    assert m["prior_runs"] == []
    assert m["started_at"] <= m["finished_at"]
    outputs = {o["file"]: o for o in m["outputs"]}
    members = pd.read_csv(year_run / "summary.csv")["member_id"]  # each gets a card (SPEC 8)
    # the vetoed B001M005 is 不合格: the year opens a 限期整改 case, with its notice (SPEC 8)
    assert set(outputs) == {"B001_2025.ipynb", "B001_2025_结果.xlsx", "summary.csv", "cases.csv"} | (
        {"公示.pdf", "通知书/B001M005_限期整改通知书.pdf", *(f"积分卡/{m}.pdf" for m in members)}
        if shutil.which("soffice")
        else set()
    )
    for name, o in outputs.items():
        assert o["sha256"] == sha(year_run / name) and o["bytes"] == (year_run / name).stat().st_size
    assert Path(m["kernel"]["interpreter"]).exists()


def test_summary_csv_is_the_engines_result(year_run: Path, demo: list[Path]) -> None:
    with open(year_run / "summary.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert set(YEAR_COLUMNS) <= set(rows[0])
    p = parse_period("2025")
    book, sch = load_inputs(demo[0], p)
    expected = score(book, sch, p).summary().set_index("member_id")
    assert len(rows) == len(expected)
    for r in rows:
        e = expected.loc[r["member_id"]]
        assert isinstance(e, pd.Series)  # one row: member ids are unique
        if pd.isna(e["total"]):
            assert r["total"] == ""
        else:
            assert float(r["total"]) == e["total"]
        assert r["grade"] == (e["grade"] or "") and r["veto"] == e["veto"] and r["exempt"] == e["exempt"]
        assert r["rank"] == ("" if pd.isna(e["rank"]) else str(int(e["rank"])))


def test_executed_notebook_reads_top_to_bottom(year_run: Path) -> None:
    nb = read_notebook(year_run / "B001_2025.ipynb", as_version=4)
    text = json.dumps(nb, ensure_ascii=False)
    for heading in ["参数", "输入检查", "中间表", "结果", "图表", "追溯", "输出"]:
        assert any(c.cell_type == "markdown" and heading in c.source for c in nb.cells), heading
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors == []
    assert "injected-parameters" in text
    # the interpreter the kernel really ran is printed by the kernel itself (its sys.executable) in
    # the environment cell, in full, and it is the one the manifest records: this project's venv
    m = json.loads((year_run / "manifest.json").read_text(encoding="utf-8"))
    interpreter = m["kernel"]["interpreter"]
    env_cells = [c for c in nb.cells if c.cell_type == "code" and "nb.environment()" in c.source]
    assert len(env_cells) == 1
    env_text = "".join(o.get("text", "") for o in env_cells[0].get("outputs", []) if o.get("output_type") == "stream")
    shown = Path(interpreter).relative_to(Path(interpreter).parents[2]).as_posix()  # .venv/bin/python
    assert f"解释器 (interpreter): {shown}\n" in env_text, env_text
    assert Path(interpreter).parent == Path(sys.executable).parent  # same venv as the test runner (.venv/bin)
    assert "B001M003" in text and "月评分" in text  # the trace of the chosen member
    assert any(
        "image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )


def test_no_output_reveals_a_ballot(year_run: Path) -> None:
    # demo ballots are numbered P001.. and rated per member; no output may contain one
    text = (year_run / "B001_2025.ipynb").read_text(encoding="utf-8") + (year_run / "summary.csv").read_text(
        encoding="utf-8"
    )
    assert "P001" not in text and "ballot_no" not in text
    wb = openpyxl.load_workbook(year_run / "B001_2025_结果.xlsx", read_only=True)
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            assert "P001" not in row and "ballot_no" not in row


def test_second_run_is_a_new_version_and_the_first_is_untouched(year_run: Path, demo: list[Path]) -> None:
    before = {p.relative_to(year_run): (sha(p), p.stat().st_mtime_ns) for p in year_run.rglob("*") if p.is_file()}
    second = run_branch(demo[0], "2025", year_run.parent.parent.parent)
    assert second.name == "v002" and second.parent == year_run.parent
    assert {
        p.relative_to(year_run): (sha(p), p.stat().st_mtime_ns) for p in year_run.rglob("*") if p.is_file()
    } == before


def test_cli_quarter_run_prints_the_folder_last(demo: list[Path], tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scoring",
            "run",
            "--inputs",
            str(demo[2]),
            "--period",
            "2025Q3",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    folder = Path(proc.stdout.strip().splitlines()[-1])
    assert folder == tmp_path / "2025Q3" / "B003" / "v001" and folder.is_dir()
    with open(folder / "summary.csv", encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    assert {"member_id", "name", "quarter_score", "quarter_star"} <= set(header)


def test_a_custom_scheme_runs_end_to_end(tmp_path: Path) -> None:
    from conftest import BookMaker, member_rows

    scheme = Path(__file__).parent / "schemes" / "group-caps.yaml"
    members = member_rows(["F01", "F02", "F03"])
    monthly = pd.DataFrame(
        [
            {
                "member_id": m,
                "month": f"2025-{mo:02d}",
                "EDU": 22.0,
                "DUTY": 21.0,
                "WORK": 23.0,
                "VOW": 20.0,
                "note": None,
            }
            for m in ["F01", "F02", "F03"]
            for mo in range(1, 7)
        ]
    )
    path = BookMaker(tmp_path).write(
        str(scheme), {"members": members, "monthly_scores": monthly}, branch={"branch_id": "F1"}
    )
    folder = run_branch(path, "2025H1", tmp_path / "runs")
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert m["scheme"]["name"] == "group-caps" and m["scheme"]["sha256"] == sha(scheme)
    with open(folder / "summary.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["half_score"]) for r in rows] == [86.0] * 3  # this scheme averages its months (quarter_score: mean)


def test_notebook_refuses_inputs_changed_since_the_run_started(tmp_path: Path) -> None:
    """run_branch hashes and archives the input, then the notebook reads the file again: when the
    bytes differ from the provenance's input_sha256, nothing is written."""
    from conftest import BookMaker, county_sheets

    from scoring.exceptions import RunError
    from scoring.views import notebook as nbmod

    maker = BookMaker(tmp_path)
    path = maker.write("county-10-stars", county_sheets(), name="B_T001.xlsx")
    run = nbmod.load(str(path), "2025Q1")
    good = nbmod.provenance_of(run)
    assert good["input_sha256"] == sha(path)
    wrong = good | {"input_sha256": "0" * 64}  # what run_branch recorded before the file changed
    out = tmp_path / "staging"
    with pytest.raises(RunError) as info:
        nbmod.write_outputs(run, str(out), wrong)
    msg = str(info.value)
    assert "输入文件在运行期间被改动" in msg and "input file changed during the run" in msg
    assert "0" * 64 in msg and sha(path) in msg and path.name in msg
    assert not out.exists()  # nothing written
    with pytest.raises(RunError, match="scheme file changed during the run"):
        nbmod.check_provenance(run, good | {"scheme_sha256": "f" * 64})
    nbmod.check_provenance(run, good)  # the same bytes pass
    nbmod.check_provenance(run, {})  # a notebook run by hand carries no hashes: nothing to compare
    written = nbmod.write_outputs(run, str(out), good)
    assert (out / "summary.csv") in written
