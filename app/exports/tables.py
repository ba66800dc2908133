"""The pack as flat tables, for the spreadsheet formats (one CSV file or one XLSX sheet per table).

Cells keep their types (dates, numbers, money as exact decimals); text that a spreadsheet would run
as a formula is defused by the writers (see `formula_safe`).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
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
    "board": "Board meeting",
    "dfe_nhse_review": "DfE and NHS England review meeting",
    "stocktake": "DfE and NHS England stocktake",
    "deep_dive": "Deep dive",
    "monitoring_visit": "Monitoring visit",
    "inform": "Informed",
    "consult": "Consulted",
    "co_design": "Co-designed",
    "co_produce": "Co-produced",
    "parent_carer_forum": "the parent carer forum",
    "parents_carers": "parents and carers",
    "children_young_people": "children and young people",
    "voluntary_sector": "the voluntary sector",
    "local_authority": "the local authority",
    "social_care": "social care",
    "young_people": "young people",
    "elected_member": "elected member",
    "dfe": "DfE",
    "nhs_england": "NHS England",
}


def label(value: str | None) -> str:
    return LABELS.get(value or "", (value or "").replace("_", " "))


def _words(value: str | None) -> str | None:
    return value.replace("_", " ") if value else value


NO_REASON = "No reason recorded"


def recorded_moment(export: dict[str, Any]) -> str:
    """The moment a pack shows, in the partnership's time zone: "as recorded at 02:22 on 1 December 2026
    (Europe/London)", or "at the end of" the day when the pack shows the whole day."""
    local = datetime.fromisoformat(export["recorded_by_local"])
    on = f"{local.day} {local:%B %Y}"
    if (local + timedelta(microseconds=1)).time() == time(0):
        return f"as recorded at the end of {on} ({export['timezone']})"
    return f"as recorded at {local:%H:%M} on {on} ({export['timezone']})"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def slippage(action: dict[str, Any]) -> str | None:
    """Why an action slipped, as the pack decided it (`app.progress.summary.slippage_reason`), or "No reason
    recorded" when it is off course and none was given."""
    reason: str | None = action["slippage_reason"]
    return NO_REASON if action["reason_missing"] else reason


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
        ["Moment shown", _sentence(recorded_moment(export))],
        ["Recorded by (local time)", export["recorded_by_local"]],
        ["Time zone", export["timezone"]],
        ["Recorded by (UTC)", export["recorded_by"]],
        ["Export id", export["id"]],
        ["Data SHA-256", pack["data_sha256"]],
    ]
    timeliness = data["ehcp_timeliness"]
    if timeliness is not None:
        rows += [
            ["EHCP timeliness measure", timeliness["definition"]],
            ["EHCP timeliness covered from", day(timeliness["covered_from"])],
        ]
    return Table("cover", "Cover", ["Field", "Value"], rows)


RAGS = ("red", "amber", "green", "blue")
STATUSES = ("not_started", "in_progress", "completed", "suspended", "cancelled")


def _counts(counts: dict[str, Any]) -> list[Cell]:
    return [
        counts["total"],
        *(counts["by_rag"][r] for r in RAGS),
        *(counts["by_baseline_rag"][r] for r in RAGS),
        counts["reprogrammed"],
        *(counts["by_status"][s] for s in STATUSES),
    ]


def _overview(data: dict[str, Any]) -> Table:
    """Actions per concern and in all, by RAG against the due date and against the baseline, side by side."""
    overview = data["overview"]
    header = ["Concern", "Title", "Delivery RAG", "Baseline delivery RAG", "Actions"]
    header += [f"{r.capitalize()} (against due date)" for r in RAGS] + [f"{r.capitalize()} (against baseline)" for r in RAGS]
    header += ["Reprogrammed", *(str(_words(s)).capitalize() for s in STATUSES), "Note"]
    rows: list[list[Cell]] = [
        [c["ref"], c["title"], c["delivery_rag"], c["baseline_rag"], *_counts(c["action_counts"]), None] for c in data["concerns"]
    ]
    rows.append(["All actions", None, None, None, *_counts(overview["actions"]), overview["concerns_note"]])
    return Table("overview", "Overview", header, rows)


