"""Rules of measures and observations beyond shape."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.auth import Actor
from app.core.errors import Conflict, FieldError, Unprocessable
from app.core.resources import Row, Rules
from app.models import Action, Measure, Observation
from app.models.enums import MeasureSource, MeasureUnit
from app.partnerships.service import local


class ComputedMeasure(Conflict):
    type, title = "/problems/computed-measure", "Observations of this measure are computed"


async def _measure(session: AsyncSession, measure_id: uuid.UUID) -> Row:
    row = (
        await session.execute(
            select(col(Measure.source), col(Measure.unit), col(Measure.partnership_id)).where(col(Measure.id) == measure_id)
        )
    ).one()
    return {"source": row.source, "unit": row.unit, "partnership_id": row.partnership_id}


def _check_value(measure: Row, values: Row) -> None:
    if measure["unit"] == MeasureUnit.percent and not 0 <= values["value"] <= 100:
        raise Unprocessable(
            "A percentage is between 0 and 100.", errors=[FieldError(pointer="/value", message="must be between 0 and 100")]
        )


class ObservationRules(Rules):
    """Observations of a computed measure (EHCP timeliness) come only from the case events."""

    async def _check(self, session: AsyncSession, actor: Actor, measure_id: uuid.UUID, values: Row) -> None:
        measure = await _measure(session, measure_id)
        if measure["source"] == MeasureSource.ehcp_timeliness:
            raise ComputedMeasure("This measure is computed from the EHCP case events each month; its observations cannot be written.")
        if "value" in values:
            _check_value(measure, values)
        start = values.get("period_start_on")
        if start is not None:
            area = await local(session, measure["partnership_id"])
            if area is not None and start > area.today:
                # Figures are facts about periods that have begun: a later period would show on the measure but in no
                # summary or pack of today (app.progress.summary.counts_as_latest).
                raise Unprocessable(
                    "An observation is for a period that has begun; this one starts after today.",
                    errors=[FieldError(pointer="/period_start_on", message="after today")],
                )

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await self._check(session, actor, values["measure_id"], values)

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        await self._check(session, actor, current["measure_id"], changes)

    async def before_delete(self, session: AsyncSession, actor: Actor, current: Row) -> None:
        await self._check(session, actor, current["measure_id"], {})


class MeasureRules(Rules):
    """A measure's source cannot change once it has observations: computed and hand-written figures never mix."""

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if "source" not in changes:
            return
        observed = await session.execute(select(col(Observation.id)).where(col(Observation.measure_id) == current["id"]).limit(1))
        if observed.first() is not None:
            raise Conflict(
                "The measure already has observations; create a new measure for another source.",
                errors=[FieldError(pointer="/source", message="fixed once observations exist")],
            )


class FundingRules(Rules):
    """Money spent on an action is spent on an action of the same plan."""

    async def _check(self, session: AsyncSession, plan_id: uuid.UUID, action_id: uuid.UUID | None) -> None:
        if action_id is None:
            return
        found = (await session.execute(select(col(Action.plan_id)).where(col(Action.id) == action_id))).scalar_one_or_none()
        if found != plan_id:
            raise Unprocessable(
                "The action belongs to another plan.", errors=[FieldError(pointer="/action_id", message="not an action of this plan")]
            )

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await self._check(session, values["plan_id"], values.get("action_id"))

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if "action_id" in changes:
            await self._check(session, current["plan_id"], changes["action_id"])
