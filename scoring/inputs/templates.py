"""Input workbook templates (SPEC 4) for a scheme: the workbook a branch fills in.

``python -m scoring template --scheme NAME [--year YYYY] [--branch ID] [--members FILE] --out DIR``
writes one template; without ``--scheme`` every built-in scheme goes into ``templates_xlsx/``
(year left blank), which a test keeps current.

What a template holds:

* ``填表说明 (readme)`` first: the scheme's rules in Chinese (items and maxima, weights, the
  adjustment catalogue with points and how adjustments combine, veto conditions, bands, tiers,
  quotas, publicity) and how to fill each sheet.
* One sheet per input table, headers ``中文 (key)`` in row 1 (items as ``name (code)``), frozen,
  column widths that fit CJK text, required columns marked by colour.
* Data validation (error alert on, messages in Chinese) on every input column that can have one:
  item scores within the scheme's maxima, an amended score within the maximum of the item chosen
  in its row (``VLOOKUP`` into the code table), months, dates within the year, member types,
  roles, 是/否, rater kinds, attendance status, member ids from the members sheet, rule codes and
  veto conditions from the scheme. Lists longer than Excel's 255-character inline limit, and the
  item maxima, live on the hidden sheet ``代码表 (lists)`` and are referenced through defined names.
* Every text (prefilled members, scheme names and rules in 填表说明) is stored as literal text,
  never a formula, whatever it starts with (:func:`put_cell`).
* Protection: every sheet protected (no password), input columns unlocked through their column
  style (Excel and LibreOffice give that style to every cell typed into the column), header row,
  readme and code table locked, workbook structure locked (no password) so the code table stays
  hidden and sheets keep their names.

Excel does not check pasted values against data validation, so the reader
(:func:`scoring.inputs.reading.load_inputs`) stays the authority; the template only catches typing errors
early.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.utils import quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from ..exceptions import ScoringError
from ..outputs.xlsxfile import save_reproducibly
from ..rules.scheme import SCHEMES_DIR, SPAN_MONTHS, LoadedScheme, Scheme, builtin_schemes, load_scheme
from .reading import (
    ACTIONS,
    ACTIVITY_KINDS,
    ATTENDANCE,
    BRANCH_KEYS,
    GRACE_MONTHS,
    MEMBER_TYPES,
    OBJECTION_OUTCOMES,
    OBJECTION_SUBJECTS,
    OPTIONAL_BRANCH_KEYS,
    OUTCOMES,
    RATER_KINDS,
    ROLES,
    SHEETS,
    _Collector,
    _find_sheet,
    _header_key,
    _norm,
    grace_end,
    graded_items,
    header_text,
    scheme_sheets,
    score_sheet_key,
    star_range,
)
from .template_kit import (
    _BOLD,
    _LOCKED,
    _REQUIRED_FILL,
    _UNLOCKED,
    ID_FORMULA,
    YEAR_NAME,
    Check,
    TemplateColumn,
    _between,
    _data_validation,
    _date_check,
    _fit,
    _fmt,
    _Lists,
    _month_check,
    _protect,
    _quarter_check,
    _write_readme,
    _write_table,
)

# re-exported: the tests and callers know these from here
from .template_kit import LISTS_SHEET as LISTS_SHEET
from .template_kit import README_SHEET as README_SHEET
from .template_kit import put_cell as put_cell
from .unit_template import build_unit_template, unit_tables

TEMPLATES_DIR: Path = Path(__file__).resolve().parents[2] / "templates_xlsx"

MEMBER_IDS_NAME = "list_member_id"  # defined name of the member_id column of the members sheet

# Data rows (below the header) that carry validation, per sheet: generous for a branch.
ROWS: dict[str, int] = {
    "members": 2000,
    "monthly_scores": 24000,  # 2000 members x 12 months
    "quarterly_scores": 8000,  # 2000 members x 4 quarters
    "annual_scores": 2000,
    "self_scores": 24000,
    "appraisal": 50000,  # ballots x members
    "adjustments": 2000,
    "vetoes": 500,
    "amendments": 2000,
    "activities": 1000,
    "attendance": 50000,
    "dues": 24000,
    "follow_up_outcomes": 500,
    "objections": 500,
    "star_decisions": 2000,
}
YES_NO = ["是", "否"]
ROLE_CHOICES = ["党员", "支部书记"] + [r for r in ROLES if r not in ("党员", "支部书记")]
FREEZE: dict[str, str] = {
    "members": "C2",
    "monthly_scores": "C2",
    "quarterly_scores": "C2",
    "annual_scores": "B2",
    "self_scores": "C2",
    "appraisal": "D2",
}


def _year_check(year: int | None) -> tuple[Check, str]:
    """The year itself (an amendment of a scheme scored once a year names the year)."""
    if year is not None:
        return Check("list", f'"{year}"', title="年度有误", error=f"请填写本年度 {year}。"), f"{year} (本年度)"
    formula = f"AND(LEN({{c}})=4,ISNUMBER(-{{c}}),OR(NOT(ISNUMBER({YEAR_NAME})),IFERROR(--{{c}},0)={YEAR_NAME}))"
    return Check(
        "custom", formula, title="年度有误", error="年度应为四位数字 (如 2025), 即支部信息表所填年度。"
    ), "本年度, 四位数字, 如 2025"


def _grades_text(table: dict[str, float]) -> str:
    """``等次 A=20 / B+=16 / B=14``: the letters of a graded item and their points."""
    return "等次 " + _letters_text(table)


def _letters_text(table: dict[str, float] | None) -> str:
    return " / ".join(f"{k}={_fmt(v)}" for k, v in (table or {}).items())


# the maximum column of the code table's item table, per cadence
_MAX_WORDS: dict[str, str] = {"month": "每月满分", "quarter": "每季度满分", "year": "满分", "none": "满分"}


# -- sheet layouts ----------------------------------------------------------------------------


def template_sheets(scheme_name: str | Path) -> dict[str, pd.DataFrame]:
    """Empty tables with every column of every sheet, item columns from the scheme (for a scheme
    that scores branches, the tables of a unit workbook)."""
    s = load_scheme(scheme_name).scheme
    keys = unit_tables() if s.subject == "branch" else _sheet_keys(s)
    return {key: pd.DataFrame(columns=cols) for key, cols in keys.items()}


def _sheet_keys(s: Scheme) -> dict[str, list[str]]:
    """The columns of every sheet the scheme's workbook has (see ``reading.scheme_sheets``)."""
    out: dict[str, list[str]] = {}
    for key, spec in scheme_sheets(s).items():
        if key == "branch":
            continue
        cols = [c.key for c in spec.columns]
        if spec.item_columns == "scores":
            cols = cols[:-1] + s.item_codes + cols[-1:]  # items before the note
        elif spec.item_columns == "appraisal":
            cols = cols + (s.item_codes if s.appraisal.mode == "per_item" else ["score"])
        out[key] = cols
    return out


