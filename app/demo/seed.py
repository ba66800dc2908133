"""A realistic, fictional local area for demonstrations: Wessex Vale, after an area SEND inspection.

Modelled on Dorset's story (an Ofsted/CQC inspection that found significant concerns, late EHC plans after
a 134% rise in requests and about 400 new plans a year, a SEND Delivery Group chaired by the cabinet
member, a £925,000 contingency over three financial years) but set in today's framework and dated
relative to the day it is loaded, as one story:

- an area SEND inspection (`area_send_2023`) with outcome 3, "widespread and/or systemic failings": its
  on-site week about 19½ months ago, its report published about 17½ months ago, naming three areas for
  priority action and one area for improvement;
- the partnership's priority action plan: drafted in the week after the report, signed off by Cabinet
  and the ICB Board, submitted 28 working days after the report (before its deadline where
  `submission_working_days` sets one, `app.plans.calendar`), accepted a week later (about 16 months ago);
  its monitoring inspection is due 18 months after the report, within the next fortnight;
- 25 actions owned across the council, the ICB, the community trust, the parent carer forum and the
  young people's forum, each on a written course (`Course`): most early actions done, two done late,
  two reprogrammed by the SEND Delivery Group (`ActionReprogramme` with the decision that approved it,
  the frozen baseline and the audit event dated at that meeting; both are green against their new
  dates and red against their baselines), a few slipping or overdue, each with its own reason;
- monthly reports from every owner to the Delivery Group, which meets from a fortnight after the
  report, whose RAG, percentage and blockers follow the action's course (the transport review's owner
  has left, so it has gone quiet);
- the contingency in the financial years the plan runs in, from the year Cabinet agreed it; spend only
  in years that have begun;
- three measures, each evidencing its own concern, and EHC case events from the first day of the month
  18 months before acceptance (the case system's history; nothing before it, and no month is reported
  as covered until a year of requests precedes it): about 500 requests and 400 new plans a year, the
  share issued within 20 weeks climbing from about one in seven towards the 90% target.

Nothing is dated after the moment of loading. Loading is idempotent (by LA code).
"""

import math
import random
import uuid
from calendar import monthrange
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.apikeys.service import create_key, revoke
from app.cases import timeliness
from app.cases.schemas import CaseEventIn
from app.cases.service import ingest, refresh_timeliness_measures
from app.core import audit
from app.core.auth import SYSTEM
from app.core.config import get_settings
from app.core.reads import SqlAlchemyReads
from app.models import (
    Action,
    ActionConcern,
    ActionContributor,
    ActionOrganisation,
    ActionReprogramme,
    ApiKey,
    CaseEvent,
    Concern,
    Evidence,
    FundingLine,
    Inspection,
    Measure,
    MeasureConcern,
    Milestone,
    Observation,
    Organisation,
    Partnership,
    Person,
    Plan,
    ProgressUpdate,
)
from app.models.enums import Role
from app.partnerships.service import today_in
from app.plans.calendar import add_working_days, is_working_day, submission_due_on
from app.plans.rag import derive

LA_CODE = "990"
DEMO_KEY_PREFIX = "demo-"
CONTRIBUTOR_EXTERNAL_ID = "HR004104"  # Tom Whitcombe, EHC Assessment Team Manager
TIMEZONE = "Europe/London"
DELIVERY_GROUP = "SEND Delivery Group"

ORGANISATIONS = {
    "council": ("Wessex Vale Council", "local_authority"),
    "icb": ("Wessex Vale Integrated Care Board", "icb"),
    "trust": ("Wessex Vale Community Health NHS Trust", "nhs_provider"),
    "pcf": ("Wessex Vale Parent Carer Forum", "parent_carer_forum"),
    "youth": ("Wessex Vale Young People's SEND Forum", "youth_forum"),
    "schools": ("Wessex Vale Schools Forum", "school_setting"),
}

# key: (display name, job title, organisation, email local part)
PEOPLE = {
    "croney": (
        "Cllr Deborah Crane",
        "Cabinet Member for Education, Learning and Skills; chair of the SEND Delivery Group",
        "council",
        "d.crane",
    ),
    "dcs": ("Helen Marsh", "Director of Children's Services", "council", "helen.marsh"),
    "adsend": ("Priya Raman", "Assistant Director, SEND and Inclusion", "council", "priya.raman"),
    "ehcmgr": ("Tom Whitcombe", "EHC Assessment Team Manager", "council", "tom.whitcombe"),
    "qa": ("Angela Fry", "SEND Quality Assurance Lead", "council", "angela.fry"),
    "commiss": ("Marcus Lyle", "Head of Joint Commissioning", "council", "marcus.lyle"),
    "data": ("Sian Pritchard", "SEND Performance and Data Manager", "council", "sian.pritchard"),
    "localoffer": ("Jo Bailey", "Local Offer and Communications Officer", "council", "jo.bailey"),
    "edpsych": ("Dr Ruth Okafor", "Principal Educational Psychologist", "council", "ruth.okafor"),
    "social": ("Gareth Penrose", "Head of Children with Disabilities Service", "council", "gareth.penrose"),
    "sro": ("Leanne Carter", "SEND Improvement Programme Manager", "council", "leanne.carter"),
    "icbexec": ("Dr Samuel Adeyemi", "ICB Executive Lead for SEND (Chief Nurse)", "icb", "samuel.adeyemi"),
    "dco": ("Karen Holt", "Designated Clinical Officer", "icb", "karen.holt"),
    "icbcomm": ("Neil Ashworth", "Children's Commissioning Manager", "icb", "neil.ashworth"),
    "nd": ("Dr Fiona Meyer", "Clinical Lead, Neurodevelopmental Pathway", "trust", "fiona.meyer"),
    "therapies": ("Rachel Dunn", "Head of Children's Therapies", "trust", "rachel.dunn"),
    "pcfchair": ("Claire Benson", "Chair, Parent Carer Forum", "pcf", "claire.benson"),
    "pcfvice": ("Imran Siddiqui", "Vice Chair, Parent Carer Forum", "pcf", "imran.siddiqui"),
    "youth": ("Maisie Cole", "Participation Worker, Young People's SEND Forum", "youth", "maisie.cole"),
    "head": ("Andrew Keane", "Headteacher representative, Schools Forum", "schools", "andrew.keane"),
    "leaver": ("Paul Greaves", "Interim Head of SEND Transport", "council", "paul.greaves"),
}

OUTCOME = (
    "There are widespread and/or systemic failings leading to significant concerns about the experiences and outcomes of "
    "children and young people with SEND, which the local area partnership must address urgently."
)

