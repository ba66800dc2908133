"""HR sync: the council's HR feed keeps people current (`POST /people/sync`, for the `hr_integration` role).

Rows are upserted by `external_id` within the partnership, and a row changes only the fields it carries:
a field left out keeps its value, an explicit `null` clears a field that may be empty (`email`, `job_title`,
`organisation`). Nobody is ever deleted. `full` mode also marks everyone the feed no longer lists as left
(`active: false`, `left_on` the partnership's today), unless that would mark more than
`WSOA_SYNC_MAX_DEACTIVATE_PERCENT` of the partnership's active people as left (409, unless the request allows
it). A dry run works out the same answer and the changes, and writes nothing.

Valid rows are applied even when others fail, and each failure names its row; a person whose row failed
is never marked as left for being missing. The writes are set-based: one multi-row
`INSERT ... ON CONFLICT DO UPDATE` per thousand changed rows that change the same fields, one `UPDATE` per
batch of leavers, so a 10,000-row feed costs a handful of statements, and re-sending the same feed changes
nothing.
"""

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator
from sqlalchemy import TextClause, func, select, text, update
from sqlalchemy import insert as generic_insert
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core import changes as feed
from app.core.auth import Actor, note_people_changed
from app.core.errors import Conflict, FieldError, Unprocessable
from app.core.schemas import plan_date, reject_nul, reject_numeric_dates
from app.models import Organisation, Person, utcnow
from app.models.enums import OrganisationKind
from app.partnerships.schemas import Email
from app.partnerships.service import local

MAX_ROWS = 10_000
BATCH = 5_000
FIELDS = ("display_name", "email", "job_title", "organisation_id", "active", "left_on")
SHOWN = ("display_name", "email", "job_title", "organisation", "active", "left_on")  # a change as the feed names the fields


class SyncPerson(BaseModel):
    """One row of the feed. Only `external_id` is required; a field left out keeps its stored value."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None, description="Required for someone new; cannot be cleared."
    )
    email: Email | None = Field(None, description="`null` clears it.")
    job_title: Annotated[str, StringConstraints(max_length=300)] | None = Field(None, description="`null` clears it.")
    organisation: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        None, description="Matched by name; created when new. `null` clears it."
    )
    active: bool | None = Field(
        None, description="`false`: the person has left; `true`: they are current. Left out: unchanged (someone new starts active)."
    )
    left_on: date | None = Field(
        None,
        description="When the person left, with `active: false` (left out or `null`: the partnership's today, or the date already "
        "held); between 2000-01-01 and the partnership's today (a future date is a row error: send it once the person has left).",
    )

    _dates = field_validator("left_on")(plan_date)

    @model_validator(mode="before")
    @classmethod
    def _dates_as_text(cls, data: Any) -> Any:
        return reject_numeric_dates(cls, data)

    @field_validator("email", "job_title", "organisation", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else reject_nul(value)

    @field_validator("external_id", "display_name", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)

    @field_validator("display_name", "active", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value

    @model_validator(mode="after")
    def _left_on_with_leaving(self) -> "SyncPerson":
        if self.left_on is not None and self.active is not False:
            raise ValueError("left_on is given only with active: false")
        return self


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A feed row that could not be read as a row at all (a CSV line with the wrong number of cells)."""

    external_id: str | None
    message: str


