"""Builds the five routes of a collection (list, create, read, merge-patch, delete) from its `Resource`.

Routers stay HTTP-only: they parse, call the service, and shape the response. Every route gets a
summary, description, clean operation id, documented problems and examples.
"""

import uuid
from enum import Enum
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, create_model
from starlette.datastructures import URL
from starlette.responses import Response

from app.core import crud
from app.core.auth import Actor
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import NotFound, UnsupportedMediaType, problems
from app.core.http import entity_response, json_response
from app.core.idempotency import REDACT_HEADER
from app.core.pagination import ListQuery, page
from app.core.permissions import allow, documented, roles_text
from app.core.resources import Resource
from app.core.uow import UnitOfWorkRoute

API_PREFIX = "/api/v1"
JSON_TYPES = ("application/json", "application/merge-patch+json")

IfMatch = Annotated[str | None, Header(description="The resource's current ETag (required).")]
IfNoneMatch = Annotated[str | None, Header(description="An ETag you hold; 304 when it is still current.")]


async def require_json(request: Request) -> None:
    """Bodies must be JSON objects; anything else is a 415 problem."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in JSON_TYPES and not (media.startswith("application/") and media.endswith("+json")):
        raise UnsupportedMediaType(f"Send the body as application/json (got {media or 'no Content-Type'}).")


JsonBody = Depends(require_json)


def api_router() -> APIRouter:
    """A router of the API: every route runs in the request's unit of work (`app.core.uow`)."""
    return APIRouter(prefix=API_PREFIX, route_class=UnitOfWorkRoute)


def page_model(read: type[BaseModel]) -> type[BaseModel]:
    name = read.__name__.removesuffix("Read") + "Page"
    return create_model(name, items=(list[read], ...), next_cursor=(str | None, None))  # type: ignore[valid-type]


def public_base(request: Request) -> str:
    base: str = request.app.state.settings.public_base_url.rstrip("/")
    return base or str(request.base_url).rstrip("/")


def next_link(request: Request, *, drop: tuple[str, ...] = (), **params: str) -> str:
    """`Link: <...>; rel="next"` for this request with the given query parameters replaced."""
    url = request.url.remove_query_params(list(drop)).include_query_params(**params)
    return f'<{public_base(request)}{url.path}?{url.query}>; rel="next"'


def location(request: Request, path: str, entity_id: uuid.UUID) -> str:
    return f"{public_base(request)}{API_PREFIX}/{path}/{entity_id}"


def ok(model: type[BaseModel], description: str, example: Any = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"model": model, "description": description}
    if example is not None:
        entry["content"] = {"application/json": {"example": example}}
    return entry


def created_response(request: Request, res: Resource, payload: dict[str, Any]) -> Response:
    return entity_response(payload, status=201, headers={"Location": location(request, res.path, payload["id"])})


def created_with_secret(request: Request, res: Resource, payload: dict[str, Any], field: str, secret: str) -> Response:
    """201 for a resource whose secret is shown this once: never stored for an Idempotency-Key replay."""
    response = created_response(request, res, {**payload, field: secret})
    response.headers[REDACT_HEADER] = field
    return response


async def read_one(db: Any, actor: Actor, res: Resource, entity_id: uuid.UUID) -> dict[str, Any]:
    assert res.reader is not None
    async with db.read() as reads:
        row = await res.reader.get(reads, actor, entity_id)
    if row is None:
        raise NotFound(f"No {res.entity} with id {entity_id}.")
    return res.present(row, actor)


