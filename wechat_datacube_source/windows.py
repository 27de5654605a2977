"""Date windows: split an inclusive day range into the requests an endpoint accepts.

A window never exceeds the span it is cut at, never starts before the endpoint's earliest date
and never ends after the requested end. Daily and hourly endpoints take runs of days; weekly
and monthly endpoints take runs of complete periods, each asked by its first day (the date
WeChat labels the period's row with): `begin` is the first period's first day and `end` the
last period's, so that every label asked for is inside the range WeChat checks against the
span (a 30-day span holds five weeks, a 1-day span one period).

The span a window is cut at is learned (`spans.py`), so the planner takes it as an argument;
`Walk` cuts its windows one at a time, so that a span that shrinks on the way applies to every
window not yet asked.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import List, Optional, Sequence, Tuple

from .catalog import Endpoint, Grain

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """One request's date range and what committing it proves."""

    begin: date
    end: date
    newest_label: date
    """The newest date a row of this window can be labelled with."""
    covers_through: date
    """The last calendar day whose data this window delivers (a period's last day)."""
    grain: Grain

    @property
    def days(self) -> int:
        """The calendar days of the range asked: what WeChat compares with the span."""
        return (self.end - self.begin).days + 1

    def __str__(self) -> str:
        return f"{self.begin.isoformat()}..{self.end.isoformat()}"

    @property
    def is_period(self) -> bool:
        """Weeks or months, each asked as its first day."""
        return self.covers_through > self.end

    def label_of(self, day: date) -> Optional[date]:
        """The date a row WeChat dated `day` lands under, or None if the window does not hold
        it. A day inside a requested week or month is that period's (the official samples
        date a week's rows on its Sunday), and lands under the period's first day."""
        if self.is_period:
            held = self.begin <= day <= self.covers_through
            return period_start(day, self.grain) if held else None
        return day if self.begin <= day <= self.end else None


def period_start(day: date, grain: Grain) -> date:
    """First day of the week (Monday) or month holding `day`; `day` itself for daily grains."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def period_end(start: date, grain: Grain) -> date:
    """Last day of the period that begins on `start`."""
    if grain == "week":
        return start + timedelta(days=6)
    if grain == "month":
        next_month = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return next_month - ONE_DAY
    return start


def first_label(endpoint: Endpoint, start: date) -> date:
    """The oldest date a row requested from `start` on can carry: not before the endpoint's
    floor, and for period grains the first day of the period holding `start`."""
    return period_start(max(start, endpoint.earliest), endpoint.grain)


def _units(endpoint: Endpoint, start: date, end: date) -> List[date]:
    """What `[start, end]` asks for, oldest first: its days, or the first days of its periods.

    For period grains the period holding `start` is included and only periods that are over
    by `end` are, since WeChat serves a week or month only after it ends."""
    units: List[date] = []
    unit = first_label(endpoint, start)
    while (last := period_end(unit, endpoint.grain)) <= end:
        units.append(unit)
        unit = last + ONE_DAY
    return units


def window_of(endpoint: Endpoint, begin: date, end: date) -> Window:
    """The window that asks `begin..end` of `endpoint` (as `str(window)` wrote it): the
    units (days, or first days of periods) from `begin` to `end`."""
    return _units_window((begin, end), endpoint.grain)


class Walk:
    """The windows over `[start, end]`, oldest first or newest first, each cut at `span` when
    it is taken: a span learned on the way (set `span`) applies to every window after."""

    def __init__(
        self,
        endpoint: Endpoint,
        start: date,
        end: date,
        span: int,
        newest_first: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.span = span
        units = _units(endpoint, start, end)
        self._units = units[::-1] if newest_first else units
        self._next = 0

    def __bool__(self) -> bool:
        return self._next < len(self._units)

    def peek(self) -> Optional[Window]:
        """The next window at the current span, without taking it."""
        return self._cut(self._next)[0] if self else None

    def take(self) -> Window:
        window, self._next = self._cut(self._next)
        return window

    def remaining(self) -> int:
        """Windows still to take, at the current span."""
        return len(self.windows())

    def windows(self) -> List[Window]:
        """Every window still to take, at the current span, in walk order."""
        windows, at = [], self._next
        while at < len(self._units):
            window, at = self._cut(at)
            windows.append(window)
        return windows

    def _cut(self, at: int) -> Tuple[Window, int]:
        """The window from unit `at` on, and the unit after it: as many units as the span
        holds (the span counts the days from the first unit asked to the last)."""
        units, first = self._units, self._units[at]
        last = at
        while last + 1 < len(units) and abs((units[last + 1] - first).days) < self.span:
            last += 1
        oldest, newest = sorted((first, units[last]))
        return window_of(self.endpoint, oldest, newest), last + 1


def plan_windows(
    endpoint: Endpoint, start: date, end: date, span: Optional[int] = None
) -> List[Window]:
    """Windows covering `[start, end]` (inclusive) in date order, at `span` (by default the
    widest the docs state for the endpoint)."""
    return Walk(endpoint, start, end, span or endpoint.widest_span).windows()


def split(window: Window, endpoint: Endpoint, span: int) -> List[Window]:
    """`window` cut again at a narrower `span`, in date order."""
    return plan_windows(endpoint, window.begin, window.covers_through, span)


def halve(window: Window) -> Tuple[Window, Window]:
    """Split a window of several days (or periods) in two, for a retry after `61501` or a
    window whose body fails to parse."""
    units = periods_of(window)
    if len(units) < 2:
        raise ValueError(f"window {window} cannot be split")
    middle = len(units) // 2
    first, second = units[:middle], units[middle:]
    return _units_window(first, window.grain), _units_window(second, window.grain)


def _units_window(units: Sequence[date], grain: Grain) -> Window:
    return Window(units[0], units[-1], units[-1], period_end(units[-1], grain), grain)


def periods_of(window: Window) -> List[date]:
    """The days, or the first days of the periods, that `window` asks for."""
    units, unit = [], window.begin
    while unit <= window.end:
        units.append(unit)
        unit = period_end(unit, window.grain) + ONE_DAY
    return units
