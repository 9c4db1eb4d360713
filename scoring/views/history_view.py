"""The history across years as an officer sees it: the table, the chart and the explorer's 历年 tab.

``python -m scoring history`` and the explorer show the same: for a branch (or every branch) one
row per member with a column per period, showing the period's figure; for one member one row per
period with everything the period published (stars, grade, ranks), the branch, whether the run is
approved and which run it is. The chart has one panel per kind of period (year totals, half-year,
quarter and month scores are on different scales) and a line per member.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..exceptions import ScoringError
from ..rules.periods import KIND_LABELS, parse_period
from ..runs.history import (
    SCORE_KEYS,
    SCORE_NOTE,
    History,
    period_order,
    periods,
    read_history,
    readable_history,
    wide,
)
from .display import legend_outside, padded, png, table_html, use_cjk_fonts

if TYPE_CHECKING:
    from matplotlib.figure import Figure

KINDS = ("year", "half", "quarter", "month")  # the chart's panels, top to bottom
PANEL_HEIGHT = 2.6  # inches per panel
LEGEND_MEMBERS = 15  # more lines than this: no legend (choose one member to see one line)
COLOURS = ["#c0392b", "#1f4e79", "#2e7d32", "#b7791f", "#6b46c1", "#00838f", "#555555", "#ad1457"]


def _member_title(table: pd.DataFrame, member_id: str) -> str:
    rows = table[table["member_id"] == member_id]
    return f"{member_id} {rows['name'].iloc[-1]}" if len(rows) else member_id


def _tick(period: str) -> str:
    """A period as the chart's axis names it: 2025年, 2025年上半年, 2025年第1季度, 2025年3月."""
    p = parse_period(period)
    return f"{p.year}年" if p.kind == "year" else p.label


