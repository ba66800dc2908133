"""Admin API for keys: list, read, create (token shown once), revoke."""

import uuid
from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from app.apikeys import schemas as s
from app.apikeys import service
from app.core.auth import Actor
from app.core.crud import locked_current
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import problems
from app.core.permissions import ADMIN, Access, allow, documented, roles_text
from app.core.resources import Resource
from app.core.routing import IfMatch, JsonBody, add_resource_routes, api_router, created_with_secret, ok, read_one
from app.models import ApiKey

api_keys = Resource(
    path="api-keys",
    entity="api_key",
    tag="api keys",
    table=ApiKey,
    create=s.ApiKeyCreate,
    update=None,
    read=s.ApiKeyRead,
    query=s.ApiKeyQuery,
    access=Access(read=ADMIN),
    operations=frozenset({"list", "get"}),
    hidden=frozenset({"token_hash"}),
    description="Bearer tokens for systems and people. A national key sees every partnership; others see one.",
    create_example={
        "name": "HR nightly sync",
        "role": "hr_integration",
        "partnership_id": s.KEY_EXAMPLE["partnership_id"],
        "expires_on": "2027-10-31",
    },
)

router = api_router()
add_resource_routes(router, api_keys)
AdminActor = Annotated[Actor, Depends(allow(ADMIN))]


@router.post(
    "/api-keys",
    summary="Create an API key",
    description="Creates a key and answers with its token, shown this once; only a hash is kept. A partnership's admin "
    "creates keys for that partnership only. A replay of this request (same `Idempotency-Key`) never shows the token again."
    + roles_text(ADMIN),
    tags=["api keys"],
    operation_id="api-keys-create",
    status_code=201,
    response_class=Response,
    dependencies=[JsonBody],
    responses={201: ok(s.ApiKeyCreated, "The new key and its token."), **problems(400, 415)},
    openapi_extra={"requestBody": {"content": {"application/json": {"example": api_keys.create_example}}}, **documented(ADMIN)},
)
async def create_api_key(request: Request, data: s.ApiKeyCreate, session: SessionDep, db: DatabaseDep, actor: AdminActor) -> Response:
    key, token = await service.create_key(session, actor=actor, **data.model_dump())
    return created_with_secret(request, api_keys, await read_one(db, actor, api_keys, key.id), "token", token)


@router.delete(
    "/api-keys/{id}",
    summary="Revoke an API key",
    description="Revokes the key (it stays listed, with `revoked_at`). Requires `If-Match`." + roles_text(ADMIN),
    tags=["api keys"],
    operation_id="api-keys-delete",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "Revoked."}, **problems(404, 412, 428)},
    openapi_extra=documented(ADMIN),
)
async def revoke_api_key(id: uuid.UUID, session: SessionDep, actor: AdminActor, if_match: IfMatch = None) -> Response:
    await locked_current(session, actor, api_keys, id, if_match)
    await service.revoke(session, actor=actor, key_id=id)
    return Response(status_code=204)
