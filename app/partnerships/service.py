"""Rules of the partnership's collections."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.auth import Actor
from app.core.errors import Forbidden
from app.core.resources import Row, Rules
from app.models.enums import Role


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
