"""Turn a pack into the bytes of one format. Pure functions of the pack: the same pack gives the same bytes.

- json: the pack itself (canonical: sorted keys, two-space indent);
- csv: a zip of RFC 4180 files (UTF-8 with a byte-order mark, CRLF), one per table;
- xlsx: one sheet per table and a sheet of charts;
- html: one self-contained, accessible page (styles inline, charts as data: URIs);
- pdf: the same page printed by WeasyPrint, which may fetch nothing but data: URIs.
"""

import base64
import csv
import io
import re
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.exports.charts import Chart, all_charts, unique_actions
from app.exports.tables import STATUSES, Cell, Table, formula_safe, label, recorded_moment, slippage, tables
from app.models.enums import Audience, ExportFormat

MEDIA_TYPES = {
    ExportFormat.json: "application/json",
    ExportFormat.csv: "application/zip",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.pdf: "application/pdf",
    ExportFormat.html: "text/html; charset=utf-8",
}
EXTENSIONS = {
    ExportFormat.json: "json",
    ExportFormat.csv: "zip",
    ExportFormat.xlsx: "xlsx",
    ExportFormat.pdf: "pdf",
    ExportFormat.html: "html",
}
MEASURE_STATUSES = ("on_track", "behind", "off_track", "no_data", "suppressed")
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _stamp(pack: dict[str, Any]) -> tuple[int, int, int, int, int, int]:
    """Zip entries carry the export's creation time, so the same pack zips to the same bytes."""
    at = datetime.fromisoformat(pack["export"]["created_at"])
    return (max(at.year, 1980), at.month, at.day, at.hour, at.minute, at.second)


def to_json(pack: dict[str, Any]) -> bytes:
    return orjson.dumps(pack, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return formula_safe(value)
    return str(value)


def to_csv(pack: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in tables(pack):
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
            writer.writerow(table.header)
            writer.writerows([_text(v) for v in row] for row in table.rows)
            entry = zipfile.ZipInfo(f"{table.name}.csv", date_time=_stamp(pack))
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, "\ufeff" + text.getvalue())
    return out.getvalue()


# Control characters XML 1.0 (so a workbook) cannot hold, as openpyxl refuses them.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


def _sheet_cell(sheet: Any, row: int, column: int, value: Cell) -> None:
    cell = sheet.cell(row=row, column=column)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)  # control characters XML 1.0 cannot hold: shown, not fatal
        cell.value = value
        cell.data_type = "s"  # text stays text: a leading = + - @ is never read as a formula
        if value.startswith(("=", "+", "-", "@", "\t", "\r")):
            cell.quotePrefix = True
    else:
        cell.value = value
        if isinstance(value, date):
            cell.number_format = "yyyy-mm-dd"
        elif isinstance(value, Decimal):
            cell.number_format = "#,##0.00"


