"""A LibreOffice kept running (scoring.outputs.office.OfficeServer) writes the same files as a fresh one."""

from __future__ import annotations

import builtins
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from scoring.inputs.demo import generate_demo
from scoring.outputs import office
from scoring.outputs.publicity import write_publicity_pdf

pytestmark = pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"),
    reason="LibreOffice not installed (make test installs it; in CI this test must run)",
)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Conversions in this test go through this process's kept LibreOffice (as in a warm kernel)."""
    if office.load_uno() is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice's UNO bridge (Debian python3-uno) does not load: make office installs it")
        pytest.skip("python3-uno not installed")
    monkeypatch.setenv(office.SERVER_ENV, "1")
    office.stop_server()
    yield
    office.stop_server()


def _text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _pages(pdf: Path, out: Path) -> list[bytes]:
    out.mkdir()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(out / "p")], check=True)
    return [p.read_bytes() for p in sorted(out.glob("p*.png"))]


def _tiny_workbook(folder: Path) -> Path:
    source = folder / "a.xlsx"
    wb = xlsxwriter.Workbook(str(source))
    wb.add_worksheet().write("A1", "公示")
    wb.close()
    return source


def test_a_kept_libreoffice_prints_the_same_publicity_pdf_as_a_fresh_one(
    server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scoring.views import notebook

    files = generate_demo(tmp_path / "data")
    for i, f in enumerate(files[:2]):
        run = notebook.load(str(f), "2025")
        kept = write_publicity_pdf(run.result, tmp_path / f"kept{i}")
        assert office._server is not None and office._server.alive()
        with monkeypatch.context() as m:
            m.delenv(office.SERVER_ENV)
            fresh = write_publicity_pdf(run.result, tmp_path / f"fresh{i}")
        assert run.result.branch_name in _text(kept)
        assert _text(kept) == _text(fresh)
        assert _pages(kept, tmp_path / f"kept{i}png") == _pages(fresh, tmp_path / f"fresh{i}png")


def test_a_kept_libreoffice_recalculates_stale_formulas(server: None, tmp_path: Path) -> None:
    source = tmp_path / "stale.xlsx"
    wb = xlsxwriter.Workbook(str(source))
    ws = wb.add_worksheet("表")
    ws.write_number("A1", 21)
    ws.write_formula("B1", "=A1*2", None, 0)  # a cached value that is wrong
    ws.write_formula("C1", '=IF(B1=42,"对","错")', None, "错")
    wb.close()
    out = office.convert(source, tmp_path / "out", "xlsx")
    assert out == tmp_path / "out" / "stale.xlsx"
    values = openpyxl.load_workbook(out, data_only=True)["表"]
    assert (values["B1"].value, values["C1"].value) == (42, "对")


def test_a_dead_libreoffice_is_replaced(server: None, tmp_path: Path) -> None:
    source = _tiny_workbook(tmp_path)
    office.convert(source, tmp_path / "one", "pdf")
    first = office._server
    assert first is not None
    first._proc.kill()
    first._proc.wait()
    assert office.convert(source, tmp_path / "two", "pdf").exists()
    assert office._server is not None and office._server is not first and office._server.alive()
    assert not first._profile.exists()  # the dead one's profile is gone


def test_a_failing_libreoffice_is_stopped_and_the_file_made_by_a_fresh_one(
    server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _tiny_workbook(tmp_path)
    office.convert(source, tmp_path / "one", "pdf")
    broken = office._server
    assert broken is not None

    def fail(*args: object, **kwargs: object) -> Path:
        raise RuntimeError("disposed")

    monkeypatch.setattr(broken, "convert", fail)
    assert office.convert(source, tmp_path / "two", "pdf") == tmp_path / "two" / "a.pdf"
    assert (tmp_path / "two" / "a.pdf").exists()
    assert office._server is None and not broken.alive()


def test_uno_leaves_nothing_in_the_notebook_namespace(server: None, tmp_path: Path) -> None:
    # pyuno keeps its runtime in __main__ (a kernel's user namespace) and replaces __import__
    original_import = builtins.__import__
    source = _tiny_workbook(tmp_path)
    office.convert(source, tmp_path / "out", "pdf")
    assert office._server is not None
    assert "pyuno_runtime" not in vars(sys.modules["__main__"])
    assert builtins.__import__ is original_import
    # and it still works after a warm kernel's reset emptied that namespace
    vars(sys.modules["__main__"]).pop("pyuno_runtime", None)
    assert office.convert(source, tmp_path / "again", "pdf").exists()


def test_profiles_of_gone_servers_are_removed(server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone = tmp_path / f"scoring-lo-server-{dead.pid}-abc"
    gone.mkdir()
    pipe = tmp_path / f"OSL_PIPE_0_scoring-lo-server-{dead.pid}-abc"
    pipe.touch()
    mine = tmp_path / f"scoring-lo-server-{os.getpid()}-xyz"
    mine.mkdir()
    source = _tiny_workbook(tmp_path)
    office.convert(source, tmp_path / "out", "pdf")
    assert not gone.exists() and not pipe.exists()
    assert mine.exists()  # a live process's
    office.stop_server()
    assert mine.exists() and not [p for p in tmp_path.glob("scoring-lo-server-*") if p != mine]


def test_a_kept_libreoffice_is_replaced_after_its_share_of_conversions(
    server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(office, "MAX_CONVERSIONS", 2)
    source = _tiny_workbook(tmp_path)
    office.convert(source, tmp_path / "one", "pdf")
    first = office._server
    assert first is not None and first.conversions == 1
    office.convert(source, tmp_path / "two", "pdf")
    second = office._server
    assert second is not None and second is not first and second.alive() and second.conversions == 0
    assert not first.alive() and not first._profile.exists()
    assert office.convert(source, tmp_path / "three", "pdf").exists() and office._server is second
