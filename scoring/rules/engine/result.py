"""What a run publishes: every result table of one branch and period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from ...inputs.reading import InputBook
from ..periods import Period
from ..scheme import LoadedScheme
from .objections import OBJECTION_COLUMNS
from .prior import CASE_COLUMNS, LAPSE_COLUMNS, Prior, empty


@dataclass
class Result:
    """Every table a run publishes; all keyed by ``member_id`` and in members-table order."""

    scheme: LoadedScheme
    period: Period
    branch_id: str
    branch_name: str
    members: pd.DataFrame
    item_scores: pd.DataFrame  # member_id, month, one column per item (amended), row
    amendments: pd.DataFrame  # amendments with the original score beside the new one
    self_scores: pd.DataFrame
    monthly_totals: pd.DataFrame  # member_id, month, total, row
    quarters: pd.DataFrame  # member_id, quarter, months, score, score_rounded, rank, quarter_star
    halves: pd.DataFrame  # member_id, half, months, score, score_rounded
    item_year: pd.DataFrame  # per member: months and, per item, sum / mean / appraisal / score
    appraisal: pd.DataFrame  # per member and appraisal column: number of ratings and average only
    adjustments: pd.DataFrame  # input rows + points, applied_points, status, reason
    vetoes: pd.DataFrame  # input rows + members_on_date, applies, reason
    annual: pd.DataFrame  # the year's figures per member (empty unless the period is a year)
    follow_up: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    book: InputBook | None = None  # the inputs, for cell references in traces
    # subject branch (SPEC 3.9): each indicator's score per branch and month, and the months the
    # 党委 approved (a month's ranking is a draft until then)
    indicators: pd.DataFrame | None = None
    approved_months: frozenset[int] = frozenset()
    # the record across periods (SPEC 8): the follow-up register after this run (prior.CASE_COLUMNS),
    # possible 自行脱党 cases (prior.LAPSE_COLUMNS), objections, and what earlier runs handed in
    cases: pd.DataFrame = field(default_factory=lambda: empty(CASE_COLUMNS))
    lapses: pd.DataFrame = field(default_factory=lambda: empty(LAPSE_COLUMNS))
    objections: pd.DataFrame = field(default_factory=lambda: empty(OBJECTION_COLUMNS))  # with their status
    prior: Prior = field(default_factory=Prior)
    # the first day of this run's 公示 (a year run's cases open on its last day: SPEC 8)
    publicity_start: dt.date | None = None
    # the months behind each 自行脱党 case (lapse.EVIDENCE_COLUMNS: what was missed, and the input
    # cells) and what the check was based on, in Chinese (the workbook's 脱党核查, the notebook)
    lapse_evidence: pd.DataFrame = field(default_factory=pd.DataFrame)
    lapse_basis: list[str] = field(default_factory=list)
    # figures() is asked for by the workbook, the 公示, the cards, the notebook and summary.csv:
    # formed once (the tables above are not changed after scoring), each caller gets a copy
    _figures: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    def cell(self, sheet: str, column: str, row: int) -> str:
        return self.book.cell(sheet, column, row) if self.book is not None else f"{sheet}!{column}{int(row)}"

    @property
    def items(self) -> list[str]:
        return self.scheme.scheme.item_codes

    def figures(self) -> pd.DataFrame:
        """Every published figure per subject, keyed by ``member_id`` (a branch's id where the
        subject is a branch): what 结果 and the 公示 are written from; a copy the caller may change."""
        from .published import member_table  # the published tables are formed from a Result

        if self._figures is None:
            self._figures = member_table(self)
        return self._figures.copy()

    def summary(self) -> pd.DataFrame:
        """The ``summary.csv`` table for this period (SPEC 6; SPEC 3.9 for a unit's branches)."""
        from .published import branch_table

        figures = self.figures()
        return branch_table(figures, self) if self.scheme.scheme.subject == "branch" else figures
