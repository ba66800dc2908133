"""Reading the files case systems already produce: the DfE's SEN2 person-level return (XML) and a CSV extract.

Both are read into the same thing: one `Record` per request for an EHC needs assessment, holding the SEN2 items
the import maps to case events (`app.cases.imports`) under their SEN2 names, and a key for the person. Nothing
else leaves this module: a person's name, date of birth, UPN, ULN, postcode and the like are read only as far as
the key needs them (name and date of birth), and never reported, logged or stored.

**SEN2 XML** (the DfE's person-level technical specification, 2023 onwards): `Message` holds `Header`
(`CollectionDetails`, `Source` with the `LEA` code) and `Persons`; each `Person` holds its details (`Surname`,
`Forename`, `PersonBirthDate`, `Sex`, `Ethnicity`, `PostCode`, `UPN`, `UniqueLearnerNumber`, `UPNunknown`) and
its `Requests` (module 2: `ReceivedDate`, `RequestSource`, `RYA`, `RequestOutcomeDate`, `RequestOutcome`,
`RequestMediation`, `RequestTribunal`, `Exported`), each with at most one `Assessment` (module 3:
`AssessmentOutcome`, `AssessmentOutcomeDate`, `AssessmentMediation`, `AssessmentTribunal`, `OtherMediation`,
`OtherTribunal`, `Week20`) holding at most one `NamedPlan` (module 4: `StartDate`, `PlanRes`, `PlanWBP`, `PB`,
`OA`, `DP`, `CeaseDate`, `CeaseReason`, and `PlanDetail` placements), and at most one `ActivePlans` (module 5:
`TransferLA`, `RES`, `WBP`, `ReviewMeeting`, `ReviewOutcome`, `ReviewDraft`, `LastReview`,
`PhaseTransferDueDate`, `PhaseTransferFinalDate`, and `PlacementDetail` and `SENneed`). Element names are matched
without regard to case (exports spell `SENunitIndicator` both ways) and namespaces are ignored. The contents of
`Header` (but its `LEA`), `PlanDetail`, `PlacementDetail` and `SENneed` are not read; any other element the
specification does not have there is refused, so a file of another shape never half-imports.

The file is parsed as a stream (SAX, through defusedxml with DTDs, entities and external references forbidden:
no XXE, no entity expansion), so a large return never sits in memory as a tree. A file nested deeper than `MAX_DEPTH`
(SEN2 nests eight levels) is refused as soon as the parser reaches that depth, one naming no `Header`/`Source`/`LEA`
is refused (the import checks the return is the partnership's local authority's), and so is an XML declaration
naming an encoding the parser cannot read (UTF-8, UTF-16 and single-byte encodings such as ISO-8859-1 are read).
A file of more requests than the import takes (`WSOA_CASE_IMPORT_MAX_RECORDS`) is refused when the parser reaches the
first one too many, in XML and CSV alike.

**CSV** (RFC 4180, UTF-8, a byte-order mark allowed): one row per request, a header row naming the columns, in
any order, from `CSV_COLUMNS` (SEN2 item names, matched without regard to case): the person (`PersonID`, the
case system's own id for the child or young person; or `Surname`, `Forename` and `PersonBirthDate`, keyed as
in XML), `ReceivedDate`, the request's, assessment's, plan's and review's items, and two the XML does not carry:
`ExceptionReason` (a-d, reg. 10(4) of the SEN Regulations 2014) and `DraftDate` (the draft plan's issue date).
Dates are `YYYY-MM-DD` or `DD/MM/YYYY`. Columns left out are items not given.
"""

import codecs
import csv
import io
import re
import sys
import unicodedata
import xml.sax
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Literal
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl, Locator

from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from app.core.errors import FieldError, PayloadTooLarge, Unprocessable

Format = Literal["sen2_xml", "csv"]
MAX_PROBLEMS = 100
MAX_DEPTH = 16  # SEN2 nests eight levels deep (Message/Persons/Person/Requests/Assessment/NamedPlan/PlanDetail/an item)
LEA_PATH = ["message", "header", "source", "lea"]


class UnreadableFile(Unprocessable):
    """The file as a whole is not one the import reads: nothing of it is imported."""

    type, title = "/problems/unreadable-import", "The file cannot be imported"


