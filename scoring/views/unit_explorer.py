"""What the explorer shows of a unit's 支部联评联考 (SPEC 3.9): pure functions of a scored unit.

The ranking of the branches by month (未审定 where the 党委 has not approved a month), a branch's
card (its indicators by month: self-score, the 联评联考办公室's verified score in red with the
original struck, the reason; the 互评 average with its number of raters, never which branch gave
which mark; category subtotals and the monthly score), its trend against the unit's mean and its
trace. Each returns HTML, a table or a figure; nothing is written.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import pandas as pd

from ..inputs.unit import UnitBook
from ..rules.engine import Result
from ..rules.rounding import round_scores
from .display import entered, fmt, html_table, legend_outside, new_figure, number, padded, show, use_cjk_fonts
from .unit_trace import month_ranks, unit_trace

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# the period's own figure as the ranking and the card head it
PERIOD_WORDS: dict[str, str] = {"month": "月度", "quarter": "季考", "half": "半年", "year": "年度"}
RED = "#c00000"


class _IndicatorRow(Protocol):
    """A row of ``Result.indicators``."""

    category: str
    code: str
    name: str
    max: float
    self_score: float
    verified_score: float
    reason: Any
    verified_by: Any
    raters: Any
    mutual_mean: float
    score: float


def is_unit(result: Result) -> bool:
    """Whether the result scores a unit's branches (SPEC 3.9) rather than a branch's members."""
    return result.indicators is not None


def period_months(result: Result) -> list[int]:
    """The months of the result's period (a year: all twelve)."""
    p = result.period
    return list(range(p.first_month, p.last_month + 1))


def month_text(result: Result, month: int) -> str:
    return f"{result.period.year}年{month}月"


def unapproved(result: Result) -> list[int]:
    """The months of the period the 党委 has not approved (their ranking is a draft)."""
    return [m for m in period_months(result) if m not in result.approved_months]


def monthly_ranks(result: Result) -> pd.DataFrame:
    """Each branch's score (rounded to two decimals, SPEC 5) and rank for each month of the period,
    ties sharing a rank (1, 2, 2, 4): branch_id, month, score, rank, approved (bool)."""
    t = month_ranks(result)
    t = t[t["month"].isin(period_months(result))]
    out = pd.DataFrame(
        {
            "branch_id": t["member_id"].to_numpy(),
            "month": t["month"].astype(int).to_numpy(),
            "score": round_scores(t["total"].to_numpy(dtype=np.float64)),
            "rank": t["rank"].to_numpy(),
        }
    )
    out["approved"] = out["month"].isin(result.approved_months)
    return out


def _month_head(result: Result, month: int) -> str:
    return f"{month}月" + ("" if month in result.approved_months else " (未审定)")


def ranking_table(result: Result) -> pd.DataFrame:
    """The ranking as the page shows it (text), best first: 名次, 支部编号, 党支部; a month's
    categories, or each month of a longer period as ``得分 (名次)``; the period's score, its rank
    and for a year the 定级; and whether the 党委 approved every month of the period."""
    p = result.period
    word = PERIOD_WORDS[p.kind]
    summ = result.summary()
    order = {b: n for n, b in enumerate(result.members["member_id"])}
    summ = summ.assign(_o=summ["branch_id"].map(order)).sort_values(["rank", "_o"], na_position="last", kind="stable")
    out = pd.DataFrame(
        {"名次": [show(v) for v in summ["rank"]], "支部编号": summ["branch_id"].astype(str).to_numpy()},
        index=summ["branch_id"].to_numpy(),
    )
    out["党支部"] = [show(v) for v in summ["branch_name"]]
    if p.kind == "month":
        cats = result.item_scores[result.item_scores["month"] == p.last_month].set_index("member_id")
        for item in result.scheme.scheme.items:
            out[f"{item.name} ({item.max:g})"] = [show(cats[item.code].get(b)) for b in out.index]
    else:
        ranks = monthly_ranks(result).set_index(["branch_id", "month"])
        for m in period_months(result):
            out[_month_head(result, m)] = [
                f"{show(ranks.at[(b, m), 'score'])} ({show(ranks.at[(b, m), 'rank'])})" if (b, m) in ranks.index else ""
                for b in out.index
            ]
    out[f"{word}得分"] = [show(v) for v in summ["score"]]
    if p.kind != "month":
        out[f"{word}名次"] = out.pop("名次")
    if p.kind == "year":
        out["定级"] = [show(v) for v in summ["level"]]
    out["党委审定"] = [show(v) for v in summ["approved"]]
    return out.reset_index(drop=True)


