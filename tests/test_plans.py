"""The plan's collections end to end: links, derived health, append-only updates, references."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.core.db import Database
from app.core.uow import unit_of_work
from app.partnerships.service import today_in
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
        due_on=(today_in("Europe/London") + timedelta(days=10)).isoformat(),
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
    today = today_in("Europe/London")
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
        person_url,
        json={"active": False, "left_on": today_in("Europe/London").isoformat()},
        headers={"If-Match": await etag(client, person_url)},
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


# Plan kind, concern kinds and inspection framework ---------------------------------------------

MISMATCH = "/problems/framework-mismatch"
CONCERN_KINDS = ("area_of_significant_weakness", "area_for_priority_action", "area_for_improvement", "recommendation")


async def inspection_of(client: httpx.AsyncClient, partnership: dict[str, Any], framework: str, kind: str = "full") -> dict[str, Any]:
    return await post(client, "inspections", {"partnership_id": partnership["id"], "framework": framework, "kind": kind})


async def patch_json(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> httpx.Response:
    return await client.patch(url, json=body, headers={"If-Match": await etag(client, url)})


@pytest.mark.parametrize(
    ("plan_kind", "framework", "allowed"),
    [
        ("wsoa", "las_2016", True),
        ("wsoa", "area_send_2023", False),
        ("accelerated_progress_plan", "las_2016", True),
        ("accelerated_progress_plan", "area_send_2023", False),
        ("priority_action_plan", "area_send_2023", True),
        ("priority_action_plan", "las_2016", False),
        ("improvement_plan", "las_2016", True),
        ("improvement_plan", "area_send_2023", True),
    ],
)
async def test_a_plans_kind_must_fit_its_inspections_framework(
    client: httpx.AsyncClient, plan_kind: str, framework: str, allowed: bool
) -> None:
    p = await make_partnership(client)
    inspection = await inspection_of(client, p, framework, "revisit" if plan_kind == "accelerated_progress_plan" else "full")
    body = {"partnership_id": p["id"], "inspection_id": inspection["id"], "kind": plan_kind, "title": "Plan"}
    response = await client.post("/api/v1/plans", json=body)
    if allowed:
        assert response.status_code == 201, response.text
        return
    problem = assert_problem(response, 422, MISMATCH)
    assert [e["pointer"] for e in problem["errors"]] == ["/kind"]
    assert plan_kind in problem["errors"][0]["message"] and framework in problem["errors"][0]["message"]
    assert (await client.get("/api/v1/plans", params={"partnership_id": p["id"]})).json()["items"] == []


# Which concern kinds a plan may hold, by its kind and its inspection's framework (None: no inspection).
CONCERNS_ALLOWED = {
    ("wsoa", None): {"area_of_significant_weakness", "recommendation"},
    ("wsoa", "las_2016"): {"area_of_significant_weakness", "recommendation"},
    ("accelerated_progress_plan", "las_2016"): {"area_of_significant_weakness", "recommendation"},
    ("priority_action_plan", None): {"area_for_priority_action", "area_for_improvement", "recommendation"},
    ("priority_action_plan", "area_send_2023"): {"area_for_priority_action", "area_for_improvement", "recommendation"},
    ("improvement_plan", None): {"recommendation"},
    ("improvement_plan", "las_2016"): {"area_of_significant_weakness", "recommendation"},
    ("improvement_plan", "area_send_2023"): {"area_for_priority_action", "area_for_improvement", "recommendation"},
}


@pytest.mark.parametrize(("plan_kind", "framework"), list(CONCERNS_ALLOWED))
async def test_concern_kinds_follow_the_framework_the_plan_answers(
    client: httpx.AsyncClient, plan_kind: str, framework: str | None
) -> None:
    p = await make_partnership(client)
    inspection = await inspection_of(client, p, framework) if framework else None
    plan = await make_plan(client, p, kind=plan_kind, inspection_id=inspection["id"] if inspection else None)
    for n, kind in enumerate(CONCERN_KINDS):
        response = await client.post("/api/v1/concerns", json={"plan_id": plan["id"], "ref": f"C{n}", "kind": kind, "title": "Finding"})
        if kind in CONCERNS_ALLOWED[(plan_kind, framework)]:
            assert response.status_code == 201, (kind, response.text)
        else:
            problem = assert_problem(response, 422, MISMATCH)
            assert [e["pointer"] for e in problem["errors"]] == ["/kind"], kind
    stored = (await client.get("/api/v1/concerns", params={"plan_id": plan["id"]})).json()["items"]
    assert {c["kind"] for c in stored} == CONCERNS_ALLOWED[(plan_kind, framework)]


async def test_changing_a_plans_kind_or_inspection_must_keep_its_concerns_answerable(client: httpx.AsyncClient, db: Database) -> None:
    p = await make_partnership(client)
    las, area = await inspection_of(client, p, "las_2016"), await inspection_of(client, p, "area_send_2023")
    plan = await make_plan(client, p)  # a WSoA not yet tied to its inspection
    await make_concern(client, plan, ref="W1")
    url = f"/api/v1/plans/{plan['id']}"
    before = (await client.get(url)).json()
    problem = assert_problem(await patch_json(client, url, {"kind": "priority_action_plan"}), 422, MISMATCH)
    assert problem["errors"] == [
        {
            "pointer": "/kind",
            "message": "concern W1 (area_of_significant_weakness) belongs only to a plan answering an inspection of the "
            "las_2016 framework; the plan answers area_send_2023",
        }
    ]
    problem = assert_problem(await patch_json(client, url, {"inspection_id": area["id"]}), 422, MISMATCH)
    assert [e["pointer"] for e in problem["errors"]] == ["/inspection_id", "/inspection_id"]
    assert "a plan of kind wsoa answers an inspection of the las_2016 framework" in problem["errors"][0]["message"]
    assert "concern W1" in problem["errors"][1]["message"]
    assert (await client.get(url)).json() == before  # nothing changed
    events = (await client.get("/api/v1/audit-events", params={"entity_id": plan["id"]})).json()["items"]
    assert [e["action"] for e in events] == ["create"]

    assert (await patch_json(client, url, {"inspection_id": las["id"]})).status_code == 200
    assert (await patch_json(client, url, {"kind": "improvement_plan"})).status_code == 200  # on a las_2016 inspection
    problem = assert_problem(await patch_json(client, url, {"inspection_id": None}), 422, MISMATCH)
    assert problem["errors"][0]["pointer"] == "/inspection_id" and problem["errors"][0]["message"].endswith("no inspection framework")
    # Changing other fields of a plan is not held up by the rule.
    assert (await patch_json(client, url, {"title": "Local area improvement plan"})).status_code == 200


async def test_changing_a_concerns_kind_must_fit_its_plan(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    plan = await make_plan(client, p, kind="priority_action_plan", inspection_id=(await inspection_of(client, p, "area_send_2023"))["id"])
    concern = await make_concern(client, plan, ref="APA-1")
    assert concern["kind"] == "area_for_priority_action"
    url = f"/api/v1/concerns/{concern['id']}"
    problem = assert_problem(await patch_json(client, url, {"kind": "area_of_significant_weakness"}), 422, MISMATCH)
    assert [e["pointer"] for e in problem["errors"]] == ["/kind"]
    assert (await client.get(url)).json()["kind"] == "area_for_priority_action"
    assert (await patch_json(client, url, {"kind": "area_for_improvement"})).json()["kind"] == "area_for_improvement"
    assert (await patch_json(client, url, {"kind": "recommendation"})).json()["kind"] == "recommendation"


async def test_an_inspections_framework_changes_only_while_its_plans_agree(client: httpx.AsyncClient) -> None:
    p = await make_partnership(client)
    inspection = await inspection_of(client, p, "las_2016")
    url = f"/api/v1/inspections/{inspection['id']}"
    assert (await patch_json(client, url, {"framework": "area_send_2023"})).status_code == 200  # no plan answers it yet
    assert (await patch_json(client, url, {"framework": "las_2016"})).status_code == 200
    plan = await make_plan(client, p, inspection_id=inspection["id"], title="WSoA 2019")
    await make_concern(client, plan, ref="W1")
    problem = assert_problem(await patch_json(client, url, {"framework": "area_send_2023"}), 422, MISMATCH)
    assert [e["pointer"] for e in problem["errors"]] == ["/framework", "/framework"]
    assert problem["errors"][0]["message"].startswith("plan 'WSoA 2019': a plan of kind wsoa")
    assert problem["errors"][1]["message"].startswith("plan 'WSoA 2019': concern W1 (area_of_significant_weakness)")
    assert (await client.get(url)).json()["framework"] == "las_2016"


async def test_another_partnerships_inspection_is_refused_without_revealing_its_framework(client: httpx.AsyncClient) -> None:
    a, b = await make_partnership(client), await make_partnership(client)
    theirs = await inspection_of(client, b, "area_send_2023")
    body = {"partnership_id": a["id"], "kind": "wsoa", "title": "T", "inspection_id": theirs["id"]}
    problem = assert_problem(await client.post("/api/v1/plans", json=body), 422, "/problems/validation")
    assert problem["errors"] == [{"pointer": "/inspection_id", "message": "no inspection with this id in the partnership"}]
