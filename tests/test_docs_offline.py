"""`/docs` and `/redoc` on a network that reaches nothing but the service: headless Chromium loads each page from a
served process with every request to another host aborted, and the page must render the API's operations, ask for
nothing elsewhere and break none of its own Content-Security-Policy.

Needs Debian's Chromium (`tests/browser/setup.sh`, run by `make test`); skipped without it, except in CI.
"""

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.core.config import Settings
from app.core.db import Database
from tests.servers import served
from tests.test_export_accessibility import CHROMIUM, FLAGS

REDOCLY_LOGO = "img-src https://cdn.redoc.ly/redoc/logo-mini.svg"
# Collected before any script of the page runs, so a refused script or style is seen too.
WATCH_POLICY = """
window.__refused = [];
document.addEventListener('securitypolicyviolation', e => window.__refused.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def _require_chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing in CI: tests/browser/setup.sh should have installed it")
        pytest.skip("Chromium is missing (run tests/browser/setup.sh)")
    return CHROMIUM


@pytest.mark.parametrize("page_path", ["/docs", "/redoc"])
async def test_the_documentation_renders_with_the_network_cut(
    app: Any, db: Database, database_url: str, settings: Settings, tmp_path: Path, page_path: str
) -> None:
    chromium = _require_chromium()
    from playwright.async_api import Route, async_playwright

    summary = app.openapi()["paths"]["/api/v1/plans"]["get"]["summary"]  # "List plans"
    with served(database_url, settings, tmp_path) as server:
        assert "content-security-policy" in httpx.get(f"{server.url}{page_path}", timeout=10).headers
        served_here = urlsplit(server.url).netloc
        asked: list[str] = []
        elsewhere: list[str] = []

        async def only_the_service(route: Route) -> None:
            url = route.request.url
            asked.append(url)
            if urlsplit(url).netloc == served_here:
                await route.continue_()
            else:
                elsewhere.append(url)
                await route.abort()

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=chromium, args=FLAGS)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                await page.add_init_script(WATCH_POLICY)
                await page.route("**/*", only_the_service)
                await page.goto(f"{server.url}{page_path}", wait_until="load")
                # Swagger UI lists each operation by its summary; ReDoc heads each operation's section with it.
                exactly = re.compile(rf"^\s*{re.escape(summary)}\s*$")
                found = page.get_by_text(exactly) if page_path == "/docs" else page.locator("h2").filter(has_text=exactly)
                operation = found.first
                await operation.wait_for(state="visible", timeout=90_000)
                refused = await page.evaluate("window.__refused")
                title = await page.title()
            finally:
                await browser.close()
    assert title.startswith("wsoa-tracker: API")
    assert elsewhere == [], f"the page asked other hosts for {elsewhere}"
    assert any(url.endswith("/openapi.json") for url in asked) and any("/docs/assets/" in url for url in asked), asked
    # ReDoc's menu always shows Redocly's logo from their CDN (and hides it when it fails to load): the policy stops
    # that request before it is made. Nothing else may be refused.
    assert [r for r in refused if r != REDOCLY_LOGO] == [], f"the page's Content-Security-Policy refused {refused}"
    assert errors == [], errors
