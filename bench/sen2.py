"""A large area's SEN2 return imported as case events, beside a raw baseline, on PostgreSQL.

    python -m bench.sen2 [--persons 5000] [--rounds 3]

Builds `wsoa_bench_sen2`: a partnership with a plan and an `ehcp_timeliness` measure (so every import also brings the
measure's monthly observations up to date, as in a real area). Generates two cumulative SEN2 person-level returns of
`--persons` children and young people (about 1.6 requests each, with the histories a case system exports: decisions,
assessments, plans, exceptions, disputes, transfers, reviews and ceased plans), the first cut a month ago and the
second today, so the second holds the first's records with a month's more dates and new requests. Each round starts
with no case events and posts, as a case system would (`POST /case-events/imports`, raw XML body, in process):

- cold: the first file, every event new (into an empty table, as an area's first import is: planned on the
  statistics of an empty table, which makes bringing the measure up to date in the same transaction the slowest part);
- again: the same file, every event held (nothing written);
- next month: the second file, a month's new events among the held ones.

Between steps the table is analysed, as autovacuum would have done in the month between two files.

The baseline does the same work with nothing but what it needs: the standard library's ElementTree (`iterparse`,
no defusing), the same items mapped to the same keyed events, and one `INSERT ... SELECT unnest(...) ON CONFLICT DO
NOTHING` through asyncpg: no checks, report, audit trail, measures or transaction of the service's. Each step reports
seconds and SQL statements (which must not grow with the file: no statement per request), and the ratio (baseline
seconds ÷ service seconds: 1.0 would be as fast as the baseline). Results go to bench/results/sen2-<time>.md and
.json, with the commit measured.
"""

import argparse
import asyncio
import hashlib
import hmac
import random
import statistics
import string
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from app.apikeys.service import create_key
from app.cases.imports import CASE_REF_PREFIX
from app.core.config import Settings
from app.core.db import Database
from app.core.uow import unit_of_work
from app.main import create_app
from app.models.enums import Role
from bench.run import counted, dsn_of, fresh_database, load, save, source_note, source_state

NAME = "wsoa_bench_sen2"
KEY = "bench-case-ref-key"
LEA = "990"


@dataclass
class Req:
    received: date | None
    decision: tuple[str, date] | None = None
    assessment: tuple[str, date] | None = None
    start: date | None = None
    cease: date | None = None
    week20: bool = False
    mediation: bool = False
    tribunal: bool = False
    transfer: bool = False
    reviews: list[tuple[date, str, date]] = field(default_factory=list)  # meeting, outcome, decision


@dataclass
class Person:
    surname: str
    forename: str
    birth: date
    upn: str
    requests: list[Req]


def _name(rng: random.Random, n: int) -> str:
    syllables = ["an", "bel", "cor", "dun", "el", "far", "gil", "har", "ist", "jor", "kel", "lan", "mor", "nor", "os", "pen"]
    return "".join(rng.choice(syllables) for _ in range(2)).title() + "".join(string.ascii_lowercase[int(c)] for c in str(n))


