"""xlsxwriter workbooks whose formulas are written as given, for Excel 2010 and later.

xlsxwriter rewrites every formula it is given for the dynamic-array functions of Excel 365
(``FILTER(`` -> ``_xlfn._xlws.FILTER(``): 29 regular-expression passes per formula, about a tenth
of a branch workbook's writing time. Our formulas use Excel 2010's functions only, so the passes
never change one; a newer function that slipped into a formula is still found in the written
file by :func:`scoring.outputs.recompute.newer_functions`, which the workbook tests run.
"""

from __future__ import annotations

import xlsxwriter
from xlsxwriter.worksheet import Worksheet as _Worksheet


class Worksheet(_Worksheet):  # type: ignore[misc]  # xlsxwriter is not fully typed
    """A worksheet that stores each formula as written (without its ``=`` and array braces)."""

    def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
        return formula.removeprefix("{").removeprefix("=").removesuffix("}")


class Workbook(xlsxwriter.Workbook):  # type: ignore[misc]  # xlsxwriter is not fully typed
    """``xlsxwriter.Workbook`` with :class:`Worksheet` sheets."""

    worksheet_class = Worksheet
