"""The hot read path for actions: two statements per page, derived health computed in Python.

Statement 1 selects the page of actions with their owner, partnership time zone, latest reported
RAG, linked ids (aggregated in SQL), how often the due date was moved and the latest move (joined
by its id); statement 2 fetches the milestones of the whole page.
"""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.core.auth import Actor
from app.core.reads import Reads, for_page, ids_of
from app.core.resources import Reader, Row, link_ids
from app.impact.figures import impact, latest_by_concern
from app.models import Action, ActionReprogramme, ImpactStatement, Inspection, Milestone, Partnership, Person, Plan, ProgressUpdate
from app.models.enums import ActionStatus, Rag
from app.partnerships.service import today_in
from app.plans.calendar import plan_submission_due_on
from app.plans.rag import NEVER_OVERDUE, assess

_MILESTONES = select(
    col(Milestone.id), col(Milestone.action_id), col(Milestone.title), col(Milestone.due_on), col(Milestone.status), col(Milestone.met_on)
).order_by(col(Milestone.action_id), col(Milestone.due_on), col(Milestone.id))
MILESTONES = for_page(_MILESTONES, col(Milestone.action_id), "action_ids")
IMPACT_STATEMENTS = for_page(
    select(
        col(ImpactStatement.id),
        col(ImpactStatement.concern_id),
        col(ImpactStatement.period_id),
        col(ImpactStatement.as_of),
        col(ImpactStatement.judgement),
        col(ImpactStatement.judgement_reason),
        col(ImpactStatement.narrative),
        col(ImpactStatement.created_at),
    ),
    col(ImpactStatement.concern_id),
    "concern_ids",
)
LATEST_MOVE = aliased(ActionReprogramme, name="latest_move")
# The fields of an action's latest reprogramme, as `GET /actions/{id}/reprogrammes` lists them.
MOVE_FIELDS = (
    "id",
    "action_id",
    "previous_due_on",
    "new_due_on",
    "baseline_due_on",
    "reason",
    "approved_at_meeting",
    "actor_type",
    "actor_id",
    "person_id",
    "created_at",
)


def put_health(row: Row, today: Any, red_after_days: int) -> None:
    """The derived fields of an action row, the same on every read, summary and pack (`app.plans.rag.assess`)."""
    health = assess(row, today, red_after_days)
    row["rag"] = health.rag.value
    row["baseline_rag"] = health.baseline_rag.value
    row["variance_days"] = health.variance_days
    row["is_overdue"] = health.is_overdue
    row["days_overdue"] = health.days_overdue
    row["is_slipping"] = health.is_slipping


class ActionReader(Reader):
    def statement(self) -> Select[Any]:
        res = self.resource
        links = [
            select(ids_of(getattr(link.table, link.column)))
            .where(link.table.action_id == col(Action.id))
            .scalar_subquery()
            .label(link.field)
            for link in res.links
        ]
        reported = (
            select(col(ProgressUpdate.rag))
            .where(col(ProgressUpdate.action_id) == col(Action.id))
            .order_by(col(ProgressUpdate.created_at).desc(), col(ProgressUpdate.id).desc())
            .limit(1)
            .scalar_subquery()
            .label("reported_rag")
        )
        moves = (
            select(func.count())
            .select_from(ActionReprogramme)
            .where(col(ActionReprogramme.action_id) == col(Action.id))
            .scalar_subquery()
            .label("reprogramme_count")
        )
        newest_move = (
            select(col(ActionReprogramme.id))
            .where(col(ActionReprogramme.action_id) == col(Action.id))
            .order_by(col(ActionReprogramme.created_at).desc(), col(ActionReprogramme.id).desc())
            .limit(1)
            .scalar_subquery()
        )
        return (
            select(
                *res.columns,
                *links,
                reported,
                moves,
                *(getattr(LATEST_MOVE, name).label(f"move_{name}") for name in MOVE_FIELDS),
                col(Person.display_name).label("owner_display_name"),
                col(Person.job_title).label("owner_job_title"),
                col(Person.active).label("owner_active"),
                col(Partnership.timezone).label("timezone"),
                col(Partnership.red_after_days).label("red_after_days"),
            )
            .select_from(Action)
            .join(Partnership, col(Partnership.id) == col(Action.partnership_id))
            .outerjoin(Person, col(Person.id) == col(Action.owner_id))
            .outerjoin(LATEST_MOVE, col(LATEST_MOVE.id) == newest_move)
        )

    def shape(self, row: Row) -> Row:
        for link in self.resource.links:
            row[link.field] = link_ids(row[link.field])
        put_health(row, today_in(row.pop("timezone")), row.pop("red_after_days"))
        move = {name: row.pop(f"move_{name}") for name in MOVE_FIELDS}
        row["latest_reprogramme"] = None if move["id"] is None else move
        name, title = row.pop("owner_display_name"), row.pop("owner_job_title")
        if row["owner_id"] is None:
            row["owner_active"] = None
            row["owner"] = None
        else:
            row["owner"] = {"id": row["owner_id"], "display_name": name, "job_title": title, "active": row["owner_active"]}
        return row

    async def finish(self, reads: Reads, rows: list[Row]) -> list[Row]:
        if not rows:
            return rows
        by_id: dict[Any, Row] = {}
        for row in rows:
            row["milestones"] = []
            by_id[row["id"]] = row
        found = await reads.rows(MILESTONES[reads.dialect], {"action_ids": list(by_id)}, cache_key=("milestones", reads.dialect))
        for m in found:
            by_id[m.pop("action_id")]["milestones"].append(m)
        return rows

    dynamic_filters = frozenset({"overdue", "rag"})

    async def dynamic_filter(self, reads: Reads, actor: Actor, name: str, value: Any) -> ColumnElement[bool]:
        if name == "rag":
            return await self._rag_filter(reads, actor, value)
        # "Today" is local to each partnership, so compare per time zone in use.
        zones = select(col(Partnership.timezone)).distinct()
        if actor.partnership_id is not None:
            zones = zones.where(col(Partnership.id) == actor.partnership_id)
        per_zone = [
            and_(col(Partnership.timezone) == zone, col(Action.due_on) < today_in(zone))
            for zone in (r["timezone"] for r in await reads.rows(zones))
        ]
        overdue = and_(
            *(col(Action.status) != s.value for s in NEVER_OVERDUE),  # no IN list: see app.core.reads
            col(Action.due_on).is_not(None),
            or_(*per_zone) if per_zone else false(),
        )
        return overdue if value else not_(overdue)

    async def _rag_filter(self, reads: Reads, actor: Actor, wanted: list[Rag]) -> ColumnElement[bool]:
        """Actions whose derived RAG is one of `wanted`: `app.plans.rag.derive` written in SQL, per time zone and red
        threshold in use (their today and threshold are constants in the clause), so a page is filtered before it is cut
        (tests compare the two)."""
        combos = select(col(Partnership.timezone), col(Partnership.red_after_days)).distinct()
        if actor.partnership_id is not None:
            combos = combos.where(col(Partnership.id) == actor.partnership_id)
        clauses = []
        for combo in await reads.rows(combos):
            zone, red_after = combo["timezone"], int(combo["red_after_days"])
            rag = _sql_rag(today_in(zone), red_after, reads.dialect)
            clauses.append(
                and_(col(Partnership.timezone) == zone, col(Partnership.red_after_days) == red_after, or_(*(rag[r] for r in wanted)))
            )
        return or_(*clauses) if clauses else false()


