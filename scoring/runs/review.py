"""Reviewing sealed runs: ``approve``, ``verify`` and ``diff`` (SPEC 6), of a branch's run or of a
unit's (SPEC 3.9: its summary.csv has a row per branch, keyed by ``branch_id``).

A run folder (``OUT/PERIOD/BRANCH/vNNN``, a unit's ``OUT/PERIOD/UNIT/vNNN``) holds ``manifest.json``
with the SHA-256 of every file it wrote and of the input workbook and scheme file it was scored
from, which are kept, by hash, in ``OUT/.archive`` (outside the run folder: an input workbook holds
the anonymous ballots and a unit's 互评 marks with their raters). Run files are read-only and
never rewritten: an approval is a new file ``approval-<time>.json`` beside them that records who
approved which hashes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import RunError
from ..inputs.reading import _SHEET_ATTRS, SHEETS, InputBook
from ..inputs.unit import UNIT_SHEETS, UnitBook
from ..labels import run_label
from ..outputs.csvfile import read_csv_text
from ..rules.engine.prior import Prior
from ..rules.periods import parse_period
from ..rules.scheme import load_scheme
from .environment import describe, differences
from .execute import MANIFEST, sha256_file
from .folders import APPROVAL_NAME as APPROVAL_NAME  # as X: still review's names (explicit re-export)
from .folders import APPROVAL_PREFIX as APPROVAL_PREFIX
from .folders import approvals as approvals
from .subjects import BRANCHES, MEMBERS, Loaded, Subject, load, run_identity, subject_of
from .summaries import compare_summaries, read_summary, summary_text

# columns that identify a row of an input sheet, so that an edited row shows as "changed";
# sheets without a key show added and removed rows
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "members": ("member_id",),
    "monthly_scores": ("member_id", "month"),
    "self_scores": ("member_id", "month"),
    "appraisal": ("ballot_no", "member_id"),
    "amendments": ("member_id", "month", "item"),
    "dues": ("member_id", "month"),
    "follow_up_outcomes": ("member_id", "case_year", "decided_on"),
    "star_decisions": ("member_id",),  # one decision per member (objections: no key, rows added / removed)
}
HIDDEN = "(不显示 hidden: 无记名测评)"  # appraisal ballots are anonymous: never show a ballot's scores
# a unit's input rows, keyed likewise; which branch gave which 互评 mark is never shown (SPEC 3.9)
UNIT_ROW_KEYS: dict[str, tuple[str, ...]] = {
    "branches": ("branch_id",),
    "indicators": ("quarter", "code", "branch_id"),
    "self_scores": ("branch_id", "month", "indicator"),
    "mutual_scores": ("rater_branch", "branch_id", "month", "indicator"),
    "verification": ("branch_id", "month", "indicator"),
    "approvals": ("month",),
}
HIDDEN_MUTUAL = "(不显示 hidden: 互评不显示评价支部的分数)"


def load_manifest(run: str | Path) -> dict[str, Any]:
    path = Path(run) / MANIFEST
    if not path.is_file():
        raise RunError(f"不是运行文件夹 (not a run folder): {run} has no {MANIFEST}")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"manifest.json 无法读取 (cannot read {path}): {exc}") from exc
    if not isinstance(manifest, dict):
        raise RunError(f"manifest.json 不是运行清单 (not a run manifest): {path}")
    return manifest


def recorded_files(manifest: dict[str, Any]) -> dict[str, str]:
    """Path relative to the run folder -> SHA-256 of every file the run recorded (its outputs, and
    the archived input workbook and scheme file)."""
    files = {o["file"]: o["sha256"] for o in manifest.get("outputs", [])}
    for item in [*manifest.get("inputs", []), manifest.get("scheme", {})]:
        if item.get("archived"):
            files[item["archived"]] = item["sha256"]
    return files


def check_files(run: str | Path) -> pd.DataFrame:
    """Every recorded file re-hashed: ``ok``, ``changed`` or ``missing``; files the run did not
    record (other than approvals, named exactly as ``approve`` names them) are ``unexpected``.
    The manifest itself is covered by approvals."""
    run = Path(run)
    manifest = load_manifest(run)
    rows: list[tuple[str, str | None, str | None, str]] = []
    expected = recorded_files(manifest)
    for rel, sha in sorted(expected.items()):
        p = run / rel
        now = sha256_file(p) if p.is_file() else None
        rows.append((rel, sha, now, "ok" if now == sha else ("missing" if now is None else "changed")))
    for p in sorted(run.rglob("*")):
        rel = p.relative_to(run).as_posix()  # the archive is outside: only the run's own files
        if p.is_file() and rel not in expected and rel != MANIFEST and not APPROVAL_NAME.match(rel):
            rows.append((rel, None, sha256_file(p), "unexpected"))
    return pd.DataFrame(rows, columns=["file", "recorded_sha256", "sha256_now", "status"])


def approve(run: str | Path, reviewer: str, note: str = "") -> Path:
    """Record the sign-off of ``reviewer`` on the run as it is now; refuse if any file changed.

    Writes a new read-only ``approval-<UTC time>.json``; no existing file is touched.
    """
    run = Path(run)
    if not reviewer.strip():
        raise RunError("请填写审核人 (reviewer name is empty)")
    files = check_files(run)
    bad = files[files["status"] != "ok"]
    if len(bad):
        raise RunError(
            "运行文件夹已被改动, 不能审核 (the run changed since it was written; not approved):\n"
            + bad.to_string(index=False)
        )
    now = dt.datetime.now(dt.UTC)
    record = {
        "reviewer": reviewer.strip(),
        "approved_at": now.isoformat(timespec="seconds"),
        "note": note,
        "manifest_sha256": sha256_file(run / MANIFEST),
        "files": dict(zip(files["file"], files["sha256_now"], strict=True)),
    }
    path = run / f"{APPROVAL_PREFIX}{now:%Y%m%dT%H%M%S%fZ}.json"
    # O_EXCL: an approval never overwrites another one
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    return path


def _recorded_inputs(run: Path, manifest: dict[str, Any]) -> tuple[Path, Path | None]:
    item = manifest["inputs"][0]
    if not item.get("archived"):
        raise RunError(f"{run}: 该运行没有存档输入 (this run predates the input archive; it cannot be re-scored)")
    scheme = manifest.get("scheme", {})
    return run / item["archived"], (run / scheme["archived"]) if scheme.get("archived") else None


def _load_recorded(run: Path, manifest: dict[str, Any]) -> Loaded:
    """The run's archived input workbook (a branch's or a unit's) read with its archived scheme."""
    workbook, scheme_file = _recorded_inputs(run, manifest)
    scheme = load_scheme(str(scheme_file)) if scheme_file is not None else load_scheme(manifest["scheme"]["name"])
    return load(workbook, parse_period(manifest["period"]), scheme)


