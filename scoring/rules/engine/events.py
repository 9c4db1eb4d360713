"""Adjustments and vetoes: which apply, with why, and the points per member and month they bring."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..periods import Period, active_counts
from ..scheme import Scheme
from .tables import group_sum, member_codes

# why an adjustment counts or not, as 加减分 and the trace say it
REASONS: dict[str, str] = {
    "applied": "计入 (applied)",
    "exempt": "不列入积分的党员 (member is exempt)",
    "no_evidence": "无佐证材料, 不计分 (no evidence)",
    "after_period": "晚于本期间 (after the period)",
    "lower_bonus": "低于最高加分, 不能累计 (lower than the highest bonus)",
    "equal_bonus": "与最高加分相同, 只计一次 (equal to the highest bonus, counted once)",
    "lower_deduction": "小于最大扣分, 不能累计 (smaller than the largest deduction)",
    "equal_deduction": "与最大扣分相同, 只计一次 (equal to the largest deduction, counted once)",
    "cap_reached": "已达该项上限 (group cap reached)",
    "cap_partial": "部分计入, 已达该项上限 (partly applied, group cap reached)",
    "item_cap_reached": "已达所属项目的分值, 不再计入 (the item's points reached)",
    "item_cap_partial": "部分计入, 已达所属项目的分值 (partly applied, the item's points reached)",
}


def month_events(adjustments: pd.DataFrame, index: pd.Index, n_members: int, sign: int = 0) -> npt.NDArray[np.float64]:
    """Applied adjustment points per member (rows) and month (12 columns), by the event's date;
    ``sign`` 1 or -1 keeps only the bonuses or only the deductions."""
    applied = adjustments[adjustments["status"] == "applied"]
    points = applied["applied_points"].to_numpy(dtype=np.float64)
    keep = points * sign > 0 if sign else np.ones(len(points), dtype=bool)
    if not keep.any():
        return np.zeros((n_members, 12))
    month = applied["date"].map(lambda d: d.month).to_numpy(dtype=np.int64)[keep] - 1
    key = member_codes(applied["member_id"], index)[keep] * 12 + month
    return group_sum(key, points[keep], n_members * 12).reshape(n_members, 12)


def veto_months(vetoes: pd.DataFrame, index: pd.Index) -> npt.NDArray[np.int64]:
    """Per member, the month of his earliest applying veto (99: none)."""
    out = np.full(len(index), 99, dtype=np.int64)
    applied = vetoes[vetoes["applies"]] if len(vetoes) else vetoes
    if len(applied):
        months = applied["date"].map(lambda d: d.month).to_numpy(dtype=np.int64)
        np.minimum.at(out, member_codes(applied["member_id"], index), months)
    return out


def resolve_vetoes(vetoes: pd.DataFrame, members: pd.DataFrame, scheme: Scheme, period: Period) -> pd.DataFrame:
    """Which recorded vetoes apply; by show of hands they need a majority of the branch's members."""
    v = vetoes.copy()
    v["condition_code"] = v["condition"].map(
        lambda c: scheme.conditions_by_key[c].code if c in scheme.conditions_by_key else c
    )
    v["condition_name"] = v["condition"].map(
        lambda c: scheme.conditions_by_key[c].name if c in scheme.conditions_by_key else c
    )
    month = v["date"].map(lambda d: d.month).to_numpy(dtype=int) if len(v) else np.zeros(0, int)
    v["members_on_date"] = active_counts(members["joined_month"].to_numpy(), members["left_month"].to_numpy())[month]
    in_period = month <= period.last_month
    if scheme.veto.requires_majority:
        majority = v["votes_for"].fillna(0).to_numpy() > v["members_on_date"].to_numpy() / 2
    else:
        majority = np.ones(len(v), dtype=bool)
    v["applies"] = in_period & majority
    reason = np.where(
        ~in_period,
        REASONS["after_period"],
        np.where(
            majority,
            "否决生效 (veto applies)",
            "赞成票未过全体党员半数, 否决不生效 (no majority of the branch's members)",
        ),
    )
    v["reason"] = reason
    return v


