"""Enumerations of the public contract; stored as lower-case strings with a named check constraint."""

from enum import StrEnum


class OrganisationKind(StrEnum):
    local_authority = "local_authority"
    icb = "icb"
    nhs_provider = "nhs_provider"
    parent_carer_forum = "parent_carer_forum"
    school_setting = "school_setting"
    youth_forum = "youth_forum"
    other = "other"


class Framework(StrEnum):
    las_2016 = "las_2016"
    area_send_2023 = "area_send_2023"


class InspectionKind(StrEnum):
    full = "full"
    revisit = "revisit"
    monitoring = "monitoring"


class Inspectorate(StrEnum):
    ofsted = "ofsted"
    cqc = "cqc"


class PlanKind(StrEnum):
    wsoa = "wsoa"
    priority_action_plan = "priority_action_plan"
    accelerated_progress_plan = "accelerated_progress_plan"
    improvement_plan = "improvement_plan"


class PlanStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    accepted = "accepted"
    returned = "returned"
    in_delivery = "in_delivery"
    closed = "closed"
    superseded = "superseded"


class ConcernKind(StrEnum):
    area_of_significant_weakness = "area_of_significant_weakness"
    area_for_priority_action = "area_for_priority_action"
    area_for_improvement = "area_for_improvement"
    recommendation = "recommendation"


class Judgement(StrEnum):
    not_yet_assessed = "not_yet_assessed"
    sufficient_progress = "sufficient_progress"
    insufficient_progress = "insufficient_progress"
    effective_action = "effective_action"
    not_effective_action = "not_effective_action"


