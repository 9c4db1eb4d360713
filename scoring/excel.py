"""The results workbook of a run: intermediate tables as sheets, results as live formulas.

Written with xlsxwriter rather than openpyxl because xlsxwriter stores a cached value beside each
formula (``write_formula(..., value=...)``): a reader that does not recalculate (pandas, a
previewer, a phone) still sees the package's figures, while Excel or LibreOffice recompute the
same figures from the intermediate sheets. ``strings_to_formulas`` is off and every text goes
through ``write_string``, so user text such as ``=HYPERLINK(...)`` is never a formula.

Layout: every sheet has its header in row 1 and data from row 2; weights and vetoed grade are
named cells on 参数 (``月度权重``, ``测评权重``, ``否决等级``), the bands table is the named ranges
``分档下限`` / ``分档星级`` / ``分档等级``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from .engine import Result
from .exceptions import RunError
from .labels import label
from .publicity import add_publicity_sheets

README_LINES: list[str] = [
    "本工作簿由党员积分制管理评分程序 (scoring) 生成。 This workbook was written by the scoring package.",
    "",
    "怎样读 (how to read):",
    "1. 「结果」表中的每个积分都是公式, 引用「月度评分」「月度总分」「民主测评」「加减分」「一票否决」和「参数」表;",
    "   在 Excel 中用「公式 → 追踪引用单元格」(Trace Precedents) 可一路追到每个月的评分单元格。",
    "2. 权重是「参数」表中的命名单元格 (月度权重、测评权重), 星级和等级按「参数」表中的分档表查找 (LOOKUP)。",
    "3. 「核对」表逐人逐项比较公式结果与程序计算值, 显示 OK 或差值。 重新计算后应全部为 OK。",
    "4. 「月度评分」中黄色单元格是经过更正的评分, 批注中有原分数; 「评分更正」表列出每条更正。",
    "5. 「民主测评」只有测评人数、合计和平均分, 不含任何单张选票 (无记名测评)。",
    "6. 「加减分」列出每条加减分是否计入及原因; 季度之星、年度之星和排序档次由程序按名额确定 (并列时列为 tie, 由支委会研究)。",
    "7. 「来源」表记录输入文件、积分方案及其 SHA-256、程序版本和运行时间。",
]


def _plain(v: Any) -> Any:
    """A Python value xlsxwriter can write; None for blanks."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, (np.bool_, bool)):
        return "是" if v else "否"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


@dataclass
class Sheet:
    """A written table: where each key's column is and how many data rows it has."""

    name: str
    columns: dict[str, int]
    rows: int

    def col(self, key: str) -> str:
        return xl_col_to_name(self.columns[key])

    def rng(self, key: str) -> str:
        """Absolute data range of a column, at least one row: ``月度评分!$A$2:$A$145``."""
        c = self.col(key)
        return f"'{self.name}'!${c}$2:${c}${max(2, self.rows + 1)}"


@dataclass
class _Writer:
    wb: xlsxwriter.Workbook
    header: Any
    amended: Any
    number: Any
    sheets: dict[str, Sheet] = field(default_factory=dict)

    def cell(self, ws: Any, r: int, c: int, v: Any, fmt: Any = None) -> None:
        v = _plain(v)
        if v is None:
            return
        if isinstance(v, str):
            ws.write_string(r, c, v, fmt)
        else:
            ws.write_number(r, c, v, fmt)

    def column(self, ws: Any, j: int, values: pd.Series) -> None:
        """One column from row 2; numeric columns skip the per-cell type dispatch of ``cell``."""
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            write = ws.write_number
            for i, v in enumerate(values.to_numpy(dtype=float, na_value=np.nan).tolist(), start=1):
                if v == v:  # not NaN
                    write(i, j, v)
            return
        for i, v in enumerate(values.to_numpy(dtype=object).tolist(), start=1):
            if type(v) is str:
                ws.write_string(i, j, v)
            else:
                self.cell(ws, i, j, v)

    def table(self, name: str, df: pd.DataFrame, labels: dict[str, str], key: str | None = None) -> Sheet:
        _fits(name, len(df))
        ws = self.wb.add_worksheet(name)
        for j, col in enumerate(df.columns):
            text = labels.get(str(col), str(col))
            ws.write_string(0, j, text, self.header)
            ws.set_column(j, j, max(10, min(36, len(text) + 4)))
        for j, col in enumerate(df.columns):
            self.column(ws, j, df[col])
        ws.freeze_panes(1, 1)
        sheet = Sheet(name, {str(c): j for j, c in enumerate(df.columns)}, len(df))
        self.sheets[key or name] = sheet
        return sheet


