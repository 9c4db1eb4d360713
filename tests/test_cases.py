"""Follow-up cases across years (SPEC 8): the register a year run opens, later runs carry and
follow_up_outcomes close; checked against hand-computed dates.

The scheme is ganzi-base-plus-minus: four items of 25 points scored every month, the year's total
the mean of the monthly totals (no appraisal, no adjustment here), bands 优秀 >= 90, 合格 >= 70,
基本合格 >= 60, 不合格 below; its 公示 lasts 7 working days (Saturdays and Sundays are not).
A member scored 16 on every item has a monthly total of 64 and a year of 64 (基本合格); 12 on
every item gives 48 (不合格); 20 gives 80 (合格).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import member_rows, monthly_rows

from scoring.exceptions import InputError
from scoring.inputs.demo import write_input_workbook
from scoring.inputs.reading import check_outcomes_against, load_inputs
from scoring.outputs.csvfile import read_csv_text
from scoring.rules.engine.cases import add_months, case_register, publicity_window
from scoring.rules.engine.prior import CASE_COLUMNS
from scoring.rules.periods import parse_period
from scoring.rules.scheme import load_scheme
from scoring.runs.execute import find_reusable, run_branch
from scoring.runs.record import load_prior, prior_runs
from scoring.runs.review import verify

SCHEME = "ganzi-base-plus-minus"
BRANCH = "T001"
REPO = Path(__file__).resolve().parents[1]


def sheets(year: int, points: dict[str, float]) -> dict[str, pd.DataFrame]:
    """A branch of three members scored ``points[member]`` on every item of every month of ``year``."""
    members = member_rows(list(points))
    monthly = monthly_rows(SCHEME, members, lambda m, mo, it: points[m])
    monthly["month"] = monthly["month"].str.replace("2025-", f"{year}-", regex=False)
    return {"members": members, "monthly_scores": monthly}


def outcome(
    member: str, case_year: int, on: dt.date, result: str, action: str, helper: str = "张三"
) -> dict[str, object]:
    return {
        "member_id": member,
        "case_year": case_year,
        "decided_on": on,
        "outcome": result,
        "action": action,
        "helper": helper,
        "note": None,
    }


def workbook(
    folder: Path,
    name: str,
    year: int,
    points: dict[str, float],
    outcomes: list[dict[str, object]] | None = None,
    **extra: object,
) -> Path:
    info: dict[str, object] = {"branch_id": BRANCH, "branch_name": "测试支部", "scheme": SCHEME, "year": year}
    tables = sheets(year, points)
    if outcomes:
        tables["follow_up_outcomes"] = pd.DataFrame(outcomes)
    info.update(extra)
    folder.mkdir(parents=True, exist_ok=True)
    return write_input_workbook(folder / name, info, tables, load_scheme(SCHEME).scheme)


# -- the pure engine --------------------------------------------------------------------------


def test_add_months_keeps_the_day_or_clips_to_the_months_end() -> None:
    assert add_months(dt.date(2025, 1, 14), 6) == dt.date(2025, 7, 14)
    assert add_months(dt.date(2025, 1, 14), 12) == dt.date(2026, 1, 14)
    assert add_months(dt.date(2025, 8, 31), 6) == dt.date(2026, 2, 28)  # February has 28 days in 2026
    assert add_months(dt.date(2023, 8, 31), 6) == dt.date(2024, 2, 29)  # ... and 29 in 2024


def annual(rows: list[tuple[str, str, float, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["member_id", "name", "total", "grade", "veto", "exempt"])


MEMBERS = pd.DataFrame({"member_id": ["M01", "M02", "M03", "M04", "M05"], "name": ["甲", "乙", "丙", "丁", "戊"]})


def test_a_year_opens_cases_for_basic_and_failed_grades_not_exempt_ones() -> None:
    """opened_on 2025-01-14; 告诫 due six months later (2025-07-14), 限期整改 a year later
    (2026-01-14); M04 is exempt (rated by hand): no case; M05 exempt but vetoed to 不合格: a case."""
    year = annual(
        [
            ("M01", "甲", 80.0, "合格", "no", "no"),
            ("M02", "乙", 64.0, "基本合格", "no", "no"),
            ("M03", "丙", 48.0, "不合格", "no", "no"),
            ("M04", "丁", float("nan"), "基本合格", "no", "yes"),
            ("M05", "戊", float("nan"), "不合格", "yes", "yes"),
        ]
    )
    empty = pd.DataFrame(columns=CASE_COLUMNS)
    reg = case_register(year, MEMBERS, empty, pd.DataFrame(), parse_period("2024"), dt.date(2025, 1, 14))
    assert list(reg.columns) == CASE_COLUMNS
    got = reg[["member_id", "case_year", "kind", "opened_on", "deadline", "status", "overdue", "opened_by"]]
    assert got.to_dict("records") == [
        # ordered by deadline: both open, none overdue at 2024-12-31
        {"member_id": "M02", "case_year": 2024, "kind": "告诫", "opened_on": "2025-01-14", "deadline": "2025-07-14",
         "status": "办理中", "overdue": "否", "opened_by": "本次运行"},
        {"member_id": "M03", "case_year": 2024, "kind": "限期整改", "opened_on": "2025-01-14", "deadline": "2026-01-14",
         "status": "办理中", "overdue": "否", "opened_by": "本次运行"},
        {"member_id": "M05", "case_year": 2024, "kind": "限期整改", "opened_on": "2025-01-14", "deadline": "2026-01-14",
         "status": "办理中", "overdue": "否", "opened_by": "本次运行"},
    ]  # fmt: skip
    assert reg.loc[0, "total"] == 64.0 and reg.loc[0, "grade"] == "基本合格"


def prior_register() -> pd.DataFrame:
    """Two open cases of 2024 as a 2024 year run's cases.csv holds them (all text)."""
    rows = [
        ["M02", "乙", "2024", "告诫", "基本合格", "64", "2025-01-14", "2025-07-14", "办理中"],
        ["M03", "丙", "2024", "限期整改", "不合格", "48", "2025-01-14", "2026-01-14", "办理中"],
    ]
    reg = pd.DataFrame(rows, columns=CASE_COLUMNS[:9])
    for c in CASE_COLUMNS[9:]:
        reg[c] = ""
    reg["overdue"] = "否"
    reg["opened_by"] = "2024/T001/v001"
    return reg


