"""A plan's summary from its state: actions by status, RAG and baseline RAG (overall and per concern),
measures by status, and funding allocated, spent and remaining per financial year, in exact decimals.

The summary endpoint, every history point and every pack's overview are this one computation over
the plan as recorded at one moment (`app.progress.state.state_at`)."""

from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.impact.figures import impact, latest_by_concern
from app.measures.reads import money
from app.measures.trajectory import assess
from app.models.enums import ActionStatus, MeasureStatus, Rag
from app.plans import rag
from app.progress.state import PlanState, Row, by_action
from app.reporting.figures import agreed_rags, reporting_summary

WORST_FIRST = (Rag.red, Rag.amber, Rag.green, Rag.blue)
OPEN = {ActionStatus.not_started, ActionStatus.in_progress}


ON_COURSE = {Rag.green, Rag.blue}
STOPPED = rag.NEVER_OVERDUE - {ActionStatus.completed}  # suspended, cancelled


def off_course(action: Row, health: rag.Slippage) -> bool:
    """Red or amber against the due date or the baseline, or stopped: an action whose slippage needs a reason."""
    return health.rag not in ON_COURSE or health.baseline_rag not in ON_COURSE or action["status"] in STOPPED


def slippage_reason(action: Row, health: rag.Slippage, move: Row | None, update: Row | None) -> str | None:
    """Why an off-course action slipped: the latest reprogramme's reason, unless the action is off course against
    its moved date and a later progress update names blockers; else the latest blockers. None when on course or
    when nothing was recorded."""
    if not off_course(action, health):
        return None
    blockers: str | None = (update or {}).get("blockers")
    if move is None:
        return blockers
    newer = update is not None and update["created_at"] > move["created_at"]
    if blockers and newer and health.rag not in ON_COURSE:
        return blockers
    reason: str = move["reason"]
    return reason


def healths(state: PlanState, today: date, red_after_days: int) -> dict[str, rag.Slippage]:
    return {a["id"]: rag.assess(a, today, red_after_days) for a in state.rows("action")}


def counts(actions: list[Row], health: dict[str, rag.Slippage], moved: set[str]) -> dict[str, Any]:
    """Actions by status, by RAG and by baseline RAG, and how many were reprogrammed (`moved`: their ids)."""
    statuses = Counter(a["status"] for a in actions)
    colours = Counter(health[a["id"]].rag for a in actions)
    baseline = Counter(health[a["id"]].baseline_rag for a in actions)
    return {
        "total": len(actions),
        "by_status": {s.value: statuses.get(s.value, 0) for s in ActionStatus},
        "by_rag": {r.value: colours.get(r, 0) for r in Rag},
        "by_baseline_rag": {r.value: baseline.get(r, 0) for r in Rag},
        "reprogrammed": sum(1 for a in actions if a["id"] in moved),
    }


def delivery_rag(actions: list[Row], rags: dict[str, Rag]) -> str | None:
    """A concern's delivery RAG: the worst RAG of its open actions; blue when every action is completed."""
    live = [rags[a["id"]] for a in actions if a["status"] in OPEN]
    if live:
        return next(r.value for r in WORST_FIRST if r in live)
    if actions and all(a["status"] == ActionStatus.completed for a in actions):
        return Rag.blue.value
    return None


def in_several_concerns(actions: list[Row]) -> int:
    """Actions that answer more than one concern: counted under each, so concern rows add up to more."""
    return sum(1 for a in actions if len(a.get("concern_ids", [])) > 1)


def counts_as_latest(observation: Row, today: date) -> bool:
    """The rule for a measure's latest value, here and on `GET /measures/{id}`: a final (not provisional) figure
    for a period that has begun. A provisional figure (the current month of a computed measure) is listed but is
    never the headline: two plans issued on the 2nd of the month are not a month's timeliness. The state already
    leaves out what was recorded after the moment."""
    start: date = observation["period_start_on"]
    return start <= today and not observation.get("provisional")


def measure_rows(state: PlanState, today: date) -> list[Row]:
    latest: dict[str, Row] = {}
    for o in state.rows("observation"):
        if not counts_as_latest(o, today):
            continue
        held = latest.get(o["measure_id"])
        if held is None or (o["period_end_on"], o["created_at"]) > (held["period_end_on"], held["created_at"]):
            latest[o["measure_id"]] = o
    found = []
    for m in sorted(state.rows("measure"), key=lambda m: (m["name"], m["id"])):
        obs = latest.get(m["id"])
        value, end, denominator = (obs["value"], obs["period_end_on"], obs.get("denominator")) if obs else (None, None, None)
        result = assess(m, value, end, today)
        found.append(
            {
                "id": m["id"],
                "name": m["name"],
                "unit": m["unit"],
                "concern_ids": m.get("concern_ids", []),
                "baseline_value": m["baseline_value"],
                "target_value": m["target_value"],
                "latest_value": value,
                "latest_period_end_on": end,
                "latest_denominator": denominator,
                "expected_value": result.expected_value,
                "status": result.status.value,
            }
        )
    return found


