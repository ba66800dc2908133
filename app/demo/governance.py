"""The demo's governance year, told from the same story as the plan (`app.demo.seed.Story`): the SEND Delivery Group's
monthly meetings with their attendance, decisions (the two reprogrammes among them) and follow-up actions; Cabinet's
quarterly reports; the DfE and NHS England stocktakes and their feedback; the risk register and its re-ratings; the
co-production log; and each concern's quarterly impact statement.

Everything recorded by the moment of loading is dated when it happened, and the changes behind today's picture
(a risk's re-ratings, a meeting action done) are in the audit trail at their dates, so a pack as of an earlier day
shows the register and the actions as they stood then.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.core import audit
from app.core.auth import SYSTEM
from app.governance.service import evidence_deadline
from app.models import (
    Action,
    ActionReprogramme,
    Board,
    Concern,
    Decision,
    DecisionAction,
    DecisionReprogramme,
    Engagement,
    EngagementAction,
    EngagementConcern,
    ImpactStatement,
    ImpactStatementMeasure,
    MeasureConcern,
    Meeting,
    MeetingAction,
    Observation,
    Person,
    Plan,
    Risk,
    RiskAction,
    RiskConcern,
    RiskRating,
)
from app.plans.calendar import working_day_on_or_after, working_day_on_or_before

if TYPE_CHECKING:
    from app.demo.seed import Story

Row = dict[str, Any]

# Each risk: (ref, title, owner, cause, consequence, target, ratings as (months after acceptance, likelihood, impact),
# mitigations as (text, status, action ref), action refs, concern refs, review: days from today (negative: overdue)).
RISKS: list[tuple[Any, ...]] = [
    (
        "R1",
        "Educational psychology capacity",
        "edpsych",
        "Two vacant posts and a national shortage of educational psychologists.",
        "Psychology advice is late, so EHC plans miss the 20-week deadline.",
        8,
        [(0, 5, 4), (5, 4, 4), (10, 3, 4)],
        [
            ("Locum educational psychologists for the backlog", "complete", "1.7"),
            ("Trainee psychologist posts from September", "in_progress", "1.7"),
        ],
        ["1.7", "1.3"],
        ["APA-1"],
        24,
    ),
    (
        "R2",
        "Requests for EHC needs assessments keep rising",
        "adsend",
        "Requests are up 134% in five years; schools see an EHC plan as the only route to support.",
        "Assessment teams cannot keep up however many coordinators are recruited.",
        12,
        [(0, 4, 4), (6, 5, 4), (12, 4, 4)],
        [("A graduated-response toolkit and SEND support funding for schools", "in_progress", None)],
        ["1.1", "1.3"],
        ["APA-1"],
        -9,
    ),
    (
        "R3",
        "Community paediatrics cannot give health advice in time",
        "dco",
        "Paediatric vacancies and the neurodevelopmental waiting list draw on the same clinicians.",
        "Health advice for assessments stays late and the health measure stays behind.",
        6,
        [(0, 4, 3), (8, 4, 4)],
        [("Business case for two more community paediatricians", "planned", "3.2")],
        ["3.2"],
        ["APA-3"],
        30,
    ),
    (
        "R4",
        "Families lose confidence before improvements show",
        "localoffer",
        "Years of late plans and poor communication.",
        "Complaints and tribunals rise; families disengage from co-production.",
        6,
        [(0, 4, 3), (6, 3, 3), (12, 2, 3)],
        [
            ("The parent carer forum's communication charter", "complete", None),
            ("Monthly 'you said, we did' bulletin", "in_progress", None),
        ],
        [],
        ["APA-4"],
        40,
    ),
    (
        "R5",
        "The High Needs Block deficit limits investment",
        "commiss",
        "A growing deficit in the dedicated schools grant's High Needs Block.",
        "Improvements the plan depends on cannot be paid for once the contingency is spent.",
        10,
        [(0, 3, 5), (6, 3, 5), (12, 3, 5)],
        [("Safety Valve discussions with the DfE", "in_progress", None)],
        [],
        ["APA-2"],
        20,
    ),
]

# Each engagement: (months after acceptance, title, participants, count, level, you said, we did, concern refs, action refs).
ENGAGEMENTS: list[tuple[Any, ...]] = [
    (0.5, "Co-production workshop on the priority action plan", ["parent_carer_forum", "parents_carers"], 34, "co_produce",
     "Nobody tells us where our child's assessment has got to, or who to call.",
     "A named contact for every family during assessment went into the plan (action 4.4), with the forum checking it lands.",
     ["APA-4", "APA-1"], ["4.4"]),
    (2, "Young people's forum: what a good EHC plan looks like", ["children_young_people"], 16, "co_design",
     "Our plans talk about us, not to us, and nobody asks what we want to do next.",
     "The 'All about me' section is now written with the young person, in their words, before the draft plan.", ["APA-1"], ["1.6"]),
    (3, "SENCO network consultation on the EHC request form", ["schools", "practitioners"], 48, "consult",
     "The request form asks for the same evidence three times.",
     "One shorter form, with the graduated-response evidence attached once.", ["APA-1"], []),
    (5, "The parent carer forum's survey of families", ["parents_carers"], 412, "consult",
     "Waiting for an autism assessment with no help in the meantime is the hardest part.",
     "Support for families while they wait went to the top of the health workstream (action 3.4).", ["APA-3", "APA-4"], ["3.4"]),
    (7, "Co-designing support for families waiting for a neurodevelopmental assessment", ["parent_carer_forum", "parents_carers", "health"],
     22, "co_design", "Workshops in the daytime exclude working parents.",
     "Evening and online sessions, recorded for families who cannot come.", ["APA-3"], ["3.4"]),
    (9, "Relaunch of the Local Offer website", ["parents_carers", "children_young_people", "parent_carer_forum"], 27, "co_produce",
     "We could not find anything on the old site.",
     "The forum and the young people's forum tested every page; the search now finds services by need, not by team name.",
     ["APA-4"], ["4.2"]),
    (12, "The forum's review of the annual progress report", ["parent_carer_forum"], 9, "consult",
     "The report reads well but does not say what is still not working.",
     "A 'what is not working yet' section in every quarterly report from this one on.", ["APA-2", "APA-4"], ["4.3"]),
    (14, "Drop-in sessions for families waiting for an EHC needs assessment", ["parents_carers"], 58, "consult",
     "Updates come, but the wait is still too long for some children.",
     "Weekly case-tracking now flags every assessment past 16 weeks to the team manager.", ["APA-1"], ["1.2"]),
]  # fmt: skip

# Each concern's quarterly self-assessment (judgement, what changed, why), from the first quarter after acceptance.
# `{figure}` and `{month}` are the concern's measure as it stood then: its latest observation by the statement's date.
IMPACT = {
    "APA-1": [
        ("insufficient_progress", "{figure} of new EHC plans were issued within 20 weeks in {month}; the backlog has stopped growing.",
         "Far below the 90% target: most families still wait longer than the law allows."),
        ("insufficient_progress", "New coordinators have joined the assessment team; {figure} of new plans were issued within 20 weeks in {month}.",
         "Rising, but below the measure's trajectory."),
        ("partial_progress", "{figure} of new plans were issued within 20 weeks in {month}; audits find plans' outcomes more specific.",
         "Close to the measure's trajectory, short of the 90% target."),
        ("partial_progress", "{figure} of new plans were issued within 20 weeks in {month}; young people write their own 'All about me' section.",
         "Near the trajectory; quality audits still find one plan in four needing improvement."),
        ("partial_progress", "{figure} of new plans were issued within 20 weeks in {month}; families tell the forum they know who to call.",
         "Better for most families, short of the 90% target."),
    ],
    "APA-2": [
        ("partial_progress", "The Delivery Group meets monthly with every partner and the parent carer forum at the table.",
         "Governance is in place; joint commissioning has not started."),
        ("partial_progress", "Partners share one SEND performance report each month; a joint strategy is being drafted with the forum.",
         "The strategy is not agreed and therapies are still commissioned separately."),
        ("partial_progress", "The draft joint strategy has been consulted on with families, schools and health.",
         "Not yet agreed; joint commissioning of therapies is still being designed."),
        ("partial_progress", "The joint SEND strategy is agreed by Cabinet and the ICB Board.",
         "Governance is effective, but joint commissioning of therapies is late."),
        ("partial_progress", "Leaders across education, health and care plan from one dashboard; families see fewer hand-offs.",
         "DfE and NHS England advisers found the governance effective; joint commissioning is still behind."),
    ],
    "APA-3": [
        ("insufficient_progress", "{figure} of requests for health advice were answered within 6 weeks in {month}; autism waits exceed 18 months.",
         "Health advice is late for too many families, and nothing supports them while they wait."),
        ("insufficient_progress", "The paediatric waiting list is shorter; {figure} of requests for health advice were answered within 6 weeks in {month}.",
         "Far short of the 95% the measure aims for; the recovery action has slipped."),
        ("insufficient_progress", "{figure} of requests for health advice were answered within 6 weeks in {month}.",
         "Still behind its measure, and support for families who wait is not yet running."),
        ("partial_progress", "Families waiting for an autism assessment now get support while they wait; {figure} of requests for health advice were answered within 6 weeks in {month}.",
         "Better, but the health advice action is late and its measure behind."),
        ("partial_progress", "{figure} of requests for health advice were answered within 6 weeks in {month}; families rate the support while they wait.",
         "The measure is still behind its 95% target: DfE and NHS England asked for a recovery plan."),
    ],
    "APA-4": [
        ("insufficient_progress", "Parents' confidence is still 34%, as the inspection's survey found; the forum's first quarterly survey is under way.",
         "The co-production charter is only just agreed."),
        ("partial_progress", "{figure} of parents in the forum's survey say their child's needs are met (quarter to {month}).",
         "Confidence is rising slowly, behind its trajectory."),
        ("partial_progress", "The new Local Offer site is live and was made with families; {figure} of parents in the survey are confident (quarter to {month}).",
         "Climbing about four points a quarter, still below target."),
        ("partial_progress", "{figure} of parents in the survey are confident (quarter to {month}); the forum reviews each quarterly report.",
         "Back on its trajectory, short of 60%."),
        ("partial_progress", "{figure} of parents in the survey are confident (quarter to {month}); the forum says families are heard.",
         "On its trajectory for two quarters, short of 60%."),
    ],
}  # fmt: skip

# Decisions the Delivery Group takes besides the month's RAG ratings, in turn; and what it asks for, of whom.
DECISIONS = [  # one every other meeting, in order, while they last
    "Agreed the recruitment of two more EHC coordinators from the contingency.",
    "Agreed to publish a 'you said, we did' bulletin each month, drafted with the parent carer forum.",
    "Asked the ICB to report monthly on health advice returned within 6 weeks.",
    "Agreed the quality assurance audit tool for EHC plans.",
    "Asked for a deep dive into requests for assessment from mainstream schools.",
    "Agreed the quarterly report to Cabinet and the ICB Board.",
]
FOLLOW_UPS = [
    ("Bring the month's EHC timeliness and health advice figures", "data"),
    ("Report on EHC coordinator recruitment", "ehcmgr"),
    ("Share the audit findings on plan quality", "qa"),
    ("Bring the waiting-list position for autism assessments", "nd"),
    ("Draft the next 'you said, we did' bulletin with the forum", "localoffer"),
    ("Report on speech and language therapy vacancies", "therapies"),
]

DELIVERY_GROUP_MEMBERS = [
    ("croney", "elected_member", "Chair"),
    ("dcs", "local_authority", "Senior responsible officer"),
    ("adsend", "local_authority", None),
    ("icbexec", "health", "ICB executive lead for SEND"),
    ("dco", "health", None),
    ("therapies", "health", None),
    ("pcfchair", "parent_carer_forum", "Co-chair of the forum"),
    ("pcfvice", "parent_carer_forum", None),
    ("youth", "young_people", None),
    ("head", "schools", None),
    ("sro", "local_authority", "Programme manager"),
]


@dataclass
class Area:
    """What the governance story is told about, and what it collects: audit events dated when the changes behind today's
    rows happened, and rows that name others, added once those are written."""

    session: AsyncSession
    plan: Plan
    people: dict[str, Person]
    concerns: dict[str, Concern]
    actions: dict[str, Action]
    story: "Story"
    history: list[audit.Entry] = field(default_factory=list)
    later: list[Any] = field(default_factory=list)

    @property
    def pid(self) -> uuid.UUID:
        return self.plan.partnership_id


async def seed_governance(
    session: AsyncSession,
    plan: Plan,
    people: dict[str, Person],
    concerns: dict[str, Concern],
    actions: dict[str, Action],
    story: "Story",
) -> None:
    area = Area(session, plan, people, concerns, actions, story)
    board = _board(area)
    members = {
        "cabinet": ("croney", "elected_member", "Cabinet Member for Education"),
        "icb_board": ("icbexec", "health", "Executive lead for SEND"),
    }
    for name, kind in (("Cabinet", "cabinet"), ("Wessex Vale ICB Board", "icb_board")):
        key, representing, role = members[kind]
        session.add(Board(
            partnership_id=area.pid, name=name, kind=kind, created_at=board.created_at, updated_at=board.created_at,
            members=[{"person_id": str(people[key].id), "representing": representing, "role": role}],
        ))  # fmt: skip
    await session.flush()
    cabinet = (await session.execute(select(Board).where(col(Board.partnership_id) == area.pid, col(Board.kind) == "cabinet"))).scalar_one()
    moves = {
        r.action_id: r
        for r in (await session.execute(select(ActionReprogramme).where(col(ActionReprogramme.partnership_id) == area.pid))).scalars()
    }
    await _delivery_group(area, moves, board)
    await _cabinet(area, cabinet)
    _stocktakes(area)
    await session.flush()
    _risks(area)
    _engagements(area)
    measures: dict[uuid.UUID, list[uuid.UUID]] = {}
    for measure_id, concern_id in await session.execute(
        select(col(MeasureConcern.measure_id), col(MeasureConcern.concern_id)).where(col(MeasureConcern.plan_id) == plan.id)
    ):
        measures.setdefault(concern_id, []).append(measure_id)
    await _impact_statements(area, measures)
    await session.flush()
    session.add_all(area.later)
    await session.flush()
    area.history.sort(key=lambda e: e.occurred_at or story.now)
    audit.record_many(session, actor=SYSTEM, entries=area.history)


def _attendee(people: dict[str, Person], key: str, representing: str, role: str | None = None) -> Row:
    return {"person_id": str(people[key].id), "name": None, "representing": representing, "role": role}


def _board(area: Area) -> Board:
    session, pid, people, story = area.session, area.pid, area.people, area.story
    formed = story.at(story.meetings[0] - timedelta(days=7))
    board = Board(
        partnership_id=pid,
        name="SEND Delivery Group",
        kind="delivery_group",
        chair_id=people["croney"].id,
        members=[{"person_id": str(people[k].id), "representing": r, "role": role} for k, r, role in DELIVERY_GROUP_MEMBERS],
        created_at=formed,
        updated_at=formed,
    )
    session.add(board)
    return board


async def _delivery_group(area: Area, moves: dict[uuid.UUID, ActionReprogramme], board: Board) -> None:
    """Every monthly meeting so far and the next one: who came, what was decided, what was asked for."""
    session, pid, plan, people, actions, story, history, later = (
        area.session,
        area.pid,
        area.plan,
        area.people,
        area.actions,
        area.story,
        area.history,
        area.later,
    )
    by_action = {a.id: ref for ref, a in actions.items()}
    dates = list(story.meetings)
    upcoming = _next_month(dates[-1])
    for number, held in enumerate([*dates, upcoming]):
        past = held < story.today
        recorded = story.at(held, 17) if past else story.at(dates[-1], 17)
        present = [("croney", "elected_member", "Chair"), ("dcs", "local_authority", None), ("adsend", "local_authority", None),
                   ("icbexec", "health", None), ("dco", "health", None), ("sro", "local_authority", "Programme manager"),
                   ("head", "schools", None)]  # fmt: skip
        apologies = []
        if number % 5 == 3:  # the forum's chair sends apologies now and then; the vice chair comes instead
            apologies.append(_attendee(people, "pcfchair", "parent_carer_forum"))
            present.append(("pcfvice", "parent_carer_forum", None))
        else:
            present.append(("pcfchair", "parent_carer_forum", "Co-chair of the forum"))
        if number % 3 == 1:
            present.append(("youth", "young_people", None))
        if number % 4 == 2:
            apologies.append(_attendee(people, "head", "schools"))
            present = [p for p in present if p[0] != "head"]
        month = f"{held:%B %Y}"
        meeting = Meeting(
            partnership_id=pid, plan_id=plan.id, board_id=board.id, kind="board", title=f"SEND Delivery Group, {month}", held_on=held,
            status="held" if past else "scheduled", attendees=[_attendee(people, *p) for p in present] if past else [],
            apologies=apologies if past else [], created_at=min(recorded, story.now), updated_at=min(recorded, story.now),
        )  # fmt: skip
        session.add(meeting)
        await session.flush()
        if not past:
            for text in ("Agree the evidence the partnership will send for the DfE and NHS England stocktake.",
                         "Agree the parent carer forum's review of the draft self-evaluation."):  # fmt: skip
                session.add(
                    Decision(
                        partnership_id=pid, meeting_id=meeting.id, text=text, status="proposed", created_at=recorded, updated_at=recorded
                    )
                )
            continue
        session.add(Decision(partnership_id=pid, meeting_id=meeting.id, text=f"Agreed the RAG ratings and exception reports for {month}.",
                             created_at=recorded, updated_at=recorded))  # fmt: skip
        if number % 2 == 1 and number // 2 < len(DECISIONS):
            session.add(Decision(partnership_id=pid, meeting_id=meeting.id, text=DECISIONS[number // 2],
                                 created_at=recorded, updated_at=recorded))  # fmt: skip
        for action_id, move in moves.items():
            if move.created_at.date() == held:
                ref = by_action[action_id]
                decision = Decision(
                    partnership_id=pid, meeting_id=meeting.id, created_at=recorded, updated_at=recorded,
                    text=f"Approved moving action {ref} from {move.previous_due_on:%-d %B %Y} to {move.new_due_on:%-d %B %Y}: {move.reason}",
                )  # fmt: skip
                session.add(decision)
                later.append(DecisionAction(decision_id=decision.id, action_id=action_id, partnership_id=pid))
                later.append(DecisionReprogramme(decision_id=decision.id, reprogramme_id=move.id, partnership_id=pid))
        following = _following(dates, number, upcoming)
        letter = _stocktake_letter(story, 11)
        if letter < held and (number == 0 or dates[number - 1] <= letter):  # the first meeting after the second stocktake's letter
            session.add(Decision(
                partnership_id=pid, meeting_id=meeting.id, created_at=recorded, updated_at=recorded,
                text="Asked the ICB for recovery plans for health advice and for joint commissioning of therapies by the next "
                "meeting, as DfE and NHS England's letter asked.",
            ))  # fmt: skip
            recovery = MeetingAction(
                partnership_id=pid, meeting_id=meeting.id, title="Recovery plan for health advice within 6 weeks", owner_id=people["dco"].id,
                due_on=working_day_on_or_before(_following(dates, number, upcoming) - timedelta(days=7)),
                status="open", created_at=recorded, updated_at=recorded,
            )  # fmt: skip
            session.add(recovery)
            assert recovery.due_on is not None
            if (brought := working_day_on_or_before(recovery.due_on - timedelta(days=2))) < story.today:
                _done(recovery, brought, story, history)
        asked, owner = FOLLOW_UPS[number % len(FOLLOW_UPS)]
        report = MeetingAction(
            partnership_id=pid, meeting_id=meeting.id, title=f"{asked} to the next meeting", owner_id=people[owner].id,
            due_on=working_day_on_or_before(following - timedelta(days=2)), status="open", created_at=recorded, updated_at=recorded,
        )  # fmt: skip
        session.add(report)
        done_on = working_day_on_or_before(following - timedelta(days=3))
        if done_on < story.today:
            _done(report, done_on, story, history)
        if number == len(dates) - 2:  # a letter to schools promised at the meeting before last, still not sent: overdue
            session.add(MeetingAction(
                partnership_id=pid, meeting_id=meeting.id, title="Write to every school about the new EHC request form",
                owner_id=people["edpsych"].id, due_on=working_day_on_or_after(held + timedelta(days=14)), status="open", created_at=recorded, updated_at=recorded,
            ))  # fmt: skip


def _done(row: MeetingAction, on: date, story: "Story", history: list[audit.Entry]) -> None:
    when = story.at(on, 16)
    row.status, row.completed_on, row.updated_at, row.version = "done", on, when, 2
    changes: dict[str, list[Any]] = {"status": ["open", "done"], "completed_on": [None, on.isoformat()]}
    history.append(audit.Entry("update", "meeting_action", row.id, row.partnership_id, changes, when))


def _following(dates: list[date], number: int, upcoming: date) -> date:
    return dates[number + 1] if number + 1 < len(dates) else upcoming


def _stocktake_letter(story: "Story", months: int) -> date:
    """When DfE and NHS England's letter after the stocktake about `months` after acceptance arrived."""
    return working_day_on_or_after(working_day_on_or_after(story.month(months) + timedelta(days=12)) + timedelta(days=14))


