"""What a resource is made of, and the generic read path shared by every collection.

A `Resource` names its table, its request/response models, its list filters, the parent it hangs
from (which fixes its partnership), the other resources it references and its many-to-many links.
Reads select columns with SQLAlchemy Core and build plain dicts (no ORM objects, no second
validation), with a fixed number of statements whatever the page size.
"""

import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import JSON, Column, ColumnElement, Select, Table, bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from app.core import audit
from app.core.auth import Actor
from app.core.errors import FieldError, Unprocessable
from app.core.pagination import LAST_DAY, ListQuery, decode_cursor, keyset
from app.core.permissions import READERS, Access
from app.core.reads import Reads, ids_of
from app.models import Entity, Partnership
from app.models.enums import Role

Row = dict[str, Any]
PAGING = {"limit", "cursor", "sort"}
FilterFn = Callable[[Any], ColumnElement[bool]]


@dataclass(frozen=True)
class Ref:
    """A body field naming another resource of the same partnership (`owner_id` → a person)."""

    field: str
    table: type[Entity]
    noun: str


@dataclass(frozen=True)
class Link:
    """A many-to-many field (`concern_ids`) stored in a link table."""

    field: str
    table: Any
    column: str
    target: Any  # the linked table (an entity, or an append-only record such as a reprogramme)
    noun: str
    same_plan: bool = False
    owner: str = "action_id"  # the link table's column naming the resource that holds the link


@dataclass(frozen=True)
class Unique:
    """`field` is unique among rows sharing the `within` columns (`ref` within `plan_id`)."""

    field: str
    within: tuple[str, ...] = ()


# Every resource by its entity type (the change feed asks who may read each).
REGISTRY: dict[str, "Resource"] = {}


def read_roles(entity: str) -> frozenset[Role]:
    """The roles that may read resources of `entity` (every reader for rows that are no resource of their own)."""
    found = REGISTRY.get(entity)
    return found.access.read if found is not None else READERS


@dataclass
class Resource:
    path: str
    entity: str
    tag: str
    table: type[Entity]
    create: type[BaseModel]
    update: type[BaseModel] | None
    read: type[BaseModel]
    query: type[ListQuery]
    parents: tuple[Ref, ...] = ()  # the resource hangs from exactly one of these
    state: type[BaseModel] | None = None  # validates the whole after a patch (default: `create`)
    refs: tuple[Ref, ...] = ()
    links: tuple[Link, ...] = ()
    filters: dict[str, FilterFn] = field(default_factory=dict)
    operations: frozenset[str] = frozenset({"list", "get", "create", "update", "delete"})
    unique: tuple[Unique, ...] = ()
    reader: "Reader | None" = None
    rules: "Rules | None" = None
    access: Access = field(default_factory=Access)
    redact: Callable[[Row, Actor], Row] | None = None
    hidden: frozenset[str] = frozenset()  # columns never read back (token hashes, signing secrets)
    # What a caller's read of a row (as presented to it) discloses that is personal data, for the audit trail; None: nothing.
    personal: Callable[[Row], str | None] | None = None
    instructions: frozenset[str] = frozenset()  # patch fields that are not stored but steer the rules (a reprogramme reason)
    create_example: dict[str, Any] = field(default_factory=dict)
    update_example: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        REGISTRY[self.entity] = self
        if self.reader is None:
            self.reader = Reader(self)
        if self.rules is None:
            self.rules = Rules()

    def present(self, row: Row, actor: Actor) -> Row:
        """The representation this caller may see (inspectors get no contact details, for example)."""
        return self.redact(row, actor) if self.redact is not None else row

    def audit_reads(self, session: AsyncSession, actor: Actor, rows: list[Row]) -> None:
        """Record the reads of personal data among `rows`, as presented to `actor` (see `audit.record_reads`)."""
        if self.personal is None:
            return
        disclosed: dict[str, list[tuple[uuid.UUID, uuid.UUID | None]]] = {}
        for row in rows:
            what = self.personal(row)
            if what is not None:
                partnership_id = row.get("partnership_id")
                disclosed.setdefault(what, []).append(
                    (uuid.UUID(str(row["id"])), uuid.UUID(str(partnership_id)) if partnership_id else None)
                )
        for what, reads in disclosed.items():
            audit.record_reads(session, actor=actor, entity_type=self.entity, reads=reads, what=what)

    @property
    def c(self) -> ReadOnlyColumnCollection[str, Column[Any]]:
        """The table's columns as SQL expressions (typed, unlike the model's attributes)."""
        table: Table = self.table.__table__  # type: ignore[attr-defined]
        return table.c

    @property
    def columns(self) -> list[Column[Any]]:
        return list(self.c)

    @cached_property
    def json_columns(self) -> frozenset[str]:
        return frozenset(c.name for c in self.c if isinstance(c.type, JSON))

    def scope(self, actor: Actor) -> list[ColumnElement[bool]]:
        """Rows of partnerships the caller cannot see are never selected (so they are 404s)."""
        if actor.partnership_id is None:
            return []
        column = self.c.id if self.table is Partnership else self.c.partnership_id
        return [column == actor.partnership_id]


