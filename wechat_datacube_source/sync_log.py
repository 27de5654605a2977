"""`sync_log`: one row per endpoint per run, the load's own record of its health.

The source never raises for an API fault (a raise would make dlt drop every row of the run);
each endpoint's outcome is written here instead, in the same load as its rows, so the table
never says `ok` for rows that did not reach the destination.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Dict, List, Optional

from dlt.common.schema.typing import TTableSchemaColumns

from .account_run import AccountRun
from .catalog import Endpoint
from .errors import PROBLEM, ErrorKind, account_problem, error_code, error_kind, stops_account
from .windows import Window

logger = logging.getLogger(__name__)

SYNC_LOG_TABLE = "sync_log"
ROWS_DROPPED = "ok_rows_dropped"
"""Status of an endpoint that loaded all it asked for, and was sent rows it did not ask for."""
BACKFILLING = "ok_backfilling"
"""Status of an endpoint up to date, whose history back to `start_date` is still being
loaded: the run's call budget or WeChat's daily quota ended this run's share of it."""
SYNC_LOG_COLUMNS: TTableSchemaColumns = {
    "run_id": {"data_type": "text", "nullable": False},
    "app_id": {"data_type": "text", "nullable": False},
    "endpoint": {"data_type": "text", "nullable": False},
    "requested_from": {"data_type": "date"},
    "requested_to": {"data_type": "date"},
    "fetched_from": {"data_type": "date"},
    "fetched_to": {"data_type": "date"},
    "history_from": {"data_type": "date"},
    "history_to": {"data_type": "date"},
    "api_calls": {"data_type": "bigint"},
    "rows": {"data_type": "bigint"},
    "status": {"data_type": "text", "nullable": False},
    "errcode": {"data_type": "bigint"},
    "message": {"data_type": "text"},
    "started_at": {"data_type": "timestamp"},
    "finished_at": {"data_type": "timestamp"},
}


@dataclass
class SyncLog:
    """Accumulates one endpoint's outcome in one run; becomes its `sync_log` row."""

    run: AccountRun
    endpoint: Endpoint
    requested_from: date
    requested_to: date
    rows: int = 0
    dropped: int = 0
    fetched_from: Optional[date] = None
    fetched_to: Optional[date] = None
    history_from: Optional[date] = None
    history_to: Optional[date] = None
    """The days of history (before the days loaded earlier) this run loaded."""
    reaches: Optional[date] = None
    """The oldest day loaded after this run: every day from it to the newest one is."""
    status: str = "ok"
    errcode: Optional[int] = None
    notes: List[str] = field(default_factory=list)
    """What the run had to say about the data; becomes the `message` column."""
    account_problem: Optional[str] = None
    """What stopped the whole account, if anything did: the last note of `message`, in the
    same words for every endpoint (a summary tells it apart from the endpoint's own notes)."""
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def committed(self, window: Window, rows: int, ready_through: date) -> None:
        self.rows += rows
        if ready_through >= window.begin:
            self.fetched_from = self.fetched_from or window.begin
            self.fetched_to = ready_through

    def history_committed(self, window: Window, rows: int) -> None:
        """History is loaded back to the start of `window` (walked newest first)."""
        self.rows += rows
        self.history_to = self.history_to or window.covers_through
        self.history_from = self.reaches = window.begin

    def history_left(self, start: date) -> None:
        """Says how far history reaches, if not back to `start` (the first day asked for)."""
        if self.reaches is None or self.reaches <= start:
            return
        self.notes.append(
            f"history is loaded back to {self.reaches.isoformat()}; the "
            f"{(self.reaches - start).days} days before it, back to {start.isoformat()}, "
            "are loaded by the next runs"
        )
        if self.status == "ok":
            self.status = BACKFILLING

    def not_ready(self, day: date) -> None:
        self.notes.append(
            f"no final data for {day.isoformat()} yet (not ready, or no activity); "
            "it is fetched again on the next run"
        )

    def stopped(self, window: Window, error: Exception, problem: Optional[str] = None) -> None:
        """The endpoint stopped at `window`; `problem` says why, if the error alone does not.

        A problem of the whole account is written in the same words for every endpoint it
        stopped, and not logged here: the transport logged it once when it stopped the
        account."""
        stop = self.run.client.transport.stopped
        if stop is not None and (error is stop or stops_account(error)):
            # (calls in flight when the account stopped may have met the same problem)
            self.status = "partial" if self.fetched_to is not None else "failed"
            self.errcode, _ = error_code(stop)
            self.account_problem = account_problem(stop)
            return
        self.errcode, message = error_code(error)
        kind = error_kind(error)
        if kind in (ErrorKind.NO_PERMISSION, ErrorKind.RETIRED) and problem is None:
            self.status = "skipped"
        else:
            self.status = "partial" if self.fetched_to is not None else "failed"
            message = f"stopped at window {window}: {problem or message}"
        self.notes.append(message)
        logger.warning(
            "%s: %s", self.endpoint.table, self.run.redact(message), extra={PROBLEM: True}
        )

    def set_aside(self, description: Optional[str]) -> None:
        """Windows are set aside: the endpoint's data has holes until they land."""
        if description is None:
            return
        self.notes.append(description)
        if self.status in ("ok", BACKFILLING):
            self.status = "partial"
        logger.warning(
            "%s: %s", self.endpoint.table, self.run.redact(description), extra={PROBLEM: True}
        )

    def row(self, api_calls: int) -> Dict[str, Any]:
        if self.dropped:
            self.notes.append(
                f"{self.dropped} rows dated outside their request were dropped (their bodies "
                "are in raw_responses with keep_raw_responses)"
            )
            if self.status == "ok":
                self.status = ROWS_DROPPED
        return {
            "run_id": self.run.run_id,
            "app_id": self.run.app_id,
            "endpoint": self.endpoint.table,
            "requested_from": self.requested_from,
            "requested_to": self.requested_to,
            "fetched_from": self.fetched_from,
            "fetched_to": self.fetched_to,
            "history_from": self.history_from,
            "history_to": self.history_to,
            "api_calls": api_calls,
            "rows": self.rows,
            "status": self.status,
            "errcode": self.errcode,
            # notes quote what WeChat sent, which may echo a secret
            "message": self.run.redact("; ".join(dict.fromkeys(self._notes()))) or None,
            "started_at": self.started_at,
            "finished_at": datetime.now(timezone.utc),
        }

    def _notes(self) -> List[str]:
        return [*self.notes, *([self.account_problem] if self.account_problem else [])]
