"""Plan succession: the next plan (a priority action plan after a revisit, an accelerated progress plan, a refreshed
WSoA) starts from the one before, which becomes read-only history.

`POST /plans/{id}/successor` creates the new plan as a draft answering the same inspection (or the one named), copies
the open actions chosen (with their contributors, organisations and milestones still pending) and the measures
chosen (with every observation of their history), and the concerns those answer or evidence; each copy names what it
was carried from (`carried_from_id`), the new plan names its `predecessor_id`, and the old plan its `successor_id`.
The old plan moves to `superseded` by the lifecycle's own rule (refused from `submitted` or `closed`), after which
no write reaches it or anything in it (`refuse_history`): its actions keep their updates, evidence and reprogrammes
where they were written. Every row goes through the API's write path and rules, in the request's unit of work.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit, crud
from app.core import changes as feed
from app.core.auth import Actor
from app.core.errors import Conflict, DomainError, FieldError, NotFound, Unprocessable
from app.measures import schemas as ms
from app.measures.resources import measures as measure_resource
from app.models import (
    Action,
    ActionConcern,
    ActionContributor,
    ActionOrganisation,
    Concern,
    Measure,
    MeasureConcern,
    Milestone,
    Observation,
    Plan,
    ReportingPeriod,
    utcnow,
)
from app.models.enums import ActionStatus, MilestoneStatus, PeriodStatus, PlanStatus
from app.partnerships.service import today_of
from app.plans import framework
from app.plans import schemas as s
from app.plans.framework import FrameworkMismatch
from app.plans.lifecycle import TRANSITIONS, IllegalTransition
from app.plans.resources import actions as action_resource
from app.plans.resources import concerns as concern_resource
from app.plans.resources import milestones as milestone_resource
from app.plans.resources import plans as plan_resource

OPEN = frozenset({ActionStatus.not_started, ActionStatus.in_progress, ActionStatus.suspended})
PLAN_COPIED = ("evidence_required_for_completion", "governance", "senior_responsible_officer_id", "reporting_schedule")
CONCERN_COPIED = ("ref", "kind", "title", "verbatim_text", "theme", "intended_outcome", "success_criteria")
ACTION_COPIED = ("ref", "title", "description", "owner_id", "priority", "status", "planned_start_on", "due_on", "success_criteria")
MEASURE_COPIED = ("name", "definition", "unit", "direction", "baseline_value", "baseline_on", "target_value", "target_on", "tolerance",
                  "source", "frequency", "trajectory")  # fmt: skip


class AlreadySucceeded(Conflict):
    type, title = "/problems/already-succeeded", "The plan already has a successor"


def _pick(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {n: getattr(row, n) for n in names}


@contextmanager
def _about(pointer: str, what: str | None = None) -> Iterator[None]:
    """A rule broken by a carried row names the request's field that carried it (the row's own fields are not the client's)."""
    try:
        yield
    except DomainError as exc:
        detail = f"{what} cannot be carried on: {exc.detail}" if what else exc.detail
        errors = [FieldError(pointer=pointer, message=f"{what}: {e.message}" if what else e.message) for e in exc.errors or []]
        raise type(exc)(detail, errors=errors or [FieldError(pointer=pointer, message=detail)]) from exc


async def _close_periods(session: AsyncSession, actor: Actor, plan_id: uuid.UUID, partnership_id: uuid.UUID) -> None:
    """The old plan's open reporting periods close: no return of a superseded plan is chased, missed or reminded."""
    rows = (
        await session.execute(
            select(col(ReportingPeriod.id), col(ReportingPeriod.version)).where(
                col(ReportingPeriod.plan_id) == plan_id, col(ReportingPeriod.status) == PeriodStatus.open.value
            )
        )
    ).all()
    if not rows:
        return
    await session.execute(
        update(ReportingPeriod)
        .where(col(ReportingPeriod.id).in_([r.id for r in rows]))
        .values(status=PeriodStatus.closed.value, version=col(ReportingPeriod.version) + 1, updated_at=utcnow())
    )
    feed.record(session, [feed.Changed("reporting_period", r.id, "update", r.version + 1, partnership_id, plan_id) for r in rows])
    audit.record_many(
        session, actor=actor,
        entries=[audit.Entry("update", "reporting_period", r.id, partnership_id, {"status": ["open", "closed"]}) for r in rows],
    )  # fmt: skip


