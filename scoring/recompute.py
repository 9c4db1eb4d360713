"""Recompute a results workbook with LibreOffice and compare every formula with the package.

Each formula cell carries the package's figure as its cached value; LibreOffice recalculates
the workbook from its intermediate sheets, and every recomputed value must equal the cached
one (numbers within 1e-9, text exactly).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from .office import convert

TOLERANCE = 1e-9


def _same(a: Any, b: Any) -> bool:
    if a in (None, "") and b in (None, ""):
        return True
    if (
        isinstance(a, (int, float))
        and isinstance(b, (int, float))
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return abs(float(a) - float(b)) <= TOLERANCE
    return str(a) == str(b)


def compare_workbook(path: Path) -> pd.DataFrame:
    """One row per formula cell: sheet, cell, formula, package value, spreadsheet value, ok."""
    with tempfile.TemporaryDirectory(prefix="scoring-recompute-") as tmp:
        recomputed = convert(path, Path(tmp), "xlsx")
        formulas = openpyxl.load_workbook(path, data_only=False)
        cached = openpyxl.load_workbook(path, data_only=True)
        fresh = openpyxl.load_workbook(recomputed, data_only=True)
        rows = []
        for ws in formulas.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type != "f":
                        continue
                    package = cached[ws.title][cell.coordinate].value
                    sheet_value = fresh[ws.title][cell.coordinate].value
                    rows.append(
                        (ws.title, cell.coordinate, str(cell.value), package, sheet_value, _same(package, sheet_value))
                    )
    return pd.DataFrame(rows, columns=["sheet", "cell", "formula", "package", "spreadsheet", "ok"])


def results_workbook(run: Path) -> Path:
    """The results workbook of a run folder (or the workbook itself)."""
    if run.is_file():
        return run
    found = sorted(run.glob("*_结果.xlsx"))
    if not found:
        raise FileNotFoundError(f"运行文件夹中没有结果工作簿 (no *_结果.xlsx in) {run}")
    return found[0]


def recompute(run: Path) -> pd.DataFrame:
    """Compare a run's workbook; see :func:`compare_workbook`."""
    return compare_workbook(results_workbook(run))
