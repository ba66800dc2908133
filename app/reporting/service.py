"""The rules of the reporting cycle: opening a period (and the returns it expects), filing a return, reviewing it,
and marking the silent ones missed. Every function adds rows to the caller's unit of work; none commits."""

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit, crud
from app.core import changes as feed
from app.core.auth import SYSTEM, Actor
from app.core.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from app.core.resources import Row, Rules
from app.models import Action, ActionReturn, Notification, Person, Plan, ReportingPeriod, ReturnLink, utcnow
from app.models.enums import ActionStatus, NotificationKind, NotificationStatus, PeriodStatus, PlanStatus, ReturnStatus, Role
from app.partnerships.service import local
from app.plans import resources as plan_resources
from app.plans import schemas as plan_schemas
from app.plans.service import require_involvement
from app.reporting import schemas as s
from app.reporting.schedule import Schedule, period_dates

LIVE = (ActionStatus.not_started.value, ActionStatus.in_progress.value)  # not completed, suspended or cancelled
IN_DELIVERY = (PlanStatus.accepted.value, PlanStatus.in_delivery.value)
OPEN_RETURNS = (ReturnStatus.expected.value, ReturnStatus.returned.value)  # not yet filed, and not (yet) missed
FILEABLE = {ReturnStatus.expected, ReturnStatus.returned, ReturnStatus.missed}  # missed: filed late, still on record


class ReturnState(Conflict):
    type, title = "/problems/return-state", "The return is not in a state for this"


class PeriodRules(Rules):
    """A period belongs to a plan in delivery; dates left out come from the plan's schedule; a closed period stays closed."""

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        plan = (
            await session.execute(select(col(Plan.status), col(Plan.reporting_schedule)).where(col(Plan.id) == values["plan_id"]))
        ).one()
        if plan.status not in IN_DELIVERY:
            raise Conflict(
                f"The plan is {plan.status}: returns are asked for once it is accepted or in delivery.",
                errors=[FieldError(pointer="/plan_id", message="plan not in delivery")],
            )
        await _fill_dates(session, values, plan.reporting_schedule)
        await _not_past(session, values["partnership_id"], values["returns_due_on"])
        await _runs_forward(session, values)

    async def after_create(self, session: AsyncSession, actor: Actor, row: Row) -> None:
        await expect_returns(session, actor, row)

    async def after_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row) -> None:
        """Returns still to file take the period's new due date; a missed one stays missed (a fact)."""
        if changes.get("returns_due_on") is None:
            return
        waiting = (
            await session.execute(
                select(ActionReturn)
                .where(col(ActionReturn.period_id) == current["id"], col(ActionReturn.status).in_(OPEN_RETURNS))
                .with_for_update()
            )
        ).scalars().all()  # fmt: skip
        for row in waiting:
            await _change(session, actor, row, {"returns_due_on": changes["returns_due_on"]})

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if current["status"] == PeriodStatus.closed:
            raise Conflict("A closed period stays as it was closed.", errors=[FieldError(pointer="/status", message="closed")])
        cleared = [k for k in ("returns_due_on", "status") if k in changes and changes[k] is None]
        if cleared:
            raise Unprocessable(
                "A period always has a due date and a status.",
                errors=[FieldError(pointer=f"/{k}", message="cannot be null") for k in cleared],
            )
        if changes.get("returns_due_on") is not None:
            await _not_past(session, current["partnership_id"], changes["returns_due_on"])
        due = changes["returns_due_on"] if changes.get("returns_due_on") is not None else current["returns_due_on"]
        meeting = changes["meeting_on"] if "meeting_on" in changes else current["meeting_on"]
        _check_order(current["starts_on"], current["ends_on"], due, meeting)


async def _fill_dates(session: AsyncSession, values: Row, schedule: dict[str, Any] | None) -> None:
    given = {k: values.get(k) for k in ("starts_on", "ends_on", "returns_due_on", "meeting_on")}
    if schedule is not None:
        area = await local(session, values["partnership_id"])
        assert area is not None
        starts, ends, due, meeting = period_dates(Schedule.model_validate(schedule), given["starts_on"] or area.today)
        computed = {"starts_on": starts, "ends_on": ends, "returns_due_on": due, "meeting_on": meeting}
        values.update({k: v if v is not None else computed[k] for k, v in given.items()})
    else:
        missing = [k for k in ("starts_on", "ends_on", "returns_due_on") if given[k] is None]
        if missing:
            raise Unprocessable(
                "The plan has no reporting schedule: give the period's dates (or set the plan's reporting_schedule).",
                errors=[FieldError(pointer=f"/{k}", message="required without a schedule") for k in missing],
            )
    _check_order(values["starts_on"], values["ends_on"], values["returns_due_on"], values["meeting_on"])


