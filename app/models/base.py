"""Shared column types, the constraint naming convention and the fields every resource carries."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Dialect, Integer, String, TypeDecorator
from sqlmodel import Field, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

BigId = BigInteger().with_variant(Integer(), "sqlite")


class Pence(TypeDecorator[Decimal]):
    """Money in GBP as a Decimal with two places, stored as whole pence: exact on every database
    (SQLite has no decimal type) and summed exactly in SQL."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        pence = Decimal(value) * 100
        if pence != pence.to_integral_value():
            raise ValueError("money has at most two decimal places")
        return int(pence)

    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else (Decimal(int(value)) / 100).quantize(Decimal("0.01"))


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back time-zone aware.

    PostgreSQL keeps `timestamptz`; SQLite has no time zones, so the value is stored as naive UTC
    (whose text form sorts correctly) and given its zone back on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(enum: type[StrEnum]) -> Any:
    return String(max(len(m.value) for m in enum))


def enum_check(column: str, enum: type[StrEnum], *, nullable: bool = False) -> CheckConstraint:
    """A named check constraint that keeps a string column inside its enumeration."""
    values = ", ".join(f"'{m.value}'" for m in enum)
    condition = f"{column} IN ({values})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=column)


class Entity(SQLModel):
    """`id`, `created_at`, `updated_at` and `version` (starts at 1, +1 per change)."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    version: int = Field(default=1, nullable=False)
