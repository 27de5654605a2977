"""Row transforms: flattening, date parsing, range filtering, typed errors on odd shapes."""

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wechat_datacube_source.catalog import BY_TABLE, ENDPOINTS
from wechat_datacube_source.errors import PayloadError
from wechat_datacube_source.transforms import is_delayed, to_rows
from wechat_datacube_source.windows import Window

DAY = date(2026, 6, 1)
WINDOW = Window(DAY, DAY, DAY, DAY)


def test_rows_outside_the_window_are_dropped_and_counted() -> None:
    body = {
        "list": [
            {"ref_date": "2026-06-01", "cumulate_user": 5},
            {"ref_date": "2019-01-01", "cumulate_user": 1},
            {"ref_date": "2026-06-02", "cumulate_user": 6},
        ]
    }
    batch = to_rows(BY_TABLE["user_cumulate"], body, WINDOW, "wx1")
    assert batch.rows == [{"app_id": "wx1", "ref_date": DAY, "cumulate_user": 5}]
    assert batch.dropped == 2


def test_details_become_one_row_per_stat_date_carrying_the_send_date() -> None:
    body = {
        "list": [
            {
                "ref_date": "2026-06-01",
                "msgid": "1_1",
                "title": "t",
                "url": "u",
                "details": [
                    {"stat_date": "2026-06-01", "target_user": 9},
                    {"stat_date": "2026-06-02", "target_user": 9},
                ],
            }
        ]
    }
    rows = to_rows(BY_TABLE["article_total"], body, WINDOW, "wx1").rows
    assert [(r["ref_date"], r["stat_date"], r["msgid"], r["url"]) for r in rows] == [
        (DAY, DAY, "1_1", "u"),
        (DAY, date(2026, 6, 2), "1_1", "u"),
    ]


def test_detail_objects_are_lifted_and_unknown_fields_and_codes_kept() -> None:
    body = {
        "list": [
            {"ref_date": "2026-06-01", "msgid": "2_1", "detail": {"read_user": 3, "brand_new": 1}}
        ],
        "is_delay": False,
    }
    rows = to_rows(BY_TABLE["article_read"], body, WINDOW, "wx1").rows
    assert rows == [
        {"app_id": "wx1", "ref_date": DAY, "msgid": "2_1", "read_user": 3, "brand_new": 1}
    ]
    assert not is_delayed(body) and is_delayed({"is_delay": True})
    code = to_rows(
        BY_TABLE["user_summary"],
        {"list": [{"ref_date": "2026-06-01", "user_source": 987654}]},
        WINDOW,
        "wx1",
    ).rows
    assert code[0]["user_source"] == 987654


def test_a_count_beyond_64_bits_is_kept_exactly_as_text() -> None:
    body = {
        "list": [{"ref_date": "2026-06-01", "user_source": 0, "new_user": 2**64, "cancel_user": 3}]
    }
    batch = to_rows(BY_TABLE["user_summary"], body, WINDOW, "wx1")
    assert batch.rows[0]["new_user"] is None and batch.rows[0]["new_user__v_text"] == str(2**64)
    assert batch.rows[0]["cancel_user"] == 3
    assert batch.notes == [f"new_user={2**64} is beyond 64 bits: kept in new_user__v_text"]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"list": {"ref_date": "2026-06-01"}}, "`list` is dict, not a list"),
        ({"list": ["2026-06-01"]}, "element is str, not an object"),
        (
            {"list": [{"ref_date": "06/01/2026", "user_source": 1}]},
            "`ref_date` is '06/01/2026', not a YYYY-MM-DD date",
        ),
        ({"list": [{"ref_date": "2026-06-01"}]}, "a row has no user_source"),
    ],
)
def test_odd_shapes_raise_a_typed_error_naming_the_problem(body: Any, problem: str) -> None:
    with pytest.raises(PayloadError, match=problem.replace("(", r"\(").replace("[", r"\[")):
        to_rows(BY_TABLE["user_summary"], body, WINDOW, "wx1")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=st.dictionaries(st.sampled_from(["list", "settlement_list", "is_delay", "x"]), JSON),
)
def test_no_payload_crashes_the_transform_with_anything_but_a_payload_error(
    endpoint: Any, body: Any
) -> None:
    try:
        batch = to_rows(endpoint, body, WINDOW, "wx1")
    except PayloadError:
        return
    for row in batch.rows:
        assert row["app_id"] == "wx1" and row[endpoint.date_field] == DAY
