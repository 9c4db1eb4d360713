#!/usr/bin/env python
"""Benchmark (not a test): score a synthetic one-branch year with the engine alone.

    python benchmarks/bench_engine.py                    # 1,000,000 members, 3 repeats
    python benchmarks/bench_engine.py --members 20000    # quick smoke run
    python benchmarks/bench_engine.py --profile          # + one cProfile'd engine run

What is measured, each in a fresh subprocess so that peak memory is per measurement:

* engine: ``scoring.rules.engine.score(book, scheme, parse_period("2025"))`` on an ``InputBook`` built
  directly from DataFrames (no Excel, no validation) - members, 12 months x 10 items of monthly
  scores, 10 appraisal ballots per member, a few thousand adjustments and amendments and a few
  hundred vetoes, with the built-in ``county-10-stars`` scheme;
* floor: one bare ``monthly.groupby("member_id")[items].mean()`` over the same monthly table.

Generating the data is not timed: it runs once in its own subprocess and is cached as a pickle
(``--cache-dir``, default ``$TMPDIR/scoring-bench``); every measurement process loads that cache,
then times only its one call. Memory is the process's resident set: ``ru_maxrss`` (whole process,
including loading the cache) and the Linux high-water mark ``VmHWM`` reset just before the timed
call (so: the peak while the call ran), both also given minus the RSS right after loading.

Targets: engine median wall time within 5x the floor median, engine peak RSS under 6 GB.
Results are printed and written as JSON to ``benchmarks/results/`` (gitignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import os
import pickle
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (str(ROOT), str(Path(__file__).resolve().parent)):
    if _p not in sys.path:
        sys.path.insert(0, _p)  # benchmark the working tree's scoring/, not an installed copy

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from common import MARK, git_head, machine, maxrss_bytes, mib, record_header, reset_hwm, run_child, status_kb  # noqa: E402

SCHEME = "county-10-stars"
PERIOD = "2025"
YEAR = 2025
GEN_VERSION = 1  # bump when the generated data changes, so stale caches are not reused
RESULTS_DIR = ROOT / "benchmarks" / "results"
TARGET_RATIO = 5.0
TARGET_PEAK_BYTES = 6 * 1024**3  # 6 GiB; the JSON also says whether the peak is under 6 * 10**9 bytes

N_RATERS = 10  # ballots per member (scheme minimum)
N_ADJUSTMENTS = 3000
N_VETOES = 300
N_AMENDMENTS = 3000


# -- synthetic data (not timed) -----------------------------------------------------------------


def _str(values: Any) -> pd.Series:
    """A text column as the input reader makes it (pandas' default string dtype)."""
    return pd.Series(values, dtype="str")


def _na(n: int) -> np.ndarray:
    return np.full(n, pd.NA, dtype=object)


def _half_points(rng: np.random.Generator, level: np.ndarray, spread: float, hi: float) -> np.ndarray:
    """Scores around each row's level, in steps of 0.5, clipped to 0..hi."""
    return np.clip(np.round((level + rng.normal(0.0, spread, level.shape)) * 2.0) / 2.0, 0.0, hi)


def _dates(rng: np.random.Generator, n: int) -> np.ndarray:
    start = dt.date(YEAR, 1, 1)
    days = rng.integers(0, 365, n)
    return np.array([start + dt.timedelta(days=int(d)) for d in days], dtype=object)


def generate(n: int, seed: int) -> dict[str, Any]:
    """The tables of one synthetic branch-year with ``n`` members, all in the branch all year.

    Columns and dtypes follow what ``scoring.inputs.reading.load_inputs`` returns. Each member has a
    level drawn from U(6.5, 10); monthly and appraisal item scores are level + N(0, 0.8) noise in
    steps of 0.5, so grades spread over 优秀 / 合格 / 基本合格 / 不合格.
    """
    from scoring.rules.scheme import load_scheme

    sch = load_scheme(SCHEME).scheme
    items = sch.item_codes
    rng = np.random.default_rng(seed)
    ids = np.array([f"M{i:07d}" for i in range(1, n + 1)], dtype=object)
    level = rng.uniform(6.5, 10.0, n)

    members = pd.DataFrame(
        {
            "row": np.arange(2, n + 2, dtype=np.int64),
            "member_id": _str(ids),
            "name": _str([f"党员{i:07d}" for i in range(1, n + 1)]),
            "member_type": _str(np.full(n, "在职党员", dtype=object)),
            "role": _str(np.full(n, "member", dtype=object)),
            "joined_year": np.full(n, np.nan),
            "joined": np.full(n, np.nan),
            "left_year": np.full(n, np.nan),
            "left": np.full(n, np.nan),
            "exempt": np.zeros(n, dtype=bool),
            "exempt_reason": _na(n),
            "exempt_stars": np.full(n, np.nan),
            "joined_month": np.ones(n, dtype=np.int64),
            "left_month": np.full(n, 12, dtype=np.int64),
        }
    )

    # Monthly scores, month by month as a branch would enter them: all members for January, ...
    nm = 12 * n
    m_level = np.tile(level, 12)
    monthly = pd.DataFrame(
        {
            "row": np.arange(2, nm + 2, dtype=np.int64),
            "member_id": _str(np.tile(ids, 12)),
            "month_year": np.full(nm, float(YEAR)),
            "month": np.repeat(np.arange(1, 13, dtype=np.float64), n),
            "note": _na(nm),
        }
    )
    for code in items:
        monthly[code] = _half_points(rng, m_level, 0.8, 10.0)
    del m_level

    self_scores = pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "member_id": _str([]),
            "month_year": pd.Series(dtype="float64"),
            "month": pd.Series(dtype="float64"),
            "note": pd.Series(dtype=object),
        }
        | {code: pd.Series(dtype="float64") for code in items}
    )

    # Appraisal: N_RATERS ballots, each rating every member (ballot by ballot, as typed in).
    na = N_RATERS * n
    ballot_nos = np.array([str(b) for b in range(1, N_RATERS + 1)], dtype=object)
    kinds = np.array(["党员"] * (N_RATERS - 3) + ["群众代表"] * 3, dtype=object)
    a_level = np.tile(level, N_RATERS)
    appraisal = pd.DataFrame(
        {
            "row": np.arange(2, na + 2, dtype=np.int64),
            "ballot_no": _str(np.repeat(ballot_nos, n)),
            "rater_kind": _str(np.repeat(kinds, n)),
            "member_id": _str(np.tile(ids, N_RATERS)),
        }
    )
    for code in items:
        appraisal[code] = _half_points(rng, a_level, 0.8, 10.0)
    del a_level

    # Adjustments: catalogue codes, mostly blank points (= the rule's points), some members with
    # several so that highest_only has lower / equal ones to explain.
    rules = sch.adjustments.rules
    pick = rng.integers(0, len(rules), N_ADJUSTMENTS)
    explicit = rng.random(N_ADJUSTMENTS) < 0.1
    points = np.array([(r.signed_points / 2.0) for r in rules])[pick]
    adjustments = pd.DataFrame(
        {
            "row": np.arange(2, N_ADJUSTMENTS + 2, dtype=np.int64),
            "member_id": _str(ids[rng.integers(0, n, N_ADJUSTMENTS)]),
            "date": _dates(rng, N_ADJUSTMENTS),
            "rule_code": _str(np.array([r.code for r in rules], dtype=object)[pick]),
            "points": np.where(explicit, points, np.nan),
            "evidence": _str(np.full(N_ADJUSTMENTS, "文件", dtype=object)),
            "approved_by": np.full(N_ADJUSTMENTS, "支委会", dtype=object),
            "note": _na(N_ADJUSTMENTS),
        }
    )

    conds = [c.code for c in sch.veto.conditions] + [c.name for c in sch.veto.conditions]
    vetoes = pd.DataFrame(
        {
            "row": np.arange(2, N_VETOES + 2, dtype=np.int64),
            "member_id": _str(ids[rng.choice(n, N_VETOES, replace=False)]),
            "date": _dates(rng, N_VETOES),
            "condition": _str(np.array(conds, dtype=object)[rng.integers(0, len(conds), N_VETOES)]),
            "votes_for": rng.integers(0, 30, N_VETOES).astype(np.float64),
            "votes_against": rng.integers(0, 30, N_VETOES).astype(np.float64),
            "note": _na(N_VETOES),
        }
    )

    # Amendments: distinct (member, month, item) cells that exist in the monthly table.
    cells = rng.choice(n * 12 * len(items), N_AMENDMENTS, replace=False)
    a_member, rest = np.divmod(cells, 12 * len(items))
    a_month, a_item = np.divmod(rest, len(items))
    amendments = pd.DataFrame(
        {
            "row": np.arange(2, N_AMENDMENTS + 2, dtype=np.int64),
            "member_id": _str(ids[a_member]),
            "month_year": np.full(N_AMENDMENTS, float(YEAR)),
            "month": (a_month + 1).astype(np.float64),
            "item": _str(np.array(items, dtype=object)[a_item]),
            "new_score": rng.integers(0, 21, N_AMENDMENTS) / 2.0,
            "reason": _str(np.full(N_AMENDMENTS, "复核更正", dtype=object)),
            "decided_on": _dates(rng, N_AMENDMENTS),
        }
    )

    attendance = pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "date": pd.Series(dtype=object),
            "activity": _str([]),
            "member_id": _str([]),
            "status": _str([]),
        }
    )
    dues = pd.DataFrame(
        {
            "row": pd.Series(dtype="int64"),
            "member_id": _str([]),
            "month_year": pd.Series(dtype="float64"),
            "month": pd.Series(dtype="float64"),
            "paid": pd.Series(dtype=bool),
        }
    )
    return {
        "members": members,
        "monthly": monthly,
        "self_scores": self_scores,
        "appraisal": appraisal,
        "adjustments": adjustments,
        "vetoes": vetoes,
        "amendments": amendments,
        "attendance": attendance,
        "dues": dues,
        "items": items,
    }


