"""参数: the scheme's and the period's parameters as named cells every stage's formulas use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xlsxwriter.worksheet import Worksheet

from ...rules.engine import Result
from ...rules.words import COMBINE_WORDS
from .writer import Writer, cached

# -- 参数 -------------------------------------------------------------------------------------


@dataclass
class Params:
    ws: Worksheet
    next_row: int  # the next free row (0-based) of the key/value table


def param(
    w: Writer,
    pr: Params,
    key: str,
    name: str,
    value: Any,
    defined: str | None = None,
    formula: str | None = None,
    note: str | None = None,
) -> None:
    """One key/value row on 参数, optionally a named cell; ``formula`` caches ``value``."""
    i = pr.next_row
    pr.ws.write_string(i, 0, key)
    pr.ws.write_string(i, 1, name)
    if formula is not None:
        pr.ws.write_formula(i, 2, formula, None, cached(value))
    else:
        w.cell(pr.ws, i, 2, value)
    if note:
        pr.ws.write_comment(i, 2, note, {"x_scale": 2.2, "y_scale": 1.4})
    if defined:
        w.wb.define_name(defined, f"='参数'!$C${i + 1}")
    pr.next_row += 1


COMBINE_TEXT: dict[str, str] = {key: f"{text} ({key})" for key, text in COMBINE_WORDS.items()}


VETO_EFFECT_TEXT: dict[str, str] = {
    "forced_grade": "定为否决等级, 积分照常显示 (forced_grade)",
    "no_score": "定为否决等级, 不体现积分 (no_score)",
    "cap": "定为否决等级, 积分不超过否决后积分上限 (cap)",
    "zero": "定为否决等级, 积分计为 0 (zero)",
    "none": "本方案不设一票否决 (none)",
}


def parameters(w: Writer, result: Result) -> Params:
    """Scheme and period parameters as named cells, then the bands, group caps and tiers tables.
    The quota cells, which count rows of 结果, are added by :func:`quota_cells`."""
    s = result.scheme.scheme
    ws = w.wb.add_worksheet("参数")
    ws.write_row(0, 0, ["项目 (key)", "名称", "值 (value)"], w.header)
    pr = Params(ws, 1)
    yes_no = {True: "是", False: "否"}
    param(w, pr, "monthly_weight", "月度权重", s.year.weight, "月度权重")
    param(w, pr, "appraisal_weight", "测评权重", s.appraisal.weight, "测评权重")
    if s.veto.active:
        param(w, pr, "veto_grade", "否决等级", s.veto.grade, "否决等级")
    if s.veto.effect == "cap":
        param(w, pr, "veto_cap", "否决后积分上限", float(s.veto.cap or 0), "否决封顶分")
    if s.base is not None:
        param(w, pr, "base", "基础分", s.base, "基础分", note="扣分从基础分中扣减, 扣完为止 (不低于 0)")
    param(w, pr, "scheme", "积分方案", f"{s.name} {s.version}")
    param(w, pr, "adjustments", "加减分合并", COMBINE_TEXT.get(s.adjustments.combine, s.adjustments.combine))
    param(w, pr, "veto_effect", "一票否决效果", VETO_EFFECT_TEXT.get(s.veto.effect, s.veto.effect))
    param(w, pr, "branch_id", "支部编号", result.branch_id)
    param(w, pr, "branch_name", "支部名称", result.branch_name)
    param(w, pr, "period", "期间", result.period.text)
    param(
        w,
        pr,
        "period_last_month",
        "期末月份",
        result.period.last_month,
        "期末月份",
        note="晚于期末月份的加减分和一票否决不计入本期 (after the period: not counted)",
    )
    param(w, pr, "bonus_evidence_required", "加分须佐证", yes_no[s.adjustments.bonus_evidence_required], "加分须佐证")
    param(
        w,
        pr,
        "deduction_evidence_required",
        "减分须佐证",
        yes_no[s.adjustments.deduction_evidence_required],
        "减分须佐证",
    )
    if s.veto.active:
        param(w, pr, "veto_requires_majority", "否决须举手表决过半数", yes_no[s.veto.requires_majority])
    if s.quarter_star is not None:
        param(w, pr, "quarter_star_share", "季度之星比例", s.quarter_star.share, "季度之星比例")
        param(
            w,
            pr,
            "quarter_star_min_scored",
            "季度之星最少参评人数",
            s.quarter_star.min_scored_members,
            "季度之星最少人数",
        )
    if s.annual_star is not None:
        param(w, pr, "annual_star_share", "年度之星比例", s.annual_star.share, "年度之星比例")
        param(w, pr, "annual_star_of_stars", "年度之星星级", s.annual_star.of_stars, "年度之星星级")
    return pr
