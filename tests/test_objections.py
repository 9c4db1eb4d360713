"""异议 and 党支部定星 (SPEC 4, 8): the objections and star_decisions sheets, end to end.

The branch is ``county_sheets()``: 12 members, every monthly item 8 and every rating 8, so each of
the ten items is 8 x 0.8 + 8 x 0.2 = 8 and every total 80.00: 8 stars, 合格 (SPEC 3.1: >= 80 eight
stars 合格, >= 70 seven stars 基本合格). Each test says what it changes and works the figures out.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from conftest import BookMaker, ballots, county_sheets, member_rows, monthly_rows, veto
from test_bad_inputs import excel_row, expect_failures, failure, xinluo_sheets
from test_spreadsheets import assert_recomputes_equal, needs_engines

from scoring.inputs.reading import load_inputs
from scoring.inputs.templates import build_template
from scoring.outputs.csvfile import read_csv_text, write_csv
from scoring.outputs.excel import write_results_workbook
from scoring.outputs.publicity import OBJECTION_LINE, PUBLICITY_SHEET
from scoring.outputs.recompute import newer_functions, read_cells
from scoring.rules.engine import Result, score
from scoring.rules.engine.objections import PENDING, VETO_OVER_DECISION, seen_on
from scoring.rules.periods import parse_period
from scoring.views.audit import FLAG, OBJECTION_CHECK, OK, STAR_CHECK, pattern_flags
from scoring.views.notebook import Run, show_objections
from scoring.views.trace import trace

COUNTY = "county-10-stars"
NEXT = 2026  # the workbook's year is 2025: its appraisal, objections and decisions run into 2026 Q1


def decision(
    member_id: str, stars: Any, reason: Any = "支委会研究确定", decided_on: Any = dt.date(NEXT, 1, 15)
) -> dict[str, Any]:
    return {"member_id": member_id, "stars": stars, "reason": reason, "decided_on": decided_on}


def objection(
    member_id: str,
    subject: Any = "星级",
    raised_on: Any = dt.date(NEXT, 1, 10),
    outcome: Any = None,
    answered_on: Any = None,
    finding: Any = None,
    amendment: Any = None,
    content: Any = "认为星级评定偏低",
) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "raised_on": raised_on,
        "subject": subject,
        "content": content,
        "handled_by": "组织委员",
        "finding": finding,
        "answered_on": answered_on,
        "outcome": outcome,
        "amendment": amendment,
    }


def amendment_row(member_id: str, month: str = "2025-03", item: str = "I01", new_score: float = 9.0) -> dict[str, Any]:
    return {
        "member_id": member_id,
        "month": month,
        "item": item,
        "new_score": new_score,
        "reason": "异议复核",
        "decided_on": dt.date(2025, 7, 1),
    }


def with_rows(sheets: dict[str, pd.DataFrame], **rows: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    return {**sheets, **{key: pd.DataFrame(r) for key, r in rows.items()}}


def annual(result: Result, member_id: str) -> pd.Series:
    found = result.annual.set_index("member_id").loc[member_id]
    assert isinstance(found, pd.Series)
    return found


# -- bad input: every problem named at its sheet, row and column --------------------------------


def test_an_objection_naming_an_unknown_member(maker: BookMaker) -> None:
    f = expect_failures(maker.write(COUNTY, with_rows(county_sheets(), objections=[objection("M99")])))
    failure(f, "objections", 2, "member_id", "M99", ("unknown member",))


def test_a_star_decision_naming_an_unknown_member(maker: BookMaker) -> None:
    f = expect_failures(maker.write(COUNTY, with_rows(county_sheets(), star_decisions=[decision("M99", 7)])))
    failure(f, "star_decisions", 2, "member_id", "M99", ("unknown member",))


@pytest.mark.parametrize(("column", "bad"), [("subject", "工资"), ("outcome", "驳回")])
def test_subject_and_outcome_take_only_the_listed_words(maker: BookMaker, column: str, bad: str) -> None:
    row = objection("M01", finding="已核实", answered_on=dt.date(NEXT, 1, 20), outcome="维持") | {column: bad}
    f = expect_failures(maker.write(COUNTY, with_rows(county_sheets(), objections=[row])))
    rec = failure(f, "objections", 2, column, bad, ("not an allowed value",))
    assert ("月度评分" if column == "subject" else "维持 / 更正") in str(rec["allowed"])


def test_answered_before_raised(maker: BookMaker) -> None:
    row = objection(
        "M01", raised_on=dt.date(2025, 9, 1), answered_on=dt.date(2025, 8, 31), finding="已核实", outcome="维持"
    )
    f = expect_failures(maker.write(COUNTY, with_rows(county_sheets(), objections=[row])))
    failure(f, "objections", 2, "answered_on", "2025-08-31", ("answered before",))


def test_an_outcome_needs_the_finding_and_the_day_it_was_answered(maker: BookMaker) -> None:
    f = expect_failures(maker.write(COUNTY, with_rows(county_sheets(), objections=[objection("M01", outcome="维持")])))
    failure(f, "objections", 2, "finding", problem=("finding",))
    failure(f, "objections", 2, "answered_on", problem=("answered_on",))


@pytest.mark.parametrize(
    "half", [{"answered_on": dt.date(NEXT, 1, 20)}, {"finding": "已核实"}], ids=["answered_on", "finding"]
)
def test_an_answer_without_an_outcome(maker: BookMaker, half: dict[str, Any]) -> None:
    f = expect_failures(maker.write(COUNTY, with_rows(county_sheets(), objections=[objection("M01") | half])))
    failure(f, "objections", 2, "outcome", problem=("no outcome",))


def test_a_correction_names_an_amendment_of_the_same_member(maker: BookMaker) -> None:
    """Amendments: row 2 is M01's, row 3 M02's. Objection rows: 2 corrects with no row named, 3
    names M02's amendment for M01, 4 names a row the amendments sheet does not have, 5 names a row
    for an objection kept as it was (维持), 6 is right (M01's own row 2)."""
    answered = {"finding": "复核属实", "answered_on": dt.date(2025, 7, 2)}
    rows = [
        objection("M01", "月度评分", dt.date(2025, 6, 1), "更正", **answered),
        objection("M01", "月度评分", dt.date(2025, 6, 1), "更正", amendment=3, **answered),
        objection("M01", "月度评分", dt.date(2025, 6, 1), "更正", amendment=9, **answered),
        objection("M01", "月度评分", dt.date(2025, 6, 1), "维持", amendment=2, **answered),
        objection("M01", "月度评分", dt.date(2025, 6, 1), "更正", amendment=2, **answered),
    ]
    sheets = with_rows(county_sheets(), objections=rows, amendments=[amendment_row("M01"), amendment_row("M02")])
    f = expect_failures(maker.write(COUNTY, sheets))
    assert set(f.loc[f["sheet"] == "objections", "row"]) == {2, 3, 4, 5}, f.to_string()
    rec = failure(f, "objections", 2, "amendment", problem=("更正",))
    assert "2" in str(rec["allowed"])  # M01's amendment row is offered
    failure(f, "objections", 3, "amendment", "3", ("M02",))
    failure(f, "objections", 4, "amendment", "9", ("第 9 行",))
    failure(f, "objections", 5, "amendment", "2", ("只有处理结果为 更正",))


def test_a_star_objection_corrected_by_the_committees_decision_needs_no_amendment(maker: BookMaker) -> None:
    row = objection("M01", outcome="更正", finding="复核属实", answered_on=dt.date(NEXT, 1, 20))
    sheets = with_rows(county_sheets(), objections=[row], star_decisions=[decision("M01", 9)])
    book, _ = load_inputs(maker.write(COUNTY, sheets), parse_period("2025"))
    assert len(book.objections) == 1 and len(book.star_decisions) == 1


@pytest.mark.parametrize(("stars", "words"), [(11, "outside the scheme's range"), (7.5, "whole number")])
def test_stars_outside_the_scheme_or_not_whole(maker: BookMaker, stars: float, words: str) -> None:
    f = expect_failures(maker.write(COUNTY, with_rows(county_sheets(), star_decisions=[decision("M01", stars)])))
    failure(f, "star_decisions", 2, "stars", problem=(words,))


def test_a_scheme_without_stars_refuses_every_star_decision(maker: BookMaker) -> None:
    sheets = with_rows(xinluo_sheets(), star_decisions=[decision("M01", 7), decision("M02", 8)])
    f = expect_failures(maker.write("xinluo-three-level", sheets))
    for row in (2, 3):
        failure(f, "star_decisions", row, "stars", problem=("不评星级", "has no stars"))


@pytest.mark.parametrize("column", ["reason", "decided_on"])
def test_a_decision_needs_its_reason_and_date(maker: BookMaker, column: str) -> None:
    row = decision("M01", 7) | {column: None}
    f = expect_failures(maker.write(COUNTY, with_rows(county_sheets(), star_decisions=[row])))
    failure(f, "star_decisions", 2, column, problem=("must not be blank",))


def test_one_decision_per_member(maker: BookMaker) -> None:
    rows = [decision("M01", 7), decision("M02", 8), decision("M01", 6)]
    f = expect_failures(maker.write(COUNTY, with_rows(county_sheets(), star_decisions=rows)))
    failure(f, "star_decisions", 4, "member_id", "M01", ("duplicate of row 2",))


def _with_exempt(stars: int) -> dict[str, pd.DataFrame]:
    """M12 exempt, rated 6 stars by hand on the members sheet (row 13); a decision for him."""
    members = member_rows([f"M{i:02d}" for i in range(1, 13)], M12={"exempt": "是", "exempt_stars": 6})
    sheets = {
        "members": members,
        "monthly_scores": monthly_rows(COUNTY, members, lambda m, mo, it: 8.0),
        "appraisal": ballots(COUNTY, members, lambda b, m, it: 8.0),
    }
    return with_rows(sheets, star_decisions=[decision("M12", stars, "年老体弱, 支委会直接评定")])


def test_a_decision_for_an_exempt_member_must_agree_with_his_hand_rated_stars(maker: BookMaker) -> None:
    f = expect_failures(maker.write(COUNTY, _with_exempt(7)))
    rec = failure(f, "star_decisions", 2, "stars", "7", ("第 13 行", "6 星"))
    assert str(rec["allowed"]).startswith("6")
    r = maker.score(COUNTY, _with_exempt(6))  # the same stars: the decision records why and when
    m12 = annual(r, "M12")
    assert m12["stars"] == 6 and m12["computed_stars"] == 6 and m12["star_reason"] == "年老体弱, 支委会直接评定"
    assert m12["grade"] == "基本合格"  # an exempt member's grade follows his stars: 6 stars 基本合格


@pytest.mark.parametrize(
    ("sheet", "column", "day", "ok"),
    [
        ("star_decisions", "decided_on", dt.date(NEXT, 3, 31), True),  # the year's appraisal is done by then
        ("star_decisions", "decided_on", dt.date(NEXT, 4, 1), False),
        ("star_decisions", "decided_on", dt.date(2024, 12, 31), False),
        ("objections", "raised_on", dt.date(NEXT, 2, 28), True),
        ("objections", "raised_on", dt.date(NEXT, 4, 1), False),
    ],
)
def test_dates_may_fall_in_the_next_years_first_quarter(
    maker: BookMaker, sheet: str, column: str, day: dt.date, ok: bool
) -> None:
    row = decision("M01", 7) if sheet == "star_decisions" else objection("M01")
    path = maker.write(COUNTY, with_rows(county_sheets(), **{sheet: [row | {column: day}]}))
    if ok:
        load_inputs(path, parse_period("2025"))
        return
    rec = failure(expect_failures(path), sheet, 2, column, day.isoformat(), ("日期不在",))
    assert "2025-01-01 .. 2026-03-31" in str(rec["allowed"])


def test_every_problem_is_reported_at_once(maker: BookMaker) -> None:
    sheets = with_rows(
        county_sheets(),
        objections=[objection("M99"), objection("M01", outcome="维持")],
        star_decisions=[decision("M01", 12), decision("M02", 7, reason=None)],
    )
    f = expect_failures(maker.write(COUNTY, sheets))
    where = set(zip(f["sheet"], f["row"], f["column"], strict=True))
    assert {
        ("objections", 2, "member_id"),
        ("objections", 3, "finding"),
        ("objections", 3, "answered_on"),
        ("star_decisions", 2, "stars"),
        ("star_decisions", 3, "reason"),
    } <= where, f.to_string()


# -- the engine: the committee's stars published, the score's beside -----------------------------


def test_the_committees_stars_are_published_with_the_computed_ones_beside(maker: BookMaker, tmp_path: Path) -> None:
    """M01 totals 80.00 = 8 stars 合格; the committee decided 7. Published 7, computed 8, the reason
    beside; the grade stays the score's 合格 (7 stars would have been 基本合格)."""
    sheets = with_rows(county_sheets(), star_decisions=[decision("M01", 7, "多次无故缺席组织生活")])
    r = maker.score(COUNTY, sheets)
    m01, m02 = annual(r, "M01"), annual(r, "M02")
    assert m01["total"] == 80.0
    assert (m01["stars"], m01["computed_stars"], m01["star_reason"]) == (7, 8, "多次无故缺席组织生活")
    assert m01["grade"] == "合格"
    assert (m02["stars"], m02["computed_stars"]) == (8, 8) and pd.isna(m02["star_reason"])
    csv = read_csv_text(write_csv(r.summary(), tmp_path / "summary.csv")).set_index("member_id")
    assert list(csv.columns[csv.columns.get_loc("stars") :][:3]) == ["stars", "computed_stars", "star_reason"]
    assert (csv.loc["M01", "stars"], csv.loc["M01", "computed_stars"]) == ("7", "8")
    assert csv.loc["M01", "star_reason"] == "多次无故缺席组织生活" and csv.loc["M02", "star_reason"] == ""


def test_annual_star_is_chosen_among_the_committees_ten_star_members(maker: BookMaker) -> None:
    """M01 items and ratings 10 -> 100.00, M02 9.9 -> 99.00, the rest 9.6 -> 96.00: all ten stars.
    Without a decision: 12 ten-star members, quota floor(10% x 12) = 1, M01. The committee gives
    M01 nine stars: 11 ten-star members, quota floor(1.1) = 1, and M02 (99.00) is 年度之星."""
    members = member_rows([f"M{i:02d}" for i in range(1, 13)])
    level = {"M01": 10.0, "M02": 9.9}
    sheets = {
        "members": members,
        "monthly_scores": monthly_rows(COUNTY, members, lambda m, mo, it: level.get(m, 9.6)),
        "appraisal": ballots(COUNTY, members, lambda b, m, it: level.get(m, 9.6)),
    }
    before = maker.score(COUNTY, sheets)
    assert annual(before, "M01")["annual_star"] == "yes" and annual(before, "M02")["annual_star"] == "no"
    after = maker.score(COUNTY, with_rows(sheets, star_decisions=[decision("M01", 9)]))
    assert annual(after, "M01")["total"] == 100.0 and annual(after, "M01")["stars"] == 9
    assert annual(after, "M01")["annual_star"] == "no" and annual(after, "M02")["annual_star"] == "yes"


def test_a_veto_sets_the_committees_stars_aside(maker: BookMaker) -> None:
    sheets = with_rows(county_sheets(), star_decisions=[decision("M03", 9)])
    sheets["vetoes"] = pd.DataFrame([veto("M03", "embezzlement")])
    m03 = annual(maker.score(COUNTY, sheets), "M03")
    assert pd.isna(m03["stars"]) and pd.isna(m03["computed_stars"]) and m03["grade"] == "不合格"
    assert m03["star_reason"] == VETO_OVER_DECISION


def test_a_quarter_run_has_no_stars_to_decide(maker: BookMaker) -> None:
    r = maker.score(COUNTY, with_rows(county_sheets(), star_decisions=[decision("M01", 7)]), "2025Q4")
    assert "stars" not in r.summary().columns and r.annual.empty


def test_objection_status_at_the_run(maker: BookMaker) -> None:
    """Row 2 pending (no outcome); row 3 维持, answered 2025-07-10; row 4 更正 (amendment row 2),
    answered 2025-07-10; row 5 raised 2025-08-01, answered 2025-08-20 维持.
    2025Q2 (last day 2025-06-30): rows 2, 3, 4 raised by then, and all still pending (3 and 4
    were answered later); row 5 is not yet raised. 2025: every row, pending only row 2."""
    done = {"finding": "已核实"}
    rows = [
        objection("M01", "月度评分", dt.date(2025, 5, 1)),
        objection("M02", "月度评分", dt.date(2025, 5, 2), "维持", dt.date(2025, 7, 10), **done),
        objection("M03", "月度评分", dt.date(2025, 5, 3), "更正", dt.date(2025, 7, 10), amendment=2, **done),
        objection("M04", "季度之星", dt.date(2025, 8, 1), "维持", dt.date(2025, 8, 20), **done),
    ]
    sheets = with_rows(county_sheets(), objections=rows, amendments=[amendment_row("M03", "2025-04")])
    q2 = maker.score(COUNTY, sheets, "2025Q2").objections
    assert list(q2["row"]) == [2, 3, 4] and list(q2["status"]) == [PENDING] * 3
    year = maker.score(COUNTY, sheets).objections
    assert list(year["status"]) == [PENDING, "维持", "已更正", "维持"]
    assert list(year["name"]) == ["测试01", "测试02", "测试03", "测试04"]
    assert seen_on(parse_period("2025Q2")) == dt.date(2025, 6, 30) and seen_on(parse_period("2025")) == dt.date(
        NEXT, 3, 31
    )


# -- one scored year, looked at in the workbook, the 公示, the trace, the flags and the notebook --


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """M01: 80.00 = 8 stars, the committee decided 7; M02 objects to his stars (pending); M03 is
    vetoed with a decision of 9 set aside; M04's objection was answered (维持)."""
    tmp = tmp_path_factory.mktemp("objections")
    sheets = with_rows(
        county_sheets(),
        star_decisions=[decision("M01", 7, "多次无故缺席组织生活"), decision("M03", 9)],
        objections=[
            objection("M02", content="私人理由不公开"),
            objection("M04", "格次", outcome="维持", finding="评分无误", answered_on=dt.date(NEXT, 1, 25)),
        ],
    )
    sheets["vetoes"] = pd.DataFrame([veto("M03", "embezzlement")])
    path = BookMaker(tmp).write(COUNTY, sheets)
    p = parse_period("2025")
    book, sch = load_inputs(path, p)
    result = score(book, sch, p)
    return result, write_results_workbook(result, tmp / "结果.xlsx", {})


def _column(ws: Any, key: str) -> int:
    """The 1-based column whose header ends in ``(key)``."""
    return next(int(c.column) for c in ws[1] if str(c.value).endswith(f"({key})"))


def test_the_workbook_keeps_the_stars_a_formula_over_the_committees_sheet(decided: tuple[Result, Path]) -> None:
    _, path = decided
    wb = openpyxl.load_workbook(path)
    assert {"异议处理", "党支部定星"} <= set(wb.sheetnames)
    res = wb["结果"]
    stars = res.cell(2, _column(res, "stars")).value  # M01 in row 2
    computed = res.cell(2, _column(res, "computed_stars")).value
    assert isinstance(stars, str) and "COUNTIF('党支部定星'!" in stars and "SUMIFS('党支部定星'!" in stars
    assert isinstance(computed, str) and "LOOKUP(" in computed and "分档星级" in computed
    assert "star_reason" in str(res.cell(1, _column(res, "star_reason")).value)
    dec = wb["党支部定星"]
    assert [c.value for c in dec[2]][:3] == ["M01", "测试01", 7]
    assert dec.cell(2, _column(dec, "row")).value == 2 and dec.cell(3, _column(dec, "row")).value == 3
    obj = wb["异议处理"]
    assert [obj.cell(r, _column(obj, "status")).value for r in (2, 3)] == [PENDING, "维持"]
    check = [str(c.value) for c in wb["核对"][1]]
    assert any(t.startswith("计算星级") for t in check) and any(t.startswith("定星理由") for t in check)
    cached = read_cells(path)["结果"]
    letter = openpyxl.utils.get_column_letter(_column(res, "stars"))
    assert cached[f"{letter}2"][1] == 7 and cached[f"{letter}3"][1] == 8  # M01 decided, M02 not
    assert newer_functions(path).empty


@needs_engines
def test_the_committees_stars_recompute_equal_in_both_engines(decided: tuple[Result, Path]) -> None:
    """LibreOffice and Gnumeric give 结果's published stars (7 for M01, blank under M03's veto),
    computed stars, reasons, the 年度之星 quota over them and 核对 as the package does."""
    assert_recomputes_equal(decided[1], "year")


def test_the_publicity_names_pending_objections_and_the_committees_stars(decided: tuple[Result, Path]) -> None:
    _, path = decided
    ws = openpyxl.load_workbook(path)[PUBLICITY_SHEET]
    texts = [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    everything = "\n".join(texts)
    assert "尚待答复的异议 (党支部正在调查核实): 测试02 (星级)。" in texts
    assert "私人理由不公开" not in everything and "测试04 (格次)" not in everything  # content never; answered not
    assert OBJECTION_LINE in texts
    assert "星级由党支部确定 (按积分 8星)" in texts


def test_the_trace_shows_the_decision_cell(decided: tuple[Result, Path]) -> None:
    result, _ = decided
    t = trace(result, "M01").set_index("step")
    assert t.loc["星级 (stars)", "value"] == 7.0
    assert t.loc["星级 (stars)", "source"] == "党支部定星 (star_decisions)!B2"
    assert t.loc["星级 (stars)", "note"] == "多次无故缺席组织生活"
    assert t.loc["按积分星级 (computed_stars)", "value"] == 8.0


def test_the_reviewer_is_flagged_every_override_and_pending_objection(decided: tuple[Result, Path]) -> None:
    result, _ = decided
    assert result.book is not None
    flags = pattern_flags(result.book, result).set_index("检查 check")
    assert flags.loc[STAR_CHECK, "结果"] == FLAG
    found = str(flags.loc[STAR_CHECK, "发现 found"])
    assert "M01 测试01: 按积分 8星 → 公示 7星 (理由: 多次无故缺席组织生活" in found
    assert "M03 测试03" in found and "M02" not in found
    assert flags.loc[OBJECTION_CHECK, "结果"] == FLAG
    pending = str(flags.loc[OBJECTION_CHECK, "发现 found"])
    assert pending.startswith("1 项: M02 测试02 (星级, 2026-01-10 提出") and "M04" not in pending


def test_no_flag_without_overrides_or_pending_objections(maker: BookMaker) -> None:
    r = maker.score(COUNTY, with_rows(county_sheets(), star_decisions=[decision("M01", 8, "维持计算结果")]))
    assert r.book is not None
    flags = pattern_flags(r.book, r).set_index("检查 check")
    assert flags.loc[STAR_CHECK, "结果"] == OK and flags.loc[OBJECTION_CHECK, "结果"] == OK


def test_the_notebook_shows_both_tables_in_chinese(
    decided: tuple[Result, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    result, path = decided
    show_objections(Run(path, result.period, result.scheme, result))
    out = capsys.readouterr().out
    assert "【异议处理 (objections)】 共 2 行" in out and "待答复 1 项" in out
    assert "【党支部定星 (committee's star decisions)】 共 2 行" in out
    assert "计算星级 (computed_stars)" in out and "定星理由 (star_reason)" in out
    assert "私人理由不公开" not in out


def test_the_template_has_both_sheets_with_drop_downs() -> None:
    wb = build_template(COUNTY, 2025)
    obj, dec = wb["异议处理 (objections)"], wb["党支部定星 (star_decisions)"]
    assert [c.value for c in obj[1]][:3] == ["党员编号 (member_id)", "提出日期 (raised_on)", "异议事项 (subject)"]
    lists = {str(dv.sqref).split(":")[0]: dv for dv in obj.data_validations.dataValidation}
    assert lists["C2"].formula1 == '"月度评分,星级,格次,季度之星,年度之星"' and lists["H2"].formula1 == '"维持,更正"'
    assert lists["B2"].formula2 == "DATE(2026,3,31)"
    stars = {str(dv.sqref).split(":")[0]: dv for dv in dec.data_validations.dataValidation}["B2"]
    assert (stars.type, stars.formula1, stars.formula2) == ("whole", "0", "10")
    assert "党支部定星 (star_decisions)" not in build_template("xinluo-three-level").sheetnames  # no stars there
    assert excel_row(0) == 2
