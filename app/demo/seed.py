"""A realistic, fictional local area for demonstrations: Wessex Vale.

Modelled on the Dorset case (a 2017 joint Ofsted/CQC inspection that found significant weaknesses,
late EHC plans after a 134% rise in requests, a SEND Delivery Group chaired by a cabinet member):
four areas of significant weakness, a Written Statement of Action with 25 actions owned across the
council, the ICB, an NHS trust and the parent carer forum, milestones, and 18 months of monthly
progress updates. Dates are set relative to today so the picture is always current: the plan was
accepted about 18 months ago and the revisit is due now. Loading is idempotent (by LA code).
"""

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.apikeys.service import create_key, revoke
from app.cases.schemas import CaseEventIn
from app.cases.service import ingest, refresh_timeliness_measures
from app.core import audit
from app.core.auth import SYSTEM
from app.core.config import get_settings
from app.models import (
    Action,
    ActionConcern,
    ActionContributor,
    ActionOrganisation,
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

LA_CODE = "990"
DEMO_KEY_PREFIX = "demo-"
CONTRIBUTOR_EXTERNAL_ID = "HR004104"  # Tom Whitcombe, EHC Assessment Team Manager

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

CONCERNS = [
    (
        "W1",
        "Timeliness and quality of EHC plans",
        "EHC needs assessment",
        "The local area's performance in completing new education, health and care (EHC) plans within the statutory "
        "20-week timescale is poor. Too many plans are late and the quality of plans is too variable; outcomes are not "
        "specific and the views of children and young people are not well captured.",
    ),
    (
        "W2",
        "Strategic leadership and joint commissioning",
        "Leadership and governance",
        "Leaders across education, health and care do not have a shared and accurate understanding of the local area's "
        "effectiveness. Joint commissioning arrangements are underdeveloped and are not informed by a robust analysis of need.",
    ),
    (
        "W3",
        "Co-production and communication with families",
        "Co-production",
        "Parents and carers do not feel listened to and are not involved well enough in shaping services. The local offer "
        "is not well known or understood by families, and communication about the EHC process is poor.",
    ),
    (
        "W4",
        "Health contribution to assessment and outcomes",
        "Health",
        "Health services' contributions to EHC needs assessments are too often late and of variable quality. Waiting times "
        "for the neurodevelopmental (autism) assessment pathway are too long, and families receive little support while they wait.",
    ),
]

# (concerns, ref, title, owner, contributors, organisations, priority, start month, due month, success criteria)
# Months are counted from plan acceptance (month 0); negative months are before it.
ACTIONS = [
    (
        ["W1"],
        "1.1",
        "Recruit additional EHC coordinators to clear the assessment backlog",
        "ehcmgr",
        ["adsend"],
        ["council"],
        "high",
        0,
        3,
        "Four additional coordinators in post; open assessments over 20 weeks reduced by half.",
    ),
    (
        ["W1"],
        "1.2",
        "Introduce weekly case-tracking of every open EHC needs assessment",
        "ehcmgr",
        ["data"],
        ["council"],
        "high",
        0,
        2,
        "Every open case reviewed weekly against its 6-, 16- and 20-week checkpoints.",
    ),
    (
        ["W1"],
        "1.3",
        "Issue 90% of new EHC plans within 20 weeks",
        "adsend",
        ["ehcmgr", "dco"],
        ["council", "icb"],
        "high",
        1,
        20,
        "90% of new plans (excluding exceptions) issued within 20 weeks for three consecutive months.",
    ),
    (
        ["W1"],
        "1.4",
        "Establish a multi-agency EHC plan quality assurance audit",
        "qa",
        ["dco", "social"],
        ["council", "icb"],
        "medium",
        1,
        5,
        "Monthly audit of 10% of plans; 80% judged good or better.",
    ),
    (
        ["W1"],
        "1.5",
        "Train all EHC writers in outcome-focused plan writing",
        "qa",
        ["edpsych"],
        ["council"],
        "medium",
        2,
        7,
        "All plan writers trained; audit shows SMART outcomes in 85% of sampled plans.",
    ),
    (
        ["W1"],
        "1.6",
        "Capture the voice of the child in every EHC plan",
        "edpsych",
        ["youth"],
        ["council", "youth"],
        "medium",
        3,
        9,
        "Section A written with the child or young person in 90% of audited plans.",
    ),
    (
        ["W1"],
        "1.7",
        "Reduce educational psychology advice times to within 6 weeks",
        "edpsych",
        [],
        ["council"],
        "high",
        2,
        10,
        "EP advice returned within 6 weeks for 95% of requests.",
    ),
    (
        ["W2"],
        "2.1",
        "Establish the SEND Delivery Group with a cabinet-member chair",
        "croney",
        ["dcs", "icbexec"],
        ["council", "icb"],
        "high",
        -1,
        1,
        "Terms of reference agreed; monthly meetings with health, social care, schools and parent representatives.",
    ),
    (
        ["W2"],
        "2.2",
        "Agree a joint SEND strategy across the council and the ICB",
        "dcs",
        ["icbexec", "pcfchair"],
        ["council", "icb", "pcf"],
        "high",
        1,
        8,
        "Strategy signed off by Cabinet and the ICB Board, co-produced with the parent carer forum.",
    ),
    (
        ["W2"],
        "2.3",
        "Publish a joint strategic needs assessment for SEND",
        "commiss",
        ["data", "icbcomm"],
        ["council", "icb"],
        "medium",
        2,
        9,
        "JSNA chapter published and used to set commissioning intentions.",
    ),
    (
        ["W2"],
        "2.4",
        "Set up joint commissioning arrangements for therapies",
        "icbcomm",
        ["commiss", "therapies"],
        ["icb", "trust", "council"],
        "high",
        4,
        21,
        "Pooled budget agreement for speech and language and occupational therapy in place.",
    ),
    (
        ["W2"],
        "2.5",
        "Build a SEND performance dashboard for the Delivery Group",
        "data",
        ["sro"],
        ["council"],
        "medium",
        0,
        4,
        "Monthly dashboard with 20-week timeliness, backlog and waiting times reviewed at every meeting.",
    ),
    (
        ["W2"],
        "2.6",
        "Commission an independent review of SEND transport",
        "leaver",
        [],
        ["council"],
        "low",
        12,
        19,
        "Review reported to Cabinet with recommendations.",
    ),
    (
        ["W2"],
        "2.7",
        "Agree a sustainable high-needs budget recovery plan",
        "dcs",
        ["commiss"],
        ["council", "schools"],
        "high",
        3,
        22,
        "Recovery plan agreed with the Schools Forum and DfE.",
    ),
    (
        ["W3"],
        "3.1",
        "Sign a co-production charter with the parent carer forum",
        "pcfchair",
        ["adsend", "pcfvice"],
        ["pcf", "council"],
        "high",
        0,
        3,
        "Charter signed by the council, the ICB and the forum; reviewed annually.",
    ),
    (
        ["W3"],
        "3.2",
        "Relaunch the local offer website with families",
        "localoffer",
        ["pcfvice"],
        ["council", "pcf"],
        "medium",
        1,
        8,
        "Relaunched site; 70% of surveyed parents find information easily.",
    ),
    (
        ["W3"],
        "3.3",
        "Run termly 'you said, we did' engagement events",
        "sro",
        ["pcfchair", "youth"],
        ["council", "pcf", "youth"],
        "medium",
        2,
        24,
        "Six events held; actions published after each.",
    ),
    (
        ["W3"],
        "3.4",
        "Introduce a named contact for every family during assessment",
        "ehcmgr",
        [],
        ["council"],
        "medium",
        3,
        9,
        "Every family told their named contact within 5 working days of a request.",
    ),
    (
        ["W3"],
        "3.5",
        "Establish the young people's SEND forum as a standing advisory group",
        "youth",
        ["sro"],
        ["youth"],
        "low",
        4,
        12,
        "Forum meets monthly and reports to the Delivery Group each quarter.",
    ),
    (
        ["W3"],
        "3.6",
        "Run an annual parent and carer survey",
        "data",
        ["pcfchair"],
        ["council", "pcf"],
        "medium",
        14,
        19,
        "Survey run with 400+ responses; results published with an action plan.",
    ),
    (
        ["W4"],
        "4.1",
        "Appoint a full-time Designated Clinical Officer",
        "icbexec",
        [],
        ["icb"],
        "high",
        -1,
        2,
        "Full-time DCO in post with a health EHC advice tracking system.",
    ),
    (
        ["W4"],
        "4.2",
        "Return health advice for EHC assessments within 6 weeks",
        "dco",
        ["therapies", "nd"],
        ["icb", "trust"],
        "high",
        1,
        10,
        "95% of health advice returned within 6 weeks, monitored through provider contracts.",
    ),
    (
        ["W4"],
        "4.3",
        "Reduce waiting times for neurodevelopmental assessment",
        "nd",
        ["icbcomm"],
        ["trust", "icb"],
        "high",
        2,
        24,
        "Median wait under 18 weeks; no child waiting over 52 weeks.",
    ),
    (
        ["W4"],
        "4.4",
        "Offer pre-diagnosis support to families waiting for assessment",
        "nd",
        ["pcfvice"],
        ["trust", "pcf"],
        "medium",
        4,
        11,
        "Support workshops running monthly; 80% of attendees rate them useful.",
    ),
    (
        ["W1", "W4"],
        "4.5",
        "Align health outcomes in EHC plans with the joint QA framework",
        "dco",
        ["qa"],
        ["icb", "council"],
        "medium",
        6,
        23,
        "Health sections meet the QA standard in 85% of audited plans.",
    ),
]

BLOCKERS = [
    "Recruitment to two educational psychologist posts has not succeeded; agency cover agreed until March.",
    "The case-management system upgrade slipped by six weeks, delaying the new reports.",
    "Health advice is arriving late from the community paediatrics service while its waiting list is cleared.",
    "Schools asked for the training to move to the spring term after the autumn inspection window.",
]
NARRATIVES = {
    "green": [
        "On track: {title_l} is progressing as planned and the Delivery Group noted good progress.",
        "Milestones for this period met; no risks escalated.",
        "Progress reviewed with partners; evidence of impact is building.",
    ],
    "amber": [
        "Some slippage: recruitment and capacity pressures have slowed {title_l}; recovery plan agreed.",
        "Risk to the due date; mitigation agreed at the Delivery Group.",
        "Progress slower than planned while demand continues to rise.",
    ],
    "red": [
        "Behind plan: {title_l} has slipped beyond the agreed timescale; escalated to the Delivery Group.",
        "Significant risk: the rise in EHC requests continues to outstrip capacity; additional funding requested.",
    ],
    "blue": ["Completed: evidence submitted and accepted by the Delivery Group."],
}


# Dorset's contingency for its SEND improvement programme: £925,000 over three financial years.
FUNDING = [
    ("2017/18", "93200.00", "Contingency: interim EHC coordinators and a backlog review"),
    ("2018/19", "454000.00", "Contingency: EHC assessment team, educational psychology and health advice capacity"),
    ("2019/20", "377800.00", "Contingency: sustaining the assessment team and the Local Offer rebuild"),
]
SPEND = [
    ("2017/18", "88412.50", "Agency EHC coordinators (4 posts, 5 months)"),
    ("2018/19", "301250.00", "EHC assessment team and commissioned educational psychology"),
    ("2018/19", "96480.75", "Designated Clinical Officer and health advice capacity"),
]


def _months(start: date, months: int) -> date:
    year, month = divmod(start.month - 1 + months, 12)
    return date(start.year + year, month + 1, min(start.day, 28))


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10, 0), tzinfo=UTC)


