"""The audited results workbook: for each stage of the engine (``scoring.rules.engine``) its
formula counterpart of the same name, so that a spreadsheet recomputes every figure from the
sheets before it (SPEC 6, 9). ``book`` composes them; ``writer`` and ``parameters`` are the
sheet-writing machinery every stage shares; ``check`` writes 核对."""

from .book import write_results_workbook
from .writer import FONT, column_width, extreme_where, header_height, print_setup, wrapped_lines, write_array

__all__ = [
    "FONT",
    "column_width",
    "extreme_where",
    "header_height",
    "print_setup",
    "wrapped_lines",
    "write_array",
    "write_results_workbook",
]