class Rules:
    """Resource-specific rules the generic write path calls; the defaults allow everything."""

    def prepare(self, actor: Actor, values: Row) -> None:
        """Fill defaults from the caller before anything is looked up (no database access here)."""
        return None

    async def before_create(self, session: AsyncSession, actor: Actor, values: Row, parent: Row | None) -> None:
        return None

    async def after_create(self, session: AsyncSession, actor: Actor, row: Row) -> None:
        """Rows that come with the new one (a reporting period's expected returns), in the same unit of work."""
        return None

    async def before_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row, notes: Row) -> None:
        """`changes` may be amended; `notes` holds the patch's instructions (see `Resource.instructions`)."""
        return None

    async def after_update(self, session: AsyncSession, actor: Actor, current: Row, changes: Row) -> None:
        """Rows that follow the change (a period's returns take its new due date), in the same unit of work."""
        return None

    async def before_delete(self, session: AsyncSession, actor: Actor, current: Row) -> None:
        return None


def link_ids(value: str | None) -> list[str]:
    """Aggregated ids (any order; SQLite keeps UUIDs as bare hex) → sorted canonical strings."""
    if not value:
        return []
    return sorted(str(uuid.UUID(v)) for v in value.split(","))


ME = "me"


def me(actor: Actor, field: str) -> uuid.UUID:
    """`?owner_id=me`: the caller's own person (a 422 for a key or token that acts as no person)."""
    if actor.person_id is None:
        raise Unprocessable(
            "`me` is the person your key acts as, and this key acts as no person: give an id.",
            errors=[FieldError(pointer=f"/{field}", message="the caller has no person")],
        )
    return actor.person_id


