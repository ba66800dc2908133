"""The pack's sections beside delivery, from the same plan state (`app.progress.state`, loaded with `detail`): governance
(every meeting about the plan held by the pack's day, with its decisions and actions), the risk register, the
co-production log, what changed since an earlier date (the plan compared with itself at two moments), and, for a
meeting's pack, the meeting's own page; and the public page's count of each concern's actions.

Public packs get the co-production log ("you said, we did") only: no names, risks, internal meetings or what changed.
"""

from datetime import date
from typing import Any

from app.governance.service import forum_present, is_late
from app.models.enums import EXTERNAL_REVIEWS, Audience, DecisionStatus, MeetingActionStatus, MeetingStatus, RiskStatus
from app.plans.rag import assess
from app.progress.state import PlanState, Row
from app.risks.service import above_target, review_overdue, unmitigated

Names = dict[str, Row]


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _refs(ids: list[str] | None, refs: dict[str, str]) -> list[str]:
    return sorted(refs[i] for i in ids or [] if i in refs)


def _name(person_id: str | None, people: Names, audience: Audience) -> str | None:
    person = people.get(person_id or "")
    if person is None:
        return None
    name: str | None = person["job_title"] if audience is Audience.public else person["display_name"]
    return name


LATE = ("red", "amber")
UNDER_WAY = ("not_started", "in_progress", "suspended")


def progress(actions: list[Row]) -> Row:
    """A concern's actions as the public page counts them: done, still to finish, and of those, late or expected to be
    late against either their due date or the date first agreed (a moved date hides nothing)."""
    live = [a for a in actions if a["status"] in UNDER_WAY]
    late = sum(1 for a in live if a["rag"] in LATE or a["baseline_rag"] in LATE)
    done = sum(1 for a in actions if a["status"] == "completed")
    return {"total": len(actions), "done": done, "to_finish": len(live), "late": late, "on_time": len(live) - late}


def people_named(state: PlanState) -> set[str]:
    """Everyone the sections name: chairs are not here (boards are not in the state), members of meetings, owners."""
    ids = {a.get("person_id") for m in state.rows("meeting") for a in [*m.get("attendees", []), *m.get("apologies", [])]}
    ids |= {r.get("owner_id") for r in [*state.rows("risk"), *state.rows("meeting_action")]}
    return {i for i in ids if i}


def _attendance(entries: list[Row], people: Names, audience: Audience) -> list[Row]:
    return [
        {
            "name": entry.get("name") or _name(entry.get("person_id"), people, audience),
            "representing": entry["representing"],
            "role": entry.get("role"),
        }
        for entry in entries
    ]


def _meeting_action(row: Row, people: Names, audience: Audience, as_of: date) -> Row:
    late = is_late(row, as_of)
    return {
        "title": row["title"],
        "owner": _name(row.get("owner_id"), people, audience),
        "due_on": _iso(row.get("due_on")),
        "status": row["status"],
        "completed_on": _iso(row.get("completed_on")),
        "is_overdue": late,
    }


def _decision(row: Row, refs: dict[str, dict[str, str]]) -> Row:
    return {
        "text": row["text"],
        "status": row["status"],
        "action_refs": _refs(row.get("action_ids"), refs["action"]),
        "concern_refs": _refs(row.get("concern_ids"), refs["concern"]),
        "risk_refs": _refs(row.get("risk_ids"), refs["risk"]),
        "reprogrammes": len(row.get("reprogramme_ids") or []),
    }


def ref_maps(state: PlanState) -> dict[str, dict[str, str]]:
    return {kind: {r["id"]: r["ref"] for r in state.rows(kind)} for kind in ("action", "concern", "risk")}


def meeting_row(
    meeting: Row, state: PlanState, people: Names, audience: Audience, as_of: date, boards: dict[str, str], refs: dict[str, dict[str, str]]
) -> Row:
    concerns = refs["concern"]
    return {
        "title": meeting["title"],
        "kind": meeting["kind"],
        "board": boards.get(meeting.get("board_id") or ""),
        "held_on": _iso(meeting["held_on"]),
        "status": meeting["status"],
        "attendees": _attendance(meeting.get("attendees", []), people, audience),
        "apologies": _attendance(meeting.get("apologies", []), people, audience),
        "parent_carer_forum_present": forum_present(meeting.get("attendees", [])),
        "evidence_due_on": _iso(meeting.get("evidence_due_on")),
        "feedback": meeting.get("feedback"),
        "feedback_received_on": _iso(meeting.get("feedback_received_on")),
        "concern_outcomes": [
            {
                "concern_ref": concerns.get(o["concern_id"], ""),
                "outcome": o["outcome"],
                "monitoring_ended": o.get("monitoring_ended", False),
                "note": o.get("note"),
            }
            for o in meeting.get("concern_outcomes", [])
        ],
        "decisions": [_decision(d, refs) for d in _of_meeting(state, "decision", meeting["id"])],
        "actions": [_meeting_action(a, people, audience, as_of) for a in _of_meeting(state, "meeting_action", meeting["id"])],
    }