def _returns(data: dict[str, Any]) -> Iterator[Table]:
    """The latest monthly period's returns: how many in each state, which were missed, the RAGs agreed."""
    reporting = data["overview"]["reporting"]
    if reporting is None:
        return
    period = reporting["period"]
    rows: list[list[Cell]] = [
        ["Period", f"{day(period['starts_on'])} to {day(period['ends_on'])}"],
        ["Returns due", day(period["returns_due_on"])],
    ]
    rows += [["Delivery Group meeting", day(period["meeting_on"])]] if period["meeting_on"] else []
    rows += [[f"Returns {'still missing' if state == 'missed' else _words(state)}", n] for state, n in reporting["returns"].items()]
    rows += [[f"Agreed {rag}", n] for rag, n in reporting["by_agreed_rag"].items()]
    rows += [
        [
            "Missed at the due date",
            ", ".join(m["ref"] + (" (filed late)" if m["filed_late"] else "") for m in reporting["missed"]) or "none",
        ]
    ]
    yield Table("returns", "Monthly returns", ["Item", "Value"], rows)


def _actions(data: dict[str, Any], board: bool) -> Iterator[Table]:
    concerns_of: dict[str, list[str]] = {}
    for concern in data["concerns"]:
        for action in concern["actions"]:
            concerns_of.setdefault(action["ref"], []).append(concern["ref"])
    header = ["Concerns", "Ref", "Action", "Success criteria", "Owner", "Owner's role", "Organisation"]
    header += [*(["Owner's email"] if board else []), "Owner has left"]
    header += ["Planned start", "Baseline due", "Due", "Forecast", "Completed", "Variance from baseline (days)", "Status"]
    header += ["Days overdue", "RAG (against due date)", "Baseline RAG (against baseline due date)", "Owner's reported RAG"]
    header += ["Agreed RAG (latest monthly return)", "Latest return missed", "Latest return filed late"]
    header += ["Latest update on", "Per cent complete", "Latest narrative", "Blockers"]
    header += ["Reprogrammes", "Last reprogrammed on", "Moved from", "Moved to", "Reprogramme reason"]
    header += ["Reprogramme approved at", "Reprogrammed by", "Reason for slippage", "Milestones missed"]
    actions = Table("actions", "Actions", header)
    milestones = Table("milestones", "Milestones", ["Action", "Milestone", "Due", "Status", "Met on", "Missed"])
    for a in unique_actions(data):
        owner = a["owner"] or {}
        update = a["latest_update"] or {}
        move = a["latest_reprogramme"] or {}
        actions.rows.append(
            [
                ", ".join(concerns_of[a["ref"]]),
                a["ref"],
                a["title"],
                a["success_criteria"],
                owner.get("name"),
                owner.get("job_title"),
                owner.get("organisation"),
                *([owner.get("email")] if board else []),
                owner.get("has_left"),
                day(a["planned_start_on"]),
                day(a["baseline_due_on"]),
                day(a["due_on"]),
                day(a["forecast_on"]),
                day(a["completed_on"]),
                a["variance_days"],
                _words(a["status"]),
                a["days_overdue"],
                a["rag"],
                a["baseline_rag"],
                update.get("rag"),
                a["agreed_rag"],
                a["return_missed"],
                a["return_filed_late"],
                day(update.get("on")),
                update.get("percent_complete"),
                update.get("narrative"),
                update.get("blockers"),
                a["reprogramme_count"],
                day(move.get("on")),
                day(move.get("from_due_on")),
                day(move.get("to_due_on")),
                move.get("reason"),
                move.get("approved_at_meeting"),
                move.get("by"),
                slippage(a),
                sum(1 for m in a["milestones"] if m["missed"]),
            ]
        )
        for m in a["milestones"]:
            milestones.rows.append([a["ref"], m["title"], day(m["due_on"]), _words(m["status"]), day(m["met_on"]), m["missed"]])
    yield actions
    yield milestones


