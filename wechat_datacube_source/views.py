"""Ready-made SQL views over the loaded tables: the questions users ask first.

Each view is one entry of `VIEWS`, written once in DuckDB's SQL with bare table names;
`create_views` qualifies the names with the pipeline's dataset and lets sqlglot (a dlt
dependency) translate the statement into the destination's dialect. Every view keeps `app_id`
as its first column, so many accounts sharing a dataset stay apart in every answer. A view is
created only when all its tables are in the dataset, and is dropped and created again on every
call, so a changed definition always replaces the old one.

The views run on DuckDB and PostgreSQL in the tests; BigQuery and Snowflake get sqlglot's
translation, which is checked to parse but has not been run against those warehouses.
"""

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import sqlglot
from dlt import Pipeline
from dlt.destinations.job_client_impl import SqlJobClientBase
from sqlglot import exp

from .labels import FOLLOW_SOURCE, READ_SOURCE


@dataclass(frozen=True)
class View:
    name: str
    question: str
    """What the view answers, in one line; the README opens the view's entry with it."""
    tables: Tuple[str, ...]
    sql: str
    """A SELECT in DuckDB's dialect, naming tables without their dataset."""


def _labelled(field: str, code: str, alias: str) -> str:
    """A LEFT JOIN of code_labels for one enumerated column (unknown codes keep no label)."""
    return (
        f"LEFT JOIN code_labels AS {alias} "
        f"ON {alias}.field = '{field}' AND {alias}.code = CAST({code} AS VARCHAR)"
    )


VIEWS: Tuple[View, ...] = (
    View(
        name="v_net_followers_by_channel",
        question="Daily new, cancelled and net followers by labelled follow channel",
        tables=("user_summary", "code_labels"),
        sql=f"""
            SELECT s.app_id, s.ref_date, s.user_source AS channel_code,
                   l.label_en AS channel, l.label_zh AS channel_zh,
                   s.new_user, s.cancel_user, s.new_user - s.cancel_user AS net_followers
            FROM user_summary AS s
            {_labelled(FOLLOW_SOURCE, "s.user_source", "l")}
        """,
    ),
    View(
        name="v_follower_total",
        question="Follower total per day and its change from the day before",
        tables=("user_cumulate",),
        sql="""
            SELECT app_id, ref_date, cumulate_user AS followers,
                   cumulate_user - LAG(cumulate_user) OVER (
                       PARTITION BY app_id ORDER BY ref_date
                   ) AS change_from_previous_day
            FROM user_cumulate
        """,
    ),
    View(
        name="v_article_first_days",
        # article_total_detail holds numbers cumulative per stat_date, 30 days from publishing
        question="Each article's readers and sharers in its first 7 and 30 days",
        tables=("article_total_detail",),
        sql="""
            SELECT app_id, msgid, MAX(title) AS title, ref_date AS published_on,
                   MAX(DATE_DIFF('day', ref_date, stat_date)) + 1 AS days_tracked,
                   MAX(CASE WHEN DATE_DIFF('day', ref_date, stat_date) < 7
                       THEN read_user END) AS readers_first_7_days,
                   MAX(CASE WHEN DATE_DIFF('day', ref_date, stat_date) < 30
                       THEN read_user END) AS readers_first_30_days,
                   MAX(CASE WHEN DATE_DIFF('day', ref_date, stat_date) < 7
                       THEN share_user END) AS sharers_first_7_days,
                   MAX(CASE WHEN DATE_DIFF('day', ref_date, stat_date) < 30
                       THEN share_user END) AS sharers_first_30_days
            FROM article_total_detail
            GROUP BY app_id, msgid, ref_date
        """,
    ),
    View(
        name="v_read_source_mix",
        question=(
            "Article readers per day by labelled read channel, and each channel's share of "
            "the day's all-channel readers"
        ),
        tables=("user_read", "code_labels"),
        sql=f"""
            SELECT app_id, ref_date, source_code, source, source_zh, readers, reads,
                   -- ROUND of a decimal: PostgreSQL has no ROUND(double, places), and
                   -- sqlglot writes DECIMAL(9, 1) as BigQuery's NUMERIC without its scale,
                   -- so that cast alone would keep nine places there. Twelve places first:
                   -- rounding twice is then exact up to 10^10 readers a day (six places
                   -- made 50 of 100001 readers 0.1 %)
                   CAST(ROUND(CAST(100.0 * readers / NULLIF(all_readers, 0) AS DECIMAL(38, 12)), 1)
                       AS DECIMAL(9, 1)) AS pct_of_all_readers
            FROM (
                SELECT r.app_id, r.ref_date, r.user_source AS source_code,
                       l.label_en AS source, l.label_zh AS source_zh,
                       r.int_page_read_user AS readers, r.int_page_read_count AS reads,
                       MAX(CASE WHEN r.user_source = 99999999 THEN r.int_page_read_user END)
                           OVER (PARTITION BY r.app_id, r.ref_date) AS all_readers
                FROM user_read AS r
                {_labelled(READ_SOURCE, "r.user_source", "l")}
            ) AS channels
            WHERE source_code <> 99999999
        """,
    ),
    View(
        name="v_message_volume",
        question="Messages followers sent per day, by labelled message type",
        tables=("upstream_msg", "code_labels"),
        sql=f"""
            SELECT m.app_id, m.ref_date, m.msg_type, l.label_en AS message_type,
                   l.label_zh AS message_type_zh, m.msg_user AS senders, m.msg_count AS messages
            FROM upstream_msg AS m
            {_labelled("msg_type", "m.msg_type", "l")}
        """,
    ),
    View(
        name="v_ad_revenue_by_slot",
        question="Ad revenue per day by labelled ad slot, in fen and in yuan",
        tables=("publisher_adpos_general", "code_labels"),
        sql=f"""
            SELECT a.app_id, a.date, a.ad_slot, l.label_en AS slot, l.label_zh AS slot_zh,
                   a.income AS income_fen, a.income / 100.0 AS income_yuan,
                   a.exposure_count, a.click_count, a.ecpm
            FROM publisher_adpos_general AS a
            {_labelled("ad_slot", "a.ad_slot", "l")}
        """,
    ),
)