def test_outcomes_close_or_continue_and_overdue_is_against_the_periods_last_day() -> None:
    """M03: 继续帮教 on 2025-05-20 -> a new deadline a year (限期整改) later, 2026-05-20, still
    open; M02: 结案 on 2025-08-01, which a Q2 run (last day 2025-06-30) does not apply yet.
    At 2025Q2 M02's deadline 2025-07-14 is not before 2025-06-30: not overdue. At 2025Q3 (last
    day 2025-09-30) M02 is closed (已结案). With M02's decision absent, at 2025Q3 M02 is overdue
    (2025-07-14 < 2025-09-30) and listed first."""
    decisions = pd.DataFrame(
        [
            {**outcome("M03", 2024, dt.date(2025, 5, 20), "无明显转变", "继续帮教"), "row": 2},
            {**outcome("M02", 2024, dt.date(2025, 8, 1), "明显转变", "结案", "李四"), "row": 3},
        ]
    )
    q2 = case_register(pd.DataFrame(), MEMBERS, prior_register(), decisions, parse_period("2025Q2"), None)
    assert q2[["member_id", "status", "deadline", "overdue", "action"]].to_dict("records") == [
        {"member_id": "M02", "status": "办理中", "deadline": "2025-07-14", "overdue": "否", "action": ""},
        {"member_id": "M03", "status": "办理中", "deadline": "2026-05-20", "overdue": "否", "action": "继续帮教"},
    ]
    q3 = case_register(pd.DataFrame(), MEMBERS, prior_register(), decisions, parse_period("2025Q3"), None)
    assert q3[["member_id", "status", "decided_on", "helper", "overdue"]].to_dict("records") == [
        {"member_id": "M03", "status": "办理中", "decided_on": "2025-05-20", "helper": "张三", "overdue": "否"},
        {"member_id": "M02", "status": "已结案", "decided_on": "2025-08-01", "helper": "李四", "overdue": "否"},
    ]
    assert set(q3["opened_by"]) == {"2024/T001/v001"}  # carried cases keep the run that opened them
    late = case_register(pd.DataFrame(), MEMBERS, prior_register(), decisions.iloc[:1], parse_period("2025Q3"), None)
    assert late[["member_id", "overdue"]].values.tolist() == [["M02", "是"], ["M03", "否"]]