def resolve_adjustments(
    adjustments: pd.DataFrame, members: pd.DataFrame, scheme: Scheme, period: Period
) -> pd.DataFrame:
    """Adjustments applied and not applied, each with its reason (SPEC 3.1 to 3.4)."""
    a = adjustments.copy()
    rules = scheme.rules_by_code
    a["rule_name"] = a["rule_code"].map(lambda c: rules[c].name)
    a["kind"] = a["rule_code"].map(lambda c: rules[c].kind)
    a["group"] = a["rule_code"].map(lambda c: rules[c].group)
    a["item"] = a["rule_code"].map(lambda c: rules[c].item)
    a["points_used"] = np.where(
        a["points"].notna(), a["points"], a["rule_code"].map(lambda c: rules[c].signed_points)
    ).astype(float)
    a["applied_points"] = 0.0
    a["status"] = "not_applied"
    a["reason"] = ""
    if a.empty:
        return a
    exempt = set(members.loc[members["exempt"], "member_id"])
    month = a["date"].map(lambda d: d.month)
    evidence_missing = a["evidence"].isna() & (
        ((a["kind"] == "bonus") & scheme.adjustments.bonus_evidence_required)
        | ((a["kind"] == "deduction") & scheme.adjustments.deduction_evidence_required)
    )
    blocked = pd.Series("", index=a.index, dtype=object)
    blocked[evidence_missing] = REASONS["no_evidence"]
    blocked[month > period.last_month] = REASONS["after_period"]
    blocked[a["member_id"].isin(exempt)] = REASONS["exempt"]
    a["reason"] = blocked
    live = a[blocked == ""].sort_values(["date", "row"], kind="stable")
    combine = scheme.adjustments.combine
    if combine == "sum":
        a.loc[live.index, "applied_points"] = live["points_used"]
        a.loc[live.index, "reason"] = REASONS["applied"]
    elif combine == "highest_only":
        for kind, pick, lower, equal in (
            ("bonus", "idxmax", "lower_bonus", "equal_bonus"),
            ("deduction", "idxmin", "lower_deduction", "equal_deduction"),
        ):
            part = live[live["kind"] == kind]
            if part.empty:
                continue
            best = part.groupby("member_id", sort=False)["points_used"].agg(pick)
            a.loc[best.to_numpy(), "applied_points"] = a.loc[best.to_numpy(), "points_used"]
            a.loc[best.to_numpy(), "reason"] = REASONS["applied"]
            rest = part.drop(best.to_numpy(), axis="index")
            best_points = a.loc[best.to_numpy()].set_index("member_id")["points_used"]
            same = rest["points_used"].to_numpy() == best_points.reindex(rest["member_id"]).to_numpy()
            a.loc[rest.index, "reason"] = np.where(same, REASONS[equal], REASONS[lower])
    else:  # capped per group or per item: bonuses and deductions each capped per member
        per_item = combine == "capped_per_item"
        if per_item:  # cap = the points of the item the rule names (seed 004 富县 注1)
            caps = {i.code: i.max for i in scheme.items}
            a["cap_key"] = a["rule_code"].map(lambda c: rules[c].item)
        else:
            caps = {g.code: float(g.cap or 0) for g in scheme.adjustments.groups}
            a["cap_key"] = a["group"]
        live = a[blocked == ""].sort_values(["date", "row"], kind="stable")
        for _, part in live.groupby(["member_id", "cap_key", "kind"], sort=False):
            cap = caps[part["cap_key"].iloc[0]]
            mag = part["points_used"].abs().to_numpy()
            cum = np.cumsum(mag)
            used = np.minimum(cum, cap) - np.minimum(cum - mag, cap)
            sign = 1.0 if part["kind"].iloc[0] == "bonus" else -1.0
            a.loc[part.index, "applied_points"] = sign * used
            partial, reached = ("item_cap_partial", "item_cap_reached") if per_item else ("cap_partial", "cap_reached")
            a.loc[part.index, "reason"] = np.where(
                used == mag, REASONS["applied"], np.where(used > 0, REASONS[partial], REASONS[reached])
            )
    a["status"] = np.where(a["applied_points"] != 0, "applied", "not_applied")
    return a
