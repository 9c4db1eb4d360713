"""The explorer's view of a unit (SPEC 3.9, issue 16): ranking by month, a branch's card, its trend
against the unit and its trace, checked against the figures computed by hand in
``test_branch_assessment`` (B1's February JB1 verified from 36 to 33, PJ1 17.5 from two raters;
February: B2 92.5 first, B1 and B3 86.5 second together)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from test_branch_assessment import unit_rows, write_unit

from scoring.inputs.unit import UnitBook, load_unit
from scoring.rules.engine import Result
from scoring.rules.engine.pipeline import score_unit
from scoring.rules.periods import parse_period
from scoring.views import unit_explorer as ue
from scoring.views.display import trace_table

RAW = re.compile(r"(?<![A-Za-z])(nan|NaN|None|NaT|yes|no)(?![A-Za-z])|<NA>")
RED_33_OVER_36 = re.compile(r'<span style="color:#c00000; font-weight:bold">33\.00</span> <s[^>]*>36</s>')


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


@pytest.fixture(scope="module")
def units(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Result, UnitBook]]:
    """The hand-computed unit: February with January approved only, the first quarter with March
    not approved, and the whole year approved."""
    tmp = tmp_path_factory.mktemp("unit")
    out = {}
    for period, rows in (
        ("2025-02", unit_rows(months=2, approved=1)),
        ("2025Q1", unit_rows(months=3, approved=2)),
        ("2025", unit_rows()),
    ):
        p = parse_period(period)
        book, scheme = load_unit(write_unit(tmp / f"{period}.xlsx", rows), p)
        out[period] = (score_unit(book, scheme, p), book)
    return out


@pytest.fixture(scope="module")
def scored(units: dict[str, tuple[Result, UnitBook]]) -> dict[str, Result]:
    return {period: r for period, (r, _) in units.items()}


def test_february_ranking_shares_second_place_and_is_a_draft(scored: dict[str, Result]) -> None:
    feb = scored["2025-02"]
    ranks = ue.monthly_ranks(feb)
    two = ranks[ranks["month"] == 2].set_index("branch_id")
    assert two["rank"].to_dict() == {"B1": 2, "B2": 1, "B3": 2} and not two["approved"].any()
    table = ue.ranking_table(feb)
    assert list(table.columns) == [
        "名次",
        "支部编号",
        "党支部",
        "必备类 (30)",
        "基本类 (40)",
        "评价类 (20)",
        "创新类 (10)",
        "月度得分",
        "党委审定",
    ]
    assert table[["名次", "支部编号", "月度得分", "党委审定"]].values.tolist() == [
        ["1", "B2", "92.50", "否"],
        ["2", "B1", "86.50", "否"],
        ["2", "B3", "86.50", "否"],
    ]
    assert table.iloc[1, 3:7].tolist() == ["28.00", "33.00", "17.50", "8.00"]
    page = plain(ue.ranking_html(feb))
    assert "未审定: 2月党委尚未审定, 其排名为草稿" in page


def test_a_quarter_shows_each_month_with_its_rank_and_marks_the_unapproved_month(scored: dict[str, Result]) -> None:
    table = ue.ranking_table(scored["2025Q1"]).set_index("支部编号")
    assert list(table.columns) == ["党支部", "1月", "2月", "3月 (未审定)", "季考得分", "季考名次", "党委审定"]
    assert table.index.tolist() == ["B2", "B1", "B3"]
    assert list(table.loc["B1", :]) == ["检修工区党支部", "89.50 (2)", "86.50 (2)", "89.50 (2)", "88.50", "2", "否"]
    assert table.loc["B3", "1月"] == "86.50 (3)" and table.loc["B3", "2月"] == "86.50 (2)"  # February's tie


def test_the_year_shows_scores_ranks_and_levels(scored: dict[str, Result]) -> None:
    table = ue.ranking_table(scored["2025"])
    assert table[["支部编号", "年度得分", "年度名次", "定级", "党委审定"]].values.tolist() == [
        ["B1", "91.88", "1", "一级", "是"],
        ["B3", "83.50", "2", "二级", "是"],
        ["B2", "80.13", "3", "二级", "是"],
    ]
    assert [c for c in table.columns if "月" in c] == [f"{m}月" for m in range(1, 13)]  # all approved
    assert table.loc[0, "7月"] == "93.00 (1)" and table.loc[2, "7月"] == "76.00 (3)"


def test_a_branch_card_shows_the_verified_score_in_red_with_the_original_and_only_mutual_averages(
    scored: dict[str, Result],
) -> None:
    card = ue.branch_card_html(scored["2025-02"], "B1")
    text = plain(card)
    assert "月度得分: 86.50 · 月度名次: 2 / 3" in text and "党委审定: 否 (未审定: 2月" in text
    assert RED_33_OVER_36.search(card), "JB1: 33 in red, 36 struck beside it"
    assert "36 → 33 : 三会一课记录不全 (联评联考办公室 丁)" in text
    assert "PJ1 指标PJ1 20 17.50 (2 个支部) 17.50" in text
    assert "基本类小计 40 33.00" in text and "月度得分 (各类小计之和) 86.50" in text
    assert "2月 28.00 33.00 17.50 8.00 86.50 2 / 3 否 (未审定)" in text  # the months' categories
    # never which branch gave which mark: no other branch appears on B1's card
    assert "B2" not in text and "B3" not in text and "营销" not in text
    for period, r in scored.items():
        for branch in ("B1", "B2", "B3"):
            shown = plain(ue.branch_card_html(r, branch)) + plain(ue.ranking_html(r))
            assert RAW.findall(shown) == [], (period, branch)


def test_a_years_card_opens_the_corrected_month_and_heads_with_the_level(scored: dict[str, Result]) -> None:
    card = ue.branch_card_html(scored["2025"], "B1")
    assert "年度得分: 91.88 · 年度名次: 1 / 3 · 定级: 一级 · 党委审定: 是" in plain(card)
    opened = re.findall(r"<details class='unit-month' data-month='(\d+)' open>", card)
    assert opened == ["2"]  # twelve months: only February's, the corrected one, is open


def test_the_trend_follows_the_branch_against_the_unit_mean(scored: dict[str, Result]) -> None:
    fig = ue.trend_figure(scored["2025Q1"], "B1")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    lines = {
        str(line.get_label()): [float(v) for v in np.asarray(line.get_ydata(), dtype=float)] for line in ax.get_lines()
    }
    assert lines["本支部 (B1 检修工区党支部)"] == [89.5, 86.5, 89.5]
    assert lines["全单位平均"] == [89.5, 88.5, 89.5]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1月", "2月", "3月\n未审定"]
    feb = ue.trend_figure(scored["2025-02"], "B2")  # a month: the year so far
    assert isinstance(feb, Figure) and len(np.asarray(feb.axes[0].get_lines()[1].get_ydata())) == 2


def test_the_trace_groups_by_month_down_to_the_verification(units: dict[str, tuple[Result, UnitBook]]) -> None:
    head, groups = ue.trace_groups(*units["2025-02"], "B1")
    shown = trace_table(head)
    assert shown["数值"].tolist() == ["86.50", "2"]  # the month's score and its rank (a whole number)
    assert "未经党委审定" in shown["备注"].iloc[0]
    ((title, rows),) = groups
    assert title.startswith("2025年2月 (未审定): 86.50, 第 2 名 — 月度得分 = 各类得分之和")
    verified = rows[rows["source"] == "检查验证 (verification)!D2"]
    assert verified["value"].tolist() == [33.0] and "支部自评 (self_scores)!D12" in verified["note"].iloc[0]
    mutual = rows[rows["item"] == "PJ1 指标PJ1"]
    assert mutual["value"].tolist() == [17.5] and "2 个支部评价" in mutual["rule"].iloc[0]
    head, year = ue.trace_groups(*units["2025"], "B1")
    assert [t.split(":")[0] for t, _ in year] == [f"2025年{m}月" for m in range(1, 13)]
    assert trace_table(head).iloc[0]["文字结果"] == "一级" and len(head) == 3 + 12  # level, score, rank; months


def test_the_explorer_lists_a_units_branches(scored: dict[str, Result], tmp_path: Path) -> None:
    """A folder holding a unit workbook: the branches to choose (best first), the unit's tabs."""
    from scoring.views.explorer import Explorer

    write_unit(tmp_path / "U01_2025.xlsx", unit_rows(months=2, approved=1))
    e = Explorer(tmp_path, "2025-02")
    assert e.branch.label == "U01_2025 (支部联评联考)" and e.member.description == "党支部"
    assert [e.tabs.get_title(i) for i in range(4)] == ["联评联考排名", "支部卡", "追溯", "走势"]
    assert [v for _, v in e.member.options] == ["B2", "B1", "B3"] and e.member.value == "B2"
    e.member.value = "B1"
    assert RED_33_OVER_36.search(e.card.value) and "未审定" in plain(e.table.value)
    assert e.run_what_if.disabled and "没有假设分析" in e.what_if_out.value


@pytest.mark.parametrize("period", ["2025", "2025Q2", "2025-02"])
def test_the_demo_units_pages_read_without_raw_values(period: str, tmp_path: Path) -> None:
    """Every branch of the demo unit (make demo): ranking, card and trace read as Chinese."""
    from scoring.inputs.unit_demo import write_demo_unit
    from scoring.views.explorer import score_workbook

    s = score_workbook(write_demo_unit(tmp_path, 2025), period)
    assert s.unit is not None
    texts = [plain(ue.ranking_html(s.result))]
    for branch in s.result.members["member_id"]:
        head, groups = ue.trace_groups(s.result, s.unit, branch)
        texts += [plain(ue.branch_card_html(s.result, branch)), trace_table(head).to_string()]
        texts += [title + trace_table(g).to_string() for title, g in groups]
    for text in texts:
        assert RAW.findall(text) == [], RAW.findall(text)