def _columns(sheet: str, s: Scheme, year: int | None, lists: _Lists) -> list[TemplateColumn]:
    """The columns of one sheet with their validation and hint."""
    spec = scheme_sheets(s)[sheet]
    cols = {c.key: c for c in spec.columns}
    items = {i.code: i for i in s.items}
    per = {"monthly_scores": "", "quarterly_scores": "本季度", "annual_scores": "全年"}
    member_list = Check(
        "list", MEMBER_IDS_NAME, title="党员编号有误", error="请填写党员名单 (members) 表中已有的党员编号。"
    )
    out: list[TemplateColumn] = []
    for key in _sheet_keys(s)[sheet]:
        check: Check | None = None
        fmt = "General"
        if key in items:
            it = items[key]
            header = header_text(it.code, it.name)
            graded = it.grades if sheet != "appraisal" else None  # ballots rate in points
            what = f"0 到 {_fmt(it.max)}" if not graded else _grades_text(graded)
            if sheet in per:
                required = True
                hint = f"{it.name}: {per[sheet]}支委会评分, {what}" + ("" if graded else " (可有小数)")
            elif sheet == "self_scores":
                required, hint = False, f"{it.name}: 党员自评分, {what}, 可留空"
            else:
                required, hint = False, f"{it.name}: 测评分, 0 到 {_fmt(it.max)}; 未评可留空"
            if graded:
                fmt = "@"
                check = Check(
                    "list",
                    lists.source(f"grade_{it.code}", it.name, list(graded)),
                    title="等次有误",
                    error=f"{it.name} ({it.code}) 按等次评定, 请从下拉列表选择: {_grades_text(graded)}。",
                )
            else:
                check = _between("decimal", 0, it.max, f"{it.name} ({it.code}) ")
            out.append(TemplateColumn(key, header, required, fmt, check, hint))
            continue
        if key == "score":  # single appraisal score
            mx = float(s.appraisal.max or 0)
            out.append(
                TemplateColumn(
                    key,
                    header_text("score", "测评分"),
                    False,
                    fmt,
                    _between("decimal", 0, mx, "测评分 "),
                    f"每票一个测评分, 0 到 {_fmt(mx)}",
                )
            )
            continue
        col = cols[key]
        header = header_text(col.key, col.label)
        hint = ""
        if key == "member_id":
            fmt = "@"
            if sheet == "members":
                check = Check(
                    "custom",
                    "AND(LEN({c})<=30,COUNTIF({rng},{c})=1)",
                    title="党员编号有误",
                    error="党员编号不能重复, 最长 30 个字符。",
                )
                hint = "本支部内唯一, 如 M0001"
            else:
                check, hint = member_list, "党员名单中的党员编号, 从下拉列表选择"
        elif key == "name":
            fmt, hint = "@", "党员姓名"
        elif key == "member_type":
            check = Check(
                "list",
                lists.source("member_type", col.label, MEMBER_TYPES),
                title="党员类别有误",
                error="请从下拉列表选择党员类别。",
            )
            hint = " / ".join(MEMBER_TYPES)
        elif key == "role":
            check = Check(
                "list",
                lists.source("role", col.label, ROLE_CHOICES),
                title="身份有误",
                error="请从下拉列表选择: 党员 或 支部书记。",
            )
            hint = "党员 / 支部书记; 留空为党员"
        elif key in ("joined", "left"):
            fmt = "@"
            check, _ = _month_check(year, False, lists)
            hint = (
                "转入本支部的月份, 文本 YYYY-MM; 本年以前已在支部的可留空"
                if key == "joined"
                else "转出本支部的月份, 文本 YYYY-MM; 仍在支部的留空"
            )
        elif key in ("exempt", "paid"):
            check = Check(
                "list", lists.source("yes_no", "是否", YES_NO), title="应填 是/否", error="请从下拉列表选择 是 或 否。"
            )
            hint = "是 / 否" + ("; 留空为否" if key == "exempt" else "")
        elif key == "exempt_stars":
            if s.has_stars:
                top = max(b.stars or 0 for b in s.bands)
                check, hint = _between("whole", 0, top, "星级"), f"不列入积分的党员直接评定的星级, 0 到 {top}"
            else:
                check = Check("whole", "0", None, "greaterThanOrEqual", "应为整数", "应为不小于 0 的整数。")
                hint = "本方案不评星, 可留空"
        elif col.kind == "quarter":  # the quarter of a score row, or the quarter an amendment names
            fmt = "@"
            check, hint = _quarter_check(year, lists)
        elif col.kind == "year":  # the year an amendment names (a scheme scored once a year)
            fmt = "@"
            check, hint = _year_check(year)
        elif key == "month":
            fmt = "@"
            check, hint = _month_check(year, True, lists)
        elif col.kind == "date" and col.grace_months:  # 异议 and 党支部定星: also the next year's first months
            fmt = "yyyy-mm-dd"
            check, hint = _grace_date_check(year, col.grace_months)
            hint = {"raised_on": "党员提出异议的日期", "answered_on": "向党员答复的日期; 尚未答复的留空"}.get(
                key, "支委会决定的日期"
            ) + f", {hint}"
        elif col.kind == "date":
            fmt = "yyyy-mm-dd"
            check, hint = _date_check(year)
        elif key == "rater_kind":
            check = Check(
                "list",
                lists.source("rater_kind", col.label, RATER_KINDS),
                title="测评人类别有误",
                error="请从下拉列表选择: 党员 或 群众代表。",
            )
            hint = " / ".join(RATER_KINDS) + " (不记录测评人姓名)"
        elif key == "ballot_no":
            fmt, hint = "@", "测评票编号, 如 P01; 一张票对每名党员一行"
        elif key == "rule_code":
            fmt = "@"
            codes = [r.code for r in s.adjustments.rules]
            if codes:
                check = Check(
                    "list",
                    lists.source("rule_code", col.label, codes),
                    title="加减分代码有误",
                    error="请从下拉列表选择本方案加减分目录中的代码 (见填表说明)。",
                )
            hint = "本方案加减分目录中的代码 (见填表说明), 从下拉列表选择"
        elif key == "points":
            bonus = [r.limit for r in s.adjustments.rules if r.kind == "bonus"]
            ded = [r.limit for r in s.adjustments.rules if r.kind == "deduction"]
            lo, hi = (-max(ded) if ded else 0.0), (max(bonus) if bonus else 0.0)
            check = Check(
                "decimal",
                _fmt(lo),
                _fmt(hi),
                "between",
                "分值超出范围",
                f"分值应在 {_fmt(lo)} 到 {_fmt(hi)} 之间; 一般留空, 按目录分值计。",
            )
            hint = "一般留空 (按目录分值计); 填写时加分为正、减分为负, 不超过目录上限"
        elif key == "evidence":
            fmt = "@"
            hint = "佐证材料 (文件名、文号等)" + (
                "; 无佐证不计分"
                if s.adjustments.bonus_evidence_required or s.adjustments.deduction_evidence_required
                else ""
            )
        elif key == "condition":
            fmt = "@"
            values = [c.name for c in s.veto.conditions] + [c.code for c in s.veto.conditions]
            check = Check(
                "list",
                lists.source("condition", col.label, values),
                title="否决情形有误",
                error="请从下拉列表选择本方案的否决情形 (名称或代码)。",
            )
            hint = "本方案的否决情形 (名称或代码), 从下拉列表选择"
        elif key in ("votes_for", "votes_against"):
            check = Check("whole", "0", None, "greaterThanOrEqual", "票数有误", "票数应为不小于 0 的整数。")
            hint = "举手表决票数" + ("; 必填" if s.veto.requires_majority else "; 本方案不要求表决, 可留空")
        elif key == "item":
            fmt = "@"
            check = Check(
                "list",
                lists.source("item", col.label, s.item_codes),
                title="考评项目有误",
                error="请从下拉列表选择本方案的考评项目代码。",
            )
            hint = "考评项目代码: " + ", ".join(s.item_codes)
        elif key == "new_score":
            # per row: the maximum of the item chosen in the same row, looked up on the hidden
            # code table; one bound for all items would let 10 pass for an item of 5 points
            table = lists.lookup(
                "item_max",
                (header_text("item", "考评项目"), header_text("max", _MAX_WORDS[s.cadence])),
                [(i.code, i.max) for i in s.items],
            )
            number = f"AND(ISNUMBER({{c}}),{{c}}>=0,{{c}}<=VLOOKUP({{col:item}},{table},2,FALSE))"
            grades = graded_items(s)
            plain = [i for i in s.items if i.code not in grades]
            hint = "0 到所选考评项目的满分 (" + ", ".join(f"{i.code} {_fmt(i.max)}" for i in plain) + ")"
            if not grades:
                check = Check(
                    "custom",
                    number,
                    title="更正后分数有误",
                    error="更正后分数应为 0 到所选考评项目满分之间的数字; 请先在 考评项目 列选择项目。",
                )
            else:
                # a graded item takes one of its own letters (item, letter pairs on the code table)
                pairs = [(code, letter) for code, table_ in grades.items() for letter in table_]
                graded_list = lists.column("graded", header_text("item", "按等次评定的项目"), list(grades))
                g_item = lists.column("grade_item", header_text("item", "考评项目"), [p[0] for p in pairs])
                g_letter = lists.column("grade_letter", header_text("grade", "等次"), [p[1] for p in pairs])
                check = Check(
                    "custom",
                    f"IF(COUNTIF({graded_list},{{col:item}})>0,COUNTIFS({g_item},{{col:item}},{g_letter},{{c}})>0,{number})",
                    title="更正后分数有误",
                    error=(
                        "按等次评定的项目填该项目的等次字母, 其他项目填 0 到满分之间的数字; "
                        "请先在 考评项目 列选择项目。"
                    ),
                )
                hint = "; ".join(
                    ([hint] if plain else []) + [f"{code} {_grades_text(table_)}" for code, table_ in grades.items()]
                )
        elif key == "kind" and sheet == "activities":
            check = Check(
                "list",
                lists.source("activity_kind", col.label, ACTIVITY_KINDS),
                title="活动类别有误",
                error="请从下拉列表选择活动类别: " + " / ".join(ACTIVITY_KINDS) + "。",
            )
            hint = " / ".join(ACTIVITY_KINDS) + "; 支委会、党小组会只计出勤表中列出的党员"
        elif sheet in ("objections", "star_decisions") and key in ("subject", "outcome", "amendment", "stars"):
            check, hint, fmt = _objection_column(key, s, lists)
        elif key == "status":
            check = Check(
                "list",
                lists.source("status", col.label, ATTENDANCE),
                title="出勤有误",
                error="请从下拉列表选择: " + " / ".join(ATTENDANCE) + "。",
            )
            hint = " / ".join(ATTENDANCE)
        elif sheet == "follow_up_outcomes" and key in ("case_year", "outcome", "action"):
            check, hint = _follow_up_check(key, col.label, year, lists)
        else:  # free text: note, exempt_reason, approved_by, reason, activity
            fmt = "@"
            hint = {
                "helper": "帮教人 (指定帮助整改的党员或支委)",
                "note": "备注, 可留空",
                "exempt_reason": "如 年老体弱、长期患病",
                "approved_by": "审批人或审批机构",
                "reason": "党支部确定此星级的理由" if sheet == "star_decisions" else "更正理由 (异议处理结果)",
                "activity": "活动名称, 如 主题党日"
                + (
                    "; 同一天的活动名称不重复"
                    if sheet == "activities"
                    else "; 填了活动安排表时, 须与其中同一天的活动名称一致"
                ),
                "content": "党员对什么有异议 (不在公示上公开)",
                "handled_by": "调查核实、答复的人",
                "finding": "调查核实的情况; 答复时填写",
            }.get(key, "")
        out.append(TemplateColumn(key, header, col.required and col.not_blank, fmt, check, hint))
    return out


