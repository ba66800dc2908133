"""Figures an inspector can trust: slippage stays visible after a date moves, and the summary, the history and
the packs give the same figures for the same moment, through HTTP."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col

from app.core import audit
from app.core.auth import SYSTEM
from app.core.db import Database
from app.core.uow import unit_of_work
from app.models import Action, ActionConcern, Concern, Measure, MeasureConcern, Observation, Plan
from app.partnerships.service import today_in
from app.plans.calendar import add_working_days
from tests.factories import make_action, make_concern, make_partnership, make_person, make_plan, post
from tests.test_conventions import assert_problem
from tests.test_exports import content, export
from tests.test_lifecycle import patch

LONDON = "Europe/London"
TODAY = today_in(LONDON)  # the partnership's today, not the machine's


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


async def json_pack(client: httpx.AsyncClient, plan_id: str, **body: Any) -> dict[str, Any]:
    made = await export(client, plan_id, format="json", **body)
    pack: dict[str, Any] = orjson.loads(await content(client, made))
    return pack


async def accepted_plan_with_an_overdue_action(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    partnership = await make_partnership(client)
    owner = await make_person(client, partnership)
    plan = await make_plan(client, partnership)
    concern = await make_concern(client, plan)
    action = await make_action(
        client, plan, [concern], owner_id=owner["id"], status="in_progress", planned_start_on=day(-400), due_on=day(-330)
    )
    assert (await patch(client, f"plans/{plan['id']}", {"status": "submitted"})).status_code == 200
    assert (await patch(client, f"plans/{plan['id']}", {"status": "accepted", "accepted_on": day(0)})).status_code == 200
    return plan, action


async def test_moving_a_red_actions_date_keeps_its_slippage_in_view(client: httpx.AsyncClient) -> None:
    plan, action = await accepted_plan_with_an_overdue_action(client)
    before = (await client.get(f"/api/v1/actions/{action['id']}")).json()
    # Never moved, but 330 days overdue: delivery is already 330 days past the baseline.
    assert (before["rag"], before["baseline_rag"], before["variance_days"], before["reprogramme_count"]) == ("red", "red", 330, 0)
    assert before["latest_reprogramme"] is None

    # A decision without a reason is refused, and changes nothing.
    alone = await patch(client, f"actions/{action['id']}", {"reprogramme_approved_at_meeting": "SEND Delivery Group, 3 November"})
    assert_problem(alone, 422)
    reason = "Educational psychology capacity arrives in January; agreed with DfE and NHS England advisers."
    approval = "SEND Delivery Group, 3 November, decision 4"
    moved = await patch(
        client,
        f"actions/{action['id']}",
        {"due_on": day(30), "reprogramme_reason": reason, "reprogramme_approved_at_meeting": approval},
    )
    assert moved.status_code == 200, moved.text
    got = await client.get(f"/api/v1/actions/{action['id']}")
    read = got.json()
    assert moved.json() == read and moved.headers["etag"] == got.headers["etag"]  # the answer to the move shows the move
    assert (read["rag"], read["baseline_rag"], read["variance_days"], read["reprogramme_count"]) == ("green", "red", 360, 1)
    latest = read["latest_reprogramme"]
    assert (latest["previous_due_on"], latest["new_due_on"], latest["reason"], latest["approved_at_meeting"]) == (
        day(-330),
        day(30),
        reason,
        approval,
    )
    listed = (await client.get("/api/v1/actions", params={"plan_id": plan["id"]})).json()["items"]
    assert listed == [read]
    moves = (await client.get(f"/api/v1/actions/{action['id']}/reprogrammes")).json()["items"]
    assert moves == [latest]

    summary = (await client.get(f"/api/v1/plans/{plan['id']}/summary")).json()
    assert summary["actions"]["by_rag"]["green"] == 1 and summary["actions"]["by_baseline_rag"]["red"] == 1
    assert summary["actions"]["reprogrammed"] == 1
    assert (summary["concerns"][0]["rag"], summary["concerns"][0]["baseline_rag"]) == ("green", "red")
    [slipping] = summary["off_course"]  # green now, red against its baseline: still in the exception report
    assert (slipping["ref"], slipping["rag"], slipping["baseline_rag"], slipping["variance_days"]) == (action["ref"], "green", "red", 360)
    assert (slipping["reason"], slipping["latest_reprogramme"]["approved_at_meeting"]) == (reason, approval)

    pack = await json_pack(client, plan["id"])
    shown = pack["data"]["concerns"][0]["actions"][0]
    assert (shown["rag"], shown["baseline_rag"], shown["variance_days"], shown["reprogramme_count"]) == ("green", "red", 360, 1)
    assert shown["slippage_reason"] == reason
    assert (shown["latest_reprogramme"]["reason"], shown["latest_reprogramme"]["approved_at_meeting"]) == (reason, approval)
    assert pack["data"]["overview"]["actions"] == summary["actions"]

    # Red again against the moved date, with blockers reported after the move: the blockers explain it now.
    await post(
        client,
        f"actions/{action['id']}/progress-updates",
        {
            "rag": "red",
            "narrative": "Recruitment failed again.",
            "blockers": "No applicants for the two posts.",
            "author_id": action["owner_id"],
        },
    )
    moved_again = await patch(client, f"actions/{action['id']}", {"forecast_on": day(120)})
    assert moved_again.status_code == 200, moved_again.text
    [slipping] = (await client.get(f"/api/v1/plans/{plan['id']}/summary")).json()["off_course"]
    assert (slipping["rag"], slipping["reported_rag"], slipping["reason"]) == ("red", "red", "No applicants for the two posts.")
    shown = (await json_pack(client, plan["id"]))["data"]["concerns"][0]["actions"][0]
    assert (shown["slippage_reason"], shown["reason_missing"]) == (slipping["reason"], False)


async def test_the_submission_deadline_is_computed_once_for_the_api_and_the_packs(client: httpx.AsyncClient) -> None:
    partnership = await make_partnership(client)
    published = date(2025, 2, 10)
    inspection = await post(
        client,
        "inspections",
        {"partnership_id": partnership["id"], "framework": "las_2016", "kind": "full", "report_published_on": published.isoformat()},
    )
    # A deadline recorded by hand that disagrees with the rule: the rule wins everywhere.
    plan = await make_plan(client, partnership, inspection_id=inspection["id"], submission_due_on="2025-05-11")
    await make_concern(client, plan)
    expected = add_working_days(published, 70).isoformat()
    assert (await client.get(f"/api/v1/plans/{plan['id']}")).json()["submission_due_on"] == expected
    pack = await json_pack(client, plan["id"])
    assert pack["data"]["plan"]["submission_due_on"] == expected


async def _back_filled_plan(db: Database, partnership: dict[str, Any], owner_id: str | None = None) -> dict[str, Any]:
    """A plan loaded from another system, with its history appended out of time order: the last completion was
    loaded first, the earlier ones after it (as an import or the demo data does)."""
    pid = uuid.UUID(partnership["id"])
    zone = ZoneInfo(LONDON)

    def at(offset: int) -> datetime:
        return datetime.combine(TODAY + timedelta(days=offset), time(12), tzinfo=zone).astimezone(UTC)

    async with unit_of_work(db) as session:
        plan = Plan(partnership_id=pid, kind="improvement_plan", title="Loaded", status="in_delivery", created_at=at(-200))
        session.add(plan)
        await session.flush()
        concerns = [
            Concern(partnership_id=pid, plan_id=plan.id, ref=f"C{n}", kind="recommendation", title=f"C{n}", created_at=at(-200))
            for n in (1, 2)
        ]
        session.add_all(concerns)
        await session.flush()
        finished = {"A": -100, "B": -160, "C": -40}
        actions = {}
        for ref in ("A", "B", "C", "D"):
            completed = finished.get(ref)
            action = Action(
                partnership_id=pid, plan_id=plan.id, ref=ref, title=ref, status="completed" if completed else "in_progress",
                planned_start_on=TODAY - timedelta(days=200), due_on=TODAY - timedelta(days=90),
                baseline_due_on=TODAY - timedelta(days=120), created_at=at(-200),
                completed_on=TODAY + timedelta(days=completed) if completed else None,
                owner_id=uuid.UUID(owner_id) if owner_id else None,
            )  # fmt: skip
            session.add(action)
            actions[ref] = action
        await session.flush()
        session.add_all(ActionConcern(action_id=a.id, concern_id=concerns[0].id, plan_id=plan.id) for a in actions.values())
        session.add(ActionConcern(action_id=actions["A"].id, concern_id=concerns[1].id, plan_id=plan.id))  # answers both
        measure = Measure(
            partnership_id=pid, plan_id=plan.id, name="Share of plans on time", unit="percent", direction="higher_is_better",
            baseline_value=20.0, baseline_on=TODAY - timedelta(days=220), target_value=90.0, target_on=TODAY + timedelta(days=300),
            tolerance=5.0, source="manual", created_at=at(-200),
        )  # fmt: skip
        session.add(measure)
        await session.flush()
        session.add(MeasureConcern(measure_id=measure.id, concern_id=concerns[0].id, plan_id=plan.id))
        for month, value in ((-180, 25.0), (-120, 40.0), (-60, 52.5), (-20, 61.0)):
            end = TODAY + timedelta(days=month)
            session.add(
                Observation(
                    partnership_id=pid, measure_id=measure.id, period_start_on=end - timedelta(days=29), period_end_on=end,
                    value=value, created_at=at(month + 5),
                )
            )  # fmt: skip
    # The history arrives in two loads, the later completion first.
    for refs in (("C",), ("B", "A")):
        async with unit_of_work(db) as session:
            entries = [
                audit.Entry(
                    "update",
                    "action",
                    actions[ref].id,
                    pid,
                    {"status": ["in_progress", "completed"], "completed_on": [None, (TODAY + timedelta(days=finished[ref])).isoformat()]},
                    at(finished[ref]),
                )
                for ref in refs
            ]
            audit.record_many(session, actor=SYSTEM, entries=entries)
    return {"id": str(plan.id)}


async def test_history_follows_the_time_events_happened_not_the_order_they_were_loaded(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await make_partnership(client, timezone=LONDON)
    plan = await _back_filled_plan(db, partnership)
    history = (await client.get(f"/api/v1/plans/{plan['id']}/history", params={"from": day(-190)})).json()["points"]
    completed = {p["as_of"]: p["actions"]["by_status"]["completed"] for p in history}
    for point in history:
        offset = (date.fromisoformat(point["as_of"]) - TODAY).days
        expected = sum(1 for done in (-160, -100, -40) if done <= offset)
        assert completed[point["as_of"]] == expected, (point["as_of"], completed)
    assert sorted(set(completed.values())) == [0, 1, 2, 3]


async def test_concern_rows_count_a_shared_action_under_each_and_say_so(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await make_partnership(client, timezone=LONDON)
    plan = await _back_filled_plan(db, partnership)
    summary = (await client.get(f"/api/v1/plans/{plan['id']}/summary")).json()
    assert summary["actions"]["total"] == 4
    assert sum(c["actions"]["total"] for c in summary["concerns"]) == 5
    assert summary["actions_in_several_concerns"] == 1
    pack = await json_pack(client, plan["id"])
    assert pack["data"]["overview"]["actions_in_several_concerns"] == 1
    assert "counted under each" in pack["data"]["overview"]["concerns_note"]
    assert [c["action_counts"] for c in pack["data"]["concerns"]] == [c["actions"] for c in summary["concerns"]]


def _agreeing(summary: dict[str, Any], point: dict[str, Any], pack: dict[str, Any]) -> None:
    overview = pack["data"]["overview"]
    assert summary["actions"] == point["actions"] == overview["actions"]
    assert summary["recorded_at"] == point["recorded_at"]
    assert pack["export"]["recorded_by"] == summary["recorded_at"]
    latest = [(m["name"], m["latest_value"], m["latest_period_end_on"]) for m in summary["measures"]["items"]]
    assert latest == [(m["name"], m["latest_value"], m["latest_period_end_on"]) for m in point["measures"]]
    in_pack = [m for c in pack["data"]["concerns"] for m in c["measures"]] + pack["data"]["plan_measures"]
    assert sorted(latest) == sorted({(m["name"], m["latest_value"], m["latest_period_end_on"]) for m in in_pack})
    assert summary["measures"]["by_status"] == point["measures_by_status"] == overview["measures_by_status"]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offsets=st.lists(st.integers(-200, 0), min_size=1, max_size=3, unique=True))
async def test_summary_history_and_pack_agree_for_any_day(client: httpx.AsyncClient, db: Database, offsets: list[int]) -> None:
    partnership = await make_partnership(client, timezone=LONDON)  # one per example: examples share the database
    plan = await _back_filled_plan(db, partnership)
    for offset in offsets:
        as_of = day(offset)
        summary = (await client.get(f"/api/v1/plans/{plan['id']}/summary", params={"as_of": as_of})).json()
        history = (await client.get(f"/api/v1/plans/{plan['id']}/history", params={"from": as_of, "to": as_of})).json()
        [point] = [p for p in history["points"] if p["as_of"] == as_of]
        pack = await json_pack(client, plan["id"], as_of=as_of)
        if offset == 0:
            # Today's figures describe a moment that moves: each view shows the moment it was made, in order, and a
            # summary made after the pack gives the pack's figures (nothing was written in between).
            after = (await client.get(f"/api/v1/plans/{plan['id']}/summary")).json()
            made = [summary["recorded_at"], point["recorded_at"], pack["export"]["recorded_by"], after["recorded_at"]]
            assert [datetime.fromisoformat(m) for m in made] == sorted(datetime.fromisoformat(m) for m in made)
            summary = after | {"recorded_at": pack["export"]["recorded_by"]}
            point = point | {"recorded_at": pack["export"]["recorded_by"]}
        _agreeing(summary, point, pack)


async def test_a_packs_cover_names_the_moment_it_shows(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await make_partnership(client, timezone=LONDON)
    plan = await _back_filled_plan(db, partnership)
    pack = await json_pack(client, plan["id"])
    moment = datetime.fromisoformat(pack["export"]["recorded_by"])
    created = datetime.fromisoformat(pack["export"]["created_at"])
    assert moment == created  # today's pack shows the moment it was made, not the end of the day
    local = datetime.fromisoformat(pack["export"]["recorded_by_local"])
    assert local == moment and local.utcoffset() == moment.astimezone(ZoneInfo(LONDON)).utcoffset()
    assert pack["export"]["timezone"] == LONDON
    earlier = await json_pack(client, plan["id"], as_of=day(-1))
    end_of_yesterday = datetime.combine(TODAY, time(0), tzinfo=ZoneInfo(LONDON)) - timedelta(microseconds=1)
    assert datetime.fromisoformat(earlier["export"]["recorded_by"]) == end_of_yesterday


async def test_history_points_carry_the_measures_latest_values(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await make_partnership(client, timezone=LONDON)
    plan = await _back_filled_plan(db, partnership)
    history = (await client.get(f"/api/v1/plans/{plan['id']}/history", params={"from": day(-150)})).json()["points"]
    values = [p["measures"][0]["latest_value"] for p in history]
    assert values[0] == 25.0 and values[-1] == 61.0
    assert values == sorted(values)  # the series climbs: each point shows what was recorded by then


async def test_a_measure_reads_the_same_on_its_own_as_in_the_summary_and_the_pack(client: httpx.AsyncClient) -> None:
    partnership = await make_partnership(client, timezone=LONDON)
    plan = await make_plan(client, partnership)
    concern = await make_concern(client, plan)
    measure = await post(
        client,
        "measures",
        {
            "plan_id": plan["id"], "concern_ids": [concern["id"]], "name": "Plans reviewed on time", "unit": "percent",
            "direction": "higher_is_better", "baseline_value": 30.0, "baseline_on": day(-90), "target_value": 80.0,
            "target_on": day(300), "tolerance": 5.0,
        },
    )  # fmt: skip
    this_month = TODAY.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    observation = {"measure_id": measure["id"], "period_start_on": last_month.isoformat(), "period_end_on": (this_month - timedelta(days=1)).isoformat(), "value": 41.0}  # fmt: skip
    await post(client, "observations", observation)
    # The current month's provisional figure is listed, never the headline: the same everywhere.
    following = (this_month + timedelta(days=32)).replace(day=1)
    provisional = {"measure_id": measure["id"], "period_start_on": this_month.isoformat(), "period_end_on": (following - timedelta(days=1)).isoformat(), "value": 44.0, "provisional": True}  # fmt: skip
    await post(client, "observations", provisional)
    # A period that has not begun is refused: it would show on the measure and in no summary.
    later = {**provisional, "period_start_on": following.isoformat(), "period_end_on": (following + timedelta(days=27)).isoformat()}
    assert_problem(await client.post("/api/v1/observations", json=later), 422)
    endless = {**provisional, "period_end_on": "2099-12-31"}  # a period of decades would be the latest for ever
    assert_problem(await client.post("/api/v1/observations", json=endless), 422)

    read = (await client.get(f"/api/v1/measures/{measure['id']}")).json()
    summary = (await client.get(f"/api/v1/plans/{plan['id']}/summary")).json()
    [item] = summary["measures"]["items"]
    assert (read["latest_value"], read["latest_period_end_on"], read["status"]) == (
        item["latest_value"],
        item["latest_period_end_on"],
        item["status"],
    )
    assert read["latest_value"] == 41.0
    pack = await json_pack(client, plan["id"])
    [shown] = pack["data"]["concerns"][0]["measures"]
    assert (shown["latest_value"], shown["status"]) == (41.0, read["status"])
    assert [o["provisional"] for o in shown["observations"]] == [False, True]


async def test_dates_a_typing_slip_would_make_look_green_are_refused(client: httpx.AsyncClient, db: Database) -> None:
    _, action = await accepted_plan_with_an_overdue_action(client)
    url = f"actions/{action['id']}"
    far = await patch(client, url, {"due_on": "9999-12-31", "reprogramme_reason": "A slip of the keyboard."})
    assert assert_problem(far, 422)["errors"][0]["pointer"] == "/due_on"
    early = await patch(client, url, {"forecast_on": "2001-01-01"})  # before its planned start
    assert assert_problem(early, 422)["errors"][0]["pointer"] == "/forecast_on"
    passed = await patch(client, url, {"forecast_on": day(-1)})  # a forecast already passed would make it look on time
    assert assert_problem(passed, 422)["errors"][0]["pointer"] == "/forecast_on"
    done_later = await patch(client, url, {"status": "completed", "completed_on": day(3)})
    assert assert_problem(done_later, 422)["errors"][0]["pointer"] == "/completed_on"
    done_before = await patch(client, url, {"status": "completed", "completed_on": day(-500)})  # before its planned start
    assert assert_problem(done_before, 422)["errors"][0]["pointer"] == "/completed_on"
    cleared = await patch(client, url, {"due_on": None, "reprogramme_reason": "No date any more."})
    assert assert_problem(cleared, 422)["errors"][0]["pointer"] == "/due_on"
    assert (await client.get(f"/api/v1/{url}")).json()["rag"] == "red"  # nothing changed
    # A value stored before the range was checked does not block a change to another field.
    async with unit_of_work(db) as session:
        await session.execute(
            sqlalchemy.update(Action).where(col(Action.id) == uuid.UUID(action["id"])).values(planned_start_on=date(1999, 1, 4))
        )
    renamed = await patch(client, url, {"title": "Recruit four EHC coordinators"})
    assert renamed.status_code == 200, renamed.text


async def test_leaving_is_one_fact_and_packs_date_it(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await make_partnership(client, timezone=LONDON)
    owner = await make_person(client, partnership)
    url = f"people/{owner['id']}"
    assert assert_problem(await patch(client, url, {"left_on": day(-50)}), 422)["errors"][0]["pointer"] == "/left_on"
    assert assert_problem(await patch(client, url, {"active": False, "left_on": day(5)}), 422)["errors"][0]["pointer"] == "/left_on"
    plan = await _back_filled_plan(db, partnership, owner_id=owner["id"])
    left = await patch(client, url, {"active": False, "left_on": day(-50)})
    assert left.status_code == 200, left.text
    before = await json_pack(client, plan["id"], as_of=day(-100))
    after = await json_pack(client, plan["id"])
    owners = [[a["owner"]["has_left"] for c in p["data"]["concerns"] for a in c["actions"]] for p in (before, after)]
    assert set(owners[0]) == {False} and set(owners[1]) == {True}
    assert_problem(await patch(client, url, {"active": False, "left_on": "0001-01-01"}), 422)
    back = await patch(client, url, {"active": True})
    assert back.status_code == 200 and back.json()["left_on"] is None  # someone back has no leaving date
    gone = await patch(client, url, {"active": False})
    assert gone.json()["left_on"] == day(0)  # marked as left today when no date is given
