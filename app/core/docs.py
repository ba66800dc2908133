"""`/docs` (Swagger UI) and `/redoc` (ReDoc), with their scripts, styles and icon served by the service itself.

FastAPI's own pages load them from a CDN, so they stay blank on a network that cannot reach it. The files come
from the `fastapi-offline` package, served under `/docs/assets/`; each page carries a Content-Security-Policy that
lets it load nothing from anywhere else and run no script but its own (the inline start-up script by its hash).
"""

import base64
import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = "/docs/assets"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def policy(html: str) -> str:
    """Same-origin everything; inline scripts by hash. Styles may be inline (both pages set style attributes), and
    ReDoc's search runs in a worker it makes from a blob."""
    scripts = " ".join(
        ["'self'", *(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in INLINE_SCRIPT.findall(html))]
    )
    return (
        f"default-src 'none'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


def with_policy(page: HTMLResponse) -> HTMLResponse:
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": policy(html), "Cache-Control": "no-cache"})


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def install_docs(app: FastAPI) -> None:
    """The two documentation pages and their assets, for the app's `openapi_url` (the app is made with
    `docs_url=None, redoc_url=None`)."""
    app.mount(ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return with_policy(
            get_swagger_ui_html(
                openapi_url=root + openapi_url,
                title=f"{app.title}: API documentation",
                swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
                oauth2_redirect_url=None,  # API keys and bearer tokens only: no OAuth2 flow to return to
            )
        )

    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return with_policy(
            get_redoc_html(
                openapi_url=root + openapi_url,
                title=f"{app.title}: API reference",
                redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
