"""Read and validate a unit workbook: the 党委's scoring of its branches (SPEC 3.9, seed 003).

One workbook per unit and year: the branches, the indicators the 党委 sets each quarter, the
branches' self-scores, their scores of each other (互评), the 联评联考办公室's verification and the
党委's approval of each month. Read with the same cell reader as a branch's workbook, and every
problem found is collected into one :class:`~scoring.exceptions.InputError`.

The mutual scores name who rated whom; they are read here to be checked and averaged, and no
table that leaves the engine keeps a rater (anonymous, like a member's appraisal ballots).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from python_calamine import CalamineWorkbook

from ..exceptions import SchemeError
from ..rules.periods import Period
from ..rules.scheme import LoadedScheme, Scheme, load_workbook_scheme
from .reading import (
    NORMALISED_COLUMNS,
    Column,
    SheetSpec,
    _branch_text,
    _choose_sheets,
    _Collector,
    _convert,
    _duplicates,
    _find_sheet,
    _month_in_year,
    _norm,
    _open_workbook,
    _raw_table,
    _read_branch,
    _Reader,
    _scheme_failures,
    _show,
    _sub_text,
    header_text,
)

UNIT_KEYS: dict[str, str] = {"unit_id": "单位编号", "unit_name": "单位名称", "scheme": "积分方案", "year": "年度"}
SCORED_BY_WORDS: dict[str, str] = {"self": "支部自评, 联评联考办公室验证", "mutual": "其他支部互评"}

UNIT_SHEETS: dict[str, SheetSpec] = {
    s.key: s
    for s in [
        SheetSpec(
            "unit",
            "单位信息",
            (Column("key", "项目", required=True), Column("value", "内容", required=True)),
            required=True,
        ),
        SheetSpec(
            "branches",
            "党支部名单",
            (
                Column("branch_id", "支部编号", required=True, not_blank=True),
                Column("branch_name", "支部名称", required=True, not_blank=True, free_text=True),
                Column("secretary", "支部书记", free_text=True),
            ),
            required=True,
        ),
        SheetSpec(
            "indicators",
            "考评指标",
            (
                Column("quarter", "季度", "quarter", required=True, not_blank=True),
                Column("code", "指标代码", required=True, not_blank=True),
                Column("category", "类别", required=True, not_blank=True),
                Column("name", "指标名称", required=True, not_blank=True, free_text=True),
                Column("max", "分值", "number", required=True, not_blank=True),
                Column("branch_id", "适用支部"),  # blank: every branch
            ),
            required=True,
        ),
        SheetSpec(
            "self_scores",
            "支部自评",
            (
                Column("branch_id", "支部编号", required=True, not_blank=True),
                Column("month", "月份", "month", required=True, not_blank=True),
                Column("indicator", "指标代码", required=True, not_blank=True),
                Column("score", "自评分", "number", required=True, not_blank=True),
                Column("evidence", "佐证材料", free_text=True),
            ),
            required=True,
        ),
        SheetSpec(
            "mutual_scores",
            "支部互评",
            (
                Column("rater_branch", "评价支部", required=True, not_blank=True),
                Column("branch_id", "被评支部", required=True, not_blank=True),
                Column("month", "月份", "month", required=True, not_blank=True),
                Column("indicator", "指标代码", required=True, not_blank=True),
                Column("score", "互评分", "number", required=True, not_blank=True),
            ),
            required=True,
        ),
        SheetSpec(
            "verification",
            "检查验证",
            (
                Column("branch_id", "支部编号", required=True, not_blank=True),
                Column("month", "月份", "month", required=True, not_blank=True),
                Column("indicator", "指标代码", required=True, not_blank=True),
                Column("verified_score", "验证分", "number", required=True, not_blank=True),
                Column("reason", "验证说明", required=True, not_blank=True, free_text=True),
                Column("verified_by", "验证人", required=True, not_blank=True, free_text=True),
            ),
        ),
        SheetSpec(
            "approvals",
            "党委审定",
            (
                Column("month", "月份", "month", required=True, not_blank=True),
                Column("approved_by", "审定人", required=True, not_blank=True, free_text=True),
                Column("approved_on", "审定日期", "date", required=True, not_blank=True),
            ),
        ),
    ]
}
ID_PATTERN = re.compile(r"^[A-Za-z0-9_\-]+$")
# the columns of UnitBook.in_force: which indicators count for which branch in which quarter
IN_FORCE_COLUMNS = ["branch_id", "quarter", "code", "category", "name", "max", "row"]


@dataclass
class UnitBook:
    """The validated contents of one unit workbook; every table keeps ``row`` (the Excel row).

    ``indicators``' ``quarter`` is the quarter's number (1..4) and ``category`` the scheme item's
    code; ``in_force`` has one row per branch, quarter and indicator that counts for it."""

    path: Path
    sha256: str
    unit_id: str
    unit_name: str
    scheme_ref: str
    year: int
    branches: pd.DataFrame
    indicators: pd.DataFrame
    in_force: pd.DataFrame
    self_scores: pd.DataFrame
    mutual_scores: pd.DataFrame
    verification: pd.DataFrame
    approvals: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    cells: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    normalised: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=NORMALISED_COLUMNS))

    def cell(self, sheet: str, column: str, row: int) -> str:
        """``支部自评!D14`` for a sheet key, a column key and an Excel row."""
        name, letter = self.cells.get(sheet, {}).get(column, (sheet, column))
        return f"{name}!{letter}{int(row)}"

    @property
    def approved_months(self) -> set[int]:
        return {int(m) for m in self.approvals["month"].dropna()}


def is_unit_workbook(path: str | Path) -> bool:
    """Whether the workbook at ``path`` has a unit sheet (单位信息) rather than a branch sheet; a
    file that cannot be read is left to the reader, which says why. Only a regular file is opened:
    /dev/zero or a pipe would be read for ever, and the reader refuses them by name."""
    if not Path(path).is_file():
        return False
    try:
        names = list(CalamineWorkbook.from_path(str(path)).sheet_names)
    except Exception:  # calamine raises its own error types; the reader reports them properly
        return False
    return _find_sheet(names, UNIT_SHEETS["unit"]) is not None


def load_unit(path: str | Path, period: Period, scheme: LoadedScheme | None = None) -> tuple[UnitBook, LoadedScheme]:
    """Read and validate a unit workbook for ``period``; raise one InputError with all problems."""
    path = Path(path)
    c = _Collector(path.name)
    content, wb, xlsx = _open_workbook(path, c)
    c.date1904 = xlsx.date1904 if xlsx is not None else False
    found, _ = _choose_sheets(wb, c, UNIT_SHEETS)
    reader = _Reader(wb, xlsx, c)
    head, head_rows = _read_branch(reader, found["unit"], c, "unit", UNIT_KEYS)
    unit_id = _branch_text(head, head_rows, "unit_id", c, sheet="unit")
    if unit_id and not ID_PATTERN.match(unit_id):
        c.add(
            "unit",
            head_rows.get("unit_id", ""),
            "unit_id",
            unit_id,
            "单位编号只能含字母、数字、- 和 _ (invalid unit id)",
            "e.g. U01",
        )
    year = _unit_year(_branch_text(head, head_rows, "year", c, sheet="unit"), head_rows, period, c)
    scheme_ref = _branch_text(head, head_rows, "scheme", c, nfkc=False, sheet="unit")
    if scheme is None and scheme_ref:
        try:
            scheme = load_workbook_scheme(scheme_ref, path.parent)
        except SchemeError as exc:
            _scheme_failures(exc, scheme_ref, head_rows.get("scheme", ""), c, "unit")
    if scheme is not None and scheme.scheme.subject != "branch":
        c.add(
            "unit",
            head_rows.get("scheme", ""),
            "scheme",
            scheme_ref or scheme.name,
            f"方案 {scheme.name} 考评党员, 不考评党支部 (a member scheme; a unit workbook needs subject: branch)",
            "branch-assessment, 或 subject: branch 的方案 (a scheme with subject: branch)",
        )
    if scheme is None or scheme.scheme.subject != "branch":
        c.raise_if_any()
        raise AssertionError("unreachable")
    s = scheme.scheme
    tables: dict[str, pd.DataFrame] = {}
    cells: dict[str, dict[str, tuple[str, str]]] = {}
    for key, spec in UNIT_SHEETS.items():
        if key == "unit":
            continue
        raw: pd.DataFrame | None = None
        name = found[key]
        if name is not None and (rows := reader.rows(name, key)) is not None:
            raw = _raw_table(rows, reader.flags.get(name, []), name, spec, {}, c)
        if raw is None:
            raw = pd.DataFrame(
                {col.key: pd.Series(dtype=object) for col in spec.columns} | {"row": pd.Series(dtype="int64")}
            )
        elif name is not None:
            cells[key] = {k: (name, letter) for k, letter in c.letters.get(key, {}).items()}
        # a month is approved at a later meeting: December's in the next January
        tables[key] = _convert(raw, spec, c, None if key == "approvals" else year)

    def usable(key: str, *columns: str) -> bool:
        return key not in c.unusable and all(col in c.present.get(key, set()) for col in columns)

    branches = tables["branches"]
    known = _check_branches(branches, c) if usable("branches", "branch_id") else None
    indicators = _check_indicators(tables["indicators"], s, known, year, c)
    in_force = _in_force(indicators, branches) if known is not None else pd.DataFrame(columns=IN_FORCE_COLUMNS)
    checked = known is not None and usable("indicators", "quarter", "code", "category", "max")
    scored = {
        "self_scores": ["branch_id", "month", "indicator"],
        "mutual_scores": ["rater_branch", "branch_id", "month", "indicator"],
        "verification": ["branch_id", "month", "indicator"],
    }
    for key, keys in scored.items():
        t = tables[key]
        _month_in_year(t, key, "month", year, c)
        for col in [k for k in keys if k in ("branch_id", "rater_branch")]:
            _unknown_branch(t, key, col, known, c)
        _duplicates(t, keys, key, "indicator", c)
        if checked:
            kind = "mutual" if key == "mutual_scores" else "self"
            column = "verified_score" if key == "verification" else "score"
            _check_scores(t, key, column, kind, in_force, s, year, c)
    mutual = tables["mutual_scores"]
    c.add_mask(
        mutual,
        mutual["rater_branch"].notna() & (mutual["rater_branch"] == mutual["branch_id"]),
        "mutual_scores",
        "rater_branch",
        "支部不能评价自己 (a branch does not rate itself)",
        "其他支部的编号 (another branch's id)",
    )
    _verified_without_self(tables["verification"], tables["self_scores"], c)
    approvals = tables["approvals"]
    _month_in_year(approvals, "approvals", "month", year, c)
    _duplicates(approvals, ["month"], "approvals", "month", c)
    _check_approval_dates(approvals, year, c)
    if period.kind == "year" and usable("approvals", "month"):
        _check_year_approved(approvals, year, c)
    if (
        checked
        and usable("self_scores", "branch_id", "month", "indicator")
        and usable("mutual_scores", "branch_id", "month", "indicator")
    ):
        _check_coverage(in_force, tables["self_scores"], mutual, s, period, year, c)
    c.raise_if_any()

    book = UnitBook(
        path=path.resolve(),
        sha256=hashlib.sha256(content).hexdigest(),
        unit_id=unit_id,
        unit_name=_show(head.get("unit_name", "")).strip(),
        scheme_ref=scheme_ref,
        year=year,
        branches=branches,
        indicators=indicators,
        in_force=in_force,
        self_scores=_in_year(tables["self_scores"], year),
        mutual_scores=_in_year(mutual, year),
        verification=_in_year(tables["verification"], year),
        approvals=_in_year(approvals, year),
        notes=_notes(tables, period, year),
        cells=cells,
        normalised=pd.DataFrame(c.normalised, columns=NORMALISED_COLUMNS),
    )
    return book, scheme


# -- checks -----------------------------------------------------------------------------------


def _unit_year(text: str, rows: dict[str, int], period: Period, c: _Collector) -> int:
    if not text:
        return period.year
    if not re.fullmatch(r"\d{4}", text, re.ASCII):
        c.add("unit", rows.get("year", ""), "year", text, "年度应为四位数字 (year must be YYYY)", "e.g. 2025")
        return period.year
    if int(text) != period.year:
        c.add(
            "unit",
            rows.get("year", ""),
            "year",
            text,
            f"工作簿年度与期间 {period.text} 不符 (year does not match the period)",
            str(period.year),
        )
    return int(text)


def _check_branches(branches: pd.DataFrame, c: _Collector) -> set[Any]:
    ids = branches["branch_id"]
    bad = ids.notna() & ~ids.astype(str).str.match(ID_PATTERN.pattern)
    c.add_mask(
        branches, bad, "branches", "branch_id", "支部编号只能含字母、数字、- 和 _ (invalid branch id)", "e.g. B001"
    )
    _duplicates(branches, ["branch_id"], "branches", "branch_id", c)
    if branches.empty:
        c.add(
            "branches",
            "",
            "branch_id",
            "",
            "党支部名单中没有支部 (no branch listed)",
            "每个支部一行 (one row per branch)",
        )
    return set(ids.dropna())


def _unknown_branch(t: pd.DataFrame, sheet: str, column: str, known: set[Any] | None, c: _Collector) -> None:
    if known is None:  # the branches could not be read: reported once, as the cause
        return
    bad = t[column].notna() & ~t[column].isin(known)
    c.add_mask(t, bad, sheet, column, "党支部名单中没有此编号 (unknown branch)", "党支部名单 (branches) 中的支部编号")


def _categories(s: Scheme) -> dict[str, str]:
    """Normalised code or name -> the scheme item's code."""
    out = {_norm(i.code): i.code for i in s.items}
    out.update({_norm(i.name): i.code for i in s.items})
    return out


