"""A realistic, fictional local area for demonstrations: Wessex Vale, after an area SEND inspection.

Modelled on Dorset's story (an Ofsted/CQC inspection that found significant concerns, late EHC plans after
a 134% rise in requests and about 400 new plans a year, a SEND Delivery Group chaired by the cabinet
member, a £925,000 contingency over three financial years) but set in today's framework and dated
relative to the day it is loaded, as one story:

- the partnership, its organisations and its people, set up the morning the report was published;
- an area SEND inspection (`area_send_2023`) with outcome 3, "widespread and/or systemic failings": its
  on-site week about 19½ months ago, its report published about 17½ months ago, naming four areas for
  priority action (the report's area for improvement is for the partnership's joint SEND strategy, action
  2.2, not for this plan: a priority action plan answers the areas for priority action);
- the partnership's priority action plan: drafted in the week after the report, signed off by Cabinet
  and the ICB Board, submitted 28 working days after the report (before its deadline where
  `submission_working_days` sets one, `app.plans.calendar`), accepted a week later (about 16 months ago);
  its monitoring inspection is due 18 months after the report, within the next fortnight;
- 25 actions owned across the council, the ICB, the community trust, the parent carer forum and the
  young people's forum, each saying what it will do (`WORK`, apart from its success criteria) and on a
  written course (`Course`): most early actions done, two done late, two reprogrammed by the SEND Delivery
  Group (`ActionReprogramme` with the decision that approved it, the frozen baseline and the audit event
  dated at that meeting; both are green against their new dates and red against their baselines), a few
  slipping or overdue, each with its own reason;
- three named milestones per action, met on or before their dates while it kept to its course, met late
  or missed where it slipped, the last one moved by a reprogramme;
- monthly reports from every owner to the Delivery Group, which meets from a fortnight after the
  report, whose RAG, percentage and blockers follow the action's course (the transport review's owner
  has left, after his last report, so it has gone quiet);
- the contingency in the financial years the plan runs in, from the year Cabinet agreed it; spend recorded
  quarter by quarter against the action it paid for, while that action ran, only in quarters that have
  begun (so the summary at any quarter end shows the spend to date);
- three measures, each evidencing its own concern: the 20-week and health-advice measures aim at the
  criterion and due date of the action that answers them (the first close to its trajectory, the second
  behind, as its action is late), the parents' survey back on track after a slow start; and EHC case
  events from the first day of the month 18 months before acceptance (the case system's history; nothing
  before it, and no month is reported as covered until a year of requests precedes it): about 500
  requests and 400 new plans a year, the share issued within 20 weeks climbing from about one in seven
  towards the 90% target.

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
from app.core.auth import SYSTEM, hash_token
from app.core.config import get_settings
from app.core.reads import SqlAlchemyReads
from app.demo.governance import seed_governance
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

# (ref, kind, title, theme, the report's words), in the report's order. The plan answers the areas for priority action only:
# the report's area for improvement is taken up in the partnership's joint SEND strategy (action 2.2), not here.
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
        "APA-4",
        "area_for_priority_action",
        "Communication and co-production with families",
        "Co-production",
        "Leaders across the partnership should urgently improve how they communicate with parents and carers, and how they "
        "involve them, and children and young people, in shaping services. Many families do not know about or understand the "
        "local offer, communication about the EHC process is poor, and too many parents have lost confidence that their "
        "child's needs will be met.",
    ),
]


# What will be different for children and families under each concern, and how the partnership will know.
OUTCOMES = {
    "APA-1": (
        "Families get an EHC plan that describes their child and what they want to achieve, within 20 weeks of asking.",
        "90% of new EHC plans issued within 20 weeks (excluding exceptions); three in four plans judged good or better by the "
        "multi-agency audit.",
    ),
    "APA-2": (
        "Education, health and care leaders plan and buy services together from one shared picture of children's needs.",
        "A joint SEND strategy agreed by Cabinet and the ICB Board; therapies jointly commissioned; one performance report "
        "used by every partner.",
    ),
    "APA-3": (
        "Health advice no longer holds up EHC plans, and families waiting for an autism or ADHD assessment get help while they wait.",
        "95% of requests for health advice answered within 6 weeks; support offered to every family on the neurodevelopmental "
        "waiting list.",
    ),
    "APA-4": (
        "Parents and young people know what support there is, are told where their child's assessment has got to, and shape "
        "the services they use.",
        "60% of parents in the forum's survey confident their child's needs are met; a named contact for every family during assessment.",
    ),
}


@dataclass(frozen=True)
class Course:
    """How an action has gone. Months count from the plan's acceptance (fractions as 30-day parts); `known` is when
    its owner reported the slip to the Delivery Group (the meeting on or after that month)."""

    kind: Literal["on_plan", "done", "late", "slipping", "moved"]
    days: int = 0  # done/late: completed this many days after the due date; late/slipping: forecast this many days after it
    known: float | None = None  # late/slipping: when the forecast was set; moved: when the Delivery Group agreed the move
    moved_to: float | None = None  # moved: the new due date
    decision: int | None = None  # moved: the decision's number in that meeting's minutes
    hits: int = 3  # late/slipping: the first milestone (1 to 3) the slip delays; earlier ones were met on time


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
         "high", 0, 3, "Four additional coordinators in post; every assessment over 20 weeks allocated to one of them.", done(-12)),
    Spec(("APA-1",), "1.2", "Introduce weekly case-tracking of every open EHC needs assessment", "ehcmgr", ("data",), ("council",),
         "high", 0, 2, "Every open case reviewed weekly against its 6-, 16- and 20-week checkpoints.", done(-5)),
    Spec(("APA-1",), "1.3", "Issue 90% of new EHC plans within 20 weeks", "adsend", ("ehcmgr", "dco"), ("council", "icb"),
         "high", 1, 20, TIMELINESS_CRITERIA, ON_PLAN),
    Spec(("APA-1",), "1.4", "Establish a multi-agency EHC plan quality assurance audit", "qa", ("dco", "social"), ("council", "icb"),
         "medium", 1, 5, "Monthly audit of 10% of plans; 80% judged good or better.", Course("late", days=42, known=3.5, hits=2),
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
         Course("slipping", days=61, known=14, hits=2),
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
    Spec(("APA-4",), "4.1", "Sign a co-production charter with the parent carer forum", "pcfchair", ("adsend", "pcfvice"),
         ("pcf", "council"), "high", 0, 3, "Charter signed by the council, the ICB and the forum; reviewed annually.", done(-20)),
    Spec(("APA-4",), "4.2", "Relaunch the local offer website with families", "localoffer", ("pcfvice",), ("council", "pcf"),
         "medium", 1, 8, "Relaunched site; 70% of surveyed parents find information easily.", done(-2)),
    Spec(("APA-4",), "4.3", "Run termly 'you said, we did' engagement events", "sro", ("pcfchair", "youth"), ("council", "pcf", "youth"),
         "medium", 2, 24, "Six events held; actions published after each.", ON_PLAN),
    Spec(("APA-4",), "4.4", "Introduce a named contact for every family during assessment", "ehcmgr", (), ("council",),
         "medium", 3, 15.5, "Every family told their named contact within 5 working days of a request.",
         Course("slipping", days=28, known=15),
         "The named-contact letters need the case-management system upgrade, which slipped by four weeks; letters go out from "
         "{forecast}."),
    Spec(("APA-4",), "4.5", "Establish the young people's SEND forum as a standing advisory group", "youth", ("sro",), ("youth",),
         "low", 4, 12, "Forum meets monthly and reports to the Delivery Group each quarter.", done(-10)),
    Spec(("APA-4",), "4.6", "Run the annual parent and carer survey with the parent carer forum", "data", ("pcfchair",), ("council", "pcf"),
         "medium", 17, 20, "Survey run with 400+ responses; results published with an action plan.", ON_PLAN),
]  # fmt: skip


class Work(NamedTuple):
    """What an action will do, and its three milestones (a third of the way to its baseline due date, two thirds, and
    on it); `after_move` are the milestones a reprogramme adds (months from acceptance; None: the new due date)."""

    description: str
    milestones: tuple[str, str, str]
    after_move: tuple[tuple[str, float | None], ...] = ()


WORK = {
    "1.1": Work(
        "Fill four new EHC coordinator posts, with agency coordinators covering them until the appointments start, and work "
        "through the assessments already over 20 weeks, oldest first.",
        ("Agency coordinators covering the four new posts", "Four coordinators in post", "Every overdue assessment allocated"),
    ),
    "1.2": Work(
        "Build a tracker of every open assessment from the case system and review it each week with the team managers, "
        "chasing any case that is near a statutory deadline.",
        ("Tracker built from the case system", "Weekly case review meeting running", "Every open case tracked against its deadlines"),
    ),
    "1.3": Work(
        "Bring each step of the assessment (the decision to assess, professional advice, the draft and the final plan) back "
        "within its statutory timescale, following the monthly trajectory the Delivery Group agreed.",
        (
            "Decisions to assess made within 6 weeks for every request",
            "Every assessment tracked to a draft plan by week 16",
            "90% of new plans within 20 weeks for three consecutive months",
        ),
    ),
    "1.4": Work(
        "Set up a monthly audit in which education, health and social care auditors read a sample of new plans together "
        "against one quality framework, and feed back to the people who wrote them.",
        (
            "Quality framework agreed by education, health and social care",
            "Health and social care auditors released for audit time",
            "First joint audit of 10% of new plans reported",
        ),
    ),
    "1.5": Work(
        "Train every coordinator and educational psychologist who writes plans to set specific, measurable outcomes, with "
        "follow-up clinics and an audit of the plans they write afterwards.",
        ("Plan-writing training commissioned", "Every plan writer trained", "SMART outcomes in 85% of audited plans"),
    ),
    "1.6": Work(
        "Give coordinators the tools and the time to meet each child or young person and write their views, in their own "
        "words, into section A of the plan.",
        (
            "Section A toolkit written with the young people's forum",
            "Coordinators trained to gather children's views",
            "Section A written with the child in 90% of audited plans",
        ),
    ),
    "1.7": Work(
        "Fill the educational psychology service's vacancies, buy agency cover until they are filled, and triage requests so "
        "that psychological advice comes back within 6 weeks.",
        (
            "Agency psychologists covering the vacancies",
            "Two vacant psychologist posts advertised",
            "EP advice within 6 weeks for 95% of requests",
        ),
        after_move=(("Two newly qualified psychologists in post", 13.5), ("EP advice within 6 weeks for 95% of requests", None)),
    ),
    "2.1": Work(
        "Set up the group that oversees the plan: its membership across education, health, social care, schools and "
        "families, its terms of reference and its monthly cycle, with the cabinet member in the chair.",
        ("Members named by every partner", "Terms of reference agreed", "Monthly meetings with every partner represented"),
    ),
    "2.2": Work(
        "Write one SEND strategy for the council and the ICB with the parent carer forum, built on the needs assessment and "
        "taking in the inspection report's area for improvement, and take it through Cabinet and the ICB Board.",
        (
            "Priorities set with the parent carer forum",
            "Draft strategy consulted on with families and schools",
            "Strategy signed off by Cabinet and the ICB Board",
        ),
    ),
    "2.3": Work(
        "Bring education, health and care data on children and young people with SEND into one needs assessment, and use it "
        "to set the partnership's commissioning intentions.",
        (
            "Data shared by the council, the ICB and the trust",
            "Draft chapter reviewed by the Delivery Group",
            "JSNA chapter published; commissioning intentions set",
        ),
    ),
    "2.4": Work(
        "Pool the council's and the ICB's budgets for speech and language and occupational therapy under a section 75 "
        "agreement, and commission both services jointly from one specification.",
        ("Therapy needs and spend mapped across partners", "Section 75 agreement drafted", "Pooled therapy budget in place"),
    ),
    "2.5": Work(
        "Build a monthly dashboard from the case system, health providers' returns and the action tracker, so that the "
        "Delivery Group reviews the same figures at every meeting.",
        ("Indicators agreed with the Delivery Group", "Health providers' data in the dashboard", "Dashboard reviewed at every meeting"),
    ),
    "2.6": Work(
        "Commission an independent review of home-to-school transport for children with SEND: how eligibility is decided, "
        "the routes and what they cost, and what families and schools say about them.",
        ("Independent reviewer appointed", "Families' and schools' views gathered", "Review reported to Cabinet"),
    ),
    "2.7": Work(
        "Agree with the Schools Forum and the DfE how the high-needs block returns to balance, without reducing the support "
        "children with SEND are entitled to.",
        (
            "High-needs spend and forecast reviewed with the Schools Forum",
            "Draft recovery plan shared with the DfE",
            "Recovery plan agreed with the Schools Forum and the DfE",
        ),
    ),
    "3.1": Work(
        "Make the Designated Clinical Officer role full time in the ICB, and give the post a tracker of every request for "
        "health advice for an EHC needs assessment.",
        ("Full-time post approved by the ICB", "Designated Clinical Officer in post", "Health advice tracker in use"),
    ),
    "3.2": Work(
        "Hold every health provider to the 6-week deadline for EHC advice through its contract, with the Designated Clinical "
        "Officer chasing late advice each week and community paediatrics clearing its waiting list.",
        (
            "6-week standard written into provider contracts",
            "Therapies returning advice within 6 weeks",
            "95% of health advice returned within 6 weeks",
        ),
    ),
    "3.3": Work(
        "Redesign the neurodevelopmental pathway around a single referral route and triage, add assessment capacity, and "
        "tell every family how long they will wait.",
        (
            "Single referral route and triage in place",
            "Waiting list validated and every family contacted",
            "Median wait under 18 weeks; none over 52 weeks",
        ),
        after_move=(
            ("Independent provider assessing children on the waiting list", 14.0),
            ("Median wait under 18 weeks; none over 52 weeks", None),
        ),
    ),
    "3.4": Work(
        "With the parent carer forum, run workshops and a helpline for families waiting for an autism or ADHD assessment, "
        "so that support does not wait for a diagnosis.",
        ("Workshops designed with the parent carer forum", "Monthly workshops running", "80% of attendees rate the workshops useful"),
    ),
    "3.5": Work(
        "Train health professionals to write advice with specific health outcomes and provision, and add the health "
        "sections of plans to the joint quality audit.",
        (
            "Health standard added to the quality framework",
            "Health advisers trained in outcome-focused advice",
            "Health sections meet the standard in 85% of audited plans",
        ),
    ),
    "4.1": Work(
        "Agree with the parent carer forum how families will help design, check and change services, and what each partner "
        "commits to in return.",
        (
            "Charter drafted with the parent carer forum",
            "Charter consulted on with families",
            "Charter signed by the council, the ICB and the forum",
        ),
    ),
    "4.2": Work(
        "Rebuild the local offer website with parents testing each stage, so that families can find services, their rights "
        "and how the EHC process works.",
        ("Research with families completed", "New site tested with parents", "Relaunched site: 70% of parents find information easily"),
    ),
    "4.3": Work(
        "Hold an event each term where families and young people hear what has changed because of what they said and tell "
        "leaders what to work on next, with the resulting actions published.",
        (
            "Three termly events held; actions published",
            "Five termly events held; actions published",
            "Six events held; actions published after each",
        ),
    ),
    "4.4": Work(
        "Give every family a named officer from the day their request is received, with a letter saying who it is and how to reach them.",
        (
            "Named-contact role agreed with the parent carer forum",
            "Named contacts allocated to every open assessment",
            "Every family told their named contact within 5 working days",
        ),
    ),
    "4.5": Work(
        "Give the young people's SEND forum a standing place in the plan's governance, with a participation worker and a "
        "quarterly report to the Delivery Group.",
        ("Terms of reference written by young people", "Forum meeting monthly", "First quarterly report to the Delivery Group"),
    ),
    "4.6": Work(
        "Run the annual survey of parents and carers with the parent carer forum, publish the results and agree with the "
        "forum what changes in response.",
        ("Survey questions agreed with the forum", "Survey closed with 400 or more responses", "Results and action plan published"),
    ),
}
assert WORK.keys() == {spec.ref for spec in ACTIONS}


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
# which Cabinet agreed it (the smallest: part of a year). Spend items: (share of the year's allocation spent on it by the
# year's end, purpose, the action it pays for); each is spent while its action runs (or in the month after it ends),
# recorded quarter by quarter (`_spend`).
FUNDING = [
    (
        "93200.00",
        "interim EHC coordinators, an independent review of the assessment backlog, plan-writing training and the local offer",
        [
            (Decimal("0.45"), "Agency EHC coordinators covering the four new posts", "1.1"),
            (Decimal("0.15"), "Independent review of the EHC assessment backlog", "1.1"),
            (Decimal("0.15"), "EHC coordinator posts as the appointments start", "1.3"),
            (Decimal("0.10"), "Outcome-focused plan-writing training", "1.5"),
            (Decimal("0.10"), "Local offer website rebuild with the parent carer forum", "4.2"),
        ],
    ),
    (
        "454000.00",
        "the EHC assessment team, educational psychology, the case-management system and work with families",
        [
            (Decimal("0.50"), "EHC coordinator posts", "1.3"),
            (Decimal("0.25"), "Agency educational psychologists covering two vacant posts", "1.7"),
            (Decimal("0.06"), "Case-management system upgrade for named-contact letters", "4.4"),
            (Decimal("0.05"), "Independent review of SEND transport", "2.6"),
            (Decimal("0.04"), "Participation worker for the young people's SEND forum", "4.5"),
            (Decimal("0.03"), "Termly engagement events with families", "4.3"),
        ],
    ),
    (
        "377800.00",
        "sustaining the assessment team and educational psychology, joint commissioning of therapies and engagement with families",
        [
            (Decimal("0.50"), "EHC coordinator posts until 90% is sustained", "1.3"),
            (Decimal("0.15"), "Posts for two newly qualified educational psychologists", "1.7"),
            (Decimal("0.12"), "Legal and commissioning support for the pooled therapy budget", "2.4"),
            (Decimal("0.08"), "Termly engagement events and the parent and carer survey", "4.3"),
            (Decimal("0.05"), "Health auditors' time for the joint quality audit", "3.5"),
        ],
    ),
]
SPEND_AFTER = timedelta(days=30)  # spend on an action may be recorded up to a month after it ends (final invoices)

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
    left_on: date  # the transport review's interim owner left a few days after reporting the slip (a working day)

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
        left_on=_working_day(reported + timedelta(days=5)),
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

    # The partnership, its organisations and its people were set up the morning the report was published, before the
    # inspection was recorded and the plan drafted.
    set_up = story.at(story.published, 9)
    partnership = Partnership(
        name="Wessex Vale SEND Local Area Partnership", la_code=LA_CODE, timezone=TIMEZONE, created_at=set_up, updated_at=set_up
    )
    session.add(partnership)
    await session.flush()
    pid = partnership.id
    orgs = {
        key: Organisation(partnership_id=pid, name=name, kind=kind, created_at=set_up, updated_at=set_up)
        for key, (name, kind) in ORGANISATIONS.items()
    }
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
            created_at=set_up,
            updated_at=set_up,
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
        senior_responsible_officer_id=people["dcs"].id,
        # The programme office's monthly returns: due a week before the Delivery Group, which meets around the same day
        # of each month; the Director of Children's Services is the senior responsible officer missed returns go to.
        reporting_schedule={
            "frequency": "monthly",
            "meeting": None,
            "returns_due_working_days_before_meeting": None,
            "returns_due_day_of_month": max(1, min(28, story.meetings[-1].day - 7)),
            "reminder_working_days": [7, 2],
            "escalate_after_working_days": 3,
        },
    )
    session.add(plan)
    await session.flush()
    concerns = {}
    for ref, kind, title, theme, text in CONCERNS:
        outcome, criteria = OUTCOMES[ref]
        concerns[ref] = Concern(
            partnership_id=pid, plan_id=plan.id, ref=ref, kind=kind, title=title, verbatim_text=text, theme=theme,
            intended_outcome=outcome, success_criteria=criteria, created_at=story.at(story.drafted), updated_at=story.at(story.drafted),
        )  # fmt: skip
    session.add_all(concerns.values())
    await session.flush()

    actions: dict[str, Action] = {}
    courses: dict[str, Plotted] = {}
    changes: dict[str, list[tuple[datetime, dict[str, list[Any]]]]] = {}
    for spec in ACTIONS:
        plotted = courses[spec.ref] = _plot(spec, story)
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
            description=WORK[spec.ref].description,
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
        _milestones(session, action, plotted, spec.course.hits, story)
        owner = people[spec.owner]
        _updates(session, spec, action, plotted, reason, owner.id, story, left_on=story.left_on if spec.owner == "leaver" else None)
        _evidence(session, action, plotted, reviewer=people["sro"].id, story=story)
    await session.flush()
    _history(session, pid, plan, actions, changes, story, recorder=people["sro"].id)
    await _impact(session, pid, plan, concerns, actions, courses, story, rng)
    await seed_governance(session, plan, people, concerns, actions, story)
    leaver = people["leaver"]  # marked as left by the HR feed at the end of his last day
    leaver.active, leaver.left_on, leaver.updated_at, leaver.version = False, story.left_on, story.at(story.left_on, 18), 2
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


def _milestones(session: AsyncSession, action: Action, course: Plotted, hits: int, story: Story) -> None:
    """The action's three milestones, a third of the way to its baseline due date, two thirds and on it, as they stand
    today: met on or a few days before their dates while the action kept to its course; from milestone `hits` on, a
    slipping or late action's milestones move by its slip (met that late, or missed if that day has not come); a
    reprogramme moves the last one to the new date (and may add one on the way)."""
    span = (course.baseline - course.start).days
    slip = (course.forecast - course.baseline).days if course.forecast is not None else 0
    created = story.at(story.drafted)
    early = sum(int(d) for d in action.ref if d.isdigit())

    def add(title: str, when: date, number: int, *, final: bool, created_at: datetime, late: bool, moved: bool = False) -> None:
        met_on: date | None = None
        if moved:
            assert course.moved_at is not None
            status, changed = "reprogrammed", story.at(course.moved_at, 16)
        elif late:
            met_on = when + timedelta(days=slip)
            met_on = min(met_on, course.completed or met_on)
            if met_on < story.today:
                status, changed = "met", story.at(met_on, 15)
            elif when < story.today:  # its day has passed and the slipped date has not come
                met_on, status = None, "missed"
                changed = story.at(min(_next(story, when) or story.today, story.today - timedelta(days=1)))
            else:
                met_on, status, changed = None, "pending", created_at
        elif final and course.completed is not None:
            met_on = course.completed
            status, changed = "met", story.at(met_on, 15)
        elif when < story.today or course.completed is not None:
            met_on = max(course.start, when - timedelta(days=(early + number) % 5))
            met_on = min(met_on, course.completed or met_on)
            status, changed = "met", story.at(met_on, 15)
        else:
            status, changed = "pending", created_at
        milestone = Milestone(
            partnership_id=action.partnership_id, action_id=action.id, title=title, due_on=when, status=status, met_on=met_on,
            evidence_required=final, created_at=created_at, updated_at=max(created_at, changed),
        )  # fmt: skip
        session.add(milestone)
        if status != "pending":  # dated in the trail, so a pack for an earlier day shows it still pending
            change: dict[str, list[Any]] = {"status": ["pending", status]}
            if met_on is not None:
                change["met_on"] = [None, met_on.isoformat()]
            audit.record_many(
                session, actor=SYSTEM, entries=[audit.Entry("update", "milestone", milestone.id, action.partnership_id, change, changed)]
            )

    work = WORK[action.ref]
    for number, (title, fraction) in enumerate(zip(work.milestones, (1 / 3, 2 / 3, 1.0), strict=True), start=1):
        when = course.start + timedelta(days=int(span * fraction))
        final = number == 3
        add(
            title,
            when,
            number,
            final=final,
            created_at=created,
            late=slip > 0 and number >= hits,
            moved=final and course.moved_at is not None,
        )
    if course.moved_at is not None:
        moved = story.at(course.moved_at, 16)
        for number, (title, months) in enumerate(work.after_move, start=4):
            when = course.due if months is None else story.month(months)
            assert course.moved_at < when <= course.due, action.ref
            add(title, when, number, final=months is None, created_at=moved, late=False)


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
        note = f"Accepted by the SEND Improvement Programme Manager for the {DELIVERY_GROUP}."
        evidence = Evidence(
            partnership_id=action.partnership_id, action_id=action.id, title=f"Completion evidence for {action.ref}: {kind.replace('_', ' ')}",
            kind=kind, url=f"https://docs.wessexvale.example/send-improvement/{action.ref}/completion", evidence_on=submitted,
            review_status="accepted", reviewed_by_id=reviewer, reviewed_at=story.at(reviewed, 14), review_note=note,
            created_at=story.at(submitted, 9), updated_at=story.at(reviewed, 14),
        )  # fmt: skip
        session.add(evidence)
        review: dict[str, list[Any]] = {
            "review_status": ["submitted", "accepted"],
            "reviewed_by_id": [None, str(reviewer)],
            "reviewed_at": [None, story.at(reviewed, 14).isoformat()],
            "review_note": [None, note],
        }
        audit.record_many(
            session,
            actor=replace(SYSTEM, person_id=reviewer),
            entries=[audit.Entry("update", "evidence", evidence.id, action.partnership_id, review, story.at(reviewed, 14))],
        )
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


def _overlap(runs: tuple[date, date], first: date, last: date) -> int:
    """How many days from `first` to `last` (inclusive) fall within `runs`."""
    return max(0, (min(last, runs[1]) - max(first, runs[0])).days + 1)


def _spend(
    story: Story, courses: dict[str, Plotted], opens: date, closes: date, allocation: Decimal, items: list[tuple[Decimal, str, str]]
) -> list[tuple[date, Decimal, str, str]]:
    """A year's spend as finance recorded it: for each item, a line per quarter in which its action ran (from the
    contingency's agreement to a month after the action ended), recorded at the quarter's last working day (or when the
    spending stopped), and a line to date for the current quarter at the end of its last complete month. Each item's
    share of the allocation is spread over the days its action runs in the year (a little unevenly, as invoices are),
    so a year that has ended spent the whole share and the current year spends it as it goes. Nothing in a year or
    quarter that has not begun. (day recorded, amount, purpose, action ref)"""
    quarters = [(_months(opens, 3 * q), _months(opens, 3 * q + 3) - timedelta(days=1)) for q in range(4)]
    assert quarters[-1][1] == closes
    last_month_end = story.today.replace(day=1) - timedelta(days=1)
    lines: list[tuple[date, Decimal, str, str]] = []
    uneven = [Decimal(w) for w in ("1.00", "1.06", "0.95", "1.02")]
    for number, (share, what, ref) in enumerate(items):
        course = courses[ref]
        runs = (max(course.start, story.signed_off + timedelta(days=1)), course.end + SPEND_AFTER)
        weights = [_overlap(runs, first, last) * uneven[(number + q) % 4] for q, (first, last) in enumerate(quarters)]
        if not any(weights):
            continue  # its action does not run in this year
        budget = allocation * share / sum(weights, Decimal(0))
        for q, (first, last) in enumerate(quarters):
            upto = last if last < story.today else last_month_end  # the current quarter: to the end of last month
            if not _overlap(runs, first, upto):
                continue
            spent = (budget * _overlap(runs, first, upto) * uneven[(number + q) % 4]).quantize(Decimal("0.01"))
            begun, ended = max(first, runs[0]), min(upto, runs[1])
            recorded = max(begun, _working_day(ended))
            period = f"{begun:%B}" if begun.month == ended.month else f"{begun:%B} to {ended:%B}"
            lines.append((recorded, spent, f"{what}, {period} {ended.year}" + ("" if upto == last else " (to date)"), ref))
    return sorted(lines)


async def _impact(
    session: AsyncSession,
    pid: uuid.UUID,
    plan: Plan,
    concerns: dict[str, Concern],
    actions: dict[str, Action],
    courses: dict[str, Plotted],
    story: Story,
    rng: random.Random,
) -> None:
    """Dorset's contingency in the plan's financial years, three measures each evidencing its own concern and dated to the
    action that answers it, and the EHC case events that feed the 20-week measure."""
    # From the year Cabinet agreed it, unless that year ends within eight weeks (then from the next one).
    first_year = int(financial_year(story.signed_off + timedelta(weeks=8))[:4])
    for offset, (amount, purpose, spends) in enumerate(FUNDING):
        opens, closes = date(first_year + offset, 4, 1), date(first_year + offset + 1, 3, 31)
        year = financial_year(opens)
        allocation = Decimal(amount)
        agreed = story.at(story.signed_off, 18)
        session.add(
            FundingLine(
                partnership_id=pid, plan_id=plan.id, financial_year=year, amount=allocation, kind="allocation",
                purpose=f"Contingency agreed by Cabinet on {_long(story.signed_off)}: {purpose}", created_at=agreed, updated_at=agreed,
            )
        )  # fmt: skip
        for recorded, spent, what, ref in _spend(story, courses, opens, closes, allocation, spends):
            session.add(
                FundingLine(
                    partnership_id=pid, plan_id=plan.id, action_id=actions[ref].id, financial_year=year, amount=spent, kind="spend",
                    purpose=what, created_at=story.at(recorded, 17), updated_at=story.at(recorded, 17),
                )
            )  # fmt: skip

    created = story.at(story.drafted, 12)
    baseline_on = story.onsite.replace(day=1)
    target_on = story.month(24)
    # The health-advice measure's target is the health-advice action's (3.2) criterion on its baseline due date; the
    # 20-week measure's is the timeliness action's (1.3).
    advice_due, timeliness_due = courses["3.2"].baseline, courses["1.3"].baseline
    confidence = Measure(
        partnership_id=pid, plan_id=plan.id, name="Parents confident their child's needs are met (survey)",
        definition="Share of respondents to the parent carer forum's quarterly survey who agree or strongly agree that their "
        "child's needs are met; the baseline is the inspection's survey of parents and carers.",
        unit="percent", direction="higher_is_better", baseline_value=34.0, baseline_on=story.onsite, target_value=60.0,
        target_on=target_on, tolerance=3.0, source="survey", frequency="quarterly", created_at=created, updated_at=created,
    )  # fmt: skip
    advice = Measure(
        partnership_id=pid, plan_id=plan.id, name="Health advice for EHC needs assessments returned within 6 weeks",
        definition="Requests for health advice for EHC needs assessments (community paediatrics, therapies, mental health) "
        "answered within 6 weeks, from the Designated Clinical Officer's tracker; reported monthly through provider contracts.",
        unit="percent", direction="higher_is_better", baseline_value=48.0, baseline_on=baseline_on, target_value=95.0,
        target_on=advice_due, tolerance=5.0, source="manual", created_at=created, updated_at=created,
    )  # fmt: skip
    session.add_all([confidence, advice])
    await session.flush()
    session.add_all([
        MeasureConcern(measure_id=confidence.id, concern_id=concerns["APA-4"].id, plan_id=plan.id),
        MeasureConcern(measure_id=advice.id, concern_id=concerns["APA-3"].id, plan_id=plan.id),
    ])  # fmt: skip
    # The forum's survey (published three weeks after each quarter) lags its trajectory in the first two quarters, then
    # climbs about four points a quarter as the charter, the new local offer and the young people's forum land, and is
    # back on track within a year.
    for quarter in range(1, 9):
        start, end = story.month(3 * quarter - 3), story.month(3 * quarter) - timedelta(days=1)
        published = end + timedelta(days=21)
        if published >= story.today:
            break
        recorded = max(created, story.at(published))
        value = 34.0 + 2.5 * quarter if quarter <= 2 else 39.0 + 4.0 * (quarter - 2)
        session.add(Observation(partnership_id=pid, measure_id=confidence.id, period_start_on=start, period_end_on=end,
                                value=value, created_at=recorded, updated_at=recorded))  # fmt: skip
    # The DCO's tracker (reported ten days after each month) climbs to about 81% by the action's due date, short of its
    # 95%, while community paediatrics clears its waiting list; since then about a point and a quarter a month, so the
    # measure is behind, as the action is late.
    month = baseline_on
    while (end := _month_end(month)) + timedelta(days=10) < story.today:
        if end <= advice_due:
            returned = 48.0 + 33.0 * (end - baseline_on).days / (advice_due - baseline_on).days
        else:
            returned = 81.0 + 1.25 * (end - advice_due).days / 30
        requests = rng.randint(70, 95)  # about two requests for health advice per assessment
        within = round(min(97.0, returned + rng.uniform(-0.4, 0.4)) * requests / 100)
        recorded = max(created, story.at(end + timedelta(days=10)))
        session.add(Observation(partnership_id=pid, measure_id=advice.id, period_start_on=month, period_end_on=end,
                                value=round(100 * within / requests, 1), numerator=within, denominator=requests,
                                created_at=recorded, updated_at=recorded))  # fmt: skip
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
        baseline_value=baseline if baseline is not None else 14.0, baseline_on=baseline_on, target_value=90.0, target_on=timeliness_due,
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
    exceptions, mediations and transfers-in; events after today have not happened yet. Decisions whether to assess run
    later than 6 weeks for about a third of requests before the plan's acceptance and one in ten after it; every plan has
    its annual review (`_reviews`)."""
    events: list[CaseEventIn] = []
    slow = random.Random(6)  # apart from `rng`, so the plans and their timeliness do not change with these draws

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
            late = slow.random() < (0.35 if day < story.accepted else 0.1)
            decided = timedelta(days=slow.randint(1, 21) if late else 0)
            if rng.random() < 0.15:
                add(ref, "request_decision", day + timedelta(days=rng.randint(28, 42)) + decided, outcome="not_assess")
                continue
            add(ref, "request_decision", day + timedelta(days=rng.randint(28, 42)) + decided, outcome="assess")
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
    return events + _reviews(events, story)