class Reader:
    """Builds list pages and single representations of one resource."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self._lists: dict[tuple[Any, ...], Select[Any]] = {}

    def statement(self) -> Select[Any]:
        res = self.resource
        columns: list[Any] = [c for c in res.columns if c.name not in res.hidden]
        for link in res.links:
            agg = (
                select(ids_of(getattr(link.table, link.column)))
                .where(getattr(link.table, link.owner) == res.c.id)
                .scalar_subquery()
                .label(link.field)
            )
            columns.append(agg)
        return select(*columns)

    def shape(self, row: Row) -> Row:
        for key, value in row.items():
            if isinstance(value, Decimal):
                row[key] = f"{value:.2f}"
        for link in self.resource.links:
            row[link.field] = link_ids(row[link.field])
        return row

    async def finish(self, reads: Reads, rows: list[Row]) -> list[Row]:
        """Hook for readers that embed related rows: one more statement for the whole page."""
        return rows

    @cached_property
    def base(self) -> Select[Any]:
        """Built once: constructing a statement costs more than executing a cached one."""
        return self.statement()

    @cached_property
    def by_id(self) -> Select[Any]:
        return self.base.where(self.resource.c.id == bindparam("entity_id"))

    @cached_property
    def by_id_in_partnership(self) -> Select[Any]:
        column = self.resource.c.id if self.resource.table is Partnership else self.resource.c.partnership_id
        return self.by_id.where(column == bindparam("scope_id"))

    async def run(self, reads: Reads, stmt: Select[Any], params: dict[str, Any], key: Hashable | None) -> list[Row]:
        rows = [self.shape(row) for row in await reads.rows(stmt, params, cache_key=key)]
        return await self.finish(reads, rows)

    async def list(self, reads: Reads, actor: Actor, query: ListQuery) -> list[Row]:
        """A page of the list. Statements are cached per shape of query, so a page costs no SQL building."""
        res = self.resource
        names = tuple(sorted(n for n in query.model_fields_set - PAGING if getattr(query, n) is not None))
        params: dict[str, Any] = {n: me(actor, n) if getattr(query, n) == ME else getattr(query, n) for n in names}
        # A filter given several values (`?status=a&status=b`) matches any of them: one bound value each (the direct read
        # path binds no lists), so the statement is cached per number of values.
        several = {n: len(params[n]) for n in names if isinstance(params[n], list) and n not in self.dynamic_filters}
        for name in several:
            params.update({f"{name}_{i}": value for i, value in enumerate(params.pop(name))})
        params["limit"] = query.limit + 1
        if query.cursor is not None:
            params["after_value"], params["after_id"] = decode_cursor(query.cursor, query.sort)
        scoped = actor.partnership_id is not None
        if scoped:
            params["scope_id"] = actor.partnership_id
        key = (names, tuple(sorted(several.items())), query.sort, query.cursor is not None, scoped)
        stmt = self._lists.get(key)
        if stmt is None:
            after, order = keyset(
                self.sort_column(query.sort), res.c.id, descending=query.sort.startswith("-"), after_cursor=query.cursor is not None
            )
            where = [after] if after is not None else []
            if scoped:
                where.append((res.c.id if res.table is Partnership else res.c.partnership_id) == bindparam("scope_id"))
            dynamic = False
            for name in names:
                if name in self.dynamic_filters:
                    dynamic = True
                    where.append(await self.dynamic_filter(reads, actor, name, params.pop(name)))
                elif name in several:
                    where.append(or_(*(self.filter(name, bindparam(f"{name}_{i}")) for i in range(several[name]))))
                else:
                    where.append(self.filter(name, bindparam(name)))
            stmt = self.base.where(*where).order_by(*order).limit(bindparam("limit"))
            if not dynamic:
                self._lists[key] = stmt
        cacheable = self._lists.get(key) is stmt
        return await self.run(reads, stmt, params, (self.resource.path, "list", *key) if cacheable else None)

    def sort_column(self, sort: str) -> ColumnElement[Any]:
        """What a list is ordered by: creation by default, or a field people read lists by (`ref`, `due_on`); an undated
        row sorts after every date (`pagination.LAST_DAY`), the same in SQL and in the cursor."""
        column = self.resource.c[sort.lstrip("-")]
        if sort.lstrip("-").endswith("_on"):
            return cast(ColumnElement[Any], func.coalesce(column, LAST_DAY))
        return cast(ColumnElement[Any], column)

    dynamic_filters: frozenset[str] = frozenset()

    async def dynamic_filter(self, reads: Reads, actor: Actor, name: str, value: Any) -> ColumnElement[bool]:
        """Filters whose SQL depends on more than the value (see ActionReader's `overdue`)."""
        raise NotImplementedError(name)

    def filter(self, name: str, value: Any) -> ColumnElement[bool]:
        res = self.resource
        if name in res.filters:
            clause: ColumnElement[bool] = res.filters[name](value)
            return clause
        if name == "updated_since":
            return cast(ColumnElement[bool], res.c.updated_at >= value)
        return cast(ColumnElement[bool], res.c[name] == value)

    async def get(self, reads: Reads, actor: Actor, id_: uuid.UUID) -> Row | None:
        if actor.partnership_id is None:
            rows = await self.run(reads, self.by_id, {"entity_id": id_}, (self.resource.path, "id"))
        else:
            params = {"entity_id": id_, "scope_id": actor.partnership_id}
            rows = await self.run(reads, self.by_id_in_partnership, params, (self.resource.path, "id-in-partnership"))
        return rows[0] if rows else None
