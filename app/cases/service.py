"""Ingesting case events, and feeding EHCP timeliness measures from them.

A batch is all or nothing: every event is validated first, then the batch is written in one
transaction. An event whose `event_id` is already held with the same content is a duplicate and
counts once; the same `event_id` with different content is a conflict (409) and nothing is written.
"""

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import String, any_, cast, delete, insert, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.cases import timeliness
from app.cases.keys import case_keyer, case_ref_key
from app.cases.schemas import CaseEventIn, IngestResult
from app.core import audit
from app.core import changes as feed
from app.core.auth import Actor
from app.core.config import Settings
from app.core.errors import Conflict, FieldError, Unprocessable
from app.core.reads import SqlAlchemyReads
from app.models import CaseEvent, Measure, Observation, Plan, utcnow
from app.models.enums import MeasureSource, PlanStatus
from app.partnerships.service import local

# pg_advisory_xact_lock(key1, key2) for case-event writes of one partnership ("case" + hash of the id).
CASES_LOCK = 0x63617365
CONTENT = ("case_key", "type", "occurred_on", "outcome", "reason")
LOOKUP_CHUNK = 5_000


class EventConflict(Conflict):
    type, title = "/problems/event-conflict", "Event id already used for a different event"


async def ingest(
    session: AsyncSession,
    *,
    actor: Actor,
    settings: Settings,
    partnership_id: uuid.UUID,
    events: list[CaseEventIn],
    refresh: bool = True,
) -> IngestResult:
    area = await local(session, partnership_id)
    if area is None:
        raise Unprocessable("No such partnership.", errors=[FieldError(pointer="/partnership_id", message="unknown partnership")])
    today = area.today
    future = [
        FieldError(pointer=f"/events/{i}/occurred_on", message="is after today") for i, e in enumerate(events) if e.occurred_on > today
    ]
    if future:
        raise Unprocessable("Events cannot be dated in the future.", errors=future[:100])
    await lock_cases(session, partnership_id)
    case_key = case_keyer(await case_ref_key(session, settings), partnership_id)
    rows: dict[str, dict[str, Any]] = {}
    clashes: list[FieldError] = []
    for index, event in enumerate(events):
        row = {
            "event_id": event.event_id,
            "case_key": case_key(event.case_ref),
            "type": event.type.value,
            "occurred_on": event.occurred_on,
            "outcome": event.outcome,
            "reason": event.reason,
        }
        seen = rows.setdefault(event.event_id, row)
        if seen is not row and seen != row:
            clashes.append(FieldError(pointer=f"/events/{index}/event_id", message="repeats an event_id of this batch with other content"))
    if clashes:
        raise Unprocessable("The batch repeats event ids with different content.", errors=clashes[:100])
    held = await held_events(session, partnership_id, list(rows))
    conflicts = [
        FieldError(pointer=f"/events/{i}/event_id", message="already received with different content")
        for i, e in enumerate(events)
        if e.event_id in held and held[e.event_id] != rows[e.event_id]
    ]
    if conflicts:
        raise EventConflict(
            f"{len(conflicts)} event id(s) were received before with different content; events are never changed, send a new event.",
            errors=conflicts[:100],
        )
    new = [row for event_id, row in rows.items() if event_id not in held]
    return await store(session, actor=actor, partnership_id=partnership_id, today=today, new=new, sent=len(events), refresh=refresh)