def people(count: int, today: date, seed: int = 7) -> list[Person]:
    """Every child's whole history up to `today`; a file cut at an earlier day leaves out what came after it."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        requests = []
        for _ in range(rng.choices((1, 2, 3), weights=(55, 30, 15))[0]):
            if rng.random() < 0.15:  # a plan from before the case system's records
                start = today - timedelta(days=rng.randint(800, 3000))
                requests.append(Req(None, start=start, reviews=_reviews(rng, start, today)))
                continue
            received = today - timedelta(days=rng.randint(0, 3 * 365))
            while any(r.received == received for r in requests):  # one request a day per child, as SEN2 has it
                received -= timedelta(days=1)
            r = Req(received)
            decided = received + timedelta(days=rng.randint(20, 60))
            r.decision = (rng.choices(("A", "N", "W"), weights=(75, 20, 5))[0], decided)
            r.mediation = r.decision[0] == "N" and rng.random() < 0.15
            if r.decision[0] == "A":
                assessed = received + timedelta(days=rng.randint(80, 220))
                r.assessment = (rng.choices(("Y", "N", "W", "S"), weights=(84, 10, 4, 2))[0], assessed)
                r.week20 = rng.random() < 0.1
                r.tribunal = r.assessment[0] == "N" and rng.random() < 0.2
                if r.assessment[0] in ("Y", "S"):
                    r.start = assessed + timedelta(days=rng.randint(5, 40))
                    r.transfer = rng.random() < 0.02
                    r.reviews = _reviews(rng, r.start, today)
                    if rng.random() < 0.05:
                        r.cease = r.start + timedelta(days=rng.randint(200, 900))
            requests.append(r)
        out.append(Person(_name(rng, n), rng.choice(["Amara", "Ben", "Chloe", "Dev", "Ella", "Finn", "Grace", "Hari"]),
                          date(2005, 1, 1) + timedelta(days=rng.randint(0, 18 * 365)), f"A{n:012d}", requests))  # fmt: skip
    return out


def _reviews(rng: random.Random, start: date, today: date) -> list[tuple[date, str, date]]:
    found = []
    met = start + timedelta(days=rng.randint(320, 380))
    while met <= today:
        found.append((met, rng.choices(("M", "A", "C"), weights=(70, 27, 3))[0], met + timedelta(days=rng.randint(5, 45))))
        met += timedelta(days=rng.randint(330, 380))
    return found


def _on(day: date | None, cut: date) -> date | None:
    return day if day is not None and day <= cut else None


def sen2_xml(persons: list[Person], cut: date) -> bytes:
    """The return as a case system would export it on `cut`: what had happened by then, the latest review only."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<Message>",
           f"<Header><CollectionDetails><Collection>SEN2</Collection><Year>{cut.year}</Year><ReferenceDate>{cut}</ReferenceDate>"
           f"</CollectionDetails><Source><SourceLevel>L</SourceLevel><LEA>{LEA}</LEA><SoftwareCode>Bench</SoftwareCode>"
           "<Release>1</Release><SerialNo>1</SerialNo><DateTime>2026-01-01T00:00:00</DateTime></Source></Header>", "<Persons>"]  # fmt: skip
    for p in persons:
        kept = [r for r in p.requests if (r.received or r.start or cut) <= cut]
        if not kept:
            continue
        out.append(f"<Person><Surname>{p.surname}</Surname><Forename>{p.forename}</Forename><PersonBirthDate>{p.birth}</PersonBirthDate>"
                   f"<Sex>F</Sex><Ethnicity>WBRI</Ethnicity><PostCode>ZZ99 3WZ</PostCode><UPN>{p.upn}</UPN>")  # fmt: skip
        for r in kept:
            out.append("<Requests>" + (f"<ReceivedDate>{r.received}</ReceivedDate>" if r.received else "") + "<RYA>0</RYA>")
            if r.decision and _on(r.decision[1], cut):
                out.append(f"<RequestOutcomeDate>{r.decision[1]}</RequestOutcomeDate><RequestOutcome>{r.decision[0]}</RequestOutcome>"
                           f"<RequestMediation>{int(r.mediation)}</RequestMediation><RequestTribunal>0</RequestTribunal>")  # fmt: skip
            assessed = r.assessment and _on(r.assessment[1], cut)
            start = _on(r.start, cut)
            if assessed or start:
                out.append("<Assessment>")
                if r.assessment and assessed:
                    out.append(f"<AssessmentOutcome>{r.assessment[0]}</AssessmentOutcome><AssessmentOutcomeDate>{r.assessment[1]}"
                               f"</AssessmentOutcomeDate><AssessmentMediation>0</AssessmentMediation><AssessmentTribunal>{int(r.tribunal)}"
                               f"</AssessmentTribunal><OtherMediation>0</OtherMediation><OtherTribunal>0</OtherTribunal>"
                               f"<Week20>{int(r.week20)}</Week20>")  # fmt: skip
                if start:
                    cease = _on(r.cease, cut)
                    out.append(f"<NamedPlan><StartDate>{start}</StartDate><PlanRes>A</PlanRes><PB>0</PB>"
                               + (f"<CeaseDate>{cease}</CeaseDate><CeaseReason>2</CeaseReason>" if cease else "")
                               + "<PlanDetail><URN>100001</URN><PlacementRank>1</PlacementRank></PlanDetail></NamedPlan>")  # fmt: skip
                out.append("</Assessment>")
            plan_on = r.start if r.received is None else start
            if plan_on and not _on(r.cease, cut):
                held = [v for v in r.reviews if v[0] <= cut]
                out.append("<ActivePlans>" + ("<TransferLA>851</TransferLA>" if r.transfer else ""))
                if held:
                    met, outcome, decided = held[-1]
                    out.append(f"<ReviewMeeting>{met}</ReviewMeeting>"
                               + (f"<ReviewOutcome>{outcome}</ReviewOutcome><LastReview>{decided}</LastReview>" if decided <= cut else ""))  # fmt: skip
                out.append("<PlacementDetail><URN>100001</URN><PlacementRank>1</PlacementRank><EntryDate>2020-09-01</EntryDate>"
                           "</PlacementDetail><SENneed><SENtype>ASD</SENtype><SENtypeRank>1</SENtypeRank></SENneed></ActivePlans>")  # fmt: skip
            out.append("</Requests>")
        out.append("</Person>")
    out += ["</Persons>", "</Message>", ""]
    return "\n".join(out).encode()


# --- the baseline ----------------------------------------------------------------------------------------------------

