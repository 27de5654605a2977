"""The endpoint resource: plan the windows, fetch them in order, commit what is final.

A run first brings the endpoint up to date (its fresh part: new days and the refresh window,
or on a first run its 30 newest days), then, once no endpoint of the run is still catching up,
spends what the run may still call (`max_calls`, or until WeChat's daily quota) on history:
back from the oldest day loaded towards `start_date`, newest first. The newest data, what a
dashboard shows first, never waits behind a backfill of years, and a backfill that takes
several days of quota goes on from where each run stopped.

Rules that make an unattended run trustworthy (DESIGN.md, "Behaviour"):

* windows are committed in walk order (date order, newest first in history) and the first
  window that fails stops the endpoint there; rows before it are loaded, the run reports
  `partial`, the next run resumes there. The loaded days are always one range,
  `history_from..fetched_through`, whatever stops a run;
* data that is not ready (61503, `is_delay: true`, no rows yet for the last complete day) is
  not loaded and does not move the `fetched_through` watermark, so it is fetched again; WeChat
  saying so of a day long past is an error of that window, not a reason to wait;
* each run re-fetches the endpoint's refresh window before the watermark;
* windows are cut at the span learned from WeChat's answers (`spans.py`);
* a bounded backfill (`end_date`, or an incremental with `end_value`) leaves state untouched
  and walks forward, with no history part.

Rows are yielded as arrow tables of up to `ARROW_BATCH_ROWS` rows, not per window: dlt works
out a table's schema once per arrow item, which per window cost more than the fetch itself.

Two cursors, on purpose. `fetched_through` and `history_from`, in the resource's state, are
the ones the resource trusts: the newest and oldest days all of whose rows have been yielded,
moved by `_commit` only. So whatever
ends the generator early (`add_limit`, a consumer closing it) leaves state that a later run
resumes from without a gap: the windows it cut short are fetched again. dlt's incremental
(`cursor`) stays for what dlt users do with it: its `initial_value` and `end_value` (the
source's `start_date` and `end_date`, or a user's `apply_hints(incremental=...)`) give the
range of a first run or a bounded backfill, and its `last_value`, pinned to `fetched_through`
by `Incremental.advance`, is what dlt's tools show. It cannot be the watermark itself: left
to its own bookkeeping, dlt moves it to the newest row yielded, ahead of an unfinished day or a
window cut short, and filters out rows older than it, which re-fetched refresh windows and
every row of history are. So the resource applies its own range and tells dlt not to filter.

The resource never raises for an API fault: a raise would make dlt drop every row of the run.
Instead each endpoint writes one `sync_log` row that says what happened.
"""

import logging
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Deque, Dict, Iterator, List, Optional, Tuple

import dlt
from dlt.extract.resource import DltResource
from dlt.sources import incremental as Incremental

from .account_run import AccountRun, RunScope, load_under_way
from .arrow_tables import Row, to_arrow, with_load_id
from .catalog import SUMMARY_KEY, Endpoint, table_columns
from .errors import (
    AccountStopped,
    CallBudgetExhausted,
    ErrorKind,
    PayloadError,
    WeChatApiError,
    account_problem,
    error_code,
    error_kind,
)
from .raw_archive import (
    RAW_RESPONSES_COLUMNS,
    RAW_RESPONSES_TABLE,
    RawPage,
    raw_row,
    raw_table,
)
from .redaction import Redactor
from .set_aside import PayloadFailures
from .settings import ARROW_BATCH_ROWS, FRESH_FIRST_DAYS, NOT_READY_PLAUSIBLE_DAYS
from .spans import LearnedSpan
from .sync_log import SYNC_LOG_COLUMNS, SYNC_LOG_TABLE, SyncLog
from .transforms import Batch, is_delayed, to_rows
from .transport import CallCounter
from .windows import ONE_DAY, Walk, Window, first_label, halve, periods_of, split

logger = logging.getLogger(__name__)

STATE_KEY = "fetched_through"
HISTORY_KEY = "history_from"
"""The oldest day loaded: every day from it to `fetched_through` is."""


@dataclass(frozen=True)
class Plan:
    start: date
    end: date
    stateful: bool
    """False for a bounded backfill, which must leave the watermark and cursor alone."""
    initial: date
    """The oldest day asked for (`start_date`, or the cursor's initial value): where history
    walks back to."""


