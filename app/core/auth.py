"""Who is calling: API keys (`Authorization: Bearer wsoa_<prefix>_<secret>`) resolved to an Actor."""

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session
from sqlmodel import col

from app.core.db import Database, DatabaseDep
from app.core.errors import FieldError, Unauthenticated, Unprocessable
from app.models import ApiKey, Person
from app.models.enums import Role

TOKEN_PREFIX = "wsoa"
KEY_BY_PREFIX = (
    select(
        col(ApiKey.id),
        col(ApiKey.name),
        col(ApiKey.role),
        col(ApiKey.token_hash),
        col(ApiKey.partnership_id),
        col(ApiKey.person_id),
        col(ApiKey.expires_on),
        col(ApiKey.revoked_at),
        col(ApiKey.last_used_at),
        col(Person.active),  # the key's person, if any: still current?
    )
    .select_from(ApiKey)
    .outerjoin(Person, col(Person.id) == col(ApiKey.person_id))
    .where(col(ApiKey.prefix) == bindparam("prefix"))
)
PERSON_ACTIVE = select(col(Person.active)).where(col(Person.id) == bindparam("person_id"))
CACHED_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LEFT = "The person this {credential} belongs to has left the partnership."


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller, passed into every service call."""

    actor_type: str
    actor_id: str
    name: str
    role: Role
    partnership_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None

    def sees(self, partnership_id: uuid.UUID) -> bool:
        return self.partnership_id is None or self.partnership_id == partnership_id


SYSTEM = Actor(actor_type="system", actor_id="system", name="system", role=Role.admin)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh `(prefix, token)`: 40 bits of public prefix and 256 bits of secret."""
    prefix = secrets.token_hex(5)
    return prefix, f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("Send `Authorization: Bearer <token>`.")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("Only Bearer tokens are accepted.")
    return token


