"""Plan succession: the next plan carries the chosen open actions, measures and their history on, with links both ways,
and the old plan becomes read-only history."""

from datetime import timedelta
from typing import Any

import httpx

from app.core.db import Database
from app.models.enums import Role
from app.partnerships.service import today_in
from tests.factories import make_action, make_concern, make_partnership, make_person, make_plan, post
from tests.test_conventions import assert_problem
from tests.test_exports import export
from tests.test_roles import as_role


async def patch(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    etag = (await client.get(f"/api/v1/{path}")).headers["etag"]
    return await client.patch(f"/api/v1/{path}", json=body, headers={"If-Match": etag})


async def delivered_wsoa(client: httpx.AsyncClient) -> dict[str, Any]:
    """An accepted WSoA in delivery: two concerns, three actions (one completed), a measure with three months' history."""
    today = today_in("Europe/London")
    partnership = await make_partnership(client)
    owner, helper = await make_person(client, partnership), await make_person(client, partnership)
    plan = await make_plan(client, partnership, evidence_required_for_completion=False)
    first, second = await make_concern(client, plan, ref="W1"), await make_concern(client, plan, ref="W2")
    due = str(today + timedelta(days=120))
    open_one = await make_action(client, plan, [first], ref="1.1", owner_id=owner["id"], due_on=due, contributor_ids=[helper["id"]],
                                 status="in_progress")  # fmt: skip
    other = await make_action(client, plan, [second], ref="2.1", owner_id=owner["id"], due_on=due)
    done = await make_action(client, plan, [first, second], ref="1.2", owner_id=owner["id"], due_on=due)
    await post(client, "milestones", {"action_id": open_one["id"], "title": "Posts advertised", "due_on": str(today - timedelta(days=20)),
                                      "status": "met", "met_on": str(today - timedelta(days=21))})  # fmt: skip
    await post(client, "milestones", {"action_id": open_one["id"], "title": "All in post", "due_on": str(today + timedelta(days=60))})
    measure = await post(
        client, "measures",
        {"plan_id": plan["id"], "concern_ids": [first["id"]], "name": "EHC plans within 20 weeks", "unit": "percent",
         "direction": "higher_is_better", "baseline_value": 30, "baseline_on": str(today - timedelta(days=200)), "target_value": 90,
         "target_on": str(today + timedelta(days=300))},
    )  # fmt: skip
    for months, value in ((3, 34.0), (2, 41.0), (1, 47.5)):
        start = (today.replace(day=1) - timedelta(days=28 * months)).replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        await post(
            client, "observations", {"measure_id": measure["id"], "period_start_on": str(start), "period_end_on": str(end), "value": value}
        )
    for status, extra in (("submitted", {"submitted_on": str(today)}), ("accepted", {"accepted_on": str(today)}), ("in_delivery", {})):
        assert (await patch(client, f"plans/{plan['id']}", {"status": status, **extra})).status_code == 200
    completed = await patch(client, f"actions/{done['id']}", {"status": "completed", "completed_on": str(today)})
    assert completed.status_code == 200, completed.text
    await post(
        client,
        f"actions/{open_one['id']}/progress-updates",
        {"rag": "amber", "narrative": "Two of four in post.", "author_id": owner["id"]},
    )
    return {"partnership": partnership, "plan": plan, "concerns": [first, second], "open": open_one, "other": other, "done": done,
            "measure": measure, "owner": owner, "helper": helper}  # fmt: skip


async def items(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/{path}", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


async def test_the_successor_carries_the_chosen_work_and_the_old_plan_becomes_history(client: httpx.AsyncClient) -> None:
    w = await delivered_wsoa(client)
    old = w["plan"]
    body = {"kind": "accelerated_progress_plan", "title": "Accelerated Progress Plan", "action_ids": [w["open"]["id"]],
            "measure_ids": [w["measure"]["id"]]}  # fmt: skip
    response = await client.post(f"/api/v1/plans/{old['id']}/successor", json=body)
    assert response.status_code == 201, response.text
    new = response.json()
    assert response.headers["location"].endswith(f"/api/v1/plans/{new['id']}")
    assert (new["status"], new["kind"], new["predecessor_id"], new["successor_id"]) == (
        "draft",
        "accelerated_progress_plan",
        old["id"],
        None,
    )
    assert new["evidence_required_for_completion"] is False  # the old plan's settings carry on
    before = (await client.get(f"/api/v1/plans/{old['id']}")).json()
    assert (before["status"], before["successor_id"], before["predecessor_id"]) == ("superseded", new["id"], None)

    # The concerns the carried work answers, the open action with its people and pending milestone, the measure with its history.
    concerns = await items(client, "concerns", plan_id=new["id"])
    assert [(c["ref"], c["kind"], c["judgement"]) for c in concerns] == [("W1", "area_of_significant_weakness", "not_yet_assessed")]
    [carried] = await items(client, "actions", plan_id=new["id"])
    assert carried["carried_from_id"] == w["open"]["id"] and carried["ref"] == "1.1" and carried["status"] == "in_progress"
    assert (carried["owner_id"], carried["contributor_ids"], carried["due_on"]) == (
        w["owner"]["id"],
        [w["helper"]["id"]],
        w["open"]["due_on"],
    )
    assert (
        carried["concern_ids"] == [concerns[0]["id"]] and carried["baseline_due_on"] is None
    )  # the new plan's baseline comes at acceptance
    assert [m["title"] for m in await items(client, "milestones", action_id=carried["id"])] == ["All in post"]
    [measure] = await items(client, "measures", plan_id=new["id"])
    assert measure["carried_from_id"] == w["measure"]["id"] and measure["concern_ids"] == [concerns[0]["id"]]
    old_history = [(o["period_start_on"], o["value"]) for o in await items(client, "observations", measure_id=w["measure"]["id"])]
    new_history = [(o["period_start_on"], o["value"]) for o in await items(client, "observations", measure_id=measure["id"])]
    assert sorted(new_history) == sorted(old_history) and len(new_history) == 3
    assert measure["latest_value"] == 47.5
    # The old plan's action keeps its own history where it was written.
    assert len(await items(client, "progress-updates", action_id=w["open"]["id"])) == 1
    assert await items(client, "progress-updates", action_id=carried["id"]) == []

    # Read-only history: no write reaches the old plan or anything in it; reading and packs still work.
    for response in (
        await patch(client, f"actions/{w['open']['id']}", {"title": "Renamed"}),
        await patch(client, f"plans/{old['id']}", {"title": "Renamed"}),
        await client.post(
            f"/api/v1/actions/{w['other']['id']}/progress-updates", json={"rag": "green", "narrative": "x", "author_id": w["owner"]["id"]}
        ),
        await client.post(
            "/api/v1/concerns", json={"plan_id": old["id"], "ref": "W9", "kind": "area_of_significant_weakness", "title": "x"}
        ),
        await client.post(
            "/api/v1/observations",
            json={"measure_id": w["measure"]["id"], "period_start_on": "2020-01-01", "period_end_on": "2020-01-31", "value": 1},
        ),
    ):
        problem = assert_problem(response, 409, "/problems/plan-superseded")
        assert new["id"] in problem["detail"]
    milestone = (await items(client, "milestones", action_id=w["open"]["id"]))[0]
    assert_problem(await patch(client, f"milestones/{milestone['id']}", {"title": "x"}), 409, "/problems/plan-superseded")
    assert (await export(client, old["id"], format="json"))["status"] in ("ready", "pending")
    # The successor takes writes as any draft does.
    assert (await patch(client, f"actions/{carried['id']}", {"title": "Renamed"})).status_code == 200


async def test_succession_refuses_what_cannot_carry_on_and_changes_nothing(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    w = await delivered_wsoa(client)
    url = f"/api/v1/plans/{w['plan']['id']}/successor"
    base = {"kind": "accelerated_progress_plan", "title": "Next"}
    stranger = await make_plan(client, await make_partnership(client))
    elsewhere = await make_action(client, stranger, [await make_concern(client, stranger)])
    completed = await client.post(url, json={**base, "action_ids": [w["open"]["id"], w["done"]["id"]]})
    assert assert_problem(completed, 422)["errors"][0]["pointer"] == "/action_ids/1"
    foreign = await client.post(url, json={**base, "action_ids": [elsewhere["id"]]})
    assert assert_problem(foreign, 422)["errors"][0]["pointer"] == "/action_ids/0"
    assert_problem(await client.post(url, json={**base, "action_ids": [w["open"]["id"]] * 2}), 422)
    # A 2023 plan cannot hold a 2016 report's areas of significant weakness as they are.
    wrong_kind = await client.post(url, json={**base, "kind": "priority_action_plan", "action_ids": [w["open"]["id"]]})
    assert assert_problem(wrong_kind, 422, "/problems/framework-mismatch")["errors"][0]["pointer"] == "/concern_kind"
    into_improvement = {
        "kind": "improvement_plan",
        "title": "Local improvement plan",
        "inspection_id": None,
        "action_ids": [w["open"]["id"]],
    }
    kind = await client.post(url, json=into_improvement)
    assert assert_problem(kind, 422, "/problems/framework-mismatch")["errors"][0]["pointer"] == "/concern_kind"
    assert_problem(await client.post(url, json={**base, "colour": "red"}), 422)
    async with as_role(app, db, Role.contributor, w["partnership"], w["owner"]) as contributor:
        assert_problem(await contributor.post(url, json=base), 403)
    async with as_role(app, db, Role.lead, w["partnership"]) as lead:
        assert_problem(await lead.post(f"/api/v1/plans/{stranger['id']}/successor", json=base), 404)
    # Nothing of the refused requests was kept.
    assert (await client.get(f"/api/v1/plans/{w['plan']['id']}")).json()["status"] == "in_delivery"
    assert [p["id"] for p in await items(client, "plans", partnership_id=w["partnership"]["id"])] == [w["plan"]["id"]]

    made = await client.post(url, json={**into_improvement, "concern_kind": "recommendation"})
    assert made.status_code == 201, made.text
    assert [c["kind"] for c in await items(client, "concerns", plan_id=made.json()["id"])] == ["recommendation"]
    assert_problem(await client.post(url, json=base), 409, "/problems/already-succeeded")
    submitted = await make_plan(client, w["partnership"])
    concern = await make_concern(client, submitted)
    await make_action(client, submitted, [concern], owner_id=w["owner"]["id"], due_on=w["open"]["due_on"])
    moved = await patch(client, f"plans/{submitted['id']}", {"status": "submitted", "submitted_on": str(today_in("Europe/London"))})
    assert moved.status_code == 200, moved.text
    assert_problem(await client.post(f"/api/v1/plans/{submitted['id']}/successor", json=base), 409, "/problems/illegal-transition")