def add_resource_routes(router: APIRouter, res: Resource) -> None:
    """Adds the collection's routes to `router` (flat: nested routers cost a match per level)."""
    tags: list[str | Enum] = [res.tag]
    plural = res.path.replace("-", " ")
    noun = res.entity.replace("_", " ")
    read_example = res.read.model_config.get("json_schema_extra", {}).get("example")  # type: ignore[union-attr]
    Query_ = res.query
    Create = res.create
    access = res.access
    Reader = Annotated[Actor, Depends(allow(access.read))]
    Creator = Annotated[Actor, Depends(allow(access.create))]

    @router.get(
        f"/{res.path}",
        summary=f"List {plural}",
        description=f'{res.description}\n\nKeyset-paginated (`limit`, `cursor`, `Link: rel="next"`); '
        "filters are query parameters named after fields, and unknown parameters are rejected with 422." + roles_text(access.read),
        tags=tags,
        operation_id=f"{res.path}-list",
        response_class=Response,
        responses={200: ok(page_model(res.read), f"A page of {plural}."), **problems(400)},
        openapi_extra=documented(access.read),
    )
    async def list_items(request: Request, query: Annotated[Query_, Query()], db: DatabaseDep, actor: Reader) -> Response:  # type: ignore[valid-type]
        assert res.reader is not None
        async with db.read() as reads:
            rows = [res.present(row, actor) for row in await res.reader.list(reads, actor, query)]
        url = URL(public_base(request) + request.url.path + "?" + request.url.query)
        body, headers = page(rows, cast(ListQuery, query).limit, url)
        return json_response(body, headers=headers)

    @router.get(
        f"/{res.path}/{{id}}",
        summary=f"Read one {noun}",
        description=f"The {noun} with its current `ETag`; send `If-None-Match` to get 304 when unchanged." + roles_text(access.read),
        tags=tags,
        operation_id=f"{res.path}-get",
        response_class=Response,
        responses={200: ok(res.read, f"The {noun}.", read_example), 304: {"description": "Not modified."}, **problems(404)},
        openapi_extra=documented(access.read),
    )
    async def get_item(id: uuid.UUID, db: DatabaseDep, actor: Reader, if_none_match: IfNoneMatch = None) -> Response:
        return entity_response(await read_one(db, actor, res, id), if_none_match=if_none_match)

    if "create" in res.operations:

        @router.post(
            f"/{res.path}",
            summary=f"Create a {noun}",
            description=f"Creates a {noun}: 201 with `Location`, `ETag` and the new representation. "
            "Send `Idempotency-Key` to make retries safe." + roles_text(access.create),
            tags=tags,
            operation_id=f"{res.path}-create",
            status_code=201,
            response_class=Response,
            dependencies=[JsonBody],
            responses={201: ok(res.read, f"The new {noun}.", read_example), **problems(400, 409, 415)},
            openapi_extra={"requestBody": {"content": {"application/json": {"example": res.create_example}}}, **documented(access.create)},
        )
        async def create_item(request: Request, data: Create, session: SessionDep, db: DatabaseDep, actor: Creator) -> Response:  # type: ignore[valid-type]
            row = await crud.create(session, actor=actor, res=res, data=data)
            return created_response(request, res, await read_one(db, actor, res, row["id"]))

    if "update" in res.operations:
        assert res.update is not None
        Update = res.update
        Updater = Annotated[Actor, Depends(allow(access.update))]

        @router.patch(
            f"/{res.path}/{{id}}",
            summary=f"Change a {noun}",
            description="JSON Merge Patch (RFC 7396): a field absent keeps its value, `null` clears an optional field. "
            "Requires `If-Match` with the current ETag (428 without, 412 when stale). Read-only and unknown fields are rejected."
            + roles_text(access.update),
            tags=tags,
            operation_id=f"{res.path}-update",
            response_class=Response,
            dependencies=[JsonBody],
            responses={200: ok(res.read, f"The changed {noun}.", read_example), **problems(400, 404, 409, 412, 415, 428)},
            openapi_extra={
                "requestBody": {
                    "content": {
                        "application/merge-patch+json": {
                            "schema": {"$ref": f"#/components/schemas/{Update.__name__}"},
                            "example": res.update_example,
                        },
                        "application/json": {"example": res.update_example},
                    }
                },
                **documented(access.update),
            },
        )
        async def update_item(
            id: uuid.UUID,
            data: Update,  # type: ignore[valid-type]
            session: SessionDep,
            db: DatabaseDep,
            actor: Updater,
            if_match: IfMatch = None,
        ) -> Response:
            await crud.patch(session, actor=actor, res=res, entity_id=id, data=data, if_match=if_match)
            return entity_response(await read_one(db, actor, res, id))

    if "delete" in res.operations:
        Deleter = Annotated[Actor, Depends(allow(access.delete))]

        @router.delete(
            f"/{res.path}/{{id}}",
            summary=f"Delete a {noun}",
            description="Requires `If-Match`. A resource that others still reference cannot be deleted (409)." + roles_text(access.delete),
            tags=tags,
            operation_id=f"{res.path}-delete",
            status_code=204,
            response_class=Response,
            responses={204: {"description": "Deleted."}, **problems(404, 409, 412, 428)},
            openapi_extra=documented(access.delete),
        )
        async def delete_item(id: uuid.UUID, session: SessionDep, actor: Deleter, if_match: IfMatch = None) -> Response:
            await crud.remove(session, actor=actor, res=res, entity_id=id, if_match=if_match)
            return Response(status_code=204)
