"""Every annual score traces back to its monthly items: follow each reference into the workbook."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from scoring.demo import DEMO_BRANCHES, generate_demo
from scoring.engine import score
from scoring.inputs import load_inputs
from scoring.periods import parse_period
from scoring.trace import trace

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
    for member_id in scored["member_id"]:
        t = trace(result, member_id)
        cells = t[t["step"].str.endswith("月评分")]
        # one cell per item and month the member was scored
        months = int(result.annual.set_index("member_id").loc[member_id, "months"])
        assert len(cells) == months * len(sch.scheme.items)
        for r in cells.itertuples(index=False):
            m = REF.match(r.source)
            assert m, r.source
            value = wb[m["sheet"]][f"{m['col']}{m['row']}"].value
            if "已更正" in r.note:  # amended: the input cell holds the original score
                assert f"原 {value:.15g}" in r.note.replace(".0 ", " ") or f"原 {value:g}" in r.note
            else:
                assert float(value) == float(r.value), (member_id, r.source)
            checked += 1
        # the cells add up to the item sums the annual figure was made from
        y = result.item_year.set_index("member_id").loc[member_id]
        if sch.scheme.monthly.combine == "per_item":
            for code in sch.scheme.item_codes:
                assert cells[cells["item"] == code]["value"].astype(float).sum() == pytest.approx(y[f"{code}_sum"])
        else:
            assert cells["value"].astype(float).sum() == pytest.approx(y["monthly_sum"])
        top = t.iloc[0]
        assert top["step"].startswith("年度总积分")
        total = result.annual.set_index("member_id").loc[member_id, "total"]
        assert (top["value"] == total) or (top["value"] != top["value"] and total != total)
    assert checked > 0


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