def _grace_date_check(year: int | None, months: int) -> tuple[Check, str]:
    """A date of the year or of the next year's first ``months`` months (the year's objections and
    the committee's star decisions are dated then)."""
    if year is not None:
        end = grace_end(year, months)
        last = f"DATE({end.year},{end.month},{end.day})"
        return Check(
            "date",
            f"DATE({year},1,1)",
            last,
            "between",
            "日期有误",
            f"日期应在 {year}-01-01 到 {year + 1} 年 {months} 月底之间。",
        ), f"YYYY-MM-DD, 在 {year} 年或 {year + 1} 年 1-{months} 月"
    y = f"ISNUMBER({YEAR_NAME})"
    return (
        Check(
            "date",
            f"DATE(IF({y},{YEAR_NAME},1900),1,1)",
            f"DATE(IF({y},{YEAR_NAME}+1,9998),{months + 1},0)",
            "between",
            "日期有误",
            f"日期应为 YYYY-MM-DD, 在支部信息表所填年度或次年 1-{months} 月。",
        ),
        f"YYYY-MM-DD, 在本年度或次年 1-{months} 月",
    )


def _objection_column(key: str, s: Scheme, lists: _Lists) -> tuple[Check, str, str]:
    """Validation, hint and number format of the choice and number columns of 异议处理 and 党支部定星."""
    if key == "subject":
        check = Check(
            "list",
            lists.source("objection_subject", "异议事项", OBJECTION_SUBJECTS),
            title="异议事项有误",
            error="请从下拉列表选择: " + " / ".join(OBJECTION_SUBJECTS) + "。",
        )
        return check, " / ".join(OBJECTION_SUBJECTS), "@"
    if key == "outcome":
        check = Check(
            "list",
            lists.source("objection_outcome", "处理结果", OBJECTION_OUTCOMES),
            title="处理结果有误",
            error="请从下拉列表选择: " + " / ".join(OBJECTION_OUTCOMES) + "; 尚未答复的留空。",
        )
        return check, "维持 / 更正; 尚未答复的留空 (与调查核实情况、答复日期一起填写)", "@"
    if key == "amendment":
        check = Check(
            "whole", "2", None, "greaterThanOrEqual", "行号有误", "请填写评分更正表中的行号 (从 2 起的整数)。"
        )
        return check, "处理结果为 更正 时, 填写由此产生的 评分更正 (amendments) 表的行号; 否则留空", "General"
    lo, hi = star_range(s)
    return _between("whole", lo, hi, "星级"), f"党支部确定的星级, {lo} 到 {hi}; 每名党员至多一行", "General"


def _write_branch(
    ws: Worksheet, loaded: LoadedScheme, scheme_ref: str, year: int | None, branch_id: str, lists: _Lists
) -> None:
    hints = {
        "branch_id": "字母、数字、- 和 _, 如 B001",
        "branch_name": "支部全称",
        "scheme": "积分方案 (本模板按此方案生成, 已锁定)",
        "year": "四位年度, 如 2025" + (" (已按生成时的年度填写并锁定)" if year else ""),
    }
    for j, text in enumerate([header_text("key", "项目"), header_text("value", "内容"), "填写说明"], start=1):
        put_cell(ws, 1, j, text)
    for cell in ws[1]:
        cell.font = _BOLD
        cell.fill = _REQUIRED_FILL
    # the optional 公示开始日期 (SPEC 8) after the four required fields
    hints["publicity_start"] = "选填: 年度公示开始日期 YYYY-MM-DD; 留空则为运行次日起第一个工作日"
    every = BRANCH_KEYS | OPTIONAL_BRANCH_KEYS
    values = {"branch_id": branch_id, "branch_name": "", "scheme": scheme_ref, "year": year, "publicity_start": None}
    for i, (key, label) in enumerate(every.items(), start=2):
        put_cell(ws, i, 1, header_text(key, label)).font = _BOLD
        v = put_cell(ws, i, 2, values[key] if values[key] not in ("", None) else None)
        put_cell(ws, i, 3, hints[key])
        locked = key == "scheme" or (key == "year" and year is not None)
        v.protection = _LOCKED if locked else _UNLOCKED
        v.number_format = {"year": "General", "publicity_start": "yyyy-mm-dd"}.get(key, "@")
    rows = {k: i for i, k in enumerate(every, start=2)}
    checks = {
        "branch_id": Check(
            "custom",
            ID_FORMULA,
            title="支部编号有误",
            error="支部编号只能含字母、数字、- 和 _ (最长 30 个字符), 如 B001。",
        ),
        "year": _between("whole", 2000, 2100, "年度"),
        "publicity_start": Check(
            "date", "DATE(2000,1,1)", "DATE(2101,12,31)", "between", "日期有误", "公示开始日期应为 YYYY-MM-DD。"
        ),
    }
    for key, check in checks.items():
        ref = f"B{rows[key]}"
        dv = _data_validation(check, ref, ref, header_text(key, every[key]), hints[key])
        dv.add(ref)
        ws.add_data_validation(dv)
    ws.column_dimensions["A"].width = _fit([header_text(k, v) for k, v in every.items()])
    ws.column_dimensions["B"].width = _fit([scheme_ref, "县直机关第一党支部"], lo=24)
    ws.column_dimensions["C"].width = _fit(hints.values())
    ws.freeze_panes = "A2"
    _protect(ws)
    lists.wb.defined_names[YEAR_NAME] = DefinedName(
        YEAR_NAME, attr_text=f"{quote_sheetname(ws.title)}!$B${rows['year']}"
    )


