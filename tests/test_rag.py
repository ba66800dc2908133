"""The contract's RAG rule, property by property, at its 30-day edges."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.models.enums import ActionStatus, Rag
from app.plans.rag import assess, derive

TODAY = date(2026, 6, 15)
days = st.integers(min_value=-400, max_value=400)
statuses = st.sampled_from(list(ActionStatus))
maybe = st.one_of(st.none(), days)


def on(offset: int | None) -> date | None:
    return None if offset is None else TODAY + timedelta(days=offset)


@given(status=statuses, start=maybe, due=maybe, forecast=maybe)
def test_rag_follows_the_contract(status: ActionStatus, start: int | None, due: int | None, forecast: int | None) -> None:
    h = derive(status=status, planned_start_on=on(start), due_on=on(due), forecast_on=on(forecast), today=TODAY)
    if status == ActionStatus.completed:
        assert h.rag == Rag.blue and not h.is_overdue
        return
    overdue = status not in (ActionStatus.suspended, ActionStatus.cancelled) and due is not None and due < 0
    assert h.is_overdue == overdue
    assert h.days_overdue == (-due if overdue and due is not None else 0)
    slip = forecast - due if forecast is not None and due is not None else 0
    late_start = status == ActionStatus.not_started and start is not None and start < 0
    if h.days_overdue > 30 or slip > 30:
        assert h.rag == Rag.red
    elif overdue or slip > 0 or late_start:
        assert h.rag == Rag.amber
    else:
        assert h.rag == Rag.green
    assert h.is_slipping == (not overdue and (slip > 0 or late_start))


def test_thirty_day_edges() -> None:
    def rag(due: int, forecast: int | None = None) -> Rag:
        return derive(status="in_progress", planned_start_on=None, due_on=on(due), forecast_on=on(forecast), today=TODAY).rag

    assert rag(-30) == Rag.amber and rag(-31) == Rag.red and rag(0) == Rag.green and rag(-1) == Rag.amber
    assert rag(10, 40) == Rag.amber and rag(10, 41) == Rag.red and rag(10, 10) == Rag.green


def test_variance_counts_delivery_against_the_baseline() -> None:
    def variance(
        status: str, due: int | None, forecast: int | None = None, completed: int | None = None, baseline: int | None = -30
    ) -> int | None:
        row = {
            "status": status,
            "due_on": on(due),
            "baseline_due_on": on(baseline),
            "forecast_on": on(forecast),
            "completed_on": on(completed),
        }
        return assess(row, TODAY).variance_days

    assert variance("in_progress", due=10) == 40  # moved 40 days
    assert variance("in_progress", due=10, forecast=25) == 55  # forecast later still
    assert variance("in_progress", due=-30) == 30  # never moved, 30 days overdue: delivery is today at the earliest
    assert variance("completed", due=10, completed=-20) == 10  # done 10 days after the baseline
    assert variance("suspended", due=-30) == 0  # stopped: its due date
    assert variance("in_progress", due=10, baseline=None) is None


@given(status=statuses, start=maybe, due=maybe, forecast=maybe, baseline=maybe)
def test_the_baseline_rag_is_the_rule_against_the_baseline(
    status: ActionStatus, start: int | None, due: int | None, forecast: int | None, baseline: int | None
) -> None:
    row = {"status": status, "planned_start_on": on(start), "due_on": on(due), "baseline_due_on": on(baseline), "forecast_on": on(forecast)}
    found = assess(row, TODAY)
    against = derive(
        status=status, planned_start_on=on(start), due_on=on(due if baseline is None else baseline), forecast_on=on(forecast), today=TODAY
    )
    assert found.baseline_rag == against.rag
    assert found.rag == derive(status=status, planned_start_on=on(start), due_on=on(due), forecast_on=on(forecast), today=TODAY).rag
