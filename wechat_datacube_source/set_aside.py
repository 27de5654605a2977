"""Windows set aside: a body that never parses must not block its endpoint for good.

The first window that fails stops its endpoint, so the next run resumes there with no gap. A
body that fails to parse the same way run after run would stop it forever: every later day
would wait behind it. So when the endpoint has stopped on the same payload problem (a shape the
parser refuses, a body that is no JSON) on `set_aside_after_failures` runs in a row, the window
is set aside: its body stays in `raw_responses`, `sync_log` names it (`partial`) on every run
until it lands, and the endpoint moves on past it. A set-aside window is asked again on each
later run, one call, and lands as soon as it parses (a parser fix, or WeChat answering it
better). Transient and API errors never set a window aside: retrying them is the cure.

Runs "in a row" stop at the same days, not always in the same window: the first run plans its
windows from `start_date`, later ones from the refresh window before the watermark, so the
window around the bad day may shift. A failure counts towards the previous one when its window
overlaps the previous one's and the problem is the same but for its numbers (a message may
quote the window, or a count that depends on its length).

A window of several days is not set aside whole: its halves are asked (then theirs), so only
the days that do not parse are set aside and the others land (`split`).

A bounded backfill (`end_date`) leaves state alone: it skips the windows set aside, naming
them, but counts nothing and sets nothing aside (`is_set_aside`).

Both live in the endpoint's resource state, so they move with the pipeline's state (and are
rewound with it when a load is aborted).
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Dict, List, Optional, Sequence

from .catalog import Endpoint
from .windows import Window, window_of

STREAK_KEY = "failing_window"
"""{"window": "2026-06-01..2026-06-07", "problem": "...", "runs": 2} in the resource state."""
SET_ASIDE_KEY = "set_aside_windows"
"""{"2026-06-01..2026-06-07": "the problem"} in the resource state."""

SET_ASIDE_NOTE = "set aside after failing to parse"
"""The words `sync_log.message` says set-aside windows with (the report finds them by it)."""


@dataclass
class PayloadFailures:
    """One endpoint's run of payload failures, and its windows set aside."""

    endpoint: Endpoint
    state: Dict[str, Any]
    """The endpoint's resource state."""
    threshold: int

    def failed(self, window: Window, problem: str) -> bool:
        """Counts this run's failure of `window`; True if the window is (now) set aside."""
        aside: Dict[str, str] = self.state.get(SET_ASIDE_KEY, {})
        if self.is_set_aside(window, problem):
            # (the days of a set-aside window asked in another shape: set aside in this one,
            # so that it can be split down to them)
            self.state[SET_ASIDE_KEY] = {str(window): problem, **aside}
            return True
        streak = self.state.get(STREAK_KEY)
        runs = 1
        if (
            streak
            and _shape(streak["problem"]) == _shape(problem)
            and _overlap(self._window(streak["window"]), window)
        ):
            runs = streak["runs"] + 1
        if runs >= self.threshold:
            self.state[SET_ASIDE_KEY] = {**aside, str(window): problem}
            self.state.pop(STREAK_KEY, None)
            return True
        self.state[STREAK_KEY] = {"window": str(window), "problem": problem, "runs": runs}
        return False

    def is_set_aside(self, window: Window, problem: str) -> bool:
        """Whether `window` failing with `problem` is a window set aside: the same one, or its
        days asked in a window of another shape failing the same way."""
        aside: Dict[str, str] = self.state.get(SET_ASIDE_KEY, {})
        return str(window) in aside or any(
            _shape(p) == _shape(problem) and _overlap(self._window(k), window)
            for k, p in aside.items()
        )

    def split(self, window: Window, halves: Sequence[Window]) -> None:
        """Sets aside `halves` instead of `window`: each lands, or is split again, on its own."""
        aside: Dict[str, str] = self.state[SET_ASIDE_KEY]
        problem = aside.pop(str(window))
        aside.update({str(half): problem for half in halves})

    def has(self, window: Window) -> bool:
        """Whether days of `window` failed to parse before (and have not landed since)."""
        streak = self.state.get(STREAK_KEY)
        return str(window) in self.state.get(SET_ASIDE_KEY, {}) or bool(
            streak and _overlap(self._window(streak["window"]), window)
        )

    def landed(self, window: Window) -> None:
        """Forgets what `window` landing settles: set-aside windows within it, and the run of
        failures once the endpoint got past it."""
        aside = self.state.get(SET_ASIDE_KEY, {})
        for text in [t for t in aside if _within(self._window(t), window)]:
            del aside[text]
        if SET_ASIDE_KEY in self.state and not aside:
            del self.state[SET_ASIDE_KEY]
        streak = self.state.get(STREAK_KEY)
        if streak and window.covers_through >= self._window(streak["window"]).covers_through:
            del self.state[STREAK_KEY]

    def set_aside(self) -> List[Window]:
        """The windows set aside, oldest first."""
        windows = [self._window(text) for text in self.state.get(SET_ASIDE_KEY, {})]
        return sorted(windows, key=lambda window: window.begin)

    def describe(self) -> Optional[str]:
        """What `sync_log.message` says while windows are set aside."""
        aside = self.state.get(SET_ASIDE_KEY, {})
        if not aside:
            return None
        listed = "; ".join(f"{text} ({problem})" for text, problem in sorted(aside.items()))
        return (
            f"{len(aside)} window(s) {SET_ASIDE_NOTE} on {self.threshold} runs in a row, their "
            f"bodies kept in raw_responses and asked again on every run: {listed}"
        )

    def _window(self, text: str) -> Window:
        begin, _, end = text.partition("..")
        return window_of(self.endpoint, date.fromisoformat(begin), date.fromisoformat(end))


def _shape(problem: str) -> str:
    """A problem without its numbers: the same failure, whatever window it quotes."""
    return re.sub(r"\d+", "#", problem)


def _overlap(one: Window, other: Window) -> bool:
    return one.begin <= other.covers_through and other.begin <= one.covers_through


def _within(inner: Window, outer: Window) -> bool:
    return outer.begin <= inner.begin and inner.covers_through <= outer.covers_through
