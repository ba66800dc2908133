"""HR sync through HTTP: JSON and CSV, upsert and full, row errors, organisations, idempotence, scale."""

import uuid
from typing import Any

import httpx

from app.core.db import Database
from app.core.uow import unit_of_work
from app.models.enums import Role
from tests.conftest import StatementCounter, new_token
from tests.factories import make_partnership, make_world
from tests.test_conventions import assert_problem


def row(n: int, **overrides: Any) -> dict[str, Any]:
    return {"external_id": f"E{n:05d}", "display_name": f"Officer {n}", "email": f"officer{n}@council.example", "job_title": "SEND officer",
            "organisation": "Wessex Vale Council", **overrides}  # fmt: skip


async def sync(
    client: httpx.AsyncClient, partnership: dict[str, Any], people: list[dict[str, Any]], mode: str = "upsert"
) -> dict[str, Any]:
    response = await client.post("/api/v1/people/sync", json={"partnership_id": partnership["id"], "mode": mode, "people": people})
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
    result = await sync(client, w.partnership, [row(1)], mode="full")
    assert (result["deactivated"], result["unchanged"]) == (1, 1)
    owner = (await client.get(f"/api/v1/people/{w.owner['id']}")).json()
    assert owner["active"] is False and owner["left_on"] is not None
    action = (await client.get(f"/api/v1/actions/{w.action['id']}")).json()
    assert action["owner_active"] is False
    back = await sync(client, w.partnership, [owner_row, row(1)], mode="full")
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
