"""Rebuilds the tables from the raw archive (`raw_responses`) with no API call.

After an upgrade that reads a new field, or a parser fix that lands a window set aside, the
kept bodies are turned into rows again by the same code a live run uses (`transforms`,
`arrow_tables`) and merged into the same tables with the same keys, so the tables end as the
live loads of those bodies left them:

* a day's rows come from the newest answer that has rows for it (answers are replayed in run
  order), in each table on its own, as dlt's merge on `(app_id, date)` replaced them;
* never from an answer older than the last run that loaded the day (`sync_log` says which
  runs loaded which days): with `keep_raw_responses` off, only windows that once failed to
  parse are kept, and a later run may have loaded newer numbers of their days;
* days no kept body has rows for are left as they are, and so are bodies of runs whose rows
  never reached the destination;
* incremental state is not touched: the next run goes on from where the last one stopped.

One endpoint's kept bodies are read at once (compressed, a few MB for ten years) and replayed
in date order, so the rows held are only those of the days a later answer may still replace.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import groupby
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import dlt
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource

from .account_run import load_under_way
from .arrow_tables import Row
from .catalog import BY_TABLE, ENDPOINTS, SUMMARY_KEY, Endpoint
from .client import read_pages
from .errors import PayloadError
from .loading import NOT_LOADED
from .raw_archive import RAW_RESPONSES_TABLE, raw_body
from .redaction import Redactor
from .resources import TableBuffer, declare_tables
from .settings import SOURCE_NAME
from .sync_log import SYNC_LOG_TABLE
from .transforms import Batch, to_rows
from .transport import read_body
from .windows import Window, window_of


@dataclass
class Rebuilt:
    """What the rebuild of one endpoint did."""

    endpoint: str
    answers: int = 0
    """Answers replayed (a paged answer counts once)."""
    rows: int = 0
    """Rows of the endpoint's own table written."""
    failed: List[str] = field(default_factory=list)
    """Answers that still do not parse: their window and the problem."""
    notes: List[str] = field(default_factory=list)
    """What the transforms had to do to the bodies, as `sync_log.message` says it live."""


@dataclass(frozen=True)
class _Answer:
    app_id: str
    run_id: str
    window: Window
    pages: Tuple[str, ...]
    """As stored (`raw_archive`), in page order."""


def rebuild_source(
    pipeline: dlt.Pipeline, tables: Optional[Sequence[str]] = None, app_id: Optional[str] = None
) -> Tuple[DltSource, List[Rebuilt]]:
    """A source that writes every table (or `tables`) again from the bodies kept in
    `pipeline`'s destination (those of `app_id` only, if given), and the outcomes per
    endpoint, filled in as it is extracted. Run it with `pipeline.run`: no credentials.

    Run it through the pipeline that loads the account (with many accounts, each has its
    own), whose schema knows the column types earlier loads gave the fields nobody declared."""
    selected = [BY_TABLE[name] for name in tables] if tables else list(ENDPOINTS)
    outcomes = [Rebuilt(endpoint.table) for endpoint in selected]

    @dlt.source(name=SOURCE_NAME, max_table_nesting=0)
    def wechat_datacube() -> Iterator[DltResource]:
        for endpoint, outcome in zip(selected, outcomes):
            resource = dlt.resource(_replayed_rows, name=endpoint.table, write_disposition="merge")(
                pipeline, endpoint, app_id, outcome
            )
            declare_tables(resource, endpoint)
            yield resource

    return wechat_datacube(), outcomes


def _answers(
    pipeline: dlt.Pipeline, endpoint: Endpoint, app_id: Optional[str]
) -> Tuple[List[_Answer], Dict[Tuple[str, date], str]]:
    """The endpoint's kept answers in replay order (by account, first day asked, run), and
    the last run that loaded each day, by account and day."""
    try:
        with pipeline.sql_client() as client:
            archive = client.make_qualified_table_name(RAW_RESPONSES_TABLE)
            log = client.make_qualified_table_name(SYNC_LOG_TABLE)
            kept = client.execute_sql(
                f"SELECT app_id, requested_from, run_id, requested_to, page, body "  # noqa: S608
                f"FROM {archive} WHERE endpoint = %s",
                endpoint.table,
            )
            runs = client.execute_sql(
                f"SELECT app_id, run_id, fetched_from, fetched_to, message, "  # noqa: S608
                f"{_history_columns(pipeline)} "
                f"FROM {log} WHERE endpoint = %s",
                endpoint.table,
            )
    except DatabaseUndefinedRelation:
        return [], {}  # nothing was ever archived
    wanted = [row for row in kept or [] if app_id is None or row[0].lower() == app_id.lower()]
    lost = {row[1] for row in runs or [] if (row[4] or "").startswith(NOT_LOADED)}
    loaded: Dict[Tuple[str, date], str] = {}
    for account, run, *ranges in sorted(runs or [], key=lambda row: row[1]):
        if run in lost:
            continue
        # the days brought up to date, then those of history
        for first, last in ((ranges[0], ranges[1]), (ranges[3], ranges[4])):
            if first is not None and last is not None:
                for n in range((_day(last) - _day(first)).days + 1):
                    loaded[(account, _day(first) + timedelta(days=n))] = run
    # sorted here, not in SQL: a database collation may not order run ids by their bytes
    ordered = sorted((row for row in wanted if row[2] not in lost), key=lambda row: tuple(row[:5]))
    answers = []
    for (account, begin, run, end), pages in groupby(ordered, key=lambda row: tuple(row[:4])):
        window = window_of(endpoint, _day(begin), _day(end))
        answers.append(_Answer(account, run, window, tuple(page[5] for page in pages)))
    return answers, loaded


