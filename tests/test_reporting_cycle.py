"""A whole reporting period, day by day, through HTTP and the worker: a period opens by the plan's schedule, owners are
reminded before the due date (one files through the link in the e-mail, one through the API, two stay silent) and on
it, the silent returns become missed and are escalated to the senior responsible officer and the lead, the lead
accepts one with an agreed RAG and sends one back, and the summary and a pack show the agreed RAG and the missed
returns; every e-mail goes through a real SMTP server over STARTTLS, once."""

import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.core.db import Database
from app.models.enums import Role
from app.plans.calendar import add_working_days
from app.reporting import cycle
from app.reporting.schedule import working_days_before
from tests.conftest import new_token
from tests.factories import make_person
from tests.smtp import Inbox, smtp_server
from tests.test_evidence import client_for
from tests.test_figures import json_pack
from tests.test_lifecycle import patch
from tests.test_reporting import TODAY, accepted_plan


@pytest.fixture
def inbox(tmp_path: Path) -> Any:
    with smtp_server(tmp_path) as server:
        yield server


def mail_settings(settings: Settings, inbox: Inbox) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "smtp_ca_file": inbox.ca_file, "mail_from": "wsoa@council.example"}
    )


async def day(db: Database, settings: Settings, today: date) -> int:
    """One worker pass as if it were `today`: what it planned, then what it sent."""
    planned = await cycle.plan(db, on=today)
    return planned + await cycle.deliver_due(db, settings)


