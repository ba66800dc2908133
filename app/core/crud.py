"""The generic write path: create, merge-patch and delete any `Resource`, atomically and audited.

Each write runs in one transaction: visibility and reference checks, the resource's own rules,
the change, its link rows and its audit event, then a single commit. Nothing is written when any
step fails.
"""

import uuid
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core import changes as feed
from app.core.auth import Actor
from app.core.errors import Duplicate, DuplicateRef, FieldError, InUse, NotFound, PreconditionFailed, Unprocessable, validation_errors
from app.core.http import dumps, etag_for, require_match
from app.core.reads import SqlAlchemyReads
from app.core.resources import Ref, Resource, Row
from app.models import Partnership, utcnow


def _partnership_of(table: Any, row: Row) -> uuid.UUID:
    value: uuid.UUID = row["id"] if table is Partnership else row["partnership_id"]
    return value


async def _load(session: AsyncSession, table: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, Row]:
    columns = [table.id] + [getattr(table, name) for name in ("partnership_id", "plan_id", "action_id") if hasattr(table, name)]
    result = await session.execute(select(*columns).where(table.id.in_(ids)))
    return {r.id: dict(r._mapping) for r in result}


async def load_parent(session: AsyncSession, actor: Actor, ref: Ref, value: uuid.UUID) -> Row:
    found = (await _load(session, ref.table, [value])).get(value)
    if found is None or not actor.sees(_partnership_of(ref.table, found)):
        raise Unprocessable(
            f"No {ref.noun} with id {value} is visible to you.",
            errors=[FieldError(pointer=f"/{ref.field}", message=f"unknown {ref.noun}")],
        )
    return found


async def check_references(session: AsyncSession, res: Resource, values: Row, partnership_id: uuid.UUID | None) -> None:
    """Every id in the body must name a resource of the same partnership (and plan, for links)."""
    errors: list[FieldError] = []
    for ref in res.refs:
        value = values.get(ref.field)
        if value is None:
            continue
        found = (await _load(session, ref.table, [value])).get(value)
        if found is None or _partnership_of(ref.table, found) != partnership_id:
            errors.append(FieldError(pointer=f"/{ref.field}", message=f"no {ref.noun} with this id in the partnership"))
    for link in res.links:
        ids = values.get(link.field)
        if not ids:
            continue
        found_rows = await _load(session, link.target, list(ids))
        for index, ident in enumerate(ids):
            row = found_rows.get(ident)
            if row is None or row["partnership_id"] != partnership_id:
                errors.append(FieldError(pointer=f"/{link.field}/{index}", message=f"no {link.noun} with this id in the partnership"))
            elif link.same_plan and row["plan_id"] != values.get("plan_id"):
                errors.append(FieldError(pointer=f"/{link.field}/{index}", message=f"the {link.noun} belongs to another plan"))
    if errors:
        raise Unprocessable("Some referenced resources do not exist or are not visible.", errors=errors)


async def check_unique(session: AsyncSession, res: Resource, values: Row, *, changed: set[str], exclude: uuid.UUID | None = None) -> None:
    """A clear 409 naming the field, before the database's unique constraint would refuse the row."""
    for unique in res.unique:
        value = values.get(unique.field)
        if value is None or not changed & {unique.field, *unique.within}:
            continue
        stmt = select(res.c.id).where(res.c[unique.field] == value, *(res.c[name] == values[name] for name in unique.within))
        if exclude is not None:
            stmt = stmt.where(res.c.id != exclude)
        if (await session.execute(stmt)).first() is not None:
            where = f" in this {unique.within[0].removesuffix('_id')}" if unique.within else ""
            error = DuplicateRef if unique.field == "ref" else Duplicate
            raise error(
                f"Another {res.entity} already has {unique.field} {audit.jsonable(value)!r}{where}.",
                errors=[FieldError(pointer=f"/{unique.field}", message=f"already used{where}")],
            )


async def _write_links(session: AsyncSession, res: Resource, entity_id: uuid.UUID, values: Row, *, replace: bool) -> None:
    for link in res.links:
        if link.field not in values:
            continue
        if replace:
            await session.execute(delete(link.table).where(getattr(link.table, link.owner) == entity_id))
        ids = values[link.field] or []
        if ids:
            extra = {"plan_id": values["plan_id"]} if link.same_plan else {"partnership_id": values["partnership_id"]}
            await session.execute(insert(link.table), [{link.owner: entity_id, link.column: i, **extra} for i in ids])


