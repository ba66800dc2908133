"""What `wsoa worker` does for the reporting cycle (`plan` once a minute, `deliver_due` every pass): open the month's period for every plan in delivery
with a schedule, mark unfiled returns missed once their due date has passed, queue the reminders and escalations
that are due (each at most once: a unique key per return, stage and recipient, so several workers never send one
twice), and send the queued e-mails with no transaction open, recording each outcome."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import structlog
from sqlalchemy import exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.core import audit, crud, leases
from app.core import changes as feed
from app.core.auth import SYSTEM
from app.core.config import Settings
from app.core.db import Database
from app.core.errors import DomainError
from app.core.uow import unit_of_work
from app.models import Action, ActionReturn, ApiKey, Notification, Partnership, Person, Plan, ReportingPeriod, ReturnLink, utcnow
from app.models.enums import NotificationKind, NotificationStatus, PeriodStatus, ReturnStatus, Role
from app.partnerships.service import today_in
from app.plans.calendar import add_working_days
from app.reporting import mail, service
from app.reporting.schedule import Schedule, month_of, working_days_before
from app.reporting.schemas import PeriodCreate

log = structlog.get_logger("wsoa.reporting")
DEFAULT = Schedule(returns_due_day_of_month=1)  # reminder days and escalation for periods opened by hand
SEND_BATCH = 10
# A batch is held long enough to send it even if every message takes the SMTP timeout twice over; a batch whose lease
# ran out anyway is not recorded over another worker's (see `_record`).
MAX_ATTEMPTS = 5
WITH_LINK = {NotificationKind.reminder, NotificationKind.due_today, NotificationKind.overdue, NotificationKind.sent_back}
OPEN = service.OPEN_RETURNS


async def plan(db: Database, *, on: date | None = None) -> int:
    """What today (or the day `on`, for tests and benchmarks) calls for: how many periods were opened, returns
    marked missed and e-mails queued."""
    return await open_due_periods(db, on) + await miss_overdue_returns(db, on) + await queue_due(db, on)


async def _todays(db: Database, on: date | None) -> dict[uuid.UUID, date]:
    """Each partnership's today, in its time zone (or `on` for all)."""
    async with db.read_session() as reader:
        zones = (await reader.execute(select(col(Partnership.id), col(Partnership.timezone)))).all()
    return {pid: on or today_in(zone) for pid, zone in zones}


async def open_due_periods(db: Database, on: date | None = None) -> int:
    """This month's period of each plan in delivery that has a schedule, if it is not open yet."""
    todays = await _todays(db, on)
    async with db.read_session() as reader:
        plans = (
            await reader.execute(
                select(col(Plan.id), col(Plan.partnership_id), col(Plan.reporting_schedule)).where(
                    col(Plan.status).in_(service.IN_DELIVERY), col(Plan.reporting_schedule).is_not(None)
                )
            )
        ).all()
        have = {
            (r.plan_id, r.starts_on) for r in await reader.execute(select(col(ReportingPeriod.plan_id), col(ReportingPeriod.starts_on)))
        }
    opened = 0
    for plan in plans:
        if not plan.reporting_schedule:  # a JSON null stored by an older version
            continue
        starts_on = month_of(todays[plan.partnership_id])[0]
        if (plan.id, starts_on) in have:
            continue
        try:
            async with unit_of_work(db) as session:
                # Another worker may open it at the same moment: the unique (plan, starts_on) lets one of them through.
                await session.execute(select(col(Plan.id)).where(col(Plan.id) == plan.id).with_for_update())
                exists = await session.execute(
                    select(col(ReportingPeriod.id)).where(
                        col(ReportingPeriod.plan_id) == plan.id, col(ReportingPeriod.starts_on) == starts_on
                    )
                )
                if exists.first() is not None:
                    continue
                await crud.create(session, actor=SYSTEM, res=_periods(), data=PeriodCreate(plan_id=plan.id, starts_on=starts_on))
            opened += 1
        except DomainError as exc:  # e.g. a schedule whose dates no longer fit: logged, the other plans go on
            log.warning("reporting_period_not_opened", plan_id=str(plan.id), reason=exc.detail)
    return opened


def _periods() -> Any:
    from app.reporting.router import periods  # the resource, defined with the routes

    return periods


async def miss_overdue_returns(db: Database, on: date | None = None) -> int:
    todays = await _todays(db, on)
    async with db.read_session() as reader:
        due = {
            r.partnership_id
            for r in await reader.execute(
                select(col(ActionReturn.partnership_id))
                .where(col(ActionReturn.status).in_(OPEN), col(ActionReturn.missed_at).is_(None))
                .where(col(ActionReturn.returns_due_on) < max(todays.values(), default=date.max))
                .distinct()
            )
        }
    missed = 0
    for partnership_id in due:
        async with unit_of_work(db) as session:
            missed += await service.mark_missed(session, SYSTEM, partnership_id, todays[partnership_id])
    return missed