ENVIRONMENT_HEADERS = {"package": "软件包 package", "recorded": "运行时 recorded", "now": "现在 now"}
BRANCH_RUN_COLUMNS = ["branch_id", "run", "manifest", "summary", "files", "figures", "status"]


@dataclass
class Verification:
    run: Path
    files: pd.DataFrame  # file, recorded_sha256, sha256_now, status
    figures: pd.DataFrame  # member_id, figure, recorded, now (only differences)
    approvals: pd.DataFrame  # reviewer, approved_at, still_valid
    notes: list[str]
    # how many rows (members) were re-scored and compared with the recorded table; figures are
    # only said to match when this comparison really ran (``rescored``)
    rescored: bool = False
    compared: int = 0
    kind: str = "branch"  # or "rollup"
    # a roll-up only: each branch run it references, re-checked (BRANCH_RUN_COLUMNS)
    branch_runs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=BRANCH_RUN_COLUMNS))
    # packages whose version differs between the run's environment and the one verify re-scored in
    # (``environment.DIFF_COLUMNS``); None when the run recorded no environment. A difference is
    # reported, not a failure: only a figure that differs fails.
    environment: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return bool(
            (self.files["status"] == "ok").all()
            and self.rescored
            and self.figures.empty
            and self.approvals["still_valid"].all()
            and (self.branch_runs["status"] == "ok").all()
        )

    def report(self) -> str:
        zh, en = ("单位汇总", "roll-up") if self.kind == "rollup" else ("运行", "run")
        lines = [f"核验{zh} (verify {en}) {run_label(self.run)}"]
        bad = self.files[self.files["status"] != "ok"]
        lines.append(
            f"文件 (files): {len(self.files)} 个, "
            + ("全部未改动 (all unchanged)" if bad.empty else f"{len(bad)} 个有问题 (problems):")
        )
        if len(bad):
            lines.append(bad.to_string(index=False))
        if self.kind == "rollup":
            runs_bad = self.branch_runs[self.branch_runs["status"] != "ok"]
            lines.append(
                f"引用的支部运行 (branch runs referenced): {len(self.branch_runs)} 个, "
                + (
                    "manifest.json、summary.csv 与各自文件全部未改动, 支部数字重新计分一致"
                    " (all unchanged; each branch re-scored and matches its summary.csv)"
                    if runs_bad.empty
                    else f"{len(runs_bad)} 个有问题 (problems):"
                )
            )
            if len(runs_bad):
                lines.append(runs_bad.to_string(index=False))
            what = "重新汇总 (unit_summary.csv re-computed from the branch runs' archived inputs)"
            table = "unit_summary.csv"
        else:
            what = "重新计分 (re-scored from the recorded inputs and scheme)"
            table = "summary.csv"
        if not self.rescored:
            lines.append(f"{what}: 未进行, 数字未比较 (NOT done: no figure was compared; see below)")
        elif self.figures.empty:
            lines.append(
                f"{what}: 比较了 {self.compared} 行, 与 {table} 完全一致"
                f" (all {self.compared} rows compared, every figure matches)"
            )
        else:
            lines.append(f"{what}: 比较了 {self.compared} 行, {len(self.figures)} 个数字不同 (figures differ):")
            lines.append(self.figures.to_string(index=False))
        lines += self._environment_lines()
        if len(self.approvals):
            lines.append("审核 (approvals):")
            lines.append(self.approvals.to_string(index=False))
        lines += self.notes
        lines.append("结论 (result): " + ("通过 OK" if self.ok else "未通过 FAILED"))
        return "\n".join(lines)

    def _environment_lines(self) -> list[str]:
        head = "运行环境 (environment)"
        if self.environment is None:
            return [f"{head}: 运行时未记录, 无法比较 (the run recorded no environment: not compared)"]
        if self.environment.empty:
            return [f"{head}: 重新计分时与运行时完全相同 (re-scored under the same interpreter and packages)"]
        changed = len(self.environment)
        lines = [
            f"{head}: 重新计分时有 {changed} 个软件包与运行时不同"
            " (packages differ from the run's; reported, not a failure unless a figure differs):",
            self.environment.rename(columns=ENVIRONMENT_HEADERS).to_string(index=False),
        ]
        if not self.figures.empty:
            lines.append("注意 (note): 数字不同, 可能与上列软件包版本变化有关 (figures differ: check these packages)")
        return lines


