"""The pack's charts, drawn on the server with matplotlib's Agg backend (no display, no browser, no network).

Each chart comes with a text alternative that states what it shows, and every figure in it is also
in a table of the pack. The same data gives the same PNG bytes.
"""

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# GOV.UK palette: each colour keeps 4.5:1 contrast with its label text.
COLOURS = {"red": "#d4351c", "amber": "#f47738", "green": "#00703c", "blue": "#1d70b8"}
LABEL_ON = {"red": "white", "amber": "black", "green": "white", "blue": "white"}
INK, MUTED, TRAJECTORY = "#0b0c0c", "#505a5f", "#505a5f"


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    alt: str
    png: bytes


def _figure(height: float = 3.2) -> Figure:
    fig = Figure(figsize=(8, height), dpi=150, layout="constrained")
    fig.patch.set_facecolor("white")
    return fig


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=INK, labelsize=8)
    ax.grid(axis="y", color="#b1b4b6", linewidth=0.5)
    ax.set_axisbelow(True)


def _months_axis(ax: Any) -> None:
    ax.xaxis.set_major_formatter(DateFormatter("%b %Y"))  # type: ignore[no-untyped-call]


def day(value: str | None) -> date | None:
    """A pack's ISO date (or None)."""
    return date.fromisoformat(value) if value else None