class TooManyRecords(PayloadTooLarge):
    """The file holds more requests than one import takes (413): nothing of it is imported."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The file holds more than {limit:,} requests, more than one import takes (WSOA_CASE_IMPORT_MAX_RECORDS); nothing was "
            "imported. Send it in parts (whole people in each), or raise the limit."
        )


MAX_PROBLEMS = 10  # reported per request


@dataclass(slots=True)
class Record:
    """One request for an EHC needs assessment, as read from the file. A file holds tens of thousands: what is the same
    in every request (where an item sits below the request) is one shared string, not a copy per request."""

    number: int  # 1-based, in file order
    line: int  # where the request starts in the file
    pointer: str  # JSON Pointer (RFC 6901) to the request in the file
    items: dict[str, str] = field(default_factory=dict)  # SEN2 item name -> its text
    below: dict[str, str] = field(default_factory=dict)  # SEN2 item name -> its pointer below `pointer` (interned)
    person: str | None = None  # the person's key (see `person_key`); None when the file does not give one
    unreadable: bool = False  # its items could not be read at all (a CSV line of the wrong width)
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (pointer, item, message)

    def where(self, item: str) -> str:
        """The item's JSON Pointer in the file (the request's, for an item it does not give)."""
        below = self.below.get(item)
        return self.pointer if below is None else self.pointer + below

    def problem(self, item: str, message: str) -> None:
        """Note a problem; each message once (a request repeating an item a million times is one problem, in one entry),
        and at most `MAX_PROBLEMS` of them: the first already refuses the request."""
        if len(self.problems) < MAX_PROBLEMS and all(m != message for _, _, m in self.problems):
            self.problems.append((self.where(item), item, message))


@dataclass
class ReadFile:
    format: Format
    lea: str | None  # the SEN2 header's LA code
    records: list[Record]


# --- the person's key ---------------------------------------------------------------------------------------------


def _letters(name: str) -> str:
    """A name compared without accents, case, spaces, hyphens or apostrophes: "O'Brien-Zoë" -> "obrienzoe"."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch)).casefold()


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def person_key(*, person_id: str | None, surname: str | None, forename: str | None, birth_date: str | None) -> str | None:
    """What identifies the person from one file to the next: the case system's person id when the CSV gives one,
    else the name and date of birth (SEN2 XML carries no id of the local authority's own). None when neither is
    complete. The key only ever goes into a keyed hash (HMAC-SHA256, `app.cases.keys`)."""
    if person_id:
        return "id:" + person_id.strip()
    if surname and forename and birth_date and _letters(surname) and _letters(forename):
        return f"name:{_letters(surname)}|{_letters(forename)}|{birth_date.strip()}"
    return None


# --- SEN2 XML ------------------------------------------------------------------------------------------------------

PERSON_ITEMS = ("Surname", "Forename", "PersonBirthDate", "Sex", "GenderCurrent", "Ethnicity", "PostCode", "UPN", "UniqueLearnerNumber",
                "UPNunknown")  # fmt: skip
KEY_ITEMS = frozenset({"surname", "forename", "personbirthdate"})  # the only personal details read
REQUEST_ITEMS = ("ReceivedDate", "RequestSource", "RYA", "RequestOutcomeDate", "RequestOutcome", "RequestMediation", "RequestTribunal",
                 "Exported")  # fmt: skip
ASSESSMENT_ITEMS = ("AssessmentOutcome", "AssessmentOutcomeDate", "AssessmentMediation", "AssessmentTribunal", "OtherMediation",
                    "OtherTribunal", "Week20")  # fmt: skip
NAMED_PLAN_ITEMS = ("StartDate", "PlanRes", "PlanWBP", "PlanWPB", "PB", "OA", "DP", "CeaseDate", "CeaseReason")
ACTIVE_PLAN_ITEMS = ("TransferLA", "RES", "WBP", "WPB", "ReviewMeeting", "ReviewOutcome", "ReviewDraft", "LastReview",
                     "PhaseTransferDueDate", "PhaseTransferFinalDate")  # fmt: skip
OPAQUE = frozenset({"plandetail", "placementdetail", "senneed"})  # placements and needs: not read, not checked

