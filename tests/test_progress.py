"""Alerts, the plan summary (now and as it stood on an earlier date) and its history."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from app.core.db import Database
from app.core.uow import unit_of_work
from app.models import Action, ActionConcern, Concern, Plan
from app.partnerships.service import today_in
from tests.factories import make_action, make_concern, make_partnership, make_person, make_plan, post
from tests.test_conventions import assert_problem
from tests.test_lifecycle import patch

TODAY = today_in("Europe/London")


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


async def backdate(db: Database, action_id: str, days: int) -> None:
    """An action imported from before the service kept history: its life starts at `created_at`."""
    async with unit_of_work(db) as session:
        await session.execute(
            update(Action).where(col(Action.id) == uuid.UUID(action_id)).values(created_at=datetime.now(UTC) - timedelta(days=days))
        )
        await session.commit()


async def test_alerts_name_each_kind_of_problem(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await make_partnership(client)
    owner = await make_person(client, partnership)
    leaver = await make_person(client, partnership)
    plan = await make_plan(client, partnership, evidence_required_for_completion=False)
    concern = await make_concern(client, plan)

    async def action(ref: str, **fields: Any) -> dict[str, Any]:
        return await make_action(client, plan, [concern], ref=ref, owner_id=owner["id"], **fields)

    late = await action("1", status="in_progress", due_on=day(-45))
    await action("2", status="in_progress", due_on=day(-5))
    await action("3", status="in_progress", due_on=day(20), forecast_on=day(35))
    await action("4", planned_start_on=day(-3), due_on=day(90))
    done = await action("5", status="completed", completed_on=day(-1), due_on=day(30))
    quiet = await action("6", status="in_progress", due_on=day(200))
    left = await make_action(client, plan, [concern], ref="7", status="in_progress", owner_id=leaver["id"], due_on=day(100))
    await action("8", status="in_progress", due_on=day(100), baseline_due_on=day(-40))  # moved 140 days: green, red on baseline
    waiting = await action("9", planned_start_on=day(30), due_on=day(200))  # not due to start: quiet is not stale
    idle = await action("10", planned_start_on=day(-40), due_on=day(200))  # quiet for 40 days since it was due to start
    await post(client, "milestones", {"action_id": late["id"], "title": "First step", "due_on": day(-10)})
    await patch(client, f"people/{leaver['id']}", {"active": False})
    measure = await post(
        client,
        "measures",
        {"plan_id": plan["id"], "name": "Parents' confidence", "unit": "percent", "direction": "higher_is_better", "baseline_value": 40.0,
         "baseline_on": day(-100), "target_value": 80.0, "target_on": day(100), "tolerance": 2.0},
    )  # fmt: skip
    await post(client, "observations", {"measure_id": measure["id"], "period_start_on": day(-30), "period_end_on": day(-1), "value": 30.0})
    for a in (late, done, left):
        await post(client, f"actions/{a['id']}/progress-updates", {"rag": "amber", "narrative": "Update", "author_id": owner["id"]})
    await backdate(db, quiet["id"], 45)
    await backdate(db, waiting["id"], 45)
    await backdate(db, idle["id"], 100)  # created 100 days ago: counted from its start, so medium, not high
    body = (await client.get(f"/api/v1/plans/{plan['id']}/alerts")).json()
    assert body["thresholds"] == {"stale_after_days": 30, "red_after_days": 30}
    got = {(a["kind"], a["severity"], a["ref"]) for a in body["items"]}
    assert got == {
        ("overdue", "high", "1"),
        ("overdue", "medium", "2"),
        ("slipping", "medium", "3"),
        ("not_started_late", "medium", "4"),
        ("completed_without_evidence", "high", "5"),
        ("stale", "medium", "6"),
        ("owner_inactive", "high", "7"),
        ("milestone_missed", "medium", "1"),
        ("measure_behind", "high", None),
        ("reported_worse", "medium", "7"),  # the owner reported amber; the dates say green
        ("behind_baseline", "high", "8"),
        ("not_started_late", "medium", "10"),
        ("stale", "medium", "10"),
        # Actions 2, 3, 4, 7 and 8 were created today and have no update yet, 9 has not started: not stale.
    }
    assert [a["severity"] for a in body["items"]] == sorted((a["severity"] for a in body["items"]), key=["high", "medium", "low"].index)
    assert body["counts"]["overdue"] == 2
    # Thresholds are the partnership's to set.
    await patch(client, f"partnerships/{partnership['id']}", {"red_after_days": 60, "stale_after_days": 50})
    body = (await client.get(f"/api/v1/plans/{plan['id']}/alerts")).json()
    kinds = {(a["kind"], a["severity"], a["ref"]) for a in body["items"]}
    assert ("overdue", "medium", "1") in kinds and not any(k == "stale" for k, _, _ in kinds)
    assert (await client.get(f"/api/v1/actions/{late['id']}")).json()["rag"] == "amber"  # 45 days late, red only after 60


async def test_the_summary_counts_actions_measures_and_money(client: httpx.AsyncClient) -> None:
    partnership = await make_partnership(client)
    owner = await make_person(client, partnership)
    plan = await make_plan(client, partnership, evidence_required_for_completion=False)
    w1, w2 = await make_concern(client, plan, ref="W1"), await make_concern(client, plan, ref="W2")
    await make_action(client, plan, [w1], owner_id=owner["id"], status="in_progress", due_on=day(-40))
    await make_action(client, plan, [w1, w2], owner_id=owner["id"], status="completed", completed_on=day(-2), due_on=day(10))
    for fy, amount, kind in (("2017/18", "93200.00", "allocation"), ("2018/19", "454000.00", "allocation"), ("2019/20", "377800.00", "allocation"),
                             ("2018/19", "0.10", "spend"), ("2018/19", "0.20", "spend")):  # fmt: skip
        await post(client, "funding-lines", {"plan_id": plan["id"], "financial_year": fy, "amount": amount, "purpose": "p", "kind": kind})
    body = (await client.get(f"/api/v1/plans/{plan['id']}/summary")).json()
    assert body["as_of"] == TODAY.isoformat() and body["plan_status"] == "draft"
    assert body["actions"]["by_rag"] == {"red": 1, "amber": 0, "green": 0, "blue": 1}
    assert body["actions"]["by_status"]["completed"] == 1 and body["actions"]["total"] == 2
    assert [(c["ref"], c["rag"], c["actions"]["total"]) for c in body["concerns"]] == [("W1", "red", 2), ("W2", "blue", 1)]
    assert body["funding"]["years"][1] == {"financial_year": "2018/19", "allocated": "454000.00", "spent": "0.30", "remaining": "453999.70"}
    assert body["funding"]["total"] == {"allocated": "925000.00", "spent": "0.30", "remaining": "924999.70"}
    assert_problem(await client.get(f"/api/v1/plans/{plan['id']}/summary", params={"as_of": day(1)}), 422)
    assert_problem(await client.get(f"/api/v1/plans/{plan['id']}/summary", params={"when": day(0)}), 422)


async def imported_plan(db: Database, partnership: dict[str, Any], owner: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """A plan loaded from before the service kept history (as the demo data is): rows dated 60 days ago, no audit events."""
    then = datetime.now(UTC) - timedelta(days=60)
    pid, owner_id = uuid.UUID(partnership["id"]), uuid.UUID(owner["id"])
    async with unit_of_work(db) as session:
        plan = Plan(partnership_id=pid, kind="wsoa", title="Imported", evidence_required_for_completion=False, created_at=then)
        session.add(plan)
        await session.flush()
        concern = Concern(partnership_id=pid, plan_id=plan.id, ref="W1", kind="area_of_significant_weakness", title="W", created_at=then)
        session.add(concern)
        await session.flush()
        actions = []
        for ref, status, due in (("A", "in_progress", 30), ("B", "not_started", 60)):
            action = Action(
                partnership_id=pid, plan_id=plan.id, ref=ref, title=ref, owner_id=owner_id, status=status,
                due_on=TODAY + timedelta(days=due), created_at=then,
            )  # fmt: skip
            session.add(action)
            await session.flush()
            session.add(ActionConcern(action_id=action.id, concern_id=concern.id, plan_id=plan.id))
            actions.append({"id": str(action.id)})
        await session.commit()
        return {"id": str(plan.id)}, {"id": str(concern.id), "plan_id": str(plan.id)}, *actions


async def test_as_of_rebuilds_the_plan_as_recorded_then(client: httpx.AsyncClient, db: Database) -> None:
    partnership = await make_partnership(client)
    owner = await make_person(client, partnership)
    plan, concern, finished, dropped = await imported_plan(db, partnership, owner)
    # Today: A is completed, B deleted, C added.
    assert (await patch(client, f"actions/{finished['id']}", {"status": "completed", "completed_on": day(0)})).status_code == 200
    etag = (await client.get(f"/api/v1/actions/{dropped['id']}")).headers["etag"]
    assert (await client.delete(f"/api/v1/actions/{dropped['id']}", headers={"If-Match": etag})).status_code == 204
    await make_action(client, plan, [concern], ref="C", owner_id=owner["id"], due_on=day(90))

    now = (await client.get(f"/api/v1/plans/{plan['id']}/summary")).json()
    assert now["actions"]["by_status"] == {"not_started": 1, "in_progress": 0, "completed": 1, "suspended": 0, "cancelled": 0}
    then = (await client.get(f"/api/v1/plans/{plan['id']}/summary", params={"as_of": day(-1)})).json()
    assert then["as_of"] == day(-1)
    assert then["actions"]["by_status"] == {"not_started": 1, "in_progress": 1, "completed": 0, "suspended": 0, "cancelled": 0}
    assert then["concerns"][0]["actions"]["total"] == 2
    before = (await client.get(f"/api/v1/plans/{plan['id']}/summary", params={"as_of": day(-90)})).json()
    assert (before["plan_status"], before["actions"]["total"], before["concerns"]) == (None, 0, [])

    history = (await client.get(f"/api/v1/plans/{plan['id']}/history", params={"from": day(-120)})).json()
    points = history["points"]
    assert points[-1]["as_of"] == day(0) and points[-1]["actions"] == now["actions"]
    assert points[0]["actions"]["total"] == 0  # before the plan existed
    assert all(p["as_of"] <= day(0) for p in points) and len(points) in (4, 5)
    assert_problem(await client.get(f"/api/v1/plans/{plan['id']}/history", params={"from": day(-9000)}), 422)