def test_a_continued_case_closed_by_organisational_action_has_that_status() -> None:
    decisions = pd.DataFrame([{**outcome("M03", 2024, dt.date(2025, 3, 3), "无明显转变", "组织处理"), "row": 2}])
    reg = case_register(pd.DataFrame(), MEMBERS, prior_register(), decisions, parse_period("2025-03"), None)
    assert reg.set_index("member_id").loc["M03", "status"] == "组织处理"


def test_the_publicity_window_counts_working_days() -> None:
    """Starting Monday 2025-01-06, 7 working days: 6, 7, 8, 9, 10 (Mon..Fri), 13, 14 (Mon, Tue)."""
    assert publicity_window(dt.date(2025, 1, 6), 7) == (dt.date(2025, 1, 6), dt.date(2025, 1, 14))
    # Monday 2026-01-05: 5..9, 12, 13
    assert publicity_window(dt.date(2026, 1, 5), 7)[1] == dt.date(2026, 1, 13)


# -- reading ----------------------------------------------------------------------------------


def test_outcome_rows_are_checked_on_their_own(tmp_path: Path) -> None:
    decisions = [
        outcome("M99", 2024, dt.date(2025, 3, 1), "明显转变", "结案"),  # row 2: unknown member
        outcome("M01", 2024, dt.date(2025, 3, 1), "明显转变", "继续帮教"),  # row 3: a change closes
        outcome("M02", 2024, dt.date(2025, 3, 1), "无明显转变", "结案"),  # row 4: no change cannot close
        outcome("M03", 2025, dt.date(2025, 3, 1), "无明显转变", "劝退"),  # row 5: not an earlier year
        outcome("M02", 2024, dt.date(2025, 3, 1), "无明显转变", "组织处理"),  # row 6: duplicate of row 4
        outcome("M01", 2024, dt.date(2025, 4, 1), "有转变", "结案"),  # row 7: not an allowed outcome
    ]
    path = workbook(tmp_path, "bad.xlsx", 2025, {"M01": 20, "M02": 16, "M03": 12}, outcomes=decisions)
    with pytest.raises(InputError) as err:
        load_inputs(path, parse_period("2025Q1"))
    f = err.value.failures
    got = sorted(zip(f["sheet"], f["row"], f["column"], strict=True))
    assert got == sorted(
        [
            ("follow_up_outcomes", 2, "member_id"),
            ("follow_up_outcomes", 3, "action"),
            ("follow_up_outcomes", 4, "action"),
            ("follow_up_outcomes", 5, "case_year"),
            ("follow_up_outcomes", 6, "decided_on"),
            ("follow_up_outcomes", 7, "outcome"),
        ]
    )


def test_publicity_start_is_read_from_the_branch_sheet(tmp_path: Path) -> None:
    path = workbook(tmp_path, "b.xlsx", 2025, {"M01": 20}, publicity_start="2026-01-05")
    book, _ = load_inputs(path, parse_period("2025"))
    assert book.publicity_start == dt.date(2026, 1, 5)
    bad = workbook(tmp_path, "c.xlsx", 2025, {"M01": 20}, publicity_start="下周一")
    with pytest.raises(InputError) as err:
        load_inputs(bad, parse_period("2025"))
    assert err.value.failures[["sheet", "column"]].values.tolist() == [["branch", "publicity_start"]]