# -- 填表说明 -----------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{x * 100:g}%"


def readme_rows(
    loaded: LoadedScheme, year: int | None, columns: dict[str, list[TemplateColumn]]
) -> list[tuple[str, list[Any]]]:
    """The 填表说明 sheet as (style, cells) rows; style is title, h (heading), th, td or text."""
    s = loaded.scheme
    R: list[tuple[str, list[Any]]] = []

    def text(*lines: str) -> None:
        R.extend(("text", [ln]) for ln in lines)

    def heading(t: str) -> None:
        R.append(("blank", []))
        R.append(("h", [t]))

    R.append(("title", [f"党员积分制管理 输入工作簿 填表说明 — {s.title}"]))
    text(
        f"积分方案: {s.title} ({s.name}, 版本 {s.version}); 依据: {s.source}",
        f"年度: {year} 年" if year else "年度: 未填写 — 请在 支部信息 (branch) 表填写四位年度",
        "一个支部一个年度一个工作簿。表头橙色的列必填, 蓝色的列选填; 不用的选填工作表留空即可。",
    )

    if s.cadence == "month":
        _readme_monthly(s, R, text, heading)
    else:
        _readme_cadence(s, year, R, text, heading)
    _readme_appraisal(s, text)
    if s.cadence == "month":  # how the quarter and the half-year are formed from the months
        text(*(s.period_text(kind) + "。" for kind in ("quarter", "half") if kind in s.periods))
    text(
        "不列入积分的党员 (年老体弱等): 在 党员名单 中 不列入积分 填 是, 写明原因"
        + (", 并填写直接评定的星级。" if s.has_stars else "。")
    )
    text("公布的分数按四舍五入保留两位小数; 计算过程中不舍入。")

    heading("三、加减分")
    adj = s.adjustments
    combine = {
        "highest_only": (
            "全年只计最高的一项加分和最大的一项减分, 两者都计入; "
            "多项加分或多项减分不能累计 (以最高奖励或扣分项为主, 不能累计)。"
        ),
        "sum": "所有加分和减分逐项累加计入, 不封顶。",
        "capped_per_group": "加分和减分逐项累加, 但每一分组的加分合计、减分合计各自不超过该组上限 (见下表)。",
        "capped_per_item": (
            "加分和减分逐项累加, 但同一考评项目的累计加分、累计扣分各自不超过该项目的分值 (见下表 所属项目; "
            "上限来自项目本身的分值)。"
        ),
    }[adj.combine]
    if adj.rules:
        text("计分规则: " + combine)
    if s.cadence != "month" and adj.rules:
        sub = s.period(s.cadence).events if s.cadence in SPAN_MONTHS else False
        where = {"quarter": "季度", "year": "年度"}.get(s.cadence, "期间")
        text(
            f"每项加减分按其日期计入所在{where}的得分。"
            if sub
            else "每项加减分按其日期计入: 截至期间末已发生的才计入该期间。"
        )
    if adj.bonus_evidence_required or adj.deduction_evidence_required:
        who = []
        if adj.bonus_evidence_required:
            who.append("加分须有党员本人提供的佐证材料")
        if adj.deduction_evidence_required:
            who.append("减分须有支部委员会调查取证的材料")
        text("、".join(who) + "; 没有佐证的加减分不计入, 单独列出。")
    if adj.rules:
        text("分值 列一般留空, 按目录分值计; 可填写分值的条目, 填写值不超过 可填上限。")
        groups = {g.code: g for g in adj.groups}
        per_item = adj.combine == "capped_per_item"
        R.append(("th", ["代码", "名称", "类别", "分值", "可填上限", "所属项目" if per_item else "分组"]))
        for r in adj.rules:
            g = groups.get(r.group or "")
            gtext = (f"{g.code} {g.name}" + (f" (上限 {_fmt(g.cap)} 分)" if g.cap else "")) if g else (r.group or "")
            it = s.items_by_code.get(r.item or "")
            if per_item and it is not None:
                gtext = f"{it.code} {it.name} (上限 {_fmt(it.max)} 分)"
            R.append(
                (
                    "td",
                    [
                        r.code,
                        r.name,
                        "加分" if r.kind == "bonus" else "减分",
                        f"{r.signed_points:+g}",
                        f"{(r.limit if r.kind == 'bonus' else -r.limit):+g}",
                        gtext,
                    ],
                )
            )
    else:
        text("本方案没有加减分目录 (模板中没有 加减分 工作表)。")

    heading("四、一票否决")
    v = s.veto
    if v.effect == "forced_grade":
        text(f"有下列情形之一的党员, 年度等次一律定为 {v.grade}, 积分照常显示。")
    elif v.effect == "no_score":
        text(f"有下列情形之一的党员, 不体现积分, 年度等次定为 {v.grade}。")
    elif v.effect == "cap":
        text(f"有下列情形之一的党员, 年度积分最高计 {_fmt(v.cap or 0)} 分, 年度等次定为 {v.grade}。")
    elif v.effect == "zero":
        text(f"有下列情形之一的党员, 年度积分计为 0 分, 年度等次定为 {v.grade}。")
    else:
        text("本方案不设一票否决 (模板中没有 一票否决 工作表)。")
    if v.requires_majority:
        text("一票否决须经支部全体党员举手表决, 赞成票超过当月支部党员人数的一半方生效; 须填写赞成票和反对票。")
    if v.active:
        text("否决情形 列填写名称或代码:")
        R.append(("th", ["代码", "否决情形"]))
        for c in v.conditions:
            R.append(("td", [c.code, c.name]))

    heading("五、星级与等次")
    text("按四舍五入到两位小数后的年度积分, 从高到低逐档比对:")
    band_word = "等次" if s.has_grades else "档次"
    if s.has_stars:
        R.append(("th", ["年度积分 ≥", "星级", "等次"]))
        for b in s.bands:
            R.append(("td", [b.min, f"{b.stars} 星", b.grade]))
    else:
        R.append(("th", ["年度积分 ≥", band_word]))
        for b in s.bands:
            R.append(("td", [b.min, b.label]))
    text(f"最后一档为兜底档: 低于 {_fmt(s.bands[-2].min) if len(s.bands) > 1 else _fmt(s.bands[0].min)} 分的一切分数。")
    period_names = {"month": "月度", "quarter": "季度", "half": "半年"}
    for kind, bands in s.period_bands.items():
        text(f"{period_names.get(kind, kind)}得分也按四舍五入到两位小数后分档:")
        R.append(("th", [f"{period_names.get(kind, kind)}得分 ≥", "等次" if bands[0].grade else "档次"]))
        for b in bands:
            R.append(("td", [b.min, b.label]))
    if s.tiers is not None:
        parts, acc = [], 0.0
        for t in s.tiers.tiers:
            parts.append(f"第 {_pct(acc)} 至 {_pct(acc + t.share)} 为 {t.name}")
            acc += t.share
        text(
            "排序分档: 按年度积分在单位内排序, "
            + "; ".join(parts)
            + "; 并列者同档。"
            + (f" 被一票否决的党员列入 {s.tiers.veto_tier}。" if s.tiers.veto_tier else "")
        )
    if s.quarter_star is not None:
        q = s.quarter_star
        text(
            f"季度之星: 每季度按季度积分排序, 名额不超过计分党员人数的 {_pct(q.share)} (向下取整); "
            f"计分党员少于 {q.min_scored_members} 人的支部不评选; 并列跨过名额线时列出并列人员, 由支委会决定。"
        )
    if s.annual_star is not None:
        a = s.annual_star
        text(
            f"年度之星: 在 {a.of_stars} 星党员中评选, 名额不超过 {a.of_stars} 星党员人数的 {_pct(a.share)} (向下取整)。"
        )
    for grade, action in s.follow_up.actions.items():
        text(f"组织处置 — {grade}: {action}")
    for tier, action in s.follow_up.tier_actions.items():
        text(f"奖罚 — {tier}: {action} (每季度和年度的处置清单)")
    _readme_lapse(s, text)
    shown = ("星级、等次" if s.has_stars else f"积分、{band_word}") + (
        "和年度之星名单" if s.annual_star is not None else ""
    )
    text(f"公示: {shown}张榜公示不少于 {s.publicity.working_days} 个工作日 (不含周末和节假日), 公示表写明起止日期。")

    heading("六、各工作表的填写方法")
    purpose = {
        "branch": "支部信息: 支部编号、名称、积分方案、年度 (每项一行)。",
        "members": "党员名单: 每名党员一行。年内转入、转出的填月份; 不列入积分的填 是。",
        "monthly_scores": "月度评分: 每名党员每月一行, 各项填支委会评分 (算数的分数)。党员在支部的每个月都要有一行。",
        "self_scores": "党员自评 (选填): 与月度评分同样格式, 只作记录, 不计分。",
        "appraisal": "民主测评: 每张测评票对每名被测评党员一行; 不记录测评人姓名。",
        "adjustments": "加减分: 每个加减分事项一行。",
        "vetoes": "一票否决: 每个否决事项一行。",
        "amendments": "评分更正 (选填): 异议处理后更改的月度评分, 每项一行; 原分数保留在月度评分表中。"
        if s.cadence == "month"
        else f"评分更正 (选填): 异议处理后更改的{SHEETS[score_sheet_key(s) or 'monthly_scores'].label}, 每项一行, "
        f"{'季度 (month) 列填季度, 如 2025Q2' if s.cadence == 'quarter' else '年度 (month) 列填年度, 如 2025'}; "
        f"原分数保留在{SHEETS[score_sheet_key(s) or 'monthly_scores'].label}表中。",
        "quarterly_scores": (
            "季度评分: 每名党员每季度一行, 季度 填 YYYYQn (如 2025Q1), 各项填支委会评分 (算数的分数)。"
            "党员在支部的每个季度 (季度内任一月在支部即算) 都要有一行。"
        ),
        "annual_scores": "年度评分: 每名党员一行, 各项填支委会的全年评分 (算数的分数)。年内在支部的党员都要有一行。",
        **FOLLOW_UP_PURPOSE,
        "activities": (
            "活动安排 (选填): 支部开展的每次组织生活一行 (日期、活动名称、类别)。填了本表, "
            "党员在支部期间没有 出席 或 请假 记录的活动即按未出席计 (签到表只记来了的人)。"
        ),
        "attendance": "组织生活 (选填): 每次活动每名出席、请假或缺席的党员一行; 没有行的按未出席计。",
        "dues": (
            "党费交纳 (选填): 每名党员每月一行, 不列入积分的党员也要填。填了本表, 党员在支部的月份没有行的按未交纳计。"
        ),
        "objections": (
            "异议处理 (选填): 党员对评分、星级、格次或评选结果提出的每项异议一行; 调查核实并答复后填写 处理结果 "
            "(维持 / 更正) 和答复日期, 更正的填由此产生的 评分更正 行号。尚未答复的异议列在公示上 (只列姓名和事项)。"
            f" 日期可以是本年度或次年 1-{GRACE_MONTHS} 月。"
        ),
        "star_decisions": (
            "党支部定星 (选填): 党支部 (支委会) 确定的党员星级, 每名党员至多一行, 写明理由和决定日期; "
            "公示和结果以党支部确定的星级为准, 按积分计算的星级并列显示。等级仍按积分评定。"
            f" 决定日期可以是本年度或次年 1-{GRACE_MONTHS} 月。"
        ),
    }
    R.append(("th", ["工作表", "列", "必填", "填写要求"]))
    R.append(("td", [f"{SHEETS['branch'].label} (branch)", purpose["branch"], "", ""]))
    R.append(("td", ["", header_text("publicity_start", "公示开始日期"), "", FOLLOW_UP_START]))
    specs = scheme_sheets(s)
    for key, cols in columns.items():
        spec = specs[key]
        R.append(("td", [f"{spec.label} ({key})", purpose[key], "必填表" if spec.required else "选填表", ""]))
        for col in cols:
            R.append(("td", ["", col.header, "是" if col.required else "", col.hint]))

    _readme_follow_up(text, heading)

    heading("八、校验与保护")
    text(
        "每个输入单元格都设有数据有效性: 分数不能超过满分, 月份、日期、类别、代码等只能填允许的值, "
        "输错会被拒绝并提示。",
        "月份填文本 YYYY-MM (如 2025-03), 单元格已设为文本格式; 日期填 YYYY-MM-DD。"
        + ("" if s.cadence != "quarter" else " 季度填文本 YYYYQn (如 2025Q1)。"),
        "注意: 复制粘贴进来的值不经过 Excel 的数据有效性检查。"
        "运行前请用 python -m scoring validate --inputs 文件 --period 期间 检查, 程序会列出每一处问题。",
        "表头、本说明和代码表已锁定 (工作表保护和工作簿结构保护, 均无密码); "
        "数据区可以直接填写、插入和删除行。确需修改表头时: 审阅 → 撤销工作表保护。",
        f"由 python -m scoring template --scheme {s.name} 生成。",
    )
    return R


