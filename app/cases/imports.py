"""Case events from the files councils already have: an SEN2 person-level return (XML) or a CSV extract.

**What a request becomes.** Each request read from the file (`app.cases.sen2`) is one case. Its items become the
case events `POST /case-events` takes, pseudonymised the same way (`app.cases.keys`):

| SEN2 item(s) | case event |
|---|---|
| `ReceivedDate` | `request_received` |
| `RequestOutcome` `A` / `N` (or `J`) / `W`, on `RequestOutcomeDate` | `request_decision` `assess` / `not_assess` / `withdrawn` |
| `AssessmentOutcome` `Y` / `N` / `W`, on `AssessmentOutcomeDate` | `assessment_decision` `issue` / `not_issue` / `withdrawn` |
| `AssessmentOutcome` `S` (plan issued after another LA's assessment) | `assessment_decision` `issue`, and `transfer_in` |
| `StartDate` (the final plan's issue date) | `final_issued` |
| `DraftDate` (CSV only) | `draft_issued` |
| `Week20` = 1, or `ExceptionReason` (CSV only) | `exception`, with the reason when the CSV gives it (SEN2 records that an exception applied, not which) |
| `RequestMediation`, `AssessmentMediation` = 1 | `mediation` (one per stage) |
| `RequestTribunal`, `AssessmentTribunal` = 1 | `tribunal` (one per stage) |
| `TransferLA` (an LA code) | `transfer_in` |
| `ReviewMeeting` | `review_meeting` |
| `ReviewOutcome` `M` / `A` / `C`, on `LastReview` | `review_decision` `maintain` / `amend` / `cease` |
| `CeaseDate` | `review_decision` `cease` (the plan ended) |

`RequestOutcome` and `AssessmentOutcome` `H` (historical: decided before the return's period) and an empty
outcome (still pending) give no decision. Flags carry no date in SEN2: mediation, tribunal, exception and
transfer-in events are dated on the request's receipt, so they stay the same from one file to the next and, as in
the DfE's counts, keep the whole case out of the 20-week figures. Not mapped: `OtherMediation` and `OtherTribunal`
(disputes after the plan, which the DfE's timeliness does not exclude), `Exported`, `RequestSource`, `RYA`,
`CeaseReason`, `ReviewDraft`, the phase-transfer dates, placements and needs.

**Keys.** A case's reference (`case_ref`, only ever stored as a keyed hash) is the person's key (`sen2.person_key`:
the CSV's `PersonID`, else name and date of birth) with the request's `ReceivedDate`: the same request gets the
same case in every file, XML or CSV, as long as the person is told apart the same way. A request without a
`ReceivedDate` (a plan made before the case system's records) is keyed on its `StartDate` instead, and is not timed.
The reference begins `CASE_REF_PREFIX`, which holds a space: `POST /case-events` never takes a `case_ref` with one
(`schemas.Identifier`), so no event sent there can join an imported case, whatever reference it names.
Each event's `event_id` is a keyed hash of the case and the kind of event (and, for reviews, the date: each review is
its own event), so importing a file again holds every event already, and next month's cumulative file adds only
what is new: a newer review, a decision made since.

**Changed dates.** Case events are never changed (`POST /case-events`): a request whose decision, plan or
exception was imported before with another date or outcome is refused, naming the item and the date held. A
changed `ReceivedDate` is a new request to the service (as it is to the DfE's matching); the events of the old date
stay. A flag cleared since (`Week20` 1 → 0) leaves its event held.

**All or nothing.** Every request is checked before anything is written. A request with any problem is refused
whole (a case half-imported would count wrongly). Without `dry_run`, an import with refused requests writes nothing
and answers 422 with the report, unless `skip_refused=true` asks to import the others. One audit event records the
import (format, file hash, counts); the write itself is audited as every case-event batch is.

**No lock while parsing.** The file is read and mapped in a worker thread before the import's first database
statement, so no transaction (on SQLite, no write lock) is held while a large file is parsed; its events are keyed
there too when the key is configured (`WSOA_CASE_REF_KEY`), else once the stored key is read. Dates after the
partnership's today, known only from the database, are refused then (`after_today`).
"""

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.cases import sen2
from app.cases.keys import case_keyer, case_ref_key, configured_key
from app.cases.schemas import EARLIEST, ImportIssue, ImportReport
from app.cases.service import CONTENT, held_events, lock_cases, store
from app.core.auth import Actor
from app.core.config import Settings
from app.core.errors import FieldError, Unprocessable
from app.models import Partnership
from app.partnerships.service import local

