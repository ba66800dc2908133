"""The rules of the engagement log: what the forum signs off (a pack, a period's return) is the plan's own."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Actor
from app.core.errors import FieldError, Unprocessable
from app.core.resources import Row, Rules
from app.models import Export, ReportingPeriod
from app.partnerships.service import today_of

SIGNED_OFF = (("signs_off_export_id", Export, "pack"), ("signs_off_period_id", ReportingPeriod, "reporting period"))


async def _of_the_plan(session: AsyncSession, plan_id: Any, values: Row) -> None:
    errors = []
    for field, table, noun in SIGNED_OFF:
        if values.get(field) is None:
            continue
        columns: Any = table.__table__.c  # type: ignore[union-attr]
        owner = (await session.execute(select(columns.plan_id).where(columns.id == values[field]))).scalar_one_or_none()
        if owner != plan_id:
            errors.append(FieldError(pointer=f"/{field}", message=f"no {noun} of this plan with this id"))
    if errors:
        raise Unprocessable("The forum signs off a pack or a return of the same plan.", errors=errors)


async def _held(session: AsyncSession, partnership_id: Any, held_on: Any) -> None:
    if held_on is not None and held_on > await today_of(session, partnership_id):
        raise Unprocessable(
            "The log records engagements that have taken place.", errors=[FieldError(pointer="/held_on", message="after today")]
        )


class EngagementRules(Rules):
    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await _held(session, values["partnership_id"], values["held_on"])
        await _of_the_plan(session, values["plan_id"], values)

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        await _held(session, current["partnership_id"], changes.get("held_on"))
        await _of_the_plan(session, current["plan_id"], changes)
