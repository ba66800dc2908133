"""The demo area tells one coherent story, read back through the API as a council, an inspector or a DfE adviser would.

An area SEND inspection with outcome 3 and the priority action plan that answers it, dated relative to today; Dorset's
contingency in the plan's own financial years; measures that evidence their own concerns; about 400 new EHC plans a
year; every slipping action with its reason; nothing dated after the moment of loading.
"""

import json
from calendar import monthrange
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from app.core.db import Database
from app.core.uow import unit_of_work
from app.demo.seed import financial_year, seed_demo
from app.models import CaseEvent
from app.partnerships.service import today_in
from app.plans.framework import CONCERN_FRAMEWORK, PLAN_FRAMEWORK, answered

SLIPPING = {"red", "amber"}


async def load(db: Database) -> tuple[str, datetime]:
    """Load the demo; its partnership id and the moment loading finished."""
    async with unit_of_work(db) as session:
        partnership = await seed_demo(session)
    return str(partnership.id), datetime.now(UTC)


async def every(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    """All pages of a list."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await client.get(f"/api/v1/{path}", params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


async def the_plan(client: httpx.AsyncClient, partnership_id: str) -> dict[str, Any]:
    [plan] = (await client.get("/api/v1/plans", params={"partnership_id": partnership_id})).json()["items"]
    return dict(plan)


def day(value: str | None) -> date:
    assert value is not None
    return date.fromisoformat(value)


def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_an_area_send_inspection_answered_by_a_priority_action_plan(db: Database, client: httpx.AsyncClient) -> None:
    partnership_id, _ = await load(db)
    today = today_in("Europe/London")
    plan = await the_plan(client, partnership_id)
    inspection = (await client.get(f"/api/v1/inspections/{plan['inspection_id']}")).json()
    assert (inspection["framework"], inspection["kind"], plan["kind"]) == ("area_send_2023", "full", "priority_action_plan")
    assert "widespread and/or systemic failings" in inspection["outcome"]
    assert PLAN_FRAMEWORK[plan["kind"]] == inspection["framework"]
    concerns = await every(client, "concerns", plan_id=plan["id"])
    kinds = [c["kind"] for c in concerns]
    # A priority action plan answers the report's areas for priority action (its areas for improvement belong to the
    # partnership's strategic plan), and every action answers at least one of them.
    assert set(kinds) == {"area_for_priority_action"}
    framework = answered(plan["kind"], inspection["framework"])
    assert all(CONCERN_FRAMEWORK[k] in (None, framework) for k in kinds)
    actions = await every(client, "actions", plan_id=plan["id"])
    assert 20 <= len(actions) <= 25
    assert all(a["concern_ids"] and set(a["concern_ids"]) <= {c["id"] for c in concerns} for a in actions)

    # The dates in the order they happened, relative to today.
    onsite, onsite_end = day(inspection["onsite_start_on"]), day(inspection["onsite_end_on"])
    published, submitted, accepted = day(inspection["report_published_on"]), day(plan["submitted_on"]), day(plan["accepted_on"])
    assert onsite < onsite_end < published < submitted < accepted < today
    if plan["submission_due_on"] is not None:
        assert submitted <= day(plan["submission_due_on"])
    monitoring = day(plan["revisit_due_on"])
    assert 540 <= (monitoring - published).days <= 550  # a monitoring inspection about 18 months after the final report
    assert accepted < monitoring and abs((monitoring - today).days) <= 60  # due about now: the packs matter
    assert onsite.year > 2022 and (today - onsite).days < 3 * 365

    # The chair the governance names is the cabinet member, with the same title.
    people = await every(client, "people", partnership_id=partnership_id)
    [chair] = [p for p in people if "chair of the SEND Delivery Group" in (p["job_title"] or "")]
    assert chair["display_name"].startswith("Cllr ")
    assert f"chaired by {chair['display_name']}, {chair['job_title'].split(';')[0]}" in plan["governance"]

    # People were added when the partnership was set up, before the plan was drafted; the one who left did so after
    # his last report to the Delivery Group, and the HR feed recorded it then.
    assert all(published <= stamp(p["created_at"]).date() and stamp(p["created_at"]) <= stamp(plan["created_at"]) for p in people)
    [leaver] = [p for p in people if not p["active"]]
    [owned] = [a for a in actions if a["owner_id"] == leaver["id"]]
    reports = await every(client, "progress-updates", action_id=owned["id"])
    left = day(leaver["left_on"])
    assert reports and max(stamp(u["created_at"]).date() for u in reports) < left < today
    assert stamp(leaver["updated_at"]).date() == left


def quarter_ends(first: date, last: date) -> list[date]:
    """The ends of the financial quarters (June, September, December, March) from `first` to `last`."""
    ends = [date(year, month, monthrange(year, month)[1]) for year in range(first.year, last.year + 1) for month in (3, 6, 9, 12)]
    return [end for end in ends if first <= end <= last]


def quarter_of(on: date) -> tuple[int, int]:
    return on.year, (on.month - 1) // 3


async def test_funding_runs_in_the_plans_financial_years(db: Database, client: httpx.AsyncClient) -> None:
    partnership_id, loaded = await load(db)
    today = today_in("Europe/London")
    plan = await the_plan(client, partnership_id)
    lines = await every(client, "funding-lines", plan_id=plan["id"])
    allocations = sorted((f["financial_year"], f["amount"]) for f in lines if f["kind"] == "allocation")
    years = [year for year, _ in allocations]
    assert [amount for _, amount in allocations] == ["93200.00", "454000.00", "377800.00"]  # Dorset's £925,000
    assert [int(y[:4]) for y in years] == list(range(int(years[0][:4]), int(years[0][:4]) + 3))
    inspection = (await client.get(f"/api/v1/inspections/{plan['inspection_id']}")).json()
    accepted, first_opens = day(plan["accepted_on"]), date(int(years[0][:4]), 4, 1)
    assert day(inspection["report_published_on"]) < first_opens.replace(year=first_opens.year + 1)  # the money follows the report
    assert first_opens <= accepted + timedelta(days=60) and accepted < first_opens.replace(year=first_opens.year + 1)
    assert financial_year(day(plan["revisit_due_on"])) in years
    agreed = max(stamp(f["created_at"]) for f in lines if f["kind"] == "allocation")
    actions = {a["id"]: a for a in await every(client, "actions", plan_id=plan["id"])}
    spends = [f for f in lines if f["kind"] == "spend"]
    spent: dict[str, float] = {}
    for line in spends:
        # Recorded in its own financial year, after Cabinet agreed the money and never after loading, while the action it
        # paid for ran (or in the month after it ended).
        recorded = stamp(line["created_at"])
        assert agreed < recorded <= loaded and financial_year(recorded.date()) == line["financial_year"], line
        action = actions[line["action_id"]]
        ended = day(action["completed_on"]) if action["completed_on"] else today
        assert day(action["planned_start_on"]) <= recorded.date() <= ended + timedelta(days=31), (line, action["ref"])
        assert line["purpose"]
        spent[line["financial_year"]] = spent.get(line["financial_year"], 0.0) + float(line["amount"])
    assert spent and all(spent[y] <= float(dict(allocations)[y]) for y in spent)
    # Spend comes in through the year as it happens (the current year's from the end of its first month).
    assert financial_year(today) in spent or today.month == 4 or financial_year(today) > years[-1]
    reviews = [f for f in spends if "review of the EHC assessment backlog" in f["purpose"]]
    assert reviews and all("backlog" in actions[f["action_id"]]["title"] for f in reviews)  # paid for by the backlog's action
    # Every quarter of the plan's years since it was accepted that has ended had spend recorded in it.
    recorded_in = {quarter_of(stamp(f["created_at"]).date()) for f in spends}
    ended = quarter_ends(max(accepted, first_opens), today - timedelta(days=1))
    assert ended and all(quarter_of(end) in recorded_in for end in ended)

    # The summary at each quarter end shows the spend to date: growing, within the allocation, most of a year's money
    # spent by the time that year ends.
    allocated = {y: float(a) for y, a in allocations}
    totals = []
    for end in ended:
        summary = (await client.get(f"/api/v1/plans/{plan['id']}/summary", params={"as_of": end.isoformat()})).json()
        by_year = {y["financial_year"]: float(y["spent"]) for y in summary["funding"]["years"]}
        assert all(by_year[y] <= allocated[y] for y in by_year)
        assert by_year.get(financial_year(end), 0) > 0, end
        if end.month == 3:
            assert 0.7 * allocated[financial_year(end)] <= by_year[financial_year(end)], end
        totals.append(float(summary["funding"]["total"]["spent"]))
    assert totals == sorted(totals) and len(set(totals)) == len(totals)


async def test_each_measure_evidences_its_own_concern(db: Database, client: httpx.AsyncClient) -> None:
    partnership_id, _ = await load(db)
    plan = await the_plan(client, partnership_id)
    themes = {c["id"]: c["theme"] for c in await every(client, "concerns", plan_id=plan["id"])}
    measures = {m["name"]: m for m in await every(client, "measures", plan_id=plan["id"])}
    evidenced = {name: [themes[c] for c in m["concern_ids"]] for name, m in measures.items()}
    timeliness = next(m for m in measures.values() if m["source"] == "ehcp_timeliness")
    assert evidenced[timeliness["name"]] == ["EHC needs assessment"]
    assert evidenced["Health advice for EHC needs assessments returned within 6 weeks"] == ["Health"]
    assert evidenced["Parents confident their child's needs are met (survey)"] == ["Co-production"]
    # The 20-week measure is the DfE headline excluding exceptions, and the timeliness action asks for the same.
    assert "excluding cases where an exception applies" in timeliness["definition"]
    assert "SEN2 20-week measure excluding exceptions" in timeliness["definition"]
    assert "mediation or tribunal and transfers-in are not counted" in timeliness["definition"]
    assert "exceptions included" not in timeliness["definition"]
    actions = await every(client, "actions", plan_id=plan["id"])
    [headline] = [a for a in actions if "within 20 weeks" in a["title"]]
    assert "excluding cases where an exception applies" in headline["success_criteria"]
    assert headline["concern_ids"] == timeliness["concern_ids"]
    statuses = {m["name"]: m["status"] for m in measures.values()}
    assert statuses["Parents confident their child's needs are met (survey)"] == "on_track"
    # A measure and the action that answers it tell one story: the action's criterion is the measure's target, due on
    # the measure's target date; the health-advice action is late, and so is the measure.
    advice = measures["Health advice for EHC needs assessments returned within 6 weeks"]
    [answer] = [a for a in actions if f"{advice['target_value']:g}% of health advice" in a["success_criteria"]]
    assert "6 weeks" in answer["success_criteria"] and answer["concern_ids"] == advice["concern_ids"]
    assert advice["target_on"] == answer["baseline_due_on"] and headline["baseline_due_on"] == timeliness["target_on"]
    assert f"{timeliness['target_value']:g}%" in headline["success_criteria"]
    assert answer["rag"] in SLIPPING and day(answer["forecast_on"]) > day(advice["target_on"]) and advice["status"] == "behind"


async def test_each_action_says_what_it_will_do_and_its_milestones_keep_honest_dates(db: Database, client: httpx.AsyncClient) -> None:
    partnership_id, _ = await load(db)
    today = today_in("Europe/London")
    plan = await the_plan(client, partnership_id)
    actions = {a["ref"]: a for a in await every(client, "actions", plan_id=plan["id"])}
    descriptions = [a["description"] for a in actions.values()]
    assert len(set(descriptions)) == len(descriptions)
    for ref, action in actions.items():
        # What will be done, in its own words: not the success criteria again, nor a pointer to the concern.
        assert action["description"] and len(action["description"]) > 80, ref
        assert action["success_criteria"] not in action["description"] and "APA-" not in action["description"], ref
    late_met = missed = 0
    for ref, action in actions.items():
        milestones = await every(client, "milestones", action_id=action["id"])
        titles = [m["title"] for m in milestones if m["status"] != "reprogrammed"]
        assert len(milestones) >= 3 and len(set(titles)) == len(titles), ref
        assert not any(word in m["title"].lower() for m in milestones for word in ("checkpoint", ref)), ref
        on_course = action["forecast_on"] is None or day(action["forecast_on"]) <= day(action["baseline_due_on"])
        for m in milestones:
            due = day(m["due_on"])
            if m["status"] == "met":
                met = day(m["met_on"])
                assert day(action["planned_start_on"]) <= met < today, (ref, m)
                if action["completed_on"]:
                    assert met <= day(action["completed_on"]), (ref, m)
                if on_course:
                    assert met <= due, (ref, m)  # met on time while the action kept to its course
                late_met += met > due
            else:
                assert m["met_on"] is None, (ref, m)
            if m["status"] == "missed":
                # Only a slipping action misses a milestone, and only one whose day has passed.
                assert not on_course and action["rag"] in SLIPPING and due < today, (ref, m)
                missed += 1
            if m["status"] == "reprogrammed":
                assert action["reprogramme_count"] and m["due_on"] == action["baseline_due_on"], (ref, m)
                assert any(n["status"] == "pending" and n["due_on"] == action["due_on"] for n in milestones), ref
            if m["status"] == "pending":
                assert due >= today or action["status"] == "not_started", (ref, m)
        if action["completed_on"] and day(action["completed_on"]) > day(action["baseline_due_on"]):
            # Done late: its last milestone was met late, on the day the action was completed.
            last = max(milestones, key=lambda m: m["due_on"])
            assert last["status"] == "met" and last["met_on"] == action["completed_on"] > last["due_on"], ref
    assert late_met >= 3 and missed >= 2


async def test_about_four_hundred_new_plans_a_year_from_a_stated_start(db: Database, client: httpx.AsyncClient) -> None:
    partnership_id, _ = await load(db)
    today = today_in("Europe/London")
    url = f"/api/v1/partnerships/{partnership_id}/ehcp-timeliness"
    year = (
        await client.get(url, params={"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat(), "granularity": "year"})
    ).json()
    issued = sum(p["plans_issued"] for p in year["periods"])
    assert 300 <= issued <= 500, issued
    # Case events start on a stated day and nothing implies coverage before it.
    first_request = day(year["covered_from"]) - timedelta(days=364)
    async with unit_of_work(db) as session:
        earliest = (await session.execute(select(func.min(CaseEvent.occurred_on)))).scalar_one()
    assert earliest == first_request and earliest.day <= 5  # the first working day of a month
    before = (
        await client.get(
            url,
            params={
                "from": (earliest - timedelta(days=800)).isoformat(),
                "to": (earliest - timedelta(days=1)).isoformat(),
                "granularity": "year",
            },
        )
    ).json()
    assert sum(p["plans_issued"] for p in before["periods"]) == 0 and before["backlog"]["total"] == 0
    plan = await the_plan(client, partnership_id)
    [timeliness] = [m for m in await every(client, "measures", plan_id=plan["id"]) if m["source"] == "ehcp_timeliness"]
    assert day(timeliness["baseline_on"]) >= day(year["covered_from"])
    observations = await every(client, "observations", measure_id=timeliness["id"])
    assert observations and all(day(o["period_start_on"]) >= day(year["covered_from"]) for o in observations)
    # A believable climb: about one in seven when inspected, most plans on time now.
    months = (await client.get(url, params={"from": timeliness["baseline_on"], "to": today.isoformat(), "granularity": "month"})).json()
    full = [p for p in months["periods"] if p["covered"] and p["plans_issued_excl_exceptions"] and day(p["period_end_on"]) < today]
    first_quarter, last_quarter = full[:3], full[-3:]

    def share(periods: list[dict[str, Any]]) -> float:
        within = sum(p["issued_within_20_weeks_excl_exceptions"] for p in periods)
        return 100 * within / sum(p["plans_issued_excl_exceptions"] for p in periods)

    assert share(first_quarter) < 30 < 60 < share(last_quarter) < 95
    assert abs(timeliness["baseline_value"] - first_quarter[0]["pct_within_20_weeks_excl_exceptions"]) < 0.05


async def test_nothing_is_dated_after_the_moment_of_loading(db: Database, client: httpx.AsyncClient) -> None:
    partnership_id, loaded = await load(db)
    plan = await the_plan(client, partnership_id)
    actions = await every(client, "actions", plan_id=plan["id"])
    rows: list[dict[str, Any]] = [plan, (await client.get(f"/api/v1/inspections/{plan['inspection_id']}")).json()]
    rows += actions + await every(client, "concerns", plan_id=plan["id"]) + await every(client, "funding-lines", plan_id=plan["id"])
    measures = await every(client, "measures", plan_id=plan["id"])
    rows += measures
    for measure in measures:
        rows += await every(client, "observations", measure_id=measure["id"])
    for action in actions:
        rows += await every(client, "milestones", action_id=action["id"])
        rows += await every(client, "progress-updates", action_id=action["id"])
        rows += await every(client, "evidence", action_id=action["id"])
        rows += (await client.get(f"/api/v1/actions/{action['id']}/reprogrammes")).json()["items"]
    rows += await every(client, "people", partnership_id=partnership_id)
    stamps = [(name, row[name]) for row in rows for name in ("created_at", "updated_at", "reviewed_at") if row.get(name)]
    assert len(stamps) > 500
    assert [s for s in stamps if stamp(s[1]) > loaded] == []
    events = await every(client, "audit-events")
    # Reads of people's contact details are recorded as they happen: the ones above are this test's, not the demo's.
    assert events and [e for e in events if stamp(e["occurred_at"]) > loaded and e["action"] != "read"] == []
    async with unit_of_work(db) as session:
        received = (await session.execute(select(func.max(CaseEvent.received_at)))).scalar_one()
    assert received is not None and received.replace(tzinfo=UTC) <= loaded


def baseline_rag(action: dict[str, Any], today: date) -> str:
    """The RAG against the frozen baseline, as the API gives it."""
    return str(action["baseline_rag"])


async def test_every_action_follows_a_course_with_its_reasons(db: Database, client: httpx.AsyncClient) -> None:
    partnership_id, loaded = await load(db)
    today = today_in("Europe/London")
    plan = await the_plan(client, partnership_id)
    accepted = day(plan["accepted_on"])
    actions = {a["ref"]: a for a in await every(client, "actions", plan_id=plan["id"])}
    updates = {ref: await every(client, "progress-updates", action_id=a["id"]) for ref, a in actions.items()}
    moves = {ref: (await client.get(f"/api/v1/actions/{a['id']}/reprogrammes")).json()["items"] for ref, a in actions.items()}
    assert {a["rag"] for a in actions.values()} == {"red", "amber", "green", "blue"}
    for ref, action in actions.items():
        latest = updates[ref][-1] if updates[ref] else None
        reasons = [m["reason"] for m in moves[ref]] + ([latest["blockers"]] if latest and latest["blockers"] else [])
        if action["rag"] in SLIPPING or baseline_rag(action, today) in SLIPPING:
            assert reasons and all(len(r) > 40 for r in reasons), ref
        if latest is not None:
            # What the owner last reported agrees with the action's course.
            assert latest["rag"] == action["rag"], ref
            assert (latest["rag"] in SLIPPING) == bool(latest["blockers"]), ref
            if latest["rag"] == "green":
                assert not any(word in latest["narrative"] for word in ("At risk", "Overdue", "Behind plan", "slippage")), ref
        percents = [u["percent_complete"] for u in updates[ref]]
        assert percents == sorted(percents), ref
        if action["is_overdue"]:
            assert latest is not None and latest["rag"] in SLIPPING, ref
        assert (action["status"] == "completed") == (action["completed_on"] is not None), ref
        assert action["baseline_due_on"] is not None, ref

    # Some actions were reprogrammed by the Delivery Group after acceptance, and the trail shows the move then.
    moved = {ref: m for ref, m in moves.items() if m}
    assert len(moved) >= 2
    for ref, [move] in moved.items():
        action = actions[ref]
        assert move["previous_due_on"] == move["baseline_due_on"] == action["baseline_due_on"]
        assert move["new_due_on"] == action["due_on"] != action["baseline_due_on"]
        assert move["approved_at_meeting"].startswith("SEND Delivery Group, ") and "decision" in move["approved_at_meeting"]
        made = stamp(move["created_at"])
        assert accepted < made.date() < today and made <= loaded
        trail = (await client.get("/api/v1/audit-events", params={"entity_id": action["id"], "limit": 200})).json()["items"]
        [event] = [e for e in trail if "due_on" in e["changes"]]
        assert event["changes"]["due_on"] == [action["baseline_due_on"], action["due_on"]]
        assert event["changes"]["reprogramme_reason"] == [None, move["reason"]]
        assert stamp(event["occurred_at"]) == made
    # One is red against its baseline but on course against its new date.
    assert any(baseline_rag(actions[ref], today) == "red" and actions[ref]["rag"] in {"green", "amber"} for ref in moved)
    assert any(a["status"] == "completed" and a["completed_on"] > a["baseline_due_on"] for a in actions.values())  # one done late
    assert any(a["owner_active"] is False and a["status"] != "completed" for a in actions.values())  # its owner has left

    # A pack as it stood the day before a reprogramme shows the old due date.
    ref, [move] = next(iter(moved.items()))
    before = (day(move["created_at"][:10]) - timedelta(days=1)).isoformat()
    made = await client.post(f"/api/v1/plans/{plan['id']}/exports", json={"format": "json", "audience": "board", "as_of": before})
    assert made.status_code == 201, made.text
    pack = json.loads((await client.get(f"/api/v1/exports/{made.json()['id']}/content")).content)
    then = {a["ref"]: a for c in pack["data"]["concerns"] for a in c["actions"]}
    assert then[ref]["due_on"] == move["previous_due_on"]


async def test_a_pack_for_an_earlier_day_shows_milestones_and_evidence_as_they_stood(db: Database, client: httpx.AsyncClient) -> None:
    partnership_id, _ = await load(db)
    plan = await the_plan(client, partnership_id)
    early = (day(plan["accepted_on"]) + timedelta(days=45)).isoformat()
    made = await client.post(f"/api/v1/plans/{plan['id']}/exports", json={"format": "json", "audience": "board", "as_of": early})
    assert made.status_code == 201, made.text
    pack = json.loads((await client.get(f"/api/v1/exports/{made.json()['id']}/content")).content)
    actions = [a for c in pack["data"]["concerns"] for a in c["actions"]]
    milestones = [m for a in actions for m in a["milestones"]]
    assert milestones and all(m["met_on"] is None or m["met_on"] <= early for m in milestones)
    assert all(m["status"] != "reprogrammed" for m in milestones)  # no reprogramme had happened yet
    evidence = [e for c in pack["data"]["concerns"] for e in c["evidence"]]
    assert all(e["review_status"] != "accepted" or e["evidence_on"] <= early for e in evidence)


async def test_a_believable_year_of_governance_risks_engagement_and_impact(db: Database, client: httpx.AsyncClient) -> None:
    partnership_id, loaded = await load(db)
    today = today_in("Europe/London")
    plan = await the_plan(client, partnership_id)
    meetings = await every(client, "meetings", plan_id=plan["id"], sort="held_on")
    group = [m for m in meetings if m["title"].startswith("SEND Delivery Group")]
    held = [m for m in group if m["status"] == "held"]
    assert len(held) >= 12 and all(m["parent_carer_forum_present"] for m in held)  # the forum is always at the table
    assert all(day(m["held_on"]) < today for m in held) and [m["status"] for m in group if day(m["held_on"]) > today] == ["scheduled"]
    stocktakes = [m for m in meetings if m["kind"] == "stocktake"]
    assert [m["status"] for m in stocktakes] == ["held", "held", "scheduled"]
    for m in stocktakes:
        assert day(m["evidence_due_on"]) == day(m["held_on"]) - timedelta(days=14) and day(m["held_on"]).weekday() < 5
    assert all(m["feedback"] and m["concern_outcomes"] for m in stocktakes if m["status"] == "held")
    # Both reprogrammes were approved by a decision of the meeting that agreed them, linked to the move.
    moves = [
        r
        for a in await every(client, "actions", plan_id=plan["id"])
        for r in (await client.get(f"/api/v1/actions/{a['id']}/reprogrammes")).json()["items"]
    ]
    decided = {r for d in await every(client, "decisions") for r in d["reprogramme_ids"]}
    assert len(moves) == 2 and {m["id"] for m in moves} == decided
    late = [a for a in await every(client, "meeting-actions") if a["is_overdue"]]
    assert len(late) == 1 and all(day(a["due_on"]) < today for a in late)
    # The register: one risk past its review date, one above target with nothing in progress; every risk re-rated over time.
    alerts = (await client.get(f"/api/v1/plans/{plan['id']}/alerts")).json()["items"]
    assert {a["kind"] for a in alerts} >= {"risk_review_overdue", "risk_unmitigated", "meeting_action_overdue"}
    risks = await every(client, "risks", plan_id=plan["id"])
    trends = {r["ref"]: [x["score"] for x in (await client.get(f"/api/v1/risks/{r['id']}/ratings")).json()["items"]] for r in risks}
    assert all(trends[r["ref"]][-1] == r["score"] for r in risks) and sum(len(t) > 1 for t in trends.values()) >= 3
    engagements = await every(client, "engagements", plan_id=plan["id"])
    assert len(engagements) >= 6 and {"co_produce", "co_design", "consult"} <= {e["level"] for e in engagements}
    assert all(e["you_said"] and e["we_did"] and day(e["held_on"]) < today for e in engagements)
    # Each concern judged every quarter since acceptance; the latest judgement never claims more than the delivery RAG shows.
    for concern in await every(client, "concerns", plan_id=plan["id"]):
        statements = await every(client, "impact-statements", concern_id=concern["id"])
        assert len(statements) >= 4 and concern["latest_impact"]["id"] == max(statements, key=lambda s: s["as_of"])["id"]
        assert concern["latest_impact"]["judgement"] != "sufficient_progress"
    for rows in (meetings, risks, engagements):
        assert all(stamp(r["created_at"]) <= loaded for r in rows)
