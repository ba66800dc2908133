"""EHC plan timeliness from case events, computed by the database (CONTRACT.md "Integration endpoints").

The rules are the DfE's for its SEN2 statistics (DOMAIN.md §3.3, §6.4):
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
from sqlmodel import col

from app.core.reads import Reads, as_date
from app.models import CaseEvent
from app.models.base import UTCDateTime
from app.models.enums import CaseEventType

DEADLINE_DAYS = 140  # 20 weeks
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


def first_request_statement() -> Any:
    """The first request held (recorded by `:recorded_by`): the start of the case system's coverage."""
    return select(func.min(col(CaseEvent.occurred_on)).label("first_on")).where(
        col(CaseEvent.partnership_id) == bindparam("partnership_id"),
        col(CaseEvent.type) == T.request_received.value,
        col(CaseEvent.received_at) <= bindparam("recorded_by", type_=UTCDateTime()),
    )


STATEMENTS = {d: (cohort_statement(d), backlog_statement(d)) for d in ("postgresql", "sqlite")}
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


@dataclass
class Tally:
    issued: int = 0
    within: int = 0
    issued_ex: int = 0
    within_ex: int = 0
    band_20_52: int = 0
    band_52: int = 0
    total_days: int = 0

    def add(self, row: dict[str, Any]) -> None:
        for name in ("issued", "within", "issued_ex", "within_ex", "band_20_52", "band_52", "total_days"):
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
        }


async def report(
    reads: Reads, *, partnership_id: uuid.UUID, start: date, end: date, granularity: Granularity, recorded_by: datetime = EVER
) -> dict[str, Any]:
    cohort, backlog = STATEMENTS[reads.dialect]
    params = {"partnership_id": partnership_id, "from_on": start, "to_on": end, "recorded_by": recorded_by}
    daily = await reads.rows(cohort, params, cache_key=("ehcp-cohort", reads.dialect))
    spans = periods(start, end, granularity)
    tallies = [Tally() for _ in spans]
    index = 0
    for row in sorted(daily, key=lambda r: as_date(r["issued_on"])):
        issued_on = as_date(row["issued_on"])
        while spans[index][1] < issued_on:
            index += 1
        tallies[index].add(row)
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
    }