# -- follow-up cases (SPEC 8) ---------------------------------------------------------------

FOLLOW_UP_PURPOSE: dict[str, str] = {
    "follow_up_outcomes": (
        "帮教结论 (选填): 支委会对以前年度开出的帮教案件 (告诫、限期整改) 作出的决定, 每个决定一行; "
        "案件年度 填开案的年度 (如 2024), 必须是以前年度运行开出、仍在办理中的案件。"
    ),
}
FOLLOW_UP_START = "选填: 年度公示的第一天 YYYY-MM-DD; 帮教案件在公示期最后一天开案。留空则为运行次日起第一个工作日"


def _readme_follow_up(text: _Text, heading: _Heading) -> None:
    """How follow-up cases are opened, carried and closed (SPEC 8), as the 填表说明 states it."""
    heading("七、跟踪帮教 (帮教结论)")
    text(
        "年度评议为 基本合格 的党员发放《党员告诫通知书》, 告诫期六个月; 为 不合格 的发放《限期整改通知书》, "
        "指定帮教人, 整改期限一年。案件在年度公示期的最后一天开案 (公示开始日期见 支部信息 表), "
        "期限为开案日六个月或一年后的同一天。",
        "以后每次运行 (月、季度、半年、年度) 都接续上一年度运行留下的帮教台账, 列出办理中的案件, 逾期的排在最前。",
        f"帮教结论 只能填 {' / '.join(OUTCOMES)}; 处理 只能填 {' / '.join(ACTIONS)}。"
        f"{OUTCOMES[0]} 的只能 {ACTIONS[0]}; {OUTCOMES[1]} 的可 {' / '.join(ACTIONS[1:])}。",
        "结案 后案件结束; 组织处理、劝退、除名 按所作处理结束案件; 继续帮教 的, 自决定日期起重新计算期限 "
        "(告诫六个月, 限期整改一年)。决定日期在期间末之后的, 本期不计。",
        "没有对应的办理中案件的帮教结论 (党员编号或案件年度填错, 或案件已结束) 会被拒绝, 不写出任何结果。",
    )


