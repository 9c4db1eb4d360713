"""History across years (SPEC 8): each member's figures from the record runs of a runs folder.

The runs folder is made by hand: sealed run folders laid out as ``scoring.runs.execute._seal``
leaves them (``OUT/PERIOD/ID/vNNN`` with ``summary.csv`` in the columns the engine publishes, a
manifest listing every output's SHA-256, every file read-only, the input and scheme archived by
hash in ``OUT/.archive``), and approvals written by the real ``approve``. No notebook runs.

The folder (every figure below is typed here, and the expectations are read off this table):

    run                  approved  rows (member: figure, ...)
    2024/B001/v001       yes       P001 张三 total 95.5 (9星 优秀 rank 1), P002 李四 total 88.25 (8星 合格 rank 2)
    2025Q1/B001/v001     yes       P001 quarter_score 290.5 rank 1 quarter_star yes
    2025Q1/B001/v002     no        P001 quarter_score 280 rank 1 quarter_star no   (later, not approved)
    2025Q1/B002/v001     no        P003 王五 300 rank 1, P002 270 rank 2
    2025/B001/v001       no        P001 total 97 (10星 优秀 rank 1)
    2025/B002/v001       no        P002 total 90.75 (9星 合格 rank 1), P003 exempt (no total)
    2025/U01/v001        no        a unit's run (subject branch): B001 and B002 as rows, no member

李四 (P002) moved from B001 to B002 at the turn of 2025. For 2025Q1 of B001 the approved v001
stands, not the later v002: P001's 2025Q1 figure is 290.5, not 280.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from scoring.exceptions import ArgumentError, ScoringError
from scoring.outputs.csvfile import read_csv_text, write_csv
from scoring.runs.history import HISTORY_COLUMNS, history, readable_history, wide
from scoring.runs.review import approve
from scoring.views.history_view import HistoryTab, history_figure, history_html

YEAR_COLUMNS = [
    "member_id",
    "name",
    "months",
    "base",
    "bonus",
    "deduction",
    "total",
    "stars",
    "grade",
    "veto",
    "exempt",
    "rank",
    "tier",
    "annual_star",
]
QUARTER_COLUMNS = ["member_id", "name", "months", "quarter_score", "quarter_rank", "quarter_star", "veto", "exempt"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def archived(out: Path, content: bytes, suffix: str) -> tuple[str, Path]:
    """A file kept by hash in OUT/.archive, as execute.archive keeps inputs and schemes."""
    folder = out / ".archive"
    folder.mkdir(exist_ok=True)
    digest = hashlib.sha256(content).hexdigest()
    target = folder / f"{digest}{suffix}"
    if not target.exists():
        target.write_bytes(content)
        target.chmod(0o400)
    return digest, target


def seal(
    out: Path,
    period: str,
    subject_id: str,
    name: str,
    rows: list[dict[str, Any]],
    columns: list[str],
    subject: str = "member",
) -> Path:
    """One sealed run folder, as run_branch and _seal write it: summary.csv, the manifest (outputs
    hashed), every file read-only, the folder the next vNNN of OUT/PERIOD/ID."""
    parent = out / period / subject_id
    parent.mkdir(parents=True, exist_ok=True)
    folder = parent / f"v{len(list(parent.glob('v[0-9][0-9][0-9]'))) + 1:03d}"
    folder.mkdir()
    write_csv(pd.DataFrame(rows, columns=columns), folder / "summary.csv")
    (folder / f"{subject_id}_{period}_结果.xlsx").write_bytes(b"workbook " + period.encode())
    book_sha, book = archived(out, f"{subject_id} {period} input".encode(), ".xlsx")
    scheme_sha, scheme = archived(out, b"scheme: county-10-stars\n", ".yaml")
    ids = {"subject": subject}
    ids |= (
        {"branch_id": subject_id, "branch_name": name}
        if subject == "member"
        else {"unit_id": subject_id, "unit_name": name}
    )
    manifest: dict[str, Any] = {
        "manifest_version": 1,
        "status": "draft",
        **ids,
        "period": period,
        "inputs": [
            {
                "file": f"{subject_id}_{period[:4]}.xlsx",
                "path": f"/somewhere/{subject_id}_{period[:4]}.xlsx",
                "sha256": book_sha,
                "archived": "../../../" + book.relative_to(out).as_posix(),
            }
        ],
        "scheme": {
            "name": "county-10-stars",
            "version": "1.0",
            "sha256": scheme_sha,
            "path": "/somewhere/county-10-stars.yaml",
            "archived": "../../../" + scheme.relative_to(out).as_posix(),
        },
        "parameters": {"period": period},
        "started_at": "2026-01-05T08:00:00+00:00",
        "finished_at": "2026-01-05T08:01:00+00:00",
    }
    outputs = sorted(f for f in folder.iterdir() if f.is_file())
    manifest["outputs"] = [{"file": f.name, "sha256": sha(f), "bytes": f.stat().st_size} for f in outputs]
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for f in folder.iterdir():
        f.chmod(0o444)
    return folder


def year_row(
    mid: str, name: str, total: float | str, stars: int | str, grade: str, rank: int | str, **kw: Any
) -> dict[str, Any]:
    return {
        "member_id": mid,
        "name": name,
        "months": 12,
        "base": total,
        "bonus": 0.0,
        "deduction": 0.0,
        "total": total,
        "stars": stars,
        "grade": grade,
        "veto": "no",
        "exempt": "no",
        "rank": rank,
        "tier": "",
        "annual_star": "no",
    } | kw


def quarter_row(mid: str, name: str, score: float, rank: int, star: str) -> dict[str, Any]:
    return {
        "member_id": mid,
        "name": name,
        "months": 3,
        "quarter_score": score,
        "quarter_rank": rank,
        "quarter_star": star,
        "veto": "no",
        "exempt": "no",
    }


def make_runs(out: Path) -> dict[str, Path]:
    """The folder of the module docstring; approvals by the real ``approve``."""
    runs = {}
    runs["2024/B001"] = seal(
        out,
        "2024",
        "B001",
        "第一党支部",
        [year_row("P001", "张三", 95.5, 9, "优秀", 1), year_row("P002", "李四", 88.25, 8, "合格", 2)],
        YEAR_COLUMNS,
    )
    approve(runs["2024/B001"], "王审核")
    runs["2025Q1/B001 v001"] = seal(
        out, "2025Q1", "B001", "第一党支部", [quarter_row("P001", "张三", 290.5, 1, "yes")], QUARTER_COLUMNS
    )
    approve(runs["2025Q1/B001 v001"], "王审核")
    runs["2025Q1/B001 v002"] = seal(
        out, "2025Q1", "B001", "第一党支部", [quarter_row("P001", "张三", 280.0, 1, "no")], QUARTER_COLUMNS
    )
    runs["2025Q1/B002"] = seal(
        out,
        "2025Q1",
        "B002",
        "第二党支部",
        [quarter_row("P003", "王五", 300.0, 1, "no"), quarter_row("P002", "李四", 270.0, 2, "no")],
        QUARTER_COLUMNS,
    )
    runs["2025/B001"] = seal(
        out, "2025", "B001", "第一党支部", [year_row("P001", "张三", 97.0, 10, "优秀", 1)], YEAR_COLUMNS
    )
    exempt = year_row("P003", "王五", "", "", "", "", exempt="yes", annual_star="")
    runs["2025/B002"] = seal(
        out,
        "2025",
        "B002",
        "第二党支部",
        [year_row("P002", "李四", 90.75, 9, "合格", 1), exempt],
        YEAR_COLUMNS,
    )
    runs["2025/U01"] = seal(
        out,
        "2025",
        "U01",
        "某单位",
        [
            {
                "branch_id": "B001",
                "branch_name": "第一党支部",
                "score": 91.0,
                "rank": 1,
                "level": "好",
                "approved": "yes",
            }
        ],
        ["branch_id", "branch_name", "score", "rank", "level", "approved"],
        subject="branch",
    )
    return runs


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("history") / "runs"
    folder.mkdir()
    make_runs(folder)
    return folder


def rows_of(table: pd.DataFrame, *cols: str) -> list[tuple[Any, ...]]:
    """Rows as plain tuples (a blank figure as None) for comparing with a hand-made list."""
    out = []
    for rec in table[list(cols)].astype(object).itertuples(index=False):
        out.append(tuple(None if v is pd.NA or (isinstance(v, float) and v != v) else v for v in rec))
    return out


def test_every_member_and_period_from_the_record_runs(out: Path) -> None:
    """Members by id, periods in order (2024, 2025Q1, 2025), the approved v001 of B001's 2025Q1
    (290.5, not v002's 280), the unit's run not a member's; the figure of a year is its total,
    of a quarter its quarter score."""
    t = history(out)
    assert list(t.columns) == HISTORY_COLUMNS
    assert rows_of(t, "member_id", "period", "branch_id", "score", "approved", "run") == [
        ("P001", "2024", "B001", 95.5, "是", "2024/B001/v001"),
        ("P001", "2025Q1", "B001", 290.5, "是", "2025Q1/B001/v001"),
        ("P001", "2025", "B001", 97.0, "否", "2025/B001/v001"),
        ("P002", "2024", "B001", 88.25, "是", "2024/B001/v001"),
        ("P002", "2025Q1", "B002", 270.0, "否", "2025Q1/B002/v001"),
        ("P002", "2025", "B002", 90.75, "否", "2025/B002/v001"),
        ("P003", "2025Q1", "B002", 300.0, "否", "2025Q1/B002/v001"),
        ("P003", "2025", "B002", None, "否", "2025/B002/v001"),
    ]
    assert "U01" not in set(t["branch_id"]) and "B001" not in set(t["member_id"])


def test_what_each_period_published(out: Path) -> None:
    """A year's stars, grade and rank; a quarter's rank and 季度之星 (是/否); the exempt member's
    year is blank with 不列入积分 是; names, kinds and the scheme from the manifest."""
    t = history(out, member="P001")
    assert rows_of(
        t, "period_kind", "total", "stars", "grade", "rank", "quarter_score", "quarter_rank", "quarter_star"
    ) == [
        ("年度", 95.5, 9, "优秀", 1, None, None, ""),
        ("季度", None, None, "", None, 290.5, 1, "是"),
        ("年度", 97.0, 10, "优秀", 1, None, None, ""),
    ]
    assert set(t["branch_name"]) == {"第一党支部"} and set(t["scheme_name"]) == {"county-10-stars"}
    p3 = history(out, member="P003")
    assert rows_of(p3, "period", "total", "stars", "exempt", "annual_star") == [
        ("2025Q1", None, None, "否", ""),
        ("2025", None, None, "是", ""),
    ]


def test_a_member_who_moved_is_followed_by_member_id(out: Path) -> None:
    """李四: 2024 in B001 (88.25), 2025Q1 and 2025 in B002 (270, 90.75). A branch's own history
    has only its runs: B002 knows nothing of his 2024, B001 nothing of his 2025."""
    assert rows_of(history(out, member="P002"), "period", "branch_id", "score") == [
        ("2024", "B001", 88.25),
        ("2025Q1", "B002", 270.0),
        ("2025", "B002", 90.75),
    ]
    assert rows_of(history(out, branch="B002", member="P002"), "period", "score") == [
        ("2025Q1", 270.0),
        ("2025", 90.75),
    ]
    assert rows_of(history(out, branch="B001"), "member_id", "period") == [
        ("P001", "2024"),
        ("P001", "2025Q1"),
        ("P001", "2025"),
        ("P002", "2024"),
    ]


def test_an_approval_of_the_later_version_makes_it_stand(tmp_path: Path) -> None:
    """Approving v002 as well: both approved, the later one stands (280)."""
    runs = make_runs(tmp_path)
    approve(runs["2025Q1/B001 v002"], "王审核")
    t = history(tmp_path, member="P001")
    assert rows_of(t[t["period"] == "2025Q1"], "score", "approved", "run") == [(280.0, "是", "2025Q1/B001/v002")]


def test_the_wide_table_has_a_column_per_period_in_order(out: Path) -> None:
    """One row per member; 2024年度, 2025年第1季度, 2025年度 with two decimals; blank where the
    member was in no run or has no figure; the branches he was in, in order."""
    w = wide(history(out))
    assert list(w.columns) == [
        "党员编号 (member_id)",
        "姓名 (name)",
        "支部编号 (branch_id)",
        "2024年度",
        "2025年第1季度",
        "2025年度",
    ]
    assert w.values.tolist() == [
        ["P001", "张三", "B001", "95.50", "290.50", "97.00"],
        ["P002", "李四", "B001、B002", "88.25", "270.00", "90.75"],
        ["P003", "王五", "B002", "", "300.00", ""],
    ]


def test_a_member_in_two_branches_runs_of_one_year(tmp_path: Path) -> None:
    """Moved in July: both branches' 2025 runs list him (6 months each, totals 45.5 and 47.25);
    the wide cell shows both, each with its branch; the long table has both rows."""
    seal(tmp_path, "2025", "B001", "第一党支部", [year_row("P002", "李四", 45.5, "", "", 3, months=6)], YEAR_COLUMNS)
    seal(tmp_path, "2025", "B002", "第二党支部", [year_row("P002", "李四", 47.25, "", "", 2, months=6)], YEAR_COLUMNS)
    t = history(tmp_path)
    assert rows_of(t, "period", "branch_id", "months", "score") == [
        ("2025", "B001", 6, 45.5),
        ("2025", "B002", 6, 47.25),
    ]
    assert wide(t).values.tolist() == [["P002", "李四", "B001、B002", "45.50 (B001); 47.25 (B002)"]]


def test_the_member_table_as_an_officer_reads_it(out: Path) -> None:
    """Chinese headers with the key, periods named, blank columns left out, no raw values; one
    member's table without what repeats on every row (he is named above it)."""
    full = readable_history(history(out, member="P002"))
    assert full.columns[:4].tolist() == [
        "党员编号 (member_id)",
        "姓名 (name)",
        "期间 (period)",
        "期间类别 (period_kind)",
    ]
    assert "年度总积分 (total)" in full.columns and "季度积分 (quarter_score)" in full.columns
    r = readable_history(history(out, member="P002"), one_member=True)
    assert r.columns[:4].tolist() == [
        "期间 (period)",
        "支部编号 (branch_id)",
        "支部名称 (branch_name)",
        "本期积分 (score)",
    ]
    assert "年度总积分 (total)" not in r.columns and "姓名 (name)" not in r.columns
    assert "季度之星 (quarter_star)" in r.columns and "一票否决 (veto)" in r.columns
    assert "月度总分 (month_total)" not in r.columns and "半年积分 (half_score)" not in r.columns  # blank everywhere
    assert r["期间 (period)"].tolist() == ["2024年度", "2025年第1季度", "2025年度"]
    assert r["本期积分 (score)"].tolist() == ["88.25", "270.00", "90.75"]
    assert r["已审核 (approved)"].tolist() == ["是", "否", "否"]
    text = r.to_string()
    for raw in ("nan", "None", "<NA>", "True", "False", "yes", "no"):
        assert raw not in text, raw


def test_unknown_branch_member_and_empty_folders_are_argument_errors(out: Path, tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match=r"支部 B009 .*B001, B002"):
        history(out, branch="B009")
    with pytest.raises(ArgumentError, match=r"党员 P009 不在任何运行中.*P001, P002, P003"):
        history(out, member="P009")
    with pytest.raises(ArgumentError, match="党员 P003 不在支部 B001 的任何运行中"):
        history(out, branch="B001", member="P003")
    with pytest.raises(ArgumentError, match="没有支部的运行"):
        history(tmp_path)
    with pytest.raises(ArgumentError, match="不存在"):
        history(tmp_path / "nowhere")
    seal(tmp_path, "2025", "U01", "某单位", [], ["branch_id"], subject="branch")
    with pytest.raises(ArgumentError, match="只有 1 次单位"):
        history(tmp_path)


def test_a_summary_that_is_not_the_programs_is_named(tmp_path: Path) -> None:
    """A figure that is not a number (summary.csv changed by hand) stops with the run named."""
    seal(tmp_path, "2025", "B001", "第一党支部", [year_row("P001", "张三", "九十", 9, "优秀", 1)], YEAR_COLUMNS)
    with pytest.raises(ScoringError, match=r"2025/B001/v001 的 summary.csv 的 total 列有不是数字的值 '九十'"):
        history(tmp_path)


# -- the chart and the explorer's tab -------------------------------------------------------------


def ydata(line: Line2D) -> list[float]:
    return [float(v) for v in np.asarray(line.get_ydata(), dtype=float)]


def test_the_chart_has_a_panel_per_kind_of_period_and_a_line_per_member(out: Path) -> None:
    """Years and quarters apart (their scales differ): 李四's years 88.25, 90.75 over 2024, 2025;
    his quarter 270 alone; labelled with his id and name."""
    fig = history_figure(history(out, member="P002"))
    assert isinstance(fig, Figure)
    year, quarter = fig.axes[:2]
    assert [t.get_text() for t in year.get_xticklabels()] == ["2024年", "2025年"]
    (line,) = year.get_lines()
    assert ydata(line) == [88.25, 90.75] and line.get_label() == "P002 李四"
    assert [t.get_text() for t in quarter.get_xticklabels()] == ["2025年第1季度"]
    assert ydata(quarter.get_lines()[0]) == [270.0]
    every = history_figure(history(out))
    assert isinstance(every, Figure) and len(every.axes[0].get_lines()) == 2  # P003 has no year figure
    assert len(every.axes[1].get_lines()) == 3
    p3 = history(out, branch="B002", member="P003")
    assert history_figure(p3[p3["period"] == "2025"]) == (
        "所选党员在这些运行中没有积分 (不列入积分, 或一票否决不体现积分), 所以没有图。"
    )


def test_the_history_tab_shows_a_branch_and_follows_a_member(out: Path) -> None:
    tab = HistoryTab(out, "B002")
    assert tab.branch.value == "B002" and tab.member.value == ""
    assert "2025年第1季度" in tab.table.value and "88.25" not in tab.table.value  # B002's runs only
    assert "未审核的运行" in tab.table.value and "2025Q1/B002/v001" in tab.table.value
    tab.choose("B002", "P002")
    assert 'data-member="P002"' in tab.table.value or "data-member='P002'" in tab.table.value
    assert "88.25" in tab.table.value and "所在支部: B001、B002" in tab.table.value  # followed into B001
    assert tab.chart.children and tab.chart.children[0].__class__.__name__ == "Image"
    html = history_html(history(out), "")
    assert "290.50" in html and "280.00" not in html
    empty = HistoryTab(None)
    assert "用参数 runs 指明运行文件夹" in empty.table.value
    missing = HistoryTab(out.parent / "nowhere")
    assert "nowhere 不存在" in missing.table.value and str(out.parent) not in missing.table.value


# -- the command line -----------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scoring", "history", *args], capture_output=True, text=True, timeout=300
    )