def _next_month(day: date) -> date:
    """The same day next month, on a working day; a December meeting is held before Christmas week."""
    year, month = divmod(day.month, 12)
    following = day.replace(year=day.year + year, month=month + 1, day=min(day.day, 28))
    if following.month == 12 and following.day > 18:
        following = following.replace(day=17)
    return working_day_on_or_after(following)


async def _cabinet(area: Area, cabinet: Board) -> None:
    session, pid, plan, people, story = area.session, area.pid, area.plan, area.people, area.story
    quarter = 3
    while (held := working_day_on_or_after(story.month(quarter) + timedelta(days=10))) < story.today:
        when = story.at(held, 19)
        meeting = Meeting(
            partnership_id=pid, plan_id=plan.id, board_id=cabinet.id, kind="board", title=f"Cabinet, {held:%B %Y}", held_on=held,
            status="held", attendees=[_attendee(people, "croney", "elected_member", "Cabinet Member"), _attendee(people, "dcs", "local_authority")],
            created_at=when, updated_at=when,
        )  # fmt: skip
        session.add(meeting)
        await session.flush()
        session.add(Decision(partnership_id=pid, meeting_id=meeting.id, created_at=when, updated_at=when,
                             text="Noted the quarterly progress report on the SEND Priority Action Plan and its exception reports."))  # fmt: skip
        quarter += 3