def verify(run: str | Path) -> Verification:
    """Re-check every hash and re-score from the recorded inputs with the recorded scheme; for a
    roll-up, re-check every branch run it references and re-compute its unit table."""
    from .. import __version__

    run = Path(run).resolve()
    manifest = load_manifest(run)
    files = check_files(run)
    if manifest.get("kind") == "rollup":
        figures, branch_runs, rescored, compared, notes = _verify_rollup(run, manifest, files)
        kind = "rollup"
    else:
        figures, rescored, compared, notes = _rescore_branch(run, manifest, files)
        branch_runs, kind = pd.DataFrame(columns=BRANCH_RUN_COLUMNS), "branch"
    package = manifest.get("package", {})
    if package.get("version") != __version__:
        notes.append(f"注意 (note): 运行时程序版本 {package.get('version')}, 现在 {__version__}")
    manifest_sha = sha256_file(run / MANIFEST)
    now_by_file = files.set_index("file")["sha256_now"]
    rows = [
        (
            a.get("reviewer", ""),
            a.get("approved_at", ""),
            a.get("manifest_sha256") == manifest_sha
            and all(now_by_file.get(f) == h for f, h in (a.get("files") or {}).items()),
        )
        for a in approvals(run)
    ]
    recorded_env = manifest.get("environment")
    return Verification(
        run,
        files,
        figures,
        pd.DataFrame(rows, columns=["reviewer", "approved_at", "still_valid"]),
        notes,
        rescored,
        compared,
        kind,
        branch_runs,
        differences(recorded_env, describe()) if recorded_env else None,
    )


_NO_FIGURES = ["member_id", "figure", "recorded", "now"]


