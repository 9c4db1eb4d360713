"""The sealed runs as the record (SPEC 8): which run stands for a branch and period.

A runs folder holds ``OUT/PERIOD/ID/vNNN`` (ID a branch, or a unit for the 支部联评联考). For a
branch and period the record is its latest approved run, else its latest run; roll-ups
(``_rollup``) and staging folders are not runs of a branch."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..exceptions import PeriodError
from ..rules.periods import Period, parse_period
from .execute import MANIFEST, sha256_file
from .review import approvals


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


def sealed_runs(out: str | Path) -> list[SealedRun]:
    """Every sealed run under ``out``, ordered by subject, period end and version."""
    root = Path(out).resolve()
    runs = []
    for manifest in root.glob(f"*/*/v[0-9][0-9][0-9]/{MANIFEST}"):
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
    for r in sealed_runs(out):
        if r.subject != subject or (subject_id is not None and r.subject_id != subject_id):
            continue
        key = (r.subject_id, r.period.text)
        held = chosen.get(key)
        if held is None or r.approved or not held.approved:
            chosen[key] = r  # runs come in version order: a later one wins unless only the held is approved
    return sorted(chosen.values(), key=lambda r: (r.subject_id, r.period.year, r.period.last_month, r.period.text))