# (ref, kind, title, theme, the report's words), in the report's order: areas for priority action, then improvement.
CONCERNS = [
    (
        "APA-1",
        "area_for_priority_action",
        "Timeliness and quality of EHC needs assessments and plans",
        "EHC needs assessment",
        "Leaders across the partnership should urgently improve the timeliness of education, health and care (EHC) needs "
        "assessments. Too many EHC plans are issued well beyond the statutory 20 weeks, so children and young people wait too "
        "long for the help they need. The quality of plans is too variable: outcomes are not specific and the views of "
        "children and young people are not well captured.",
    ),
    (
        "APA-2",
        "area_for_priority_action",
        "Strategic leadership, oversight and joint commissioning",
        "Leadership and governance",
        "Leaders across education, health and care do not have a shared and accurate understanding of the experiences and "
        "outcomes of children and young people with SEND. Leaders should urgently put in place effective joint governance "
        "and oversight, and use a robust analysis of need to commission services jointly.",
    ),
    (
        "APA-3",
        "area_for_priority_action",
        "Health contribution to assessments and neurodevelopmental waiting times",
        "Health",
        "Partnership leaders, including the integrated care board, should urgently ensure that health advice for EHC needs "
        "assessments is timely and of good quality. Waiting times for neurodevelopmental (autism and ADHD) assessment are too "
        "long, and families receive too little support while they wait.",
    ),
    (
        "AfI-1",
        "area_for_improvement",
        "Communication and co-production with families",
        "Co-production",
        "Leaders should improve how they communicate with parents and carers and involve them, and children and young people, "
        "in shaping services. Families do not know about or understand the local offer well, and communication about the EHC "
        "process is poor.",
    ),
]


@dataclass(frozen=True)
class Course:
    """How an action has gone. Months count from the plan's acceptance (fractions as 30-day parts); `known` is when
    its owner reported the slip to the Delivery Group (the meeting on or after that month)."""

    kind: Literal["on_plan", "done", "late", "slipping", "moved"]
    days: int = 0  # done/late: completed this many days after the due date; late/slipping: forecast this many days after it
    known: float | None = None  # late/slipping: when the forecast was set; moved: when the Delivery Group agreed the move
    moved_to: float | None = None  # moved: the new due date
    decision: int | None = None  # moved: the decision's number in that meeting's minutes


ON_PLAN = Course("on_plan")


def done(days: int) -> Course:
    return Course("done", days=days)


class Spec(NamedTuple):
    concerns: tuple[str, ...]
    ref: str
    title: str
    owner: str
    contributors: tuple[str, ...]
    organisations: tuple[str, ...]
    priority: str
    start: float  # months from acceptance; never before the plan was drafted
    due: float
    criteria: str
    course: Course
    reason: str | None = None  # why it slipped, as its owner put it ({due}, {forecast}, {old}, {new}, {left} filled in)


TIMELINESS_CRITERIA = (
    "90% of new EHC plans issued within 20 weeks of the request, excluding cases where an exception applies (the SEN2 20-week "
    "measure excluding exceptions; cases with mediation or tribunal and transfers-in are not counted), for three consecutive months."
)

