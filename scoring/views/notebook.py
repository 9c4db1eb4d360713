"""What the branch-period notebook calls: load, show, chart, trace, write. No logic in cells.

Every function prints Chinese headings and shows heads of tables (never thousands of rows, never
an appraisal ballot).
"""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..exceptions import RunError
from ..inputs.reading import load_inputs
from ..labels import readable
from ..outputs.csvfile import write_csv
from ..outputs.excel import write_results_workbook
from ..outputs.publicity import write_publicity_pdf
from ..rules.engine import Result, score
from ..rules.periods import KIND_LABELS, Period, parse_period
from ..rules.scheme import LoadedScheme, load_scheme
from ..runs.environment import describe, interpreter_shown, main_packages
from .trace import trace

HEAD_ROWS = 10


@dataclass
class Run:
    """A scored branch and period, with what it was made from."""

    inputs_path: Path
    period: Period
    scheme: LoadedScheme
    result: Result

    @property
    def item_names(self) -> dict[str, str]:
        return {i.code: i.name for i in self.scheme.scheme.items}


def _display(obj: Any) -> None:
    try:
        from IPython.display import display

        display(obj)  # type: ignore[no-untyped-call]  # IPython.display is not annotated
    except ImportError:  # outside IPython
        print(obj)


def environment() -> pd.DataFrame:
    """Which interpreter and packages ran this notebook (recorded in the executed notebook).

    The interpreter is printed as a path inside its environment's folder (``.venv/bin/python``),
    never as the machine's absolute path (SPEC 9: the manifest keeps that); the SHA-256 over every
    installed distribution is printed in full: it equals the manifest's ``environment.sha256``,
    where the full list is kept."""
    env = describe()
    print(f"解释器 (interpreter): {interpreter_shown()}")
    print(f"已安装的软件包 (distributions installed): {len(env['packages'])} 个, SHA-256 {env['sha256']}")
    table = main_packages(env)
    scoring_row = pd.DataFrame([("scoring", __version__)], columns=table.columns)
    return pd.concat([table.iloc[:1], scoring_row, table.iloc[1:]], ignore_index=True)


def demo_inputs(branch_index: int = 0, year: int = 2025) -> Path:
    """A demo branch workbook in a temporary folder (used when no input is given)."""
    from ..inputs.demo import DEMO_BRANCHES, branch_tables, write_input_workbook

    spec = DEMO_BRANCHES[branch_index]
    branch, sheets = branch_tables(spec, year, seed=1000 + branch_index)
    folder = Path(tempfile.mkdtemp(prefix="scoring-demo-"))
    return write_input_workbook(
        folder / f"{spec.branch_id}_{year}.xlsx", branch, sheets, load_scheme(spec.scheme).scheme
    )


def load(inputs_path: str, period: str, scheme: str = "") -> Run:
    """Read, validate and score; show the input checks."""
    path = Path(inputs_path) if inputs_path else demo_inputs()
    p = parse_period(period)
    loaded = load_scheme(scheme) if scheme else None
    book, sch = load_inputs(path, p, loaded)
    result = score(book, sch, p)
    run = Run(path, p, sch, result)
    s = sch.scheme
    print(f"支部 (branch): {book.branch_id} {book.branch_name}")
    print(f"期间 (period): {p.text} {p.label} ({KIND_LABELS[p.kind]})")
    print(f"积分方案 (scheme): {s.name} {s.version} — {s.title}; SHA-256 {sch.sha256}")
    print(f"输入文件 (input): {path.name}; SHA-256 {book.sha256}")
    print("输入检查通过: 各工作表行数如下 (all input checks passed; rows per sheet):")
    _display(readable(book.sheet_counts()))
    for note in book.notes:
        print("说明:", note)
    return run


RUN_FOLDER_TEXT = "本次运行的文件夹 (the run folder)"


def _parameter_text(key: str, value: Any) -> str:
    """A parameter as the notebook shows it: a file by its name, the output folder as the run
    folder, never an absolute path of the machine (SPEC 9)."""
    text = "" if value is None else str(value)
    if key == "out_dir":
        return RUN_FOLDER_TEXT if text else "(未指定, 不写文件 none: nothing written)"
    if text and Path(text).is_absolute():
        return Path(text).name
    return text


def show_parameters(**params: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {"参数 (parameter)": list(params), "值 (value)": [_parameter_text(k, v) for k, v in params.items()]}
    )


def show_scheme(run: Run) -> pd.DataFrame:
    """The scheme's items and weights."""
    s = run.scheme.scheme
    items = pd.DataFrame(
        [(i.code, i.name, i.max) for i in s.items], columns=["代码 (code)", "考评项目 (item)", "满分 (max)"]
    )
    print(
        f"月度权重 {s.year.weight:g}; 民主测评权重 {s.appraisal.weight:g} ({s.appraisal.mode});"
        f" 加减分合并方式 {s.adjustments.combine}; 一票否决 {s.veto.effect}"
    )
    return readable(items)


