"""Learned spans: how many days one request of an endpoint asks, as WeChat has answered.

The docs disagree on spans (reference §0, §11): the old pages allow 3 days of `getuserread`
and 30 of the period endpoints, the current ones say nothing or one period, a third-party CLI
uses 1. Asking the narrowest reading costs about a fifth more calls of a backfill than the
widest, and calls are what WeChat's daily quota counts. So an endpoint starts at the widest span
any source states (`Endpoint.spans`), moves to the next narrower one when WeChat answers
`61501`, and remembers in its state both the span it asks and the widest request WeChat has
accepted, so that later runs start from what is known. It never asks wider than the widest
source: a wider request proves nothing the docs would back.

A window wider than any WeChat has accepted is asked alone (nothing else of the endpoint in
flight), so a span WeChat refuses costs one refused call, not one per window in flight.
"""

from typing import Any, Dict

from .catalog import Endpoint
from .windows import Window

SPAN_KEY = "span"
"""Where the resource state keeps `{"days": asked, "accepted": widest accepted}`."""


class LearnedSpan:
    """The span one endpoint asks, kept in `state` (a bounded backfill passes a dict of its
    own: it learns for the run and changes no state)."""

    def __init__(self, endpoint: Endpoint, state: Dict[str, Any]) -> None:
        self.endpoint = endpoint
        self._state = state
        widest = endpoint.widest_span
        stored = state.get(SPAN_KEY)
        stored = stored if isinstance(stored, dict) else {}
        self.days = min(_days(stored.get("days"), widest), widest)
        """The span the next windows are cut at."""
        self.accepted = min(_days(stored.get("accepted"), 0), self.days)
        """The most days of one request WeChat has answered without `61501`."""

    def proven(self, window: Window) -> bool:
        """Whether WeChat has accepted a request as wide as `window`: if not, it is asked
        with nothing else of the endpoint in flight."""
        return window.days <= max(self.accepted, 1)

    def accepted_window(self, window: Window) -> None:
        if window.days > self.accepted:
            self.accepted = window.days
            self._save()

    def refused(self, window: Window) -> bool:
        """WeChat answered `61501` to `window`: the span narrows below it. False when the
        window is a single day or period, which no span can narrow."""
        if window.days <= 1:
            return False
        self.days = min(self.days, self.endpoint.narrower_span(window.days))
        self.accepted = min(self.accepted, self.days)
        self._save()
        return True

    def one_period(self) -> None:
        """WeChat answered a request of several weeks or months with fewer of them: one
        period a request from now on."""
        self.days, self.accepted = 1, 1
        self._save()

    def _save(self) -> None:
        self._state[SPAN_KEY] = {"days": self.days, "accepted": self.accepted}


def _days(value: Any, default: int) -> int:
    """A stored day count, or `default` for anything else (state edited by hand, or older)."""
    counts = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if counts else default
