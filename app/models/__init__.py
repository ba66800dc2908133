"""All table models, imported here so the metadata is complete wherever it is used."""

from app.models.base import Entity, utcnow
from app.models.delivery import Action, ActionConcern, ActionContributor, ActionOrganisation, Concern, Milestone, ProgressUpdate
from app.models.evidence import Evidence, EvidenceRevision
from app.models.inspection import Inspection, Plan
from app.models.partnership import Organisation, Partnership, Person
from app.models.system import ApiKey, AuditEvent, Change, IdempotencyRecord
from app.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "Action",
    "ActionConcern",
    "ActionContributor",
    "ActionOrganisation",
    "ApiKey",
    "AuditEvent",
    "Change",
    "Concern",
    "Entity",
    "Evidence",
    "EvidenceRevision",
    "IdempotencyRecord",
    "Inspection",
    "Milestone",
    "Organisation",
    "Partnership",
    "Person",
    "Plan",
    "ProgressUpdate",
    "WebhookDelivery",
    "WebhookSubscription",
    "utcnow",
]
