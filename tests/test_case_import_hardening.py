"""POST /case-events/imports against hostile and odd files: what is refused, what still imports, what no file can do.

Through HTTP, on both databases: a refused file is a problem response (never a 500) and changes nothing.
"""

import asyncio
import codecs
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from app.cases import imports
from app.core.db import Database, current_unit
from app.core.uow import unit_of_work
from app.main import create_app
from tests.sen2_files import Child, Request, csv_of, xml_of
from tests.test_case_imports import CSV, XML, area, d, event_count, figures, imported, send
from tests.test_conventions import assert_problem


async def table_counts(db: Database) -> dict[str, int]:
    async with unit_of_work(db) as session:
        return {
            t.name: int((await session.execute(select(func.count()).select_from(t))).scalar_one()) for t in SQLModel.metadata.sorted_tables
        }


def one_child(**request: Any) -> list[Child]:
    fields: dict[str, Any] = {"decision": ("A", d(30)), "assessment": ("Y", d(100)), "start": d(120), **request}
    received = fields.pop("received", d(0))
    return [Child("Quillfeather", "Ysolde", date(2009, 2, 13), "K801234567012", person_id="P-1", requests=[Request(received, **fields)])]


def lea_xml(partnership: dict[str, Any]) -> bytes:
    return xml_of(one_child(), lea=partnership["la_code"])


def plans_issued(report: dict[str, Any]) -> int:
    return sum(p["plans_issued"] for p in report["periods"])


# --- XML that is refused whole ---------------------------------------------------------------------------------------------

HOSTILE_XML = {
    "billion-laughs": b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;">]><Message><Persons><Person><Surname>&lol3;</Surname></Person></Persons>'
    b"</Message>",
    "external-dtd": b'<?xml version="1.0"?><!DOCTYPE Message SYSTEM "http://127.0.0.1:9/x.dtd"><Message><Persons/></Message>',
    "parameter-entity": b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><Message/>',
    "xinclude": b'<Message xmlns:xi="http://www.w3.org/2001/XInclude"><Persons><Person><Surname><xi:include '
    b'href="file:///etc/passwd" parse="text"/></Surname></Person></Persons></Message>',
    "unknown-encoding": b'<?xml version="1.0" encoding="x-nonsense"?><Message><Persons/></Message>',
    "multi-byte-encoding": b'<?xml version="1.0" encoding="shift_jis"?><Message><Persons/></Message>',
    "utf-7": b'<?xml version="1.0" encoding="utf-7"?><Message><Persons/></Message>',
    "utf-32": b'<?xml version="1.0" encoding="utf-32"?><Message><Persons/></Message>',
    "not-a-text-encoding": b'<?xml version="1.0" encoding="rot13"?><Message><Persons/></Message>',
    "codec-that-fails": b'<?xml version="1.0" encoding="idna"?><Message><Persons/></Message>',
    "lone-lt": b"<",
    "bom-only": codecs.BOM_UTF16_LE,
    "three-roots": b"<Message/>" * 3,
}


@pytest.mark.parametrize("body", HOSTILE_XML.values(), ids=HOSTILE_XML.keys())
async def test_hostile_or_unreadable_xml_is_refused_whole(client: httpx.AsyncClient, db: Database, body: bytes) -> None:
    partnership = await area(client)
    before = await table_counts(db)
    problem = assert_problem(await send(client, partnership, body, XML), 422, "/problems/unreadable-import")
    assert "passwd" not in str(problem) and "root:" not in str(problem)
    assert await table_counts(db) == before


async def test_an_encoding_the_parser_cannot_read_is_named_as_the_problem(client: httpx.AsyncClient) -> None:
    partnership = await area(client)
    for encoding in ("x-nonsense", "shift_jis", "rot13"):
        body = lea_xml(partnership).replace(b'encoding="UTF-8"', f'encoding="{encoding}"'.encode())
        problem = assert_problem(await send(client, partnership, body, XML), 422, "/problems/unreadable-import")
        assert "encoding" in problem["detail"] and problem["errors"][0]["pointer"] == ""


