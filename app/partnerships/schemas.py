"""Request and response models: partnerships, organisations and people."""

import uuid
from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, field_validator

from app.core.pagination import ListQuery
from app.core.schemas import Body, EntityRead, Name, patch_model, plan_date
from app.models.enums import OrganisationKind

LaCode = Annotated[str, StringConstraints(pattern=r"^\d{3}$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


def _zone(value: str | None) -> str | None:
    if value is None:  # a merge patch's null; the merged state is validated again without it
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("not an IANA time zone name, e.g. Europe/London") from exc
    return value


TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_zone)]

PARTNERSHIP_EXAMPLE: dict[str, Any] = {
    "id": "0b6f9d1e-3c41-4d0e-9f59-2f1f6b0a9c11",
    "created_at": "2026-01-05T09:30:00Z",
    "updated_at": "2026-01-05T09:30:00Z",
    "version": 1,
    "name": "Wessex Vale SEND Local Area Partnership",
    "la_code": "835",
    "timezone": "Europe/London",
    "stale_after_days": 30,
    "red_after_days": 30,
}


class PartnershipCreate(Body):
    name: Name
    la_code: LaCode = Field(description="The DfE's 3-digit local authority code.")
    timezone: TimeZone = Field("Europe/London", description="Where 'today' is, for overdue and RAG rules.")
    stale_after_days: int = Field(
        30, ge=1, le=366, description="An open action with no progress update for this many days raises a `stale` alert."
    )
    red_after_days: int = Field(
        30, ge=1, le=366, description="An action overdue (or forecast late) by more than this many days is red; by fewer, amber."
    )


class PartnershipRead(EntityRead):
    model_config = ConfigDict(json_schema_extra={"example": PARTNERSHIP_EXAMPLE})
    name: str
    la_code: str
    timezone: str
    stale_after_days: int
    red_after_days: int


PartnershipUpdate = patch_model("PartnershipUpdate", PartnershipCreate, exclude=set())


class PartnershipQuery(ListQuery):
    la_code: LaCode | None = None


class OrganisationCreate(Body):
    partnership_id: uuid.UUID
    name: Name
    kind: OrganisationKind


class OrganisationRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                **{k: PARTNERSHIP_EXAMPLE[k] for k in ("created_at", "updated_at", "version")},
                "id": "5d7e2a0c-8b1f-4c3e-a2d4-1e9f0b7c6a55",
                "partnership_id": PARTNERSHIP_EXAMPLE["id"],
                "name": "Wessex Vale Integrated Care Board",
                "kind": "icb",
            }
        }
    )
    partnership_id: uuid.UUID
    name: str
    kind: OrganisationKind


OrganisationUpdate = patch_model("OrganisationUpdate", OrganisationCreate, exclude={"partnership_id"})


class OrganisationQuery(ListQuery):
    partnership_id: uuid.UUID | None = None
    kind: OrganisationKind | None = None


class PersonCreate(Body):
    partnership_id: uuid.UUID
    external_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = Field(
        None, description="The HR system's id; unique within the partnership."
    )
    display_name: Name
    email: Email | None = None
    job_title: Annotated[str, StringConstraints(max_length=300)] | None = None
    organisation_id: uuid.UUID | None = None
    active: bool = True
    left_on: date | None = None

    _dates = field_validator("left_on")(plan_date)


class PersonRead(EntityRead):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                **{k: PARTNERSHIP_EXAMPLE[k] for k in ("created_at", "updated_at", "version")},
                "id": "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6a8c0e1b",
                "partnership_id": PARTNERSHIP_EXAMPLE["id"],
                "external_id": "HR004217",
                "display_name": "Priya Raman",
                "email": "priya.raman@wessexvale.gov.example",
                "job_title": "Head of SEND Assessment",
                "organisation_id": "5d7e2a0c-8b1f-4c3e-a2d4-1e9f0b7c6a55",
                "active": True,
                "left_on": None,
            }
        }
    )
    partnership_id: uuid.UUID
    external_id: str | None
    display_name: str
    email: str | None = Field(None, description="Left out of the representation for inspectors.")
    job_title: str | None
    organisation_id: uuid.UUID | None
    active: bool
    left_on: date | None


PersonUpdate = patch_model("PersonUpdate", PersonCreate, exclude={"partnership_id"})


class PersonQuery(ListQuery):
    partnership_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    external_id: str | None = Field(None, max_length=100)
    active: bool | None = None
