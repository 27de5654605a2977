"""What a run did, read back from the destination: each endpoint's outcome and each table.

The source never raises for an API fault (that would discard the whole run), so a scheduler
learns about a partial run here: `run_results` reads the run's `sync_log` rows and
`needs_rerun` says which endpoints a rerun would do more for (the command turns that into
its exit code).
"""

import re
from dataclasses import dataclass
from datetime import date
from typing import Iterable, List, Optional, Sequence

from dlt import Pipeline
from dlt.common.pipeline import LoadInfo
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from .catalog import BY_TABLE
from .errors import IncompleteRunError
from .sync_log import BACKFILLING, ROWS_DROPPED, SYNC_LOG_TABLE

HEALTHY = ("ok", "skipped", ROWS_DROPPED, BACKFILLING)
"""Nothing to rerun: a run again would do the same."""
_LOAD_ID = re.compile(r"^[0-9.]+$")


@dataclass(frozen=True)
class EndpointResult:
    endpoint: str
    status: str
    api_calls: int
    rows: int
    fetched_from: Optional[date]
    fetched_to: Optional[date]
    errcode: Optional[int]
    message: Optional[str]
    app_id: Optional[str] = None


@dataclass(frozen=True)
class TableSummary:
    table: str
    rows: int
    first: Optional[date]
    last: Optional[date]


def run_results(pipeline: Pipeline, load_info: LoadInfo) -> List[EndpointResult]:
    """The `sync_log` rows written by the loads in `load_info`, in endpoint order."""
    return results_of_loads(pipeline, load_info.loads_ids)


def results_of_loads(pipeline: Pipeline, load_ids: Sequence[str]) -> List[EndpointResult]:
    """The `sync_log` rows written by the loads `load_ids`, in endpoint order."""
    load_ids = [load_id for load_id in load_ids if _LOAD_ID.match(load_id)]
    if not load_ids:
        return []
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(SYNC_LOG_TABLE)
            ids = ", ".join(f"'{load_id}'" for load_id in load_ids)
            # load ids are checked to be digits and dots above, so inlining them is safe
            columns = (
                "endpoint, status, api_calls, rows, fetched_from, fetched_to, errcode, message, "
                "app_id"
            )
            sql = f"SELECT {columns} FROM {table} WHERE _dlt_load_id IN ({ids})"  # noqa: S608
            rows = client.execute_sql(sql)
    except DatabaseUndefinedRelation:
        return []  # no sync_log (yet): no endpoint was selected, or nothing reached it
    order = {name: index for index, name in enumerate(BY_TABLE)}
    results = [EndpointResult(*row) for row in rows or []]
    return sorted(results, key=lambda result: order.get(result.endpoint, len(order)))


def table_summaries(
    pipeline: Pipeline, tables: Iterable[str], app_id: Optional[str] = None
) -> List[TableSummary]:
    """Row count and date range of each loaded endpoint table (of one account, if given)."""
    present = [name for name in tables if name in pipeline.default_schema.data_table_names()]
    if not present:
        return []
    with pipeline.sql_client() as client:
        parts = []
        for name in present:
            date_field = client.escape_column_name(BY_TABLE[name].date_field)
            parts.append(
                f"SELECT '{name}', COUNT(*), MIN({date_field}), MAX({date_field}) "  # noqa: S608
                f"FROM {client.make_qualified_table_name(name)}"
                + (" WHERE app_id = %s" if app_id is not None else "")
            )
        rows = client.execute_sql(
            " UNION ALL ".join(parts), *([app_id] * len(parts) if app_id is not None else [])
        )
    found = {row[0]: TableSummary(*row) for row in rows or []}
    return [found[name] for name in present]


def raise_on_incomplete(pipeline: Pipeline, load_info: LoadInfo) -> List[EndpointResult]:
    """The run's endpoint results; raises `IncompleteRunError`, naming each endpoint that is
    `partial` or `failed` and why, if there is any.

    The source itself never raises for what WeChat answers (a raise would make dlt discard
    every row of the run), so `pipeline.run()` returns normally even when every endpoint
    failed. Call this after it, the way dlt's `load_info.raise_on_failed_jobs()` is called,
    to make a scheduler's task fail (its retries and alerts then work) while the rows the run
    loaded stay:

        load_info = pipeline.run(wechat_datacube())
        raise_on_incomplete(pipeline, load_info)
    """
    results = run_results(pipeline, load_info)
    rerun = needs_rerun(results)
    if rerun:
        raise IncompleteRunError(
            [(result.endpoint, result.status, result.message or "") for result in rerun]
        )
    return results


def needs_rerun(results: Sequence[EndpointResult]) -> List[EndpointResult]:
    """The endpoints that are `partial` or `failed`: a rerun (after fixing what their
    message says) would load more."""
    return [result for result in results if result.status not in HEALTHY]