async def seed_demo(session: AsyncSession, *, today: date | None = None) -> Partnership:
    existing = (await session.execute(select(Partnership).where(col(Partnership.la_code) == LA_CODE))).scalar_one_or_none()
    if existing is not None:
        return existing
    today = today or date.today()
    rng = random.Random(2017)
    accepted = _months(today, -18)
    onsite = _months(accepted, -6)
    published = onsite + timedelta(days=63)

    partnership = Partnership(name="Wessex Vale SEND Local Area Partnership", la_code=LA_CODE, timezone="Europe/London")
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
        framework="las_2016",
        kind="full",
        inspectorates=["ofsted", "cqc"],
        onsite_start_on=onsite,
        onsite_end_on=onsite + timedelta(days=4),
        report_published_on=published,
        outcome="Significant concerns: a Written Statement of Action is required",
        report_url="https://reports.example/wessex-vale-local-area-send.pdf",
        created_at=_at(published),
        updated_at=_at(published),
    )
    session.add(inspection)
    await session.flush()
    plan = Plan(
        partnership_id=pid,
        inspection_id=inspection.id,
        kind="wsoa",
        title="Wessex Vale Written Statement of Action",
        status="in_delivery",
        submission_due_on=published + timedelta(days=98),
        submitted_on=published + timedelta(days=95),
        accepted_on=accepted,
        revisit_due_on=_months(accepted, 18),
        governance="SEND Delivery Group chaired by the Cabinet Member for Children, Education and Early Help, with the ICB, "
        "the parent carer forum, schools and adult services; monthly performance reports to the group, quarterly to Cabinet "
        "and the ICB board. Signed off by Cabinet and the ICB board before submission.",
        created_at=_at(published + timedelta(days=7)),
        updated_at=_at(accepted),
    )
    session.add(plan)
    await session.flush()
    concerns = {}
    for ref, title, theme, text in CONCERNS:
        concerns[ref] = Concern(
            partnership_id=pid, plan_id=plan.id, ref=ref, kind="area_of_significant_weakness", title=title, verbatim_text=text, theme=theme,
            created_at=_at(published + timedelta(days=7)), updated_at=_at(published + timedelta(days=7)),
        )  # fmt: skip
    session.add_all(concerns.values())
    await session.flush()

    for concern_refs, ref, title, owner, contributors, org_keys, priority, start_m, due_m, criteria in ACTIONS:
        start, due = _months(accepted, start_m), _months(accepted, due_m)
        action = Action(
            partnership_id=pid,
            plan_id=plan.id,
            ref=ref,
            title=title,
            owner_id=people[owner].id,
            priority=priority,
            planned_start_on=start,
            due_on=due,
            baseline_due_on=due,
            success_criteria=criteria,
            description=f"Part of the answer to {', '.join(concern_refs)}. {criteria}",
            created_at=_at(accepted),
        )
        _plot_course(action, rng, today)
        session.add(action)
        await session.flush()
        session.add_all(ActionConcern(action_id=action.id, concern_id=concerns[c].id, plan_id=plan.id) for c in concern_refs)
        session.add_all(ActionContributor(action_id=action.id, person_id=people[p].id, partnership_id=pid) for p in contributors)
        session.add_all(ActionOrganisation(action_id=action.id, organisation_id=orgs[o].id, partnership_id=pid) for o in org_keys)
        _milestones(session, action, start, due, today)
        _updates(session, action, people[owner].id, accepted, today, rng)
        _evidence(session, action, reviewer=people["sro"].id)
    await session.flush()
    await _history(session, pid, plan.id)
    await _impact(session, pid, plan, concerns, accepted, today, rng)
    people["leaver"].active = False
    people["leaver"].left_on = today - timedelta(days=40)
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