# What each element may hold: its items (leaves whose text is read), its child elements, and whether it repeats.
CHILDREN: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "message": ((), ("Header", "Persons")),
    "persons": ((), ("Person",)),
    "person": (PERSON_ITEMS, ("Requests",)),
    "requests": (REQUEST_ITEMS, ("Assessment", "ActivePlans")),
    "assessment": (ASSESSMENT_ITEMS, ("NamedPlan",)),
    "namedplan": (NAMED_PLAN_ITEMS, ("PlanDetail",)),
    "activeplans": (ACTIVE_PLAN_ITEMS, ("PlacementDetail", "SENneed")),
}
CANONICAL = {name.lower(): name for items, kids in CHILDREN.values() for name in (*items, *kids)} | {"message": "Message"}
ALIASES = {"PlanWPB": "PlanWBP", "WPB": "WBP"}
INDEXED = frozenset({"person", "requests"})  # repeated elements get their position in pointers
ONCE = frozenset({"assessment", "activeplans", "namedplan"})  # at most one in a request
COUNTED = INDEXED | ONCE  # the only elements whose position is kept (not every name an unread part of the file uses)
READ_ITEMS = frozenset({"ReceivedDate", "RequestOutcomeDate", "RequestOutcome", "RequestMediation", "RequestTribunal",
                        "AssessmentOutcome", "AssessmentOutcomeDate", "AssessmentMediation", "AssessmentTribunal", "Week20",
                        "StartDate", "CeaseDate", "TransferLA", "ReviewMeeting", "ReviewOutcome", "LastReview"})  # fmt: skip


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


