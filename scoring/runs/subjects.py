"""What a run scores: the members of a branch (a branch workbook) or the branches of a unit (a
unit workbook, SPEC 3.9).

Each kind has its own loader, notebook, folder id and traced subject; everything else a run does
(archive, papermill, the seal, reuse, approve, verify, diff) is one code path for both, which asks
this module which kind a workbook or a sealed run is.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..exceptions import ArgumentError, PeriodError, SchemeError
from ..inputs.reading import (
    BRANCH_KEYS,
    OPTIONAL_BRANCH_KEYS,
    SHEETS,
    InputBook,
    check_outcomes_against,
    load_inputs,
    read_head,
)
from ..inputs.unit import UNIT_KEYS, UNIT_SHEETS, UnitBook, is_unit_workbook, load_unit
from ..rules.engine import Result, score
from ..rules.engine.pipeline import score_unit
from ..rules.engine.prior import Prior
from ..rules.periods import Period
from ..rules.scheme import SPAN_MONTHS, LoadedScheme, load_workbook_scheme
from . import codeversion

SubjectKind = Literal["member", "branch"]


@dataclass(frozen=True)
class Subject:
    """One kind of run: whom it scores and the names its files and tables use for them."""

    kind: SubjectKind
    key: str  # summary.csv's id column; also the notebook parameter naming whom to trace
    id_field: str  # the manifest's and provenance's key of the id its run folders are named by
    name_field: str
    word: str  # what an officer calls one subject: 党员 / 党支部
    english: str  # ... and in the English beside it: members / branches
    option: str  # the command line's option naming the one to trace

    @property
    def notebook(self) -> Path:
        """The notebook a run executes (looked up at call time, so a test can point it elsewhere)."""
        return codeversion.UNIT_NOTEBOOK if self.kind == "branch" else codeversion.NOTEBOOK


MEMBERS = Subject("member", "member_id", "branch_id", "branch_name", "党员", "members", "--member")
BRANCHES = Subject("branch", "branch_id", "unit_id", "unit_name", "党支部", "branches", "--branch")
SUBJECTS: dict[str, Subject] = {s.kind: s for s in (MEMBERS, BRANCHES)}


@dataclass
class Loaded:
    """A validated workbook and its scheme: a branch's :class:`InputBook` or a unit's :class:`UnitBook`."""

    book: InputBook | UnitBook
    scheme: LoadedScheme

    @property
    def subject(self) -> Subject:
        return BRANCHES if isinstance(self.book, UnitBook) else MEMBERS

    @property
    def folder_id(self) -> str:
        """The id the run folders are named by: the branch's for a branch workbook, the unit's for a unit's."""
        return self.book.unit_id if isinstance(self.book, UnitBook) else self.book.branch_id

    @property
    def name(self) -> str:
        return self.book.unit_name if isinstance(self.book, UnitBook) else self.book.branch_name

    @property
    def ids(self) -> list[str]:
        """The ids of the scored subjects: the members, or the branches."""
        table = self.book.branches if isinstance(self.book, UnitBook) else self.book.members
        return [str(v) for v in table[self.subject.key]]

    def identity(self) -> dict[str, Any]:
        """The id and name fields of a manifest or provenance: ``branch_id``/``branch_name``, or
        ``unit_id``/``unit_name`` with ``subject``."""
        s = self.subject
        return {"subject": s.kind, s.id_field: self.folder_id, s.name_field: self.name}

    def score(self, period: Period, prior: Prior | None = None, publicity_start: dt.date | None = None) -> Result:
        """Score the period; a branch's run with what its earlier runs hand in and its 公示 start (SPEC 8)."""
        if isinstance(self.book, UnitBook):
            return score_unit(self.book, self.scheme, period)
        return score(self.book, self.scheme, period, prior, publicity_start)

    def check_traced(self, subject_id: str) -> None:
        """Refuse, before anything runs, a subject to trace that the workbook does not have."""
        if subject_id and subject_id not in self.ids:
            s = self.subject
            shown = ", ".join(self.ids[:20]) + (" …" if len(self.ids) > 20 else "")
            raise ArgumentError(
                f"要追溯的{s.word} {subject_id} 不在输入工作簿中 (no such {s.key} to trace); 可选 (allowed): {shown}"
            )


