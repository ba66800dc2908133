"""Measures, observations and trajectories; funding lines in exact money."""

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.measures.trajectory import assess, expected
from app.models.enums import MeasureStatus
from app.partnerships.service import today_in
from tests.factories import make_concern, make_partnership, make_plan, post
from tests.test_conventions import assert_problem
from tests.test_lifecycle import patch

TODAY = today_in("Europe/London")
MEASURE: dict[str, Any] = {
    "direction": "higher_is_better",
    "baseline_value": 20.0,
    "baseline_on": "2026-01-01",
    "target_value": 80.0,
    "target_on": "2026-07-01",  # 181 days
    "tolerance": 5.0,
    "frequency": "monthly",
    "trajectory": [],
}


def test_expected_values_follow_the_trajectory() -> None:
    assert expected(MEASURE, date(2025, 12, 1)) == 20.0
    assert expected(MEASURE, date(2026, 7, 1)) == 80.0 == expected(MEASURE, date(2027, 1, 1))
    assert expected(MEASURE, date(2026, 1, 1) + timedelta(days=181 // 2)) == pytest.approx(20 + 60 * 90 / 181)
    stepped = {**MEASURE, "trajectory": [{"on": "2026-02-01", "value": 20.0}, {"on": "2026-06-01", "value": 70.0}]}
    assert expected(stepped, date(2026, 2, 1)) == 20.0  # flat first month, then steeper
    assert expected(stepped, date(2026, 4, 2)) == pytest.approx(20 + 50 * 60 / 120)


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (60.0, MeasureStatus.on_track),  # exactly expected
        (55.0, MeasureStatus.on_track),  # short by the tolerance
        (54.9, MeasureStatus.behind),
        (50.0, MeasureStatus.behind),  # short by exactly twice the tolerance
        (49.9, MeasureStatus.off_track),
        (19.0, MeasureStatus.off_track),  # worse than the baseline
        (95.0, MeasureStatus.on_track),
    ],
)
def test_status_rules_at_their_edges(value: float, status: MeasureStatus) -> None:
    measure = {**MEASURE, "trajectory": [{"on": "2026-04-30", "value": 60.0}]}
    assert assess(measure, value, date(2026, 4, 30), date(2026, 5, 10)).status is status


def test_lower_is_better_mirrors_the_rules() -> None:
    waits = {**MEASURE, "direction": "lower_is_better", "baseline_value": 40.0, "target_value": 20.0, "tolerance": 2.0}
    at = date(2026, 1, 1) + timedelta(days=181)
    assert assess(waits, 21.0, at, at).status is MeasureStatus.on_track
    assert assess(waits, 23.0, at, at).status is MeasureStatus.behind
    assert assess(waits, 41.0, date(2026, 2, 1), date(2026, 2, 1)).status is MeasureStatus.off_track


def test_no_data_when_the_latest_period_is_old() -> None:
    assert assess(MEASURE, None, None, date(2026, 5, 1)).status is MeasureStatus.no_data
    assert assess(MEASURE, 60.0, date(2026, 3, 1), date(2026, 3, 1) + timedelta(days=62)).status is not MeasureStatus.no_data
    assert assess(MEASURE, 60.0, date(2026, 3, 1), date(2026, 3, 1) + timedelta(days=63)).status is MeasureStatus.no_data


@given(st.floats(min_value=0, max_value=100), st.integers(min_value=0, max_value=400))
def test_status_is_monotonic_in_the_value(value: float, day: int) -> None:
    """A better value never gets a worse status."""
    rank = {MeasureStatus.off_track: 0, MeasureStatus.behind: 1, MeasureStatus.on_track: 2}
    on = date(2026, 1, 1) + timedelta(days=day)
    assert rank[assess(MEASURE, value, on, on).status] <= rank[assess(MEASURE, min(100.0, value + 1), on, on).status]


