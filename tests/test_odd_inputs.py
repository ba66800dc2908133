"""Input the types allow but the database cannot hold is refused with a problem, never a 500."""

import uuid

import httpx
import pytest

from app.core.db import Database
from app.core.uow import unit_of_work

NUL = "a\u0000b"
HUGE = str(2**64)

CASES = [
    ("/api/v1/audit-events", {"actor_id": NUL}),
    ("/api/v1/audit-events", {"entity_type": NUL}),
    ("/api/v1/audit-events", {"action": NUL}),
    ("/api/v1/audit-events", {"after_seq": HUGE}),
    ("/api/v1/changes", {"after": HUGE}),
    ("/api/v1/changes", {"entity_type": NUL}),
    ("/api/v1/plans", {"updated_since": "0001-01-01T00:00:00+14:00"}),
    ("/api/v1/plans", {"updated_since": "9999-12-31T23:59:59-14:00"}),
    ("/api/v1/actions", {"cursor": "MDAwMS0wMS0wMVQwMDowMDowMCsxNDowMHwwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA"}),
    ("/api/v1/people", {"external_id": NUL}),
]


@pytest.mark.parametrize(("path", "params"), CASES)
async def test_odd_query_values_are_problems_not_500s(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> None:
    response = await client.get(path, params=params)
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_deeply_nested_body_is_a_problem_not_a_500(client: httpx.AsyncClient) -> None:
    body = '{"name": ' + "[" * 900 + "]" * 900 + "}"
    response = await client.post("/api/v1/organisations", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])


async def test_a_database_error_never_carries_the_values_it_was_given(db: Database) -> None:
    """`hide_parameters`: a failed statement's message (which reaches logs) names no value of the row, such as the
    e-mail of someone in an HR batch."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from app.models import Person

    row = {"partnership_id": uuid.uuid4(), "display_name": "Priya Raman", "email": "priya.raman@council.example"}
    with pytest.raises(IntegrityError) as failed:  # no such partnership: the foreign key refuses the row
        async with unit_of_work(db) as session:
            await session.execute(insert(Person).values(**row))
    assert "priya.raman@council.example" not in str(failed.value) and "Priya Raman" not in str(failed.value)


async def test_a_report_for_a_day_no_plan_can_have_is_a_422(client: httpx.AsyncClient) -> None:
    from tests.factories import make_world
    from tests.test_conventions import assert_problem

    w = await make_world(client)
    summary = await client.get(f"/api/v1/plans/{w.plan['id']}/summary", params={"as_of": "0001-01-01"})
    assert assert_problem(summary, 422)["errors"][0]["pointer"] == "/as_of"
    history = await client.get(f"/api/v1/plans/{w.plan['id']}/history", params={"from": "1066-10-14"})
    assert assert_problem(history, 422)["errors"][0]["pointer"] == "/from"