def plan_range(
    endpoint: Endpoint, run: AccountRun, cursor: Incremental[date], state: Dict[str, Any]
) -> Plan:
    """The inclusive day range this run brings up to date for `endpoint` (its fresh part)."""
    initial: date = cursor.initial_value or run.config.start_date
    if cursor.end_value is not None:
        end = (
            cursor.end_value
            if cursor.range_end == "closed"
            else cursor.end_value - timedelta(days=1)
        )
        return Plan(initial, min(end, run.last_complete_day), stateful=False, initial=initial)
    watermark = state.get(STATE_KEY)
    if not watermark:
        # not dlt's cursor either: an older version let it run ahead of the commits. A first
        # run loads its newest days first; the days before them are history
        fresh = run.last_complete_day - timedelta(days=FRESH_FIRST_DAYS - 1)
        return Plan(max(initial, fresh), run.last_complete_day, stateful=True, initial=initial)
    through = date.fromisoformat(watermark)
    refresh = through - timedelta(days=endpoint.refresh_days - 1)
    # the refresh window does not reach back before the first day asked for; but a watermark
    # behind that day (a first run that stopped early, a long pause, a start_date that moved
    # on, as the default one does every day) is resumed right after it, or its days are lost
    start = max(refresh, min(initial, through + ONE_DAY))
    return Plan(start, run.last_complete_day, stateful=True, initial=initial)


def history_reaches(endpoint: Endpoint, plan: Plan, state: Dict[str, Any]) -> Optional[date]:
    """The oldest day loaded: every day from it to the watermark is. None before the first
    commit. State from before history was kept was loaded forward from `start_date`, so its
    history is complete."""
    stored = state.get(HISTORY_KEY)
    if stored:
        return date.fromisoformat(stored)
    if state.get(STATE_KEY):
        return first_label(endpoint, plan.initial)
    return None


def endpoint_rows(endpoint: Endpoint, scope: RunScope, cursor: Incremental[date]) -> Iterator[Any]:
    """Rows of one endpoint for this run, then its `sync_log` row.

    `cursor` is the endpoint's own incremental, on its date field (`ref_date`, or `date` for
    the publisher tables), made by the source; dlt finds it by its type."""
    with scope.run() as run:
        yield from EndpointRun(endpoint, run, cursor).rows()


