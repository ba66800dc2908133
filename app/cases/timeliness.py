"""EHC plan timeliness from case events, computed by the database.

The rules are the DfE's for the 20-week timeliness it publishes from SEN2 returns ("Education, health and care
plans" statistics, with and without exceptions):
- deadline: the request's receipt + 140 days (20 weeks; SEND Regulations 2014, reg. 13(2)); a case's
  received date is its first `request_received` event;
- on time: the first `final_issued` falls on or before the deadline;
- cohort of a period: cases whose final plan was issued in it, less transferred-in cases and cases with any
  mediation or tribunal event ("timeliness figures are based on assessments ... where no mediation or
  tribunal has taken place"), and less cases without a request or whose plan predates it (inconsistent
  data, which cannot be timed);
- "excluding exceptions" drops cases with an `exception` event (reg. 10(4)(a)-(d)) from numerator and
  denominator; bands and average weeks cover the whole cohort;
- backlog on `to`: cases decided for assessment, not withdrawn or refused since, with no final plan by
  `to`, and `to` past their deadline;
- events dated after `to` are ignored; a re-sent event counts once; arrival order does not matter;
- `recorded_by` (for a report as it could be read at an earlier moment) ignores events received later;
- coverage: a period is `covered` once a full year (52 weeks) of requests precedes it, counted from the
  first `request_received` event held. Before that, plans issued late for requests made before the case
  system began sending would be missing, and the figure would look better than it is; such periods are
  still computed from what is held but marked `covered: false`, measures get no observation for them
  and packs print "not covered" instead of a figure.

Beside the 20-week measure, from the same events (the statutory timescales of the SEND Regulations 2014 and the
SEND Code of Practice, chapter 9):
- the decision whether to assess: of the requests whose 6-week deadline (receipt + 42 days) falls in a period, those
  decided (`assess` or `not_assess`) by it; one undecided by its deadline, or decided later, was late (withdrawn later
  too); a request withdrawn undecided within its 6 weeks was due none;
- annual reviews: of the review meetings held in a period (one per case and day), the decision (maintain, amend or
  cease) notified within 28 days (4 weeks) of the meeting, the ones notified later or not at all once 28 days have passed
  by `to` (late), and the ones still within their 28 days (pending);
- reviews overdue on `to`: plans issued and not ceased whose last review (its meeting, or its decision; the final plan
  before any) was more than a year before `to`: the next was due within 12 months of it. Only plans whose final plan is
  among the events held are counted. The 3-6 monthly reviews of under-5s cannot be told apart (the events carry no
  age) and are held to the yearly rule.

The measure the plan tracks (`ehcp_timeliness` observations, packs' headline) is the percentage
excluding exceptions (`DEFINITION`); both figures are in every report.

One statement folds the events into one row per case (`GROUP BY case_key`), a second groups the cohort by
issue date; Python only adds up those daily rows into the requested periods.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from sqlalchemy import ColumnElement, Date, Integer, and_, bindparam, case, cast, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.core.reads import Reads, as_date
from app.models import CaseEvent
from app.models.base import UTCDateTime
from app.models.enums import CaseEventType

DEADLINE_DAYS = 140  # 20 weeks
DECISION_DAYS = 42  # 6 weeks: the decision whether to assess
REVIEW_DECISION_DAYS = 28  # 4 weeks: the decision after an annual review meeting
ONE_YEAR_DAYS = 364  # 52 weeks
COVERAGE_LEAD_DAYS = ONE_YEAR_DAYS
DEFINITION = (
    "New EHC plans issued within 20 weeks of the request, excluding cases where an exception applies (SEN2's 20-week "
    "measure excluding exceptions): of the final plans first issued in the period, the share issued within 140 days of "
    "the request, leaving out cases with an exception (reg. 13(3), in the circumstances of reg. 10(4)(a)-(d)), transfers-in and cases with mediation or a "
    "tribunal. Computed from the case events; the figure including exceptions is given beside it."
)
Granularity = Literal["month", "quarter", "year"]
T = CaseEventType
EVER = datetime(9999, 12, 31, tzinfo=UTC)


def _days(later: Any, earlier: Any, dialect: str) -> ColumnElement[int]:
    """Whole days from `earlier` to `later`."""
    if dialect == "postgresql":
        return cast(later, Date) - cast(earlier, Date)  # type: ignore[return-value]
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def _one_of(column: Any, values: list[str]) -> ColumnElement[bool]:
    """`column IN (...)` written as ORs: the direct PostgreSQL read path takes no expanding parameters."""
    return or_(*(column == v for v in values))


def _first(kind: CaseEventType) -> ColumnElement[Any]:
    return func.min(case((col(CaseEvent.type) == kind.value, col(CaseEvent.occurred_on))))


def _any(*kinds: CaseEventType) -> ColumnElement[Any]:
    return func.max(case((_one_of(col(CaseEvent.type), [k.value for k in kinds]), 1), else_=0))


def cases_statement() -> Any:
    """One row per case of the partnership, from its events on or before `:to_on`."""
    closing = and_(
        _one_of(col(CaseEvent.type), [T.request_decision.value, T.assessment_decision.value]),
        _one_of(col(CaseEvent.outcome), ["withdrawn", "not_assess", "not_issue"]),
    )
    return (
        select(
            col(CaseEvent.case_key).label("case_key"),
            _first(T.request_received).label("received_on"),
            _first(T.final_issued).label("final_on"),
            _any(T.transfer_in).label("transferred"),
            _any(T.mediation, T.tribunal).label("disputed"),
            _any(T.exception).label("excepted"),
            func.max(
                case(
                    (and_(col(CaseEvent.type) == T.request_decision.value, col(CaseEvent.outcome) == "assess"), col(CaseEvent.occurred_on))
                )
            ).label("assessed_on"),
            func.max(case((closing, col(CaseEvent.occurred_on)))).label("closed_on"),
            func.min(
                case(
                    (
                        and_(col(CaseEvent.type) == T.request_decision.value, _one_of(col(CaseEvent.outcome), ["assess", "not_assess"])),
                        col(CaseEvent.occurred_on),
                    )
                )
            ).label("decided_on"),
            func.max(
                case(
                    (
                        and_(col(CaseEvent.type) == T.request_decision.value, col(CaseEvent.outcome) == "withdrawn"),
                        col(CaseEvent.occurred_on),
                    )
                )
            ).label("withdrawn_on"),
            func.max(case((col(CaseEvent.type) == T.review_decision.value, col(CaseEvent.occurred_on)))).label("reviewed_on"),
            func.max(case((col(CaseEvent.type) == T.review_meeting.value, col(CaseEvent.occurred_on)))).label("review_met_on"),
            func.max(case((and_(col(CaseEvent.type) == T.review_decision.value, col(CaseEvent.outcome) == "cease"), 1), else_=0)).label(
                "ceased"
            ),
        )
        .where(
            col(CaseEvent.partnership_id) == bindparam("partnership_id"),
            col(CaseEvent.occurred_on) <= bindparam("to_on", type_=Date),
            col(CaseEvent.received_at) <= bindparam("recorded_by", type_=UTCDateTime()),
        )
        .group_by(col(CaseEvent.case_key))
        .subquery("cases")
    )


def cohort_statement(dialect: str) -> Any:
    c = cases_statement().c
    days = _days(c.final_on, c.received_on, dialect)
    ok = days <= DEADLINE_DAYS
    clean = c.excepted == 0

    def count(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    return (
        select(
            c.final_on.label("issued_on"),
            func.count().label("issued"),
            count(ok).label("within"),
            count(clean).label("issued_ex"),
            count(and_(clean, ok)).label("within_ex"),
            count(and_(days > DEADLINE_DAYS, days < ONE_YEAR_DAYS)).label("band_20_52"),
            count(days >= ONE_YEAR_DAYS).label("band_52"),
            func.sum(days).label("total_days"),
        )
        .where(
            c.final_on >= bindparam("from_on", type_=Date),
            c.received_on.is_not(None),
            c.final_on >= c.received_on,
            c.transferred == 0,
            c.disputed == 0,
        )
        .group_by(c.final_on)
    )


def backlog_statement(dialect: str) -> Any:
    c = cases_statement().c
    return select(func.count().label("total"), func.coalesce(func.sum(c.excepted), 0).label("with_exception")).where(
        c.assessed_on.is_not(None),
        or_(c.closed_on.is_(None), c.closed_on < c.assessed_on),
        c.final_on.is_(None),
        c.received_on.is_not(None),
        _days(bindparam("as_of", type_=Date), c.received_on, dialect) > literal(DEADLINE_DAYS),
    )


def decision_statement(dialect: str) -> Any:
    """Requests by the day they were received (from `:received_from`): how many were due a decision whether to assess, and
    how many had it within 6 weeks; a request withdrawn before any decision was due none. Python places each day's
    requests in the period holding their deadline."""
    c = cases_statement().c
    within = and_(c.decided_on.is_not(None), _days(c.decided_on, c.received_on, dialect) <= DECISION_DAYS)
    return (
        select(
            c.received_on.label("received_on"), func.count().label("decided"), func.sum(case((within, 1), else_=0)).label("decided_in_time")
        )
        .where(
            c.received_on >= bindparam("received_from", type_=Date),
            or_(c.decided_on.is_not(None), c.withdrawn_on.is_(None), _days(c.withdrawn_on, c.received_on, dialect) > DECISION_DAYS),
            or_(c.decided_on.is_(None), c.decided_on >= c.received_on),
        )
        .group_by(c.received_on)
    )


def _in_range(column: Any) -> ColumnElement[bool]:
    return and_(
        col(CaseEvent.partnership_id) == bindparam("partnership_id"),
        column <= bindparam("to_on", type_=Date),
        col(CaseEvent.received_at) <= bindparam("recorded_by", type_=UTCDateTime()),
    )


def review_statement(dialect: str) -> Any:
    """Annual review meetings held in the period (one per case and day), by day: how many, and how many had their decision
    within 4 weeks, later or never once 4 weeks passed by `:to_on` (late), or are still within their 4 weeks (pending)."""
    meetings = (
        select(col(CaseEvent.case_key).label("case_key"), col(CaseEvent.occurred_on).label("met_on"))
        .where(_in_range(col(CaseEvent.occurred_on)), col(CaseEvent.type) == T.review_meeting.value)
        .where(col(CaseEvent.occurred_on) >= bindparam("from_on", type_=Date))
        .distinct()
        .subquery("meetings")
    )
    decision = aliased(CaseEvent, name="decision")
    decided_on = (
        select(func.min(col(decision.occurred_on)))
        .where(
            col(decision.partnership_id) == bindparam("partnership_id"),
            col(decision.case_key) == meetings.c.case_key,
            col(decision.type) == T.review_decision.value,
            col(decision.occurred_on) >= meetings.c.met_on,
            col(decision.occurred_on) <= bindparam("to_on", type_=Date),
            col(decision.received_at) <= bindparam("recorded_by", type_=UTCDateTime()),
        )
        .scalar_subquery()
    )
    decided = select(meetings.c.met_on, decided_on.label("decided_on")).subquery("decided")
    waited = _days(func.coalesce(decided.c.decided_on, bindparam("to_on", type_=Date)), decided.c.met_on, dialect)

    def count(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    return select(
        decided.c.met_on.label("met_on"),
        func.count().label("meetings"),
        count(and_(decided.c.decided_on.is_not(None), waited <= REVIEW_DECISION_DAYS)).label("review_in_time"),
        count(waited > REVIEW_DECISION_DAYS).label("review_late"),
        count(and_(decided.c.decided_on.is_(None), waited <= REVIEW_DECISION_DAYS)).label("review_pending"),
    ).group_by(decided.c.met_on)


def overdue_reviews_statement() -> Any:
    """Plans issued and not ceased by `:to_on` whose last review (its meeting or its decision; the final plan before any)
    was before `:year_before`: the next review was due within 12 months of it and has not been held."""
    c = cases_statement().c
    decided: Any = func.coalesce(c.reviewed_on, c.final_on)
    latest = case((and_(c.review_met_on.is_not(None), c.review_met_on > decided), c.review_met_on), else_=decided)
    anchor = case((latest > c.final_on, latest), else_=c.final_on)
    return select(func.count().label("total")).where(
        c.final_on.is_not(None),
        c.ceased == 0,
        anchor < bindparam("year_before", type_=Date),
    )


def first_request_statement() -> Any:
    """The first request held (recorded by `:recorded_by`): the start of the case system's coverage."""
    return select(func.min(col(CaseEvent.occurred_on)).label("first_on")).where(
        col(CaseEvent.partnership_id) == bindparam("partnership_id"),
        col(CaseEvent.type) == T.request_received.value,
        col(CaseEvent.received_at) <= bindparam("recorded_by", type_=UTCDateTime()),
    )


