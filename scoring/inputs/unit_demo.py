"""The bundled demo unit (SPEC 3.9): a made-up county power company's 党委 scoring its branches.

Two unit workbooks of the ``branch-assessment`` scheme: ``U01_2025.xlsx``, a whole year scored and
every month approved by the 党委 (the year can be graded), and ``U01_2026.xlsx``, January to
November scored with November not yet approved (its ranking is a draft: the demo's today is early
December 2026).

The indicators are tailored each quarter, as seed 003 tells: 基本类 is one indicator in the first
quarter and two from the second, and in one quarter a single branch has an 创新类 indicator of its
own beside a smaller common one. Branch names, secretaries and verifiers are made up; the same
seed always gives the same bytes (the batch reuses inputs by their SHA-256).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from openpyxl import Workbook

from ..outputs.xlsxfile import save_reproducibly
from .demo import make_names
from .reading import header_text
from .template_kit import put_cell
from .unit import UNIT_KEYS, UNIT_SHEETS

UNIT_ID = "U01"
UNIT_NAME = "示范县供电公司党委"
SCHEME = "branch-assessment"
# the demo folder's subfolder for them: beside the branches' workbooks, not among them (the
# batch runs every workbook of a folder as a branch)
UNIT_DEMO_FOLDER = "units"


@dataclass(frozen=True)
class DemoBranch:
    branch_id: str
    branch_name: str
    quality: float  # the typical share of an indicator's maximum the branch earns


UNIT_DEMO_BRANCHES: list[DemoBranch] = [
    DemoBranch("B01", "公司机关党支部", 0.90),
    DemoBranch("B02", "运维检修党支部", 0.93),
    DemoBranch("B03", "营销服务党支部", 0.86),
    DemoBranch("B04", "电力调度控制党支部", 0.91),
    DemoBranch("B05", "建设工区党支部", 0.84),
    DemoBranch("B06", "城区供电所党支部", 0.88),
    DemoBranch("B07", "乡镇供电所联合党支部", 0.80),
    DemoBranch("B08", "物资供应党支部", 0.75),
    DemoBranch("B09", "信息通信党支部", 0.87),
]


@dataclass(frozen=True)
class Indicator:
    code: str
    category: str  # the scheme's category name
    name: str
    max: float
    branch_id: str = ""  # blank: every branch


BB = [
    Indicator("BB1", "必备类", "三会一课和主题党日落实", 15),
    Indicator("BB2", "必备类", "党员教育管理和党费收缴", 15),
]
PJ = [Indicator("PJ1", "评价类", "支部工作成效 (其他支部互评)", 20)]
JB_ONE = [Indicator("JB1", "基本类", "党建与中心工作融合", 40)]
# from the second quarter 基本类 is split in two: the 党委's focus on safety and service
JB_TWO = [
    Indicator("JB1", "基本类", "党建与安全生产融合", 20),
    Indicator("JB2", "基本类", "党员先锋岗和服务承诺", 20),
]
CX_ALL = [Indicator("CX1", "创新类", "党建创新项目", 10)]


def _own_innovation(branch_id: str, name: str) -> list[Indicator]:
    """A quarter in which one branch runs a project of its own: the common 创新类 indicator is made
    smaller, so that the branch's 创新类 maxima still add up to the category's 10."""
    return [Indicator("CX1", "创新类", "党建创新项目", 6), Indicator("CX2", "创新类", name, 4, branch_id)]


# year -> quarter -> the indicators the 党委 set for it
INDICATORS: dict[int, dict[int, list[Indicator]]] = {
    2025: {
        1: BB + JB_ONE + PJ + CX_ALL,
        2: BB + JB_TWO + PJ + CX_ALL,
        3: BB + JB_TWO + PJ + _own_innovation("B07", "乡镇供电所党员服务队创新项目"),
        4: BB + JB_TWO + PJ + CX_ALL,
    },
    2026: {
        1: BB + JB_TWO + PJ + CX_ALL,
        2: BB + JB_TWO + PJ + _own_innovation("B03", "营销服务 '红色服务站' 创新项目"),
        3: BB + JB_TWO + PJ + CX_ALL,
        4: BB + JB_TWO + PJ + CX_ALL,
    },
}
EVIDENCE = ["支部工作台账", "会议记录和签到表", "党费收缴台账", "活动照片和简报", "项目推进材料"]
CORRECTIONS = [
    ("BB1", "三会一课记录不全, 核减"),
    ("BB2", "党费收缴台账与系统记录不符, 核减"),
    ("JB1", "融合案例未按时报送, 核减"),
    ("JB2", "先锋岗承诺未公示, 核减"),
    ("CX1", "创新项目尚无成果材料, 核减"),
    ("BB1", "主题党日缺签到表, 核减"),
    ("JB1", "佐证材料与自评不符, 核减"),
]
SEEDS = {2025: 3025, 2026: 3026}


def _half_points(x: float, mx: float) -> float:
    """A mark to the half point, within 0 .. the maximum."""
    return float(min(mx, max(0.0, round(x * 2) / 2)))


def unit_tables(year: int, last_month: int, approved: int, seed: int) -> dict[str, list[list[Any]]]:
    """The rows (header first) of every sheet of the demo unit's workbook for ``year``: scores for
    months 1..``last_month``, the 党委's approval of months 1..``approved``."""
    rng = np.random.default_rng(seed)
    branches = UNIT_DEMO_BRANCHES
    secretaries = make_names(rng, len(branches))
    verifiers = make_names(rng, 2)
    quarters = INDICATORS[year]
    indicators = [
        [f"{year}Q{q}", i.code, i.category, i.name, i.max, i.branch_id]
        for q, listed in quarters.items()
        for i in listed
    ]
    own: list[list[Any]] = []
    mutual: list[list[Any]] = []
    for m in range(1, last_month + 1):
        month = f"{year}-{m:02d}"
        listed = quarters[(m - 1) // 3 + 1]
        drift = rng.normal(0, 0.02, size=len(branches))  # a branch's better and worse months
        for b, d in zip(branches, drift, strict=True):
            for i in listed:
                if i.branch_id not in ("", b.branch_id) or i.category == "评价类":
                    continue
                mark = _half_points((b.quality + d + 0.03) * i.max + rng.normal(0, 0.04 * i.max), i.max)
                own.append([b.branch_id, month, i.code, mark, EVIDENCE[int(rng.integers(len(EVIDENCE)))]])
        for i in (i for i in listed if i.category == "评价类"):
            for rater in branches:
                for b, d in zip(branches, drift, strict=True):
                    if b is not rater:
                        mark = _half_points((b.quality + d) * i.max + rng.normal(0, 0.05 * i.max), i.max)
                        mutual.append([rater.branch_id, b.branch_id, month, i.code, mark])
    # the 联评联考办公室 lowers a few self-scores it finds generous, each in a different month
    verification: list[list[Any]] = []
    for k, (code, reason) in enumerate(CORRECTIONS):
        m = 1 + (k * 5 + 2) % last_month
        branch = branches[(k * 4 + 1) % len(branches)].branch_id
        row = next(r for r in own if r[0] == branch and r[1] == f"{year}-{m:02d}" and r[2] == code)
        cut = float(rng.choice([1.0, 1.5, 2.0, 3.0]))
        verified = max(0.0, row[3] - cut)
        verification.append([branch, row[1], code, verified, reason, f"联评联考办公室 {verifiers[k % 2]}"])
    approvals = [
        # approved at the next month's meeting of the branch secretaries; December's at the year's end
        [f"{year}-{m:02d}", "党委会", dt.date(year, m + 1, 6 + m % 3) if m < 12 else dt.date(year, 12, 30)]
        for m in range(1, approved + 1)
    ]
    values: dict[str, Any] = {"unit_id": UNIT_ID, "unit_name": UNIT_NAME, "scheme": SCHEME, "year": year}
    return {
        "unit": [
            [header_text("key", "项目"), header_text("value", "内容")],
            *([header_text(k, label), values[k]] for k, label in UNIT_KEYS.items()),
        ],
        "branches": [
            ["branch_id", "branch_name", "secretary"],
            *([b.branch_id, b.branch_name, s] for b, s in zip(branches, secretaries, strict=True)),
        ],
        "indicators": [["quarter", "code", "category", "name", "max", "branch_id"], *indicators],
        "self_scores": [["branch_id", "month", "indicator", "score", "evidence"], *own],
        "mutual_scores": [["rater_branch", "branch_id", "month", "indicator", "score"], *mutual],
        "verification": [
            ["branch_id", "month", "indicator", "verified_score", "reason", "verified_by"],
            *sorted(verification, key=lambda r: (r[1], r[0])),
        ],
        "approvals": [["month", "approved_by", "approved_on"], *approvals],
    }


def write_unit_workbook(path: Path, tables: dict[str, list[list[Any]]]) -> Path:
    """Write a unit workbook: sheets ``中文 (key)``, table headers ``中文 (key)`` (the first row of
    each table names its columns by key), every text literal (never a formula)."""
    wb = Workbook()
    for n, (key, rows) in enumerate(tables.items()):
        spec = UNIT_SHEETS[key]
        ws = wb.worksheets[0] if n == 0 else wb.create_sheet()
        ws.title = f"{spec.label} ({key})"
        labels = {c.key: header_text(c.key, c.label) for c in spec.columns}
        header = rows[0] if key == "unit" else [labels[k] for k in rows[0]]
        for j, v in enumerate(header, start=1):
            put_cell(ws, 1, j, v)
        for i, row in enumerate(rows[1:], start=2):
            for j, v in enumerate(row, start=1):
                if v not in ("", None):
                    cell = put_cell(ws, i, j, v)
                    if isinstance(v, dt.date):
                        cell.number_format = "yyyy-mm-dd"
        ws.freeze_panes = "A2"
    save_reproducibly(wb, path)  # the same tables give the same bytes, and an unchanged file stays
    return path


# per demo year: the last month scored and the last month the 党委 approved
DEMO_YEARS: dict[int, tuple[int, int]] = {2025: (12, 12), 2026: (11, 10)}


def write_demo_unit(out_dir: str | Path, year: int = 2025) -> Path:
    """Write the demo unit's workbook of ``year`` (2025 or 2026) into ``out_dir``."""
    last, approved = DEMO_YEARS[year]
    return write_unit_workbook(Path(out_dir) / f"{UNIT_ID}_{year}.xlsx", unit_tables(year, last, approved, SEEDS[year]))


def generate_unit_demo(out_dir: str | Path) -> list[Path]:
    """Write the demo unit's workbooks into ``out_dir``: ``U01_2025.xlsx`` (twelve months, all
    approved) and ``U01_2026.xlsx`` (to November, November not yet approved)."""
    return [write_demo_unit(out_dir, year) for year in DEMO_YEARS]