def history_figure(table: pd.DataFrame, title: str = "") -> Figure | str:
    """Each member's figure across the periods of ``table`` (history rows), one panel per kind of
    period, x the periods in order. A string says why there is no chart (no figure at all)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    use_cjk_fonts()
    data = table.dropna(subset=["score"])
    kinds = [k for k in KINDS if (data["period_kind"] == KIND_LABELS[k]).any()]
    if not kinds:
        return "所选党员在这些运行中没有积分 (不列入积分, 或一票否决不体现积分), 所以没有图。"
    members = list(dict.fromkeys(data["member_id"]))
    fig = Figure(figsize=(8.0, PANEL_HEIGHT * len(kinds) + 0.5), layout="constrained")
    axes = fig.subplots(len(kinds), 1, squeeze=False)[:, 0]
    for ax, kind in zip(axes, kinds, strict=True):
        rows = data[data["period_kind"] == KIND_LABELS[kind]]
        xs = periods(rows)
        where = {p: i for i, p in enumerate(xs)}
        for n, mid in enumerate(members):
            mine = rows[rows["member_id"] == mid]
            if not len(mine):
                continue
            ax.plot(
                [where[p] for p in mine["period"]],
                mine["score"].to_numpy(dtype=float),
                marker="o",
                color=COLOURS[n % len(COLOURS)],
                label=_member_title(table, str(mid)) if len(members) <= LEGEND_MEMBERS else None,
            )
        ax.set_xticks(range(len(xs)), [_tick(p) for p in xs], rotation=30 if len(xs) > 6 else 0, fontsize=8)
        ax.set_xlim(-0.5, len(xs) - 0.5)
        ax.set_ylim(*padded([float(v) for v in rows["score"]], 1.0))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        key = SCORE_KEYS[kind]
        name = {"year": "年度总积分", "half": "半年积分", "quarter": "季度积分", "month": "月度总分"}[kind]
        ax.set_ylabel(name)
        ax.set_title(f"{name} ({key})", fontsize=10)
        if len(members) == 1:  # one member's points named: the figure and the branch it was scored in
            for p, v, b in zip(rows["period"], rows["score"], rows["branch_id"], strict=True):
                ax.annotate(
                    f"{float(v):.2f} ({b})",
                    (where[p], float(v)),
                    textcoords="offset points",
                    xytext=(0, 7),
                    ha="center",
                    fontsize=8,
                )
        ax.grid(axis="y", alpha=0.3)
        if len(members) <= LEGEND_MEMBERS:
            legend_outside(ax)
    everyone = table["member_id"].nunique()  # those without a figure too (exempt): the table's count
    who = _member_title(table, members[0]) if everyone == 1 else f"{everyone} 名党员"
    more = "; 人数较多, 不列图例 (只看一人: 选一名党员)" if len(members) > LEGEND_MEMBERS else ""
    fig.suptitle(title or f"历年积分 · {who}{more}", fontsize=11)
    return fig


def unapproved(table: pd.DataFrame) -> list[str]:
    """The runs of ``table`` that are not approved (their figures may still change), in order."""
    rows = table[table["approved"] == "否"]
    return sorted(set(rows["run"]), key=lambda r: (period_order(r.split("/")[0]), r))


def history_html(table: pd.DataFrame, member: str = "") -> str:
    """The 历年 tab's table: one member's periods (``member``), else the members by period."""
    if not len(table):
        return "<p class='history-empty' style='color:#555'>没有所选的运行。</p>"
    if member:
        mine = table[table["member_id"] == member]
        branches = "、".join(dict.fromkeys(mine["branch_id"]))
        who = html.escape(_member_title(table, member))
        head = (
            f"<h4 class='history-member' data-member='{html.escape(member)}'>{who}"
            f" · 历年 (所在支部: {html.escape(branches)})</h4>"
        )
        return head + table_html(readable_history(mine, one_member=True))
    parts = [table_html(wide(table)), f"<p style='color:#555; font-size:12px'>{html.escape(SCORE_NOTE)}</p>"]
    drafts = unapproved(table)
    if drafts:
        parts.append(
            "<p style='color:#555; font-size:12px'>未审核的运行 (积分可能还会改动): "
            f"{html.escape('、'.join(drafts))}</p>"
        )
    return "".join(parts)


class HistoryTab:
    """The explorer's 历年 tab: choose a branch (or every branch) and a member (or every member of
    the branch); see the table and the chart. ``runs``: the runs folder; None: the tab says how to
    name one. ``branch``: the branch chosen first when the runs have it."""

    def __init__(self, runs: Path | None, branch: str = "") -> None:
        import ipywidgets as w

        self.history: History | None = None
        self.branch = w.Dropdown(description="支部", layout=w.Layout(width="360px"))
        self.branch.add_class("history-branch")
        self.member = w.Dropdown(description="党员", layout=w.Layout(width="320px"))
        self.member.add_class("history-member-select")
        self.table = w.HTML()
        self.table.add_class("history-table")
        self.chart = w.VBox()
        self.chart.add_class("history-chart")
        self.widget = w.VBox([w.HBox([self.branch, self.member]), self.table, self.chart])
        self.widget.add_class("history-area")
        self._quiet = False
        if runs is None:
            self._message(
                "打开一次运行的文件夹 (如 runs/2025/B001/v001), 或用参数 runs 指明运行文件夹 (如 runs),"
                " 这里就列出各党员历年各期间的积分。"
            )
            return
        try:
            self.history = read_history(runs)
        except ScoringError as exc:
            self._message(str(exc).replace(str(runs), Path(runs).name))  # no path of the machine (SPEC 9)
            return
        t = self.history.table
        names = t.drop_duplicates("branch_id", keep="last").set_index("branch_id")["branch_name"]
        options: list[tuple[str, str]] = [("全部支部", "")]
        options += [(f"{b} {names[b]}", str(b)) for b in sorted(names.index)]
        self._quiet = True
        try:
            self.branch.options = options
            self.branch.value = branch if branch in names.index else str(sorted(names.index)[0])
        finally:
            self._quiet = False
        self._members()
        self.branch.observe(lambda _: self._members(), names="value")
        self.member.observe(lambda _: None if self._quiet else self._show(), names="value")

    def _message(self, text: str) -> None:
        self.branch.layout.display = self.member.layout.display = "none"
        self.table.value = f"<p class='history-empty' style='color:#555'>{html.escape(text)}</p>"

    def _rows(self) -> pd.DataFrame:
        assert self.history is not None
        t = self.history.table
        return t[t["branch_id"] == self.branch.value] if self.branch.value else t

    def _members(self) -> None:
        rows = self._rows()
        ids = list(dict.fromkeys(rows.sort_values("member_id")["member_id"]))
        kept = self.member.value
        self._quiet = True
        try:
            self.member.options = [("全部党员", ""), *[(_member_title(rows, m), m) for m in ids]]
            self.member.value = kept if kept in ids else ""
        finally:
            self._quiet = False
        self._show()

    def choose(self, branch: str, member: str = "") -> None:
        """Show ``member`` of ``branch`` ("" : every branch, every member), as choosing them does."""
        self.branch.value = branch
        self.member.value = member

    def _show(self) -> None:
        import ipywidgets as w

        assert self.history is not None
        member = str(self.member.value or "")
        t = self.history.table
        # a member is followed by member_id into every branch he was in
        rows = t[t["member_id"] == member] if member else self._rows()
        # the chart drawn first, then the chart and the table shown together: never one member's
        # table over the branch's chart
        made: Any = history_figure(rows)
        if isinstance(made, str):
            shown: Any = w.HTML(f"<p class='chart-note' style='color:#555'>{html.escape(made)}</p>")
        else:
            shown = w.Image(value=png(made), format="png", width="800")
        shown.add_class("history-chart-member" if member else "history-chart-branch")
        self.chart.children = (shown,)
        self.table.value = history_html(rows, member)
