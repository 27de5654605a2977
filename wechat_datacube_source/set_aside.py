"""Windows set aside: a body that never parses must not block its endpoint for good.

The first window that fails stops its endpoint, so the next run resumes there with no gap. A
window whose body fails to parse the same way run after run would stop it forever: every later
day would wait behind it. So a window that meets the same payload problem (a shape the parser
refuses, a body that is no JSON) on `set_aside_after_failures` runs in a row is set aside: its
body stays in `raw_responses`, `sync_log` names it (`partial`) on every run until it lands, and
the endpoint moves on past it. A set-aside window is asked again on each later run, one call,
and lands as soon as it parses (a parser fix, or WeChat answering it better). Transient and API
errors never set a window aside: retrying them is the cure.

The count lives in the endpoint's resource state, so it moves with the pipeline's state (and
is rewound with it when a load is aborted).
"""

from dataclasses import dataclass
from datetime import date
from typing import Any, Dict, List, Optional

from .catalog import Endpoint
from .windows import Window, window_of

STATE_KEY = "payload_failures"
"""{"2026-06-01..2026-06-07": {"problem": "...", "runs": 2}} in the resource state."""


@dataclass
class PayloadFailures:
    """One endpoint's windows that failed to parse, and those set aside."""

    endpoint: Endpoint
    state: Dict[str, Any]
    """The endpoint's resource state."""
    threshold: int

    def _entries(self) -> Dict[str, Dict[str, Any]]:
        entries: Dict[str, Dict[str, Any]] = self.state.setdefault(STATE_KEY, {})
        return entries

    def failed(self, window: Window, problem: str) -> bool:
        """Counts this run's failure of `window`; True if the window is (now) set aside."""
        entries = self._entries()
        earlier = entries.get(str(window))
        runs = earlier["runs"] + 1 if earlier and earlier["problem"] == problem else 1
        entries[str(window)] = {"problem": problem, "runs": runs}
        return runs >= self.threshold

    def has(self, window: Window) -> bool:
        """Whether `window` failed to parse on an earlier run (and has not landed since)."""
        return str(window) in self.state.get(STATE_KEY, {})

    def landed(self, window: Window) -> bool:
        """Forgets `window`'s failures now that it landed; True if it had been set aside."""
        entries = self.state.get(STATE_KEY)
        if not entries or str(window) not in entries:
            return False
        was_set_aside = bool(entries.pop(str(window))["runs"] >= self.threshold)
        if not entries:
            del self.state[STATE_KEY]
        return was_set_aside

    def set_aside(self) -> List[Window]:
        """The windows set aside, oldest first."""
        windows = []
        for text, entry in self.state.get(STATE_KEY, {}).items():
            if entry["runs"] >= self.threshold:
                begin, _, end = text.partition("..")
                windows.append(
                    window_of(self.endpoint, date.fromisoformat(begin), date.fromisoformat(end))
                )
        return sorted(windows, key=lambda window: window.begin)

    def describe(self) -> Optional[str]:
        """What `sync_log.message` says while windows are set aside."""
        entries = {
            text: entry
            for text, entry in self.state.get(STATE_KEY, {}).items()
            if entry["runs"] >= self.threshold
        }
        if not entries:
            return None
        listed = "; ".join(
            f"{text} ({entry['problem']})" for text, entry in sorted(entries.items())
        )
        return (
            f"{len(entries)} window(s) set aside after failing to parse on "
            f"{self.threshold} runs in a row, their bodies kept in raw_responses and asked "
            f"again on every run: {listed}"
        )
