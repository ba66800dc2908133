"""Governance: the bodies that hold the plan to account, their meetings (and the external reviews of the plan),
decisions and meeting actions, which show up in their owner's work and as alerts when late."""

import uuid
from datetime import timedelta
from typing import Any

import httpx

from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_concern, make_person, make_plan, post
from tests.test_conventions import assert_problem
from tests.test_evidence import client_for
from tests.test_lifecycle import patch
from tests.test_reporting import TODAY, accepted_plan


async def test_a_delivery_group_meets_decides_and_follows_its_actions_up(app: Any, client: httpx.AsyncClient, db: Any) -> None:
    plan, actions = await accepted_plan(client)
    partnership = {"id": plan["partnership_id"]}
    chair = await make_person(client, partnership, display_name="Cllr Ann Lee")
    forum = await make_person(client, partnership, display_name="Sam Patel")
    owner_id = actions[0]["owner_id"]
    members = [
        {"person_id": chair["id"], "representing": "elected_member", "role": "Chair"},
        {"person_id": forum["id"], "representing": "parent_carer_forum"},
    ]
    board_body = {
        "partnership_id": plan["partnership_id"],
        "name": "SEND Delivery Group",
        "kind": "delivery_group",
        "chair_id": chair["id"],
    }

    # Bad input changes nothing: a member who is nobody of ours, a board meeting without its board.
    stranger = await make_person(client, {"id": (await post(client, "partnerships", {"name": "Elsewhere", "la_code": "999"}))["id"]})
    wrong = await client.post(
        "/api/v1/boards", json={**board_body, "members": [*members, {"person_id": stranger["id"], "representing": "health"}]}
    )
    assert assert_problem(wrong, 422)["errors"][0]["pointer"] == "/members/2/person_id"
    board = await post(client, "boards", {**board_body, "members": members})
    assert_problem(await client.post("/api/v1/boards", json=board_body), 409)  # the name again
    assert_problem(await patch(client, f"boards/{board['id']}", {"parent_id": board["id"]}), 422)
    assert_problem(await client.post("/api/v1/meetings", json={"plan_id": plan["id"], "title": "DG", "held_on": str(TODAY)}), 422)
    guest_and_person = {"person_id": forum["id"], "name": "Sam", "representing": "parent_carer_forum"}
    assert_problem(
        await client.post(
            "/api/v1/meetings", json={"board_id": board["id"], "title": "DG", "held_on": str(TODAY), "attendees": [guest_and_person]}
        ),
        422,
    )

    minutes = await post(client, "evidence", {"title": "Delivery Group papers", "kind": "minutes", "action_id": actions[0]["id"]})
    held = TODAY - timedelta(days=21)
    meeting = await post(
        client,
        "meetings",
        {
            "board_id": board["id"],
            "plan_id": plan["id"],
            "title": "SEND Delivery Group",
            "held_on": str(held),
            "status": "held",
            "attendees": [{"person_id": chair["id"], "representing": "elected_member", "role": "Chair"}],
            "apologies": [{"person_id": forum["id"], "representing": "parent_carer_forum"}],
            "paper_ids": [minutes["id"]],
        },
    )
    assert (meeting["partnership_id"], meeting["kind"], meeting["evidence_due_on"]) == (plan["partnership_id"], "board", None)
    assert meeting["parent_carer_forum_present"] is False and meeting["paper_ids"] == [minutes["id"]]
    changed = await patch(
        client,
        f"meetings/{meeting['id']}",
        {"attendees": [*meeting["attendees"], {"person_id": forum["id"], "representing": "parent_carer_forum"}]},
    )
    assert changed.json()["parent_carer_forum_present"] is True and changed.json()["paper_ids"] == [minutes["id"]]

    moved = await patch(client, f"actions/{actions[1]['id']}", {"due_on": "2027-06-30", "reprogramme_reason": "EP recruitment failed."})
    [move] = (await client.get(f"/api/v1/actions/{actions[1]['id']}/reprogrammes")).json()["items"]
    assert moved.status_code == 200
    decision = await post(
        client,
        "decisions",
        {
            "meeting_id": meeting["id"],
            "text": "Approved the move of 1.2.",
            "action_ids": [actions[1]["id"]],
            "reprogramme_ids": [move["id"]],
        },
    )
    assert decision["partnership_id"] == plan["partnership_id"] and decision["reprogramme_ids"] == [move["id"]]
    due = await post(client, "decisions", {"meeting_id": meeting["id"], "text": "Agree the EP options paper.", "status": "proposed"})
    found = (await client.get("/api/v1/decisions", params={"action_id": actions[1]["id"]})).json()["items"]
    assert [d["id"] for d in found] == [decision["id"]]
    proposed = (await client.get("/api/v1/decisions", params={"meeting_id": meeting["id"], "status": "proposed"})).json()["items"]
    assert [d["id"] for d in proposed] == [due["id"]]

    # A meeting action: in its owner's work; late, an alert on the plan and `is_overdue`; its owner marks it done.
    late = await post(
        client,
        "meeting-actions",
        {
            "meeting_id": meeting["id"],
            "title": "Bring the EP options paper",
            "owner_id": owner_id,
            "due_on": str(TODAY - timedelta(days=7)),
        },
    )
    other = await post(
        client,
        "meeting-actions",
        {"meeting_id": meeting["id"], "title": "Write to schools", "owner_id": chair["id"], "due_on": str(TODAY + timedelta(days=7))},
    )
    assert (late["is_overdue"], other["is_overdue"], late["partnership_id"]) == (True, False, plan["partnership_id"])
    [alert] = [a for a in (await client.get(f"/api/v1/plans/{plan['id']}/alerts")).json()["items"] if a["kind"] == "meeting_action_overdue"]
    assert (alert["meeting_action_id"], alert["owner_id"], alert["title"], alert["severity"]) == (
        late["id"],
        owner_id,
        "Bring the EP options paper",
        "medium",
    )
    token = await new_token(db, Role.contributor, partnership_id=uuid.UUID(plan["partnership_id"]), person_id=uuid.UUID(owner_id))
    async with client_for(app, token) as contributor:
        [mine] = (await contributor.get("/api/v1/me/meeting-actions")).json()["items"]
        assert (mine["id"], mine["is_overdue"], mine["meeting_title"], mine["held_on"]) == (
            late["id"],
            True,
            "SEND Delivery Group",
            str(held),
        )
        etag = (await contributor.get(f"/api/v1/meeting-actions/{other['id']}")).headers["etag"]
        assert_problem(
            await contributor.patch(f"/api/v1/meeting-actions/{other['id']}", json={"status": "done"}, headers={"If-Match": etag}), 403
        )
        etag = (await contributor.get(f"/api/v1/meeting-actions/{late['id']}")).headers["etag"]
        assert_problem(
            await contributor.patch(f"/api/v1/meeting-actions/{late['id']}", json={"title": "x"}, headers={"If-Match": etag}), 403
        )
        done = await contributor.patch(f"/api/v1/meeting-actions/{late['id']}", json={"status": "done"}, headers={"If-Match": etag})
        assert done.status_code == 200 and done.json()["completed_on"] == str(TODAY) and done.json()["is_overdue"] is False
        assert (await contributor.get("/api/v1/me/meeting-actions")).json()["items"] == []
        assert_problem(await contributor.post("/api/v1/decisions", json={"meeting_id": meeting["id"], "text": "x"}), 403)
    assert not [
        a for a in (await client.get(f"/api/v1/plans/{plan['id']}/alerts")).json()["items"] if a["kind"] == "meeting_action_overdue"
    ]


