"""Every annual score traces back to its monthly items: follow each reference into the workbook."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import BookMaker, as_float, county_sheets, veto

from scoring.inputs.demo import DEMO_BRANCHES, generate_demo
from scoring.inputs.reading import load_inputs
from scoring.rules.engine import score
from scoring.rules.periods import parse_period
from scoring.rules.scheme import SPAN_MONTHS
from scoring.views.trace import trace

REF = re.compile(r"^(?P<sheet>.+)!(?P<col>[A-Z]+)(?P<row>\d+)$")


@pytest.fixture(scope="module")
def demo_books(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_demo(tmp_path_factory.mktemp("demo"))


@pytest.mark.parametrize("index", range(len(DEMO_BRANCHES)))
def test_trace_cells_are_the_input_cells_and_add_up(demo_books: list[Path], index: int) -> None:
    path = demo_books[index]
    p = parse_period("2025")
    book, sch = load_inputs(path, p)
    result = score(book, sch, p)
    wb = openpyxl.load_workbook(path, read_only=False, data_only=True)
    scored = result.annual[result.annual["exempt"] == "no"]
    checked = 0
    for member_id, vetoed in zip(scored["member_id"], scored["veto"], strict=True):
        t = trace(result, member_id)
        if sch.scheme.no_score_veto and vetoed == "yes":  # 不体现积分: the months and the veto, no figure
            assert list(t["value"].dropna()) == [scored.set_index("member_id").at[member_id, "months"]], t
            assert t["step"].str.startswith("一票否决").any()
            continue
        cells = t[t["step"].str.endswith(("月评分", "季度评分", "年度评分"))]
        # one cell per item and sub-period (month, quarter or year) the member was scored
        months = int(result.annual.set_index("member_id").loc[member_id, "months"])
        assert len(cells) == months * len(sch.scheme.items)
        for r in cells.itertuples(index=False):
            source, note = r.source, r.note
            assert isinstance(source, str) and isinstance(note, str), (source, note)
            m = REF.match(source)
            assert m, source
            value = wb[m["sheet"]][f"{m['col']}{m['row']}"].value
            if "已更正" in note:  # amended: the input cell holds the original score
                assert f"原 {value:.15g}" in note.replace(".0 ", " ") or f"原 {value:g}" in note
            else:
                assert float(value) == as_float(r.value), (member_id, source)
            checked += 1
        # the cells add up to the item sums the annual figure was made from
        y = result.item_year.set_index("member_id").loc[member_id]
        if sch.scheme.year.by == "per_item":
            for code in sch.scheme.item_codes:
                assert cells[cells["item"] == code]["value"].astype(float).sum() == pytest.approx(y[f"{code}_sum"])
        else:  # the sub-periods' item totals (their figures may add the events dated in them)
            totals = result.monthly_totals
            item_total = totals.loc[totals["member_id"] == member_id, "total"].sum()
            assert cells["value"].astype(float).sum() == pytest.approx(item_total)
        top = t.iloc[0]
        assert top["step"].startswith("年度总积分")
        total = result.annual.set_index("member_id").loc[member_id, "total"]
        assert (top["value"] == total) or (top["value"] != top["value"] and total != total)
    assert checked > 0 or not sch.scheme.items  # a scheme without item scores has no cell to check


def test_trace_lists_adjustments_with_reasons_and_appraisal_without_ballots(demo_books: list[Path]) -> None:
    p = parse_period("2025")
    book, sch = load_inputs(demo_books[0], p)
    result = score(book, sch, p)
    t = trace(result, "B001M001")
    adj = t[t["step"].str.startswith("加分:")]
    assert len(adj) == 2 and set(adj["value"]) == {5.0, 0.0}
    assert any("lower than the highest bonus" in n for n in adj["note"])
    app = t[t["step"].str.endswith("民主测评")]
    assert len(app) == 10
    assert all("÷ 12 人" in rule for rule in app["rule"])  # count and average, no ballot
    assert not t["source"].str.contains("P0").any()  # no ballot number ever appears


def test_trace_of_a_quarter_goes_down_to_cells(demo_books: list[Path]) -> None:
    p = parse_period("2025Q2")
    book, sch = load_inputs(demo_books[0], p)
    result = score(book, sch, p)
    t = trace(result, "B001M002")
    assert t.iloc[0]["step"].startswith("季度积分")
    months = t[t["step"].str.startswith("月度总分")]
    assert list(months["month"]) == ["2025-04", "2025-05", "2025-06"]
    assert t.iloc[0]["value"] == pytest.approx(sum(months["value"]))


def test_trace_of_unknown_member_says_so(demo_books: list[Path]) -> None:
    p = parse_period("2025")
    book, sch = load_inputs(demo_books[0], p)
    with pytest.raises(KeyError, match="不在本次结果中"):
        trace(score(book, sch, p), "NOPE")


REF_IN_NOTE = re.compile(r"\((?P<ref>[^()]*(?:\([a-z_]+\))?[^()]*![A-Z]+\d+)\)$")


@pytest.mark.parametrize("period", ["2025", "2025Q2", "2025H1", "2025-05"])
def test_trace_value_column_is_numeric(demo_books: list[Path], period: str) -> None:
    """``value`` holds numbers only (float, NaN where none); words such as the grade are in ``text``."""
    p = parse_period(period)
    for path in demo_books:
        book, sch = load_inputs(path, parse_period("2025"))
        if SPAN_MONTHS[p.kind] < sch.scheme.shortest_months:  # a yearly scheme forms no quarter
            continue
        book, sch = load_inputs(path, p)
        result = score(book, sch, p)
        for member_id in result.members["member_id"]:
            t = trace(result, member_id)
            assert t["value"].dtype == "float64", (path.name, member_id, t["value"].map(type).unique())
            assert not t["text"].map(lambda v: isinstance(v, (int, float))).any()
            if p.kind == "year" and not bool(result.members.set_index("member_id").loc[member_id, "exempt"]):
                a = result.annual.set_index("member_id").loc[member_id]
                word = "等级 (grade)" if sch.scheme.has_grades else "档次 (tier)"
                grade = t[t["step"] == word].iloc[0]
                assert grade["text"] == a["grade" if sch.scheme.has_grades else "tier"] and pd.isna(grade["value"])
                if sch.scheme.no_score_veto and a["veto"] == "yes":  # 不体现积分: no base at all
                    assert "年终总积分 (base)" not in set(t["step"]) and pd.isna(t["value"].iloc[0])
                    continue
                if sch.scheme.cadence == "none":  # no item part: the base that deductions draw from
                    base = t[t["step"] == "基础分 (base_points)"].iloc[0]["value"]
                    assert base == pytest.approx(float(a["base_points"]))
                    continue
                base = t[t["step"] == "年终总积分 (base)"].iloc[0]["value"]
                assert base == pytest.approx(float(a["base"]))  # a number, not the text "82.3"


def test_amended_cell_names_the_amendment_cell_of_the_workbook(demo_books: list[Path]) -> None:
    """An amended monthly cell's note points at the amendments sheet cell as the workbook shows it,
    and that cell holds the new score."""
    p = parse_period("2025")
    checked = 0
    for path in demo_books:
        book, sch = load_inputs(path, p)
        result = score(book, sch, p)
        if result.amendments.empty:
            continue
        wb = openpyxl.load_workbook(path, read_only=False, data_only=True)
        for member_id in result.amendments["member_id"].unique():
            t = trace(result, member_id)
            for note in t.loc[t["note"].str.startswith("已更正"), "note"]:
                m = REF_IN_NOTE.search(note)
                assert m, note
                ref = REF.match(m["ref"])
                assert ref, m["ref"]
                assert ref["sheet"] in wb.sheetnames and "amendments" in ref["sheet"], ref["sheet"]
                assert ref["sheet"] != "amendments"  # the sheet's name in the workbook (评分更正 (amendments))
                header = wb[ref["sheet"]][f"{ref['col']}1"].value
                assert "new_score" in str(header), header
                new = float(wb[ref["sheet"]][f"{ref['col']}{ref['row']}"].value)
                assert f"→ {new:.15g}," in note, (note, new)
                checked += 1
    assert checked > 0


def test_trace_of_a_vetoed_exempt_member_shows_the_veto(tmp_path: Path) -> None:
    sheets = county_sheets(M05={"exempt": "是", "exempt_reason": "年老体弱", "exempt_stars": 10})
    sheets["vetoes"] = pd.DataFrame([veto("M05", "embezzlement")])
    result = BookMaker(tmp_path).score("county-10-stars", sheets)
    t = trace(result, "M05").set_index("step")
    assert t["value"].dtype == "float64"
    assert t.loc["不列入积分 (exempt)", "value"] == 10.0  # the hand-entered stars, as entered
    assert str(t.loc["不列入积分 (exempt)", "source"]).endswith("!I6")  # members sheet, exempt_stars, M05's row
    assert pd.isna(as_float(t.loc["星级 (stars)", "value"])) and t.loc["等级 (grade)", "text"] == "不合格"
    v = t.loc["一票否决: 侵占集体资产或者挪用集体资金"]
    assert v["text"] == "yes" and pd.isna(v["value"])