async def test_xml_nested_deeper_than_sen2_is_refused_where_the_parser_meets_it(client: httpx.AsyncClient, db: Database) -> None:
    """SEN2 nests eight levels; the parts the import does not read (the header, placements) are limited too."""
    partnership = await area(client)
    for body in (
        b"<Message><Header>" + b"<a>" * 200_000 + b"</a>" * 200_000 + b"</Header><Persons/></Message>",
        b"<Message><Persons><Person>" + b"<a>" * 200_000 + b"</a>" * 200_000 + b"</Person></Persons></Message>",
    ):
        problem = assert_problem(await send(client, partnership, body, XML), 422, "/problems/unreadable-import")
        error = problem["errors"][-1]  # inside <Person>, after "<a> is not an item of <Person>"
        assert "<a> is nested deeper than 16 levels" in error["message"] and error["pointer"].endswith("/a/a")

    def placements_in(levels: int) -> bytes:  # PlanDetail's items are 8 levels deep; wrapped in `levels` more
        body = lea_xml(partnership)
        return body.replace(b"<PlanDetail>", b"<PlanDetail>" + b"<x>" * levels).replace(
            b"</PlanDetail>", b"</x>" * levels + b"</PlanDetail>"
        )

    assert (await imported(client, partnership, placements_in(8), XML, dry_run="true"))["records"] == 1  # 16 levels: read
    problem = assert_problem(await send(client, partnership, placements_in(9), XML), 422, "/problems/unreadable-import")
    assert problem["errors"][0]["pointer"].endswith("/Assessment/NamedPlan/PlanDetail/x/x/x/x/x/x/x/x/x")
    assert await event_count(db) == 0


async def test_a_file_naming_no_local_authority_is_refused(client: httpx.AsyncClient, db: Database) -> None:
    """Without Header/Source/LEA the local-authority check could not run: another authority's return would import."""
    partnership = await area(client)
    body = xml_of(one_child(), lea="999")
    headless = body[: body.index(b"  <Header>")] + body[body.index(b"</Header>") + len(b"</Header>") :]
    for missing in (headless, body.replace(b"<LEA>999</LEA>", b""), body.replace(b"<LEA>999</LEA>", b"<LEA> </LEA>")):
        problem = assert_problem(await send(client, partnership, missing, XML, dry_run="true"), 422, "/problems/unreadable-import")
        assert problem["errors"] == [{"pointer": "/Message/Header/Source/LEA", "message": "missing"}]
    elsewhere = body.replace(b"<LEA>999</LEA>", b"").replace(
        b"<Header>", f"<Header><Other><Source><LEA>{partnership['la_code']}</LEA></Source></Other>".encode()
    )
    assert_problem(await send(client, partnership, elsewhere, XML), 422, "/problems/unreadable-import")  # only Header/Source/LEA counts
    twice = body.replace(b"<LEA>999</LEA>", f"<LEA>999</LEA><LEA>{partnership['la_code']}</LEA>".encode())
    problem = assert_problem(await send(client, partnership, twice, XML), 422, "/problems/unreadable-import")
    assert "LEA more than once" in problem["errors"][0]["message"]
    assert await event_count(db) == 0


# --- XML that imports ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "content_type"),
    [
        ("utf16", "application/xml"),
        ("utf16", "application/octet-stream"),
        ("utf16-be", "application/octet-stream"),
        ("utf8-bom", "application/octet-stream"),
        ("crlf", "application/xml"),
        ("namespace", "application/xml"),
        ("prefixed", "text/xml"),
        ("latin1", "application/xml"),
        ("cdata", "application/xml"),
    ],
)
async def test_well_formed_variants_of_an_sen2_file_import(client: httpx.AsyncClient, variant: str, content_type: str) -> None:
    partnership = await area(client)
    body = lea_xml(partnership)
    text = body.decode()
    if variant == "utf16":
        body = codecs.BOM_UTF16_LE + text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le")
    elif variant == "utf16-be":
        body = codecs.BOM_UTF16_BE + text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-be")
    elif variant == "utf8-bom":
        body = codecs.BOM_UTF8 + body
    elif variant == "crlf":
        body = body.replace(b"\n", b"\r\n")
    elif variant == "namespace":
        body = body.replace(b"<Message>", b'<Message xmlns="http://www.govtalk.gov.uk/NDX/SEN2">')
    elif variant == "prefixed":
        body = text.replace("<Message>", '<s:Message xmlns:s="urn:sen2">').replace("</Message>", "</s:Message>").encode()
    elif variant == "latin1":
        body = text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace("Ysolde", "Zoë").encode("latin-1")
    elif variant == "cdata":
        body = body.replace(b"<Surname>Quillfeather</Surname>", b"<Surname><![CDATA[Quillfeather]]></Surname>")
    report = await imported(client, partnership, body, {"content-type": content_type})
    assert (report["format"], report["accepted"]) == ("sen2_xml", 1)


