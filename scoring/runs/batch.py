"""Quarterly batch: every branch workbook in a folder through the branch-period notebook.

Each branch is one call of ``run_one`` in its own worker process (``concurrent.futures`` locally,
or a dask.distributed cluster with ``scheduler=``); a worker never raises, it returns the branch's
outcome, so one branch's bad input or failure never stops the others. A worker that dies (killed,
out of memory: ``BrokenProcessPool``, dask's ``KilledWorker``) is that branch's ``failed``
outcome, not the batch's end: on this machine the branches the broken pool took down with it are
run once more, each in its own process (``collect``, ``run_local``). Two workbooks of one branch
are both refused before anything runs. A branch whose input, scheme and code are unchanged since
its last run reuses that run. One batch per output folder and period at a time (a lock file);
staging folders left by a killed batch are removed by the next.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fcntl
import io
import os
import re
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from ..exceptions import FAILURE_COLUMNS, InputError, PeriodError, RunError
from ..outputs.csvfile import write_csv
from .processes import die_with_parent

STATUS_LABELS: dict[str, str] = {
    "done": "完成",
    "reused": "复用 (输入未变)",
    "not_this_period": "本期不评 (方案的评分周期更长)",
    "bad_input": "输入有误",
    "failed": "失败",
}

BATCHES_DIR = "batches"
# kernel start-up races between parallel papermill runs (papermill issue 511): retried, since
# the branch itself is fine
RETRYABLE = (
    "Address already in use",
    "Kernel died before replying",
    "Kernel didn't respond",
    "kernel_info",
    "ZMQError",
)
ATTEMPTS = 3


class BatchBusy(RunError):
    """Another batch holds the lock for this output folder and period."""


@dataclass
class Outcome:
    """What became of one branch workbook."""

    file: str
    branch_id: str
    status: str  # done, reused, not_this_period, bad_input, failed
    where: str  # the run folder, or the file that lists the problems
    attempts: int
    seconds: float
    subject: str = "member"  # branch: a unit's 支部联评联考 workbook (SPEC 3.9); branch_id is its unit id


def branch_files(inputs: str | Path) -> list[Path]:
    """The branch workbooks of a folder: ``*.xlsx``, without Office lock files (``~$...``)."""
    folder = Path(inputs)
    if not folder.is_dir():
        raise RunError(f"输入文件夹不存在 (inputs folder not found): {folder}")
    return sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith(("~$", ".")))


def _retryable(exc: BaseException) -> bool:
    text = f"{type(exc).__name__}: {exc}"
    return any(marker in text for marker in RETRYABLE)


def run_one(path: str, period: str, out: str, report_dir: str, warm: bool = True) -> Outcome:
    """Run one branch (or unit) workbook; never raises. Problems go to ``report_dir/<file>.errors.csv``
    (bad input: file, sheet, row, column, value, problem) or ``<file>.error.txt`` (a failure).

    The workbook is read once, by its notebook: the worker knows only its head (id, name, hash,
    scheme; :func:`scoring.runs.subjects.identify`) and reads it in full only when the head is not
    clean or the notebook found bad input, to write the problem table. ``warm``: on this worker's
    warm kernel (``scoring.runs.kernels``), kept between its branches."""
    from ..inputs.reading import period_not_formed
    from ..rules.periods import parse_period
    from .execute import find_reusable, run_branch
    from .subjects import Identified, identify, load

    started = time.perf_counter()
    src = Path(path)
    report = Path(report_dir)
    p = parse_period(period)
    subject = "member"

    def outcome(status: str, where: Path | str, branch_id: str = "", attempts: int = 0) -> Outcome:
        seconds = round(time.perf_counter() - started, 2)
        return Outcome(src.name, branch_id, status, str(where), attempts, seconds, subject)

    def failed(text: str, branch_id: str = "", attempts: int = 0) -> Outcome:
        err = report / f"{src.stem}.error.txt"
        err.write_text(text, encoding="utf-8")
        return outcome("failed", err, branch_id, attempts)

    def bad_input(exc: InputError) -> Outcome:  # named by its file: its id is not to be trusted
        if period_not_formed(exc):  # a yearly scheme in the quarterly batch: not an input error
            return outcome("not_this_period", str(exc.failures["problem"].iloc[0]))
        err = report / f"{src.stem}.errors.csv"
        write_csv(exc.failures, err, encoding="utf-8-sig")  # -sig: Excel opens it as UTF-8
        (report / f"{src.stem}.errors.txt").write_text(str(exc), encoding="utf-8")
        return outcome("bad_input", err)

    validated = None
    try:
        head = identify(src, p)
        if head is None:  # a head that is not clean: the full read says what is wrong
            loaded = load(src, p)
            head, validated = Identified.of(loaded), (loaded.book, loaded.scheme)
    except PeriodError as exc:  # a half-year of a unit's assessment (月评季考年定级)
        return outcome("not_this_period", str(exc))
    except InputError as exc:
        return bad_input(exc)
    except Exception:
        return failed(traceback.format_exc())
    subject, folder_id = head.subject.kind, head.folder_id
    previous = find_reusable(out, p.text, folder_id, head.sha256, head.scheme.sha256, head.subject)
    if previous is not None:
        return outcome("reused", previous, folder_id)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            run = run_branch(src, period, out, warm=warm, validated=validated, identified=head)
            return outcome("done", run, folder_id, attempt)
        except InputError as exc:  # found by the notebook's reading (or the file changed since its head was read)
            return bad_input(exc)
        except Exception as exc:
            if _retryable(exc) and attempt < ATTEMPTS:
                time.sleep(attempt)
                continue
            return failed(traceback.format_exc(), folder_id, attempt)
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
            raise BatchBusy(
                f"{period} 的另一个批处理正在运行 (another batch for {period} is running in {out}: {holder}); "
                "请等它结束后再运行, 未做任何改动 (nothing was changed)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {dt.datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock; the file stays, empty locks are harmless


def read_branch_id(path: Path) -> str | None:
    """The branch_id a workbook's branch sheet gives, checked as ``load_inputs`` checks it; None
    when the file, the sheet or the id is unusable (the worker then reports the bad input in full).
    Reads only the branch sheet: the batch needs every file's id before it runs any of them."""
    found = _branch_id_cell(path)
    return found[0] if found else None


