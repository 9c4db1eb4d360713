"""The officer's workbench (notebooks/workbench.ipynb): from a filled workbook to a sealed, approved
run in the browser, without a terminal.

Five steps, each calling the same functions as the command line (one code path):

1. 模板: ``scoring.inputs.templates.write_template`` (``scoring template``);
2. 上传与检查: ``scoring.runs.subjects.load`` (``scoring validate``), its ``InputError.failures``
   shown as the problem table;
3. 评分: ``scoring.runs.execute.run_branch`` (``scoring run``);
4. 审核: ``scoring.runs.review.verify`` and ``approve``, the reviewer notebook's warning signs
   (``scoring.views.audit``) and ``run_review`` (``scoring review``);
5. 全单位: ``scoring.runs.batch.run_batch`` (``scoring batch``) and its roll-up.

An uploaded file is saved in the uploads folder the page is given (never a run folder) under a
name made from its SHA-256; the name it had on the officer's computer is only shown, never used
as a path (SPEC 10). Downloads are ``data:`` links in the page: they need no file server, so the
page stays one notebook that Voila or JupyterLab serves as it is. A run or a batch goes on in a
thread of the kernel, so the page stays responsive and shows its progress.

What an officer reads is Chinese, with no ``nan``, ``None`` or English yes/no, and no absolute
path of the machine (SPEC 9).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import io
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TextIO, cast

import pandas as pd

from ..exceptions import FAILURE_COLUMNS, InputError, RunError, ScoringError
from ..labels import readable_values, run_label
from ..outputs.csvfile import csv_text, read_csv_text
from .display import html_table

UploadKind = Literal["workbook", "members"]

# more than this is no input workbook of a branch (and a websocket message has its limits)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# files larger than this are not put into the page as a download link
MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"  # an .xlsx is a zip file
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # an old .xls (or an encrypted workbook)
ID = re.compile(r"[A-Za-z0-9_\-]+")

# the problem table as the page shows it: the failure table's keys in Chinese, key beside
PROBLEM_HEADERS: dict[str, str] = {
    "sheet": "工作表 (sheet)",
    "cell": "单元格 (cell)",
    "value": "值 (value)",
    "problem": "问题 (problem)",
    "allowed": "允许 (allowed)",
}
# how the officer may sort it: the order found, or by one of the columns
PROBLEM_SORTS: dict[str, str] = {
    "order": "发现顺序",
    "cell": "单元格 (按工作表、行、列)",
    "problem": "问题",
    "value": "值",
}

PAGE_CSS = """<style>
.wb-spinner{display:inline-block;width:13px;height:13px;border:3px solid #d0d0d0;border-top-color:#c00000;
 border-radius:50%;animation:wb-spin 0.9s linear infinite;vertical-align:-3px;margin-right:8px}
