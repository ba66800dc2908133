"""The service beside a raw Starlette + asyncpg baseline, on PostgreSQL: reads and progress-update writes.

    python -m bench.run [--seconds 10] [--rounds 3] [--connections 32] [--workers 1,2] [--actions 500] [--people 5000]

Builds a fresh `wsoa_bench` database (1 plan, 12 concerns, 500 actions with owners, milestones and
updates, 5,000 people), then for each worker count starts the service and the baseline with that many
worker processes on 127.0.0.1, checks they return the same actions, and runs wrk against each in
alternation (A B A B ...): list actions (limit 50), get one action, and post a progress update (the
service with its audit event, change-feed row, Idempotency-Key record and ETag; the baseline with one
INSERT). Reports requests/s, p50, p99, errors and the ratio to the baseline per pair, with the median
ratio per scenario. Results go to bench/results/.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app.apikeys.service import create_key
from app.core.db import Database
from app.core.migrations import upgrade
from app.models.enums import Role
from bench.data import seed

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SERVER_URL = os.environ.get("WSOA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SERVICE_PORT, BASELINE_PORT = 8811, 8812


async def fresh_database(name: str) -> str:
    """A new, migrated database `name` on the benchmark server (dropped first if it exists); its URL."""
    server = make_url(SERVER_URL)
    admin = await asyncpg.connect(server.set(drivername="postgresql").render_as_string(hide_password=False))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = server.set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, url)
    return url


async def prepare(name: str, actions: int, people: int) -> tuple[str, str, list[str], str]:
    url = await fresh_database(name)
    db = Database(url)
    await seed(db, actions=actions, people=people)
    async with db.sessions() as session:
        _, token = await create_key(session, role=Role.admin, name="bench")
    async with db.engine.connect() as conn:
        from sqlalchemy import text

        ids = [str(r[0]) for r in await conn.execute(text("SELECT id FROM action ORDER BY created_at, id"))]
        author = str((await conn.execute(text("SELECT owner_id FROM action ORDER BY created_at, id LIMIT 1"))).scalar_one())
    await db.dispose()
    return url, token, ids, author


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
local token = "%s"
local mode = "%s"
local author = "%s"
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
  if mode == "update" then
    headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = string.format("bench-%%s-%%d-%%d", tostring(_G.tag), os.time(), n)
    local body = '{"author_id": "' .. author .. '", "rag": "green", "narrative": "Reported to the Delivery Group.", "percent_complete": 50}'
    return wrk.format("POST", "/api/v1/actions/" .. ids[(n %% #ids) + 1] .. "/progress-updates", headers, body)
  end
  local path = "/api/v1/actions?limit=50"
  if mode == "detail" then path = "/api/v1/actions/" .. ids[(n %% #ids) + 1] end
  return wrk.format("GET", path, headers)
end
"""
SCENARIOS = ("list", "detail", "update")
BARS = {"list": 0.3, "detail": 0.3, "update": 0.2}


