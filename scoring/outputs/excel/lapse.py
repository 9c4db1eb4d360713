"""脱党核查: the months of each possible 自行脱党 case, what was missed in each and the input cells
behind it (SPEC 8), so a reviewer can check a case against the workbooks it came from."""

from __future__ import annotations

import pandas as pd

from ...rules.engine import Result
from ...rules.engine.lapse import EVIDENCE_COLUMNS
from .writer import Layout, Writer, column_width, fit_rows, header_height

SHEET = "脱党核查"

LABELS: dict[str, str] = {
    "member_id": "党员编号 (member_id)",
    "name": "姓名 (name)",
    "kind": "类别 (kind)",
    "run": "连续期间 (run)",
    "month": "月份 (month)",
    "what": "活动或事项 (what)",
    "finding": "情况 (finding)",
    "source": "依据单元格 (source)",
}
WIDTHS: dict[str, float] = {"what": 26.0, "finding": 20.0, "source": 52.0, "run": 20.0}
WRAPPED = ("what", "finding", "source")


def lapse_sheet(w: Writer, result: Result) -> None:
    """One row per month of each case (per activity for organisational life), then the basis of
    the check; a run without cases says so in a line under the header."""
    s = result.scheme.scheme
    ev = result.lapse_evidence
    df = ev[EVIDENCE_COLUMNS] if len(ev) else pd.DataFrame(columns=EVIDENCE_COLUMNS)
    df = df.fillna("").astype(str)
    ws = w.wb.add_worksheet(SHEET)
    widths = [WIDTHS.get(c) or column_width(LABELS[c], df[c]) for c in EVIDENCE_COLUMNS]
    texts = [LABELS[c] for c in EVIDENCE_COLUMNS]
    for j, (text, width) in enumerate(zip(texts, widths, strict=True)):
        ws.write_string(0, j, text, w.header)
        ws.set_column(j, j, width, w.wrap if EVIDENCE_COLUMNS[j] in WRAPPED else None)
    ws.set_row(0, header_height(texts, widths))
    for i, values in enumerate(df.itertuples(index=False), start=1):
        for j, v in enumerate(values):
            ws.write_string(i, j, str(v))  # text as text: member data never becomes a formula
    fit_rows(ws, [(widths[j], df[c]) for j, c in enumerate(EVIDENCE_COLUMNS) if c in WRAPPED])
    row = len(df) + 2
    if df.empty:
        ws.write_string(
            1,
            0,
            f"本期没有连续 {s.follow_up.lapse_months} 个月以上无故不参加组织生活或未交纳党费的党员 "
            "(no possible 自行脱党 case)。",
        )
        row = 3
    lines = [
        f"依据: 无正当理由连续 {s.follow_up.lapse_months} 个月以上不参加组织生活或不交纳党费的, "
        "由党支部讨论是否视为自行脱党; 连续月数跨年计算, 未开展组织生活的月份不计入也不中断。",
        *result.lapse_basis,
    ]
    for k, line in enumerate(lines):
        ws.write_string(row + k, 0, line)
    ws.freeze_panes(1, 2)
    w.layout[SHEET] = Layout(widths, 2)
