"""Hostile inputs to the tracker import and plan succession, through HTTP on both databases: what a workbook, a mapping,
a caller or a race may try, and what must hold. A test marked `finding` shows a known gap (it fails until fixed)."""

import asyncio
import csv
import io
import os
import time
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, update

from app.core.db import Database
from app.models import AuditEvent, Change, IdempotencyRecord, Plan
from app.models.enums import Role
from app.partnerships.service import today_in
from app.reporting import cycle
from app.reporting.schedule import month_of
from tests.factories import make_action, make_concern, make_partnership, make_person, make_plan, post
from tests.test_conventions import assert_problem
from tests.test_evidence import PDF
from tests.test_evidence import link as evidence_link
from tests.test_evidence import upload as evidence_upload
from tests.test_imports import XLSX, items, upload
from tests.test_roles import as_role
from tests.test_succession import delivered_wsoa, patch
from tests.test_timeliness import plan_case, send

TODAY = today_in("Europe/London")
CSV = {"content-type": "text/csv"}


def finding(reason: str) -> pytest.MarkDecorator:
    """A known gap this test shows: expected to fail until it is fixed (strict, so a fix turns it red: drop the mark).
    `pytest --runxfail` shows every failure as it stands."""
    return pytest.mark.xfail(strict=True, reason=f"finding: {reason}")


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(encoding)


async def count(db: Database, table: Any) -> int:
    async with db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(table))).scalar_one())


