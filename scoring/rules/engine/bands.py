"""Bands (stars, grades, tiers by threshold), rank-share tiers and quotas with ties left to the committee."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..scheme import Band, Scheme, Tiers
from .tables import NO, TIE, YES

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


def period_bands(frame: pd.DataFrame, score: str, scheme: Scheme, kind: str) -> pd.DataFrame:
    """The grade and/or tier a shorter period's bands (``period_bands.<kind>``) give its rounded
    ``score`` column (seed 003 季末亮分); the frame as it is when the scheme bands only the year."""
    bands = scheme.bands_for(kind) if kind != "year" else None
    if bands is None:
        return frame
    grades, _, tiers = band_lookup(bands, frame[score].to_numpy(dtype=np.float64))
    if bands[0].grade is not None:
        frame["grade"] = grades
    if bands[0].tier is not None:
        frame["tier"] = tiers
    return frame


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