SYNC_EXAMPLE: dict[str, Any] = {
    "mode": "full",
    "people": [
        {"external_id": "HR004217", "display_name": "Priya Raman", "email": "priya.raman@wessexvale.gov.example",
         "job_title": "Head of SEND Assessment", "organisation": "Wessex Vale Council", "active": True},
        {"external_id": "HR004121", "active": False, "left_on": "2026-03-31"},
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


RESULT_EXAMPLE: dict[str, Any] = {"created": 12, "updated": 3, "unchanged": 2034, "deactivated": 1, "errors": []}


class SyncResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": RESULT_EXAMPLE})

    created: int
    updated: int
    unchanged: int
    deactivated: int = Field(description="People marked as left because a `full` feed no longer lists them.")
    errors: list[SyncError]


class FieldChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str | bool | None = Field(alias="from")
    to: str | bool | None


class PersonChange(BaseModel):
    external_id: str
    person_id: uuid.UUID | None = Field(description="Null for someone the sync would create.")
    display_name: str | None
    fields: dict[str, FieldChange] = Field(description="Each field that would change, by the feed's field names (`organisation` by name).")


class SyncChanges(BaseModel):
    created: list[PersonChange]
    updated: list[PersonChange]
    deactivated: list[PersonChange]
    organisations_created: list[str]


PREVIEW_EXAMPLE: dict[str, Any] = {
    "created": 0, "updated": 1, "unchanged": 21, "deactivated": 1, "errors": [], "dry_run": True, "refused": None,
    "changes": {
        "created": [],
        "updated": [{"external_id": "HR004217", "person_id": "9a1c3e5f-7b2d-4f6a-8c0e-2d4f6a8c0e1b", "display_name": "Priya Raman",
                     "fields": {"job_title": {"from": "Head of SEND Assessment", "to": "Assistant Director, SEND"}}}],
        "deactivated": [{"external_id": "HR004121", "person_id": "3f2b8c1d-6e4a-4b7c-9d0e-1a2b3c4d5e6f", "display_name": "Paul Greaves",
                         "fields": {"active": {"from": True, "to": False}, "left_on": {"from": None, "to": "2026-05-14"}}}],
        "organisations_created": [],
    },
}  # fmt: skip


class SyncPreview(SyncResult):
    """A dry run: what the same request without `dry_run` would do, and nothing written."""

    model_config = ConfigDict(json_schema_extra={"example": PREVIEW_EXAMPLE})

    dry_run: Literal[True] = True
    refused: str | None = Field(
        description="Why the same request without `dry_run` would be refused (409, too many people marked as left); null when it would run."
    )
    changes: SyncChanges


class MassDeactivation(Conflict):
    type, title = "/problems/mass-deactivation", "Too many people would be marked as left"


def _message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors())


@functools.cache
def _upsert_pg(columns: tuple[str, ...]) -> TextClause:
    """PostgreSQL: the whole batch as arrays in one statement (a VALUES list would cost more to compile than to
    run); an existing person gets only `columns` written."""
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)
    return text(f"""
INSERT INTO person (id, partnership_id, external_id, display_name, email, job_title, organisation_id, active, left_on,
                    created_at, updated_at, version)
SELECT u.id, :partnership_id, u.external_id, u.display_name, u.email, u.job_title, u.organisation_id, u.active, u.left_on,
       :now, :now, 1
FROM unnest(CAST(:id AS uuid[]), CAST(:external_id AS text[]), CAST(:display_name AS text[]), CAST(:email AS text[]),
            CAST(:job_title AS text[]), CAST(:organisation_id AS uuid[]), CAST(:active AS boolean[]), CAST(:left_on AS date[]))
     AS u(id, external_id, display_name, email, job_title, organisation_id, active, left_on)
ON CONFLICT (partnership_id, external_id) DO UPDATE SET {sets}, version = person.version + 1, updated_at = EXCLUDED.updated_at
""")  # the columns come from FIELDS, never from the request


async def _upsert(session: AsyncSession, rows: list[dict[str, Any]], columns: tuple[str, ...], partnership_id: uuid.UUID, now: Any) -> None:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        names = ("id", "external_id", *FIELDS)
        await session.execute(
            _upsert_pg(columns), {"partnership_id": partnership_id, "now": now, **{c: [r[c] for r in rows] for c in names}}
        )
        return
    # SQLite runs in-process: one prepared upsert executed for the batch costs no round trips.
    table = Person.__table__  # type: ignore[attr-defined]
    stmt = sqlite.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["partnership_id", "external_id"],
        set_={**{name: stmt.excluded[name] for name in columns}, "version": table.c.version + 1, "updated_at": stmt.excluded.updated_at},
    )
    await session.execute(stmt, rows)


