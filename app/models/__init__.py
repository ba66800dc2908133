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
    "CaseEvent",
    "Change",
    "Concern",
    "Entity",
    "Evidence",
    "EvidenceRevision",
    "Export",
    "FundingLine",
    "IdempotencyRecord",
    "Inspection",
    "Measure",
    "MeasureConcern",
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
    "ServerSecret",
    "ShareLink",
    "WebhookDelivery",
    "WebhookSubscription",
    "utcnow",
]
