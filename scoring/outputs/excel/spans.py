"""The formulas of the spans stage (``scoring.rules.engine.spans``): 季度汇总 and 半年汇总 formed as
``periods.<span>`` says, the veto's effect, ranks, quotas and 季度之星."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
from pandas.api.typing import NAType

from ...labels import label
from ...rules.engine import Result, sub_events
from ...rules.scheme import Scheme
from .writer import F_NO, F_TIE, F_YES, Checks, Writer, cached, labels_of, plain


class _SpanRow(Protocol):
    """A row of ``Result.quarters`` (or, without rank, quota and star, of ``Result.halves``)."""

    member_id: str
    months: int
    score: float
    score_rounded: float
    rank: np.int64 | NAType
    scored_members: int
    quota: int
    quarter_star: str

    def _asdict(self) -> dict[str, Any]: ...


# the prefix of the defined names of each period's bands on 参数 (季度分档下限 ...)
BAND_PREFIX = {"month": "月度", "quarter": "季度", "half": "半年", "year": ""}


def veto_wrap(s: Scheme, vetoed: str, formula: str) -> str:
    """``formula`` under the scheme's veto when ``vetoed`` holds: blank, capped at 否决封顶分, or 0."""
    effect = s.veto.effect
    if effect == "no_score":
        return f'IF({vetoed},"",{formula})'
    if effect == "cap":
        return f"IF({vetoed},MIN({formula},否决封顶分),{formula})"
    if effect == "zero":
        return f"IF({vetoed},0,{formula})"
    return formula


# -- intermediate sheets ----------------------------------------------------------------------