class _Sen2Handler(ContentHandler):
    """Builds `Record`s as the parser walks the file; keeps only the current person's key items in memory."""

    def __init__(self, max_records: int | None = None) -> None:
        super().__init__()
        self.max_records = max_records
        self.locator: Locator | None = None
        self.stack: list[str] = []  # lower-case local names from the root
        self.pointer: list[str] = []  # the JSON Pointer segments of the current element
        self.counts: list[dict[str, int]] = [{}]  # `COUNTED` children seen so far, per open element
        self.text: list[str] | None = None  # text of the item being read
        self.item_depth: int | None = None  # depth of the item being read (None: not inside an item)
        self.opaque = 0  # depth inside an element whose content is not read
        self.records: list[Record] = []
        self.person: list[Record] = []  # the current person's requests
        self.person_items: dict[str, str] = {}
        self.request: Record | None = None
        self.lea: str | None = None
        self.errors: list[FieldError] = []

    def setDocumentLocator(self, locator: Locator) -> None:
        self.locator = locator

    def line(self) -> int:
        found = self.locator.getLineNumber() if self.locator is not None else None
        return found or 0

    def path(self) -> str:
        return "/" + "/".join(self.pointer)

    def _refuse(self, message: str) -> None:
        if len(self.errors) < MAX_PROBLEMS:
            self.errors.append(FieldError(pointer=self.path(), message=f"line {self.line()}: {message}"))

    def startElement(self, name: str, attrs: AttributesImpl) -> None:
        local = _local(name)
        lower = local.lower()
        shown = local if len(local) <= 60 else local[:57] + "..."  # a name as long as the file is not repeated whole
        if len(self.stack) >= MAX_DEPTH:
            self._refuse(f"<{shown}> is nested deeper than {MAX_DEPTH} levels; SEN2 files nest at most 8")
            raise _Stop
        parent = self.stack[-1] if self.stack else None
        position = 0
        if lower in COUNTED:
            seen = self.counts[-1]
            position = seen.get(lower, 0)
            seen[lower] = position + 1
        self.stack.append(lower)
        self.counts.append({})
        self.pointer.append(CANONICAL.get(lower, local))
        if lower in INDEXED:
            self.pointer.append(str(position))
        if self.opaque:
            self.opaque += 1
            if self.stack == LEA_PATH:
                self.text, self.item_depth = [], len(self.stack)
            return
        if parent is None:
            if lower != "message":
                self._refuse(f"the root element is <{shown}>, not <Message>: this is not an SEN2 person-level file")
                raise _Stop
            return
        if self.item_depth is not None:
            self._refuse(f"<{shown}> inside an item, which holds only text")
            self.opaque += 1
            return
        if (parent, lower) == ("message", "header") or (lower in OPAQUE and parent in ("namedplan", "activeplans")):
            self.opaque += 1
            return
        items, kids = CHILDREN.get(parent, ((), ()))
        if lower in {k.lower() for k in kids}:
            self._open(lower, position)
        elif lower in {i.lower() for i in items}:
            if parent != "person" or lower in KEY_ITEMS:  # personal details the key does not need are never read
                self.text, self.item_depth = [], len(self.stack)
        else:
            self._refuse(f"<{shown}> is not an item of <{CANONICAL.get(parent, parent)}> in the SEN2 person-level specification")
            self.opaque += 1

    def _open(self, lower: str, position: int) -> None:
        if lower == "person":
            self.person, self.person_items = [], {}
        elif lower == "requests":
            if self.max_records is not None and len(self.records) + len(self.person) >= self.max_records:
                raise TooManyRecords(self.max_records)
            self.request = Record(number=len(self.records) + len(self.person) + 1, line=self.line(), pointer=self.path())
            self.person.append(self.request)
        elif lower in ONCE and position > 0 and self.request is not None:
            self.request.problem(CANONICAL[lower], f"more than one <{CANONICAL[lower]}> in one request")

    def characters(self, content: str) -> None:
        if self.text is not None:
            self.text.append(content)

    def endElement(self, name: str) -> None:
        lower = self.stack[-1]
        if self.item_depth == len(self.stack):
            self._item(lower, "".join(self.text or ()).strip())
            self.text, self.item_depth = None, None
        if self.opaque:
            self.opaque -= 1
        elif lower == "person":
            self._end_person()
        elif lower == "requests":
            self.request = None
        self.stack.pop()
        self.counts.pop()
        self.pointer.pop()
        if lower in INDEXED:
            self.pointer.pop()

    def _item(self, lower: str, value: str) -> None:
        if lower == "lea":
            if self.lea is not None:
                self._refuse("the header gives LEA more than once")
            self.lea = value
            return
        if self.stack[-2] == "person":
            if lower in self.person_items:
                self.person_items["_repeated"] = CANONICAL[lower]
            self.person_items[lower] = value
            return
        if self.request is None:
            return
        item = ALIASES.get(CANONICAL[lower], CANONICAL[lower])
        if item not in READ_ITEMS:
            return
        if item in self.request.below:
            self.request.problem(item, f"{item} is given more than once")
            return
        self.request.below[item] = sys.intern(self.path()[len(self.request.pointer) :])
        if value:
            self.request.items[item] = value

    def _end_person(self) -> None:
        found = self.person_items
        key = person_key(
            person_id=None, surname=found.get("surname"), forename=found.get("forename"), birth_date=found.get("personbirthdate")
        )
        for record in self.person:
            record.person = key
            if key is None:
                record.problem("Surname", "the person needs a Surname, a Forename and a PersonBirthDate to be told apart from others")
            elif not ISO_DATE.match(found.get("personbirthdate", "")):
                record.problem("PersonBirthDate", "the person's PersonBirthDate is not a date (YYYY-MM-DD)")
            if "_repeated" in found:
                record.problem(found["_repeated"], f"the person's {found['_repeated']} is given more than once")
        self.records.extend(self.person)
        self.person, self.person_items = [], {}


class _Stop(Exception):
    """Ends parsing early (the root is wrong: nothing further is worth reading)."""


