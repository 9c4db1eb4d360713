"""Each member's figures across years and periods, read from the sealed runs (SPEC 8, History).

The record of a branch and period is its latest approved run, else its latest (``record_runs``);
each record run's ``summary.csv`` gives one row per member, its manifest the branch, period and
scheme. A member is followed by ``member_id``, so one who moved between branches has rows from
both. A unit's runs (支部联评联考, manifest ``subject: branch``) score branches, not members: they are
no member's history. Nothing here writes a file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import ArgumentError, ScoringError
from ..labels import YES_NO, label
from ..rules.periods import KIND_LABELS, Period, parse_period
from .record import SealedRun, record_runs, sealed_runs
from .summaries import read_summary

# a period's own figure in its summary.csv (SPEC 6): what the wide table and the chart show
SCORE_KEYS: dict[str, str] = {"year": "total", "half": "half_score", "quarter": "quarter_score", "month": "month_total"}

FIGURES = ("score", "total", "half_score", "quarter_score", "month_total")  # numbers with decimals
COUNTS = ("months", "stars", "rank", "quarter_rank", "month_rank")  # whole numbers
TEXTS = ("grade", "tier")
FLAGS = ("annual_star", "quarter_star", "veto", "exempt")  # yes/no/tie in summary.csv, 是/否/并列待定 here

# the long table: one row per member, period and branch, in this column order
HISTORY_COLUMNS: list[str] = [
    "member_id",
    "name",
    "period",
    "period_kind",
    "branch_id",
    "branch_name",
    "score",
    "months",
    "total",
    "stars",
    "grade",
    "rank",
    "tier",
    "annual_star",
    "half_score",
    "quarter_score",
    "quarter_rank",
    "quarter_star",
    "month_total",
    "month_rank",
    "veto",
    "exempt",
    "scheme_name",
    "scheme_version",
    "approved",
    "run",
]

# keys of the history's own columns; the rest are labelled as everywhere else (scoring.labels)
HISTORY_LABELS: dict[str, str] = {
    "period_kind": "期间类别",
    "score": "本期积分",
    "scheme_name": "积分方案",
    "scheme_version": "积分方案版本",
    "approved": "已审核",
    "run": "运行文件夹",
}


def history_label(key: str) -> str:
    """``本期积分 (score)``: a column of the history as an officer reads it, the key beside."""
    return f"{HISTORY_LABELS[key]} ({key})" if key in HISTORY_LABELS else label(key)


def period_order(text: str) -> tuple[int, int, int, str]:
    """Periods in the order they end, a shorter one first when two end together: 2025-03, 2025Q1,
    …, 2025-06, 2025Q2, 2025H1, …, 2025-12, 2025Q4, 2025H2, 2025."""
    p = parse_period(text)
    return (p.year, p.last_month, p.last_month - p.first_month, p.text)


def _problem(run: SealedRun, out: Path, what: str) -> ScoringError:
    where = run.relative(out)
    return ScoringError(
        f"运行 {where} 的 summary.csv {what}; 请用 python -m scoring verify {Path(out).name}/{where} 核验"
        f" (the run's summary.csv cannot be read as the program wrote it)"
    )


def _numbers(run: SealedRun, out: Path, column: str, texts: pd.Series, whole: bool) -> pd.Series:
    """A summary column's text as numbers ('' is blank); anything else names the run and cell."""
    values = pd.to_numeric(texts.replace("", np.nan), errors="coerce")
    bad = texts[(texts != "") & values.isna()]
    if whole:
        bad = pd.concat([bad, texts[values.notna() & (values != values.round())]])
    if len(bad):
        raise _problem(run, out, f"的 {column} 列有不是{'整数' if whole else '数字'}的值 {bad.iloc[0]!r}")
    return values.astype("Int64") if whole else values.astype("float64")


