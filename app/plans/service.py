"""Rules of the plan's collections, beyond shape: who may own, who wrote an update."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.auth import Actor
from app.core.errors import FieldError, Unprocessable
from app.core.resources import Row, Rules
from app.models import Person


async def _require_active(session: AsyncSession, person_id: uuid.UUID | None, pointer: str) -> None:
    if person_id is None:
        return
    active = (await session.execute(select(col(Person.active)).where(col(Person.id) == person_id))).scalar_one_or_none()
    if active is False:
        raise Unprocessable(
            "The person has left the partnership and cannot take this on.",
            errors=[FieldError(pointer=pointer, message="person is no longer active")],
        )


class ActionRules(Rules):
    """An action's owner must be a current member of the partnership."""

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await _require_active(session, values.get("owner_id"), "/owner_id")

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row) -> None:
        if "owner_id" in changes and changes["owner_id"] != current["owner_id"]:
            await _require_active(session, changes["owner_id"], "/owner_id")


class ProgressUpdateRules(Rules):
    """The author defaults to the caller's linked person; a caller without one must name the author."""

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        if values.get("author_id") is None:
            if actor.person_id is None:
                raise Unprocessable(
                    "Your key is not linked to a person, so the update must name its author.",
                    errors=[FieldError(pointer="/author_id", message="required for callers without a linked person")],
                )
            values["author_id"] = actor.person_id