BASELINE_INSERT = """
INSERT INTO case_event (partnership_id, event_id, case_key, type, occurred_on, outcome, reason, received_at)
SELECT $1::uuid, u.event_id, u.case_key, u.type, u.occurred_on, u.outcome, NULL, now()
FROM unnest($2::text[], $3::text[], $4::text[], $5::date[], $6::text[]) AS u(event_id, case_key, type, occurred_on, outcome)
ON CONFLICT (partnership_id, event_id) DO NOTHING
"""
OUTCOMES = {"RequestOutcome": {"A": "assess", "N": "not_assess", "W": "withdrawn"},
            "AssessmentOutcome": {"Y": "issue", "N": "not_issue", "W": "withdrawn", "S": "issue"},
            "ReviewOutcome": {"M": "maintain", "A": "amend", "C": "cease"}}  # fmt: skip


def baseline_rows(body: bytes, partnership_id: str) -> list[tuple[str, str, str, date, str | None]]:
    """The same events the service maps, with only the work it takes: ElementTree, the items, the keyed hashes."""
    import io

    def keyed(text: str) -> str:
        return hmac.new(KEY.encode(), f"{partnership_id}:{text}".encode(), hashlib.sha256).hexdigest()

    rows = []
    name: dict[str, str] = {}
    for _, element in ET.iterparse(io.BytesIO(body)):
        tag = element.tag
        if tag in ("Surname", "Forename", "PersonBirthDate"):
            name[tag] = element.text or ""
        elif tag == "Requests":
            items = {e.tag: e.text or "" for e in element.iter()}
            received, start = items.get("ReceivedDate"), items.get("StartDate")
            anchor = received or start
            person = "".join(c for c in name["Surname"].casefold() if c.isalnum()) + "|" + name["Forename"].casefold()
            case = f"{CASE_REF_PREFIX}name:{person}|{name['PersonBirthDate']}|{'r' if received else 'p'}{anchor}"
            case_key = keyed(case)
            found: list[tuple[str, str, str | None, str]] = []
            if received:
                found.append(("request_received", received, None, "request_received"))
            for item, on_item, kind in (("RequestOutcome", "RequestOutcomeDate", "request_decision"),
                                        ("AssessmentOutcome", "AssessmentOutcomeDate", "assessment_decision")):  # fmt: skip
                if items.get(item) in OUTCOMES[item]:
                    found.append((kind, items[on_item], OUTCOMES[item][items[item]], kind))
            if items.get("AssessmentOutcome") == "S" or items.get("TransferLA"):
                found.append(("transfer_in", anchor or "", None, "transfer_in"))
            if start:
                found.append(("final_issued", start, None, "final_issued"))
            if items.get("Week20") == "1":
                found.append(("exception", anchor or "", None, "exception"))
            for flag, kind, stage in (("RequestMediation", "mediation", "request"), ("AssessmentTribunal", "tribunal", "assessment")):
                if items.get(flag) == "1":
                    found.append((kind, anchor or "", None, f"{kind}:{stage}"))
            if items.get("CeaseDate"):
                found.append(("review_decision", items["CeaseDate"], "cease", "cease"))
            if items.get("ReviewMeeting"):
                found.append(("review_meeting", items["ReviewMeeting"], None, f"review_meeting:{items['ReviewMeeting']}"))
            if items.get("ReviewOutcome") and items.get("LastReview"):
                found.append(("review_decision", items["LastReview"], OUTCOMES["ReviewOutcome"][items["ReviewOutcome"]],
                              f"review_decision:{items['LastReview']}"))  # fmt: skip
            for kind, on, outcome, suffix in found:
                rows.append(("sen2-" + keyed(f"{case}#{suffix}")[:40], case_key, kind, date.fromisoformat(on), outcome))
            element.clear()
        elif tag == "Person":
            element.clear()
            name = {}
    return rows


async def baseline(dsn: str, partnership_id: str, body: bytes) -> tuple[float, int]:
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        rows = baseline_rows(body, partnership_id)
        columns = list(zip(*rows, strict=True))
        await conn.execute(BASELINE_INSERT, partnership_id, *columns)
        return time.perf_counter() - started, len(rows)
    finally:
        await conn.close()


# --- the service -----------------------------------------------------------------------------------------------------


