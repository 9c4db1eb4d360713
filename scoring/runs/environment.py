"""The software environment a run was made in: the interpreter and every installed distribution.

A run's manifest records it (``environment``) with one SHA-256 over the list, so that a reviewer
can tell years later which pandas, openpyxl or xlsxwriter computed and wrote its figures, rebuild
that environment from ``requirements.lock``, and see in ``verify`` and ``diff`` which packages
changed since. Distributions are read from the ``*.dist-info`` / ``*.egg-info`` folder names on
the interpreter's ``sys.path`` (the names that installers write), not from their metadata files:
that takes about a millisecond instead of the 150 ms ``importlib.metadata`` needs for 150 packages.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import RunError

# The packages that compute, read and write a run's figures and pages: shown in the executed
# notebook's environment cell (the manifest keeps every distribution).
MAIN_PACKAGES: tuple[str, ...] = (
    "pandas",
    "numpy",
    "openpyxl",
    "xlsxwriter",
    "python-calamine",
    "pydantic",
    "pyyaml",
    "papermill",
    "ipykernel",
    "matplotlib",
)
PYTHON = "python"  # the interpreter's row in a package comparison
ABSENT = "(未安装 not installed)"
DIFF_COLUMNS = ["package", "recorded", "now"]


def canonical(name: str) -> str:
    """A distribution name as packaging compares them (PEP 503): lower case, runs of ``-_.`` -> ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _folder_distribution(folder: str) -> tuple[str, str] | None:
    """``(name, version)`` of an install folder ``name-version.dist-info`` (or ``.egg-info``)."""
    for suffix in (".dist-info", ".egg-info"):
        if folder.endswith(suffix):
            parts = folder[: -len(suffix)].split("-")
            if len(parts) >= 2 and parts[0] and parts[1]:
                return canonical(parts[0]), parts[1]
    return None


def distributions(path: list[str]) -> dict[str, str]:
    """Every distribution installed on ``path`` (a ``sys.path``), name -> version, sorted by name.

    Where a name is installed twice, the first on the path wins: that is the one imports load."""
    found: dict[str, str] = {}
    for entry in path:
        try:
            folders = os.listdir(entry or ".")
        except OSError:  # a zip file, a missing folder
            continue
        for folder in sorted(folders):
            dist = _folder_distribution(folder)
            if dist is not None:
                found.setdefault(*dist)
    return dict(sorted(found.items()))


def fingerprint(python: str, packages: dict[str, str]) -> str:
    """SHA-256 over ``python==X.Y.Z`` and every ``name==version`` line, sorted by name."""
    lines = [f"{PYTHON}=={python}", *(f"{name}=={version}" for name, version in sorted(packages.items()))]
    return hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()


# run by the interpreter in question; '' (its working folder) is not where packages are installed
_FACTS = (
    "import json, platform, sys; "
    "print(json.dumps([[p for p in sys.path if p], platform.python_version(), platform.python_implementation()]))"
)


@functools.lru_cache(maxsize=8)
def _interpreter_facts(interpreter: str, pythonpath: str) -> tuple[tuple[str, ...], str, str]:
    """``sys.path``, Python version and implementation of ``interpreter`` started with this
    process's environment variables, as papermill starts a kernel (``PYTHONPATH`` is part of the
    cache key: it changes the path). Asked once per process: the path does not change, while the
    folders on it are listed again for every run."""
    try:
        done = subprocess.run([interpreter, "-c", _FACTS], capture_output=True, text=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RunError(f"无法读取运行环境 (cannot read the environment of {interpreter}): {exc}") from exc
    path, version, implementation = json.loads(done.stdout)
    return tuple(str(p) for p in path), str(version), str(implementation)


def describe(interpreter: str | None = None) -> dict[str, Any]:
    """The environment of ``interpreter`` (default: this process's), as a manifest records it."""
    path, version, implementation = _interpreter_facts(interpreter or sys.executable, os.environ.get("PYTHONPATH", ""))
    packages = distributions(list(path))
    return {
        "python": version,
        "implementation": implementation,
        "platform": f"{platform.system()}-{platform.machine()}",
        "packages": packages,
        "sha256": fingerprint(version, packages),
    }


def main_packages(environment: dict[str, Any]) -> pd.DataFrame:
    """The interpreter and the main packages (``MAIN_PACKAGES``) with their versions."""
    packages: dict[str, str] = environment["packages"]
    rows = [("Python", f"{environment['implementation']} {environment['python']}")]
    rows += [(name, packages.get(name, ABSENT)) for name in MAIN_PACKAGES]
    return pd.DataFrame(rows, columns=["软件包 (package)", "版本 (version)"])


def differences(recorded: dict[str, Any], now: dict[str, Any]) -> pd.DataFrame:
    """Every package (and the interpreter) whose version differs between two environments:
    ``package, recorded, now``; a package on one side only shows ``ABSENT`` on the other."""
    a: dict[str, str] = {PYTHON: recorded.get("python", ""), **recorded.get("packages", {})}
    b: dict[str, str] = {PYTHON: now.get("python", ""), **now.get("packages", {})}
    rows = [
        (name, a.get(name, ABSENT), b.get(name, ABSENT))
        for name in sorted(a.keys() | b.keys())
        if a.get(name) != b.get(name)
    ]
    return pd.DataFrame(rows, columns=DIFF_COLUMNS)


def interpreter_shown(executable: str = sys.executable, prefix: str = sys.prefix) -> str:
    """The interpreter relative to the folder that holds its environment: ``.venv/bin/python``
    for ``/srv/scoring/.venv/bin/python``; only its file name when it lies outside ``prefix``."""
    path = Path(executable)
    try:
        return path.relative_to(Path(prefix).parent).as_posix()
    except ValueError:
        return path.name
