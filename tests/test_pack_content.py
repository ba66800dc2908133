"""What a progress pack shows an inspector, read back from HTML, PDF, CSV and XLSX (not only JSON): a slipped
action with its reprogramme, both RAGs, variance, forecast and milestones; an owner who has left; the exact
moment on the cover; the per-concern footnote; EHCP periods that are not covered."""

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import orjson
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from app.core.db import Database
from app.exports import charts, render
from app.exports.pack import SEVERAL_CONCERNS_NOTE
from app.exports.tables import tables
from app.models.enums import Role
from app.partnerships.service import today_in
from tests.factories import make_action, make_concern, make_partnership, make_person, make_plan, post
from tests.test_export_accessibility import AXE, FLAGS, WCAG, _require_browser
from tests.test_exports import Page, content, export
from tests.test_lifecycle import patch
from tests.test_roles import as_role
from tests.test_timeliness import plan_case, send

LONDON = "Europe/London"
TODAY = today_in(LONDON)
CRITERIA = "Every new request has a named coordinator within 5 working days, checked by monthly case audit."
REASON = "Educational psychology capacity arrives in January; agreed with DfE and NHS England advisers."
APPROVAL = "SEND Delivery Group, 3 November, decision 4"
BLOCKERS = "Two coordinator posts are still vacant."
MISSED = "Coordinators in post"
MET = "Panel terms of reference agreed"
TIMELY = "New EHC plans issued within 20 weeks"
DEFINED = "As SEN2 counts it, from the case system's events."
COMPUTED = "New EHC plans issued within 20 weeks of the request, excluding cases where an exception applies"


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def long(iso: str) -> str:
    on = date.fromisoformat(iso)
    return f"{on.day} {on:%B %Y}"


def flat(text: str) -> str:
    return " ".join(text.split())


def moment(made: dict[str, Any]) -> str:
    """The cover's words for an export of today: the moment it was made, in the partnership's time zone."""
    at = datetime.fromisoformat(made["created_at"].replace("Z", "+00:00")).astimezone(ZoneInfo(LONDON))
    return f"as recorded at {at:%H:%M} on {at.day} {at:%B %Y} ({LONDON})"


async def story(app: Any, db: Database, client: httpx.AsyncClient) -> dict[str, Any]:
    """An accepted plan whose overdue action was moved (red against the baseline, green against the new date) by a
    named lead, whose owner has since left, with a missed milestone; a second, unexplained late action; an action
    that answers two concerns; and case events that start too late to cover the earliest months."""
    partnership = await make_partnership(client)
    owner = await make_person(client, partnership, display_name="Priya Raman", job_title="Head of SEND Assessment")
    lead = await make_person(client, partnership, display_name="Sam Okafor", job_title="SEND Improvement Lead")
    plan = await make_plan(client, partnership)
    first, second = await make_concern(client, plan), await make_concern(client, plan)
    slipped = await make_action(
        client,
        plan,
        [first, second],
        owner_id=owner["id"],
        status="in_progress",
        planned_start_on=day(-400),
        due_on=day(-330),
        forecast_on=day(20),
        success_criteria=CRITERIA,
    )
    late = await make_action(client, plan, [second], owner_id=lead["id"], status="in_progress", planned_start_on=day(-60), due_on=day(-5))
    await post(client, "milestones", {"action_id": slipped["id"], "title": MISSED, "due_on": day(-200)})
    await post(client, "milestones", {"action_id": slipped["id"], "title": MET, "due_on": day(-300), "status": "met", "met_on": day(-301)})
    measure = {"plan_id": plan["id"], "concern_ids": [first["id"]], "name": TIMELY, "definition": DEFINED, "unit": "percent"}
    measure |= {"direction": "higher_is_better", "baseline_value": 40, "baseline_on": day(-400), "target_value": 80}
    await post(client, "measures", measure | {"target_on": day(365), "source": "ehcp_timeliness"})
    assert (await patch(client, f"plans/{plan['id']}", {"status": "submitted"})).status_code == 200
    assert (await patch(client, f"plans/{plan['id']}", {"status": "accepted", "accepted_on": day(0)})).status_code == 200
    async with as_role(app, db, Role.lead, partnership, lead) as as_lead:
        moved = await patch(
            as_lead,
            f"actions/{slipped['id']}",
            {"due_on": day(30), "reprogramme_reason": REASON, "reprogramme_approved_at_meeting": APPROVAL},
        )
        assert moved.status_code == 200, moved.text
    await post(
        client,
        f"actions/{slipped['id']}/progress-updates",
        {"author_id": owner["id"], "rag": "amber", "narrative": "Panel running weekly.", "percent_complete": 40, "blockers": BLOCKERS},
    )
    assert (await patch(client, f"people/{owner['id']}", {"active": False})).status_code == 200
    # Requests from 500 days ago: months before a full year of them are not covered.
    received = TODAY - timedelta(days=500)
    events = plan_case("early", received, 100) + plan_case("on-time", TODAY - timedelta(days=120), 60)
    await send(client, partnership, events + plan_case("late", TODAY - timedelta(days=200), 150))
    read = (await client.get(f"/api/v1/actions/{slipped['id']}")).json()
    assert (read["rag"], read["baseline_rag"], read["variance_days"]) == ("green", "red", 360)
    return {"plan": plan, "slipped": slipped, "late": late, "lead": lead, "uncovered_on": received + timedelta(days=100)}


