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
from .scheme import LoadedScheme, Scheme

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


def share_quota(share: float, n: int) -> int:
    """floor(share x n), robust to binary fractions (0.05 x 60 is 3.0000000000000004)."""
    return math.floor(round(share * n, 9))


def band_lookup(
    scheme: Scheme, rounded: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.float64]]:
    """Grade and stars for rounded scores; the last band catches everything below it."""
    mins = np.array([b.min for b in scheme.bands])
    idx = np.searchsorted(-mins, -rounded, side="left")  # first band whose min <= score
    idx = np.minimum(idx, len(mins) - 1)
    grades = np.array([b.grade for b in scheme.bands], dtype=object)[idx]
    stars = np.array([np.nan if b.stars is None else b.stars for b in scheme.bands], dtype=float)[idx]
    nan = np.isnan(rounded)
    grades[nan] = None
    stars[nan] = np.nan
    return grades, stars


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


def monthly_totals(item_scores: pd.DataFrame, items: list[str]) -> pd.DataFrame:
    """Monthly total per member and month: the sum of the item scores."""
    total = np.zeros(len(item_scores))
    for code in items:  # left to right, as the workbook's SUM reads them
        total = total + item_scores[code].to_numpy(dtype=np.float64)
    out = item_scores[["member_id", "month"]].copy(deep=False)  # shares the columns
    out["total"] = total
    out["row"] = item_scores["row"]
    return out


def _group_sum(codes: npt.NDArray[np.intp], values: npt.NDArray[np.float64], n: int) -> npt.NDArray[np.float64]:
    # bincount with weights sums them as floats; numpy's stubs declare the integer counts only
    # (with no codes at all, bincount returns integers)
    return np.bincount(codes, weights=values, minlength=n)[:n].astype(np.float64)


def quarter_matrix(
    totals: pd.DataFrame, codes: npt.NDArray[np.intp], n_members: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Sum and count of monthly totals per member (rows) and quarter (4 columns): one pass."""
    key = codes * 4 + (totals["month"].to_numpy(dtype=np.int64) - 1) // 3
    sums = _group_sum(key, totals["total"].to_numpy(dtype=np.float64), n_members * 4).reshape(n_members, 4)
    counts = np.bincount(key, minlength=n_members * 4)[: n_members * 4].reshape(n_members, 4)
    return sums, counts


def quarter_events(adjustments: pd.DataFrame, index: pd.Index, n_members: int) -> npt.NDArray[np.float64]:
    """Applied adjustment points per member (rows) and quarter (4 columns), by the event's date."""
    applied = adjustments[adjustments["status"] == "applied"]
    if applied.empty:
        return np.zeros((n_members, 4))
    quarter = (applied["date"].map(lambda d: d.month).to_numpy(dtype=np.int64) - 1) // 3
    key = _codes(applied["member_id"], index) * 4 + quarter
    points = applied["applied_points"].to_numpy(dtype=np.float64)
    return _group_sum(key, points, n_members * 4).reshape(n_members, 4)


def veto_months(vetoes: pd.DataFrame, index: pd.Index) -> npt.NDArray[np.int64]:
    """Per member, the month of his earliest applying veto (99: none)."""
    out = np.full(len(index), 99, dtype=np.int64)
    applied = vetoes[vetoes["applies"]] if len(vetoes) else vetoes
    if len(applied):
        months = applied["date"].map(lambda d: d.month).to_numpy(dtype=np.int64)
        np.minimum.at(out, _codes(applied["member_id"], index), months)
    return out


def span_scores(
    sums: npt.NDArray[np.float64],
    counts: npt.NDArray[np.int64],
    members: pd.DataFrame,
    scheme: Scheme,
    span: str,
    last_month: int,
    events: npt.NDArray[np.float64] | None = None,
    vetoed_in: npt.NDArray[np.int64] | None = None,
) -> tuple[pd.DataFrame, npt.NDArray[np.intp]]:
    """Quarter (``span='quarter'``) or half-year scores from :func:`quarter_matrix`, for spans
    that have ended by ``last_month``, formed as ``periods.<span>`` says: the sum or mean of the
    span's monthly totals, or the year to date (the year's formula over January to the span's end
    and the ``events`` dated up to then, SPEC 3.3). A ``no_score`` veto dated by the span's end
    leaves its score blank (SPEC 3.2). Also returns each row's member position."""
    n_members = len(members)
    rule = scheme.period(span)
    size = 1 if span == "quarter" else 2  # quarters per span
    own = counts[:, 0::2] + counts[:, 1::2] if size == 2 else counts  # months in the span itself
    if rule.combine == "year_to_date":
        sums, counts = np.cumsum(sums, axis=1), np.cumsum(counts, axis=1)
        ev = np.cumsum(events if events is not None else np.zeros_like(sums), axis=1)
        sums, counts, ev = sums[:, size - 1 :: size], counts[:, size - 1 :: size], ev[:, size - 1 :: size]
    elif size == 2:  # a half-year is two quarters
        sums = sums[:, 0::2] + sums[:, 1::2]
        counts = counts[:, 0::2] + counts[:, 1::2]
    n_spans = last_month // (3 * size)
    s = sums[:, :n_spans].ravel()
    c = counts[:, :n_spans].ravel()
    mean = np.divide(s, c, out=np.full(c.shape, np.nan), where=c > 0)
    score = s if rule.combine == "sum" else mean
    if rule.combine == "year_to_date":
        score = score * scheme.year.weight + ev[:, :n_spans].ravel()
    number = np.tile(np.arange(1, n_spans + 1), n_members)
    if scheme.no_score_veto and vetoed_in is not None:
        score = np.where(np.repeat(vetoed_in, n_spans) <= number * 3 * size, np.nan, score)
    keep = own[:, :n_spans].ravel() > 0  # a member who had left before the span has no figure for it
    out = pd.DataFrame(
        {
            "member_id": np.repeat(members["member_id"].to_numpy(), n_spans)[keep],
            span: number[keep],
            "months": c[keep],
            "score": score[keep],
        }
    )
    out["score_rounded"] = round_scores(out["score"].to_numpy())
    return out, np.repeat(np.arange(n_members), n_spans)[keep]


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
            share_quota(scheme.quarter_star.share, int(sel.sum()))
            if int(sel.sum()) >= scheme.quarter_star.min_scored_members
            else 0
        )
        quota_col[sel] = quota
        star[sel] = NO
        star[eligible] = quota_pick(pd.Series(rounded[eligible]), quota).to_numpy()
    q["rank"] = pd.arrays.IntegerArray(np.nan_to_num(rank).astype(np.int64), np.isnan(rank))
    q["quarter_star"] = star
    q["scored_members"] = scored
    q["quota"] = quota_col
    return q


