"""The run notebook and the explorer for the rule sets that score quarters, the year or no items
at all (SPEC 3.4 to 3.7), as an officer reads them: tables named for the scheme's cadence (季度评分,
年度评分, never 月度 for a quarterly scheme), a scheme without item scores shown by its quarters'
running figures (no empty monthly tables, no 年终积分 of zeros), every column with a Chinese label,
and nothing raw (nan, None, <NA>, English yes/no).

The workbooks are the hand-worked ones of tests/test_new_schemes.py. In-process checks cover every
member, scheme and kind of period; one real run (papermill) per scheme family and one page in a
real browser over the four branches prove the executed notebook and the served page.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from conftest import BookMaker, county_sheets, read_notebook, write_notebook
from test_explorer_screens import ENGLISH_HEADER, plain, raw_values
from test_new_schemes import enterprise_sheets, fuxian_sheets, rural_sheets, shaoxing_sheets
from test_nothing_raw import absolute_paths, notebook_findings

from scoring.labels import label
from scoring.rules.words import column_names
from scoring.views import notebook as nb
from scoring.views.explorer import (
    Explorer,
    Scored,
    branch_table_html,
    card_html,
    chart_figures,
    score_workbook,
    trace_groups,
    trace_table,
    voila_command,
    what_if,
    what_if_notes,
    write_voila_template,
)

REPO = Path(__file__).resolve().parents[1]

# scheme -> (branch id, the sheets, the periods it can be scored for)
SCHEMES: dict[str, tuple[str, Callable[[], dict[str, pd.DataFrame]], list[str]]] = {
    "shaoxing-liangfen": ("SX", shaoxing_sheets, ["2025", "2025H1", "2025Q2"]),
    "enterprise-8-2": ("EN", enterprise_sheets, ["2025", "2025H1", "2025Q2"]),
    "fuxian-18": ("FX", fuxian_sheets, ["2025"]),
    "rural-card": ("RC", rural_sheets, ["2025", "2025H1", "2025Q2"]),
}
CASES = [(scheme, period) for scheme, (_, _, periods) in SCHEMES.items() for period in periods]


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One branch workbook per scheme (and a county-10-stars one for a month), in one folder."""
    maker = BookMaker(tmp_path_factory.mktemp("books"))
    out = {
        scheme: maker.write(scheme, sheets(), {"branch_id": code, "branch_name": f"{code}支部"}, name=f"{code}.xlsx")
        for scheme, (code, sheets, _) in SCHEMES.items()
    }
    out["county-10-stars"] = maker.write(
        "county-10-stars", county_sheets(6), {"branch_id": "CT", "branch_name": "CT支部"}, name="CT.xlsx"
    )
    return out


@pytest.fixture(scope="module")
def scored(books: dict[str, Path]) -> dict[tuple[str, str], Scored]:
    return {(scheme, period): score_workbook(books[scheme], period) for scheme, period in CASES}


# -- the run notebook's functions, in process ---------------------------------------------------


