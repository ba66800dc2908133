"""HR sync through HTTP: JSON and CSV, upsert and full, row errors, organisations, idempotence, scale;
partial rows, leaving dates, dry runs and the mass-deactivation guard."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.core.config import Settings
from app.core.db import Database
from app.core.uow import unit_of_work
from app.models.enums import Role
from app.partnerships.service import today_in
from tests.conftest import StatementCounter, new_token
from tests.factories import make_partnership, make_world, post
from tests.test_conventions import assert_problem


def row(n: int, **overrides: Any) -> dict[str, Any]:
    return {"external_id": f"E{n:05d}", "display_name": f"Officer {n}", "email": f"officer{n}@council.example", "job_title": "SEND officer",
            "organisation": "Wessex Vale Council", **overrides}  # fmt: skip


async def sync(
    client: httpx.AsyncClient, partnership: dict[str, Any], people: list[dict[str, Any]], mode: str = "upsert", **params: str
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/people/sync", json={"partnership_id": partnership["id"], "mode": mode, "people": people}, params=params
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_upsert_then_resend_changes_nothing(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    people = [row(n) for n in range(5)]
    assert await sync(client, p, people) == {"created": 5, "updated": 0, "unchanged": 0, "deactivated": 0, "errors": []}
    changes_before = (await client.get("/api/v1/changes", params={"limit": 1000})).json()["items"]
    assert await sync(client, p, people) == {"created": 0, "updated": 0, "unchanged": 5, "deactivated": 0, "errors": []}
    assert (await client.get("/api/v1/changes", params={"limit": 1000})).json()["items"] == changes_before
    people[2]["job_title"] = "Team manager"
    assert (await sync(client, p, people))["updated"] == 1
    listed = (await client.get("/api/v1/people", params={"partnership_id": p["id"], "external_id": "E00002"})).json()["items"]
    assert listed[0]["job_title"] == "Team manager" and listed[0]["version"] == 2
    orgs = (await client.get("/api/v1/organisations", params={"partnership_id": p["id"]})).json()["items"]
    assert [o["name"] for o in orgs] == ["Wessex Vale Council"]


async def test_full_mode_marks_leavers_and_never_deletes(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    owner_row = {"external_id": w.owner["external_id"], "display_name": w.owner["display_name"]}
    await sync(client, w.partnership, [owner_row, row(1)])
    result = await sync(client, w.partnership, [row(1)], mode="full", allow_mass_deactivation="true")  # 1 of 2 people
    assert (result["deactivated"], result["unchanged"]) == (1, 1)
    owner = (await client.get(f"/api/v1/people/{w.owner['id']}")).json()
    assert owner["active"] is False and owner["left_on"] is not None
    action = (await client.get(f"/api/v1/actions/{w.action['id']}")).json()
    assert action["owner_active"] is False
    still_left = await sync(client, w.partnership, [owner_row, row(1)], mode="full")  # listed, but not said to be back
    assert still_left["unchanged"] == 2 and (await client.get(f"/api/v1/people/{w.owner['id']}")).json()["active"] is False
    back = await sync(client, w.partnership, [{**owner_row, "active": True}, row(1)], mode="full")
    assert back["updated"] == 1
    assert (await client.get(f"/api/v1/people/{w.owner['id']}")).json()["left_on"] is None


async def test_valid_rows_apply_and_bad_rows_are_named(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    people = [row(1), {"external_id": "E2"}, row(3, email="not-an-email"), row(1), {"display_name": "No id"}, row(4, colour="red")]
    result = await sync(client, p, people)
    assert result["created"] == 1
    assert [(e["index"], e["external_id"]) for e in result["errors"]] == [(1, "E2"), (2, "E00003"), (3, "E00001"), (4, None), (5, "E00004")]
    assert "more than once" in result["errors"][2]["message"]


async def test_csv_feed(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    csv_body = "\ufeffexternal_id,display_name,email,job_title,organisation,active\nC1,Ann Lee,ann@council.example,Lead,ICB,true\nC2,Bob Roy,,,,false\n"
    response = await client.post(
        "/api/v1/people/sync",
        params={"partnership_id": p["id"], "mode": "upsert"},
        content=csv_body.encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2 and response.json()["errors"] == []
    people = {x["external_id"]: x for x in (await client.get("/api/v1/people", params={"partnership_id": p["id"]})).json()["items"]}
    assert people["C1"]["email"] == "ann@council.example" and people["C2"]["active"] is False and people["C2"]["email"] is None
    bad = await client.post(
        "/api/v1/people/sync", params={"partnership_id": p["id"]}, content=b"id,name\n1,x\n", headers={"content-type": "text/csv"}
    )
    assert_problem(bad, 422)
    assert_problem(await client.post("/api/v1/people/sync", content=b"x", headers={"content-type": "text/plain"}), 415)


async def test_partnership_comes_from_a_single_partnership_key(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    p, other = await make_partnership(client), await make_partnership(client)
    token = await new_token(db, Role.hr_integration, partnership_id=uuid.UUID(p["id"]))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {token}"}
    ) as hr:
        ok = await hr.post("/api/v1/people/sync", json={"people": [row(1)]})
        assert ok.status_code == 200 and ok.json()["created"] == 1
        assert_problem(await hr.post("/api/v1/people/sync", json={"partnership_id": other["id"], "people": [row(2)]}), 422)
    assert_problem(await client.post("/api/v1/people/sync", json={"people": [row(3)]}), 422)  # a national key must name it
    trail = (await client.get("/api/v1/audit-events", params={"action": "sync"})).json()["items"]
    assert trail and trail[-1]["changes"]["created"] == [None, ["E00001"]]


async def test_ten_thousand_rows_in_a_handful_of_statements(client: httpx.AsyncClient, statements: StatementCounter) -> None:
    p = await make_partnership(client)
    people = [row(n) for n in range(10_000)]
    statements.reset()
    result = await sync(client, p, people, mode="full")
    assert result["created"] == 10_000
    first = statements.count
    assert first < 40, first
    people[5]["job_title"] = "Changed"
    statements.reset()
    result = await sync(client, p, people[:9_000], mode="full")
    assert (result["updated"], result["deactivated"], result["unchanged"]) == (1, 1_000, 8_999)
    assert statements.count < 40


async def test_the_readme_example_file_syncs_cleanly(client: httpx.AsyncClient) -> None:
    from pathlib import Path

    p = await make_partnership(client)
    example = (Path(__file__).resolve().parents[1] / "docs" / "examples" / "people.csv").read_bytes()
    response = await client.post(
        "/api/v1/people/sync", params={"partnership_id": p["id"]}, content=example, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200 and response.json()["errors"] == [] and response.json()["created"] == 5


async def test_the_example_file_describes_the_demo_people(client: httpx.AsyncClient, db: Database) -> None:
    from pathlib import Path

    from app.demo.seed import seed_demo

    async with unit_of_work(db) as session:
        demo = await seed_demo(session)
    example = (Path(__file__).resolve().parents[1] / "docs" / "examples" / "people.csv").read_bytes()
    response = await client.post(
        "/api/v1/people/sync", params={"partnership_id": str(demo.id)}, content=example, headers={"content-type": "text/csv"}
    )
    assert response.json() == {"created": 0, "updated": 0, "unchanged": 5, "deactivated": 0, "errors": []}


async def person(client: httpx.AsyncClient, partnership: dict[str, Any], external_id: str) -> dict[str, Any]:
    found = (await client.get("/api/v1/people", params={"partnership_id": partnership["id"], "external_id": external_id})).json()["items"]
    assert len(found) == 1, found
    result: dict[str, Any] = found[0]
    return result


async def tables(db: Database, *names: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the named tables, to show that a request changed nothing."""
    async with db.engine.connect() as conn:
        return {name: sorted(tuple(map(str, r)) for r in (await conn.execute(text(f'SELECT * FROM "{name}"'))).all()) for name in names}


