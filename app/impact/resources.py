"""The impact statements collection."""

from app.core.permissions import PLAN_EDITORS, Access
from app.core.resources import Link, Ref, Resource, Unique
from app.impact import schemas as s
from app.impact.service import ImpactStatementRules
from app.models import Concern, Evidence, ImpactStatement, ImpactStatementEvidence, ImpactStatementMeasure, Measure, Person, ReportingPeriod

impact_statements = Resource(
    path="impact-statements",
    entity="impact_statement",
    tag="impact",
    table=ImpactStatement,
    create=s.ImpactStatementCreate,
    update=s.ImpactStatementUpdate,
    state=s.ImpactStatementState,
    read=s.ImpactStatementRead,
    query=s.ImpactStatementQuery,
    access=Access(create=PLAN_EDITORS, update=PLAN_EDITORS, delete=PLAN_EDITORS),
    parents=(Ref("concern_id", Concern, "concern"),),
    refs=(Ref("period_id", ReportingPeriod, "reporting period"), Ref("author_id", Person, "person")),
    links=(
        Link("evidence_ids", ImpactStatementEvidence, "evidence_id", Evidence, "evidence item", owner="impact_statement_id"),
        Link("measure_ids", ImpactStatementMeasure, "measure_id", Measure, "measure", same_plan=True, owner="impact_statement_id"),
    ),
    unique=(Unique("period_id", ("concern_id",)),),
    rules=ImpactStatementRules(),
    description="What has changed for children, young people and families under one concern, with the evidence and "
    "measures it rests on, and the partnership's own judgement of the concern's progress (`sufficient_progress`, "
    "`partial_progress`, `insufficient_progress`) with its reason. At most one per concern and reporting period; dated "
    "(`as_of`) no later than the partnership's today. The concern shows its latest statement and the impact RAG that "
    "follows from it (`latest_impact`, `impact_rag`), as do the plan's summary and every pack.",
    create_example={
        "concern_id": s.CONCERN_ID,
        "period_id": s.PERIOD_ID,
        "narrative": s.NARRATIVE,
        "judgement": "partial_progress",
        "judgement_reason": s.REASON,
    },
    update_example={"judgement": "insufficient_progress", "judgement_reason": "The survey's second wave shows no change."},
)
