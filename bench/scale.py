"""Scale curves on PostgreSQL: list latency against the number of actions, the timeliness report against the
number of case events, and export time against plan size.

    python -m bench.scale [--seconds 5] [--actions 1000,10000,100000] [--events 20000,200000,2000000] [--sizes 50,200,500]

Lists: one `wsoa_bench_scale` database grows in place to each size in `--actions`, 500 actions per
partnership (100,000 actions = 200 partnerships, each with a plan, 12 concerns, 25 people, and per
action 3 milestones and 2 progress updates), written by `INSERT ... SELECT generate_series` so that
100,000 actions take seconds. After each step the served service (1 worker) is measured with wrk
(2 threads, 8 connections): the first page of 50 for an admin key over every partnership (and the same page
from the raw baseline of `bench.run`, started beside it), for the lead of the newest partnership (whose rows
come last), and filtered by status. It should stay flat: keyset pagination on an index.

Timeliness: one partnership's case events grow to each size in `--events` (about 4.1 events per case
over three years; 2,000,000 events is some 490,000 cases, far beyond any English local area) and the
three-year monthly report is fetched over HTTP, sequentially; its median and worst time are reported.

Exports: `bench.exports` for each plan size in `--sizes`.

Tables are printed and saved to bench/results/scale-<time>.md (and .json) with a PNG chart beside them, with the
commit measured (`git rev-parse HEAD`) and whether the work tree had uncommitted changes then.
"""

import argparse
import asyncio
import hashlib
import json
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from app.apikeys.service import create_key
from app.core.db import Database
from app.core.uow import unit_of_work
from app.models.enums import Role
from bench import exports
from bench.data import EVENTS_PER_CASE, PER_PARTNERSHIP, TIMELINESS_AREA, grow_actions, grow_events
from bench.run import (
    BASELINE_PORT,
    RESULTS,
    SERVICE_PORT,
    dsn_of,
    fresh_database,
    normalise,
    serve_pair,
    source_note,
    source_state,
    stop,
    wait_up,
    wrk_path,
)


async def new_key(url: str, role: Role, partnership: int | None = None) -> str:
    """A key of `role`, of the benchmark partnership numbered `partnership` (see bench.data.GROW) or of all."""
    db = Database(url)
    try:
        async with unit_of_work(db) as session:  # create_key leaves the commit (and its audit event) to the unit of work
            area = None if partnership is None else uuid.UUID(hashlib.md5(f"p{partnership}".encode()).hexdigest())
            _, token = await create_key(session, role=role, name=f"scale {role.value}", partnership_id=area)
    finally:
        await db.dispose()
    return token


BESIDE = "all partnerships (admin)"  # the list the baseline also serves (it has no keys)
LISTS = {
    BESIDE: ("admin", "/api/v1/actions?limit=50"),
    "newest partnership (lead)": ("lead", "/api/v1/actions?limit=50"),
    "status=completed (admin)": ("admin", "/api/v1/actions?limit=50&status=completed"),
}


