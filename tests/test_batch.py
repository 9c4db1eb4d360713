"""The quarterly batch, for real: parallel papermill runs, reuse, the period lock, SIGKILL, dask."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pandas as pd
import pytest
from conftest import county_sheets, new_markdown_cell, read_notebook, write_notebook

from scoring.inputs.demo import write_input_workbook
from scoring.rules.scheme import load_scheme
from scoring.runs.batch import (
    BATCHES_DIR,
    ROLLUP_ROW,
    Outcome,
    collect,
    duplicate_branches,
    period_lock,
    read_branch_id,
    run_batch,
    run_local,
)
from scoring.runs.execute import STAGING_PREFIX
from scoring.runs.review import check_files

REPO = Path(__file__).resolve().parents[1]
PERIOD = "2025Q1"


def make_branches(folder: Path, n: int, bad: bool = False, score: float = 8.0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    sch = load_scheme("county-10-stars").scheme
    paths = []
    for i in range(1, n + 1):
        info = {
            "branch_id": f"K{i:03d}",
            "branch_name": f"批处理测试第{i}支部",
            "scheme": "county-10-stars",
            "year": 2025,
        }
        paths.append(write_input_workbook(folder / f"K{i:03d}.xlsx", info, county_sheets(n=10, item_score=score), sch))
    if bad:
        sheets = county_sheets(n=10)
        sheets["monthly_scores"].iloc[3, 2] = 99.0  # out of range
        info = {"branch_id": "K999", "branch_name": "有错的支部", "scheme": "county-10-stars", "year": 2025}
        paths.append(write_input_workbook(folder / "K999_bad.xlsx", info, sheets, sch))
    return paths


def batch_cli(inputs: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "scoring",
        "batch",
        "--inputs",
        str(inputs),
        "--period",
        PERIOD,
        "--out",
        str(out),
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)


def runs_of(out: Path) -> dict[str, list[Path]]:
    return {
        b.name: sorted(b.glob("v[0-9][0-9][0-9]"))
        for b in sorted((out / PERIOD).glob("*"))
        if not b.name.startswith("_")
    }


def flat(runs: dict[str, list[Path]]) -> list[Path]:
    """Every run of every branch, branch by branch."""
    return [run for branch_runs in runs.values() for run in branch_runs]


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
    errors = pd.read_csv(str(table.loc["K999_bad.xlsx", "where"]), dtype=str)
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
    rollup = Path(str(table.loc[ROLLUP_ROW, "where"]))
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
    nb = read_notebook(rollup / f"单位汇总_{PERIOD}.ipynb", as_version=4)
    assert not [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    if shutil.which("soffice") or os.environ.get("CI"):
        from scoring.outputs.recompute import compare_workbook

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


def start_batch_until_a_second_branch(inputs: Path, out: Path, jobs: str) -> subprocess.Popen[bytes]:
    """A batch in a session of its own, returned while a branch is being run after one was sealed
    (a run folder and a staging folder both exist): the moment to kill it."""
    cmd = [
        sys.executable,
        "-m",
        "scoring",
        "batch",
        "--inputs",
        str(inputs),
        "--period",
        PERIOD,
        "--out",
        str(out),
        "--jobs",
        jobs,
    ]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (
        any((out / PERIOD).glob("*/v001")) and list(out.glob(f"{STAGING_PREFIX}*"))
    ):
        time.sleep(0.05)
    if time.monotonic() >= deadline:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError("the batch never got to a second branch")
    return proc


def test_sigkill_leaves_no_half_written_run_and_the_next_batch_completes(tmp_path: Path) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    make_branches(inputs, 3)
    proc = start_batch_until_a_second_branch(inputs, out, "1")
    os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers
    proc.wait()
    wait_until_gone(proc.pid)  # the workers die a moment after the batch; the next batch comes later
    for branch_runs in runs_of(out).values():
        for run in branch_runs:
            assert_complete(run)  # whatever is in runs/ is whole
    assert len(flat(runs_of(out))) < 3
    table, _ = run_batch(inputs, PERIOD, out, jobs=1)
    assert set(table["status"]) <= {"done", "reused"} and "reused" in set(table["status"])
    runs = runs_of(out)
    assert set(runs) == {"K001", "K002", "K003"} and all(len(v) == 1 for v in runs.values())
    for v in runs.values():
        assert_complete(v[0])
    assert not list(out.glob(f"{STAGING_PREFIX}*"))  # what the killed batch left was removed


def test_sigkill_of_the_batch_alone_takes_its_workers_kernels_and_libreoffice_with_it(tmp_path: Path) -> None:
    import psutil

    inputs, out = tmp_path / "in", tmp_path / "out"
    make_branches(inputs, 4)
    proc = start_batch_until_a_second_branch(inputs, out, "2")
    try:
        tree = psutil.Process(proc.pid).children(recursive=True)
        assert any("ipykernel" in " ".join(p.cmdline()) for p in tree), "no kernel was running"
        os.kill(proc.pid, signal.SIGKILL)  # the batch's own process only, as an OOM killer would
        proc.wait()
        sealed = flat(runs_of(out))
        _, left = psutil.wait_procs(tree, timeout=30)
        assert not left, f"still running after the batch was killed: {[' '.join(p.cmdline())[:80] for p in left]}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # a worker that outlived the batch would have sealed the branch it was running
    assert flat(runs_of(out)) == sealed
    for run in sealed:
        assert_complete(run)
    # nothing of the killed batch seals a run any more: the next batch runs the rest, once each
    table, _ = run_batch(inputs, PERIOD, out, jobs=2)
    assert set(branches(table)["status"]) <= {"done", "reused"}
    runs = runs_of(out)
    assert set(runs) == {"K001", "K002", "K003", "K004"} and all(len(v) == 1 for v in runs.values()), runs
    assert set(flat(runs)) >= set(sealed)
    assert not list(out.glob(f"{STAGING_PREFIX}*"))


def test_batch_on_a_dask_localcluster(tmp_path: Path) -> None:
    from distributed import LocalCluster

    inputs, out = tmp_path / "in", tmp_path / "out"
    make_branches(inputs, 3, bad=True)
    # distributed leaves LocalCluster.__init__ unannotated
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
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


def test_a_kernel_start_race_is_retried_and_a_notebook_failure_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scoring.runs.execute
    from scoring.exceptions import RunError
    from scoring.runs.batch import run_one

    (path,) = make_branches(tmp_path / "in", 1)
    report = tmp_path / "report"
    report.mkdir()
    calls: list[int] = []

    def racy(src: Path, period: str, out: str, **kwargs: Any) -> Path:  # the ZMQ error papermill issue 511 shows
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("zmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:50231')")
        return tmp_path / "run"

    monkeypatch.setattr(scoring.runs.execute, "run_branch", racy)
    monkeypatch.setattr("time.sleep", lambda s: None)
    o = run_one(str(path), PERIOD, str(tmp_path / "out"), str(report))
    assert (o.status, o.attempts, len(calls)) == ("done", 2, 2)

    def broken(src: Path, period: str, out: str, **kwargs: Any) -> Path:
        calls.append(1)
        raise RunError("笔记本执行失败 (notebook failed): ZeroDivisionError")

    calls.clear()
    monkeypatch.setattr(scoring.runs.execute, "run_branch", broken)
    o = run_one(str(path), PERIOD, str(tmp_path / "out"), str(report))
    assert (o.status, o.attempts, len(calls)) == ("failed", 1, 1)
    assert "ZeroDivisionError" in Path(o.where).read_text(encoding="utf-8")


# -- a worker that dies, duplicate branches, staging on a shared folder, the roll-up's reuse key --


def dying_worker(path: str, period: str, out: str, report_dir: str, warm: bool = True) -> Outcome:
    """Stands in for run_one in the worker processes (imported there by name): logs each call
    (file and worker pid) beside the files; a ``*die*`` file kills its worker."""
    name = Path(path).name
    with open(Path(path).parent / "calls.log", "a", encoding="utf-8") as log:
        log.write(f"{name} {os.getpid()}\n")
    if "die" in name:
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
    time.sleep(0.2)  # a branch takes a moment: the others are still in the pool when it breaks
    return Outcome(name, Path(path).stem.upper(), "done", f"{out}/{Path(path).stem}", 1, 0.0)


def dying_or_real_worker(path: str, period: str, out: str, report_dir: str, warm: bool = True) -> Outcome:
    """The real run_one, except that the worker scoring K002 is killed."""
    from scoring.runs.batch import run_one

    if Path(path).name == "K002.xlsx":
        os.kill(os.getpid(), signal.SIGKILL)
    return run_one(path, period, out, report_dir, warm)


def test_collect_turns_every_raising_future_into_a_failed_branch(tmp_path: Path) -> None:
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from distributed import KilledWorker
    from distributed.scheduler import WorkerState

    files = [tmp_path / f"K00{i}.xlsx" for i in range(1, 4)]
    fine: Future[Outcome] = Future()
    fine.set_result(Outcome("K001.xlsx", "K001", "done", "runs/K001/v001", 1, 1.0))
    pool_broke: Future[Outcome] = Future()
    pool_broke.set_exception(BrokenProcessPool("A process in the process pool was terminated abruptly"))
    killed: Future[Outcome] = Future()
    # a stand-in: only its address is read, by the exception's message
    last_worker = cast(WorkerState, SimpleNamespace(address="tcp://10.0.0.7:40000"))
    killed.set_exception(KilledWorker("run_one-abc", last_worker, 3))
    futures = dict(zip([fine, pool_broke, killed], files, strict=True))
    ticked: list[Outcome] = []

    outcomes, broken = collect(futures, list(futures), tmp_path, ticked.append, {files[1]: "K002"})
    assert broken == [] and ticked == outcomes
    got = {o.file: o for o in outcomes}
    assert [got[f.name].status for f in files] == ["done", "failed", "failed"]
    assert got["K002.xlsx"].branch_id == "K002" and got["K003.xlsx"].branch_id == ""
    assert "terminated abruptly" in Path(got["K002.xlsx"].where).read_text(encoding="utf-8")
    assert Path(got["K002.xlsx"].where) == tmp_path / "K002.error.txt"
    text = Path(got["K003.xlsx"].where).read_text(encoding="utf-8")
    assert "KilledWorker" in text and "工作进程没有返回结果" in text

    # on a local pool a broken pool's branches are handed back to be run again, not failed
    ticked.clear()
    outcomes, broken = collect(futures, list(futures), tmp_path, ticked.append, retry_broken=True)
    assert broken == [files[1]] and {o.file for o in outcomes} == {"K001.xlsx", "K003.xlsx"} and ticked == outcomes


def test_a_worker_that_dies_fails_alone_and_the_others_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scoring.runs.batch

    inputs, report = tmp_path / "in", tmp_path / "report"
    inputs.mkdir()
    report.mkdir()
    files = [inputs / n for n in ("k001.xlsx", "k002_die.xlsx", "k003.xlsx", "k004.xlsx", "k005.xlsx")]
    monkeypatch.setattr(scoring.runs.batch, "run_one", dying_worker)  # pickled by name for the workers
    ticked: list[Outcome] = []
    outcomes = run_local(files, (PERIOD, str(tmp_path / "out"), str(report), True), 2, report, ticked.append)
    assert sorted(o.file for o in outcomes) == [f.name for f in files] and ticked == outcomes  # each once
    status = {o.file: o.status for o in outcomes}
    assert status == {
        "k001.xlsx": "done",
        "k002_die.xlsx": "failed",
        "k003.xlsx": "done",
        "k004.xlsx": "done",
        "k005.xlsx": "done",
    }
    error = {o.file: o for o in outcomes}["k002_die.xlsx"].where
    assert Path(error) == report / "k002_die.error.txt"
    assert "单独的进程中重新运行" in Path(error).read_text(encoding="utf-8") and "BrokenProcessPool" in Path(
        error
    ).read_text(encoding="utf-8")
    calls = [line.split() for line in (inputs / "calls.log").read_text(encoding="utf-8").splitlines()]
    # the dying branch ran in the pool, then once more alone in a new process, where it died again
    died = [pid for name, pid in calls if name == "k002_die.xlsx"]
    assert len(died) == 2 and died[0] != died[1]
    # the branches the broken pool took down with it (k005 at least: 0.2 s each on 2 workers) were
    # run again each in a process of its own: more worker pids than the pool's two and k002's own
    assert len({pid for _, pid in calls}) >= 4, calls


def test_a_batch_whose_worker_dies_still_writes_its_status_table_and_roll_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import scoring.runs.batch

    inputs, out = tmp_path / "in", tmp_path / "out"
    make_branches(inputs, 3)
    monkeypatch.setattr(scoring.runs.batch, "run_one", dying_or_real_worker)
    table, report = run_batch(inputs, PERIOD, out, jobs=2)
    status = branches(table).set_index("file")["status"].to_dict()
    assert status == {"K001.xlsx": "done", "K002.xlsx": "failed", "K003.xlsx": "done"}
    saved = pd.read_csv(report / "status.csv", dtype=str, keep_default_na=False).set_index("file")
    assert saved.loc["K002.xlsx", "status"] == "failed" and saved.loc["K002.xlsx", "branch_id"] == "K002"
    assert "BrokenProcessPool" in Path(str(saved.loc["K002.xlsx", "where"])).read_text(encoding="utf-8")
    assert table.iloc[-1]["status"] == "done"
    m = json.loads((Path(table.iloc[-1]["where"]) / "manifest.json").read_text(encoding="utf-8"))
    assert m["missing"] == ["K002"] and [r["branch_id"] for r in m["branch_runs"]] == ["K001", "K003"]
    runs = runs_of(out)
    assert set(runs) == {"K001", "K003"} and all(len(v) == 1 for v in runs.values())
    for v in runs.values():
        assert_complete(v[0])
    assert not list(out.glob(f"{STAGING_PREFIX}*"))  # the killed workers' staging folders were removed


def test_two_workbooks_of_one_branch_are_both_refused_and_neither_runs(tmp_path: Path) -> None:
    inputs, out = tmp_path / "in", tmp_path / "out"
    make_branches(inputs, 2)
    shutil.copy(inputs / "K001.xlsx", inputs / "K001_改.xlsx")  # the same branch_id in another file
    assert read_branch_id(inputs / "K001_改.xlsx") == "K001"
    proc = batch_cli(inputs, out, "--jobs", "2")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = next((out / BATCHES_DIR).iterdir())
    table = pd.read_csv(report / "status.csv", dtype=str, keep_default_na=False).set_index("file")
    assert table.loc["K002.xlsx", "status"] == "done"
    for name, other in (("K001.xlsx", "K001_改.xlsx"), ("K001_改.xlsx", "K001.xlsx")):
        assert table.loc[name, "status"] == "bad_input" and table.loc[name, "branch_id"] == "K001"
        errors = pd.read_csv(str(table.loc[name, "where"]), dtype=str, keep_default_na=False)
        assert errors.iloc[0]["file"] == name and errors.iloc[0]["column"] == "branch_id"
        assert (
            other in errors.iloc[0]["problem"]
            and "重复" in errors.iloc[0]["problem"]
            and "one workbook per branch" in errors.iloc[0]["problem"]
        )
    assert set(runs_of(out)) == {"K002"}  # neither K001 workbook was run
    assert table.loc[ROLLUP_ROW, "status"] == "done"
    m = json.loads((Path(str(table.loc[ROLLUP_ROW, "where"])) / "manifest.json").read_text(encoding="utf-8"))
    assert m["missing"] == ["K001"] and [r["branch_id"] for r in m["branch_runs"]] == ["K002"]
    # the end line counts branch workbooks, not the roll-up row
    assert "3 个支部 (branches): 1 个完成或复用 (done or reused), 2 个失败或输入有误" in proc.stdout
    assert "单位汇总 (roll-up): 完成 (done)" in proc.stdout


def test_a_duplicate_branch_is_reported_at_its_branch_id_cell(tmp_path: Path) -> None:
    (first,) = make_branches(tmp_path / "in", 1)
    second = shutil.copy(first, tmp_path / "in" / "K001_copy.xlsx")
    refused, _ = duplicate_branches([first, Path(second)], tmp_path)
    assert sorted(o.file for o in refused) == ["K001.xlsx", "K001_copy.xlsx"]
    errors = pd.read_csv(refused[0].where, dtype=str, keep_default_na=False).iloc[0]
    # the branch sheet: header row 1, then branch_id on row 2, its value in column B
    assert (errors["sheet"], errors["row"], errors["column"], errors["cell"]) == (
        "branch",
        "2",
        "branch_id",
        "支部信息 (branch)!B2",
    )


def test_read_branch_id_gives_none_for_a_file_that_is_not_a_workbook(tmp_path: Path) -> None:
    (tmp_path / "x.xlsx").write_text("not a zip", encoding="utf-8")
    assert read_branch_id(tmp_path / "x.xlsx") is None
    info = {"branch_id": "K 1/x", "branch_name": "坏编号", "scheme": "county-10-stars", "year": 2025}
    path = write_input_workbook(
        tmp_path / "bad_id.xlsx", info, county_sheets(n=2), load_scheme("county-10-stars").scheme
    )
    assert read_branch_id(path) is None  # an id load_inputs refuses is not used to match files
    refused, ids = duplicate_branches([tmp_path / "x.xlsx", path, *make_branches(tmp_path / "in", 1)], tmp_path)
    assert refused == [] and list(ids.values()) == ["K001"]


def test_clean_staging_removes_only_this_hosts_dead_staging_folders(tmp_path: Path) -> None:
    from scoring.runs.execute import clean_staging, host_name, staging_dir, staging_owner

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer exists (on this host)
    mine = staging_dir(tmp_path, "K001-2025Q1")
    assert staging_owner(mine) == (host_name(), os.getpid())
    here = host_name()
    dead_here = tmp_path / f"{STAGING_PREFIX}{here}_{gone.pid}-K002-2025Q1-abc"
    # another machine on the same NFS folder: the same pid means nothing here, and a host whose
    # name starts with ours is another host
    other_host = tmp_path / f"{STAGING_PREFIX}other-node_{gone.pid}-K003-2025Q1-abc"
    longer_name = tmp_path / f"{STAGING_PREFIX}{here}-2_{gone.pid}-K004-2025Q1-abc"
    for d in (dead_here, other_host, longer_name):
        d.mkdir()
        (d / "K.ipynb").write_text("{}", encoding="utf-8")
    assert clean_staging(tmp_path) == [dead_here]
    assert not dead_here.exists() and mine.exists() and other_host.exists() and longer_name.exists()


def test_the_roll_up_reuse_key_includes_the_roll_up_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import papermill

    import scoring.runs.execute
    from scoring.runs.codeversion import code_sha256
    from scoring.runs.environment import describe
    from scoring.runs.execute import MANIFEST, ROLLUP_DIR, kernel_for_runs, run_rollup

    notebook = tmp_path / "rollup.ipynb"
    shutil.copy(scoring.runs.execute.ROLLUP_NOTEBOOK, notebook)
    monkeypatch.setattr(scoring.runs.execute, "ROLLUP_NOTEBOOK", notebook)
    out = tmp_path / "out"
    run = out / PERIOD / "K001" / "v001"
    run.mkdir(parents=True)
    (run / MANIFEST).write_text('{"branch_id": "K001"}', encoding="utf-8")
    (run / "summary.csv").write_text("member_id\nM01\n", encoding="utf-8")
    refs = [
        {
            "branch_id": "K001",
            "run": "../../K001/v001",
            "manifest_sha256": hashlib.sha256((run / MANIFEST).read_bytes()).hexdigest(),
            "summary_sha256": hashlib.sha256((run / "summary.csv").read_bytes()).hexdigest(),
        }
    ]
    previous = out / PERIOD / ROLLUP_DIR / "v001"
    previous.mkdir(parents=True)
    branch_key = code_sha256()
    (previous / MANIFEST).write_text(
        json.dumps(
            {
                "kind": "rollup",
                "branch_runs": refs,
                "missing": [],
                "package": {"code_sha256": code_sha256(notebook)},
                "environment": {"sha256": describe(kernel_for_runs()[1])["sha256"]},  # made here, now
            }
        ),
        encoding="utf-8",
    )

    class Executed(Exception):
        pass

    def execute(*args: object, **kwargs: object) -> None:
        raise Executed  # the roll-up was not reused: it would be run again

    monkeypatch.setattr(papermill, "execute_notebook", execute)
    assert run_rollup({"K001": run}, PERIOD, out) == (previous, True)  # nothing changed: reused
    nb = read_notebook(notebook, as_version=4)
    nb.cells.append(new_markdown_cell("新增说明 (a new note)"))
    write_notebook(nb, notebook)
    assert (
        code_sha256(notebook) != json.loads((previous / MANIFEST).read_text(encoding="utf-8"))["package"]["code_sha256"]
    )
    with pytest.raises(Executed):
        run_rollup({"K001": run}, PERIOD, out)
    assert code_sha256() == branch_key  # the branch runs' key does not move with rollup.ipynb


def test_a_bad_input_found_by_the_notebook_leaves_nothing_in_the_runs_folder(tmp_path: Path) -> None:
    """The worker starts a run from the workbook's head (its branch sheet); the notebook's reading
    finds the out-of-range score. The problem table is the full reader's, and neither a run folder
    nor an archived copy of the bad workbook is left."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    bad = make_branches(inputs, 0, bad=True)[0]
    table, _ = run_batch(inputs, PERIOD, out, jobs=1)
    row = table.set_index("file").loc[bad.name]
    assert row["status"] == "bad_input"
    errors = pd.read_csv(str(row["where"]), dtype=str)
    assert errors[["sheet", "column"]].values.tolist() == [["monthly_scores", "I01"]]
    archived = out / ".archive"
    assert not archived.exists() or not any(archived.iterdir())
    assert not (out / PERIOD / "K999").exists()
