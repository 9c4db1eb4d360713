"""组织处置: actions by grade or by tier (the possible 自行脱党 cases: ``lapse``)."""

from __future__ import annotations

import pandas as pd

from ..scheme import Scheme
from .tables import NO, YES


def follow_ups(annual: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    """组织处置 list of a year: actions by grade (SPEC 3.1) and by tier. The possible 自行脱党
    cases are added for every period kind by the pipeline (``lapse.find_lapses``)."""
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
