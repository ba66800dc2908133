"""The service beside a raw Starlette + asyncpg baseline, on PostgreSQL, scenario by scenario.

    python -m bench.run [--seconds 10] [--rounds 3] [--connections 32] [--workers 1,2] [--actions 500] [--people 5000]
                        [--events 200000] [--heavy-seconds 10] [--scenarios list,detail,...]

Builds a fresh `wsoa_bench` database (1 plan, 12 concerns, 500 actions with owners, milestones and
updates, 5,000 people; 7 small partnerships of 50 actions each beside it, created after all of those
actions; 200,000 EHCP case events of another partnership), then for each worker count starts the
service and the baseline with that many worker processes on 127.0.0.1, checks they answer the same,
and runs each scenario against both in alternation (A B A B ...):
- with wrk (2 threads, 32 connections): list actions (limit 50), get one action (the seeded plan's
  actions in turn), and post a progress update (the service with its audit event, change-feed row,
  Idempotency-Key record and ETag; the baseline with one INSERT):
  - update: to the seeded plan's actions in turn, all in one partnership;
  - update8: 8 partnerships writing at once: to 400 actions, 50 of each of the 8 (the seeded one and
    the 7 small ones) interleaved so consecutive requests go to different partnerships, each update
    authored by its action's owner;
  both send an `Idempotency-Key` unique to each request (wrk thread, wall-clock second and the
  thread's request counter: the counter keeps keys apart within a run, the second between runs), so
  the service stores its answer with every write, as a client retrying safely would have it;
- one request at a time (`bench.heavy`, first worker count only): a 10,000-person sync, 10,000 case
  events, the three-year timeliness report and an XLSX export of the plan.
Reports requests/s, p50, p99, errors and the ratio to the baseline per pair, with the median ratio per
scenario. Results (JSON, Markdown table, PNG chart) go to bench/results/, each with the commit measured
(`git rev-parse HEAD`) and whether the work tree had uncommitted changes then.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event
from sqlalchemy.engine import make_url

from app.apikeys.service import create_key
from app.core.db import Database
from app.core.migrations import upgrade
from app.core.uow import unit_of_work
from app.models.enums import Role
from bench import heavy
from bench.data import EVENTS_PER_CASE, TIMELINESS_AREA, WRITER_ACTIONS, WRITERS, add_partnership, add_writers, grow_events, seed

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SERVER_URL = os.environ.get("WSOA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SERVICE_PORT, BASELINE_PORT = 8811, 8812


def dsn_of(url: str) -> str:
    """The plain `postgresql://` form of a database URL, for asyncpg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def fresh_database(name: str) -> str:
    """A new, migrated database `name` on the benchmark server (dropped first if it exists); its URL."""
    server = make_url(SERVER_URL)
    admin = await asyncpg.connect(dsn_of(SERVER_URL))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = server.set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, url)
    return url


def source_state() -> dict[str, Any]:
    """The commit checked out and the paths with uncommitted changes (read only: no index refresh)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    changed = [line[3:] for line in git("status", "--porcelain").splitlines() if line.strip()]
    return {"commit": git("rev-parse", "HEAD").strip(), "dirty": bool(changed), "changed": changed}


async def connection_room(dsn: str) -> tuple[int, int]:
    """PostgreSQL's max_connections and the connections open now (other clients of the server included)."""
    conn = await asyncpg.connect(dsn)
    try:
        limit = int(await conn.fetchval("SHOW max_connections"))
        used: int = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
        return limit, used
    finally:
        await conn.close()


class Statements:
    """SQL statements run through an engine while counting (`counted`)."""

    count = 0


@contextmanager
def counted(db: Database) -> Iterator[Statements]:
    """Count the statements `db` runs inside the block (set `.count = 0` to start again part-way)."""
    found = Statements()

    def count(*_: Any) -> None:
        found.count += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield found
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


def save(name: str, stamp: str, lines: list[str], payload: dict[str, Any]) -> None:
    """A scenario's results as bench/results/<name>-<stamp>.md (the table) and .json (the figures), and printed."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}-{stamp}.md").write_text("\n".join(lines) + "\n")
    (RESULTS / f"{name}-{stamp}.json").write_text(json.dumps(payload, indent=2))
    print("\n".join(lines))


def load() -> list[float]:
    """The machine's 1, 5 and 15-minute load averages (other work on the machine skews every number)."""
    return [round(x, 2) for x in os.getloadavg()]


