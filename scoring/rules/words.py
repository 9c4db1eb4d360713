"""The scheme's own words for what an officer reads: what a sub-period of the cadence is called
(月度, 季度, 年度), what a column means in this scheme (``months`` counts quarters when quarters are
scored), how each figure is formed, in Chinese. Shared by the run notebook and the explorer."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .scheme import Band, Scheme

SUB_WORDS: dict[str, str] = {"month": "月度", "quarter": "季度", "year": "年度"}  # one sub-period of the cadence
CADENCE_TEXT: dict[str, str] = {
    "month": "每月评分 (cadence: month)",
    "quarter": "每季度评分一次 (cadence: quarter)",
    "year": "每年评分一次 (cadence: year)",
    "none": "不评项目分, 积分只来自加减分和民主评议 (cadence: none)",
}
# what ``months`` counts: the sub-periods scored, or (no item scores) the months in the branch
# how the reader's messages say the cadence: 方案 X 按季度评分 (cadence: quarter)
CADENCE_WORDS: dict[str, str] = {
    "month": "按月评分",
    "quarter": "按季度评分",
    "year": "按年度评分",
    "none": "没有项目评分",
}
MONTHS_WORDS: dict[str, str] = {"month": "计分月数", "quarter": "计分季度数", "year": "计分年数", "none": "在支部月数"}
COMBINE_WORDS: dict[str, str] = {
    "highest_only": "只计最高一项加分和最大一项减分, 不累计",
    "sum": "计入的加分、减分全部累加",
    "capped_per_group": "加分、减分累加, 每组各自封顶",
    "capped_per_item": "加分、减分累加, 各自以所属考评项目的分值封顶",
}
SOURCE_WORDS: dict[str, str] = {
    "scheme bands": "积分方案的分档规定",
    "scheme veto": "积分方案的一票否决规定",
    "scheme base": "积分方案的基础分",
}


def column_names(s: Scheme) -> dict[str, str]:
    """Names of the columns that are the scheme's own: items by code, item groups' subtotals."""
    names = {i.code: i.name for i in s.items}
    names.update({f"group_{g.code}": f"{g.name}小计" for g in s.item_groups})
    return names


def sub_word(s: Scheme) -> str:
    """月度, 季度 or 年度: one sub-period of the scheme's cadence ("" for a scheme without item scores)."""
    return SUB_WORDS.get(s.cadence, "")


def sub_period_text(s: Scheme, year: int, month: Any) -> str:
    """A sub-period, dated by its last month, as the input workbook names it: 2025-03, 2025Q1, 2025."""
    if month is None or pd.isna(month):
        return ""
    m = int(month)
    return {"quarter": f"{year}Q{(m - 1) // 3 + 1}", "year": f"{year}"}.get(s.cadence, f"{year}-{m:02d}")


def veto_text(s: Scheme) -> str:
    """The scheme's veto in Chinese: its effect, and whether the branch votes on it."""
    v = s.veto
    if not v.active:
        return "本方案没有一票否决"
    effect = {
        "forced_grade": f"评为{v.grade}, 积分照常显示",
        "no_score": f"不显示积分, 评为{v.grade}",
        "cap": f"总分不超过 {v.cap or 0:g} 分, 评为{v.grade}",
        "zero": f"总分记为 0, 评为{v.grade}",
    }[v.effect]
    return effect + ("; 须全体党员过半数赞成才生效" if v.requires_majority else "")


def year_text(s: Scheme) -> str:
    """How the year's figure is formed, the appraisal and the year's adjustments included (a
    scheme without item scores: the constant base less the deductions, the bonuses, the appraisal)."""
    a = s.appraisal
    if a.mode == "none":
        appraisal = ""
    elif a.combine == "added":
        appraisal = " + 评议分 (民主测评平均, 直接加入)"
    else:
        appraisal = f" + 民主测评平均 × {a.weight:.0%}"
    if s.cadence == "none":
        base = f"基础分 ({s.base:g} - 扣分, 不低于 0) + 加分" if s.base is not None else "加分 - 扣分"
        return f"年度积分 = {base}{appraisal}"
    events = " + 加分 - 减分" if s.year.events else ""
    return s.period_text("year") + appraisal + events


def appraisal_text(s: Scheme) -> str:
    a = s.appraisal
    if a.mode == "none":
        return "本方案没有民主测评"
    ballot = (
        "每张票逐项打分" if a.mode == "per_item" else f"每张票一个分数 (满分 {a.max:g})" if a.max else "每张票一个分数"
    )
    how = f"权重 {a.weight:.0%}" if a.combine == "weighted" else "平均分直接加入年度积分 (不加权)"
    raters = f", 至少 {a.min_raters} 人测评" if a.min_raters else ""
    return f"民主测评: {ballot}, 取平均; {how}{raters}"


def band_name(b: Band) -> str:
    """What a band awards, as an officer names it: 10星, 优秀, 标杆型."""
    return f"{b.stars}星" if b.stars is not None else b.label


def bands_text(s: Scheme, kind: str) -> str:
    """The bands of a kind of period: ``≥90 优秀, ≥70 合格, ...`` ("" when the kind is not banded)."""
    return ", ".join(f"≥{b.min:g} {band_name(b)}" for b in s.bands_for(kind) or [])


def words(s: Scheme, table: str = "") -> dict[str, str]:
    """Chinese words for the columns of one table where the general label would mislead for this
    scheme (a quarter's total is not a 年度总积分; ``months`` counts quarters when they are scored).
    ``table``: ``totals`` (the sub-periods' totals), ``year`` (the year's composition), or a kind of
    period (``quarter``, ``half``: its figures, running ones for a year-to-date scheme)."""
    out = {"months": MONTHS_WORDS[s.cadence]}
    sub = sub_word(s)
    if table == "totals":
        out["total"] = f"{sub}总分"
    if table == "year" and s.cadence in ("quarter", "year"):
        out["monthly_sum"] = f"各{sub}得分合计" if s.cadence == "quarter" else "年度项目得分合计"
        out["monthly_mean"] = f"{sub}平均得分" if s.cadence == "quarter" else "年度项目得分"
    running = {"quarter": "季末", "half": "半年末"}
    if table in running and s.period(table).combine == "year_to_date":  # the card's running columns
        out |= {"bonus": "目前已得加分", "deduction": "累计扣分", "base_points": "目前已得基础分"}
        out |= {"score": f"截至{running[table]}积分", "score_rounded": f"截至{running[table]}积分(两位小数)"}
    return out
