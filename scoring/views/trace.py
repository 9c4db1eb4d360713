"""Trace one member's figure back to the cells that made it.

``trace(result, member_id)`` returns a table, top-down: the published figure, the formula that
made it, each part of that formula and, at the bottom, every monthly item cell (with its sheet and
row in the input workbook), each appraisal average (count and average only, never a ballot) and
each adjustment, applied or not, with the reason.

Columns: ``value`` is always a number (float; NaN where the step has no number, e.g. a member
without a rank), so a reviewer can sum, compare and format it; a figure that is a word (the
grade, whether a veto applies) is in ``text``. ``source`` is a cell as the input workbook shows
it (``月度评分 (monthly_scores)!D14``), made by :meth:`Result.cell` for every sheet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd

from ..rules.engine import Result, sub_events
from ..rules.rounding import round_scores
from ..rules.scheme import Scheme
from ..rules.words import sub_period_text

TRACE_COLUMNS: list[str] = ["level", "step", "item", "month", "value", "text", "rule", "source", "note"]


# Rows of ``DataFrame.itertuples(index=False)`` as this module reads them. pandas-stubs types every
# field as any scalar; these name the columns used and the types the result's tables hold.


class _TotalRow(Protocol):
    """A row of ``Result.monthly_totals``."""

    month: float
    total: float
    figure: float
    row: int


class _ScoreRow(Protocol):
    """A row of ``Result.item_scores``: member_id, month, one column per item, row."""

    def _asdict(self) -> dict[str, Any]: ...


class _AdjustmentRow(Protocol):
    """A row of ``Result.adjustments``."""

    kind: str
    rule_code: str
    rule_name: str
    points_used: float
    applied_points: float
    reason: str
    date: dt.date
    row: int


class _VetoRow(Protocol):
    """A row of ``Result.vetoes``."""

    date: dt.date
    condition_name: str
    votes_for: float
    votes_against: float
    members_on_date: int
    applies: bool
    reason: str
    row: int


def _num(x: Any) -> float:
    """A figure as a float; missing (None, NaN, pd.NA) is NaN."""
    return float("nan") if x is None or pd.isna(x) else float(x)


class _Rows:
    """Trace rows in order; ``columns``: TRACE_COLUMNS and any extra ones ``add`` is given."""

    def __init__(self, columns: list[str] = TRACE_COLUMNS) -> None:
        self.rows: list[dict[str, Any]] = []
        self.columns = columns

    def add(
        self,
        level: int,
        step: str,
        value: Any = None,
        rule: str = "",
        source: str = "",
        note: str = "",
        item: str = "",
        month: str = "",
        text: str = "",
        **extra: Any,
    ) -> None:
        self.rows.append(
            {
                **extra,
                "level": level,
                "step": step,
                "item": item,
                "month": month,
                "value": _num(value),
                "text": text,
                "rule": rule,
                "source": source,
                "note": note,
            }
        )

    def frame(self) -> pd.DataFrame:
        out = pd.DataFrame(self.rows, columns=self.columns)
        out["value"] = out["value"].astype("float64")  # also when every value is missing
        return out


def _f(x: Any) -> str:
    """A number for rule and note texts, as the workbook writes it (15 significant digits)."""
    return "" if x is None or pd.isna(x) else f"{x:.15g}"


def _row(table: pd.DataFrame, member_id: str) -> pd.Series:
    """``member_id``'s row of a table indexed by member_id, which holds one row per member."""
    row = table.loc[member_id]
    assert isinstance(row, pd.Series)  # a DataFrame only if member_id were repeated
    return row