def _shown(values: dict[str, Any], names: dict[uuid.UUID, str]) -> dict[str, Any]:
    """A person's fields as the feed names them: the organisation by name, dates as ISO text."""
    shown = {k: v for k, v in values.items() if k != "organisation_id"}
    shown["organisation"] = names.get(values["organisation_id"]) if values["organisation_id"] is not None else None
    if isinstance(shown["left_on"], date):
        shown["left_on"] = shown["left_on"].isoformat()
    return shown


def _change(external_id: str, person_id: uuid.UUID | None, old: dict[str, Any] | None, new: dict[str, Any]) -> PersonChange:
    return PersonChange(
        external_id=external_id,
        person_id=person_id,
        display_name=new["display_name"],
        fields={
            name: FieldChange(from_=None if old is None else old[name], to=new[name])
            for name in SHOWN
            if (old is None and new[name] is not None) or (old is not None and old[name] != new[name])
        },
    )


def _external_id_of(raw: Any) -> str | None:
    value = raw.external_id if isinstance(raw, Unreadable) else raw.get("external_id") if isinstance(raw, dict) else None
    return str(value).strip() if value is not None else None


def _target(person: SyncPerson, old: dict[str, Any] | None, organisations: dict[str, uuid.UUID], today: date) -> dict[str, Any]:
    """A person's fields after the row: those it carries replace the stored ones, the rest stay as they are."""
    carried = person.model_fields_set
    target: dict[str, Any] = dict(old) if old is not None else dict.fromkeys(FIELDS)
    for name in ("display_name", "email", "job_title"):
        if name in carried:
            target[name] = getattr(person, name)
    if "organisation" in carried:
        target["organisation_id"] = organisations[person.organisation.casefold()] if person.organisation else None
    # Someone new starts active; a leaver is never brought back by a row that leaves the field out.
    was_active, held = (True, None) if old is None else (bool(old["active"]), old["left_on"])
    active = was_active if person.active is None else person.active
    target["active"] = active
    if not active:
        target["left_on"] = person.left_on or held or today
    elif not was_active:
        target["left_on"] = None  # someone back has no leaving date; anyone else keeps what is held
    return target