def source_note(start: dict[str, Any], end: dict[str, Any]) -> str:
    """One Markdown line on the commit measured, for the results file."""
    note = f"Commit `{start['commit']}`" + (
        f", work tree dirty ({len(start['changed'])} paths with uncommitted changes)." if start["dirty"] else ", work tree clean."
    )
    if end != start:
        note += f" The source changed during the run (at the end: commit `{end['commit']}`, {len(end['changed'])} changed paths)."
    return note


class Targets:
    """What the wrk scenarios write to and read: action ids, and for the writes each action's author."""

    def __init__(self, ids: list[str], authors: list[str]) -> None:
        assert ids and len(authors) == len(ids)
        self.ids, self.authors = ids, authors


async def prepare(name: str, actions: int, people: int, events: int) -> tuple[str, str, Targets, Targets, str]:
    """The database's URL, an admin key, the seeded plan's actions (each with the same author, as the `update`
    scenario has always posted), the 8 partnerships' actions of `update8` (each with its owner), and the plan."""
    url = await fresh_database(name)
    db = Database(url)
    await seed(db, actions=actions, people=people)
    dsn = dsn_of(url)
    await add_writers(dsn)
    if events:
        await grow_events(dsn, (0, round(events / EVENTS_PER_CASE)))
    conn = await asyncpg.connect(dsn)
    for n, area in enumerate(heavy.AREAS.values()):
        await add_partnership(conn, str(heavy.area_id(area)), area, f"H{n:02d}")
    await conn.close()
    async with unit_of_work(db) as session:  # create_key leaves the commit (and its audit event) to the unit of work
        _, token = await create_key(session, role=Role.admin, name="bench")
    async with db.engine.connect() as conn:
        from sqlalchemy import text

        plan = str((await conn.execute(text("SELECT id FROM plan WHERE title = 'Benchmark WSoA'"))).scalar_one())
        found = (await conn.execute(text("SELECT id, owner_id FROM action WHERE plan_id = :p ORDER BY created_at, id"), {"p": plan})).all()
        ids = [str(r[0]) for r in found]
        seeded = Targets(ids, [str(found[0][1])] * len(ids))
        ranked = await conn.execute(
            text(
                "SELECT partnership_id, id, owner_id FROM ("
                "  SELECT *, row_number() OVER (PARTITION BY partnership_id ORDER BY created_at, id) AS n FROM action"
                "  WHERE partnership_id IN (SELECT partnership_id FROM plan WHERE id = :p)"
                "     OR partnership_id IN (SELECT id FROM partnership WHERE name LIKE 'Writer area %')"
                ") a WHERE n <= :n ORDER BY partnership_id, n"
            ),
            {"p": plan, "n": WRITER_ACTIONS},
        )
        by_area: dict[str, list[tuple[str, str]]] = {}
        for area, action, owner in ranked:
            by_area.setdefault(str(area), []).append((str(action), str(owner)))
    await db.dispose()
    assert len(by_area) == 1 + WRITERS, f"{len(by_area)} partnerships for update8"
    spread = [pair for turn in zip(*by_area.values(), strict=True) for pair in turn]  # one action of each partnership in turn
    return url, token, seeded, Targets([a for a, _ in spread], [o for _, o in spread]), plan


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(cmd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)


def wait_up(url: str, headers: dict[str, str]) -> None:
    for _ in range(100):
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"server at {url} did not come up")


