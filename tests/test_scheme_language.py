"""The rule-set language refuses an unknown key or an impossible combination, naming the key path,
the value found and what is allowed there (SPEC 3.8), for the keys it gained with the new schemes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from scoring.exceptions import SchemeError
from scoring.rules.scheme import SCHEMES_DIR, load_scheme


def data(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((SCHEMES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def refused(tmp_path: Path, name: str, edit: Callable[[dict[str, Any]], None]) -> dict[str, tuple[str, str]]:
    d = data(name)
    edit(d)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    with pytest.raises(SchemeError) as info:
        load_scheme(path)
    return {p.key: (p.problem, p.allowed) for p in info.value.problems}


def set_in(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        *head, last = path.split(".")
        node: Any = d
        for key in head:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        node[last] = value

    return edit


CASES = [
    # (scheme, edit, key, a word of what is allowed)
    ("fuxian-18", set_in("adjustments.rules.0.item", None), "adjustments.rules.0.item", "E1"),
    ("fuxian-18", set_in("adjustments.rules.0.item", "Z9"), "adjustments.rules.0.item", "E1"),
    (
        "enterprise-8-2",
        set_in("veto", {"effect": "cap", "grade": "不合格", "conditions": [{"code": "x", "name": "x"}]}),
        "veto.cap",
        "60",
    ),
    ("rural-card", set_in("appraisal.combine", "weighted"), "periods.quarter.combine", "added"),
    (
        "ganzi-base-plus-minus",
        set_in("appraisal", {"mode": "single", "max": 100, "weight": 0.2}),
        "periods.quarter.combine",
        "added",
    ),
    ("enterprise-8-2", set_in("periods.year.by", "per_item"), "periods.year.by", "total"),
    ("enterprise-8-2", set_in("adjustments.combine", "highest_only"), "adjustments.combine", "sum"),
    ("shaoxing-liangfen", set_in("periods.month", {"combine": "sum"}), "periods.month", "quarter"),
    ("shaoxing-liangfen", set_in("period_bands.quarter.0.stars", 5), "period_bands.quarter.0.stars", "tier"),
    ("shaoxing-liangfen", set_in("periods.quarter.combin", "sum"), "periods.quarter.combin", "combine"),
    ("rural-card", set_in("items", [{"code": "A", "name": "a", "max": 10}]), "items", "remove items"),
    ("fuxian-18", set_in("items.0.grades", {"A": 9}), "items.0.grades.A", "5"),
    ("enterprise-8-2", set_in("periods.half", {"combine": "mean", "events": True}), "periods.half.events", "false"),
    ("county-10-stars", set_in("periods.quarter.weight", 0.8), "periods.quarter.weight", "1"),
]


@pytest.mark.parametrize(("scheme", "edit", "key", "allowed"), CASES)
def test_an_impossible_combination_names_its_key_and_what_is_allowed(
    tmp_path: Path, scheme: str, edit: Callable[[dict[str, Any]], None], key: str, allowed: str
) -> None:
    problems = refused(tmp_path, scheme, edit)
    assert key in problems, problems
    assert allowed in problems[key][1], problems[key]


def test_every_builtin_scheme_loads_and_a_scheme_may_leave_veto_out() -> None:
    s = load_scheme("shaoxing-liangfen").scheme
    assert "veto" not in data("shaoxing-liangfen") and s.veto.effect == "none" and not s.veto.active