def build_book(tables: dict[str, Any]) -> Any:
    from scoring.inputs.reading import InputBook

    return InputBook(
        path=Path("synthetic"),
        sha256="-",
        branch_id="BENCH",
        branch_name="synthetic",
        scheme_ref=SCHEME,
        year=YEAR,
        members=tables["members"],
        monthly=tables["monthly"],
        self_scores=tables["self_scores"],
        appraisal=tables["appraisal"],
        adjustments=tables["adjustments"],
        vetoes=tables["vetoes"],
        amendments=tables["amendments"],
        attendance=tables["attendance"],
        dues=tables["dues"],
        notes=[],
    )


# -- memory ------------------------------------------------------------------------------------


# -- child processes ---------------------------------------------------------------------------


def child(mode: str, data: Path, profile_out: Path | None, warmup: int = 0) -> None:
    if mode == "generate":
        n, seed = int(os.environ["BENCH_MEMBERS"]), int(os.environ["BENCH_SEED"])
        t = time.perf_counter()
        tables = generate(n, seed)
        gen_s = time.perf_counter() - t
        tmp = data.with_suffix(".tmp")
        with open(tmp, "wb") as dump:
            pickle.dump(tables, dump, protocol=5)
        tmp.replace(data)
        print(
            MARK
            + json.dumps(
                {
                    "generate_s": gen_s,
                    "bytes": data.stat().st_size,
                    "rows": {k: len(v) for k, v in tables.items() if isinstance(v, pd.DataFrame)},
                }
            )
        )
        return

    from scoring.rules.engine import Result, score
    from scoring.rules.periods import parse_period
    from scoring.rules.scheme import load_scheme

    t = time.perf_counter()
    with open(data, "rb") as f:
        tables = pickle.load(f)
    load_s = time.perf_counter() - t
    items: list[str] = tables["items"]
    if mode == "engine":
        book = build_book(tables)
        sch = load_scheme(SCHEME)
        period = parse_period(PERIOD)

        def call() -> Result | pd.DataFrame:
            return score(book, sch, period)

    elif mode == "floor":
        monthly: pd.DataFrame = tables["monthly"]

        def call() -> Result | pd.DataFrame:
            return monthly.groupby("member_id")[items].mean()

    else:
        raise SystemExit(f"unknown mode {mode!r}")
    del tables
    gc.collect()
    for _ in range(warmup):  # untimed calls first: pandas' lazy set-up and fresh memory pages
        call()
        gc.collect()

    rss_load = (status_kb("VmRSS") or 0) * 1024
    maxrss_load = maxrss_bytes()
    hwm_reset = reset_hwm()
    profiler = None
    if profile_out is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    flt0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    c0, t0 = time.process_time(), time.perf_counter()
    out = call()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    minflt = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - flt0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(profile_out))
    maxrss = maxrss_bytes()
    hwm = (status_kb("VmHWM") or 0) * 1024 if hwm_reset else None
    rss_end = (status_kb("VmRSS") or 0) * 1024

    if mode == "engine":
        assert isinstance(out, Result)
        annual = out.annual
        check = {
            "annual_rows": len(annual),
            "scored": int(annual["total"].notna().sum()),
            "grades": {str(k): int(v) for k, v in annual["grade"].value_counts().items()},
        }
    else:
        assert isinstance(out, pd.DataFrame)
        check = {"groups": len(out)}
    print(
        MARK
        + json.dumps(
            {
                "mode": mode,
                "wall_s": wall,
                "cpu_s": cpu,
                "minor_faults": minflt,
                "warmup": warmup,
                "load_s": load_s,
                "rss_after_load": rss_load,
                "maxrss_after_load": maxrss_load,
                "maxrss": maxrss,
                "hwm_during_call": hwm,
                "rss_after_call": rss_end,
                "check": check,
            }
        ),
        flush=True,
    )


