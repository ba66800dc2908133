"""API key administration shared by the command line (and, later, the admin API)."""

import uuid
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core.auth import SYSTEM, Actor, hash_token, new_token
from app.core.errors import NotFound
from app.models import ApiKey, utcnow
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
    await session.commit()
    return key, token


async def revoke_key(session: AsyncSession, *, actor: Actor = SYSTEM, prefix: str) -> ApiKey:
    key = (await session.execute(select(ApiKey).where(col(ApiKey.prefix) == prefix))).scalar_one_or_none()
    if key is None:
        raise NotFound(f"No API key with prefix {prefix}.")
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
        await session.commit()
    return key