def _stocktakes(area: Area) -> None:
    """DfE and NHS England stocktakes about every six months, booked six weeks ahead, each held and then answered by a
    feedback letter a fortnight later; the next one is booked."""
    session, pid, plan, people, concerns, story, history = (
        area.session,
        area.pid,
        area.plan,
        area.people,
        area.concerns,
        area.story,
        area.history,
    )
    guests = [
        {"person_id": None, "name": "DfE SEND adviser", "representing": "dfe", "role": None},
        {"person_id": None, "name": "NHS England regional SEND lead", "representing": "nhs_england", "role": None},
    ]
    ours = [
        _attendee(people, "dcs", "local_authority"),
        _attendee(people, "icbexec", "health"),
        _attendee(people, "pcfchair", "parent_carer_forum"),
    ]
    outcomes = [
        {"APA-1": "insufficient_progress", "APA-2": "partial_progress", "APA-3": "insufficient_progress", "APA-4": "partial_progress"},
        {"APA-1": "partial_progress", "APA-2": "partial_progress", "APA-3": "insufficient_progress", "APA-4": "partial_progress"},
    ]
    feedback = [
        "Governance is in place and the parent carer forum is an equal partner. Timeliness of EHC plans and health advice "
        "remain the priorities; the advisers will look for evidence that the new coordinators are shortening waits.",
        "Governance is now effective and timeliness is close to its trajectory. Joint commissioning of therapies is late, and "
        "health advice is still behind: the advisers asked for a recovery plan for both before the next stocktake.",
    ]
    for number, months in enumerate((5, 11)):
        held = working_day_on_or_after(story.month(months) + timedelta(days=12))
        letter = _stocktake_letter(story, months)
        if letter >= story.today:
            break
        judged = [
            {"concern_id": str(concerns[ref].id), "outcome": outcome, "monitoring_ended": outcome == "sufficient_progress", "note": None}
            for ref, outcome in outcomes[number].items()
        ]
        meeting = Meeting(
            partnership_id=pid, plan_id=plan.id, kind="stocktake", title=f"DfE and NHS England stocktake {number + 1}", held_on=held,
            status="held", attendees=[*guests, *ours], evidence_due_on=evidence_deadline(held), feedback=feedback[number],
            feedback_received_on=letter,
            concern_outcomes=judged, created_at=story.at(held - timedelta(days=42)), updated_at=story.at(letter, 12), version=2,
        )  # fmt: skip
        session.add(meeting)
        answered: dict[str, list[Any]] = {
            "status": ["scheduled", "held"],
            "attendees": [[], meeting.attendees],
            "feedback": [None, meeting.feedback],
            "feedback_received_on": [None, letter.isoformat()],
            "concern_outcomes": [[], judged],
        }
        history.append(audit.Entry("update", "meeting", meeting.id, pid, answered, story.at(letter, 12)))
    booked = working_day_on_or_after(story.today + timedelta(days=35))
    session.add(Meeting(
        partnership_id=pid, plan_id=plan.id, kind="stocktake", title="DfE and NHS England stocktake 3", held_on=booked, status="scheduled",
        attendees=[], evidence_due_on=evidence_deadline(booked), created_at=story.at(story.meetings[-1], 9), updated_at=story.at(story.meetings[-1], 9),
    ))  # fmt: skip


