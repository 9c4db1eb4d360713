"""Quarters and half-years formed from their sub-periods as ``periods.<span>`` says (sum, mean or year
to date, with their events, the constant base and the veto), ranks and 季度之星."""

from __future__ import annotations

from typing import Any, cast

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
    ytd = rule.combine == "year_to_date"
    n_spans = last_month // (3 * size) if 3 * size >= scheme.sub_months else 0  # none shorter than the cadence

    def own(a: npt.NDArray[Any]) -> npt.NDArray[Any]:  # per span, from per quarter
        return a if size == 1 else a[:, 0::2] + a[:, 1::2]

    def running(a: npt.NDArray[Any]) -> npt.NDArray[Any]:  # January to each span's end
        return np.cumsum(a, axis=1)[:, size - 1 :: size]

    if scheme.cadence == "none":  # no item scores: a member counts in the spans he was in the branch
        counts = membership_months(members)
    own_counts = own(counts)  # sub-periods (or months) in the span itself
    s = (running(sums) if ytd else own(sums))[:, :n_spans].ravel()
    c = (running(counts) if ytd else own_counts)[:, :n_spans].ravel()
    if scheme.cadence == "none":
        score = np.zeros(c.shape)
    elif rule.combine == "sum":
        score = s.copy()
    else:
        score = np.divide(s, c, out=np.zeros(c.shape), where=c > 0)
    if ytd:  # the year's formula: its item part at the year's weight
        score *= scheme.year.weight
    # events enter here unless they are already in each sub-period's figure; the arrays for them
    # are made only when a span shows or adds them (a 1M-member unit: 32 MB each)
    add_events = (ytd or rule.events or scheme.cadence == "none") and not sub_events(scheme)
    shown = add_events or sub_events(scheme)
    if shown:
        bonus, deduction = events if events is not None else (np.zeros((n_members, 4)), np.zeros((n_members, 4)))
        b = (running(bonus) if ytd else own(bonus))[:, :n_spans].ravel()
        d = (running(deduction) if ytd else own(deduction))[:, :n_spans].ravel()
        if add_events:
            score += (np.maximum(0.0, scheme.base + d) if scheme.base is not None and ytd else d) + b
    number = np.tile(np.arange(1, n_spans + 1), n_members)
    if vetoed_in is not None:
        score = veto_effect(score, np.repeat(vetoed_in, n_spans) <= number * 3 * size, scheme)
    keep = own_counts[:, :n_spans].ravel() > 0  # a member who had left before the span has no figure for it
    out = pd.DataFrame(
        {
            "member_id": np.repeat(members["member_id"].to_numpy(), n_spans)[keep],
            span: number[keep],
            "months": c[keep],
            "score": score[keep],
        }
    )
    if shown:
        out["bonus"], out["deduction"] = b[keep], d[keep]
        if ytd:  # the span's own subtotals beside the running figures (seed 004 农村 登记表)
            out["span_bonus"] = own(bonus)[:, :n_spans].ravel()[keep]
            out["span_deduction"] = own(deduction)[:, :n_spans].ravel()[keep]
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
