"""The ready-made views answer from the loaded tables, on DuckDB and on PostgreSQL."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Dict, List

import dlt
import pytest
import sqlglot

from tests.helpers import LAST_COMPLETE, make_pipeline, run, table_rows
from wechat_datacube_source.emulator import Emulator
from wechat_datacube_source.views import VIEWS, create_views, view_statements

pytestmark = pytest.mark.destinations

TABLES = [
    "user_summary",
    "user_cumulate",
    "article_total_detail",
    "user_read",
    "upstream_msg",
    "publisher_adpos_general",
]
START = LAST_COMPLETE - timedelta(days=13)


def rows(pipeline: dlt.Pipeline, table: str) -> List[Dict[str, Any]]:
    return table_rows(pipeline, table)


def test_every_view_answers_from_its_tables(pipeline: dlt.Pipeline, api: Emulator) -> None:
    run(pipeline, api, resources=TABLES, start_date=START.isoformat())
    assert create_views(pipeline) == [view.name for view in VIEWS]
    # created again over the first ones, as after every load
    assert create_views(pipeline) == [view.name for view in VIEWS]

    channels = rows(pipeline, "v_net_followers_by_channel")
    assert len(channels) == len(rows(pipeline, "user_summary"))
    assert all(r["net_followers"] == r["new_user"] - r["cancel_user"] for r in channels)
    assert all(r["channel"] for r in channels)  # the emulator sends documented channels only
    net_by_day: Dict[Any, int] = defaultdict(int)
    for r in channels:
        net_by_day[r["ref_date"]] += r["net_followers"]
    totals = sorted(rows(pipeline, "v_follower_total"), key=lambda r: r["ref_date"])
    assert totals[0]["change_from_previous_day"] is None
    # the follower total moves by the day's net followers over all channels
    for r in totals[1:]:
        assert r["change_from_previous_day"] == net_by_day[r["ref_date"]], r["ref_date"]

    details = rows(pipeline, "article_total_detail")
    articles = rows(pipeline, "v_article_first_days")
    assert articles and len(articles) == len({(r["msgid"], r["ref_date"]) for r in details})
    for article in articles:
        days = {
            (r["stat_date"] - r["ref_date"]).days: r["read_user"]
            for r in details
            if r["msgid"] == article["msgid"] and r["ref_date"] == article["published_on"]
        }
        assert article["days_tracked"] == max(days) + 1
        assert article["readers_first_7_days"] == max(v for d, v in days.items() if d < 7)
        assert article["readers_first_30_days"] == max(days.values())

    mix = rows(pipeline, "v_read_source_mix")
    read = rows(pipeline, "user_read")
    everyone = {
        r["ref_date"]: r["int_page_read_user"] for r in read if r["user_source"] == 99999999
    }
    assert len(mix) == len(read) - len(everyone)
    for r in mix:
        expected = round(100.0 * r["readers"] / everyone[r["ref_date"]], 1)
        assert float(r["pct_of_all_readers"]) == pytest.approx(expected, abs=0.05)
        assert r["source"]

    messages = rows(pipeline, "v_message_volume")
    assert len(messages) == len(rows(pipeline, "upstream_msg")) > 0
    assert all(r["message_type"] and r["message_type_zh"] for r in messages)

    revenue = rows(pipeline, "v_ad_revenue_by_slot")
    assert len(revenue) == len(rows(pipeline, "publisher_adpos_general")) > 0
    assert all(float(r["income_yuan"]) * 100 == pytest.approx(r["income_fen"]) for r in revenue)
    assert all(r["slot"] for r in revenue)


def test_only_views_whose_tables_are_loaded_are_created(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    run(pipeline, api, resources=["user_cumulate"], start_date=START.isoformat())
    assert create_views(pipeline) == ["v_follower_total"]
    assert len(rows(pipeline, "v_follower_total")) == 14


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake"])
def test_views_translate_for_the_warehouses(tmp_path: Path, api: Emulator, dialect: str) -> None:
    """Each view, translated for the warehouse and read back into DuckDB, answers as the view.

    There is no BigQuery or Snowflake here, so the translation cannot run where it is meant
    to; read back by sqlglot and run on the DuckDB data, it must give the view's own rows.
    That catches what the translation loses or garbles on the way out (a rounding dropped,
    DuckDB's syntax sent as it is), not a mistake sqlglot makes the same way in both
    directions. Breaks tried: statements written without the dialect (BigQuery reads `"ds"`
    as a string and the run fails); `DECIMAL(9, 1)` as the only rounding of the read-source
    share (sqlglot writes BigQuery's `NUMERIC` without its scale, so the view rounds first).
    """
    pipeline = make_pipeline(tmp_path)
    run(pipeline, api, resources=TABLES, start_date=START.isoformat())
    create_views(pipeline)
    with pipeline.sql_client() as client:
        for view in VIEWS:

            def qualify(table: str) -> List[str]:
                return client.make_qualified_table_name_path(table, quote=False)

            _, create = view_statements(view, dialect, qualify)
            translated = sqlglot.parse_one(create, read=dialect)
            assert isinstance(translated, sqlglot.exp.Create), create
            read_back = translated.expression.sql(dialect="duckdb")
            with client.execute_query(read_back) as cursor:
                answer = sorted(map(tuple, cursor.fetchall()), key=repr)
            with client.execute_query(
                f"SELECT * FROM {client.make_qualified_table_name(view.name)}"  # noqa: S608
            ) as cursor:
                expected = sorted(map(tuple, cursor.fetchall()), key=repr)
            assert expected, view.name
            assert answer == expected, (view.name, create)


# (readers of one channel, of all channels): shares next to a rounding boundary
SHARES = [(50, 100_001), (49_999_995, 100_000_000_000), (3, 2_000), (1, 3), (2, 3), (61, 800)]


def test_the_read_source_share_is_rounded_once_and_half_up(pipeline: dlt.Pipeline) -> None:
    """On the view's own SQL, over tables made for it: breaks tried: six decimal places
    before the rounding (50 of 100001 readers became 0.1 %); a decimal division (DuckDB
    divides decimals as doubles, and 0.15 became 0.1)."""
    view = next(view for view in VIEWS if view.name == "v_read_source_mix")
    with pipeline.sql_client() as client:
        client.create_dataset()
        read = client.make_qualified_table_name("user_read")
        labels = client.make_qualified_table_name("code_labels")
        client.execute_sql(
            f"CREATE TABLE {read} (app_id VARCHAR, ref_date DATE, user_source BIGINT, "
            "int_page_read_user BIGINT, int_page_read_count BIGINT)"
        )
        client.execute_sql(
            f"CREATE TABLE {labels} (field VARCHAR, code VARCHAR, label_en VARCHAR, "
            "label_zh VARCHAR)"
        )
        for day, (readers, everyone) in enumerate(SHARES, start=1):
            for source, count in ((99999999, everyone), (2, readers)):
                client.execute_sql(
                    f"INSERT INTO {read} VALUES ('wx', %s, %s, %s, 0)",
                    date(2026, 6, day),
                    source,
                    count,
                )
        dialect = pipeline.destination.capabilities().sqlglot_dialect
        _, create = view_statements(
            view, dialect, lambda table: client.make_qualified_table_name_path(table, quote=False)
        )
        client.execute_sql(create)
        shares = client.execute_sql(
            "SELECT ref_date, pct_of_all_readers FROM "  # noqa: S608
            f"{client.make_qualified_table_name(view.name)}"
        )
    expected = {
        date(2026, 6, day): (Decimal(100 * readers) / everyone).quantize(
            Decimal("0.1"), ROUND_HALF_UP
        )
        for day, (readers, everyone) in enumerate(SHARES, start=1)
    }
    assert dict(shares or []) == expected
