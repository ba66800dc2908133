"""Webhooks after the fact: deliveries derived from the committed change feed, sent with no transaction open.

Standard Webhooks: each delivery carries `webhook-id` (the event id, the same for every attempt),
`webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the
subscription's secret (https://www.standardwebhooks.com).

`wsoa worker` repeats two steps; neither runs inside a write of the service, and neither keeps a
transaction open while it talks to a receiver.

1. `fan_out` turns committed change-feed rows (`change`, numbered gapless in commit order by
   `app.core.log`) into deliveries. Each subscription keeps `change_cursor`, the last `change.seq` it was
   fanned out to; one short unit of work reads the subscriptions (locked with `FOR UPDATE SKIP LOCKED` on
   PostgreSQL, so two workers never fan out for the same subscription at once; SQLite serialises writers
   anyway), reads the next changes after the lowest cursor, inserts the matching deliveries in one
   statement and moves the cursors in one more. Because `seq` order is commit order, a change numbered
   after a cursor is never committed behind it, so nothing is skipped. The event id is derived from the
   change (`uuid5`), so a change fanned out twice (two workers, a cursor moved back) is still one delivery:
   the insert ignores a (subscription, event) pair that exists. Inactive subscriptions are moved past the
   changes too, without deliveries: a subscription hears nothing of what happened while it was off.
   Writes pay nothing for webhooks, and a write that rolls back has no change row, so it sends nothing.

2. `deliver_due` claims due deliveries in one short transaction: it moves their `next_attempt_at` a lease
   ahead and bumps their `version` (the claim's token), `FOR UPDATE SKIP LOCKED` on PostgreSQL, and commits.
   The claimed deliveries are then sent concurrently with no transaction open, each bounded by a hard
   deadline shorter than the lease; each outcome is recorded by a short unit of work of its own, only if
   the delivery still carries the claim's version (a redelivery or a later claim wins otherwise). A worker
   that dies between claim and record leaves the delivery pending: another worker sends it again once the
   lease has run out, with the same `webhook-id` (at least once). Failures are retried with exponential
   backoff and full jitter until `WSOA_WEBHOOK_RETRY_HOURS` have passed; a `410 Gone` disables the
   subscription.

Destinations: the host of a subscription's URL is resolved when the subscription is made or changed and again
at every attempt. Every address it resolves to is checked (loopback, link-local, private, shared carrier-grade
NAT, multicast, reserved, and IPv6 forms embedding such an IPv4 address are refused unless
`WSOA_WEBHOOK_ALLOW_PRIVATE` is set), and the attempt connects to an address so checked, never to the name: a
host that answers differently to a second lookup (DNS rebinding) cannot send the request elsewhere. The
request keeps the URL's host in its `Host` header and, for https, as the TLS server name (SNI) that the
certificate is verified against.
"""

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
import httpx
import orjson
import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from app.core import leases
from app.core.changes import event_type_of
from app.core.config import Settings
from app.core.db import Database
from app.core.errors import FieldError, Unprocessable
from app.core.uow import unit_of_work
from app.models import Change, WebhookDelivery, WebhookSubscription, utcnow
from app.models.enums import DeliveryStatus

log = structlog.get_logger("wsoa.webhooks")
BACKOFF_CAP = timedelta(hours=1)
UNPUBLISHED = {"webhook_subscription"}  # subscribers hear about the plan, not about the webhook machinery
# Event ids are uuid5 names of the change in this namespace: the same change always has the same id.
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:wsoa-tracker:change")
# Time allowed for the destination check (a DNS lookup) on top of the HTTP timeout of one attempt.
DESTINATION_CHECK_SECONDS = 5.0


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598), e.g. 100.100.100.200 cloud metadata
RELAY_6TO4 = ipaddress.ip_network("192.88.99.0/24")  # the deprecated 6to4 relay anycast block (RFC 7526)
IETF = ipaddress.ip_network("192.0.0.0/24")  # IETF protocol assignments (RFC 6890): not for webhooks, whatever Python says
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052): the IPv4 address is the last 32 bits
REFUSED = "the host resolves to a loopback, link-local, site-local, private, shared, multicast, reserved or otherwise non-global address"


class Refused(Exception):
    """Webhooks may not be sent to this URL; the message says why."""


