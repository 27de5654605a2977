"""Date windows: split an inclusive day range into the requests an endpoint accepts.

A window never exceeds the endpoint's span, never starts before its earliest date and never
ends after the requested end. Daily and hourly endpoints take runs of days; weekly and monthly
endpoints take one request per complete period, `begin = end =` the period's first day, which
is the date WeChat labels the period's row with.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import List, Optional, Tuple

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

    @property
    def days(self) -> int:
        return (self.end - self.begin).days + 1

    def __str__(self) -> str:
        return f"{self.begin.isoformat()}..{self.end.isoformat()}"

    @property
    def is_period(self) -> bool:
        """One week or month, asked as its first day."""
        return self.covers_through > self.end

    def label_of(self, day: date) -> Optional[date]:
        """The date a row WeChat dated `day` lands under, or None if the window does not hold
        it. A day inside a requested week or month is that period's (the official samples
        date a week's rows on its Sunday), and lands under the period's first day."""
        if self.is_period:
            return self.begin if self.begin <= day <= self.covers_through else None
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


def plan_windows(endpoint: Endpoint, start: date, end: date) -> List[Window]:
    """Windows covering `[start, end]` (inclusive) in date order.

    For period grains the period holding `start` is included and only periods that are over by
    `end` are, since WeChat serves a week or month only after it ends.
    """
    first = first_label(endpoint, start)
    windows: List[Window] = []
    if endpoint.grain in ("week", "month"):
        begin = first
        while (last := period_end(begin, endpoint.grain)) <= end:
            windows.append(Window(begin, begin, begin, last))
            begin = last + ONE_DAY
        return windows
    span = timedelta(days=endpoint.span - 1)
    begin = first
    while begin <= end:
        last = min(begin + span, end)
        windows.append(Window(begin, last, last, last))
        begin = last + ONE_DAY
    return windows


def window_of(endpoint: Endpoint, begin: date, end: date) -> Window:
    """The window that asks `begin..end` of `endpoint` (as `str(window)` wrote it)."""
    if endpoint.grain in ("week", "month"):
        return Window(begin, begin, begin, period_end(begin, endpoint.grain))
    return Window(begin, end, end, end)


def halve(window: Window) -> Tuple[Window, Window]:
    """Split a multi-day daily window in two, for a retry after `61501 date range error`."""
    if window.days < 2 or window.newest_label != window.end:
        raise ValueError(f"window {window} cannot be split")
    middle = window.begin + timedelta(days=window.days // 2 - 1)
    first = Window(window.begin, middle, middle, middle)
    second = Window(middle + ONE_DAY, window.end, window.end, window.end)
    return first, second
