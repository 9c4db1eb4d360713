"""Errors raised by the package.

Each error also subclasses the matching builtin, so callers that only know the standard library
(``except ValueError``) still catch them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

FAILURE_COLUMNS: list[str] = ["file", "sheet", "row", "column", "cell", "value", "problem", "allowed"]


class ScoringError(Exception):
    """Base class of every error this package raises on purpose."""


class SchemeProblem(NamedTuple):
    """One problem of a scheme file: where (the dotted key path, e.g. ``appraisal.weight``, or the
    YAML line and column of a syntax error), the value found there, what is wrong, what is allowed."""

    key: str
    value: str
    problem: str
    allowed: str


class SchemeError(ScoringError, ValueError):
    """A scheme cannot be used: names the file and, in ``problems``, each key with its value, what is
    wrong and what is allowed (one problem per key; empty for a scheme that could not be found or read)."""

    def __init__(self, headline: str, problems: Sequence[SchemeProblem] = (), file: str = "") -> None:
        self.headline: str = headline
        self.problems: list[SchemeProblem] = list(problems)
        self.file: str = file
        super().__init__(self._message())

    def __reduce__(self) -> tuple[type[SchemeError], tuple[str, list[SchemeProblem], str]]:
        return (type(self), (self.headline, self.problems, self.file))

    def _message(self) -> str:
        lines = [self.headline]
        for p in self.problems:
            if not p.key:  # a problem with the reference itself: the headline says it
                continue
            value = f" (值 value: {p.value})" if p.value else ""
            lines.append(f"  - {p.key}: {p.problem}{value}; allowed: {p.allowed}")
        return "\n".join(lines)


class PeriodError(ScoringError, ValueError):
    """A period string is not one of ``2025``, ``2025H1``, ``2025Q3``, ``2025-07``."""


class ArgumentError(ScoringError, ValueError):
    """A command's argument names what the input does not have (e.g. a member or branch to trace)."""


# More problems than this: the message lists this many, grouped by sheet and problem with counts,
# and the command line writes the whole table to a CSV file (``failures`` always holds every one).
LISTED_PROBLEMS = 50

# what varies between problems of one kind: ids, rows, months, numbers (``M05``, ``2025-03``, ``row 7``)
_VARYING = re.compile(r"[A-Za-z0-9_.\-]*\d[A-Za-z0-9_.\-]*")
_REPEATED = re.compile(r"…(?:[\s,/、]+…)+")


def problem_kind(problem: str) -> str:
    """A problem's text with what varies from one cell to the next replaced by ``…``: the key
    that groups a long list of problems into kinds."""
    return _REPEATED.sub("…", _VARYING.sub("…", problem))


