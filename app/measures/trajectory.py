"""Where a measure should be by a date, and whether its latest observation is on track.

Expected values follow the measure's trajectory: linear from the baseline to the target by default,
or straight lines through explicit trajectory points (after improvement plans that set
month-by-month trajectories towards a target). Before the baseline date the baseline is expected;
after the target date, the target.

Status of the latest observation, compared with the value expected at the end of its period
("better" follows the measure's direction):
- `no_data`: no observation whose period ended within the last two reporting periods;
- `off_track`: worse than the baseline, or short of the expected value by more than twice the tolerance;
- `on_track`: at or better than the expected value, or short of it by no more than the tolerance;
- `behind`: otherwise.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from app.core.reads import as_date
from app.models.enums import Direction, Frequency, MeasureStatus

PERIOD_DAYS = {Frequency.weekly: 7, Frequency.monthly: 31, Frequency.quarterly: 92, Frequency.annual: 366}


@dataclass(frozen=True, slots=True)
class Assessment:
    status: MeasureStatus
    expected_value: float | None


def points(measure: dict[str, Any]) -> list[tuple[date, float]]:
    inner = [(as_date(p["on"]), float(p["value"])) for p in measure.get("trajectory") or []]
    return [
        (as_date(measure["baseline_on"]), float(measure["baseline_value"])),
        *inner,
        (as_date(measure["target_on"]), float(measure["target_value"])),
    ]


def expected(measure: dict[str, Any], on: date) -> float:
    line = points(measure)
    if on <= line[0][0]:
        return line[0][1]
    for (start, a), (end, b) in pairwise(line):
        if on <= end:
            return a + (b - a) * (on - start).days / (end - start).days
    return line[-1][1]


def assess(measure: dict[str, Any], latest_value: float | None, latest_end_on: date | None, today: date) -> Assessment:
    """The measure's status on `today` from its latest observation (value and period end)."""
    window = timedelta(days=2 * PERIOD_DAYS[Frequency(measure["frequency"])])
    if latest_value is None or latest_end_on is None or latest_end_on < today - window:
        return Assessment(MeasureStatus.no_data, round(expected(measure, today), 2))
    target = expected(measure, latest_end_on)
    sign = 1 if measure["direction"] == Direction.higher_is_better else -1
    shortfall = round(sign * (target - latest_value), 9)  # > 0: worse than expected (rounded: no float noise at the edges)
    tolerance = float(measure["tolerance"])
    if sign * (latest_value - float(measure["baseline_value"])) < 0 or shortfall > 2 * tolerance:
        status = MeasureStatus.off_track
    elif shortfall <= tolerance:
        status = MeasureStatus.on_track
    else:
        status = MeasureStatus.behind
    return Assessment(status, round(target, 2))
