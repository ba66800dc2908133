"""Request and response models: inspections, plans, concerns, actions, milestones, progress updates."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from app.core.pagination import ListQuery
from app.core.schemas import Body, EntityRead, LinkIds, LongText, Ref, Title, patch_model, plan_date, touched
from app.impact.schemas import ConcernImpact
from app.models.enums import (
    ActionStatus,
    ConcernKind,
    Framework,
    InspectionKind,
    Inspectorate,
    Judgement,
    MilestoneStatus,
    PlanKind,
    PlanStatus,
    Priority,
    Rag,
)
from app.reporting.schedule import Schedule

STAMP: dict[str, Any] = {"created_at": "2026-02-02T10:15:00Z", "updated_at": "2026-03-01T08:00:00Z", "version": 2}
PARTNERSHIP_ID = "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11"
INSPECTION_ID = "3f2e1d0c-4b5a-4968-8776-a5b4c3d2e1f0"
PLAN_ID = "7c6b5a49-3827-4165-9483-726150493827"
CONCERN_ID = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"
ACTION_ID = "c0ffee00-1234-4abc-8def-0123456789ab"
PERSON_ID = "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6a8c0e1b"
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000, pattern=r"^https?://[^\s]+$")]


def _dates_in_order(earlier: date | None, later: date | None, later_name: str, earlier_name: str) -> None:
    if earlier is not None and later is not None and later < earlier:
        raise ValueError(f"{later_name} must not be before {earlier_name}")


# Inspections ---------------------------------------------------------------------------------


class InspectionCreate(Body):
    partnership_id: uuid.UUID
    framework: Framework
    kind: InspectionKind
    inspectorates: list[Inspectorate] = Field(default_factory=lambda: [Inspectorate.ofsted, Inspectorate.cqc], max_length=2)
    onsite_start_on: date | None = None
    onsite_end_on: date | None = None
    report_published_on: date | None = None
    outcome: Annotated[str, StringConstraints(max_length=2000)] | None = Field(None, description="The outcome as the report words it.")
    report_url: Url | None = None

    _dates = field_validator("onsite_start_on", "onsite_end_on", "report_published_on")(plan_date)

    @model_validator(mode="after")
    def _check(self) -> Self:
        _dates_in_order(self.onsite_start_on, self.onsite_end_on, "onsite_end_on", "onsite_start_on")
        if len(set(self.inspectorates)) != len(self.inspectorates):
            raise ValueError("inspectorates must not repeat")
        return self


INSPECTION_EXAMPLE: dict[str, Any] = {
    "partnership_id": PARTNERSHIP_ID,
    "framework": "las_2016",
    "kind": "full",
    "inspectorates": ["ofsted", "cqc"],
    "onsite_start_on": "2017-01-16",
    "onsite_end_on": "2017-01-20",
    "report_published_on": "2017-03-20",
}


class InspectionRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": INSPECTION_ID,
                **STAMP,
                **INSPECTION_EXAMPLE,
                "outcome": "Written statement of action required",
                "report_url": "https://reports.example/wessex-vale-2017.pdf",
            }
        }
    )
    partnership_id: uuid.UUID
    framework: Framework
    kind: InspectionKind
    inspectorates: list[Inspectorate]
    onsite_start_on: date | None
    onsite_end_on: date | None
    report_published_on: date | None
    outcome: str | None
    report_url: str | None


InspectionUpdate = patch_model("InspectionUpdate", InspectionCreate, exclude={"partnership_id"})


class InspectionQuery(ListQuery):
    partnership_id: uuid.UUID | None = None
    framework: Framework | None = None
    kind: InspectionKind | None = None


# Plans ---------------------------------------------------------------------------------------


class PlanCreate(Body):
    partnership_id: uuid.UUID
    inspection_id: uuid.UUID | None = None
    kind: PlanKind
    title: Title
    status: PlanStatus = Field(
        PlanStatus.draft,
        description="A plan is created as `draft`, then moves draft → submitted → accepted | returned → in_delivery → closed, "
        "or superseded. Submitting needs every concern answered by an action and every action with an owner and a due date; "
        "accepting needs `accepted_on` and freezes each action's `baseline_due_on`. Other moves are 409 `/problems/illegal-transition`.",
    )
    submission_due_on: date | None = Field(
        None,
        description="For kinds with a working-day rule (a WSoA: 70 working days after the report is published, England and Wales "
        "bank holidays excluded) this is computed from the inspection's `report_published_on` and a value given here is not used.",
    )
    submitted_on: date | None = None
    accepted_on: date | None = None
    revisit_due_on: date | None = None
    evidence_required_for_completion: bool = Field(True, description="Completing an action needs at least one accepted evidence item.")
    governance: Annotated[str, StringConstraints(max_length=4000)] | None = Field(
        None,
        description="How delivery is governed and who signed the plan off (the board, its chair, the senior responsible "
        "owners); shown on the cover of every export.",
    )
    senior_responsible_officer_id: uuid.UUID | None = Field(
        None, description="The person a missed return is escalated to, with the partnership's leads."
    )
    reporting_schedule: Schedule | None = Field(
        None,
        description="When the monthly reporting periods open (by `wsoa worker`, on the first of each month while the plan is "
        "`accepted` or `in_delivery`) and when their returns are due; without one, a lead opens periods with "
        "`POST /reporting-periods`.",
    )

    _dates = field_validator("submission_due_on", "submitted_on", "accepted_on", "revisit_due_on")(plan_date)

    @model_validator(mode="after")
    def _check(self) -> Self:
        _dates_in_order(self.submitted_on, self.accepted_on, "accepted_on", "submitted_on")
        return self


class PlanRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": PLAN_ID,
                **STAMP,
                "partnership_id": PARTNERSHIP_ID,
                "inspection_id": INSPECTION_ID,
                "kind": "wsoa",
                "title": "Written Statement of Action 2017",
                "status": "in_delivery",
                "submission_due_on": "2017-06-28",
                "submitted_on": "2017-06-26",
                "accepted_on": "2017-07-24",
                "revisit_due_on": "2019-01-24",
                "evidence_required_for_completion": True,
                "governance": "SEND Delivery Group chaired by the Cabinet Member for Children, Education and Early Help; "
                "signed off by Cabinet and the CCG governing body.",
                "senior_responsible_officer_id": "5a0d8c1e-7b2f-4e61-9c3a-0f4e2b7d9a10",
                "reporting_schedule": {
                    "frequency": "monthly",
                    "meeting": {"week": 2, "weekday": "tuesday"},
                    "returns_due_working_days_before_meeting": 5,
                    "returns_due_day_of_month": None,
                    "reminder_working_days": [7, 2],
                    "escalate_after_working_days": 3,
                },
                "predecessor_id": None,
                "successor_id": None,
            }
        }
    )
    partnership_id: uuid.UUID
    inspection_id: uuid.UUID | None
    kind: PlanKind
    title: str
    status: PlanStatus
    submission_due_on: date | None
    submitted_on: date | None
    accepted_on: date | None
    revisit_due_on: date | None
    evidence_required_for_completion: bool
    governance: str | None
    senior_responsible_officer_id: uuid.UUID | None
    reporting_schedule: Schedule | None
    predecessor_id: uuid.UUID | None = Field(description="The plan this one succeeded (`POST /plans/{id}/successor`).")
    successor_id: uuid.UUID | None = Field(description="The plan that succeeded this one; a superseded plan is read-only history.")


SUCCESSOR_EXAMPLE: dict[str, Any] = {
    "kind": "accelerated_progress_plan",
    "title": "Accelerated Progress Plan 2019",
    "inspection_id": INSPECTION_ID,
    "action_ids": [ACTION_ID],
    "measure_ids": ["7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"],
}


class SuccessorCreate(Body):
    model_config = ConfigDict(json_schema_extra={"example": SUCCESSOR_EXAMPLE})

    kind: PlanKind = Field(description="The kind of the new plan, which must fit its inspection's framework.")
    title: Title
    inspection_id: uuid.UUID | None = Field(
        None, description="The inspection the new plan answers (a revisit, a new inspection); left out: the old plan's."
    )
    action_ids: LinkIds = Field(
        default_factory=list, max_length=1000, description="Open actions of the old plan to carry on, with their pending milestones."
    )
    measure_ids: LinkIds = Field(default_factory=list, max_length=1000, description="Measures to carry on, with their history.")
    concern_kind: ConcernKind | None = Field(
        None,
        description="The kind the carried concerns take when theirs does not fit the new plan (a WSoA's areas of significant "
        "weakness carried into an improvement plan, say); left out, they keep their kind.",
    )


PlanUpdate = patch_model("PlanUpdate", PlanCreate, exclude={"partnership_id"})


class PlanQuery(ListQuery):
    partnership_id: uuid.UUID | None = None
    inspection_id: uuid.UUID | None = None
    kind: PlanKind | None = None
    status: PlanStatus | None = None


# Concerns ------------------------------------------------------------------------------------


class ConcernCreate(Body):
    plan_id: uuid.UUID
    ref: Ref = Field(description="Unique within the plan, e.g. `W1`.")
    kind: ConcernKind
    title: Title
    verbatim_text: LongText | None = Field(None, description="The inspection report's own words.")
    theme: Annotated[str, StringConstraints(max_length=200)] | None = None
    judgement: Judgement = Judgement.not_yet_assessed
    intended_outcome: LongText | None = Field(None, description="What will be different for children, young people and families.")
    success_criteria: LongText | None = Field(None, description="How the partnership will know the concern is answered.")


class ConcernRead(EntityRead, ConcernImpact):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": CONCERN_ID,
                **STAMP,
                "partnership_id": PARTNERSHIP_ID,
                "plan_id": PLAN_ID,
                "ref": "W1",
                "kind": "area_of_significant_weakness",
                "title": "Timeliness of EHC plans",
                "verbatim_text": "Too many EHC plans are not completed within the statutory 20 weeks.",
                "theme": "EHC needs assessment",
                "judgement": "not_yet_assessed",
                "intended_outcome": "Families get a plan that meets their child's needs within 20 weeks of asking.",
                "success_criteria": "90% of EHC plans issued within 20 weeks, excluding exceptions, for six months running.",
                "latest_impact": {
                    "id": "e1d2c3b4-a596-4877-8869-5a4b3c2d1e0f",
                    "as_of": "2026-02-28",
                    "period_id": None,
                    "judgement": "partial_progress",
                    "judgement_reason": "Timeliness is above 60% for three months running, short of the 90% aimed for.",
                    "narrative": "Families now wait 17 weeks on average for a final plan, down from 31 in March.",
                },
                "impact_rag": "amber",
            }
        }
    )
    partnership_id: uuid.UUID
    plan_id: uuid.UUID
    ref: str
    kind: ConcernKind
    title: str
    verbatim_text: str | None
    theme: str | None
    judgement: Judgement
    intended_outcome: str | None
    success_criteria: str | None


ConcernUpdate = patch_model("ConcernUpdate", ConcernCreate, exclude={"plan_id"})


class ConcernQuery(ListQuery):
    plan_id: uuid.UUID | None = None
    kind: list[ConcernKind] | None = Field(None, max_length=len(ConcernKind), description="Repeat to match any of several.")
    sort: Literal["created_at", "-created_at", "ref", "-ref"] = Field(  # type: ignore[assignment]  # the base's orders and more
        "created_at", description="Order: by creation (default) or by ref."
    )
    judgement: Judgement | None = None


# Actions -------------------------------------------------------------------------------------


class ActionCreate(Body):
    plan_id: uuid.UUID
    ref: Ref = Field(description="Unique within the plan, e.g. `1.3`.")
    title: Title
    description: LongText | None = None
    concern_ids: list[uuid.UUID] = Field(min_length=1, max_length=100, description="Concerns of the same plan this action answers.")
    owner_id: uuid.UUID | None = Field(None, description="The one accountable person.")
    contributor_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    organisation_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    priority: Priority = Priority.medium
    status: ActionStatus = ActionStatus.not_started
    planned_start_on: date | None = None
    due_on: date | None = None
    baseline_due_on: date | None = None
    forecast_on: date | None = None
    completed_on: date | None = None
    success_criteria: LongText | None = None

    _dates = field_validator("planned_start_on", "due_on", "baseline_due_on", "forecast_on", "completed_on")(plan_date)

    @field_validator("forecast_on", "completed_on")
    @classmethod
    def _not_before_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("planned_start_on")
        name = info.field_name or ""
        if value is not None and start is not None and value < start and touched(info, name, "planned_start_on"):
            raise ValueError("must not be before planned_start_on")
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        _dates_in_order(self.planned_start_on, self.due_on, "due_on", "planned_start_on")
        for name in ("concern_ids", "contributor_ids", "organisation_ids"):
            ids = getattr(self, name)
            if len(set(ids)) != len(ids):
                raise ValueError(f"{name} must not repeat an id")
        if self.status == ActionStatus.completed and self.completed_on is None:
            raise ValueError("a completed action needs completed_on")
        if self.status != ActionStatus.completed and self.completed_on is not None:
            raise ValueError("completed_on is only set on completed actions")
        return self


class PersonSummary(Body):
    id: uuid.UUID
    display_name: str
    job_title: str | None
    active: bool


class MilestoneSummary(Body):
    id: uuid.UUID
    title: str
    due_on: date
    status: MilestoneStatus
    met_on: date | None


class ReprogrammeRead(Body):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "5e4d3c2b-1a09-4f8e-9d7c-6b5a49382716",
                "action_id": ACTION_ID,
                "previous_due_on": "2018-03-31",
                "new_due_on": "2018-06-30",
                "baseline_due_on": "2018-03-31",
                "reason": "Educational psychology capacity arrives in April; agreed with DfE and NHS England at the review meeting.",
                "approved_at_meeting": "SEND Delivery Group, 12 February 2018, decision 3",
                "actor_type": "api_key",
                "actor_id": "k7Qm2x",
                "person_id": None,
                "created_at": "2018-02-14T10:00:00Z",
            }
        }
    )
    id: uuid.UUID
    action_id: uuid.UUID
    previous_due_on: date | None
    new_due_on: date | None
    baseline_due_on: date | None = Field(description="The baseline at the time, frozen when the plan was accepted.")
    reason: str
    approved_at_meeting: str | None = Field(description="The decision that approved the move, when given.")
    actor_type: str
    actor_id: str
    person_id: uuid.UUID | None
    created_at: datetime


class ActionRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": ACTION_ID,
                **STAMP,
                "partnership_id": PARTNERSHIP_ID,
                "plan_id": PLAN_ID,
                "ref": "1.3",
                "title": "Clear the backlog of EHC needs assessments",
                "description": "Recruit four agency EHC coordinators and triage the open cases weekly.",
                "concern_ids": [CONCERN_ID],
                "owner_id": PERSON_ID,
                "contributor_ids": [],
                "organisation_ids": [],
                "priority": "high",
                "status": "in_progress",
                "planned_start_on": "2017-08-01",
                "due_on": "2018-03-31",
                "baseline_due_on": "2018-03-31",
                "forecast_on": "2018-05-31",
                "completed_on": None,
                "success_criteria": "90% of new EHC plans issued within 20 weeks for three consecutive months.",
                "rag": "red",
                "baseline_rag": "red",
                "variance_days": 0,
                "reprogramme_count": 0,
                "latest_reprogramme": None,
                "reported_rag": "amber",
                "is_overdue": False,
                "days_overdue": 0,
                "is_slipping": True,
                "owner_active": True,
                "owner": {"id": PERSON_ID, "display_name": "Priya Raman", "job_title": "Head of SEND Assessment", "active": True},
                "milestones": [
                    {
                        "id": "e1d2c3b4-a596-4788-9a0b-1c2d3e4f5a6b",
                        "title": "Coordinators in post",
                        "due_on": "2017-10-31",
                        "status": "met",
                        "met_on": "2017-10-20",
                    }
                ],
            }
        }
    )
    partnership_id: uuid.UUID
    plan_id: uuid.UUID
    ref: str
    title: str
    description: str | None
    concern_ids: list[uuid.UUID]
    owner_id: uuid.UUID | None
    contributor_ids: list[uuid.UUID]
    organisation_ids: list[uuid.UUID]
    priority: Priority
    status: ActionStatus
    planned_start_on: date | None
    due_on: date | None
    baseline_due_on: date | None
    forecast_on: date | None
    completed_on: date | None
    success_criteria: str | None
    carried_from_id: uuid.UUID | None = Field(
        None, description="The predecessor plan's action this one carries on (its history stays there), if any."
    )
    rag: Rag = Field(
        description="Derived from dates and status, with today in the partnership's time zone: blue when completed; red when "
        "overdue, or forecast after `due_on`, by more than the partnership's `red_after_days` (30 unless set); amber when "
        "overdue, forecast late or not started after `planned_start_on`; else green."
    )
    baseline_rag: Rag = Field(
        description="The same rule against `baseline_due_on`, the due date frozen when the plan was accepted: moving `due_on` "
        "changes `rag` but never this (equal to `rag` without a baseline)."
    )
    variance_days: int | None = Field(
        description="Days from `baseline_due_on` to delivery: `completed_on` for a completed action; while open, the latest "
        "of `due_on`, `forecast_on` and (once overdue) today; `due_on` when suspended or cancelled. Positive is later than "
        "agreed at acceptance; null without a baseline."
    )
    reprogramme_count: int = Field(description="How many times `due_on` was moved after the plan was accepted.")
    latest_reprogramme: ReprogrammeRead | None = Field(description="The latest move of `due_on`: from, to, why, who and when.")
    reported_rag: Rag | None = Field(description="The RAG of the latest progress update, if any.")
    is_overdue: bool
    days_overdue: int
    is_slipping: bool
    owner_active: bool | None = Field(description="False when the owner has left; null without an owner.")
    owner: PersonSummary | None
    milestones: list[MilestoneSummary] = Field(description="All milestones of the action, by due date.")


ActionUpdate = patch_model(
    "ActionUpdate",
    ActionCreate,
    exclude={"plan_id"},
    extra={
        "reprogramme_reason": (
            Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] | None,
            Field(None, description="Why `due_on` moves. Required when it moves after the plan was accepted (a reprogramme)."),
        ),
        "reprogramme_approved_at_meeting": (
            Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] | None,
            Field(
                None,
                description="The decision that approved the reprogramme: a meeting and date, or a decision reference "
                '(for example "SEND Delivery Group, 12 March 2026, decision 4"). Only with `reprogramme_reason`.',
            ),
        ),
    },
)


class ReprogrammePage(Body):
    items: list[ReprogrammeRead]
    next_cursor: str | None = Field(None, description="Always null: an action's reprogrammes come in one page.")


class ReprogrammeQuery(Body):
    """No parameters; unknown ones are rejected like any list's."""