class InputError(ScoringError, ValueError):
    """The input workbook has problems; ``failures`` lists every one of them.

    ``failures`` is a table with the columns of :data:`FAILURE_COLUMNS`: ``sheet`` and ``column``
    are keys (``monthly_scores``, ``I03``), ``row`` is the row number a user sees in Excel (1-based,
    header included; the header row for a missing column, blank when a whole sheet is missing) and
    ``cell`` is the reference as the workbook shows it (``月度评分 (monthly_scores)!E14``).

    The message lists every problem when there are at most :data:`LISTED_PROBLEMS`; beyond that it
    counts them by sheet and kind of problem and lists the first ones of each kind.
    """

    def __init__(self, failures: pd.DataFrame) -> None:
        self.failures: pd.DataFrame = failures.reindex(columns=FAILURE_COLUMNS).reset_index(drop=True)
        super().__init__(self._message())

    def __reduce__(self) -> tuple[type[InputError], tuple[pd.DataFrame]]:
        # pickled with its table, not its message: crosses process pools and dask workers whole
        return (type(self), (self.failures,))

    def headline(self) -> str:
        n = len(self.failures)
        files = ", ".join(sorted({str(f) for f in self.failures["file"].dropna()})) or "?"
        return (
            f"输入工作簿有 {n} 处问题 (input has {n} problem(s)) in {files}. "
            "请逐项改正后重新运行 (fix each, then run again); 本次未写出任何结果 (nothing was written)."
        )

    def _message(self) -> str:
        if len(self.failures) <= LISTED_PROBLEMS:
            return self.headline() + "\n" + self.listing()
        return self.headline() + "\n" + self.summary()

    def listing(self, width: int = 160) -> str:
        """One numbered block per problem: where, what is wrong, what is allowed."""
        return self._blocks(range(len(self.failures)), width)

    def _blocks(self, positions: range | list[int], width: int = 160) -> str:
        """The numbered blocks of the problems at ``positions`` (numbered as rows of ``failures``)."""
        positions = list(positions)
        shown = self.failures.iloc[positions].fillna("").astype(str)
        lines = []
        # every field is text after astype(str) (pandas-stubs type them as any scalar): !s says so
        for i, f in zip(positions, shown.itertuples(index=False), strict=True):
            where = ", ".join(
                x
                for x in (
                    f"工作表 sheet {f.sheet!s}",
                    f"行 row {f.row!s}" if f.row else "",
                    f"列 column {f.column!s}" if f.column else "",
                )
                if x
            )
            value = f", 值 value {f.value!r}" if f.value else ""
            text = str(f.allowed)
            allowed = text if len(text) <= width else text[: width - 1] + "…"
            lines.append(
                f"{i + 1}. {f.cell or f.file!s} ({where}{value})\n"
                f"   问题 problem: {f.problem!s}\n   允许 allowed: {allowed}"
            )
        return "\n".join(lines)

    def _kinds(self) -> tuple[np.ndarray, pd.DataFrame]:
        """The group number of every problem (by sheet and kind of problem, numbered in the order
        the groups first occur) and the groups: ``sheet``, ``problem`` (the first of its kind),
        ``columns``, ``count``."""
        problems = self.failures["problem"].fillna("").astype(str)
        codes, uniques = pd.factorize(problems)  # a kind per distinct text, not per problem
        kinds = np.array([problem_kind(str(u)) for u in uniques] + [""], dtype=object)[codes]
        table = pd.DataFrame(
            {
                "sheet": self.failures["sheet"].fillna("").astype(str).to_numpy(),
                "kind": kinds,
                "column": self.failures["column"].fillna("").astype(str).to_numpy(),
                "problem": problems.to_numpy(),
            }
        )
        grouped = table.groupby(["sheet", "kind"], sort=False)
        numbers = grouped.ngroup().to_numpy()
        groups = grouped.agg(
            problem=("problem", "first"),
            count=("problem", "size"),
            columns=("column", lambda c: ", ".join(dict.fromkeys(x for x in c if x))),
        ).reset_index()
        return numbers, groups.drop(columns="kind")

    def groups(self) -> pd.DataFrame:
        """Problems counted by sheet and kind of problem, in the order they first occur."""
        return self._kinds()[1]

    def summary(self, limit: int = LISTED_PROBLEMS) -> str:
        """Every kind of problem with its count, and at most ``limit`` problems listed under their kinds."""
        numbers, groups = self._kinds()
        firsts = pd.Series(np.arange(len(numbers))).groupby(numbers).head(limit)
        members = [list(part) for _, part in firsts.groupby(numbers[firsts.to_numpy()], sort=True)]
        # share the listed problems between the kinds: every kind gets its first ones
        quota = max(1, limit // max(1, len(groups)))
        take = [min(len(m), quota) for m in members]
        budget = limit - sum(take)
        for k, m in enumerate(members):
            extra = min(len(m) - take[k], max(0, budget))
            take[k] += extra
            budget -= extra
        listed = min(limit, len(numbers))
        lines = [
            f"按工作表和问题归类, 共 {len(groups)} 类 (grouped by sheet and problem: {len(groups)} kind(s)); "
            f"下面列出其中 {listed} 处 (the first {listed} are listed):"
        ]
        shown = 0
        for k, g in enumerate(groups.itertuples(index=False)):
            if shown >= limit:
                more = len(groups) - k
                lines.append(f"... 另有 {more} 类问题 ({more} more kind(s)): 见完整问题表 (see the full table)")
                break
            cols = f", 列 columns {g.columns!s}" if g.columns else ""
            lines.append(f"[{g.sheet!s}] {g.problem!s} — 共 {g.count} 处 (count {g.count}){cols}")
            n = min(take[k], limit - shown)
            lines.append(self._blocks(members[k][:n]))
            shown += n
            count = int(g.count)  # type: ignore[call-overload]
            if count > n:
                lines.append(f"   ... 此类另有 {count - n} 处 ({count - n} more of this kind)")
        return "\n".join(lines)

    def table(self, width: int = 100) -> str:
        """The failures as a plain-text table, one line per problem; long texts are shortened."""
        shown = self.failures.fillna("").astype(str)
        shown = shown.map(lambda t: t if len(t) <= width else t[: width - 1] + "…")
        return shown.to_string(index=False)


class RunError(ScoringError, RuntimeError):
    """A run could not be completed (the notebook failed, the output folder is unusable)."""
