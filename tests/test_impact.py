"""What inspectors and advisers judge a plan by: each concern's intended outcome for children and families and how
the partnership will know, kept on the concern and shown in every pack."""

import csv
import html
import io
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import httpx

from app.models.enums import Role
from app.reporting.schedule import month_of
from tests.conftest import new_token
from tests.factories import make_concern, make_partnership, make_plan, post
from tests.test_conventions import assert_problem
from tests.test_evidence import client_for
from tests.test_exports import content, export
from tests.test_figures import json_pack
from tests.test_lifecycle import patch
from tests.test_reporting import TODAY, accepted_plan

OUTCOME = "Families get a plan that meets their child's needs within 20 weeks of asking."
MEASURE = {
    "name": "Plans within 20 weeks",
    "unit": "percent",
    "direction": "higher_is_better",
    "baseline_value": 40,
    "baseline_on": "2026-01-31",
    "target_value": 90,
    "target_on": "2027-12-31",
}
CRITERIA = "90% of EHC plans issued within 20 weeks, excluding exceptions, for six months running."


async def test_a_concern_says_what_will_be_different_and_every_pack_shows_it(client: httpx.AsyncClient) -> None:
    plan = await make_plan(client, await make_partnership(client))
    concern = await make_concern(client, plan, intended_outcome=OUTCOME)
    assert concern["intended_outcome"] == OUTCOME and concern["success_criteria"] is None
    changed = await patch(client, f"concerns/{concern['id']}", {"success_criteria": CRITERIA})
    assert changed.status_code == 200 and changed.json()["intended_outcome"] == OUTCOME  # a field not sent is left alone
    assert (await client.get(f"/api/v1/concerns/{concern['id']}")).json() == changed.json()

    data = (await json_pack(client, plan["id"]))["data"]
    [shown] = data["concerns"]
    assert (shown["intended_outcome"], shown["success_criteria"]) == (OUTCOME, CRITERIA)
    page = (await content(client, await export(client, plan["id"], format="html"))).decode()
    assert "What will be different for children and families" in page and "Families get a plan that meets" in page
    with zipfile.ZipFile(io.BytesIO(await content(client, await export(client, plan["id"], format="csv")))) as z:
        name = next(n for n in z.namelist() if "concerns" in n)
        [row] = list(csv.DictReader(io.StringIO(z.read(name).decode("utf-8-sig"))))
    assert (row["Intended outcome"], row["Success criteria"]) == (OUTCOME, CRITERIA)


async def test_impact_statements_give_a_concern_its_latest_judgement_everywhere_it_is_shown(
    app: Any, client: httpx.AsyncClient, db: Any
) -> None:
    plan, actions = await accepted_plan(client)
    [concern] = (await client.get("/api/v1/concerns", params={"plan_id": plan["id"]})).json()["items"]
    assert (concern["latest_impact"], concern["impact_rag"]) == (None, None)
    other_plan = await make_plan(client, {"id": plan["partnership_id"]})
    measure = await post(client, "measures", {**MEASURE, "plan_id": plan["id"]})
    elsewhere = await post(client, "measures", {**MEASURE, "plan_id": other_plan["id"]})
    starts, ends = month_of(TODAY)
    period = await post(
        client,
        "reporting-periods",
        {"plan_id": plan["id"], "starts_on": str(starts), "ends_on": str(ends), "returns_due_on": str(ends + timedelta(days=3))},
    )
    body = {
        "concern_id": concern["id"],
        "narrative": "Families wait less.",
        "judgement": "partial_progress",
        "judgement_reason": "Short of 90%.",
    }

    # Bad input changes nothing: a future date, a measure of another plan, an unknown period.
    assert_problem(await client.post("/api/v1/impact-statements", json={**body, "as_of": str(TODAY + timedelta(days=1))}), 422)
    wrong = await client.post("/api/v1/impact-statements", json={**body, "measure_ids": [elsewhere["id"]]})
    assert assert_problem(wrong, 422)["errors"][0]["pointer"] == "/measure_ids/0"
    assert_problem(await client.post("/api/v1/impact-statements", json={**body, "period_id": str(uuid.uuid4())}), 422)
    assert (await client.get("/api/v1/impact-statements", params={"concern_id": concern["id"]})).json()["items"] == []

    earlier = await post(
        client, "impact-statements", {**body, "as_of": str(TODAY - timedelta(days=40)), "judgement": "insufficient_progress"}
    )
    latest = await post(client, "impact-statements", {**body, "period_id": period["id"], "measure_ids": [measure["id"]]})
    assert latest["as_of"] == str(min(ends, TODAY)) and latest["plan_id"] == plan["id"] and latest["measure_ids"] == [measure["id"]]
    assert_problem(await client.post("/api/v1/impact-statements", json={**body, "period_id": period["id"]}), 409)
    # A statement about an older date, written afterwards, does not replace the latest judgement.
    await post(client, "impact-statements", {**body, "as_of": str(TODAY - timedelta(days=70)), "judgement": "sufficient_progress"})

    shown = (await client.get(f"/api/v1/concerns/{concern['id']}")).json()
    assert shown["impact_rag"] == "amber" and shown["latest_impact"]["id"] == latest["id"]
    summary = (await client.get(f"/api/v1/plans/{plan['id']}/summary")).json()
    [row] = summary["concerns"]
    assert (row["latest_impact"], row["impact_rag"]) == (shown["latest_impact"], shown["impact_rag"])
    [packed] = (await json_pack(client, plan["id"]))["data"]["concerns"]
    assert packed["impact_rag"] == "amber"
    assert packed["latest_impact"] == {k: shown["latest_impact"][k] for k in ("as_of", "judgement", "judgement_reason", "narrative")}
    # Dating the latest statement back before the earlier one makes the earlier (red) judgement the latest.
    redated = await patch(client, f"impact-statements/{latest['id']}", {"as_of": str(TODAY - timedelta(days=50))})
    assert redated.status_code == 200, redated.text
    summary = (await client.get(f"/api/v1/plans/{plan['id']}/summary")).json()
    assert summary["concerns"][0]["impact_rag"] == "red" and summary["concerns"][0]["latest_impact"]["id"] == earlier["id"]
    assert (await client.get(f"/api/v1/concerns/{concern['id']}")).json()["latest_impact"] == summary["concerns"][0]["latest_impact"]
    assert (await patch(client, f"impact-statements/{latest['id']}", {"as_of": latest["as_of"]})).status_code == 200

    # Leads write statements; contributors and inspectors read them.
    token = await new_token(
        db, Role.contributor, partnership_id=uuid.UUID(plan["partnership_id"]), person_id=uuid.UUID(actions[0]["owner_id"])
    )
    async with client_for(app, token) as contributor:
        assert_problem(await contributor.post("/api/v1/impact-statements", json=body), 403)
        assert (await contributor.get(f"/api/v1/impact-statements/{latest['id']}")).status_code == 200
    changed = await patch(client, f"impact-statements/{latest['id']}", {"judgement": "sufficient_progress"})
    assert changed.status_code == 200 and changed.json()["narrative"] == "Families wait less."
    assert (await client.get(f"/api/v1/concerns/{concern['id']}")).json()["impact_rag"] == "green"
    page = (await content(client, await export(client, plan["id"], format="html"))).decode()
    assert "What has changed for families" in page and "Families wait less." in page