class ActionQuery(ListQuery):
    plan_id: uuid.UUID | None = None
    concern_id: uuid.UUID | None = Field(None, description="Actions answering this concern.")
    status: list[ActionStatus] | None = Field(
        None, max_length=len(ActionStatus), description="Repeat to match any: `?status=in_progress&status=not_started`."
    )
    priority: list[Priority] | None = Field(None, max_length=len(Priority), description="Repeat to match any of several.")
    owner_id: uuid.UUID | Literal["me"] | None = Field(None, description="An owner's id, or `me` for the caller's own person.")
    contributor_id: uuid.UUID | Literal["me"] | None = Field(None, description="Actions this person (or `me`) contributes to.")
    sort: Literal["created_at", "-created_at", "ref", "-ref", "due_on", "-due_on"] = Field(  # type: ignore[assignment]
        "created_at", description="Order: by creation (default), by ref, or by due date (undated last)."
    )
    due_before: date | None = Field(None, description="Due strictly before this date.")
    due_after: date | None = Field(None, description="Due strictly after this date.")
    overdue: bool | None = Field(None, description="Only overdue (true) or only not overdue (false) actions.")
    rag: list[Rag] | None = Field(None, max_length=len(Rag), description="The derived RAG (against the due date); repeat to match any.")


# Milestones ----------------------------------------------------------------------------------


