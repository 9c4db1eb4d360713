"""Sealed runs: read-only files, the input archive, approve, verify and diff (real papermill runs)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import county_sheets, read_notebook

from scoring.exceptions import RunError
from scoring.inputs.demo import write_input_workbook
from scoring.rules.scheme import load_scheme
from scoring.runs.execute import ARCHIVE_DIR, run_branch
from scoring.runs.review import HIDDEN, approve, diff, verify

REPO = Path(__file__).resolve().parents[1]
PERIOD = "2025Q1"
BRANCH = {"branch_id": "R001", "branch_name": "审核测试支部", "scheme": "county-10-stars", "year": 2025}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(folder).as_posix(): (sha(p), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def sheets(amended_score: float | None = None) -> dict[str, pd.DataFrame]:
    s = county_sheets(n=12, item_score=8.0)
    if amended_score is not None:  # the committee re-scores M03's February first item
        monthly = s["monthly_scores"]
        first_item = load_scheme("county-10-stars").scheme.item_codes[0]
        monthly.loc[(monthly["member_id"] == "M03") & (monthly["month"].astype(str).str.endswith("02")), first_item] = (
            amended_score
        )
    return s


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two versions of one branch's quarter: v001, then v002 after one monthly score changed."""
    data = tmp_path_factory.mktemp("inputs")
    out = tmp_path_factory.mktemp("runs")
    sch = load_scheme("county-10-stars").scheme
    book = write_input_workbook(data / "R001.xlsx", BRANCH, sheets(), sch)
    first = run_branch(book, PERIOD, out)
    write_input_workbook(data / "R001.xlsx", BRANCH, sheets(amended_score=10.0), sch)  # edited in place
    second = run_branch(book, PERIOD, out)
    return out, first, second


def test_run_files_are_read_only_and_inputs_are_archived_outside_the_run(runs: tuple[Path, Path, Path]) -> None:
    out, first, second = runs
    assert (first.name, second.name) == ("v001", "v002")
    for p in first.rglob("*"):
        if p.is_file():
            assert not p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), p
    m = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    archived = (first / m["inputs"][0]["archived"]).resolve()
    assert archived.parent == (out / ARCHIVE_DIR).resolve() and sha(archived) == m["inputs"][0]["sha256"]
    assert sha((first / m["scheme"]["archived"]).resolve()) == m["scheme"]["sha256"]
    # the two versions were scored from different workbooks, both kept
    m2 = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
    assert m2["inputs"][0]["sha256"] != m["inputs"][0]["sha256"] and (second / m2["inputs"][0]["archived"]).exists()
    # an input workbook holds the ballots: it is never inside a run folder
    assert not [p for p in first.rglob("*.xlsx") if not p.name.endswith("_结果.xlsx")]


def test_verify_passes_on_an_untouched_run(runs: tuple[Path, Path, Path]) -> None:
    v = verify(runs[1])
    assert v.ok, v.report()
    assert set(v.files["status"]) == {"ok"} and len(v.files) >= 5
    assert v.figures.empty


def test_approve_adds_a_file_and_changes_none(runs: tuple[Path, Path, Path]) -> None:
    run = runs[2]
    before = snapshot(run)
    path = approve(run, "王审核", "季度复核")
    after = snapshot(run)
    assert {k: v for k, v in after.items() if k != path.name} == before
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["reviewer"] == "王审核" and record["manifest_sha256"] == sha(run / "manifest.json")
    assert record["files"]["summary.csv"] == sha(run / "summary.csv")
    v = verify(run)
    assert v.ok and list(v.approvals["reviewer"]) == ["王审核"] and v.approvals["still_valid"].all()
    with pytest.raises(RunError, match="reviewer"):
        approve(run, "  ")


