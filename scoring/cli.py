"""Command line: ``python -m scoring COMMAND``, COMMAND one of run, batch, validate, demo, template,
recompute, approve, verify, review, diff, history, schemes.

Exit codes: 0 done, 2 bad input or arguments (nothing written), 1 a run failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .exceptions import FAILURE_COLUMNS, LISTED_PROBLEMS, InputError, RunError, ScoringError
from .outputs.csvfile import write_csv

if TYPE_CHECKING:
    import pandas as pd


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scoring", description="党员积分制管理评分 (party-member points scoring)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", help="score one branch (or, from a unit workbook, a unit's branches) for one period through the notebook"
    )
    run.add_argument(
        "--inputs",
        required=True,
        type=Path,
        help="input workbook (.xlsx) of one branch and year, or of one unit and year",
    )
    run.add_argument("--period", required=True, help="2025, 2025H1, 2025Q3 or 2025-07")
    run.add_argument("--out", required=True, type=Path, help="folder that holds run folders, e.g. runs")
    run.add_argument("--member", default="", help="member_id to trace in the notebook (default: best-ranked)")
    run.add_argument(
        "--branch", default="", help="a unit workbook: branch_id to trace in the notebook (default: first-ranked)"
    )
    run.add_argument("--scheme", default="", help="override the workbook's scheme: a built-in name or a .yaml path")
    run.add_argument(
        "--publicity-start",
        default=None,
        type=_date_arg,
        metavar="YYYY-MM-DD",
        help="first day of the 公示 (a year run's follow-up cases open on its last day);"
        " default: the branch sheet's 公示开始日期, else the next working day",
    )

    val = sub.add_parser("validate", help="check an input workbook for a period; write nothing")
    val.add_argument("--inputs", required=True, type=Path)
    val.add_argument("--period", required=True)
    val.add_argument("--scheme", default="", help="a built-in scheme name or any .yaml scheme file")
    val.add_argument(
        "--errors",
        type=Path,
        default=None,
        help="write every problem found to this CSV file (file, sheet, row, column, cell, value, problem, allowed);"
        " written anyway, to a temporary folder, when there are more than 50",
    )

    demo = sub.add_parser("demo", help="generate the demo county and run every branch")
    demo.add_argument("--data", type=Path, default=Path("demo_data"), help="where to write the demo input workbooks")
    demo.add_argument("--out", type=Path, default=Path("runs"))
    demo.add_argument(
        "--period",
        action="append",
        help="period(s) to run (default: 2024 for the record branch, then 2025, 2025Q4, 2025Q1 and 2025-03; "
        "a branch whose scheme scores quarters or the year is not scored for a shorter period)",
    )

    tpl = sub.add_parser(
        "template", help="write the input workbook template of a scheme (validation, protection, 填表说明)"
    )
    tpl.add_argument("--scheme", help="built-in scheme name or .yaml path (default: every built-in scheme)")
    tpl.add_argument(
        "--year", type=int, help="year to fill in; months and dates are then checked against it (default: blank)"
    )
    tpl.add_argument(
        "--branch", default="", help="branch_id to fill in (a unit template, subject: branch: the unit_id)"
    )
    tpl.add_argument(
        "--members",
        type=Path,
        help=(
            "CSV or .xlsx with member_id, name (optional member_type, role, joined, left, exempt): prefills the"
            " members sheet and, with --year, one monthly_scores row per member and month"
        ),
    )
    tpl.add_argument("--out", type=Path, default=Path("templates_xlsx"))
    tpl.add_argument(
        "--force",
        action="store_true",
        help="overwrite an existing workbook (a prefilled one is never overwritten without it)",
    )

    rec = sub.add_parser(
        "recompute", help="recompute a run's workbook with LibreOffice and/or Gnumeric and compare every formula"
    )
    rec.add_argument("run", type=Path, help="a run folder (or a results workbook)")
    rec.add_argument(
        "--engine",
        choices=["libreoffice", "gnumeric", "both"],
        default="libreoffice",
        help="the spreadsheet that recalculates it (default: libreoffice)",
    )

    bat = sub.add_parser("batch", help="run every branch workbook of a folder for one period, in parallel")
    bat.add_argument("--inputs", required=True, type=Path, help="folder of branch input workbooks (.xlsx)")
    bat.add_argument("--period", required=True)
    bat.add_argument("--out", required=True, type=Path)
    bat.add_argument(
        "--jobs",
        type=int,
        default=None,
        help=(
            "branches at a time on this machine, and processes reading the roll-up's inputs (default: number of cores)"
        ),
    )
    bat.add_argument(
        "--scheduler",
        default=None,
        help="address of a dask.distributed scheduler, e.g. tcp://10.0.0.5:8786, to run the branches on its workers",
    )
    bat.add_argument(
        "--kernel",
        choices=["warm", "cold"],
        default="warm",
        help=(
            "warm (default): each worker keeps one kernel for its branches, reset between them;"
            " cold: a fresh kernel per branch"
        ),
    )

    apr = sub.add_parser(
        "approve", help="record a reviewer's sign-off on a run (a new approval file; nothing is changed)"
    )
    apr.add_argument("run", type=Path, help="a run folder, e.g. runs/2025/B001/v001")
    apr.add_argument("--reviewer", required=True, help="name of the reviewer who signs off")
    apr.add_argument("--note", default="", help="optional remark recorded with the approval")

    ver = sub.add_parser(
        "verify", help="re-check every hash of a run and re-score it from its recorded inputs and scheme"
    )
    ver.add_argument("run", type=Path)

    rev = sub.add_parser("review", help="execute the reviewer notebook for a run (into BRANCH/reviews/)")
    rev.add_argument("run", type=Path)
    rev.add_argument("--out", type=Path, default=None, help="where to write the executed notebook")
    rev.add_argument(
        "--holidays",
        nargs="*",
        default=[],
        type=_date_arg,
        metavar="YYYY-MM-DD",
        help="public holidays in the 公示 period (not working days)",
    )

    dif = sub.add_parser(
        "diff",
        help="members (a unit's run: branches) whose figures changed between two runs, and the input rows under them",
    )
    dif.add_argument("run_a", type=Path, help="the earlier run folder")
    dif.add_argument("run_b", type=Path, help="the later run folder")

    _history_parser(sub)

    sub.add_parser("schemes", help="list the built-in schemes")
    return parser


def _history_parser(sub: Any) -> None:
    """``history``: each member's figures across years and periods from the sealed runs (SPEC 8)."""
    his = sub.add_parser(
        "history",
        help=(
            "each member's figures across years and periods, from the sealed runs (per branch and period the"
            " latest approved run, else the latest): a table per member and period, a CSV and a chart"
        ),
    )
    his.add_argument("--out", type=Path, default=Path("runs"), help="the runs folder (default: runs)")
    his.add_argument("--branch", default="", help="only this branch's runs (branch_id)")
    his.add_argument(
        "--member",
        default="",
        help="only this member (member_id), followed into every branch: one row per period with all its figures",
    )
    his.add_argument(
        "--csv",
        type=Path,
        default=None,
        help="write the long table (one row per member, period and branch; headers 中文 (key)) as UTF-8 CSV",
    )
    his.add_argument(
        "--chart",
        type=Path,
        default=None,
        help="draw each member's (or --member's) figure across the periods as a PNG: a panel per kind of period",
    )


