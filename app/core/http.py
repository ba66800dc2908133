"""HTTP conventions shared by every route: JSON bodies, ETags and conditional requests."""

import hashlib
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response

from app.core.errors import PreconditionFailed, PreconditionRequired

JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def _default(value: Any) -> Any:
    # asyncpg hands back its own UUID subclass, which orjson only knows by exact type.
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(payload: Any) -> bytes:
    return orjson.dumps(payload, default=_default, option=JSON_OPTIONS)


def json_response(payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json", headers=dict(headers or {}))


def etag_for(body: bytes, version: int) -> str:
    """A strong ETag: the version, plus a digest of the representation.

    The digest makes the tag change when derived fields (RAG, overdue, the owner's status) change
    although the stored row did not, so `If-None-Match` never serves a stale RAG.
    """
    return f'"{version}-{hashlib.blake2b(body, digest_size=6).hexdigest()}"'


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def not_modified(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = _tags(if_none_match)
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def require_match(if_match: str | None, etag: str) -> None:
    """PATCH and DELETE must name the representation they change (RFC 9110 §13.1.1)."""
    if not if_match:
        raise PreconditionRequired("This request must carry If-Match with the resource's current ETag.")
    tags = _tags(if_match)
    if "*" in tags or etag in tags:
        return
    raise PreconditionFailed("The resource has changed since you read it; fetch it again and retry with the new ETag.")


def entity_response(
    payload: dict[str, Any], *, status: int = 200, if_none_match: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    body = dumps(payload)
    etag = etag_for(body, int(payload["version"]))
    out = {"ETag": etag, **(headers or {})}
    if status == 200 and not_modified(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    return Response(body, status_code=status, media_type="application/json", headers=out)