async def setup(url: str) -> tuple[Database, Any, str, str]:
    db = Database(url)
    settings = Settings(database_url=url, log_level="WARNING", case_ref_key=KEY)  # type: ignore[arg-type]
    app = create_app(settings, database=db)
    async with unit_of_work(db) as session:
        _, token = await create_key(session, role=Role.admin, name="bench")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                 headers={"Authorization": f"Bearer {token}"}) as c:  # fmt: skip
        area = (await c.post("/api/v1/partnerships", json={"name": "Bench Vale", "la_code": LEA})).json()
        plan = (await c.post("/api/v1/plans", json={"partnership_id": area["id"], "kind": "wsoa", "title": "Bench WSoA"})).json()
        today = date.today()
        measure = await c.post("/api/v1/measures", json={
            "plan_id": plan["id"], "name": "EHC plans within 20 weeks", "unit": "percent", "direction": "higher_is_better",
            "baseline_value": 40.0, "baseline_on": (today - timedelta(days=700)).isoformat(), "target_value": 90.0,
            "target_on": (today + timedelta(days=300)).isoformat(), "source": "ehcp_timeliness", "tolerance": 5.0})  # fmt: skip
        measure.raise_for_status()
    return db, app, token, area["id"]


async def service(db: Database, app: Any, token: str, partnership_id: str, body: bytes) -> tuple[float, int, dict[str, Any]]:
    with counted(db) as statements:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600,
                                     headers={"Authorization": f"Bearer {token}"}) as c:  # fmt: skip
            started = time.perf_counter()
            response = await c.post("/api/v1/case-events/imports", content=body, headers={"Content-Type": "application/xml"},
                                    params={"partnership_id": partnership_id})  # fmt: skip
            seconds = time.perf_counter() - started
        response.raise_for_status()
        return seconds, statements.count, response.json()


async def reset(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE case_event, observation")
    finally:
        await conn.close()


async def analyze(dsn: str) -> None:
    """What autovacuum does in the month between two files: without it, the `again` and `next` steps would be planned
    on the statistics of an empty table, which no area's second import is."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ANALYZE case_event")
    finally:
        await conn.close()


async def main_async(persons: int, rounds: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    today = date.today() - timedelta(days=1)
    everyone = people(persons, today)
    files = {"cold": sen2_xml(everyone, today - timedelta(days=31)), "next": sen2_xml(everyone, today)}
    files["again"] = files["cold"]
    url = await fresh_database(NAME)
    dsn = dsn_of(url)
    db, app, token, pid = await setup(url)
    sizes = {k: len(v) for k, v in files.items()}
    results = []
    try:
        for n in range(1, rounds + 1):
            await reset(dsn)
            for step in ("cold", "again", "next"):
                seconds, statements, report = await service(db, app, token, pid, files[step])
                results.append({"round": n, "step": step, "service_s": round(seconds, 3), "statements": statements,
                                 "records": report["records"], "events_new": report["events_new"], "events_held": report["events_held"],
                                 "refused": report["refused"]})  # fmt: skip
                await analyze(dsn)
            await reset(dsn)
            for step in ("cold", "again", "next"):
                seconds, mapped = await baseline(dsn, pid, files[step])
                await analyze(dsn)
                row = next(r for r in results if r["round"] == n and r["step"] == step)
                row.update(baseline_s=round(seconds, 3), baseline_events=mapped, ratio=round(seconds / row["service_s"], 3))
                print(f"round {n} {step}: service {row['service_s']:.2f} s, {row['statements']} statements, {row['events_new']} new events "
                      f"of {row['events_new'] + row['events_held']}; baseline {seconds:.2f} s; ratio {row['ratio']:.2f}", flush=True)  # fmt: skip
    finally:
        await db.dispose()
    shape = {"persons": persons, "requests": results[0]["records"], "bytes": sizes}
    return results, shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=5000, help="Children and young people in the return.")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    start, begun = source_state(), load()
    rows, shape = asyncio.run(main_async(args.persons, args.rounds))
    end = source_state()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    medians = {step: statistics.median(r["ratio"] for r in rows if r["step"] == step) for step in ("cold", "again", "next")}
    lines = [
        f"# An SEN2 return imported beside the baseline, {stamp}", "",
        f"PostgreSQL; a cumulative SEN2 person-level return of {shape['persons']:,} people and {shape['requests']:,} requests "
        f"({shape['bytes']['cold'] / 1e6:.1f} MB; next month's {shape['bytes']['next'] / 1e6:.1f} MB) posted to "
        f"`POST /case-events/imports` in process; `python -m bench.sen2 --persons {args.persons} --rounds {args.rounds}`.", "",
        source_note(start, end), f"Load average (1, 5, 15 min) at the start {begun}, at the end {load()}.", "",
        "| round | step | service s | statements | new events | held events | baseline s | ratio |", "|---|---|---|---|---|---|---|---|",
        *(f"| {r['round']} | {r['step']} | {r['service_s']} | {r['statements']} | {r['events_new']} | {r['events_held']} | "
          f"{r['baseline_s']} | {r['ratio']} |" for r in rows),
        "", "Median ratio (baseline seconds ÷ service seconds): " + ", ".join(f"{k} {v:.2f}x" for k, v in medians.items()) + ".",
    ]  # fmt: skip
    save("sen2", stamp, lines, {"source": start, **shape, "rounds": rows})


if __name__ == "__main__":
    main()