def notebook_text(path: Path, period: str) -> tuple[str, nb.Run]:
    """Everything the notebook's cells print and display (tables as text), except the environment
    and the outputs written."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pd.option_context("display.max_columns", 100, "display.width", 10_000):
        run = nb.load(str(path), period)
        print(nb.show_scheme(run))
        nb.show_intermediate(run)
        print(nb.headline(run))
        print(nb.show_results(run))
        nb.show_trace(run)
    return out.getvalue(), run


@pytest.mark.parametrize(("scheme", "period"), CASES)
def test_the_notebook_names_tables_for_the_schemes_cadence_and_shows_nothing_raw(
    books: dict[str, Path], scheme: str, period: str
) -> None:
    text, run = notebook_text(books[scheme], period)
    s = run.scheme.scheme
    assert raw_values(text) == [], raw_values(text)
    assert "月度评分 (monthly" not in text and "月度总分 (monthly" not in text  # no scheme here scores months
    assert "计分月数" not in text or s.cadence == "none"  # months count quarters, or the year, when those are scored
    if s.cadence == "quarter":
        assert "【季度评分 (quarterly item scores" in text and "【季度总分 (quarterly totals)" in text
        assert re.search(
            r"季度 \(quarter\)\s*\n?.*2025Q", text, flags=re.S
        )  # sub-periods named as the workbook has them
    if s.cadence == "year":
        assert "【年度评分 (annual item scores" in text and "党员教育培训小计 (group_EDU)" in text
        assert "本方案每年评分一次, 没有季度积分" in text
    if s.cadence == "none":  # no item tables at all, and no table of zero item points
        assert "没有评分表、评分更正和总分表" in text and "年度积分的构成" not in text and "年终项目积分" not in text
        assert "不评项目分, 所以没有考评项目表" in text and "无故不参加三会一课" in text  # its catalogue instead
        assert "目前已得基础分 (base_points)" in text and "本期扣分小计 (span_deduction)" in text
    if not s.has_stars:
        assert "星级 (stars)" not in text
    if s.annual_star is None:
        assert "年度之星 (annual_star)" not in text
    if not s.veto.active:
        assert "本方案没有一票否决" in text


@pytest.mark.parametrize(("scheme", "period"), CASES)
def test_every_result_key_has_a_chinese_label(scored: dict[tuple[str, str], Scored], scheme: str, period: str) -> None:
    r = scored[(scheme, period)].result
    names = column_names(r.scheme.scheme)
    frames = {
        f: getattr(r, f)
        for f in ("item_scores", "amendments", "monthly_totals", "quarters", "halves", "item_year", "appraisal")
    }
    frames |= {"adjustments": r.adjustments, "vetoes": r.vetoes, "annual": r.annual, "summary": r.summary()}
    unlabelled = {f: [c for c in df.columns if label(str(c), names) == str(c)] for f, df in frames.items()}
    assert not any(unlabelled.values()), unlabelled


def test_a_month_of_a_monthly_scheme_shows_the_month_rank(books: dict[str, Path]) -> None:
    text, _ = notebook_text(books["county-10-stars"], "2025-03")
    assert "月度排名 (month_rank)" in text and "月度总分 (month_total)" in text and raw_values(text) == []
    s = score_workbook(books["county-10-stars"], "2025-03")
    assert "月度排名: <b>1</b> / 6" in card_html(s, "M01")  # six equal members share the first rank


# -- the explorer, in process ---------------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "period"), CASES)
def test_every_screen_of_the_explorer_reads_without_raw_values(
    scored: dict[tuple[str, str], Scored], scheme: str, period: str
) -> None:
    s = scored[(scheme, period)]
    where = f"{scheme} {period}"
    table = plain(branch_table_html(s))
    assert raw_values(table) == [] and "None" not in table, where
    for mid in s.result.members["member_id"]:
        card = card_html(s, mid)
        assert raw_values(plain(card)) == [], (where, mid, plain(card))
        assert "月度合计" not in card and "None" not in card, (where, mid)
        head, groups = trace_groups(s, mid)
        for title, rows in [("", head), *groups]:
            shown = trace_table(rows)
            text = f"{title} {' '.join(shown.columns)} {' '.join(shown.to_numpy().ravel())}"
            assert raw_values(text) == [] and not ENGLISH_HEADER.search(text), (where, mid, title)
            assert "月份" not in shown.columns, (where, mid, title)  # quarters or the year: 期间
        made = chart_figures(s, mid)
        assert made.figures, (where, mid, made.notes)
        titles = " ".join(f.axes[0].get_title() for f in made.figures)
        assert "月度" not in titles and "None" not in titles, (where, mid, titles)


def test_the_cards_follow_the_schemes_own_layout(scored: dict[tuple[str, str], Scored]) -> None:
    # rural-card: the paper 登记表, quarter by quarter, running figures beside the quarter's own
    rural = plain(card_html(scored[("rural-card", "2025Q2")], "M01"))
    assert "本季度扣分小计" in rural and "目前已得基础分" in rural and "第2季度 -3.00 2.00 55.00 2.00 57.00" in rural
    assert "构成: 本季度扣分小计 -3.00 · 本季度加分 2.00 · 目前已得基础分 (60 -5.00, 不低于 0) 55.00" in rural
    # shaoxing: one row per quarter, the joiner's first quarter outside the branch, the tier
    sx = plain(card_html(scored[("shaoxing-liangfen", "2025")], "M05"))
    assert "第1季度 未在本支部" in sx and "第2季度 30 30 15 75.00" in sx and "档次: 优秀型" in sx and "等级" not in sx
    # enterprise: the quarter's events enter its daily score
    en = plain(card_html(scored[("enterprise-8-2", "2025")], "M01"))
    assert "第1季度 20 20 20 20 80.00 3.00 83.00" in en
    # fuxian: items by 大项 with subtotals, once a year
    fx = plain(card_html(scored[("fuxian-18", "2025")], "M02"))
    assert "党员教育培训 E1 积极参与政治理论教育培训 5 4" in fx and "小计 25 20.00" in fx and "项目合计 100 82.00" in fx


def test_trace_groups_are_the_schemes_sub_periods_with_their_rule(scored: dict[tuple[str, str], Scored]) -> None:
    titles = [t for t, _ in trace_groups(scored[("enterprise-8-2", "2025")], "M01")[1]]
    assert titles[0] == (
        "2025年第1季度: 83.00 — 季度得分 = Σ 各项评分 + 本期加减分; "
        "年度积分 = 本年度各季度项目总分的平均 × 80% + 民主测评平均 × 20%"
    )
    q1 = trace_groups(scored[("enterprise-8-2", "2025")], "M01")[1][0][1]
    assert any(str(step).startswith("加分") for step in q1["step"])  # the event under its quarter
    fx = [t for t, _ in trace_groups(scored[("fuxian-18", "2025")], "M02")[1]]
    assert fx[0].startswith("2025年度: 82.00 — 年度总分 = Σ 各项评分")
    assert "加减分: 加分、减分累加, 各自以所属考评项目的分值封顶" in fx


def test_what_if_changes_what_the_scheme_has_and_says_why_not_the_rest(
    scored: dict[tuple[str, str], Scored], books: dict[str, Path]
) -> None:
    # enterprise 8:2: a weighted appraisal; at 50:50 M04's 69.9875 rounds to 69.99, below 合格
    changes = what_if(scored[("enterprise-8-2", "2025")], monthly_weight=0.5)
    assert changes["党员编号"].tolist() == ["M04"] and changes.iloc[0]["等级 (grade) 假设"] == "基本合格"
    # shaoxing: tiers from bands, for the year and for a quarter
    moved = what_if(scored[("shaoxing-liangfen", "2025")], band_min={"标杆型": 93})
    assert moved.set_index("党员编号").at["M01", f"{label('tier')} 假设"] == "优秀型"
    quarter = what_if(scored[("shaoxing-liangfen", "2025Q2")], band_min={"标杆型": 91})
    assert quarter["党员编号"].tolist() == ["M04"]  # 90.00 in Q2
    # rural-card: the appraisal is added as it is, nothing to weigh; fuxian: no appraisal at all
    assert any("没有可调的权重" in n for n in what_if_notes(scored[("rural-card", "2025")]))
    assert any("没有民主测评" in n for n in what_if_notes(scored[("fuxian-18", "2025")]))
    explorer = Explorer(books["rural-card"].parent)
    explorer.branch.value = [s.label for s in explorer.sources].index("RC")
    assert explorer.weight.disabled and "没有可调的权重" in explorer.what_if_note.value
    explorer.branch.value = [s.label for s in explorer.sources].index("EN")
    assert not explorer.weight.disabled and explorer.weight.description == "季度积分权重"


# -- one real run per scheme family: the executed notebook ----------------------------------------


@pytest.fixture(scope="module")
def runs(books: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from scoring.runs.execute import run_branch

    out = tmp_path_factory.mktemp("runs")
    periods = {"shaoxing-liangfen": "2025Q2", "enterprise-8-2": "2025", "fuxian-18": "2025", "rural-card": "2025"}
    return {scheme: run_branch(books[scheme], period, out) for scheme, period in periods.items()}


def test_each_schemes_executed_notebook_reads_without_raw_values(runs: dict[str, Path]) -> None:
    out = next(iter(runs.values())).parents[2]
    paths = absolute_paths(out, out.resolve())
    for scheme, folder in runs.items():
        (path,) = folder.glob("*.ipynb")
        assert notebook_findings(path, paths) == [], scheme
        cells = read_notebook(path, as_version=4).cells
        outputs = [o for c in cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert not [o for o in outputs if o.get("output_type") == "error"], scheme
        assert any("image/png" in o.get("data", {}) for o in outputs), scheme  # the chart
        text = json.dumps([c.get("outputs", []) for c in cells], ensure_ascii=False)
        assert "月度评分 (monthly" not in text, scheme
    rural = read_notebook(next(runs["rural-card"].glob("*.ipynb")), as_version=4).cells
    shown = json.dumps([c.get("outputs", []) for c in rural], ensure_ascii=False)
    assert "【季度汇总 (quarters)】" in shown and "目前已得基础分" in shown  # its quarters' running figures


# -- the page in a real browser -------------------------------------------------------------------

needs_browser = pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("CI"),
    reason="chromium not installed (make test installs it; in CI this test must run)",
)
TABS = ["支部总表", "积分卡", "追溯", "图表", "假设分析 (what-if)"]


@needs_browser
def test_the_page_shows_each_schemes_branch_without_raw_values(books: dict[str, Path], tmp_path: Path) -> None:
    """explore.ipynb served on the folder of the four branches; every tab of one member of each
    (screenshots in ``EXPLORER_SCREENSHOTS`` when set)."""
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("EXPLORER_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    folder = tmp_path / "branches"
    folder.mkdir()
    for scheme, (code, _, _) in SCHEMES.items():
        shutil.copyfile(books[scheme], folder / f"{code}.xlsx")
    page_nb = read_notebook(REPO / "notebooks" / "explore.ipynb", as_version=4)
    params = next(c for c in page_nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = f"inputs = {str(folder)!r}\nperiod = ''\nruns = ''"
    notebook = tmp_path / "explore.ipynb"
    write_notebook(page_nb, notebook)
    write_voila_template(tmp_path / "jupyter")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    argv, env = voila_command(notebook, port, tmp_path / "jupyter")
    with (tmp_path / "voila.log").open("w") as log:
        voila = subprocess.Popen(
            argv, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=log, env={**env, "MPLBACKEND": "Agg"}
        )
        seen: dict[str, str] = {}
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or voila.poll() is not None:
                        raise AssertionError((tmp_path / "voila.log").read_text()) from None
                    time.sleep(0.3)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
                page.wait_for_selector(".member-select select", timeout=120_000)
                for code in ("RC", "SX", "EN", "FX"):
                    page.select_option(".branch-select select", label=code)
                    card = f".card-area h3:has-text('{code}支部')"
                    page.wait_for_selector(card, state="attached", timeout=60_000)
                    options = page.eval_on_selector_all(".member-select select option", "els => els.map(e => e.text)")
                    page.select_option(".member-select select", label=next(o for o in options if o.startswith("M01")))
                    mine = f".points-card[data-member='M01'] h3:has-text('{code}支部')"
                    page.wait_for_selector(mine, state="attached", timeout=60_000)
                    page.wait_for_timeout(500)
                    for i, tab in enumerate(TABS):
                        page.get_by_role("tab", name=tab).click()
                        page.wait_for_timeout(300)
                        page.screenshot(path=str(shots / f"{code}-{i + 1}-{tab.split()[0]}.png"), full_page=True)
                        seen[f"{code} {tab}"] = page.inner_text(".jupyter-widget-Tab, .widget-tab")
                    heading = page.inner_text(".card-area h3")
                    assert heading.startswith(f"党员积分卡 · {code}支部"), heading
                browser.close()
        finally:
            voila.terminate()
            voila.wait(timeout=30)
    print(f"\nscheme explorer screenshots: {shots}")
    for where, text in seen.items():
        assert raw_values(text) == [], (where, raw_values(text))
        assert not ENGLISH_HEADER.search(text), (where, ENGLISH_HEADER.search(text))
    assert "本季度扣分小计" in seen["RC 积分卡"] and "第4季度" in seen["SX 积分卡"] and "项目合计" in seen["FX 积分卡"]
    assert "没有可调的权重" in seen["RC 假设分析 (what-if)"]
