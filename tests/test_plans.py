"""The plan's collections end to end: links, derived health, append-only updates, references."""

import uuid
from datetime import date, timedelta
from typing import Any

import httpx

from app.core.db import Database
from app.core.uow import unit_of_work
from tests.factories import make_action, make_concern, make_partnership, make_person, make_plan, make_world, post
from tests.test_conventions import assert_problem


async def etag(client: httpx.AsyncClient, url: str) -> str:
    return (await client.get(url)).headers["etag"]


async def test_inspection_and_plan_round_trip(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    inspection = await post(
        client,
        "inspections",
        {
            "partnership_id": p["id"],
            "framework": "area_send_2023",
            "kind": "full",
            "onsite_start_on": "2025-01-13",
            "onsite_end_on": "2025-01-17",
            "report_url": "https://reports.example/x.pdf",
        },
    )
    assert inspection["inspectorates"] == ["ofsted", "cqc"]
    plan = await make_plan(client, p, inspection_id=inspection["id"], kind="priority_action_plan")
    assert plan["status"] == "draft" and plan["inspection_id"] == inspection["id"]
    bad = await client.post(
        "/api/v1/inspections",
        json={
            "partnership_id": p["id"],
            "framework": "las_2016",
            "kind": "full",
            "onsite_start_on": "2025-01-17",
            "onsite_end_on": "2025-01-13",
        },
    )
    assert_problem(bad, 422)


async def test_plan_cannot_reference_another_partnerships_inspection(client: httpx.AsyncClient) -> None:
    a, b = await make_partnership(client), await make_partnership(client)
    inspection = await post(client, "inspections", {"partnership_id": b["id"], "framework": "las_2016", "kind": "full"})
    body = assert_problem(
        await client.post(
            "/api/v1/plans", json={"partnership_id": a["id"], "kind": "wsoa", "title": "T", "inspection_id": inspection["id"]}
        ),
        422,
    )
    assert body["errors"] == [{"pointer": "/inspection_id", "message": "no inspection with this id in the partnership"}]


async def test_unknown_parent_is_422(client: httpx.AsyncClient) -> None:
    body = assert_problem(
        await client.post(
            "/api/v1/concerns",
            json={"plan_id": "2b1c8e57-3b4a-4e0e-9a55-6f1d2c3b4a59", "ref": "W1", "kind": "recommendation", "title": "x"},
        ),
        422,
    )
    assert body["errors"][0]["pointer"] == "/plan_id"


async def test_action_links_concerns_of_its_own_plan_only(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    other_plan = await make_plan(client, w.partnership)
    foreign = await make_concern(client, other_plan)
    response = await client.post(
        "/api/v1/actions", json={"plan_id": w.plan["id"], "ref": "9.9", "title": "x", "concern_ids": [w.concerns[0]["id"], foreign["id"]]}
    )
    body = assert_problem(response, 422)
    assert body["errors"] == [{"pointer": "/concern_ids/1", "message": "the concern belongs to another plan"}]
    empty = await client.post("/api/v1/actions", json={"plan_id": w.plan["id"], "ref": "9.9", "title": "x", "concern_ids": []})
    assert assert_problem(empty, 422)["errors"][0]["pointer"] == "/concern_ids"


async def test_action_representation(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    org = await post(client, "organisations", {"partnership_id": w.partnership["id"], "name": "ICB", "kind": "icb"})
    helper = await make_person(client, w.partnership, job_title="Analyst")
    action = await make_action(
        client,
        w.plan,
        w.concerns,
        owner_id=w.owner["id"],
        contributor_ids=[helper["id"]],
        organisation_ids=[org["id"]],
        priority="high",
        planned_start_on="2020-01-01",
        due_on=(date.today() + timedelta(days=10)).isoformat(),
    )
    assert sorted(action["concern_ids"]) == sorted(c["id"] for c in w.concerns)
    assert action["contributor_ids"] == [helper["id"]] and action["organisation_ids"] == [org["id"]]
    assert action["owner"] == {"id": w.owner["id"], "display_name": w.owner["display_name"], "job_title": None, "active": True}
    assert action["owner_active"] is True and action["milestones"] == [] and action["reported_rag"] is None
    assert action["rag"] == "amber" and action["is_slipping"] is True  # not started after its planned start
    milestone = await post(client, "milestones", {"action_id": action["id"], "title": "Half way", "due_on": "2030-01-01"})
    await post(client, "milestones", {"action_id": action["id"], "title": "First", "due_on": "2029-01-01"})
    fetched = (await client.get(f"/api/v1/actions/{action['id']}")).json()
    assert [m["title"] for m in fetched["milestones"]] == ["First", "Half way"]
    assert fetched["milestones"][1] == {k: milestone[k] for k in ("id", "title", "due_on", "status", "met_on")}


async def test_patch_replaces_links_and_is_versioned(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    url = f"/api/v1/actions/{w.action['id']}"
    response = await client.patch(
        url, json={"concern_ids": [w.concerns[1]["id"]], "title": "Renamed"}, headers={"If-Match": await etag(client, url)}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["concern_ids"] == [w.concerns[1]["id"]] and body["title"] == "Renamed" and body["version"] == 2
    listed = (await client.get("/api/v1/actions", params={"concern_id": w.concerns[1]["id"]})).json()["items"]
    assert [a["id"] for a in listed] == [w.action["id"]]
    assert (await client.get("/api/v1/actions", params={"concern_id": w.concerns[0]["id"]})).json()["items"] == []


async def test_derived_health_overdue_and_red(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    etag = (await client.get(f"/api/v1/plans/{w.plan['id']}")).headers["etag"]
    await client.patch(f"/api/v1/plans/{w.plan['id']}", json={"evidence_required_for_completion": False}, headers={"If-Match": etag})
    today = date.today()
    late = await make_action(client, w.plan, w.concerns[:1], status="in_progress", due_on=(today - timedelta(days=45)).isoformat())
    assert (late["rag"], late["is_overdue"], late["days_overdue"], late["is_slipping"]) == ("red", True, 45, False)
    done = await make_action(
        client, w.plan, w.concerns[:1], status="completed", completed_on=today.isoformat(), due_on=(today - timedelta(days=45)).isoformat()
    )
    assert (done["rag"], done["is_overdue"]) == ("blue", False)
    suspended = await make_action(client, w.plan, w.concerns[:1], status="suspended", due_on=(today - timedelta(days=45)).isoformat())
    assert (suspended["rag"], suspended["is_overdue"], suspended["days_overdue"]) == ("green", False, 0)
    overdue = (await client.get("/api/v1/actions", params={"overdue": "true"})).json()["items"]
    assert [a["id"] for a in overdue] == [late["id"]]
    not_overdue = {a["id"] for a in (await client.get("/api/v1/actions", params={"overdue": "false"})).json()["items"]}
    assert not_overdue == {w.action["id"], done["id"], suspended["id"]}
    before = (await client.get("/api/v1/actions", params={"due_before": today.isoformat()})).json()["items"]
    assert {a["id"] for a in before} == {late["id"], done["id"], suspended["id"]}


async def test_owner_who_left_shows_owner_active_false(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    person_url = f"/api/v1/people/{w.owner['id']}"
    await client.patch(
        person_url, json={"active": False, "left_on": date.today().isoformat()}, headers={"If-Match": await etag(client, person_url)}
    )
    action = (await client.get(f"/api/v1/actions/{w.action['id']}")).json()
    assert action["owner_active"] is False and action["owner"]["active"] is False
    response = await client.post(
        "/api/v1/actions",
        json={"plan_id": w.plan["id"], "ref": "7.1", "title": "x", "concern_ids": [w.concerns[0]["id"]], "owner_id": w.owner["id"]},
    )
    assert assert_problem(response, 422)["errors"][0]["pointer"] == "/owner_id"


async def test_owner_from_another_partnership_is_rejected(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    stranger = await make_person(client, await make_partnership(client))
    url = f"/api/v1/actions/{w.action['id']}"
    response = await client.patch(url, json={"owner_id": stranger["id"]}, headers={"If-Match": await etag(client, url)})
    assert assert_problem(response, 422)["errors"][0]["pointer"] == "/owner_id"
    assert (await client.get(url)).json()["owner_id"] == w.owner["id"]


async def test_progress_update_without_a_linked_person_must_name_its_author(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    url = f"/api/v1/actions/{w.action['id']}/progress-updates"
    missing = await client.post(url, json={"rag": "amber", "narrative": "Slower than hoped"})
    assert assert_problem(missing, 422)["errors"] == [{"pointer": "/author_id", "message": "required for callers without a linked person"}]
    response = await client.post(
        url, json={"author_id": w.owner["id"], "rag": "amber", "narrative": "Slower than hoped", "percent_complete": 40}
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"].endswith(f"/api/v1/progress-updates/{response.json()['id']}")


async def test_progress_update_author_defaults_to_the_callers_person(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    from app.models.enums import Role
    from tests.conftest import new_token

    w = await make_world(client)
    token = await new_token(db, Role.admin, partnership_id=uuid.UUID(w.partnership["id"]), person_id=uuid.UUID(w.owner["id"]))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {token}"}
    ) as linked:
        update = await post(
            linked, f"actions/{w.action['id']}/progress-updates", {"rag": "green", "narrative": "On track", "percent_complete": 20}
        )
    assert update["author_id"] == w.owner["id"] and update["action_id"] == w.action["id"]
    named = await post(
        client, "progress-updates", {"action_id": w.action["id"], "author_id": w.owner["id"], "rag": "red", "narrative": "Blocked"}
    )
    url = f"/api/v1/progress-updates/{named['id']}"
    assert_problem(await client.patch(url, json={"narrative": "edited"}, headers={"If-Match": await etag(client, url)}), 405)
    assert_problem(await client.delete(url, headers={"If-Match": await etag(client, url)}), 405)
    action = (await client.get(f"/api/v1/actions/{w.action['id']}")).json()
    assert action["reported_rag"] == "red"
    listed = (await client.get("/api/v1/progress-updates", params={"action_id": w.action["id"]})).json()["items"]
    assert [u["id"] for u in listed] == [update["id"], named["id"]]
    assert_problem(
        await client.post("/api/v1/actions/2b1c8e57-3b4a-4e0e-9a55-6f1d2c3b4a59/progress-updates", json={"rag": "red", "narrative": "x"}),
        404,
    )
    bad = await client.post(
        f"/api/v1/actions/{w.action['id']}/progress-updates", json={"rag": "purple", "narrative": "x", "percent_complete": 101}
    )
    assert {e["pointer"] for e in assert_problem(bad, 422)["errors"]} == {"/rag", "/percent_complete"}


async def test_delete_of_a_referenced_resource_is_409(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    url = f"/api/v1/concerns/{w.concerns[0]['id']}"
    assert_problem(await client.delete(url, headers={"If-Match": await etag(client, url)}), 409, "/problems/in-use")
    assert (await client.get(url)).status_code == 200
    action_url = f"/api/v1/actions/{w.action['id']}"
    assert (await client.delete(action_url, headers={"If-Match": await etag(client, action_url)})).status_code == 204
    assert (await client.delete(url, headers={"If-Match": await etag(client, url)})).status_code == 204


async def test_milestone_rules(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    bad = await client.post("/api/v1/milestones", json={"action_id": w.action["id"], "title": "x", "due_on": "2030-01-01", "status": "met"})
    assert_problem(bad, 422)
    m = await post(client, "milestones", {"action_id": w.action["id"], "title": "x", "due_on": "2030-01-01"})
    url = f"/api/v1/milestones/{m['id']}"
    ok = await client.patch(url, json={"status": "met", "met_on": "2029-12-20"}, headers={"If-Match": await etag(client, url)})
    assert ok.status_code == 200 and ok.json()["status"] == "met"
    assert (await client.get("/api/v1/milestones", params={"action_id": w.action["id"], "status": "met"})).json()["items"][0]["id"] == m[
        "id"
    ]


async def test_writes_are_audited(client: httpx.AsyncClient, db: Database) -> None:
    from sqlalchemy import select

    from app.models import AuditEvent

    w = await make_world(client)
    url = f"/api/v1/actions/{w.action['id']}"
    await client.patch(url, json={"title": "Renamed"}, headers={"If-Match": await etag(client, url), "X-Request-ID": "req-42"})
    async with unit_of_work(db) as session:
        events = (
            (await session.execute(select(AuditEvent).where(AuditEvent.entity_id == uuid.UUID(w.action["id"])).order_by(AuditEvent.seq)))
            .scalars()
            .all()
        )
    assert [e.action for e in events] == ["create", "update"]
    assert events[1].changes == {"title": [w.action["title"], "Renamed"]} and events[1].request_id == "req-42"
    assert events[0].changes["concern_ids"] == [None, [w.concerns[0]["id"]]]


async def test_timestamps_are_utc(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    for item in (w.partnership, w.plan, w.action):
        assert item["created_at"].endswith("Z") and "+" not in item["created_at"]
