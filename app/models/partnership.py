"""The local area partnership and its people."""

import uuid
from datetime import date

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlmodel import Field

from app.models.base import Entity, enum_check, enum_column
from app.models.enums import OrganisationKind


class Partnership(Entity, table=True):
    __tablename__ = "partnership"
    __table_args__ = (
        UniqueConstraint("la_code"),
        CheckConstraint("stale_after_days >= 1", name="stale_after_days"),
        CheckConstraint("red_after_days >= 1", name="red_after_days"),
        Index(None, "created_at", "id"),
    )

    name: str = Field(sa_type=String(200), nullable=False)
    la_code: str = Field(sa_type=String(3), nullable=False)
    timezone: str = Field(default="Europe/London", sa_type=String(64), nullable=False)
    stale_after_days: int = Field(default=30, nullable=False, sa_column_kwargs={"server_default": "30"})
    red_after_days: int = Field(default=30, nullable=False, sa_column_kwargs={"server_default": "30"})


class Organisation(Entity, table=True):
    __tablename__ = "organisation"
    __table_args__ = (
        UniqueConstraint("partnership_id", "name"),
        UniqueConstraint("id", "partnership_id"),
        enum_check("kind", OrganisationKind),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
    )

    partnership_id: uuid.UUID = Field(foreign_key="partnership.id", nullable=False)
    name: str = Field(sa_type=String(200), nullable=False)
    kind: str = Field(sa_type=enum_column(OrganisationKind), nullable=False)


class Person(Entity, table=True):
    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("partnership_id", "external_id"),
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["organisation_id", "partnership_id"], ["organisation.id", "organisation.partnership_id"]),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
    )

    partnership_id: uuid.UUID = Field(foreign_key="partnership.id", nullable=False)
    external_id: str | None = Field(default=None, sa_type=String(100))
    display_name: str = Field(sa_type=String(200), nullable=False)
    email: str | None = Field(default=None, sa_type=String(320))
    job_title: str | None = Field(default=None, sa_type=Text)
    organisation_id: uuid.UUID | None = Field(default=None, index=True)
    active: bool = Field(default=True, nullable=False)
    left_on: date | None = None
