"""Importing a council's tracker into a plan: concerns, actions, the latest progress, milestones, measures and their
monthly history.

Every row goes through the same write path as the API (`crud.create` / `crud.patch` with each resource's rules,
audit events and change feed), each in its own savepoint so that one refused row is reported with its cell and
reason while the others are tried. Then the unit of work decides: with `dry_run`, or when any row was refused,
nothing is kept (all or nothing); otherwise everything commits together, with one audit event for the import.

Rows match what the plan holds by reference: concerns and actions by `ref`, milestones by their action and title,
measures by name, history by measure and month. A row that matches and says nothing new changes nothing, so the
same file imported twice leaves the plan as it was. An empty cell, or a column the mapping leaves out, never clears
what the plan holds; an existing concern is never rewritten (its words are the inspection report's).
"""

import asyncio
import dataclasses
import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit, crud, uow
from app.core.auth import Actor
from app.core.errors import DomainError, FieldError, MalformedRequest, NotFound, Unprocessable, validation_errors
from app.core.resources import Resource
from app.imports import cells
from app.imports import schemas as s
from app.imports.template import DEFAULT_MAPPING
from app.imports.workbook import Book, Cell, Table, read_book
from app.measures import schemas as ms
from app.measures.resources import measures, observations
from app.models import (
    Action,
    ActionConcern,
    Concern,
    ImportMapping,
    Measure,
    MeasureConcern,
    Milestone,
    Observation,
    Person,
    Plan,
    ProgressUpdate,
)
from app.models.enums import ConcernKind, Direction, Framework, MeasureUnit
from app.plans import framework
from app.plans import schemas as ps
from app.plans.resources import actions, concerns, milestones, progress_updates

HEADER_SEARCH_ROWS = 30
KINDS: tuple[s.Kind, ...] = ("concern", "action", "progress_update", "milestone", "measure", "observation")
DEFAULT_CONCERN_KIND = {
    Framework.las_2016: ConcernKind.area_of_significant_weakness,
    Framework.area_send_2023: ConcernKind.area_for_priority_action,
    None: ConcernKind.recommendation,
}


class ImportRefused(Unprocessable):
    type, title = "/problems/import-refused", "Import refused"


def _heading(value: object) -> str:
    return " ".join(str(value).split()).casefold() if value is not None else ""


@dataclass
class Located:
    table: Table
    header: int  # index of the heading row in table.rows
    columns: dict[str, int]  # field → column index
    headings: dict[str, str]  # field → heading as the mapping gives it
    history: list[tuple[int, date, date]] = field(default_factory=list)  # column index, month's first and last day


def locate(
    book: Book, name: str, table_mapping: s.ActionTable | s.MilestoneTable | s.MeasureTable, pointer: str, *, lenient: bool = False
) -> Located | None:
    """Find the sheet and its heading row (given, or the first of the top rows that holds every mapped heading).
    `lenient` (the template's mapping, used when none is given): a missing sheet is no table, and only the headings
    of required fields must be there; a mapping the client gave must be found whole."""
    table = book.table(table_mapping.sheet if book.format == "xlsx" else None)
    if table is None:
        if lenient:
            return None
        sheets = ", ".join(t.name for t in book.tables)
        raise Unprocessable(
            f"The workbook has no sheet called {table_mapping.sheet!r} for the {name}; it has: {sheets}.",
            errors=[FieldError(pointer=f"{pointer}/sheet", message="no such sheet")],
        )
    model = type(table_mapping.columns)
    headings = {k: v for k, v in table_mapping.columns.model_dump().items() if v is not None}
    wanted = {k: _heading(v) for k, v in headings.items()}
    needed = {k for k in wanted if model.model_fields[k].is_required()} if lenient else set(wanted)
    candidates = [table_mapping.header_row - 1] if table_mapping.header_row else range(min(HEADER_SEARCH_ROWS, len(table.rows)))
    best: tuple[int, set[str]] | None = None
    for index in candidates:
        if index >= len(table.rows):
            break
        present: dict[str, int] = {}
        twice: set[str] = set()
        for i, c in enumerate(table.rows[index]):
            if c.value is not None and (c.span == 1 or c.first):
                twice |= {_heading(c.value)} if _heading(c.value) in present else set()
                present.setdefault(_heading(c.value), i)
        missing = {k for k in needed if wanted[k] not in present}
        if not missing:
            ambiguous = sorted(k for k, h in wanted.items() if h in twice)
            if ambiguous:
                raise Unprocessable(
                    f"Sheet {table.name!r} has more than one column headed {', '.join(repr(headings[k]) for k in ambiguous)}: "
                    "rename one, or give header_row and distinct headings.",
                    errors=[FieldError(pointer=f"{pointer}/columns/{k}", message="heading in more than one column") for k in ambiguous],
                )
            columns = {k: present[h] for k, h in wanted.items() if h in present}
            located = Located(table, index, columns, {k: headings[k] for k in columns})
            if isinstance(table_mapping, s.MeasureTable) and table_mapping.history_from:
                located.history = _history(table, index, present, table_mapping.history_from, pointer)
            return located
        if best is None or len(missing) < len(best[1]):
            best = (index, missing)
    where = f"row {table_mapping.header_row}" if table_mapping.header_row else f"the first {HEADER_SEARCH_ROWS} rows"
    absent = sorted(best[1]) if best else sorted(needed)
    raise Unprocessable(
        f"Sheet {table.name!r}: {where} hold no row with every heading the mapping names for the {name}; "
        f"not found: {', '.join(repr(headings[k]) for k in absent)}.",
        errors=[FieldError(pointer=f"{pointer}/columns/{k}", message=f"heading {headings[k]!r} not found") for k in absent],
    )


