"""Keep committed notebooks light: outputs only for cells nbval checks, no widget state."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def strip(path: Path) -> None:
    """Drop outputs of every cell except those marked for nbval, and all widget state."""
    nb = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]  # nbformat leaves read() unannotated
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        if cell.cell_type == "code" and not cell.source.lstrip().startswith(CHECK_MARK):
            cell.outputs = []
            cell.execution_count = None
    for key in ("widgets", "papermill"):
        nb.metadata.pop(key, None)
    nbformat.write(nb, path)  # type: ignore[no-untyped-call]  # nbformat leaves write() unannotated


def refresh(path: Path) -> None:
    """Execute a notebook in place with its default parameters, then :func:`strip` it."""
    import papermill as pm

    pm.execute_notebook(str(path), str(path), progress_bar=False, cwd=str(path.parent))
    strip(path)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        refresh(Path(arg))