def _risks(area: Area) -> None:
    session, pid, plan, people, concerns, actions, story, history, later = (
        area.session,
        area.pid,
        area.plan,
        area.people,
        area.concerns,
        area.actions,
        area.story,
        area.history,
        area.later,
    )
    for ref, title, owner, cause, consequence, target, ratings, mitigations, action_refs, concern_refs, review in RISKS:
        # Rated when recorded at the first meeting after acceptance, then re-rated at the meetings named (those held so far).
        rated = [(story.meeting(m), lk, im) for m, lk, im in ratings if story.month(m) <= story.meetings[-1]]
        last_on, now_likelihood, now_impact = rated[-1]
        first_on = rated[0][0]
        created = story.at(first_on, 15)
        risk = Risk(
            partnership_id=pid, plan_id=plan.id, ref=ref, title=title, cause=cause, consequence=consequence, owner_id=people[owner].id,
            likelihood=now_likelihood, impact=now_impact, score=now_likelihood * now_impact, target_score=target,
            mitigations=[{"text": text, "status": status, "action_id": str(actions[a].id) if a else None, "due_on": None} for text, status, a in mitigations],
            review_on=working_day_on_or_after(story.today + timedelta(days=review)), last_reviewed_on=last_on, status="open",
            created_at=created, updated_at=story.at(last_on, 15), version=len(rated),
        )  # fmt: skip
        session.add(risk)
        later.extend(RiskAction(risk_id=risk.id, action_id=actions[a].id, plan_id=plan.id) for a in action_refs)
        later.extend(RiskConcern(risk_id=risk.id, concern_id=concerns[c].id, plan_id=plan.id) for c in concern_refs)
        previous: tuple[date, int, int] | None = None
        for on, lk, im in rated:
            when = story.at(on, 15)
            later.append(RiskRating(partnership_id=pid, risk_id=risk.id, rated_on=on, likelihood=lk, impact=im, score=lk * im,
                                   target_score=target, actor_type=SYSTEM.actor_type, actor_id=SYSTEM.actor_id, created_at=when))  # fmt: skip
            if previous is not None:
                _, was_l, was_i = previous
                changes: dict[str, list[Any]] = {
                    "likelihood": [was_l, lk],
                    "impact": [was_i, im],
                    "score": [was_l * was_i, lk * im],
                    "last_reviewed_on": [previous[0].isoformat(), on.isoformat()],
                }
                history.append(audit.Entry("update", "risk", risk.id, pid, {k: v for k, v in changes.items() if v[0] != v[1]}, when))
            previous = (on, lk, im)


