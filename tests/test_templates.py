"""Input workbook templates (SPEC 4): current, validated, protected, explained, and fillable.

A template is filled here the way a branch fills it, cell by cell with openpyxl, and every value
typed is first checked against the data validation of its cell (a small evaluator below), so
"valid data" means what Excel would accept; then the reader must load it without error.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

from scoring.exceptions import InputError, ScoringError
from scoring.inputs.reading import (
    MEMBER_TYPES,
    RATER_KINDS,
    ROLES,
    SHEETS,
    header_text,
    load_inputs,
    scheme_sheets,
    score_sheet_key,
)
from scoring.inputs.templates import (
    LISTS_SHEET,
    README_SHEET,
    TEMPLATES_DIR,
    read_members_file,
    template_sheets,
    write_template,
)
from scoring.rules.periods import parse_period
from scoring.rules.scheme import Scheme, builtin_schemes, load_scheme

ROOT = Path(__file__).resolve().parents[1]
SCHEMES = builtin_schemes()
# the schemes that score members: a branch's template (a scheme that scores branches has a unit
# workbook's template instead: tests/test_unit_inputs.py)
MEMBER_SCHEMES = [n for n in SCHEMES if load_scheme(n).scheme.subject == "member"]
# schemes with item scores (cadence month, quarter or year): the ones whose templates have a score
# sheet and an amendments sheet
SCORED = [n for n in MEMBER_SCHEMES if load_scheme(n).scheme.items]


# -- helpers ------------------------------------------------------------------------------------


def sheet(wb: openpyxl.Workbook, key: str) -> Worksheet:
    return wb[f"{SHEETS[key].label} ({key})"] if key in SHEETS else wb[key]


def snapshot(path: Path) -> dict[str, Any]:
    """What must not drift: sheets, cell values, validations, names, panes, protection."""
    wb = openpyxl.load_workbook(path)
    out: dict[str, Any] = {
        "sheets": wb.sheetnames,
        "names": sorted((n, d.attr_text) for n, d in wb.defined_names.items()),
        "structure": bool(wb.security and wb.security.lockStructure),
    }
    for ws in wb.worksheets:
        dvs = sorted(
            (str(dv.sqref), dv.type, dv.operator, dv.formula1, dv.formula2, dv.showErrorMessage, dv.error, dv.prompt)
            for dv in ws.data_validations.dataValidation
        )
        out[ws.title] = {
            "cells": list(ws.iter_rows(values_only=True)),
            "validations": dvs,
            "state": ws.sheet_state,
            "freeze": ws.freeze_panes,
            "protected": bool(ws.protection.sheet),
        }
    return out


def validations(ws: Worksheet) -> dict[str, Any]:
    """Column letter -> the data validation covering that column's data rows."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            column = re.match(r"[A-Z]+", rng.coord)
            assert column, rng.coord
            out[column.group(0)] = dv
    return out


def header_letters(ws: Worksheet) -> dict[str, str]:
    """Column key -> letter, from ``label (key)`` headers in row 1."""
    out = {}
    for c in ws[1]:
        if c.value:
            key = re.search(r"\(([^()]*)\)$", str(c.value))
            assert key and isinstance(c, Cell), c.value
            out[key.group(1)] = c.column_letter
    return out


def list_values(wb: openpyxl.Workbook, formula: str) -> list[str]:
    """The values a list validation offers: inline ``"a,b"`` or a defined name of a range."""
    if formula.startswith('"'):
        return formula.strip('"').split(",")
    ref = wb.defined_names[formula].attr_text
    m = re.match(r"^'?(.*?)'?!\$([A-Z]+)\$(\d+):\$([A-Z]+)\$(\d+)$", ref)
    assert m, ref
    ws = wb[m.group(1)]
    return [
        str(c.value)
        for row in ws[f"{m.group(2)}{m.group(3)}:{m.group(4)}{m.group(5)}"]
        for c in row
        if c.value is not None
    ]


def effective_locked(ws: Worksheet, row: int, column: int) -> bool:
    """Locked as Excel sees it: a cell's own style, else its column's style."""
    if (row, column) in ws._cells:
        return bool(ws._cells[(row, column)].protection.locked)
    dim = ws.column_dimensions.get(openpyxl.utils.get_column_letter(column))
    return bool(dim.protection.locked) if dim is not None and dim.style_id else True


def year_of(wb: openpyxl.Workbook) -> int | None:
    v = sheet(wb, "branch")["B5"].value
    return int(v) if v not in (None, "") else None


