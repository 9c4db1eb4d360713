"""`make demo` run twice makes no second version: the demo workbooks are byte-stable (issue 19).

The demo command is run twice into the same folders, as `make demo` twice would: the second
writes the same workbook bytes (and leaves the files alone), so the batch reuses every branch and
the roll-up.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from openpyxl import load_workbook

from scoring.cli import main
from scoring.inputs.demo import DEMO_BRANCHES, RECORD_BRANCH, generate_demo
from scoring.rules.scheme import load_scheme

PERIOD = "2025Q4"


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.xlsx"))}


def test_demo_workbooks_are_the_same_bytes_every_time(tmp_path: Path) -> None:
    first = generate_demo(tmp_path / "a")
    stamps = {p: p.stat().st_mtime_ns for p in first}
    generate_demo(tmp_path / "b")
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert len(digests(tmp_path / "a")) == len(DEMO_BRANCHES)
    generate_demo(tmp_path / "a")  # again over the same files: left alone
    assert {p: p.stat().st_mtime_ns for p in first} == stamps
    # still an ordinary workbook: the fixed dates are the document's, the cells are the data
    wb = load_workbook(first[0])
    assert wb.properties.created is not None and wb.properties.created.year == 1980
    assert wb.sheetnames[0] == "支部信息 (branch)"


def test_a_changed_table_still_changes_the_file(tmp_path: Path) -> None:
    (path,) = generate_demo(tmp_path, branches=DEMO_BRANCHES[:1])
    before = path.read_bytes()
    (again,) = generate_demo(tmp_path, year=2024, branches=DEMO_BRANCHES[:1])
    assert again != path and again.read_bytes() != before


def test_demo_twice_reuses_every_branch_and_the_rollup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, out = tmp_path / "demo_data", tmp_path / "runs"
    # the record branch's 2024 first: its 2025 workbook decides a case 2024's run opened (SPEC 8)
    args = ["demo", "--data", str(data), "--out", str(out), "--period", "2024", "--period", PERIOD]
    assert main(args) == 0
    # the demo unit's workbooks (支部联评联考) lie beside the branches', in a folder the batch does not run
    assert sorted(p.name for p in (data / "units").glob("*.xlsx")) == ["U01_2025.xlsx", "U01_2026.xlsx"]
    first = sorted(p.relative_to(out) for p in (out / PERIOD).glob("*/v*"))
    # every branch whose scheme forms a quarter (not fuxian-18's, scored once a year) and the roll-up
    # and the record branch B009 (county-10-stars, monthly)
    quarterly = [b for b in [*DEMO_BRANCHES, RECORD_BRANCH] if load_scheme(b.scheme).scheme.sub_months <= 3]
    assert len(quarterly) == len(DEMO_BRANCHES)
    assert len(first) == len(quarterly) + 2  # v001 each: the branches, the roll-up and the unit U01
    assert sorted(p.relative_to(out).as_posix() for p in (out / "2024").glob("*/v*")) == [
        "2024/B009/v001",
        "2024/_rollup/v001",
    ]
    capsys.readouterr()
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert sorted(p.relative_to(out) for p in (out / PERIOD).glob("*/v*")) == first
    assert all(p.name == "v001" for p in first)
    # the branches, roll-up and unit of the quarter, and 2024's B009 and roll-up
    assert printed.count("复用 (输入未变)") == len(quarterly) + 4, printed
    assert (out / PERIOD / "U01" / "v001").is_dir() and not (out / PERIOD / "U01" / "v002").exists()
    assert printed.count("本期不评") == 1, printed
