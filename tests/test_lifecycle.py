"""Plan lifecycle and change control: transitions, submission guards, frozen baselines, reprogrammes."""

from datetime import date
from typing import Any

import httpx
import pytest

from tests.factories import make_action, make_concern, make_partnership, make_person, make_plan, post
from tests.test_conventions import assert_problem


async def patch(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> httpx.Response:
    etag = (await client.get(f"/api/v1/{path}")).headers["etag"]
    return await client.patch(f"/api/v1/{path}", json=body, headers={"If-Match": etag})


async def ready_plan(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    partnership = await make_partnership(client)
    owner = await make_person(client, partnership)
    plan = await make_plan(client, partnership)
    concern = await make_concern(client, plan, verbatim_text="Too many EHC plans are late.")
    action = await make_action(client, plan, [concern], owner_id=owner["id"], due_on="2027-03-31")
    return plan, concern, action


async def test_a_plan_moves_through_its_lifecycle_and_acceptance_freezes_baselines(client: httpx.AsyncClient) -> None:
    plan, _, action = await ready_plan(client)
    url = f"plans/{plan['id']}"
    submitted = await patch(client, url, {"status": "submitted"})
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["submitted_on"] is not None  # defaults to the partnership's today
    assert (await client.get(f"/api/v1/actions/{action['id']}")).json()["baseline_due_on"] is None
    accepted = await patch(client, url, {"status": "accepted", "accepted_on": "2026-12-01"})
    assert accepted.status_code == 200, accepted.text
    frozen = (await client.get(f"/api/v1/actions/{action['id']}")).json()
    assert frozen["baseline_due_on"] == "2027-03-31"
    assert frozen["version"] == action["version"] + 1
    audit = (await client.get("/api/v1/audit-events", params={"entity_id": action["id"]})).json()["items"]
    assert audit[-1]["changes"] == {"baseline_due_on": [None, "2027-03-31"]}
    assert (await patch(client, url, {"status": "in_delivery"})).status_code == 200
    assert (await patch(client, url, {"status": "closed"})).status_code == 200
    body = assert_problem(await patch(client, url, {"status": "in_delivery"}), 409, "/problems/illegal-transition")
    assert "finished" in body["detail"]


@pytest.mark.parametrize(
    ("path", "status"),
    [(["submitted", "returned", "submitted"], "in_delivery"), ([], "accepted"), ([], "closed"), (["submitted"], "draft")],
)
async def test_illegal_transitions_are_409_and_change_nothing(client: httpx.AsyncClient, path: list[str], status: str) -> None:
    plan, _, _ = await ready_plan(client)
    for step in path:
        assert (await patch(client, f"plans/{plan['id']}", {"status": step})).status_code == 200
    before = (await client.get(f"/api/v1/plans/{plan['id']}")).json()
    body = assert_problem(
        await patch(client, f"plans/{plan['id']}", {"status": status, "accepted_on": "2026-12-01"}), 409, "/problems/illegal-transition"
    )
    assert body["errors"][0]["pointer"] == "/status"
    assert (await client.get(f"/api/v1/plans/{plan['id']}")).json() == before


async def test_a_plan_is_created_as_a_draft(client: httpx.AsyncClient) -> None:
    partnership = await make_partnership(client)
    response = await client.post(
        "/api/v1/plans", json={"partnership_id": partnership["id"], "kind": "wsoa", "title": "WSoA", "status": "in_delivery"}
    )
    assert assert_problem(response, 422)["errors"][0]["pointer"] == "/status"


async def test_submission_needs_every_concern_answered_and_every_action_owned_and_dated(client: httpx.AsyncClient) -> None:
    partnership = await make_partnership(client)
    plan = await make_plan(client, partnership)
    url = f"plans/{plan['id']}"
    body = assert_problem(await patch(client, url, {"status": "submitted"}), 409, "/problems/plan-incomplete")
    assert body["errors"][0]["message"] == "the plan has no concerns"
    concern = await make_concern(client, plan, ref="W1")
    unanswered = await make_concern(client, plan, ref="W2")
    await make_action(client, plan, [concern], ref="1.1")
    body = assert_problem(await patch(client, url, {"status": "submitted"}), 409, "/problems/plan-incomplete")
    assert [e["message"] for e in body["errors"]] == ["concern W2 has no action", "action 1.1 needs an owner and a due date"]
    assert unanswered["ref"] == "W2"
    assert (await client.get(f"/api/v1/{url}")).json()["status"] == "draft"


async def test_acceptance_needs_accepted_on(client: httpx.AsyncClient) -> None:
    plan, _, _ = await ready_plan(client)
    await patch(client, f"plans/{plan['id']}", {"status": "submitted"})
    body = assert_problem(await patch(client, f"plans/{plan['id']}", {"status": "accepted"}), 422)
    assert body["errors"][0]["pointer"] == "/accepted_on"


async def test_after_acceptance_moving_a_due_date_is_a_recorded_reprogramme(client: httpx.AsyncClient) -> None:
    plan, _, action = await ready_plan(client)
    await patch(client, f"plans/{plan['id']}", {"status": "submitted"})
    await patch(client, f"plans/{plan['id']}", {"status": "accepted", "accepted_on": "2026-12-01"})
    url = f"actions/{action['id']}"
    body = assert_problem(await patch(client, url, {"due_on": "2027-06-30"}), 422, "/problems/reprogramme-reason-required")
    assert body["errors"][0]["pointer"] == "/reprogramme_reason"
    assert_problem(await patch(client, url, {"baseline_due_on": "2027-06-30"}), 409, "/problems/frozen-field")
    moved = await patch(client, url, {"due_on": "2027-06-30", "reprogramme_reason": "Psychology capacity arrives in April."})
    assert moved.status_code == 200, moved.text
    assert moved.json()["due_on"] == "2027-06-30"
    assert moved.json()["baseline_due_on"] == "2027-03-31"
    history = (await client.get(f"/api/v1/{url}/reprogrammes")).json()["items"]
    assert [(h["previous_due_on"], h["new_due_on"], h["baseline_due_on"], h["reason"]) for h in history] == [
        ("2027-03-31", "2027-06-30", "2027-03-31", "Psychology capacity arrives in April.")
    ]
    audit = (await client.get("/api/v1/audit-events", params={"entity_id": action["id"]})).json()["items"]
    assert audit[-1]["changes"] == {
        "due_on": ["2027-03-31", "2027-06-30"],
        "reprogramme_reason": [None, "Psychology capacity arrives in April."],
    }
    # Other fields change freely; a new action on the accepted plan is baselined at once.
    assert (await patch(client, url, {"forecast_on": "2027-07-31"})).status_code == 200
    concern_id = action["concern_ids"][0]
    added = await post(
        client, "actions", {"plan_id": plan["id"], "ref": "2.1", "title": "New", "concern_ids": [concern_id], "due_on": "2027-09-30"}
    )
    assert added["baseline_due_on"] == "2027-09-30"


async def test_before_acceptance_due_dates_move_freely_and_a_reason_is_refused(client: httpx.AsyncClient) -> None:
    _, _, action = await ready_plan(client)
    url = f"actions/{action['id']}"
    assert (await patch(client, url, {"due_on": "2027-05-31"})).status_code == 200
    assert_problem(await patch(client, url, {"due_on": "2027-06-30", "reprogramme_reason": "x"}), 422)
    assert (await client.get(f"/api/v1/{url}/reprogrammes")).json() == {"items": [], "next_cursor": None}
    assert_problem(await client.get(f"/api/v1/{url}/reprogrammes", params={"since": "2026-01-01"}), 422)


async def test_verbatim_text_is_immutable_once_submitted(client: httpx.AsyncClient) -> None:
    plan, concern, _ = await ready_plan(client)
    url = f"concerns/{concern['id']}"
    assert (await patch(client, url, {"verbatim_text": "Too many EHC plans are late (para 12)."})).status_code == 200
    await patch(client, f"plans/{plan['id']}", {"status": "submitted"})
    assert_problem(await patch(client, url, {"verbatim_text": "Softer words."}), 409, "/problems/frozen-field")
    assert (await patch(client, url, {"theme": "EHC timeliness"})).status_code == 200


@pytest.mark.parametrize(
    ("published", "due"),
    [
        # 70 working days; Christmas, Boxing Day and New Year's Day 2026/27 are not counted.
        ("2026-11-02", "2027-02-11"),
        # Easter 2025 (Good Friday 18 April, Easter Monday 21 April) and the May bank holidays are skipped.
        ("2025-03-03", "2025-06-13"),
    ],
)
async def test_submission_is_due_70_working_days_after_the_report(client: httpx.AsyncClient, published: str, due: str) -> None:
    partnership = await make_partnership(client)
    inspection = await post(
        client,
        "inspections",
        {"partnership_id": partnership["id"], "framework": "las_2016", "kind": "full", "report_published_on": published},
    )
    plan = await make_plan(client, partnership, inspection_id=inspection["id"])
    assert plan["submission_due_on"] == due
    other = await make_plan(client, partnership, inspection_id=inspection["id"], kind="improvement_plan", submission_due_on="2030-01-01")
    assert other["submission_due_on"] == "2030-01-01"  # no rule for this kind: the value given stands


def test_working_day_arithmetic_counts_weekdays_without_bank_holidays() -> None:
    from app.plans.calendar import add_working_days, is_working_day

    assert not is_working_day(date(2025, 12, 25)) and not is_working_day(date(2025, 8, 25)) and not is_working_day(date(2025, 8, 23))
    assert add_working_days(date(2025, 8, 22), 1) == date(2025, 8, 26)  # Friday → the Tuesday after the August bank holiday
    assert add_working_days(date(2023, 5, 5), 1) == date(2023, 5, 9)  # the coronation bank holiday, Monday 8 May 2023


async def test_acceptance_sets_every_baseline_and_a_client_cannot_choose_one(client: httpx.AsyncClient) -> None:
    plan, concern, action = await ready_plan(client)
    # Before acceptance a client may send a baseline; acceptance replaces it with the due date then.
    assert (await patch(client, f"actions/{action['id']}", {"baseline_due_on": "2027-09-30"})).status_code == 200
    await patch(client, f"plans/{plan['id']}", {"status": "submitted"})
    await patch(client, f"plans/{plan['id']}", {"status": "accepted", "accepted_on": "2026-12-01"})
    frozen = (await client.get(f"/api/v1/actions/{action['id']}")).json()
    assert frozen["baseline_due_on"] == frozen["due_on"] == "2027-03-31"
    audit = (await client.get("/api/v1/audit-events", params={"entity_id": action["id"]})).json()["items"]
    assert audit[-1]["changes"] == {"baseline_due_on": ["2027-09-30", "2027-03-31"]}
    # An action added later is baselined at its first due date: a different baseline is refused.
    body = {"plan_id": plan["id"], "ref": "9.9", "title": "Late addition", "concern_ids": [concern["id"]], "due_on": "2027-06-30"}
    refused = await client.post("/api/v1/actions", json=body | {"baseline_due_on": "2027-12-31"})
    assert assert_problem(refused, 409, "/problems/frozen-field")["errors"][0]["pointer"] == "/baseline_due_on"
    added = await client.post("/api/v1/actions", json=body)
    assert added.status_code == 201 and added.json()["baseline_due_on"] == "2027-06-30"
    # Without a due date it would never be baselined.
    undated = await client.post("/api/v1/actions", json={k: v for k, v in body.items() if k != "due_on"} | {"ref": "9.10"})
    assert assert_problem(undated, 422)["errors"][0]["pointer"] == "/due_on"


async def test_an_accepted_plans_action_is_cancelled_not_deleted(client: httpx.AsyncClient) -> None:
    plan, _, action = await ready_plan(client)
    await patch(client, f"plans/{plan['id']}", {"status": "submitted"})
    await patch(client, f"plans/{plan['id']}", {"status": "accepted", "accepted_on": "2026-12-01"})
    got = await client.get(f"/api/v1/actions/{action['id']}")
    gone = await client.delete(f"/api/v1/actions/{action['id']}", headers={"If-Match": got.headers["etag"]})
    assert assert_problem(gone, 409, "/problems/frozen-field")["errors"][0]["pointer"] == "/status"
    assert (await patch(client, f"actions/{action['id']}", {"status": "cancelled"})).status_code == 200


async def test_an_accepted_plans_milestone_is_marked_not_deleted(client: httpx.AsyncClient) -> None:
    plan, _, action = await ready_plan(client)
    body = {"action_id": action["id"], "title": "Coordinators in post", "due_on": "2027-01-29"}
    before = (await client.post("/api/v1/milestones", json=body)).json()
    after = (await client.post("/api/v1/milestones", json=body)).json()
    got = await client.get(f"/api/v1/milestones/{before['id']}")
    assert (await client.delete(f"/api/v1/milestones/{before['id']}", headers={"If-Match": got.headers["etag"]})).status_code == 204
    await patch(client, f"plans/{plan['id']}", {"status": "submitted"})
    await patch(client, f"plans/{plan['id']}", {"status": "accepted", "accepted_on": "2026-12-01"})
    got = await client.get(f"/api/v1/milestones/{after['id']}")
    gone = await client.delete(f"/api/v1/milestones/{after['id']}", headers={"If-Match": got.headers["etag"]})
    assert assert_problem(gone, 409, "/problems/frozen-field")["errors"][0]["pointer"] == "/status"
    assert (await patch(client, f"milestones/{after['id']}", {"status": "missed"})).status_code == 200
