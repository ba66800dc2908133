"""A plan's state now, or as it stood at an earlier moment, rebuilt from the audit trail.

The audit trail holds every write's changes (`{field: [old, new]}`), so the state at a moment is
today's rows with every later change undone, newest first: a later update gets its old values back,
a later create is removed, a later delete is restored from the values it recorded. "Later" is by the
time an event says it happened (`occurred_at`, then `seq`), not by the order events were appended:
history loaded after the fact (back-filled observations, imported trackers, the demo) is dated when
it happened and is undone in that order. Rows written before the trail began count from their
`created_at`; append-only rows (reprogrammes, progress updates) count from their `created_at` too.
A loader of past history must append a field's back-dated changes in the order they happened (each
event's old value is the previous event's new value), or the undo cannot restore them. The result is the
plan as it was recorded at the time — what the board was shown then — not as it was later corrected.

Every figure of a plan at a moment (summary, history point, pack) is computed from `state_at`'s
result, so the three agree for the same moment.
"""

import copy
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import (
    Action,
    ActionConcern,
    ActionReprogramme,
    ActionReturn,
    AuditEvent,
    Concern,
    Decision,
    DecisionAction,
    DecisionConcern,
    DecisionReprogramme,
    DecisionRisk,
    Engagement,
    EngagementAction,
    EngagementConcern,
    Evidence,
    FundingLine,
    ImpactStatement,
    Measure,
    MeasureConcern,
    Meeting,
    MeetingAction,
    MeetingPaper,
    Milestone,
    Observation,
    Plan,
    ProgressUpdate,
    ReportingPeriod,
    Risk,
    RiskAction,
    RiskConcern,
    RiskRating,
)

Row = dict[str, Any]
KINDS = (
    "plan",
    "concern",
    "action",
    "measure",
    "observation",
    "funding_line",
    "reporting_period",
    "action_return",
    "impact_statement",
)
# Loaded too for packs, which list them: the plan's detail, its risk register and engagement log, and the meetings about
# it (or about no plan in particular), with their decisions and meeting actions.
DETAIL = ("milestone", "evidence", "risk", "risk_rating", "engagement", "meeting", "decision", "meeting_action")


def _normal(name: str, value: Any) -> Any:
    """One spelling for values read from tables and from the audit trail (which stores JSON)."""
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return str(value)
    if (name.endswith("_on") or name == "as_of") and isinstance(value, str):
        return date.fromisoformat(value)
    if name.endswith("_at") and isinstance(value, str):
        return datetime.fromisoformat(value)
    if name == "amount":
        return Decimal(str(value))
    if name.endswith("_ids"):
        return sorted(str(v) for v in value)
    if name.endswith("_id") and not isinstance(value, str):
        return str(value)
    return value


def normal(row: Row) -> Row:
    return {k: _normal(k, v) for k, v in row.items()}


@dataclass
class PlanState:
    tables: dict[str, dict[str, Row]] = field(default_factory=dict)

    def rows(self, kind: str) -> list[Row]:
        return list(self.tables.get(kind, {}).values())


async def _table(session: AsyncSession, model: Any, *where: Any) -> dict[str, Row]:
    result = await session.execute(select(*model.__table__.c).where(*where))
    return {str(r.id): normal(dict(r._mapping)) for r in result}


async def _links(session: AsyncSession, table: Any, owner: str, column: str, condition: Any) -> dict[str, list[str]]:
    """A link table's targets (`column`) per owner, for the link rows matching `condition`."""
    links: dict[str, list[str]] = {}
    for owner_id, target in await session.execute(select(getattr(table, owner), getattr(table, column)).where(condition)):
        links.setdefault(str(owner_id), []).append(str(target))
    return links


