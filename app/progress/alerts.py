"""Early warning: one alert per problem on the plan, worst first.

- `overdue`: past its due date and not completed, suspended or cancelled; high beyond the partnership's
  `red_after_days`, else medium.
- `slipping`: not yet overdue but forecast after its due date; high beyond `red_after_days`, else medium.
- `not_started_late`: still not started after its planned start (medium): the "inaction" scrutiny
  committees look for.
- `stale`: in progress, or not started after its planned start, and no progress update (or, without
  any, nothing since it was created or was due to start) for `stale_after_days`; high after twice that.
- `owner_inactive`: open, and the owner has left (the HR sync marked them inactive) (high).
- `measure_behind`: a measure `behind` (medium) or `off_track` (high) its trajectory.
- `completed_without_evidence`: completed without an accepted evidence item on it or its milestones (high).
- `milestone_missed`: a milestone marked missed, or still pending after its due date (medium).
- `behind_baseline`: open, and worse against the baseline frozen at acceptance than against its moved
  due date (`baseline_rag` worse than `rag`): a reprogramme must not hide slippage; high when red
  against the baseline, else medium.
- `reported_worse`: the owner's latest progress update reports a worse RAG than the dates give (the
  owner knows something the dates do not show) (medium).
- `return_missed`: a monthly return for the action was not filed by its due date and still is not, in any period
  (high: the Delivery Group meets without it).
- `risk_review_overdue`: an open risk of the plan past its review date (medium; high when its score is above its target).
- `risk_unmitigated`: an open risk scoring above its target with no mitigation in progress (high).
- `meeting_action_overdue`: a meeting action still open after its due date, asked for by a meeting about the plan or by
  one of the partnership's bodies meeting about no plan in particular (medium; high after `red_after_days`).

Every alert about an action names it (`ref`, `title`) and its owner (`owner_id`, `owner_name`), so chasing
someone takes no second call.
"""

import uuid
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.models import Action, Evidence, Meeting, MeetingAction, Milestone, Person, Risk
from app.models.enums import ActionStatus, AlertKind, MeetingActionStatus, MilestoneStatus, Rag, ReviewStatus, RiskStatus, Severity
from app.partnerships.service import Local
from app.plans.rag import assess
from app.progress.state import PlanState, Row, by_action
from app.progress.summary import OPEN, WORST_FIRST, measure_rows
from app.reporting.figures import still_missing
from app.risks.service import above_target, review_overdue, unmitigated

RANK = {Severity.high: 0, Severity.medium: 1, Severity.low: 2}
BADNESS = {rag: len(WORST_FIRST) - i for i, rag in enumerate(WORST_FIRST)}  # red 4 ... blue 1


def _worse(first: str, second: str) -> bool:
    return BADNESS[Rag(first)] > BADNESS[Rag(second)]


def _alert(kind: AlertKind, severity: Severity, detail: str, *, action: Row | None = None, **ids: Any) -> Row:
    return {
        "kind": kind.value,
        "severity": severity.value,
        "action_id": action["id"] if action else ids.get("action_id"),
        "measure_id": ids.get("measure_id"),
        "milestone_id": ids.get("milestone_id"),
        "risk_id": ids.get("risk_id"),
        "meeting_action_id": ids.get("meeting_action_id"),
        "ref": action["ref"] if action else ids.get("ref"),
        "detail": detail,
    }


async def _risk_alerts(session: AsyncSession, plan_id: uuid.UUID, today: Any) -> list[Row]:
    """The plan's open risks past their review date, or above their target with nothing in progress to bring them down."""
    found = []
    risks = await session.execute(
        select(*Risk.__table__.c, col(Person.display_name).label("owner_name"))  # type: ignore[attr-defined]
        .outerjoin(Person, col(Person.id) == col(Risk.owner_id))
        .where(col(Risk.plan_id) == plan_id, col(Risk.status) == RiskStatus.open.value)
        .order_by(col(Risk.ref))
    )
    for risk in map(dict, risks.mappings()):
        named = {"title": risk["title"], "owner_id": risk["owner_id"], "owner_name": risk["owner_name"]}
        about = {"risk_id": risk["id"], "ref": risk["ref"]}
        if review_overdue(risk, today):
            severity = Severity.high if above_target(risk) else Severity.medium
            detail = f"Risk {risk['ref']} was due for review on {risk['review_on']} (score {risk['score']}); last reviewed {risk['last_reviewed_on']}."
            found.append(_alert(AlertKind.risk_review_overdue, severity, detail, **about) | named)
        if unmitigated(risk):
            detail = (
                f"Risk {risk['ref']} scores {risk['score']} against a target of {risk['target_score']}, and no mitigation is in progress."
            )
            found.append(_alert(AlertKind.risk_unmitigated, Severity.high, detail, **about) | named)
    return found


