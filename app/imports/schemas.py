"""Shapes of a tracker import: the column mapping (sent, or saved by name) and the row-by-row report."""

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.core.pagination import ListQuery
from app.core.schemas import Body, EntityRead
from app.models.enums import ConcernKind

Header = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
SheetName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Columns(_Strict):
    """Each field's heading; two fields never read one column."""

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        seen: dict[str, str] = {}
        for name, heading in self.model_dump().items():
            if heading is None:
                continue
            key = " ".join(heading.split()).casefold()
            if key in seen:
                raise ValueError(f"{name} and {seen[key]} name the same heading {heading!r}")
            seen[key] = name
        return self


class ActionColumns(_Columns):
    """The heading of the tracker's column for each field (a field left out is not imported, and never cleared)."""

    concern: Header | None = Field(None, description="One cell naming the concern with its reference first: `W1: Timeliness of EHC plans`.")
    concern_ref: Header | None = Field(None, description="The concern's reference alone (`W1`); several separated by commas.")
    concern_title: Header | None = Field(None, description="The concern's title, used when the concern is new.")
    concern_kind: Header | None = Field(None, description="The concern's kind as the API names it (default: the plan's framework's).")
    ref: Header = Field(description="The action's reference, unique in the plan (`1.3`): how rows match actions.")
    title: Header | None = None
    description: Header | None = None
    owner: Header | None = Field(None, description="The accountable person by e-mail, HR id (`external_id`) or full name.")
    priority: Header | None = None
    status: Header | None = Field(None, description="Words such as Not started, In progress, On track, Complete, On hold, Cancelled.")
    planned_start_on: Header | None = None
    due_on: Header | None = None
    forecast_on: Header | None = None
    completed_on: Header | None = None
    success_criteria: Header | None = None
    rag: Header | None = Field(None, description="Red, Amber, Green or Blue; with `progress`, the RAG of the latest update.")
    progress: Header | None = Field(None, description="The latest progress narrative: a progress update when it differs from the last.")
    reprogramme_reason: Header | None = Field(None, description="Why the due date moved, for actions of an accepted plan.")


class MilestoneColumns(_Columns):
    action_ref: Header = Field(description="The reference of the action the milestone belongs to.")
    title: Header = Field(description="The milestone; with the action, how rows match milestones.")
    due_on: Header
    status: Header | None = None
    met_on: Header | None = None


class MeasureColumns(_Columns):
    name: Header = Field(description="The measure's name: how rows match measures of the plan.")
    definition: Header | None = None
    concern_refs: Header | None = Field(None, description="References of the concerns it evidences, separated by commas.")
    unit: Header = Field(description="%, number, days or weeks.")
    direction: Header | None = Field(None, description="Higher is better or lower is better (default: from baseline to target).")
    baseline_value: Header
    baseline_on: Header
    target_value: Header
    target_on: Header


class ActionTable(_Strict):
    sheet: SheetName | None = Field(None, description="The worksheet (default: the first); ignored for CSV.")
    header_row: int | None = Field(None, ge=1, le=50, description="The row of the headings (default: the first holding them all).")
    columns: ActionColumns
    new_concern_kind: ConcernKind | None = Field(
        None,
        description="The kind of the concerns the import creates, unless a `concern_kind` column says (default: the plan's "
        "framework's: `area_of_significant_weakness` for a 2016 inspection, `area_for_priority_action` for a 2023 one).",
    )


class MilestoneTable(_Strict):
    sheet: SheetName = Field(description="The worksheet of milestones.")
    header_row: int | None = Field(None, ge=1, le=50)
    columns: MilestoneColumns


class MeasureTable(_Strict):
    sheet: SheetName = Field(description="The worksheet of measures.")
    header_row: int | None = Field(None, ge=1, le=50)
    columns: MeasureColumns
    history_from: Header | None = Field(
        None,
        description="The heading of the first column of the measure's monthly history: it and every column to its right "
        "headed by a month (`Apr 2025`, or a date) hold that month's figure.",
    )


class Mapping(_Strict):
    """Where each field sits in the tracker. A CSV file is one table: the actions (the milestones and measures
    tables need a workbook's sheets)."""

    actions: ActionTable | None = None
    milestones: MilestoneTable | None = None
    measures: MeasureTable | None = None


Kind = Literal["concern", "action", "progress_update", "milestone", "measure", "observation"]
Outcome = Literal["created", "updated", "unchanged", "refused"]


class CellProblem(BaseModel):
    cell: str | None = Field(description="The cell (`F12`), or null for the row as a whole.")
    column: str | None = Field(description="The column's heading.")
    reason: str


class RowReport(BaseModel):
    sheet: str
    row: int = Field(description="The row's number in the sheet (1 is the first).")
    kind: Kind
    key: str = Field(description="How the row is matched: a reference, a name, a period.")
    outcome: Outcome
    fields: list[str] = Field(default_factory=list, description="The fields the import sets (created) or changes (updated).")
    problems: list[CellProblem] = Field(default_factory=list)


class Counts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0


class ImportReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "plan_id": "3f6c1e2a-8b4d-4c7e-9a1f-2b3c4d5e6f70",
                "dry_run": True,
                "format": "xlsx",
                "sha256": "9f2c…",
                "tables": ["Action plan", "Milestones", "Measures"],
                "counts": {
                    "concern": {"created": 5, "updated": 0, "unchanged": 0, "refused": 0},
                    "action": {"created": 21, "updated": 0, "unchanged": 0, "refused": 1},
                },
                "refused": 1,
                "rows": [
                    {"sheet": "Action plan", "row": 6, "kind": "action", "key": "1.1", "outcome": "created",
                     "fields": ["title", "owner_id", "due_on", "status"], "problems": []},
                    {"sheet": "Action plan", "row": 9, "kind": "action", "key": "1.4", "outcome": "refused", "fields": [],
                     "problems": [{"cell": "G9", "column": "Target date", "reason": "'31/02/2025' is not a real date"}]},
                ],
            }
        }
    )  # fmt: skip

    plan_id: uuid.UUID
    dry_run: bool
    format: Literal["xlsx", "csv"]
    sha256: str = Field(description="The file's SHA-256, as recorded in the audit trail.")
    tables: list[str] = Field(description="The sheets read.")
    counts: dict[Kind, Counts]
    refused: int = Field(description="Rows refused; without `dry_run` one refused row refuses the whole import.")
    rows: list[RowReport]


class ImportMappingCreate(Body):
    partnership_id: uuid.UUID | None = Field(None, description="Defaults to the caller's partnership.")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    mapping: Mapping


class ImportMappingUpdate(Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = None
    mapping: Mapping | None = None


class ImportMappingRead(EntityRead):
    partnership_id: uuid.UUID
    name: str
    mapping: Mapping
    created_at: datetime


class ImportMappingQuery(ListQuery):
    name: str | None = None
