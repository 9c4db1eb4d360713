"""The warm-kernel engine (scoring.runs.kernels) gives the same notebooks and outputs as a fresh kernel."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import papermill as pm
import pytest
from conftest import new_code_cell, new_notebook, read_notebook, write_notebook
from openpyxl.worksheet.formula import ArrayFormula

import scoring.runs.execute as execute
from scoring.inputs.demo import generate_demo
from scoring.outputs import office
from scoring.runs import kernels

KERNEL = execute.kernel_for_runs()[0]


@pytest.fixture(autouse=True)
def fresh_warm_kernels() -> Iterator[None]:
    kernels.shutdown()
    yield
    kernels.shutdown()


def _coalesced(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive stream outputs joined: ipykernel flushes stdout on a timer, so where printed
    text is cut into messages depends on timing, not on the kernel (nbconvert's coalesce_streams)."""
    merged: list[dict[str, Any]] = []
    for o in outputs:
        if (
            o.get("output_type") == "stream"
            and merged
            and merged[-1].get("output_type") == "stream"
            and merged[-1]["name"] == o["name"]
        ):
            merged[-1] = {**merged[-1], "text": "".join(merged[-1]["text"]) + "".join(o["text"])}
        else:
            merged.append({**o, "text": "".join(o["text"])} if o.get("output_type") == "stream" else o)
    return merged


def _normalised(notebook: Path, out_roots: list[Path]) -> dict[str, Any]:
    """The executed notebook without what differs between any two runs: timings, the staging
    folder's random name, the random id papermill gives the injected parameters cell and where
    printed text was cut into stream messages."""
    text = notebook.read_text(encoding="utf-8")
    for root in out_roots:
        text = re.sub(re.escape(str(root)) + r"/\.staging-[^\"\\<' ]*", "STAGING", text)
    text = re.sub(r"\.staging-[^\"\\<' ]*", "STAGING", text)  # as the notebook names it, relative
    nb: dict[str, Any] = json.loads(text)
    nb["metadata"].pop("papermill", None)
    for cell in nb["cells"]:
        cell["metadata"].pop("papermill", None)
        cell["metadata"].pop("execution", None)
        if "injected-parameters" in cell["metadata"].get("tags", []):
            cell.pop("id", None)
        if "outputs" in cell:
            cell["outputs"] = _coalesced(cell["outputs"])
    return nb


