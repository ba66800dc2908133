"""Rules of the plan's collections, beyond shape: who may own, who wrote an update."""

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.auth import Actor
from app.core.errors import Conflict, FieldError, Forbidden, Unprocessable
from app.core.resources import Row, Rules
from app.models import Action, ActionContributor, Evidence, Milestone, Person, Plan
from app.models.enums import ActionStatus, ReviewStatus, Role
from app.partnerships.service import local
from app.plans import lifecycle


async def _require_active(session: AsyncSession, person_id: uuid.UUID | None, pointer: str) -> None:
    if person_id is None:
        return
    active = (await session.execute(select(col(Person.active)).where(col(Person.id) == person_id))).scalar_one_or_none()
    if active is False:
        raise Unprocessable(
            "The person has left the partnership and cannot take this on.",
            errors=[FieldError(pointer=pointer, message="person is no longer active")],
        )


class EvidenceRequired(Conflict):
    type, title = "/problems/evidence-required", "Accepted evidence required"


async def require_accepted_evidence(session: AsyncSession, *, action_id: uuid.UUID | None, plan_id: uuid.UUID) -> None:
    """An action counts as completed only with accepted evidence, when its plan asks for that (the default)."""
    required = (await session.execute(select(col(Plan.evidence_required_for_completion)).where(col(Plan.id) == plan_id))).scalar_one()
    if not required:
        return
    if action_id is None:  # a new action has no evidence yet
        raise EvidenceRequired(
            "Create the action first, then complete it once evidence on it is accepted.",
            errors=[FieldError(pointer="/status", message="needs accepted evidence")],
        )
    milestones = select(col(Milestone.id)).where(col(Milestone.action_id) == action_id)
    accepted = await session.execute(
        select(func.count())
        .select_from(Evidence)
        .where(
            col(Evidence.review_status) == ReviewStatus.accepted.value,
            or_(col(Evidence.action_id) == action_id, col(Evidence.milestone_id).in_(milestones)),
        )
    )
    if accepted.scalar_one() == 0:
        raise EvidenceRequired(
            "The action cannot be completed until at least one evidence item on it (or its milestones) is accepted.",
            errors=[FieldError(pointer="/status", message="needs accepted evidence")],
        )


class ActionRules(Rules):
    """An action's owner must be a current member of the partnership; completion may need accepted evidence."""

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await _require_active(session, values.get("owner_id"), "/owner_id")
        await _credible(session, values["partnership_id"], values, values)
        await lifecycle.on_action_create(session, values)
        if values.get("status") == ActionStatus.completed:
            await require_accepted_evidence(session, action_id=None, plan_id=values["plan_id"])

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if "owner_id" in changes and changes["owner_id"] != current["owner_id"]:
            await _require_active(session, changes["owner_id"], "/owner_id")
        await _credible(session, current["partnership_id"], {**current, **changes}, changes)
        await lifecycle.on_action_update(session, actor, current, changes, notes)
        if changes.get("status") == ActionStatus.completed:
            await require_accepted_evidence(session, action_id=current["id"], plan_id=current["plan_id"])

    async def before_delete(self, session: AsyncSession, actor: Actor, current: Row) -> None:
        await lifecycle.refuse_delete_in_delivery(session, current)


async def _credible(session: AsyncSession, partnership_id: uuid.UUID, merged: Row, changes: Row) -> None:
    """Dates that would make an action look better than it is, judged when a request sets them: a completion after
    the partnership's today, or a forecast for an open action that has already passed (it would turn a late action
    green)."""
    if not changes.keys() & {"completed_on", "forecast_on", "status"}:
        return
    area = await local(session, partnership_id)
    assert area is not None
    completed = merged.get("completed_on")
    if "completed_on" in changes and completed is not None and completed > area.today:
        raise Unprocessable(
            "An action is completed once it has been: completed_on is after the partnership's today.",
            errors=[FieldError(pointer="/completed_on", message="after today")],
        )
    forecast = merged.get("forecast_on")
    still_open = merged.get("status") in (ActionStatus.not_started, ActionStatus.in_progress)
    if "forecast_on" in changes and forecast is not None and still_open and forecast < area.today:
        raise Unprocessable(
            "A forecast for an action still open cannot lie in the past: give the date it will now be delivered.",
            errors=[FieldError(pointer="/forecast_on", message="before today")],
        )


async def require_involvement(session: AsyncSession, actor: Actor, action_id: uuid.UUID) -> None:
    """A contributor writes only on actions it owns or contributes to."""
    if actor.role is not Role.contributor:
        return
    owner = (await session.execute(select(col(Action.owner_id)).where(col(Action.id) == action_id))).scalar_one_or_none()
    if actor.person_id is not None and owner == actor.person_id:
        return
    contributes = await session.execute(
        select(col(ActionContributor.person_id)).where(
            col(ActionContributor.action_id) == action_id, col(ActionContributor.person_id) == actor.person_id
        )
    )
    if contributes.first() is None:
        raise Forbidden("Contributors may only report on actions they own or contribute to.")


class ProgressUpdateRules(Rules):
    """The author defaults to the caller's linked person; a caller without one must name the author."""

    def prepare(self, actor: Actor, values: Row) -> None:
        if values.get("author_id") is None and actor.person_id is not None:
            values["author_id"] = actor.person_id  # looked up with the action, in one statement

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        if actor.role is Role.contributor and values["author_id"] != actor.person_id:
            raise Forbidden("Contributors report as themselves; leave author_id out or give your own person id.")
        if values.get("author_id") is None:
            raise Unprocessable(
                "Your key is not linked to a person, so the update must name its author.",
                errors=[FieldError(pointer="/author_id", message="required for callers without a linked person")],
            )
        await require_involvement(session, actor, values["action_id"])


MILESTONE_COMPLETION = {"status", "met_on"}


class MilestoneRules(Rules):
    """Contributors may record a milestone's completion (status, met_on) on their own actions, nothing else; an
    accepted plan's milestones are never deleted."""

    async def before_delete(self, session: AsyncSession, actor: Actor, current: Row) -> None:
        await lifecycle.refuse_milestone_delete_in_delivery(session, current)

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if actor.role is not Role.contributor:
            return
        others = sorted(set(changes) - MILESTONE_COMPLETION)
        if others:
            raise Forbidden(f"Contributors may change only status and met_on, not {', '.join(others)}.")
        await require_involvement(session, actor, current["action_id"])
