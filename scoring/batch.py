"""Quarterly batch: every branch workbook in a folder through the branch-period notebook.

Each branch is one call of ``run_one`` in its own worker process (``concurrent.futures`` locally,
or a dask.distributed cluster with ``scheduler=``); a worker never raises, it returns the branch's
outcome, so one branch's bad input or failure never stops the others. A branch whose input,
scheme and code are unchanged since its last run reuses that run. One batch per output folder and
period at a time (a lock file); staging folders left by a killed batch are removed by the next.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from .exceptions import InputError, RunError

STATUS_LABELS: dict[str, str] = {"done": "完成", "reused": "复用 (输入未变)", "bad_input": "输入有误", "failed": "失败"}
BATCHES_DIR = "batches"
# kernel start-up races between parallel papermill runs (papermill issue 511): retried, since
# the branch itself is fine
RETRYABLE = ("Address already in use", "Kernel died before replying", "Kernel didn't respond", "kernel_info", "ZMQError")
ATTEMPTS = 3


class BatchBusy(RunError):
    """Another batch holds the lock for this output folder and period."""


@dataclass
class Outcome:
    """What became of one branch workbook."""

    file: str
    branch_id: str
    status: str  # done, reused, bad_input, failed
    where: str  # the run folder, or the file that lists the problems
    attempts: int
    seconds: float


def branch_files(inputs: str | Path) -> list[Path]:
    """The branch workbooks of a folder: ``*.xlsx``, without Office lock files (``~$...``)."""
    folder = Path(inputs)
    if not folder.is_dir():
        raise RunError(f"输入文件夹不存在 (inputs folder not found): {folder}")
    return sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith(("~$", ".")))


def _retryable(exc: BaseException) -> bool:
    text = f"{type(exc).__name__}: {exc}"
    return any(marker in text for marker in RETRYABLE)


def run_one(path: str, period: str, out: str, report_dir: str) -> Outcome:
    """Run one branch workbook; never raises. Problems go to ``report_dir/<file>.errors.csv``
    (bad input: file, sheet, row, column, value, problem) or ``<file>.error.txt`` (a failure)."""
    from .execute import find_reusable, run_branch
    from .inputs import load_inputs
    from .periods import parse_period

    started = time.perf_counter()
    src = Path(path)
    report = Path(report_dir)

    def outcome(status: str, where: Path | str, branch_id: str = "", attempts: int = 0) -> Outcome:
        return Outcome(src.name, branch_id, status, str(where), attempts, round(time.perf_counter() - started, 2))

    def failed(text: str, branch_id: str = "", attempts: int = 0) -> Outcome:
        err = report / f"{src.stem}.error.txt"
        err.write_text(text, encoding="utf-8")
        return outcome("failed", err, branch_id, attempts)

    try:
        book, sch = load_inputs(src, parse_period(period))
    except InputError as exc:
        err = report / f"{src.stem}.errors.csv"
        exc.failures.to_csv(err, index=False, encoding="utf-8-sig")  # -sig: Excel opens it as UTF-8
        (report / f"{src.stem}.errors.txt").write_text(str(exc), encoding="utf-8")
        return outcome("bad_input", err)
    except Exception:  # noqa: BLE001 - a worker reports, it does not raise
        return failed(traceback.format_exc())
    previous = find_reusable(out, parse_period(period).text, book.branch_id, book.sha256, sch.sha256)
    if previous is not None:
        return outcome("reused", previous, book.branch_id)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return outcome("done", run_branch(src, period, out), book.branch_id, attempt)
        except InputError as exc:  # the file changed between the check and the run
            return failed(str(exc), book.branch_id, attempt)
        except Exception as exc:  # noqa: BLE001
            if _retryable(exc) and attempt < ATTEMPTS:
                time.sleep(attempt)
                continue
            return failed(traceback.format_exc(), book.branch_id, attempt)
    raise AssertionError("unreachable")


@contextmanager
def period_lock(out: str | Path, period: str) -> Iterator[None]:
    """Hold ``OUT/.lock-PERIOD`` for the batch, or raise BatchBusy at once if another batch has it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f".lock-{period}"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            raise BatchBusy(f"{period} 的另一个批处理正在运行 (another batch for {period} is running in {out}: {holder}); 请等它结束后再运行, 未做任何改动 (nothing was changed)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {dt.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock; the file stays, empty locks are harmless


def _submit_local(jobs: int) -> tuple[Callable[..., Future[Outcome]], Callable[[], None]]:
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"))
    return pool.submit, lambda: pool.shutdown(wait=True, cancel_futures=True)


ROLLUP_ROW = "(单位汇总 roll-up)"


def _rollup(outcomes: list[Outcome], period: str, out_root: Path, report: Path) -> Outcome:
    """After the branches: the unit roll-up over every branch run of this batch (never raises)."""
    from .execute import ROLLUP_DIR, run_rollup

    started = time.perf_counter()
    runs = {o.branch_id: Path(o.where) for o in outcomes if o.status in ("done", "reused")}
    missing = [o.branch_id or o.file for o in outcomes if o.status not in ("done", "reused")]
    if not runs:
        return Outcome(ROLLUP_ROW, ROLLUP_DIR, "failed", "没有可汇总的支部运行 (no branch run to roll up)", 0, 0.0)
    try:
        folder, reused = run_rollup(runs, period, out_root, missing)
        return Outcome(ROLLUP_ROW, ROLLUP_DIR, "reused" if reused else "done", str(folder), 1, round(time.perf_counter() - started, 2))
    except Exception:  # noqa: BLE001 - reported in the table like a branch
        err = report / "rollup.error.txt"
        err.write_text(traceback.format_exc(), encoding="utf-8")
        return Outcome(ROLLUP_ROW, ROLLUP_DIR, "failed", str(err), 1, round(time.perf_counter() - started, 2))


def run_batch(
    inputs: str | Path,
    period: str,
    out: str | Path,
    jobs: int | None = None,
    scheduler: str | None = None,
    progress: TextIO | None = None,
) -> tuple[pd.DataFrame, Path]:
    """Run every branch of ``inputs`` for ``period``, then the unit roll-up (the table's last row);
    return the status table and the folder it was saved in.

    ``jobs`` worker processes on this machine (default: the number of cores), or the workers of
    the dask.distributed cluster at ``scheduler`` (the input and output folders must be visible
    to them at the same paths).
    """
    from tqdm import tqdm

    from .execute import clean_staging
    from .periods import parse_period

    p = parse_period(period)
    files = branch_files(inputs)
    if not files:
        raise RunError(f"输入文件夹中没有 .xlsx 工作簿 (no .xlsx workbooks in): {inputs}")
    out_root = Path(out).resolve()
    with period_lock(out_root, p.text):
        clean_staging(out_root)
        (out_root / BATCHES_DIR).mkdir(exist_ok=True)
        # mkdtemp: two batches started in the same second (e.g. a re-run) still get their own folder
        report = Path(tempfile.mkdtemp(prefix=f"{p.text}-{dt.datetime.now():%Y%m%dT%H%M%S}-", dir=out_root / BATCHES_DIR))
        report.chmod(0o755)
        outcomes: list[Outcome] = []
        if scheduler:
            from distributed import Client
            from distributed import as_completed as dask_completed

            client = Client(scheduler)
            futures = [client.submit(run_one, str(f.resolve()), p.text, str(out_root), str(report), pure=False) for f in files]
            completed: Any = dask_completed(futures)
            close = client.close
        else:
            submit, close = _submit_local(jobs or len(os.sched_getaffinity(0)))
            futures = [submit(run_one, str(f.resolve()), p.text, str(out_root), str(report)) for f in files]
            completed = as_completed(futures)
        try:
            with tqdm(total=len(files), desc=f"{p.text} 支部", unit="个", file=progress, dynamic_ncols=True) as bar:
                for future in completed:
                    o = future.result()
                    outcomes.append(o)
                    bad = sum(x.status in ("failed", "bad_input") for x in outcomes)
                    bar.update(1)
                    bar.set_postfix_str(f"完成 {len(outcomes) - bad}, 失败或输入有误 {bad}")
        finally:
            close()
        outcomes.sort(key=lambda o: o.file)
        outcomes.append(_rollup(outcomes, p.text, out_root, report))
        table = pd.DataFrame([asdict(o) for o in outcomes])
        table.insert(3, "状态", table["status"].map(STATUS_LABELS))
        table.to_csv(report / "status.csv", index=False, encoding="utf-8-sig")
    return table, report