def test_verify_reports_a_changed_figure_and_approve_refuses(runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    out = runs[0]
    # tamper with a copy, never with a run another test reads
    copy = tmp_path / "2025Q1" / "R001" / "v001"
    copy.parent.mkdir(parents=True)
    subprocess.run(["cp", "-a", str(runs[1]), str(copy)], check=True)
    os.symlink(out / ARCHIVE_DIR, tmp_path / ARCHIVE_DIR)
    summary = copy / "summary.csv"
    summary.chmod(0o644)
    text = summary.read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    col = header.index("quarter_score")
    recorded = row[col]
    row[col] = "99.99"
    summary.write_text("\n".join([text[0], ",".join(row), *text[2:]]) + "\n", encoding="utf-8")
    v = verify(copy)
    assert not v.ok
    assert v.files.set_index("file").loc["summary.csv", "status"] == "changed"
    changed = v.figures.set_index(["member_id", "figure"])
    assert changed.loc[(row[0], "quarter_score"), "recorded"] == "99.99"
    assert changed.loc[(row[0], "quarter_score"), "now"] == recorded
    assert "未通过 FAILED" in v.report()
    with pytest.raises(RunError, match="changed"):
        approve(copy, "王审核")
    # the command line: exit 1 and the report
    proc = subprocess.run(
        [sys.executable, "-m", "scoring", "verify", str(copy)], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 1 and "summary.csv" in proc.stdout and "99.99" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "scoring", "verify", str(runs[1])], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 0 and "通过 OK" in proc.stdout


def test_diff_names_the_member_and_the_input_cell_under_the_change(runs: tuple[Path, Path, Path]) -> None:
    _, first, second = runs
    d = diff(first, second)
    assert set(d.figures["member_id"]) >= {"M03"}
    m03 = d.figures[d.figures["member_id"] == "M03"].set_index("figure")
    # the figures are text as in summary.csv
    assert float(str(m03.loc["quarter_score", "b"])) > float(str(m03.loc["quarter_score", "a"]))
    item = load_scheme("county-10-stars").scheme.item_codes[0]
    assert len(d.inputs) == 1, d.inputs
    change = d.inputs.iloc[0]
    assert change["member_id"] == "M03" and change["column"] == item and "monthly_scores" in change["sheet"]
    assert (float(change["a"]), float(change["b"])) == (8.0, 10.0)
    assert change["row_a"] == change["row_b"] and change["row_a"] >= 2
    # members whose rank moved only because M03 rose are listed as figures, and said to be so
    report = d.report()
    assert "M03" in report and item in report
    proc = subprocess.run(
        [sys.executable, "-m", "scoring", "diff", str(first), str(second)], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 0 and "M03" in proc.stdout


def test_diff_never_shows_a_ballot(runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    from scoring.inputs.reading import load_inputs
    from scoring.rules.periods import parse_period
    from scoring.runs.review import compare_inputs

    sch = load_scheme("county-10-stars").scheme
    a = county_sheets(n=12)
    b = county_sheets(n=12)
    item = sch.item_codes[0]
    b["appraisal"].loc[b["appraisal"].index[0], item] = 3.0  # one rater changed one mark
    pa = write_input_workbook(tmp_path / "a.xlsx", BRANCH, a, sch)
    pb = write_input_workbook(tmp_path / "b.xlsx", BRANCH, b, sch)
    p = parse_period("2025")
    table = compare_inputs(load_inputs(pa, p)[0], load_inputs(pb, p)[0])
    assert len(table) == 1 and "appraisal" in table.iloc[0]["sheet"]
    assert table.iloc[0]["a"] == HIDDEN and table.iloc[0]["b"] == HIDDEN
    assert "3.0" not in table.to_string() and "3" not in str(table.iloc[0]["b"])


def test_diff_refuses_runs_of_different_periods(runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    other = tmp_path / "x"
    other.mkdir()
    m = json.loads((runs[1] / "manifest.json").read_text(encoding="utf-8"))
    (other / "manifest.json").write_text(json.dumps(m | {"period": "2025Q2"}), encoding="utf-8")
    with pytest.raises(RunError, match="同一支部同一期间"):
        diff(runs[1], other)


def test_reviewer_notebook_for_a_run_is_written_beside_it_and_changes_nothing(runs: tuple[Path, Path, Path]) -> None:

    from scoring.runs.execute import run_review

    run = runs[1]
    before = snapshot(run)
    target = run_review(run, holidays=["2025-10-01"])
    assert target.parent == run.parent / "reviews" and snapshot(run) == before
    nb = read_notebook(target, as_version=4)
    assert nb.metadata["papermill"]["parameters"]["holidays"] == ["2025-10-01"]
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert not errors
    text = json.dumps([c.get("outputs", []) for c in nb.cells], ensure_ascii=False)
    assert "通过" in text and "未通过" not in text
    # this branch scores everyone 8 in every item and month: the seeds' warning signs show
    assert "所有党员同一月份总分相同" in text and "注意" in text


def test_pattern_flags_see_a_formality_and_pass_a_real_branch(tmp_path: Path) -> None:
    from scoring.inputs.demo import generate_demo
    from scoring.inputs.reading import load_inputs
    from scoring.rules.engine import score
    from scoring.rules.periods import parse_period
    from scoring.views.audit import FLAG, OK, pattern_flags

    p = parse_period("2025")
    sch = load_scheme("county-10-stars").scheme
    flat = write_input_workbook(tmp_path / "flat.xlsx", BRANCH, county_sheets(n=12, item_score=8.0, rating=8.0), sch)
    book, loaded = load_inputs(flat, p)
    results = pattern_flags(book, score(book, loaded, p)).set_index("检查 check")["结果"]
    assert results.filter(like="same total for everyone").item() == FLAG
    assert results.filter(like="same scores every month").item() == FLAG
    assert results.filter(like="without spread").item() == FLAG
    copied = county_sheets(n=12, item_score=8.0)
    copied["self_scores"] = copied["monthly_scores"].copy()  # the committee's scores are the self-scores
    book, loaded = load_inputs(write_input_workbook(tmp_path / "copied.xlsx", BRANCH, copied, sch), p)
    flags = pattern_flags(book, score(book, loaded, p)).set_index("检查 check")
    assert flags.filter(like="copied the self-scores", axis=0)["结果"].item() == FLAG
    assert "100%" in flags.filter(like="copied the self-scores", axis=0)["发现 found"].item()
    demo = generate_demo(tmp_path / "demo")[0]
    book, loaded = load_inputs(demo, p)
    flags = pattern_flags(book, score(book, loaded, p))
    assert (flags["结果"] == OK).all(), flags


def copy_run(run: Path, out: Path, tmp_path: Path) -> Path:
    """A copy of a branch run under ``tmp_path`` that still finds the archived inputs."""
    copy = tmp_path / PERIOD / "R001" / run.name
    copy.parent.mkdir(parents=True)
    subprocess.run(["cp", "-a", str(run), str(copy)], check=True)
    os.symlink(out / ARCHIVE_DIR, tmp_path / ARCHIVE_DIR)
    return copy


def test_only_approvals_named_as_approve_names_them_are_ignored(runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    from scoring.runs.review import check_files

    copy = copy_run(runs[1], runs[0], tmp_path)
    approval = approve(copy, "李审核")  # a real approval is not an unexpected file
    assert check_files(copy)["status"].eq("ok").all()
    (copy / "approval-x.txt").write_text("改过的名单", encoding="utf-8")
    (copy / "approval-notes.json").write_text("{}", encoding="utf-8")
    (copy / "approval-extra").mkdir()
    (copy / "approval-extra" / "a.json").write_text("{}", encoding="utf-8")
    files = check_files(copy).set_index("file")["status"]
    assert files.get("approval-x.txt") == "unexpected" and files.get("approval-notes.json") == "unexpected"
    assert files.get("approval-extra/a.json") == "unexpected" and approval.name not in files.index
    v = verify(copy)
    assert not v.ok and list(v.approvals["reviewer"]) == ["李审核"]  # the odd .json is no approval
    assert "approval-x.txt" in v.report() and "未通过 FAILED" in v.report()


def test_verify_says_plainly_when_no_figure_was_compared(runs: tuple[Path, Path, Path], tmp_path: Path) -> None:
    copy = copy_run(runs[1], runs[0], tmp_path)
    (copy / "summary.csv").unlink()
    v = verify(copy)
    report = v.report()
    assert not v.ok and not v.rescored and v.compared == 0
    assert "every figure matches" not in report and "完全一致" not in report
    assert "no figure was compared" in report and "summary.csv missing" in report
    good = verify(runs[1])
    assert good.rescored and good.compared == 12 and "all 12 rows compared, every figure matches" in good.report()


@pytest.fixture(scope="module")
def rollup(runs: tuple[Path, Path, Path]) -> Path:
    """A real roll-up (notebooks/rollup.ipynb) over the branch's second run."""
    from scoring.runs.execute import run_rollup

    folder, reused = run_rollup({"R001": runs[2]}, PERIOD, runs[0], missing=["R002"])
    assert not reused
    return folder


def test_verify_of_a_roll_up_rechecks_every_branch_run_it_references(rollup: Path) -> None:
    m = json.loads((rollup / "manifest.json").read_text(encoding="utf-8"))
    assert m["kind"] == "rollup" and len(m["branch_runs"]) == 1
    v = verify(rollup)
    report = v.report()
    assert v.ok, report
    assert v.kind == "rollup" and v.rescored and v.compared == 12
    r001 = v.branch_runs.set_index("branch_id").loc["R001"]
    assert isinstance(r001, pd.Series)  # one row: the branch is referenced once
    assert r001[["manifest", "summary", "files", "status"]].tolist() == ["ok", "ok", "ok", "ok"]
    assert str(r001["figures"]).startswith("ok (12 ")
    assert "branch runs referenced): 1" in report and "all 12 rows compared" in report and "R002" in report
    proc = subprocess.run(
        [sys.executable, "-m", "scoring", "verify", str(rollup)], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 0 and "通过 OK" in proc.stdout, proc.stdout + proc.stderr


def test_verify_of_a_roll_up_fails_when_a_branch_run_changed_or_went_missing(
    runs: tuple[Path, Path, Path], rollup: Path, tmp_path: Path
) -> None:
    out = runs[0]
    copy = tmp_path / "out"
    subprocess.run(["cp", "-a", str(out), str(copy)], check=True)  # tamper with a copy of the whole output folder
    rollup_copy = copy / rollup.relative_to(out)
    branch_copy = copy / runs[2].relative_to(out)
    summary = branch_copy / "summary.csv"
    summary.chmod(0o644)
    summary.write_text(summary.read_text(encoding="utf-8").replace("M01,", "M01,改", 1), encoding="utf-8")
    v = verify(rollup_copy)
    report = v.report()
    assert not v.ok and not v.rescored
    row = v.branch_runs.set_index("branch_id").loc["R001"]
    assert (row["manifest"], row["summary"], row["status"]) == (
        "ok",
        "changed",
        "problem",
    ) and "summary.csv changed" in row["files"]
    assert "every figure matches" not in report and "no figure was compared" in report and "未通过 FAILED" in report
    proc = subprocess.run(
        [sys.executable, "-m", "scoring", "verify", str(rollup_copy)], capture_output=True, text=True, cwd=REPO
    )
    assert proc.returncode == 1 and "changed" in proc.stdout and "R001" in proc.stdout

    subprocess.run(["chmod", "-R", "u+w", str(branch_copy)], check=True)
    subprocess.run(["rm", "-rf", str(branch_copy)], check=True)
    v = verify(rollup_copy)
    row = v.branch_runs.set_index("branch_id").loc["R001"]
    assert not v.ok and (row["manifest"], row["summary"]) == ("missing", "missing")
    assert "missing" in v.report() and "every figure matches" not in v.report()


def test_verify_of_a_roll_up_re_computes_its_unit_table(
    runs: tuple[Path, Path, Path], rollup: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "out"
    subprocess.run(["cp", "-a", str(runs[0]), str(copy)], check=True)
    rollup_copy = copy / rollup.relative_to(runs[0])
    unit = rollup_copy / "unit_summary.csv"
    unit.chmod(0o644)
    text = unit.read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    row[header.index("score")] = "99.5"
    unit.write_text("\n".join([text[0], ",".join(row), *text[2:]]) + "\n", encoding="utf-8")
    v = verify(rollup_copy)
    assert not v.ok and v.rescored
    assert v.files.set_index("file").loc["unit_summary.csv", "status"] == "changed"
    changed = v.figures.set_index(["member_id", "figure"])
    assert (
        changed.loc[(f"{row[header.index('branch_id')]}/{row[header.index('member_id')]}", "score"), "recorded"]
        == "99.5"
    )
