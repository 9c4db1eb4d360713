"""Shared fixtures: small input workbooks written exactly as a branch would fill them."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, SupportsFloat, SupportsInt

import nbformat
import pandas as pd
import pytest
from nbformat import NotebookNode

from scoring.inputs.demo import write_input_workbook
from scoring.inputs.reading import load_inputs
from scoring.outputs import office
from scoring.rules.engine import Result, score
from scoring.rules.periods import parse_period
from scoring.rules.scheme import load_scheme

YEAR = 2025

# nbformat ships py.typed but leaves these functions unannotated, so strict mypy refuses a call to
# them; bound here, once, to the types they have.
read_notebook: Callable[..., NotebookNode] = nbformat.read
write_notebook: Callable[..., None] = nbformat.write
new_notebook: Callable[..., NotebookNode] = nbformat.v4.new_notebook
new_code_cell: Callable[..., NotebookNode] = nbformat.v4.new_code_cell
new_markdown_cell: Callable[..., NotebookNode] = nbformat.v4.new_markdown_cell


def as_float(cell: object) -> float:
    """A number read from one cell of a frame (pandas types such a cell as any scalar at all)."""
    assert isinstance(cell, SupportsFloat), repr(cell)
    return float(cell)


def as_int(cell: object) -> int:
    """A count read from one cell of a frame (pandas types such a cell as any scalar at all)."""
    assert isinstance(cell, SupportsInt), repr(cell)
    return int(cell)


def member_rows(ids: list[str], **overrides: dict[str, Any]) -> pd.DataFrame:
    """A members sheet: everyone 在职党员, in the branch all year, scored; overrides by member."""
    rows = []
    for i, mid in enumerate(ids):
        row: dict[str, Any] = {
            "member_id": mid,
            "name": f"测试{i + 1:02d}",
            "member_type": "在职党员",
            "role": "member",
            "joined": None,
            "left": None,
            "exempt": "否",
            "exempt_reason": None,
            "exempt_stars": None,
        }
        row.update(overrides.get(mid, {}))
        rows.append(row)
    return pd.DataFrame(rows)


def monthly_rows(scheme_name: str, members: pd.DataFrame, score_of: Callable[[str, int, str], float]) -> pd.DataFrame:
    """Monthly scores for every member and month in the branch: ``score_of(member, month, item)``."""
    sch = load_scheme(scheme_name).scheme
    rows = []
    for m in members.itertuples(index=False):
        if m.exempt == "是":
            continue
        first = int(str(m.joined)[-2:]) if isinstance(m.joined, str) else 1
        last = int(str(m.left)[-2:]) if isinstance(m.left, str) else 12
        for month in range(first, last + 1):
            row: dict[str, Any] = {"member_id": m.member_id, "month": f"{YEAR}-{month:02d}"}
            row.update({it.code: score_of(str(m.member_id), month, it.code) for it in sch.items})
            row["note"] = None
            rows.append(row)
    return pd.DataFrame(rows)


def quarterly_rows(
    scheme_name: str, members: pd.DataFrame, score_of: Callable[[str, int, str], float | str]
) -> pd.DataFrame:
    """Quarterly scores (``quarterly_scores``) for every member and quarter he is in the branch for
    any month of: ``score_of(member, quarter, item)``, a number or a letter grade."""
    sch = load_scheme(scheme_name).scheme
    rows = []
    for m in members.itertuples(index=False):
        if m.exempt == "是":
            continue
        first = int(str(m.joined)[-2:]) if isinstance(m.joined, str) else 1
        last = int(str(m.left)[-2:]) if isinstance(m.left, str) else 12
        for q in range(1, 5):
            if 3 * q < first or 3 * q - 2 > last:
                continue
            row: dict[str, Any] = {"member_id": m.member_id, "quarter": f"{YEAR}Q{q}"}
            row.update({it.code: score_of(str(m.member_id), q, it.code) for it in sch.items})
            row["note"] = None
            rows.append(row)
    return pd.DataFrame(rows).astype(object)


def annual_rows(scheme_name: str, members: pd.DataFrame, score_of: Callable[[str, str], float | str]) -> pd.DataFrame:
    """Annual scores (``annual_scores``), one row per scored member: ``score_of(member, item)``."""
    sch = load_scheme(scheme_name).scheme
    rows = []
    for m in members.itertuples(index=False):
        if m.exempt == "是":
            continue
        row: dict[str, Any] = {"member_id": m.member_id}
        row.update({it.code: score_of(str(m.member_id), it.code) for it in sch.items})
        row["note"] = None
        rows.append(row)
    return pd.DataFrame(rows).astype(object)


def ballots(
    scheme_name: str, members: pd.DataFrame, rating_of: Callable[[int, str, str], float], raters: int = 10
) -> pd.DataFrame:
    """Appraisal ballots: ``rating_of(ballot_no, member, item_or_score)`` for every scored member."""
    sch = load_scheme(scheme_name).scheme
    cols = sch.item_codes if sch.appraisal.mode == "per_item" else ["score"]
    rows = []
    for b in range(1, raters + 1):
        for m in members.itertuples(index=False):
            if m.exempt == "是":
                continue
            row: dict[str, Any] = {
                "ballot_no": f"P{b:02d}",
                "rater_kind": "党员" if b % 3 else "群众代表",
                "member_id": m.member_id,
            }
            row.update({c: rating_of(b, str(m.member_id), c) for c in cols})
            rows.append(row)
    return pd.DataFrame(rows)


def adjustment(
    member_id: str,
    rule_code: str,
    date: dt.date = dt.date(YEAR, 6, 1),
    evidence: str | None = "文件",
    points: float | None = None,
) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "date": date,
        "rule_code": rule_code,
        "points": points,
        "evidence": evidence,
        "approved_by": "支委会",
        "note": None,
    }


def veto(
    member_id: str,
    condition: str,
    votes_for: int | None = None,
    votes_against: int | None = None,
    date: dt.date = dt.date(YEAR, 10, 1),
) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "date": date,
        "condition": condition,
        "votes_for": votes_for,
        "votes_against": votes_against,
        "note": None,
    }


class BookMaker:
    """Writes a workbook from sheets and scores it; tests change sheets to make edge cases."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.count = 0

    def write(
        self,
        scheme_name: str,
        sheets: dict[str, pd.DataFrame],
        branch: dict[str, Any] | None = None,
        name: str | None = None,
    ) -> Path:
        self.count += 1
        sch = load_scheme(scheme_name).scheme
        named = scheme_name
        if scheme_name.endswith(".yaml") and Path(scheme_name).name != scheme_name:
            # a workbook may name only a scheme file beside it (SPEC 10): the file is copied there;
            # a test that gives the branch sheet's scheme cell itself writes exactly that
            beside = self.tmp_path / Path(scheme_name).name
            if not beside.exists():
                shutil.copyfile(scheme_name, beside)
            named = beside.name
        info = {"branch_id": "T001", "branch_name": "测试支部", "scheme": named, "year": YEAR}
        info.update(branch or {})
        return write_input_workbook(self.tmp_path / (name or f"book{self.count}.xlsx"), info, sheets, sch)

    def score(
        self,
        scheme_name: str,
        sheets: dict[str, pd.DataFrame],
        period: str = "2025",
        branch: dict[str, Any] | None = None,
    ) -> Result:
        path = self.write(scheme_name, sheets, branch)
        p = parse_period(period)
        book, sch = load_inputs(path, p)
        return score(book, sch, p)


