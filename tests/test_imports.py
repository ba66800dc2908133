"""Moving in: a council's own tracker (a workbook laid out for people, or a CSV file) imported into a plan, row by row,
all or nothing, and again next month without changing what did not change."""

import csv
import io
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.core.db import Database
from app.imports.sample import SAMPLE_MAPPING, build
from app.imports.template import DEFAULT_MAPPING
from app.models import AuditEvent
from app.models.enums import Role
from app.partnerships.service import today_in
from tests.factories import make_action, make_concern, make_partnership, make_person, make_plan, post
from tests.test_cli_and_ops import wsoa
from tests.test_conventions import assert_problem
from tests.test_exports import export
from tests.test_roles import as_role

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAMPLE_PEOPLE = [
    ("Priya Raman", "priya.raman@wessexvale.gov.example", "HR004103"),
    ("Gareth Penrose", "gareth.penrose@wessexvale.gov.example", "HR004111"),
    ("Marcus Lyle", "marcus.lyle@wessexvale.gov.example", "HR004106"),
    ("Angela Fry", "angela.fry@wessexvale.gov.example", "HR004105"),
    ("Sian Pritchard", "sian.pritchard@wessexvale.gov.example", "HR004107"),
    ("Jo Bailey", "jo.bailey@wessexvale.gov.example", "HR004108"),
]


def today() -> date:
    return today_in("Europe/London")


