"""The officer's workbench (notebooks/workbench.ipynb, scoring/views/workbench.py).

The unit tests check the page's pure functions: uploads saved under their hash and never their
name, the problem table, its CSV, the download links, the template, the progress line, the run
and batch listings.

The browser test is one end-to-end flow in a real headless Chromium, served by Voila as
``make workbench`` serves it: download a template, upload a workbook with three problems and see
all three, upload a good one, run the year, download 公示.pdf and read its text, approve, see the
approval file, and start the quarter's batch from two pages at once (the second is refused, the
first completes). The run the page made is compared with the one ``scoring run`` makes from the
same workbook (``run_branch``): the same summary.csv, the same input and scheme hashes. The
figures themselves are tested elsewhere (test_run, test_engine_cases); here the point is that the
page takes the command line's path. A screenshot of every step is saved in the folder the test
prints (``WORKBENCH_SCREENSHOTS``, else a pytest temporary folder).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from test_explorer_screens import (  # the explorer's browser and checks: one way to serve and read a page
    ABSOLUTE_PATH,
    _free_port,
    _full_page,
    chromium,
    needs_browser,
    raw_values,
)

from scoring.exceptions import FAILURE_COLUMNS, RunError, ScoringError
from scoring.inputs.demo import generate_demo
from scoring.inputs.templates import write_template
from scoring.runs.execute import MANIFEST, sha256_file
from scoring.runs.review import approve
from scoring.views import workbench as wb
from scoring.views.explorer import voila_command, write_voila_template

__all__ = ["chromium"]  # the fixture, imported for this module's browser test

REPO = Path(__file__).resolve().parents[1]
YEAR = 2025


# -- pure functions -------------------------------------------------------------------------------


def test_an_upload_is_saved_under_its_hash_and_its_name_is_never_a_path(tmp_path: Path) -> None:
    content = b"PK\x03\x04 not really a workbook, but a zip's first bytes"
    up = wb.save_upload(content, "../../etc/B001 2025.xlsx", tmp_path / "uploads", "workbook")
    sha = __import__("hashlib").sha256(content).hexdigest()
    assert up.path == tmp_path / "uploads" / f"{sha[:16]}.xlsx" and up.path.read_bytes() == content
    assert up.name == "B001 2025.xlsx"  # shown as the officer's file was called, without its folders
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == [f"{sha[:16]}.json", f"{sha[:16]}.xlsx"]
    assert not (tmp_path / "etc").exists()
    # the owner's alone, as the runs' archive: an input workbook holds the anonymous ballots
    assert (tmp_path / "uploads").stat().st_mode & 0o077 == 0 and up.path.stat().st_mode & 0o077 == 0
    # the same bytes again (another officer): one file, not two
    again = wb.save_upload(content, "other.xlsx", tmp_path / "uploads", "workbook")
    assert again.path == up.path and len(list((tmp_path / "uploads").iterdir())) == 2


def test_what_is_no_workbook_is_refused_and_nothing_is_saved(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    with pytest.raises(ScoringError, match=r"不是 \.xlsx"):
        wb.save_upload(b"member_id,name\n", "x.xlsx", folder, "workbook")
    with pytest.raises(ScoringError, match=r"另存为 \.xlsx"):
        wb.save_upload(b"\xd0\xcf\x11\xe0old excel", "x.xls", folder, "workbook")
    with pytest.raises(ScoringError, match="空"):
        wb.save_upload(b"", "x.xlsx", folder, "workbook")
    assert not folder.exists()
    # a members list may be a CSV: its suffix comes from its bytes, not from its name
    up = wb.save_upload("member_id,name\nM01,张三\n".encode(), "名单.xlsx", folder, "members")
    assert up.path.suffix == ".csv"


def test_uploads_are_listed_by_kind_newest_first(tmp_path: Path) -> None:
    a = wb.save_upload(b"PK\x03\x04a", "a.xlsx", tmp_path, "workbook")
    time.sleep(1.1)  # the upload time is kept to the second
    b = wb.save_upload(b"PK\x03\x04b", "b.xlsx", tmp_path, "workbook")
    m = wb.save_upload(b"member_id,name\n", "m.csv", tmp_path, "members")
    assert [u.name for u in wb.uploads(tmp_path, "workbook")] == ["b.xlsx", "a.xlsx"]
    assert [u.name for u in wb.uploads(tmp_path, "members")] == ["m.csv"]
    assert wb.upload_names(tmp_path) == {a.path.name: "a.xlsx", b.path.name: "b.xlsx", m.path.name: "m.csv"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_demo(tmp_path_factory.mktemp("demo"), YEAR)


def three_problems(good: Path, out: Path) -> tuple[Path, dict[str, str]]:
    """``good`` with three monthly scores broken: above the maximum, not a number, below zero; and
    what the page must show for each (cell -> the value written)."""
    book = openpyxl.load_workbook(good)
    ws = next(w for w in book.worksheets if w.title.endswith("(monthly_scores)"))
    broken: dict[str, int | str] = {"C2": 999, "D3": "abc", "E5": -3}
    for cell, value in broken.items():
        ws[cell] = value
    book.save(out)
    return out, {f"月度评分 (monthly_scores)!{c}": str(v) for c, v in broken.items()}


def test_the_problem_table_lists_every_problem_sorts_and_downloads_as_csv(demo: list[Path], tmp_path: Path) -> None:
    bad, broken = three_problems(demo[0], tmp_path / "3fa9c0d1e2b3a4f5.xlsx")
    checked = wb.check_workbook(bad, str(YEAR))
    assert not checked.ok and checked.failures is not None
    rows = wb.problem_rows(checked.failures, {bad.name: "B001_2025 改.xlsx"})
    assert dict(zip(rows["cell"], rows["value"], strict=True)) == broken
    assert set(rows["file"]) == {"B001_2025 改.xlsx"}  # the officer's own name, not the saved one
    assert list(wb.sort_problems(rows, "cell", ascending=False)["cell"]) == sorted(broken, reverse=True)
    assert list(wb.sort_problems(rows, "order", ascending=False).index) == [2, 1, 0]
    page = wb.problems_html(rows)
    assert all(c in page for c in broken) and raw_values(re.sub(r"<[^>]+>", " ", page)) == []
    table = list(csv.reader(io.StringIO(wb.problems_csv(rows).decode("utf-8-sig"))))
    assert table[0] == FAILURE_COLUMNS and len(table) == 4


def test_a_value_that_looks_like_a_formula_is_text_in_the_problem_csv() -> None:
    failures = pd.DataFrame(
        [("b.xlsx", "members", 2, "name", "党员名单 (members)!B2", '=HYPERLINK("http://x")', "不对", "姓名")],
        columns=FAILURE_COLUMNS,
    )
    rows = wb.problem_rows(failures)
    assert rows["row"].tolist() == ["2"]  # a whole row number, not 2.0
    text = wb.problems_csv(rows).decode("utf-8-sig")
    assert "'=HYPERLINK" in text  # guarded: Excel reads it as text (SPEC 10)


def test_a_download_link_carries_the_bytes_and_escapes_the_name() -> None:
    link = wb.download_link('a"b<c>.pdf', b"%PDF-1.4 x", "公示")
    assert 'download="a&quot;b&lt;c&gt;.pdf"' in link and ">公示</a>" in link
    href = re.search(r'href="data:application/pdf;base64,([^"]+)"', link)
    assert href is not None and __import__("base64").b64decode(href.group(1)) == b"%PDF-1.4 x"


def test_the_template_is_the_one_scoring_template_writes(tmp_path: Path) -> None:
    members = tmp_path / "m.csv"
    members.write_text("member_id,name\nB009M01,张三\nB009M02,李四\n", encoding="utf-8")
    name, content = wb.make_template("county-10-stars", YEAR, "B009", members)
    cli = write_template("county-10-stars", tmp_path / "cli", YEAR, "B009", members, overwrite=False)
    assert name == cli.name == "B009_county-10-stars_2025.xlsx" and content == cli.read_bytes()
    with pytest.raises(ScoringError, match="编号"):
        wb.make_template("county-10-stars", YEAR, "../B009")


def test_the_progress_line_is_the_last_line_tqdm_drew() -> None:
    from tqdm import tqdm

    lines: list[str] = []
    stream = wb.ProgressText(lines.append)
    with tqdm(total=2, desc="2025Q4 支部", file=stream) as bar:
        bar.update(1)
    assert "2025Q4 支部" in stream.line and "1/2" in lines[-1]
    assert stream.text() == "支部: 1/2 个已结束"
    stream.write("\r2025Q4 支部: 100%|██| 2/2 [00:30<00:00, 完成 1, 失败或输入有误 1]")
    assert stream.text() == "支部: 2 个都已结束 (完成 1, 失败或输入有误 1), 正在生成单位汇总…"


def test_the_batch_table_names_runs_relative_to_the_runs_folder(tmp_path: Path) -> None:
    from scoring.runs.batch import ROLLUP_ROW, STATUS_LABELS

    table = pd.DataFrame(
        [
            ("B001_2025.xlsx", "B001", "done", str(tmp_path / "runs/2025Q4/B001/v001"), 1, 12.345),
            ("B002_2025.xlsx", "B002", "bad_input", str(tmp_path / "runs/batches/x/B002_2025.xlsx.errors.csv"), 0, 0.5),
            (ROLLUP_ROW, "_rollup", "done", str(tmp_path / "runs/2025Q4/_rollup/v001"), 1, 3.0),
        ],
        columns=["file", "branch_id", "status", "where", "attempts", "seconds"],
    )
    table.insert(3, "状态", table["status"].map(STATUS_LABELS))
    rows = wb.batch_rows(table)
    assert rows["运行或问题清单"].tolist() == ["2025Q4/B001/v001", "B002_2025.xlsx.errors.csv", "2025Q4/_rollup/v001"]
    assert (
        rows["文件"].tolist()[-1] == "单位汇总"
        and rows["编号"].tolist()[-1] == ""
        and rows["用时 (秒)"].tolist()[0] == "12.3"
    )
    assert not ABSOLUTE_PATH.search(rows.to_string())


def test_the_roll_up_shows_scores_with_two_decimals_and_ranks_whole() -> None:
    unit = pd.DataFrame({"member_id": ["M01", "M02"], "score": ["297.0", "96.1"], "unit_rank": ["1.0", ""]})
    rows = wb.rollup_rows(unit)
    assert rows.iloc[:, 1:].values.tolist() == [["297.00", "1"], ["96.10", ""]]
    assert list(rows.columns)[1] == "本期积分 (score)"


def test_a_unit_workbook_is_checked_as_the_unit_s_branches(tmp_path: Path) -> None:
    from scoring.inputs.unit_demo import write_demo_unit

    unit = write_demo_unit(tmp_path, YEAR)
    checked = wb.check_workbook(unit, str(YEAR))
    assert checked.ok and checked.loaded.subject.word == "党支部"
    assert "名党支部" in wb.checked_html(checked, unit.name)
    half = wb.check_workbook(unit, f"{YEAR}H1")  # 月评季考年定级: no half-year
    assert not half.ok and half.failures is None and "不评半年" in wb.checked_html(half, unit.name)


def test_a_failed_run_offers_the_notebook_it_left_and_names_no_path(tmp_path: Path) -> None:
    import nbformat

    kept = tmp_path / "scoring-failed-x" / "B001_2025.ipynb"
    kept.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 出错")]), kept)  # type: ignore[no-untyped-call]
    exc = RunError(f"笔记本执行失败 (notebook failed): ValueError: x; executed notebook kept at {kept}")
    text = wb.failed_run_html(exc)
    assert "wb-failed-notebook" in text and 'download="B001_2025.html"' in text
    assert str(tmp_path) not in text


def fake_run(root: Path) -> Path:
    """A sealed run folder as ``run_branch`` leaves one: its files and a manifest with their hashes."""
    run = root / "2025" / "B001" / "v001"
    run.mkdir(parents=True)
    (run / "summary.csv").write_text("member_id,total\r\nM01,90.0\r\n", encoding="utf-8")
    (run / "公示.pdf").write_bytes(b"%PDF-1.4")
    outputs = [{"file": p.name, "sha256": sha256_file(p)} for p in sorted(run.iterdir())]
    manifest: dict[str, object] = {
        "status": "draft",
        "branch_id": "B001",
        "branch_name": "第一党支部",
        "period": "2025",
    }
    manifest |= {"outputs": outputs, "inputs": [], "finished_at": "2026-01-05T10:00:00+08:00"}
    (run / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return run


def test_a_run_is_listed_as_draft_until_approved_then_as_approved(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "runs")
    assert [c.label for c in wb.run_choices(tmp_path / "runs")] == ["2025/B001/v001 · 第一党支部 · 草稿 (未审核)"]
    approve(run, "王审核", "年度复核")
    (label,) = [c.label for c in wb.run_choices(tmp_path / "runs")]
    assert label.startswith("2025/B001/v001 · 第一党支部 · 已审核 (王审核, ")
    files = wb.files_html(run)
    assert 'data-file="公示.pdf"' in files and "审核记录" in files and str(tmp_path) not in files
    assert wb.run_choices(tmp_path / "nothing") == []


def test_a_file_is_named_in_the_officers_words() -> None:
    assert wb.file_word("B001_2025_结果.xlsx").startswith("结果工作簿")
    assert wb.file_word("公示.pdf").startswith("公示")
    assert wb.file_word("approval-20260105T020000123456Z.json").startswith("审核记录")
    assert wb.file_word("B001_2025.html").startswith("执行过的笔记本 (网页")


# -- the page in a real browser --------------------------------------------------------------------


@contextmanager
def serve(work: Path, browser: Any) -> Iterator[tuple[Any, str, list[str]]]:
    """notebooks/workbench.ipynb with its folders in ``work`` (inputs, uploads, runs), served by
    Voila as ``make workbench`` serves it; yields a page once the workbench is drawn, the address,
    and every request any page made to anything but the local server."""
    nb = json.loads((REPO / "notebooks" / "workbench.ipynb").read_text(encoding="utf-8"))
    params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    params["source"] = ['inputs = "inputs"\n', 'uploads = "uploads"\n', 'runs = "runs"\n']  # Voila runs it in work
    (work / "workbench.ipynb").write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    write_voila_template(work / "jupyter")
    port = _free_port()
    argv, env = voila_command(work / "workbench.ipynb", port, work / "jupyter")
    log = work / "voila.log"
    with log.open("w") as err:
        voila = subprocess.Popen(
            argv, cwd=work, stdout=subprocess.DEVNULL, stderr=err, env={**env, "MPLBACKEND": "Agg"}
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    __import__("socket").create_connection(("127.0.0.1", port), timeout=2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or voila.poll() is not None:
                        raise AssertionError(log.read_text()) from None
                    time.sleep(0.3)
            url = f"http://127.0.0.1:{port}/"
            remote: list[str] = []
            page = open_page(browser, url, remote)
            try:
                yield page, url, remote
            finally:
                page.close()
        finally:
            voila.terminate()
            voila.wait(timeout=30)


def open_page(browser: Any, url: str, remote: list[str]) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else remote.append(r.url))
    page.goto(url, timeout=120_000)
    page.wait_for_selector(".wb-workbook select", state="attached", timeout=120_000)
    return page


class Shots:
    """Numbered full-page screenshots of the flow's steps, each checked for what an officer must
    not read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.n = 0

    def take(self, page: Any, name: str) -> Path:
        page.wait_for_timeout(300)  # let the page paint
        self.n += 1
        path = self.folder / f"{self.n:02d}-{name}.png"
        _full_page(page, path)
        text = page.inner_text("body")
        assert raw_values(text) == [], (name, raw_values(text))
        assert not ABSOLUTE_PATH.search(text), (name, ABSOLUTE_PATH.search(text))
        return path


