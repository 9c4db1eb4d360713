"""The scoring engine: pure, vectorised functions from input tables to result tables, one module
per stage, composed by :func:`score` as the scheme declares (``pipeline``). Each stage has its
formula counterpart of the same name in ``scoring.outputs.workbook`` (tests/test_stages.py).

items -> events -> spans -> year (with objections: the committee's stars) -> bands -> follow_up ->
published; ``cases`` carries the follow-up register across years and ``lapse`` finds the possible
自行脱党 cases (every period kind, across the turn of the year), from what earlier sealed runs hand
in (``prior``); ``result`` holds what a run publishes and ``tables`` the member-position helpers every stage shares.
"""

from .bands import band_lookup, quota_pick, quota_size, share_quota, tier_names, tiers_for
from .events import REASONS, month_events, resolve_adjustments, resolve_vetoes, veto_months
from .follow_up import follow_ups, tier_follow_ups
from .items import apply_amendments, monthly_totals, sub_events
from .lapse import find_lapses, lapse_follow_ups
from .objections import committee_stars, objection_status
from .pipeline import score
from .published import branch_table, member_table, month_table
from .result import Result
from .spans import membership_months, quarter_matrix, quarter_stars, span_scores, veto_effect
from .tables import NO, TIE, YES
from .year import annual_results, appraisal_averages, item_year

__all__ = [
    "NO",
    "REASONS",
    "TIE",
    "YES",
    "Result",
    "annual_results",
    "apply_amendments",
    "appraisal_averages",
    "band_lookup",
    "branch_table",
    "committee_stars",
    "find_lapses",
    "follow_ups",
    "item_year",
    "lapse_follow_ups",
    "member_table",
    "membership_months",
    "month_events",
    "month_table",
    "monthly_totals",
    "objection_status",
    "quarter_matrix",
    "quarter_stars",
    "quota_pick",
    "quota_size",
    "resolve_adjustments",
    "resolve_vetoes",
    "score",
    "share_quota",
    "span_scores",
    "sub_events",
    "tier_follow_ups",
    "tier_names",
    "tiers_for",
    "veto_effect",
    "veto_months",
]
