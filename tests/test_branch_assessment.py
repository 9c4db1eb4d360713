"""支部联评联考 (SPEC 3.9): a unit workbook read, validated and scored with branches as subjects.

The unit below is small enough to score by hand from SPEC 3.9's text:

Quarter 1 indicators (every branch): BB1 必备类 30, JB1 基本类 40, PJ1 评价类 20, CX1 创新类 10.
    B1: BB1 28, JB1 36 (verified to 33 in February), CX1 8; PJ1 rated 18 by B2 and 17 by B3 (17.5)
        January = March = 28 + 36 + 17.5 + 8 = 89.5; February = 28 + 33 + 17.5 + 8 = 86.5
    B2: BB1 27, JB1 38, CX1 9; PJ1 rated 19 by B1 and 18 by B3 (18.5): each month 92.5
    B3: BB1 30, JB1 35, CX1 5; PJ1 rated 16 by B1 and 17 by B2 (16.5): each month 86.5
Quarters 2-4: BB1 30, JB1 20, JB2 20, PJ1 20 for every branch; CX1 10 for B1 alone.
    B1: 29 + 18 + 19 + 9, PJ1 18 and 18 (18): 93
    B2: 26 + 17 + 17, PJ1 16 and 16 (16): 76
    B3: 28 + 19 + 18, PJ1 17 and 18 (17.5): 82.5
February: B2 92.5 rank 1; B1 and B3 86.5 share rank 2 (1, 2, 2).
2025Q1 (mean of the months): B1 265.5 / 3 = 88.5, B2 92.5, B3 86.5: ranks 2, 1, 3.
2025 (mean of twelve months): B1 (89.5 + 86.5 + 89.5 + 9 x 93) / 12 = 1102.5 / 12 = 91.875 -> 91.88
    一级; B2 (3 x 92.5 + 9 x 76) / 12 = 961.5 / 12 = 80.125 -> 80.13 二级; B3 (3 x 86.5 + 9 x 82.5) / 12
    = 1002 / 12 = 83.5 二级; ranks B1 1, B3 2, B2 3.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest

from scoring.exceptions import InputError, SchemeError
from scoring.inputs.unit import UNIT_KEYS, UNIT_SHEETS, is_unit_workbook, load_unit
from scoring.rules.engine.pipeline import score_unit
from scoring.rules.periods import parse_period
from scoring.rules.scheme import load_scheme

Rows = dict[str, list[list[Any]]]

Q1 = {"BB1": ("必备类", 30), "JB1": ("基本类", 40), "PJ1": ("评价类", 20), "CX1": ("创新类", 10)}
LATER = {"BB1": ("必备类", 30), "JB1": ("基本类", 20), "JB2": ("基本类", 20), "PJ1": ("评价类", 20)}
SELF_Q1 = {
    "B1": {"BB1": 28, "JB1": 36, "CX1": 8},
    "B2": {"BB1": 27, "JB1": 38, "CX1": 9},
    "B3": {"BB1": 30, "JB1": 35, "CX1": 5},
}
SELF_LATER = {
    "B1": {"BB1": 29, "JB1": 18, "JB2": 19, "CX1": 9},
    "B2": {"BB1": 26, "JB1": 17, "JB2": 17},
    "B3": {"BB1": 28, "JB1": 19, "JB2": 18},
}
# rater -> rated -> PJ1 mark
MUTUAL_Q1 = {"B1": {"B2": 19, "B3": 16}, "B2": {"B1": 18, "B3": 17}, "B3": {"B1": 17, "B2": 18}}
MUTUAL_LATER = {"B1": {"B2": 16, "B3": 17}, "B2": {"B1": 18, "B3": 18}, "B3": {"B1": 18, "B2": 16}}


def unit_rows(months: int = 12, approved: int = 12) -> Rows:
    """The unit above, scored up to month ``months`` and approved up to month ``approved``."""
    indicators = [["2025Q1", code, cat, f"指标{code}", mx, ""] for code, (cat, mx) in Q1.items()]
    for q in (2, 3, 4):
        indicators += [[f"2025Q{q}", code, cat, f"指标{code}", mx, ""] for code, (cat, mx) in LATER.items()]
        indicators.append([f"2025Q{q}", "CX1", "创新类", "指标CX1", 10, "B1"])
    own, mutual = [], []
    for m in range(1, months + 1):
        month = f"2025-{m:02d}"
        marks, scores = (SELF_Q1, MUTUAL_Q1) if m <= 3 else (SELF_LATER, MUTUAL_LATER)
        for branch, codes in marks.items():
            own += [[branch, month, code, score, "台账"] for code, score in codes.items()]
        for rater, rated in scores.items():
            mutual += [[rater, branch, month, "PJ1", mark] for branch, mark in rated.items()]
    return {
        "unit": [
            ["项目", "内容"],
            ["单位编号", "U01"],
            ["单位名称", "示范供电局党委"],
            ["积分方案", "branch-assessment"],
            ["年度", 2025],
        ],
        "branches": [
            ["branch_id", "branch_name", "secretary"],
            ["B1", "检修工区党支部", "甲"],
            ["B2", "营销党支部", "乙"],
            ["B3", "机关党支部", "丙"],
        ],
        "indicators": [["quarter", "code", "category", "name", "max", "branch_id"], *indicators],
        "self_scores": [["branch_id", "month", "indicator", "score", "evidence"], *own],
        "mutual_scores": [["rater_branch", "branch_id", "month", "indicator", "score"], *mutual],
        "verification": [
            ["branch_id", "month", "indicator", "verified_score", "reason", "verified_by"],
            ["B1", "2025-02", "JB1", 33, "三会一课记录不全", "联评联考办公室 丁"],
        ],
        "approvals": [
            ["month", "approved_by", "approved_on"],
            *[[f"2025-{m:02d}", "党委", dt.date(2025, m, 28)] for m in range(1, approved + 1)],
        ],
    }


def write_unit(path: Path, rows: Rows) -> Path:
    wb = openpyxl.Workbook()
    for n, (key, table) in enumerate(rows.items()):
        ws = wb.worksheets[0] if n == 0 else wb.create_sheet()
        ws.title = f"{UNIT_SHEETS[key].label} ({key})"
        for r in table:
            ws.append(r)
    wb.save(path)
    return path


def run(tmp_path: Path, period: str, rows: Rows | None = None) -> pd.DataFrame:
    book, scheme = load_unit(write_unit(tmp_path / "U01_2025.xlsx", rows or unit_rows()), parse_period(period))
    return score_unit(book, scheme, parse_period(period)).summary().set_index("branch_id")


def test_february_ranking_and_draft_status(tmp_path: Path) -> None:
    s = run(tmp_path, "2025-02", unit_rows(months=2, approved=1))
    assert list(s.columns) == ["branch_name", "score", "rank", "approved"]
    assert s["score"].to_dict() == {"B1": 86.5, "B2": 92.5, "B3": 86.5}
    assert s["rank"].to_dict() == {"B1": 2, "B2": 1, "B3": 2}
    assert set(s["approved"]) == {"no"}  # February is not approved yet: the ranking is a draft


def test_quarter_is_the_mean_of_its_months(tmp_path: Path) -> None:
    s = run(tmp_path, "2025Q1", unit_rows(months=3, approved=3))
    assert s["score"].to_dict() == {"B1": 88.5, "B2": 92.5, "B3": 86.5}
    assert s["rank"].to_dict() == {"B1": 2, "B2": 1, "B3": 3}
    assert set(s["approved"]) == {"yes"}


def test_year_levels(tmp_path: Path) -> None:
    s = run(tmp_path, "2025")
    assert s["score"].to_dict() == {"B1": 91.88, "B2": 80.13, "B3": 83.5}
    assert s["rank"].to_dict() == {"B1": 1, "B2": 3, "B3": 2}
    assert s["level"].to_dict() == {"B1": "一级", "B2": "二级", "B3": "二级"}


def test_indicators_keep_the_self_score_the_verification_and_only_the_mutual_mean(tmp_path: Path) -> None:
    book, scheme = load_unit(write_unit(tmp_path / "u.xlsx", unit_rows()), parse_period("2025"))
    r = score_unit(book, scheme, parse_period("2025"))
    ind = r.indicators
    assert ind is not None and "rater_branch" not in ind.columns
    feb = ind[(ind["branch_id"] == "B1") & (ind["month"] == 2)].set_index("code")
    assert [feb.loc["JB1", k] for k in ("self_score", "verified_score", "score")] == [36, 33, 33]
    assert feb.loc["JB1", "reason"] == "三会一课记录不全"
    # the self-score's and the verification's rows in their sheets (header in row 1)
    first_feb_b1 = 2 + 3 * 3  # row 2 onwards: January's 9 self rows, then B1's February BB1, JB1
    assert feb.loc["JB1", "self_row"] == first_feb_b1 + 1 and feb.loc["JB1", "verification_row"] == 2
    assert (feb.loc["PJ1", "mutual_mean"], feb.loc["PJ1", "raters"], feb.loc["PJ1", "score"]) == (17.5, 2, 17.5)
    # B2 and B3 have no 创新类 indicator from the second quarter: their CX is 0
    july = r.monthly_totals[r.monthly_totals["month"] == 7].set_index("member_id")["total"]
    assert july.to_dict() == {"B1": 93, "B2": 76, "B3": 82.5}


def test_every_bad_input_is_reported_at_once(tmp_path: Path) -> None:
    rows = unit_rows(approved=12)
    rows["approvals"] = [r for r in rows["approvals"] if r[0] != "2025-07"]  # July not approved
    rows["mutual_scores"].append(["B2", "B2", "2025-05", "PJ1", 20])  # rates itself
    rows["self_scores"] += [
        ["B1", "2025-01", "JB2", 10, ""],  # JB2 is in force from the second quarter
        ["B9", "2025-01", "BB1", 10, ""],  # no such branch
        ["B2", "2025-03", "ZZ9", 5, ""],  # no such indicator
        ["B3", "2025-06", "BB1", 28, "重复"],  # duplicate of B3's June BB1
        ["B1", "2025-01", "PJ1", 18, ""],  # 评价类 is rated by the others
    ]
    rows["self_scores"][1][3] = 35  # B1 January BB1: above its 30
    rows["verification"].append(["B2", "2025-04", "BB1", 20, "", "丁"])  # no reason
    path = write_unit(tmp_path / "bad.xlsx", rows)
    with pytest.raises(InputError) as info:
        load_unit(path, parse_period("2025"))
    f = info.value.failures
    got = {(r.sheet, r.row, r.column) for r in f.itertuples()}
    n_self = 1 + 3 * 9 + 9 * 10  # the header, then 9 self rows a month in Q1 (3 + 3 + 3), 10 later
    assert ("approvals", "", "month") in got and "2025-07" in set(f["value"])
    assert ("mutual_scores", len(rows["mutual_scores"]), "rater_branch") in got
    assert {
        ("self_scores", n_self + 1, "indicator"),
        ("self_scores", n_self + 2, "branch_id"),
        ("self_scores", n_self + 3, "indicator"),
        ("self_scores", n_self + 4, "indicator"),
        ("self_scores", n_self + 5, "indicator"),
        ("self_scores", 2, "score"),
        ("verification", 3, "reason"),
    } <= got
    mine = f[f["sheet"] == "self_scores"]
    problems = dict(zip(mine["row"].astype(int), mine["problem"].astype(str), strict=True))
    assert "不适用" in problems[n_self + 1] and "unknown branch" in problems[n_self + 2]
    assert "unknown indicator" in problems[n_self + 3] and "重复" in problems[n_self + 4]
    assert "其他支部互评" in problems[n_self + 5] and "0 .. 30" in set(f["allowed"])
    assert len(f) == 9  # each problem once: no knock-on of the unknown branch or indicator
    assert not (tmp_path / "runs").exists()


def test_a_month_without_scores_is_named(tmp_path: Path) -> None:
    rows = unit_rows(months=3, approved=3)
    rows["self_scores"] = [r for r in rows["self_scores"] if not (r[0] == "B3" and r[1] == "2025-02" and r[2] == "JB1")]
    rows["mutual_scores"] = [r for r in rows["mutual_scores"] if not (r[1] == "B1" and r[1:3] == ["B1", "2025-03"])]
    with pytest.raises(InputError) as info:
        load_unit(write_unit(tmp_path / "gap.xlsx", rows), parse_period("2025Q1"))
    values = set(info.value.failures["value"])
    assert values == {"B3 2025-02 JB1", "B1 2025-03 PJ1"}


def test_a_unit_workbook_is_told_apart_and_needs_a_branch_scheme(tmp_path: Path) -> None:
    rows = unit_rows(months=1, approved=1)
    path = write_unit(tmp_path / "u.xlsx", rows)
    assert is_unit_workbook(path)
    rows["unit"][3][1] = "county-10-stars"
    with pytest.raises(InputError) as info:
        load_unit(write_unit(tmp_path / "member.xlsx", rows), parse_period("2025-01"))
    (row,) = info.value.failures.itertuples()
    assert (row.sheet, row.row, row.column) == ("unit", 4, "scheme") and "subject: branch" in str(row.allowed)
    assert set(UNIT_KEYS) == {"unit_id", "unit_name", "scheme", "year"}


SCHEME = """
name: my-branches
version: "1"
title: t
source: s
subject: branch
cadence: month
items:
  - {code: A, name: 必备类, max: 50, scored_by: self}
  - {code: B, name: 评价类, max: 50, scored_by: mutual}