class EndpointRun:
    """One endpoint in one run: its fresh part, its history, its `sync_log` row."""

    def __init__(self, endpoint: Endpoint, run: AccountRun, cursor: Incremental[date]) -> None:
        # the windows are the range; dlt's filter would drop re-fetched rows and every row of
        # history. (None is documented: "leaves the range as is and only disables
        # filtering"; typed as a value.)
        cursor.advance(None)  # type: ignore[arg-type]
        self.endpoint, self.run, self.cursor = endpoint, run, cursor
        self.state = dlt.current.resource_state()
        self.plan = plan = plan_range(endpoint, run, cursor, self.state)
        self.log = SyncLog(run, endpoint, max(plan.start, endpoint.earliest), plan.end)
        if plan.stateful:
            self.log.reaches = history_reaches(endpoint, plan, self.state)
        self.counter = CallCounter(parent=run.progress.calls)
        self.tables = TableBuffer(
            endpoint, self.log.notes, run.client.transport.redactor, load_under_way()
        )
        self.failures = PayloadFailures(endpoint, self.state, run.config.set_aside_after_failures)
        # a bounded backfill learns spans for itself: it changes no state
        self.spans = LearnedSpan(endpoint, self.state if plan.stateful else {})
        self.landed: List[Window] = []
        """Windows that had failed to parse and now landed: forgotten once their rows are out."""
        self.retrying: List[Window] = []
        """Set-aside windows asked again in this run, one call each."""
        self.proven = False
        """A window of this run landed: the endpoint answers, windows may go ahead."""

    def rows(self) -> Iterator[Any]:
        """The fresh part (catching up to the last complete day), then history, newest
        first, once no endpoint of the run is still catching up; then the `sync_log` row."""
        run, plan = self.run, self.plan
        run.fresh.catching_up()
        try:
            fresh = Walk(self.endpoint, plan.start, plan.end, self.spans.days)
            # set-aside windows the plan does not cover are asked again first, one call each;
            # a bounded backfill leaves them (and every other piece of state) alone
            if plan.stateful:
                planned = set(fresh.windows())
                self.retrying = [w for w in self.failures.set_aside() if w not in planned]
            yield from self._fetch(fresh, history=False)
        finally:
            run.fresh.caught_up()
        yield from self._history()
        yield from self._finish()

    def _history(self) -> Iterator[Any]:
        """Back from the oldest day loaded to `start_date`, newest first, committed in that
        order, with whatever the run may still call."""
        log, run, target = self.log, self.run, first_label(self.endpoint, self.plan.initial)
        if not self.plan.stateful or log.status != "ok" or log.reaches is None:
            return  # (an endpoint that stopped is asked again by the next run, fresh first)
        if log.reaches <= target:
            return
        yield None  # every endpoint of the run starts (and counts) before the gate is read
        while not run.fresh.open:
            yield None
        stop = run.client.transport.stopped
        if stop is not None:  # (met by another endpoint while this one waited)
            log.account_problem = account_problem(stop)
            log.errcode, _ = error_code(stop)
            if not pauses_history(stop):
                log.status = "partial"
            return
        walk = Walk(self.endpoint, target, log.reaches - ONE_DAY, self.spans.days, True)
        yield from self._fetch(walk, history=True)

    def _finish(self) -> Iterator[Any]:
        log = self.log
        yield from self.tables.flush()
        self._commit()
        if self.plan.stateful:
            log.history_left(first_label(self.endpoint, self.plan.initial))
        log.set_aside(self.failures.describe())
        outcome = log.row(self.counter.calls)
        logger.info(
            "%s: %s, %d calls, %d rows, %s",
            self.endpoint.table,
            f"{outcome['fetched_from']}..{outcome['fetched_to']}"
            if log.fetched_to
            else "nothing new",
            outcome["api_calls"],
            outcome["rows"],
            outcome["status"],
        )
        # routed to the sync_log table variant the source declares on every endpoint resource
        yield dlt.mark.with_table_name(outcome, SYNC_LOG_TABLE)

    def _commit(self) -> None:
        """Every row up to `log.fetched_to`, and back to `log.reaches`, has been yielded: the
        state may say so."""
        if not self.plan.stateful:
            return
        log, state = self.log, self.state
        for window in self.landed:
            self.failures.landed(window)
        self.landed.clear()
        previous = state.get(STATE_KEY)
        if log.fetched_to is not None and (
            previous is None or log.fetched_to.isoformat() > previous
        ):
            state[STATE_KEY] = log.fetched_to.isoformat()
            self.cursor.advance(log.fetched_to)
        if log.reaches is not None:
            state[HISTORY_KEY] = log.reaches.isoformat()

    def _fetch(self, walk: Walk, history: bool) -> Iterator[Any]:
        """Fetches the set-aside windows being retried, then `walk`'s, ahead in the account's
        pool, and commits them strictly in walk order (newest first in history); ends at
        the first window that stops the endpoint."""
        endpoint, run, spans, failures = self.endpoint, self.run, self.spans, self.failures
        stateful, retrying = self.plan.stateful, self.retrying if not history else []
        queue: Deque[Window] = deque(retrying)
        inflight: Deque[Tuple[Window, Future[Fetched]]] = deque()
        run.progress.planned(len(queue) + walk.remaining())

        def fetch(window: Window) -> Tuple[Window, Future[Fetched]]:
            return window, run.pool.submit(_fetch_window, run, endpoint, window, self.counter)

        def ask_first(windows: List[Window]) -> None:
            """Windows (in date order) asked before any other, in walk order."""
            ordered = windows[::-1] if history else windows
            inflight.extendleft(reversed([fetch(window) for window in ordered]))
            run.progress.planned(len(windows) - 1)

        def upcoming() -> Optional[Window]:
            return queue[0] if queue else walk.peek()

        def narrowed(window: Window) -> None:
            """The span narrowed below `window`: it, and every window after it, is asked
            narrower, each one wider than WeChat has accepted alone (the queue's rule);
            those already in flight are dropped and asked again, in order."""
            left = walk.remaining()
            walk.span = spans.days
            pending = [window, *(later for later, _ in inflight), *queue]
            for _, future in inflight:
                future.cancel()
            inflight.clear()
            queue.clear()
            queue.extend(
                part for w in pending for part in ([w] if w in retrying else self._cut(w, history))
            )
            run.progress.planned(walk.remaining() - left + len(queue) - len(pending))

        while queue or walk or inflight:
            # the first window goes alone: an endpoint that is forbidden, retired or failing
            # costs one call, not a whole lookahead of them; so does one wider than WeChat
            # has accepted, so that a span it refuses is refused once
            ahead = run.lookahead if self.proven else 1
            while len(inflight) < ahead and (window := upcoming()) is not None:
                if inflight and not spans.proven(window):
                    break
                inflight.append(fetch(queue.popleft() if queue else walk.take()))
            if not inflight[0][1].done():
                # dlt's cooperative idiom: on None it moves on to the other endpoints'
                # generators, which keeps every endpoint's windows in the pool at once
                yield None
                continue
            window, future = inflight.popleft()
            fetched = future.result()
            error = fetched.error
            if fetched.unparsed:
                # what WeChat sent is kept whatever the parser thinks of it
                self.tables.add(RAW_RESPONSES_TABLE, fetched.archived(run, endpoint, window))
                problem = run.redact(str(error))
                # (a bounded backfill only skips what is set aside: it changes no state)
                set_aside = (
                    failures.failed(window, problem)
                    if stateful
                    else failures.is_set_aside(window, problem)
                )
                if set_aside and window not in retrying:
                    # failed the same way on enough runs: the endpoint moves on past it...
                    if window.days > 1:
                        # ...past the days that do not parse, not past a whole window of days
                        halves = halve(window)
                        if stateful:
                            failures.split(window, halves)
                        ask_first(list(halves))
                        continue
                    self._passed(window, 0, history)
                    run.progress.done(0)
                    continue
            if error is not None and window in retrying:
                run.progress.done(0)
                continue  # still set aside, and still named in sync_log
            if error is not None:
                kind = error_kind(error)
                if kind is ErrorKind.DATE_RANGE and spans.refused(window):
                    narrowed(window)  # too long
                    continue
                if kind is ErrorKind.NOT_READY and window.days > 1:
                    # its newest days unfinished: the halves can still commit
                    ask_first(list(halve(window)))
                    continue
                self._stop(window, error, history)
                for _, later in inflight:
                    later.cancel()  # nothing after the stop may be committed
                run.progress.done(0, failed=True)
                # never to be fetched
                run.progress.planned(-(len(queue) + walk.remaining() + len(inflight)))
                return
            if fetched.batch is not None and _misses_periods(window, fetched.batch, endpoint):
                # WeChat answered fewer weeks or months than asked: read as the current
                # docs' one period a request (unconfirmed, reference §11), not as periods
                # with no activity; asked again one period at a time
                spans.one_period()
                narrowed(window)
                continue
            self._landed(window, fetched, history)
            if self.tables.full:
                yield from self.tables.flush()
                self._commit()

    def _cut(self, window: Window, history: bool) -> List[Window]:
        """`window` cut at the span learned, in walk order."""
        if window.days <= self.spans.days:
            return [window]
        parts = split(window, self.endpoint, self.spans.days)
        return parts[::-1] if history else parts

    def _landed(self, window: Window, fetched: "Fetched", history: bool) -> None:
        """A window's rows are in: into the tables, and recorded."""
        endpoint, log, tables = self.endpoint, self.log, self.tables
        batch = fetched.batch
        assert batch is not None  # (a fetch ends in a batch or an error)
        self.proven = True
        self.spans.accepted_window(window)
        log.dropped += batch.dropped
        log.notes.extend(batch.notes)  # (each note is written once, by `row`)
        if self.run.config.keep_raw_responses or self.failures.has(window):
            # a window that failed before is archived when it lands, whatever the setting:
            # a rebuild must find its newer body, or the failed one would win again
            tables.add(RAW_RESPONSES_TABLE, fetched.archived(self.run, endpoint, window))
        rows = batch.rows
        tables.add(endpoint.table, rows)
        for table, child_rows in batch.children.items():
            tables.add(table, child_rows)
        if batch.summary is not None and endpoint.summary_table is not None:
            tables.add(endpoint.summary_table, [batch.summary])
        self.landed.append(window)
        self.run.progress.done(len(rows))
        if window in self.retrying and not history:
            log.rows += len(rows)
            log.notes.append(f"the set-aside window {window} parsed now and landed")
            return
        ready_through = window.covers_through
        if (
            not history
            and ready_through >= self.run.last_complete_day
            and not any(row[endpoint.date_field] == window.newest_label for row in rows)
        ):
            # WeChat answers an unfinished last day with an empty list: keep it for next run
            ready_through = window.newest_label - timedelta(days=1)
            log.not_ready(window.newest_label)
        self._passed(window, len(rows), history, ready_through)

    def _passed(
        self, window: Window, rows: int, history: bool, ready_through: Optional[date] = None
    ) -> None:
        """The endpoint is past `window` (its rows landed, or it is set aside)."""
        log = self.log
        if history:
            log.history_committed(window, rows)
            return
        log.committed(window, rows, ready_through or window.covers_through)
        if self.plan.stateful and log.reaches is None:
            log.reaches = log.fetched_from  # (a first run: its history starts here)

    def _stop(self, window: Window, error: Exception, history: bool) -> None:
        """Records why the endpoint stops at `window`. History that the run's call budget or
        WeChat's daily quota ends is not a fault: the next runs carry it on."""
        stop = self.run.client.transport.stopped
        if history and stop is not None and pauses_history(stop):
            self.log.account_problem = account_problem(stop)
            self.log.errcode, _ = error_code(stop)
            return
        _stop(self.log, self.endpoint, self.run, window, error)


