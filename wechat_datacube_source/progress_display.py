"""Live progress of the account runs under way: a rich progress bar on a terminal, a plain
line every few seconds otherwise (a scheduler's log), nothing with `--quiet`.

It reads the counts the source keeps (`progress.recent_runs`) from a thread of its own, so
the source never waits for the display. rich's progress bar is used, rather than dlt's own
collectors, because dlt counts items per resource, and what a backfill's user needs is
windows and calls done of those planned, and the time left.
"""

import threading
import time
from types import TracebackType
from typing import Dict, List, Optional, Type

import rich.progress

from .console import Console
from .progress import RunProgress, recent_runs

POLL_SECONDS = 0.25
PLAIN_LINE_SECONDS = 10.0
"""How often a plain progress line is written when the output is no terminal."""


class ProgressDisplay:
    """Shows the progress of every account run that starts while it is open."""

    def __init__(
        self,
        console: Console,
        enabled: bool = True,
        plain_every: float = PLAIN_LINE_SECONDS,
    ) -> None:
        self.console = console
        self.enabled = enabled
        self.plain_every = plain_every
        self._known = {run.run_id for run in recent_runs()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="wechat-progress", daemon=True)
        self._bar: Optional[rich.progress.Progress] = None
        self._tasks: Dict[str, rich.progress.TaskID] = {}
        self._last_line = time.monotonic()

    def __enter__(self) -> "ProgressDisplay":
        if not self.enabled:
            return self
        if self.console.err.is_terminal:
            self._bar = rich.progress.Progress(
                rich.progress.TextColumn("{task.description}"),
                rich.progress.BarColumn(),
                rich.progress.TextColumn(
                    "windows {task.completed:,.0f}/{task.total:,.0f}{task.fields[failed]}"
                ),
                rich.progress.TextColumn("calls {task.fields[calls]:,}"),
                rich.progress.TextColumn("rows {task.fields[rows]:,}"),
                rich.progress.TimeElapsedColumn(),
                rich.progress.TextColumn("left"),
                rich.progress.TimeRemainingColumn(),
                console=self.console.err,
                transient=False,
            )
            self._bar.start()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: Optional[Type[BaseException]],
        error: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        if not self.enabled:
            return
        self._stop.set()
        self._thread.join()
        self._show(self._runs(), final=True)
        if self._bar is not None:
            self._bar.stop()

    def _runs(self) -> List[RunProgress]:
        return [run for run in recent_runs() if run.run_id not in self._known]

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.tick(time.monotonic())

    def tick(self, now: float) -> None:
        """Redraws the bar; off a terminal, writes the lines once `plain_every` has passed
        since the last ones (`now` is `time.monotonic()`)."""
        if self._bar is None and now - self._last_line < self.plain_every:
            return
        self._last_line = now
        self._show(self._runs(), final=False)

    def _show(self, runs: List[RunProgress], final: bool) -> None:
        for run in runs:
            if self._bar is None:
                if not final or run.windows_done:
                    self.console.aside(plain_line(run))
                continue
            task = self._tasks.get(run.run_id)
            if task is None:
                task = self._tasks[run.run_id] = self._bar.add_task(
                    run.app_id, total=1, calls=0, rows=0, failed=""
                )
            self._bar.update(
                task,
                total=max(run.windows_planned, 1),
                completed=run.windows_done,
                calls=run.calls.calls,
                rows=run.rows,
                failed=_failed(run),
            )


def plain_line(run: RunProgress) -> str:
    """One line of progress, for a log: what is done of what is planned, and the time left."""
    done, planned = run.windows_done, run.windows_planned
    line = (
        f"{run.app_id}: windows {done:,}/{planned:,}{_failed(run)}, calls {run.calls.calls:,}, "
        f"rows {run.rows:,}, {_clock(run.elapsed)} elapsed"
    )
    if run.finished:
        return line + ", done"
    if done and planned > done:
        left = run.elapsed * (planned - done) / done
        return line + f", about {_clock(left)} left"
    return line


def _failed(run: RunProgress) -> str:
    return f" ({run.windows_failed:,} failed)" if run.windows_failed else ""


def _clock(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}"