periods: {year: {combine: mean}}
appraisal: {mode: none}
adjustments: {combine: sum}
bands: [{min: 60, grade: 合格}, {min: 0, grade: 不合格}]
"""


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (
            lambda t: t.replace("appraisal: {mode: none}", "appraisal: {mode: single, max: 100, weight: 0.2}").replace(
                "{year: {combine: mean}}", "{year: {combine: mean, weight: 0.8}}"
            ),
            "appraisal.mode",
        ),
        (lambda t: t.replace(", scored_by: mutual", ""), "items.1.scored_by"),
        (lambda t: t.replace("cadence: month", "cadence: quarter"), "cadence"),
        (lambda t: t.replace("subject: branch", "subject: member"), "items.0.scored_by"),
    ],
)
def test_scheme_refuses_what_branches_do_not_have(tmp_path: Path, edit: Callable[[str], str], key: str) -> None:
    (tmp_path / "ok.yaml").write_text(SCHEME, encoding="utf-8")
    assert load_scheme(tmp_path / "ok.yaml").scheme.subject == "branch"  # the unedited file is valid
    (tmp_path / "my.yaml").write_text(edit(SCHEME), encoding="utf-8")
    with pytest.raises(SchemeError) as info:
        load_scheme(tmp_path / "my.yaml")
    assert key in {p.key for p in info.value.problems}


def test_builtin_scheme_is_seed_003() -> None:
    s = load_scheme("branch-assessment").scheme
    assert s.subject == "branch"
    assert [(i.name, i.max, i.scored_by) for i in s.items] == [
        ("必备类", 30, "self"),
        ("基本类", 40, "self"),
        ("评价类", 20, "mutual"),
        ("创新类", 10, "self"),
    ]
    assert [(b.min, b.grade) for b in s.bands] == [(90, "一级"), (80, "二级"), (70, "三级"), (0, "四级")]


def test_notice_announces_the_ranking_and_marks_a_draft(tmp_path: Path) -> None:
    """通报: February's first place and ranking, the categories of each branch, the draft mark while
    the 党委 has not approved the month; the year's levels."""
    from scoring.outputs.notice import notice_table

    book, scheme = load_unit(write_unit(tmp_path / "u.xlsx", unit_rows(months=2, approved=1)), parse_period("2025-02"))
    feb = score_unit(book, scheme, parse_period("2025-02"))
    table = notice_table(feb)
    assert list(table.columns) == ["名次", "党支部", "必备类", "基本类", "评价类", "创新类", "得分"]
    assert table["党支部"].tolist() == ["营销党支部", "检修工区党支部", "机关党支部"]
    assert table["名次"].tolist() == [1, 2, 2]
    assert table.iloc[1][["必备类", "基本类", "评价类", "创新类", "得分"]].tolist() == [28, 33, 17.5, 8, 86.5]
    year = score_unit(
        *load_unit(write_unit(tmp_path / "y.xlsx", unit_rows()), parse_period("2025")), parse_period("2025")
    )
    levels = notice_table(year)[["党支部", "得分", "定级"]].values.tolist()
    assert levels == [["检修工区党支部", 91.88, "一级"], ["机关党支部", 83.5, "二级"], ["营销党支部", 80.13, "二级"]]


