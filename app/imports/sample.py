"""A sample tracker laid out the way councils keep theirs, with the mapping that imports it.

The Wessex Vale partnership (the demo area) kept its areas for improvement, which the inspection report listed
beside the four areas for priority action, in a spreadsheet for the Delivery Group: a title and a "last updated"
line above two rows of headings (groups merged across columns), a banner row per area, the area merged down its
actions' rows, lead officers by name, e-mail or HR id, RAG as a word, dates as dates and as text, and a sheet of
monthly figures. `python -m app.imports.sample docs/import/sample-tracker.xlsx` writes it dated around today.
"""

import calendar
import io
import sys
from datetime import date, timedelta

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from app.imports import schemas as s
from app.models.enums import ConcernKind

AREAS = [
    ("AFI-1", "Preparation for adulthood: young people's plans do not prepare them well enough for adult life from Year 9"),
    ("AFI-2", "Oversight of alternative provision: leaders do not know well enough how pupils in alternative provision are doing"),
    ("AFI-3", "The Local Offer: families find it hard to find and use the information they need"),
]
HEADINGS = ["Area for improvement", "Ref", "Action", "Lead officer", "Start", "Target date", "Revised date", "Completed", "Status",
            "RAG", "Update this month", "Measure of success"]  # fmt: skip
GROUPS = [("The action", 1, 4), ("Timescales", 5, 8), ("Progress", 9, 11), ("Impact", 12, 12)]

SAMPLE_MAPPING = s.Mapping(
    actions=s.ActionTable(
        sheet="AFI tracker",
        columns=s.ActionColumns(
            concern="Area for improvement", ref="Ref", title="Action", owner="Lead officer", planned_start_on="Start",
            due_on="Target date", forecast_on="Revised date", completed_on="Completed", status="Status", rag="RAG", progress="Update this month",
            success_criteria="Measure of success",
        ),
        new_concern_kind=ConcernKind.area_for_improvement,
    ),
    milestones=s.MilestoneTable(
        sheet="Milestones", columns=s.MilestoneColumns(action_ref="Action ref", title="Milestone", due_on="Due", status="Status", met_on="Date met")
    ),
    measures=s.MeasureTable(
        sheet="KPIs",
        columns=s.MeasureColumns(name="Measure", concern_refs="Area", unit="Unit", baseline_value="Baseline", baseline_on="Baseline date",
                                 target_value="Target", target_on="Target date"),
        history_from="Monthly figures",
    ),
)  # fmt: skip


def _month_end(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def _style_headings(sheet: Worksheet, row: int) -> None:
    for cell in sheet[row]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="4B2E83")
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")