def ranking_html(result: Result) -> str:
    """The ranking tab: what the table is, the draft mark of unapproved months, the table."""
    p = result.period
    parts = [
        f'<div class="unit-ranking"><h3>党支部联评联考{PERIOD_WORDS[p.kind]}排名 · '
        f"{html.escape(result.branch_name)} · {html.escape(p.label)}</h3>"
    ]
    draft = unapproved(result)
    if draft:
        months = "、".join(f"{m}月" for m in draft)
        parts.append(
            f'<p class="draft-mark" style="color:{RED}"><b>未审定:</b> {months}党委尚未审定, '
            "其排名为草稿, 审定后方可通报。</p>"
        )
    how = [f"{len(result.members)} 个党支部; 名次相同为并列 (1, 2, 2, 4)。"]
    if p.kind != "month":
        how.append("各月一栏为: 月度得分 (当月名次)。")
        how.append(
            {"quarter": "季考得分为本季度各月得分的平均。", "half": "半年得分为半年内各月得分的平均。"}.get(
                p.kind, "年度得分为十二个月得分的平均, 按得分定级。"
            )
        )
    parts.append(f"<p style='color:#555'>{' '.join(how)}</p>")
    parts.append(html_table(ranking_table(result)))
    parts.append("</div>")
    return "".join(parts)


# -- a branch's card ----------------------------------------------------------------------------


def _branch_row(result: Result, branch_id: str) -> pd.Series:
    summ = result.summary().set_index("branch_id")
    if branch_id not in summ.index:
        raise KeyError(f"党支部 {branch_id!r} 不在本单位 (not a branch of this unit)")
    return cast(pd.Series, summ.loc[branch_id])


def _headline(result: Result, branch_id: str, row: pd.Series) -> str:
    p = result.period
    word = PERIOD_WORDS[p.kind]
    n = int(result.summary()["rank"].notna().sum())
    parts = [f'{word}得分: <b class="card-total">{fmt(row["score"])}</b>']
    if not pd.isna(row["rank"]):
        parts.append(f"{word}名次: <b>{fmt(row['rank'])}</b> / {n}")
    if p.kind == "year":
        parts.append(f"定级: <b>{fmt(row['level'])}</b>")
    draft = unapproved(result)
    status = f"<b>{fmt(row['approved'])}</b>"
    if draft:
        status += f' <span style="color:{RED}">(未审定: {"、".join(f"{m}月" for m in draft)}, 排名为草稿)</span>'
    parts.append(f"党委审定: {status}")
    return "<p>" + " · ".join(parts) + "</p>"


def _months_grid(result: Result, branch_id: str) -> str:
    """One row per month: the category scores, the monthly score, its rank and approval."""
    items = result.scheme.scheme.items
    sc = result.item_scores[result.item_scores["member_id"] == branch_id].set_index("month")
    ranks = monthly_ranks(result)
    mine = ranks[ranks["branch_id"] == branch_id].set_index("month")
    n = ranks.groupby("month")["branch_id"].count()
    head = "".join(f"<th>{html.escape(it.name)}<br>({it.max:g}分)</th>" for it in items)
    parts = [
        '<table class="unit-months" border="1" style="border-collapse: collapse; font-size: 12px">'
        f"<tr><th>月份</th>{head}<th>月度得分</th><th>当月名次</th><th>党委审定</th></tr>"
    ]
    for m in period_months(result):
        if m not in sc.index or m not in mine.index:
            continue
        cells = "".join(f"<td>{fmt(number(sc.at[m, it.code]))}</td>" for it in items)
        approved = m in result.approved_months
        mark = "是" if approved else f'<span style="color:{RED}">否 (未审定)</span>'
        parts.append(
            f"<tr><td>{m}月</td>{cells}<td><b>{fmt(mine.at[m, 'score'])}</b></td>"
            f"<td>{fmt(mine.at[m, 'rank'])} / {int(n.get(m, 0))}</td><td>{mark}</td></tr>"
        )
    parts.append("</table>")
    return "".join(parts)


