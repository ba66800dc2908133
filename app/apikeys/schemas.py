"""Request and response models: API keys."""

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import ConfigDict, Field

from app.core.pagination import ListQuery
from app.core.schemas import Body, EntityRead, Name
from app.models.enums import Role

KEY_EXAMPLE: dict[str, Any] = {
    "id": "6f1e2d3c-4b5a-4968-8776-a5b4c3d2e1aa",
    "created_at": "2026-11-01T09:00:00Z",
    "updated_at": "2026-11-01T09:00:00Z",
    "version": 1,
    "prefix": "3fa9c1d2e4",
    "name": "HR nightly sync",
    "role": "hr_integration",
    "partnership_id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
    "person_id": None,
    "expires_on": "2027-10-31",
    "last_used_at": "2026-11-28T02:00:04Z",
    "revoked_at": None,
}


class ApiKeyCreate(Body):
    name: Name = Field(description="Who or what the key is for.")
    role: Role
    partnership_id: uuid.UUID | None = Field(
        None, description="The one partnership the key sees; omit for a national admin or inspector key."
    )
    person_id: uuid.UUID | None = Field(None, description="The person the key acts for (required for contributors).")
    expires_on: date | None = Field(None, description="Last day the key works.")


class ApiKeyRead(EntityRead):
    model_config = ConfigDict(json_schema_extra={"example": KEY_EXAMPLE})
    prefix: str = Field(description="The public part of the token, `wsoa_<prefix>_…`; used to revoke from the command line.")
    name: str
    role: Role
    partnership_id: uuid.UUID | None
    person_id: uuid.UUID | None
    expires_on: date | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    model_config = ConfigDict(json_schema_extra={"example": {**KEY_EXAMPLE, "token": "wsoa_3fa9c1d2e4_Qm9vZ…"}})
    token: str | None = Field(description="The bearer token, shown in this response only; a replayed response carries null.")


class ApiKeyQuery(ListQuery):
    role: Role | None = None
    partnership_id: uuid.UUID | None = None
