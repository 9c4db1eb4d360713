"""The formulas of the bands stage (``scoring.rules.engine.bands``): the bands, group and item caps
and tier bounds as tables on 参数, and the quota cells."""

from __future__ import annotations

import numpy as np
from xlsxwriter.worksheet import Worksheet

from ...rules.engine import Result, share_quota
from ...rules.scheme import Band
from .parameters import Params, param
from .spans import BAND_PREFIX
from .writer import Layout, Writer


def tables(w: Writer, result: Result, pr: Params) -> None:
    """Below the key/value rows: bands, group caps and (with their bounds as formulas) tiers."""
    s = result.scheme.scheme
    ws = pr.ws
    top = pr.next_row + 2
    top = band_table(w, ws, top, s.bands, "", "年度")
    for kind, bands in s.period_bands.items():  # a shorter period's own bands
        top = band_table(w, ws, top, bands, BAND_PREFIX[kind], BAND_PREFIX[kind])
    if s.adjustments.combine == "capped_per_item":
        ws.write_row(top, 0, ["考评项目 (item)", "分值 (加分、减分各自上限)", "名称"], w.header)
        for i, it in enumerate(s.items, start=top + 1):
            ws.write_string(i, 0, it.code)
            ws.write_number(i, 1, it.max)
            ws.write_string(i, 2, it.name)
        w.wb.define_name("项目分值表", f"='参数'!$A${top + 2}:$B${top + 1 + len(s.items)}")
        top += len(s.items) + 2
    groups = s.adjustments.groups
    if groups:
        ws.write_row(top, 0, ["加减分分组 (group)", "分组上限 (cap)", "名称"], w.header)
        for i, g in enumerate(groups, start=top + 1):
            ws.write_string(i, 0, g.code)
            ws.write_number(i, 1, float(g.cap or 0))  # the engine caps a group without cap at 0
            ws.write_string(i, 2, g.name)
        w.wb.define_name("分组上限表", f"='参数'!$A${top + 2}:$B${top + 1 + len(groups)}")
        top += len(groups) + 2
    if s.branch_tiers and s.tiers is not None and result.period.kind == "year":
        tiers = s.tiers.tiers
        ws.write_row(top, 0, ["排序档次 (tier)", "比例 (share)", "累计比例", "名次界限 (排名人数×累计比例)"], w.header)
        ws.write_comment(
            top,
            3,
            "名次-1 小于第一个界限的在第一档, 依此类推 (rank - 1 below the first bound: first tier)",
            {"x_scale": 2.2},
        )
        cum = np.cumsum([t.share for t in tiers])
        n_ranked = int(result.annual["rank"].notna().sum())
        bounds = np.round(cum * n_ranked, 9)
        for i, (t, c, b) in enumerate(zip(tiers, cum, bounds, strict=True), start=top + 1):
            ws.write_string(i, 0, t.name)
            ws.write_number(i, 1, t.share)
            ws.write_number(i, 2, float(c))
            ws.write_formula(i, 3, f"=ROUND(C{i + 1}*排名人数,9)", None, float(b))
        w.wb.define_name("档次名称", f"='参数'!$A${top + 2}:$A${top + 1 + len(tiers)}")
        w.wb.define_name("档次界限", f"='参数'!$D${top + 2}:$D${top + 1 + len(tiers)}")
    widths = [24.0, 18.0, 30.0, 14.0]
    for j, width in enumerate(widths):
        ws.set_column(j, j, width)
    w.layout["参数"] = Layout(widths)


def band_table(w: Writer, ws: Worksheet, top: int, bands: list[Band], prefix: str, what: str) -> int:
    """One bands table, ascending as LOOKUP needs, with its columns as defined names
    (``分档下限``, ``季度分档档次`` ...); returns the next free row."""
    ws.write_row(top, 0, [f"{what}分档下限 (min, 升序)", "星级 (stars)", "等级 (grade)", "档次 (tier)"], w.header)
    ascending = list(reversed(bands))
    for i, b in enumerate(ascending, start=top + 1):
        # the lowest band catches everything below the next one, negative totals included
        ws.write_number(i, 0, b.min if i > top + 1 else -1e9)
        w.cell(ws, i, 1, b.stars)
        w.cell(ws, i, 2, b.grade)
        w.cell(ws, i, 3, b.tier)
    first, last = top + 2, top + 1 + len(bands)
    for letter, name in zip("ABCD", ("分档下限", "分档星级", "分档等级", "分档档次"), strict=True):
        w.wb.define_name(f"{prefix}{name}", f"='参数'!${letter}${first}:${letter}${last}")
    return last + 1


def quota_cells(w: Writer, result: Result, pr: Params) -> None:
    """Counts and quotas over 结果, as named formula cells; then the tables below them."""
    s = result.scheme.scheme
    p = result.period
    res = w.sheets["results"]
    if p.kind == "year":
        annual = result.annual
        n_ranked = int(annual["rank"].notna().sum())
        param(
            w,
            pr,
            "ranked",
            "排名人数",
            n_ranked,
            "排名人数",
            formula=f"=COUNT({res.rng('rank')})",
            note="有排名的党员人数 (不含一票否决和不列入积分的党员)",
        )
        if s.annual_star is not None:
            stars = annual["stars"].fillna(-1).to_numpy()
            top = int((annual["rank"].notna().to_numpy() & (stars == s.annual_star.of_stars)).sum())
            param(
                w,
                pr,
                "annual_star_candidates",
                "年度之星候选人数",
                top,
                "年度之星候选人数",
                formula=f'=COUNTIFS({res.rng("stars")},年度之星星级,{res.rng("rank")},">0")',
                note="有排名且星级等于年度之星星级的党员人数",
            )
            param(
                w,
                pr,
                "annual_star_quota",
                "年度之星名额",
                share_quota(s.annual_star.share, top),
                "年度之星名额",
                formula="=ROUNDDOWN(ROUND(年度之星比例*年度之星候选人数,9),0)",
                note="向下取整 (floor)",
            )
    elif p.kind == "quarter" and s.quarter_star is not None:
        q = result.quarters[result.quarters["quarter"] == p.last_month // 3]
        scored = len(q)
        quota = share_quota(s.quarter_star.share, scored) if scored >= s.quarter_star.min_scored_members else 0
        param(
            w,
            pr,
            "quarter_scored",
            "季度参评人数",
            scored,
            "季度参评人数",
            formula=f'=COUNTIF({res.rng("months")},">0")',
            note="本季度计分的党员人数 (含一票否决的党员, 不含不列入积分的党员)",
        )
        param(
            w,
            pr,
            "quarter_star_quota",
            "季度之星名额",
            quota,
            "季度之星名额",
            formula="=IF(季度参评人数>=季度之星最少人数,ROUNDDOWN(ROUND(季度之星比例*季度参评人数,9),0),0)",
            note="参评人数不足最少人数的支部不评选; 向下取整 (floor)",
        )
    tables(w, result, pr)