def _rescore_branch(
    run: Path, manifest: dict[str, Any], files: pd.DataFrame
) -> tuple[pd.DataFrame, bool, int, list[str]]:
    """A branch run's (or a unit run's) figures re-scored from its archived input and scheme,
    compared with its summary.csv: (differences, whether compared, rows compared, notes)."""
    subject = subject_of(manifest)
    key = subject.key
    notes: list[str] = []
    inputs_ok = files.loc[files["file"].str.startswith("../"), "status"].eq("ok").all()
    if not (run / "summary.csv").is_file():
        notes.append("summary.csv 缺失, 无法比较数字 (summary.csv missing: figures not compared)")
    elif not inputs_ok:
        notes.append("输入副本已改动, 未重新计分 (the recorded inputs changed: not re-scored)")
    elif (recorded := _read_keyed_table(run / "summary.csv", [key])) is None:
        notes.append(
            f"summary.csv 不是{subject.word}表 (没有 {key} 列), 无法比较数字"
            f" (summary.csv is not a table of {subject.english}: figures not compared)"
        )
    else:
        loaded = _load_recorded(run, manifest)
        period = parse_period(manifest["period"])
        if subject is BRANCHES:
            now = summary_text(loaded.score(period).summary())
            return compare_summaries(recorded, now, "recorded", "now", key), True, len(recorded), notes
        recorded_from = _recorded_prior(run, notes)
        if recorded_from is None:
            return pd.DataFrame(columns=[key, *_NO_FIGURES[1:]]), False, 0, notes
        result = loaded.score(period, *recorded_from)
        figures = compare_summaries(recorded, summary_text(result.summary()), "recorded", "now", key)
        cases, compared = _compare_cases(run, result.cases, notes)
        return pd.concat([figures, cases], ignore_index=True), True, len(recorded) + compared, notes
    return pd.DataFrame(columns=[key, *_NO_FIGURES[1:]]), False, 0, notes


def _recorded_prior(run: Path, notes: list[str]) -> tuple[Prior, dt.date | None] | None:
    """What the run started from (SPEC 8: its recorded prior runs, each file checked against the
    SHA-256 the run read, and the 公示's first day); None, with a note, when a prior run is gone or
    changed (figures are then not compared: the run cannot be reproduced from what is there)."""
    from .record import recorded_prior

    try:
        return recorded_prior(run)
    except (RunError, OSError, ValueError) as exc:
        notes.append(
            "以前的运行缺失或已改动, 未重新计分 (an earlier run this run started from is gone or changed:"
            f" not re-scored): {exc}"
        )
        return None


def _compare_cases(run: Path, register: pd.DataFrame, notes: list[str]) -> tuple[pd.DataFrame, int]:
    """The re-computed follow-up register against the run's cases.csv, case by case (keyed
    ``member_id/case_year``); (differences, cases compared). A run made before cases.csv has none."""
    from ..outputs.cases import cases_table
    from .record import CASES_FILE

    path = run / CASES_FILE
    if not path.is_file():
        notes.append(f"{CASES_FILE} 不在本运行中, 帮教台账未比较 (no {CASES_FILE}: the register was not compared)")
        return pd.DataFrame(columns=_NO_FIGURES), 0
    recorded = _read_keyed_table(path, ["member_id", "case_year"])
    if recorded is None:
        notes.append(f"{CASES_FILE} 无法读取 (unreadable): 帮教台账未比较")
        return pd.DataFrame([("(cases.csv)", "(file)", "unreadable", "")], columns=_NO_FIGURES), 0

    def keyed(df: pd.DataFrame) -> pd.DataFrame:
        out = df.copy()
        out.insert(0, "case", out["member_id"].astype(str) + "/" + out["case_year"].astype(str))
        return out

    now = summary_text(cases_table(register))
    diff = compare_summaries(keyed(recorded), keyed(now), "recorded", "now", "case")
    diff = diff.assign(figure=CASES_FILE + ":" + diff["figure"].astype(str)).rename(columns={"case": "member_id"})
    return diff, len(recorded)


def _read_keyed_table(path: Path, keys: list[str]) -> pd.DataFrame | None:
    """A CSV table as text, or None when it cannot be read or lacks a key column (a tampered
    file must give a failed verification, not a crash)."""
    try:
        table = read_csv_text(path)
    except (OSError, ValueError, pd.errors.ParserError):
        return None
    return table if all(k in table.columns for k in keys) else None