async def _plan(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    partnership = await make_partnership(client)
    plan = await make_plan(client, partnership)
    return plan, await make_concern(client, plan)


def _measure(plan: dict[str, Any], concern: dict[str, Any], **fields: Any) -> dict[str, Any]:
    start = TODAY - timedelta(days=180)
    return {
        "plan_id": plan["id"],
        "concern_ids": [concern["id"]],
        "name": "Plans issued within 20 weeks",
        "unit": "percent",
        "direction": "higher_is_better",
        "baseline_value": 20.0,
        "baseline_on": start.isoformat(),
        "target_value": 80.0,
        "target_on": (start + timedelta(days=360)).isoformat(),
        "tolerance": 5.0,
        **fields,
    }


async def test_a_measure_shows_its_latest_value_and_status(client: httpx.AsyncClient) -> None:
    plan, concern = await _plan(client)
    measure = await post(client, "measures", _measure(plan, concern))
    assert measure["status"] == "no_data" and measure["latest_value"] is None and measure["concern_ids"] == [concern["id"]]
    end = TODAY - timedelta(days=5)
    expected_then = 20 + 60 * (end - (TODAY - timedelta(days=180))).days / 360
    body = {"measure_id": measure["id"], "period_start_on": (end - timedelta(days=29)).isoformat(), "period_end_on": end.isoformat()}
    observation = await post(client, "observations", {**body, "value": round(expected_then - 7, 1), "numerator": 1, "denominator": 3})
    got = (await client.get(f"/api/v1/measures/{measure['id']}")).json()
    assert (got["latest_value"], got["latest_period_end_on"], got["status"]) == (observation["value"], end.isoformat(), "behind")
    assert got["expected_value"] == pytest.approx(expected_then, abs=0.01)
    assert_problem(await client.post("/api/v1/observations", json={**body, "value": 50.0}), 409, "/problems/duplicate")
    fixed = await patch(client, f"observations/{observation['id']}", {"value": round(expected_then + 1, 1)})
    assert fixed.status_code == 200
    assert (await client.get(f"/api/v1/measures/{measure['id']}")).json()["status"] == "on_track"
    listed = (await client.get("/api/v1/measures", params={"concern_id": concern["id"]})).json()["items"]
    assert [m["status"] for m in listed] == ["on_track"]


async def test_measure_and_observation_validation(client: httpx.AsyncClient) -> None:
    plan, concern = await _plan(client)
    bad = [
        _measure(plan, concern, target_on="2020-01-01", baseline_on="2020-01-01"),
        _measure(plan, concern, target_value=120.0),
        _measure(plan, concern, trajectory=[{"on": "1999-01-01", "value": 30.0}]),
        _measure(plan, concern, source="ehcp_timeliness", unit="count"),
        _measure(plan, concern, tolerance=-1),
    ]
    for body in bad:
        assert_problem(await client.post("/api/v1/measures", json=body), 422)
    other_plan = await make_plan(client, {"id": plan["partnership_id"]})
    assert_problem(await client.post("/api/v1/measures", json={**_measure(plan, concern), "plan_id": other_plan["id"]}), 422)
    measure = await post(client, "measures", _measure(plan, concern))
    base = {"measure_id": measure["id"], "period_start_on": "2026-02-01", "period_end_on": "2026-02-28"}
    for body in (
        {**base, "value": 101.0},
        {**base, "value": 50.0, "numerator": 4, "denominator": 3},
        {**base, "period_end_on": "2026-01-01", "value": 1.0},
    ):
        assert_problem(await client.post("/api/v1/observations", json=body), 422)
    assert (await client.get("/api/v1/observations", params={"measure_id": measure["id"]})).json()["items"] == []


async def test_timeliness_measures_refuse_hand_written_observations(client: httpx.AsyncClient) -> None:
    plan, concern = await _plan(client)
    measure = await post(client, "measures", _measure(plan, concern, source="ehcp_timeliness"))
    body = {"measure_id": measure["id"], "period_start_on": "2026-02-01", "period_end_on": "2026-02-28", "value": 50.0}
    assert_problem(await client.post("/api/v1/observations", json=body), 409, "/problems/computed-measure")


async def test_funding_lines_keep_exact_money(client: httpx.AsyncClient) -> None:
    plan, concern = await _plan(client)
    line = await post(
        client, "funding-lines", {"plan_id": plan["id"], "financial_year": "2018/19", "amount": "0.10", "purpose": "x", "kind": "spend"}
    )
    assert line["amount"] == "0.10"
    big = await post(
        client,
        "funding-lines",
        {"plan_id": plan["id"], "financial_year": "2017/18", "amount": 93200, "purpose": "Contingency", "kind": "allocation"},
    )
    assert big["amount"] == "93200.00"
    assert (await client.get(f"/api/v1/funding-lines/{big['id']}")).json()["amount"] == "93200.00"
    for body in (
        {"financial_year": "2018/20", "amount": "1.00"},
        {"financial_year": "2018/19", "amount": "1.001"},
        {"financial_year": "2018/19", "amount": "-1.00"},
        {"financial_year": "2018/19", "amount": "NaN"},
    ):
        response = await client.post("/api/v1/funding-lines", json={"plan_id": plan["id"], "purpose": "x", "kind": "spend", **body})
        assert_problem(response, 422)
    other = await make_plan(client, {"id": plan["partnership_id"]})
    action = await post(client, "actions", {"plan_id": plan["id"], "ref": "1.1", "title": "A", "concern_ids": [concern["id"]]})
    wrong = {
        "plan_id": other["id"],
        "financial_year": "2018/19",
        "amount": "5.00",
        "purpose": "x",
        "kind": "spend",
        "action_id": action["id"],
    }
    assert assert_problem(await client.post("/api/v1/funding-lines", json=wrong), 422)["errors"][0]["pointer"] == "/action_id"


async def test_a_measure_keeps_its_source_once_observed(client: httpx.AsyncClient) -> None:
    plan, concern = await _plan(client)
    measure = await post(client, "measures", _measure(plan, concern))
    assert (await patch(client, f"measures/{measure['id']}", {"source": "survey"})).status_code == 200
    body = {"measure_id": measure["id"], "period_start_on": "2026-02-01", "period_end_on": "2026-02-28", "value": 50.0}
    await post(client, "observations", body)
    refused = await patch(client, f"measures/{measure['id']}", {"source": "ehcp_timeliness"})
    assert assert_problem(refused, 409)["errors"][0]["pointer"] == "/source"
