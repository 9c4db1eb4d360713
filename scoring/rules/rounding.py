"""Rounding exactly as a spreadsheet's ROUND does it (SPEC 5).

A published score is rounded half away from zero to 2 decimals, on the value as written to 15
significant digits. So 94.995 (stored as 94.99499999999999...) rounds to 95.00, as in Excel.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import numpy.typing as npt


def round_score(value: float, ndigits: int = 2) -> float:
    """Round one value: 15 significant digits first, then half away from zero."""
    if value is None or not np.isfinite(value):
        return float("nan")
    exact = Decimal(f"{value:.15g}")
    return float(exact.quantize(Decimal(1).scaleb(-ndigits), rounding=ROUND_HALF_UP))


def round_scores(values: npt.ArrayLike, ndigits: int = 2) -> npt.NDArray[np.float64]:
    """Vectorised :func:`round_score`.

    Only values whose scaled fraction lies close to .5 can be changed by the 15-digit step; they
    take the exact decimal path, every other value is rounded in numpy, which is then exact too.
    """
    x = np.asarray(values, dtype=np.float64)
    scale = 10.0**ndigits
    a = np.abs(x) * scale
    frac = a - np.floor(a)
    # 15 significant digits move a by at most ~5e-15 relative; allow a wide margin.
    near_half = np.abs(frac - 0.5) <= np.maximum(1e-6, a * 1e-12)
    out = np.copysign(np.floor(a + 0.5) / scale, x)
    out[x == 0] = 0.0
    idx = np.flatnonzero(near_half & np.isfinite(x))
    for i in idx:
        out[i] = round_score(float(x[i]), ndigits)
    out[~np.isfinite(x)] = np.nan
    return out
