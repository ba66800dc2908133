"""The pack as flat tables, for the spreadsheet formats (one CSV file or one XLSX sheet per table).

Cells keep their types (dates, numbers, money as exact decimals); text that a spreadsheet would run
as a formula is defused by the writers (see `formula_safe`).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from app.exports.charts import day, unique_actions

Cell = str | int | float | Decimal | date | bool | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(text: str) -> str:
    """OWASP's advice for CSV injection: a leading quote so no spreadsheet reads the cell as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass
class Table:
    name: str
    title: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


LABELS = {
    "las_2016": "2016 local area SEND inspection framework",
    "area_send_2023": "2023 area SEND inspection framework",
    "full": "Full inspection",
    "revisit": "Revisit",
    "monitoring": "Monitoring inspection",
    "ofsted": "Ofsted",
    "cqc": "CQC",
    "wsoa": "Written Statement of Action",
    "priority_action_plan": "Priority action plan",
    "accelerated_progress_plan": "Accelerated progress plan",
    "improvement_plan": "Improvement plan",
}


def label(value: str | None) -> str:
    return LABELS.get(value or "", (value or "").replace("_", " "))


def _words(value: str | None) -> str | None:
    return value.replace("_", " ") if value else value


def _cover(pack: dict[str, Any]) -> Table:
    data, export = pack["data"], pack["export"]
    plan, inspection = data["plan"], data["inspection"] or {}
    rows: list[list[Cell]] = [
        ["Partnership", data["partnership"]["name"]],
        ["Local authority code", data["partnership"]["la_code"]],
        ["Plan", plan["title"]],
        ["Plan kind", label(plan["kind"])],
        ["Plan status", _words(plan["status"])],
        ["Submission due", day(plan["submission_due_on"])],
        ["Submitted", day(plan["submitted_on"])],
        ["Accepted", day(plan["accepted_on"])],
        ["Revisit due", day(plan["revisit_due_on"])],
        ["Governance and sign-off", plan["governance"]],
        ["Inspection framework", label(inspection.get("framework")) or None],
        ["Inspection kind", label(inspection.get("kind")) or None],
        ["Inspectorates", ", ".join(label(i) for i in inspection.get("inspectorates") or []) or None],
        ["Inspection on site from", day(inspection.get("onsite_start_on"))],
        ["Inspection on site to", day(inspection.get("onsite_end_on"))],
        ["Report published", day(inspection.get("report_published_on"))],
        ["Inspection outcome", inspection.get("outcome")],
        ["Inspection report", inspection.get("report_url")],
        ["Audience", export["audience"]],
        ["As of", day(export["as_of"])],
        ["Recorded by (UTC)", export["recorded_by"]],
        ["Export id", export["id"]],
        ["Data SHA-256", pack["data_sha256"]],
    ]
    return Table("cover", "Cover", ["Field", "Value"], rows)


def _actions(data: dict[str, Any], board: bool) -> Iterator[Table]:
    concerns_of: dict[str, list[str]] = {}
    for concern in data["concerns"]:
        for action in concern["actions"]:
            concerns_of.setdefault(action["ref"], []).append(concern["ref"])
    header = ["Concerns", "Ref", "Action", "Owner", "Owner's role", "Organisation", *(["Owner's email"] if board else [])]
    header += ["Planned start", "Due", "Baseline due", "Forecast", "Completed", "Status", "RAG"]
    header += ["Latest update on", "Latest update RAG", "Per cent complete", "Latest narrative", "Reason for slippage"]
    actions = Table("actions", "Actions", header)
    milestones = Table("milestones", "Milestones", ["Action", "Milestone", "Due", "Status", "Met on"])
    for a in unique_actions(data):
        owner = a["owner"] or {}
        update = a["latest_update"] or {}
        actions.rows.append(
            [
                ", ".join(concerns_of[a["ref"]]),
                a["ref"],
                a["title"],
                owner.get("name"),
                owner.get("job_title"),
                owner.get("organisation"),
                *([owner.get("email")] if board else []),
                day(a["planned_start_on"]),
                day(a["due_on"]),
                day(a["baseline_due_on"]),
                day(a["forecast_on"]),
                day(a["completed_on"]),
                _words(a["status"]),
                a["rag"],
                day(update.get("on")),
                update.get("rag"),
                update.get("percent_complete"),
                update.get("narrative"),
                a["slippage_reason"],
            ]
        )
        for m in a["milestones"]:
            milestones.rows.append([a["ref"], m["title"], day(m["due_on"]), m["status"], day(m["met_on"])])
    yield actions
    yield milestones


