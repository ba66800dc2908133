"""The HTML export in a real browser: self-contained (no request leaves the page) and WCAG 2.2 AA by axe-core.

Needs Debian's Chromium and axe-core (`tests/browser/setup.sh`, run by `make test`, installs both). Skipped
without them, except in CI, where a missing browser is a failure.
"""

import os
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.db import Database
from tests.test_exports import content, demo_plan, export

AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium")
# Flags for a closed network and a root user (the browser's own update and sync traffic would be refused).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def _require_browser() -> str:
    if CHROMIUM is None or not AXE.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium or axe-core is missing in CI: tests/browser/setup.sh should have installed them")
        pytest.skip("Chromium or axe-core is missing (run tests/browser/setup.sh)")
    return CHROMIUM


SCREENSHOTS = {"inspectors": "WSOA_REPORT_SCREENSHOT", "public": "WSOA_PUBLIC_SCREENSHOT", "meeting": "WSOA_MEETING_SCREENSHOT"}


async def _meeting_pack(client: httpx.AsyncClient, plan: dict[str, Any]) -> dict[str, Any]:
    """The pack of the demo's next Delivery Group meeting, as its members would read it."""
    meetings = (await client.get("/api/v1/meetings", params={"plan_id": plan["id"], "status": "scheduled", "kind": "board"})).json()[
        "items"
    ]
    made = await client.post(f"/api/v1/meetings/{meetings[0]['id']}/pack", json={"format": "html", "audience": "inspectors"})
    assert made.status_code in (200, 201), made.text
    return dict(made.json())


@pytest.mark.parametrize("audience", ["inspectors", "public", "meeting"])
async def test_the_html_report_is_self_contained_and_accessible(
    client: httpx.AsyncClient, db: Database, tmp_path: Path, audience: str
) -> None:
    chromium = _require_browser()
    from playwright.async_api import Route, async_playwright

    plan = await demo_plan(db)
    report = tmp_path / "report.html"
    made = (
        await _meeting_pack(client, plan) if audience == "meeting" else await export(client, plan["id"], format="html", audience=audience)
    )
    report.write_bytes(await content(client, made))
    requested: list[str] = []

    async def only_the_page(route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", report.as_uri())):
            await route.continue_()
        else:
            requested.append(url)
            await route.abort()

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            # The public page is read on phones: a phone's width, and nothing may need scrolling sideways.
            width = 375 if audience == "public" else 1280
            page = await browser.new_page(viewport={"width": width, "height": 900})
            await page.route("**/*", only_the_page)
            await page.goto(report.as_uri(), wait_until="load")
            assert (await page.title()).startswith(f"{plan['title']}: progress as of ")
            broken = await page.eval_on_selector_all("img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).length")
            assert broken == 0
            assert await page.evaluate("document.documentElement.scrollWidth") <= width
            shot = os.environ.get(SCREENSHOTS[audience])
            if shot and audience == "meeting":  # the meeting's own page, which opens its pack
                await page.locator('section[aria-labelledby="meeting"]').screenshot(path=shot)
            elif shot:
                await page.screenshot(path=shot)
            await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
            results: dict[str, Any] = await page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", WCAG
            )
        finally:
            await browser.close()
    assert requested == [], f"the report asked for {requested}"
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