def show_intermediate(run: Run) -> None:
    """Heads of the intermediate tables."""
    r = run.result
    names = run.item_names
    parts: list[tuple[str, pd.DataFrame]] = [
        ("月度评分 (monthly item scores, amendments applied)", r.item_scores),
        (
            "评分更正 (amendments: original kept)",
            r.amendments[["member_id", "month", "item", "original", "new_score", "reason", "decided_on", "row"]]
            if len(r.amendments)
            else r.amendments,
        ),
        ("月度总分 (monthly totals)", r.monthly_totals),
        ("季度汇总 (quarters)", r.quarters),
    ]
    if run.period.kind == "year":
        parts.append(("年终项目积分 (annual item scores)", r.item_year))
        if len(r.appraisal.columns) > 1:
            parts.append(("民主测评平均 (appraisal averages: counts and averages only)", r.appraisal))
    parts.append(
        (
            "加减分 (adjustments applied and not applied)",
            r.adjustments[["member_id", "date", "rule_code", "rule_name", "points_used", "applied_points", "reason"]],
        )
    )
    parts.append(
        (
            "一票否决 (vetoes)",
            r.vetoes[
                [
                    "member_id",
                    "date",
                    "condition_name",
                    "votes_for",
                    "votes_against",
                    "members_on_date",
                    "applies",
                    "reason",
                ]
            ],
        )
    )
    for title, df in parts:
        print(f"\n【{title}】 共 {len(df)} 行, 显示前 {min(len(df), HEAD_ROWS)} 行")
        _display(readable(df.head(HEAD_ROWS), names))


def show_results(run: Run) -> pd.DataFrame:
    """The period's results, all members (a branch has tens of members)."""
    return readable(run.result.summary(), run.item_names)


def headline(run: Run) -> pd.DataFrame:
    """A few deterministic figures of the run (checked by nbval on the demo)."""
    summ = run.result.summary()
    if run.period.kind == "year":
        scored = summ[summ["total"].notna()]
        rows = [
            ("党员人数 members", len(summ)),
            ("计分人数 scored", len(scored)),
            ("年度总积分平均 mean total", f"{scored['total'].mean():.2f}" if len(scored) else ""),
            ("最高分 highest", f"{scored['total'].max():.2f}" if len(scored) else ""),
            ("一票否决 vetoed", int((summ["veto"] == "yes").sum())),
            ("不列入积分 exempt", int((summ["exempt"] == "yes").sum())),
        ]
        if run.scheme.scheme.has_stars:
            rows.append(("十星党员 ten stars", int((summ["stars"] == 10).sum())))
    else:
        col = {"quarter": "quarter_score", "half": "half_score", "month": "month_total"}[run.period.kind]
        values = summ[col].dropna()
        rows = [("党员人数 members", len(summ)), (f"平均 mean {col}", f"{values.mean():.2f}" if len(values) else "")]
    return pd.DataFrame(rows, columns=["指标", "值"])


def chart(run: Run) -> None:
    """Distribution of the period's scores, with the scheme's band lines for a year.

    The figure is displayed explicitly and closed, so it lands in the executed notebook whatever
    matplotlib backend the kernel inherited (``MPLBACKEND=Agg`` under the test runner).
    """
    import matplotlib.pyplot as plt
    from matplotlib import font_manager
    from matplotlib.ticker import MaxNLocator

    cjk = [
        f.name
        for f in font_manager.fontManager.ttflist
        if "CJK" in f.name or "Noto Sans SC" in f.name or "WenQuanYi" in f.name
    ]
    if cjk:
        plt.rcParams["font.sans-serif"] = [cjk[0], *plt.rcParams["font.sans-serif"]]
    plt.rcParams["axes.unicode_minus"] = False
    summ = run.result.summary()
    col = {"year": "total", "quarter": "quarter_score", "half": "half_score", "month": "month_total"}[run.period.kind]
    values = summ[col].dropna()
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.hist(values, bins=min(20, max(5, len(values))), color="#c0392b", alpha=0.8)
    if len(values):
        lo, hi = float(values.min()), float(values.max())
        ax.set_xlim(lo - max(2.0, 0.05 * abs(lo)), hi + max(2.0, 0.05 * abs(hi)))
    locator = ax.yaxis.get_major_locator()
    if isinstance(locator, MaxNLocator):  # matplotlib's default AutoLocator is one
        locator.set_params(integer=True)
    if run.period.kind == "year":
        left, right = ax.get_xlim()
        for band in run.scheme.scheme.bands[:-1]:
            if left <= band.min <= right:
                ax.axvline(band.min, color="#555", linestyle=":", linewidth=1)
                ax.text(
                    band.min,
                    ax.get_ylim()[1] * 0.95,
                    f" ≥{band.min:g} " + (f"{band.stars}星" if band.stars is not None else band.label),
                    fontsize=8,
                    ha="left",
                    va="top",
                )
    ax.set_title(f"{run.result.branch_name} {run.period.label} 积分分布")
    ax.set_xlabel("积分")
    ax.set_ylabel("人数")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    try:
        from IPython.display import Image

        _display(Image(data=buffer.getvalue(), format="png"))  # type: ignore[no-untyped-call]  # not annotated
    except ImportError:
        print(f"图表 (chart): {len(buffer.getvalue())} bytes PNG")