def to_xlsx(pack: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.drawing.image import Image
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    book.remove(book.active)
    stamp = datetime(*_stamp(pack))
    book.properties.created = book.properties.modified = stamp
    book.properties.creator = "wsoa-tracker"
    book.properties.title = ILLEGAL_CHARACTERS_RE.sub("", pack["data"]["plan"]["title"])
    bold = Font(bold=True)
    for table in tables(pack):
        sheet = book.create_sheet(_sheet_title(table))
        for column, name in enumerate(table.header, start=1):
            _sheet_cell(sheet, 1, column, name)
            sheet.cell(row=1, column=column).font = bold
            sheet.column_dimensions[sheet.cell(row=1, column=column).column_letter].width = min(60, max(12, len(name) + 2))
        for r, row in enumerate(table.rows, start=2):
            for column, value in enumerate(row, start=1):
                _sheet_cell(sheet, r, column, value)
                if isinstance(value, str) and len(value) > 60:
                    sheet.cell(row=r, column=column).alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "A2"
    charts = book.create_sheet("Charts")
    line = 1
    for chart in all_charts(pack["data"], date.fromisoformat(pack["export"]["as_of"])):
        _sheet_cell(charts, line, 1, chart.title)
        charts.cell(row=line, column=1).font = bold
        _sheet_cell(charts, line + 1, 1, chart.alt)
        image = Image(io.BytesIO(chart.png))
        image.width, image.height = image.width * 0.45, image.height * 0.45
        charts.add_image(image, f"A{line + 2}")
        line += 3 + int(image.height / 20) + 1
    out = io.BytesIO()
    book.save(out)
    return _fixed_zip_times(out.getvalue(), _stamp(pack))


def _sheet_title(table: Table) -> str:
    """The table's title as a sheet's name: without the characters Excel refuses there, at most 31 characters."""
    title = ILLEGAL_CHARACTERS_RE.sub("", table.title.replace("(GBP)", ""))
    return re.sub(r"\s*[\\/?*\[\]:]+\s*", " - ", title).strip(" -")[:31].strip()


def _fixed_zip_times(blob: bytes, stamp: tuple[int, int, int, int, int, int]) -> bytes:
    """Rewrite a zip with fixed entry times (openpyxl stamps the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as source, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            entry = zipfile.ZipInfo(item.filename, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(item.filename))
    return out.getvalue()


def _long_date(value: str | None) -> str:
    return date.fromisoformat(value).strftime("%-d %B %Y") if value else "—"


def _variance(days: int | None) -> str:
    """Days from the baseline due date: "+45 days", "on baseline", "−10 days", or "—" without both dates."""
    if days is None:
        return "—"
    if days == 0:
        return "on baseline"
    unit = "day" if abs(days) == 1 else "days"
    return f"+{days} {unit}" if days > 0 else f"\u2212{-days} {unit}"


def _in_order(counts: dict[str, int], order: tuple[str, ...]) -> list[tuple[str, int]]:
    """Counts in a fixed order (a pack read back from JSON has its keys sorted), any other key after them."""
    return [(k, counts[k]) for k in order if k in counts] + [(k, n) for k, n in counts.items() if k not in order]


def _data_uri(chart: Chart) -> str:
    return "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii")


def to_html(pack: dict[str, Any], *, for_print: bool = False) -> bytes:
    data = pack["data"]
    charts = {c.key: c for c in all_charts(data, date.fromisoformat(pack["export"]["as_of"]))}
    by_measure = {c.title: c for k, c in charts.items() if k.startswith("measure-")}
    public = pack["export"]["audience"] == Audience.public
    template = TEMPLATES.get_template("public.html.j2" if public else "report.html.j2")
    html = template.render(
        heard_about=lambda ref: [e for e in data.get("coproduction") or [] if ref in e["concern_refs"]],
        pack=pack,
        data=data,
        export=pack["export"],
        actions=unique_actions(data),
        charts=charts,
        measure_charts=by_measure,
        uri=_data_uri,
        long_date=_long_date,
        recorded=recorded_moment(pack["export"]),
        variance=_variance,
        slippage=slippage,
        in_order=_in_order,
        action_statuses=STATUSES,
        measure_statuses=MEASURE_STATUSES,
        words=lambda v: (v or "").replace("_", " "),
        label=label,
        number=_number,
        money=lambda v: f"{Decimal(v):,.2f}",
        for_print=for_print,
    )
    return html.encode("utf-8")


def _number(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{value}%" if unit == "percent" else str(value)


def to_pdf(pack: dict[str, Any]) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Everything the page shows is a data: URI; every other URL is refused, so nothing is fetched from a network or a file.
    embedded_only = URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)
    document = HTML(string=to_html(pack, for_print=True).decode("utf-8"), url_fetcher=embedded_only, base_url=None)
    # The identifier and the dates (from the page's dcterms meta) are the export's own: same pack, same bytes.
    pdf: bytes = document.write_pdf(pdf_identifier=pack["export"]["id"].replace("-", "").encode("ascii"))
    return pdf


RENDERERS: dict[ExportFormat, Callable[[dict[str, Any]], bytes]] = {
    ExportFormat.json: to_json,
    ExportFormat.csv: to_csv,
    ExportFormat.xlsx: to_xlsx,
    ExportFormat.html: to_html,
    ExportFormat.pdf: to_pdf,
}


def render(pack: dict[str, Any], export_format: ExportFormat) -> bytes:
    return RENDERERS[export_format](pack)