def _history(table: Table, index: int, present: dict[str, int], first: str, pointer: str) -> list[tuple[int, date, date]]:
    start = present.get(_heading(first))
    if start is None:
        raise Unprocessable(
            f"Sheet {table.name!r} has no heading {first!r} where the history starts.",
            errors=[FieldError(pointer=f"{pointer}/history_from", message="heading not found")],
        )
    months = []
    for column, cell in enumerate(table.rows[index]):
        if column < start or cell.value is None:
            continue
        try:
            begin, end = cells.parse_month(cell.value)
        except cells.CellError:
            continue  # a notes or comments column after the months
        months.append((column, begin, end))
    return months


@dataclass
class Line:
    """One data row of a table, its cells by field."""

    located: Located
    number: int
    cells: dict[str, Cell]

    def value(self, name: str) -> Any:
        cell = self.cells.get(name)
        return None if cell is None else cell.value

    def problem(self, name: str | None, reason: str) -> s.CellProblem:
        cell = self.cells.get(name) if name else None
        return s.CellProblem(cell=cell.ref if cell else None, column=self.located.headings.get(name or ""), reason=reason)


def lines(located: Located) -> list[Line]:
    """The data rows under the headings: empty rows and banner rows (one merged cell across the table) left out."""
    out = []
    for index in range(located.header + 1, len(located.table.rows)):
        row = located.table.rows[index]
        by_field = {k: row[i] for k, i in located.columns.items() if i < len(row)}
        values = [c for c in by_field.values() if c.value is not None]
        if not values:
            continue
        if len(located.columns) > 1 and all(c.span > 1 and c.value == values[0].value for c in values) and len(values) > 1:
            continue  # a section's banner
        line = Line(located, index + 1, by_field)
        for column, _, _ in located.history:
            if column < len(row):
                line.cells[f"history:{column}"] = row[column]
        out.append(line)
    return out


class Refusal(Exception):
    def __init__(self, problems: list[s.CellProblem]) -> None:
        super().__init__("refused")
        self.problems = problems