def _cells(workbook: Path) -> dict[str, list[list[Any]]]:
    wb = openpyxl.load_workbook(workbook)

    # an array formula is an object with its text: compared by that text
    # an array formula is an object holding its text: compared by that text
    def value(c: Any) -> Any:
        return c.value.text if isinstance(c.value, ArrayFormula) else c.value

    return {ws.title: [[value(c) for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def test_warm_kernel_runs_match_the_cold_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the same provenance for both paths: the clock and the commit are the only other differences
    monkeypatch.setattr(execute, "_now", lambda: "2026-01-01T00:00:00+00:00")
    monkeypatch.setattr(execute, "git_state", lambda root=execute.REPO_ROOT: {"commit": "0" * 40, "dirty": False})
    monkeypatch.setattr(kernels, "_code_version", lambda: "fixed")  # a change of code restarts the kernel
    files = generate_demo(tmp_path / "data")
    chosen = [files[0], files[2]]  # two different schemes (county-10-stars, xinluo-three-level)
    cold_out, warm_out = tmp_path / "cold", tmp_path / "warm"
    runs: list[tuple[Path, Path]] = []
    for period in ("2025", "2025Q4"):
        for f in chosen:
            cold = execute.run_branch(f, period, cold_out)
            warm = execute.run_branch(f, period, warm_out, warm=True)
            runs.append((cold, warm))
    # one kernel served all four warm notebooks
    warm_state = kernels._local.kernels[KERNEL]
    assert warm_state.notebooks == 4 and warm_state.km.is_alive()

    for cold, warm in runs:
        names = sorted(p.name for p in cold.iterdir())
        assert names == sorted(p.name for p in warm.iterdir())
        assert "公示.pdf" in names or not os.environ.get("CI")
        manifests = [json.loads((r / "manifest.json").read_text(encoding="utf-8")) for r in (cold, warm)]
        assert [m["kernel"]["warm"] for m in manifests] == [False, True]
        for name in names:
            a, b = cold / name, warm / name
            if name.endswith(".ipynb"):
                na, nb_ = _normalised(a, [cold_out, warm_out]), _normalised(b, [cold_out, warm_out])
                assert next(c["execution_count"] for c in nb_["cells"] if c["cell_type"] == "code") == 1
                assert na == nb_, f"{name} differs between the cold and the warm kernel"
            elif name.endswith(".csv"):
                assert a.read_bytes() == b.read_bytes(), name
            elif name.endswith(".xlsx"):
                assert _cells(a) == _cells(b), name
            elif name.endswith(".pdf") and shutil.which("pdftotext"):
                # printed by the warm kernel's kept LibreOffice, and by a fresh one on the cold path
                assert _pdf_text(a) == _pdf_text(b), name
    # the warm kernel printed them through its kept LibreOffice, where python3-uno is installed
    if shutil.which("soffice") and (os.environ.get("CI") or office.load_uno() is not None):
        assert (
            _in_kernel(
                warm_state,
                "from scoring.outputs import office\nprint(office._server is not None and office._server.alive())",
            )
            == "True"
        )


def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _in_kernel(warm: Any, code: str) -> str:
    """What ``code`` prints in a warm kernel, asked through that kernel's own client (a second
    client of the same kernel manager shares its session, and so its ZMQ identity)."""
    printed: list[str] = []
    warm.kc.execute_interactive(
        code, store_history=False, timeout=60, output_hook=lambda msg: printed.append(msg["content"].get("text", ""))
    )
    return "".join(printed).strip()


def _tiny_notebook(path: Path, *sources: str) -> Path:
    nb = new_notebook()
    nb.cells = [new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": KERNEL, "language": "python"}
    write_notebook(nb, path)
    return path


def test_nothing_of_one_notebook_is_seen_by_the_next(tmp_path: Path) -> None:
    first = _tiny_notebook(
        tmp_path / "first.ipynb",
        "leak = 41\nimport warnings\nwarnings.warn('once only?')",
        "import matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt\n"
        "plt.figure(); matplotlib.rcParams['lines.linewidth'] = 9.0\n"
        "import os; os.chdir('/')",
    )
    second = _tiny_notebook(
        tmp_path / "second.ipynb",
        "import os, warnings\nprint('leak' in globals(), os.getcwd())\nwarnings.warn('once only?')",
        "import matplotlib, matplotlib.pyplot as plt\n"
        "print(len(plt.get_fignums()), matplotlib.rcParams['lines.linewidth'])",
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pm.execute_notebook(
        str(first),
        str(tmp_path / "a" / "out.ipynb"),
        kernel_name=KERNEL,
        engine_name=kernels.ENGINE_NAME,
        progress_bar=False,
        cwd=str(tmp_path / "a"),
    )
    km = kernels._local.kernels[KERNEL].km
    pm.execute_notebook(
        str(second),
        str(tmp_path / "b" / "out.ipynb"),
        kernel_name=KERNEL,
        engine_name=kernels.ENGINE_NAME,
        progress_bar=False,
        cwd=str(tmp_path / "b"),
    )
    assert kernels._local.kernels[KERNEL].km is km  # the same kernel, reset
    out = read_notebook(tmp_path / "b" / "out.ipynb", as_version=4)
    first_cell, second_cell = out.cells[0], out.cells[1]
    assert first_cell.execution_count == 1
    text = "".join(o.get("text", "") for o in first_cell.outputs)
    assert f"False {tmp_path / 'b'}" in text  # no variable of the first notebook; its own folder
    assert any(
        o.get("name") == "stderr" and "once only?" in o.get("text", "") for o in first_cell.outputs
    )  # warned again
    assert "0 " + str(float(__import__("matplotlib").rcParamsDefault["lines.linewidth"])) in "".join(
        o.get("text", "") for o in second_cell.outputs
    )


def test_a_code_change_or_a_dead_kernel_gets_a_fresh_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = _tiny_notebook(tmp_path / "n.ipynb", "x = 1")

    def run() -> None:
        pm.execute_notebook(
            str(nb),
            str(tmp_path / "o.ipynb"),
            kernel_name=KERNEL,
            engine_name=kernels.ENGINE_NAME,
            progress_bar=False,
            cwd=str(tmp_path),
        )

    run()
    first = kernels._local.kernels[KERNEL].km
    monkeypatch.setattr(kernels, "_code_version", lambda: "changed")
    run()
    second = kernels._local.kernels[KERNEL].km
    assert second is not first and not first.is_alive()
    second.shutdown_kernel(now=True)  # as if it had crashed
    run()
    third = kernels._local.kernels[KERNEL].km
    assert third is not second and third.is_alive()
