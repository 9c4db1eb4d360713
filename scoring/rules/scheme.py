"""Scheme files: one YAML file per rule set, validated on load.

A scheme carries every number of its rule set: items and maxima, weights, the adjustment
catalogue, veto conditions, bands, tiers and quotas. The engine reads nothing else, so a new
rule set is a copied and edited file, never new code.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import types
from collections.abc import Hashable
from functools import cached_property
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Literal, NamedTuple, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

from ..exceptions import SchemeError, SchemeProblem

SCHEMES_DIR: Path = Path(__file__).parent.parent / "schemes"


class Problem(NamedTuple):
    """One cross-field problem of a scheme: the key to change, what is wrong, what is allowed."""

    key: str  # dotted, relative to the model that found it: ``appraisal.weight``
    problem: str
    allowed: str


class SchemeProblems(ValueError):
    """Raised by a model validator with keyed problems, so that :func:`load_scheme` reports each
    under its own key rather than under the model that checked them (pydantic places every error
    of an ``after`` validator at the model's own location)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems: list[Problem] = problems
        super().__init__("; ".join(f"{p.key}: {p.problem}; allowed: {p.allowed}" for p in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PeriodKind = Literal["month", "quarter", "half", "year"]
Cadence = Literal["month", "quarter", "year", "none"]
# months in one period of each kind; a cadence of "none" has no item scores at all
SPAN_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "half": 6, "year": 12}


class Item(_Strict):
    """One scored indicator 考评项目, scored 0..max once per sub-period of the scheme's cadence;
    with ``grades`` it is entered as a letter grade that the table turns into points."""

    code: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    name: str
    max: float = Field(gt=0)
    group: str | None = None
    grades: dict[str, float] | None = None  # e.g. {A: 20, B+: 16, B: 14, C: 12, D: 10}
    # subject branch: the item is an indicator category 指标类别 (seed 003), its indicators scored
    # by the branch itself and checked by the 联评联考办公室 (self), or by the other branches (mutual)
    scored_by: Literal["self", "mutual"] | None = None


class ItemGroup(_Strict):
    """A group of items 大项 whose subtotal is shown beside the items."""

    code: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    name: str


class PeriodRule(_Strict):
    """How one kind of period's figure is formed (SPEC 3.8).

    ``combine``: the sub-periods' figures in the period, averaged over the member's own sub-periods
    (``mean``) or added (``sum``), or ``year_to_date``: the year's formula applied to everything
    from January to the period's end (its appraisal aside). ``by``: average or add per item, then
    add the items (``per_item``), or the sub-periods' totals (``total``). ``weight``: the share of
    the item part (the appraisal takes the rest when it is weighted). ``events``: the adjustments
    and vetoes dated in the period enter its figure here."""

    combine: Literal["mean", "sum", "year_to_date"] = "sum"
    by: Literal["total", "per_item"] = "total"
    weight: float = Field(default=1.0, ge=0, le=1)
    events: bool = False


def _default_periods() -> dict[PeriodKind, PeriodRule]:
    return {"year": PeriodRule(combine="mean", events=True)}


class Appraisal(_Strict):
    """Year-end democratic appraisal 民主测评 (anonymous ballots); weighted with the item part
    (weights adding up to 1) or added as it is (seed 004 农村: 年度积分合计 = 基础分 + 加分 + 评议分)."""

    mode: Literal["per_item", "single", "none"]
    combine: Literal["weighted", "added"] = "weighted"
    weight: float = Field(default=0, ge=0, le=1)
    max: float | None = Field(default=None, gt=0)  # single mode: the maximum of one ballot score
    min_raters: int = Field(default=0, ge=0)


class Rule(_Strict):
    """One entry of the adjustment catalogue 加减分目录."""

    code: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str
    kind: Literal["bonus", "deduction"]
    points: float = Field(gt=0)  # magnitude; the kind gives the sign
    max_points: float | None = Field(default=None, gt=0)  # an entered value may go up to this
    group: str | None = None
    item: str | None = None  # capped_per_item: the item whose points cap this rule's events

    @property
    def signed_points(self) -> float:
        return self.points if self.kind == "bonus" else -self.points

    @property
    def limit(self) -> float:
        return self.max_points if self.max_points is not None else self.points


class Group(_Strict):
    code: str
    name: str
    cap: float | None = Field(default=None, gt=0)  # bonuses and deductions each capped at this


class Adjustments(_Strict):
    # highest_only: only the highest bonus and the largest deduction count (seed 004);
    # sum: every applied event counts (seed 000: bonus 正向累加不封顶; seed 001);
    # capped_per_group: sum, bonuses and deductions each capped per group;
    # capped_per_item: sum, bonuses and deductions each capped at the points of the item the rule
    # names (seed 004 富县 注1).
    combine: Literal["highest_only", "sum", "capped_per_group", "capped_per_item"]
    bonus_evidence_required: bool = False
    deduction_evidence_required: bool = False
    groups: list[Group] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)


class VetoCondition(_Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str


class Veto(_Strict):
    """一票否决. forced_grade: grade forced, score shown (seed 004); no_score: no score at all
    (seed 000); cap: the total capped at ``cap``; zero: the total set to 0; the grade is forced in
    every case. ``none`` (or leaving ``veto`` out): the rule set has no veto (seed 003)."""

    effect: Literal["forced_grade", "no_score", "cap", "zero", "none"] = "none"
    grade: str = ""
    cap: float | None = Field(default=None, ge=0)
    requires_majority: bool = False  # seed 001: show of hands of all branch members
    conditions: list[VetoCondition] = Field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.effect != "none"


class Band(_Strict):
    """A score band: rounded score >= min earns this grade, these stars, this tier."""

    min: float
    grade: str | None = None
    stars: int | None = Field(default=None, ge=0)
    tier: str | None = None

    @property
    def label(self) -> str:
        """What the band awards, for a person: 合格, 标杆型, 合格 (良好型)."""
        both = [t for t in (self.grade, self.tier) if t]
        return both[0] + (f" ({both[1]})" if len(both) > 1 else "")


class Tier(_Strict):
    name: str
    share: float = Field(gt=0, le=1)


class Tiers(_Strict):
    """Rank-share tiers: the best ``share`` of ranked members get the first tier, and so on;
    within the branch, or across the unit's branches in the roll-up."""

    scope: Literal["branch", "unit"] = "branch"
    tiers: list[Tier] = Field(min_length=1)
    veto_tier: str | None = None

    @model_validator(mode="after")
    def _shares_add_up(self) -> Tiers:
        total = sum(t.share for t in self.tiers)
        if abs(total - 1.0) > 1e-9:
            raise SchemeProblems(
                [
                    Problem(
                        "tiers.*.share",
                        f"各档比例之和为 {total:g}, 应为 1 (tier shares add up to {total:g}, not 1)",
                        "shares that add up to 1, e.g. 0.2, 0.6, 0.15, 0.05",
                    )
                ]
            )
        return self


class QuarterStar(_Strict):
    share: float = Field(gt=0, le=1)
    min_scored_members: int = Field(ge=0)
    minimum: int = Field(default=0, ge=0)  # at least this many when the branch is large enough


class AnnualStar(_Strict):
    share: float = Field(gt=0, le=1)
    of_stars: int = Field(ge=0)  # 年度之星 is chosen among members with this many stars
    minimum: int = Field(default=0, ge=0)


class FollowUp(_Strict):
    actions: dict[str, str] = Field(default_factory=dict)  # grade -> 组织处置 action
    tier_actions: dict[str, str] = Field(default_factory=dict)  # tier -> action (seed 003 奖罚)
    lapse_months: int = Field(default=6, ge=1)  # consecutive months -> possible 自行脱党


class Publicity(_Strict):
    working_days: int = Field(default=7, ge=1)


class Scheme(_Strict):
    """A validated rule set (SPEC 3.8)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    version: str
    title: str
    source: str
    # member: a branch scores its members (one input workbook per branch); branch: the unit's
    # 党委 scores its branches, whose indicators add up to the items (SPEC 3.9, a unit workbook)
    subject: Literal["member", "branch"] = "member"
    cadence: Cadence = "month"
    items: list[Item] = Field(default_factory=list)
    item_groups: list[ItemGroup] = Field(default_factory=list)
    base: float | None = Field(default=None, ge=0)  # a constant base that deductions draw from, floor 0
    periods: dict[PeriodKind, PeriodRule] = Field(default_factory=_default_periods)
    appraisal: Appraisal
    adjustments: Adjustments
    veto: Veto = Field(default_factory=Veto)
    bands: list[Band] = Field(min_length=1)  # the year's
    period_bands: dict[PeriodKind, list[Band]] = Field(default_factory=dict)  # month, quarter, half
    tiers: Tiers | None = None
    quarter_star: QuarterStar | None = None
    annual_star: AnnualStar | None = None
    follow_up: FollowUp = Field(default_factory=FollowUp)
    publicity: Publicity = Field(default_factory=Publicity)
    unscored_grade_from_stars: bool = True  # exempt members: grade from their hand-entered stars

    @model_validator(mode="after")
    def _consistent(self) -> Scheme:
        """Rules that involve more than one key; each problem names the key to change (with its
        position in a list, as the field errors do) and what is allowed there."""
        problems = [
            *_item_problems(self),
            *_period_problems(self),
            *_appraisal_problems(self),
            *_band_problems("bands", self.bands, year=True),
            *(p for kind, bands in self.period_bands.items() for p in _band_problems(f"period_bands.{kind}", bands)),
            *_adjustment_problems(self),
            *_other_problems(self),
            *_subject_problems(self),
        ]
        if problems:
            raise SchemeProblems(problems)
        return self

    # -- convenience -------------------------------------------------------------------------
    @property
    def item_codes(self) -> list[str]:
        return [i.code for i in self.items]

    @property
    def has_stars(self) -> bool:
        return self.bands[0].stars is not None

    @property
    def has_grades(self) -> bool:
        return self.bands[0].grade is not None

    @property
    def branch_tiers(self) -> bool:
        """Rank-share tiers within the branch (the roll-up ranks unit-wide ones)."""
        return self.tiers is not None and self.tiers.scope == "branch"

    @property
    def band_tiers(self) -> bool:
        """The year's bands name tiers (seed 003 亮分制: 标杆型 .. 警示型)."""
        return self.bands[0].tier is not None

    @property
    def sub_max(self) -> float:
        """The most one sub-period's items can add up to (a month's total, a quarter's ...)."""
        return float(sum(i.max for i in self.items))

    @property
    def monthly_max(self) -> float:
        return self.sub_max

    @property
    def shortest_months(self) -> int:
        """The shortest period the scheme forms, in months: one sub-period of its cadence, or a
        quarter for a scheme without item scores (its card is kept per quarter, seed 004)."""
        return self.sub_months or 3

    @property
    def sub_months(self) -> int:
        """Months in one sub-period of the cadence (0: no item scores)."""
        return SPAN_MONTHS.get(self.cadence, 0)

    def period(self, kind: str) -> PeriodRule:
        """How a period of this kind is formed; the defaults add the sub-periods without events."""
        return self.periods.get(kind, PeriodRule()) if kind in SPAN_MONTHS else PeriodRule()  # type: ignore[call-overload]

    @property
    def year(self) -> PeriodRule:
        return self.period("year")

    @property
    def no_score_veto(self) -> bool:
        return self.veto.effect == "no_score"

    @property
    def groups_by_code(self) -> dict[str, ItemGroup]:
        return {g.code: g for g in self.item_groups}

    @cached_property
    def items_by_code(self) -> dict[str, Item]:
        return {i.code: i for i in self.items}

    @cached_property
    def rules_by_code(self) -> dict[str, Rule]:
        return {r.code: r for r in self.adjustments.rules}

    @cached_property
    def conditions_by_key(self) -> dict[str, VetoCondition]:
        """Veto conditions by code and by Chinese name (either may be entered)."""
        out = {c.code: c for c in self.veto.conditions}
        out.update({c.name: c for c in self.veto.conditions})
        return out

    def bands_for(self, kind: str) -> list[Band] | None:
        """The bands of a period kind: the year's ``bands``, else ``period_bands``; None: unbanded."""
        return self.bands if kind == "year" else self.period_bands.get(kind)  # type: ignore[call-overload]

    def period_text(self, kind: str) -> str:
        """How a period's figure is formed, in the words an officer reads (templates, trace, 公示)."""
        names = {"month": "月", "quarter": "季度", "half": "半年", "year": "年度"}
        sub = {"month": "各月月度总分", "quarter": "各季度项目总分", "year": "全年项目总分"}.get(self.cadence, "")
        rule = self.period(kind)
        if rule.combine == "year_to_date":
            return f"{names[kind]}积分 = 年初至期末的累计积分 (年度公式, 含截至期末的加减分)"
        if self.cadence == "none":
            return f"{names[kind]}积分 = 本期加分 - 本期扣分"
        how = "之和" if rule.combine == "sum" else "的平均"
        text = f"{names[kind]}积分 = 本{names[kind]}{sub}{how}"
        if kind == self.cadence:  # the sub-period itself
            text = f"{names[kind]}积分 = 本{names[kind]}各项评分之和"
        if rule.weight != 1:
            text += f" × {rule.weight:.0%}"
        return text + (f" + 本{names[kind]}加减分" if rule.events and kind != "year" else "")

    def grade_for_stars(self, stars: int) -> str | None:
        for band in self.bands:
            if band.stars is not None and band.stars <= stars:
                return band.grade
        return self.bands[-1].grade if self.bands else None


def _repeated(codes: list[str], key: str, what: str, entry: str) -> list[Problem]:
    return [
        Problem(
            f"{key}.{n}.code",
            f"{what}代码 {code!r} 重复 ({entry} code repeated)",
            f"a code not used by another {entry}",
        )
        for n, code in enumerate(codes)
        if code in codes[:n]
    ]


def _item_problems(s: Scheme) -> list[Problem]:
    out = _repeated(s.item_codes, "items", "考评项目", "item")
    out += _repeated([g.code for g in s.item_groups], "item_groups", "大项", "item group")
    if s.cadence == "none" and s.items:
        out.append(
            Problem("items", "cadence 为 none 时不评项目分 (no item scores when cadence is none)", "remove items")
        )
    if s.cadence != "none" and not s.items:
        out.append(Problem("items", "缺少考评项目 (no items)", "at least one item, or cadence: none"))
    groups = [g.code for g in s.item_groups]
    for n, item in enumerate(s.items):
        if item.group is not None and groups and item.group not in groups:
            out.append(
                Problem(
                    f"items.{n}.group",
                    f"大项 {item.group!r} 不在 item_groups 中 (group not in item_groups)",
                    ", ".join(groups),
                )
            )
        for letter, points in (item.grades or {}).items():
            if not 0 <= points <= item.max:
                out.append(
                    Problem(
                        f"items.{n}.grades.{letter}",
                        f"{item.code}: 等次 {letter} 折合 {points:g} 分, 超出 0..{item.max:g} (points out of range)",
                        f"a number from 0 to the item's max {item.max:g}",
                    )
                )
    if s.item_groups and any(i.group is None for i in s.items):
        for n, item in enumerate(s.items):
            if item.group is None:
                out.append(Problem(f"items.{n}.group", f"{item.code}: 未归入大项 (no group)", ", ".join(groups)))
    return out


def _period_problems(s: Scheme) -> list[Problem]:
    out: list[Problem] = []
    if "year" not in s.periods:
        out.append(
            Problem(
                "periods.year", "缺少年度的计算方法 (missing: how the year is formed)", "combine, by, weight, events"
            )
        )
    sub = s.sub_months
    finer = [k for k in s.periods if 0 < SPAN_MONTHS[k] < sub]
    for kind in finer:
        out.append(
            Problem(
                f"periods.{kind}",
                f"项目按{_CADENCE_WORDS[s.cadence]}评分, 不能计算更短的期间 (a {kind} is shorter than the cadence)",
                f"periods of at least one {s.cadence}",
            )
        )
    events_below_year = [k for k, r in s.periods.items() if k != "year" and (r.events or r.combine == "year_to_date")]
    sub_events = s.cadence != "none" and s.period(s.cadence).events
    for kind, rule in s.periods.items():
        if rule.combine == "year_to_date" and kind == "year":
            out.append(Problem("periods.year.combine", "年度本身不能是 year_to_date", "mean / sum"))
        if rule.combine == "year_to_date" and rule.events:
            out.append(
                Problem(
                    f"periods.{kind}.events", "year_to_date 已含截至期末的加减分 (already holds the events)", "false"
                )
            )
        if kind != s.cadence and rule.events and sub_events and SPAN_MONTHS[kind] > sub:
            out.append(
                Problem(
                    f"periods.{kind}.events",
                    f"加减分已计入每{_CADENCE_WORDS[s.cadence]}的得分, 不能再计一次 (events would count twice)",
                    "false",
                )
            )
        if kind != "year" and rule.weight != 1:
            out.append(
                Problem(
                    f"periods.{kind}.weight",
                    "只有年度的项目分有权重 (only the year weighs its item part; year_to_date uses the year's)",
                    "1 (leave it out)",
                )
            )
        if rule.by == "per_item" and s.cadence == "none":
            out.append(Problem(f"periods.{kind}.by", "没有项目分时不能逐项计算 (no items)", "total"))
        if rule.by == "per_item" and sub_events and kind != s.cadence:
            out.append(
                Problem(
                    f"periods.{kind}.by",
                    "加减分计入每期得分时, 不能逐项平均 (the events inside each sub-period would be lost per item)",
                    "total",
                )
            )
    if s.adjustments.rules and not any(r.events or r.combine == "year_to_date" for r in s.periods.values()):
        out.append(
            Problem("periods.year.events", "加减分目录不会计入任何得分 (the adjustments enter no figure)", "true")
        )
    if events_below_year and s.adjustments.combine != "sum":
        out.append(
            Problem(
                "adjustments.combine",
                f"{', '.join(events_below_year)} 的得分含加减分时, 只能逐条累计 "
                "(events in periods shorter than the year need combine: sum)",
                "sum",
            )
        )
    if s.base is not None and not (s.year.events or sub_events):
        out.append(
            Problem("base", "基础分要扣减, 须有加减分计入年度 (the base needs events)", "periods.year.events: true")
        )
    return out


_CADENCE_WORDS = {"month": "月", "quarter": "季度", "year": "年", "none": "期"}


def _appraisal_problems(s: Scheme) -> list[Problem]:
    a, out = s.appraisal, []
    weight = s.year.weight
    if a.mode != "none" and a.combine == "weighted" and abs(weight + a.weight - 1) > 1e-9:
        out.append(
            Problem(
                "appraisal.weight",
                f"periods.year.weight {weight:g} + appraisal.weight {a.weight:g} = {weight + a.weight:g}, "
                "两个权重之和应为 1 (the two weights must add up to 1)",
                f"{1 - weight:.10g} (= 1 - periods.year.weight), or change periods.year.weight to {1 - a.weight:.10g}, "
                "or appraisal.combine: added",
            )
        )
    if (a.mode == "none" or a.combine == "added") and a.weight != 0:
        out.append(
            Problem(
                "appraisal.weight",
                f"测评分不加权时权重应为 0 (appraisal is not weighted but the weight is {a.weight:g})",
                "0 (or leave it out) when appraisal.mode is none or appraisal.combine is added",
            )
        )
    if a.mode == "single" and a.max is None:
        out.append(
            Problem(
                "appraisal.max",
                "单一测评分须给出满分 (missing: appraisal.mode is single)",
                "the maximum of one ballot score, e.g. 100",
            )
        )
    if a.mode == "per_item" and s.year.by != "per_item":
        out.append(Problem("periods.year.by", "逐项测评须逐项计算年度分 (per-item appraisal)", "per_item"))
    if a.mode != "none" and a.combine == "weighted":
        ytd = [k for k, r in s.periods.items() if r.combine == "year_to_date"]
        for kind in ytd:
            out.append(
                Problem(
                    f"periods.{kind}.combine",
                    "测评分加权时, 年度累计分不成立 (year_to_date with a weighted appraisal)",
                    "mean / sum, or appraisal.combine: added",
                )
            )
    return out


def _band_problems(key: str, bands: list[Band], year: bool = False) -> list[Problem]:
    out: list[Problem] = []
    for n in range(1, len(bands)):
        if bands[n].min >= bands[n - 1].min:
            out.append(
                Problem(
                    f"{key}.{n}.min",
                    f"{bands[n].min:g} 不小于上一档的 {bands[n - 1].min:g} (min values must be strictly descending)",
                    f"a number below {bands[n - 1].min:g}",
                )
            )
    for field, what in (("stars", "星级"), ("grade", "等级"), ("tier", "档次")):
        given = [getattr(b, field) is not None for b in bands]
        if any(given) and not all(given):
            out += [
                Problem(
                    f"{key}.{n}.{field}", f"其他档给了{what}, 本档没有 (give {field} for every band or for none)", field
                )
                for n, g in enumerate(given)
                if not g
            ]
    if bands and all(b.grade is None and b.tier is None for b in bands):
        out.append(Problem(f"{key}.0", "分档须给出等级或档次 (a band needs a grade or a tier)", "grade, tier"))
    if not year and any(b.stars is not None for b in bands):
        out.append(Problem(f"{key}.0.stars", "星级只按年度评定 (stars are for the year)", "grade, tier"))
    return out


def _adjustment_problems(s: Scheme) -> list[Problem]:
    adj, out = s.adjustments, []
    out += _repeated([r.code for r in adj.rules], "adjustments.rules", "加减分", "rule")
    group_codes = [g.code for g in adj.groups]
    for n, r in enumerate(adj.rules):
        if r.group is not None and r.group not in group_codes:
            out.append(
                Problem(
                    f"adjustments.rules.{n}.group",
                    f"{r.code}: 分组 {r.group!r} 不在 adjustments.groups 中 (group not in adjustments.groups)",
                    ", ".join(group_codes) or "(no groups defined)",
                )
            )
        if r.item is not None and r.item not in s.item_codes:
            out.append(
                Problem(
                    f"adjustments.rules.{n}.item",
                    f"{r.code}: 考评项目 {r.item!r} 不存在 (no such item)",
                    ", ".join(s.item_codes) or "(no items)",
                )
            )
    if adj.combine == "capped_per_group":
        out += [
            Problem(
                f"adjustments.rules.{n}.group",
                f"{r.code}: 分组封顶时每项须有分组 (every rule needs a group when combine is capped_per_group)",
                ", ".join(group_codes) or "(no groups defined)",
            )
            for n, r in enumerate(adj.rules)
            if r.group is None
        ]
        out += [
            Problem(
                f"adjustments.groups.{n}.cap",
                f"{g.code}: 分组封顶时每组须有上限 (every group needs a cap when combine is capped_per_group)",
                "a number > 0",
            )
            for n, g in enumerate(adj.groups)
            if g.cap is None
        ]
    if adj.combine == "capped_per_item":
        out += [
            Problem(
                f"adjustments.rules.{n}.item",
                f"{r.code}: 按项目封顶时每条须注明所属项目 (every rule names its item when combine is capped_per_item)",
                ", ".join(s.item_codes) or "(no items)",
            )
            for n, r in enumerate(adj.rules)
            if r.item is None
        ]
    return out


def _other_problems(s: Scheme) -> list[Problem]:
    out: list[Problem] = []
    v = s.veto
    if v.effect == "cap" and v.cap is None:
        out.append(Problem("veto.cap", "封顶分数未给出 (missing: veto.effect is cap)", "a number, e.g. 60"))
    if v.effect != "cap" and v.cap is not None:
        out.append(Problem("veto.cap", "只有 effect: cap 才有封顶分数 (cap without effect: cap)", "remove veto.cap"))
    if v.active and not v.grade:
        out.append(Problem("veto.grade", "缺少否决后的等级 (missing)", "a grade of the bands, e.g. 不合格"))
    if v.active and not v.conditions:
        out.append(Problem("veto.conditions", "缺少否决情形 (missing)", "at least one {code, name}"))
    if not v.active and (v.conditions or v.grade or v.requires_majority):
        out.append(
            Problem(
                "veto.effect",
                "没有一票否决时不能给出情形和等级 (effect is none)",
                "forced_grade / no_score / cap / zero",
            )
        )
    star_counts = sorted({b.stars for b in s.bands if b.stars is not None})
    if s.annual_star is not None and s.annual_star.of_stars not in star_counts:
        out.append(
            Problem(
                "annual_star.of_stars",
                f"没有哪一档是 {s.annual_star.of_stars} 星 (no band gives that many stars)",
                ", ".join(map(str, star_counts)) or "(bands give no stars: remove annual_star)",
            )
        )
    if s.tiers is not None and s.band_tiers:
        out.append(
            Problem(
                "tiers",
                "年度分档已给出档次, 不能再按排名分档 (bands already give the tier)",
                "remove tiers or the bands' tier",
            )
        )
    if s.tiers is not None and s.tiers.veto_tier is not None and not s.veto.active:
        out.append(Problem("tiers.veto_tier", "没有一票否决 (the scheme has no veto)", "remove veto_tier"))
    if s.quarter_star is not None and s.cadence in ("year", "none"):
        out.append(Problem("quarter_star", "没有季度项目分, 无法评季度之星 (no quarter scores)", "remove quarter_star"))
    if not s.has_grades and s.follow_up.actions:
        out.append(Problem("follow_up.actions", "年度分档没有等级 (the bands give no grade)", "tier_actions"))
    return out


def _subject_problems(s: Scheme) -> list[Problem]:
    """A branch is scored on indicators, month by month, by itself and the other branches: none
    of a member's ballots, events, vetoes, letter grades or stars applies (SPEC 3.9)."""
    if s.subject == "member":
        return [
            Problem(
                f"items.{n}.scored_by",
                "只有 subject: branch 的指标类别有评分方式 (members are scored by the branch)",
                "remove scored_by",
            )
            for n, item in enumerate(s.items)
            if item.scored_by is not None
        ]
    out = [
        Problem(
            f"items.{n}.scored_by",
            f"{item.code}: 缺少评分方式 (missing: how its indicators are scored)",
            "self (自评, 联评联考办公室验证) / mutual (其他支部互评)",
        )
        for n, item in enumerate(s.items)
        if item.scored_by is None
    ]
    out += [
        Problem(
            f"items.{n}.grades", f"{item.code}: 支部指标按分值评分 (indicators are scored in points)", "remove grades"
        )
        for n, item in enumerate(s.items)
        if item.grades
    ]
    not_for_branches: list[tuple[str, bool, str]] = [
        ("cadence", s.cadence != "month", "month (月评季考年定级)"),
        ("base", s.base is not None, "remove base"),
        ("appraisal.mode", s.appraisal.mode != "none", "none"),
        ("adjustments.rules", bool(s.adjustments.rules), "remove the rules"),
        ("veto.effect", s.veto.active, "none"),
        ("quarter_star", s.quarter_star is not None, "remove quarter_star"),
        ("annual_star", s.annual_star is not None, "remove annual_star"),
        (
            "tiers.scope",
            s.tiers is not None and s.tiers.scope != "branch",
            "branch (the unit's branches are ranked together)",
        ),
        ("bands.0.stars", s.has_stars, "grade"),
    ]
    out += [
        Problem(key, "subject: branch 不适用 (does not apply to branches, SPEC 3.9)", allowed)
        for key, wrong, allowed in not_for_branches
        if wrong
    ]
    return out


class LoadedScheme(BaseModel):
    """A scheme with where it came from and the SHA-256 of its file's bytes."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    scheme: Scheme
    path: Path
    sha256: str

    @property
    def name(self) -> str:
        return self.scheme.name

    @property
    def version(self) -> str:
        return self.scheme.version


def builtin_schemes() -> list[str]:
    """Names of the scheme files shipped with the package."""
    return sorted(p.stem for p in SCHEMES_DIR.glob("*.yaml"))


# A scheme file is a few kilobytes; anything larger is refused before it is read (``/dev/zero``,
# a log file renamed .yaml), so a scheme never fills the machine's memory.
MAX_SCHEME_BYTES = 1_000_000
SCHEME_SUFFIXES = (".yaml", ".yml")


def _unknown_scheme(ref: str, where: str) -> SchemeError:
    allowed = f"内置方案 (built-in): {', '.join(builtin_schemes())}; {where}"
    return SchemeError(
        f"找不到积分方案 (unknown scheme) {ref!r}; allowed: {allowed}",
        [SchemeProblem("", ref, f"找不到积分方案 {ref!r} (unknown scheme)", allowed)],
        ref,
    )


def scheme_path(name_or_path: str | Path) -> Path:
    """A built-in scheme name (``county-10-stars``) or a path to a ``.yaml`` scheme file in any folder
    (the operator's choice, e.g. ``--scheme``); whether the file can be read is checked on loading."""
    candidate = Path(name_or_path)
    if candidate.suffix.lower() in SCHEME_SUFFIXES:
        return candidate
    if str(name_or_path) in builtin_schemes():
        return SCHEMES_DIR / f"{name_or_path}.yaml"
    raise _unknown_scheme(str(name_or_path), "或 .yaml 方案文件的路径 (or the path of a .yaml scheme file)")


def workbook_scheme_path(ref: str, folder: Path) -> Path:
    """The scheme an input workbook names (SPEC 10: a workbook is untrusted input): a built-in name, or
    a ``.yaml`` file under the workbook's own ``folder``, named relative to it, without ``..``;
    never an absolute path, nor a link that leads out of the folder."""
    text = ref.strip()
    if text in builtin_schemes():
        return SCHEMES_DIR / f"{text}.yaml"
    where = "或本工作簿所在文件夹中的 .yaml 文件, 如 my-scheme.yaml (or a .yaml file in the workbook's own folder)"
    posix = text.replace("\\", "/")  # a path typed on Windows
    if PurePosixPath(posix).suffix.lower() not in SCHEME_SUFFIXES:
        raise _unknown_scheme(text, where)
    if PurePosixPath(posix).is_absolute() or PureWindowsPath(text).drive or PureWindowsPath(text).root:
        problem = f"工作簿不能指定绝对路径的方案文件 {text!r} (a workbook may not name a scheme by absolute path)"
    elif ".." in PurePosixPath(posix).parts:
        problem = (
            f"方案文件不能在工作簿所在文件夹之外 {text!r} (a workbook may not name a scheme outside its folder: ..)"
        )
    else:
        base = folder.resolve()
        target = (base / posix).resolve()
        if target.is_relative_to(base):
            return target
        problem = f"方案文件链接到工作簿所在文件夹之外 {text!r} (the scheme file links outside the workbook's folder)"
    allowed = f"内置方案 (built-in): {', '.join(builtin_schemes())}; {where}"
    raise SchemeError(f"{problem}; allowed: {allowed}", [SchemeProblem("", text, problem, allowed)], text)


def _read_scheme_file(path: Path) -> bytes:
    """The bytes of a regular scheme file of at most :data:`MAX_SCHEME_BYTES`; anything else
    (missing, a folder, a device, a pipe, too large) is a SchemeError saying so."""
    name = str(path)

    def refuse(problem: str, value: str = "") -> SchemeError:
        allowed = (
            f"一个不超过 {MAX_SCHEME_BYTES // 1_000_000} MB 的 .yaml 方案文件 (a regular .yaml file of at most 1 MB)"
        )
        return SchemeError(f"{problem}: {name}; allowed: {allowed}", [SchemeProblem("", value, problem, allowed)], name)

    try:
        st = path.stat()
    except OSError as exc:
        raise refuse(f"积分方案文件无法读取 (cannot read scheme file: {exc.strerror or exc})") from exc
    if not stat.S_ISREG(st.st_mode):
        raise refuse("积分方案不是普通文件 (the scheme is not a regular file)")
    if st.st_size > MAX_SCHEME_BYTES:
        raise refuse("积分方案文件太大 (the scheme file is too large)", f"{st.st_size} bytes")
    try:
        with path.open("rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # replaced since the check
                raise refuse("积分方案不是普通文件 (the scheme is not a regular file)")
            raw = f.read(MAX_SCHEME_BYTES + 1)
    except OSError as exc:
        raise refuse(f"积分方案文件无法读取 (cannot read scheme file: {exc.strerror or exc})") from exc
    if len(raw) > MAX_SCHEME_BYTES:
        raise refuse("积分方案文件太大 (the scheme file is too large)", f"> {MAX_SCHEME_BYTES} bytes")
    return raw


# parsed schemes by the SHA-256 of their bytes: every workbook names its scheme, and a batch or a
# roll-up reads the same few files hundreds of times (the models are frozen, so sharing is safe)
_PARSED: dict[str, Scheme] = {}


def load_scheme(name_or_path: str | Path) -> LoadedScheme:
    """Load and validate a scheme: a built-in name or a ``.yaml`` file anywhere (the operator's
    choice). A malformed file raises :class:`SchemeError` with one problem per key."""
    return _load_file(scheme_path(name_or_path))


def load_workbook_scheme(ref: str, folder: Path) -> LoadedScheme:
    """Load the scheme an input workbook names (see :func:`workbook_scheme_path`)."""
    return _load_file(workbook_scheme_path(ref, folder))


def _load_file(path: Path) -> LoadedScheme:
    raw = _read_scheme_file(path)
    sha256 = hashlib.sha256(raw).hexdigest()
    if sha256 in _PARSED:
        return LoadedScheme(scheme=_PARSED[sha256], path=path.resolve(), sha256=sha256)
    headline = f"积分方案文件有误 (scheme file is malformed) {path}:"
    data = _parse_yaml(raw, headline, str(path))
    if not isinstance(data, dict):
        raise SchemeError(
            headline,
            [
                SchemeProblem(
                    "(top level)",
                    _short(data),
                    "顶层应为键值映射 (top level must be a mapping of keys)",
                    f"a mapping of keys: {', '.join(Scheme.model_fields)}",
                )
            ],
            str(path),
        )
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as exc:
        raise SchemeError(headline, _problems(exc, data), str(path)) from exc
    if len(_PARSED) < 64:
        _PARSED[sha256] = scheme
    return LoadedScheme(scheme=scheme, path=path.resolve(), sha256=sha256)


# -- reading YAML and explaining what is wrong -------------------------------------------------


class _SchemeLoader(yaml.SafeLoader):
    """Safe YAML that also refuses a key given twice (YAML would keep the last one silently) and
    anchors/aliases (a few lines of aliases can expand into millions of values to check)."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.current_event.start_mark  # the event check_event just looked at
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&, *) are not allowed in a scheme file", mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice (重复的键)", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(raw: bytes, headline: str, file: str) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SchemeError(
            headline,
            [
                SchemeProblem(
                    f"(第 {exc.start} 字节 byte {exc.start})",
                    repr(raw[exc.start : exc.start + 8]),
                    "不是 UTF-8 编码的文本 (not UTF-8 text)",
                    "以 UTF-8 保存的 YAML 文本 (YAML text saved as UTF-8)",
                )
            ],
            file,
        ) from exc
    try:
        return yaml.load(text, Loader=_SchemeLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = str(getattr(exc, "problem", "") or exc)
        if mark is not None:
            line, column = mark.line + 1, mark.column + 1
            lines = text.splitlines()
            where = f"YAML 第 {line} 行第 {column} 列 (line {line}, column {column})"
            value = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        else:
            where, value = "YAML", ""
        raise SchemeError(
            headline,
            [
                SchemeProblem(
                    where,
                    _short(value, 80),
                    f"YAML 语法错误 (not valid YAML): {problem}",
                    "YAML: 每行 `键: 值` (key: value), 用空格缩进而非制表符 (indent with spaces, not tabs), "
                    "列表用 - 或 [ ] (lists with - or [ ]), 引号成对 (quotes in pairs)",
                )
            ],
            file,
        ) from exc


def _short(value: Any, width: int = 60) -> str:
    if value is None:
        return "null"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def _value_at(data: Any, keys: list[str]) -> Any:
    """The value at a dotted key path (``*`` stands for every entry of a list); None if absent."""
    if not keys:
        return data
    head, rest = keys[0], keys[1:]
    if head == "*" and isinstance(data, list):
        return [_value_at(x, rest) for x in data]
    if isinstance(data, list) and head.isdigit() and int(head) < len(data):
        return _value_at(data[int(head)], rest)
    if isinstance(data, dict) and head in data:
        return _value_at(data[head], rest)
    return None


_PROBLEM_WORDS: dict[str, str] = {
    "missing": "缺少必填的键 (missing)",
    "extra_forbidden": "未知的键 (unknown key)",
    "literal_error": "不是允许的取值 (not an allowed value)",
    "greater_than": "超出允许范围 (out of range)",
    "greater_than_equal": "超出允许范围 (out of range)",
    "less_than": "超出允许范围 (out of range)",
    "less_than_equal": "超出允许范围 (out of range)",
    "too_short": "项数太少 (too few entries)",
    "string_pattern_mismatch": "格式不对 (wrong form)",
}


def _annotation_at(loc: tuple[int | str, ...]) -> tuple[type[BaseModel] | None, Any, FieldInfo | None]:
    """What the scheme language expects at ``loc``: the model that holds the last key (for an
    unknown key: the model it was given in), the annotation and the field (None when not a field)."""
    ann: Any = Scheme
    owner: type[BaseModel] | None = None
    info: FieldInfo | None = None
    for part in loc:
        ann = _strip_none(ann)
        origin = get_origin(ann)
        if origin is list and isinstance(part, int):
            ann, owner, info = get_args(ann)[0], None, None
        elif origin is dict:
            ann, owner, info = get_args(ann)[1], None, None
        elif isinstance(ann, type) and issubclass(ann, BaseModel):
            if not isinstance(part, str) or part not in ann.model_fields:
                return ann, None, None
            owner, info = ann, ann.model_fields[part]
            ann = info.annotation
        else:
            return None, None, None
    return owner, ann, info


def _strip_none(ann: Any) -> Any:
    args = [a for a in get_args(ann) if a is not type(None)]
    if get_origin(ann) in (Union, types.UnionType) and len(args) == 1:
        return args[0]
    return ann


def _describe(ann: Any, info: FieldInfo | None = None) -> str:
    """What a value of this annotation (and this field's constraints) may be, for a person."""
    ann = _strip_none(ann)
    origin = get_origin(ann)
    if origin is Literal:
        text = " / ".join(str(a) for a in get_args(ann))
    elif ann is bool:
        text = "true / false"
    elif ann is int:
        text = "整数 (a whole number)"
    elif ann is float:
        text = "数字 (a number)"
    elif ann is str:
        text = "文字 (text)"
    elif origin is list:
        text = f"列表 (a list), 每项 (each): {_describe(get_args(ann)[0])}"
    elif origin is dict:
        text = f"映射 (a mapping), 值 (values): {_describe(get_args(ann)[1])}"
    elif isinstance(ann, type) and issubclass(ann, BaseModel):
        text = f"映射, 键为 (a mapping with keys): {', '.join(ann.model_fields)}"
    else:
        text = str(ann)
    limits: list[str] = []
    for m in info.metadata if info is not None else []:
        for attr, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            if getattr(m, attr, None) is not None:
                limits.append(f"{sign} {getattr(m, attr)}")
        if getattr(m, "min_length", None) is not None:
            limits.append(f"至少 {m.min_length} 项 (at least {m.min_length})")
        if getattr(m, "pattern", None) is not None:
            limits.append(f"形如 (of the form) {m.pattern}")
    return text + (f", {', '.join(limits)}" if limits else "")


def _problems(exc: ValidationError, data: dict[str, Any]) -> list[SchemeProblem]:
    """One problem per key: field errors with the value found and what the language allows there;
    cross-field rules under the key to change."""
    out: list[SchemeProblem] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = [str(p) for p in loc]
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, SchemeProblems):  # cross-field rules: each problem under its own key
            for p in cause.problems:
                keys = [*where, *p.key.split(".")]
                out.append(SchemeProblem(".".join(keys), _short(_value_at(data, keys)), p.problem, p.allowed))
            continue
        key = ".".join(where) or "(top level)"
        kind = err["type"]
        owner, ann, info = _annotation_at(loc)
        if kind == "extra_forbidden":
            value = _short(err.get("input"))
            allowed = f"此处可用的键 (keys allowed here): {', '.join(owner.model_fields) if owner else '-'}"
        elif kind == "missing":
            value = ""
            allowed = f"必填 (required): {_describe(ann, info)}" if ann is not None else "required"
        else:
            value = _short(err.get("input"))
            allowed = _describe(ann, info) if ann is not None else str(err.get("ctx", {}).get("expected", ""))
        words = _PROBLEM_WORDS.get(kind, "取值有误 (wrong value)")
        out.append(SchemeProblem(key, value, f"{words}: {err['msg']}", allowed))
    return out
