"""Exports and share links: who may make them, producing the bytes once, and serving them unchanged.

An export is produced once, from the pack of its plan at its moment (`app.exports.pack`), and its
bytes are kept in the content-addressed store under their SHA-256. Small plans are produced within
the request; larger ones are left `pending` for `wsoa worker`, which leases one at a time
(`claimed_at`), so a worker that dies mid-way leaves it to another after the lease runs out.

Every export records the newest signed audit checkpoint at its request (`checkpoint_seq`, `checkpoint_hash`,
see `app.audit.checkpoints`): whoever checks a pack later can tell how far the trail behind it was anchored.
"""

import hashlib
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import structlog
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.audit import checkpoints
from app.core import audit, locks
from app.core import changes as feed
from app.core.auth import Actor, hash_token
from app.core.config import Settings
from app.core.db import Database
from app.core.errors import Conflict, DomainError, FieldError, Forbidden, NotFound, Unprocessable
from app.core.ratelimit import RateLimiter
from app.core.uow import unit_of_work
from app.evidence.storage import Storage
from app.exports import pack as packs
from app.exports.render import EXTENSIONS, MEDIA_TYPES, render
from app.exports.schemas import MeetingPackCreate
from app.models import Action, Export, ShareLink, utcnow
from app.models.enums import Audience, ExportFormat, ExportStatus, Role
from app.partnerships.service import Local, local
from app.plans.resources import plans

log = structlog.get_logger("wsoa.exports")
LEASE = timedelta(minutes=10)
MAX_SHARE_DAYS = 90


class ExportNotReady(Conflict):
    type, title = "/problems/export-not-ready", "Export not ready"


class ExportFailed(Conflict):
    type, title = "/problems/export-failed", "Export failed"


class ShareLinkGone(DomainError):
    status, type, title = 410, "/problems/share-link-gone", "Share link expired or revoked"


SHAREABLE = (Audience.inspectors, Audience.public)
SHAREABLE_TEXT = " and ".join(f"`{a.value}`" for a in SHAREABLE)
HEAVY = frozenset({ExportFormat.pdf, ExportFormat.html, ExportFormat.xlsx})  # seconds of CPU each for a large plan


class ShareLinkAudience(Conflict):
    type, title = "/problems/share-link-audience", "Audience may not be shared by link"


class ShareLinkWithdrawn(ShareLinkGone):
    type, title = "/problems/share-link-audience", "Audience may not be shared by link"


def may_use(actor: Actor, audience: Audience | str) -> bool:
    """Inspectors make and download packs for inspectors only (the inspector role reads, and sees only what inspectors may)."""
    return actor.role is not Role.inspector or audience == Audience.inspectors


def file_name(title: str, as_of: Any, audience: str, export_format: ExportFormat) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80] or "plan"
    return f"{slug}-{as_of}-{audience}.{EXTENSIONS[export_format]}"


async def _produce(
    db: Database, storage: Storage, request: packs.Request, export_format: ExportFormat, pack: dict[str, Any] | None = None
) -> tuple[str, int]:
    """Build the pack (unless given), render it off the event loop, keep the bytes; returns (sha256, size)."""
    if pack is None:
        async with db.read_session() as session:
            area = await local(session, request.partnership_id)
            assert area is not None
            pack = await packs.build(session, request, area)
    blob = await anyio.to_thread.run_sync(render, pack, export_format)
    sha = hashlib.sha256(blob).hexdigest()
    scratch = storage.scratch() / f"export-{uuid.uuid4().hex}"
    await anyio.Path(scratch).write_bytes(blob)
    await storage.keep(scratch, sha)
    return sha, len(blob)


async def _plan_facts(session: AsyncSession, plan: dict[str, Any]) -> tuple[Local, int]:
    area = await local(session, plan["partnership_id"])
    assert area is not None  # the plan's partnership exists
    actions = (await session.execute(select(func.count()).select_from(Action).where(col(Action.plan_id) == plan["id"]))).scalar_one()
    return area, int(actions)


