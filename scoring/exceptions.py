"""Errors raised by the package.

Each error also subclasses the matching builtin, so callers that only know the standard library
(``except ValueError``) still catch them.
"""

from __future__ import annotations

import pandas as pd

FAILURE_COLUMNS: list[str] = ["file", "sheet", "row", "column", "cell", "value", "problem", "allowed"]


class ScoringError(Exception):
    """Base class of every error this package raises on purpose."""


class SchemeError(ScoringError, ValueError):
    """A scheme file is malformed: names the file, the key and what is allowed."""


class PeriodError(ScoringError, ValueError):
    """A period string is not one of ``2025``, ``2025H1``, ``2025Q3``, ``2025-07``."""


class InputError(ScoringError, ValueError):
    """The input workbook has problems; ``failures`` lists every one of them.

    ``failures`` is a table with the columns of :data:`FAILURE_COLUMNS`: ``sheet`` and ``column``
    are keys (``monthly_scores``, ``I03``), ``row`` is the row number a user sees in Excel (1-based,
    header included; the header row for a missing column, blank when a whole sheet is missing) and
    ``cell`` is the reference as the workbook shows it (``月度评分 (monthly_scores)!E14``).
    """

    def __init__(self, failures: pd.DataFrame) -> None:
        self.failures: pd.DataFrame = failures.reindex(columns=FAILURE_COLUMNS).reset_index(drop=True)
        super().__init__(self._message())

    def __reduce__(self) -> tuple[type[InputError], tuple[pd.DataFrame]]:
        # pickled with its table, not its message: crosses process pools and dask workers whole
        return (type(self), (self.failures,))

    def _message(self) -> str:
        n = len(self.failures)
        files = ", ".join(sorted({str(f) for f in self.failures["file"].dropna()})) or "?"
        return (
            f"输入工作簿有 {n} 处问题 (input has {n} problem(s)) in {files}. "
            "请逐项改正后重新运行 (fix each, then run again); 本次未写出任何结果 (nothing was written).\n"
            + self.listing()
        )

    def listing(self, width: int = 160) -> str:
        """One numbered block per problem: where, what is wrong, what is allowed."""
        lines = []
        # every field is text after astype(str) (pandas-stubs type them as any scalar): !s says so
        for i, f in enumerate(self.failures.fillna("").astype(str).itertuples(index=False), start=1):
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
                f"{i}. {f.cell or f.file!s} ({where}{value})\n"
                f"   问题 problem: {f.problem!s}\n   允许 allowed: {allowed}"
            )
        return "\n".join(lines)

    def table(self, width: int = 100) -> str:
        """The failures as a plain-text table, one line per problem; long texts are shortened."""
        shown = self.failures.fillna("").astype(str)
        shown = shown.map(lambda t: t if len(t) <= width else t[: width - 1] + "…")
        return shown.to_string(index=False)


class RunError(ScoringError, RuntimeError):
    """A run could not be completed (the notebook failed, the output folder is unusable)."""
