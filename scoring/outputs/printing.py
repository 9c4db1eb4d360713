"""Many small printouts (a card per member, a notice per case) from one LibreOffice conversion.

Each printout is one sheet of a temporary workbook; LibreOffice prints the workbook to one PDF and
puts a bookmark named after each sheet on the sheet's first page; the PDF is cut at those
bookmarks into one file per printout (a printout may run to several pages).

Why one conversion: starting LibreOffice costs about a second, a sheet a tenth of that. Measured
on a 30-member branch (county-10-stars, the year, 30 one-page cards; 2 cores shared with other
work), at load 1 and at load 5-6:
- one workbook of 30 sheets, printed once and cut (this module): 3.6 s + 0.2 s; 7.1-7.8 s;
- 30 one-sheet workbooks through the kept LibreOffice (``office.shared_server``, its start
  included): 4.6 s; 11.6 s;
- 30 workbooks in one ``soffice --convert-to`` call: 5.8 s; 9.3-10.9 s;
- a LibreOffice started per member: 4-5 s a member at load 7 (10 members: 42-51 s).
"""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from ..inputs.reading import MEMBER_ID_PATTERN
from . import office
from .excel2010 import Workbook as Excel2010Workbook
from .publicity import FONT, WORKBOOK_OPTIONS

if TYPE_CHECKING:  # pypdf is imported where a PDF is cut: the results workbook does not need it
    from pypdf import PdfReader


@dataclass(frozen=True)
class Printout:
    """A sheet a writer added, and the PDF it becomes."""

    sheet: str  # the sheet's name: unique in the workbook (LibreOffice names the bookmark after it)
    target: Path
    title: str  # the PDF's document title


# adds its sheets to the workbook and says which file each becomes
Writer = Callable[[xlsxwriter.Workbook], list[Printout]]


def file_stem(member_id: str) -> str:
    """A member id as a file name: only ids the input check allows (letters, digits, ``_``, ``-``,
    at least one letter), so that no text of a workbook ever names a path."""
    if not re.fullmatch(MEMBER_ID_PATTERN, member_id) or len(member_id) > 100:
        raise ValueError(f"党员编号不能用作文件名 (member id is not a safe file name): {member_id!r}")
    return member_id


def number_own_pages(ws: Worksheet) -> None:
    """Pages of the sheet numbered from 1, without a total: in a PDF of many sheets LibreOffice's
    page total counts the whole workbook, not the sheet."""
    ws.set_start_page(1)
    ws.set_footer(f'&C&"{FONT},Regular"&9第 &P 页', {"margin": 0.3})


def print_apart(writers: Sequence[Writer]) -> list[Path]:
    """Write every writer's sheets into one workbook, print it once, and save each sheet's pages as
    its own PDF; returns the files written (none, without converting, when no sheet was added)."""
    from pypdf import PdfReader, PdfWriter

    with tempfile.TemporaryDirectory(prefix="scoring-print-") as tmp:
        source = Path(tmp) / "printouts.xlsx"  # an ASCII name: soffice under a C locale
        wb = Excel2010Workbook(str(source), WORKBOOK_OPTIONS)
        printouts = [p for write in writers for p in write(wb)]
        wb.close()
        if not printouts:
            return []
        names = [p.sheet for p in printouts]
        if len(set(names)) != len(names):
            raise ValueError(f"sheet names repeat: {names}")
        pdf = office.convert(source, Path(tmp) / "out", "pdf")
        reader = PdfReader(pdf)
        starts = _sheet_starts(reader, names)
        ends = [*starts[1:], len(reader.pages)]
        for p, first, end in zip(printouts, starts, ends, strict=True):
            writer = PdfWriter()
            for k in range(first, end):
                writer.add_page(reader.pages[k])
            writer.add_metadata({"/Title": p.title, "/Producer": "scoring (LibreOffice, pypdf)"})
            p.target.parent.mkdir(parents=True, exist_ok=True)
            partial = p.target.with_name(p.target.name + ".part")
            with partial.open("wb") as f:
                writer.write(f)
            shutil.move(partial, p.target)
    return [p.target for p in printouts]


def _sheet_starts(reader: PdfReader, names: list[str]) -> list[int]:
    """The first page of each sheet, from the bookmarks LibreOffice puts on them."""
    if len(names) == 1:
        return [0]
    marks: list[tuple[str, int]] = []
    for item in reader.outline:
        if isinstance(item, list):  # nested bookmarks: LibreOffice makes none for a workbook
            continue
        page = reader.get_destination_page_number(item)
        marks.append((str(item.title), -1 if page is None else page))
    starts = [page for _, page in marks]
    if (
        [title for title, _ in marks] != names
        or starts[0] != 0
        or any(b <= a for a, b in itertools.pairwise(starts))
        or starts[-1] >= len(reader.pages)
    ):
        raise office.OfficeError(
            f"LibreOffice 打印的 PDF 无法按工作表拆分 (cannot cut the PDF per sheet): bookmarks {marks}, "
            f"sheets {names}, {len(reader.pages)} pages"
        )
    return starts