def read_xml(stream: IO[bytes], max_records: int | None = None) -> ReadFile:
    """The requests of an SEN2 person-level XML file, or `UnreadableFile` (422) when it is not one (`TooManyRecords`, 413,
    beyond `max_records` requests)."""
    handler = _Sen2Handler(max_records)
    parser = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.setContentHandler(handler)
    parser.setFeature(xml.sax.handler.feature_namespaces, False)
    try:
        parser.parse(stream)
    except _Stop:
        pass
    except xml.sax.SAXParseException as exc:
        where = f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}"
        raise UnreadableFile(
            f"The file is not well-formed XML ({where}: {exc.getMessage()}).",
            errors=[FieldError(pointer=handler.path() if handler.stack else "", message=f"{where}: {exc.getMessage()}")],
        ) from None
    except DefusedXmlException as exc:
        raise UnreadableFile(
            "The file declares a DTD or entities; SEN2 files never do, and they are not read (they could reach other files or "
            "expand without end).",
            errors=[FieldError(pointer="", message=type(exc).__name__)],
        ) from None
    except (LookupError, ValueError, UnicodeError):
        # The XML declaration names an encoding Python does not know (LookupError), one the parser cannot decode
        # (multi-byte ones other than UTF-8 and UTF-16: ValueError), or one whose decoding fails (UnicodeError).
        raise UnreadableFile(
            "The file's XML declaration names an encoding that cannot be read; SEN2 files are UTF-8 (UTF-16 and single-byte "
            "encodings such as ISO-8859-1 are read too).",
            errors=[FieldError(pointer="", message="unreadable encoding in the XML declaration")],
        ) from None
    if handler.errors:
        raise UnreadableFile(
            f"The file does not follow the SEN2 person-level specification ({len(handler.errors)} problem(s) shown); nothing was imported.",
            errors=handler.errors,
        )
    if not (handler.lea or "").strip():
        raise UnreadableFile(
            "The file names no local authority (Header, Source, LEA): an SEN2 return always does, and the import checks it is "
            "this partnership's; nothing was imported.",
            errors=[FieldError(pointer="/Message/Header/Source/LEA", message="missing")],
        )
    return ReadFile(format="sen2_xml", lea=handler.lea, records=handler.records)


# --- CSV -----------------------------------------------------------------------------------------------------------

CSV_COLUMNS = ("PersonID", "Surname", "Forename", "PersonBirthDate", "ReceivedDate", "RequestOutcomeDate", "RequestOutcome",
               "RequestMediation", "RequestTribunal", "AssessmentOutcomeDate", "AssessmentOutcome", "AssessmentMediation",
               "AssessmentTribunal", "Week20", "ExceptionReason", "DraftDate", "StartDate", "CeaseDate", "TransferLA",
               "ReviewMeeting", "ReviewOutcome", "LastReview")  # fmt: skip
PERSON_COLUMNS = frozenset({"PersonID", "Surname", "Forename", "PersonBirthDate"})
CSV_EXAMPLE = (
    "PersonID,ReceivedDate,RequestOutcomeDate,RequestOutcome,AssessmentOutcomeDate,AssessmentOutcome,Week20,ExceptionReason,"
    "StartDate,ReviewMeeting,ReviewOutcome,LastReview\n"
    "MOS-104233,2025-01-13,2025-02-21,A,2025-05-09,Y,0,,2025-05-30,2026-05-12,M,2026-05-29\n"
    "MOS-118410,2025-03-03,2025-04-11,A,2025-07-04,Y,1,c,2025-08-15,,,\n"
    "MOS-120077,2025-04-22,2025-05-30,N,,,,,,,,\n"
)
UK_DATE = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")


def _csv_date(value: str) -> str:
    """DD/MM/YYYY as YYYY-MM-DD; anything else as it is (checked with the other dates)."""
    found = UK_DATE.match(value)
    return f"{found.group(3)}-{found.group(2)}-{found.group(1)}" if found else value


DATE_COLUMNS = frozenset({"PersonBirthDate", "ReceivedDate", "RequestOutcomeDate", "AssessmentOutcomeDate", "DraftDate", "StartDate",
                          "CeaseDate", "ReviewMeeting", "LastReview"})  # fmt: skip


