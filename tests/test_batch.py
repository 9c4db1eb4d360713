"""The quarterly batch, for real: parallel papermill runs, reuse, the period lock, SIGKILL, dask."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from conftest import county_sheets, write_input_workbook
from scoring.batch import BATCHES_DIR, ROLLUP_ROW, period_lock, run_batch
from scoring.execute import STAGING_PREFIX
from scoring.review import check_files
from scoring.scheme import load_scheme

REPO = Path(__file__).resolve().parents[1]
PERIOD = "2025Q1"


def make_branches(folder: Path, n: int, bad: bool = False, score: float = 8.0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    sch = load_scheme("county-10-stars").scheme
    paths = []
    for i in range(1, n + 1):
        info = {"branch_id": f"K{i:03d}", "branch_name": f"批处理测试第{i}支部", "scheme": "county-10-stars", "year": 2025}
        paths.append(write_input_workbook(folder / f"K{i:03d}.xlsx", info, county_sheets(n=10, item_score=score), sch))
    if bad:
        sheets = county_sheets(n=10)
        sheets["monthly_scores"].iloc[3, 2] = 99.0  # out of range
        info = {"branch_id": "K999", "branch_name": "有错的支部", "scheme": "county-10-stars", "year": 2025}
        paths.append(write_input_workbook(folder / "K999_bad.xlsx", info, sheets, sch))
    return paths


def batch_cli(inputs: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "scoring", "batch", "--inputs", str(inputs), "--period", PERIOD, "--out", str(out), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)


def runs_of(out: Path) -> dict[str, list[Path]]:
    return {b.name: sorted(b.glob("v[0-9][0-9][0-9]")) for b in sorted((out / PERIOD).glob("*")) if not b.name.startswith("_")}


def branches(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["file"] != ROLLUP_ROW]


def assert_complete(run: Path) -> None:
    files = check_files(run)
    assert (files["status"] == "ok").all(), files


def test_batch_runs_every_branch_and_one_bad_input_stops_nothing(tmp_path: Path) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    make_branches(inputs, 3, bad=True)
    proc = batch_cli(inputs, out, "--jobs", "2")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = next((out / BATCHES_DIR).iterdir())
    table = pd.read_csv(report / "status.csv", dtype=str).set_index("file")
    assert table.loc[["K001.xlsx", "K002.xlsx", "K003.xlsx"], "status"].eq("done").all()
    assert table.loc["K999_bad.xlsx", "status"] == "bad_input"
    errors = pd.read_csv(table.loc["K999_bad.xlsx", "where"], dtype=str)
    assert list(errors.columns[:4]) == ["file", "sheet", "row", "column"] and len(errors) == 1
    assert errors.iloc[0]["file"] == "K999_bad.xlsx" and errors.iloc[0]["sheet"] == "monthly_scores"
    assert "K999_bad.xlsx" in proc.stdout and "输入有误" in proc.stdout and "status.csv" in proc.stdout
    runs = runs_of(out)
    assert set(runs) == {"K001", "K002", "K003"} and all(len(v) == 1 for v in runs.values())
    for v in runs.values():
        assert_complete(v[0])
    assert "%|" in proc.stderr  # the progress bar
    # the unit roll-up: its own notebook, workbook and manifest referencing each branch run by hash
    assert table.loc[ROLLUP_ROW, "status"] == "done"
    rollup = Path(table.loc[ROLLUP_ROW, "where"])
    assert rollup.parent.name == "_rollup"
    assert_complete(rollup)
    m = json.loads((rollup / "manifest.json").read_text(encoding="utf-8"))
    assert m["missing"] == ["K999_bad.xlsx"]
    for ref in m["branch_runs"]:
        run = (rollup / ref["run"]).resolve()
        assert run == runs[ref["branch_id"]][0].resolve()
        assert ref["summary_sha256"] == hashlib.sha256((run / "summary.csv").read_bytes()).hexdigest()
    unit = pd.read_csv(rollup / "unit_summary.csv")
    assert len(unit) == 30 and set(unit["branch_id"]) == {"K001", "K002", "K003"}
    nb = nbformat.read(rollup / f"单位汇总_{PERIOD}.ipynb", as_version=4)
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    if shutil.which("soffice") or os.environ.get("CI"):
        from scoring.recompute import compare_workbook

        recomputed = compare_workbook(rollup / f"单位汇总_{PERIOD}.xlsx")
        assert recomputed["ok"].all() and (recomputed["sheet"] == "全单位排名").sum() > 0


def test_rerun_reuses_unchanged_branches_and_versions_only_the_changed_one(tmp_path: Path) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    make_branches(inputs, 2)
    table, _ = run_batch(inputs, PERIOD, out, jobs=2)
    assert set(table["status"]) == {"done"}
    first = runs_of(out)
    table, _ = run_batch(inputs, PERIOD, out, jobs=2)
    assert set(table["status"]) == {"reused"} and runs_of(out) == first
    sch = load_scheme("county-10-stars").scheme
    info = {"branch_id": "K002", "branch_name": "批处理测试第2支部", "scheme": "county-10-stars", "year": 2025}
    write_input_workbook(inputs / "K002.xlsx", info, county_sheets(n=10, item_score=9.0), sch)
    table, _ = run_batch(inputs, PERIOD, out, jobs=2)
    assert branches(table).set_index("branch_id")["status"].to_dict() == {"K001": "reused", "K002": "done"}
    assert table.iloc[-1]["status"] == "done"  # a new roll-up: one branch run changed
    runs = runs_of(out)
    assert [p.name for p in runs["K001"]] == ["v001"] and [p.name for p in runs["K002"]] == ["v001", "v002"]


def test_a_second_batch_for_the_same_period_stops_with_a_clear_message(tmp_path: Path) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    make_branches(inputs, 1)
    with period_lock(out, PERIOD):
        proc = batch_cli(inputs, out)
    assert proc.returncode == 1
    assert "另一个批处理正在运行" in proc.stderr and f"pid {os.getpid()}" in proc.stderr
    assert not (out / PERIOD).exists() and not (out / BATCHES_DIR).exists()
    # the lock is free again
    assert batch_cli(inputs, out).returncode == 0


def wait_until_gone(pgid: int, seconds: float = 60) -> None:
    import psutil

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        alive = []
        for p in psutil.process_iter(["pid", "status"]):
            try:
                if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                    alive.append(p.pid)
            except (ProcessLookupError, psutil.Error):
                pass
        if not alive:
            return
        time.sleep(0.1)
    raise AssertionError(f"processes of the killed batch still running: {alive}")


def test_sigkill_leaves_no_half_written_run_and_the_next_batch_completes(tmp_path: Path) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    make_branches(inputs, 3)
    cmd = [sys.executable, "-m", "scoring", "batch", "--inputs", str(inputs), "--period", PERIOD, "--out", str(out), "--jobs", "1"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        # kill while the second branch is being run: after one run is sealed, with a staging folder
        while time.monotonic() < deadline and not (any((out / PERIOD).glob("*/v001")) and list(out.glob(f"{STAGING_PREFIX}*"))):
            time.sleep(0.05)
        assert time.monotonic() < deadline, "the batch never got to its second branch"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers
        proc.wait()
    wait_until_gone(proc.pid)  # the workers die a moment after the batch; the next batch comes later
    for runs in runs_of(out).values():
        for run in runs:
            assert_complete(run)  # whatever is in runs/ is whole
    assert len(sum(runs_of(out).values(), [])) < 3
    table, _ = run_batch(inputs, PERIOD, out, jobs=1)
    assert set(table["status"]) <= {"done", "reused"} and "reused" in set(table["status"])
    runs = runs_of(out)
    assert set(runs) == {"K001", "K002", "K003"} and all(len(v) == 1 for v in runs.values())
    for v in runs.values():
        assert_complete(v[0])
    assert not list(out.glob(f"{STAGING_PREFIX}*"))  # what the killed batch left was removed


def test_batch_on_a_dask_localcluster(tmp_path: Path) -> None:
    from distributed import LocalCluster

    inputs, out = tmp_path / "in", tmp_path / "out"
    make_branches(inputs, 3, bad=True)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        table, report = run_batch(inputs, PERIOD, out, scheduler=cluster.scheduler_address)
        workers = len(cluster.scheduler_info["workers"])
    assert workers == 2
    assert branches(table).set_index("branch_id")["status"].drop("", errors="ignore").eq("done").all()
    assert (table["status"] == "bad_input").sum() == 1
    runs = runs_of(out)
    assert set(runs) == {"K001", "K002", "K003"}
    for v in runs.values():
        assert_complete(v[0])
    assert (report / "status.csv").exists()


def test_a_kernel_start_race_is_retried_and_a_notebook_failure_is_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import scoring.execute
    from scoring.batch import run_one
    from scoring.exceptions import RunError

    (path,) = make_branches(tmp_path / "in", 1)
    report = tmp_path / "report"
    report.mkdir()
    calls: list[int] = []

    def racy(src: Path, period: str, out: str) -> Path:  # the ZMQ error papermill issue 511 shows
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("zmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:50231')")
        return tmp_path / "run"

    monkeypatch.setattr(scoring.execute, "run_branch", racy)
    monkeypatch.setattr("time.sleep", lambda s: None)
    o = run_one(str(path), PERIOD, str(tmp_path / "out"), str(report))
    assert (o.status, o.attempts, len(calls)) == ("done", 2, 2)

    def broken(src: Path, period: str, out: str) -> Path:
        calls.append(1)
        raise RunError("笔记本执行失败 (notebook failed): ZeroDivisionError")

    calls.clear()
    monkeypatch.setattr(scoring.execute, "run_branch", broken)
    o = run_one(str(path), PERIOD, str(tmp_path / "out"), str(report))
    assert (o.status, o.attempts, len(calls)) == ("failed", 1, 1)
    assert "ZeroDivisionError" in Path(o.where).read_text(encoding="utf-8")