async def _runs_forward(session: AsyncSession, values: Row) -> None:
    """A plan's periods follow one another: a new one starts after the latest and overlaps none (returns twice for the
    same days, or an earlier month reviewed after a later one, would muddle what the Delivery Group is shown)."""
    latest = (
        await session.execute(
            select(col(ReportingPeriod.starts_on), col(ReportingPeriod.ends_on))
            .where(col(ReportingPeriod.plan_id) == values["plan_id"])
            .order_by(col(ReportingPeriod.ends_on).desc())
            .limit(1)
        )
    ).one_or_none()
    if latest is not None and values["starts_on"] <= latest.ends_on:
        raise Conflict(
            f"The plan's latest period runs {latest.starts_on} to {latest.ends_on}: a new one starts after it.",
            errors=[FieldError(pointer="/starts_on", message="not after the latest period")],
        )


async def _not_past(session: AsyncSession, partnership_id: uuid.UUID, due: date) -> None:
    """Returns fall due today or later: a due date already past would make them missed before anyone was asked."""
    area = await local(session, partnership_id)
    assert area is not None
    if due < area.today:
        raise Unprocessable(
            "Returns fall due today or later: a date already past would mark them missed before anyone was asked for them.",
            errors=[FieldError(pointer="/returns_due_on", message="in the past")],
        )


def _check_order(starts: date, ends: date, due: date, meeting: date | None) -> None:
    errors = []
    if ends < starts:
        errors.append(FieldError(pointer="/ends_on", message="before starts_on"))
    if due < starts:
        errors.append(FieldError(pointer="/returns_due_on", message="before starts_on"))
    if meeting is not None and meeting < due:
        errors.append(FieldError(pointer="/meeting_on", message="before returns_due_on"))
    if errors:
        raise Unprocessable("The period's dates are out of order.", errors=errors)


async def expect_returns(session: AsyncSession, actor: Actor, period: Row) -> int:
    """One expected return per live action of the period's plan, addressed to its owner; how many."""
    actions = (
        await session.execute(
            select(col(Action.id), col(Action.owner_id)).where(col(Action.plan_id) == period["plan_id"], col(Action.status).in_(LIVE))
        )
    ).all()
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(), "created_at": now, "updated_at": now, "version": 1, "partnership_id": period["partnership_id"],
            "plan_id": period["plan_id"], "period_id": period["id"], "action_id": a.id, "owner_id": a.owner_id,
            "status": ReturnStatus.expected.value, "returns_due_on": period["returns_due_on"],
        }
        for a in actions
    ]  # fmt: skip
    if not rows:
        return 0
    await session.execute(ActionReturn.__table__.insert(), rows)  # type: ignore[attr-defined]
    feed.record(session, [feed.Changed("action_return", r["id"], "create", 1, r["partnership_id"], r["plan_id"]) for r in rows])
    entries = [
        audit.Entry("create", "action_return", r["id"], r["partnership_id"], {k: [None, audit.jsonable(r[k])] for k in EXPECTED_FIELDS})
        for r in rows
    ]
    audit.record_many(session, actor=actor, entries=entries)
    return len(rows)


EXPECTED_FIELDS = ("period_id", "action_id", "owner_id", "status", "returns_due_on")


async def _locked_return(session: AsyncSession, actor: Actor, return_id: uuid.UUID) -> ActionReturn:
    found = (await session.execute(select(ActionReturn).where(col(ActionReturn.id) == return_id).with_for_update())).scalar_one_or_none()
    if found is None or not actor.sees(found.partnership_id):
        raise NotFound(f"No return with id {return_id}.")
    return found


async def _change(session: AsyncSession, actor: Actor, row: ActionReturn, values: dict[str, Any]) -> None:
    """Write `values` on the return as its next version, with its audit event and change-feed row."""
    before = {k: getattr(row, k) for k in values}
    version = row.version + 1  # read before the UPDATE, which also refreshes the loaded row
    await session.execute(
        update(ActionReturn)
        .where(col(ActionReturn.id) == row.id)
        .values(**values, version=col(ActionReturn.version) + 1, updated_at=utcnow())
    )
    feed.record(session, [feed.Changed("action_return", row.id, "update", version, row.partnership_id, row.plan_id)])
    audit.record(
        session, actor=actor, action="update", entity_type="action_return", entity_id=row.id, partnership_id=row.partnership_id,
        changes=audit.diff(before, values),
    )  # fmt: skip