def _follow_up_check(key: str, label: str, year: int | None, lists: _Lists) -> tuple[Check, str]:
    """The validation and hint of the follow_up_outcomes columns that take fixed values."""
    if key == "case_year":
        top = f"{year - 1}" if year is not None else f"IF(ISNUMBER({YEAR_NAME}),{YEAR_NAME}-1,2100)"
        check = Check(
            "whole", "2000", top, "between", "案件年度有误", "案件年度应为以前的年度 (如 2024), 即开案的年度。"
        )
        return check, "开案的年度, 早于本年度" + (f", 如 {year - 1}" if year is not None else "")
    choices = OUTCOMES if key == "outcome" else ACTIONS
    check = Check(
        "list",
        lists.source(key, label, choices),
        title=f"{label}有误",
        error="请从下拉列表选择: " + " / ".join(choices) + "。",
    )
    hint = " / ".join(choices) + (f"; {OUTCOMES[0]} 只能 {ACTIONS[0]}" if key == "outcome" else "")
    return check, hint


def _readme_lapse(s: Scheme, text: Callable[..., None]) -> None:
    """How the possible 自行脱党 cases are found (SPEC 8), for the officer who fills the sheets."""
    n = s.follow_up.lapse_months
    text(
        f"自行脱党: 无正当理由连续 {n} 个月以上不参加组织生活或不交纳党费的, 列为可能自行脱党的情形, "
        "由支部讨论; 每个期间 (月、季度、半年、年度) 都列出。",
        "· 组织生活: 以 活动安排 表的活动为准 (没有该表时, 以 组织生活 表中出现的活动为准); 党员在支部期间, "
        "某月有活动而本人没有任何 出席 或 请假 记录, 该月即为未参加 (缺席 和 没有记录 相同, 请假 不算缺席)。"
        "支委会、党小组会只对出勤表中列出的党员计。某月没有活动的, 既不计入也不中断连续月数。"
        "不列入积分的党员 (年老体弱等) 不查组织生活。",
        "· 党费: 填了 党费交纳 表的, 党员在支部的每个月没有记录或 已交纳 为 否 的即为未交纳; "
        "不列入积分的党员同样要交纳党费。",
        "· 跨年连续计算: 上一年度本支部已封存的运行记录中的月份一并计入 (如 上年 8 月 至 本年 1 月)。",
    )


_Text = Callable[..., None]
_Heading = Callable[[str], None]
_Rows = list[tuple[str, list[Any]]]

# how each cadence's sub-period is named in the 填表说明
_EVERY: dict[str, str] = {"month": "每月", "quarter": "每季度", "year": "每年"}


def _readme_items(s: Scheme, R: _Rows, text: _Text, max_header: str) -> None:
    """The items table: code, name, maximum, group and, for letter-graded items, their grades;
    then the groups' subtotals (大项) and how letters are entered."""
    groups = s.groups_by_code
    graded = graded_items(s)
    R.append(("th", ["代码", "考评项目", max_header, "分组"] + (["等次 (折合分数)"] if graded else [])))
    for it in s.items:
        g = groups.get(it.group or "")
        row = [it.code, it.name, it.max, f"{g.code} {g.name}" if g else it.group or ""]
        R.append(("td", row + ([_letters_text(it.grades)] if graded else [])))
    if s.item_groups:
        subtotals = "; ".join(
            f"{g.code} {g.name} {_fmt(sum(i.max for i in s.items if i.group == g.code))} 分" for g in s.item_groups
        )
        text(f"大项小计: {subtotals}。结果中各大项的小计 (其所属小项得分之和) 与各小项并列显示。")
    if graded:
        text(
            "按等次评定的项目 ("
            + ", ".join(graded)
            + ") 填等次字母 (如 A、B+; 不分大小写), 不填分数; 程序按上表折合为分数, 结果中写明 等次 → 分数。"
        )


def _readme_monthly(s: Scheme, R: _Rows, text: _Text, heading: _Heading) -> None:
    """Sections 一 and 二 for a scheme scored every month."""
    heading("一、考评项目与满分 (每月由支部委员会逐项评分)")
    _readme_items(s, R, text, "每月满分")
    text(f"每月总分满分 {_fmt(s.monthly_max)} 分。")

    heading("二、年度积分的计算")
    wm, wa = s.year.weight, s.appraisal.weight
    months = "在支部的月数 (全年在支部为 12; 年中转入转出的按本人在支部的月数)"
    if s.year.by == "per_item":
        if s.appraisal.mode == "per_item":
            text(f"年终每项积分 = 该项各月评分之和 ÷ {months} × {_pct(wm)} + 该项民主测评得分 × {_pct(wa)}。")
        else:
            text(f"年终每项积分 = 该项各月评分之和 ÷ {months} × {_pct(wm)}。")
        text("年终总积分 = 各项年终积分之和; 年度总积分 = 年终总积分 + 加减分。")
    else:
        line = f"月度总分 = 当月各项评分之和; 月平均分 = 各月月度总分之和 ÷ {months}。"
        text(line)
        if s.appraisal.mode == "single":
            text(f"年度积分 = 月平均分 × {_pct(wm)} + 民主测评分 × {_pct(wa)} + 加减分。")
        else:
            text(f"年度积分 = 月平均分 × {_pct(wm)} + 加减分。")


