"""Webhook destinations against server-side request forgery: a host name is resolved once per attempt, every
address is checked and the request goes to a checked address (DNS rebinding cannot redirect it), with the
URL's host kept as `Host` and TLS server name; shared (carrier-grade NAT) addresses and IPv6 forms embedding a
refused IPv4 address are refused; URLs that cannot be parsed are a 422 problem.

No test here leaves 127.0.0.1: names resolve through a fake resolver, and a connection to any other address is
recorded and refused before a packet is sent."""

import ipaddress
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import httpx
import pytest
from httpcore._backends.anyio import AnyIOBackend

from app.core.config import Settings
from app.core.db import Database
from app.integrations import webhooks
from app.main import create_app
from tests.certs import certificate_for
from tests.factories import make_partnership, post
from tests.test_conventions import assert_problem
from tests.test_webhooks import Receiver, deliveries, receiver, subscribe, work

__all__ = ["receiver"]  # the fixture, used by name

PUBLIC = "93.184.215.14"  # a global address: checks pass; the guard below keeps any connection to it local
TEREDO_LOOPBACK = "2001:0:4136:e378:8000:63bf:80ff:fffe"  # Teredo whose client is 127.0.0.1 (stored inverted)
REFUSED = [
    "100.100.100.200",  # carrier-grade NAT range (cloud metadata)
    "100.64.0.1",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
    TEREDO_LOOPBACK,
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:a9fe:a9fe",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a64:101",  # NAT64 of 10.100.1.1
    "fec0::1",  # IPv6 site-local (deprecated, still routed inside some networks)
    "192.0.0.8",  # IETF protocol assignments
    "192.88.99.1",  # 6to4 relay anycast
    "2001:db8::1",  # documentation
]


@dataclass
class FakeDNS:
    """Answers for chosen names (each call takes the next answer; the last one repeats); others resolve for real."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    real: Callable[..., Any] = socket.getaddrinfo

    def __call__(self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return self.real(host, port, family, type, proto, flags)
        self.calls[name] = self.calls.get(name, 0) + 1
        queue = self.answers[name]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        number = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, number, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, number))
            for a in addresses
        ]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def outside(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Addresses other than 127.0.0.1 the HTTP client tried to connect to (refused on the spot). Host names go to
    the real connect, which resolves them itself (through the fake resolver)."""
    tried: list[str] = []
    real = AnyIOBackend.connect_tcp

    async def guarded(self: AnyIOBackend, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return await real(self, host, port, *args, **kwargs)
        if address != ipaddress.ip_address("127.0.0.1"):
            tried.append(host)
            raise httpcore.ConnectError(f"no network beyond 127.0.0.1 in tests ({host})")
        return await real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(AnyIOBackend, "connect_tcp", guarded)
    return tried


@pytest.fixture
async def strict(settings: Settings, db: Database, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"webhook_allow_private": False}), database=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers={"Authorization": f"Bearer {admin_token}"}
    ) as c:
        yield c


def port_of(receiver: Receiver) -> int:
    return int(receiver.server.server_address[1])