async def _history(session: AsyncSession, partnership_id: uuid.UUID, plan_id: uuid.UUID) -> None:
    """The status changes behind today's picture, dated when they happened, so a summary `as_of` an earlier
    month shows the plan as it stood then (actions start at their planned start, complete on `completed_on`)."""
    actions = (await session.execute(select(Action).where(col(Action.plan_id) == plan_id).order_by(col(Action.ref)))).scalars().all()
    moves: list[tuple[datetime, Action, dict[str, list[Any]]]] = []
    for action in actions:
        if action.status != "not_started" and action.planned_start_on is not None:
            moves.append((_at(action.planned_start_on), action, {"status": ["not_started", "in_progress"]}))
        if action.status == "completed" and action.completed_on is not None:
            moves.append(
                (
                    _at(action.completed_on),
                    action,
                    {"status": ["in_progress", "completed"], "completed_on": [None, action.completed_on.isoformat()]},
                )
            )
    entries = [
        audit.Entry("update", "action", action.id, partnership_id, changes, when)
        for when, action, changes in sorted(moves, key=lambda m: (m[0], m[1].ref))
    ]
    audit.record_many(session, actor=SYSTEM, entries=entries)


async def _impact(
    session: AsyncSession, pid: uuid.UUID, plan: Plan, concerns: dict[str, Concern], accepted: date, today: date, rng: random.Random
) -> None:
    """Dorset's contingency money, three measures, and EHC case events that feed the timeliness measure."""
    for year, amount, purpose in FUNDING:
        session.add(
            FundingLine(
                partnership_id=pid, plan_id=plan.id, financial_year=year, amount=Decimal(amount), purpose=purpose, kind="allocation"
            )
        )
    for year, amount, purpose in SPEND:
        session.add(
            FundingLine(partnership_id=pid, plan_id=plan.id, financial_year=year, amount=Decimal(amount), purpose=purpose, kind="spend")
        )
    baseline = accepted - timedelta(days=30)
    target = _months(accepted, 24)
    timeliness = Measure(
        partnership_id=pid, plan_id=plan.id, name="New EHC plans issued within 20 weeks",
        definition="Final EHC plans issued in the month within 20 weeks of the request, exceptions included (SEN2 definition).",
        unit="percent", direction="higher_is_better", baseline_value=11.0, baseline_on=baseline, target_value=90.0, target_on=target,
        tolerance=5.0, source="ehcp_timeliness", trajectory=[{"on": _months(accepted, 12).isoformat(), "value": 70.0}],
        created_at=_at(accepted),
    )  # fmt: skip
    confidence = Measure(
        partnership_id=pid, plan_id=plan.id, name="Parents confident their child's needs are met (survey)",
        definition="Share of parent carer forum survey respondents who agree or strongly agree.", unit="percent",
        direction="higher_is_better", baseline_value=34.0, baseline_on=baseline, target_value=60.0, target_on=target, tolerance=3.0,
        source="survey", frequency="quarterly", created_at=_at(accepted),
    )  # fmt: skip
    advice = Measure(
        partnership_id=pid, plan_id=plan.id, name="Health advice for EHC assessments returned within 6 weeks",
        definition="Advice requests to the community trust answered within 6 weeks.", unit="percent", direction="higher_is_better",
        baseline_value=48.0, baseline_on=baseline, target_value=95.0, target_on=target, tolerance=4.0, source="audit",
        created_at=_at(accepted),
    )  # fmt: skip
    session.add_all([timeliness, confidence, advice])
    await session.flush()
    session.add_all([
        MeasureConcern(measure_id=timeliness.id, concern_id=concerns["W1"].id, plan_id=plan.id),
        MeasureConcern(measure_id=confidence.id, concern_id=concerns["W3"].id, plan_id=plan.id),
        MeasureConcern(measure_id=advice.id, concern_id=concerns["W2"].id, plan_id=plan.id),
    ])  # fmt: skip
    # The survey improves but lags its trajectory; the health advice audit is on track.
    for quarter in range(1, 7):
        end = _months(accepted, 3 * quarter) - timedelta(days=1)
        if end >= today:
            break
        session.add(Observation(partnership_id=pid, measure_id=confidence.id, period_start_on=_months(accepted, 3 * quarter - 3),
                                period_end_on=end, value=34.0 + 2.5 * quarter, numerator=None, denominator=None, created_at=_at(end + timedelta(days=10))))  # fmt: skip
    for month in range(1, 19):
        start, end = _months(accepted, month - 1), _months(accepted, month) - timedelta(days=1)
        if end >= today:
            break
        share = min(97.0, 48.0 + 47.0 * month / 18 + rng.uniform(-2, 2))
        session.add(Observation(partnership_id=pid, measure_id=advice.id, period_start_on=start, period_end_on=end, value=round(share, 1),
                                numerator=round(share), denominator=100, created_at=_at(end + timedelta(days=7))))  # fmt: skip
    await session.flush()
    await ingest(
        session,
        actor=SYSTEM,
        settings=get_settings(),
        partnership_id=pid,
        events=_case_events(accepted, today, rng),
        refresh=False,
    )
    # The case system sends each event the day after it happens, so the past reads as it was recorded then.
    sent = (await session.execute(select(col(CaseEvent.id), col(CaseEvent.occurred_on)).where(col(CaseEvent.partnership_id) == pid))).all()
    await session.execute(
        update(CaseEvent).execution_options(synchronize_session=False),
        [{"id": i, "received_at": _at(min(today, on + timedelta(days=1)))} for i, on in sent],
    )
    await refresh_timeliness_measures(
        session, actor=SYSTEM, partnership_id=pid, today=today, recorded=lambda end: _at(min(today, end + timedelta(days=5)))
    )


