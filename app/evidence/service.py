"""Evidence rules: who may submit and review it, files in and out, and what needs it.

SEND evidence is often about individual children. Evidence marked `contains_personal_data` and not
`redacted` is "held locally": inspectors cannot download it and it never goes into an inspector or
public export, though the evidence index still lists it.
"""

import hashlib
import logging
import re
import uuid
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit, crud
from app.core import changes as feed
from app.core.auth import Actor
from app.core.errors import Conflict, DomainError, FieldError, Forbidden, Unprocessable, UnsupportedMediaType
from app.core.resources import Reader, Row, Rules
from app.core.uploads import Received
from app.evidence.sniff import ALLOWED, canonical, compatible, sniff
from app.evidence.storage import Storage
from app.models import Evidence, EvidenceRevision, Milestone, utcnow
from app.models.enums import ReviewStatus, Role
from app.plans.service import require_involvement

log = logging.getLogger("wsoa.evidence")
INTEGRITY_FAILURES = Counter("wsoa_evidence_integrity_failures_total", "Stored evidence files whose bytes no longer match their SHA-256.")
REVIEW_FIELDS = {"review_status", "review_note"}
TRANSITIONS = {ReviewStatus.submitted: {ReviewStatus.accepted, ReviewStatus.rejected}}


class IllegalTransition(Conflict):
    type, title = "/problems/illegal-transition", "Illegal state transition"


class IntegrityFailure(DomainError):
    status, type, title = 500, "/problems/evidence-integrity", "Stored evidence failed its integrity check"


def held_locally(row: Row) -> bool:
    return bool(row["contains_personal_data"]) and not row["redacted"]


class EvidenceReader(Reader):
    def shape(self, row: Row) -> Row:
        row["availability"] = "held_locally" if held_locally(row) else "available"
        return row


def present(row: Row, actor: Actor) -> Row:
    """Inspectors see that held-locally evidence exists, not where it lives."""
    if actor.role is Role.inspector and row["availability"] == "held_locally":
        row["url"] = None
    return row


async def subject_action(session: AsyncSession, values: Row) -> uuid.UUID | None:
    """The action the evidence is about, directly or through its milestone (None for a concern)."""
    if values.get("action_id") is not None:
        return uuid.UUID(str(values["action_id"]))
    if values.get("milestone_id") is not None:
        found = (
            await session.execute(select(col(Milestone.action_id)).where(col(Milestone.id) == values["milestone_id"]))
        ).scalar_one_or_none()
        return found
    return None


async def require_submitter(session: AsyncSession, actor: Actor, row: Row) -> None:
    """Contributors submit evidence on actions (or milestones of actions) they own or contribute to."""
    if actor.role is not Role.contributor:
        return
    action_id = await subject_action(session, row)
    if action_id is None:
        raise Forbidden("Evidence about a concern is submitted by a lead.")
    await require_involvement(session, actor, action_id)


FREED_BY_LEADS = (
    "Only a lead marks evidence holding personal data as free of it or redacted: inspectors could then download it. "
    "Ask a lead to check the file and change it."
)


def _frees(current: Row, changes: Row) -> bool:
    """Whether a change would let inspectors download evidence they could not before."""
    unmarked = changes.get("contains_personal_data") is False and current["contains_personal_data"]
    redacted = changes.get("redacted") is True and not current["redacted"]
    return bool(unmarked or redacted)


class EvidenceRules(Rules):
    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        await require_submitter(session, actor, values)
        if actor.role is Role.contributor and values.get("contains_personal_data") and values.get("redacted"):
            raise Forbidden(FREED_BY_LEADS)

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if REVIEW_FIELDS & changes.keys():
            if actor.role not in (Role.admin, Role.lead):
                raise Forbidden("Only a lead reviews evidence.")
            if "review_status" in changes:
                before, after = ReviewStatus(current["review_status"]), ReviewStatus(changes["review_status"])
                if after not in TRANSITIONS.get(before, set()):
                    raise IllegalTransition(
                        f"Evidence cannot go from {before.value} to {after.value}; a new file sends it back for review."
                    )
                changes["reviewed_by_id"] = actor.person_id
                changes["reviewed_at"] = utcnow()
        else:
            await require_submitter(session, actor, current)
            if actor.role is Role.contributor and _frees(current, changes):
                raise Forbidden(FREED_BY_LEADS)
            if current["review_status"] == ReviewStatus.accepted and actor.role is Role.contributor:
                raise Conflict("Accepted evidence is settled; upload a new file to send it back for review.")


