"""The facts of a progress pack: one plan as recorded at a moment, shaped for one audience.

Every format renders this same structure (what DfE and NHS England reviews and inspectors ask for, in the order
inspectors read it): a cover,
each concern in report order with its finding, delivery RAG, actions, measures and evidence index,
then EHCP timeliness by month and funding by financial year.

The moment is the end of `as_of` in the partnership's time zone, or the export's creation if that
is earlier (`app.progress.state.moment_of`, as for the summary and history). Plan rows come from the
audit trail as recorded then (`app.progress.state.state_at`); append-only rows (progress updates,
reprogrammes, case events) count when they were recorded by then. The overview is the summary's
computation (`app.progress.summary.summarise`) over that state, so a pack, `GET /plans/{id}/summary`
and the history point of the same day and moment agree. People's names, job titles and whether
they have left are today's: the trail does not version them.

Audiences: `board` sees everything; `inspectors` and `public` get no contact details, and evidence
held locally (personal data, not redacted) is listed without its link; `public` also names owners by
job title only, lists only accepted evidence that is not held locally, and suppresses any figure
counted over fewer than 10 (small-number suppression). No audience gets case-level rows.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.cases.timeliness import DEFINITION, report
from app.core.errors import FieldError, Unprocessable
from app.core.reads import SqlAlchemyReads
from app.evidence.service import held_locally
from app.exports import sections
from app.measures.reads import COMPUTED_AS
from app.measures.trajectory import points
from app.models import ApiKey, Board, Inspection, Organisation, Partnership, Person
from app.models.enums import Audience, MeasureSource, MilestoneStatus, ReviewStatus
from app.partnerships.service import Local
from app.plans.calendar import plan_submission_due_on
from app.progress.state import PlanState, Row, by_action, cutoff_of, moment_of, state_at
from app.progress.summary import healths, measure_rows, off_course, slippage_reason, summarise
from app.reporting.figures import agreed_rags

FORMAT_VERSION = 5  # 2: both RAGs, variance, reprogrammes, timeliness coverage; 3: monthly returns, agreed RAG; 4: intended
# outcomes; 5: latest impact statement and impact RAG per concern, decisions within 6 weeks, annual reviews, governance,
# risks, co-production, what changed since a date, a meeting's page
SMALL_NUMBER = 10  # figures counted over fewer than this are suppressed in public packs
TIMELINESS_MONTHS = 24
SEVERAL_CONCERNS_NOTE = (
    "An action that answers more than one concern is counted under each of them, so the concerns' rows add up to more "
    "than the plan's total."
)


@dataclass(frozen=True)
class Request:
    """What to pack: the export's identity fixes the moment the pack describes."""

    export_id: uuid.UUID
    plan_id: uuid.UUID
    partnership_id: uuid.UUID
    audience: Audience
    as_of: date
    created_at: datetime
    since: date | None = None  # adds what changed since then (a meeting's pack: since the previous meeting)
    meeting_id: uuid.UUID | None = None  # a meeting's pack


class NotAMeetingOfThePlan(Unprocessable):
    """The meeting is not one about the plan (or about no plan in particular) as recorded at the pack's moment."""


def moment(request: Request, area: Local) -> datetime:
    return moment_of(request.as_of, area.timezone, request.created_at).astimezone(UTC)