def test_trace_of_a_level_reaches_every_cell_that_made_it(tmp_path: Path) -> None:
    """B1's 2025 level: every month, each category, each indicator's self-score cell (支部自评,
    header in row 1), February's verification in place of its self-score, and the 互评 averages
    with their number of raters, never a rater."""
    from scoring.views.unit_trace import unit_trace

    book, scheme = load_unit(write_unit(tmp_path / "u.xlsx", unit_rows()), parse_period("2025"))
    t = unit_trace(score_unit(book, scheme, parse_period("2025")), book, "B1")
    sources = set(t["source"])
    own = [n + 2 for n, r in enumerate(unit_rows()["self_scores"][1:]) if r[0] == "B1"]
    assert len(own) == 3 * 3 + 9 * 4
    feb_jb1 = own[3 + 1]  # B1's February rows follow its three January rows: BB1, JB1, CX1
    shown = {f"支部自评 (self_scores)!D{row}" for row in own if row != feb_jb1}
    assert shown <= sources and f"支部自评 (self_scores)!D{feb_jb1}" not in sources
    verified = t[t["source"] == "检查验证 (verification)!D2"]
    assert verified["value"].tolist() == [33] and f"D{feb_jb1}" in verified["note"].iloc[0]
    mutual = t[t["item"].str.startswith("PJ1")]
    assert len(mutual) == 12 and set(mutual["rule"]) == {"其他支部互评的平均, 2 个支部评价 (满分 20)"}
    assert not t["source"].str.contains(r"mutual_scores\)!", regex=True).any()  # no row of a mark
    assert t.iloc[0]["text"] == "一级" and t.iloc[1]["value"] == 91.88


