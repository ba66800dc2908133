"""The return form behind a reminder's one-time link: a small server-rendered page where an action owner files the
month's return without an account or key. No JavaScript; protected against cross-site requests (a random value in
a strict same-site cookie that the form must send back, and the request's Origin when the browser gives one); the
link works once, until it expires; filing is audited as the person the link was sent to."""

import hmac
import secrets
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.responses import HTMLResponse, Response

from app.core.auth import Actor
from app.core.db import Database, DatabaseDep, SessionDep
from app.core.errors import DomainError, Unprocessable, problems
from app.core.routing import ApiRoute, public_base
from app.models import Action, ActionReturn, Person, Plan, ProgressUpdate, ReportingPeriod, ReturnLink, utcnow
from app.models.enums import Role
from app.reporting import schemas as s
from app.reporting import service
from app.reporting.cycle import hash_link

router = APIRouter(route_class=ApiRoute, tags=["reporting"])
COOKIE = "wsoa_return_form"
RAGS = [("green", "Green: on track"), ("amber", "Amber: at risk, recoverable"), ("red", "Red: off track"), ("blue", "Blue: complete")]
HTML = {"text/html": {"schema": {"type": "string"}}}
PAGE_PROBLEMS: dict[int | str, dict[str, Any]] = {
    k: v for k, v in problems(429).items() if k in (422, 429)
}  # unknown query parameters, guessing


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html", "j2"]), auto_reload=False
    )


def _page(status: int, **values: Any) -> HTMLResponse:
    values.setdefault("errors", {})
    values.setdefault("values", {})
    body = _templates().get_template("return_form.html.j2").render(rags=RAGS, **values)
    # same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with the form, which would refuse it.
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin", "X-Robots-Tag": "noindex, nofollow",
               "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"}  # fmt: skip
    return HTMLResponse(body, status_code=status, headers=headers)


def _notice(status: int, heading: str, message: str) -> HTMLResponse:
    return _page(status, heading=heading, message=message, plan_title="")


FORM: Any = (
    select(
        col(ReturnLink.id).label("link_id"),
        col(ReturnLink.person_id),
        col(ReturnLink.expires_at),
        col(ReturnLink.used_at),
        col(ActionReturn.id).label("return_id"),
        col(ActionReturn.partnership_id),
        col(ActionReturn.status),
        col(ActionReturn.missed_at),
        col(ActionReturn.review_note),
        col(ActionReturn.returns_due_on),
        col(ReportingPeriod.starts_on),
        col(ReportingPeriod.ends_on),
        col(Action.id).label("action_id"),
        col(Action.ref),
        col(Action.title),
        col(Action.due_on),
        col(Action.forecast_on),
        col(Plan.title).label("plan_title"),
        col(Person.display_name),
        col(Person.active),
    )
    .select_from(ReturnLink)
    .join(ActionReturn, col(ActionReturn.id) == col(ReturnLink.return_id))
    .join(ReportingPeriod, col(ReportingPeriod.id) == col(ActionReturn.period_id))
    .join(Action, col(Action.id) == col(ActionReturn.action_id))
    .join(Plan, col(Plan.id) == col(ActionReturn.plan_id))
    .join(Person, col(Person.id) == col(ReturnLink.person_id))
)


async def _found(session: AsyncSession, token: str, *, lock: bool = False) -> Any:
    statement = FORM.where(col(ReturnLink.token_hash) == hash_link(token[:200]))
    if lock:
        statement = statement.with_for_update(of=ReturnLink)
    return (await session.execute(statement)).one_or_none()


async def _known(db: Database, token: str) -> bool:
    """Whether the link exists, read before the request's transaction: a guess is counted in a transaction of its own,
    which on SQLite must not wait behind the request's."""
    async with db.read_session() as reader:
        found = await reader.execute(select(col(ReturnLink.id)).where(col(ReturnLink.token_hash) == hash_link(token[:200])))
        return found.first() is not None


def _unusable(found: Any) -> HTMLResponse | None:
    if found.used_at is not None:
        return _notice(
            410,
            "This link has been used",
            "A return was filed through it. Each link works once; ask the programme office if you need to change what you sent.",
        )
    if found.expires_at <= utcnow():
        return _notice(410, "This link has expired", "Ask the programme office for a new one, or file your return through the tracker.")
    if not found.active:
        return _notice(410, "This link no longer works", "It was sent to someone who has since left the partnership.")
    if found.status not in {str(state) for state in service.FILEABLE}:
        return _notice(
            410, "This return has been filed", "The programme office has it. Each return is filed once unless it is sent back to you."
        )
    return None


