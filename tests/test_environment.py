"""The environment is pinned and every entry point installs exactly the pins.

* requirements.lock pins every package of pyproject.toml (runtime and test extras) to a version
  its specifier allows, with hashes; this interpreter's environment is exactly the lock
  (`pip freeze` equals it), which is what `make venv` promises on a fresh clone;
* environment.yml (conda) installs the same lock; .ci/run runs `make test`; the Makefile installs
  from the lock and runs ruff and mypy before the tests; README documents the commands.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import yaml
from conftest import pip_freeze
from packaging.markers import Marker
from packaging.requirements import Requirement

from scoring.runs.environment import canonical, distributions

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
# what a venv holds before anything is installed into it (pip freeze leaves them out too)
VENV_SEED = {"pip", "setuptools", "wheel"}
# `name==version ; marker \` at the start of a lock entry (its hashes follow on `--hash` lines)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)\s*(?:;\s*(.+?))?\s*\\?$")


def lock_entries() -> list[tuple[str, str, str | None, int]]:
    """(name, version, marker, number of hashes) of every entry of requirements.lock."""
    entries: list[tuple[str, str, str | None, int]] = []
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if m := _PIN.match(line):
            entries.append((canonical(m.group(1)), m.group(2), m.group(3), 0))
        elif line.strip().startswith("--hash=sha256:") and entries:
            name, version, marker, hashes = entries[-1]
            entries[-1] = (name, version, marker, hashes + 1)
    return entries


def lock_pins() -> dict[str, str]:
    """The pins that apply to this interpreter and platform (markers evaluated here)."""
    return {name: version for name, version, marker, _ in lock_entries() if marker is None or Marker(marker).evaluate()}


def pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(s) for s in [*project["dependencies"], *project["optional-dependencies"]["test"]]]


def test_lock_pins_every_requirement_within_its_specifier() -> None:
    pins = lock_pins()
    wrong = [
        f"{req}: locked {pins.get(canonical(req.name), 'nothing')}"
        for req in pyproject_requirements()
        if canonical(req.name) not in pins or not req.specifier.contains(pins[canonical(req.name)], prereleases=True)
    ]
    assert not wrong, "requirements.lock is stale: run `make lock`\n" + "\n".join(wrong)


def test_lock_has_one_version_and_hashes_per_entry() -> None:
    entries = lock_entries()
    assert len(entries) > 100  # the whole environment, not only the direct requirements
    assert [e for e in entries if e[3] == 0] == [], "every pin carries its hashes"
    assert len(lock_pins()) == len({e[0] for e in entries if e[2] is None or Marker(e[2]).evaluate()})


def test_installed_environment_is_exactly_the_lock() -> None:
    """`pip freeze` of the interpreter running the tests equals the lock (the project itself and
    the venv's own pip aside)."""
    installed = pip_freeze()
    pins = lock_pins()
    missing = {n: v for n, v in pins.items() if installed.get(n) != v and n not in VENV_SEED}
    extra = {n: v for n, v in installed.items() if pins.get(n) != v and n not in VENV_SEED}
    assert not missing and not extra, (
        "the environment is not the lock (run `make venv`; a changed lock rebuilds .venv):\n"
        f"  locked but not installed as locked: {missing}\n  installed but not locked: {extra}"
    )


def test_distributions_reads_what_pip_reads() -> None:
    """The manifest's package list (read from the install folders' names) is pip's own list."""
    by_pip = pip_freeze(everything=True)
    ours = distributions([p for p in sys.path if p])
    assert {n: v for n, v in ours.items() if n != "scoring"} == by_pip
    assert "scoring" in ours  # the editable install has its dist-info too


def test_environment_yml_installs_the_lock() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env.get("name") == "scoring"
    assert "conda-forge" in (env.get("channels") or [])
    deps = env.get("dependencies") or []
    # the interpreter the lock was resolved for (make lock: --python-version 3.11)
    assert "python=3.11" in deps
    assert "--python-version 3.11" in (ROOT / "Makefile").read_text(encoding="utf-8")
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert pip_sections == [["--require-hashes", "-r requirements.lock"]]
    # nothing else is installed by conda: every package comes from the lock
    assert sorted(d for d in deps if isinstance(d, str)) == ["pip", "python=3.11"]


def _code_lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def test_ci_run_invokes_make_test() -> None:
    ci = ROOT / ".ci" / "run"
    assert ci.is_file(), ".ci/run is missing"
    lines = _code_lines(ci.read_text(encoding="utf-8"))
    assert any(re.search(r"\bmake\b(\s+-\S+)*\s+test\b", ln) for ln in lines), (
        ".ci/run must run `make test`; non-comment lines are:\n" + "\n".join(lines)
    )
    assert any("set -euo pipefail" in ln for ln in lines), ".ci/run must `set -euo pipefail`"


def test_makefile_installs_the_lock_and_checks_before_testing() -> None:
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install --require-hashes --no-deps -r $(LOCK)" in make
    assert re.search(r"^test: .*\bcheck\b", make, re.MULTILINE), "make test runs the checks first"
    for command in ("ruff check .", "ruff format --check .", "-m mypy"):
        assert command in make


def test_readme_mentions_make_targets() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [cmd for cmd in ("make test", "make demo", "make lock", "make check") if cmd not in text]
    assert not missing, f"README.md should mention {missing}"