ACTIONS = [
    Spec(("APA-1",), "1.1", "Recruit additional EHC coordinators to clear the assessment backlog", "ehcmgr", ("adsend",), ("council",),
         "high", 0, 3, "Four additional coordinators in post; open assessments over 20 weeks reduced by half.", done(-12)),
    Spec(("APA-1",), "1.2", "Introduce weekly case-tracking of every open EHC needs assessment", "ehcmgr", ("data",), ("council",),
         "high", 0, 2, "Every open case reviewed weekly against its 6-, 16- and 20-week checkpoints.", done(-5)),
    Spec(("APA-1",), "1.3", "Issue 90% of new EHC plans within 20 weeks", "adsend", ("ehcmgr", "dco"), ("council", "icb"),
         "high", 1, 20, TIMELINESS_CRITERIA, ON_PLAN),
    Spec(("APA-1",), "1.4", "Establish a multi-agency EHC plan quality assurance audit", "qa", ("dco", "social"), ("council", "icb"),
         "medium", 1, 5, "Monthly audit of 10% of plans; 80% judged good or better.", Course("late", days=42, known=4),
         "Health and social care auditors could not be released until audit time was written into their job plans, so the "
         "first joint audit will run six weeks late, on {forecast}."),
    Spec(("APA-1",), "1.5", "Train all EHC plan writers in outcome-focused plan writing", "qa", ("edpsych",), ("council",),
         "medium", 2, 7, "All plan writers trained; audit shows SMART outcomes in 85% of sampled plans.", done(-3)),
    Spec(("APA-1",), "1.6", "Capture the voice of the child in every EHC plan", "edpsych", ("youth",), ("council", "youth"),
         "medium", 3, 9, "Section A written with the child or young person in 90% of audited plans.", done(-6)),
    Spec(("APA-1",), "1.7", "Reduce educational psychology advice times to within 6 weeks", "edpsych", (), ("council",),
         "high", 2, 10, "EP advice returned within 6 weeks for 95% of requests.", Course("moved", known=9, moved_to=19, decision=2),
         "Two educational psychologist posts could not be filled; agency cover runs to the end of the financial year and two "
         "trainee psychologists qualify in the summer, so the 6-week standard moves from {old} to {new}."),
    Spec(("APA-2",), "2.1", "Establish the SEND Delivery Group with a cabinet-member chair", "croney", ("dcs", "icbexec"), ("council", "icb"),
         "high", -2, 1, "Terms of reference agreed; monthly meetings with health, social care, schools and parent representatives.",
         Course("done", days=-30)),
    Spec(("APA-2",), "2.2", "Agree a joint SEND strategy across the council and the ICB", "dcs", ("icbexec", "pcfchair"),
         ("council", "icb", "pcf"), "high", 1, 8, "Strategy signed off by Cabinet and the ICB Board, co-produced with the parent carer forum.",
         Course("late", days=49, known=7),
         "The ICB Board's sign-off moved to its next meeting after the ICB's restructure; Cabinet and the ICB Board will approve "
         "the strategy by {forecast}."),
    Spec(("APA-2",), "2.3", "Publish a joint strategic needs assessment for SEND", "commiss", ("data", "icbcomm"), ("council", "icb"),
         "medium", 2, 9, "JSNA chapter published and used to set commissioning intentions.", done(-8)),
    Spec(("APA-2",), "2.4", "Set up joint commissioning arrangements for therapies", "icbcomm", ("commiss", "therapies"),
         ("icb", "trust", "council"), "high", 4, 21, "Pooled budget agreement for speech and language and occupational therapy in place.",
         Course("slipping", days=61, known=14),
         "The pooled budget needs a section 75 agreement between the council and the ICB; legal drafting will not finish "
         "before {forecast}."),
    Spec(("APA-2",), "2.5", "Build a SEND performance dashboard for the Delivery Group", "data", ("sro",), ("council",),
         "medium", 0, 4, "Monthly dashboard with 20-week timeliness, backlog and waiting times reviewed at every meeting.", done(-15)),
    Spec(("APA-2",), "2.6", "Commission an independent review of SEND transport", "leaver", (), ("council",),
         "low", 12, 19, "Review reported to Cabinet with recommendations.", Course("slipping", days=28, known=14),
         "The interim Head of SEND Transport leaves on {left}; the review's report to Cabinet waits for a new lead to be "
         "named and is now forecast for {forecast}."),
    Spec(("APA-2",), "2.7", "Agree a sustainable high-needs budget recovery plan", "dcs", ("commiss",), ("council", "schools"),
         "high", 3, 22, "Recovery plan agreed with the Schools Forum and DfE.", ON_PLAN),
    Spec(("APA-3",), "3.1", "Appoint a full-time Designated Clinical Officer", "icbexec", (), ("icb",),
         "high", -1, 2, "Full-time DCO in post with a health EHC advice tracking system.", done(-28)),
    Spec(("APA-3",), "3.2", "Return health advice for EHC assessments within 6 weeks", "dco", ("therapies", "nd"), ("icb", "trust"),
         "high", 1, 10, "95% of health advice returned within 6 weeks, monitored through provider contracts.",
         Course("slipping", days=230, known=9),
         "Community paediatrics is still clearing its waiting list, so its advice arrives late; the trust's recovery plan, "
         "agreed through the provider contract, brings 6-week returns to 95% by {forecast}."),
    Spec(("APA-3",), "3.3", "Reduce waiting times for neurodevelopmental assessment", "nd", ("icbcomm",), ("trust", "icb"),
         "high", 2, 14, "Median wait under 18 weeks; no child waiting over 52 weeks.", Course("moved", known=12, moved_to=26, decision=4),
         "Referrals to the neurodevelopmental pathway rose by a third in the year; the ICB has commissioned extra assessment "
         "capacity from an independent provider, so the 18-week median moves from {old} to {new}."),
    Spec(("APA-3",), "3.4", "Offer pre-diagnosis support to families waiting for assessment", "nd", ("pcfvice",), ("trust", "pcf"),
         "medium", 4, 11, "Support workshops running monthly; 80% of attendees rate them useful.", done(-4)),
    Spec(("APA-3", "APA-1"), "3.5", "Align health outcomes in EHC plans with the joint QA framework", "dco", ("qa",), ("icb", "council"),
         "medium", 6, 23, "Health sections meet the QA standard in 85% of audited plans.", ON_PLAN),
    Spec(("AfI-1",), "4.1", "Sign a co-production charter with the parent carer forum", "pcfchair", ("adsend", "pcfvice"),
         ("pcf", "council"), "high", 0, 3, "Charter signed by the council, the ICB and the forum; reviewed annually.", done(-20)),
    Spec(("AfI-1",), "4.2", "Relaunch the local offer website with families", "localoffer", ("pcfvice",), ("council", "pcf"),
         "medium", 1, 8, "Relaunched site; 70% of surveyed parents find information easily.", done(-2)),
    Spec(("AfI-1",), "4.3", "Run termly 'you said, we did' engagement events", "sro", ("pcfchair", "youth"), ("council", "pcf", "youth"),
         "medium", 2, 24, "Six events held; actions published after each.", ON_PLAN),
    Spec(("AfI-1",), "4.4", "Introduce a named contact for every family during assessment", "ehcmgr", (), ("council",),
         "medium", 3, 15.5, "Every family told their named contact within 5 working days of a request.",
         Course("slipping", days=28, known=15),
         "The named-contact letters need the case-management system upgrade, which slipped by six weeks; letters go out from "
         "{forecast}."),
    Spec(("AfI-1",), "4.5", "Establish the young people's SEND forum as a standing advisory group", "youth", ("sro",), ("youth",),
         "low", 4, 12, "Forum meets monthly and reports to the Delivery Group each quarter.", done(-10)),
    Spec(("AfI-1",), "4.6", "Run the annual parent and carer survey with the parent carer forum", "data", ("pcfchair",), ("council", "pcf"),
         "medium", 17, 20, "Survey run with 400+ responses; results published with an action plan.", ON_PLAN),
]  # fmt: skip

ON_TRACK = [
    "On track: {title_l} is progressing as planned ({pct}% complete).",
    "Milestones for this period met; no risks escalated ({pct}% complete).",
    "Progress reviewed with partners; evidence of impact is building ({pct}% complete).",
]
NARRATIVES = {
    "moved": "Reprogrammed by the {group} on {meeting}: now due {due}; on track against the new date ({pct}% complete).",
    "asking": "Asked the {group} to move the due date from {old} to {new}; see blockers ({pct}% complete).",
    "amber": "At risk: {title_l} is now forecast for {forecast}, after its due date of {due}; recovery agreed with the {group}.",
    "amber_overdue": "Overdue: {title_l} was due on {due} and is now forecast for {forecast}; recovery agreed with the {group}.",
    "red": "Significant slippage: {title_l} is now forecast for {forecast}, {late} days after its due date of {due}; escalated "
    "to the {group}.",
    "red_overdue": "Behind plan: {title_l} was due on {due} and is now forecast for {forecast}; escalated to the {group}.",
    "blue": "Completed on {completed}: evidence accepted for the {group}.",
    "blue_late": "Completed on {completed}, {late} days after its due date of {due}: evidence accepted for the {group}.",
}

# Dorset's contingency for its SEND improvement programme: £925,000 over three financial years, the first the one in
# which Cabinet agreed it (the smallest: part of a year). Spend lines: (share of the year's allocation spent by the
# year's end, purpose, action).
FUNDING = [
    (
        "93200.00",
        "interim EHC coordinators and an independent review of the assessment backlog",
        [(Decimal("0.77"), "Agency EHC coordinators (four posts)", "1.1"), (Decimal("0.18"), "Independent review of the EHC assessment backlog", "1.2")],
    ),
    (
        "454000.00",
        "EHC assessment team, educational psychology and health advice capacity",
        [
            (Decimal("0.58"), "EHC assessment team and commissioned educational psychology", "1.7"),
            (Decimal("0.21"), "Designated Clinical Officer and health advice capacity", "3.1"),
            (Decimal("0.09"), "Local offer relaunch with the parent carer forum", "4.2"),
        ],
    ),
    (
        "377800.00",
        "sustaining the assessment team, neurodevelopmental assessment capacity and engagement with families",
        [
            (Decimal("0.55"), "Sustaining the EHC assessment team", "1.3"),
            (Decimal("0.25"), "Additional neurodevelopmental assessment capacity", "3.3"),
            (Decimal("0.08"), "Termly engagement events and the parent and carer survey", "4.3"),
        ],
    ),
]  # fmt: skip