@dataclass
class Importer:
    session: AsyncSession
    actor: Actor
    plan: dict[str, Any]
    report: list[s.RowReport] = field(default_factory=list)
    concerns: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    action_concerns: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)
    refused_actions: set[str] = field(default_factory=set)
    reported_concerns: set[str] = field(default_factory=set)
    people: dict[str, list[uuid.UUID]] = field(default_factory=dict)
    reported: dict[uuid.UUID, set[str]] = field(default_factory=dict)  # every narrative each action has had
    seen: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, key) → the row it was first read from
    milestones: dict[tuple[uuid.UUID, str], dict[str, Any]] = field(default_factory=dict)
    measures: dict[str, dict[str, Any]] = field(default_factory=dict)
    measure_concerns: dict[uuid.UUID, set[uuid.UUID]] = field(default_factory=dict)
    observations: dict[tuple[uuid.UUID, date, date], dict[str, Any]] = field(default_factory=dict)
    concern_kind: ConcernKind = ConcernKind.recommendation

    @property
    def plan_id(self) -> uuid.UUID:
        return uuid.UUID(str(self.plan["id"]))

    async def _rows(self, table: Any, names: tuple[str, ...], *where: Any) -> list[Any]:
        query: Any = select(*(getattr(table, n) for n in names)).where(*where)
        return list((await self.session.execute(query)).all())

    async def load(self) -> None:
        """What the plan holds, read once: every row of the file is matched against these maps."""
        plan_id = self.plan_id
        for r in await self._rows(Concern, ("id", "ref", "title"), col(Concern.plan_id) == plan_id):
            self.concerns[r.ref.casefold()] = dict(r._mapping)
        for r in await self._rows(Action, ("id", "ref", *ACTION_FIELDS), col(Action.plan_id) == plan_id):
            self.actions[r.ref.casefold()] = dict(r._mapping)
        for r in await self._rows(ActionConcern, ("action_id", "concern_id"), col(ActionConcern.plan_id) == plan_id):
            self.action_concerns.setdefault(r.action_id, set()).add(r.concern_id)
        ids = [a["id"] for a in self.actions.values()]
        if ids:
            for r in await self._rows(ProgressUpdate, ("action_id", "narrative"), col(ProgressUpdate.action_id).in_(ids)):
                self.reported.setdefault(r.action_id, set()).add(r.narrative)
            names = ("id", "action_id", "title", "due_on", "status", "met_on")
            for r in await self._rows(Milestone, names, col(Milestone.action_id).in_(ids)):
                self.milestones[(r.action_id, _heading(r.title))] = dict(r._mapping)
        who = ("id", "email", "external_id", "display_name", "active")
        for r in await self._rows(Person, who, col(Person.partnership_id) == self.plan["partnership_id"]):
            for key in {f"e:{(r.email or '').casefold()}", f"x:{r.external_id or ''}", f"n:{_heading(r.display_name)}"}:
                if not key.endswith(":"):
                    self.people.setdefault(key if r.active else f"left:{key}", []).append(r.id)
        for r in await self._rows(Measure, ("id", "name", *MEASURE_FIELDS), col(Measure.plan_id) == plan_id):
            self.measures[_heading(r.name)] = dict(r._mapping)
        measure_ids = [m["id"] for m in self.measures.values()]
        if measure_ids:
            for r in await self._rows(MeasureConcern, ("measure_id", "concern_id"), col(MeasureConcern.plan_id) == plan_id):
                self.measure_concerns.setdefault(r.measure_id, set()).add(r.concern_id)
            periods = ("id", "measure_id", "period_start_on", "period_end_on", "value")
            for r in await self._rows(Observation, periods, col(Observation.measure_id).in_(measure_ids)):
                self.observations[(r.measure_id, r.period_start_on, r.period_end_on)] = dict(r._mapping)
        answers = await framework.plan_framework(
            self.session, self.plan["kind"], self.plan.get("inspection_id"), self.plan["partnership_id"]
        )
        self.concern_kind = DEFAULT_CONCERN_KIND[answers]

    # -- writing one row -------------------------------------------------------------------------------------

    def once(self, line: Line, kind: s.Kind, key: str, field_name: str) -> None:
        """Each action, milestone and measure once in a file: a second row for it would be applied after the first
        and again on every import, so the same file would never import as unchanged."""
        first = self.seen.setdefault((kind, key.casefold()), line.number)
        if first != line.number:
            raise Refusal([line.problem(field_name, f"{kind} {key} is also on row {first} of {line.located.table.name!r}")])

    def _record(self, line: Line, kind: s.Kind, key: str, outcome: s.Outcome, fields: list[str], problems: list[s.CellProblem]) -> None:
        self.report.append(
            s.RowReport(
                sheet=line.located.table.name, row=line.number, kind=kind, key=key, outcome=outcome, fields=fields, problems=problems
            )
        )

    async def _write(
        self,
        line: Line,
        kind: s.Kind,
        key: str,
        fields: list[str],
        res: Resource,
        model: type[BaseModel],
        values: dict[str, Any],
        entity_id: uuid.UUID | None = None,
    ) -> tuple[bool, dict[str, Any] | None]:
        """Create (or, given `entity_id`, patch) through the API's write path, in a savepoint: a refusal is reported
        against the row's cells and undone alone. Returns whether it was written, and the created row."""
        try:
            async with self.session.begin_nested():
                data = model.model_validate(values)
                if entity_id is None:
                    row = await crud.create(self.session, actor=self.actor, res=res, data=data)
                else:
                    row = None
                    await crud.patch(self.session, actor=self.actor, res=res, entity_id=entity_id, data=data, if_match="*")
        except ValidationError as exc:
            problems = [line.problem(_field_of(e.pointer), e.message) for e in validation_errors(exc.errors())]
            self._record(line, kind, key, "refused", [], problems)
            return False, None
        except DomainError as exc:
            problems = [line.problem(_field_of(e.pointer), e.message) for e in exc.errors or []]
            self._record(line, kind, key, "refused", [], [line.problem(None, exc.detail), *problems])
            return False, None
        except IntegrityError:
            self._record(line, kind, key, "refused", [], [line.problem(None, "conflicts with a record the plan already holds")])
            return False, None
        self._record(line, kind, key, "created" if entity_id is None else "updated", fields, [])
        return True, row

    def _read(self, line: Line, readers: dict[str, Callable[[Any], Any]]) -> dict[str, Any]:
        """The row's values by field (empty cells left out); every unreadable cell is a problem of the row."""
        values, problems = {}, []
        for name, read in readers.items():
            raw = line.value(name)
            if raw is None:
                continue
            try:
                value = read(raw)
            except cells.CellError as exc:
                problems.append(line.problem(name, str(exc)))
                continue
            if value is not None:
                values[name] = value
        if problems:
            raise Refusal(problems)
        return values

    # -- concerns and actions ----------------------------------------------------------------------------------

    async def concern_ids(self, line: Line) -> list[uuid.UUID]:
        """The row's concerns, created the first time a new reference is seen (an existing one is left as it is)."""
        named: list[tuple[str, str | None, str]] = []  # ref, title, field the ref came from
        if line.value("concern") is not None:
            try:
                ref, title = cells.concern(line.value("concern"))
            except cells.CellError as exc:
                raise Refusal([line.problem("concern", str(exc))]) from exc
            named.append((ref, title, "concern"))
        if line.value("concern_ref") is not None:
            title = cells.text(line.value("concern_title")) if line.value("concern_title") is not None else None
            for ref in (r.strip() for r in cells.text(line.value("concern_ref")).split(",")):
                if ref:
                    named.append((ref, title, "concern_ref"))
        ids = []
        for ref, title, source in named:
            found = self.concerns.get(ref.casefold())
            if found is None:
                if title is None:
                    raise Refusal([line.problem(source, f"concern {ref} is not in the plan, and the row gives no title to create it")])
                try:
                    kind = cells.concern_kind(line.value("concern_kind")) if line.value("concern_kind") is not None else self.concern_kind
                except cells.CellError as exc:
                    raise Refusal([line.problem("concern_kind", str(exc))]) from exc
                values = {"plan_id": self.plan_id, "ref": ref, "kind": kind, "title": title}
                _, row = await self._write(line, "concern", ref, ["ref", "kind", "title"], concerns, ps.ConcernCreate, values)
                if row is None:
                    raise Refusal([line.problem(source, f"concern {ref} could not be created (see its row)")])
                found = self.concerns[ref.casefold()] = {"id": row["id"], "ref": ref, "title": title}
            elif ref.casefold() not in self.reported_concerns:
                self._record(line, "concern", ref, "unchanged", [], [])
            self.reported_concerns.add(ref.casefold())
            if found["id"] not in ids:
                ids.append(found["id"])
        return ids

    def owner(self, raw: Any) -> uuid.UUID:
        written = cells.text(raw)
        keys = [f"e:{written.casefold()}"] if "@" in written else [f"x:{written}", f"n:{_heading(written)}"]
        for key in [*keys, *(f"left:{k}" for k in keys)]:  # a current person first; a leaver is refused by the rules
            found = self.people.get(key)
            if found and len(found) > 1:
                raise cells.CellError(f"{written!r} names {len(found)} people; use their e-mail or HR id")
            if found:
                return found[0]
        raise cells.CellError(f"no one in the partnership has the e-mail, HR id or name {written!r} (sync people first)")

    async def action(self, line: Line) -> None:
        ref_cell = line.value("ref")
        if ref_cell is None:
            self._record(line, "action", "", "refused", [], [line.problem("ref", "the action's reference is empty")])
            return
        ref = cells.text(ref_cell, line.cells["ref"].number_format)
        try:
            self.once(line, "action", ref, "ref")
            values = self._read(
                line,
                {"title": cells.text, "description": cells.text, "owner": self.owner, "priority": cells.priority, "status": cells.status,
                 "planned_start_on": cells.parse_date, "due_on": cells.parse_date, "forecast_on": cells.parse_date,
                 "completed_on": cells.parse_date, "success_criteria": cells.text, "rag": cells.rag, "progress": cells.text,
                 "reprogramme_reason": cells.text},
            )  # fmt: skip
            concern_ids = await self.concern_ids(line)
        except Refusal as refusal:
            self.refused_actions.add(ref.casefold())
            self._record(line, "action", ref, "refused", [], refusal.problems)
            return
        if "owner" in values:
            values["owner_id"] = values.pop("owner")
        rag, progress, reason = values.pop("rag", None), values.pop("progress", None), values.pop("reprogramme_reason", None)
        existing = self.actions.get(ref.casefold())
        if existing is None:
            for name, why in (("title", "a new action needs a title"), ("concern", "a new action needs the concern it answers")):
                if (name == "title" and "title" not in values) or (name == "concern" and not concern_ids):
                    self.refused_actions.add(ref.casefold())
                    column = name if name == "title" else ("concern" if "concern" in line.cells else "concern_ref")
                    self._record(line, "action", ref, "refused", [], [line.problem(column, why)])
                    return
            body = {"plan_id": self.plan_id, "ref": ref, "concern_ids": concern_ids, **values}
            _, row = await self._write(line, "action", ref, sorted(["concern_ids", *values]), actions, ps.ActionCreate, body)
            if row is None:
                self.refused_actions.add(ref.casefold())
                return
            existing = self.actions[ref.casefold()] = {"id": row["id"], "ref": ref, **{k: row.get(k) for k in ACTION_FIELDS}}
            self.action_concerns[row["id"]] = set(concern_ids)
        else:
            changes = _changes(existing, values, self.action_concerns.get(existing["id"], set()), concern_ids)
            if changes:
                patch = changes | ({"reprogramme_reason": reason} if reason and "due_on" in changes else {})
                written, _ = await self._write(line, "action", ref, sorted(changes), actions, ps.ActionUpdate, patch, existing["id"])
                if not written:
                    self.refused_actions.add(ref.casefold())
                    return
                existing.update({k: v for k, v in changes.items() if k != "concern_ids"})
                if "concern_ids" in changes:
                    self.action_concerns[existing["id"]] = set(changes["concern_ids"])
            else:
                self._record(line, "action", ref, "unchanged", [], [])
        await self.progress(line, ref, existing["id"], rag, progress)

    async def progress(self, line: Line, ref: str, action_id: uuid.UUID, rag: Any, narrative: str | None) -> None:
        """The tracker's latest update, recorded when the action has never had that narrative: a tracker older than an
        update written since in the service never buries it (updates are never edited). Signed by the importer."""
        if narrative is None and rag is None:
            return
        if narrative is None:
            self._record(line, "progress_update", ref, "refused", [], [line.problem("progress", "a RAG needs the progress narrative it sums up")])  # fmt: skip
            return
        if rag is None:
            self._record(line, "progress_update", ref, "refused", [], [line.problem("rag", "a progress narrative needs its RAG")])
            return
        if narrative in self.reported.get(action_id, set()):
            self._record(line, "progress_update", ref, "unchanged", [], [])
            return
        if self.actor.person_id is None:
            why = "an update is signed by the person who records it, and this key acts as no person: import with a person's key"
            self._record(line, "progress_update", ref, "refused", [], [line.problem("progress", why)])
            return
        body: dict[str, Any] = {"action_id": action_id, "rag": rag, "narrative": narrative}
        written, _ = await self._write(line, "progress_update", ref, ["rag", "narrative"], progress_updates, ps.ProgressUpdateCreate, body)
        if written:
            self.reported.setdefault(action_id, set()).add(narrative)

    # -- milestones ------------------------------------------------------------------------------------------

    async def milestone(self, line: Line) -> None:
        action_ref = cells.text(line.value("action_ref")) if line.value("action_ref") is not None else ""
        title = cells.text(line.value("title")) if line.value("title") is not None else ""
        key = f"{action_ref}: {title}"
        try:
            if not action_ref or not title:
                raise Refusal([line.problem("action_ref" if not action_ref else "title", "empty")])
            self.once(line, "milestone", key, "title")
            action = self.actions.get(action_ref.casefold())
            if action is None:
                why = "was refused (see its row)" if action_ref.casefold() in self.refused_actions else "is not in the plan or the file"
                raise Refusal([line.problem("action_ref", f"action {action_ref} {why}")])
            values = self._read(line, {"due_on": cells.parse_date, "status": cells.milestone_status, "met_on": cells.parse_date})
        except Refusal as refusal:
            self._record(line, "milestone", key, "refused", [], refusal.problems)
            return
        existing = self.milestones.get((action["id"], _heading(title)))
        if existing is None:
            body = {"action_id": action["id"], "title": title, **values}
            _, row = await self._write(line, "milestone", key, sorted(["title", *values]), milestones, ps.MilestoneCreate, body)
            if row is not None:
                self.milestones[(action["id"], _heading(title))] = {"id": row["id"], **values}
            return
        changes = _changes(existing, values)
        if not changes:
            self._record(line, "milestone", key, "unchanged", [], [])
            return
        written, _ = await self._write(line, "milestone", key, sorted(changes), milestones, ps.MilestoneUpdate, changes, existing["id"])
        if written:
            existing.update(changes)

    # -- measures and their history --------------------------------------------------------------------------

    async def measure(self, line: Line) -> None:
        name = cells.text(line.value("name")) if line.value("name") is not None else ""
        try:
            if not name:
                raise Refusal([line.problem("name", "the measure's name is empty")])
            self.once(line, "measure", name, "name")
            values = self._read(
                line,
                {"definition": cells.text, "unit": cells.unit, "direction": cells.direction, "baseline_on": cells.parse_date,
                 "target_on": cells.parse_date},
            )  # fmt: skip
            percent = values.get("unit") == MeasureUnit.percent
            for figure in ("baseline_value", "target_value"):
                cell = line.cells.get(figure)
                if cell is not None and cell.value is not None:
                    try:
                        number = cells.number(cell.value, percent_unit=percent, number_format=cell.number_format)
                    except cells.CellError as exc:
                        raise Refusal([line.problem(figure, str(exc))]) from exc
                    if number is not None:
                        values[figure] = number
            if "direction" not in values and {"baseline_value", "target_value"} <= values.keys():
                values["direction"] = (
                    Direction.lower_is_better if values["target_value"] < values["baseline_value"] else Direction.higher_is_better
                )
            concern_ids = self._measure_concerns(line)
        except Refusal as refusal:
            self._record(line, "measure", name, "refused", [], refusal.problems)
            return
        existing = self.measures.get(_heading(name))
        if existing is None:
            body = {"plan_id": self.plan_id, "name": name, "concern_ids": concern_ids, **values}
            _, row = await self._write(line, "measure", name, sorted(["name", *values]), measures, ms.MeasureCreate, body)
            if row is None:
                return
            existing = self.measures[_heading(name)] = {"id": row["id"], "name": name, **values}
            self.measure_concerns[row["id"]] = set(concern_ids)
        else:
            changes = _changes(existing, values, self.measure_concerns.get(existing["id"], set()), concern_ids)
            if changes:
                written, _ = await self._write(line, "measure", name, sorted(changes), measures, ms.MeasureUpdate, changes, existing["id"])
                if not written:
                    return
                existing.update({k: v for k, v in changes.items() if k != "concern_ids"})
            else:
                self._record(line, "measure", name, "unchanged", [], [])
        await self.history(line, name, existing)

    def _measure_concerns(self, line: Line) -> list[uuid.UUID]:
        raw = line.value("concern_refs")
        if raw is None:
            return []
        ids = []
        for ref in (r.strip() for r in cells.text(raw).split(",")):
            found = self.concerns.get(ref.casefold()) if ref else None
            if ref and found is None:
                raise Refusal([line.problem("concern_refs", f"concern {ref} is not in the plan")])
            if found is not None and found["id"] not in ids:
                ids.append(found["id"])
        return ids

    async def history(self, line: Line, name: str, measure: dict[str, Any]) -> None:
        percent = measure.get("unit") == MeasureUnit.percent
        for column, begin, end in line.located.history:
            cell = line.cells.get(f"history:{column}")
            if cell is None or cell.value is None:
                continue
            key = f"{name}: {begin:%b %Y}"
            try:
                value = cells.number(cell.value, percent_unit=percent, number_format=cell.number_format)
            except cells.CellError as exc:
                self._record(
                    line, "observation", key, "refused", [], [s.CellProblem(cell=cell.ref, column=f"{begin:%b %Y}", reason=str(exc))]
                )
                continue
            if value is None:
                continue
            existing = self.observations.get((measure["id"], begin, end))
            if existing is not None and existing["value"] == value:
                self._record(line, "observation", key, "unchanged", [], [])
                continue
            history_line = Line(line.located, line.number, {"value": cell, "period_start_on": cell, "period_end_on": cell})
            if existing is None:
                body = {"measure_id": measure["id"], "period_start_on": begin, "period_end_on": end, "value": value}
                _, row = await self._write(history_line, "observation", key, ["value"], observations, ms.ObservationCreate, body)
                if row is not None:
                    self.observations[(measure["id"], begin, end)] = {"id": row["id"], "value": value}
            else:
                written, _ = await self._write(history_line, "observation", key, ["value"], observations, ms.ObservationUpdate, {"value": value}, existing["id"])  # fmt: skip
                if written:
                    existing["value"] = value


