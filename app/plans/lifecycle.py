"""A plan's lifecycle and change control.

    draft ──▶ submitted ──▶ accepted ──▶ in_delivery ──▶ closed
      │          │  ▲           │              │
      │          ▼  │           └──────┬───────┘
      │        returned                ▼
      └──────────┴──────────────▶ superseded

A plan is submitted only when it has concerns, every concern has an action and every action has an
owner and a due date; it is accepted only with `accepted_on`. Acceptance freezes each action's
`baseline_due_on`; afterwards moving `due_on` is a reprogramme that needs a reason and is recorded
(after the improvement-plan convention that "reprogrammed/extended" dates need approval). A
concern's `verbatim_text` (the report's words) cannot change once the plan has been submitted. A
plan's kind, its concerns' kinds and its inspection's framework must agree (`app.plans.framework`).
"""

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core import changes as feed
from app.core.auth import Actor
from app.core.errors import Conflict, FieldError, Unprocessable
from app.core.resources import Row, Rules
from app.models import Action, ActionConcern, ActionReprogramme, Concern, Plan, utcnow
from app.models.enums import PlanStatus
from app.partnerships.service import local
from app.plans import framework

S = PlanStatus
TRANSITIONS: dict[PlanStatus, frozenset[PlanStatus]] = {
    S.draft: frozenset({S.submitted, S.superseded}),
    S.submitted: frozenset({S.accepted, S.returned}),
    S.returned: frozenset({S.submitted, S.superseded}),
    S.accepted: frozenset({S.in_delivery, S.superseded}),
    S.in_delivery: frozenset({S.closed, S.superseded}),
    S.closed: frozenset(),
    S.superseded: frozenset(),
}
ACCEPTED = frozenset({S.accepted, S.in_delivery, S.closed, S.superseded})
BEFORE_SUBMISSION = frozenset({S.draft})


class IllegalTransition(Conflict):
    type, title = "/problems/illegal-transition", "Illegal state transition"


class NotReadyToSubmit(Conflict):
    type, title = "/problems/plan-incomplete", "Plan not ready for submission"


class ReprogrammeReasonRequired(Unprocessable):
    type, title = "/problems/reprogramme-reason-required", "Reprogramme reason required"


class FrozenField(Conflict):
    type, title = "/problems/frozen-field", "Field frozen by the plan's lifecycle"


async def _plan_status(session: AsyncSession, plan_id: uuid.UUID) -> PlanStatus:
    return PlanStatus((await session.execute(select(col(Plan.status)).where(col(Plan.id) == plan_id))).scalar_one())


async def _check_ready(session: AsyncSession, plan_id: uuid.UUID) -> None:
    concerns = (await session.execute(select(col(Concern.id), col(Concern.ref)).where(col(Concern.plan_id) == plan_id))).all()
    problems: list[FieldError] = []
    if not concerns:
        problems.append(FieldError(pointer="/status", message="the plan has no concerns"))
    answered = set(
        (await session.execute(select(col(ActionConcern.concern_id)).where(col(ActionConcern.plan_id) == plan_id).distinct())).scalars()
    )
    problems += [FieldError(pointer="/status", message=f"concern {ref} has no action") for id_, ref in concerns if id_ not in answered]
    incomplete = await session.execute(
        select(col(Action.ref), col(Action.owner_id), col(Action.due_on))
        .where(col(Action.plan_id) == plan_id, (col(Action.owner_id).is_(None)) | (col(Action.due_on).is_(None)))
        .order_by(col(Action.ref))
    )
    for ref, owner_id, due_on in incomplete:
        missing = " and ".join(name for name, value in (("an owner", owner_id), ("a due date", due_on)) if value is None)
        problems.append(FieldError(pointer="/status", message=f"action {ref} needs {missing}"))
    if problems:
        raise NotReadyToSubmit("The plan cannot be submitted yet.", errors=problems)