def _plus_days(column: Any, days: int, dialect: str) -> Any:
    """A date column moved by whole days, in the database's own date arithmetic."""
    return func.date(column, f"+{days} days") if dialect == "sqlite" else column + days


def _sql_rag(today: date, red_after: int, dialect: str) -> dict[Rag, ColumnElement[bool]]:
    """Each RAG's condition on an action row, for one today and red threshold: the rule of `rag.derive`."""
    status, due, forecast, start = col(Action.status), col(Action.due_on), col(Action.forecast_on), col(Action.planned_start_on)
    completed = status == ActionStatus.completed.value
    overdue = and_(*(status != s.value for s in NEVER_OVERDUE), due.is_not(None), due < today)
    late = and_(overdue, due < today - timedelta(days=red_after))  # more than red_after days overdue
    slips = and_(forecast.is_not(None), due.is_not(None), forecast > due)
    slips_far = and_(forecast.is_not(None), due.is_not(None), forecast > _plus_days(due, red_after, dialect))
    not_started_late = and_(status == ActionStatus.not_started.value, start.is_not(None), start < today)
    red = and_(not_(completed), or_(late, slips_far))
    amber = and_(not_(completed), not_(or_(late, slips_far)), or_(overdue, slips, not_started_late))
    green = and_(not_(completed), not_(or_(late, slips_far, overdue, slips, not_started_late)))
    return {Rag.blue: completed, Rag.red: red, Rag.amber: amber, Rag.green: green}


class PlanReader(Reader):
    """Plans with their submission deadline computed from the inspection report's publication date."""

    def statement(self) -> Select[Any]:
        successor = aliased(Plan)
        return (
            select(
                *self.resource.columns,
                col(Inspection.report_published_on).label("report_published_on"),
                select(col(successor.id)).where(col(successor.predecessor_id) == col(Plan.id)).scalar_subquery().label("successor_id"),
            )
            .select_from(Plan)
            .outerjoin(Inspection, col(Inspection.id) == col(Plan.inspection_id))
        )

    def shape(self, row: Row) -> Row:
        row["submission_due_on"] = plan_submission_due_on(row, row.pop("report_published_on"))
        return row


class ConcernReader(Reader):
    """Concerns with their latest impact statement and impact RAG (`app.impact.figures`): one more statement per page."""

    async def finish(self, reads: Reads, rows: list[Row]) -> list[Row]:
        if not rows:
            return rows
        found = await reads.rows(
            IMPACT_STATEMENTS[reads.dialect], {"concern_ids": [r["id"] for r in rows]}, cache_key=("impact", reads.dialect)
        )
        latest = latest_by_concern(found)
        for row in rows:
            row.update(impact(latest.get(str(row["id"]))))
        return rows
