"""The explorer: its card, trace and what-if from the package, and the page in a real browser."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from scoring.demo import generate_demo
from scoring.explorer import card_html, score_workbook, trace_groups, what_if

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_demo(tmp_path_factory.mktemp("demo"))


def test_card_shows_the_summary_total_marks_amendments_and_never_a_ballot(demo: list[Path]) -> None:
    s = score_workbook(demo[0], "2025")
    summary = s.result.summary().set_index("member_id")
    am = s.result.amendments
    assert len(am), "the demo has an amendment"
    mid = am.iloc[0]["member_id"]
    html = card_html(s, mid)
    total = summary.at[mid, "total"]
    assert f'<b class="card-total">{total:.2f}'.rstrip("0").rstrip(".") in html
    assert "已更正: 原" in html and "*" in html and "自评" in html
    assert "P001" not in html  # ballot numbers never appear


def test_trace_groups_reach_every_monthly_cell(demo: list[Path]) -> None:
    s = score_workbook(demo[0], "2025")
    mid = s.result.summary()["member_id"].iloc[0]
    head, groups = trace_groups(s, mid)
    assert head.iloc[0]["step"].startswith("年度总积分")
    cells = pd.concat([g for _, g in groups])
    refs = cells.loc[cells["source"].str.contains("月度评分", na=False), "source"]
    months = int(s.result.item_year.set_index("member_id").at[mid, "months"])
    assert len(refs) == months * len(s.result.scheme.scheme.items)  # one per month and item


def test_what_if_lists_the_members_whose_stars_change(demo: list[Path]) -> None:
    s = score_workbook(demo[0], "2025")
    summary = s.result.summary()
    ten = summary[summary["stars"] == 10]
    lowest_ten = float(ten["total"].min())
    changes = what_if(s, band_min={"10星": lowest_ten + 0.01})  # the lowest ten-star member drops
    dropped = set(ten.loc[ten["total"] == lowest_ten, "member_id"])
    assert set(changes["党员编号"]) == dropped
    assert what_if(s, monthly_weight=s.scheme.scheme.monthly.weight).empty  # same parameters: no change


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


needs_browser = pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("CI"),
    reason="chromium not installed (make test installs it; in CI this test must run)",
)


@needs_browser
def test_an_officer_picks_a_member_in_the_browser_and_sees_their_card(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from scoring.engine import score
    from scoring.inputs import load_inputs
    from scoring.periods import parse_period

    port = _free_port()
    voila = subprocess.Popen(
        [sys.executable, "-m", "voila", "notebooks/explore.ipynb", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "voila.log", "w"),  # noqa: SIM115 - closed with the process
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
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
            page.screenshot(path=str(tmp_path / "explorer-card.png"), full_page=True)
            browser.close()
    finally:
        voila.terminate()
        voila.wait(timeout=30)
    # the explorer opened with no parameters shows the demo county's first branch for 2025
    demo = generate_demo(tmp_path / "demo")[0]
    period = parse_period("2025")
    book, sch = load_inputs(demo, period)
    expected = score(book, sch, period).summary().set_index("member_id").at[member_id, "total"]
    assert float(shown) == pytest.approx(float(expected), abs=1e-9)
    assert (tmp_path / "explorer-card.png").stat().st_size > 10_000


def test_the_explorer_opens_a_run_folder_on_its_archived_input(tmp_path: Path) -> None:
    from scoring.execute import run_branch
    from scoring.explorer import Explorer

    demo = generate_demo(tmp_path / "demo")
    run = run_branch(demo[1], "2025Q4", tmp_path / "runs")
    explorer = Explorer(run, "2025Q4")
    assert explorer.branch.label.startswith("B002") and explorer.period.value == "2025Q4"
    summary = pd.read_csv(run / "summary.csv", dtype={"member_id": str}).set_index("member_id")
    mid = explorer.member.value
    assert f'data-member="{mid}"' in explorer.card.value
    assert f'<b class="card-total">{summary.at[mid, "quarter_score"]:.2f}'.rstrip("0").rstrip(".") in explorer.card.value