@keyframes wb-spin{to{transform:rotate(360deg)}}
.wb-ok{color:#1a7f37}.wb-bad{color:#c00000}.wb-warn{color:#9a6700}.wb-note{color:#555}
.wb-files td,.wb-files th{padding:3px 10px;text-align:left}
.wb-step-intro{color:#333;max-width:980px}
.wb-flag-attention{background:#fff4e5}
a.wb-download{color:#0b57d0;text-decoration:underline;cursor:pointer;font-weight:600}
</style>"""


# -- uploads ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """One file saved in the uploads folder: where it is and the name the officer's file had (for
    showing only)."""

    path: Path
    name: str  # the uploaded file's own name: shown, never a path
    kind: UploadKind
    uploaded_at: str
    sha256: str

    @property
    def label(self) -> str:
        return f"上传: {self.name} ({self.uploaded_at[:16].replace('T', ' ')})"


def upload_suffix(content: bytes, kind: UploadKind) -> str:
    """The suffix the saved file gets, from its bytes (never from its name): a workbook must be an
    .xlsx; a members list is an .xlsx or else a CSV."""
    if content.startswith(ZIP_MAGIC):
        return ".xlsx"
    if content.startswith(OLE_MAGIC):
        raise ScoringError(
            "这是旧的 .xls 格式 (或加了密码的工作簿), 请在 Excel 或 WPS 中另存为 .xlsx 后再上传"
            " (an old .xls or an encrypted workbook: save it as .xlsx)"
        )
    if kind == "workbook":
        raise ScoringError("上传的文件不是 .xlsx 工作簿 (not an .xlsx workbook); 允许 (allowed): .xlsx")
    return ".csv"


def save_upload(content: bytes, name: str, folder: str | Path, kind: UploadKind) -> Upload:
    """Save an uploaded file into ``folder`` as ``<SHA-256, first 16>.xlsx`` (or ``.csv``), with a
    ``.json`` beside it that remembers the original name. The same bytes uploaded twice (by two
    officers at once, say) are one file; each file is written to a temporary name and renamed into
    place, so nobody reads half a file."""
    if not content:
        raise ScoringError("上传的文件是空的 (the uploaded file is empty)")
    if len(content) > MAX_UPLOAD_BYTES:
        raise ScoringError(
            f"上传的文件太大 ({len(content) // 1024 // 1024} MB);"
            f" 允许 (allowed): 至多 {MAX_UPLOAD_BYTES // 1024 // 1024} MB"
        )
    suffix = upload_suffix(content, kind)
    sha = hashlib.sha256(content).hexdigest()
    out = Path(folder)
    # the owner's alone, as the runs' archive: an input workbook holds the anonymous ballots
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = out / f"{sha[:16]}{suffix}"
    shown = Path(name.replace("\\", "/")).name or "(无名)"  # what the officer's file was called
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    record = {"name": shown, "kind": kind, "uploaded_at": now, "sha256": sha, "bytes": len(content)}
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != sha:
        _write_atomically(path, content)
    _write_atomically(path.with_suffix(".json"), (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode())
    return Upload(path, shown, kind, now, sha)


def _write_atomically(path: Path, content: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def uploads(folder: str | Path, kind: UploadKind) -> list[Upload]:
    """The files of one kind uploaded so far, newest first."""
    found = []
    for record_path in Path(folder).glob("*.json"):
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict) or record.get("kind") != kind:
            continue
        for suffix in (".xlsx", ".csv"):
            path = record_path.with_suffix(suffix)
            if path.is_file():
                found.append(
                    Upload(
                        path,
                        str(record.get("name", "")),
                        kind,
                        str(record.get("uploaded_at", "")),
                        str(record["sha256"]),
                    )
                )
    return sorted(found, key=lambda u: u.uploaded_at, reverse=True)


def upload_names(folder: str | Path) -> dict[str, str]:
    """Saved file name -> the name the officer's file had, for every upload."""
    kinds: tuple[UploadKind, ...] = ("workbook", "members")
    return {u.path.name: u.name for kind in kinds for u in uploads(folder, kind)}


def workbooks(inputs: str | Path) -> list[Path]:
    """The input workbooks of the inputs folder (``*.xlsx``, without Office's lock files)."""
    folder = Path(inputs)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith(("~$", ".")))


def member_lists(inputs: str | Path) -> list[Path]:
    """What the inputs folder offers as a members list: CSV files and workbooks (a workbook's
    members sheet, e.g. last year's input workbook)."""
    folder = Path(inputs)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.csv") if not p.name.startswith(".")) + workbooks(folder)


# -- downloads -------------------------------------------------------------------------------------

MIME: dict[str, str] = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pdf": "application/pdf",
    ".csv": "text/csv",
    ".json": "application/json",
    ".ipynb": "application/x-ipynb+json",
    ".html": "text/html",
    ".txt": "text/plain",
}


def data_url(content: bytes, suffix: str) -> str:
    """``content`` as a ``data:`` URL of the type its suffix says."""
    mime = MIME.get(suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def download_link(name: str, content: bytes, text: str = "", css: str = "wb-download") -> str:
    """An HTML link that saves ``content`` as ``name``; the text shown is ``text`` (else the name)."""
    return (
        f'<a class="{html.escape(css)}" download="{html.escape(name)}" '
        f'href="{data_url(content, Path(name).suffix)}" data-file="{html.escape(name)}">'
        f"{html.escape(text or name)}</a>"
    )


def size_text(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


# -- 1. the template -------------------------------------------------------------------------------


def scheme_choices() -> list[tuple[str, str]]:
    """(``title (name)``, name) of every built-in scheme."""
    from ..rules.scheme import builtin_schemes, load_scheme

    return [(f"{load_scheme(n).scheme.title} ({n})", n) for n in builtin_schemes()]


def make_template(scheme: str, year: int | None, branch_id: str = "", members: Path | None = None) -> tuple[str, bytes]:
    """The prefilled input workbook as ``scoring template --scheme S --year Y --branch B --members M``
    writes it (the same function): its file name and bytes, made in a temporary folder that is
    removed at once."""
    from ..inputs.templates import write_template

    branch_id = branch_id.strip()
    if branch_id and not ID.fullmatch(branch_id):
        raise ScoringError(f"编号只能含字母、数字、- 和 _ (invalid id): {branch_id!r}; 允许 (allowed): 如 B001")
    with tempfile.TemporaryDirectory(prefix="scoring-template-") as tmp:
        path = write_template(scheme, tmp, year, branch_id, members, overwrite=True)
        return path.name, path.read_bytes()


# -- 2. the check ----------------------------------------------------------------------------------


@dataclass
class Checked:
    """A workbook checked for a period: what was read, or every problem found."""

    path: Path
    period: str
    loaded: Any = None  # scoring.runs.subjects.Loaded when the workbook is good
    failures: pd.DataFrame | None = None  # InputError.failures when it is not
    message: str = ""  # a problem that is not a table (a scheme that cannot be read, a period)

    @property
    def ok(self) -> bool:
        return self.loaded is not None


def check_workbook(path: str | Path, period: str) -> Checked:
    """Read and validate a workbook for ``period`` exactly as ``scoring validate`` does; nothing is
    written."""
    from ..rules.periods import parse_period
    from ..runs.subjects import load

    path = Path(path)
    try:
        return Checked(path, period, loaded=load(path, parse_period(period)))
    except InputError as exc:
        return Checked(path, period, failures=exc.failures)
    except ScoringError as exc:
        return Checked(path, period, message=str(exc))


def problem_rows(failures: pd.DataFrame, names: dict[str, str] | None = None) -> pd.DataFrame:
    """The failure table with the file named as the officer's file was (``names``: saved name ->
    uploaded name), every cell text, blank for no value; columns as ``FAILURE_COLUMNS``."""
    table = failures.reindex(columns=FAILURE_COLUMNS).reset_index(drop=True)
    table = readable_values(table).astype(object)
    out = table.map(lambda v: "" if v is None else str(v).removesuffix(".0") if isinstance(v, float) else str(v))
    if names:
        out["file"] = [names.get(f, f) for f in out["file"]]
    return out


def sort_problems(rows: pd.DataFrame, by: str = "order", ascending: bool = True) -> pd.DataFrame:
    """The problem rows in the order found, or by cell (sheet, then row, then column), problem or value."""
    if by == "order":
        return rows if ascending else rows.iloc[::-1]
    if by == "cell":
        row = pd.to_numeric(rows["row"], errors="coerce").fillna(0)
        keys = pd.DataFrame({"sheet": rows["sheet"], "row": row, "column": rows["column"]})
        order = keys.sort_values(["sheet", "row", "column"], ascending=ascending, kind="stable").index
        return rows.loc[order]
    return rows.sort_values(by, ascending=ascending, kind="stable")


def sheet_label(key: str) -> str:
    """``月度评分 (monthly_scores)``: a sheet key as the workbook names the sheet (a branch's or a unit's)."""
    from ..inputs.reading import SHEETS
    from ..inputs.unit import UNIT_SHEETS

    spec = SHEETS.get(key) or UNIT_SHEETS.get(key)
    return f"{spec.label} ({key})" if spec is not None else key


def problems_html(rows: pd.DataFrame) -> str:
    """The problem table as the page shows it: numbered in the order found, sheets by their names."""
    shown = rows[list(PROBLEM_HEADERS)].rename(columns=PROBLEM_HEADERS)
    # the sheet as the cell reference names it (the workbook's own sheet), else by its key
    shown[PROBLEM_HEADERS["sheet"]] = [
        c.rsplit("!", 1)[0] if "!" in c else sheet_label(k) for c, k in zip(rows["cell"], rows["sheet"], strict=True)
    ]
    shown.insert(0, "序号", [str(i + 1) for i in rows.index])
    return f'<div class="wb-problems">{html_table(shown)}</div>'


def problems_csv(rows: pd.DataFrame) -> bytes:
    """The problem table as ``scoring validate --errors`` writes it (UTF-8 with BOM, so that Excel
    opens it; a cell that looks like a formula is written as text)."""
    return ("\ufeff" + csv_text(rows[FAILURE_COLUMNS])).encode("utf-8")


def checked_html(c: Checked, shown_name: str) -> str:
    """The check's headline: passed, with what was read, or the number of problems."""
    name = html.escape(shown_name)
    if c.ok:
        loaded = c.loaded
        s = loaded.scheme
        notes = "".join(
            f"<li>{html.escape(str(r.cells))}: 「{html.escape(str(r.value))}」按 {html.escape(str(r.read_as))}"
            f" 读取 ({html.escape(str(r.why))})</li>"
            for r in loaded.book.normalised.itertuples(index=False)
        )
        more = f"<p class='wb-note'>以下写法已按规定读取, 不算错误:</p><ul>{notes}</ul>" if notes else ""
        return (
            f"<p class='wb-ok wb-check-ok'><b>检查通过:</b> {name} — {html.escape(loaded.folder_id)}"
            f" {html.escape(loaded.name)}, 积分方案 {html.escape(s.scheme.title)} ({html.escape(s.name)}"
            f" {html.escape(s.version)}), {len(loaded.ids)} 名{loaded.subject.word},"
            f" 期间 {html.escape(c.period)}。 可以到「3 评分」开始评分。</p>{more}"
        )
    if c.failures is not None:
        n = len(c.failures)
        return (
            f"<p class='wb-bad wb-check-bad'><b>{name} 有 {n} 处问题</b>, 请逐项改正后重新上传;"
            " 没有写出任何结果 (nothing was written)。 表格可按列排序, 也可下载为 CSV。</p>"
        )
    return (
        f"<p class='wb-bad wb-check-bad'><b>{name} 不能读取:</b></p>"
        f"<pre style='white-space:pre-wrap'>{html.escape(c.message)}</pre>"
    )


def period_choices(year: int) -> list[tuple[str, str]]:
    """(``2025年第3季度 (2025Q3)``, ``2025Q3``) for every period of the year."""
    from ..rules.periods import parse_period
    from .explorer import periods_of

    return [(f"{parse_period(p).label} ({p})", p) for p in periods_of(year)]


# -- 3. the run ------------------------------------------------------------------------------------

FILE_WORDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"_结果\.xlsx$"), "结果工作簿 (公式可在 Excel、WPS 中重算)"),
    (re.compile(r"^公示\.pdf$"), "公示 (A4, 可打印张贴)"),
    (re.compile(r"^通报\.pdf$"), "通报 (A4, 可打印)"),
    (re.compile(r"^summary\.csv$"), "结果摘要 (CSV)"),
    (re.compile(r"^unit_summary\.csv$"), "单位汇总摘要 (CSV)"),
    (re.compile(r"^单位汇总_.*\.xlsx$"), "单位汇总工作簿"),
    (re.compile(r"^manifest\.json$"), "运行清单 (输入、方案和每个文件的 SHA-256)"),
    (re.compile(r"^approval-.*\.json$"), "审核记录 (审核人、时间、备注)"),
    (re.compile(r"\.ipynb$"), "执行过的笔记本 (Jupyter)"),
    (re.compile(r"\.html$"), "执行过的笔记本 (网页, 用浏览器打开)"),
    (re.compile(r"\.pdf$"), "PDF"),
]