def _branch_id_cell(path: Path) -> tuple[str, str, int] | None:
    """(branch_id, sheet name, Excel row) of a workbook's branch_id, as ``read_branch_id``."""
    from python_calamine import CalamineWorkbook

    from ..inputs.reading import BRANCH_KEYS, SHEETS, _find_sheet, _header_key, _norm, _show

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
        sheet = _find_sheet(list(wb.sheet_names), SHEETS["branch"])
        if sheet is None:
            return None
        names = {_norm("branch_id"): "branch_id", _norm(BRANCH_KEYS["branch_id"]): "branch_id"}
        for n, row in enumerate(wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False), start=1):
            if len(row) >= 2 and _header_key(row[0], names) == "branch_id":
                branch_id = _show(row[1]).strip()
                return (branch_id, sheet, n) if re.match(r"^[A-Za-z0-9_\-]+$", branch_id) else None
    except Exception:
        return None
    return None


def duplicate_branches(files: list[Path], report: Path) -> tuple[list[Outcome], dict[Path, str]]:
    """Refuse every workbook whose branch_id another workbook of the batch also has: each is a
    ``bad_input`` outcome naming the other file(s), and none of them is run (which one is right
    is for the branch to say; the roll-up would otherwise keep one of them silently).

    Returns (the refused outcomes, branch_id of every file whose id could be read)."""
    cells = {f: c for f in files if (c := _branch_id_cell(f)) is not None}
    ids = {f: c[0] for f, c in cells.items()}
    by_id: dict[str, list[Path]] = {}
    for f, b in ids.items():
        by_id.setdefault(b, []).append(f)
    refused = []
    for b, group in sorted(by_id.items()):
        if len(group) < 2:
            continue
        for f in group:
            others = ", ".join(o.name for o in group if o != f)
            problem = (
                f"支部编号 {b} 与 {others} 重复: 一个批次中每个支部只能有一个工作簿, 这些工作簿都未运行 "
                f"(branch_id {b} is also the branch of {others}: "
                "one workbook per branch in a batch; none of them was run)"
            )
            _, sheet, row = cells[f]
            failures = pd.DataFrame(
                [
                    {
                        "file": f.name,
                        "sheet": "branch",
                        "row": row,
                        "column": "branch_id",
                        "cell": f"{sheet}!B{row}",
                        "value": b,
                        "problem": problem,
                        "allowed": "每个支部一个工作簿 (one workbook per branch_id)",
                    }
                ]
            ).reindex(columns=FAILURE_COLUMNS)
            err = report / f"{f.stem}.errors.csv"
            write_csv(failures, err, encoding="utf-8-sig")
            (report / f"{f.stem}.errors.txt").write_text(problem + "\n", encoding="utf-8")
            refused.append(Outcome(f.name, b, "bad_input", str(err), 0, 0.0))
    return refused, ids