def _history_columns(pipeline: dlt.Pipeline) -> str:
    """The days of history each run loaded, or none where `sync_log` is older than history
    (every run of the older version loaded its days forward, in `fetched_from..fetched_to`)."""
    known = pipeline.default_schema.tables.get(SYNC_LOG_TABLE, {}).get("columns", {})
    return "history_from, history_to" if "history_to" in known else "NULL, NULL"


def _day(value: Any) -> date:
    """A date column's value (some drivers hand back a datetime)."""
    return value if type(value) is date else date(value.year, value.month, value.day)


def _replayed_rows(
    pipeline: dlt.Pipeline, endpoint: Endpoint, app_id: Optional[str], outcome: Rebuilt
) -> Iterator[Any]:
    # read when extracted: one endpoint's bodies in memory at a time
    answers, loaded = _answers(pipeline, endpoint, app_id)
    buffer = TableBuffer(endpoint, outcome.notes, Redactor(), load_under_way())
    newest = _NewestDays(endpoint, loaded)

    def add(settled: Iterator[Tuple[str, List[Row]]]) -> None:
        for table, rows in settled:
            buffer.add(table, rows)
            if table == endpoint.table:
                outcome.rows += len(rows)

    for answer in answers:
        # no answer still to come has rows for the days before this one's first
        add(newest.settled(answer.app_id, answer.window.begin))
        if buffer.full:
            yield from buffer.flush()
        batch = _batch(endpoint, answer, outcome)
        if batch is not None:
            outcome.answers += 1
            outcome.notes.extend(note for note in batch.notes if note not in outcome.notes)
            newest.merge(answer.app_id, answer.run_id, batch)
    add(newest.settled(None, None))
    yield from buffer.flush()


def _batch(endpoint: Endpoint, answer: _Answer, outcome: Rebuilt) -> Optional[Batch]:
    """The answer's rows, as a live run made them; None (and a note) if it does not parse."""
    try:
        pages = [read_body(endpoint.table, raw_body(page)) for page in answer.pages]
        body = read_pages(endpoint, answer.window, pages) if endpoint.is_publisher else pages[0]
        if body is None:
            raise PayloadError(endpoint.table, "the kept pages do not make up the whole answer")
        return to_rows(endpoint, body, answer.window, answer.app_id)
    except Exception as error:  # noqa: BLE001 (one answer's problem stops only its replay)
        outcome.failed.append(f"{answer.app_id} {answer.window}: {error}")
        return None


class _NewestDays:
    """Each table's rows per day (per window, for a summary table) from the newest answer
    that has rows for it, until no answer still to come can replace them."""

    def __init__(self, endpoint: Endpoint, loaded: Dict[Tuple[str, date], str]) -> None:
        self.endpoint = endpoint
        self.loaded = loaded
        """The last run that loaded each (account, day): no older answer replaces it."""
        self.days: Dict[str, Dict[Tuple[Any, ...], Tuple[str, List[Row]]]] = {}

    def _key(self, table: str, row: Row) -> Tuple[Any, ...]:
        """(app_id, first day, ...): what one merge replaces as a whole."""
        if table == self.endpoint.summary_table:
            return (row["app_id"], *(row[name] for name in SUMMARY_KEY))
        return (row["app_id"], row[self.endpoint.date_field])

    def merge(self, app_id: str, run_id: str, batch: Batch) -> None:
        tables = {self.endpoint.table: batch.rows, **batch.children}
        if batch.summary is not None and self.endpoint.summary_table is not None:
            tables[self.endpoint.summary_table] = [batch.summary]
        for table, rows in tables.items():
            by_day: Dict[Tuple[Any, ...], List[Row]] = {}
            for row in rows:
                by_day.setdefault(self._key(table, row), []).append(row)
            held = self.days.setdefault(table, {})
            # a later run loading a summary's days leaves it be (its key is its window): only
            # an answer for the same window replaces it, and the kept ones are replayed
            per_day = table != self.endpoint.summary_table
            for key, day_rows in by_day.items():
                if per_day and self.loaded.get((app_id, key[1]), "") > run_id:
                    continue  # a later run loaded this day, from a body not kept
                if key not in held or held[key][0] <= run_id:
                    held[key] = (run_id, day_rows)

    def settled(
        self, app_id: Optional[str], before: Optional[date]
    ) -> Iterator[Tuple[str, List[Row]]]:
        """Takes out the rows no later answer can replace: another account's (answers come
        account by account), and days before `before` (then in date order); all if None."""
        for table, held in self.days.items():
            done = [
                key
                for key in held
                if app_id is None or key[0] != app_id or before is None or key[1] < before
            ]
            for key in done:
                yield table, held.pop(key)[1]