def _measures(data: dict[str, Any]) -> Iterator[Table]:
    measures = {m["name"]: m for c in data["concerns"] for m in c["measures"]} | {m["name"]: m for m in data["plan_measures"]}
    header = ["Measure", "Concerns", "Unit", "Direction", "Source", "Baseline", "Baseline on", "Latest", "Latest period end"]
    header += ["Counted over", "Expected now", "Target", "Target by", "Status"]
    summary = Table("measures", "Measures", header)
    observations = Table(
        "observations", "Measure observations", ["Measure", "Period start", "Period end", "Value", "Counted over", "Provisional"]
    )
    for m in measures.values():
        summary.rows.append(
            [
                m["name"],
                ", ".join(m["concern_refs"]),
                m["unit"],
                _words(m["direction"]),
                _words(m["source"]),
                m["baseline_value"],
                day(m["baseline_on"]),
                m["latest_value"],
                day(m["latest_period_end_on"]),
                m["latest_denominator"],
                m["expected_value"],
                m["target_value"],
                day(m["target_on"]),
                _words(m["status"]),
            ]
        )
        for o in m["observations"]:
            observations.rows.append(
                [m["name"], day(o["period_start_on"]), day(o["period_end_on"]), o["value"], o["denominator"], o["provisional"]]
            )
    yield summary
    yield observations


TIMELINESS = [
    ("period_start_on", "Period start"),
    ("period_end_on", "Period end"),
    ("plans_issued", "Plans issued"),
    ("issued_within_20_weeks", "Within 20 weeks"),
    ("pct_within_20_weeks", "% within 20 weeks"),
    ("plans_issued_excl_exceptions", "Plans issued (excluding exceptions)"),
    ("issued_within_20_weeks_excl_exceptions", "Within 20 weeks (excluding exceptions)"),
    ("pct_within_20_weeks_excl_exceptions", "% within 20 weeks (excluding exceptions)"),
    ("over_20_under_52_weeks", "Over 20 and under 52 weeks"),
    ("over_52_weeks", "52 weeks or more"),
    ("avg_weeks", "Average weeks"),
    ("suppressed", "Suppressed (fewer than 10)"),
]


def _timeliness(data: dict[str, Any]) -> Iterator[Table]:
    report = data["ehcp_timeliness"]
    if report is None:
        return
    for key, name, title in (
        ("months", "ehcp_timeliness_months", "EHCP timeliness by month"),
        ("calendar_years", "ehcp_timeliness_years", "EHCP timeliness by calendar year"),
    ):
        rows: list[list[Cell]] = [[day(p[k]) if k.endswith("_on") else p[k] for k, _ in TIMELINESS] for p in report[key]]
        yield Table(name, title, [label for _, label in TIMELINESS], rows)


def tables(pack: dict[str, Any]) -> list[Table]:
    data = pack["data"]
    board = pack["export"]["audience"] == "board"
    found = [_cover(pack)]
    found.append(
        Table(
            "concerns",
            "Concerns",
            ["Ref", "Kind", "Title", "Theme", "Judgement", "Delivery RAG", "Finding (verbatim)"],
            [
                [c["ref"], _words(c["kind"]), c["title"], c["theme"], _words(c["judgement"]), c["delivery_rag"], c["verbatim_text"]]
                for c in data["concerns"]
            ],
        )
    )
    found += _actions(data, board)
    found += _measures(data)
    evidence = Table(
        "evidence", "Evidence index", ["Concern", "Evidence", "Kind", "Dated", "Supports", "Review", "Held locally", "Link", "SHA-256"]
    )
    for c in data["concerns"]:
        for e in c["evidence"]:
            evidence.rows.append(
                [
                    c["ref"],
                    e["title"],
                    _words(e["kind"]),
                    day(e["evidence_on"]),
                    e["supports"],
                    e["review_status"],
                    e["held_locally"],
                    e["link"],
                    e["sha256"],
                ]
            )
    found.append(evidence)
    found += _timeliness(data)
    funding = data["funding"]
    money = [[y["financial_year"], Decimal(y["allocated"]), Decimal(y["spent"]), Decimal(y["remaining"])] for y in funding["years"]]
    total = funding["total"]
    money.append(["Total", Decimal(total["allocated"]), Decimal(total["spent"]), Decimal(total["remaining"])])
    found.append(Table("funding", "Funding by financial year (GBP)", ["Financial year", "Allocated", "Spent", "Remaining"], money))
    return found
