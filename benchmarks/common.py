"""What both benchmarks share: child processes, peak-memory marks, the machine description."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

MARK = "BENCH_RESULT "  # a child prints its measurement as one JSON line after this mark


def status_kb(field: str) -> int | None:
    """A ``/proc/self/status`` field in KiB (``VmRSS``, ``VmHWM``), None where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def maxrss_bytes() -> int:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r if sys.platform == "darwin" else r * 1024  # Linux reports KiB


def reset_hwm() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so it covers only what follows (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def report(measurement: dict[str, Any]) -> None:
    """Hand a child's measurement to the parent (see ``run_child``)."""
    print(MARK + json.dumps(measurement), flush=True)


def run_child(
    script: Path, args: list[str], env: dict[str, str] | None = None, timeout: float | None = None
) -> dict[str, Any]:
    """Run ``script args`` in a fresh interpreter and return the last measurement it reported."""
    cmd = [sys.executable, str(Path(script).resolve()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-20000:])
        raise SystemExit(f"child {' '.join(args)} failed with exit code {proc.returncode}")
    result: dict[str, Any] = json.loads(lines[-1][len(MARK) :])
    return result


def machine(*dists: str) -> dict[str, Any]:
    """CPU, memory, Python and library versions (plus the given distributions') of this machine."""
    from importlib.metadata import PackageNotFoundError, version

    import numpy as np
    import pandas as pd

    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu_model"] = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), None)
        with open("/proc/meminfo") as f:
            kb = next(int(ln.split()[1]) for ln in f if ln.startswith("MemTotal:"))
            info["memory_gib"] = round(kb / 1024**2, 1)
    except (OSError, StopIteration):
        pass
    for dist in dists:
        try:
            info[dist] = version(dist)
        except PackageNotFoundError:
            info[dist] = None
    return info


def git_head(root: Path) -> str | None:
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        return head.stdout.strip() or None
    except OSError:
        return None


def mib(x: float | None) -> str:
    return "-" if x is None else f"{x / 1024**2:,.0f}"


def record_header(name: str, started: Any, argv: list[str] | None) -> dict[str, Any]:
    """The first keys of a benchmark's JSON record: which benchmark, when, and the command."""
    import datetime as dt

    return {
        "benchmark": name,
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(
            [Path(sys.executable).name, f"benchmarks/{name}.py", *(argv if argv is not None else sys.argv[1:])]
        ),
    }