# --- CSV ---------------------------------------------------------------------------------------------------------------------

HEADER = b"PersonID,ReceivedDate,RequestOutcomeDate,RequestOutcome\r\n"


def received_row(person: bytes) -> bytes:
    return person + b"," + d(1).isoformat().encode() + b",,\r\n"


ODD_CSV = {
    "formula": (HEADER + received_row(b"\"=cmd|' /C calc'!A0\""), 200),
    "quoted-newline": (HEADER + received_row(b'"P\r\n1"'), 200),
    "nul": (HEADER + b"P1,\x00,,\r\n", 200),
    "header-only": (HEADER, 200),
    "cr-only": (HEADER.replace(b"\r\n", b"\r") + received_row(b"P1").replace(b"\r\n", b"\r"), 200),
    "huge-field": (HEADER + b'"' + b"x" * 200_000 + b'",2025-01-01,,\r\n', 422),
    "trailing-empty-column": (b"PersonID,ReceivedDate,\r\nP1," + d(1).isoformat().encode() + b",\r\n", 422),
    "semicolons": (b"PersonID;ReceivedDate\r\nP1;2025-01-01\r\n", 422),
    "no-received": (b"PersonID,RequestOutcome\r\nP1,A\r\n", 422),
    "utf16": ("PersonID,ReceivedDate\r\nP1,2025-01-01\r\n".encode("utf-16"), 422),
    "bad-quote": (HEADER + b'P1,"2025-01-01"x,,\r\n', 422),
    "5000-columns": (b"PersonID," * 5000 + b"ReceivedDate\r\n", 422),
}


@pytest.mark.parametrize(("body", "status"), ODD_CSV.values(), ids=ODD_CSV.keys())
async def test_odd_csv_is_read_or_refused_never_a_500(client: httpx.AsyncClient, db: Database, body: bytes, status: int) -> None:
    partnership = await area(client)
    response = await send(client, partnership, body, CSV, dry_run="true")
    assert response.status_code == status, response.text[:800]
    assert "calc" not in response.text and "xxxxxxxx" not in response.text
    assert await event_count(db) == 0


@pytest.mark.parametrize(
    "value", ["0001-01-01", "9999-12-31", "2025-02-29", "31/02/2025", "\u0662\u0660\u0662\u0665-\u0660\u0661-\u0660\u0661", "2025-1-1", "2025-01-01T00:00:00"]
)  # fmt: skip
async def test_dates_that_are_not_dates_refuse_their_request(client: httpx.AsyncClient, value: str) -> None:
    partnership = await area(client)
    report = await imported(client, partnership, f"PersonID,ReceivedDate\r\nP1,{value}\r\n".encode(), CSV, dry_run="true")
    assert report["refused"] == 1 and value not in str(report)


async def test_a_request_whose_person_cannot_be_told_apart_is_refused_not_a_500(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await area(client)
    body = b"Surname,Forename,PersonBirthDate,ReceivedDate\r\n,Sam,2010-01-01,2025-01-01\r\nAsh,Sam,2010-01-01,2025-01-01\r\n"
    report = await imported(client, partnership, body, CSV, dry_run="true")
    assert (report["refused"], report["accepted"]) == (1, 1) and report["refusals"][0]["item"] == "PersonID"
    kids = one_child()
    kids[0].surname = ""
    report = await imported(client, partnership, xml_of(kids, lea=partnership["la_code"]), XML, dry_run="true")
    assert report["refused"] == 1 and report["refusals"][0]["item"] == "Surname"
    assert await event_count(db) == 0


# --- limits --------------------------------------------------------------------------------------------------------------------


@asynccontextmanager
async def with_settings(settings: Any, db: Database, token: str, **changed: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update=changed), database=db)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


