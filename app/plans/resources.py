"""The plan's collections: inspections, plans, concerns, actions, milestones, progress updates."""

from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.core.permissions import PLAN_EDITORS, REPORTERS, Access
from app.core.resources import Link, Ref, Resource, Unique
from app.models import (
    Action,
    ActionConcern,
    ActionContributor,
    ActionOrganisation,
    Concern,
    Inspection,
    Milestone,
    Organisation,
    Partnership,
    Person,
    Plan,
    ProgressUpdate,
)
from app.plans import schemas as s
from app.plans.framework import InspectionRules
from app.plans.lifecycle import ConcernRules, PlanRules
from app.plans.reads import ActionReader, ConcernReader, PlanReader
from app.plans.service import ActionRules, MilestoneRules, ProgressUpdateRules

PARTNERSHIP = Ref("partnership_id", Partnership, "partnership")
PLAN = Ref("plan_id", Plan, "plan")
ACTION = Ref("action_id", Action, "action")
PARTNERSHIP_ID = s.PARTNERSHIP_ID
EDITED_BY_LEADS = Access(create=PLAN_EDITORS, update=PLAN_EDITORS, delete=PLAN_EDITORS)

inspections = Resource(
    path="inspections",
    entity="inspection",
    tag="inspections",
    table=Inspection,
    create=s.InspectionCreate,
    update=s.InspectionUpdate,
    read=s.InspectionRead,
    query=s.InspectionQuery,
    parents=(PARTNERSHIP,),
    rules=InspectionRules(),
    description="Ofsted/CQC inspections of the local area: the full inspection, revisits and monitoring inspections. "
    "`framework` is `las_2016` (the local area SEND inspection of 2016–2022) or `area_send_2023` (the area SEND "
    "inspection from 2023); it can change only while every plan answering the inspection, and its concerns, still agree "
    "with it (422 `/problems/framework-mismatch` otherwise).",
    create_example=s.INSPECTION_EXAMPLE,
    update_example={"outcome": "Written statement of action required"},
)

plans = Resource(
    path="plans",
    entity="plan",
    tag="plans",
    table=Plan,
    create=s.PlanCreate,
    update=s.PlanUpdate,
    read=s.PlanRead,
    query=s.PlanQuery,
    access=EDITED_BY_LEADS,
    parents=(PARTNERSHIP,),
    refs=(Ref("inspection_id", Inspection, "inspection"), Ref("senior_responsible_officer_id", Person, "person")),
    reader=None,
    rules=PlanRules(),
    description="The improvement plan written in answer to an inspection: a WSoA, priority action plan or successor. "
    "Its `status` follows the plan's lifecycle (draft → submitted → accepted | returned → in_delivery → closed | superseded); "
    "`submission_due_on` is computed from the inspection report's publication date where the plan kind has a working-day rule. "
    "The kind must fit the inspection's framework: a `wsoa` answers a `las_2016` inspection, an `accelerated_progress_plan` "
    "answers a `las_2016` inspection (usually its revisit; the kind of inspection is not checked), a `priority_action_plan` answers an `area_send_2023` inspection, and an `improvement_plan` "
    "may answer either or none. A plan without an inspection answers the framework its kind implies. Creating a plan, or "
    "changing its `kind` or `inspection_id`, so that the kind, the inspection or the plan's concerns contradict one another "
    "is a 422 `/problems/framework-mismatch` whose errors point at the field and name each concern in the way.",
    create_example={
        "partnership_id": PARTNERSHIP_ID,
        "inspection_id": s.INSPECTION_ID,
        "kind": "wsoa",
        "title": "Written Statement of Action 2017",
    },
    update_example={"status": "submitted", "submitted_on": "2017-06-26"},
)
plans.reader = PlanReader(plans)

concerns = Resource(
    path="concerns",
    entity="concern",
    tag="concerns",
    table=Concern,
    create=s.ConcernCreate,
    update=s.ConcernUpdate,
    read=s.ConcernRead,
    query=s.ConcernQuery,
    access=EDITED_BY_LEADS,
    parents=(PLAN,),
    unique=(Unique("ref", ("plan_id",)),),
    rules=ConcernRules(),
    description="The inspection report's findings that the plan must answer, in the report's own words. "
    "The kind follows the report's framework: `area_of_significant_weakness` only in a plan answering a `las_2016` "
    "inspection (a `wsoa`, an `accelerated_progress_plan`, or an `improvement_plan` on a `las_2016` inspection); "
    "`area_for_priority_action` and `area_for_improvement` only in a plan answering an `area_send_2023` inspection (a "
    "`priority_action_plan`, or an `improvement_plan` on such an inspection); `recommendation` in any plan. Any other "
    "kind, on create or on a change of `kind`, is a 422 `/problems/framework-mismatch` pointing at `/kind`.",
    create_example={
        "plan_id": s.PLAN_ID,
        "ref": "W1",
        "kind": "area_of_significant_weakness",
        "title": "Timeliness of EHC plans",
        "verbatim_text": "Too many EHC plans are not completed within the statutory 20 weeks.",
    },
    update_example={"theme": "EHC needs assessment"},
)
concerns.reader = ConcernReader(concerns)


