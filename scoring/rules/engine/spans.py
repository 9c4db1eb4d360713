"""Quarters and half-years formed from their sub-periods as ``periods.<span>`` says (sum, mean or year
to date, with their events, the constant base and the veto), ranks and 季度之星."""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..rounding import round_scores
from ..scheme import Scheme
from .bands import period_bands, quota_pick, quota_size
from .items import sub_events
from .tables import NO, group_sum


def quarter_matrix(
    totals: pd.DataFrame, codes: npt.NDArray[np.intp], n_members: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Sum and count of monthly totals per member (rows) and quarter (4 columns): one pass."""
    key = codes * 4 + (totals["month"].to_numpy(dtype=np.int64) - 1) // 3
    sums = group_sum(key, totals["figure"].to_numpy(dtype=np.float64), n_members * 4).reshape(n_members, 4)
    counts = np.bincount(key, minlength=n_members * 4)[: n_members * 4].reshape(n_members, 4)
    return sums, counts


def membership_months(members: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Per member (rows) and quarter (4 columns): the months he was in the branch."""
    joined = members["joined_month"].to_numpy(dtype=np.int64)[:, None]
    left = members["left_month"].to_numpy(dtype=np.int64)[:, None]
    months = np.arange(1, 13)[None, :]
    inside = (months >= joined) & (months <= left) & ~members["exempt"].to_numpy(dtype=bool)[:, None]
    return cast(npt.NDArray[np.int64], inside.reshape(len(members), 4, 3).sum(axis=2))


def span_scores(
    sums: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    members: pd.DataFrame,
    scheme: Scheme,
    span: str,
    last_month: int,
    events: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None,
    vetoed_in: npt.NDArray[np.int64] | None = None,
) -> tuple[pd.DataFrame, npt.NDArray[np.intp]]:
    """Quarter (``span='quarter'``) or half-year figures from :func:`quarter_matrix`, for spans
    that have ended by ``last_month``, formed as ``periods.<span>`` says: the sum or mean of the
    span's sub-period figures, plus the events dated in it where ``events: true``; or the year to
    date (the year's formula over January to the span's end and the events dated by then, with
    the constant base that deductions draw from, SPEC 3.3 and 3.5). ``events`` are the bonuses and
    the deductions per member and quarter. A veto dated by the span's end blanks (no_score), caps
    or zeroes the figure. Also returns each row's member position."""
    n_members = len(members)
    rule = scheme.period(span)
    size = 1 if span == "quarter" else 2  # quarters per span
    bonus, deduction = events if events is not None else (np.zeros((n_members, 4)), np.zeros((n_members, 4)))
    if scheme.cadence == "none":  # no item scores: a member counts in the spans he was in the branch
        counts = membership_months(members)
    own = counts.reshape(n_members, -1, size).sum(axis=2)  # sub-periods (or months) in the span itself
    ytd = rule.combine == "year_to_date"
    own_b = bonus.reshape(n_members, -1, size).sum(axis=2)[:, : last_month // (3 * size)].ravel()
    own_d = deduction.reshape(n_members, -1, size).sum(axis=2)[:, : last_month // (3 * size)].ravel()
    if ytd:
        sums, counts = np.cumsum(sums, axis=1), np.cumsum(counts, axis=1)
        bonus, deduction = np.cumsum(bonus, axis=1), np.cumsum(deduction, axis=1)
    else:
        sums, counts = sums.reshape(n_members, -1, size).sum(axis=2), own
        bonus, deduction = (
            bonus.reshape(n_members, -1, size).sum(axis=2),
            deduction.reshape(n_members, -1, size).sum(axis=2),
        )
    if ytd:
        sums, counts = sums[:, size - 1 :: size], counts[:, size - 1 :: size]
        bonus, deduction = bonus[:, size - 1 :: size], deduction[:, size - 1 :: size]
    n_spans = last_month // (3 * size) if 3 * size >= scheme.sub_months else 0  # none shorter than the cadence
    s = sums[:, :n_spans].ravel()
    c = counts[:, :n_spans].ravel()
    b, d = bonus[:, :n_spans].ravel(), deduction[:, :n_spans].ravel()
    mean = np.divide(s, c, out=np.zeros(c.shape), where=c > 0)
    items = np.zeros(c.shape) if scheme.cadence == "none" else (s if rule.combine == "sum" else mean)
    # events enter here unless they are already in each sub-period's figure
    add_events = (ytd or rule.events or scheme.cadence == "none") and not sub_events(scheme)
    if ytd:
        items = items * scheme.year.weight
    events_part = np.zeros(c.shape)
    if add_events:
        kept_base = np.maximum(0.0, scheme.base + d) if scheme.base is not None and ytd else d
        events_part = kept_base + b
    score = items + events_part
    number = np.tile(np.arange(1, n_spans + 1), n_members)
    if vetoed_in is not None:
        score = veto_effect(score, np.repeat(vetoed_in, n_spans) <= number * 3 * size, scheme)
    keep = own[:, :n_spans].ravel() > 0  # a member who had left before the span has no figure for it
    out = pd.DataFrame(
        {
            "member_id": np.repeat(members["member_id"].to_numpy(), n_spans)[keep],
            span: number[keep],
            "months": c[keep],
            "score": score[keep],
        }
    )
    if add_events or sub_events(scheme):
        out["bonus"], out["deduction"] = b[keep], d[keep]
        if ytd:  # the span's own subtotals beside the running figures (seed 004 农村 登记表)
            out["span_bonus"], out["span_deduction"] = own_b[keep], own_d[keep]
        if scheme.base is not None and ytd:
            out["base_points"] = np.maximum(0.0, scheme.base + d[keep])
    out["score_rounded"] = round_scores(out["score"].to_numpy())
    return out, np.repeat(np.arange(n_members), n_spans)[keep]


def veto_effect(
    score: npt.NDArray[np.float64], vetoed: npt.NDArray[np.bool_], scheme: Scheme
) -> npt.NDArray[np.float64]:
    """A figure under the scheme's veto: blank (no_score), capped (cap), 0 (zero) or as it is."""
    effect = scheme.veto.effect
    if effect == "no_score":
        return np.where(vetoed, np.nan, score)
    if effect == "cap":
        return np.where(vetoed, np.minimum(score, float(scheme.veto.cap or 0)), score)
    if effect == "zero":
        return np.where(vetoed, 0.0, score)
    return score


def quarter_stars(
    quarters: pd.DataFrame, codes: npt.NDArray[np.intp], veto_month: npt.NDArray[np.int64], scheme: Scheme
) -> pd.DataFrame:
    """Rank per quarter and 季度之星 (SPEC 3.1): quota of the scored members, ties listed.
    A member vetoed by the quarter's end is not eligible."""
    q = quarters.copy()
    n = len(q)
    rank = np.full(n, np.nan)
    star = np.full(n, None, dtype=object)
    scored = np.zeros(n, dtype=np.int64)
    quota_col = np.zeros(n, dtype=np.int64)
    number = q["quarter"].to_numpy()
    rounded = q["score_rounded"].to_numpy(dtype=np.float64)
    for k in np.unique(number):
        sel = number == k
        eligible = sel & (veto_month[codes] > 3 * int(k))
        rank[eligible] = pd.Series(rounded[eligible]).rank(method="min", ascending=False).to_numpy()
        scored[sel] = int(sel.sum())
        if scheme.quarter_star is None:
            continue
        quota = (
            quota_size(scheme.quarter_star.share, int(sel.sum()), scheme.quarter_star.minimum)
            if int(sel.sum()) >= scheme.quarter_star.min_scored_members
            else 0
        )
        quota_col[sel] = quota
        star[sel] = NO
        star[eligible] = quota_pick(pd.Series(rounded[eligible]), quota).to_numpy()
    q["rank"] = pd.arrays.IntegerArray(np.nan_to_num(rank).astype(np.int64), np.isnan(rank))
    period_bands(q, "score_rounded", scheme, "quarter")  # the quarter's own bands (seed 003 季末亮分)
    q["quarter_star"] = star
    q["scored_members"] = scored
    q["quota"] = quota_col
    return q
