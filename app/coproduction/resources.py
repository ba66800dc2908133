"""The engagement log's collection."""

from sqlalchemy import select
from sqlmodel import col

from app.coproduction import schemas as s
from app.coproduction.service import EngagementRules
from app.core.permissions import PLAN_EDITORS, Access
from app.core.resources import Link, Ref, Resource
from app.models import Action, Concern, Engagement, EngagementAction, EngagementConcern, Plan

engagements = Resource(
    path="engagements",
    entity="engagement",
    tag="co-production",
    table=Engagement,
    create=s.EngagementCreate,
    update=s.EngagementUpdate,
    read=s.EngagementRead,
    query=s.EngagementQuery,
    access=Access(create=PLAN_EDITORS, update=PLAN_EDITORS, delete=PLAN_EDITORS),
    parents=(Ref("plan_id", Plan, "plan"),),
    links=(
        Link("concern_ids", EngagementConcern, "concern_id", Concern, "concern", same_plan=True, owner="engagement_id"),
        Link("action_ids", EngagementAction, "action_id", Action, "action", same_plan=True, owner="engagement_id"),
    ),
    filters={
        "concern_id": lambda v: col(Engagement.id).in_(
            select(col(EngagementConcern.engagement_id)).where(col(EngagementConcern.concern_id) == v)
        ),
        "held_after": lambda v: col(Engagement.held_on) > v,
        "held_before": lambda v: col(Engagement.held_on) < v,
    },
    rules=EngagementRules(),
    description="The co-production and engagement log: when, what, who took part (the parent carer forum, parents and "
    "carers, children and young people, schools, practitioners...), how far they shaped the work (`level`: `inform`, "
    '`consult`, `co_design`, `co_produce`), what they said and what was done about it ("you said, we did"), the concerns '
    "and actions it bears on, and the forum's sign-off of a pack (`signs_off_export_id`) or of a period's return "
    "(`signs_off_period_id`) where it gave one (with the forum among the participants; 422 otherwise). An engagement is "
    "logged once it has taken place (`held_on` no later than today). Packs and the public page print it.",
    create_example=s.EXAMPLE,
    update_example={"we_did": "The letters went out from 1 November; the forum will check a sample in January."},
)