def list_curve(url: str, dsn: str, admin: str, steps: list[int], seconds: int) -> list[dict[str, Any]]:
    """The lead's key is of the newest partnership: its rows come last in (created_at, id) order."""
    rows = []
    have = 0
    for target in steps:
        want = max(1, target // PER_PARTNERSHIP)
        if want > have:
            asyncio.run(grow_actions(dsn, (have, want)))
            have = want
        tokens = {"admin": admin, "lead": asyncio.run(new_key(url, Role.lead, have - 1))}
        same_page(admin)
        for name, (who, path) in LISTS.items():
            got = wrk_path(SERVICE_PORT, path, tokens[who], seconds, connections=8, threads=2)
            row: dict[str, Any] = {"actions": have * PER_PARTNERSHIP, "partnerships": have, "list": name, **got}
            line = (
                f"{have * PER_PARTNERSHIP:>7} actions  {name:26} {got['rps']:7.0f} req/s  p50 {got['p50_ms']:6.2f} ms  "
                f"p99 {got['p99_ms']:6.2f} ms  errors {got['errors']}"
            )
            if name == BESIDE:
                base = wrk_path(BASELINE_PORT, path, "-", seconds, connections=8, threads=2)
                row |= {"baseline": base, "ratio": got["rps"] / base["rps"]}
                line += f"  baseline {base['rps']:7.0f} req/s p50 {base['p50_ms']:6.2f} ms  ratio {row['ratio']:.2f}"
            rows.append(row)
            print(line, flush=True)
    return rows


def same_page(admin: str) -> None:
    ours = httpx.get(f"http://127.0.0.1:{SERVICE_PORT}{LISTS[BESIDE][1]}", headers={"Authorization": f"Bearer {admin}"}).json()
    theirs = httpx.get(f"http://127.0.0.1:{BASELINE_PORT}{LISTS[BESIDE][1]}").json()
    if normalise(ours["items"]) != normalise(theirs["items"]):
        raise SystemExit("the service and the baseline disagree on the first page")


def timeliness_curve(dsn: str, token: str, steps: list[int], repeats: int) -> list[dict[str, Any]]:
    rows = []
    cases = 0
    path = f"/api/v1/partnerships/{TIMELINESS_AREA}/ehcp-timeliness?from=2023-01-01&to=2025-12-31&granularity=month"
    with httpx.Client(base_url=f"http://127.0.0.1:{SERVICE_PORT}", headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
        for target in steps:
            want = round(target / EVENTS_PER_CASE)
            events = asyncio.run(grow_events(dsn, (cases, want)))
            cases = want
            client.get(path).raise_for_status()  # warm
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - started)
                response.raise_for_status()
            issued = sum(p["plans_issued"] for p in response.json()["periods"])
            rows.append({"events": events, "cases": cases, "plans_issued": issued, "p50_s": statistics.median(times), "max_s": max(times)})
            print(
                f"{events:>9,} events ({cases:,} cases, {issued:,} plans issued in the three years): "
                f"median {statistics.median(times):.3f} s, worst {max(times):.3f} s",
                flush=True,
            )
    return rows


def export_curve(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        for step, seconds, size_bytes in asyncio.run(exports.one_size(size)):
            rows.append({"actions": size, "step": step, "seconds": seconds, "bytes": size_bytes})
            print(f"{size:>5} actions  {step:20} {seconds:8.3f} s {size_bytes or '':>10}", flush=True)
    return rows


def chart(lists: list[dict[str, Any]], timeliness: list[dict[str, Any]], export_rows: list[dict[str, Any]], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 3.6), dpi=120, layout="constrained")
    left, middle, right = fig.subplots(1, 3)
    for n, name in enumerate(LISTS):
        points = [r for r in lists if r["list"] == name]
        xs = [r["actions"] for r in points]
        left.plot(xs, [r["p50_ms"] for r in points], marker="o", color=f"C{n}", label=f"{name} p50")
        left.plot(xs, [r["p99_ms"] for r in points], marker=".", linestyle=":", color=f"C{n}", label=f"{name} p99")
        if name == BESIDE:
            left.plot(xs, [r["baseline"]["p50_ms"] for r in points], marker="s", color="#b1b4b6", label="the same, raw baseline p50")
    left.set_xscale("log")
    left.set_ylim(bottom=0)
    left.set_xlabel("actions in the database", fontsize=8)
    left.set_ylabel("ms per list request (wrk, 8 connections)", fontsize=8)
    left.set_title("List actions, first page of 50", fontsize=9)
    left.legend(fontsize=6, frameon=False)
    middle.plot([r["events"] for r in timeliness], [r["p50_s"] for r in timeliness], marker="o", color="#1d70b8")
    middle.set_xscale("log")
    middle.set_yscale("log")
    middle.set_xlabel("case events of the partnership", fontsize=8)
    middle.set_ylabel("seconds (median)", fontsize=8)
    middle.set_title("EHCP timeliness, 36 months", fontsize=9)
    for step in sorted({r["step"] for r in export_rows} - {"floor: orjson.dumps"}):
        points = [r for r in export_rows if r["step"] == step]
        right.plot([r["actions"] for r in points], [r["seconds"] for r in points], marker="o", label=step)
    right.set_yscale("log")
    right.set_xlabel("actions in the plan", fontsize=8)
    right.set_ylabel("seconds (best of 3)", fontsize=8)
    right.set_title("Export time by format", fontsize=9)
    right.legend(fontsize=6, frameon=False)
    for ax in (left, middle, right):
        ax.tick_params(labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    fig.savefig(path, format="png", metadata={"Software": None})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per list measurement.")
    parser.add_argument("--actions", default="1000,10000,100000")
    parser.add_argument("--events", default="20000,200000,2000000")
    parser.add_argument("--repeats", type=int, default=5, help="Timeliness reports timed per step.")
    parser.add_argument("--sizes", default="50,200,500", help="Plan sizes for the export curve.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    source = source_state()
    url = asyncio.run(fresh_database("wsoa_bench_scale"))
    dsn = dsn_of(url)
    admin = asyncio.run(new_key(url, Role.admin))
    folder = Path(tempfile.mkdtemp(prefix="wsoa-scale-"))
    service, baseline = serve_pair(url, dsn, 1, folder)
    try:
        wait_up(f"http://127.0.0.1:{SERVICE_PORT}/api/v1/actions?limit=1", {"Authorization": f"Bearer {admin}"})
        wait_up(f"http://127.0.0.1:{BASELINE_PORT}/api/v1/actions?limit=1", {})
        lists = list_curve(url, dsn, admin, [int(s) for s in args.actions.split(",")], args.seconds)
        timeliness = timeliness_curve(dsn, admin, [int(s) for s in args.events.split(",")], args.repeats)
    finally:
        stop(service, baseline)
    export_rows = export_curve([int(s) for s in args.sizes.split(",")])

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    after = source_state()
    record = {
        "when": stamp,
        **source,
        "source_at_end": None if after == source else after,
        "lists": lists,
        "timeliness": timeliness,
        "exports": export_rows,
    }
    (RESULTS / f"scale-{stamp}.json").write_text(json.dumps(record, indent=2) + "\n")
    lines = [
        f"# Scale curves, {stamp}",
        "",
        f"PostgreSQL, the service with 1 worker; `python -m bench.scale` (lists: wrk -t2 -c8 -d{args.seconds}s).",
        "",
        source_note(source, after),
        "",
        "| actions | partnerships | list | req/s | p50 ms | p99 ms | errors | baseline req/s | baseline p50 ms | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(
            f"| {r['actions']:,} | {r['partnerships']} | {r['list']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | "
            + (f"{r['baseline']['rps']:.0f} | {r['baseline']['p50_ms']:.2f} | {r['ratio']:.2f} |" if "baseline" in r else " | | |")
            for r in lists
        ),
        "",
        f"| case events | cases | plans issued (36 months) | median s ({args.repeats} runs) | worst s |",
        "|---|---|---|---|---|",
        *(f"| {r['events']:,} | {r['cases']:,} | {r['plans_issued']:,} | {r['p50_s']:.3f} | {r['max_s']:.3f} |" for r in timeliness),
        "",
        "| plan actions | step | seconds | bytes |",
        "|---|---|---|---|",
        *(f"| {r['actions']} | {r['step']} | {r['seconds']:.3f} | {r['bytes'] or ''} |" for r in export_rows),
        "",
    ]
    (RESULTS / f"scale-{stamp}.md").write_text("\n".join(lines))
    chart(lists, timeliness, export_rows, RESULTS / f"scale-{stamp}.png")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
