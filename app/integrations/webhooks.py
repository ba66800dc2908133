"""Webhook deliveries: Standard Webhooks signatures, outbound address checks, at-least-once sending.

Each delivery carries `webhook-id` (the event id, the same for every attempt), `webhook-timestamp` and
`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the subscription's secret
(https://www.standardwebhooks.com). Workers claim due deliveries with `FOR UPDATE SKIP LOCKED` on
PostgreSQL, so several can share the outbox without sending one event twice at the same time; a failure
is retried with exponential backoff and full jitter until `WSOA_WEBHOOK_RETRY_HOURS` have passed; a
`410 Gone` disables the subscription.
"""

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
import socket
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import orjson
import structlog
from sqlalchemy import select, update
from sqlmodel import col

from app.core.config import Settings
from app.core.db import Database
from app.core.errors import FieldError, Unprocessable
from app.models import WebhookDelivery, WebhookSubscription, utcnow
from app.models.enums import DeliveryStatus

log = structlog.get_logger("wsoa.webhooks")
BACKOFF_CAP = timedelta(hours=1)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _refused(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_multicast or ip.is_unspecified or ip.is_reserved


async def check_destination(url: str, settings: Settings) -> str | None:
    """Why the URL may not receive webhooks (None: it may). Loopback, link-local, private and multicast
    addresses are refused unless `WSOA_WEBHOOK_ALLOW_PRIVATE` is set (tests, internal deployments)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "the URL must be http(s) with a host"
    if settings.webhook_allow_private:
        return None
    try:
        infos = await anyio.to_thread.run_sync(lambda: socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP))
    except (OSError, UnicodeError, ValueError):
        return "the host does not resolve"
    if any(_refused(str(info[4][0])) for info in infos):
        return "the host resolves to a loopback, link-local, private or multicast address"
    return None


async def require_destination(url: str, settings: Settings) -> None:
    problem = await check_destination(url, settings)
    if problem is not None:
        raise Unprocessable(f"Webhooks cannot be sent there: {problem}.", errors=[FieldError(pointer="/url", message=problem)])


def backoff(attempts: int, settings: Settings) -> timedelta:
    """Exponential with full jitter: somewhere in [base·2^(n-1) / 2, base·2^(n-1)], at most an hour."""
    ceiling = min(BACKOFF_CAP.total_seconds(), settings.webhook_backoff_base_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=ceiling * random.uniform(0.5, 1.0))


async def deliver_due(db: Database, settings: Settings, *, batch: int = 20) -> int:
    """Claim and send up to `batch` due deliveries; returns how many were attempted."""
    async with db.sessions() as session:
        now = utcnow()
        claimed = (
            await session.execute(
                select(WebhookDelivery, WebhookSubscription)
                .join(WebhookSubscription, col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id))
                .where(col(WebhookDelivery.status) == DeliveryStatus.pending.value, col(WebhookDelivery.next_attempt_at) <= now)
                .order_by(col(WebhookDelivery.next_attempt_at))
                .limit(batch)
                .with_for_update(skip_locked=True, of=WebhookDelivery)
            )
        ).all()
        async with httpx.AsyncClient(follow_redirects=False, timeout=settings.webhook_timeout_seconds) as client:
            for delivery, subscription in claimed:
                await _attempt(session, client, settings, delivery, subscription)
        await session.commit()
        return len(claimed)


async def _attempt(
    session: Any, client: httpx.AsyncClient, settings: Settings, delivery: WebhookDelivery, subscription: WebhookSubscription
) -> None:
    now = utcnow()
    values: dict[str, Any] = {"attempts": delivery.attempts + 1, "updated_at": now, "version": delivery.version + 1}
    status_code: int | None = None
    error: str | None = None
    if not subscription.active:
        error = "subscription disabled"
    else:
        error = await check_destination(subscription.url, settings)
    if error is None:
        body = orjson.dumps(delivery.payload)
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": str(delivery.event_id),
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(subscription.secret, str(delivery.event_id), timestamp, body),
        }
        try:
            response = await client.post(subscription.url, content=body, headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
    values.update(last_status_code=status_code, last_error=error)
    if error is None:
        values.update(status=DeliveryStatus.succeeded.value, delivered_at=now)
    elif status_code == 410:
        values.update(status=DeliveryStatus.dead.value)
        await session.execute(
            update(WebhookSubscription)
            .where(col(WebhookSubscription.id) == subscription.id)
            .values(
                active=False, disabled_reason="the receiver answered 410 Gone", updated_at=now, version=col(WebhookSubscription.version) + 1
            )
        )
    elif now - delivery.created_at > timedelta(hours=settings.webhook_retry_hours) or not subscription.active:
        values.update(status=DeliveryStatus.dead.value)
    else:
        values.update(next_attempt_at=now + backoff(delivery.attempts + 1, settings))
    await session.execute(update(WebhookDelivery).where(col(WebhookDelivery.id) == delivery.id).values(**values))
    log.info("webhook_attempt", delivery=str(delivery.id), status=values.get("status", "pending"), http_status=status_code, error=error)