def _crashed(file: Path, branch_id: str, report: Path, exc: BaseException, seconds: float, alone: bool) -> Outcome:
    """The outcome of a branch whose future raised instead of returning (its worker died, the
    cluster lost it): ``failed``, with the error in ``report/<stem>.error.txt``."""
    if alone:
        head = (
            "该支部在单独的进程中重新运行, 进程再次异常退出 "
            "(the branch was run again alone in its own process and its worker died again, "
            "e.g. out of memory or killed)"
        )
    elif isinstance(exc, BrokenProcessPool):
        head = "工作进程异常退出 (a worker process of the batch died, e.g. out of memory or killed)"
    else:
        head = "工作进程没有返回结果 (the worker did not return a result: it died or the cluster lost the task)"
    err = report / f"{file.stem}.error.txt"
    try:
        detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    except Exception:
        detail = f"{type(exc).__name__} (无法显示 message not printable)\n"
    err.write_text(f"{head}\n\n{detail}", encoding="utf-8")
    return Outcome(file.name, branch_id, "failed", str(err), 0, round(seconds, 2))


def collect(
    futures: dict[Any, Path],
    completed: Iterable[Any],
    report: Path,
    tick: Callable[[Outcome], None],
    ids: dict[Path, str] | None = None,
    retry_broken: bool = False,
    alone: bool = False,
) -> tuple[list[Outcome], list[Path]]:
    """Resolve every future (``concurrent.futures`` or dask) of ``futures`` (future -> workbook)
    to an Outcome, in the order ``completed`` yields them; never raises for a future.

    A future that raises is that workbook's ``failed`` outcome (``_crashed``), except, with
    ``retry_broken``, a ``BrokenProcessPool``: a dead worker breaks the whole local pool and
    every branch still in it with it, so those workbooks are returned to be run again instead.
    ``tick`` is called with each final outcome (the progress bar)."""
    started = time.perf_counter()
    ids = ids or {}
    outcomes: list[Outcome] = []
    broken: list[Path] = []
    for future in completed:
        file = futures[future]
        try:
            o = future.result()
        except (Exception, asyncio.CancelledError) as exc:
            if retry_broken and isinstance(exc, BrokenProcessPool):
                broken.append(file)
                continue
            o = _crashed(file, ids.get(file, ""), report, exc, time.perf_counter() - started, alone)
        outcomes.append(o)
        tick(o)
    return outcomes, broken