def _used_cell(r: _IndicatorRow, mutual: bool) -> str:
    """The score that counts; a verified one in red with the self-score struck beside it."""
    if mutual or pd.isna(r.verified_score):
        return f"<td>{fmt(float(r.score))}</td>"
    title = html.escape(f"检查验证: 自评 {entered(r.self_score)} → {entered(r.verified_score)}; {show(r.reason)}")
    return (
        f'<td class="verified" title="{title}"><span style="color:{RED}; font-weight:bold">{fmt(float(r.score))}</span>'
        f' <s style="color:#888">{entered(r.self_score)}</s></td>'
    )


def _month_indicators(result: Result, branch_id: str, month: int, score: Any, rank: Any) -> str:
    """A month's indicators by category: 分值, 自评分, 检查验证, 互评平均 (评价支部数), 采用分; a
    subtotal per category and the month's score."""
    ind = result.indicators
    assert ind is not None
    s = result.scheme.scheme
    mine = ind[(ind["branch_id"] == branch_id) & (ind["month"] == month)]
    approved = month in result.approved_months
    draft = "" if approved else f' <span style="color:{RED}">(未审定)</span>'
    verified = bool(mine["verified_score"].notna().any())
    is_open = " open" if verified or len(period_months(result)) <= 3 else ""  # a year: the corrected months
    parts = [
        f"<details class='unit-month' data-month='{month}'{is_open}>"
        f"<summary><b>{month_text(result, month)}</b>: 月度得分 {fmt(score)}, 第 {fmt(rank)} 名{draft}"
        + (f' <span style="color:{RED}">· 有检查验证改定</span>' if verified else "")
        + "</summary>",
        '<table border="1" style="border-collapse: collapse; font-size: 12px">'
        "<tr><th>类别</th><th>指标</th><th>分值</th><th>自评分</th><th>检查验证</th>"
        "<th>互评平均 (评价支部数)</th><th>采用分</th></tr>",
    ]
    for item in s.items:
        rows = mine[mine["category"] == item.code]
        mutual = item.scored_by == "mutual"
        for n, r in enumerate(cast(Iterator[_IndicatorRow], rows.itertuples(index=False))):
            head = f'<td rowspan="{len(rows) + 1}">{html.escape(item.name)}</td>' if n == 0 else ""
            check = ""
            if not mutual and not pd.isna(r.verified_score):
                check = (
                    f'<span style="color:{RED}">{entered(r.self_score)} → {entered(r.verified_score)}</span>: '
                    f"{html.escape(show(r.reason))} ({html.escape(show(r.verified_by))})"
                )
            average = f"{fmt(float(r.mutual_mean))} ({show(r.raters)} 个支部)" if mutual else ""
            parts.append(
                f"<tr>{head}<td>{html.escape(f'{r.code} {r.name}')}</td><td>{entered(r.max)}</td>"
                f"<td>{'' if mutual else entered(r.self_score)}</td><td>{check}</td><td>{average}</td>"
                f"{_used_cell(r, mutual)}</tr>"
            )
        subtotal = float(rows["score"].sum())
        if not len(rows):
            none = "本季度没有适用的指标"
            parts.append(f"<tr><td>{html.escape(item.name)}</td><td colspan='5'>{none}</td><td>{fmt(0.0)}</td></tr>")
            continue
        parts.append(
            f'<tr class="subtotal"><td><b>{html.escape(item.name)}小计</b></td><td>{entered(rows["max"].sum())}</td>'
            f"<td colspan='3'></td><td><b>{fmt(subtotal)}</b></td></tr>"
        )
    parts.append(
        f"<tr><td colspan='6'><b>月度得分 (各类小计之和)</b></td><td><b>{fmt(score)}</b></td></tr></table></details>"
    )
    return "".join(parts)


