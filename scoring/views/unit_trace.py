"""Trace one branch's figure in a unit's run (SPEC 3.9) back to the cells that made it.

``unit_trace(result, unit, branch_id)`` returns a table, top-down: the year's level and score
(or the quarter's, or the month's) and rank, each month's score with the 党委's approval, each
category of the month, and each indicator with the cell it came from: the self-score's cell, the
verification row that replaced it, or the mean of the other branches' marks with the number of
raters. Which branch gave which mark is never shown (SPEC 3.9).

Columns as in :data:`scoring.views.trace.TRACE_COLUMNS` (``value`` a float, NaN where the step has
no number; a word such as the level in ``text``), and ``whole``: the value is a count or a rank,
shown without decimals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..inputs.unit import SCORED_BY_WORDS, UnitBook
from ..rules.engine import Result
from ..rules.rounding import round_scores
from ..rules.words import bands_text
from .trace import TRACE_COLUMNS, _f, _num, _Rows

UNIT_TRACE_COLUMNS: list[str] = [*TRACE_COLUMNS, "whole"]
RANK_RULE = "按四舍五入到两位小数后的得分降序, 并列同名次 (1, 2, 2, 4)"


def month_ranks(result: Result) -> pd.DataFrame:
    """Each branch's score and rank in each month of the result (ranked on the rounded score, ties
    sharing a rank, as the month's own summary ranks them): member_id, month, total, rank."""
    t = result.monthly_totals[["member_id", "month", "total"]].copy()
    t["rounded"] = round_scores(t["total"].to_numpy(dtype=np.float64))
    t["rank"] = t.groupby("month")["rounded"].rank(method="min", ascending=False).astype("Int64")
    return t.drop(columns="rounded")


def approval_note(unit: UnitBook, month: int) -> str:
    """审定 or not, with the row of 党委审定 that says so."""
    a = unit.approvals[unit.approvals["month"] == month]
    if a.empty:
        return "未经党委审定, 本月排名为草稿 (not approved: the ranking is a draft)"
    r = a.iloc[0]
    on = r["approved_on"]
    day = on.strftime("%Y-%m-%d") if hasattr(on, "strftime") else str(on)
    return f"{r['approved_by']} {day} 审定 ({unit.cell('approvals', 'month', int(r['row']))})"


def unit_trace(result: Result, unit: UnitBook, branch_id: str) -> pd.DataFrame:
    """Every row that made ``branch_id``'s figure for the result's period, from the top down."""
    if branch_id not in set(result.members["member_id"]):
        raise KeyError(f"党支部 {branch_id!r} 不在本次结果中 (not a branch of this run)")
    s = result.scheme.scheme
    p = result.period
    out = _Rows(UNIT_TRACE_COLUMNS)
    summary = result.summary().set_index("branch_id").loc[branch_id]
    ranks = month_ranks(result)
    mine = ranks[(ranks["member_id"] == branch_id) & ranks["month"].between(p.first_month, p.last_month)]
    months = [int(m) for m in mine["month"]]
    totals = [float(t) for t in mine["total"]]
    if p.kind == "year":
        out.add(
            0,
            "年度定级 (level)",
            None,
            f"按年度得分分档: {bands_text(s, 'year')}",
            "积分方案的分档规定",
            text=str(summary["level"]),
        )
    if p.kind != "month":
        what = "十二个月" if p.kind == "year" else "本期各月"
        parts = " + ".join(_f(t) for t in totals)
        out.add(
            0,
            f"{p.label}得分 (score)",
            summary["score"],
            f"{what}得分的平均: ({parts}) ÷ {len(totals)} = {_f(sum(totals) / len(totals))}, 四舍五入到两位小数",
        )
        out.add(0, "排名 (rank)", summary["rank"], RANK_RULE, whole=True)
    scores = result.item_scores[result.item_scores["member_id"] == branch_id].set_index("month")
    ind = result.indicators if result.indicators is not None else pd.DataFrame()
    for m, total, rank in zip(months, totals, mine["rank"], strict=True):
        month = f"{p.year}-{m:02d}"
        level = 0 if p.kind == "month" else 1
        cats = {i.code: _num(scores.at[m, i.code]) for i in s.items}
        parts = " + ".join(f"{i.name} {_f(cats[i.code])}" for i in s.items)
        out.add(
            level, "月度得分 (month score)", total, f"各类得分之和: {parts}", month=month, note=approval_note(unit, m)
        )
        out.add(level, "月度排名 (month rank)", rank, RANK_RULE, month=month, whole=True)
        mine_ind = ind[(ind["branch_id"] == branch_id) & (ind["month"] == m)]
        for item in s.items:
            rows = mine_ind[mine_ind["category"] == item.code]
            rule = (
                f"本类 {len(rows)} 个指标得分之和 (本类满分 {_f(item.max)}; {SCORED_BY_WORDS[str(item.scored_by)]})"
                if len(rows)
                else "本季度没有本类指标, 记 0 分 (no indicator of this category in force)"
            )
            out.add(
                level + 1, "类别得分 (category)", cats[item.code], rule, item=f"{item.name} ({item.code})", month=month
            )
            for r in rows.to_dict("records"):
                _indicator(out, level + 2, {str(k): v for k, v in r.items()}, unit, month)
    t = out.frame()
    t["whole"] = t["whole"].eq(True)  # only the counts and ranks are marked
    return t


def _sheet_name(unit: UnitBook, key: str) -> str:
    """The sheet of the unit workbook as it is named there, e.g. ``支部互评 (mutual_scores)``."""
    return next(iter(unit.cells.get(key, {}).values()), (key, ""))[0]


def _indicator(out: _Rows, level: int, r: dict[str, Any], unit: UnitBook, month: str) -> None:
    """One indicator's row: the mutual mean, the verified score or the self-score, with its cell."""
    item = f"{r['code']} {r['name']}"
    most = f"满分 {_f(r['max'])}"
    if pd.notna(r["raters"]):
        out.add(
            level,
            "指标: 互评平均 (mutual mean)",
            r["score"],
            f"其他支部互评的平均, {int(r['raters'])} 个支部评价 ({most})",
            f"{_sheet_name(unit, 'mutual_scores')}: 只显示平均分和评价支部数, 不显示哪个支部打了多少分",
            item=item,
            month=month,
        )
    elif pd.notna(r["verification_row"]):
        out.add(
            level,
            "指标: 验证分 (verified)",
            r["score"],
            f"检查验证分 {_f(r['verified_score'])} 替代自评分 {_f(r['self_score'])} ({most})",
            unit.cell("verification", "verified_score", int(r["verification_row"])),
            f"{r['reason']} ({r['verified_by']}); 原自评分: {unit.cell('self_scores', 'score', int(r['self_row']))}",
            item=item,
            month=month,
        )
    else:
        out.add(
            level,
            "指标: 自评分 (self-score)",
            r["score"],
            f"支部自评分, 未经验证改动 ({most})",
            unit.cell("self_scores", "score", int(r["self_row"])),
            item=item,
            month=month,
        )
