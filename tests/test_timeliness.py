"""EHCP case events and 20-week timeliness, through HTTP, against the contract's rules."""

import itertools
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from app.core.db import Database
from app.models.enums import Role
from app.partnerships.service import today_in
from tests.factories import make_partnership, make_plan, post
from tests.test_conventions import assert_problem
from tests.test_roles import as_role

_ids = itertools.count(1)


def ev(case: str, type_: str, on: date, **extra: Any) -> dict[str, Any]:
    return {"event_id": f"e{next(_ids)}", "case_ref": case, "type": type_, "occurred_on": on.isoformat(), **extra}


def plan_case(case: str, received: date, days: int, *extra: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """A request, a decision to assess, and a final plan `days` later (plus extra event types on the way)."""
    events = [ev(case, "request_received", received), ev(case, "request_decision", received + timedelta(days=30), outcome="assess")]
    events += [ev(case, kind, received + timedelta(days=40), **fields) for kind, fields in extra]
    return [*events, ev(case, "final_issued", received + timedelta(days=days))]


async def send(client: httpx.AsyncClient, partnership: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    response = await client.post("/api/v1/case-events", json={"partnership_id": partnership["id"], "events": events})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def report(client: httpx.AsyncClient, partnership: dict[str, Any], **params: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/partnerships/{partnership['id']}/ehcp-timeliness", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_20_week_deadline_is_140_days(client: httpx.AsyncClient) -> None:
    partnership = await make_partnership(client)
    received = date(2025, 1, 6)
    events = plan_case("A", received, 139) + plan_case("B", received, 140) + plan_case("C", received, 141)
    await send(client, partnership, events)
    period = (await report(client, partnership, **{"from": "2025-05-01", "to": "2025-05-31"}))["periods"][0]
    assert (period["plans_issued"], period["issued_within_20_weeks"], period["pct_within_20_weeks"]) == (3, 2, 66.7)
    assert (period["over_20_under_52_weeks"], period["over_52_weeks"]) == (1, 0)
    assert period["avg_weeks"] == 20.0  # (139 + 140 + 141) / 3 / 7


async def test_the_cohort_leaves_out_transfers_and_disputes_and_exceptions_where_asked(client: httpx.AsyncClient) -> None:
    partnership = await make_partnership(client)
    r = date(2024, 1, 8)
    events = (
        plan_case("on-time", r, 100)
        + plan_case("late", r, 200)
        + plan_case("very-late", r - timedelta(days=300), 400)
        + plan_case("exception-late", r, 180, ("exception", {"reason": "c"}))
        + plan_case("exception-on-time", r, 120, ("exception", {"reason": "d"}))
        + plan_case("mediated", r, 100, ("mediation", {}))
        + plan_case("tribunal", r, 300, ("tribunal", {}))
        + plan_case("transferred", r, 90, ("transfer_in", {}))
        + [ev("no-request", "final_issued", date(2024, 6, 1))]
    )
    await send(client, partnership, events)
    year = (await report(client, partnership, **{"from": "2024-01-01", "to": "2024-12-31", "granularity": "year"}))["periods"][0]
    assert year == {
        "period_start_on": "2024-01-01",
        "period_end_on": "2024-12-31",
        "covered": False,  # the first request held is "very-late"'s, in March 2023: less than a year before
        "plans_issued": 5,
        "issued_within_20_weeks": 2,
        "pct_within_20_weeks": 40.0,
        "plans_issued_excl_exceptions": 3,
        "issued_within_20_weeks_excl_exceptions": 1,
        "pct_within_20_weeks_excl_exceptions": 33.3,
        "over_20_under_52_weeks": 2,
        "over_52_weeks": 1,
        "avg_weeks": 28.6,  # (100 + 200 + 400 + 180 + 120) / 5 / 7 = 28.57
        "decisions_due": 7,  # every request of 2024 was decided on its 30th day ("very-late"'s in 2023)
        "decided_within_6_weeks": 7,
        "pct_decided_within_6_weeks": 100.0,
        "review_meetings": 0,
        "review_decisions_within_4_weeks": 0,
        "review_decisions_late": 0,
        "review_decisions_pending": 0,
        "pct_review_decisions_within_4_weeks": None,
    }


async def test_periods_are_calendar_months_quarters_and_years_clipped_to_the_range(client: httpx.AsyncClient) -> None:
    partnership = await make_partnership(client)
    r = date(2025, 1, 1)
    # Issued on the last day of March and the first day of April.
    await send(
        client, partnership, plan_case("march", r, (date(2025, 3, 31) - r).days) + plan_case("april", r, (date(2025, 4, 1) - r).days)
    )
    months = (await report(client, partnership, **{"from": "2025-03-15", "to": "2025-04-10"}))["periods"]
    assert [(p["period_start_on"], p["period_end_on"], p["plans_issued"]) for p in months] == [
        ("2025-03-15", "2025-03-31", 1),
        ("2025-04-01", "2025-04-10", 1),
    ]
    quarters = (await report(client, partnership, **{"from": "2025-02-01", "to": "2025-07-01", "granularity": "quarter"}))["periods"]
    assert [(p["period_start_on"], p["period_end_on"], p["plans_issued"]) for p in quarters] == [
        ("2025-02-01", "2025-03-31", 1),
        ("2025-04-01", "2025-06-30", 1),
        ("2025-07-01", "2025-07-01", 0),
    ]
    assert quarters[2]["pct_within_20_weeks"] is None and quarters[2]["avg_weeks"] is None
    # Events dated after `to` are ignored: the April plan does not exist yet on 31 March.
    before = (await report(client, partnership, **{"from": "2025-01-01", "to": "2025-03-31", "granularity": "year"}))["periods"]
    assert before[0]["plans_issued"] == 1


async def test_the_backlog_counts_open_cases_past_their_deadline(client: httpx.AsyncClient) -> None:
    partnership = await make_partnership(client)
    r = date(2025, 1, 1)

    def opened(case: str, *more: dict[str, Any]) -> list[dict[str, Any]]:
        return [ev(case, "request_received", r), ev(case, "request_decision", r + timedelta(days=40), outcome="assess"), *more]

    events = (
        opened("open")
        + opened("open-with-exception", ev("open-with-exception", "exception", r + timedelta(days=50), reason="a"))
        + opened("withdrawn", ev("withdrawn", "assessment_decision", r + timedelta(days=100), outcome="withdrawn"))
        + opened("not-issued", ev("not-issued", "assessment_decision", r + timedelta(days=110), outcome="not_issue"))
        + opened("issued", ev("issued", "final_issued", r + timedelta(days=150)))
        + [ev("refused", "request_received", r), ev("refused", "request_decision", r + timedelta(days=40), outcome="not_assess")]
    )
    await send(client, partnership, events)
    on_deadline = (await report(client, partnership, to=(r + timedelta(days=140)).isoformat()))["backlog"]
    assert on_deadline == {"as_of": "2025-05-21", "total": 0, "with_exception": 0}
    # The day after the deadline: "issued" is still open (its plan comes on day 150).
    day_after = (await report(client, partnership, to=(r + timedelta(days=141)).isoformat()))["backlog"]
    assert (day_after["total"], day_after["with_exception"]) == (3, 1)
    later = (await report(client, partnership, to="2025-12-31"))["backlog"]
    assert (later["total"], later["with_exception"]) == (2, 1)


async def test_the_decision_whether_to_assess_is_due_within_6_weeks(client: httpx.AsyncClient) -> None:
    """Cases worked by hand: a request's decision (to assess or not) is due 42 days after it, in the period holding that
    day; undecided by then, or decided later, it was late."""
    partnership = await make_partnership(client)
    r, early = date(2025, 1, 6), date(2024, 12, 2)  # deadlines 17 February and 13 January
    events = [
        *[ev(case, "request_received", r) for case in "ABCFG"],
        ev("A", "request_decision", r + timedelta(days=42), outcome="assess"),  # on the 42nd day: in time
        ev("B", "request_decision", r + timedelta(days=43), outcome="not_assess"),  # a day late
        ev("C", "request_decision", r + timedelta(days=20), outcome="withdrawn"),  # withdrawn before a decision: none due
        ev("D", "request_received", early),
        ev("D", "request_decision", early + timedelta(days=10), outcome="assess"),  # due 13 January, decided in December
        ev("E", "transfer_in", r),  # no request held: cannot be timed
        ev("E", "request_decision", r + timedelta(days=45), outcome="assess"),
        ev("F", "request_decision", r + timedelta(days=40), outcome="assess"),  # in time; a second decision changes nothing
        ev("F", "request_decision", r + timedelta(days=50), outcome="assess"),
        # G is never decided: late once 17 February has passed
        ev("H", "request_received", r),
        ev("H", "request_decision", r + timedelta(days=50), outcome="withdrawn"),  # withdrawn after its deadline: still late
    ]
    await send(client, partnership, events)
    january, february = (await report(client, partnership, **{"from": "2025-01-01", "to": "2025-02-28"}))["periods"]
    assert (january["decisions_due"], january["decided_within_6_weeks"], january["pct_decided_within_6_weeks"]) == (1, 1, 100.0)
    assert (february["decisions_due"], february["decided_within_6_weeks"], february["pct_decided_within_6_weeks"]) == (5, 2, 40.0)
    # Ending the report before B's decision: B and G were both undecided on their deadline, still late.
    [short] = (await report(client, partnership, **{"from": "2025-02-01", "to": "2025-02-17"}))["periods"]
    assert (short["decisions_due"], short["decided_within_6_weeks"]) == (5, 2)


async def test_annual_review_decisions_are_due_within_4_weeks_and_overdue_reviews_counted(client: httpx.AsyncClient) -> None:
    """Cases worked by hand, as of 28 February 2025 (a year before: 28 February 2024)."""
    partnership = await make_partnership(client)
    d = date.fromisoformat
    events = [
        ev("G", "final_issued", d("2024-01-10")),
        ev("G", "review_meeting", d("2025-01-08")),
        ev("G", "review_decision", d("2025-02-05"), outcome="maintain"),  # 28 days: in time
        ev("H", "review_meeting", d("2025-01-15")),
        ev("H", "review_decision", d("2025-02-13"), outcome="amend"),  # 29 days: late
        ev("I", "review_meeting", d("2025-01-20")),  # no decision 39 days on: late
        ev("J", "review_meeting", d("2025-02-20")),  # no decision 8 days on: pending
        ev("K", "review_meeting", d("2025-01-22")),
        ev("K", "review_meeting", d("2025-01-22")),  # sent twice: one meeting
        ev("K", "review_decision", d("2025-01-30"), outcome="maintain"),
        ev("L", "final_issued", d("2024-01-10")),  # never reviewed: overdue since 10 January
        ev("M", "final_issued", d("2024-02-28")),  # due on 28 February 2025 itself: not yet overdue
        ev("N", "final_issued", d("2024-01-01")),
        ev("N", "review_decision", d("2025-01-15"), outcome="cease"),  # ceased: no review due
        ev("P", "final_issued", d("2023-06-01")),
        ev("P", "review_meeting", d("2023-12-20")),
        ev("P", "review_decision", d("2024-01-05"), outcome="maintain"),  # anchored 5 January 2024, nothing since: overdue
        ev("Q", "final_issued", d("2024-01-05")),
        ev("Q", "review_meeting", d("2025-02-10")),  # held, decision awaited: not overdue
        ev("R", "final_issued", d("2023-01-02")),
        ev("R", "review_meeting", d("2023-12-01")),  # reviewed once, never decided, never again: overdue since December 2024
    ]
    await send(client, partnership, events)
    found = await report(client, partnership, **{"from": "2025-01-01", "to": "2025-02-28"})
    january, february = found["periods"]
    assert (january["review_meetings"], january["review_decisions_within_4_weeks"], january["review_decisions_late"]) == (4, 2, 2)
    assert (january["review_decisions_pending"], january["pct_review_decisions_within_4_weeks"]) == (0, 50.0)
    assert (february["review_meetings"], february["review_decisions_pending"], february["pct_review_decisions_within_4_weeks"]) == (
        2,
        2,
        None,
    )  # J and Q, both awaiting their decision
    assert found["annual_reviews_overdue"] == {"as_of": "2025-02-28", "total": 3}  # L, P and R
    # A month earlier, I's decision is still within its 4 weeks and Q's meeting has not happened: Q is overdue too.
    earlier = await report(client, partnership, **{"from": "2025-01-01", "to": "2025-01-31"})
    assert (earlier["periods"][0]["review_decisions_pending"], earlier["periods"][0]["review_decisions_late"]) == (3, 0)
    assert earlier["annual_reviews_overdue"]["total"] == 4  # L, P, Q and R


async def test_events_are_idempotent_by_event_id_and_never_change(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await make_partnership(client)
    events = plan_case("EHC-0001", date(2025, 1, 6), 120)
    assert await send(client, partnership, events) == {"accepted": 3, "duplicates": 0}
    assert await send(client, partnership, events + events[:1]) == {"accepted": 0, "duplicates": 4}
    changed = [{**events[0], "occurred_on": "2025-01-07"}, ev("EHC-0002", "request_received", date(2025, 2, 1))]
    body = assert_problem(
        await client.post("/api/v1/case-events", json={"partnership_id": partnership["id"], "events": changed}),
        409,
        "/problems/event-conflict",
    )
    assert body["errors"] == [{"pointer": "/events/0/event_id", "message": "already received with different content"}]
    twice = [ev("EHC-0003", "request_received", date(2025, 2, 1))]
    twice.append({**twice[0], "occurred_on": "2025-02-02"})
    assert_problem(await client.post("/api/v1/case-events", json={"partnership_id": partnership["id"], "events": twice}), 422)
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM case_event"))).scalar_one() == 3  # nothing of the refused batches


async def test_only_the_contract_fields_are_accepted_and_case_refs_are_never_stored(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await make_partnership(client)
    base = ev("EHC-SECRET-77", "request_received", date(2025, 1, 6))
    for extra in ({"child_name": "Alex Smith"}, {"date_of_birth": "2015-04-01"}):
        response = await client.post("/api/v1/case-events", json={"partnership_id": partnership["id"], "events": [{**base, **extra}]})
        assert assert_problem(response, 422)["errors"][0]["pointer"].startswith("/events/0/")
    bad = [
        {**base, "type": "request_decision"},  # needs an outcome
        {**base, "outcome": "assess"},  # a request carries none
        {**base, "type": "exception"},  # needs a reason
        {**base, "occurred_on": (today_in("Europe/London") + timedelta(days=3)).isoformat()},
        {**base, "type": "review_decision", "outcome": "issue"},
    ]
    for event in bad:
        assert_problem(await client.post("/api/v1/case-events", json={"partnership_id": partnership["id"], "events": [event]}), 422)
    await send(client, partnership, [base])
    async with db.engine.connect() as conn:
        stored = [tuple(r) for r in (await conn.execute(text("SELECT * FROM case_event"))).all()]
    assert len(stored) == 1 and not any("SECRET" in str(value) for value in stored[0])


async def test_case_integration_keys_reach_their_endpoints_only(app: Any, db: Database, client: httpx.AsyncClient) -> None:
    partnership = await make_partnership(client)
    other = await make_partnership(client)
    async with as_role(app, db, Role.case_integration, partnership) as system:
        sent = await system.post("/api/v1/case-events", json={"events": plan_case("X", date(2025, 1, 6), 100)})
        assert sent.status_code == 200 and sent.json()["accepted"] == 3
        assert (await system.get(f"/api/v1/partnerships/{partnership['id']}/ehcp-timeliness")).status_code == 200
        assert_problem(await system.get(f"/api/v1/partnerships/{other['id']}/ehcp-timeliness"), 404)
        assert_problem(
            await system.post("/api/v1/case-events", json={"partnership_id": other["id"], "events": plan_case("Y", date(2025, 1, 6), 9)}),
            422,
        )
        assert_problem(await system.get("/api/v1/plans"), 403)
    audit = (await client.get("/api/v1/audit-events", params={"entity_type": "case_events"})).json()["items"]
    assert [(a["action"], a["changes"]) for a in audit] == [("sync", {"accepted": [None, 3], "duplicates": [None, 0]})]


async def test_timeliness_measures_are_fed_monthly_from_the_events(client: httpx.AsyncClient) -> None:
    partnership = await make_partnership(client)
    plan = await make_plan(client, partnership)
    today = today_in("Europe/London")
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    measure = await post(
        client,
        "measures",
        {
            "plan_id": plan["id"], "name": "EHC plans within 20 weeks", "unit": "percent", "direction": "higher_is_better",
            "baseline_value": 40.0, "baseline_on": (last_month - timedelta(days=200)).isoformat(), "target_value": 90.0,
            "target_on": (today + timedelta(days=200)).isoformat(), "source": "ehcp_timeliness", "tolerance": 5.0,
        },
    )  # fmt: skip
    received = last_month - timedelta(days=130)
    # The case system's first request, a year and more before last month: last month and this month are covered.
    first = last_month - timedelta(days=400)
    await send(client, partnership, [ev("M0", "request_received", first)])
    await send(
        client,
        partnership,
        plan_case("M1", received, (last_month - received).days)
        + plan_case("M2", received, (last_month - received).days + 20)
        + plan_case("M-excepted", received, (last_month - received).days + 25, ("exception", {"reason": "c"})),
    )
    await send(client, partnership, plan_case("M3", this_month - timedelta(days=100), 100))
    # A month whose only plan later turns out to have an exception has no figure excluding exceptions: its
    # observation goes (audited), so no figure of another definition lingers.
    two_months_ago = (last_month - timedelta(days=1)).replace(day=1)
    await send(client, partnership, plan_case("M4", two_months_ago - timedelta(days=100), 100))
    held = (await client.get("/api/v1/observations", params={"measure_id": measure["id"]})).json()["items"]
    [gone] = [o for o in held if o["period_start_on"] == two_months_ago.isoformat()]
    await send(client, partnership, [ev("M4", "exception", two_months_ago - timedelta(days=60), reason="c")])
    trail = (await client.get("/api/v1/audit-events", params={"entity_id": gone["id"]})).json()["items"]
    assert [e["action"] for e in trail] == ["create", "delete"]
    # A plan issued before the coverage began (365 days after the first request) makes no observation.
    early = first + timedelta(days=200)
    await send(client, partnership, plan_case("M-early", early - timedelta(days=100), 100))
    observations = (await client.get("/api/v1/observations", params={"measure_id": measure["id"]})).json()["items"]
    got = sorted((o["period_start_on"], o["value"], o["numerator"], o["denominator"], o["provisional"]) for o in observations)
    # Excluding exceptions: the late plan with an exception counts in neither numerator nor denominator.
    assert got == [(last_month.isoformat(), 50.0, 1, 2, False), (this_month.isoformat(), 100.0, 1, 1, True)]
    found = (await client.get(f"/api/v1/measures/{measure['id']}")).json()
    assert found["latest_value"] == 50.0  # last month: this month's provisional figure is never the headline
    assert "excluding" in found["computed_as"]
    months = await report(client, partnership, **{"from": early.replace(day=1).isoformat(), "to": today.isoformat()})
    assert months["covered_from"] == (first + timedelta(days=364)).isoformat()
    by_start = {p["period_start_on"]: p for p in months["periods"]}
    assert by_start[early.replace(day=1).isoformat()]["covered"] is False
    assert by_start[early.replace(day=1).isoformat()]["plans_issued"] == 1
    assert by_start[last_month.isoformat()]["covered"] is True
    assert by_start[last_month.isoformat()]["pct_within_20_weeks"] == 33.3


# Property: the report equals a straightforward reading of the rules, whatever the arrival order. --------------------------


@dataclass
class Case:
    received: date
    final_after: int | None
    exception: bool = False
    disputed: bool = False
    transferred: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)


cases_strategy = st.lists(
    st.builds(
        Case,
        received=st.dates(min_value=date(2023, 1, 1), max_value=date(2024, 12, 31)),
        final_after=st.one_of(st.none(), st.sampled_from([0, 1, 139, 140, 141, 200, 363, 364, 365]), st.integers(0, 500)),
        exception=st.booleans(),
        disputed=st.booleans(),
        transferred=st.booleans(),
    ),
    min_size=1,
    max_size=25,
)


def expected_year(cases: list[Case], year: int) -> tuple[int, int, int, int]:
    cohort = [
        c for c in cases
        if c.final_after is not None and (c.received + timedelta(days=c.final_after)).year == year and not c.disputed and not c.transferred
    ]  # fmt: skip
    within = [c for c in cohort if c.final_after is not None and c.final_after <= 140]
    clean = [c for c in cohort if not c.exception]
    return len(cohort), len(within), len(clean), len([c for c in clean if c in within])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cases=cases_strategy, seed=st.integers(0, 2**16), batches=st.integers(1, 3))
async def test_the_report_follows_the_rules_in_any_arrival_order(
    client: httpx.AsyncClient, cases: list[Case], seed: int, batches: int
) -> None:
    partnership = await make_partnership(client)  # one per example: examples share the database
    events: list[dict[str, Any]] = []
    for index, c in enumerate(cases):
        ref = f"case-{index}"
        extra = [("exception", {"reason": "b"})] * c.exception + [("mediation", {})] * c.disputed + [("transfer_in", {})] * c.transferred
        if c.final_after is None:
            events += [ev(ref, "request_received", c.received)] + [ev(ref, kind, c.received, **f) for kind, f in extra]
        else:
            events += [ev(ref, "request_received", c.received)] + [ev(ref, kind, c.received, **f) for kind, f in extra]
            events.append(ev(ref, "final_issued", c.received + timedelta(days=c.final_after)))
    rng = random.Random(seed)
    rng.shuffle(events)
    resent = events + rng.sample(events, k=min(3, len(events)))  # some events arrive twice
    for i in range(batches):
        if resent[i::batches]:
            await send(client, partnership, resent[i::batches])
    body = await report(client, partnership, **{"from": "2023-01-01", "to": "2025-12-31", "granularity": "year"})
    for period in body["periods"]:
        year = int(period["period_start_on"][:4])
        issued, within, issued_ex, within_ex = expected_year(cases, year)
        got = (
            period["plans_issued"],
            period["issued_within_20_weeks"],
            period["plans_issued_excl_exceptions"],
            period["issued_within_20_weeks_excl_exceptions"],
        )
        assert got == (issued, within, issued_ex, within_ex)
        share = None if issued == 0 else float((Decimal(100 * within) / issued).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
        assert period["pct_within_20_weeks"] == share


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2025-02-01", "to": "2025-01-01"},
        {"granularity": "week"},
        {"since": "2025-01-01"},
        {"from": "x"},
        {"to": "9999-12-31"},  # the calendar ends before its last period would
        {"to": "0001-01-05"},
        {"from": "3000-01-01"},
        {"from": "1901-01-01"},  # only `from`: more than 30 years before today
    ],
)
async def test_bad_report_parameters_are_422(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    partnership = await make_partnership(client)
    assert_problem(await client.get(f"/api/v1/partnerships/{partnership['id']}/ehcp-timeliness", params=params), 422)
