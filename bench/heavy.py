"""The heavy scenarios of `bench.run`: requests that each carry thousands of rows or a whole report.

Each is driven one request at a time (a bounded load: an integration sends its batches in sequence)
for a number of seconds, at least three requests, against the service and the baseline in turn:

- sync: `POST /people/sync` of 10,000 people, mode full, alternating between a feed and the same feed
  with 10% of job titles changed and 10% of people missing (so every request updates, deactivates or
  reactivates 2,000 people); each server has its own partnership;
- cases: `POST /case-events` of 10,000 new events (about 2,450 cases) per request; own partnership each;
- timeliness: the three-year monthly `GET /partnerships/{id}/ehcp-timeliness` over 200,000 events;
- xlsx: `POST /plans/{id}/exports` of the 500-action plan as XLSX (board audience), produced in the
  request (the service's inline limit is raised for the benchmark; by default a plan this size goes to
  the worker).
"""

import hashlib
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import orjson

HEAVY = ("sync", "cases", "timeliness", "xlsx")
SYNC_ROWS = 10_000
CASE_BATCH = 10_000
TIMELINESS_PATH = "/api/v1/partnerships/{id}/ehcp-timeliness?from=2023-01-01&to=2025-12-31&granularity=month"


def area_id(name: str) -> uuid.UUID:
    """The fixed id of a benchmark partnership."""
    return uuid.UUID(hashlib.md5(name.encode()).hexdigest())


# Partnerships the heavy scenarios write to, one per server so each does the same work.
AREAS = {("sync", "service"): "bench sync service", ("sync", "baseline"): "bench sync baseline",
         ("cases", "service"): "bench cases service", ("cases", "baseline"): "bench cases baseline"}  # fmt: skip


def people_feed(changed: bool) -> list[dict[str, Any]]:
    rows = []
    for n in range(SYNC_ROWS):
        if changed and n % 10 == 9:
            continue  # a leaver this time
        rows.append(
            {
                "external_id": f"HR{n:06d}",
                "display_name": f"Officer {n}",
                "email": f"officer{n}@council.example",
                "job_title": "Team manager" if changed and n % 10 == 0 else "SEND officer",
                "active": True,
            }
        )
    return rows


def case_batch(prefix: str, rng: random.Random) -> list[dict[str, Any]]:
    """10,000 new events (event ids and case references start with `prefix`), all dated in the past."""
    out: list[dict[str, Any]] = []
    start = date(2023, 1, 1)
    n = 0
    while len(out) < CASE_BATCH:
        ref, received = f"{prefix}-{n}", start + timedelta(days=rng.randint(0, 3 * 365 - 200))
        days = rng.randint(90, 260)
        for kind, on, extra in (
            ("request_received", received, {}),
            ("request_decision", received + timedelta(days=rng.randint(28, 42)), {"outcome": "assess"}),
            ("draft_issued", received + timedelta(days=days - 21), {}),
            ("final_issued", received + timedelta(days=days), {}),
        ):
            out.append({"event_id": f"{ref}-{kind}", "case_ref": ref, "type": kind, "occurred_on": on.isoformat(), **extra})
        n += 1
    return out[:CASE_BATCH]


class Requests:
    """The next request of a scenario for one server: (method, path, body bytes or None)."""

    def __init__(self, scenario: str, server: str, plan_id: str, timeliness_area: uuid.UUID | str) -> None:
        self.scenario, self.server, self.plan_id, self.timeliness_area = scenario, server, plan_id, timeliness_area
        self.n = 0
        self.rng = random.Random(f"{scenario}-{server}")
        self.feeds = [people_feed(False), people_feed(True)] if scenario == "sync" else []

    def next(self) -> tuple[str, str, bytes | None]:
        self.n += 1
        if self.scenario == "sync":
            body = {"partnership_id": str(area_id(AREAS["sync", self.server])), "mode": "full", "people": self.feeds[self.n % 2]}
            return "POST", "/api/v1/people/sync", orjson.dumps(body)
        if self.scenario == "cases":
            prefix = f"{self.server[0]}{uuid.uuid4().hex[:8]}"
            body = {"partnership_id": str(area_id(AREAS["cases", self.server])), "events": case_batch(prefix, self.rng)}
            return "POST", "/api/v1/case-events", orjson.dumps(body)
        if self.scenario == "timeliness":
            return "GET", TIMELINESS_PATH.format(id=self.timeliness_area), None
        return "POST", f"/api/v1/plans/{self.plan_id}/exports", orjson.dumps({"format": "xlsx", "audience": "board"})


def _headers(token: str) -> dict[str, str]:
    return {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}


def drive(port: int, token: str, make: Callable[[], tuple[str, str, bytes | None]], seconds: float, least: int = 3) -> dict[str, float]:
    """Sends requests one after another for `seconds` (at least `least`); requests/s, p50, p99 (ms) and errors."""
    times: list[float] = []
    errors = 0
    busy = 0.0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=_headers(token), timeout=600) as client:
        while busy < seconds or len(times) < least:
            method, path, body = make()  # built outside the timed span
            started = time.perf_counter()
            response = client.request(method, path, content=body)
            took = time.perf_counter() - started
            busy += took
            times.append(took * 1000)
            if response.status_code >= 300:
                errors += 1
                print(f"  {response.status_code} from {path}: {response.text[:300]}", flush=True)
    times.sort()
    return {
        "rps": len(times) / busy,
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, round(0.99 * (len(times) - 1)))],
        "errors": errors,
    }


def first_answers(port: int, token: str, scenario: str, server: str, plan_id: str, area: uuid.UUID | str) -> Any:
    """The JSON (or, for the XLSX export, the size class) of a scenario's first request, to compare the servers."""
    method, path, body = Requests(scenario, server, plan_id, area).next()
    response = httpx.request(method, f"http://127.0.0.1:{port}{path}", content=body, headers=_headers(token), timeout=600)
    response.raise_for_status()
    found = response.json()
    return {"size_bytes": found["size_bytes"] > 0} if scenario == "xlsx" else found
