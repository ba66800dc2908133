"""Reading a council's tracker: an Excel workbook (XLSX) or a CSV file, as tables of cells with their addresses.

Trackers are laid out for people, not programs: a title row or two above the headers, group headings merged
across columns ("Timescales" over start and target dates), the area of weakness merged down the rows of its
actions, banner rows between sections. A merged range here gives its value to every cell it covers, so each
row reads whole; `Cell.span` says how many columns the range covered, which tells a banner row from data.
"""

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter

from app.core.errors import Unprocessable

XLSX_MAGIC = b"PK\x03\x04"
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # a workbook that inflates beyond this is refused before it is read
MAX_ROWS = 5_000
MAX_COLUMNS = 200
MAX_CELLS = 100_000  # written cells and cells covered by merged ranges, over the whole workbook: a tracker has thousands


@dataclass(frozen=True)
class Cell:
    ref: str  # "F12"
    value: Any  # str, int, float, bool, date, datetime or None
    number_format: str = "General"
    span: int = 1  # columns covered by the merged range the value came from
    first: bool = True  # the merged range's first column (where its text is typed), or no merged range


@dataclass(frozen=True)
class Table:
    name: str  # the worksheet's title, or "CSV"
    rows: list[list[Cell]]  # rows[0] is row 1


@dataclass(frozen=True)
class Book:
    format: str  # "xlsx" or "csv"
    tables: list[Table]

    def table(self, name: str | None) -> Table | None:
        """The sheet called `name` (case and spacing ignored); the first sheet when `name` is None."""
        if name is None:
            return self.tables[0] if self.tables else None
        wanted = " ".join(name.split()).casefold()
        return next((t for t in self.tables if " ".join(t.name.split()).casefold() == wanted), None)


def read_book(raw: bytes, filename: str | None = None) -> Book:
    """An XLSX workbook (recognised by its bytes) or CSV text (UTF-8, or Windows-1252 as Excel saves it)."""
    if raw.startswith(XLSX_MAGIC):
        return _xlsx(raw)
    if filename and filename.lower().endswith((".xlsx", ".xlsm")):
        raise Unprocessable("The file is named as a workbook but is not one (an .xlsx file is a zip archive).")
    return _csv(raw)


def _xlsx(raw: bytes) -> Book:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise Unprocessable("The workbook unpacks to more than 200 MB; send the tracker's sheets only.")
            _refuse_oversized(archive)
        workbook = load_workbook(io.BytesIO(raw), data_only=True)
    except Unprocessable:
        raise
    except Exception as exc:  # a hostile or broken file fails in openpyxl's own ways (XML ParseError, KeyError, ...)
        raise Unprocessable("The file could not be read as an Excel workbook (.xlsx).") from exc
    tables = []
    for sheet in workbook.worksheets:
        if sheet.max_row > MAX_ROWS or sheet.max_column > MAX_COLUMNS:
            raise Unprocessable(f"Sheet {sheet.title!r} has more than {MAX_ROWS} rows or {MAX_COLUMNS} columns.")
        merged: dict[tuple[int, int], tuple[Any, str, int, bool]] = {}
        for area in sheet.merged_cells.ranges:
            top = sheet.cell(area.min_row, area.min_col)
            span = area.max_col - area.min_col + 1
            for row in range(area.min_row, area.max_row + 1):
                for column in range(area.min_col, area.max_col + 1):
                    merged[(row, column)] = (top.value, top.number_format, span, column == area.min_col)
        rows = []
        for r, values in enumerate(sheet.iter_rows(), start=1):
            cells = []
            for c, cell in enumerate(values, start=1):
                value, number_format, span, first = merged.get((r, c), (cell.value, cell.number_format, 1, True))
                cells.append(Cell(f"{get_column_letter(c)}{r}", _plain(value), number_format or "General", span, first))
            rows.append(cells)
        tables.append(Table(sheet.title, rows))
    return Book("xlsx", tables)


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _refuse_oversized(archive: zipfile.ZipFile) -> None:
    """Count the cells the sheets write and the cells their merged ranges cover, from the sheets' XML, before openpyxl
    makes an object of each: a few kilobytes of merged range can stand for millions of cells."""
    total = 0
    for info in archive.infolist():
        if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
            data = archive.read(info)
            total += data.count(b"<c ") + data.count(b"<c>")
            for left, top, right, bottom in _MERGE.findall(data):
                total += (column_index_from_string(right.decode()) - column_index_from_string(left.decode()) + 1) * (
                    int(bottom) - int(top) + 1
                )
                if total > MAX_CELLS:
                    break
        if total > MAX_CELLS:
            raise Unprocessable(
                f"The workbook holds or merges more than {MAX_CELLS:,} cells; a tracker needs far fewer: send its sheets only."
            )


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, (int, float, bool, date)) or value is None:
        return value
    return str(value)  # formulas' cached errors, rich text and the like: shown as they print


def _csv(raw: bytes) -> Book:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise Unprocessable("The file is neither an Excel workbook (.xlsx) nor CSV text.")
    try:
        lines = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise Unprocessable(f"The CSV file could not be read: {exc}.") from exc
    if len(lines) > MAX_ROWS or any(len(line) > MAX_COLUMNS for line in lines):
        raise Unprocessable(f"The CSV file has more than {MAX_ROWS} rows or {MAX_COLUMNS} columns.")
    rows = [[Cell(f"{get_column_letter(c)}{r}", _plain(v)) for c, v in enumerate(line, start=1)] for r, line in enumerate(lines, start=1)]
    return Book("csv", [Table("CSV", rows)])
