"""The generic write path: create, merge-patch and delete any `Resource`, atomically and audited.

Each write runs in the request's unit of work (`app.core.uow`): visibility and reference checks, the
resource's own rules, the change, its link rows, and its audit event and change-feed row recorded for
the commit-time append. Nothing here commits; nothing is written when any step fails.
"""

import uuid
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Uuid, cast, delete, func, insert, literal, null, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core import changes as feed
from app.core.auth import Actor
from app.core.errors import (
    Conflict,
    DomainError,
    Duplicate,
    DuplicateRef,
    FieldError,
    InUse,
    NotFound,
    PreconditionFailed,
    Unprocessable,
    validation_errors,
)
from app.core.http import dumps, etag_for, require_match
from app.core.reads import SqlAlchemyReads
from app.core.resources import Ref, Resource, Row
from app.models import Action, Concern, Milestone, Partnership, Plan, utcnow
from app.models.enums import PlanStatus


def _plan_column(table: Any) -> Any:
    """A row's plan: its own `plan_id`, else its concern's, its action's or its milestone's action's (evidence hangs
    from one of the three; milestones and progress updates from an action)."""
    if hasattr(table, "plan_id"):
        return table.plan_id
    # Each subquery correlates to `table` explicitly: nested in another subquery (the plan's status in `_probe`), an
    # automatic correlation would look only one level up and select every row of `table` instead.
    through: list[Any] = []
    if hasattr(table, "concern_id"):
        through.append(select(col(Concern.plan_id)).where(col(Concern.id) == table.concern_id).correlate(table).scalar_subquery())
    if hasattr(table, "action_id"):
        through.append(select(col(Action.plan_id)).where(col(Action.id) == table.action_id).correlate(table).scalar_subquery())
    if hasattr(table, "milestone_id"):
        milestone_action = (
            select(col(Milestone.action_id)).where(col(Milestone.id) == table.milestone_id).correlate(table).scalar_subquery()
        )
        through.append(select(col(Action.plan_id)).where(col(Action.id) == milestone_action).correlate(table).scalar_subquery())
    if not through:
        return null()
    return through[0] if len(through) == 1 else func.coalesce(*through)


def _probe(tag: int, table: Any, ids: list[uuid.UUID]) -> Any:
    scope: Any = table.id if table is Partnership else table.partnership_id
    plan = _plan_column(table)
    # The status of the plan the row is in (the plan's own for a plan), so a write under a parent needs no second
    # statement to know whether that plan is read-only history (`refuse_history`).
    status: Any = table.status if table is Plan else select(col(Plan.status)).where(col(Plan.id) == plan).scalar_subquery()
    columns = [
        literal(tag).label("tag"),
        table.id.label("id"),
        scope.label("partnership_id"),
        cast(plan, Uuid).label("plan_id"),
        status.label("plan_status"),
    ]
    return select(*columns).where(table.id.in_(ids))


async def lookup(session: AsyncSession, wanted: list[tuple[Any, list[uuid.UUID]]]) -> list[dict[uuid.UUID, Row]]:
    """Rows (`id`, `partnership_id`, `plan_id`) of several tables by id, in one statement: one dict per entry of `wanted`."""
    probes = [_probe(n, table, ids) for n, (table, ids) in enumerate(wanted) if ids]
    found: list[dict[uuid.UUID, Row]] = [{} for _ in wanted]
    if not probes:
        return found
    statement: Any = union_all(*probes) if len(probes) > 1 else probes[0]
    result = await session.execute(statement)
    for row in result.mappings():
        found[row["tag"]][row["id"]] = dict(row)
    return found


async def _load(session: AsyncSession, table: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, Row]:
    return (await lookup(session, [(table, ids)]))[0]


async def plan_of(session: AsyncSession, table: Any, entity_id: uuid.UUID) -> uuid.UUID | None:
    """The plan a stored row belongs to, for its change-feed row (one statement)."""
    plan_id: uuid.UUID | None = (await _load(session, table, [entity_id])).get(entity_id, {}).get("plan_id")
    return plan_id


def _invisible(ref: Ref, value: uuid.UUID, missing: type[DomainError]) -> DomainError:
    if missing is NotFound:
        return NotFound(f"No {ref.noun} with id {value}.")
    return missing(
        f"No {ref.noun} with id {value} is visible to you.", errors=[FieldError(pointer=f"/{ref.field}", message=f"unknown {ref.noun}")]
    )


class PlanSuperseded(Conflict):
    type, title = "/problems/plan-superseded", "The plan is read-only history"


