"""The year: appraisal averages (no ballot survives), the item part per item or in total, then the
base, events, added appraisal, veto, bands, ranks, tiers and 年度之星."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..rounding import round_scores
from ..scheme import Scheme
from .bands import band_lookup, quota_pick, quota_size, tiers_for
from .objections import committee_stars
from .spans import membership_months, veto_effect
from .tables import NO, YES, group_sum, member_codes


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
            s = group_sum(codes, item_scores[code].to_numpy(dtype=np.float64), n)
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
        s = group_sum(codes, totals["figure"].to_numpy(dtype=np.float64), n)
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
    codes = member_codes(ballots["member_id"], index)
    out["ballots"] = np.bincount(codes, minlength=n)[:n]
    for col in cols:
        v = ballots[col].to_numpy(dtype=np.float64) if col in ballots else np.full(len(ballots), np.nan)
        rated = ~np.isnan(v)
        if rated.all():  # the usual case: no blank rating, no masked copies
            cnt, s = out["ballots"], group_sum(codes, v, n)
        else:
            cnt = np.bincount(codes[rated], minlength=n)[:n]
            s = group_sum(codes[rated], v[rated], n)
        out[f"{col}_raters"] = cnt
        out[f"{col}_sum"] = s
        out[f"{col}_average"] = np.divide(s, cnt, out=np.full(n, np.nan), where=cnt > 0)
    return pd.DataFrame(out)


def annual_results(
    members: pd.DataFrame,
    index: pd.Index,
    years: pd.DataFrame,
    adjustments: pd.DataFrame,
    vetoes: pd.DataFrame,
    scheme: Scheme,
    decisions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The year's figures per member: base, adjustments, total (rounded), stars (the committee's
    where it decided, ``decisions``: the star_decisions rows; see :mod:`.objections`), grade, rank..."""
    n = len(members)
    mids = members["member_id"]
    applied = adjustments[adjustments["status"] == "applied"]
    codes = member_codes(applied["member_id"], index)
    pts = applied["applied_points"].to_numpy(dtype=np.float64)
    bonus = group_sum(codes[pts > 0], pts[pts > 0], n)
    deduction = group_sum(codes[pts < 0], pts[pts < 0], n)
    if not scheme.year.events:  # the events are in the sub-periods' figures already
        bonus, deduction = np.full(n, np.nan), np.full(n, np.nan)
    exempt = members["exempt"].to_numpy(dtype=bool)
    vetoed_rows = vetoes[vetoes["applies"]] if len(vetoes) else vetoes
    veto = np.zeros(n, dtype=bool)
    veto[member_codes(vetoed_rows["member_id"], index)] = True
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
    # 党支部定星: published stars are the committee's where it decided (before 年度之星, chosen by them)
    out = committee_stars(out, decisions if decisions is not None else pd.DataFrame(), scheme)
    out["annual_star"] = None
    if scheme.annual_star is not None:
        top = ranked & (out["stars"].fillna(-1).to_numpy() == scheme.annual_star.of_stars)
        quota = quota_size(scheme.annual_star.share, int(top.sum()), scheme.annual_star.minimum)
        out["annual_star"] = NO
        picks = quota_pick(out.loc[top, "total"], quota)
        out.loc[picks.index, "annual_star"] = picks
        out.loc[exempt, "annual_star"] = None
    return out
