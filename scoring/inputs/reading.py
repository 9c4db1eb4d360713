"""Read and validate the input workbook of one branch and one year (SPEC 4).

Everything is checked before anything is scored, and every problem found is collected into one
:class:`~scoring.exceptions.InputError` whose table names file, sheet, row, column, value, what is
wrong and what is allowed. A header may be the key (``member_id``), the Chinese label (``党员编号``)
or both (``党员编号 (member_id)``); sheet names likewise.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, NoReturn

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter
from python_calamine import CalamineError, CalamineWorkbook, PasswordError

from ..exceptions import FAILURE_COLUMNS, InputError, SchemeError, SchemeProblem
from ..rules.periods import KIND_LABELS, Period, active_counts
from ..rules.scheme import SPAN_MONTHS, LoadedScheme, Scheme, load_workbook_scheme
from ..rules.words import CADENCE_WORDS

# "quarter": ``2025Q1`` read as its last month; "year": ``2025`` read as month 12; "raw": kept as
# typed for a check that needs another column of the row (a score that may be a letter grade)
Kind = Literal["text", "number", "int", "month", "date", "yesno", "choice", "quarter", "year", "raw"]

MEMBER_TYPES: list[str] = ["在职党员", "无职党员", "流动党员", "农村", "社区", "机关", "企业", "社会组织"]
ROLES: dict[str, str] = {
    "member": "member",
    "党员": "member",
    "secretary": "secretary",
    "支部书记": "secretary",
    "书记": "secretary",
}
RATER_KINDS: list[str] = ["党员", "群众代表"]
ATTENDANCE: list[str] = ["出席", "请假", "缺席"]
# follow-up cases (SPEC 8): 明显转变 goes only with 结案; 无明显转变 with any other action
OUTCOMES: list[str] = ["明显转变", "无明显转变"]
ACTIONS: list[str] = ["结案", "继续帮教", "组织处理", "劝退", "除名"]
# -- activities (SPEC 4, 8): the kinds of organisational life a branch holds. 三会一课 is 党员大会,
# 支委会, 党小组会 and 党课 (seed 004: "三会一课"); 主题党日, 组织生活会 and 民主评议党员 are the other
# regular occasions (seed 004: 组织生活会, 民主评议); 三会一课 and 组织生活 stand for a meeting the
# record does not name more closely. A closed list: the kind decides who was expected (below).
ACTIVITY_KINDS: list[str] = [
    "党员大会",
    "支委会",
    "党小组会",
    "党课",
    "主题党日",
    "组织生活会",
    "民主评议党员",
    "三会一课",
    "组织生活",
]
# kinds only some members attend (the committee; one 党小组 of several): a member is expected at
# one only when the attendance sheet lists him for it, so a 缺席 row counts and no row does not
PARTIAL_KINDS: frozenset[str] = frozenset({"支委会", "党小组会"})
# 异议 and 党支部定星 (SPEC 4, 8): what an objection is about, and how the branch answered it
OBJECTION_SUBJECTS: list[str] = ["月度评分", "星级", "格次", "季度之星", "年度之星"]
OBJECTION_OUTCOMES: list[str] = ["维持", "更正"]
# the next year's months in which the year's objections and star decisions may still be dated
GRACE_MONTHS = 3
YES = {"yes", "y", "是", "true", "1"}
NO = {"no", "n", "否", "false", "0", ""}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = "text"
    required: bool = False  # the column must exist
    not_blank: bool = False  # every row needs a value
    choices: tuple[str, ...] = ()
    free_text: bool = False  # a person's words (names, notes): kept as typed, never normalised
    # a date may also fall in the first ``grace_months`` months of the next year: the year's
    # appraisal, the objections to it and the committee's decisions are made then (SPEC 8)
    grace_months: int = 0


@dataclass(frozen=True)
class SheetSpec:
    key: str
    label: str
    columns: tuple[Column, ...]
    required: bool = False
    item_columns: Literal["none", "scores", "appraisal"] = "none"


SHEETS: dict[str, SheetSpec] = {
    s.key: s
    for s in [
        SheetSpec(
            "branch",
            "支部信息",
            (Column("key", "项目", required=True), Column("value", "内容", required=True)),
            required=True,
        ),
        SheetSpec(
            "members",
            "党员名单",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("name", "姓名", required=True, not_blank=True, free_text=True),
                Column("member_type", "党员类别", "choice", required=True, not_blank=True, choices=tuple(MEMBER_TYPES)),
                Column("role", "身份", "choice", choices=tuple(ROLES)),
                Column("joined", "转入月份", "month"),
                Column("left", "转出月份", "month"),
                Column("exempt", "不列入积分", "yesno"),
                Column("exempt_reason", "不列入原因", free_text=True),
                Column("exempt_stars", "直接评定星级", "int"),
            ),
            required=True,
        ),
        # the item scores: one of the three sheets, as the scheme's cadence says (required then,
        # see scheme_sheets); a scheme of cadence none has none of them
        SheetSpec(
            "monthly_scores",
            "月度评分",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("month", "月份", "month", required=True, not_blank=True),
                Column("note", "备注", free_text=True),
            ),
            item_columns="scores",
        ),
        SheetSpec(
            "quarterly_scores",
            "季度评分",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("quarter", "季度", "quarter", required=True, not_blank=True),
                Column("note", "备注", free_text=True),
            ),
            item_columns="scores",
        ),
        SheetSpec(
            "annual_scores",
            "年度评分",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("note", "备注", free_text=True),
            ),
            item_columns="scores",
        ),
        SheetSpec(
            "self_scores",
            "党员自评",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("month", "月份", "month", required=True, not_blank=True),
                Column("note", "备注", free_text=True),
            ),
            item_columns="scores",
        ),
        SheetSpec(
            "appraisal",
            "民主测评",
            (
                Column("ballot_no", "票号", required=True, not_blank=True),
                Column("rater_kind", "测评人类别", "choice", required=True, not_blank=True, choices=tuple(RATER_KINDS)),
                Column("member_id", "党员编号", required=True, not_blank=True),
            ),
            item_columns="appraisal",
        ),
        SheetSpec(
            "adjustments",
            "加减分",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("date", "日期", "date", required=True, not_blank=True),
                Column("rule_code", "加减分代码", required=True, not_blank=True),
                Column("points", "分值", "number"),
                Column("evidence", "佐证材料", free_text=True),
                Column("approved_by", "审批人", free_text=True),
                Column("note", "备注", free_text=True),
            ),
        ),
        SheetSpec(
            "vetoes",
            "一票否决",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("date", "日期", "date", required=True, not_blank=True),
                Column("condition", "否决情形", required=True, not_blank=True),
                Column("votes_for", "赞成票", "int"),
                Column("votes_against", "反对票", "int"),
                Column("note", "备注", free_text=True),
            ),
        ),
        SheetSpec(
            "amendments",
            "评分更正",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("month", "月份", "month", required=True, not_blank=True),
                Column("item", "考评项目", required=True, not_blank=True),
                Column("new_score", "更正后分数", "number", required=True, not_blank=True),
                Column("reason", "更正理由", required=True, not_blank=True, free_text=True),
                Column("decided_on", "决定日期", "date", required=True, not_blank=True),
            ),
        ),
        SheetSpec(
            "activities",
            "活动安排",
            (
                Column("date", "日期", "date", required=True, not_blank=True),
                Column("activity", "活动", required=True, not_blank=True, free_text=True),
                Column("kind", "活动类别", "choice", required=True, not_blank=True, choices=tuple(ACTIVITY_KINDS)),
            ),
        ),
        SheetSpec(
            "attendance",
            "组织生活",
            (
                Column("date", "日期", "date", required=True, not_blank=True),
                Column("activity", "活动", required=True, not_blank=True, free_text=True),
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("status", "出勤", "choice", required=True, not_blank=True, choices=tuple(ATTENDANCE)),
            ),
        ),
        SheetSpec(
            "dues",
            "党费交纳",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("month", "月份", "month", required=True, not_blank=True),
                Column("paid", "已交纳", "yesno", required=True, not_blank=True),
            ),
        ),
        # -- follow-up cases (SPEC 8): the committee's decision on an open case of an earlier year
        SheetSpec(
            "follow_up_outcomes",
            "帮教结论",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("case_year", "案件年度", "int", required=True, not_blank=True),
                Column("decided_on", "决定日期", "date", required=True, not_blank=True),
                Column("outcome", "帮教结论", "choice", required=True, not_blank=True, choices=tuple(OUTCOMES)),
                Column("action", "处理", "choice", required=True, not_blank=True, choices=tuple(ACTIONS)),
                Column("helper", "帮教人", free_text=True),
                Column("note", "备注", free_text=True),
            ),
        ),
        # -- 异议 and 党支部定星 (SPEC 4, 8) --
        SheetSpec(
            "objections",
            "异议处理",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("raised_on", "提出日期", "date", required=True, not_blank=True, grace_months=GRACE_MONTHS),
                Column(
                    "subject", "异议事项", "choice", required=True, not_blank=True, choices=tuple(OBJECTION_SUBJECTS)
                ),
                Column("content", "异议内容", required=True, not_blank=True, free_text=True),
                Column("handled_by", "办理人", free_text=True),
                Column("finding", "调查核实情况", free_text=True),
                Column("answered_on", "答复日期", "date", grace_months=GRACE_MONTHS),
                Column("outcome", "处理结果", "choice", choices=tuple(OBJECTION_OUTCOMES)),
                Column("amendment", "对应评分更正行号", "int"),
            ),
        ),
        SheetSpec(
            "star_decisions",
            "党支部定星",
            (
                Column("member_id", "党员编号", required=True, not_blank=True),
                Column("stars", "确定星级", "int", required=True, not_blank=True),
                Column("reason", "定星理由", required=True, not_blank=True, free_text=True),
                Column("decided_on", "决定日期", "date", required=True, not_blank=True, grace_months=GRACE_MONTHS),
            ),
        ),
    ]
}

BRANCH_KEYS: dict[str, str] = {"branch_id": "支部编号", "branch_name": "支部名称", "scheme": "积分方案", "year": "年度"}
# keys of the branch sheet that may be left out (SPEC 8): the first day of the year's 公示
OPTIONAL_BRANCH_KEYS: dict[str, str] = {"publicity_start": "公示开始日期"}

# The sheet that holds the item scores for each cadence, and the column naming its sub-period
# (None: one row per member for the whole year). A scheme of cadence none has no score sheet.
SCORE_SHEETS: dict[str, tuple[str, str | None]] = {
    "month": ("monthly_scores", "month"),
    "quarter": ("quarterly_scores", "quarter"),
    "year": ("annual_scores", None),
}
# how a sub-period is named in the amendments' ``month`` column, per cadence
AMENDMENT_PERIOD: dict[str, Column] = {
    "month": Column("month", "月份", "month", required=True, not_blank=True),
    "quarter": Column("month", "季度", "quarter", required=True, not_blank=True),
    "year": Column("month", "年度", "year", required=True, not_blank=True),
}


def score_sheet_key(s: Scheme) -> str | None:
    """The sheet the scheme's item scores are entered in; None for cadence none."""
    return SCORE_SHEETS[s.cadence][0] if s.cadence in SCORE_SHEETS else None


def graded_items(s: Scheme) -> dict[str, dict[str, float]]:
    """Item code -> its letter grades and their points, for the items entered as letters."""
    return {i.code: dict(i.grades) for i in s.items if i.grades}


def scheme_sheets(s: Scheme) -> dict[str, SheetSpec]:
    """The input sheets a workbook for this scheme has (SPEC 4), in workbook order, with the
    columns the scheme gives them: the score sheet of its cadence (required), the self-scores for a
    monthly scheme only, amendments only when there are item scores (naming the month, the quarter
    or the year), adjustments and vetoes only when the scheme has a catalogue or a veto, the
    appraisal only when it has one. The templates write these sheets; the reader reads the others
    too (see :func:`unused_sheets`)."""
    score = score_sheet_key(s)
    out: dict[str, SheetSpec] = {}
    for key, spec in SHEETS.items():
        if key in unused_sheets(s):
            continue
        if key == "appraisal" and s.appraisal.mode == "none":
            continue
        if (key == "adjustments" and not s.adjustments.rules) or (key == "vetoes" and not s.veto.active):
            continue
        if key == "star_decisions" and not s.has_stars:  # nothing to decide; rows are refused
            continue
        if key == score:
            spec = replace(spec, required=True)
        elif key == "amendments":
            spec = _amendments_spec(s)
        out[key] = spec
    return out


def unused_sheets(s: Scheme) -> dict[str, tuple[str, str]]:
    """Sheets that hold nothing for this scheme, with what is wrong and what to do: the score sheets
    of other cadences, the self-scores of a scheme not scored monthly, amendments of a scheme
    without item scores. A workbook that has one with rows in it is refused (the rows would be
    ignored without a word); an empty one is only noted."""
    score = score_sheet_key(s)
    how = CADENCE_WORDS[s.cadence]
    delete = "删除该工作表 (delete the sheet)"
    out: dict[str, tuple[str, str]] = {}
    for key, _ in SCORE_SHEETS.values():
        if key == score:
            continue
        if score is None:
            out[key] = (
                f"方案 {s.name} 没有项目评分 (cadence: none), 不使用 {SHEETS[key].label} ({key}) 工作表 "
                "(the scheme has no item scores: this sheet is not used)",
                f"{delete}; 本方案的积分来自 加减分 (adjustments)"
                + (" 和 民主测评 (appraisal)" if s.appraisal.mode != "none" else "")
                + " (the scheme's points come from its events"
                + (" and the appraisal)" if s.appraisal.mode != "none" else ")"),
            )
        else:
            out[key] = (
                f"方案 {s.name} {how}, 评分应填在 {SHEETS[score].label} ({score}), "
                f"不使用 {SHEETS[key].label} ({key}) 工作表 (the scheme's items are scored in {score}, not here)",
                f"把评分移到 {SHEETS[score].label} ({score}), 并{delete} (move the scores to {score})",
            )
    if s.cadence != "month":
        out["self_scores"] = (
            f"党员自评只用于按月评分的方案; 方案 {s.name} {how} (cadence: {s.cadence}), "
            "没有 党员自评 (self_scores) (self-scores exist only for a monthly scheme)",
            delete,
        )
    if score is None:
        out["amendments"] = (
            f"方案 {s.name} 没有项目评分, 无可更正 (the scheme has no item scores: nothing to amend)",
            delete,
        )
    return out


def _amendments_spec(s: Scheme) -> SheetSpec:
    """The amendments sheet for the scheme: ``month`` names the sub-period of its cadence, and
    ``new_score`` is read as typed when an item is entered as a letter grade."""
    spec = SHEETS["amendments"]
    period = AMENDMENT_PERIOD.get(s.cadence, AMENDMENT_PERIOD["month"])
    columns = tuple(
        period
        if col.key == "month"
        else replace(col, kind="raw")
        if col.key == "new_score" and graded_items(s)
        else col
        for col in spec.columns
    )
    return replace(spec, columns=columns)


def header_text(key: str, label: str) -> str:
    """The header our templates write: ``党员编号 (member_id)``."""
    return f"{label} ({key})"


# zero-width characters (and the soft hyphen): invisible in a cell, so never part of what is meant
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_EDGES = re.compile(rf"^[\s{INVISIBLE}]+|[\s{INVISIBLE}]+$")
_NO_BREAK = "\u00a0\u202f\u2007"


def _norm(text: Any) -> str:
    t = str(text)
    if not t.isascii():  # full-width letters and brackets (NFKC), invisible characters
        t = unicodedata.normalize("NFKC", t).translate(_DROP_INVISIBLE)
    return re.sub(r"\s+", "", t).replace("（", "(").replace("）", ")").lower()


_DROP_INVISIBLE = str.maketrans("", "", INVISIBLE)


def _clean_text(text: str) -> tuple[str, str]:
    """``text`` as it is meant: NFKC (full-width digits, letters and punctuation as ASCII) and
    without spaces or invisible characters around it; and why it differs from the text with its
    ordinary spaces trimmed ("" when it does not). Inner characters other than full-width ones
    are left as typed (an id with a space inside stays an error)."""
    if text.isascii():
        return text.strip(), ""
    plain = text.strip(" \t\r\n")  # what anyone would see as the same text
    new = _EDGES.sub("", unicodedata.normalize("NFKC", text))
    if new == plain:
        return plain, ""
    why = []
    if any(ch in INVISIBLE or ch in _NO_BREAK for ch in text):
        why.append("不间断空格或零宽字符 (no-break or zero-width space)")
    if any(unicodedata.normalize("NFKC", ch) != ch for ch in text if ch not in INVISIBLE and ch not in _NO_BREAK):
        why.append("全角字符 (full-width characters)")
    return new, " + ".join(why) or "空白字符 (spaces)"


