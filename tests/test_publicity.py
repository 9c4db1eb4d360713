"""The printed sheets: 公示 (publicity), 积分卡 (points cards), 组织处置, and 公示.pdf."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import xlsxwriter
from openpyxl.worksheet.worksheet import Worksheet

from scoring.inputs.demo import generate_demo
from scoring.inputs.reading import load_inputs
from scoring.outputs.publicity import WORKBOOK_OPTIONS, add_publicity_sheets, publicity_window, write_publicity_pdf
from scoring.rules.engine import Result, score
from scoring.rules.periods import parse_period

START = dt.date(2026, 1, 9)  # a Friday
HYPERLINK = '=HYPERLINK("http://x","y")'
PLUS = "+1-2"
CASES = [("B001", "2025"), ("B001", "2025Q4"), ("B003", "2025")]
STAR_TEXT = {"yes": "★", "tie": "待支委会研究", "no": "否"}
Results = dict[tuple[str, str], Result]  # by (branch, period), one of CASES
Workbooks = dict[tuple[str, str], openpyxl.Workbook]

# -- publicity_window -------------------------------------------------------------------------


def test_window_of_seven_working_days_from_a_friday() -> None:
    # Fri 3 Jan, Mon 6 .. Fri 10 Jan, Mon 13 Jan: seven working days
    assert publicity_window(dt.date(2025, 1, 3), 7) == (dt.date(2025, 1, 3), dt.date(2025, 1, 13))


def test_window_starts_on_the_next_working_day_and_skips_holidays() -> None:
    national_day = [dt.date(2025, 10, d) for d in range(1, 9)]
    # Sat 27 Sep -> Mon 29, Tue 30 Sep; 1..8 Oct off; Thu 9, Fri 10, Mon 13, Tue 14, Wed 15 Oct
    assert publicity_window(dt.date(2025, 9, 27), 7, national_day) == (dt.date(2025, 9, 29), dt.date(2025, 10, 15))
    # a holiday on the start day: New Year's Day 2025 was a Wednesday
    assert publicity_window(dt.date(2025, 1, 1), 7, [dt.date(2025, 1, 1)]) == (
        dt.date(2025, 1, 2),
        dt.date(2025, 1, 10),
    )
    # a holiday inside the window lengthens it by one working day
    assert publicity_window(dt.date(2025, 1, 6), 5, [dt.date(2025, 1, 8)]) == (
        dt.date(2025, 1, 6),
        dt.date(2025, 1, 13),
    )


def test_window_of_one_day_and_bad_lengths() -> None:
    assert publicity_window(dt.date(2025, 1, 5), 1) == (dt.date(2025, 1, 6), dt.date(2025, 1, 6))  # Sunday -> Monday
    with pytest.raises(ValueError, match="working_days"):
        publicity_window(dt.date(2025, 1, 6), 0)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {p.stem.split("_")[0]: p for p in generate_demo(tmp_path_factory.mktemp("demo"))}


def scored(path: Path, period: str) -> Result:
    """Score a demo branch with two members renamed to text a spreadsheet could take for a
    formula; both are on the follow-up list (one vetoed, one lapsed or 基本合格)."""
    p = parse_period(period)
    book, sch = load_inputs(path, p)
    book.members.loc[4, "name"] = HYPERLINK
    book.members.loc[6, "name"] = PLUS
    return score(book, sch, p)


@pytest.fixture(scope="module")
def results(demo_books: dict[str, Path]) -> Results:
    return {(b, per): scored(demo_books[b], per) for b, per in CASES}


@pytest.fixture(scope="module")
def workbooks(results: Results, tmp_path_factory: pytest.TempPathFactory) -> Workbooks:
    out = tmp_path_factory.mktemp("publicity")
    books = {}
    for key, result in results.items():
        path = out / f"{key[0]}_{key[1]}.xlsx"
        wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
        wb.add_worksheet("其他")  # the sheets are added to a workbook that has others
        add_publicity_sheets(wb, result, start=START, holidays=[dt.date(2026, 1, 1)])
        wb.close()
        books[key] = openpyxl.load_workbook(path)
    return books


def strings(ws: Worksheet) -> list[str]:
    return [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def table(ws: Worksheet) -> tuple[int, pd.DataFrame]:
    """The 公示 member table: its header row (1-based) and its rows, by Chinese header."""
    rows = list(ws.iter_rows(values_only=True))
    start = next(i for i, r in enumerate(rows) if r[0] == "党员编号")
    header = [h for h in rows[start] if h is not None]
    body = []
    for r in rows[start + 1 :]:
        if r[0] is None:
            break
        body.append(dict(zip(header, r, strict=False)))
    return start + 1, pd.DataFrame(body, dtype=object)  # keeps empty cells as None


def same(shown: object, value: float | str | None) -> bool:
    """A printed cell equals the summary value; a missing value is an empty cell."""
    return shown is None if pd.isna(value) else shown == value


# -- the sheets -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", CASES)
def test_sheets_are_a4_one_page_wide_with_branch_in_header(
    workbooks: Workbooks, results: Results, key: tuple[str, str]
) -> None:
    wb = workbooks[key]
    result = results[key]
    assert wb.sheetnames == ["其他", "公示", "积分卡", "组织处置"]
    for name in ("公示", "积分卡", "组织处置"):
        ws = wb[name]
        paper, fit, odd = ws.page_setup.paperSize, ws.sheet_properties.pageSetUpPr, ws.oddHeader
        assert paper is not None and int(paper) == 9, name
        assert ws.page_setup.orientation == "portrait"
        assert fit is not None and fit.fitToPage
        assert odd is not None and odd.center.text is not None
        assert result.branch_name in odd.center.text and result.period.label in odd.center.text
    header_row, _ = table(wb["公示"])
    assert wb["公示"].print_title_rows == f"${header_row}:${header_row}"  # repeated on every page


@pytest.mark.parametrize("key", CASES)
def test_publicity_lists_every_member_with_the_published_figures(
    workbooks: Workbooks, results: Results, key: tuple[str, str]
) -> None:
    ws = workbooks[key]["公示"]
    result = results[key]
    texts = strings(ws)
    title = "党员积分评星定格公示" if result.scheme.scheme.has_stars else "党员积分评定公示"
    if result.period.kind == "quarter":
        title = "党员季度积分及季度之星公示"
    assert texts[0] == f"{result.branch_name} {result.period.label} {title}"
    assert "公示期: 2026年1月9日 至 2026年1月19日 (共 7 个工作日)" in texts
    assert any(t.startswith("对评定结果有异议的, 可在公示期内向党支部反映") for t in texts)
    _, t = table(ws)
    summ = result.summary()
    assert list(t["党员编号"]) == list(summ["member_id"]) and list(t["姓名"]) == list(summ["name"])
    if result.period.kind == "year":
        pairs = [("年度总积分", "total"), ("等级", "grade"), ("排名", "rank")]
        if result.scheme.scheme.has_stars:
            pairs.append(("星级", "stars"))
        for col, key_ in pairs:
            for shown, value in zip(t[col], summ[key_], strict=True):
                assert same(shown, value), (col, shown, value)
        if result.scheme.scheme.annual_star is not None:
            for shown, flag in zip(t["年度之星"], summ["annual_star"], strict=True):
                assert shown is None if pd.isna(flag) else STAR_TEXT[flag] in shown
    else:
        for col, key_ in [("季度积分", "quarter_score"), ("季度排名", "quarter_rank")]:
            for shown, value in zip(t[col], summ[key_], strict=True):
                assert same(shown, value), (col, shown, value)
        for shown, flag in zip(t["季度之星"], summ["quarter_star"], strict=True):
            assert shown is None if pd.isna(flag) else STAR_TEXT[flag] in shown
        assert "★季度之星" in set(t["季度之星"])  # the demo has a quarter star
    remarks = dict(zip(t["党员编号"], t["备注"].fillna(""), strict=True))
    for mid in summ.loc[summ["exempt"] == "yes", "member_id"]:
        assert remarks[mid].startswith("不列入积分")
    vetoed = set(result.vetoes.loc[result.vetoes["applies"], "member_id"])
    assert vetoed and all("一票否决" in remarks[m] for m in vetoed)
    assert any(t_.startswith("一票否决") for t_ in texts) and any(t_.startswith("不列入积分管理的党员") for t_ in texts)


def test_publicity_shows_no_score_for_a_no_score_veto(workbooks: Workbooks, results: Results) -> None:
    result = results[("B003", "2025")]
    _, t = table(workbooks[("B003", "2025")]["公示"])
    vetoed = result.vetoes.loc[result.vetoes["applies"], "member_id"]
    row = t[t["党员编号"].isin(vetoed)]
    assert row["年度总积分"].isna().all() and (row["等级"] == "不合格").all()
    assert "星级" not in t.columns and "年度之星" not in t.columns  # a scheme without stars


def test_default_start_is_a_working_day_after_today(results: Results, tmp_path: Path) -> None:
    path = tmp_path / "default.xlsx"
    wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    add_publicity_sheets(wb, results[("B001", "2025")])
    wb.close()
    line = next(s for s in strings(openpyxl.load_workbook(path)["公示"]) if s.startswith("公示期"))
    found = re.search(r"(\d+)年(\d+)月(\d+)日", line)
    assert found, line
    y, m, d = map(int, found.groups())
    first = dt.date(y, m, d)
    assert first > dt.date.today() and first.weekday() < 5


@pytest.mark.parametrize("key", CASES)
def test_one_card_per_scored_or_exempt_member_each_on_its_own_page(
    workbooks: Workbooks, results: Results, key: tuple[str, str]
) -> None:
    ws = workbooks[key]["积分卡"]
    result = results[key]
    expected = [
        m
        for m, e in zip(result.members["member_id"], result.members["exempt"], strict=True)
        if e or m in set(result.item_scores["member_id"])
    ]
    titles = [c.row for row in ws.iter_rows() for c in row if c.value == "党员积分卡"]
    assert len(titles) == len(expected) > 1
    breaks = sorted(b.id for b in ws.row_breaks.brk)
    assert len(breaks) == len(expected) - 1
    assert [b + 1 for b in breaks] == titles[1:]  # each card starts a page
    ids = [ws.cell(r + 2, 2).value for r in titles]  # 党员编号 sits under the title and subtitle
    assert ids == expected
    if result.period.kind == "quarter":  # months so far and quarters so far, nothing of the year
        texts = strings(ws)
        assert "12月" in texts and "第4季度" in texts and "民主测评平均" not in texts


def test_cards_continue_on_further_sheets_each_card_on_its_own_page(
    results: Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Excel allows 1,023 page breaks per sheet: a large unit's cards go on 积分卡, 积分卡 (2), ...
    import scoring.outputs.publicity

    monkeypatch.setattr(scoring.outputs.publicity, "CARDS_PER_SHEET", 10)
    result = results[("B001", "2025")]
    path = tmp_path / "cards.xlsx"
    wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    add_publicity_sheets(wb, result)
    wb.close()
    book = openpyxl.load_workbook(path)
    expected = [
        m
        for m, e in zip(result.members["member_id"], result.members["exempt"], strict=True)
        if e or m in set(result.item_scores["member_id"])
    ]
    names = [n for n in book.sheetnames if n.startswith("积分卡")]
    assert names == ["积分卡", "积分卡 (2)", "积分卡 (3)"][: -(-len(expected) // 10)] and len(expected) > 20
    seen = []
    for name in names:
        ws = book[name]
        titles = [c.row for row in ws.iter_rows() for c in row if c.value == "党员积分卡"]
        assert [b.id + 1 for b in sorted(ws.row_breaks.brk, key=lambda b: b.id)] == titles[1:]
        seen += [ws.cell(r + 2, 2).value for r in titles]
    assert seen == expected


def test_cards_show_appraisal_averages_and_raters_but_no_ballot(workbooks: Workbooks, results: Results) -> None:
    for key in [("B001", "2025"), ("B003", "2025")]:
        wb = workbooks[key]
        texts = [t for name in ("公示", "积分卡", "组织处置") for t in strings(wb[name])]
        book = results[key].book
        assert book is not None
        ballots = set(book.appraisal["ballot_no"].astype(str))
        assert all(re.fullmatch(r"P\d{3}", b) for b in ballots)
        assert not any(re.search(r"P\d{3}", t) for t in texts), "a ballot number is printed"
        assert not any(b in t for b in ballots for t in texts)
    ws = workbooks[("B001", "2025")]["积分卡"]
    result = results[("B001", "2025")]
    rows: dict[str, tuple[Any, ...]] = {}
    for r in ws.iter_rows(values_only=True):
        label = r[0]
        if isinstance(label, str) and label in ("民主测评平均", "测评人数"):
            rows.setdefault(label, r)  # the first card's rows
    assert set(rows) == {"民主测评平均", "测评人数"}
    first = result.appraisal.iloc[0]
    averages = [first[f"{c}_average"] for c in result.items]
    assert list(rows["民主测评平均"][1 : 1 + len(averages)]) == pytest.approx(averages)
    assert all(n == 12 for n in rows["测评人数"][1 : 1 + len(averages)])
    b003 = strings(workbooks[("B003", "2025")]["积分卡"])
    assert any(t.startswith("民主评议平均 (12人)") for t in b003)


def test_card_marks_amended_scores_adjustments_and_star_gap(workbooks: Workbooks, results: Results) -> None:
    result = results[("B001", "2025")]
    texts = strings(workbooks[("B001", "2025")]["积分卡"])
    am = result.amendments.iloc[0]
    assert any(t.endswith("*") for t in texts)
    assert any(
        t.startswith(f"* 更正: {int(am['month'])}月") and f"原 {am['original']:g} → {am['new_score']:g}" in t
        for t in texts
    )
    assert any("本局表彰奖励" in t and "不计入" in t and "低于最高加分" in t for t in texts)  # not applied, with why
    assert any("国家级表彰奖励" in t and "计入 +5 分" in t for t in texts)
    a = result.annual.set_index("member_id").loc["B001M002"]
    assert a["stars"] == 9 and f"距10星还差 {95 - a['total']:.2f} 分。" in texts
    assert "已达最高星级。" in texts
    assert any(t.startswith("第 1 名 (共 ") for t in texts)


def test_follow_up_sheet_lists_result_follow_up(workbooks: Workbooks, results: Results) -> None:
    for key in CASES:
        ws = workbooks[key]["组织处置"]
        result = results[key]
        texts = strings(ws)
        assert texts[0].endswith("组织处置名单") and result.branch_name in texts[0]
        every = list(ws.iter_rows(values_only=True))
        # below the list: the open follow-up cases (SPEC 8, scoring.outputs.cases), numbered too
        cut = next(i for i, r in enumerate(every) if str(r[0]).startswith("跟踪帮教中的案件"))
        rows = [r for r in every[:cut] if isinstance(r[0], (int, float))]
        assert [(r[1], r[2]) for r in rows] == list(
            zip(result.follow_up["member_id"], result.follow_up["name"], strict=True)
        )
        listed = [(r[1], r[2]) for r in every[cut:] if isinstance(r[0], (int, float))]
        open_cases = result.cases[result.cases["status"] == "办理中"]
        assert listed == list(zip(open_cases["member_id"], open_cases["name"], strict=True))
        assert not any("(possible" in t for t in texts)  # the English gloss is not printed
    assert len(results[("B001", "2025")].follow_up) > 0
    # a quarter has no grades: its list holds the possible 自行脱党 cases alone (SPEC 8). The demo's
    # seventh member (index 6, renamed PLUS) pays no dues from May: May..Dec = 8 months; the sixth
    # misses every 主题党日 from March: Mar..Dec = 10 months
    q4 = results[("B001", "2025Q4")].follow_up
    assert list(q4["reason"]) == [
        "2025-03 至 2025-12 连续 10 个月无故不参加组织生活",
        "2025-05 至 2025-12 连续 8 个月未交纳党费",
    ]
    assert q4["name"].iloc[1] == PLUS


@pytest.mark.parametrize("key", CASES)
def test_names_that_look_like_formulas_stay_literal_text(
    workbooks: Workbooks, results: Results, key: tuple[str, str]
) -> None:
    wb = workbooks[key]
    for name in ("公示", "积分卡", "组织处置"):
        ws = wb[name]
        cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
        assert not [c.coordinate for c in cells if c.data_type == "f"], name
        listed = set(results[key].follow_up["name"])
        for text in (HYPERLINK, PLUS):
            if name == "组织处置" and text not in listed:
                continue
            hits = [c for c in cells if c.value == text]
            assert hits and all(c.data_type == "s" for c in hits), (name, text)


# -- the PDF ----------------------------------------------------------------------------------

needs_office = pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"),
    reason="LibreOffice not installed (make test installs it; in CI this test must run)",
)


@needs_office
@pytest.mark.parametrize("key", [("B001", "2025"), ("B001", "2025Q4")])
def test_publicity_pdf_renders_chinese_on_a4(results: Results, tmp_path: Path, key: tuple[str, str]) -> None:
    from PIL import Image

    result = results[key]
    out = tmp_path / "out"
    pdf = write_publicity_pdf(result, out, start=START)
    assert pdf == out / "公示.pdf" and pdf.exists()
    assert [p.name for p in out.iterdir()] == ["公示.pdf"]
    if not tool_checks("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) not installed")
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png"))
    image = Image.open(png).convert("L")
    w, h = image.size
    assert 0.65 < w / h < 0.75  # A4 portrait
    dark = sum(image.histogram()[:200]) / (w * h)
    assert dark > 0.005, f"page looks blank ({dark:.4f} non-white)"
    if tool_checks("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert result.branch_name in text and "公示期" in text
        assert "2026年1月9日" in text and "2026年1月19日" in text
        assert "HYPERLINK" in text  # printed as the literal name
    if tool_checks("pdffonts"):
        fonts = embedded_fonts(pdf)
        assert fonts and all(emb == "yes" for _, emb in fonts), fonts  # prints the same everywhere
        # the CJK font: Noto Sans CJK (regular and bold). The fonts-noto-cjk collection shares one
        # CFF table, named NotoSansCJKjp, among its JP/KR/SC/TC/HK faces, so the PDF names every
        # face "jp"; which face was used shows in the glyphs (test below)
        assert {n for n, _ in fonts if "NotoSansCJK" in n}, fonts


def tool_checks(tool: str) -> bool:
    """Run a check needing ``tool`` when it is installed, and always in CI (where a missing tool
    must fail the test, not skip the check silently)."""
    return shutil.which(tool) is not None or bool(os.environ.get("CI"))


def embedded_fonts(pdf: Path) -> list[tuple[str, str]]:
    """(font name, embedded yes/no) from ``pdffonts``."""
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    return [(line.split()[0], line.split()[-5]) for line in out if line.strip()]


def _glyph(image: Any) -> Any:
    """A glyph's ink, cropped, 64 x 64 and blurred a little, as floats 0 (paper) .. 1 (ink)."""
    import numpy as np
    from PIL import ImageFilter, ImageOps

    inverted = ImageOps.invert(image.convert("L"))
    box = inverted.point(lambda v: 255 if v > 100 else 0).getbbox()
    assert box is not None, "no ink"
    return np.asarray(inverted.crop(box).resize((64, 64)).filter(ImageFilter.GaussianBlur(1.5)), dtype=float) / 255