def _hash_status(path: Path, recorded: str | None) -> str:
    if not path.is_file():
        return "missing"
    return "ok" if sha256_file(path) == recorded else "changed"


def _unit_keyed(df: pd.DataFrame) -> pd.DataFrame:
    """A unit table keyed by ``branch_id/member_id`` (member ids repeat across branches)."""
    key = df["branch_id"].astype(str) + "/" + df["member_id"].astype(str)
    out = df.drop(columns=["member_id"])
    out.insert(0, "member_id", key)
    return out


def _verify_rollup(
    run: Path, manifest: dict[str, Any], files: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, bool, int, list[str]]:
    """A roll-up: every branch run it references re-checked by the hashes in its manifest (and the
    branch run's own files against the branch run's manifest), then, only when all of them are
    intact, the unit table re-computed from them and compared with unit_summary.csv.

    Returns (differences, branch runs, whether figures were compared, rows compared, notes)."""
    from .rollup import build, sources_from_runs

    notes: list[str] = []
    refs = manifest.get("branch_runs") or []
    rows = []
    intact: dict[str, Path] = {}
    for ref in refs:
        branch_run = (run / str(ref.get("run", ""))).resolve()
        m_status = _hash_status(branch_run / MANIFEST, ref.get("manifest_sha256"))
        s_status = _hash_status(branch_run / "summary.csv", ref.get("summary_sha256"))
        if m_status == "ok":
            f = check_files(branch_run)
            bad = f[f["status"] != "ok"]
            f_status = "ok" if bad.empty else "; ".join(f"{r.file} {r.status}" for r in bad.itertuples())
        else:
            f_status = "not checked (manifest.json not as recorded)"
        ok = m_status == s_status == f_status == "ok"
        if ok:
            intact[str(ref["branch_id"])] = branch_run
        rows.append(
            [
                ref.get("branch_id", ""),
                ref.get("run", ""),
                m_status,
                s_status,
                f_status,
                "" if ok else "not compared",
                "ok" if ok else "problem",
            ]
        )
    branch_runs = pd.DataFrame(rows, columns=BRANCH_RUN_COLUMNS)
    if manifest.get("missing"):
        notes.append("未纳入汇总的支部 (branches of the batch not in this roll-up): " + ", ".join(manifest["missing"]))
    no_figures = pd.DataFrame(columns=_NO_FIGURES)
    if not refs:
        notes.append("manifest.json 未列出任何支部运行, 无可核验 (the manifest lists no branch run: nothing to check)")
        return no_figures, branch_runs, False, 0, notes
    if len(intact) < len(refs):
        notes.append(
            f"{len(refs) - len(intact)} 个支部运行缺失或已改动, 未重新汇总"
            " (branch runs missing or changed: the roll-up was not re-computed)"
        )
        return no_figures, branch_runs, False, 0, notes
    recorded = _read_keyed_table(run / "unit_summary.csv", ["branch_id", "member_id"])
    if recorded is None:
        notes.append(
            "unit_summary.csv 缺失或无法读取, 无法比较数字"
            " (unit_summary.csv missing or unreadable: figures not compared)"
        )
        return no_figures, branch_runs, False, 0, notes
    rollup = build(manifest["period"], sources_from_runs(intact), manifest.get("missing"))
    # build() re-scores each branch and compares it with that run's summary.csv
    differences = rollup.checks.set_index("branch_id")["differences"].to_dict()
    members = {r.branch_id: len(r.members) for r in rollup.results}
    for i, b in branch_runs["branch_id"].items():
        n = differences.get(b)
        branch_runs.loc[i, "figures"] = (
            f"ok ({members.get(b, 0)} 人 members re-scored)"
            if n == 0
            else f"{n} 个数字不同 (figures differ from summary.csv)"
        )
        if n != 0:
            branch_runs.loc[i, "status"] = "problem"
    now = summary_text(rollup.unit)
    figures = compare_summaries(_unit_keyed(recorded), _unit_keyed(now), "recorded", "now")
    return figures, branch_runs, True, len(recorded), notes


