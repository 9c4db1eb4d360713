"""The scoring pipeline: the stages composed in order, as the scheme declares them."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ...inputs.reading import InputBook
from ...inputs.unit import UnitBook
from ..periods import Period
from ..scheme import LoadedScheme
from .bands import period_bands
from .cases import case_register, next_working_day, publicity_window
from .events import month_events, resolve_adjustments, resolve_vetoes, veto_months
from .follow_up import follow_ups, tier_follow_ups
from .indicators import indicator_scores, subject_book
from .items import apply_amendments, monthly_totals, sub_events
from .lapse import find_lapses, lapse_follow_ups
from .objections import objection_status
from .prior import Prior
from .result import Result
from .spans import quarter_matrix, quarter_stars, span_scores
from .tables import YES, member_codes
from .year import annual_results, appraisal_averages, item_year

# -- the entry point --------------------------------------------------------------------------


def score(
    book: InputBook,
    scheme: LoadedScheme,
    period: Period,
    prior: Prior | None = None,
    publicity_start: dt.date | None = None,
) -> Result:
    """Score one branch for one period. Pure: reads the tables (and what earlier sealed runs hand
    in, ``prior``: SPEC 8), returns new ones. ``publicity_start``: the first day of the 公示 (a year
    run opens its follow-up cases on its last day); default the branch sheet's, else the next
    working day after today (a run passes the day, so that verify reproduces it)."""
    s = scheme.scheme
    items = s.item_codes
    members = book.members.reset_index(drop=True)
    index = pd.Index(members["member_id"])  # hashed once, used for every lookup below
    exempt = members["exempt"].to_numpy(dtype=bool)
    monthly = book.monthly
    all_codes = member_codes(monthly["member_id"], index)
    in_scope = ~exempt[all_codes] & (monthly["month"].to_numpy() <= period.last_month)
    columns = ["member_id", "month", *items, "row"]
    # Copy-on-write: when every row is in scope, columns are shared with the input until changed
    item_scores = (monthly[columns] if in_scope.all() else monthly.loc[in_scope, columns]).reset_index(drop=True)
    codes = all_codes[in_scope]
    am = book.amendments
    in_period = (am["month"] <= period.last_month) & ~am["member_id"].isin(members.loc[exempt, "member_id"])
    amendments = apply_amendments(item_scores, codes, am[in_period], index)
    vetoes = resolve_vetoes(book.vetoes, members, s, period)
    adjustments = resolve_adjustments(book.adjustments, members, s, period)
    totals = monthly_totals(item_scores, s, adjustments, codes, index)
    q_sums, q_counts = quarter_matrix(totals, codes, len(members))
    n = len(members)
    events = None  # the bonuses and deductions per member and quarter, where a span shows them
    if any(s.period(k).events or s.period(k).combine == "year_to_date" for k in ("quarter", "half")) or (
        s.cadence == "none" or sub_events(s)
    ):
        bonus_q = month_events(adjustments, index, n, 1).reshape(n, 4, 3).sum(axis=2)
        deduction_q = month_events(adjustments, index, n, -1).reshape(n, 4, 3).sum(axis=2)
        events = (bonus_q, deduction_q)
    vetoed_in = veto_months(vetoes, index)
    quarters, quarter_codes = span_scores(q_sums, q_counts, members, s, "quarter", period.last_month, events, vetoed_in)
    quarters = quarter_stars(quarters, quarter_codes, vetoed_in, s)
    halves, _ = span_scores(q_sums, q_counts, members, s, "half", period.last_month, events, vetoed_in)
    halves = period_bands(halves, "score_rounded", s, "half")
    if period.kind == "year":
        appraisal = appraisal_averages(book.appraisal, members, index, s)
        years = item_year(item_scores, totals, codes, members, appraisal, s)
        annual = annual_results(members, index, years, adjustments, vetoes, s, book.star_decisions)
        if s.no_score_veto:  # 不体现积分: the vetoed members' item figures are blank too (SPEC 3.2)
            figures = [c for c in years.columns if c not in ("member_id", "months")]
            years.loc[(annual["veto"] == YES).to_numpy(), figures] = np.nan
        follow = follow_ups(annual, s)
    else:
        appraisal = pd.DataFrame({"member_id": members["member_id"].to_numpy()})
        years = (
            item_year(item_scores, totals, codes, members, appraisal.iloc[0:0], s)
            if s.appraisal.mode == "none"
            else pd.DataFrame()
        )
        annual = pd.DataFrame()
        follow = pd.DataFrame(columns=["member_id", "name", "reason", "action"])
        if period.kind == "quarter" and "tier" in quarters:
            this = quarters[quarters["quarter"] == period.last_month // 3]
            named = this.merge(members[["member_id", "name"]], on="member_id")
            follow = tier_follow_ups(named, s).reset_index(drop=True)
    prior = prior or Prior()
    start = publicity_start or book.publicity_start or next_working_day(dt.date.today())
    cases = case_register(
        annual if s.subject == "member" else pd.DataFrame(),  # a unit's branches get no case
        members,
        prior.cases,
        book.follow_up_outcomes,
        period,
        publicity_window(start, s.publicity.working_days)[1] if period.kind == "year" else None,
    )
    # possible 自行脱党 in every period kind, counted across the turn of the year (SPEC 8)
    lapses = find_lapses(book, s, period, prior.previous_year)
    if len(lapses.cases):
        parts = [f for f in (follow, lapse_follow_ups(lapses.cases)) if len(f)]
        follow = pd.concat(parts, ignore_index=True)
    return Result(
        scheme=scheme,
        period=period,
        branch_id=book.branch_id,
        branch_name=book.branch_name,
        members=members,
        item_scores=item_scores,
        amendments=amendments,
        self_scores=book.self_scores,
        monthly_totals=totals,
        quarters=quarters,
        halves=halves,
        item_year=years,
        appraisal=appraisal,
        adjustments=adjustments,
        vetoes=vetoes,
        annual=annual,
        follow_up=follow,
        notes=list(book.notes),
        book=book,
        cases=cases,
        publicity_start=start,
        prior=prior,
        lapses=lapses.cases,
        lapse_evidence=lapses.evidence,
        lapse_basis=lapses.basis,
        objections=objection_status(book.objections, members, period),
    )


def score_unit(unit: UnitBook, scheme: LoadedScheme, period: Period) -> Result:
    """Score a unit's branches for one period (SPEC 3.9): the indicators' scores, summed per
    category and month, then formed into the period by the same stages as a member's figures."""
    indicators = indicator_scores(unit, scheme.scheme, period)
    result = score(subject_book(unit, scheme.scheme, indicators), scheme, period)
    result.indicators = indicators
    result.approved_months = frozenset(unit.approved_months)
    return result
