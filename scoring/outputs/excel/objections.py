"""The formulas of the objections stage (``scoring.rules.engine.objections``): the sheets 异议处理 and
党支部定星 (the input rows, with their Excel rows), and on 结果 the published stars, the committee's
where it decided, over the stars the bands give (kept in their own column)."""

from __future__ import annotations

import pandas as pd

from ...labels import LABELS
from ...rules.engine import Result
from ...rules.engine.objections import OBJECTION_COLUMNS, VETO_OVER_DECISION
from .writer import F_YES, LabelMap, Sheet, Writer, labels_of, text_literal, write_dates

DECISION_COLUMNS = ["member_id", "stars", "reason", "decided_on", "row"]
OBJECTION_SHEET_COLUMNS = [c for c in OBJECTION_COLUMNS if c != "name"]  # the name is on 结果


def objection_sheets(w: Writer, result: Result) -> None:
    """异议处理: the objections the run sees, each with its status at the run; 党支部定星 (a scheme
    with stars): the committee's decisions as entered. Both keep the input's Excel row."""
    base = labels_of(result)
    labels = LabelMap(
        base.names,
        base.headers
        | {
            "stars": "确定星级 (stars)",
            "reason": "定星理由 (reason)",
            "status": "本次状态 (status)",
            "row": "输入行号 (row)",
        },
    )
    o = result.objections.reindex(columns=OBJECTION_SHEET_COLUMNS).reset_index(drop=True)
    sheet = w.table("异议处理", o, labels, key="objections", formulas=("raised_on", "answered_on"))
    ws = w.wb.get_worksheet_by_name("异议处理")
    for column in ("raised_on", "answered_on"):
        write_dates(w, ws, sheet.columns[column], o[column])
    w.note(
        "异议处理",
        sheet,
        {
            "status": "数值: 没有处理结果, 或答复日期晚于本次运行所看的日期 (年度为次年 3 月底) 的为 待答复",
            "amendment": "数值: 更正所产生的「评分更正」输入行号",
        },
    )
    if not result.scheme.scheme.has_stars:
        return
    rows = result.book.star_decisions if result.book is not None else pd.DataFrame(columns=DECISION_COLUMNS)
    d = rows.reindex(columns=DECISION_COLUMNS).reset_index(drop=True)
    sheet = w.table("党支部定星", d, labels, key="decisions", formulas=("decided_on",))
    write_dates(w, w.wb.get_worksheet_by_name("党支部定星"), sheet.columns["decided_on"], d["decided_on"])
    w.note("党支部定星", sheet, {"stars": "数值: 党支部确定的星级 (输入值); 「结果」的星级取此值"})


def decided(w: Writer, row: int) -> str:
    """The formula condition: the member of 结果's ``row`` has a row on 党支部定星."""
    d = w.sheets["decisions"]
    return f"COUNTIF({d.rng('member_id')},$A{row})>0"


def published_stars(w: Writer, row: int, veto_cell: str, computed_cell: str) -> str:
    """结果's stars: none under a veto; else the committee's (one row per member, so SUMIFS is
    that row's stars) where it decided, else the computed stars."""
    d = w.sheets["decisions"]
    committee = f"SUMIFS({d.rng('stars')},{d.rng('member_id')},$A{row})"
    return f'=IF({veto_cell}={F_YES},"",IF({decided(w, row)},{committee},{computed_cell}))'


def star_reason(w: Writer, row: int, veto_cell: str) -> str:
    """结果's reason beside the stars: the committee's, or why its decision did not apply (a veto)."""
    d: Sheet = w.sheets["decisions"]
    reason = f"INDEX({d.rng('reason')},MATCH($A{row},{d.rng('member_id')},0))"
    return f'=IF({decided(w, row)},IF({veto_cell}={F_YES},{text_literal(VETO_OVER_DECISION)},{reason}),"")'


STAR_NOTES: dict[str, str] = {
    "computed_stars": (
        "公式: 按年度总积分查「参数」表的分档 (LOOKUP); 受一票否决的为空; 不列入积分的党员为直接评定的星级 (输入值)"
    ),
    "stars": (
        "公式: 「党支部定星」中有该党员的, 取党支部确定的星级 (COUNTIF / SUMIFS), 否则取"
        f" {LABELS['computed_stars']}; 受一票否决的为空"
    ),
    "star_reason": "公式: 「党支部定星」中该党员的定星理由 (INDEX / MATCH); 受一票否决的说明未采用",
}