class _Cache:
    """Verified tokens for a few seconds, so hot reads do not pay a key lookup each."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Actor]] = {}

    def get(self, digest: str) -> Actor | None:
        entry = self._entries.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, actor: Actor, ttl: float) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[digest] = (time.monotonic() + ttl, actor)

    def clear(self) -> None:
        self._entries.clear()


token_cache = _Cache()
_PEOPLE_CHANGED = "wsoa_people_changed"


@event.listens_for(Session, "do_orm_execute")
def _note_people_changes(state: ORMExecuteState) -> None:
    """A write to `person` (someone leaving, or coming back) is noted on its session..."""
    table = getattr(state.statement, "table", None)
    if (state.is_update or state.is_insert or state.is_delete) and getattr(table, "name", None) == "person":
        state.session.info[_PEOPLE_CHANGED] = True


def note_people_changed(session: AsyncSession) -> None:
    """For writes to `person` the listener above cannot see (textual SQL, such as the HR sync's upsert)."""
    session.sync_session.info[_PEOPLE_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_people_changed(session: Session) -> None:
    """...and once it is committed this process trusts no verified token again without looking it up, so a
    leaver's keys and tokens stop working at once (the key lookup and the OIDC person check see `active`)."""
    if session.info.pop(_PEOPLE_CHANGED, False):
        token_cache.clear()


@event.listens_for(Session, "after_rollback")
def _discard_people_changed(session: Session) -> None:
    session.info.pop(_PEOPLE_CHANGED, None)


async def authenticate(db: DatabaseDep, request: Request) -> Actor:
    """The caller behind `Authorization: Bearer`: an API key, or an OIDC JWT when an issuer is configured.
    Resolved once per request (the Idempotency-Key check needs it before the route's dependencies run)."""
    known: Actor | None = getattr(request.state, "actor", None)
    if known is not None:
        return known
    limiter, limit = request.app.state.limiter, request.app.state.settings.failed_auth_per_minute
    address = request.client.host if request.client else None
    try:
        actor = await _authenticate(db, request)
    except Unauthenticated:
        # 429 instead once an address keeps guessing; a valid credential is never refused for its address, so
        # users behind one proxy address are not locked out by someone guessing from behind it.
        limiter.refuse_blocked(address, limit)
        await limiter.note_failure(address, limit)
        raise
    request.state.actor = actor
    return actor


async def _authenticate(db: Database, request: Request) -> Actor:
    token = _bearer(request.headers.get("authorization"))
    digest = hash_token(token)
    # Reads may trust a credential verified in the last WSOA_AUTH_CACHE_SECONDS; a write always looks it up, so a
    # key revoked or a person marked left by another process can write nothing from the moment that is committed.
    cached = token_cache.get(digest) if request.method in CACHED_METHODS else None
    if cached is not None:
        return cached
    ttl: float = request.app.state.settings.auth_cache_seconds
    if token.startswith(TOKEN_PREFIX + "_"):
        actor = await _api_key_actor(db, token, digest)
    elif token.count(".") == 2:
        actor, expires = await request.app.state.oidc.actor(token)
        if actor.person_id is not None:
            await _check_person(db, actor.person_id)
        ttl = min(ttl, expires - time.time())
    else:
        raise Unauthenticated("The token is neither an API key nor a JWT.")
    if ttl > 0:
        token_cache.put(digest, actor, ttl)
    return actor


async def _api_key_actor(db: Database, token: str, digest: str) -> Actor:
    parts = token.split("_", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise Unauthenticated("The token is not a valid API key.")
    async with db.read() as reads:
        found = await reads.rows(KEY_BY_PREFIX, {"prefix": parts[1]}, cache_key="api-key-by-prefix")
    key = found[0] if found else None
    if key is None or not hmac.compare_digest(key["token_hash"], digest):
        raise Unauthenticated("The token is not a valid API key.")
    if key["revoked_at"] is not None:
        raise Unauthenticated("The API key has been revoked.")
    if key["person_id"] is not None and not key["active"]:
        raise Unauthenticated(LEFT.format(credential="key"))
    now = datetime.now(UTC)
    if key["expires_on"] is not None and key["expires_on"] < now.date():
        raise Unauthenticated("The API key has expired.")
    if key["last_used_at"] is None or now - key["last_used_at"] > LAST_USED_RESOLUTION:
        await _touch(db, key["id"], now)
    return Actor(
        actor_type="api_key",
        actor_id=str(key["id"]),
        name=key["name"],
        role=Role(key["role"]),
        partnership_id=key["partnership_id"],
        person_id=key["person_id"],
    )


async def _check_person(db: Database, person_id: uuid.UUID) -> None:
    """An OIDC token acting as a person works only while that person is current."""
    async with db.read() as reads:
        found: list[dict[str, Any]] = await reads.rows(PERSON_ACTIVE, {"person_id": person_id}, cache_key="person-active")
    if not found:
        raise Unauthenticated("The person this token names is not known here.")
    if not found[0]["active"]:
        raise Unauthenticated(LEFT.format(credential="token"))


LAST_USED_RESOLUTION = timedelta(minutes=1)


async def _touch(db: Database, key_id: uuid.UUID, now: datetime) -> None:
    """Record `last_used_at`, at most once a minute per key (bookkeeping: no new version, no audit event)."""
    async with db.transaction() as session:
        await session.execute(update(ApiKey).where(col(ApiKey.id) == key_id).values(last_used_at=now))


def resolve_partnership(actor: Actor, given: uuid.UUID | None) -> uuid.UUID:
    if given is None:
        if actor.partnership_id is None:
            raise Unprocessable(
                "Name the partnership: this key covers all of them.", errors=[FieldError(pointer="/partnership_id", message="required")]
            )
        return actor.partnership_id
    if actor.partnership_id is not None and given != actor.partnership_id:
        raise Unprocessable(
            "No such partnership is visible to you.", errors=[FieldError(pointer="/partnership_id", message="unknown partnership")]
        )
    return given