@dataclass(frozen=True)
class Due:
    kind: NotificationKind
    person_id: uuid.UUID
    stage: str  # part of the unique key: which reminder, or the recipient of an escalation


def due_notifications(row: Any, today: date, leads: list[uuid.UUID]) -> list[Due]:
    """What a return's state and dates call for today (the latest reminder stage only: a worker that was off does not
    send every reminder it missed)."""
    schedule = Schedule.model_validate(row.reporting_schedule) if row.reporting_schedule else DEFAULT
    due, found = row.returns_due_on, []
    owner = row.owner_id if row.owner_active else None
    if row.status in OPEN and owner is not None and row.missed_at is None:
        if today == due:
            found.append(Due(NotificationKind.due_today, owner, "due"))
        elif today < due:
            stages = sorted(n for n in schedule.reminder_working_days if today >= working_days_before(due, n))
            if stages:
                found.append(Due(NotificationKind.reminder, owner, f"{stages[0]}d"))
    if row.status == ReturnStatus.missed.value:
        if owner is not None:
            found.append(Due(NotificationKind.overdue, owner, "missed"))
        if today >= add_working_days(due, schedule.escalate_after_working_days):
            # Not to the owner themselves (they had the missed notice): to the others who can follow it up.
            for person in dict.fromkeys([p for p in (row.senior_responsible_officer_id, *leads) if p is not None and p != row.owner_id]):
                found.append(Due(NotificationKind.escalation, person, str(person)))
    return found


RETURNS = (
    select(
        col(ActionReturn.id),
        col(ActionReturn.partnership_id),
        col(ActionReturn.status),
        col(ActionReturn.returns_due_on),
        col(ActionReturn.missed_at),
        col(ActionReturn.owner_id),
        col(Person.active).label("owner_active"),
        col(Plan.reporting_schedule),
        col(Plan.senior_responsible_officer_id),
    )
    .select_from(ActionReturn)
    .join(ReportingPeriod, col(ReportingPeriod.id) == col(ActionReturn.period_id))
    .join(Plan, col(Plan.id) == col(ActionReturn.plan_id))
    .outerjoin(Person, col(Person.id) == col(ActionReturn.owner_id))
    .where(col(ReportingPeriod.status) == PeriodStatus.open.value, col(ActionReturn.status).in_([*OPEN, ReturnStatus.missed.value]))
)


async def _leads(reader: Any, today_of: dict[uuid.UUID, date]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """People holding a current lead key, by partnership: they hear of missed returns with the senior officer."""
    rows = await reader.execute(
        select(col(ApiKey.partnership_id), col(ApiKey.person_id), col(ApiKey.expires_on))
        .join(Person, col(Person.id) == col(ApiKey.person_id))
        .where(col(ApiKey.role) == Role.lead.value, col(ApiKey.revoked_at).is_(None), col(Person.active).is_(True))
    )
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    for r in rows:
        if r.partnership_id in today_of and (r.expires_on is None or r.expires_on >= today_of[r.partnership_id]):
            found.setdefault(r.partnership_id, []).append(r.person_id)
    return {k: sorted(set(v), key=str) for k, v in found.items()}


async def queue_due(db: Database, on: date | None = None) -> int:
    """Queue every notification due today that is not queued yet; how many were new."""
    todays = await _todays(db, on)
    async with db.read_session() as reader:
        rows = (await reader.execute(RETURNS)).all()
        leads = await _leads(reader, todays)
    wanted = [(row, d) for row in rows for d in due_notifications(row, todays[row.partnership_id], leads.get(row.partnership_id, []))]
    if not wanted:
        return 0
    async with db.read_session() as reader:
        people = {
            p.id: p
            for p in await reader.execute(
                select(col(Person.id), col(Person.email), col(Person.active)).where(col(Person.id).in_({d.person_id for _, d in wanted}))
            )
        }
    now = utcnow()
    values = [
        {
            "id": uuid.uuid4(), "created_at": now, "updated_at": now, "version": 1, "partnership_id": row.partnership_id,
            "return_id": row.id, "person_id": d.person_id, "to_address": people[d.person_id].email or "", "kind": d.kind.value,
            "reason": service.REASONS[d.kind], "subject": "", "dedupe_key": f"{row.id}:{d.kind.value}:{d.stage}",
            "status": NotificationStatus.pending.value, "attempts": 0, "next_attempt_at": now,
        }
        for row, d in wanted
        if d.person_id in people and people[d.person_id].active
    ]  # fmt: skip
    return await _queue(db, values)


async def _queue(db: Database, values: list[dict[str, Any]]) -> int:
    """Insert the notifications whose key is new (a second worker's are skipped by the unique key), audited."""
    if not values:
        return 0
    dialect_insert = pg_insert if db.dialect == "postgresql" else sqlite_insert
    table = Notification.__table__  # type: ignore[attr-defined]
    queued: list[dict[str, Any]] = []
    async with unit_of_work(db) as session:
        for start in range(0, len(values), QUEUE_CHUNK):  # within the drivers' limit of bound values per statement
            chunk = values[start : start + QUEUE_CHUNK]
            statement = dialect_insert(table).values(chunk).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)
            made = {r.id for r in await session.execute(statement)}
            queued += [v for v in chunk if v["id"] in made]
        service.record_queued(session, queued)
    return len(queued)


