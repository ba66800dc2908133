"""Column mappings saved by name, so the same tracker imports again each month with `?mapping=<name>`."""

import uuid
from typing import Any

from sqlalchemy import JSON, Index, String, UniqueConstraint
from sqlmodel import Field

from app.models.base import Entity


class ImportMapping(Entity, table=True):
    __tablename__ = "import_mapping"
    __table_args__ = (
        UniqueConstraint("partnership_id", "name"),
        Index(None, "created_at", "id"),
        Index(None, "partnership_id", "created_at", "id"),
    )

    partnership_id: uuid.UUID = Field(foreign_key="partnership.id", nullable=False)
    name: str = Field(sa_type=String(100), nullable=False)
    mapping: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
