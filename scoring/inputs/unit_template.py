"""The template of a unit workbook (SPEC 3.9): the 党委's scoring of its branches, for a scheme with
``subject: branch``.

Written by :func:`scoring.inputs.templates.write_template` when the scheme scores branches; the
sheets are exactly :data:`scoring.inputs.unit.UNIT_SHEETS`, headers ``中文 (key)``, and the style
is a branch template's (:mod:`scoring.inputs.template_kit`): 填表说明 first, frozen and locked
header rows, input columns unlocked, every sheet and the workbook structure protected without a
password, a hidden code table.

Data validation, in Chinese:

* every branch column offers the branch ids of 党支部名单 (``list_branch_id``), every indicator
  column the indicator codes of 考评指标 (``ind_code``), 考评指标.类别 the scheme's categories;
* an indicator's maximum is at most its category's, and a code is in force once per quarter and
  branch (common, or the branch's own, never both);
* a score lies within 0 .. the maximum of the indicator in force for its branch in its month's
  quarter, of a category scored that way (self or mutual): a ``SUMPRODUCT`` over 考评指标, so a
  code not in force, or of the wrong kind, takes no score at all; a branch never rates itself.

Only functions Excel 2010 has, and each formula fits Excel's 255 characters for a validation.
The reader (:func:`scoring.inputs.unit.load_unit`) stays the authority: pasted values skip data
validation, and sums over a category's indicators are checked there.
"""

from __future__ import annotations

import re
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from ..exceptions import ScoringError
from ..rules.scheme import LoadedScheme, Scheme
from .reading import header_text
from .template_kit import (
    _BOLD,
    _LOCKED,
    _REQUIRED_FILL,
    _UNLOCKED,
    ID_FORMULA,
    LISTS_SHEET,
    README_SHEET,
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
    put_cell,
)
from .unit import ID_PATTERN, SCORED_BY_WORDS, UNIT_KEYS, UNIT_SHEETS

UNIT_SHEET = f"{UNIT_SHEETS['unit'].label} (unit)"
WHERE_YEAR = "单位信息表"  # where the year is typed, as the validation messages say

# Data rows (below the header) that carry validation, per sheet: generous for a unit.
UNIT_ROWS: dict[str, int] = {
    "branches": 200,
    "indicators": 2000,
    "self_scores": 24000,  # 200 branches x 12 months x 10 indicators
    "mutual_scores": 50000,  # raters x rated branches x months x 评价类 indicators
    "verification": 5000,
    "approvals": 500,
}
FREEZE: dict[str, str] = {
    "branches": "B2",
    "indicators": "C2",
    "self_scores": "D2",
    "mutual_scores": "E2",
    "verification": "D2",
    "approvals": "B2",
}
BRANCH_IDS_NAME = "list_branch_id"  # the branch_id column of 党支部名单
# the columns of 考评指标 that the score validations look up, by defined name
INDICATOR_NAMES: dict[str, str] = {
    "quarter": "ind_quarter",
    "code": "ind_code",
    "category": "ind_category",
    "max": "ind_max",
    "branch_id": "ind_branch",
}
VALIDATION_LIMIT = 255  # Excel: a data validation formula may hold at most 255 characters


def _score_formula(kind: str, categories: str) -> str:
    """``{c}`` within 0 .. the maximum of the indicator in force for the row's branch in its
    month's quarter, of a category in ``categories`` (a code-table name); the quarter's text
    ``2025Q1`` is formed from the month ``2025-03``. No such indicator: no score passes (the
    count is 0), and an unusable month or code is rejected through IFERROR, not an engine's error."""
    n = INDICATOR_NAMES
    quarter = 'LEFT({col:month},4)&"Q"&INT((RIGHT({col:month},2)+2)/3)'
    match = (
        f"({n['quarter']}={quarter})*({n['code']}={{col:indicator}})"
        f'*(({n["branch_id"]}="")+({n["branch_id"]}={{col:branch_id}})>0)'
        f"*ISNUMBER(MATCH({n['category']},{categories},0))*({n['max']}>={{c}})"
    )
    own = "{col:rater_branch}<>{col:branch_id}," if kind == "mutual" else ""
    return f"AND(ISNUMBER({{c}}),{{c}}>=0,{own}IFERROR(SUMPRODUCT({match}),0)>0)"