class Priority(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


class ActionStatus(StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    completed = "completed"
    suspended = "suspended"
    cancelled = "cancelled"


class MilestoneStatus(StrEnum):
    pending = "pending"
    met = "met"
    missed = "missed"
    reprogrammed = "reprogrammed"


class Rag(StrEnum):
    red = "red"
    amber = "amber"
    green = "green"
    blue = "blue"


class Role(StrEnum):
    admin = "admin"
    lead = "lead"
    contributor = "contributor"
    inspector = "inspector"
    hr_integration = "hr_integration"
    case_integration = "case_integration"


class EvidenceKind(StrEnum):
    document = "document"
    minutes = "minutes"
    data_extract = "data_extract"
    audit = "audit"
    survey = "survey"
    case_study = "case_study"
    policy = "policy"
    training_record = "training_record"
    coproduction_record = "coproduction_record"


class ReviewStatus(StrEnum):
    submitted = "submitted"
    accepted = "accepted"
    rejected = "rejected"


class DeliveryStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    dead = "dead"


class MeasureUnit(StrEnum):
    percent = "percent"
    count_ = "count"  # `count` would shadow str.count
    days = "days"
    weeks = "weeks"


class Direction(StrEnum):
    higher_is_better = "higher_is_better"
    lower_is_better = "lower_is_better"


class MeasureSource(StrEnum):
    manual = "manual"
    ehcp_timeliness = "ehcp_timeliness"
    survey = "survey"
    audit = "audit"


class Frequency(StrEnum):
    weekly = "weekly"
    monthly = "monthly"
    quarterly = "quarterly"
    annual = "annual"


class MeasureStatus(StrEnum):
    on_track = "on_track"
    behind = "behind"
    off_track = "off_track"
    no_data = "no_data"


class FundingKind(StrEnum):
    allocation = "allocation"
    spend = "spend"


class CaseEventType(StrEnum):
    request_received = "request_received"
    request_decision = "request_decision"
    assessment_decision = "assessment_decision"
    draft_issued = "draft_issued"
    final_issued = "final_issued"
    exception = "exception"
    mediation = "mediation"
    tribunal = "tribunal"
    transfer_in = "transfer_in"
    review_meeting = "review_meeting"
    review_decision = "review_decision"


class AlertKind(StrEnum):
    overdue = "overdue"
    slipping = "slipping"
    not_started_late = "not_started_late"
    stale = "stale"
    owner_inactive = "owner_inactive"
    measure_behind = "measure_behind"
    completed_without_evidence = "completed_without_evidence"
    milestone_missed = "milestone_missed"
    behind_baseline = "behind_baseline"
    reported_worse = "reported_worse"
    return_missed = "return_missed"
    risk_review_overdue = "risk_review_overdue"
    risk_unmitigated = "risk_unmitigated"
    meeting_action_overdue = "meeting_action_overdue"


class Severity(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    pdf = "pdf"
    html = "html"


class Audience(StrEnum):
    inspectors = "inspectors"
    board = "board"
    public = "public"


class ExportStatus(StrEnum):
    pending = "pending"
    ready = "ready"
    failed = "failed"


class PeriodStatus(StrEnum):
    open = "open"
    closed = "closed"


class ReturnStatus(StrEnum):
    expected = "expected"
    submitted = "submitted"
    accepted = "accepted"
    returned = "returned"  # sent back to the owner for more
    missed = "missed"


class NotificationKind(StrEnum):
    reminder = "reminder"  # before the return is due
    due_today = "due_today"
    overdue = "overdue"  # the return was missed
    escalation = "escalation"  # to the senior responsible officer and the leads
    sent_back = "sent_back"  # a return returned to its owner for more


class NotificationStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"  # not sent: what it was about changed first (the return was filed, the period closed)


class ImpactJudgement(StrEnum):
    """A partnership's own judgement of a concern's progress, and an external review's outcome for it."""

    sufficient_progress = "sufficient_progress"
    partial_progress = "partial_progress"
    insufficient_progress = "insufficient_progress"


class BoardKind(StrEnum):
    improvement_board = "improvement_board"
    delivery_group = "delivery_group"
    workstream_group = "workstream_group"
    cabinet = "cabinet"
    icb_board = "icb_board"
    scrutiny = "scrutiny"
    health_and_wellbeing_board = "health_and_wellbeing_board"
    other = "other"


class Representing(StrEnum):
    """Whom a member or attendee speaks for: was the parent carer forum in the room?"""

    local_authority = "local_authority"
    health = "health"
    education = "education"
    social_care = "social_care"
    schools = "schools"
    parent_carer_forum = "parent_carer_forum"
    young_people = "young_people"
    elected_member = "elected_member"
    independent = "independent"
    dfe = "dfe"
    nhs_england = "nhs_england"
    inspectorate = "inspectorate"
    other = "other"


class MeetingKind(StrEnum):
    board = "board"  # a meeting of one of the partnership's own governance bodies
    dfe_nhse_review = "dfe_nhse_review"
    stocktake = "stocktake"
    deep_dive = "deep_dive"
    revisit = "revisit"
    monitoring_visit = "monitoring_visit"


EXTERNAL_REVIEWS = frozenset(k for k in MeetingKind if k is not MeetingKind.board)


# DfE and NHS England's own reviews, whose documentary evidence is due two weeks before (as their review letters ask); Ofsted and the
# CQC give about ten working days' notice of a revisit or monitoring visit instead.
DFE_REVIEWS = frozenset({MeetingKind.dfe_nhse_review, MeetingKind.stocktake, MeetingKind.deep_dive})


class ReviewOutcome(StrEnum):
    """An external review's outcome for one concern: DfE and NHS England's view of its progress, or the inspectors'
    judgement at a revisit (sufficient progress or not) or monitoring inspection (effective action or not)."""

    sufficient_progress = "sufficient_progress"
    partial_progress = "partial_progress"
    insufficient_progress = "insufficient_progress"
    effective_action = "effective_action"
    not_effective_action = "not_effective_action"


class MeetingStatus(StrEnum):
    scheduled = "scheduled"
    held = "held"
    cancelled = "cancelled"


class DecisionStatus(StrEnum):
    proposed = "proposed"  # due at the meeting
    agreed = "agreed"
    rejected = "rejected"
    deferred = "deferred"


class MeetingActionStatus(StrEnum):
    open = "open"
    done = "done"
    dropped = "dropped"


class RiskStatus(StrEnum):
    open = "open"
    closed = "closed"


class MitigationStatus(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    complete = "complete"


class EngagementLevel(StrEnum):
    inform = "inform"
    consult = "consult"
    co_design = "co_design"
    co_produce = "co_produce"


class Participant(StrEnum):
    parent_carer_forum = "parent_carer_forum"
    parents_carers = "parents_carers"
    children_young_people = "children_young_people"
    schools = "schools"
    practitioners = "practitioners"
    health = "health"
    voluntary_sector = "voluntary_sector"
    other = "other"