def chosen(page: Any, select: str) -> str:
    """The text of the option chosen in a drop-down (its spaces are no-break spaces on the page)."""
    return str(page.eval_on_selector(select, "e => e.options[e.selectedIndex].text")).replace("\xa0", " ")


def tab(page: Any, title: str) -> None:
    page.get_by_role("tab", name=title).click()


def upload(page: Any, selector: str, path: Path) -> None:
    """Choose ``path`` in the file dialog the upload button opens."""
    with page.expect_file_chooser(timeout=30_000) as chooser:
        page.click(selector)
    chooser.value.set_files(str(path))


def download(page: Any, selector: str, folder: Path) -> Path:
    with page.expect_download(timeout=60_000) as info:
        page.click(selector)
    d = info.value
    path: Path = folder / str(d.suggested_filename)
    d.save_as(str(path))
    return path


@needs_browser
def test_an_officer_takes_a_workbook_to_an_approved_run_in_the_browser(
    tmp_path_factory: pytest.TempPathFactory, chromium: Any, demo: list[Path]
) -> None:
    import os

    work = tmp_path_factory.mktemp("workbench")
    shots = Shots(Path(os.environ.get("WORKBENCH_SCREENSHOTS") or work / "screenshots"))
    shots.folder.mkdir(parents=True, exist_ok=True)
    got = work / "downloads"
    got.mkdir()
    (work / "inputs").mkdir()
    for p in demo[:2]:  # the unit's folder: two branches (county-10-stars)
        shutil.copy(p, work / "inputs")
    good = work / "mine" / "B001_2025.xlsx"  # the officer's own copy, outside every folder the page knows
    good.parent.mkdir()
    shutil.copy(demo[0], good)
    bad, broken = three_problems(demo[0], work / "mine" / "B001_2025_有错.xlsx")
    members = work / "mine" / "党员名单.csv"
    members.write_text("member_id,name\nB009M01,张三\nB009M02,李四\nB009M03,王五\n", encoding="utf-8")

    with serve(work, chromium) as (page, url, remote):
        try:
            print(f"\nworkbench screenshots: {shots.folder}")
            shots.take(page, "start")

            # 1. the template: scheme, year, branch, members uploaded
            page.select_option(".wb-scheme select", label="评星定格十星积分 (县委组织部意见) (county-10-stars)")
            page.select_option(".wb-year select", label=str(YEAR))
            page.fill(".wb-branch-id input", "B009")
            upload(page, ".wb-members-upload", members)
            page.wait_for_selector(".wb-template-out .wb-ok", timeout=60_000)
            assert chosen(page, ".wb-members select").startswith("上传: 党员名单.csv (")
            page.click(".wb-make-template")
            page.wait_for_selector(".wb-template-link", timeout=60_000)
            template = download(page, ".wb-template-link", got)
            shots.take(page, "1-template")
            cli = write_template("county-10-stars", work / "cli-template", YEAR, "B009", members, overwrite=False)
            assert template.name == cli.name and template.read_bytes() == cli.read_bytes()
            filled = openpyxl.load_workbook(template, read_only=True)
            ws = next(w for w in filled.worksheets if w.title.endswith("(members)"))
            assert [r[1] for r in ws.iter_rows(min_row=2, max_col=2, values_only=True) if r[0]] == [
                "张三",
                "李四",
                "王五",
            ]

            # 2. a workbook with three problems: all three shown; then the good one
            tab(page, "2 上传与检查")
            upload(page, ".wb-upload", bad)
            page.wait_for_selector(".wb-check-bad", timeout=60_000)
            page.wait_for_selector(".wb-problems-area table", timeout=30_000)
            table = page.inner_text(".wb-problems-area")
            assert "有 3 处问题" in page.inner_text(".wb-check-out") and "B001_2025_有错.xlsx" in page.inner_text(
                ".wb-check-out"
            )
            for cell, value in broken.items():
                assert cell in table and value in table, (cell, table)
            page.select_option(".wb-sort select", label="单元格 (按工作表、行、列)")
            page.click("text=倒序")
            wanted = sorted(broken, reverse=True)
            deadline = time.monotonic() + 30
            while (
                cells := re.findall(r"月度评分 \(monthly_scores\)!\w+", page.inner_text(".wb-problems-area"))
            ) != wanted:
                assert time.monotonic() < deadline, cells  # the kernel re-sorts it on the toggle
                page.wait_for_timeout(200)
            errors = download(page, ".wb-problems-csv", got)
            assert len(list(csv.reader(io.StringIO(errors.read_text(encoding="utf-8-sig"))))) == 4
            shots.take(page, "2-three-problems")
            assert not (work / "runs").exists()  # nothing written while there are problems
            saved = {p.name for p in (work / "uploads").iterdir()}
            assert not any("有错" in n for n in saved)  # saved by hash, never by the uploaded name

            upload(page, ".wb-upload", good)
            page.wait_for_selector(".wb-check-ok", timeout=60_000)
            shots.take(page, "2-good")

            # 3. the year's run, its files, 公示.pdf, the explorer on it
            tab(page, "3 评分")
            assert page.inner_text(".wb-period select") and page.input_value(".wb-period select")
            page.click(".wb-run-button")
            page.wait_for_selector(".wb-run-status .wb-busy", timeout=30_000)
            page.wait_for_timeout(2500)
            shots.take(page, "3-running")
            page.wait_for_selector(".wb-run-done", timeout=600_000)
            pdf = download(page, '.wb-run-files a[data-file="公示.pdf"]', got)
            (run,) = [p.parent for p in (work / "runs").glob(f"{YEAR}/B001/v*/{MANIFEST}")]
            assert pdf.read_bytes() == (run / "公示.pdf").read_bytes()
            text = subprocess.run(
                ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
            ).stdout
            summary = pd.read_csv(run / "summary.csv", dtype=str, keep_default_na=False)
            branch_name = json.loads((run / MANIFEST).read_text(encoding="utf-8"))["branch_name"]
            assert f"{branch_name} {YEAR}年度" in text and "公示期" in text
            lines = text.splitlines()
            for member_id, name, total in zip(summary["member_id"], summary["name"], summary["total"], strict=True):
                row = [str(member_id), str(name), str(total)]
                assert any(all(x in ln for x in row) for ln in lines), row
            links = page.eval_on_selector_all(".wb-run-files a", "els => els.map(e => e.dataset.file)")
            assert set(links) >= {p.name for p in run.rglob("*") if p.is_file()} | {f"B001_{YEAR}.html"}
            page_html = download(page, f'.wb-run-files a[data-file="B001_{YEAR}.html"]', got)
            loads = re.findall(
                r"""(?:src|href)=["']https?://[^"']*|import [^;]*https?://[^'"]*""",
                page_html.read_text(encoding="utf-8"),
            )
            assert loads == [], loads  # the notebook's page loads nothing from the network
            page.wait_for_selector(".wb-explorer .member-select select", state="attached", timeout=120_000)
            shots.take(page, "3-run-done")

            # the run the page made is the one `scoring run` makes from the same workbook
            from scoring.runs.execute import run_branch

            cli_run = run_branch(good, str(YEAR), work / "cli-runs")
            assert (run / "summary.csv").read_bytes() == (cli_run / "summary.csv").read_bytes()
            ours, theirs = (json.loads((r / MANIFEST).read_text(encoding="utf-8")) for r in (run, cli_run))
            assert ours["inputs"][0]["sha256"] == theirs["inputs"][0]["sha256"] == sha256_file(good)
            for key in ("name", "version", "sha256"):
                assert ours["scheme"][key] == theirs["scheme"][key]
            assert sorted(o["file"] for o in ours["outputs"]) == sorted(o["file"] for o in theirs["outputs"])
            assert ours["package"]["code_sha256"] == theirs["package"]["code_sha256"]

            # 4. review: verify, the warning signs, approve
            tab(page, "4 审核")
            assert chosen(page, ".wb-review-run select") == f"{YEAR}/B001/v001 · {branch_name} · 草稿 (未审核)"
            page.click(".wb-verify")
            page.wait_for_selector(".wb-verdict", timeout=300_000)
            review = page.inner_text(".wb-review-out")
            assert "核验结论: 通过" in review and "需要注意的迹象" in review
            assert "同一月份总分相同" in review  # the reviewer notebook's first warning sign, checked
            shots.take(page, "4-verified")
            page.fill(".wb-reviewer input", "王审核")
            page.fill(".wb-note-input textarea", "年度复核, 无异议")
            page.click(".wb-approve")
            page.wait_for_selector(".wb-approved", timeout=60_000)
            (approval,) = run.glob("approval-*.json")
            record = json.loads(approval.read_text(encoding="utf-8"))
            assert (record["reviewer"], record["note"]) == ("王审核", "年度复核, 无异议")
            assert download(page, ".wb-approval-link", got).read_bytes() == approval.read_bytes()
            assert chosen(page, ".wb-review-run select").startswith(
                f"{YEAR}/B001/v001 · {branch_name} · 已审核 (王审核, "
            )
            assert "核验结论: 通过" in page.inner_text(".wb-review-out")  # still shown after the sign-off
            assert "已由 王审核 签字" in page.inner_text(".wb-review-status")
            shots.take(page, "4-approved")

            # 5. the quarter's batch, started by two officers at once: one runs, the other is told
            other = open_page(chromium, url, remote)
            try:
                tab(other, "5 全单位")
                tab(page, "5 全单位")
                page.select_option(".wb-batch-period select", label=f"{YEAR}年第4季度 ({YEAR}Q4)")
                other.select_option(".wb-batch-period select", label=f"{YEAR}年第4季度 ({YEAR}Q4)")
                page.click(".wb-batch-button")
                page.wait_for_selector(".wb-batch-status .wb-busy", timeout=30_000)
                deadline = time.monotonic() + 60
                while not (work / "runs" / "batches").is_dir() and time.monotonic() < deadline:
                    time.sleep(0.2)  # the first batch holds the period's lock once it made its report folder
                other.click(".wb-batch-button")
                other.wait_for_selector(".wb-batch-busy", timeout=60_000)
                shots.take(other, "5-second-officer-refused")
                page.wait_for_timeout(3000)
                shots.take(page, "5-batch-running")
                page.wait_for_selector(".wb-batch-done", timeout=900_000)
                shots.take(page, "5-batch-done")
            finally:
                other.close()
            done = page.inner_text(".wb-batch-out")
            assert "2 个工作簿, 2 个完成或复用, 0 个失败或输入有误" in done and "单位汇总: 完成" in done
            assert f"{YEAR}Q4/B001/v001" in done and f"{YEAR}Q4/_rollup/v001" in done
            assert len(list((work / "runs" / "batches").iterdir())) == 1  # the refused batch made nothing
            assert remote == [], remote  # nothing fetched from anywhere but the local server
        except BaseException:
            page.screenshot(path=str(shots.folder / "failed.png"), full_page=True)
            raise

    # the approved run is intact, and `scoring verify` says so
    from scoring.runs.review import verify

    assert verify(run).ok
    assert len(list(shots.folder.glob("[0-9][0-9]-*.png"))) == shots.n >= 10


def test_a_second_batch_for_the_period_is_told_since_when_without_a_path(tmp_path: Path) -> None:
    from scoring.runs.batch import BatchBusy, period_lock

    with period_lock(tmp_path / "runs", "2025Q4"):
        with pytest.raises(BatchBusy), period_lock(tmp_path / "runs", "2025Q4"):
            pass
        text = wb.busy_html(tmp_path / "runs", "2025Q4")
    assert "2025Q4 的全单位评分正在进行 (开始于 20" in text and "没有做任何改动" in text
    assert str(tmp_path) not in text and not ABSOLUTE_PATH.search(text)
