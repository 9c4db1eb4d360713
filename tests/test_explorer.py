"""The explorer: its card, trace and what-if from the package, and the page in a real browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from conftest import (
    adjustment,
    as_float,
    as_int,
    ballots,
    member_rows,
    monthly_rows,
    read_notebook,
    write_notebook,
)

from scoring.inputs.demo import generate_demo, write_input_workbook
from scoring.rules.scheme import load_scheme
from scoring.views.explorer import card_html, score_workbook, trace_groups, voila_command, what_if, write_voila_template

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_demo(tmp_path_factory.mktemp("demo"))


CARD_TOTAL = re.compile(r'<b class="card-total">([^<]*)</b>')
MARK = 3.1416  # one rater's distinctive mark: no average, total or gap can print as this
MARK_SHOWN = re.compile(r"(?<![\d.])3\.14(?:16)?(?!\d)")  # the mark as written or to 2 decimals


def card_total(html: str) -> float:
    """The whole text of the card's total element, which must be a number and nothing else."""
    found = CARD_TOTAL.findall(html)
    assert len(found) == 1, found
    assert re.fullmatch(r"-?\d+(\.\d{1,2})?", found[0]), found[0]
    return float(found[0])


def test_card_shows_the_summary_total_marks_amendments_and_never_a_ballot(demo: list[Path]) -> None:
    s = score_workbook(demo[0], "2025")
    summary = s.result.summary().set_index("member_id")
    am = s.result.amendments
    assert len(am), "the demo has an amendment"
    mid = am.iloc[0]["member_id"]
    html = card_html(s, mid)
    assert card_total(html) == as_float(summary.at[mid, "total"])
    assert "已更正: 原" in html and "*" in html and "自评" in html
    assert "P001" not in html  # ballot numbers never appear


def test_trace_groups_reach_every_monthly_cell_and_name_their_rule(demo: list[Path]) -> None:
    s = score_workbook(demo[0], "2025")
    adjusted = s.result.adjustments["member_id"]
    mid = str(adjusted.iloc[0])
    head, groups = trace_groups(s, mid)
    assert head.iloc[0]["step"].startswith("年度总积分")
    cells = pd.concat([g for _, g in groups])
    refs = cells.loc[cells["source"].str.contains("月度评分", na=False), "source"]
    months = as_int(s.result.item_year.set_index("member_id").at[mid, "months"])
    assert len(refs) == months * len(s.result.scheme.scheme.items)  # one per month and item
    titles = [t for t, _ in groups]
    items = [t for t in titles if not t.startswith(("加减分", "一票否决"))]
    assert len(items) == 10 and all(t.endswith("= 月度平均 × 80% + 民主测评平均 × 20%") for t in items), items
    assert "加减分: 只计最高一项加分和最大一项减分, 不累计" in titles
    # a quarter: one group per month, the month's total on top, the quarter's rule in the title
    q = score_workbook(demo[0], "2025Q2")
    head, groups = trace_groups(q, mid)
    assert [t.split(":")[0] for t, _ in groups] == ["2025年4月", "2025年5月", "2025年6月"]
    for title, g in groups:
        assert title.endswith("— 月度总分 = Σ 各项月评分; 季度积分 = Σ 本季度月度总分")
        assert g.iloc[0]["step"] == "月度总分 (month total)" and f": {float(g.iloc[0]['value']):.2f} —" in title
        assert len(g) == 1 + len(q.result.scheme.scheme.items)
    # a scheme scored on monthly totals (seed 000): month groups, the base, the veto's effect
    x = score_workbook(demo[2], "2025")
    applied = x.result.vetoes["applies"]
    vetoed = str(x.result.vetoes.loc[applied, "member_id"].iloc[0])
    other = str(x.result.annual.loc[x.result.annual["veto"] == "no", "member_id"].iloc[0])
    titles = [t for t, _ in trace_groups(x, other)[1]]
    assert titles and all(
        t.endswith("月度基础分 = Σ 各项月评分; 年终总积分 = 月平均基础分 × 90% + 民主评议 × 10%")
        for t in titles
        if t.startswith("2025年")
    )
    assert "年终总积分的构成: 月平均基础分 × 90% + 民主评议 × 10%" in titles
    # 不体现积分 (SPEC 3.2): the vetoed member's trace holds the veto and no figure at all
    assert [t for t, _ in trace_groups(x, vetoed)[1]] == ["一票否决: 不显示积分, 评为不合格"]


def test_what_if_lists_the_members_whose_stars_change(demo: list[Path]) -> None:
    s = score_workbook(demo[0], "2025")
    summary = s.result.summary()
    ten = summary[summary["stars"] == 10]
    lowest_ten = float(ten["total"].min())
    changes = what_if(s, band_min={"10星": lowest_ten + 0.01})  # the lowest ten-star member drops
    dropped = set(ten.loc[ten["total"] == lowest_ten, "member_id"])
    assert set(changes["党员编号"]) == dropped
    assert what_if(s, monthly_weight=s.scheme.scheme.year.weight).empty  # same parameters: no change


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


