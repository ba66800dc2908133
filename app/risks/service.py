"""The rules of the risk register: the score is likelihood × impact; every rating is kept (`RiskRating`), so the
trend shows; a mitigation carried out by an action names one of the plan's own actions."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.auth import Actor
from app.core.errors import FieldError, Unprocessable
from app.core.reads import Reads
from app.core.resources import Row, Rules
from app.models import Action, RiskRating
from app.models.enums import MitigationStatus, RiskStatus
from app.partnerships.service import today_of

RATED = ("likelihood", "impact", "target_score")  # a change of any of these, or of `review_on`, is a review
RATINGS = (
    select(*(c for c in RiskRating.__table__.c if c.name != "partnership_id"))  # type: ignore[attr-defined]
    .where(col(RiskRating.risk_id) == bindparam("risk_id"))
    .order_by(col(RiskRating.created_at), col(RiskRating.id))
)


async def ratings(reads: Reads, risk_id: uuid.UUID) -> list[Row]:
    """Every rating of the risk, oldest first."""
    return await reads.rows(RATINGS, {"risk_id": risk_id}, cache_key="risk-ratings")


def above_target(row: Row) -> bool:
    return row.get("target_score") is not None and row["score"] > row["target_score"]


def review_overdue(row: Row, today: date) -> bool:
    """An open risk past the date it was to be reviewed by."""
    return row["status"] == RiskStatus.open and row.get("review_on") is not None and row["review_on"] < today


def unmitigated(row: Row) -> bool:
    """An open risk above its target with no mitigation in progress: nothing is bringing it down."""
    return (
        row["status"] == RiskStatus.open
        and above_target(row)
        and not any(m.get("status") == MitigationStatus.in_progress for m in row.get("mitigations") or [])
    )


async def _mitigating_actions(session: AsyncSession, plan_id: Any, mitigations: list[dict[str, Any]] | None) -> None:
    named = {m["action_id"]: i for i, m in enumerate(mitigations or []) if m.get("action_id") is not None}
    if not named:
        return
    found = set(
        (await session.execute(select(col(Action.id)).where(col(Action.id).in_(list(named)), col(Action.plan_id) == plan_id))).scalars()
    )
    missing = [i for action_id, i in named.items() if action_id not in found]
    if missing:
        raise Unprocessable(
            "A mitigation names an action that is not one of the plan's.",
            errors=[FieldError(pointer=f"/mitigations/{i}/action_id", message="no action with this id in the plan") for i in missing],
        )


def _rating(row: Row, actor: Actor, on: date) -> RiskRating:
    return RiskRating(
        partnership_id=row["partnership_id"],
        risk_id=row["id"],
        rated_on=on,
        likelihood=row["likelihood"],
        impact=row["impact"],
        score=row["score"],
        target_score=row.get("target_score"),
        actor_type=actor.actor_type,
        actor_id=actor.actor_id,
    )


class RiskRules(Rules):
    def prepare(self, actor: Actor, values: Row) -> None:
        values["score"] = values["likelihood"] * values["impact"]

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await _mitigating_actions(session, values["plan_id"], values.get("mitigations"))
        values["last_reviewed_on"] = await today_of(session, values["partnership_id"])

    async def after_create(self, session: AsyncSession, actor: Actor, row: Row) -> None:
        session.add(_rating(row, actor, row["last_reviewed_on"]))
        await session.flush()

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        cleared = [k for k in ("likelihood", "impact", "status") if k in changes and changes[k] is None]
        if cleared:
            raise Unprocessable(
                "A risk always has a likelihood, an impact and a status.",
                errors=[FieldError(pointer=f"/{k}", message="cannot be null") for k in cleared],
            )
        if "mitigations" in changes:
            await _mitigating_actions(session, current["plan_id"], changes["mitigations"])
        if changes.keys() & {"likelihood", "impact"}:
            rated = {**current, **changes}
            changes["score"] = int(rated["likelihood"]) * int(rated["impact"])
        if changes.keys() & {*RATED, "review_on"}:
            changes["last_reviewed_on"] = await today_of(session, current["partnership_id"])

    async def after_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row) -> None:
        """Every review is a rating, unchanged or not, so the trend shows when the risk was looked at."""
        if "last_reviewed_on" in changes:
            session.add(_rating({**current, **changes}, actor, changes["last_reviewed_on"]))
            await session.flush()
