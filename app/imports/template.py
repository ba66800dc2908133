"""The import template (`GET /import-template.xlsx`) and the mapping that reads it, which is also the default.

The template has one sheet per table with the headings `DEFAULT_MAPPING` names, a worked example row in each,
and a sheet that explains every column. A tracker laid out differently imports with a mapping of its own.
"""

import io
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from app.imports import schemas as s

ACTION_HEADINGS = {
    "concern_ref": "Concern ref",
    "concern_title": "Concern",
    "ref": "Action ref",
    "title": "Action",
    "owner": "Owner (e-mail or HR id)",
    "priority": "Priority",
    "status": "Status",
    "planned_start_on": "Start date",
    "due_on": "Due date",
    "forecast_on": "Forecast date",
    "completed_on": "Completed date",
    "success_criteria": "Success criteria",
    "rag": "RAG",
    "progress": "Latest progress",
    "reprogramme_reason": "Reason for new due date",
}
MILESTONE_HEADINGS = {"action_ref": "Action ref", "title": "Milestone", "due_on": "Due date", "status": "Status", "met_on": "Met on"}
MEASURE_HEADINGS = {
    "name": "Measure",
    "definition": "Definition",
    "concern_refs": "Concern refs",
    "unit": "Unit",
    "direction": "Direction",
    "baseline_value": "Baseline",
    "baseline_on": "Baseline date",
    "target_value": "Target",
    "target_on": "Target date",
}
HISTORY_FROM = "History from"  # a heading before the month columns, so a template's months can be any

DEFAULT_MAPPING = s.Mapping(
    actions=s.ActionTable(sheet="Actions", columns=s.ActionColumns(**ACTION_HEADINGS)),
    milestones=s.MilestoneTable(sheet="Milestones", columns=s.MilestoneColumns(**MILESTONE_HEADINGS)),
    measures=s.MeasureTable(sheet="Measures", columns=s.MeasureColumns(**MEASURE_HEADINGS), history_from=HISTORY_FROM),
)

EXPLANATIONS = {
    "Concern ref": "The inspection report's reference for the area of weakness or priority action (W1, APA2). Several: W1, W3.",
    "Concern": "Its title; used only when the concern is new to the plan (an existing concern is never rewritten).",
    "Action ref": "Unique in the plan (1.3). Rows are matched to actions by it, so importing the same file again changes nothing.",
    "Action": "What will be done.",
    "Owner (e-mail or HR id)": "The one accountable person, as the HR feed knows them: e-mail, HR id, or full name if unique.",
    "Priority": "High, Medium or Low.",
    "Status": "Not started, In progress (or On track, Delayed), Complete, On hold, Cancelled.",
    "Start date": "A date cell, or text such as 31/03/2026 or 31 March 2026; a month alone (March 2026) means its last day.",
    "Due date": "When the plan says it will be done. Once the plan is accepted, a new date needs a reason (next column but one).",
    "Forecast date": "When it will now be done, for an open action running late (not in the past).",
    "Completed date": "Needed with the status Complete; completing may need accepted evidence when the plan asks for it.",
    "Success criteria": "How the partnership will know the action worked.",
    "RAG": "Red, Amber, Green or Blue (complete); Amber/Red reads as Red. Goes with the latest progress.",
    "Latest progress": "The latest narrative: recorded as a progress update when it differs from the action's last one.",
    "Reason for new due date": "Why the due date moved, for an accepted plan (recorded as a reprogramme).",
    "Milestone": "A checkpoint of the action named in Action ref; matched by action and title.",
    "Met on": "The date it was met, with the status Met.",
    "Measure": "Matched by name within the plan.",
    "Unit": "%, number, days or weeks.",
    "Direction": "Higher is better or Lower is better (left empty: from the baseline towards the target).",
    "History from": "Leave empty; every column to its right headed by a month (Apr 2026, or a date) holds that month's figure.",
}


def _headings(sheet: Worksheet, headings: list[str]) -> None:
    sheet.append(headings)
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E79")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for index, heading in enumerate(headings, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(12, min(40, len(heading) + 4))
    sheet.freeze_panes = "A2"


def template(today: date) -> bytes:
    """The template workbook, with one example row per sheet dated around `today`."""
    book = Workbook()
    actions = book.active
    assert actions is not None
    actions.title = "Actions"
    _headings(actions, list(ACTION_HEADINGS.values()))
    start = date(today.year, today.month, 1)
    actions.append(
        ["W1", "Timeliness of EHC plans", "1.1", "Recruit four additional EHC coordinators", "head.of.send@example.gov.uk", "High",
         "In progress", start, date(start.year + (start.month + 5) // 12, (start.month + 5) % 12 + 1, 1), None, None,
         "Four coordinators in post; caseloads below 120.", "Amber", "Two of four in post; interviews for the rest next month.", None]
    )  # fmt: skip
    milestones = book.create_sheet("Milestones")
    _headings(milestones, list(MILESTONE_HEADINGS.values()))
    milestones.append(["1.1", "Posts advertised", start, "Met", start])
    measures = book.create_sheet("Measures")
    history = [date(start.year - (1 if start.month <= m else 0), (start.month - m - 1) % 12 + 1, 1) for m in (3, 2, 1)]
    _headings(measures, [*MEASURE_HEADINGS.values(), HISTORY_FROM, *(f"{d:%b %Y}" for d in history)])
    measures.append(
        ["New EHC plans issued within 20 weeks", "Excluding exception cases, as the DfE counts them.", "W1", "%", "Higher is better",
         41.0, history[0], 90.0, date(start.year + 1, start.month, 1), None, 41.0, 47.5, 52.0]
    )  # fmt: skip
    for sheet in (actions, milestones, measures):
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, date):
                    cell.number_format = "DD/MM/YYYY"
    guide = book.create_sheet("How to fill this in")
    _headings(guide, ["Column", "What goes in it"])
    guide.column_dimensions["B"].width = 110
    for heading, text in EXPLANATIONS.items():
        guide.append([heading, text])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
