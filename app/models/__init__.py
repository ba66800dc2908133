"""All table models, imported here so the metadata is complete wherever it is used."""

from app.models.base import Entity, utcnow
from app.models.cases import CaseEvent, ServerSecret
from app.models.delivery import (
    Action,
    ActionConcern,
    ActionContributor,
    ActionOrganisation,
    ActionReprogramme,
    Concern,
    Milestone,
    ProgressUpdate,
)
from app.models.evidence import Evidence, EvidenceRevision
from app.models.exports import Export, ShareLink
from app.models.governance import (
    Board,
    Decision,
    DecisionAction,
    DecisionConcern,
    DecisionReprogramme,
    DecisionRisk,
    Engagement,
    EngagementAction,
    EngagementConcern,
    ImpactStatement,
    ImpactStatementEvidence,
    ImpactStatementMeasure,
    Meeting,
    MeetingAction,
    MeetingPaper,
    Risk,
    RiskAction,
    RiskConcern,
    RiskRating,
)
from app.models.imports import ImportMapping
from app.models.inspection import Inspection, Plan
from app.models.measures import FundingLine, Measure, MeasureConcern, Observation
from app.models.partnership import Organisation, Partnership, Person
from app.models.reporting import ActionReturn, Notification, ReportingPeriod, ReturnLink
from app.models.system import ApiKey, AuditEvent, Change, IdempotencyRecord, RateLimitWindow
from app.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "Action",
    "ActionConcern",
    "ActionContributor",
    "ActionOrganisation",
    "ActionReprogramme",
    "ActionReturn",
    "ApiKey",
    "AuditEvent",
    "Board",
    "CaseEvent",
    "Change",
    "Concern",
    "Decision",
    "DecisionAction",
    "DecisionConcern",
    "DecisionReprogramme",
    "DecisionRisk",
    "Engagement",
    "EngagementAction",
    "EngagementConcern",
    "Entity",
    "Evidence",
    "EvidenceRevision",
    "Export",
    "FundingLine",
    "IdempotencyRecord",
    "ImpactStatement",
    "ImpactStatementEvidence",
    "ImpactStatementMeasure",
    "ImportMapping",
    "Inspection",
    "Measure",
    "MeasureConcern",
    "Meeting",
    "MeetingAction",
    "MeetingPaper",
    "Milestone",
    "Notification",
    "Observation",
    "Organisation",
    "Partnership",
    "Person",
    "Plan",
    "ProgressUpdate",
    "RateLimitWindow",
    "ReportingPeriod",
    "ReturnLink",
    "Risk",
    "RiskAction",
    "RiskConcern",
    "RiskRating",
    "ServerSecret",
    "ShareLink",
    "WebhookDelivery",
    "WebhookSubscription",
    "utcnow",
]
