"""Rows become arrow tables of exactly the declared types; odd values are kept, never fatal."""

from datetime import date
from typing import List

import pyarrow as pa
from dlt.common.normalizers.naming.snake_case import NamingConvention as SnakeCase

from wechat_datacube_source.arrow_tables import to_arrow
from wechat_datacube_source.catalog import BY_TABLE, table_columns

DAY = date(2026, 6, 1)
HINTS = table_columns(BY_TABLE["user_summary"])["user_summary"]


def row(**values: object) -> dict:
    return {"app_id": "wx1", "ref_date": DAY, "user_source": 0, **values}


def test_declared_columns_get_their_type_and_order_whatever_the_rows_say() -> None:
    notes: List[str] = []
    table = to_arrow([row(cancel_user=1, new_user=2)], HINTS, notes, "user_summary")
    assert table.schema.names == ["app_id", "ref_date", "user_source", "new_user", "cancel_user"]
    assert table.schema.field("ref_date").type == pa.date32()
    assert not table.schema.field("ref_date").nullable
    assert table.schema.field("new_user").type == pa.int64()
    assert notes == []


def test_numbers_sent_as_strings_are_coerced_like_dlt_does() -> None:
    notes: List[str] = []
    table = to_arrow([row(new_user="0", cancel_user=" 7")], HINTS, notes, "user_summary")
    assert table.to_pylist()[0]["new_user"] == 0 and table.to_pylist()[0]["cancel_user"] == 7
    assert notes == []


def test_a_value_that_does_not_fit_is_kept_exactly_as_text_beside_its_column() -> None:
    notes: List[str] = []
    rows = [row(new_user=2**64, cancel_user=3), row(user_source=1, new_user=5, cancel_user="n/a")]
    table = to_arrow(rows, HINTS, notes, "user_summary").to_pylist()
    assert [r["new_user"] for r in table] == [None, 5]
    assert [r["new_user__v_text"] for r in table] == [str(2**64), None]
    assert [r["cancel_user"] for r in table] == [3, None]
    assert [r["cancel_user__v_text"] for r in table] == [None, "n/a"]
    assert notes == [
        f"user_summary.new_user: {2**64} is not bigint, kept in new_user__v_text",
        "user_summary.cancel_user: n/a is not bigint, kept in cancel_user__v_text",
    ]


def test_undeclared_fields_get_the_type_their_values_share_or_json_text() -> None:
    rows = [
        row(metric=1, ratio=1, flag=True, mixed=1, nested={"a": [1, "二"]}, empty=None),
        row(metric=2, ratio=0.5, flag=False, mixed="x", nested=[], empty=None),
    ]
    table = to_arrow(rows, HINTS, [], "user_summary")
    types = {name: table.schema.field(name).type for name in table.schema.names}
    assert types["metric"] == pa.int64() and types["ratio"] == pa.float64()
    assert types["flag"] == pa.bool_() and types["mixed"] == pa.string()
    assert "empty" not in types  # only nulls: no column, as dlt does for JSON rows
    values = table.to_pydict()
    assert values["mixed"] == ["1", "x"]
    assert values["nested"] == ['{"a": [1, "二"]}', "[]"]


def test_a_column_an_earlier_run_stored_keeps_its_type() -> None:
    stored = {**HINTS, "metric": {"name": "metric", "data_type": "bigint"}}
    notes: List[str] = []
    table = to_arrow([row(metric="many")], stored, notes, "user_summary").to_pydict()
    assert table["metric"] == [None] and table["metric__v_text"] == ["many"]
    assert notes == ["user_summary.metric: many is not bigint, kept in metric__v_text"]


def test_field_names_land_in_columns_dlt_will_not_rename_onto_each_other() -> None:
    # "1" is "_1" to dlt; renamed, it must not become a name dlt turns into another's
    notes: List[str] = []
    rows = [row(**{"1": 1, "_1": 2, "_1__as_sent": 3, "newUser": 4, "new_user": 5, "": 6})]
    table = to_arrow(rows, HINTS, notes, "user_summary")
    names = table.schema.names
    naming = SnakeCase()
    assert len(set(names)) == len(names)
    assert all(naming.normalize_path(name) == name for name in names)
    values = table.to_pylist()[0]
    assert sorted(values[name] for name in names if name not in HINTS) == [1, 2, 3, 4, 6]
    assert values["new_user"] == 5 and values["new_user__as_sent"] == 4
    assert values["unnamed__as_sent"] == 6
    assert len(notes) == 4  # "1" or "_1", "_1__as_sent" or its rival, "newUser", ""


def test_nan_and_infinity_are_no_statistic_and_are_kept_as_text() -> None:
    notes: List[str] = []
    hints = table_columns(BY_TABLE["publisher_adpos_general"])["publisher_adpos_general"]
    rows = [
        {"app_id": "wx1", "date": DAY, "ad_slot": s, "ecpm": v}
        for s, v in (("a", float("inf")), ("b", float("nan")), ("c", 1.5))
    ]
    table = to_arrow(rows, hints, notes, "publisher_adpos_general").to_pydict()
    assert table["ecpm"] == [None, None, 1.5]
    assert table["ecpm__v_text"] == ["Infinity", "NaN", None]
