"""Scheme files: one YAML file per rule set, validated on load.

A scheme carries every number of its rule set: items and maxima, weights, the adjustment
catalogue, veto conditions, bands, tiers and quotas. The engine reads nothing else, so a new
rule set is a copied and edited file, never new code.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .exceptions import SchemeError

SCHEMES_DIR: Path = Path(__file__).parent / "schemes"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Item(_Strict):
    """One scored indicator 考评项目; scored 0..max each month."""

    code: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    name: str
    max: float = Field(gt=0)
    group: str | None = None


class Monthly(_Strict):
    """How monthly scores enter the annual score."""

    weight: float = Field(ge=0, le=1)
    # per_item: average each item over the member's months, weight, then sum the items (seed 004);
    # total: average the monthly totals, then weight (seed 000).
    combine: Literal["per_item", "total"] = "per_item"
    # Quarter score used for 季度之星 and quarterly publicity: sum or mean of monthly totals.
    quarter_score: Literal["sum", "mean"] = "sum"


class Appraisal(_Strict):
    """Year-end democratic appraisal 民主测评 (anonymous ballots)."""

    mode: Literal["per_item", "single", "none"]
    weight: float = Field(ge=0, le=1)
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
    # sum_capped_per_group: sum, bonuses and deductions each capped per group (seed 004 富县).
    combine: Literal["highest_only", "sum", "sum_capped_per_group"]
    bonus_evidence_required: bool = False
    deduction_evidence_required: bool = False
    groups: list[Group] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)


class VetoCondition(_Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str


class Veto(_Strict):
    # forced_grade: grade forced, score shown (seed 004); no_score: no score shown (seed 000).
    effect: Literal["forced_grade", "no_score"]
    grade: str
    requires_majority: bool = False  # seed 001: show of hands of all branch members
    conditions: list[VetoCondition] = Field(min_length=1)


class Band(_Strict):
    """A score band: rounded score >= min earns these stars and this grade."""

    min: float
    grade: str
    stars: int | None = Field(default=None, ge=0)


class Tier(_Strict):
    name: str
    share: float = Field(gt=0, le=1)


class Tiers(_Strict):
    """Rank-share tiers: the best ``share`` of ranked members get the first tier, and so on."""

    tiers: list[Tier] = Field(min_length=1)
    veto_tier: str | None = None

    @model_validator(mode="after")
    def _shares_add_up(self) -> Tiers:
        total = sum(t.share for t in self.tiers)
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"tier shares must add up to 1, they add up to {total:g}")
        return self


class QuarterStar(_Strict):
    share: float = Field(gt=0, le=1)
    min_scored_members: int = Field(ge=0)


class AnnualStar(_Strict):
    share: float = Field(gt=0, le=1)
    of_stars: int = Field(ge=0)  # 年度之星 is chosen among members with this many stars


class FollowUp(_Strict):
    actions: dict[str, str] = Field(default_factory=dict)  # grade -> 组织处置 action
    lapse_months: int = Field(default=6, ge=1)  # consecutive months -> possible 自行脱党


class Publicity(_Strict):
    working_days: int = Field(default=7, ge=1)


class Scheme(_Strict):
    """A validated rule set."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    version: str
    title: str
    source: str
    items: list[Item] = Field(min_length=1)
    monthly: Monthly
    appraisal: Appraisal
    adjustments: Adjustments
    veto: Veto
    bands: list[Band] = Field(min_length=1)
    tiers: Tiers | None = None
    quarter_star: QuarterStar | None = None
    annual_star: AnnualStar | None = None
    follow_up: FollowUp = Field(default_factory=FollowUp)
    publicity: Publicity = Field(default_factory=Publicity)
    unscored_grade_from_stars: bool = True  # exempt members: grade from their hand-entered stars

    @model_validator(mode="after")
    def _consistent(self) -> Scheme:
        problems: list[str] = []
        codes = [i.code for i in self.items]
        if len(set(codes)) != len(codes):
            problems.append("items: item codes must be unique")
        if self.appraisal.mode != "none" and abs(self.monthly.weight + self.appraisal.weight - 1) > 1e-9:
            problems.append("monthly.weight + appraisal.weight must be 1")
        if self.appraisal.mode == "none" and self.appraisal.weight != 0:
            problems.append("appraisal.weight must be 0 when appraisal.mode is none")
        if self.appraisal.mode == "single" and self.appraisal.max is None:
            problems.append("appraisal.max is required when appraisal.mode is single")
        mins = [b.min for b in self.bands]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            problems.append("bands: min values must be strictly descending")
        if any(b.stars is None for b in self.bands) and any(b.stars is not None for b in self.bands):
            problems.append("bands: give stars for every band or for none")
        rule_codes = [r.code for r in self.adjustments.rules]
        if len(set(rule_codes)) != len(rule_codes):
            problems.append("adjustments.rules: rule codes must be unique")
        group_codes = {g.code for g in self.adjustments.groups}
        for r in self.adjustments.rules:
            if r.group is not None and r.group not in group_codes:
                problems.append(f"adjustments.rules[{r.code}].group: {r.group!r} is not in adjustments.groups")
        if self.adjustments.combine == "sum_capped_per_group":
            if any(r.group is None for r in self.adjustments.rules):
                problems.append("adjustments.rules: every rule needs a group when combine is sum_capped_per_group")
            if any(g.cap is None for g in self.adjustments.groups):
                problems.append("adjustments.groups: every group needs a cap when combine is sum_capped_per_group")
        if self.annual_star is not None and not any(b.stars == self.annual_star.of_stars for b in self.bands):
            problems.append("annual_star.of_stars: no band gives that many stars")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- convenience -------------------------------------------------------------------------
    @property
    def item_codes(self) -> list[str]:
        return [i.code for i in self.items]

    @property
    def has_stars(self) -> bool:
        return self.bands[0].stars is not None

    @property
    def monthly_max(self) -> float:
        return float(sum(i.max for i in self.items))

    @cached_property
    def rules_by_code(self) -> dict[str, Rule]:
        return {r.code: r for r in self.adjustments.rules}

    @cached_property
    def conditions_by_key(self) -> dict[str, VetoCondition]:
        """Veto conditions by code and by Chinese name (either may be entered)."""
        out = {c.code: c for c in self.veto.conditions}
        out.update({c.name: c for c in self.veto.conditions})
        return out

    def grade_for_stars(self, stars: int) -> str | None:
        for band in self.bands:
            if band.stars is not None and band.stars <= stars:
                return band.grade
        return self.bands[-1].grade if self.bands else None


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