async def test_an_external_review_has_its_evidence_deadline_feedback_and_outcome_per_concern(client: httpx.AsyncClient) -> None:
    plan, _ = await accepted_plan(client)
    [concern] = (await client.get("/api/v1/concerns", params={"plan_id": plan["id"]})).json()["items"]
    elsewhere = await make_concern(client, await make_plan(client, {"id": plan["partnership_id"]}))
    review = {
        "plan_id": plan["id"],
        "kind": "dfe_nhse_review",
        "title": "Fifth DfE and NHS England review meeting",
        "held_on": "2027-02-24",
    }
    assert_problem(await client.post("/api/v1/meetings", json={**review, "plan_id": None}), 422)
    assert_problem(await client.post("/api/v1/meetings", json={**review, "evidence_due_on": "2027-02-25"}), 422)
    outcome = {"concern_id": elsewhere["id"], "outcome": "sufficient_progress"}
    wrong = await client.post("/api/v1/meetings", json={**review, "concern_outcomes": [outcome]})
    assert assert_problem(wrong, 422)["errors"][0]["pointer"] == "/concern_outcomes/0/concern_id"

    meeting = await post(client, "meetings", {**review, "attendees": [{"name": "DfE SEND adviser", "representing": "dfe"}]})
    assert meeting["evidence_due_on"] == "2027-02-10" and meeting["board_id"] is None  # 14 days before
    moved = await patch(client, f"meetings/{meeting['id']}", {"held_on": "2027-03-03"})
    assert moved.json()["evidence_due_on"] == "2027-02-17"  # the deadline moves with the meeting
    judged = await patch(
        client,
        f"meetings/{meeting['id']}",
        {
            "status": "held",
            "feedback": "Sufficient progress on timeliness.",
            "feedback_received_on": "2027-03-17",
            "concern_outcomes": [{"concern_id": concern["id"], "outcome": "sufficient_progress", "monitoring_ended": True}],
        },
    )
    assert judged.status_code == 200, judged.text
    assert judged.json()["concern_outcomes"] == [
        {"concern_id": concern["id"], "outcome": "sufficient_progress", "monitoring_ended": True, "note": None}
    ]
    assert judged.json()["attendees"] == [{"person_id": None, "name": "DfE SEND adviser", "representing": "dfe", "role": None}]
    listed = (await client.get("/api/v1/meetings", params={"plan_id": plan["id"], "kind": "dfe_nhse_review", "sort": "held_on"})).json()[
        "items"
    ]
    assert [m["id"] for m in listed] == [meeting["id"]]