def _run_rows(run: SealedRun, out: Path) -> pd.DataFrame:
    """One record run's members as history rows."""
    try:
        summary = read_summary(run.folder)
        manifest = run.manifest
    except (OSError, ValueError) as exc:  # a missing file, broken UTF-8 or CSV, a manifest not JSON
        raise _problem(run, out, f"无法读取 ({type(exc).__name__})") from exc
    if "member_id" not in summary.columns:
        raise _problem(run, out, "没有 member_id 列")
    p: Period = run.period
    n = len(summary)
    rows = pd.DataFrame(index=range(n))
    rows["member_id"] = summary["member_id"].to_numpy()
    rows["name"] = summary["name"].to_numpy() if "name" in summary.columns else ""
    rows["period"] = p.text
    rows["period_kind"] = KIND_LABELS[p.kind]
    rows["branch_id"] = str(manifest.get("branch_id") or run.subject_id)
    rows["branch_name"] = str(manifest.get("branch_name") or "")
    blank = pd.Series([""] * n, dtype=object)
    for key in FIGURES[1:] + COUNTS:
        texts = summary[key].reset_index(drop=True) if key in summary.columns else blank
        rows[key] = _numbers(run, out, key, texts, whole=key in COUNTS)
    rows["score"] = rows[SCORE_KEYS[p.kind]]
    for key in TEXTS:
        rows[key] = summary[key].to_numpy() if key in summary.columns else ""
    for key in FLAGS:
        rows[key] = [YES_NO.get(v, v) for v in summary[key]] if key in summary.columns else ""
    scheme = manifest.get("scheme") or {}
    rows["scheme_name"] = str(scheme.get("name") or "")
    rows["scheme_version"] = str(scheme.get("version") or "")
    rows["approved"] = "是" if run.approved else "否"
    rows["run"] = run.relative(out)
    return rows[HISTORY_COLUMNS]


def _listed(ids: list[str]) -> str:
    return ", ".join(ids[:20]) + (" …" if len(ids) > 20 else "")


@dataclass(frozen=True)
class History:
    """The history table and the record runs it was read from."""

    table: pd.DataFrame
    runs: list[SealedRun]


def read_history(out: str | Path, branch: str | None = None, member: str | None = None) -> History:
    """:func:`history` with the record runs it read."""
    root = Path(out)
    if not root.is_dir():
        raise ArgumentError(
            f"运行文件夹 {root} 不存在 (no such runs folder); allowed: 运行时 --out 所指的文件夹, 如 runs"
        )
    every = record_runs(root)
    if not every:
        units = sum(1 for r in sealed_runs(root) if r.subject != "member")
        more = f"; 只有 {units} 次单位 (支部联评联考) 的运行, 不是党员的积分" if units else ""
        raise ArgumentError(
            f"运行文件夹 {root} 中没有支部的运行 (no sealed run of a branch's members){more};"
            " 先用 python -m scoring run 或 batch 计分"
        )
    branches = sorted({r.subject_id for r in every})
    if branch and branch not in branches:
        raise ArgumentError(
            f"支部 {branch} 在 {root} 中没有运行 (no run of this branch); 可选 (allowed): {_listed(branches)}"
        )
    runs = [r for r in every if not branch or r.subject_id == branch]
    table = pd.concat([_run_rows(r, root) for r in runs], ignore_index=True)
    if member:
        if member not in set(table["member_id"]):
            where = f"支部 {branch} 的" if branch else ""
            ids = sorted(set(table["member_id"]))
            raise ArgumentError(
                f"党员 {member} 不在{where}任何运行中 (no such member_id in the runs); 可选 (allowed): {_listed(ids)}"
            )
        table = table[table["member_id"] == member]
    order = table["period"].map(period_order)
    table = table.assign(_order=order).sort_values(["member_id", "_order", "branch_id"], kind="stable")
    return History(table.drop(columns="_order").reset_index(drop=True), runs)


def history(out: str | Path, branch: str | None = None, member: str | None = None) -> pd.DataFrame:
    """One row per member, period and branch across every record run of ``out`` (the runs folder),
    ordered by member and period: the period's figure (``score``: the year's total, a half's,
    quarter's or month's score) and what the period publishes (stars, grade, ranks, tiers, stars of
    the quarter and the year, veto, exempt), the scheme, whether the run is approved (是/否) and the
    run folder relative to ``out``. ``branch``: that branch's runs only; ``member``: that member's
    rows (from every branch he was in). Figures are numbers (blank: NaN / <NA>); flags 是/否.
    An unknown branch or member, or a folder without a branch's run, is an :class:`ArgumentError`."""
    return read_history(out, branch, member).table


# -- what an officer reads ------------------------------------------------------------------------


