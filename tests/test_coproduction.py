"""The co-production and engagement log: who took part, how far they shaped the work, "you said, we did", and the
forum's sign-off of a pack."""

from datetime import timedelta

import httpx

from app.coproduction.schemas import EXAMPLE
from tests.factories import make_concern, make_plan, post
from tests.test_conventions import assert_problem
from tests.test_exports import export
from tests.test_lifecycle import patch
from tests.test_reporting import TODAY, accepted_plan


async def test_the_log_records_who_shaped_what_and_the_forums_sign_off(client: httpx.AsyncClient) -> None:
    plan, actions = await accepted_plan(client)
    [concern] = (await client.get("/api/v1/concerns", params={"plan_id": plan["id"]})).json()["items"]
    other_plan = await make_plan(client, {"id": plan["partnership_id"]})
    elsewhere = await make_concern(client, other_plan)
    body = {**EXAMPLE, "plan_id": plan["id"], "concern_ids": [concern["id"]], "action_ids": [actions[0]["id"]]}

    # Bad input changes nothing: a concern of another plan, a group named twice, an unknown level, another plan's pack.
    wrong = await client.post("/api/v1/engagements", json={**body, "concern_ids": [elsewhere["id"]]})
    assert assert_problem(wrong, 422)["errors"][0]["pointer"] == "/concern_ids/0"
    assert_problem(await client.post("/api/v1/engagements", json={**body, "participants": ["schools", "schools"]}), 422)
    assert_problem(await client.post("/api/v1/engagements", json={**body, "level": "tokenism"}), 422)
    assert_problem(await client.post("/api/v1/engagements", json={**body, "held_on": str(TODAY + timedelta(days=1))}), 422)
    their_pack = await export(client, other_plan["id"], format="json")
    signed = await client.post("/api/v1/engagements", json={**body, "signs_off_export_id": their_pack["id"]})
    assert assert_problem(signed, 422)["errors"][0]["pointer"] == "/signs_off_export_id"
    assert (await client.get("/api/v1/engagements", params={"plan_id": plan["id"]})).json()["items"] == []

    engagement = await post(client, "engagements", body)
    assert (engagement["level"], engagement["participants"], engagement["partnership_id"]) == (
        "co_design",
        ["parent_carer_forum", "parents_carers", "practitioners"],
        plan["partnership_id"],
    )
    our_pack = await export(client, plan["id"], format="json")
    sign_off = await patch(
        client, f"engagements/{engagement['id']}", {"signs_off_export_id": our_pack["id"], "sign_off_note": "Signed off by the forum."}
    )
    assert sign_off.status_code == 200 and sign_off.json()["we_did"] == EXAMPLE["we_did"]  # a field not sent is left alone
    about = (await client.get("/api/v1/engagements", params={"concern_id": concern["id"], "level": ["co_design", "co_produce"]})).json()
    assert [e["id"] for e in about["items"]] == [engagement["id"]]
    assert (await client.get("/api/v1/engagements", params={"level": "inform", "plan_id": plan["id"]})).json()["items"] == []