QUEUE_CHUNK = 1000  # 15 values a row: well within the 32,767 a statement may bind


# Sending -------------------------------------------------------------------------------------

REMINDED = aliased(Notification)
# What each kind of message is about: once the return has moved on (or its period closed), it is not sent.
STILL_TRUE = {
    NotificationKind.reminder: {ReturnStatus.expected, ReturnStatus.returned},
    NotificationKind.due_today: {ReturnStatus.expected, ReturnStatus.returned},
    NotificationKind.overdue: {ReturnStatus.missed},
    NotificationKind.escalation: {ReturnStatus.missed},
    NotificationKind.sent_back: {ReturnStatus.returned},
}

DETAILS: Any = (
    select(
        col(Notification.id),
        col(Notification.version),
        col(Notification.partnership_id),
        col(Notification.return_id),
        col(Notification.person_id),
        col(Notification.to_address),
        col(Notification.kind),
        col(Notification.attempts),
        col(Plan.title).label("plan_title"),
        col(Action.ref),
        col(Action.title),
        col(ActionReturn.returns_due_on),
        col(ReportingPeriod.meeting_on),
        col(ActionReturn.owner_id),
        col(ActionReturn.status).label("return_status"),
        col(ReportingPeriod.status).label("period_status"),
        select(col(Person.active)).where(col(Person.id) == col(ActionReturn.owner_id)).scalar_subquery().label("owner_active"),
        exists()
        .where(
            col(REMINDED.return_id) == col(ActionReturn.id),
            col(REMINDED.status) == NotificationStatus.sent.value,
            col(REMINDED.kind) != NotificationKind.escalation.value,
        )
        .label("reminded"),
    )
    .select_from(Notification)
    .join(ActionReturn, col(ActionReturn.id) == col(Notification.return_id))
    .join(Action, col(Action.id) == col(ActionReturn.action_id))
    .join(Plan, col(Plan.id) == col(ActionReturn.plan_id))
    .join(ReportingPeriod, col(ReportingPeriod.id) == col(ActionReturn.period_id))
)


async def _claim(db: Database, batch: int, lease: timedelta) -> list[Any]:
    now = utcnow()
    async with unit_of_work(db) as session:
        taken = await leases.take(
            session, Notification, pending=NotificationStatus.pending.value, now=now, until=now + lease, batch=batch,
            skip_locked=not db.is_sqlite, returning=[col(Notification.id)],
        )  # fmt: skip
        if not taken:
            return []
        return list((await session.execute(DETAILS.where(col(Notification.id).in_([t.id for t in taken])))).all())


async def deliver_due(db: Database, settings: Settings, *, batch: int = SEND_BATCH) -> int:
    """Send the queued e-mails that are due (one lease each, no transaction open while sending, one SMTP connection for
    the batch, each outcome recorded as soon as it is known); how many were tried."""
    if not settings.smtp_host and not mail.mail_folder(settings):
        return 0  # nowhere to send: they stay queued, and /notifications shows them pending
    claimed = await _claim(db, batch, timedelta(seconds=60 + 2 * batch * settings.smtp_timeout_seconds))
    if not claimed:
        return 0
    names = await _names(db, {c.owner_id for c in claimed if c.owner_id} | {c.person_id for c in claimed})
    links = await _links(db, settings, [c for c in claimed if c.to_address and NotificationKind(c.kind) in WITH_LINK])
    async with mail.Outbox(settings) as outbox:
        for claim in claimed:
            if (
                claim.period_status != PeriodStatus.open
                or ReturnStatus(claim.return_status) not in STILL_TRUE[NotificationKind(claim.kind)]
            ):
                await _record(
                    db, claim, f"not sent: the return is now {claim.return_status} and its period {claim.period_status}", None, skipped=True
                )
                continue
            error, subject = None, None
            try:
                if not claim.to_address:
                    raise ValueError("no e-mail address on record")
                letter = _letter(claim, names, links.get(claim.id))
                await outbox.send(mail.compose(letter, sender=settings.mail_from, to=claim.to_address, notification_id=claim.id))
                subject = letter.subject
            except Exception as exc:  # a refused address, an unreachable server: recorded on the notification, retried
                error = f"{type(exc).__name__}: {exc}"[:500]
            await _record(db, claim, error, subject)
    return len(claimed)