def _header_key(text: Any, names: dict[str, str]) -> str | None:
    """Map a header cell to its key: ``key``, ``label`` or ``label (key)``."""
    t = _norm(text)
    if not t:
        return None
    if t in names:
        return names[t]
    m = re.match(r"^(.*)\(([^()]*)\)$", t)
    if m and m.group(2) in names:
        return names[m.group(2)]
    return None


@dataclass
class InputBook:
    """The validated contents of one input workbook; every table keeps ``row`` (the Excel row).

    ``monthly`` holds the item scores whatever the scheme's cadence: one row per member and
    sub-period, ``month`` the sub-period's last month (1..12 for a monthly scheme; 3, 6, 9, 12 for
    a quarterly one; 12 for a yearly one), the items as points (letter grades already turned into
    points, see ``letters``), ``row`` the Excel row in ``score_sheet`` and ``note``; empty for a
    scheme of cadence none."""

    path: Path
    sha256: str
    branch_id: str
    branch_name: str
    scheme_ref: str
    year: int
    members: pd.DataFrame
    monthly: pd.DataFrame
    self_scores: pd.DataFrame
    appraisal: pd.DataFrame
    adjustments: pd.DataFrame
    vetoes: pd.DataFrame
    amendments: pd.DataFrame
    attendance: pd.DataFrame
    dues: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    # sheet key -> column key -> (sheet name as found, Excel column letter), for tracing cells
    cells: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    # what was read in a form other than the one typed: one row per sheet, column and value typed
    # (columns of NORMALISED_COLUMNS); the notebook's input checks list it
    normalised: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NORMALISED_COLUMNS))
    # the sheet key ``monthly`` was read from: monthly_scores, quarterly_scores or annual_scores
    # (monthly_scores, with no rows, for a scheme of cadence none)
    score_sheet: str = "monthly_scores"
    # the score sheet's letter-graded entries (LETTER_COLUMNS): member_id, month (as in
    # ``monthly``), item, letter (spelt as in the scheme), points, row; empty when there are none
    letters: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=LETTER_COLUMNS))
    # follow-up cases (SPEC 8): the committee's decisions on earlier years' cases (the
    # follow_up_outcomes sheet, ``case_year`` an int), and the branch sheet's 公示开始日期
    follow_up_outcomes: pd.DataFrame = field(default_factory=lambda: _empty_sheet("follow_up_outcomes"))
    publicity_start: dt.date | None = None
    # the activities the branch held (sheet ``activities``: date, activity, kind, row); empty with
    # those columns when the sheet is absent (the held activities are then those of ``attendance``)
    activities: pd.DataFrame = field(default_factory=lambda: _no_activities())
    # 异议 and 党支部定星 (SPEC 4, 8): the sheets' rows as read, ``row`` the Excel row; empty (with
    # these columns) when the workbook has no such sheet
    objections: pd.DataFrame = field(default_factory=lambda: _empty_sheet("objections"))
    star_decisions: pd.DataFrame = field(default_factory=lambda: _empty_sheet("star_decisions"))

    def cell(self, sheet: str, column: str, row: int) -> str:
        """``月度评分 (monthly_scores)!D14`` for a sheet key, a column key and an Excel row.

        The score sheet answers to its own key and to ``monthly_scores`` (the rows of ``monthly``),
        and its ``month`` column is the cell naming the row's sub-period: the quarter of
        ``quarterly_scores``, the member id of ``annual_scores`` (one row per member)."""
        name, letter = self.cells.get(sheet, {}).get(column, (sheet, column))
        return f"{name}!{letter}{int(row)}"

    def sheet_counts(self) -> pd.DataFrame:
        """Rows read per sheet, for the notebook's input checks (no cell values)."""
        rows = [
            (SHEETS[key].label, key, len(getattr(self, a)))
            for k, a in _SHEET_ATTRS.items()
            for key in [self.score_sheet if k == "monthly_scores" else k]
        ]
        return pd.DataFrame(rows, columns=["工作表", "sheet", "行数 rows"])

    def normalisations(self) -> pd.DataFrame:
        """What was read in another form than typed (``2025年3月`` as 2025-03, ``７`` as 7), for
        the notebook's input checks: one row per sheet, column and typed value, with its cells."""
        return self.normalised.rename(columns=NORMALISED_LABELS)


NORMALISED_COLUMNS: list[str] = ["sheet", "column", "cells", "count", "value", "read_as", "why"]
LETTER_COLUMNS: list[str] = ["member_id", "month", "item", "letter", "points", "row"]
NORMALISED_LABELS: dict[str, str] = {
    "sheet": "工作表 sheet",
    "column": "列 column",
    "cells": "单元格 cells",
    "count": "个数 count",
    "value": "填写的 typed",
    "read_as": "读作 read as",
    "why": "原因 why",
}


_SHEET_ATTRS: dict[str, str] = {
    "members": "members",
    "monthly_scores": "monthly",
    "self_scores": "self_scores",
    "appraisal": "appraisal",
    "adjustments": "adjustments",
    "vetoes": "vetoes",
    "amendments": "amendments",
    "activities": "activities",
    "attendance": "attendance",
    "dues": "dues",
    "follow_up_outcomes": "follow_up_outcomes",
    "objections": "objections",
    "star_decisions": "star_decisions",
}


class _Collector:
    """Collects failures as rows of the error table."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.rows: list[dict[str, Any]] = []
        self.sheet_names: dict[str, str] = {}  # sheet key -> name in the workbook
        self.letters: dict[str, dict[str, str]] = {}  # sheet key -> column key -> letter
        # kept here, not in DataFrame.attrs: pandas deep-copies attrs on every operation
        self.present: dict[str, set[str]] = {}  # sheet key -> columns the sheet has
        self.header_rows: dict[str, int] = {}  # sheet key -> Excel row of the header
        # cells already reported as unreadable (an error value, a formula without a result, TRUE/
        # FALSE): any later check of the same cell would only repeat it in other words
        self.settled: set[tuple[str, int, str]] = set()
        # sheets that could not be read (missing, hidden, ambiguous, no header): the checks that
        # need them are skipped, so that the cause is reported once and not as a flood of knock-ons
        self.unusable: set[str] = set()
        self.normalised: list[dict[str, Any]] = []
        self.date1904 = False  # the workbook counts dates from 1904 (old Excel for Mac)

    def _cell(self, sheet: str, row: Any, column: str) -> str:
        name = self.sheet_names.get(sheet, "")
        if not name:
            return ""
        letter = self.letters.get(sheet, {}).get(column, "")
        if letter and isinstance(row, (int, np.integer)):
            return f"{name}!{letter}{int(row)}"
        return f"{name}!{letter}:{letter}" if letter else name

    def add(
        self,
        sheet: str,
        row: Any,
        column: str,
        value: Any,
        problem: str,
        allowed: str = "",
        *,
        settles: bool = False,
        cell: str | None = None,
    ) -> None:
        """One failure. ``settles``: the cell cannot be read at all, and no later check reports it
        again; a failure at a cell already settled is dropped."""
        if isinstance(row, (int, np.integer)) and not isinstance(row, bool):
            where = (sheet, int(row), column)
            if where in self.settled and not settles:
                return
            if settles:
                self.settled.add(where)
        self.rows.append(
            {
                "file": self.file,
                "sheet": sheet,
                "row": row,
                "column": column,
                "cell": self._cell(sheet, row, column) if cell is None else cell,
                "value": _show(value),
                "problem": problem,
                "allowed": allowed,
            }
        )

    def add_mask(
        self,
        df: pd.DataFrame,
        mask: pd.Series,
        sheet: str,
        column: str,
        problem: str,
        allowed: str = "",
        values: pd.Series | np.ndarray | str | Callable[[], Any] | None = None,
        settles: bool = False,
    ) -> None:
        """A failure for each row of ``df`` where ``mask`` holds. ``values``: what each cell held,
        row by row with ``df`` (default ``df[column]``), or one text for every row; a function is
        called only when a row fails, since most checks find nothing. ``settles``: see :meth:`add`."""
        if not mask.index.equals(df.index):
            mask = mask.reindex(df.index, fill_value=False)
        hit = mask.to_numpy(dtype=bool)
        if not hit.any():
            return
        given: pd.Series | np.ndarray | str | None = values() if callable(values) else values
        if isinstance(given, pd.Series) and not given.index.equals(df.index):
            given = given.reindex(df.index)
        if given is None:
            shown = (
                df[column].to_numpy(dtype=object)[hit] if column in df else np.full(int(hit.sum()), "", dtype=object)
            )
        elif np.ndim(given) == 0:
            shown = np.full(int(hit.sum()), given, dtype=object)
        else:
            shown = np.asarray(given, dtype=object)[hit]
        for r, v in zip(df["row"].to_numpy()[hit].tolist(), shown.tolist(), strict=True):
            self.add(sheet, r, column, v, problem, allowed, settles=settles)

    def settled_in(self, df: pd.DataFrame, sheet: str, column: str) -> np.ndarray:
        """Rows of ``df`` (a table of ``sheet``, with ``row``) whose ``column`` cell is settled."""
        rows = {r for k, r, col in self.settled if k == sheet and col == column}
        if not rows:
            return np.zeros(len(df), dtype=bool)
        return df["row"].isin(rows).to_numpy()

    def normalise(self, sheet: str, column: str, rows: Any, value: Any, read_as: Any, why: str) -> None:
        """Record that ``value`` in ``rows`` of a column was read as ``read_as``."""
        rows = [int(r) for r in np.asarray(rows).tolist()]
        if not rows:
            return
        name = self.sheet_names.get(sheet, sheet)
        letter = self.letters.get(sheet, {}).get(column, "")
        shown = ", ".join(f"{letter}{r}" for r in rows[:5]) + (f" … (+{len(rows) - 5})" if len(rows) > 5 else "")
        self.normalised.append(
            {
                "sheet": sheet,
                "column": column,
                "cells": f"{name}!{shown}",
                "count": len(rows),
                "value": _visible(value) if isinstance(value, str) else _show(value),
                "read_as": _show(read_as),
                "why": why,
            }
        )

    def raise_if_any(self) -> None:
        if self.rows:
            table = pd.DataFrame(self.rows, columns=FAILURE_COLUMNS)
            table["_order"] = table["row"].map(lambda r: r if isinstance(r, (int, np.integer)) else 0)
            table = table.sort_values(["sheet", "_order"], kind="stable").drop(columns="_order")
            raise InputError(table)


def _visible(text: str) -> str:
    """``text`` with its invisible characters named, so a reader sees what was typed."""
    if text.isascii():
        return text
    return "".join(f"[U+{ord(ch):04X}]" if ch in INVISIBLE or ch in _NO_BREAK else ch for ch in text)


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- the file itself: encryption, sheets, error values and formulas ---------------------------

# An encrypted (password-protected) .xlsx is not a zip but an OLE compound file holding the
# encrypted package; a legacy .xls is a compound file too, without that stream.
CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")

# What each spreadsheet error value means, for the officer who has to fix the cell.
ERROR_MEANINGS: dict[str, str] = {
    "#REF!": "公式引用的单元格已被删除 (the formula refers to a deleted cell)",
    "#N/A": "查找不到值 (a lookup found no value)",
    "#DIV/0!": "公式除以零 (the formula divides by zero)",
    "#VALUE!": "公式中的值类型不对 (a value of the wrong type in the formula)",
    "#NAME?": "公式中有无法识别的名称或函数 (an unknown name or function in the formula)",
    "#NUM!": "公式得出无效的数字 (the formula gives an invalid number)",
    "#NULL!": "公式中的区域不相交 (ranges in the formula do not intersect)",
    "#SPILL!": "动态数组的溢出区域被挡住 (a dynamic array cannot spill: cells in the way)",
    "#CALC!": "计算引擎无法计算此公式 (the calculation engine cannot evaluate the formula)",
    "#GETTING_DATA": "外部数据尚未取回 (external data was still being fetched)",
    "#FIELD!": "引用的数据类型字段不存在 (a data-type field that does not exist)",
    "#BLOCKED!": "所需的功能被阻止 (a feature the formula needs is blocked)",
    "#CONNECT!": "无法连接外部数据源 (cannot connect to an external data source)",
    "#BUSY!": "公式仍在计算中 (the formula was still calculating)",
    "#UNKNOWN!": "此版本不认识的数据类型 (a data type this version does not know)",
    "#EXTERNAL!": "外部引用出错 (an external reference failed)",
    "#PYTHON!": "Python 公式出错 (a Python formula failed)",
}
# the error values python-calamine reads (as blank); any other makes it raise for the whole sheet
CALAMINE_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})
FIX_FORMULA = "在 Excel 或 WPS 中改正该公式或直接填入取值 (fix the formula in Excel or WPS, or type the value itself)"
SAVE_IN_OFFICE = (
    "在 Excel 或 WPS 中打开本文件并保存, 让公式算出结果; 或直接填入取值 "
    "(open the file in Excel or WPS and save it, so the formula is calculated; or type the value itself)"
)

CellIssue = Literal["error", "uncached", "stale"]


@dataclass(frozen=True)
class _Flag:
    """A cell whose value the reader cannot take: an error value, or a formula without a
    trustworthy saved result."""

    row: int  # Excel row, 1-based
    col: int  # column, 0-based
    issue: CellIssue
    text: str  # the error value (``#REF!``) or the formula (``=4+4``)
    saved: str = ""  # a stale formula's saved result
    span: tuple[int, int] | None = None  # byte span of an error value in the sheet XML


def _xml_text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", "replace"))


_ATTR = re.compile(rb"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_REF = re.compile(r"^([A-Za-z]{1,3})(\d+)$")


def _attrs(tag: bytes) -> dict[str, str]:
    return {
        m.group(1).decode(): _xml_text(m.group(2) if m.group(2) is not None else m.group(3))
        for m in _ATTR.finditer(tag)
    }


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


class _Xlsx:
    """The parts of an ``.xlsx`` the reader looks at itself: which XML part holds which sheet,
    the workbook's date system and whether it asks to be recalculated on opening, and, per sheet,
    the cells calamine reads as blank though they are not (error values, formulas without a result)."""

    def __init__(self, content: bytes) -> None:
        self.zip = zipfile.ZipFile(io.BytesIO(content))
        workbook = self.zip.read("xl/workbook.xml")
        rels = self.zip.read("xl/_rels/workbook.xml.rels")
        targets: dict[str, str] = {}
        for tag in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
            a = _attrs(tag)
            target = a.get("Target", "")
            targets[a.get("Id", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        self.parts: dict[str, str] = {}
        for tag in re.findall(rb"<(?:\w+:)?sheet\b[^>]*>", workbook):
            a = _attrs(tag)
            rid = next((v for k, v in a.items() if k.endswith(":id") or k == "id"), "")
            if a.get("name") and rid in targets:
                self.parts[a["name"]] = targets[rid]
        pr = re.search(rb"<(?:\w+:)?workbookPr\b[^>]*>", workbook)
        self.date1904 = pr is not None and _attrs(pr.group(0)).get("date1904", "") in ("1", "true")
        calc = re.search(rb"<(?:\w+:)?calcPr\b[^>]*>", workbook)
        self.recalc_on_open = calc is not None and _attrs(calc.group(0)).get("fullCalcOnLoad", "") in ("1", "true")

    def sheet_xml(self, name: str) -> bytes | None:
        part = self.parts.get(name)
        return self.zip.read(part) if part is not None else None

    def scan(self, name: str) -> list[_Flag]:
        """Error values and formulas without a trustworthy result in one sheet. A plain search for
        the few bytes that mark them; each hit alone is then looked at (most sheets have none)."""
        xml = self.sheet_xml(name)
        if xml is None:
            return []
        lo = xml.find(b"sheetData")
        if lo < 0:
            return []
        hi = xml.rfind(b"sheetData")
        lt = xml.rfind(b"<", 0, lo)
        prefix = xml[lt + 1 : lo]  # "" or a namespace prefix such as b"x:"
        flags: list[_Flag] = []
        hits: list[int] = []
        # the quotes the writer puts around attributes (every writer keeps to one kind): one search
        first = xml.find(b"<" + prefix + b"c ", lo, hi)
        head = xml[first : first + 64] if first >= 0 else b""
        quotes = [q for q in (b'"', b"'") if b"=" + q in head] or [b'"']
        for quote in quotes:
            marker = b" t=" + quote + b"e" + quote
            at = xml.find(marker, lo, hi)
            while at >= 0:
                hits.append(at)
                at = xml.find(marker, at + 1, hi)
        for at in hits:
            flag = self._cell(xml, lo, at, prefix, "error")
            if flag is not None:
                flags.append(flag)
        ftag = b"<" + prefix + b"f"
        at = xml.find(ftag, lo, hi)
        while at >= 0:
            if xml[at + len(ftag) : at + len(ftag) + 1] in (b" ", b">", b"/"):
                flag = self._cell(xml, lo, at, prefix, "formula")
                if flag is not None:
                    flags.append(flag)
            at = xml.find(ftag, at + 1, hi)
        return flags

    def _cell(self, xml: bytes, lo: int, at: int, prefix: bytes, what: str) -> _Flag | None:
        ctag = b"<" + prefix + b"c"
        start = at
        while True:
            start = xml.rfind(ctag, lo, start)
            if start < 0:
                return None
            if xml[start + len(ctag) : start + len(ctag) + 1] in (b" ", b">", b"/"):
                break
        open_end = xml.find(b">", start)
        tag = xml[start : open_end + 1]
        a = _attrs(tag)
        row, col = self._position(xml, lo, start, a.get("r", ""), prefix)
        if tag.endswith(b"/>"):
            body = b""
            body_at = open_end + 1
        else:
            end = xml.find(b"</" + prefix + b"c>", open_end)
            body_at = open_end + 1
            body = xml[body_at:end] if end >= 0 else b""
        v = re.search(
            rb"<" + re.escape(prefix) + rb"v(?:\s[^>]*)?(?:/>|>(.*?)</" + re.escape(prefix) + rb"v>)", body, re.S
        )
        saved = v.group(1) if v is not None and v.group(1) is not None else None
        if what == "error":
            if a.get("t") != "e":
                return None
            if saved is None or v is None:
                return _Flag(row, col, "error", "#?")
            s0 = body_at + v.start(1)
            return _Flag(row, col, "error", _xml_text(saved).strip(), span=(s0, s0 + len(saved)))
        if a.get("t") == "e":
            return None  # a formula whose result is an error: reported as the error
        f = re.search(
            rb"<" + re.escape(prefix) + rb"f(?:\s[^>]*)?(?:/>|>(.*?)</" + re.escape(prefix) + rb"f>)", body, re.S
        )
        formula = "=" + _xml_text(f.group(1)) if f is not None and f.group(1) else "=(共享公式 shared formula)"
        has_result = saved is not None and (saved != b"" or a.get("t") == "str")
        if not has_result:
            return _Flag(row, col, "uncached", formula)
        if self.recalc_on_open:
            return _Flag(row, col, "stale", formula, saved=_xml_text(saved or b""))
        return None

    @staticmethod
    def _position(xml: bytes, lo: int, start: int, ref: str, prefix: bytes) -> tuple[int, int]:
        m = _CELL_REF.match(ref)
        if m:
            return int(m.group(2)), _column_index(m.group(1))
        # no reference: count the cells before it in its row, and the rows before that
        rtag = b"<" + prefix + b"row"
        row_at = xml.rfind(rtag, lo, start)
        row_attrs = _attrs(xml[row_at : xml.find(b">", row_at) + 1]) if row_at >= 0 else {}
        row = int(row_attrs["r"]) if row_attrs.get("r", "").isdigit() else xml.count(rtag, lo, start)
        col = len(re.findall(rb"<" + re.escape(prefix) + rb"c[\s>/]", xml[row_at:start])) if row_at >= 0 else 0
        return row, col

    def without_unreadable_errors(self, names: list[str], flags: dict[str, list[_Flag]]) -> bytes:
        """The workbook with every error value calamine cannot read (``#SPILL!``, ``#CALC!``, ...)
        in ``names`` replaced by ``#N/A``; the reader reports the original value from ``flags``."""
        patched: dict[str, bytes] = {}
        for name in names:
            xml = self.sheet_xml(name)
            spans = sorted(f.span for f in flags.get(name, []) if f.span is not None and f.text not in CALAMINE_ERRORS)
            if xml is None or not spans:
                continue
            pieces, last = [], 0
            for a, b in spans:
                pieces += [xml[last:a], b"#N/A"]
                last = b
            pieces.append(xml[last:])
            patched[self.parts[name]] = b"".join(pieces)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for info in self.zip.infolist():
                z.writestr(info, patched.get(info.filename) or self.zip.read(info.filename))
        return out.getvalue()


def _encrypted(content: bytes) -> bool:
    """A password-protected (encrypted) workbook: an OLE compound file with an encrypted package."""
    return content[:8] == CFB_SIGNATURE and ENCRYPTED_PACKAGE in content


# -- reading ----------------------------------------------------------------------------------


def _find_sheet(names: list[str], spec: SheetSpec) -> str | None:
    found = _find_sheets(names, spec)
    return found[0] if found else None


def _find_sheets(names: list[str], spec: SheetSpec) -> list[str]:
    """Every sheet whose name is the spec's key, its label or ``label (key)``."""
    wanted = {_norm(spec.key): spec.key, _norm(spec.label): spec.key}
    return [name for name in names if _header_key(name, wanted) == spec.key]


_VISIBILITY: dict[str, str] = {"hidden": "隐藏 hidden", "veryhidden": "深度隐藏 very hidden"}


def _choose_sheets(
    wb: CalamineWorkbook, c: _Collector, specs: dict[str, SheetSpec] | None = None
) -> tuple[dict[str, str | None], set[str]]:
    """The one sheet read for each input sheet, and the input sheets the workbook does not have.
    Two sheets that match one input sheet, or a hidden one, are a problem naming them all, and
    none of them is read: the reader never chooses silently between an old copy and the current one."""
    names = list(wb.sheet_names)
    states = {m.name: str(m.visible).rsplit(".", 1)[-1].lower() for m in wb.sheets_metadata}
    found: dict[str, str | None] = {}
    absent: set[str] = set()
    for key, spec in (SHEETS if specs is None else specs).items():
        matches = _find_sheets(names, spec)
        hidden = [n for n in matches if states.get(n, "visible") != "visible"]
        found[key] = matches[0] if len(matches) == 1 and not hidden else None
        if len(matches) > 1:
            listed = ", ".join(f"{n!r} ({_VISIBILITY[states[n]]})" if n in hidden else repr(n) for n in matches)
            c.add(
                key,
                "",
                "",
                "",
                f"有 {len(matches)} 个工作表都对应 {spec.label} ({key}): {listed}; 均未读取 "
                f"({len(matches)} sheets match {key}, none was read)",
                f"只保留一个, 删除其余的或改名, 如 {spec.label}_旧 "
                f"(keep one: delete the others or rename them, e.g. {spec.label}_旧)",
                cell=", ".join(matches),
            )
            c.unusable.add(key)
        elif hidden:
            how = (
                "在 VBA 编辑器 (Alt+F11) 中取消深度隐藏并检查, 或删除它 "
                "(make it visible in the VBA editor and check it, or delete it)"
                if states[hidden[0]] == "veryhidden"
                else "取消隐藏并检查其内容, 或删除它 (unhide it and check it, or delete it)"
            )
            c.add(
                key,
                "",
                "",
                "",
                f"工作表 {hidden[0]!r} 对应 {spec.label} ({key}) 但被{_VISIBILITY[states[hidden[0]]]}, 未读取 "
                f"(the sheet matching {key} is hidden; it was not read)",
                how,
                cell=hidden[0],
            )
            c.unusable.add(key)
        elif not matches:
            c.unusable.add(key)
            absent.add(key)
            if spec.required:
                c.add(key, "", "", "", "缺少必需的工作表 (required sheet missing)", f"{spec.label} ({spec.key})")
    return found, absent


class _Reader:
    """The workbook as calamine reads it, with the cells it cannot read found in the XML."""

    def __init__(self, wb: CalamineWorkbook, xlsx: _Xlsx | None, c: _Collector) -> None:
        self.wb = wb
        self.xlsx = xlsx
        self.c = c
        self.flags: dict[str, list[_Flag]] = {}
        self.patched = False

    def _scan(self, name: str) -> list[_Flag]:
        # measured: searching on a second thread while calamine reads is slower (calamine holds
        # the interpreter lock), so the XML is searched here, sheet by sheet, and not kept
        assert self.xlsx is not None
        if name not in self.flags:
            self.flags[name] = self.xlsx.scan(name)
        return self.flags[name]

    def rows(self, sheet_name: str, key: str) -> list[list[Any]] | None:
        """The sheet's cells from A1 (blank for an error value), or None if it cannot be read; the
        cells calamine reads as blank though they are not are in ``flags[sheet_name]``."""
        try:
            rows = self.wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        except CalamineError as exc:
            # calamine refuses the whole sheet for an error value it does not know (#SPILL!,
            # #CALC!, ...): read a copy where they are #N/A; the flags keep the real values
            if self.xlsx is None or self.patched:
                return self._unreadable(sheet_name, key, exc)
            try:
                flags = {name: self._scan(name) for name in self.xlsx.parts}
                content = self.xlsx.without_unreadable_errors(list(self.xlsx.parts), flags)
                self.wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
                self.patched = True
                rows = self.wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
            except Exception as again:  # calamine raises its own error types
                return self._unreadable(sheet_name, key, again)
        if self.xlsx is not None:
            try:
                self._scan(sheet_name)
            except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError, zlib.error) as exc:
                return self._unreadable(sheet_name, key, exc)
        return rows

    def _unreadable(self, sheet_name: str, key: str, exc: BaseException) -> list[list[Any]] | None:
        self.c.add(
            key,
            "",
            "",
            "",
            f"工作表 {sheet_name!r} 无法读取 (the sheet cannot be read): {exc}",
            "在 Excel 或 WPS 中打开并另存为 .xlsx (open it in Excel or WPS and save it as .xlsx)",
            cell=sheet_name,
        )
        self.c.unusable.add(key)
        return None  # the sheet is reported; the reader goes on without it