def _run_child(args: list[str], env: dict[str, str] | None = None, timeout: float | None = None) -> dict[str, Any]:
    return run_child(Path(__file__), args, env, timeout)


# -- the parent --------------------------------------------------------------------------------


def code_version() -> dict[str, Any]:
    out: dict[str, Any] = {}
    # the engine (one module per stage) and what it reads: one hash over the files, by path
    files = sorted((ROOT / "scoring" / "rules" / "engine").glob("*.py"))
    files += [ROOT / "scoring" / "inputs" / "reading.py", ROOT / "scoring" / "rules" / "rounding.py"]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    out["scoring/rules/engine/*.py, reading.py, rounding.py sha256"] = digest.hexdigest()[:16]
    out["git_head"] = git_head(ROOT)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--members", type=int, default=1_000_000, help="members in the synthetic branch (default 1,000,000)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="measurements of each of engine and floor (default 3)")
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "scoring-bench",
        help="where the generated data is cached",
    )
    ap.add_argument("--regenerate", action="store_true", help="ignore a cached data set")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR, help="directory for the JSON results")
    ap.add_argument(
        "--warmup",
        type=int,
        default=0,
        help="untimed calls before the timed one, in the same process (default 0: first call, as a user gets it)",
    )
    ap.add_argument(
        "--profile", action="store_true", help="also run the engine once under cProfile and print the top functions"
    )
    ap.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per child process")
    ap.add_argument("--_child", choices=["generate", "engine", "floor"], help=argparse.SUPPRESS)
    ap.add_argument("--_data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--_profile-out", dest="_profile_out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args._child:
        child(args._child, args._data, args._profile_out, args.warmup)
        return 0

    n = args.members
    started = dt.datetime.now().astimezone()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    data = (
        args.cache_dir / f"book-v{GEN_VERSION}-n{n}-s{args.seed}-pandas{pd.__version__}.pkl"
    )  # pickles are pandas-version bound
    gen: dict[str, Any] | None = None
    if args.regenerate or not data.exists():
        print(f"generating {n:,} members into {data} (not timed) ...", flush=True)
        gen = _run_child(
            ["--_child", "generate", "--_data", str(data)],
            {"BENCH_MEMBERS": str(n), "BENCH_SEED": str(args.seed)},
            args.timeout,
        )
        print(f"  {gen['generate_s']:.1f} s, {gen['bytes'] / 1024**2:,.0f} MB, rows {gen['rows']}", flush=True)
    else:
        print(f"using cached data {data}", flush=True)

    runs: list[dict[str, Any]] = []
    for i in range(1, args.repeat + 1):
        for mode in ("engine", "floor"):
            r = _run_child(["--_child", mode, "--_data", str(data), "--warmup", str(args.warmup)], timeout=args.timeout)
            r["run"] = i
            runs.append(r)
            peak = r["hwm_during_call"] or r["maxrss"]
            print(f"  run {i} {mode:6s} {r['wall_s']:8.2f} s  peak {mib(peak)} MB", flush=True)

    def med(mode: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs if r["mode"] == mode))

    def peak_of(r: dict[str, Any]) -> int:
        # Peak RSS while the call ran; without a resettable VmHWM, the whole process's ru_maxrss.
        return int(r["hwm_during_call"] if r["hwm_during_call"] is not None else r["maxrss"])

    eng, flo = med("engine", "wall_s"), med("floor", "wall_s")
    ratio = eng / flo
    eng_cpu, flo_cpu = med("engine", "cpu_s"), med("floor", "cpu_s")
    eng_peak = max(peak_of(r) for r in runs if r["mode"] == "engine")
    eng_maxrss = max(r["maxrss"] for r in runs if r["mode"] == "engine")
    eng_load = statistics.median(r["rss_after_load"] for r in runs if r["mode"] == "engine")
    flo_peak = max(peak_of(r) for r in runs if r["mode"] == "floor")
    flo_load = statistics.median(r["rss_after_load"] for r in runs if r["mode"] == "floor")
    summary = {
        "engine_median_s": eng,
        "floor_median_s": flo,
        "ratio": ratio,
        "engine_median_cpu_s": eng_cpu,
        "floor_median_cpu_s": flo_cpu,
        "cpu_ratio": eng_cpu / flo_cpu,
        "engine_peak_rss": eng_peak,
        "engine_maxrss": eng_maxrss,
        "engine_rss_after_load": eng_load,
        "engine_peak_minus_load": eng_peak - eng_load,
        "floor_peak_rss": flo_peak,
        "floor_rss_after_load": flo_load,
        "floor_peak_minus_load": flo_peak - flo_load,
        "target_ratio": TARGET_RATIO,
        "target_peak_bytes": TARGET_PEAK_BYTES,
        "ratio_ok": ratio <= TARGET_RATIO,
        "peak_ok": eng_peak < TARGET_PEAK_BYTES,
        "peak_ok_decimal": eng_peak < 6 * 10**9,
    }

    profile_top: str | None = None
    if args.profile:
        prof = args.out / f"engine-n{n}.prof"
        args.out.mkdir(parents=True, exist_ok=True)
        print("profiling one engine run under cProfile ...", flush=True)
        _run_child(["--_child", "engine", "--_data", str(data), "--_profile-out", str(prof)], timeout=args.timeout)
        import io
        import pstats

        buf = io.StringIO()
        pstats.Stats(str(prof), stream=buf).sort_stats("tottime").print_stats(25)
        buf.write("\n")
        pstats.Stats(str(prof), stream=buf).sort_stats("cumulative").print_stats("scoring", 25)
        profile_top = buf.getvalue()

    # -- report ------------------------------------------------------------------------------
    print()
    print(
        f"members {n:,}; {12 * n:,} monthly rows x 10 items; {N_RATERS * n:,} appraisal rows; "
        f"scheme {SCHEME}; period {PERIOD}; warm-up calls {args.warmup}"
    )
    print("engine = score(book, scheme, period); floor = monthly.groupby('member_id')[items].mean()")
    print("each measurement in a fresh process; memory in MB (MiB); 'peak' = VmHWM reset just before the call")
    hdr = (
        f"{'run':>3}  {'what':6}  {'wall s':>8}  {'cpu s':>8}  {'faults':>9}  {'load s':>7}  "
        f"{'RSS after load':>14}  {'peak during call':>16}  {'peak - load':>11}  {'ru_maxrss':>9}"
    )
    print(hdr)
    print("-" * len(hdr))
    for r in runs:
        p = peak_of(r)
        print(
            f"{r['run']:>3}  {r['mode']:6}  {r['wall_s']:8.2f}  {r['cpu_s']:8.2f}  {r['minor_faults']:>9,}  "
            f"{r['load_s']:7.1f}  {mib(r['rss_after_load']):>14}  {mib(p):>16}  {mib(p - r['rss_after_load']):>11}  "
            f"{mib(r['maxrss']):>9}"
        )
    print()
    print(
        f"median engine {eng:.2f} s, median floor {flo:.2f} s, ratio {ratio:.1f}x "
        f"(target <= {TARGET_RATIO:g}x): {'OK' if summary['ratio_ok'] else 'MISSED'}"
    )
    print(f"(CPU time: engine {eng_cpu:.2f} s, floor {flo_cpu:.2f} s, ratio {eng_cpu / flo_cpu:.1f}x)")
    print(
        f"engine peak RSS {eng_peak / 1024**3:.2f} GiB = {eng_peak / 1e9:.2f} GB "
        f"(of which data loaded before the call {eng_load / 1024**3:.2f} GiB); "
        f"target < 6 GiB: {'OK' if summary['peak_ok'] else 'MISSED'}, "
        f"< 6 GB (10^9): {'OK' if summary['peak_ok_decimal'] else 'MISSED'}"
    )
    print(f"floor peak RSS {flo_peak / 1024**3:.2f} GiB (data {flo_load / 1024**3:.2f} GiB)")
    if profile_top:
        print()
        print(profile_top)

    args.out.mkdir(parents=True, exist_ok=True)
    record = {
        **record_header(Path(__file__).stem, started, argv),
        "members": n,
        "repeat": args.repeat,
        "warmup": args.warmup,
        "seed": args.seed,
        "scheme": SCHEME,
        "period": PERIOD,
        "rows": gen["rows"] if gen else None,
        "generate_s": gen["generate_s"] if gen else None,
        "data_file": str(data),
        "machine": machine(),
        "code": code_version(),
        "summary": summary,
        "runs": runs,
    }
    path = args.out / f"bench_engine-{started:%Y%m%dT%H%M%S}-n{n}{'-warm' if args.warmup else ''}.json"
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    if args.check and not (summary["ratio_ok"] and summary["peak_ok"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
