"""The hot read path for actions: two statements per page, derived health computed in Python.

Statement 1 selects the page of actions with their owner, partnership time zone, latest reported
RAG and linked ids (aggregated in SQL); statement 2 fetches the milestones of the whole page.
"""

from typing import Any

from sqlalchemy import ColumnElement, Select, Uuid, and_, any_, bindparam, false, not_, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import col

from app.core.auth import Actor
from app.core.config import get_settings
from app.core.reads import Reads, ids_of
from app.core.resources import Reader, Row, link_ids
from app.models import Action, Inspection, Milestone, Partnership, Person, Plan, ProgressUpdate
from app.partnerships.service import today_in
from app.plans.calendar import submission_due_on
from app.plans.rag import NEVER_OVERDUE, derive

_MILESTONES = select(
    col(Milestone.id), col(Milestone.action_id), col(Milestone.title), col(Milestone.due_on), col(Milestone.status), col(Milestone.met_on)
).order_by(col(Milestone.action_id), col(Milestone.due_on), col(Milestone.id))
# The page's action ids: one array parameter on PostgreSQL, an expanded IN list elsewhere.
MILESTONES = {
    "postgresql": _MILESTONES.where(col(Milestone.action_id) == any_(bindparam("action_ids", type_=ARRAY(Uuid())))),
    "sqlite": _MILESTONES.where(col(Milestone.action_id).in_(bindparam("action_ids", expanding=True))),
}


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
        return (
            select(
                *res.columns,
                *links,
                reported,
                col(Person.display_name).label("owner_display_name"),
                col(Person.job_title).label("owner_job_title"),
                col(Person.active).label("owner_active"),
                col(Partnership.timezone).label("timezone"),
                col(Partnership.red_after_days).label("red_after_days"),
            )
            .select_from(Action)
            .join(Partnership, col(Partnership.id) == col(Action.partnership_id))
            .outerjoin(Person, col(Person.id) == col(Action.owner_id))
        )

    def shape(self, row: Row) -> Row:
        for link in self.resource.links:
            row[link.field] = link_ids(row[link.field])
        health = derive(
            status=row["status"],
            planned_start_on=row["planned_start_on"],
            due_on=row["due_on"],
            forecast_on=row["forecast_on"],
            today=today_in(row.pop("timezone")),
            red_after_days=row.pop("red_after_days"),
        )
        row["rag"] = health.rag.value
        row["is_overdue"] = health.is_overdue
        row["days_overdue"] = health.days_overdue
        row["is_slipping"] = health.is_slipping
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

    dynamic_filters = frozenset({"overdue"})

    async def dynamic_filter(self, reads: Reads, actor: Actor, name: str, value: Any) -> ColumnElement[bool]:
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


class PlanReader(Reader):
    """Plans with their submission deadline computed from the inspection report's publication date."""

    def statement(self) -> Select[Any]:
        return (
            select(*self.resource.columns, col(Inspection.report_published_on).label("report_published_on"))
            .select_from(Plan)
            .outerjoin(Inspection, col(Inspection.id) == col(Plan.inspection_id))
        )

    def shape(self, row: Row) -> Row:
        computed = submission_due_on(
            kind=row["kind"], report_published_on=row.pop("report_published_on"), working_days=get_settings().submission_working_days
        )
        if computed is not None:
            row["submission_due_on"] = computed
        return row
