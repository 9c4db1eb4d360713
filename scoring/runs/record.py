"""The sealed runs as the record (SPEC 8): which run stands for a branch and period.

A runs folder holds ``OUT/PERIOD/ID/vNNN`` (ID a branch, or a unit for the 支部联评联考). For a
branch and period the record is its latest approved run, else its latest run; roll-ups
(``_rollup``) and staging folders are not runs of a branch."""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import InputError, PeriodError, RunError
from ..rules.engine.prior import Prior
from ..rules.periods import Period, parse_period
from .folders import MANIFEST, approvals, sha256_file


@dataclass(frozen=True)
class SealedRun:
    """One sealed run folder, as its manifest describes it."""

    folder: Path
    period: Period
    subject_id: str  # the branch's id (a unit's id for a run of the 支部联评联考)
    subject: str  # "member": a branch's members; "branch": a unit's branches (SPEC 3.9)
    version: int
    approved: bool  # approved, and the manifest unchanged since

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(json.loads((self.folder / MANIFEST).read_text(encoding="utf-8")))

    def relative(self, out: str | Path) -> str:
        """The folder relative to the runs folder, as a manifest or a notebook names it."""
        return self.folder.relative_to(Path(out).resolve()).as_posix()


def _approved(folder: Path) -> bool:
    manifest = sha256_file(folder / MANIFEST)
    return any(a.get("manifest_sha256") == manifest for a in approvals(folder))


def sealed_runs(out: str | Path, subject_id: str | None = None) -> list[SealedRun]:
    """Every sealed run under ``out`` (of ``subject_id`` only, when given: a run looks up its own
    branch's runs without reading every other branch's), ordered by subject, period end and version."""
    root = Path(out).resolve()
    runs = []
    subject_glob = "*" if subject_id is None else glob.escape(subject_id)
    for manifest in root.glob(f"*/{subject_glob}/v[0-9][0-9][0-9]/{MANIFEST}"):
        folder = manifest.parent
        period_dir, subject_dir = folder.parent.parent.name, folder.parent.name
        if subject_dir.startswith(("_", ".")):
            continue  # a roll-up, or not a run
        try:
            period = parse_period(period_dir)
            m = json.loads(manifest.read_text(encoding="utf-8"))
        except (PeriodError, OSError, ValueError):
            continue  # not a run folder this package wrote
        subject = str(m.get("subject", "member"))
        runs.append(SealedRun(folder, period, subject_dir, subject, int(folder.name[1:]), _approved(folder)))
    return sorted(runs, key=lambda r: (r.subject_id, r.period.year, r.period.last_month, r.period.text, r.version))


def record_runs(out: str | Path, subject_id: str | None = None, subject: str = "member") -> list[SealedRun]:
    """The run that stands for each subject and period: the latest approved, else the latest."""
    chosen: dict[tuple[str, str], SealedRun] = {}
    for r in sealed_runs(out, subject_id):
        if r.subject != subject:
            continue
        key = (r.subject_id, r.period.text)
        held = chosen.get(key)
        if held is None or r.approved or not held.approved:
            chosen[key] = r  # runs come in version order: a later one wins unless only the held is approved
    return sorted(chosen.values(), key=lambda r: (r.subject_id, r.period.year, r.period.last_month, r.period.text))


# -- what earlier sealed runs hand to a run (SPEC 8) --------------------------------------------

CASES_FILE = "cases.csv"  # the follow-up register each run of a branch leaves


def prior_runs(out: str | Path, branch_id: str, period: Period | str) -> dict[str, str]:
    """The earlier sealed runs a run of ``branch_id`` for ``period`` starts from, as folders relative
    to the runs folder: ``cases``, the record run of the latest earlier year period (its cases.csv
    is the register this run carries on), and ``previous_year``, the record run of the previous
    calendar year (its year run, else the one whose period ends latest), whose archived inputs
    count 自行脱党 months across the turn of the year. A role without such a run is left out, and
    so is a run made before it kept the file the role reads (no cases.csv, no archived input)."""
    p = parse_period(period) if isinstance(period, str) else period
    runs = [r for r in record_runs(out, branch_id) if r.period.year < p.year]
    chosen: dict[str, str] = {}
    years = [r for r in runs if r.period.kind == "year"]
    if years:
        latest = max(years, key=lambda r: r.period.year)
        if (latest.folder / CASES_FILE).is_file():
            chosen["cases"] = latest.relative(out)
    last = [r for r in runs if r.period.year == p.year - 1]
    if last:
        # record_runs orders a year's runs by their period's last month: the last one ends latest
        best = next((r for r in last if r.period.kind == "year"), last[-1])
        if best.manifest.get("inputs", [{}])[0].get("archived"):
            chosen["previous_year"] = best.relative(out)
    return chosen


