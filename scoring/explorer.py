"""The officer's explorer (notebooks/explore.ipynb): a branch, a member, their points card.

Everything is built from one scored ``Result`` with ipywidgets: the branch table, the member's
points card laid out like the paper 积分卡, the trace from the total down to each input cell, three
charts and a what-if on the scheme's parameters. Nothing here writes a file.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, SupportsInt, cast

import numpy as np
import pandas as pd

from .engine import Result, score
from .exceptions import InputError
from .inputs import BRANCH_KEYS, SHEETS, InputBook, _find_sheet, _header_key, _norm, load_inputs
from .labels import label
from .periods import parse_period
from .scheme import LoadedScheme, Scheme, load_scheme
from .trace import trace

SCORE_COLUMN = {"year": "total", "half": "half_score", "quarter": "quarter_score", "month": "month_total"}


@dataclass(frozen=True)
class Source:
    """One branch to look at: an input workbook read with its own scheme, or a run folder's
    archived input read with the run's archived scheme (what the run was scored with)."""

    label: str
    workbook: Path
    scheme: str | None = None  # archived scheme file (or built-in name) of a run; None: the workbook's own
    run: Path | None = None
    period: str | None = None  # the run's period


@dataclass
class Scored:
    path: Path
    book: InputBook
    scheme: LoadedScheme
    result: Result


def score_workbook(path: str | Path, period: str, scheme: str | Path | None = None) -> Scored:
    """Score a workbook for ``period``; ``scheme`` (a file or built-in name) instead of the one the
    workbook names, e.g. the scheme a run archived."""
    p = parse_period(period)
    book, sch = load_inputs(path, p, load_scheme(str(scheme)) if scheme is not None else None)
    return Scored(Path(path), book, sch, score(book, sch, p))


def sources(inputs: str | Path) -> list[Source]:
    """What to choose from: one workbook, every ``*.xlsx`` of a folder (a unit's branches), or a
    run folder (``runs/PERIOD/BRANCH/vNNN``): its archived input with its archived scheme."""
    path = Path(inputs)
    if (path / "manifest.json").is_file():
        import json

        m = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        recorded = m.get("scheme", {})
        scheme = str((path / recorded["archived"]).resolve()) if recorded.get("archived") else recorded.get("name")
        run = path.resolve()
        return [
            Source(
                f"{m['branch_id']} ({m['period']} {path.name})",
                (path / m["inputs"][0]["archived"]).resolve(),
                scheme,
                run,
                str(m["period"]),
            )
        ]
    if path.is_dir():
        return [Source(p.stem, p) for p in sorted(path.glob("*.xlsx")) if not p.name.startswith(("~$", "."))]
    return [Source(path.stem, path)]


