"""组织处置: actions by grade or by tier, and possible 自行脱党 cases."""

from __future__ import annotations

from typing import SupportsInt, cast

import pandas as pd

from ..scheme import Scheme
from .tables import NO, YES


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
        ),
        tier_follow_ups(annual, scheme),
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