def normalise(value: Any) -> Any:
    """Timestamps are compared as instants: PostgreSQL and the service spell fractions differently."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", value):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).isoformat()
    return value


def check_same(token: str, action_id: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    ours = httpx.get(f"http://127.0.0.1:{SERVICE_PORT}/api/v1/actions?limit=50", headers=headers).json()["items"]
    theirs = httpx.get(f"http://127.0.0.1:{BASELINE_PORT}/api/v1/actions?limit=50").json()["items"]
    if normalise(ours) != normalise(theirs):
        raise SystemExit("the service and the baseline disagree on the list of actions")
    one = httpx.get(f"http://127.0.0.1:{SERVICE_PORT}/api/v1/actions/{action_id}", headers=headers).json()
    other = httpx.get(f"http://127.0.0.1:{BASELINE_PORT}/api/v1/actions/{action_id}").json()
    if normalise(one) != normalise(other):
        raise SystemExit("the service and the baseline disagree on one action")


LUA = """
local ids = {%s}
local authors = {%s}
local token = "%s"
local mode = "%s"
local keys = "%s"
local n = 0
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tag", threads)  -- a global in the thread's own Lua state, read by request() below
end
request = function()
  n = n + 1
  local headers = {}
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  if mode == "update" or mode == "update8" then
    local i = (n %% #ids) + 1
    headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = string.format("%%s-%%s-%%d-%%d", keys, tostring(_G.tag), os.time(), n)
    local body = '{"author_id": "' .. authors[i] .. '", "rag": "green", "narrative": "Reported to the Delivery Group.", "percent_complete": 50}'
    return wrk.format("POST", "/api/v1/actions/" .. ids[i] .. "/progress-updates", headers, body)
  end
  local path = "/api/v1/actions?limit=50"
  if mode == "detail" then path = "/api/v1/actions/" .. ids[(n %% #ids) + 1] end
  return wrk.format("GET", path, headers)
end
"""
SCENARIOS = ("list", "detail", "update", "update8", *heavy.HEAVY)
KEY_PREFIX = {"update8": "bench-update8"}  # `update` keeps the keys it has always sent: bench-<thread>-<second>-<n>
BARS = {"list": 0.3, "detail": 0.3, "update": 0.2}


def wrk(port: int, scenario: str, token: str, targets: Targets, seconds: int, connections: int, folder: Path) -> dict[str, float]:
    script = folder / f"{scenario}-{port}.lua"
    quoted = [",".join(f'"{v}"' for v in values) for values in (targets.ids, targets.authors)]
    script.write_text(LUA % (*quoted, token, scenario, KEY_PREFIX.get(scenario, "bench")))
    return run_wrk(["-t2", f"-c{connections}", "-s", str(script)], f"http://127.0.0.1:{port}", seconds)


def wrk_path(port: int, path: str, token: str, seconds: int, *, connections: int, threads: int) -> dict[str, float]:
    """wrk on one GET path with a bearer token (no script)."""
    return run_wrk([f"-t{threads}", f"-c{connections}", "-H", f"Authorization: Bearer {token}"], f"http://127.0.0.1:{port}{path}", seconds)


def run_wrk(options: list[str], url: str, seconds: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", *options, f"-d{seconds}s", "--latency", url], capture_output=True, text=True, check=True, timeout=seconds + 60
    ).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, float]:
    """Requests/s, p50 and p99 in ms, and failures (non-2xx/3xx answers and socket errors) from wrk's report."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)

    def latency(pct: str) -> float:
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        assert m is not None, out
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    failures = int(errors.group(1)) if errors else 0
    if socket_errors:
        failures += sum(int(g) for g in socket_errors.groups())
    return {"rps": rps, "p50_ms": latency("50"), "p99_ms": latency("99"), "errors": failures}


def serve_pair(url: str, dsn: str, workers: int, folder: Path) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    service = start(
        [str(ROOT / ".venv/bin/wsoa"), "serve", "--port", str(SERVICE_PORT), "--workers", str(workers)],
        # The limiter runs (its check is part of the cost) with a limit no benchmark reaches.
        {
            "WSOA_DATABASE_URL": url,
            "WSOA_RATE_LIMITS": '{"admin": 100000000, "lead": 100000000}',
            "WSOA_EXPORT_INLINE_MAX_ACTIONS": "100000",  # the XLSX scenario times the export itself, not the worker's queue
        },
        folder / f"service-{workers}.log",
    )
    baseline = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.baseline:app",
            "--port",
            str(BASELINE_PORT),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        {"BENCH_DSN": dsn},
        folder / f"baseline-{workers}.log",
    )
    return service, baseline


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for proc in processes:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", default="1,2", help="Worker processes per server, comma-separated runs.")
    parser.add_argument("--actions", type=int, default=500)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--events", type=int, default=200_000, help="Case events behind the timeliness scenario.")
    parser.add_argument("--heavy-seconds", type=float, default=10, help="Seconds of requests per heavy scenario and round.")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"Which of {', '.join(SCENARIOS)}.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}; choose from {', '.join(SCENARIOS)}")

    source, load_before = source_state(), load()
    url, token, seeded, spread, plan = asyncio.run(prepare("wsoa_bench", args.actions, args.people, args.events))
    first_workers = int(args.workers.split(",")[0])
    folder = Path(tempfile.mkdtemp(prefix="wsoa-bench-"))
    print(f"commit {source['commit']}{' (work tree dirty)' if source['dirty'] else ''}; server logs in {folder}", flush=True)
    dsn = dsn_of(url)
    rows: list[dict[str, Any]] = []
    room: dict[int, tuple[int, int]] = {}
    for workers in [int(w) for w in args.workers.split(",")]:
        limit, used = room[workers] = asyncio.run(connection_room(dsn))
        # The service: a write and a read pool per worker (WSOA_DB_POOL_SIZE, 10) and 2 for its bookkeeping; the baseline: up to 20.
        needed = workers * (2 * 10 + 2 + 20)
        if used + needed > limit:
            print(f"warning: {used} of PostgreSQL's {limit} connections are in use and the servers may open {needed} more", flush=True)
        service, baseline = serve_pair(url, dsn, workers, folder)
        try:
            wait_up(f"http://127.0.0.1:{SERVICE_PORT}/api/v1/actions?limit=1", {"Authorization": f"Bearer {token}"})
            wait_up(f"http://127.0.0.1:{BASELINE_PORT}/api/v1/actions?limit=1", {})
            check_same(token, seeded.ids[7])
            for scenario in args.scenarios.split(","):
                if scenario in heavy.HEAVY:
                    if workers != first_workers:
                        continue  # one request at a time: more worker processes change nothing
                    same = [heavy.first_answers(port, key, scenario, server, plan, TIMELINESS_AREA)
                            for port, key, server in ((SERVICE_PORT, token, "service"), (BASELINE_PORT, "", "baseline"))]  # fmt: skip
                    if normalise(same[0]) != normalise(same[1]):
                        raise SystemExit(f"the service and the baseline disagree on {scenario}: {same}")
                    sources = {server: heavy.Requests(scenario, server, plan, TIMELINESS_AREA).next for server in ("service", "baseline")}
                    measure = {
                        "service": partial(heavy.drive, SERVICE_PORT, token, sources["service"], args.heavy_seconds),
                        "baseline": partial(heavy.drive, BASELINE_PORT, "", sources["baseline"], args.heavy_seconds),
                    }
                else:
                    targets = spread if scenario == "update8" else seeded
                    for _ in range(1 if args.seconds > 3 else 0):  # warm both up
                        wrk(SERVICE_PORT, scenario, token, targets, 3, args.connections, folder)
                        wrk(BASELINE_PORT, scenario, "", targets, 3, args.connections, folder)
                    measure = {
                        "service": partial(wrk, SERVICE_PORT, scenario, token, targets, args.seconds, args.connections, folder),
                        "baseline": partial(wrk, BASELINE_PORT, scenario, "", targets, args.seconds, args.connections, folder),
                    }
                for round_ in range(1, args.rounds + 1):
                    ours, base = measure["service"](), measure["baseline"]()
                    ratio = ours["rps"] / base["rps"]
                    rows.append(
                        {"workers": workers, "scenario": scenario, "round": round_, "service": ours, "baseline": base, "ratio": ratio}
                    )
                    print(
                        f"{workers}w {scenario:10} round {round_}: service {ours['rps']:8.1f} req/s (p50 {ours['p50_ms']:.1f} ms, "
                        f"p99 {ours['p99_ms']:.1f} ms, {ours['errors']} errors)  baseline {base['rps']:8.1f} req/s "
                        f"(p99 {base['p99_ms']:.1f} ms)  ratio {ratio:.2f}",
                        flush=True,
                    )
        finally:
            stop(service, baseline)

    summary = {
        f"{w}w {scenario}": statistics.median(r["ratio"] for r in rows if r["scenario"] == scenario and r["workers"] == w)
        for w in sorted({r["workers"] for r in rows})
        for scenario in SCENARIOS
        if any(r["scenario"] == scenario and r["workers"] == w for r in rows)
    }
    errors = sum(r["service"]["errors"] for r in rows)
    baseline_errors = sum(r["baseline"]["errors"] for r in rows)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    after = source_state()
    record = {
        "when": stamp,
        **source,
        "source_at_end": None if after == source else after,
        "load_average": {"start": load_before, "end": load()},
        "cpus": os.cpu_count(),
        "connections": args.connections,
        "seconds": args.seconds,
        "actions": args.actions,
        "people": args.people,
        "rows": rows,
        "median_ratio": summary,
        "errors": errors,
        "baseline_errors": baseline_errors,
        "postgres_connections_at_start": {w: {"max": limit, "in_use": used} for w, (limit, used) in room.items()},
        "logs": str(folder),
    }
    (RESULTS / f"service-{stamp}.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        f"# Service beside the baseline, {stamp}",
        "",
        f"PostgreSQL, {args.actions} actions and {args.people} people, wrk -t2 -c{args.connections} -d{args.seconds}s, "
        f"{args.rounds} alternating rounds per scenario; `python -m bench.run`.",
        "",
        source_note(source, after),
        f"Load average (1, 5, 15 min) on {os.cpu_count()} CPUs: {load_before} at the start, {load()} at the end.",
        "",
        "| workers | scenario | round | service req/s | p50 ms | p99 ms | errors | baseline req/s | baseline p99 ms | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, b = r["service"], r["baseline"]
        lines.append(
            f"| {r['workers']} | {r['scenario']} | {r['round']} | {rate(o['rps'])} | {o['p50_ms']:.1f} | {o['p99_ms']:.1f} | {o['errors']} "
            f"| {rate(b['rps'])} | {b['p99_ms']:.1f} | {r['ratio']:.2f} |"
        )
    lines += [
        "",
        "Median ratios: "
        + ", ".join(f"{k} {v:.2f}x" for k, v in summary.items())
        + f"; service errors: {errors}, baseline errors: {baseline_errors}.",
    ]
    if errors or baseline_errors:
        lines += ["", f"Errors (non-2xx/3xx answers and socket errors) make a row's rate meaningless; the servers' logs were in {folder}."]
    bars = [
        f"1w {s} {summary[f'1w {s}']:.2f}x (bar {bar}x) {'met' if summary[f'1w {s}'] >= bar else 'MISSED'}"
        for s, bar in BARS.items()
        if f"1w {s}" in summary
    ]
    if bars:
        lines += ["", f"Bars at 1 worker, {args.connections} connections: " + "; ".join(bars) + "."]
    lines.append("")
    (RESULTS / f"service-{stamp}.md").write_text("\n".join(lines))
    chart(rows, RESULTS / f"service-{stamp}.png")
    print("\n".join(lines))


def rate(rps: float) -> str:
    return f"{rps:.0f}" if rps >= 100 else f"{rps:.2f}"


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    """The median ratio to the baseline per scenario and worker count, with the bars to reach, as a PNG."""
    from matplotlib.figure import Figure

    groups = [
        (w, s)
        for w in sorted({r["workers"] for r in rows})
        for s in SCENARIOS
        if any(r["workers"] == w and r["scenario"] == s for r in rows)
    ]
    ratios = [statistics.median(r["ratio"] for r in rows if (r["workers"], r["scenario"]) == g) for g in groups]
    ours = [statistics.median(r["service"]["rps"] for r in rows if (r["workers"], r["scenario"]) == g) for g in groups]
    base = [statistics.median(r["baseline"]["rps"] for r in rows if (r["workers"], r["scenario"]) == g) for g in groups]
    fig = Figure(figsize=(8, 0.9 + 0.36 * len(groups)), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    ys = list(range(len(groups)))[::-1]
    bars = ax.barh(ys, ratios, color="#1d70b8", height=0.6)
    ax.bar_label(
        bars,
        labels=[f"{q:.2f}x  ({rate(o)} vs {rate(b)} req/s)" for q, o, b in zip(ratios, ours, base, strict=True)],
        fontsize=7,
        padding=3,
    )
    for y, (w, s) in zip(ys, groups, strict=True):
        if w == 1 and s in BARS:
            ax.plot([BARS[s]] * 2, [y - 0.4, y + 0.4], color="#d4351c", linewidth=2)
    ax.axvline(1.0, color="#b1b4b6", linestyle=":", linewidth=1)
    ax.set_yticks(ys, [f"{s}, {w} worker{'s' if w > 1 else ''}" for w, s in groups], fontsize=8)
    ax.set_xlim(0, max(1.6, max(ratios) * 1.5))
    ax.set_xlabel("service ÷ baseline, requests/s (median of the rounds); red: the bar to reach; dotted: the baseline", fontsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.savefig(path, format="png", metadata={"Software": None})


if __name__ == "__main__":
    main()