async def made(client: httpx.AsyncClient, plan_id: str, export_format: str, **body: Any) -> tuple[dict[str, Any], bytes]:
    resource = await export(client, plan_id, format=export_format, **body)
    return resource, await content(client, resource)


def month_of(on: date) -> str:
    return on.replace(day=1).isoformat()


async def test_every_format_shows_why_an_action_slipped_and_who_agreed(app: Any, client: httpx.AsyncClient, db: Database) -> None:
    s = await story(app, db, client)
    plan_id, ref, late = s["plan"]["id"], s["slipped"]["ref"], s["late"]["ref"]

    resource, body = await made(client, plan_id, "html")
    page = Page()
    page.feed(body.decode("utf-8"))
    html = flat(" ".join(page.text))
    assert f"the plan {moment(resource)}." in html and "at the end of" not in html
    for shown in (
        REASON,
        f"Approved at: {APPROVAL}",
        "Moved by: Sam Okafor",
        f"due date moved from {long(day(-330))} to {long(day(30))}",
        "Derived: Green",
        "Against baseline: Red",
        "Owner reported: Amber",
        "+360 days",
        f"Baseline due: {long(day(-330))} Due: {long(day(30))} Forecast: {long(day(20))}",
        "Priya Raman, Head of SEND Assessment Owner has left",
        CRITERIA,
        f"Blockers: {BLOCKERS}",
        f"{MISSED} {long(day(-200))} Missed",
        f"{MET} {long(day(-300))} Met",
        f"Reason for slippage {REASON}",
        "Reason for slippage No reason recorded",
        f"Note: {SEVERAL_CONCERNS_NOTE} 1 action answers more than one concern.",
        f"The measure: {COMPUTED}",
        f"{TIMELY} Definition: {DEFINED} Computed as: {COMPUTED}",
        f"{long(month_of(s['uncovered_on']))} to ",
        "Not covered",
    ):
        assert shown in html, shown
    uncovered = re.search(rf"{long(month_of(s['uncovered_on']))} to \d+ \w+ \d+ (\S+ \S+)", html)
    assert uncovered and uncovered.group(1) == "Not covered"
    # Red or amber on either RAG with nothing said: the late action is marked, not left blank.
    assert re.search(rf"{re.escape(late)}: .*? Reason for slippage No reason recorded", html)

    resource, body = await made(client, plan_id, "csv")
    archive = zipfile.ZipFile(io.BytesIO(body))

    def read(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(archive.read(f"{name}.csv").decode("utf-8-sig"), newline="")))

    rows = {r["Ref"]: r for r in read("actions")}
    row = rows[ref]
    assert (row["RAG (against due date)"], row["Baseline RAG (against baseline due date)"], row["Owner's reported RAG"]) == (
        "green",
        "red",
        "amber",
    )
    assert (row["Baseline due"], row["Due"], row["Forecast"], row["Variance from baseline (days)"]) == (day(-330), day(30), day(20), "360")
    assert (row["Reprogrammes"], row["Moved from"], row["Moved to"]) == ("1", day(-330), day(30))
    assert (row["Reprogramme reason"], row["Reprogramme approved at"], row["Reprogrammed by"]) == (REASON, APPROVAL, "Sam Okafor")
    assert (row["Reason for slippage"], row["Blockers"], row["Success criteria"]) == (REASON, BLOCKERS, CRITERIA)
    assert (row["Owner has left"], row["Milestones missed"]) == ("yes", "1")
    assert rows[late]["Reason for slippage"] == "No reason recorded"
    milestones = {(m["Action"], m["Milestone"]): m for m in read("milestones")}
    assert milestones[(ref, MISSED)]["Missed"] == "yes" and milestones[(ref, MET)]["Missed"] == "no"
    cover = dict(csv.reader(io.StringIO(archive.read("cover.csv").decode("utf-8-sig"), newline="")))
    assert cover["Moment shown"] == "A" + moment(resource)[1:] and cover["Time zone"] == LONDON
    assert cover["EHCP timeliness measure"].startswith(COMPUTED)
    assert [(m["Definition"], m["Computed as"][: len(COMPUTED)]) for m in read("measures")] == [(DEFINED, COMPUTED)]
    overview = read("overview")
    everything = overview[-1]
    assert everything["Concern"] == "All actions" and everything["Note"] == SEVERAL_CONCERNS_NOTE
    assert (everything["Actions"], everything["Green (against due date)"], everything["Red (against baseline)"]) == ("2", "1", "1")
    assert sum(int(r["Actions"]) for r in overview[:-1]) == 3 and everything["Reprogrammed"] == "1"
    months = {m["Period start"]: m for m in read("ehcp_timeliness_months")}
    gap = months[month_of(s["uncovered_on"])]
    assert gap["Covered"] == "no" and gap["Plans issued (including exceptions)"] == ""
    assert any(m["Covered"] == "yes" and m["% within 20 weeks (excluding exceptions): the measure"] for m in months.values())

    resource, body = await made(client, plan_id, "xlsx")
    book = load_workbook(io.BytesIO(body))
    sheet = book["Actions"]
    header = [c.value for c in sheet[1]]
    found = {r[header.index("Ref")]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    cells = found[ref]
    assert (cells["RAG (against due date)"], cells["Baseline RAG (against baseline due date)"], cells["Owner's reported RAG"]) == (
        "green",
        "red",
        "amber",
    )
    assert cells["Variance from baseline (days)"] == 360 and cells["Forecast"].date().isoformat() == day(20)
    assert (cells["Reprogramme reason"], cells["Reprogramme approved at"], cells["Owner has left"]) == (REASON, APPROVAL, True)
    assert cells["Reason for slippage"] == REASON and found[late]["Reason for slippage"] == "No reason recorded"
    missed = [r for r in book["Milestones"].iter_rows(min_row=2, values_only=True) if r[1] == MISSED]
    assert missed and missed[0][-1] is True
    assert {r[0]: r[1] for r in book["Cover"].iter_rows(min_row=2, values_only=True)}["Moment shown"] == "A" + moment(resource)[1:]
    assert [r[-1] for r in book["Overview"].iter_rows(min_row=2, values_only=True)][-1] == SEVERAL_CONCERNS_NOTE

    resource, body = await made(client, plan_id, "pdf")
    text = flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages))
    for shown in (
        moment(resource),
        REASON,
        APPROVAL,
        "Against baseline",
        "Owner reported",
        "+360 days",
        long(day(20)),
        "Owner has left",
        "Missed",
        "No reason recorded",
        SEVERAL_CONCERNS_NOTE,
        "Not covered",
    ):
        assert shown in text, shown