async def _facts(session: AsyncSession, plan_id: uuid.UUID) -> dict[str, Row]:
    """Per action of the plan: its owner's state and whether accepted evidence exists (its updates are in the state)."""
    milestones = select(col(Milestone.id)).where(col(Milestone.action_id) == col(Action.id))
    accepted = exists().where(
        col(Evidence.review_status) == ReviewStatus.accepted.value,
        or_(col(Evidence.action_id) == col(Action.id), col(Evidence.milestone_id).in_(milestones)),
    )
    rows = await session.execute(
        select(col(Action.id), col(Person.active), col(Person.display_name), accepted.label("has_evidence"))
        .select_from(Action)
        .outerjoin(Person, col(Person.id) == col(Action.owner_id))
        .where(col(Action.plan_id) == plan_id)
    )
    return {str(r.id): dict(r._mapping) for r in rows}


async def _meeting_action_alerts(
    session: AsyncSession, plan_id: uuid.UUID, partnership_id: Any, today: Any, red_after_days: int
) -> list[Row]:
    late: Any = await session.execute(
        select(
            col(MeetingAction.id),
            col(MeetingAction.title),
            col(MeetingAction.due_on),
            col(MeetingAction.owner_id),
            col(Person.display_name).label("owner_name"),
            col(Meeting.title).label("meeting_title"),
            col(Meeting.held_on),
        )
        .join(Meeting, col(Meeting.id) == col(MeetingAction.meeting_id))
        .outerjoin(Person, col(Person.id) == col(MeetingAction.owner_id))
        .where(
            or_(col(Meeting.plan_id) == plan_id, and_(col(Meeting.plan_id).is_(None), col(Meeting.partnership_id) == partnership_id)),
            col(MeetingAction.status) == MeetingActionStatus.open.value,
            col(MeetingAction.due_on) < today,
        )
        .order_by(col(MeetingAction.due_on), col(MeetingAction.id))
    )
    found = []
    for m in late.mappings():
        days = (today - m["due_on"]).days
        severity = Severity.high if days > red_after_days else Severity.medium
        detail = f"Asked for at '{m['meeting_title']}' on {m['held_on']}, due {m['due_on']}, {days} days late."
        named = {"title": m["title"], "owner_id": m["owner_id"], "owner_name": m["owner_name"]}
        found.append(_alert(AlertKind.meeting_action_overdue, severity, detail, meeting_action_id=m["id"]) | named)
    return found


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo("UTC"))