async def test_a_period_runs_from_its_schedule_to_escalation(
    app: Any, anon: httpx.AsyncClient, client: httpx.AsyncClient, db: Database, settings: Settings, inbox: Inbox
) -> None:
    plan, actions = await accepted_plan(client)
    partnership = {"id": plan["partnership_id"]}
    sro = await make_person(client, partnership, display_name="Director of Children's Services", email="dcs@council.example")
    lead_person = await make_person(client, partnership, display_name="SEND Programme Lead", email="lead@council.example")
    await new_token(db, Role.lead, partnership_id=uuid.UUID(plan["partnership_id"]), person_id=uuid.UUID(lead_person["id"]))
    schedule = {"returns_due_day_of_month": 5, "reminder_working_days": [7, 2], "escalate_after_working_days": 3}
    changed = await patch(client, f"plans/{plan['id']}", {"reporting_schedule": schedule, "senior_responsible_officer_id": sro["id"]})
    assert changed.status_code == 200, changed.text
    configured = mail_settings(settings, inbox)

    # The first pass of the month opens the period, and the worker's second pass (or a second worker) adds nothing.
    await day(db, configured, TODAY)
    [period] = (await client.get("/api/v1/reporting-periods", params={"plan_id": plan["id"]})).json()["items"]
    returns = (await client.get("/api/v1/returns", params={"period_id": period["id"]})).json()["items"]
    assert len(returns) == 4 and {r["status"] for r in returns} == {"expected"}
    due = date.fromisoformat(period["returns_due_on"])
    await patch(client, f"plans/{plan['id']}", {"reporting_schedule": None})  # no more periods open while the test moves on
    owners = {a["owner_id"]: f"owner{n}@council.example" for n, a in enumerate(actions)}
    by_action = {r["action_id"]: r for r in returns}

    # Seven working days before the due date, every owner is reminded, once, with a one-time link.
    before = len(inbox.messages)
    await day(db, configured, max(TODAY, working_days_before(due, 7)))
    await day(db, configured, max(TODAY, working_days_before(due, 7)))
    reminders = inbox.messages[before:]
    assert sorted(m["To"] for m in reminders) == sorted(owners.values())
    assert all(inbox.tls) and all("/returns/form/" in m.get_body(("plain",)).get_content() for m in reminders)
    assert all(m.get_body(("html",)) is not None for m in reminders)

    # One owner files through the link in the e-mail, one through the API; the other two stay silent.
    [to_first] = [m for m in reminders if m["To"] == owners[actions[0]["owner_id"]]]
    link = re.search(r"https?://[^/\s]+(/returns/form/[A-Za-z0-9_\-]+)", to_first.get_body(("plain",)).get_content())
    assert link is not None
    form = await anon.get(link.group(1))
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert form.status_code == 200 and csrf is not None
    by_link = await anon.post(link.group(1), data={"csrf": csrf.group(1), "proposed_rag": "amber", "narrative": "Two of three in post."})
    assert by_link.status_code == 200 and "Return sent" in by_link.text
    token = await new_token(
        db, Role.contributor, partnership_id=uuid.UUID(plan["partnership_id"]), person_id=uuid.UUID(actions[1]["owner_id"])
    )
    async with client_for(app, token) as owner:
        filed = await owner.post(
            f"/api/v1/returns/{by_action[actions[1]['id']]['id']}/submission", json={"proposed_rag": "green", "narrative": "On track."}
        )
        assert filed.status_code == 200, filed.text
    silent = {owners[a["owner_id"]] for a in actions[2:]}

    before = len(inbox.messages)
    await day(db, configured, due)
    assert {m["To"] for m in inbox.messages[before:]} == silent and all("due today" in m["Subject"] for m in inbox.messages[before:])

    # The day after, the silent returns are missed: a recorded fact, and their owners are told.
    before = len(inbox.messages)
    await day(db, configured, due + timedelta(days=1))
    status = (await client.get(f"/api/v1/reporting-periods/{period['id']}/status")).json()
    assert status["counts"]["missed"] == 2 and status["counts"]["submitted"] == 2
    assert {m["To"] for m in inbox.messages[before:]} == silent and all("missed" in m["Subject"] for m in inbox.messages[before:])

    # Three working days later they are escalated to the senior responsible officer and the lead.
    before = len(inbox.messages)
    await day(db, configured, add_working_days(due, 3))
    escalations = inbox.messages[before:]
    assert sorted(m["To"] for m in escalations) == sorted(["dcs@council.example", "lead@council.example"] * 2)
    assert all("still missing" in m["Subject"] for m in escalations)
    assert all("/returns/form/" not in m.get_body(("plain",)).get_content() for m in escalations)

    # The lead accepts the return filed through the link, agreeing red; the summary and a pack say so, and name the missed.
    accepted = await client.post(
        f"/api/v1/returns/{by_action[actions[0]['id']]['id']}/review", json={"decision": "accept", "agreed_rag": "red"}
    )
    assert accepted.status_code == 200, accepted.text
    summary = (await client.get(f"/api/v1/plans/{plan['id']}/summary")).json()
    assert summary["reporting"]["by_agreed_rag"]["red"] == 1 and len(summary["reporting"]["missed"]) == 2
    pack = (await json_pack(client, plan["id"]))["data"]
    assert pack["overview"]["reporting"]["returns"] == summary["reporting"]["returns"]
    refs = {a["ref"]: a for c in pack["concerns"] for a in c["actions"]}
    assert refs[actions[0]["ref"]]["agreed_rag"] == "red" and refs[actions[2]["ref"]]["return_missed"]

    # A return sent back is told to its owner.
    sent_back = await client.post(
        f"/api/v1/returns/{by_action[actions[1]['id']]['id']}/review",
        json={"decision": "return", "review_note": "Say what the backlog is now."},
    )
    assert sent_back.status_code == 200, sent_back.text
    before = len(inbox.messages)
    await cycle.deliver_due(db, configured)
    assert [m["To"] for m in inbox.messages[before:]] == [owners[actions[1]["owner_id"]]]

    # Every message is on record, sent, and audited; none carries anything about a child.
    notifications = (await client.get("/api/v1/notifications", params={"limit": 200})).json()["items"]
    assert len(notifications) == len(inbox.messages) and {n["status"] for n in notifications} == {"sent"}
    trail = (await client.get("/api/v1/audit-events", params={"entity_type": "notification", "limit": 200})).json()["items"]
    assert {e["action"] for e in trail} == {"create", "update"}
    assert len([e for e in trail if e["action"] == "update"]) == len(notifications)


