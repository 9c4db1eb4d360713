"""What the reviewer notebook shows about a sealed run, and the warning signs the seeds name.

The seeds warn that points management can decay into a formality: "走过场" (everyone gets the same
score, every month) and "一团和气" (a democratic appraisal where nobody rates anybody lower). The
checks below look for those patterns in a run's inputs and results. A flag is a question for the
reviewer, not a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .engine import YES, Result, score
from .inputs import InputBook
from .periods import parse_period

OK = "正常"
FLAG = "注意"
MIN_PUBLICITY_DAYS = 7  # seeds: 公示 for no fewer than 7 working days
COPY_SHARE = 0.9  # self-scores equal to the committee's in at least this share of rows


@dataclass
class RunView:
    """A sealed run re-read from its archived inputs: what the reviewer notebook looks at."""

    run: Path
    manifest: dict[str, Any]
    book: InputBook
    result: Result


def open_run(run_dir: str | Path) -> RunView:
    from .review import _load_recorded, load_manifest

    run = Path(run_dir).resolve()
    manifest = load_manifest(run)
    book, scheme = _load_recorded(run, manifest)
    return RunView(run, manifest, book, score(book, scheme, parse_period(manifest["period"])))


def provenance(view: RunView) -> pd.DataFrame:
    m = view.manifest
    rows = [
        ("支部 branch", f"{m['branch_id']} {m.get('branch_name', '')}"),
        ("期间 period", m["period"]),
        ("输入 input", f"{m['inputs'][0]['file']}  SHA-256 {m['inputs'][0]['sha256']}"),
        ("积分方案 scheme", f"{m['scheme']['name']} {m['scheme']['version']}  SHA-256 {m['scheme']['sha256']}"),
        ("程序 package", f"{m['package']['version']}  commit {m['package'].get('git_commit')}  code {str(m['package'].get('code_sha256', ''))[:16]}"),
        ("解释器 interpreter", m.get("kernel", {}).get("interpreter", "")),
        ("运行时间 time", f"{m.get('started_at')} → {m.get('finished_at')}"),
    ]
    return pd.DataFrame(rows, columns=["项目", "内容"])


def adjustments_not_applied(view: RunView) -> pd.DataFrame:
    a = view.result.adjustments
    cols = ["member_id", "date", "rule_code", "rule_name", "points_used", "status", "reason", "row"]
    return a.loc[a["status"] != "applied", cols].rename(columns={"row": "输入行 row"}).reset_index(drop=True)


def vetoes(view: RunView) -> pd.DataFrame:
    v = view.result.vetoes
    cols = ["member_id", "date", "condition_name", "votes_for", "votes_against", "members_on_date", "applies", "reason", "row"]
    return v[[c for c in cols if c in v.columns]].rename(columns={"row": "输入行 row"}).reset_index(drop=True)


def pattern_flags(book: InputBook, result: Result) -> pd.DataFrame:
    """The seeds' warning signs, each with 正常 or 注意 and what was found."""
    s = result.scheme.scheme
    items = s.item_codes
    rows: list[tuple[str, str, str]] = []
    m = result.item_scores
    totals = result.monthly_totals

    # 走过场 (1): every member the same monthly total in a month
    same_month = [int(mo) for mo, g in totals.groupby("month") if len(g) > 2 and g["total"].nunique() == 1]
    rows.append(("所有党员同一月份总分相同 (same total for everyone in a month)", FLAG if same_month else OK, f"月份: {', '.join(map(str, same_month))}" if same_month else "各月总分有差别"))

    # 走过场 (2): a member scored exactly the same in every month
    if len(m):
        per_member = m.groupby("member_id")[items].nunique()
        months = m.groupby("member_id").size()
        flat = per_member.index[(per_member.max(axis=1) == 1) & (months > 2)]
        rows.append(("党员各月各项得分完全相同 (same scores every month)", FLAG if len(flat) else OK, f"{len(flat)} 人: {', '.join(flat[:10])}" if len(flat) else "无"))

    # self-scores copied into the committee's scores across the branch
    ss = book.self_scores
    if len(ss) and len(book.monthly):
        keys = ["member_id", "month"]
        merged = book.monthly[keys + items].merge(ss[keys + items], on=keys, suffixes=("", "_self"))
        if len(merged):
            equal = np.all(merged[items].to_numpy(dtype=float) == merged[[f"{c}_self" for c in items]].to_numpy(dtype=float), axis=1)
            share = float(equal.mean())
            rows.append(("支委会评分照抄党员自评 (committee copied the self-scores)", FLAG if share >= COPY_SHARE else OK, f"{share:.0%} 的行完全相同 ({int(equal.sum())}/{len(merged)})"))
    else:
        rows.append(("支委会评分照抄党员自评 (committee copied the self-scores)", OK, "无自评数据"))

    # 一团和气: appraisal averages with no spread
    app = result.appraisal
    avg_cols = [c for c in app.columns if c.endswith("_average")]
    values = app[avg_cols].to_numpy(dtype=float) if avg_cols else np.empty((0, 0))
    rated = ~np.isnan(values)
    if len(app) > 2 and avg_cols and (rated.sum(axis=0) > 2).any():
        spread = max(float(np.std(col[~np.isnan(col)])) for col in values.T if (~np.isnan(col)).sum() > 2)
        rows.append(("民主测评平均分没有差别 (appraisal averages without spread)", FLAG if spread < 0.01 else OK, f"各项平均分的最大标准差 {spread:.3f}"))

    # quarter stars above quota
    q = result.quarters
    if s.quarter_star is not None and len(q):
        over = [(int(k), int((g["quarter_star"] == YES).sum()), int(g["quota"].max())) for k, g in q.groupby("quarter") if (g["quarter_star"] == YES).sum() > g["quota"].max()]
        rows.append(("季度之星超过名额 (quarter stars above quota)", FLAG if over else OK, "; ".join(f"第{k}季度 {n} 人 > 名额 {quota}" for k, n, quota in over) or "均未超过名额"))

    # publicity shorter than 7 working days
    days = s.publicity.working_days
    rows.append(("公示期少于 7 个工作日 (publicity shorter than 7 working days)", FLAG if days < MIN_PUBLICITY_DAYS else OK, f"方案规定 {days} 个工作日"))
    return pd.DataFrame(rows, columns=["检查 check", "结果", "发现 found"])


