"""The deployment files say what the service reads: every `WSOA_*` variable that compose.yaml and the Dockerfile set is
a setting (unknown ones would be ignored without a word), production mode accepts compose.yaml's settings, and its
bucket job creates the bucket on a real S3 API (moto on 127.0.0.1), again without harm.

No container engine runs here: the image itself is not built (make lint checks the Dockerfile with hadolint and
compose.yaml against the Compose schema; the wheel test installs and runs what the image installs).
"""

import base64
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from app.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
SECRETS = {  # what the operator puts in .env, as compose.yaml's header says
    "WSOA_DB_PASSWORD": secrets.token_hex(24),
    "WSOA_S3_SECRET_KEY": secrets.token_hex(24),
    "WSOA_CASE_REF_KEY": secrets.token_hex(32),
    "WSOA_AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    "WSOA_PUBLIC_BASE_URL": "https://wsoa.example.gov.uk",
    "WSOA_SMTP_HOST": "smtp.example.gov.uk",
    "WSOA_FORWARDED_ALLOW_IPS": "10.0.0.5",
}
VARIABLE = re.compile(r"\$\{(\w+)(?:(:[?-])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}` (an unset required variable is an error)."""

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if env.get(name):
            return env[name]
        if kind == ":?":
            raise AssertionError(f"{name} is required: {rest}")
        return rest if kind == ":-" else ""

    return VARIABLE.sub(one, value)


def service_environment(name: str, env: dict[str, str]) -> dict[str, str]:
    return {key: interpolate(str(value), env) for key, value in COMPOSE["services"][name]["environment"].items()}


def dockerfile_environment() -> dict[str, str]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return dict(re.findall(r"\b(WSOA_\w+)=(\S+)", " ".join(line for line in text.splitlines() if line.startswith("ENV "))))


def test_every_variable_the_deployment_sets_is_a_setting() -> None:
    fields = {f"WSOA_{name.upper()}" for name in Settings.model_fields}
    set_by_compose = {key for service in COMPOSE["services"].values() for key in service.get("environment", {}) if key.startswith("WSOA_")}
    set_by_image = set(dockerfile_environment())
    assert set_by_compose and set_by_image
    assert set_by_compose - fields == set() and set_by_image - fields == set()


def test_compose_needs_its_secrets_and_production_mode_accepts_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AssertionError, match="WSOA_DB_PASSWORD"):
        service_environment("api-1", {})
    for service in ("api-1", "api-2", "worker", "migrate"):
        env = service_environment(service, SECRETS)
        for key in [k for k in os.environ if k.startswith("WSOA_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        assert settings.env == "production" and settings.storage_backend == "s3"
        assert settings.production_problems() == [], service
    assert COMPOSE["services"]["worker"]["command"] == ["wsoa", "worker"]
    assert {"api-1", "api-2", "worker", "db", "s3"} <= set(COMPOSE["services"])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_the_bucket_job_creates_the_bucket_once(s3_endpoint: str) -> None:
    job = COMPOSE["services"]["bucket"]["command"]
    assert job[:2] == ["python", "-c"]
    bucket = f"wsoa-evidence-{secrets.token_hex(4)}"  # moto's buckets are shared by every server in the process
    env = service_environment("bucket", SECRETS) | {
        "WSOA_S3_ENDPOINT_URL": s3_endpoint,
        "WSOA_S3_BUCKET": bucket,
        "PATH": os.environ["PATH"],
    }
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", job[2]], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert f"bucket {bucket} ready" in done.stdout
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]].count(bucket) == 1