def funding(state: PlanState) -> dict[str, Any]:
    years: dict[str, dict[str, Decimal]] = {}
    for line in state.rows("funding_line"):
        year = years.setdefault(line["financial_year"], {"allocation": Decimal(0), "spend": Decimal(0)})
        year[line["kind"]] += line["amount"]
    rows = [
        {
            "financial_year": fy,
            "allocated": money(v["allocation"]),
            "spent": money(v["spend"]),
            "remaining": money(v["allocation"] - v["spend"]),
        }
        for fy, v in sorted(years.items())
    ]
    allocated = sum((v["allocation"] for v in years.values()), Decimal(0))
    spent = sum((v["spend"] for v in years.values()), Decimal(0))
    return {
        "currency": "GBP",
        "years": rows,
        "total": {"allocated": money(allocated), "spent": money(spent), "remaining": money(allocated - spent)},
    }


def off_course_actions(state: PlanState, health: dict[str, rag.Slippage], agreed: dict[str, dict[str, Any]]) -> list[Row]:
    """The off-course actions, by ref (those the programme agreed red or amber too, whatever their dates say): both
    RAGs, the agreed one, variance, reprogrammes and the reason recorded (or none)."""
    moves, updates = by_action(state, "reprogramme"), by_action(state, "progress_update")
    rows = []
    for a in sorted(state.rows("action"), key=lambda a: (a["ref"], a["id"])):
        h = health[a["id"]]
        agreed_rag = agreed.get(a["id"], {}).get("agreed_rag")
        if not off_course(a, h) and agreed_rag not in (Rag.red, Rag.amber):
            continue
        move = moves[a["id"]][-1] if a["id"] in moves else None
        update = updates[a["id"]][-1] if a["id"] in updates else None
        rows.append(
            {
                "id": a["id"],
                "ref": a["ref"],
                "title": a["title"],
                "status": a["status"],
                "rag": h.rag.value,
                "baseline_rag": h.baseline_rag.value,
                "reported_rag": None if update is None else update["rag"],
                "agreed_rag": agreed_rag,
                "days_overdue": h.days_overdue,
                "variance_days": h.variance_days,
                "reprogramme_count": len(moves.get(a["id"], [])),
                "latest_reprogramme": None
                if move is None
                else {k: move.get(k) for k in ("previous_due_on", "new_due_on", "reason", "approved_at_meeting", "created_at")},
                "reason": slippage_reason(a, h, move, update),
            }
        )
    return rows


def summarise(state: PlanState, *, plan_id: str, as_of: date, recorded_at: datetime, red_after_days: int) -> dict[str, Any]:
    actions = state.rows("action")
    health = healths(state, as_of, red_after_days)
    agreed = agreed_rags(state, as_of)
    rags = {k: h.rag for k, h in health.items()}
    baseline = {k: h.baseline_rag for k, h in health.items()}
    moved = {m["action_id"] for m in state.rows("reprogramme")}
    impacts = latest_by_concern(state.rows("impact_statement"), as_of)
    concerns = []
    for c in sorted(state.rows("concern"), key=lambda c: (c["ref"], c["id"])):
        mine = [a for a in actions if c["id"] in a.get("concern_ids", [])]
        concerns.append(
            {
                "id": c["id"],
                "ref": c["ref"],
                "title": c["title"],
                "judgement": c["judgement"],
                "rag": delivery_rag(mine, rags),
                "baseline_rag": delivery_rag(mine, baseline),
                "actions": counts(mine, health, moved),
                **impact(impacts.get(c["id"])),
            }
        )
    measures = measure_rows(state, as_of)
    statuses = Counter(m["status"] for m in measures)
    plan = next(iter(state.rows("plan")), {})
    return {
        "plan_id": plan_id,
        "as_of": as_of,
        "recorded_at": recorded_at,
        "plan_status": plan.get("status"),
        "actions": counts(actions, health, moved),
        "actions_in_several_concerns": in_several_concerns(actions),
        "concerns": concerns,
        "off_course": off_course_actions(state, health, agreed),
        "measures": {"total": len(measures), "by_status": {s.value: statuses.get(s.value, 0) for s in MeasureStatus}, "items": measures},
        "funding": funding(state),
        "reporting": reporting_summary(state, as_of),
    }