async def sync_people(
    session: AsyncSession,
    *,
    actor: Actor,
    partnership_id: uuid.UUID,
    mode: str,
    rows: Sequence[dict[str, Any] | Unreadable],
    dry_run: bool = False,
    allow_mass_deactivation: bool = False,
    max_deactivate_percent: float = 20,
) -> SyncResult:
    """Apply the feed (or, with `dry_run`, work out what applying it would do, writing nothing)."""
    clock = await local(session, partnership_id)
    if clock is None:
        raise Unprocessable("No such partnership.", errors=[FieldError(pointer="/partnership_id", message="unknown partnership")])
    errors: list[SyncError] = []
    valid: dict[str, tuple[int, SyncPerson]] = {}
    named: set[str] = set()  # every external_id the feed names, in valid rows or not: none of them has left
    for index, raw in enumerate(rows):
        external_id = _external_id_of(raw)
        if external_id:
            named.add(external_id)
        if isinstance(raw, Unreadable):
            errors.append(SyncError(index=index, external_id=external_id, message=raw.message))
            continue
        try:
            person = SyncPerson.model_validate(raw)
        except ValidationError as exc:
            errors.append(SyncError(index=index, external_id=external_id, message=_message(exc)))
            continue
        if person.external_id in valid:
            errors.append(SyncError(index=index, external_id=person.external_id, message="external_id appears more than once in this feed"))
            continue
        if person.left_on is not None and person.left_on > clock.today:
            # Leaving is a fact once it happens: a future date would make someone inactive today with a date ahead.
            errors.append(SyncError(index=index, external_id=person.external_id, message="left_on: after the partnership's today"))
            continue
        valid[person.external_id] = (index, person)

    existing = {
        r.external_id: r
        for r in await session.execute(
            select(*(col(getattr(Person, c)) for c in ("id", "external_id", "version", *FIELDS))).where(
                col(Person.partnership_id) == partnership_id, col(Person.external_id).is_not(None)
            )
        )
    }
    organisations, names, new_organisations = await _organisations(
        session, partnership_id, {p.organisation for _, p in valid.values() if p.organisation}
    )

    today, now = clock.today, utcnow()
    writes: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # by the columns an existing person gets written
    changed: list[feed.Changed] = []
    outcome: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [], "deactivated": []}
    preview: dict[str, list[PersonChange]] = {"created": [], "updated": [], "deactivated": []}
    leaving = 0  # active people this sync marks as left, by their row or by their absence from a full feed
    for external_id, (index, person) in valid.items():
        before = existing.get(external_id)
        old = None if before is None else {name: getattr(before, name) for name in FIELDS}
        if old is None and person.display_name is None:
            errors.append(SyncError(index=index, external_id=external_id, message="display_name: required for someone new"))
            continue
        target = _target(person, old, organisations, today)
        if old is not None and all(old[k] == target[k] for k in FIELDS):
            outcome["unchanged"].append(external_id)
            continue
        left = old is not None and bool(old["active"]) and not target["active"]
        leaving += left
        entity_id = before.id if before is not None else uuid.uuid4()
        columns = FIELDS if old is None else tuple(k for k in FIELDS if old[k] != target[k])
        writes.setdefault(columns, []).append(
            {"id": entity_id, "partnership_id": partnership_id, "external_id": external_id, "created_at": now, "updated_at": now, "version": 1,
             **target}
        )  # fmt: skip
        outcome["created" if old is None else "updated"].append(external_id)
        if dry_run:
            shown_old = None if old is None else _shown(old, names)
            preview["created" if old is None else "updated"].append(
                _change(external_id, None if old is None else entity_id, shown_old, _shown(target, names))
            )
        changed.append(
            feed.Changed("person", entity_id, "create" if before is None else "update", 1 if before is None else before.version + 1,
                         partnership_id, event="person.left" if left else None)
        )  # fmt: skip

    leavers = []
    if mode == "full":
        leavers = [r for eid, r in existing.items() if eid not in named and r.active]
        leaving += len(leavers)
        outcome["deactivated"] = [r.external_id for r in leavers]
        changed += [
            feed.Changed("person", uuid.UUID(str(r.id)), "update", r.version + 1, partnership_id, event="person.left") for r in leavers
        ]
        if dry_run:
            preview["deactivated"] = [
                PersonChange(
                    external_id=r.external_id, person_id=uuid.UUID(str(r.id)), display_name=r.display_name,
                    fields={"active": FieldChange(from_=True, to=False),
                            "left_on": FieldChange(from_=r.left_on.isoformat() if r.left_on else None, to=today.isoformat())},
                )
                for r in leavers
            ]  # fmt: skip

    used = {row["organisation_id"] for batch in writes.values() for row in batch}
    new_organisations = [o for o in new_organisations if o["id"] in used]  # created only for someone who joins them
    refused = None
    if mode == "full" and leaving and not allow_mass_deactivation:
        refused = await _mass_deactivation(session, partnership_id, leaving, max_deactivate_percent)
    counts = {
        "created": len(outcome["created"]), "updated": len(outcome["updated"]), "unchanged": len(outcome["unchanged"]),
        "deactivated": len(outcome["deactivated"]), "errors": sorted(errors, key=lambda e: e.index),
    }  # fmt: skip
    if dry_run:
        # A preview that shows someone's stored e-mail is a read of their contact details, like GET /people.
        shown = [c.person_id for c in preview["updated"] if c.person_id and "email" in c.fields and c.fields["email"].from_]
        audit.record_reads(session, actor=actor, entity_type="person", reads=[(p, partnership_id) for p in shown], what="contact details")
        return SyncPreview(
            **counts,
            refused=refused,
            changes=SyncChanges(**preview, organisations_created=[o["name"] for o in new_organisations]),
        )
    if refused is not None:
        raise MassDeactivation(refused)

    await _create_organisations(session, partnership_id, new_organisations)
    for columns, batch in writes.items():
        for start in range(0, len(batch), BATCH):
            await _upsert(session, batch[start : start + BATCH], columns, partnership_id, now)
    for start in range(0, len(leavers), BATCH * 5):
        ids = [r.id for r in leavers[start : start + BATCH * 5]]
        await session.execute(
            update(Person)
            .where(col(Person.id).in_(ids))
            .values(active=False, left_on=today, version=col(Person.version) + 1, updated_at=now)
        )
    if changed:
        note_people_changed(session)  # a leaver's keys stop at once in this process, whatever SQL the upsert was
        feed.record(session, changed)
        summary = {k: [None, v] for k, v in outcome.items() if v and k != "unchanged"}
        if new_organisations:
            summary["organisations_created"] = [None, [o["name"] for o in new_organisations]]
        audit.record(
            session,
            actor=actor,
            action="sync",
            entity_type="partnership",
            entity_id=partnership_id,
            partnership_id=partnership_id,
            changes=summary,
        )
    return SyncResult(**counts)