class MilestoneCreate(Body):
    action_id: uuid.UUID
    title: Title
    due_on: date
    status: MilestoneStatus = MilestoneStatus.pending
    met_on: date | None = None
    evidence_required: bool = False

    _dates = field_validator("due_on", "met_on")(plan_date)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.status == MilestoneStatus.met and self.met_on is None:
            raise ValueError("a met milestone needs met_on")
        if self.status != MilestoneStatus.met and self.met_on is not None:
            raise ValueError("met_on is only set on met milestones")
        return self


class MilestoneRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "e1d2c3b4-a596-4788-9a0b-1c2d3e4f5a6b",
                **STAMP,
                "partnership_id": PARTNERSHIP_ID,
                "action_id": ACTION_ID,
                "title": "Coordinators in post",
                "due_on": "2017-10-31",
                "status": "met",
                "met_on": "2017-10-20",
                "evidence_required": True,
            }
        }
    )
    partnership_id: uuid.UUID
    action_id: uuid.UUID
    title: str
    due_on: date
    status: MilestoneStatus
    met_on: date | None
    evidence_required: bool


MilestoneUpdate = patch_model("MilestoneUpdate", MilestoneCreate, exclude={"action_id"})


class MilestoneQuery(ListQuery):
    action_id: uuid.UUID | None = None
    status: list[MilestoneStatus] | None = Field(None, max_length=len(MilestoneStatus), description="Repeat to match any of several.")
    sort: Literal["created_at", "-created_at", "due_on", "-due_on"] = Field(  # type: ignore[assignment]
        "created_at", description="Order: by creation (default) or by due date."
    )
    due_before: date | None = Field(None, description="Due strictly before this date.")
    due_after: date | None = Field(None, description="Due strictly after this date.")


