"""The roll-up's reading of branch inputs in several processes gives what one process gives."""

from __future__ import annotations

import dataclasses
import io
import pickle
from pathlib import Path

import pandas as pd
import pytest
from conftest import new_code_cell, new_notebook, write_notebook

from scoring.exceptions import InputError
from scoring.inputs.reading import InputBook
from scoring.rules.engine import score
from scoring.rules.periods import parse_period
from scoring.runs import rollup as ru


def _frames(book: InputBook) -> dict[str, pd.DataFrame]:
    return {
        f.name: getattr(book, f.name)
        for f in dataclasses.fields(book)
        if isinstance(getattr(book, f.name), pd.DataFrame)
    }


def test_inputs_read_by_two_processes_equal_those_read_by_one(tmp_path: Path) -> None:
    sources = ru.demo_sources(tmp_path)
    assert len(sources) >= 3
    one = [r for r in ru.read_sources("2025", sources, jobs=1) if r is not None]
    # processes even for a few branches
    two = [r for r in ru.read_sources("2025", sources, jobs=2, min_parallel=1) if r is not None]
    assert len(one) == len(two) == len(sources)  # every scheme forms a year
    for (book1, scheme1), (book2, scheme2), src in zip(one, two, sources, strict=True):
        assert scheme1.sha256 == scheme2.sha256 and scheme1.scheme == scheme2.scheme
        frames1, frames2 = _frames(book1), _frames(book2)
        assert frames1.keys() == frames2.keys() and len(frames1) >= 5
        for name, frame in frames1.items():
            pd.testing.assert_frame_equal(frame, frames2[name], obj=f"{src.branch_id} {name}")
        assert book1.cells == book2.cells and book1.notes == book2.notes
    # and the same unit table (build reads in one process below PARALLEL_MIN_BRANCHES)
    unit = ru.unit_table([score(b, s, parse_period("2025")) for b, s in two])
    pd.testing.assert_frame_equal(unit, ru.build("2025", sources).unit)


def test_a_bad_workbook_read_in_another_process_raises_its_whole_error_table(tmp_path: Path) -> None:
    sources = ru.demo_sources(tmp_path / "demo")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    sources.insert(1, ru.BranchSource("BAD", bad, None))
    with pytest.raises(InputError) as exc:
        ru.read_sources("2025", sources, jobs=2, min_parallel=1)
    failure = exc.value.failures
    assert len(failure) == 1 and failure.loc[0, "file"] == "bad.xlsx"
    assert "无法读取工作簿 (cannot read workbook)" in str(failure.loc[0, "problem"])


def test_an_input_error_survives_pickling_with_its_table() -> None:
    table = pd.DataFrame(
        [
            {
                "file": "a.xlsx",
                "sheet": "members",
                "row": 3,
                "column": "member_id",
                "cell": "党员名单!A3",
                "value": "x",
                "problem": "p",
                "allowed": "q",
            }
        ]
    )
    again = pickle.loads(pickle.dumps(InputError(table)))
    pd.testing.assert_frame_equal(again.failures, InputError(table).failures)
    assert str(again) == str(InputError(table))


def test_reading_processes_start_from_inside_a_notebook_kernel(tmp_path: Path) -> None:
    """The roll-up reads in processes spawned by its notebook's kernel (a process with threads)."""
    import papermill as pm

    from scoring.runs.execute import kernel_for_runs

    nb = new_notebook()
    nb.cells = [
        new_code_cell(
            "from pathlib import Path\n"
            "from scoring.runs import rollup as ru\n"
            f"sources = ru.demo_sources(Path({str(tmp_path / 'demo')!r}))\n"
            "read = ru.read_sources('2025', sources, jobs=2, min_parallel=1)\n"
            "unit = ru.unit_table([ru.score(b, s, ru.parse_period('2025')) for b, s in read])\n"
            f"unit.to_csv({str(tmp_path / 'unit.csv')!r}, index=False)"
        )
    ]
    write_notebook(nb, tmp_path / "read.ipynb")
    pm.execute_notebook(
        str(tmp_path / "read.ipynb"),
        str(tmp_path / "read-out.ipynb"),
        kernel_name=kernel_for_runs()[0],
        progress_bar=False,
        cwd=str(tmp_path),
    )
    expected = ru.build("2025", ru.demo_sources(tmp_path / "demo")).unit
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "unit.csv"), pd.read_csv(io.StringIO(expected.to_csv(index=False)))
    )