def _embedded(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries: IPv4-mapped, 6to4, Teredo (server and client), NAT64."""
    found = [v4 for v4 in (ip.ipv4_mapped, ip.sixtofour) if v4 is not None]
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if ip in NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def refused(ip: IPAddress) -> bool:
    """Whether webhooks may not go to this address: the one place outbound addresses are judged."""
    if isinstance(ip, ipaddress.IPv6Address) and any(refused(v4) for v4 in _embedded(ip)):
        return True
    return (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_multicast
        or ip.is_unspecified
        or ip.is_reserved
        or not ip.is_global
        or (isinstance(ip, ipaddress.IPv4Address) and any(ip in block for block in (SHARED, IETF, RELAY_6TO4)))
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )


@dataclass(frozen=True)
class Target:
    """A subscription's URL, parsed once by the client that sends to it."""

    url: httpx.URL
    host: str  # ASCII: IDNA-encoded name or IP literal (without brackets)
    port: int

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")


def parse_target(url: str) -> Target:
    """The URL as the HTTP client will send to it; `Refused` when it cannot be parsed or is not http(s)."""
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
        port = parsed.port
    except (httpx.InvalidURL, ValueError, UnicodeError, TypeError) as exc:
        raise Refused("the URL cannot be parsed") from exc
    if parsed.scheme not in ("https", "http") or not host:
        raise Refused("the URL must be http(s) with a host")
    port = port if port is not None else (443 if parsed.scheme == "https" else 80)
    if not 0 < port < 65536:
        raise Refused("the URL's port is out of range")
    return Target(parsed, host, port)


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address the host resolves to, in the resolver's order (an IP literal is its own address)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await anyio.to_thread.run_sync(lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP))
        addresses = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    except (OSError, UnicodeError, ValueError) as exc:
        raise Refused("the host does not resolve") from exc
    if not addresses:
        raise Refused("the host does not resolve")
    return list(dict.fromkeys(addresses))


async def destination(url: str, settings: Settings) -> tuple[Target, list[IPAddress]]:
    """The parsed URL and the addresses to connect to, resolved once and each checked; `Refused` when any is refused
    (unless `WSOA_WEBHOOK_ALLOW_PRIVATE` is set: tests, internal deployments)."""
    target = parse_target(url)
    addresses = await resolve(target.host, target.port)
    if not settings.webhook_allow_private and any(refused(ip) for ip in addresses):
        raise Refused(REFUSED)
    return target, addresses


async def check_destination(url: str, settings: Settings) -> str | None:
    """Why the URL may not receive webhooks (None: it may). With `WSOA_WEBHOOK_ALLOW_PRIVATE` set, a URL that
    parses is enough: its host need not resolve yet."""
    try:
        if settings.webhook_allow_private:
            parse_target(url)
        else:
            await destination(url, settings)
    except Refused as exc:
        return str(exc)
    return None


async def require_destination(url: str, settings: Settings) -> None:
    problem = await check_destination(url, settings)
    if problem is not None:
        raise Unprocessable(f"Webhooks cannot be sent there: {problem}.", errors=[FieldError(pointer="/url", message=problem)])


def backoff(attempts: int, settings: Settings) -> timedelta:
    """Exponential with full jitter: somewhere in [base·2^(n-1) / 2, base·2^(n-1)], at most an hour."""
    ceiling = min(BACKOFF_CAP.total_seconds(), settings.webhook_backoff_base_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))


