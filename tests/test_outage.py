"""The database goes away under load and comes back: fast 503 problems meanwhile, `/readyz` says so, and the
service recovers by itself, without a restart.

The outage is made by a TCP proxy of the test's own between the service and PostgreSQL: stopping it
drops every open connection and refuses new ones, as a PostgreSQL restart does, without touching the
server that the rest of the suite uses.
"""

import asyncio
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.core.db import Database
from tests.conftest import new_token
from tests.servers import free_port, served

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]


class Proxy:
    """Forwards 127.0.0.1:<port> to the real server until stopped; `start` opens it again on the same port.
    It runs its own event loop in a thread, so the test's blocking waits never stall it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.StreamWriter] = set()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def start(self) -> None:
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=10)

    def close(self) -> None:
        if self.server is not None:
            self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    async def _start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.pipes):
            writer.transport.abort()
        await self.server.wait_closed()
        self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.pipes |= {writer, up_writer}

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, ConnectionError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self.pipes -= {writer, up_writer}


async def test_requests_fail_fast_while_the_database_is_away_and_recover_without_a_restart(
    client: httpx.AsyncClient, db: Database, database_url: str, settings: Settings, tmp_path: Path
) -> None:
    real = make_url(database_url)
    proxy = Proxy(real.host or "127.0.0.1", real.port or 5432)
    proxy.start()
    token = await new_token(db)
    via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    seen: Counter[int] = Counter()
    bad: list[str] = []
    slowest = {"down": 0.0}
    phase = "up"
    with served(via_proxy, settings, tmp_path, rate_limits="{}") as server:
        async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:

            async def load() -> None:
                while True:
                    start = time.monotonic()
                    try:
                        resp = await c.get("/api/v1/plans")
                    except httpx.HTTPError as exc:  # the service must answer, not drop the connection
                        bad.append(repr(exc))
                        await asyncio.sleep(0.05)
                        continue
                    took = time.monotonic() - start
                    seen[resp.status_code] += 1
                    if phase == "down":
                        slowest["down"] = max(slowest["down"], took)
                    if resp.status_code >= 500 and not (
                        resp.status_code == 503
                        and resp.headers["content-type"] == "application/problem+json"
                        and "retry-after" in resp.headers
                    ):
                        bad.append(f"{resp.status_code} {resp.text[:300]}")
                    await asyncio.sleep(0.01)

            workers = [asyncio.create_task(load()) for _ in range(4)]
            await asyncio.sleep(1.5)
            assert seen[200] > 0 and set(seen) == {200}
            phase = "down"
            proxy.stop()
            await asyncio.sleep(2.0)
            ready = await c.get("/readyz")
            assert ready.status_code == 503 and ready.json()["type"] == "/problems/unavailable"
            down = Counter(seen)
            proxy.start()
            phase = "up"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (await c.get("/readyz")).status_code != 200:
                await asyncio.sleep(0.2)
            before = seen[200]
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and seen[200] < before + 20:  # the load gets answers again
                await asyncio.sleep(0.1)
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            recovered = (await c.get("/api/v1/plans")).status_code
    proxy.close()
    print(f"responses: {dict(seen)}; at the outage {dict(down)}; slowest while away {slowest['down']:.2f} s")
    assert bad == []
    assert down[503] > 0, f"no request saw the outage: {down}"
    assert set(seen) <= {200, 503}, seen
    assert slowest["down"] < 5.0, f"a request took {slowest['down']:.1f} s while the database was away"
    assert seen[200] >= before + 20 and recovered == 200