async def _last_return(session: AsyncSession, found: Any) -> dict[str, str] | None:
    """What the owner last reported on the action before this period: the last filed return of an earlier period, or
    else the latest progress update (the history before returns were asked for)."""
    last: Any = (
        await session.execute(
            select(col(ActionReturn.proposed_rag).label("rag"), col(ActionReturn.narrative), col(ActionReturn.submitted_at).label("at"))
            .join(ReportingPeriod, col(ReportingPeriod.id) == col(ActionReturn.period_id))
            .where(
                col(ActionReturn.action_id) == found.action_id,
                col(ReportingPeriod.starts_on) < found.starts_on,
                col(ActionReturn.submitted_at).is_not(None),
            )
            .order_by(col(ReportingPeriod.starts_on).desc())
            .limit(1)
        )
    ).one_or_none()
    if last is None:
        last = (
            await session.execute(
                select(col(ProgressUpdate.rag), col(ProgressUpdate.narrative), col(ProgressUpdate.created_at).label("at"))
                .where(col(ProgressUpdate.action_id) == found.action_id)
                .order_by(col(ProgressUpdate.created_at).desc())
                .limit(1)
            )
        ).one_or_none()
    if last is None:
        return None
    return {"rag": str(last.rag).capitalize(), "on": f"{last.at:%-d %B %Y}", "narrative": last.narrative or ""}


