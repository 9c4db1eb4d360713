"""The formulas of the items stage (``scoring.rules.engine.items``): each sub-period's item scores,
group subtotals, total, events and figure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Protocol, cast

from ...rules.engine import Result
from .indicators import category_formula
from .writer import LabelMap, Writer

# Rows of ``DataFrame.itertuples(index=False)`` as this module reads them. pandas-stubs types every
# field as any scalar; these name the columns used and the types the result's tables hold
# (an ``Int64`` column gives a numpy integer or pd.NA).


class _AmendmentRow(Protocol):
    """A row of ``Result.amendments``."""

    member_id: str
    month: float
    item: str
    original: float
    new_score: float
    reason: str
    decided_on: dt.date


SCORE_SHEETS = {"month": "月度评分", "quarter": "季度评分", "year": "年度评分", "none": "项目评分"}


TOTAL_SHEETS = {"month": "月度总分", "quarter": "季度总分", "year": "年度总分", "none": "项目总分"}


def scores_and_totals(w: Writer, result: Result, labels: LabelMap) -> None:
    """The item scores of each sub-period (amended cells in yellow with the original in a note)
    and, over them, each sub-period's total, group subtotals, the events dated in it and its
    figure, as formulas. A sub-period is a month, or a quarter or the year dated by its last month."""
    s = result.scheme.scheme
    items = s.item_codes
    scores = result.item_scores.copy()
    scores["quarter"] = (scores["month"].astype(int) - 1) // 3 + 1
    am = result.amendments
    amended_cells: dict[tuple[int, str], _AmendmentRow] = {}
    if len(am):
        pos = {(m, int(mo)): i for i, (m, mo) in enumerate(zip(scores["member_id"], scores["month"], strict=True))}
        for r in cast(Iterator[_AmendmentRow], am.itertuples(index=False)):
            amended_cells[(pos[(r.member_id, int(r.month))], r.item)] = r
    subject_branch = result.indicators is not None  # categories formed from 指标得分 (SPEC 3.9)
    scores = scores[["member_id", "month", "quarter", *items, *([] if subject_branch else ["row"])]]
    name = SCORE_SHEETS[s.cadence]
    ms = w.table(name, scores, labels, key="scores", formulas=tuple(items) if subject_branch else ())
    sws = w.wb.get_worksheet_by_name(name)
    if subject_branch:
        ind = w.sheets["indicators"]
        for i, rd in enumerate(scores.to_dict("records"), start=1):
            member, month = f"{ms.col('member_id')}{i + 1}", f"{ms.col('month')}{i + 1}"
            for cat in s.items:
                formula = category_formula(ind, member, month, cat.name)
                sws.write_formula(i, ms.columns[cat.code], formula, w.number, float(rd[cat.code]))
        w.note(name, ms, dict.fromkeys(items, "公式: 「指标得分」中本支部本月本类各指标采用分之和"))
    for (i, item), r in amended_cells.items():
        j = ms.columns[item]
        sws.write_number(i + 1, j, float(r.new_score), w.amended2 if (name, j) in w.fractions else w.amended)
        sws.write_comment(i + 1, j, f"已更正: 原 {r.original:g} → {r.new_score:g}; {r.reason}; {r.decided_on}")
    if len(am):
        w.table(
            "评分更正",
            am[["member_id", "month", "item", "original", "new_score", "reason", "decided_on", "row", "target_row"]],
            labels,
            key="amendments",
        )
    groups = [f"group_{g.code}" for g in s.item_groups]
    extra = ["events"] if "events" in result.monthly_totals else []
    totals = result.monthly_totals.assign(quarter=lambda d: (d["month"].astype(int) - 1) // 3 + 1)[
        ["member_id", "month", "quarter", *groups, "total", *extra, "figure", "row"]
    ]
    total_name = TOTAL_SHEETS[s.cadence]
    formulas = (*groups, "total", *extra, "figure")
    group_names = {f"group_{g.code}": f"{g.name}小计" for g in s.item_groups}
    mt = w.table(
        total_name, totals, LabelMap({**labels.names, **group_names}, labels.headers), key="totals", formulas=formulas
    )
    tws = w.wb.get_worksheet_by_name(total_name)
    adj = w.sheets["adjustments"]
    at, col = mt.columns, mt.col
    first_item, last_item = (ms.col(items[0]), ms.col(items[-1])) if items else ("A", "A")
    for i, rd in enumerate(totals.to_dict("records"), start=1):
        row = i + 1
        for g in s.item_groups:
            cells = "+".join(f"'{name}'!{ms.col(it.code)}{row}" for it in s.items if it.group == g.code)
            tws.write_formula(i, at[f"group_{g.code}"], f"={cells}", w.number, float(rd[f"group_{g.code}"]))
        tws.write_formula(
            i, at["total"], f"=SUM('{name}'!{first_item}{row}:{last_item}{row})", w.number, float(rd["total"])
        )
        figure = f"{col('total')}{row}"
        if extra:  # the events dated in this sub-period enter its figure (seed 004 8:2)
            month = f"{col('month')}{row}"
            crit = (
                f"{adj.rng('member_id')},{col('member_id')}{row},"
                f'{adj.rng("month")},">="&({month}-{s.sub_months - 1}),{adj.rng("month")},"<="&{month}'
            )
            tws.write_formula(
                i, at["events"], f"=SUMIFS({adj.rng('applied_points')},{crit})", w.number, float(rd["events"])
            )
            figure += f"+{col('events')}{row}"
        tws.write_formula(i, at["figure"], f"={figure}", w.number, float(rd["figure"]))
    w.note(
        total_name,
        mt,
        {
            "total": "公式: 本期各项评分之和",
            "figure": "公式: 本期总分" + (" + 本期计入的加减分 (按日期)" if extra else ""),
            **dict.fromkeys(groups, "公式: 本大项各小项评分之和"),
        },
    )
