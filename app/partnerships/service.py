"""Rules of the partnership's collections."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.auth import Actor
from app.core.errors import FieldError, Forbidden, Unprocessable
from app.core.resources import Row, Rules
from app.models import Partnership
from app.models.enums import Role


def today_in(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


@dataclass(frozen=True, slots=True)
class Local:
    """A partnership's own clock and early-warning thresholds."""

    timezone: str
    stale_after_days: int
    red_after_days: int

    @property
    def today(self) -> date:
        return today_in(self.timezone)


async def local(session: AsyncSession, partnership_id: uuid.UUID) -> Local | None:
    """The partnership's settings, or None when there is no such partnership."""
    row = (
        await session.execute(
            select(col(Partnership.timezone), col(Partnership.stale_after_days), col(Partnership.red_after_days)).where(
                col(Partnership.id) == partnership_id
            )
        )
    ).one_or_none()
    return None if row is None else Local(*row)


async def today_of(session: AsyncSession, partnership_id: uuid.UUID) -> date:
    """The partnership's today (its time zone's date), for a row of a partnership that exists."""
    area = await local(session, partnership_id)
    assert area is not None
    return area.today


class PartnershipRules(Rules):
    """A partnership is opened by a national admin key; a partnership's own admin cannot mint another."""

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        if actor.partnership_id is not None:
            raise Forbidden("Only an admin key for all partnerships may create a partnership.")


class PersonRules(Rules):
    """Leaving is one fact with two fields, kept as the HR sync keeps them: `left_on` only for someone who has left,
    never after the partnership's today, and today when someone is marked as left without a date; someone brought
    back has no leaving date."""

    async def _leaving(self, session: AsyncSession, partnership_id: uuid.UUID, merged: Row, changes: Row, *, back: bool) -> None:
        active, left_on = merged.get("active", True), merged.get("left_on")
        if active and left_on is not None:
            if back:
                changes["left_on"] = None  # someone back has no leaving date
                return
            raise Unprocessable(
                "left_on is only for someone who has left: send active: false with it.",
                errors=[FieldError(pointer="/left_on", message="only with active: false")],
            )
        if active:
            return
        area = await local(session, partnership_id)
        assert area is not None  # the person's partnership exists (checked as a reference before the rules run)
        if left_on is None:
            changes["left_on"] = area.today
        elif left_on > area.today:
            raise Unprocessable(
                "Leaving is recorded once it has happened: left_on is after the partnership's today.",
                errors=[FieldError(pointer="/left_on", message="after today")],
            )

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await self._leaving(session, values["partnership_id"], values, values, back=False)

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if changes.keys() & {"active", "left_on"}:
            back = changes.get("active") is True and not current["active"]
            await self._leaving(session, current["partnership_id"], {**current, **changes}, changes, back=back)


def hide_contact_details(row: Row, actor: Actor) -> Row:
    """Inspectors never see people's contact details (the inspector role reads plans, not the people behind them)."""
    if actor.role is Role.inspector:
        row.pop("email", None)
    return row
