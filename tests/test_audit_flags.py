"""The reviewer notebook's warning signs: for each one, a small branch that shows it and one that
does not. Quarter stars and publicity are read from what a real run published (its summary.csv and
the 公示 sheet of its results workbook), so a run edited afterwards, or made by other code, shows."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any, cast

import openpyxl
import pandas as pd
import pytest
from conftest import BookMaker, ballots, member_rows, monthly_rows

from scoring.inputs.reading import load_inputs
from scoring.rules.engine import Result
from scoring.rules.periods import parse_period
from scoring.rules.scheme import load_scheme
from scoring.runs.review import Verification
from scoring.runs.summaries import summary_text
from scoring.views.audit import (
    COPY_CHECK,
    FLAG,
    FLAT_CHECK,
    OBJECTION_CHECK,
    OK,
    PUBLICITY_CHECK,
    QUARTER_CHECK,
    SAME_MONTH_CHECK,
    SPREAD_CHECK,
    STAR_CHECK,
    open_run,
    pattern_flags,
    published_window,
    quarter_star_flag,
    recompute_table,
    results_workbook,
    working_days,
)

SCHEME = "county-10-stars"
ITEMS = load_scheme(SCHEME).scheme.item_codes


def varied(member: str, month: int, item: str) -> float:
    """A committee that looks: scores differ between members, months and items (6..10)."""
    return 6.0 + int(member[1:]) % 4 + ((month + int(item[1:])) % 3) * 0.5


def varied_rating(ballot: int, member: str, item: str) -> float:
    return 7.0 + int(member[1:]) % 3 + (ballot % 2) * 0.5


def sheets(n: int = 12, score_of: Any = varied, rating_of: Any = varied_rating) -> dict[str, pd.DataFrame]:
    members = member_rows([f"M{i:02d}" for i in range(1, n + 1)])
    return {
        "members": members,
        "monthly_scores": monthly_rows(SCHEME, members, score_of),
        "appraisal": ballots(SCHEME, members, rating_of),
    }


def flags(result: Result, run: Path | None = None, holidays: Any = ()) -> pd.DataFrame:
    book = result.book
    assert book is not None
    return pattern_flags(book, result, run, holidays).set_index("检查 check")


def check(table: pd.DataFrame, name: str) -> tuple[str, str]:
    row = table.loc[name]
    return str(row["结果"]), str(row["发现 found"])


# -- a varied branch raises no flag at all ----------------------------------------------------


def test_a_branch_whose_committee_looks_raises_no_flag(maker: BookMaker) -> None:
    table = flags(maker.score(SCHEME, sheets()))
    assert list(table.index) == [
        SAME_MONTH_CHECK,
        FLAT_CHECK,
        COPY_CHECK,
        SPREAD_CHECK,
        QUARTER_CHECK,
        PUBLICITY_CHECK,
        STAR_CHECK,
        OBJECTION_CHECK,
    ]
    assert (table["结果"] == OK).all(), table


# -- 走过场: same total for everyone in a month --------------------------------------------------


def test_same_total_for_everyone_in_a_month(maker: BookMaker) -> None:
    march_flat = maker.score(SCHEME, sheets(score_of=lambda m, mo, it: 8.0 if mo == 3 else varied(m, mo, it)))
    assert check(flags(march_flat), SAME_MONTH_CHECK) == (FLAG, "月份: 3")
    # one member one point apart in March: the committee did look
    one_apart = maker.score(
        SCHEME,
        sheets(
            score_of=lambda m, mo, it: (9.0 if m == "M07" and it == "I01" else 8.0) if mo == 3 else varied(m, mo, it)
        ),
    )
    assert check(flags(one_apart), SAME_MONTH_CHECK)[0] == OK


# -- 走过场: the same scores every month ----------------------------------------------------------


def test_same_scores_every_month(maker: BookMaker) -> None:
    flat = maker.score(SCHEME, sheets(score_of=lambda m, mo, it: 9.0 if m == "M05" else varied(m, mo, it)))
    assert check(flags(flat), FLAT_CHECK) == (FLAG, "1 人: M05")
    # M05 differs in a single month and item: not the same every month
    once = maker.score(
        SCHEME,
        sheets(
            score_of=lambda m, mo, it: (8.5 if (mo, it) == (11, "I04") else 9.0) if m == "M05" else varied(m, mo, it)
        ),
    )
    assert check(flags(once), FLAT_CHECK) == (OK, "无")


# -- the committee copied the self-scores ---------------------------------------------------------


def test_committee_scores_copied_from_self_scores(maker: BookMaker) -> None:
    copied = sheets()
    copied["self_scores"] = copied["monthly_scores"].copy()
    assert check(flags(maker.score(SCHEME, copied)), COPY_CHECK) == (FLAG, "100% 的行完全相同 (144/144)")
    # a copy in eleven months of twelve is still a copy (92% >= 90%)
    assert check(flags(maker.score(SCHEME, self_rated_higher_in(["2025-12"]))), COPY_CHECK) == (
        FLAG,
        "92% 的行完全相同 (132/144)",
    )
    # members rate themselves higher in November and December: 83% equal is below the 90% line
    assert check(flags(maker.score(SCHEME, self_rated_higher_in(["2025-11", "2025-12"]))), COPY_CHECK) == (
        OK,
        "83% 的行完全相同 (120/144)",
    )


def self_rated_higher_in(months: list[str]) -> dict[str, pd.DataFrame]:
    """Self-scores equal to the committee's except in ``months``, where each member gave I01 one
    point more than the committee (or, near the maximum, I02 one point less)."""
    own = sheets()
    committee = own["monthly_scores"]
    selfs = committee.copy()
    rows = selfs["month"].isin(months)
    at_max = rows & (committee["I01"] > 9.0)
    selfs.loc[rows & ~at_max, "I01"] = committee.loc[rows & ~at_max, "I01"] + 1.0
    selfs.loc[at_max, "I02"] = committee.loc[at_max, "I02"] - 1.0
    own["self_scores"] = selfs
    return own


# -- 一团和气: appraisal averages without spread --------------------------------------------------


def test_appraisal_averages_without_spread(maker: BookMaker) -> None:
    same = maker.score(SCHEME, sheets(rating_of=lambda b, m, it: 8.0))
    result, found = check(flags(same), SPREAD_CHECK)
    assert result == FLAG and found.endswith(" 0.000")
    rated = maker.score(SCHEME, sheets())
    result, found = check(flags(rated), SPREAD_CHECK)
    assert result == OK and float(found.split()[-1]) > 0.3


# -- quarter stars above quota: read from a real quarter run's summary.csv ------------------------


QUARTER = "2025Q1"


@pytest.fixture(scope="module")
def quarter_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run of a 20-member branch for 2025Q1: quota floor(5% x 20) = 1, one clear best."""
    from scoring.runs.execute import run_branch

    maker = BookMaker(tmp_path_factory.mktemp("inputs"))
    ranked = sheets(n=20, score_of=lambda m, mo, it: min(10.0, 5.0 + int(m[1:]) * 0.25))
    book = maker.write(SCHEME, ranked, name="T001.xlsx")
    return run_branch(book, QUARTER, tmp_path_factory.mktemp("runs"))


