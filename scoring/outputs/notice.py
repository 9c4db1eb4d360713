"""通报: the branch assessment's announcement of a period (SPEC 3.9, seed 003), as a print-ready
sheet of the results workbook and as ``通报.pdf``.

A month's ranking is read out at the secretaries' meeting ("检修(建设)工区党支部以总分85.95分,
荣膺2月份党支部联评联考第一名"); a month the 党委 has not approved is printed as a draft. A quarter
announces the 季考, the year the 定级. Only averages of 互评 appear, never a branch's mark.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..rules.engine import Result
from . import office
from .excel2010 import Workbook as Excel2010Workbook
from .publicity import WORKBOOK_OPTIONS, _fit_row, _Formats, _line, _page_setup, _put

NOTICE_SHEET = "通报"
NOTICE_PDF = "通报.pdf"
_KIND_TITLE = {"month": "月度排名", "quarter": "季考", "half": "半年考评", "year": "年度定级"}


def notice_table(result: Result) -> pd.DataFrame:
    """The announced table, best first (ties share a rank): 名次, 党支部, the month's categories and
    score; a quarter's or half-year's months and mean; the year's score and level."""
    p = result.period
    fig = result.figures()
    score, rank = {
        "month": ("month_total", "month_rank"),
        "quarter": ("quarter_score", "quarter_rank"),
        "half": ("half_score", ""),
        "year": ("total", "rank"),
    }[p.kind]
    out = pd.DataFrame({"branch_id": fig["member_id"], "党支部": fig["name"], "得分": fig[score]})
    ranks = fig[rank] if rank else out["得分"].rank(method="min", ascending=False)
    out.insert(0, "名次", ranks.astype("Int64"))
    s = result.scheme.scheme
    months = result.monthly_totals
    if p.kind == "month":
        cats = result.item_scores[result.item_scores["month"] == p.last_month].set_index("member_id")
        for item in s.items:
            out.insert(len(out.columns) - 1, item.name, out["branch_id"].map(cats[item.code]))
    else:
        for m in range(p.first_month, p.last_month + 1) if p.kind != "year" else ():
            this = months[months["month"] == m].set_index("member_id")["total"]
            out.insert(len(out.columns) - 1, f"{m}月", out["branch_id"].map(this))
    if p.kind == "year":
        out["定级"] = fig["grade"]
    return out.sort_values(["名次", "branch_id"], kind="stable").drop(columns="branch_id").reset_index(drop=True)


def _lead(result: Result, table: pd.DataFrame) -> list[str]:
    p = result.period
    approved = all(m in result.approved_months for m in range(p.first_month, p.last_month + 1))
    label = p.label
    lines = [
        f"经党支部自评互评、联评联考办公室检查验证{'和党委审定' if approved else ''}, "
        f"现将{label}党支部工作联评联考{_KIND_TITLE[p.kind]}结果通报如下。"
    ]
    first = table[table["名次"] == 1]
    if len(first):
        names = "、".join(first["党支部"].astype(str))
        tie = "并列" if len(first) > 1 else ""
        lines.append(f"{names}以总分{float(first['得分'].iloc[0]):.2f}分, {tie}获{label}党支部联评联考第一名。")
    return lines


def add_notice_sheet(wb: xlsxwriter.Workbook, result: Result) -> Worksheet:
    """The 通报 sheet: title, the draft mark of an unapproved month, the lead, the ranking table,
    how the score is formed, and the signature lines; A4, one page wide."""
    p = result.period
    fmt = _Formats(wb)
    table = notice_table(result)
    ws = wb.add_worksheet(NOTICE_SHEET)
    widths = [6.0, 22.0, *[10.0] * (len(table.columns) - 2)]
    _page_setup(ws, f"{result.branch_name}  {p.label}", widths)
    last = len(widths) - 1
    row = _line(ws, 0, 0, last, f"党支部工作联评联考{_KIND_TITLE[p.kind]}通报", fmt.title, 28)
    row = _line(ws, row, 0, last, f"{result.branch_name}  {p.label}", fmt.subtitle, 20)  # the unit's name
    approved = all(m in result.approved_months for m in range(p.first_month, p.last_month + 1))
    if not approved:
        row = _line(ws, row, 0, last, "未经党委审定: 以下排名为草稿, 审定后方可通报", fmt.star_mark, 20)
    for text in _lead(result, table):
        row = _line(ws, row, 0, last, text, fmt.text, 16)
    row += 1
    for j, name in enumerate(table.columns):
        ws.write_string(row, j, str(name), fmt.head)
    _fit_row(ws, row, [(j, j, str(n)) for j, n in enumerate(table.columns)])
    for values in table.itertuples(index=False):
        row += 1
        for j, v in enumerate(values):
            number = isinstance(v, float) and table.columns[j] not in ("名次",)
            _put(
                ws, row, j, None if v is pd.NA else v, fmt.cell if j < 2 else fmt.score, fmt.score2 if number else None
            )
    row += 2
    s = result.scheme.scheme
    how = "、".join(f"{i.name}{i.max:g}分" for i in s.items)
    notes = [
        f"说明: 月度得分为各类指标得分之和 ({how}); 自评类指标以联评联考办公室验证后的分数为准, "
        "评价类指标为其他党支部互评的平均分。 季考得分为本季度各月得分的平均, 年度得分为十二个月得分的平均。",
    ]
    if p.kind == "year":
        notes.append(
            "定级: " + ", ".join(f"{b.grade} {b.min:g}分及以上" for b in s.bands[:-1]) + f", 其余{s.bands[-1].grade}。"
        )
    ind = result.indicators
    if ind is not None:
        changed = int((ind["verification_row"].notna() & ind["month"].between(p.first_month, p.last_month)).sum())
        notes.append(f"本期经检查验证改定的指标得分 {changed} 项, 明细见结果工作簿「检查验证」表。")
    for text in notes:
        row = _line(ws, row, 0, last, text, fmt.small, 14)
    row += 2
    row = _line(ws, row, 0, last, f"{result.branch_name}联评联考办公室", fmt.right, 18)
    _line(ws, row, 0, last, "年      月      日", fmt.right, 18)
    return ws


def write_notice_pdf(result: Result, out_dir: Path) -> Path:
    """Print the 通报 to ``out_dir / "通报.pdf"`` with LibreOffice; returns that path."""
    target = Path(out_dir) / NOTICE_PDF
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="scoring-notice-") as tmp:
        source = Path(tmp) / "sheet.xlsx"  # an ASCII name: soffice under a C locale
        wb = Excel2010Workbook(str(source), WORKBOOK_OPTIONS)
        add_notice_sheet(wb, result)
        wb.close()
        shutil.move(str(office.convert(source, Path(tmp) / "out", "pdf")), target)
    return target
