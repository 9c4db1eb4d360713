"""Gnumeric's ``ssconvert``: a second, independent spreadsheet engine to recalculate workbooks.

LibreOffice and Gnumeric share no code; a workbook both recompute to the package's figures does
not lean on one engine's edge cases (SPEC 9).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..exceptions import ScoringError


class GnumericError(ScoringError, RuntimeError):
    """ssconvert is missing or did not produce its output."""


def ssconvert() -> str:
    """Path of the ``ssconvert`` program; :class:`GnumericError` says how to install it."""
    path = shutil.which("ssconvert")
    if not path:
        raise GnumericError("找不到 Gnumeric (ssconvert not found): apt-get install gnumeric")
    return path


def recalculate(source: Path, out_dir: Path, timeout: float = 300) -> Path:
    """``source`` recalculated by Gnumeric and saved as ``.xlsx`` in ``out_dir``; returns that file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{source.stem}.gnumeric.xlsx"
    cmd = [ssconvert(), "--recalc", "--export-type=Gnumeric_Excel:xlsx2", str(source), str(target)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not target.is_file():
        raise GnumericError(
            f"Gnumeric 未能重算 (ssconvert failed) {source.name}: {proc.stdout.strip()} {proc.stderr.strip()}"
        )
    return target