def _concern_filter(value: Any) -> Any:
    return col(Action.id).in_(select(col(ActionConcern.action_id)).where(col(ActionConcern.concern_id) == value))


def _contributor_filter(value: Any) -> Any:
    return col(Action.id).in_(select(col(ActionContributor.action_id)).where(col(ActionContributor.person_id) == value))


actions = Resource(
    path="actions",
    entity="action",
    tag="actions",
    table=Action,
    create=s.ActionCreate,
    update=s.ActionUpdate,
    read=s.ActionRead,
    query=s.ActionQuery,
    access=EDITED_BY_LEADS,
    parents=(PLAN,),
    unique=(Unique("ref", ("plan_id",)),),
    refs=(Ref("owner_id", Person, "person"),),
    links=(
        Link("concern_ids", ActionConcern, "concern_id", Concern, "concern", same_plan=True),
        Link("contributor_ids", ActionContributor, "person_id", Person, "person"),
        Link("organisation_ids", ActionOrganisation, "organisation_id", Organisation, "organisation"),
    ),
    filters={
        "concern_id": _concern_filter,
        "contributor_id": _contributor_filter,
        "due_before": lambda v: col(Action.due_on) < v,
        "due_after": lambda v: col(Action.due_on) > v,
    },
    reader=None,
    rules=ActionRules(),
    instructions=frozenset({"reprogramme_reason", "reprogramme_approved_at_meeting"}),
    description="What the partnership will do about one or more concerns, by when and who answers for it. "
    "Once the plan is accepted, `baseline_due_on` is frozen and moving `due_on` is a reprogramme: it needs "
    "`reprogramme_reason` (and may name the decision that approved it, `reprogramme_approved_at_meeting`) and is "
    "recorded (`GET /actions/{id}/reprogrammes`). "
    "Carries derived health (`rag`, `is_overdue`, `days_overdue`, `is_slipping`, `owner_active`), its owner and milestones.",
    create_example={
        "plan_id": s.PLAN_ID,
        "ref": "1.3",
        "title": "Clear the backlog of EHC needs assessments",
        "concern_ids": [s.CONCERN_ID],
        "owner_id": s.PERSON_ID,
        "priority": "high",
        "planned_start_on": "2017-08-01",
        "due_on": "2018-03-31",
        "success_criteria": "90% of new EHC plans issued within 20 weeks for three consecutive months.",
    },
    update_example={"forecast_on": "2018-05-31"},
)
actions.reader = ActionReader(actions)

milestones = Resource(
    path="milestones",
    entity="milestone",
    tag="milestones",
    table=Milestone,
    create=s.MilestoneCreate,
    update=s.MilestoneUpdate,
    read=s.MilestoneRead,
    query=s.MilestoneQuery,
    access=Access(create=PLAN_EDITORS, update=REPORTERS, delete=PLAN_EDITORS),
    rules=MilestoneRules(),
    parents=(ACTION,),
    filters={"due_before": lambda v: col(Milestone.due_on) < v, "due_after": lambda v: col(Milestone.due_on) > v},
    description="Checkpoints of an action (for example the 3-, 6- and 12-month steps of a plan).",
    create_example={"action_id": s.ACTION_ID, "title": "Coordinators in post", "due_on": "2017-10-31", "evidence_required": True},
    update_example={"status": "met", "met_on": "2017-10-20"},
)

progress_updates = Resource(
    path="progress-updates",
    entity="progress_update",
    tag="progress updates",
    table=ProgressUpdate,
    create=s.ProgressUpdateCreate,
    update=None,
    read=s.ProgressUpdateRead,
    query=s.ProgressUpdateQuery,
    access=Access(create=REPORTERS),
    parents=(ACTION,),
    refs=(Ref("author_id", Person, "person"),),
    operations=frozenset({"list", "get", "create"}),  # append-only
    rules=ProgressUpdateRules(),
    description="Dated narrative reports on an action with a self-assessed RAG. Append-only: never edited or deleted.",
    create_example={
        "action_id": s.ACTION_ID,
        "rag": "amber",
        "percent_complete": 55,
        "narrative": "Three of four coordinators are in post; the backlog fell from 212 to 164 cases.",
    },
)
