"""Scheme files: one YAML file per rule set, validated on load.

A scheme carries every number of its rule set: items and maxima, weights, the adjustment
catalogue, veto conditions, bands, tiers and quotas. The engine reads nothing else, so a new
rule set is a copied and edited file, never new code.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from pathlib import Path
from typing import Literal, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .exceptions import SchemeError

SCHEMES_DIR: Path = Path(__file__).parent / "schemes"


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
        """Rules that involve more than one key; each problem names the key to change (with its
        position in a list, as the field errors do) and what is allowed there."""
        problems: list[Problem] = []
        codes = [i.code for i in self.items]
        for n, code in enumerate(codes):
            if code in codes[:n]:
                problems.append(
                    Problem(
                        f"items.{n}.code",
                        f"考评项目代码 {code!r} 重复 (item code repeated)",
                        "a code not used by another item",
                    )
                )
        if self.appraisal.mode != "none" and abs(self.monthly.weight + self.appraisal.weight - 1) > 1e-9:
            problems.append(
                Problem(
                    "appraisal.weight",
                    f"monthly.weight {self.monthly.weight:g} + appraisal.weight {self.appraisal.weight:g} = "
                    f"{self.monthly.weight + self.appraisal.weight:g}, "
                    "两个权重之和应为 1 (the two weights must add up to 1)",
                    f"{1 - self.monthly.weight:.10g} (= 1 - monthly.weight), "
                    f"or change monthly.weight to {1 - self.appraisal.weight:.10g}",
                )
            )
        if self.appraisal.mode == "none" and self.appraisal.weight != 0:
            problems.append(
                Problem(
                    "appraisal.weight",
                    f"不做民主测评时权重应为 0 (appraisal.mode is none but the weight is {self.appraisal.weight:g})",
                    "0 when appraisal.mode is none",
                )
            )
        if self.appraisal.mode == "single" and self.appraisal.max is None:
            problems.append(
                Problem(
                    "appraisal.max",
                    "单一测评分须给出满分 (missing: appraisal.mode is single)",
                    "the maximum of one ballot score, e.g. 100",
                )
            )
        mins = [b.min for b in self.bands]
        for n in range(1, len(mins)):
            if mins[n] >= mins[n - 1]:
                problems.append(
                    Problem(
                        f"bands.{n}.min",
                        f"{mins[n]:g} 不小于上一档的 {mins[n - 1]:g} (min values must be strictly descending)",
                        f"a number below {mins[n - 1]:g}",
                    )
                )
        if any(b.stars is None for b in self.bands) and any(b.stars is not None for b in self.bands):
            for n, b in enumerate(self.bands):
                if b.stars is None:
                    problems.append(
                        Problem(
                            f"bands.{n}.stars",
                            "其他档给了星级, 本档没有 (stars missing: give stars for every band or for none)",
                            "a whole number >= 0",
                        )
                    )
        rule_codes = [r.code for r in self.adjustments.rules]
        for n, code in enumerate(rule_codes):
            if code in rule_codes[:n]:
                problems.append(
                    Problem(
                        f"adjustments.rules.{n}.code",
                        f"加减分代码 {code!r} 重复 (rule code repeated)",
                        "a code not used by another rule",
                    )
                )
        group_codes = [g.code for g in self.adjustments.groups]
        for n, r in enumerate(self.adjustments.rules):
            if r.group is not None and r.group not in group_codes:
                problems.append(
                    Problem(
                        f"adjustments.rules.{n}.group",
                        f"{r.code}: 分组 {r.group!r} 不在 adjustments.groups 中 (group not in adjustments.groups)",
                        ", ".join(group_codes) or "(no groups defined)",
                    )
                )
        if self.adjustments.combine == "sum_capped_per_group":
            for n, r in enumerate(self.adjustments.rules):
                if r.group is None:
                    problems.append(
                        Problem(
                            f"adjustments.rules.{n}.group",
                            f"{r.code}: 分组封顶时每项须有分组 "
                            "(every rule needs a group when combine is sum_capped_per_group)",
                            ", ".join(group_codes) or "(no groups defined)",
                        )
                    )
            for n, g in enumerate(self.adjustments.groups):
                if g.cap is None:
                    problems.append(
                        Problem(
                            f"adjustments.groups.{n}.cap",
                            f"{g.code}: 分组封顶时每组须有上限 "
                            "(every group needs a cap when combine is sum_capped_per_group)",
                            "a number > 0",
                        )
                    )
        star_counts = sorted({b.stars for b in self.bands if b.stars is not None})
        if self.annual_star is not None and self.annual_star.of_stars not in star_counts:
            problems.append(
                Problem(
                    "annual_star.of_stars",
                    f"没有哪一档是 {self.annual_star.of_stars} 星 (no band gives that many stars)",
                    ", ".join(map(str, star_counts)) or "(bands give no stars: remove annual_star)",
                )
            )
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


# parsed schemes by the SHA-256 of their bytes: every workbook names its scheme, and a batch or a
# roll-up reads the same few files hundreds of times (the models are frozen, so sharing is safe)
_PARSED: dict[str, Scheme] = {}


def load_scheme(name_or_path: str | Path) -> LoadedScheme:
    """Load and validate a scheme; a malformed file raises :class:`SchemeError` naming the key."""
    path = scheme_path(name_or_path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SchemeError(f"积分方案文件无法读取 (cannot read scheme file) {path}: {exc}") from exc
    sha256 = hashlib.sha256(raw).hexdigest()
    if sha256 in _PARSED:
        return LoadedScheme(scheme=_PARSED[sha256], path=path.resolve(), sha256=sha256)
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SchemeError(f"积分方案文件不是有效的 YAML (not valid YAML) {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SchemeError(f"积分方案文件 {path}: top level must be a mapping of keys (name, version, items, ...)")
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as exc:
        lines: list[str] = []
        for err in exc.errors():
            where = [str(p) for p in err["loc"]]
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, SchemeProblems):  # cross-field rules: each problem under its own key
                lines.extend(
                    f"  - {'.'.join([*where, p.key])}: {p.problem}; allowed: {p.allowed}" for p in cause.problems
                )
                continue
            key = ".".join(where) or "(top level)"
            allowed = err.get("ctx", {}).get("expected") or ""
            detail = err["msg"] + (f"; allowed: {allowed}" if allowed else "")
            lines.append(f"  - {key}: {detail}")
        raise SchemeError(f"积分方案文件有误 (scheme file is malformed) {path}:\n" + "\n".join(lines)) from exc
    if len(_PARSED) < 64:
        _PARSED[sha256] = scheme
    return LoadedScheme(scheme=scheme, path=path.resolve(), sha256=sha256)