def trace(result: Result, member_id: str) -> pd.DataFrame:
    """Every row that made ``member_id``'s figure for the result's period, from the top down. A
    unit's branch is traced by :func:`scoring.views.unit_trace.unit_trace` (its indicators)."""
    if result.indicators is not None:
        raise ValueError("a unit's branch is traced by unit_trace (its indicators and the unit's cells)")
    members = result.members.set_index("member_id")
    if member_id not in members.index:
        raise KeyError(f"党员 {member_id!r} 不在本次结果中 (not a member of this run)")
    s = result.scheme.scheme
    p = result.period
    m = _row(members, member_id)
    out = _Rows()
    if bool(m["exempt"]):
        out.add(
            0,
            "不列入积分 (exempt)",
            m.get("exempt_stars"),
            "星级由支部直接评定 (stars entered by hand)",
            result.cell("members", "exempt_stars", m["row"]),
            "" if pd.isna(m.get("exempt_reason")) else str(m.get("exempt_reason")),
        )
        if p.kind == "year" and len(result.annual):
            a = _row(result.annual.set_index("member_id"), member_id)
            if s.has_stars and _decided(a):  # a decision for him equals his hand-rated stars
                _committee_stars(out, result, a)
            if a["veto"] == "yes":  # the veto overrides the hand-entered stars (SPEC 3.1)
                if s.has_stars:
                    out.add(
                        0, "星级 (stars)", a["stars"], "一票否决 → 不评星级 (veto: no stars)", note="一票否决 (veto)"
                    )
                out.add(
                    0,
                    "等级 (grade)",
                    None,
                    f"一票否决 → {s.veto.grade}",
                    "scheme veto",
                    "一票否决 (veto)",
                    text=str(a["grade"]),
                )
                _vetoes(out, result, member_id)
        return out.frame()

    if p.kind == "year":
        a = _row(result.annual.set_index("member_id"), member_id)
        y = _row(result.item_year.set_index("member_id"), member_id)
        veto_note = "一票否决 (veto)" if a["veto"] == "yes" else ""
        out.add(0, "年度总积分 (total)", a["total"], _total_rule(s), "", veto_note)
        if s.has_stars:
            stars_rule = _band_rule(s, a["total"]) if a["veto"] == "no" else "一票否决 → 不评星级 (veto: no stars)"
            if _decided(a):  # 党支部定星: the committee's stars, the score's beside them
                _committee_stars(out, result, a)
                out.add(1, "按积分星级 (computed_stars)", a["computed_stars"], stars_rule, "scheme bands", veto_note)
            else:
                out.add(0, "星级 (stars)", a["stars"], stars_rule, "scheme bands", veto_note)
        if s.has_grades:
            out.add(
                0,
                "等级 (grade)",
                None,
                _band_rule(s, a["total"]) if a["veto"] == "no" else f"一票否决 → {s.veto.grade}",
                "scheme bands",
                veto_note,
                text="" if a["grade"] is None or pd.isna(a["grade"]) else str(a["grade"]),
            )
        if s.band_tiers:
            tier = "" if a["tier"] is None or pd.isna(a["tier"]) else str(a["tier"])
            out.add(0, "档次 (tier)", None, _band_rule(s, a["total"]), "scheme bands", veto_note, text=tier)
        out.add(
            0,
            "排名 (rank)",
            a["rank"],
            "按四舍五入后的年度总积分降序, 并列同名次",
            "",
            "一票否决和不列入积分者不排名" if pd.isna(a["rank"]) else "",
        )
        if s.no_score_veto and a["veto"] == "yes":  # 不体现积分: no figure below the veto (SPEC 3.2)
            out.add(1, "计分月数 (months)", float(y["months"]), "在支部的月数", "", "不体现积分")
            _vetoes(out, result, member_id)
            return out.frame()
        if s.cadence != "none":
            out.add(1, "年终总积分 (base)", a["base"], _base_rule(s))
        if s.base is not None:
            rule = f"MAX(0, 基础分 {s.base:g} + 减分), 扣完为止"
            out.add(1, "基础分 (base_points)", a["base_points"], rule, "scheme base")
        if s.year.events:
            highest = s.adjustments.combine == "highest_only"
            out.add(1, "加分 (bonus)", a["bonus"], "只计最高一项加分" if highest else "计入的加分之和")
            out.add(1, "减分 (deduction)", a["deduction"], "只计最大一项减分" if highest else "计入的减分之和")
        if s.appraisal.mode == "single" and s.appraisal.combine == "added":
            added = _row(result.appraisal.set_index("member_id"), member_id)
            rule = f"{_f(added['score_sum'])} ÷ {int(added['score_raters'])} 人, 直接加入 (added)"
            out.add(1, "评议分 (appraisal)", a["appraisal_added"], rule, "appraisal (不显示单张选票)")
        if s.year.events or s.cadence == "none":
            _adjustments(out, result, member_id)
        _vetoes(out, result, member_id)
        months = int(y["months"])
        if s.cadence == "none":
            return out.frame()
        app = _row(result.appraisal.set_index("member_id"), member_id) if len(result.appraisal.columns) > 1 else None
        if s.year.by == "per_item":
            for it in s.items:
                c = it.code
                rule = f"{c}月平均 × {s.year.weight:g}" + (
                    f" + {c}民主测评 × {s.appraisal.weight:g}" if s.appraisal.mode == "per_item" else ""
                )
                out.add(2, f"{it.name} 年终积分", y[f"{c}_score"], rule, item=c)
                out.add(3, f"{it.name} 月平均", y[f"{c}_mean"], f"{_f(y[f'{c}_sum'])} ÷ {months} 个月", item=c)
                _cells(out, result, member_id, [c], level=4)
                if s.appraisal.mode == "per_item" and app is not None:
                    out.add(
                        3,
                        f"{it.name} 民主测评",
                        app[f"{c}_average"],
                        f"{_f(app[f'{c}_sum'])} ÷ {int(app[f'{c}_raters'])} 人",
                        "appraisal (不显示单张选票)",
                        item=c,
                    )
        else:
            unit = _UNITS[s.cadence]
            how = f"{_f(y['monthly_sum'])} ÷ {months} {unit[1]}" if s.year.combine == "mean" else "Σ 各期得分"
            out.add(2, f"{unit[0]}得分{'平均' if s.year.combine == 'mean' else '合计'}", y["monthly_mean"], how)
            totals = result.monthly_totals[result.monthly_totals["member_id"] == member_id]
            for t in cast(Iterator[_TotalRow], totals.itertuples(index=False)):
                events = "events" in result.monthly_totals
                out.add(
                    3,
                    f"{unit[0]}得分" if events else ("月度基础分" if s.cadence == "month" else f"{unit[0]}总分"),
                    t.figure,
                    "Σ 各项评分 + 本期加减分" if events else "Σ 各项评分",
                    result.cell(_score_sheet(result), _SUB_COLUMN[s.cadence], t.row),
                    month=sub_period_text(result.scheme.scheme, result.period.year, int(t.month)),
                )
                if events:
                    within = (int(t.month) - s.sub_months + 1, int(t.month))
                    _adjustments(out, result, member_id, within=within, level=4)
                _cells(out, result, member_id, s.item_codes, level=4, month=int(t.month))
            if s.appraisal.mode == "single" and app is not None:
                out.add(
                    2,
                    "民主评议分",
                    app["score_average"],
                    f"{_f(app['score_sum'])} ÷ {int(app['score_raters'])} 人",
                    "appraisal (不显示单张选票)",
                )
        return out.frame()

    # shorter periods: the period's figure as the scheme forms it, then months, then cells
    ytd = p.kind != "month" and s.period(p.kind).combine == "year_to_date"
    summary = result.summary().set_index("member_id")
    vetoed = summary.at[member_id, "veto"] == "yes"
    veto_note = "一票否决 (veto)" if vetoed else ""
    if s.no_score_veto and vetoed:
        veto_note = "一票否决, 不体现积分 (veto: no score)"
    if p.kind == "month":
        out.add(
            0, "月度总分 (month_total)", summary.at[member_id, "month_total"], "ROUND(Σ 各项月评分, 2)", "", veto_note
        )
        rank = summary.at[member_id, "month_rank"]
        unranked = rank is pd.NA or rank is None
        out.add(0, "月度排名 (month_rank)", rank, "按月度总分降序, 并列同名次", "", "不排名" if unranked else "")
    elif p.kind == "quarter":
        q = result.quarters
        row = q[(q["member_id"] == member_id) & (q["quarter"] == p.last_month // 3)]
        if len(row):
            r = row.iloc[0]
            star = (
                ""
                if r["quarter_star"] is None
                else f"季度之星: {r['quarter_star']} (名额 {int(r['quota'])}, 参评 {int(r['scored_members'])} 人)"
            )
            rule = f"ROUND({s.period_text('quarter')}, 2)"
            out.add(0, "季度积分 (quarter_score)", r["score_rounded"], rule, "", veto_note or star)
    elif p.kind == "half":
        h = result.halves
        row = h[(h["member_id"] == member_id) & (h["half"] == (1 if p.first_month == 1 else 2))]
        if len(row):
            rule = f"ROUND({s.period_text('half')}, 2)"
            out.add(0, "半年积分 (half_score)", row.iloc[0]["score_rounded"], rule, "", veto_note)
    if vetoed:
        _vetoes(out, result, member_id)
        if s.no_score_veto:
            return out.frame()
    first = 1 if ytd else p.first_month
    if ytd:
        _adjustments(out, result, member_id)
    elif p.kind != "month" and (s.period(p.kind).events or s.cadence == "none") and not sub_events(s):
        _adjustments(out, result, member_id, within=(first, p.last_month))
    totals = result.monthly_totals
    totals = totals[(totals["member_id"] == member_id) & (totals["month"] >= first) & (totals["month"] <= p.last_month)]
    events = "events" in totals
    step = {"month": "月度总分 (month total)", "quarter": "季度得分 (quarter)"}.get(s.cadence, "总分")
    for t in cast(Iterator[_TotalRow], totals.itertuples(index=False)):
        out.add(
            1,
            step,
            round_scores(np.array([t.figure], dtype=np.float64))[0],
            "Σ 各项评分 + 本期加减分" if events else ("Σ 各项月评分" if s.cadence == "month" else "Σ 各项评分"),
            result.cell(_score_sheet(result), _SUB_COLUMN[s.cadence], t.row),
            month=sub_period_text(result.scheme.scheme, result.period.year, int(t.month)),
        )
        if events:  # the events dated in the sub-period are part of its figure
            _adjustments(out, result, member_id, within=(int(t.month) - s.sub_months + 1, int(t.month)), level=2)
        _cells(out, result, member_id, s.item_codes, level=2, month=int(t.month))
    return out.frame()


_SUB_COLUMN = {"month": "month", "quarter": "quarter", "year": "member_id", "none": "member_id"}
_UNITS = {"month": ("月度", "个月"), "quarter": ("季度", "个季度"), "year": ("年度", "年"), "none": ("", "")}


def _decided(a: pd.Series) -> bool:
    """The committee decided this member's stars (a row of ``star_decisions``)."""
    return "star_row" in a and not pd.isna(a["star_row"])


def _committee_stars(out: _Rows, result: Result, a: pd.Series) -> None:
    """The published stars where the committee decided (SPEC 8), with its decision's cell and reason;
    a veto sets the decision aside."""
    cell = result.cell("star_decisions", "stars", int(a["star_row"]))
    if a["veto"] == "yes":
        out.add(0, "星级 (stars)", None, "一票否决 → 不评星级, 党支部定星未采用 (veto: the decision does not apply)",
                cell, str(a["star_reason"]))  # fmt: skip
        return
    out.add(0, "星级 (stars)", a["stars"], "党支部确定的星级 (the committee's decision)", cell, str(a["star_reason"]))


def _score_sheet(result: Result) -> str:
    """The input sheet the item scores came from (monthly_scores, quarterly_scores, annual_scores)."""
    return str(getattr(result.book, "score_sheet", "monthly_scores"))


def _total_rule(s: Scheme) -> str:
    parts = [] if s.cadence == "none" else ["年终总积分"]
    if s.base is not None:
        parts += ["基础分", "加分"]
    elif s.year.events:
        parts += ["加分", "减分"]
    if s.appraisal.mode == "single" and s.appraisal.combine == "added":
        parts.append("评议分")
    rule = f"ROUND({' + '.join(parts) or '0'}, 2)"
    veto = {"cap": f"; 一票否决: 不超过 {s.veto.cap or 0:g}", "zero": "; 一票否决: 计为 0"}
    return rule + veto.get(s.veto.effect, "")


def _base_rule(s: Scheme) -> str:
    if s.year.by == "per_item":
        return "Σ 各项年终积分"
    unit = _UNITS[s.cadence][0]
    rule = f"{unit}得分{'平均' if s.year.combine == 'mean' else '合计'} × {s.year.weight:g}"
    if s.appraisal.mode != "none" and s.appraisal.combine == "weighted":
        rule += f" + 民主评议 × {s.appraisal.weight:g}"
    return rule


def _band_rule(s: Scheme, total: float | None) -> str:
    if total is None or pd.isna(total):
        return ""
    for b in s.bands:
        if total >= b.min:
            return f"{total:.2f} ≥ {b.min:g} → " + (f"{b.stars}星 " if b.stars is not None else "") + b.label
    b = s.bands[-1]
    return (
        f"{total:.2f} < {s.bands[-2].min if len(s.bands) > 1 else b.min:g} → "
        + (f"{b.stars}星 " if b.stars is not None else "")
        + b.label
    )


def _cells(out: _Rows, result: Result, member_id: str, items: list[str], level: int, month: int | None = None) -> None:
    scores = result.item_scores
    sel = scores[(scores["member_id"] == member_id) & ((scores["month"] == month) if month is not None else True)]
    am = result.amendments
    am = am[am["member_id"] == member_id] if len(am) else am
    names = {i.code: i.name for i in result.scheme.scheme.items}
    sheet = _score_sheet(result)
    what = {"quarter": "季度评分", "year": "年度评分"}.get(result.scheme.scheme.cadence, "月评分")
    book_letters = getattr(result.book, "letters", None)
    letters: dict[tuple[str, int, str], str] = {}
    if book_letters is not None and len(book_letters):
        mine = book_letters[book_letters["member_id"] == member_id]
        letters = {
            (member_id, int(m), str(i)): str(x)
            for m, i, x in zip(mine["month"], mine["item"], mine["letter"], strict=True)
        }
    for r in cast(Iterator[_ScoreRow], sel.itertuples(index=False)):
        rd = r._asdict()
        for c in items:
            note = ""
            hit = am[(am["month"] == rd["month"]) & (am["item"] == c)] if len(am) else am
            if len(hit):
                h = hit.iloc[-1]
                where = result.cell("amendments", "new_score", int(h["row"]))
                note = (
                    f"已更正 (amended): 原 {_f(h['original'])} → {_f(h['new_score'])}, "
                    f"{h['reason']}, {h['decided_on']} ({where})"
                )
            letter = letters.get((str(rd["member_id"]), int(rd["month"]), c))
            if letter is not None:
                note = f"等次 {letter} → {_f(rd[c])} 分" + (f"; {note}" if note else "")
            out.add(
                level,
                f"{names[c]} {what}",
                rd[c],
                "支委会评分 (committee score)",
                result.cell(sheet, c, rd["row"]),
                note,
                item=c,
                month=sub_period_text(result.scheme.scheme, result.period.year, int(rd["month"])),
            )


def _adjustments(
    out: _Rows, result: Result, member_id: str, within: tuple[int, int] | None = None, level: int = 2
) -> None:
    """The member's adjustments (``within``: only those dated in these months, at ``level``)."""
    a = result.adjustments
    a = a[a["member_id"] == member_id]
    if within is not None:
        month = a["date"].map(lambda d: d.month)
        a = a[(month >= within[0]) & (month <= within[1])]
    for r in cast(Iterator[_AdjustmentRow], a.itertuples(index=False)):
        out.add(
            level,
            f"{'加分' if r.kind == 'bonus' else '减分'}: {r.rule_name}",
            r.applied_points,
            f"{r.rule_code} ({r.points_used:+g})",
            result.cell("adjustments", "rule_code", r.row),
            f"{r.reason}; {r.date}",
        )


def _vetoes(out: _Rows, result: Result, member_id: str) -> None:
    v = result.vetoes
    for r in cast(Iterator[_VetoRow], v[v["member_id"] == member_id].itertuples(index=False)):
        votes = ""
        if not pd.isna(r.votes_for):
            against = int(r.votes_against) if not pd.isna(r.votes_against) else 0
            votes = f"; 赞成 {int(r.votes_for)} / 反对 {against} / 党员 {int(r.members_on_date)}"
        out.add(
            1,
            f"一票否决: {r.condition_name}",
            None,
            str(r.reason),
            result.cell("vetoes", "condition", r.row),
            f"{r.date}{votes}",
            text="yes" if r.applies else "no",
        )