def branch_card_html(result: Result, branch_id: str) -> str:
    """A branch's card: the period's score, rank (and level), approval; the months' category
    scores; each month's indicators with the verification and 互评 averages."""
    row = _branch_row(result, branch_id)
    parts = [f'<div class="branch-card" data-branch="{html.escape(branch_id)}" style="font-family: sans-serif">']
    parts.append(
        f"<h3>党支部联评联考 · {html.escape(result.branch_name)} · {html.escape(result.period.label)}</h3>"
        f"<p><b>{html.escape(branch_id)} {fmt(row['branch_name'])}</b></p>"
    )
    parts.append(_headline(result, branch_id, row))
    parts.append("<p><b>各月得分</b></p>" + _months_grid(result, branch_id))
    ranks = monthly_ranks(result)
    mine = ranks[ranks["branch_id"] == branch_id].set_index("month")
    parts.append("<p><b>各月指标</b> (点开一个月看它的指标)</p>")
    for m in period_months(result):
        if m in mine.index:
            parts.append(_month_indicators(result, branch_id, m, mine.at[m, "score"], mine.at[m, "rank"]))
    parts.append(
        "<p style='font-size:12px; color:#555'>红色为联评联考办公室检查验证后的分数, 划线的是原自评分; "
        "评价类指标为其他党支部互评的平均分, 只列评价支部数, 不显示哪个支部打了多少分。</p></div>"
    )
    return "".join(parts)


# -- trend and trace ----------------------------------------------------------------------------


def trend_figure(result: Result, branch_id: str) -> Figure | str:
    """The branch's monthly score against the unit's mean for each month (a month's period: the
    year so far); a string says why there is no trend (only one month)."""
    p = result.period
    months = list(range(1 if p.kind == "month" else p.first_month, p.last_month + 1))
    t = result.monthly_totals
    t = t[t["month"].isin(months)]
    xs = sorted({int(m) for m in t["month"]})
    if len(xs) < 2:
        return f"{p.label}之前没有其他月份的得分, 只有一个月, 所以没有走势图 (见排名和支部卡)。"
    use_cjk_fonts()
    fig, ax = new_figure()
    mean = t.groupby("month")["total"].mean()
    ax.plot(mean.index, mean.to_numpy(), color="#888", linestyle="--", marker=".", label="全单位平均")
    mine = t[t["member_id"] == branch_id].sort_values("month")
    name = show(result.members.set_index("member_id")["name"].get(branch_id))
    ax.plot(mine["month"], mine["total"], marker="o", color="#c0392b", label=f"本支部 ({branch_id} {name})")
    shown = [float(v) for v in mean] + [float(v) for v in mine["total"]]
    ax.set_xticks(xs, [f"{m}月" + ("" if m in result.approved_months else "\n未审定") for m in xs])
    ax.set_xlim(xs[0] - 0.5, xs[-1] + 0.5)
    ax.set_ylim(*padded(shown, 1.0))
    ax.set_ylabel("月度得分")
    ax.set_title(f"月度得分走势 · {result.period.year}年{xs[0]}月—{xs[-1]}月")
    ax.grid(axis="y", alpha=0.3)
    legend_outside(ax)
    return fig


MONTH_RULE = "月度得分 = 各类得分之和; 自评类指标以检查验证后的分数为准, 评价类为其他支部互评的平均"


def trace_groups(result: Result, unit: UnitBook, branch_id: str) -> tuple[pd.DataFrame, list[tuple[str, pd.DataFrame]]]:
    """The branch's trace (``unit_trace``) split for drill-down: the period's figures first (level,
    score, rank; a month's score and rank with its approval), then one group per month: its
    categories down to each indicator's cell."""
    t = unit_trace(result, unit, branch_id)
    head = t[(t["month"] == "") | (t["level"] == 0)]
    rest = t[(t["month"] != "") & (t["level"] > 0)]
    if result.period.kind != "month":  # a month's own score and rank head its groups' titles
        rest = rest[~rest["step"].str.startswith(("月度得分", "月度排名"))]
        head = pd.concat([head, t[(t["level"] == 1) & t["step"].str.startswith("月度得分")]])
    groups: list[tuple[str, pd.DataFrame]] = []
    ranks = monthly_ranks(result)
    mine = ranks[ranks["branch_id"] == branch_id].set_index("month")
    for month, g in rest.groupby("month", sort=False):
        m = int(str(month).split("-")[1])
        draft = "" if m in result.approved_months else " (未审定)"
        figures = f"{show(mine.at[m, 'score'])}, 第 {show(mine.at[m, 'rank'])} 名" if m in mine.index else ""
        groups.append((f"{month_text(result, m)}{draft}: {figures} — {MONTH_RULE}", g))
    return head, groups