Qualify = Callable[[str], List[str]]
"""A table's path in the destination, catalog first: the sql client's own qualification."""


def view_statements(view: View, dialect: Optional[str], qualify: Qualify) -> Tuple[str, str]:
    """DROP and CREATE statements of `view` in `dialect`, its tables qualified by `qualify`."""
    select = sqlglot.parse_one(view.sql, read="duckdb")
    for table in select.find_all(exp.Table):
        if table.name in view.tables:
            table.replace(_table(qualify(table.name)).as_(table.alias_or_name))
    # the same two statements in every SQL destination; only names and the SELECT differ
    name = _table(qualify(view.name)).sql(dialect=dialect)
    return (
        f"DROP VIEW IF EXISTS {name}",
        f"CREATE VIEW {name} AS {select.sql(dialect=dialect)}",
    )


def _table(path: Sequence[str]) -> exp.Table:
    # quoted: the path is already case-folded the way the destination stores it
    *catalog, db, name = path
    return exp.Table(
        this=exp.to_identifier(name, quoted=True),
        db=exp.to_identifier(db, quoted=True),
        catalog=exp.to_identifier(catalog[-1], quoted=True) if catalog else None,
    )


def create_views(pipeline: Pipeline, views: Sequence[View] = VIEWS) -> List[str]:
    """Creates (again) each view whose tables are in the pipeline's dataset; returns their names.

    Which tables exist is asked of the destination, not of the pipeline's schema: accounts
    share the dataset through pipelines of their own, so one call after the last account
    sees the tables any of them loaded (a fresh worker's pipeline, with no schema yet, too).
    A SQL destination only; nothing is created on others (the filesystem destination).

    The pipeline script calls it after its loads unless given `--no-views`; call it after
    `pipeline.run(...)` to get the same views in your own pipeline.
    """
    if not issubclass(pipeline.destination.client_class, SqlJobClientBase):
        return []  # files (the filesystem destination) have no views to keep
    needed = sorted({table for view in views for table in view.tables})
    with pipeline.destination_client() as job_client:
        assert isinstance(job_client, SqlJobClientBase)
        stored = {name for name, columns in job_client.get_storage_tables(needed) if columns}
        wanted = [view for view in views if set(view.tables) <= stored]
        client = job_client.sql_client
        dialect = pipeline.destination.capabilities().sqlglot_dialect

        def qualify(table: str) -> List[str]:
            return client.make_qualified_table_name_path(table, quote=False)

        for view in wanted:
            for statement in view_statements(view, dialect, qualify):
                client.execute_sql(statement)
    return [view.name for view in wanted]
