"""Blank input workbooks (SPEC 4) for a scheme: the headers a branch fills in.

Issue 3 adds data validation, protection and a 填表说明 sheet on top of these.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .demo import write_input_workbook
from .inputs import SHEETS
from .scheme import builtin_schemes, load_scheme

TEMPLATES_DIR: Path = Path(__file__).resolve().parents[1] / "templates_xlsx"


def template_sheets(scheme_name: str) -> dict[str, pd.DataFrame]:
    """Empty tables with every column of every sheet, item columns from the scheme."""
    s = load_scheme(scheme_name).scheme
    out: dict[str, pd.DataFrame] = {}
    for key, spec in SHEETS.items():
        if key == "branch":
            continue
        cols = [c.key for c in spec.columns]
        if spec.item_columns == "scores":
            cols = cols[:-1] + s.item_codes + cols[-1:]  # items before the note
        elif spec.item_columns == "appraisal":
            if s.appraisal.mode == "none":
                continue
            cols = cols + (s.item_codes if s.appraisal.mode == "per_item" else ["score"])
        out[key] = pd.DataFrame(columns=cols)
    return out


def write_template(scheme_name: str, out_dir: str | Path, year: int | None = None, branch_id: str = "") -> Path:
    """Write ``<scheme>.xlsx`` (or ``<scheme>_<year>.xlsx``) into ``out_dir``."""
    loaded = load_scheme(scheme_name)
    name = f"{loaded.name}_{year}.xlsx" if year else f"{loaded.name}.xlsx"
    branch = {"branch_id": branch_id, "branch_name": "", "scheme": loaded.name, "year": year or ""}
    return write_input_workbook(Path(out_dir) / name, branch, template_sheets(scheme_name), loaded.scheme)


def write_builtin_templates(out_dir: str | Path = TEMPLATES_DIR) -> list[Path]:
    """The committed templates: one per built-in scheme, year left blank."""
    return [write_template(name, out_dir) for name in builtin_schemes()]
