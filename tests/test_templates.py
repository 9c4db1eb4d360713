"""The committed templates are current, and a filled template reads back without error."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from conftest import county_sheets
from scoring.demo import write_input_workbook
from scoring.inputs import load_inputs
from scoring.periods import parse_period
from scoring.scheme import builtin_schemes, load_scheme
from scoring.templates import TEMPLATES_DIR, template_sheets, write_template


def cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


@pytest.mark.parametrize("name", builtin_schemes())
def test_committed_template_is_current(name: str, tmp_path: Path) -> None:
    fresh = write_template(name, tmp_path)
    committed = TEMPLATES_DIR / fresh.name
    assert committed.exists(), f"run: python -m scoring template  (missing {committed})"
    assert cells(committed) == cells(fresh), "templates_xlsx/ is stale: run `python -m scoring template`"


@pytest.mark.parametrize("name", builtin_schemes())
def test_template_headers_are_what_the_reader_expects(name: str) -> None:
    sheets = template_sheets(name)
    assert "members" in sheets and "monthly_scores" in sheets
    assert set(load_scheme(name).scheme.item_codes) <= set(sheets["monthly_scores"].columns)


def test_filled_template_reads_back(tmp_path: Path) -> None:
    # fill the county template's columns with valid data, in the template's column order
    template = template_sheets("county-10-stars")
    data = county_sheets()
    filled = {k: data[k][list(template[k].columns)] if k in data else template[k] for k in template}
    path = write_input_workbook(tmp_path / "filled.xlsx", {"branch_id": "B9", "branch_name": "填表测试", "scheme": "county-10-stars", "year": 2025}, filled, load_scheme("county-10-stars").scheme)
    book, _ = load_inputs(path, parse_period("2025"))
    assert len(book.members) == 12 and len(book.monthly) == 144
    assert isinstance(book.monthly, pd.DataFrame)