async def plan_alerts(session: AsyncSession, *, plan_id: uuid.UUID, state: PlanState, area: Local) -> list[Row]:
    facts = await _facts(session, plan_id)
    found: list[Row] = []
    today, stale_after_days, red_after_days = area.today, area.stale_after_days, area.red_after_days
    start_of_today = datetime.combine(today, time(0), tzinfo=ZoneInfo(area.timezone))
    updates = by_action(state, "progress_update")
    for action in sorted(state.rows("action"), key=lambda a: (a["ref"], a["id"])):
        health = assess(action, today, red_after_days)
        fact = facts.get(action["id"], {})
        is_open = action["status"] in OPEN
        if health.is_overdue:
            severity = Severity.high if health.days_overdue > red_after_days else Severity.medium
            found.append(_alert(AlertKind.overdue, severity, f"Due {action['due_on']}, {health.days_overdue} days overdue.", action=action))
        forecast, due = action.get("forecast_on"), action.get("due_on")
        if not health.is_overdue and is_open and forecast is not None and due is not None and forecast > due:
            slip = (forecast - due).days
            severity = Severity.high if slip > red_after_days else Severity.medium
            found.append(_alert(AlertKind.slipping, severity, f"Forecast {forecast}, {slip} days after its due date {due}.", action=action))
        start = action.get("planned_start_on")
        if action["status"] == ActionStatus.not_started and start is not None and start < today:
            found.append(_alert(AlertKind.not_started_late, Severity.medium, f"Planned to start {start}, not started.", action=action))
        if is_open and _worse(health.baseline_rag, health.rag):
            severity = Severity.high if health.baseline_rag == Rag.red else Severity.medium
            found.append(
                _alert(
                    AlertKind.behind_baseline,
                    severity,
                    f"{health.baseline_rag.value.capitalize()} against its baseline {action['baseline_due_on']} though "
                    f"{health.rag.value} against its due date {action['due_on']}: {health.variance_days} days later than agreed.",
                    action=action,
                )
            )
        reported = updates[action["id"]][-1]["rag"] if action["id"] in updates else None
        if is_open and reported is not None and _worse(reported, health.rag.value):
            found.append(
                _alert(
                    AlertKind.reported_worse,
                    Severity.medium,
                    f"The owner reports {reported}; the dates give {health.rag.value}.",
                    action=action,
                )
            )
        started = action["status"] == ActionStatus.in_progress or (start is not None and start < today)
        if is_open and started:
            since = _aware(action["created_at"])
            if action["status"] == ActionStatus.not_started and start is not None:
                since = max(since, datetime.combine(start, time(0), tzinfo=ZoneInfo(area.timezone)))  # quiet only since it was due to start
            last_update = updates[action["id"]][-1]["created_at"] if action["id"] in updates else None
            last = last_update or since
            quiet = (start_of_today - _aware(last)).days
            if quiet >= stale_after_days:
                severity = Severity.high if quiet >= 2 * stale_after_days else Severity.medium
                what = "No progress update" if last_update else "No progress update since it was created"
                found.append(_alert(AlertKind.stale, severity, f"{what} for {quiet} days.", action=action))
        if is_open and fact.get("active") is False:
            found.append(
                _alert(
                    AlertKind.owner_inactive,
                    Severity.high,
                    f"The owner, {fact['display_name']}, has left; reassign the action.",
                    action=action,
                )
            )
        if action["status"] == ActionStatus.completed and not fact.get("has_evidence"):
            found.append(_alert(AlertKind.completed_without_evidence, Severity.high, "Completed without accepted evidence.", action=action))
    actions = {a["id"]: a for a in state.rows("action")}
    missed = await session.execute(
        select(col(Milestone.id), col(Milestone.action_id), col(Milestone.title), col(Milestone.due_on), col(Milestone.status))
        .join(Action, col(Action.id) == col(Milestone.action_id))
        .where(
            col(Action.plan_id) == plan_id,
            or_(
                col(Milestone.status) == MilestoneStatus.missed.value,
                (col(Milestone.status) == MilestoneStatus.pending.value) & (col(Milestone.due_on) < today),
            ),
        )
        .order_by(col(Milestone.due_on), col(Milestone.id))
    )
    for m in missed:
        owner = actions.get(str(m.action_id))
        how = "marked missed" if m.status == MilestoneStatus.missed else "still pending"
        found.append(
            _alert(
                AlertKind.milestone_missed,
                Severity.medium,
                f"Milestone '{m.title}' was due {m.due_on} and is {how}.",
                action=owner,
                milestone_id=str(m.id),
            )
        )
    for measure in measure_rows(state, today):
        if measure["status"] in ("behind", "off_track"):
            severity = Severity.high if measure["status"] == "off_track" else Severity.medium
            detail = f"{measure['name']}: latest {measure['latest_value']} against {measure['expected_value']} expected ({measure['status'].replace('_', ' ')})."
            found.append(_alert(AlertKind.measure_behind, severity, detail, measure_id=measure["id"]))
    for missing, period in still_missing(state, today):
        if missing["action_id"] in actions:
            detail = f"The monthly return for {period['starts_on']:%B %Y}, due {period['returns_due_on']}, was not filed."
            found.append(_alert(AlertKind.return_missed, Severity.high, detail, action=actions[missing["action_id"]]))
    for alert in found:  # name the action and its owner
        about = actions.get(alert["action_id"]) if alert["action_id"] else None
        alert["title"] = about["title"] if about else None
        alert["owner_id"] = about.get("owner_id") if about else None
        alert["owner_name"] = facts.get(about["id"], {}).get("display_name") if about else None
    found += await _risk_alerts(session, plan_id, today)  # they name their own subject and owner
    for plan in state.rows("plan"):
        found += await _meeting_action_alerts(session, plan_id, uuid.UUID(str(plan["partnership_id"])), today, red_after_days)
    found.sort(key=lambda a: (RANK[Severity(a["severity"])], a["kind"], a["ref"] or "", a["detail"]))
    return found
