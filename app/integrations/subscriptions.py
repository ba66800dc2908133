"""`/webhook-subscriptions` (admin): who hears about which changes, and the log of what was sent."""

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from pydantic import ConfigDict, Field, StringConstraints
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.responses import Response

from app.core import audit, crud
from app.core import changes as feed
from app.core.auth import Actor
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import NotFound, problems
from app.core.http import entity_response, json_response
from app.core.pagination import ListQuery
from app.core.permissions import ADMIN, Access, allow, documented, roles_text
from app.core.resources import Ref, Resource, Row, Rules
from app.core.routing import IfMatch, JsonBody, add_resource_routes, api_router, created_with_secret, ok, read_one
from app.core.schemas import Body, EntityRead
from app.integrations.webhooks import new_secret, require_destination
from app.models import Change, Partnership, WebhookDelivery, WebhookSubscription, utcnow
from app.models.enums import DeliveryStatus

EventType = Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=60)]
EXAMPLE: dict[str, Any] = {
    "url": "https://integration.wessexvale.gov.example/wsoa/webhooks",
    "event_types": ["action.updated", "person.left"],
}


class SubscriptionCreate(Body):
    partnership_id: uuid.UUID | None = Field(
        None, description="Events of this partnership only (omit: every partnership, for a national admin)."
    )
    url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://\S+$")]
    event_types: list[EventType] = Field(
        default_factory=list, max_length=50, description="e.g. `action.updated`, `progress_update.created`, `person.left`; empty: all."
    )
    active: bool = True


class SubscriptionRead(EntityRead):
    model_config = ConfigDict(json_schema_extra={"example": {"id": "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9", "created_at": "2026-11-01T09:00:00Z",
                                                              "updated_at": "2026-11-01T09:00:00Z", "version": 1, "partnership_id": None, **EXAMPLE,
                                                              "active": True, "disabled_reason": None}})  # fmt: skip
    partnership_id: uuid.UUID | None
    url: str
    event_types: list[str]
    active: bool
    disabled_reason: str | None


class SubscriptionCreated(SubscriptionRead):
    secret: str = Field(description="`whsec_…`: verify signatures with it. Shown in this response only.")


class DeliveryRead(EntityRead):
    subscription_id: uuid.UUID
    event_id: uuid.UUID = Field(description="The `webhook-id` header: the same on every attempt, so receivers can deduplicate.")
    event_type: str
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: Any
    last_status_code: int | None
    last_error: str | None
    delivered_at: Any


class DeliveryPage(Body):
    items: list[DeliveryRead]
    next_cursor: str | None


class SubscriptionQuery(ListQuery):
    active: bool | None = None


class SubscriptionUpdate(Body):
    """Merge patch for a subscription."""

    url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://\S+$")] | None = None
    event_types: list[EventType] | None = Field(None, max_length=50)
    active: bool | None = None


class SubscriptionRules(Rules):
    """Reactivating a subscription clears why it was disabled, in the same change."""

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        if changes.get("active") is True:
            changes["disabled_reason"] = None


subscriptions = Resource(
    path="webhook-subscriptions",
    entity="webhook_subscription",
    tag="webhooks",
    table=WebhookSubscription,
    create=SubscriptionCreate,
    update=SubscriptionUpdate,
    read=SubscriptionRead,
    query=SubscriptionQuery,
    parents=(Ref("partnership_id", Partnership, "partnership"),),
    access=Access(read=ADMIN),
    operations=frozenset({"list", "get", "delete"}),
    hidden=frozenset({"secret", "change_cursor"}),  # the worker's bookkeeping is no part of the subscription
    rules=SubscriptionRules(),
    description="Systems told about changes as they happen, signed per Standard Webhooks.",
    create_example=EXAMPLE,
)

# A new subscription hears of changes committed after it: its cursor starts at the feed's end.
FEED_END = select(func.coalesce(func.max(col(Change.seq)), 0)).scalar_subquery()

router = api_router()
add_resource_routes(router, subscriptions)
Admin = Annotated[Actor, Depends(allow(ADMIN))]