async def _pairs(session: AsyncSession, owner: Any, other: Any, ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Rows of a link table for the owners `ids`, as (owner, linked) pairs."""
    if not ids:
        return []
    return [(a, b) for a, b in (await session.execute(select(col(owner), col(other)).where(col(owner).in_(ids)))).all()]


def _chosen(rows: dict[uuid.UUID, Any], wanted: list[uuid.UUID], field: str, noun: str) -> list[Any]:
    errors = [FieldError(pointer=f"/{field}/{i}", message=f"not a {noun} of this plan") for i, w in enumerate(wanted) if w not in rows]
    if errors:
        raise Unprocessable(f"Only the plan's own {noun}s can be carried to its successor.", errors=errors)
    return [rows[w] for w in wanted]


async def succeed(session: AsyncSession, *, actor: Actor, plan_id: uuid.UUID, body: s.SuccessorCreate) -> dict[str, Any]:
    """Create the successor of `plan_id` (see the module's docstring); returns the new plan's row."""
    old = (await session.execute(select(Plan).where(col(Plan.id) == plan_id).with_for_update())).scalar_one_or_none()
    if old is None or not actor.sees(old.partnership_id):
        raise NotFound(f"No plan with id {plan_id}.")
    taken = (await session.execute(select(col(Plan.id)).where(col(Plan.predecessor_id) == plan_id))).scalar_one_or_none()
    if taken is not None:
        raise AlreadySucceeded(f"Plan {plan_id} already has a successor, {taken}.")
    # A plan marked superseded by hand, or whose successor was deleted, may still be given its successor.
    already = old.status == PlanStatus.superseded
    if not already and PlanStatus.superseded not in TRANSITIONS[PlanStatus(old.status)]:
        raise IllegalTransition(
            f"A {old.status} plan cannot be superseded: a submitted plan waits for its answer, a closed one is finished.",
            errors=[FieldError(pointer="", message=f"the plan is {old.status}")],
        )
    pid, today = old.partnership_id, await today_of(session, old.partnership_id)

    old_actions = {r.id: r for r in (await session.execute(select(Action).where(col(Action.plan_id) == plan_id))).scalars()}
    carried_actions = _chosen(old_actions, body.action_ids, "action_ids", "action")
    closed = [FieldError(pointer=f"/action_ids/{i}", message=f"action {a.ref} is {a.status}") for i, a in enumerate(carried_actions)
              if a.status not in OPEN]  # fmt: skip
    if closed:
        raise Unprocessable("Only open actions (not started, in progress or suspended) are carried on.", errors=closed)
    old_measures = {r.id: r for r in (await session.execute(select(Measure).where(col(Measure.plan_id) == plan_id))).scalars()}
    carried_measures = _chosen(old_measures, body.measure_ids, "measure_ids", "measure")

    action_ids, measure_ids = [a.id for a in carried_actions], [m.id for m in carried_measures]
    action_concerns = await _pairs(session, ActionConcern.action_id, ActionConcern.concern_id, action_ids)
    measure_concerns = await _pairs(session, MeasureConcern.measure_id, MeasureConcern.concern_id, measure_ids)
    concern_ids = {c for _, c in action_concerns} | {c for _, c in measure_concerns}
    old_concerns = (
        (await session.execute(select(Concern).where(col(Concern.id).in_(concern_ids)).order_by(col(Concern.ref)))).scalars().all()
    )

    inspection_id = body.inspection_id if "inspection_id" in body.model_fields_set else old.inspection_id
    with _about(""):
        created = await crud.create(
            session, actor=actor, res=plan_resource,
            data=s.PlanCreate(partnership_id=pid, inspection_id=inspection_id, kind=body.kind, title=body.title, **_pick(old, PLAN_COPIED)),
            server_set={"predecessor_id": plan_id},
        )  # fmt: skip
    new_id = created["id"]
    fits = await framework.plan_framework(session, body.kind, inspection_id, pid)
    concern_map: dict[uuid.UUID, uuid.UUID] = {}
    for concern in old_concerns:
        values = _pick(concern, CONCERN_COPIED)
        if body.concern_kind is not None and framework.concern_error(concern.kind, fits, "/kind") is not None:
            values["kind"] = body.concern_kind  # only the concerns whose kind the new plan cannot hold
        try:
            row = await crud.create(session, actor=actor, res=concern_resource, data=s.ConcernCreate(plan_id=new_id, **values))
        except FrameworkMismatch as exc:
            raise FrameworkMismatch(
                f"Concern {concern.ref} is an {concern.kind}, which a {body.kind} does not hold: give the kind the carried "
                "concerns take in the new plan.",
                errors=[FieldError(pointer="/concern_kind", message=f"needed for concern {concern.ref}")],
            ) from exc
        concern_map[concern.id] = row["id"]

    contributors = await _pairs(session, ActionContributor.action_id, ActionContributor.person_id, action_ids)
    organisations = await _pairs(session, ActionOrganisation.action_id, ActionOrganisation.organisation_id, action_ids)
    pending = (
        await session.execute(
            select(Milestone).where(col(Milestone.action_id).in_(action_ids), col(Milestone.status) == MilestoneStatus.pending)
        )
    ).scalars().all()  # fmt: skip
    for index, action in enumerate(carried_actions):
        values = _pick(action, ACTION_COPIED)
        if action.forecast_on is not None and action.forecast_on >= today:
            values["forecast_on"] = action.forecast_on  # a forecast already passed is not carried as if still to come
        with _about(f"/action_ids/{index}", f"action {action.ref}"):
            row = await crud.create(
                session, actor=actor, res=action_resource,
                data=s.ActionCreate(
                    plan_id=new_id, **values,
                    concern_ids=[concern_map[c] for a, c in action_concerns if a == action.id],
                    contributor_ids=[p for a, p in contributors if a == action.id],
                    organisation_ids=[o for a, o in organisations if a == action.id],
                ),
                server_set={"carried_from_id": action.id},
            )  # fmt: skip
        for milestone in (m for m in pending if m.action_id == action.id):
            await crud.create(
                session, actor=actor, res=milestone_resource,
                data=s.MilestoneCreate(action_id=row["id"], title=milestone.title, due_on=milestone.due_on,
                                       evidence_required=milestone.evidence_required),
            )  # fmt: skip

    now = utcnow()
    histories: dict[uuid.UUID, list[Observation]] = {}
    if measure_ids:  # every carried measure's history in one statement
        for o in (await session.execute(select(Observation).where(col(Observation.measure_id).in_(measure_ids)))).scalars():
            histories.setdefault(o.measure_id, []).append(o)
    for measure in carried_measures:
        values = _pick(measure, MEASURE_COPIED)
        concerns = [concern_map[c] for m, c in measure_concerns if m == measure.id]
        row = await crud.create(
            session, actor=actor, res=measure_resource, data=ms.MeasureCreate(plan_id=new_id, concern_ids=concerns, **values),
            server_set={"carried_from_id": measure.id},
        )  # fmt: skip
        copies = [
            {"id": uuid.uuid4(), "partnership_id": pid, "measure_id": row["id"], "period_start_on": o.period_start_on,
             "period_end_on": o.period_end_on, "value": o.value, "numerator": o.numerator, "denominator": o.denominator,
             "provisional": o.provisional, "created_at": now, "updated_at": now, "version": 1}
            for o in histories.get(measure.id, [])
        ]  # fmt: skip
        if copies:
            await session.execute(insert(Observation), copies)
            feed.record(session, [feed.Changed("observation", c["id"], "create", 1, pid, new_id) for c in copies])
            audit.record_many(
                session, actor=actor,
                entries=[audit.Entry("create", "observation", c["id"], pid,
                                     {k: [None, audit.jsonable(c[k])] for k in ("measure_id", "period_start_on", "period_end_on", "value")})
                         for c in copies],
            )  # fmt: skip

    if not already:
        await crud.patch(
            session, actor=actor, res=plan_resource, entity_id=plan_id, data=s.PlanUpdate(status=PlanStatus.superseded), if_match="*"
        )
    await _close_periods(session, actor, plan_id, pid)
    return dict(created)