async def create(session: AsyncSession, *, actor: Actor, res: Resource, data: BaseModel) -> uuid.UUID:
    assert res.rules is not None
    values = data.model_dump()
    parent: Row | None = None
    partnership_id: uuid.UUID | None = None
    via = next((ref for ref in res.parents if values.get(ref.field) is not None), None)
    if via is not None:
        parent = await load_parent(session, actor, via, values[via.field])
        partnership_id = _partnership_of(via.table, parent)
        values["partnership_id"] = partnership_id
    await res.rules.before_create(session, actor, values, parent)
    await check_references(session, res, values, partnership_id)
    await check_unique(session, res, values, changed=set(values))
    links = {link.field for link in res.links}
    entity = res.table(**{k: v for k, v in values.items() if k not in links})
    session.add(entity)
    await session.flush()
    if res.table is Partnership:
        partnership_id = entity.id
    await _write_links(session, res, entity.id, values, replace=False)
    changes = {k: [None, audit.jsonable(v)] for k, v in values.items() if v is not None}
    await feed.record(session, [feed.Changed(res.entity, entity.id, "create", 1, partnership_id, values.get("plan_id"))])
    await audit.append(
        session, actor=actor, action="create", entity_type=res.entity, entity_id=entity.id, partnership_id=partnership_id, changes=changes
    )
    await session.commit()
    return entity.id


async def locked_current(session: AsyncSession, actor: Actor, res: Resource, entity_id: uuid.UUID, if_match: str | None) -> Row:
    assert res.reader is not None
    table: Any = res.table
    # Serialise concurrent writers of the same row (PostgreSQL); SQLite writers already hold the lock.
    await session.execute(select(table.id).where(table.id == entity_id).with_for_update())
    current = await res.reader.get(SqlAlchemyReads(await session.connection()), actor, entity_id)
    if current is None:
        raise NotFound(f"No {res.entity} with id {entity_id}.")
    require_match(if_match, etag_for(dumps(current), current["version"]))
    return current


def validate_merged(res: Resource, current: Row, changes: Row) -> Row:
    """Apply a merge patch to the current state and validate the result as a whole (RFC 7396)."""
    model = res.state or res.create
    merged = {k: current[k] for k in model.model_fields if k in current} | changes
    try:
        valid = model.model_validate(merged)
    except ValidationError as exc:
        errors = validation_errors(exc.errors())
        raise Unprocessable(f"{len(errors)} field(s) invalid after applying the patch.", errors=errors) from exc
    dumped = valid.model_dump()
    links = {link.field for link in res.links}
    return {k: sorted(dumped[k], key=str) if k in links else dumped[k] for k in changes}


async def patch(session: AsyncSession, *, actor: Actor, res: Resource, entity_id: uuid.UUID, data: BaseModel, if_match: str | None) -> None:
    assert res.rules is not None
    table: Any = res.table
    current = await locked_current(session, actor, res, entity_id, if_match)
    requested = data.model_dump(exclude_unset=True)
    notes = {k: requested.pop(k) for k in res.instructions if k in requested}
    changes = validate_merged(res, current, requested)
    changes = {k: v for k, v in changes.items() if audit.jsonable(v) != audit.jsonable(current.get(k))}
    if not changes:
        return  # nothing changes: no new version, no audit event
    context = {**current, **changes}
    await check_references(
        session, res, {k: context.get(k) for k in changes} | {"plan_id": current.get("plan_id")}, current.get("partnership_id")
    )
    await res.rules.before_update(session, actor, current, changes, notes)
    await check_unique(session, res, context, changed=set(changes), exclude=entity_id)
    links = {link.field for link in res.links}
    columns = {k: v for k, v in changes.items() if k not in links}
    result = await session.execute(
        update(table)
        .where(table.id == entity_id, table.version == current["version"])
        .values(**columns, version=table.version + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise PreconditionFailed("The resource changed while this request ran; fetch it again.")
    if links & changes.keys():
        changed_links = {k: v for k, v in changes.items() if k in links}
        keys = {"plan_id": current.get("plan_id"), "partnership_id": current["partnership_id"]}
        await _write_links(session, res, entity_id, changed_links | keys, replace=True)
    await _audit(session, actor, res, "update", current, audit.diff(current, changes) | {k: [None, v] for k, v in notes.items()})
    await session.commit()


async def remove(session: AsyncSession, *, actor: Actor, res: Resource, entity_id: uuid.UUID, if_match: str | None) -> None:
    assert res.rules is not None
    table: Any = res.table
    current = await locked_current(session, actor, res, entity_id, if_match)
    await res.rules.before_delete(session, actor, current)
    try:
        await session.execute(delete(table).where(table.id == entity_id))
        await session.flush()
    except IntegrityError as exc:
        raise InUse(f"The {res.entity} is still referenced by other records; remove or reassign those first.") from exc
    stored = {c.name for c in res.columns} | {link.field for link in res.links}
    changes = {k: [audit.jsonable(v), None] for k, v in current.items() if v is not None and k in stored and k != "id"}
    await _audit(session, actor, res, "delete", current, changes)
    await session.commit()


async def _audit(session: AsyncSession, actor: Actor, res: Resource, action: str, current: Row, changes: dict[str, list[Any]]) -> None:
    partnership_id = current.get("partnership_id", current["id"])
    version = current["version"] + 1 if action == "update" else current["version"]
    await feed.record(session, [feed.Changed(res.entity, current["id"], action, version, partnership_id, current.get("plan_id"))])
    await audit.append(
        session, actor=actor, action=action, entity_type=res.entity, entity_id=current["id"], partnership_id=partnership_id, changes=changes
    )