STATEMENTS = {d: (cohort_statement(d), backlog_statement(d)) for d in ("postgresql", "sqlite")}
MORE_STATEMENTS = {d: (decision_statement(d), review_statement(d), overdue_reviews_statement()) for d in ("postgresql", "sqlite")}
FIRST_REQUEST = first_request_statement()


def covered_from(first_request_on: date | None) -> date | None:
    return None if first_request_on is None else first_request_on + timedelta(days=COVERAGE_LEAD_DAYS)


def periods(start: date, end: date, granularity: Granularity) -> list[tuple[date, date]]:
    """Calendar months, quarters (Jan-Mar, ...) or years overlapping start..end, each clipped to it."""
    step = {"month": 1, "quarter": 3, "year": 12}[granularity]
    month = ((start.month - 1) // step) * step + 1
    cursor = date(start.year, month, 1)
    found = []
    while cursor <= end:
        year, index = divmod(cursor.month - 1 + step, 12)
        following = date(cursor.year + year, index + 1, 1)
        found.append((max(cursor, start), min(following - timedelta(days=1), end)))
        cursor = following
    return found


def percent(part: int, whole: int) -> float | None:
    """One decimal place, halves rounded up; null when there is nothing to divide by."""
    if whole == 0:
        return None
    return float((Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def weeks(total_days: int, cases: int) -> float | None:
    if cases == 0:
        return None
    return float((Decimal(total_days) / Decimal(cases) / 7).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


COUNTED = (
    "issued",
    "within",
    "issued_ex",
    "within_ex",
    "band_20_52",
    "band_52",
    "total_days",
    "decided",
    "decided_in_time",
    "meetings",
    "review_in_time",
    "review_late",
    "review_pending",
)


@dataclass
class Tally:
    issued: int = 0
    within: int = 0
    issued_ex: int = 0
    within_ex: int = 0
    band_20_52: int = 0
    band_52: int = 0
    total_days: int = 0
    decided: int = 0
    decided_in_time: int = 0
    meetings: int = 0
    review_in_time: int = 0
    review_late: int = 0
    review_pending: int = 0

    def add(self, row: dict[str, Any]) -> None:
        for name in COUNTED:
            if name in row:
                setattr(self, name, getattr(self, name) + int(row[name] or 0))

    def as_period(self, start: date, end: date, covered_since: date | None) -> dict[str, Any]:
        return {
            "period_start_on": start,
            "period_end_on": end,
            "covered": covered_since is not None and start >= covered_since,
            "plans_issued": self.issued,
            "issued_within_20_weeks": self.within,
            "pct_within_20_weeks": percent(self.within, self.issued),
            "plans_issued_excl_exceptions": self.issued_ex,
            "issued_within_20_weeks_excl_exceptions": self.within_ex,
            "pct_within_20_weeks_excl_exceptions": percent(self.within_ex, self.issued_ex),
            "over_20_under_52_weeks": self.band_20_52,
            "over_52_weeks": self.band_52,
            "avg_weeks": weeks(self.total_days, self.issued),
            "decisions_due": self.decided,
            "decided_within_6_weeks": self.decided_in_time,
            "pct_decided_within_6_weeks": percent(self.decided_in_time, self.decided),
            "review_meetings": self.meetings,
            "review_decisions_within_4_weeks": self.review_in_time,
            "review_decisions_late": self.review_late,
            "review_decisions_pending": self.review_pending,
            "pct_review_decisions_within_4_weeks": percent(self.review_in_time, self.review_in_time + self.review_late),
        }


async def report(
    reads: Reads, *, partnership_id: uuid.UUID, start: date, end: date, granularity: Granularity, recorded_by: datetime = EVER
) -> dict[str, Any]:
    cohort, backlog = STATEMENTS[reads.dialect]
    params = {"partnership_id": partnership_id, "from_on": start, "to_on": end, "recorded_by": recorded_by}
    decisions, reviews, overdue = MORE_STATEMENTS[reads.dialect]
    spans = periods(start, end, granularity)
    tallies = [Tally() for _ in spans]
    _spread(await reads.rows(cohort, params, cache_key=("ehcp-cohort", reads.dialect)), "issued_on", spans, tallies)
    _spread(await reads.rows(reviews, params, cache_key=("ehcp-reviews", reads.dialect)), "met_on", spans, tallies)
    received = await reads.rows(
        decisions, {**params, "received_from": start - timedelta(days=DECISION_DAYS)}, cache_key=("ehcp-decisions", reads.dialect)
    )
    deadlines = [r | {"due_on": as_date(r["received_on"]) + timedelta(days=DECISION_DAYS)} for r in received]
    _spread([r for r in deadlines if start <= r["due_on"] <= end], "due_on", spans, tallies)
    year_before = _year_before(end)
    overdue_reviews = (
        await reads.rows(overdue, {**params, "year_before": year_before}, cache_key=("ehcp-overdue-reviews", reads.dialect))
    )[0]
    open_cases = (await reads.rows(backlog, {**params, "as_of": end}, cache_key=("ehcp-backlog", reads.dialect)))[0]
    first = (await reads.rows(FIRST_REQUEST, params, cache_key="ehcp-first-request"))[0]["first_on"]
    since = covered_from(as_date(first) if first is not None else None)
    return {
        "partnership_id": partnership_id,
        "from_on": start,
        "to_on": end,
        "granularity": granularity,
        "covered_from": since,
        "periods": [t.as_period(s, e, since) for t, (s, e) in zip(tallies, spans, strict=True)],
        "backlog": {"as_of": end, "total": int(open_cases["total"]), "with_exception": int(open_cases["with_exception"] or 0)},
        "annual_reviews_overdue": {"as_of": end, "total": int(overdue_reviews["total"])},
    }


def _spread(daily: list[dict[str, Any]], day: str, spans: list[tuple[date, date]], tallies: list[Tally]) -> None:
    """Add each day's counts to the period holding that day."""
    index = 0
    for row in sorted(daily, key=lambda r: as_date(r[day])):
        on = as_date(row[day])
        while spans[index][1] < on:
            index += 1
        tallies[index].add(row)


def _year_before(day: date) -> date:
    """The same day a year earlier (28 February for 29 February): a review anchored before it is overdue on `day`."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)