def _date_arg(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应为 YYYY-MM-DD (a date like 2025-10-01): {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            from .runs.execute import run_branch

            folder = run_branch(
                args.inputs,
                args.period,
                args.out,
                member_id=args.member,
                scheme=args.scheme,
                branch_id=args.branch,
                publicity_start=args.publicity_start or "",
            )
            written = "、".join(
                sorted(
                    p.name if p.is_file() else f"{p.name}/ ({sum(1 for f in p.rglob('*') if f.is_file())} 个文件)"
                    for p in folder.iterdir()
                )
            )
            print(f"运行完成 (run written): {written} 在:")
            print(folder)
        elif args.command == "validate":
            from .rules.periods import parse_period
            from .rules.scheme import load_scheme
            from .runs.subjects import load

            loaded = load(args.inputs, parse_period(args.period), load_scheme(args.scheme) if args.scheme else None)
            sch, subject = loaded.scheme, loaded.subject
            print(
                f"输入检查通过 (inputs are valid): {loaded.folder_id} {loaded.name},"
                f" scheme {sch.name} {sch.version}, {len(loaded.ids)} {subject.english}"
            )
            for rec in loaded.book.normalised.itertuples(index=False):
                print(f"  已按 {rec.read_as!s} 读取 (read as) {rec.cells!s}: {rec.value!r} ({rec.why!s})")
            if args.errors is not None:
                try:
                    _write_errors(None, args.errors)
                except OSError as err:
                    print(
                        f"问题表无法写出 (the problem table could not be written) {args.errors}: {err}", file=sys.stderr
                    )
                    return 2
                print(f"问题表 (problem table, empty): {args.errors}")
        elif args.command == "demo":
            periods = args.period or [*RECORD_DEMO_PERIODS, *DEMO_PERIODS]
            return _demo(args.data, args.out, periods, args.period or list(UNIT_DEMO_PERIODS))
        elif args.command == "template":
            from .inputs.templates import write_builtin_templates, write_template

            # blank templates are regenerated in place; a workbook for a branch, year or member list
            # may already be filled in, so it is only replaced with --force
            overwrite = args.force or not (args.year or args.branch or args.members)
            if args.out.exists() and not args.out.is_dir():
                raise RunError(
                    f"--out 应为文件夹, 而 {args.out} 是一个文件 (--out names a folder, {args.out} is a file); "
                    "allowed: a folder, e.g. --out templates_xlsx"
                )
            try:
                args.out.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                problem = f"无法创建输出文件夹 (cannot create the output folder) {args.out}: {err.strerror}"
                raise RunError(problem) from err
            if args.scheme:
                paths = [write_template(args.scheme, args.out, args.year, args.branch, args.members, overwrite)]
            else:
                paths = write_builtin_templates(args.out, args.year, args.branch, args.members, overwrite)
            for path in paths:
                print(path)
        elif args.command == "recompute":
            from .outputs.recompute import ENGINE_LABELS, ENGINES, recompute

            engines = ENGINES if args.engine == "both" else (args.engine,)
            table = recompute(args.run, engines)
            bad = table[~table["ok"]]
            by_sheet = (
                table.groupby(["engine", "sheet"])["ok"]
                .agg(["size", "sum"])
                .rename(columns={"size": "公式 formulas", "sum": "一致 equal"})
                .reset_index()
                .rename(columns={"engine": "引擎 engine", "sheet": "工作表 sheet"})
            )
            print(by_sheet.to_string(index=False))
            if len(bad):
                print(f"\n{len(bad)} 个公式的重算结果与程序不一致 (formulas differ):")
                print(bad.head(50).to_string(index=False))
                return 1
            names = " 和 ".join(ENGINE_LABELS[e] for e in engines)
            print(f"\n全部 {len(table)} 个公式经 {names} 重算后与程序计算值一致 (all formulas recomputed equal)")
        elif args.command == "batch":
            from .runs.batch import ROLLUP_ROW, STATUS_LABELS, run_batch

            table, report = run_batch(
                args.inputs, args.period, args.out, jobs=args.jobs, scheduler=args.scheduler, warm=args.kernel == "warm"
            )
            import pandas as pd

            with pd.option_context("display.max_colwidth", 200, "display.width", 250):
                print(table[["file", "branch_id", "状态", "status", "where"]].to_string(index=False))
            # the table's last row is the unit roll-up, not a branch: counted apart
            is_rollup = table["file"] == ROLLUP_ROW
            branch_status = table.loc[~is_rollup, "status"]
            not_done = int(branch_status.isin(["failed", "bad_input"]).sum())
            rollup = table.loc[is_rollup, "status"]
            rollup_status = str(rollup.iloc[0]) if len(rollup) else "failed"
            rollup_text = f"{STATUS_LABELS.get(rollup_status, rollup_status)} ({rollup_status})"
            print(
                f"\n{len(branch_status)} 个支部 (branches):"
                f" {len(branch_status) - not_done} 个完成或复用 (done or reused),"
                f" {not_done} 个失败或输入有误 (failed or bad input); "
                f"单位汇总 (roll-up): {rollup_text}。 状态表 (status table): {report / 'status.csv'}"
            )
            return 1 if not_done or rollup_status == "failed" else 0
        elif args.command == "approve":
            from .runs.review import approve

            path = approve(args.run, args.reviewer, args.note)
            print(f"已审核 (approved) by {args.reviewer}: {path}")
        elif args.command == "verify":
            from .runs.review import verify

            result = verify(args.run)
            print(result.report())
            return 0 if result.ok else 1
        elif args.command == "review":
            from .runs.execute import run_review

            print(f"审核笔记本 (reviewer notebook): {run_review(args.run, args.out, args.holidays)}")
        elif args.command == "diff":
            from .runs.review import diff

            print(diff(args.run_a, args.run_b).report())
        elif args.command == "history":
            return _history(args.out, args.branch, args.member, args.csv, args.chart)
        elif args.command == "schemes":
            from .rules.scheme import builtin_schemes, load_scheme

            for name in builtin_schemes():
                s = load_scheme(name)
                print(f"{name}\t{s.version}\t{s.scheme.title}\t{s.sha256}")
        return 0
    except InputError as exc:
        _report_input_error(exc, getattr(args, "errors", None))
        return 2
    except RunError as exc:
        print(f"运行失败 (run failed): {exc}", file=sys.stderr)
        return 1
    except ScoringError as exc:
        print(str(exc), file=sys.stderr)
        return 2


def _write_errors(failures: pd.DataFrame | None, path: Path) -> None:
    """The problem table as CSV (the header alone when there is none)."""
    import pandas as pd

    table = pd.DataFrame(columns=FAILURE_COLUMNS) if failures is None else failures
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(table, path, encoding="utf-8-sig")  # -sig: Excel opens it as UTF-8; no cell is a formula


def _report_input_error(exc: InputError, errors: Path | None) -> None:
    """The problems on stderr (at most 50, grouped, when there are more) and, when there are more
    or ``--errors`` asks for it, the whole table as CSV: never in a run folder, since a rejected
    input writes nothing there."""
    print(str(exc), file=sys.stderr)
    n = len(exc.failures)
    if errors is None and n <= LISTED_PROBLEMS:
        return
    if errors is None:
        files = exc.failures["file"].dropna().astype(str)
        stem = Path(files.iloc[0]).stem if len(files) else "inputs"
        # a private folder of its own: a fixed one in the shared temporary folder could belong to
        # another user
        folder = Path(tempfile.mkdtemp(prefix="scoring-errors-"))
        errors = folder / f"{stem}-{dt.datetime.now():%Y%m%dT%H%M%S}.errors.csv"
    try:
        _write_errors(exc.failures, errors)
    except OSError as err:
        print(f"问题表无法写出 (the problem table could not be written) {errors}: {err}", file=sys.stderr)
        return
    print(f"完整问题表, 共 {n} 处 (the full table of {n} problem(s), CSV): {errors}", file=sys.stderr)


def _history(out: Path, branch: str, member: str, csv: Path | None, chart: Path | None) -> int:
    """Print the history: for ``member`` one row per period (everything the period published, the
    branch, whether the run is approved, the run), else one row per member with a column per period
    holding the period's figure (an officer compares a member's years at a glance; the CSV has the
    long table with every figure). Writes the CSV and the chart when asked."""
    import pandas as pd

    from .runs.history import SCORE_NOTE, csv_table, read_history, readable_history, wide
    from .views.history_view import history_figure, unapproved

    found = read_history(out, branch or None, member or None)
    table = found.table
    fig = history_figure(table) if chart is not None else None
    if isinstance(fig, str):  # asked for a chart there is nothing to draw in: say so, write nothing
        print(f"图未写出 (no chart, nothing written): {fig}", file=sys.stderr)
        return 2
    shown = readable_history(table, one_member=True) if member else wide(table)
    where = f"支部 {branch}" if branch else "全部支部"
    who = f"党员 {member} {table['name'].iloc[-1]}" if member else f"{table['member_id'].nunique()} 名党员"
    print(f"历年积分 (history) · {where} · {who} · 读取 {len(found.runs)} 次运行 (record runs) 于 {out}")
    with pd.option_context(
        "display.max_rows",
        None,
        "display.max_columns",
        None,
        "display.width",
        250,
        "display.unicode.east_asian_width",
        True,
    ):
        print(shown.to_string(index=False))
    if not member:
        print(SCORE_NOTE)
        drafts = unapproved(table)
        if drafts:
            print(f"未审核的运行 (not approved; figures may still change): {'、'.join(drafts)}")
    try:
        if csv is not None:
            csv.parent.mkdir(parents=True, exist_ok=True)
            write_csv(csv_table(table), csv, encoding="utf-8-sig")  # -sig: Excel reads it as UTF-8
            print(f"历年积分表 (CSV): {csv}")
        if chart is not None and fig is not None:
            chart.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(chart, format="png", dpi=100)
            print(f"历年积分图 (chart): {chart}")
    except OSError as err:
        where = f" {err.filename}" if err.filename else ""
        print(f"无法写出 (cannot write){where}: {err.strerror}", file=sys.stderr)
        return 2
    return 0


# the year, a quarter and a month: every period kind a branch publishes (SPEC 6); the first
# quarter too, where the record branch lists a 自行脱党 case from August 2024 (SPEC 8)
DEMO_PERIODS = ("2025", "2025Q4", "2025Q1", "2025-03")
# the record branch's previous year, run before the periods above (SPEC 8: a year is not an island)
RECORD_DEMO_PERIODS = ("2024",)
# the demo unit's 月评季考年定级 (SPEC 3.9), and 2026's November, not yet approved (a draft 通报)
UNIT_DEMO_PERIODS = ("2025-02", "2025Q1", "2025", "2026-11")


def _demo(data: Path, out: Path, periods: list[str], unit_periods: list[str]) -> int:
    import pandas as pd

    from .inputs.demo import RECORD_FOLDER, generate_demo, generate_record_demo
    from .inputs.unit_demo import UNIT_DEMO_FOLDER, generate_unit_demo
    from .rules.periods import parse_period
    from .runs.batch import run_batch
    from .runs.execute import find_reusable, run_branch
    from .runs.subjects import load

    paths = generate_demo(data) + generate_record_demo(data)
    print(f"示范数据 (demo inputs, made-up names) 已写入 {data.resolve()}: {len(paths)} 个工作簿")
    # the demo unit's workbooks (支部联评联考) in a folder of their own: the batch below runs the
    # branches' workbooks, and a unit workbook is not one
    units = generate_unit_demo(data / UNIT_DEMO_FOLDER)
    print(f"示范单位 (demo unit, 支部联评联考) 已写入 {(data / UNIT_DEMO_FOLDER).resolve()}: {len(units)} 个工作簿")
    bad = 0
    for period in periods:  # the previous year first: 2025's runs read its sealed runs
        table, _ = run_batch(data / RECORD_FOLDER if period in RECORD_DEMO_PERIODS else data, period, out)
        with pd.option_context("display.max_colwidth", 200, "display.width", 250):
            print(table[["file", "branch_id", "状态", "where"]].to_string(index=False))
        bad += int(table["status"].isin(["failed", "bad_input"]).sum())
    # the unit's 支部联评联考 (SPEC 3.9) by the same path as ``scoring run``, reused when unchanged
    by_year = {int(u.stem.rsplit("_", 1)[-1]): u for u in units}
    for period in unit_periods:
        p = parse_period(period)
        if p.year not in by_year or p.kind == "half":  # no demo unit of that year; no 半年 in 月评季考年定级
            continue
        try:
            loaded = load(by_year[p.year], p)
            run = find_reusable(out, p.text, loaded.folder_id, loaded.book.sha256, loaded.scheme.sha256, loaded.subject)
            if run is not None:
                print(f"单位 (unit) {loaded.folder_id} {p.text}: 复用 (输入未变) {run}")
            else:
                run = run_branch(by_year[p.year], p.text, out, validated=(loaded.book, loaded.scheme))
                print(f"单位 (unit) {loaded.folder_id} {p.text}: 完成 {run}")
        except (InputError, RunError) as exc:
            print(f"单位 (unit) {by_year[p.year].name} {p.text}: 失败 (failed): {exc}", file=sys.stderr)
            bad += 1
    print(
        "全部完成 (all runs done). 打开任一文件夹中的 .ipynb 和 _结果.xlsx 查看结果;"
        " 单位汇总在 <期间>/_rollup 下。 Run folders are under:"
    )
    print(out.resolve())
    return 1 if bad else 0