def _of_meeting(state: PlanState, kind: str, meeting_id: str) -> list[Row]:
    return sorted((r for r in state.rows(kind) if r["meeting_id"] == meeting_id), key=lambda r: (r["created_at"], r["id"]))


def governance(state: PlanState, people: Names, audience: Audience, as_of: date, boards: dict[str, str]) -> Row | None:
    """Meetings about the plan (or about no plan in particular) held by `as_of` (not cancelled), oldest first, with their decisions and actions; the external
    reviews and inspection to come. None for public packs."""
    if audience is Audience.public:
        return None
    refs = ref_maps(state)  # once for every meeting
    held = sorted(
        (m for m in state.rows("meeting") if m["held_on"] <= as_of and m["status"] != MeetingStatus.cancelled),
        key=lambda m: (m["held_on"], m["created_at"]),
    )
    return {
        "from_on": _iso(held[0]["held_on"]) if held else None,
        "to_on": _iso(as_of),
        "meetings": [meeting_row(m, state, people, audience, as_of, boards, refs) for m in held],
        "coming": coming(state, as_of),
    }


def risks(state: PlanState, people: Names, audience: Audience, as_of: date) -> list[Row] | None:
    """The risk register, open risks first, highest score first; each with its trend of scores. None for public packs."""
    if audience is Audience.public:
        return None
    refs = ref_maps(state)
    ratings: dict[str, list[Row]] = {}
    for rating in sorted(state.rows("risk_rating"), key=lambda r: (r["created_at"], r["id"])):
        ratings.setdefault(rating["risk_id"], []).append(rating)
    found = []
    for r in sorted(state.rows("risk"), key=lambda r: (r["status"] != RiskStatus.open, -r["score"], r["ref"])):
        trend = [x["score"] for x in ratings.get(r["id"], [])]
        found.append(
            {
                "ref": r["ref"],
                "title": r["title"],
                "cause": r.get("cause"),
                "consequence": r.get("consequence"),
                "owner": _name(r.get("owner_id"), people, audience),
                "likelihood": r["likelihood"],
                "impact": r["impact"],
                "score": r["score"],
                "target_score": r.get("target_score"),
                "above_target": above_target(r),
                "unmitigated": unmitigated(r),
                "trend": trend,
                "previous_score": trend[-2] if len(trend) > 1 else None,
                "mitigations": [{"text": m["text"], "status": m["status"], "due_on": m.get("due_on")} for m in r.get("mitigations", [])],
                "action_refs": _refs(r.get("action_ids"), refs["action"]),
                "concern_refs": _refs(r.get("concern_ids"), refs["concern"]),
                "review_on": _iso(r.get("review_on")),
                "review_overdue": review_overdue(r, as_of),
                "status": r["status"],
            }
        )
    return found


def coproduction(state: PlanState, as_of: date) -> list[Row]:
    """The engagements held by `as_of`, oldest first: who took part, how far they shaped the work, what
    they said and what was done (no names: participants are groups)."""
    refs = ref_maps(state)
    held = sorted((e for e in state.rows("engagement") if e["held_on"] <= as_of), key=lambda e: (e["held_on"], e["created_at"]))
    return [
        {
            "held_on": _iso(e["held_on"]),
            "title": e["title"],
            "participants": e.get("participants", []),
            "participant_count": e.get("participant_count"),
            "level": e["level"],
            "you_said": e.get("you_said"),
            "we_did": e.get("we_did"),
            "concern_refs": _refs(e.get("concern_ids"), refs["concern"]),
            "action_refs": _refs(e.get("action_ids"), refs["action"]),
            "signed_off": bool(e.get("signs_off_export_id") or e.get("signs_off_period_id")),
            "sign_off_note": e.get("sign_off_note"),
        }
        for e in held
    ]


