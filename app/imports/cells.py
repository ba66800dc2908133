"""What a tracker's cells say, in the service's terms: dates written as dates or as text, RAG and status as words.

Each reader returns the value or raises `CellError` with the reason a person can act on; nothing here guesses
beyond what a council's tracker plainly means. A plan must never look better than it is, so a split RAG
("Amber/Red") reads as the worse of the two.
"""

import calendar
import re
from datetime import date, datetime
from typing import TypeVar

from app.models.enums import ActionStatus, ConcernKind, Direction, MeasureUnit, MilestoneStatus, Priority, Rag

T = TypeVar("T")


class CellError(ValueError):
    """The cell holds something the import cannot read; the message says what it expected."""


def _word(value: object) -> str:
    return re.sub(r"[\s_]+", " ", str(value)).strip().casefold()


MONTHS = {name.casefold(): i for i, name in enumerate(calendar.month_name) if name} | {
    name.casefold(): i for i, name in enumerate(calendar.month_abbr) if name
} | {"sept": 9}  # fmt: skip

_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_WORDY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?[\s\-]+([a-z]+)\.?,?[\s\-]+(\d{2}|\d{4})$")
_MONTH_YEAR = re.compile(r"^([a-z]+)\.?[\s\-/']+(\d{2}|\d{4})$")
_NUMERIC_MONTH = re.compile(r"^(?:(\d{1,2})/(\d{4})|(\d{4})-(\d{1,2}))$")


def _year(text: str) -> int:
    return 2000 + int(text) if len(text) == 2 else int(text)


def _month_of(word: str) -> int:
    month = MONTHS.get(word)
    if month is None:
        raise CellError(f"{word!r} is not a month")
    return month


def parse_date(value: object) -> date:
    """An Excel date, or text as UK trackers write it: 31/03/2025, 31-03-25, 31 March 2025, 31st Mar 2025, 2025-03-31.
    A month alone ("March 2025", "Mar-25") means its last day: "by March 2025" is by the end of March."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)):
        raise CellError("a number, not a date (format the cell as a date, or write it as 31/03/2025)")
    text = _word(value)
    try:
        if m := _DAY_FIRST.match(text):
            return date(_year(m[3]), int(m[2]), int(m[1]))
        if m := _ISO.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _WORDY.match(text):
            return date(_year(m[3]), _month_of(m[2]), int(m[1]))
        if m := _MONTH_YEAR.match(text):
            year, month = _year(m[2]), _month_of(m[1])
            return date(year, month, calendar.monthrange(year, month)[1])
    except (ValueError, OverflowError) as exc:
        raise CellError(f"{value!r} is not a real date ({exc})") from exc
    raise CellError(f"{value!r} is not a date (write it as 31/03/2025 or 31 March 2025, or format the cell as a date)")


def parse_month(value: object) -> tuple[date, date]:
    """A history column's heading as a calendar month: an Excel date, "Apr 2025", "April 2025", "Apr-25", "04/2025"."""
    if isinstance(value, (date, datetime)):
        day = value.date() if isinstance(value, datetime) else value
        year, month = day.year, day.month
    else:
        text = _word(value)
        if m := _NUMERIC_MONTH.match(text):
            year, month = (int(m[2]), int(m[1])) if m[1] else (int(m[3]), int(m[4]))
        elif m := _MONTH_YEAR.match(text):
            year, month = _year(m[2]), _month_of(m[1])
        else:
            raise CellError(f"{value!r} is not a month (write it as Apr 2025, or put the month's first day in the cell)")
        if not 1 <= month <= 12:
            raise CellError(f"{value!r} is not a month")
    try:
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    except ValueError as exc:  # year 0
        raise CellError(f"{value!r} is not a real month ({exc})") from exc


def _lookup(value: object, words: dict[str, T], what: str) -> T:
    word = _word(value)
    if word in words:
        return words[word]
    accepted = ", ".join(sorted({w for w in words if len(w) > 1}))
    raise CellError(f"{value!r} is not a {what} this import knows; use one of: {accepted}")


STATUS_WORDS: dict[str, ActionStatus] = {
    **dict.fromkeys(["not started", "not yet started", "to start", "planned", "not due"], ActionStatus.not_started),
    **dict.fromkeys(
        ["in progress", "ongoing", "on track", "started", "underway", "under way", "delayed", "at risk", "behind", "off track"],
        ActionStatus.in_progress,
    ),
    **dict.fromkeys(["complete", "completed", "done", "achieved", "closed", "delivered"], ActionStatus.completed),
    **dict.fromkeys(["on hold", "suspended", "paused"], ActionStatus.suspended),
    **dict.fromkeys(["cancelled", "canceled", "withdrawn", "stopped", "no longer required"], ActionStatus.cancelled),
    **{s.value.replace("_", " "): s for s in ActionStatus},
}

MILESTONE_WORDS: dict[str, MilestoneStatus] = {
    **dict.fromkeys(["pending", "not yet due", "not due", "in progress", "open", "planned"], MilestoneStatus.pending),
    **dict.fromkeys(["met", "achieved", "complete", "completed", "done", "delivered"], MilestoneStatus.met),
    **dict.fromkeys(["missed", "not met", "overdue", "late"], MilestoneStatus.missed),
    **dict.fromkeys(["reprogrammed", "rescheduled", "moved"], MilestoneStatus.reprogrammed),
}

PRIORITY_WORDS: dict[str, Priority] = {
    **{p.value: p for p in Priority},
    **dict.fromkeys(["h", "1", "urgent"], Priority.high),
    **dict.fromkeys(["m", "2"], Priority.medium),
    **dict.fromkeys(["l", "3"], Priority.low),
}