def _report_flags(flags: list[_Flag], key: str, header_row: int, keys: list[str | None], c: _Collector) -> None:
    """A failure for each unreadable cell in the header row or in a column the reader takes."""
    for f in flags:
        if f.row < header_row:
            continue  # a title above the header
        if f.row == header_row:
            column = get_column_letter(f.col + 1)
            what = "表头单元格 (header cell): "
        elif f.col < len(keys) and keys[f.col] is not None:
            column = str(keys[f.col])
            what = ""
        else:
            continue  # a column the reader does not take (reported as unknown, if it has a header)
        _flag_failure(f, key, column, what, c)


def _flag_failure(f: _Flag, key: str, column: str, what: str, c: _Collector) -> None:
    if f.issue == "error":
        meaning = ERROR_MEANINGS.get(f.text, "电子表格的错误值 (a spreadsheet error value)")
        c.add(
            key,
            f.row,
            column,
            f.text,
            f"{what}单元格是错误值 {f.text} (the cell holds an error value): {meaning}",
            FIX_FORMULA,
            settles=True,
        )
    elif f.issue == "uncached":
        c.add(
            key,
            f.row,
            column,
            f.text,
            f"{what}公式没有保存的计算结果 (a formula without a saved result)",
            SAVE_IN_OFFICE,
            settles=True,
        )
    else:
        c.add(
            key,
            f.row,
            column,
            f"{f.text} → {f.saved}",
            f"{what}公式的保存结果未经电子表格计算, 工作簿要求打开时重算 (the workbook was saved by a program that "
            f"did not calculate it: the saved result {f.saved!r} may be wrong)",
            SAVE_IN_OFFICE,
            settles=True,
        )


def _raw_table(
    rows: list[list[Any]],
    flags: list[_Flag],
    sheet_name: str,
    spec: SheetSpec,
    item_names: dict[str, str],
    c: _Collector,
) -> pd.DataFrame | None:
    """Sheet -> DataFrame of raw cell values with key headers and the Excel ``row``."""
    names = {_norm(col.key): col.key for col in spec.columns}
    names.update({_norm(col.label): col.key for col in spec.columns})
    names.update(item_names)
    header_idx = None
    for i, row in enumerate(rows[:10]):
        if sum(_header_key(v, names) is not None for v in row) >= min(2, len(spec.columns)):
            header_idx = i
            break
    if header_idx is None:
        c.add(
            spec.key,
            "",
            "",
            "",
            f"找不到表头行 (no header row) in sheet {sheet_name!r}",
            ", ".join(header_text(col.key, col.label) for col in spec.columns),
            cell=sheet_name,
        )
        c.unusable.add(spec.key)
        return None
    header = rows[header_idx]
    c.sheet_names[spec.key] = sheet_name
    keys: list[str | None] = []
    for h in header:
        k = _header_key(h, names)
        if k is None and _norm(h):
            c.add(
                spec.key, header_idx + 1, str(h), h, "未知的列 (unknown column)", ", ".join(sorted(set(names.values())))
            )
        if k is not None and k in keys:
            c.add(spec.key, header_idx + 1, str(h), h, "列重复 (duplicate column)", "each column once")
            k = None
        keys.append(k)
    present = [k for k in keys if k is not None]
    for col in spec.columns:
        if col.required and col.key not in present:
            c.add(
                spec.key,
                header_idx + 1,
                col.key,
                "",
                "缺少必需的列 (required column missing)",
                header_text(col.key, col.label),
            )
    c.letters[spec.key] = {k: get_column_letter(j + 1) for j, k in enumerate(keys) if k is not None}
    _report_flags(flags, spec.key, header_idx + 1, keys, c)
    body = list(rows[header_idx + 1 :])
    cols = {k: [r[j] if j < len(r) else "" for r in body] for j, k in enumerate(keys) if k is not None}
    df = pd.DataFrame(cols, dtype=object)
    df["row"] = np.arange(header_idx + 2, header_idx + 2 + len(body))
    free = {col.key for col in spec.columns if col.free_text}
    for k in present:
        if k not in free:
            df[k] = _normalise_column(df[k], df["row"], spec.key, k, c)
    data_cols = list(present)
    if data_cols:
        blank = np.logical_and.reduce([_blank_array(df[k].to_numpy(dtype=object)) for k in data_cols])
        df = df.loc[~blank]
    df = df.reset_index(drop=True)
    c.present[spec.key] = set(present)
    c.header_rows[spec.key] = header_idx + 1  # where a missing column belongs
    for col in spec.columns:
        if col.key not in df:
            df[col.key] = ""
    return df


# the kinds pandas infers for a column with no text in it (numbers, dates, TRUE/FALSE, nothing)
_NO_TEXT = frozenset({"floating", "integer", "mixed-integer-float", "decimal", "boolean", "date", "datetime", "empty"})


def _normalise_column(raw: pd.Series, rows: pd.Series, sheet: str, column: str, c: _Collector) -> pd.Series:
    """Text cells in the form they mean (see :func:`_clean_text`), each change recorded once per
    distinct value typed. Only text that is not plain ASCII is looked at, once per distinct value."""
    a = raw.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(a, skipna=True) in _NO_TEXT:
        return raw
    codes, uniques = pd.factorize(a)  # text and numbers never share a code
    changed = []
    for k, u in enumerate(uniques):
        if type(u) is str and not u.isascii():
            new, why = _clean_text(u)
            if why:
                changed.append((k, u, new, why))
    if not changed:
        return raw
    out = a.copy()
    row_numbers = rows.to_numpy()
    for k, u, new, why in changed:
        hit = codes == k
        out[hit] = new
        c.normalise(sheet, column, row_numbers[hit], u, new, why)
    return pd.Series(out, index=raw.index, dtype=object)


def _blank_array(a: np.ndarray) -> np.ndarray:
    """None, NaN, or text of nothing but spaces; only text cells are stripped."""
    blank = pd.isna(a)
    text = np.fromiter((type(v) is str for v in a), dtype=bool, count=len(a))
    if text.any():
        blank[text] = np.char.strip(a[text].astype(str)) == ""
    return blank


