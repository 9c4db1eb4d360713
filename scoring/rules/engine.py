"""The scoring engine: pure functions from input tables to result tables.

monthly item scores (amendments applied, originals kept) -> monthly totals -> quarters and
half-years -> the year (item averages, appraisal averages, adjustments, vetoes, rounding, stars,
grades, ranks, tiers, quotas). No I/O here; :func:`score` is the one entry point.
Members are addressed by their position in the members table (``code``) so that aggregation is
a ``np.bincount`` rather than a hash group-by: the engine must handle a million members.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, SupportsInt, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..inputs.reading import InputBook
from .periods import Period, active_counts
from .rounding import round_scores
from .scheme import Band, LoadedScheme, Scheme, Tiers

YES, NO, TIE = "yes", "no", "tie"

REASONS: dict[str, str] = {
    "applied": "计入 (applied)",
    "exempt": "不列入积分的党员 (member is exempt)",
    "no_evidence": "无佐证材料, 不计分 (no evidence)",
    "after_period": "晚于本期间 (after the period)",
    "lower_bonus": "低于最高加分, 不能累计 (lower than the highest bonus)",
    "equal_bonus": "与最高加分相同, 只计一次 (equal to the highest bonus, counted once)",
    "lower_deduction": "小于最大扣分, 不能累计 (smaller than the largest deduction)",
    "equal_deduction": "与最大扣分相同, 只计一次 (equal to the largest deduction, counted once)",
    "cap_reached": "已达该项上限 (group cap reached)",
    "cap_partial": "部分计入, 已达该项上限 (partly applied, group cap reached)",
    "item_cap_reached": "已达所属项目的分值, 不再计入 (the item's points reached)",
    "item_cap_partial": "部分计入, 已达所属项目的分值 (partly applied, the item's points reached)",
}


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

    def cell(self, sheet: str, column: str, row: int) -> str:
        return self.book.cell(sheet, column, row) if self.book is not None else f"{sheet}!{column}{int(row)}"

    @property
    def items(self) -> list[str]:
        return self.scheme.scheme.item_codes

    def summary(self) -> pd.DataFrame:
        """The ``summary.csv`` table for this period (SPEC 6)."""
        return summary_table(self)


# -- helpers ----------------------------------------------------------------------------------


def quota_pick(scores: pd.Series, quota: int) -> pd.Series:
    """``yes`` above the quota line, ``tie`` for members tied across it, ``no`` otherwise.

    A tie across the quota line is never broken here: the committee decides (SPEC 3.1).
    """
    out = pd.Series(NO, index=scores.index, dtype=object)
    valid = scores.dropna()
    if quota <= 0 or valid.empty:
        return out
    if quota >= len(valid):
        out[valid.index] = YES
        return out
    threshold = valid.sort_values(ascending=False).iloc[quota - 1]
    above = valid > threshold
    equal = valid == threshold
    out[above[above].index] = YES
    out[equal[equal].index] = YES if int(above.sum()) + int(equal.sum()) <= quota else TIE
    return out


def quota_size(share: float, n: int, minimum: int = 0) -> int:
    """floor(share x n), at least ``minimum`` (never more than n)."""
    return min(n, max(minimum, share_quota(share, n)))


def share_quota(share: float, n: int) -> int:
    """floor(share x n), robust to binary fractions (0.05 x 60 is 3.0000000000000004)."""
    return math.floor(round(share * n, 9))


def band_lookup(
    bands: list[Band], rounded: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.float64], npt.NDArray[np.object_]]:
    """Grade, stars and tier for rounded scores; the last band catches everything below it."""
    mins = np.array([b.min for b in bands])
    idx = np.searchsorted(-mins, -rounded, side="left")  # first band whose min <= score
    idx = np.minimum(idx, len(mins) - 1)
    grades = np.array([b.grade for b in bands], dtype=object)[idx]
    stars = np.array([np.nan if b.stars is None else b.stars for b in bands], dtype=float)[idx]
    tiers = np.array([b.tier for b in bands], dtype=object)[idx]
    nan = np.isnan(rounded)
    grades[nan] = None
    stars[nan] = np.nan
    tiers[nan] = None
    return grades, stars, tiers


def _codes(member_ids: pd.Series, index: pd.Index) -> npt.NDArray[np.intp]:
    """Members' positions in the members table (``index`` is built once per scoring)."""
    return index.get_indexer(pd.Index(member_ids))


