"""Chinese labels for the keys of result tables: what an officer reads, with the key beside it."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LABELS: dict[str, str] = {
    "member_id": "党员编号",
    "name": "姓名",
    "months": "计分月数",
    "month": "月份",
    "base": "年终总积分",
    "base_rounded": "年终总积分",
    "bonus": "加分",
    "deduction": "减分",
    "total_raw": "年度总积分(未四舍五入)",
    "total": "年度总积分",
    "stars": "星级",
    "grade": "等级",
    "veto": "一票否决",
    "exempt": "不列入积分",
    "rank": "排名",
    "tier": "排序档次",
    "annual_star": "年度之星",
    "quarter": "季度",
    "half": "半年",
    "score": "积分",
    "score_rounded": "积分(两位小数)",
    "quarter_score": "季度积分",
    "quarter_rank": "季度排名",
    "month_rank": "月度排名",
    "quarter_star": "季度之星",
    "scored_members": "参评人数",
    "quota": "名额",
    "half_score": "半年积分",
    "month_total": "月度总分",
    "row": "输入行号",
    "date": "日期",
    "rule_code": "加减分代码",
    "rule_name": "加减分项目",
    "kind": "类别",
    "group": "分组",
    "points": "填报分值",
    "points_used": "分值",
    "applied_points": "计入分值",
    "status": "状态",
    "reason": "原因",
    "evidence": "佐证材料",
    "approved_by": "审批人",
    "note": "备注",
    "condition": "否决情形",
    "condition_code": "否决情形代码",
    "condition_name": "否决情形",
    "votes_for": "赞成票",
    "votes_against": "反对票",
    "members_on_date": "当月党员数",
    "applies": "生效",
    "item": "考评项目",
    "original": "原分数",
    "new_score": "更正后分数",
    "decided_on": "决定日期",
    "target_row": "月度评分行号",
    "ballots": "测评票数",
    "action": "处置",
    "total_score": "总分",
    "member_type": "党员类别",
    "role": "身份",
    "joined_month": "起始月",
    "left_month": "截止月",
    "exempt_reason": "不列入原因",
    "exempt_stars": "直接评定星级",
    "level": "层级",
    "step": "步骤",
    "value": "数值",
    "text": "文字结果",
    "rule": "规则",
    "source": "来源单元格",
    "monthly_sum": "月度基础分合计",
    "monthly_mean": "月平均基础分",
    "appraisal": "民主评议分",
    "rank_basis": "排名用分",
    "member_exempt": "不列入积分的党员",
    "blocked": "不计入原因",
    "eligible": "符合条件",
    "best": "同类最高分值",
    "key": "查找键",
    "period": "期间",
    "branch_id": "支部编号",
    "branch_name": "支部名称",
    "base_points": "基础分(已扣减)",
    "appraisal_added": "评议分",
    "span_bonus": "本期加分",
    "span_deduction": "本期扣分小计",
    "events": "本期加减分",
    "figure": "本期得分",
    "band_grade": "本期等级",
    "cap_key": "封顶所依项目或分组",
    "month_year": "年份",
    "new_letter": "更正后等级(字母)",
    # 异议 and 党支部定星 (SPEC 4, 8)
    "computed_stars": "计算星级",
    "star_reason": "定星理由",
    "star_row": "党支部定星行号",
    "raised_on": "提出日期",
    "subject": "异议事项",
    "content": "异议内容",
    "handled_by": "办理人",
    "finding": "调查核实情况",
    "answered_on": "答复日期",
    "outcome": "处理结果",
    "amendment": "对应评分更正行号",
    "objection_status": "状态",
    "published_stars": "公示星级",
}


SUFFIXES: dict[str, str] = {
    "_sum": "合计",
    "_mean": "月平均",
    "_appraisal": "民主测评",
    "_score": "年终积分",
    "_raters": "测评人数",
    "_average": "测评平均",
}


def label(key: str, item_names: dict[str, str] | None = None) -> str:
    """``年度总积分 (total)``; item columns ``I01_mean`` become ``政治素质月平均 (I01_mean)``."""
    names = item_names or {}
    m = re.fullmatch(r"([qh])([1-4])_(\w+)", key)  # q1_star, h2_score: one quarter's or half's figure
    if m and (m.group(3) in LABELS or m.group(3) == "star"):
        span = f"第{m.group(2)}季度" if m.group(1) == "q" else ("上半年" if m.group(2) == "1" else "下半年")
        return f"{span}{'季度之星' if m.group(3) == 'star' else LABELS[m.group(3)]} ({key})"
    if key in LABELS:
        return f"{LABELS[key]} ({key})"
    if key in names:
        return f"{names[key]} ({key})"
    for suffix, text in SUFFIXES.items():
        if key.endswith(suffix) and key[: -len(suffix)] in (names | {"score": "测评分"}):
            return f"{(names | {'score': '测评分'})[key[: -len(suffix)]]}{text} ({key})"
    return key


def labelled(df: pd.DataFrame, item_names: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy of ``df`` with ``中文 (key)`` headers, for display and for the workbook."""
    return df.rename(columns={c: label(str(c), item_names) for c in df.columns})


