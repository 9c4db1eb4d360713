#!/usr/bin/env python
"""Benchmark (not a test): write the results workbook and read an input workbook, against floors.

    python benchmarks/bench_workbook.py                    # 30 and 50,000 members, 3 repeats
    python benchmarks/bench_workbook.py --smoke            # quick smoke run (2,000 members, 1 repeat)
    python benchmarks/bench_workbook.py --profile          # + one cProfile'd run of the big write and read
    python benchmarks/bench_workbook.py --big-write-repeat 1   # the big write once (it takes hours)

What is measured, each in a fresh subprocess so that peak memory is per measurement:

* write: ``scoring.outputs.excel.write_results_workbook(result, path, provenance)`` for the year 2025 of a
  30-member branch and of a 50,000-member unit treated as one branch (``--members``), built-in
  scheme ``county-10-stars``. The ``Result`` is scored once before (untimed) and pickled;
* write floor: the bare xlsxwriter library writing, in the same kind of process, the same number
  of cells per sheet as the results workbook holds (numbers with ``write_number``, strings with
  ``write_string`` drawn from as many distinct strings, formulas ``=A1+A1+...`` as long as the
  sheet's formulas on average with ``write_formula`` and a cached number or text value, comments
  with ``write_comment``), row by row into sheets of the same names and widths; no formats,
  merges or page set-up;
* read: ``scoring.inputs.reading.load_inputs(path, parse_period("2025"))`` on the input workbook
  (python-calamine reading + validation into typed tables);
* read floor: bare python-calamine reading every sheet of the same workbook
  (``CalamineWorkbook.from_path(p).get_sheet_by_name(name).to_python(skip_empty_area=False)``);
* for information, once each (``--info-repeat``): openpyxl ``read_only`` reading the same cells,
  and ``pandas.read_excel(sheet_name=None, header=None, engine="calamine")``.

Not timed, cached in ``--cache-dir`` (default ``$TMPDIR/scoring-bench``): generating the input
workbooks (the 30-member one with ``scoring.inputs.demo.branch_tables``, the big one with vectorised
tables of the same columns; both written by ``scoring.inputs.demo.write_input_workbook``, openpyxl),
and, per version of ``scoring/``, one ``load_inputs`` + ``score`` whose ``Result`` is pickled.
The first timed write of each case (per version of ``scoring/``) keeps its workbook; its cells
are counted by kind from the XML (untimed, own process) before any floor runs.

Memory: ``VmHWM`` (the kernel's peak-RSS mark) reset just before the timed call, so "peak" is
the peak while the call ran, whatever the process held before (the loaded ``Result``) included;
``ru_maxrss`` of the whole process is in the JSON too.

Target (issue 3): writing within 1.5x of its floor; reading: the ratio is reported.
Results are printed and written as JSON to ``benchmarks/results/`` (gitignored).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import hashlib
import json
import os
import pickle
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)  # benchmark the working tree's scoring/, not an installed copy

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from common import MARK, git_head, maxrss_bytes, mib, record_header, reset_hwm, run_child, status_kb  # noqa: E402
from common import machine as _machine  # noqa: E402

SCHEME = "county-10-stars"
PERIOD = "2025"
YEAR = 2025
GEN_VERSION = 1  # bump when the generated workbooks change, so stale caches are not reused
CELLS_VERSION = 2  # bump when count_cells records more, so stale cell counts are not reused
RESULTS_DIR = ROOT / "benchmarks" / "results"
TARGET_WRITE_RATIO = 1.5
EXCEL_MAX_ROWS = 1_048_576  # rows per worksheet; xlsxwriter drops cells beyond it (returns -1)

N_RATERS = 10  # ballots per member (the scheme's minimum)
N_ADJUSTMENTS = 3000
N_VETOES = 300
N_AMENDMENTS = 3000


# -- synthetic input workbooks (not timed) ------------------------------------------------------


def _half_points(rng: np.random.Generator, level: np.ndarray, spread: float, hi: float) -> np.ndarray:
    """Scores around each row's level, in steps of 0.5, clipped to 0..hi."""
    return np.clip(np.round((level + rng.normal(0.0, spread, level.shape)) * 2.0) / 2.0, 0.0, hi)


def _dates(rng: np.random.Generator, n: int) -> list[dt.date]:
    start = dt.date(YEAR, 1, 1)
    return [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 365, n)]