def wrk(
    port: int, scenario: str, token: str, ids: list[str], author: str, seconds: int, connections: int, folder: Path
) -> dict[str, float]:
    script = folder / f"{scenario}-{port}.lua"
    script.write_text(LUA % (",".join(f'"{i}"' for i in ids), token, scenario, author))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
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
        {"WSOA_DATABASE_URL": url, "WSOA_RATE_LIMITS": '{"admin": 100000000}'},
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
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="Which of list, detail, update.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    url, token, ids, author = asyncio.run(prepare("wsoa_bench", args.actions, args.people))
    folder = Path(tempfile.mkdtemp(prefix="wsoa-bench-"))
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rows: list[dict[str, Any]] = []
    for workers in [int(w) for w in args.workers.split(",")]:
        service, baseline = serve_pair(url, dsn, workers, folder)
        try:
            wait_up(f"http://127.0.0.1:{SERVICE_PORT}/api/v1/actions?limit=1", {"Authorization": f"Bearer {token}"})
            wait_up(f"http://127.0.0.1:{BASELINE_PORT}/api/v1/actions?limit=1", {})
            check_same(token, ids[7])
            for scenario in args.scenarios.split(","):
                for _ in range(1 if args.seconds > 3 else 0):  # warm both up
                    wrk(SERVICE_PORT, scenario, token, ids, author, 3, args.connections, folder)
                    wrk(BASELINE_PORT, scenario, "", ids, author, 3, args.connections, folder)
                for round_ in range(1, args.rounds + 1):
                    ours = wrk(SERVICE_PORT, scenario, token, ids, author, args.seconds, args.connections, folder)
                    base = wrk(BASELINE_PORT, scenario, "", ids, author, args.seconds, args.connections, folder)
                    ratio = ours["rps"] / base["rps"]
                    rows.append(
                        {"workers": workers, "scenario": scenario, "round": round_, "service": ours, "baseline": base, "ratio": ratio}
                    )
                    print(
                        f"{workers}w {scenario:7} round {round_}: service {ours['rps']:8.0f} req/s (p50 {ours['p50_ms']:.1f} ms, "
                        f"p99 {ours['p99_ms']:.1f} ms, {ours['errors']} errors)  baseline {base['rps']:8.0f} req/s "
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
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {
        "when": stamp,
        "connections": args.connections,
        "seconds": args.seconds,
        "actions": args.actions,
        "people": args.people,
        "rows": rows,
        "median_ratio": summary,
        "errors": errors,
    }
    (RESULTS / f"service-{stamp}.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        f"# Service beside the baseline, {stamp}",
        "",
        f"PostgreSQL, {args.actions} actions and {args.people} people, wrk -t2 -c{args.connections} -d{args.seconds}s, "
        f"{args.rounds} alternating rounds per scenario; `python -m bench.run`.",
        "",
        "| workers | scenario | round | service req/s | p50 ms | p99 ms | errors | baseline req/s | baseline p99 ms | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, b = r["service"], r["baseline"]
        lines.append(
            f"| {r['workers']} | {r['scenario']} | {r['round']} | {o['rps']:.0f} | {o['p50_ms']:.1f} | {o['p99_ms']:.1f} | {o['errors']} "
            f"| {b['rps']:.0f} | {b['p99_ms']:.1f} | {r['ratio']:.2f} |"
        )
    lines += ["", "Median ratios: " + ", ".join(f"{k} {v:.2f}x" for k, v in summary.items()) + f"; service errors: {errors}."]
    bars = [
        f"1w {s} {summary[f'1w {s}']:.2f}x (bar {bar}x) {'met' if summary[f'1w {s}'] >= bar else 'MISSED'}"
        for s, bar in BARS.items()
        if f"1w {s}" in summary
    ]
    lines += ["", "Bars at 1 worker, 32 connections: " + "; ".join(bars) + ".", ""]
    (RESULTS / f"service-{stamp}.md").write_text("\n".join(lines))
    chart(rows, RESULTS / f"service-{stamp}.png")
    print("\n".join(lines))


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    """Requests/s of the service and the baseline per scenario and worker count (medians of the rounds), as a PNG."""
    from matplotlib.figure import Figure

    groups = [
        (w, s)
        for w in sorted({r["workers"] for r in rows})
        for s in SCENARIOS
        if any(r["workers"] == w and r["scenario"] == s for r in rows)
    ]
    ours = [statistics.median(r["service"]["rps"] for r in rows if (r["workers"], r["scenario"]) == g) for g in groups]
    base = [statistics.median(r["baseline"]["rps"] for r in rows if (r["workers"], r["scenario"]) == g) for g in groups]
    fig = Figure(figsize=(8, 3.6), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    xs = range(len(groups))
    ax.bar([x - 0.2 for x in xs], base, width=0.4, color="#b1b4b6", label="baseline (raw Starlette + asyncpg)")
    bars = ax.bar([x + 0.2 for x in xs], ours, width=0.4, color="#1d70b8", label="wsoa-tracker")
    ax.bar_label(bars, labels=[f"{o / b:.2f}x" for o, b in zip(ours, base, strict=True)], fontsize=8)
    ax.set_xticks(list(xs), [f"{s}\n{w} worker{'s' if w > 1 else ''}" for w, s in groups], fontsize=8)
    ax.set_ylabel("requests/s (median of rounds)", fontsize=8)
    ax.legend(fontsize=8, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.savefig(path, format="png", metadata={"Software": None})


if __name__ == "__main__":
    main()
