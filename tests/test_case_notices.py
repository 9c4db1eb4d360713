"""Printed PDFs of SPEC 8: each member's card (积分卡/<member_id>.pdf) and a notice per case a year
run opened (通知书/<member_id>_<title>.pdf).

The branch (county-10-stars, 12 members, every month and every item 8, every rating 8) is made so
that each figure can be worked out by hand from SPEC 3.1: an item's annual score is
mean monthly x 80% + appraisal x 20%.
- everyone else: 10 items x (8 x 0.8 + 8 x 0.2) = 80.00, 8 stars, 合格;
- M03: 政治素质 (I01) 5 every month: 5 x 0.8 + 8 x 0.2 = 5.6; 9 x 8 + 5.6 = 77.6, and 本局通报批评
  (-1) makes 76.60: 7 stars, 基本合格 -> 告诫. Points lost per month: 政治素质 10 - 5 = 5.00, the
  others 2.00;
- M05: every item 5: 10 x 5.6 = 56.00: 5 stars, 不合格 -> 限期整改; every item lost 5.00;
- M01: thirty 本局表彰奖励 (+1) rows, one counted: 81.00; its card lists all thirty, so it runs
  to a second page.
The cases are the register rows a year run opens (record-design: opened on the last day of the
publicity, deadline six months (告诫) or twelve (限期整改) later, same day of the month): opened
2026-01-20, deadlines 2026-07-20 and 2027-01-20. ``Result.cases`` is built here by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from conftest import BookMaker, adjustment, county_sheets

from scoring.outputs.case_notices import (
    NOTICE_DIR,
    add_case_notice_sheet,
    notice_writer,
    opened_cases,
    write_case_notices,
)
from scoring.outputs.member_cards import CARDS_DIR, card_writer
from scoring.outputs.printing import file_stem, print_apart
from scoring.outputs.publicity import WORKBOOK_OPTIONS
from scoring.rules.engine import Result
from scoring.rules.engine.prior import CASE_COLUMNS
from scoring.runs.execute import _seal
from scoring.runs.review import check_files
from scoring.views.notebook import Run, write_member_pdfs

needs_office = pytest.mark.skipif(
    not (shutil.which("soffice") and shutil.which("pdftotext")), reason="LibreOffice and pdftotext needed"
)
WARNING = "告诫"
RECTIFY = "限期整改"
RAW = re.compile(r"\b(nan|None|NaT|NaN)\b|<NA>")


def _sheets() -> dict[str, pd.DataFrame]:
    sheets = county_sheets()
    scores = sheets["monthly_scores"]
    scores.loc[scores["member_id"] == "M03", "I01"] = 5.0
    scores.loc[scores["member_id"] == "M05", [f"I{i:02d}" for i in range(1, 11)]] = 5.0
    rows = [adjustment("M03", "criticism.unit", dt.date(2025, 3, 4))]
    rows += [adjustment("M01", "commend.unit", dt.date(2025, 1 + k // 3, 1 + k)) for k in range(30)]
    sheets["adjustments"] = pd.DataFrame(rows)
    return sheets


def _case(mid: str, name: str, kind: str, grade: str, total: float, deadline: str, **extra: str) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(CASE_COLUMNS, "")
    row.update(
        member_id=mid,
        name=name,
        case_year=2025,
        kind=kind,
        grade=grade,
        total=total,
        opened_on="2026-01-20",
        deadline=deadline,
        status="办理中",
        overdue="否",
        opened_by="本次运行",
    )
    row.update(extra)
    return row


def _with_cases(result: Result, rows: list[dict[str, object]]) -> Result:
    return replace(result, cases=pd.DataFrame(rows, columns=CASE_COLUMNS))


# M03 and M05 as the year run opens them (the totals from the docstring), and a case an earlier
# run opened that this run only carries (it is not printed again)
OPENED = [
    _case("M03", "测试03", WARNING, "基本合格", 76.6, "2026-07-20"),
    _case("M05", "测试05", RECTIFY, "不合格", 56.0, "2027-01-20", helper="王帮教"),
]
CARRIED = _case("M07", "测试07", WARNING, "基本合格", 75.0, "2025-07-20", opened_by="2024/T001/v001", case_year="2024")


@dataclass
class Printed:
    year: Result
    year_out: Path
    year_files: list[Path]
    quarter_files: list[Path]
    single_files: list[Path]


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    """Every LibreOffice conversion of this module, two: the year run's cards and notices, as the
    notebook prints them; a quarter's cards with a lone notice."""
    maker = BookMaker(tmp_path_factory.mktemp("books"))
    sheets = _sheets()
    year = _with_cases(maker.score("county-10-stars", sheets), [*OPENED, CARRIED])
    quarter = maker.score("county-10-stars", sheets, period="2025Q2")
    root = tmp_path_factory.mktemp("printed")
    run = Run(Path("book.xlsx"), year.period, year.scheme, year)
    year_files = write_member_pdfs(run, root / "year")
    both = print_apart(
        [card_writer(quarter, root / "quarter"), notice_writer(_with_cases(year, OPENED[1:]), root / "single")]
    )
    quarter_files = [p for p in both if p.is_relative_to(root / "quarter")]
    single_files = [p for p in both if p.is_relative_to(root / "single")]
    return Printed(year, root / "year", year_files, quarter_files, single_files)


