"""The formulas of the events stage (``scoring.rules.engine.events``): which adjustments and vetoes
apply, and the points each adjustment brings, by the scheme's rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Protocol, cast

import pandas as pd

from ...rules.engine import REASONS, Result
from .writer import F_YES, Writer, extreme_where, labels_of, write_array, write_dates

# The engine's reasons, as the spreadsheet's formulas write them.
R_APPLIED = REASONS["applied"]


VETO_APPLIES = "否决生效 (veto applies)"


VETO_NO_MAJORITY = "赞成票未过全体党员半数, 否决不生效 (no majority of the branch's members)"


class _VetoRow(Protocol):
    """A row of ``Result.vetoes``."""

    date: dt.date
    applies: bool
    reason: str


class _AdjustmentRow(Protocol):
    """A row of ``Result.adjustments``."""

    member_id: str
    date: dt.date
    kind: str
    applied_points: float
    status: str
    reason: str


def vetoes(w: Writer, result: Result) -> None:
    """一票否决: whether each recorded veto applies, as a formula over its month and votes."""
    s = result.scheme.scheme
    v = result.vetoes.reset_index(drop=True)
    cols = [
        "member_id",
        "date",
        "month",
        "condition_code",
        "condition_name",
        "votes_for",
        "votes_against",
        "members_on_date",
        "applies",
        "reason",
        "note",
        "row",
    ]
    df = v.reindex(columns=cols)
    sheet = w.table("一票否决", df, labels_of(result), key="vetoes", formulas=("date", "month", "applies", "reason"))
    ws = w.wb.get_worksheet_by_name("一票否决")
    write_dates(w, ws, sheet.columns["date"], df["date"])
    c = {k: sheet.col(k) for k in cols}
    for i, r in enumerate(cast(Iterator[_VetoRow], df.itertuples(index=False)), start=1):
        row = i + 1
        ws.write_formula(i, sheet.columns["month"], f"=MONTH({c['date']}{row})", None, int(r.date.month))
        in_period = f"{c['month']}{row}<=期末月份"
        if s.veto.requires_majority:
            applies_f = f'=IF(AND({in_period},N({c["votes_for"]}{row})>{c["members_on_date"]}{row}/2),"是","否")'
        else:
            applies_f = f'=IF({in_period},"是","否")'
        ws.write_formula(i, sheet.columns["applies"], applies_f, None, "是" if bool(r.applies) else "否")
        reason_f = (
            f'=IF(NOT({in_period}),"{REASONS["after_period"]}",'
            f'IF({c["applies"]}{row}="是","{VETO_APPLIES}","{VETO_NO_MAJORITY}"))'
        )
        ws.write_formula(i, sheet.columns["reason"], reason_f, None, str(r.reason))
    majority = "赞成票 > 当月党员数 / 2 且" if s.veto.requires_majority else ""
    w.note(
        "一票否决",
        sheet,
        {
            "members_on_date": (
                "数值: 否决当月在本支部的党员人数, 由党员名单的转入、转出月份计算 (程序计算值, 举手表决的分母)"
            ),
            "applies": f"公式: {majority} 月份不晚于 期末月份 时生效 (是)",
            "reason": "公式: 给出是否生效的原因",
            "condition_name": "数值: 输入的否决情形 (名称或代码) 对应积分方案中的情形",
        },
    )


def adjustments(w: Writer, result: Result) -> None:
    """加减分: per row, whether it is eligible (evidence, date, exempt member) and the points it
    adds, as formulas that follow the scheme's rule (highest only, sum, sum capped per group)."""
    s = result.scheme.scheme
    combine = s.adjustments.combine
    a = result.adjustments.reset_index(drop=True)
    cols = [
        "member_id",
        "date",
        "month",
        "rule_code",
        "rule_name",
        "kind",
        "item" if combine == "capped_per_item" else "group",
        "points",
        "points_used",
        "evidence",
        "approved_by",
        "note",
        "member_exempt",
        "blocked",
        "eligible",
    ]
    cols += (["best"] if combine == "highest_only" else []) + ["applied_points", "status", "reason", "row"]
    formulas = ("date", "month", "member_exempt", "blocked", "eligible", "best", "applied_points", "status", "reason")
    df = a.reindex(columns=cols)
    sheet = w.table("加减分", df, labels_of(result), key="adjustments", formulas=formulas)
    ws = w.wb.get_worksheet_by_name("加减分")
    write_dates(w, ws, sheet.columns["date"], df["date"])
    res = w.sheets["results"]
    at = sheet.columns
    rng = sheet.rng
    exempt_ids = set(result.members.loc[result.members["exempt"].astype(bool), "member_id"])
    for i, r in enumerate(cast(Iterator[_AdjustmentRow], df.itertuples(index=False)), start=1):
        row = i + 1
        c = {k: f"{sheet.col(k)}{row}" for k in cols}
        ws.write_formula(i, at["month"], f"=MONTH({c['date']})", None, int(r.date.month))
        ws.write_formula(
            i,
            at["member_exempt"],
            f'=IF(COUNTIFS({res.rng("member_id")},{c["member_id"]},{res.rng("exempt")},{F_YES})>0,"是","否")',
            None,
            "是" if r.member_id in exempt_ids else "否",
        )
        # the engine's order: exempt before after-the-period before no evidence
        evidence = f'AND({c["evidence"]}="",IF({c["kind"]}="bonus",加分须佐证,减分须佐证)="是")'
        blocked_f = (
            f'=IF({c["member_exempt"]}="是","{REASONS["exempt"]}",'
            f'IF({c["month"]}>期末月份,"{REASONS["after_period"]}",'
            f'IF({evidence},"{REASONS["no_evidence"]}","")))'
        )
        reason = str(r.reason)
        blocked = reason if reason in (REASONS["exempt"], REASONS["after_period"], REASONS["no_evidence"]) else ""
        ws.write_formula(i, at["blocked"], blocked_f, None, blocked)
        ws.write_formula(i, at["eligible"], f'=IF({c["blocked"]}="","是","否")', None, "否" if blocked else "是")
        pu, el, kind = c["points_used"], c["eligible"], c["kind"]
        if combine == "sum":
            applied_f = f'=IF({el}="是",{pu},0)'
            reason_f = f'=IF({c["blocked"]}<>"",{c["blocked"]},"{R_APPLIED}")'
        elif combine == "highest_only":
            crit = f'{rng("member_id")},{c["member_id"]},{rng("kind")},{kind},{rng("eligible")},"是"'
            same_kind = [f"{rng('member_id')}={c['member_id']}", f"{rng('kind')}={kind}", f'{rng("eligible")}="是"']
            best_f = (
                f'=IF({kind}="bonus",{extreme_where("MAX", rng("points_used"), same_kind)},'
                f"{extreme_where('MIN', rng('points_used'), same_kind)})"
            )
            write_array(ws, i, at["best"], best_f, None, _best(a, r))
            # of two equal highest, the earlier (date, then input row) counts, as in the engine
            earlier = (
                f'COUNTIFS({crit},{rng("points_used")},{pu},{rng("date")},"<"&{c["date"]})+'
                f'COUNTIFS({crit},{rng("points_used")},{pu},{rng("date")},{c["date"]},{rng("row")},"<"&{c["row"]})'
            )
            applied_f = f'=IF(AND({el}="是",{pu}={c["best"]},{earlier}=0),{pu},0)'
            same = f'IF({kind}="bonus","{REASONS["equal_bonus"]}","{REASONS["equal_deduction"]}")'
            lower = f'IF({kind}="bonus","{REASONS["lower_bonus"]}","{REASONS["lower_deduction"]}")'
            reason_f = (
                f'=IF({c["blocked"]}<>"",{c["blocked"]},'
                f'IF({c["applied_points"]}<>0,"{R_APPLIED}",'
                f"IF({pu}={c['best']},{same},{lower})))"
            )
        else:  # capped per group or item: the cap minus what earlier rows of the group or item used
            per_item = combine == "capped_per_item"
            key = "item" if per_item else "group"
            crit = (
                f'{rng("member_id")},{c["member_id"]},{rng(key)},{c[key]},{rng("kind")},{kind},{rng("eligible")},"是"'
            )
            prior = (
                f'ABS(SUMIFS({rng("points_used")},{crit},{rng("date")},"<"&{c["date"]})+'
                f'SUMIFS({rng("points_used")},{crit},{rng("date")},{c["date"]},{rng("row")},"<"&{c["row"]}))'
            )
            cum = f"({prior}+ABS({pu}))"
            partial, reached = ("item_cap_partial", "item_cap_reached") if per_item else ("cap_partial", "cap_reached")
            cap = f"VLOOKUP({c[key]},{'项目分值表' if per_item else '分组上限表'},2,FALSE)"
            used = f"(MIN({cum},{cap})-MIN({cum}-ABS({pu}),{cap}))"
            applied_f = f'=IF({el}="是",IF({kind}="bonus",1,-1)*{used},0)'
            reason_f = (
                f'=IF({c["blocked"]}<>"",{c["blocked"]},'
                f'IF(ABS({c["applied_points"]})=ABS({pu}),"{R_APPLIED}",'
                f'IF({c["applied_points"]}<>0,"{REASONS[partial]}","{REASONS[reached]}")))'
            )
        ws.write_formula(i, at["applied_points"], applied_f, None, float(r.applied_points))
        ws.write_formula(i, at["status"], f'=IF({c["applied_points"]}<>0,"applied","not_applied")', None, str(r.status))
        ws.write_formula(i, at["reason"], reason_f, None, reason)
    rule = {
        "highest_only": (
            "公式: 可计入且等于该党员同类 (加分或减分) 可计入各条的最高 (最大扣分) 分值的那一条计入; "
            "相同的最高分只计最早 (日期, 再按输入行) 的一条"
        ),
        "sum": "公式: 可计入的逐条累加",
        "capped_per_group": (
            "公式: 可计入的按日期 (再按输入行) 逐条累加, 每名党员每组的加分、减分各自不超过该组上限 (参数表 分组上限表)"
        ),
        "capped_per_item": (
            "公式: 可计入的按日期 (再按输入行) 逐条累加, 每名党员每一考评项目的加分、减分各自不超过该项目的分值 "
            "(参数表 项目分值表)"
        ),
    }[combine]
    w.note(
        "加减分",
        sheet,
        {
            "rule_name": "数值: 按加减分代码取自积分方案的加减分目录",
            "kind": "数值: 按加减分代码取自积分方案的加减分目录 (bonus 加分 / deduction 减分)",
            "group": "数值: 按加减分代码取自积分方案的加减分目录",
            "points_used": "数值: 填报分值; 未填时取加减分目录的分值",
            "member_exempt": "公式: 该党员在「结果」表中 不列入积分 为 是",
            "blocked": "公式: 不列入积分的党员、晚于期末月份、按方案须佐证而无佐证材料的不能计入 (依次判断)",
            "eligible": "公式: 没有不计入原因的为 是",
            "best": "公式: 该党员同类可计入各条中的最高加分 (MAX) 或最大扣分 (MIN), 没有可计入的为 0 (数组公式)",
            "applied_points": rule,
            "status": "公式: 计入分值不为 0 为 applied",
            "reason": "公式: 计入或不计入的原因",
        },
    )


def _best(a: pd.DataFrame, r: _AdjustmentRow) -> float:
    """The cached value of the ``best`` column: the highest eligible bonus (or the largest
    eligible deduction) of the row's member, 0 when there is none (as its formula says)."""
    blocked = {REASONS["exempt"], REASONS["after_period"], REASONS["no_evidence"]}
    same = a[(a["member_id"] == r.member_id) & (a["kind"] == r.kind) & ~a["reason"].isin(blocked)]
    if same.empty:
        return 0.0
    return float(same["points_used"].max() if r.kind == "bonus" else same["points_used"].min())