def test_an_outcome_for_no_open_case_of_the_register_is_refused(tmp_path: Path) -> None:
    """Against prior_register(): M01 has no case (member_id), M02 has none of 2023 (case_year), and
    M03's second decision follows one that closed the case (row 5 after row 4)."""
    decisions = [
        outcome("M01", 2024, dt.date(2025, 3, 1), "明显转变", "结案"),
        outcome("M02", 2023, dt.date(2025, 3, 1), "明显转变", "结案"),
        outcome("M03", 2024, dt.date(2025, 3, 1), "无明显转变", "除名"),
        outcome("M03", 2024, dt.date(2025, 4, 1), "明显转变", "结案"),
    ]
    path = workbook(tmp_path, "o.xlsx", 2025, {"M01": 20, "M02": 16, "M03": 12}, outcomes=decisions)
    book, _ = load_inputs(path, parse_period("2025"))
    with pytest.raises(InputError) as err:
        check_outcomes_against(book, prior_register(), "2024/T001/v001")
    f = err.value.failures
    assert list(zip(f["row"], f["column"], strict=True)) == [(2, "member_id"), (3, "case_year"), (5, "case_year")]
    assert all(str(c).startswith("帮教结论 (follow_up_outcomes)!") for c in f["cell"])


# -- runs across two years (papermill, once for the module) -----------------------------------


@dataclass
class Runs:
    out: Path
    inputs: Path
    y2024: Path
    q2025: Path
    y2025: Path
    y2025_input: Path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """2024: M02 基本合格 (64), M03 不合格 (48), 公示 from 2025-01-06 given to the run; 2025Q1: no
    decision yet; 2025: M03 closed (明显转变, 结案, 2025-09-30), M01 基本合格 (64) this year, 公示
    from 2026-01-05 on the branch sheet."""
    root = tmp_path_factory.mktemp("cases")
    inputs, out = root / "inputs", root / "runs"
    y2024 = run_branch(
        workbook(inputs, "T001_2024.xlsx", 2024, {"M01": 20, "M02": 16, "M03": 12}),
        "2024",
        out,
        publicity_start="2025-01-06",
    )
    q2025 = run_branch(workbook(inputs, "T001_2025Q1.xlsx", 2025, {"M01": 16, "M02": 20, "M03": 20}), "2025Q1", out)
    decisions = [outcome("M03", 2024, dt.date(2025, 9, 30), "明显转变", "结案", "王五")]
    y2025_input = workbook(
        inputs,
        "T001_2025.xlsx",
        2025,
        {"M01": 16, "M02": 20, "M03": 20},
        outcomes=decisions,
        publicity_start="2026-01-05",
    )
    y2025 = run_branch(y2025_input, "2025", out)
    return Runs(out, inputs, y2024, q2025, y2025, y2025_input)


def cases(run: Path) -> list[dict[str, str]]:
    table = read_csv_text(run / "cases.csv")
    assert list(table.columns) == CASE_COLUMNS
    return [{str(k): str(v) for k, v in r.items()} for r in table.to_dict("records")]


def test_the_2024_year_run_opens_both_cases(runs: Runs) -> None:
    """opened_on: the last of 7 working days from Monday 2025-01-06 = Tuesday 2025-01-14;
    告诫 + 6 months = 2025-07-14, 限期整改 + 12 months = 2026-01-14."""
    got = [
        (c["member_id"], c["kind"], c["opened_on"], c["deadline"], c["status"], c["opened_by"])
        for c in cases(runs.y2024)
    ]
    assert got == [
        ("M02", "告诫", "2025-01-14", "2025-07-14", "办理中", "本次运行"),
        ("M03", "限期整改", "2025-01-14", "2026-01-14", "办理中", "本次运行"),
    ]
    m = json.loads((runs.y2024 / "manifest.json").read_text(encoding="utf-8"))
    assert m["parameters"]["publicity_start"] == "2025-01-06"
    assert m["prior_runs"] == []


