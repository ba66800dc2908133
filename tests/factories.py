"""Small typed helpers that build test data through the API itself."""

import itertools
from datetime import date, timedelta
from typing import Any

import httpx

_counter = itertools.count(1)


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
    response = await client.post(f"/api/v1/{path}", json=body)
    assert response.status_code == expect, response.text
    data: dict[str, Any] = response.json()
    return data


async def make_partnership(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    n = next(_counter)
    return await post(client, "partnerships", {"name": f"Area {n}", "la_code": f"{n % 1000:03d}", **fields})


async def make_person(client: httpx.AsyncClient, partnership: dict[str, Any], **fields: Any) -> dict[str, Any]:
    n = next(_counter)
    return await post(
        client, "people", {"partnership_id": partnership["id"], "display_name": f"Person {n}", "external_id": f"HR{n}", **fields}
    )


async def make_plan(client: httpx.AsyncClient, partnership: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return await post(
        client, "plans", {"partnership_id": partnership["id"], "kind": "wsoa", "title": "Written Statement of Action", **fields}
    )


# A concern kind every plan of the kind may hold, whatever its inspection (see app/plans/framework.py).
CONCERN_KIND_FOR = {
    "wsoa": "area_of_significant_weakness",
    "accelerated_progress_plan": "area_of_significant_weakness",
    "priority_action_plan": "area_for_priority_action",
    "improvement_plan": "recommendation",
}


async def make_concern(client: httpx.AsyncClient, plan: dict[str, Any], **fields: Any) -> dict[str, Any]:
    n = next(_counter)
    kind = CONCERN_KIND_FOR[plan.get("kind", "wsoa")]
    return await post(client, "concerns", {"plan_id": plan["id"], "ref": f"W{n}", "kind": kind, "title": f"Weakness {n}", **fields})


async def make_action(client: httpx.AsyncClient, plan: dict[str, Any], concerns: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    n = next(_counter)
    body = {"plan_id": plan["id"], "ref": f"{n}.1", "title": f"Action {n}", "concern_ids": [c["id"] for c in concerns], **fields}
    return await post(client, "actions", body)


class World:
    """A partnership with a plan, two concerns, an owner and one action."""

    def __init__(
        self,
        partnership: dict[str, Any],
        owner: dict[str, Any],
        plan: dict[str, Any],
        concerns: list[dict[str, Any]],
        action: dict[str, Any],
    ) -> None:
        self.partnership, self.owner, self.plan, self.concerns, self.action = partnership, owner, plan, concerns, action


async def make_world(client: httpx.AsyncClient) -> World:
    partnership = await make_partnership(client)
    owner = await make_person(client, partnership)
    plan = await make_plan(client, partnership)
    concerns = [await make_concern(client, plan), await make_concern(client, plan)]
    due = date.today() + timedelta(days=60)
    action = await make_action(client, plan, concerns[:1], owner_id=owner["id"], due_on=due.isoformat())
    return World(partnership, owner, plan, concerns, action)
