"""The S3-compatible backend, against a real S3 API served by moto on 127.0.0.1."""

import hashlib
from collections.abc import AsyncIterator, Iterator
from typing import Any, NamedTuple

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.factories import make_world, post
from tests.test_conventions import assert_problem
from tests.test_evidence import PDF, expected_sha, pdf_stream

BUCKET = "wsoa-evidence"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class S3World(NamedTuple):
    client: httpx.AsyncClient
    bucket: Any  # a boto3 client on the same S3 endpoint, to look behind the service's back


@pytest.fixture
async def s3(
    settings: Settings, db: Database, admin_token: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[S3World]:
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "eu-west-2"}.items():
        monkeypatch.setenv(name, value)
    raw = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-west-2")
    if BUCKET not in {b["Name"] for b in raw.list_buckets()["Buckets"]}:
        raw.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    configured = settings.model_copy(update={"storage_backend": "s3", "s3_bucket": BUCKET, "s3_endpoint_url": s3_endpoint})
    app = create_app(configured, database=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {admin_token}"}
    ) as c:
        yield S3World(c, raw)


async def test_files_round_trip_through_the_bucket(s3: S3World) -> None:
    s3_client = s3.client
    w = await make_world(s3_client)
    item = await post(s3_client, "evidence", {"title": "Survey results", "kind": "survey", "action_id": w.action["id"]})
    size = 6 * 1024 * 1024
    uploaded = await s3_client.post(
        f"/api/v1/evidence/{item['id']}/file", content=pdf_stream(size, seed=7), headers={"content-type": "application/pdf"}
    )
    assert uploaded.status_code == 201, uploaded.text
    sha = uploaded.json()["sha256"]
    assert sha == expected_sha(size, seed=7)
    raw = s3.bucket
    stored = raw.get_object(Bucket=BUCKET, Key=f"evidence/{sha[:2]}/{sha}")["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == sha
    download = await s3_client.get(f"/api/v1/evidence/{item['id']}/file")
    assert hashlib.sha256(download.content).hexdigest() == sha
    part = await s3_client.get(f"/api/v1/evidence/{item['id']}/file", headers={"Range": "bytes=0-8"})
    assert part.status_code == 206 and part.content == b"%PDF-1.7\n"


async def test_a_changed_object_is_never_served(s3: S3World) -> None:
    s3_client = s3.client
    w = await make_world(s3_client)
    item = await post(s3_client, "evidence", {"title": "Audit", "kind": "audit", "action_id": w.action["id"]})
    sha = (
        await s3_client.post(f"/api/v1/evidence/{item['id']}/file", content=PDF + b"% s3\n", headers={"content-type": "application/pdf"})
    ).json()["sha256"]
    raw = s3.bucket
    raw.put_object(Bucket=BUCKET, Key=f"evidence/{sha[:2]}/{sha}", Body=PDF + b"% swapped\n")
    assert_problem(await s3_client.get(f"/api/v1/evidence/{item['id']}/file"), 500, "/problems/evidence-integrity")
