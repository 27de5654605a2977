"""Row transforms: flattening, date parsing, range filtering, typed errors on odd shapes; and
fuzzing of the whole path from a response body to the arrow tables handed to dlt."""

from datetime import date
from typing import Any, List

import pytest
from dlt.common.normalizers.naming.snake_case import NamingConvention
from hypothesis import given, settings
from hypothesis import strategies as st

from wechat_datacube_source.arrow_tables import (
    ARROW_TYPES,
    MISFIT_SUFFIX,
    RENAMED_SUFFIX,
    column_names,
    to_arrow,
)
from wechat_datacube_source.catalog import BY_TABLE, ENDPOINTS, table_columns
from wechat_datacube_source.errors import MALFORMED_ANSWER, PayloadError
from wechat_datacube_source.transforms import is_delayed, to_rows
from wechat_datacube_source.transport import body_error
from wechat_datacube_source.windows import Window

DAY = date(2026, 6, 1)
WINDOW = Window(DAY, DAY, DAY, DAY, "day")


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


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"errcode": -1, "errmsg": "system error"}, -1),
        ({"errcode": "45009", "errmsg": "quota"}, 45009),
        # a float was once read as success: an empty week committed, its rows never fetched
        ({"errcode": 61503.0, "errmsg": "data not ready"}, 61503),
        ({"errcode": 45009.0}, 45009),
        ({"errcode": "61503.0"}, 61503),
        ({"errcode": " 48001 "}, 48001),
        ({"base_resp": {"ret": 2009.0, "err_msg": "invalid"}}, 2009),
        # a code that is no whole number is an error of its own, never success
        ({"errcode": "busy"}, MALFORMED_ANSWER),
        ({"errcode": ""}, MALFORMED_ANSWER),
        ({"errcode": 0.5}, MALFORMED_ANSWER),
        ({"errcode": True}, MALFORMED_ANSWER),
        ({"errcode": [61503]}, MALFORMED_ANSWER),
        ({"errcode": {"code": 1}}, MALFORMED_ANSWER),
        ({"errcode": 1e30}, MALFORMED_ANSWER),
        ({"errcode": 2**70}, MALFORMED_ANSWER),
        ({"base_resp": {"ret": "x"}}, MALFORMED_ANSWER),
        # zero in any form, or no code at all, is success
        ({"errcode": 0, "errmsg": "ok", "list": []}, 0),
        ({"errcode": 0.0, "list": []}, 0),
        ({"errcode": "0", "list": []}, 0),
        ({"base_resp": {"ret": 2009, "err_msg": "invalid"}}, 2009),
        ({"base_resp": {"ret": 0, "err_msg": "ok"}, "list": []}, 0),
        ({"list": [], "errcode": None}, 0),
        ({"list": []}, 0),
    ],
)
def test_any_errcode_but_zero_in_any_json_type_is_an_error(body: Any, code: int) -> None:
    assert body_error(body)[0] == code


def test_a_key_beyond_64_bits_fails_the_window_instead_of_the_load() -> None:
    body = {"list": [{"ref_date": "2026-06-01", "user_source": 2**70, "new_user": 1}]}
    with pytest.raises(PayloadError, match=f"`user_source` is {2**70}, not a bigint key"):
        to_rows(BY_TABLE["user_summary"], body, WINDOW, "wx1")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"list": {"ref_date": "2026-06-01"}}, "`list` is dict, not a list"),
        ({"errmsg": "ok"}, "the response has no `list`"),
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
# mostly the requested day, sometimes a neighbour (dropped) or garbage (an error)
DATES = st.sampled_from(
    ["2026-06-01"] * 30 + ["2026-05-31", "2026-06-02", "20XX-XX-XX", "2026-6-1"]
)
ODD = (
    st.none()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=8)
    | JSON
)
VALUES = {
    "date": DATES,
    "text": st.text(min_size=1, max_size=8),
    "bigint": st.integers(0, 10**6) | ODD,
    "double": st.floats(0, 1) | ODD,
}


KEY_VALUES = {
    "date": st.sampled_from(["2026-06-01"] * 10 + ["2026-05-31", "2026-06-02"]),
    "text": st.text(min_size=1, max_size=8),
    "bigint": st.integers(0, 10**6),
}