def _columns(sheet: str, s: Scheme, year: int | None, lists: _Lists) -> list[TemplateColumn]:
    """The columns of one unit sheet with their validation and hint."""
    branches = Check(
        "list", BRANCH_IDS_NAME, title="支部编号有误", error="请从下拉列表选择 党支部名单 (branches) 中的支部编号。"
    )
    indicator = Check(
        "list",
        INDICATOR_NAMES["code"],
        title="指标代码有误",
        error="请从下拉列表选择 考评指标 (indicators) 中的指标代码。",
    )
    self_names = "、".join(i.name for i in s.items if i.scored_by == "self")
    mutual_names = "、".join(i.name for i in s.items if i.scored_by == "mutual")
    # the categories scored each way, on the code table (a scheme's names are never formula text)
    kinds = {
        kind: lists.column(f"{kind}_category", header_text("category", word), names)
        for kind, word in (("self", "自评类别"), ("mutual", "互评类别"))
        if (names := [i.name for i in s.items if i.scored_by == kind])
    }
    out: list[TemplateColumn] = []
    for col in UNIT_SHEETS[sheet].columns:
        key, fmt, check, hint = col.key, "@", None, ""
        if key == "branch_id" and sheet == "branches":
            check = Check(
                "custom",
                ID_FORMULA.replace("AND(", "AND(COUNTIF({rng},{c})=1,", 1),
                title="支部编号有误",
                error="支部编号不能重复, 只能含字母、数字、- 和 _ (最长 30 个字符), 如 B01。",
            )
            hint = "本单位内唯一; 字母、数字、- 和 _, 如 B01"
        elif key == "branch_id" and sheet == "indicators":
            check = Check(
                "list",
                BRANCH_IDS_NAME,
                title="适用支部有误",
                error="请留空 (全部支部) 或选择 党支部名单 中的支部编号。",
            )
            hint = "留空: 适用全部支部; 填支部编号: 只适用该支部 (为该支部量身定制)"
        elif key == "rater_branch":
            check, hint = branches, "评价支部 (打分的支部), 从下拉列表选择"
        elif key == "branch_id":
            check = branches
            hint = {
                "mutual_scores": "被评支部, 从下拉列表选择; 不能是评价支部本身",
                "verification": "被验证的支部, 从下拉列表选择",
            }.get(sheet, "党支部名单中的支部编号, 从下拉列表选择")
        elif key == "branch_name":
            hint = "支部全称"
        elif key == "secretary":
            hint = "支部书记姓名, 可留空"
        elif key == "quarter":
            check, hint = _quarter_check(year, lists, WHERE_YEAR)
            hint += "; 每季度的指标各列一遍"
        elif key == "code":
            n = INDICATOR_NAMES
            check = Check(
                "custom",
                f"AND(LEN({{c}})<=20,SUMPRODUCT(({n['quarter']}={{col:quarter}})*({n['code']}={{c}})"
                f'*(({n["branch_id"]}="")+({n["branch_id"]}={{col:branch_id}})+({{col:branch_id}}="")>0))=1)',
                title="指标代码有误",
                error=(
                    "同一季度内指标代码不能重复 (适用全部支部的代码不能再单独适用某支部), 最长 20 个字符; 请先填季度。"
                ),
            )
            hint = "如 JB1; 同一季度内不重复"
        elif key == "category":
            names = [i.name for i in s.items]
            check = Check(
                "list",
                lists.source("category", col.label, names),
                title="类别有误",
                error="请从下拉列表选择本方案的指标类别: " + " / ".join(names) + "。",
            )
            hint = " / ".join(f"{i.name} (满分 {_fmt(i.max)})" for i in s.items)
        elif key == "name":
            hint = "指标内容, 如 三会一课落实情况"
        elif key == "max":
            fmt = "General"
            table = lists.lookup(
                "category_max",
                (header_text("category", "类别"), header_text("max", "满分")),
                [(i.name, i.max) for i in s.items],
            )
            check = Check(
                "custom",
                f"AND(ISNUMBER({{c}}),{{c}}>0,{{c}}<=VLOOKUP({{col:category}},{table},2,FALSE))",
                title="分值有误",
                error="分值应大于 0, 且不超过所选类别的满分; 请先在 类别 列选择类别。",
            )
            hint = "大于 0, 不超过所属类别的满分; 一个支部同一季度同一类别各指标分值之和也不超过该类满分"
        elif key == "month":
            check, hint = _month_check(year, True, lists, WHERE_YEAR)
        elif key == "indicator":
            check = indicator
            hint = {
                "self_scores": f"考评指标中的指标代码 ({self_names}), 从下拉列表选择",
                "mutual_scores": f"考评指标中的{mutual_names}指标代码, 从下拉列表选择",
                "verification": f"被验证的自评指标 ({self_names}), 从下拉列表选择",
            }[sheet]
        elif key in ("score", "verified_score"):
            fmt = "General"
            kind = "mutual" if sheet == "mutual_scores" else "self"
            which = mutual_names if kind == "mutual" else self_names
            check = Check(
                "custom",
                _score_formula(kind, kinds[kind]) if kind in kinds else "FALSE",  # none of that kind: no score
                title="分数有误",
                error=(
                    f"分数应为 0 到该指标本季度分值之间的数字; 指标须为本季度对该支部适用的{which}指标"
                    + ("; 支部不能评价本支部" if kind == "mutual" else "")
                    + "。请先填支部、月份和指标。"
                ),
            )
            hint = {
                "self_scores": "支部自评分, 0 到该指标本季度的分值 (可有小数)",
                "mutual_scores": "互评分, 0 到该指标本季度的分值; 被评支部得分为各评价支部的平均",
                "verification": "验证分, 0 到该指标的分值; 以验证分为准, 自评分保留备查",
            }[sheet]
        elif key == "approved_on":
            fmt = "yyyy-mm-dd"
            check, hint = _date_check(year, WHERE_YEAR)
        else:  # free text
            hint = {
                "evidence": "佐证材料 (台账、会议记录、文件名等)",
                "reason": "验证说明: 为何调整自评分",
                "verified_by": "验证人 (联评联考办公室)",
                "approved_by": "审定人或会议, 如 党委会",
            }.get(key, "")
        if check is not None:
            for formula in (check.formula1, check.formula2 or ""):
                # with the longest letters a column of these sheets can have (F) and row 2
                written = re.sub(r"\{col:\w+\}", "F2", formula.replace("{c}", "F2")).replace("{rng}", "$F$2:$F$50001")
                if len(written) > VALIDATION_LIMIT:
                    raise ValueError(f"validation formula over {VALIDATION_LIMIT} characters: {formula}")
        out.append(TemplateColumn(key, header_text(key, col.label), col.required and col.not_blank, fmt, check, hint))
    return out


