"""Every rule lives twice: in the engine (pandas) and in the audited workbook (formulas). Each stage
of the engine (``scoring.rules.engine.<stage>``) has its formula backend of the same name
(``scoring.outputs.excel.<stage>``), so a new key cannot be added to one and forgotten in the
other. test_spreadsheets.py recomputes the workbook of a generated branch of every built-in scheme
and period in LibreOffice and Gnumeric, and checks there, with :func:`stage_of`, that each stage's
sheets come back equal to the engine's figures.
"""

from __future__ import annotations

import importlib
import pkgutil

import scoring.outputs.excel as formulas
import scoring.rules.engine as engine
from scoring.outputs.excel.items import SCORE_SHEETS, TOTAL_SHEETS

# the stages that make a figure, on both sides
STAGES = ["indicators", "items", "events", "spans", "year", "bands", "published", "objections"]
# modules that are not stages: what a run publishes and shared helpers (engine); the sheet
# machinery, the parameters, 核对 and the composition of the book (workbook); follow-up makes a
# list, not a figure (its sheet, 组织处置, is in scoring.outputs.publicity); prior and cases: what
# earlier runs hand in and the follow-up register, lists too (跟踪帮教, scoring.outputs.cases);
# lapse: the possible 自行脱党 cases, a list whose sheet 脱党核查 shows the input cells behind it
ENGINE_ONLY = {"result", "tables", "pipeline", "follow_up", "prior", "cases", "lapse"}
WORKBOOK_ONLY = {"writer", "parameters", "check", "book", "lapse"}


def submodules(package: object) -> set[str]:
    return {m.name for m in pkgutil.iter_modules(package.__path__)}  # type: ignore[attr-defined]


def test_every_stage_has_a_pandas_and_a_formula_backend_of_the_same_name() -> None:
    assert submodules(engine) - ENGINE_ONLY == set(STAGES)
    assert submodules(formulas) - WORKBOOK_ONLY == set(STAGES)
    for stage in STAGES:
        for side in ("scoring.rules.engine", "scoring.outputs.excel"):
            module = importlib.import_module(f"{side}.{stage}")
            public = [
                n for n, v in vars(module).items() if callable(v) and getattr(v, "__module__", "") == module.__name__
            ]
            assert public, f"{side}.{stage} defines no function"


def stage_of(sheet: str, kind: str) -> str:
    """The stage whose formulas a sheet of a results workbook holds (KeyError: a sheet of no stage)."""
    if sheet in SCORE_SHEETS.values() or sheet in TOTAL_SHEETS.values():
        return "items"
    return {
        "支部自评": "indicators",  # a unit's workbook (SPEC 3.9): the categories are formed there
        "检查验证": "indicators",
        "互评平均": "indicators",
        "指标得分": "indicators",
        "加减分": "events",
        "一票否决": "events",
        "季度汇总": "spans",
        "半年汇总": "spans",
        "民主测评": "year",
        "参数": "bands",
        "结果": "year" if kind == "year" else "published",
        "核对": "check",
    }[sheet]


# the stages whose formulas a results workbook of each period kind must hold
EXPECTED = {
    "year": {"items", "year"},
    "half": {"items", "spans", "published"},
    "quarter": {"items", "spans", "published"},
    "month": {"items", "published"},
}