def _case_events(accepted: date, today: date, rng: random.Random) -> list[CaseEventIn]:
    """About 60 requests a month from a year before acceptance; the share of plans issued within 20 weeks climbs
    from about one in nine towards the target, with a few exceptions, mediations and transfers-in."""
    events: list[CaseEventIn] = []
    start = _months(accepted, -12)
    number = 0
    day = start
    while day < today - timedelta(days=1):
        for _ in range(rng.randint(1, 3)):
            number += 1
            ref = f"WV-{day.year}-{number:05d}"
            progress = max(0.0, min(1.0, (day - accepted).days / 540))
            on_time = rng.random() < 0.11 + 0.75 * progress
            days = rng.randint(95, 140) if on_time else rng.randint(141, 300)

            def add(kind: str, on: date, ref: str = ref, **extra: Any) -> None:
                if on < today:
                    events.append(CaseEventIn(event_id=f"{ref}-{kind}", case_ref=ref, type=kind, occurred_on=on, **extra))

            add("request_received", day)
            if rng.random() < 0.2:
                add("request_decision", day + timedelta(days=rng.randint(30, 42)), outcome="not_assess")
                continue
            add("request_decision", day + timedelta(days=rng.randint(30, 42)), outcome="assess")
            if rng.random() < 0.06:
                add("exception", day + timedelta(days=50), reason=rng.choice("abcd"))
            if rng.random() < 0.03:
                add("mediation", day + timedelta(days=60))
            add("draft_issued", day + timedelta(days=days - 20))
            add("final_issued", day + timedelta(days=days))
        day += timedelta(days=1)
    return events