ACTION_FIELDS = ("title", "description", "owner_id", "priority", "status", "planned_start_on", "due_on", "forecast_on", "completed_on",
                 "success_criteria")  # fmt: skip
MEASURE_FIELDS = ("definition", "unit", "direction", "baseline_value", "baseline_on", "target_value", "target_on")


def _changes(
    existing: dict[str, Any], values: dict[str, Any], linked: set[uuid.UUID] | None = None, concern_ids: Sequence[uuid.UUID] = ()
) -> dict[str, Any]:
    """What the row says that the plan does not hold yet: the fields that differ, and the concerns it adds to those
    linked (a link is added, never dropped: a concern the file leaves out is not taken away)."""
    changes = {k: v for k, v in values.items() if audit.jsonable(v) != audit.jsonable(existing.get(k))}
    if linked is not None and set(concern_ids) - linked:
        changes["concern_ids"] = sorted(linked | set(concern_ids), key=str)
    return changes


def _field_of(pointer: str) -> str | None:
    name = pointer.strip("/").split("/")[0]
    return {"owner_id": "owner", "concern_ids": "concern", "action_id": "action_ref", "measure_id": "name"}.get(name, name) or None


def mapping_from_json(text: str | bytes) -> s.Mapping:
    """A mapping sent as JSON text (a multipart field, a file on the command line)."""
    try:
        return s.Mapping.model_validate(orjson.loads(text))
    except orjson.JSONDecodeError as exc:
        raise MalformedRequest("The mapping is not valid JSON.") from exc
    except ValidationError as exc:
        errors = [FieldError(pointer=f"/mapping{e.pointer}", message=e.message) for e in validation_errors(exc.errors())]
        raise Unprocessable("The mapping is invalid.", errors=errors) from exc