async def refuse_history(session: AsyncSession, plan_id: uuid.UUID | None) -> None:
    """A superseded plan, and everything in it, is read-only: its successor (`POST /plans/{id}/successor`) carries
    the work on. Every write of the generic path asks this first."""
    if plan_id is None:
        return
    # FOR KEY SHARE (PostgreSQL): a write waits for a succession holding the plan, then sees it superseded.
    query = select(col(Plan.status)).where(col(Plan.id) == plan_id).with_for_update(read=True, key_share=True)
    status = (await session.execute(query)).scalar_one_or_none()
    if status == PlanStatus.superseded:
        successor = (await session.execute(select(col(Plan.id)).where(col(Plan.predecessor_id) == plan_id))).scalar_one_or_none()
        where = f"; write to its successor, plan {successor}" if successor else ""
        raise PlanSuperseded(f"Plan {plan_id} was superseded and is kept as read-only history{where}.")


async def load_parent(session: AsyncSession, actor: Actor, ref: Ref, value: uuid.UUID) -> Row:
    found = (await _load(session, ref.table, [value])).get(value)
    if found is None or not actor.sees(found["partnership_id"]):
        raise _invisible(ref, value, Unprocessable)
    return found


def _wanted(res: Resource, values: Row) -> list[tuple[Any, list[uuid.UUID]]]:
    refs: list[tuple[Any, list[uuid.UUID]]] = [(ref.table, [values[ref.field]] if values.get(ref.field) else []) for ref in res.refs]
    return refs + [(link.target, list(values.get(link.field) or [])) for link in res.links]


def _reference_errors(res: Resource, values: Row, partnership_id: uuid.UUID | None, found: list[dict[uuid.UUID, Row]]) -> None:
    """Every id in the body must name a resource of the same partnership (and plan, for links)."""
    errors: list[FieldError] = []
    for ref, rows in zip(res.refs, found, strict=False):
        value = values.get(ref.field)
        if value is None:
            continue
        row = rows.get(value)
        if row is None or row["partnership_id"] != partnership_id:
            errors.append(FieldError(pointer=f"/{ref.field}", message=f"no {ref.noun} with this id in the partnership"))
    for link, rows in zip(res.links, found[len(res.refs) :], strict=True):
        for index, ident in enumerate(values.get(link.field) or []):
            row = rows.get(ident)
            if row is None or row["partnership_id"] != partnership_id:
                errors.append(FieldError(pointer=f"/{link.field}/{index}", message=f"no {link.noun} with this id in the partnership"))
            elif link.same_plan and row["plan_id"] != values.get("plan_id"):
                errors.append(FieldError(pointer=f"/{link.field}/{index}", message=f"the {link.noun} belongs to another plan"))
    if errors:
        raise Unprocessable("Some referenced resources do not exist or are not visible.", errors=errors)


async def check_references(session: AsyncSession, res: Resource, values: Row, partnership_id: uuid.UUID | None) -> None:
    """Every id in the body must name a resource of the same partnership (and plan, for links): one statement."""
    wanted = _wanted(res, values)
    if any(ids for _, ids in wanted):
        _reference_errors(res, values, partnership_id, await lookup(session, wanted))


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