def copy_of(run: Path, tmp_path: Path) -> Path:
    """A writable copy of a sealed run (never edit the run other tests read)."""
    target = tmp_path / "copy" / run.name
    shutil.copytree(run, target)
    for p in target.rglob("*"):  # a run has sub-folders (积分卡/): they stay searchable
        p.chmod(0o755 if p.is_dir() else 0o644)
    return target


def test_quarter_stars_as_the_run_published_them(quarter_run: Path) -> None:
    view = open_run(quarter_run)
    result, found = check(pattern_flags(view.book, view.result, quarter_run).set_index("检查 check"), QUARTER_CHECK)
    assert result == OK
    assert found == "第1季度: 参评 20 人, 名额 floor(5% × 20) = 1; summary.csv 标为 yes 1 人"


def test_a_summary_edited_to_name_a_second_quarter_star_is_flagged(quarter_run: Path, tmp_path: Path) -> None:
    view = open_run(quarter_run)
    edited = copy_of(quarter_run, tmp_path)
    summary = pd.read_csv(edited / "summary.csv", dtype=str, keep_default_na=False)
    assert list(summary["quarter_star"]).count("yes") == 1
    second = (
        summary[summary["quarter_star"] == "no"].sort_values("quarter_score", key=lambda s: s.astype(float)).index[-1]
    )
    summary.loc[second, "quarter_star"] = "yes"
    summary.to_csv(edited / "summary.csv", index=False, encoding="utf-8")
    result, found = check(pattern_flags(view.book, view.result, edited).set_index("检查 check"), QUARTER_CHECK)
    assert result == FLAG
    assert found == "第1季度: 参评 20 人, 名额 floor(5% × 20) = 1; summary.csv 标为 yes 2 人 — 超过名额"


def test_quarter_star_in_a_branch_below_the_minimum_of_members(maker: BookMaker) -> None:
    small = maker.score(
        SCHEME, sheets(n=8, score_of=lambda m, mo, it: min(10.0, 6.0 + int(m[1:]) * 0.5)), period=QUARTER
    )
    published = summary_text(small.summary())
    assert (published["quarter_star"] == "no").all()  # fewer than 10 members: no quarter star
    assert quarter_star_flag(small, published)[1] == OK
    published.loc[published["quarter_score"].astype(float).idxmax(), "quarter_star"] = "yes"  # other code named one
    result, found = quarter_star_flag(small, published)[1:]
    assert result == FLAG and "参评 8 人, 不足 10 人不评, 名额 0" in found and "yes 1 人" in found


def test_a_year_summary_has_no_quarter_stars_to_count(maker: BookMaker) -> None:
    result, found = check(flags(maker.score(SCHEME, sheets())), QUARTER_CHECK)
    assert result == OK and "不适用" in found


# -- publicity shorter than 7 working days --------------------------------------------------------