CASE_REF_PREFIX = "sen2 import|"  # a space: never a posted case_ref
MAX_LISTED = 1_000
REQUEST_OUTCOMES = {"A": "assess", "N": "not_assess", "J": "not_assess", "W": "withdrawn", "H": None}
ASSESSMENT_OUTCOMES = {"Y": "issue", "N": "not_issue", "W": "withdrawn", "S": "issue", "H": None}
REVIEW_OUTCOMES = {"M": "maintain", "A": "amend", "C": "cease"}
FLAGS = {"1": True, "0": False, "true": True, "false": False, "y": True, "n": False, "yes": True, "no": False}
DISPUTES = (("RequestMediation", "mediation", "request"), ("RequestTribunal", "tribunal", "request"),
            ("AssessmentMediation", "mediation", "assessment"), ("AssessmentTribunal", "tribunal", "assessment"))  # fmt: skip


class ImportRefused(Unprocessable):
    type, title = "/problems/import-refused", "Requests of the file were refused"


class LeaMismatch(Unprocessable):
    type, title = "/problems/wrong-local-authority", "The file is another local authority's"


@dataclass(slots=True)
class Event:
    """A case event of a request, as `POST /case-events` would store it (`row`), with the item it comes from. Keys
    (`event_id`, `case_key`) are set by `key_all`; `suffix` tells the request's events apart in `event_id`."""

    type: str
    suffix: str
    item: str
    occurred_on: date
    outcome: str | None
    reason: str | None
    event_id: str = ""
    case_key: str = ""

    def content(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in CONTENT)

    def row(self) -> dict[str, Any]:
        return {"event_id": self.event_id, **{name: getattr(self, name) for name in CONTENT}}


@dataclass(slots=True)
class Mapped:
    """A request's case events (rows for `service.store`) and what was wrong with it or left out."""

    record: sen2.Record
    case_ref: str | None = None
    events: list[Event] = field(default_factory=list)
    notes: list[tuple[str, str, str]] = field(default_factory=list)
    dates: dict[str, date] = field(default_factory=dict)  # every date read, for `after_today` once today is known


def _date(mapped: Mapped, item: str) -> date | None:
    record = mapped.record
    value = record.items.get(item)
    if value is None:
        return None
    try:
        day = date.fromisoformat(value) if sen2.ISO_DATE.match(value) else None
    except ValueError:
        day = None
    if day is None:
        record.problem(item, f"{item} is not a date (YYYY-MM-DD)")
    elif day < EARLIEST:
        record.problem(item, f"{item} is before {EARLIEST.isoformat()}")
    else:
        mapped.dates[item] = day
        return day
    return None


def after_today(mapped: list[Mapped], today: date) -> None:
    """Refuse the requests with a date after the partnership's today (known only once the database is read)."""
    for m in mapped:
        for item, day in m.dates.items():
            if day > today:
                m.record.problem(item, f"{item} is after today ({today.isoformat()})")


def _flag(record: sen2.Record, item: str) -> bool:
    value = record.items.get(item)
    if value is None:
        return False
    found = FLAGS.get(value.lower())
    if found is None:
        record.problem(item, f"{item} is not 1 or 0")
        return False
    return found


def _code(record: sen2.Record, item: str, codes: dict[str, str | None]) -> tuple[bool, str | None]:
    """(given, outcome) for a coded item; an unknown code is a problem."""
    value = record.items.get(item)
    if value is None:
        return False, None
    code = value.upper()
    if code not in codes:
        record.problem(item, f"{item} is not one of the codes read ({', '.join(codes)})")
        return False, None
    return True, codes[code]


def _decision(
    mapped: Mapped, item: str, on_item: str, codes: dict[str, str | None], *, dated: bool = True
) -> tuple[str | None, date | None]:
    """A coded decision and its date. `dated`: a decision without its date refuses the request (else it is left out)."""
    record = mapped.record
    given, outcome = _code(record, item, codes)
    on = _date(mapped, on_item)
    if outcome is not None and on_item not in record.items:
        if dated:
            record.problem(item, f"{item} needs {on_item}")
        else:
            mapped.notes.append((record.where(item), item, f"{item} without {on_item}: the decision is left out"))
    if on is not None and not given and on_item in record.items and item not in record.items:
        mapped.notes.append((record.where(on_item), on_item, f"{on_item} without {item}: no decision is recorded"))
    return outcome, on