def event_id_of(seq: int, entity_id: uuid.UUID) -> uuid.UUID:
    """The event id (`webhook-id`) of a change: the same every time the change is fanned out."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{seq}:{entity_id}")


def _matches(subscription: Any, partnership_id: uuid.UUID | None, kind: str) -> bool:
    return subscription.partnership_id in (None, partnership_id) and (not subscription.event_types or kind in subscription.event_types)


def _insert_ignoring_duplicates(db: Database) -> Any:
    insert = sqlite_insert if db.is_sqlite else pg_insert
    return insert(WebhookDelivery).on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])


async def fan_out(db: Database, *, batch: int = 500) -> int:
    """Create the deliveries of up to `batch` committed changes past the subscriptions' cursors and move the
    cursors past them, in one short unit of work; returns how many changes it moved past (0: caught up)."""
    async with unit_of_work(db) as session:
        query = select(
            col(WebhookSubscription.id),
            col(WebhookSubscription.partnership_id),
            col(WebhookSubscription.event_types),
            col(WebhookSubscription.active),
            col(WebhookSubscription.change_cursor),
        ).order_by(col(WebhookSubscription.id))
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        subscriptions = (await session.execute(query)).all()
        if not subscriptions:
            return 0
        changes = (
            await session.execute(
                select(
                    col(Change.seq),
                    col(Change.occurred_at),
                    col(Change.entity_type),
                    col(Change.entity_id),
                    col(Change.action),
                    col(Change.partnership_id),
                    col(Change.plan_id),
                    col(Change.event_type),
                )
                .where(col(Change.seq) > min(s.change_cursor for s in subscriptions))
                .order_by(col(Change.seq))
                .limit(batch)
            )
        ).all()
        if not changes:
            return 0
        end = changes[-1].seq
        now = utcnow()
        active = [s for s in subscriptions if s.active]
        rows: list[dict[str, Any]] = []
        for change in changes:
            if change.entity_type in UNPUBLISHED:
                continue
            kind = event_type_of(change.entity_type, change.action, change.event_type)
            payload = {
                "type": kind,
                "id": str(change.entity_id),
                "plan_id": str(change.plan_id) if change.plan_id else None,
                "occurred_at": change.occurred_at.isoformat(),
            }
            event_id = event_id_of(change.seq, change.entity_id)
            for subscription in active:
                if change.seq <= subscription.change_cursor or not _matches(subscription, change.partnership_id, kind):
                    continue
                rows.append({"id": uuid.uuid4(), "partnership_id": change.partnership_id, "subscription_id": subscription.id,
                             "event_id": event_id, "event_type": kind, "payload": payload, "status": DeliveryStatus.pending.value,
                             "attempts": 0, "next_attempt_at": now, "created_at": now, "updated_at": now, "version": 1})  # fmt: skip
        if rows:
            await session.execute(_insert_ignoring_duplicates(db), rows)
        # The cursor is the worker's bookkeeping, not a change of the subscription: no new version, no ETag change.
        await session.execute(
            update(WebhookSubscription)
            .where(col(WebhookSubscription.id).in_([s.id for s in subscriptions]), col(WebhookSubscription.change_cursor) < end)
            .values(change_cursor=end)
            .execution_options(synchronize_session=False)
        )
    if rows:
        log.info("webhook_fan_out", changes=len(changes), deliveries=len(rows), through_seq=end)
    return len(changes)


def attempt_deadline(settings: Settings) -> float:
    """Seconds one attempt may take at most, destination check included (the HTTP timeout is per phase)."""
    return settings.webhook_timeout_seconds + DESTINATION_CHECK_SECONDS


def lease(settings: Settings) -> timedelta:
    """How long a claim keeps other workers off a delivery: the attempt's deadline, and as long again to
    record its outcome. A delivery whose worker died is sent again after this."""
    return timedelta(seconds=2 * attempt_deadline(settings))


@dataclass(frozen=True)
class Claim:
    """A delivery taken by this worker, with what sending it needs."""

    id: uuid.UUID
    version: int  # after the claim: the outcome is recorded only if the delivery still has it
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    url: str
    secret: str
    active: bool


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None


async def claim_due(db: Database, settings: Settings, *, batch: int) -> list[Claim]:
    """Take up to `batch` due deliveries for one lease, in one short committed transaction."""
    now = utcnow()
    async with unit_of_work(db) as session:
        taken = await leases.take(
            session, WebhookDelivery, pending=DeliveryStatus.pending.value, now=now, until=now + lease(settings), batch=batch,
            skip_locked=not db.is_sqlite,
            returning=[col(WebhookDelivery.id), col(WebhookDelivery.version), col(WebhookDelivery.subscription_id),
                       col(WebhookDelivery.event_id), col(WebhookDelivery.payload), col(WebhookDelivery.attempts),
                       col(WebhookDelivery.created_at)],
        )  # fmt: skip
        if not taken:
            return []
        subscriptions = {
            s.id: s
            for s in await session.execute(
                select(
                    col(WebhookSubscription.id),
                    col(WebhookSubscription.url),
                    col(WebhookSubscription.secret),
                    col(WebhookSubscription.active),
                ).where(col(WebhookSubscription.id).in_({d.subscription_id for d in taken}))
            )
        }
    return [
        Claim(d.id, d.version, d.subscription_id, d.event_id, d.payload, d.attempts, d.created_at, s.url, s.secret, s.active)
        for d in taken
        if (s := subscriptions.get(d.subscription_id)) is not None  # deleted meanwhile: its deliveries went with it
    ]


async def deliver_due(db: Database, settings: Settings, *, batch: int = 20) -> int:
    """Claim up to `batch` due deliveries, send them with no transaction open and record each outcome;
    returns how many were attempted."""
    claimed = await claim_due(db, settings, batch=batch)
    if not claimed:
        return 0
    tls = httpx.create_ssl_context()
    async with anyio.create_task_group() as tg:
        for claim in claimed:
            tg.start_soon(_attempt, db, settings, claim, tls)
    return len(claimed)


async def _attempt(db: Database, settings: Settings, claim: Claim, tls: ssl.SSLContext) -> None:
    outcome = await send(settings, claim, tls)
    await record(db, settings, claim, outcome)


async def send(settings: Settings, claim: Claim, tls: ssl.SSLContext | None = None) -> Outcome:
    """One signed POST to the subscriber, within the attempt's deadline; never raises for the receiver's faults.

    The host is resolved once for the attempt and the request goes to an address that was checked (the next one
    only if connecting failed), with the URL's host as `Host` and TLS server name. Each attempt has a connection
    pool of its own, so no connection verified for one host name carries a request for another."""
    if not claim.active:
        return Outcome(None, "subscription disabled")
    deadline = attempt_deadline(settings)
    try:
        with anyio.fail_after(deadline):
            try:
                target, addresses = await destination(claim.url, settings)
            except Refused as exc:
                return Outcome(None, str(exc))
            body = orjson.dumps(claim.payload)
            timestamp = int(time.time())
            headers = {
                "host": target.host_header,
                "content-type": "application/json",
                "webhook-id": str(claim.event_id),
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(claim.secret, str(claim.event_id), timestamp, body),
            }
            async with httpx.AsyncClient(
                verify=tls if tls is not None else True, follow_redirects=False, timeout=settings.webhook_timeout_seconds
            ) as client:
                for i, address in enumerate(addresses):
                    try:
                        response = await client.post(
                            target.url.copy_with(host=str(address)),
                            content=body,
                            headers=headers,
                            extensions={"sni_hostname": target.host},
                        )
                        break
                    except (httpx.ConnectError, httpx.ConnectTimeout):
                        if i == len(addresses) - 1:
                            raise
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500])
    except TimeoutError:
        return Outcome(None, f"no answer within {deadline:g} s")
    if not 200 <= response.status_code < 300:
        return Outcome(response.status_code, f"HTTP {response.status_code}")
    return Outcome(response.status_code, None)


async def record(db: Database, settings: Settings, claim: Claim, outcome: Outcome) -> None:
    """Store an attempt's outcome in a short unit of work of its own, unless the claim was lost meanwhile."""
    now = utcnow()
    values: dict[str, Any] = {"attempts": claim.attempts + 1, "last_status_code": outcome.status_code, "last_error": outcome.error,
                              "updated_at": now, "version": claim.version + 1}  # fmt: skip
    gone = outcome.status_code == 410
    if outcome.error is None:
        values.update(status=DeliveryStatus.succeeded.value, delivered_at=now, next_attempt_at=now)
    elif gone or not claim.active or now - claim.created_at > timedelta(hours=settings.webhook_retry_hours):
        values.update(status=DeliveryStatus.dead.value, next_attempt_at=now)
    else:
        values.update(next_attempt_at=now + backoff(claim.attempts + 1, settings))
    async with unit_of_work(db) as session:
        result = await session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == claim.id, col(WebhookDelivery.version) == claim.version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            log.warning("webhook_claim_lost", delivery=str(claim.id), error=outcome.error)  # redelivered or reclaimed meanwhile
            return
        if gone:
            await session.execute(
                update(WebhookSubscription)
                .where(col(WebhookSubscription.id) == claim.subscription_id)
                .values(active=False, disabled_reason="the receiver answered 410 Gone", updated_at=now,
                        version=col(WebhookSubscription.version) + 1)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
    log.info("webhook_attempt", delivery=str(claim.id), status=values.get("status", "pending"), http_status=outcome.status_code,
             error=outcome.error)  # fmt: skip
