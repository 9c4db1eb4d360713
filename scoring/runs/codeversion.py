"""The code a run is made by: one SHA-256 over the package, its scheme files and the run's notebook.

A module of its own, imported by ``execute`` (which records the hash in every manifest and reuses a
run only when it matches) and by ``kernels`` (which restarts a warm kernel when it changed), so that
neither of those has to import the other.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parents[2]
NOTEBOOK: Path = REPO_ROOT / "notebooks" / "branch_period.ipynb"
UNIT_NOTEBOOK: Path = REPO_ROOT / "notebooks" / "unit_period.ipynb"  # a unit's branch assessment (SPEC 3.9)


def code_sha256(notebook: Path | None = None) -> str:
    """One hash over the package's Python files, its scheme files and the notebook that makes the
    run (``notebook``, default the branch-period notebook; a unit's run passes ``UNIT_NOTEBOOK``, the
    roll-up ``ROLLUP_NOTEBOOK``):
    what a run's figures and pages depend on besides its inputs (works with or without git)."""
    h = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]  # scoring/, with every subpackage
    # NOTEBOOK and ROLLUP_NOTEBOOK are looked up at call time, so a test can point them elsewhere
    for f in sorted([*package.rglob("*.py"), *package.glob("schemes/*.yaml"), notebook or NOTEBOOK]):
        if f.is_file():
            name = f.relative_to(package).as_posix() if f.is_relative_to(package) else f.name
            h.update(name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()