def _pool(jobs: int) -> ProcessPoolExecutor:
    # spawn: a clean interpreter per worker (no forked kernel sockets or threads). A worker dies
    # with the batch: one left running after a SIGKILL of the batch alone would seal its branch
    # while the next batch, no longer locked out, runs it again
    return ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), initializer=die_with_parent)


def run_local(
    files: list[Path],
    args: tuple[str, str, str, bool],
    jobs: int,
    report: Path,
    tick: Callable[[Outcome], None],
    ids: dict[Path, str] | None = None,
) -> list[Outcome]:
    """Every workbook through ``run_one(file, *args)`` in ``jobs`` worker processes on this machine.

    When a worker dies the pool breaks and fails every branch still in it, not only the one that
    killed it; those are then run once more, each in a pool of its own (``jobs`` at a time), so a
    branch that kills its worker again fails alone and the others complete."""
    pool = _pool(jobs)
    futures: dict[Future[Outcome], Path] = {}
    broken: list[Path] = []
    try:
        for f in files:
            try:
                futures[pool.submit(run_one, str(f.resolve()), *args)] = f
            except BrokenProcessPool:  # the pool broke while we were still submitting
                broken.append(f)
        outcomes, lost = collect(futures, as_completed(futures), report, tick, ids, retry_broken=True)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    broken += lost
    if broken:
        from .execute import clean_staging

        clean_staging(args[1])  # the dead workers' staging folders: their pids are gone now
        outcomes += _run_alone(sorted(broken), args, jobs, report, tick, ids)
    return outcomes


def _run_alone(
    files: list[Path],
    args: tuple[str, str, str, bool],
    jobs: int,
    report: Path,
    tick: Callable[[Outcome], None],
    ids: dict[Path, str] | None,
) -> list[Outcome]:
    """Each workbook in a one-worker pool of its own, at most ``jobs`` pools at a time."""
    queue = list(files)
    running: dict[Future[Outcome], tuple[Path, ProcessPoolExecutor]] = {}
    outcomes: list[Outcome] = []
    try:
        while queue or running:
            while queue and len(running) < jobs:
                f = queue.pop(0)
                pool = _pool(1)
                running[pool.submit(run_one, str(f.resolve()), *args)] = (f, pool)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            finished = {fut: running[fut][0] for fut in done}
            for fut in done:
                running.pop(fut)[1].shutdown(wait=True)
            outcomes += collect(finished, list(done), report, tick, ids, alone=True)[0]
    finally:
        for _, pool in running.values():
            pool.shutdown(wait=True, cancel_futures=True)
    return outcomes


ROLLUP_ROW = "(单位汇总 roll-up)"