def _text_rows(df: pd.DataFrame) -> pd.DataFrame:
    """An input table with every value as text ("" for a blank) and its Excel ``row``."""
    cols = [c for c in df.columns if c != "row"]
    out = df[cols].astype(object).where(df[cols].notna(), "").astype(str)
    out["row"] = df["row"].to_numpy() if "row" in df.columns else range(2, len(df) + 2)
    return out


def _sheet_rows(book: InputBook, sheet: str) -> pd.DataFrame:
    return _text_rows(getattr(book, _SHEET_ATTRS[sheet]))


@dataclass(frozen=True)
class _Sheets:
    """One input sheet of two runs, compared row by row."""

    label: str
    a: pd.DataFrame
    b: pd.DataFrame
    key: tuple[str, ...]  # the columns naming a row; none: added and removed rows
    hidden: str = ""  # shown instead of every value but ``shown``'s: the sheet is anonymous
    shown: tuple[str, ...] = ()


def _member_sheets(book_a: InputBook, book_b: InputBook) -> list[_Sheets]:
    out = []
    for sheet in _SHEET_ATTRS:
        # the item scores are named by the sheet they came from (月度/季度/年度评分)
        named = book_a.score_sheet if sheet == "monthly_scores" else sheet
        out.append(
            _Sheets(
                f"{SHEETS[named].label} ({named})",
                _sheet_rows(book_a, sheet),
                _sheet_rows(book_b, sheet),
                ROW_KEYS.get(sheet, ()),
                HIDDEN if sheet == "appraisal" else "",
                ("rater_kind",),
            )
        )
    return out


def _unit_sheets(unit_a: UnitBook, unit_b: UnitBook) -> list[_Sheets]:
    return [
        _Sheets(
            f"{spec.label} ({key})",
            _text_rows(getattr(unit_a, key)),
            _text_rows(getattr(unit_b, key)),
            UNIT_ROW_KEYS[key],
            HIDDEN_MUTUAL if key == "mutual_scores" else "",
        )
        for key, spec in UNIT_SHEETS.items()
        if key in UNIT_ROW_KEYS
    ]


def compare_inputs(book_a: InputBook | UnitBook, book_b: InputBook | UnitBook) -> pd.DataFrame:
    """Input rows that differ: sheet, member (a unit's: branch), row in A and in B, column, value
    in A and in B.

    Appraisal values are never shown (ballots are anonymous): only that a ballot row changed; nor
    are a unit's 互评 marks, nor which branch gave them (SPEC 3.9): only the rated branch's row.
    """
    if isinstance(book_a, UnitBook) and isinstance(book_b, UnitBook):
        sheets, who = _unit_sheets(book_a, book_b), BRANCHES.key
    elif isinstance(book_a, InputBook) and isinstance(book_b, InputBook):
        sheets, who = _member_sheets(book_a, book_b), MEMBERS.key
    else:
        raise RunError("只能比较同一种工作簿的两次运行 (compare two runs of the same kind of workbook)")
    rows: list[tuple[Any, ...]] = []
    for sheet in sheets:
        rows += _sheet_changes(sheet, who)
    return pd.DataFrame(rows, columns=["sheet", who, "row_a", "row_b", "column", "a", "b"])


def _sheet_changes(sheet: _Sheets, who: str) -> list[tuple[Any, ...]]:
    label, a, b = sheet.label, sheet.a, sheet.b
    values = [c for c in a.columns if c != "row" and c in b.columns]
    key = [k for k in sheet.key if k in values]
    rows: list[tuple[Any, ...]] = []
    if key:
        m = a.merge(b, on=key, how="outer", suffixes=("@a", "@b"), indicator=True)
        for r in m.to_dict("records"):
            mid = r.get(who, "")
            ra = r.get("row@a") if r["_merge"] != "right_only" else None
            rb = r.get("row@b") if r["_merge"] != "left_only" else None
            if r["_merge"] != "both":
                rows.append(
                    (
                        label,
                        mid,
                        _int(ra),
                        _int(rb),
                        "(row)",
                        "present" if ra is not None else "",
                        "present" if rb is not None else "",
                    )
                )
                continue
            for c in values:
                if c in key:
                    continue
                if r[f"{c}@a"] != r[f"{c}@b"]:
                    hide = sheet.hidden and c not in sheet.shown
                    va, vb = (sheet.hidden, sheet.hidden) if hide else (r[f"{c}@a"], r[f"{c}@b"])
                    rows.append((label, mid, _int(ra), _int(rb), c, va, vb))
    else:
        sig_a = a[values].apply(tuple, axis=1) if len(a) else pd.Series([], dtype=object)
        sig_b = b[values].apply(tuple, axis=1) if len(b) else pd.Series([], dtype=object)
        only_a = a[~sig_a.isin(set(sig_b))] if len(a) else a
        only_b = b[~sig_b.isin(set(sig_a))] if len(b) else b
        for r in only_a.to_dict("records"):
            rows.append((label, r.get(who, ""), _int(r["row"]), None, "(row removed)", _row_text(r, values), ""))
        for r in only_b.to_dict("records"):
            rows.append((label, r.get(who, ""), None, _int(r["row"]), "(row added)", "", _row_text(r, values)))
    return rows