async def current_state(session: AsyncSession, plan_id: uuid.UUID, *, detail: bool = False) -> PlanState:
    measures = await _table(session, Measure, col(Measure.plan_id) == plan_id)
    state = PlanState(
        {
            "plan": await _table(session, Plan, col(Plan.id) == plan_id),
            "concern": await _table(session, Concern, col(Concern.plan_id) == plan_id),
            "action": await _table(session, Action, col(Action.plan_id) == plan_id),
            "measure": measures,
            "observation": await _table(
                session, Observation, col(Observation.measure_id).in_(select(col(Measure.id)).where(col(Measure.plan_id) == plan_id))
            ),
            "funding_line": await _table(session, FundingLine, col(FundingLine.plan_id) == plan_id),
            "reprogramme": await _table(
                session,
                ActionReprogramme,
                col(ActionReprogramme.action_id).in_(select(col(Action.id)).where(col(Action.plan_id) == plan_id)),
            ),
            "progress_update": await _table(
                session,
                ProgressUpdate,
                col(ProgressUpdate.action_id).in_(select(col(Action.id)).where(col(Action.plan_id) == plan_id)),
            ),
            "reporting_period": await _table(session, ReportingPeriod, col(ReportingPeriod.plan_id) == plan_id),
            "action_return": await _table(session, ActionReturn, col(ActionReturn.plan_id) == plan_id),
            "impact_statement": await _table(session, ImpactStatement, col(ImpactStatement.plan_id) == plan_id),
        }
    )
    for kind, table, owner in (("action", ActionConcern, "action_id"), ("measure", MeasureConcern, "measure_id")):
        links = await _links(session, table, owner, "concern_id", table.plan_id == plan_id)
        for key, row in state.tables[kind].items():
            row["concern_ids"] = sorted(links.get(key, []))
    if detail:
        await _governance(session, state, plan_id)
        actions = select(col(Action.id)).where(col(Action.plan_id) == plan_id)
        milestones = select(col(Milestone.id)).where(col(Milestone.action_id).in_(actions))
        concerns = select(col(Concern.id)).where(col(Concern.plan_id) == plan_id)
        state.tables["milestone"] = await _table(session, Milestone, col(Milestone.action_id).in_(actions))
        state.tables["evidence"] = await _table(
            session,
            Evidence,
            col(Evidence.action_id).in_(actions) | col(Evidence.milestone_id).in_(milestones) | col(Evidence.concern_id).in_(concerns),
        )
    return state


async def _governance(session: AsyncSession, state: PlanState, plan_id: uuid.UUID) -> None:
    """The plan's risks (and their ratings), engagements, and the meetings about it or about no plan in particular (with
    their decisions and meeting actions), each with its links."""
    partnership = select(col(Plan.partnership_id)).where(col(Plan.id) == plan_id).scalar_subquery()
    about = (col(Meeting.plan_id) == plan_id) | (col(Meeting.plan_id).is_(None) & (col(Meeting.partnership_id) == partnership))
    risks = select(col(Risk.id)).where(col(Risk.plan_id) == plan_id)
    engagements = select(col(Engagement.id)).where(col(Engagement.plan_id) == plan_id)
    meetings = select(col(Meeting.id)).where(about)
    decisions = select(col(Decision.id)).where(col(Decision.meeting_id).in_(meetings))
    state.tables["risk"] = await _table(session, Risk, col(Risk.plan_id) == plan_id)
    state.tables["risk_rating"] = await _table(session, RiskRating, col(RiskRating.risk_id).in_(risks))
    state.tables["engagement"] = await _table(session, Engagement, col(Engagement.plan_id) == plan_id)
    state.tables["meeting"] = await _table(session, Meeting, about)
    state.tables["decision"] = await _table(session, Decision, col(Decision.meeting_id).in_(meetings))
    state.tables["meeting_action"] = await _table(session, MeetingAction, col(MeetingAction.meeting_id).in_(meetings))
    for kind, owners, links in (
        ("risk", risks, ((RiskAction, "risk_id", "action_id"), (RiskConcern, "risk_id", "concern_id"))),
        ("engagement", engagements, ((EngagementAction, "engagement_id", "action_id"), (EngagementConcern, "engagement_id", "concern_id"))),
        (
            "decision",
            decisions,
            (
                (DecisionAction, "decision_id", "action_id"),
                (DecisionConcern, "decision_id", "concern_id"),
                (DecisionRisk, "decision_id", "risk_id"),
                (DecisionReprogramme, "decision_id", "reprogramme_id"),
            ),
        ),
        ("meeting", meetings, ((MeetingPaper, "meeting_id", "evidence_id"),)),
    ):
        for table, owner, column in links:
            found = await _links(session, table, owner, column, getattr(table, owner).in_(owners))
            field = "paper_ids" if column == "evidence_id" else column.removesuffix("_id") + "_ids"
            for key, row in state.tables[kind].items():
                row[field] = sorted(found.get(key, []))


def _undo(state: PlanState, event: Row) -> None:
    rows = state.tables.get(event["entity_type"])
    if rows is None:
        return
    key = str(event["entity_id"])
    if event["action"] == "create":
        rows.pop(key, None)
    elif event["action"] == "delete":
        rows[key] = normal({"id": key} | {k: old for k, (old, _new) in event["changes"].items()})
    elif event["action"] == "update" and key in rows:  # reads of personal data are in the trail too: nothing to undo
        for name, (old, _new) in event["changes"].items():
            rows[key][name] = _normal(name, old)


APPEND_ONLY = ("reprogramme", "progress_update", "risk_rating")  # never undone, only filtered by `created_at`: shared, not copied


