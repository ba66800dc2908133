"""The risk register's collection."""

from app.core.permissions import PLAN_EDITORS, Access
from app.core.resources import Link, Reader, Ref, Resource, Row, Unique
from app.models import Action, Concern, Person, Plan, Risk, RiskAction, RiskConcern
from app.risks import schemas as s
from app.risks.service import RiskRules, above_target


class RiskReader(Reader):
    def shape(self, row: Row) -> Row:
        row = super().shape(row)
        row["above_target"] = above_target(row)
        return row


risks = Resource(
    path="risks",
    entity="risk",
    tag="risks",
    table=Risk,
    create=s.RiskCreate,
    update=s.RiskUpdate,
    read=s.RiskRead,
    query=s.RiskQuery,
    access=Access(create=PLAN_EDITORS, update=PLAN_EDITORS),
    operations=frozenset({"list", "get", "create", "update"}),  # closed, never deleted: its ratings are history
    parents=(Ref("plan_id", Plan, "plan"),),
    refs=(Ref("owner_id", Person, "person"),),
    links=(
        Link("action_ids", RiskAction, "action_id", Action, "action", same_plan=True, owner="risk_id"),
        Link("concern_ids", RiskConcern, "concern_id", Concern, "concern", same_plan=True, owner="risk_id"),
    ),
    unique=(Unique("ref", ("plan_id",)),),
    rules=RiskRules(),
    description="The plan's risk register: what could stop the plan delivering or having its impact, its cause and "
    "consequence, its owner, likelihood and impact (1–5 each) and their product `score`, the `target_score` aimed for, "
    "mitigations (each `planned`, `in_progress` or `complete`, perhaps carried out by one of the plan's actions), the "
    "actions and concerns it bears on, the next review date and its status. Every review (a re-rating, or a new review "
    "date at the same rating) is kept as a rating (`GET /risks/{id}/ratings`), so the trend shows; a risk is closed (`status: closed`), never deleted. The plan's alerts name an open risk past its review date "
    "(`risk_review_overdue`) and one above its target with no mitigation in progress (`risk_unmitigated`).",
    create_example={
        "plan_id": s.PLAN_ID,
        "ref": "R2",
        "title": "Educational psychology capacity",
        "cause": "Two vacancies and rising requests.",
        "consequence": "EHC plans miss the 20-week deadline.",
        "owner_id": s.PERSON_ID,
        "likelihood": 4,
        "impact": 4,
        "target_score": 8,
        "mitigations": [{"text": "Commission sessions from the neighbouring authority", "status": "in_progress"}],
        "review_on": "2026-12-03",
    },
    update_example={"likelihood": 3, "review_on": "2027-01-07"},
)
risks.reader = RiskReader(risks)