needs_browser = pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("CI"),
    reason="chromium not installed (make test installs it; in CI this test must run)",
)


@dataclass
class BranchRun:
    run: Path
    scheme_file: Path  # the scheme file the workbook names, edited after the run
    member_ids: list[str]


@pytest.fixture(scope="module")
def branch_run(tmp_path_factory: pytest.TempPathFactory) -> BranchRun:
    """A real run (papermill, sealed) of a small county-10-stars branch for 2025, scored with a
    scheme file beside the workbook, named by its file name; one rater gave every member the mark ``MARK`` in the
    first item. After the run the scheme file is edited (weights 70/30), so the workbook's own
    scheme no longer is the one the run used: only the run's archived scheme reproduces it."""
    from scoring.runs.execute import run_branch

    tmp = tmp_path_factory.mktemp("branch")
    scheme_file = tmp / "county-local.yaml"
    text = Path(load_scheme("county-10-stars").path).read_text(encoding="utf-8")
    scheme_file.write_text(text, encoding="utf-8")
    ids = [f"M{i:02d}" for i in range(1, 13)]
    members = member_rows(ids)
    sheets = {
        "members": members,
        # 7.5..10 by member, month and item: members' totals differ, some by a tenth
        "monthly_scores": monthly_rows(
            "county-10-stars",
            members,
            lambda m, mo, it: min(10.0, 7.5 + ((int(m[1:]) * 3 + mo + int(it[1:])) % 5) * 0.5 + (int(m[1:]) % 3) * 0.5),
        ),
        "appraisal": ballots(
            "county-10-stars",
            members,
            lambda b, m, it: MARK if (b, it) == (1, "I01") else 8.0 + ((b + int(m[1:])) % 5) * 0.5,
        ),
        "adjustments": pd.DataFrame([adjustment("M02", "commend.county"), adjustment("M07", "criticism.unit")]),
    }
    branch = {"branch_id": "T001", "branch_name": "浏览测试支部", "scheme": scheme_file.name, "year": 2025}
    book = write_input_workbook(tmp / "T001.xlsx", branch, sheets, load_scheme(str(scheme_file)).scheme)
    run = run_branch(book, "2025", tmp / "runs")
    edited = text.replace("weight: 0.8 ", "weight: 0.7 ").replace("weight: 0.2 ", "weight: 0.3 ")
    assert edited != text
    scheme_file.write_text(edited, encoding="utf-8")
    return BranchRun(run, scheme_file, ids)


def recorded_summary(run: Path) -> pd.DataFrame:
    return pd.read_csv(run / "summary.csv", dtype=str, keep_default_na=False).set_index("member_id")


def test_the_explorer_opens_a_run_folder_with_its_archived_scheme(branch_run: BranchRun) -> None:
    from scoring.views.explorer import Explorer, run_differences

    run = branch_run.run
    explorer = Explorer(run)
    assert explorer.branch.label.startswith("T001") and explorer.period.value == "2025"  # the run's own period
    assert explorer.period.options[0] == "2025" and "2025Q4" in explorer.period.options
    summary = recorded_summary(run)
    s = explorer.scored
    assert s.scheme.sha256 == json.loads((run / "manifest.json").read_text(encoding="utf-8"))["scheme"]["sha256"]
    diffs = run_differences(explorer.source, s)
    assert diffs is not None and diffs.empty, diffs
    assert "run-check-ok" in explorer.notice.value and "完全一致" in explorer.notice.value
    for mid in branch_run.member_ids:
        explorer.member.value = mid
        assert f'data-member="{mid}"' in explorer.card.value
        assert card_total(explorer.card.value) == float(str(summary.at[mid, "total"]))
        assert not MARK_SHOWN.search(explorer.card.value), mid  # never a ballot
        assert "民主测评平均" in explorer.card.value
    # the workbook's own (since edited) scheme would give other totals: the archived one was used.
    # The archived copy has the same bytes as the branch's workbook, which sits beside that scheme
    original = run.parents[3] / "T001.xlsx"
    assert original.read_bytes() == explorer.source.workbook.read_bytes()
    own = score_workbook(original, "2025").result.summary().set_index("member_id")
    assert (own["total"].astype(float) != summary["total"].astype(float)).any()
    # the 历年 tab reads the run's own runs folder: this run stands for T001's 2025, not approved
    assert explorer.history.branch.value == "T001"
    mid = branch_run.member_ids[0]
    explorer.history.choose("T001", mid)
    assert f"{float(str(summary.at[mid, 'total'])):.2f}" in explorer.history.table.value
    assert "2025/T001/v001" in explorer.history.table.value and str(run) not in explorer.history.table.value
    # another period of the same data: re-scored, nothing to compare, and it says so
    explorer.period.value = "2025Q3"
    assert "run-check-other" in explorer.notice.value and "季度积分" in explorer.card.value


