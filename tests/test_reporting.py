"""The monthly reporting cycle: a plan's schedule and senior responsible officer, reporting periods and returns."""

import uuid
from datetime import date, timedelta
from typing import Any

import httpx

from app.partnerships.service import today_in
from app.reporting.schedule import Schedule, month_of, period_dates
from tests.factories import make_person, make_world
from tests.test_conventions import assert_problem
from tests.test_lifecycle import patch

TODAY = today_in("Europe/London")  # the partnerships' time zone in these tests
SCHEDULE = {"meeting": {"week": 2, "weekday": "tuesday"}, "returns_due_working_days_before_meeting": 5}


def test_a_period_is_a_month_whose_returns_fall_due_before_the_next_months_meeting() -> None:
    by_meeting = Schedule.model_validate(SCHEDULE)
    # November 2026: the December meeting is the second Tuesday (8th); five working days before it is 1 December.
    assert period_dates(by_meeting, date(2026, 11, 17)) == (date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 8))
    # December 2026: the January meeting is the 12th; five working days before it is 5 January.
    assert period_dates(by_meeting, date(2026, 12, 3))[2:] == (date(2027, 1, 5), date(2027, 1, 12))
    by_day = Schedule.model_validate({"returns_due_day_of_month": 1})
    # 1 May 2027 is a Saturday and the 3rd the early May bank holiday: the April return is due on Tuesday 4 May.
    assert period_dates(by_day, date(2027, 4, 9)) == (date(2027, 4, 1), date(2027, 4, 30), date(2027, 5, 4), None)


async def test_a_plan_names_its_schedule_and_senior_responsible_officer(client: httpx.AsyncClient) -> None:
    w = await make_world(client)
    sro = await make_person(client, w.partnership, email="director.childrens@council.example")
    changed = await patch(client, f"plans/{w.plan['id']}", {"reporting_schedule": SCHEDULE, "senior_responsible_officer_id": sro["id"]})
    assert changed.status_code == 200, changed.text
    plan: dict[str, Any] = changed.json()
    assert plan["senior_responsible_officer_id"] == sro["id"]
    assert plan["reporting_schedule"]["meeting"] == {"week": 2, "weekday": "tuesday"}
    assert plan["reporting_schedule"]["reminder_working_days"] == [7, 2]
    assert (await client.get(f"/api/v1/plans/{w.plan['id']}")).json() == plan
    both = await patch(client, f"plans/{w.plan['id']}", {"reporting_schedule": {**SCHEDULE, "returns_due_day_of_month": 3}})
    assert_problem(both, 422)
    unknown = await patch(client, f"plans/{w.plan['id']}", {"senior_responsible_officer_id": "00000000-0000-4000-8000-000000000000"})
    assert_problem(unknown, 422)