# Files ---------------------------------------------------------------------------------------

SAFE_NAME = re.compile(r"[^\w .()+,-]")


def clean_file_name(name: str | None) -> str | None:
    """Kept only for Content-Disposition: never part of a storage path."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = SAFE_NAME.sub("_", base).strip(" .")[:255]
    return cleaned or None


async def store_revision(
    session: AsyncSession,
    storage: Storage,
    *,
    actor: Actor,
    evidence_id: uuid.UUID,
    received: Received,
    declared: str | None,
    file_name: str | None,
) -> bool:
    """Check the bytes, keep them, and record them as the evidence's next revision (False: same bytes again)."""
    try:
        plan_id = await crud.plan_of(session, Evidence, evidence_id)
        await crud.refuse_history(session, plan_id)
        if received.size == 0:
            raise Unprocessable("The file is empty.", errors=[FieldError(pointer="", message="empty file")])
        real = sniff(received.path, received.head)
        if real is None or real not in ALLOWED:
            raise UnsupportedMediaType("This kind of file is not accepted as evidence (PDF, Office documents, CSV, text and images are).")
        if not compatible(declared, real):
            raise UnsupportedMediaType(f"The file was sent as {declared} but its bytes are {real}.")
        media_type = canonical(declared, real)
        current = (await session.execute(select(Evidence).where(col(Evidence.id) == evidence_id).with_for_update())).scalar_one()
        if current.sha256 == received.sha256:
            return False  # a retry of the same upload: nothing new to keep
        await storage.keep(received.path, received.sha256)
    finally:
        received.path.unlink(missing_ok=True)
    revision = current.revision + 1
    session.add(
        EvidenceRevision(
            partnership_id=current.partnership_id, evidence_id=evidence_id, revision=revision, sha256=received.sha256,
            size_bytes=received.size, media_type=media_type, file_name=file_name, uploaded_by=actor.actor_id,
        )
    )  # fmt: skip
    values: dict[str, Any] = {
        "sha256": received.sha256, "size_bytes": received.size, "media_type": media_type, "file_name": file_name,
        "revision": revision, "review_status": ReviewStatus.submitted.value, "reviewed_by_id": None, "reviewed_at": None,
    }  # fmt: skip
    if current.contains_personal_data:  # a new file of personal data is held locally until a lead finds it redacted
        values["redacted"] = False
    changes = audit.diff({k: getattr(current, k) for k in values}, values)
    version = current.version + 1  # read before the UPDATE, which also refreshes the loaded row
    await session.execute(
        update(Evidence).where(col(Evidence.id) == evidence_id).values(**values, version=col(Evidence.version) + 1, updated_at=utcnow())
    )
    feed.record(session, [feed.Changed("evidence", evidence_id, "update", version, current.partnership_id, plan_id)])
    audit.record(
        session,
        actor=actor,
        action="update",
        entity_type="evidence",
        entity_id=evidence_id,
        partnership_id=current.partnership_id,
        changes=changes,
    )
    return True


async def verified(storage: Storage, sha256: str) -> None:
    """Re-hash the stored bytes before serving any of them: a mismatch is never served, and raises the alarm."""
    digest = hashlib.sha256()
    try:
        async for chunk in storage.read(sha256):
            digest.update(chunk)
    except FileNotFoundError:
        digest = hashlib.sha256(b"missing")
    if digest.hexdigest() != sha256:
        INTEGRITY_FAILURES.inc()
        log.error("evidence_integrity_failure sha256=%s", sha256)
        raise IntegrityFailure("The stored file no longer matches its recorded SHA-256; it has not been served and the failure is logged.")