def _int(v: Any) -> int | None:
    return None if v is None or (isinstance(v, float) and v != v) else int(v)


def _row_text(r: dict[Hashable, Any], cols: list[str]) -> str:
    return ", ".join(f"{c}={r[c]}" for c in cols if r[c] != "")


@dataclass
class RunDiff:
    run_a: Path
    run_b: Path
    figures: pd.DataFrame  # member_id (a unit's: branch_id), figure, a, b
    inputs: pd.DataFrame  # sheet, member_id (branch_id), row_a, row_b, column, a, b
    # packages whose version differs between the two runs' environments (package, a, b); None when
    # either run recorded no environment
    environment: pd.DataFrame | None = None
    subject: Subject = MEMBERS  # whom the runs score: a branch's members or a unit's branches

    def report(self) -> str:
        lines = [f"比较 (diff) A = {run_label(self.run_a)}", f"             B = {run_label(self.run_b)}"]
        key = self.subject.key
        changed = sorted(set(self.figures[key]))
        if self.subject is BRANCHES:
            lines.append(f"得分有变化的党支部 (branches whose figures changed): {len(changed)}")
        else:
            lines.append(f"积分有变化的党员 (members whose figures changed): {len(changed)}")
        if len(self.figures):
            lines.append(self.figures.to_string(index=False))
        lines.append(f"输入有变化的行 (input rows that changed): {len(self.inputs)}")
        if len(self.inputs):
            lines.append(self.inputs.fillna("").to_string(index=False))
        unexplained = sorted(set(changed) - set(self.inputs[key]))
        if unexplained and len(self.inputs):
            own = "本支部" if self.subject is BRANCHES else "其本人"
            lines.append(
                f"注意: 这些{self.subject.word}的积分变化不是由{own}的输入行引起"
                " (e.g. ranks and quotas move with others): " + ", ".join(unexplained)
            )
        if self.environment is None:
            lines.append("运行环境变化 (environment changes): 有运行未记录环境, 无法比较 (a run recorded none)")
        else:
            lines.append(f"运行环境变化 (environment changes): {len(self.environment)} 个软件包")
            if len(self.environment):
                lines.append(self.environment.rename(columns=ENVIRONMENT_HEADERS).to_string(index=False))
        return "\n".join(lines)


def diff(run_a: str | Path, run_b: str | Path) -> RunDiff:
    """Members (a unit's run: branches) whose figures changed between two runs and the input rows
    that changed under them."""
    a, b = Path(run_a).resolve(), Path(run_b).resolve()
    ma, mb = load_manifest(a), load_manifest(b)
    subject = subject_of(ma)
    (id_a, _), (id_b, _) = run_identity(ma), run_identity(mb)
    if ma["period"] != mb["period"] or id_a != id_b or subject is not subject_of(mb):
        where = "同一单位" if subject is BRANCHES else "同一支部"
        raise RunError(
            f"只能比较{where}同一期间的两次运行 (compare two runs of one {'unit' if subject is BRANCHES else 'branch'}"
            f" and period): {id_a} {ma['period']} vs {id_b} {mb['period']}"
        )
    figures = compare_summaries(read_summary(a), read_summary(b), "a", "b", subject.key)
    inputs = compare_inputs(_load_recorded(a, ma).book, _load_recorded(b, mb).book)
    env_a, env_b = ma.get("environment"), mb.get("environment")
    environment = differences(env_a, env_b).set_axis(["package", "a", "b"], axis=1) if env_a and env_b else None
    return RunDiff(a, b, figures, inputs, environment, subject)