def test_the_command_prints_the_table_and_writes_the_csv_and_the_chart(out: Path, tmp_path: Path) -> None:
    csv, png = tmp_path / "历年.csv", tmp_path / "历年.png"
    done = cli("--out", str(out), "--csv", str(csv), "--chart", str(png))
    assert done.returncode == 0, done.stderr
    assert "2025年第1季度" in done.stdout and "B001、B002" in done.stdout and "290.50" in done.stdout
    assert "未审核的运行" in done.stdout and "2025Q1/B002/v001" in done.stdout
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 that Excel opens as such
    table = read_csv_text(csv, encoding="utf-8-sig")
    assert table.columns.tolist()[:3] == ["党员编号 (member_id)", "姓名 (name)", "期间 (period)"]
    assert len(table.columns) == len(HISTORY_COLUMNS)
    p2 = table[table["党员编号 (member_id)"] == "P002"]
    assert p2["本期积分 (score)"].tolist() == ["88.25", "270.0", "90.75"]
    assert p2["支部编号 (branch_id)"].tolist() == ["B001", "B002", "B002"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    one = cli("--out", str(out), "--member", "P002")
    assert one.returncode == 0 and "党员 P002 李四" in one.stdout and "季度之星 (quarter_star)" in one.stdout
    assert "2025/B002/v001" in one.stdout and "第二党支部" in one.stdout


def test_a_csv_cell_never_becomes_a_formula(tmp_path: Path) -> None:
    """A member named like a formula is written guarded, and read back as typed."""
    seal(tmp_path / "runs", "2025", "B001", "第一党支部", [year_row("P001", "=1+1", 90.0, 9, "合格", 1)], YEAR_COLUMNS)
    csv = tmp_path / "h.csv"
    assert cli("--out", str(tmp_path / "runs"), "--csv", str(csv)).returncode == 0
    assert "'=1+1" in csv.read_text(encoding="utf-8-sig")
    assert read_csv_text(csv, encoding="utf-8-sig")["姓名 (name)"].tolist() == ["=1+1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--branch", "B009"], "支部 B009 在"),
        (["--member", "P009"], "党员 P009 不在任何运行中"),
        (["--branch", "B001", "--member", "P003"], "党员 P003 不在支部 B001 的任何运行中"),
    ],
)
def test_the_command_refuses_an_unknown_branch_or_member(out: Path, args: list[str], message: str) -> None:
    done = cli("--out", str(out), *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_the_command_on_an_empty_or_missing_folder(tmp_path: Path) -> None:
    for folder in (tmp_path, tmp_path / "nowhere"):
        done = cli("--out", str(folder))
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "没有支部的运行" in done.stderr or "不存在" in done.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_chart_with_nothing_to_draw_writes_nothing(tmp_path: Path) -> None:
    """王五 exempt in his only run: no figure, so no chart; exit 2 and no CSV either."""
    exempt = year_row("P003", "王五", "", "", "", "", exempt="yes", annual_star="")
    seal(tmp_path / "runs", "2025", "B002", "第二党支部", [exempt], YEAR_COLUMNS)
    csv, png = tmp_path / "h.csv", tmp_path / "h.png"
    done = cli("--out", str(tmp_path / "runs"), "--csv", str(csv), "--chart", str(png))
    assert done.returncode == 2 and "图未写出" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not csv.exists() and not png.exists()