def _plot_course(action: Action, rng: random.Random, today: date) -> None:
    """Give the action a believable state for today: most past work done, some slipping, some late."""
    assert action.due_on is not None and action.planned_start_on is not None
    roll = rng.random()
    if action.due_on < today:
        if roll < 0.65:
            action.status = "completed"
            action.completed_on = min(today, action.due_on + timedelta(days=rng.randint(-20, 25)))
        elif roll < 0.85:
            action.status = "in_progress"
            action.forecast_on = today + timedelta(days=rng.randint(10, 60))
        else:
            action.status = "in_progress"
    elif action.planned_start_on < today:
        action.status = "in_progress"
        if roll < 0.5:
            action.forecast_on = action.due_on + timedelta(days=rng.choice([10, 21, 45]))
    elif roll < 0.2:
        action.status = "not_started"


EVIDENCE_KINDS = ["minutes", "document", "data_extract", "audit", "coproduction_record"]


def _evidence(session: AsyncSession, action: Action, *, reviewer: uuid.UUID) -> None:
    """Completed actions carry accepted evidence; the EHC timeliness action also holds a case study locally."""
    if action.status == "completed" and action.completed_on is not None:
        kind = EVIDENCE_KINDS[int(action.ref.replace(".", "")) % len(EVIDENCE_KINDS)]
        session.add(
            Evidence(
                partnership_id=action.partnership_id, action_id=action.id, title=f"Completion evidence for {action.ref}: {kind.replace('_', ' ')}",
                kind=kind, url=f"https://docs.wessexvale.example/send-improvement/{action.ref}/completion", evidence_on=action.completed_on,
                review_status="accepted", reviewed_by_id=reviewer, reviewed_at=_at(action.completed_on + timedelta(days=7)),
                review_note="Reviewed at the SEND Delivery Group.", created_at=_at(action.completed_on),
                updated_at=_at(action.completed_on + timedelta(days=7)),
            )
        )  # fmt: skip
    if action.ref == "1.3" and action.planned_start_on is not None:
        session.add(
            Evidence(
                partnership_id=action.partnership_id, action_id=action.id, title="Case study: a family's experience of the new EHC process",
                kind="case_study", url="https://docs.wessexvale.example/restricted/case-studies/ehc-2", contains_personal_data=True,
                evidence_on=action.planned_start_on, created_at=_at(action.planned_start_on), updated_at=_at(action.planned_start_on),
            )
        )  # fmt: skip