def _snapshot(state: PlanState) -> PlanState:
    return PlanState({k: rows if k in APPEND_ONLY else copy.deepcopy(rows) for k, rows in state.tables.items()})


def _belongs(state: PlanState, plan_id: str, cutoff: datetime) -> PlanState:
    """Only rows of this plan, and none created after the cutoff."""

    def exists(row: Row) -> bool:
        created = row.get("created_at")
        return created is None or created <= cutoff

    kept = {kind: {k: r for k, r in rows.items() if exists(r)} for kind, rows in state.tables.items()}
    kept["plan"] = {k: r for k, r in kept["plan"].items() if k == plan_id}
    for kind in ("concern", "action", "measure", "funding_line", "reporting_period", "action_return", "impact_statement"):
        kept[kind] = {k: r for k, r in kept[kind].items() if r.get("plan_id") == plan_id}
    kept["observation"] = {k: r for k, r in kept["observation"].items() if r.get("measure_id") in kept["measure"]}
    for kind in ("reprogramme", "progress_update"):
        kept[kind] = {k: r for k, r in kept[kind].items() if r.get("action_id") in kept["action"]}
    if "milestone" in kept:
        for kind in ("risk", "engagement"):
            kept[kind] = {k: r for k, r in kept[kind].items() if r.get("plan_id") == plan_id}
        kept["risk_rating"] = {k: r for k, r in kept["risk_rating"].items() if r.get("risk_id") in kept["risk"]}
        kept["meeting"] = {k: r for k, r in kept["meeting"].items() if r.get("plan_id") in (plan_id, None)}
        for kind in ("decision", "meeting_action"):
            kept[kind] = {k: r for k, r in kept[kind].items() if r.get("meeting_id") in kept["meeting"]}
        kept["milestone"] = {k: r for k, r in kept["milestone"].items() if r.get("action_id") in kept["action"]}
        subjects = kept["action"].keys() | kept["milestone"].keys() | kept["concern"].keys()
        kept["evidence"] = {
            k: r for k, r in kept["evidence"].items() if (r.get("action_id") or r.get("milestone_id") or r.get("concern_id")) in subjects
        }
    return PlanState(kept)


async def states_at(
    session: AsyncSession, *, plan_id: uuid.UUID, partnership_id: uuid.UUID, cutoffs: list[datetime], detail: bool = False
) -> list[tuple[datetime, PlanState]]:
    """The plan as recorded at each cutoff (latest first), undoing the trail once for all of them."""
    state = await current_state(session, plan_id, detail=detail)
    earliest = min(cutoffs)
    events = (
        await session.execute(
            select(
                col(AuditEvent.occurred_at),
                col(AuditEvent.action),
                col(AuditEvent.entity_type),
                col(AuditEvent.entity_id),
                col(AuditEvent.changes),
            )
            .where(
                col(AuditEvent.partnership_id) == partnership_id,
                col(AuditEvent.occurred_at) > earliest,
                col(AuditEvent.entity_type).in_(KINDS + DETAIL if detail else KINDS),
            )
            .order_by(col(AuditEvent.occurred_at).desc(), col(AuditEvent.seq).desc())
        )
    ).all()
    pending = iter(events)
    found: list[tuple[datetime, PlanState]] = []
    upcoming = next(pending, None)
    for cutoff in sorted(cutoffs, reverse=True):
        while upcoming is not None and upcoming.occurred_at > cutoff:
            _undo(state, dict(upcoming._mapping))
            upcoming = next(pending, None)
        found.append((cutoff, _belongs(_snapshot(state), str(plan_id), cutoff)))
    return found


def cutoff_of(day: date, zone: str) -> datetime:
    """The last moment of `day` in the partnership's time zone."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone)) - timedelta(microseconds=1)


def moment_of(as_of: date, zone: str, now: datetime) -> datetime:
    """The moment a report for `as_of` describes, in UTC: the end of that day, or now while the day is not over."""
    return min(now, cutoff_of(as_of, zone)).astimezone(UTC)


async def state_at(
    session: AsyncSession, *, plan_id: uuid.UUID, partnership_id: uuid.UUID, at: datetime, detail: bool = False
) -> PlanState:
    """The plan as recorded at `at`: the one source of a summary, a history point and a pack."""
    [(_, state)] = await states_at(session, plan_id=plan_id, partnership_id=partnership_id, cutoffs=[at], detail=detail)
    return state


def by_action(state: PlanState, kind: str) -> dict[str, list[Row]]:
    """Append-only rows of the plan's actions (reprogrammes, progress updates) per action, oldest first."""
    found: dict[str, list[Row]] = {}
    for row in sorted(state.rows(kind), key=lambda r: (r["created_at"], r["id"])):
        found.setdefault(row["action_id"], []).append(row)
    return found
