""" "My work": who the caller is, and the returns and actions its person owns or contributes to, due soonest first."""

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import bindparam, func, or_, select
from sqlmodel import col
from starlette.responses import Response

from app.core.auth import Actor
from app.core.db import DatabaseDep
from app.core.errors import Conflict, problems
from app.core.http import json_response
from app.core.pagination import LAST_DAY
from app.core.permissions import READERS, allow, documented, roles_text
from app.core.reads import ids_of
from app.core.routing import api_router, ok
from app.governance.service import is_late
from app.models import (
    Action,
    ActionConcern,
    ActionContributor,
    ActionReturn,
    Concern,
    Meeting,
    MeetingAction,
    Partnership,
    Person,
    Plan,
    ReportingPeriod,
)
from app.models.enums import ActionStatus, MeetingActionStatus, Role
from app.partnerships.service import today_in

router = api_router()
Anyone = Annotated[Actor, Depends(allow(frozenset(Role)))]
Reader = Annotated[Actor, Depends(allow(READERS))]
DONE = (ActionStatus.completed.value, ActionStatus.cancelled.value)


class NoPerson(Conflict):
    type, title = "/problems/no-person", "The caller is not a person"


class MePerson(BaseModel):
    id: uuid.UUID
    display_name: str
    job_title: str | None
    email: str | None


class Me(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "actor_type": "api_key",
                "actor_id": "1f0e2d3c-4b5a-4697-8e1d-2c3b4a596877",
                "name": "Priya's key",
                "role": "contributor",
                "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
                "person": {
                    "id": "5a0d8c1e-7b2f-4e61-9c3a-0f4e2b7d9a10",
                    "display_name": "Priya Raman",
                    "job_title": "Head of SEND Assessment",
                    "email": "priya.raman@wessexvale.gov.example",
                },
            }
        }
    )
    actor_type: str
    actor_id: str
    name: str
    role: Role
    partnership_id: uuid.UUID | None = Field(description="Null for a national key or token.")
    person: MePerson | None = Field(description="The person the key or token acts as, if any.")


class MyReturn(BaseModel):
    id: uuid.UUID
    status: str
    returns_due_on: Any
    period_id: uuid.UUID
    meeting_on: Any
    plan_id: uuid.UUID
    plan_title: str
    action_id: uuid.UUID
    action_ref: str
    action_title: str
    concern_refs: list[str]
    owner_id: uuid.UUID | None
    missed: bool
    review_note: str | None = Field(description="Why a lead sent it back, when it was.")
    role: str = Field(description="`owner` or `contributor`.")


class MyReturns(BaseModel):
    items: list[MyReturn]


class MyAction(BaseModel):
    id: uuid.UUID
    ref: str
    title: str
    status: str
    due_on: Any
    forecast_on: Any
    plan_id: uuid.UUID
    plan_title: str
    concern_refs: list[str]
    owner_id: uuid.UUID | None
    role: str = Field(description="`owner` or `contributor`.")


class MyActions(BaseModel):
    items: list[MyAction]


class MyMeetingAction(BaseModel):
    id: uuid.UUID
    title: str
    status: str
    due_on: date | None
    is_overdue: bool
    meeting_id: uuid.UUID
    meeting_title: str
    held_on: date = Field(description="The day of the meeting that asked for it.")
    plan_id: uuid.UUID | None


class MyMeetingActions(BaseModel):
    items: list[MyMeetingAction]


@router.get(
    "/me",
    summary="Who am I",
    description="The caller as the service sees it: key or token, role, partnership and the person it acts as."
    + roles_text(frozenset(Role)),
    operation_id="me-get",
    tags=["my work"],
    response_class=Response,
    responses={200: ok(Me, "The caller."), **problems()},
    openapi_extra=documented(frozenset(Role)),
)
async def me(db: DatabaseDep, actor: Anyone) -> Response:
    person = None
    if actor.person_id is not None:
        async with db.read() as reads:
            found = await reads.rows(
                select(col(Person.id), col(Person.display_name), col(Person.job_title), col(Person.email)).where(
                    col(Person.id) == bindparam("person_id")
                ),
                {"person_id": actor.person_id},
                cache_key="me-person",
            )
        person = found[0] if found else None
        if person is not None and actor.role is Role.inspector:
            person["email"] = None
    return json_response(
        {
            "actor_type": actor.actor_type,
            "actor_id": actor.actor_id,
            "name": actor.name,
            "role": actor.role.value,
            "partnership_id": actor.partnership_id,
            "person": person,
        }
    )


def _person(actor: Actor) -> uuid.UUID:
    if actor.person_id is None:
        raise NoPerson("This key or token acts as no person, so it owns no work: use one linked to a person (`person_id`).")
    return actor.person_id


def _concern_refs(action_id: Any) -> Any:
    return (
        select(ids_of(Concern.__table__.c.ref))  # type: ignore[attr-defined]
        .join(ActionConcern, col(ActionConcern.concern_id) == col(Concern.id))
        .where(col(ActionConcern.action_id) == action_id)
        .scalar_subquery()
        .label("concern_refs")
    )


def _involves(person: Any) -> Any:
    contributes = select(col(ActionContributor.action_id)).where(col(ActionContributor.person_id) == person)
    return or_(col(Action.owner_id) == person, col(Action.id).in_(contributes))