UNIT_WORDS: dict[str, MeasureUnit] = {
    **dict.fromkeys(["%", "percent", "percentage", "per cent", "rate"], MeasureUnit.percent),
    **dict.fromkeys(["count", "number", "no.", "no", "#", "total"], MeasureUnit.count_),
    **dict.fromkeys(["days", "day"], MeasureUnit.days),
    **dict.fromkeys(["weeks", "week", "wks"], MeasureUnit.weeks),
}

DIRECTION_WORDS: dict[str, Direction] = {
    **dict.fromkeys(["higher is better", "higher", "up", "increase", "increasing", "↑", "high"], Direction.higher_is_better),
    **dict.fromkeys(["lower is better", "lower", "down", "decrease", "reduce", "decreasing", "↓", "low"], Direction.lower_is_better),
    **{d.value.replace("_", " "): d for d in Direction},
}

_RAG_ORDER = [Rag.red, Rag.amber, Rag.green, Rag.blue]  # worst first
RAG_WORDS: dict[str, Rag] = {
    **dict.fromkeys(["red", "r"], Rag.red),
    **dict.fromkeys(["amber", "a", "yellow"], Rag.amber),
    **dict.fromkeys(["green", "g"], Rag.green),
    **dict.fromkeys(["blue", "b", "complete", "completed", "done"], Rag.blue),
}
NO_RAG = frozenset({"n/a", "na", "-", "not started", "not rated", "tbc"})


CONCERN_KIND_WORDS: dict[str, ConcernKind] = {
    **{k.value.replace("_", " "): k for k in ConcernKind},
    **dict.fromkeys(["asw", "aow", "significant weakness", "weakness"], ConcernKind.area_of_significant_weakness),
    **dict.fromkeys(["apa", "afpa", "priority action"], ConcernKind.area_for_priority_action),
    **dict.fromkeys(["afi", "improvement"], ConcernKind.area_for_improvement),
}


def concern_kind(value: object) -> ConcernKind:
    return _lookup(value, CONCERN_KIND_WORDS, "kind of concern")


def status(value: object) -> ActionStatus:
    return _lookup(value, STATUS_WORDS, "status")


def milestone_status(value: object) -> MilestoneStatus:
    return _lookup(value, MILESTONE_WORDS, "milestone status")


def priority(value: object) -> Priority:
    return _lookup(value, PRIORITY_WORDS, "priority")


def unit(value: object) -> MeasureUnit:
    return _lookup(value, UNIT_WORDS, "unit")


def direction(value: object) -> Direction:
    return _lookup(value, DIRECTION_WORDS, "direction")


def rag(value: object) -> Rag | None:
    """A RAG as a word or letter; "Amber/Red", "Red-Amber" and the like read as the worse colour; "n/a" as none."""
    word = _word(value)
    if word in NO_RAG:
        return None
    parts = [p for p in re.split(r"\s*[/\-]\s*|\s+", word) if p]
    colours = [RAG_WORDS.get(p) for p in parts] if len(parts) > 1 else [RAG_WORDS.get(word)]
    if not colours or any(c is None for c in colours):
        raise CellError(f"{value!r} is not a RAG rating; use Red, Amber, Green or Blue (complete)")
    return min((c for c in colours if c is not None), key=_RAG_ORDER.index)


NO_VALUE = frozenset({"-", "n/a", "na", "tbc", "not available", "nil return", "..", "x"})


def number(value: object, *, percent_unit: bool = False, number_format: str = "General") -> float | None:
    """A figure: a number cell (a cell formatted as a percentage holds a fraction: 0.45 is 45 when the measure is a
    percentage), or text such as "45%", "1,204" or "12.5"; "-", "n/a" and the like are no figure."""
    if isinstance(value, bool):
        raise CellError("true/false, not a number")
    if isinstance(value, (int, float)):
        figure = float(value)
        return figure * 100 if percent_unit and "%" in number_format else figure
    word = _word(value)
    if word in NO_VALUE:
        return None
    text = word.replace(",", "").replace("£", "").strip()
    if text.endswith("%"):
        text = text[:-1].strip()
    try:
        return float(text)
    except ValueError as exc:
        raise CellError(f"{value!r} is not a number") from exc


_DECIMALS = re.compile(r"^0\.(0+)$")


def text(value: object, number_format: str = "General") -> str:
    """A cell as the sheet shows it: a reference typed as a number formatted `0.00` is `1.10`, not `1.1`."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and (places := _DECIMALS.match(number_format)):
        return f"{value:.{len(places[1])}f}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


_CONCERN = re.compile(
    r"^(?:area of (?:significant )?weakness|aow|asw|area for priority action|afpa|apa|priority|concern|weakness)?\s*"
    r"(?P<ref>[a-z]{0,4}[\s\-]?\d+(?:\.\d+)*)\s*(?:[:.)\-–—]\s*|\s+)(?P<title>\S.*)$",
    re.IGNORECASE | re.DOTALL,
)


def concern(value: object) -> tuple[str, str | None]:
    """A cell naming the area of weakness in one go, as trackers do: "W1: Timeliness of EHC plans", "1. Timeliness",
    "AOW 2 - Joint commissioning". Returns the reference and the title (None when the cell holds a reference only)."""
    written = text(value)
    m = _CONCERN.match(written)
    if m is None:
        if re.fullmatch(r"[A-Za-z]{0,4}[\s\-]?\d+(?:\.\d+)*", written):
            return written.replace(" ", ""), None
        raise CellError(f"{written[:60]!r} does not start with the concern's reference (write it as 'W1: title' or '1. title')")
    return m["ref"].replace(" ", "").upper(), m["title"].strip()