def _is_blank(s: pd.Series) -> pd.Series:
    return pd.Series(_blank_array(s.to_numpy(dtype=object)), index=s.index)


def _booleans(s: pd.Series) -> np.ndarray | None:
    """Where ``s`` holds TRUE/FALSE cells; None when it holds none (told by pandas' type scan)."""
    a = s.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(a, skipna=True) in {"string", *_NO_TEXT} - {"boolean"}:
        return None
    hit = np.fromiter((type(v) is bool or type(v) is np.bool_ for v in a), dtype=bool, count=len(a))
    return hit if hit.any() else None


def _reject_booleans(
    df: pd.DataFrame, raw: pd.Series, sheet: str, column: str, expected: str, allowed: str, c: _Collector
) -> pd.Series:
    """TRUE/FALSE where a number, a text, a month or a date belongs: a failure each (a TRUE would
    otherwise count as 1 point), and the cell taken as blank by the checks after."""
    hit = _booleans(raw)
    if hit is None:
        return raw
    c.add_mask(
        df,
        pd.Series(hit, index=df.index),
        sheet,
        column,
        f"逻辑值 TRUE/FALSE 不是{expected}",
        allowed,
        values=raw.map(lambda v: "TRUE" if v else "FALSE"),
        settles=True,
    )
    return raw.where(~hit, None)


def _to_text(s: pd.Series) -> pd.Series:
    def conv(v: Any) -> Any:
        if v is None or (isinstance(v, str) and not v.strip()):
            return pd.NA
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    return s.map(conv).astype("string")


