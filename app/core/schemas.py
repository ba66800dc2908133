"""Building blocks for request and response models."""

import copy
import functools
import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, cast, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, create_model, model_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _no_repeats(ids: list[uuid.UUID] | None) -> list[uuid.UUID] | None:
    if ids is not None and len(set(ids)) != len(ids):
        raise ValueError("must not repeat an id")
    return ids


# A link list (`concern_ids`): each id once.
LinkIds = Annotated[list[uuid.UUID], AfterValidator(_no_repeats)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-_/]*$")]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
# Dates of a plan and its inspection: a typing slip (9999-12-31, 0001-01-01) would paint an action green.
EARLIEST_PLAN_DATE, LATEST_PLAN_DATE = date(2000, 1, 1), date(2099, 12, 31)


def touched(info: ValidationInfo, *names: str) -> bool:
    """Whether a rule on `names` applies: always on create; on a merge patch only when it sets one of them
    (`app.core.crud.validate_merged` passes the patched fields as context)."""
    patched = (info.context or {}).get("patched")
    return patched is None or any(name in patched for name in names)


def in_range(value: date) -> None:
    if not EARLIEST_PLAN_DATE <= value <= LATEST_PLAN_DATE:
        raise ValueError(f"must be between {EARLIEST_PLAN_DATE} and {LATEST_PLAN_DATE}")


def plan_date(value: date | None, info: ValidationInfo) -> date | None:
    """A field validator for the dates of inspections, plans, actions, milestones and measures."""
    if value is not None and touched(info, info.field_name or ""):
        in_range(value)
    return value


NUMBER = re.compile(r"\s*[+-]?\d+(\.\d*)?\s*")


def _temporal(annotation: Any) -> bool:
    if isinstance(annotation, type):
        return issubclass(annotation, date)  # datetime too
    return any(_temporal(arg) for arg in get_args(annotation))


@functools.cache
def temporal_fields(cls: type[BaseModel]) -> frozenset[str]:
    return frozenset(info.alias or name for name, info in cls.model_fields.items() if _temporal(info.annotation))


def reject_numeric_dates(cls: type[BaseModel], data: Any) -> Any:
    """Dates and timestamps are ISO 8601 text: a number (which pydantic would read as seconds since 1970) is refused."""
    if isinstance(data, dict):
        for name in temporal_fields(cls):
            value = data.get(name)
            if (isinstance(value, int | float) and not isinstance(value, bool)) or (isinstance(value, str) and NUMBER.fullmatch(value)):
                raise ValueError(f"{name} must be an ISO 8601 date (YYYY-MM-DD) or timestamp, not a number")
    return data


def _has_nul(value: Any) -> bool:
    """Whether any text in a JSON value holds NUL; iterative, so a deeply nested body cannot exhaust the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


# Timestamps a client sends (filters, cursors) stay within what both databases hold, in any offset.
EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(9998, 12, 31, tzinfo=UTC)
MAX_BIGINT = 2**63 - 1  # the largest sequence number a BIGINT holds


def moment_in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the time is outside the range this service holds (1900 to 9998)") from exc
    if not EARLIEST_MOMENT <= utc <= LATEST_MOMENT:
        raise ValueError("the time is outside the range this service holds (1900 to 9998)")
    return value


def reject_nul(value: Any) -> Any:
    """NUL characters cannot be stored in PostgreSQL text; refuse them up front, as a 422."""
    if _has_nul(value):
        raise ValueError("text must not contain NUL (\\u0000) characters")
    return value


class Strict(BaseModel):
    """Input: unknown fields are rejected (422), never dropped; no NUL characters; dates as ISO 8601 text."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        return reject_numeric_dates(cls, reject_nul(data))


class Body(Strict):
    """Request bodies (read-only fields count as unknown)."""


class QueryParams(Strict):
    """Query strings."""


class EntityRead(BaseModel):
    id: uuid.UUID
    created_at: datetime = Field(description="RFC 3339 UTC timestamp.")
    updated_at: datetime
    version: int = Field(description="Starts at 1; +1 per change.")


def patch_model(
    name: str, create: type[BaseModel], *, exclude: set[str], doc: str | None = None, extra: dict[str, Any] | None = None
) -> type[BaseModel]:
    """The merge-patch model of a resource: its writable fields, all optional, none defaulted (plus `extra` fields)."""
    fields: dict[str, Any] = dict(extra or {})
    for field_name, info in create.model_fields.items():
        if field_name in exclude:
            continue
        optional = copy.copy(info)
        optional.default = None
        optional.default_factory = None
        fields[field_name] = (cast(Any, info.annotation) | None, optional)
    model: type[BaseModel] = create_model(
        name, __base__=Body, __doc__=doc or f"Merge patch for {create.__name__.removesuffix('Create')}.", **fields
    )
    return model