def _measures(data: dict[str, Any]) -> Iterator[Table]:
    measures = {m["name"]: m for c in data["concerns"] for m in c["measures"]} | {m["name"]: m for m in data["plan_measures"]}
    header = ["Measure", "Definition", "Computed as", "Concerns", "Unit", "Direction", "Source", "Baseline", "Baseline on", "Latest"]
    header += ["Latest period end", "Counted over", "Expected now", "Target", "Target by", "Status"]
    summary = Table("measures", "Measures", header)
    observations = Table(
        "observations", "Measure observations", ["Measure", "Period start", "Period end", "Value", "Counted over", "Provisional"]
    )
    for m in measures.values():
        summary.rows.append(
            [
                m["name"],
                m["definition"],
                m["computed_as"],
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
    ("covered", "Covered"),
    ("plans_issued_excl_exceptions", "Plans issued (excluding exceptions)"),
    ("issued_within_20_weeks_excl_exceptions", "Within 20 weeks (excluding exceptions)"),
    ("pct_within_20_weeks_excl_exceptions", "% within 20 weeks (excluding exceptions): the measure"),
    ("plans_issued", "Plans issued (including exceptions)"),
    ("issued_within_20_weeks", "Within 20 weeks (including exceptions)"),
    ("pct_within_20_weeks", "% within 20 weeks (including exceptions)"),
    ("over_20_under_52_weeks", "Over 20 and under 52 weeks"),
    ("over_52_weeks", "52 weeks or more"),
    ("avg_weeks", "Average weeks"),
    ("suppressed", "Suppressed (fewer than 10)"),
    ("decisions_due", "Decisions due (whether to assess)"),
    ("decided_within_6_weeks", "Decided within 6 weeks"),
    ("pct_decided_within_6_weeks", "% decided within 6 weeks"),
    ("decisions_suppressed", "Decisions suppressed (fewer than 10)"),
    ("review_meetings", "Annual review meetings"),
    ("review_decisions_within_4_weeks", "Review decisions within 4 weeks"),
    ("review_decisions_late", "Review decisions late"),
    ("review_decisions_pending", "Review decisions pending"),
    ("pct_review_decisions_within_4_weeks", "% review decisions within 4 weeks"),
    ("reviews_suppressed", "Reviews suppressed (fewer than 10)"),
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


def _impact_cells(latest: dict[str, Any] | None) -> list[Cell]:
    if latest is None:
        return [None, "Not yet assessed", None, None]
    return [day(latest["as_of"]), _words(latest["judgement"]), latest["judgement_reason"], latest["narrative"]]


def _joined(values: list[str] | None) -> str | None:
    return ", ".join(values) if values else None


def _beside_delivery(data: dict[str, Any]) -> Iterator[Table]:
    """The meeting's page, what changed, governance, the risk register and co-production, each as its own table."""
    meeting = data.get("meeting")
    if meeting is not None:
        m = meeting["meeting"]
        due: list[list[Cell]] = [
            ["Decision due", f"{d['text']} ({_joined(d['action_refs'] + d['concern_refs'] + d['risk_refs']) or 'no links'})"]
            for d in meeting["decisions_due"]
        ]
        followed: list[list[Cell]] = [
            ["Action of the last meeting", f"{a['title']}: {_words(a['status'])}{' (overdue)' if a['is_overdue'] else ''}"]
            for a in meeting["last_meeting_actions"]
        ]
        still: list[list[Cell]] = [
            [
                "Still open from an earlier meeting",
                f"{a['title']} (asked at {a['meeting']}, due {a['due_on']}){' (overdue)' if a['is_overdue'] else ''}",
            ]
            for a in meeting["outstanding_actions"]
        ]
        flagged: list[list[Cell]] = [
            ["Open risk", f"{r['ref']}: {r['title']}, score {r['score']}{' (review overdue)' if r['review_overdue'] else ''}"
             f"{' (above target, no mitigation in progress)' if r['unmitigated'] else ''}"]
            for r in meeting["open_risks"]
        ]  # fmt: skip
        coming: list[list[Cell]] = [
            ["Coming up", f"{c['title']}: {c['on']}{', evidence due ' + c['evidence_due_on'] if c['evidence_due_on'] else ''}"]
            for c in meeting["coming"]
        ]
        yield Table(
            "meeting",
            f"Meeting: {m['title']}",
            ["Item", "Detail"],
            [
                ["Meeting", m["title"]],
                ["Body", m["board"]],
                ["Held on", day(m["held_on"])],
                [
                    "Previous meeting",
                    None
                    if meeting["previous_meeting"] is None
                    else f"{meeting['previous_meeting']['title']} ({meeting['previous_meeting']['held_on']})",
                ],
                *due,
                *followed,
                *still,
                *flagged,
                *coming,
            ],
        )
    changes = data.get("changes")
    if changes is not None:
        rows: list[list[Cell]] = [["New action", a["ref"], a["title"], None] for a in changes["new_actions"]]
        rows += [["Completed", a["ref"], a["title"], day(a["completed_on"])] for a in changes["completed"]]
        rows += [["Re-rated", a["ref"], a["title"], f"{a['from_rag']} to {a['to_rag']}"] for a in changes["re_rated"]]
        rows += [
            ["Reprogrammed", m["ref"], None, f"{m['from_due_on']} to {m['to_due_on']}: {m['reason']}"] for m in changes["reprogrammed"]
        ]
        rows += [["Return missed", m["ref"], None, "filed late" if m["filed_late"] else "still missing"] for m in changes["missed_returns"]]
        rows += [["New risk", r["ref"], r["title"], r["score"]] for r in changes["new_risks"]]
        rows += [["Risk re-rated", r["ref"], None, f"{r['from_score']} to {r['to_score']}"] for r in changes["risks_re_rated"]]
        yield Table("changes", f"What changed since {changes['since']}", ["Change", "Ref", "Title", "Detail"], rows)
    governance = data.get("governance")
    if governance is not None:
        meetings = Table(
            "meetings",
            "Meetings and decisions",
            ["Held on", "Meeting", "Kind", "Body", "Parent carer forum present", "Decisions", "Meeting actions", "Feedback"],
        )
        for m in governance["meetings"]:
            meetings.rows.append(
                [
                    day(m["held_on"]),
                    m["title"],
                    _words(m["kind"]),
                    m["board"],
                    m["parent_carer_forum_present"],
                    "; ".join(d["text"] for d in m["decisions"]) or None,
                    "; ".join(f"{a['title']} ({_words(a['status'])})" for a in m["actions"]) or None,
                    m["feedback"],
                ]
            )
        yield meetings
    register = data.get("risks")
    if register is not None:
        yield Table(
            "risks",
            "Risk register",
            ["Ref", "Risk", "Owner", "Likelihood", "Impact", "Score", "Target", "Trend", "Mitigations in progress", "Review on", "Status"],
            [
                [
                    r["ref"],
                    r["title"],
                    r["owner"],
                    r["likelihood"],
                    r["impact"],
                    r["score"],
                    r["target_score"],
                    " > ".join(str(x) for x in r["trend"]) or None,
                    "; ".join(m["text"] for m in r["mitigations"] if m["status"] == "in_progress") or None,
                    day(r["review_on"]),
                    r["status"],
                ]
                for r in register
            ],
        )
    yield Table(
        "coproduction",
        "Co-production: you said, we did",
        ["Held on", "What", "Who took part", "Level", "You said", "We did", "Concerns", "Signed off"],
        [
            [
                day(e["held_on"]),
                e["title"],
                _joined([label(p) for p in e["participants"]]),
                _words(e["level"]),
                e["you_said"],
                e["we_did"],
                _joined(e["concern_refs"]),
                e["signed_off"],
            ]
            for e in data.get("coproduction") or []
        ],
    )


def tables(pack: dict[str, Any]) -> list[Table]:
    data = pack["data"]
    board = pack["export"]["audience"] == "board"
    found = [_cover(pack), _overview(data), *_returns(data), *_beside_delivery(data)]
    found.append(
        Table(
            "concerns",
            "Concerns",
            [
                "Ref",
                "Kind",
                "Title",
                "Theme",
                "Inspectors' judgement",
                "Delivery RAG",
                "Baseline delivery RAG",
                "Finding (verbatim)",
                "Intended outcome",
                "Success criteria",
                "Impact RAG",
                "Impact judged on",
                "Impact judgement",
                "Why",
                "What has changed for families",
            ],
            [
                [
                    c["ref"],
                    _words(c["kind"]),
                    c["title"],
                    c["theme"],
                    _words(c["judgement"]),
                    c["delivery_rag"],
                    c["baseline_rag"],
                    c["verbatim_text"],
                    c["intended_outcome"],
                    c["success_criteria"],
                    c["impact_rag"],
                    *_impact_cells(c["latest_impact"]),
                ]
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