async def test_upsert_changes_only_the_fields_a_row_carries(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    await sync(client, p, [row(1), row(2)])
    before = await person(client, p, "E00001")
    result = await sync(client, p, [{"external_id": "E00001", "display_name": "Officer One"}])
    assert (result["updated"], result["errors"]) == (1, [])
    after = await person(client, p, "E00001")
    assert after["display_name"] == "Officer One"
    assert {k: after[k] for k in ("email", "job_title", "organisation_id", "active")} == {
        k: before[k] for k in ("email", "job_title", "organisation_id", "active")
    }
    # Only external_id: nothing to change, and nothing changes.
    assert (await sync(client, p, [{"external_id": "E00001"}]))["unchanged"] == 1
    # An explicit null (or blank) clears a field that may be empty; display_name and active cannot be cleared.
    result = await sync(client, p, [{"external_id": "E00002", "email": None, "job_title": "", "organisation": None}])
    assert result["updated"] == 1
    cleared = await person(client, p, "E00002")
    assert (cleared["email"], cleared["job_title"], cleared["organisation_id"], cleared["display_name"]) == (None, None, None, "Officer 2")
    refused = await sync(client, p, [{"external_id": "E00002", "display_name": None}, {"external_id": "E00001", "active": None}])
    assert [(e["index"], e["message"].split(":")[0]) for e in refused["errors"]] == [(0, "display_name"), (1, "active")]
    assert (await person(client, p, "E00002"))["display_name"] == "Officer 2"
    # Someone new needs a name.
    new = await sync(client, p, [{"external_id": "E00009", "email": "nine@council.example"}])
    assert new["created"] == 0 and new["errors"] == [
        {"index": 0, "external_id": "E00009", "message": "display_name: required for someone new"}
    ]


async def test_upsert_never_brings_a_leaver_back_by_leaving_active_out(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    await sync(client, p, [row(1), row(2, active=False, left_on="2025-03-31")])
    result = await sync(client, p, [{"external_id": "E00002", "display_name": "Officer 2", "job_title": "Retired"}])
    assert result["updated"] == 1
    leaver = await person(client, p, "E00002")
    assert (leaver["active"], leaver["left_on"], leaver["job_title"]) == (False, "2025-03-31", "Retired")
    assert (await sync(client, p, [{"external_id": "E00002", "display_name": "Officer 2"}]))["unchanged"] == 1
    back = await sync(client, p, [{"external_id": "E00002", "active": True}])
    assert back["updated"] == 1
    assert (await person(client, p, "E00002"))["active"] is True and (await person(client, p, "E00002"))["left_on"] is None


async def test_left_on_comes_from_the_feed_or_is_the_partnerships_today(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    await sync(client, p, [row(1), row(2), row(3)])
    result = await sync(
        client, p, [{"external_id": "E00001", "active": False, "left_on": "2026-01-30"}, {"external_id": "E00002", "active": False}]
    )
    assert (result["updated"], result["errors"]) == (2, [])
    assert (await person(client, p, "E00001"))["left_on"] == "2026-01-30"
    assert (await person(client, p, "E00002"))["left_on"] == today_in("Europe/London").isoformat()
    # The date held is kept when a later row says again that they left; a new date in the feed corrects it.
    assert (await sync(client, p, [{"external_id": "E00001", "active": False}]))["unchanged"] == 1
    await sync(client, p, [{"external_id": "E00001", "active": False, "left_on": "2026-01-31"}])
    assert (await person(client, p, "E00001"))["left_on"] == "2026-01-31"
    bad = await sync(
        client, p, [{"external_id": "E00003", "left_on": "2026-01-30"}, {"external_id": "E00003", "active": True, "left_on": 20260130}]
    )
    assert [e["index"] for e in bad["errors"]] == [0, 1] and "active: false" in bad["errors"][0]["message"]
    assert (await person(client, p, "E00003"))["active"] is True


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])  # UTC+14 and UTC-11: one of them is not on the machine's date
async def test_leavers_leave_on_the_partnerships_date(client: httpx.AsyncClient, zone: str) -> None:
    p = await make_partnership(client, timezone=zone)
    await sync(client, p, [row(n) for n in range(10)])
    await sync(client, p, [row(n) for n in range(1, 10)], mode="full")
    await sync(client, p, [{"external_id": "E00002", "active": False}])
    assert (await person(client, p, "E00000"))["left_on"] == today_in(zone).isoformat()
    assert (await person(client, p, "E00002"))["left_on"] == today_in(zone).isoformat()


async def test_csv_columns_absent_keep_their_values_and_empty_cells_clear(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    await sync(client, p, [row(1), row(2), row(3, active=False, left_on="2025-12-01")])

    async def post_csv(body: str, **params: str) -> dict[str, Any]:
        response = await client.post(
            "/api/v1/people/sync",
            params={"partnership_id": p["id"], **params},
            content=body.encode(),
            headers={"content-type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    # No email, organisation or active column: those stay; an empty job title clears it; an empty name is left out.
    result = await post_csv("external_id,display_name,job_title\nE00001,,\nE00003,Officer Three,Adviser\n")
    assert (result["updated"], result["errors"]) == (2, [])
    one, three = await person(client, p, "E00001"), await person(client, p, "E00003")
    assert (one["display_name"], one["email"], one["job_title"], one["organisation_id"] is not None) == (
        "Officer 1", "officer1@council.example", None, True,
    )  # fmt: skip
    assert (three["active"], three["left_on"], three["job_title"]) == (False, "2025-12-01", "Adviser")
    # An empty active cell keeps the status; a line of the wrong width is a row error and changes nothing, in full mode too.
    result = await post_csv("external_id,active,left_on\nE00003,,\nE00002,false\nE00001,true,\n", mode="full")
    assert (result["unchanged"], result["deactivated"]) == (2, 0)
    assert result["errors"] == [
        {"index": 1, "external_id": "E00002", "message": "row: 2 cells where the header has 3; nothing in it was applied"}
    ]
    assert (await person(client, p, "E00002"))["active"] is True and (await person(client, p, "E00003"))["active"] is False
    header = await client.post(
        "/api/v1/people/sync",
        params={"partnership_id": p["id"]},
        content=b"external_id,email,email\nE00001,a@b.example,c@d.example\n",
        headers={"content-type": "text/csv"},
    )
    assert assert_problem(header, 422)["errors"] == [{"pointer": "/email", "message": "column named more than once"}]


async def test_a_failing_row_never_marks_its_person_as_left(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    await sync(client, p, [row(n) for n in range(10)])
    people = [row(n) for n in range(10)]
    people[3] = row(3, email="not-an-email")
    result = await sync(client, p, people, mode="full")
    assert (result["deactivated"], result["unchanged"], [e["external_id"] for e in result["errors"]]) == (0, 9, ["E00003"])
    assert (await person(client, p, "E00003"))["active"] is True


async def test_dry_run_reports_the_changes_and_writes_nothing(client: httpx.AsyncClient, db: Database) -> None:
    p = await make_partnership(client)
    await sync(client, p, [row(n) for n in range(10)])
    feed = [row(n) for n in range(1, 10)] + [row(10, organisation="Wessex Vale ICB")]
    feed[0] = row(1, job_title="Team manager", email=None)
    feed[1] = {"external_id": "E00002", "active": False, "left_on": "2026-02-27"}
    watched = ("person", "change", "organisation", "idempotency_record")
    before = await tables(db, *watched)
    response = await client.post(
        "/api/v1/people/sync", json={"partnership_id": p["id"], "mode": "full", "people": feed}, params={"dry_run": "true"}
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert await tables(db, *watched) == before
    # The preview shows E00001's stored e-mail: that, and nothing else, is in the trail (a read of contact details).
    one = await person(client, p, "E00001")
    trail = (await client.get("/api/v1/audit-events", params={"entity_type": "person", "action": "read"})).json()["items"]
    previewed = [e for e in trail if e["actor_id"] != "system" and e["entity_id"] == one["id"]]
    assert len(previewed) == 2 and previewed[0]["changes"] == {"read": [None, "contact details"]}  # the preview's, then person()'s
    assert {k: preview[k] for k in ("created", "updated", "unchanged", "deactivated", "errors", "dry_run", "refused")} == {
        "created": 1, "updated": 2, "unchanged": 7, "deactivated": 1, "errors": [], "dry_run": True, "refused": None,
    }  # fmt: skip
    changes = preview["changes"]
    assert changes["updated"][0] == {
        "external_id": "E00001", "person_id": one["id"], "display_name": "Officer 1",
        "fields": {"email": {"from": "officer1@council.example", "to": None}, "job_title": {"from": "SEND officer", "to": "Team manager"}},
    }  # fmt: skip
    assert changes["updated"][1]["fields"] == {"active": {"from": True, "to": False}, "left_on": {"from": None, "to": "2026-02-27"}}
    assert changes["created"] == [
        {"external_id": "E00010", "person_id": None, "display_name": "Officer 10",
         "fields": {"display_name": {"from": None, "to": "Officer 10"}, "email": {"from": None, "to": "officer10@council.example"},
                    "job_title": {"from": None, "to": "SEND officer"}, "organisation": {"from": None, "to": "Wessex Vale ICB"},
                    "active": {"from": None, "to": True}}},
    ]  # fmt: skip
    today = today_in("Europe/London").isoformat()
    assert [(c["external_id"], c["fields"]) for c in changes["deactivated"]] == [
        ("E00000", {"active": {"from": True, "to": False}, "left_on": {"from": None, "to": today}})
    ]
    assert changes["organisations_created"] == ["Wessex Vale ICB"]
    # The same request without dry_run does what the dry run said.
    applied = await sync(client, p, feed, mode="full")
    assert applied == {k: preview[k] for k in ("created", "updated", "unchanged", "deactivated", "errors")}
    assert (await person(client, p, "E00001"))["job_title"] == "Team manager"


async def test_a_full_sync_that_would_empty_the_partnership_is_refused(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    p = await make_partnership(client)
    await sync(client, p, [row(n) for n in range(23)])
    five = [row(n) for n in range(5)]
    watched = ("person", "audit_event", "change")
    before = await tables(db, *watched)
    refused = await client.post("/api/v1/people/sync", json={"partnership_id": p["id"], "mode": "full", "people": five})
    body = assert_problem(refused, 409, "/problems/mass-deactivation")
    assert "18 of the 23 active people it manages" in body["detail"] and "78.3%" in body["detail"] and "20%" in body["detail"]
    assert await tables(db, *watched) == before
    # A dry run says so, and still lists who would be marked.
    preview = await sync(client, p, five, mode="full", dry_run="true")
    assert preview["refused"] == body["detail"] and preview["deactivated"] == 18 and len(preview["changes"]["deactivated"]) == 18
    # Rows that say active: false count too.
    said = [row(n) for n in range(18)] + [{"external_id": f"E{n:05d}", "active": False} for n in range(18, 23)]
    assert_problem(await client.post("/api/v1/people/sync", json={"partnership_id": p["id"], "mode": "full", "people": said}), 409)
    # Within the share (4 of 23 is 17.4%), or when the request allows it, the sync runs.
    assert (await sync(client, p, [row(n) for n in range(19)], mode="full"))["deactivated"] == 4
    assert (await sync(client, p, five, mode="full", allow_mass_deactivation="true"))["deactivated"] == 14
    assert (await sync(client, p, five, mode="full", dry_run="true", allow_mass_deactivation="true"))["refused"] is None


async def test_people_added_by_hand_do_not_dilute_the_guard(app: Any, client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    for _ in range(20):  # people the feed does not manage: no external_id
        await post(client, "people", {"partnership_id": p["id"], "display_name": "Added by hand"})
    await sync(client, p, [row(n) for n in range(3)])
    refused = await client.post("/api/v1/people/sync", json={"partnership_id": p["id"], "mode": "full", "people": []})
    assert "3 of the 3 active people it manages" in assert_problem(refused, 409, "/problems/mass-deactivation")["detail"]


async def test_the_share_is_a_setting(app: Any, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WSOA_SYNC_MAX_DEACTIVATE_PERCENT", "50")
    assert Settings().sync_max_deactivate_percent == 50
    assert Settings.model_fields["sync_max_deactivate_percent"].default == 20
    monkeypatch.setattr(app.state.settings, "sync_max_deactivate_percent", 50)
    p = await make_partnership(client)
    await sync(client, p, [row(n) for n in range(10)])
    assert (await sync(client, p, [row(n) for n in range(5)], mode="full"))["deactivated"] == 5
    await sync(client, p, [row(n, active=True) for n in range(10)], mode="full")
    refused = await client.post(
        "/api/v1/people/sync", json={"partnership_id": p["id"], "mode": "full", "people": [row(n) for n in range(4)]}
    )
    assert "more than the 50% allowed" in assert_problem(refused, 409)["detail"]


async def test_a_guessed_query_parameter_is_refused_before_the_sync(client: httpx.AsyncClient, db: Database) -> None:
    p = await make_partnership(client)
    await sync(client, p, [row(n) for n in range(23)])
    before = await tables(db, "person", "audit_event", "change")
    response = await client.post(
        "/api/v1/people/sync", json={"partnership_id": p["id"], "mode": "full", "people": [row(1)]}, params={"dryrun": "true"}
    )
    body = assert_problem(response, 422)
    assert body["errors"] == [{"pointer": "/dryrun", "message": "Unknown query parameter"}] and "dry_run" in body["detail"]
    assert await tables(db, "person", "audit_event", "change") == before


async def test_a_leaving_date_in_the_future_is_a_row_error(app: Any, client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    await sync(client, p, [row(0), row(1)])
    later = (today_in("Europe/London") + timedelta(days=30)).isoformat()
    result = await sync(client, p, [{"external_id": row(0)["external_id"], "active": False, "left_on": later}])
    assert [e["message"] for e in result["errors"]] == ["left_on: after the partnership's today"]
    people = (await client.get("/api/v1/people", params={"partnership_id": p["id"]})).json()["items"]
    assert all(person["active"] for person in people)


async def test_a_nul_in_one_row_is_that_rows_error_and_the_rest_is_applied(app: Any, client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    rows = [row(0), row(1, display_name="Bad\u0000Name"), row(2, external_id="E\u000002"), row(3)]
    result = await sync(client, p, rows)
    assert result["created"] == 2 and sorted(e["index"] for e in result["errors"]) == [1, 2]
    csv = "external_id,display_name\nE00010,Good\nE00011,Bad\x00Name\n"
    response = await client.post(
        "/api/v1/people/sync", params={"partnership_id": p["id"], "mode": "upsert"}, content=csv, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1 and [e["index"] for e in response.json()["errors"]] == [1]