async def _same_export(
    reader: AsyncSession, area: Local, request: packs.Request, export_format: ExportFormat, checkpoint_seq: int | None
) -> tuple[uuid.UUID | None, dict[str, Any] | None]:
    """The newest export of the same plan, format, audience, `as_of` and audit checkpoint (ready or pending) whose
    pack shows the same data as this request's (`data_sha256`, see `app.exports.pack.data_hash`), if there is one;
    and this request's pack when it had to be built to tell."""
    anchored = col(Export.checkpoint_seq).is_(None) if checkpoint_seq is None else col(Export.checkpoint_seq) == checkpoint_seq
    newest = (
        (
            await reader.execute(
                select(col(Export.id), col(Export.created_at))
                .where(
                    col(Export.plan_id) == request.plan_id,
                    col(Export.partnership_id) == request.partnership_id,
                    col(Export.format) == export_format.value,
                    col(Export.audience) == request.audience.value,
                    col(Export.as_of) == request.as_of,
                    col(Export.since).is_(None) if request.since is None else col(Export.since) == request.since,
                    col(Export.meeting_id).is_(None) if request.meeting_id is None else col(Export.meeting_id) == request.meeting_id,
                    col(Export.status).in_([ExportStatus.ready.value, ExportStatus.pending.value]),
                    anchored,
                )
                .order_by(col(Export.created_at).desc(), col(Export.id).desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    if newest is None:
        return None, None
    pack = await packs.build(reader, request, area)
    earlier = packs.Request(
        newest["id"],
        request.plan_id,
        request.partnership_id,
        request.audience,
        request.as_of,
        newest["created_at"],
        request.since,
        request.meeting_id,
    )
    if (await packs.build(reader, earlier, area))["data_sha256"] != pack["data_sha256"]:
        return None, pack
    return uuid.UUID(str(newest["id"])), pack


async def make_export(
    db: Database,
    session: AsyncSession,
    storage: Storage,
    settings: Settings,
    *,
    actor: Actor,
    plan: dict[str, Any],
    export_format: ExportFormat,
    audience: Audience,
    as_of: Any,
    since: Any = None,
    meeting_id: uuid.UUID | None = None,
    title: str | None = None,
    limiter: RateLimiter | None = None,
) -> tuple[uuid.UUID, bool]:
    """Returns the export's id and whether it is new: an identical request (same plan, format, audience, `as_of`
    and data) gets the export already made instead of a second rendering. New PDF, HTML and XLSX exports count against
    the key's hourly quota of heavy exports (`export_heavy_per_hour`, 429 past it)."""
    if not may_use(actor, audience):
        raise Forbidden("Inspectors may export for the `inspectors` audience only.")
    async with db.read_session() as reader:
        area, actions = await _plan_facts(reader, plan)
    as_of = as_of or area.today
    if as_of > area.today:
        raise Unprocessable("The future has not been recorded yet.", errors=[FieldError(pointer="/as_of", message="after today")])
    if as_of < plan["created_at"].astimezone(ZoneInfo(area.timezone)).date():
        raise Unprocessable(
            "The plan was not recorded yet on that day.", errors=[FieldError(pointer="/as_of", message="before the plan existed")]
        )
    if since is not None and since >= as_of:
        raise Unprocessable(
            "`since` is the day to compare with: before `as_of`.", errors=[FieldError(pointer="/since", message="not before as_of")]
        )
    try:
        anchor = await checkpoints.latest_trusted(storage, settings)
    except Exception:  # the export does not depend on the checkpoint store: it records none when that cannot be read
        log.exception("export_checkpoint_unreadable")
        anchor = None
    # Identical requests made at once in this process run one after the other (waiting in memory, holding no
    # connection), so the second finds the first's export instead of rendering it again.
    identity = f"export:{plan['id']}:{export_format.value}:{audience.value}:{as_of.isoformat()}:{since}:{meeting_id}"
    await locks.hold_until_end(session, identity)
    request = packs.Request(uuid.uuid4(), plan["id"], plan["partnership_id"], audience, as_of, utcnow(), since, meeting_id)
    seq = anchor.seq if anchor else None
    async with db.read_session() as reader:
        same, pack = await _same_export(reader, area, request, export_format, seq)
    if same is not None:
        return same, False
    if limiter is not None and export_format in HEAVY:
        await limiter.check_hourly(actor, "export-heavy", settings.export_heavy_per_hour, session=session)
    values: dict[str, Any] = {
        "id": request.export_id,
        "created_at": request.created_at,
        "updated_at": request.created_at,
        "partnership_id": plan["partnership_id"],
        "plan_id": plan["id"],
        "format": export_format.value,
        "audience": audience.value,
        "as_of": as_of,
        "status": ExportStatus.pending.value,
        "media_type": MEDIA_TYPES[export_format],
        "file_name": file_name(title or plan["title"], as_of, audience.value, export_format),
        "created_by": actor.actor_id,
        "checkpoint_seq": anchor.seq if anchor else None,
        "checkpoint_hash": anchor.hash if anchor else None,
        "since": since,
        "meeting_id": meeting_id,
    }
    limit = settings.export_inline_max_pdf_actions if export_format is ExportFormat.pdf else settings.export_inline_max_actions
    if actions <= limit:
        sha, size = await _produce(db, storage, request, export_format, pack)
        values.update(status=ExportStatus.ready.value, sha256=sha, size_bytes=size, completed_at=utcnow())
    # Across processes the check is made again, rendered, under a database lock held only for the insert and its
    # commit: of identical requests made at once on two processes, the second answers with the first's export.
    if await locks.hold_across_processes(db, session, identity):
        async with db.read_session() as reader:
            same, _ = await _same_export(reader, area, request, export_format, seq)
        if same is not None:
            return same, False
    await session.execute(insert(Export).values(**values))
    changes = {k: [None, audit.jsonable(v)] for k, v in values.items() if v is not None}
    await _record(session, actor, action="export", entity_type="export", row=values, changes=changes, plan_id=plan["id"])
    return request.export_id, True


async def make_meeting_pack(
    db: Database,
    session: AsyncSession,
    storage: Storage,
    settings: Settings,
    *,
    actor: Actor,
    meeting: dict[str, Any],
    body: MeetingPackCreate,
    limiter: RateLimiter | None = None,
) -> tuple[uuid.UUID, bool]:
    """A meeting's pack: an export of the meeting's plan (or, for a meeting about no plan in particular, the plan named,
    of the same partnership) with the meeting's page, as of today unless said, never before the meeting was recorded."""
    plan_id = meeting["plan_id"] or body.plan_id
    if plan_id is None:
        raise Unprocessable(
            "The meeting is about no plan in particular: say which plan its pack shows.",
            errors=[FieldError(pointer="/plan_id", message="required for this meeting")],
        )
    if meeting["plan_id"] is not None and body.plan_id not in (None, meeting["plan_id"]):
        raise Unprocessable("The meeting is about another plan.", errors=[FieldError(pointer="/plan_id", message="not the meeting's plan")])
    assert plans.reader is not None
    async with db.read() as reads:
        plan = await plans.reader.get(reads, actor, plan_id)
    if plan is None or plan["partnership_id"] != meeting["partnership_id"]:
        raise Unprocessable(
            f"No plan with id {plan_id} in the meeting's partnership.", errors=[FieldError(pointer="/plan_id", message="unknown plan")]
        )
    async with db.read_session() as reader:
        area = await local(reader, meeting["partnership_id"])
    assert area is not None
    as_of = body.as_of or area.today
    if as_of < meeting["created_at"].astimezone(ZoneInfo(area.timezone)).date():
        raise Unprocessable(
            "The meeting was not recorded yet on that day: its pack shows the plan from the day it was recorded.",
            errors=[FieldError(pointer="/as_of", message="before the meeting was recorded")],
        )
    return await make_export(
        db, session, storage, settings, actor=actor, plan=plan, export_format=body.format, audience=body.audience, as_of=as_of,
        meeting_id=meeting["id"], title=f"{plan['title']} {meeting['title']}", limiter=limiter,
    )  # fmt: skip


async def _record(
    session: AsyncSession,
    actor: Actor,
    *,
    action: str,
    entity_type: str,
    row: dict[str, Any],
    changes: dict[str, list[Any]],
    plan_id: uuid.UUID | None = None,
) -> None:
    """The change-feed row and the audit event of one write (an export's making is audited as `export`)."""
    kind = "create" if action == "export" else action
    feed.record(session, [feed.Changed(entity_type, row["id"], kind, row.get("version", 1), row["partnership_id"], plan_id)])
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=row["id"],
        partnership_id=row["partnership_id"],
        changes=changes,
    )


async def _claim(db: Database) -> dict[str, Any] | None:
    """Lease the oldest pending export nobody holds (or whose holder's lease ran out)."""
    async with unit_of_work(db) as session:
        now = utcnow()
        row = (
            (
                await session.execute(
                    select(*Export.__table__.c)  # type: ignore[attr-defined]
                    .where(
                        col(Export.status) == ExportStatus.pending.value,
                        col(Export.claimed_at).is_(None) | (col(Export.claimed_at) < now - LEASE),
                    )
                    .order_by(col(Export.created_at))
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        await session.execute(update(Export).where(col(Export.id) == row["id"]).values(claimed_at=now))
        return dict(row)


async def produce_pending(db: Database, storage: Storage) -> int:
    """Produce one pending export, if any (for `wsoa worker`); returns how many were produced."""
    row = await _claim(db)
    if row is None:
        return 0
    request = packs.Request(
        row["id"],
        row["plan_id"],
        row["partnership_id"],
        Audience(row["audience"]),
        row["as_of"],
        row["created_at"],
        row["since"],
        row["meeting_id"],
    )
    values: dict[str, Any]
    try:
        sha, size = await _produce(db, storage, request, ExportFormat(row["format"]))
        values = {"status": ExportStatus.ready.value, "sha256": sha, "size_bytes": size}
    except Exception as exc:  # a pack that cannot be rendered is a failed export, not a dead worker
        log.exception("export_failed", export=str(row["id"]))
        values = {"status": ExportStatus.failed.value, "error": f"{type(exc).__name__}: {exc}"[:1000]}
    now = utcnow()
    async with unit_of_work(db) as session:
        done = await session.execute(
            update(Export)
            .where(col(Export.id) == row["id"], col(Export.status) == ExportStatus.pending.value)
            .values(**values, completed_at=now, updated_at=now, version=col(Export.version) + 1)
        )
        if done.rowcount:  # type: ignore[attr-defined]
            changes = {k: [row.get(k), v] for k, v in values.items()}
            actor = Actor("system", "worker", "worker", Role.admin, partnership_id=row["partnership_id"])
            row["version"] += 1
            await _record(session, actor, action="update", entity_type="export", row=row, changes=changes, plan_id=row["plan_id"])
    log.info("export_produced", export=str(row["id"]), status=values["status"])
    return 1


def require_ready(export: dict[str, Any]) -> None:
    if export["status"] == ExportStatus.pending:
        raise ExportNotReady("The export is still being produced; try again shortly.", headers={"Retry-After": "5"})
    if export["status"] == ExportStatus.failed:
        raise ExportFailed(f"The export could not be produced: {export['error']}")


# Share links -------------------------------------------------------------------------------------


async def create_share_link(
    session: AsyncSession, settings: Settings, *, actor: Actor, export: dict[str, Any], expires_at: datetime | None
) -> tuple[uuid.UUID, str]:
    if export["audience"] not in SHAREABLE:
        raise ShareLinkAudience(
            f"Only {SHAREABLE_TEXT} exports may be shared by link: a `{export['audience']}` pack shows contact details and "
            "links to unredacted evidence. Export the plan for `inspectors` or `public` and share that."
        )
    require_ready(export)
    now = utcnow()
    refused = Unprocessable(
        f"A share link lasts until a moment in the next {MAX_SHARE_DAYS} days.",
        errors=[FieldError(pointer="/expires_at", message=f"must be in the future and within {MAX_SHARE_DAYS} days")],
    )
    try:
        expires = (expires_at or now + timedelta(days=settings.share_link_days)).astimezone(UTC)
    except (OverflowError, ValueError):  # e.g. 0001-01-01T00:00:00+01:00: before the first moment a datetime can hold
        raise refused from None
    if expires <= now or expires > now + timedelta(days=MAX_SHARE_DAYS):
        raise refused
    token = secrets.token_urlsafe(32)
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        "partnership_id": export["partnership_id"],
        "export_id": export["id"],
        "token_hash": hash_token(token),
        "expires_at": expires,
        "created_by": actor.actor_id,
    }
    await session.execute(insert(ShareLink).values(**values))
    changes = {k: [None, audit.jsonable(v)] for k, v in values.items() if k not in {"token_hash", "id", "created_at", "updated_at"}}
    await _record(session, actor, action="create", entity_type="share_link", row=values, changes=changes, plan_id=export["plan_id"])
    return values["id"], token


async def revoke_share_link(session: AsyncSession, *, actor: Actor, link: dict[str, Any]) -> None:
    """Revoking twice is harmless: the first revocation stands."""
    if link["revoked_at"] is not None:
        return
    now = utcnow()
    await session.execute(
        update(ShareLink).where(col(ShareLink.id) == link["id"]).values(revoked_at=now, updated_at=now, version=col(ShareLink.version) + 1)
    )
    changes = {"revoked_at": [None, audit.jsonable(now)]}
    plan_id = (await session.execute(select(col(Export.plan_id)).where(col(Export.id) == link["export_id"]))).scalar_one_or_none()
    await _record(session, actor, action="update", entity_type="share_link", row={**link, "version": link["version"] + 1}, changes=changes,
                  plan_id=plan_id)  # fmt: skip


KNOWN_TOKEN = select(col(ShareLink.id)).where(col(ShareLink.token_hash) == bindparam("token_hash"))


async def share_link_known(db: Database, token: str) -> bool:
    """Whether a token is a share link's at all, read before the request's transaction begins (so a guess can be
    counted against its address without waiting for the request's write lock on SQLite)."""
    async with db.read() as reads:
        return bool(await reads.rows(KNOWN_TOKEN, {"token_hash": hash_token(token)}, cache_key="share-link-known"))


async def open_share_link(session: AsyncSession, *, token: str, client: str | None, user_agent: str | None) -> dict[str, Any]:
    """The export behind a live link; the access is counted and audited in the same transaction."""
    columns = (
        col(Export.status),
        col(Export.sha256),
        col(Export.size_bytes),
        col(Export.media_type),
        col(Export.file_name),
        col(Export.error),
    )
    found = (
        (
            await session.execute(
                select(
                    col(ShareLink.id),
                    col(ShareLink.export_id),
                    col(ShareLink.partnership_id),
                    col(ShareLink.expires_at),
                    col(ShareLink.revoked_at),
                    col(Export.audience),
                    *columns,
                )
                .join(Export, col(Export.id) == col(ShareLink.export_id))
                .where(col(ShareLink.token_hash) == hash_token(token))
            )
        )
        .mappings()
        .first()
    )
    if found is None:
        raise NotFound("No such share link.")
    now = utcnow()
    if found["revoked_at"] is not None:
        raise ShareLinkGone("This link has been revoked.")
    if found["expires_at"] <= now:
        raise ShareLinkGone("This link has expired.")
    if found["audience"] not in SHAREABLE:  # made before board packs stopped being shareable
        raise ShareLinkWithdrawn(f"This link no longer opens: only {SHAREABLE_TEXT} exports are shared by link.")
    link_id = found["id"]
    await session.execute(
        update(ShareLink)
        .where(col(ShareLink.id) == link_id)
        .values(access_count=col(ShareLink.access_count) + 1, last_accessed_at=now, updated_at=now, version=col(ShareLink.version) + 1)
    )
    actor = Actor("share_link", str(link_id), "share link", Role.inspector, partnership_id=found["partnership_id"])
    audit.record(
        session,
        actor=actor,
        action="share_access",
        entity_type="share_link",
        entity_id=link_id,
        partnership_id=found["partnership_id"],
        changes={
            "export_id": [None, str(found["export_id"])],
            "client_address": [None, client],
            "user_agent": [None, (user_agent or "")[:300] or None],
        },
    )
    return dict(found)
