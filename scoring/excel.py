"""The results workbook of a run: provenance, intermediate tables and results, one sheet each.

Written with xlsxwriter, which (unlike openpyxl) can store a cached value beside a formula; the
audited, formula-driven results sheet builds on that. ``strings_to_formulas`` is off, so user text
such as ``=HYPERLINK(...)`` is always stored as literal text, never as a formula.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from .engine import Result
from .labels import labelled

README_LINES: list[str] = [
    "本工作簿由党员积分制管理评分程序 (scoring) 生成, 每个数字都可追溯到输入工作簿的单元格。",
    "This workbook was written by the scoring package; every figure traces back to input cells.",
    "",
    "工作表说明 (sheets):",
    "来源 (provenance): 输入文件、积分方案及其 SHA-256、程序版本、参数和时间。",
    "结果 (results): 每名党员的本期结果。",
    "月度评分 (item scores): 支委会逐月逐项评分, 已应用更正; 输入行号指向输入工作簿。",
    "评分更正 (amendments): 每条更正的原分数和更正后分数。",
    "月度总分、季度汇总、半年汇总: 由月度评分相加而来。",
    "年终项目积分、民主测评: 年度才有; 民主测评只给出人数与平均分, 不含任何单张选票。",
    "加减分: 每条加减分是否计入及原因; 一票否决: 表决票数及是否生效; 组织处置: 需跟进的党员。",
]


def _cell(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_, bool)):
        return "是" if v else "否"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def _sheet(wb: xlsxwriter.Workbook, name: str, df: pd.DataFrame, header_fmt: Any) -> None:
    ws = wb.add_worksheet(name)
    ws.write_row(0, 0, [str(c) for c in df.columns], header_fmt)
    for i, row in enumerate(df.itertuples(index=False), start=1):
        for j, v in enumerate(row):
            v = _cell(v)
            if v is None:
                continue
            if isinstance(v, str):
                ws.write_string(i, j, v)
            else:
                ws.write(i, j, v)
    ws.freeze_panes(1, 0)
    for j, c in enumerate(df.columns):
        ws.set_column(j, j, min(40, max(10, 2 * len(str(c)))))


def write_results_workbook(result: Result, path: Path, provenance: dict[str, Any]) -> Path:
    """Write the run's workbook; ``provenance`` is a flat mapping shown on the 来源 sheet."""
    names = {i.code: i.name for i in result.scheme.scheme.items}
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False, "nan_inf_to_errors": True})
    header = wb.add_format({"bold": True, "bg_color": "#F2DCDB", "text_wrap": True})
    ws = wb.add_worksheet("说明")
    for i, line in enumerate(README_LINES):
        ws.write_string(i, 0, line)
    ws.set_column(0, 0, 100)
    _sheet(wb, "来源", pd.DataFrame({"项目 (key)": list(provenance), "内容 (value)": [str(v) for v in provenance.values()]}), header)
    _sheet(wb, "结果", labelled(result.summary(), names), header)
    _sheet(wb, "月度评分", labelled(result.item_scores, names), header)
    _sheet(wb, "评分更正", labelled(result.amendments, names), header)
    _sheet(wb, "月度总分", labelled(result.monthly_totals, names), header)
    _sheet(wb, "季度汇总", labelled(result.quarters, names), header)
    _sheet(wb, "半年汇总", labelled(result.halves, names), header)
    if len(result.item_year):
        _sheet(wb, "年终项目积分", labelled(result.item_year, names), header)
    if len(result.appraisal.columns) > 1 and result.period.kind == "year":
        _sheet(wb, "民主测评", labelled(result.appraisal, names), header)
    _sheet(wb, "加减分", labelled(result.adjustments.drop(columns=["points"], errors="ignore"), names), header)
    _sheet(wb, "一票否决", labelled(result.vetoes, names), header)
    if result.period.kind == "year":
        _sheet(wb, "组织处置", labelled(result.follow_up, names), header)
    wb.close()
    return path
