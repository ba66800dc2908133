"""Keyset pagination on (created_at, id): stable while others write, no OFFSET scans."""

import base64
import uuid
from collections.abc import Sequence
from datetime import date, datetime
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


LAST_DAY = date(9999, 12, 31)  # where an undated row sorts by date: after every date


def sort_value(row: dict[str, Any], sort: str) -> Any:
    """The value a row is ordered by under `sort` (`created_at`, `ref`, `due_on`; `-` first for descending)."""
    field = sort.lstrip("-")
    value = row[field]
    return LAST_DAY if field.endswith("_on") and value is None else value


def encode_cursor(value: Any, id_: uuid.UUID, sort: str = "created_at") -> str:
    """The position after a row: its sort value and id (and, for another order than creation, which order)."""
    shown = value.isoformat() if isinstance(value, datetime | date) else value
    parts = [shown, str(id_)] if sort.lstrip("-") == "created_at" else [sort.lstrip("-"), shown, str(id_)]
    return base64.urlsafe_b64encode(orjson.dumps(parts)).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str = "created_at") -> tuple[Any, uuid.UUID]:
    """The sort value and id a cursor of this order holds; a 422 for anything the service did not issue for it."""
    field = sort.lstrip("-")
    try:
        raw = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if field == "created_at":
            created, ident = raw
            parsed = datetime.fromisoformat(created)
            if parsed.tzinfo is None:
                raise ValueError("naive")
            return moment_in_range(parsed), uuid.UUID(ident)
        name, value, ident = raw
        if name != field or not isinstance(value, str) or len(value) > 200 or "\x00" in value:
            raise ValueError("another order")
        return (date.fromisoformat(value) if field.endswith("_on") else value), uuid.UUID(ident)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise Unprocessable(
            "The cursor is not one this service issued for this order.", errors=[FieldError(pointer="/cursor", message="invalid cursor")]
        ) from exc


def keyset(sort_col: Any, id_col: Any, *, descending: bool, after_cursor: bool) -> tuple[ColumnElement[bool] | None, list[Any]]:
    """The WHERE clause after the cursor (bound as `after_value`, `after_id`) and the ORDER BY."""
    order = [sort_col.desc(), id_col.desc()] if descending else [sort_col.asc(), id_col.asc()]
    if not after_cursor:
        return None, order
    value, ident = bindparam("after_value", type_=sort_col.type), bindparam("after_id", type_=id_col.type)
    if descending:
        clause = or_(sort_col < value, and_(sort_col == value, id_col < ident))
    else:
        clause = or_(sort_col > value, and_(sort_col == value, id_col > ident))
    return clause, order


def page(items: Sequence[dict[str, Any]], limit: int, url: URL, sort: str = "created_at") -> tuple[dict[str, Any], dict[str, str]]:
    """The list envelope and its `Link` header; `items` holds up to `limit + 1` rows, in `sort` order."""
    headers: dict[str, str] = {}
    next_cursor = None
    visible = list(items[:limit])
    if len(items) > limit:
        last = visible[-1]
        next_cursor = encode_cursor(sort_value(last, sort), last["id"], sort)
        headers["Link"] = f'<{url.include_query_params(cursor=next_cursor)}>; rel="next"'
    return {"items": visible, "next_cursor": next_cursor}, headers
