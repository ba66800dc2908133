"""HR sync: the council's HR feed keeps people current (CONTRACT.md "Integration endpoints").

Rows are upserted by `external_id` within the partnership; `full` mode also marks everyone the feed no
longer lists as left (`active: false`, `left_on` today; nobody is ever deleted). Valid rows are applied
even when others fail, and each failure names its row. The writes are set-based: one multi-row
`INSERT ... ON CONFLICT DO UPDATE` per thousand changed rows, one `UPDATE` per batch of leavers, so a
10,000-row feed costs a handful of statements, and re-sending the same feed changes nothing.
"""

import uuid
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator
from sqlalchemy import insert as generic_insert
from sqlalchemy import select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core import changes as feed
from app.core.auth import Actor
from app.core.errors import FieldError, Unprocessable
from app.core.schemas import reject_nul
from app.models import Organisation, Partnership, Person, utcnow
from app.models.enums import OrganisationKind
from app.partnerships.schemas import Email

MAX_ROWS = 10_000
BATCH = 5_000
FIELDS = ("display_name", "email", "job_title", "organisation_id", "active", "left_on")


class SyncPerson(BaseModel):
    """One row of the feed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    email: Email | None = None
    job_title: Annotated[str, StringConstraints(max_length=300)] | None = None
    organisation: Annotated[str, StringConstraints(max_length=200)] | None = Field(None, description="Matched by name; created when new.")
    active: bool = True

    @field_validator("email", "job_title", "organisation", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else reject_nul(value)


SYNC_EXAMPLE: dict[str, Any] = {
    "mode": "full",
    "people": [
        {"external_id": "HR004217", "display_name": "Priya Raman", "email": "priya.raman@wessexvale.gov.example",
         "job_title": "Head of SEND Assessment", "organisation": "Wessex Vale Council", "active": True},
    ],
}  # fmt: skip


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": SYNC_EXAMPLE})

    partnership_id: uuid.UUID | None = Field(None, description="May be left out when the key belongs to exactly one partnership.")
    mode: Literal["upsert", "full"] = "upsert"
    people: list[dict[str, Any]] = Field(max_length=MAX_ROWS, description="Up to 10,000 rows; each is validated on its own.")


class SyncError(BaseModel):
    index: int
    external_id: str | None
    message: str


class SyncResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"created": 12, "updated": 3, "unchanged": 2034, "deactivated": 1, "errors": []}}
    )

    created: int
    updated: int
    unchanged: int
    deactivated: int
    errors: list[SyncError]


def _message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors())


# PostgreSQL: the whole batch as arrays in one statement (a VALUES list would cost more to compile than to run).
UPSERT_PG = text("""
INSERT INTO person (id, partnership_id, external_id, display_name, email, job_title, organisation_id, active, left_on,
                    created_at, updated_at, version)
SELECT u.id, :partnership_id, u.external_id, u.display_name, u.email, u.job_title, u.organisation_id, u.active, u.left_on,
       :now, :now, 1
FROM unnest(CAST(:id AS uuid[]), CAST(:external_id AS text[]), CAST(:display_name AS text[]), CAST(:email AS text[]),
            CAST(:job_title AS text[]), CAST(:organisation_id AS uuid[]), CAST(:active AS boolean[]), CAST(:left_on AS date[]))
     AS u(id, external_id, display_name, email, job_title, organisation_id, active, left_on)
ON CONFLICT (partnership_id, external_id) DO UPDATE SET
    display_name = EXCLUDED.display_name, email = EXCLUDED.email, job_title = EXCLUDED.job_title,
    organisation_id = EXCLUDED.organisation_id, active = EXCLUDED.active, left_on = EXCLUDED.left_on,
    version = person.version + 1, updated_at = EXCLUDED.updated_at
