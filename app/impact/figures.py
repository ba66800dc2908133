"""A concern's latest impact statement and its impact RAG: one rule for a concern read, a summary and every pack.

The impact RAG stands beside the delivery RAG of the concern's actions and is never mixed with it: actions can all be
on time while nothing has yet changed for families. It follows the partnership's own latest judgement (green for
sufficient progress, amber for partial, red for insufficient), and is null until a first statement is made.
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from app.models.enums import ImpactJudgement, Rag

Row = dict[str, Any]
IMPACT_RAG = {
    ImpactJudgement.sufficient_progress: Rag.green,
    ImpactJudgement.partial_progress: Rag.amber,
    ImpactJudgement.insufficient_progress: Rag.red,
}
SHOWN = ("id", "as_of", "period_id", "judgement", "judgement_reason", "narrative")


def latest_by_concern(statements: Iterable[Row], as_of: date | None = None) -> dict[str, Row]:
    """Per concern (by its id as text): the statement with the latest `as_of` (then the latest recorded), among those
    dated on or before `as_of` when given."""
    found: dict[str, Row] = {}
    for row in statements:
        if as_of is not None and row["as_of"] > as_of:
            continue
        key = str(row["concern_id"])
        held = found.get(key)
        if held is None or (row["as_of"], row["created_at"], str(row["id"])) > (held["as_of"], held["created_at"], str(held["id"])):
            found[key] = row
    return found


def impact(statement: Row | None) -> Row:
    """What a concern shows of its impact: the latest statement (or null) and the impact RAG."""
    if statement is None:
        return {"latest_impact": None, "impact_rag": None}
    shown = {k: statement.get(k) for k in SHOWN}
    shown["id"] = str(shown["id"])
    shown["period_id"] = None if shown["period_id"] is None else str(shown["period_id"])
    return {"latest_impact": shown, "impact_rag": IMPACT_RAG[ImpactJudgement(statement["judgement"])].value}