def test_the_2025_quarter_lists_both_cases_open_with_their_deadlines(runs: Runs) -> None:
    """At 2025-03-31 neither deadline (2025-07-14, 2026-01-14) has passed."""
    got = [(c["member_id"], c["deadline"], c["status"], c["overdue"], c["opened_by"]) for c in cases(runs.q2025)]
    assert got == [
        ("M02", "2025-07-14", "办理中", "否", "2024/T001/v001"),
        ("M03", "2026-01-14", "办理中", "否", "2024/T001/v001"),
    ]
    m = json.loads((runs.q2025 / "manifest.json").read_text(encoding="utf-8"))
    refs = {r["role"]: r for r in m["prior_runs"]}
    assert refs["cases"]["run"] == "2024/T001/v001" and refs["cases"]["file"] == "cases.csv"
    assert refs["previous_year"]["run"] == "2024/T001/v001"
    assert refs["previous_year"]["file"].startswith("../../../.archive/")
    assert m["parameters"]["prior_runs"] == {"cases": "2024/T001/v001", "previous_year": "2024/T001/v001"}


def test_the_2025_year_closes_one_lists_the_other_overdue_and_opens_a_new_case(runs: Runs) -> None:
    """At 2025-12-31: M02's 告诫 (due 2025-07-14) is overdue and listed first; M01's new 告诫 opens
    on 2026-01-13 (7 working days from Monday 2026-01-05: 5..9, 12, 13), due 2026-07-13; M03's case
    is closed by the decision of 2025-09-30 and comes last."""
    got = [
        (c["member_id"], c["case_year"], c["deadline"], c["status"], c["overdue"], c["action"], c["helper"])
        for c in cases(runs.y2025)
    ]
    assert got == [
        ("M02", "2024", "2025-07-14", "办理中", "是", "", ""),
        ("M01", "2025", "2026-07-13", "办理中", "否", "", ""),
        ("M03", "2024", "2026-01-14", "已结案", "否", "结案", "王五"),
    ]
    assert cases(runs.y2025)[1]["opened_on"] == "2026-01-13"
    m = json.loads((runs.y2025 / "manifest.json").read_text(encoding="utf-8"))
    assert m["parameters"]["publicity_start"] == "2026-01-05"  # from the branch sheet


def test_the_workbook_shows_the_register_and_the_open_cases(runs: Runs) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(next(runs.y2025.glob("*_结果.xlsx")))
    rows = [[v for v in r if v is not None] for r in wb["跟踪帮教"].iter_rows(values_only=True)]
    assert rows[0][0] == "党员编号 (member_id)"
    closed = next(r for r in rows if r[0] == "M03")
    assert any(str(v).startswith("帮教结论 (follow_up_outcomes)!D2") for v in closed)  # the outcome's cell
    texts = [str(v) for r in wb["组织处置"].iter_rows(values_only=True) for v in r if v is not None]
    start = texts.index("跟踪帮教中的案件 (截至 2025-12-31)")
    listed = [t for t in texts[start:] if t in ("M01", "M02", "M03")]
    assert listed == ["M02", "M01"]  # overdue first; the closed case is not listed


def test_verify_re_scores_with_the_recorded_prior_runs(runs: Runs, tmp_path: Path) -> None:
    assert verify(runs.y2025).ok
    assert find_reusable(runs.out, "2025", BRANCH, *_hashes(runs.y2025)) == runs.y2025
    # a copy of the runs folder whose 2024 register was changed afterwards
    copy = tmp_path / "runs"
    shutil.copytree(runs.out, copy)
    changed = copy / "2024" / BRANCH / "v001" / "cases.csv"
    changed.chmod(0o644)
    changed.write_text(changed.read_text(encoding="utf-8").replace("2025-07-14", "2025-12-31"), encoding="utf-8")
    v = verify(copy / "2025" / BRANCH / "v001")
    assert not v.ok
    assert any("以前的运行缺失或已改动" in n and "2024/T001/v001/cases.csv" in n for n in v.notes), v.notes
    assert "未通过 FAILED" in v.report()
    # nor is the 2025 run reused: it was made from the register as it was
    assert find_reusable(copy, "2025", BRANCH, *_hashes(copy / "2025" / BRANCH / "v001")) is None
    # a prior run that is gone is reported too, not a crash
    shutil.rmtree(copy / "2024")
    assert any("以前的运行缺失或已改动" in n for n in verify(copy / "2025" / BRANCH / "v001").notes)


def _hashes(run: Path) -> tuple[str, str]:
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    return m["inputs"][0]["sha256"], m["scheme"]["sha256"]


