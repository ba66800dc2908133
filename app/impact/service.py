"""The rules of impact statements: a statement belongs to its concern's plan, describes a date no later than the
partnership's today, and, for a reporting period, one of the same plan."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.auth import Actor
from app.core.errors import FieldError, Unprocessable
from app.core.resources import Row, Rules
from app.models import ReportingPeriod
from app.partnerships.service import today_of


def _not_after(as_of: date, today: date) -> None:
    if as_of > today:
        raise Unprocessable(
            f"An impact statement describes what has happened: as_of is after the partnership's today ({today}).",
            errors=[FieldError(pointer="/as_of", message="after today")],
        )


class ImpactStatementRules(Rules):
    def prepare(self, actor: Actor, values: Row) -> None:
        if values.get("author_id") is None:
            values["author_id"] = actor.person_id

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        assert parent is not None
        values["plan_id"] = parent["plan_id"]
        today = await today_of(session, values["partnership_id"])
        default = today
        if values.get("period_id") is not None:
            period = (
                await session.execute(
                    select(col(ReportingPeriod.plan_id), col(ReportingPeriod.ends_on)).where(
                        col(ReportingPeriod.id) == values["period_id"], col(ReportingPeriod.partnership_id) == values["partnership_id"]
                    )
                )
            ).first()
            if period is not None and period.plan_id != values["plan_id"]:
                raise Unprocessable(
                    "The reporting period belongs to another plan than the concern.",
                    errors=[FieldError(pointer="/period_id", message="the reporting period belongs to another plan")],
                )
            if period is not None:
                default = min(period.ends_on, today)
        if values.get("as_of") is None:
            values["as_of"] = default
        _not_after(values["as_of"], today)

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if "as_of" in changes:
            if changes["as_of"] is None:
                raise Unprocessable("A statement always describes a date.", errors=[FieldError(pointer="/as_of", message="cannot be null")])
            _not_after(changes["as_of"], await today_of(session, current["partnership_id"]))