@st.composite
def payloads(draw: Any, endpoint: Any, well_formed: bool) -> Any:
    """Bodies shaped like the endpoint's: its keys mostly present and well typed, its nested
    objects and lists in place, and odd values, missing keys and unknown fields mixed in.

    `well_formed`: every key present with a value it can take and every nested list a list,
    so the body must land (odd values and unknown fields still come, but not in keys)."""
    lists = {endpoint.explode, *(c.list_field for c in endpoint.children)} - {None}
    by_child = {c.list_field: c for c in endpoint.children}

    def element(fields: Any, key: Any, depth: int) -> Any:
        value = {}
        for name, kind in fields.items():
            if well_formed and name in key:
                value[name] = draw(KEY_VALUES[kind])
            elif draw(st.integers(0, 9)) > 0:  # a key is missing one time in ten
                value[name] = draw(VALUES[kind])
        if draw(st.booleans()):
            taken = {*fields, *lists, endpoint.unwrap}
            names = st.text(max_size=6).filter(lambda n: not well_formed or n not in taken)
            value[draw(names)] = draw(ODD)
        if depth < 2:
            for name in lists:
                if draw(st.integers(0, 4)) > 0:
                    child = by_child.get(name)
                    fields_of = child.fields if child else endpoint.fields
                    key_of = child.key if child else endpoint.primary_key
                    elements = st.lists(
                        st.builds(lambda f=fields_of, k=key_of: element(f, k, depth + 1)),
                        max_size=3,
                    )
                    odd = not well_formed and draw(st.integers(0, 9)) == 0
                    value[name] = draw(ODD if odd else elements)
        if depth == 0 and endpoint.unwrap and draw(st.booleans()):
            value[endpoint.unwrap] = {
                k: value.pop(k)
                for k in list(value)
                if k not in endpoint.primary_key and draw(st.booleans())
            }
        return value

    items = draw(
        st.lists(st.builds(lambda: element(endpoint.fields, endpoint.primary_key, 0)), max_size=4)
    )
    return {
        endpoint.list_key: items,
        **draw(st.dictionaries(st.sampled_from(["is_delay", *endpoint.response_fields]), ODD)),
    }


# the same examples on every run, so CI passes or fails on the code, never on luck; explore
# further by turning derandomize off and max_examples up (24,000 examples passed so)
@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=st.data(), endpoint=st.sampled_from(ENDPOINTS))
def test_no_payload_fails_but_its_window_and_every_value_lands_typed_or_kept_as_text(
    data: Any, endpoint: Any
) -> None:
    well_formed = data.draw(st.booleans())
    body = data.draw(payloads(endpoint, well_formed))
    try:
        batch = to_rows(endpoint, body, WINDOW, "wx1")
    except PayloadError:
        # only a body with a key missing or unusable, or a list that is none, fails its window
        # (a to_rows that always raised passed this test while it returned here unchecked)
        assert not well_formed
        return
    hints = table_columns(endpoint)
    assert set(batch.children) <= set(hints)
    for table, rows in {endpoint.table: batch.rows, **batch.children}.items():
        assert all(r["app_id"] == "wx1" and r[endpoint.date_field] == DAY for r in rows)
        if not rows:
            continue
        notes: List[str] = []
        arrow = to_arrow(rows, hints[table], notes, table)
        columns = arrow.to_pydict()
        # where each field landed: its own name, dlt's form of it, or a new name if taken
        fields = dict.fromkeys(name for row in rows for name in row)
        landed = column_names(fields, hints[table], NamingConvention(), [], table)
        # one column per field, each in dlt's form already: dlt renames nothing, so nothing
        # can collide after it
        assert len(set(landed.values())) == len(landed)
        assert all(NamingConvention().normalize_path(name) == name for name in landed.values())
        for name, hint in hints[table].items():
            if name not in columns:
                assert all(row.get(name) is None for row in rows), name
                continue
            # exactly the declared type, so dlt and the destination have nothing to coerce
            assert arrow.schema.field(name).type == ARROW_TYPES[hint["data_type"]].arrow_type, name
            if not hint.get("nullable", True):
                assert None not in columns[name], name
        for index, row in enumerate(rows):
            for field, value in row.items():
                name = landed[field]
                kept = columns.get(name, [None] * len(rows))[index]
                misfit = columns.get(name + MISFIT_SUFFIX, [None] * len(rows))[index]
                # nothing is lost: a value lands in its column, or as text beside it
                assert (value is None) == (kept is None and misfit is None), (field, value)
                hint = hints[table].get(name)
                if hint and kept is not None:
                    # one meaning of "fits", whichever way pyarrow was asked to convert
                    assert repr(kept) == repr(ARROW_TYPES[hint["data_type"]].fit(value)), name
        misfit_notes = [note for note in notes if note.endswith(MISFIT_SUFFIX)]
        assert bool(misfit_notes) == any(name.endswith(MISFIT_SUFFIX) for name in columns)
        # each field to_arrow renamed has its note (the transforms note their own renames)
        assert len(notes) - len(misfit_notes) == sum(
            1 for field, name in landed.items() if RENAMED_SUFFIX in name.replace(field, "")
        )
        renamed = {field for row in rows for field in row if RENAMED_SUFFIX in field}
        assert all(
            any(f"kept in {f}" in note or f"kept whole in {f}" in note for note in batch.notes)
            for f in renamed
        )