async def lock_cases(session: AsyncSession, partnership_id: uuid.UUID) -> None:
    """Case-event writes of one partnership take turns (PostgreSQL; SQLite has one writer anyway), so that two
    batches holding the same new event cannot both find it missing."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:a, hashtext(:b))"), {"a": CASES_LOCK, "b": str(partnership_id)})


async def store(
    session: AsyncSession,
    *,
    actor: Actor,
    partnership_id: uuid.UUID,
    today: date,
    new: list[dict[str, Any]],
    sent: int,
    refresh: bool = True,
    details: dict[str, Any] | None = None,
) -> IngestResult:
    """Write the new events (rows of `CONTENT` and `event_id`, checked against those held), bring the
    `ehcp_timeliness` measures up to date and audit the batch in one `sync` event: `sent` events of which `new` were
    not held, with `details` (an import's file and counts)."""
    if new:
        await insert_events(session, partnership_id, new)
    result = IngestResult(accepted=len(new), duplicates=sent - len(new))
    if refresh:
        await refresh_timeliness_measures(session, actor=actor, partnership_id=partnership_id, today=today)
    audit.record(
        session,
        actor=actor,
        action="sync",
        entity_type="case_events",
        entity_id=partnership_id,
        partnership_id=partnership_id,
        changes={"accepted": [None, result.accepted], "duplicates": [None, result.duplicates]}
        | {name: [None, audit.jsonable(value)] for name, value in (details or {}).items()},
    )
    return result


async def held_events(session: AsyncSession, partnership_id: uuid.UUID, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The events of the batch already stored. PostgreSQL gets the ids as one array parameter (one stable plan on
    the unique index, whatever the batch size); SQLite an IN list per chunk. Read through Core, not the ORM: an
    import looks up tens of thousands of events, and ORM rows cost several times as much to build."""
    columns = [col(CaseEvent.event_id), *(getattr(CaseEvent, name) for name in CONTENT)]
    names = ("event_id", *CONTENT)
    scope = col(CaseEvent.partnership_id) == partnership_id
    connection = await session.connection()
    held: dict[str, dict[str, Any]] = {}
    if connection.dialect.name != "postgresql":
        for i in range(0, len(ids), LOOKUP_CHUNK):
            found = await connection.execute(select(*columns).where(scope, col(CaseEvent.event_id).in_(ids[i : i + LOOKUP_CHUNK])))
            held.update({r[0]: dict(zip(names, r, strict=True)) for r in found})
        return held
    # Planned for this array, never by a generic plan: after a few executions of the prepared statement PostgreSQL
    # may switch to one, which tests `event_id = ANY(...)` element by element on each row it reads: an import of
    # 30,000 events into a table whose statistics still say it is empty then took 20 s instead of a tenth of one.
    await connection.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    found = await connection.execute(select(*columns).where(scope, col(CaseEvent.event_id) == any_(cast(ids, ARRAY(String)))))
    held.update({r[0]: dict(zip(names, r, strict=True)) for r in found})
    await connection.execute(text("SET LOCAL plan_cache_mode TO DEFAULT"))
    return held


INSERT_PG = text("""
INSERT INTO case_event (partnership_id, event_id, case_key, type, occurred_on, outcome, reason, received_at)
SELECT :partnership_id, u.event_id, u.case_key, u.type, u.occurred_on, u.outcome, u.reason, :received_at
FROM unnest(CAST(:event_id AS text[]), CAST(:case_key AS text[]), CAST(:type AS text[]), CAST(:occurred_on AS date[]),
            CAST(:outcome AS text[]), CAST(:reason AS text[])) AS u(event_id, case_key, type, occurred_on, outcome, reason)
""")


async def insert_events(session: AsyncSession, partnership_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    """The new events in one statement: on PostgreSQL one INSERT of column arrays (`unnest`): 10,000 events took
    1.3-1.6 s as an ORM bulk insert, this takes a few hundredths; SQLite runs in-process, an executemany costs no
    round trips."""
    now = utcnow()
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        columns = {name: [r[name] for r in rows] for name in ("event_id", *CONTENT)}
        await session.execute(INSERT_PG, {"partnership_id": partnership_id, "received_at": now, **columns})
        return
    table = CaseEvent.__table__  # type: ignore[attr-defined]
    await session.execute(insert(table), [{**r, "partnership_id": partnership_id, "received_at": now} for r in rows])


def _month_start(day: date) -> date:
    return day.replace(day=1)


async def refresh_timeliness_measures(
    session: AsyncSession, *, actor: Actor, partnership_id: uuid.UUID, today: date, recorded: Callable[[date], datetime] | None = None
) -> int:
    """Write each `ehcp_timeliness` measure's monthly observations from the case events: the percentage of plans
    issued within 20 weeks excluding exceptions (`timeliness.DEFINITION`), with numerator and denominator, from the
    month of the baseline to this month, which is provisional. Months without plans issued (excluding exceptions)
    and months the case events do not cover (`covered`) have no observation. Only
    observations whose figures change are written (and audited). `recorded` dates the writes of history loaded
    from elsewhere (the demo data) by the period's last day. Returns how many changed."""
    measures = (
        await session.execute(
            select(col(Measure.id), col(Measure.plan_id), col(Measure.baseline_on)).where(
                col(Measure.partnership_id) == partnership_id,
                col(Measure.source) == MeasureSource.ehcp_timeliness.value,
                # A superseded plan's figures are history: its successor's carried measure takes the new months.
                col(Measure.plan_id).not_in(select(col(Plan.id)).where(col(Plan.status) == PlanStatus.superseded.value)),
            )
        )
    ).all()
    if not measures:
        return 0
    start = _month_start(min(m.baseline_on for m in measures))
    found = await timeliness.report(
        SqlAlchemyReads(await session.connection()), partnership_id=partnership_id, start=start, end=today, granularity="month"
    )
    current = _month_start(today)
    months = {}
    for period in found["periods"]:
        first = period["period_start_on"]
        if period["plans_issued_excl_exceptions"] and period["covered"]:
            following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            months[first] = {
                "period_start_on": first,
                "period_end_on": following - timedelta(days=1),
                "value": period["pct_within_20_weeks_excl_exceptions"],
                "numerator": period["issued_within_20_weeks_excl_exceptions"],
                "denominator": period["plans_issued_excl_exceptions"],
                "provisional": first == current,
            }
    stored: dict[tuple[uuid.UUID, date], Observation] = {
        (o.measure_id, o.period_start_on): o
        for o in (await session.execute(select(Observation).where(col(Observation.measure_id).in_([m.id for m in measures])))).scalars()
    }
    noted: list[feed.Changed] = []
    entries: list[audit.Entry] = []
    for measure in measures:
        for first, wanted in months.items():
            if first < _month_start(measure.baseline_on):
                continue
            when = recorded(wanted["period_end_on"]) if recorded is not None else None
            existing = stored.get((measure.id, first))
            if existing is None:
                row = Observation(partnership_id=partnership_id, measure_id=measure.id, **wanted, created_at=when or utcnow())
                session.add(row)
                action, version, diff = "create", 1, {k: [None, v] for k, v in wanted.items()}
            else:
                diff = audit.diff({k: getattr(existing, k) for k in wanted}, wanted)
                if not diff:
                    continue
                row, action, version = existing, "update", existing.version + 1
                await session.execute(
                    update(Observation).where(col(Observation.id) == row.id).values(**wanted, version=version, updated_at=utcnow())
                )
            noted.append(feed.Changed("observation", row.id, action, version, partnership_id, measure.plan_id))
            entries.append(audit.Entry(action, "observation", row.id, partnership_id, diff, when))
        # A stored month that no longer has a figure (not covered, or no plans once exceptions are left out) goes,
        # audited like any delete, so no figure of another definition or of an uncovered month lingers.
        for (owner, first), gone in stored.items():
            if owner != measure.id or first in months or first < _month_start(measure.baseline_on):
                continue
            await session.execute(delete(Observation).where(col(Observation.id) == gone.id))
            values = {c.name: audit.jsonable(getattr(gone, c.name)) for c in Observation.__table__.c if c.name != "id"}  # type: ignore[attr-defined]
            noted.append(feed.Changed("observation", gone.id, "delete", gone.version, partnership_id, measure.plan_id))
            entries.append(
                audit.Entry("delete", "observation", gone.id, partnership_id, {k: [v, None] for k, v in values.items() if v is not None})
            )
    if entries:
        await session.flush()
        feed.record(session, noted)
        audit.record_many(session, actor=actor, entries=entries)
    return len(entries)
