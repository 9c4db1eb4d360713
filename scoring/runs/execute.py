"""Run one branch (or one unit's branch assessment, SPEC 3.9) for one period: validate, execute the
notebook with papermill, seal the folder.

The notebook runs in a staging folder beside the runs; only when it has finished and the manifest
is written is the folder renamed into place (``OUT/PERIOD/BRANCH/vNNN``, ``OUT/PERIOD/UNIT/vNNN``
for a unit workbook) in one step, so a run folder is never half-written and an earlier run is never
touched. Bad input stops everything before any folder is made.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..exceptions import ArgumentError, RunError
from ..inputs.reading import InputBook
from ..inputs.unit import UnitBook
from ..rules.engine.cases import next_working_day
from ..rules.engine.prior import Prior
from ..rules.periods import Period, parse_period
from ..rules.scheme import LoadedScheme, load_scheme
from . import environment
from .codeversion import NOTEBOOK as NOTEBOOK  # as X: still execute's names (explicit re-export)
from .codeversion import REPO_ROOT as REPO_ROOT
from .codeversion import code_sha256 as code_sha256
from .folders import ARCHIVE_DIR as ARCHIVE_DIR  # as X: still execute's names (explicit re-export)
from .folders import MANIFEST as MANIFEST
from .folders import sha256_file as sha256_file
from .processes import alive
from .subjects import MEMBERS, Identified, Loaded, Subject, load

KERNEL_NAME = "scoring"


def git_state(root: Path = REPO_ROOT) -> dict[str, Any]:
    """Commit and dirtiness of the source tree the package runs from (None outside git)."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return {"commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def kernel_for_runs() -> tuple[str, str]:
    """The kernelspec to run notebooks with and its interpreter: ``scoring`` when registered
    (``make`` registers it from .venv), else the current interpreter's ``python3``."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    ksm = KernelSpecManager()
    for name in (KERNEL_NAME, "python3"):
        try:
            spec = ksm.get_kernel_spec(name)
        except NoSuchKernel:
            continue
        exe = spec.argv[0]
        return name, (sys.executable if exe in {"python", "python3", "{python}"} else exe)
    raise RunError(
        "找不到 Jupyter 内核 (no Jupyter kernel): run `make demo`"
        " or `python -m ipykernel install --sys-prefix --name scoring`"
    )


STAGING_PREFIX = ".staging-"


def find_reusable(
    out: str | Path,
    period: str,
    branch_id: str,
    input_sha256: str,
    scheme_sha256: str,
    subject: Subject = MEMBERS,
) -> Path | None:
    """The latest sealed run of this branch (or unit: ``branch_id`` is then the unit's id and
    ``subject`` BRANCHES) and period made from the same input, scheme, code and environment, and
    (a branch's run) from the same earlier sealed runs with the same files (SPEC 8), if there is
    one: re-running it would only make an identical new version."""
    from .record import prior_refs, prior_runs

    code = code_sha256(subject.notebook)
    env = environment.describe(kernel_for_runs()[1])["sha256"]
    root = Path(out).resolve()
    folder = root / period / branch_id
    prior = prior_refs(root, prior_runs(root, branch_id, period)) if subject is MEMBERS and root.is_dir() else []
    for run in sorted(folder.glob("v[0-9][0-9][0-9]"), reverse=True):
        try:
            m = json.loads((run / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (
            m.get("inputs", [{}])[0].get("sha256") == input_sha256
            and m.get("scheme", {}).get("sha256") == scheme_sha256
            and m.get("package", {}).get("code_sha256") == code
            and m.get("environment", {}).get("sha256") == env
            and m.get("prior_runs", []) == prior
        ):
            return run
    return None


def host_name() -> str:
    """This machine's name as it appears in staging folder names: letters, digits, ``.`` and
    ``-`` only, so the ``_`` after it in a staging name is unambiguous."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "localhost"


def staging_dir(out_root: Path, label: str) -> Path:
    """A new private staging folder ``OUT/.staging-<host>_<pid>-<label>-XXXX``.

    Host and pid let a later batch remove what a killed process left (``clean_staging``): the
    output folder may be shared by several machines (dask workers on NFS), and a pid means
    something only on the machine that made it."""
    return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{host_name()}_{os.getpid()}-{label}-", dir=out_root))


def staging_owner(folder: Path) -> tuple[str, int] | None:
    """(host, pid) of a staging folder made by ``staging_dir``, or None for any other name
    (including the older ``.staging-<pid>-...`` names, which do not say their host)."""
    m = re.match(rf"^{re.escape(STAGING_PREFIX)}([A-Za-z0-9.-]+)_(\d+)-", folder.name)
    return (m.group(1), int(m.group(2))) if m else None


def clean_staging(out: str | Path) -> list[Path]:
    """Remove this machine's staging folders whose process is gone (killed mid-run); returns what
    was removed. Another machine's staging folders are never touched: their pids are not ours to
    test, and the run may be alive there."""
    removed = []
    here = host_name()
    for d in Path(out).glob(f"{STAGING_PREFIX}*"):
        owner = staging_owner(d)
        if owner is not None and owner[0] == here and not alive(owner[1]):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _claim(staging: Path, parent: Path) -> Path:
    """Rename ``staging`` to the next free ``vNNN`` under ``parent``, atomically."""
    parent.mkdir(parents=True, exist_ok=True)
    existing = [int(p.name[1:]) for p in parent.glob("v[0-9][0-9][0-9]") if p.name[1:].isdigit()]
    n = max(existing, default=0) + 1
    while True:
        target = parent / f"v{n:03d}"
        if not target.exists():
            try:
                os.rename(staging, target)  # fails if a concurrent run took the name (non-empty)
                return target
            except OSError:
                pass
        n += 1


def archive(source: Path, sha256: str, out_root: Path) -> Path:
    """Copy ``source`` to ``OUT/.archive/<sha256><suffix>`` (once; read-only) and return that path.

    Raises RunError if the file no longer has the hash it was validated with."""
    folder = out_root / ARCHIVE_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    target = folder / f"{sha256}{source.suffix.lower()}"
    if target.exists():
        return target
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        if sha256_file(Path(tmp)) != sha256:
            raise RunError(f"文件在运行开始时被修改 (the file changed while the run started): {source}")
        os.chmod(tmp, 0o400)
        os.replace(tmp, target)  # one rename: the archive never holds half a file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _relative(path: Path, out_root: Path) -> str:
    """``path`` as seen from a run folder ``OUT/PERIOD/BRANCH/vNNN``."""
    return "../../../" + path.relative_to(out_root).as_posix()


def _seal(staging: Path, manifest: dict[str, Any], parent: Path) -> Path:
    """Hash the staged outputs into the manifest, make every file read-only and move the folder
    into place as the next ``vNNN`` under ``parent``."""
    # files in sub-folders too (积分卡/<member_id>.pdf, 通知书/...), named by their path in the run
    outputs = sorted((f.relative_to(staging).as_posix(), f) for f in staging.rglob("*") if f.is_file())
    manifest["outputs"] = [{"file": rel, "sha256": sha256_file(f), "bytes": f.stat().st_size} for rel, f in outputs]
    (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for f in staging.rglob("*"):
        if f.is_file():
            f.chmod(0o444)  # a run is never modified; approvals are new files beside it
    staging.chmod(0o755)  # mkdtemp makes it private; a run folder is for reviewers to read
    return _claim(staging, parent)


def run_branch(
    inputs: str | Path,
    period: str,
    out: str | Path,
    member_id: str = "",
    scheme: str = "",
    log_output: bool = False,
    warm: bool = False,
    validated: tuple[InputBook | UnitBook, LoadedScheme] | None = None,
    branch_id: str = "",
    identified: Identified | None = None,
    publicity_start: str = "",
) -> Path:
    """Validate the inputs, execute the run's notebook and return the sealed run folder.

    A branch workbook executes the branch-period notebook (tracing ``member_id``) into
    ``OUT/PERIOD/BRANCH/vNNN``; a unit workbook (SPEC 3.9) the unit-period notebook (tracing
    ``branch_id``) into ``OUT/PERIOD/UNIT/vNNN``, with ``"subject": "branch"`` in its manifest.
    ``warm``: execute on this worker's warm kernel (``scoring.runs.kernels``) instead of a fresh one;
    a batch does, since its workers run many branches. ``validated``: what ``load_inputs`` already
    returned for this file and period (the batch validates first); the archived copy is still
    checked against its hash, so a file changed since then stops the run. ``identified``: only the
    workbook's head is known (:func:`scoring.runs.subjects.identify`, a batch's worker): the
    notebook's reading is the check, and on bad input the InputError of a full read is raised,
    with nothing written. ``publicity_start``: the first day of the 公示 (``YYYY-MM-DD``); default
    the branch sheet's, else the next working day after today (SPEC 8: a year run's follow-up
    cases open on its last day). The earlier sealed runs of the branch the run starts from
    (:func:`scoring.runs.record.prior_runs`) are decided here, passed to the notebook and recorded
    in the manifest with the SHA-256 of each file read; an outcome for no open case of their
    register is bad input."""
    import papermill as pm

    from .kernels import ENGINE_NAME

    inputs_path = Path(inputs).resolve()
    p = parse_period(period)
    chosen: LoadedScheme | None = load_scheme(scheme) if scheme else None
    loaded: Loaded | None = None
    if identified is not None and validated is None and not scheme:
        head = identified
    else:  # raises InputError before anything is written
        loaded = Loaded(*validated) if validated is not None and not scheme else load(inputs_path, p, chosen)
        head = Identified.of(loaded)
    sch, subject = head.scheme, head.subject
    traced, other = (member_id, branch_id) if subject is MEMBERS else (branch_id, member_id)
    if other:  # a member to trace in a unit's run, or a branch in a branch's run
        raise ArgumentError(
            f"{inputs_path.name} 考评的是{subject.word}, 不能追溯 {other}"
            f" (this workbook scores {subject.english}: name one with {subject.option})"
        )
    if traced:
        (loaded or load(inputs_path, p, chosen)).check_traced(traced)
    out_root = Path(out).resolve()
    prior = _prior_plan(out_root, head, p, loaded, publicity_start)
    notebook = subject.notebook
    if not notebook.exists():
        raise RunError(f"找不到笔记本 (notebook missing): {notebook}")
    kernel, interpreter = kernel_for_runs()
    env = environment.describe(interpreter)
    out_root.mkdir(parents=True, exist_ok=True)
    started = _now()
    git = git_state()
    folder_id = head.folder_id
    identity = head.identity()
    provenance: dict[str, Any] = {
        **{k: v for k, v in identity.items() if k != "subject"},
        "period": p.text,
        "input_file": inputs_path.name,
        "input_sha256": head.sha256,
        "scheme_name": sch.name,
        "scheme_version": sch.version,
        "scheme_sha256": sch.sha256,
        "package_version": __version__,
        "git_commit": git["commit"] or "",
        "git_dirty": str(git["dirty"]),
        "started_at": started,
        **prior.provenance(),
    }
    staging = staging_dir(out_root, f"{folder_id}-{p.text}")
    try:
        notebook_out = staging / f"{folder_id}_{p.text}.ipynb"
        # the notebook a reviewer receives names no path of this machine (SPEC 9): its files are
        # given relative to the runs folder, where the kernel works, so they still hold after the
        # staging folder is renamed into place (the manifest keeps the full paths)
        parameters = {
            "inputs_path": os.path.relpath(inputs_path, out_root),
            "period": p.text,
            "out_dir": os.path.relpath(staging, out_root),
            subject.key: traced,
            "scheme": os.path.relpath(sch.path, out_root) if scheme else "",
            "provenance": provenance,
            **prior.parameters(),
        }
        recorded = {**parameters, "inputs_path": str(inputs_path), "scheme": str(sch.path) if scheme else ""}
        try:
            # written once at the end (and on a failure, with the error), not after every cell: the
            # staging folder is not read while the notebook runs, and each save re-validates it
            pm.execute_notebook(
                str(notebook),
                str(notebook_out),
                parameters=parameters,
                kernel_name=kernel,
                request_save_on_cell_execute=False,
                progress_bar=False,
                log_output=log_output,
                cwd=str(out_root),
                **({"engine_name": ENGINE_NAME, "kernel_cwd": str(out_root)} if warm else {}),
            )
        except pm.PapermillExecutionError as exc:
            if loaded is None and exc.ename in ("InputError", "PeriodError"):
                # the notebook found bad input: its full report, nothing written
                load(inputs_path, p, chosen, prior.load_cases(out_root))
            keep = Path(tempfile.mkdtemp(prefix="scoring-failed-")) / notebook_out.name
            if notebook_out.exists():
                shutil.copy2(notebook_out, keep)
            raise RunError(
                f"笔记本执行失败 (notebook failed): {exc.ename}: {exc.evalue}; executed notebook kept at {keep}"
            ) from exc
        # archived once the notebook has read them: a bad input leaves nothing in the runs folder
        input_copy = archive(inputs_path, head.sha256, out_root)
        scheme_copy = archive(Path(sch.path), sch.sha256, out_root)
        manifest = {
            "manifest_version": 1,
            # written once, never changed: approvals are separate approval-*.json files (review.py)
            "status": "draft",
            # what was scored (member: a branch's members; branch: a unit's branches) and by whom
            # the run folders are named (branch_id / branch_name, or unit_id / unit_name)
            **identity,
            "period": p.text,
            "inputs": [
                {
                    "file": inputs_path.name,
                    "path": str(inputs_path),
                    "sha256": head.sha256,
                    "archived": _relative(input_copy, out_root),
                }
            ],
            "scheme": {
                "name": sch.name,
                "version": sch.version,
                "sha256": sch.sha256,
                "path": str(sch.path),
                "archived": _relative(scheme_copy, out_root),
            },
            "package": {
                "name": "scoring",
                "version": __version__,
                "git_commit": git["commit"],
                "git_dirty": git["dirty"],
                "code_sha256": code_sha256(notebook),
            },
            "kernel": {"name": kernel, "interpreter": interpreter, "warm": warm},
            # the kernel's interpreter and every distribution it could import, with one SHA-256
            "environment": env,
            "parameters": {k: v for k, v in recorded.items() if k not in {"out_dir", "provenance"}},
            # the earlier sealed runs this run started from (SPEC 8): role, run, file read, SHA-256
            "prior_runs": prior.refs,
            "started_at": started,
            "finished_at": _now(),
        }
        return _seal(staging, manifest, out_root / p.text / folder_id)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


@dataclass(frozen=True)
class _PriorPlan:
    """What a run hands its notebook of the record across years (SPEC 8): the prior runs (role ->
    folder relative to the runs folder), the files they hand in with their SHA-256, and the
    first day of the 公示."""

    runs: dict[str, str]
    refs: list[dict[str, str]]
    publicity_start: str  # YYYY-MM-DD; "" for a unit's run (no 公示 of members, no case)

    def parameters(self) -> dict[str, Any]:
        """The notebook's parameters ``prior_runs`` and ``publicity_start`` (a unit's notebook has neither)."""
        return {"prior_runs": self.runs, "publicity_start": self.publicity_start} if self.publicity_start else {}

    def provenance(self) -> dict[str, str]:
        if not self.publicity_start:
            return {}
        runs = "; ".join(f"{r['role']}: {r['run']}/{r['file']} SHA-256 {r['sha256']}" for r in self.refs)
        return {"publicity_start": self.publicity_start, "prior_runs": runs or "无 (none)"}

    def load_cases(self, out_root: Path) -> Prior | None:
        """The register of the ``cases`` run (what an outcome is checked against); None for a unit."""
        from .record import load_prior

        if not self.publicity_start:
            return None
        return load_prior(out_root, {k: v for k, v in self.runs.items() if k == "cases"})


def _prior_plan(
    out_root: Path, head: Identified, period: Period, loaded: Loaded | None, publicity_start: str
) -> _PriorPlan:
    """Decide the prior runs and the 公示's first day of a branch's run before anything is written;
    check this workbook's follow_up_outcomes against the register when the workbook was read
    here (a batch's worker: the notebook checks, and a failure is re-read with the register)."""
    from ..inputs.reading import check_outcomes_against
    from .record import prior_refs, prior_runs

    if head.subject is not MEMBERS:
        return _PriorPlan({}, [], "")
    runs = prior_runs(out_root, head.folder_id, period) if out_root.is_dir() else {}
    given = publicity_start or head.publicity_start
    start = dt.date.fromisoformat(given) if given else next_working_day(dt.date.today())
    plan = _PriorPlan(runs, prior_refs(out_root, runs), start.isoformat())
    if loaded is not None and isinstance(loaded.book, InputBook) and len(loaded.book.follow_up_outcomes):
        cases = plan.load_cases(out_root)
        source = runs.get("cases", "")
        check_outcomes_against(loaded.book, cases.cases if cases is not None else Prior().cases, source)
    return plan


ROLLUP_NOTEBOOK: Path = REPO_ROOT / "notebooks" / "rollup.ipynb"
ROLLUP_DIR = "_rollup"  # OUT/PERIOD/_rollup/vNNN, beside the branch folders


def find_reusable_rollup(
    folder: Path,
    refs: list[dict[str, str]],
    missing: list[str],
    code: str,
    env: str,
    assessment_refs: list[dict[str, str]] | None = None,
) -> Path | None:
    """The latest roll-up under ``folder`` (``OUT/PERIOD/_rollup``) over the same branch runs and
    missing branches, made by the same code (``code_sha256(ROLLUP_NOTEBOOK)``) in the same
    environment (its SHA-256, ``env``), if there is one."""
    for previous in sorted(folder.glob("v[0-9][0-9][0-9]"), reverse=True):
        try:
            m = json.loads((previous / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (
            m.get("branch_runs") == refs
            and m.get("assessment_runs", []) == (assessment_refs or [])
            and m.get("missing") == sorted(missing)
            and m.get("package", {}).get("code_sha256") == code
            and m.get("environment", {}).get("sha256") == env
        ):
            return previous
    return None


def _run_refs(key: str, runs: dict[str, Path], start: Path) -> list[dict[str, str]]:
    """Sealed runs as a roll-up's manifest references them: the id, the run relative to the
    roll-up's run folder, and the SHA-256 of its manifest and summary.csv."""
    return [
        {
            key: k,
            "run": os.path.relpath(r, start),
            "manifest_sha256": sha256_file(Path(r) / MANIFEST),
            "summary_sha256": sha256_file(Path(r) / "summary.csv"),
        }
        for k, r in sorted(runs.items())
    ]


def run_rollup(
    branch_runs: dict[str, Path],
    period: str,
    out: str | Path,
    missing: list[str] | None = None,
    log_output: bool = False,
    jobs: int = 1,
    assessment_runs: dict[str, Path] | None = None,
) -> tuple[Path, bool]:
    """Execute the roll-up notebook over sealed branch runs; return (run folder, reused).
    ``jobs``: processes reading the branch inputs (the notebook's ``jobs``; not part of the reuse
    key, since it changes no figure). ``assessment_runs``: the unit's 支部联评联考 runs of the
    period by unit id (SPEC 3.9), shown beside each branch; part of the reuse key.

    The manifest references each branch run by the SHA-256 of its manifest and summary.csv; a
    roll-up over the same branch runs with the same code is reused rather than repeated.
    """
    import papermill as pm

    p = parse_period(period)
    out_root = Path(out).resolve()
    rollup_run = out_root / p.text / ROLLUP_DIR / "v000"  # where the roll-up's references start
    refs = _run_refs("branch_id", branch_runs, rollup_run)
    assessed = assessment_runs or {}
    assessment_refs = _run_refs("unit_id", assessed, rollup_run)
    # the roll-up's own notebook is part of its key: an edited rollup.ipynb makes a new roll-up
    code = code_sha256(ROLLUP_NOTEBOOK)
    folder = out_root / p.text / ROLLUP_DIR
    kernel, interpreter = kernel_for_runs()
    env = environment.describe(interpreter)
    previous = find_reusable_rollup(folder, refs, missing or [], code, env["sha256"], assessment_refs)
    if previous is not None:
        return previous, True
    started = _now()
    git = git_state()
    provenance = {
        "unit_rollup_period": p.text,
        "branches": len(refs),
        "package_version": __version__,
        "git_commit": git["commit"] or "",
        "started_at": started,
    }
    staging = staging_dir(out_root, f"{ROLLUP_DIR}-{p.text}")
    try:
        notebook_out = staging / f"单位汇总_{p.text}.ipynb"
        parameters = {
            "period": p.text,
            # relative to the runs folder, where the kernel works (SPEC 9)
            "branch_runs": {b: os.path.relpath(Path(r).resolve(), out_root) for b, r in branch_runs.items()},
            "missing": sorted(missing or []),
            "out_dir": os.path.relpath(staging, out_root),
            "provenance": provenance,
            "jobs": jobs,
            "assessment_runs": {u: os.path.relpath(Path(r).resolve(), out_root) for u, r in assessed.items()},
        }
        try:
            pm.execute_notebook(
                str(ROLLUP_NOTEBOOK),
                str(notebook_out),
                parameters=parameters,
                kernel_name=kernel,
                request_save_on_cell_execute=False,
                progress_bar=False,
                log_output=log_output,
                cwd=str(out_root),
            )
        except pm.PapermillExecutionError as exc:
            raise RunError(f"汇总笔记本执行失败 (roll-up notebook failed): {exc.ename}: {exc.evalue}") from exc
        manifest = {
            "manifest_version": 1,
            "kind": "rollup",
            "status": "draft",
            "period": p.text,
            "branch_runs": refs,
            "assessment_runs": assessment_refs,
            "missing": sorted(missing or []),
            "package": {
                "name": "scoring",
                "version": __version__,
                "git_commit": git["commit"],
                "git_dirty": git["dirty"],
                "code_sha256": code,
            },
            "kernel": {"name": kernel, "interpreter": interpreter},
            "environment": env,
            "started_at": started,
            "finished_at": _now(),
        }
        return _seal(staging, manifest, folder), False
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


REVIEW_NOTEBOOK: Path = REPO_ROOT / "notebooks" / "review.ipynb"


def run_review(run: str | Path, out: str | Path | None = None, holidays: list[str] | None = None) -> Path:
    """Execute the reviewer notebook for a sealed run; the executed notebook goes beside the run's
    versions, in ``BRANCH/reviews/`` (never into the run folder, which is not changed).
    ``holidays``: public holidays (``YYYY-MM-DD``) not counted as working days of the 公示 period."""
    import papermill as pm

    run = Path(run).resolve()
    if not (run / MANIFEST).is_file():
        raise RunError(f"不是运行文件夹 (not a run folder): {run}")
    kernel, _ = kernel_for_runs()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = Path(out) if out else run.parent / "reviews" / f"{run.name}-审核-{stamp}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        pm.execute_notebook(
            str(REVIEW_NOTEBOOK),
            str(target),
            parameters={
                "run_dir": os.path.relpath(run, target.parent.resolve()),  # no path of this machine
                "holidays": [str(dt.date.fromisoformat(h)) for h in holidays or []],
            },
            kernel_name=kernel,
            progress_bar=False,
            cwd=str(target.parent),
        )
    except pm.PapermillExecutionError as exc:
        raise RunError(
            f"审核笔记本执行失败 (reviewer notebook failed): {exc.ename}: {exc.evalue}; see {target}"
        ) from exc
    return target
