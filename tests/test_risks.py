"""The risk register: scored risks, every re-rating kept, mitigations, and the alerts a neglected risk raises."""

import uuid
from datetime import timedelta
from typing import Any

import httpx

from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import post
from tests.test_conventions import assert_problem
from tests.test_evidence import client_for
from tests.test_lifecycle import patch
from tests.test_reporting import TODAY, accepted_plan


def risk_body(plan: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"plan_id": plan["id"], "ref": "R1", "title": "Educational psychology capacity", "likelihood": 4, "impact": 4, **fields}


async def test_a_risk_is_scored_re_rated_and_its_trend_kept(app: Any, client: httpx.AsyncClient, db: Any) -> None:
    plan, actions = await accepted_plan(client)
    [concern] = (await client.get("/api/v1/concerns", params={"plan_id": plan["id"]})).json()["items"]
    owner = actions[0]["owner_id"]
    # Bad input changes nothing: a rating out of range, an action of no plan of ours, a mitigation's unknown action.
    assert_problem(await client.post("/api/v1/risks", json=risk_body(plan, likelihood=6)), 422)
    stranger = str(uuid.uuid4())
    assert_problem(await client.post("/api/v1/risks", json=risk_body(plan, action_ids=[stranger])), 422)
    wrong = await client.post("/api/v1/risks", json=risk_body(plan, mitigations=[{"text": "Locum EPs", "action_id": stranger}]))
    assert assert_problem(wrong, 422)["errors"][0]["pointer"] == "/mitigations/0/action_id"
    assert (await client.get("/api/v1/risks", params={"plan_id": plan["id"]})).json()["items"] == []

    risk = await post(
        client,
        "risks",
        risk_body(
            plan,
            owner_id=owner,
            target_score=8,
            action_ids=[actions[0]["id"]],
            concern_ids=[concern["id"]],
            mitigations=[
                {"text": "Locum EPs", "status": "planned", "action_id": actions[0]["id"], "due_on": str(TODAY + timedelta(days=60))}
            ],
            review_on=str(TODAY + timedelta(days=30)),
        ),
    )
    assert (risk["score"], risk["above_target"], risk["last_reviewed_on"]) == (16, True, str(TODAY))
    assert risk["mitigations"][0]["action_id"] == actions[0]["id"] and risk["mitigations"][0]["due_on"] == str(TODAY + timedelta(days=60))
    assert_problem(await client.post("/api/v1/risks", json=risk_body(plan)), 409)  # R1 again
    # Above its target with no mitigation in progress: an alert, naming the risk and its owner.
    alerts = (await client.get(f"/api/v1/plans/{plan['id']}/alerts")).json()["items"]
    [unmitigated] = [a for a in alerts if a["kind"] == "risk_unmitigated"]
    assert (unmitigated["risk_id"], unmitigated["ref"], unmitigated["owner_id"], unmitigated["severity"]) == (
        risk["id"],
        "R1",
        owner,
        "high",
    )

    started = await patch(client, f"risks/{risk['id']}", {"mitigations": [{**risk["mitigations"][0], "status": "in_progress"}]})
    assert started.status_code == 200, started.text
    assert not [a for a in (await client.get(f"/api/v1/plans/{plan['id']}/alerts")).json()["items"] if a["kind"] == "risk_unmitigated"]
    rerated = await patch(client, f"risks/{risk['id']}", {"likelihood": 2})
    assert (rerated.json()["score"], rerated.json()["impact"], rerated.json()["above_target"]) == (8, 4, False)
    ratings = (await client.get(f"/api/v1/risks/{risk['id']}/ratings")).json()["items"]
    assert [(r["likelihood"], r["impact"], r["score"]) for r in ratings] == [(4, 4, 16), (2, 4, 8)]
    assert_problem(await client.get(f"/api/v1/risks/{risk['id']}/ratings", params={"x": 1}), 422)
    assert_problem(await client.get(f"/api/v1/risks/{uuid.uuid4()}/ratings"), 404)

    # Past its review date: an alert until someone reviews it.
    await patch(client, f"risks/{risk['id']}", {"review_on": str(TODAY - timedelta(days=1))})
    [late] = [a for a in (await client.get(f"/api/v1/plans/{plan['id']}/alerts")).json()["items"] if a["kind"] == "risk_review_overdue"]
    assert late["risk_id"] == risk["id"] and late["severity"] == "medium"
    await patch(client, f"risks/{risk['id']}", {"status": "closed"})
    assert not [a for a in (await client.get(f"/api/v1/plans/{plan['id']}/alerts")).json()["items"] if a["risk_id"]]

    token = await new_token(db, Role.contributor, partnership_id=uuid.UUID(plan["partnership_id"]), person_id=uuid.UUID(owner))
    async with client_for(app, token) as contributor:
        assert_problem(await contributor.post("/api/v1/risks", json=risk_body(plan, ref="R2")), 403)
        mine = (await contributor.get("/api/v1/risks", params={"owner_id": "me"})).json()["items"]
        assert [r["id"] for r in mine] == [risk["id"]]
    # Closed, never deleted: its ratings are the register's history. Text with control characters still makes a workbook.
    etag = (await client.get(f"/api/v1/risks/{risk['id']}")).headers["etag"]
    assert_problem(await client.delete(f"/api/v1/risks/{risk['id']}", headers={"If-Match": etag}), 405)
    repeated = await client.post("/api/v1/risks", json=risk_body(plan, ref="R3", action_ids=[actions[0]["id"]] * 2))
    assert assert_problem(repeated, 422)["errors"][0]["pointer"] == "/action_ids"
    await post(client, "risks", risk_body(plan, ref="R2", title="Bell\u0007 in the title"))
    book = await client.post(f"/api/v1/plans/{plan['id']}/exports", json={"format": "xlsx", "audience": "board"})
    assert book.status_code == 201 and book.json()["status"] == "ready", book.text
    audit = (await client.get("/api/v1/audit-events", params={"entity_id": risk["id"]})).json()["items"]
    assert [e["action"] for e in audit][:2] == ["create", "update"]