def _misses_periods(window: Window, batch: Batch, endpoint: Endpoint) -> bool:
    """Whether an answer to several weeks or months has no row for one of them."""
    if not window.is_period or window.days <= 1:
        return False
    labels = {row[endpoint.date_field] for row in batch.rows}
    return any(period not in labels for period in periods_of(window))


def pauses_history(stop: Exception) -> bool:
    """Whether what stopped the account only ends this run's share of history: the run's
    call budget, or the daily quota."""
    cause = stop.cause if isinstance(stop, AccountStopped) else stop
    return isinstance(cause, CallBudgetExhausted) or error_kind(cause) is ErrorKind.QUOTA


def _stop(
    log: SyncLog, endpoint: Endpoint, run: AccountRun, window: Window, error: Exception
) -> None:
    """Records why the endpoint stops at `window` (or, for unfinished days, waits there)."""
    kind = error_kind(error)
    if kind is ErrorKind.NOT_READY and _may_be_unfinished(endpoint, window, run):
        log.not_ready(window.begin)
    elif isinstance(error, WeChatApiError) and kind is ErrorKind.NOT_READY:
        age = (run.last_complete_day - window.covers_through).days
        days = window.begin.isoformat()
        if window.covers_through != window.begin:
            days += f"..{window.covers_through.isoformat()}"
        log.stopped(
            window,
            error,
            f"WeChat says {days} is not ready {age} days after it ended, when only "
            "the newest days can be; it is asked again on the next run "
            f"(WeChat error {error.errcode}: {error.errmsg})",
        )
    else:
        log.stopped(window, error)