async def plan_with_owner(client: httpx.AsyncClient, **plan: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    partnership = await make_partnership(client)
    owner = await make_person(client, partnership, email="owner@example.gov.uk", display_name="Jo Bailey")
    made = await make_plan(client, partnership, evidence_required_for_completion=False, **plan)
    return partnership, owner, made


def importer(app: Any, db: Database, plan: dict[str, Any], person: dict[str, Any]) -> Any:
    """A lead's key acting as `person`, who signs the progress updates an import records."""
    return as_role(app, db, Role.lead, {"id": plan["partnership_id"]}, person)


async def imported(client: httpx.AsyncClient, plan_id: str, raw: bytes, **params: Any) -> httpx.Response:
    return await client.post(f"/api/v1/plans/{plan_id}/imports", content=raw, headers=CSV, params=params)


HEAD = ["Concern ref", "Concern", "Action ref", "Action", "Owner (e-mail or HR id)", "Status", "Due date", "RAG", "Latest progress"]
DUE = (TODAY + timedelta(days=120)).strftime("%d/%m/%Y")


# -- the file ------------------------------------------------------------------------------------------------------


def _with_merge(ref: str) -> bytes:
    """A tiny workbook (a few KB) whose first sheet declares one merged range `ref`."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Actions"
    sheet["A1"], sheet["A2"] = "Action ref", "1.1"
    buffer = io.BytesIO()
    book.save(buffer)
    source, out = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                merge = f'</sheetData><mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells>'.encode()
                data = data.replace(b"</sheetData>", merge)
            archive.writestr(info, data)
    return out.getvalue()


async def test_a_few_kilobytes_of_merged_range_do_not_tie_the_server_up(client: httpx.AsyncClient) -> None:
    """A 5 KB workbook declaring one merged range of 100 columns x 2,000 rows: openpyxl materialises every covered cell
    and `read_book` copies each into a dict, on the event loop, before any row or column limit is checked. Measured
    outside the app: B3:CV10000 takes 20 s and 740 MB, B3:CV30000 65 s and 1 GB (then refused), A1:XFD1048576 never
    ends. Every other request of the process waits meanwhile."""
    _, _, plan = await plan_with_owner(client)
    raw = _with_merge("B3:CV2000")
    assert len(raw) < 10_000
    started = time.monotonic()
    response = await client.post(f"/api/v1/plans/{plan['id']}/imports", content=raw, headers={"content-type": XLSX})
    elapsed = time.monotonic() - started
    assert response.status_code in (200, 422), response.text
    assert elapsed < 3, f"a {len(raw)}-byte workbook held the event loop for {elapsed:.1f} s"


async def test_a_tracker_over_1_mb_is_read_as_the_upload_limit_says(client: httpx.AsyncClient) -> None:
    """The route checks `upload_max_bytes` (25 MB), but the body-limit middleware only lets evidence files, the HR sync
    and case-event imports past `max_body_bytes` (1 MiB): a real council workbook of 1.2 MB is a 413."""
    _, _, plan = await plan_with_owner(client)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Actions"
    sheet.append(["Action ref", "Action"])
    notes = book.create_sheet("Notes")
    for _ in range(700):
        notes.append([os.urandom(1600).hex()])  # incompressible: a workbook of about 1.3 MB
    buffer = io.BytesIO()
    book.save(buffer)
    assert 1_100_000 < len(buffer.getvalue()) < 5_000_000
    response = await upload(client, plan["id"], buffer.getvalue(), dry_run="true")
    assert response.status_code != 413, response.text


async def test_hostile_cells_are_refused_by_cell_and_nothing_is_a_500(client: httpx.AsyncClient, db: Database) -> None:
    """impossible dates, Excel serials, text and NaN/inf in figures, RTL and control
    characters, a heading row beyond the sheet, UTF-16 and cp1252 files."""
    _, _, plan = await plan_with_owner(client)
    concern = await make_concern(client, plan, ref="W1")
    assert concern
    book = Workbook()
    actions = book.active
    assert actions is not None
    actions.title = "Actions"
    actions.append(["Concern ref", "Action ref", "Action", "Due date"])
    actions.append(["W1", "1.1", "Leap day", "29/02/2027"])
    actions.append(["W1", "1.2", "Serial", 46112])
    actions.append(["W1", "\u202e1.3", "RTL override in the ref", "31/03/2027"])
    actions.append(["W1", "1.4", "Right-to-left \u200f mark and \u05e9\u05dc\u05d5\u05dd", "31/03/2027"])
    measures = book.create_sheet("Measures")
    measures.append(["Measure", "Unit", "Baseline", "Baseline date", "Target", "Target date", "Apr 2026", "May 2026", "04/0000"])
    measures.append(["NaN baseline", "%", "NaN", "01/04/2026", "inf", "31/03/2028", "about 40%", "1e999", "12"])
    buffer = io.BytesIO()
    book.save(buffer)
    mapping = {
        "actions": {"sheet": "Actions", "columns": {"concern_ref": "Concern ref", "ref": "Action ref", "title": "Action", "due_on": "Due date"}},
        "measures": {"sheet": "Measures", "history_from": "Apr 2026",
                     "columns": {"name": "Measure", "unit": "Unit", "baseline_value": "Baseline", "baseline_on": "Baseline date",
                                 "target_value": "Target", "target_on": "Target date"}},
    }  # fmt: skip
    dry = await upload(client, plan["id"], buffer.getvalue(), mapping=mapping, dry_run="true")
    assert dry.status_code == 200, dry.text
    refused = {(r["kind"], r["key"]): [p["cell"] for p in r["problems"]] for r in dry.json()["rows"] if r["outcome"] == "refused"}
    assert refused[("action", "1.1")] == ["D2"] and refused[("action", "1.2")] == ["D3"]
    assert ("action", "\u202e1.3") in refused and ("measure", "NaN baseline") in refused
    beyond = {**mapping, "actions": {**mapping["actions"], "header_row": 50}}
    assert_problem(await upload(client, plan["id"], buffer.getvalue(), mapping=beyond), 422)
    before = await count(db, AuditEvent)
    utf16 = csv_bytes([["Concern ref", "Action ref", "Action"], ["W1", "1.9", "Accès"]], "utf-16")
    assert_problem(await imported(client, plan["id"], utf16), 422)
    control = csv_bytes([["Concern ref", "Action ref", "Action"], ["W1", "1.8", "Bell \x07 and escape \x1b[31m"]])
    assert (await imported(client, plan["id"], control, dry_run="true")).status_code == 200
    cp1252 = csv_bytes([["Concern ref", "Action ref", "Action"], ["W1", "1.9", "Budget £40k – agreed"]], "cp1252")
    read = await imported(client, plan["id"], cp1252, dry_run="true")
    assert read.status_code == 200 and read.json()["counts"]["action"]["created"] == 1, read.text
    assert await count(db, AuditEvent) == before


async def test_a_mapping_sent_as_a_file_part_is_not_silently_replaced_by_the_template(client: httpx.AsyncClient) -> None:
    """`curl -F mapping=@mapping.json` sends the mapping as a file part; it trips `max_files=1`
    (a 400 problem) rather than being dropped for the template's mapping."""
    _, _, plan = await plan_with_owner(client)
    mapping = {"actions": {"columns": {"concern_ref": "Area", "ref": "No.", "title": "What"}}}
    files = {
        "file": ("t.csv", b"Area,No.,What\nW1,1.1,Something\n", "text/csv"),
        "mapping": ("mapping.json", orjson.dumps(mapping), "application/json"),
    }
    response = await client.post(f"/api/v1/plans/{plan['id']}/imports", files=files, params={"dry_run": "true"})
    assert response.status_code < 500, response.text
    if response.status_code == 200:  # then it must have used the mapping that was sent
        assert response.json()["counts"]["action"]["created"] + response.json()["counts"]["action"]["refused"] == 1
    else:
        assert_problem(response, 400)  # "Too many files. Maximum number of files is 1."


async def test_two_fields_mapped_to_one_heading_are_refused(client: httpx.AsyncClient) -> None:
    """The mapping validates field names but not that headings differ: `title` and `owner` both read column `Action`."""
    _, _, plan = await plan_with_owner(client)
    mapping = {"actions": {"columns": {"concern_ref": "Concern ref", "ref": "Action ref", "title": "Action", "owner": "Action"}}}
    response = await upload(
        client, plan["id"], b"Concern ref,Action ref,Action\nW1,1.1,x\n", mapping=mapping, filename="t.csv", dry_run="true"
    )
    assert_problem(response, 422)


async def test_numeric_references_keep_what_the_sheet_shows(client: httpx.AsyncClient) -> None:
    """Refs typed into number cells formatted `0.00` show as 1.10 and 1.20, but are read as floats (1.1, 1.2):
    action 1.10 becomes a second row of action 1.1."""
    _, _, plan = await plan_with_owner(client)
    await make_concern(client, plan, ref="W1")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Actions"
    sheet.append(["Concern ref", "Action ref", "Action"])
    for ref, title in ((1.1, "First"), (1.10, "Tenth")):
        sheet.append(["W1", ref, title])
        sheet.cell(sheet.max_row, 2).number_format = "0.00"
    buffer = io.BytesIO()
    book.save(buffer)
    response = await upload(client, plan["id"], buffer.getvalue(), dry_run="true")
    assert response.status_code == 200, response.text
    keys = [r["key"] for r in response.json()["rows"] if r["kind"] == "action"]
    assert keys == ["1.10", "1.10"] or len(set(keys)) == 2, keys


# -- matching and re-importing ------------------------------------------------------------------------------------


async def test_a_file_naming_one_action_twice_is_refused_naming_both_rows(client: httpx.AsyncClient) -> None:
    """Two rows with the same ref (an action listed under two areas, a ref merged down sub-rows) would each be applied,
    on every import: the second is refused, naming the first, so the same file always imports the same way."""
    _, owner, plan = await plan_with_owner(client)
    raw = csv_bytes([
        HEAD,
        ["W1", "W1: Timeliness", "1.1", "Recruit coordinators", owner["email"], "In progress", DUE, "", ""],
        ["W2", "W2: Joint commissioning", "1.1", "Recruit coordinators and EPs", owner["email"], "In progress", DUE, "", ""],
    ])  # fmt: skip
    report = (await imported(client, plan["id"], raw, dry_run="true")).json()
    [refused] = [r for r in report["rows"] if r["outcome"] == "refused"]
    assert (refused["row"], refused["problems"][0]["cell"]) == (3, "C3") and "also on row 2" in refused["problems"][0]["reason"]
    assert_problem(await imported(client, plan["id"], raw), 422, "/problems/import-refused")


async def test_re_importing_an_old_tracker_does_not_bury_a_newer_update(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    """After the owner files a red update in the service, the unchanged tracker imported again must not append its
    stale green one as the latest: a narrative the action has had is never recorded again."""
    _, owner, plan = await plan_with_owner(client)
    manager = await make_person(client, {"id": plan["partnership_id"]})
    raw = csv_bytes([HEAD, ["W1", "W1: Timeliness", "1.1", "Recruit", owner["email"], "In progress", DUE, "Green", "On track."]])
    async with importer(app, db, plan, manager) as lead:
        assert (await imported(lead, plan["id"], raw)).status_code == 200
    [action] = await items(client, "actions", plan_id=plan["id"])
    await post(
        client, f"actions/{action['id']}/progress-updates", {"rag": "red", "narrative": "Two coordinators left.", "author_id": owner["id"]}
    )
    async with importer(app, db, plan, manager) as lead:
        again = await imported(lead, plan["id"], raw)
    assert again.status_code == 200, again.text
    latest = (await client.get(f"/api/v1/actions/{action['id']}")).json()
    updates = await items(client, "progress-updates", action_id=action["id"])
    assert len(updates) == 2, [(u["rag"], u["narrative"]) for u in updates]
    assert latest["version"] == action["version"]


async def test_imported_progress_is_signed_by_who_imports_never_by_the_owner(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    """A key that acts as no person cannot sign the tracker's narratives (a return refuses the owner's name on someone
    else's words); a person's key signs them as that person."""
    _, owner, plan = await plan_with_owner(client)
    manager = await make_person(client, {"id": plan["partnership_id"]})
    raw = csv_bytes([HEAD, ["W1", "W1: Timeliness", "1.1", "Recruit", owner["email"], "In progress", DUE, "Green", "On track."]])
    assert_problem(await imported(client, plan["id"], raw), 422, "/problems/import-refused")
    async with importer(app, db, plan, manager) as lead:
        assert (await imported(lead, plan["id"], raw)).status_code == 200
    [action] = await items(client, "actions", plan_id=plan["id"])
    [update] = await items(client, "progress-updates", action_id=action["id"])
    assert update["author_id"] == manager["id"]


async def test_a_leaver_who_shares_a_name_does_not_block_the_current_owner(client: httpx.AsyncClient) -> None:
    """Owners are looked up among every person of the partnership, leavers included: a current Jo Bailey is
    "2 people" because a Jo Bailey left."""
    partnership, owner, plan = await plan_with_owner(client)
    gone = await make_person(client, partnership, display_name="Jo Bailey")
    assert (await patch(client, f"people/{gone['id']}", {"active": False})).status_code == 200
    raw = csv_bytes([HEAD, ["W1", "W1: Timeliness", "1.1", "Recruit", "Jo Bailey", "In progress", DUE, "", ""]])
    response = await imported(client, plan["id"], raw, dry_run="true")
    assert response.status_code == 200 and response.json()["refused"] == 0, response.json()["rows"]
    assert owner


async def test_callers_keys_and_replays(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    """Another partnership's people are never owners; inspectors and contributors are refused; an Idempotency-Key
    replays the import once; a dry run leaves no audit event or change-feed row."""
    partnership, owner, plan = await plan_with_owner(client)
    assert await make_person(client, await make_partnership(client), email="them@example.gov.uk")
    foreign = csv_bytes([HEAD, ["W1", "W1: T", "1.1", "Recruit", "them@example.gov.uk", "In progress", DUE, "", ""]])
    report = (await imported(client, plan["id"], foreign, dry_run="true")).json()
    assert report["refused"] == 1 and "them@example.gov.uk" in str(report["rows"])
    raw = csv_bytes([HEAD, ["W1", "W1: T", "1.1", "Recruit", owner["email"], "In progress", DUE, "", ""]])
    for role in (Role.inspector, Role.contributor):
        async with as_role(app, db, role, partnership, owner if role is Role.contributor else None) as other:
            assert_problem(await imported(other, plan["id"], raw), 403)
    audits, changes, keys = await count(db, AuditEvent), await count(db, Change), await count(db, IdempotencyRecord)
    dry = await client.post(
        f"/api/v1/plans/{plan['id']}/imports", content=raw, headers={**CSV, "Idempotency-Key": "dry-1"}, params={"dry_run": "true"}
    )
    assert dry.status_code == 200
    assert (await count(db, AuditEvent), await count(db, Change)) == (audits, changes)
    assert await count(db, IdempotencyRecord) <= keys + 1
    headers = {**CSV, "Idempotency-Key": "real-1"}
    first = await client.post(f"/api/v1/plans/{plan['id']}/imports", content=raw, headers=headers)
    audits = await count(db, AuditEvent)
    replay = await client.post(f"/api/v1/plans/{plan['id']}/imports", content=raw, headers=headers)
    assert first.status_code == replay.status_code == 200 and replay.json() == first.json()
    assert await count(db, AuditEvent) == audits
    other = await client.post(f"/api/v1/plans/{plan['id']}/imports", content=raw + b"\n", headers=headers)
    assert other.status_code == 422
    assert_problem(await client.get("/api/v1/import-template.xlsx", params={"colour": "red"}), 422)


# -- succession and read-only history ------------------------------------------------------------------------------


async def succeeded(client: httpx.AsyncClient, w: dict[str, Any], **body: Any) -> dict[str, Any]:
    payload = {"kind": "accelerated_progress_plan", "title": "Next", "action_ids": [w["open"]["id"]],
               "measure_ids": [w["measure"]["id"]], **body}  # fmt: skip
    response = await client.post(f"/api/v1/plans/{w['plan']['id']}/successor", json=payload)
    assert response.status_code == 201, response.text
    new: dict[str, Any] = response.json()
    return new


async def test_importing_into_a_superseded_plan_is_a_409_and_leaves_no_trace(client: httpx.AsyncClient, db: Database) -> None:
    """The import asks no plan state itself: into a superseded plan each row is refused one by one (a 422
    import-refused, or a 200 dry run full of 409 details), and a file whose rows are all unchanged is a 200 that
    appends an `import` audit event to read-only history."""
    w = await delivered_wsoa(client)
    raw = csv_bytes([["Concern ref", "Action ref"], ["W1", "1.1"], ["W2", "2.1"]])
    await succeeded(client, w)
    before = await count(db, AuditEvent)
    response = await imported(client, w["plan"]["id"], raw)
    assert await count(db, AuditEvent) == before, "an import event was added to a superseded plan"
    assert_problem(response, 409, "/problems/plan-superseded")


async def test_no_route_writes_to_a_superseded_plan(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    """Writes outside the generic path: the evidence file upload (`store_revision`) and a lead's review of a return
    (`reporting.service.review`) never ask `refuse_history`."""
    w = await delivered_wsoa(client)
    evidence = await evidence_link(client, action_id=w["open"]["id"])
    starts, ends = month_of(TODAY)
    period = await post(
        client, "reporting-periods",
        {"plan_id": w["plan"]["id"], "starts_on": str(starts), "ends_on": str(ends), "returns_due_on": str(ends + timedelta(days=3)),
         "meeting_on": str(ends + timedelta(days=10))},
    )  # fmt: skip
    returns = (await client.get("/api/v1/returns", params={"period_id": period["id"]})).json()["items"]
    mine = next(r for r in returns if r["action_id"] == w["open"]["id"])
    async with as_role(app, db, Role.contributor, w["partnership"], w["owner"]) as owner:
        filed = await owner.post(f"/api/v1/returns/{mine['id']}/submission", json={"proposed_rag": "amber", "narrative": "Slower."})
        assert filed.status_code == 200, filed.text
    await succeeded(client, w)
    still: list[str] = []
    response = await evidence_upload(client, evidence["id"], PDF)
    if response.status_code < 400:
        still.append(f"POST /evidence/{{id}}/file -> {response.status_code}")
    response = await client.post(f"/api/v1/returns/{mine['id']}/review", json={"decision": "accept", "agreed_rag": "green"})
    if response.status_code < 400:
        still.append(f"POST /returns/{{id}}/review -> {response.status_code}")
    assert still == []


async def test_the_worker_leaves_a_superseded_plans_returns_alone(client: httpx.AsyncClient, db: Database) -> None:
    """Succession leaves the old plan's open period and its expected returns as they were (and a lead cannot close the
    period: 409); the worker then marks them missed (writes to history) and reminds and escalates their owners."""
    w = await delivered_wsoa(client)
    starts, ends = month_of(TODAY)
    period = await post(
        client, "reporting-periods",
        {"plan_id": w["plan"]["id"], "starts_on": str(starts), "ends_on": str(ends), "returns_due_on": str(ends + timedelta(days=3)),
         "meeting_on": str(ends + timedelta(days=10))},
    )  # fmt: skip
    await succeeded(client, w)
    await cycle.miss_overdue_returns(db, on=ends + timedelta(days=5))
    returns = (await client.get("/api/v1/returns", params={"period_id": period["id"]})).json()["items"]
    assert {r["status"] for r in returns} <= {"expected", "withdrawn", "cancelled"}, [r["status"] for r in returns]


async def test_case_events_do_not_rewrite_a_superseded_plans_measures(client: httpx.AsyncClient) -> None:
    """`refresh_timeliness_measures` recomputes every `ehcp_timeliness` measure of the partnership, whatever its plan's
    state: the superseded plan's measure keeps changing after it became history."""
    partnership = await make_partnership(client)
    plan = await make_plan(client, partnership)
    this_month = TODAY.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    measure = await post(
        client, "measures",
        {"plan_id": plan["id"], "name": "EHC plans within 20 weeks", "unit": "percent", "direction": "higher_is_better",
         "baseline_value": 40.0, "baseline_on": str(last_month - timedelta(days=200)), "target_value": 90.0,
         "target_on": str(TODAY + timedelta(days=200)), "source": "ehcp_timeliness"},
    )  # fmt: skip
    response = await client.post(
        f"/api/v1/plans/{plan['id']}/successor", json={"kind": "wsoa", "title": "Refreshed WSoA", "measure_ids": [measure["id"]]}
    )
    assert response.status_code == 201, response.text
    [carried] = await items(client, "measures", plan_id=response.json()["id"])
    await send(client, partnership, [{"event_id": "m0", "case_ref": "M0", "type": "request_received",
                                      "occurred_on": str(last_month - timedelta(days=400))}])  # fmt: skip
    received = last_month - timedelta(days=130)
    await send(client, partnership, plan_case("M1", received, (last_month - received).days))
    assert await items(client, "observations", measure_id=carried["id"]) != []
    assert await items(client, "observations", measure_id=measure["id"]) == [], "the superseded plan's measure was rewritten"


async def test_a_plan_superseded_by_patch_can_still_have_its_successor(client: httpx.AsyncClient) -> None:
    """`PATCH /plans/{id} {"status": "superseded"}` is still allowed by the lifecycle, with no successor; from then on
    `POST /plans/{id}/successor` is a 409 plan-superseded: the plan's work can never be carried on."""
    partnership = await make_partnership(client)
    plan = await make_plan(client, partnership)
    moved = await patch(client, f"plans/{plan['id']}", {"status": "superseded"})
    if moved.status_code >= 400:
        return  # refusing the shortcut is one fix
    response = await client.post(f"/api/v1/plans/{plan['id']}/successor", json={"kind": "wsoa", "title": "Next"})
    assert response.status_code == 201, response.text


async def test_deleting_the_successor_does_not_strand_its_predecessor(client: httpx.AsyncClient) -> None:
    """A successor that carried nothing is an empty draft and can be deleted; its predecessor stays superseded with no
    successor, and every write to it, a new successor included, is a 409 for ever."""
    partnership = await make_partnership(client)
    plan = await make_plan(client, partnership)
    response = await client.post(f"/api/v1/plans/{plan['id']}/successor", json={"kind": "wsoa", "title": "Next"})
    assert response.status_code == 201, response.text
    new = response.json()
    etag = (await client.get(f"/api/v1/plans/{new['id']}")).headers["etag"]
    deleted = await client.delete(f"/api/v1/plans/{new['id']}", headers={"If-Match": etag})
    if deleted.status_code >= 400:
        return  # refusing the delete is one fix
    again = await client.post(f"/api/v1/plans/{plan['id']}/successor", json={"kind": "wsoa", "title": "Next again"})
    assert again.status_code == 201, again.text


async def test_concern_kind_changes_only_the_concerns_that_do_not_fit(client: httpx.AsyncClient) -> None:
    """`concern_kind` is documented as the kind carried concerns take "when theirs does not fit the new plan", but it
    is applied to every carried concern: a recommendation becomes an area for priority action."""
    partnership = await make_partnership(client)
    owner = await make_person(client, partnership)
    plan = await make_plan(client, partnership)
    weakness = await make_concern(client, plan, ref="W1")
    recommendation = await make_concern(client, plan, ref="R1", kind="recommendation")
    due = str(TODAY + timedelta(days=90))
    first = await make_action(client, plan, [weakness], ref="1.1", owner_id=owner["id"], due_on=due)
    second = await make_action(client, plan, [recommendation], ref="2.1", owner_id=owner["id"], due_on=due)
    published = TODAY - timedelta(days=30)
    inspection = await post(
        client, "inspections",
        {"partnership_id": partnership["id"], "framework": "area_send_2023", "kind": "full", "inspectorates": ["ofsted", "cqc"],
         "onsite_start_on": str(published - timedelta(days=60)), "onsite_end_on": str(published - timedelta(days=56)),
         "report_published_on": str(published)},
    )  # fmt: skip
    body = {"kind": "priority_action_plan", "title": "PAP", "inspection_id": inspection["id"], "action_ids": [first["id"], second["id"]],
            "concern_kind": "area_for_priority_action"}  # fmt: skip
    response = await client.post(f"/api/v1/plans/{plan['id']}/successor", json=body)
    assert response.status_code == 201, response.text
    kinds = {c["ref"]: c["kind"] for c in await items(client, "concerns", plan_id=response.json()["id"])}
    assert kinds == {"W1": "area_for_priority_action", "R1": "recommendation"}


async def test_carrying_an_action_whose_owner_left_names_the_action(client: httpx.AsyncClient) -> None:
    """The owner is copied as it is; the action rule refuses a leaver with a pointer (`/owner_id`) that is not in the
    request, so the caller cannot tell which of the actions to fix."""
    w = await delivered_wsoa(client)
    assert (await patch(client, f"people/{w['owner']['id']}", {"active": False})).status_code == 200
    body = {"kind": "accelerated_progress_plan", "title": "Next", "action_ids": [w["other"]["id"], w["open"]["id"]]}
    response = await client.post(f"/api/v1/plans/{w['plan']['id']}/successor", json=body)
    if response.status_code == 201:
        return  # carrying the work with the owner cleared (to be reassigned) is one fix
    pointers = [e["pointer"] for e in assert_problem(response, 422)["errors"]]
    assert pointers and all(p.startswith("/action_ids/") for p in pointers), pointers


async def test_a_successor_of_a_successor_and_two_requests_at_once(client: httpx.AsyncClient) -> None:
    """two concurrent successor requests give one plan and a 409; the successor's own
    successor carries the carried action on (a chain of `carried_from_id`); a past forecast is not carried."""
    w = await delivered_wsoa(client)
    body = {"kind": "accelerated_progress_plan", "title": "Next", "action_ids": [w["open"]["id"]]}
    url = f"/api/v1/plans/{w['plan']['id']}/successor"
    first, second = await asyncio.gather(client.post(url, json=body), client.post(url, json=body))
    assert sorted([first.status_code, second.status_code]) == [201, 409], (first.text, second.text)
    middle = (first if first.status_code == 201 else second).json()
    [carried] = await items(client, "actions", plan_id=middle["id"])
    third = await client.post(
        f"/api/v1/plans/{middle['id']}/successor", json={"kind": "wsoa", "title": "Third", "action_ids": [carried["id"]]}
    )
    assert third.status_code == 201, third.text
    [again] = await items(client, "actions", plan_id=third.json()["id"])
    assert again["carried_from_id"] == carried["id"] and carried["carried_from_id"] == w["open"]["id"]
    assert (await client.get(f"/api/v1/plans/{middle['id']}")).json()["status"] == "superseded"
    assert_problem(await client.post(url.replace("successor", "successor"), json=body, params={"colour": "red"}), 422)
    assert uuid.UUID(middle["id"])


@pytest.mark.postgres_only
async def test_a_write_racing_the_succession_waits_for_it(client: httpx.AsyncClient, db: Database) -> None:
    """`refuse_history` reads the plan's status without a lock, so a write to an action runs straight through while
    `succeed` holds the plan row (FOR UPDATE) and is copying it: the write commits into a plan that is being
    superseded, and the successor's copy misses it (SQLite has one writer)."""
    w = await delivered_wsoa(client)
    plan_id = uuid.UUID(w["plan"]["id"])
    async with db.engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(select(Plan.id).where(Plan.id == plan_id).with_for_update())  # type: ignore[arg-type]
        await conn.execute(update(Plan).where(Plan.id == plan_id).values(status="superseded"))  # type: ignore[arg-type]
        racing = asyncio.create_task(patch(client, f"actions/{w['other']['id']}", {"title": "Written during the succession"}))
        await asyncio.sleep(1.5)
        done_early = racing.done()
        await transaction.commit()
        response = await racing
    assert not done_early and response.status_code == 409, (done_early, response.status_code)


async def test_two_imports_of_one_file_at_once(client: httpx.AsyncClient) -> None:
    """Two concurrent imports of the same new tracker give one import and one refusal, never a 500
    (PostgreSQL: the second waits on the unique indexes, then its rows conflict)."""
    _, owner, plan = await plan_with_owner(client)
    raw = csv_bytes(
        [HEAD] + [["W1", "W1: Timeliness", f"1.{n}", "Recruit", owner["email"], "In progress", DUE, "", ""] for n in range(1, 6)]
    )
    first, second = await asyncio.gather(imported(client, plan["id"], raw), imported(client, plan["id"], raw))
    assert {first.status_code, second.status_code} <= {200, 409, 422}, (first.text, second.text)
    assert 200 in (first.status_code, second.status_code)
    assert len(await items(client, "actions", plan_id=plan["id"])) == 5


async def test_a_heading_merged_across_columns_reads_the_column_the_text_is_in(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    """A heading merged over E1:G1 (a wide "Update this month" column) gives its text to E1, F1 and G1, and `locate`
    keeps the last index it saw for a heading: the import reads column G, while the rows' text is typed in E (the
    merge's own cell). Every row then reads as having no update: with a RAG column the row is refused ("a RAG needs
    the progress narrative it sums up", though the narrative is there), without one the progress is silently dropped."""
    _, owner, plan = await plan_with_owner(client)
    await make_concern(client, plan, ref="W1")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Actions"
    sheet.append(["Concern ref", "Action ref", "Action", "RAG", "Update this month", None, None])
    sheet.merge_cells("E1:G1")
    sheet.append(["W1", "1.1", "Recruit coordinators", "Red", "Two coordinators left; recruiting again."])
    buffer = io.BytesIO()
    book.save(buffer)
    mapping = {"actions": {"sheet": "Actions", "columns": {"concern_ref": "Concern ref", "ref": "Action ref", "title": "Action",
                                                           "rag": "RAG", "progress": "Update this month"}}}  # fmt: skip
    async with importer(app, db, plan, owner) as lead:
        response = await upload(lead, plan["id"], buffer.getvalue(), mapping=mapping, dry_run="true")
    assert response.status_code == 200, response.text
    kinds = {(r["kind"], r["outcome"]) for r in response.json()["rows"]}
    assert ("progress_update", "created") in kinds, response.json()["rows"]
    assert owner


async def test_a_heading_that_appears_twice_is_refused_as_ambiguous(client: httpx.AsyncClient) -> None:
    """Two columns headed "Status" (the action's, then its milestone's): `locate` keeps the last, so the action takes
    the milestone's status, silently ("Not started" in the action's column, "On hold" stored)."""
    _, owner, plan = await plan_with_owner(client)
    raw = csv_bytes([["Concern ref", "Concern", "Action ref", "Action", "Status", "Milestone", "Status"],
                     ["W1", "W1: Timeliness", "1.1", "Recruit", "Not started", "Advertise", "On hold"]])  # fmt: skip
    response = await imported(client, plan["id"], raw)
    if response.status_code == 200:
        [action] = await items(client, "actions", plan_id=plan["id"])
        assert action["status"] == "not_started", action["status"]
    else:
        assert_problem(response, 422)
    assert owner


@finding("the file always wins over changes made in the service")
async def test_a_stale_tracker_does_not_undo_what_was_changed_in_the_service(client: httpx.AsyncClient) -> None:
    """The file always wins: a lead suspends an action in the service, and the unchanged tracker imported again
    (next month's routine) puts it back in progress."""
    _, owner, plan = await plan_with_owner(client)
    raw = csv_bytes([HEAD, ["W1", "W1: Timeliness", "1.1", "Recruit", owner["email"], "In progress", DUE, "", ""]])
    assert (await imported(client, plan["id"], raw)).status_code == 200
    [action] = await items(client, "actions", plan_id=plan["id"])
    assert (await patch(client, f"actions/{action['id']}", {"status": "suspended"})).status_code == 200
    again = await imported(client, plan["id"], raw)
    assert again.status_code == 200, again.text
    assert (await client.get(f"/api/v1/actions/{action['id']}")).json()["status"] == "suspended"


async def test_another_partnerships_saved_mapping_is_never_used(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    """Another partnership's saved mapping is never used."""
    partnership, owner, plan = await plan_with_owner(client)
    other = await make_partnership(client)
    mapping = {"actions": {"columns": {"concern_ref": "C", "ref": "R", "title": "T"}}}
    await post(client, "import-mappings", {"partnership_id": other["id"], "name": "Theirs", "mapping": mapping})
    response = await imported(client, plan["id"], b"C,R,T\nW1,1.1,x\n", mapping="Theirs")
    assert assert_problem(response, 422)["errors"][0]["pointer"] == "/mapping"
    async with as_role(app, db, Role.lead, partnership) as lead:
        made = await lead.post("/api/v1/import-mappings", json={"partnership_id": other["id"], "name": "Sneaky", "mapping": mapping})
        assert made.status_code in (404, 422), made.text
    assert owner


async def test_a_workbook_whose_sheet_is_broken_xml_is_unreadable_not_a_500(client: httpx.AsyncClient) -> None:
    """A zip that is a workbook in every way but one sheet's XML, cut short (openpyxl raises its XML parser's error)."""
    _, _, plan = await plan_with_owner(client)
    good = io.BytesIO()
    Workbook().save(good)
    source, broken = zipfile.ZipFile(io.BytesIO(good.getvalue())), io.BytesIO()
    with zipfile.ZipFile(broken, "w") as out:
        for info in source.infolist():
            cut = info.filename == "xl/worksheets/sheet1.xml"
            out.writestr(info.filename, b"<worksheet><sheetData><row" if cut else source.read(info))
    assert_problem(await upload(client, plan["id"], broken.getvalue()), 422)
