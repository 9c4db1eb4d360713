#!/usr/bin/env python
"""Benchmark (not a test): the quarterly batch over many branches, against papermill's floor.

    python benchmarks/bench_batch.py                      # 200 branches of 30 members, 3 repeats
    python benchmarks/bench_batch.py --branches 40        # a shorter run
    python benchmarks/bench_batch.py --branches 6 --repeat 1   # smoke run
    python benchmarks/bench_batch.py --cold-repeat 1      # the cold-kernel reference in the first repeat only

What is measured, per repeat, each in a fresh output folder (so nothing is reused):

* ``python -m scoring batch --inputs DIR --period 2025Q1 --out OUT --jobs 1`` and ``--jobs 2`` as
  a subprocess: every branch validated, executed through notebooks/branch_period.ipynb by papermill
  (results workbook, 公示.pdf when LibreOffice is installed, summary.csv, manifest), then the unit
  roll-up notebook; wall time from start to exit. The batch's default is a warm kernel per worker
  (``scoring.runs.kernels``); ``cold1`` is the same ``--jobs 1`` batch with ``--kernel cold`` (a fresh
  kernel per branch, papermill's default engine), measured for comparison (``--no-cold`` skips it);
* floor: papermill executing, in one process, the same number of times, a notebook whose only cell
  is ``import pandas`` in the same kernel (``scoring``): the cost of a kernel start and a notebook
  execution, which every per-branch notebook pays.

Peak memory: the largest sum of RSS over the process tree (the batch, its workers, their kernels
and LibreOffice), sampled every 0.2 s with psutil.

Targets (issue 4): seconds per branch at ``--jobs 1`` (warm) within 1.5x the floor's seconds per
notebook; ``--jobs 2`` at least 1.7x faster than ``--jobs 1``. Branch workbooks (30 members of
``county-10-stars`` from ``scoring.inputs.demo.branch_tables``) are generated once, not timed, and cached.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (str(ROOT), str(Path(__file__).resolve().parent)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from common import git_head, machine, record_header  # noqa: E402

PERIOD = "2025Q1"
YEAR = 2025
RESULTS_DIR = ROOT / "benchmarks" / "results"
TARGET_RATIO = 1.5
TARGET_SPEEDUP = 1.7


def generate(folder: Path, n: int, members: int, seed: int) -> list[Path]:
    from scoring.inputs.demo import BranchSpec, branch_tables, write_input_workbook
    from scoring.rules.scheme import load_scheme

    folder.mkdir(parents=True, exist_ok=True)
    sch = load_scheme("county-10-stars").scheme
    paths = []
    for i in range(1, n + 1):
        path = folder / f"Z{i:03d}_{YEAR}.xlsx"
        if not path.exists():
            spec = BranchSpec(f"Z{i:03d}", f"基准测试第{i}党支部", "county-10-stars", members, 0.88)
            branch, sheets = branch_tables(spec, YEAR, seed + i)
            tmp = path.with_suffix(".tmp.xlsx")
            write_input_workbook(tmp, branch, sheets, sch)
            tmp.replace(path)
        paths.append(path)
    return paths


class TreePeak:
    """Largest total RSS of a process and its descendants while it runs (sampled)."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.peak = 0
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                total = 0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            self._stop.wait(self.every)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def time_batch(inputs: Path, jobs: int, work: Path, kernel: str = "warm") -> dict[str, Any]:
    out = work / f"out-jobs{jobs}-{kernel}"
    shutil.rmtree(out, ignore_errors=True)
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
        str(jobs),
        "--kernel",
        kernel,
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = TreePeak(proc.pid)
    stdout, _ = proc.communicate()
    wall = time.perf_counter() - t0
    mem = peak.stop()
    if proc.returncode != 0:
        raise SystemExit(f"batch --jobs {jobs} failed (exit {proc.returncode}):\n{stdout[-3000:]}")
    runs = len(list((out / PERIOD).glob("Z*/v001/manifest.json")))
    shutil.rmtree(out, ignore_errors=True)
    return {"wall_s": wall, "peak_rss": mem, "runs": runs}


FLOOR_CHILD = r"""
import sys, time, papermill as pm
src, n, kernel = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
for i in range(n):
    pm.execute_notebook(src, src.replace(".ipynb", f"-out.ipynb"), kernel_name=kernel, progress_bar=False)
print(time.perf_counter() - t0)
"""