def file_word(name: str) -> str:
    """What a run folder's file is, in the officer's words."""
    return next((w for p, w in FILE_WORDS if p.search(name)), "")


def run_files(run: str | Path) -> list[Path]:
    """Every file of a run folder (sub-folders too, e.g. cards), sorted."""
    root = Path(run)
    return sorted(p for p in root.rglob("*") if p.is_file())


OFFLINE_NOTEBOOK_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{#- scoring: nbconvert's lab page without anything loaded from the network -#}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""


def notebook_html(path: str | Path) -> bytes:
    """An executed notebook as a web page (nbconvert's lab look), loading nothing from the network."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(  # type: ignore[no-untyped-call]  # nbconvert leaves __init__ unannotated
        template_name="lab",
        template_file="scoring-offline.html.j2",
        extra_loaders=[DictLoader({"scoring-offline.html.j2": OFFLINE_NOTEBOOK_TEMPLATE})],
    )
    body, _ = exporter.from_filename(str(path))
    return str(body).encode("utf-8")


def files_html(run: str | Path, with_notebook_html: bool = True) -> str:
    """The run folder's files, each with a download link, and the executed notebook as HTML."""
    root = Path(run)
    rows = []
    extra: list[tuple[str, bytes]] = []
    for p in run_files(root):
        rel = p.relative_to(root).as_posix()
        size = p.stat().st_size
        if size <= MAX_DOWNLOAD_BYTES:
            link = download_link(p.name, p.read_bytes(), rel)
        else:
            link = f"{html.escape(rel)} <span class='wb-note'>(文件较大, 请到运行文件夹中打开)</span>"
        rows.append((link, html.escape(file_word(p.name)), size_text(size)))
        if with_notebook_html and p.suffix == ".ipynb" and p.parent == root:
            extra.append((p.with_suffix(".html").name, notebook_html(p)))
    for name, content in extra:
        rows.append((download_link(name, content, name), html.escape(file_word(name)), size_text(len(content))))
    body = "".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in rows)
    return f"<table class='wb-files'><tr><th>文件 (点击下载)</th><th>是什么</th><th>大小</th></tr>{body}</table>"


def failed_run_html(exc: RunError) -> str:
    """A run that failed: what ``run_branch`` said, and the failed notebook (kept in a temporary
    folder) to download as a web page, so that the officer can hand it to whoever looks after the
    machine; nothing was written to the runs folder."""
    text = str(exc)
    kept = re.search(r"kept at (\S+\.ipynb)", text)
    link = ""
    if kept and Path(kept.group(1)).is_file():
        notebook = Path(kept.group(1))
        text = text.replace(kept.group(0), "kept (下载见下)")
        link = "<p>执行到出错为止的笔记本: " + download_link(
            notebook.with_suffix(".html").name, notebook_html(notebook), "下载 (网页)", "wb-download wb-failed-notebook"
        )
        link += "</p>"
    return (
        "<p class='wb-bad wb-run-failed'><b>评分失败, 没有写出任何结果 (运行文件夹未改动)。</b></p>"
        f"<pre style='white-space:pre-wrap'>{html.escape(text)}</pre>{link}"
    )


def run_status(run: str | Path) -> str:
    """``已审核 (王审核, 2025-12-01 10:00)`` while an approval matches the run as it is, else ``草稿 (未审核)``."""
    from ..runs.execute import MANIFEST, sha256_file
    from ..runs.review import approvals

    manifest = sha256_file(Path(run) / MANIFEST)
    valid = [a for a in approvals(run) if a.get("manifest_sha256") == manifest]
    if not valid:
        return "草稿 (未审核)"
    last = valid[-1]
    when = str(last.get("approved_at", ""))[:16].replace("T", " ")
    return f"已审核 ({last.get('reviewer', '')}, {when} UTC)"


def run_done_html(run: Path, runs: str | Path) -> str:
    """The run's headline: where it is (the runs folder's name, then the run as relative to it)."""
    return (
        f"<p class='wb-ok wb-run-done'><b>运行完成:</b> 运行文件夹"
        f" {html.escape(Path(runs).resolve().name)}/{html.escape(run_label(run))} —"
        f" {html.escape(run_status(run))}。 运行文件夹已封存 (文件只读); 审核在「4 审核」。</p>"
    )


# -- 4. review -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunChoice:
    folder: Path
    label: str


def run_choices(runs: str | Path) -> list[RunChoice]:
    """Every sealed run of the runs folder (a branch's, a unit's and the roll-ups), newest first,
    labelled with its status: ``2025/B001/v001 · 第一党支部 · 草稿 (未审核)``."""
    from ..runs.review import load_manifest
    from ..runs.subjects import run_identity

    root = Path(runs)
    if not root.is_dir():
        return []
    found = []
    for manifest in root.resolve().glob("*/*/v[0-9][0-9][0-9]/manifest.json"):
        folder = manifest.parent
        if folder.parent.name.startswith("."):
            continue
        try:
            m = load_manifest(folder)
            status = run_status(folder)
        except (ScoringError, OSError, ValueError):
            continue
        name = "单位汇总" if m.get("kind") == "rollup" else run_identity(m)[1]
        label = f"{run_label(folder)} · {name} · {status}"
        found.append((str(m.get("finished_at", "")), folder, label))
    found.sort(key=lambda t: (t[0], str(t[1])), reverse=True)
    return [RunChoice(folder, label) for _, folder, label in found]


FLAGS_NONE = "没有需要注意的迹象。"
FLAGS_SOME = "{n} 项标为「注意」: 是需要问一问的地方, 不是结论。"
FILE_STATUS = {"ok": "未改动", "changed": "已改动", "missing": "缺失", "unexpected": "多出的文件"}