async def test_a_name_rebound_to_loopback_after_the_check_is_never_reached(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver, dns: FakeDNS, outside: list[str]
) -> None:
    p = await make_partnership(client)
    sub = await subscribe(client, f"http://rebind.test:{port_of(receiver)}/hooks", partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    dns.answers["rebind.test"] = [[PUBLIC], ["127.0.0.1"]]  # public when checked, loopback when asked again
    dns.calls.clear()
    await work(db, settings.model_copy(update={"webhook_allow_private": False}))
    assert receiver.received == []
    assert outside == [PUBLIC]  # the connection went to the address that was checked
    assert dns.calls == {"rebind.test": 1}  # resolved once for the attempt
    log = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries")).json()["items"]
    assert [(d["status"], d["attempts"]) for d in log] == [("pending", 1)] and "ConnectError" in log[0]["last_error"]


async def test_every_address_is_checked_and_every_attempt_resolves_again(
    client: httpx.AsyncClient, strict: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver, dns: FakeDNS,
    outside: list[str],
) -> None:  # fmt: skip
    dns.answers["mixed.test"] = [[PUBLIC, "100.100.100.200"]]
    body = assert_problem(await strict.post("/api/v1/webhook-subscriptions", json={"url": "https://mixed.test/x"}), 422)
    assert body["errors"][0]["pointer"] == "/url"
    p = await make_partnership(client)
    sub = await subscribe(client, f"http://flip.test:{port_of(receiver)}/hooks", partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    dns.answers["flip.test"] = [[PUBLIC], [PUBLIC, "::ffff:127.0.0.1"]]
    dns.calls.clear()
    strict_settings = settings.model_copy(update={"webhook_allow_private": False})
    await work(db, strict_settings)  # first attempt: a public address, unreachable here
    await work(db, strict_settings)  # second attempt: resolved again, one address refused: nothing sent
    assert dns.calls == {"flip.test": 2} and outside == [PUBLIC] and receiver.received == []
    [delivery] = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries")).json()["items"]
    assert delivery["attempts"] == 2 and delivery["last_error"] == webhooks.REFUSED


async def test_the_pinned_request_keeps_the_host_header(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver, dns: FakeDNS, outside: list[str]
) -> None:
    dns.answers["hooks.test"] = [["127.0.0.1"]]  # allowed: these settings let webhooks go to private addresses
    p = await make_partnership(client)
    sub = await subscribe(client, f"http://hooks.test:{port_of(receiver)}/hooks", partnership_id=p["id"])
    receiver.script = [500]
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    dns.calls.clear()
    await work(db, settings)
    await work(db, settings)
    assert dns.calls == {"hooks.test": 2} and outside == []
    assert [h["host"] for h, _ in receiver.received] == [f"hooks.test:{port_of(receiver)}"] * 2
    assert len(receiver.verified(sub["secret"])) == 2


@pytest.mark.parametrize("address", REFUSED)
async def test_refused_addresses_at_subscription(strict: httpx.AsyncClient, dns: FakeDNS, address: str) -> None:
    literal = f"[{address}]" if ":" in address else address
    dns.answers["refused.test"] = [[address]]
    for url in (f"http://{literal}/latest", "https://refused.test/x"):
        body = assert_problem(await strict.post("/api/v1/webhook-subscriptions", json={"url": url}), 422)
        assert body["errors"][0] == {"pointer": "/url", "message": webhooks.REFUSED}, url


@pytest.mark.parametrize("address", REFUSED)
async def test_refused_addresses_at_delivery(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver, dns: FakeDNS, outside: list[str], address: str
) -> None:
    p = await make_partnership(client)
    sub = await subscribe(client, f"http://later.test:{port_of(receiver)}/hooks", partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    dns.answers["later.test"] = [[address]]
    await work(db, settings.model_copy(update={"webhook_allow_private": False}))
    assert receiver.received == [] and outside == []
    [delivery] = (await client.get(f"/api/v1/webhook-subscriptions/{sub['id']}/deliveries")).json()["items"]
    assert (delivery["attempts"], delivery["last_error"]) == (1, webhooks.REFUSED)


def test_embedded_ipv4_forms_are_judged_by_the_ipv4_address() -> None:
    assert ipaddress.IPv6Address(TEREDO_LOOPBACK).teredo == (ipaddress.IPv4Address("65.54.227.120"), ipaddress.IPv4Address("127.0.0.1"))
    assert all(webhooks.refused(ipaddress.ip_address(a)) for a in REFUSED)
    assert not webhooks.refused(ipaddress.ip_address(PUBLIC))


BAD_URLS = ["http://\u00d6\u00a2\u00bc[", "http://[::1/x", "http://[zz]/x", "http://a.example:99999/x", "http://a.example:0/x",
            "https://exa\u00a0mple.org/x", "http://\u00d6\u00a2\u00bc]/x"]  # fmt: skip


async def test_urls_that_cannot_be_parsed_are_422(client: httpx.AsyncClient, strict: httpx.AsyncClient) -> None:
    for c in (client, strict):  # with and without private destinations allowed
        for url in BAD_URLS:
            body = assert_problem(await c.post("/api/v1/webhook-subscriptions", json={"url": url}), 422)
            assert body["errors"][0]["pointer"] == "/url", url
    sub = await subscribe(client, "http://127.0.0.1:9/hooks")
    path = f"/api/v1/webhook-subscriptions/{sub['id']}"
    for url in BAD_URLS:
        etag = (await client.get(path)).headers["etag"]
        response = await client.patch(path, json={"url": url}, headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"})
        assert_problem(response, 422)


# https: the connection goes to the checked address, the certificate is verified against the URL's host name.


@pytest.fixture
def tls_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list[str], list[dict[str, str]]]]:
    server_context, ca_pem = certificate_for("hooks.test")
    client_context = ssl.create_default_context(cadata=ca_pem.decode())
    names: list[str] = []
    headers: list[dict[str, str]] = []
    server_context.sni_callback = lambda _sock, name, _ctx: names.append(name) or None  # type: ignore[assignment,func-returns-value]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            headers.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(httpx, "create_ssl_context", lambda *a, **k: client_context)  # the workers trust the test CA
    yield int(server.server_address[1]), names, headers
    server.shutdown()
    server.server_close()


async def test_https_is_pinned_with_the_host_name_as_server_name(
    client: httpx.AsyncClient, db: Database, settings: Settings, dns: FakeDNS, outside: list[str],
    tls_receiver: tuple[int, list[str], list[dict[str, str]]],
) -> None:  # fmt: skip
    port, names, headers = tls_receiver
    dns.answers["hooks.test"] = [["127.0.0.1"]]
    p = await make_partnership(client)
    sub = await subscribe(client, f"https://hooks.test:{port}/hooks", partnership_id=p["id"])
    await post(client, "organisations", {"partnership_id": p["id"], "name": "A", "kind": "other"})
    dns.calls.clear()
    await work(db, settings)
    assert dns.calls == {"hooks.test": 1} and outside == []
    assert names == ["hooks.test"] and [h["host"] for h in headers] == [f"hooks.test:{port}"]
    made = [d for d in await deliveries(db) if str(d.subscription_id) == sub["id"]]
    assert [(d.status, d.last_error) for d in made] == [("succeeded", None)]