def data_hash(data: dict[str, Any]) -> str:
    """SHA-256 of the pack's facts in canonical JSON: equal in every format of one plan, moment and audience."""
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def build(session: AsyncSession, request: Request, area: Local) -> dict[str, Any]:
    at = moment(request, area)
    state = await state_at(session, plan_id=request.plan_id, partnership_id=request.partnership_id, at=at, detail=True)
    since, meeting, previous = request.since, None, None
    if request.meeting_id is not None:
        meeting = state.tables["meeting"].get(str(request.meeting_id))
        if meeting is None:
            raise NotAMeetingOfThePlan(
                "The meeting is not one about this plan as recorded on that day.",
                errors=[FieldError(pointer="/plan_id", message="not the meeting's plan on as_of")],
            )
        previous = sections.previous_meeting(state, meeting)
        since = since or (previous["held_on"] if previous is not None else None)
    if since is not None and since >= request.as_of:
        since = None  # a meeting's pack made on the day of the previous meeting: nothing to compare yet
    named = await _people(session, sections.people_named(state)), await _boards(session, request.partnership_id)
    data = await _data(session, request, area, state, at, named)
    if meeting is not None:
        people, boards = named
        data["meeting"] = sections.meeting_page(meeting, previous, state, people, request.audience, request.as_of, boards)
    if since is not None and request.audience is not Audience.public:  # risks and reasons are not for the public
        then_at = cutoff_of(since, area.timezone)
        then = await state_at(session, plan_id=request.plan_id, partnership_id=request.partnership_id, at=then_at, detail=True)
        data["changes"] = sections.changes(then, state, since, request.as_of, area.red_after_days, (then_at, at))
    return {
        "format_version": FORMAT_VERSION,
        "export": {
            "id": str(request.export_id),
            "plan_id": str(request.plan_id),
            "meeting_id": None if request.meeting_id is None else str(request.meeting_id),
            "since": _iso(since),
            "audience": request.audience.value,
            "as_of": request.as_of.isoformat(),
            "recorded_by": at.isoformat().replace("+00:00", "Z"),  # spelled as the API spells recorded_at
            "recorded_by_local": at.astimezone(ZoneInfo(area.timezone)).isoformat(),
            "timezone": area.timezone,
            "created_at": request.created_at.astimezone(UTC).isoformat(),
        },
        "data_sha256": data_hash(data),
        "data": data,
    }


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


async def _people(session: AsyncSession, ids: set[str]) -> dict[str, Row]:
    if not ids:
        return {}
    organisation: Any = col(Organisation.name).label("organisation")
    rows: Any = await session.execute(
        select(
            col(Person.id),
            col(Person.display_name),
            col(Person.job_title),
            col(Person.email),
            col(Person.active),
            col(Person.left_on),
            organisation,
        )
        .outerjoin(Organisation, col(Organisation.id) == col(Person.organisation_id))
        .where(col(Person.id).in_([uuid.UUID(i) for i in ids]))
    )
    return {str(r.id): dict(r._mapping) for r in rows}


def _has_left(person: Row, as_of: date) -> bool:
    """Whether the person had left by `as_of`: someone active has not; a leaver had by their leaving date (or, with
    none recorded, has)."""
    if person["active"]:
        return False
    left_on: date | None = person["left_on"]
    return left_on is None or left_on <= as_of


def _owner(person: Row | None, audience: Audience, as_of: date) -> Row | None:
    if person is None:
        return None
    owner = {
        "name": person["display_name"],
        "job_title": person["job_title"],
        "organisation": person["organisation"],
        "has_left": _has_left(person, as_of),
    }
    if audience is Audience.board:
        owner["email"] = person["email"]
    elif audience is Audience.public:
        owner["name"] = None
    return owner


def _small(count: int | None, audience: Audience) -> bool:
    return audience is Audience.public and count is not None and count < SMALL_NUMBER


def _local_day(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).date().isoformat()


def _mover(move: Row, people: dict[str, Row], keys: dict[str, str], audience: Audience) -> str | None:
    """Who moved a due date: the person's name (job title in public packs), else the name of the API key used
    (not in public packs)."""
    person = people.get(move.get("person_id") or "")
    if person is not None:
        name: str | None = person["job_title"] if audience is Audience.public else person["display_name"]
        return name
    if audience is Audience.public:
        return None
    key = keys.get(move["actor_id"]) if move["actor_type"] == "api_key" else None
    return f"API key \u201c{key}\u201d" if key else None


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


async def _key_names(session: AsyncSession, moves: dict[str, list[Row]]) -> dict[str, str]:
    """The names of the API keys (not linked to a person) that moved due dates, by key id."""
    ids = {m["actor_id"] for ms in moves.values() for m in ms if m["actor_type"] == "api_key" and not m.get("person_id")}
    wanted = [u for u in map(_uuid, ids) if u is not None]
    if not wanted:
        return {}
    rows = await session.execute(select(col(ApiKey.id), col(ApiKey.name)).where(col(ApiKey.id).in_(wanted)))
    return {str(r.id): r.name for r in rows}


