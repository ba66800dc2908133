"""Production mode: it refuses an unsafe configuration with one line per problem, `wsoa check-config` says the
same without starting, `/metrics` needs its token and the documentation can be turned off."""

import os
import subprocess
import sys
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.core.config import Settings
from app.core.db import Database
from app.main import UnsafeConfiguration, create_app

SAFE = {
    "env": "production",
    "case_ref_key": SecretStr("a-long-random-secret-for-case-references"),
    "audit_signing_key": SecretStr("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="),
    "public_base_url": "https://wsoa.example.gov.uk",
    "metrics_token": SecretStr("scraper-token-of-thirty-two-characters"),
    "smtp_host": "smtp.example.gov.uk",
}

OIDC = {
    "oidc_issuer": "https://login.example/t/v2.0",
    "oidc_national_claim_value": "",
    "oidc_audience": "api://wsoa",
    "oidc_jwks_url": "https://login.example/t/keys",
}


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WSOA_")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args], env=clean | env, capture_output=True, text=True, timeout=60, check=False
    )


def test_production_refuses_to_start_and_says_why(settings: Settings, db: Database) -> None:
    unsafe = settings.model_copy(update={"env": "production", "case_ref_key": SecretStr(""), "public_base_url": ""})
    with pytest.raises(UnsafeConfiguration) as refused:
        create_app(unsafe, db)
    text = str(refused.value)
    assert "WSOA_CASE_REF_KEY" in text and "WSOA_PUBLIC_BASE_URL" in text and "signing key" in text
    with_oidc = settings.model_copy(update=SAFE | {"oidc_issuer": "https://login.example/tenant/v2.0"})
    assert any("national-scope" in p for p in with_oidc.production_problems())
    assert settings.model_copy(update=SAFE).production_problems() == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"case_ref_key": SecretStr("x")}, "WSOA_CASE_REF_KEY is shorter"),
        ({"audit_signing_key": SecretStr("notbase64!!")}, "audit signing key cannot be used"),
        ({"audit_signing_key": SecretStr(""), "audit_signing_key_file": "/nonexistent/key.pem"}, "audit signing key cannot be used"),
        ({"public_base_url": "javascript:alert(1)"}, "https:// address"),
        ({"public_base_url": "http://wsoa.example.gov.uk"}, "https:// address"),
        ({"metrics_token": SecretStr("short")}, "WSOA_METRICS_TOKEN is shorter"),
        ({"oidc_issuer": "https://login.example/t/v2.0", "oidc_national_claim_value": ""}, "WSOA_OIDC_AUDIENCE"),
        ({"case_ref_key": SecretStr(" " * 40)}, "WSOA_CASE_REF_KEY is shorter"),
        (OIDC | {"oidc_audience": " "}, "WSOA_OIDC_AUDIENCE"),
        (OIDC | {"oidc_issuer": "http://login.example/t/v2.0"}, "WSOA_OIDC_ISSUER must be an https"),
        (OIDC | {"oidc_jwks_url": "http://login.example/keys"}, "WSOA_OIDC_JWKS_URL must be an https"),
        (OIDC | {"oidc_jwks_url": "", "oidc_jwks_file": "/nonexistent.json"}, "not a readable JWKS"),
        ({"smtp_host": ""}, "WSOA_SMTP_HOST is unset"),
        ({"smtp_username": "wsoa", "smtp_starttls": False}, "in the clear"),
    ],
)
def test_production_refuses_settings_that_are_there_but_useless(settings: Settings, change: dict[str, Any], named: str) -> None:
    problems = settings.model_copy(update=SAFE | change).production_problems()
    assert len(problems) == 1 and named in problems[0], problems


def test_check_config_lists_the_problems_without_starting(tmp_path: Any) -> None:
    database = f"sqlite:///{tmp_path / 'never.db'}"
    found = cli("check-config", WSOA_ENV="production", WSOA_DATABASE_URL=database)
    assert found.returncode == 1 and not (tmp_path / "never.db").exists()
    lines = found.stdout.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("- ") for line in lines), found.stdout
    assert "would refuse to start" in found.stderr
    serve = cli("serve", "--port", "9", WSOA_ENV="production", WSOA_DATABASE_URL=database)
    assert serve.returncode == 2 and "Traceback" not in serve.stderr and "WSOA_CASE_REF_KEY" in serve.stderr
    from app.audit.checkpoints import ensure_key_file

    ensure_key_file(tmp_path / "key.pem")
    fit = cli(
        "check-config",
        WSOA_ENV="production",
        WSOA_DATABASE_URL=database,
        WSOA_CASE_REF_KEY="a-long-random-secret-for-case-references",
        WSOA_AUDIT_SIGNING_KEY_FILE=str(tmp_path / "key.pem"),
        WSOA_PUBLIC_BASE_URL="https://wsoa.example.gov.uk",
        WSOA_SMTP_HOST="smtp.example.gov.uk",
    )
    assert fit.returncode == 0, fit.stdout + fit.stderr


async def test_metrics_need_their_token_in_production_and_docs_can_be_off(settings: Settings, db: Database) -> None:
    app = create_app(settings.model_copy(update=SAFE | {"docs": False}), db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        assert (await c.get("/metrics")).status_code == 404
        assert (await c.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 404
        assert (await c.get("/metrics", headers={"Authorization": "Bearer scraper-token-of-thirty-two-characters"})).status_code == 200
        assert (await c.get("/metrics", headers={"Authorization": "bearer scraper-token-of-thirty-two-characters"})).status_code == 200
        assert (await c.get("/docs")).status_code == 404 and (await c.get("/openapi.json")).status_code == 404
        assert (await c.get("/healthz")).status_code == 200