async def _freeze_baselines(session: AsyncSession, actor: Actor, plan: Row) -> None:
    """Acceptance fixes each action's baseline at its due date then, audited per action: a baseline a client set
    before acceptance is replaced, since a later one would flatter `baseline_rag`."""
    rows = (
        await session.execute(
            select(col(Action.id), col(Action.version), col(Action.due_on), col(Action.baseline_due_on)).where(
                col(Action.plan_id) == plan["id"],
                col(Action.due_on).is_not(None),
                col(Action.baseline_due_on).is_(None) | (col(Action.baseline_due_on) != col(Action.due_on)),
            )
        )
    ).all()
    if not rows:
        return
    await session.execute(
        update(Action)
        .where(col(Action.id).in_([r.id for r in rows]))
        .values(baseline_due_on=col(Action.due_on), version=col(Action.version) + 1, updated_at=utcnow())
    )
    feed.record(session, [feed.Changed("action", r.id, "update", r.version + 1, plan["partnership_id"], plan["id"]) for r in rows])
    audit.record_many(
        session,
        actor=actor,
        entries=[
            audit.Entry("update", "action", r.id, plan["partnership_id"], {"baseline_due_on": [r.baseline_due_on, r.due_on]}) for r in rows
        ],
    )


class PlanRules(Rules):
    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        if values.get("status", S.draft) != S.draft:
            raise Unprocessable(
                "A plan starts as a draft; move it on with PATCH once it is ready.",
                errors=[FieldError(pointer="/status", message="must be draft when the plan is created")],
            )
        await framework.check_plan(session, values=values)

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if changes.keys() & {"kind", "inspection_id"}:
            await framework.check_plan(session, values=current | changes, plan_id=current["id"], changed=frozenset(changes))
        if "status" not in changes:
            return
        old, new = PlanStatus(current["status"]), PlanStatus(changes["status"])
        if new not in TRANSITIONS[old]:
            allowed = ", ".join(sorted(TRANSITIONS[old])) or "none (the plan is finished)"
            raise IllegalTransition(
                f"A {old.value} plan cannot become {new.value}; allowed next: {allowed}.",
                errors=[FieldError(pointer="/status", message=f"not allowed from {old.value}")],
            )
        if new is S.submitted:
            await _check_ready(session, current["id"])
            if current.get("submitted_on") is None and changes.get("submitted_on") is None:
                settings = await local(session, current["partnership_id"])
                assert settings is not None  # the plan's partnership exists
                changes["submitted_on"] = settings.today
        if new is S.accepted:
            if changes.get("accepted_on", current.get("accepted_on")) is None:
                raise Unprocessable(
                    "Give accepted_on (the date of the inspectorates' letter) to accept the plan.",
                    errors=[FieldError(pointer="/accepted_on", message="required to accept the plan")],
                )
            await _freeze_baselines(session, actor, current)


class ConcernRules(Rules):
    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await framework.check_concern(session, plan_id=values["plan_id"], kind=values["kind"])

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if "kind" in changes:
            await framework.check_concern(session, plan_id=current["plan_id"], kind=changes["kind"])
        if "verbatim_text" in changes and await _plan_status(session, current["plan_id"]) not in BEFORE_SUBMISSION:
            raise FrozenField(
                "The report's words cannot change once the plan has been submitted.",
                errors=[FieldError(pointer="/verbatim_text", message="immutable after submission")],
            )


async def on_action_create(session: AsyncSession, values: Row) -> None:
    """An action added to an accepted plan is baselined at its first due date; a client does not choose it."""
    if await _plan_status(session, values["plan_id"]) not in ACCEPTED:
        return
    if values.get("baseline_due_on") is not None and values["baseline_due_on"] != values.get("due_on"):
        raise FrozenField(
            "An action added to an accepted plan is baselined at its first due date: leave baseline_due_on out.",
            errors=[FieldError(pointer="/baseline_due_on", message="set from due_on once the plan is accepted")],
        )
    if values.get("due_on") is None:
        raise Unprocessable(
            "An action added to an accepted plan needs a due date: it is the action's baseline.",
            errors=[FieldError(pointer="/due_on", message="required once the plan is accepted")],
        )
    values["baseline_due_on"] = values["due_on"]