async def submit(
    session: AsyncSession, actor: Actor, return_id: uuid.UUID, body: s.ReturnSubmission, *, as_person: uuid.UUID | None = None
) -> None:
    """File the return (its owner, a contributor to the action, a lead or an admin; `as_person` for a one-time link):
    the progress update it stands for is appended, and the return is `submitted`."""
    row = await _locked_return(session, actor, return_id)
    if ReturnStatus(row.status) not in FILEABLE:
        raise ReturnState(f"This return is already {row.status}; a lead may return it to you for more.")
    if await _closed(session, row.period_id):
        raise ReturnState("Its period is closed: the Delivery Group has met. File this month's return instead.")
    if actor.role is Role.contributor:
        await require_involvement(session, actor, row.action_id)
    elif actor.role not in (Role.admin, Role.lead):
        raise Forbidden("Returns are filed by the action's owner or contributors, or a lead.")
    author = as_person or actor.person_id
    if author is None:  # a return says who wrote it: never the owner's name on someone else's words
        raise Unprocessable("This key acts as no person, and a return is filed as a person: use a key linked to one (`person_id`).")
    await _forecast_fits(session, row, body)
    update_row = await crud.create(
        session,
        actor=actor,
        res=plan_resources.progress_updates,
        data=plan_schemas.ProgressUpdateCreate(
            action_id=row.action_id, author_id=author, rag=body.proposed_rag, narrative=body.narrative,
            percent_complete=body.percent_complete, blockers=body.blockers, next_steps=body.next_steps,
        ),
    )  # fmt: skip
    await _change(
        session,
        actor,
        row,
        {
            **body.model_dump(), "proposed_rag": body.proposed_rag.value, "status": ReturnStatus.submitted.value,
            "submitted_at": utcnow(), "submitted_by": author, "progress_update_id": update_row["id"],
            "review_note": None, "reviewed_by": None, "reviewed_at": None,  # an earlier review stays in the trail
        },
    )  # fmt: skip
    await _spend_links(session, actor, row)


async def _closed(session: AsyncSession, period_id: uuid.UUID) -> bool:
    status = (await session.execute(select(col(ReportingPeriod.status)).where(col(ReportingPeriod.id) == period_id))).scalar_one()
    return bool(status == PeriodStatus.closed)


async def _forecast_fits(session: AsyncSession, row: ActionReturn, body: s.ReturnSubmission) -> None:
    """A proposed forecast is a date the action can still finish by: not past, not before it was planned to start."""
    if body.proposed_forecast_on is None:
        return
    action = (await session.execute(select(col(Action.planned_start_on)).where(col(Action.id) == row.action_id))).one()
    area = await local(session, row.partnership_id)
    assert area is not None
    if body.proposed_forecast_on < area.today:
        raise Unprocessable(
            "A new forecast is a date still ahead.", errors=[FieldError(pointer="/proposed_forecast_on", message="in the past")]
        )
    if action.planned_start_on is not None and body.proposed_forecast_on < action.planned_start_on:
        raise Unprocessable(
            f"The action was planned to start on {action.planned_start_on}; a forecast cannot be before that.",
            errors=[FieldError(pointer="/proposed_forecast_on", message="before the planned start")],
        )


async def _spend_links(session: AsyncSession, actor: Actor, row: ActionReturn) -> None:
    """Once a return is filed, by any route, the links sent for it open nothing more (a send-back sends a new one)."""
    now = utcnow()
    spent = (
        await session.execute(
            update(ReturnLink)
            .where(col(ReturnLink.return_id) == row.id, col(ReturnLink.used_at).is_(None))
            .values(used_at=now, updated_at=now, version=col(ReturnLink.version) + 1)
            .returning(col(ReturnLink.id))
        )
    ).scalars().all()  # fmt: skip
    audit.record_many(
        session,
        actor=actor,
        entries=[audit.Entry("update", "return_link", i, row.partnership_id, {"used_at": [None, now.isoformat()]}) for i in spent],
    )