""")


async def _upsert(session: AsyncSession, rows: list[dict[str, Any]], partnership_id: uuid.UUID, now: Any) -> None:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        columns = ("id", "external_id", *FIELDS)
        await session.execute(UPSERT_PG, {"partnership_id": partnership_id, "now": now, **{c: [r[c] for r in rows] for c in columns}})
        return
    # SQLite runs in-process: one prepared upsert executed for the batch costs no round trips.
    table = Person.__table__  # type: ignore[attr-defined]
    stmt = sqlite.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["partnership_id", "external_id"],
        set_={**{name: stmt.excluded[name] for name in FIELDS}, "version": table.c.version + 1, "updated_at": stmt.excluded.updated_at},
    )
    await session.execute(stmt, rows)


async def sync_people(
    session: AsyncSession, *, actor: Actor, partnership_id: uuid.UUID, mode: str, rows: list[dict[str, Any]]
) -> SyncResult:
    if (await session.execute(select(col(Partnership.id)).where(col(Partnership.id) == partnership_id))).first() is None:
        raise Unprocessable("No such partnership.", errors=[FieldError(pointer="/partnership_id", message="unknown partnership")])
    errors: list[SyncError] = []
    valid: dict[str, SyncPerson] = {}
    for index, raw in enumerate(rows):
        external_id = raw.get("external_id") if isinstance(raw, dict) else None
        try:
            person = SyncPerson.model_validate(raw)
        except ValidationError as exc:
            errors.append(SyncError(index=index, external_id=str(external_id) if external_id is not None else None, message=_message(exc)))
            continue
        if person.external_id in valid:
            errors.append(SyncError(index=index, external_id=person.external_id, message="external_id appears more than once in this feed"))
            continue
        valid[person.external_id] = person

    existing = {
        r.external_id: r
        for r in await session.execute(
            select(*(col(getattr(Person, c)) for c in ("id", "external_id", "version", *FIELDS))).where(
                col(Person.partnership_id) == partnership_id, col(Person.external_id).is_not(None)
            )
        )
    }
    organisations = await _organisations(session, partnership_id, {p.organisation for p in valid.values() if p.organisation})

    today, now = date.today(), utcnow()
    upserts: list[dict[str, Any]] = []
    changed: list[feed.Changed] = []
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "deactivated": []}
    for external_id, person in valid.items():
        before = existing.get(external_id)
        left_on = None if person.active else (before.left_on if before is not None and before.left_on else today)
        target = {
            "display_name": person.display_name, "email": person.email, "job_title": person.job_title,
            "organisation_id": organisations.get(person.organisation.casefold()) if person.organisation else None,
            "active": person.active, "left_on": left_on,
        }  # fmt: skip
        if before is not None and all(getattr(before, k) == v for k, v in target.items()):
            outcome["unchanged"].append(external_id)
            continue
        entity_id = before.id if before is not None else uuid.uuid4()
        upserts.append(
            {
                "id": entity_id,
                "partnership_id": partnership_id,
                "external_id": external_id,
                "created_at": now,
                "updated_at": now,
                "version": 1,
                **target,
            }
        )
        outcome["created" if before is None else "updated"].append(external_id)
        changed.append(
            feed.Changed(
                "person", entity_id, "create" if before is None else "update", 1 if before is None else before.version + 1, partnership_id
            )
        )

    leavers = []
    if mode == "full":
        leavers = [r for eid, r in existing.items() if eid not in valid and r.active]
        outcome["deactivated"] = [r.external_id for r in leavers]
        changed += [
            feed.Changed("person", uuid.UUID(str(r.id)), "update", r.version + 1, partnership_id, event="person.left") for r in leavers
        ]

    for start in range(0, len(upserts), BATCH):
        await _upsert(session, upserts[start : start + BATCH], partnership_id, now)
    for start in range(0, len(leavers), BATCH * 5):
        ids = [r.id for r in leavers[start : start + BATCH * 5]]
        await session.execute(
            update(Person)
            .where(col(Person.id).in_(ids))
            .values(active=False, left_on=today, version=col(Person.version) + 1, updated_at=now)
        )
    if changed:
        feed.record(session, changed)
        summary = {k: [None, v] for k, v in outcome.items() if v and k != "unchanged"}
        audit.record(
            session,
            actor=actor,
            action="sync",
            entity_type="partnership",
            entity_id=partnership_id,
            partnership_id=partnership_id,
            changes=summary,
        )
    return SyncResult(
        created=len(outcome["created"]), updated=len(outcome["updated"]), unchanged=len(outcome["unchanged"]),
        deactivated=len(outcome["deactivated"]), errors=errors,
    )  # fmt: skip


async def _organisations(session: AsyncSession, partnership_id: uuid.UUID, names: set[str]) -> dict[str, uuid.UUID]:
    """Organisations by case-folded name; those the feed names for the first time are created (kind `other`)."""
    found = {
        r.name.casefold(): r.id
        for r in await session.execute(
            select(col(Organisation.id), col(Organisation.name)).where(col(Organisation.partnership_id) == partnership_id)
        )
    }
    new: dict[str, dict[str, Any]] = {}
    for name in names:
        if name.casefold() not in found and name.casefold() not in new:
            new[name.casefold()] = {"id": uuid.uuid4(), "partnership_id": partnership_id, "name": name, "kind": OrganisationKind.other.value,
                                    "created_at": utcnow(), "updated_at": utcnow(), "version": 1}  # fmt: skip
    if new:
        await session.execute(generic_insert(Organisation), list(new.values()))
        feed.record(session, [feed.Changed("organisation", o["id"], "create", 1, partnership_id) for o in new.values()])
        found.update({key: o["id"] for key, o in new.items()})
    return found
