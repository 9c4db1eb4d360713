"""A rule set that no built-in scheme is, made by editing a file (SPEC 3.8): caps per group."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from conftest import YEAR, BookMaker, adjustment, member_rows

from scoring.rules.scheme import builtin_schemes, load_scheme

SCHEME = Path(__file__).parent / "schemes" / "group-caps.yaml"


def test_custom_scheme_is_not_built_in_and_loads() -> None:
    loaded = load_scheme(SCHEME)
    assert loaded.name == "group-caps" and loaded.name not in builtin_schemes()
    assert loaded.scheme.adjustments.combine == "capped_per_group"


def test_bonuses_and_deductions_capped_per_group(maker: BookMaker) -> None:
    # monthly base 80 (20 per item). EDU bonuses 3 + 3 capped at 5 (second partly applied);
    # WORK deductions 3 + 3 capped at 5; EDU deduction 2 counts on its own cap.
    # total = 80 + 5 - 5 - 2 = 78 -> 合格 (70..89)
    ids = ["F01", "F02"]
    members = member_rows(ids)
    monthly = pd.DataFrame(
        [
            {
                "member_id": m,
                "month": f"{YEAR}-{mo:02d}",
                "EDU": 20.0,
                "DUTY": 20.0,
                "WORK": 20.0,
                "VOW": 20.0,
                "note": None,
            }
            for m in ids
            for mo in range(1, 13)
        ]
    )
    adjustments = pd.DataFrame(
        [
            adjustment("F01", "edu.paper", dt.date(YEAR, 2, 1)),
            adjustment("F01", "edu.paper", dt.date(YEAR, 3, 1)),
            adjustment("F01", "work.error", dt.date(YEAR, 4, 1)),
            adjustment("F01", "work.error", dt.date(YEAR, 5, 1)),
            adjustment("F01", "edu.absent", dt.date(YEAR, 6, 1)),
        ]
    )
    sheets = {"members": members, "monthly_scores": monthly, "adjustments": adjustments}
    # the branch sheet names the scheme file, copied beside the workbook (SPEC 10)
    r = maker.score(str(SCHEME), sheets)
    a = r.annual.set_index("member_id")
    assert a.loc["F01", "total"] == 78.0 and a.loc["F01", "grade"] == "合格"
    assert a.loc["F02", "total"] == 80.0
    applied = r.adjustments.sort_values("row")["applied_points"].tolist()
    assert applied == [3.0, 2.0, -3.0, -2.0, -2.0]
    reasons = r.adjustments.sort_values("row")["reason"].tolist()
    assert "partly applied" in reasons[1] and "partly applied" in reasons[3]
    # quarter_score: mean for this scheme -> 80 per quarter
    q = r.quarters.set_index(["member_id", "quarter"])
    assert q.loc[("F02", 1), "score"] == 80.0
