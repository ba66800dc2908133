"""Schemathesis against the service's own OpenAPI document, served by `wsoa serve` over the demo data.

Explicit examples first: the odd inputs an outside review found to give 500s (NUL bytes in filters, integers
past 64 bits, datetimes no database holds, a 900-deep body, a malformed webhook host, a NUL in an HR row), each
run as a Schemathesis case with the same checks. Then the examples, coverage and fuzzing phases with an admin
key and a fixed seed: no 5xx, and every response's status code, media type, headers and body as the document
says; a request that breaks the schema must be refused. The coverage and fuzzing phases run against PostgreSQL, the
production database (they take two minutes for the hundred-odd operations); on SQLite the explicit cases and the
documented examples run, which keeps the whole suite within its ten minutes on two cores. (Schema-valid requests may still be refused by the rules — an unknown id is a 404 — so the
"positive data acceptance" check is not one of ours.)
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from schemathesis.checks import CHECKS as REGISTRY
from sqlalchemy import select
from sqlmodel import col

from app.core.config import Settings
from app.core.db import Database
from app.core.uow import unit_of_work
from app.demo.seed import seed_demo
from app.models import Partnership, Plan
from tests.conftest import new_token
from tests.servers import served
from tests.test_odd_inputs import CASES, NUL

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection"


async def test_the_api_keeps_its_own_contract_under_schemathesis(
    client: httpx.AsyncClient, db: Database, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    async with unit_of_work(db) as session:
        await seed_demo(session)
        partnership_id = str((await session.execute(select(col(Partnership.id)).limit(1))).scalar_one())
        plan_id = str((await session.execute(select(col(Plan.id)).limit(1))).scalar_one())
    token = await new_token(db)
    with served(database_url, settings, tmp_path, rate_limits="{}", case_ref_key="schemathesis") as server:
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        checks = REGISTRY.get_by_names(CHECKS.split(","))
        made = httpx.post(
            f"{server.url}/api/v1/plans/{plan_id}/exports",
            json={"format": "json", "audience": "inspectors"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert made.status_code == 201, made.text
        for case in explicit_cases(schema, partnership_id, made.json()["id"]):
            response = case.call_and_validate(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, checks=checks)
            seen = (case.method, case.path, response.status_code, response.text[:300])
            if case.path == "/api/v1/people/sync":  # a bad row is reported in `errors`; the rest of the feed is applied
                assert response.status_code == 200 and response.json()["errors"], seen
            else:
                assert 400 <= response.status_code < 500, seen
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--phases",
                "examples,coverage,fuzzing" if database_url.startswith("postgresql") else "examples",
                "--checks",
                CHECKS,
                "--max-examples",
                "4",  # about a hundred operations: more examples would take the suite past its ten minutes on two cores
                "--seed",
                "1",
                "--request-timeout",
                "60",  # a PDF pack of the demo plan takes seconds of CPU, more while the other database's suite runs
                "--workers",
                "1",  # one at a time: the same seed gives the same run
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
            check=False,
        )
    found = run.stdout.find("=== FAILURES") if "=== FAILURES" in run.stdout else run.stdout.find("=== ERRORS")
    assert run.returncode == 0, run.stdout[max(found, 0) :][:8000] + run.stderr[-2000:]


def explicit_cases(schema: Any, partnership_id: str, export_id: str) -> Iterator[Any]:
    """The odd inputs of tests/test_odd_inputs.py and the review's other findings, as Schemathesis cases: each is
    refused with a 4xx problem that conforms to the document (an HR row, with a row error in a 200)."""
    for path, params in CASES:
        yield schema[path]["GET"].Case(query=params)
    nested: Any = []
    for _ in range(899):
        nested = [nested]
    yield schema["/api/v1/organisations"]["POST"].Case(
        body={"partnership_id": partnership_id, "name": nested}, media_type="application/json"
    )
    yield schema["/api/v1/exports/{id}/share-links"]["POST"].Case(
        path_parameters={"id": export_id},  # a ready export: the expiry itself is what is refused
        body={"expires_at": "0001-01-01T00:00:00+14:00"},
        media_type="application/json",
    )
    yield schema["/api/v1/webhook-subscriptions"]["POST"].Case(
        body={"partnership_id": partnership_id, "url": "http://\u00d6\u00a2\u00bc[", "event_types": ["action.updated"]},
        media_type="application/json",
    )
    yield schema["/api/v1/people/sync"]["POST"].Case(
        body={
            "partnership_id": partnership_id,
            "mode": "upsert",
            "people": [{"external_id": NUL, "display_name": NUL}, {"external_id": "HR-SCHEMA-1", "display_name": "Kept"}],
        },
        media_type="application/json",
    )