EXCEL_MAX_ROWS = 1_048_576


def _fits(sheet: str, data_rows: int) -> None:
    """xlsxwriter drops cells beyond Excel's last row without an error: refuse instead."""
    if data_rows + 1 > EXCEL_MAX_ROWS:
        raise RunError(f"「{sheet}」需要 {data_rows + 1:,} 行, 超过 Excel 每张工作表 {EXCEL_MAX_ROWS:,} 行的上限 (too many rows for one sheet); 请按支部分别运行, 单位汇总用 batch 的 roll-up")


def _labels(result: Result) -> dict[str, str]:
    names = {i.code: i.name for i in result.scheme.scheme.items}
    return _LabelMap(names)


class _LabelMap(dict):  # type: ignore[type-arg]
    def __init__(self, names: dict[str, str]) -> None:
        super().__init__()
        self.names = names

    def get(self, key: str, default: Any = None) -> str:  # type: ignore[override]
        return label(key, self.names)


def write_results_workbook(result: Result, path: Path, provenance: dict[str, Any]) -> Path:
    """Write the audited workbook of a run and return its path."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False})
    font = {"font_name": "Noto Sans CJK SC"}
    w = _Writer(
        wb,
        header=wb.add_format(font | {"bold": True, "bg_color": "#F2DCDB", "text_wrap": True, "valign": "top"}),
        amended=wb.add_format(font | {"bg_color": "#FFF2CC"}),
        number=wb.add_format(font | {"num_format": "0.00"}),
    )
    labels = _labels(result)
    s = result.scheme.scheme
    p = result.period

    ws = wb.add_worksheet("说明")
    for i, line in enumerate(README_LINES):
        ws.write_string(i, 0, line)
    ws.set_column(0, 0, 120)
    prov = pd.DataFrame({"key": list(provenance), "value": [str(v) for v in provenance.values()]})
    w.table("来源", prov, {"key": "项目 (key)", "value": "内容 (value)"})
    _parameters(w, result)
    results_ws = wb.add_worksheet("结果")
    check_ws = wb.add_worksheet("核对")

    items = s.item_codes
    scores = result.item_scores.copy()
    scores["quarter"] = (scores["month"].astype(int) - 1) // 3 + 1
    am = result.amendments
    amended_cells: dict[tuple[int, str], Any] = {}
    if len(am):
        pos = {(m, int(mo)): i for i, (m, mo) in enumerate(zip(scores["member_id"], scores["month"]))}
        for r in am.itertuples(index=False):
            amended_cells[(pos[(r.member_id, int(r.month))], r.item)] = r
    scores = scores[["member_id", "month", "quarter", *items, "row"]]
    ms = w.table("月度评分", scores, labels, key="scores")
    sws = wb.get_worksheet_by_name("月度评分")
    for (i, item), r in amended_cells.items():
        sws.write_number(i + 1, ms.columns[item], float(r.new_score), w.amended)
        sws.write_comment(i + 1, ms.columns[item], f"已更正: 原 {r.original:g} → {r.new_score:g}; {r.reason}; {r.decided_on}")
    if len(am):
        w.table("评分更正", am[["member_id", "month", "item", "original", "new_score", "reason", "decided_on", "row", "target_row"]], labels, key="amendments")

    totals = result.monthly_totals.assign(quarter=lambda d: (d["month"].astype(int) - 1) // 3 + 1)[["member_id", "month", "quarter", "total", "row"]]
    mt = w.table("月度总分", totals.drop(columns=["total"]).assign(total=np.nan)[["member_id", "month", "quarter", "total", "row"]], labels, key="totals")
    tws = wb.get_worksheet_by_name("月度总分")
    first_item, last_item = ms.col(items[0]), ms.col(items[-1])
    for i, v in enumerate(totals["total"].to_numpy(), start=1):
        tws.write_formula(i, mt.columns["total"], f"=SUM('月度评分'!{first_item}{i + 1}:{last_item}{i + 1})", w.number, float(v))

    _spans(w, result, "quarter", "季度汇总", result.quarters)
    _spans(w, result, "half", "半年汇总", result.halves)
    if p.kind == "year" and s.appraisal.mode != "none":
        _appraisal(w, result)
    adj = result.adjustments
    w.table("加减分", adj[["member_id", "date", "rule_code", "rule_name", "kind", "group", "points_used", "applied_points", "status", "reason", "row"]], labels, key="adjustments")
    v = result.vetoes.assign(applies=lambda d: np.where(d["applies"].astype(bool), "是", "否"))
    w.table("一票否决", v[["member_id", "date", "condition_name", "votes_for", "votes_against", "members_on_date", "applies", "reason", "row"]], labels, key="vetoes")

    checks: list[tuple[str, str, str, Any]] = []  # member, key, cell on 结果, package value
    if p.kind == "year":
        _year_results(w, result, results_ws, checks)
    else:
        _period_results(w, result, results_ws, checks)
    _check_sheet(w, check_ws, checks)

    add_publicity_sheets(wb, result)  # 公示, 积分卡, 组织处置 (print-ready)
    wb.close()
    return path


def _parameters(w: _Writer, result: Result) -> None:
    s = result.scheme.scheme
    ws = w.wb.add_worksheet("参数")
    rows = [
        ("monthly_weight", "月度权重", s.monthly.weight),
        ("appraisal_weight", "测评权重", s.appraisal.weight),
        ("veto_grade", "否决等级", s.veto.grade),
        ("scheme", "积分方案", f"{s.name} {s.version}"),
        ("adjustments", "加减分合并", s.adjustments.combine),
        ("veto_effect", "一票否决效果", s.veto.effect),
    ]
    ws.write_row(0, 0, ["项目 (key)", "名称", "值 (value)"], w.header)
    for i, (key, name, value) in enumerate(rows, start=1):
        ws.write_string(i, 0, key)
        ws.write_string(i, 1, name)
        w.cell(ws, i, 2, value)
    w.wb.define_name("月度权重", "='参数'!$C$2")
    w.wb.define_name("测评权重", "='参数'!$C$3")
    w.wb.define_name("否决等级", "='参数'!$C$4")
    top = len(rows) + 3
    ws.write_row(top, 0, ["分档下限 (min, 升序)", "星级 (stars)", "等级 (grade)"], w.header)
    bands = list(reversed(s.bands))  # ascending, as LOOKUP needs
    for i, b in enumerate(bands, start=top + 1):
        # the lowest band catches everything below the next one, negative totals included
        ws.write_number(i, 0, b.min if i > top + 1 else -1e9)
        w.cell(ws, i, 1, b.stars)
        ws.write_string(i, 2, b.grade)
    first, last = top + 2, top + 1 + len(bands)
    w.wb.define_name("分档下限", f"='参数'!$A${first}:$A${last}")
    w.wb.define_name("分档星级", f"='参数'!$B${first}:$B${last}")
    w.wb.define_name("分档等级", f"='参数'!$C${first}:$C${last}")
    ws.set_column(0, 2, 22)


def _spans(w: _Writer, result: Result, span: str, name: str, table: pd.DataFrame) -> None:
    """Quarter or half-year sheet: months and score as formulas over 月度总分."""
    s = result.scheme.scheme
    mt = w.sheets["totals"]
    df = table.copy()
    keep = [c for c in ["member_id", span, "months", "score", "score_rounded", "rank", "quarter_star", "quota", "scored_members"] if c in df.columns]
    sheet = w.table(name, df[keep].assign(months=np.nan, score=np.nan, score_rounded=np.nan), _labels(result), key=span)
    ws = w.wb.get_worksheet_by_name(name)
    size = 3 if span == "quarter" else 6
    a = sheet.col("member_id")
    m_col, s_col = sheet.columns["months"], sheet.columns["score"]
    for i, r in enumerate(df.itertuples(index=False), start=1):
        row = i + 1
        first_month, last_month = (int(getattr(r, span)) - 1) * size + 1, int(getattr(r, span)) * size
        crit = f"{mt.rng('member_id')},${a}{row},{mt.rng('month')},\">={first_month}\",{mt.rng('month')},\"<={last_month}\""
        ws.write_formula(i, m_col, f"=COUNTIFS({crit})", None, int(r.months))
        agg = "SUMIFS" if s.monthly.quarter_score == "sum" else "AVERAGEIFS"
        ws.write_formula(i, s_col, f"={agg}({mt.rng('total')},{crit})", w.number, float(r.score))
        ws.write_formula(i, sheet.columns["score_rounded"], f"=ROUND({xl_rowcol_to_cell(i, s_col)},2)", w.number, float(r.score_rounded))


def _appraisal(w: _Writer, result: Result) -> None:
    s = result.scheme.scheme
    cols = s.item_codes if s.appraisal.mode == "per_item" else ["score"]
    app = result.appraisal
    keep = ["member_id", "ballots"] + [f"{c}_{k}" for c in cols for k in ("raters", "sum", "average")]
    sheet = w.table("民主测评", app[keep].assign(**{f"{c}_average": np.nan for c in cols}), _labels(result), key="appraisal")
    ws = w.wb.get_worksheet_by_name("民主测评")
    for c in cols:
        avg, n, tot = sheet.columns[f"{c}_average"], sheet.col(f"{c}_raters"), sheet.col(f"{c}_sum")
        for i, v in enumerate(app[f"{c}_average"].to_numpy(), start=1):
            if np.isnan(v):
                continue
            ws.write_formula(i, avg, f"={tot}{i + 1}/{n}{i + 1}", w.number, float(v))


def _year_results(w: _Writer, result: Result, ws: Any, checks: list[tuple[str, str, str, Any]]) -> None:
    """结果 for a year: one row per member, every score a formula."""
    s = result.scheme.scheme
    items = s.item_codes
    annual = result.annual.reset_index(drop=True)
    years = result.item_year.set_index("member_id").to_dict("index")  # one dict lookup per member
    ms, mt, adj, vet = w.sheets["scores"], w.sheets["totals"], w.sheets["adjustments"], w.sheets["vetoes"]
    app = w.sheets.get("appraisal")
    appr = result.appraisal.set_index("member_id")["score_average"].to_dict() if "appraisal" in w.sheets and "score_average" in result.appraisal.columns else {}

    cols: list[str] = ["member_id", "name", "exempt", "veto", "months"]
    if s.monthly.combine == "per_item":
        for c in items:
            cols += [f"{c}_mean"] + ([f"{c}_appraisal"] if s.appraisal.mode == "per_item" else []) + [f"{c}_score"]
    else:
        cols += ["monthly_mean"] + (["appraisal"] if s.appraisal.mode == "single" else [])
    cols += ["base", "bonus", "deduction", "total_raw", "total"]
    cols += (["stars"] if s.has_stars else []) + ["grade", "rank_basis", "rank"]
    cols += (["tier"] if s.tiers is not None else []) + (["annual_star"] if s.annual_star is not None else [])
    at = {c: j for j, c in enumerate(cols)}
    header_labels = _labels(result)
    for c, j in at.items():
        text = {"rank_basis": "排名用分 (rank_basis)"}.get(c) or header_labels.get(c)
        ws.write_string(0, j, text, w.header)
        ws.set_column(j, j, 12)
    ws.set_column(at["name"], at["name"], 10)
    ws.freeze_panes(1, 2)
    n = len(annual)
    ref = lambda key, row: f"{xl_col_to_name(at[key])}{row}"  # noqa: E731
    rank_range = f"${xl_col_to_name(at['rank_basis'])}$2:${xl_col_to_name(at['rank_basis'])}${max(2, n + 1)}"
    highest = s.adjustments.combine == "highest_only"

    for i, a in enumerate(annual.itertuples(index=False), start=1):
        row = i + 1
        mid = a.member_id
        ws.write_string(i, at["member_id"], mid)
        ws.write_string(i, at["name"], str(a.name))
        ws.write_string(i, at["exempt"], a.exempt)
        vcrit = f"{vet.rng('member_id')},$A{row},{vet.rng('applies')},\"是\""
        ws.write_formula(i, at["veto"], f'=IF(COUNTIFS({vcrit})>0,"yes","no")', None, a.veto)
        checks.append((mid, "veto", f"{xl_col_to_name(at['veto'])}{row}", a.veto))
        if a.exempt == "yes":  # not scored: hand-entered stars, no formulas
            if s.has_stars and pd.notna(a.stars):
                ws.write_number(i, at["stars"], int(a.stars))
            if a.grade is not None:
                ws.write_string(i, at["grade"], str(a.grade))
            continue
        y = years[mid]
        ws.write_formula(i, at["months"], f"=COUNTIFS({ms.rng('member_id')},$A{row})", None, int(y["months"]))
        checks.append((mid, "months", ref("months", row), int(y["months"])))
        crit = f"{ms.rng('member_id')},$A{row}"
        if s.monthly.combine == "per_item":
            parts = []
            for c in items:
                ws.write_formula(i, at[f"{c}_mean"], f"=SUMIFS({ms.rng(c)},{crit})/{ref('months', row)}", w.number, float(y[f"{c}_mean"]))
                score_formula = f"={ref(f'{c}_mean', row)}*月度权重"
                if s.appraisal.mode == "per_item":
                    ws.write_formula(i, at[f"{c}_appraisal"], f"=INDEX({app.rng(f'{c}_average')},MATCH($A{row},{app.rng('member_id')},0))", w.number, float(y[f"{c}_appraisal"]))
                    score_formula += f"+{ref(f'{c}_appraisal', row)}*测评权重"
                ws.write_formula(i, at[f"{c}_score"], score_formula, w.number, float(y[f"{c}_score"]))
                parts.append(ref(f"{c}_score", row))
            base_formula = f"=SUM({parts[0]}:{parts[-1]})" if len(parts) == 1 else "=" + "+".join(parts)
        else:
            ws.write_formula(i, at["monthly_mean"], f"=SUMIFS({mt.rng('total')},{mt.rng('member_id')},$A{row})/{ref('months', row)}", w.number, float(y["monthly_mean"]))
            base_formula = f"={ref('monthly_mean', row)}*月度权重"
            if s.appraisal.mode == "single":
                ws.write_formula(i, at["appraisal"], f"=INDEX({app.rng('score_average')},MATCH($A{row},{app.rng('member_id')},0))", w.number, float(appr[mid]))
                base_formula += f"+{ref('appraisal', row)}*测评权重"
        ws.write_formula(i, at["base"], base_formula, w.number, float(a.base))
        checks.append((mid, "base", ref("base", row), float(a.base)))
        acrit = f"{adj.rng('member_id')},$A{row},{adj.rng('status')},\"applied\""
        if highest:
            # written with the _xlfn. prefix Excel stores for these 2019 functions; xlsxwriter's
            # use_future_functions would add it too, but by ~150 regex passes over every formula
            bonus_f = f"=_xlfn.MAXIFS({adj.rng('applied_points')},{acrit},{adj.rng('applied_points')},\">0\")"
            ded_f = f"=_xlfn.MINIFS({adj.rng('applied_points')},{acrit},{adj.rng('applied_points')},\"<0\")"
        else:
            bonus_f = f"=SUMIFS({adj.rng('applied_points')},{acrit},{adj.rng('applied_points')},\">0\")"
            ded_f = f"=SUMIFS({adj.rng('applied_points')},{acrit},{adj.rng('applied_points')},\"<0\")"
        ws.write_formula(i, at["bonus"], bonus_f, w.number, float(a.bonus))
        ws.write_formula(i, at["deduction"], ded_f, w.number, float(a.deduction))
        checks += [(mid, "bonus", ref("bonus", row), float(a.bonus)), (mid, "deduction", ref("deduction", row), float(a.deduction))]
        raw = float(a.base + a.bonus + a.deduction)
        ws.write_formula(i, at["total_raw"], f"={ref('base', row)}+{ref('bonus', row)}+{ref('deduction', row)}", None, raw)
        veto_cell = ref("veto", row)
        if s.veto.effect == "no_score":
            total_f = f'=IF({veto_cell}="yes","",ROUND({ref("total_raw", row)},2))'
        else:
            total_f = f"=ROUND({ref('total_raw', row)},2)"
        total_v = "" if pd.isna(a.total) else float(a.total)
        ws.write_formula(i, at["total"], total_f, w.number, total_v)
        checks.append((mid, "total", ref("total", row), total_v))
        tot = ref("total", row)
        if s.has_stars:
            stars_v = "" if pd.isna(a.stars) else int(a.stars)
            ws.write_formula(i, at["stars"], f'=IF({veto_cell}="yes","",LOOKUP({tot},分档下限,分档星级))', None, stars_v)
            checks.append((mid, "stars", ref("stars", row), stars_v))
        ws.write_formula(i, at["grade"], f'=IF({veto_cell}="yes",否决等级,LOOKUP({tot},分档下限,分档等级))', None, str(a.grade))
        checks.append((mid, "grade", ref("grade", row), str(a.grade)))
        ws.write_formula(i, at["rank_basis"], f'=IF({veto_cell}="yes","",{tot})', None, "" if a.veto == "yes" else total_v)
        rank_v = "" if pd.isna(a.rank) else int(a.rank)
        ws.write_formula(i, at["rank"], f'=IF({ref("rank_basis", row)}="","",RANK({ref("rank_basis", row)},{rank_range}))', None, rank_v)
        checks.append((mid, "rank", ref("rank", row), rank_v))
        if s.tiers is not None and a.tier is not None:
            ws.write_string(i, at["tier"], str(a.tier))
        if s.annual_star is not None and a.annual_star is not None:
            ws.write_string(i, at["annual_star"], str(a.annual_star))
    for key in ("tier", "annual_star"):
        if key in at:
            ws.write_comment(0, at[key], "由程序按方案名额确定, 并列 (tie) 由支委会研究 (decided by the package from the quota)")


def _period_results(w: _Writer, result: Result, ws: Any, checks: list[tuple[str, str, str, Any]]) -> None:
    """结果 for a month, quarter or half-year: the period's score as a formula over 月度总分."""
    s = result.scheme.scheme
    p = result.period
    mt = w.sheets["totals"]
    summ = result.summary().reset_index(drop=True)
    key = {"month": "month_total", "quarter": "quarter_score", "half": "half_score"}[p.kind]
    cols = ["member_id", "name", "exempt", "months", key] + [c for c in summ.columns if c.startswith("q") and c.endswith(("_star", "_rank")) or c in ("quarter_rank", "quarter_star")]
    cols = list(dict.fromkeys(cols))
    at = {c: j for j, c in enumerate(cols)}
    labels = _labels(result)
    for c, j in at.items():
        ws.write_string(0, j, labels.get(c), w.header)
        ws.set_column(j, j, 12)
    ws.freeze_panes(1, 2)
    agg = "SUMIFS" if (s.monthly.quarter_score == "sum" or p.kind == "month") else "AVERAGEIFS"
    mt_ = result.monthly_totals
    months_in = mt_.loc[mt_["month"].between(p.first_month, p.last_month), "member_id"].value_counts().to_dict()
    for i, r in enumerate(summ.itertuples(index=False), start=1):
        row = i + 1
        rd = r._asdict()
        ws.write_string(i, at["member_id"], rd["member_id"])
        ws.write_string(i, at["name"], str(rd["name"]))
        ws.write_string(i, at["exempt"], rd["exempt"])
        if rd["exempt"] == "yes":
            continue
        crit = f"{mt.rng('member_id')},$A{row},{mt.rng('month')},\">={p.first_month}\",{mt.rng('month')},\"<={p.last_month}\""
        months_v = int(months_in.get(rd["member_id"], 0))
        ws.write_formula(i, at["months"], f"=COUNTIFS({crit})", None, months_v)
        value = "" if pd.isna(rd[key]) else float(rd[key])
        ws.write_formula(i, at[key], f'=IF({xl_col_to_name(at["months"])}{row}=0,"",ROUND({agg}({mt.rng("total")},{crit}),2))', w.number, value)
        checks.append((rd["member_id"], key, f"{xl_col_to_name(at[key])}{row}", value))
        for c in cols[5:]:
            v = _plain(rd.get(c))
            if v is not None:
                w.cell(ws, i, at[c], v)


def _check_sheet(w: _Writer, ws: Any, checks: list[tuple[str, str, str, Any]]) -> None:
    """核对: each figure of 结果 beside the package's value, OK or the difference."""
    _fits("核对", len(checks))
    ws.write_row(0, 0, ["党员编号 (member_id)", "项目 (figure)", "工作簿公式值 (workbook)", "程序计算值 (package)", "核对 (check)"], w.header)
    ws.set_column(0, 4, 18)
    ws.freeze_panes(1, 0)
    for i, (mid, key, cell, value) in enumerate(checks, start=1):
        row = i + 1
        ws.write_string(i, 0, mid)
        ws.write_string(i, 1, label(key))
        ws.write_formula(i, 2, f"='结果'!{cell}", None, value)
        w.cell(ws, i, 3, value) if value != "" else ws.write_string(i, 3, "")
        formula = f'=IF(AND(ISNUMBER(C{row}),ISNUMBER(D{row})),IF(ABS(C{row}-D{row})<=0.000000001,"OK",C{row}-D{row}),IF(C{row}&""=D{row}&"","OK","≠"))'
        ws.write_formula(i, 4, formula, None, "OK")
