"""The key that pseudonymises case references.

`case_ref` is stored only as HMAC-SHA256(key, partnership id + case_ref): the same reference always
maps to the same case within a partnership, and cannot be recovered or guessed from the database
without the key. Set `WSOA_CASE_REF_KEY` (kept outside the database) before the first events
arrive; without it the service generates a key once and keeps it in the database, which protects
against reading the hashes alone but not against a copy of the whole database.
"""

import hmac
import secrets
import uuid
from collections.abc import Callable

import structlog
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core.config import Settings
from app.models import ServerSecret

NAME = "case_ref_key"
log = structlog.get_logger(__name__)


def configured_key(settings: Settings) -> bytes | None:
    """The key set in `WSOA_CASE_REF_KEY` (no database needed), or None when it is kept in the database."""
    configured = settings.case_ref_key.get_secret_value()
    return configured.encode() if configured else None


async def case_ref_key(session: AsyncSession, settings: Settings) -> bytes:
    configured = configured_key(settings)
    if configured is not None:
        return configured
    stored = (await session.execute(select(col(ServerSecret.value)).where(col(ServerSecret.name) == NAME))).scalar_one_or_none()
    if stored is None:
        log.warning("case_ref_key_generated", detail="WSOA_CASE_REF_KEY is not set; a generated key is kept in the database")
        try:
            async with session.begin_nested():  # another process may be generating it at the same moment
                await session.execute(insert(ServerSecret).values(name=NAME, value=secrets.token_hex(32)))
        except IntegrityError:
            pass
        stored = (await session.execute(select(col(ServerSecret.value)).where(col(ServerSecret.name) == NAME))).scalar_one()
    return stored.encode()


def case_keyer(key: bytes, partnership_id: uuid.UUID) -> Callable[[str], str]:
    """The stored key of a partnership's case reference (HMAC-SHA256 of `<partnership>:<case_ref>`), the prefix
    computed once for a batch's many references."""
    prefix = f"{partnership_id}:".encode()
    return lambda case_ref: hmac.digest(key, prefix + case_ref.encode(), "sha256").hex()
