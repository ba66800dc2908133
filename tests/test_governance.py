"""Governance: the bodies that hold the plan to account, their meetings (and the external reviews of the plan),
decisions and meeting actions, which show up in their owner's work and as alerts when late."""

import uuid
from datetime import date, timedelta
from typing import Any

import httpx

from app.governance.service import evidence_deadline
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_concern, make_partnership, make_person, make_plan, post
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
    came = [*meeting["attendees"], {"person_id": forum["id"], "representing": "parent_carer_forum"}]
    both = await patch(client, f"meetings/{meeting['id']}", {"attendees": came})
    assert assert_problem(both, 422)["errors"][0]["message"].endswith("as an attendee or with apologies")  # still in apologies
    changed = await patch(client, f"meetings/{meeting['id']}", {"attendees": came, "apologies": []})
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
    coming = await post(client, "meetings", {"board_id": board["id"], "title": "Next DG", "held_on": str(TODAY + timedelta(days=28))})
    early = await client.post("/api/v1/decisions", json={"meeting_id": coming["id"], "text": "Agreed in advance?"})
    assert assert_problem(early, 409)["errors"][0]["pointer"] == "/status"  # decided only once the meeting is held
    before = {"meeting_id": coming["id"], "title": "Too early", "due_on": str(TODAY)}
    assert assert_problem(await client.post("/api/v1/meeting-actions", json=before), 422)["errors"][0]["pointer"] == "/due_on"
    sub = await post(
        client,
        "boards",
        {"partnership_id": plan["partnership_id"], "name": "Workstream 1", "kind": "workstream_group", "parent_id": board["id"]},
    )
    assert_problem(await patch(client, f"boards/{board['id']}", {"parent_id": sub["id"]}), 422)  # no loops
    other_plan = await make_plan(client, partnership)
    elsewhere = await make_concern(client, other_plan)
    crossed = await client.post("/api/v1/decisions", json={"meeting_id": meeting["id"], "text": "x", "concern_ids": [elsewhere["id"]]})
    assert assert_problem(crossed, 422)["errors"][0]["pointer"] == "/concern_ids/0"  # the meeting is about another plan
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
    # Booked for a Monday 14 days after a bank holiday Monday: its evidence falls due the working day before that.
    review = {
        "plan_id": plan["id"],
        "kind": "dfe_nhse_review",
        "title": "Fifth DfE and NHS England review meeting",
        "held_on": "2027-01-11",
    }
    assert_problem(await client.post("/api/v1/meetings", json={**review, "plan_id": None}), 422)
    assert_problem(await client.post("/api/v1/meetings", json={**review, "evidence_due_on": "2027-01-12"}), 422)
    outcome = {"concern_id": elsewhere["id"], "outcome": "sufficient_progress"}
    assert_problem(await client.post("/api/v1/meetings", json={**review, "concern_outcomes": [outcome]}), 422)  # not held yet
    assert_problem(await client.post("/api/v1/meetings", json={**review, "status": "held"}), 422)  # it has not happened yet
    past = {**review, "held_on": str(TODAY - timedelta(days=20)), "status": "held"}
    wrong = await client.post("/api/v1/meetings", json={**past, "concern_outcomes": [outcome]})
    assert assert_problem(wrong, 422)["errors"][0]["pointer"] == "/concern_outcomes/0/concern_id"

    meeting = await post(client, "meetings", {**review, "attendees": [{"name": "DfE SEND adviser", "representing": "dfe"}]})
    assert meeting["evidence_due_on"] == "2026-12-24" and meeting["board_id"] is None  # 28 December is a bank holiday
    assert meeting["evidence_due_on"] == str(evidence_deadline(date(2027, 1, 11)))
    moved = await patch(client, f"meetings/{meeting['id']}", {"held_on": "2027-03-03"})
    assert moved.json()["evidence_due_on"] == "2027-02-17"  # the deadline moves with the meeting
    back = await patch(client, f"meetings/{meeting['id']}", {"held_on": past["held_on"]})
    assert back.status_code == 200, back.text
    late = await patch(client, f"meetings/{meeting['id']}", {"status": "held", "feedback_received_on": str(TODAY - timedelta(days=21))})
    assert assert_problem(late, 422)["errors"][0]["message"].startswith("Value error, feedback_received_on must not be before held_on")
    judged = await patch(
        client,
        f"meetings/{meeting['id']}",
        {
            "status": "held",
            "feedback": "Sufficient progress on timeliness.",
            "feedback_received_on": str(TODAY),
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


async def test_a_meeting_pack_shows_what_the_meeting_needs_and_what_changed_since_the_last(client: httpx.AsyncClient) -> None:
    plan, actions = await accepted_plan(client)
    partnership = {"id": plan["partnership_id"]}
    owner_id = actions[0]["owner_id"]
    board = await post(
        client, "boards", {"partnership_id": plan["partnership_id"], "name": "SEND Delivery Group", "kind": "delivery_group"}
    )
    last = await post(
        client,
        "meetings",
        {
            "board_id": board["id"],
            "plan_id": plan["id"],
            "title": "October Delivery Group",
            "held_on": str(TODAY - timedelta(days=1)),
            "status": "held",
        },
    )
    chased = await post(
        client,
        "meeting-actions",
        {"meeting_id": last["id"], "title": "EP options paper", "owner_id": owner_id, "due_on": str(TODAY - timedelta(days=1))},
    )
    await post(client, "meeting-actions", {"meeting_id": last["id"], "title": "Letter to schools", "status": "done"})
    this = await post(
        client,
        "meetings",
        {"board_id": board["id"], "plan_id": plan["id"], "title": "November Delivery Group", "held_on": str(TODAY + timedelta(days=7))},
    )
    await post(
        client,
        "decisions",
        {"meeting_id": this["id"], "text": "Agree the EP options paper.", "status": "proposed", "action_ids": [actions[0]["id"]]},
    )
    await post(client, "decisions", {"meeting_id": last["id"], "text": "Noted the October returns."})
    risk = await post(
        client,
        "risks",
        {"plan_id": plan["id"], "ref": "R1", "title": "EP capacity", "likelihood": 4, "impact": 5, "target_score": 8, "owner_id": owner_id},
    )
    moved = await patch(client, f"actions/{actions[1]['id']}", {"due_on": "2027-06-30", "reprogramme_reason": "EP recruitment failed."})
    assert moved.status_code == 200
    await post(
        client,
        "engagements",
        {
            "plan_id": plan["id"],
            "held_on": str(TODAY),
            "title": "Forum workshop",
            "participants": ["parent_carer_forum"],
            "level": "co_design",
            "you_said": "Too slow.",
            "we_did": "Added two coordinators.",
        },
    )

    made = await client.post(f"/api/v1/meetings/{this['id']}/pack", json={"format": "json"})
    assert made.status_code == 201, made.text
    assert (made.json()["meeting_id"], made.json()["plan_id"], made.json()["as_of"]) == (this["id"], plan["id"], str(TODAY))
    again = await client.post(f"/api/v1/meetings/{this['id']}/pack", json={"format": "json"})
    assert again.status_code == 200 and again.json()["id"] == made.json()["id"]  # the same request, the same pack
    pack = (await client.get(f"/api/v1/exports/{made.json()['id']}/content")).json()
    page, changes = pack["data"]["meeting"], pack["data"]["changes"]
    assert page["previous_meeting"] == {"title": "October Delivery Group", "held_on": str(TODAY - timedelta(days=1))}
    assert [d["text"] for d in page["decisions_due"]] == ["Agree the EP options paper."] and page["decisions_due"][0]["action_refs"] == [
        actions[0]["ref"]
    ]
    assert [(a["title"], a["status"], a["is_overdue"]) for a in page["last_meeting_actions"]] == [
        ("EP options paper", "open", True),
        ("Letter to schools", "done", False),
    ]
    assert [(r["ref"], r["score"], r["unmitigated"]) for r in page["open_risks"]] == [("R1", 20, True)]
    assert pack["export"]["since"] == str(TODAY - timedelta(days=1))
    assert [m["ref"] for m in changes["reprogrammed"]] == [actions[1]["ref"]] and changes["reprogrammed"][0][
        "reason"
    ] == "EP recruitment failed."
    assert [r["ref"] for r in changes["new_risks"]] == ["R1"]  # recorded after the previous meeting
    governance = pack["data"]["governance"]
    assert [m["title"] for m in governance["meetings"]] == ["October Delivery Group"]  # held since the previous meeting, up to today
    assert governance["meetings"][0]["decisions"][0]["text"] == "Noted the October returns."
    assert [r["ref"] for r in pack["data"]["risks"]] == [risk["ref"]] and pack["data"]["coproduction"][0][
        "we_did"
    ] == "Added two coordinators."
    assert chased["id"]  # the chased action is the one the page shows overdue

    html = await client.post(f"/api/v1/meetings/{this['id']}/pack", json={"format": "html", "audience": "inspectors"})
    text = (await client.get(f"/api/v1/exports/{html.json()['id']}/content")).text
    for heading in (
        "For the meeting: November Delivery Group",
        "Decisions due",
        "What changed since",
        "Risk register",
        "Co-production: you said, we did",
    ):
        assert heading in text, heading
    xlsx = await client.post(f"/api/v1/meetings/{this['id']}/pack", json={"format": "xlsx"})
    assert xlsx.status_code == 201, xlsx.text

    # Refused: a public meeting pack, a day before the meeting was recorded, a meeting about no plan without a plan.
    assert_problem(await client.post(f"/api/v1/meetings/{this['id']}/pack", json={"format": "json", "audience": "public"}), 422)
    assert_problem(
        await client.post(f"/api/v1/meetings/{this['id']}/pack", json={"format": "json", "as_of": str(TODAY - timedelta(days=1))}), 422
    )
    general = await post(client, "meetings", {"board_id": board["id"], "title": "Away day", "held_on": str(TODAY)})
    assert_problem(await client.post(f"/api/v1/meetings/{general['id']}/pack", json={"format": "json"}), 422)
    other = await make_plan(client, partnership)
    assert_problem(await client.post(f"/api/v1/meetings/{this['id']}/pack", json={"format": "json", "plan_id": other["id"]}), 422)
    assert (await client.post(f"/api/v1/meetings/{general['id']}/pack", json={"format": "json", "plan_id": plan["id"]})).status_code == 201
    assert_problem(await client.post(f"/api/v1/meetings/{uuid.uuid4()}/pack", json={"format": "json"}), 404)
    stranger = await make_plan(client, await make_partnership(client))  # a national key sees both partnerships
    crossed = await client.post(f"/api/v1/meetings/{general['id']}/pack", json={"format": "json", "plan_id": stranger["id"]})
    assert assert_problem(crossed, 422)["errors"][0]["pointer"] == "/plan_id"

    # A plan's own pack compares with any earlier day given as `since` (before `as_of`).
    assert_problem(
        await client.post(f"/api/v1/plans/{plan['id']}/exports", json={"format": "json", "audience": "board", "since": str(TODAY)}), 422
    )
