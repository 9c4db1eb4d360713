"""The formulas of the indicators stage (``scoring.rules.engine.indicators``, SPEC 3.9): the
branches' self-scores, the 联评联考办公室's verifications and the 互评 averages as sheets, and
指标得分, whose every score is a formula over them; the categories of 月度评分 add it up.

互评平均 holds, per branch, month and indicator, the number of raters and their total only: which
branch gave which mark is in no sheet (anonymous, like a member's appraisal ballots)."""

from __future__ import annotations

import pandas as pd

from ...labels import LABELS
from ...rules.engine import Result
from .writer import Sheet, Writer, text_literal

SELF_SHEET, VERIFICATION_SHEET, MUTUAL_SHEET, INDICATOR_SHEET = "支部自评", "检查验证", "互评平均", "指标得分"

HEADERS: dict[str, str] = {
    "member_id": "支部编号 (branch_id)",
    "name": "支部名称 (branch_name)",
    "month": f"{LABELS['month']} (month)",
    "quarter": "季度 (quarter)",
    "category": "类别 (category)",
    "code": "指标代码 (indicator)",
    "indicator_name": "指标名称 (name)",
    "max": "分值 (max)",
    "self_score": "自评分 (self_score)",
    "verified_score": "验证分 (verified_score)",
    "reason": "验证说明 (reason)",
    "verified_by": "验证人 (verified_by)",
    "raters": "评价支部数 (raters)",
    "mutual_sum": "互评合计 (mutual_sum)",
    "mutual_mean": "互评平均 (mutual_mean)",
    "score": "采用分 (score)",
    "row": "输入行号 (row)",
}


