"""The explorer's screens as an officer reads them: a vetoed, an exempt and a normal member.

The unit tests compute what they expect from the demo's input workbooks, read here cell by cell
with openpyxl (and the scheme file's parameters), never from the package's results. The browser
test serves notebooks/explore.ipynb once for the module, exactly as ``python -m scoring.views.explorer``
does (the demo county, offline template), drives it in a real headless Chromium, saves a PNG of
every tab for the three members into a folder it prints (``EXPLORER_SCREENSHOTS``, else a pytest
temporary folder) and checks the page text.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from scoring.inputs.demo import generate_demo
from scoring.rules.periods import parse_period
from scoring.rules.scheme import SPAN_MONTHS, Scheme, load_scheme
from scoring.views.explorer import (
    Explorer,
    Scored,
    Source,
    branch_table_html,
    card_html,
    chart_figures,
    run_notice_html,
    run_shown,
    score_workbook,
    trace_groups,
    trace_table,
    voila_command,
    write_voila_template,
)

REPO = Path(__file__).resolve().parents[1]
YEAR = 2025

# what an officer must never read
RAW = re.compile(r"(?<![A-Za-z])(nan|NaN|None|NaT)(?![A-Za-z])|<NA>")
# yes/no as a value; the English gloss of a reason such as "(no evidence)" is not one
YES_NO = re.compile(r"(?<![A-Za-z] )(?<![A-Za-z])(yes|no|Yes|No|YES|NO)(?![A-Za-z])(?! [A-Za-z])")
TRACE_KEYS = {"level", "step", "item", "month", "value", "text", "rule", "source", "note"}
ENGLISH_HEADER = re.compile(r"(?<![A-Za-z(])(step|value|text|rule|source|note)(?![A-Za-z)])")
ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(tmp|home|work|root|usr|var|opt|mnt|srv)/")
STAR_GAP = re.compile(r"距\s*\d+\s*星还差")


def raw_values(text: str) -> list[str]:
    """Everything in ``text`` an officer must not read: raw missing values, yes/no in English."""
    return [m.group(0) for m in RAW.finditer(text)] + [m.group(0) for m in YES_NO.finditer(text)]


def plain(html_text: str) -> str:
    """The text of an HTML fragment, roughly as a browser shows it."""
    import html

    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", html_text)))


# -- the demo's inputs, read without the package --------------------------------------------------


Row = dict[str, Any]
KEY = re.compile(r"\(([^()]+)\)\s*$")  # a header or a branch field: 中文 (key)


def _key(text: Any) -> str:
    found = KEY.search(str(text))
    return found.group(1) if found else str(text)


def read_sheet(path: Path, key: str) -> list[Row]:
    """One input sheet by its key (``党员名单 (members)``), one dict per row keyed by the
    column keys of its ``中文 (key)`` headers."""
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = next(ws for ws in wb.worksheets if ws.title.endswith(f"({key})"))
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    header = [_key(h) for h in rows[0]]
    return [dict(zip(header, r, strict=True)) for r in rows[1:] if any(v is not None for v in r)]


def branch_info(path: Path) -> dict[str, str]:
    """The branch sheet's fields (``支部编号 (branch_id)`` -> ``branch_id``)."""
    return {_key(r["key"]): str(r["value"]) for r in read_sheet(path, "branch")}


def _month(text: Any) -> int:
    return int(str(text)[-2:])  # 2025-03