def _write_unit(ws: Worksheet, scheme_ref: str, year: int | None, unit_id: str, wb: Workbook) -> None:
    """The key/value sheet 单位信息: the scheme is locked, and the year too when given."""
    hints = {
        "unit_id": "字母、数字、- 和 _, 如 U01",
        "unit_name": "单位党委全称, 如 XX公司党委",
        "scheme": "积分方案 (本模板按此方案生成, 已锁定)",
        "year": "四位年度, 如 2025" + (" (已按生成时的年度填写并锁定)" if year else ""),
    }
    for j, text in enumerate([header_text("key", "项目"), header_text("value", "内容"), "填写说明"], start=1):
        cell = put_cell(ws, 1, j, text)
        cell.font = _BOLD
        cell.fill = _REQUIRED_FILL
    values: dict[str, Any] = {"unit_id": unit_id, "unit_name": "", "scheme": scheme_ref, "year": year}
    rows = {k: i for i, k in enumerate(UNIT_KEYS, start=2)}
    for key, label in UNIT_KEYS.items():
        i = rows[key]
        put_cell(ws, i, 1, header_text(key, label)).font = _BOLD
        v = put_cell(ws, i, 2, values[key] if values[key] not in ("", None) else None)
        put_cell(ws, i, 3, hints[key])
        v.protection = _LOCKED if key == "scheme" or (key == "year" and year is not None) else _UNLOCKED
        v.number_format = "General" if key == "year" else "@"
    checks = {
        "unit_id": Check(
            "custom", ID_FORMULA, title="单位编号有误", error="单位编号只能含字母、数字、- 和 _, 如 U01。"
        ),
        "year": _between("whole", 2000, 2100, "年度"),
    }
    for key, check in checks.items():
        ref = f"B{rows[key]}"
        dv = _data_validation(check, ref, ref, header_text(key, UNIT_KEYS[key]), hints[key])
        dv.add(ref)
        ws.add_data_validation(dv)
    ws.column_dimensions["A"].width = _fit([header_text(k, v) for k, v in UNIT_KEYS.items()])
    ws.column_dimensions["B"].width = _fit([scheme_ref, "示范县供电公司党委"], lo=24)
    ws.column_dimensions["C"].width = _fit(hints.values())
    ws.freeze_panes = "A2"
    _protect(ws)
    wb.defined_names[YEAR_NAME] = DefinedName(YEAR_NAME, attr_text=f"{quote_sheetname(ws.title)}!$B${rows['year']}")


