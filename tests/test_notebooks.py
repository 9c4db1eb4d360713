"""Committed notebooks stay thin: a parameters cell of literals, calls into scoring, no state."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import read_notebook

from scoring.views.nbtools import CHECK_MARK

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_thin_and_stateless(path: Path) -> None:
    nb = read_notebook(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and code[0] is params[0]
    for node in ast.parse(params[0].source).body:  # plain literals only
        assert isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.Dict, ast.List))
        ast.literal_eval(node.value)
    for c in code:
        tree = ast.parse(c.source)
        assert not any(isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While)) for n in ast.walk(tree)), (
            c.source
        )
        assert len(c.source.splitlines()) <= 8
        if not c.source.lstrip().startswith(CHECK_MARK):
            assert c.outputs == [], f"saved output in: {c.source[:40]}"
    assert "widgets" not in nb.metadata
    assert nb.metadata["kernelspec"]["name"] == "scoring"
