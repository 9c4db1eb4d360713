"""Branch assessment (SPEC 3.9): each indicator's score in each month, and the categories' sums
that the member pipeline forms into months, quarters and the year with a branch as its subject.

An indicator scored by the branch counts with its verified score where the 联评联考办公室 changed
it, else the self-score; an indicator scored by the other branches counts with the mean of their
scores, of which only the mean and the number of raters leave this stage (anonymous, like ballots).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...inputs.reading import InputBook, empty_tables
from ...inputs.unit import UnitBook
from ..periods import Period
from ..scheme import Scheme

# one row per branch, month and indicator in force (SPEC 3.9's trace reads these)
INDICATOR_COLUMNS = [
    "branch_id",
    "month",
    "quarter",
    "category",
    "code",
    "name",
    "max",
    "indicator_row",
    "self_score",
    "self_row",
    "verified_score",
    "verification_row",
    "reason",
    "verified_by",
    "mutual_sum",
    "raters",
    "mutual_mean",
    "score",
]


def indicator_scores(unit: UnitBook, scheme: Scheme, period: Period) -> pd.DataFrame:
    """Every indicator in force for every branch and month up to the period's end, with the
    self-score and its cell, the verification that replaced it, the mutual mean and its raters,
    and the ``score`` that counts. Ordered by branch (as listed), month, category, indicator row."""
    months = pd.DataFrame({"month": np.arange(1, period.last_month + 1)})
    months["quarter"] = (months["month"] - 1) // 3 + 1
    rows = unit.in_force.rename(columns={"row": "indicator_row"}).merge(months, on="quarter")
    keys = ["branch_id", "month", "code"]
    own = unit.self_scores.rename(columns={"indicator": "code", "score": "self_score", "row": "self_row"})
    ver = unit.verification.rename(columns={"indicator": "code", "row": "verification_row"})
    mutual = (
        unit.mutual_scores.rename(columns={"indicator": "code"})
        .groupby(keys, sort=False)["score"]
        .agg(mutual_sum="sum", raters="count", mutual_mean="mean")
        .reset_index()
    )
    out = (
        rows.merge(own[[*keys, "self_score", "self_row"]], on=keys, how="left")
        .merge(ver[[*keys, "verified_score", "verification_row", "reason", "verified_by"]], on=keys, how="left")
        .merge(mutual, on=keys, how="left")
    )
    by_self = out["category"].map(lambda k: scheme.items_by_code[k].scored_by == "self").to_numpy(dtype=bool)
    checked = out["verified_score"].where(out["verified_score"].notna(), out["self_score"])
    out["score"] = np.where(by_self, checked.to_numpy(dtype=np.float64), out["mutual_mean"].to_numpy(dtype=np.float64))
    out["raters"] = out["raters"].astype("Int64")
    for col in ("self_row", "verification_row"):
        out[col] = out[col].astype("Int64")
    order = {b: n for n, b in enumerate(unit.branches["branch_id"])}
    cats = {code: n for n, code in enumerate(scheme.item_codes)}
    out = out.assign(_b=out["branch_id"].map(order), _c=out["category"].map(cats))
    out = out.sort_values(["_b", "month", "_c", "indicator_row"], kind="stable")
    return out[INDICATOR_COLUMNS].reset_index(drop=True)


def subject_book(unit: UnitBook, scheme: Scheme, indicators: pd.DataFrame) -> InputBook:
    """The unit as the member pipeline reads a branch: each branch a subject, each category an
    item whose monthly score is the sum of its indicators' scores. The category scores are formed
    here, not read, so their ``row`` is 0: the trace goes through ``indicators`` instead."""
    tables = empty_tables(scheme, unit.year)
    sums = indicators.pivot_table(index=["branch_id", "month"], columns="category", values="score", aggfunc="sum")
    sums = sums.reindex(columns=scheme.item_codes, fill_value=0.0).fillna(0.0)
    branch_order = pd.Index(unit.branches["branch_id"])
    monthly = sums.reset_index().rename(columns={"branch_id": "member_id"})
    monthly = monthly.assign(_b=branch_order.get_indexer(monthly["member_id"])).sort_values(["_b", "month"])
    monthly = monthly.drop(columns="_b").reset_index(drop=True)
    monthly.columns.name = None
    monthly.insert(0, "row", 0)
    monthly.insert(2, "month_year", float(unit.year))
    monthly.insert(4, "note", "")
    b = unit.branches.reset_index(drop=True)
    given = {
        "row": b["row"],
        "member_id": b["branch_id"],
        "name": b["branch_name"],
        "member_type": "党支部",
        "role": "member",
        "exempt": False,
        "exempt_reason": "",
        "joined_month": 1,
        "left_month": 12,
    }
    columns = [*tables["members"].columns, "joined_month", "left_month"]
    members = pd.DataFrame({c: given.get(c, np.nan) for c in columns}, index=b.index)
    return InputBook(
        path=unit.path,
        sha256=unit.sha256,
        branch_id=unit.unit_id,
        branch_name=unit.unit_name,
        scheme_ref=unit.scheme_ref,
        year=unit.year,
        members=members,
        monthly=monthly,
        self_scores=tables["self_scores"],
        appraisal=tables["appraisal"],
        adjustments=tables["adjustments"],
        vetoes=tables["vetoes"],
        amendments=tables["amendments"],
        attendance=tables["attendance"],
        dues=tables["dues"],
        notes=list(unit.notes),
        cells=unit.cells,
        normalised=unit.normalised,
    )