def _may_be_unfinished(endpoint: Endpoint, window: Window, run: AccountRun) -> bool:
    """Whether WeChat may plausibly still be computing `window`: only the newest days, or a
    week or month that ended lately."""
    allowance = NOT_READY_PLAUSIBLE_DAYS[endpoint.grain]
    return window.covers_through > run.last_complete_day - timedelta(days=allowance)


class TableBuffer:
    """The rows of the tables one endpoint writes, handed to dlt as arrow tables."""

    def __init__(
        self,
        endpoint: Endpoint,
        notes: List[str],
        redactor: Redactor,
        load_id: Optional[str] = None,
    ) -> None:
        self.endpoint = endpoint
        self.notes = notes
        self.redactor = redactor
        self.load_id = load_id
        """The load the rows go to, stamped on each (none when iterated with no pipeline)."""
        self.hints = table_columns(endpoint)
        # the endpoint's own table is flushed first, whichever table rows reach first
        self.pending: Dict[str, List[Row]] = {endpoint.table: []}

    def add(self, table: str, rows: List[Row]) -> None:
        self.pending.setdefault(table, []).extend(rows)

    @property
    def full(self) -> bool:
        return any(len(rows) >= ARROW_BATCH_ROWS for rows in self.pending.values())

    def flush(self) -> Iterator[Any]:
        """Every table's pending rows, the endpoint's own table first."""
        for table, rows in list(self.pending.items()):
            if rows:
                self.pending[table] = []
                yield self._arrow(table, rows)

    def _arrow(self, table: str, rows: List[Row]) -> Any:
        schema = dlt.current.source_schema()
        if table == RAW_RESPONSES_TABLE:
            return dlt.mark.with_table_name(self._stamped(raw_table(rows), schema), table)
        # the stored schema knows the columns earlier batches and runs added (fields the
        # catalog lacks) and the types a user's own hints gave them, so it has the last word
        stored = schema.tables.get(table, {}).get("columns", {})
        data = to_arrow(rows, {**self.hints[table], **stored}, self.notes, table, schema.naming)
        # a secret of the account (its token or app secret) may be echoed in what WeChat sent
        data, masked = self.redactor.mask_table(data)
        if masked:
            self.notes.append(
                f"{table}: a secret of this account (its token or app secret) was in the data "
                f"WeChat sent, in {', '.join(masked)}, and was masked as ***"
            )
        data = self._stamped(data, schema)
        if table == self.endpoint.table:
            return data
        # routed to the child table variants the source declares on the resource
        return dlt.mark.with_table_name(data, table)

    def _stamped(self, data: Any, schema: Any) -> Any:
        return data if self.load_id is None else with_load_id(data, self.load_id, schema.naming)


