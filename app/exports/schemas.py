"""Request and response models of exports and share links."""

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import AwareDatetime, ConfigDict, Field, field_validator

from app.core.pagination import ListQuery
from app.core.schemas import Body, EntityRead, plan_date
from app.models.enums import Audience, ExportFormat, ExportStatus

EXPORT_ID = "5e0f7a52-3c1d-4a5b-9f7e-2d6c8b1a0e93"
STAMP: dict[str, Any] = {"created_at": "2018-09-14T09:30:00Z", "updated_at": "2018-09-14T09:30:02Z", "version": 2}
EXPORT_EXAMPLE: dict[str, Any] = {
    "id": EXPORT_ID,
    **STAMP,
    "partnership_id": "3f2b1c8e-6d4a-4e1f-9b7c-1a2d3e4f5a6b",
    "plan_id": "7c6b5a49-3827-4165-9483-726150493827",
    "format": "pdf",
    "audience": "inspectors",
    "as_of": "2018-08-31",
    "status": "ready",
    "sha256": "9f2c5b0e4d1a7c3b8e6f2a9d0c4b7e1f3a5d8c2b6e9f1a4d7c0b3e5f8a2d6c9b",
    "size_bytes": 412_733,
    "media_type": "application/pdf",
    "file_name": "written-statement-of-action-2017-2018-08-31-inspectors.pdf",
    "error": None,
    "created_by": "key:2xq8rm41",
    "completed_at": "2018-09-14T09:30:02Z",
    "checkpoint_seq": 48_112,
    "checkpoint_hash": "4c1e7a93b2d05f68e1a9c3b7d2f40e86a5c9b1d3e7f20a48c6b9d1e3f5a7c2b0",
    "since": None,
    "meeting_id": None,
}


class ExportCreate(Body):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"format": "pdf", "as_of": "2018-08-31", "audience": "inspectors"}}
    )
    format: ExportFormat = Field(description="`json`, `csv` (a zip of one file per table), `xlsx`, `pdf` or `html`.")
    as_of: date | None = Field(None, description="Show the plan as recorded at the end of this day (default: today).")
    audience: Audience = Field(
        description="`inspectors` and `public`: no contact details, held-locally evidence without its link; `public` also hides "
        "owners' names, unaccepted evidence and any figure counted over fewer than 10. `board`: everything."
    )
    since: date | None = Field(
        None,
        description="Add what changed since the end of this day (before `as_of`): actions new, completed, re-rated and "
        "reprogrammed, new reds, missed returns, risks new and re-rated (not in `public` packs).",
    )

    _in_range = field_validator("since")(plan_date)


class MeetingPackCreate(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"format": "pdf", "audience": "board"}})
    format: ExportFormat = Field(description="`json`, `csv` (a zip of one file per table), `xlsx`, `pdf` or `html`.")
    audience: Audience = Field(
        Audience.board, description="`board` (default) or `inspectors` (no contact details); a meeting's pack is never public (422)."
    )

    @field_validator("audience")
    @classmethod
    def _not_public(cls, value: Audience) -> Audience:
        if value is Audience.public:
            raise ValueError("a meeting's pack is for the board or inspectors; the public page is a plan's `public` export")
        return value

    as_of: date | None = Field(
        None, description="Show the plan as recorded at the end of this day (default: today); not before the meeting was recorded."
    )
    plan_id: uuid.UUID | None = Field(None, description="The plan the pack shows, for a meeting about no plan in particular.")


class ExportRead(EntityRead):
    model_config = ConfigDict(json_schema_extra={"example": EXPORT_EXAMPLE})
    partnership_id: uuid.UUID
    plan_id: uuid.UUID
    format: ExportFormat
    audience: Audience
    as_of: date
    status: ExportStatus = Field(description="`pending` while `wsoa worker` produces it, then `ready` or `failed`.")
    sha256: str | None = Field(description="SHA-256 of the bytes `GET /exports/{id}/content` serves, once ready.")
    size_bytes: int | None
    media_type: str
    file_name: str
    error: str | None = Field(description="Why production failed.")
    created_by: str
    completed_at: datetime | None
    checkpoint_seq: int | None = Field(
        description="The newest signed checkpoint of the audit trail when the export was requested: the trail the pack "
        "was built from is vouched for, outside the database, up to this `seq` (null: no checkpoint or no key configured)."
    )
    checkpoint_hash: str | None = Field(description="The hash of the audit event at `checkpoint_seq`, as the checkpoint signed it.")
    since: date | None = Field(description="The pack adds what changed since the end of this day.")
    meeting_id: uuid.UUID | None = Field(description="The meeting whose pack this is (`POST /meetings/{id}/pack`).")


class ExportQuery(ListQuery):
    plan_id: uuid.UUID | None = None
    format: ExportFormat | None = None
    audience: Audience | None = None
    status: ExportStatus | None = None


class ShareLinkCreate(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"expires_at": "2018-09-28T17:00:00Z"}})
    expires_at: AwareDatetime | None = Field(
        None, description="When the link stops working (with a time zone): in the future, at most 90 days away (default 14 days)."
    )


LINK_EXAMPLE: dict[str, Any] = {
    "id": "0b7e3d2a-9c4f-4e1b-8a6d-5f2c1e0d9b8a",
    **STAMP,
    "partnership_id": "3f2b1c8e-6d4a-4e1f-9b7c-1a2d3e4f5a6b",
    "export_id": EXPORT_ID,
    "expires_at": "2018-09-28T17:00:00Z",
    "revoked_at": None,
    "created_by": "key:2xq8rm41",
    "access_count": 3,
    "last_accessed_at": "2018-09-20T14:02:11Z",
}


class ShareLinkRead(EntityRead):
    model_config = ConfigDict(json_schema_extra={"example": LINK_EXAMPLE})
    partnership_id: uuid.UUID
    export_id: uuid.UUID
    expires_at: datetime
    revoked_at: datetime | None
    created_by: str
    access_count: int = Field(description="Downloads through the link (each one is in the audit trail with its client address).")
    last_accessed_at: datetime | None


class ShareLinkCreated(ShareLinkRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                **LINK_EXAMPLE,
                "access_count": 0,
                "last_accessed_at": None,
                "token": "q3Jx0vH1mS9yV4cT7bN2kL8wE5rZ6uA1pD0fG3hJ9sK",
                "url": "https://wsoa.example.gov.uk/api/v1/shared/q3Jx0vH1mS9yV4cT7bN2kL8wE5rZ6uA1pD0fG3hJ9sK",
            }
        }
    )
    token: str = Field(description="Shown once; only its SHA-256 is kept.")
    url: str = Field(description="Opens the export without an API key until the link expires or is revoked.")


class ShareLinkQuery(ListQuery):
    export_id: uuid.UUID | None = None
