"""The bundled demo county: made-up branches and members for every built-in scheme.

Names are generated from a list of common characters; no real person is described. The same seed
always gives the same workbooks, so the demo and the tests are reproducible.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook

from ..outputs.xlsxfile import save_reproducibly
from ..rules.scheme import Scheme, load_scheme
from .reading import BRANCH_KEYS, OPTIONAL_BRANCH_KEYS, SHEETS, header_text, scheme_sheets

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志海燕文斌鹏辉亮波宁琳雪梅晨阳浩宇欣怡佳"


@dataclass(frozen=True)
class BranchSpec:
    branch_id: str
    branch_name: str
    scheme: str
    members: int
    quality: float  # typical share of the maximum a member scores
    seed: int | None = None  # the generator's seed; None: 1000 + the branch's place in the list given


# the branches of the monthly schemes (SPEC 3.1-3.3)
MONTHLY_DEMO_BRANCHES: list[BranchSpec] = [
    BranchSpec("B001", "县直机关第一党支部", "county-10-stars", 24, 0.90),
    BranchSpec("B002", "城关社区党支部", "county-10-stars", 9, 0.86),
    BranchSpec("B003", "县烟草分公司党支部", "xinluo-three-level", 18, 0.93),
    BranchSpec("B004", "县应急管理局机关党支部", "ganzi-base-plus-minus", 15, 0.84),
]
# the branches of the schemes whose items are scored per quarter, once a year, or not at all
# (SPEC 3.4-3.7); fixed seeds, so that each workbook's bytes do not depend on the others
CADENCE_DEMO_BRANCHES: list[BranchSpec] = [
    BranchSpec("B005", "县供电公司第一党支部", "shaoxing-liangfen", 14, 0.82, seed=1004),
    BranchSpec("B006", "东山村党支部", "rural-card", 16, 0.85, seed=1005),
    BranchSpec("B007", "县发展和改革局机关党支部", "fuxian-18", 13, 0.86, seed=1006),
    BranchSpec("B008", "县自来水公司党支部", "enterprise-8-2", 15, 0.84, seed=1007),
]
# the demo county: a branch (or two) of every built-in scheme
DEMO_BRANCHES: list[BranchSpec] = MONTHLY_DEMO_BRANCHES + CADENCE_DEMO_BRANCHES


def make_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct made-up names of two or three characters."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        given = "".join(rng.choice(list(GIVEN), size=int(rng.integers(1, 3))))
        name = str(rng.choice(list(SURNAMES))) + given
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def write_input_workbook(path: Path, branch: dict[str, Any], sheets: dict[str, pd.DataFrame], scheme: Scheme) -> Path:
    """Write an input workbook (SPEC 4): ``branch`` key/values and one table per sheet key.

    Headers are written as ``中文 (key)``; item columns as ``name (code)``. Every text, on every
    sheet (the branch sheet and headers too), is stored as literal text, never as a formula
    (``templates.put_cell``).
    """
    from .templates import put_cell  # templates imports inputs only; no cycle, but keep it lazy

    def put_rows(ws: Any, rows: list[list[Any]]) -> None:
        for r, values in enumerate(rows, start=1):
            for c, v in enumerate(values, start=1):
                if v is not None:
                    put_cell(ws, r, c, v)

    wb = Workbook()
    ws = wb.worksheets[0]  # a new workbook's one sheet, the active one
    ws.title = f"{SHEETS['branch'].label} (branch)"
    put_rows(
        ws,
        [
            [header_text("key", "项目"), header_text("value", "内容")],
            *([header_text(k, label), branch.get(k, "")] for k, label in BRANCH_KEYS.items()),
            # an optional key (公示开始日期, SPEC 8) only when the branch gives it
            *([header_text(k, label), branch[k]] for k, label in OPTIONAL_BRANCH_KEYS.items() if branch.get(k)),
        ],
    )
    item_labels = {i.code: header_text(i.code, i.name) for i in scheme.items}
    specs = scheme_sheets(scheme)  # the amendments' month column is a quarter or a year for some schemes
    for key, df in sheets.items():
        spec = specs.get(key, SHEETS[key])
        labels = {c.key: header_text(c.key, c.label) for c in spec.columns}
        labels |= item_labels | {"score": header_text("score", "测评分")}
        ws = wb.create_sheet(f"{spec.label} ({key})")
        put_rows(
            ws,
            [
                [labels.get(str(col), str(col)) for col in df.columns],
                *([_cell(v) for v in row] for row in df.itertuples(index=False)),
            ],
        )
        ws.freeze_panes = "A2"
    # the same tables give the same bytes, and an unchanged file is left alone: the batch reuses a
    # branch only while its input's SHA-256 is unchanged
    save_reproducibly(wb, path)
    return path


def _cell(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_, bool)):
        return "是" if v else "否"
    return v


def _score(rng: np.random.Generator, q: np.ndarray, mx: float, size: tuple[int, ...]) -> np.ndarray:
    raw = q[:, None] * mx + rng.normal(0, 0.06 * mx, size=size)
    step = 0.5 if mx <= 10 else 1.0
    return np.clip(np.round(raw / step) * step, 0, mx)


def branch_tables(spec: BranchSpec, year: int, seed: int) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Generate the branch info and every input sheet for one demo branch."""
    rng = np.random.default_rng(seed)
    scheme = load_scheme(spec.scheme).scheme
    if scheme.cadence != "month":
        return cadence_branch_tables(spec, year, rng, scheme)
    n = spec.members
    ids = [f"{spec.branch_id}M{i:03d}" for i in range(1, n + 1)]
    names = make_names(rng, n)
    types = rng.choice(["在职党员", "在职党员", "无职党员", "流动党员", "机关", "企业"], size=n)
    joined: list[Any] = [None] * n
    left: list[Any] = [None] * n
    joined[-1] = f"{year}-04"  # a mid-year joiner: divisor 9
    left[-2] = f"{year}-09"  # a member who moved away in September: divisor 9
    exempt = [False] * n
    exempt[-3] = True  # 年老体弱
    members = pd.DataFrame(
        {
            "member_id": ids,
            "name": names,
            "member_type": types,
            "role": ["secretary"] + ["member"] * (n - 1),
            "joined": joined,
            "left": left,
            "exempt": exempt,
            "exempt_reason": [("年老体弱, 长期卧病" if e else None) for e in exempt],
            "exempt_stars": [(8 if e and scheme.has_stars else None) for e in exempt],
        }
    )
    quality = np.clip(rng.normal(spec.quality, 0.05, size=n), 0.4, 1.0)
    quality[0] = min(1.0, spec.quality + 0.08)
    rows = []
    for i, mid in enumerate(ids):
        if exempt[i]:
            continue
        first = int(joined[i][-2:]) if joined[i] else 1
        last = int(left[i][-2:]) if left[i] else 12
        for m in range(first, last + 1):
            rows.append((i, mid, m))
    idx = np.array([r[0] for r in rows])
    monthly = pd.DataFrame({"member_id": [r[1] for r in rows], "month": [f"{year}-{r[2]:02d}" for r in rows]})
    for item in scheme.items:
        monthly[item.code] = _score(rng, quality[idx], item.max, (len(idx), 1))[:, 0]
    monthly["note"] = None
    self_scores = monthly.copy()
    for item in scheme.items:
        bump = rng.choice([0, 0, 0, 0.5 if item.max <= 10 else 1], size=len(self_scores))
        self_scores[item.code] = np.minimum(self_scores[item.code] + bump, item.max)
    self_scores["note"] = None
    amend_row = monthly.iloc[5]
    amend_item = scheme.items[1]
    amendments = pd.DataFrame(
        [
            {
                "member_id": amend_row["member_id"],
                "month": amend_row["month"],
                "item": amend_item.code,
                # a real change: one step up, or down when the score is already the maximum
                "new_score": float(
                    amend_row[amend_item.code] + (1 if amend_row[amend_item.code] + 1 <= amend_item.max else -1)
                ),
                "reason": "党员提出异议, 支委会复核后更正",
                "decided_on": dt.date(year, 7, 15),
            }
        ]
    )
    sheets: dict[str, pd.DataFrame] = {
        "members": members,
        "monthly_scores": monthly,
        "self_scores": self_scores,
        "amendments": amendments,
    }

    scored = [i for i in range(n) if not exempt[i]]
    if scheme.appraisal.mode != "none":
        raters = max(scheme.appraisal.min_raters, 12)
        ballots = []
        for b in range(1, raters + 1):
            kind = "党员" if b <= raters * 2 // 3 else "群众代表"
            for i in scored:
                row: dict[str, Any] = {"ballot_no": f"P{b:03d}", "rater_kind": kind, "member_id": ids[i]}
                if scheme.appraisal.mode == "per_item":
                    for item in scheme.items:
                        row[item.code] = float(
                            np.clip(np.round(quality[i] * item.max + rng.normal(0, 0.8)), 0, item.max)
                        )
                else:
                    row["score"] = float(
                        np.clip(
                            np.round(quality[i] * float(scheme.appraisal.max or 100) + rng.normal(0, 4)),
                            0,
                            scheme.appraisal.max,
                        )
                    )
                ballots.append(row)
        sheets["appraisal"] = pd.DataFrame(ballots)

    rules = scheme.adjustments.rules
    bonuses = [r for r in rules if r.kind == "bonus"]
    deductions = [r for r in rules if r.kind == "deduction"]
    adj = []
    # the first member has two commendations: under highest_only only the higher one counts
    adj.append(
        {
            "member_id": ids[0],
            "date": dt.date(year, 3, 8),
            "rule_code": bonuses[0].code,
            "evidence": "表彰文件",
            "approved_by": "支委会",
        }
    )
    adj.append(
        {
            "member_id": ids[0],
            "date": dt.date(year, 6, 30),
            "rule_code": bonuses[-1].code,
            "evidence": "表彰文件",
            "approved_by": "支委会",
        }
    )
    adj.append(
        {
            "member_id": ids[1],
            "date": dt.date(year, 5, 12),
            "rule_code": bonuses[len(bonuses) // 2].code,
            "evidence": "证书复印件",
            "approved_by": "支委会",
        }
    )
    adj.append(
        {
            "member_id": ids[2],
            "date": dt.date(year, 9, 3),
            "rule_code": deductions[-1].code if deductions else bonuses[0].code,
            "evidence": "通报文件",
            "approved_by": "支委会",
        }
    )
    adj.append(
        {
            "member_id": ids[3],
            "date": dt.date(year, 10, 20),
            "rule_code": bonuses[1].code,
            "evidence": None,
            "approved_by": "支委会",
        }
    )
    adjustments = pd.DataFrame(adj).assign(points=None, note=None)[
        ["member_id", "date", "rule_code", "points", "evidence", "approved_by", "note"]
    ]
    sheets["adjustments"] = adjustments

    vetoed = ids[4]
    cond = scheme.veto.conditions[0]
    votes_for = n - 3 if scheme.veto.requires_majority else None
    votes_against = 2 if scheme.veto.requires_majority else None
    sheets["vetoes"] = pd.DataFrame(
        [
            {
                "member_id": vetoed,
                "date": dt.date(year, 11, 5),
                "condition": cond.name,
                "votes_for": votes_for,
                "votes_against": votes_against,
                "note": "经支部大会决定",
            }
        ]
    )
    att = []
    for m in range(1, 13):
        day = dt.date(year, m, 10)
        for i in scored:
            status = "出席"
            if i == 5 and m >= 3:
                status = "缺席"  # misses organisational life from March: a possible lapse case
            elif rng.random() < 0.08:
                status = "请假"
            if (left[i] and m > int(left[i][-2:])) or (joined[i] and m < int(joined[i][-2:])):
                continue
            if i == 8 and not (joined[i] or left[i]) and (m >= 8 or m == 1):
                # away every August to January (no sign-in row): with the previous year's run, the
                # months from August to January make six in a row across New Year (SPEC 8)
                continue
            att.append({"date": day, "activity": "主题党日", "member_id": ids[i], "status": status})
    # the activities held (SPEC 4): a sign-in sheet lists only who came, this sheet what was held
    sheets["activities"] = pd.DataFrame(
        [{"date": dt.date(year, m, 10), "activity": "主题党日", "kind": "主题党日"} for m in range(1, 13)]
    )
    sheets["attendance"] = pd.DataFrame(att)
    dues = []
    for i in range(n):  # exempt members too: they are excused from points, not from dues (SPEC 8)
        for m in range(1, 13):
            if (left[i] and m > int(left[i][-2:])) or (joined[i] and m < int(joined[i][-2:])):
                continue
            unpaid = i == 6 and m >= 5 and not exempt[i]
            dues.append({"member_id": ids[i], "month": f"{year}-{m:02d}", "paid": not unpaid})
    sheets["dues"] = pd.DataFrame(dues)
    branch = {"branch_id": spec.branch_id, "branch_name": spec.branch_name, "scheme": spec.scheme, "year": year}
    return branch, sheets


def cadence_branch_tables(
    spec: BranchSpec, year: int, rng: np.random.Generator, scheme: Scheme
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """A demo branch of a scheme scored per quarter (``quarterly_scores``), once a year
    (``annual_scores``) or not at all (cadence none: events and the appraisal only).

    Every branch has a member who joins in May, an exempt member and events; the quarterly ones a
    member who leaves in August. Per scheme: shaoxing-liangfen has two members tied exactly on the
    优秀型 line (80.00); rural-card deductions in every quarter and bonuses, and a few ballots;
    fuxian-18 bonuses and deductions beyond their item's points (the cap is reached) and a veto;
    enterprise-8-2 events in different quarters and twelve ballots per member."""
    n = spec.members
    ids = [f"{spec.branch_id}M{i:03d}" for i in range(1, n + 1)]
    names = make_names(rng, n)
    kinds = {
        "rural-card": ["农村", "农村", "无职党员", "流动党员"],
        "fuxian-18": ["机关", "机关", "在职党员"],
    }.get(scheme.name, ["企业", "在职党员", "在职党员", "流动党员"])
    types = rng.choice(kinds, size=n)
    joined: list[str | None] = [None] * n
    left: list[str | None] = [None] * n
    joined[-1] = f"{year}-05"  # joins in May: in the branch from the second quarter
    if scheme.cadence == "quarter":
        left[-2] = f"{year}-08"  # leaves in August: in the branch until the third quarter
    exempt = [False] * n
    exempt[-3] = True  # 年老体弱
    members = pd.DataFrame(
        {
            "member_id": ids,
            "name": names,
            "member_type": types,
            "role": ["secretary"] + ["member"] * (n - 1),
            "joined": joined,
            "left": left,
            "exempt": exempt,
            "exempt_reason": [("年老体弱, 长期卧病" if e else None) for e in exempt],
            "exempt_stars": [None] * n,
        }
    )
    first = [int(j[-2:]) if j else 1 for j in joined]
    last = [int(x[-2:]) if x else 12 for x in left]
    scored = [i for i in range(n) if not exempt[i]]
    quality = np.clip(rng.normal(spec.quality, 0.06, size=n), 0.45, 1.0)
    quality[0] = min(1.0, spec.quality + 0.1)
    sheets: dict[str, pd.DataFrame] = {"members": members}

    if scheme.cadence == "quarter":
        rows: list[dict[str, Any]] = []
        for i in scored:
            for q in range(1, 5):
                if 3 * q < first[i] or 3 * q - 2 > last[i]:
                    continue  # not in the branch in any month of the quarter
                row: dict[str, Any] = {"member_id": ids[i], "quarter": f"{year}Q{q}"}
                for item in scheme.items:
                    row[item.code] = float(_score(rng, quality[i : i + 1], item.max, (1, 1))[0, 0])
                row["note"] = None
                rows.append(row)
        quarterly = pd.DataFrame(rows)
        if scheme.name == "shaoxing-liangfen":
            # two members exactly on the 优秀型 line every quarter: 80.00 each, a tie on the line
            for mid in ids[1:3]:
                at = quarterly["member_id"] == mid
                quarterly.loc[at, ["POL", "PRO", "CIV"]] = [32.0, 32.0, 16.0]
        sheets["quarterly_scores"] = quarterly
        target = quarterly.iloc[1]
        sub = target["quarter"]
    elif scheme.cadence == "year":
        rows = []
        for i in scored:
            row = {"member_id": ids[i]}
            for item in scheme.items:
                row[item.code] = float(_score(rng, quality[i : i + 1], item.max, (1, 1))[0, 0])
            row["note"] = None
            rows.append(row)
        annual = pd.DataFrame(rows)
        sheets["annual_scores"] = annual
        target = annual.iloc[1]
        sub = str(year)
    if scheme.items:
        item = scheme.items[0]
        old = float(target[item.code])
        sheets["amendments"] = pd.DataFrame(
            [
                {
                    "member_id": target["member_id"],
                    "month": sub,  # the quarter (2025Q2) or the year (2025) the scores were given for
                    "item": item.code,
                    "new_score": old + (1 if old + 1 <= item.max else -1),
                    "reason": "党员提出异议, 支委会复核后更正",
                    "decided_on": dt.date(year, 7, 15) if scheme.cadence == "quarter" else dt.date(year, 12, 28),
                }
            ]
        )

    if scheme.appraisal.mode == "single":
        raters = max(scheme.appraisal.min_raters, 12) if scheme.appraisal.min_raters else 5
        top = float(scheme.appraisal.max or 100)
        ballots = []
        for b in range(1, raters + 1):
            kind = "党员" if b <= raters * 2 // 3 else "群众代表"
            for i in scored:
                score = float(np.clip(np.round(quality[i] * top + rng.normal(0, top / 25)), 0, top))
                ballots.append({"ballot_no": f"P{b:03d}", "rater_kind": kind, "member_id": ids[i], "score": score})
        sheets["appraisal"] = pd.DataFrame(ballots)

    events = _cadence_events(scheme.name, ids, year)
    if events:
        sheets["adjustments"] = pd.DataFrame(events).assign(points=None, note=None)[
            ["member_id", "date", "rule_code", "points", "evidence", "approved_by", "note"]
        ]
    if scheme.veto.active:
        sheets["vetoes"] = pd.DataFrame(
            [
                {
                    "member_id": ids[4],
                    "date": dt.date(year, 11, 5),
                    "condition": scheme.veto.conditions[0].name,
                    "votes_for": None,
                    "votes_against": None,
                    "note": "经支部大会决定",
                }
            ]
        )
    att, dues = [], []
    for m in range(1, 13):
        for i in scored:
            if not first[i] <= m <= last[i]:
                continue
            status = "缺席" if i == 5 and m >= 4 else "请假" if rng.random() < 0.06 else "出席"
            att.append({"date": dt.date(year, m, 12), "activity": "主题党日", "member_id": ids[i], "status": status})
            dues.append({"member_id": ids[i], "month": f"{year}-{m:02d}", "paid": not (i == 6 and m >= 6)})
        for i in range(n):  # exempt members pay dues too (SPEC 8): excused from points, not from dues
            if exempt[i] and first[i] <= m <= last[i]:
                dues.append({"member_id": ids[i], "month": f"{year}-{m:02d}", "paid": True})
    sheets["attendance"] = pd.DataFrame(att)
    sheets["dues"] = pd.DataFrame(dues)
    branch = {"branch_id": spec.branch_id, "branch_name": spec.branch_name, "scheme": spec.scheme, "year": year}
    return branch, sheets


def _cadence_events(scheme: str, ids: list[str], year: int) -> list[dict[str, Any]]:
    """The demo's adjustments for the schemes of :func:`cadence_branch_tables`, by rule code."""

    def event(member: int, month: int, day: int, code: str, evidence: str | None = "支委会记录") -> dict[str, Any]:
        return {
            "member_id": ids[member],
            "date": dt.date(year, month, day),
            "rule_code": code,
            "evidence": evidence,
            "approved_by": "支委会",
        }

    if scheme == "rural-card":
        # deductions in every quarter (扣分小计 per quarter), bonuses across the year
        return [
            event(1, 2, 10, "D.meeting"),
            event(1, 5, 12, "D.meeting"),
            event(1, 8, 9, "D.dues"),
            event(1, 11, 15, "D.decision"),
            event(2, 3, 20, "D.study"),
            event(2, 9, 18, "D.duty"),
            event(3, 6, 30, "D.dues"),
            event(0, 1, 25, "B.poverty", "帮扶记录"),
            event(0, 7, 1, "B.demolish", "镇政府通报"),
            event(3, 4, 8, "B.policy", "宣传记录"),
            event(3, 10, 9, "B.watch", "值守记录"),
            event(4, 12, 3, "B.praise", "表扬信"),
        ]
    if scheme == "fuxian-18":
        # W1 (8 points): three bonuses of 4 (12 > 8: capped at 8); D3 (5 points): three
        # deductions of 2 (6 > 5: capped at 5); and events below their caps
        return [
            event(0, 3, 15, "W1.innov", "上级推广文件"),
            event(0, 6, 20, "W1.innov", "上级推广文件"),
            event(0, 9, 10, "W1.innov", "上级推广文件"),
            event(2, 4, 11, "D3.absent"),
            event(2, 7, 9, "D3.absent"),
            event(2, 10, 14, "D3.absent"),
            event(1, 5, 6, "E5.paper", "刊物目录"),
            event(3, 8, 18, "V4.conduct", "通报文件"),
            event(5, 11, 2, "W4.urgent", "任务记录"),
        ]
    if scheme == "enterprise-8-2":
        # events in each quarter: every one enters its quarter's daily score
        return [
            event(0, 2, 18, "B.urgent", "抢修记录"),
            event(1, 5, 8, "B.innov", "建议采纳通知"),
            event(2, 8, 22, "D.rules", "考勤记录"),
            event(3, 11, 6, "D.safety", "事件报告"),
            event(0, 10, 30, "B.honour", "表彰文件"),
            event(4, 4, 17, "D.meeting"),
            event(4, 7, 16, "D.meeting"),
        ]
    return []  # shaoxing-liangfen: no catalogue


def generate_demo(out_dir: str | Path, year: int = 2025, branches: list[BranchSpec] | None = None) -> list[Path]:
    """Write one input workbook per demo branch into ``out_dir``; return their paths.
    ``branches``: DEMO_BRANCHES by default, a branch (or two) of every built-in scheme."""
    out = Path(out_dir)
    paths = []
    for k, spec in enumerate(branches or DEMO_BRANCHES):
        branch, sheets = branch_tables(spec, year, seed=spec.seed if spec.seed is not None else 1000 + k)
        scheme = load_scheme(spec.scheme).scheme
        paths.append(write_input_workbook(out / f"{spec.branch_id}_{year}.xlsx", branch, sheets, scheme))
    return paths


# -- the record across years (SPEC 8) ----------------------------------------------------------

# a branch with two consecutive years: the history, follow-up cases opened by 2024's grades and
# closed or overdue in 2025, and a 自行脱党 run from August 2024 to January 2025 (the generator's
# member away every August to January)
RECORD_BRANCH = BranchSpec("B009", "县直机关第二党支部", "county-10-stars", 14, 0.88, seed=1008)
RECORD_FOLDER = "2024"  # demo_data/2024/: the previous year's workbook, run before the 2025 batch
# 2024's grades are published from this day (7 working days: 2025-01-06 .. 2025-01-14), so the
# cases they open, and their deadlines, do not depend on the day the demo is run
PUBLICITY_STARTS = {2024: dt.date(2025, 1, 6), 2025: dt.date(2026, 1, 5)}


def _record_year(year: int, names: pd.Series) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    spec = RECORD_BRANCH
    # another seed for 2024: other scores, the same members (names come from 2025's)
    branch, sheets = branch_tables(spec, year, seed=(spec.seed or 0) + (year != 2025))
    members = sheets["members"]
    ids = list(members["member_id"])
    members["name"] = members["member_id"].map(names)
    branch["publicity_start"] = PUBLICITY_STARTS[year]
    if year == 2024:
        joiner, leaver = ids[-1], ids[-2]  # joins in April 2025; leaves in September 2025
        for key in list(sheets):
            df = sheets[key]
            if "member_id" in df:
                sheets[key] = df[df["member_id"] != joiner].reset_index(drop=True)
        sheets["members"].loc[sheets["members"]["member_id"] == leaver, "left"] = None
        for key in ("monthly_scores", "self_scores"):
            df = sheets[key]
            last = df[(df["member_id"] == leaver) & (df["month"] == f"{year}-09")]
            more = [last.assign(month=f"{year}-{m:02d}") for m in (10, 11, 12)]
            sheets[key] = pd.concat([df, *more], ignore_index=True).sort_values(["member_id", "month"])
        att, dues = sheets["attendance"], sheets["dues"]
        for m in (10, 11, 12):
            att = pd.concat(
                [
                    att,
                    pd.DataFrame(
                        [{"date": dt.date(year, m, 10), "activity": "主题党日", "member_id": leaver, "status": "出席"}]
                    ),
                ]
            )
            dues = pd.concat([dues, pd.DataFrame([{"member_id": leaver, "month": f"{year}-{m:02d}", "paid": True}])])
        # 2024: the member who misses organisational life and the one who stops paying in 2025 did not
        sheets["attendance"] = att.assign(status=att["status"].where(att["member_id"] != ids[5], "出席"))
        sheets["dues"] = dues.assign(paid=dues["paid"] | (dues["member_id"] == ids[6]))
        # two members scored low (基本合格: a 告诫 each), and the vetoed member (不合格: 限期整改)
        for mid, share in ((ids[7], 0.66), (ids[9], 0.72)):
            for key in ("monthly_scores", "self_scores"):
                df = sheets[key]
                for item in load_scheme(spec.scheme).scheme.items:
                    at = df["member_id"] == mid
                    df.loc[at, item.code] = np.round(item.max * share * 2) / 2
            app = sheets["appraisal"]
            at = app["member_id"] == mid
            for item in load_scheme(spec.scheme).scheme.items:
                if item.code in app:
                    app.loc[at, item.code] = float(np.round(item.max * share))
    else:
        secretary = str(names[ids[0]])
        sheets["follow_up_outcomes"] = pd.DataFrame(
            [
                {
                    "member_id": ids[7],
                    "case_year": 2024,
                    "decided_on": dt.date(2025, 7, 10),
                    "outcome": "明显转变",
                    "action": "结案",
                    "helper": secretary,
                    "note": "半年内按时参加组织生活, 积极完成工作任务",
                }
            ]
        )  # ids[9]'s 告诫 has no outcome: overdue after 2025-07-14; ids[4]'s 限期整改 runs to 2026-01-14
        sheets["objections"] = pd.DataFrame(
            [
                {
                    "member_id": ids[2],
                    "raised_on": dt.date(2026, 1, 7),
                    "subject": "星级",
                    "content": "对9月扣分有异议",
                    "handled_by": "支委会",
                    "finding": "经复核, 扣分依据充分",
                    "answered_on": dt.date(2026, 1, 9),
                    "outcome": "维持",
                },
                {
                    "member_id": ids[3],
                    "raised_on": dt.date(2026, 1, 8),
                    "subject": "月度评分",
                    "content": "对11月评分有异议",
                },
            ]
        )
        sheets["star_decisions"] = pd.DataFrame(
            [
                {
                    "member_id": ids[1],
                    "stars": 8,
                    "reason": "支委会研究决定: 年内受到一次通报批评, 定为八星",
                    "decided_on": dt.date(2026, 1, 6),
                }
            ]
        )
    return branch, sheets


def generate_record_demo(out_dir: str | Path) -> list[Path]:
    """Write the record branch's two workbooks: ``out_dir/B009_2025.xlsx`` (beside the other
    branches: the batches run it) and ``out_dir/2024/B009_2024.xlsx`` (run first, SPEC 8)."""
    out = Path(out_dir)
    scheme = load_scheme(RECORD_BRANCH.scheme).scheme
    _, this = branch_tables(RECORD_BRANCH, 2025, seed=RECORD_BRANCH.seed or 0)
    names = this["members"].set_index("member_id")["name"]
    paths = []
    for year, folder in ((2024, out / RECORD_FOLDER), (2025, out)):
        folder.mkdir(parents=True, exist_ok=True)
        branch, sheets = _record_year(year, names)
        paths.append(write_input_workbook(folder / f"{RECORD_BRANCH.branch_id}_{year}.xlsx", branch, sheets, scheme))
    return paths