async def choose_mapping(
    session: AsyncSession, partnership_id: uuid.UUID, sent: s.Mapping | None, name: str | None
) -> tuple[s.Mapping, bool]:
    """The mapping sent, or the one saved under `name`, or the template's (read leniently: see `locate`)."""
    if sent is not None and name is not None:
        raise Unprocessable("Send a mapping or name a saved one, not both.", errors=[FieldError(pointer="/mapping", message="both given")])
    if sent is not None:
        return sent, False
    if name is None:
        return DEFAULT_MAPPING, True
    query = select(col(ImportMapping.mapping)).where(col(ImportMapping.partnership_id) == partnership_id, col(ImportMapping.name) == name)
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise Unprocessable(f"No saved mapping is called {name!r}.", errors=[FieldError(pointer="/mapping", message="unknown mapping")])
    try:
        return s.Mapping.model_validate(found), False
    except ValidationError as exc:  # saved under an older shape of the mapping
        errors = [FieldError(pointer=f"/mapping{e.pointer}", message=e.message) for e in validation_errors(exc.errors())]
        raise Unprocessable(f"The saved mapping {name!r} no longer reads as a mapping: save it again.", errors=errors) from exc


async def signed_by(session: AsyncSession, actor: Actor, partnership_id: uuid.UUID, who: str) -> Actor:
    """The command line acting as a current person of the partnership (by e-mail or HR id), who signs the updates."""
    query = select(col(Person.id)).where(
        col(Person.partnership_id) == partnership_id,
        col(Person.active),
        (func.lower(col(Person.email)) == who.strip().casefold()) | (col(Person.external_id) == who.strip()),
    )
    found = (await session.execute(query.limit(2))).scalars().all()
    if len(found) != 1:
        raise Unprocessable(f"No single current person of the plan's partnership has the e-mail or HR id {who!r}.")
    return dataclasses.replace(actor, person_id=found[0])