def _name_column(wb: Workbook, name: str, ws: Worksheet, letter: str, rows: int) -> None:
    wb.defined_names[name] = DefinedName(
        name, attr_text=f"{quote_sheetname(ws.title)}!${letter}$2:${letter}${rows + 1}"
    )


def readme_rows(
    loaded: LoadedScheme, year: int | None, columns: dict[str, list[TemplateColumn]]
) -> list[tuple[str, list[Any]]]:
    """The 填表说明 of a unit workbook as (style, cells) rows, as ``templates.readme_rows``."""
    s = loaded.scheme
    R: list[tuple[str, list[Any]]] = []

    def text(*lines: str) -> None:
        R.extend(("text", [ln]) for ln in lines)

    def heading(t: str) -> None:
        R.append(("blank", []))
        R.append(("h", [t]))

    y = str(year) if year else "2025"
    self_names = "、".join(i.name for i in s.items if i.scored_by == "self")
    mutual_names = "、".join(i.name for i in s.items if i.scored_by == "mutual")
    R.append(("title", [f"党支部工作联评联考 单位工作簿 填表说明 — {s.title}"]))
    text(
        f"积分方案: {s.title} ({s.name}, 版本 {s.version}); 依据: {s.source}",
        f"年度: {year} 年" if year else "年度: 未填写 — 请在 单位信息 (unit) 表填写四位年度",
        "被考评的是党支部: 一个单位 (党委) 一个年度一个工作簿, 由联评联考办公室填写和汇总各支部的自评、互评。",
        "表头橙色的列必填, 蓝色的列选填。",
    )

    heading("一、考评指标类别与满分 (月评: 每月每个支部一个得分)")
    R.append(("th", ["代码", "类别", "满分", "评分方式"]))
    for it in s.items:
        R.append(("td", [it.code, it.name, it.max, SCORED_BY_WORDS[str(it.scored_by)]]))
    text(
        f"每月得分满分 {_fmt(sum(i.max for i in s.items))} 分。",
        "考评指标由党委每季度依据中心工作为各支部“量身定制”: 在 考评指标 (indicators) 表中每个季度每个指标一行, "
        f"季度 列填 {y}Q1 .. {y}Q4; 指标可以逐季度变化, 每个季度的指标都要列出 (上季度的指标不会自动延续)。",
        "适用支部 留空的指标适用于全部支部; 填写支部编号的只适用于该支部。"
        "同一季度内同一指标代码不能既适用全部支部又单独适用某个支部。",
        "一个支部同一季度同一类别各指标的分值之和不能超过该类别的满分 (如 基本类 可拆为两个指标, 分值之和不超过满分)。",
    )

    heading("二、评分流程 (自评互评、检查验证、党委审定)")
    text(
        f"{self_names} 指标: 各党支部每月月底前自评, 在 支部自评 (self_scores) 表每个支部每月每个适用指标一行, "
        "写明佐证材料; 次月月初由联评联考办公室检查验证。",
        "验证分与自评分不同的, 在 检查验证 (verification) 表记一行, 写明验证说明和验证人; "
        "计分以验证分为准, 自评分保留备查。",
        f"{mutual_names} 指标: 由其他党支部互评, 在 支部互评 (mutual_scores) 表中评价支部对每个被评支部每月每个"
        f"{mutual_names}指标一行; 支部不能评价本支部。被评支部的得分为各评价支部评分的平均; "
        "结果只显示评价支部数和平均分, 不显示哪个支部打了多少分。",
        "党委审定: 每月的考评结果经党委审定后, 在 党委审定 (approvals) 表记一行 (月份、审定人、审定日期)。"
        "未经审定的月份, 其排名标注 未审定, 只是草稿。",
        "年度定级须全年十二个月都经党委审定; 有未审定的月份时年度不能定级, 程序报错并指出该月。",
    )

    heading("三、月评、季考、年定级")
    how = {"mean": "的平均", "sum": "之和"}
    quarter = s.periods.get("quarter")
    text(
        "月度得分 = 该支部当月各适用指标得分之和 (自评的指标取验证分, 未验证的取自评分; "
        f"{mutual_names}取互评平均), 0 到 {_fmt(sum(i.max for i in s.items))} 分。",
        "每月按月度得分排名, 同分同名次 (如 1, 2, 2, 4), 在月党支部书记例会上通报。",
    )
    if quarter is not None:
        text(f"季考: 季度得分 = 本季度各月得分{how.get(quarter.combine, '的平均')}, 按季度得分排名。")
    text(f"年定级: 年度得分 = 十二个月得分{how.get(s.year.combine, '的平均')}, 按下表定级并排名:")
    R.append(("th", ["年度得分 ≥", "等级"]))
    for b in s.bands:
        R.append(("td", [b.min, b.label]))
    if len(s.bands) > 1:
        text(f"最后一档为兜底档: 低于 {_fmt(s.bands[-2].min)} 分的为 {s.bands[-1].label}。")
    text(
        "公布的分数按四舍五入保留两位小数; 计算过程中不舍入, 定级和排名按舍入后的分数。",
        "每月结果经党委审定后在党支部书记例会上通报; 未经审定的月份, 其排名只是草稿。",
    )

    heading("四、各工作表的填写方法")
    purpose = {
        "unit": "单位信息: 单位编号、单位名称、积分方案、年度 (每项一行)。",
        "branches": "党支部名单: 每个被考评的党支部一行。",
        "indicators": "考评指标: 每季度每个指标一行 (见一)。",
        "self_scores": f"支部自评: 每个支部每月每个适用的{self_names}指标一行。",
        "mutual_scores": f"支部互评: 每个评价支部对其他每个支部每月每个{mutual_names}指标一行。",
        "verification": "检查验证: 联评联考办公室调整的自评分, 每项一行; 没有调整的不填。",
        "approvals": "党委审定: 每个经党委审定的月份一行; 未审定的月份排名为草稿, 年度须十二个月都审定后才能定级。",
    }
    R.append(("th", ["工作表", "列", "必填", "填写要求"]))
    R.append(("td", [UNIT_SHEET, purpose["unit"], "必填表", ""]))
    for key, cols in columns.items():
        spec = UNIT_SHEETS[key]
        R.append(("td", [f"{spec.label} ({key})", purpose[key], "必填表" if spec.required else "选填表", ""]))
        for col in cols:
            R.append(("td", ["", col.header, "是" if col.required else "", col.hint]))

    heading("五、校验与保护")
    text(
        "每个输入单元格都设有数据有效性: 支部编号从 党支部名单 中选择, 指标代码从 考评指标 中选择, "
        "类别从本方案的类别中选择; 分数不能超过该指标在该月所在季度对该支部的分值 "
        "(在 考评指标 表中按季度、指标代码和适用支部查找), 输错会被拒绝并提示。请先填支部、月份和指标, 再填分数。",
        "月份填文本 YYYY-MM (如 2025-03), 季度填文本 YYYYQn (如 2025Q1), 单元格已设为文本格式; 日期填 YYYY-MM-DD。",
        "注意: 复制粘贴进来的值不经过 Excel 的数据有效性检查。程序读取工作簿时会再检查全部内容 "
        "(包括每类指标分值之和、每月每个指标都有自评或互评), 一次列出每一处问题。",
        "表头、本说明和代码表已锁定 (工作表保护和工作簿结构保护, 均无密码); "
        "数据区可以直接填写、插入和删除行。确需修改表头时: 审阅 → 撤销工作表保护。",
        f"由 python -m scoring template --scheme {s.name} 生成。",
    )
    return R


