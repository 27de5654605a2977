"""Turns one response body into table rows, driven by the catalog entry.

Rows keep WeChat's field names and values; the source only flattens (`detail` objects lifted,
`details`/`detail_list` exploded to one row per stat_date), parses dates, adds `app_id` and
drops rows dated outside the requested window (WeChat has been seen returning rows years old
for a one-day query). Unknown fields pass through and become columns; unknown codes are kept.
Values are typed later, per table (`arrow_tables`); only keys are checked here, because a
row whose key cannot be stored must fail its window rather than the load.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Dict, Iterator, List, Mapping, Sequence

from .arrow_tables import ARROW_TYPES, RENAMED_SUFFIX, Misfit, Row
from .catalog import Child, ColumnType, Endpoint
from .errors import PayloadError
from .windows import Window


@dataclass
class Batch:
    """One response's rows, and what the transform had to do to them."""

    rows: List[Row] = field(default_factory=list)
    children: Dict[str, List[Row]] = field(default_factory=dict)
    """Rows of the endpoint's child tables, by table name."""
    dropped: int = 0
    """Rows dated outside the requested window."""
    notes: List[str] = field(default_factory=list)
    """What the transform had to do to the body to keep it, for `sync_log.message`."""


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
    children = [(child, endpoint.child_table(child)) for child in endpoint.children]
    batch = Batch()
    escaped = getattr(body, "escaped", ())
    if escaped:
        batch.notes.append(
            f"{endpoint.table}: text no database stores (a lone UTF-16 surrogate or NUL) was "
            f"kept as its JSON escape, e.g. \\ud83d, at {', '.join(escaped[:3])}"
            + (f" and {len(escaped) - 3} more" if len(escaped) > 3 else "")
        )
    for item in items:
        for flat in _flatten(endpoint, item):
            # the source's app_id (and the response-level fields) always win
            row = _beside(flat, {"app_id": app_id, **shared}, endpoint.table, batch.notes)
            for name in date_fields:
                if row.get(name) is not None:
                    row[name] = parse_date(row[name], endpoint.table, name)
            _check_key(endpoint.table, "a row", row, endpoint.primary_key, endpoint.fields)
            label = row.get(endpoint.date_field)
            if not isinstance(label, date):
                raise PayloadError(endpoint.table, f"a row has no `{endpoint.date_field}`")
            if not window.begin <= label <= window.end:
                batch.dropped += 1
                continue
            for child, table in children:
                child_rows = _child_rows(endpoint, child, row, batch.notes)
                batch.children.setdefault(table, []).extend(child_rows)
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


def _check_key(
    table: str,
    what: str,
    row: Mapping[str, Any],
    key: Sequence[str],
    types: Mapping[str, ColumnType],
) -> None:
    """A null key, or an integer key no 64-bit column holds, would fail the whole load at the
    destination: it fails this window instead."""
    missing = [name for name in key if row.get(name) is None]
    if missing:
        raise PayloadError(table, f"{what} has no {', '.join(missing)}")
    for name in key:
        try:
            ARROW_TYPES[types[name]].fit(row[name])
        except Misfit:
            raise PayloadError(
                table, f"`{name}` is {row[name]!r}, not a {types[name]} key"
            ) from None


def _child_rows(endpoint: Endpoint, child: Child, row: Row, notes: List[str]) -> List[Row]:
    """The elements of `row`'s nested list as rows keyed by the parent's key (popped from it)."""
    elements = row.pop(child.list_field, None) or []
    if not isinstance(elements, list):
        raise PayloadError(
            endpoint.table, f"`{child.list_field}` is {type(elements).__name__}, not a list"
        )
    parent = {"app_id": row["app_id"], **{name: row[name] for name in endpoint.primary_key}}
    rows = []
    for element in elements:
        if not isinstance(element, Mapping):
            raise PayloadError(
                endpoint.table,
                f"a `{child.list_field}` element is {type(element).__name__}, not an object",
            )
        _check_key(
            endpoint.table, f"a `{child.list_field}` element", element, child.key, child.fields
        )
        rows.append(_beside(element, parent, endpoint.child_table(child), notes))
    return rows


def _beside(payload: Mapping[str, Any], owned: Row, table: str, notes: List[str]) -> Row:
    """`payload` with `owned` on top; a payload field that `owned` overrides is kept as
    `<name>__as_sent` rather than lost (a row's own `app_id`, null or another account's, once
    landed the row under that account and deleted its rows for the day)."""
    row = dict(payload)
    for name in owned:
        if name in row:
            kept = name + RENAMED_SUFFIX
            while kept in row:
                kept += "_"
            row[kept] = row.pop(name)
            note = f"{table}: rows carry their own {name}, which the source sets; kept in {kept}"
            if note not in notes:
                notes.append(note)
    row.update(owned)
    return row