def accepts(wb: openpyxl.Workbook, ws: Worksheet, ref: str, value: Any) -> bool:
    """Would Excel accept ``value`` typed into ``ref``? Evaluates the validation types we write."""
    cell = ws[ref]
    dv = next((d for d in ws.data_validations.dataValidation if ref in d.sqref), None)
    if dv is None or value is None:
        return True
    f1, f2 = dv.formula1, dv.formula2
    if dv.type == "list":
        return str(value) in list_values(wb, f1)
    if dv.type in ("decimal", "whole"):
        if not isinstance(value, (int, float)) or (dv.type == "whole" and float(value) != int(value)):
            return False
        if dv.operator == "between":
            return float(f1) <= value <= float(f2)
        if dv.operator == "greaterThanOrEqual":
            return value >= float(f1)
        raise AssertionError(dv.operator)
    if dv.type == "date":
        if not isinstance(value, dt.date):
            return False
        year = year_of(wb)
        bounds = []
        for f in (f1, f2):
            m = re.fullmatch(r"DATE\((\d+),(\d+),(\d+)\)", f)
            if m:
                bounds.append(dt.date(*map(int, m.groups())))
            else:  # DATE(IF(ISNUMBER(scoring_year),scoring_year,1900|9999),m,d)
                assert "scoring_year" in f, f
                d = re.search(r",(\d+)\),(\d+),(\d+)\)$", f)
                assert d, f
                y = year if year is not None else int(d.group(1))
                bounds.append(dt.date(y, int(d.group(2)), int(d.group(3))))
        return bounds[0] <= value <= bounds[1]
    if dv.type == "custom":
        text = str(value)
        if f1.startswith("AND(LEN(") and "MID(" in f1 and '"-"' in f1:  # month YYYY-MM
            m = re.fullmatch(r"(\d{4})-(\d{2})", text)
            if not m or not 1 <= int(m.group(2)) <= 12:
                return False
            year = year_of(wb)
            return "scoring_year" not in f1 or year is None or int(m.group(1)) == year
        if f1.startswith("AND(LEN(") and "MID(" in f1 and '"Q"' in f1:  # quarter YYYYQn
            m = re.fullmatch(r"(\d{4})[Qq]([1-4])", text)
            year = year_of(wb)
            return m is not None and (year is None or int(m.group(1)) == year)
        if f1.startswith("AND(LEN(") and ")=4," in f1:  # the year itself (amendments of a yearly scheme)
            year = year_of(wb)
            return bool(re.fullmatch(r"\d{4}", text)) and (year is None or int(text) == year)
        if "COUNTIF" in f1:  # unique member_id
            col = cell.column_letter
            others = [c.value for (c,) in ws[f"{col}2:{col}{ws.max_row}"] if c.coordinate != ref]
            return len(text) <= 30 and text not in [str(o) for o in others if o is not None]
        if "SUMPRODUCT" in f1:  # branch id
            return bool(re.fullmatch(r"[A-Za-z0-9_\-]{1,30}", text))
        m = re.fullmatch(
            r"AND\(ISNUMBER\((?P<s>[A-Z]+)2\),(?P=s)2>=0,(?P=s)2<=VLOOKUP\(([A-Z]+)2,(\w+),2,FALSE\)\)", f1
        )
        if m:  # amended score: 0 .. the maximum of the item chosen in the same row
            item = ws[f"{m.group(2)}{cell.row}"].value
            maxima = dict(zip(*[iter(list_values(wb, m.group(3)))] * 2, strict=True))  # row-major pairs
            return (
                isinstance(value, (int, float))
                and item is not None
                and str(item) in maxima
                and 0 <= value <= float(maxima[str(item)])
            )
    raise AssertionError(f"no evaluator for {dv.type} {f1}")


def put(wb: openpyxl.Workbook, ws: Worksheet, row: int, key: str, value: Any) -> None:
    """Type ``value`` into column ``key`` of ``row``; the cell must be unlocked and accept it."""
    letter = header_letters(ws)[key]
    ref = f"{letter}{row}"
    col = openpyxl.utils.column_index_from_string(letter)
    assert not effective_locked(ws, row, col), f"{ws.title}!{ref} is locked"
    assert accepts(wb, ws, ref, value), f"{ws.title}!{ref} rejects {value!r}"
    ws[ref] = value