def pdf_text(pdf: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", *pages, str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))  # type: ignore[union-attr]


def test_the_scores_are_those_worked_out_by_hand(printed: Printed) -> None:
    a = printed.year.annual.set_index("member_id")
    assert a.loc["M03", "total"] == pytest.approx(76.6)
    assert (a.loc["M03", "stars"], a.loc["M03", "grade"]) == (7, "基本合格")
    assert a.loc["M05", "total"] == pytest.approx(56.0)
    assert (a.loc["M05", "stars"], a.loc["M05", "grade"]) == (5, "不合格")
    assert a.loc["M01", "total"] == pytest.approx(81.0)


@needs_office
def test_one_notice_per_case_this_run_opened(printed: Printed) -> None:
    folder = printed.year_out / NOTICE_DIR
    assert sorted(p.name for p in folder.iterdir()) == ["M03_党员告诫通知书.pdf", "M05_限期整改通知书.pdf"]
    assert sorted(p for p in printed.year_files if p.parent == folder) == sorted(folder.iterdir())
    assert [p.relative_to(printed.single_files[0].parents[1]).as_posix() for p in printed.single_files] == [
        "通知书/M05_限期整改通知书.pdf"
    ]


@needs_office
@pytest.mark.parametrize(
    ("file", "expected"),
    [
        (
            "M03_党员告诫通知书.pdf",
            [
                "党员告诫通知书",
                "测试03",
                "M03",
                "基本合格",
                "76.60",
                "7星",
                "2026年7月20日",
                "六个月",
                "政治素质 5.00",
                "2025年3月4日",
            ],
        ),
        (
            "M05_限期整改通知书.pdf",
            ["限期整改通知书", "测试05", "M05", "不合格", "56.00", "2027年1月20日", "一年", "王帮教", "5.00"],
        ),
    ],
)
def test_notice_names_member_grade_score_deadline_and_title(printed: Printed, file: str, expected: list[str]) -> None:
    pdf = printed.year_out / NOTICE_DIR / file
    text = pdf_text(pdf)
    flat = re.sub(r"\s+", "", text)
    missing = [e for e in expected if re.sub(r"\s+", "", e) not in flat]
    assert not missing, text
    for words in ("2025年度", "2026年1月20日", "中共测试支部 (盖章)", "支部书记签字", "本人签收", "年 月 日"):
        assert re.sub(r"\s+", "", words) in flat, words
    assert not RAW.search(text), RAW.search(text)
    assert pages(pdf) == 1  # the receipt stays on the page
    if file.startswith("M03"):  # the deduction counted, and no helper named yet: a line to fill in
        assert "本局通报批评" in flat and "-1分" in flat
        assert re.search(r"帮教人_{6,}", flat)


@needs_office
def test_lone_notice_is_the_same_notice(printed: Printed) -> None:
    flat = re.sub(r"\s+", "", pdf_text(printed.single_files[0]))
    assert "限期整改通知书" in flat and "测试05" in flat and "2027年1月20日" in flat
    assert "测试03" not in flat


@needs_office
def test_a_card_per_member_each_naming_only_that_member(printed: Printed) -> None:
    members = printed.year.members
    ids = list(members["member_id"])
    folder = printed.year_out / CARDS_DIR
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{m}.pdf" for m in ids)
    assert sorted(p for p in printed.year_files if p.parent == folder) == sorted(folder.iterdir())
    for mid, name in zip(members["member_id"], members["name"], strict=True):
        text = pdf_text(folder / f"{mid}.pdf")
        assert [m for m in ids if re.search(rf"\b{m}\b", text)] == [mid]
        assert [n for n in members["name"] if n in text] == [name]
        assert not RAW.search(text), (mid, RAW.search(text))


@needs_office
def test_a_long_card_repeats_the_member_on_every_page(printed: Printed) -> None:
    """M01's thirty adjustment lines take its card to a second page; each page's header names
    M01, and its pages are numbered from 1 (the cards were printed as one document)."""
    pdf = printed.year_out / CARDS_DIR / "M01.pdf"
    n = pages(pdf)
    assert n >= 2
    for k in range(1, n + 1):
        text = pdf_text(pdf, k)
        assert "测试支部 2025年度 党员积分卡 M01 测试01" in text.splitlines()[0]  # the header
        assert f"第{k}页" in re.sub(r"\s+", "", text)
    assert pages(printed.year_out / CARDS_DIR / "M02.pdf") == 1
    assert "第1页" in re.sub(r"\s+", "", pdf_text(printed.year_out / CARDS_DIR / "M12.pdf"))


@needs_office
def test_quarter_cards_show_the_quarter(printed: Printed) -> None:
    assert sorted(p.name for p in printed.quarter_files) == sorted(f"M{i:02d}.pdf" for i in range(1, 13))
    text = pdf_text(next(p for p in printed.quarter_files if p.name == "M05.pdf"))
    assert "2025年第2季度" in re.sub(r"\s+", "", text) and "测试05" in text


# -- without LibreOffice ----------------------------------------------------------------------


def test_only_cases_opened_by_this_run_get_a_notice(tmp_path: Path) -> None:
    maker = BookMaker(tmp_path)
    result = maker.score("county-10-stars", county_sheets(n=10))
    assert list(opened_cases(_with_cases(result, [*OPENED, CARRIED]))["member_id"]) == ["M03", "M05"]
    assert write_case_notices(_with_cases(result, [CARRIED]), tmp_path / "out") == []
    assert write_case_notices(result, tmp_path / "out") == []  # no register at all
    assert not (tmp_path / "out").exists()


def test_notice_sheet_holds_each_notice_on_its_own_page(tmp_path: Path) -> None:
    maker = BookMaker(tmp_path)
    result = _with_cases(maker.score("county-10-stars", _sheets()), [*OPENED, CARRIED])
    path = tmp_path / "notices.xlsx"
    wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    assert add_case_notice_sheet(wb, result) is not None
    wb.close()
    ws = openpyxl.load_workbook(path)["通知书"]
    texts = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    joined = "\n".join(texts)
    assert texts.count("党员告诫通知书") == 1 and texts.count("限期整改通知书") == 1
    assert "测试03" in joined and "测试05" in joined and "测试07" not in joined
    assert len(ws.row_breaks.brk) == 1  # the second notice starts a page
    assert not RAW.search(joined)
    wb2 = xlsxwriter.Workbook(str(tmp_path / "none.xlsx"), WORKBOOK_OPTIONS)
    assert add_case_notice_sheet(wb2, _with_cases(result, [CARRIED])) is None
    wb2.close()


@pytest.mark.parametrize("bad", ["../x", "a/b", "中文", "", "M 1", "x" * 101])
def test_a_file_is_never_named_by_unchecked_text(bad: str) -> None:
    with pytest.raises(ValueError, match="member id"):
        file_stem(bad)
    assert file_stem("B001M003") == "B001M003"


def test_seal_records_files_in_sub_folders(tmp_path: Path) -> None:
    """The run's manifest lists 积分卡/<member_id>.pdf by its path in the run, and check_files
    finds every file as recorded."""
    staging = tmp_path / "staging"
    (staging / CARDS_DIR).mkdir(parents=True)
    (staging / "summary.csv").write_text("member_id\nM01\n", encoding="utf-8")
    (staging / CARDS_DIR / "M01.pdf").write_bytes(b"%PDF-1.4 card")
    run = _seal(staging, {"inputs": [], "scheme": {}}, tmp_path / "2025" / "T001")
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert [o["file"] for o in manifest["outputs"]] == ["summary.csv", "积分卡/M01.pdf"]
    files = check_files(run)
    assert list(files["status"]) == ["ok", "ok"]
    (run / CARDS_DIR / "M01.pdf").chmod(0o644)
    (run / CARDS_DIR / "M01.pdf").write_bytes(b"%PDF-1.4 changed")
    assert check_files(run).set_index("file").loc["积分卡/M01.pdf", "status"] == "changed"