async def _data(
    session: AsyncSession, request: Request, area: Local, state: PlanState, at: datetime, named: tuple[dict[str, Row], dict[str, str]]
) -> dict[str, Any]:
    audience = request.audience
    zone = ZoneInfo(area.timezone)
    as_of = request.as_of
    plan = next(iter(state.rows("plan")))
    actions = sorted(state.rows("action"), key=lambda a: (a["ref"], a["id"]))
    updates = by_action(state, "progress_update")
    moves = by_action(state, "reprogramme")
    movers = {m["person_id"] for ms in moves.values() for m in ms if m.get("person_id")}
    people = await _people(session, {a["owner_id"] for a in actions if a.get("owner_id")} | movers)
    keys = await _key_names(session, moves)
    health = healths(state, as_of, area.red_after_days)
    summary = summarise(state, plan_id=str(request.plan_id), as_of=as_of, recorded_at=at, red_after_days=area.red_after_days)
    milestones: dict[str, list[Row]] = {}
    for m in sorted(state.rows("milestone"), key=lambda m: (m["due_on"], m["title"])):
        missed = m["status"] == MilestoneStatus.missed or (m["status"] == MilestoneStatus.pending and m["due_on"] < as_of)
        milestones.setdefault(m["action_id"], []).append(
            {"title": m["title"], "due_on": _iso(m["due_on"]), "status": m["status"], "met_on": _iso(m.get("met_on")), "missed": missed}
        )

    agreed = agreed_rags(state, as_of)
    returns = summary["reporting"]
    missed = {m["action_id"]: m for m in returns["missed"]} if returns else {}

    def action_row(a: Row) -> Row:
        h = health[a["id"]]
        update = updates[a["id"]][-1] if a["id"] in updates else None
        move = moves[a["id"]][-1] if a["id"] in moves else None
        reason = slippage_reason(a, h, move, update)
        return {
            "ref": a["ref"],
            "title": a["title"],
            "success_criteria": a.get("success_criteria"),
            "owner": _owner(people.get(a.get("owner_id") or ""), audience, as_of),
            "planned_start_on": _iso(a.get("planned_start_on")),
            "due_on": _iso(a.get("due_on")),
            "baseline_due_on": _iso(a.get("baseline_due_on")),
            "forecast_on": _iso(a.get("forecast_on")),
            "completed_on": _iso(a.get("completed_on")),
            "status": a["status"],
            "rag": h.rag.value,
            "baseline_rag": h.baseline_rag.value,
            "variance_days": h.variance_days,
            "days_overdue": h.days_overdue,
            "reprogramme_count": len(moves.get(a["id"], [])),
            "latest_reprogramme": None
            if move is None
            else {
                "on": _local_day(move["created_at"], zone),
                "from_due_on": _iso(move["previous_due_on"]),
                "to_due_on": _iso(move["new_due_on"]),
                "reason": None if audience is Audience.public else move["reason"],  # internal: not for the public
                "approved_at_meeting": None if audience is Audience.public else move.get("approved_at_meeting"),
                "by": _mover(move, people, keys, audience),
            },
            "latest_update": None
            if update is None
            else {
                "on": _local_day(update["created_at"], zone),
                "rag": update["rag"],
                "narrative": update["narrative"],
                "percent_complete": update["percent_complete"],
                "blockers": None if audience is Audience.public else update.get("blockers"),  # internal: not for the public
            },
            "agreed_rag": agreed.get(a["id"], {}).get("agreed_rag"),
            "return_missed": a["id"] in missed,  # missed at its due date (a fact), whether or not it was filed later
            "return_filed_late": bool(missed.get(a["id"], {}).get("filed_late")),
            "slippage_reason": None if audience is Audience.public else reason,
            "reason_missing": audience is not Audience.public and reason is None and off_course(a, h),
            "milestones": milestones.get(a["id"], []),
        }

    shaped = {a["id"]: action_row(a) for a in actions}
    concern_rows = sorted(state.rows("concern"), key=lambda c: (c["ref"], c["id"]))
    measures = _measures(state, as_of, audience, {c["id"]: c["ref"] for c in concern_rows})
    evidence = _evidence(state, audience)
    by_concern = {c["id"]: c for c in summary["concerns"]}
    concerns = []
    for c in concern_rows:
        mine = [a for a in actions if c["id"] in a.get("concern_ids", [])]
        concerns.append(
            {
                "ref": c["ref"],
                "kind": c["kind"],
                "title": c["title"],
                "theme": c.get("theme"),
                "verbatim_text": c.get("verbatim_text"),
                "intended_outcome": c.get("intended_outcome"),
                "success_criteria": c.get("success_criteria"),
                "judgement": c["judgement"],
                "delivery_rag": by_concern[c["id"]]["rag"],
                "baseline_rag": by_concern[c["id"]]["baseline_rag"],
                "impact_rag": by_concern[c["id"]]["impact_rag"],
                "latest_impact": _impact_shown(by_concern[c["id"]]["latest_impact"]),
                "action_counts": by_concern[c["id"]]["actions"],
                "actions": [shaped[a["id"]] for a in mine],
                "progress": sections.progress([shaped[a["id"]] for a in mine]),
                "measures": [m for m in measures if c["ref"] in m["concern_refs"]],
                "evidence": evidence.get(c["id"], []) + [e for a in mine for e in evidence.get(a["id"], [])],
            }
        )
    inspection = await _inspection(session, plan.get("inspection_id"))
    published = (inspection or {}).get("report_published_on")
    return {
        "partnership": await _partnership(session, request.partnership_id),
        "inspection": inspection,
        "plan": {
            "title": plan["title"],
            "kind": plan["kind"],
            "status": plan["status"],
            "submission_due_on": _iso(plan_submission_due_on(plan, date.fromisoformat(published) if published else None)),
            "submitted_on": _iso(plan.get("submitted_on")),
            "accepted_on": _iso(plan.get("accepted_on")),
            "revisit_due_on": _iso(plan.get("revisit_due_on")),
            "governance": plan.get("governance"),
        },
        "overview": {
            "actions": summary["actions"],
            "actions_in_several_concerns": summary["actions_in_several_concerns"],
            "concerns_note": SEVERAL_CONCERNS_NOTE if summary["actions_in_several_concerns"] else None,
            "measures_by_status": summary["measures"]["by_status"],
            "reporting": _reporting(returns),
        },
        "concerns": concerns,
        "plan_measures": [m for m in measures if not m["concern_refs"]],
        "ehcp_timeliness": await _timeliness(session, request, state, at),
        "funding": summary["funding"],
        **_beside_delivery(request, state, *named),
        "changes": None,
        "meeting": None,
    }


