"""Recompute a workbook with real spreadsheets and compare every formula with the package.

Each formula cell carries the package's figure as its cached value; LibreOffice and Gnumeric each
recalculate the workbook from its intermediate sheets, and every recomputed value must equal the
cached one (numbers within 1e-9, text exactly, an error value never equals anything).

Values are read straight from the files' XML: openpyxl cannot open what Gnumeric writes (its
comments), and python-calamine shows an error value such as ``#DIV/0!`` as an empty cell, which
would pass for a blank figure.
"""

from __future__ import annotations

import posixpath
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal
from xml.etree import ElementTree as ET

import pandas as pd

from ..exceptions import ScoringError
from .gnumeric import recalculate
from .office import convert

TOLERANCE = 1e-9
Engine = Literal["libreoffice", "gnumeric"]
ENGINES: tuple[Engine, ...] = ("libreoffice", "gnumeric")
ENGINE_LABELS: dict[str, str] = {"libreoffice": "LibreOffice", "gnumeric": "Gnumeric"}

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"

CellValue = float | str | bool | None


class ErrorValue(str):
    """A spreadsheet error (``#DIV/0!``, ``#NAME?``, ...): never equal to a figure or a blank."""


def _same(a: CellValue, b: CellValue) -> bool:
    if isinstance(a, ErrorValue) or isinstance(b, ErrorValue):
        return False
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= TOLERANCE
    return str(a) == str(b)


def _sheet_paths(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> path of its XML part inside the package."""
    book = ET.fromstring(z.read("xl/workbook.xml"))
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_REL}Relationship")}
    paths = {}
    for sheet in book.iter(f"{_MAIN}sheet"):
        target = targets[sheet.get(f"{_REL}id")]
        paths[sheet.get("name", "")] = target.lstrip("/") if target.startswith("/") else posixpath.join("xl", target)
    return paths


def _shared_strings(z: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in z.namelist():
        return []
    root = ET.fromstring(z.read("xl/sharedStrings.xml"))
    return ["".join(t.text or "" for t in si.iter(f"{_MAIN}t")) for si in root.iter(f"{_MAIN}si")]


def _value(c: ET.Element, strings: list[str]) -> CellValue:
    kind, v = c.get("t", "n"), c.find(f"{_MAIN}v")
    if kind == "inlineStr":
        return "".join(t.text or "" for t in c.iter(f"{_MAIN}t"))
    if v is None or v.text is None:
        return None
    if kind == "s":
        return strings[int(v.text)]
    if kind == "b":
        return v.text == "1"
    if kind == "e":
        return ErrorValue(v.text)
    if kind == "str":
        return v.text
    return float(v.text)


def read_cells(path: Path) -> dict[str, dict[str, tuple[str | None, CellValue]]]:
    """Every cell of every sheet: sheet -> cell reference -> (formula or None, cached value)."""
    out: dict[str, dict[str, tuple[str | None, CellValue]]] = {}
    with zipfile.ZipFile(path) as z:
        strings = _shared_strings(z)
        for name, part in _sheet_paths(z).items():
            cells: dict[str, tuple[str | None, CellValue]] = {}
            for c in ET.fromstring(z.read(part)).iter(f"{_MAIN}c"):
                f = c.find(f"{_MAIN}f")
                formula = None if f is None else "=" + (f.text or "")
                cells[c.get("r", "")] = (formula, _value(c, strings))
            out[name] = cells
    return out


# Functions Excel 2010 lacks that a formula could name. Files store them as _xlfn.NAME (or
# _xlws.NAME), which an older Excel or WPS shows as #NAME?; a bare name is caught as well.
NEWER_FUNCTIONS = (
    "MAXIFS|MINIFS|IFS|SWITCH|TEXTJOIN|CONCAT|XLOOKUP|XMATCH|FILTER|SORT|SORTBY|UNIQUE|SEQUENCE|RANDARRAY"
    "|LET|LAMBDA|IFNA|XOR|DAYS|ISOWEEKNUM|FORMULATEXT|SHEET|SHEETS|NUMBERVALUE|ARABIC|DECIMAL|BITAND|BITOR"
)
_NEWER = re.compile(rf"_xl(?:fn|ws)\.[A-Z0-9_.]+|(?<![A-Za-z0-9_.])(?:{NEWER_FUNCTIONS})(?=\()")
# where a workbook keeps formulas: cells, data validations, conditional formats, defined names
_FORMULA_TAGS = {f"{_MAIN}{t}" for t in ("f", "formula", "formula1", "formula2", "definedName")}


def newer_functions(path: Path) -> pd.DataFrame:
    """Every use of a function Excel 2010 does not have: part of the package, formula, function."""
    rows = []
    with zipfile.ZipFile(path) as z:
        for part in z.namelist():
            if not part.endswith(".xml") or not part.startswith("xl/") or "comments" in part:
                continue
            for el in ET.fromstring(z.read(part)).iter():
                if el.tag in _FORMULA_TAGS and el.text:
                    rows += [(part, el.text, m) for m in _NEWER.findall(el.text)]
    return pd.DataFrame(rows, columns=["part", "formula", "function"])


def recalculate_with(path: Path, engine: Engine, tmp: Path) -> Path:
    """``path`` recalculated by ``engine``, saved as a new ``.xlsx`` under ``tmp``."""
    recalc: dict[Engine, Callable[[], Path]] = {
        "libreoffice": lambda: convert(path, tmp / "libreoffice", "xlsx"),
        "gnumeric": lambda: recalculate(path, tmp / "gnumeric"),
    }
    return recalc[engine]()


def compare_workbook(path: Path, engines: Iterable[Engine] = ("libreoffice",)) -> pd.DataFrame:
    """One row per formula cell and engine: engine, sheet, cell, formula, package value,
    spreadsheet value, ok."""
    package = read_cells(path)
    rows = []
    with tempfile.TemporaryDirectory(prefix="scoring-recompute-") as tmp:
        for engine in engines:
            fresh = read_cells(recalculate_with(path, engine, Path(tmp)))
            for sheet, cells in package.items():
                recalculated = fresh.get(sheet, {})
                for ref, (formula, cached) in cells.items():
                    if formula is None:
                        continue
                    now = recalculated.get(ref, (None, None))[1]
                    rows.append((ENGINE_LABELS[engine], sheet, ref, formula, cached, now, _same(cached, now)))
    return pd.DataFrame(rows, columns=["engine", "sheet", "cell", "formula", "package", "spreadsheet", "ok"])


def results_workbook(run: Path) -> Path:
    """The workbook of a run folder: a branch's ``*_结果.xlsx`` or a roll-up's ``单位汇总_*.xlsx``
    (or the workbook itself)."""
    if run.is_file():
        return run
    found = sorted([*run.glob("*_结果.xlsx"), *run.glob("单位汇总_*.xlsx")])
    if not found:
        raise ScoringError(f"运行文件夹中没有结果工作簿 (no *_结果.xlsx or 单位汇总_*.xlsx in) {run}")
    return found[0]


def recompute(run: Path, engines: Iterable[Engine] = ("libreoffice",)) -> pd.DataFrame:
    """Compare a run's workbook; see :func:`compare_workbook`."""
    return compare_workbook(results_workbook(run), engines)
