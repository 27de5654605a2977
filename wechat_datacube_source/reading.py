"""Reading what was loaded, through dlt's dataset API: a query, and each account's status.

Both read the whole dataset (every account in it) with `dlt.dataset`, on any destination dlt
reads: the same path a user's notebook takes, so a break in it (a dependency dlt reads
through) shows here first.
"""

import contextlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

import sqlglot
from dlt.destinations.exceptions import DatabaseException, DatabaseUndefinedRelation
from sqlglot import exp

from .catalog import BY_TABLE
from .errors import WeChatSourceError
from .run_summary import HEALTHY
from .sync_log import BACKFILLING, ROWS_DROPPED, SYNC_LOG_TABLE

LOADED = ("ok", ROWS_DROPPED, BACKFILLING, "partial")
"""Statuses of runs whose `fetched_to` reached the destination (a `failed` run's may not)."""

Rows = Tuple[List[str], List[Tuple[Any, ...]]]


def query(dataset: Any, sql: str) -> Rows:
    """The column names and rows of a read-only query over the dataset.

    Table names need no dataset prefix: dlt qualifies them. The ready-made views are not in
    dlt's schema, so dlt cannot tell the columns of `SELECT *` over one; such a query (and
    any other dlt cannot qualify) goes to the destination as parsed. Either way it is checked to
    be one query with no part that changes data (`QueryRefused` otherwise), and runs, where
    the destination offers it, on a connection that cannot change the tables: a DuckDB file
    opened read-only, a read-only PostgreSQL transaction. (A function with side effects that
    a query may call, such as PostgreSQL's `lo_export` for a superuser, is the destination's
    to refuse.)
    """
    parsed = _check_read_only(sql, dataset.destination_dialect)
    checked = parsed.sql(dialect=dataset.destination_dialect)
    with dataset:
        client = dataset.sql_client
        postgres = dataset.destination_dialect == "postgres"
        with client.begin_transaction() if postgres else contextlib.nullcontext():
            if postgres:
                # for this transaction only: a pooled server connection is shared with loads
                client.execute_sql("SET TRANSACTION READ ONLY")
            relation = dataset(sql)
            try:
                rows = relation.fetchall()
                return _named(list(relation.columns), parsed), rows
            except DatabaseException:
                raise
            except Exception:  # noqa: BLE001 (see below)
                # dlt could not qualify the query: `*` over a view (LineageFailedException),
                # or a limit of sqlglot's (an AssertionError for `SELECT * FROM v ORDER BY 1`);
                # what is sent is the one query that was checked, not the text as typed
                with client.execute_query(checked) as cursor:
                    columns = [column[0] for column in cursor.description or ()]
                    return columns, cursor.fetchall()


class QueryRefused(WeChatSourceError, ValueError):
    """A query that is no single read-only query, or that does not parse."""


_UNNAMED = re.compile(r"_col_\d+")
_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Into, exp.Lock, exp.Create)


def _named(columns: List[str], parsed: exp.Query) -> List[str]:
    """Column names, with the expression itself for a column the query left unnamed: dlt
    calls `count(*)` `_col_0`."""
    selects = parsed.selects
    if len(selects) != len(columns):
        return columns
    return [
        select.sql() if _UNNAMED.fullmatch(name) else name for name, select in zip(columns, selects)
    ]


def _check_read_only(sql: str, dialect: str) -> exp.Query:
    """The query, as parsed, if it is one query with no writing part; `QueryRefused`
    otherwise."""
    try:
        statements = sqlglot.parse(sql, dialect=dialect)
    except sqlglot.errors.ParseError as error:
        raise QueryRefused(f"the query does not parse: {error}") from None
    if (
        len(statements) != 1
        or not isinstance(statements[0], exp.Query)
        or statements[0].find(*_WRITES) is not None
    ):
        raise QueryRefused(
            "only one query that reads (SELECT, WITH ... SELECT) can be run here; to change "
            "the data, connect to the destination directly"
        )
    return statements[0]


