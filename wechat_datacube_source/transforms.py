"""Turns one response body into table rows, driven by the catalog entry.

Rows keep WeChat's field names and values; the source only flattens (`detail` objects lifted,
`details`/`detail_list` exploded to one row per stat_date), parses dates, adds `app_id` and
drops rows dated outside the requested window (WeChat has been seen returning rows years old
for a one-day query). Unknown fields pass through and become columns; unknown codes are kept.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Dict, Iterator, List, Mapping, Sequence

from .catalog import Child, Endpoint
from .errors import PayloadError
from .windows import Window

Row = Dict[str, Any]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass
class Batch:
    """One response's rows, and what the transform had to do to them."""

    rows: List[Row] = field(default_factory=list)
    children: Dict[str, List[Row]] = field(default_factory=dict)
    """Rows of the endpoint's child tables, by table name."""
    dropped: int = 0
    """Rows dated outside the requested window."""
    notes: List[str] = field(default_factory=list)


def is_delayed(body: Mapping[str, Any]) -> bool:
    """The published-content family says `is_delay: true` while numbers are still coming."""
    return body.get("is_delay") is True


def parse_date(value: Any, endpoint: str, field: str) -> date:
    """`YYYY-MM-DD` → date; anything else is a payload error naming the field."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PayloadError(endpoint, f"`{field}` is {value!r}, not a YYYY-MM-DD date")


def to_rows(endpoint: Endpoint, body: Mapping[str, Any], window: Window, app_id: str) -> Batch:
    """The window's rows; rows outside the window are dropped and counted."""
    if endpoint.list_key not in body:
        # WeChat sends an empty list for a day without data; no list at all is not an answer
        raise PayloadError(endpoint.table, f"the response has no `{endpoint.list_key}`")
    items = body[endpoint.list_key]
    if not isinstance(items, list):
        raise PayloadError(
            endpoint.table, f"`{endpoint.list_key}` is {type(items).__name__}, not a list"
        )
    shared = {name: body[name] for name in endpoint.response_fields if name in body}
    date_fields = [name for name, kind in endpoint.fields.items() if kind == "date"]
    count_fields = _counts(endpoint.fields)
    children = [
        (child, endpoint.child_table(child), _counts(child.fields), endpoint.child_key(child))
        for child in endpoint.children
    ]
    batch = Batch()
    for item in items:
        for flat in _flatten(endpoint, item):
            row: Row = {"app_id": app_id, **flat, **shared}
            for name in date_fields:
                if row.get(name) is not None:
                    row[name] = parse_date(row[name], endpoint.table, name)
            missing = [name for name in endpoint.primary_key if row.get(name) is None]
            if missing:
                # a null key would fail the whole load at the destination: fail this window only
                raise PayloadError(endpoint.table, f"a row has no {', '.join(missing)}")
            label = row.get(endpoint.date_field)
            if not isinstance(label, date):
                raise PayloadError(endpoint.table, f"a row has no `{endpoint.date_field}`")
            if not window.begin <= label <= window.end:
                batch.dropped += 1
                continue
            _fit_counts(endpoint.table, row, count_fields, endpoint.primary_key, batch.notes)
            for child, table, child_counts, key in children:
                for child_row in _child_rows(endpoint, child, row):
                    _fit_counts(endpoint.table, child_row, child_counts, key, batch.notes)
                    batch.children.setdefault(table, []).append(child_row)
            batch.rows.append(row)
    return batch


def _flatten(endpoint: Endpoint, item: Any) -> Iterator[Row]:
    if not isinstance(item, Mapping):
        raise PayloadError(
            endpoint.table,
            f"a `{endpoint.list_key}` element is {type(item).__name__}, not an object",
        )
    row = dict(item)
    if endpoint.unwrap is not None:
        nested = row.pop(endpoint.unwrap, None) or {}
        if not isinstance(nested, Mapping):
            raise PayloadError(
                endpoint.table, f"`{endpoint.unwrap}` is {type(nested).__name__}, not an object"
            )
        row = {**nested, **row}
    if endpoint.explode is None:
        yield row
        return
    children = row.pop(endpoint.explode, None) or []
    if not isinstance(children, list):
        raise PayloadError(
            endpoint.table, f"`{endpoint.explode}` is {type(children).__name__}, not a list"
        )
    for child in children:
        if not isinstance(child, Mapping):
            raise PayloadError(
                endpoint.table,
                f"a `{endpoint.explode}` element is {type(child).__name__}, not an object",
            )
        yield {**row, **child}


def _counts(fields: Mapping[str, str]) -> List[str]:
    return [name for name, kind in fields.items() if kind == "bigint"]


def _fit_counts(
    table: str, row: Row, names: List[str], key: Sequence[str], notes: List[str]
) -> None:
    """A count a 64-bit column cannot hold would fail the whole load: keep it exactly, as
    text, in the column where dlt puts values of another type. A key cannot be moved aside,
    so such a key fails the window instead."""
    for name in names:
        value = row.get(name)
        if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            if name in key:
                raise PayloadError(table, f"`{name}` is {value}, beyond a 64-bit key")
            row[name] = None
            row[f"{name}__v_text"] = str(value)
            notes.append(f"{name}={value} is beyond 64 bits: kept in {name}__v_text")


def _child_rows(endpoint: Endpoint, child: Child, row: Row) -> List[Row]:
    """The elements of `row`'s nested list as rows keyed by the parent's key (popped from it)."""
    elements = row.pop(child.list_field, None) or []
    if not isinstance(elements, list):
        raise PayloadError(
            endpoint.table, f"`{child.list_field}` is {type(elements).__name__}, not a list"
        )
    parent = {"app_id": row["app_id"], **{name: row.get(name) for name in endpoint.parent_fields}}
    rows = []
    for element in elements:
        if not isinstance(element, Mapping):
            raise PayloadError(
                endpoint.table,
                f"a `{child.list_field}` element is {type(element).__name__}, not an object",
            )
        missing = [name for name in child.key if element.get(name) is None]
        if missing:
            raise PayloadError(
                endpoint.table, f"a `{child.list_field}` element has no {', '.join(missing)}"
            )
        rows.append({**element, **parent})
    return rows