# -- what notebooks/review.ipynb calls --------------------------------------------------------


def run_for_notebook(run_dir: str) -> Path:
    """The run to review; without one (the notebook opened by hand), a fresh run of demo branch
    B001 for 2025 in a temporary folder."""
    if run_dir:
        return Path(run_dir).resolve()
    import tempfile

    from .demo import generate_demo
    from .execute import run_branch

    tmp = Path(tempfile.mkdtemp(prefix="scoring-review-demo-"))
    print("未给出运行文件夹, 先为示范支部 B001 运行 2025 年度 (no run_dir: scoring demo branch B001 for 2025 first)")
    return run_branch(generate_demo(tmp / "inputs")[0], "2025", tmp / "runs")


def recompute_table(run: Path) -> pd.DataFrame | None:
    """Formula counts per sheet, and how many LibreOffice recomputes to the package's figure;
    None when LibreOffice is not installed."""
    import shutil

    if shutil.which("soffice") is None:
        print("未安装 LibreOffice, 不能重算工作簿 (LibreOffice missing): apt-get install libreoffice-calc")
        return None
    from .recompute import recompute

    table = recompute(run)
    by_sheet = table.groupby("sheet")["ok"].agg(["size", "sum"]).rename(columns={"size": "公式 formulas", "sum": "一致 equal"})
    bad = table[~table["ok"]]
    if len(bad):
        print(f"{len(bad)} 个公式重算结果与程序不一致 (formulas differ):")
        print(bad.head(20).to_string(index=False))
    return by_sheet


def headline(verification: Any, flags: pd.DataFrame) -> pd.DataFrame:
    """The reviewer's first look: can the run be trusted, and what deserves a question."""
    files = verification.files
    rows = [
        ("文件未改动 files unchanged", f"{int((files['status'] == 'ok').sum())}/{len(files)}"),
        ("重新计分一致 figures re-scored equal", "是" if verification.figures.empty else f"否, {len(verification.figures)} 个不同"),
        ("核验结论 verification", "通过" if verification.ok else "未通过"),
        ("需要注意的检查 flags", f"{int((flags['结果'] == FLAG).sum())}/{len(flags)}"),
    ]
    return pd.DataFrame(rows, columns=["项目", "值"])
