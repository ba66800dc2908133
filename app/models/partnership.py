"""The local area partnership and its people."""

import uuid
from datetime import date

from sqlalchemy import ForeignKeyConstraint, Index, String, Text, UniqueConstraint
from sqlmodel import Field

from app.models.base import Entity, enum_check, enum_column
from app.models.enums import OrganisationKind


class Partnership(Entity, table=True):
    __tablename__ = "partnership"
    __table_args__ = (
        UniqueConstraint("la_code"),
        Index(None, "created_at", "id"),
    )

    name: str = Field(sa_type=String(200), nullable=False)
    la_code: str = Field(sa_type=String(3), nullable=False)
    timezone: str = Field(default="Europe/London", sa_type=String(64), nullable=False)


class Organisation(Entity, table=True):
    __tablename__ = "organisation"
    __table_args__ = (
        UniqueConstraint("partnership_id", "name"),
        UniqueConstraint("id", "partnership_id"),
        enum_check("kind", OrganisationKind),
        Index(None, "created_at", "id"),
    )

    partnership_id: uuid.UUID = Field(foreign_key="partnership.id", nullable=False, index=True)
    name: str = Field(sa_type=String(200), nullable=False)
    kind: str = Field(sa_type=enum_column(OrganisationKind), nullable=False)


class Person(Entity, table=True):
    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("partnership_id", "external_id"),
        UniqueConstraint("id", "partnership_id"),
        ForeignKeyConstraint(["organisation_id", "partnership_id"], ["organisation.id", "organisation.partnership_id"]),
        Index(None, "created_at", "id"),
    )

    partnership_id: uuid.UUID = Field(foreign_key="partnership.id", nullable=False, index=True)
    external_id: str | None = Field(default=None, sa_type=String(100))
    display_name: str = Field(sa_type=String(200), nullable=False)
    email: str | None = Field(default=None, sa_type=String(320))
    job_title: str | None = Field(default=None, sa_type=Text)
    organisation_id: uuid.UUID | None = Field(default=None, index=True)
    active: bool = Field(default=True, nullable=False)
    left_on: date | None = None