def verification_html(v: Any, flags: pd.DataFrame | None) -> str:
    """``verify``'s result as the page shows it: the headline, then whatever is not as recorded."""
    from .audit import FLAG

    parts = []
    verdict = "<span class='wb-ok'>通过</span>" if v.ok else "<span class='wb-bad'>未通过</span>"
    parts.append(f"<p class='wb-verdict'><b>核验结论: {verdict}</b></p>")
    if flags is not None:
        from .audit import headline

        parts.append(html_table(headline(v, flags)))
    else:
        files = v.files
        good = int((files["status"] == "ok").sum())
        parts.append(f"<p>文件未改动: {good}/{len(files)}</p>")
    bad = v.files[v.files["status"] != "ok"]
    if len(bad):
        table = pd.DataFrame({"文件": bad["file"], "状态": bad["status"].map(FILE_STATUS).fillna(bad["status"])})
        parts.append("<p class='wb-bad'>以下文件与运行时记录的不同:</p>" + html_table(table))
    if not v.rescored:
        parts.append("<p class='wb-bad'>没有重新计分, 数字未比较 (见下面的说明)。</p>")
    elif len(v.figures):
        figures = v.figures.rename(
            columns={
                "member_id": "编号",
                "branch_id": "编号",
                "figure": "数字",
                "recorded": "运行时",
                "now": "重新计分",
            }
        )
        parts.append(f"<p class='wb-bad'>重新计分后有 {len(v.figures)} 个数字不同:</p>" + html_table(figures))
    else:
        parts.append(
            f"<p class='wb-ok'>按存档的输入和积分方案重新计分, 比较了 {v.compared} 行, 与发布的数字完全一致。</p>"
        )
    if v.environment is None:
        parts.append("<p class='wb-note'>运行环境: 运行时未记录, 无法比较。</p>")
    elif len(v.environment):
        env = v.environment.rename(columns={"package": "软件包", "recorded": "运行时", "now": "现在"})
        parts.append(
            f"<p class='wb-warn'>运行环境: 有 {len(env)} 个软件包与运行时不同 (只是提示, 数字一致就不算问题):</p>"
            + html_table(env)
        )
    else:
        parts.append("<p class='wb-note'>运行环境: 与运行时完全相同。</p>")
    if len(v.approvals):
        approvals = v.approvals.rename(
            columns={"reviewer": "审核人", "approved_at": "时间 (UTC)", "still_valid": "仍然有效"}
        )
        parts.append("<p>已有的审核:</p>" + html_table(approvals))
    parts += [f"<p class='wb-note'>{html.escape(n)}</p>" for n in v.notes]
    if flags is not None:
        n = int((flags["结果"] == FLAG).sum())
        parts.append(
            "<h4>需要注意的迹象 (审核笔记本的检查)</h4>"
            + f"<p class='wb-note'>{FLAGS_NONE if n == 0 else FLAGS_SOME.format(n=n)}</p>"
            + f"<div class='wb-flags'>{html_table(readable_values(flags))}</div>"
        )
    return "".join(parts)


def review_run(run: str | Path) -> tuple[Any, pd.DataFrame | None]:
    """``verify`` and, for a branch's or a unit's run, the reviewer notebook's warning signs."""
    from ..runs.review import load_manifest, verify
    from . import audit

    v = verify(run)
    if load_manifest(run).get("kind") == "rollup":
        return v, None
    view = audit.open_run(run)
    return v, audit.pattern_flags(view.book, view.result, Path(run).resolve())


def approve_run(run: str | Path, reviewer: str, note: str) -> Path:
    """``scoring approve RUN --reviewer NAME --note NOTE``."""
    from ..runs.review import approve

    return approve(run, reviewer, note)


# -- 5. the batch ----------------------------------------------------------------------------------