def map_record(record: sen2.Record) -> Mapped:
    """The record's events (kind, the item they come from, date, outcome, reason), before keys; its problems go on
    the record, items left out in `notes`. Dates after today are refused later (`after_today`)."""
    mapped = Mapped(record)
    if record.unreadable:
        return mapped
    received = _date(mapped, "ReceivedDate")
    start = _date(mapped, "StartDate")
    if "ReceivedDate" not in record.items and "StartDate" not in record.items:
        record.problem(
            "ReceivedDate", "a request needs its ReceivedDate (or, for a plan made before the case system's records, a StartDate)"
        )
    anchor = received or start
    if record.person is not None and anchor is not None:
        mapped.case_ref = f"{CASE_REF_PREFIX}{record.person}|{'r' if received else 'p'}{anchor.isoformat()}"
    events: list[tuple[str, str, str, date | None, str | None, str | None]] = []  # kind, id suffix, item, date, outcome, reason

    def add(kind: str, item: str, day: date | None, outcome: str | None = None, reason: str | None = None, suffix: str = "") -> None:
        events.append((kind, suffix or kind, item, day, outcome, reason))

    add("request_received", "ReceivedDate", received)
    outcome, on = _decision(mapped, "RequestOutcome", "RequestOutcomeDate", REQUEST_OUTCOMES)
    if outcome is not None:
        add("request_decision", "RequestOutcome", on, outcome)
    outcome, on = _decision(mapped, "AssessmentOutcome", "AssessmentOutcomeDate", ASSESSMENT_OUTCOMES)
    if outcome is not None:
        add("assessment_decision", "AssessmentOutcome", on, outcome)
    if record.items.get("AssessmentOutcome", "").upper() == "S" or "TransferLA" in record.items:
        add("transfer_in", "TransferLA" if "TransferLA" in record.items else "AssessmentOutcome", anchor)
    if start is not None and received is not None and start < received:
        record.problem("StartDate", "StartDate is before ReceivedDate")
    add("final_issued", "StartDate", start)
    add("draft_issued", "DraftDate", _date(mapped, "DraftDate"))
    reason = record.items.get("ExceptionReason")
    if reason is not None and reason.lower() not in ("a", "b", "c", "d"):
        record.problem("ExceptionReason", "ExceptionReason is not a, b, c or d (reg. 10(4) of the SEN Regulations 2014)")
    if _flag(record, "Week20") or reason is not None:
        add("exception", "ExceptionReason" if reason is not None else "Week20", anchor, reason=reason.lower() if reason else None)
    for item, kind, stage in DISPUTES:
        if _flag(record, item):
            add(kind, item, anchor, suffix=f"{kind}:{stage}")
    ceased = _date(mapped, "CeaseDate")
    if ceased is not None and start is not None and ceased < start:
        record.problem("CeaseDate", "CeaseDate is before StartDate")
    add("review_decision", "CeaseDate", ceased, "cease", suffix="cease")
    met = _date(mapped, "ReviewMeeting")
    add("review_meeting", "ReviewMeeting", met, suffix=f"review_meeting:{met}")
    outcome, on = _decision(mapped, "ReviewOutcome", "LastReview", dict(REVIEW_OUTCOMES), dated=False)
    if outcome is not None:
        add("review_decision", "ReviewOutcome", on, outcome, suffix=f"review_decision:{on}")
    if mapped.case_ref is None:  # the person or the date it is keyed on is missing: refused above, and no events
        return mapped
    mapped.events = [Event(kind, suffix, item, day, outcome, why) for kind, suffix, item, day, outcome, why in events if day is not None]
    return mapped


def _issue(record: sen2.Record, pointer: str, item: str, message: str) -> ImportIssue:
    return ImportIssue(record=record.number, line=record.line, pointer=pointer, item=item, message=message)


