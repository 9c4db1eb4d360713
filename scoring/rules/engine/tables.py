"""Members addressed by their position in the members table, so that aggregation is a ``np.bincount``
rather than a hash group-by: the engine must handle a million members."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd


def member_codes(member_ids: pd.Series, index: pd.Index) -> npt.NDArray[np.intp]:
    """Members' positions in the members table (``index`` is built once per scoring)."""
    return index.get_indexer(pd.Index(member_ids))


def group_sum(codes: npt.NDArray[np.intp], values: npt.NDArray[np.float64], n: int) -> npt.NDArray[np.float64]:
    # bincount with weights sums them as floats; numpy's stubs declare the integer counts only
    # (with no codes at all, bincount returns integers)
    return np.bincount(codes, weights=values, minlength=n)[:n].astype(np.float64)


# the flags of result tables (summary.csv keeps them; what an officer reads says 是/否/并列待定)
YES, NO, TIE = "yes", "no", "tie"