TIMELINESS_DEFINITION = (
    "Final EHC plans issued in the month within 20 weeks of the request, excluding cases where an exception applies (SEN2 "
    "20-week measure excluding exceptions); cases with mediation or tribunal and transfers-in are not counted."
)


def _months(start: date, months: int) -> date:
    year, month = divmod(start.month - 1 + months, 12)
    return date(start.year + year, month + 1, min(start.day, 28))


def _same_day(start: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    year, month = divmod(start.month - 1 + months, 12)
    return date(start.year + year, month + 1, min(start.day, monthrange(start.year + year, month + 1)[1]))


def _when(start: date, months: float) -> date:
    """`months` after `start`, a fraction counting as that part of 30 days."""
    whole = math.floor(months)
    return _months(start, whole) + timedelta(days=round((months - whole) * 30))


def _working_day(day: date, step: int = -1) -> date:
    """The day itself if it is a working day, else the working day before it (or after it, with `step=1`)."""
    while not is_working_day(day):
        day += timedelta(days=step)
    return day


def _long(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def financial_year(day: date) -> str:
    """The UK financial year (April to March) a day falls in, spelt like "2025/26"."""
    first = day.year if day.month >= 4 else day.year - 1
    return f"{first}/{(first + 1) % 100:02d}"


@dataclass(frozen=True)
class Story:
    """The dates every part of the demo hangs from, relative to `today`; `now` caps every timestamp."""

    today: date
    now: datetime
    onsite: date
    published: date
    drafted: date
    signed_off: date
    submission_due: date | None
    submitted: date
    accepted: date
    monitoring_due: date
    meetings: tuple[date, ...]
    cases_from: date
    left_on: date  # the transport review's interim owner left a few days after reporting the slip

    def at(self, day: date, hour: int = 10, minute: int = 0) -> datetime:
        return min(self.now, datetime.combine(day, time(hour, minute), tzinfo=UTC))

    def month(self, months: float) -> date:
        return _when(self.accepted, months)

    def meeting(self, months: float) -> date:
        """The Delivery Group meeting on or after that month."""
        on = self.month(months)
        return next(m for m in self.meetings if m >= on)


def _story(today: date, now: datetime) -> Story:
    accepted = _working_day(today - timedelta(days=487))
    published = _working_day(accepted - timedelta(days=52))
    onsite = published - timedelta(days=56)
    onsite -= timedelta(days=onsite.weekday())  # the Monday of the on-site week
    working_days = get_settings().submission_working_days
    due = submission_due_on(kind="priority_action_plan", report_published_on=published, working_days=working_days)
    days = working_days.get("priority_action_plan")
    submitted = add_working_days(published, 28 if days is None else max(1, min(28, days - 2)))
    first = published + timedelta(days=14)
    first = first.replace(day=min(first.day, 24))  # a day that stays in its month when moved to the next working day
    meetings: list[date] = []
    while (meeting := _working_day(_months(first, len(meetings)), step=1)) < today:  # monthly, never twice in a month
        meetings.append(meeting)
    leaver = next(spec for spec in ACTIONS if spec.owner == "leaver")
    assert leaver.course.known is not None
    reported = next(m for m in meetings if m >= _when(accepted, leaver.course.known))
    return Story(
        today=today,
        now=now,
        onsite=onsite,
        published=published,
        drafted=published + timedelta(days=7),
        signed_off=_working_day(submitted - timedelta(days=5)),
        submission_due=due,
        submitted=submitted,
        accepted=accepted,
        monitoring_due=_same_day(published, 18),
        meetings=tuple(meetings),
        cases_from=_months(accepted, -18).replace(day=1),
        left_on=reported + timedelta(days=5),
    )


def _decision(story: Story, meeting: date, number: int) -> str:
    return f"{DELIVERY_GROUP}, {_long(meeting)}, decision {number}"


@dataclass(frozen=True)
class Plotted:
    """An action's course in dates."""

    start: date
    baseline: date
    due: date
    status: str
    forecast: date | None = None
    reported: date | None = None  # the meeting the forecast was first reported to
    completed: date | None = None
    moved_at: date | None = None  # the meeting that agreed the move
    decision: int | None = None

    def due_at(self, day: date) -> date:
        """The due date as it stood on `day` (a move takes effect after the meeting's reports)."""
        return self.baseline if self.moved_at is None or day <= self.moved_at else self.due

    @property
    def end(self) -> date:
        """When the work finishes (or is expected to): how far through it an owner is follows this date."""
        return self.completed or self.forecast or self.due

    def forecast_at(self, day: date) -> date | None:
        return self.forecast if self.reported is not None and day >= self.reported else None


def _plot(spec: Spec, story: Story) -> Plotted:
    start = max(story.month(spec.start), story.drafted)
    baseline = story.month(spec.due)
    course = spec.course
    status = "in_progress" if start < story.today else "not_started"
    if course.kind == "done":
        completed = baseline + timedelta(days=course.days)
        assert start <= completed < story.today, spec.ref
        return Plotted(start, baseline, baseline, "completed", completed=completed)
    if course.kind in ("late", "slipping"):
        assert course.known is not None, spec.ref
        forecast = baseline + timedelta(days=course.days)
        if course.kind == "late":
            assert forecast < story.today, spec.ref
            return Plotted(start, baseline, baseline, "completed", forecast, story.meeting(course.known), completed=forecast)
        return Plotted(start, baseline, baseline, status, forecast, story.meeting(course.known))
    if course.kind == "moved":
        assert course.known is not None and course.moved_to is not None, spec.ref
        return Plotted(
            start, baseline, story.month(course.moved_to), status, moved_at=story.meeting(course.known), decision=course.decision
        )
    return Plotted(start, baseline, baseline, status)


def _reason(spec: Spec, plotted: Plotted, story: Story) -> str | None:
    if spec.reason is None:
        return None
    forecast = plotted.forecast or plotted.due
    return spec.reason.format(
        due=_long(plotted.baseline),
        forecast=_long(forecast),
        old=_long(plotted.baseline),
        new=_long(plotted.due),
        left=_long(story.left_on),
    )


async def seed_demo(session: AsyncSession, *, today: date | None = None) -> Partnership:
    existing = (await session.execute(select(Partnership).where(col(Partnership.la_code) == LA_CODE))).scalar_one_or_none()
    if existing is not None:
        return existing
    now = datetime.now(UTC)
    if today is None:
        today = today_in(TIMEZONE)
    elif today < now.date():
        now = datetime.combine(today, time(23, 59), tzinfo=UTC)
    story = _story(today, now)
    rng = random.Random(2023)

    partnership = Partnership(name="Wessex Vale SEND Local Area Partnership", la_code=LA_CODE, timezone=TIMEZONE)
    session.add(partnership)
    await session.flush()
    pid = partnership.id
    orgs = {key: Organisation(partnership_id=pid, name=name, kind=kind) for key, (name, kind) in ORGANISATIONS.items()}
    session.add_all(orgs.values())
    await session.flush()
    people = {}
    for number, (key, (name, title, org, local)) in enumerate(PEOPLE.items(), start=1):
        people[key] = Person(
            partnership_id=pid,
            external_id=f"HR{4100 + number:06d}",
            display_name=name,
            job_title=title,
            email=f"{local}@{'wessexvale.gov.example' if org == 'council' else org + '.nhs.example' if org in ('icb', 'trust') else org + '.wessexvale.example'}",
            organisation_id=orgs[org].id,
        )
    session.add_all(people.values())
    inspection = Inspection(
        partnership_id=pid,
        framework="area_send_2023",
        kind="full",
        inspectorates=["ofsted", "cqc"],
        onsite_start_on=story.onsite,
        onsite_end_on=story.onsite + timedelta(days=4),
        report_published_on=story.published,
        outcome=OUTCOME,
        report_url="https://reports.example/wessex-vale-area-send.pdf",
        created_at=story.at(story.published),
        updated_at=story.at(story.published),
    )
    session.add(inspection)
    await session.flush()
    chair = people["croney"]
    plan = Plan(
        partnership_id=pid,
        inspection_id=inspection.id,
        kind="priority_action_plan",
        title="Wessex Vale SEND Priority Action Plan",
        status="in_delivery",
        submission_due_on=story.submission_due,
        submitted_on=story.submitted,
        accepted_on=story.accepted,
        revisit_due_on=story.monitoring_due,
        governance=f"{DELIVERY_GROUP} chaired by {chair.display_name}, {PEOPLE['croney'][1].split(';')[0]}, with the ICB's executive "
        "lead for SEND, the community health trust, the parent carer forum, the young people's SEND forum and schools; it meets "
        "monthly, reports quarterly to Cabinet and the ICB Board, and prepares the evidence for the DfE and NHS England "
        f"stocktakes. Signed off by Cabinet and the ICB Board on {_long(story.signed_off)}, before submission to Ofsted and the CQC.",
        created_at=story.at(story.drafted),
        updated_at=story.at(story.accepted, 10, 5),
        version=4,  # submitted, accepted, in delivery
    )
    session.add(plan)
    await session.flush()
    concerns = {}
    for ref, kind, title, theme, text in CONCERNS:
        concerns[ref] = Concern(
            partnership_id=pid, plan_id=plan.id, ref=ref, kind=kind, title=title, verbatim_text=text, theme=theme,
            created_at=story.at(story.drafted), updated_at=story.at(story.drafted),
        )  # fmt: skip
    session.add_all(concerns.values())
    await session.flush()

    actions: dict[str, Action] = {}
    changes: dict[str, list[tuple[datetime, dict[str, list[Any]]]]] = {}
    for spec in ACTIONS:
        plotted = _plot(spec, story)
        reason = _reason(spec, plotted, story)
        changes[spec.ref] = _action_changes(plotted, reason, story)
        action = Action(
            partnership_id=pid,
            plan_id=plan.id,
            ref=spec.ref,
            title=spec.title,
            owner_id=people[spec.owner].id,
            priority=spec.priority,
            status=plotted.status,
            planned_start_on=plotted.start,
            due_on=plotted.due,
            baseline_due_on=plotted.baseline,
            forecast_on=plotted.forecast,
            completed_on=plotted.completed,
            success_criteria=spec.criteria,
            description=f"Part of the answer to {', '.join(spec.concerns)}. {spec.criteria}",
            created_at=story.at(story.drafted),
            updated_at=changes[spec.ref][-1][0],
            version=1 + len(changes[spec.ref]),
        )
        session.add(action)
        await session.flush()
        actions[spec.ref] = action
        session.add_all(ActionConcern(action_id=action.id, concern_id=concerns[c].id, plan_id=plan.id) for c in spec.concerns)
        session.add_all(ActionContributor(action_id=action.id, person_id=people[p].id, partnership_id=pid) for p in spec.contributors)
        session.add_all(ActionOrganisation(action_id=action.id, organisation_id=orgs[o].id, partnership_id=pid) for o in spec.organisations)
        if plotted.moved_at is not None:
            assert reason is not None and plotted.decision is not None, spec.ref
            session.add(
                ActionReprogramme(
                    partnership_id=pid, action_id=action.id, previous_due_on=plotted.baseline, new_due_on=plotted.due,
                    baseline_due_on=plotted.baseline, reason=reason, approved_at_meeting=_decision(story, plotted.moved_at, plotted.decision),
                    actor_type=SYSTEM.actor_type, actor_id=SYSTEM.actor_id, person_id=people["sro"].id,
                    created_at=story.at(plotted.moved_at, 16),
                )
            )  # fmt: skip
        _milestones(session, action, plotted, story)
        owner = people[spec.owner]
        _updates(session, spec, action, plotted, reason, owner.id, story, left_on=story.left_on if spec.owner == "leaver" else None)
        _evidence(session, action, plotted, reviewer=people["sro"].id, story=story)
    await session.flush()
    _history(session, pid, plan, actions, changes, story, recorder=people["sro"].id)
    await _impact(session, pid, plan, concerns, actions, story, rng)
    people["leaver"].active = False
    people["leaver"].left_on = story.left_on
    audit.record(
        session,
        actor=SYSTEM,
        action="create",
        entity_type="partnership",
        entity_id=pid,
        partnership_id=pid,
        changes={"name": [None, partnership.name], "source": [None, "demo data"]},
    )
    return partnership


def _action_changes(course: Plotted, reason: str | None, story: Story) -> list[tuple[datetime, dict[str, list[Any]]]]:
    """An action's updates after it was drafted, dated when they happened: the baseline frozen at acceptance, its
    start, the forecast its owner reported, the Delivery Group's reprogramme and its completion."""
    changes: list[tuple[datetime, dict[str, list[Any]]]] = [(story.at(story.accepted, 10, 1), {"baseline_due_on": [None, course.baseline]})]
    if course.status != "not_started":
        changes.append((story.at(course.start, 11), {"status": ["not_started", "in_progress"]}))
    if course.forecast is not None and course.reported is not None:
        changes.append((story.at(course.reported), {"forecast_on": [None, course.forecast]}))
    if course.moved_at is not None and course.decision is not None:
        approval = _decision(story, course.moved_at, course.decision)
        moved: dict[str, list[Any]] = {
            "due_on": [course.baseline, course.due],
            "reprogramme_reason": [None, reason],
            "reprogramme_approved_at_meeting": [None, approval],
        }
        changes.append((story.at(course.moved_at, 16), moved))
    if course.completed is not None:
        changes.append((story.at(course.completed, 12), {"status": ["in_progress", "completed"], "completed_on": [None, course.completed]}))
    return sorted(changes, key=lambda change: change[0])


def _history(
    session: AsyncSession,
    pid: uuid.UUID,
    plan: Plan,
    actions: dict[str, Action],
    changes: dict[str, list[tuple[datetime, dict[str, list[Any]]]]],
    story: Story,
    *,
    recorder: uuid.UUID,
) -> None:
    """The changes behind today's picture in the audit trail, dated when they happened, so a summary or pack `as_of` an
    earlier day shows the plan as it stood then: the plan's submission and acceptance, and each action's changes (a
    reprogramme recorded by the programme manager)."""
    plan_changes: list[tuple[datetime, dict[str, list[Any]]]] = [
        (story.at(story.submitted), {"status": ["draft", "submitted"], "submitted_on": [None, story.submitted]}),
        (story.at(story.accepted), {"status": ["submitted", "accepted"], "accepted_on": [None, story.accepted]}),
        (story.at(story.accepted, 10, 5), {"status": ["accepted", "in_delivery"]}),
    ]
    entries = [(when, "", audit.Entry("update", "plan", plan.id, pid, change, when)) for when, change in plan_changes]
    reprogrammes: list[audit.Entry] = []
    for ref, action in actions.items():
        for when, change in changes[ref]:
            entry = audit.Entry("update", "action", action.id, pid, change, when)
            if "due_on" in change:
                reprogrammes.append(entry)
            else:
                entries.append((when, ref, entry))
    entries.sort(key=lambda e: (e[0], e[1]))
    audit.record_many(session, actor=SYSTEM, entries=[entry for _, _, entry in entries])
    audit.record_many(session, actor=replace(SYSTEM, person_id=recorder), entries=reprogrammes)


def _milestones(session: AsyncSession, action: Action, course: Plotted, story: Story) -> None:
    """Three checkpoints up to the baseline due date; a reprogramme moves the last one to the new date."""
    span = (course.baseline - course.start).days
    created = story.at(story.drafted)
    yesterday = story.today - timedelta(days=1)
    for number, fraction in enumerate((1 / 3, 2 / 3, 1.0), start=1):
        when = course.start + timedelta(days=int(span * fraction))
        final = number == 3
        met_on: date | None = None
        if final and course.moved_at is not None:
            status, changed = "reprogrammed", story.at(course.moved_at, 16)
        elif course.completed is not None:
            met_on = course.completed if final else min(when + timedelta(days=3), course.completed)
            status, changed = "met", story.at(met_on)
        elif when < story.today and not final:
            met_on = min(when + timedelta(days=3), yesterday)
            status, changed = "met", story.at(met_on)
        elif when < story.today:
            status, changed = "missed", story.at(min(when + timedelta(days=1), yesterday))
        else:
            status, changed = "pending", created
        session.add(
            Milestone(
                partnership_id=action.partnership_id, action_id=action.id, title=f"{['First', 'Second', 'Final'][number - 1]} checkpoint: {action.ref}",
                due_on=when, status=status, met_on=met_on, evidence_required=final, created_at=created, updated_at=changed,
            )
        )  # fmt: skip
    if course.moved_at is not None:
        moved = story.at(course.moved_at, 16)
        session.add(
            Milestone(
                partnership_id=action.partnership_id, action_id=action.id, title=f"Final checkpoint (reprogrammed): {action.ref}",
                due_on=course.due, status="pending", evidence_required=True, created_at=moved, updated_at=moved,
            )
        )  # fmt: skip


def _updates(
    session: AsyncSession,
    spec: Spec,
    action: Action,
    course: Plotted,
    reason: str | None,
    author_id: uuid.UUID,
    story: Story,
    *,
    left_on: date | None,
) -> None:
    """The owner's report to each Delivery Group meeting: the RAG the action had that day (by the due date and forecast
    as they then stood), how far through it was, and, when amber or red, why."""
    title_l = action.title[0].lower() + action.title[1:]
    words = {"group": DELIVERY_GROUP, "title_l": title_l}
    for number, meeting in enumerate(story.meetings):
        if meeting < course.start:
            continue
        if left_on is not None and meeting > left_on:
            break  # the owner has left; nobody has reported since
        due, forecast = course.due_at(meeting), course.forecast_at(meeting)
        blockers = None
        if course.completed is not None and course.completed <= meeting:
            late = (course.completed - course.baseline).days
            key = "blue_late" if late > 0 else "blue"
            rag, pct = "blue", 100
            narrative = NARRATIVES[key].format(**words, completed=_long(course.completed), late=late, due=_long(course.baseline))
        else:
            health = derive(status="in_progress", planned_start_on=course.start, due_on=due, forecast_on=forecast, today=meeting)
            pct = min(90, max(0, round(100 * (meeting - course.start).days / max(1, (course.end - course.start).days))))
            rag = health.rag.value
            filled = {**words, "due": _long(due), "forecast": _long(forecast or due), "pct": pct}
            if meeting == course.moved_at:
                rag, narrative = "amber", NARRATIVES["asking"].format(**filled, old=_long(course.baseline), new=_long(course.due))
            elif rag == "green" and course.moved_at is not None and meeting > course.moved_at and meeting == _next(story, course.moved_at):
                narrative = NARRATIVES["moved"].format(**filled, meeting=_long(course.moved_at))
            elif rag == "green":
                narrative = ON_TRACK[number % 3].format(**filled)
            else:
                key = f"{rag}_overdue" if health.is_overdue else rag
                narrative = NARRATIVES[key].format(**filled, late=(forecast - due).days if forecast else 0)
            if rag in ("amber", "red"):
                assert reason is not None, f"{spec.ref} is {rag} on {meeting} without a reason"
                blockers = reason
        session.add(
            ProgressUpdate(
                partnership_id=action.partnership_id, action_id=action.id, author_id=author_id, rag=rag, narrative=narrative,
                percent_complete=pct, blockers=blockers, created_at=story.at(meeting), updated_at=story.at(meeting),
            )
        )  # fmt: skip
        if rag == "blue":
            break


def _next(story: Story, meeting: date) -> date | None:
    return next((m for m in story.meetings if m > meeting), None)


EVIDENCE_KINDS = ["minutes", "document", "data_extract", "audit", "coproduction_record"]


def _evidence(session: AsyncSession, action: Action, course: Plotted, *, reviewer: uuid.UUID, story: Story) -> None:
    """Completed actions carry evidence accepted before completion; the EHC timeliness action also holds a case study locally."""
    if course.completed is not None:
        kind = EVIDENCE_KINDS[int(action.ref.replace(".", "")) % len(EVIDENCE_KINDS)]
        submitted = max(course.start, course.completed - timedelta(days=10))
        reviewed = max(submitted, course.completed - timedelta(days=3))
        session.add(
            Evidence(
                partnership_id=action.partnership_id, action_id=action.id, title=f"Completion evidence for {action.ref}: {kind.replace('_', ' ')}",
                kind=kind, url=f"https://docs.wessexvale.example/send-improvement/{action.ref}/completion", evidence_on=submitted,
                review_status="accepted", reviewed_by_id=reviewer, reviewed_at=story.at(reviewed, 14),
                review_note=f"Accepted by the SEND Improvement Programme Manager for the {DELIVERY_GROUP}.", created_at=story.at(submitted, 9),
                updated_at=story.at(reviewed, 14),
            )
        )  # fmt: skip
    if action.ref == "1.3" and course.start < story.today:
        session.add(
            Evidence(
                partnership_id=action.partnership_id, action_id=action.id, title="Case study: a family's experience of the new EHC process",
                kind="case_study", url="https://docs.wessexvale.example/restricted/case-studies/ehc-2", contains_personal_data=True,
                evidence_on=course.start, created_at=story.at(course.start, 15), updated_at=story.at(course.start, 15),
            )
        )  # fmt: skip


def _month_end(first: date) -> date:
    return _months(first.replace(day=1), 1) - timedelta(days=1)


async def _impact(
    session: AsyncSession,
    pid: uuid.UUID,
    plan: Plan,
    concerns: dict[str, Concern],
    actions: dict[str, Action],
    story: Story,
    rng: random.Random,
) -> None:
    """Dorset's contingency in the plan's financial years, three measures each evidencing its own concern, and the EHC
    case events that feed the 20-week measure."""
    # From the year Cabinet agreed it, unless that year ends within eight weeks (then from the next one).
    first_year = int(financial_year(story.signed_off + timedelta(weeks=8))[:4])
    for offset, (amount, purpose, spends) in enumerate(FUNDING):
        opens, closes = date(first_year + offset, 4, 1), date(first_year + offset + 1, 3, 31)
        year = financial_year(opens)
        allocation = Decimal(amount)
        session.add(
            FundingLine(
                partnership_id=pid, plan_id=plan.id, financial_year=year, amount=allocation, kind="allocation",
                purpose=f"Contingency agreed by Cabinet on {_long(story.signed_off)}: {purpose}", created_at=story.at(story.signed_off, 18),
            )
        )  # fmt: skip
        if opens >= story.today:
            continue  # no spend in a year that has not begun
        over = closes < story.today
        share_of_year = Decimal(1) if over else Decimal((story.today - opens).days) / Decimal(365)
        recorded = story.at(closes + timedelta(days=45)) if over else story.at(story.meetings[-1], 12)
        for share, what, ref in spends:
            spent = (allocation * share * share_of_year).quantize(Decimal("0.01"))
            session.add(
                FundingLine(
                    partnership_id=pid, plan_id=plan.id, action_id=actions[ref].id, financial_year=year, amount=spent, kind="spend",
                    purpose=what if over else f"{what} (to date)", created_at=recorded,
                )
            )  # fmt: skip

    created = story.at(story.drafted, 12)
    baseline_on = story.onsite.replace(day=1)
    target_on = story.month(24)
    confidence = Measure(
        partnership_id=pid, plan_id=plan.id, name="Parents confident their child's needs are met (survey)",
        definition="Share of respondents to the parent carer forum's quarterly survey who agree or strongly agree that their "
        "child's needs are met; the baseline is the inspection's survey of parents and carers.",
        unit="percent", direction="higher_is_better", baseline_value=34.0, baseline_on=story.onsite, target_value=60.0,
        target_on=target_on, tolerance=3.0, source="survey", frequency="quarterly", created_at=created,
    )  # fmt: skip
    advice = Measure(
        partnership_id=pid, plan_id=plan.id, name="Health advice for EHC needs assessments returned within 6 weeks",
        definition="Requests for health advice for EHC needs assessments (community paediatrics, therapies, mental health) "
        "answered within 6 weeks, from the Designated Clinical Officer's tracker; reported monthly through provider contracts.",
        unit="percent", direction="higher_is_better", baseline_value=48.0, baseline_on=baseline_on, target_value=95.0,
        target_on=target_on, tolerance=4.0, source="manual", created_at=created,
    )  # fmt: skip
    session.add_all([confidence, advice])
    await session.flush()
    session.add_all([
        MeasureConcern(measure_id=confidence.id, concern_id=concerns["AfI-1"].id, plan_id=plan.id),
        MeasureConcern(measure_id=advice.id, concern_id=concerns["APA-3"].id, plan_id=plan.id),
    ])  # fmt: skip
    # The forum's survey improves but lags its trajectory (published three weeks after each quarter).
    for quarter in range(1, 9):
        start, end = story.month(3 * quarter - 3), story.month(3 * quarter) - timedelta(days=1)
        published = end + timedelta(days=21)
        if published >= story.today:
            break
        session.add(Observation(partnership_id=pid, measure_id=confidence.id, period_start_on=start, period_end_on=end,
                                value=34.0 + 2.5 * quarter, created_at=max(created, story.at(published))))  # fmt: skip
    # The DCO's tracker runs ahead of its trajectory, short of 95% (reported ten days after each month).
    month = baseline_on
    while (end := _month_end(month)) + timedelta(days=10) < story.today:
        elapsed = (month.year - baseline_on.year) * 12 + month.month - baseline_on.month
        returned = min(97.0, 48.0 + 40.0 * elapsed / 19.5 + rng.uniform(-1.5, 1.5))
        requests = rng.randint(30, 45)
        within = round(returned * requests / 100)
        session.add(Observation(partnership_id=pid, measure_id=advice.id, period_start_on=month, period_end_on=end,
                                value=round(100 * within / requests, 1), numerator=within, denominator=requests,
                                created_at=max(created, story.at(end + timedelta(days=10)))))  # fmt: skip
        month = end + timedelta(days=1)
    await session.flush()

    await ingest(session, actor=SYSTEM, settings=get_settings(), partnership_id=pid, events=_case_events(story, rng), refresh=False)
    # The case system sends each event the day after it happens, so the past reads as it was recorded then.
    sent = (await session.execute(select(col(CaseEvent.id), col(CaseEvent.occurred_on)).where(col(CaseEvent.partnership_id) == pid))).all()
    await session.execute(
        update(CaseEvent).execution_options(synchronize_session=False),
        [{"id": i, "received_at": story.at(on + timedelta(days=1))} for i, on in sent],
    )
    found = await timeliness.report(
        SqlAlchemyReads(await session.connection()), partnership_id=pid, start=baseline_on, end=_month_end(baseline_on), granularity="month"
    )
    baseline = found["periods"][0]["pct_within_20_weeks_excl_exceptions"]
    measured = Measure(
        partnership_id=pid, plan_id=plan.id, name="New EHC plans issued within 20 weeks (excluding exceptions)",
        definition=TIMELINESS_DEFINITION, unit="percent", direction="higher_is_better",
        baseline_value=baseline if baseline is not None else 14.0, baseline_on=baseline_on, target_value=90.0, target_on=target_on,
        tolerance=5.0, source="ehcp_timeliness",
        trajectory=[{"on": story.month(6).isoformat(), "value": 50.0}, {"on": story.month(12).isoformat(), "value": 70.0}],
        created_at=created,
    )  # fmt: skip
    session.add(measured)
    await session.flush()
    session.add(MeasureConcern(measure_id=measured.id, concern_id=concerns["APA-1"].id, plan_id=plan.id))
    await session.flush()
    await refresh_timeliness_measures(
        session,
        actor=SYSTEM,
        partnership_id=pid,
        today=story.today,
        recorded=lambda end: max(created, story.at(end + timedelta(days=5))),
    )


def _on_time_share(due: date, accepted: date) -> float:
    """The chance that a plan due on `due` is issued within 20 weeks: about one in seven until the partnership's work
    began after the report, then climbing to 72% a year after acceptance and on towards 90%."""
    began, year = accepted - timedelta(days=60), accepted + timedelta(days=365)
    if due <= began:
        return 0.14
    if due <= year:
        return 0.14 + 0.58 * (due - began).days / (year - began).days
    return min(0.9, 0.72 + 0.18 * (due - year).days / 365)


def _case_events(story: Story, rng: random.Random) -> list[CaseEventIn]:
    """The case system's events from `story.cases_from` (none before it): one to three requests each working day
    (about 500 a year), of which about 85% are assessed and most end in a plan (about 400 a year), with a few
    exceptions, mediations and transfers-in; events after today have not happened yet."""
    events: list[CaseEventIn] = []

    def add(ref: str, kind: str, on: date, **extra: Any) -> None:
        if on < story.today:
            events.append(CaseEventIn(event_id=f"{ref}-{kind}", case_ref=ref, type=kind, occurred_on=on, **extra))

    number = 0
    day = story.cases_from
    while day < story.today:
        if not is_working_day(day):
            day += timedelta(days=1)
            continue
        for _ in range(rng.choice((1, 2, 2, 3))):
            number += 1
            ref = f"WV-{day.year}-{number:05d}"
            add(ref, "request_received", day)
            if rng.random() < 0.15:
                add(ref, "request_decision", day + timedelta(days=rng.randint(28, 42)), outcome="not_assess")
                continue
            add(ref, "request_decision", day + timedelta(days=rng.randint(28, 42)), outcome="assess")
            if rng.random() < 0.04:
                add(ref, "assessment_decision", day + timedelta(days=rng.randint(98, 112)), outcome="not_issue")
                continue
            exception = rng.random() < 0.06
            if exception:
                add(ref, "exception", day + timedelta(days=rng.randint(42, 70)), reason=rng.choice("abcd"))
            if rng.random() < 0.03:
                add(ref, "mediation", day + timedelta(days=rng.randint(60, 90)))
            if exception:
                days = rng.randint(150, 230)
            elif rng.random() < _on_time_share(day + timedelta(days=140), story.accepted):
                days = rng.randint(98, 140)
            else:
                days = min(300, 141 + int(rng.expovariate(1 / 45)))
            final = day + timedelta(days=days)
            draft = final - timedelta(days=rng.randint(15, 21))
            add(ref, "assessment_decision", draft - timedelta(days=rng.randint(1, 7)), outcome="issue")
            add(ref, "draft_issued", draft)
            add(ref, "final_issued", final)
        if rng.random() < 0.1:  # about two plans a month transferred in from other areas
            number += 1
            ref = f"WV-{day.year}-{number:05d}"
            add(ref, "transfer_in", day)
            add(ref, "final_issued", day + timedelta(days=rng.randint(20, 45)))
        day += timedelta(days=1)
    return events


async def demo_keys(session: AsyncSession, partnership_id: uuid.UUID) -> list[tuple[str, str]]:
    """One fresh key per role (shown once, so each start revokes the previous set, audited)."""
    stale = (
        await session.execute(select(col(ApiKey.id)).where(col(ApiKey.name).startswith(DEMO_KEY_PREFIX), col(ApiKey.revoked_at).is_(None)))
    ).scalars()
    for key_id in list(stale):
        await revoke(session, actor=SYSTEM, key_id=key_id)
    contributor = (
        await session.execute(
            select(col(Person.id)).where(col(Person.partnership_id) == partnership_id, col(Person.external_id) == CONTRIBUTOR_EXTERNAL_ID)
        )
    ).scalar_one()
    tokens = []
    for role in Role:
        _, token = await create_key(
            session,
            role=role,
            name=f"{DEMO_KEY_PREFIX}{role.value}",
            partnership_id=None if role is Role.admin else partnership_id,
            person_id=contributor if role is Role.contributor else None,
        )
        tokens.append((role.value, token))
    return tokens