def _prior_files(folder: Path, role: str) -> tuple[Path, dict[str, Any]]:
    """The file a prior run hands in for ``role``, and that run's manifest."""
    manifest = dict(json.loads((folder / MANIFEST).read_text(encoding="utf-8")))
    if role == "cases":
        return folder / CASES_FILE, manifest
    archived = manifest.get("inputs", [{}])[0].get("archived")
    if not archived:
        raise RunError(f"{folder.name}: 该运行没有存档输入 (the run has no archived input workbook)")
    return folder / archived, manifest


def prior_refs(out: str | Path, runs: dict[str, str]) -> list[dict[str, str]]:
    """The manifest's record of the prior runs: role, run, the file read (relative to that run's
    folder) and its SHA-256 now ("" when it is missing)."""
    root = Path(out).resolve()
    refs = []
    for role, run in sorted(runs.items()):
        folder = root / run
        try:
            path, _ = _prior_files(folder, role)
        except (OSError, ValueError, RunError):
            refs.append({"role": role, "run": run, "file": "", "sha256": ""})
            continue
        rel = os.path.relpath(path, folder)
        refs.append(
            {
                "role": role,
                "run": run,
                "file": Path(rel).as_posix(),
                "sha256": sha256_file(path) if path.is_file() else "",
            }
        )
    return refs


def load_prior(out: str | Path, runs: dict[str, str], expected: list[dict[str, str]] | None = None) -> Prior:
    """Read what the prior runs ``runs`` (from :func:`prior_runs`) hand in: the ``cases`` run's
    cases.csv as the register (a case that run opened named by its folder), and the
    ``previous_year`` run's archived input workbook, read under its archived scheme.

    ``expected``: the refs a sealed run recorded (verify): a file whose SHA-256 differs raises
    RunError. Each file's hash is taken from the bytes read."""
    from ..inputs.reading import load_inputs
    from ..outputs.csvfile import read_csv_text
    from ..rules.engine.cases import THIS_RUN
    from ..rules.engine.prior import CASE_COLUMNS, empty
    from ..rules.scheme import load_scheme

    root = Path(out).resolve()
    recorded = {r.get("role", ""): r for r in expected or []}
    refs: list[dict[str, str]] = []
    cases = empty(CASE_COLUMNS)
    previous = None
    for role, run in sorted(runs.items()):
        folder = root / run
        if not (folder / MANIFEST).is_file():
            raise RunError(f"找不到以前的运行 (the earlier run is gone): {run}")
        path, manifest = _prior_files(folder, role)
        if not path.is_file():
            raise RunError(f"以前的运行缺少文件 (the earlier run's file is missing): {run}/{path.name}")
        content = path.read_bytes()
        sha = hashlib.sha256(content).hexdigest()
        want = recorded.get(role, {}).get("sha256")
        if expected is not None and want != sha:
            raise RunError(
                f"以前的运行的文件已改动 (an earlier run's file changed since this run read it): {run}/{path.name}:"
                f" 记录的 SHA-256 (recorded) {want}, 现在 (now) {sha}"
            )
        refs.append({"role": role, "run": run, "file": Path(os.path.relpath(path, folder)).as_posix(), "sha256": sha})
        if role == "cases":
            table = read_csv_text(io.StringIO(content.decode("utf-8")))
            missing = [c for c in CASE_COLUMNS if c not in table.columns]
            if missing:
                raise RunError(f"{run}/{CASES_FILE} 不是帮教台账 (not a follow-up register): 缺少列 {missing}")
            table = table[CASE_COLUMNS].copy()
            table.loc[table["opened_by"] == THIS_RUN, "opened_by"] = run
            cases = table
        else:
            scheme_file = manifest.get("scheme", {}).get("archived")
            scheme = load_scheme(str(folder / scheme_file)) if scheme_file else load_scheme(manifest["scheme"]["name"])
            try:
                previous, _ = load_inputs(path, parse_period(str(manifest["period"])), scheme)
            except InputError as exc:  # not this workbook's problem: say which run it is
                raise RunError(
                    f"以前年度运行的存档输入不能读取 (the previous year's archived inputs cannot be read): {run}\n{exc}"
                ) from exc
    return Prior(cases=cases, previous_year=previous, refs=tuple(refs))


def recorded_prior(run: str | Path) -> tuple[Prior, dt.date | None]:
    """What a sealed run started from, as its manifest recorded it: the prior runs (each file
    checked against the SHA-256 the run read) and the 公示's first day. Raises RunError when a
    prior run is gone or changed: the run cannot be re-scored as it was."""
    folder = Path(run)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    refs = list(manifest.get("prior_runs") or [])
    runs = {str(r.get("role", "")): str(r.get("run", "")) for r in refs}
    prior = load_prior(folder.parent.parent.parent, runs, refs) if runs else Prior()
    start = manifest.get("parameters", {}).get("publicity_start") or ""
    return prior, dt.date.fromisoformat(start) if start else None
