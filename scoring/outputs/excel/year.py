"""The formulas of the year stage (``scoring.rules.engine.year``): 民主测评 averages and 结果 for a
year, every figure a formula over the stages before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
from pandas.api.typing import NAType

from ...labels import shown
from ...rules.engine import Result
from .objections import STAR_NOTES, published_stars, star_reason
from .spans import veto_wrap
from .writer import (
    F_NO,
    F_TIE,
    F_YES,
    Checks,
    Writer,
    cached,
    extreme_where,
    fits,
    labels_of,
    results_header,
    text_literal,
    write_array,
)


class _AnnualRow(Protocol):
    """A row of ``Result.annual``."""

    member_id: str
    name: str
    exempt: str
    veto: str
    base: float
    bonus: float
    deduction: float
    base_points: float
    total_raw: float
    total: float
    stars: np.int64 | NAType
    computed_stars: np.int64 | NAType
    star_reason: str | None
    grade: str | None
    rank: np.int64 | NAType
    tier: str | float  # NaN without a tier
    annual_star: str


# -- the layout of 结果 (needed before it is written: 加减分 refers to its exempt column) ----------


def year_columns(result: Result) -> list[str]:
    s = result.scheme.scheme
    cols: list[str] = ["member_id", "name", "exempt", "veto", "months"]
    if s.year.by == "per_item":
        for c in s.item_codes:
            cols += [f"{c}_mean"] + ([f"{c}_appraisal"] if s.appraisal.mode == "per_item" else []) + [f"{c}_score"]
    elif s.cadence != "none":
        cols += ["monthly_mean"] + (["appraisal"] if s.appraisal.mode == "single" else [])
    elif s.appraisal.mode == "single":
        cols += ["appraisal"]
    cols += [] if s.cadence == "none" else ["base"]
    cols += ["base_points"] if s.base is not None else []
    cols += ["bonus", "deduction"] if s.year.events else []
    cols += ["total_raw", "total"]
    cols += ["stars", "computed_stars", "star_reason"] if s.has_stars else []  # 党支部定星 beside the score's
    cols += (["grade"] if s.has_grades else []) + ["rank_basis", "rank"]
    tiers = s.branch_tiers or s.band_tiers
    cols += (["tier"] if tiers else []) + (["annual_star"] if s.annual_star is not None else [])
    return cols


# what a vetoed member of a no-score scheme still shows (SPEC 3.2): the months, grade and veto
SHOWN_UNDER_VETO = frozenset(
    {"veto", "months", "stars", "computed_stars", "star_reason", "grade", "rank_basis", "rank", "tier", "annual_star"}
)


def appraisal(w: Writer, result: Result) -> None:
    s = result.scheme.scheme
    cols = s.item_codes if s.appraisal.mode == "per_item" else ["score"]
    app = result.appraisal
    keep = ["member_id", "ballots"] + [f"{c}_{k}" for c in cols for k in ("raters", "sum", "average")]
    sheet = w.table(
        "民主测评", app[keep], labels_of(result), key="appraisal", formulas=tuple(f"{c}_average" for c in cols)
    )
    ws = w.wb.get_worksheet_by_name("民主测评")
    for c in cols:
        avg, n, tot = sheet.columns[f"{c}_average"], sheet.col(f"{c}_raters"), sheet.col(f"{c}_sum")
        for i, v in enumerate(app[f"{c}_average"].to_numpy(), start=1):
            if np.isnan(v):
                continue
            ws.write_formula(i, avg, f"={tot}{i + 1}/{n}{i + 1}", w.number, float(v))


def year_results(w: Writer, result: Result, ws: Any, checks: Checks) -> None:
    """结果 for a year: one row per member, every score a formula."""
    s = result.scheme.scheme
    items = s.item_codes
    annual = result.annual.reset_index(drop=True)
    years = result.item_year.set_index("member_id").to_dict("index")  # one dict lookup per member
    ms, mt, adj, vet = w.sheets["scores"], w.sheets["totals"], w.sheets["adjustments"], w.sheets["vetoes"]
    app = w.sheets.get("appraisal")
    appr = (
        result.appraisal.set_index("member_id")["score_average"].to_dict()
        if "appraisal" in w.sheets and "score_average" in result.appraisal.columns
        else {}
    )

    res = w.sheets["results"]
    at = res.columns
    header_labels = labels_of(result)
    results_header(w, ws, res, header_labels)
    fits("结果", len(annual))
    col = res.col

    def ref(key: str, row: int) -> str:
        return f"{col(key)}{row}"

    def on(key: str, row: int) -> str:
        return f"'结果'!{col(key)}{row}"

    rank_range = f"${col('rank_basis')}$2:${col('rank_basis')}${max(2, len(annual) + 1)}"
    highest = s.adjustments.combine == "highest_only"
    tier_count = len(s.tiers.tiers) if s.tiers is not None else 0
    no_score = s.no_score_veto

    for i, a in enumerate(cast(Iterator[_AnnualRow], annual.itertuples(index=False)), start=1):
        row = i + 1
        mid = str(a.member_id)

        def put(
            key: str,
            formula: str,
            value: Any,
            fmt: Any = None,
            check: bool = True,
            row: int = row,
            mid: str = mid,
            array: bool = False,
        ) -> None:
            if no_score and key not in SHOWN_UNDER_VETO and key not in ("total_raw", "total"):
                # 不体现积分: every figure of a vetoed member is blank, by the formula itself
                formula = f'=IF({ref("veto", row)}={F_YES},"",{formula[1:]})'
            if array:
                write_array(ws, row - 1, at[key], formula, fmt, cached(value))
            else:
                ws.write_formula(row - 1, at[key], formula, fmt, cached(value))
            if check:
                checks.add(mid, key, header_labels.get(key), on(key, row), value)

        ws.write_string(i, at["member_id"], mid)
        ws.write_string(i, at["name"], str(a.name))
        ws.write_string(i, at["exempt"], shown(a.exempt))
        vcrit = f'{vet.rng("member_id")},$A{row},{vet.rng("applies")},"是"'
        put("veto", f"=IF(COUNTIFS({vcrit})>0,{F_YES},{F_NO})", a.veto)
        veto_cell = ref("veto", row)
        if a.exempt == "yes":  # not scored: hand-entered stars; only a veto overrides them
            if s.has_stars:
                if pd.notna(a.computed_stars):
                    ws.write_number(i, at["computed_stars"], int(a.computed_stars))
                # a committee's decision for an exempt member equals his hand-rated stars (reading)
                put("stars", published_stars(w, row, veto_cell, ref("computed_stars", row)), a.stars)
                put("star_reason", star_reason(w, row, veto_cell), a.star_reason)
            if a.veto == "yes":
                if "grade" in at:
                    put("grade", f'=IF({veto_cell}={F_YES},否决等级,"")', str(a.grade))
                if s.branch_tiers and s.tiers is not None and pd.notna(a.tier):
                    put("tier", f'=IF({veto_cell}={F_YES},{text_literal(s.tiers.veto_tier or "")},"")', a.tier)
            elif "grade" in at and shown(a.grade) != "":  # the grade of the hand-entered stars
                ws.write_string(i, at["grade"], str(a.grade))
            continue
        y = years[mid]
        if s.cadence == "none":  # no item scores: the months in the branch (党员名单), a value
            ws.write_number(i, at["months"], int(y["months"]))
        else:
            put("months", f"=COUNTIFS({ms.rng('member_id')},$A{row})", int(y["months"]))
        crit = f"{ms.rng('member_id')},$A{row}"
        per = "" if s.year.combine == "sum" else f"/{ref('months', row)}"  # the year: sum or mean
        if s.year.by == "per_item":
            parts = []
            for c in items:
                put(f"{c}_mean", f"=SUMIFS({ms.rng(c)},{crit}){per}", float(y[f"{c}_mean"]), w.number)
                score_formula = f"={ref(f'{c}_mean', row)}*月度权重"
                if s.appraisal.mode == "per_item":
                    assert app is not None  # 民主测评 is written for a year with an appraisal
                    put(
                        f"{c}_appraisal",
                        f"=INDEX({app.rng(f'{c}_average')},MATCH($A{row},{app.rng('member_id')},0))",
                        float(y[f"{c}_appraisal"]),
                        w.number,
                    )
                    score_formula += f"+{ref(f'{c}_appraisal', row)}*测评权重"
                put(f"{c}_score", score_formula, float(y[f"{c}_score"]), w.number)
                parts.append(ref(f"{c}_score", row))
            base_formula = f"=SUM({parts[0]}:{parts[-1]})" if len(parts) == 1 else "=" + "+".join(parts)
        else:
            if s.cadence != "none":
                mean_f = f"=SUMIFS({mt.rng('figure')},{mt.rng('member_id')},$A{row}){per}"
                put("monthly_mean", mean_f, float(y["monthly_mean"]), w.number)
            base_formula = f"={ref('monthly_mean', row)}*月度权重" if s.cadence != "none" else "=0"
            if s.appraisal.mode == "single":
                assert app is not None  # 民主测评 is written for a year with an appraisal
                put(
                    "appraisal",
                    f"=INDEX({app.rng('score_average')},MATCH($A{row},{app.rng('member_id')},0))",
                    float("nan") if no_score and a.veto == "yes" else float(appr[mid]),
                    w.number,
                )
                if s.appraisal.combine == "weighted":
                    base_formula += f"+{ref('appraisal', row)}*测评权重"
        parts = []
        if "base" in at:
            put("base", base_formula, float(a.base), w.number)
            parts.append(ref("base", row))
        if s.year.events:
            if highest:
                # the highest ELIGIBLE bonus and the largest eligible deduction, counted once each,
                # over the rows that pass the checks on 加减分 (not over rows already picked)
                eligible = [f"{adj.rng('member_id')}=$A{row}", f'{adj.rng("eligible")}="是"']
                used = adj.rng("points_used")
                bonus_f = "=" + extreme_where("MAX", used, [*eligible, f'{adj.rng("kind")}="bonus"'])
                ded_f = "=" + extreme_where("MIN", used, [*eligible, f'{adj.rng("kind")}="deduction"'])
            else:
                acrit = f"{adj.rng('member_id')},$A{row}"
                bonus_f = f'=SUMIFS({adj.rng("applied_points")},{acrit},{adj.rng("applied_points")},">0")'
                ded_f = f'=SUMIFS({adj.rng("applied_points")},{acrit},{adj.rng("applied_points")},"<0")'
            put("bonus", bonus_f, float(a.bonus), w.number, array=highest)
            put("deduction", ded_f, float(a.deduction), w.number, array=highest)
            if s.base is not None:  # deductions draw from the constant base, never below 0 (SPEC 3.5)
                put("base_points", f"=MAX(0,基础分+{ref('deduction', row)})", float(a.base_points), w.number)
                parts += [ref("base_points", row), ref("bonus", row)]
            else:
                parts += [ref("bonus", row), ref("deduction", row)]
        if s.appraisal.mode == "single" and s.appraisal.combine == "added":  # 评议分, added as it is
            parts.append(ref("appraisal", row))
        vetoed = f"{veto_cell}={F_YES}"
        raw_f = "+".join(parts) or "0"
        put("total_raw", f"={veto_wrap(s, vetoed, raw_f)}", a.total_raw)
        if no_score:
            total_f = f'=IF({veto_cell}={F_YES},"",ROUND({ref("total_raw", row)},2))'
        else:
            total_f = f"=ROUND({ref('total_raw', row)},2)"
        put("total", total_f, a.total, w.number)
        tot = ref("total", row)
        if s.has_stars:
            computed_f = f'=IF({veto_cell}={F_YES},"",LOOKUP({tot},分档下限,分档星级))'
            put("computed_stars", computed_f, a.computed_stars)
            put("stars", published_stars(w, row, veto_cell, ref("computed_stars", row)), a.stars)
            put("star_reason", star_reason(w, row, veto_cell), a.star_reason)
        if s.has_grades:
            grade_f = f"LOOKUP({tot},分档下限,分档等级)"
            put("grade", f"=IF({vetoed},否决等级,{grade_f})" if s.veto.active else f"={grade_f}", str(a.grade))
        if s.band_tiers:
            put("tier", f'=IF({tot}="","",LOOKUP({tot},分档下限,分档档次))', a.tier)
        basis = "" if a.veto == "yes" else a.total
        put("rank_basis", f'=IF({veto_cell}={F_YES},"",{tot})', basis, w.number, check=False)
        rk = ref("rank", row)
        put("rank", f'=IF({ref("rank_basis", row)}="","",RANK({ref("rank_basis", row)},{rank_range}))', a.rank)
        if s.branch_tiers and s.tiers is not None:
            veto_tier = s.tiers.veto_tier or ""
            # the first tier whose bound (排名人数 x cumulative share) exceeds rank - 1
            tier_f = (
                f"=IF({veto_cell}={F_YES},{text_literal(veto_tier)},"
                f'IF({rk}="","",INDEX(档次名称,MIN(COUNTIF(档次界限,"<="&({rk}-1))+1,{tier_count}))))'
            )
            put("tier", tier_f, a.tier)
        if s.annual_star is not None:
            top = f'{res.rng("stars")},年度之星星级,{res.rng("rank")},">0"'
            higher = f'COUNTIFS({top},{res.rng("total")},">"&{tot})'
            star_f = (
                f"=IF(AND(ISNUMBER({rk}),{ref('stars', row)}=年度之星星级),"
                f"IF({higher}+COUNTIFS({top},{res.rng('total')},{tot})<=年度之星名额,{F_YES},"
                f"IF({higher}+1<=年度之星名额,{F_TIE},{F_NO})),{F_NO})"
            )
            put("annual_star", star_f, a.annual_star)
    notes = {
        "exempt": "数值: 党员名单中 不列入积分 (exempt)",
        **STAR_NOTES,
        "grade": "公式; 不列入积分的党员按直接评定的星级定等级 (程序计算值), 受一票否决的为 否决等级 (公式)",
        "rank": "公式: RANK, 并列同名次; 一票否决和不列入积分的党员不排名",
        "tier": "公式: 按 名次-1 与「参数」表 名次界限 (排名人数 × 累计比例) 比较确定档次; 一票否决列入方案规定的档次",
        "annual_star": (
            "公式: 有排名且星级等于 年度之星星级 的党员中, 高于本人的人数 + "
            "与本人并列的人数不超过 年度之星名额 为 是; "
            "本人名次在名额内但并列跨过名额线为 并列待定 (由支委会研究); 否则为 否"
        ),
        "bonus": "公式: 「加减分」中该党员可计入各条的最高加分 (MAX, 数组公式), 只计一次, 没有为 0"
        if highest
        else "公式: 「加减分」中该党员计入的加分之和",
        "deduction": "公式: 「加减分」中该党员可计入各条的最大扣分 (MIN, 数组公式), 只计一次, 没有为 0"
        if highest
        else "公式: 「加减分」中该党员计入的减分之和",
    }
    w.note("结果", res, notes)