def round2(x: float) -> float:
    """A spreadsheet's ROUND(x, 2) on the value as written to 15 significant digits (SPEC 5)."""
    return float(Decimal(f"{x:.15g}").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@dataclass
class Branch:
    """One county-10-stars demo branch as its input workbook states it, with the annual figures
    worked out here from the cells by the scheme file's rules (SPEC 3.1)."""

    path: Path
    scheme: Scheme
    members: dict[str, Row]  # by member_id
    monthly: dict[str, dict[int, dict[str, float]]]  # member -> month -> item -> score (amended)
    vetoes: list[Row]
    totals: dict[str, float]  # every scored member (not exempt): rounded 年度总积分

    @property
    def vetoed(self) -> str:
        return str(self.vetoes[0]["member_id"])

    @property
    def exempt(self) -> str:
        return next(m for m, r in self.members.items() if r["exempt"] == "是")

    @property
    def exempt_stars(self) -> int:
        return int(self.members[self.exempt]["exempt_stars"])

    def stars(self, total: float) -> int:
        return next(b.stars for b in self.scheme.bands if total >= b.min and b.stars is not None)

    @property
    def ranked(self) -> dict[str, float]:
        """Totals of the members who are ranked: not exempt, not vetoed."""
        return {m: t for m, t in self.totals.items() if m != self.vetoed}

    def normal_with_gap(self) -> str:
        """A normal member below ten stars (his card offers the gap to the next star)."""
        return next(m for m, t in sorted(self.ranked.items()) if self.stars(t) < 10)

    def month_totals(self, member_id: str) -> dict[int, float]:
        return {m: sum(items.values()) for m, items in sorted(self.monthly[member_id].items())}


def read_branch(path: Path) -> Branch:
    scheme = load_scheme(branch_info(path)["scheme"]).scheme
    codes = scheme.item_codes
    members = {str(r["member_id"]): r for r in read_sheet(path, "members")}
    monthly: dict[str, dict[int, dict[str, float]]] = {}
    for r in read_sheet(path, "monthly_scores"):
        monthly.setdefault(str(r["member_id"]), {})[_month(r["month"])] = {c: float(r[c]) for c in codes}
    for a in read_sheet(path, "amendments"):  # the changed score counts
        monthly[str(a["member_id"])][_month(a["month"])][str(a["item"])] = float(a["new_score"])
    ratings: dict[tuple[str, str], list[float]] = {}
    for b in read_sheet(path, "appraisal"):
        for c in codes:
            ratings.setdefault((str(b["member_id"]), c), []).append(float(b[c]))
    rules = {r.code: r for r in scheme.adjustments.rules}
    adjustments = read_sheet(path, "adjustments")
    assert scheme.adjustments.combine == "highest_only"
    assert not scheme.adjustments.bonus_evidence_required and not scheme.adjustments.deduction_evidence_required
    totals = {}
    for mid, months in monthly.items():
        base = 0.0
        for c in codes:
            mean = sum(items[c] for items in months.values()) / len(months)  # his own months in the branch
            rated = ratings[(mid, c)]
            base += mean * scheme.year.weight + sum(rated) / len(rated) * scheme.appraisal.weight
        mine = [rules[str(a["rule_code"])] for a in adjustments if a["member_id"] == mid]
        bonus = max((r.points for r in mine if r.kind == "bonus"), default=0.0)  # only the highest
        deduction = max((r.points for r in mine if r.kind == "deduction"), default=0.0)  # only the largest
        totals[mid] = round2(base + bonus - deduction)
    return Branch(path, scheme, members, monthly, read_sheet(path, "vetoes"), totals)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_demo(tmp_path_factory.mktemp("demo"), YEAR)


@pytest.fixture(scope="module")
def b001(demo: list[Path]) -> Branch:
    branch = read_branch(demo[0])
    assert branch.scheme.name == "county-10-stars"
    return branch


@pytest.fixture(scope="module")
def scored(b001: Branch) -> Scored:
    return score_workbook(b001.path, str(YEAR))


# -- the points card ------------------------------------------------------------------------------


def test_the_vetoed_members_card_states_the_veto_and_offers_no_star_gap(b001: Branch, scored: Scored) -> None:
    mid = b001.vetoed
    veto = b001.vetoes[0]
    card = plain(card_html(scored, mid))
    assert "一票否决" in card
    assert str(veto["condition"]) in card  # the condition as the branch entered it
    assert f"{veto['date']:%Y-%m-%d}" in card  # the decision's date
    assert f"等级定为{b001.scheme.veto.grade}" in card and "积分照常显示" in card  # forced_grade: the score stays
    assert "不评星级" in card and "不参加支部排名" in card
    assert f"{b001.totals[mid]:.2f}" in card  # his score is shown (seed 004)
    assert not STAR_GAP.search(card), card
    assert raw_values(card) == [], card


def test_the_exempt_members_card_says_not_scored_and_shows_the_stars_entered_by_hand(
    b001: Branch, scored: Scored
) -> None:
    html = card_html(scored, b001.exempt)
    card = plain(html)
    assert "不列入积分" in card and str(b001.members[b001.exempt]["exempt_reason"]) in card
    assert f"{b001.exempt_stars}星" in card and "手工录入" in card
    assert 'class="card-total"' not in html and "排名:" not in card and not STAR_GAP.search(card)
    assert raw_values(card) == [], card


def test_a_normal_members_card_shows_total_stars_rank_and_the_gap_to_the_next_star(
    b001: Branch, scored: Scored
) -> None:
    mid = b001.normal_with_gap()
    total = b001.totals[mid]
    stars = b001.stars(total)
    nxt = min((b for b in b001.scheme.bands if b.stars is not None and b.min > total), key=lambda b: b.min)
    rank = 1 + sum(t > total for t in b001.ranked.values())
    card = plain(card_html(scored, mid))
    assert f"年度总积分 (total): {total:.2f}" in card
    assert f"星级: {stars}星" in card
    assert f"支部排名: {rank} / {len(b001.ranked)}" in card
    assert f"距{nxt.stars}星还差 {nxt.min - total:.2f} 分" in card
    assert "一票否决" not in card and "不列入积分" not in card
    assert raw_values(card) == [], card


def test_the_branch_table_shows_no_raw_missing_values_and_yes_no_in_chinese(b001: Branch, scored: Scored) -> None:
    html = branch_table_html(scored)
    text = plain(html)
    assert raw_values(text) == [], raw_values(text)
    rows = {m.group(1): m.group(0) for m in re.finditer(r"<tr>\s*<td>(\w+)</td>.*?</tr>", html, flags=re.S)}
    vetoed, exempt = (re.findall(r"<td>(.*?)</td>", rows[m]) for m in (b001.vetoed, b001.exempt))
    assert "是" in vetoed and f"{b001.totals[b001.vetoed]:.2f}" in vetoed  # 一票否决 是, his total shown
    assert "是" in exempt and str(b001.exempt_stars) in exempt  # 不列入积分 是, the stars entered by hand
    assert "季度之星" not in text  # a year shows no quarter star column
    # a scheme without quarter stars has no 季度之星 column for a quarter either (not None in it)
    xinluo = next(
        p for p in sorted(b001.path.parent.glob("*.xlsx")) if branch_info(p)["scheme"] == "xinluo-three-level"
    )
    quarter = plain(branch_table_html(score_workbook(xinluo, f"{YEAR}Q2")))
    assert "季度之星" not in quarter and raw_values(quarter) == []


@pytest.mark.parametrize("period", [f"{YEAR}", f"{YEAR}H2", f"{YEAR}Q4", f"{YEAR}-11"])
def test_every_demo_branch_and_member_reads_without_raw_values(demo: list[Path], period: str) -> None:
    """Every scheme of the demo (stars or none, quarter stars or none, a veto by show of hands,
    an adjustment without evidence), for each kind of period: branch table, cards, trace tables."""
    for path in demo:
        if (
            SPAN_MONTHS[parse_period(period).kind]
            < load_scheme(str(branch_info(path)["scheme"])).scheme.shortest_months
        ):
            continue  # a scheme scored per quarter or once a year forms no shorter period (SPEC 4)
        s = score_workbook(path, period)
        where = f"{path.stem} {period}"
        assert raw_values(plain(branch_table_html(s))) == [], where
        for mid in s.result.members["member_id"]:
            assert raw_values(plain(card_html(s, mid))) == [], (where, mid)
            head, groups = trace_groups(s, mid)
            for title, rows in [("", head), *groups]:
                text = (
                    title
                    + " "
                    + " ".join(trace_table(rows).columns)
                    + " "
                    + " ".join(trace_table(rows).to_numpy().ravel())
                )
                assert raw_values(text) == [] and not ENGLISH_HEADER.search(text), (where, mid, title)


# -- the trace ------------------------------------------------------------------------------------


def test_trace_tables_have_chinese_headers_two_decimals_and_no_raw_values(b001: Branch, scored: Scored) -> None:
    mid = b001.vetoed
    head, groups = trace_groups(scored, mid)
    shown = trace_table(head)
    assert not TRACE_KEYS & set(shown.columns), shown.columns
    assert {"步骤", "数值", "规则"} <= set(shown.columns)
    by_step = shown.set_index("步骤")["数值"]
    assert by_step["年度总积分 (total)"] == f"{b001.totals[mid]:.2f}"
    assert by_step["星级 (stars)"] == "" and by_step["排名 (rank)"] == ""  # vetoed: blank, never NaN
    for title, rows in groups:
        table = trace_table(rows)
        assert not TRACE_KEYS & set(table.columns), (title, table.columns)
        for cell in table.to_numpy().ravel():
            assert raw_values(str(cell)) == [], (title, cell)
        numbers = [v for v in table["数值"] if v]
        assert all(re.fullmatch(r"-?\d+\.\d\d", v) for v in numbers), (title, numbers)
    veto = trace_table(next(rows for title, rows in groups if title.startswith("一票否决")))
    assert veto["文字结果"].tolist() == ["是"]
    # the first item's group: each month's cell, as the input has it, with two decimals
    code = b001.scheme.items[0].code
    first = trace_table(next(rows for title, rows in groups if title.startswith(b001.scheme.items[0].name)))
    mine = {m: items[code] for m, items in sorted(b001.monthly[mid].items())}
    cells = first[first["步骤"].str.endswith("月评分")]
    assert cells["月份"].tolist() == [f"{YEAR}-{m:02d}" for m in mine]
    assert cells["数值"].tolist() == [f"{v:.2f}" for v in mine.values()]
    # the exempt member: the stars entered by hand, a whole number
    exempt = trace_table(trace_groups(scored, b001.exempt)[0])
    assert exempt["数值"].tolist() == [str(b001.exempt_stars)]


# -- the charts -----------------------------------------------------------------------------------


def drawn(fig: Figure) -> Figure:
    fig.draw_without_rendering()  # lays the figure out as saving it does
    return fig


def ydata(line: Line2D) -> list[float]:
    return [float(v) for v in np.asarray(line.get_ydata(), dtype=float)]


def legend_outside(ax: Axes) -> bool:
    """The legend's box does not overlap the plotting area (it covers no bar and no line) and lies
    inside the figure (it is not cut off)."""
    legend = ax.get_legend()
    assert legend is not None
    box, area, page = legend.get_window_extent(), ax.get_window_extent(), ax.figure.bbox
    apart = box.x0 >= area.x1 or box.x1 <= area.x0 or box.y0 >= area.y1 or box.y1 <= area.y0
    inside = page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
    return bool(apart and inside)


def test_charts_fit_the_data_and_label_months_and_counts(b001: Branch, scored: Scored) -> None:
    mid = b001.normal_with_gap()
    made = chart_figures(scored, mid)
    assert len(made.figures) == 3 and made.notes == []
    trend, dist, items = (drawn(f).axes[0] for f in made.figures)
    for ax in (trend, dist, items):
        assert legend_outside(ax), ax.get_title()
    # the trend: 1月..12月, every month total of the member and the branch average inside the axis
    assert [t.get_text() for t in trend.get_xticklabels()] == [f"{m}月" for m in range(1, 13)]
    mine = b001.month_totals(mid)
    by_month: dict[int, list[float]] = {}
    for member in b001.monthly:
        for m, total in b001.month_totals(member).items():
            by_month.setdefault(m, []).append(total)
    average = {m: sum(v) / len(v) for m, v in sorted(by_month.items())}
    lines = {str(line.get_label()): line for line in trend.get_lines()}
    assert ydata(lines[f"本人 ({mid})"]) == pytest.approx(list(mine.values()))
    assert ydata(lines["支部平均"]) == pytest.approx(list(average.values()))
    shown = [*mine.values(), *average.values()]
    low, high = trend.get_ylim()
    assert low < min(shown) and max(shown) < high and high - low < 2 * (max(shown) - min(shown)) + 2
    # the distribution: the axis spans the totals, not 0..100; counts are whole people
    totals = list(b001.totals.values())
    left, right = dist.get_xlim()
    assert left < min(totals) and max(totals) < right
    assert right - left <= 1.6 * (max(totals) - min(totals)), (left, right, min(totals), max(totals))
    assert all(float(t).is_integer() for t in dist.get_yticks())
    counts = [p.get_height() for p in dist.patches if isinstance(p, Rectangle)]
    assert sum(counts) == len(totals) and max(counts) < dist.get_ylim()[1]
    # the items: 0 to the items' maximum (10 points each)
    top = max(it.max for it in b001.scheme.items)
    assert items.get_ylim()[0] == 0 and top <= items.get_ylim()[1] <= top * 1.1


def test_a_quarters_trend_shows_only_its_months(b001: Branch) -> None:
    q = score_workbook(b001.path, f"{YEAR}Q2")
    mid = b001.normal_with_gap()
    trend = drawn(chart_figures(q, mid).figures[0]).axes[0]
    assert [t.get_text() for t in trend.get_xticklabels()] == ["4月", "5月", "6月"]
    assert trend.get_xlim() == (3.5, 6.5)
    for line in trend.get_lines():
        assert set(np.asarray(line.get_xdata(), dtype=float).tolist()) <= {4, 5, 6}, line.get_label()


def test_the_chart_tab_says_why_a_member_or_a_chart_is_missing(b001: Branch, scored: Scored, tmp_path: Path) -> None:
    made = chart_figures(scored, b001.exempt)
    assert any("不列入积分" in n for n in made.notes)
    assert all(line.get_label() != f"本人 ({b001.exempt})" for line in made.figures[0].axes[0].get_lines())
    # nothing can be scored: every tab, the chart tab included, says why it is empty
    (tmp_path / "坏的.xlsx").write_bytes(b"not a workbook")
    explorer = Explorer(tmp_path)
    assert "不能计分" in explorer.notice.value
    why = [c.value for c in explorer.chart_box.children]
    assert why and all("不能计分" in v for v in why)


# -- what-if, temporary folders, paths --------------------------------------------------------------


def test_the_what_if_is_filled_on_first_load_and_no_demo_folder_is_left(
    b001: Branch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    explorer = Explorer()  # the demo county, as make explore shows it
    first = b001.scheme.bands[0]
    assert explorer.band.value == f"{first.stars}星" and explorer.band_min.value == first.min
    assert explorer.weight.value == b001.scheme.year.weight
    explorer.branch.value = 2  # another branch is scored from the workbook held in memory
    explorer.period.value = f"{YEAR}Q3"
    assert "季度积分" in explorer.card.value
    assert list(tmp_path.iterdir()) == []


def test_a_run_folder_is_shown_relative_to_the_runs_folder(scored: Scored, tmp_path: Path) -> None:
    run = tmp_path / "runs" / "2025" / "B001" / "v001"
    assert run_shown(run) == "runs/2025/B001/v001"
    src = Source("B001", scored.path, run=run, period=f"{YEAR}Q1")  # another period: nothing to compare
    notice = run_notice_html(src, scored)
    assert "runs/2025/B001/v001" in notice and str(tmp_path) not in notice


# -- the page in a real browser ---------------------------------------------------------------------

needs_browser = pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("CI"),
    reason="chromium not installed (make browser installs it; in CI this test must run)",
)

TABS = ["支部总表", "积分卡", "追溯", "图表", "假设分析 (what-if)"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Page:
    page: Any
    remote: list[str]  # every request the page made to anything but the local server
    shots: Path
    tmp: Path  # the server's and its kernel's temporary folder


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the module's pages (Playwright's sync API runs once at a time)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
        yield browser
        browser.close()


@contextmanager
def _serve(notebook: Path, work: Path, env_extra: dict[str, str], browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """``notebook`` served by Voila as ``python -m scoring.views.explorer`` serves it (the offline
    template), open in a page of ``browser`` once its member choice is drawn: (the page, every
    request it made to anything but the local server)."""
    write_voila_template(work / "jupyter")
    port = _free_port()
    argv, env = voila_command(notebook, port, work / "jupyter")
    log = work / "voila.log"
    with log.open("w") as err:
        voila = subprocess.Popen(
            argv, cwd=work, stdout=subprocess.DEVNULL, stderr=err, env={**env, "MPLBACKEND": "Agg", **env_extra}
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or voila.poll() is not None:
                        raise AssertionError(log.read_text()) from None
                    time.sleep(0.3)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            try:
                remote: list[str] = []
                local = f"http://127.0.0.1:{port}/"
                page.on(
                    "request", lambda r: None if r.url.startswith((local, "data:", "blob:")) else remote.append(r.url)
                )
                page.goto(local, timeout=120_000)
                page.wait_for_selector(".member-select select", timeout=120_000)
                yield page, remote
            finally:
                page.close()
        finally:
            voila.terminate()
            voila.wait(timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[Page]:
    """notebooks/explore.ipynb as ``python -m scoring.views.explorer`` serves it (the demo county, the
    offline template), one Voila server and one browser page for the module."""
    work = tmp_path_factory.mktemp("voila")
    shots = Path(os.environ.get("EXPLORER_SCREENSHOTS") or work / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    tmp = work / "tmp"
    tmp.mkdir()
    with _serve(REPO / "notebooks" / "explore.ipynb", work, {"TMPDIR": str(tmp)}, chromium) as (page, remote):
        print(f"\nexplorer screenshots: {shots}")
        yield Page(page, remote, shots, tmp)
    leftovers = [p.name for p in tmp.iterdir() if p.name.startswith("scoring-")]
    assert leftovers == [], leftovers  # the demo leaves no folder behind, also once the server stopped


def _full_page(page: Any, path: Path) -> None:
    """A screenshot of the whole page: the viewport grown to the tallest scrolling content."""
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 8000)})
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def _visit(served: Page, kind: str, member_id: str) -> dict[str, str]:
    """Pick the member, open every tab (the trace's first group and its veto group opened), save a
    screenshot of each; return the visible text of each tab."""
    page = served.page
    options = page.eval_on_selector_all(".member-select select option", "els => els.map(e => e.textContent)")
    page.select_option(".member-select select", label=next(o for o in options if o.split()[0] == member_id))
    page.wait_for_selector(f'.points-card[data-member="{member_id}"]', state="attached", timeout=60_000)
    texts = {}
    for i, tab in enumerate(TABS):
        page.get_by_role("tab", name=tab).click()
        if tab == "追溯":
            page.wait_for_selector(".trace-area table", timeout=60_000)
            headers = page.locator(".trace-area .jupyter-widget-Collapse-header")
            if headers.count():  # an exempt member's trace is one table, without groups
                headers.first.click()
                veto = headers.filter(has_text="一票否决")
                if veto.count():
                    veto.first.click()
        if tab == "图表":
            page.wait_for_selector(".chart-area img", timeout=60_000)
        page.wait_for_timeout(300)  # let the tab paint
        _full_page(page, served.shots / f"{kind}-{member_id}-{i + 1}-{tab.split()[0]}.png")
        texts[tab] = page.inner_text(".jupyter-widget-Tab, .widget-tab")
    return texts


def _check_text(where: str, text: str) -> None:
    assert raw_values(text) == [], (where, raw_values(text))
    assert not ENGLISH_HEADER.search(text), (where, ENGLISH_HEADER.search(text))
    assert not ABSOLUTE_PATH.search(text), (where, ABSOLUTE_PATH.search(text))


@needs_browser
def test_every_tab_for_a_vetoed_an_exempt_and_a_normal_member_reads_as_an_officer_expects(
    served: Page, b001: Branch
) -> None:
    page = served.page
    assert page.input_value(".member-select select") and "B001" in page.inner_text(".branch-select")
    normal = b001.normal_with_gap()
    seen = {
        kind: _visit(served, kind, mid)
        for kind, mid in (("vetoed", b001.vetoed), ("exempt", b001.exempt), ("normal", normal))
    }
    for kind, texts in seen.items():
        for tab, text in texts.items():
            _check_text(f"{kind} {tab}", text)
    _check_text("the page", page.inner_text("body"))  # the last tab open, the choices, the notebook's text
    # every widget's text, shown or not (the trace's closed groups too); table headers in Chinese
    hidden = page.eval_on_selector_all(".widget-html-content", "els => els.map(e => e.textContent).join('\\n')")
    _check_text("all widgets", hidden)
    headers = set(page.eval_on_selector_all("th", "els => els.map(e => e.textContent.trim())"))
    assert not headers & TRACE_KEYS, headers & TRACE_KEYS
    # the cards
    vetoed, exempt, normal_card = (seen[k]["积分卡"] for k in ("vetoed", "exempt", "normal"))
    assert "一票否决" in vetoed and str(b001.vetoes[0]["condition"]) in vetoed and not STAR_GAP.search(vetoed)
    assert "不列入积分" in exempt and not STAR_GAP.search(exempt)
    assert f"{b001.totals[normal]:.2f}" in normal_card and STAR_GAP.search(normal_card)
    # the chart tab says why the exempt member has no line; the what-if is filled on first load
    assert "不列入积分" in seen["exempt"]["图表"] and "一票否决" in seen["vetoed"]["图表"]
    first = b001.scheme.bands[0]
    assert page.input_value(".band-select select") == f"{first.stars}星"
    assert float(page.input_value(".band-min input")) == first.min
    # offline: nothing was fetched from anywhere but the local server
    assert served.remote == [], served.remote
    shots = sorted(served.shots.glob("*.png"))
    assert len(shots) == 15 and all(p.stat().st_size > 10_000 for p in shots), shots


@needs_browser
def test_a_unit_workbook_reads_as_the_party_committee_expects(
    tmp_path_factory: pytest.TempPathFactory, chromium: Any
) -> None:
    """notebooks/explore.ipynb with ``inputs`` a folder holding the hand-computed unit workbook
    (test_branch_assessment; the first quarter, March not approved): one page load, B1 chosen, a
    screenshot of the ranking, the branch card, the trace (February opened) and the trend."""
    import json

    from test_branch_assessment import unit_rows, write_unit

    from scoring.views.explorer import UNIT_TABS

    work = tmp_path_factory.mktemp("voila-unit")
    shots = Path(os.environ.get("EXPLORER_SCREENSHOTS") or work / "screenshots") / "unit"  # apart from the demo's
    shots.mkdir(parents=True, exist_ok=True)
    (work / "inputs").mkdir()
    write_unit(work / "inputs" / "U01_2025.xlsx", unit_rows(months=3, approved=2))
    nb = json.loads((REPO / "notebooks" / "explore.ipynb").read_text(encoding="utf-8"))
    params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    params["source"] = ['inputs = "inputs"\n', 'period = "2025Q1"\n', 'runs = ""\n']  # Voila runs it in ``work``
    (work / "explore.ipynb").write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    texts: dict[str, str] = {}
    with _serve(work / "explore.ipynb", work, {}, chromium) as (page, remote):
        assert "U01_2025\xa0(支部联评联考)" in page.inner_text(".branch-select")  # the choice's space: no-break
        page.select_option(".member-select select", label="B1 检修工区党支部")
        page.wait_for_selector('.branch-card[data-branch="B1"]', state="attached", timeout=60_000)
        for i, tab in enumerate(UNIT_TABS[:4]):
            page.get_by_role("tab", name=tab).click()
            if tab == "追溯":
                page.wait_for_selector(".trace-area table", timeout=60_000)
                page.locator(".trace-area .jupyter-widget-Collapse-header").nth(1).click()  # February
            if tab == "走势":
                page.wait_for_selector(".chart-area img", timeout=60_000)
            page.wait_for_timeout(300)  # let the tab paint
            _full_page(page, shots / f"unit-B1-{i + 1}-{tab}.png")
            texts[tab] = page.inner_text(".jupyter-widget-Tab, .widget-tab")
            _check_text(f"unit {tab}", texts[tab])
        verified = page.locator(".branch-card td.verified").first
        red = verified.locator("span").evaluate("e => getComputedStyle(e).color")
        struck = verified.locator("s").evaluate("e => getComputedStyle(e).textDecorationLine")
        assert (red, struck, verified.inner_text()) == ("rgb(192, 0, 0)", "line-through", "33.00 36")
        assert remote == [], remote
    ranking, card, traced, trend = (texts[t] for t in UNIT_TABS[:4])
    assert "3月 (未审定)" in ranking and "89.50 (2)" in ranking and "季考名次" in ranking
    assert "季考得分: 88.50" in card and "17.50 (2 个支部)" in card and "三会一课记录不全" in card
    assert "B2" not in card and "营销" not in card  # no branch's mark for another
    assert "检查验证 (verification)!D2" in traced and "2025年3月 (未审定)" in traced
    assert "本页没有图表" not in trend
    print(f"\nunit explorer screenshots: {shots}")
    assert len(list(shots.glob("unit-B1-*.png"))) == 4


@needs_browser
def test_the_history_tab_follows_a_member_across_branches(
    tmp_path_factory: pytest.TempPathFactory, chromium: Any
) -> None:
    """notebooks/explore.ipynb on B001's demo workbook with ``runs`` the hand-made runs folder of
    test_history: the 历年 tab opens on B001 (the workbook's branch: 张三 95.50, 290.50 (the
    approved v001 of 2025Q1, not v002's 280.00), 97.00; 李四 88.25); choosing 李四 (P002) follows
    him into B002 (270.00, 90.75) with his chart. One screenshot, of that."""
    import json

    from test_history import make_runs

    from scoring.inputs.demo import DEMO_BRANCHES

    work = tmp_path_factory.mktemp("voila-history")
    shots = Path(os.environ.get("EXPLORER_SCREENSHOTS") or work / "screenshots") / "history"
    shots.mkdir(parents=True, exist_ok=True)
    (book,) = generate_demo(work / "inputs", branches=DEMO_BRANCHES[:1])
    (work / "runs").mkdir()
    make_runs(work / "runs")
    nb = json.loads((REPO / "notebooks" / "explore.ipynb").read_text(encoding="utf-8"))
    params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    params["source"] = [f'inputs = "inputs/{book.name}"\n', 'period = "2025"\n', 'runs = "runs"\n']  # in ``work``
    (work / "explore.ipynb").write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    with _serve(work / "explore.ipynb", work, {}, chromium) as (page, remote):
        page.get_by_role("tab", name="历年").click()
        page.wait_for_selector(".history-table table", timeout=60_000)
        branch_text = page.inner_text(".history-table")
        assert page.input_value(".history-branch select") == "B001 第一党支部"  # the option as labelled
        page.select_option(".history-member-select select", label="P002 李四")
        page.wait_for_selector('.history-member[data-member="P002"]', state="attached", timeout=60_000)
        page.wait_for_selector(".history-chart img.history-chart-member", timeout=60_000)  # his, not B001's
        page.wait_for_timeout(300)  # let the tab paint
        _full_page(page, shots / "history-P002.png")
        member_text = page.inner_text(".history-area")
        assert remote == [], remote
    for where, text in (("branch", branch_text), ("member", member_text)):
        _check_text(f"history {where}", text)
    assert "张三" in branch_text and "290.50" in branch_text and "280.00" not in branch_text
    assert "李四" in branch_text and "88.25" in branch_text and "270.00" not in branch_text  # B001's runs only
    assert "所在支部: B001、B002" in member_text and "第二党支部" in member_text
    assert "88.25" in member_text and "270.00" in member_text and "90.75" in member_text
    assert "2024/B001/v001" in member_text and "2025/B002/v001" in member_text
    print(f"\nhistory screenshot: {shots}")
    assert (shots / "history-P002.png").stat().st_size > 10_000
