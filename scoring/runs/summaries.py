"""Summary tables as ``summary.csv`` holds them (every cell as its CSV text), and their differences.

Used by review (verify, diff), the roll-up (each branch run against the engine), the explorer and
the audit, none of which needs the others for it.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from ..outputs.csvfile import csv_text, read_csv_text


def summary_text(df: pd.DataFrame) -> pd.DataFrame:
    """A summary table as ``summary.csv`` holds it: every cell as its CSV text."""
    return read_csv_text(io.StringIO(csv_text(df)))


def read_summary(run: Path) -> pd.DataFrame:
    return read_csv_text(run / "summary.csv")


def compare_summaries(
    a: pd.DataFrame, b: pd.DataFrame, name_a: str, name_b: str, key: str = "member_id"
) -> pd.DataFrame:
    """Figures that differ between two summary tables (text as in summary.csv), by member (or by
    ``key``: ``branch_id`` for a unit's summary, whose rows are branches)."""
    cols = [c for c in a.columns if c in b.columns and c != key]
    m = a.merge(b, on=key, how="outer", suffixes=("@a", "@b"), indicator=True)
    rows = []
    for r in m.to_dict("records"):
        mid = r[key]
        if r["_merge"] != "both":
            rows.append(
                (
                    mid,
                    "(member)" if key == "member_id" else "(branch)",
                    "present" if r["_merge"] == "left_only" else "",
                    "present" if r["_merge"] == "right_only" else "",
                )
            )
            continue
        for c in cols:
            va, vb = r[f"{c}@a"], r[f"{c}@b"]
            if va != vb:
                rows.append((mid, c, va, vb))
    return pd.DataFrame(rows, columns=[key, "figure", name_a, name_b])
