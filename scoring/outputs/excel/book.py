"""The audited results workbook of a run: the stages' sheets in order, 结果, 核对, 公示 and cards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ...labels import provenance_label, shown
from ...rules.engine import Result
from ..case_notices import add_case_notice_sheet
from ..cases import cases_sheet
from ..excel2010 import Workbook as Excel2010Workbook
from ..notice import add_notice_sheet
from ..publicity import add_publicity_sheets
from .bands import quota_cells
from .check import check_sheet
from .events import adjustments, vetoes
from .indicators import indicator_sheets
from .items import scores_and_totals
from .lapse import lapse_sheet
from .objections import objection_sheets
from .parameters import parameters
from .published import period_columns, period_results
from .spans import spans
from .writer import DATE_FORMAT, FONT, Checks, Layout, Sheet, Writer, fit_rows, labels_of, print_setup
from .year import appraisal, year_columns, year_results

README_LINES: list[str] = [
    "本工作簿由党员积分制管理评分程序 (scoring) 生成。 This workbook was written by the scoring package.",
    "",
    "怎样读 (how to read):",
    "1. 「结果」表中的每个积分都是公式, 引用「月度评分」「月度总分」「民主测评」「加减分」「一票否决」和「参数」表;",
    "   在 Excel 中用「公式 → 追踪引用单元格」(Trace Precedents) 可一路追到每个月的评分单元格。",
    (
        "2. 权重、名额比例等是「参数」表中的命名单元格 (月度权重、测评权重、期末月份、季度之星名额、年度之星名额等), "
        "星级和等级按「参数」表中的分档表查找 (LOOKUP)。"
    ),
    (
        "3. 「核对」表每名党员一行, 逐项 (各项月平均、测评、项目积分、年度总积分、星级、等级、排名、档次、年度之星、"
        "各季度和半年的积分、排名和季度之星)"
    ),
    "   列出工作簿公式值、程序计算值和核对结果 (OK 或差值); 「全部一致」列汇总一行。 重新计算后应全部为 OK。",
    "4. 「月度评分」中黄色单元格是经过更正的评分, 批注中有原分数; 「评分更正」表列出每条更正。",
    "5. 「民主测评」只有测评人数、合计和平均分, 不含任何单张选票 (无记名测评)。",
    (
        "6. 「加减分」由公式判定每条加减分能否计入 (佐证、日期、是否不列入积分) "
        "和计入分值 (只计最高 / 累加 / 分组封顶), 并给出原因;"
    ),
    "   「一票否决」由公式判定是否生效 (举手表决须赞成票超过当月党员人数的一半)。",
    "7. 排名用 RANK 公式; 季度之星、年度之星按「参数」表中的名额由公式确定: 名次加并列人数不超过名额为 是,",
    "   名次在名额内但并列跨过名额线为 并列待定 (由支委会研究), 否则为 否; 排序档次按排名人数和各档比例由公式确定。",
    (
        "8. 保留为数值的列 (加减分目录的名称和分值、当月党员人数、不列入积分党员直接评定的星级等) 是输入或方案目录, "
        "表头批注中有说明。"
    ),
    "9. 「来源」表记录输入文件、积分方案及其 SHA-256、程序版本和运行时间; 「参数」表记录支部和期间。",
    (
        "10. 打印: 每张表按 A4 设置, 较宽的表横向并缩放到一页宽, 每页重复表头和党员编号、姓名;"
        " 积分显示两位小数 (单元格中的数值不取舍), 「年度总积分(未四舍五入)」列是取舍前的数值。"
    ),
    "    「核对」列数很多, 每页打印若干项核对, 每页左侧重复党员编号、姓名和「全部一致」。",
    (
        "11. 「党支部定星」是党支部确定的星级 (输入行号在旁): 「结果」的星级是公式, 有党支部定星的取其星级,"
        " 否则取「计算星级」(按年度总积分查分档); 等级仍按年度总积分评定。"
        "「异议处理」列出党员的异议及本次运行时的状态。"
    ),
]


UNIT_README_LINES: list[str] = [
    "本工作簿由党员积分制管理评分程序 (scoring) 生成: 党支部工作联评联考 (月评季考年定级)。",
    "",
    "怎样读 (how to read):",
    "1. 「支部自评」是各支部的自评分, 「检查验证」是联评联考办公室验证后改定的分数 (自评分保留在旁, 附验证说明),",
    "   「互评平均」是其他支部对评价类指标的互评: 只有评价支部数、合计和平均分, 不含哪个支部给了多少分。",
    "2. 「指标得分」每个支部、每月、每个适用指标一行, 自评分、验证分、互评平均和采用分都是公式:",
    "   自评类指标取验证分, 未验证的取自评分; 评价类指标取互评平均。",
    "3. 「月度评分」每类得分是公式 (本类各指标采用分之和), 「月度总分」是四类之和, 即支部的月度得分。",
    "4. 「结果」的得分、排名和定级都是公式: 季考 = 本季度各月得分的平均, 年度得分 = 十二个月得分的平均,",
    "   定级按「参数」表的分档 (LOOKUP), 排名用 RANK, 同分同名次。 「不列入积分」「一票否决」两列对党支部恒为 否。",
    "5. 「核对」表每个支部一行, 列出工作簿公式值、程序计算值和核对结果; 重新计算后应全部为 OK。",
    "6. 「来源」表记录输入文件、方案及其 SHA-256、程序版本和运行时间。",
]


def write_results_workbook(result: Result, path: Path, provenance: dict[str, Any]) -> Path:
    """Write the audited workbook of a run and return its path."""
    wb = Excel2010Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    font = {"font_name": FONT}
    w = Writer(
        wb,
        header=wb.add_format(font | {"bold": True, "bg_color": "#F2DCDB", "text_wrap": True, "valign": "top"}),
        amended=wb.add_format(font | {"bg_color": "#FFF2CC"}),
        amended2=wb.add_format(font | {"bg_color": "#FFF2CC", "num_format": "0.00"}),
        number=wb.add_format(font | {"num_format": "0.00"}),
        date=wb.add_format(font | {"num_format": DATE_FORMAT}),
        wrap=wb.add_format({"text_wrap": True}),
        names=dict(zip(result.members["member_id"].astype(str), result.members["name"].astype(str), strict=True)),
    )
    labels = labels_of(result)
    s = result.scheme.scheme
    p = result.period
    checks = Checks()

    ws = wb.add_worksheet("说明")
    readme = UNIT_README_LINES if s.subject == "branch" else README_LINES
    for i, line in enumerate(readme):
        ws.write_string(i, 0, line)
    ws.set_column(0, 0, 110, w.wrap)
    fit_rows(ws, [(110.0, pd.Series(readme))], first_row=0)
    w.layout["说明"] = Layout([110.0], repeat_rows=0, gridlines=False)
    prov = pd.DataFrame(
        {
            "provenance_key": [provenance_label(k) for k in provenance],
            "provenance_value": [str(shown(v)) for v in provenance.values()],
        }
    )
    w.table("来源", prov, {"provenance_key": "项目 (key)", "provenance_value": "内容 (value)"})
    params = parameters(w, result)
    results_ws = wb.add_worksheet("结果")
    check_ws = wb.add_worksheet("核对")
    cols = year_columns(result) if p.kind == "year" else period_columns(result)
    n_rows = len(result.annual) if p.kind == "year" else len(result.members)
    w.sheets["results"] = Sheet("结果", {c: j for j, c in enumerate(cols)}, n_rows)

    # 一票否决 and 加减分 first: each sub-period's figure and every span add the events dated in them
    vetoes(w, result)
    adjustments(w, result)
    if s.subject == "member":  # 异议处理 and 党支部定星: 结果's stars read the committee's decisions
        objection_sheets(w, result)
    if s.subject == "branch":  # the categories are formulas over the indicators (SPEC 3.9)
        indicator_sheets(w, result)
    scores_and_totals(w, result, labels)
    if s.sub_months <= 3:  # a scheme scored once a year has no quarters or half-years
        spans(w, result, "quarter", "季度汇总", result.quarters, checks)
        spans(w, result, "half", "半年汇总", result.halves, checks)
    if p.kind == "year" and s.appraisal.mode != "none":
        appraisal(w, result)

    if p.kind == "year":
        year_results(w, result, results_ws, checks)
    else:
        period_results(w, result, results_ws, checks)
    quota_cells(w, result, params)
    check_sheet(w, result, check_ws, checks)
    if s.subject == "member":
        cases_sheet(w, result)  # 跟踪帮教: the follow-up register after this run (SPEC 8)
        lapse_sheet(w, result)  # possible 自行脱党: the months and the input cells behind each case

    print_ready(w, result)
    if s.subject == "member":
        add_publicity_sheets(wb, result)  # 公示, 积分卡, 组织处置 (print-ready)
        add_case_notice_sheet(wb, result)  # 通知书: the cases this run opened, if any (SPEC 8)
    else:
        add_notice_sheet(wb, result)  # 通报 (SPEC 3.9)
    wb.close()
    return path


def print_ready(w: Writer, result: Result) -> None:
    """Page set-up of every sheet written so far (SPEC 9); 核对 has its own (:func:`_check_print_setup`)."""
    title = f"{result.branch_id} {result.branch_name}  {result.period.label}"
    for name, layout in w.layout.items():
        print_setup(
            w.wb.get_worksheet_by_name(name),
            layout.widths,
            title,
            repeat_columns=layout.repeat_columns,
            repeat_rows=layout.repeat_rows,
            groups=layout.groups,
            gridlines=layout.gridlines,
        )
