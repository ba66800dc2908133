"""Schemathesis against the service's own OpenAPI document, served by `wsoa serve` over the demo data.

Examples, coverage and fuzzing phases with an admin key and a fixed seed: no 5xx, and every response's
status code, media type, headers and body as the document says; a request that breaks the schema must
be refused. (Schema-valid requests may still be refused by the rules — an unknown id is a 404 — so the
"positive data acceptance" check is not one of ours.)
"""

import os
import subprocess
import sys
from pathlib import Path

import httpx

from app.core.config import Settings
from app.core.db import Database
from app.core.uow import unit_of_work
from app.demo.seed import seed_demo
from tests.conftest import new_token
from tests.servers import served

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection"


async def test_the_api_keeps_its_own_contract_under_schemathesis(
    client: httpx.AsyncClient, db: Database, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    async with unit_of_work(db) as session:
        await seed_demo(session)
    token = await new_token(db)
    with served(database_url, settings, tmp_path, rate_limits="{}", case_ref_key="schemathesis") as server:
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--phases",
                "examples,coverage,fuzzing",
                "--checks",
                CHECKS,
                "--max-examples",
                "10",
                "--seed",
                "1",
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