async def sample_area(client: httpx.AsyncClient, **plan: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """A partnership with the sample's people (and its programme manager, who imports) and an improvement plan answering
    its 2023 inspection."""
    partnership = await make_partnership(client)
    people = {"Leanne Carter": (await make_person(client, partnership, display_name="Leanne Carter"))["id"]}
    for name, email, hr in SAMPLE_PEOPLE:
        person = await make_person(client, partnership, display_name=name, email=email, external_id=hr)
        people[name] = person["id"]
    published = today() - timedelta(days=530)
    inspection = await post(
        client,
        "inspections",
        {"partnership_id": partnership["id"], "framework": "area_send_2023", "kind": "full", "inspectorates": ["ofsted", "cqc"],
         "onsite_start_on": str(published - timedelta(days=60)), "onsite_end_on": str(published - timedelta(days=56)),
         "report_published_on": str(published)},
    )  # fmt: skip
    made = await make_plan(
        client, partnership, kind="improvement_plan", inspection_id=inspection["id"], title="Areas for improvement",
        evidence_required_for_completion=False, **plan,
    )  # fmt: skip
    return partnership, made, people


async def upload(
    client: httpx.AsyncClient,
    plan_id: str,
    raw: bytes,
    *,
    mapping: Any = None,
    saved: str | None = None,
    filename: str = "tracker.xlsx",
    **params: Any,
) -> httpx.Response:
    """Multipart, as a browser form sends it: the file, and the mapping as JSON or a saved one's name."""
    data = {"mapping": orjson.dumps(mapping).decode()} if mapping is not None else None
    if saved is not None:
        params["mapping"] = saved
    files = {"file": (filename, raw, XLSX if filename.endswith(".xlsx") else "text/csv")}
    return await client.post(f"/api/v1/plans/{plan_id}/imports", files=files, data=data, params=params)


def counts(report: dict[str, Any]) -> dict[str, tuple[int, int, int, int]]:
    return {k: (c["created"], c["updated"], c["unchanged"], c["refused"]) for k, c in report["counts"].items() if any(c.values())}


async def items(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/{path}", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


async def audit_count(db: Database) -> int:
    async with db.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one())


def as_importer(app: Any, db: Database, plan: dict[str, Any], person_id: str) -> Any:
    """A lead's key acting as the programme manager: progress updates are signed by the person who records them."""
    return as_role(app, db, Role.lead, {"id": plan["partnership_id"]}, {"id": person_id})


async def test_the_sample_tracker_round_trips_into_a_plan_and_its_pack(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    _, plan, people = await sample_area(client)
    async with as_importer(app, db, plan, people["Leanne Carter"]) as lead:
        await round_trip(client, lead, db, plan, people)


async def round_trip(
    client: httpx.AsyncClient, lead: httpx.AsyncClient, db: Database, plan: dict[str, Any], people: dict[str, str]
) -> None:
    raw = build(today())
    saved = await post(
        client, "import-mappings", {"partnership_id": plan["partnership_id"], "name": "AFI tracker", "mapping": SAMPLE_MAPPING.model_dump()}
    )
    assert saved["mapping"]["actions"]["columns"]["concern"] == "Area for improvement"

    # A dry run says what would happen, row by row, and writes nothing.
    before = await audit_count(db)
    dry = await upload(lead, plan["id"], raw, saved="AFI tracker", dry_run="true")
    assert dry.status_code == 200, dry.text
    expected = {
        "concern": (3, 0, 0, 0), "action": (7, 0, 0, 0), "progress_update": (6, 0, 0, 0), "milestone": (6, 0, 0, 0),
        "measure": (3, 0, 0, 0), "observation": (35, 0, 0, 0),
    }  # fmt: skip
    assert counts(dry.json()) == expected, [r for r in dry.json()["rows"] if r["outcome"] == "refused"]
    assert dry.json()["dry_run"] is True and dry.json()["tables"] == ["AFI tracker", "Milestones", "KPIs"]
    assert await items(client, "actions", plan_id=plan["id"]) == [] and await audit_count(db) == before

    done = await upload(lead, plan["id"], raw, saved="AFI tracker")
    assert done.status_code == 200, done.text
    assert counts(done.json()) == expected and done.json()["rows"] == dry.json()["rows"]

    # What the workbook said, in the service's terms.
    concerns = {c["ref"]: c for c in await items(client, "concerns", plan_id=plan["id"])}
    assert sorted(concerns) == ["AFI-1", "AFI-2", "AFI-3"]
    assert {c["kind"] for c in concerns.values()} == {"area_for_improvement"}
    assert concerns["AFI-2"]["title"].startswith("Oversight of alternative provision")
    actions = {a["ref"]: a for a in await items(client, "actions", plan_id=plan["id"])}
    assert sorted(actions) == ["1.1", "1.2", "1.3", "2.1", "2.2", "3.1", "3.2"]
    assert actions["1.1"]["owner_id"] == people["Priya Raman"]  # by name
    assert actions["1.2"]["owner_id"] == people["Gareth Penrose"]  # by e-mail
    assert actions["2.2"]["owner_id"] == people["Sian Pritchard"]  # by HR id
    assert actions["1.2"]["status"] == "in_progress" and actions["1.2"]["forecast_on"] > str(today())  # "Delayed", dates as text
    assert date.fromisoformat(actions["1.3"]["due_on"]).day >= 28  # "March 2027" is the month's last day
    assert actions["2.1"]["status"] == "completed" and actions["2.1"]["completed_on"] < str(today())
    assert actions["3.2"]["status"] == "not_started"
    assert actions["1.1"]["concern_ids"] == [concerns["AFI-1"]["id"]]
    latest = await items(client, "progress-updates", action_id=actions["1.2"]["id"])
    assert [(u["rag"], u["author_id"]) for u in latest] == [("red", people["Leanne Carter"])]  # Amber/Red reads as the worse
    assert await items(client, "progress-updates", action_id=actions["3.2"]["id"]) == []  # "n/a" and no narrative: nothing
    milestones = await items(client, "milestones", action_id=actions["1.1"]["id"])
    assert sorted((m["title"], m["status"]) for m in milestones) == [
        ("Template agreed with the parent carer forum", "met"), ("Used in every Year 9 review", "pending")
    ]  # fmt: skip
    measures = {m["name"]: m for m in await items(client, "measures", plan_id=plan["id"])}
    adulthood = measures["Year 9+ plans with preparation-for-adulthood outcomes"]
    assert (adulthood["unit"], adulthood["baseline_value"], adulthood["target_value"], adulthood["direction"]) == (
        "percent", 22.0, 95.0, "higher_is_better"
    )  # a cell formatted as a percentage holds a fraction  # fmt: skip
    assert adulthood["latest_value"] == 69.0 and adulthood["concern_ids"] == [concerns["AFI-1"]["id"]]
    views = await items(client, "observations", measure_id=measures["Local Offer page views a month"]["id"])
    assert len(views) == 11  # "-" is no figure

    # The same file again changes nothing: no new version, no audit event but the import's own.
    versions = {a["ref"]: a["version"] for a in await items(client, "actions", plan_id=plan["id"])}
    before = await audit_count(db)
    again = await upload(lead, plan["id"], raw, saved="AFI tracker")
    assert again.status_code == 200
    assert {k: v[2] for k, v in counts(again.json()).items()} == {k: v[0] for k, v in expected.items()}
    assert all(v[0] == v[1] == v[3] == 0 for v in counts(again.json()).values())
    assert {a["ref"]: a["version"] for a in await items(client, "actions", plan_id=plan["id"])} == versions
    assert await audit_count(db) == before + 1

    # A pack of the plan shows what was imported.
    pack = await export(client, plan["id"], format="json")
    body = (await client.get(f"/api/v1/exports/{pack['id']}/content")).content
    text = body.decode()
    for needle in ("Oversight of alternative provision", "Rebuild the Local Offer website with families", "Gareth Penrose"):
        assert needle in text


async def test_next_months_tracker_changes_only_what_changed(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    _, plan, people = await sample_area(client)
    async with as_importer(app, db, plan, people["Leanne Carter"]) as lead:
        await next_month(lead, plan)


async def next_month(client: httpx.AsyncClient, plan: dict[str, Any]) -> None:
    mapping = SAMPLE_MAPPING.model_dump()
    assert (await upload(client, plan["id"], build(today()), mapping=mapping)).status_code == 200
    book = load_workbook(io.BytesIO(build(today())))
    sheet = book["AFI tracker"]
    row = next(r for r in sheet.iter_rows(min_row=5) if r[1].value == "2.2")
    row[8].value, row[9].value, row[10].value = "Complete", "Blue", "All 11 secondary schools now return weekly."
    row[6].value = None  # an emptied cell leaves the plan's value alone
    out = io.BytesIO()
    book.save(out)
    report = (await upload(client, plan["id"], out.getvalue(), mapping=mapping, dry_run="true")).json()
    refused = [r for r in report["rows"] if r["outcome"] == "refused"]
    # Complete needs its completion date, which the row leaves empty: the row says so.
    assert [(r["kind"], r["key"]) for r in refused] == [("action", "2.2")]
    assert "completed_on" in " ".join(p["reason"] for p in refused[0]["problems"])
    row[8].value, row[9].value = "On track", "Green"
    out = io.BytesIO()
    book.save(out)
    report = (await upload(client, plan["id"], out.getvalue(), mapping=mapping)).json()
    changed = [(r["kind"], r["key"], r["outcome"]) for r in report["rows"] if r["outcome"] != "unchanged"]
    assert changed == [("progress_update", "2.2", "created")]


async def test_refused_rows_name_their_cells_and_nothing_is_written(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await make_partnership(client)
    owner = await make_person(client, partnership, email="owner@example.gov.uk")
    plan = await make_plan(client, partnership)  # completion needs accepted evidence (the default)
    concern = await make_concern(client, plan, ref="W1")
    lines = [
        ["Concern ref", "Concern", "Action ref", "Action", "Owner (e-mail or HR id)", "Status", "Due date", "Completed date", "RAG",
         "Latest progress"],
        ["W1", "", "1.1", "Recruit coordinators", "owner@example.gov.uk", "In progress", "31/03/2027", "", "Green", "Two in post."],
        ["W1", "", "1.2", "Weekly case tracking", "nobody@example.gov.uk", "Sort of", "31/02/2027", "", "", ""],
        ["W2", "", "1.3", "Joint commissioning", "owner@example.gov.uk", "Not started", "June 2027", "", "", ""],
        ["W1", "", "1.4", "Done already", "owner@example.gov.uk", "Complete", "01/01/2026", "01/01/2026", "Blue", "Finished."],
        ["W1", "", "", "A row with no reference", "", "", "", "", "", ""],
    ]  # fmt: skip
    text = io.StringIO()
    csv.writer(text).writerows(lines)
    raw = text.getvalue().encode()
    before = await audit_count(db)
    dry = await client.post(
        f"/api/v1/plans/{plan['id']}/imports", content=raw, headers={"content-type": "text/csv"}, params={"dry_run": "true"}
    )
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["format"] == "csv" and report["refused"] == 5
    by_key = {(r["kind"], r["key"]): r for r in report["rows"]}
    assert by_key[("action", "1.1")]["outcome"] == "created"
    # An update is signed by whoever records it, and the admin key acts as no person: never signed with the owner's name.
    unsigned = by_key[("progress_update", "1.1")]
    assert unsigned["outcome"] == "refused" and "acts as no person" in unsigned["problems"][0]["reason"]
    bad = {p["cell"]: p["reason"] for p in by_key[("action", "1.2")]["problems"]}
    assert "nobody@example.gov.uk" in bad["E3"] and "'Sort of'" in bad["F3"] and "not a real date" in bad["G3"]
    assert "W2 is not in the plan" in by_key[("action", "1.3")]["problems"][0]["reason"]
    assert "accepted" in " ".join(p["reason"] for p in by_key[("action", "1.4")]["problems"])
    assert by_key[("action", "")]["problems"][0]["cell"] == "C6"

    real = await client.post(f"/api/v1/plans/{plan['id']}/imports", content=raw, headers={"content-type": "text/csv"})
    problem = assert_problem(real, 422, "/problems/import-refused")
    assert "/CSV/E3" in {e["pointer"] for e in problem["errors"]}
    assert await items(client, "actions", plan_id=plan["id"]) == [] and await audit_count(db) == before
    assert [c["id"] for c in await items(client, "concerns", plan_id=plan["id"])] == [concern["id"]]
    assert owner["id"]


async def test_the_template_imports_as_it_is(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    response = await client.get("/api/v1/import-template.xlsx")
    assert response.status_code == 200 and response.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Actions", "Milestones", "Measures", "How to fill this in"]
    assert DEFAULT_MAPPING.actions is not None
    assert [c.value for c in book["Actions"][1]] == [h for h in DEFAULT_MAPPING.actions.columns.model_dump().values() if h]
    partnership = await make_partnership(client)
    await make_person(client, partnership, email="head.of.send@example.gov.uk")
    manager = await make_person(client, partnership)
    plan = await make_plan(client, partnership)
    async with as_importer(app, db, plan, manager["id"]) as lead:
        raw = await lead.post(f"/api/v1/plans/{plan['id']}/imports", content=response.content, headers={"content-type": XLSX})
    assert raw.status_code == 200, raw.text
    assert counts(raw.json()) == {
        "concern": (1, 0, 0, 0), "action": (1, 0, 0, 0), "progress_update": (1, 0, 0, 0), "milestone": (1, 0, 0, 0),
        "measure": (1, 0, 0, 0), "observation": (3, 0, 0, 0),
    }  # fmt: skip
    [concern] = await items(client, "concerns", plan_id=plan["id"])
    assert concern["kind"] == "area_of_significant_weakness"  # a WSoA's concerns, by the plan's framework


async def test_an_accepted_plans_new_due_date_needs_its_reason(client: httpx.AsyncClient) -> None:
    partnership = await make_partnership(client)
    owner = await make_person(client, partnership)
    plan = await make_plan(client, partnership)
    concern = await make_concern(client, plan, ref="W1")
    due = today() + timedelta(days=90)
    action = await make_action(client, plan, [concern], ref="1.1", owner_id=owner["id"], due_on=str(due))
    for status, extra in (("submitted", {"submitted_on": str(today())}), ("accepted", {"accepted_on": str(today())})):
        etag = (await client.get(f"/api/v1/plans/{plan['id']}")).headers["etag"]
        moved = await client.patch(f"/api/v1/plans/{plan['id']}", json={"status": status, **extra}, headers={"If-Match": etag})
        assert moved.status_code == 200, moved.text
    later = (due + timedelta(days=30)).strftime("%d/%m/%Y")
    header = "Concern ref,Action ref,Due date,Reason for new due date\n"
    without = await client.post(
        f"/api/v1/plans/{plan['id']}/imports", content=f"{header}W1,1.1,{later},\n".encode(), headers={"content-type": "text/csv"}
    )
    assert_problem(without, 422, "/problems/import-refused")
    reason = "Adult social care restructure; agreed at the Delivery Group."
    mapping = {"actions": {"columns": {"concern_ref": "Concern ref", "ref": "Action ref", "due_on": "Due date",
                                       "reprogramme_reason": "Reason for new due date"}}}  # fmt: skip
    body = f'{header}W1,1.1,{later},"{reason}"\n'.encode()
    done = await upload(client, plan["id"], body, mapping=mapping, filename="tracker.csv")
    assert done.status_code == 200, done.text
    assert [(r["kind"], r["outcome"], r["fields"]) for r in done.json()["rows"]] == [
        ("concern", "unchanged", []), ("action", "updated", ["due_on"])
    ]  # fmt: skip
    moves = (await client.get(f"/api/v1/actions/{action['id']}/reprogrammes")).json()
    [move] = moves["items"] if isinstance(moves, dict) else moves
    assert move["reason"] == reason and move["new_due_on"] == str(due + timedelta(days=30))


async def test_bad_files_mappings_and_callers_are_refused(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    partnership = await make_partnership(client)
    plan = await make_plan(client, partnership)
    url = f"/api/v1/plans/{plan['id']}/imports"
    assert_problem(await upload(client, plan["id"], b"not a workbook", filename="t.xlsx"), 422)
    assert_problem(await upload(client, plan["id"], b"PK\x03\x04garbage"), 422)
    assert_problem(await upload(client, plan["id"], b""), 422)
    missing = await upload(client, plan["id"], b"Ref,Title\n1.1,x\n", filename="t.csv")
    problem = assert_problem(missing, 422)
    assert "/mapping/actions/columns/ref" in {e["pointer"] for e in problem["errors"]}
    typo = await upload(
        client, plan["id"], b"Ref\n1.1\n", filename="t.csv", mapping={"actions": {"columns": {"ref": "Ref", "colour": "RAG"}}}
    )
    assert assert_problem(typo, 422)["errors"][0]["pointer"] == "/mapping/actions/columns/colour"
    sheets = await upload(client, plan["id"], b"Ref\n1.1\n", filename="t.csv", mapping=SAMPLE_MAPPING.model_dump())
    assert assert_problem(sheets, 422)["errors"][0]["pointer"] == "/mapping/milestones"
    assert_problem(await client.post(url, content=b"{}", headers={"content-type": "application/json"}), 415)
    unknown = await client.post(url, content=b"Ref\n", headers={"content-type": "text/csv"}, params={"mapping": "No such"})
    assert assert_problem(unknown, 422)["errors"][0]["pointer"] == "/mapping"
    assert_problem(await client.post(url, content=b"Ref\n", headers={"content-type": "text/csv"}, params={"dryrun": "true"}), 422)
    assert_problem(await client.post(f"/api/v1/plans/{uuid.uuid4()}/imports", content=b"x", headers={"content-type": "text/csv"}), 404)
    duplicate = {"partnership_id": partnership["id"], "name": "Ours", "mapping": DEFAULT_MAPPING.model_dump()}
    await post(client, "import-mappings", duplicate)
    assert_problem(await client.post("/api/v1/import-mappings", json=duplicate), 409)

    other = await make_partnership(client)
    theirs = await make_plan(client, other)
    person = await make_person(client, partnership)
    async with as_role(app, db, Role.lead, partnership) as lead:
        hidden = await lead.post(f"/api/v1/plans/{theirs['id']}/imports", content=b"Ref\n", headers={"content-type": "text/csv"})
        assert_problem(hidden, 404)
        assert (await lead.get("/api/v1/import-mappings")).json()["items"][0]["name"] == "Ours"
    async with as_role(app, db, Role.lead, other) as lead:
        assert (await lead.get("/api/v1/import-mappings")).json()["items"] == []
    async with as_role(app, db, Role.contributor, partnership, person) as contributor:
        assert_problem(await contributor.post(url, content=b"Ref\n", headers={"content-type": "text/csv"}), 403)
        assert (await contributor.get("/api/v1/import-template.xlsx")).status_code == 200


async def test_wsoa_import_does_the_same_from_the_command_line(client: httpx.AsyncClient, database_url: str, tmp_path: Path) -> None:
    _, plan, _ = await sample_area(client)
    await make_person(client, {"id": plan["partnership_id"]}, email="leanne.carter@wessexvale.gov.example")
    signed = ("--author", "leanne.carter@wessexvale.gov.example")
    tracker = tmp_path / "afi-tracker.xlsx"
    tracker.write_bytes(build(today()))
    mapping = tmp_path / "mapping.json"
    mapping.write_bytes(orjson.dumps(SAMPLE_MAPPING.model_dump()))
    unsigned = wsoa(database_url, "import", plan["id"], str(tracker), "--mapping-file", str(mapping), "--dry-run")
    assert unsigned.returncode == 1 and "progress_update: 0 created, 0 updated, 0 unchanged, 6 refused" in unsigned.stdout
    dry = wsoa(database_url, "import", plan["id"], str(tracker), "--mapping-file", str(mapping), "--dry-run", *signed)
    assert dry.returncode == 0, dry.stderr
    assert "action: 7 created, 0 updated, 0 unchanged, 0 refused" in dry.stdout and dry.stdout.strip().endswith("dry run, nothing written")
    assert await items(client, "actions", plan_id=plan["id"]) == []
    done = wsoa(database_url, "import", plan["id"], str(tracker), "--mapping-file", str(mapping), *signed)
    assert done.returncode == 0, done.stderr
    assert len(await items(client, "actions", plan_id=plan["id"])) == 7
    again = wsoa(database_url, "import", plan["id"], str(tracker), "--mapping-file", str(mapping), *signed)
    assert "action: 0 created, 0 updated, 7 unchanged, 0 refused" in again.stdout
    # Refused rows are named, the exit status says so, and nothing is written.
    bad = tmp_path / "bad.csv"
    bad.write_text("Concern ref,Action ref,Action,Due date\nAFI-1,9.9,New action,31/02/2027\n")
    refused = wsoa(database_url, "import", plan["id"], str(bad))
    assert refused.returncode == 1 and "/CSV/D2" in refused.stderr and "Traceback" not in refused.stderr
    unknown = wsoa(database_url, "import", str(uuid.uuid4()), str(bad))
    assert unknown.returncode == 1 and "No plan" in unknown.stderr


async def test_the_shipped_sample_and_its_mapping_are_the_ones_the_code_builds(client: httpx.AsyncClient) -> None:
    folder = Path(__file__).resolve().parents[1] / "docs" / "import"
    assert orjson.loads((folder / "sample-tracker-mapping.json").read_bytes()) == SAMPLE_MAPPING.model_dump(exclude_none=True)
    _, plan, _ = await sample_area(client)
    shipped = (folder / "sample-tracker.xlsx").read_bytes()
    dry = await upload(client, plan["id"], shipped, mapping=SAMPLE_MAPPING.model_dump(), dry_run="true")
    assert dry.status_code == 200 and dry.json()["tables"] == ["AFI tracker", "Milestones", "KPIs"], dry.text
    assert dry.json()["counts"]["action"]["created"] + dry.json()["counts"]["action"]["refused"] == 7