async def visible_plan(session: AsyncSession, actor: Actor, plan_id: uuid.UUID) -> dict[str, Any]:
    """The plan, or a 404 when the caller cannot see it."""
    query = select(col(Plan.id), col(Plan.partnership_id), col(Plan.kind), col(Plan.inspection_id)).where(col(Plan.id) == plan_id)
    found = (await session.execute(query)).first()
    if found is None or not actor.sees(found.partnership_id):
        raise NotFound(f"No plan with id {plan_id}.")
    return dict(found._mapping)


async def import_file(
    session: AsyncSession,
    *,
    actor: Actor,
    plan_id: uuid.UUID,
    raw: bytes,
    filename: str | None,
    sent: s.Mapping | None,
    saved: str | None,
    dry_run: bool,
    author: str | None = None,
) -> s.ImportReport:
    """The import as `POST /plans/{id}/imports` and `wsoa import` run it: the plan (404 when not visible), the mapping
    sent, saved under `saved` or the template's, the file parsed off the event loop, then `run`. `author` (the command
    line's `--author`) names the person who signs the progress updates when the caller acts as no person."""
    if not raw:
        raise Unprocessable("The file is empty.", errors=[FieldError(pointer="/file", message="empty")])
    plan = await visible_plan(session, actor, plan_id)
    if author is not None:
        actor = await signed_by(session, actor, plan["partnership_id"], author)
    chosen, lenient = await choose_mapping(session, plan["partnership_id"], sent, saved)
    book = await asyncio.to_thread(read_book, raw, filename)  # parsing a workbook is CPU work
    return await run(session, actor=actor, plan=plan, book=book, raw=raw, mapping=chosen, dry_run=dry_run, lenient=lenient)