def big_sheets(n: int, seed: int) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The input sheets of one unit of ``n`` members treated as one branch, all in it all year.

    Same columns as ``scoring.inputs.demo.branch_tables`` (text months ``2025-01``, dates as dates), but
    vectorised: 12 months x 10 items per member, ``N_RATERS`` appraisal ballots each rating every
    member, a few thousand adjustments and amendments, a few hundred vetoes; no self scores,
    attendance or dues. Levels U(6.5, 10) + N(0, 0.8) noise in steps of 0.5, as bench_engine.
    """
    from scoring.inputs.demo import make_names
    from scoring.rules.scheme import load_scheme

    sch = load_scheme(SCHEME).scheme
    items = sch.item_codes
    rng = np.random.default_rng(seed)
    ids = np.array([f"U{i:06d}" for i in range(1, n + 1)], dtype=object)
    # made-up distinct names while the two-or-three-character space allows, numbered beyond
    names = make_names(rng, n) if n <= 60_000 else [f"党员{i:07d}" for i in range(1, n + 1)]
    level = rng.uniform(6.5, 10.0, n)
    members = pd.DataFrame(
        {
            "member_id": ids,
            "name": names,
            "member_type": rng.choice(
                np.array(["在职党员", "在职党员", "无职党员", "流动党员", "机关", "企业"], dtype=object), size=n
            ),
            "role": ["secretary"] + ["member"] * (n - 1),
            "joined": [None] * n,
            "left": [None] * n,
            "exempt": [False] * n,
            "exempt_reason": [None] * n,
            "exempt_stars": [None] * n,
        }
    )
    month_text = np.array([f"{YEAR}-{m:02d}" for m in range(1, 13)], dtype=object)
    m_level = np.tile(level, 12)
    monthly = pd.DataFrame({"member_id": np.tile(ids, 12), "month": np.repeat(month_text, n)})
    for code in items:
        monthly[code] = _half_points(rng, m_level, 0.8, 10.0)
    monthly["note"] = None

    kinds = np.array(["党员"] * (N_RATERS - 3) + ["群众代表"] * 3, dtype=object)
    a_level = np.tile(level, N_RATERS)
    appraisal = pd.DataFrame(
        {
            "ballot_no": np.repeat(np.array([f"P{b:03d}" for b in range(1, N_RATERS + 1)], dtype=object), n),
            "rater_kind": np.repeat(kinds, n),
            "member_id": np.tile(ids, N_RATERS),
        }
    )
    for code in items:
        appraisal[code] = _half_points(rng, a_level, 0.8, 10.0)

    rules = sch.adjustments.rules
    pick = rng.integers(0, len(rules), N_ADJUSTMENTS)
    explicit = rng.random(N_ADJUSTMENTS) < 0.1
    signed = np.array([r.signed_points / 2.0 for r in rules])[pick]
    adjustments = pd.DataFrame(
        {
            "member_id": ids[rng.integers(0, n, N_ADJUSTMENTS)],
            "date": _dates(rng, N_ADJUSTMENTS),
            "rule_code": np.array([r.code for r in rules], dtype=object)[pick],
            "points": [float(p) if e else None for p, e in zip(signed, explicit, strict=True)],
            "evidence": ["表彰或处分文件"] * N_ADJUSTMENTS,
            "approved_by": ["支委会"] * N_ADJUSTMENTS,
            "note": [None] * N_ADJUSTMENTS,
        }
    )
    nv = min(N_VETOES, max(1, n // 10))
    conds = [c.name for c in sch.veto.conditions]
    vetoes = pd.DataFrame(
        {
            "member_id": ids[rng.choice(n, nv, replace=False)],
            "date": _dates(rng, nv),
            "condition": np.array(conds, dtype=object)[rng.integers(0, len(conds), nv)],
            "votes_for": [None] * nv,
            "votes_against": [None] * nv,
            "note": ["经支部大会决定"] * nv,
        }
    )
    na = min(N_AMENDMENTS, n * 12 * len(items))
    cells = rng.choice(n * 12 * len(items), na, replace=False)
    a_member, rest = np.divmod(cells, 12 * len(items))
    a_month, a_item = np.divmod(rest, len(items))
    amendments = pd.DataFrame(
        {
            "member_id": ids[a_member],
            "month": month_text[a_month],
            "item": np.array(items, dtype=object)[a_item],
            "new_score": rng.integers(0, 21, na) / 2.0,
            "reason": ["党员提出异议, 支委会复核后更正"] * na,
            "decided_on": _dates(rng, na),
        }
    )
    branch = {
        "branch_id": "U001",
        "branch_name": f"合成单位 ({n:,} 名党员, 视为一个支部)",
        "scheme": SCHEME,
        "year": YEAR,
    }
    return branch, {
        "members": members,
        "monthly_scores": monthly,
        "appraisal": appraisal,
        "adjustments": adjustments,
        "vetoes": vetoes,
        "amendments": amendments,
    }


def small_sheets(n: int, seed: int) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """A demo branch of ``n`` members from ``scoring.inputs.demo.branch_tables`` (every sheet filled:
    self scores, 12 ballots, attendance and dues; a joiner, a leaver, an exempt member)."""
    from scoring.inputs.demo import BranchSpec, branch_tables

    return branch_tables(BranchSpec("B030", "县直机关第三十党支部", SCHEME, n, 0.90), YEAR, seed)


# -- counting the cells of a written workbook (not timed) ---------------------------------------

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RNS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def count_cells(path: Path) -> list[dict[str, Any]]:
    """Per sheet, in workbook order: cells by kind, read from the package's XML.

    numbers / strings (shared strings, with the number of distinct ones) / formulas with a cached
    number and with a cached text / booleans / comments, and the width (columns) and height.
    """
    import xml.etree.ElementTree as ET

    out: list[dict[str, Any]] = []
    with zipfile.ZipFile(path) as z:
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        rels = {r.get("Id"): r.get("Target") for r in ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))}
        for sh in wb.iter(f"{_NS}sheet"):
            target = rels[sh.get(f"{_RNS}id")]
            assert target is not None, "a sheet's relationship has a target"
            target = target.lstrip("/")
            part = target if target.startswith("xl/") else "xl/" + target
            name = sh.get("name")
            c = {
                "numbers": 0,
                "strings": 0,
                "formulas_num": 0,
                "formulas_str": 0,
                "booleans": 0,
                "other": 0,
                "comments": 0,
                "formula_chars": 0,
                "ncol": 0,
                "nrow": 0,
            }
            sst: set[str] = set()
            with z.open(part) as f:
                for _, el in ET.iterparse(f, events=("end",)):
                    if el.tag == f"{_NS}c":
                        t = el.get("t", "n")
                        has_f = el.find(f"{_NS}f") is not None
                        v = el.find(f"{_NS}v")
                        if has_f:
                            c["formulas_str" if t == "str" else "formulas_num"] += 1
                            c["formula_chars"] += len(el.find(f"{_NS}f").text or "") + 1  # + the leading "="
                        elif t == "s":
                            c["strings"] += 1
                            sst.add(v.text if v is not None else "")
                        elif t == "n" and v is not None:
                            c["numbers"] += 1
                        elif t == "b":
                            c["booleans"] += 1
                        elif v is not None or el.find(f"{_NS}is") is not None:
                            c["other"] += 1
                        else:
                            continue  # a formatted blank
                        m = re.match(r"([A-Z]+)(\d+)", el.get("r", ""))
                        if m:
                            col = 0
                            for ch in m.group(1):
                                col = col * 26 + ord(ch) - 64
                            c["ncol"] = max(c["ncol"], col)
                            c["nrow"] = max(c["nrow"], int(m.group(2)))
                    elif el.tag == f"{_NS}row":
                        el.clear()
            c["distinct_strings"] = len(sst)
            rels_part = part.replace("worksheets/", "worksheets/_rels/") + ".rels"
            if rels_part in z.namelist():
                for r in ET.fromstring(z.read(rels_part)).iter(f"{_PKG}Relationship"):
                    if r.get("Type", "").endswith("/comments"):
                        comments = r.get("Target")
                        assert comments is not None, "a comments relationship has a target"
                        cpart = os.path.normpath(os.path.join(os.path.dirname(part), comments)).replace(os.sep, "/")
                        c["comments"] += z.read(cpart).count(b"<comment ")
            out.append({"name": name, **c})
    return out


def cell_total(sheets: list[dict[str, Any]]) -> int:
    return sum(
        s["numbers"] + s["strings"] + s["formulas_num"] + s["formulas_str"] + s["booleans"] + s["other"] for s in sheets
    )


# -- the timed calls ---------------------------------------------------------------------------

_FLOOR_NUMBERS = [k / 2.0 for k in range(21)]


def floor_prepare(sheets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The strings each floor sheet writes, made before the clock starts."""
    plan = []
    for s in sheets:
        k = max(1, s["distinct_strings"])
        nf = s["formulas_num"] + s["formulas_str"]
        # formulas as long as the workbook's on average: xlsxwriter runs ~30 regex passes over
        # every formula's text, so its cost grows with the length
        mean_len = round(s.get("formula_chars", 3 * nf) / nf) if nf else 3
        formula = "=A1" + "+A1" * max(0, (mean_len - 3) // 3)
        plan.append(s | {"pool": [f"党员文本{j:07d}" for j in range(k)], "ncol": max(1, s["ncol"]), "formula": formula})
    return plan


def floor_write(path: Path, plan: list[dict[str, Any]]) -> None:
    """Bare xlsxwriter: the same cells per sheet by kind, row by row, no formats."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    nums = _FLOOR_NUMBERS
    for s in plan:
        ws = wb.add_worksheet(s["name"])
        ncol, pool, formula = s["ncol"], s["pool"], s["formula"]
        npool = len(pool)
        k = 0
        for j in range(s["numbers"]):
            r, c = divmod(k, ncol)
            ws.write_number(r, c, nums[j % 21])
            k += 1
        for j in range(s["strings"]):
            r, c = divmod(k, ncol)
            ws.write_string(r, c, pool[j % npool])
            k += 1
        for j in range(s["formulas_num"]):
            r, c = divmod(k, ncol)
            ws.write_formula(r, c, formula, None, nums[j % 21])
            k += 1
        for _ in range(s["formulas_str"]):
            r, c = divmod(k, ncol)
            ws.write_formula(r, c, formula, None, "OK")
            k += 1
        for _ in range(s["booleans"] + s["other"]):
            r, c = divmod(k, ncol)
            ws.write_boolean(r, c, True)
            k += 1
        for j in range(s["comments"]):
            ws.write_comment(j % max(1, k // ncol), 0, "已更正: 原 8.5 → 9; 党员提出异议, 支委会复核后更正; 2025-07-15")
    wb.close()


def provenance_of(result: Any) -> dict[str, Any]:
    """The provenance dict ``scoring.runs.execute.run_branch`` passes (fixed git fields)."""
    from scoring import __version__

    sch = result.scheme
    book = result.book
    return {
        "branch_id": result.branch_id,
        "branch_name": result.branch_name,
        "period": result.period.text,
        "input_file": Path(book.path).name if book is not None else "",
        "input_sha256": book.sha256 if book is not None else "",
        "scheme_name": sch.name,
        "scheme_version": sch.version,
        "scheme_sha256": sch.sha256,
        "package_version": __version__,
        "git_commit": "0" * 40,
        "git_dirty": "False",
        "started_at": "2026-01-01T00:00:00+00:00",
    }


def read_calamine(path: Path) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in wb.sheet_names}


def read_openpyxl(path: Path) -> dict[str, Any]:
    from openpyxl import load_workbook

    wb = load_workbook(str(path), read_only=True, data_only=True)
    try:
        return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    finally:
        wb.close()


def read_pandas(path: Path) -> dict[str, Any]:
    return pd.read_excel(path, sheet_name=None, header=None, engine="calamine")


def _sheet_cells(sheets: dict[str, Any]) -> dict[str, int]:
    """Non-blank values and grid size of what a reader returned (lists of rows or DataFrames)."""
    values = grid = 0
    for rows in sheets.values():
        if isinstance(rows, pd.DataFrame):
            grid += rows.size
            values += int(rows.notna().to_numpy().sum())
            continue
        for r in rows:
            grid += len(r)
            values += sum(1 for v in r if v is not None and v != "")
    return {"values": values, "grid": grid}


# -- child processes ---------------------------------------------------------------------------


def child(mode: str, case_file: Path, profile_out: Path | None, keep: bool = False) -> None:
    case = json.loads(case_file.read_text(encoding="utf-8"))
    inp = Path(case["input"])

    if mode == "generate":
        from scoring.inputs.demo import write_input_workbook
        from scoring.rules.scheme import load_scheme

        t = time.perf_counter()
        gen = small_sheets if case["kind"] == "small" else big_sheets
        branch, sheets = gen(case["members"], case["seed"])
        tables_s = time.perf_counter() - t
        t = time.perf_counter()
        tmp = inp.with_name(inp.stem + ".tmp.xlsx")
        write_input_workbook(tmp, branch, sheets, load_scheme(SCHEME).scheme)
        tmp.replace(inp)
        print(
            MARK
            + json.dumps(
                {
                    "tables_s": tables_s,
                    "write_s": time.perf_counter() - t,
                    "bytes": inp.stat().st_size,
                    "rows": {k: len(v) for k, v in sheets.items()},
                }
            )
        )
        return

    if mode == "prepare":  # one scoring, pickled for the write measurements
        from scoring.inputs.reading import load_inputs
        from scoring.rules.engine import score
        from scoring.rules.periods import parse_period

        t = time.perf_counter()
        book, sch = load_inputs(inp, parse_period(PERIOD))
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        result = score(book, sch, parse_period(PERIOD))
        score_s = time.perf_counter() - t
        pkl = Path(case["result"])
        with open(pkl.with_suffix(".tmp"), "wb") as f:
            pickle.dump(result, f, protocol=5)
        pkl.with_suffix(".tmp").replace(pkl)
        print(MARK + json.dumps({"load_s": load_s, "score_s": score_s, "bytes": pkl.stat().st_size}))
        return

    if mode == "count":  # the cells of a results workbook a write measurement kept
        written = Path(os.environ["BENCH_WRITTEN"])
        t = time.perf_counter()
        counted = count_cells(written)
        info = {"count_s": time.perf_counter() - t, "bytes": written.stat().st_size, "sheets": counted}
        written.unlink()
        Path(case["cells"]).write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")
        print(MARK + json.dumps({"count_s": info["count_s"], "cells": cell_total(counted)}))
        return

    t = time.perf_counter()
    out_path = Path(case["out_dir"]) / f"{mode}-{os.getpid()}.xlsx"
    call: Callable[[], Any]  # what it returns depends on the mode
    if mode == "write":
        import scoring.outputs.excel

        with contextlib.suppress(ImportError):
            import scoring.outputs.publicity  # noqa: F401  (write_results_workbook imports it inside)
        from scoring.outputs.excel import write_results_workbook

        with open(case["result"], "rb") as f:
            result = pickle.load(f)
        prov = provenance_of(result)
        call = lambda: write_results_workbook(result, out_path, prov)  # noqa: E731
    elif mode == "write_floor":
        import xlsxwriter  # noqa: F401

        counted = json.loads(Path(case["cells"]).read_text(encoding="utf-8"))["sheets"]
        plan = floor_prepare(counted)
        call = lambda: floor_write(out_path, plan)  # noqa: E731
    elif mode == "read":
        from scoring.inputs.reading import load_inputs
        from scoring.rules.periods import parse_period

        period = parse_period(PERIOD)
        call = lambda: load_inputs(inp, period)  # noqa: E731
    elif mode == "read_floor":
        import python_calamine

        call = lambda: read_calamine(inp)  # noqa: E731
    elif mode == "read_openpyxl":
        import openpyxl  # noqa: F401

        call = lambda: read_openpyxl(inp)  # noqa: E731
    elif mode == "read_pandas":
        import python_calamine  # noqa: F401

        call = lambda: read_pandas(inp)  # noqa: E731
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    load_s = time.perf_counter() - t
    gc.collect()

    rss_load = (status_kb("VmRSS") or 0) * 1024
    hwm_reset = reset_hwm()
    profiler = None
    if profile_out is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    c0, t0 = time.process_time(), time.perf_counter()
    out = call()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(profile_out))
    hwm = (status_kb("VmHWM") or 0) * 1024 if hwm_reset else None
    maxrss = maxrss_bytes()

    if mode in ("write", "write_floor"):
        check: dict[str, Any] = {"bytes": out_path.stat().st_size}
        if keep and mode == "write":
            check["kept"] = str(out_path)
        else:
            out_path.unlink()
    elif mode == "read":
        assert isinstance(out, tuple)  # load_inputs: (book, scheme)
        book = out[0]
        check = {
            "members": len(book.members),
            "monthly": len(book.monthly),
            "appraisal": len(book.appraisal),
            "amendments": len(book.amendments),
        }
    else:
        assert isinstance(out, dict)  # the sheets a reader returned
        check = _sheet_cells(out)
    print(
        MARK
        + json.dumps(
            {
                "mode": mode,
                "case": case["kind"],
                "wall_s": wall,
                "cpu_s": cpu,
                "load_s": load_s,
                "rss_after_load": rss_load,
                "hwm_during_call": hwm,
                "maxrss": maxrss,
                "check": check,
            }
        ),
        flush=True,
    )


def _run_child(args: list[str], timeout: float | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    return run_child(Path(__file__), args, env, timeout)


# -- the parent --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return _machine("xlsxwriter", "openpyxl", "python-calamine")


def scoring_hash() -> str:
    """One hash over every scoring/**/*.py: the cached Result and cell counts follow the code."""
    h = hashlib.sha256()
    for p in sorted((ROOT / "scoring").rglob("*.py")):
        h.update(p.relative_to(ROOT / "scoring").as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:12]


def code_version() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for rel in (
        "scoring/outputs/excel.py",
        "scoring/outputs/publicity.py",
        "scoring/inputs/reading.py",
        "scoring/rules/engine.py",
        "scoring/inputs/demo.py",
    ):
        p = ROOT / rel
        if p.exists():
            out[rel + " sha256"] = hashlib.sha256(p.read_bytes()).hexdigest()[:16]
    out["scoring/*.py hash"] = scoring_hash()
    out["git_head"] = git_head(ROOT)
    try:
        st = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "scoring"], capture_output=True, text=True
        )
        out["scoring_changes"] = st.stdout.splitlines()
    except OSError:
        out["scoring_changes"] = None
    return out


def _peak(r: dict[str, Any]) -> int:
    return int(r["hwm_during_call"] if r["hwm_during_call"] is not None else r["maxrss"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--members", type=int, default=50_000, help="members in the big case (default 50,000)")
    ap.add_argument("--small", type=int, default=30, help="members in the small branch (default 30)")
    ap.add_argument("--repeat", type=int, default=3, help="measurements of each call and floor (default 3)")
    ap.add_argument(
        "--big-write-repeat",
        type=int,
        help="measurements of the big write (default: --repeat; its floor always gets --repeat)",
    )
    ap.add_argument(
        "--info-repeat",
        type=int,
        default=1,
        help="runs of the openpyxl and pandas readers, for information (default 1; 0 skips them)",
    )
    ap.add_argument("--smoke", action="store_true", help="quick run: --members 2000 --repeat 1")
    ap.add_argument("--only", choices=["write", "read"], help="only the write or only the read benchmark")
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "scoring-bench",
        help="where generated workbooks and scored Results are cached",
    )
    ap.add_argument("--regenerate", action="store_true", help="ignore cached workbooks and Results")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR, help="directory for the JSON results")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="also run the big write and the big read once under cProfile and print the top functions",
    )
    ap.add_argument("--check", action="store_true", help="exit 1 if a write ratio misses the target")
    ap.add_argument("--timeout", type=float, default=6 * 3600.0, help="seconds per child process (default 6 h)")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    ap.add_argument("--_case", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--_profile-out", dest="_profile_out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--_keep", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._child:
        child(args._child, args._case, args._profile_out, args._keep)
        return 0
    if args.smoke:
        args.members, args.repeat = 2000, 1

    started = dt.datetime.now().astimezone()
    cache = args.cache_dir
    out_dir = cache / "written"
    out_dir.mkdir(parents=True, exist_ok=True)
    code = scoring_hash()
    code_at_start = code_version()
    cases: dict[str, dict[str, Any]] = {}
    for kind, n in (("small", args.small), ("big", args.members)):
        stem = f"workbook-v{GEN_VERSION}-{kind}-n{n}-s{args.seed}"
        cases[kind] = {
            "kind": kind,
            "members": n,
            "seed": args.seed,
            "input": str(cache / f"{stem}.xlsx"),
            "result": str(cache / f"{stem}-scoring{code}-pandas{pd.__version__}.pkl"),
            "cells": str(cache / f"{stem}-scoring{code}-cells-v{CELLS_VERSION}.json"),
            "out_dir": str(out_dir),
        }
        cf = cache / f"{stem}.case.json"
        cf.write_text(json.dumps(cases[kind]), encoding="utf-8")
        cases[kind]["file"] = str(cf)

    setup: dict[str, Any] = {}
    for kind, case in cases.items():
        inp = Path(case["input"])
        if args.regenerate or not inp.exists():
            print(
                f"generating the {kind} input workbook, {case['members']:,} members, into {inp} (not timed) ...",
                flush=True,
            )
            g = _run_child(["--_child", "generate", "--_case", case["file"]], args.timeout)
            print(
                f"  tables {g['tables_s']:.1f} s, openpyxl write {g['write_s']:.1f} s, "
                f"{g['bytes'] / 1024**2:,.1f} MB, rows {g['rows']}",
                flush=True,
            )
            setup[f"generate_{kind}"] = g
        else:
            print(f"using cached input workbook {inp}", flush=True)
        if args.only != "read" and (args.regenerate or not Path(case["result"]).exists()):
            print(f"scoring the {kind} case once (not timed) ...", flush=True)
            pr = _run_child(["--_child", "prepare", "--_case", case["file"]], args.timeout)
            print(
                f"  load_inputs {pr['load_s']:.1f} s, score {pr['score_s']:.1f} s, "
                f"Result pickle {pr['bytes'] / 1024**2:,.1f} MB",
                flush=True,
            )
            setup[f"prepare_{kind}"] = pr
            Path(case["cells"]).unlink(missing_ok=True)
        case["input_bytes"] = inp.stat().st_size
        case["input_sha256"] = hashlib.sha256(inp.read_bytes()).hexdigest()[:16]

    bwr = args.repeat if args.big_write_repeat is None else args.big_write_repeat
    partial = args.out / f"bench_workbook-{started:%Y%m%dT%H%M%S}-n{args.members}.partial.json"
    args.out.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []

    def measure(kind: str, mode: str, i: int) -> None:
        # the floor needs the cell counts of the results workbook: the first write of a case
        # (per version of scoring/) keeps its file, which is counted (untimed) before the floor
        keep = mode == "write" and not Path(cases[kind]["cells"]).exists()
        r = _run_child(["--_child", mode, "--_case", cases[kind]["file"], *(["--_keep"] if keep else [])], args.timeout)
        r["run"] = i
        runs.append(r)
        print(f"  run {i} {kind:5s} {mode:13s} {r['wall_s']:9.3f} s  peak {mib(_peak(r))} MB", flush=True)
        if keep:
            cnt = _run_child(
                ["--_child", "count", "--_case", cases[kind]["file"]],
                args.timeout,
                {"BENCH_WRITTEN": r["check"].pop("kept")},
            )
            print(
                f"        counted {cnt['cells']:,} cells of the {kind} results workbook "
                f"in {cnt['count_s']:.1f} s (not timed)",
                flush=True,
            )
            setup[f"count_{kind}"] = cnt
        partial.write_text(json.dumps({"setup": setup, "runs": runs}, indent=1, ensure_ascii=False), encoding="utf-8")

    # small cases and reading first; the big write (the longest by far) last
    for i in range(1, args.repeat + 1):
        if args.only != "read":
            measure("small", "write", i)
            measure("small", "write_floor", i)
        if args.only != "write":
            for kind in ("small", "big"):
                measure(kind, "read", i)
                measure(kind, "read_floor", i)
    if args.only != "write":
        for i in range(1, args.info_repeat + 1):
            measure("big", "read_openpyxl", i)
            measure("big", "read_pandas", i)
    if args.only != "read":
        for i in range(1, max(bwr, args.repeat) + 1):
            if i <= bwr:
                measure("big", "write", i)
            if i <= args.repeat:
                measure("big", "write_floor", i)

    def sel(kind: str, mode: str) -> list[dict[str, Any]]:
        return [r for r in runs if r["case"] == kind and r["mode"] == mode]

    def med(kind: str, mode: str, key: str = "wall_s") -> float | None:
        rs = sel(kind, mode)
        return statistics.median(r[key] for r in rs) if rs else None

    cells_info = {
        k: json.loads(Path(c["cells"]).read_text(encoding="utf-8"))
        for k, c in cases.items()
        if Path(c["cells"]).exists()
    }
    summary: dict[str, Any] = {}
    rows: list[tuple[str, str, str, dict[str, Any]]] = []
    for kind in ("small", "big"):
        n = cases[kind]["members"]
        for what, call, floor in (("write", "write", "write_floor"), ("read", "read", "read_floor")):
            a, b = med(kind, call), med(kind, floor)
            if a is None or b is None:
                continue
            cpu_a, cpu_b = med(kind, call, "cpu_s"), med(kind, floor, "cpu_s")
            assert cpu_a is not None and cpu_b is not None  # the same runs as a and b
            entry = {
                "members": n,
                "median_s": a,
                "floor_median_s": b,
                "ratio": a / b,
                "median_cpu_s": cpu_a,
                "floor_median_cpu_s": cpu_b,
                "cpu_ratio": cpu_a / cpu_b,
                "peak_rss": max(_peak(r) for r in sel(kind, call)),
                "rss_before_call": statistics.median(r["rss_after_load"] for r in sel(kind, call)),
                "floor_peak_rss": max(_peak(r) for r in sel(kind, floor)),
                "runs_s": [r["wall_s"] for r in sel(kind, call)],
                "floor_runs_s": [r["wall_s"] for r in sel(kind, floor)],
            }
            if what == "write":
                sheets = cells_info[kind]["sheets"]
                entry["cells"] = cell_total(sheets)
                entry["cells_by_kind"] = {
                    k: sum(s[k] for s in sheets)
                    for k in ("numbers", "strings", "formulas_num", "formulas_str", "booleans", "other", "comments")
                }
                entry["bytes"] = sel(kind, call)[0]["check"]["bytes"]
                entry["floor_bytes"] = sel(kind, floor)[0]["check"]["bytes"]
                entry["sheets_at_row_limit"] = [s["name"] for s in sheets if s["nrow"] >= EXCEL_MAX_ROWS]
                entry["target_ratio"] = TARGET_WRITE_RATIO
                entry["ratio_ok"] = entry["ratio"] <= TARGET_WRITE_RATIO
            else:
                entry["cells"] = sel(kind, floor)[0]["check"]["values"]
                entry["grid_cells"] = sel(kind, floor)[0]["check"]["grid"]
                entry["bytes"] = cases[kind]["input_bytes"]
                entry["rows_read"] = sel(kind, call)[0]["check"]
            summary[f"{what}_{kind}"] = entry
            rows.append((what, kind, f"{n:,}", entry))
    for mode in ("read_openpyxl", "read_pandas"):
        a = med("big", mode)
        if a is not None and "read_big" in summary:
            summary[f"{mode}_big"] = {
                "median_s": a,
                "runs_s": [r["wall_s"] for r in sel("big", mode)],
                "vs_calamine_floor": a / summary["read_big"]["floor_median_s"],
                "peak_rss": max(_peak(r) for r in sel("big", mode)),
                "cells": sel("big", mode)[0]["check"]["values"],
            }

    profile_top: str | None = None
    if args.profile:
        import io
        import pstats

        buf = io.StringIO()
        args.out.mkdir(parents=True, exist_ok=True)
        for what in ("write",) if args.only == "write" else ("read",) if args.only == "read" else ("write", "read"):
            prof = args.out / f"workbook-{what}-n{args.members}.prof"
            print(f"profiling one big {what} under cProfile ...", flush=True)
            _run_child(["--_child", what, "--_case", cases["big"]["file"], "--_profile-out", str(prof)], args.timeout)
            buf.write(f"\n== {what}, {args.members:,} members: top by own time ==\n")
            pstats.Stats(str(prof), stream=buf).sort_stats("tottime").print_stats(25)
            buf.write(f"== {what}: scoring functions by cumulative time ==\n")
            pstats.Stats(str(prof), stream=buf).sort_stats("cumulative").print_stats("scoring", 25)
        profile_top = buf.getvalue()

    # -- report ------------------------------------------------------------------------------
    print()
    print(
        f"scheme {SCHEME}, period {PERIOD}; each measurement in a fresh process; "
        f"median of n runs (floor: of {args.repeat}); peak = VmHWM reset just before the call (MiB)"
    )
    hdr = (
        f"{'case':6} {'members':>8}  {'n':>2}  {'median s':>9}  {'floor s':>9}  {'ratio':>6}  {'cpu ratio':>9}  "
        f"{'peak MiB':>8}  {'floor peak':>10}  {'cells':>11}"
    )
    print(hdr)
    print("-" * len(hdr))
    for what, _kind, n_txt, e in rows:
        print(
            f"{what:6} {n_txt:>8}  {len(e['runs_s']):>2}  {e['median_s']:9.3f}  {e['floor_median_s']:9.3f}  "
            f"{e['ratio']:5.2f}x  {e['cpu_ratio']:8.2f}x  {mib(e['peak_rss']):>8}  {mib(e['floor_peak_rss']):>10}  "
            f"{e['cells']:>11,}"
        )
    for mode in ("read_openpyxl", "read_pandas"):
        info = summary.get(f"{mode}_big")
        if info:
            print(
                f"{mode} ({args.members:,} members): {info['median_s']:.2f} s = "
                f"{info['vs_calamine_floor']:.1f}x the calamine floor, peak {mib(info['peak_rss'])} MiB, "
                f"{info['cells']:,} values"
            )
    for kind in ("small", "big"):
        written = summary.get(f"write_{kind}")
        if written:
            print(
                f"write {kind}: ratio {written['ratio']:.2f}x (target <= {TARGET_WRITE_RATIO:g}x): "
                f"{'OK' if written['ratio_ok'] else 'MISSED'}"
            )
            if written["sheets_at_row_limit"]:
                print(
                    f"  WARNING: sheets at Excel's {EXCEL_MAX_ROWS:,}-row limit (cells beyond it were not written): "
                    f"{', '.join(written['sheets_at_row_limit'])}"
                )
    if profile_top:
        print(profile_top)

    if scoring_hash() != code:
        print("WARNING: scoring/ changed while the benchmark ran; see code_at_start and code in the JSON")
    args.out.mkdir(parents=True, exist_ok=True)
    record = {
        **record_header(Path(__file__).stem, started, argv),
        "members": args.members,
        "small": args.small,
        "repeat": args.repeat,
        "big_write_repeat": bwr,
        "info_repeat": args.info_repeat,
        "seed": args.seed,
        "scheme": SCHEME,
        "period": PERIOD,
        "cases": {k: {kk: vv for kk, vv in c.items() if kk != "file"} for k, c in cases.items()},
        "setup": setup,
        "results_workbook_cells": cells_info,
        "machine": machine(),
        "code": code_version(),
        "code_at_start": code_at_start,
        "load_average_at_end": os.getloadavg(),
        "summary": summary,
        "runs": runs,
    }
    path = args.out / f"bench_workbook-{started:%Y%m%dT%H%M%S}-n{args.members}.json"
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.unlink(missing_ok=True)
    print(f"\nwrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    if args.check and not all(e.get("ratio_ok", True) for e in summary.values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