def scheme_path(name_or_path: str | Path) -> Path:
    """A built-in scheme name (``county-10-stars``) or a path to a scheme file."""
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        return candidate
    builtin = SCHEMES_DIR / f"{name_or_path}.yaml"
    if builtin.exists():
        return builtin
    raise SchemeError(
        f"找不到积分方案 (unknown scheme) {str(name_or_path)!r}; "
        f"内置方案 (built-in): {', '.join(builtin_schemes())}, or a path to a .yaml scheme file"
    )


def load_scheme(name_or_path: str | Path) -> LoadedScheme:
    """Load and validate a scheme; a malformed file raises :class:`SchemeError` naming the key."""
    path = scheme_path(name_or_path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SchemeError(f"积分方案文件无法读取 (cannot read scheme file) {path}: {exc}") from exc
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SchemeError(f"积分方案文件不是有效的 YAML (not valid YAML) {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SchemeError(f"积分方案文件 {path}: top level must be a mapping of keys (name, version, items, ...)")
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            allowed = err.get("ctx", {}).get("expected") or ""
            detail = err["msg"] + (f"; allowed: {allowed}" if allowed else "")
            lines.append(f"  - {key}: {detail}")
        raise SchemeError(f"积分方案文件有误 (scheme file is malformed) {path}:\n" + "\n".join(lines)) from exc
    return LoadedScheme(scheme=scheme, path=path.resolve(), sha256=hashlib.sha256(raw).hexdigest())
