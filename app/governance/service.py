"""The rules of governance records: the people named in members and attendance lists are the partnership's own; an
external review's evidence falls due 14 days before it unless said otherwise, and its outcomes judge concerns of the
plan it reviewed; a body never reports to itself; a meeting action marked done says when; a contributor may mark its
own meeting actions done, nothing else."""

import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.auth import Actor
from app.core.crud import lookup
from app.core.errors import FieldError, Forbidden, Unprocessable
from app.core.resources import Row, Rules
from app.models import Concern, Person
from app.models.enums import EXTERNAL_REVIEWS, MeetingActionStatus, MeetingKind, Role
from app.partnerships.service import local

EVIDENCE_LEAD_DAYS = 14  # reviewers expect documentary evidence two weeks before the meeting
MEETING_ACTION_COMPLETION = frozenset({"status", "completed_on", "note"})


async def _people_of(session: AsyncSession, partnership_id: uuid.UUID, lists: dict[str, list[dict[str, Any]] | None]) -> None:
    """Every `person_id` in the named lists is one of the partnership's people (one statement)."""
    named = [
        (field, i, entry["person_id"])
        for field, entries in lists.items()
        for i, entry in enumerate(entries or [])
        if entry.get("person_id")
    ]
    if not named:
        return
    [found] = await lookup(session, [(Person, [uuid.UUID(str(p)) for _, _, p in named])])
    errors = [
        FieldError(pointer=f"/{field}/{i}/person_id", message="no person with this id in the partnership")
        for field, i, person_id in named
        if found.get(uuid.UUID(str(person_id)), {}).get("partnership_id") != partnership_id
    ]
    if errors:
        raise Unprocessable("Some people named are not the partnership's.", errors=errors)


async def _concerns_of(session: AsyncSession, plan_id: Any, outcomes: list[dict[str, Any]] | None) -> None:
    wanted = {uuid.UUID(str(o["concern_id"])): i for i, o in enumerate(outcomes or [])}
    if not wanted:
        return
    found = set(
        (await session.execute(select(col(Concern.id)).where(col(Concern.id).in_(list(wanted)), col(Concern.plan_id) == plan_id))).scalars()
    )
    errors = [
        FieldError(pointer=f"/concern_outcomes/{i}/concern_id", message="no concern with this id in the plan")
        for c, i in wanted.items()
        if c not in found
    ]
    if errors:
        raise Unprocessable("An outcome names a concern that is not the reviewed plan's.", errors=errors)


class BoardRules(Rules):
    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await _people_of(session, values["partnership_id"], {"members": values.get("members")})

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if changes.get("parent_id") is not None and str(changes["parent_id"]) == str(current["id"]):
            raise Unprocessable("A body does not report to itself.", errors=[FieldError(pointer="/parent_id", message="the body itself")])
        if "members" in changes:
            await _people_of(session, current["partnership_id"], {"members": changes["members"]})


class MeetingRules(Rules):
    def prepare(self, actor: Actor, values: Row) -> None:
        if values["kind"] in EXTERNAL_REVIEWS and values.get("evidence_due_on") is None:
            values["evidence_due_on"] = values["held_on"] - timedelta(days=EVIDENCE_LEAD_DAYS)

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await _people_of(session, values["partnership_id"], {"attendees": values.get("attendees"), "apologies": values.get("apologies")})
        await _concerns_of(session, values.get("plan_id"), values.get("concern_outcomes"))

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        lists: dict[str, list[dict[str, Any]] | None] = {k: changes[k] for k in ("attendees", "apologies") if k in changes}
        if lists:
            await _people_of(session, current["partnership_id"], lists)
        if "concern_outcomes" in changes:
            await _concerns_of(session, current.get("plan_id"), changes["concern_outcomes"])
        kind = changes.get("kind", current["kind"])
        if "held_on" in changes and kind in EXTERNAL_REVIEWS and "evidence_due_on" not in changes:
            moved = changes["held_on"] - current["held_on"]
            if current.get("evidence_due_on") is not None:
                changes["evidence_due_on"] = current["evidence_due_on"] + moved  # the deadline moves with the meeting
        if kind == MeetingKind.board and current.get("board_id") is None:
            raise Unprocessable("A board meeting names its board.", errors=[FieldError(pointer="/kind", message="no board_id")])


class MeetingActionRules(Rules):
    async def _today(self, session: AsyncSession, partnership_id: uuid.UUID) -> date:
        area = await local(session, partnership_id)
        assert area is not None
        return area.today

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        if values["status"] == MeetingActionStatus.done and values.get("completed_on") is None:
            values["completed_on"] = await self._today(session, values["partnership_id"])

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if actor.role is Role.contributor:
            others = sorted(set(changes) - MEETING_ACTION_COMPLETION)
            if others:
                raise Forbidden(f"Contributors may change only status, completed_on and note of a meeting action, not {', '.join(others)}.")
            if actor.person_id is None or str(current.get("owner_id")) != str(actor.person_id):
                raise Forbidden("A contributor marks only its own meeting actions done; ask a lead to change another's.")
        if changes.get("status") == MeetingActionStatus.done and changes.get("completed_on", current.get("completed_on")) is None:
            changes["completed_on"] = await self._today(session, current["partnership_id"])
        elif changes.get("status") == MeetingActionStatus.open and "completed_on" not in changes and current.get("completed_on"):
            changes["completed_on"] = None  # reopened: not done after all