@router.post(
    "/webhook-subscriptions",
    summary="Subscribe to webhooks",
    description="Creates a subscription and answers with its signing secret, shown this once. The URL's host must not "
    "resolve to a loopback, link-local, private, shared (100.64.0.0/10), reserved or multicast address, nor to an IPv6 "
    "form embedding one (mapped, 6to4, Teredo, NAT64); every delivery resolves the name again, checks every address and "
    "connects to a checked one." + roles_text(ADMIN),
    tags=["webhooks"],
    operation_id="webhook-subscriptions-create",
    status_code=201,
    response_class=Response,
    dependencies=[JsonBody],
    responses={201: ok(SubscriptionCreated, "The subscription and its secret."), **problems(400, 415)},
    openapi_extra={"requestBody": {"content": {"application/json": {"example": EXAMPLE}}}, **documented(ADMIN)},
)
async def create_subscription(request: Request, data: SubscriptionCreate, session: SessionDep, db: DatabaseDep, actor: Admin) -> Response:
    await require_destination(data.url, request.app.state.settings)
    partnership_id = data.partnership_id if data.partnership_id is not None else actor.partnership_id
    if partnership_id is not None:
        await crud.load_parent(session, actor, subscriptions.parents[0], partnership_id)
    secret = new_secret()
    row = WebhookSubscription(partnership_id=partnership_id, url=data.url, event_types=data.event_types, active=data.active, secret=secret,
                              change_cursor=FEED_END)  # type: ignore[arg-type]  # fmt: skip
    session.add(row)
    await session.flush()
    feed.record(session, [feed.Changed(subscriptions.entity, row.id, "create", 1, partnership_id)])
    changes: dict[str, list[Any]] = {"url": [None, data.url], "event_types": [None, data.event_types], "active": [None, data.active]}
    audit.record(
        session,
        actor=actor,
        action="create",
        entity_type=subscriptions.entity,
        entity_id=row.id,
        partnership_id=partnership_id,
        changes=changes,
    )
    return created_with_secret(request, subscriptions, await read_one(db, actor, subscriptions, row.id), "secret", secret)


@router.patch(
    "/webhook-subscriptions/{id}",
    summary="Change a webhook subscription",
    description="JSON Merge Patch with `If-Match`; a new URL is checked like a new subscription's. Reactivate a "
    "subscription that a `410 Gone` disabled by setting `active: true`." + roles_text(ADMIN),
    tags=["webhooks"],
    operation_id="webhook-subscriptions-update",
    response_class=Response,
    dependencies=[JsonBody],
    responses={200: ok(SubscriptionRead, "The subscription."), **problems(400, 404, 409, 412, 415, 428)},
    openapi_extra={"requestBody": {"content": {"application/merge-patch+json": {"example": {"active": True}}}}, **documented(ADMIN)},
)
async def update_subscription(
    request: Request,
    id: uuid.UUID,
    data: SubscriptionUpdate,
    session: SessionDep,
    db: DatabaseDep,
    actor: Admin,
    if_match: IfMatch = None,
) -> Response:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("url"):
        await require_destination(changes["url"], request.app.state.settings)
    await crud.patch(session, actor=actor, res=subscriptions, entity_id=id, data=data, if_match=if_match)
    return entity_response(await read_one(db, actor, subscriptions, id))


@router.get(
    "/webhook-subscriptions/{id}/deliveries",
    summary="Delivery log of a subscription",
    description="Every event queued for the subscription, newest first, with attempts, last status and error." + roles_text(ADMIN),
    tags=["webhooks"],
    operation_id="webhook-deliveries-list",
    response_class=Response,
    responses={200: ok(DeliveryPage, "Deliveries."), **problems(404)},
    openapi_extra=documented(ADMIN),
)
async def list_deliveries(
    id: uuid.UUID, session: SessionDep, db: DatabaseDep, actor: Admin, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> Response:
    await read_one(db, actor, subscriptions, id)
    rows = await session.execute(
        select(*WebhookDelivery.__table__.columns)  # type: ignore[attr-defined]
        .where(col(WebhookDelivery.subscription_id) == id)
        .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc())
        .limit(limit)
    )
    return json_response({"items": [dict(r._mapping) for r in rows], "next_cursor": None})


@router.post(
    "/webhook-deliveries/{id}/redeliver",
    summary="Send a delivery again",
    description="Queues the delivery for another attempt now (same `webhook-id`), whatever its state." + roles_text(ADMIN),
    tags=["webhooks"],
    operation_id="webhook-deliveries-redeliver",
    response_class=Response,
    responses={200: {"description": "Queued again."}, **problems(404)},
    openapi_extra=documented(ADMIN),
)
async def redeliver(id: uuid.UUID, session: SessionDep, db: DatabaseDep, actor: Admin) -> Response:
    delivery = (await session.execute(select(WebhookDelivery).where(col(WebhookDelivery.id) == id))).scalar_one_or_none()
    if delivery is None or (actor.partnership_id is not None and delivery.partnership_id != actor.partnership_id):
        raise NotFound(f"No webhook delivery with id {id}.")
    now = utcnow()
    await session.execute(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.id) == id)
        .values(
            status=DeliveryStatus.pending.value,
            next_attempt_at=now,
            updated_at=now,
            version=col(WebhookDelivery.version) + 1,
        )
    )
    audit.record(session, actor=actor, action="update", entity_type="webhook_delivery", entity_id=id, partnership_id=delivery.partnership_id,
                       changes={"status": [delivery.status, "pending"]})  # fmt: skip
    return json_response({"id": str(id), "status": "pending"})
