"""The rules of governance records: the people named in members and attendance lists are the partnership's own; an
DfE and NHS England review's evidence falls due 14 days before it unless said otherwise, and its outcomes judge concerns of the
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
from app.core.errors import Conflict, FieldError, Forbidden, Unprocessable
from app.core.resources import Row, Rules
from app.models import Action, Board, Concern, Decision, Meeting, Person, Risk
from app.models.enums import DFE_REVIEWS, DecisionStatus, MeetingActionStatus, MeetingKind, MeetingStatus, Representing, Role
from app.partnerships.service import today_of
from app.plans.calendar import working_day_on_or_before


def forum_present(attendees: list[dict[str, Any]]) -> bool:
    """Someone representing the parent carer forum was in the room."""
    return any(a.get("representing") == Representing.parent_carer_forum for a in attendees)


def is_late(row: Row, today: date) -> bool:
    """A meeting action still open after its due date."""
    return row["status"] == MeetingActionStatus.open and row.get("due_on") is not None and row["due_on"] < today


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
        above, seen = changes.get("parent_id"), set()
        while above is not None and above not in seen:  # up the chain of bodies it would report to: never back to itself
            seen.add(above)
            if str(above) == str(current["id"]):
                raise Unprocessable(
                    "A body does not report to itself, directly or through others.",
                    errors=[FieldError(pointer="/parent_id", message="a loop")],
                )
            above = (await session.execute(select(col(Board.parent_id)).where(col(Board.id) == above))).scalar_one_or_none()
        if "members" in changes:
            await _people_of(session, current["partnership_id"], {"members": changes["members"]})


def evidence_deadline(held_on: date) -> date:
    """Two weeks before the meeting, or the working day before that when it falls on a weekend or bank holiday."""
    return working_day_on_or_before(held_on - timedelta(days=EVIDENCE_LEAD_DAYS))


async def _happened(session: AsyncSession, partnership_id: uuid.UUID, state: Row) -> None:
    """A meeting is held, and feedback received, on or before the partnership's today."""
    today = await today_of(session, partnership_id)
    errors = []
    if state.get("status") == MeetingStatus.held and state["held_on"] > today:
        errors.append(FieldError(pointer="/status", message=f"held_on {state['held_on']} has not come yet"))
    if state.get("feedback_received_on") is not None and state["feedback_received_on"] > today:
        errors.append(FieldError(pointer="/feedback_received_on", message="after today"))
    if errors:
        raise Unprocessable("A meeting is recorded as held, and its feedback as received, once they have happened.", errors=errors)


class MeetingRules(Rules):
    def prepare(self, actor: Actor, values: Row) -> None:
        if values["kind"] in DFE_REVIEWS and values.get("evidence_due_on") is None:
            values["evidence_due_on"] = evidence_deadline(values["held_on"])

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await _people_of(session, values["partnership_id"], {"attendees": values.get("attendees"), "apologies": values.get("apologies")})
        await _concerns_of(session, values.get("plan_id"), values.get("concern_outcomes"))
        await _happened(session, values["partnership_id"], values)

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        lists: dict[str, list[dict[str, Any]] | None] = {k: changes[k] for k in ("attendees", "apologies") if k in changes}
        if lists:
            await _people_of(session, current["partnership_id"], lists)
        if "concern_outcomes" in changes:
            await _concerns_of(session, current.get("plan_id"), changes["concern_outcomes"])
        kind = changes.get("kind", current["kind"])
        if "held_on" in changes and current.get("evidence_due_on") is not None and "evidence_due_on" not in changes:
            if kind in DFE_REVIEWS and current["evidence_due_on"] == evidence_deadline(current["held_on"]):
                changes["evidence_due_on"] = evidence_deadline(changes["held_on"])  # the default deadline moves with the meeting
            else:  # one set by hand keeps its distance from the meeting
                changes["evidence_due_on"] = current["evidence_due_on"] + (changes["held_on"] - current["held_on"])
        if kind == MeetingKind.board and current.get("board_id") is None:
            raise Unprocessable("A board meeting names its board.", errors=[FieldError(pointer="/kind", message="no board_id")])
        if changes.keys() & {"status", "held_on", "feedback_received_on"}:
            await _happened(session, current["partnership_id"], {**current, **changes})
        if current["status"] == MeetingStatus.held and changes.get("status") not in (None, MeetingStatus.held):
            taken = (
                await session.execute(
                    select(col(Decision.id)).where(
                        col(Decision.meeting_id) == current["id"], col(Decision.status) != DecisionStatus.proposed
                    )
                )
            ).first()
            if taken is not None:
                raise Conflict(
                    "The meeting took decisions: it stays held (set those decisions back to proposed first).",
                    errors=[FieldError(pointer="/status", message="decisions were taken at it")],
                )