def _engagements(area: Area) -> None:
    session, pid, plan, concerns, actions, story, later = (
        area.session,
        area.pid,
        area.plan,
        area.concerns,
        area.actions,
        area.story,
        area.later,
    )
    for months, title, participants, count, level, said, did, refs, action_refs in ENGAGEMENTS:
        held = working_day_on_or_after(story.month(months))
        if held >= story.today:
            continue
        when = story.at(held + timedelta(days=2), 12)
        engagement = Engagement(
            partnership_id=pid, plan_id=plan.id, held_on=held, title=title, participants=participants, participant_count=count, level=level,
            you_said=said, we_did=did,
            created_at=when, updated_at=when,
        )  # fmt: skip
        session.add(engagement)
        later.extend(EngagementConcern(engagement_id=engagement.id, concern_id=concerns[r].id, plan_id=plan.id) for r in refs)
        later.extend(EngagementAction(engagement_id=engagement.id, action_id=actions[a].id, plan_id=plan.id) for a in action_refs)


async def _impact_statements(area: Area, measures: dict[uuid.UUID, list[uuid.UUID]]) -> None:
    """Each concern's self-assessment at the end of every quarter since acceptance, written in the fortnight after it,
    quoting its measure as it stood then (the latest observation for a period ended by then, recorded by then)."""
    session, pid, plan, people, concerns, story, later = (
        area.session,
        area.pid,
        area.plan,
        area.people,
        area.concerns,
        area.story,
        area.later,
    )
    authors = {"APA-1": "adsend", "APA-2": "dcs", "APA-3": "icbexec", "APA-4": "localoffer"}
    observed: dict[uuid.UUID, list[Any]] = {}
    ids = [m for ms in measures.values() for m in ms]
    rows = await session.execute(
        select(col(Observation.measure_id), col(Observation.period_end_on), col(Observation.value), col(Observation.created_at))
        .where(col(Observation.measure_id).in_(ids))
        .order_by(col(Observation.period_end_on))
    )
    for measure_id, ended, value, recorded in rows:
        observed.setdefault(measure_id, []).append((ended, value, recorded))
    for ref, stages in IMPACT.items():
        for quarter, (judgement, narrative, reason) in enumerate(stages, start=1):
            as_of = story.month(3 * quarter) - timedelta(days=1)
            written = as_of + timedelta(days=12)
            if written >= story.today:
                break
            when: datetime = story.at(written, 14)
            series = [o for m in measures.get(concerns[ref].id, []) for o in observed.get(m, []) if o[0] <= as_of and o[2] <= when]
            if "{figure}" in narrative:
                ended, value, _ = series[-1]
                narrative = narrative.format(figure=f"{value:.0f}%", month=f"{ended:%B %Y}")
                narrative = narrative[0].upper() + narrative[1:]
            statement = ImpactStatement(
                partnership_id=pid, plan_id=plan.id, concern_id=concerns[ref].id, as_of=as_of, narrative=narrative, judgement=judgement,
                judgement_reason=reason, author_id=people[authors[ref]].id, created_at=when, updated_at=when,
            )  # fmt: skip
            session.add(statement)
            later.extend(
                ImpactStatementMeasure(impact_statement_id=statement.id, measure_id=m, plan_id=plan.id)
                for m in measures.get(concerns[ref].id, [])
            )
