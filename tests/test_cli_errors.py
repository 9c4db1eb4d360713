"""Command-line mistakes end in a clear message and an exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scoring.inputs.demo import DEMO_BRANCHES, generate_demo


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scoring", *args], capture_output=True, text=True, timeout=300)


def test_validate_errors_into_a_folder_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    (book,) = generate_demo(tmp_path / "data", branches=DEMO_BRANCHES[:1])
    done = cli("validate", "--inputs", str(book), "--period", "2025", "--errors", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "问题表无法写出" in done.stderr and "Traceback" not in done.stderr


def test_verify_of_a_folder_with_a_broken_manifest_says_so(tmp_path: Path) -> None:
    run = tmp_path / "2025" / "B001" / "v001"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text("{not json", encoding="utf-8")
    done = cli("verify", str(run))
    assert done.returncode in (1, 2) and "manifest.json 无法读取" in done.stderr, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    (run / "manifest.json").write_text("[1, 2]", encoding="utf-8")
    done = cli("verify", str(run))
    assert "不是运行清单" in done.stderr and "Traceback" not in done.stderr


def test_recompute_of_a_folder_without_a_workbook(tmp_path: Path) -> None:
    done = cli("recompute", str(tmp_path), "--engine", "both")
    assert done.returncode == 2 and "没有结果工作簿" in done.stderr and "Traceback" not in done.stderr


def test_an_input_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    pipe = tmp_path / "B009.xlsx"
    os.mkfifo(pipe)  # opening a pipe would wait for a writer for ever
    for path in ("/dev/zero", str(pipe)):  # /dev/zero would be read until memory runs out
        done = cli("validate", "--inputs", path, "--period", "2025")
        assert done.returncode == 2 and "不是普通文件 (not a regular file)" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_template_out_is_a_folder_not_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "名单.xlsx"
    afile.write_bytes(b"x")
    done = cli("template", "--scheme", "county-10-stars", "--out", str(afile))
    assert done.returncode != 0 and "--out 应为文件夹" in done.stderr and "Traceback" not in done.stderr
    assert afile.read_bytes() == b"x"  # left as it was