def time_floor(n: int, work: Path) -> dict[str, Any]:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from scoring.runs.execute import kernel_for_runs

    nb_path = work / "floor.ipynb"
    # nbformat leaves write, new_notebook and new_code_cell unannotated
    nbformat.write(new_notebook(cells=[new_code_cell("import pandas")]), nb_path)  # type: ignore[no-untyped-call]
    kernel, _ = kernel_for_runs()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", FLOOR_CHILD, str(nb_path), str(n), kernel],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    peak = TreePeak(proc.pid)
    proc.communicate()
    wall = time.perf_counter() - t0
    mem = peak.stop()
    if proc.returncode != 0:
        raise SystemExit("floor failed")
    return {"wall_s": wall, "peak_rss": mem, "runs": n}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--branches", type=int, default=200)
    ap.add_argument("--members", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20250401)
    ap.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "scoring-bench")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-kernel --jobs 1 batch")
    ap.add_argument(
        "--cold-repeat",
        type=int,
        default=None,
        help="run the cold-kernel batch only in the first N repeats (default: every repeat)",
    )
    args = ap.parse_args(argv)

    started = dt.datetime.now().astimezone()
    inputs = args.cache_dir / f"batch-inputs-n{args.branches}-m{args.members}-s{args.seed}"
    print(f"generating {args.branches} branch workbooks into {inputs} (cached, not timed) ...", flush=True)
    generate(inputs, args.branches, args.members, args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    runs: list[dict[str, Any]] = []
    try:
        for i in range(1, args.repeat + 1):
            cold = not args.no_cold and (args.cold_repeat is None or i <= args.cold_repeat)
            for mode in ("floor", "jobs1", "jobs2") + (("cold1",) if cold else ()):
                r = (
                    time_floor(args.branches, work)
                    if mode == "floor"
                    else time_batch(inputs, int(mode[-1]), work, "cold" if mode.startswith("cold") else "warm")
                )
                r |= {"mode": mode, "run": i, "per_branch_s": r["wall_s"] / args.branches}
                runs.append(r)
                print(
                    f"  run {i} {mode:6s} {r['wall_s']:8.1f} s  {r['per_branch_s']:6.2f} s/branch  "
                    f"peak {r['peak_rss'] / 1024**2:,.0f} MiB  ({r['runs']} runs)",
                    flush=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(mode: str, key: str = "per_branch_s") -> float:
        return float(statistics.median(r[key] for r in runs if r["mode"] == mode))

    summary = {
        "floor_s_per_notebook": med("floor"),
        "jobs1_s_per_branch": med("jobs1"),
        "jobs2_s_per_branch": med("jobs2"),
        "ratio_jobs1_to_floor": med("jobs1") / med("floor"),
        "speedup_jobs2": med("jobs1") / med("jobs2"),
        "peak_rss_jobs1": max(r["peak_rss"] for r in runs if r["mode"] == "jobs1"),
        "peak_rss_jobs2": max(r["peak_rss"] for r in runs if r["mode"] == "jobs2"),
        "peak_rss_floor": max(r["peak_rss"] for r in runs if r["mode"] == "floor"),
        "libreoffice": shutil.which("soffice") is not None,
    }
    if not args.no_cold:
        summary |= {
            "cold1_s_per_branch": med("cold1"),
            "ratio_cold1_to_floor": med("cold1") / med("floor"),
            "warm_gain": med("cold1") / med("jobs1"),
            "peak_rss_cold1": max(r["peak_rss"] for r in runs if r["mode"] == "cold1"),
        }
    print()
    print(f"{args.branches} branches x {args.members} members, {PERIOD}, median of {args.repeat}")
    print(f"floor (papermill, notebook 'import pandas'): {summary['floor_s_per_notebook']:.2f} s per notebook")
    print(
        f"batch --jobs 1: {summary['jobs1_s_per_branch']:.2f} s per branch = "
        f"{summary['ratio_jobs1_to_floor']:.2f}x the floor (target <= {TARGET_RATIO}x)"
    )
    print(
        f"batch --jobs 2: {summary['jobs2_s_per_branch']:.2f} s per branch; "
        f"speed-up {summary['speedup_jobs2']:.2f}x (target >= {TARGET_SPEEDUP}x)"
    )
    if not args.no_cold:
        n_cold = sum(r["mode"] == "cold1" for r in runs)
        print(
            f"batch --jobs 1 --kernel cold (median of {n_cold}): {summary['cold1_s_per_branch']:.2f} s per branch = "
            f"{summary['ratio_cold1_to_floor']:.2f}x the floor; the warm kernel is {summary['warm_gain']:.2f}x faster"
        )
    print(
        f"peak RSS of the process tree: jobs 1 {summary['peak_rss_jobs1'] / 1024**2:,.0f} MiB, "
        f"jobs 2 {summary['peak_rss_jobs2'] / 1024**2:,.0f} MiB, floor {summary['peak_rss_floor'] / 1024**2:,.0f} MiB"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bench_batch-{started:%Y%m%dT%H%M%S}-n{args.branches}.json"
    record = {
        **record_header("bench_batch", started, argv),
        "args": {k: str(v) for k, v in vars(args).items()},
        "machine": machine("papermill", "jupyter-client", "ipykernel"),
        "git_head": git_head(ROOT),
        "summary": summary,
        "runs": runs,
    }
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