def item_year(
    item_scores: pd.DataFrame,
    codes: npt.NDArray[np.intp],
    members: pd.DataFrame,
    appraisal: pd.DataFrame,
    scheme: Scheme,
) -> pd.DataFrame:
    """Per member: months scored and, per item, the sum, the mean over the member's own months,
    the appraisal average and the weighted annual item score (seed 004 年终每项积分)."""
    items = scheme.item_codes
    n = len(members)
    months = np.bincount(codes, minlength=n)[:n]
    out: dict[str, npt.NDArray[Any]] = {"member_id": members["member_id"].to_numpy(), "months": months}
    has = months > 0
    w_m, w_a = scheme.year.weight, scheme.appraisal.weight
    app = appraisal if len(appraisal) and len(appraisal.columns) > 1 else None  # rows in members order
    if scheme.year.by == "per_item":
        base = np.zeros(n)
        for code in items:
            s = _group_sum(codes, item_scores[code].to_numpy(dtype=np.float64), n)
            mean = np.divide(s, months, out=np.full(n, np.nan), where=has)
            out[f"{code}_sum"] = s
            out[f"{code}_mean"] = mean
            if scheme.appraisal.mode == "per_item":
                a = app[f"{code}_average"].to_numpy() if app is not None else np.full(n, np.nan)
                out[f"{code}_appraisal"] = a
                score = mean * w_m + a * w_a
            else:
                score = mean * w_m
            out[f"{code}_score"] = score
            base = base + score
        out["base"] = base
    else:
        totals = np.zeros(len(item_scores))
        for code in items:
            totals = totals + item_scores[code].to_numpy(dtype=np.float64)
        s = _group_sum(codes, totals, n)
        mean = np.divide(s, months, out=np.full(n, np.nan), where=has)
        out["monthly_sum"] = s
        out["monthly_mean"] = mean
        if scheme.appraisal.mode == "single":
            a = app["score_average"].to_numpy() if app is not None else np.full(n, np.nan)
            out["appraisal"] = a
            out["base"] = mean * w_m + a * w_a
        else:
            out["base"] = mean * w_m
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
    else:  # capped_per_group: bonuses and deductions each capped per member and group
        caps = {g.code: float(g.cap or 0) for g in scheme.adjustments.groups}
        for _, part in live.groupby(["member_id", "group", "kind"], sort=False):
            cap = caps[part["group"].iloc[0]]
            mag = part["points_used"].abs().to_numpy()
            cum = np.cumsum(mag)
            used = np.minimum(cum, cap) - np.minimum(cum - mag, cap)
            sign = 1.0 if part["kind"].iloc[0] == "bonus" else -1.0
            a.loc[part.index, "applied_points"] = sign * used
            a.loc[part.index, "reason"] = np.where(
                used == mag, REASONS["applied"], np.where(used > 0, REASONS["cap_partial"], REASONS["cap_reached"])
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
    exempt = members["exempt"].to_numpy(dtype=bool)
    vetoed_rows = vetoes[vetoes["applies"]] if len(vetoes) else vetoes
    veto = np.zeros(n, dtype=bool)
    veto[_codes(vetoed_rows["member_id"], index)] = True
    base = years["base"].to_numpy(dtype=np.float64, copy=True)
    total_raw = base + bonus + deduction
    total_raw[exempt] = np.nan
    total = round_scores(total_raw)
    grade, stars = band_lookup(scheme, total)
    if scheme.no_score_veto:  # "不体现积分": no figure at all, only the months, grade and veto (SPEC 3.2)
        for figure in (total, total_raw, base, bonus, deduction):
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
    grade[veto] = scheme.veto.grade
    stars[veto] = np.nan
    out = pd.DataFrame(
        {
            "member_id": mids.to_numpy(),
            "name": members["name"].to_numpy(),
            "months": years["months"].to_numpy(),
            "base": np.where(exempt, np.nan, base),
            "base_rounded": round_scores(np.where(exempt, np.nan, base)),
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
    out["tier"] = tiers_for(out["rank"], veto, scheme)
    out["annual_star"] = None
    if scheme.annual_star is not None:
        top = ranked & (out["stars"].fillna(-1).to_numpy() == scheme.annual_star.of_stars)
        quota = share_quota(scheme.annual_star.share, int(top.sum()))
        out["annual_star"] = NO
        picks = quota_pick(out.loc[top, "total"], quota)
        out.loc[picks.index, "annual_star"] = picks
        out.loc[exempt, "annual_star"] = None
    return out


def tiers_for(rank: pd.Series, veto: npt.NDArray[np.bool_], scheme: Scheme) -> pd.Series:
    """Rank-share tiers: a member of rank r among n ranked is in the first tier whose cumulative
    share covers position r - 1; tied members share a rank and so a tier."""
    out = pd.Series(None, index=rank.index, dtype=object)
    if scheme.tiers is None:
        return out
    n = int(rank.notna().sum())
    bounds = np.round(np.cumsum([t.share for t in scheme.tiers.tiers]) * n, 9)
    names = np.array([t.name for t in scheme.tiers.tiers], dtype=object)
    ranked = rank.notna().to_numpy()
    pos = rank.to_numpy(dtype=np.float64, na_value=np.nan)[ranked] - 1
    k = np.minimum(np.searchsorted(bounds, pos, side="right"), len(names) - 1)  # first bound > pos
    out[ranked] = names[k]
    if scheme.tiers.veto_tier is not None:
        out[veto] = scheme.tiers.veto_tier
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
        )
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
    totals = monthly_totals(item_scores, items)
    vetoes = resolve_vetoes(book.vetoes, members, s, period)
    q_sums, q_counts = quarter_matrix(totals, codes, len(members))
    adjustments = resolve_adjustments(book.adjustments, members, s, period)
    events = quarter_events(adjustments, index, len(members))
    vetoed_in = veto_months(vetoes, index)
    quarters, quarter_codes = span_scores(q_sums, q_counts, members, s, "quarter", period.last_month, events, vetoed_in)
    quarters = quarter_stars(quarters, quarter_codes, vetoed_in, s)
    halves, _ = span_scores(q_sums, q_counts, members, s, "half", period.last_month, events, vetoed_in)
    if period.kind == "year":
        appraisal = appraisal_averages(book.appraisal, members, index, s)
        years = item_year(item_scores, codes, members, appraisal, s)
        annual = annual_results(members, index, years, adjustments, vetoes, s)
        if s.no_score_veto:  # 不体现积分: the vetoed members' item figures are blank too (SPEC 3.2)
            figures = [c for c in years.columns if c not in ("member_id", "months")]
            years.loc[(annual["veto"] == YES).to_numpy(), figures] = np.nan
        follow = follow_ups(annual, members, book.dues, book.attendance, s, period.last_month)
    else:
        appraisal = pd.DataFrame({"member_id": members["member_id"].to_numpy()})
        years = (
            item_year(item_scores, codes, members, appraisal.iloc[0:0], s)
            if s.appraisal.mode == "none"
            else pd.DataFrame()
        )
        annual = pd.DataFrame()
        follow = pd.DataFrame(columns=["member_id", "name", "reason", "action"])
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
        out = result.annual.copy()
        out["base"] = out["base_rounded"]
        return out[cols]
    if p.kind == "month":
        return month_table(result)
    if p.kind == "quarter":
        q = result.quarters[result.quarters["quarter"] == p.last_month // 3]
        q = q[["member_id", "months", "score_rounded", "rank", "quarter_star"]].rename(
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
