"""The ``summary.csv`` table of each period (SPEC 6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..rounding import round_scores
from .bands import period_bands
from .events import veto_months

if TYPE_CHECKING:  # a Result is formed before its published tables (Result.summary)
    from .result import Result

from .tables import NO, YES

# a quarter's published columns besides its score: running figures and subtotals (seed 004 农村
# 登记表) and what the quarter's own bands give (seed 003 季末亮分)
QUARTER_EXTRAS = ("span_bonus", "span_deduction", "bonus", "deduction", "base_points", "grade", "tier")


# a period's figure and rank in the member-shaped table (a half-year has no rank of its own)
_FIGURE: dict[str, tuple[str, str | None]] = {
    "year": ("total", "rank"),
    "half": ("half_score", None),
    "quarter": ("quarter_score", "quarter_rank"),
    "month": ("month_total", "month_rank"),
}


def branch_table(table: pd.DataFrame, result: Result) -> pd.DataFrame:
    """SPEC 3.9's summary: each branch's score and rank (ties share a rank), the year's level, and
    whether the 党委 approved every month of the period (a ranking not approved is a draft)."""
    p = result.period
    score, rank = _FIGURE[p.kind]
    out = pd.DataFrame({"branch_id": table["member_id"], "branch_name": table["name"], "score": table[score]})
    ranks = table[rank] if rank is not None else out["score"].rank(method="min", ascending=False)
    out["rank"] = ranks.astype("Int64")
    if p.kind == "year":
        out["level"] = table["grade"]
    approved = all(m in result.approved_months for m in range(p.first_month, p.last_month + 1))
    out["approved"] = YES if approved else NO
    return out


def member_table(result: Result) -> pd.DataFrame:
    """One row per member (or branch, before :func:`branch_table`) with every published column."""
    p = result.period
    base = result.members[["member_id", "name"]]
    if p.kind == "year":
        cols = [
            "member_id",
            "name",
            "months",
            "base",
            "bonus",
            "deduction",
            "total",
            "stars",
            "grade",
            "veto",
            "exempt",
            "rank",
            "tier",
            "annual_star",
        ]
        s = result.scheme.scheme
        if not s.year.events:  # the events are inside the sub-periods' figures
            cols.remove("bonus")
            cols.remove("deduction")
        if s.cadence == "none":  # no item part
            cols.remove("base")
        if s.has_stars:  # 党支部定星: the stars the score gives and the committee's reason beside
            cols[cols.index("stars") + 1 : cols.index("stars") + 1] = ["computed_stars", "star_reason"]
        if s.base is not None:
            cols.insert(cols.index("bonus"), "base_points")
        if s.appraisal.combine == "added" and s.appraisal.mode != "none":
            cols.insert(cols.index("total"), "appraisal_added")
        out = result.annual.copy()
        out["base"] = out["base_rounded"]
        for c in ("base_points", "appraisal_added"):
            out[c] = round_scores(out[c].to_numpy(dtype=np.float64))
        return out[cols]
    if p.kind == "month":
        return month_table(result)
    if p.kind == "quarter":
        q = result.quarters[result.quarters["quarter"] == p.last_month // 3]
        extra = [c for c in QUARTER_EXTRAS if c in q]
        q = q[["member_id", "months", "score_rounded", "rank", "quarter_star", *extra]].rename(
            columns={"score_rounded": "quarter_score", "rank": "quarter_rank"}
        )
        out = base.merge(q, on="member_id", how="left")
        return _period_flags(out, result)
    half = 1 if p.first_month == 1 else 2
    halves = result.halves
    bands = [c for c in ("grade", "tier") if c in halves]
    h = halves[halves["half"] == half][["member_id", "months", "score_rounded", *bands]].rename(
        columns={"score_rounded": "half_score"}
    )
    out = base.merge(h, on="member_id", how="left")
    for quarter in p.quarters:
        qq = result.quarters[result.quarters["quarter"] == quarter][["member_id", "score_rounded", "quarter_star"]]
        out = out.merge(
            qq.rename(columns={"score_rounded": f"q{quarter}_score", "quarter_star": f"q{quarter}_star"}),
            on="member_id",
            how="left",
        )
    return _period_flags(out, result)


def _period_flags(out: pd.DataFrame, result: Result) -> pd.DataFrame:
    """Whole months, and the veto and exempt flags of a shorter period's summary."""
    if "months" in out:
        out["months"] = out["months"].astype("Int64")
    index = pd.Index(result.members["member_id"])
    vetoed = veto_months(result.vetoes, index) <= result.period.last_month
    return out.assign(veto=np.where(vetoed, YES, NO), exempt=np.where(result.members["exempt"], YES, NO))


def month_table(result: Result) -> pd.DataFrame:
    """A month's figures (SPEC 6: 一月一公示): the month's total and the rank in the branch. A
    member vetoed by the month's end is not ranked; under a no-score veto his total is blank."""
    m = result.period.last_month
    t = result.monthly_totals[result.monthly_totals["month"] == m][["member_id", "total"]]
    out = result.members[["member_id", "name"]].merge(
        t.rename(columns={"total": "month_total"}), on="member_id", how="left"
    )
    total = round_scores(out["month_total"].to_numpy(dtype=np.float64))
    index = pd.Index(result.members["member_id"])
    vetoed = veto_months(result.vetoes, index) <= m
    if result.scheme.scheme.no_score_veto:
        total[vetoed] = np.nan
    out["month_total"] = total
    basis = pd.Series(np.where(vetoed, np.nan, total), index=out.index)
    out["month_rank"] = basis.rank(method="min", ascending=False).astype("Int64")
    period_bands(out, "month_total", result.scheme.scheme, "month")
    return _period_flags(out, result)