async def accepted_plan(client: httpx.AsyncClient) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A plan in delivery with three live actions (each owned by its own person) and one completed."""
    from tests.factories import make_action, make_concern, make_partnership, make_plan

    partnership = await make_partnership(client)
    plan = await make_plan(client, partnership)
    concern = await make_concern(client, plan)
    actions = []
    for n in range(4):
        owner = await make_person(client, partnership, email=f"owner{n}@council.example")
        actions.append(await make_action(client, plan, [concern], owner_id=owner["id"], due_on="2027-03-31", planned_start_on="2026-09-01"))
    await patch(client, f"plans/{plan['id']}", {"status": "submitted"})
    assert (await patch(client, f"plans/{plan['id']}", {"status": "accepted", "accepted_on": str(TODAY)})).status_code == 200
    for action in actions[:3]:
        assert (await patch(client, f"actions/{action['id']}", {"status": "in_progress"})).status_code == 200
    return plan, actions


async def test_a_period_expects_a_return_from_every_live_action_and_a_lead_reviews_them(
    app: Any, client: httpx.AsyncClient, db: Any
) -> None:
    import uuid

    from app.models.enums import Role
    from tests.conftest import new_token
    from tests.test_evidence import client_for

    plan, actions = await accepted_plan(client)
    cancelled = await patch(client, f"actions/{actions[3]['id']}", {"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.text
    starts, ends = month_of(TODAY)
    due, meeting = ends + timedelta(days=3), ends + timedelta(days=10)
    body = {"plan_id": plan["id"], "starts_on": str(starts), "ends_on": str(ends), "returns_due_on": str(due), "meeting_on": str(meeting)}
    opened = await client.post("/api/v1/reporting-periods", json=body)
    assert opened.status_code == 201, opened.text
    period = opened.json()
    expected = (await client.get("/api/v1/returns", params={"period_id": period["id"]})).json()["items"]
    assert sorted(r["action_id"] for r in expected) == sorted(a["id"] for a in actions[:3])
    assert {r["status"] for r in expected} == {"expected"} and all(r["returns_due_on"] == str(due) for r in expected)
    first = next(r for r in expected if r["action_id"] == actions[0]["id"])

    owner = await new_token(
        db, Role.contributor, partnership_id=uuid.UUID(plan["partnership_id"]), person_id=uuid.UUID(actions[0]["owner_id"])
    )
    async with client_for(app, owner) as me:
        filed = await me.post(
            f"/api/v1/returns/{first['id']}/submission",
            json={
                "proposed_rag": "amber",
                "narrative": "Two of three coordinators in post.",
                "proposed_forecast_on": str(TODAY + timedelta(days=200)),
            },
        )
        assert filed.status_code == 200, filed.text
        assert filed.json()["status"] == "submitted" and filed.json()["submitted_by"] == actions[0]["owner_id"]
        other = next(r for r in expected if r["action_id"] == actions[1]["id"])
        refused = await me.post(f"/api/v1/returns/{other['id']}/submission", json={"proposed_rag": "green", "narrative": "Not mine."})
        assert_problem(refused, 403)
        assert_problem(await me.post(f"/api/v1/returns/{first['id']}/review", json={"decision": "accept", "agreed_rag": "amber"}), 403)
    update = (await client.get(f"/api/v1/progress-updates/{filed.json()['progress_update_id']}")).json()
    assert update["rag"] == "amber" and update["narrative"] == "Two of three coordinators in post."
    assert_problem(await client.post(f"/api/v1/returns/{first['id']}/submission", json={"proposed_rag": "red", "narrative": "Again."}), 409)

    assert_problem(await client.post(f"/api/v1/returns/{first['id']}/review", json={"decision": "accept"}), 422)
    accepted = await client.post(f"/api/v1/returns/{first['id']}/review", json={"decision": "accept", "agreed_rag": "red"})
    assert accepted.status_code == 200 and accepted.json()["agreed_rag"] == "red" and accepted.json()["status"] == "accepted"
    assert (await client.get(f"/api/v1/actions/{actions[0]['id']}")).json()["forecast_on"] == str(TODAY + timedelta(days=200))

    status = (await client.get(f"/api/v1/reporting-periods/{period['id']}/status")).json()
    assert status["counts"] == {"expected": 2, "submitted": 0, "accepted": 1, "returned": 0, "missed": 0, "total": 3}

    # Moving the period's due date moves the returns still to file, not the ones filed.
    later = due + timedelta(days=2)
    assert (await patch(client, f"reporting-periods/{period['id']}", {"returns_due_on": str(later)})).status_code == 200
    now_due = {
        r["action_id"]: r["returns_due_on"]
        for r in (await client.get("/api/v1/returns", params={"period_id": period["id"]})).json()["items"]
    }
    assert now_due[actions[0]["id"]] == str(due) and now_due[actions[1]["id"]] == now_due[actions[2]["id"]] == str(later)
    assert [a["action_ref"] for a in status["actions"]] == sorted(a["ref"] for a in actions[:3])


async def test_the_summary_and_every_pack_show_the_agreed_rags_and_the_missed_returns(app: Any, client: httpx.AsyncClient, db: Any) -> None:
    import csv
    import io

    from app.core.auth import SYSTEM
    from app.core.uow import unit_of_work
    from app.models.enums import Role
    from app.reporting import service
    from tests.conftest import new_token
    from tests.test_evidence import client_for
    from tests.test_exports import content, export
    from tests.test_figures import json_pack

    plan, actions = await accepted_plan(client)
    starts, ends = month_of(TODAY)
    opened = await client.post(
        "/api/v1/reporting-periods",
        json={"plan_id": plan["id"], "starts_on": str(starts), "ends_on": str(ends), "returns_due_on": str(TODAY)},
    )
    assert opened.status_code == 201, opened.text
    returns = {r["action_id"]: r for r in (await client.get("/api/v1/returns", params={"period_id": opened.json()["id"]})).json()["items"]}
    first = returns[actions[0]["id"]]
    body = {"proposed_rag": "green", "narrative": "All four coordinators in post."}
    assert_problem(await client.post(f"/api/v1/returns/{first['id']}/submission", json=body), 422)  # the admin key is nobody
    lead = await new_token(db, Role.lead, partnership_id=uuid.UUID(plan["partnership_id"]), person_id=uuid.UUID(actions[3]["owner_id"]))
    async with client_for(app, lead) as programme_office:  # the programme office enters a return sent in by e-mail
        filed = await programme_office.post(f"/api/v1/returns/{first['id']}/submission", json=body)
    assert filed.status_code == 200 and filed.json()["submitted_by"] == actions[3]["owner_id"], filed.text
    # The programme does not share the owner's optimism: it agrees red, so the plan may not look better than it is.
    assert (await client.post(f"/api/v1/returns/{first['id']}/review", json={"decision": "accept", "agreed_rag": "red"})).status_code == 200
    async with unit_of_work(db) as session:  # the worker's pass after the due date
        missed = await service.mark_missed(session, SYSTEM, uuid.UUID(plan["partnership_id"]), TODAY + timedelta(days=1))
    assert missed == 3

    summary = (await client.get(f"/api/v1/plans/{plan['id']}/summary")).json()
    reporting = summary["reporting"]
    assert reporting["returns"] == {"expected": 0, "submitted": 0, "accepted": 1, "returned": 0, "missed": 3, "total": 4}
    assert reporting["by_agreed_rag"] == {"red": 1, "amber": 0, "green": 0, "blue": 0}
    assert sorted(m["ref"] for m in reporting["missed"]) == sorted(a["ref"] for a in actions[1:])
    [flagged] = [o for o in summary["off_course"] if o["id"] == actions[0]["id"]]
    assert flagged["agreed_rag"] == "red" and flagged["rag"] == "green"  # on course by its dates, red as agreed

    alerts = (await client.get(f"/api/v1/plans/{plan['id']}/alerts")).json()["items"]
    missed_alerts = [a for a in alerts if a["kind"] == "return_missed"]
    assert sorted(a["ref"] for a in missed_alerts) == sorted(a["ref"] for a in actions[1:])
    assert all(a["severity"] == "high" and a["title"] and a["owner_name"] and a["owner_id"] for a in missed_alerts)

    pack = (await json_pack(client, plan["id"]))["data"]
    assert pack["overview"]["reporting"]["returns"] == reporting["returns"]
    assert pack["overview"]["reporting"]["by_agreed_rag"] == reporting["by_agreed_rag"]
    assert [m["ref"] for m in pack["overview"]["reporting"]["missed"]] == [m["ref"] for m in reporting["missed"]]
    by_ref = {a["ref"]: a for c in pack["concerns"] for a in c["actions"]}
    assert by_ref[actions[0]["ref"]]["agreed_rag"] == "red" and not by_ref[actions[0]["ref"]]["return_missed"]
    assert all(by_ref[a["ref"]]["return_missed"] for a in actions[1:])

    html = (await content(client, await export(client, plan["id"], format="html"))).decode()
    assert "Monthly returns" in html and "Agreed:" in html
    archive = await content(client, await export(client, plan["id"], format="csv"))
    import zipfile

    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        name = next(n for n in z.namelist() if "actions" in n)
        rows = list(csv.DictReader(io.StringIO(z.read(name).decode("utf-8-sig"))))
    assert {r["Ref"]: r["Agreed RAG (latest monthly return)"] for r in rows}[actions[0]["ref"]] == "red"


async def test_my_work_lists_what_my_person_owns_or_contributes_to(app: Any, client: httpx.AsyncClient, db: Any) -> None:
    from app.models.enums import Role
    from tests.conftest import new_token
    from tests.test_evidence import client_for

    plan, actions = await accepted_plan(client)
    me_id = actions[0]["owner_id"]
    helping = await patch(client, f"actions/{actions[2]['id']}", {"contributor_ids": [me_id]})
    assert helping.status_code == 200, helping.text
    starts, ends = month_of(TODAY)
    period = {"plan_id": plan["id"], "starts_on": str(starts), "ends_on": str(ends), "returns_due_on": str(ends + timedelta(days=3))}
    assert (await client.post("/api/v1/reporting-periods", json=period)).status_code == 201
    token = await new_token(db, Role.contributor, partnership_id=uuid.UUID(plan["partnership_id"]), person_id=uuid.UUID(me_id))
    async with client_for(app, token) as me:
        who = (await me.get("/api/v1/me")).json()
        assert (who["role"], who["person"]["id"], who["partnership_id"]) == ("contributor", me_id, plan["partnership_id"])
        mine = (await me.get("/api/v1/me/actions")).json()["items"]
        assert [(a["ref"], a["role"]) for a in mine] == sorted([(actions[0]["ref"], "owner"), (actions[2]["ref"], "contributor")])
        assert all(a["plan_title"] == plan["title"] and a["concern_refs"] for a in mine)
        returns = (await me.get("/api/v1/me/returns")).json()["items"]
        assert sorted(r["action_ref"] for r in returns) == sorted([actions[0]["ref"], actions[2]["ref"]])
        assert all(r["status"] == "expected" and r["missed"] is False for r in returns)
    assert_problem(await client.get("/api/v1/me/returns"), 409, "/problems/no-person")  # the admin key acts as no person
    assert (await client.get("/api/v1/me")).json()["person"] is None


async def test_lists_take_several_values_and_me_and_refuse_a_single_value_given_twice(app: Any, client: httpx.AsyncClient, db: Any) -> None:
    from app.models.enums import Role
    from tests.conftest import new_token
    from tests.test_evidence import client_for

    plan, actions = await accepted_plan(client)  # three in progress, one not started
    assert (await patch(client, f"actions/{actions[1]['id']}", {"status": "suspended"})).status_code == 200
    both = (
        await client.get("/api/v1/actions", params=[("plan_id", plan["id"]), ("status", "in_progress"), ("status", "not_started")])
    ).json()
    assert sorted(a["ref"] for a in both["items"]) == sorted(a["ref"] for a in (actions[0], actions[2], actions[3]))
    twice = await client.get("/api/v1/actions", params=[("plan_id", plan["id"]), ("limit", "5"), ("limit", "50")])
    assert assert_problem(twice, 422)["errors"] == [{"pointer": "/limit", "message": "given more than once"}]

    me_id = actions[0]["owner_id"]
    assert (await patch(client, f"actions/{actions[2]['id']}", {"contributor_ids": [me_id]})).status_code == 200
    token = await new_token(db, Role.contributor, partnership_id=uuid.UUID(plan["partnership_id"]), person_id=uuid.UUID(me_id))
    async with client_for(app, token) as me:
        owned = (await me.get("/api/v1/actions", params={"owner_id": "me"})).json()["items"]
        helping = (await me.get("/api/v1/actions", params={"contributor_id": "me"})).json()["items"]
    assert [a["id"] for a in owned] == [actions[0]["id"]] and [a["id"] for a in helping] == [actions[2]["id"]]
    assert_problem(await client.get("/api/v1/actions", params={"owner_id": "me"}), 422)  # the admin key acts as no person


async def test_lists_people_read_sort_by_ref_and_due_date_and_page_stably(client: httpx.AsyncClient) -> None:
    from tests.factories import make_action, make_concern, make_partnership, make_plan

    partnership = await make_partnership(client)
    plan = await make_plan(client, partnership)  # a draft: actions may have no due date yet
    concern = await make_concern(client, plan)
    dues = [None, str(TODAY + timedelta(days=30)), str(TODAY + timedelta(days=10)), str(TODAY + timedelta(days=30)), None, str(TODAY)]
    made = [await make_action(client, plan, [concern], ref=f"{9 - n}.1", due_on=d) for n, d in enumerate(dues)]

    async def walk(sort: str) -> list[str]:
        seen, cursor = [], None
        while True:
            params = {"plan_id": plan["id"], "sort": sort, "limit": 2} | ({"cursor": cursor} if cursor else {})
            body = (await client.get("/api/v1/actions", params=params)).json()
            seen += [a["id"] for a in body["items"]]
            if not (cursor := body["next_cursor"]):
                return seen

    by_due = sorted(made, key=lambda a: (a["due_on"] or "9999-12-31", a["id"]))
    assert await walk("due_on") == [a["id"] for a in by_due]
    assert await walk("-due_on") == [a["id"] for a in reversed(by_due)]
    assert await walk("ref") == [a["id"] for a in sorted(made, key=lambda a: (a["ref"], a["id"]))]
    first = (await client.get("/api/v1/actions", params={"plan_id": plan["id"], "sort": "ref", "limit": 2})).json()
    other_order = await client.get("/api/v1/actions", params={"plan_id": plan["id"], "sort": "due_on", "cursor": first["next_cursor"]})
    assert assert_problem(other_order, 422)["errors"][0]["pointer"] == "/cursor"
    concerns = (await client.get("/api/v1/concerns", params={"plan_id": plan["id"], "sort": "-ref"})).json()["items"]
    assert [c["id"] for c in concerns] == [concern["id"]]


async def test_the_rag_filter_finds_exactly_the_actions_reads_call_that_rag(client: httpx.AsyncClient) -> None:
    """The filter is the RAG rule in SQL; the reads compute it in Python: over actions of every kind they agree."""
    from tests.factories import make_action, make_concern, make_partnership, make_plan

    partnership = await make_partnership(client)
    plan = await make_plan(client, partnership, evidence_required_for_completion=False)
    concern = await make_concern(client, plan)
    d = lambda n: str(TODAY + timedelta(days=n))  # noqa: E731
    shapes = [
        {"status": "completed", "planned_start_on": d(-90), "due_on": d(-10), "completed_on": d(-12)},
        {"status": "in_progress", "planned_start_on": d(-90), "due_on": d(-45)},  # overdue beyond 30 days: red
        {"status": "in_progress", "planned_start_on": d(-90), "due_on": d(-5)},  # overdue: amber
        {"status": "in_progress", "planned_start_on": d(-90), "due_on": d(-30)},  # exactly 30 days: amber
        {"status": "in_progress", "planned_start_on": d(-90), "due_on": d(20), "forecast_on": d(51)},  # forecast 31 late: red
        {"status": "in_progress", "planned_start_on": d(-90), "due_on": d(20), "forecast_on": d(50)},  # 30 late: amber
        {"status": "not_started", "planned_start_on": d(-3), "due_on": d(60)},  # not started late: amber
        {"status": "not_started", "planned_start_on": d(3), "due_on": d(60)},  # green
        {"status": "suspended", "planned_start_on": d(-90), "due_on": d(-60)},  # never overdue: green
        {"status": "in_progress", "planned_start_on": d(-90), "due_on": None},  # green
    ]
    for n, shape in enumerate(shapes):
        await make_action(client, plan, [concern], ref=f"R{n}", **{k: v for k, v in shape.items() if v is not None})
    actions = (await client.get("/api/v1/actions", params={"plan_id": plan["id"], "limit": 50})).json()["items"]
    by_rag: dict[str, set[str]] = {}
    for a in actions:
        by_rag.setdefault(a["rag"], set()).add(a["ref"])
    assert set(by_rag) == {"blue", "red", "amber", "green"}
    for rag, refs in by_rag.items():
        found = (await client.get("/api/v1/actions", params={"plan_id": plan["id"], "rag": rag, "limit": 50})).json()["items"]
        assert {a["ref"] for a in found} == refs, rag
    both = (await client.get("/api/v1/actions", params=[("plan_id", plan["id"]), ("rag", "red"), ("rag", "amber")])).json()["items"]
    assert {a["ref"] for a in both} == by_rag["red"] | by_rag["amber"]


async def test_periods_run_forward_and_a_closed_one_takes_no_more_returns(client: httpx.AsyncClient) -> None:
    plan, _ = await accepted_plan(client)
    starts, ends = month_of(TODAY)
    body = {"plan_id": plan["id"], "starts_on": str(starts), "ends_on": str(ends), "returns_due_on": str(ends)}
    period = (await client.post("/api/v1/reporting-periods", json=body)).json()
    overlapping = await client.post("/api/v1/reporting-periods", json=body | {"starts_on": str(ends), "ends_on": str(ends)})
    assert assert_problem(overlapping, 409)["errors"][0]["pointer"] == "/starts_on"
    earlier = body | {"starts_on": str(starts - timedelta(days=30)), "ends_on": str(starts - timedelta(days=1))}
    assert_problem(await client.post("/api/v1/reporting-periods", json=earlier), 409)  # an earlier month after a later one

    closed = await patch(client, f"reporting-periods/{period['id']}", {"status": "closed"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed", closed.text
    assert_problem(await patch(client, f"reporting-periods/{period['id']}", {"status": "open"}), 409)
    [first, *_] = (await client.get("/api/v1/returns", params={"period_id": period["id"]})).json()["items"]
    late = await client.post(f"/api/v1/returns/{first['id']}/submission", json={"proposed_rag": "green", "narrative": "Late."})
    assert assert_problem(late, 409, "/problems/return-state")["detail"].startswith("Its period is closed")