def _milestones(session: AsyncSession, action: Action, start: date, due: date, today: date) -> None:
    span = (due - start).days
    for number, fraction in enumerate((1 / 3, 2 / 3, 1.0), start=1):
        when = start + timedelta(days=int(span * fraction))
        met = when < today and (action.status == "completed" or number < 3)
        session.add(
            Milestone(
                partnership_id=action.partnership_id,
                action_id=action.id,
                title=f"{['First', 'Second', 'Final'][number - 1]} checkpoint: {action.ref}",
                due_on=when,
                status="met" if met else ("missed" if when < today else "pending"),
                met_on=min(today, when + timedelta(days=3)) if met else None,
                evidence_required=number == 3,
                created_at=_at(start),
                updated_at=_at(start),
            )
        )


def _updates(session: AsyncSession, action: Action, author_id: uuid.UUID, accepted: date, today: date, rng: random.Random) -> None:
    assert action.planned_start_on is not None and action.due_on is not None
    month = max(1, (action.planned_start_on.year - accepted.year) * 12 + action.planned_start_on.month - accepted.month + 1)
    while month <= 18:
        when = _months(accepted, month)
        if when > today or (action.completed_on is not None and when > action.completed_on + timedelta(days=31)):
            break
        if action.completed_on is not None and when >= action.completed_on:
            rag = "blue"
        elif when > action.due_on:
            rag = "red"
        elif action.forecast_on is not None and when > action.due_on - timedelta(days=90):
            rag = "amber"
        else:
            rag = rng.choices(["green", "amber"], weights=[4, 1])[0]
        session.add(
            ProgressUpdate(
                partnership_id=action.partnership_id,
                action_id=action.id,
                author_id=author_id,
                rag=rag,
                narrative=rng.choice(NARRATIVES[rag]).format(title_l=action.title[0].lower() + action.title[1:]),
                percent_complete=100
                if rag == "blue"
                else max(
                    0, min(95, int(100 * (when - action.planned_start_on).days / max(1, (action.due_on - action.planned_start_on).days)))
                ),
                blockers=rng.choice(BLOCKERS) if rag in ("red", "amber") else None,
                created_at=_at(when),
                updated_at=_at(when),
            )
        )
        month += 1


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
