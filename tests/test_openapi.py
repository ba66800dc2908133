"""The OpenAPI document is part of the product: committed, complete and in step with the app."""

import json
import re
from pathlib import Path
from typing import Any

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]


def test_committed_document_matches_the_app(app: Any) -> None:
    served = json.loads(json.dumps(app.openapi()))
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert served == committed, "openapi/openapi.json is stale: run `make openapi` and commit it"


def test_every_operation_is_documented(app: Any) -> None:
    schema = app.openapi()
    seen_ids = set()
    for path, method, op in operations(schema):
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        assert op.get("description"), where
        assert op.get("tags"), where
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", op["operationId"]), where
        assert op["operationId"] not in seen_ids, where
        seen_ids.add(op["operationId"])
        if path.startswith("/api/v1") and op.get("security") != []:
            assert "401" in op["responses"], where
            assert "422" in op["responses"], where
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], where
        if "requestBody" in op:
            content = op["requestBody"]["content"]
            assert any("example" in c or "examples" in c for c in content.values()), where
        success = [r for s, r in op["responses"].items() if s.startswith("2") and "content" in r]
        for response in success:
            assert all("schema" in c or "example" in c for c in response["content"].values()), where


def test_security_scheme_is_declared(app: Any) -> None:
    schema = app.openapi()
    assert {s["scheme"] for s in schema["components"]["securitySchemes"].values()} == {"bearer"}
    assert schema["security"] == [{"apiKey": []}, {"oidcJwt": []}]
    assert schema["paths"]["/healthz"]["get"]["security"] == []


async def test_served_at_openapi_json(anon: Any) -> None:
    assert (await anon.get("/openapi.json")).json()["info"]["title"] == "wsoa-tracker"
    assert (await anon.get("/docs")).status_code == 200


def test_every_reference_resolves(app: Any) -> None:
    schema = app.openapi()
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(schema)))
    assert refs and refs <= set(schema["components"]["schemas"]), refs - set(schema["components"]["schemas"])


def test_the_description_lists_every_problem_type(app: Any) -> None:
    from app.core.errors import catalogue

    description = app.openapi()["info"]["description"]
    assert all(f"`{t}` ({status})" in description for t, status, _ in catalogue())
    assert "`/problems/export-not-ready` (409)" in description and "`/problems/rate-limited` (429)" in description