def unique_actions(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each action once (an action answering two concerns is listed under both)."""
    seen: dict[str, dict[str, Any]] = {}
    for concern in data["concerns"]:
        for action in concern["actions"]:
            seen.setdefault(action["ref"], action)
    return [seen[k] for k in sorted(seen)]


def rag_by_concern(data: dict[str, Any]) -> Chart | None:
    rows = [(c["ref"], {k: c["action_counts"]["by_rag"][k] for k in COLOURS}) for c in data["concerns"]]
    if not rows or not any(sum(r.values()) for _, r in rows):
        return None
    fig = _figure(max(1.6, 0.45 * len(rows) + 1.0))
    ax: Any = fig.add_subplot()
    refs = [ref for ref, _ in rows][::-1]
    left = [0] * len(refs)
    for colour in COLOURS:
        values = [r[colour] for _, r in rows][::-1]
        bars = ax.barh(refs, values, left=left, color=COLOURS[colour], label=colour.capitalize(), edgecolor="white")
        ax.bar_label(bars, labels=[str(v) if v else "" for v in values], label_type="center", color=LABEL_ON[colour], fontsize=8)
        left = [a + b for a, b in zip(left, values, strict=True)]
    _style(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#b1b4b6", linewidth=0.5)
    ax.set_xlabel("Actions", color=INK, fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(ncols=4, fontsize=8, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    parts = [f"{ref}: " + ", ".join(f"{n} {k}" for k, n in r.items() if n) for ref, r in rows if sum(r.values())]
    return Chart(
        "rag-by-concern",
        "Actions by RAG rating against their due dates, per concern",
        "Actions by RAG rating against their due dates, per concern. " + "; ".join(parts) + ".",
        _png(fig),
    )


def _month_ends(first: date, last: date) -> list[date]:
    """The last day of each month from `first`'s to `last`'s (the final one cut at `last`)."""
    found, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        following = date(year + month // 12, month % 12 + 1, 1)
        found.append(min(following - timedelta(days=1), last))
        year, month = following.year, following.month
    return found


def actions_over_time(data: dict[str, Any], as_of: date) -> Chart | None:
    actions = unique_actions(data)
    planned = sorted(d for a in actions if (d := day(a["baseline_due_on"] or a["due_on"])) is not None)
    done = sorted(d for a in actions if (d := day(a["completed_on"])) is not None and d <= as_of)
    starts = [d for d in (planned[:1] + done[:1] + [day(data["plan"]["accepted_on"])]) if d is not None and d <= as_of]
    if not starts or not planned:
        return None
    ends = _month_ends(min(starts), as_of)
    due = [sum(1 for d in planned if d <= e) for e in ends]
    complete = [sum(1 for d in done if d <= e) for e in ends]
    fig = _figure()
    ax: Any = fig.add_subplot()
    ax.step(ends, due, where="post", color=MUTED, linestyle="--", linewidth=1.6, label="Planned to be complete (baseline due date)")
    ax.step(ends, complete, where="post", color=COLOURS["blue"], linewidth=2.2, label="Completed")
    _style(ax)
    _months_axis(ax)
    ax.set_ylabel("Actions (cumulative)", color=INK, fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    alt = (
        f"Actions completed against planned, month by month to {as_of:%-d %B %Y}: by then {due[-1]} of {len(actions)} actions were "
        f"due by their baseline dates and {complete[-1]} were completed."
    )
    return Chart("actions-over-time", "Actions completed against planned", alt, _png(fig))


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "not shown"
    text = f"{value:g}"
    return f"{text}%" if unit == "percent" else text


def measure_chart(index: int, measure: dict[str, Any]) -> Chart | None:
    shown = [(day(o["period_end_on"]), o["value"]) for o in measure["observations"] if o["value"] is not None]
    if not shown:
        return None
    line = [(day(p["on"]), p["value"]) for p in measure["trajectory"]]
    fig = _figure(2.8)
    ax: Any = fig.add_subplot()
    ax.plot([d for d, _ in line], [v for _, v in line], color=TRAJECTORY, linestyle="--", linewidth=1.4, label="Trajectory to target")
    ax.plot([d for d, _ in shown], [v for _, v in shown], color=COLOURS["blue"], marker="o", markersize=3.5, linewidth=2, label="Recorded")
    _style(ax)
    _months_axis(ax)
    ax.set_ylabel(measure["unit"], color=INK, fontsize=8)
    ax.legend(fontsize=8, frameon=False, loc="best")
    unit = measure["unit"]
    alt = (
        f"{measure['name']} against its trajectory: baseline {_number(measure['baseline_value'], unit)} on {measure['baseline_on']}, "
        f"latest {_number(measure['latest_value'], unit)} for the period ending {measure['latest_period_end_on'] or 'never'}, "
        f"target {_number(measure['target_value'], unit)} by {measure['target_on']}; status {measure['status'].replace('_', ' ')}."
    )
    return Chart(f"measure-{index}", measure["name"], alt, _png(fig))


def timeliness_chart(data: dict[str, Any]) -> Chart | None:
    """The 20-week measure excluding exceptions by month (bars), the figure including exceptions beside it (points).
    A month that is not covered, or whose figures are not shown, is left empty and never drawn as a value."""
    report = data["ehcp_timeliness"]
    if report is None:
        return None
    months = report["months"]
    labels = [date.fromisoformat(m["period_start_on"]).strftime("%b %y") for m in months]
    x = list(range(len(months)))
    headline = [m["pct_within_20_weeks_excl_exceptions"] if m["covered"] else None for m in months]
    including = [m["pct_within_20_weeks"] if m["covered"] else None for m in months]
    fig = _figure()
    ax: Any = fig.add_subplot()
    uncovered = [i for i, m in enumerate(months) if not m["covered"]]
    for n, i in enumerate(uncovered):
        ax.axvspan(i - 0.5, i + 0.5, facecolor="#f3f2f1", edgecolor="#b1b4b6", hatch="//", linewidth=0, label=None if n else "Not covered")
    shown = [(i, v) for i, v in zip(x, headline, strict=True) if v is not None]
    ax.bar([i for i, _ in shown], [v for _, v in shown], color=COLOURS["blue"], label="Within 20 weeks, excluding exceptions (the measure)")
    ax.plot(
        x,
        [v if v is not None else float("nan") for v in including],
        color=INK,
        marker="o",
        markersize=3,
        linestyle="none",
        label="Including exceptions",
    )
    if report["target_pct"] is not None:
        ax.axhline(report["target_pct"], color=COLOURS["red"], linestyle="--", linewidth=1.4, label=f"Target {report['target_pct']:g}%")
    _style(ax)
    ax.set_xlim(-0.5, len(months) - 0.5)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 100)
    ax.set_ylabel("% issued within 20 weeks", color=INK, fontsize=8)
    ax.tick_params(axis="x", labelrotation=90)
    ax.legend(fontsize=8, frameon=False, ncols=2, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    known = [(labels[i], v, including[i]) for i, v in shown]
    if known:
        lab, value, other = known[-1]
        beside = f" ({other:g}% including exceptions)" if other is not None else ""
        latest = f"latest {value:g}% excluding exceptions in {lab}{beside}"
    else:
        latest = "no covered month with figures to show"
    target = f", against a target of {report['target_pct']:g}%" if report["target_pct"] is not None else ""
    gap = ""
    if uncovered:
        first, last = labels[uncovered[0]], labels[uncovered[-1]]
        gap = f" Not covered, so not drawn: {first}" + (f" to {last}" if last != first else "") + "."
    alt = (
        f"EHC plans issued within 20 weeks by month, {labels[0]} to {labels[-1]}, excluding exceptions (the measure) and "
        f"including them: {latest}{target}.{gap}"
    )
    return Chart("ehcp-timeliness", "EHC plans issued within 20 weeks, by month", alt, _png(fig))


def all_charts(data: dict[str, Any], as_of: date) -> list[Chart]:
    measures = [m for c in data["concerns"] for m in c["measures"]] + data["plan_measures"]
    distinct = list({m["name"]: m for m in measures}.values())
    found = [rag_by_concern(data), actions_over_time(data, as_of)]
    found += [measure_chart(i, m) for i, m in enumerate(distinct, start=1)]
    found.append(timeliness_chart(data))
    return [c for c in found if c is not None]