async def review(session: AsyncSession, actor: Actor, return_id: uuid.UUID, body: s.ReturnReview) -> None:
    """A lead accepts the return (agreeing the period's RAG, and moving the forecast it proposes) or returns it."""
    row = await _locked_return(session, actor, return_id)
    await crud.refuse_history(session, row.plan_id)
    if row.status != ReturnStatus.submitted:
        raise ReturnState(f"Only a submitted return is reviewed; this one is {row.status}.")
    _review_complete(body)
    reviewer = actor.name if actor.person_id is None else await _name_of(session, actor.person_id)
    values: dict[str, Any] = {"review_note": body.review_note, "reviewed_by": reviewer, "reviewed_at": utcnow()}
    if body.decision == "accept":
        assert body.agreed_rag is not None  # the model's rule
        values |= {"status": ReturnStatus.accepted.value, "agreed_rag": body.agreed_rag.value}
        if body.accept_forecast and row.proposed_forecast_on is not None:
            await crud.patch(
                session, actor=actor, res=plan_resources.actions, entity_id=row.action_id,
                data=plan_schemas.ActionUpdate(forecast_on=row.proposed_forecast_on), if_match="*",
            )  # fmt: skip
    else:
        values |= {"status": ReturnStatus.returned.value}
        await _tell_owner_sent_back(session, row)
    await _change(session, actor, row, values)


def _review_complete(body: s.ReturnReview) -> None:
    """Accepting agrees a RAG; returning says what more is needed and agrees nothing."""
    errors = []
    if body.decision == "accept" and body.agreed_rag is None:
        errors.append(FieldError(pointer="/agreed_rag", message="needed to accept a return"))
    if body.decision == "return" and not (body.review_note or "").strip():
        errors.append(FieldError(pointer="/review_note", message="say what more is needed"))
    if body.decision == "return" and body.agreed_rag is not None:
        errors.append(FieldError(pointer="/agreed_rag", message="a returned return agrees no RAG"))
    if errors:
        raise Unprocessable("The review is incomplete.", errors=errors)


async def _tell_owner_sent_back(session: AsyncSession, row: ActionReturn) -> None:
    """The owner hears that the return came back, with a link to file it again (sent by the worker)."""
    if row.owner_id is None:
        return
    owner = (await session.execute(select(col(Person.email), col(Person.active)).where(col(Person.id) == row.owner_id))).one()
    if not owner.active:
        return
    now = utcnow()
    queued = {
        "id": uuid.uuid4(), "created_at": now, "updated_at": now, "version": 1, "partnership_id": row.partnership_id,
        "return_id": row.id, "person_id": row.owner_id, "to_address": owner.email or "", "kind": NotificationKind.sent_back.value,
        "reason": REASONS[NotificationKind.sent_back], "subject": "", "dedupe_key": f"{row.id}:sent_back:{row.version + 1}",
        "status": NotificationStatus.pending.value, "attempts": 0, "next_attempt_at": now,
    }  # fmt: skip
    await session.execute(Notification.__table__.insert().values(**queued))  # type: ignore[attr-defined]
    record_queued(session, [queued])


async def _name_of(session: AsyncSession, person_id: uuid.UUID) -> str:
    return str((await session.execute(select(col(Person.display_name)).where(col(Person.id) == person_id))).scalar_one())


async def mark_missed(session: AsyncSession, actor: Actor, partnership_id: uuid.UUID, today: date) -> int:
    """Returns still unfiled after their due date become `missed`: a recorded fact (kept if filed later)."""
    due = (
        await session.execute(
            select(ActionReturn)
            .where(
                col(ActionReturn.partnership_id) == partnership_id,
                # Only a return never filed: one filed on time and sent back for more was not missed.
                col(ActionReturn.status) == ReturnStatus.expected.value,
                col(ActionReturn.returns_due_on) < today,
                col(ActionReturn.missed_at).is_(None),
                col(ActionReturn.period_id).in_(select(col(ReportingPeriod.id)).where(col(ReportingPeriod.status) == PeriodStatus.open.value)),
            )
            .with_for_update()
        )
    ).scalars().all()  # fmt: skip
    now = utcnow()
    for row in due:
        await _change(session, actor, row, {"status": ReturnStatus.missed.value, "missed_at": now})
    return len(due)


REASONS = {
    NotificationKind.reminder: "return due soon",
    NotificationKind.due_today: "return due today",
    NotificationKind.overdue: "return missed",
    NotificationKind.escalation: "missed return escalated",
    NotificationKind.sent_back: "return sent back for more",
}


def record_queued(session: Any, queued: list[dict[str, Any]]) -> None:
    feed.record(session, [feed.Changed("notification", v["id"], "create", 1, v["partnership_id"]) for v in queued])
    entries = [
        audit.Entry("create", "notification", v["id"], v["partnership_id"], {k: [None, audit.jsonable(v[k])] for k in QUEUED_FIELDS})
        for v in queued
    ]
    audit.record_many(session, actor=SYSTEM, entries=entries)


QUEUED_FIELDS = ("return_id", "person_id", "to_address", "kind", "reason")
