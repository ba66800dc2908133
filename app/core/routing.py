"""Builds the five routes of a collection (list, create, read, merge-patch, delete) from its `Resource`.

Routers stay HTTP-only: they parse, call the service, and shape the response. Every route gets a
summary, description, clean operation id, documented problems and examples. `ApiRoute`, the route class
of every API router, refuses a query parameter the route does not declare (422) before anything runs.
"""

import uuid
from collections.abc import Callable, Coroutine, Iterator
from enum import Enum
from typing import Annotated, Any, cast, get_args, get_origin

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import AliasChoices, BaseModel, create_model
from pydantic.fields import FieldInfo
from starlette.datastructures import URL
from starlette.responses import Response

from app.core import crud
from app.core.auth import Actor
from app.core.db import DatabaseDep, SessionDep
from app.core.errors import FieldError, NotFound, Unprocessable, UnsupportedMediaType, pointer_from_loc, problems
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


def _request_names(name: str, info: FieldInfo, *, by_name: bool) -> set[str]:
    """The query-string keys a parameter (or a field of a query model) is read from."""
    names = {info.alias or name}
    if isinstance(info.validation_alias, str):
        names.add(info.validation_alias)
    elif isinstance(info.validation_alias, AliasChoices):
        names |= {choice for choice in info.validation_alias.choices if isinstance(choice, str)}
    if by_name:
        names.add(name)
    return names


def _fields(dependant: Dependant) -> Iterator[tuple[str, FieldInfo, bool]]:
    """Every query field a route reads (its own, its dependencies', its query models'), with whether it may be named by
    its field name besides its alias."""
    pending = [dependant]
    while pending:
        current = pending.pop()
        pending.extend(current.dependencies)
        for param in current.query_params:
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                config = annotation.model_config
                by_name = bool(config.get("validate_by_name") or config.get("populate_by_name"))
                for field_name, info in annotation.model_fields.items():
                    yield field_name, info, by_name
            else:
                yield param.name, param.field_info, False


def declared_query_parameters(dependant: Dependant) -> frozenset[str]:
    """Every query parameter a route reads: its own, its dependencies', and the fields of its query models."""
    return frozenset(n for name, info, by_name in _fields(dependant) for n in _request_names(name, info, by_name=by_name))


def repeatable_query_parameters(dependant: Dependant) -> frozenset[str]:
    """The query parameters that take several values (`?status=a&status=b`): the list-typed ones."""
    found: set[str] = set()
    for name, info, by_name in _fields(dependant):
        if any(get_origin(t) is list for t in (info.annotation, *get_args(info.annotation))):
            found |= _request_names(name, info, by_name=by_name)
    return frozenset(found)


def refuse_repeated_query_parameters(request: Request, repeatable: frozenset[str]) -> None:
    """A parameter that takes one value, given twice, is a 422: the service never picks one silently."""
    repeated = [
        key for key in dict.fromkeys(request.query_params.keys()) if key not in repeatable and len(request.query_params.getlist(key)) > 1
    ]
    if repeated:
        shown = [key[:100] for key in repeated[:20]]
        raise Unprocessable(
            f"Given more than once: {', '.join(shown)}. Each takes one value.",
            errors=[FieldError(pointer=pointer_from_loc(("query", key)), message="given more than once") for key in shown],
        )


def refuse_unknown_query_parameters(request: Request, declared: frozenset[str]) -> None:
    """A query parameter the operation does not read is a 422 naming it, never silently ignored: a guessed
    `?dry_run=true` must not run the real write."""
    unknown = [key for key in dict.fromkeys(request.query_params.keys()) if key not in declared]
    if not unknown:
        return
    shown = [key[:100] for key in unknown[:20]]
    accepted = ", ".join(f"`{n}`" for n in sorted(declared)) or "none"
    raise Unprocessable(
        f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(shown)}. This operation's query parameters: {accepted}.",
        errors=[FieldError(pointer=pointer_from_loc(("query", key)), message="Unknown query parameter") for key in shown],
    )


class KnownQueryRoute(APIRoute):
    """A route that refuses, with 422 and before anything else runs, a query parameter it does not declare, or one
    that takes a single value given more than once."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        declared = declared_query_parameters(self.dependant)
        repeatable = repeatable_query_parameters(self.dependant)

        async def run(request: Request) -> Response:
            refuse_unknown_query_parameters(request, declared)
            refuse_repeated_query_parameters(request, repeatable)
            return await handler(request)

        return run


class ApiRoute(KnownQueryRoute, UnitOfWorkRoute):
    """A route of the API: unknown query parameters are refused before anything else runs (no authentication,
    no transaction, no write), then the unit of work runs it."""


def api_router() -> APIRouter:
    """A router of the API: unknown query parameters are refused, and every route runs in the request's unit
    of work (`app.core.uow`)."""
    return APIRouter(prefix=API_PREFIX, route_class=ApiRoute)


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
    noun = res.entity.replace("_", " ") + (" record" if res.entity == "evidence" else "")
    a = "an" if noun[0] in "aeiou" else "a"
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
    async def list_items(
        request: Request,
        query: Annotated[Query_, Query()],  # type: ignore[valid-type]
        db: DatabaseDep,
        session: SessionDep,
        actor: Reader,
    ) -> Response:
        assert res.reader is not None
        async with db.read() as reads:
            rows = [res.present(row, actor) for row in await res.reader.list(reads, actor, query)]
        url = URL(public_base(request) + request.url.path + "?" + request.url.query)
        body, headers = page(rows, cast(ListQuery, query).limit, url, cast(ListQuery, query).sort)
        res.audit_reads(session, actor, body["items"])
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
    async def get_item(id: uuid.UUID, db: DatabaseDep, session: SessionDep, actor: Reader, if_none_match: IfNoneMatch = None) -> Response:
        row = await read_one(db, actor, res, id)
        response = entity_response(row, if_none_match=if_none_match)
        if response.status_code == 200:  # a 304 discloses nothing the caller does not hold
            res.audit_reads(session, actor, [row])
        return response

    if "create" in res.operations:

        @router.post(
            f"/{res.path}",
            summary=f"Create {a} {noun}",
            description=f"Creates {a} {noun}: 201 with `Location`, `ETag` and the new representation. "
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
            summary=f"Change {a} {noun}",
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
            summary=f"Delete {a} {noun}",
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
