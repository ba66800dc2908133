"""Rules of the partnership's collections."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.auth import Actor
from app.core.errors import Forbidden
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


class PartnershipRules(Rules):
    """A partnership is opened by a national admin key; a partnership's own admin cannot mint another."""

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        if actor.partnership_id is not None:
            raise Forbidden("Only an admin key for all partnerships may create a partnership.")


def hide_contact_details(row: Row, actor: Actor) -> Row:
    """Inspectors never see people's contact details (CONTRACT.md "Roles")."""
    if actor.role is Role.inspector:
        row.pop("email", None)
    return row