# -- what a person reads: yes/no as 是/否, blanks for missing values (SPEC 9) ----------------------

YES_NO: dict[str, str] = {"yes": "是", "no": "否", "tie": "并列待定"}


def run_label(run: Path | None) -> str:
    """A run folder as people read it: relative to the runs folder (``2025Q4/B001/v001``, runs are
    ``OUT/PERIOD/BRANCH/vNNN``), never the machine's absolute path (SPEC 9)."""
    return "(示范数据 demo)" if run is None else Path(*Path(run).parts[-3:]).as_posix()


"""The engine's flags (``summary.csv`` keeps the keys) as the workbooks and notebooks show them."""

PROVENANCE_LABELS: dict[str, str] = {
    "branch_id": "支部编号",
    "branch_name": "支部名称",
    "unit_id": "单位编号",
    "unit_name": "单位名称",
    "period": "期间",
    "input_file": "输入文件",
    "input_sha256": "输入文件 SHA-256",
    "scheme_name": "积分方案",
    "scheme_version": "积分方案版本",
    "scheme_sha256": "积分方案文件 SHA-256",
    "package_version": "程序版本",
    "git_commit": "程序代码提交 (git commit)",
    "git_dirty": "代码有未提交的改动",
    "started_at": "开始时间",
    "finished_at": "结束时间",
    "unit_rollup_period": "汇总期间",
    "branches": "支部数",
    # the record across years (SPEC 8)
    "publicity_start": "公示开始日期",
    "prior_runs": "以前的运行 (帮教台账、上年输入)",
}


def provenance_label(key: str) -> str:
    """``输入文件 (input_file)``: a provenance key as the 来源 sheets show it."""
    return f"{PROVENANCE_LABELS[key]} ({key})" if key in PROVENANCE_LABELS else key


def shown(value: Any) -> Any:
    """One value as a person reads it: "" for a missing value (None, NaN, NA, NaT), 是/否 for a
    boolean, 是/否/并列待定 for the engine's yes/no/tie; anything else unchanged."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, bool | np.bool_):
        return "是" if value else "否"
    if isinstance(value, float | np.floating) and math.isnan(value):
        return ""
    if isinstance(value, str):
        if value in ("True", "False"):
            return "是" if value == "True" else "否"
        return YES_NO.get(value, value)
    return value


def _number_text(value: Any) -> str:
    """A number of a column that also holds blanks: 12, 9.5, 101.816667 (six decimals at most)."""
    if isinstance(value, int | np.integer):
        return str(int(value))
    return f"{float(value):.6f}".rstrip("0").rstrip(".")


def readable(df: pd.DataFrame, item_names: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy of ``df`` for people to read: ``中文 (key)`` headers (:func:`labelled`) over
    :func:`readable_values`."""
    return labelled(readable_values(df), item_names)


def readable_values(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with blanks instead of NaN, None and <NA>, 是/否 instead of yes/no and
    booleans. A numeric column without a blank stays numeric; one with blanks becomes text
    (numbers with six decimals at most)."""
    out = df.copy()
    for j in range(out.shape[1]):
        col = out.iloc[:, j]
        if pd.api.types.is_bool_dtype(col):
            new = col.map(shown).astype(object)
        elif pd.api.types.is_numeric_dtype(col):
            if not col.isna().any():
                continue
            new = pd.Series(
                ["" if pd.isna(v) else _number_text(v) for v in col.tolist()], index=col.index, dtype=object
            )
        else:
            new = pd.Series([shown(v) for v in col.tolist()], index=col.index, dtype=object)
        out.isetitem(j, new.to_numpy(dtype=object))
    return out