def test_prior_runs_and_load_prior(runs: Runs) -> None:
    assert prior_runs(runs.out, BRANCH, parse_period("2025Q1")) == {
        "cases": "2024/T001/v001",
        "previous_year": "2024/T001/v001",
    }
    assert prior_runs(runs.out, BRANCH, parse_period("2024")) == {}
    prior = load_prior(runs.out, prior_runs(runs.out, BRANCH, "2026"))
    assert prior.cases["opened_by"].tolist() == ["2024/T001/v001", "2025/T001/v001", "2024/T001/v001"]
    assert prior.previous_year is not None and prior.previous_year.year == 2025
    assert [r["role"] for r in prior.refs] == ["cases", "previous_year"]


def test_an_outcome_for_no_open_case_stops_the_run_with_nothing_written(runs: Runs, tmp_path: Path) -> None:
    """M01 had no case in 2024: ``python -m scoring run`` exits 2, naming the sheet, row and column,
    and the runs folder is unchanged."""
    bad = workbook(
        tmp_path,
        "T001_2025.xlsx",
        2025,
        {"M01": 16, "M02": 20, "M03": 20},
        outcomes=[outcome("M01", 2024, dt.date(2025, 6, 1), "明显转变", "结案")],
    )
    before = sorted(p.relative_to(runs.out) for p in runs.out.rglob("*"))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "scoring", "run", "--inputs", str(bad), "--period", "2025Q2", "--out", str(runs.out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert done.returncode == 2, done.stderr
    assert "follow_up_outcomes" in done.stderr and "member_id" in done.stderr
    assert "没有这个帮教案件" in done.stderr
    assert sorted(p.relative_to(runs.out) for p in runs.out.rglob("*")) == before


def test_a_batch_worker_that_finds_a_bad_outcome_in_the_notebook_writes_nothing(runs: Runs, tmp_path: Path) -> None:
    """A batch's worker starts the notebook from the workbook's head alone; the notebook's load
    finds the outcome for no open case (M01 had none in 2024), and the run raises the InputError
    of a full read with the register, with nothing written."""
    from scoring.runs.subjects import identify

    bad = workbook(
        tmp_path,
        "T001_2025.xlsx",
        2025,
        {"M01": 16, "M02": 20, "M03": 20},
        outcomes=[outcome("M01", 2024, dt.date(2025, 6, 1), "明显转变", "结案")],
    )
    head = identify(bad, parse_period("2025Q2"))
    assert head is not None and head.folder_id == BRANCH
    before = sorted(p.relative_to(runs.out) for p in runs.out.rglob("*"))
    with pytest.raises(InputError) as err:
        run_branch(bad, "2025Q2", runs.out, identified=head)
    f = err.value.failures
    assert f[["sheet", "row", "column"]].values.tolist() == [["follow_up_outcomes", 2, "member_id"]]
    assert sorted(p.relative_to(runs.out) for p in runs.out.rglob("*")) == before


def test_the_rollup_lists_the_units_open_cases_overdue_first(runs: Runs) -> None:
    """The roll-up reads each branch run's cases.csv and keeps the open cases: at 2025 M02's 告诫
    (due 2025-07-14, overdue at 2025-12-31) first, then M01's new one (due 2026-07-13); M03's case
    was closed (结案) and is not listed. At 2025Q1 both 2024 cases are open and neither overdue."""
    from scoring.runs.rollup import build, latest_runs, sources_from_runs

    year = build("2025", sources_from_runs(latest_runs(runs.out, "2025"))).cases
    assert [(r["branch_id"], r["member_id"], r["deadline"], r["overdue"]) for r in year.to_dict("records")] == [
        ("T001", "M02", "2025-07-14", "是"),
        ("T001", "M01", "2026-07-13", "否"),
    ]
    quarter = build("2025Q1", sources_from_runs(latest_runs(runs.out, "2025Q1"))).cases
    assert [(r["member_id"], r["kind"], r["overdue"]) for r in quarter.to_dict("records")] == [
        ("M02", "告诫", "否"),
        ("M03", "限期整改", "否"),
    ]