def _reviews(events: list[CaseEventIn], story: Story) -> list[CaseEventIn]:
    """Each plan's annual reviews: a meeting in the weeks before its anniversary (about one in twelve held late, after
    it), and the decision notified after it, within 4 weeks for about half of reviews before the plan's acceptance and
    four in five after it; about one review in fifty ceases the plan."""
    draw = random.Random(12)
    found: list[CaseEventIn] = []
    for event in sorted((e for e in events if e.type == "final_issued"), key=lambda e: (e.occurred_on, e.case_ref)):
        anchor, number = event.occurred_on, 0
        while True:
            number += 1
            met = anchor + timedelta(days=draw.randint(330, 364) if draw.random() > 1 / 12 else draw.randint(366, 420))
            if met >= story.today:
                break
            found.append(
                CaseEventIn(event_id=f"{event.case_ref}-review-{number}", case_ref=event.case_ref, type="review_meeting", occurred_on=met)
            )
            on_time = draw.random() < (0.5 if met < story.accepted else 0.8)
            notified = met + timedelta(days=draw.randint(5, 28) if on_time else draw.randint(29, 60))
            if notified >= story.today:
                break
            outcome = "cease" if draw.random() < 0.02 else draw.choice(("maintain", "maintain", "maintain", "amend"))
            found.append(
                CaseEventIn(
                    event_id=f"{event.case_ref}-decision-{number}",
                    case_ref=event.case_ref,
                    type="review_decision",
                    occurred_on=notified,
                    outcome=outcome,
                )
            )
            if outcome == "cease":
                break
            anchor = notified
    return found


