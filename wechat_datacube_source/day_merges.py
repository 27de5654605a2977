"""Into DuckDB, merges delete by (`app_id`, day) alone: what keeps a daily run's load small.

dlt's merge deletes the destination rows that match the primary key OR the merge key. Every
primary key here holds the merge key (`app_id` and the date), so the OR selects no more rows,
but DuckDB cannot plan an OR in a correlated subquery as a join: it collects every key of the
destination table first. The cost grew with the table: 55 MB for one daily merge into ten
years of `user_read_hour`, and a daily run on ten years peaked at ~320 MB (README, "Memory").
dlt's `destination_scope`, the merge key written as SQL, puts it alone in the delete: a semi
join on the staged keys, ~2 MB.

Only for DuckDB: the scope is SQL in one dialect (ClickHouse takes no correlated subquery,
BigQuery no qualified column path, Delta no staging table), and the planners of the other SQL
destinations are not the ones that needed it. The `merge_key` hints stay for what reads the
schema (a pipeline's stored schema keeps them anyway); dlt's warning that the scope wins over
them is dropped for these tables.
"""

import logging
from typing import Any, FrozenSet

from dlt.common.schema.typing import TDeleteInsertStrategyDict

from .catalog import BY_TABLE, ENDPOINTS

DESTINATION: str = "duckdb"
# every endpoint's own table and its child tables: the tables merged by (app_id, day)
BY_DAY_TABLES: FrozenSet[str] = frozenset(
    table
    for endpoint in ENDPOINTS
    for table in (endpoint.table, *(endpoint.child_table(child) for child in endpoint.children))
)


def scope_day_merges(source: Any, destination_name: str) -> None:
    """Gives the merged-by-day tables of `source` (a `wechat_datacube` source, or a rebuild
    source) the delete by (`app_id`, day) alone, if `destination_name` is DuckDB's. Call it
    before `pipeline.run(source)`; the commands and the pipeline script do."""
    if destination_name != DESTINATION:
        return
    for resource in source.resources.values():
        endpoint = BY_TABLE.get(resource.name)
        # a write disposition of the user's own (or this one, given already) stays as it is
        if endpoint is None or resource.write_disposition != "merge":
            continue
        for child in endpoint.children:
            table = endpoint.child_table(child)
            resource.apply_hints(
                table_name=table,
                write_disposition=by_day(endpoint.date_field),
                create_table_variant=True,
            )
        resource.apply_hints(write_disposition=by_day(endpoint.date_field))


def by_day(date_field: str) -> TDeleteInsertStrategyDict:
    """The merge whose delete is the staged (`app_id`, `date_field`) pairs, the merge key: each
    staged day of an account replaces that day's rows, and the primary key deduplicates what
    is staged. `{table}` follows a table a user renamed."""
    columns = ("app_id", date_field)
    matched = " AND ".join(f's."{name}" = {{table}}."{name}"' for name in columns)
    # the names are the catalog's, not input
    scope = f"EXISTS (SELECT 1 FROM {{staging_table}} AS s WHERE {matched})"  # noqa: S608
    return {"disposition": "merge", "strategy": "delete-insert", "destination_scope": scope}


class _ScopedMergeNotice(logging.Filter):
    """Drops dlt's warning that a table has both a `merge_key` and a `destination_scope`, for
    the tables merged by day only: there both say the same, on purpose, and the warning would
    come once per table and run."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003
        message = str(record.msg)
        if "has `merge_key` and `destination_scope`" not in message:
            return True
        return not any(f"Table `{table}` " in message for table in BY_DAY_TABLES)


logging.getLogger("dlt").addFilter(_ScopedMergeNotice())