def fill(
    path: Path, scheme_name: str, year: int, members: list[dict[str, Any]] | None = None, prefilled: bool = False
) -> Path:
    """Fill a template with a valid branch: members, monthly scores, ballots, one adjustment, one veto."""
    s = load_scheme(scheme_name).scheme
    wb = openpyxl.load_workbook(path)
    br = sheet(wb, "branch")
    for ref, value in (("B2", "B9"), ("B3", "填表测试支部"), ("B5", year)):
        if br[ref].value in (None, ""):
            assert not br[ref].protection.locked and accepts(wb, br, ref, value)
            br[ref] = value
    ms = sheet(wb, "members")
    if members is not None:
        for i, m in enumerate(members, start=2):
            for k, v in m.items():
                put(wb, ms, i, k, v)
    ids = [str(c.value) for (c,) in ms[f"A2:A{ms.max_row}"] if c.value]
    n_months = {str(r[0].value): (r[4].value, r[5].value) for r in ms.iter_rows(min_row=2) if r[0].value}
    score = score_sheet_key(s)  # monthly_scores, quarterly_scores, annual_scores; None: no item scores
    if score is not None:
        mo = sheet(wb, score)
        if not prefilled:
            row = 2
            for mid in ids:
                joined, left = n_months[mid]
                assert isinstance(joined, str | None) and isinstance(left, str | None), (joined, left)
                first = int(joined[-2:]) if joined else 1
                last = int(left[-2:]) if left else 12
                if score == "monthly_scores":
                    periods = [("month", f"{year}-{month:02d}") for month in range(first, last + 1)]
                elif score == "quarterly_scores":
                    quarters = sorted({(month - 1) // 3 + 1 for month in range(first, last + 1)})
                    periods = [("quarter", f"{year}Q{q}") for q in quarters]
                else:
                    periods = [("", "")]
                for key, value in periods:
                    put(wb, mo, row, "member_id", mid)
                    if key:
                        put(wb, mo, row, key, value)
                    row += 1
        rows = [r for r in range(2, mo.max_row + 1) if mo[f"A{r}"].value]
        for r in rows:
            for it in s.items:
                put(wb, mo, r, it.code, it.max * 0.8)
    if s.appraisal.mode != "none":
        ap = sheet(wb, "appraisal")
        cols = s.item_codes if s.appraisal.mode == "per_item" else ["score"]
        mx = {i.code: i.max for i in s.items} | {"score": s.appraisal.max or 0}
        row = 2
        for b in range(1, max(s.appraisal.min_raters, 1) + 1):
            for mid in ids:
                put(wb, ap, row, "ballot_no", f"P{b:02d}")
                put(wb, ap, row, "rater_kind", RATER_KINDS[b % 2])
                put(wb, ap, row, "member_id", mid)
                for c in cols:
                    put(wb, ap, row, c, mx[c] * 0.9)
                row += 1
    if s.adjustments.rules:  # a scheme without a catalogue has no adjustments sheet
        adj = sheet(wb, "adjustments")
        rule = s.adjustments.rules[0]
        for k, v in {
            "member_id": ids[0],
            "date": dt.date(year, 3, 8),
            "rule_code": rule.code,
            "points": rule.signed_points,
            "evidence": "表彰文件",
            "approved_by": "支委会",
        }.items():
            put(wb, adj, 2, k, v)
    if s.veto.active:  # nor a scheme without a veto a vetoes sheet
        ve = sheet(wb, "vetoes")
        veto = {"member_id": ids[1], "date": dt.date(year, 11, 5), "condition": s.veto.conditions[0].name}
        if s.veto.requires_majority:
            veto |= {"votes_for": len(ids) - 3, "votes_against": 1}  # 11 members in November
        for k, v in veto.items():
            put(wb, ve, 2, k, v)
    if score is not None:  # the amendment names the sub-period of the scheme's cadence
        sub = {"monthly_scores": f"{year}-02", "quarterly_scores": f"{year}Q1", "annual_scores": str(year)}[score]
        for k, v in {
            "member_id": ids[0],
            "month": sub,
            "item": s.item_codes[0],
            "new_score": s.items[0].max,
            "reason": "异议复核",
            "decided_on": dt.date(year, 3, 1),
        }.items():
            put(wb, sheet(wb, "amendments"), 2, k, v)
    for k, v in {"date": dt.date(year, 1, 10), "activity": "主题党日", "member_id": ids[0], "status": "出席"}.items():
        put(wb, sheet(wb, "attendance"), 2, k, v)
    for k, v in {"member_id": ids[0], "month": f"{year}-01", "paid": "是"}.items():
        put(wb, sheet(wb, "dues"), 2, k, v)
    out = path.with_name(f"filled_{path.name}")
    wb.save(out)
    return out


def members_table(n: int = 12) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {
            "member_id": f"M{i:02d}",
            "name": f"测试{i:02d}",
            "member_type": MEMBER_TYPES[i % 3],
            "role": "支部书记" if i == 1 else "党员",
        }
        for i in range(1, n + 1)
    ]
    rows[-1]["joined"] = "2025-04"  # joins in April: 9 months
    rows[-2]["left"] = "2025-09"  # leaves in September: 9 months
    return rows


# -- the committed templates --------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEMES)
def test_committed_template_is_current(name: str, tmp_path: Path) -> None:
    fresh = write_template(name, tmp_path)
    committed = TEMPLATES_DIR / fresh.name
    assert committed.exists(), f"run: python -m scoring template  (missing {committed})"
    a, b = snapshot(committed), snapshot(fresh)
    assert a.keys() == b.keys(), "templates_xlsx/ is stale: run `python -m scoring template`"
    for key in a:
        assert a[key] == b[key], f"templates_xlsx/{fresh.name}: {key} is stale: run `python -m scoring template`"
    # and byte for byte: a template is written reproducibly, so any difference at all is a change
    assert committed.read_bytes() == fresh.read_bytes(), f"templates_xlsx/{fresh.name} is stale (its bytes differ)"


def test_writing_a_template_again_leaves_the_file_alone(tmp_path: Path) -> None:
    first = write_template(SCHEMES[0], tmp_path)
    data, stamp = first.read_bytes(), first.stat().st_mtime_ns
    again = write_template(SCHEMES[0], tmp_path)
    assert again == first and again.read_bytes() == data and again.stat().st_mtime_ns == stamp


def test_every_builtin_scheme_has_a_committed_template() -> None:
    assert sorted(p.stem for p in TEMPLATES_DIR.glob("*.xlsx")) == SCHEMES


@pytest.mark.parametrize("name", MEMBER_SCHEMES)
def test_headers_are_what_the_reader_expects(name: str) -> None:
    s = load_scheme(name).scheme
    wb = openpyxl.load_workbook(TEMPLATES_DIR / f"{name}.xlsx")
    assert wb.sheetnames[0] == README_SHEET
    items = {i.code: i.name for i in s.items}
    specs = scheme_sheets(s)
    for key, frame in template_sheets(name).items():
        ws = sheet(wb, key)
        labels = {c.key: c.label for c in specs[key].columns} | items | {"score": "测评分"}
        assert [c.value for c in ws[1]] == [header_text(k, labels[k]) for k in frame.columns]
        assert ws.freeze_panes is not None and ws.freeze_panes.endswith("2")
    score = score_sheet_key(s)
    assert score is None or set(s.item_codes) <= set(template_sheets(name)[score].columns)
    assert ("appraisal" in template_sheets(name)) == (s.appraisal.mode != "none")


# -- validation ---------------------------------------------------------------------------------

# Columns that must carry a validation; item columns come on top (scores and appraisal).
VALIDATED: dict[str, set[str]] = {
    "members": {"member_id", "member_type", "role", "joined", "left", "exempt", "exempt_stars"},
    "monthly_scores": {"member_id", "month"},
    "quarterly_scores": {"member_id", "quarter"},
    "annual_scores": {"member_id"},
    "self_scores": {"member_id", "month"},
    "appraisal": {"rater_kind", "member_id"},
    "adjustments": {"member_id", "date", "rule_code", "points"},
    "vetoes": {"member_id", "date", "condition", "votes_for", "votes_against"},
    "amendments": {"member_id", "month", "item", "new_score", "decided_on"},
    "activities": {"date", "kind"},
    "attendance": {"date", "member_id", "status"},
    "dues": {"member_id", "month", "paid"},
    "follow_up_outcomes": {"member_id", "case_year", "decided_on", "outcome", "action"},
    "objections": {"member_id", "raised_on", "subject", "answered_on", "outcome", "amendment"},
    "star_decisions": {"member_id", "stars", "decided_on"},
}


@pytest.mark.parametrize("name", MEMBER_SCHEMES)
def test_every_input_column_is_validated(name: str) -> None:
    s = load_scheme(name).scheme
    wb = openpyxl.load_workbook(TEMPLATES_DIR / f"{name}.xlsx")
    for key, cols in template_sheets(name).items():
        ws = sheet(wb, key)
        letters = header_letters(ws)
        dvs = validations(ws)
        want = set(VALIDATED[key])
        if SHEETS[key].item_columns == "scores" or key == "appraisal":
            want |= {c for c in cols.columns if c in s.item_codes or c == "score"}
        for col in want:
            dv = dvs.get(letters[col])
            assert dv is not None, f"{ws.title} {col}: no data validation"
            assert dv.showErrorMessage is True and dv.errorStyle in (None, "stop"), f"{ws.title} {col}: error alert off"
            assert dv.error and dv.errorTitle, f"{ws.title} {col}: no error message"
            assert re.search(r"[\u4e00-\u9fff]", dv.error), "error messages are in Chinese"
            first, last = str(dv.sqref).split(":")
            assert first == f"{letters[col]}2" and int(last[len(letters[col]) :]) >= 501, (
                f"{ws.title} {col}: {dv.sqref}"
            )
    br = sheet(wb, "branch")
    # branch_id, year, publicity_start
    assert {str(dv.sqref) for dv in br.data_validations.dataValidation} == {"B2", "B5", "B6"}


@pytest.mark.parametrize("name", MEMBER_SCHEMES)
def test_rule_code_dropdown_is_the_catalogue(name: str) -> None:
    s = load_scheme(name).scheme
    wb = openpyxl.load_workbook(TEMPLATES_DIR / f"{name}.xlsx")
    keys = template_sheets(name)
    assert ("adjustments" in keys) == bool(s.adjustments.rules) and ("vetoes" in keys) == s.veto.active
    assert ("amendments" in keys) == bool(s.items)
    if s.adjustments.rules:
        adj = sheet(wb, "adjustments")
        dv = validations(adj)[header_letters(adj)["rule_code"]]
        assert dv.type == "list" and dv.showDropDown in (None, False)  # showDropDown=True would hide the arrow
        assert list_values(wb, dv.formula1) == [r.code for r in s.adjustments.rules]
    if s.veto.active:
        ve = sheet(wb, "vetoes")
        dv = validations(ve)[header_letters(ve)["condition"]]
        assert set(list_values(wb, dv.formula1)) == {c.name for c in s.veto.conditions} | {
            c.code for c in s.veto.conditions
        }
    if s.items:
        am = sheet(wb, "amendments")
        assert list_values(wb, validations(am)[header_letters(am)["item"]].formula1) == s.item_codes
    ms = sheet(wb, "members")
    v = validations(ms)
    assert list_values(wb, v[header_letters(ms)["member_type"]].formula1) == MEMBER_TYPES
    assert set(list_values(wb, v[header_letters(ms)["role"]].formula1)) == set(ROLES)
    assert list_values(wb, v[header_letters(ms)["exempt"]].formula1) == ["是", "否"]
    if "appraisal" in wb.sheetnames or s.appraisal.mode != "none":
        ap = sheet(wb, "appraisal")
        assert list_values(wb, validations(ap)[header_letters(ap)["rater_kind"]].formula1) == RATER_KINDS


def test_long_lists_live_on_the_hidden_code_sheet() -> None:
    # ganzi has 31 rule codes: far over Excel's 255-character inline limit
    s = load_scheme("ganzi-base-plus-minus").scheme
    assert len(",".join(r.code for r in s.adjustments.rules)) > 255
    wb = openpyxl.load_workbook(TEMPLATES_DIR / "ganzi-base-plus-minus.xlsx")
    adj = sheet(wb, "adjustments")
    dv = validations(adj)[header_letters(adj)["rule_code"]]
    assert not dv.formula1.startswith('"') and LISTS_SHEET in wb.defined_names[dv.formula1].attr_text
    codes = wb[LISTS_SHEET]
    assert codes.sheet_state == "hidden" and codes.protection.sheet and wb.sheetnames[-1] == LISTS_SHEET
    assert wb.security.lockStructure  # the hidden sheet cannot be unhidden without unprotecting
    # every inline list of every template fits Excel's limit
    for name in SCHEMES:
        for ws in openpyxl.load_workbook(TEMPLATES_DIR / f"{name}.xlsx").worksheets:
            for d in ws.data_validations.dataValidation:
                if d.type == "list" and d.formula1.startswith('"'):
                    assert len(d.formula1) - 2 <= 255


def _score_max(wb: openpyxl.Workbook, key: str, code: str) -> tuple[float, float]:
    ws = sheet(wb, key)
    dv = validations(ws)[header_letters(ws)[code]]
    assert dv.type == "decimal" and dv.operator == "between"
    return float(dv.formula1), float(dv.formula2)


@pytest.mark.parametrize("name", MEMBER_SCHEMES)
def test_score_validation_max_is_the_item_max(name: str) -> None:
    s: Scheme = load_scheme(name).scheme
    wb = openpyxl.load_workbook(TEMPLATES_DIR / f"{name}.xlsx")
    score = score_sheet_key(s)
    for it in s.items:
        assert score is not None and _score_max(wb, score, it.code) == (0, it.max)
        if s.cadence == "month":  # self-scores only beside monthly scores
            assert _score_max(wb, "self_scores", it.code) == (0, it.max)
        if s.appraisal.mode == "per_item":
            assert _score_max(wb, "appraisal", it.code) == (0, it.max)
    if s.appraisal.mode == "single":
        assert _score_max(wb, "appraisal", "score") == (0, s.appraisal.max)
    if score is None:
        return
    mo = sheet(wb, score)
    ref = f"{header_letters(mo)[s.items[0].code]}2"
    assert (
        accepts(wb, mo, ref, s.items[0].max)
        and not accepts(wb, mo, ref, s.items[0].max + 0.5)
        and not accepts(wb, mo, ref, -1)
    )


def test_months_and_dates_follow_the_year(tmp_path: Path) -> None:
    with_year = openpyxl.load_workbook(write_template("county-10-stars", tmp_path, year=2025))
    mo = sheet(with_year, "monthly_scores")
    dv = validations(mo)["B"]
    assert dv.type == "list" and list_values(with_year, dv.formula1) == [f"2025-{m:02d}" for m in range(1, 13)]
    assert accepts(with_year, mo, "B2", "2025-12") and not accepts(with_year, mo, "B2", "2024-12")
    adj = sheet(with_year, "adjustments")
    dv = validations(adj)["B"]
    assert (dv.type, dv.formula1, dv.formula2) == ("date", "DATE(2025,1,1)", "DATE(2025,12,31)")
    br = sheet(with_year, "branch")
    assert br["B5"].value == 2025 and br["B5"].protection.locked and br["B4"].protection.locked
    # no year: a YYYY-MM formula tied to the year cell, through the defined name scoring_year
    blank = openpyxl.load_workbook(TEMPLATES_DIR / "county-10-stars.xlsx")
    dv = validations(sheet(blank, "monthly_scores"))["B"]
    assert dv.type == "custom" and "scoring_year" in dv.formula1
    assert blank.defined_names["scoring_year"].attr_text == "'支部信息 (branch)'!$B$5"
    assert not sheet(blank, "branch")["B5"].protection.locked
    # joined / left may lie in another year: not tied to the year
    ms = sheet(with_year, "members")
    assert "scoring_year" not in validations(ms)["E"].formula1 and accepts(with_year, ms, "E2", "2019-05")


# -- protection and layout ----------------------------------------------------------------------


@pytest.mark.parametrize("name", MEMBER_SCHEMES)
def test_sheets_protected_input_unlocked_header_locked(name: str) -> None:
    wb = openpyxl.load_workbook(TEMPLATES_DIR / f"{name}.xlsx")
    assert wb.security.lockStructure
    for each in wb.worksheets:
        assert each.protection.sheet, each.title
        assert each.protection.password is None  # documented in 填表说明: no password
    for key in template_sheets(name):
        ws = sheet(wb, key)
        for j in range(1, ws.max_column + 1):
            assert effective_locked(ws, 1, j), f"{ws.title} header column {j} unlocked"
            assert not effective_locked(ws, 2, j) and not effective_locked(ws, 500, j), f"{ws.title} column {j} locked"
        assert effective_locked(ws, 2, ws.max_column + 1)  # outside the table
    br = sheet(wb, "branch")
    assert [br[f"B{r}"].protection.locked for r in range(2, 6)] == [False, False, True, False]  # scheme locked
    assert br["A2"].protection.locked
    readme = wb[README_SHEET]
    assert all(effective_locked(readme, r, 1) for r in range(1, 5))


def test_column_widths_fit_chinese_headers() -> None:
    wb = openpyxl.load_workbook(TEMPLATES_DIR / "county-10-stars.xlsx")
    for key in template_sheets("county-10-stars"):
        ws = sheet(wb, key)
        for c in ws[1]:
            assert isinstance(c, Cell)  # a header cell, never merged
            text = str(c.value)
            need = sum(2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in text)
            assert ws.column_dimensions[c.column_letter].width >= need, (ws.title, text)


# -- 填表说明 -------------------------------------------------------------------------------------


def readme_text(wb: openpyxl.Workbook) -> str:
    return "\n".join(
        " ".join(str(v) for v in row if v is not None) for row in wb[README_SHEET].iter_rows(values_only=True)
    )


@pytest.mark.parametrize("name", MEMBER_SCHEMES)
def test_readme_states_the_rules(name: str) -> None:
    s = load_scheme(name).scheme
    text = readme_text(openpyxl.load_workbook(TEMPLATES_DIR / f"{name}.xlsx"))
    assert s.title in text and s.source in text and s.version in text
    for it in s.items:
        assert it.name in text and it.code in text
    for r in s.adjustments.rules:
        assert r.code in text and r.name in text and f"{r.signed_points:+g}" in text
    for c in s.veto.conditions:
        assert c.name in text and c.code in text
    band_rows = set(text.splitlines())
    for b in s.bands:
        assert any(line.startswith((f"{b.min:g} ", f"{float(b.min)} ")) for line in band_rows), f"band {b.min:g}"
        assert b.label in text
    if s.cadence == "month" or s.year.weight != 1:
        assert f"{s.year.weight * 100:g}%" in text
    if s.appraisal.mode != "none":
        if s.appraisal.combine == "weighted":
            assert f"{s.appraisal.weight * 100:g}%" in text
        else:
            assert "不加权" in text
        assert f"至少 {s.appraisal.min_raters} 人" in text if s.appraisal.min_raters else "不设下限" in text
    combine = {
        "highest_only": "只计最高的一项加分和最大的一项减分",
        "sum": "逐项累加",
        "capped_per_group": "上限",
        "capped_per_item": "不超过该项目的分值",
    }
    if s.adjustments.rules:
        assert combine[s.adjustments.combine] in text
    else:
        assert "没有加减分目录" in text
    if not s.veto.active:
        assert "不设一票否决" in text
    for kind in ("quarter", "half"):  # how each period shorter than the year is formed
        if kind in s.periods:
            assert s.period_text(kind) in text
    for g in s.item_groups:  # groups' subtotals
        assert f"{g.code} {g.name}" in text and "大项小计" in text
    for bands in s.period_bands.values():
        assert all(b.label in text for b in bands)
    for tier, action in s.follow_up.tier_actions.items():
        assert tier in text and action in text
    if s.quarter_star:
        assert f"{s.quarter_star.share * 100:g}%" in text and f"少于 {s.quarter_star.min_scored_members} 人" in text
    if s.annual_star:
        assert f"{s.annual_star.share * 100:g}%" in text
    if s.tiers:
        assert all(t.name in text for t in s.tiers.tiers)
    assert f"不少于 {s.publicity.working_days} 个工作日" in text
    for key in template_sheets(name):
        assert f"{SHEETS[key].label} ({key})" in text  # how to fill each sheet
    assert "无密码" in text


# -- filling a template ------------------------------------------------------------------------


def test_template_for_a_year_with_members_is_filled_and_reads_back(tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    pd.DataFrame(members_table()).to_csv(csv, index=False, encoding="utf-8-sig")
    path = write_template("county-10-stars", tmp_path, year=2025, branch_id="B9", members=csv)
    assert path.name == "B9_county-10-stars_2025.xlsx"
    wb = openpyxl.load_workbook(path)
    ms, mo = sheet(wb, "members"), sheet(wb, "monthly_scores")
    assert [c.value for (c,) in ms["A2:A13"]] == [f"M{i:02d}" for i in range(1, 13)]
    prefilled = [(r[0].value, r[1].value) for r in mo.iter_rows(min_row=2) if r[0].value]
    assert len(prefilled) == 10 * 12 + 9 + 9 and ("M12", "2025-03") not in prefilled and ("M12", "2025-04") in prefilled
    assert all(c.value is None for c in mo[2][2:12])  # item cells left empty
    assert not mo["A2"].protection.locked and not mo["B2"].protection.locked  # prefilled cells stay editable
    assert sheet(wb, "branch")["B2"].value == "B9"
    filled = fill(path, "county-10-stars", 2025, prefilled=True)
    book, sch = load_inputs(filled, parse_period("2025"))
    assert sch.name == "county-10-stars" and book.branch_id == "B9" and book.year == 2025
    assert len(book.members) == 12 and len(book.monthly) == 138
    assert len(book.adjustments) == 1 and len(book.vetoes) == 1 and len(book.amendments) == 1


@pytest.mark.parametrize("name", MEMBER_SCHEMES)
def test_committed_template_filled_by_hand_reads_back(name: str, tmp_path: Path) -> None:
    # the blank committed template: the officer types the year, the members and every score
    path = tmp_path / f"{name}.xlsx"
    path.write_bytes((TEMPLATES_DIR / f"{name}.xlsx").read_bytes())
    filled = fill(path, name, 2025, members=members_table())
    book, sch = load_inputs(filled, parse_period("2025"))
    # 10 members all year, one from April, one until September: months, quarters or one row each
    rows = {"month": 10 * 12 + 9 + 9, "quarter": 10 * 4 + 3 + 3, "year": 12, "none": 0}[sch.scheme.cadence]
    assert len(book.members) == 12 and len(book.monthly) == rows
    assert book.score_sheet == (score_sheet_key(sch.scheme) or "monthly_scores")


def test_members_file_xlsx_with_chinese_headers(tmp_path: Path) -> None:
    f = tmp_path / "名单.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["支部党员名单"])  # a title row above the header
    ws.append(["党员编号", "姓名", "转入月份", "不列入积分"])
    ws.append(["A1", "张三", dt.datetime(2025, 5, 1), None])
    ws.append(["A2", "李四", None, "是"])
    wb.save(f)
    table = read_members_file(f)
    assert (
        table["member_id"].tolist() == ["A1", "A2"]
        and table.loc[0, "joined"] == "2025-05"
        and table.loc[1, "exempt"] == "是"
    )
    out = openpyxl.load_workbook(write_template("xinluo-three-level", tmp_path, year=2025, members=f))
    rows = [(r[0].value, r[1].value) for r in sheet(out, "monthly_scores").iter_rows(min_row=2) if r[0].value]
    assert rows == [("A1", f"2025-{m:02d}") for m in range(5, 13)]  # the exempt member gets no rows


def test_bad_members_file_is_reported(tmp_path: Path) -> None:
    f = tmp_path / "m.csv"
    f.write_text(
        "member_id,name,member_type,joined\nM1,甲,干部,2025-04\nM1,乙,在职党员,April\n,丙,,\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as exc:
        read_members_file(f)
    problems = exc.value.failures[["row", "column"]].astype(str).agg(" ".join, axis=1).tolist()
    assert problems == ["2 member_type", "3 joined", "3 member_id", "4 member_id"]
    g = tmp_path / "n.csv"
    g.write_text("编号,名字\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="表头"):
        read_members_file(g)


def test_prefilled_workbook_is_not_overwritten(tmp_path: Path) -> None:
    path = write_template("county-10-stars", tmp_path, year=2025, overwrite=False)
    with pytest.raises(ScoringError, match="--force"):
        write_template("county-10-stars", tmp_path, year=2025, overwrite=False)
    assert path.exists()
    with pytest.raises(ScoringError):
        write_template("county-10-stars", tmp_path, branch_id="B 1")


def test_cli_writes_a_prefilled_template(tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    pd.DataFrame(members_table()).to_csv(csv, index=False)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "scoring",
        "template",
        "--scheme",
        "county-10-stars",
        "--year",
        "2025",
        "--branch",
        "B9",
        "--members",
        str(csv),
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path == out / "B9_county-10-stars_2025.xlsx" and path.exists()
    wb = openpyxl.load_workbook(path)
    assert sheet(wb, "branch")["B2"].value == "B9" and sheet(wb, "branch")["B5"].value == 2025
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    assert again.returncode == 2 and "--force" in again.stderr  # a filled workbook is safe
    forced = subprocess.run([*cmd, "--force"], capture_output=True, text=True, cwd=ROOT, check=False)
    assert forced.returncode == 0, forced.stderr


def test_template_for_a_scheme_file_names_the_copy_beside_the_workbook(tmp_path: Path) -> None:
    # an edited scheme file (SPEC 3.4): a workbook may only name a scheme file beside it (SPEC 10),
    # so the template goes out with a copy of the scheme and names that copy
    (tmp_path / "schemes").mkdir()
    original = tmp_path / "schemes" / "group-caps.yaml"
    original.write_bytes((ROOT / "tests" / "schemes" / "group-caps.yaml").read_bytes())
    path = write_template(original, tmp_path / "out", year=2025)
    assert sheet(openpyxl.load_workbook(path), "branch")["B4"].value == "group-caps.yaml"
    scheme_file = tmp_path / "out" / "group-caps.yaml"
    assert scheme_file.read_bytes() == original.read_bytes()
    s = load_scheme(scheme_file).scheme
    text = readme_text(openpyxl.load_workbook(path))
    assert all(r.code in text for r in s.adjustments.rules) and all(
        f"上限 {g.cap:g} 分" in text for g in s.adjustments.groups
    )
    book, sch = load_inputs(fill(path, str(scheme_file), 2025, members=members_table()), parse_period("2025"))
    assert sch.path == scheme_file.resolve() and len(book.members) == 12


# -- text is text ---------------------------------------------------------------------------------

FORMULA_LOOKING = ['=HYPERLINK("http://x","y")', "+1-2", "-3", "@SUM(A1)", "=1+1"]


def test_member_names_that_look_like_formulas_stay_literal_text(tmp_path: Path) -> None:
    # openpyxl stores any str starting with "=" as a formula: a prefilled name must not become one
    csv = tmp_path / "members.csv"
    pd.DataFrame(
        {"member_id": [f"M{i:02d}" for i in range(1, 6)], "name": FORMULA_LOOKING, "member_type": "在职党员"}
    ).to_csv(csv, index=False, encoding="utf-8-sig")
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "scoring",
        "template",
        "--scheme",
        "county-10-stars",
        "--year",
        "2025",
        "--branch",
        "B9",
        "--members",
        str(csv),
        "--out",
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    path = out / "B9_county-10-stars_2025.xlsx"
    wb = openpyxl.load_workbook(path)
    assert not [
        f"{ws.title}!{c.coordinate}"
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.data_type == "f"
    ]
    ms = sheet(wb, "members")
    names = [ms.cell(r, 2) for r in range(2, 7)]
    assert [c.value for c in names] == FORMULA_LOOKING  # the exact text, not a formula or a number
    assert all(c.data_type == "s" and c.quotePrefix for c in names)  # and it stays text when edited
    # the branch types the scores; the reader gets the names back as written
    filled = fill(path, "county-10-stars", 2025, prefilled=True)
    book, _ = load_inputs(filled, parse_period("2025"))
    assert book.members["name"].tolist() == FORMULA_LOOKING


def test_scheme_text_that_looks_like_a_formula_stays_literal_text(tmp_path: Path) -> None:
    # an edited scheme file names an item, a rule and a veto condition like formulas: the headers,
    # the 填表说明 and the code table must show them as text
    text = (ROOT / "scoring" / "schemes" / "xinluo-three-level.yaml").read_text(encoding="utf-8")
    text = text.replace("name: 政治合格", 'name: \'=HYPERLINK("http://x","y")\'').replace(
        "name: 国家级荣誉", "name: '+1-2'"
    )
    s0 = load_scheme("xinluo-three-level").scheme
    text = text.replace(f"name: {s0.veto.conditions[0].name}", "name: '@SUM(A1)'", 1)
    scheme_file = tmp_path / "odd.yaml"
    scheme_file.write_text(text.replace("name: xinluo-three-level", "name: odd"), encoding="utf-8")
    s = load_scheme(scheme_file).scheme
    assert s.items[0].name.startswith("=") and s.veto.conditions[0].name == "@SUM(A1)"
    wb = openpyxl.load_workbook(write_template(scheme_file, tmp_path / "out", year=2025))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    for odd in ('=HYPERLINK("http://x","y")', "+1-2", "@SUM(A1)"):
        hits = [c for c in cells if isinstance(c.value, str) and c.value.startswith(odd)]
        assert hits, odd
        assert all(c.data_type == "s" for c in hits), odd
    header = sheet(wb, "monthly_scores")["C1"]
    assert header.value == header_text("POL", '=HYPERLINK("http://x","y")') and header.data_type == "s"


# -- amended score within its item's maximum --------------------------------------------------------


@pytest.mark.parametrize("name", SCORED)
def test_amended_score_is_checked_against_its_own_items_maximum(name: str) -> None:
    s = load_scheme(name).scheme
    wb = openpyxl.load_workbook(TEMPLATES_DIR / f"{name}.xlsx")
    am = sheet(wb, "amendments")
    letters = header_letters(am)
    dv = validations(am)[letters["new_score"]]
    score, item = letters["new_score"], letters["item"]
    assert dv.type == "custom" and dv.showErrorMessage is True and dv.errorStyle in (None, "stop")
    assert dv.formula1 == f"AND(ISNUMBER({score}2),{score}2>=0,{score}2<=VLOOKUP({item}2,list_item_max,2,FALSE))"
    assert "考评项目" in dv.error and str(dv.sqref).startswith(f"{score}2:")
    # the looked-up table is the scheme's items and maxima, on the hidden, protected code table
    ref = wb.defined_names["list_item_max"].attr_text
    assert ref.startswith(f"'{LISTS_SHEET}'!")
    pairs = list_values(wb, "list_item_max")
    assert list(zip(pairs[0::2], map(float, pairs[1::2]), strict=True)) == [(i.code, float(i.max)) for i in s.items]
    small = min(s.items, key=lambda i: i.max)
    big = max(s.items, key=lambda i: i.max)
    am[f"{item}2"] = small.code
    am[f"{item}3"] = big.code
    ref2, ref3, ref4 = f"{score}2", f"{score}3", f"{score}4"
    assert (
        accepts(wb, am, ref2, small.max)
        and not accepts(wb, am, ref2, small.max + 0.5)
        and not accepts(wb, am, ref2, -1)
    )
    assert accepts(wb, am, ref3, big.max) and not accepts(wb, am, ref3, big.max + 0.5)
    assert not accepts(wb, am, ref4, 1)  # no item chosen in row 4 yet
    if small.max < big.max:
        assert not accepts(wb, am, ref2, big.max)  # the largest maximum does not pass for a small item


needs_office = pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"),
    reason="LibreOffice not installed (make test installs it; in CI this test must run)",
)


@needs_office
def test_libreoffice_evaluates_the_amended_score_rule(tmp_path: Path) -> None:
    # the rule as a spreadsheet computes it: the validation formula, moved to each row, in cells
    from scoring.outputs.office import convert

    s = load_scheme("xinluo-three-level").scheme
    wb = openpyxl.load_workbook(TEMPLATES_DIR / "xinluo-three-level.xlsx")
    am = sheet(wb, "amendments")
    letters = header_letters(am)
    score, item = letters["new_score"], letters["item"]
    f1 = validations(am)[score].formula1
    cases = [
        ("INNO", 5, True),
        ("INNO", 6, False),
        ("POL", 20, True),
        ("POL", 25.5, False),
        (None, 1, False),
        ("INNO", -1, False),
        ("XX", 1, False),
    ]
    assert {i.code: i.max for i in s.items}["INNO"] == 5 and {i.code: i.max for i in s.items}["POL"] == 25
    for r, (code, value, _) in enumerate(cases, start=2):
        if code is not None:
            am[f"{item}{r}"] = code
        am[f"{score}{r}"] = value
        am[f"Z{r}"] = "=IFERROR(" + f1.replace(f"{score}2", f"{score}{r}").replace(f"{item}2", f"{item}{r}") + ",FALSE)"
    src = tmp_path / "rule.xlsx"
    wb.save(src)
    got = openpyxl.load_workbook(convert(src, tmp_path / "lo", "xlsx"), data_only=True)
    out = sheet(got, "amendments")
    assert [bool(out[f"Z{r}"].value) for r in range(2, 2 + len(cases))] == [ok for _, _, ok in cases]


def test_demo_writer_keeps_user_text_literal_on_every_sheet(tmp_path: Path) -> None:
    # write_input_workbook is public (README): a branch name or member name starting with = + - @
    # must reach the workbook as text, on the branch sheet and in the tables alike
    import openpyxl

    from scoring.inputs.demo import write_input_workbook
    from scoring.rules.scheme import load_scheme

    evil = ['=HYPERLINK("http://x","y")', "+1-2", "-3", "@SUM(A1)"]
    members = pd.DataFrame(
        {
            "member_id": ["M01", "M02", "M03", "M04"],
            "name": evil,
            "member_type": "在职党员",
            "role": "member",
            "exempt": "否",
        }
    )
    path = write_input_workbook(
        tmp_path / "b.xlsx",
        {"branch_id": "B9", "branch_name": evil[0], "scheme": "county-10-stars", "year": 2025},
        {"members": members},
        load_scheme("county-10-stars").scheme,
    )
    wb = openpyxl.load_workbook(path)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = {c.value for c in cells}
    assert set(evil) <= texts
