"""The formulas of the published stage (``scoring.rules.engine.published``): 结果 for a month, a
quarter or a half-year, read from the sheets where the period's figure is formed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pandas as pd

from ...labels import shown
from ...rules.engine import Result
from ...rules.engine.published import QUARTER_EXTRAS
from .writer import F_NO, F_TIE, F_YES, Checks, Record, Writer, cached, fits, labels_of, results_header


def period_key(result: Result) -> str:
    return {"month": "month_total", "quarter": "quarter_score", "half": "half_score"}[result.period.kind]


def period_columns(result: Result) -> list[str]:
    s = result.scheme.scheme
    p = result.period
    cols = ["member_id", "name", "exempt", "veto", "months", period_key(result)]
    bands = s.bands_for(p.kind) or []  # the period's own bands give a grade and/or a tier
    banded = [k for k in ("grade", "tier") if bands and getattr(bands[0], k) is not None]
    if p.kind == "month":
        cols += ["rank_basis", "month_rank", *banded]
    if p.kind == "quarter":
        cols += ["rank_basis", "quarter_rank"] + (["quarter_star"] if s.quarter_star is not None else [])
        cols += [k for k in QUARTER_EXTRAS if k in result.quarters]
    elif p.kind == "half":
        cols += [f"q{q}_star" for q in p.quarters] if s.quarter_star is not None else []
        cols += banded
    return cols


def period_results(w: Writer, result: Result, ws: Any, checks: Checks) -> None:
    """结果 for a month, quarter or half-year: the period's score as a formula over 月度总分; for
    a quarter its rank and 季度之星, for a half-year its quarters' stars from 季度汇总."""
    s = result.scheme.scheme
    p = result.period
    mt, vet = w.sheets["totals"], w.sheets["vetoes"]
    summ = result.figures().reset_index(drop=True)
    key = period_key(result)
    res = w.sheets["results"]
    at = res.columns
    labels = labels_of(result)
    results_header(w, ws, res, labels)
    fits("结果", len(summ))
    mt_ = result.monthly_totals
    months_in = mt_.loc[mt_["month"].between(p.first_month, p.last_month), "member_id"].value_counts().to_dict()
    col = res.col
    last = max(2, len(summ) + 1)
    rank_range = f"${col('rank_basis')}$2:${col('rank_basis')}${last}" if "rank_basis" in at else ""
    quarters = w.sheets.get("quarter")
    span = w.sheets.get(p.kind)  # 季度汇总 / 半年汇总: the period's figure is formed there, once
    rank_key = {"month": "month_rank", "quarter": "quarter_rank"}.get(p.kind, "")
    for i, r in enumerate(cast(Iterator[Record], summ.itertuples(index=False)), start=1):
        row = i + 1
        rd = r._asdict()
        mid = str(rd["member_id"])

        def put(
            k: str, formula: str, value: Any, fmt: Any = None, check: bool = True, row: int = row, mid: str = mid
        ) -> None:
            ws.write_formula(row - 1, at[k], formula, fmt, cached(value))
            if check:
                checks.add(mid, k, labels.get(k), f"'结果'!{col(k)}{row}", value)

        ws.write_string(i, at["member_id"], mid)
        ws.write_string(i, at["name"], str(rd["name"]))
        ws.write_string(i, at["exempt"], shown(rd["exempt"]))
        # a veto that applies in this period (dated by its end): no rank, no star
        vetoed = f'COUNTIFS({vet.rng("member_id")},$A{row},{vet.rng("applies")},"是")>0'
        put("veto", f"=IF({vetoed},{F_YES},{F_NO})", rd["veto"])
        if rd["exempt"] == "yes":
            continue
        crit = (
            f'{mt.rng("member_id")},$A{row},{mt.rng("month")},">={p.first_month}",{mt.rng("month")},"<={p.last_month}"'
        )
        if s.cadence == "none":  # no item scores: the months in the branch (党员名单), a value
            ws.write_number(i, at["months"], int(0 if pd.isna(rd.get("months")) else rd["months"]))
        else:
            put("months", f"=COUNTIFS({crit})", int(months_in.get(mid, 0)))
        months = f"{col('months')}{row}"
        if span is None:  # a month: its total from 月度总分
            figure = f"ROUND(SUMIFS({mt.rng('total')},{crit}),2)"
            if s.no_score_veto:
                figure = f'IF({col("veto")}{row}={F_YES},"",{figure})'
        else:
            look = f'$A{row}&"|"&{p.quarters[-1] if p.kind == "quarter" else (1 if p.first_month == 1 else 2)}'
            figure = f"INDEX({span.rng('score_rounded')},MATCH({look},{span.rng('key')},0))"
        put(key, f'=IF({months}=0,"",{figure})', rd[key], w.number)
        if span is None:  # a month's own bands, over its total
            for band in (b for b in ("grade", "tier") if b in at):
                column = "分档等级" if band == "grade" else "分档档次"
                total = f"{col(key)}{row}"
                put(band, f'=IF({total}="","",LOOKUP({total},月度分档下限,月度{column}))', rd[band])
        else:
            for extra in (
                e for e in dict.fromkeys((*QUARTER_EXTRAS, "grade", "tier")) if e in at and e in span.columns
            ):
                fmt = None if extra in ("grade", "tier") else w.number
                value = f"INDEX({span.rng(extra)},MATCH({look},{span.rng('key')},0))"
                put(extra, f'=IF({months}=0,"",{value})', rd[extra], fmt)
        if rank_key:
            basis_v = rd[key] if pd.notna(rd[rank_key]) else ""
            basis_f = f'=IF(OR({months}=0,{col("veto")}{row}={F_YES}),"",{col(key)}{row})'
            put("rank_basis", basis_f, basis_v, w.number, check=False)
            rk = f"{col(rank_key)}{row}"
            put(
                rank_key,
                f'=IF({col("rank_basis")}{row}="","",RANK({col("rank_basis")}{row},{rank_range}))',
                rd[rank_key],
            )
        if p.kind == "quarter" and "quarter_star" in at:
            ranks = f"${col('quarter_rank')}$2:${col('quarter_rank')}${last}"
            star_f = (
                f'=IF({months}=0,"",IF({rk}="",{F_NO},'
                f"IF({rk}+COUNTIF({ranks},{rk})-1<=季度之星名额,{F_YES},"
                f"IF({rk}<=季度之星名额,{F_TIE},{F_NO}))))"
            )
            put("quarter_star", star_f, rd["quarter_star"])
        for q in p.quarters if p.kind == "half" else []:
            k = f"q{q}_star"
            if k in at and quarters is not None:
                look_q = (
                    f'=IFERROR(INDEX({quarters.rng("quarter_star")},MATCH($A{row}&"|"&{q},{quarters.rng("key")},0)),"")'
                )
                put(k, look_q, rd.get(k))
    notes = {
        "exempt": "数值: 党员名单中 不列入积分 (exempt)",
        "quarter_rank": "公式: RANK, 并列同名次; 一票否决的党员不排名",
        "month_rank": "公式: RANK, 并列同名次; 一票否决的党员不排名",
        "veto": "公式: 本期末以前有生效的一票否决为 是",
        "quarter_star": (
            "公式: 名次 + 并列人数 - 1 不超过 季度之星名额 (参数表) 为 是; "
            "名次在名额内但并列跨过名额线为 并列待定 (由支委会研究); 否则为 否"
        ),
    }
    notes |= {f"q{q}_star": "公式: 取自「季度汇总」" for q in p.quarters}
    w.note("结果", res, notes)
