"""Each member's points card as a PDF of its own (SPEC 8): ``积分卡/<member_id>.pdf`` in the run
folder, the card of the workbook's 积分卡 sheet, to hand to the member. Every page's header names
the branch, the period and the member (SPEC 9). All cards are printed at once (``printing``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import xlsxwriter

from ..rules.engine import Result
from .printing import Printout, Writer, file_stem, number_own_pages, print_apart
from .publicity import _card, _card_members, _CardData, _Formats, _missing, _page_setup, card_widths

CARDS_DIR = "积分卡"


def card_writer(result: Result, out_dir: Path) -> Writer:
    """Adds one sheet per member who gets a card (the scored and the exempt), each to become
    ``out_dir / 积分卡 / <member_id>.pdf``."""

    def write(wb: xlsxwriter.Workbook) -> list[Printout]:
        fmt = _Formats(wb)
        widths = card_widths(result)
        records = cast(list[dict[str, Any]], result.members.to_dict("records"))  # column labels are str
        members = {str(m["member_id"]): m for m in records}
        d = _CardData(result)
        out = []
        for k, mid in enumerate(_card_members(result), start=1):
            member = members[mid]
            who = f"{mid} {'' if _missing(member['name']) else member['name']}".strip()
            sheet = f"卡{k}"
            ws = wb.add_worksheet(sheet)
            _page_setup(ws, f"{result.branch_name}  {result.period.label}  党员积分卡  {who}", widths)
            number_own_pages(ws)
            _card(ws, fmt, result, d, member, 0, len(widths))
            out.append(Printout(sheet, Path(out_dir) / CARDS_DIR / f"{file_stem(mid)}.pdf", f"党员积分卡 {who}"))
        return out

    return write


def write_member_cards(result: Result, out_dir: Path) -> list[Path]:
    """Print every member's card to ``out_dir / 积分卡 / <member_id>.pdf``; returns the files."""
    return print_apart([card_writer(result, out_dir)])
