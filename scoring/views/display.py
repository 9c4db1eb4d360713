"""How the explorers show a value, a table, a trace and a chart: what an officer reads is Chinese,
with no ``nan``, ``None`` or ``<NA>``, yes/no as 是/否 and computed figures with two decimals."""

from __future__ import annotations

import html
import io
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..labels import LABELS, YES_NO
from ..rules.words import SOURCE_WORDS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WORDS: dict[str, str] = YES_NO  # the workbook's words: one wording for a flag everywhere
# yes/no/tie as a value inside a text ("季度之星: no (名额 0)"), not a word of an English gloss
# ("(no evidence)")
WORD_VALUE = re.compile(r"(?<![A-Za-z] )(?<![A-Za-z])(yes|no|tie)(?![A-Za-z])(?! [A-Za-z])")


def missing(v: Any) -> bool:
    """None, NaN, NaT or pd.NA (a list or an array is never missing as a whole)."""
    if v is None or v is pd.NA:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def number(v: Any) -> float | None:
    """A figure as a float; None when missing."""
    return None if missing(v) else float(v)


def show(v: Any, decimals: int = 2) -> str:
    """One value as an officer reads it (plain text, not yet escaped): missing is blank, a
    computed number has two decimals, a count is a whole number, yes/no is 是/否."""
    if missing(v):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "是" if v else "否"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.{decimals}f}"
    text = str(v)
    whole = WORDS.get(text.strip().lower())
    return whole if whole is not None else WORD_VALUE.sub(lambda m: WORDS[m.group(1)], text)


def fmt(v: Any) -> str:
    """``show`` escaped for HTML."""
    return html.escape(show(v))


def entered(v: Any) -> str:
    """A score as the committee entered it (8, 9.5), at most two decimals, escaped for HTML."""
    if missing(v):
        return ""
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
        return f"{float(v):.2f}".rstrip("0").rstrip(".")
    return fmt(v)


def displayed(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell of ``df`` as text an officer reads (see ``show``); headers unchanged."""
    return df.astype(object).map(show)


def table_html(df: pd.DataFrame) -> str:
    """A table of text as HTML (escaped), small and left-aligned, scrolling sideways when wide."""
    body = df.to_html(index=False, escape=True, border=1)
    body = body.replace('<tr style="text-align: right;">', "<tr>").replace("<th>", '<th style="text-align:left">')
    return f'<div style="overflow-x:auto; font-size:12px">{body}</div>'


def html_table(df: pd.DataFrame) -> str:
    """A table as HTML, every cell through ``show`` and escaped, headers escaped."""
    return table_html(displayed(df))


# -- the trace ------------------------------------------------------------------------------------

COUNT_STEPS = ("星级", "排名", "月度排名", "不列入积分")  # trace steps whose value is a count (stars, a rank)


def trace_value(step: str, v: Any, whole: bool = False) -> str:
    """A trace row's value: two decimals, a count or a rank (``whole``, or by its step) whole."""
    if missing(v):
        return ""
    x = float(v)
    return str(int(x)) if (whole or step.startswith(COUNT_STEPS)) and x.is_integer() else f"{x:.2f}"


def trace_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Trace rows (``trace``'s columns) as the page shows them: Chinese headers, values with two
    decimals (stars and ranks whole), blank where a step has no number, 是/否 for yes/no, the
    scheme's rules named in Chinese; the item and month columns only where they vary (a group's
    title names its item or month), and no column that is blank on every row. A ``whole`` column
    (a unit's trace) marks the values that are counts or ranks."""
    whole = [bool(w) for w in rows["whole"]] if "whole" in rows.columns else [False] * len(rows)
    cols = [c for c in rows.columns if c not in ("level", "whole")]
    cols = [c for c in cols if not (c in ("item", "month") and rows[c].nunique(dropna=False) <= 1)]
    cols = [c for c in cols if c in ("step", "value", "rule") or any(show(v) for v in rows[c])]  # no empty column
    out: dict[str, list[str]] = {}
    for c in cols:
        if c == "value":
            out[LABELS[c]] = [
                trace_value(str(a), b, w) for a, b, w in zip(rows["step"], rows["value"], whole, strict=True)
            ]
        elif c == "source":
            out[LABELS[c]] = [SOURCE_WORDS.get(show(v), show(v)) for v in rows[c]]
        elif c == "month" and not all(re.fullmatch(r"\d{4}-\d{2}", str(v)) for v in rows[c] if str(v)):
            out[LABELS["period"]] = [show(v) for v in rows[c]]  # quarters (2025Q1) or the year (2025) scored
        else:
            out[LABELS.get(c, c)] = [show(v) for v in rows[c]]
    return pd.DataFrame(out, columns=list(out))


def trace_table_html(rows: pd.DataFrame) -> str:
    return table_html(trace_table(rows))


# -- charts -------------------------------------------------------------------------------------

CHART_DPI = 100
CHART_SIZE = (8.0, 3.2)  # inches: 800 x 320 pixels


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=CHART_DPI)
    return buffer.getvalue()


def use_cjk_fonts() -> None:
    """Chinese text in charts: Noto Sans CJK SC if present (``make fonts``), else another CJK font."""
    import matplotlib as mpl
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    preferred = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Noto Sans CJK TC", "Noto Sans CJK JP"]
    cjk = [n for n in preferred if n in names] or sorted(n for n in names if "CJK" in n and "Sans" in n)
    if cjk:
        mpl.rcParams["font.family"] = "sans-serif"
        mpl.rcParams["font.sans-serif"] = [cjk[0], *[f for f in mpl.rcParams["font.sans-serif"] if f != cjk[0]]]
    mpl.rcParams["axes.unicode_minus"] = False


def new_figure() -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=CHART_SIZE, layout="constrained")
    return fig, fig.add_subplot()


def legend_outside(ax: Any) -> None:
    """The legend to the right of the plot, where it cannot cover a bar or a line."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False, fontsize=9)


def padded(values: list[float], least: float) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.15, least)
    return lo - pad, hi + pad
