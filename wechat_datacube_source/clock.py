"""Beijing-time calendar: which day is the newest one WeChat has finished computing."""

from datetime import date, datetime, timedelta, timezone
from typing import Optional

from .settings import BEIJING, DATA_READY_HOUR


def beijing_now(now: Optional[datetime] = None) -> datetime:
    """`now` (aware, any zone; default the system clock) as Beijing wall time."""
    return (now or datetime.now(timezone.utc)).astimezone(BEIJING)


def last_complete_day(now: Optional[datetime] = None) -> date:
    """Yesterday in Beijing once it is 08:00 there, else the day before; never today.

    WeChat computes a day's statistics overnight and asks callers to query the previous day
    only after 08:00 (reference §1.2), so before that hour yesterday is not final yet.
    """
    local = beijing_now(now)
    days_back = 1 if local.hour >= DATA_READY_HOUR else 2
    return local.date() - timedelta(days=days_back)
