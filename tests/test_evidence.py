"""Evidence through HTTP: uploads (streamed, sniffed, limited), integrity, revisions, review, roles, completion."""

import hashlib
import io
import os
import uuid
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.core.db import Database
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_action, make_person, make_world, post
from tests.test_conventions import assert_problem
from tests.test_roles import as_role

PDF = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 20 + b"%%EOF\n"


def client_for(app: Any, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {token}"})


async def link(client: httpx.AsyncClient, **subject: Any) -> dict[str, Any]:
    return await post(client, "evidence", {"title": "Delivery Group minutes", "kind": "minutes", **subject})


async def upload(
    client: httpx.AsyncClient, evidence_id: str, content: Any, media_type: str = "application/pdf", name: str = "minutes.pdf"
) -> httpx.Response:
    headers = {"content-type": media_type, "content-disposition": f'attachment; filename="{name}"'}
    return await client.post(f"/api/v1/evidence/{evidence_id}/file", content=content, headers=headers)


async def pdf_stream(size: int, seed: int = 1) -> AsyncIterator[bytes]:
    """`size` bytes of a PDF-looking file, generated in chunks (never whole in memory here either)."""
    yield b"%PDF-1.7\n"
    sent, block = 9, hashlib.sha256(str(seed).encode()).digest() * 8192  # 256 KiB
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        sent += len(piece)
        yield piece


def expected_sha(size: int, seed: int = 1) -> str:
    digest, sent, block = hashlib.sha256(b"%PDF-1.7\n"), 9, hashlib.sha256(str(seed).encode()).digest() * 8192
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        sent += len(piece)
        digest.update(piece)
    return digest.hexdigest()


async def test_evidence_names_exactly_one_subject(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    assert_problem(await client.post("/api/v1/evidence", json={"title": "x", "kind": "audit"}), 422)
    both = {"title": "x", "kind": "audit", "action_id": w.action["id"], "concern_id": w.concerns[0]["id"]}
    assert_problem(await client.post("/api/v1/evidence", json=both), 422)
    item = await link(client, concern_id=w.concerns[0]["id"], url="https://docs.council.example/minutes.pdf")
    assert (item["review_status"], item["availability"], item["revision"], item["sha256"]) == ("submitted", "available", 0, None)
    assert_problem(await client.get(f"/api/v1/evidence/{item['id']}/file"), 404)


async def test_upload_round_trips_bytes_with_their_hash(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    item = await link(client, action_id=w.action["id"])
    response = await upload(client, item["id"], PDF, name="../../etc/Delivery minutes.pdf")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest() and body["size_bytes"] == len(PDF)
    assert (body["media_type"], body["file_name"], body["revision"]) == ("application/pdf", "Delivery minutes.pdf", 1)
    download = await client.get(f"/api/v1/evidence/{item['id']}/file")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["etag"] == f'"{body["sha256"]}"'
    assert download.headers["content-type"] == "application/pdf"
    assert "Delivery%20minutes.pdf" in download.headers["content-disposition"]
    assert (await client.get(f"/api/v1/evidence/{item['id']}/file", headers={"If-None-Match": download.headers["etag"]})).status_code == 304


async def test_multipart_upload(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    item = await link(client, action_id=w.action["id"])
    csv = b"month,issued,within_20_weeks\n2026-01,41,30\n"
    response = await client.post(f"/api/v1/evidence/{item['id']}/file", files={"file": ("timeliness.csv", csv, "text/csv")})
    assert response.status_code == 201, response.text
    assert (response.json()["media_type"], response.json()["file_name"]) == ("text/csv", "timeliness.csv")
    assert (await client.get(f"/api/v1/evidence/{item['id']}/file")).content == csv


async def test_a_20_mb_file_streams_and_a_30_mb_file_is_refused(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    item = await link(client, action_id=w.action["id"])
    twenty = 20 * 1024 * 1024
    response = await upload(client, item["id"], pdf_stream(twenty))
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == expected_sha(twenty) and response.json()["size_bytes"] == twenty
    digest = hashlib.sha256()
    async with client.stream("GET", f"/api/v1/evidence/{item['id']}/file") as download:
        async for chunk in download.aiter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == expected_sha(twenty)
    other = await link(client, action_id=w.action["id"])
    too_big = await upload(client, other["id"], pdf_stream(30 * 1024 * 1024, seed=2))
    assert_problem(too_big, 413, "/problems/payload-too-large")
    declared = await client.post(
        f"/api/v1/evidence/{other['id']}/file",
        content=b"%PDF",
        headers={"content-type": "application/pdf", "content-length": str(30 * 1024 * 1024)},
    )
    assert declared.status_code == 413
    assert (await client.get(f"/api/v1/evidence/{other['id']}")).json()["revision"] == 0


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200, "application/pdf"),  # a Windows executable renamed .pdf
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 200, "application/pdf"),
        (PDF, "image/png"),  # real PDF, declared as an image
        (b"#!/bin/sh\nrm -rf /\n", "application/pdf"),
    ],
)
async def test_files_that_are_not_what_they_claim_are_415(client: httpx.AsyncClient, content: bytes, media_type: str) -> None:
    w = await make_world(client)
    item = await link(client, action_id=w.action["id"])
    assert_problem(await upload(client, item["id"], content, media_type), 415, "/problems/unsupported-media-type")
    assert (await client.get(f"/api/v1/evidence/{item['id']}")).json()["revision"] == 0


async def test_office_documents_are_told_from_plain_zips(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    item = await link(client, action_id=w.action["id"])
    docx, plain = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("payload.exe", "MZ")
    word = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    accepted = await upload(client, item["id"], docx.getvalue(), word, "plan.docx")
    assert accepted.status_code == 201 and accepted.json()["media_type"] == word
    assert_problem(await upload(client, item["id"], plain.getvalue(), "application/zip", "x.zip"), 415)


async def test_revisions_keep_every_file_and_a_retry_adds_none(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    item = await link(client, action_id=w.action["id"])
    second = PDF + b"% amended\n"
    assert (await upload(client, item["id"], PDF)).status_code == 201
    assert (await upload(client, item["id"], second)).status_code == 201
    retry = await upload(client, item["id"], second)
    assert retry.status_code == 200 and retry.json()["revision"] == 2
    revisions = (await client.get(f"/api/v1/evidence/{item['id']}/revisions")).json()["items"]
    assert [r["revision"] for r in revisions] == [1, 2]
    assert [r["sha256"] for r in revisions] == [hashlib.sha256(PDF).hexdigest(), hashlib.sha256(second).hexdigest()]
    assert (await client.get(f"/api/v1/evidence/{item['id']}/file", params={"revision": 1})).content == PDF
    assert (await client.get(f"/api/v1/evidence/{item['id']}/file")).content == second
    assert_problem(await client.get(f"/api/v1/evidence/{item['id']}/file", params={"revision": 9}), 404)


async def test_ranges(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    item = await link(client, action_id=w.action["id"])
    await upload(client, item["id"], PDF)
    url = f"/api/v1/evidence/{item['id']}/file"
    first = await client.get(url, headers={"Range": "bytes=0-7"})
    assert first.status_code == 206 and first.content == PDF[:8] and first.headers["content-range"] == f"bytes 0-7/{len(PDF)}"
    tail = await client.get(url, headers={"Range": "bytes=-6"})
    assert tail.status_code == 206 and tail.content == PDF[-6:]
    assert_problem(await client.get(url, headers={"Range": f"bytes={len(PDF) + 5}-"}), 416)
    assert_problem(await client.get(url, headers={"Range": "bytes=0-1,4-5"}), 416)


async def test_a_file_changed_on_disk_is_never_served(client: httpx.AsyncClient, settings: Settings) -> None:
    from prometheus_client import REGISTRY

    w = await make_world(client)
    item = await link(client, action_id=w.action["id"])
    sha = (await upload(client, item["id"], PDF + b"% tamper target\n")).json()["sha256"]
    stored = Path(settings.storage_dir) / sha[:2] / sha[2:4] / sha
    stored.chmod(0o640)
    stored.write_bytes(PDF + b"% tampered!!!!!\n")
    before = REGISTRY.get_sample_value("wsoa_evidence_integrity_failures_total") or 0
    response = await client.get(f"/api/v1/evidence/{item['id']}/file")
    assert_problem(response, 500, "/problems/evidence-integrity")
    assert b"tampered" not in response.content
    assert REGISTRY.get_sample_value("wsoa_evidence_integrity_failures_total") == before + 1
    os.unlink(stored)


async def test_review_by_a_lead_only_and_only_from_submitted(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    lead_person = await make_person(client, w.partnership)
    item = await link(client, action_id=w.action["id"])
    url = f"/api/v1/evidence/{item['id']}"
    contributor = await new_token(db, Role.contributor, partnership_id=uuid.UUID(w.partnership["id"]), person_id=uuid.UUID(w.owner["id"]))
    lead = await new_token(db, Role.lead, partnership_id=uuid.UUID(w.partnership["id"]), person_id=uuid.UUID(lead_person["id"]))
    async with client_for(app, contributor) as me:
        etag = (await me.get(url)).headers["etag"]
        assert_problem(await me.patch(url, json={"review_status": "accepted"}, headers={"If-Match": etag}), 403)
    async with client_for(app, lead) as reviewer:
        etag = (await reviewer.get(url)).headers["etag"]
        assert_problem(await reviewer.patch(url, json={"review_status": "rejected"}, headers={"If-Match": etag}), 422)  # needs a note
        accepted = await reviewer.patch(
            url, json={"review_status": "accepted", "review_note": "Shows the trajectory."}, headers={"If-Match": etag}
        )
        assert accepted.status_code == 200, accepted.text
        body = accepted.json()
        assert (body["review_status"], body["reviewed_by_id"]) == ("accepted", lead_person["id"]) and body["reviewed_at"]
        again = await reviewer.patch(
            url, json={"review_status": "rejected", "review_note": "x"}, headers={"If-Match": accepted.headers["etag"]}
        )
        assert_problem(again, 409, "/problems/illegal-transition")
    resubmitted = await upload(client, item["id"], PDF)
    assert resubmitted.json()["review_status"] == "submitted" and resubmitted.json()["reviewed_by_id"] is None


async def test_contributors_submit_on_their_own_actions_only(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    other_owner = await make_person(client, w.partnership)
    other = await make_action(client, w.plan, w.concerns[:1], owner_id=other_owner["id"])
    milestone = await post(client, "milestones", {"action_id": w.action["id"], "title": "M", "due_on": "2030-01-01"})
    token = await new_token(db, Role.contributor, partnership_id=uuid.UUID(w.partnership["id"]), person_id=uuid.UUID(w.owner["id"]))
    async with client_for(app, token) as me:
        own = await me.post("/api/v1/evidence", json={"title": "Mine", "kind": "audit", "action_id": w.action["id"]})
        assert own.status_code == 201
        on_milestone = await me.post("/api/v1/evidence", json={"title": "Mine", "kind": "audit", "milestone_id": milestone["id"]})
        assert on_milestone.status_code == 201
        assert (await upload(me, own.json()["id"], PDF)).status_code == 201
        assert_problem(await me.post("/api/v1/evidence", json={"title": "x", "kind": "audit", "action_id": other["id"]}), 403)
        assert_problem(await me.post("/api/v1/evidence", json={"title": "x", "kind": "audit", "concern_id": w.concerns[0]["id"]}), 403)
        theirs = await link(client, action_id=other["id"])
        assert_problem(await upload(me, theirs["id"], PDF), 403)


async def test_completing_an_action_needs_accepted_evidence(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    url = f"/api/v1/actions/{w.action['id']}"
    done = {"status": "completed", "completed_on": "2026-11-01"}
    body = assert_problem(
        await client.patch(url, json=done, headers={"If-Match": (await client.get(url)).headers["etag"]}),
        409,
        "/problems/evidence-required",
    )
    assert body["errors"][0]["pointer"] == "/status"
    create = {"plan_id": w.plan["id"], "ref": "Z.1", "title": "Born done", "concern_ids": [w.concerns[0]["id"]], **done}
    assert_problem(await client.post("/api/v1/actions", json=create), 409, "/problems/evidence-required")
    milestone = await post(client, "milestones", {"action_id": w.action["id"], "title": "M", "due_on": "2030-01-01"})
    item = await link(client, milestone_id=milestone["id"])
    item_url = f"/api/v1/evidence/{item['id']}"
    await client.patch(item_url, json={"review_status": "accepted"}, headers={"If-Match": (await client.get(item_url)).headers["etag"]})
    completed = await client.patch(url, json=done, headers={"If-Match": (await client.get(url)).headers["etag"]})
    assert completed.status_code == 200 and completed.json()["rag"] == "blue"


async def test_held_locally_evidence_stays_with_the_partnership(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    item = await link(client, action_id=w.action["id"], contains_personal_data=True, url="https://docs.council.example/case-file.pdf")
    await upload(client, item["id"], PDF)
    assert (await client.get(f"/api/v1/evidence/{item['id']}")).json()["availability"] == "held_locally"
    token = await new_token(db, Role.inspector, partnership_id=uuid.UUID(w.partnership["id"]))
    async with client_for(app, token) as inspector:
        seen = (await inspector.get(f"/api/v1/evidence/{item['id']}")).json()
        assert seen["availability"] == "held_locally" and seen["url"] is None
        assert_problem(await inspector.get(f"/api/v1/evidence/{item['id']}/file"), 403)
        url = f"/api/v1/evidence/{item['id']}"
        await client.patch(url, json={"redacted": True}, headers={"If-Match": (await client.get(url)).headers["etag"]})
        assert (await inspector.get(f"/api/v1/evidence/{item['id']}/file")).content == PDF


async def test_the_change_feed_names_the_version_an_upload_made(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    """The feed's version of an upload is the version the evidence reads at (one per write, never one ahead)."""
    w = await make_world(client)
    item = await link(client, action_id=w.action["id"])
    assert (await upload(client, item["id"], PDF)).status_code == 201
    read = (await client.get(f"/api/v1/evidence/{item['id']}")).json()
    async with as_role(app, db, Role.lead, w.partnership) as lead:  # the partnership's own feed: a few rows
        changes = (await lead.get("/api/v1/changes", params={"entity_type": "evidence", "limit": 1000})).json()["items"]
    versions = [c["version"] for c in changes if c["entity_id"] == item["id"]]
    assert versions == [1, read["version"]] == [1, 2]