def _readme_cadence(s: Scheme, year: int | None, R: _Rows, text: _Text, heading: _Heading) -> None:
    """Sections 一 and 二 for a scheme scored per quarter, once a year, or not at all (cadence
    none): what is entered, when, and how each period's figure is formed (``Scheme.period_text``)."""
    y = str(year) if year else "2025"
    score = score_sheet_key(s)
    if score is None:
        heading("一、考评项目 (本方案没有项目评分)")
        text(
            "本方案不逐月、逐季或逐年评定项目分 (评分周期 cadence: none), 模板中没有评分工作表; "
            "积分由" + ("基础分、" if s.base is not None else "") + "加减分"
            + ("和民主评议分" if s.appraisal.mode != "none" else "") + "组成。"
        )  # fmt: skip
    else:
        every = _EVERY[s.cadence]
        heading(f"一、考评项目与满分 ({every}由支部委员会逐项评分一次)")
        _readme_items(s, R, text, f"{every}满分" if s.cadence == "quarter" else "满分")
        if s.cadence == "quarter":
            text(
                f"每季度项目总分满分 {_fmt(s.sub_max)} 分。季度评分 (quarterly_scores): 每名党员每季度一行, "
                f"季度 列填 {y}Q1 .. {y}Q4; 季度内任一月在支部的党员都要有该季度的一行。"
            )
        else:
            text(
                f"全年项目总分满分 {_fmt(s.sub_max)} 分。年度评分 (annual_scores): 每名党员一行; "
                "年内任一月在支部的党员都要有一行。"
            )

    heading("二、评分周期与各期间积分的计算")
    kinds = [k for k in ("month", "quarter", "half", "year") if SPAN_MONTHS[k] >= s.shortest_months]
    names = {"month": "月度", "quarter": "季度", "half": "半年", "year": "年度"}
    forms = {"month": f"{y}-01..{y}-12", "quarter": f"{y}Q1..{y}Q4", "half": f"{y}H1, {y}H2", "year": y}
    shorter = [names[k] for k in ("month", "quarter", "half") if k not in kinds]
    text(
        "可以计算的期间: "
        + "、".join(f"{names[k]} ({forms[k]})" for k in kinds)
        + (f"; {'、'.join(shorter)}短于评分周期, 不能计算。" if shorter else "。")
    )
    for kind in kinds:
        if kind != "year" and kind in s.periods:
            text(s.period_text(kind) + "。")
    wm, wa = s.year.weight, s.appraisal.weight
    if s.base is not None:
        line = "年度积分 = 基础分 + 加分" + (" + 民主评议分" if s.appraisal.mode != "none" else "")
        text(
            f"{line}; 基础分 = {_fmt(s.base)} − 全年扣分 (各季度扣分小计之和), 不低于 0; 加分为全年加分的累计。",
            "每季度登记: 本季度扣分小计和加分, 以及截至季末的 目前已得基础分 和 目前已得加分。",
        )
    else:
        line = s.period_text("year")
        if s.appraisal.mode != "none":
            line += f" + 民主测评分 × {_pct(wa)}" if s.appraisal.combine == "weighted" else " + 民主评议分 (不加权)"
        if s.year.events:
            line += " + 加减分 (见三)"
        text(line + "。")
        if s.cadence == "quarter" and s.period("quarter").events:
            text("半年和年度按各季度积分计算, 季度积分已含本季度的加减分。")
        if s.cadence == "quarter" and s.year.combine == "mean":
            text("平均按本人在支部的季度数计算 (季度内任一月在支部即算); 年中转入转出的按本人的季度数。")
    if s.appraisal.mode != "none" and s.appraisal.combine == "weighted":
        text(f"权重: 项目部分 {_pct(wm)}, 民主测评 {_pct(wa)}。")


def _readme_appraisal(s: Scheme, text: _Text) -> None:
    """The year-end appraisal, as the 填表说明 states it."""
    raters = f"至少 {s.appraisal.min_raters} 人评分, 不足为输入错误" if s.appraisal.min_raters else "的评议人数不设下限"
    added = "; 评议分直接加入年度积分, 不加权" if s.appraisal.combine == "added" else ""
    if s.appraisal.mode == "per_item":
        text(
            "民主测评 (年底): 党员和群众代表无记名逐项测评, 每项 0 到该项满分; "
            "每项测评得分 = 该项所有评分之和 ÷ 评分人数; "
            f"每名党员每项{raters}{added}。"
        )
    elif s.appraisal.mode == "single":
        text(
            f"民主测评 (年底): 每张测评票给每名党员打一个 0 到 {_fmt(s.appraisal.max or 0)} 分, 取平均; "
            f"每名党员{raters}{added}。"
        )
    else:
        text("本方案不设民主测评 (模板中没有 民主测评 工作表)。")


# -- members file -----------------------------------------------------------------------------

_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?(?:\s*[-/.]\s*\d{1,2}\s*日?)?(?:\s+00:00:00)?$")


def _month_text(v: Any) -> str | None:
    if isinstance(v, (dt.date, dt.datetime)):
        return f"{v.year}-{v.month:02d}"
    m = _MONTH.match(str(v).strip())
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{int(m.group(1))}-{int(m.group(2)):02d}"
    return None


def _cell_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read_members_file(path: str | Path) -> pd.DataFrame:
    """Members to prefill: a CSV (UTF-8 or GBK) or .xlsx with at least ``member_id`` and ``name``
    (headers as key, Chinese label or ``label (key)``), optionally ``member_type``, ``role``,
    ``joined``, ``left``, ``exempt``, ``exempt_reason``, ``exempt_stars``. Problems raise one
    :class:`~scoring.exceptions.InputError`."""
    path = Path(path)
    spec = SHEETS["members"]
    c = _Collector(path.name)
    try:
        if path.suffix.lower() in (".csv", ".txt"):
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("gb18030")
            table = pd.read_csv(
                io.StringIO(text), header=None, dtype=str, keep_default_na=False, skip_blank_lines=False
            )
            rows = [list(r) for r in table.itertuples(index=False)]
            sheet = "members"
        elif path.suffix.lower() in (".xlsx", ".xlsm"):
            wb = load_workbook(path, read_only=True, data_only=True)
            name = _find_sheet(wb.sheetnames, spec) or wb.sheetnames[0]
            rows = [list(r) for r in wb[name].iter_rows(values_only=True)]
            wb.close()
            sheet = "members"
        else:
            raise ValueError(f"unsupported file type {path.suffix!r}")
    except Exception as exc:  # unreadable file of any kind
        c.add(
            "members",
            "",
            "",
            str(path),
            f"无法读取党员名单文件 (cannot read members file): {exc}",
            ".csv (UTF-8/GBK) or .xlsx",
        )
        c.raise_if_any()
        raise AssertionError("unreachable") from exc
    names = {_norm(col.key): col.key for col in spec.columns} | {_norm(col.label): col.key for col in spec.columns}
    header_idx = next(
        (i for i, r in enumerate(rows[:10]) if sum(_header_key(v, names) is not None for v in r if v is not None) >= 2),
        None,
    )
    if header_idx is None:
        c.add(
            sheet,
            "",
            "",
            "",
            "找不到表头行 (no header row with member_id and name)",
            ", ".join(header_text(col.key, col.label) for col in spec.columns),
        )
        c.raise_if_any()
    assert header_idx is not None
    keys = [_header_key(v, names) if v is not None else None for v in rows[header_idx]]
    for need in ("member_id", "name"):
        if need not in keys:
            c.add(
                sheet,
                header_idx + 1,
                need,
                "",
                "缺少必需的列 (required column missing)",
                header_text(need, next(col.label for col in spec.columns if col.key == need)),
            )
    c.raise_if_any()
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, r in enumerate(rows[header_idx + 1 :], start=header_idx + 2):
        rec = {k: r[j] for j, k in enumerate(keys) if k is not None and j < len(r)}
        if all(_cell_text(v) == "" for v in rec.values()):
            continue
        row: dict[str, Any] = {}
        for k, v in rec.items():
            t = _cell_text(v)
            if k in ("joined", "left") and t:
                m = _month_text(v)
                if m is None:
                    c.add(sheet, i, k, t, "不是月份 (not a month)", "YYYY-MM, e.g. 2025-03")
                row[k] = m
            elif k == "member_type" and t and t not in MEMBER_TYPES:
                c.add(sheet, i, k, t, "不是允许的取值 (not an allowed value)", " / ".join(MEMBER_TYPES))
            elif k == "role" and t and t not in ROLES:
                c.add(sheet, i, k, t, "不是允许的取值 (not an allowed value)", " / ".join(ROLES))
            elif k == "exempt" and t:
                low = t.lower()
                if low in ("yes", "y", "是", "true", "1"):
                    row[k] = "是"
                elif low in ("no", "n", "否", "false", "0"):
                    row[k] = "否"
                else:
                    c.add(sheet, i, k, t, "应填 是/否 (not yes/no)", "是 / 否")
            elif k == "exempt_stars" and t:
                try:
                    row[k] = int(float(t))
                except ValueError:
                    c.add(sheet, i, k, t, "不是整数 (not a whole number)", "0, 1, 2, ...")
            if k not in row:
                row[k] = t or None
        for need in ("member_id", "name"):
            if not row.get(need):
                c.add(sheet, i, need, "", "不能为空 (must not be blank)", need)
        mid = row.get("member_id")
        if mid:
            if mid in seen:
                c.add(
                    sheet,
                    i,
                    "member_id",
                    mid,
                    f"重复, 与第 {seen[mid]} 行相同 (duplicate of row {seen[mid]})",
                    "one row per member",
                )
            seen.setdefault(mid, i)
        out.append(row)
    if not out:
        c.add(sheet, "", "member_id", "", "党员名单为空 (no members)", "one row per member")
    c.raise_if_any()
    return pd.DataFrame(out, columns=[col.key for col in spec.columns]).astype(object).where(lambda d: d.notna(), None)


