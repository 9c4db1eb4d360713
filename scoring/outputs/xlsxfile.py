"""Saving an openpyxl workbook so that the same content gives the same bytes.

openpyxl stamps the save time into ``docProps/core.xml`` and every zip entry. A demo or template
workbook written again with nothing changed would then get a new SHA-256, and the batch, whose reuse
key is the input's SHA-256, would score every branch again. Here the times are fixed, and a file
whose bytes would not change is not rewritten at all (its modification time stays, too).
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from pathlib import Path

from openpyxl import Workbook

# The document's created/modified date and every zip entry's time (zip's earliest possible time).
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_W3CDTF = b"1980-01-01T00:00:00Z"
_DOC_DATES = re.compile(rb"(<dcterms:(?:created|modified)\b[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def reproducible_bytes(wb: Workbook) -> bytes:
    """The ``.xlsx`` bytes of ``wb`` with fixed document dates and zip entry times."""
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _DOC_DATES.sub(rb"\g<1>" + FIXED_W3CDTF + rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            zout.writestr(entry, data)
    return out.getvalue()


def save_reproducibly(wb: Workbook, path: Path) -> bool:
    """Write ``wb`` to ``path`` unless the file already holds exactly these bytes; the write is
    atomic (a reader never sees half a file). Returns whether the file was written."""
    data = reproducible_bytes(wb)
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return True