async def test_a_file_of_more_requests_than_the_limit_is_413(
    settings: Any, db: Database, admin_token: str, client: httpx.AsyncClient
) -> None:
    partnership = await area(client)
    kids = [Child(f"Name{i}", "Kid", date(2012, 1, 1) + timedelta(days=i), f"A{i:012d}", person_id=f"P-{i}", requests=[Request(d(i))]) for i in range(4)]  # fmt: skip
    async with with_settings(settings, db, admin_token, case_import_max_records=3) as small:
        for body, headers in ((xml_of(kids, lea=partnership["la_code"]), XML), (csv_of(kids, by_id=True), CSV)):
            problem = assert_problem(await send(small, partnership, body, headers), 413, "/problems/payload-too-large")
            assert "WSOA_CASE_IMPORT_MAX_RECORDS" in problem["detail"]
        assert (await imported(small, partnership, xml_of(kids[:3], lea=partnership["la_code"]), XML))["accepted"] == 3
        assert (await imported(small, partnership, csv_of(kids[:3]), CSV))["unchanged"] == 3  # the same requests, keyed by name
    assert await event_count(db) == 3


async def test_the_file_is_read_before_the_import_opens_its_transaction(
    client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading and mapping a large file takes seconds: no transaction (on SQLite, the write lock) is held meanwhile."""
    partnership = await area(client)
    seen: list[bool] = []
    read_and_map = imports.read_and_map

    def watched(*args: Any) -> Any:
        unit = current_unit.get()
        assert unit is not None
        seen.append(unit.in_transaction())
        return read_and_map(*args)

    monkeypatch.setattr(imports, "read_and_map", watched)
    assert (await imported(client, partnership, lea_xml(partnership), XML))["accepted"] == 1
    assert seen == [False]


async def test_concurrent_imports_of_one_file_add_its_events_once(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await area(client)
    kids = [
        Child(f"Name{i}", "Kid", date(2012, 1, 1) + timedelta(days=i), f"A{i:012d}", requests=[Request(d(i % 300), decision=("A", d(i % 300 + 20)))])
        for i in range(400)
    ]  # fmt: skip
    body = xml_of(kids, lea=partnership["la_code"])
    answers = await asyncio.gather(*(send(client, partnership, body, XML) for _ in range(4)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text[:300] for a in answers]
    assert sorted(a.json()["events_new"] for a in answers) == [0, 0, 0, 800]
    assert await event_count(db, partnership) == 800


# --- keys ------------------------------------------------------------------------------------------------------------------------


async def test_an_event_posted_to_case_events_cannot_join_an_imported_case(client: httpx.AsyncClient, db: Database) -> None:
    """Imported cases are keyed on a reference `POST /case-events` cannot send (it holds a space), so a posted event
    naming the person and date the import keys on (here a mediation, which would take the plan out of the figures) lands
    in a case of its own."""
    partnership = await area(client)
    await imported(client, partnership, csv_of(one_child(), by_id=True), CSV)
    assert plans_issued(await figures(client, partnership, "year")) == 1
    for case_ref in (f"sen2|id:P-1|r{d(0).isoformat()}", f"sen2-import|id:P-1|r{d(0).isoformat()}", "P-1"):
        forged = {"event_id": f"x-{case_ref}", "case_ref": case_ref, "type": "mediation", "occurred_on": d(0).isoformat()}
        response = await client.post("/api/v1/case-events", json={"partnership_id": partnership["id"], "events": [forged]})
        assert response.status_code == 200, response.text
    assert plans_issued(await figures(client, partnership, "year")) == 1
    spaced = {
        "event_id": "x-2",
        "case_ref": f"sen2 import|id:P-1|r{d(0).isoformat()}",
        "type": "mediation",
        "occurred_on": d(0).isoformat(),
    }
    response = await client.post("/api/v1/case-events", json={"partnership_id": partnership["id"], "events": [spaced]})
    assert assert_problem(response, 422)["errors"][0]["pointer"] == "/events/0/case_ref"
    assert plans_issued(await figures(client, partnership, "year")) == 1