@dataclass(frozen=True)
class Identified:
    """What a run must know of a workbook before its notebook reads it: whom it scores, the id and
    name its folders are named by, the SHA-256 of its bytes and its scheme."""

    subject: Subject
    folder_id: str
    name: str
    sha256: str
    scheme: LoadedScheme
    # the branch sheet's 公示开始日期 (YYYY-MM-DD; "" when not given, and for a unit: SPEC 8)
    publicity_start: str = ""

    @classmethod
    def of(cls, loaded: Loaded) -> Identified:
        book = loaded.book
        start = book.publicity_start if isinstance(book, InputBook) else None
        return cls(
            loaded.subject,
            loaded.folder_id,
            loaded.name,
            book.sha256,
            loaded.scheme,
            start.isoformat() if start is not None else "",
        )

    def identity(self) -> dict[str, Any]:
        """As :meth:`Loaded.identity`."""
        s = self.subject
        return {"subject": s.kind, s.id_field: self.folder_id, s.name_field: self.name}


ID = re.compile(r"[A-Za-z0-9_\-]+")


def identify(path: Path, period: Period) -> Identified | None:
    """The workbook's kind, id, name, hash and scheme from its branch (or unit) sheet alone, when
    they are clean and the scheme forms ``period``; None otherwise, and the caller reads the whole
    workbook, which says what is wrong. A batch's worker starts a run from this: the notebook's own
    reading is then the check of the rest (on bad input the worker reads again for the report)."""
    unit = is_unit_workbook(path)
    subject = BRANCHES if unit else MEMBERS
    spec, keys = (UNIT_SHEETS["unit"], UNIT_KEYS) if unit else (SHEETS["branch"], BRANCH_KEYS)
    head = read_head(path, spec, keys, None if unit else OPTIONAL_BRANCH_KEYS)
    if head is None:
        return None
    fields, sha256 = head
    folder_id, name = fields[subject.id_field], fields[subject.name_field]
    if not ID.fullmatch(folder_id) or fields["year"] != str(period.year) or (unit and period.kind == "half"):
        return None
    try:
        scheme = load_workbook_scheme(fields["scheme"], path.parent)
    except SchemeError:
        return None
    s = scheme.scheme
    if s.subject != subject.kind or SPAN_MONTHS[period.kind] < s.shortest_months:
        return None
    return Identified(subject, folder_id, name, sha256, scheme, fields.get("publicity_start", ""))


def load(path: str | Path, period: Period, scheme: LoadedScheme | None = None, prior: Prior | None = None) -> Loaded:
    """Read and validate a branch or a unit workbook, whichever ``path`` is; raise one InputError
    with every problem found. ``prior``: what the earlier sealed runs of the branch hand in
    (SPEC 8); a branch workbook's follow_up_outcomes are then checked against its register."""
    if is_unit_workbook(path):
        if period.kind == "half":  # SPEC 3.9: 月评季考年定级; a half-year is no period of the assessment
            raise PeriodError(
                f"单位工作簿按月评、季考、年定级, 不评半年 (a unit's branches are scored for a month, a quarter"
                f" or the year, not {period.text}); 允许 (allowed): {period.year}-01..{period.year}-12,"
                f" {period.year}Q1..{period.year}Q4, {period.year}"
            )
        return Loaded(*load_unit(path, period, scheme))
    book, chosen = load_inputs(path, period, scheme)
    if prior is not None:
        source = next((r["run"] for r in prior.refs if r.get("role") == "cases"), "")
        check_outcomes_against(book, prior.cases, source)
    return Loaded(book, chosen)


def subject_of(manifest: dict[str, Any]) -> Subject:
    """The kind of a sealed run (runs made before units were scored record no ``subject``)."""
    return SUBJECTS.get(str(manifest.get("subject", "member")), MEMBERS)


def run_identity(manifest: dict[str, Any]) -> tuple[str, str]:
    """(id, name) of what a sealed run's folders are named by: the branch, or the unit."""
    s = subject_of(manifest)
    return str(manifest.get(s.id_field, "")), str(manifest.get(s.name_field, ""))