def _beside_delivery(request: Request, state: PlanState, people: dict[str, Row], boards: dict[str, str]) -> Row:
    """Governance (every meeting about the plan held by `as_of`), the risk register and co-production: `people` are those
    the sections name (`sections.people_named`), `boards` the partnership's bodies by id."""
    return {
        "governance": sections.governance(state, people, request.audience, request.as_of, boards),
        "risks": sections.risks(state, people, request.audience, request.as_of),
        "coproduction": sections.coproduction(state, request.as_of),
    }


async def _boards(session: AsyncSession, partnership_id: uuid.UUID) -> dict[str, str]:
    rows = await session.execute(select(col(Board.id), col(Board.name)).where(col(Board.partnership_id) == partnership_id))
    return {str(board_id): name for board_id, name in rows}


def _impact_shown(latest: Row | None) -> Row | None:
    """A concern's latest impact statement as a pack prints it (its date as text, no internal ids)."""
    if latest is None:
        return None
    return {"as_of": _iso(latest["as_of"]), **{k: latest[k] for k in ("judgement", "judgement_reason", "narrative")}}


def _reporting(returns: dict[str, Any] | None) -> dict[str, Any] | None:
    """The summary's reporting section as the pack spells it (dates as ISO text, no internal ids)."""
    if returns is None:
        return None
    period = {k: _iso(v) if k != "status" else v for k, v in returns["period"].items() if k != "id"}
    missed = [{"ref": m["ref"], "filed_late": m["filed_late"]} for m in returns["missed"]]
    return {"period": period, "returns": returns["returns"], "missed": missed, "by_agreed_rag": returns["by_agreed_rag"]}


