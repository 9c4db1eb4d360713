"""What earlier sealed runs of the same branch hand to a run (SPEC 8): the follow-up register and
the previous year's inputs. Read from the runs folder by ``scoring.runs.record``; the engine only
receives it, so scoring stays a pure function of its inputs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ...inputs.reading import InputBook

# the follow-up register (跟踪帮教台账), one row per case, as each run leaves it in cases.csv
CASE_COLUMNS: list[str] = [
    "member_id",
    "name",
    "case_year",  # the year whose grade opened the case
    "kind",  # 告诫 (基本合格, six months) / 限期整改 (不合格, one year)
    "grade",
    "total",
    "opened_on",  # the last day of that year's publicity (YYYY-MM-DD)
    "deadline",
    "status",  # 办理中 / 已结案 / 组织处理 / 劝退 / 除名
    "decided_on",
    "outcome",  # 明显转变 / 无明显转变, from follow_up_outcomes
    "action",  # 结案 / 继续帮教 / 组织处理 / 劝退 / 除名
    "helper",
    "note",
    "overdue",  # 是 / 否 at the run's period end
    "opened_by",  # the run folder that opened it, relative to the runs folder; 本次运行 for this run
]

# possible 自行脱党 cases, one row per member and kind with the months that make the run
LAPSE_COLUMNS: list[str] = [
    "member_id",
    "name",
    "kind",  # 组织生活 / 党费
    "first_month",  # YYYY-MM, may lie in the previous year
    "last_month",
    "months",  # how many consecutive months
    "detail",  # the months, and what was missed in each
]


def empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass(frozen=True)
class Prior:
    """Earlier sealed runs' contribution to a run; ``Prior()`` when there are none."""

    # the register the latest earlier year's run of the branch left (CASE_COLUMNS)
    cases: pd.DataFrame = field(default_factory=lambda: empty(CASE_COLUMNS))
    # the previous calendar year's inputs of the same branch, as its sealed run archived them
    previous_year: InputBook | None = None
    # the runs read: {"role": "cases" | "previous_year", "run": "2024/B001/v001", "file": ..., "sha256": ...}
    refs: tuple[dict[str, str], ...] = ()