def build(today: date) -> bytes:
    """The workbook, its dates placed around `today` (the inspection report came out about 17 months before)."""
    published = today - timedelta(days=530)
    start = _month_end(published, 2)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "AFI tracker"
    sheet.append(["Wessex Vale Local Area Partnership: SEND areas for improvement, action tracker"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADINGS))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"Reported monthly to the SEND Delivery Group. Last updated {today.day} {today:%B %Y}."])
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(HEADINGS))
    sheet.append([None] * len(HEADINGS))
    for title, first, last in GROUPS:
        sheet.cell(3, first, title)
        if last > first:
            sheet.merge_cells(start_row=3, start_column=first, end_row=3, end_column=last)
    _style_headings(sheet, 3)
    sheet.append(HEADINGS)
    _style_headings(sheet, 4)
    for column, width in zip("ABCDEFGHIJKL", (34, 7, 48, 26, 12, 13, 13, 13, 12, 10, 60, 40), strict=True):
        sheet.column_dimensions[column].width = width
    done_on = _month_end(today, -3) - timedelta(days=9)
    rows: dict[str, list[tuple[object, ...]]] = {
        "AFI-1": [
            ("1.1", "Introduce a preparation-for-adulthood section in every EHC plan from Year 9", "Priya Raman", start, _month_end(today, 4),
             None, None, "On track", "Green", "Template agreed with the parent carer forum; used in 61 of 88 Year 9 reviews since September.",
             "Every Year 9+ plan has outcomes for adult life"),
            ("1.2", "Joint transition protocol with adult social care and the ICB", "gareth.penrose@wessexvale.gov.example", start,
             f"{_month_end(today, -1):%d/%m/%Y}", f"{_month_end(today, 5):%d/%m/%Y}", None, "Delayed", "Amber/Red",
             "Adult social care sign-off delayed by its restructure; new date agreed at the Delivery Group.",
             "Protocol signed by all three partners"),
            ("1.3", "Supported internships: 20 places a year with local employers", "Marcus Lyle", _month_end(start, 3),
             f"{_month_end(today, 9):%B %Y}", None, None, "In progress", "Amber", "12 places secured; two employers withdrew.",
             "20 internships a year; 70% into paid work"),
        ],
        "AFI-2": [
            ("2.1", "Termly quality-assurance visits to every alternative provision used by Wessex Vale schools", "Angela Fry", start,
             _month_end(today, -3), None, f"{done_on:%d %B %Y}", "Complete", "Blue", "All 14 providers visited twice; findings reported to schools forum.",
             "Every provider visited each term"),
            ("2.2", "A register of every pupil in alternative provision, with attendance and outcomes", "HR004107", start,
             _month_end(today, 2), None, None, "On track", "G", "Register live; 9 of 11 secondary schools returning weekly.",
             "Register complete and reviewed monthly"),
        ],
        "AFI-3": [
            ("3.1", "Rebuild the Local Offer website with families", "jo.bailey@wessexvale.gov.example", _month_end(start, 1),
             _month_end(today, 3), None, None, "In progress", "Green", "Beta site tested with 40 families; accessibility audit passed.",
             "Families rate the Local Offer 'easy to use'"),
            ("3.2", "Local Offer newsletter each term, written with the parent carer forum", "Jo Bailey", _month_end(today, 1), _month_end(today, 13),
             None, None, "Not started", "n/a", None, "Three newsletters a year"),
        ],
    }  # fmt: skip
    row = 5
    for ref, title in AREAS:
        sheet.append([f"{ref}: {title.split(':')[0]}"] + [None] * (len(HEADINGS) - 1))
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=len(HEADINGS))
        sheet.cell(row, 1).font = Font(bold=True)
        sheet.cell(row, 1).fill = PatternFill("solid", fgColor="D9D2E9")
        row += 1
        first = row
        for action in rows[ref]:
            sheet.append([f"{ref}: {title}", *action])
            row += 1
        if row - 1 > first:
            sheet.merge_cells(start_row=first, start_column=1, end_row=row - 1, end_column=1)
        sheet.cell(first, 1).alignment = Alignment(wrap_text=True, vertical="top")
    for cells in sheet.iter_rows(min_row=5):
        for cell in cells:
            if isinstance(cell.value, date):
                cell.number_format = "DD/MM/YYYY"

    milestones = book.create_sheet("Milestones")
    milestones.append(["Action ref", "Milestone", "Due", "Status", "Date met"])
    _style_headings(milestones, 1)
    for ref, title, due, status, met in [
        ("1.1", "Template agreed with the parent carer forum", _month_end(start, 2), "Met", _month_end(start, 2) - timedelta(days=6)),
        ("1.1", "Used in every Year 9 review", _month_end(today, 3), "Pending", None),
        ("1.2", "Draft protocol to the Delivery Group", _month_end(today, -2), "Met", _month_end(today, -2) - timedelta(days=3)),
        ("2.1", "First round of visits complete", _month_end(start, 4), "Met", _month_end(start, 4) - timedelta(days=12)),
        ("3.1", "Beta site tested with families", _month_end(today, -1), "Met", f"{_month_end(today, -1) - timedelta(days=2):%d/%m/%Y}"),
        ("3.1", "New site live", _month_end(today, 3), "Pending", None),
    ]:  # fmt: skip
        milestones.append([ref, title, due, status, met])
    for cells in milestones.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, date):
                cell.number_format = "DD/MM/YYYY"
    milestones.column_dimensions["B"].width = 46

    kpis = book.create_sheet("KPIs")
    months = [_month_end(today, -m) for m in range(12, 0, -1)]
    kpis.append(["Measure", "Area", "Unit", "Baseline", "Baseline date", "Target", "Target date", "Monthly figures",
                 *(date(m.year, m.month, 1) for m in months)])  # fmt: skip
    _style_headings(kpis, 1)
    for cell in kpis[1][8:]:
        cell.number_format = "MMM-YY"
    baseline_on = _month_end(published, 0)
    figures: list[tuple[str, str, str, float, float, list[object]]] = [
        ("Year 9+ plans with preparation-for-adulthood outcomes", "AFI-1", "%", 0.22, 0.95,
         [0.22, 0.25, 0.31, 0.35, 0.41, 0.44, 0.52, 0.55, 0.61, 0.64, 0.66, 0.69]),
        ("Pupils in alternative provision on the register", "AFI-2", "Number", 0, 240,
         [0, 0, 35, 80, 122, 150, 171, 188, 196, 204, 210, 214]),
        ("Local Offer page views a month", "AFI-3", "Number", 5200, 9000,
         [5200, 5100, 5350, 5600, "-", 6100, 6400, 6300, 6900, 7200, 7450, 7600]),
    ]  # fmt: skip
    for name, area, unit, baseline, target, history in figures:
        kpis.append([name, area, unit, baseline, baseline_on, target, _month_end(today, 12), None, *history])
        if unit == "%":
            for cell in kpis[kpis.max_row]:
                if isinstance(cell.value, float):
                    cell.number_format = "0%"
    for cells in kpis.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, date):
                cell.number_format = "DD/MM/YYYY"
    kpis.column_dimensions["A"].width = 52
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


if __name__ == "__main__":
    with open(sys.argv[1], "wb") as handle:
        handle.write(build(date.today()))
