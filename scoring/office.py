"""Headless LibreOffice: recalculate a workbook, or print a sheet to PDF.

What we learned: LibreOffice recalculates stale cached values only with the profile setting
``OOXMLRecalcMode=0`` (org.openoffice.Office.Calc/Formula/Load) in the
``registrymodifications.xcu`` of a private profile passed as ``-env:UserInstallation=...``;
``soffice`` exits 0 even when it fails, so the output file's existence is what counts; parallel
calls need separate profiles (each call here gets its own). The profile also sets the default Asian
language to zh-CN: LibreOffice picks the regional glyph forms of a CJK font by that language, which
follows the machine's locale otherwise (a Japanese locale prints Japanese forms of 直, 骨, 角).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .exceptions import ScoringError

PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Linguistic/General"><prop oor:name="DefaultLocale_CJK" oor:op="fuse"><value>zh-CN</value></prop></item>
</oor:items>
"""


class OfficeError(ScoringError, RuntimeError):
    """LibreOffice is missing or did not produce its output."""


def soffice() -> str:
    """Path of the ``soffice`` program; :class:`OfficeError` says how to install it."""
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if not path:
        raise OfficeError("找不到 LibreOffice (soffice not found): apt-get install libreoffice-calc")
    return path


def convert(source: Path, out_dir: Path, target: str, timeout: float = 300) -> Path:
    """Convert ``source`` with LibreOffice into ``out_dir`` (``target``: ``xlsx`` or ``pdf``),
    recalculating every formula on load. Returns the written file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    expected = out_dir / f"{source.stem}.{target.split(':')[0]}"
    if expected.exists():
        expected.unlink()
    with tempfile.TemporaryDirectory(prefix="scoring-lo-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(PROFILE, encoding="utf-8")
        cmd = [
            soffice(),
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            target,
            "--outdir",
            str(out_dir),
            str(source),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if not expected.exists():  # soffice exits 0 even when it failed
        raise OfficeError(f"LibreOffice 未能转换 (conversion failed) {source.name} -> {target}: {proc.stdout.strip()} {proc.stderr.strip()}")
    return expected
