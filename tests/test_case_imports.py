"""Case events imported from SEN2 person-level returns (XML) and CSV extracts, through HTTP, on both databases."""

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import JSON, Date, String, Text, cast, func, or_, select
from sqlmodel import SQLModel

from app.core.db import Database
from app.core.uow import unit_of_work
from app.main import create_app
from app.models import AuditEvent, CaseEvent
from app.models.enums import Role
from tests.factories import make_partnership
from tests.sen2_files import Child, Request, csv_of, xml_of
from tests.test_conventions import assert_problem
from tests.test_roles import as_role

URL = "/api/v1/case-events/imports"
XML = {"content-type": "application/xml"}
CSV = {"content-type": "text/csv"}
TODAY = date.today() - timedelta(days=2)  # safely not after any partnership's today, whatever the time zones
B = TODAY - timedelta(days=500)


def d(days: int) -> date:
    return B + timedelta(days=days)


def children() -> list[Child]:
    """Thirteen requests of eleven children, one of each kind of history the import maps."""
    return [
        Child("Quillfeather", "Ysolde", date(2009, 2, 13), "K801234567012", postcode="ZZ99 3QX", person_id="P-1", requests=[
            Request(d(0), decision=("A", d(30)), assessment=("Y", d(100)), start=d(120), review_meeting=d(420), review=("M", d(435)),
                    other_tribunal=True),
        ]),
        Child("Ashdown", "Rory", date(2012, 5, 1), "A100000000001", person_id="P-2", requests=[
            Request(d(10), decision=("A", d(45)), assessment=("Y", d(150)), start=d(200)),
        ]),
        Child("Brook", "Maya", date(2013, 6, 2), "A100000000002", person_id="P-3", requests=[
            Request(d(20), decision=("A", d(50)), assessment=("Y", d(120)), week20=True, exception_reason="c", start=d(180)),
        ]),
        Child("Carver", "Theo", date(2014, 7, 3), "A100000000003", person_id="P-4", requests=[
            Request(d(30), decision=("N", d(60)), request_mediation=True),
            Request(d(200), decision=("A", d(230)), assessment=("Y", d(300)), start=d(330)),
        ]),
        Child("Dale", "Iris", date(2015, 8, 4), "A100000000004", person_id="P-5", requests=[
            Request(d(40), decision=("A", d(60)), assessment=("Y", d(130)), start=d(140), transfer_la="851"),
        ]),
        Child("Elm", "Noah", date(2016, 9, 5), "A100000000005", person_id="P-6", requests=[
            Request(d(50), decision=("A", d(80)), assessment=("S", d(150)), start=d(160)),
        ]),
        Child("Fern", "Ava", date(2017, 10, 6), "A100000000006", person_id="P-7", requests=[Request(d(60), decision=("W", d(70)))]),
        Child("Grove", "Leo", date(2018, 11, 7), "A100000000007", person_id="P-8", requests=[Request(TODAY - timedelta(days=20))]),
        Child("Heath", "Zara", date(2012, 12, 8), "A100000000008", person_id="P-9", requests=[
            Request(d(100), decision=("A", d(130)), assessment=None, week20=True),
        ]),
        Child("Ives", "Finn", date(2011, 1, 9), "A100000000009", person_id="P-10", requests=[
            Request(d(5), decision=("A", d(35)), assessment=("Y", d(90)), start=d(110), cease=d(400)),
        ]),
        Child("Jay", "Ruby", date(2010, 2, 10), "A100000000010", person_id="P-11", requests=[
            Request(None, start=d(-300), review_meeting=d(200), review=("A", d(215))),
            Request(d(70), decision=("A", d(100)), assessment=("N", d(180)), assessment_tribunal=True),
        ]),
    ]  # fmt: skip


IDENTIFIERS = ("Quillfeather", "Ysolde", "2009-02-13", "K801234567012", "ZZ99 3QX", "13/02/2009")


