"""The return form behind a reminder's one-time link: an owner files the month's return without a key, once, from
the page it was sent (CSRF), with mistakes shown on the form; the filing is audited as that person; the page passes
axe-core's WCAG 2.2 AA checks in a real browser and works without JavaScript."""

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.core.db import Database
from app.reporting import cycle
from tests.smtp import Inbox, smtp_server
from tests.test_export_accessibility import AXE, FLAGS, WCAG, _require_browser
from tests.test_reporting import TODAY, accepted_plan
from tests.test_reporting_cycle import mail_settings

LINK = re.compile(r"https?://[^\s/]+(/returns/form/[A-Za-z0-9_\-]+)")


@pytest.fixture
def inbox(tmp_path: Path) -> Any:
    with smtp_server(tmp_path) as server:
        yield server


async def linked_return(
    client: httpx.AsyncClient, db: Database, settings: Settings, inbox: Inbox
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A period whose reminders went out: the first action's return and the path of the link its owner received."""
    plan, actions = await accepted_plan(client)
    opened = await client.post("/api/v1/reporting-periods", json={"plan_id": plan["id"], "starts_on": str(TODAY.replace(day=1)),
                                                                "ends_on": str(TODAY), "returns_due_on": str(TODAY), "meeting_on": None})  # fmt: skip
    assert opened.status_code == 201, opened.text
    await cycle.plan(db, on=TODAY)
    await cycle.deliver_due(db, mail_settings(settings, inbox))
    [message] = inbox.to("owner0@council.example")
    found = LINK.search(message.get_body(("plain",)).get_content())
    assert found is not None
    returns = (await client.get("/api/v1/returns", params={"action_id": actions[0]["id"]})).json()["items"]
    return returns[0], actions[0], found.group(1)


async def test_an_owner_files_a_return_through_the_link_once(
    anon: httpx.AsyncClient, client: httpx.AsyncClient, db: Database, settings: Settings, inbox: Inbox
) -> None:
    the_return, action, path = await linked_return(client, db, settings, inbox)
    page = await anon.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.text
    assert action["title"] in page.text and "<script" not in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None and anon.cookies.get("wsoa_return_form") == csrf.group(1)

    forged = await anon.post(path, data={"csrf": "not-the-one", "proposed_rag": "green", "narrative": "Forged."})
    assert forged.status_code == 403
    other_site = await anon.post(
        path, data={"csrf": csrf.group(1), "proposed_rag": "green", "narrative": "x"}, headers={"Origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    incomplete = await anon.post(
        path, data={"csrf": csrf.group(1), "proposed_rag": "", "narrative": "Two coordinators in post.", "percent_complete": "lots"}
    )
    assert incomplete.status_code == 422 and "There is a problem" in incomplete.text
    assert "Choose how the action stands" in incomplete.text and "Give a whole number from 0 to 100" in incomplete.text
    assert "Two coordinators in post." in incomplete.text  # what was typed is kept
    assert (await client.get(f"/api/v1/returns/{the_return['id']}")).json()["status"] == "expected"
    past = await anon.post(
        path, data={"csrf": csrf.group(1), "proposed_rag": "green", "narrative": "Kept as typed.", "proposed_forecast_on": "2020-01-01"}
    )
    assert past.status_code == 422 and "A new forecast is a date still ahead" in past.text and "Kept as typed." in past.text

    filed = await anon.post(
        path,
        data={"csrf": csrf.group(1), "proposed_rag": "amber", "narrative": "Two of three coordinators in post.", "percent_complete": "60"},
    )
    assert filed.status_code == 200 and "Return sent" in filed.text, filed.text
    stored = (await client.get(f"/api/v1/returns/{the_return['id']}")).json()
    assert (stored["status"], stored["proposed_rag"], stored["percent_complete"]) == ("submitted", "amber", 60)
    assert stored["submitted_by"] == action["owner_id"]
    trail = (await client.get("/api/v1/audit-events", params={"entity_id": the_return["id"]})).json()["items"]
    assert trail[-1]["actor_type"] == "return_link" and trail[-1]["person_id"] == action["owner_id"]

    assert (await anon.get(path)).status_code == 410
    again = await anon.post(path, data={"csrf": csrf.group(1), "proposed_rag": "red", "narrative": "Again."})
    assert again.status_code == 410 and (await client.get(f"/api/v1/returns/{the_return['id']}")).json()["proposed_rag"] == "amber"
    assert (await anon.get("/returns/form/not-a-token")).status_code == 404


async def test_the_return_form_is_accessible(
    anon: httpx.AsyncClient,
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    inbox: Inbox,
    tmp_path: Path,
) -> None:
    chromium = _require_browser()
    from playwright.async_api import async_playwright

    _, _, path = await linked_return(client, db, settings, inbox)
    page_html = (await anon.get(path)).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page_html)
    assert csrf is not None
    with_errors = (await anon.post(path, data={"csrf": csrf.group(1), "proposed_rag": "", "narrative": ""})).text
    results = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            for name, html in (("form", page_html), ("errors", with_errors)):
                page_file = tmp_path / f"{name}.html"
                page_file.write_text(html, encoding="utf-8")
                page = await browser.new_page(viewport={"width": 390, "height": 844}, java_script_enabled=True)
                await page.goto(page_file.as_uri(), wait_until="load")
                await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
                results.append(
                    await page.evaluate(
                        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", WCAG
                    )
                )
        finally:
            await browser.close()
    found = [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for r in results
        for v in r["violations"]
        if v["impact"] in ("moderate", "serious", "critical")
    ]
    assert found == []


async def test_guessed_links_are_throttled_like_share_links(settings: Settings, db: Database) -> None:
    import asyncio
    import time

    from app.main import create_app

    if time.time() % 60 > 55:  # one minute's window for the whole test
        await asyncio.sleep(60 - time.time() % 60 + 0.5)
    app = create_app(settings.model_copy(update={"failed_auth_per_minute": 3}), db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.77", 5000)), base_url="http://test") as c:
        answers = [(await c.get(f"/returns/form/guess-{n}")).status_code for n in range(4)]
        posted = await c.post("/returns/form/guess-9", data={"csrf": "x", "proposed_rag": "green", "narrative": "x"})
    assert answers == [404, 404, 404, 429] and posted.status_code == 429


async def test_request_logs_never_carry_a_return_links_token(
    anon: httpx.AsyncClient, client: httpx.AsyncClient, db: Database, settings: Settings, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from structlog.testing import CapturingLogger

    from app.core import observability

    _, _, path = await linked_return(client, db, settings, inbox)
    token = path.rsplit("/", 1)[1]
    captured = CapturingLogger()
    monkeypatch.setattr(observability, "log", captured)
    assert (await anon.get(path)).status_code == 200
    lines = [call.kwargs for call in captured.calls if call.args == ("request",)]
    assert [line["path"] for line in lines] == ["/returns/form/<redacted>"] and token not in repr(captured.calls)


async def test_an_owner_files_through_the_link_in_a_real_browser_without_javascript(
    client: httpx.AsyncClient, db: Database, database_url: str, settings: Settings, inbox: Inbox, tmp_path: Path
) -> None:
    """Chromium, JavaScript off, against the service as served: the form's own protections let a real browser through."""
    chromium = _require_browser()
    from playwright.async_api import async_playwright

    from tests.servers import served

    with served(database_url, settings, tmp_path) as server:
        _, _, path = await linked_return(client, db, settings.model_copy(update={"public_base_url": server.url}), inbox)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, args=FLAGS)
            try:
                page = await browser.new_page(java_script_enabled=False)
                await page.goto(server.url + path)
                await page.check("#rag-amber")
                await page.fill("#narrative", "Two of three coordinators in post; the third starts in January.")
                await page.click("button[type=submit]")
                await page.wait_for_load_state()
                text = await page.inner_text("main")
            finally:
                await browser.close()
    assert "Return sent" in text, text
