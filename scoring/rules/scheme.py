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