def unit_tables() -> dict[str, list[str]]:
    """The column keys of every table of a unit workbook (the unit sheet is key/value rows); the
    same for every branch scheme: its categories are values of 考评指标, not columns."""
    return {key: [c.key for c in spec.columns] for key, spec in UNIT_SHEETS.items() if key != "unit"}


def build_unit_template(loaded: LoadedScheme, scheme_ref: str, year: int | None = None, unit_id: str = "") -> Workbook:
    """The unit template in memory (see the module docstring); ``scheme_ref`` is what the unit
    sheet names (a built-in name, or the scheme file's name beside the workbook)."""
    s = loaded.scheme
    if s.subject != "branch":
        raise ScoringError(f"方案 {loaded.name} 考评党员, 不考评党支部 (a member scheme has no unit workbook)")
    if unit_id and not ID_PATTERN.match(unit_id):
        raise ScoringError(f"单位编号只能含字母、数字、- 和 _ (invalid unit id): {unit_id!r}")
    wb = Workbook()
    readme = wb.active
    assert isinstance(readme, Worksheet)  # a new workbook's one sheet
    readme.title = README_SHEET
    lists = _Lists(wb)
    _write_unit(wb.create_sheet(UNIT_SHEET), scheme_ref, year, unit_id, wb)
    columns: dict[str, list[TemplateColumn]] = {}
    for key in unit_tables():
        ws = wb.create_sheet(f"{UNIT_SHEETS[key].label} ({key})")
        columns[key] = _columns(key, s, year, lists)
        _write_table(ws, columns[key], [], UNIT_ROWS[key], FREEZE[key])
        letters = {c.key: get_column_letter(j) for j, c in enumerate(columns[key], start=1)}
        if key == "branches":
            _name_column(wb, BRANCH_IDS_NAME, ws, letters["branch_id"], UNIT_ROWS[key])
        elif key == "indicators":
            for column, name in INDICATOR_NAMES.items():
                _name_column(wb, name, ws, letters[column], UNIT_ROWS[key])
    _write_readme(readme, readme_rows(loaded, year, columns))
    if lists.ws is not None:
        wb.move_sheet(lists.ws, offset=len(wb.sheetnames) - 1 - wb.sheetnames.index(LISTS_SHEET))  # last
        lists.ws.sheet_state = "hidden"
        lists.ws.freeze_panes = "A2"
        _protect(lists.ws)
    wb.security.lockStructure = True  # no password: keeps sheets named and the code table hidden
    wb.active = 0
    return wb