def changes(then: PlanState, now: PlanState, since: date, as_of: date, red_after_days: int, window: tuple[Any, Any]) -> Row:
    """The plan compared with itself: as recorded at the end of `since` (`then`, its RAGs on that day) and at the pack's
    moment (`now`, its RAGs on `as_of`). `window` is the two moments, for append-only rows recorded between them."""
    before = {a["id"]: a for a in then.rows("action")}
    start, end = window
    new, completed, re_rated = [], [], []
    for a in sorted(now.rows("action"), key=lambda a: (a["ref"], a["id"])):
        earlier = before.get(a["id"])
        shown = {"ref": a["ref"], "title": a["title"]}
        if earlier is None:
            new.append(shown)
            continue
        if a["status"] == "completed" and earlier["status"] != "completed":
            completed.append(shown | {"completed_on": _iso(a.get("completed_on"))})
        was, is_now = assess(earlier, since, red_after_days).rag.value, assess(a, as_of, red_after_days).rag.value
        if was != is_now:
            re_rated.append(shown | {"from_rag": was, "to_rag": is_now})
    refs = {a["id"]: a["ref"] for a in now.rows("action")}
    moves = sorted((m for m in now.rows("reprogramme") if start < m["created_at"] <= end), key=lambda m: (m["created_at"], m["id"]))
    periods = {p["id"]: p for p in now.rows("reporting_period")}
    missed = sorted(
        (r for r in now.rows("action_return") if r.get("missed_at") is not None and start < r["missed_at"] <= end),
        key=lambda r: (refs.get(r["action_id"], ""), r["id"]),
    )
    risks_then = {r["id"]: r for r in then.rows("risk")}
    return {
        "since": _iso(since),
        "new_actions": new,
        "completed": completed,
        "re_rated": re_rated,
        "new_reds": [r for r in re_rated if r["to_rag"] == "red"],
        "reprogrammed": [
            {
                "ref": refs.get(m["action_id"], ""),
                "from_due_on": _iso(m["previous_due_on"]),
                "to_due_on": _iso(m["new_due_on"]),
                "reason": m["reason"],
            }
            for m in moves
        ],
        "missed_returns": [
            {
                "ref": refs.get(r["action_id"], ""),
                "period_starts_on": _iso(periods[r["period_id"]]["starts_on"]) if r["period_id"] in periods else None,
                "filed_late": r["status"] != "missed",
            }
            for r in missed
        ],
        "risks_re_rated": [
            {"ref": r["ref"], "from_score": risks_then[r["id"]]["score"], "to_score": r["score"]}
            for r in sorted(now.rows("risk"), key=lambda r: r["ref"])
            if r["id"] in risks_then and risks_then[r["id"]]["score"] != r["score"]
        ],
        "new_risks": [
            {"ref": r["ref"], "title": r["title"], "score": r["score"]}
            for r in sorted(now.rows("risk"), key=lambda r: r["ref"])
            if r["id"] not in risks_then
        ],
    }


def _outstanding(state: PlanState, meeting: Row, previous: Row | None, people: Names, audience: Audience, as_of: date) -> list[Row]:
    """Actions still open that meetings of the same body (before the previous one) asked for, oldest meeting first."""
    before = (previous or meeting)["held_on"]
    earlier = {
        m["id"]: m
        for m in state.rows("meeting")
        if m["held_on"] < before and m.get("board_id") == meeting.get("board_id") and m["id"] != meeting["id"]
    }
    still = [a for a in state.rows("meeting_action") if a["meeting_id"] in earlier and a["status"] == MeetingActionStatus.open]
    still.sort(key=lambda a: (earlier[a["meeting_id"]]["held_on"], a["created_at"], a["id"]))
    return [_meeting_action(a, people, audience, as_of) | {"meeting": earlier[a["meeting_id"]]["title"]} for a in still]


def coming(state: PlanState, as_of: date) -> list[Row]:
    """External reviews still to come, and the plan's revisit or monitoring inspection while it is due, soonest first."""
    found = [
        {"title": m["title"], "on": _iso(m["held_on"]), "evidence_due_on": _iso(m.get("evidence_due_on"))}
        for m in state.rows("meeting")
        if m["kind"] in EXTERNAL_REVIEWS and m["held_on"] > as_of and m["status"] == MeetingStatus.scheduled
    ]
    plan = next(iter(state.rows("plan")), {})
    if plan.get("revisit_due_on") is not None and plan["revisit_due_on"] >= as_of:
        found.append(
            {"title": "Ofsted and CQC revisit or monitoring inspection due", "on": _iso(plan["revisit_due_on"]), "evidence_due_on": None}
        )
    return sorted(found, key=lambda c: str(c["on"]))


def meeting_page(
    meeting: Row, previous: Row | None, state: PlanState, people: Names, audience: Audience, as_of: date, boards: dict[str, str]
) -> Row:
    """A meeting's own page: the meeting, the decisions due at it (`proposed`), the actions of the previous meeting and
    where they stand, actions of earlier meetings still open, the open risks (highest first) and what is coming up."""
    refs = ref_maps(state)
    register = risks(state, people, audience, as_of) or []
    return {
        "meeting": {
            k: v for k, v in meeting_row(meeting, state, people, audience, as_of, boards, refs).items() if k not in ("decisions", "actions")
        },
        "previous_meeting": None if previous is None else {"title": previous["title"], "held_on": _iso(previous["held_on"])},
        "decisions_due": [
            _decision(d, refs) for d in _of_meeting(state, "decision", meeting["id"]) if d["status"] == DecisionStatus.proposed
        ],
        "last_meeting_actions": []
        if previous is None
        else [_meeting_action(a, people, audience, as_of) for a in _of_meeting(state, "meeting_action", previous["id"])],
        "outstanding_actions": _outstanding(state, meeting, previous, people, audience, as_of),
        "open_risks": [r for r in register if r["status"] == RiskStatus.open],
        "coming": coming(state, as_of),
    }


def previous_meeting(state: PlanState, meeting: Row) -> Row | None:
    """The meeting before this one: of the same board, or for an external review, the review of the plan before it."""
    same = [
        m
        for m in state.rows("meeting")
        if m["id"] != meeting["id"]
        and m["held_on"] < meeting["held_on"]
        and m["status"] != MeetingStatus.cancelled
        and (m.get("board_id") == meeting.get("board_id") if meeting.get("board_id") else m["kind"] in EXTERNAL_REVIEWS)
    ]
    return max(same, key=lambda m: (m["held_on"], m["created_at"])) if same else None