def test_december_is_approved_in_the_next_january_but_no_month_before_it_began(tmp_path: Path) -> None:
    rows = unit_rows()
    rows["approvals"][12][2] = dt.date(2026, 1, 9)  # December's row, at January's meeting
    assert run(tmp_path, "2025", rows)["level"].tolist() == ["一级", "二级", "二级"]
    rows["approvals"][3][2] = dt.date(2025, 2, 27)  # March approved in February
    with pytest.raises(InputError) as info:
        load_unit(write_unit(tmp_path / "early.xlsx", rows), parse_period("2025"))
    (row,) = info.value.failures.itertuples()
    assert (row.sheet, row.row, row.column, row.allowed) == ("approvals", 4, "approved_on", "2025-03-01 .. 2026-12-31")


def _hand_round(x: float) -> float:
    """SPEC 5: half away from zero to 2 decimals, on the value as written to 15 significant digits."""
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(f"{x:.15g}").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _hand_months(path: Path, year: int) -> dict[str, dict[int, float]]:
    """SPEC 3.9 worked through with plain dicts, straight from the workbook's cells: each branch's
    score in each month = its indicators in force that quarter (the unit's, and its own), each the
    verified score, else the self-score, and for 评价类 the mean of the other branches' marks."""
    import re

    wb = openpyxl.load_workbook(path, data_only=True)

    def table(key: str) -> list[dict[str, Any]]:
        ws = wb[f"{UNIT_SHEETS[key].label} ({key})"]
        rows = list(ws.iter_rows(values_only=True))
        keys = [re.sub(r".*\((\w+)\)$", r"\1", str(h)) for h in rows[0]]
        return [dict(zip(keys, r, strict=False)) for r in rows[1:] if any(v not in (None, "") for v in r)]

    def month(v: Any) -> int:
        return v.month if isinstance(v, dt.date) else int(str(v)[5:7])

    branches = [str(r["branch_id"]) for r in table("branches")]
    force: dict[tuple[str, int], dict[str, str]] = {}
    for r in table("indicators"):
        q = int(str(r["quarter"])[-1])
        for b in branches if not r.get("branch_id") else [str(r["branch_id"])]:
            force.setdefault((b, q), {})[str(r["code"])] = str(r["category"])
    own = {
        (str(r["branch_id"]), month(r["month"]), str(r["indicator"])): float(r["score"]) for r in table("self_scores")
    }
    checked = {
        (str(r["branch_id"]), month(r["month"]), str(r["indicator"])): float(r["verified_score"])
        for r in table("verification")
    }
    marks: dict[tuple[str, int, str], list[float]] = {}
    for r in table("mutual_scores"):
        marks.setdefault((str(r["branch_id"]), month(r["month"]), str(r["indicator"])), []).append(float(r["score"]))
    out: dict[str, dict[int, float]] = {}
    for b in branches:
        for m in range(1, 13):
            total = 0.0
            for code, category in force.get((b, (m - 1) // 3 + 1), {}).items():
                k = (b, m, code)
                total += sum(marks[k]) / len(marks[k]) if category == "评价类" else checked.get(k, own.get(k, 0.0))
            out.setdefault(b, {})[m] = total
    return out


def test_the_demo_units_levels_and_february_ranking_equal_a_hand_computation(tmp_path: Path) -> None:
    from scoring.inputs.unit_demo import write_demo_unit

    path = write_demo_unit(tmp_path)
    months = _hand_months(path, 2025)
    year = {b: _hand_round(sum(ms.values()) / 12) for b, ms in months.items()}
    levels = {b: "一级" if s >= 90 else "二级" if s >= 80 else "三级" if s >= 70 else "四级" for b, s in year.items()}
    feb = {b: _hand_round(ms[2]) for b, ms in months.items()}
    feb_rank = {b: 1 + sum(other > s for other in feb.values()) for b, s in feb.items()}  # ties share a rank
    book, scheme = load_unit(path, parse_period("2025"))
    y = score_unit(book, scheme, parse_period("2025")).summary().set_index("branch_id")
    assert y["score"].to_dict() == year and y["level"].to_dict() == levels
    assert len(set(levels.values())) >= 2  # the demo spreads over more than one level
    book, scheme = load_unit(path, parse_period("2025-02"))
    f = score_unit(book, scheme, parse_period("2025-02")).summary().set_index("branch_id")
    assert f["score"].to_dict() == feb and f["rank"].astype(int).to_dict() == feb_rank


def test_the_reviewer_flags_a_period_with_a_month_not_approved(tmp_path: Path) -> None:
    from scoring.views.audit import FLAG, OK, UNIT_APPROVAL_CHECK, unit_flags

    def flag(period: str, rows: Rows) -> tuple[str, str]:
        p = parse_period(period)
        r = score_unit(*load_unit(write_unit(tmp_path / f"{period}.xlsx", rows), p), p)
        row = unit_flags(r).set_index("检查 check").loc[UNIT_APPROVAL_CHECK]
        return str(row["结果"]), str(row["发现 found"])

    assert flag("2025-02", unit_rows(months=2, approved=1)) == (FLAG, "未审定: 2025-02")
    assert flag("2025Q1", unit_rows(months=3, approved=3)) == (OK, "本期各月均经党委审定")