async def test_the_public_page_is_short_plain_and_names_nobody(client: httpx.AsyncClient) -> None:
    plan, actions = await accepted_plan(client)
    [concern] = (await client.get("/api/v1/concerns", params={"plan_id": plan["id"]})).json()["items"]
    assert (await patch(client, f"concerns/{concern['id']}", {"intended_outcome": OUTCOME})).status_code == 200
    owner = (await client.get(f"/api/v1/people/{actions[0]['owner_id']}")).json()
    await post(
        client,
        f"actions/{actions[0]['id']}/progress-updates",
        {"author_id": owner["id"], "rag": "amber", "narrative": "Recruiting.", "blockers": "Budget freeze in finance."},
    )
    proof = await post(
        client,
        "evidence",
        {"action_id": actions[3]["id"], "title": "Coordinators' contracts", "kind": "document", "url": "https://docs.example/c"},
    )
    assert (await patch(client, f"evidence/{proof['id']}", {"review_status": "accepted"})).status_code == 200
    done = await patch(client, f"actions/{actions[3]['id']}", {"status": "completed", "completed_on": str(TODAY)})
    assert done.status_code == 200, done.text
    await post(
        client,
        "impact-statements",
        {
            "concern_id": concern["id"],
            "narrative": "Families wait 17 weeks, not 31.",
            "judgement": "partial_progress",
            "judgement_reason": "Short of 90%.",
        },
    )
    await post(
        client,
        "engagements",
        {"plan_id": plan["id"], "held_on": str(TODAY), "title": "Forum workshop", "participants": ["parent_carer_forum"], "level": "co_produce",
         "you_said": "Nobody told us who our case officer was.", "we_did": "Every letter now names the case officer.", "concern_ids": [concern["id"]]},
    )  # fmt: skip
    page = html.unescape((await content(client, await export(client, plan["id"], format="html", audience="public"))).decode())
    for text in (
        "What the inspectors found",
        "What we want to be different",
        OUTCOME,
        "1 of 4 actions done",
        actions[3]["title"],
        "Families wait 17 weeks, not 31.",
        "we are making some progress, but not enough yet",
        "You said:",
        "Every letter now names the case officer.",
    ):
        assert text in page, text
    for hidden in (owner["display_name"], "Budget freeze", "Risk register", "Governance"):
        assert hidden not in page, hidden
    await post(client, "risks", {"plan_id": plan["id"], "ref": "R1", "title": "Cllr X's pet project", "likelihood": 4, "impact": 4})
    moved = await patch(client, f"actions/{actions[1]['id']}", {"due_on": "2027-06-30", "reprogramme_reason": "Budget freeze in finance."})
    assert moved.status_code == 200
    public = (await json_pack(client, plan["id"], audience="public", since=str(TODAY - timedelta(days=1))))["data"]
    assert public["risks"] is None and public["governance"] is None and public["changes"] is None
    assert "Budget freeze" not in str(public) and "pet project" not in str(public)
    assert all(a["latest_update"] is None or a["latest_update"]["blockers"] is None for a in public["concerns"][0]["actions"])
    pdf = await content(client, await export(client, plan["id"], format="pdf", audience="public"))
    assert pdf.startswith(b"%PDF")
