"""Every run records the environment it was made in; verify and diff name the packages that changed.

An upgrade is made real for the kernel without touching the venv: a folder on ``PYTHONPATH`` holds
an install record (``xlsxwriter-99.0.dist-info``) that comes before the venv's, so the kernel papermill
starts (it inherits the variable) and ``importlib.metadata`` both see xlsxwriter 99.0 there.
"""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import stat
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import county_sheets, pip_freeze

from scoring.inputs.demo import write_input_workbook
from scoring.rules.scheme import load_scheme
from scoring.runs.execute import MANIFEST, find_reusable, run_branch
from scoring.runs.review import diff, verify

PERIOD = "2025Q1"
BRANCH = {"branch_id": "E001", "branch_name": "环境测试支部", "scheme": "county-10-stars", "year": 2025}
UPGRADED = ("xlsxwriter", "99.0")


def shadow_install(folder: Path, name: str, version: str) -> Path:
    """An install record of ``name`` ``version`` in ``folder``, as an installer writes it."""
    info = folder / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(out, v001 made as installed, v002 made from the same input after the 'upgrade')."""
    data, out = tmp_path_factory.mktemp("inputs"), tmp_path_factory.mktemp("runs")
    book = write_input_workbook(data / "E001.xlsx", BRANCH, county_sheets(n=6), load_scheme("county-10-stars").scheme)
    first = run_branch(book, PERIOD, out)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(shadow_install(tmp_path_factory.mktemp("upgrade"), *UPGRADED)))
        second = run_branch(book, PERIOD, out)
    return out, first, second


def manifest(run: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run / MANIFEST).read_text(encoding="utf-8"))
    return data


def test_manifest_lists_every_distribution_with_one_sha256(runs: tuple[Path, Path, Path]) -> None:
    env = manifest(runs[1])["environment"]
    assert env["python"] == platform.python_version()
    assert env["implementation"] == platform.python_implementation()
    packages = env["packages"]
    assert {n: v for n, v in packages.items() if n != "scoring"} == pip_freeze(everything=True)
    assert packages["pandas"] == pd.__version__
    # one SHA-256 over "python==X.Y.Z" and the sorted "name==version" lines, one per line
    lines = [f"python=={platform.python_version()}", *(f"{n}=={packages[n]}" for n in sorted(packages))]
    assert env["sha256"] == hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()


def test_executed_notebook_shows_the_main_packages_and_the_same_sha256(runs: tuple[Path, Path, Path]) -> None:
    env = manifest(runs[1])["environment"]
    nb = json.loads((runs[1] / f"E001_{PERIOD}.ipynb").read_text(encoding="utf-8"))
    (cell,) = [c for c in nb["cells"] if c["cell_type"] == "code" and "nb.environment()" in "".join(c["source"])]
    outputs: list[dict[str, Any]] = cell["outputs"]
    printed = "".join("".join(o.get("text", "")) for o in outputs if o["output_type"] == "stream")
    assert f"{len(env['packages'])} 个, SHA-256 {env['sha256']}" in printed
    table = "".join("".join(o["data"]["text/plain"]) for o in outputs if o["output_type"] == "execute_result")
    for name in ("pandas", "openpyxl", "xlsxwriter", "python-calamine", "papermill"):
        assert f"{name} " in table and env["packages"][name] in table


def test_the_upgrade_is_recorded_by_the_run_made_after_it(runs: tuple[Path, Path, Path]) -> None:
    before, after = manifest(runs[1])["environment"], manifest(runs[2])["environment"]
    assert after["packages"]["xlsxwriter"] == "99.0" != before["packages"]["xlsxwriter"]
    assert after["sha256"] != before["sha256"]


def test_verify_under_the_same_environment_says_so(runs: tuple[Path, Path, Path]) -> None:
    v = verify(runs[1])
    assert v.environment is not None and v.environment.empty
    assert v.ok
    assert "运行环境 (environment): 重新计分时与运行时完全相同" in v.report()


def test_verify_names_the_package_upgraded_since_the_run(runs: tuple[Path, Path, Path]) -> None:
    v = verify(runs[2])  # made under xlsxwriter 99.0, verified under the venv's real one
    assert v.environment is not None
    assert v.environment.to_dict("records") == [
        {"package": "xlsxwriter", "recorded": "99.0", "now": manifest(runs[1])["environment"]["packages"]["xlsxwriter"]}
    ]
    assert v.ok, v.report()  # reported, not a failure: every figure matches
    report = v.report()
    assert "1 个软件包与运行时不同" in report and "xlsxwriter" in report and "结论 (result): 通过 OK" in report


def test_diff_lists_the_environment_change_beside_the_figures(runs: tuple[Path, Path, Path]) -> None:
    d = diff(runs[1], runs[2])
    assert d.figures.empty and d.inputs.empty
    real = manifest(runs[1])["environment"]["packages"]["xlsxwriter"]
    assert d.environment is not None
    assert d.environment.to_dict("records") == [{"package": "xlsxwriter", "a": real, "b": "99.0"}]
    assert "运行环境变化 (environment changes): 1 个软件包" in d.report()


def test_a_run_is_reused_only_in_the_environment_it_was_made_in(
    runs: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, first, second = runs
    m = manifest(first)
    inputs, scheme = m["inputs"], m["scheme"]
    key = (out, PERIOD, "E001", inputs[0]["sha256"], scheme["sha256"])
    assert find_reusable(*key) == first  # v002 was made under another environment
    monkeypatch.setenv("PYTHONPATH", str(shadow_install(tmp_path, *UPGRADED)))
    assert find_reusable(*key) == second


def test_verify_of_a_run_that_recorded_no_environment(runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "runs"
    shutil.copytree(runs[0], out)
    old = out / PERIOD / "E001" / runs[1].name
    path = old / MANIFEST
    path.chmod(stat.S_IWUSR | stat.S_IRUSR)
    m = json.loads(path.read_text(encoding="utf-8"))
    del m["environment"]  # as runs made before environments were recorded
    path.write_text(json.dumps(m, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    v = verify(old)
    assert v.environment is None and v.ok
    assert "运行时未记录, 无法比较" in v.report()
    assert diff(old, runs[2]).environment is None
