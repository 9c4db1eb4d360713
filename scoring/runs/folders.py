"""What a sealed run folder holds, read by every part of ``scoring.runs``: the manifest's name,
file hashes, the archive beside the period folders, and the approval files (review.approve)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
# Beside the period folders, OUT/.archive keeps each input workbook and scheme file a run was
# scored from, named by SHA-256, so verify and diff can re-read them after the originals were
# edited. It is not inside the run folders: an input workbook holds the appraisal ballots, and a
# run folder is handed to reviewers.
ARCHIVE_DIR = ".archive"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


APPROVAL_PREFIX = "approval-"
# exactly the names approve() writes (approval-<UTC %Y%m%dT%H%M%S%f>Z.json, in the run folder
# itself): any other file, even one called approval-something, is a file the run did not write
APPROVAL_NAME = re.compile(r"^approval-\d{8}T\d{12}Z\.json$")


def approvals(run: str | Path) -> list[dict[str, Any]]:
    """The run's approval records, oldest first. An approval file that cannot be read is listed as
    an approval that is not valid (verify then fails), rather than stopping the verification."""
    records = []
    for p in sorted(Path(run).glob(f"{APPROVAL_PREFIX}*.json")):
        if not APPROVAL_NAME.match(p.name):
            continue  # not an approval: check_files reports it as unexpected
        try:
            record = json.loads(p.read_text(encoding="utf-8"))
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            record = {
                "reviewer": f"(无法读取 unreadable {p.name}: {exc})",
                "approved_at": "",
                "manifest_sha256": None,
                "files": {},
            }
        records.append(record)
    return records