def test_the_explorer_warns_when_the_runs_summary_differs(branch_run: BranchRun, tmp_path: Path) -> None:
    from scoring.views.explorer import Explorer

    run = branch_run.run
    copy = tmp_path / run.relative_to(run.parents[2])  # PERIOD/BRANCH/vNNN under a new root
    shutil.copytree(run, copy)
    os.symlink(run.parents[2] / ".archive", tmp_path / ".archive")  # manifest paths are relative
    summary = copy / "summary.csv"
    summary.chmod(0o644)
    table = pd.read_csv(summary, dtype=str, keep_default_na=False)
    recorded = table.at[0, "total"]
    table.at[0, "total"] = f"{float(str(recorded)) + 1.5:.2f}"
    table.to_csv(summary, index=False, encoding="utf-8")
    explorer = Explorer(copy)
    notice = explorer.notice.value
    assert "run-check-differs" in notice and "有 1 处不同" in notice
    assert table.at[0, "member_id"] in notice and table.at[0, "total"] in notice and recorded in notice


def test_periods_come_from_the_workbooks_year(tmp_path: Path) -> None:
    from scoring.views.explorer import Explorer

    ids = [f"M{i:02d}" for i in range(1, 11)]
    members = member_rows(ids)
    sheets = {
        "members": members,
        "monthly_scores": monthly_rows("county-10-stars", members, lambda m, mo, it: 8.0 + (mo % 3) * 0.5).assign(
            month=lambda d: d["month"].str.replace("2025-", "2024-")
        ),
        "appraisal": ballots("county-10-stars", members, lambda b, m, it: 9.0),
    }
    branch = {"branch_id": "T024", "branch_name": "往年支部", "scheme": "county-10-stars", "year": 2024}
    book = write_input_workbook(tmp_path / "T024.xlsx", branch, sheets, load_scheme("county-10-stars").scheme)
    explorer = Explorer(book)
    assert explorer.period.value == "2024" and explorer.period.options[:3] == ("2024", "2024H1", "2024H2")
    assert not any(o.startswith("2025") for o in explorer.period.options)
    assert "2024年度" in explorer.card.value
    assert Explorer(book, "2024Q2").period.value == "2024Q2"


@needs_browser
def test_an_officer_picks_a_member_in_the_browser_and_sees_the_runs_total(
    branch_run: BranchRun, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    run = branch_run.run
    nb = read_notebook(REPO / "notebooks" / "explore.ipynb", as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = f"inputs = {str(run)!r}\nperiod = ''\nruns = ''"  # what an officer types into the parameters cell
    notebook = tmp_path / "explore.ipynb"
    write_notebook(nb, notebook)
    port = _free_port()
    # served as `make explore` serves it: the offline page template
    write_voila_template(tmp_path / "jupyter")
    argv, env = voila_command(notebook, port, tmp_path / "jupyter")
    voila = subprocess.Popen(
        argv,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "voila.log", "w"),  # noqa: SIM115 - closed with the process
        env={**env, "MPLBACKEND": "Agg"},
    )
    screenshot = tmp_path / "explorer-card.png"
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()  # the server listens
                break
            except OSError:
                if time.monotonic() > deadline or voila.poll() is not None:
                    raise AssertionError((tmp_path / "voila.log").read_text()) from None
                time.sleep(0.3)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url, timeout=120_000)
            page.wait_for_selector(".member-select select", timeout=120_000)
            options = page.eval_on_selector_all(".member-select select option", "els => els.map(e => e.textContent)")
            choice = options[2]
            member_id = choice.split()[0]
            page.select_option(".member-select select", label=choice)
            page.get_by_role("tab", name="积分卡").click()
            page.wait_for_selector(f'.points-card[data-member="{member_id}"]', timeout=60_000)
            shown = page.inner_text(".card-total")
            notice = page.inner_text(".notice-area")
            card_text = page.inner_text(".points-card")
            page.get_by_role("tab", name="追溯").click()  # the trace, down to the appraisal averages
            page.wait_for_selector(".widget-accordion", timeout=60_000)
            page_text = page.inner_text("body")
            widgets_html = page.eval_on_selector_all(
                ".widget-html-content", "els => els.map(e => e.innerHTML).join(' ')"
            )
            page.get_by_role("tab", name="积分卡").click()
            page.screenshot(path=str(screenshot), full_page=True)
            browser.close()
    finally:
        voila.terminate()
        voila.wait(timeout=30)
    print(f"explorer screenshot: {screenshot}")
    summary = recorded_summary(run)
    assert member_id in branch_run.member_ids and choice.endswith(summary.at[member_id, "name"])
    assert re.fullmatch(r"-?\d+(\.\d{1,2})?", shown.strip()), shown
    assert float(shown) == float(str(summary.at[member_id, "total"]))  # the run's published total, exactly
    assert "完全一致" in notice  # re-scored with the run's archived scheme: equal to summary.csv
    # never a ballot: every widget's content (the table, card, trace, what-if), shown or not
    assert (
        "民主测评平均" in card_text and "points-card" in widgets_html and "appraisal (不显示单张选票)" in widgets_html
    )
    assert "= 月度平均 × 80% + 民主测评平均 × 20%" in page_text  # the trace tab, its groups titled by their rule
    for text in (card_text, page_text, widgets_html):
        assert not MARK_SHOWN.search(text), MARK_SHOWN.search(text)
    assert screenshot.stat().st_size > 10_000
