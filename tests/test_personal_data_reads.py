"""Reads of personal data are in the audit trail: who read a person's contact details, downloaded evidence held
locally or downloaded a board pack, and when. Reads that disclose none of it are not, and a read changes nothing
the trail rebuilds a plan from."""

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from app.core.db import Database
from app.core.uow import unit_of_work
from app.models.enums import Role
from app.progress.state import state_at
from tests.conftest import new_token
from tests.factories import make_person, make_world
from tests.test_evidence import PDF, client_for, link, upload


async def reads_of(client: httpx.AsyncClient, entity_id: str) -> list[dict[str, Any]]:
    events = (await client.get("/api/v1/audit-events", params={"entity_id": entity_id, "action": "read"})).json()["items"]
    return [e for e in events if e["action"] == "read"]


async def test_reading_a_persons_contact_details_is_audited(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    with_email = await make_person(client, w.partnership, email="sam.okafor@council.example")
    without_email = await make_person(client, w.partnership)
    lead_token = await new_token(db, Role.lead, partnership_id=uuid.UUID(w.partnership["id"]))
    inspector_token = await new_token(db, Role.inspector, partnership_id=uuid.UUID(w.partnership["id"]))
    async with client_for(app, lead_token) as lead, client_for(app, inspector_token) as inspector:
        read = await lead.get(f"/api/v1/people/{with_email['id']}")
        assert read.status_code == 200 and read.json()["email"] == "sam.okafor@council.example"
        assert (await lead.get(f"/api/v1/people/{with_email['id']}", headers={"If-None-Match": read.headers["etag"]})).status_code == 304
        assert (await lead.get(f"/api/v1/people/{without_email['id']}")).status_code == 200
        assert "email" not in (await inspector.get(f"/api/v1/people/{with_email['id']}")).json()
        listed = (await lead.get("/api/v1/people", params={"partnership_id": w.partnership["id"]})).json()["items"]
        assert {p["id"] for p in listed} == {w.owner["id"], with_email["id"], without_email["id"]}

    events = await reads_of(client, with_email["id"])
    # The read and the list by the lead; not the 304 (nothing disclosed) nor the inspector's (no contact details).
    assert len(events) == 2
    lead_key = (await client.get("/api/v1/api-keys", params={"role": "lead"})).json()["items"]
    assert {e["actor_id"] for e in events} <= {k["id"] for k in lead_key}
    assert all(e["entity_type"] == "person" and e["changes"] == {"read": [None, "contact details"]} for e in events)
    assert all(e["partnership_id"] == w.partnership["id"] and e["occurred_at"] for e in events)
    assert await reads_of(client, without_email["id"]) == []  # nothing personal beyond a name was shown


async def test_downloading_evidence_held_locally_is_audited(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    held = await link(client, action_id=w.action["id"], contains_personal_data=True, url="https://docs.council.example/case-file.pdf")
    assert (await upload(client, held["id"], PDF)).status_code in (200, 201)
    published = await link(client, action_id=w.action["id"])
    assert (await upload(client, published["id"], PDF)).status_code in (200, 201)

    got = await client.get(f"/api/v1/evidence/{held['id']}/file")
    assert got.status_code == 200 and got.content == PDF
    part = await client.get(f"/api/v1/evidence/{held['id']}/file", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert (await client.get(f"/api/v1/evidence/{held['id']}/file", headers={"If-None-Match": got.headers["etag"]})).status_code == 304
    assert (await client.get(f"/api/v1/evidence/{published['id']}/file")).status_code == 200

    events = await reads_of(client, held["id"])
    assert [e["changes"]["read"][1] for e in events] == ["file, revision 1", "file, revision 1, bytes 0-9"]
    assert all(e["entity_type"] == "evidence" for e in events)
    assert await reads_of(client, published["id"]) == []


async def test_downloading_a_board_pack_is_audited(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    board = (await client.post(f"/api/v1/plans/{w.plan['id']}/exports", json={"format": "csv", "audience": "board"})).json()
    inspectors = (await client.post(f"/api/v1/plans/{w.plan['id']}/exports", json={"format": "csv", "audience": "inspectors"})).json()
    for export in (board, inspectors):
        assert (await client.get(f"/api/v1/exports/{export['id']}/content")).status_code == 200
    events = await reads_of(client, board["id"])
    assert len(events) == 1 and events[0]["entity_type"] == "export" and events[0]["changes"] == {"read": [None, "board pack"]}
    assert await reads_of(client, inspectors["id"]) == []


async def test_a_read_in_the_trail_changes_no_plan_rebuilt_from_it(client: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    held = await link(client, action_id=w.action["id"], contains_personal_data=True, url="https://docs.council.example/case-file.pdf")
    await upload(client, held["id"], PDF)
    before = datetime.now(UTC)
    ids = {"plan_id": uuid.UUID(w.plan["id"]), "partnership_id": uuid.UUID(w.partnership["id"])}
    async with unit_of_work(db) as session:
        then = await state_at(session, at=before, detail=True, **ids)
    assert (await client.get(f"/api/v1/evidence/{held['id']}/file")).status_code == 200
    async with unit_of_work(db) as session:
        again = await state_at(session, at=before, detail=True, **ids)
    assert again.rows("evidence") == then.rows("evidence")


async def test_an_older_file_of_personal_data_evidence_stays_with_the_partnership(
    app: Any, client: httpx.AsyncClient, db: Database
) -> None:
    w = await make_world(client)
    item = await link(client, action_id=w.action["id"], contains_personal_data=True, url="https://docs.council.example/case-file.pdf")
    unredacted = PDF.replace(b"Catalog", b"Jane Do")
    await upload(client, item["id"], unredacted)
    url = f"/api/v1/evidence/{item['id']}"
    await upload(client, item["id"], PDF)  # the redacted file, revision 2, which a lead then marks redacted
    await client.patch(url, json={"redacted": True}, headers={"If-Match": (await client.get(url)).headers["etag"]})
    inspector_token = await new_token(db, Role.inspector, partnership_id=uuid.UUID(w.partnership["id"]))
    async with client_for(app, inspector_token) as inspector:
        assert (await inspector.get(f"{url}/file")).content == PDF
        refused = await inspector.get(f"{url}/file", params={"revision": 1})
        assert refused.status_code == 403 and b"Jane Do" not in refused.content
    assert (await client.get(f"{url}/file", params={"revision": 1})).content == unredacted  # a lead may
    events = await reads_of(client, item["id"])
    assert [e["changes"]["read"][1] for e in events] == ["file, revision 2", "file, revision 1"]


async def test_only_a_lead_frees_evidence_for_inspectors(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    item = await link(client, action_id=w.action["id"], contains_personal_data=True, url="https://docs.council.example/case-file.pdf")
    await upload(client, item["id"], PDF)
    url = f"/api/v1/evidence/{item['id']}"
    owner_token = await new_token(db, Role.contributor, partnership_id=uuid.UUID(w.partnership["id"]), person_id=uuid.UUID(w.owner["id"]))
    async with client_for(app, owner_token) as owner:
        for change in ({"contains_personal_data": False}, {"redacted": True}):
            refused = await owner.patch(url, json=change, headers={"If-Match": (await owner.get(url)).headers["etag"]})
            assert refused.status_code == 403 and "Only a lead" in refused.json()["detail"]
        assert (await owner.get(url)).json()["availability"] == "held_locally"
        marked = await owner.patch(
            url, json={"title": "Case file (anonymised summary to follow)"}, headers={"If-Match": (await owner.get(url)).headers["etag"]}
        )
        assert marked.status_code == 200, marked.text


async def test_reading_a_recorded_change_of_e_mail_is_a_read_of_contact_details(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    person = await make_person(client, w.partnership, email="first@council.example")
    assert await reads_of(client, person["id"]) == []  # reads_of itself reads only `read` events, which carry no e-mail
    trail = (await client.get("/api/v1/audit-events", params={"entity_id": person["id"]})).json()["items"]
    assert trail[0]["changes"]["email"] == [None, "first@council.example"]
    events = await reads_of(client, person["id"])
    assert len(events) == 1 and events[0]["changes"] == {"read": [None, "contact details"]}


async def test_a_new_file_of_redacted_evidence_is_held_locally_until_a_lead_redacts_it(
    app: Any, client: httpx.AsyncClient, db: Database
) -> None:
    w = await make_world(client)
    item = await link(client, action_id=w.action["id"], contains_personal_data=True, url="https://docs.council.example/case-file.pdf")
    await upload(client, item["id"], PDF)
    url = f"/api/v1/evidence/{item['id']}"
    await client.patch(url, json={"redacted": True}, headers={"If-Match": (await client.get(url)).headers["etag"]})
    owner_token = await new_token(db, Role.contributor, partnership_id=uuid.UUID(w.partnership["id"]), person_id=uuid.UUID(w.owner["id"]))
    inspector_token = await new_token(db, Role.inspector, partnership_id=uuid.UUID(w.partnership["id"]))
    async with client_for(app, owner_token) as owner, client_for(app, inspector_token) as inspector:
        assert (await upload(owner, item["id"], PDF.replace(b"Catalog", b"Jane Do"))).status_code in (200, 201)
        assert (await client.get(url)).json()["availability"] == "held_locally"
        assert (await inspector.get(f"{url}/file")).status_code == 403
        # Nor can a contributor create evidence already marked redacted.
        made = await owner.post("/api/v1/evidence", json={"action_id": w.action["id"], "title": "Pre-redacted", "kind": "minutes",
                                                          "contains_personal_data": True, "redacted": True})  # fmt: skip
        assert made.status_code == 403 and "Only a lead" in made.json()["detail"]