async def test_the_timeliness_chart_never_draws_an_uncovered_month(
    app: Any, client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = await story(app, db, client)
    pack = orjson.loads(await content(client, await export(client, s["plan"]["id"], format="json")))
    report = pack["data"]["ehcp_timeliness"]
    months = report["months"]
    assert not all(m["covered"] for m in months) and any(m["covered"] for m in months)
    for m in months:  # even with figures present, a month that is not covered is not plotted
        if not m["covered"]:
            m["pct_within_20_weeks"] = m["pct_within_20_weeks_excl_exceptions"] = 50.0
    drawn: list[Any] = []
    monkeypatch.setattr(charts, "_png", lambda fig: drawn.append(fig) or b"")
    chart = charts.timeliness_chart(pack["data"])
    assert chart is not None and "Not covered, so not drawn" in chart.alt
    ax = drawn[0].axes[0]
    bars = [bar for container in ax.containers for bar in container]
    covered = [i for i, m in enumerate(months) if m["covered"] and m["pct_within_20_weeks_excl_exceptions"] is not None]
    assert sorted(round(bar.get_x() + bar.get_width() / 2) for bar in bars) == covered
    points = ax.lines[0].get_ydata()
    assert all(points[i] != points[i] for i, m in enumerate(months) if not m["covered"])  # NaN: nothing drawn


async def test_a_pack_of_a_whole_day_says_so_and_one_of_part_of_a_day_gives_the_time(
    app: Any, client: httpx.AsyncClient, db: Database
) -> None:
    s = await story(app, db, client)
    pack = orjson.loads(await content(client, await export(client, s["plan"]["id"], format="json")))
    cases = {
        "2026-12-01T02:22:41.500000+00:00": "as recorded at 02:22 on 1 December 2026 (Europe/London)",
        "2026-07-01T23:59:59.999999+01:00": "as recorded at the end of 1 July 2026 (Europe/London)",
        "2026-07-01T23:59:00+01:00": "as recorded at 23:59 on 1 July 2026 (Europe/London)",
    }
    for local, words in cases.items():
        pack["export"] |= {"recorded_by_local": local, "recorded_by": datetime.fromisoformat(local).astimezone(UTC).isoformat()}
        page = Page()
        page.feed(render.to_html(pack).decode("utf-8"))
        assert f"the plan {words}." in flat(" ".join(page.text)), words
        cover = {t.name: t for t in tables(pack)}["cover"]
        assert ["Moment shown", words[0].upper() + words[1:]] in cover.rows


async def test_the_new_content_keeps_the_report_accessible(app: Any, client: httpx.AsyncClient, db: Database, tmp_path: Path) -> None:
    """Owner has left, missed milestones, both RAGs, the footnote and uncovered periods pass axe-core too."""
    chromium = _require_browser()
    from playwright.async_api import async_playwright

    s = await story(app, db, client)
    report = tmp_path / "report.html"
    report.write_bytes(await content(client, await export(client, s["plan"]["id"], format="html")))
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(report.as_uri(), wait_until="load")
            await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
            results: dict[str, Any] = await page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})", WCAG
            )
        finally:
            await browser.close()
    serious = [
        f"{v['id']}: {v['help']} {[n['target'] for n in v['nodes'][:3]]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []


def test_variance_reads_as_days_from_the_baseline() -> None:
    assert [render._variance(d) for d in (45, 1, 0, -10, None)] == ["+45 days", "+1 day", "on baseline", "\u221210 days", "—"]