def _letter(claim: Any, names: dict[uuid.UUID, str], link: str | None) -> mail.Letter:
    kind = NotificationKind(claim.kind)
    owner = names.get(claim.owner_id, "colleague") if claim.owner_id else "colleague"
    if kind is NotificationKind.escalation:
        letter = mail.escalation(
            plan=claim.plan_title, ref=claim.ref, title=claim.title, due=claim.returns_due_on, owner=owner,
            recipient=names.get(claim.person_id, "colleague"), owner_left=claim.owner_active is False, reminded=bool(claim.reminded),
        )  # fmt: skip
    else:
        letter = mail.reminder(
            kind, plan=claim.plan_title, ref=claim.ref, title=claim.title, due=claim.returns_due_on, meeting=claim.meeting_on, owner=owner
        )
    return mail.Letter(letter.subject, letter.lines, link=link)


async def _names(db: Database, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    async with db.read_session() as reader:
        return {
            p.id: p.display_name
            for p in await reader.execute(select(col(Person.id), col(Person.display_name)).where(col(Person.id).in_(ids)))
        }


def hash_link(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _links(db: Database, settings: Settings, claims: list[Any]) -> dict[uuid.UUID, str]:
    """A one-time link to the return's form for each person a reminder goes to (only its hash is kept), made in one
    audited transaction before anything is sent."""
    if not claims:
        return {}
    now, base = utcnow(), settings.public_base_url.rstrip("/") or "http://127.0.0.1:8000"
    tokens = {c.id: secrets.token_urlsafe(32) for c in claims}
    rows = [
        {"id": uuid.uuid4(), "created_at": now, "updated_at": now, "version": 1, "partnership_id": c.partnership_id,
         "return_id": c.return_id, "person_id": c.person_id, "notification_id": c.id, "token_hash": hash_link(tokens[c.id]),
         "expires_at": now + timedelta(days=settings.return_link_days)}
        for c in claims
    ]  # fmt: skip
    async with unit_of_work(db) as session:
        await session.execute(insert(ReturnLink), rows)
        entries = [
            audit.Entry("create", "return_link", r["id"], r["partnership_id"],
                        {"return_id": [None, str(r["return_id"])], "person_id": [None, str(r["person_id"])],
                         "expires_at": [None, r["expires_at"].isoformat()]})
            for r in rows
        ]  # fmt: skip
        audit.record_many(session, actor=SYSTEM, entries=entries)
    return {c.id: f"{base}/returns/form/{tokens[c.id]}" for c in claims}


async def _record(db: Database, claim: Any, error: str | None, subject: str | None, *, skipped: bool = False) -> None:
    """The outcome of one claimed message, unless another worker took it over after this one's lease ran out."""
    attempts = claim.attempts + 1
    now = utcnow()
    if skipped:
        values: dict[str, Any] = {"status": NotificationStatus.skipped.value, "last_error": error}
    elif error is None:
        values = {"status": NotificationStatus.sent.value, "sent_at": now, "last_error": None, "subject": subject or ""}
    elif attempts >= MAX_ATTEMPTS or error.startswith("ValueError: no e-mail"):
        values = {"status": NotificationStatus.failed.value, "last_error": error}
    else:
        values = {"last_error": error, "next_attempt_at": now + timedelta(minutes=5 * 2 ** (attempts - 1))}
    async with unit_of_work(db) as session:
        result = await session.execute(
            update(Notification)
            .where(col(Notification.id) == claim.id, col(Notification.version) == claim.version)
            .values(**values, attempts=attempts, updated_at=now, version=col(Notification.version) + 1)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            log.warning("notification_lease_lost", notification_id=str(claim.id))
            return
        feed.record(session, [feed.Changed("notification", claim.id, "update", claim.version + 1, claim.partnership_id)])
        audit.record(
            session, actor=SYSTEM, action="update", entity_type="notification", entity_id=claim.id, partnership_id=claim.partnership_id,
            changes={k: [None, audit.jsonable(v)] for k, v in values.items() if k != "next_attempt_at"} | {"attempts": [claim.attempts, attempts]},
        )  # fmt: skip
