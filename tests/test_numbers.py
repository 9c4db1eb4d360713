"""Rounding (SPEC 5) and periods."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scoring.exceptions import PeriodError
from scoring.rules.periods import parse_period
from scoring.rules.rounding import round_score, round_scores


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (94.995, 95.0),
        (94.99499999999999, 95.0),
        (94.994, 94.99),
        (0.125, 0.13),
        (-0.125, -0.13),
        (2.675, 2.68),
        (1.005, 1.01),
        (79.6, 79.6),
        (0.0, 0.0),
    ],
)
def test_round_like_a_spreadsheet(value: float, expected: float) -> None:
    assert round_score(value) == expected
    assert round_scores([value])[0] == expected


def test_python_round_would_differ() -> None:
    # the reason the package has its own rounding: binary floats just below the half
    assert round(2.675, 2) == 2.67 and round_score(2.675) == 2.68
    assert round(94.99499999999999, 2) == 94.99


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
def test_vectorised_rounding_matches_exact_decimal(x: float) -> None:
    exact = float(Decimal(f"{x:.15g}").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    assert round_scores(np.array([x]))[0] == exact


@given(st.integers(min_value=-(10**7), max_value=10**7))
def test_exact_halves_round_away_from_zero(k: int) -> None:
    x = (k + 0.5) / 100  # a value that is a half at the third decimal, as written
    expected = float(Decimal(f"{x:.15g}").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    assert round_scores([x])[0] == expected
    assert abs(round_scores([x])[0]) >= abs(x) - 1e-9


def test_nan_stays_nan() -> None:
    assert np.isnan(round_scores([float("nan")])[0])


@pytest.mark.parametrize(
    ("text", "kind", "months"),
    [
        ("2025", "year", list(range(1, 13))),
        ("2025H1", "half", list(range(1, 7))),
        ("2025H2", "half", list(range(7, 13))),
        ("2025Q3", "quarter", [7, 8, 9]),
        ("2025-07", "month", [7]),
    ],
)
def test_periods(text: str, kind: str, months: list[int]) -> None:
    p = parse_period(text)
    assert (p.kind, p.months, p.year) == (kind, months, 2025)


def test_period_quarters_and_labels() -> None:
    assert parse_period("2025H2").quarters == [3, 4]
    assert parse_period("2025").label == "2025年度"
    assert parse_period("2025Q3").label == "2025年第3季度"


@pytest.mark.parametrize("bad", ["2025Q5", "2025-13", "25", "2025H3", "2025 Q1", ""])
def test_bad_periods_name_the_allowed_forms(bad: str) -> None:
    with pytest.raises(PeriodError, match="2025Q1") as info:
        parse_period(bad)
    assert isinstance(info.value, ValueError)
