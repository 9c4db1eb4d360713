"""异议 and 党支部定星 (SPEC 4, 8): the stars the branch committee decided, published over the stars
the score gives (which stay beside them), and each objection's state at the run.

Rules fixed here (the 填表说明 and the workbook's notes say the same):

* A year run publishes, for every member with a row in ``star_decisions``, the committee's stars
  ("党员得星由党支部...确定", seed 004); every decision in the workbook counts for the year's stars
  (they are made after the year, up to the next year's March). The stars the bands give stay
  beside as ``computed_stars``, the committee's reason as ``star_reason``.
* The grade stays the score's: every built-in scheme with stars bands the grade from the total
  beside the stars, not from the stars (an exempt member's grade follows his hand-rated stars, and a
  decision for him must equal those, see ``reading._check_star_decisions``).
* A veto wins over the committee's stars as over everything else (SPEC 3.1 "whatever the score"):
  the member gets no stars; ``star_reason`` says that the decision was not applied.
* 年度之星 is chosen among the members whose published stars are the scheme's ``of_stars``.
* An objection is pending (待答复) at a run when it has no outcome, or was answered after the day
  the run sees: a shorter period's last day, or for a year the end of the next year's first months
  (``reading.grace_end``), when the year's 公示 and its answers are done. Objections raised after
  that day are not part of the run.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ...inputs.reading import grace_end
from ..periods import Period
from ..scheme import Scheme

PENDING = "待答复"
STATUS: dict[str, str] = {"维持": "维持", "更正": "已更正"}  # outcome -> status; no outcome: PENDING
VETO_OVER_DECISION = "一票否决, 不评星级; 党支部定星未采用 (vetoed: the committee's stars do not apply)"
OBJECTION_COLUMNS: list[str] = [
    "member_id",
    "name",
    "raised_on",
    "subject",
    "content",
    "handled_by",
    "finding",
    "answered_on",
    "outcome",
    "amendment",
    "status",
    "row",
]


def seen_on(period: Period) -> dt.date:
    """The last day a run takes objections from: the period's last day; a year's run, the end of
    the next year's first months, when its appraisal, 公示 and answers are done."""
    if period.kind == "year":
        return grace_end(period.year)
    month = period.last_month
    first_after = dt.date(period.year + (month == 12), month % 12 + 1, 1)
    return first_after - dt.timedelta(days=1)


def committee_stars(annual: pd.DataFrame, decisions: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """``annual`` (one row per member, ``stars`` from the bands or hand-rated, ``veto``) with the
    committee's stars published in ``stars``, the stars before them in ``computed_stars``, the
    reason in ``star_reason`` and the decision's Excel row in ``star_row`` (<NA>: no decision)."""
    out = annual.copy()
    out["computed_stars"] = out["stars"].astype("Int64")
    n = len(out)
    reason = np.full(n, None, dtype=object)
    star_row = pd.array([pd.NA] * n, dtype="Int64")
    if scheme.has_stars and len(decisions):
        d = decisions.dropna(subset=["member_id"]).drop_duplicates("member_id").set_index("member_id")
        at = pd.Index(out["member_id"]).get_indexer(d.index)
        hit = at >= 0
        d, at = d[hit], at[hit]
        vetoed = out["veto"].to_numpy()[at] == "yes"
        stars = out["stars"].astype("Int64").array.copy()
        stars[at[~vetoed]] = d["stars"].to_numpy()[~vetoed].astype(np.int64)
        out["stars"] = stars
        reason[at] = np.where(vetoed, VETO_OVER_DECISION, d["reason"].astype(str).to_numpy())
        star_row[at] = d["row"].to_numpy(dtype=np.int64)
    out["star_reason"] = reason
    out["star_row"] = star_row
    return out


def objection_status(objections: pd.DataFrame, members: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The objections raised by the day the run sees (:func:`seen_on`), each with its ``status``:
    待答复 without an outcome or when answered later than that day, else 维持 / 已更正."""
    day = seen_on(period)
    seen = np.array([d is not None and not pd.isna(d) and d <= day for d in objections["raised_on"]], dtype=bool)
    o = objections.loc[seen].copy()
    answered = np.array(
        [o_ is not None and not pd.isna(o_) and a is not None and not pd.isna(a) and a <= day for o_, a in
         zip(o["outcome"], o["answered_on"], strict=True)],
        dtype=bool,
    )  # fmt: skip
    o["status"] = np.where(answered, o["outcome"].map(STATUS).fillna(PENDING), PENDING)
    names = dict(zip(members["member_id"], members["name"], strict=True))
    o["name"] = o["member_id"].map(names)
    o["amendment"] = o["amendment"].astype("Int64") if len(o) else pd.array([], dtype="Int64")
    return o.reindex(columns=OBJECTION_COLUMNS).reset_index(drop=True)