def default_member(run: Run) -> str:
    """The member to trace when none is given: the best-ranked scored member."""
    summ = run.result.summary()
    key = {"year": "total", "quarter": "quarter_score", "half": "half_score", "month": "month_total"}[run.period.kind]
    ranked = summ.dropna(subset=[key]).sort_values([key, "member_id"], ascending=[False, True])
    return str(ranked["member_id"].iloc[0]) if len(ranked) else str(summ["member_id"].iloc[0])


def show_trace(run: Run, member_id: str = "") -> None:
    """The whole trace of one member (a few hundred rows at most), shown in full."""
    mid = member_id or default_member(run)
    t = trace(run.result, mid)
    name = str(run.result.members.set_index("member_id").loc[mid, "name"])
    print(f"追溯 (trace): {mid} {name} — {len(t)} 行, 从期间总分一直到每个月评分单元格 (input cell of every figure)")
    with pd.option_context("display.max_rows", 1000, "display.max_colwidth", 80):
        _display(readable(t))


def provenance_of(run: Run) -> dict[str, Any]:
    """Provenance when the notebook is run by hand rather than by ``python -m scoring run``."""
    book = run.result.book
    return {
        "branch_id": run.result.branch_id,
        "period": run.period.text,
        "input_file": run.inputs_path.name,
        "input_sha256": book.sha256 if book is not None else "",
        "scheme_name": run.scheme.name,
        "scheme_version": run.scheme.version,
        "scheme_sha256": run.scheme.sha256,
        "package_version": __version__,
    }


def check_provenance(run: Run, provenance: dict[str, Any]) -> None:
    """Refuse to publish figures scored from other bytes than the provenance records.

    ``python -m scoring run`` validates and hashes the input workbook (and archives it) before it
    starts the notebook, which then reads the file again: if the file was changed in between, the
    manifest and the results would describe different inputs. The scheme file is read twice the
    same way, so its hash is checked too. A hash the provenance does not carry (a notebook run by
    hand) is not checked.
    """
    book = run.result.book
    checks: list[tuple[str, str, str, str, str]] = [
        ("input_sha256", book.sha256 if book is not None else "", "输入文件", "the input file", str(run.inputs_path)),
        ("scheme_sha256", run.scheme.sha256, "积分方案文件", "the scheme file", str(run.scheme.path)),
    ]
    for key, actual, zh, en, where in checks:
        expected = str(provenance.get(key) or "")
        if expected and expected != actual:
            raise RunError(
                f"{zh}在运行期间被改动, 不写出结果 ({en} changed during the run; nothing is written): "
                f"{where}: 运行开始时 SHA-256 (at the start) {expected},"
                f" 笔记本读到的 SHA-256 (read by the notebook) {actual}. "
                "请确认文件不再改动后重新运行 (make sure the file is no longer being edited, then run again)."
            )


def write_outputs(run: Run, out_dir: str, provenance: dict[str, Any]) -> list[Path]:
    """Write the results workbook and summary.csv into ``out_dir`` (the run's staging folder).

    Nothing is written when the files scored differ from those ``provenance`` records
    (:func:`check_provenance`)."""
    check_provenance(run, provenance)
    if not out_dir:
        print("未指定输出文件夹, 不写文件 (no out_dir: nothing written)")
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = out / "summary.csv"
    write_csv(run.result.summary(), summary)  # a text cell never becomes a formula in Excel or WPS
    workbook = write_results_workbook(
        run.result, out / f"{run.result.branch_id}_{run.period.text}_结果.xlsx", provenance
    )
    written = [summary, workbook]
    if shutil.which("soffice"):
        written.append(write_publicity_pdf(run.result, out))
    else:
        print(
            "未安装 LibreOffice, 不生成 公示.pdf (LibreOffice missing: no 公示.pdf); apt-get install libreoffice-calc"
        )
    for p in written:
        print("已写出 (written):", p.name)
    return written