@dataclass
class Fetched:
    """What fetching one window came to: its rows or the error, and the bodies received."""

    batch: Optional[Batch] = None
    error: Optional[Exception] = None
    unparsed: bool = False
    """The error is the body's: it arrived but could not be read or turned into rows."""
    received: List[RawPage] = field(default_factory=list)
    raw_rows: Optional[List[Row]] = None
    """The `raw_responses` rows of the bodies received, once made (`archived`)."""

    def archived(self, run: AccountRun, endpoint: Endpoint, window: Window) -> List[Row]:
        """The `raw_responses` rows of the bodies received, whatever became of them."""
        if self.raw_rows is None:
            problem = None if self.error is None else run.redact(str(self.error))
            redactor = run.client.transport.redactor
            self.raw_rows = [
                raw_row(
                    run.run_id,
                    run.app_id,
                    endpoint,
                    window,
                    RawPage(page.page, page.fetched_at, redactor.mask_bytes(page.content)),
                    problem,
                )
                for page in self.received
            ]
        return self.raw_rows


def _fetch_window(
    run: AccountRun, endpoint: Endpoint, window: Window, counter: CallCounter
) -> Fetched:
    """One window's rows (runs in the account's pool); not-ready answers are errors like
    61503. Never raises."""
    fetched = Fetched()
    # whatever one window meets stops only that window, a defect of ours included
    try:
        body = run.client.fetch(endpoint, window, counter, fetched.received)
    except Exception as error:  # noqa: BLE001
        fetched.error, fetched.unparsed = error, isinstance(error, PayloadError)
    else:
        if is_delayed(body):
            fetched.error = WeChatApiError(61503, "is_delay: true", endpoint.table)
        else:
            try:
                fetched.batch = to_rows(endpoint, body, window, run.app_id)
            except Exception as error:  # noqa: BLE001
                fetched.error, fetched.unparsed = error, True
    if run.config.keep_raw_responses or fetched.unparsed:
        # compressed here, in the pool, when it is sure to be kept; otherwise only if the
        # window turns out to have failed before (`PayloadFailures.has`)
        fetched.archived(run, endpoint, window)
    return fetched


def declare_tables(resource: DltResource, endpoint: Endpoint) -> None:
    """The hints of every table `resource` writes for `endpoint`: its own, its child and
    summary tables (merged), `sync_log` and `raw_responses` (appended)."""
    # the variants (sync_log, child tables) must exist before the endpoint's own hints: dlt
    # seeds a new variant with the resource's columns and keys, which would leak into them
    for log_table, log_columns in (
        (SYNC_LOG_TABLE, SYNC_LOG_COLUMNS),
        (RAW_RESPONSES_TABLE, RAW_RESPONSES_COLUMNS),
    ):
        resource.apply_hints(
            table_name=log_table,
            write_disposition="append",
            columns=log_columns,
            primary_key=(),
            merge_key=(),
            create_table_variant=True,
        )
    columns = table_columns(endpoint)
    if endpoint.summary_table is not None:
        resource.apply_hints(
            table_name=endpoint.summary_table,
            write_disposition="merge",
            columns=columns[endpoint.summary_table],
            primary_key=("app_id", *SUMMARY_KEY),
            merge_key=(),
            create_table_variant=True,
        )
    for child in endpoint.children:
        table = endpoint.child_table(child)
        resource.apply_hints(
            table_name=table,
            write_disposition="merge",
            columns=columns[table],
            primary_key=("app_id", *endpoint.child_key(child)),
            merge_key=("app_id", endpoint.date_field),
            create_table_variant=True,
        )
    resource.apply_hints(
        primary_key=("app_id", *endpoint.primary_key),
        merge_key=("app_id", endpoint.date_field),
        columns=columns[endpoint.table],
    )