def posted_events(kids: list[Child]) -> list[dict[str, Any]]:
    """The events the documented mapping gives, written by hand as `POST /case-events` takes them."""
    events: list[dict[str, Any]] = []
    for c, child in enumerate(kids):
        for n, r in enumerate(child.requests):
            case = f"case-{c}-{n}"
            anchor = r.received or r.start
            assert anchor is not None

            def add(kind: str, on: date | None, case: str = case, **extra: str) -> None:
                if on is not None:
                    events.append(
                        {"event_id": f"{case}-{len(events)}", "case_ref": case, "type": kind, "occurred_on": on.isoformat(), **extra}
                    )

            add("request_received", r.received)
            if r.decision:
                add("request_decision", r.decision[1], outcome={"A": "assess", "N": "not_assess", "W": "withdrawn"}[r.decision[0]])
            if r.assessment:
                add("assessment_decision", r.assessment[1], outcome={"Y": "issue", "N": "not_issue", "S": "issue"}[r.assessment[0]])
            if (r.assessment and r.assessment[0] == "S") or r.transfer_la:
                add("transfer_in", anchor)
            add("final_issued", r.start)
            if r.week20:
                add("exception", anchor, reason="c")
            for flag, kind in ((r.request_mediation, "mediation"), (r.request_tribunal, "tribunal"),
                               (r.assessment_mediation, "mediation"), (r.assessment_tribunal, "tribunal")):  # fmt: skip
                if flag:
                    add(kind, anchor)
            if r.cease:
                add("review_decision", r.cease, outcome="cease")
            add("review_meeting", r.review_meeting)
            if r.review:
                add("review_decision", r.review[1], outcome={"M": "maintain", "A": "amend", "C": "cease"}[r.review[0]])
    return events


async def send(
    client: httpx.AsyncClient, partnership: dict[str, Any], body: bytes, headers: dict[str, str], **params: Any
) -> httpx.Response:
    return await client.post(URL, content=body, headers=headers, params={"partnership_id": partnership["id"], **params})


