"""Malformed scheme files and the schemes a workbook may name (issue 14; SPEC 3.8 and 10).

Every malformed scheme is reported with its key path, the value found there and what is allowed,
in Python (``SchemeError.problems``) as on the command line (exit 2, nothing written). A scheme
named by an input workbook, which is untrusted input, is a built-in name or a regular ``.yaml``
file of at most 1 MB under the workbook's own folder; ``--scheme`` on the command line (the
operator's choice) may be any regular ``.yaml`` file.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from conftest import BookMaker, county_sheets

from scoring.cli import main
from scoring.exceptions import InputError, SchemeError, SchemeProblem
from scoring.inputs.reading import BRANCH_KEYS, load_inputs
from scoring.rules.periods import parse_period
from scoring.rules.scheme import MAX_SCHEME_BYTES, SCHEMES_DIR, load_scheme

REPO_ROOT = Path(__file__).resolve().parents[1]
COUNTY = "county-10-stars"
SCHEME_ROW = 2 + list(BRANCH_KEYS).index("scheme")  # header row 1: branch_id, branch_name, scheme, year


def county_text() -> str:
    return (SCHEMES_DIR / f"{COUNTY}.yaml").read_text(encoding="utf-8")


def edited(folder: Path, old: str, new: str, name: str = "my-county.yaml") -> Path:
    """A copy of county-10-stars with one text edit, as an officer would make it."""
    text = county_text()
    assert text.count(old) == 1, old
    path = folder / name
    path.write_text(text.replace(old, new).replace("name: county-10-stars", "name: my-county"), encoding="utf-8")
    return path


def scheme_failures(maker: BookMaker, ref: str) -> pd.DataFrame:
    """The failures of a valid workbook whose branch sheet names ``ref``: all at the scheme cell."""
    path = maker.write(COUNTY, county_sheets(), branch={"scheme": ref})
    with pytest.raises(InputError) as info:
        load_inputs(path, parse_period("2025"))
    f = info.value.failures
    assert (f["sheet"] == "branch").all() and (f["column"] == "scheme").all(), f.to_string()
    assert (f["row"] == SCHEME_ROW).all() and (f["value"] == ref).all(), f.to_string()
    assert f["allowed"].astype(str).str.strip().ne("").all()
    return f


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def run_refused(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    out = tmp_path / "runs"
    code, err = cli(["run", "--inputs", str(path), "--period", "2025", "--out", str(out), *extra], capsys)
    assert code == 2, err
    assert not out.exists() or list(out.iterdir()) == []
    return err


# -- malformed schemes: key path, value, what is allowed ----------------------------------------


def test_weights_adding_up_to_1_3_named_by_a_workbook(maker: BookMaker, tmp_path: Path, capsys: Any) -> None:
    # issue 14: reported as "积分方案文件有误 ... allowed: built-in scheme name or .yaml path"
    edited(tmp_path, "  weight: 0.2 ", "  weight: 0.5 ")  # monthly 0.8 + appraisal 0.5 = 1.3
    f = scheme_failures(maker, "my-county.yaml")
    assert len(f) == 1, f.to_string()
    rec = f.iloc[0]
    assert "appraisal.weight = 0.5" in rec["problem"] and "1.3" in rec["problem"]
    assert rec["allowed"].startswith("0.2 ") and "periods.year.weight to 0.5" in rec["allowed"]
    path = tmp_path / "book1.xlsx"
    err = run_refused(path, tmp_path, capsys)
    assert "appraisal.weight = 0.5" in err and "允许 allowed: 0.2 " in err


def test_weights_adding_up_to_1_3_given_with_scheme_option(tmp_path: Path, maker: BookMaker, capsys: Any) -> None:
    (tmp_path / "operator").mkdir()
    scheme = edited(tmp_path / "operator", "  weight: 0.2 ", "  weight: 0.5 ", name="operator-county.yaml")
    book = maker.write(COUNTY, county_sheets())
    code, err = cli(["validate", "--inputs", str(book), "--period", "2025", "--scheme", str(scheme)], capsys)
    assert code == 2
    line = next(ln for ln in err.splitlines() if ln.startswith("  - appraisal.weight: "))
    assert "1.3" in line and "(值 value: 0.5)" in line and line.split("; allowed: ", 1)[1].startswith("0.2 ")
    with pytest.raises(SchemeError) as info:
        load_scheme(scheme)
    assert info.value.problems[0][:2] == ("appraisal.weight", "0.5")
    again = pickle.loads(pickle.dumps(info.value))  # crosses process pools whole
    assert again.problems == info.value.problems and str(again) == str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "key", "value", "allowed"),
    [
        ("title: ", "colour: red\ntitle: ", "colour", "red", "name, version, title"),
        ("  min_raters: 10", "  min_rater: 10", "appraisal.min_rater", "10", "mode, combine, weight, max, min_raters"),
        ("{code: I03, name: 遵纪守法, max: 10}", "{code: I03, name: 遵纪守法, max: ten}", "items.2.max", "ten", "> 0"),
        ("  combine: highest_only", "  combine: best", "adjustments.combine", "best", "capped_per_group"),
        ("  mode: per_item", "  mode: [per_item]", "appraisal.mode", '["per_item"]', "per_item / single / none"),
        ("{min: 80, stars: 8,", "{min: 92, stars: 8,", "bands.2.min", "92", "a number below 90"),
        ("{code: I02,", "{code: I01,", "items.1.code", "I01", "a code not used by another item"),
    ],
    ids=["unknown-key", "misspelt-nested-key", "not-a-number", "not-a-choice", "list-for-text", "bands", "dup-code"],
)
def test_each_problem_has_key_value_and_allowed(
    tmp_path: Path, old: str, new: str, key: str, value: str, allowed: str
) -> None:
    with pytest.raises(SchemeError) as info:
        load_scheme(edited(tmp_path, old, new))
    problems = {p.key: p for p in info.value.problems}
    assert key in problems, info.value.problems
    assert problems[key].value == value and allowed in problems[key].allowed, problems[key]
    assert f"  - {key}: " in str(info.value) and "my-county.yaml" in str(info.value)


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        # the flow mapping opened on line 2 is still open: the ':' after "version" (column 8) is wrong
        ("name: x\nitems: [{code: I01\nversion: 1\n", "line 3, column 8", "YAML"),
        ("name: x\n  version: : 1\n", "line 2, column 10", "mapping values"),
        ("name: x\nname: y\n", "line 2, column 1", "given twice"),
        ("a: &x [1, 2]\nb: *x\n", "line 2, column 4", "aliases"),
        ("- just\n- a list\n", "(top level)", "mapping"),
    ],
    ids=["unclosed-flow", "bad-indent", "duplicate-key", "alias", "not-a-mapping"],
)
def test_yaml_problems_say_where(tmp_path: Path, text: str, where: str, words: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemeError) as info:
        load_scheme(path)
    (p,) = info.value.problems
    assert where in p.key and words in p.problem and p.allowed, p


def test_scheme_not_in_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.yaml"
    path.write_bytes(county_text().encode("gb18030"))
    with pytest.raises(SchemeError) as info:
        load_scheme(path)
    assert "UTF-8" in info.value.problems[0].problem and "UTF-8" in info.value.problems[0].allowed


def test_a_scheme_of_aliases_cannot_blow_up(tmp_path: Path) -> None:
    # nine levels of ten aliases would be 10^9 values to validate
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]" for k in range(1, 10)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SchemeError) as info:
        load_scheme(path)
    assert "aliases" in info.value.problems[0].problem


# -- what a workbook may name --------------------------------------------------------------------


def test_workbook_names_a_scheme_in_a_subfolder(maker: BookMaker, tmp_path: Path) -> None:
    (tmp_path / "schemes").mkdir()
    edited(tmp_path / "schemes", "  min_raters: 10", "  min_raters: 5")
    path = maker.write(COUNTY, county_sheets(), branch={"scheme": "schemes/my-county.yaml"})
    _, sch = load_inputs(path, parse_period("2025"))
    assert sch.name == "my-county" and sch.scheme.appraisal.min_raters == 5


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "pipe.yaml")  # opening it would wait for a writer forever
    return "pipe.yaml"


def _link_to(target: str) -> Any:
    def make(folder: Path) -> str:
        (folder / "link.yaml").symlink_to(target)
        return "link.yaml"

    return make


def _large(folder: Path) -> str:
    (folder / "large.yaml").write_text("# " + "x" * MAX_SCHEME_BYTES + "\n" + county_text(), encoding="utf-8")
    return "large.yaml"


def _outside(folder: Path) -> str:
    (folder.parent / "outside.yaml").write_text(county_text(), encoding="utf-8")
    return "../outside.yaml"


def _absolute_beside(folder: Path) -> str:
    (folder / "beside.yaml").write_text(county_text(), encoding="utf-8")
    return str(folder / "beside.yaml")  # beside the workbook, but named by its absolute path


def _folder(folder: Path) -> str:
    (folder / "dir.yaml").mkdir()
    return "dir.yaml"


def _outside_link(folder: Path) -> str:
    (folder.parent / "elsewhere.yaml").write_text(county_text(), encoding="utf-8")
    (folder / "near.yaml").symlink_to(folder.parent / "elsewhere.yaml")
    return "near.yaml"


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda folder: "/dev/zero", "unknown scheme"),
        (lambda folder: "/etc/../dev/zero.yaml", "absolute path"),
        (_absolute_beside, "absolute path"),
        (_outside, "outside its folder"),
        (lambda folder: "schemes/../../x.yaml", "outside its folder"),
        (lambda folder: "C:\\schemes\\county.yaml", "absolute path"),
        (lambda folder: "\\\\server\\share\\county.yaml", "absolute path"),
        (_link_to("/dev/zero"), "links outside"),
        (_outside_link, "links outside"),
        (_fifo, "not a regular file"),
        (_folder, "not a regular file"),
        (_large, "too large"),
        (lambda folder: "missing.yaml", "cannot read"),
        (lambda folder: "county-11-stars", "unknown scheme"),
    ],
    ids=[
        "dev-zero",
        "absolute",
        "absolute-beside",
        "dot-dot",
        "dot-dot-inside",
        "windows-drive",
        "windows-share",
        "link-to-dev-zero",
        "link-outside",
        "fifo",
        "folder",
        "over-1-MB",
        "missing",
        "unknown-name",
    ],
)
def test_workbook_may_not_name_a_scheme_outside_its_folder(tmp_path: Path, capsys: Any, make: Any, words: str) -> None:
    folder = tmp_path / "branch"
    folder.mkdir()
    ref = make(folder)
    f = scheme_failures(BookMaker(folder), ref)
    assert len(f) == 1 and words in f.iloc[0]["problem"], f.to_string()
    assert ".yaml" in f.iloc[0]["allowed"]
    run_refused(folder / "book1.xlsx", tmp_path, capsys)


def test_dev_zero_is_refused_at_once_from_the_command_line(maker: BookMaker, tmp_path: Path) -> None:
    # issue 14: read until memory ran out. A separate process with a time limit, so that a
    # regression fails the test instead of filling the machine
    book = maker.write(COUNTY, county_sheets(), branch={"scheme": "/dev/zero"})
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    for extra in ([], ["--scheme", "/dev/zero"], ["--scheme", str(tmp_path / "zero.yaml")]):
        proc = subprocess.run(
            [sys.executable, "-m", "scoring", "validate", "--inputs", str(book), "--period", "2025", *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert "/dev/zero" in proc.stderr or "zero.yaml" in proc.stderr


def test_operator_may_choose_any_regular_yaml_file(maker: BookMaker, tmp_path: Path, capsys: Any) -> None:
    elsewhere = tmp_path / "unit-schemes"
    elsewhere.mkdir()
    scheme = edited(elsewhere, "  min_raters: 10", "  min_raters: 5")
    book = maker.write(COUNTY, county_sheets(), branch={"scheme": "/somewhere/else.yaml"})
    code, out_err = cli(["validate", "--inputs", str(book), "--period", "2025", "--scheme", str(scheme)], capsys)
    assert code == 0, out_err
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")
    with pytest.raises(SchemeError) as info:  # but not a device, however it is named
        load_scheme(tmp_path / "zero.yaml")
    assert "not a regular file" in str(info.value)
    big = elsewhere / "big.yaml"
    big.write_text("# " + "x" * MAX_SCHEME_BYTES + "\n", encoding="utf-8")
    code, err = cli(["validate", "--inputs", str(book), "--period", "2025", "--scheme", str(big)], capsys)
    assert code == 2 and "too large" in err


def test_scheme_problem_fields() -> None:
    p = SchemeProblem("appraisal.weight", "0.5", "sum is 1.3", "0.2")
    err = SchemeError("积分方案文件有误 x.yaml:", [p], "x.yaml")
    assert err.problems == [p] and err.file == "x.yaml"
    assert str(err).splitlines()[1] == "  - appraisal.weight: sum is 1.3 (值 value: 0.5); allowed: 0.2"
    assert yaml.safe_load("a: 1") == {"a": 1}  # the ordinary loader is untouched