async def refuse_milestone_delete_in_delivery(session: AsyncSession, milestone: Row) -> None:
    """An accepted plan's milestones stay on record: a missed one is marked missed, a moved one reprogrammed."""
    plan_id = (await session.execute(select(col(Action.plan_id)).where(col(Action.id) == milestone["action_id"]))).scalar_one()
    if await _plan_status(session, plan_id) in ACCEPTED:
        raise FrozenField(
            "An accepted plan's milestone is not deleted, so a missed one stays in view: PATCH its status "
            "(missed or reprogrammed) instead.",
            errors=[FieldError(pointer="/status", message="set to missed or reprogrammed instead")],
        )


async def refuse_delete_in_delivery(session: AsyncSession, action: Row) -> None:
    """Once a plan is accepted its actions are cancelled, never deleted: deleting would drop their reprogrammes."""
    if await _plan_status(session, action["plan_id"]) in ACCEPTED:
        raise FrozenField(
            "An accepted plan's action is cancelled, not deleted, so its history stays: PATCH it with status: cancelled.",
            errors=[FieldError(pointer="/status", message="set to cancelled instead")],
        )


async def on_action_update(session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
    """After acceptance the baseline is fixed and every move of `due_on` is a recorded reprogramme."""
    reason = notes.get("reprogramme_reason")
    approval = notes.get("reprogramme_approved_at_meeting")
    if approval is not None and reason is None:
        raise Unprocessable(
            "The decision that approved a reprogramme goes with its reason.",
            errors=[FieldError(pointer="/reprogramme_approved_at_meeting", message="only with reprogramme_reason")],
        )
    if reason is None and not changes.keys() & {"due_on", "baseline_due_on"}:
        return  # nothing the lifecycle guards
    if await _plan_status(session, current["plan_id"]) not in ACCEPTED:
        if reason is not None:
            raise Unprocessable(
                "Due dates of a plan that has not been accepted are changed freely; a reprogramme reason is only for accepted plans.",
                errors=[FieldError(pointer="/reprogramme_reason", message="only for actions of an accepted plan")],
            )
        return
    if "baseline_due_on" in changes:
        raise FrozenField(
            "The baseline due date was frozen when the plan was accepted.",
            errors=[FieldError(pointer="/baseline_due_on", message="frozen at acceptance")],
        )
    if "due_on" not in changes:
        if reason is not None:
            raise Unprocessable(
                "A reprogramme reason goes with a move of the due date; due_on does not change.",
                errors=[FieldError(pointer="/reprogramme_reason", message="due_on does not change")],
            )
        return
    if changes["due_on"] is None:
        raise Unprocessable(
            "An accepted plan's action keeps a due date: move it, never clear it (a cleared date would hide the slippage).",
            errors=[FieldError(pointer="/due_on", message="required once the plan is accepted")],
        )
    if not reason:
        raise ReprogrammeReasonRequired(
            "Moving the due date of an accepted plan's action is a reprogramme: give reprogramme_reason.",
            errors=[FieldError(pointer="/reprogramme_reason", message="required when due_on changes after acceptance")],
        )
    session.add(
        ActionReprogramme(
            partnership_id=current["partnership_id"],
            action_id=current["id"],
            previous_due_on=current["due_on"],
            new_due_on=changes["due_on"],
            baseline_due_on=current["baseline_due_on"],
            reason=reason,
            approved_at_meeting=approval,
            actor_type=actor.actor_type,
            actor_id=actor.actor_id,
            person_id=actor.person_id,
        )
    )
    await session.flush()  # the response, read in this transaction, shows the move