def indicator_sheets(w: Writer, result: Result) -> Sheet:
    """Write 支部自评, 检查验证, 互评平均 and 指标得分; return 指标得分, whose ``score`` column the
    categories of 月度评分 add up (:func:`category_formula`)."""
    ind = result.indicators
    assert ind is not None, "a branch-assessment result carries its indicators"
    s = result.scheme.scheme
    names = {i.code: i.name for i in s.items}
    by_self = ind["category"].map(lambda k: s.items_by_code[k].scored_by == "self").to_numpy(dtype=bool)
    own = ind[ind["self_row"].notna()]
    own_sheet = w.table(
        SELF_SHEET,
        pd.DataFrame(
            {
                "member_id": own["branch_id"],
                "month": own["month"],
                "code": own["code"],
                "self_score": own["self_score"],
                "row": own["self_row"],
            }
        ),
        HEADERS,
    )
    ver = ind[ind["verification_row"].notna()]
    ver_sheet = w.table(
        VERIFICATION_SHEET,
        pd.DataFrame(
            {
                "member_id": ver["branch_id"],
                "month": ver["month"],
                "code": ver["code"],
                "self_score": ver["self_score"],
                "verified_score": ver["verified_score"],
                "reason": ver["reason"],
                "verified_by": ver["verified_by"],
                "row": ver["verification_row"],
            }
        ),
        HEADERS,
    )
    mut = ind[~by_self]
    mutual_table = pd.DataFrame(
        {
            "member_id": mut["branch_id"],
            "month": mut["month"],
            "code": mut["code"],
            "raters": mut["raters"],
            "mutual_sum": mut["mutual_sum"],
            "mutual_mean": mut["mutual_mean"],
        }
    )
    mut_sheet = w.table(MUTUAL_SHEET, mutual_table, HEADERS, formulas=("mutual_mean",))
    mws = w.wb.get_worksheet_by_name(MUTUAL_SHEET)
    for i, mean in enumerate(mutual_table["mutual_mean"].tolist(), start=1):
        r = i + 1
        mws.write_formula(
            i,
            mut_sheet.columns["mutual_mean"],
            f"={mut_sheet.col('mutual_sum')}{r}/{mut_sheet.col('raters')}{r}",
            w.number,
            float(mean),
        )
    w.note(
        MUTUAL_SHEET,
        mut_sheet,
        {
            "mutual_sum": "其他支部互评分的合计; 不记录哪个支部给了多少分 (无记名)",
            "mutual_mean": "公式: 互评合计 / 评价支部数",
        },
    )
    w.note(
        VERIFICATION_SHEET, ver_sheet, {"verified_score": "联评联考办公室检查验证后的分数, 取代自评分; 自评分保留在旁"}
    )

    table = pd.DataFrame(
        {
            "member_id": ind["branch_id"],
            "month": ind["month"],
            "quarter": ind["quarter"],
            "category": ind["category"].map(names),
            "code": ind["code"],
            "indicator_name": ind["name"],
            "max": ind["max"],
            "self_score": ind["self_score"],
            "verified_score": ind["verified_score"],
            "raters": ind["raters"],
            "mutual_mean": ind["mutual_mean"],
            "score": ind["score"],
        }
    )
    formulas = ("self_score", "verified_score", "raters", "mutual_mean", "score")
    sheet = w.table(INDICATOR_SHEET, table, HEADERS, formulas=formulas)
    ws = w.wb.get_worksheet_by_name(INDICATOR_SHEET)
    col = sheet.col
    for i, rd in enumerate(table.to_dict("records"), start=1):
        r = i + 1
        keys = (f"{col('member_id')}{r}", f"{col('month')}{r}", f"{col('code')}{r}")
        if by_self[i - 1]:
            ws.write_formula(
                i,
                sheet.columns["self_score"],
                f"={_lookup(own_sheet, 'self_score', keys)}",
                None,
                _num(rd["self_score"]),
            )
            ws.write_formula(
                i,
                sheet.columns["verified_score"],
                f'=IF({_count(ver_sheet, keys)}=0,"",{_lookup(ver_sheet, "verified_score", keys)})',
                None,
                _num(rd["verified_score"]),
            )
            use = f'=IF({col("verified_score")}{r}="",{col("self_score")}{r},{col("verified_score")}{r})'
        else:
            ws.write_formula(
                i, sheet.columns["raters"], f"={_lookup(mut_sheet, 'raters', keys)}", None, _num(rd["raters"])
            )
            ws.write_formula(
                i,
                sheet.columns["mutual_mean"],
                f'=IF({_count(mut_sheet, keys)}=0,"",{_lookup(mut_sheet, "mutual_mean", keys)})',
                w.number,
                _num(rd["mutual_mean"]),
            )
            use = f"={col('mutual_mean')}{r}"
        ws.write_formula(i, sheet.columns["score"], use, w.number, _num(rd["score"]))
    w.note(
        INDICATOR_SHEET,
        sheet,
        {
            "self_score": "公式: 「支部自评」中本支部、本月、本指标的自评分",
            "verified_score": "公式: 「检查验证」中的验证分; 没有验证时为空",
            "mutual_mean": "公式: 「互评平均」中其他支部互评的平均分",
            "score": "公式: 自评类指标取验证分, 未验证取自评分; 评价类指标取互评平均",
        },
    )
    w.sheets["indicators"] = sheet
    return sheet


def category_formula(sheet: Sheet, member_cell: str, month_cell: str, category: str) -> str:
    """A category's score in a month: its indicators' scores on 指标得分 added up (0 when the
    category has no indicator that quarter)."""
    return (
        f"=SUMIFS({sheet.rng('score')},{sheet.rng('member_id')},{member_cell},"
        f"{sheet.rng('month')},{month_cell},{sheet.rng('category')},{text_literal(category)})"
    )


def _criteria(sheet: Sheet, keys: tuple[str, str, str]) -> str:
    member, month, code = keys
    return f"{sheet.rng('member_id')},{member},{sheet.rng('month')},{month},{sheet.rng('code')},{code}"


def _lookup(sheet: Sheet, column: str, keys: tuple[str, str, str]) -> str:
    """The one row of ``sheet`` for a branch, month and indicator (validation made it unique)."""
    return f"SUMIFS({sheet.rng(column)},{_criteria(sheet, keys)})"


def _count(sheet: Sheet, keys: tuple[str, str, str]) -> str:
    return f"COUNTIFS({_criteria(sheet, keys)})"


def _num(v: object) -> float | str:
    """A formula's cached value: the number, or "" where the formula gives an empty text."""
    return "" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else float(v)  # type: ignore[arg-type]
