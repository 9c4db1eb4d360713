"""Scheme files (SPEC 3): the built-in rule sets carry the numbers of the spec, a malformed file is
rejected with a message naming the offending key, and a copied file is a new rule set (no code)."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import BookMaker, county_sheets

from scoring.exceptions import SchemeError
from scoring.inputs.reading import load_inputs
from scoring.rules.periods import parse_period
from scoring.rules.scheme import SCHEMES_DIR, builtin_schemes, load_scheme

COUNTY = "county-10-stars"
XINLUO = "xinluo-three-level"
GANZI = "ganzi-base-plus-minus"


# -- built-in schemes -------------------------------------------------------------------------


def test_the_three_builtin_schemes_are_shipped() -> None:
    assert {COUNTY, XINLUO, GANZI} <= set(builtin_schemes())


@pytest.mark.parametrize("name", builtin_schemes())
def test_builtin_scheme_loads_with_provenance(name: str) -> None:
    loaded = load_scheme(name)
    path = SCHEMES_DIR / f"{name}.yaml"
    assert loaded.name == name == path.stem
    assert loaded.scheme.name == name
    assert isinstance(loaded.version, str) and loaded.version.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", loaded.sha256)
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.path == path.resolve()
    # loading by path gives the same scheme and hash
    by_path = load_scheme(path)
    assert by_path.sha256 == loaded.sha256 and by_path.scheme == loaded.scheme


def test_county_numbers() -> None:
    s = load_scheme(COUNTY).scheme
    assert s.item_codes == [f"I{i:02d}" for i in range(1, 11)]
    assert all(i.max == 10 for i in s.items)
    assert s.monthly_max == 100
    assert s.year.weight == pytest.approx(0.8)
    assert s.appraisal.mode == "per_item"
    assert s.appraisal.weight == pytest.approx(0.2)
    assert s.appraisal.min_raters == 10
    assert s.adjustments.combine == "highest_only"
    expected = {
        "commend.national": 5, "commend.provincial": 4, "commend.prefecture": 3, "commend.county": 2, "commend.unit": 1,
        "sanction.region": -5, "sanction.city": -4, "sanction.county": -3, "sanction.unit": -2,
        "criticism.region": -4, "criticism.city": -3, "criticism.county": -2, "criticism.unit": -1,
    }  # fmt: skip
    assert len(s.adjustments.rules) == 13
    assert {r.code: r.signed_points for r in s.adjustments.rules} == expected
    assert s.rules_by_code["commend.national"].kind == "bonus"
    assert s.rules_by_code["sanction.region"].kind == "deduction" and s.rules_by_code["sanction.region"].points == 5
    assert s.rules_by_code["criticism.unit"].kind == "deduction" and s.rules_by_code["criticism.unit"].points == 1
    # bands: >=95 ten stars 优秀 ... >=10 one star, below 10 zero stars
    assert [b.min for b in s.bands] == [95, 90, 80, 70, 60, 50, 40, 30, 20, 10, 0]
    assert [b.stars for b in s.bands] == [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    assert [b.grade for b in s.bands] == ["优秀", "合格", "合格", "基本合格", "基本合格"] + ["不合格"] * 6
    assert s.has_stars
    assert s.veto.effect == "forced_grade" and s.veto.grade == "不合格"
    assert len(s.veto.conditions) == 5
    assert s.quarter_star is not None
    assert s.quarter_star.share == pytest.approx(0.05) and s.quarter_star.min_scored_members == 10
    assert s.annual_star is not None
    assert s.annual_star.share == pytest.approx(0.10) and s.annual_star.of_stars == 10
    assert s.publicity.working_days == 7
    assert s.follow_up.lapse_months == 6
    assert {"基本合格", "不合格"} <= set(s.follow_up.actions)


def test_xinluo_numbers() -> None:
    s = load_scheme(XINLUO).scheme
    assert {i.code: i.max for i in s.items} == {
        "POL": 25,
        "DIS": 25,
        "MOR": 25,
        "PERF": 10,
        "INNO": 5,
        "COOP": 5,
        "TASK": 5,
    }
    assert s.monthly_max == 100
    assert s.year.weight == pytest.approx(0.9)
    assert s.appraisal.mode == "single"
    assert s.appraisal.weight == pytest.approx(0.1)
    assert s.appraisal.max == 100
    assert s.adjustments.combine == "sum"
    assert all(r.kind == "bonus" for r in s.adjustments.rules)
    assert s.veto.effect == "no_score" and s.veto.grade == "不合格"
    assert [b.min for b in s.bands] == [100, 90, 80, 0]
    assert [b.grade for b in s.bands] == ["优秀", "合格", "基本合格", "不合格"]
    assert not s.has_stars
    assert s.tiers is not None
    assert [t.name for t in s.tiers.tiers] == ["优秀", "合格", "一般", "后进"]
    assert sum(t.share for t in s.tiers.tiers) == pytest.approx(1.0)


def test_ganzi_numbers() -> None:
    s = load_scheme(GANZI).scheme
    rules = s.adjustments.rules
    bonus = [r for r in rules if r.kind == "bonus"]
    deduction = [r for r in rules if r.kind == "deduction"]
    assert len(bonus) == 15 and len(deduction) == 16
    assert len({r.group for r in bonus}) == 5 and len({r.group for r in deduction}) == 5
    assert {r.group for r in bonus}.isdisjoint({r.group for r in deduction})
    groups = {g.code: g.name for g in s.adjustments.groups}
    assert {r.group for r in rules} <= set(groups)
    bonus_group_names = {groups[r.group] for r in bonus if r.group}
    assert {"出色完成本职工作", "积极参加党建活动", "敢于开展监督和批评", "个人评优评先"} <= bonus_group_names
    assert any("见义勇为" in n for n in bonus_group_names)
    assert {groups[r.group] for r in deduction if r.group} == {
        "政治立场不坚定",
        "综治意识不牢固",
        "纪律规矩不严明",
        "道德行为不端正",
        "工作履职不认真",
    }
    assert s.adjustments.bonus_evidence_required and s.adjustments.deduction_evidence_required
    assert s.adjustments.combine == "sum"
    assert s.veto.requires_majority
    assert s.appraisal.mode == "none" and s.appraisal.weight == 0
    assert s.year.weight == pytest.approx(1.0)


# -- malformed scheme files -------------------------------------------------------------------


def _edited(tmp_path: Path, name: str, old: str, new: str, count: int = 1) -> Path:
    """A copy of built-in ``name`` with one text edit, as a user would make it."""
    text = (SCHEMES_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} not in {name}"
    path = tmp_path / f"{name}-edited.yaml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


def _edited_data(tmp_path: Path, name: str, edit: Callable[[dict[str, Any]], object]) -> Path:
    data = yaml.safe_load((SCHEMES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / f"{name}-edited.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _rejected(path: Path) -> str:
    with pytest.raises(SchemeError) as info:
        load_scheme(path)
    assert isinstance(info.value, ValueError)
    msg = str(info.value)
    assert path.name in msg
    return msg


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = _edited(tmp_path, COUNTY, "title: ", "colour: red\ntitle: ")
    msg = _rejected(path)
    assert "colour" in msg


def test_misspelt_nested_key(tmp_path: Path) -> None:
    path = _edited(tmp_path, COUNTY, "  min_raters: 10", "  min_rater: 10")
    msg = _rejected(path)
    assert "appraisal.min_rater" in msg


def _problem_line(msg: str, key: str) -> str:
    """The one line of ``msg`` reporting ``key`` (``  - key: problem; allowed: ...``)."""
    lines = [ln for ln in msg.splitlines() if ln.startswith(f"  - {key}: ")]
    assert len(lines) == 1, msg
    assert "(top level)" not in msg, msg  # cross-field rules are reported under their own key
    assert "; allowed: " in lines[0], lines[0]
    return lines[0]


def test_weights_not_summing_to_one(tmp_path: Path) -> None:
    # monthly 0.7 + appraisal 0.2 = 0.9: appraisal.weight must be 0.3 (or periods.year.weight 0.8)
    path = _edited(tmp_path, COUNTY, "  weight: 0.8 ", "  weight: 0.7 ")
    msg = _rejected(path)
    line = _problem_line(msg, "appraisal.weight")
    assert "0.9" in line and "must add up to 1" in line
    allowed = line.split("; allowed: ", 1)[1]
    assert allowed.startswith("0.3 ") and "periods.year.weight to 0.8" in allowed


def test_appraisal_weight_without_appraisal(tmp_path: Path) -> None:
    path = _edited_data(tmp_path, GANZI, lambda d: d["appraisal"].update(weight=0.1))
    line = _problem_line(_rejected(path), "appraisal.weight")
    assert line.endswith("allowed: 0 (or leave it out) when appraisal.mode is none or appraisal.combine is added"), line


def test_annual_star_of_stars_no_band_gives(tmp_path: Path) -> None:
    path = _edited(tmp_path, COUNTY, "of_stars: 10", "of_stars: 12")
    line = _problem_line(_rejected(path), "annual_star.of_stars")
    assert "12" in line and line.endswith("allowed: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"), line


def test_duplicate_item_code_names_the_second(tmp_path: Path) -> None:
    path = _edited(tmp_path, COUNTY, "{code: I02,", "{code: I01,")
    line = _problem_line(_rejected(path), "items.1.code")
    assert "I01" in line


def test_bands_not_descending(tmp_path: Path) -> None:
    path = _edited(tmp_path, COUNTY, "{min: 80, stars: 8,", "{min: 92, stars: 8,")
    msg = _rejected(path)
    line = _problem_line(msg, "bands.2.min")  # the third band (92) is not below the second (90)
    assert "descending" in line and line.endswith("allowed: a number below 90"), line


def test_rule_with_kind_gift(tmp_path: Path) -> None:
    path = _edited(tmp_path, COUNTY, "name: 本局表彰奖励,     kind: bonus", "name: 本局表彰奖励,     kind: gift")
    msg = _rejected(path)
    assert re.search(r"adjustments\.rules\.4\.kind", msg), msg
    assert "bonus" in msg and "deduction" in msg  # what is allowed


def test_missing_items(tmp_path: Path) -> None:
    path = _edited_data(tmp_path, COUNTY, lambda d: d.pop("items"))
    msg = _rejected(path)
    assert re.search(r"\bitems\b", msg), msg


def test_rule_group_not_in_groups(tmp_path: Path) -> None:
    path = _edited(tmp_path, GANZI, "{code: B3.bravery,     group: B3,", "{code: B3.bravery,     group: B9,")
    msg = _rejected(path)
    n = [r.code for r in load_scheme(GANZI).scheme.adjustments.rules].index("B3.bravery")
    line = _problem_line(msg, f"adjustments.rules.{n}.group")
    assert "B3.bravery" in line and "B9" in line
    assert "B3" in line.split("; allowed: ", 1)[1]  # the groups there are


def test_negative_item_max(tmp_path: Path) -> None:
    path = _edited(
        tmp_path,
        XINLUO,
        "{code: INNO, name: 参与创新,         max: 5,",
        "{code: INNO, name: 参与创新,         max: -5,",
    )
    msg = _rejected(path)
    assert "items.4.max" in msg


def test_tier_shares_not_summing_to_one(tmp_path: Path) -> None:
    path = _edited(tmp_path, XINLUO, "{name: 后进, share: 0.05}", "{name: 后进, share: 0.10}")
    msg = _rejected(path)
    line = _problem_line(msg, "tiers.tiers.*.share")
    assert "1.05" in line and "add up to 1" in line


@pytest.mark.parametrize(
    "text",
    ["name: county\nitems: [{code: I01\n", "name: x\n  version: : 1\n\tbad", "- just\n- a list\n"],
    ids=["unclosed-flow", "bad-indent", "not-a-mapping"],
)
def test_invalid_yaml(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    msg = _rejected(path)
    assert "YAML" in msg or "mapping" in msg


def test_unknown_builtin_name_lists_the_builtins() -> None:
    with pytest.raises(SchemeError) as info:
        load_scheme("county-11-stars")
    assert isinstance(info.value, ValueError)
    for name in builtin_schemes():
        assert name in str(info.value)


# -- a copied scheme is a new rule set --------------------------------------------------------


def test_copied_scheme_with_new_name_loads(tmp_path: Path) -> None:
    original = load_scheme(COUNTY)
    path = _edited(tmp_path, COUNTY, "name: county-10-stars", "name: my-county")
    copied = load_scheme(path)
    assert copied.name == "my-county"
    assert copied.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() != original.sha256
    assert copied.scheme.model_dump(exclude={"name"}) == original.scheme.model_dump(exclude={"name"})


def test_copied_and_edited_scheme_is_used_by_a_workbook(tmp_path: Path, maker: BookMaker) -> None:
    """A branch names a copied scheme file in its workbook; the copy's numbers apply, no code."""
    src = SCHEMES_DIR / f"{COUNTY}.yaml"
    dst = tmp_path / "my-county.yaml"
    shutil.copyfile(src, dst)
    text = dst.read_text(encoding="utf-8")
    text = text.replace("name: county-10-stars", "name: my-county").replace("  min_raters: 10", "  min_raters: 12")
    dst.write_text(text, encoding="utf-8")
    path = maker.write(COUNTY, county_sheets(), branch={"scheme": "my-county.yaml"})
    with pytest.raises(ValueError) as info:  # 10 ballots are too few under the copy's min_raters 12
        load_inputs(path, parse_period("2025"))
    assert "too few raters" in str(info.value)
    book, sch = load_inputs(path, parse_period("2025Q3"))
    assert sch.name == "my-county" and sch.scheme.appraisal.min_raters == 12
    assert sch.sha256 == hashlib.sha256(dst.read_bytes()).hexdigest()
    assert book.scheme_ref == "my-county.yaml"
