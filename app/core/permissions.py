"""Who may call what: one explicit table of roles per operation, enforced by a dependency.

The roles: admin does everything; lead reads its partnership and edits plans, concerns,
actions and milestones; contributor reads and reports progress on actions it owns or contributes to;
inspector reads only; the integration roles reach their own endpoints only. Per-object rules (which
actions a contributor may touch, which fields) live in the services.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from app.core.auth import Actor, authenticate
from app.core.errors import Forbidden
from app.models.enums import Role

ADMIN = frozenset({Role.admin})
PLAN_EDITORS = frozenset({Role.admin, Role.lead})
REPORTERS = frozenset({Role.admin, Role.lead, Role.contributor})
READERS = frozenset({Role.admin, Role.lead, Role.contributor, Role.inspector})
PEOPLE_READERS = READERS | {Role.hr_integration}
NATIONAL_ROLES = frozenset({Role.admin, Role.inspector})


# What each role can do instead, told with every 403 so a refused caller knows the way forward.
INSTEAD = {
    Role.admin: "",
    Role.lead: "A partnership admin can do it.",
    Role.contributor: "A contributor reports on its own actions: post a progress update (say the new forecast in its "
    "narrative), add evidence, or ask a lead to change the action.",
    Role.inspector: "Inspectors read: plans, summaries, alerts and `inspectors` packs; ask the partnership's lead for anything else.",
    Role.hr_integration: "The HR integration keeps people current through POST /people/sync.",
    Role.case_integration: "The case integration sends POST /case-events and reads the timeliness report.",
}


@dataclass(frozen=True)
class Access:
    """The roles allowed on each operation of a collection."""

    read: frozenset[Role] = READERS
    create: frozenset[Role] = ADMIN
    update: frozenset[Role] = ADMIN
    delete: frozenset[Role] = ADMIN


def allow(roles: frozenset[Role]) -> Callable[..., Awaitable[Actor]]:
    """A dependency that counts the caller against its rate limit (429 past it), then lets the listed
    roles through and answers 403 to every other caller."""

    async def check(request: Request, actor: Actor = Depends(authenticate)) -> Actor:
        await request.app.state.limiter.check(actor)
        if actor.role not in roles:
            raise Forbidden(
                f"The {actor.role.value} role may not do this (it needs {', '.join(sorted(r.value for r in roles))}). "
                + INSTEAD[actor.role]
            )
        return actor

    return check


def documented(roles: frozenset[Role]) -> dict[str, Any]:
    """OpenAPI extension naming the roles an operation needs."""
    return {"x-required-roles": sorted(r.value for r in roles)}


def roles_text(roles: frozenset[Role]) -> str:
    return "\n\n**Roles:** " + ", ".join(f"`{r.value}`" for r in sorted(roles)) + "."