def workbook_year(path: str | Path) -> int | None:
    """The year the workbook's branch sheet states (支部信息 年度), or None if it states none."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception:  # calamine raises its own error types; the loader reports a bad file
        return None
    sheet = _find_sheet(list(wb.sheet_names), SHEETS["branch"])
    if sheet is None:
        return None
    names = {_norm(k): k for k in BRANCH_KEYS} | {_norm(v): k for k, v in BRANCH_KEYS.items()}
    for row in wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False):
        if len(row) >= 2 and _header_key(row[0], names) == "year":
            text = str(row[1]).strip().removesuffix(".0")
            return int(text) if text.isdigit() and len(text) == 4 else None
    return None


def periods_of(year: int) -> list[str]:
    """Every period of one year: the year, its halves, quarters and months."""
    return (
        [str(year), f"{year}H1", f"{year}H2"]
        + [f"{year}Q{q}" for q in range(1, 5)]
        + [f"{year}-{m:02d}" for m in range(1, 13)]
    )


def run_differences(src: Source, s: Scored) -> pd.DataFrame | None:
    """For a run folder scored for the run's own period: every figure of the run's ``summary.csv``
    that differs from the re-scored one (empty: all equal). None when there is nothing to compare."""
    if src.run is None or src.period != s.result.period.text or not (src.run / "summary.csv").is_file():
        return None
    from .review import _read_summary, _summary_text, compare_summaries

    return compare_summaries(_read_summary(src.run), _summary_text(s.result.summary()), "summary.csv", "重新计分 now")


def run_notice_html(src: Source, s: Scored) -> str:
    """What the explorer says above the tabs about a run folder: equal to its summary.csv, or not."""
    if src.run is None:
        return ""
    scheme = f"{html.escape(s.scheme.name)} {html.escape(str(s.scheme.scheme.version))}"
    diffs = run_differences(src, s)
    if diffs is None:
        return (
            '<div class="run-check run-check-other" style="color:#555">'
            f"运行 {html.escape(str(src.run))} 的期间是 {html.escape(str(src.period))}; "
            f"现在显示的 {html.escape(s.result.period.label)} 是按存档输入和存档方案 ({scheme}) 重新计分, "
            "没有可比较的 summary.csv。</div>"
        )
    if diffs.empty:
        return (
            '<div class="run-check run-check-ok" style="color:#2e7d32">'
            f"按存档输入和存档方案 ({scheme}) 重新计分, 与本次运行的 summary.csv 完全一致。</div>"
        )
    table = diffs.head(20).to_html(index=False, na_rep="")
    more = f"<p>(只列出前 20 处, 共 {len(diffs)} 处)</p>" if len(diffs) > 20 else ""
    return (
        f'<div class="run-check run-check-differs" style="color:#c00000; border:2px solid #c00000; padding:6px">'
        f"<b>注意: 按存档输入和存档方案 ({scheme}) 重新计分, 与本次运行的 summary.csv 有 {len(diffs)} 处不同。</b> "
        "summary.csv 可能被改动过, 或运行时的程序版本不同; "
        f"请用 <code>python -m scoring verify {html.escape(str(src.run))}</code> 核验。"
        f"下面的积分卡等按重新计分显示。{table}{more}</div>"
    )


# -- tables -------------------------------------------------------------------------------------


def branch_table(s: Scored) -> pd.DataFrame:
    """Members with their monthly totals of the period, quarter scores and the period's result."""
    r = s.result
    p = r.period
    summ = r.summary().set_index("member_id")
    t = r.monthly_totals
    t = t[(t["month"] >= p.first_month) & (t["month"] <= p.last_month)]
    months = t.pivot_table(index="member_id", columns="month", values="total", aggfunc="first")
    months.columns = [f"{int(m)}月" for m in months.columns]
    q = r.quarters[r.quarters["quarter"].between((p.first_month + 2) // 3, p.last_month // 3)]
    quarters = q.pivot_table(index="member_id", columns="quarter", values="score_rounded", aggfunc="first")
    quarters.columns = [f"第{int(c)}季度" for c in quarters.columns]
    keep = [
        c
        for c in [
            "name",
            SCORE_COLUMN[p.kind],
            "stars",
            "grade",
            "rank",
            "quarter_rank",
            "quarter_star",
            "exempt",
            "veto",
        ]
        if c in summ.columns
    ]
    out = summ[keep].join(months).join(quarters)
    out = out.rename(columns={c: label(c) for c in keep})
    out.index.name = label("member_id")
    return out.reset_index()


def _fmt(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.2f}".rstrip("0").rstrip(".")
    return html.escape(str(v))


def _member_row(table: pd.DataFrame, member_id: str) -> pd.Series:
    """The member's row of a table keyed by ``member_id`` (unique there: pandas-stubs also allow the
    DataFrame that ``.loc`` gives for a repeated label)."""
    return cast(pd.Series, table.set_index("member_id").loc[member_id])


def card_html(s: Scored, member_id: str) -> str:
    """The member's points card as HTML: monthly items with self-scores, amendments marked,
    appraisal averages, adjustments with evidence, total, stars, rank and the gap to the next star."""
    r = s.result
    sch = r.scheme.scheme
    p = r.period
    member = _member_row(r.members, member_id)
    summ = _member_row(r.summary(), member_id)
    key = SCORE_COLUMN[p.kind]
    parts = [f'<div class="points-card" data-member="{html.escape(member_id)}" style="font-family: sans-serif">']
    parts.append(f"<h3>党员积分卡 · {html.escape(r.branch_name)} · {html.escape(p.label)}</h3>")
    parts.append(
        f"<p><b>{html.escape(member_id)} {html.escape(str(member['name']))}</b> · "
        f"{html.escape(str(member.get('member_type', '')))}</p>"
    )
    total = summ.get(key)
    headline = [f'{label(key)}: <b class="card-total">{_fmt(total)}</b>']
    if p.kind == "year":
        if sch.has_stars:
            headline.append(f"星级: <b>{_fmt(summ.get('stars'))}</b>")
        headline += [
            f"等级: <b>{_fmt(summ.get('grade'))}</b>",
            f"支部排名: <b>{_fmt(summ.get('rank'))}</b> / {int(r.annual['rank'].notna().sum())}",
        ]
        if sch.has_stars and total is not None and not pd.isna(total):
            higher = [b for b in sch.bands if b.stars is not None and b.min > float(total)]
            if higher:
                nxt = min(higher, key=lambda b: b.min)
                headline.append(f"距{nxt.stars}星还差 <b>{nxt.min - float(total):.2f}</b> 分")
    elif p.kind == "quarter":
        headline.append(f"季度排名: <b>{_fmt(summ.get('quarter_rank'))}</b>")
        if sch.quarter_star is not None:
            headline.append(f"季度之星: <b>{_fmt(summ.get('quarter_star'))}</b>")
    parts.append("<p>" + " · ".join(headline) + "</p>")
    if bool(member["exempt"]):
        parts.append("<p>不列入积分管理, 年底由党支部直接评定星级。</p></div>")
        return "".join(parts)

    # monthly grid: committee score, the member's self-score beside it, amendments marked
    items = sch.items
    sc = r.item_scores[r.item_scores["member_id"] == member_id].set_index("month")
    selfs = s.book.self_scores
    selfs = (
        selfs[selfs["member_id"] == member_id].assign(month=lambda d: d["month"].astype(int)).set_index("month")
        if len(selfs)
        else pd.DataFrame()
    )
    am = r.amendments
    amended = (
        {
            (int(cast(SupportsInt, a.month)), str(a.item)): a  # pandas-stubs type the fields as any scalar
            for a in am[am["member_id"] == member_id].itertuples(index=False)
        }
        if len(am)
        else {}
    )
    totals = r.monthly_totals[r.monthly_totals["member_id"] == member_id].set_index("month")["total"]
    parts.append('<table border="1" style="border-collapse: collapse; font-size: 12px"><tr><th>月份</th>')
    parts += [f"<th>{html.escape(it.name)}<br>({it.max:g}分)</th>" for it in items]
    parts.append("<th>月度合计</th></tr>")
    for m in range(p.first_month if p.kind != "year" else 1, p.last_month + 1):
        parts.append(f"<tr><td>{m}月</td>")
        if m not in sc.index:
            parts.append(f'<td colspan="{len(items) + 1}">未在本支部, 不计分</td></tr>')
            continue
        for it in items:
            v = _fmt(sc.at[m, it.code])
            own = (
                f' <span style="color:#888">(自评 {_fmt(selfs.at[m, it.code])})</span>'
                if len(selfs) and m in selfs.index and it.code in selfs.columns
                else ""
            )
            if (m, it.code) in amended:
                a = amended[(m, it.code)]
                title = html.escape(f"已更正: 原 {a.original:g} → {a.new_score:g}; {a.reason}; {a.decided_on}")
                parts.append(f'<td title="{title}" style="color:#c00000; font-weight:bold">{v}*{own}</td>')
            else:
                parts.append(f"<td>{v}{own}</td>")
        parts.append(f"<td><b>{_fmt(totals.get(m))}</b></td></tr>")
    parts.append("</table>")
    if amended:
        parts.append(
            "<p style='font-size:12px'>* "
            + "; ".join(
                html.escape(f"{m}月 {it}: 原 {a.original:g} → {a.new_score:g} ({a.reason})")
                for (m, it), a in sorted(amended.items())
            )
            + "</p>"
        )

    # appraisal averages (never a ballot) and what cost the member most
    app = r.appraisal
    if len(app.columns) > 1 and member_id in set(app["member_id"]):
        row = _member_row(app, member_id)
        if sch.appraisal.mode == "per_item":
            cells = ", ".join(f"{html.escape(it.name)} {_fmt(row[f'{it.code}_average'])}" for it in items)
            parts.append(f"<p>民主测评平均 ({int(row[f'{items[0].code}_raters'])} 人, 不显示单张选票): {cells}</p>")
        elif "score_average" in row:
            parts.append(f"<p>民主评议平均 ({int(row['score_raters'])} 人): {_fmt(row['score_average'])}</p>")
    if len(sc):
        gaps = sorted(((it.max - float(sc[it.code].mean()), it.name) for it in items), reverse=True)
        lost = "、".join(f"{html.escape(n)} {g:.2f}" for g, n in gaps[:3] if g > 0.005)
        if lost:
            parts.append(f"<p>失分最多的项目 (月平均与满分之差, 病根在此): {lost}</p>")

    # adjustments with their evidence
    adj = r.adjustments[r.adjustments["member_id"] == member_id]
    if len(adj):
        parts.append("<p>加减分:</p><ul>")
        evidence = (
            s.book.adjustments.set_index("row")["evidence"]
            if "evidence" in s.book.adjustments.columns
            else pd.Series(dtype=object)
        )
        for a in adj.itertuples(index=False):
            ev = evidence.get(a.row, "")
            status = f"计入 {a.applied_points:+g}" if a.status == "applied" else "不计入"
            rule_name = cast(str, a.rule_name)  # text; pandas-stubs type the fields as any scalar
            parts.append(
                f"<li>{html.escape(str(a.date))} {html.escape(rule_name)} ({a.points_used:+g}) — {status}; "
                f"依据: {_fmt(ev) or '无'}; {html.escape(str(a.reason))}</li>"
            )
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def _num(v: Any) -> str:
    try:
        return f"{float(v):.2f}"
    except (TypeError, ValueError):
        return str(v)


def _pct(w: float) -> str:
    return f"{w * 100:g}%"


def _adjustment_rule(sch: Scheme) -> str:
    a = sch.adjustments
    rule = {
        "highest_only": "只计最高一项加分和最大一项减分, 不累计",
        "sum": "计入的加分、减分全部累加",
        "sum_capped_per_group": "加分、减分累加, 每组各自封顶",
    }[a.combine]
    needs = [k for k, on in (("加分", a.bonus_evidence_required), ("减分", a.deduction_evidence_required)) if on]
    return rule + (f"; {'、'.join(needs)}须有依据, 无依据不计入" if needs else "")


def _veto_rule(sch: Scheme) -> str:
    v = sch.veto
    effect = f"评为{v.grade}, 积分照常显示" if v.effect == "forced_grade" else f"不显示积分, 评为{v.grade}"
    return effect + ("; 须全体党员过半数赞成才生效" if v.requires_majority else "")


def _month_rule(sch: Scheme, kind: str) -> str:
    """How a month's total enters the period's figure."""
    if kind == "year":
        return f"月度基础分 = Σ 各项月评分; 年终总积分 = 月平均基础分 × {_pct(sch.monthly.weight)}" + (
            f" + 民主评议 × {_pct(sch.appraisal.weight)}" if sch.appraisal.mode != "none" else ""
        )
    if kind == "quarter":
        return "月度总分 = Σ 各项月评分; 季度积分 = " + (
            "Σ 本季度月度总分" if sch.monthly.quarter_score == "sum" else "本季度月度总分的平均"
        )
    if kind == "half":
        return "月度总分 = Σ 各项月评分; 半年积分 = Σ 半年内月度总分"
    return "月度总分 = Σ 各项月评分"


def _month_title(month: str) -> str:
    y, m = month.split("-")
    return f"{y}年{int(m)}月"


def trace_groups(s: Scored, member_id: str) -> tuple[pd.DataFrame, list[tuple[str, pd.DataFrame]]]:
    """The trace split for drill-down: the head rows (total, stars, grade, rank, base, bonus,
    deduction), then one group per item (a year scored item by item) or per month, then the base
    and appraisal, the adjustments and the vetoes; every group's title says the rule that applied."""
    t = trace(s.result, member_id)
    sch = s.result.scheme.scheme
    kind = s.result.period.kind
    in_head = (t["level"] <= 1) & (t["month"] == "") & ~t["step"].str.startswith("一票否决")
    head = t[in_head]  # a month's total (a shorter period) and a veto belong to their groups
    rest = t[~in_head]
    groups: list[tuple[str, pd.DataFrame]] = []
    if kind == "year" and sch.monthly.combine == "per_item":
        names = {it.code: it.name for it in sch.items}
        rule = f"月度平均 × {_pct(sch.monthly.weight)}" + (
            f" + 民主测评平均 × {_pct(sch.appraisal.weight)}" if sch.appraisal.mode == "per_item" else ""
        )
        by_item = rest[rest["item"] != ""]
        for code, g in by_item.groupby("item", sort=False):
            item = str(code)  # the item column holds codes (text)
            groups.append((f"{names.get(item, item)}: {_num(g.iloc[0]['value'])} = {rule}", g))
        other = rest[rest["item"] == ""]
    else:
        by_month = rest[rest["month"] != ""]
        rule = _month_rule(sch, kind)
        for month, g in by_month.groupby("month", sort=False):
            groups.append((f"{_month_title(str(month))}: {_num(g.iloc[0]['value'])} — {rule}", g))
        other = rest[rest["month"] == ""]
    adjustments = other["step"].str.startswith(("加分", "减分"))
    vetoes = other["step"].str.startswith("一票否决")
    base = other[~adjustments & ~vetoes]
    if len(base):
        rule = f"月平均基础分 × {_pct(sch.monthly.weight)}" + (
            f" + 民主评议 × {_pct(sch.appraisal.weight)}" if sch.appraisal.mode != "none" else ""
        )
        groups.append((f"年终总积分的构成: {rule}", base))
    if adjustments.any():
        groups.append((f"加减分: {_adjustment_rule(sch)}", other[adjustments]))
    if vetoes.any():
        groups.append((f"一票否决: {_veto_rule(sch)}", other[vetoes]))
    return head, groups


# -- charts -------------------------------------------------------------------------------------


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def _cjk() -> None:
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    cjk = [f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name or "Noto Sans SC" in f.name]
    if cjk:
        plt.rcParams["font.sans-serif"] = [cjk[0], *plt.rcParams["font.sans-serif"]]
    plt.rcParams["axes.unicode_minus"] = False


def charts(s: Scored, member_id: str) -> list[bytes]:
    """Member trend over months, branch distribution with the star bands, item profile."""
    import matplotlib.pyplot as plt

    _cjk()
    r = s.result
    sch = r.scheme.scheme
    out = []
    t = r.monthly_totals
    mine = t[t["member_id"] == member_id].sort_values("month")
    avg = t.groupby("month")["total"].mean()
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(avg.index, avg.to_numpy(), color="#888", linestyle="--", label="支部平均")
    ax.plot(mine["month"], mine["total"], marker="o", color="#c0392b", label=member_id)
    ax.set_title("月度总分走势")
    ax.set_xlabel("月份")
    ax.legend()
    out.append(_png(fig))

    summ = r.summary()
    col = SCORE_COLUMN[r.period.kind]
    values = pd.to_numeric(summ[col], errors="coerce").dropna()
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.hist(values, bins=min(20, max(5, len(values))), color="#c0392b", alpha=0.8)
    if r.period.kind == "year":
        for band in sch.bands[:-1]:
            ax.axvline(band.min, color="#555", linestyle=":", linewidth=1)
            ax.text(
                band.min,
                ax.get_ylim()[1] * 0.95,
                f" {band.stars}星" if band.stars is not None else f" {band.grade}",
                fontsize=8,
                va="top",
            )
    mv = summ.set_index("member_id")[col].get(member_id)
    if mv is not None and not pd.isna(mv):
        ax.axvline(float(mv), color="#1f4e79", linewidth=2)
    ax.set_title("支部积分分布 (蓝线为本人)")
    out.append(_png(fig))

    sc = r.item_scores
    codes = sch.item_codes
    fig, ax = plt.subplots(figsize=(7, 3))
    x = np.arange(len(codes))
    ax.bar(
        x - 0.2,
        sc[sc["member_id"] == member_id][codes].mean().to_numpy(dtype=float),
        width=0.4,
        color="#c0392b",
        label="本人月平均",
    )
    ax.bar(x + 0.2, sc[codes].mean().to_numpy(dtype=float), width=0.4, color="#888", label="支部月平均")
    ax.set_xticks(x, [it.name for it in sch.items], rotation=30, ha="right", fontsize=8)
    ax.set_title("各项得分与支部平均")
    ax.legend()
    out.append(_png(fig))
    return out


# -- what-if ------------------------------------------------------------------------------------


def what_if(
    s: Scored,
    monthly_weight: float | None = None,
    band_min: dict[str, float] | None = None,
    annual_star_share: float | None = None,
) -> pd.DataFrame:
    """Re-score with changed scheme parameters (nothing is written) and list the members whose
    stars, grade or annual star change. ``band_min`` maps a grade (or ``"N星"``) to a new minimum."""
    sch = s.scheme.scheme
    update: dict[str, Any] = {}
    if monthly_weight is not None and sch.appraisal.mode != "none":
        update["monthly"] = sch.monthly.model_copy(update={"weight": monthly_weight})
        update["appraisal"] = sch.appraisal.model_copy(update={"weight": round(1.0 - monthly_weight, 10)})
    if band_min:
        update["bands"] = [b.model_copy(update={"min": band_min.get(_band_key(b), b.min)}) for b in sch.bands]
    if annual_star_share is not None and sch.annual_star is not None:
        update["annual_star"] = sch.annual_star.model_copy(update={"share": annual_star_share})
    changed = type(sch).model_validate(sch.model_copy(update=update).model_dump())  # validated like a file
    alt = LoadedScheme(scheme=changed, path=s.scheme.path, sha256="what-if")
    new = score(s.book, alt, s.result.period).summary().set_index("member_id")
    old = s.result.summary().set_index("member_id")
    cols = [c for c in ("total", "stars", "grade", "annual_star", "rank") if c in old.columns]
    rows = []
    for mid in old.index:
        diffs = {c: (old.at[mid, c], new.at[mid, c]) for c in cols if _fmt(old.at[mid, c]) != _fmt(new.at[mid, c])}
        if any(c in diffs for c in ("stars", "grade", "annual_star")):
            rows.append(
                {
                    "党员编号": mid,
                    "姓名": old.at[mid, "name"],
                    **{f"{label(c)} 现在": _fmt(a) for c, (a, _) in diffs.items()},
                    **{f"{label(c)} 假设": _fmt(b) for c, (_, b) in diffs.items()},
                }
            )
    return pd.DataFrame(rows).fillna("")


def _band_key(b: Any) -> str:
    return f"{b.stars}星" if b.stars is not None else b.grade


# -- the widget ---------------------------------------------------------------------------------


class Explorer:
    """``Explorer(inputs).widget`` : pick a branch, a period and a member; see the card and more.

    ``inputs``: a workbook, a folder of workbooks or a run folder; empty: the demo county.
    ``period``: the period shown first; empty: a run folder's own period, else the workbook's year.
    The periods to choose from are those of the chosen workbook's year."""

    def __init__(self, inputs: str | Path = "", period: str = "") -> None:
        import ipywidgets as w

        if not inputs:
            import tempfile

            from .demo import generate_demo

            inputs = Path(tempfile.mkdtemp(prefix="scoring-explore-")) / "demo"
            generate_demo(inputs)
        self.sources = sources(inputs)
        if not self.sources:
            raise ValueError(f"{inputs} 中没有输入工作簿 (no *.xlsx input workbook here)")
        self._quiet = False
        self.cache: dict[tuple[int, str], Scored] = {}
        self.branch = w.Dropdown(
            description="支部",
            options=[(src.label, i) for i, src in enumerate(self.sources)],
            value=0,
            layout=w.Layout(width="360px"),
        )
        self.period = w.Dropdown(description="期间", layout=w.Layout(width="220px"))
        self._periods(period)
        self.notice = w.HTML()
        self.notice.add_class("notice-area")
        self.member = w.Dropdown(description="党员", layout=w.Layout(width="320px"))
        self.member.add_class("member-select")
        self.branch.add_class("branch-select")
        self.sort = w.Dropdown(description="排序", layout=w.Layout(width="260px"))
        self.ascending = w.ToggleButton(value=False, description="升序", layout=w.Layout(width="80px"))
        self.table = w.HTML()
        self.card = w.HTML()
        self.card.add_class("card-area")
        self.trace_box = w.VBox()
        self.chart_box = w.VBox()
        self.weight = w.FloatSlider(
            description="月度权重", min=0.0, max=1.0, step=0.05, style={"description_width": "initial"}
        )
        self.band = w.Dropdown(description="分档")
        self.band_min = w.FloatText(description="下限")
        self.share = w.FloatText(description="年度之星比例", style={"description_width": "initial"})
        self.run_what_if = w.Button(
            description="计算 (不写任何文件)", button_style="warning", layout=w.Layout(width="200px")
        )
        self.what_if_out = w.HTML()
        tabs = w.Tab(
            children=[
                w.VBox([w.HBox([self.sort, self.ascending]), self.table]),
                self.card,
                self.trace_box,
                self.chart_box,
                w.VBox(
                    [
                        w.HBox([self.weight]),
                        w.HBox([self.band, self.band_min]),
                        self.share,
                        self.run_what_if,
                        self.what_if_out,
                    ]
                ),
            ]
        )
        for i, title in enumerate(["支部总表", "积分卡", "追溯", "图表", "假设分析 (what-if)"]):
            tabs.set_title(i, title)
        self.widget = w.VBox([w.HBox([self.branch, self.period, self.member]), self.notice, tabs])
        self.branch.observe(lambda _: self._branch(), names="value")
        self.period.observe(lambda _: None if self._quiet else self._load(), names="value")
        self.member.observe(lambda _: self._member(), names="value")
        self.sort.observe(lambda _: self._table(), names="value")
        self.ascending.observe(lambda _: self._table(), names="value")
        self.band.observe(lambda _: self._band(), names="value")
        self.run_what_if.on_click(lambda _: self._what_if())
        self._load()

    @property
    def source(self) -> Source:
        return self.sources[int(self.branch.value)]

    @property
    def scored(self) -> Scored:
        key = (int(self.branch.value), str(self.period.value))
        if key not in self.cache:
            src = self.sources[key[0]]
            self.cache[key] = score_workbook(src.workbook, key[1], src.scheme)
        return self.cache[key]

    def _periods(self, wanted: str = "") -> None:
        """The chosen workbook's periods; keep ``wanted`` (or the current one) if it is one of them,
        else a run's own period, else the year."""
        src = self.source
        year = (
            workbook_year(src.workbook)
            or (parse_period(src.period).year if src.period else None)
            or (parse_period(wanted).year if wanted else dt.date.today().year)
        )
        choices = periods_of(year)
        keep = next((c for c in (wanted.strip(), self.period.value, src.period) if c and c in choices), str(year))
        self._quiet = True
        try:
            self.period.options = choices
            self.period.value = keep
        finally:
            self._quiet = False

    def _branch(self) -> None:
        self._periods()
        self._load()

    def _load(self) -> None:
        try:
            s = self.scored
        except (InputError, ValueError) as exc:
            self.notice.value = (
                "<div class='run-check run-check-error' style='color:#c00000'>"
                f"<b>{html.escape(self.source.label)} {html.escape(str(self.period.value))} 不能计分:</b>"
                f"<pre>{html.escape(str(exc))}</pre></div>"
            )
            self._quiet = True
            try:
                self.member.options = []
            finally:
                self._quiet = False
            self.table.value = self.card.value = self.what_if_out.value = ""
            self.trace_box.children = self.chart_box.children = ()
            return
        self.notice.value = run_notice_html(self.source, s)
        summ = s.result.summary()
        key = SCORE_COLUMN[s.result.period.kind]
        ranked = summ.sort_values(key, ascending=False, na_position="last")
        previous = self.member.value
        options = [(f"{m} {n}", m) for m, n in zip(ranked["member_id"], ranked["name"], strict=True)]
        ids = [m for _, m in options]
        self._quiet = True  # one render after the member list changes, not one per trait event
        try:
            self.member.options = options
            self.member.value = previous if previous in ids else (ids[0] if ids else None)
        finally:
            self._quiet = False
        table = branch_table(s)
        self.sort.options = list(table.columns)
        self.sort.value = label(key) if label(key) in table.columns else table.columns[0]
        sch = s.scheme.scheme
        self.weight.value = sch.monthly.weight
        self.weight.disabled = sch.appraisal.mode == "none"
        self.band.options = [_band_key(b) for b in sch.bands]
        self.share.value = sch.annual_star.share if sch.annual_star is not None else 0.0
        self.share.disabled = sch.annual_star is None
        self._band()
        self._table()
        self._member()
        self.what_if_out.value = ""

    def _band(self) -> None:
        bands = {_band_key(b): b for b in self.scored.scheme.scheme.bands}
        if self.band.value in bands:
            self.band_min.value = bands[self.band.value].min

    def _table(self) -> None:
        table = branch_table(self.scored)
        if self.sort.value in table.columns:
            table = table.sort_values(self.sort.value, ascending=self.ascending.value, na_position="last")
        self.table.value = table.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.2f}")

    def _member(self) -> None:
        import ipywidgets as w

        mid = self.member.value
        if not mid or self._quiet:
            return
        s = self.scored
        self.card.value = card_html(s, mid)
        head, groups = trace_groups(s, mid)
        acc = w.Accordion(children=[w.HTML(g.drop(columns=["level"]).to_html(index=False)) for _, g in groups])
        for i, (title, _) in enumerate(groups):
            acc.set_title(i, title)
        acc.selected_index = None
        self.trace_box.children = [w.HTML(head.drop(columns=["level", "item", "month"]).to_html(index=False)), acc]
        self.chart_box.children = [w.Image(value=png, format="png") for png in charts(s, mid)]

    def _what_if(self) -> None:
        from pydantic import ValidationError

        s = self.scored
        try:
            changes = what_if(
                s,
                monthly_weight=self.weight.value if not self.weight.disabled else None,
                band_min={self.band.value: self.band_min.value} if self.band.value else None,
                annual_star_share=self.share.value if not self.share.disabled else None,
            )
        except (ValidationError, ValueError) as exc:
            why = "; ".join(e["msg"] for e in exc.errors()) if isinstance(exc, ValidationError) else str(exc)
            self.what_if_out.value = (
                f"<p style='color:#c00000'>参数不合规, 未计算 (not a valid scheme): {html.escape(why)}</p>"
            )
            return
        self.what_if_out.value = (
            "<p>星级、等级或年度之星不变。</p>"
            if changes.empty
            else f"<p>{len(changes)} 人会变化:</p>" + changes.to_html(index=False)
        )
