"""The reporting cycle's figures for a summary, alerts or a pack, from the plan as recorded at one moment
(`app.progress.state`): the period under review then, its returns by state, the missed ones, every return still
missing, and the RAG the programme agreed for each action (the latest accepted return's)."""

from collections import Counter
from datetime import date
from typing import Any

from app.models.enums import Rag, ReturnStatus
from app.progress.state import PlanState


def reviewed_period(state: PlanState, as_of: date) -> dict[str, Any] | None:
    """The period a Delivery Group reviews on `as_of`: the latest whose returns fell due by then (next month's period,
    begun but not yet due, does not hide it); before any fell due, the latest begun."""
    periods = state.rows("reporting_period")
    due = [p for p in periods if p["returns_due_on"] <= as_of]
    if due:
        return max(due, key=lambda p: (p["returns_due_on"], p["starts_on"], p["id"]))
    begun = [p for p in periods if p["starts_on"] <= as_of]
    return max(begun, key=lambda p: (p["starts_on"], p["id"])) if begun else None


def still_missing(state: PlanState, as_of: date) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every return missed and still not filed, in any period begun by `as_of`, with its period, oldest due first."""
    periods = {p["id"]: p for p in state.rows("reporting_period") if p["starts_on"] <= as_of}
    found = [
        (r, periods[r["period_id"]])
        for r in state.rows("action_return")
        if r["status"] == ReturnStatus.missed and r["period_id"] in periods
    ]
    return sorted(found, key=lambda rp: (rp[1]["returns_due_on"], rp[0]["action_id"]))


def agreed_rags(state: PlanState, as_of: date) -> dict[str, dict[str, Any]]:
    """Per action: the RAG the programme agreed for the period under review (`reviewed_period`), with that period's
    start; an action whose return there is missing or not yet accepted has none (an old agreement is not carried on)."""
    period = reviewed_period(state, as_of)
    if period is None:
        return {}
    return {
        r["action_id"]: {"agreed_rag": r["agreed_rag"], "period_starts_on": period["starts_on"]}
        for r in state.rows("action_return")
        if r["period_id"] == period["id"] and r["status"] == ReturnStatus.accepted and r.get("agreed_rag")
    }


def reporting_summary(state: PlanState, as_of: date) -> dict[str, Any] | None:
    """The reviewed period's returns (`reviewed_period`): counts by state, the missed ones (filed late or not), the
    agreed RAGs; None when no period had begun."""
    period = reviewed_period(state, as_of)
    if period is None:
        return None
    returns = [r for r in state.rows("action_return") if r["period_id"] == period["id"]]
    refs = {a["id"]: a["ref"] for a in state.rows("action")}
    states = Counter(r["status"] for r in returns)
    agreed = Counter(r["agreed_rag"] for r in returns if r["status"] == ReturnStatus.accepted and r.get("agreed_rag"))
    missed = sorted(
        ({"action_id": r["action_id"], "ref": refs.get(r["action_id"], ""), "filed_late": r["status"] != ReturnStatus.missed}
         for r in returns if r.get("missed_at") is not None),
        key=lambda m: (m["ref"], m["action_id"]),
    )  # fmt: skip
    return {
        "period": {k: period[k] for k in ("id", "starts_on", "ends_on", "returns_due_on", "meeting_on", "status")},
        "returns": {**{s.value: states.get(s.value, 0) for s in ReturnStatus}, "total": len(returns)},
        "missed": missed,
        "by_agreed_rag": {rag.value: agreed.get(rag.value, 0) for rag in Rag},
    }