def periods(table: pd.DataFrame) -> list[str]:
    """The table's periods in period order."""
    return sorted(set(table["period"]), key=period_order)


def _missing(v: Any) -> bool:
    """None, <NA> or NaN: a blank cell."""
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def _two(v: Any) -> str:
    return "" if _missing(v) else f"{float(v):.2f}"


def _whole(v: Any) -> str:
    return "" if _missing(v) else str(int(v))


def wide(table: pd.DataFrame) -> pd.DataFrame:
    """One row per member, a column per period (in period order, named as 2025年第1季度) with the
    period's figure, two decimals; blank where the member was in no branch's run of the period or
    has no figure (exempt, or hidden by a veto). A member in two branches' runs of one period (moved
    in the year) shows both, each with its branch. The member's name is the latest; 支部 lists his
    branches in the order he was in them."""
    cols = periods(table)
    t = table[["member_id", "name", "period", "branch_id"]].copy()
    t["text"] = [_two(v) for v in table["score"]]
    twice = t.groupby(["member_id", "period"])["branch_id"].transform("size") > 1
    t.loc[twice, "text"] = (t["text"] + " (" + t["branch_id"] + ")").str.strip()
    heads = [label("member_id"), label("name"), label("branch_id")]
    if not len(t):  # runs whose summaries list no member
        return pd.DataFrame(columns=heads)
    by_member = t.groupby("member_id", sort=True)
    names = by_member["name"].last()  # the latest name
    ids = names.index.tolist()
    # the branches in the order he was in them (the table is in period order)
    branches = (
        t.drop_duplicates(["member_id", "branch_id"]).groupby("member_id")["branch_id"].agg("、".join).reindex(ids)
    )
    frame = pd.DataFrame({heads[0]: ids, heads[1]: names.to_numpy(), heads[2]: branches.to_numpy()})
    single = ~t.duplicated(["member_id", "period"], keep=False)
    cells = pd.concat(
        [
            t[single].set_index(["member_id", "period"])["text"],
            t[~single].groupby(["member_id", "period"], sort=False)["text"].agg("; ".join),
        ]
    )
    figures = pd.DataFrame(cells.unstack("period")).reindex(index=ids, columns=cols).fillna("")
    frame = pd.concat([frame, figures.reset_index(drop=True)], axis=1)
    return frame.rename(columns={p: parse_period(p).label for p in cols})


def csv_table(table: pd.DataFrame) -> pd.DataFrame:
    """The long table as the CSV has it: every column (the same whatever the runs), headers
    ``中文 (key)``, figures as numbers (a negative one stays a number, not a guarded text), a
    missing one an empty cell, flags 是/否."""
    return table.rename(columns=history_label)


# what one member's table leaves out: the member (its title names him), the kind (the period's
# name says it), the period's figure again under its own key (本期积分 is it) and the scheme's version
MEMBER_OMITS = (
    "member_id",
    "name",
    "period_kind",
    "total",
    "half_score",
    "quarter_score",
    "month_total",
    "scheme_version",
)


def readable_history(table: pd.DataFrame, one_member: bool = False) -> pd.DataFrame:
    """The long table as text an officer reads: Chinese headers with the key, figures with two
    decimals, counts whole, blank for a missing value; columns blank on every row left out.
    ``one_member``: one member's periods, without what repeats on every row (``MEMBER_OMITS``)."""
    out: dict[str, list[str]] = {}
    for key in HISTORY_COLUMNS:
        if one_member and key in MEMBER_OMITS:
            continue
        values = table[key].tolist()
        if key in FIGURES:
            text = [_two(v) for v in values]
        elif key in COUNTS:
            text = [_whole(v) for v in values]
        elif key == "period":
            text = [parse_period(v).label for v in values]
        else:
            text = ["" if _missing(v) else str(v) for v in values]
        if any(text) or key in ("member_id", "name", "period", "score"):
            out[history_label(key)] = text
    return pd.DataFrame(out, columns=list(out))


SCORE_NOTE = (
    "本期积分: 年度为年度总积分 (total), 半年为半年积分 (half_score), 季度为季度积分 (quarter_score),"
    " 月度为月度总分 (month_total); 空白: 该期间不在支部、不列入积分或一票否决不体现积分。"
)