class DecisionRules(Rules):
    """A decision is taken (agreed, rejected, deferred) at a meeting that has been held; before, it is `proposed`."""

    async def _same_plan(self, session: AsyncSession, meeting_id: Any, values: Row) -> None:
        """A decision of a meeting about a plan bears on that plan's actions, concerns and risks (one statement)."""
        plan_id = (await session.execute(select(col(Meeting.plan_id)).where(col(Meeting.id) == meeting_id))).scalar_one_or_none()
        linked = [
            (field, table) for field, table in (("action_ids", Action), ("concern_ids", Concern), ("risk_ids", Risk)) if values.get(field)
        ]
        if plan_id is None or not linked:
            return
        found = await lookup(session, [(table, [uuid.UUID(str(i)) for i in values[field]]) for field, table in linked])
        errors = [
            FieldError(pointer=f"/{field}/{n}", message="belongs to another plan than the meeting's")
            for (field, _), rows in zip(linked, found, strict=True)
            for n, ident in enumerate(values[field])
            if ident in rows and rows[ident]["plan_id"] != plan_id
        ]
        if errors:
            raise Unprocessable("The decision's links belong to another plan than the meeting's.", errors=errors)

    async def _check(self, session: AsyncSession, meeting_id: Any, status: Any) -> None:
        if status == DecisionStatus.proposed:
            return
        held = (await session.execute(select(col(Meeting.status)).where(col(Meeting.id) == meeting_id))).scalar_one_or_none()
        if held is not None and held != MeetingStatus.held:
            raise Conflict(
                f"The meeting is {held}: a decision is {status} once the meeting is held (mark it held first); before, record it "
                "as proposed.",
                errors=[FieldError(pointer="/status", message="the meeting is not held")],
            )

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await self._same_plan(session, values["meeting_id"], values)
        await self._check(session, values["meeting_id"], values["status"])

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        await self._same_plan(session, current["meeting_id"], changes)
        if "status" in changes:
            await self._check(session, current["meeting_id"], changes["status"])


class MeetingActionRules(Rules):
    """Due on or after the meeting that asked for it; done by today."""

    async def _dates(self, session: AsyncSession, meeting_id: Any, partnership_id: uuid.UUID, state: Row, set_due: bool = True) -> None:
        held = (await session.execute(select(col(Meeting.held_on)).where(col(Meeting.id) == meeting_id))).scalar_one_or_none()
        errors = []
        if set_due and held is not None and state.get("due_on") is not None and state["due_on"] < held:
            errors.append(FieldError(pointer="/due_on", message=f"before the meeting that asked for it ({held})"))
        if state.get("completed_on") is not None and state["completed_on"] > await today_of(session, partnership_id):
            errors.append(FieldError(pointer="/completed_on", message="after today"))
        if errors:
            raise Unprocessable("A meeting action falls due after its meeting and is done by today.", errors=errors)

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        if values["status"] == MeetingActionStatus.done and values.get("completed_on") is None:
            values["completed_on"] = await today_of(session, values["partnership_id"])
        await self._dates(session, values["meeting_id"], values["partnership_id"], values)

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if actor.role is Role.contributor:
            others = sorted(set(changes) - MEETING_ACTION_COMPLETION)
            if others:
                raise Forbidden(f"Contributors may change only status, completed_on and note of a meeting action, not {', '.join(others)}.")
            if MeetingActionStatus.dropped in (changes.get("status"), current["status"]):
                raise Forbidden("A contributor marks its meeting actions done (or open again); a lead drops one, or takes one up again.")
            if actor.person_id is None or str(current.get("owner_id")) != str(actor.person_id):
                raise Forbidden("A contributor marks only its own meeting actions done; ask a lead to change another's.")
        if changes.get("status") == MeetingActionStatus.done and changes.get("completed_on", current.get("completed_on")) is None:
            changes["completed_on"] = await today_of(session, current["partnership_id"])
        elif (
            changes.get("status") not in (None, MeetingActionStatus.done) and "completed_on" not in changes and current.get("completed_on")
        ):
            changes["completed_on"] = None  # reopened or dropped: not done after all
        if changes.keys() & {"due_on", "completed_on"}:
            state = {**current, **changes}
            await self._dates(session, current["meeting_id"], current["partnership_id"], state, set_due="due_on" in changes)