# --- how unusual responses are handled (README): one test per rule -------------------------


def test_a_reading_row_of_the_older_shape_is_the_all_channel_row() -> None:
    body = {"list": [{"ref_date": "2026-06-01", "int_page_read_user": 7}]}
    batch = to_rows(BY_TABLE["user_read"], body, WINDOW, "wx1")
    assert [(r["user_source"], r["int_page_read_user"]) for r in batch.rows] == [(99999999, 7)]
    assert any("rows without `user_source`" in note for note in batch.notes)
    # a key sent as null is no older shape: it is refused, as any missing key is
    with pytest.raises(PayloadError, match="has no user_source"):
        to_rows(
            BY_TABLE["user_read"],
            {"list": [{"ref_date": "2026-06-01", "user_source": None}]},
            WINDOW,
            "wx1",
        )


def test_another_spelling_lands_in_the_declared_column_unless_both_are_sent() -> None:
    endpoint = BY_TABLE["interface_summary"]
    alone = to_rows(
        endpoint, {"list": [{"ref_date": "2026-06-01", "max_time_count": 9}]}, WINDOW, "wx1"
    )
    assert alone.rows[0]["max_time_cost"] == 9 and "max_time_count" not in alone.rows[0]
    both = {"list": [{"ref_date": "2026-06-01", "max_time_count": 9, "max_time_cost": 3}]}
    row = to_rows(endpoint, both, WINDOW, "wx1").rows[0]
    assert (row["max_time_cost"], row["max_time_count"]) == (3, 9)


def test_a_period_row_dated_inside_its_period_lands_under_its_first_day() -> None:
    monday = date(2026, 6, 1)
    week = Window(monday, monday, monday, date(2026, 6, 7), "week")
    body = {
        "list": [
            {"ref_date": "2026-06-07", "msg_type": 1, "msg_user": 2},
            {"ref_date": "2026-06-08", "msg_type": 1, "msg_user": 3},  # the next week
        ]
    }
    batch = to_rows(BY_TABLE["upstream_msg_week"], body, week, "wx1")
    assert [(r["ref_date"], r["ref_date__as_sent"]) for r in batch.rows] == [
        (monday, date(2026, 6, 7))
    ]
    assert batch.dropped == 1
    assert any("stored under its first day" in note for note in batch.notes)
    # rows of single days, several under one key once dated on the week's first: not placed
    daily = {"list": [{"ref_date": f"2026-06-0{d}", "msg_type": 1, "msg_user": d} for d in (2, 3)]}
    with pytest.raises(PayloadError, match="several rows of one week share a key"):
        to_rows(BY_TABLE["upstream_msg_week"], daily, week, "wx1")


def test_a_nested_element_of_unknown_shape_is_kept_whole_keyed_by_its_position() -> None:
    endpoint = BY_TABLE["article_total_detail"]
    body = {
        "list": [
            {
                "ref_date": "2026-06-01",
                "msgid": "1_1",
                "detail_list": [
                    {
                        "stat_date": "2026-06-01",
                        "read_user_source": [
                            {"scene_desc": "全部", "user_count": 5},
                            {"type": 99999999, "value": 1200},
                            "odd",
                        ],
                        # one element, not a list of them
                        "read_jump_position": {"rate": 0.5},
                    }
                ],
            }
        ]
    }
    batch = to_rows(endpoint, body, WINDOW, "wx1")
    sources = batch.children["article_total_detail__read_user_source"]
    assert [(r["scene_desc"], r.get("element__as_sent")) for r in sources] == [
        ("全部", None),
        ("unknown shape #2", '{"type": 99999999, "value": 1200}'),
        ("unknown shape #3", '"odd"'),
    ]
    (jump,) = batch.children["article_total_detail__read_jump_position"]
    assert (jump["position"], jump["element__as_sent"]) == (-1, '{"rate": 0.5}')
    assert all(r["msgid"] == "1_1" and r["stat_date"] == DAY for r in [*sources, jump])
    assert len(batch.rows) == 1


def test_a_publisher_answer_keeps_its_summary_and_total_num() -> None:
    endpoint = BY_TABLE["publisher_adpos_general"]
    body = {"list": [], "summary": {"income": 5, "ecpm": 1.5, "app_id": "wx9"}, "total_num": 0}
    batch = to_rows(endpoint, body, WINDOW, "wx1")
    assert batch.summary == {
        "income": 5,
        "ecpm": 1.5,
        "app_id__as_sent": "wx9",
        "total_num": 0,
        "app_id": "wx1",
        "requested_from": DAY,
        "requested_to": DAY,
    }
    # summary is sometimes missing: total_num is kept all the same
    batch = to_rows(endpoint, {"list": [], "total_num": 3}, WINDOW, "wx1")
    assert batch.summary is not None and batch.summary["total_num"] == 3
