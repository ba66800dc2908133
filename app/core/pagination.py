"""Keyset pagination on (created_at, id): stable while others write, no OFFSET scans."""

import base64
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import Field, field_validator
from sqlalchemy import ColumnElement, and_, bindparam, or_
from starlette.datastructures import URL

from app.core.errors import FieldError, Unprocessable
from app.core.schemas import QueryParams, moment_in_range


class ListQuery(QueryParams):
    """Query parameters every list accepts; subclasses add field filters. Unknown parameters → 422."""

    limit: int = Field(50, ge=1, le=200, description="Page size, 1 to 200.")
    cursor: str | None = Field(None, max_length=200, description="Opaque cursor from `next_cursor` of the previous page.")
    sort: Literal["created_at", "-created_at"] = Field("created_at", description="Order: oldest first (default) or newest first.")
    updated_since: datetime | None = Field(None, description="Only items changed at or after this RFC 3339 timestamp.")

    @field_validator("updated_since")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-01-31T09:00:00Z")
        return None if value is None else moment_in_range(value)


def encode_cursor(created_at: datetime, id_: uuid.UUID) -> str:
    raw = orjson.dumps([created_at.isoformat(), str(id_)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, ident = orjson.loads(raw)
        parsed = datetime.fromisoformat(created)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return moment_in_range(parsed), uuid.UUID(ident)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise Unprocessable(
            "The cursor is not one this service issued.", errors=[FieldError(pointer="/cursor", message="invalid cursor")]
        ) from exc


def keyset(created_col: Any, id_col: Any, *, descending: bool, after_cursor: bool) -> tuple[ColumnElement[bool] | None, list[Any]]:
    """The WHERE clause after the cursor (bound as `after_created`, `after_id`) and the ORDER BY."""
    order = [created_col.desc(), id_col.desc()] if descending else [created_col.asc(), id_col.asc()]
    if not after_cursor:
        return None, order
    created, ident = bindparam("after_created", type_=created_col.type), bindparam("after_id", type_=id_col.type)
    if descending:
        clause = or_(created_col < created, and_(created_col == created, id_col < ident))
    else:
        clause = or_(created_col > created, and_(created_col == created, id_col > ident))
    return clause, order


def page(items: Sequence[dict[str, Any]], limit: int, url: URL) -> tuple[dict[str, Any], dict[str, str]]:
    """The list envelope and its `Link` header; `items` holds up to `limit + 1` rows."""
    headers: dict[str, str] = {}
    next_cursor = None
    visible = list(items[:limit])
    if len(items) > limit:
        last = visible[-1]
        next_cursor = encode_cursor(last["created_at"], last["id"])
        headers["Link"] = f'<{url.include_query_params(cursor=next_cursor)}>; rel="next"'
    return {"items": visible, "next_cursor": next_cursor}, headers