def test_publicity_period_as_the_run_published_it(quarter_run: Path) -> None:
    view = open_run(quarter_run)
    window = published_window(quarter_run)
    assert window is not None
    first, last = window
    assert working_days(first, last) == 7 and first.weekday() < 5 and last.weekday() < 5
    result, found = check(pattern_flags(view.book, view.result, quarter_run).set_index("检查 check"), PUBLICITY_CHECK)
    assert result == OK and found.endswith("实际 7 个工作日") and f"{first:%Y-%m-%d} 至 {last:%Y-%m-%d}" in found
    # a public holiday inside the posted period: only six working days were posted
    holiday = next(first + dt.timedelta(days=i) for i in range(1, 10) if (first + dt.timedelta(days=i)).weekday() < 5)
    result, found = check(
        pattern_flags(view.book, view.result, quarter_run, [holiday.isoformat()]).set_index("检查 check"),
        PUBLICITY_CHECK,
    )
    assert result == FLAG and found.endswith("实际 6 个工作日") and "1 个节假日" in found


def test_a_publicity_sheet_edited_to_five_working_days_is_flagged(quarter_run: Path, tmp_path: Path) -> None:
    view = open_run(quarter_run)
    edited = copy_of(quarter_run, tmp_path)
    path = results_workbook(edited)
    assert path is not None
    wb = openpyxl.load_workbook(path)
    ws = wb["公示"]
    cell = next(
        c for row in ws.iter_rows(max_row=10) for c in row if isinstance(c.value, str) and c.value.startswith("公示期")
    )
    cell.value = "公示期: 2026年1月5日 至 2026年1月11日 (共 7 个工作日)"  # Monday to Sunday: five working days
    wb.save(path)
    assert published_window(edited) == (dt.date(2026, 1, 5), dt.date(2026, 1, 11))
    result, found = check(pattern_flags(view.book, view.result, edited).set_index("检查 check"), PUBLICITY_CHECK)
    assert (result, found) == (
        FLAG,
        "方案规定 7 个工作日; 公示表 2026-01-05 至 2026-01-11, 扣除周末 (未给出节假日), 实际 5 个工作日",
    )


def test_a_run_without_a_publicity_sheet_is_flagged(quarter_run: Path, tmp_path: Path) -> None:
    view = open_run(quarter_run)
    edited = copy_of(quarter_run, tmp_path)
    path = results_workbook(edited)
    assert path is not None
    path.unlink()
    result, found = check(pattern_flags(view.book, view.result, edited).set_index("检查 check"), PUBLICITY_CHECK)
    assert result == FLAG and "找不到公示期" in found


def test_a_scheme_that_posts_for_five_working_days_is_flagged(maker: BookMaker, tmp_path: Path) -> None:
    text = (Path(load_scheme(SCHEME).path)).read_text(encoding="utf-8")
    assert "publicity:\n  working_days: 7" in text
    short = tmp_path / "county-short-publicity.yaml"
    short.write_text(text.replace("publicity:\n  working_days: 7", "publicity:\n  working_days: 5"), encoding="utf-8")
    path = maker.write(str(short), sheets())
    p = parse_period("2025")
    book, loaded = load_inputs(path, p)
    from scoring.rules.engine import score

    result, found = check(pattern_flags(book, score(book, loaded, p)).set_index("检查 check"), PUBLICITY_CHECK)
    assert result == FLAG and found.startswith("方案规定 5 个工作日") and found.endswith("实际 5 个工作日")


def test_working_days_skip_weekends_and_holidays() -> None:
    assert working_days(dt.date(2025, 1, 3), dt.date(2025, 1, 13)) == 7  # Fri .. next-but-one Mon
    national_day = [dt.date(2025, 10, d) for d in range(1, 9)]
    assert working_days(dt.date(2025, 9, 29), dt.date(2025, 10, 15), national_day) == 7
    assert working_days(dt.date(2025, 9, 29), dt.date(2025, 10, 15)) == 13


# -- the LibreOffice recompute is never skipped silently -------------------------------------------


def test_recompute_without_libreoffice_says_so_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    monkeypatch.delenv("CI", raising=False)
    table = recompute_table(tmp_path)
    assert table.iloc[0, 0] == "未重算 (not done)" and "未安装 LibreOffice" in str(table.iloc[0, 1])
    monkeypatch.setenv("CI", "true")
    with pytest.raises(RuntimeError, match="CI"):
        recompute_table(tmp_path)


def test_headline_says_equal_only_when_figures_were_compared() -> None:
    from types import SimpleNamespace

    from scoring.views.audit import headline

    files = pd.DataFrame({"status": ["ok", "ok"]})
    flags = pd.DataFrame({"结果": ["正常"]})
    row = "重新计分一致 figures re-scored equal"

    def said(**v: object) -> str:
        # a stand-in with only the fields headline reads, ``ok`` set outright
        verification = cast(Verification, SimpleNamespace(files=files, ok=True, **v))
        table = headline(verification, flags).set_index("项目")
        return str(table.at[row, "值"])

    assert said(figures=pd.DataFrame(), rescored=False, compared=0).startswith("未比较")
    assert said(figures=pd.DataFrame(), rescored=True, compared=12) == "是 (12 行)"
    assert said(figures=pd.DataFrame({"x": [1, 2]}), rescored=True, compared=12) == "否, 2 个不同"
