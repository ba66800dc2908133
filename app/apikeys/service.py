"""API key administration shared by the command line (and, later, the admin API)."""

import uuid
from datetime import date

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core.auth import SYSTEM, Actor, hash_token, new_token, token_cache
from app.core.errors import FieldError, Forbidden, NotFound, Unprocessable
from app.core.permissions import NATIONAL_ROLES
from app.models import ApiKey, Partnership, Person, utcnow
from app.models.enums import Role


async def create_key(
    session: AsyncSession,
    *,
    actor: Actor = SYSTEM,
    role: Role,
    name: str,
    partnership_id: uuid.UUID | None = None,
    person_id: uuid.UUID | None = None,
    expires_on: date | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; the token is returned once and only its hash is stored."""
    await _check_key_scope(session, actor, role=role, partnership_id=partnership_id, person_id=person_id, expires_on=expires_on)
    prefix, token = new_token()
    key = ApiKey(
        prefix=prefix,
        name=name,
        role=role.value,
        token_hash=hash_token(token),
        partnership_id=partnership_id,
        person_id=person_id,
        expires_on=expires_on,
    )
    session.add(key)
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type="api_key",
        entity_id=key.id,
        partnership_id=partnership_id,
        changes={"name": [None, name], "role": [None, role.value], "prefix": [None, prefix]},
    )
    return key, token


async def revoke_key(session: AsyncSession, *, actor: Actor = SYSTEM, prefix: str) -> None:
    """Revoke by the token's public prefix (the command line's way)."""
    key_id = (await session.execute(select(col(ApiKey.id)).where(col(ApiKey.prefix) == prefix))).scalar_one_or_none()
    if key_id is None:
        raise NotFound(f"No API key with prefix {prefix}.")
    await revoke(session, actor=actor, key_id=key_id)


async def revoke(session: AsyncSession, *, actor: Actor, key_id: uuid.UUID) -> None:
    """Revoke a key; revoking it again changes nothing. The row stays, for the audit trail."""
    key = (await session.execute(select(ApiKey).where(col(ApiKey.id) == key_id))).scalar_one()
    if key.revoked_at is None:
        now = utcnow()
        await session.execute(
            update(ApiKey).where(col(ApiKey.id) == key.id).values(revoked_at=now, updated_at=now, version=col(ApiKey.version) + 1)
        )
        audit.record(
            session,
            actor=actor,
            action="update",
            entity_type="api_key",
            entity_id=key.id,
            partnership_id=key.partnership_id,
            changes={"revoked_at": [None, now.isoformat()]},
        )
    # This process stops trusting it once the revocation is committed (cleared before, a concurrent request could
    # cache the still-valid row again); other processes within WSOA_AUTH_CACHE_SECONDS.
    event.listen(session.sync_session, "after_commit", lambda _s: token_cache.clear(), once=True)


async def _check_key_scope(
    session: AsyncSession,
    actor: Actor,
    *,
    role: Role,
    partnership_id: uuid.UUID | None,
    person_id: uuid.UUID | None,
    expires_on: date | None,
) -> None:
    """National keys (all partnerships) are for admins and inspectors only; contributors act as a person."""
    errors: list[FieldError] = []
    if partnership_id is None and role not in NATIONAL_ROLES:
        errors.append(FieldError(pointer="/partnership_id", message=f"a {role.value} key belongs to one partnership"))
    if actor.partnership_id is not None and partnership_id != actor.partnership_id:
        raise Forbidden("A partnership's admin may create keys for that partnership only.")
    if partnership_id is not None:
        found = (await session.execute(select(col(Partnership.id)).where(col(Partnership.id) == partnership_id))).first()
        if found is None:
            errors.append(FieldError(pointer="/partnership_id", message="no such partnership"))
    if role is Role.contributor and person_id is None:
        errors.append(FieldError(pointer="/person_id", message="a contributor key acts for a person"))
    if person_id is not None:
        owner = (await session.execute(select(col(Person.partnership_id)).where(col(Person.id) == person_id))).scalar_one_or_none()
        if owner is None or owner != partnership_id:
            errors.append(FieldError(pointer="/person_id", message="no such person in the key's partnership"))
    if expires_on is not None and expires_on < utcnow().date():
        errors.append(FieldError(pointer="/expires_on", message="the expiry date has passed"))
    if errors:
        raise Unprocessable("The key's scope is not valid.", errors=errors)