async def kept_keys(session: AsyncSession, kept: dict[str, str]) -> list[tuple[str, str]] | None:
    """The demo keys kept from an earlier start, in role order, if there is one for every role and each still works
    (held, not revoked, the demo's); else None."""
    if set(kept) != {role.value for role in Role}:
        return None
    hashes = {hash_token(token): role for role, token in kept.items()}
    live = (
        await session.execute(
            select(col(ApiKey.token_hash), col(ApiKey.role)).where(
                col(ApiKey.token_hash).in_(list(hashes)), col(ApiKey.revoked_at).is_(None), col(ApiKey.name).startswith(DEMO_KEY_PREFIX)
            )
        )
    ).all()
    if {(h, r) for h, r in live} != set(hashes.items()):
        return None
    return [(role.value, kept[role.value]) for role in Role]


async def demo_keys(session: AsyncSession, partnership_id: uuid.UUID) -> list[tuple[str, str]]:
    """One fresh key per role (shown once; a new set revokes the previous one, audited)."""
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
    programme_manager = (
        await session.execute(
            select(col(Person.id)).where(col(Person.partnership_id) == partnership_id, col(Person.display_name) == PEOPLE["sro"][0])
        )
    ).scalar_one()
    as_person = {Role.contributor: contributor, Role.lead: programme_manager}  # the lead hears of missed returns
    tokens = []
    for role in Role:
        _, token = await create_key(
            session,
            role=role,
            name=f"{DEMO_KEY_PREFIX}{role.value}",
            partnership_id=None if role is Role.admin else partnership_id,
            person_id=as_person.get(role),
        )
        tokens.append((role.value, token))
    return tokens