def _check_indicators(ind: pd.DataFrame, s: Scheme, known: set[Any] | None, year: int, c: _Collector) -> pd.DataFrame:
    """The indicators with ``quarter`` as 1..4 and ``category`` as the item code; every problem
    recorded: a category the scheme does not have, a maximum <= 0, an unknown branch, a code twice
    in a quarter, and indicators whose maxima add up to more than their category's."""
    ind = ind.copy()
    _month_in_year(ind, "indicators", "quarter", year, c, "quarter")
    ind["quarter"] = (ind["quarter"] // 3).astype("Int64")
    cats = _categories(s)
    mapped = ind["category"].map(lambda v: cats.get(_norm(v)) if isinstance(v, str) else None)
    allowed = " / ".join(f"{i.name} ({i.code})" for i in s.items)
    c.add_mask(
        ind,
        ind["category"].notna() & mapped.isna(),
        "indicators",
        "category",
        "不是方案的指标类别 (not a category of the scheme)",
        allowed,
    )
    ind["category"] = mapped
    c.add_mask(
        ind,
        ind["max"].notna() & (ind["max"] <= 0),
        "indicators",
        "max",
        "分值应大于 0 (max must be > 0)",
        "a number > 0",
    )
    ind["branch_id"] = ind["branch_id"].where(ind["branch_id"].notna(), "")
    if known is not None:
        bad = (ind["branch_id"] != "") & ~ind["branch_id"].isin(known)
        c.add_mask(
            ind,
            bad,
            "indicators",
            "branch_id",
            "党支部名单中没有此编号 (unknown branch)",
            "空白 (全部支部) 或党支部名单中的支部编号",
        )
    _duplicates(ind, ["quarter", "code", "branch_id"], "indicators", "code", c, "quarter")
    common = set(zip(ind.loc[ind["branch_id"] == "", "quarter"], ind.loc[ind["branch_id"] == "", "code"], strict=True))
    both = (ind["branch_id"] != "") & pd.Series(
        [(q, k) in common for q, k in zip(ind["quarter"], ind["code"], strict=True)], index=ind.index, dtype=bool
    )
    c.add_mask(
        ind,
        both,
        "indicators",
        "code",
        "本季度已有适用全部支部的同一指标代码 (the code is already in force for every branch)",
        "另一个指标代码 (another code)",
    )
    return ind


def _in_force(ind: pd.DataFrame, branches: pd.DataFrame) -> pd.DataFrame:
    """One row per branch, quarter and indicator that counts for it: every common indicator of
    the quarter, and the branch's own."""
    ok = ind.dropna(subset=["quarter", "code", "category", "max"])
    ids = pd.DataFrame({"branch_id": branches["branch_id"].dropna().unique()})
    common = ids.merge(ok[ok["branch_id"] == ""].drop(columns="branch_id"), how="cross")
    own = ok[ok["branch_id"] != ""]
    out = pd.concat([common, own], ignore_index=True)[IN_FORCE_COLUMNS]
    return out.astype({"quarter": "int64"})


def _check_category_maxima(in_force: pd.DataFrame, s: Scheme, c: _Collector) -> None:
    sums = (
        in_force.groupby(["branch_id", "quarter", "category"], sort=False)
        .agg(total=("max", "sum"), row=("row", "max"))
        .reset_index()
    )
    for _, r in sums.iterrows():
        branch, quarter, item = r["branch_id"], int(r["quarter"]), s.items_by_code[str(r["category"])]
        if r["total"] > item.max + 1e-9:
            c.add(
                "indicators",
                int(r["row"]),
                "max",
                f"{r['total']:g}",
                f"支部 {branch} 第{quarter}季度 {item.name} 各指标分值之和 {r['total']:g} 超过该类满分 {item.max:g} "
                f"(the indicators' maxima exceed the category's)",
                f"合计不超过 {item.max:g} (at most {item.max:g} in all)",
            )


def _check_scores(
    t: pd.DataFrame, sheet: str, column: str, kind: str, in_force: pd.DataFrame, s: Scheme, year: int, c: _Collector
) -> None:
    """Each score names an indicator in force for its branch in its month's quarter, of a category
    scored this way, and lies within the indicator's maximum."""
    if sheet == "self_scores":  # once, before the scores: the maxima the scores are checked against
        _check_category_maxima(in_force, s, c)
    t = t.assign(quarter=(t["month"] - 1) // 3 + 1)
    # an unknown branch or indicator is reported as such, not again as "not in force"
    codes = set(in_force["code"])
    unknown = t["indicator"].notna() & ~t["indicator"].isin(codes)
    c.add_mask(
        t,
        unknown,
        sheet,
        "indicator",
        "考评指标中没有此指标代码 (unknown indicator)",
        "考评指标 (indicators) 中的指标代码",
    )
    ok = (
        t["branch_id"].isin(set(in_force["branch_id"]))
        & t["month"].notna()
        & ~unknown
        & t["indicator"].notna()
        & (t["month_year"] == year)
    )
    merged = t[ok].merge(
        in_force,
        left_on=["branch_id", "quarter", "indicator"],
        right_on=["branch_id", "quarter", "code"],
        how="left",
        suffixes=("", "_ind"),
    )
    merged.index = t.index[ok]
    absent = merged["code"].isna()
    for _, r in merged[absent].iterrows():
        here = in_force[(in_force["branch_id"] == r["branch_id"]) & (in_force["quarter"] == r["quarter"])]
        fit = [k for k, cat in zip(here["code"], here["category"], strict=True) if _scored_by(s, cat) == kind]
        c.add(
            sheet,
            int(r["row"]),
            "indicator",
            r["indicator"],
            f"第{int(r['quarter'])}季度此指标对支部 {r['branch_id']} 不适用 (not in force for the branch that quarter)",
            (" / ".join(map(str, fit[:12])) + (" …" if len(fit) > 12 else ""))
            or "本季度没有此类指标 (none this quarter)",
        )
    found = merged[~absent]
    wrong = np.array([_scored_by(s, k) != kind for k in found["category"]], dtype=bool)
    for _, r in found[wrong].iterrows():
        item = s.items_by_code[r["category"]]
        c.add(
            sheet,
            int(r["row"]),
            "indicator",
            r["indicator"],
            f"{item.name}指标由{SCORED_BY_WORDS[str(item.scored_by)]} (scored by: {item.scored_by})",
            "、".join(i.name for i in s.items if i.scored_by == kind) + " 的指标",
        )
    score = found[column]
    out = score.notna() & ((score < 0) | (score > found["max"]))
    for _, r in found[out].iterrows():
        c.add(
            sheet,
            int(r["row"]),
            column,
            r[column],
            f"超出指标 {r['indicator']} 的分值范围 (out of range)",
            f"0 .. {r['max']:g}",
        )


def _scored_by(s: Scheme, category: str) -> str | None:
    return s.items_by_code[category].scored_by


def _verified_without_self(ver: pd.DataFrame, own: pd.DataFrame, c: _Collector) -> None:
    keys = ["branch_id", "month", "indicator"]
    have = set(map(tuple, own[keys].dropna().itertuples(index=False, name=None)))
    lone = pd.Series([k not in have for k in ver[keys].itertuples(index=False, name=None)], index=ver.index, dtype=bool)
    lone &= ver[keys].notna().all(axis=1)
    c.add_mask(
        ver,
        lone,
        "verification",
        "indicator",
        "没有对应的支部自评分 (no self-score to verify)",
        "支部自评 (self_scores) 中已有的支部、月份和指标",
    )


def _check_approval_dates(approvals: pd.DataFrame, year: int, c: _Collector) -> None:
    """A month is approved once it has begun, and at the latest in the next year."""
    given = approvals.dropna(subset=["month", "approved_on"])
    for row, month, on in zip(
        given["row"].tolist(), given["month"].tolist(), given["approved_on"].tolist(), strict=True
    ):
        month = int(month)
        if isinstance(on, dt.date) and not dt.date(year, month, 1) <= on <= dt.date(year + 1, 12, 31):
            c.add(
                "approvals",
                int(row),
                "approved_on",
                on.isoformat(),
                f"审定日期不在 {year}-{month:02d} 之后一年内 (approved before the month began, or too late)",
                f"{year}-{month:02d}-01 .. {year + 1}-12-31",
            )


def _check_year_approved(approvals: pd.DataFrame, year: int, c: _Collector) -> None:
    have = {
        int(m) for m, y in zip(approvals["month"], approvals["month_year"], strict=True) if pd.notna(m) and y == year
    }
    for m in range(1, 13):
        if m not in have:
            c.add(
                "approvals",
                "",
                "month",
                f"{year}-{m:02d}",
                f"{year}-{m:02d} 未经党委审定, 年度不能定级 (the month is not approved: the year cannot be graded)",
                f"党委审定后在 党委审定 (approvals) 中加一行 {year}-{m:02d} (add the month once approved)",
            )


def _check_coverage(
    in_force: pd.DataFrame, own: pd.DataFrame, mutual: pd.DataFrame, s: Scheme, period: Period, year: int, c: _Collector
) -> None:
    """Every branch has, for every month up to the period's end, a self-score for each self-scored
    indicator in force and at least one mutual score for each mutually scored one."""
    months = pd.DataFrame({"month": range(1, period.last_month + 1)})
    months["quarter"] = (months["month"] - 1) // 3 + 1
    need = in_force.merge(months, on="quarter")
    self_kind = np.array([_scored_by(s, k) == "self" for k in need["category"]], dtype=bool)
    for kind, table, sheet, what in (
        (True, own, "self_scores", "缺少自评分 (missing self-score)"),
        (False, mutual, "mutual_scores", "没有任何支部互评 (no branch rated it)"),
    ):
        wanted = need[self_kind == kind]
        given = table[table["month_year"] == year][["branch_id", "month", "indicator"]].drop_duplicates()
        merged = wanted.merge(
            given,
            left_on=["branch_id", "month", "code"],
            right_on=["branch_id", "month", "indicator"],
            how="left",
            indicator=True,
        )
        for _, r in merged[merged["_merge"] == "left_only"].iterrows():
            c.add(
                sheet,
                "",
                "indicator",
                f"{r['branch_id']} {_sub_text(year, r['month'], 'month')} {r['code']}",
                f"{what}: 支部 {r['branch_id']} {_sub_text(year, r['month'], 'month')} 指标 {r['code']}",
                f"{period.text} 及以前每月每个适用指标一行 (a row per month up to the period's end and indicator)",
            )


def _in_year(t: pd.DataFrame, year: int) -> pd.DataFrame:
    return t[t["month_year"] == year].reset_index(drop=True)


def _notes(tables: dict[str, pd.DataFrame], period: Period, year: int) -> list[str]:
    later = sum(
        int(((t["month_year"] == year) & (t["month"] > period.last_month)).sum())
        for k, t in tables.items()
        if k in ("self_scores", "mutual_scores")
    )
    return [f"{later} 行评分晚于期间 {period.text}, 本次不计 (rows after the period are not used)"] if later else []


def header(key: str, column: str) -> str:
    """The header a template writes for a column of a unit sheet: ``支部编号 (branch_id)``."""
    col = next(c for c in UNIT_SHEETS[key].columns if c.key == column)
    return header_text(col.key, col.label)