# -- the stages -------------------------------------------------------------------------------


def apply_amendments(
    scores: pd.DataFrame, codes: npt.NDArray[np.intp], amendments: pd.DataFrame, index: pd.Index
) -> pd.DataFrame:
    """Apply amendments to ``scores`` in place; return the amendments with the ``original`` score
    and the monthly row they changed. ``codes`` are the members' positions for ``scores`` rows."""
    amended = amendments.copy()
    amended["original"] = np.nan
    amended["target_row"] = pd.Series(pd.NA, index=amended.index, dtype="Int64")
    if amended.empty:
        return amended
    # (member, month) -> row position through a dense table; validation made the targets exist
    where = np.full((len(index), 13), -1, dtype=np.int64)
    where[codes, scores["month"].to_numpy(dtype=np.int64)] = np.arange(len(scores))
    amended_codes = _codes(amended["member_id"], index)
    at = where[amended_codes, amended["month"].to_numpy(dtype=np.int64)]
    if (at < 0).any() or (amended_codes < 0).any():
        raise ValueError("an amendment points at no monthly score (inputs were not validated)")
    amended["target_row"] = pd.array(scores["row"].to_numpy()[at], dtype="Int64")
    original = np.empty(len(amended))
    for item in amended["item"].unique():  # a handful of item columns, not one call per amendment
        sel = (amended["item"] == item).to_numpy()
        column = scores[item].to_numpy(dtype=np.float64, copy=True)
        original[sel] = column[at[sel]]
        column[at[sel]] = amended["new_score"].to_numpy(dtype=np.float64)[sel]
        scores[item] = column
    amended["original"] = original
    return amended


def monthly_totals(
    item_scores: pd.DataFrame,
    scheme: Scheme,
    adjustments: pd.DataFrame | None = None,
    codes: npt.NDArray[np.intp] | None = None,
    index: pd.Index | None = None,
) -> pd.DataFrame:
    """One row per member and sub-period (a month, or a quarter or the year dated by its last
    month): the item total, each item group's subtotal, and the ``figure`` the longer periods are
    formed from: the total, plus the applied events dated in the sub-period where the scheme's
    ``periods.<cadence>.events`` says so (seed 004 8:2: a quarter's daily score)."""
    total = np.zeros(len(item_scores))
    for code in scheme.item_codes:  # left to right, as the workbook's SUM reads them
        total = total + item_scores[code].to_numpy(dtype=np.float64)
    out = item_scores[["member_id", "month"]].copy(deep=False)  # shares the columns
    for g in scheme.item_groups:
        sub = np.zeros(len(item_scores))
        for item in scheme.items:
            if item.group == g.code:
                sub = sub + item_scores[item.code].to_numpy(dtype=np.float64)
        out[f"group_{g.code}"] = sub
    out["total"] = total
    if sub_events(scheme):
        ev = np.zeros(len(item_scores))
        if adjustments is not None and codes is not None and index is not None and len(item_scores):
            matrix = month_events(adjustments, index, len(index))  # member x month 1..12
            cum = np.concatenate([np.zeros((len(index), 1)), np.cumsum(matrix, axis=1)], axis=1)
            last = item_scores["month"].to_numpy(dtype=np.int64)
            first = last - scheme.sub_months + 1
            ev = cum[codes, last] - cum[codes, first - 1]
        out["events"] = ev
        out["figure"] = total + ev
    else:  # the same numbers: copy-on-write shares them with ``total`` (12M rows in a large unit)
        out["figure"] = out["total"]
    out["row"] = item_scores["row"]
    return out


def sub_events(scheme: Scheme) -> bool:
    """Whether the events enter each sub-period's figure (rather than the year's)."""
    return scheme.cadence in ("month", "quarter") and scheme.period(scheme.cadence).events