def _measures(state: PlanState, as_of: date, audience: Audience, refs: dict[str, str]) -> list[Row]:
    series: dict[str, list[Row]] = {}
    for o in sorted(state.rows("observation"), key=lambda o: (o["period_end_on"], o["created_at"])):
        if o["period_start_on"] <= as_of:  # provisional figures are listed, marked, but are never the latest value
            series.setdefault(o["measure_id"], []).append(o)
    found = []
    for row in measure_rows(state, as_of):
        m = state.tables["measure"][row["id"]]
        small = _small(row["latest_denominator"], audience)
        found.append(
            {
                "name": m["name"],
                "definition": m.get("definition"),
                "computed_as": COMPUTED_AS.get(m["source"]),
                "unit": m["unit"],
                "direction": m["direction"],
                "source": m["source"],
                "frequency": m["frequency"],
                "concern_refs": sorted(refs[c] for c in row["concern_ids"] if c in refs),
                "baseline_value": m["baseline_value"],
                "baseline_on": _iso(m["baseline_on"]),
                "target_value": m["target_value"],
                "target_on": _iso(m["target_on"]),
                "latest_value": None if small else row["latest_value"],
                "latest_period_end_on": _iso(row["latest_period_end_on"]),
                "latest_denominator": None if small else row["latest_denominator"],
                "expected_value": row["expected_value"],
                "status": "suppressed" if small else row["status"],
                "trajectory": [{"on": d.isoformat(), "value": v} for d, v in points(m)],
                "observations": [
                    {
                        "period_start_on": _iso(o["period_start_on"]),
                        "period_end_on": _iso(o["period_end_on"]),
                        "value": None if _small(o.get("denominator"), audience) else o["value"],
                        "denominator": None if _small(o.get("denominator"), audience) else o.get("denominator"),
                        "provisional": bool(o.get("provisional")),
                    }
                    for o in series.get(row["id"], [])
                ],
            }
        )
    return found


def _evidence(state: PlanState, audience: Audience) -> dict[str, list[Row]]:
    """Evidence by the concern or action it supports (a milestone's evidence counts for its action)."""
    action_of = {m["id"]: m["action_id"] for m in state.rows("milestone")}
    refs = {a["id"]: a["ref"] for a in state.rows("action")} | {c["id"]: c["ref"] for c in state.rows("concern")}
    found: dict[str, list[Row]] = {}
    for e in sorted(state.rows("evidence"), key=lambda e: (e.get("evidence_on") or date.min, e["title"], e["id"])):
        local = held_locally(e)
        if audience is Audience.public and (local or e["review_status"] != ReviewStatus.accepted):
            continue
        subject = e.get("concern_id") or e.get("action_id") or action_of[e["milestone_id"]]
        link = e.get("url") or (f"/api/v1/evidence/{e['id']}/file" if e.get("sha256") else None)
        found.setdefault(subject, []).append(
            {
                "title": e["title"],
                "kind": e["kind"],
                "evidence_on": _iso(e.get("evidence_on")),
                "supports": ("milestone of " if e.get("milestone_id") else "") + refs.get(subject, ""),
                "review_status": e["review_status"],
                "held_locally": local,
                "link": None if local and audience is not Audience.board else link,
                "sha256": e.get("sha256"),
            }
        )
    return found


async def _partnership(session: AsyncSession, partnership_id: uuid.UUID) -> Row:
    row = (
        await session.execute(select(col(Partnership.name), col(Partnership.la_code)).where(col(Partnership.id) == partnership_id))
    ).one()
    return {"name": row.name, "la_code": row.la_code}