class ProgressText(io.TextIOBase):
    """A text stream for the batch's progress bar (tqdm): keeps how many branches are over, of how
    many, and the bar's own count of done and failed, to say in the officer's words."""

    def __init__(self, on_line: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.line = ""  # the last line tqdm drew
        self.over = 0
        self.total = 0
        self.postfix = ""  # "完成 1, 失败或输入有误 0"
        self._on_line = on_line

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        pieces = [p.strip() for p in re.split(r"[\r\n]", text)]
        last = next((p for p in reversed(pieces) if p), "")
        if last:
            self.line = last
            count = re.search(r"(\d+)/(\d+)", last)
            if count:
                self.over, self.total = int(count.group(1)), int(count.group(2))
            postfix = re.search(r"(完成 \d+, 失败或输入有误 \d+)", last)
            if postfix:
                self.postfix = postfix.group(1)
            if self._on_line is not None:
                self._on_line(last)
        return len(text)

    def text(self) -> str:
        """``支部: 1/2 个已结束 (完成 1, 失败或输入有误 0)``; once all are over, the roll-up."""
        if not self.total:
            return ""
        if self.over >= self.total:
            return f"支部: {self.total} 个都已结束 ({self.postfix}), 正在生成单位汇总…"
        done = f" ({self.postfix})" if self.postfix else ""
        return f"支部: {self.over}/{self.total} 个已结束{done}"


def batch_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The batch's status table as the page shows it: a run folder relative to the runs folder, an
    error list by its file name, seconds with one decimal."""
    from ..runs.batch import ROLLUP_ROW

    def where(row: pd.Series) -> str:
        text = str(row["where"])
        path = Path(text)
        if row["status"] in ("done", "reused"):
            return run_label(path)
        return path.name if path.is_absolute() else text

    return pd.DataFrame(
        {
            "文件": ["单位汇总" if f == ROLLUP_ROW else str(f) for f in table["file"]],
            "编号": ["" if f == ROLLUP_ROW else str(b) for f, b in zip(table["file"], table["branch_id"], strict=True)],
            "状态": [str(s) for s in table["状态"]],
            "运行或问题清单": [where(r) for _, r in table.iterrows()],
            "用时 (秒)": [f"{float(s):.1f}" for s in table["seconds"]],
        }
    )


def rollup_rows(unit: pd.DataFrame) -> pd.DataFrame:
    """``unit_summary.csv`` (all text) as the page shows it: scores with two decimals, counts and
    ranks whole (the CSV writes a rank column with blanks as 3.0), headers in Chinese."""
    from ..runs.rollup import ROLLUP_NUMBERS, show

    def cell(column: str, text: str) -> str:
        try:
            value = float(text)
        except ValueError:
            return text
        if column in ROLLUP_NUMBERS:
            return f"{value:.2f}"
        return str(int(value)) if value.is_integer() else text

    shown = unit.copy()
    for column in shown.columns:
        shown[column] = [cell(str(column), str(v)) for v in shown[column]]
    return show(shown)


def batch_html(table: pd.DataFrame, report: Path) -> str:
    """The status table, then the roll-up's files and its headline, and each failure's error list
    as a download."""
    from ..runs.batch import ROLLUP_ROW

    is_rollup = table["file"] == ROLLUP_ROW
    branches = table[~is_rollup]
    bad = int(branches["status"].isin(["failed", "bad_input"]).sum())
    rollup = table[is_rollup]
    rollup_status = str(rollup["status"].iloc[0]) if len(rollup) else "failed"
    css = "wb-ok" if not bad and rollup_status != "failed" else "wb-bad"
    parts = [
        f"<p class='{css} wb-batch-done'><b>全单位评分结束:</b> {len(branches)} 个工作簿,"
        f" {len(branches) - bad} 个完成或复用, {bad} 个失败或输入有误;"
        f" 单位汇总: {html.escape(str(rollup['状态'].iloc[0]) if len(rollup) else '失败')}。</p>",
        f"<div class='wb-batch-table'>{html_table(batch_rows(table))}</div>",
    ]
    errors = sorted(p for p in report.glob("*") if p.is_file() and p.name != "status.csv")
    status = report / "status.csv"
    links = [download_link("status.csv", status.read_bytes(), "状态表 status.csv")] if status.is_file() else []
    links += [download_link(p.name, p.read_bytes(), p.name) for p in errors]
    parts.append("<p>下载: " + " · ".join(links) + "</p>")
    if len(rollup) and rollup_status in ("done", "reused"):
        folder = Path(str(rollup["where"].iloc[0]))
        parts.append(f"<h4>单位汇总 {html.escape(run_label(folder))}</h4>")
        parts.append(files_html(folder))
        summary = folder / "unit_summary.csv"
        if summary.is_file():
            unit = read_csv_text(summary)
            parts.append(
                f"<p class='wb-note'>全单位排名 (前 30 行, 完整的见单位汇总工作簿; 共 {len(unit)} 行):</p>"
                + f"<div class='wb-rollup'>{html_table(rollup_rows(unit.head(30)))}</div>"
            )
    return "".join(parts)


def busy_html(runs: str | Path, period: str) -> str:
    """Another batch holds the period's lock: say so, and since when (the lock file says), without
    the machine's paths."""
    from ..rules.periods import parse_period

    held = ""
    try:
        text = (Path(runs) / f".lock-{parse_period(period).text}").read_text(encoding="utf-8")
        found = re.search(r"started (\S+ \S+)", text)
        held = f" (开始于 {found.group(1)})" if found else ""
    except OSError:
        pass
    return (
        f"<p class='wb-warn wb-batch-busy'><b>{html.escape(period)} 的全单位评分正在进行{html.escape(held)},"
        " 可能是另一位同事启动的。</b> 请等它结束后再开始; 这次没有做任何改动。</p>"
    )


# -- the page --------------------------------------------------------------------------------------


def spinner_html(text: str) -> str:
    return f"<p class='wb-busy'><span class='wb-spinner'></span>{html.escape(text)}</p>"


def error_html(headline: str, exc: BaseException) -> str:
    return (
        f"<p class='wb-bad wb-error'><b>{html.escape(headline)}</b></p>"
        f"<pre style='white-space:pre-wrap'>{html.escape(str(exc))}</pre>"
    )


STEPS = ["1 模板", "2 上传与检查", "3 评分", "4 审核", "5 全单位"]


class Workbench:
    """``Workbench(inputs, uploads, runs).widget``: the five steps as tabs.

    ``inputs``: the unit's folder of input workbooks (and members lists); ``uploads``: where the
    page saves uploaded files (made when the first file comes); ``runs``: the runs folder, as
    ``scoring run --out``. Nothing is written until the officer uploads, runs or approves."""

    def __init__(
        self, inputs: str | Path = "demo_data", uploads: str | Path = "uploads", runs: str | Path = "runs"
    ) -> None:
        import ipywidgets as w

        self.inputs = Path(inputs)
        self.uploads = Path(uploads)
        self.runs = Path(runs)
        self._lock = threading.Lock()
        self._buttons: list[Any] = []
        self.checked: Checked | None = None
        self._quiet = False
        wide = {"description_width": "initial"}

        # 1. template
        self.scheme = w.Dropdown(
            description="积分方案", options=scheme_choices(), style=wide, layout=w.Layout(width="460px")
        )
        self.scheme.value = "county-10-stars"
        self.scheme.add_class("wb-scheme")
        this_year = dt.date.today().year
        self.year = w.Dropdown(
            description="年度",
            options=[str(y) for y in range(this_year - 2, this_year + 2)],
            value=str(this_year),
            style=wide,
        )
        self.year.layout.width = "160px"
        self.year.add_class("wb-year")
        self.branch_id = w.Text(description="支部编号 (可不填)", placeholder="如 B001", style=wide)
        self.branch_id.add_class("wb-branch-id")
        self.members = w.Dropdown(description="党员名单", style=wide, layout=w.Layout(width="460px"))
        self.members_upload = w.FileUpload(
            description="上传党员名单 (CSV 或 .xlsx)",
            tooltip="选择电脑上的党员名单文件",
            accept=".csv,.xlsx",
            multiple=False,
            icon="",
            layout=w.Layout(width="300px"),
        )
        self.members.add_class("wb-members")
        self.members_upload.add_class("wb-members-upload")
        self.make_template = w.Button(description="生成模板", button_style="primary", icon="")
        self.make_template.add_class("wb-make-template")
        self.template_out = w.HTML()
        self.template_out.add_class("wb-template-out")
        self._refresh_members()

        # 2. upload and check
        self.upload = w.FileUpload(
            description="上传填好的工作簿 (.xlsx)",
            tooltip="选择电脑上填好的输入工作簿",
            accept=".xlsx",
            multiple=False,
            icon="",
            layout=w.Layout(width="300px"),
        )
        self.upload.add_class("wb-upload")
        self.workbook = w.Dropdown(description="或选择工作簿", style=wide, layout=w.Layout(width="560px"))
        self.workbook.add_class("wb-workbook")
        self.period = w.Dropdown(description="期间", style=wide, layout=w.Layout(width="300px"))
        self.period.add_class("wb-period")
        self.check = w.Button(description="检查", icon="")
        self.check_out = w.HTML()
        self.check_out.add_class("wb-check-out")
        self.sort = w.Dropdown(
            description="排序",
            options=[(v, k) for k, v in PROBLEM_SORTS.items()],
            style=wide,
            layout=w.Layout(width="300px"),
        )
        self.sort.add_class("wb-sort")
        self.descending = w.ToggleButton(description="倒序", value=False)
        self.problems = w.HTML()
        self.problems.add_class("wb-problems-area")
        self.problems_download = w.HTML()
        self.problems_download.add_class("wb-problems-download")
        self.problem_box = w.VBox([w.HBox([self.sort, self.descending, self.problems_download]), self.problems])
        self.problem_box.layout.display = "none"
        self._rows: pd.DataFrame | None = None

        # 3. run
        self.run_what = w.HTML()
        self.run_what.add_class("wb-run-what")
        self.traced = w.Dropdown(description="追溯的党员", style=wide, layout=w.Layout(width="360px"))
        self.run_button = w.Button(description="开始评分", button_style="primary", icon="", disabled=True)
        self.run_button.add_class("wb-run-button")
        self.run_status = w.HTML()
        self.run_status.add_class("wb-run-status")
        self.run_files = w.HTML()
        self.run_files.add_class("wb-run-files")
        self.explorer_box = w.VBox()
        self.explorer_box.add_class("wb-explorer")

        # 4. review
        self.review_run = w.Dropdown(description="运行", style=wide, layout=w.Layout(width="720px"))
        self.review_run.add_class("wb-review-run")
        self.refresh_runs = w.Button(description="刷新", icon="")
        self.verify_button = w.Button(description="核验", icon="")
        self.verify_button.add_class("wb-verify")
        self.review_status = w.HTML()
        self.review_status.add_class("wb-review-status")
        self.review_out = w.HTML()
        self.review_out.add_class("wb-review-out")
        self.reviewer = w.Text(description="审核人", placeholder="姓名", style=wide)
        self.reviewer.add_class("wb-reviewer")
        self.note = w.Textarea(description="备注", placeholder="可不填", style=wide, layout=w.Layout(width="560px"))
        self.note.add_class("wb-note-input")
        self.approve_button = w.Button(description="审核通过 (签字)", button_style="success", icon="", disabled=True)
        self.approve_button.add_class("wb-approve")
        self.approve_out = w.HTML()
        self.approve_out.add_class("wb-approve-out")
        self.review_notebook = w.Button(description="执行审核笔记本 (含 LibreOffice 重算, 约 1 分钟)", icon="")
        self.review_notebook.layout.width = "380px"
        self._verified: Path | None = None

        # 5. batch
        self.batch_what = w.HTML()
        self.batch_period = w.Dropdown(description="期间", style=wide, layout=w.Layout(width="300px"))
        self.batch_period.add_class("wb-batch-period")
        self.batch_button = w.Button(description="开始全单位评分", button_style="primary", icon="")
        self.batch_button.layout.width = "auto"
        self.batch_button.add_class("wb-batch-button")
        self.batch_status = w.HTML()
        self.batch_status.add_class("wb-batch-status")
        self.batch_out = w.HTML()
        self.batch_out.add_class("wb-batch-out")

        self._buttons = [self.make_template, self.check, self.run_button, self.verify_button, self.approve_button]
        self._buttons += [self.batch_button, self.review_notebook]
        intro = w.HTML(PAGE_CSS + self._intro_html())
        self.tabs = w.Tab(
            children=[self._template_tab(), self._check_tab(), self._run_tab(), self._review_tab(), self._batch_tab()]
        )
        for i, title in enumerate(STEPS):
            self.tabs.set_title(i, title)
        self.page_error = w.HTML()  # what went wrong in a step, for an officer who has no terminal
        self.page_error.add_class("wb-page-error")
        self.widget = w.VBox([intro, self.page_error, self.tabs])

        on = self._guarded
        self.members_upload.observe(on(self._members_uploaded), names="value")
        self.make_template.on_click(on(self._make_template))
        self.upload.observe(on(self._uploaded), names="value")
        self.workbook.observe(on(self._chosen), names="value")
        self.period.observe(on(lambda: None if self._quiet else self._check()), names="value")
        self.check.on_click(on(self._check))
        self.sort.observe(on(self._show_problems), names="value")
        self.descending.observe(on(self._show_problems), names="value")
        self.run_button.on_click(on(self._run))
        self.refresh_runs.on_click(on(self._refresh_runs))
        self.verify_button.on_click(on(self._verify))
        self.review_run.observe(on(lambda: None if self._quiet else self._run_chosen()), names="value")
        self.approve_button.on_click(on(self._approve))
        self.review_notebook.on_click(on(self._review_notebook))
        self.batch_button.on_click(on(self._batch))

        self._refresh_workbooks()
        self._refresh_runs()
        self._batch_periods()

    # -- layout

    def _intro_html(self) -> str:
        return (
            "<p class='wb-step-intro'>按顺序完成: <b>1 模板</b> 下载本支部的输入工作簿 → 填好后 <b>2 上传与检查</b>"
            " → <b>3 评分</b> 生成封存的运行文件夹 (结果工作簿、公示.pdf 等) → <b>4 审核</b> 核验并签字 →"
            " 每季度 <b>5 全单位</b> 一次评完所有支部并汇总。"
            f" 输入文件夹: <code>{html.escape(self.inputs.resolve().name)}</code>,"
            f" 上传文件保存在 <code>{html.escape(self.uploads.resolve().name)}</code>,"
            f" 运行文件夹: <code>{html.escape(self.runs.resolve().name)}</code>。</p>"
        )

    def _template_tab(self) -> Any:
        import ipywidgets as w

        text = w.HTML(
            "<p class='wb-step-intro'>选择积分方案和年度, 可选填支部编号和党员名单"
            " (CSV 或 .xlsx, 至少有 member_id 和 name 两列; 也可以选去年的输入工作簿, 用其中的党员名单)。"
            " 生成的工作簿已填好党员和每月一行,"
            " 与命令 <code>scoring template</code> 生成的完全相同。</p>"
        )
        return w.VBox(
            [text, w.HBox([self.scheme, self.year]), self.branch_id, w.HBox([self.members, self.members_upload]),
             self.make_template, self.template_out]
        )  # fmt: skip

    def _check_tab(self) -> Any:
        import ipywidgets as w

        text = w.HTML(
            "<p class='wb-step-intro'>上传填好的输入工作簿, 或从输入文件夹中选择一个。 页面按所选期间检查每个工作表,"
            " 列出所有问题 (工作表、单元格、值、问题、允许的写法); 有问题时不会写出任何结果。</p>"
        )
        return w.VBox(
            [text, self.upload, self.workbook, w.HBox([self.period, self.check]), self.check_out, self.problem_box]
        )

    def _run_tab(self) -> Any:
        import ipywidgets as w

        text = w.HTML(
            "<p class='wb-step-intro'>评分与命令 <code>scoring run</code> 完全相同:"
            " 执行评分笔记本, 生成封存的运行文件夹"
            " (执行过的笔记本、结果工作簿、公示.pdf、summary.csv、manifest.json)。 一次评分约需 10 到 30 秒。</p>"
        )
        return w.VBox(
            [text, self.run_what, w.HBox([self.period, self.traced]), self.run_button, self.run_status, self.run_files,
             self.explorer_box]
        )  # fmt: skip

    def _review_tab(self) -> Any:
        import ipywidgets as w

        text = w.HTML(
            "<p class='wb-step-intro'>审核人选择一次运行, 页面核验它 (每个文件的 SHA-256, 按存档的输入和方案重新计分)"
            " 并列出审核笔记本的「需要注意的迹象」。 核验通过后填写姓名 (和备注) 签字: 页面写入一个新的审核记录"
            " approval-….json, 不改动运行文件夹中的任何文件。</p>"
        )
        return w.VBox(
            [text, w.HBox([self.review_run, self.refresh_runs, self.verify_button]), self.review_status,
             self.review_out,
             self.reviewer, self.note, self.approve_button, self.approve_out, self.review_notebook]
        )  # fmt: skip

    def _batch_tab(self) -> Any:
        import ipywidgets as w

        text = w.HTML(
            "<p class='wb-step-intro'>与命令 <code>scoring batch</code> 相同: 输入文件夹中的每个工作簿是一个支部,"
            " 同时评分几个, 一个支部出错不影响其他支部; 输入没有变化的支部复用上次的运行。 最后生成单位汇总。"
            " 同一期间同时只能有一个全单位评分在进行。</p>"
        )
        return w.VBox(
            [text, self.batch_what, w.HBox([self.batch_period, self.batch_button]), self.batch_status, self.batch_out]
        )

    def _guarded(self, step: Callable[[], object]) -> Callable[[Any], None]:
        """A widget's callback that shows an unexpected error on the page (a callback's exception
        would otherwise only reach the kernel's log, which an officer never sees)."""

        def callback(_: Any) -> None:
            try:
                self.page_error.value = ""
                step()
            except Exception as exc:
                self.page_error.value = error_html("页面出错, 请把下面的说明告诉管理员:", exc)

        return callback

    # -- background work

    def _background(
        self, status: Any, doing: str, work: Callable[[], str], progress: ProgressText | None = None
    ) -> None:
        """Run ``work`` in a thread (the page stays responsive), showing a spinner and the time
        taken in ``status``; ``work`` returns the HTML shown when it is done. One at a time."""
        if not self._lock.acquire(blocking=False):
            status.value = "<p class='wb-warn'>页面正在处理上一个操作, 请等它完成。</p>"
            return
        for b in self._buttons:
            b.disabled = True
        started = time.monotonic()
        done = threading.Event()
        shown = threading.Lock()

        def tick() -> None:
            while not done.wait(1.0):
                with shown:
                    if not done.is_set():
                        extra = f" {progress.text()}" if progress is not None else ""
                        status.value = spinner_html(f"{doing} 已用 {int(time.monotonic() - started)} 秒。{extra}")

        def run() -> None:
            try:
                result = work()
            except Exception as exc:  # shown on the page: an officer has no terminal to read
                result = error_html(f"{doing} 出错:", exc)
            finally:
                self._lock.release()
                self._enable()
            with shown:
                done.set()
                status.value = result

        status.value = spinner_html(f"{doing}")
        threading.Thread(target=tick, daemon=True).start()
        threading.Thread(target=run, daemon=True).start()

    def _enable(self) -> None:
        for b in self._buttons:
            b.disabled = False
        self.run_button.disabled = self.checked is None or not self.checked.ok
        self.approve_button.disabled = self._verified is None or self._verified != self._chosen_run()

    # -- 1. template

    def _refresh_members(self, chosen: Path | None = None) -> None:
        # values are paths as text, "" for none: a Dropdown's None means "nothing chosen"
        options = [("不预填党员名单", "")]
        options += [(u.label, str(u.path)) for u in uploads(self.uploads, "members")]
        options += [(f"输入文件夹: {p.name}", str(p)) for p in member_lists(self.inputs)]
        self.members.options = options
        self.members.value = str(chosen) if chosen is not None else ""

    def _members_uploaded(self) -> None:
        if not self.members_upload.value:
            return
        f = self.members_upload.value[0]
        try:
            up = save_upload(bytes(f["content"]), str(f["name"]), self.uploads, "members")
        except ScoringError as exc:
            self.template_out.value = error_html("党员名单不能上传:", exc)
            return
        self._refresh_members(up.path)
        self.template_out.value = f"<p class='wb-ok'>已上传党员名单 {html.escape(up.name)}。</p>"

    def _make_template(self) -> None:
        try:
            name, content = make_template(
                str(self.scheme.value),
                int(self.year.value),
                str(self.branch_id.value),
                Path(self.members.value) if self.members.value else None,
            )
        except InputError as exc:
            rows = problem_rows(exc.failures, upload_names(self.uploads))
            self.template_out.value = (
                f"<p class='wb-bad'><b>党员名单有 {len(rows)} 处问题</b>, 改正后重新上传:</p>" + problems_html(rows)
            )
            return
        except ScoringError as exc:
            self.template_out.value = error_html("不能生成模板:", exc)
            return
        self.template_out.value = (
            "<p class='wb-ok'>模板已生成: "
            + download_link(name, content, f"下载 {name}", "wb-download wb-template-link")
            + f" ({size_text(len(content))})。 填好后到「2 上传与检查」上传。</p>"
        )

    # -- 2. check

    def _refresh_workbooks(self, chosen: Path | None = None) -> None:
        options = [("(请选择)", "")]
        options += [(u.label, str(u.path)) for u in uploads(self.uploads, "workbook")]
        options += [(f"输入文件夹: {p.name}", str(p)) for p in workbooks(self.inputs)]
        self.workbook.options = options
        self.workbook.value = str(chosen) if chosen is not None else ""

    def _uploaded(self) -> None:
        if not self.upload.value:
            return
        f = self.upload.value[0]
        try:
            up = save_upload(bytes(f["content"]), str(f["name"]), self.uploads, "workbook")
        except ScoringError as exc:
            self.checked = None
            self.problem_box.layout.display = "none"
            self.check_out.value = error_html("不能上传:", exc)
            return
        self._refresh_workbooks(up.path)  # chosen: checked at once

    def _shown_name(self, path: Path) -> str:
        return upload_names(self.uploads).get(path.name, path.name) if path.parent == self.uploads else path.name

    def _chosen(self) -> None:
        path = Path(self.workbook.value) if self.workbook.value else None
        self.checked = None
        self._enable()
        if path is None:
            self.check_out.value = ""
            self.problem_box.layout.display = "none"
            self.run_what.value = "<p class='wb-warn'>还没有选择工作簿: 请先在「2 上传与检查」上传或选择一个。</p>"
            return
        from .explorer import workbook_year

        year = workbook_year(path) or dt.date.today().year
        options = period_choices(year)
        keep = self.period.value if self.period.value in [v for _, v in options] else str(year)
        self._quiet = True  # one check after the periods change, not one per trait event
        try:
            self.period.options = options
            self.period.value = keep
        finally:
            self._quiet = False
        self._check()

    def _check(self) -> None:
        path = Path(self.workbook.value) if self.workbook.value else None
        if path is None or not self.period.value:
            return
        self.check_out.value = spinner_html("正在检查…")
        self.checked = c = check_workbook(path, str(self.period.value))
        name = self._shown_name(path)
        if c.failures is not None:
            self._rows = problem_rows(c.failures, upload_names(self.uploads))
            self.problem_box.layout.display = None
            stem = Path(name).stem
            self.problems_download.value = download_link(
                f"{stem}.errors.csv", problems_csv(self._rows), "下载问题表 (CSV)", "wb-download wb-problems-csv"
            )
            self._show_problems()
        else:
            self._rows = None
            self.problem_box.layout.display = "none"
        self._ready_to_run()
        self.check_out.value = checked_html(c, name)  # last: once it shows, the table and step 3 are ready

    def _show_problems(self) -> None:
        if self._rows is not None:
            self.problems.value = problems_html(
                sort_problems(self._rows, str(self.sort.value), not self.descending.value)
            )

    # -- 3. run

    def _ready_to_run(self) -> None:
        c = self.checked
        self._enable()
        if c is None or not c.ok:
            self.run_what.value = (
                "<p class='wb-warn'>所选工作簿在这个期间还不能评分 (问题见「2 上传与检查」):</p>"
                + checked_html(c, self._shown_name(c.path))
                if c is not None
                else "<p class='wb-warn'>还没有选择工作簿: 请先在「2 上传与检查」上传或选择一个。</p>"
            )
            self.traced.options = []
            return
        loaded = c.loaded
        self.run_what.value = (
            f"<p>工作簿: <b>{html.escape(self._shown_name(c.path))}</b> — {html.escape(loaded.folder_id)}"
            f" {html.escape(loaded.name)}, 检查通过。</p>"
        )
        word = loaded.subject.word
        self.traced.description = f"追溯的{word}"
        self.traced.options = [(f"(默认: 排名第一的{word})", "")] + [(i, i) for i in loaded.ids]
        self.traced.value = ""

    def _run(self) -> None:
        c = self.checked
        if c is None or not c.ok:
            return
        traced = str(self.traced.value or "")
        subject = c.loaded.subject
        self.run_files.value = ""
        self.explorer_box.children = ()

        def work() -> str:
            from ..runs.execute import run_branch
            from .explorer import Explorer

            try:
                folder = run_branch(
                    c.path,
                    c.period,
                    self.runs,
                    member_id=traced if subject.kind == "member" else "",
                    branch_id=traced if subject.kind == "branch" else "",
                )
            except InputError as exc:
                rows = problem_rows(exc.failures, upload_names(self.uploads))
                return f"<p class='wb-bad'><b>输入有 {len(rows)} 处问题, 没有写出任何结果:</b></p>" + problems_html(
                    rows
                )
            self.run_files.value = files_html(folder)
            self._refresh_runs(folder)
            try:
                self.explorer_box.children = (
                    _heading("查看结果 (查看器, 与 make explore 相同; 按运行存档的输入和方案计分)"),
                    Explorer(folder).widget,
                )
            except Exception as exc:  # the run is sealed all the same; say why it is not shown
                self.explorer_box.children = (_heading(f"查看器不能打开这次运行: {exc}"),)
            return run_done_html(folder, self.runs)

        self._background(self.run_status, f"正在评分 ({c.period})…", work)

    # -- 4. review

    def _chosen_run(self) -> Path | None:
        value = self.review_run.value
        return Path(value) if value else None

    def _refresh_runs(self, chosen: Path | None = None) -> None:
        choices = run_choices(self.runs)
        keep = chosen or self._chosen_run()
        options = [("(请选择一次运行)", "")]
        options += [(c.label, str(c.folder)) for c in choices]
        values = [v for _, v in options]
        wanted = str(keep.resolve()) if keep is not None else ""
        same = wanted == self.review_run.value
        self._quiet = same  # the same run chosen again (its label changed): keep what the page shows of it
        try:
            self.review_run.options = options
            self.review_run.value = wanted if wanted in values else ""
        finally:
            self._quiet = False

    def _run_chosen(self) -> None:
        self._verified = None
        self.review_out.value = ""
        self.approve_out.value = ""
        self.review_status.value = (
            "<p class='wb-note'>点「核验」检查这次运行。</p>" if self._chosen_run() is not None else ""
        )
        self._enable()

    def _verify(self) -> None:
        run = self._chosen_run()
        if run is None:
            self.review_status.value = "<p class='wb-warn'>请先选择一次运行。</p>"
            return

        def work() -> str:
            v, flags = review_run(run)
            self.review_out.value = verification_html(v, flags)
            self._verified = run if v.ok else None
            status = run_status(run)
            if v.ok:
                return (
                    f"<p class='wb-ok'>{html.escape(run_label(run))}: 核验通过,"
                    f" 现在是「{html.escape(status)}」。 可以签字。</p>"
                )
            return f"<p class='wb-bad'>{html.escape(run_label(run))}: 核验未通过, 不能签字。</p>"

        self._background(self.review_status, "正在核验 (重新计算每个文件的 SHA-256 并重新计分)…", work)

    def _approve(self) -> None:
        run = self._chosen_run()
        if run is None or self._verified != run:
            self.approve_out.value = "<p class='wb-warn'>请先核验这次运行。</p>"
            return
        try:
            path = approve_run(run, str(self.reviewer.value), str(self.note.value))
        except ScoringError as exc:
            self.approve_out.value = error_html("不能签字:", exc)
            return
        self._refresh_runs(run)
        self._verified = run  # the choice was re-set: the run is still the verified one
        who = html.escape(str(self.reviewer.value).strip())
        self.review_status.value = f"<p class='wb-ok'>{html.escape(run_label(run))}: 核验通过, 已由 {who} 签字。</p>"
        self.approve_out.value = (
            f"<p class='wb-ok wb-approved'><b>已审核:</b> {html.escape(run_label(run))}"
            f" — {html.escape(run_status(run))}。"
            f" 审核记录: {download_link(path.name, path.read_bytes(), path.name, 'wb-download wb-approval-link')}</p>"
        )
        self._enable()

    def _review_notebook(self) -> None:
        run = self._chosen_run()
        if run is None:
            self.review_status.value = "<p class='wb-warn'>请先选择一次运行。</p>"
            return

        def work() -> str:
            from ..runs.execute import run_review

            notebook = run_review(run)
            page = notebook_html(notebook)
            link = download_link(notebook.with_suffix(".html").name, page, "下载审核笔记本 (网页)")
            return f"<p class='wb-ok'>审核笔记本已执行, 保存在运行旁的 reviews 文件夹: {link}</p>"

        self._background(self.review_status, "正在执行审核笔记本…", work)

    # -- 5. batch

    def _batch_periods(self) -> None:
        from .explorer import workbook_year

        found = workbooks(self.inputs)
        year = next((y for y in (workbook_year(p) for p in found) if y), dt.date.today().year)
        self.batch_period.options = period_choices(year)
        self.batch_period.value = f"{year}Q4"
        folder = html.escape(self.inputs.resolve().name)
        self.batch_what.value = (
            f"<p>输入文件夹 <code>{folder}</code> 中有 {len(found)} 个工作簿。</p>"
            if found
            else f"<p class='wb-warn'>输入文件夹 <code>{folder}</code> 中还没有工作簿。</p>"
        )

    def _batch(self) -> None:
        period = str(self.batch_period.value)
        progress = ProgressText()
        self.batch_out.value = ""
        started = time.monotonic()

        def work() -> str:
            from ..runs.batch import BatchBusy, run_batch

            try:
                # tqdm writes to any text stream; typeshed's TextIO is the protocol run_batch names
                table, report = run_batch(self.inputs, period, self.runs, progress=cast(TextIO, progress))
            except BatchBusy:
                return busy_html(self.runs, period)
            self.batch_out.value = batch_html(table, report)
            self._refresh_runs()
            took = int(time.monotonic() - started)
            return f"<p class='wb-ok'>{html.escape(period)} 全单位评分已结束, 用时 {took} 秒。</p>"

        self._background(self.batch_status, f"正在全单位评分 ({period})…", work, progress)


def _heading(text: str) -> Any:
    import ipywidgets as w

    return w.HTML(f"<h4>{html.escape(text)}</h4>")


# -- serving the page (make workbench) -------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m scoring.views.workbench [NOTEBOOK] [--port 8867] [--ip 127.0.0.1]``: the workbench
    as a web page, served as the explorer is (offline template, 127.0.0.1 unless told otherwise)."""
    from .explorer import serve_main

    return serve_main(argv, "scoring.views.workbench", "积分工作台 (workbench) 网页", "notebooks/workbench.ipynb", 8867)


if __name__ == "__main__":
    raise SystemExit(main())
