"""Keep the packaging/CI files in step with each other.

* environment.yml (conda) must list the same packages as pyproject.toml
  (`dependencies` + `optional-dependencies.test`).
* .ci/run must run `make test`; README.md (once it exists) must document
  `make test` and `make demo`.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# Leading distribution name of a requirement / conda match spec, e.g.
# "python-calamine>=0.2", "pandas [version='>=2.2']", "conda-forge::numpy=1.26".
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def normalise(spec: str) -> str:
    """Package name of `spec`: lower-case, `_`/`.` runs -> `-`, no version/extras/channel."""
    spec = spec.strip()
    if "::" in spec:  # conda channel prefix
        spec = spec.split("::", 1)[1]
    m = _NAME_RE.match(spec)
    assert m, f"cannot parse a package name from {spec!r}"
    return re.sub(r"[-_.]+", "-", m.group(0)).lower()


def pyproject_names() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    specs = list(project.get("dependencies", []))
    specs += project.get("optional-dependencies", {}).get("test", [])
    return {normalise(s) for s in specs}


def conda_names() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    names = set()
    for dep in env.get("dependencies") or []:
        if isinstance(dep, dict):  # the `pip:` sub-list
            continue
        names.add(normalise(str(dep)))
    return names - {"python", "pip"}


def test_environment_yml_matches_pyproject():
    py, conda = pyproject_names(), conda_names()
    only_py = sorted(py - conda)
    only_conda = sorted(conda - py)
    assert not only_py and not only_conda, (
        "environment.yml and pyproject.toml disagree:\n"
        f"  in pyproject.toml but not environment.yml: {only_py}\n"
        f"  in environment.yml but not pyproject.toml: {only_conda}"
    )


def test_environment_yml_basics():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env.get("name") == "scoring"
    assert "conda-forge" in (env.get("channels") or [])
    deps = env.get("dependencies") or []
    assert any(isinstance(d, str) and normalise(d) == "python" for d in deps)
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert pip_sections, "environment.yml needs a `pip:` section installing the project (-e .)"
    assert any(str(p).strip() == "-e ." for sec in pip_sections for p in sec)


def test_normalise():
    assert normalise("python_calamine>=0.2") == "python-calamine"
    assert normalise("PyYAML >=6.0") == "pyyaml"
    assert normalise("conda-forge::pandas=2.2") == "pandas"
    assert normalise("nbval[extra]>=0.11; python_version>'3'") == "nbval"


def _code_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def test_ci_run_invokes_make_test():
    ci = ROOT / ".ci" / "run"
    assert ci.is_file(), ".ci/run is missing"
    lines = _code_lines(ci.read_text(encoding="utf-8"))
    assert any(re.search(r"\bmake\b(\s+-\S+)*\s+test\b", ln) for ln in lines), (
        ".ci/run must run `make test`; non-comment lines are:\n" + "\n".join(lines)
    )
    assert any("set -euo pipefail" in ln for ln in lines), ".ci/run must `set -euo pipefail`"


def test_readme_mentions_make_targets():
    readme = ROOT / "README.md"
    if not readme.is_file():
        pytest.skip("README.md does not exist yet")
    text = readme.read_text(encoding="utf-8")
    missing = [cmd for cmd in ("make test", "make demo") if cmd not in text]
    assert not missing, f"README.md should mention {missing}"