async def import_file(
    session: AsyncSession,
    *,
    actor: Actor,
    settings: Settings,
    partnership_id: uuid.UUID,
    path: Path,
    kind: sen2.Format,
    sha256: str,
    dry_run: bool = False,
    skip_refused: bool = False,
) -> ImportReport:
    """Read the file, map its requests to case events, and (unless `dry_run`, or requests were refused without
    `skip_refused`) store the new ones through the case-event path. The file is read, mapped and (with a configured
    key) keyed in a worker thread before the first database statement."""
    configured = configured_key(settings)
    keyer = case_keyer(configured, partnership_id) if configured is not None else None
    found, mapped = await anyio.to_thread.run_sync(read_and_map, path, kind, settings.case_import_max_records, keyer)
    area = await local(session, partnership_id)
    if area is None:
        raise Unprocessable("No such partnership.", errors=[FieldError(pointer="/partnership_id", message="unknown partnership")])
    la_code = (await session.execute(select(col(Partnership.la_code)).where(col(Partnership.id) == partnership_id))).scalar_one()
    if found.lea is not None and la_code and found.lea.strip() != la_code:
        raise LeaMismatch(
            f"The file's header names local authority {found.lea.strip()[:10]}; this partnership's LA code is {la_code}.",
            errors=[FieldError(pointer="/Message/Header/Source/LEA", message="another local authority's code")],
        )
    today = area.today
    after_today(mapped, today)
    if not dry_run:
        await lock_cases(session, partnership_id)
    if keyer is None:
        key = await case_ref_key(session, settings)
        await anyio.to_thread.run_sync(key_all, mapped, case_keyer(key, partnership_id))
    held = await held_events(session, partnership_id, [e.event_id for m in mapped for e in m.events])
    for m in mapped:
        for event in m.events:
            before = held.get(event.event_id)
            if before is not None and tuple(before[name] for name in CONTENT) != event.content():
                m.record.problem(
                    event.item, f"{event.item} differs from what was imported before ({_shown(before)}): case events are never changed"
                )
    report = _report(found, mapped, held, partnership_id, sha256, dry_run=dry_run, skip_refused=skip_refused)
    if report.refused and not dry_run and not skip_refused:
        raise ImportRefused(
            f"{report.refused} of {report.records} requests were refused, so nothing was imported: fix them, or send "
            "skip_refused=true to import the others.",
            errors=[FieldError(pointer=i.pointer, message=f"record {i.record}, line {i.line}: {i.message}") for i in report.refusals[:100]],
            extensions={"report": report.model_dump(mode="json")},
        )
    if dry_run:
        return report
    new = [e.row() for m in mapped if not m.record.problems for e in m.events if e.event_id not in held]
    sent = sum(len(m.events) for m in mapped if not m.record.problems)
    # Nothing new, nothing to bring up to date: the same file again changes nothing, measures included.
    details = {name: getattr(report, name) for name in ("import_id", "format", "sha256", "skip_refused", "records", "unchanged", "refused")}
    await store(session, actor=actor, partnership_id=partnership_id, today=today, new=new, sent=sent, refresh=bool(new), details=details)
    return report.model_copy(update={"applied": True})


def read_and_map(path: Path, kind: sen2.Format, max_records: int, keyed: Callable[[str], str] | None) -> tuple[sen2.ReadFile, list[Mapped]]:
    """The file's requests, each mapped (and keyed, given `keyed`); a request repeated in the file (same person, same
    date) is refused. No database: run before the transaction's first statement."""
    with path.open("rb") as stream:
        found = sen2.read(stream, kind, max_records)
    mapped = [map_record(r) for r in found.records]
    first: dict[str, int] = {}
    for m in mapped:
        if m.case_ref is None:
            continue
        earlier = first.setdefault(m.case_ref, m.record.number)
        if earlier != m.record.number:
            m.record.problem("ReceivedDate", f"the same person's request of the same date is also record {earlier}")
    if keyed is not None:
        key_all(mapped, keyed)
    return found, mapped


def key_all(mapped: list[Mapped], keyed: Callable[[str], str]) -> None:
    """Each event's `case_key` and `event_id`: keyed hashes of the case and of the case and the kind of event."""
    for m in mapped:
        if m.case_ref is None:
            continue
        case = keyed(m.case_ref)
        for event in m.events:
            event.event_id = "sen2-" + keyed(f"{m.case_ref}#{event.suffix}")[:40]
            event.case_key = case


def _shown(held: dict[str, Any]) -> str:
    outcome = f" {held['outcome']}" if held.get("outcome") else ""
    reason = f", reason {held['reason']}" if held.get("reason") else ""
    return f"{held['type']}{outcome} on {held['occurred_on']}{reason}"


def _report(
    found: sen2.ReadFile,
    mapped: list[Mapped],
    held: dict[str, dict[str, Any]],
    partnership_id: uuid.UUID,
    sha256: str,
    *,
    dry_run: bool,
    skip_refused: bool,
) -> ImportReport:
    refusals: list[ImportIssue] = []
    notes: list[ImportIssue] = []
    counts = {"accepted": 0, "unchanged": 0, "refused": 0, "events_new": 0, "events_held": 0}
    for m in mapped:
        record = m.record
        if record.problems:
            counts["refused"] += 1
            refusals.extend(_issue(record, *p) for p in record.problems if len(refusals) < MAX_LISTED)
            continue
        notes.extend(_issue(record, *n) for n in m.notes if len(notes) < MAX_LISTED)
        fresh = sum(1 for e in m.events if e.event_id not in held)
        counts["events_new"] += fresh
        counts["events_held"] += len(m.events) - fresh
        counts["accepted" if fresh else "unchanged"] += 1
    return ImportReport(
        import_id=uuid.uuid4(),
        partnership_id=partnership_id,
        format=found.format,
        sha256=sha256,
        dry_run=dry_run,
        skip_refused=skip_refused,
        applied=False,
        records=len(mapped),
        refusals=refusals,
        notes=notes,
        **counts,
    )


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