def _reference(char: str, face: str) -> Any:
    """``char`` drawn with the face of Noto Sans CJK Bold that fontconfig gives for ``face``."""
    from PIL import Image, ImageDraw, ImageFont

    spec = subprocess.run(
        ["fc-match", "-f", "%{file}|%{index}", f"Noto Sans CJK {face}:style=Bold"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    file, index = spec.rsplit("|", 1)
    assert "NotoSansCJK" in file, f"Noto Sans CJK {face} not installed (fonts-noto-cjk): {spec}"
    image = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(image).text((20, 20), char, font=ImageFont.truetype(file, 200, index=int(index)), fill=0)
    return _glyph(image)


@needs_office
def test_publicity_pdf_prints_simplified_chinese_glyph_forms(
    results: Results, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 直, 骨 and 角 are drawn differently in Japanese, Traditional and Simplified Chinese fonts:
    # the printed title must match the Simplified forms, even on a machine whose locale is
    # Japanese (LibreOffice picks a CJK font's regional forms by language, which follows it)
    import numpy as np
    from PIL import Image

    for tool in ("pdftoppm", "pdftotext", "fc-match"):
        if not tool_checks(tool):
            pytest.skip(f"{tool} not installed")
    monkeypatch.setenv("LC_ALL", "ja_JP.UTF-8")
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    result = dataclasses.replace(results[("B001", "2025")], branch_name="直骨角党支部")
    pdf = write_publicity_pdf(result, tmp_path / "out", start=START)
    boxes = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', boxes)
    # the title (bold, the largest) starts with the branch name
    x0, y0, x1, y1 = max(
        ((float(a), float(b), float(c), float(d)) for a, b, c, d, w in words if w == "直骨角党支部"),
        key=lambda b: b[3] - b[1],
    )
    dpi = 600
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True
    )
    page = Image.open(next(tmp_path.glob("page*.png")))
    k, width = dpi / 72, (x1 - x0) / len("直骨角党支部")  # full-width glyphs: equal advances
    totals = dict.fromkeys(("SC", "JP", "TC"), 0.0)
    for i, char in enumerate("直骨角"):
        printed = _glyph(
            page.crop((int((x0 + i * width) * k), int(y0 * k), int((x0 + (i + 1) * width) * k), int(y1 * k)))
        )
        distance = {face: float(np.abs(printed - _reference(char, face)).mean()) for face in totals}
        # a face may share a form (直 is the same in SC and TC): SC is the nearest, never beaten
        assert distance["SC"] < 0.05 and distance["SC"] <= min(distance.values()), (char, distance)
        totals = {face: totals[face] + distance[face] for face in totals}
    assert totals["SC"] < 0.6 * totals["JP"] and totals["SC"] < 0.6 * totals["TC"], totals