def spans(w: Writer, result: Result, span: str, name: str, table: pd.DataFrame, checks: Checks) -> None:
    """Quarter or half-year sheet: months and score as formulas over 月度总分; for quarters also
    eligibility (no veto by the quarter's end), rank, quota and 季度之星 as formulas."""
    s = result.scheme.scheme
    mt, vet = w.sheets["totals"], w.sheets["vetoes"]
    stars = span == "quarter" and s.quarter_star is not None
    events = [k for k in ("span_bonus", "span_deduction", "bonus", "deduction", "base_points") if k in table]
    cols = ["member_id", span, "key", "months", *events, "score", "score_rounded"]
    banded = [k for k in ("grade", "tier") if k in table]  # what the span's own bands give
    if span == "quarter":
        cols += ["eligible", "rank", "scored_members"] + (["quota", "quarter_star"] if stars else [])
    cols += banded
    df = table.reset_index(drop=True)
    formulas = tuple(c for c in cols if c not in ("member_id", span))
    sheet = w.table(name, df.reindex(columns=cols), labels_of(result), key=span, formulas=formulas)
    ws = w.wb.get_worksheet_by_name(name)
    size = 3 if span == "quarter" else 6
    at = sheet.columns
    c = {k: sheet.col(k) for k in cols}
    rule = s.period(span)
    ytd = rule.combine == "year_to_date"
    adj = w.sheets["adjustments"]
    prefix = "q" if span == "quarter" else "h"
    for i, r in enumerate(cast(Iterator[_SpanRow], df.itertuples(index=False)), start=1):
        row = i + 1
        n = int(getattr(r, span))
        first_month, last_month = 1 if ytd else (n - 1) * size + 1, n * size
        own_first = (n - 1) * size + 1
        member = f"${c['member_id']}{row}"
        crit = f'{mt.rng("member_id")},{member},{mt.rng("month")},">={first_month}",{mt.rng("month")},"<={last_month}"'
        if s.cadence == "none":  # no item scores: the months in the branch (党员名单), a value
            ws.write_number(i, at["months"], int(r.months))
            items_f = ""
        else:
            ws.write_formula(i, at["months"], f"=COUNTIFS({crit})", None, int(r.months))
            items_f = f"SUMIFS({mt.rng('figure')},{crit})"
            if rule.combine != "sum":
                items_f = f"IF({c['months']}{row}=0,0,{items_f}/{c['months']}{row})"
            if ytd:  # the year's formula to the span's end: its item part x the year's weight
                items_f = f"{items_f}*月度权重"
        rd = r._asdict()

        def events_f(kind: str, first: int, member: str = member, last: int = last_month) -> str:
            sign = '">0"' if kind == "bonus" else '"<0"'
            return (
                f"SUMIFS({adj.rng('applied_points')},{adj.rng('member_id')},{member},"
                f'{adj.rng("month")},">={first}",{adj.rng("month")},"<={last}",{adj.rng("applied_points")},{sign})'
            )

        for k in events:
            kind = "bonus" if k.endswith("bonus") else "deduction"
            f = events_f(kind, own_first if k.startswith("span_") else first_month)
            if k == "base_points":  # deductions draw from the constant base, never below 0
                f = f"MAX(0,基础分+{c['deduction']}{row})"
            ws.write_formula(i, at[k], f"={f}", w.number, float(rd[k]))
        parts = [items_f] if items_f else []
        if "bonus" in events and not sub_events(s):  # events enter here (not already in the sub-periods)
            if "base_points" in events:
                parts += [f"{c['base_points']}{row}", f"{c['bonus']}{row}"]
            else:
                parts += [f"{c['bonus']}{row}", f"{c['deduction']}{row}"]
        score_f = "+".join(parts) or "0"
        reached = (
            f'COUNTIFS({vet.rng("member_id")},{member},{vet.rng("applies")},"是",{vet.rng("month")},"<={last_month}")'
        )
        score_f = veto_wrap(s, reached + ">0", score_f)
        ws.write_formula(i, at["score"], f"={score_f}", w.number, cached(r.score))
        rounded_f = f"ROUND({c['score']}{row},2)"
        if s.no_score_veto:
            rounded_f = f'IF({c["score"]}{row}="","",{rounded_f})'
        ws.write_formula(i, at["score_rounded"], f"={rounded_f}", w.number, cached(r.score_rounded))
        mid = str(r.member_id)
        group = 1 if span == "quarter" else 2

        def check(k: str, value: Any, mid: str = mid, n: int = n, row: int = row, group: int = group) -> None:
            key = f"{prefix}{n}_{k}"  # q3_rank: 第3季度排名 (q3_rank)
            checks.add(mid, key, label(key), f"'{name}'!{c[k]}{row}", value, group=group)

        check("months", int(r.months))
        for k in events:
            check(k, float(rd[k]))
        check("score", plain(r.score))
        check("score_rounded", plain(r.score_rounded))
        ws.write_formula(i, at["key"], f'={c["member_id"]}{row}&"|"&{c[span]}{row}', None, f"{mid}|{n}")
        prefix_name = BAND_PREFIX[span]
        for k in banded:  # the span's own bands (seed 003 季末亮分)
            rounded = f"{c['score_rounded']}{row}"
            column = "分档等级" if k == "grade" else "分档档次"
            band_f = f'=IF({rounded}="","",LOOKUP({rounded},{prefix_name}分档下限,{prefix_name}{column}))'
            ws.write_formula(i, at[k], band_f, None, cached(rd[k]))
            check(k, rd[k])
        if span != "quarter":
            continue
        # vetoed by the quarter's end: no rank, no star (engine.quarter_stars)
        vetoed = (
            f'COUNTIFS({vet.rng("member_id")},{c["member_id"]}{row},{vet.rng("applies")},"是",'
            f'{vet.rng("month")},"<="&(3*{c["quarter"]}{row}))'
        )
        eligible = pd.notna(r.rank)
        ws.write_formula(i, at["eligible"], f'=IF({vetoed}>0,"否","是")', None, "是" if eligible else "否")
        same_quarter = f"{sheet.rng('quarter')},{c['quarter']}{row}"
        ws.write_formula(
            i,
            at["rank"],
            f'=IF({c["eligible"]}{row}="是",1+COUNTIFS({same_quarter},{sheet.rng("eligible")},"是",{sheet.rng("score_rounded")},">"&{c["score_rounded"]}{row}),"")',
            None,
            cached(r.rank),
        )
        ws.write_formula(i, at["scored_members"], f"=COUNTIFS({same_quarter})", None, int(r.scored_members))
        check("rank", r.rank)
        if stars:
            sc = f"{c['scored_members']}{row}"
            ws.write_formula(
                i,
                at["quota"],
                f"=IF({sc}>=季度之星最少人数,ROUNDDOWN(ROUND(季度之星比例*{sc},9),0),0)",
                None,
                int(r.quota),
            )
            rk, qt = f"{c['rank']}{row}", f"{c['quota']}{row}"
            star_f = (
                f'=IF({c["eligible"]}{row}<>"是",{F_NO},'
                f"IF({rk}+COUNTIFS({same_quarter},{sheet.rng('rank')},{rk})-1<={qt},{F_YES},"
                f"IF({rk}<={qt},{F_TIE},{F_NO})))"
            )
            ws.write_formula(i, at["quarter_star"], star_f, None, cached(r.quarter_star))
            check("quarter_star", r.quarter_star)
    if span == "quarter":
        notes = {
            "eligible": "公式: 季度末以前没有生效的一票否决为 是 (vetoed by the quarter's end: not ranked, no star)",
            "rank": "公式: 同季度可参评党员中积分(两位小数)更高的人数 + 1; 并列同名次",
            "scored_members": "公式: 本季度计分的党员人数 (含一票否决的党员)",
            "quota": "公式: 参评人数不少于 季度之星最少人数 时为 向下取整(季度之星比例 × 参评人数), 否则 0",
            "quarter_star": (
                "公式: 名次 + 并列人数 - 1 不超过名额为 是; "
                "名次在名额内但并列跨过名额线为 并列待定 (由支委会研究); 否则为 否"
            ),
        }
        w.note(name, sheet, notes)