async def _mass_deactivation(session: AsyncSession, partnership_id: uuid.UUID, leaving: int, max_percent: float) -> str | None:
    """Why marking `leaving` people as left is refused, or None when the share is within the setting. The share is
    of the active people the feed manages (those with an `external_id`): people added by hand cannot be marked by a
    sync, so they must not dilute the guard."""
    active = (
        await session.execute(
            select(func.count())
            .select_from(Person)
            .where(col(Person.partnership_id) == partnership_id, col(Person.active).is_(True), col(Person.external_id).is_not(None))
        )
    ).scalar_one()
    share = 100 * leaving / active if active else 0.0
    if share <= max_percent:
        return None
    return (
        f"This full sync would mark {leaving} of the {active} active people it manages as left ({share:.1f}%), more than the "
        f"{max_percent:g}% allowed (WSOA_SYNC_MAX_DEACTIVATE_PERCENT). Nothing was changed. Check that the feed is complete "
        "(`dry_run=true` lists who would be marked), or send `allow_mass_deactivation=true` to go ahead."
    )


async def _organisations(
    session: AsyncSession, partnership_id: uuid.UUID, wanted: set[str]
) -> tuple[dict[str, uuid.UUID], dict[uuid.UUID, str], list[dict[str, Any]]]:
    """The partnership's organisations by case-folded name and their names by id, counting those the feed names
    for the first time, and those new ones (to be created, kind `other`, when the sync is applied)."""
    names = {
        r.id: r.name
        for r in await session.execute(
            select(col(Organisation.id), col(Organisation.name)).where(col(Organisation.partnership_id) == partnership_id)
        )
    }
    by_key = {name.casefold(): o_id for o_id, name in names.items()}
    new: list[dict[str, Any]] = []
    for name in sorted(wanted):
        if name.casefold() not in by_key:
            o_id = uuid.uuid4()
            new.append({"id": o_id, "partnership_id": partnership_id, "name": name, "kind": OrganisationKind.other.value,
                        "created_at": utcnow(), "updated_at": utcnow(), "version": 1})  # fmt: skip
            by_key[name.casefold()], names[o_id] = o_id, name
    return by_key, names, new


async def _create_organisations(session: AsyncSession, partnership_id: uuid.UUID, new: list[dict[str, Any]]) -> None:
    if new:
        await session.execute(generic_insert(Organisation), new)
        feed.record(session, [feed.Changed("organisation", o["id"], "create", 1, partnership_id) for o in new])
