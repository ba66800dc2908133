"""A plan's summary from its state: actions by status and RAG (overall and per concern), measures by
status, and funding allocated, spent and remaining per financial year, in exact decimals."""

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

from app.measures.reads import money
from app.measures.trajectory import assess
from app.models.enums import ActionStatus, MeasureStatus, Rag
from app.plans.rag import derive
from app.progress.state import PlanState, Row

WORST_FIRST = (Rag.red, Rag.amber, Rag.green, Rag.blue)
OPEN = {ActionStatus.not_started, ActionStatus.in_progress}


def action_health(action: Row, today: date, red_after_days: int) -> Any:
    return derive(
        status=action["status"],
        planned_start_on=action.get("planned_start_on"),
        due_on=action.get("due_on"),
        forecast_on=action.get("forecast_on"),
        today=today,
        red_after_days=red_after_days,
    )


def counts(actions: list[Row], rags: dict[str, Rag]) -> dict[str, Any]:
    statuses = Counter(a["status"] for a in actions)
    colours = Counter(rags[a["id"]] for a in actions)
    return {
        "total": len(actions),
        "by_status": {s.value: statuses.get(s.value, 0) for s in ActionStatus},
        "by_rag": {r.value: colours.get(r, 0) for r in Rag},
    }


def delivery_rag(actions: list[Row], rags: dict[str, Rag]) -> str | None:
    """A concern's delivery RAG: the worst RAG of its open actions; blue when every action is completed."""
    live = [rags[a["id"]] for a in actions if a["status"] in OPEN]
    if live:
        return next(r.value for r in WORST_FIRST if r in live)
    if actions and all(a["status"] == ActionStatus.completed for a in actions):
        return Rag.blue.value
    return None


def measure_rows(state: PlanState, today: date) -> list[Row]:
    latest: dict[str, Row] = {}
    for o in state.rows("observation"):
        if o["period_end_on"] > today:
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


def summarise(state: PlanState, *, plan_id: str, as_of: date, red_after_days: int) -> dict[str, Any]:
    actions = state.rows("action")
    rags = {a["id"]: action_health(a, as_of, red_after_days).rag for a in actions}
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
                "actions": counts(mine, rags),
            }
        )
    measures = measure_rows(state, as_of)
    statuses = Counter(m["status"] for m in measures)
    plan = next(iter(state.rows("plan")), {})
    return {
        "plan_id": plan_id,
        "as_of": as_of,
        "plan_status": plan.get("status"),
        "actions": counts(actions, rags),
        "concerns": concerns,
        "measures": {"total": len(measures), "by_status": {s.value: statuses.get(s.value, 0) for s in MeasureStatus}, "items": measures},
        "funding": funding(state),
    }