async def imported(client: httpx.AsyncClient, partnership: dict[str, Any], body: bytes, headers: dict[str, str], **params: Any) -> dict[str, Any]:  # fmt: skip
    response = await send(client, partnership, body, headers, **params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def figures(client: httpx.AsyncClient, partnership: dict[str, Any], granularity: str = "month") -> dict[str, Any]:
    params = {"from": (B - timedelta(days=400)).isoformat(), "to": TODAY.isoformat(), "granularity": granularity}
    response = await client.get(f"/api/v1/partnerships/{partnership['id']}/ehcp-timeliness", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    del body["partnership_id"]
    return body


async def event_count(db: Database, partnership: dict[str, Any] | None = None) -> int:
    async with unit_of_work(db) as session:
        query = select(func.count()).select_from(CaseEvent)
        if partnership is not None:
            query = query.where(CaseEvent.partnership_id == uuid.UUID(partnership["id"]))  # type: ignore[arg-type]
        return int((await session.execute(query)).scalar_one())


async def area(client: httpx.AsyncClient) -> dict[str, Any]:
    return await make_partnership(client)


async def test_an_sen2_file_gives_the_figures_of_the_same_events_posted_one_by_one(client: httpx.AsyncClient, db: Database) -> None:
    kids = children()
    by_file, by_hand = await area(client), await area(client)
    report = await imported(client, by_file, xml_of(kids, lea=by_file["la_code"]), XML)
    expected = posted_events(kids)
    assert (report["format"], report["records"], report["accepted"], report["unchanged"], report["refused"]) == ("sen2_xml", 13, 13, 0, 0)
    assert report["applied"] is True and report["events_new"] == len(expected) and report["events_held"] == 0
    assert report["refusals"] == [] and report["notes"] == []
    for event in expected:  # one by one, as a case system would send them
        response = await client.post("/api/v1/case-events", json={"partnership_id": by_hand["id"], "events": [event]})
        assert response.status_code == 200, response.text
    assert await event_count(db, by_file) == await event_count(db, by_hand) == len(expected)
    for granularity in ("month", "year"):
        assert await figures(client, by_file, granularity) == await figures(client, by_hand, granularity)
    year = await figures(client, by_file, "year")
    issued = sum(p["plans_issued"] for p in year["periods"])
    assert issued == 5  # 8 plans, less the transfer-in, the plan after another LA's assessment and the plan without a request
    assert sum(p["plans_issued_excl_exceptions"] for p in year["periods"]) == 4
    assert year["backlog"]["total"] == 1 and year["backlog"]["with_exception"] == 1


async def test_a_csv_extract_keyed_by_name_is_the_same_requests_as_the_xml(client: httpx.AsyncClient, db: Database) -> None:
    kids = children()
    from_xml, from_csv, by_id = await area(client), await area(client), await area(client)
    await imported(client, from_xml, xml_of(kids, lea=from_xml["la_code"]), XML)
    report = await imported(client, from_csv, csv_of(kids, uk_dates=True), CSV)
    assert (report["format"], report["records"], report["accepted"], report["refused"]) == ("csv", 13, 13, 0)
    assert report["events_new"] == len(posted_events(kids))
    assert await figures(client, from_csv) == await figures(client, from_xml)
    # The same requests sent as CSV to the partnership that had the XML: the same cases, but the CSV names the exception's
    # reason, which the XML could not: that request is refused, the others unchanged.
    again = await send(client, from_xml, csv_of(kids), CSV, dry_run="true")
    body = again.json()
    assert (body["unchanged"], body["refused"], body["events_new"]) == (12, 1, 0), body
    assert body["refusals"][0]["item"] == "ExceptionReason" and "never changed" in body["refusals"][0]["message"]
    keyed = await imported(client, by_id, csv_of(kids, by_id=True), CSV)
    assert keyed["accepted"] == 13 and await figures(client, by_id) == await figures(client, from_csv)


async def test_the_same_file_again_changes_nothing(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await area(client)
    body = xml_of(children(), lea=partnership["la_code"])
    first = await imported(client, partnership, body, XML)
    held = await event_count(db, partnership)
    again = await imported(client, partnership, body, XML)
    assert (again["accepted"], again["unchanged"], again["refused"], again["events_new"]) == (0, 13, 0, 0)
    assert again["events_held"] == first["events_new"] == held == await event_count(db, partnership)
    assert again["sha256"] == first["sha256"] and again["import_id"] != first["import_id"]
    # One audit event per import (the contract's `sync` of case events), naming the import and its counts.
    audits = (await client.get("/api/v1/audit-events", params={"entity_type": "case_events"})).json()["items"]
    assert sorted(a["changes"]["import_id"][1] for a in audits) == sorted([first["import_id"], again["import_id"]])
    mine = next(a for a in audits if a["changes"]["import_id"][1] == again["import_id"])
    assert mine["action"] == "sync" and mine["changes"]["unchanged"] == [None, 13] and mine["changes"]["accepted"] == [None, 0]


async def test_next_months_cumulative_file_adds_only_what_is_new(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await area(client)
    kids = children()
    waiting = kids[7].requests[0]  # received 20 days ago, undecided
    await imported(client, partnership, xml_of(kids, lea=partnership["la_code"]), XML)
    before = await event_count(db, partnership)
    waiting.decision = ("A", TODAY - timedelta(days=5))  # decided since
    kids[0].requests[0].review_meeting, kids[0].requests[0].review = TODAY - timedelta(days=3), ("A", TODAY)  # a newer review
    kids.append(Child("Kestrel", "Omar", date(2019, 3, 11), "A100000000011", requests=[Request(TODAY - timedelta(days=4))]))
    report = await imported(client, partnership, xml_of(kids, lea=partnership["la_code"]), XML)
    assert (report["records"], report["accepted"], report["unchanged"], report["refused"]) == (14, 3, 11, 0)
    assert report["events_new"] == 4  # the decision, the review's meeting and decision, the new request
    assert await event_count(db, partnership) == before + 4  # the earlier review's events stay: each review is its own


async def test_a_changed_date_is_refused_and_the_rest_imported_only_when_asked(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await area(client)
    kids = children()
    await imported(client, partnership, xml_of(kids, lea=partnership["la_code"]), XML)
    before = await event_count(db, partnership)
    first = kids[1].requests[0]
    assert first.assessment is not None
    first.assessment = ("Y", first.assessment[1] + timedelta(days=1))  # "corrected" in the case system
    kids[7].requests[0].decision = ("A", TODAY - timedelta(days=1))
    refused = await send(client, partnership, xml_of(kids, lea=partnership["la_code"]), XML)
    problem = assert_problem(refused, 422, "/problems/import-refused")
    report = problem["report"]
    assert (report["refused"], report["accepted"], report["applied"]) == (1, 1, False)
    issue = report["refusals"][0]
    assert issue["record"] == 2 and issue["item"] == "AssessmentOutcome"
    assert issue["pointer"] == "/Message/Persons/Person/1/Requests/0/Assessment/AssessmentOutcome"
    assert f"issue on {(d(150)).isoformat()}" in issue["message"]
    assert problem["errors"][0]["pointer"] == issue["pointer"]
    assert await event_count(db, partnership) == before
    partial = await imported(client, partnership, xml_of(kids, lea=partnership["la_code"]), XML, skip_refused="true")
    assert (partial["refused"], partial["accepted"], partial["events_new"], partial["applied"]) == (1, 1, 1, True)
    assert await event_count(db, partnership) == before + 1


def _line_of(body: bytes, text: str) -> int:
    return body.decode()[: body.decode().index(text)].count("\n") + 1


async def test_requests_with_problems_are_reported_with_record_line_and_pointer(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await area(client)
    kids = children()[:3]
    kids[0].requests[0].decision = ("Q", d(30))  # no such code
    kids[1].requests[0].start = TODAY + timedelta(days=30)  # after today
    kids[2].requests[0].assessment = ("Y", None)  # a decision without its date
    kids.append(
        Child("Moss", "Eli", date(2015, 1, 1), "A100000000012", requests=[
            Request(d(9), decision=("A", d(20)), assessment=("Y", d(60)), start=d(100), review=("M", None)),
        ])
    )  # fmt: skip
    body = xml_of(kids, lea=partnership["la_code"])
    dry = await imported(client, partnership, body, XML, dry_run="true")
    assert (dry["records"], dry["refused"], dry["accepted"], dry["applied"], dry["dry_run"]) == (4, 3, 1, False, True)
    by_record = {i["record"]: i for i in dry["refusals"]}
    assert by_record[1]["item"] == "RequestOutcome" and by_record[1]["line"] == _line_of(body, "<Requests>")
    assert by_record[1]["pointer"] == "/Message/Persons/Person/0/Requests/0/RequestOutcome"
    assert by_record[2]["pointer"] == "/Message/Persons/Person/1/Requests/0/Assessment/NamedPlan/StartDate"
    assert "after today" in by_record[2]["message"]
    assert by_record[3]["item"] == "AssessmentOutcome" and "needs AssessmentOutcomeDate" in by_record[3]["message"]
    [note] = dry["notes"]
    assert note["record"] == 4 and note["line"] == _line_of(body, "<Surname>Moss") + 1
    assert note["pointer"] == "/Message/Persons/Person/3/Requests/0/ActivePlans/ReviewOutcome"
    assert note["message"] == "ReviewOutcome without LastReview: the decision is left out"
    assert await event_count(db, partnership) == 0
    assert_problem(await send(client, partnership, body, XML), 422, "/problems/import-refused")
    assert await event_count(db, partnership) == 0
    done = await imported(client, partnership, body, XML, skip_refused="true")
    assert done["accepted"] == 1 and await event_count(db, partnership) == 4  # Moss's request; the review without a date left out


BAD_XML: list[tuple[bytes, str, str]] = [
    (b"<Message><Persons><Person></Persons></Message>", "/Message/Persons/Person/0", "not well-formed"),
    (
        b'<?xml version="1.0"?><!DOCTYPE Message [<!ENTITY x SYSTEM "file:///etc/passwd">]><Message><Persons/></Message>',
        "",
        "DTD",
    ),
    (b"<Return><Persons/></Return>", "/Return", "not an SEN2 person-level file"),
    (
        b"<Message><Persons><Person><Surname>A</Surname><Requests><ReceivedDate>2025-01-01</ReceivedDate><Colour>red</Colour>"
        b"</Requests></Person></Persons></Message>",
        "/Message/Persons/Person/0/Requests/0/Colour",
        "not an item of <Requests>",
    ),
]


@pytest.mark.parametrize(("body", "pointer", "words"), BAD_XML, ids=["not-well-formed", "dtd", "wrong-root", "unknown-element"])
async def test_files_that_are_not_sen2_returns_are_refused_whole(
    client: httpx.AsyncClient, db: Database, body: bytes, pointer: str, words: str
) -> None:
    partnership = await area(client)
    problem = assert_problem(await send(client, partnership, body, XML), 422, "/problems/unreadable-import")
    assert words in problem["detail"] + problem["errors"][0]["message"]
    assert problem["errors"][0]["pointer"] == pointer
    assert "passwd" not in str(problem)
    assert await event_count(db) == 0


async def test_csv_headers_it_cannot_use_are_refused_with_pointers(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await area(client)
    unknown = assert_problem(await send(client, partnership, b"PersonID,ReceivedDate,Colour\nP1,2025-01-01,red\n", CSV), 422)
    assert unknown["type"] == "/problems/unreadable-import" and unknown["errors"][0]["pointer"] == "/header/2"
    nobody = assert_problem(await send(client, partnership, b"ReceivedDate,StartDate\n2025-01-01,\n", CSV), 422)
    assert nobody["errors"] == [
        {"pointer": "/header", "message": "needs PersonID, or Surname, Forename and PersonBirthDate, to tell people apart"}
    ]
    twice = assert_problem(await send(client, partnership, b"PersonID,ReceivedDate,receiveddate\n", CSV), 422)
    assert twice["errors"][0]["pointer"] == "/header/2"
    latin = assert_problem(await send(client, partnership, "PersonID,ReceivedDate\nZoë,2025-01-01\n".encode("latin-1"), CSV), 422)
    assert "UTF-8" in latin["detail"]
    short = await imported(client, partnership, b"PersonID,ReceivedDate\nP1\nP2,2025-02-30\n", CSV, dry_run="true")
    assert [(i["record"], i["line"], i["pointer"]) for i in short["refusals"]] == [(1, 2, "/rows/0"), (2, 3, "/rows/1/ReceivedDate")]
    assert_problem(await send(client, partnership, b"", CSV), 422)
    assert_problem(await client.post(URL, json={"events": []}, params={"partnership_id": partnership["id"]}), 415)
    assert await event_count(db) == 0


async def test_multipart_and_unlabelled_uploads_are_read_by_their_content(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await area(client)
    kids = children()[:2]
    files = {"file": ("sen2.xml", xml_of(kids, lea=partnership["la_code"]), "application/xml")}
    by_form = await client.post(URL, files=files, params={"partnership_id": partnership["id"], "dry_run": "true"})
    assert by_form.status_code == 200 and by_form.json()["format"] == "sen2_xml" and by_form.json()["accepted"] == 2
    as_bytes = await imported(client, partnership, csv_of(kids), {"content-type": "application/octet-stream"})
    assert as_bytes["format"] == "csv" and as_bytes["accepted"] == 2
    unnamed = await client.post(
        URL,
        files={"file": ("x.bin", xml_of(kids, lea=partnership["la_code"]), "application/octet-stream")},
        params={"partnership_id": partnership["id"]},
    )
    assert unnamed.status_code == 200 and unnamed.json()["format"] == "sen2_xml" and unnamed.json()["unchanged"] == 2
    wrong_field = await client.post(
        URL, files={"upload": ("x.xml", b"<Message/>", "application/xml")}, params={"partnership_id": partnership["id"]}
    )
    assert assert_problem(wrong_field, 422)["errors"][0]["pointer"] == "/file"
    assert_problem(await send(client, partnership, xml_of(kids, lea=partnership["la_code"]), XML, colour="red"), 422)


async def test_a_file_larger_than_the_limit_is_413(settings: Any, db: Database, admin_token: str, client: httpx.AsyncClient) -> None:
    partnership = await area(client)
    small = create_app(settings.model_copy(update={"case_import_max_bytes": 4096}), database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small), base_url="http://test",
                                 headers={"Authorization": f"Bearer {admin_token}"}) as c:  # fmt: skip
        body = xml_of(children(), lea=partnership["la_code"])
        assert len(body) > 4096
        assert_problem(await send(c, partnership, body, XML), 413, "/problems/payload-too-large")

        async def pieces() -> AsyncIterator[bytes]:
            yield body[:3000]
            yield body[3000:]

        chunked = await c.post(URL, content=pieces(), headers=XML, params={"partnership_id": partnership["id"]})
        assert_problem(chunked, 413)
    assert await event_count(db) == 0


async def test_another_local_authoritys_file_and_another_partnerships_events(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    mine, theirs = await area(client), await area(client)
    await client.post("/api/v1/case-events", json={"partnership_id": theirs["id"], "events": posted_events(children())})
    held, seen = await event_count(db, theirs), await figures(client, theirs)
    wrong = assert_problem(await send(client, mine, xml_of(children(), lea=theirs["la_code"]), XML), 422, "/problems/wrong-local-authority")
    assert wrong["errors"][0]["pointer"] == "/Message/Header/Source/LEA"
    await imported(client, mine, xml_of(children(), lea=mine["la_code"]), XML)
    assert await event_count(db, theirs) == held and await figures(client, theirs) == seen
    async with as_role(app, db, Role.case_integration, mine) as integration:
        refused = await integration.post(
            URL, content=xml_of(children(), lea=mine["la_code"]), headers=XML, params={"partnership_id": theirs["id"]}
        )
        assert_problem(refused, 422)
        own = await integration.post(URL, content=xml_of(children(), lea=mine["la_code"]), headers=XML)  # the key's own partnership
        assert own.status_code == 200 and own.json()["unchanged"] == 13
    async with as_role(app, db, Role.lead, mine) as lead:
        assert_problem(await lead.post(URL, content=xml_of(children(), lea=mine["la_code"]), headers=XML), 403, "/problems/forbidden")


async def test_names_dates_of_birth_and_upns_never_reach_the_database_or_the_logs(
    client: httpx.AsyncClient, db: Database, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    partnership, other = await area(client), await area(client)
    kids = children()
    answers = [
        await send(client, partnership, xml_of(kids, lea=partnership["la_code"]), XML),
        await send(client, other, csv_of(kids, uk_dates=True), CSV),
    ]
    kids[0].requests[0].decision = ("A", TODAY + timedelta(days=9))
    answers.append(
        await send(client, partnership, xml_of(kids, lea=partnership["la_code"]), XML)
    )  # refused: its report names the record, not the child
    assert [a.status_code for a in answers] == [200, 200, 422]
    found = []
    async with unit_of_work(db) as session:
        for table in SQLModel.metadata.sorted_tables:
            texts = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            dates = [c for c in table.columns if isinstance(c.type, Date)]
            for value in IDENTIFIERS:
                checks = [cast(c, Text).like(f"%{value}%") for c in texts]
                if value == "2009-02-13":
                    checks += [c == date(2009, 2, 13) for c in dates]
                if checks and (await session.execute(select(func.count()).select_from(table).where(or_(*checks)))).scalar_one():
                    found.append((table.name, value))
        assert (await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one() > 0
    assert found == []
    out, err = capfd.readouterr()
    for value in IDENTIFIERS:
        assert all(value not in a.text for a in answers)
        assert value not in out + err + caplog.text


def wsoa(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "WSOA_DATABASE_URL": database_url, "WSOA_LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, capture_output=True, text=True, timeout=120, check=False)


async def test_the_command_line_imports_the_same_way(database_url: str, client: httpx.AsyncClient, db: Database, tmp_path: Any) -> None:
    partnership = await area(client)
    await area(client)
    path = tmp_path / "sen2.xml"
    path.write_bytes(xml_of(children(), lea=partnership["la_code"]))
    dry = wsoa(database_url, "case-events", "import", str(path), "--partnership", partnership["la_code"], "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "13 requests in the sen2_xml file: 13 with new events, 0 unchanged, 0 refused; would add" in dry.stdout
    assert await event_count(db) == 0
    done = wsoa(database_url, "case-events", "import", str(path), "--partnership", partnership["id"])
    assert done.returncode == 0 and "added" in done.stdout
    by_api = await imported(client, partnership, xml_of(children(), lea=partnership["la_code"]), XML)
    assert by_api["unchanged"] == 13  # the same keys from the command line as over HTTP
    audits = (await client.get("/api/v1/audit-events", params={"entity_type": "case_events"})).json()["items"]
    assert {a["actor_id"] for a in audits if "import_id" in a["changes"]} >= {"cli"}
    nobody = wsoa(database_url, "case-events", "import", str(path))
    assert nobody.returncode == 1 and "--partnership" in nobody.stderr
    kids = children()
    kids[0].requests[0].decision = ("Q", d(30))
    path.write_bytes(xml_of(kids, lea=partnership["la_code"]))
    refused = wsoa(database_url, "case-events", "import", str(path), "--partnership", partnership["la_code"])
    assert refused.returncode == 1 and "refused" in refused.stderr and "RequestOutcome" in refused.stderr


async def test_the_shipped_examples_import_whole(client: httpx.AsyncClient) -> None:
    """The README's worked example: docs/examples/sen2-return.xml (Wessex Vale's LA code, 990) and its CSV twin."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "docs" / "examples"
    partnership = await area(client)
    xml = (folder / "sen2-return.xml").read_bytes().replace(b"<LEA>990</LEA>", f"<LEA>{partnership['la_code']}</LEA>".encode())
    by_xml = await imported(client, partnership, xml, XML, dry_run="true")
    by_csv = await imported(client, partnership, (folder / "case-events.csv").read_bytes(), CSV, dry_run="true")
    for report in (by_xml, by_csv):
        assert (report["records"], report["refused"], report["applied"]) == (5, 0, False), report
    assert by_xml["events_new"] == by_csv["events_new"] == 21
    # The two name each child the same way (name and date of birth): one after the other, the second adds nothing.
    assert (await imported(client, partnership, xml, XML))["events_new"] == 21
    again = await imported(client, partnership, (folder / "case-events.csv").read_bytes(), CSV)
    assert (again["events_new"], again["unchanged"]) == (0, 5), again


async def test_a_csv_file_as_a_browser_sends_it_is_read_from_its_bytes(client: httpx.AsyncClient) -> None:
    """A form's `.csv` file arrives as text/plain, or as application/vnd.ms-excel where Excel is installed."""
    partnership = await area(client)
    body = csv_of(children(), uk_dates=True)
    for media in ("text/plain", "application/vnd.ms-excel"):
        response = await client.post(
            URL, files={"file": ("sen2.csv", body, media)}, params={"partnership_id": partnership["id"], "dry_run": "true"}
        )
        assert response.status_code == 200, response.text
        assert (response.json()["format"], response.json()["records"]) == ("csv", 13)
    assert_problem(
        await client.post(URL, files={"file": ("x.pdf", b"%PDF-1.7", "application/pdf")}, params={"partnership_id": partnership["id"]}), 415
    )
