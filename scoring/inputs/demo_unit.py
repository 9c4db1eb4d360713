"""The bundled demo unit (SPEC 3.9): a made-up 党委 that scores five branches every month.

What the unit notebook runs when no workbook is given, and what an officer can copy to see the
sheets filled in. The same seed always gives the same workbook bytes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
from openpyxl import Workbook

from ..outputs.xlsxfile import save_reproducibly
from .unit import UNIT_KEYS, UNIT_SHEETS, header

DEMO_UNIT = {"unit_id": "U001", "unit_name": "示范县供电公司党委", "scheme": "branch-assessment"}
# branch id, name, secretary (made up), typical share of the maximum its self-scores reach
DEMO_UNIT_BRANCHES: list[tuple[str, str, str, float]] = [
    ("U001B1", "检修工区党支部", "王建国", 0.98),
    ("U001B2", "营销服务党支部", "李秀英", 0.90),
    ("U001B3", "调度控制党支部", "张志强", 0.92),
    ("U001B4", "机关综合党支部", "刘海燕", 0.83),
    ("U001B5", "供电所联合党支部", "陈明", 0.72),
]
# every quarter's indicators for every branch: code, category, name, max
DEMO_INDICATORS: list[tuple[str, str, str, float]] = [
    ("BB1", "必备类", "三会一课按期召开", 15),
    ("BB2", "必备类", "党费按月收缴", 15),
    ("JB1", "基本类", "主题党日活动", 15),
    ("JB2", "基本类", "党员教育培训", 15),
    ("JB3", "基本类", "支部台账规范", 10),
    ("PJ1", "评价类", "支部工作成效互评", 20),
    ("CX1", "创新类", "党建品牌创建", 5),
]
# tailored by the 党委 (量身定制): one branch's own indicator in one quarter
DEMO_TAILORED: list[tuple[int, str, str, str, str, float]] = [
    (2, "CX2", "创新类", "抢修保电党员突击队", "U001B1", 5),
    (3, "CX2", "创新类", "优质服务党员示范岗", "U001B2", 5),
]
# the 联评联考办公室's corrections: branch, month, indicator, points it took off the self-score, why
DEMO_VERIFIED: list[tuple[str, int, str, float, str]] = [
    ("U001B1", 2, "JB3", 3.0, "支部台账缺少2月组织生活会记录"),
    ("U001B4", 5, "BB2", 4.0, "2名党员党费未按月缴纳"),
    ("U001B5", 9, "JB1", 5.0, "主题党日未按计划开展"),
]


def _half(x: float) -> float:
    """Scores are entered in half points."""
    return float(np.round(x * 2) / 2)


def demo_unit_rows(year: int = 2025, seed: int = 2025) -> dict[str, list[list[Any]]]:
    """Every sheet of the demo unit as rows, the first of each its header (``中文 (key)``)."""
    rng = np.random.default_rng(seed)
    indicators = [
        [f"{year}Q{q}", code, cat, name, mx, ""] for q in range(1, 5) for code, cat, name, mx in DEMO_INDICATORS
    ]
    indicators += [[f"{year}Q{q}", code, cat, name, mx, b] for q, code, cat, name, b, mx in DEMO_TAILORED]
    own: list[list[Any]] = []
    mutual: list[list[Any]] = []
    for month in range(1, 13):
        m = f"{year}-{month:02d}"
        q = (month - 1) // 3 + 1
        for branch, _, _, quality in DEMO_UNIT_BRANCHES:
            codes = [(c, cat, mx) for c, cat, _, mx in DEMO_INDICATORS]
            codes += [(c, cat, mx) for qq, c, cat, _, b, mx in DEMO_TAILORED if qq == q and b == branch]
            for code, cat, mx in codes:
                if cat == "评价类":
                    continue
                share = min(1.0, quality + float(rng.normal(0, 0.05)))
                own.append([branch, m, code, min(mx, _half(share * mx)), "工作台账"])
        for rater, *_ in DEMO_UNIT_BRANCHES:
            for rated, _, _, quality in DEMO_UNIT_BRANCHES:
                if rater != rated:
                    share = min(1.0, quality + float(rng.normal(0, 0.04)))
                    mutual.append([rater, rated, m, "PJ1", _half(share * 20)])
    claimed = {(r[0], r[1], r[2]): float(r[3]) for r in own}
    verified = [
        [b, f"{year}-{m:02d}", code, max(0.0, claimed[(b, f"{year}-{m:02d}", code)] - off), why, "联评联考办公室"]
        for b, m, code, off, why in DEMO_VERIFIED
    ]
    sheets: dict[str, list[list[Any]]] = {
        "unit": [
            [header("unit", "key"), header("unit", "value")],
            *([f"{label} ({key})", {**DEMO_UNIT, "year": year}[key]] for key, label in UNIT_KEYS.items()),
        ],
        "branches": [[b, name, sec] for b, name, sec, _ in DEMO_UNIT_BRANCHES],
        "indicators": indicators,
        "self_scores": own,
        "mutual_scores": mutual,
        "verification": verified,
        "approvals": [[f"{year}-{m:02d}", "党委", dt.date(year, m, 28)] for m in range(1, 13)],
    }
    for key, rows in sheets.items():
        if key != "unit":
            rows.insert(0, [header(key, c.key) for c in UNIT_SHEETS[key].columns])
    return sheets


def write_demo_unit(folder: Path, year: int = 2025) -> Path:
    """The demo unit's workbook ``U001_<year>.xlsx`` in ``folder`` (not rewritten when unchanged)."""
    wb = Workbook()
    for n, (key, rows) in enumerate(demo_unit_rows(year).items()):
        ws = wb.worksheets[0] if n == 0 else wb.create_sheet()
        ws.title = f"{UNIT_SHEETS[key].label} ({key})"
        for row in rows:
            ws.append(row)
        ws.freeze_panes = "A2"
    path = Path(folder) / f"{DEMO_UNIT['unit_id']}_{year}.xlsx"
    save_reproducibly(wb, path)
    return path
