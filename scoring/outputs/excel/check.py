"""核对: per member and figure, the workbook's formula value beside the package's."""

from __future__ import annotations

from typing import Any

from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

from ...exceptions import RunError
from ...rules.engine import Result
from .writer import EXCEL_MAX_COLUMNS, Checks, Layout, Writer, fits, header_height, name_width, subject_headers

# -- 核对 -------------------------------------------------------------------------------------


CHECK_LEAD_WIDTHS = (11.0, 8.0, 6.5)  # 党员编号, 姓名, 全部一致: repeated on every printed page


CHECK_FIGURE_WIDTHS = (7.0, 7.0, 5.0)  # 工作簿, 程序, 核对 of one figure


def check_sheet(w: Writer, result: Result, ws: Any, checks: Checks) -> None:
    """核对: one row per member; per figure the workbook's formula value, the package's value and
    OK or the difference; ``全部一致`` sums the row up. One row per member (not per figure) keeps
    a 50,000-member unit far below Excel's row limit."""
    members = result.members.reset_index(drop=True)
    fits("核对", len(members))
    keys = sorted(checks.columns, key=lambda k: checks.columns[k][:2])
    if 3 + 3 * len(keys) > EXCEL_MAX_COLUMNS:
        raise RunError(
            f"「核对」需要 {3 + 3 * len(keys):,} 列, 超过 Excel 的 {EXCEL_MAX_COLUMNS:,} 列 (too many figures to check)"
        )
    subject = subject_headers(result)
    texts = [subject["member_id"], subject["name"], "全部一致 (all_ok)"]
    widths = [CHECK_LEAD_WIDTHS[0], name_width(w), CHECK_LEAD_WIDTHS[2]]
    for key in keys:
        text = checks.columns[key][2]
        texts += [f"{text} 工作簿", f"{text} 程序", f"{text} 核对"]
        widths += list(CHECK_FIGURE_WIDTHS)
    for j, (text, width) in enumerate(zip(texts, widths, strict=True)):
        ws.write_string(0, j, text, w.header)
        ws.set_column(j, j, width)
    ws.write_comment(0, 2, "本行各项核对均为 OK 时为 OK, 否则为 ≠", {"x_scale": 2})
    ws.set_row(0, header_height(texts, widths))
    ws.freeze_panes(1, 3)
    w.layout["核对"] = Layout(widths, 3, [(3 + 3 * k, 5 + 3 * k) for k in range(len(keys))])
    # scores with two decimals (the cells keep the unrounded values); the unrounded total as it is
    fmt = {key: w.number if key != "total_raw" else None for key in keys}
    last = xl_col_to_name(2 + 3 * len(keys)) if keys else "C"
    for i, (mid, name) in enumerate(zip(members["member_id"], members["name"], strict=True), start=1):
        row = i + 1
        ws.write_string(i, 0, str(mid))
        ws.write_string(i, 1, str(name))
        figures = checks.rows.get(str(mid), {})
        for k, key in enumerate(keys):
            if key not in figures:
                continue
            cell, value = figures[key]
            j = 3 + 3 * k
            number = fmt[key] if isinstance(value, float) else None
            ws.write_formula(i, j, f"={cell}", number, value)
            w.cell(ws, i, j + 1, value, number)
            a, b = xl_rowcol_to_cell(i, j), xl_rowcol_to_cell(i, j + 1)
            verdict = (
                f'=IF(AND(ISNUMBER({a}),ISNUMBER({b})),IF(ABS({a}-{b})<=0.000000001,"OK",{a}-{b}),'
                f'IF({a}&""={b}&"","OK","≠"))'
            )
            ws.write_formula(i, j + 2, verdict, None, "OK")
        ws.write_formula(i, 2, f'=IF(COUNTIF(D{row}:{last}{row},"OK")={len(figures)},"OK","≠")', None, "OK")