async def create(
    session: AsyncSession,
    *,
    actor: Actor,
    res: Resource,
    data: BaseModel,
    missing_parent: type[DomainError] = Unprocessable,
    server_set: Row | None = None,
) -> Row:
    """Insert the resource; returns the stored row. The parent, every reference and every link are looked up in one
    statement; an invisible parent is `missing_parent` (a 422 for a body field, a 404 for a parent in the path).
    `server_set` holds columns the service fills and no request may (a successor's `predecessor_id`): stored, audited
    and in the change feed like the rest."""
    assert res.rules is not None
    values = data.model_dump() | (server_set or {})
    res.rules.prepare(actor, values)
    via = next((ref for ref in res.parents if values.get(ref.field) is not None), None)
    wanted = _wanted(res, values)
    if via is not None:
        wanted.append((via.table, [values[via.field]]))
    found = await lookup(session, wanted) if any(ids for _, ids in wanted) else [{} for _ in wanted]
    parent: Row | None = None
    partnership_id: uuid.UUID | None = None
    if via is not None:
        parent = found.pop().get(values[via.field])
        if parent is None or not actor.sees(parent["partnership_id"]):
            raise _invisible(via, values[via.field], missing_parent)
        partnership_id = values["partnership_id"] = parent["partnership_id"]
    if parent is None or parent.get("plan_status") == PlanStatus.superseded:  # the lookup read the parent's plan's status
        await refuse_history(session, _plan_of(res, values, parent))
    await res.rules.before_create(session, actor, values, parent)
    _reference_errors(res, values, partnership_id, found)
    await check_unique(session, res, values, changed=set(values))
    links = {link.field for link in res.links}
    now = utcnow()
    row: Row = {
        "id": uuid.uuid4(),
        **{k: _stored(res, k, v) for k, v in values.items() if k not in links},
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    entity = res.table(**row)
    session.add(entity)
    await session.flush()
    if res.table is Partnership:
        partnership_id = entity.id
    await _write_links(session, res, entity.id, values, replace=False)
    changes = {k: [None, audit.jsonable(v)] for k, v in values.items() if v is not None}
    plan_id = _own_plan(res, row) or _plan_of(res, values, parent)
    feed.record(session, [feed.Changed(res.entity, entity.id, "create", 1, partnership_id, plan_id)])
    audit.record(
        session, actor=actor, action="create", entity_type=res.entity, entity_id=entity.id, partnership_id=partnership_id, changes=changes
    )
    created = row | {k: values[k] for k in links}
    await res.rules.after_create(session, actor, created)
    return created


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
        # Rules of single fields judge only what the patch sets (`schemas.touched`): a stored value that a later rule
        # would refuse never blocks a patch of another field.
        valid = model.model_validate(merged, context={"patched": set(changes)})
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
    plan_id = await _plan_of_row(session, res, current)
    await refuse_history(session, plan_id)
    requested = data.model_dump(exclude_unset=True)
    notes = {k: requested.pop(k) for k in res.instructions if k in requested}
    changes = validate_merged(res, current, requested)
    changes = {k: v for k, v in changes.items() if audit.jsonable(v) != audit.jsonable(current.get(k))}
    if not changes:
        if notes:  # an instruction with nothing to steer (a reprogramme reason without a move) is the rules' to refuse
            await res.rules.before_update(session, actor, current, changes, notes)
        return  # nothing changes: no new version, no audit event
    context = {**current, **changes}
    await check_references(
        session, res, {k: context.get(k) for k in changes} | {"plan_id": current.get("plan_id")}, current.get("partnership_id")
    )
    await res.rules.before_update(session, actor, current, changes, notes)
    await check_unique(session, res, context, changed=set(changes), exclude=entity_id)
    links = {link.field for link in res.links}
    columns = {k: _stored(res, k, v) for k, v in changes.items() if k not in links}
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
    await _audit(session, actor, res, "update", current, audit.diff(current, changes) | {k: [None, v] for k, v in notes.items()}, plan_id)
    await res.rules.after_update(session, actor, current, changes)


async def remove(session: AsyncSession, *, actor: Actor, res: Resource, entity_id: uuid.UUID, if_match: str | None) -> None:
    assert res.rules is not None
    table: Any = res.table
    current = await locked_current(session, actor, res, entity_id, if_match)
    plan_id = await _plan_of_row(session, res, current)
    await refuse_history(session, plan_id)
    await res.rules.before_delete(session, actor, current)
    try:
        await session.execute(delete(table).where(table.id == entity_id))
        await session.flush()
    except IntegrityError as exc:
        raise InUse(f"The {res.entity} is still referenced by other records; remove or reassign those first.") from exc
    stored = {c.name for c in res.columns} | {link.field for link in res.links}
    changes = {k: [audit.jsonable(v), None] for k, v in current.items() if v is not None and k in stored and k != "id"}
    await _audit(session, actor, res, "delete", current, changes, plan_id)


async def _audit(
    session: AsyncSession, actor: Actor, res: Resource, action: str, current: Row, changes: dict[str, list[Any]], plan_id: uuid.UUID | None
) -> None:
    partnership_id = current.get("partnership_id", current["id"])
    version = current["version"] + 1 if action == "update" else current["version"]
    feed.record(session, [feed.Changed(res.entity, current["id"], action, version, partnership_id, plan_id)])
    audit.record(
        session, actor=actor, action=action, entity_type=res.entity, entity_id=current["id"], partnership_id=partnership_id, changes=changes
    )


def _stored(res: Resource, name: str, value: Any) -> Any:
    """A value as its column stores it: JSON columns hold JSON (ids and dates as text)."""
    return audit.jsonable(value) if name in res.json_columns else value


def _plan_of(res: Resource, values: Row, parent: Row | None) -> uuid.UUID | None:
    """The plan a new row belongs to, for the change feed: its own `plan_id`, else its parent's."""
    plan_id: uuid.UUID | None = values.get("plan_id") or (parent or {}).get("plan_id")
    return plan_id


def _own_plan(res: Resource, row: Row) -> uuid.UUID | None:
    """A plan's changes name the plan itself."""
    return row.get("id") if res.table is Plan else None


async def _plan_of_row(session: AsyncSession, res: Resource, current: Row) -> uuid.UUID | None:
    """The plan a stored row is in (a plan's own id), found once per write: history's guard and the change feed."""
    return _own_plan(res, current) or current.get("plan_id") or await _plan_of_parent(session, res, current)


async def _plan_of_parent(session: AsyncSession, res: Resource, current: Row) -> uuid.UUID | None:
    """The plan of a row that hangs from an action (a milestone, evidence), for the change feed."""
    for ref in res.parents:
        value = current.get(ref.field)
        if value is not None:
            return await plan_of(session, ref.table, value)
    return None
