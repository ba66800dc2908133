"""Exports: every format from the demo plan, checked by parsing it; immutability; as-of; audiences; the worker."""

import asyncio
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlmodel import col

from app.core.db import Database
from app.core.uow import unit_of_work
from app.demo.seed import seed_demo
from app.evidence.storage import storage_from
from app.exports.service import produce_pending
from app.models import Action, Plan, ShareLink
from app.models.enums import Role
from tests.factories import make_world, post
from tests.test_conventions import assert_problem
from tests.test_lifecycle import patch
from tests.test_roles import as_role


async def demo_plan(db: Database) -> dict[str, Any]:
    async with unit_of_work(db) as session:
        partnership = await seed_demo(session)
        plan = (await session.execute(select(Plan).where(col(Plan.partnership_id) == partnership.id))).scalar_one()
        actions = (await session.execute(select(Action).where(col(Action.plan_id) == plan.id))).scalars().all()
        return {"id": str(plan.id), "partnership_id": str(partnership.id), "title": plan.title, "actions": len(actions)}


async def export(client: httpx.AsyncClient, plan_id: str, **body: Any) -> dict[str, Any]:
    resp = await client.post(f"/api/v1/plans/{plan_id}/exports", json={"audience": "inspectors", **body})
    assert resp.status_code == 201, resp.text
    assert resp.headers["location"].endswith(f"/api/v1/exports/{resp.json()['id']}")
    return dict(resp.json())


async def content(client: httpx.AsyncClient, made: dict[str, Any]) -> bytes:
    """Download twice: the same bytes both times, matching the recorded hash and size."""
    first = await client.get(f"/api/v1/exports/{made['id']}/content")
    second = await client.get(f"/api/v1/exports/{made['id']}/content")
    assert first.status_code == 200, first.text
    assert first.content == second.content
    assert hashlib.sha256(first.content).hexdigest() == made["sha256"] == first.headers["etag"].strip('"')
    assert len(first.content) == made["size_bytes"]
    assert first.headers["content-type"].startswith(made["media_type"].split(";")[0])
    assert f'filename="{made["file_name"]}"' in first.headers["content-disposition"]
    held = await client.get(f"/api/v1/exports/{made['id']}/content", headers={"If-None-Match": first.headers["etag"]})
    assert held.status_code == 304 and held.content == b""
    return first.content