@pytest.mark.postgres_only
async def test_two_workers_at_once_send_each_reminder_once(
    client: httpx.AsyncClient, db: Database, database_url: str, settings: Settings, inbox: Inbox
) -> None:
    import asyncio

    plan, _ = await accepted_plan(client)
    starts = TODAY.replace(day=1)
    opened = await client.post(
        "/api/v1/reporting-periods",
        json={"plan_id": plan["id"], "starts_on": str(starts), "ends_on": str(TODAY), "returns_due_on": str(TODAY)},
    )
    assert opened.status_code == 201, opened.text
    configured = mail_settings(settings, inbox)
    workers = [Database(database_url, pool_size=2) for _ in range(2)]
    try:

        async def work(worker: Database) -> None:
            await cycle.plan(worker, on=TODAY)
            while await cycle.deliver_due(worker, configured, batch=1):
                pass

        await asyncio.gather(*(work(w) for w in workers))
    finally:
        for w in workers:
            await w.dispose()
    addresses = [m["To"] for m in inbox.messages]
    assert len(addresses) == 4 and len(set(addresses)) == 4  # one due-today notice per owner, from either worker


async def test_stale_notices_are_skipped_and_a_sent_back_return_is_not_missed(
    app: Any, client: httpx.AsyncClient, db: Database, settings: Settings, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cycle, "QUEUE_CHUNK", 2)  # several insert chunks in one pass
    plan, actions = await accepted_plan(client)
    starts = TODAY.replace(day=1)
    opened = await client.post(
        "/api/v1/reporting-periods",
        json={"plan_id": plan["id"], "starts_on": str(starts), "ends_on": str(TODAY), "returns_due_on": str(TODAY)},
    )
    assert opened.status_code == 201, opened.text
    returns = {r["action_id"]: r for r in (await client.get("/api/v1/returns", params={"period_id": opened.json()["id"]})).json()["items"]}
    configured = mail_settings(settings, inbox)
    assert await cycle.plan(db, on=TODAY) == 4  # four due-today notices queued, in two chunks

    # Two owners file before the worker sends: their notices are skipped, not sent.
    for action in actions[:2]:
        token = await new_token(
            db, Role.contributor, partnership_id=uuid.UUID(plan["partnership_id"]), person_id=uuid.UUID(action["owner_id"])
        )
        async with client_for(app, token) as owner:
            filed = await owner.post(
                f"/api/v1/returns/{returns[action['id']]['id']}/submission", json={"proposed_rag": "green", "narrative": "Done."}
            )
            assert filed.status_code == 200, filed.text
    while await cycle.deliver_due(db, configured):
        pass
    assert sorted(m["To"] for m in inbox.messages) == sorted(f"owner{n}@council.example" for n in (2, 3))
    notices = (await client.get("/api/v1/notifications", params={"limit": 50})).json()["items"]
    assert sorted(n["status"] for n in notices) == ["sent", "sent", "skipped", "skipped"]

    # A return filed on time and sent back on the due day is not missed the day after.
    sent_back = await client.post(
        f"/api/v1/returns/{returns[actions[0]['id']]['id']}/review", json={"decision": "return", "review_note": "Add the figures."}
    )
    assert sent_back.status_code == 200, sent_back.text
    await cycle.plan(db, on=TODAY + timedelta(days=1))
    statuses = {
        r["action_id"]: r["status"]
        for r in (await client.get("/api/v1/returns", params={"period_id": opened.json()["id"]})).json()["items"]
    }
    assert statuses[actions[0]["id"]] == "returned" and statuses[actions[2]["id"]] == statuses[actions[3]["id"]] == "missed"