def _rollup(outcomes: list[Outcome], period: str, out_root: Path, report: Path, jobs: int) -> Outcome:
    """After the branches: the unit roll-up over every branch run of this batch, its inputs read
    with ``jobs`` processes on this machine (never raises)."""
    from .execute import ROLLUP_DIR, run_rollup

    started = time.perf_counter()
    done = [o for o in outcomes if o.status in ("done", "reused")]
    good = [o for o in done if o.subject == "member"]
    runs = {o.branch_id: Path(o.where) for o in good}
    assessed = {o.branch_id: Path(o.where) for o in done if o.subject == "branch"}  # units' 联评联考 runs
    # a branch refused as a duplicate is listed once (its id), a file without an id by its name
    scored = ("done", "reused", "not_this_period")
    missing = sorted({o.branch_id or o.file for o in outcomes if o.status not in scored})
    if not runs:
        return Outcome(ROLLUP_ROW, ROLLUP_DIR, "failed", "没有可汇总的支部运行 (no branch run to roll up)", 0, 0.0)
    if len(runs) < len(good):  # duplicates are refused before running; this guards the roll-up anyway
        twice = sorted({o.branch_id for o in good if sum(x.branch_id == o.branch_id for x in good) > 1})
        err = report / "rollup.error.txt"
        err.write_text(
            "同一支部有多个运行, 未汇总 "
            f"(more than one run of branch(es) {', '.join(twice)} in this batch: no roll-up)\n",
            encoding="utf-8",
        )
        return Outcome(ROLLUP_ROW, ROLLUP_DIR, "failed", str(err), 0, 0.0)
    try:
        folder, reused = run_rollup(runs, period, out_root, missing, jobs=jobs, assessment_runs=assessed)
        return Outcome(
            ROLLUP_ROW,
            ROLLUP_DIR,
            "reused" if reused else "done",
            str(folder),
            1,
            round(time.perf_counter() - started, 2),
        )
    except Exception:
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
    warm: bool = True,
) -> tuple[pd.DataFrame, Path]:
    """Run every branch of ``inputs`` for ``period``, then the unit roll-up (the table's last row);
    return the status table and the folder it was saved in.

    ``jobs`` worker processes on this machine (default: the number of cores), or the workers of
    the dask.distributed cluster at ``scheduler`` (the input and output folders must be visible
    to them at the same paths). ``warm``: each worker keeps one kernel for all its branches
    (``scoring.runs.kernels``; the notebooks are the same as on fresh kernels), else a fresh kernel
    per branch.
    """
    from tqdm import tqdm

    from ..rules.periods import parse_period
    from .execute import clean_staging

    p = parse_period(period)
    files = branch_files(inputs)
    if not files:
        raise RunError(f"输入文件夹中没有 .xlsx 工作簿 (no .xlsx workbooks in): {inputs}")
    out_root = Path(out).resolve()
    local_jobs = jobs or len(os.sched_getaffinity(0))
    with period_lock(out_root, p.text):
        clean_staging(out_root)
        (out_root / BATCHES_DIR).mkdir(exist_ok=True)
        # mkdtemp: two batches started in the same second (e.g. a re-run) still get their own folder
        report = Path(
            tempfile.mkdtemp(prefix=f"{p.text}-{dt.datetime.now():%Y%m%dT%H%M%S}-", dir=out_root / BATCHES_DIR)
        )
        report.chmod(0o755)
        outcomes, ids = duplicate_branches(files, report)
        refused = {o.file for o in outcomes}
        todo = [f for f in files if f.name not in refused]
        args = (p.text, str(out_root), str(report), warm)
        with tqdm(total=len(files), desc=f"{p.text} 支部", unit="个", file=progress, dynamic_ncols=True) as bar:

            def tick(o: Outcome) -> None:
                outcomes.append(o)
                bad = sum(x.status in ("failed", "bad_input") for x in outcomes)
                bar.update(1)
                bar.set_postfix_str(f"完成 {len(outcomes) - bad}, 失败或输入有误 {bad}")

            bar.update(len(outcomes))  # the refused duplicates
            if todo and scheduler:
                from distributed import Client
                from distributed import as_completed as dask_completed

                client = Client(scheduler)  # type: ignore[no-untyped-call]  # distributed leaves it unannotated
                try:
                    futures = {client.submit(run_one, str(f.resolve()), *args, pure=False): f for f in todo}
                    # dask re-runs a task whose worker died and raises KilledWorker when it keeps
                    # dying: that branch's failed outcome (collect)
                    completed = dask_completed(list(futures))  # type: ignore[no-untyped-call]  # unannotated, as Client
                    collect(futures, completed, report, tick, ids)
                finally:
                    client.close()  # type: ignore[no-untyped-call]  # unannotated, as Client
            elif todo:
                run_local(todo, args, local_jobs, report, tick, ids)
        outcomes.sort(key=lambda o: o.file)
        outcomes.append(_rollup(outcomes, p.text, out_root, report, local_jobs))
        table = pd.DataFrame([asdict(o) for o in outcomes])
        table.insert(3, "状态", table["status"].map(STATUS_LABELS))
        write_csv(table, report / "status.csv", encoding="utf-8-sig")
    return table, report
