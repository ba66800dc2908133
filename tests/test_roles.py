"""Per-object rules: what a contributor may touch, what an inspector may see, which keys may exist."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from app.core.db import Database
from app.core.uow import unit_of_work
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_action, make_partnership, make_person, make_world, post
from tests.test_conventions import assert_problem


@asynccontextmanager
async def as_role(
    app: Any, db: Database, role: Role, partnership: dict[str, Any], person: dict[str, Any] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    token = await new_token(db, role, partnership_id=uuid.UUID(partnership["id"]), person_id=uuid.UUID(person["id"]) if person else None)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


async def test_contributor_reports_only_on_its_own_or_contributed_actions(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    helper = await make_person(client, w.partnership)
    stranger_action = await make_action(client, w.plan, w.concerns[:1], owner_id=helper["id"])
    shared = await make_action(client, w.plan, w.concerns[:1], owner_id=helper["id"], contributor_ids=[w.owner["id"]])
    async with as_role(app, db, Role.contributor, w.partnership, w.owner) as me:
        own = await me.post(f"/api/v1/actions/{w.action['id']}/progress-updates", json={"rag": "green", "narrative": "On track"})
        assert own.status_code == 201 and own.json()["author_id"] == w.owner["id"]
        helped = await me.post("/api/v1/progress-updates", json={"action_id": shared["id"], "rag": "amber", "narrative": "Helping"})
        assert helped.status_code == 201
        refused = await me.post(f"/api/v1/actions/{stranger_action['id']}/progress-updates", json={"rag": "green", "narrative": "Not mine"})
        assert_problem(refused, 403, "/problems/forbidden")
        as_other = await me.post(
            f"/api/v1/actions/{w.action['id']}/progress-updates", json={"rag": "green", "narrative": "x", "author_id": helper["id"]}
        )
        assert_problem(as_other, 403)
        # Actions and plans are the lead's to edit.
        etag = (await me.get(f"/api/v1/actions/{w.action['id']}")).headers["etag"]
        assert_problem(
            await me.patch(f"/api/v1/actions/{w.action['id']}", json={"owner_id": helper["id"]}, headers={"If-Match": etag}), 403
        )
        plan_etag = (await me.get(f"/api/v1/plans/{w.plan['id']}")).headers["etag"]
        assert_problem(await me.patch(f"/api/v1/plans/{w.plan['id']}", json={"status": "closed"}, headers={"If-Match": plan_etag}), 403)
    updates = (await client.get("/api/v1/progress-updates", params={"action_id": stranger_action["id"]})).json()["items"]
    assert updates == []


async def test_contributor_completes_milestones_of_its_actions_only(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    helper = await make_person(client, w.partnership)
    other = await make_action(client, w.plan, w.concerns[:1], owner_id=helper["id"])
    mine = await post(client, "milestones", {"action_id": w.action["id"], "title": "Mine", "due_on": "2030-01-01"})
    theirs = await post(client, "milestones", {"action_id": other["id"], "title": "Theirs", "due_on": "2030-01-01"})
    async with as_role(app, db, Role.contributor, w.partnership, w.owner) as me:
        url = f"/api/v1/milestones/{mine['id']}"
        etag = (await me.get(url)).headers["etag"]
        assert_problem(
            await me.patch(url, json={"title": "Renamed", "status": "met", "met_on": "2029-12-01"}, headers={"If-Match": etag}), 403
        )
        done = await me.patch(url, json={"status": "met", "met_on": "2029-12-01"}, headers={"If-Match": etag})
        assert done.status_code == 200 and done.json()["status"] == "met"
        their_url = f"/api/v1/milestones/{theirs['id']}"
        their_etag = (await me.get(their_url)).headers["etag"]
        assert_problem(await me.patch(their_url, json={"status": "met", "met_on": "2029-12-01"}, headers={"If-Match": their_etag}), 403)
    assert (await client.get(f"/api/v1/milestones/{theirs['id']}")).json()["status"] == "pending"


async def test_inspector_reads_but_never_sees_contact_details(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    await make_person(client, w.partnership, email="named.person@council.example")
    async with as_role(app, db, Role.inspector, w.partnership) as inspector:
        people = (await inspector.get("/api/v1/people")).json()["items"]
        assert people and all("email" not in p for p in people)
        one = (await inspector.get(f"/api/v1/people/{w.owner['id']}")).json()
        assert "email" not in one and one["display_name"] == w.owner["display_name"]
        assert (await inspector.get(f"/api/v1/actions/{w.action['id']}")).status_code == 200
        assert_problem(
            await inspector.post(f"/api/v1/actions/{w.action['id']}/progress-updates", json={"rag": "red", "narrative": "x"}), 403
        )
    lead_view = (await client.get("/api/v1/people")).json()["items"]
    assert any(p.get("email") == "named.person@council.example" for p in lead_view)


async def test_lead_edits_the_plan_but_not_the_partnership(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    async with as_role(app, db, Role.lead, w.partnership) as lead:
        concern = await lead.post(
            "/api/v1/concerns", json={"plan_id": w.plan["id"], "ref": "L1", "kind": "recommendation", "title": "By the lead"}
        )
        assert concern.status_code == 201
        etag = (await lead.get(f"/api/v1/partnerships/{w.partnership['id']}")).headers["etag"]
        assert_problem(await lead.patch(f"/api/v1/partnerships/{w.partnership['id']}", json={"name": "x"}, headers={"If-Match": etag}), 403)
        assert_problem(await lead.post("/api/v1/people", json={"partnership_id": w.partnership["id"], "display_name": "x"}), 403)


async def test_only_a_national_admin_creates_partnerships(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    async with as_role(app, db, Role.admin, w.partnership) as local_admin:
        assert_problem(await local_admin.post("/api/v1/partnerships", json={"name": "New", "la_code": "321"}), 403)
        assert (
            await local_admin.post(
                "/api/v1/organisations", json={"partnership_id": w.partnership["id"], "name": "PCF", "kind": "parent_carer_forum"}
            )
        ).status_code == 201


async def test_integration_roles_reach_only_their_endpoints(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    async with as_role(app, db, Role.hr_integration, w.partnership) as hr:
        assert (await hr.get("/api/v1/people")).status_code == 200
        assert_problem(await hr.get("/api/v1/plans"), 403)
    async with as_role(app, db, Role.case_integration, w.partnership) as cases:
        assert_problem(await cases.get("/api/v1/people"), 403)
        assert_problem(await cases.get(f"/api/v1/actions/{w.action['id']}"), 403)


async def test_key_scopes_are_validated(db: Database, client: httpx.AsyncClient) -> None:
    import pytest

    from app.apikeys.service import create_key
    from app.core.errors import Forbidden, Unprocessable

    w = await make_world(client)
    pid = uuid.UUID(w.partnership["id"])
    async with unit_of_work(db) as session:
        with pytest.raises(Unprocessable) as lead:
            await create_key(session, role=Role.lead, name="no partnership")
        assert lead.value.errors and lead.value.errors[0].pointer == "/partnership_id"
        with pytest.raises(Unprocessable) as contributor:
            await create_key(session, role=Role.contributor, name="no person", partnership_id=pid)
        assert contributor.value.errors and contributor.value.errors[0].pointer == "/person_id"
    other = await make_person(client, await make_partnership(client))
    async with unit_of_work(db) as session:
        with pytest.raises(Unprocessable):
            await create_key(session, role=Role.contributor, name="wrong person", partnership_id=pid, person_id=uuid.UUID(other["id"]))
    from app.core.auth import Actor

    local_admin = Actor(actor_type="api_key", actor_id="x", name="x", role=Role.admin, partnership_id=pid)
    async with unit_of_work(db) as session:
        with pytest.raises(Forbidden):
            await create_key(session, actor=local_admin, role=Role.inspector, name="national")


async def test_a_refusal_says_what_the_caller_can_do_instead(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    async with as_role(app, db, Role.contributor, w.partnership, w.owner) as contributor:
        got = await contributor.get(f"/api/v1/actions/{w.action['id']}")
        moved = await contributor.patch(
            f"/api/v1/actions/{w.action['id']}",
            json={"forecast_on": "2027-09-30"},
            headers={"If-Match": got.headers["etag"], "Content-Type": "application/merge-patch+json"},
        )
    detail = assert_problem(moved, 403)["detail"]
    assert "needs admin, lead" in detail and "progress update" in detail