@pytest.fixture
def maker(tmp_path: Path) -> BookMaker:
    return BookMaker(tmp_path)


def county_sheets(
    n: int = 12, item_score: float = 8.0, rating: float = 8.0, **member_overrides: dict[str, Any]
) -> dict[str, pd.DataFrame]:
    """A valid county-10-stars branch where every score is the same unless a test changes it."""
    ids = [f"M{i:02d}" for i in range(1, n + 1)]
    members = member_rows(ids, **member_overrides)
    return {
        "members": members,
        "monthly_scores": monthly_rows("county-10-stars", members, lambda m, mo, it: item_score),
        "appraisal": ballots("county-10-stars", members, lambda b, m, it: rating),
    }


def pip_freeze(everything: bool = False) -> dict[str, str]:
    """``pip freeze`` of the interpreter running the tests, name -> version (editable installs left
    out; ``everything``: pip, setuptools and wheel too)."""
    from scoring.runs.environment import canonical

    command = [sys.executable, "-m", "pip", "freeze", "--exclude-editable", *(["--all"] if everything else [])]
    frozen = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return {canonical(n): v for n, v in (line.split("==", 1) for line in frozen.splitlines() if "==" in line)}


# -- one LibreOffice kept running for the tests' own conversions -------------------------------------


@contextlib.contextmanager
def kept_libreoffice() -> Iterator[None]:
    """Conversions made in this process (a recompute, a PDF) go through the LibreOffice kept
    running for the session (``office.shared_server``, as a batch's warm kernel converts), not one
    started per conversion: starting LibreOffice costs about a second, most of a small workbook's
    recompute. The file is the same (tests/test_office.py); without python3-uno every conversion
    still starts LibreOffice. Only around this process's own conversions: a kernel or a CLI started
    inside would inherit the setting and no longer convert as a single run does."""
    before = os.environ.get(office.SERVER_ENV)
    os.environ[office.SERVER_ENV] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(office.SERVER_ENV, None)
        else:
            os.environ[office.SERVER_ENV] = before


@pytest.fixture
def kept_office() -> Iterator[None]:
    """:func:`kept_libreoffice` for the whole of a test that starts no kernel and no CLI."""
    with kept_libreoffice():
        yield


@pytest.fixture(scope="session", autouse=True)
def _stop_kept_libreoffice() -> Iterator[None]:
    """The kept LibreOffice ends with the session (and with the process if that is killed)."""
    yield
    office.stop_server()
