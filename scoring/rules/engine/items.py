"""Item scores per sub-period (a month, or a quarter or the year dated by its last month): amendments
applied with the originals kept, group subtotals, and each sub-period's figure."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..scheme import Scheme
from .events import month_events
from .tables import member_codes

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
    amended_codes = member_codes(amended["member_id"], index)
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
