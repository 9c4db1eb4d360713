"""CSV files a person may open in Excel or WPS, where no cell may become a live formula.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be read
by a spreadsheet as a formula (CSV injection, e.g. a member named ``=HYPERLINK(...)``), so such a
cell is written with a leading ``'`` (OWASP's rule), which a spreadsheet shows as plain text.
Reading undoes exactly that: ``read_csv(write_csv(t)) == t`` for every text, including one that
itself starts with ``'``. Numbers are numbers, never guarded: ``-1.5`` stays ``-1.5``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def _needs_guard(text: str) -> bool:
    """Whether ``text`` starts like a formula, or is a quote before such a start (so that a text
    that really begins with ``'=`` survives the round trip)."""
    return text.startswith(FORMULA_STARTS) or (text.startswith(QUOTE) and _needs_guard(text[1:]))


def guard(value: object) -> object:
    """``value`` as a CSV cell: a text that a spreadsheet would take for a formula gets a leading ``'``."""
    return QUOTE + value if isinstance(value, str) and _needs_guard(value) else value


def unguard(text: str) -> str:
    """The text a guarded CSV cell stands for."""
    return text[1:] if text.startswith(QUOTE) and _needs_guard(text[1:]) else text


def guarded(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells are guarded (numeric columns untouched)."""
    out = df.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]) and not pd.api.types.is_bool_dtype(out[column]):
            out[column] = out[column].map(guard)
    return out


# Lines end in CRLF as RFC 4180 says; the csv module then also quotes a text holding a lone CR,
# which a reader would otherwise take for the end of the row.
LINE_END = "\r\n"


def write_csv(df: pd.DataFrame, path: Path, encoding: str = "utf-8") -> Path:
    """Write ``df`` (no index) with every text cell guarded; ``utf-8-sig`` makes Excel read UTF-8."""
    guarded(df).to_csv(path, index=False, encoding=encoding, lineterminator=LINE_END)
    return path


def csv_text(df: pd.DataFrame) -> str:
    """What :func:`write_csv` would write, as text."""
    buffer = io.StringIO()
    guarded(df).to_csv(buffer, index=False, lineterminator=LINE_END)
    return buffer.getvalue()


def read_csv_text(source: Path | io.StringIO, encoding: str = "utf-8") -> pd.DataFrame:
    """A CSV written by :func:`write_csv`, every cell as the text it stands for ('' for empty)."""
    table = pd.read_csv(source, dtype=str, keep_default_na=False, encoding=encoding)
    return table.map(unguard) if len(table.columns) else table
