"""Periods: a month ``2025-07``, a quarter ``2025Q3``, a half-year ``2025H1`` or a year ``2025``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..exceptions import PeriodError

PeriodKind = Literal["month", "quarter", "half", "year"]

_PATTERNS: list[tuple[PeriodKind, re.Pattern[str]]] = [
    ("year", re.compile(r"^(\d{4})$")),
    ("half", re.compile(r"^(\d{4})H([12])$")),
    ("quarter", re.compile(r"^(\d{4})Q([1-4])$")),
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
]

KIND_LABELS: dict[str, str] = {"month": "月度", "quarter": "季度", "half": "半年", "year": "年度"}


@dataclass(frozen=True)
class Period:
    """A scoring period inside one year; ``months`` are the calendar months it covers."""

    text: str
    kind: PeriodKind
    year: int
    first_month: int
    last_month: int

    @property
    def months(self) -> list[int]:
        return list(range(self.first_month, self.last_month + 1))

    @property
    def quarters(self) -> list[int]:
        """Quarters that end inside this period (a month period has none)."""
        return [q for q in range(1, 5) if self.first_month <= 3 * q - 2 and 3 * q <= self.last_month]

    @property
    def label(self) -> str:
        """Chinese label, e.g. ``2025年第3季度``."""
        if self.kind == "year":
            return f"{self.year}年度"
        if self.kind == "half":
            return f"{self.year}年{'上' if self.first_month == 1 else '下'}半年"
        if self.kind == "quarter":
            return f"{self.year}年第{(self.last_month) // 3}季度"
        return f"{self.year}年{self.last_month}月"


def parse_period(text: str) -> Period:
    """Parse a period string; raise :class:`PeriodError` naming the allowed forms."""
    value = str(text).strip()
    for kind, pattern in _PATTERNS:
        m = pattern.match(value)
        if not m:
            continue
        year = int(m.group(1))
        if kind == "year":
            return Period(value, kind, year, 1, 12)
        n = int(m.group(2))
        if kind == "half":
            return Period(value, kind, year, 6 * n - 5, 6 * n)
        if kind == "quarter":
            return Period(value, kind, year, 3 * n - 2, 3 * n)
        if 1 <= n <= 12:
            return Period(value, kind, year, n, n)
    raise PeriodError(
        f"期间 {value!r} 无法识别 (unknown period); 允许 (allowed): 2025 (年度), 2025H1/2025H2 (半年), "
        "2025Q1..2025Q4 (季度), 2025-01..2025-12 (月度)"
    )


def quarter_of(month: int) -> int:
    return (month - 1) // 3 + 1


def active_counts(first: npt.NDArray[np.integer], last: npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
    """Members in the branch in each month 1..12 (index 0 unused), from their first/last month."""
    diff = np.bincount(np.asarray(first, dtype=np.int64), minlength=14) - np.bincount(
        np.asarray(last, dtype=np.int64) + 1, minlength=14
    )
    return np.cumsum(diff)[:13]