@dataclass(frozen=True)
class TableStatus:
    """One account's table: what it holds, how far it is loaded, how its last run went."""

    app_id: str
    table: str
    rows: int
    newest_day: Optional[date]
    """The newest day with a row (sparse tables, e.g. articles, lag the loaded range)."""
    loaded_from: Optional[date]
    """How far back the loaded days reach (history, loaded newest first, grows it)."""
    loaded_through: Optional[date]
    """The last day fetched and loaded (`sync_log.fetched_to` of the runs that loaded)."""
    last_run: Optional[datetime]
    status: Optional[str]
    message: Optional[str]

    @property
    def healthy(self) -> bool:
        return self.status is None or self.status in HEALTHY


def account_status(dataset: Any) -> List[TableStatus]:
    """Each account's endpoint tables, by account and in catalog order: rows and newest day,
    how far `sync_log` says they are loaded, and the endpoint's last run.

    Tables are looked up one by one rather than in dlt's schema: accounts (and the demo)
    that share a dataset store schemas of their own, and dlt reads the newest only."""
    try:
        _, runs = query(
            dataset,
            "SELECT app_id, endpoint, finished_at, status, message FROM ("
            "SELECT app_id, endpoint, finished_at, status, message, ROW_NUMBER() OVER ("
            "PARTITION BY app_id, endpoint ORDER BY started_at DESC, run_id DESC) AS newest "
            f"FROM {SYNC_LOG_TABLE}) AS runs WHERE newest = 1",
        )
    except DatabaseUndefinedRelation:
        return []  # nothing loaded yet
    loaded = _loaded(dataset)
    order = {name: index for index, name in enumerate(BY_TABLE)}
    last_runs = sorted(
        (row for row in runs if row[1] in BY_TABLE), key=lambda row: (row[0], order[row[1]])
    )
    held = _held(dataset, list(dict.fromkeys(row[1] for row in last_runs)))
    return [
        TableStatus(
            app_id,
            table,
            *held.get((app_id, table), (0, None)),
            *loaded.get((app_id, table), (None, None)),
            finished,
            status,
            message,
        )
        for app_id, table, finished, status, message in last_runs
    ]


def _loaded(dataset: Any) -> Dict[Tuple[str, str], Tuple[Optional[date], Optional[date]]]:
    """(app_id, table) -> the first and last day loaded, by the runs that loaded."""
    statuses = ", ".join(f"'{status}'" for status in LOADED)
    ranges = "MIN(fetched_from), MAX(fetched_to)"
    try:
        _, rows = query(
            dataset,
            f"SELECT app_id, endpoint, {ranges}, MIN(history_from) FROM {SYNC_LOG_TABLE} "
            f"WHERE status IN ({statuses}) GROUP BY app_id, endpoint",
        )
    except DatabaseException:
        # a sync_log older than history: its runs loaded forward, from fetched_from on
        _, rows = query(
            dataset,
            f"SELECT app_id, endpoint, {ranges}, NULL FROM {SYNC_LOG_TABLE} "
            f"WHERE status IN ({statuses}) GROUP BY app_id, endpoint",
        )
    return {
        (app_id, table): (min((d for d in (first, history) if d is not None), default=None), last)
        for app_id, table, first, last, history in rows
    }


def _held(dataset: Any, tables: Sequence[str]) -> Dict[Tuple[str, str], Tuple[int, Any]]:
    """(app_id, table) -> (rows, newest day) of each endpoint table there is."""
    held = {}
    for name in tables:
        try:
            _, rows = query(
                dataset,
                f"SELECT app_id, COUNT(*), MAX({BY_TABLE[name].date_field}) FROM {name} "
                "GROUP BY app_id",
            )
        except DatabaseUndefinedRelation:
            continue  # (no row ever reached it)
        held.update({(row[0], name): (row[1], row[2]) for row in rows})
    return held