async def run(
    session: AsyncSession,
    *,
    actor: Actor,
    plan: dict[str, Any],
    book: Book,
    raw: bytes,
    mapping: s.Mapping,
    dry_run: bool,
    lenient: bool = False,
) -> s.ImportReport:
    """Import the tracker into the plan (see the module's docstring). Raises `ImportRefused` when a row was refused
    and `dry_run` is false; with `dry_run`, everything is undone before the report returns."""
    plan_id = uuid.UUID(str(plan["id"]))
    await crud.refuse_history(session, plan_id)
    if book.format == "csv" and not lenient and (mapping.milestones or mapping.measures):
        raise Unprocessable(
            "A CSV file is one table, the actions: send milestones and measures as sheets of a workbook.",
            errors=[FieldError(pointer="/mapping/milestones" if mapping.milestones else "/mapping/measures", message="needs a workbook")],
        )
    tables: list[tuple[str, s.ActionTable | s.MilestoneTable | s.MeasureTable | None]] = [
        ("actions", mapping.actions), ("milestones", mapping.milestones), ("measures", mapping.measures)
    ]  # fmt: skip
    if book.format == "csv":
        tables = tables[:1]
    if not any(table for _, table in tables):
        raise Unprocessable("The mapping names no table to import.", errors=[FieldError(pointer="/mapping", message="empty")])
    located = [
        (kind, found)
        for kind, table in tables
        if table is not None and (found := locate(book, kind, table, f"/mapping/{kind}", lenient=lenient)) is not None
    ]
    if not located:
        sheets = ", ".join(t.name for t in book.tables)
        raise Unprocessable(
            f"The workbook has none of the template's sheets (Actions, Milestones, Measures); it has: {sheets}. Send a mapping."
        )
    importer = Importer(session, actor, plan)
    await importer.load()
    if mapping.actions is not None and mapping.actions.new_concern_kind is not None:
        importer.concern_kind = mapping.actions.new_concern_kind
    for kind, found in located:
        step = {"actions": importer.action, "milestones": importer.milestone, "measures": importer.measure}[kind]
        for line in lines(found):
            await step(line)
    counts = {k: s.Counts() for k in KINDS}
    for row in importer.report:
        setattr(counts[row.kind], row.outcome, getattr(counts[row.kind], row.outcome) + 1)
    refused = sum(c.refused for c in counts.values())
    report = s.ImportReport(
        plan_id=plan_id,
        dry_run=dry_run,
        format=book.format,
        sha256=hashlib.sha256(raw).hexdigest(),
        tables=[found.table.name for _, found in located],
        counts=counts,
        refused=refused,
        rows=importer.report,
    )
    if dry_run:
        await uow.rollback(session)
        return report
    if refused:
        errors = [
            FieldError(pointer=f"/{r.sheet}/{p.cell or r.row}", message=f"{r.kind} {r.key}: {p.reason}")
            for r in importer.report
            if r.outcome == "refused"
            for p in r.problems
        ]
        raise ImportRefused(
            f"{refused} row(s) of the tracker were refused, so nothing was imported; "
            "send the same request with dry_run=true for the whole report, row by row.",
            errors=errors[:500],
        )
    summary = {"sha256": report.sha256, "format": report.format, "tables": report.tables,
               "counts": {k: c.model_dump() for k, c in counts.items() if any(c.model_dump().values())}}  # fmt: skip
    audit.record(
        session, actor=actor, action="sync", entity_type="plan", entity_id=plan_id, partnership_id=plan["partnership_id"],
        changes={"import": [None, summary]},
    )  # fmt: skip
    return report