def _member_months(row: dict[str, Any], year: int) -> list[int]:
    """Months of ``year`` the member is in the branch (from joined / left)."""
    first, last = 1, 12
    if row.get("joined"):
        y, m = map(int, str(row["joined"]).split("-"))
        first = 13 if y > year else (m if y == year else 1)
    if row.get("left"):
        y, m = map(int, str(row["left"]).split("-"))
        last = 0 if y < year else (m if y == year else 12)
    return list(range(first, last + 1))


# -- entry points -----------------------------------------------------------------------------


def _is_builtin(loaded: LoadedScheme) -> bool:
    return loaded.path.parent == SCHEMES_DIR.resolve() and loaded.name == loaded.path.stem


def _scheme_ref(loaded: LoadedScheme, out_dir: Path) -> str:
    """What the branch sheet names: the built-in name, else the scheme file's name: a workbook may
    only name a scheme file beside it (SPEC 10), and ``write_template`` puts a copy there."""
    return loaded.name if _is_builtin(loaded) else loaded.path.name


def template_name(scheme_name: str, year: int | None = None, branch_id: str = "") -> str:
    """``[branch_]scheme[_year].xlsx``."""
    return "_".join(p for p in (branch_id, scheme_name, str(year) if year else "") if p) + ".xlsx"


def build_template(
    scheme: str | Path,
    year: int | None = None,
    branch_id: str = "",
    members: str | Path | pd.DataFrame | None = None,
    out_dir: str | Path = ".",
) -> Workbook:
    """The template workbook in memory (see the module docstring). For a scheme that scores
    branches (``subject: branch``) it is a unit workbook's (:mod:`scoring.inputs.unit_template`),
    ``branch_id`` is the unit's id, and a members list has no place."""
    if year is not None and not 2000 <= year <= 2100:
        raise ScoringError(f"年度应为 2000..2100 (year out of range): {year}")
    loaded = load_scheme(scheme)
    s = loaded.scheme
    if s.subject == "branch":
        if members is not None:
            raise ScoringError(
                f"方案 {loaded.name} 考评党支部, 单位工作簿没有党员名单 (a branch-scoring scheme takes no members list)"
            )
        return build_unit_template(loaded, _scheme_ref(loaded, Path(out_dir)), year, branch_id)
    if branch_id and not re.match(r"^[A-Za-z0-9_\-]+$", branch_id):
        raise ScoringError(f"支部编号只能含字母、数字、- 和 _ (invalid branch id): {branch_id!r}")
    mem = members if isinstance(members, pd.DataFrame) else read_members_file(members) if members is not None else None
    # pandas-stubs types a record's keys as Hashable; a members table's column labels are str
    records = cast(list[dict[str, Any]], mem.to_dict("records")) if mem is not None else []
    member_rows = [{k: v for k, v in r.items() if v is not None} for r in records]

    wb = Workbook()
    readme = wb.active
    assert isinstance(readme, Worksheet)  # a new workbook's one sheet
    readme.title = README_SHEET
    lists = _Lists(wb)
    _write_branch(
        wb.create_sheet(f"{SHEETS['branch'].label} (branch)"),
        loaded,
        _scheme_ref(loaded, Path(out_dir)),
        year,
        branch_id,
        lists,
    )
    columns: dict[str, list[TemplateColumn]] = {}
    prefill: dict[str, list[dict[str, Any]]] = {"members": member_rows}
    score = score_sheet_key(s)
    if year is not None and member_rows and score is not None:
        # a row for every member and sub-period he is in the branch for (any month of it)
        scored = [r for r in member_rows if str(r.get("exempt", "否")) != "是"]
        if score == "monthly_scores":
            prefill[score] = [
                {"member_id": r["member_id"], "month": f"{year}-{m:02d}"}
                for r in scored
                for m in _member_months(r, year)
            ]
        elif score == "quarterly_scores":
            prefill[score] = [
                {"member_id": r["member_id"], "quarter": f"{year}Q{q}"}
                for r in scored
                for q in sorted({(m - 1) // 3 + 1 for m in _member_months(r, year)})
            ]
        else:
            prefill[score] = [{"member_id": r["member_id"]} for r in scored if _member_months(r, year)]
    n_members = max(ROWS["members"], 2 * len(member_rows))
    for key in _sheet_keys(s):
        ws = wb.create_sheet(f"{SHEETS[key].label} ({key})")
        columns[key] = _columns(key, s, year, lists)
        rows = prefill.get(key, [])
        _write_table(ws, columns[key], rows, ROWS[key] if key != "members" else n_members, FREEZE.get(key, "A2"))
    members_ws = wb[f"{SHEETS['members'].label} (members)"]
    wb.defined_names[MEMBER_IDS_NAME] = DefinedName(
        MEMBER_IDS_NAME, attr_text=f"{quote_sheetname(members_ws.title)}!$A$2:$A${1 + n_members}"
    )
    _write_readme(readme, readme_rows(loaded, year, columns))
    if lists.ws is not None:
        wb.move_sheet(lists.ws, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(lists.ws.title))  # last
        lists.ws.sheet_state = "hidden"
        lists.ws.freeze_panes = "A2"
        _protect(lists.ws)
    wb.security.lockStructure = True  # no password: keeps sheets named and the code table hidden
    wb.active = 0
    return wb


def write_template(
    scheme: str | Path,
    out_dir: str | Path,
    year: int | None = None,
    branch_id: str = "",
    members: str | Path | pd.DataFrame | None = None,
    overwrite: bool = True,
) -> Path:
    """Write ``[branch_]<scheme>[_year].xlsx`` into ``out_dir`` and return its path.

    With ``overwrite=False`` an existing file (perhaps already filled in) is never replaced. A scheme
    that scores branches gets a unit workbook's template (``branch_id``: the unit's id).
    """
    loaded = load_scheme(scheme)
    out = Path(out_dir)
    path = out / template_name(loaded.name, year, branch_id)
    if path.exists() and not overwrite:
        raise ScoringError(f"文件已存在, 未覆盖 (file exists, not overwritten; use --force): {path}")
    wb = build_template(scheme, year, branch_id, members, out)
    if not _is_builtin(loaded):  # the scheme file goes beside the workbook that names it
        beside = out / loaded.path.name
        if beside.exists() and beside.resolve() != loaded.path and beside.read_bytes() != loaded.path.read_bytes():
            raise ScoringError(
                f"文件夹中已有同名的另一个积分方案文件, 未覆盖 (another scheme file of that name): {beside}"
            )
        if not beside.exists():
            out.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(loaded.path, beside)
    # the same template gives the same bytes (templates_xlsx/ is compared byte for byte)
    save_reproducibly(wb, path)
    return path


def write_builtin_templates(
    out_dir: str | Path = TEMPLATES_DIR,
    year: int | None = None,
    branch_id: str = "",
    members: str | Path | None = None,
    overwrite: bool = True,
) -> list[Path]:
    """The committed templates: one per built-in scheme, year left blank; ``members`` prefill the
    templates of the schemes that score members (a unit workbook lists branches, not members)."""
    mem = read_members_file(members) if members is not None else None
    return [
        write_template(
            name, out_dir, year, branch_id, mem if load_scheme(name).scheme.subject == "member" else None, overwrite
        )
        for name in builtin_schemes()
    ]