def read_csv(stream: IO[bytes], max_records: int | None = None) -> ReadFile:
    """The requests of a CSV extract (one row per request), or `UnreadableFile` (422) for a header it cannot use
    (`TooManyRecords`, 413, beyond `max_records` rows)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    try:
        return _read_csv(text, max_records)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            "The CSV is not UTF-8 text.", errors=[FieldError(pointer="", message=f"byte {exc.start} of a block cannot be decoded")]
        ) from None
    except csv.Error as exc:
        raise UnreadableFile("The CSV cannot be read.", errors=[FieldError(pointer="", message=str(exc))]) from None
    finally:
        text.detach()


def _read_csv(text: io.TextIOWrapper, max_records: int | None) -> ReadFile:
    reader = csv.reader(text, strict=True)
    header = next(reader, None)
    if header is None:
        raise UnreadableFile("The CSV is empty: it needs a header row.", errors=[FieldError(pointer="/header", message="missing")])
    known = {c.lower(): c for c in CSV_COLUMNS}
    columns: list[str] = []
    errors = []
    for index, raw in enumerate(header):
        name = known.get(raw.strip().lower())
        if name is None:
            errors.append(FieldError(pointer=f"/header/{index}", message="Unknown column; the columns are " + ", ".join(CSV_COLUMNS)))
        elif name in columns:
            errors.append(FieldError(pointer=f"/header/{index}", message=f"{name} is named twice"))
        columns.append(name or raw)
    present = set(columns)
    if "ReceivedDate" not in present:
        errors.append(FieldError(pointer="/header", message="needs a ReceivedDate column"))
    if "PersonID" not in present and not {"Surname", "Forename", "PersonBirthDate"} <= present:
        errors.append(
            FieldError(pointer="/header", message="needs PersonID, or Surname, Forename and PersonBirthDate, to tell people apart")
        )
    if errors:
        raise UnreadableFile("The CSV's header cannot be used; nothing was imported.", errors=errors[:MAX_PROBLEMS])
    records = []
    below = {name: "/" + name for name in columns}
    for number, (line, cells) in enumerate(_rows(reader), start=1):
        if max_records is not None and number > max_records:
            raise TooManyRecords(max_records)
        record = Record(number=number, line=line, pointer=f"/rows/{number - 1}")
        if len(cells) != len(columns):
            record.problem("", f"the line has {len(cells)} cells, the header {len(columns)}")
            record.unreadable = True
            records.append(record)
            continue
        values = dict(zip(columns, (c.strip() for c in cells), strict=True))
        for name, value in values.items():
            if value and name not in PERSON_COLUMNS:
                record.items[name] = _csv_date(value) if name in DATE_COLUMNS else value
                record.below[name] = below[name]
        birth = _csv_date(values.get("PersonBirthDate", ""))
        record.person = person_key(
            person_id=values.get("PersonID"), surname=values.get("Surname"), forename=values.get("Forename"), birth_date=birth
        )
        if record.person is None:
            record.problem("PersonID", "needs a PersonID, or a Surname, Forename and PersonBirthDate")
        elif record.person.startswith("name:") and not ISO_DATE.match(birth):
            record.problem("PersonBirthDate", "the PersonBirthDate is not a date (YYYY-MM-DD or DD/MM/YYYY)")
        elif len(values.get("PersonID") or "") > 100:
            record.problem("PersonID", "is longer than 100 characters")
        records.append(record)
    return ReadFile(format="csv", lea=None, records=records)


def _rows(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on."""
    line = reader.line_num + 1
    for cells in reader:
        if any(c.strip() for c in cells):
            yield line, cells
        line = reader.line_num + 1


# --- which reader ---------------------------------------------------------------------------------------------------

XML_TYPES = frozenset({"application/xml", "text/xml"})
CSV_TYPES = frozenset({"text/csv"})
# Types that say nothing about which of the two a file is, read from its bytes: browsers send a `.csv` file as
# text/plain or (with Excel installed) application/vnd.ms-excel.
GENERIC_TYPES = frozenset({"", "application/octet-stream", "text/plain", "application/vnd.ms-excel"})


UTF_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def format_of(declared: str | None, head: bytes) -> Format | None:
    """The file's format from its declared media type, or, for a generic one, from its first bytes (`<` is XML, after
    a UTF-8 or UTF-16 byte-order mark). None for a media type the import does not read."""
    media = (declared or "").split(";")[0].strip().lower()
    if media in XML_TYPES:
        return "sen2_xml"
    if media in CSV_TYPES:
        return "csv"
    if media not in GENERIC_TYPES:
        return None
    start = head.decode("latin-1")
    for bom, encoding in UTF_BOMS:
        if head.startswith(bom):
            start = head[len(bom) :].decode(encoding, errors="ignore")
            break
    return "sen2_xml" if start.lstrip().startswith("<") else "csv"


def read(stream: IO[bytes], kind: Format, max_records: int | None = None) -> ReadFile:
    return read_xml(stream, max_records) if kind == "sen2_xml" else read_csv(stream, max_records)
