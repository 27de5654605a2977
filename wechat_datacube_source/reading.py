"""Reading what was loaded, through dlt's dataset API: a query, and each account's status.

Both read the whole dataset (every account in it) with `dlt.dataset`, on any destination dlt
reads: the same path a user's notebook takes, so a break in it (a dependency dlt reads
through) shows here first.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

import sqlglot
from dlt.dataset.exceptions import LineageFailedException
from sqlglot import exp

from .catalog import BY_TABLE
from .errors import ConfigurationError
from .run_summary import HEALTHY
from .sync_log import SYNC_LOG_TABLE

Rows = Tuple[List[str], List[Tuple[Any, ...]]]


def query(dataset: Any, sql: str) -> Rows:
    """The column names and rows of a read-only query over the dataset.

    Table names need no dataset prefix: dlt qualifies them. The ready-made views are not in
    dlt's schema, so dlt cannot tell the columns of `SELECT *` over one; such a query is sent
    to the destination as it is (it was checked to be a query, not a statement that writes).
    """
    _check_read_only(sql, dataset.destination_dialect)
    relation = dataset(sql)
    try:
        rows = relation.fetchall()
        return list(relation.columns), rows
    except LineageFailedException:
        with dataset.sql_client as client, client.execute_query(sql) as cursor:
            columns = [column[0] for column in cursor.description or ()]
            return columns, cursor.fetchall()


def _check_read_only(sql: str, dialect: str) -> None:
    try:
        statements = sqlglot.parse(sql, dialect=dialect)
    except sqlglot.errors.ParseError as error:
        raise ConfigurationError("sql", f"the query does not parse ({error})", "Fix it") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ConfigurationError(
            "sql",
            "only one query (SELECT, WITH ... SELECT) can be run here",
            "To change the data, connect to the destination directly",
        )


@dataclass(frozen=True)
class TableStatus:
    """One account's table: what it holds, and how its endpoint's last run went."""

    app_id: str
    table: str
    rows: int
    loaded_through: Optional[date]
    last_run: Optional[datetime]
    status: Optional[str]
    message: Optional[str]

    @property
    def healthy(self) -> bool:
        return self.status is None or self.status in HEALTHY


def account_status(dataset: Any) -> List[TableStatus]:
    """Every account's endpoint tables (rows, newest day) and each endpoint's last `sync_log`
    row, by account and in catalog order."""
    present = set(dataset.schema.data_table_names())
    if SYNC_LOG_TABLE not in present:
        return []
    last_runs = _last_runs(dataset)
    held = _held(dataset, [name for name in BY_TABLE if name in present])
    order = {name: index for index, name in enumerate(BY_TABLE)}
    statuses = []
    for key in sorted(set(last_runs) | set(held), key=lambda k: (k[0], order.get(k[1], 0))):
        rows, through = held.get(key, (0, None))
        finished, status, message = last_runs.get(key, (None, None, None))
        statuses.append(TableStatus(key[0], key[1], rows, through, finished, status, message))
    return statuses


def _last_runs(dataset: Any) -> Dict[Tuple[str, str], Tuple[Any, str, Optional[str]]]:
    """(app_id, endpoint) -> (finished_at, status, message) of the endpoint's last run."""
    columns, rows = query(
        dataset,
        "SELECT app_id, endpoint, finished_at, status, message FROM ("
        "SELECT app_id, endpoint, finished_at, status, message, ROW_NUMBER() OVER ("
        "PARTITION BY app_id, endpoint ORDER BY started_at DESC, run_id DESC) AS newest "
        f"FROM {SYNC_LOG_TABLE}) AS runs WHERE newest = 1",
    )
    return {(row[0], row[1]): (row[2], row[3], row[4]) for row in rows}


def _held(dataset: Any, tables: Sequence[str]) -> Dict[Tuple[str, str], Tuple[int, Any]]:
    """(app_id, table) -> (rows, newest day) of each endpoint table."""
    if not tables:
        return {}
    parts = [
        f"SELECT app_id, '{name}' AS endpoint, COUNT(*) AS n, "
        f"MAX({BY_TABLE[name].date_field}) AS through FROM {name} GROUP BY app_id"
        for name in tables
    ]
    _, rows = query(dataset, " UNION ALL ".join(parts))
    return {(row[0], row[1]): (row[2], row[3]) for row in rows}