# Progress updates ----------------------------------------------------------------------------


class ActionProgressCreate(Body):
    author_id: uuid.UUID | None = Field(None, description="Defaults to the person linked to the caller's key.")
    rag: Rag
    narrative: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
    percent_complete: int | None = Field(None, ge=0, le=100)
    blockers: LongText | None = None
    next_steps: LongText | None = None


class ProgressUpdateCreate(ActionProgressCreate):
    action_id: uuid.UUID


class ProgressUpdateRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "b7a69584-7362-4514-a3b2-c1d0e9f8a7b6",
                **{**STAMP, "version": 1},
                "partnership_id": PARTNERSHIP_ID,
                "action_id": ACTION_ID,
                "author_id": PERSON_ID,
                "rag": "amber",
                "narrative": "Three of four coordinators are in post; the backlog fell from 212 to 164 cases.",
                "percent_complete": 55,
                "blockers": "Educational psychology advice still averages 9 weeks.",
                "next_steps": "Commission additional EP capacity from the neighbouring authority.",
            }
        }
    )
    partnership_id: uuid.UUID
    action_id: uuid.UUID
    author_id: uuid.UUID
    rag: Rag
    narrative: str
    percent_complete: int | None
    blockers: str | None
    next_steps: str | None


class ProgressUpdateQuery(ListQuery):
    action_id: uuid.UUID | None = None
    author_id: uuid.UUID | None = None
    rag: Rag | None = None