def _to_number(s: pd.Series, blank: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """Numbers; returns (values, bad) where bad marks non-blank cells that are not numbers."""
    blank = _is_blank(s) if blank is None else blank
    a, b = s.to_numpy(dtype=object), blank.to_numpy(dtype=bool)
    if all(type(v) is float or type(v) is int for v in a[~b]):  # number cells, as calamine reads them
        return pd.Series(np.where(b, np.nan, a).astype("float64"), index=s.index), pd.Series(False, index=s.index)
    vals = pd.to_numeric(s.where(~blank, np.nan), errors="coerce")  # float() parsing: spaces around a number are fine
    bad = ~blank & vals.isna()
    return vals.astype("float64"), bad


_MONTH_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_CANONICAL_MONTH = re.compile(r"^\d{4}-\d{2}$")
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_CANONICAL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Excel stores a date as the days since 1899-12-30 (1904-01-01 in old Mac workbooks); a whole
# number in this range in a month or date column is such a date whose format was lost. Anything
# else (3, 202503) could mean several things and stays an error.
SERIAL_RANGE = (18264, 73050)  # 1950-01-01 .. 2099-12-31 in the 1900 system
SERIAL_WHY = "Excel 日期序号 (an Excel date serial number)"

Record = Callable[[np.ndarray, Any, Any, str], None]


def _serial_date(v: Any, date1904: bool) -> dt.date | None:
    if type(v) not in (int, float) or not float(v).is_integer():
        return None
    n = int(v)
    if not SERIAL_RANGE[0] <= n <= SERIAL_RANGE[1]:
        return None
    base = dt.date(1904, 1, 1) if date1904 else dt.date(1899, 12, 30)
    return base + dt.timedelta(days=n)


def _to_month(
    s: pd.Series, blank: pd.Series | None = None, record: Record | None = None, date1904: bool = False
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``YYYY-MM`` text (or ``2025年3月``, ``2025/3``), a date cell or an Excel date serial
    -> (year, month, bad). ``record`` is told of each form other than ``YYYY-MM`` or a date."""

    def conv(v: Any) -> tuple[float, float, str]:
        if isinstance(v, (dt.date, dt.datetime)):
            return float(v.year), float(v.month), ""
        if isinstance(v, str):
            m = _MONTH_RE.match(v.strip())
            if m and 1 <= int(m.group(2)) <= 12:
                canonical = _CANONICAL_MONTH.match(v.strip()) is not None
                return float(m.group(1)), float(m.group(2)), "" if canonical else "月份写法 (month written another way)"
        d = _serial_date(v, date1904)
        if d is not None:
            return float(d.year), float(d.month), SERIAL_WHY
        return np.nan, np.nan, ""

    blank = _is_blank(s) if blank is None else blank
    codes, uniques = _factorize(s)  # a month column holds a dozen distinct values: convert each once
    converted = [conv(u) for u in uniques]
    pairs = np.array([p[:2] for p in converted] + [(np.nan, np.nan)], dtype="float64").reshape(-1, 2)
    year = pd.Series(pairs[codes, 0], index=s.index)
    month = pd.Series(pairs[codes, 1], index=s.index)
    if record is not None:
        for k, (y, mo, why) in enumerate(converted):
            if why:
                record(codes == k, uniques[k], f"{int(y)}-{int(mo):02d}", why)
    return year, month, ~blank & month.isna()


_QUARTER_RE = re.compile(r"^(\d{4})\s*[-/.]?\s*[Qq]\s*([1-4])$")
_QUARTER_CN_RE = re.compile(r"^(\d{4})\s*年度?\s*(?:第\s*)?([1-4一二三四])\s*季度?$")
_CANONICAL_QUARTER = re.compile(r"^\d{4}Q[1-4]$")
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}
QUARTER_ALLOWED = "YYYYQn, e.g. 2025Q1 (或 2025年第1季度)"
_YEAR_RE = re.compile(r"^(\d{4})\s*(?:年度?)?$")
YEAR_ALLOWED = "YYYY, e.g. 2025"


def _to_quarter(
    s: pd.Series, blank: pd.Series | None = None, record: Record | None = None
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``2025Q1`` text (or ``2025q1``, ``2025-Q1``, ``2025年第1季度``, ``2025年一季度``) -> (year,
    the quarter's last month, bad). A month or a date is not a quarter (``2025-03`` could be meant
    as March or as the first quarter): it stays an error. ``record`` is told of each other form."""

    def conv(v: Any) -> tuple[float, float, str]:
        if isinstance(v, str):
            text = v.strip()
            m = _QUARTER_RE.match(text) or _QUARTER_CN_RE.match(text)
            if m:
                q = _CN_DIGITS.get(m.group(2)) or int(m.group(2))
                canonical = _CANONICAL_QUARTER.match(text) is not None
                return float(m.group(1)), float(3 * q), "" if canonical else "季度写法 (quarter written another way)"
        return np.nan, np.nan, ""

    blank = _is_blank(s) if blank is None else blank
    codes, uniques = _factorize(s)
    converted = [conv(u) for u in uniques]
    pairs = np.array([p[:2] for p in converted] + [(np.nan, np.nan)], dtype="float64").reshape(-1, 2)
    year = pd.Series(pairs[codes, 0], index=s.index)
    month = pd.Series(pairs[codes, 1], index=s.index)
    if record is not None:
        for k, (y, mo, why) in enumerate(converted):
            if why:
                record(codes == k, uniques[k], _sub_text(int(y), int(mo), "quarter"), why)
    return year, month, ~blank & month.isna()


def _to_year(
    s: pd.Series, blank: pd.Series | None = None, record: Record | None = None
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """A year, ``2025`` (a number or text; ``2025年``, ``2025年度``) -> (year, 12, bad): the
    sub-period of a scheme scored once a year is the year itself, ending in December."""

    def conv(v: Any) -> tuple[float, str]:
        if type(v) in (int, float) and float(v).is_integer() and 1900 <= v <= 2100:
            return float(v), ""
        if isinstance(v, str):
            m = _YEAR_RE.match(v.strip())
            if m:
                return float(m.group(1)), "" if v.strip() == m.group(1) else "年度写法 (year written as 2025年)"
        return np.nan, ""

    blank = _is_blank(s) if blank is None else blank
    codes, uniques = _factorize(s)
    converted = [conv(u) for u in uniques]
    years = np.array([p[0] for p in converted] + [np.nan], dtype="float64")
    year = pd.Series(years[codes], index=s.index)
    if record is not None:
        for k, (y, why) in enumerate(converted):
            if why:
                record(codes == k, uniques[k], str(int(y)), why)
    return year, year.where(year.isna(), 12.0), ~blank & year.isna()


def _sub_text(year: Any, month: Any, unit: str) -> str:
    """A sub-period as an officer writes it: ``2025-03``, ``2025Q1`` (month: its last month), ``2025``."""
    if pd.isna(year) or pd.isna(month):
        return ""
    if unit == "quarter":
        return f"{int(year)}Q{(int(month) + 2) // 3}"
    if unit == "year":
        return str(int(year))
    return f"{int(year)}-{int(month):02d}"


def _factorize(s: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes into the distinct values of ``s``; a missing value gets the code ``len(uniques)``.

    Only for conversions that look at text and dates alone: factorize treats ``1.0`` and
    ``True`` as one value (TRUE/FALSE cells are taken out before, see ``_reject_booleans``)."""
    codes, uniques = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=True)
    values = list(uniques)
    return np.where(codes < 0, len(values), codes), values


def _to_date(
    s: pd.Series, blank: pd.Series | None = None, record: Record | None = None, date1904: bool = False
) -> tuple[pd.Series, pd.Series]:
    """A date cell, ``YYYY-MM-DD`` text (or ``2025/3/1``, ``2025年3月1日``) or an Excel date
    serial -> (date, bad). ``record`` is told of each form other than a date cell or ``YYYY-MM-DD``."""

    def conv(v: Any) -> tuple[dt.date | None, str]:
        if isinstance(v, dt.datetime):
            return v.date(), ""
        if isinstance(v, dt.date):
            return v, ""
        if isinstance(v, str):
            m = _DATE_RE.match(v.strip())
            if m is None:
                return None, ""
            try:
                d = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None, ""
            return d, "" if _CANONICAL_DATE.match(v.strip()) else "日期写法 (date written another way)"
        serial = _serial_date(v, date1904)
        return (serial, SERIAL_WHY) if serial is not None else (None, "")

    blank = _is_blank(s) if blank is None else blank
    codes, uniques = _factorize(s)
    pairs = [conv(u) for u in uniques]
    converted = np.array([p[0] for p in pairs] + [None], dtype=object)
    vals = pd.Series(converted[codes], index=s.index, dtype=object)
    if record is not None:
        for k, (d, why) in enumerate(pairs):
            if why and d is not None:
                record(codes == k, uniques[k], d.isoformat(), why)
    return vals, ~blank & vals.isna()


def _to_yesno(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    def conv(v: Any) -> Any:
        t = _show(v).strip().lower() if not isinstance(v, bool) else ("yes" if v else "no")
        if t in YES:
            return True
        if t in NO:
            return False
        return None

    vals = s.map(conv)
    return vals.map(lambda v: bool(v) if v is not None else False).astype(bool), vals.isna()


_EXPECTED: dict[str, str] = {
    "text": "文字 (a TRUE/FALSE value, not text)",
    "choice": "文字 (a TRUE/FALSE value, not text)",
    "number": "数字 (a TRUE/FALSE value is not a number)",
    "int": "数字 (a TRUE/FALSE value is not a number)",
    "month": "月份 (a TRUE/FALSE value is not a month)",
    "date": "日期 (a TRUE/FALSE value is not a date)",
    "quarter": "季度 (a TRUE/FALSE value is not a quarter)",
    "year": "年度 (a TRUE/FALSE value is not a year)",
    "raw": "分数或等次 (a TRUE/FALSE value is not a score or a grade)",
}


def _convert(df: pd.DataFrame, spec: SheetSpec, c: _Collector, year: int | None) -> pd.DataFrame:
    """Type every known column; record a failure for each cell that does not fit."""
    out = pd.DataFrame({"row": df["row"].to_numpy()})
    rows = df["row"].to_numpy()

    def recorder(column: str) -> Record:
        def record(hit: np.ndarray, value: Any, read_as: Any, why: str) -> None:
            c.normalise(spec.key, column, rows[hit], value, read_as, why)

        return record

    for col in spec.columns:
        raw = df[col.key]
        if col.kind != "yesno":
            allowed = {
                "text": col.label,
                "choice": " / ".join(col.choices),
                "number": "数字 number",
                "int": "数字 number",
                "month": "YYYY-MM, e.g. 2025-03",
                "date": "YYYY-MM-DD",
                "quarter": QUARTER_ALLOWED,
                "year": YEAR_ALLOWED,
                "raw": col.label,
            }[col.kind]
            raw = _reject_booleans(df, raw, spec.key, col.key, _EXPECTED[col.kind], allowed, c)
        blank = _is_blank(raw)
        if col.not_blank and col.key in c.present.get(spec.key, set(df.columns)):
            c.add_mask(df, blank, spec.key, col.key, "不能为空 (must not be blank)", col.label, values=raw)
        if col.kind in ("text", "choice"):
            vals = _to_text(raw)
            if col.kind == "choice":
                bad = ~blank & ~vals.isin(list(col.choices)).fillna(False)
                c.add_mask(
                    df,
                    bad,
                    spec.key,
                    col.key,
                    "不是允许的取值 (not an allowed value)",
                    " / ".join(col.choices),
                    values=raw,
                )
            out[col.key] = vals.to_numpy()
        elif col.kind in ("number", "int"):
            vals, bad = _to_number(raw, blank)
            if col.kind == "int":
                frac = ~vals.isna() & (vals != np.floor(vals.fillna(0)))
                neg = vals < 0
                bad = bad | frac | neg
            c.add_mask(
                df,
                bad,
                spec.key,
                col.key,
                "不是数字 (not a number)" if col.kind == "number" else "不是非负整数 (not a whole number >= 0)",
                "数字 number",
                values=raw,
            )
            out[col.key] = vals.to_numpy()
        elif col.kind == "month":
            y, m, bad = _to_month(raw, blank, recorder(col.key), c.date1904)
            c.add_mask(df, bad, spec.key, col.key, "不是月份 (not a month)", "YYYY-MM, e.g. 2025-03", values=raw)
            out[f"{col.key}_year"] = y.to_numpy()
            out[col.key] = m.to_numpy()
        elif col.kind in ("quarter", "year"):
            convert = _to_quarter if col.kind == "quarter" else _to_year
            y, m, bad = convert(raw, blank, recorder(col.key))
            what = "不是季度 (not a quarter)" if col.kind == "quarter" else "不是年度 (not a year)"
            allowed = QUARTER_ALLOWED if col.kind == "quarter" else YEAR_ALLOWED
            c.add_mask(df, bad, spec.key, col.key, what, allowed, values=raw)
            out[f"{col.key}_year"] = y.to_numpy()
            out[col.key] = m.to_numpy()  # the sub-period's last month
        elif col.kind == "raw":
            out[col.key] = raw.to_numpy(dtype=object)
        elif col.kind == "date":
            vals, bad = _to_date(raw, blank, recorder(col.key), c.date1904)
            c.add_mask(df, bad, spec.key, col.key, "不是日期 (not a date)", "YYYY-MM-DD", values=raw)
            if year is not None:
                first, last = dt.date(year, 1, 1), grace_end(year, col.grace_months)
                late = [d is not None and not first <= d <= last for d in vals.tolist()]
                outside = ~bad & ~blank & pd.Series(late, index=vals.index, dtype=bool)
                within = f"{year} 年内 (date outside the year)"
                if col.grace_months:
                    within = (
                        f"{year} 年或次年 1-{col.grace_months} 月内 (outside the year and the next year's first months)"
                    )
                c.add_mask(
                    df,
                    outside,
                    spec.key,
                    col.key,
                    f"日期不在 {within}",
                    f"{year}-01-01 .. {last.isoformat()}",
                    values=raw,
                )
            out[col.key] = vals.to_numpy()
        elif col.kind == "yesno":
            vals, bad = _to_yesno(raw)
            c.add_mask(df, bad, spec.key, col.key, "应填 是/否 (not yes/no)", "是 / 否 (yes / no)", values=raw)
            out[col.key] = vals.to_numpy()
    return out


def grace_end(year: int, months: int = GRACE_MONTHS) -> dt.date:
    """The last day a date of ``year``'s workbook may fall on in a column with ``months`` of grace:
    the year's appraisal, its objections and the committee's star decisions are made in the next
    year's first months (SPEC 8)."""
    if months <= 0:
        return dt.date(year, 12, 31)
    first_after = dt.date(year + 1, months + 1, 1) if months < 12 else dt.date(year + 2, 1, 1)
    return first_after - dt.timedelta(days=1)


def _empty_sheet(key: str) -> pd.DataFrame:
    """A sheet's table with no rows, typed as the reader types it."""
    spec = SHEETS[key]
    raw = pd.DataFrame({col.key: pd.Series(dtype=object) for col in spec.columns} | {"row": pd.Series(dtype="int64")})
    return _convert(raw, spec, _Collector(""), None)


def _month_in_year(df: pd.DataFrame, sheet: str, column: str, year: int, c: _Collector, unit: str = "month") -> None:
    """Rows whose month (``unit`` quarter: quarter; year: year) lies outside the workbook's year."""
    y = df[f"{column}_year"]
    outside = y.notna() & (y != year)
    if unit == "month":
        problem, allowed = f"月份不在 {year} 年内 (month outside the year)", f"{year}-01 .. {year}-12"
    elif unit == "quarter":
        problem, allowed = f"季度不在 {year} 年内 (quarter outside the year)", f"{year}Q1 .. {year}Q4"
    else:
        problem, allowed = f"不是本工作簿的年度 {year} (not the workbook's year)", str(year)
    c.add_mask(
        df,
        outside,
        sheet,
        column,
        problem,
        allowed,
        values=lambda: pd.Series(
            [_sub_text(a, b, unit) for a, b in zip(df[f"{column}_year"], df[column], strict=True)], index=df.index
        ),
    )


def _item_columns(
    df: pd.DataFrame,
    raw: pd.DataFrame,
    sheet: str,
    present: bool,
    maxima: dict[str, float],
    allow_blank: bool,
    c: _Collector,
    grades: dict[str, dict[str, float]] | None = None,
    letters: list[pd.DataFrame] | None = None,
) -> list[str]:
    """Type and range-check item score columns in place (``present``: the sheet exists); returns
    the item columns the sheet has (a missing one is reported once, at the header row). An item of
    ``grades`` is entered as one of its letter grades, turned into its points; each letter read is
    appended to ``letters`` (row, item, letter, points)."""
    grades = grades or {}
    have = []
    for code, mx in maxima.items():
        if code not in raw:
            if present:  # the header row is where the column has to be added
                c.add(
                    sheet,
                    c.header_rows.get(sheet, 1),
                    code,
                    "",
                    "缺少考评项目列 (item column missing)",
                    f"{code} ({_grades_text(grades[code])})" if code in grades else f"{code} (0..{mx:g})",
                )
            df[code] = np.nan
            continue
        have.append(code)
        if code in grades:
            df[code] = _grade_column(raw, sheet, code, grades[code], allow_blank, c, letters)
            continue
        cells = _reject_booleans(raw, raw[code], sheet, code, _EXPECTED["number"], f"0..{mx:g}", c)
        blank = _is_blank(cells)
        vals, bad = _to_number(cells, blank)
        c.add_mask(raw, bad, sheet, code, "不是数字 (not a number)", f"0..{mx:g}", values=raw[code])
        out_of_range = vals.notna() & ((vals < 0) | (vals > mx))
        c.add_mask(raw, out_of_range, sheet, code, "超出分值范围 (out of range)", f"0..{mx:g}", values=raw[code])
        if not allow_blank:
            c.add_mask(raw, blank, sheet, code, "未评分 (score missing)", f"0..{mx:g}", values=raw[code])
        df[code] = vals.to_numpy()
    return have


def _grades_text(table: dict[str, float]) -> str:
    """``等次 (grade): A=20 / B+=16 / B=14``: the letters an item takes, with their points."""
    return "等次 (grade): " + " / ".join(f"{k}={v:g}" for k, v in table.items())


def _grade_key(text: str) -> str:
    """A letter grade compared as meant: full-width letters and plus signs as ASCII, no spaces, any case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).upper()


def _letters_of(values: pd.Series, table: dict[str, float]) -> tuple[pd.Series, pd.Series, np.ndarray, np.ndarray]:
    """(points, letter as the scheme spells it, a number typed, text that is no grade) for the cells
    of a graded item; blank cells are none of these. A grade spelt as in the scheme wins over one
    that matches only without case (a scheme may have both ``a`` and ``A``)."""
    lookup = {_grade_key(k): k for k in reversed(list(table))} | {k: k for k in table}
    a = values.to_numpy(dtype=object)
    letter = np.full(len(a), None, dtype=object)
    number = np.zeros(len(a), dtype=bool)
    other = np.zeros(len(a), dtype=bool)
    for i, v in enumerate(a):
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            continue
        if type(v) in (int, float):
            number[i] = True
            continue
        text = str(v).strip()
        found = lookup.get(text) or lookup.get(_grade_key(text))
        if found is not None:
            letter[i] = found
        elif re.fullmatch(r"[-+]?\d+(\.\d*)?", _grade_key(text)):
            number[i] = True  # a number typed as text is still a number
        else:
            other[i] = True
    points = pd.Series([table[x] if x is not None else np.nan for x in letter], index=values.index, dtype="float64")
    return points, pd.Series(letter, index=values.index, dtype=object), number, other


def _grade_column(
    raw: pd.DataFrame,
    sheet: str,
    code: str,
    table: dict[str, float],
    allow_blank: bool,
    c: _Collector,
    letters: list[pd.DataFrame] | None,
) -> np.ndarray:
    """The points of a graded item's column; a problem for each cell that is not one of its letters."""
    allowed = _grades_text(table)
    cells = _reject_booleans(raw, raw[code], sheet, code, "等次 (a TRUE/FALSE value is not a grade)", allowed, c)
    blank = _is_blank(cells)
    points, letter, number, other = _letters_of(cells, table)
    c.add_mask(
        raw,
        pd.Series(number, index=raw.index),
        sheet,
        code,
        "本项按等次评定, 应填等次字母而不是分数 (a graded item takes a letter grade, not a number)",
        allowed,
        values=raw[code],
    )
    c.add_mask(
        raw,
        pd.Series(other, index=raw.index),
        sheet,
        code,
        "不是本项的等次 (not a grade of this item)",
        allowed,
        values=raw[code],
    )
    if not allow_blank:
        c.add_mask(raw, blank, sheet, code, "未评分 (score missing)", allowed, values=raw[code])
    read = letter.notna().to_numpy()
    rows = raw["row"].to_numpy()
    _record_respelt(cells, letter, raw["row"], sheet, code, c)
    if letters is not None and read.any():
        letters.append(
            pd.DataFrame(
                {"row": rows[read], "item": code, "letter": letter.to_numpy()[read], "points": points.to_numpy()[read]}
            )
        )
    return points.to_numpy()


# -- the public entry point -------------------------------------------------------------------

PASSWORD_PROBLEM = (
    "工作簿设有打开密码 (已加密), 无法读取 (the workbook is password-protected (encrypted) and cannot be read)"
)
PASSWORD_FIX = (
    "在 Excel 或 WPS 中用密码打开, 在 文件 > 信息 > 保护工作簿 > 用密码进行加密 中清空密码并保存, 再运行; "
    "只保护工作表而不设打开密码则无妨 (open it with its password in Excel or WPS, clear the password under "
    "File > Info > Protect Workbook > Encrypt with Password, save, and run again; sheet protection without "
    "an open password may stay)"
)
MAX_WORKBOOK_MB = 200  # a branch's year is well under 1 MB; the 50,000-member benchmark about 60 MB
MAX_WORKBOOK_BYTES = MAX_WORKBOOK_MB * 1_000_000
WORKBOOK_KIND = "Excel、WPS 或 LibreOffice 保存的 .xlsx 工作簿 (an .xlsx workbook saved by Excel, WPS or LibreOffice)"


def _open_workbook(path: Path, c: _Collector) -> tuple[bytes, CalamineWorkbook, _Xlsx | None]:
    """The file's bytes, calamine's view of it and, for an .xlsx, its XML parts; a file that cannot
    be read at all is an InputError saying why (encrypted, empty, not a workbook)."""

    def refuse(problem: str, allowed: str = WORKBOOK_KIND) -> NoReturn:
        c.add("", "", "", "", problem, allowed, cell=path.name)
        c.raise_if_any()
        raise AssertionError("unreachable")

    try:
        # a regular file of bounded size only: a device or a pipe named *.xlsx in an inputs folder
        # would otherwise be read until memory runs out, or for ever
        if not stat.S_ISREG(path.stat().st_mode):  # before opening: opening a pipe waits for a writer
            refuse("不是普通文件 (not a regular file)")
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):  # replaced since the check
                refuse("不是普通文件 (not a regular file)")
            if st.st_size > MAX_WORKBOOK_BYTES:
                refuse(f"文件太大 (the file is too large): {st.st_size} bytes", f"不超过 {MAX_WORKBOOK_MB} MB 的工作簿")
            content = f.read(MAX_WORKBOOK_BYTES + 1)
    except OSError as exc:
        refuse(f"无法读取文件 (cannot read the file): {exc.strerror or exc}")
    if len(content) > MAX_WORKBOOK_BYTES:
        refuse("文件太大 (the file is too large)", f"不超过 {MAX_WORKBOOK_MB} MB 的工作簿")
    if not content:
        refuse("文件是空的, 0 字节 (the file is empty: 0 bytes)")
    if _encrypted(content):
        refuse(PASSWORD_PROBLEM, PASSWORD_FIX)
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
    except PasswordError:
        refuse(PASSWORD_PROBLEM, PASSWORD_FIX)
    except Exception as exc:  # calamine raises its own error types for broken files
        refuse(f"无法读取工作簿 (cannot read workbook): {exc}")
    xlsx: _Xlsx | None = None
    if content[:2] == b"PK":
        try:
            xlsx = _Xlsx(content)
        except Exception:  # not the parts of an .xlsx (an .ods): calamine's reading alone
            xlsx = None
    return content, wb, xlsx


def _read_branch(
    reader: _Reader,
    sheet: str | None,
    c: _Collector,
    key: str = "branch",
    keys: dict[str, str] = BRANCH_KEYS,
    optional: dict[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, int]]:
    """The key/value rows of the branch sheet (or the unit sheet: ``key``, ``keys``), and the Excel
    row of each key; ``optional``: keys read when present, not missed when absent."""
    branch: dict[str, Any] = {}
    branch_rows: dict[str, int] = {}
    rows = reader.rows(sheet, key) if sheet is not None else None
    if sheet is None or rows is None:
        return branch, branch_rows
    c.sheet_names[key] = sheet
    every = keys | (optional or {})
    c.letters[key] = dict.fromkeys(every, "B")
    names = {_norm(k): k for k in every} | {_norm(v): k for k, v in every.items()}
    flags = {(f.row, f.col): f for f in reader.flags.get(sheet, [])}
    for i, row in enumerate(rows):
        if len(row) < 2:
            continue
        k = _header_key(row[0], names)
        if k is None:
            continue
        branch[k], branch_rows[k] = row[1], i + 1
        flag = flags.get((i + 1, 1))
        if flag is not None:
            _flag_failure(flag, key, k, "", c)
        elif type(row[1]) is bool:
            c.add(
                key,
                i + 1,
                k,
                "TRUE" if row[1] else "FALSE",
                "逻辑值 TRUE/FALSE 不是支部信息 (a TRUE/FALSE value is not branch information)"
                if key == "branch"
                else "逻辑值 TRUE/FALSE 不是单位信息 (a TRUE/FALSE value is not unit information)",
                header_text(k, every[k]),
                settles=True,
            )
            branch[k] = ""
    for k, label in keys.items():
        if _show(branch.get(k, "")).strip() == "":
            missing = "缺少支部信息 (missing branch field)" if key == "branch" else "缺少单位信息 (missing unit field)"
            c.add(key, branch_rows.get(k, ""), k, "", missing, header_text(k, label))
    return branch, branch_rows


def read_head(
    path: Path, spec: SheetSpec, keys: dict[str, str], optional: dict[str, str] | None = None
) -> tuple[dict[str, str], str] | None:
    """The key/value fields of a workbook's branch (or unit) sheet and the SHA-256 of its bytes, read
    without the other sheets: what a batch needs to name, reuse and start a run whose notebook
    then validates the whole workbook. None at the first problem (the full read reports it).
    ``optional``: keys that may be absent ("" then); ``publicity_start`` as ``YYYY-MM-DD``."""
    c = _Collector(path.name)
    try:
        content, wb, xlsx = _open_workbook(path, c)
    except InputError:
        return None
    c.date1904 = xlsx.date1904 if xlsx is not None else False
    found, _ = _choose_sheets(wb, c, {spec.key: spec})
    head, rows = _read_branch(_Reader(wb, xlsx, c), found[spec.key], c, spec.key, keys, optional)
    fields = {k: _branch_text(head, rows, k, c, nfkc=k != "scheme", sheet=spec.key) for k in keys}
    if c.rows or not all(fields.values()):
        return None
    if optional and "publicity_start" in optional:
        if not re.fullmatch(r"\d{4}", fields.get("year", ""), re.ASCII):
            return None
        day = _publicity_start(head, rows, int(fields["year"]), c)
        if c.rows:
            return None
        fields["publicity_start"] = day.isoformat() if day is not None else ""
    return fields, hashlib.sha256(content).hexdigest()


def _branch_text(
    branch: dict[str, Any], rows: dict[str, int], key: str, c: _Collector, nfkc: bool = True, sheet: str = "branch"
) -> str:
    """A branch (or unit: ``sheet``) field as text in the form it means, the change recorded."""
    raw = branch.get(key, "")
    text = _show(raw)
    if not isinstance(raw, str) or text.isascii():
        return text.strip()
    new, why = _clean_text(text) if nfkc else (_EDGES.sub("", text), "")
    if nfkc and key == "year" and re.fullmatch(r"\d{4}\s*年度?", new):
        new, why = (
            new.rstrip("度").rstrip("年").strip(),
            " + ".join(x for x in (why, "年度写法 (year written as 2025年)") if x),
        )
    if new != text.strip():
        c.normalise(sheet, key, [rows[key]], text, new, why or "不间断空格或零宽字符 (no-break or zero-width space)")
    return new


def _scheme_failures(exc: SchemeError, ref: str, row: Any, c: _Collector, sheet: str = "branch") -> None:
    """A failure at the branch (or unit) sheet's scheme cell for each problem of the scheme it names."""
    for p in exc.problems or [SchemeProblem("", ref, exc.headline, "")]:
        if p.key:
            value = f" = {p.value}" if p.value else ""
            problem = f"积分方案 {ref} 中 {p.key}{value} 有误 (the scheme's key {p.key} is wrong): {p.problem}"
        else:
            problem = p.problem
        allowed = (
            p.allowed or "内置方案名或本工作簿所在文件夹中的 .yaml 文件 (a built-in scheme or a .yaml file beside it)"
        )
        c.add(sheet, row, "scheme", ref, problem, allowed)


def load_inputs(path: str | Path, period: Period, scheme: LoadedScheme | None = None) -> tuple[InputBook, LoadedScheme]:
    """Read and validate an input workbook for ``period``; raise one InputError with all problems.

    ``scheme``: the operator's choice (``--scheme``), else the scheme the workbook names, which
    must be a built-in one or a ``.yaml`` file in the workbook's own folder (SPEC 10)."""
    path = Path(path)
    c = _Collector(path.name)
    content, wb, xlsx = _open_workbook(path, c)
    c.date1904 = xlsx.date1904 if xlsx is not None else False
    found, absent = _choose_sheets(wb, c)
    reader = _Reader(wb, xlsx, c)

    # branch sheet: key/value rows
    branch, branch_rows = _read_branch(reader, found["branch"], c, optional=OPTIONAL_BRANCH_KEYS)
    branch_id = _branch_text(branch, branch_rows, "branch_id", c)
    if branch_id and not re.match(r"^[A-Za-z0-9_\-]+$", branch_id):
        c.add(
            "branch",
            branch_rows.get("branch_id", ""),
            "branch_id",
            branch_id,
            "支部编号只能含字母、数字、- 和 _ (invalid branch id)",
            "letters, digits, - and _, e.g. B001",
        )
    year: int | None = None
    y_raw = _branch_text(branch, branch_rows, "year", c)
    if y_raw:
        if re.match(r"^\d{4}$", y_raw, re.ASCII):
            year = int(y_raw)
            if year != period.year:
                c.add(
                    "branch",
                    branch_rows.get("year", ""),
                    "year",
                    y_raw,
                    f"工作簿年度与期间 {period.text} 不符 (year does not match the period)",
                    str(period.year),
                )
        else:
            c.add(
                "branch",
                branch_rows.get("year", ""),
                "year",
                y_raw,
                "年度应为四位数字 (year must be YYYY)",
                "e.g. 2025",
            )
    scheme_ref = _branch_text(branch, branch_rows, "scheme", c, nfkc=False)
    if scheme is None and scheme_ref:
        try:
            scheme = load_workbook_scheme(scheme_ref, path.parent)
        except SchemeError as exc:
            _scheme_failures(exc, scheme_ref, branch_rows.get("scheme", ""), c)
    if scheme is None:
        c.raise_if_any()
        raise AssertionError("unreachable")
    s = scheme.scheme
    year = year or period.year
    score_key = score_sheet_key(s)
    unit = s.cadence if s.cadence in SCORE_SHEETS else "month"  # how a sub-period is written
    period_ok = _check_cadence(s, period, scheme_ref, branch_rows.get("scheme", ""), year, c)
    item_names = {}
    for it in s.items:
        item_names[_norm(it.code)] = it.code
        item_names[_norm(it.name)] = it.code
    app_names = (
        dict(item_names)
        if s.appraisal.mode == "per_item"
        else ({_norm("score"): "score", _norm("测评分"): "score"} if s.appraisal.mode == "single" else {})
    )
    grades = graded_items(s)
    specs = dict(SHEETS) | {"amendments": _amendments_spec(s)}
    unused = unused_sheets(s)
    early_notes: list[str] = []
    if score_key is not None and score_key in absent:
        c.add(
            score_key,
            "",
            "",
            "",
            "缺少必需的工作表 (required sheet missing)",
            f"{SHEETS[score_key].label} ({score_key})"
            + ("" if s.cadence == "month" else f": 方案 {s.name} {CADENCE_WORDS[s.cadence]} (cadence: {s.cadence})"),
        )

    tables: dict[str, pd.DataFrame] = {}
    raws: dict[str, pd.DataFrame] = {}
    cells: dict[str, dict[str, tuple[str, str]]] = {}
    for key, spec in specs.items():
        if key == "branch":
            continue
        extra = item_names if spec.item_columns == "scores" else app_names if spec.item_columns == "appraisal" else {}
        sheet_name = found[key]
        if key in unused:
            if sheet_name is not None:
                _unused_sheet(reader, sheet_name, spec, extra, *unused[key], early_notes, c)
            sheet_name = None
            c.unusable.add(key)
        raw: pd.DataFrame | None = None
        if sheet_name is not None:
            rows = reader.rows(sheet_name, key)
            if rows is not None:
                raw = _raw_table(rows, reader.flags.get(sheet_name, []), sheet_name, spec, extra, c)
        if raw is None:
            raw = pd.DataFrame(
                {col.key: pd.Series(dtype=object) for col in spec.columns} | {"row": pd.Series(dtype="int64")}
            )
        raws[key] = raw
        if sheet_name is not None:
            cells[key] = {k: (sheet_name, letter) for k, letter in c.letters.get(key, {}).items()}
        tables[key] = _convert(raw, spec, c, year)

    def usable(key: str, *columns: str) -> bool:
        """The sheet was read and has these columns: checks that need it can run."""
        return key not in c.unusable and all(col in c.present.get(key, set()) for col in columns)

    members = tables["members"]
    _check_members(members, raws["members"], s, year, period, c)
    # without the members' ids every row elsewhere would be an "unknown member": the cause (a
    # missing sheet or column) is reported once and the checks that need the ids are skipped
    known: set[Any] | None = set(members["member_id"].dropna()) if usable("members", "member_id") else None
    active = _active_months(members, year)
    if known is not None and members.empty:
        first_row = c.header_rows.get("members", 1) + 1
        c.add(
            "members",
            first_row,
            "member_id",
            "",
            "党员名单中没有党员, 无人可评分 (the members sheet lists no member: there is no one to score)",
            f"每名党员一行, 从第 {first_row} 行起 (one row per member, from row {first_row})",
        )

    # the item scores (and, for a monthly scheme, the self-scores beside them): ``at`` is the
    # table's column holding each row's last month, ``shown`` the sheet's column naming the row
    letters: list[pd.DataFrame] = []
    score_sheets = [k for k in (score_key, "self_scores") if k is not None and k not in unused]
    maxima = {i.code: i.max for i in s.items}
    for key in score_sheets:
        at, shown = _score_columns(key)
        t = tables[key]
        if at == "month" and key == "annual_scores":  # one row per member: the year is the sub-period
            t["month_year"], t["month"] = float(year), 12.0
        else:
            _month_in_year(t, key, at, year, c, unit)
        _item_columns(
            t, raws[key], key, key not in c.unusable, maxima, key == "self_scores", c, grades,
            letters if key == score_key else None,
        )  # fmt: skip
        _unknown_member(t, key, known, c)
        _duplicates(
            _of_year(t, year, at), ["member_id"] if key == "annual_scores" else ["member_id", at], key, shown, c, unit
        )
    if score_key is not None:
        at, shown = _score_columns(score_key)
        ms_all = tables[score_key]
        if (
            known is not None
            and period_ok
            and usable(score_key, "member_id", shown)
            and not c.settled_in(ms_all, score_key, "member_id").any()
        ):
            # a row whose sub-period could not be read may be the one that looks missing: its
            # member's sub-periods are checked once the cell is fixed
            unsure = set(ms_all.loc[c.settled_in(ms_all, score_key, shown), "member_id"].dropna())
            _check_monthly_coverage(
                _of_year(ms_all, year, at), members, active[~active["member_id"].isin(unsure)], period, c,
                score_key, at, unit,
            )  # fmt: skip
    if known is not None and "self_scores" in score_sheets:
        _check_scores_outside_membership(tables["self_scores"], active, "self_scores", c, period)

    appraisal = tables["appraisal"]
    if s.appraisal.mode != "none":
        maxima = (
            {i.code: i.max for i in s.items}
            if s.appraisal.mode == "per_item"
            else {"score": float(s.appraisal.max or 0)}
        )
        have = _item_columns(appraisal, raws["appraisal"], "appraisal", "appraisal" not in c.unusable, maxima, True, c)
        _unknown_member(appraisal, "appraisal", known, c)
        _duplicates(appraisal, ["ballot_no", "member_id"], "appraisal", "member_id", c)
        if period.kind == "year":
            if "appraisal" in absent:
                c.add(
                    "appraisal",
                    "",
                    "",
                    "",
                    "年度评分需要民主测评表 (appraisal sheet needed for a year)",
                    "民主测评 (appraisal)",
                )
            elif known is not None and usable("appraisal", "member_id") and have:
                # a rating that could not be read is reported where it is, not as a missing rater
                counted = appraisal.copy()
                for col in have:
                    counted.loc[c.settled_in(appraisal, "appraisal", col), col] = 0.0
                _check_raters(counted, members, have, s.appraisal.min_raters, c)

    _check_adjustments(tables["adjustments"], s, known, c)
    _check_vetoes(tables["vetoes"], s, known, active, c)
    score_table = tables[score_key] if score_key is not None else tables["monthly_scores"]
    if score_key is not None:
        at, shown = _score_columns(score_key)
        score_table = score_table.rename(columns={at: "month", f"{at}_year": "month_year"})
    _check_amendments(
        tables["amendments"],
        score_table,
        s,
        known,
        score_key is not None and usable(score_key, "member_id", _score_columns(score_key)[1]),
        year,
        c,
        score_key or "monthly_scores",
        unit,
    )
    _check_activities(tables["activities"], tables["attendance"], c)
    _unknown_member(tables["attendance"], "attendance", known, c)
    _unknown_member(tables["dues"], "dues", known, c)
    _month_in_year(tables["dues"], "dues", "month", year, c)
    _duplicates(_of_year(tables["dues"], year), ["member_id", "month"], "dues", "month", c)
    outcomes = _check_follow_up_outcomes(tables["follow_up_outcomes"], known, year, c)
    publicity_start = _publicity_start(branch, branch_rows, year, c)
    _check_star_decisions(tables["star_decisions"], members, s, known, c)
    _check_objections(
        tables["objections"],
        raws["objections"],
        tables["amendments"],
        usable("amendments", "member_id") or "amendments" in absent,
        tables["star_decisions"],
        known,
        c,
    )

    c.raise_if_any()

    notes: list[str] = list(early_notes)
    ms = _score_rows(_of_year(score_table, year), s)
    label = SHEETS[score_key].label if score_key is not None else ""
    exempt_ids = set(members.loc[members["exempt"], "member_id"])
    n_exempt_rows = int(ms["member_id"].isin(exempt_ids).sum())
    if n_exempt_rows:
        notes.append(f"不列入积分的党员有 {n_exempt_rows} 行{label}, 不计分 (rows of exempt members are not scored)")
    later = int((ms["month"] > period.last_month).sum())
    if later:
        notes.append(f"{later} 行{label}晚于期间 {period.text}, 本次不计 (rows after the period are not used)")
    letter_rows = (
        pd.concat(letters, ignore_index=True).merge(ms[["row", "member_id", "month"]], on="row")[LETTER_COLUMNS]
        if letters
        else pd.DataFrame(columns=LETTER_COLUMNS)
    )
    if score_key is not None and score_key in cells:
        at, shown = _score_columns(score_key)
        own = cells[score_key]
        if shown in own:
            own.setdefault("month", own[shown])  # the cell naming the row's sub-period
        cells.setdefault("monthly_scores", own)  # ``monthly`` holds this sheet's rows

    members = members.assign(joined_month=active["first"].to_numpy(), left_month=active["last"].to_numpy())
    book = InputBook(
        path=path.resolve(),
        sha256=hashlib.sha256(content).hexdigest(),
        branch_id=branch_id,
        branch_name=_show(branch.get("branch_name", "")).strip(),
        scheme_ref=scheme_ref,
        year=year,
        members=members,
        monthly=ms,
        self_scores=tables["self_scores"],
        appraisal=appraisal,
        adjustments=tables["adjustments"],
        vetoes=tables["vetoes"],
        amendments=tables["amendments"],
        attendance=tables["attendance"],
        dues=tables["dues"],
        objections=tables["objections"],
        star_decisions=tables["star_decisions"],
        notes=notes,
        cells=cells,
        normalised=pd.DataFrame(c.normalised, columns=NORMALISED_COLUMNS),
        score_sheet=score_key or "monthly_scores",
        letters=letter_rows,
        follow_up_outcomes=outcomes,
        publicity_start=publicity_start,
        activities=tables["activities"],
    )
    return book, scheme


# -- checks -----------------------------------------------------------------------------------


MEMBER_ID_PATTERN = r"[A-Za-z0-9_\-]*[A-Za-z][A-Za-z0-9_\-]*"


def _of_year(df: pd.DataFrame, year: int, column: str = "month") -> pd.DataFrame:
    """Rows whose month (or quarter) lies in ``year`` (rows of other years are reported on their own)."""
    return df[df[f"{column}_year"] == year]


def _score_columns(key: str) -> tuple[str, str]:
    """For a score sheet: the table's column holding each row's last month, and the sheet's column
    that names the row's sub-period (the member id where one row covers the year)."""
    if key == "quarterly_scores":
        return "quarter", "quarter"
    if key == "annual_scores":
        return "month", "member_id"
    return "month", "month"


def _score_rows(ms: pd.DataFrame, s: Scheme) -> pd.DataFrame:
    """The score rows as ``InputBook.monthly`` holds them, whatever sheet they came from."""
    order = ["row", "member_id", "month_year", "month", "note", *s.item_codes]
    ms = ms.reset_index(drop=True)
    return ms if list(ms.columns) == order else ms[[c for c in order if c in ms.columns]]


def empty_tables(s: Scheme, year: int) -> dict[str, pd.DataFrame]:
    """Each input sheet's table with no rows, typed as the reader types them: the sheets a subject
    without them (a branch, SPEC 3.9) leaves empty."""
    specs = dict(SHEETS) | {"amendments": _amendments_spec(s)}
    c = _Collector("")
    out = {}
    for key, spec in specs.items():
        raw = pd.DataFrame(
            {col.key: pd.Series(dtype=object) for col in spec.columns} | {"row": pd.Series(dtype="int64")}
        )
        out[key] = _convert(raw, spec, c, year)
    return out


# how the reader words a period shorter than the scheme's cadence; a batch or a roll-up leaves such
# a branch out of that period instead of reporting bad input (a yearly scheme has no quarters)
SHORTER_THAN_CADENCE = "shorter than the scheme's cadence"


def period_not_formed(exc: InputError) -> bool:
    """Whether ``exc`` says only that the scheme cannot form the run's period (SPEC 4)."""
    problems = exc.failures["problem"].astype(str) if len(exc.failures) else pd.Series(dtype=str)
    return bool(len(problems)) and bool(problems.str.contains(SHORTER_THAN_CADENCE, regex=False).all())


def _check_cadence(s: Scheme, period: Period, ref: str, row: Any, year: int, c: _Collector) -> bool:
    """A period shorter than the scheme's cadence cannot be formed (SPEC 4): a month of a quarterly
    scheme, a quarter of a yearly one. A problem at the branch sheet's scheme cell naming the periods
    that can; False then."""
    if SPAN_MONTHS[period.kind] >= s.shortest_months:
        return True
    forms = {
        "month": f"{year}-01 .. {year}-12 (月度)",
        "quarter": f"{year}Q1 .. {year}Q4 (季度)",
        "half": f"{year}H1, {year}H2 (半年)",
        "year": f"{year} (年度)",
    }
    allowed = [forms[k] for k in forms if SPAN_MONTHS[k] >= s.shortest_months]
    c.add(
        "branch",
        row,
        "scheme",
        ref or s.name,
        f"方案 {s.name} {CADENCE_WORDS[s.cadence]} (cadence: {s.cadence}), {KIND_LABELS[period.kind]}期间 "
        f"{period.text} 短于评分周期, 无法计算 (a {period.kind} is {SHORTER_THAN_CADENCE})",
        "可计算的期间 (periods allowed): " + "; ".join(allowed),
    )
    return False


def _unused_sheet(
    reader: _Reader,
    name: str,
    spec: SheetSpec,
    item_names: dict[str, str],
    why: str,
    allowed: str,
    notes: list[str],
    c: _Collector,
) -> None:
    """A sheet the scheme does not use (:func:`unused_sheets`): refused when it holds rows, which
    would otherwise be ignored without a word; an empty one (a copied template) only noted."""
    rows = reader.rows(name, spec.key)
    if rows is None:
        return  # reported as unreadable
    names = {_norm(col.key): col.key for col in spec.columns} | {_norm(col.label): col.key for col in spec.columns}
    names |= item_names
    filled = [i for i, r in enumerate(rows) if r and not _blank_array(np.array(r, dtype=object)).all()]
    header = next(
        (
            i
            for i in filled[:10]
            if sum(_header_key(v, names) is not None for v in rows[i]) >= min(2, len(spec.columns))
        ),
        None,
    )
    data = [i for i in filled if header is None or i > header]
    if not data:
        notes.append(f"工作表 {name!r} 为空, 本方案不使用, 已忽略 (an empty sheet the scheme does not use)")
        return
    c.add(
        spec.key,
        "",
        "",
        f"{len(data)} 行 (rows)",
        why,
        allowed,
        cell=name,
    )


def _check_members(m: pd.DataFrame, raw: pd.DataFrame, s: Scheme, year: int, period: Period, c: _Collector) -> None:
    _duplicates(m, ["member_id"], "members", "member_id", c)
    # the results workbook matches members with COUNTIFS/SUMIFS, where * ? ~ < > = are patterns
    # and an all-digit id is a number ("001" = 1): ids are kept to what matches only itself
    ids = m["member_id"].astype("string")
    odd = m["member_id"].notna() & ~ids.str.fullmatch(MEMBER_ID_PATTERN).fillna(False).astype(bool)
    c.add_mask(
        m,
        odd,
        "members",
        "member_id",
        "党员编号只能含字母、数字、- 和 _, 且至少有一个字母 (invalid member id)",
        "letters, digits, - and _, at least one letter, e.g. M0001",
    )
    m["role"] = m["role"].map(lambda v: ROLES.get(str(v), "member") if pd.notna(v) else "member")
    for col in ("joined", "left"):
        y = m[f"{col}_year"]
        late = y.notna() & (y > year)
        early = y.notna() & (y < year)
        if col == "joined":
            c.add_mask(
                m,
                late,
                "members",
                col,
                f"转入月份晚于 {year} 年 (joined after the year)",
                f"<= {year}-12",
                values=raw[col].to_numpy(),
            )
        else:
            c.add_mask(
                m,
                early,
                "members",
                col,
                f"转出月份早于 {year} 年 (left before the year)",
                f">= {year}-01",
                values=raw[col].to_numpy(),
            )
    first = np.where(m["joined_year"] < year, 1, m["joined"].fillna(1))
    last = np.where(m["left_year"] > year, 12, m["left"].fillna(12))
    backwards = pd.Series(first > last, index=m.index) & m["joined"].notna() & m["left"].notna()
    c.add_mask(
        m,
        backwards,
        "members",
        "left",
        "转出月份早于转入月份 (left before joined)",
        "left >= joined",
        values=raw["left"].to_numpy(),
    )
    stars_given = m["exempt_stars"].notna()
    if s.has_stars:
        # the scheme's own star range: a copied scheme may start above 0 stars
        star_counts = [b.stars for b in s.bands if b.stars is not None]
        min_stars, max_stars = min(star_counts), max(star_counts)
        need = m["exempt"] & ~stars_given
        c.add_mask(
            m,
            need,
            "members",
            "exempt_stars",
            "不列入积分的党员须直接评定星级 (exempt member needs hand-entered stars)",
            f"{min_stars}..{max_stars}",
            values="",
        )
        out_of_range = stars_given & m["exempt"] & ((m["exempt_stars"] < min_stars) | (m["exempt_stars"] > max_stars))
        c.add_mask(
            m,
            out_of_range,
            "members",
            "exempt_stars",
            "星级超出本方案的范围 (stars outside the scheme's range)",
            f"{min_stars}..{max_stars}",
        )
        # stars are entered only for exempt members; for anyone else they would be silently ignored
        c.add_mask(
            m,
            stars_given & ~m["exempt"],
            "members",
            "exempt_stars",
            "只有不列入积分的党员才直接评定星级 (stars are entered only for exempt members)",
            "留空, 或在 不列入积分 (exempt) 填 是 (blank, or set exempt to yes)",
        )
    else:
        c.add_mask(
            m,
            stars_given,
            "members",
            "exempt_stars",
            f"方案 {s.name} 不评星级, 直接评定星级不会被使用 "
            f"(scheme {s.name} has no stars: the value would be ignored)",
            "留空 (blank)",
        )


# -- activities and attendance (SPEC 4, 8) ----------------------------------------------------


def _no_activities() -> pd.DataFrame:
    """The ``activities`` table of a workbook without that sheet, typed as the reader types it."""
    return pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "date": pd.Series(dtype=object),
            "activity": pd.Series(dtype="string"),
            "kind": pd.Series(dtype="string"),
        }
    )


def _check_activities(acts: pd.DataFrame, att: pd.DataFrame, c: _Collector) -> None:
    """One row per activity held; one attendance row per member and activity; and, when the
    activities sheet lists any, every attendance row names one of them (date and name): the
    activities sheet is then what was held, and a sign-in for anything else is a typing error."""
    _duplicates(acts, ["date", "activity"], "activities", "activity", c)
    _duplicates(att, ["date", "activity", "member_id"], "attendance", "member_id", c)
    listed = acts.dropna(subset=["date", "activity"])
    if listed.empty or "activities" in c.unusable:
        return
    held = set(zip(listed["date"], listed["activity"], strict=True))
    on_date: dict[Any, list[str]] = {}
    for d, a in zip(listed["date"], listed["activity"], strict=True):
        on_date.setdefault(d, []).append(str(a))
    named = att.dropna(subset=["date", "activity"])
    for r, d, a in zip(named["row"], named["date"], named["activity"], strict=True):
        if (d, a) in held:
            continue
        same_day = on_date.get(d)
        allowed = (
            f"活动安排 (activities) 中 {d.isoformat()} 的活动: {' / '.join(same_day)}"
            if same_day
            else "活动安排 (activities) 中已有的 日期 + 活动; 或在活动安排中补上该活动 "
            "(an activity of the activities sheet, or add it there)"
        )
        c.add(
            "attendance",
            int(r),
            "activity",
            a,
            f"活动安排中没有 {d.isoformat()} 的「{a}」 (no such activity on that date in the activities sheet)",
            allowed,
        )


def _active_months(m: pd.DataFrame, year: int) -> pd.DataFrame:
    first = np.where(m["joined_year"].fillna(year) < year, 1, m["joined"].fillna(1)).astype(int)
    last = np.where(m["left_year"].fillna(year) > year, 12, m["left"].fillna(12)).astype(int)
    return pd.DataFrame(
        {"member_id": m["member_id"].to_numpy(), "first": first, "last": last, "exempt": m["exempt"].to_numpy()}
    )


def _unknown_member(df: pd.DataFrame, sheet: str, known: set[Any] | None, c: _Collector) -> None:
    if known is None:  # the members' ids could not be read: reported once, as the cause
        return
    bad = df["member_id"].notna() & ~df["member_id"].isin(known)
    c.add_mask(df, bad, sheet, "member_id", "党员名单中没有此编号 (unknown member)", "a member_id of the members sheet")


def _duplicates(df: pd.DataFrame, keys: list[str], sheet: str, column: str, c: _Collector, unit: str = "month") -> None:
    """One problem per repeated row; a key with a ``<key>_year`` column is shown as its ``unit``
    (``2025-03``, ``2025Q1``, ``2025``)."""
    sub = df.dropna(subset=keys)
    dup = sub.duplicated(subset=keys, keep="first")
    if not dup.any():
        return
    first_rows = sub.drop_duplicates(subset=keys, keep="first").set_index(keys)["row"]
    for _, r in sub.loc[dup].iterrows():
        key = tuple(r[k] for k in keys)
        first = first_rows.loc[key if len(keys) > 1 else key[0]]
        shown = " / ".join(
            _sub_text(r[f"{name}_year"], k, unit) if f"{name}_year" in r else _show(k)
            for name, k in zip(keys, key, strict=True)
        )
        c.add(
            sheet,
            int(r["row"]),
            column,
            shown,
            f"重复, 与第 {int(first)} 行相同 (duplicate of row {int(first)})",
            f"one row per {' + '.join(keys)}",
        )


def _check_monthly_coverage(
    ms: pd.DataFrame,
    members: pd.DataFrame,
    active: pd.DataFrame,
    period: Period,
    c: _Collector,
    sheet: str = "monthly_scores",
    at: str = "month",
    unit: str = "month",
) -> None:
    """Every member in the branch during a sub-period (a month, a quarter, the year: any month of it)
    that ends by the period's end has a row in ``sheet``; ``at`` is the column of each row's last month."""
    _check_scores_outside_membership(ms, active, sheet, c, period, at, unit)
    need = active.loc[~active["exempt"]]
    if need.empty:
        return
    span = SPAN_MONTHS[unit]
    ends = np.arange(span, 13, span)
    grid = need.loc[need.index.repeat(len(ends))].assign(month=np.tile(ends, len(need)))
    grid = grid[
        (grid["month"] >= grid["first"])
        & (grid["month"] - span + 1 <= grid["last"])
        & (grid["month"] <= period.last_month)
    ]
    have = ms[["member_id", at]].rename(columns={at: "month"}).dropna().drop_duplicates()
    merged = grid.merge(have.assign(_have=True), on=["member_id", "month"], how="left")
    missing = merged[merged["_have"].isna()]
    if missing.empty:
        return
    # A missing month has no row of its own in monthly_scores; the cell a user can act on is the
    # member's row in the members sheet (the member to add rows for, or whose joined/left is wrong).
    member_rows = members.drop_duplicates("member_id").set_index("member_id")["row"]
    label = SHEETS[sheet].label
    for mid, grp in missing.groupby("member_id", sort=True):
        listed = ", ".join(_sub_text(period.year, mo, unit) for mo in grp["month"])
        if unit == "month":
            problem = (
                f"{label}表缺少党员 {mid} 这些月份的评分: {listed} "
                f"({sheet} has no row for this member in these months: {listed})"
            )
            allowed = (
                f"在 {label} ({sheet}) 中为该党员在支部的每个月各填一行, 直到 {period.text}; 或改正 转入/转出月份 "
                f"(one row per month the member was in the branch, up to {period.text}; or correct joined / left)"
            )
        elif unit == "quarter":
            problem = (
                f"{label}表缺少党员 {mid} 这些季度的评分: {listed} "
                f"({sheet} has no row for this member in these quarters: {listed})"
            )
            allowed = (
                f"在 {label} ({sheet}) 中为该党员在支部的每个季度 (季度内任一月在支部即算) 各填一行, 直到 "
                f"{period.text}; 或改正 转入/转出月份 (one row per quarter the member was in the branch for any "
                f"part of it, up to {period.text}; or correct joined / left)"
            )
        else:
            problem = f"{label}表缺少党员 {mid} 的评分 ({sheet} has no row for this member)"
            allowed = (
                f"在 {label} ({sheet}) 中为该党员填一行; 或改正 转入/转出月份 "
                f"(one row per member in the branch during the year; or correct joined / left)"
            )
        c.add("members", int(member_rows.loc[mid]), "member_id", mid, problem, allowed)


def _check_scores_outside_membership(
    ms: pd.DataFrame,
    active: pd.DataFrame,
    sheet: str,
    c: _Collector,
    period: Period,
    at: str = "month",
    unit: str = "month",
) -> None:
    """Rows for a sub-period in which the member was not in the branch at all."""
    span = SPAN_MONTHS[unit]
    merged = ms.merge(active, on="member_id", how="inner")
    end = merged[at]
    outside = end.notna() & ((end < merged["first"]) | (end - span + 1 > merged["last"]))
    if outside.any():
        bad = merged.loc[outside]
        what = {"month": "该月", "quarter": "该季度", "year": "本年"}[unit]
        words = {"month": "that month", "quarter": "that quarter", "year": "this year"}[unit]
        column = _score_columns(sheet)[1]
        for r, mid, mo, f, last in zip(bad["row"], bad["member_id"], bad[at], bad["first"], bad["last"], strict=True):
            # the sub-periods he was in: from the one holding his first month to the one holding his last
            lo, hi = (int(f) + span - 1) // span * span, (int(last) + span - 1) // span * span
            c.add(
                sheet,
                int(r),
                column,
                _sub_text(period.year, mo, unit),
                f"党员 {mid} {what}不在本支部 (member not in the branch {words})",
                f"{_sub_text(period.year, lo, unit)} .. {_sub_text(period.year, hi, unit)}",
            )


def _check_raters(app: pd.DataFrame, members: pd.DataFrame, cols: list[str], min_raters: int, c: _Collector) -> None:
    """One problem per member rated by too few raters, at the member's row in the members sheet:
    the missing ballots have no row of their own, and a member with no ballot at all has none."""
    scored = members.loc[~members["exempt"], ["member_id", "row"]].drop_duplicates("member_id")
    counts = app.groupby("member_id")[cols].count().reindex(scored["member_id"]).fillna(0).astype(int).to_numpy()
    short = counts < min_raters
    member_ids, member_rows = scored["member_id"].to_numpy(), scored["row"].to_numpy()
    for i in np.nonzero(short.any(axis=1))[0]:  # members in list order
        mid, mrow = member_ids[i], int(member_rows[i])
        few = [(cols[j], int(counts[i, j])) for j in np.nonzero(short[i])[0]]
        listed = ", ".join(f"{col} {n} 人" for col, n in few)
        c.add(
            "members",
            mrow,
            "member_id",
            mid,
            f"党员 {mid} 的民主测评人数不足 (too few raters): {listed}",
            f"每名党员每项至少 {min_raters} 人测评, 在 民主测评 (appraisal) 中补足选票 "
            f"(>= {min_raters} ratings per member and item in the appraisal sheet)",
        )


def _check_adjustments(adj: pd.DataFrame, s: Scheme, known: set[Any] | None, c: _Collector) -> None:
    _unknown_member(adj, "adjustments", known, c)
    rules = s.rules_by_code
    unknown = adj["rule_code"].notna() & ~adj["rule_code"].isin(list(rules))
    c.add_mask(
        adj,
        unknown,
        "adjustments",
        "rule_code",
        "加减分目录中没有此代码 (unknown rule code)",
        ", ".join(rules) or "(scheme has no adjustments)",
    )
    for _, r in adj.loc[adj["rule_code"].isin(list(rules)) & adj["points"].notna()].iterrows():
        rule = rules[r["rule_code"]]
        p = float(r["points"])
        sign_ok = p > 0 if rule.kind == "bonus" else p < 0
        if not sign_ok or abs(p) > rule.limit + 1e-9:
            sign = "+" if rule.kind == "bonus" else "-"
            allowed = f"{sign}0 .. {sign}{rule.limit:g} (blank = {rule.signed_points:+g})"
            c.add(
                "adjustments",
                int(r["row"]),
                "points",
                p,
                f"分值与 {rule.code} ({rule.name}) 不符 (points do not fit the rule)",
                allowed,
            )


def _check_vetoes(v: pd.DataFrame, s: Scheme, known: set[Any] | None, active: pd.DataFrame, c: _Collector) -> None:
    _unknown_member(v, "vetoes", known, c)
    conds = s.conditions_by_key
    bad = v["condition"].notna() & ~v["condition"].isin(list(conds))
    c.add_mask(
        v,
        bad,
        "vetoes",
        "condition",
        "不是本方案的否决情形 (not a veto condition of the scheme)",
        " / ".join(f"{x.code} {x.name}" for x in s.veto.conditions)
        or f"方案 {s.name} 不设一票否决, 本表应为空 (the scheme has no veto: leave the sheet empty)",
    )
    if s.veto.requires_majority:
        c.add_mask(
            v,
            v["votes_for"].isna(),
            "vetoes",
            "votes_for",
            "须填写举手表决的赞成票数 (votes needed: vetoes are decided by a show of hands)",
            "whole number >= 0",
        )
        c.add_mask(
            v,
            v["votes_against"].isna(),
            "vetoes",
            "votes_against",
            "须填写反对票数 (votes needed)",
            "whole number >= 0",
        )
    if known is None:  # no members read: no count of members to compare the votes with
        return
    n_members = _members_on(v, active)
    over = (v["votes_for"].fillna(0) + v["votes_against"].fillna(0)) > n_members
    c.add_mask(
        v,
        over & v["date"].notna(),
        "vetoes",
        "votes_for",
        "票数多于当月支部党员人数 (more votes than members)",
        "votes_for + votes_against <= members in the branch that month",
        values=lambda: (v["votes_for"].fillna(0) + v["votes_against"].fillna(0)).astype(int),
    )


def _members_on(v: pd.DataFrame, active: pd.DataFrame) -> pd.Series:
    """Members in the branch in the month of each row's ``date``."""
    months = v["date"].map(lambda d: d.month if d is not None and not pd.isna(d) else 0).to_numpy(dtype=np.int64)
    counts = active_counts(active["first"].to_numpy(), active["last"].to_numpy())
    return pd.Series(np.where(months > 0, counts[months], 0), index=v.index)


def _check_amendments(
    a: pd.DataFrame,
    ms: pd.DataFrame,
    s: Scheme,
    known: set[Any] | None,
    ms_read: bool,
    year: int,
    c: _Collector,
    score_sheet: str = "monthly_scores",
    unit: str = "month",
) -> None:
    """Amendments name a member, a sub-period (``month``: the month, the quarter or the year, as the
    scheme's cadence says) and an item of a row of ``ms`` (the score sheet's rows, ``month`` their
    last month); ``new_score`` is a number in the item's range, or one of its letters for a graded item."""
    _unknown_member(a, "amendments", known, c)
    _month_in_year(a, "amendments", "month", year, c, unit)
    items = {i.code: i for i in s.items} | {i.name: i for i in s.items}
    bad_item = a["item"].notna() & ~a["item"].isin(list(items))
    c.add_mask(a, bad_item, "amendments", "item", "不是本方案的考评项目 (unknown item)", ", ".join(s.item_codes))
    a["item"] = a["item"].map(lambda v: items[v].code if v in items else v)
    _amended_scores(a, s, c)
    mx = a["item"].map(lambda v: items[v].max if v in items and not items[v].grades else np.nan)
    out_of_range = a["new_score"].notna() & mx.notna() & ((a["new_score"] < 0) | (a["new_score"] > mx))
    c.add_mask(a, out_of_range, "amendments", "new_score", "超出分值范围 (out of range)", "0..item maximum")
    if known is None or not ms_read:  # nothing to point at: the cause is reported once
        _duplicates(a, ["member_id", "month", "item"], "amendments", "item", c, unit)
        return
    have = (
        ms[["member_id", "month", "row"]].dropna(subset=["member_id", "month"]).drop_duplicates(["member_id", "month"])
    )
    merged = a.merge(have.rename(columns={"row": "target_row"}), on=["member_id", "month"], how="left")
    dangling = merged["target_row"].isna() & a["member_id"].isin(known).to_numpy() & a["month"].notna().to_numpy()
    dangling.index = a.index
    label = SHEETS[score_sheet].label
    which = {"month": "monthly", "quarter": "quarterly", "year": "annual"}[unit]
    where = {"month": "a member and month", "quarter": "a member and quarter", "year": "a member"}[unit]
    c.add_mask(
        a,
        dangling,
        "amendments",
        "month",
        f"更正指向的{label}不存在 (amendment points at no {which} score)",
        f"{where} that have a row in {score_sheet}",
        values=lambda: (
            a["member_id"].astype(str)
            + " "
            + pd.Series(
                [_sub_text(y, m, unit) for y, m in zip(a["month_year"], a["month"], strict=True)], index=a.index
            )
        ),
    )
    _duplicates(a, ["member_id", "month", "item"], "amendments", "item", c, unit)


def _amended_scores(a: pd.DataFrame, s: Scheme, c: _Collector) -> None:
    """``new_score`` as points, and ``new_letter``: the letter typed for a graded item (else None).
    Without graded items the column was read as a number already."""
    grades = graded_items(s)
    a["new_letter"] = pd.Series(pd.NA, index=a.index, dtype=object)
    if not grades:
        a["new_letter"] = a["new_letter"].astype("string")
        return
    typed = a["new_score"]
    points = pd.Series(np.nan, index=a.index, dtype="float64")
    for code, table in grades.items():
        sel = (a["item"] == code).to_numpy()
        if not sel.any():
            continue
        part = a.loc[sel]
        p, letter, number, other = _letters_of(typed[sel], table)
        allowed = _grades_text(table)
        c.add_mask(
            part,
            pd.Series(number, index=part.index),
            "amendments",
            "new_score",
            f"{code} 按等次评定, 应填等次字母而不是分数 (a graded item takes a letter grade, not a number)",
            allowed,
            values=typed[sel],
        )
        c.add_mask(
            part,
            pd.Series(other, index=part.index),
            "amendments",
            "new_score",
            f"不是 {code} 的等次 (not a grade of this item)",
            allowed,
            values=typed[sel],
        )
        _record_respelt(typed[sel], letter, part["row"], "amendments", "new_score", c)
        points[sel] = p.to_numpy()
        a.loc[sel, "new_letter"] = letter.to_numpy()
    plain = ~a["item"].isin(list(grades))
    numbers, bad = _to_number(typed.where(plain, None))
    known_item = a["item"].isin(s.item_codes)
    c.add_mask(a, bad & plain & known_item, "amendments", "new_score", "不是数字 (not a number)", "数字 number")
    a["new_score"] = points.where(~plain, numbers)
    a["new_letter"] = a["new_letter"].astype("string")


def _record_respelt(
    typed: pd.Series, letter: pd.Series, rows: pd.Series, sheet: str, column: str, c: _Collector
) -> None:
    """Record each letter grade typed in another spelling than the scheme's (``b+``, ``Ｂ＋``)."""
    respelt: dict[tuple[str, str], list[int]] = {}
    for v, found, r in zip(typed.to_numpy(dtype=object), letter.to_numpy(dtype=object), rows.to_numpy(), strict=True):
        if found is not None and str(v).strip() != found:
            respelt.setdefault((str(v), str(found)), []).append(int(r))
    for (value, canonical), where in respelt.items():
        c.normalise(sheet, column, where, value, canonical, "等次写法 (grade written another way)")


# -- follow-up cases (SPEC 8) -----------------------------------------------------------------


def _check_follow_up_outcomes(f: pd.DataFrame, known: set[Any] | None, year: int, c: _Collector) -> pd.DataFrame:
    """The follow_up_outcomes rows checked on their own (the register of earlier runs is checked
    by :func:`check_outcomes_against`): a known member, a case of an earlier year, an outcome that
    fits its action, one decision per case and day. ``case_year`` becomes an ``Int64`` column."""
    sheet = "follow_up_outcomes"
    _unknown_member(f, sheet, known, c)
    later = f["case_year"].notna() & (f["case_year"] >= year)
    c.add_mask(
        f,
        later,
        sheet,
        "case_year",
        f"帮教案件应是 {year} 年以前的年度评议所开 (a case is opened by an earlier year's grade)",
        f"早于 {year} 的年度, 如 {year - 1} (an earlier year)",
    )
    # 明显转变 closes the case (结案); 无明显转变 goes with any other action
    changed = f["outcome"] == OUTCOMES[0]
    unchanged = f["outcome"] == OUTCOMES[1]
    closed = f["action"] == ACTIONS[0]
    known_action = f["action"].isin(ACTIONS)
    c.add_mask(
        f,
        changed & known_action & ~closed,
        sheet,
        "action",
        f"帮教结论为 {OUTCOMES[0]} 时只能 {ACTIONS[0]} (a marked change closes the case)",
        ACTIONS[0],
    )
    c.add_mask(
        f,
        unchanged & closed,
        sheet,
        "action",
        f"帮教结论为 {OUTCOMES[1]} 时不能 {ACTIONS[0]} (no marked change: the case is not closed)",
        " / ".join(ACTIONS[1:]),
    )
    keyed = f.assign(case_year=f["case_year"].astype("float64"))
    _duplicates(keyed, ["member_id", "case_year", "decided_on"], sheet, "decided_on", c)
    out = f.copy()
    out["case_year"] = pd.array([int(v) if pd.notna(v) else pd.NA for v in f["case_year"].tolist()], dtype="Int64")
    return out


def _publicity_start(branch: dict[str, Any], rows: dict[str, int], year: int, c: _Collector) -> dt.date | None:
    """The branch sheet's 公示开始日期, if given: a date in the workbook's year or the next (the
    year's 公示 follows the year-end appraisal)."""
    raw = branch.get("publicity_start")
    if raw is None or _show(raw).strip() == "":
        return None
    values, bad = _to_date(pd.Series([raw], dtype=object), date1904=c.date1904)
    day = values.iloc[0]
    allowed = f"YYYY-MM-DD, {year}-01-01 .. {year + 1}-12-31"
    if bool(bad.iloc[0]) or day is None:
        c.add("branch", rows.get("publicity_start", ""), "publicity_start", raw, "不是日期 (not a date)", allowed)
        return None
    if not year <= day.year <= year + 1:
        c.add(
            "branch",
            rows.get("publicity_start", ""),
            "publicity_start",
            raw,
            f"公示开始日期应在 {year} 年或 {year + 1} 年 (the 公示 of the year starts in it or the next)",
            allowed,
        )
        return None
    return day  # type: ignore[no-any-return]  # a date: _to_date's values are dates or None


def check_outcomes_against(book: InputBook, cases: pd.DataFrame, source: str = "") -> None:
    """Raise one InputError for every follow_up_outcomes row that names no open case of the
    register ``cases`` (prior.CASE_COLUMNS: what the earlier year's sealed run left), or a case an
    earlier row of the sheet already closed. ``source``: the run the register came from, named in
    the message ("" when there is none)."""
    f = book.follow_up_outcomes
    if f.empty:
        return
    c = _Collector(book.path.name)
    own = book.cells.get("follow_up_outcomes", {})
    if own:
        c.sheet_names["follow_up_outcomes"] = next(iter(own.values()))[0]
        c.letters["follow_up_outcomes"] = {k: letter for k, (_, letter) in own.items()}
    status = {
        (str(m), int(str(y))): str(st)
        for m, y, st in zip(cases["member_id"], cases["case_year"], cases["status"], strict=True)
        if pd.notna(y) and str(y).strip() != ""
    }
    where = f"{source} 的帮教台账" if source else "本支部以前年度的运行 (no earlier year run of the branch)"
    closed_by: dict[tuple[str, int], int] = {}
    for r in f.sort_values(["decided_on", "row"], kind="stable").to_dict("records"):
        key = (str(r["member_id"]), int(r["case_year"]))
        if key in closed_by:
            c.add(
                "follow_up_outcomes",
                int(r["row"]),
                "case_year",
                f"{key[0]} {key[1]}",
                f"该案件已由第 {closed_by[key]} 行结束 (the case was closed by row {closed_by[key]})",
                "一个案件结束后不再有帮教结论 (no decision after a case is closed)",
            )
            continue
        if status.get(key) != "办理中":
            known = key in status
            c.add(
                "follow_up_outcomes",
                int(r["row"]),
                "case_year" if any(k[0] == key[0] for k in status) else "member_id",
                f"{key[0]} {key[1]}",
                (f"该案件已结束 ({status[key]}) (the case is closed)" if known else "没有这个帮教案件 (no such case)")
                + f": 见{where}",
                "以前年度运行开出、仍在办理中的案件 (an open case of an earlier year's sealed run)",
            )
            continue
        if r["action"] != ACTIONS[1]:
            closed_by[key] = int(r["row"])
    c.raise_if_any()


# -- 异议 and 党支部定星 (SPEC 4, 8) --------------------------------------------------------------


def star_range(s: Scheme) -> tuple[int, int]:
    """The fewest and the most stars the scheme's bands give (a copied scheme may start above 0)."""
    counts = [b.stars for b in s.bands if b.stars is not None]
    return (min(counts), max(counts)) if counts else (0, 0)


def _check_star_decisions(
    d: pd.DataFrame, members: pd.DataFrame, s: Scheme, known: set[Any] | None, c: _Collector
) -> None:
    """The committee's star decisions: a known member, at most one decision each, stars within the
    scheme's range. A scheme without stars takes none. An exempt member's stars are rated directly
    on the members sheet (``exempt_stars``); a decision for him is taken only when it agrees with
    them (it then records the reason and the date), never as a second, different rating."""
    _unknown_member(d, "star_decisions", known, c)
    _duplicates(d, ["member_id"], "star_decisions", "member_id", c)
    if not s.has_stars:
        c.add_mask(
            d,
            pd.Series(True, index=d.index),
            "star_decisions",
            "stars",
            f"方案 {s.name} 不评星级, 不能由党支部定星 (scheme {s.name} has no stars: there is nothing to decide)",
            "删除 党支部定星 (star_decisions) 表中的行 (delete the rows)",
        )
        return
    lo, hi = star_range(s)
    out_of_range = d["stars"].notna() & ((d["stars"] < lo) | (d["stars"] > hi))
    c.add_mask(
        d,
        out_of_range,
        "star_decisions",
        "stars",
        "星级超出本方案的范围 (stars outside the scheme's range)",
        f"{lo}..{hi} 的整数 (a whole number)",
    )
    if known is None:
        return
    hand = members.loc[members["exempt"] & members["exempt_stars"].notna(), ["member_id", "exempt_stars", "row"]]
    both = d.reset_index().merge(hand.rename(columns={"row": "member_row"}), on="member_id").set_index("index")
    for _, r in both[both["stars"].notna() & (both["stars"] != both["exempt_stars"])].iterrows():
        given = int(r["exempt_stars"])
        c.add(
            "star_decisions",
            int(r["row"]),
            "stars",
            r["stars"],
            f"{r['member_id']} 不列入积分, 党员名单 (members) 第 {int(r['member_row'])} 行已直接评定为 {given} 星; "
            "党支部定星须与之一致 (an exempt member's stars are rated on the members sheet: a decision must agree)",
            f"{given}, 或删除本行 (or delete the row)",
        )


def _check_objections(
    o: pd.DataFrame,
    raw: pd.DataFrame,
    amendments: pd.DataFrame,
    amendments_read: bool,
    decisions: pd.DataFrame,
    known: set[Any] | None,
    c: _Collector,
) -> None:
    """Objections: a known member; answered no earlier than raised; an outcome goes with the finding
    and the day it was answered, and those without an outcome are an answer left half-written; a
    correction (更正) names the row of the amendments sheet it produced, for the same member (an
    objection to the stars may instead be corrected by the committee's star decision)."""
    _unknown_member(o, "objections", known, c)
    if o.empty:
        return
    sheet = "objections"
    answered, raised = o["answered_on"], o["raised_on"]
    early = answered.notna() & raised.notna()
    early &= pd.Series(
        [bool(a < b) if e else False for a, b, e in zip(answered, raised, early, strict=True)], index=o.index
    )
    c.add_mask(
        o,
        early,
        sheet,
        "answered_on",
        "答复日期早于提出日期 (answered before the objection was raised)",
        "不早于 提出日期 (raised_on)",
    )
    typed = {k: ~_is_blank(raw[k]).to_numpy() if k in raw else np.zeros(len(o), dtype=bool) for k in o.columns}
    has_outcome = pd.Series(typed["outcome"], index=o.index)
    for column, what in (("finding", "调查核实情况 (finding)"), ("answered_on", "答复日期 (answered_on)")):
        missing = has_outcome & ~pd.Series(typed[column], index=o.index)
        c.add_mask(
            o,
            missing,
            sheet,
            column,
            f"已有处理结果的异议须填写{what} (an answered objection needs it)",
            "调查核实的情况" if column == "finding" else "YYYY-MM-DD",
            values="",
        )
    half = ~has_outcome & (pd.Series(typed["finding"], index=o.index) | pd.Series(typed["answered_on"], index=o.index))
    c.add_mask(
        o,
        half,
        sheet,
        "outcome",
        "已填写答复日期或调查核实情况, 但没有处理结果 (answered, but no outcome)",
        " / ".join(OBJECTION_OUTCOMES) + "; 尚未答复的异议三项都留空 (all three blank while pending)",
        values="",
    )
    corrected = o["outcome"] == "更正"
    named = o["amendment"].notna()
    c.add_mask(
        o,
        named & has_outcome & ~corrected,
        sheet,
        "amendment",
        "只有处理结果为 更正 的异议才填写对应的评分更正行号 (a row is named only for a correction)",
        "留空 (blank)",
    )
    if not amendments_read:  # the amendments sheet could not be read: its cause is reported once
        return
    owner = dict(zip(amendments["row"].astype(int), amendments["member_id"], strict=True))
    decided = set(decisions["member_id"].dropna())
    for idx in o.index[corrected]:
        r = o.loc[idx]
        mid = r["member_id"]
        theirs = sorted(k for k, v in owner.items() if v == mid)
        allowed = (
            f"评分更正 (amendments) 中 {mid} 的行号: {', '.join(map(str, theirs))}"
            if theirs
            else f"先在 评分更正 (amendments) 表中填写 {mid} 的更正, 再填其行号 (enter the amendment first)"
        )
        if pd.isna(r["amendment"]):
            if r["subject"] == "星级" and mid in decided:
                continue  # the stars were corrected by the committee's own decision
            c.add(
                sheet,
                int(r["row"]),
                "amendment",
                "",
                "处理结果为 更正 须填写对应的评分更正行号 (a correction names the amendment it produced)"
                + ("; 或在 党支部定星 (star_decisions) 中填写党支部确定的星级" if r["subject"] == "星级" else ""),
                allowed,
            )
            continue
        target = int(r["amendment"])
        if target not in owner:
            c.add(
                sheet,
                int(r["row"]),
                "amendment",
                target,
                f"评分更正 (amendments) 表没有第 {target} 行的更正 (no amendment in that row)",
                allowed,
            )
        elif owner[target] != mid:
            c.add(
                sheet,
                int(r["row"]),
                "amendment",
                target,
                f"评分更正 (amendments) 第 {target} 行是 {owner[target]} 的更正, 不是 {mid} 的 "
                "(the amendment is another member's)",
                allowed,
            )
