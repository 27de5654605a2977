"""Live counts of the account runs of this process, for whatever shows progress.

The source has no console of its own: it counts, and a command (the `wechat-datacube`
progress display), a notebook or a scheduler reads `recent_runs()` whenever it likes. A
backfill of years plans thousands of windows; counting them here is what lets a display say
how much is done and how long the rest will take, where the log only said which endpoint had
finished.
"""

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Deque, List, Optional

from .transport import CallCounter

_KEPT_RUNS = 64
"""Runs remembered (a long-lived worker runs many); the oldest are forgotten first."""


@dataclass
class RunProgress:
    """One account run's progress: windows planned and done, rows, calls. Updated by the
    run's endpoints, read at any time from any thread."""

    run_id: str
    app_id: str
    calls: CallCounter = field(default_factory=CallCounter)
    """The endpoints' calls so far, retries included (as `sync_log.api_calls` counts them:
    a token request is no endpoint's)."""
    started: float = field(default_factory=time.monotonic)
    windows_planned: int = 0
    windows_done: int = 0
    windows_failed: int = 0
    """Of those done, windows whose endpoint stopped there."""
    rows: int = 0
    ended: Optional[float] = None
    """When the run's last endpoint ended (`time.monotonic`), once it has."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def planned(self, windows: int) -> None:
        """`windows` more to fetch (an endpoint's plan, or the halves of a split window);
        negative for windows no longer to be fetched (an endpoint stopped before them)."""
        with self._lock:
            self.windows_planned += windows

    def done(self, rows: int, failed: bool = False) -> None:
        """One window is over (committed, set aside, or `failed`), with `rows` rows."""
        with self._lock:
            self.windows_done += 1
            self.windows_failed += failed
            self.rows += rows

    def finish(self) -> None:
        self.ended = self.ended or time.monotonic()

    def resume(self) -> None:
        """More of the run follows (an endpoint that started after the others ended)."""
        self.ended = None

    @property
    def finished(self) -> bool:
        return self.ended is not None

    @property
    def elapsed(self) -> float:
        """Seconds since the run started, until it ended."""
        return (self.ended or time.monotonic()) - self.started


_lock = threading.Lock()
_runs: Deque[RunProgress] = deque(maxlen=_KEPT_RUNS)


def track(run_id: str, app_id: str) -> RunProgress:
    """The progress of a run starting now, kept where `recent_runs` finds it."""
    progress = RunProgress(run_id, app_id)
    with _lock:
        _runs.append(progress)
    return progress


def recent_runs() -> List[RunProgress]:
    """The account runs of this process, oldest first (the last ones only)."""
    with _lock:
        return list(_runs)