def _same_origin(request: Request) -> bool:
    """Whether the browser says the form came from this service's own page. Without an answer (no `Origin`, or
    `null` from a privacy setting) the same-site cookie decides; a cross-site request never carries it."""
    if request.headers.get("sec-fetch-site") in ("cross-site", "same-site"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    expected = urlsplit(public_base(request))
    given = urlsplit(origin)
    return (given.scheme, given.netloc) == (expected.scheme, expected.netloc)


async def _form(
    request: Request, session: AsyncSession, token: str, *, errors: dict[str, str], values: dict[str, str], status: int
) -> Response:
    found = await _found(session, token)
    assert found is not None
    csrf = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
    period = f"{found.starts_on:%-d %B} to {found.ends_on:%-d %B %Y}"
    response = _page(
        status, heading="Monthly return", plan_title=found.plan_title, action_ref=found.ref, action_title=found.title,
        owner_name=found.display_name, period=period, returns_due_on=f"{found.returns_due_on:%A %-d %B %Y}", missed=found.missed_at is not None,
        action_due_on=_day(found.due_on), forecast_on=_day(found.forecast_on), review_note=found.review_note if found.status == "returned" else None,
        last=await _last_return(session, found), csrf=csrf, action_url=str(request.url.path), errors=errors, values=values,
    )  # fmt: skip
    secure = urlsplit(public_base(request)).scheme == "https"
    response.set_cookie(COOKIE, csrf, max_age=3600, path="/returns/form", httponly=True, samesite="strict", secure=secure)
    return response


def _day(value: date | None) -> str | None:
    return None if value is None else f"{value:%-d %B %Y}"


async def _refuse_guess(request: Request) -> None:
    limiter, limit = request.app.state.limiter, request.app.state.settings.failed_auth_per_minute
    client = request.client.host if request.client else None
    limiter.refuse_blocked(client, limit)
    await limiter.note_failure(client, limit)


@router.get(
    "/returns/form/{token}",
    summary="Open the return form of a reminder's link",
    description="The page an action owner reaches from a reminder: the action, its dates and the last return, and a form "
    "for this month's. Works without an account, once, until the link expires (410 afterwards, or once the return is filed).",
    operation_id="returns-form-get",
    response_class=HTMLResponse,
    responses={
        200: {"description": "The form.", "content": HTML},
        404: {"description": "No such link.", "content": HTML},
        410: {"description": "Used, expired, or the return is filed.", "content": HTML},
        **PAGE_PROBLEMS,
    },
    openapi_extra={"security": []},
)
async def open_form(request: Request, token: str, session: SessionDep, db: DatabaseDep) -> Response:
    if not await _known(db, token):
        await _refuse_guess(request)
        return _notice(404, "This link is not known", "Check that you copied the whole link from the e-mail.")
    found = await _found(session, token)
    if found is None:
        return _notice(404, "This link is not known", "Check that you copied the whole link from the e-mail.")
    refused = _unusable(found)
    return refused or await _form(request, session, token, errors={}, values={}, status=200)


FIELDS = ("proposed_rag", "narrative", "percent_complete", "blockers", "next_steps", "proposed_forecast_on")
FORM_EXAMPLE = {
    "csrf": "the value in the page",
    "proposed_rag": "amber",
    "narrative": "Two of three coordinators in post.",
    "percent_complete": "60",
    "proposed_forecast_on": "2027-02-26",
}
MESSAGES = {
    "proposed_rag": "Choose how the action stands",
    "narrative": "Say what happened this month",
    "percent_complete": "Give a whole number from 0 to 100, or leave it empty",
    "proposed_forecast_on": "Give the date as year-month-day, for example 2027-02-26, or leave it empty",
}


@router.post(
    "/returns/form/{token}",
    summary="File a return through a reminder's link",
    description="The form's answer (`application/x-www-form-urlencoded`, with the `csrf` value of the page and its cookie). "
    "Files the return as the person the link was sent to, appends the progress update, and spends the link. A form with "
    "mistakes comes back with them marked (422).",
    operation_id="returns-form-create",
    response_class=HTMLResponse,
    responses={
        200: {"description": "Filed.", "content": HTML},
        403: {"description": "The form did not come from this page.", "content": HTML},
        404: {"description": "No such link.", "content": HTML},
        409: {"description": "The return cannot be filed now.", "content": HTML},
        410: {"description": "Used, expired, or the return is filed.", "content": HTML},
        **PAGE_PROBLEMS,
    },
    openapi_extra={
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["csrf", "proposed_rag", "narrative"],
                        "properties": {"csrf": {"type": "string"}, **{f: {"type": "string"} for f in FIELDS}},
                    },
                    "example": FORM_EXAMPLE,
                }
            },
        },
    },
)
async def file_by_link(request: Request, token: str, session: SessionDep, db: DatabaseDep) -> Response:
    if not await _known(db, token):
        await _refuse_guess(request)
        return _notice(404, "This link is not known", "Check that you copied the whole link from the e-mail.")
    found = await _found(session, token, lock=True)
    if found is None:
        return _notice(404, "This link is not known", "Check that you copied the whole link from the e-mail.")
    refused = _unusable(found)
    if refused is not None:
        return refused
    form = await request.form(max_files=0, max_fields=20)
    sent = {k: str(v) for k, v in form.items() if k in (*FIELDS, "csrf")}
    cookie = request.cookies.get(COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, sent.get("csrf", "")) or not _same_origin(request):
        return _notice(
            403,
            "Please use the form again",
            "This answer did not come from the form we sent, or it has timed out. Open the link from your e-mail again.",
        )
    values = {k: sent.get(k, "").strip() for k in FIELDS}
    try:
        body = s.ReturnSubmission.model_validate({k: v for k, v in values.items() if v != ""})
    except ValidationError as exc:
        errors = {str(e["loc"][0]): MESSAGES.get(str(e["loc"][0]), e["msg"]) for e in exc.errors() if e["loc"]}
        return await _form(request, session, token, errors=errors, values=values, status=422)
    actor = Actor(
        "return_link",
        str(found.link_id),
        found.display_name,
        Role.contributor,
        partnership_id=found.partnership_id,
        person_id=found.person_id,
    )
    try:
        await service.submit(session, actor, found.return_id, body, as_person=found.person_id)
    except Unprocessable as exc:  # a field the rules refuse (a forecast already past): shown on the form, values kept
        errors = {e.pointer.strip("/"): e.message for e in exc.errors or [] if e.pointer.strip("/") in FIELDS}
        if not errors:
            return _notice(exc.status, "Your return could not be filed", exc.detail)
        return await _form(request, session, token, errors={k: f"{exc.detail} ({v})" for k, v in errors.items()}, values=values, status=422)
    except DomainError as exc:
        return _notice(exc.status, "Your return could not be filed", exc.detail)
    # Filing spent this link and every other sent for the return (`service.submit`).
    return _page(200, heading="Return sent", done=True, plan_title=found.plan_title,
                 message=f"Thank you, {found.display_name}. Your return for {found.ref} {found.title} has been filed.")  # fmt: skip