async def _inspection(session: AsyncSession, inspection_id: str | None) -> Row | None:
    if inspection_id is None:
        return None
    i = (await session.execute(select(Inspection).where(col(Inspection.id) == uuid.UUID(inspection_id)))).scalar_one_or_none()
    if i is None:
        return None
    return {
        "framework": i.framework,
        "kind": i.kind,
        "inspectorates": list(i.inspectorates),
        "onsite_start_on": _iso(i.onsite_start_on),
        "onsite_end_on": _iso(i.onsite_end_on),
        "report_published_on": _iso(i.report_published_on),
        "outcome": i.outcome,
        "report_url": i.report_url,
    }


# Each group of a period's figures, by the count that decides whether it is small (and, in public packs, not shown).
GROUPS = {
    "suppressed": "plans_issued",
    "decisions_suppressed": "decisions_due",
    "reviews_suppressed": "review_meetings",
}
GROUP_FIELDS = {
    "plans_issued": (
        "plans_issued",
        "issued_within_20_weeks",
        "pct_within_20_weeks",
        "plans_issued_excl_exceptions",
        "issued_within_20_weeks_excl_exceptions",
        "pct_within_20_weeks_excl_exceptions",
        "over_20_under_52_weeks",
        "over_52_weeks",
        "avg_weeks",
    ),
    "decisions_due": ("decisions_due", "decided_within_6_weeks", "pct_decided_within_6_weeks"),
    "review_meetings": (
        "review_meetings",
        "review_decisions_within_4_weeks",
        "review_decisions_late",
        "review_decisions_pending",
        "pct_review_decisions_within_4_weeks",
    ),
}


def _suppressed(period: Row, audience: Audience) -> Row:
    """A period's figures, group by group (20-week plans, decisions to assess, annual reviews), or none: small numbers in
    public packs, and periods the case events do not cover."""
    shown = {
        "period_start_on": _iso(period["period_start_on"]),
        "period_end_on": _iso(period["period_end_on"]),
        "covered": period["covered"],
    }
    for flag, count in GROUPS.items():
        small = _small(period[count], audience)
        hidden = small or not period["covered"]
        shown |= {k: None if hidden else period[k] for k in GROUP_FIELDS[count]} | {flag: small}
    return shown


async def _timeliness(session: AsyncSession, request: Request, state: PlanState, at: datetime) -> Row | None:
    """EHCP 20-week timeliness for the 24 months to `as_of` and by calendar year, as the case events
    recorded by `at` give it; None when the partnership has sent no case events."""
    end = request.as_of
    months = end.year * 12 + end.month - TIMELINESS_MONTHS  # the first month, counted from year 0
    reads = SqlAlchemyReads(await session.connection())
    common: dict[str, Any] = {"partnership_id": request.partnership_id, "end": end, "recorded_by": at}
    monthly = await report(reads, start=date(months // 12, months % 12 + 1, 1), granularity="month", **common)
    yearly = await report(reads, start=date(end.year - 2, 1, 1), granularity="year", **common)
    held = ("plans_issued", "decisions_due", "review_meetings")
    if (
        not any(p[k] for p in yearly["periods"] for k in held)
        and not yearly["backlog"]["total"]
        and not yearly["annual_reviews_overdue"]["total"]
    ):
        return None
    audience = request.audience
    targets = [m["target_value"] for m in state.rows("measure") if m["source"] == MeasureSource.ehcp_timeliness]
    backlog = yearly["backlog"]
    small = _small(backlog["total"], audience)
    return {
        "definition": DEFINITION,
        "target_pct": targets[0] if targets else None,
        "covered_from": _iso(yearly["covered_from"]),
        "months": [_suppressed(p, audience) for p in monthly["periods"]],
        "calendar_years": [_suppressed(p, audience) for p in yearly["periods"]],
        "backlog": {
            "as_of": _iso(backlog["as_of"]),
            "total": None if small else backlog["total"],
            "with_exception": None if small else backlog["with_exception"],
        },
        "annual_reviews_overdue": {
            "as_of": _iso(yearly["annual_reviews_overdue"]["as_of"]),
            "total": None if _small(yearly["annual_reviews_overdue"]["total"], audience) else yearly["annual_reviews_overdue"]["total"],
        },
    }