class Page(HTMLParser):
    """Just enough of the HTML's structure to check it."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.text: list[str] = []
        self.tables: list[dict[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append({"caption": 0, "th": 0})
        elif tag in ("caption", "th") and self.tables:
            self.tables[-1][tag] += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def walk_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in walk_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in walk_keys(v)}
    return set()


async def test_all_five_formats_from_the_demo_plan(client: httpx.AsyncClient, db: Database) -> None:
    plan = await demo_plan(db)
    made = {f: await export(client, plan["id"], format=f) for f in ("json", "csv", "xlsx", "pdf", "html")}
    assert {m["status"] for m in made.values()} == {"ready"}

    pack = json.loads(await content(client, made["json"]))
    data = pack["data"]
    assert pack["export"]["audience"] == "inspectors" and pack["export"]["as_of"] == made["json"]["as_of"]
    assert data["partnership"]["name"] == "Wessex Vale SEND Local Area Partnership"
    assert data["plan"]["governance"].startswith("SEND Delivery Group")
    assert data["inspection"]["inspectorates"] == ["ofsted", "cqc"]
    assert [c["ref"] for c in data["concerns"]] == sorted(c["ref"] for c in data["concerns"]) and len(data["concerns"]) == 4
    assert all(c["verbatim_text"] and c["delivery_rag"] in {"red", "amber", "green", "blue"} for c in data["concerns"])
    refs = {a["ref"] for c in data["concerns"] for a in c["actions"]}
    assert len(refs) == plan["actions"]
    action = data["concerns"][0]["actions"][0]
    assert action["owner"]["name"] and action["owner"]["job_title"] and "email" not in action["owner"]
    assert any(a["latest_update"] for c in data["concerns"] for a in c["actions"])
    assert any(a["slippage_reason"] for c in data["concerns"] for a in c["actions"] if a["rag"] in ("red", "amber"))
    measures = [m for c in data["concerns"] for m in c["measures"]] + data["plan_measures"]
    assert {m["status"] for m in measures} >= {"behind", "on_track"}
    assert all(m["observations"] and m["trajectory"] for m in measures)
    assert len(data["ehcp_timeliness"]["months"]) == 24 and data["ehcp_timeliness"]["calendar_years"]
    assert any(m["pct_within_20_weeks"] != m["pct_within_20_weeks_excl_exceptions"] for m in data["ehcp_timeliness"]["months"])
    assert data["funding"]["total"]["allocated"] == "925000.00"
    assert "email" not in walk_keys(pack) and "case_ref" not in walk_keys(pack) and "case_key" not in walk_keys(pack)
    held = [e for c in data["concerns"] for e in c["evidence"] if e["held_locally"]]
    assert held and all(e["link"] is None for e in held)
    data_hash = pack["data_sha256"]
    assert data_hash == hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()

    archive = zipfile.ZipFile(io.BytesIO(await content(client, made["csv"])))
    names = set(archive.namelist())
    assert {
        "cover.csv",
        "concerns.csv",
        "actions.csv",
        "measures.csv",
        "evidence.csv",
        "funding.csv",
        "ehcp_timeliness_months.csv",
    } <= names
    for name in names:
        raw = archive.read(name)
        assert raw.startswith(b"\xef\xbb\xbf"), name
        assert (b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")) or b'"' in raw, name
    actions_csv = list(csv.DictReader(io.StringIO(archive.read("actions.csv").decode("utf-8-sig"), newline="")))
    assert len(actions_csv) == plan["actions"] and "Owner's email" not in actions_csv[0]
    cover = dict(csv.reader(io.StringIO(archive.read("cover.csv").decode("utf-8-sig"), newline="")))
    assert cover["Data SHA-256"] == data_hash

    book = load_workbook(io.BytesIO(await content(client, made["xlsx"])))
    assert book.sheetnames[0] == "Cover" and {"Actions", "Measures", "Evidence index", "Funding by financial year", "Charts"} <= set(
        book.sheetnames
    )
    assert book["Actions"].max_row == plan["actions"] + 1
    assert len(book["Charts"]._images) >= 4
    assert {row[0].value: row[1].value for row in book["Cover"].iter_rows(min_row=2)}["Data SHA-256"] == data_hash

    pdf = PdfReader(io.BytesIO(await content(client, made["pdf"])))
    text = [" ".join(p.extract_text().split()) for p in pdf.pages]
    first, last, pages = text[0], text[-1], len(text)
    assert plan["title"] in first and "Governance and sign-off" in first
    assert f"Page {pages} of {pages}" in last and data_hash in last and made["pdf"]["as_of"] in last
    everything = " ".join(text)
    assert "Appendix A: EHCP timeliness" in everything and "Appendix B: Funding by financial year" in everything

    html = (await content(client, made["html"])).decode("utf-8")
    page = Page()
    page.feed(html)
    tags = [t for t, _ in page.tags]
    assert ("html", {"lang": "en-GB"}) in page.tags and tags.count("h1") == 1 and "main" in tags
    assert page.tables and all(t["caption"] == 1 and t["th"] > 0 for t in page.tables)
    images = [a for t, a in page.tags if t == "img"]
    assert len(images) >= 4 and all(
        (a.get("src") or "").startswith("data:image/png;base64,") and len(a.get("alt") or "") > 20 for a in images
    )
    assert not [t for t, a in page.tags if t in ("script", "link", "iframe", "object")]
    assert not [a for t, a in page.tags if t in ("img", "source") and not (a.get("src") or "").startswith("data:")]
    assert data_hash in html and re.search(r"<h2 id=\"concern-1\">", html)


async def test_an_as_of_export_shows_the_plan_as_it_stood_then(client: httpx.AsyncClient, db: Database) -> None:
    plan = await demo_plan(db)
    earlier = (date.today() - timedelta(days=300)).isoformat()
    made = await export(client, plan["id"], format="json", as_of=earlier)
    then = json.loads(await content(client, made))
    now = json.loads(await content(client, await export(client, plan["id"], format="json")))
    summary = (await client.get(f"/api/v1/plans/{plan['id']}/summary", params={"as_of": earlier})).json()
    assert then["data"]["overview"]["actions"] == summary["actions"]
    assert then["data"]["overview"]["actions"] != now["data"]["overview"]["actions"]
    assert then["export"]["as_of"] == earlier and then["data_sha256"] != now["data_sha256"]
    months = then["data"]["ehcp_timeliness"]["months"]
    assert months[-1]["period_end_on"] == earlier
    # The past does not change: the same request shows the same data, so it gets the export already made.
    again = await client.post(f"/api/v1/plans/{plan['id']}/exports", json={"audience": "inspectors", "format": "json", "as_of": earlier})
    assert again.status_code == 200 and again.json()["id"] == made["id"]


async def test_exports_refuse_bad_dates_and_unknown_plans(client: httpx.AsyncClient, db: Database) -> None:
    plan = await demo_plan(db)
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    resp = await client.post(f"/api/v1/plans/{plan['id']}/exports", json={"format": "pdf", "audience": "board", "as_of": tomorrow})
    assert_problem(resp, 422, "/problems/validation")
    resp = await client.post(f"/api/v1/plans/{plan['id']}/exports", json={"format": "pdf", "audience": "board", "as_of": "1999-01-01"})
    assert_problem(resp, 422, "/problems/validation")
    resp = await client.post(f"/api/v1/plans/{plan['id']}/exports", json={"format": "docx", "audience": "board"})
    assert_problem(resp, 422, "/problems/validation")
    resp = await client.post(f"/api/v1/plans/{uuid.uuid4()}/exports", json={"format": "pdf", "audience": "board"})
    assert_problem(resp, 404, "/problems/not-found")
    assert (await client.get("/api/v1/exports")).json()["items"] == []


async def test_audiences_decide_what_a_pack_shows(client: httpx.AsyncClient, db: Database) -> None:
    w = await make_world(client)
    assert (await patch(client, f"people/{w.owner['id']}", {"email": "owner@example.org", "job_title": "Head of SEND"})).status_code == 200
    await post(
        client,
        f"actions/{w.action['id']}/progress-updates",
        {"author_id": w.owner["id"], "rag": "green", "narrative": '=HYPERLINK("http://x")'},
    )
    measure = await post(
        client,
        "measures",
        {
            "plan_id": w.plan["id"], "name": "Plans reviewed on time", "unit": "percent", "direction": "higher_is_better",
            "baseline_value": 40, "baseline_on": "2024-01-01", "target_value": 90, "target_on": "2027-01-01", "concern_ids": [w.concerns[0]["id"]],
        },
    )  # fmt: skip
    await post(
        client,
        "observations",
        {
            "measure_id": measure["id"],
            "period_start_on": "2024-06-01",
            "period_end_on": "2024-06-30",
            "value": 60,
            "numerator": 3,
            "denominator": 5,
        },
    )
    await post(
        client,
        "evidence",
        {
            "action_id": w.action["id"],
            "title": "Case audit",
            "kind": "audit",
            "url": "https://docs.example/a",
            "contains_personal_data": True,
        },
    )
    await post(client, "evidence", {"action_id": w.action["id"], "title": "-Minutes", "kind": "minutes", "url": "https://docs.example/m"})

    async def pack(audience: str) -> dict[str, Any]:
        return dict(json.loads(await content(client, await export(client, w.plan["id"], format="json", audience=audience)))["data"])

    board, inspectors, public = await pack("board"), await pack("inspectors"), await pack("public")
    owner = board["concerns"][0]["actions"][0]["owner"]
    assert owner["email"] and owner["name"]
    assert "email" not in inspectors["concerns"][0]["actions"][0]["owner"] and inspectors["concerns"][0]["actions"][0]["owner"]["name"]
    assert public["concerns"][0]["actions"][0]["owner"]["name"] is None
    assert board["concerns"][0]["measures"][0]["latest_value"] == 60 and inspectors["concerns"][0]["measures"][0]["latest_value"] == 60
    suppressed = public["concerns"][0]["measures"][0]
    assert suppressed["status"] == "suppressed" and suppressed["latest_value"] is None and suppressed["observations"][0]["value"] is None
    links = {e["title"]: e["link"] for e in board["concerns"][0]["evidence"]}
    assert links == {"Case audit": "https://docs.example/a", "-Minutes": "https://docs.example/m"}
    assert {e["title"]: e["link"] for e in inspectors["concerns"][0]["evidence"]}["Case audit"] is None
    assert public["concerns"][0]["evidence"] == []  # nothing accepted yet, and the audit holds personal data

    made = await export(client, w.plan["id"], format="csv", audience="board")
    archive = zipfile.ZipFile(io.BytesIO(await content(client, made)))
    rows = list(csv.DictReader(io.StringIO(archive.read("actions.csv").decode("utf-8-sig"), newline="")))
    assert rows[0]["Latest narrative"] == '\'=HYPERLINK("http://x")' and rows[0]["Owner's email"]
    evidence = list(csv.DictReader(io.StringIO(archive.read("evidence.csv").decode("utf-8-sig"), newline="")))
    assert {r["Evidence"] for r in evidence} == {"Case audit", "'-Minutes"}
    book = load_workbook(io.BytesIO(await content(client, await export(client, w.plan["id"], format="xlsx", audience="board"))))
    header = [c.value for c in book["Actions"][1]]
    cell = book["Actions"].cell(row=2, column=header.index("Latest narrative") + 1)
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s"


async def test_inspectors_export_for_inspectors_only(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    plan = await demo_plan(db)
    partnership = {"id": plan["partnership_id"]}
    board = await export(client, plan["id"], format="json", audience="board")
    async with as_role(app, db, Role.inspector, partnership) as inspector:
        mine = await export(inspector, plan["id"], format="json", audience="inspectors")
        assert mine["created_by"] != board["created_by"]
        assert (await inspector.get(f"/api/v1/exports/{mine['id']}/content")).status_code == 200
        assert_problem(
            await inspector.post(f"/api/v1/plans/{plan['id']}/exports", json={"format": "pdf", "audience": "board"}),
            403,
            "/problems/forbidden",
        )
        assert_problem(await inspector.get(f"/api/v1/exports/{board['id']}/content"), 403, "/problems/forbidden")
        assert_problem(await inspector.post(f"/api/v1/exports/{mine['id']}/share-links", json={}), 403, "/problems/forbidden")
    people = (await client.get("/api/v1/people", params={"partnership_id": plan["partnership_id"], "limit": 50})).json()["items"]
    someone = next(p for p in people if p["active"])  # a leaver's key would be refused before the role is looked at
    async with as_role(app, db, Role.contributor, partnership, someone) as contributor:
        assert_problem(
            await contributor.post(f"/api/v1/plans/{plan['id']}/exports", json={"format": "pdf", "audience": "inspectors"}),
            403,
            "/problems/forbidden",
        )
    other = await make_world(client)
    async with as_role(app, db, Role.lead, other.partnership) as stranger:
        assert_problem(await stranger.get(f"/api/v1/exports/{board['id']}/content"), 404, "/problems/not-found")
        assert_problem(
            await stranger.post(f"/api/v1/plans/{plan['id']}/exports", json={"format": "pdf", "audience": "board"}),
            404,
            "/problems/not-found",
        )
    events = (await client.get("/api/v1/audit-events", params={"entity_id": mine["id"]})).json()["items"]
    assert [e["action"] for e in events] == ["export"] and events[0]["changes"]["sha256"][1] == mine["sha256"]


async def test_large_plans_are_exported_by_the_worker(
    app: Any, client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = await demo_plan(db)
    monkeypatch.setattr(app.state.settings, "export_inline_max_actions", 3)
    made = await export(client, plan["id"], format="xlsx", audience="inspectors")
    assert made["status"] == "pending" and made["sha256"] is None
    resp = await client.get(f"/api/v1/exports/{made['id']}/content")
    assert_problem(resp, 409, "/problems/export-not-ready")
    assert resp.headers["retry-after"] == "5"
    assert_problem(await client.post(f"/api/v1/exports/{made['id']}/share-links", json={}), 409, "/problems/export-not-ready")
    assert await produce_pending(db, storage_from(app.state.settings)) == 1
    assert await produce_pending(db, storage_from(app.state.settings)) == 0
    ready = (await client.get(f"/api/v1/exports/{made['id']}")).json()
    assert ready["status"] == "ready" and ready["completed_at"]
    load_workbook(io.BytesIO(await content(client, ready)))
    events = (await client.get("/api/v1/audit-events", params={"entity_id": made["id"]})).json()["items"]
    assert [e["action"] for e in events] == ["export", "update"] and events[1]["changes"]["status"] == ["pending", "ready"]


async def test_share_links_open_without_a_key_until_they_expire_or_are_revoked(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, db: Database
) -> None:
    plan = await demo_plan(db)
    made = await export(client, plan["id"], format="html")
    body = await content(client, made)
    resp = await client.post(f"/api/v1/exports/{made['id']}/share-links", json={}, headers={"Idempotency-Key": "share-1"})
    assert resp.status_code == 201, resp.text
    link = resp.json()
    assert link["url"].endswith(f"/api/v1/shared/{link['token']}") and len(link["token"]) >= 40
    lasts = datetime.fromisoformat(link["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=13, hours=23) < lasts <= timedelta(days=14)
    replay = await client.post(f"/api/v1/exports/{made['id']}/share-links", json={}, headers={"Idempotency-Key": "share-1"})
    assert replay.json()["id"] == link["id"] and replay.json()["token"] is None  # the token is never kept

    path = link["url"].split("http://test", 1)[1]
    opened = await anon.get(path, headers={"User-Agent": "inspector-laptop"})
    assert opened.status_code == 200 and opened.content == body
    assert opened.headers["cache-control"] == "no-store" and "sandbox" in opened.headers["content-security-policy"]
    assert opened.headers["content-disposition"] == f'inline; filename="{made["file_name"]}"'
    assert (await anon.get(path)).content == body
    seen = (await client.get(f"/api/v1/share-links/{link['id']}")).json()
    assert seen["access_count"] == 2 and seen["last_accessed_at"] and "token" not in seen and "token_hash" not in seen
    accesses = (await client.get("/api/v1/audit-events", params={"entity_id": link["id"]})).json()["items"]
    assert [e["action"] for e in accesses] == ["create", "share_access", "share_access"]
    assert accesses[1]["actor_type"] == "share_link" and accesses[1]["changes"]["client_address"][1] == "127.0.0.1"
    assert accesses[1]["changes"]["user_agent"][1] == "inspector-laptop" and accesses[1]["changes"]["export_id"][1] == made["id"]

    assert (await client.delete(f"/api/v1/share-links/{link['id']}")).status_code == 204
    assert (await client.delete(f"/api/v1/share-links/{link['id']}")).status_code == 204
    assert_problem(await anon.get(path), 410, "/problems/share-link-gone")
    assert (await client.get(f"/api/v1/share-links/{link['id']}")).json()["revoked_at"]
    assert_problem(await anon.get("/api/v1/shared/not-a-real-token"), 404, "/problems/not-found")

    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    short = (await client.post(f"/api/v1/exports/{made['id']}/share-links", json={"expires_at": soon})).json()
    async with unit_of_work(db) as session:
        await session.execute(
            update(ShareLink).where(col(ShareLink.id) == uuid.UUID(short["id"])).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    assert_problem(await anon.get(short["url"].split("http://test", 1)[1]), 410, "/problems/share-link-gone")

    for bad in (
        (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        (datetime.now(UTC) + timedelta(days=91)).isoformat(),
        "2030-01-01T00:00:00",
    ):
        assert_problem(
            await client.post(f"/api/v1/exports/{made['id']}/share-links", json={"expires_at": bad}), 422, "/problems/validation"
        )
    assert_problem(await client.post(f"/api/v1/exports/{made['id']}/share-links", json={"expires_at": "soon"}), 422, "/problems/validation")
    assert_problem(await client.post(f"/api/v1/exports/{uuid.uuid4()}/share-links", json={}), 404, "/problems/not-found")
    assert len((await client.get("/api/v1/share-links", params={"export_id": made["id"]})).json()["items"]) == 2


async def test_tampered_export_bytes_are_never_served(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    plan = await demo_plan(db)
    made = await export(client, plan["id"], format="json")
    stored = storage_from(app.state.settings).path(made["sha256"])  # type: ignore[attr-defined]
    stored.chmod(0o640)
    stored.write_bytes(b"{}")
    assert_problem(await client.get(f"/api/v1/exports/{made['id']}/content"), 500, "/problems/evidence-integrity")


async def test_a_bare_plan_exports_in_every_format(client: httpx.AsyncClient) -> None:
    from tests.factories import make_partnership, make_plan

    plan = await make_plan(client, await make_partnership(client))
    for export_format in ("json", "csv", "xlsx", "pdf", "html"):
        made = await export(client, plan["id"], format=export_format, audience="public")
        assert made["status"] == "ready" and made["size_bytes"] > 0
    pack = json.loads(await content(client, await export(client, plan["id"], format="json")))
    assert pack["data"]["concerns"] == [] and pack["data"]["inspection"] is None and pack["data"]["ehcp_timeliness"] is None


async def test_an_export_that_cannot_be_rendered_fails_without_stopping_the_worker(
    app: Any, client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.exports import service

    w = await make_world(client)
    monkeypatch.setattr(app.state.settings, "export_inline_max_pdf_actions", 0)
    made = await export(client, w.plan["id"], format="pdf")

    def broken(pack: dict[str, Any], export_format: Any) -> bytes:
        raise RuntimeError("renderer exploded")

    monkeypatch.setattr(service, "render", broken)
    assert await produce_pending(db, storage_from(app.state.settings)) == 1
    failed = (await client.get(f"/api/v1/exports/{made['id']}")).json()
    assert failed["status"] == "failed" and "renderer exploded" in failed["error"]
    assert_problem(await client.get(f"/api/v1/exports/{made['id']}/content"), 409, "/problems/export-failed")
    assert await produce_pending(db, storage_from(app.state.settings)) == 0


async def test_two_worker_processes_produce_each_pending_export_once(
    app: Any, client: httpx.AsyncClient, db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = await make_world(client)
    monkeypatch.setattr(app.state.settings, "export_inline_max_actions", 0)
    made = [await export(client, w.plan["id"], format=f, audience="board") for f in ("json", "csv", "xlsx", "html")]
    assert {m["status"] for m in made} == {"pending"}
    env = {**os.environ, "WSOA_DATABASE_URL": database_url, "WSOA_STORAGE_DIR": app.state.settings.storage_dir, "WSOA_LOG_LEVEL": "WARNING"}
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app.cli", "worker", "--once", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    results = await asyncio.gather(*(worker.communicate() for worker in workers))
    assert all(worker.returncode == 0 for worker in workers), [r[1].decode()[-500:] for r in results]
    for m in made:
        ready = (await client.get(f"/api/v1/exports/{m['id']}")).json()
        assert ready["status"] == "ready"
        await content(client, ready)
        events = (await client.get("/api/v1/audit-events", params={"entity_id": m["id"]})).json()["items"]
        writes = [e["action"] for e in events if e["action"] != "read"]
        assert writes == ["export", "update"]
        assert {e["action"] for e in events} - set(writes) == {"read"}  # the board pack downloaded above is on record