def month_events(adjustments: pd.DataFrame, index: pd.Index, n_members: int, sign: int = 0) -> npt.NDArray[np.float64]:
    """Applied adjustment points per member (rows) and month (12 columns), by the event's date;
    ``sign`` 1 or -1 keeps only the bonuses or only the deductions."""
    applied = adjustments[adjustments["status"] == "applied"]
    points = applied["applied_points"].to_numpy(dtype=np.float64)
    keep = points * sign > 0 if sign else np.ones(len(points), dtype=bool)
    if not keep.any():
        return np.zeros((n_members, 12))
    month = applied["date"].map(lambda d: d.month).to_numpy(dtype=np.int64)[keep] - 1
    key = _codes(applied["member_id"], index)[keep] * 12 + month
    return _group_sum(key, points[keep], n_members * 12).reshape(n_members, 12)


def _group_sum(codes: npt.NDArray[np.intp], values: npt.NDArray[np.float64], n: int) -> npt.NDArray[np.float64]:
    # bincount with weights sums them as floats; numpy's stubs declare the integer counts only
    # (with no codes at all, bincount returns integers)
    return np.bincount(codes, weights=values, minlength=n)[:n].astype(np.float64)


def quarter_matrix(
    totals: pd.DataFrame, codes: npt.NDArray[np.intp], n_members: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Sum and count of monthly totals per member (rows) and quarter (4 columns): one pass."""
    key = codes * 4 + (totals["month"].to_numpy(dtype=np.int64) - 1) // 3
    sums = _group_sum(key, totals["figure"].to_numpy(dtype=np.float64), n_members * 4).reshape(n_members, 4)
    counts = np.bincount(key, minlength=n_members * 4)[: n_members * 4].reshape(n_members, 4)
    return sums, counts


def veto_months(vetoes: pd.DataFrame, index: pd.Index) -> npt.NDArray[np.int64]:
    """Per member, the month of his earliest applying veto (99: none)."""
    out = np.full(len(index), 99, dtype=np.int64)
    applied = vetoes[vetoes["applies"]] if len(vetoes) else vetoes
    if len(applied):
        months = applied["date"].map(lambda d: d.month).to_numpy(dtype=np.int64)
        np.minimum.at(out, _codes(applied["member_id"], index), months)
    return out


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
    bands = scheme.bands_for("quarter")
    if bands is not None:  # the quarter's own bands (seed 003 季末亮分: the tier of the quarter)
        grades, _, tiers = band_lookup(bands, rounded)
        q["band_grade"], q["tier"] = grades, tiers
    q["quarter_star"] = star
    q["scored_members"] = scored
    q["quota"] = quota_col
    return q


def item_year(
    item_scores: pd.DataFrame,
    totals: pd.DataFrame,
    codes: npt.NDArray[np.intp],
    members: pd.DataFrame,
    appraisal: pd.DataFrame,
    scheme: Scheme,
) -> pd.DataFrame:
    """Per member: sub-periods scored and the year's item part as ``periods.year`` says: per item
    (the sum, the mean over the member's own sub-periods, the appraisal average and the weighted
    item score, seed 004 年终每项积分) or over the sub-periods' figures; the appraisal weighted into
    ``base`` or kept apart in ``appraisal`` to be added (seed 004 农村: 评议分)."""
    items = scheme.item_codes
    n = len(members)
    rule = scheme.year
    months = np.bincount(codes, minlength=n)[:n]
    if scheme.cadence == "none":  # no item scores: the months in the branch, and no item part
        months = membership_months(members).sum(axis=1)
    out: dict[str, npt.NDArray[Any]] = {"member_id": members["member_id"].to_numpy(), "months": months}
    has = months > 0
    w_m, w_a = rule.weight, scheme.appraisal.weight
    weighted = scheme.appraisal.combine == "weighted"
    app = appraisal if len(appraisal) and len(appraisal.columns) > 1 else None  # rows in members order

    def agg(total: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return total if rule.combine == "sum" else np.divide(total, months, out=np.full(n, np.nan), where=has)

    if rule.by == "per_item":
        base = np.zeros(n)
        for code in items:
            s = _group_sum(codes, item_scores[code].to_numpy(dtype=np.float64), n)
            out[f"{code}_sum"] = s
            out[f"{code}_mean"] = agg(s)
            score = out[f"{code}_mean"] * w_m
            if scheme.appraisal.mode == "per_item":
                a = app[f"{code}_average"].to_numpy() if app is not None else np.full(n, np.nan)
                out[f"{code}_appraisal"] = a
                score = score + a * w_a
            out[f"{code}_score"] = score
            base = base + score
        out["base"] = base
    else:
        s = _group_sum(codes, totals["figure"].to_numpy(dtype=np.float64), n)
        out["monthly_sum"] = s
        out["monthly_mean"] = agg(s) if scheme.cadence != "none" else np.zeros(n)
        out["base"] = out["monthly_mean"] * w_m
        if scheme.appraisal.mode == "single":
            a = app["score_average"].to_numpy() if app is not None else np.full(n, np.nan)
            out["appraisal"] = a
            if weighted:
                out["base"] = out["base"] + a * w_a
    result = pd.DataFrame(out)
    result.loc[~has, "base"] = np.nan
    return result


def appraisal_averages(ballots: pd.DataFrame, members: pd.DataFrame, index: pd.Index, scheme: Scheme) -> pd.DataFrame:
    """Per member and appraisal column: number of ratings and their average. No ballot survives."""
    cols = (
        scheme.item_codes
        if scheme.appraisal.mode == "per_item"
        else ["score"]
        if scheme.appraisal.mode == "single"
        else []
    )
    n = len(members)
    out: dict[str, npt.NDArray[Any]] = {"member_id": members["member_id"].to_numpy()}
    if not cols:
        return pd.DataFrame(out)
    codes = _codes(ballots["member_id"], index)
    out["ballots"] = np.bincount(codes, minlength=n)[:n]
    for col in cols:
        v = ballots[col].to_numpy(dtype=np.float64) if col in ballots else np.full(len(ballots), np.nan)
        rated = ~np.isnan(v)
        if rated.all():  # the usual case: no blank rating, no masked copies
            cnt, s = out["ballots"], _group_sum(codes, v, n)
        else:
            cnt = np.bincount(codes[rated], minlength=n)[:n]
            s = _group_sum(codes[rated], v[rated], n)
        out[f"{col}_raters"] = cnt
        out[f"{col}_sum"] = s
        out[f"{col}_average"] = np.divide(s, cnt, out=np.full(n, np.nan), where=cnt > 0)
    return pd.DataFrame(out)


def resolve_vetoes(vetoes: pd.DataFrame, members: pd.DataFrame, scheme: Scheme, period: Period) -> pd.DataFrame:
    """Which recorded vetoes apply; by show of hands they need a majority of the branch's members."""
    v = vetoes.copy()
    v["condition_code"] = v["condition"].map(
        lambda c: scheme.conditions_by_key[c].code if c in scheme.conditions_by_key else c
    )
    v["condition_name"] = v["condition"].map(
        lambda c: scheme.conditions_by_key[c].name if c in scheme.conditions_by_key else c
    )
    month = v["date"].map(lambda d: d.month).to_numpy(dtype=int) if len(v) else np.zeros(0, int)
    v["members_on_date"] = active_counts(members["joined_month"].to_numpy(), members["left_month"].to_numpy())[month]
    in_period = month <= period.last_month
    if scheme.veto.requires_majority:
        majority = v["votes_for"].fillna(0).to_numpy() > v["members_on_date"].to_numpy() / 2
    else:
        majority = np.ones(len(v), dtype=bool)
    v["applies"] = in_period & majority
    reason = np.where(
        ~in_period,
        REASONS["after_period"],
        np.where(
            majority,
            "否决生效 (veto applies)",
            "赞成票未过全体党员半数, 否决不生效 (no majority of the branch's members)",
        ),
    )
    v["reason"] = reason
    return v


def resolve_adjustments(
    adjustments: pd.DataFrame, members: pd.DataFrame, scheme: Scheme, period: Period
) -> pd.DataFrame:
    """Adjustments applied and not applied, each with its reason (SPEC 3.1 to 3.4)."""
    a = adjustments.copy()
    rules = scheme.rules_by_code
    a["rule_name"] = a["rule_code"].map(lambda c: rules[c].name)
    a["kind"] = a["rule_code"].map(lambda c: rules[c].kind)
    a["group"] = a["rule_code"].map(lambda c: rules[c].group)
    a["item"] = a["rule_code"].map(lambda c: rules[c].item)
    a["points_used"] = np.where(
        a["points"].notna(), a["points"], a["rule_code"].map(lambda c: rules[c].signed_points)
    ).astype(float)
    a["applied_points"] = 0.0
    a["status"] = "not_applied"
    a["reason"] = ""
    if a.empty:
        return a
    exempt = set(members.loc[members["exempt"], "member_id"])
    month = a["date"].map(lambda d: d.month)
    evidence_missing = a["evidence"].isna() & (
        ((a["kind"] == "bonus") & scheme.adjustments.bonus_evidence_required)
        | ((a["kind"] == "deduction") & scheme.adjustments.deduction_evidence_required)
    )
    blocked = pd.Series("", index=a.index, dtype=object)
    blocked[evidence_missing] = REASONS["no_evidence"]
    blocked[month > period.last_month] = REASONS["after_period"]
    blocked[a["member_id"].isin(exempt)] = REASONS["exempt"]
    a["reason"] = blocked
    live = a[blocked == ""].sort_values(["date", "row"], kind="stable")
    combine = scheme.adjustments.combine
    if combine == "sum":
        a.loc[live.index, "applied_points"] = live["points_used"]
        a.loc[live.index, "reason"] = REASONS["applied"]
    elif combine == "highest_only":
        for kind, pick, lower, equal in (
            ("bonus", "idxmax", "lower_bonus", "equal_bonus"),
            ("deduction", "idxmin", "lower_deduction", "equal_deduction"),
        ):
            part = live[live["kind"] == kind]
            if part.empty:
                continue
            best = part.groupby("member_id", sort=False)["points_used"].agg(pick)
            a.loc[best.to_numpy(), "applied_points"] = a.loc[best.to_numpy(), "points_used"]
            a.loc[best.to_numpy(), "reason"] = REASONS["applied"]
            rest = part.drop(best.to_numpy(), axis="index")
            best_points = a.loc[best.to_numpy()].set_index("member_id")["points_used"]
            same = rest["points_used"].to_numpy() == best_points.reindex(rest["member_id"]).to_numpy()
            a.loc[rest.index, "reason"] = np.where(same, REASONS[equal], REASONS[lower])
    else:  # capped per group or per item: bonuses and deductions each capped per member
        per_item = combine == "capped_per_item"
        if per_item:  # cap = the points of the item the rule names (seed 004 富县 注1)
            caps = {i.code: i.max for i in scheme.items}
            a["cap_key"] = a["rule_code"].map(lambda c: rules[c].item)
        else:
            caps = {g.code: float(g.cap or 0) for g in scheme.adjustments.groups}
            a["cap_key"] = a["group"]
        live = a[blocked == ""].sort_values(["date", "row"], kind="stable")
        for _, part in live.groupby(["member_id", "cap_key", "kind"], sort=False):
            cap = caps[part["cap_key"].iloc[0]]
            mag = part["points_used"].abs().to_numpy()
            cum = np.cumsum(mag)
            used = np.minimum(cum, cap) - np.minimum(cum - mag, cap)
            sign = 1.0 if part["kind"].iloc[0] == "bonus" else -1.0
            a.loc[part.index, "applied_points"] = sign * used
            partial, reached = ("item_cap_partial", "item_cap_reached") if per_item else ("cap_partial", "cap_reached")
            a.loc[part.index, "reason"] = np.where(
                used == mag, REASONS["applied"], np.where(used > 0, REASONS[partial], REASONS[reached])
            )
    a["status"] = np.where(a["applied_points"] != 0, "applied", "not_applied")
    return a


def annual_results(
    members: pd.DataFrame,
    index: pd.Index,
    years: pd.DataFrame,
    adjustments: pd.DataFrame,
    vetoes: pd.DataFrame,
    scheme: Scheme,
) -> pd.DataFrame:
    """The year's figures per member: base, adjustments, total (rounded), stars, grade, rank..."""
    n = len(members)
    mids = members["member_id"]
    applied = adjustments[adjustments["status"] == "applied"]
    codes = _codes(applied["member_id"], index)
    pts = applied["applied_points"].to_numpy(dtype=np.float64)
    bonus = _group_sum(codes[pts > 0], pts[pts > 0], n)
    deduction = _group_sum(codes[pts < 0], pts[pts < 0], n)
    if not scheme.year.events:  # the events are in the sub-periods' figures already
        bonus, deduction = np.full(n, np.nan), np.full(n, np.nan)
    exempt = members["exempt"].to_numpy(dtype=bool)
    vetoed_rows = vetoes[vetoes["applies"]] if len(vetoes) else vetoes
    veto = np.zeros(n, dtype=bool)
    veto[_codes(vetoed_rows["member_id"], index)] = True
    base = years["base"].to_numpy(dtype=np.float64, copy=True)
    if scheme.cadence == "none":
        base = np.zeros(n)  # no item part: the constant base, the events and the appraisal make the year
    added = (
        years["appraisal"].to_numpy(dtype=np.float64, copy=True)
        if scheme.appraisal.combine == "added" and "appraisal" in years
        else np.zeros(n)
    )
    if scheme.base is not None:  # deductions draw from the constant base, never below 0 (SPEC 3.5)
        base_points = np.maximum(0.0, scheme.base + np.nan_to_num(deduction))
        total_raw = base + base_points + np.nan_to_num(bonus) + added
    else:
        base_points = np.full(n, np.nan)
        total_raw = base + np.nan_to_num(bonus) + np.nan_to_num(deduction) + added
    total_raw = veto_effect(total_raw, veto, scheme)
    total_raw[exempt] = np.nan
    total = round_scores(total_raw)
    grade, stars, band_tier = band_lookup(scheme.bands, total)
    if scheme.no_score_veto:  # "不体现积分": no figure at all, only the months, grade and veto (SPEC 3.2)
        for figure in (total, total_raw, base, bonus, deduction, base_points, added):
            figure[veto] = np.nan
    exempt_stars = members["exempt_stars"].to_numpy(dtype=np.float64)
    if scheme.has_stars:
        stars[exempt] = exempt_stars[exempt]
        if scheme.unscored_grade_from_stars:
            grade[exempt] = [scheme.grade_for_stars(int(s)) if not np.isnan(s) else None for s in exempt_stars[exempt]]
    else:
        grade[exempt] = None
    # The veto comes last so that it wins over everything, also over an exempt member's
    # hand-entered stars: SPEC 3.1 "automatically 不合格 whatever the score". Such a member stays
    # marked exempt (no points) and, like any vetoed member, gets no stars.
    if scheme.veto.active:
        grade[veto] = scheme.veto.grade
        stars[veto] = np.nan
    out = pd.DataFrame(
        {
            "member_id": mids.to_numpy(),
            "name": members["name"].to_numpy(),
            "months": years["months"].to_numpy(),
            "base": np.where(exempt, np.nan, base),
            "base_rounded": round_scores(np.where(exempt, np.nan, base)),
            "base_points": np.where(exempt, np.nan, base_points),
            "appraisal_added": np.where(exempt, np.nan, added),
            "bonus": np.where(exempt, np.nan, bonus),
            "deduction": np.where(exempt, np.nan, deduction),
            "total_raw": total_raw,
            "total": total,
            # numpy's stubs leave None out of where()'s branches; here it makes the <NA> of "Int64"
            "stars": pd.array(np.where(np.isnan(stars), None, stars), dtype="Int64")  # type: ignore[call-overload]
            if scheme.has_stars
            else pd.array([pd.NA] * n, dtype="Int64"),
            "grade": grade,
            "veto": np.where(veto, YES, NO),
            "exempt": np.where(exempt, YES, NO),
        }
    )
    ranked = ~veto & ~exempt & ~np.isnan(total)
    out["rank"] = pd.Series(total, index=out.index).where(ranked).rank(method="min", ascending=False).astype("Int64")
    if scheme.band_tiers:  # the bands name the tier (seed 003 亮分制)
        band_tier[exempt] = None
        out["tier"] = band_tier
    else:
        out["tier"] = tiers_for(out["rank"], veto, scheme)
    out["annual_star"] = None
    if scheme.annual_star is not None:
        top = ranked & (out["stars"].fillna(-1).to_numpy() == scheme.annual_star.of_stars)
        quota = quota_size(scheme.annual_star.share, int(top.sum()), scheme.annual_star.minimum)
        out["annual_star"] = NO
        picks = quota_pick(out.loc[top, "total"], quota)
        out.loc[picks.index, "annual_star"] = picks
        out.loc[exempt, "annual_star"] = None
    return out


def tiers_for(rank: pd.Series, veto: npt.NDArray[np.bool_], scheme: Scheme) -> pd.Series:
    """The branch's rank-share tiers; none here when the scheme ranks them across the unit (the
    roll-up does, with :func:`tier_names`)."""
    if scheme.tiers is None or scheme.tiers.scope != "branch":
        return pd.Series(None, index=rank.index, dtype=object)
    return tier_names(rank, veto, scheme.tiers)


def tier_names(rank: pd.Series, veto: npt.NDArray[np.bool_], tiers: Tiers) -> pd.Series:
    """Rank-share tiers: a member of rank r among n ranked is in the first tier whose cumulative
    share covers position r - 1; tied members share a rank and so a tier."""
    out = pd.Series(None, index=rank.index, dtype=object)
    n = int(rank.notna().sum())
    bounds = np.round(np.cumsum([t.share for t in tiers.tiers]) * n, 9)
    names = np.array([t.name for t in tiers.tiers], dtype=object)
    ranked = rank.notna().to_numpy()
    pos = rank.to_numpy(dtype=np.float64, na_value=np.nan)[ranked] - 1
    k = np.minimum(np.searchsorted(bounds, pos, side="right"), len(names) - 1)  # first bound > pos
    out[ranked] = names[k]
    if tiers.veto_tier is not None:
        out[veto] = tiers.veto_tier
    return out


def follow_ups(
    annual: pd.DataFrame,
    members: pd.DataFrame,
    dues: pd.DataFrame,
    attendance: pd.DataFrame,
    scheme: Scheme,
    last_month: int,
) -> pd.DataFrame:
    """组织处置 list: actions by grade, and possible 自行脱党 cases (SPEC 3.1)."""
    columns = ["member_id", "name", "reason", "action"]
    actions = scheme.follow_up.actions
    # exempt members are rated by hand and get no notice, unless a veto made them 不合格
    graded = annual[annual["grade"].isin(list(actions)) & ((annual["exempt"] == NO) | (annual["veto"] == YES))]
    parts = [
        pd.DataFrame(
            {
                "member_id": graded["member_id"],
                "name": graded["name"],
                "reason": "评定为" + graded["grade"].astype(str),
                "action": graded["grade"].map(actions),
            }
        ),
        tier_follow_ups(annual, scheme),
    ]
    lapse = scheme.follow_up.lapse_months
    lapse_action = "可能视为自行脱党, 由支部讨论 (possible 自行脱党: for the branch to examine)"
    info = members.set_index("member_id")
    rows: list[dict[str, object]] = []
    if len(dues):
        unpaid = dues.loc[~dues["paid"].astype(bool) & (dues["month"] <= last_month)]
        for mid, grp in unpaid.groupby("member_id"):
            run = _longest_run(sorted(int(m) for m in grp["month"]))
            if run >= lapse:
                rows.append(
                    {
                        "member_id": mid,
                        "name": info.at[mid, "name"],
                        "reason": f"连续 {run} 个月未交纳党费",
                        "action": lapse_action,
                    }
                )
    if len(attendance):
        att = attendance.assign(month=attendance["date"].map(lambda d: d.month))
        att = att[att["month"] <= last_month]
        held = set(att["month"])
        present = att[att["status"].isin(["出席", "请假"])].groupby("member_id")["month"].agg(set)
        for mid in att["member_id"].unique():  # members with no record at all are not listed
            if bool(info.at[mid, "exempt"]):
                continue
            # month numbers; pandas-stubs type .at as any scalar
            joined = cast(SupportsInt, info.at[mid, "joined_month"])
            left = cast(SupportsInt, info.at[mid, "left_month"])
            first, last = int(joined), min(int(left), last_month)
            missed = [m for m in sorted(held) if first <= m <= last and m not in present.get(mid, set())]
            run = _longest_run(missed, held)
            if run >= lapse:
                rows.append(
                    {
                        "member_id": mid,
                        "name": info.at[mid, "name"],
                        "reason": f"连续 {run} 个月无故不参加组织生活",
                        "action": lapse_action,
                    }
                )
    parts.append(pd.DataFrame(rows, columns=columns))
    return (
        pd.concat([p for p in parts if len(p)], ignore_index=True)
        if any(len(p) for p in parts)
        else pd.DataFrame(columns=columns)
    )


def tier_follow_ups(figures: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """奖罚 by tier (seed 003: 标杆型 listed for commendation, 警示型 for a reminder talk), for a
    year or a quarter: ``figures`` holds member_id, name and tier."""
    actions = scheme.follow_up.tier_actions
    if not actions or "tier" not in figures:
        return pd.DataFrame(columns=["member_id", "name", "reason", "action"])
    hit = figures[figures["tier"].isin(list(actions))]
    return pd.DataFrame(
        {
            "member_id": hit["member_id"],
            "name": hit["name"],
            "reason": "档次为" + hit["tier"].astype(str),
            "action": hit["tier"].map(actions),
        }
    )


def _longest_run(months: list[int], held: set[int] | None = None) -> int:
    """Longest run of consecutive months; with ``held``, months without any activity are skipped
    over only if no activity was held (they neither break nor extend the run)."""
    best = run = 0
    prev = None
    for m in months:
        gap_ok = prev is not None and (
            m == prev + 1 or (held is not None and all(x not in held for x in range(prev + 1, m)))
        )
        run = run + 1 if gap_ok else 1
        best = max(best, run)
        prev = m
    return best


# -- the entry point --------------------------------------------------------------------------


def score(book: InputBook, scheme: LoadedScheme, period: Period) -> Result:
    """Score one branch for one period. Pure: reads the tables, returns new ones."""
    s = scheme.scheme
    items = s.item_codes
    members = book.members.reset_index(drop=True)
    index = pd.Index(members["member_id"])  # hashed once, used for every lookup below
    exempt = members["exempt"].to_numpy(dtype=bool)
    monthly = book.monthly
    all_codes = _codes(monthly["member_id"], index)
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
    bonus_q = month_events(adjustments, index, n, 1).reshape(n, 4, 3).sum(axis=2)
    deduction_q = month_events(adjustments, index, n, -1).reshape(n, 4, 3).sum(axis=2)
    events = (bonus_q, deduction_q)
    vetoed_in = veto_months(vetoes, index)
    quarters, quarter_codes = span_scores(q_sums, q_counts, members, s, "quarter", period.last_month, events, vetoed_in)
    quarters = quarter_stars(quarters, quarter_codes, vetoed_in, s)
    halves, _ = span_scores(q_sums, q_counts, members, s, "half", period.last_month, events, vetoed_in)
    if period.kind == "year":
        appraisal = appraisal_averages(book.appraisal, members, index, s)
        years = item_year(item_scores, totals, codes, members, appraisal, s)
        annual = annual_results(members, index, years, adjustments, vetoes, s)
        if s.no_score_veto:  # 不体现积分: the vetoed members' item figures are blank too (SPEC 3.2)
            figures = [c for c in years.columns if c not in ("member_id", "months")]
            years.loc[(annual["veto"] == YES).to_numpy(), figures] = np.nan
        follow = follow_ups(annual, members, book.dues, book.attendance, s, period.last_month)
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
    )


def summary_table(result: Result) -> pd.DataFrame:
    """One row per member for ``summary.csv`` (SPEC 6)."""
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
        extra = [c for c in ("span_bonus", "span_deduction", "bonus", "deduction", "base_points", "tier") if c in q]
        q = q[["member_id", "months", "score_rounded", "rank", "quarter_star", *extra]].rename(
            columns={"score_rounded": "quarter_score", "rank": "quarter_rank"}
        )
        out = base.merge(q, on="member_id", how="left")
        return _period_flags(out, result)
    half = 1 if p.first_month == 1 else 2
    h = result.halves[result.halves["half"] == half][["member_id", "months", "score_rounded"]].rename(
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
    return _period_flags(out, result)
