"""Every API route × every role against an explicit permission table (the roles of the API).

The table is written out here, independently of the app's own, and the routes come from the app's
route table: a new route without a rule here fails the suite, and so does a route whose guard lets
in (or keeps out) a role the table does not say.
"""

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from app.core.db import Database
from app.models.enums import Role
from tests.conftest import new_token
from tests.factories import make_partnership, make_person

A, L, C, H = Role.admin, Role.lead, Role.contributor, Role.hr_integration
READ = {A, L, C, Role.inspector}
EDIT = {A, L}


def crud(read: set[Role], create: set[Role], update: set[Role] | None = None, delete: set[Role] | None = None) -> dict[str, set[Role]]:
    rules = {"list": read, "get": read, "create": create, "update": update if update is not None else create}
    rules["delete"] = delete if delete is not None else create
    return rules


TABLE: dict[str, dict[str, set[Role]]] = {
    "partnerships": crud(READ, {A}),
    "organisations": crud(READ, {A}),
    "people": crud(READ | {H}, {A}),
    "people-sync": {"create": {A, H}},
    "case-events": {"create": {A, Role.case_integration}},
    "case-events-imports": {"create": {A, Role.case_integration}},
    "partnerships-ehcp-timeliness": {"get": READ | {Role.case_integration}},
    "inspections": crud(READ, {A}),
    "plans": crud(READ, EDIT),
    "concerns": crud(READ, EDIT),
    "actions": crud(READ, EDIT),
    "milestones": crud(READ, EDIT, update={A, L, C}),
    "measures": crud(READ, EDIT),
    "observations": crud(READ, EDIT),
    "funding-lines": crud(READ, EDIT),
    "progress-updates": {"list": READ, "get": READ, "create": {A, L, C}},
    "actions-progress-updates": {"create": {A, L, C}},
    "actions-reprogrammes": {"list": READ},
    "plans-summary": {"get": READ},
    "plans-history": {"get": READ},
    "plans-alerts": {"get": READ},
    "evidence": crud(READ, {A, L, C}, update={A, L, C}, delete=EDIT),
    "evidence-file": {"create": {A, L, C}, "get": READ},
    "evidence-revisions": {"list": READ},
    "api-keys": {"list": {A}, "get": {A}, "create": {A}, "delete": {A}},
    "audit-events": {"list": {A, L}},
    "changes": {"list": READ},
    "webhook-subscriptions": crud({A}, {A}),
    "webhook-deliveries": {"list": {A}, "redeliver": {A}},
    "exports": {"list": READ, "get": READ, "create": {A, L, Role.inspector}},
    "exports-content": {"get": READ},
    "share-links": {"list": EDIT, "get": EDIT, "create": EDIT, "delete": EDIT},
    "shared": {"get": set(Role)},  # the link's token is the credential
    "reporting-periods": {"list": READ, "get": READ, "create": EDIT, "update": EDIT},
    "reporting-periods-status": {"get": READ},
    "returns": {"list": READ, "get": READ},
    "returns-submission": {"create": {A, L, C}},
    "returns-review": {"create": EDIT},
    "notifications": {"list": EDIT, "get": EDIT},
    "me": {"get": set(Role)},
    "me-returns": {"list": READ},
    "me-actions": {"list": READ},
    "impact-statements": crud(READ, EDIT),
    "risks": {"list": READ, "get": READ, "create": EDIT, "update": EDIT},
    "risks-ratings": {"list": READ},
    "boards": crud(READ, EDIT),
    "meetings": crud(READ, EDIT),
    "decisions": crud(READ, EDIT),
    "meeting-actions": crud(READ, EDIT, update={A, L, C}),
    "me-meeting-actions": {"list": READ},
    "engagements": crud(READ, EDIT),
    "meetings-pack": {"create": {A, L, Role.inspector}},
    "import-mappings": crud(EDIT, EDIT),
    "plans-imports": {"create": EDIT},
    "import-template": {"get": READ},
    "plans-successor": {"create": EDIT},
}


def expected(operation_id: str) -> set[Role]:
    collection, _, verb = operation_id.rpartition("-")
    try:
        return TABLE[collection][verb]
    except KeyError:
        pytest.fail(f"no permission rule for {operation_id}: add it to TABLE")


async def test_every_route_and_role_matches_the_table(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    partnership = await make_partnership(client)
    person = await make_person(client, partnership)
    pid, person_id = uuid.UUID(partnership["id"]), uuid.UUID(person["id"])
    routes = [r for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/api/v1")]
    missing = [r.operation_id for r in routes if r.operation_id is None]
    assert not missing
    checked = 0
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as anon:
        for n, route in enumerate(routes):
            if n % 30 == 0:  # fresh keys now and then, so no role reaches its rate limit (hr_integration's is 120 a minute)
                tokens = {role: await new_token(db, role, partnership_id=pid, person_id=person_id if role is C else None) for role in Role}
            allowed = expected(str(route.operation_id))
            path = re.sub(r"\{[^}]+\}", "2b1c8e57-3b4a-4e0e-9a55-6f1d2c3b4a59", route.path)
            for method in route.methods:
                for role, token in tokens.items():
                    body = {} if method in ("POST", "PATCH") else None
                    response = await anon.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
                    if role in allowed:
                        assert response.status_code != 403, f"{role.value} was refused {method} {route.path}: {response.text}"
                    else:
                        assert response.status_code == 403, f"{role.value} was let through {method} {route.path}: {response.status_code}"
                        assert response.json()["type"] == "/problems/forbidden"
                    checked += 1
    assert checked >= 40 * len(Role)


def test_every_rule_in_the_table_names_a_real_route(app: Any) -> None:
    operation_ids = {str(r.operation_id) for r in app.routes if isinstance(r, APIRoute)}
    for collection, verbs in TABLE.items():
        for verb in verbs:
            assert f"{collection}-{verb}" in operation_ids, f"{collection}-{verb} has a rule but no route"


def test_openapi_declares_each_operations_roles(app: Any) -> None:
    for path, item in app.openapi()["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, op in item.items():
            if op.get("security") == []:  # opened by a share link's token, not by a key
                assert "x-required-roles" not in op and "without an API key" in op["description"]
                continue
            roles = set(op["x-required-roles"])
            assert roles == {r.value for r in expected(op["operationId"])}, f"{method} {path}"
            assert "**Roles:**" in op["description"]
