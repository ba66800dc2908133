"""OIDC bearer JWTs: the token matrix of OWASP API2, key rotation, a JWKS file, claims to roles.

Keys are generated here and the JWKS is served by the test itself on 127.0.0.1.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from app.core.auth import token_cache
from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.factories import make_world
from tests.test_conventions import assert_problem

ISSUER = "https://login.example/tenant-1/v2.0"
AUDIENCE = "api://wsoa-tracker"


class Jwks:
    """A JWKS endpoint on 127.0.0.1 whose keys a test can change (rotation)."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.hits = 0
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.hits += 1
                body = json.dumps({"keys": jwks.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/keys"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Signer:
    def __init__(self, kid: str, kind: str = "rsa") -> None:
        self.kid = kid
        if kind == "rsa":
            self.private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS256"
            self.jwk = {**RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": "RS256"}
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
            self.jwk = {**ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True), "kid": kid, "use": "sig", "alg": "ES256"}
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def token(self, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "user-123",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "roles": ["wsoa.admin"],
            "wsoa_partnership_id": "*",  # national, explicitly (a token without the claim is refused)
            **overrides,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers={"kid": self.kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer("key-1")


@pytest.fixture
def jwks(signer: Signer) -> Iterator[Jwks]:
    server = Jwks()
    server.keys = [signer.jwk]
    yield server
    server.close()


@pytest.fixture
async def oidc_client(settings: Settings, db: Database, jwks: Jwks) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(
        update={
            "oidc_issuer": ISSUER,
            "oidc_audience": AUDIENCE,
            "oidc_jwks_url": jwks.url,
            "oidc_role_prefix": "wsoa.",
            "oidc_leeway_seconds": 0,
        }
    )
    app = create_app(configured, database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c
    token_cache.clear()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_token_is_accepted(oidc_client: httpx.AsyncClient, signer: Signer) -> None:
    response = await oidc_client.get("/api/v1/plans", headers=bearer(signer.token()))
    assert response.status_code == 200, response.text


async def test_the_token_matrix_is_refused(oidc_client: httpx.AsyncClient, signer: Signer) -> None:
    now = int(time.time())
    stranger = Signer("key-1")  # same kid, different key: a forged signature
    unsigned = f"{b64(json.dumps({'alg': 'none', 'kid': 'key-1'}).encode())}.{b64(json.dumps({'iss': ISSUER, 'aud': AUDIENCE, 'sub': 'x', 'exp': now + 600, 'roles': ['wsoa.admin']}).encode())}."
    header = b64(json.dumps({"alg": "HS256", "kid": "key-1", "typ": "JWT"}).encode())
    payload = b64(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 600, "roles": ["wsoa.admin"]}).encode())
    confused = f"{header}.{payload}.{b64(hmac.new(signer.public_pem, f'{header}.{payload}'.encode(), hashlib.sha256).digest())}"
    cases = {
        "expired": signer.token(exp=now - 60, iat=now - 700, nbf=now - 700),
        "not yet valid": signer.token(nbf=now + 300),
        "wrong issuer": signer.token(iss="https://evil.example/"),
        "wrong audience": signer.token(aud="api://something-else"),
        "no audience": signer.token(aud=None),
        "alg none": unsigned,
        "HS256 with the RSA public key": confused,
        "unknown kid": jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 600, "roles": ["wsoa.admin"]},
            signer.private,
            algorithm="RS256",
            headers={"kid": "nope"},
        ),
        "forged signature": stranger.token(),
        "no role": signer.token(roles=[]),
        "two roles": signer.token(roles=["wsoa.admin", "wsoa.lead"]),
        "lead without partnership": signer.token(roles=["wsoa.lead"]),
        "garbage": "eyJhbGciOi.not.ajwt",
    }
    for name, token in cases.items():
        response = await oidc_client.get("/api/v1/plans", headers=bearer(token))
        assert response.status_code == 401, f"{name}: {response.status_code} {response.text}"
        assert response.headers["www-authenticate"].startswith("Bearer"), name


async def test_claims_map_to_role_partnership_and_person(oidc_client: httpx.AsyncClient, client: httpx.AsyncClient, signer: Signer) -> None:
    ours, theirs = await make_world(client), await make_world(client)
    lead = signer.token(roles=["wsoa.lead"], wsoa_partnership_id=ours.partnership["id"], sub="lead-1")
    listed = (await oidc_client.get("/api/v1/plans", headers=bearer(lead))).json()["items"]
    assert [p["id"] for p in listed] == [ours.plan["id"]]
    assert_problem(await oidc_client.get(f"/api/v1/plans/{theirs.plan['id']}", headers=bearer(lead)), 404)
    created = await oidc_client.post(
        "/api/v1/concerns",
        json={"plan_id": ours.plan["id"], "ref": "O1", "kind": "recommendation", "title": "Via OIDC"},
        headers=bearer(lead),
    )
    assert created.status_code == 201
    trail = (await client.get("/api/v1/audit-events", params={"entity_id": created.json()["id"]})).json()["items"]
    assert (trail[0]["actor_type"], trail[0]["actor_id"]) == ("oidc", "lead-1")
    contributor = signer.token(roles="wsoa.contributor", wsoa_partnership_id=ours.partnership["id"], wsoa_person_id=ours.owner["id"])
    update = await oidc_client.post(
        f"/api/v1/actions/{ours.action['id']}/progress-updates", json={"rag": "green", "narrative": "Fine"}, headers=bearer(contributor)
    )
    assert update.status_code == 201 and update.json()["author_id"] == ours.owner["id"]
    no_person = signer.token(roles="wsoa.contributor", wsoa_partnership_id=ours.partnership["id"])
    assert_problem(await oidc_client.get("/api/v1/plans", headers=bearer(no_person)), 401)


async def test_rotated_keys_are_picked_up(
    oidc_client: httpx.AsyncClient, signer: Signer, jwks: Jwks, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.core.oidc as oidc

    assert (await oidc_client.get("/api/v1/plans", headers=bearer(signer.token()))).status_code == 200
    rotated = Signer("key-2", kind="ec")
    jwks.keys = [signer.jwk, rotated.jwk]
    monkeypatch.setattr(oidc, "ROTATION_COOLDOWN_SECONDS", 0.0)
    assert (await oidc_client.get("/api/v1/plans", headers=bearer(rotated.token()))).status_code == 200
    jwks.keys = [rotated.jwk]
    hits = jwks.hits
    for _ in range(3):
        assert (await oidc_client.get("/api/v1/plans", headers=bearer(rotated.token(sub=f"u{_}")))).status_code == 200
    assert jwks.hits == hits, "known keys are served from the cache"


async def test_a_jwks_file_works_without_a_network(settings: Settings, db: Database, signer: Signer, tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [signer.jwk]}))
    app = create_app(
        settings.model_copy(
            update={"oidc_issuer": ISSUER, "oidc_audience": AUDIENCE, "oidc_jwks_file": str(path), "oidc_role_prefix": "wsoa."}
        ),
        database=db,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        assert (await c.get("/api/v1/plans", headers=bearer(signer.token()))).status_code == 200


async def test_jwts_are_refused_when_no_issuer_is_configured(anon: httpx.AsyncClient, signer: Signer) -> None:
    assert_problem(await anon.get("/api/v1/plans", headers=bearer(signer.token())), 401)


def test_symmetric_algorithms_cannot_be_configured() -> None:
    from pydantic import ValidationError

    for algorithms in ("HS256", "RS256,none", ""):
        with pytest.raises(ValidationError):
            Settings(oidc_algorithms=algorithms)


async def test_a_national_inspector_token_sees_every_partnership(
    oidc_client: httpx.AsyncClient, client: httpx.AsyncClient, signer: Signer
) -> None:
    a, b = await make_world(client), await make_world(client)
    inspector = signer.token(roles=["wsoa.inspector"], sub="dfe-adviser")
    listed = {p["id"] for p in (await oidc_client.get("/api/v1/plans", headers=bearer(inspector))).json()["items"]}
    assert listed == {a.plan["id"], b.plan["id"]}
    people = (await oidc_client.get("/api/v1/people", headers=bearer(inspector))).json()["items"]
    assert all("email" not in p for p in people)
    assert uuid.UUID(a.partnership["id"])


async def test_national_scope_must_be_explicit(
    oidc_client: httpx.AsyncClient, client: httpx.AsyncClient, signer: Signer, settings: Settings, db: Database, jwks: Jwks
) -> None:
    w = await make_world(client)
    for role in ("wsoa.admin", "wsoa.inspector"):
        silent = signer.token(roles=[role], wsoa_partnership_id=None)
        body = assert_problem(await oidc_client.get("/api/v1/plans", headers=bearer(silent)), 401)
        assert "wsoa_partnership_id" in body["detail"] and "'*'" in body["detail"]
    lead_everywhere = signer.token(roles=["wsoa.lead"], wsoa_partnership_id="*")
    assert_problem(await oidc_client.get("/api/v1/plans", headers=bearer(lead_everywhere)), 401)
    scoped = signer.token(roles=["wsoa.admin"], wsoa_partnership_id=w.partnership["id"])
    assert (await oidc_client.get("/api/v1/plans", headers=bearer(scoped))).status_code == 200

    # An allow-list of subjects instead of the claim value; with the value switched off, "*" means nothing.
    configured = settings.model_copy(
        update={
            "oidc_issuer": ISSUER, "oidc_audience": AUDIENCE, "oidc_jwks_url": jwks.url, "oidc_role_prefix": "wsoa.",
            "oidc_national_claim_value": "", "oidc_national_subjects": "dfe-adviser, ops-admin",
        }
    )  # fmt: skip
    app = create_app(configured, database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as listed:
        adviser = signer.token(roles=["wsoa.inspector"], sub="dfe-adviser", wsoa_partnership_id=None)
        plans = (await listed.get("/api/v1/plans", headers=bearer(adviser))).json()["items"]
        assert [p["id"] for p in plans] == [w.plan["id"]]
        stranger = signer.token(roles=["wsoa.inspector"], sub="someone-else", wsoa_partnership_id=None)
        assert_problem(await listed.get("/api/v1/plans", headers=bearer(stranger)), 401)
        star = signer.token(roles=["wsoa.admin"], sub="someone-else")
        assert_problem(await listed.get("/api/v1/plans", headers=bearer(star)), 401)
        listed_lead = signer.token(roles=["wsoa.lead"], sub="ops-admin", wsoa_partnership_id=None)
        assert_problem(await listed.get("/api/v1/plans", headers=bearer(listed_lead)), 401)
    token_cache.clear()


async def test_a_leavers_token_is_refused(oidc_client: httpx.AsyncClient, client: httpx.AsyncClient, signer: Signer) -> None:
    w = await make_world(client)
    contributor = signer.token(roles="wsoa.contributor", wsoa_partnership_id=w.partnership["id"], wsoa_person_id=w.owner["id"])
    url = f"/api/v1/actions/{w.action['id']}/progress-updates"
    assert (await oidc_client.post(url, json={"rag": "green", "narrative": "Fine"}, headers=bearer(contributor))).status_code == 201
    person = f"/api/v1/people/{w.owner['id']}"
    etag = (await client.get(person)).headers["etag"]
    assert (await client.patch(person, json={"active": False}, headers={"If-Match": etag})).status_code == 200
    refused = await oidc_client.post(url, json={"rag": "red", "narrative": "After leaving"}, headers=bearer(contributor))
    assert "has left the partnership" in assert_problem(refused, 401)["detail"]
    unknown = signer.token(roles="wsoa.contributor", wsoa_partnership_id=w.partnership["id"], wsoa_person_id=str(uuid.uuid4()))
    assert_problem(await oidc_client.get("/api/v1/plans", headers=bearer(unknown)), 401)