MY_RETURNS: Any = (
    select(
        col(ActionReturn.id),
        col(ActionReturn.status),
        col(ActionReturn.returns_due_on),
        col(ActionReturn.period_id),
        col(ReportingPeriod.meeting_on),
        col(ActionReturn.plan_id),
        col(Plan.title).label("plan_title"),
        col(ActionReturn.action_id),
        col(Action.ref).label("action_ref"),
        col(Action.title).label("action_title"),
        _concern_refs(col(Action.id)),
        col(ActionReturn.owner_id),
        (col(ActionReturn.missed_at).is_not(None)).label("missed"),
        col(ActionReturn.review_note),
    )
    .join(Action, col(Action.id) == col(ActionReturn.action_id))
    .join(Plan, col(Plan.id) == col(ActionReturn.plan_id))
    .join(ReportingPeriod, col(ReportingPeriod.id) == col(ActionReturn.period_id))
    .where(
        _involves(bindparam("person_id")),
        or_(*(col(ActionReturn.status) == state for state in ("expected", "returned", "missed", "submitted"))),
    )
    .order_by(col(ActionReturn.returns_due_on), col(Action.ref), col(ActionReturn.id))
)

MY_ACTIONS: Any = (
    select(
        col(Action.id),
        col(Action.ref),
        col(Action.title),
        col(Action.status),
        col(Action.due_on),
        col(Action.forecast_on),
        col(Action.plan_id),
        col(Plan.title).label("plan_title"),
        _concern_refs(col(Action.id)),
        col(Action.owner_id),
    )
    .join(Plan, col(Plan.id) == col(Action.plan_id))
    .where(_involves(bindparam("person_id")), *(col(Action.status) != state for state in DONE))
    .order_by(func.coalesce(col(Action.due_on), LAST_DAY), col(Action.ref), col(Action.id))  # undated last, on both databases
)


def _shaped(rows: list[dict[str, Any]], person: uuid.UUID) -> list[dict[str, Any]]:
    """Concern refs as a sorted list (aggregated as text in one statement for the page), and the caller's part."""
    for row in rows:
        row["role"] = "owner" if row["owner_id"] is not None and str(row["owner_id"]) == str(person) else "contributor"
        row["concern_refs"] = sorted(row["concern_refs"].split(",")) if row["concern_refs"] else []
        if "missed" in row:
            row["missed"] = bool(row["missed"])
    return rows


@router.get(
    "/me/returns",
    summary="My returns",
    description="The monthly returns of actions the caller's person owns or contributes to that are still to file, sent back, "
    "missed or awaiting review, due soonest first, with the plan and the concerns' refs. 409 `/problems/no-person` for a key "
    "that acts as no person." + roles_text(READERS),
    operation_id="me-returns-list",
    tags=["my work"],
    response_class=Response,
    responses={200: ok(MyReturns, "The caller's returns."), **problems(409)},
    openapi_extra=documented(READERS),
)
async def my_returns(db: DatabaseDep, actor: Reader) -> Response:
    person = _person(actor)
    async with db.read() as reads:
        rows = await reads.rows(MY_RETURNS, {"person_id": person}, cache_key="me-returns")
    return json_response({"items": _shaped(rows, person)})


@router.get(
    "/me/actions",
    summary="My actions",
    description="The open actions (not completed or cancelled) the caller's person owns or contributes to, due soonest first "
    "(undated last), with the plan and the concerns' refs. 409 `/problems/no-person` for a key that acts as no person."
    + roles_text(READERS),
    operation_id="me-actions-list",
    tags=["my work"],
    response_class=Response,
    responses={200: ok(MyActions, "The caller's actions."), **problems(409)},
    openapi_extra=documented(READERS),
)
async def my_actions(db: DatabaseDep, actor: Reader) -> Response:
    person = _person(actor)
    async with db.read() as reads:
        rows = await reads.rows(MY_ACTIONS, {"person_id": person}, cache_key="me-actions")
    return json_response({"items": _shaped(rows, person)})


MY_MEETING_ACTIONS: Any = (
    select(
        col(MeetingAction.id),
        col(MeetingAction.title),
        col(MeetingAction.status),
        col(MeetingAction.due_on),
        col(MeetingAction.meeting_id),
        col(Meeting.title).label("meeting_title"),
        col(Meeting.held_on),
        col(Meeting.plan_id),
        col(Partnership.timezone),
    )
    .join(Meeting, col(Meeting.id) == col(MeetingAction.meeting_id))
    .join(Partnership, col(Partnership.id) == col(MeetingAction.partnership_id))
    .where(col(MeetingAction.owner_id) == bindparam("person_id"), col(MeetingAction.status) == MeetingActionStatus.open.value)
    .order_by(func.coalesce(col(MeetingAction.due_on), LAST_DAY), col(MeetingAction.id))
)


@router.get(
    "/me/meeting-actions",
    summary="My meeting actions",
    description="The open meeting actions the caller's person owns, due soonest first (undated last), with the meeting that "
    "asked for them and whether each is overdue. 409 `/problems/no-person` for a key that acts as no person." + roles_text(READERS),
    operation_id="me-meeting-actions-list",
    tags=["my work"],
    response_class=Response,
    responses={200: ok(MyMeetingActions, "The caller's meeting actions."), **problems(409)},
    openapi_extra=documented(READERS),
)
async def my_meeting_actions(db: DatabaseDep, actor: Reader) -> Response:
    person = _person(actor)
    async with db.read() as reads:
        rows = await reads.rows(MY_MEETING_ACTIONS, {"person_id": person}, cache_key="me-meeting-actions")
    for row in rows:
        row["is_overdue"] = is_late(row, today_in(row.pop("timezone")))
    return json_response({"items": rows})
