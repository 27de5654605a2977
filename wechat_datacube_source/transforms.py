"""Turns one response body into table rows, driven by the catalog entry.

Rows keep WeChat's field names and values; the source only flattens (`detail` objects lifted,
`details`/`detail_list` exploded to one row per stat_date), parses dates, adds `app_id` and
drops rows dated outside the requested window (WeChat has been seen returning rows years old
for a one-day query). Unknown fields pass through and become columns; unknown codes are kept.
Values are typed later, per table (`arrow_tables`); only keys are checked here, because a
row whose key cannot be stored must fail its window rather than the load.

Shapes other projects have seen WeChat send are taken as they come, each with a note (README,
"How unusual responses are handled"): a key field an older documented shape omits gets the
value that stands for it (`Endpoint.key_defaults`), another spelling of a field lands in the
declared column (`Endpoint.aliases`), a week or month row dated inside its period lands under
the period's label with WeChat's date kept beside it, and a nested element of an unknown shape
is kept whole, as JSON, in a row of its own.
"""

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

from .arrow_tables import ARROW_TYPES, RENAMED_SUFFIX, Misfit, Row, as_text
from .catalog import Child, ColumnType, Endpoint
from .errors import PayloadError
from .windows import Window

ELEMENT_AS_SENT = "element" + RENAMED_SUFFIX
"""The column of a child row that keeps an element of unknown shape whole, as JSON."""


@dataclass
class Batch:
    """One response's rows, and what the transform had to do to them."""

    rows: List[Row] = field(default_factory=list)
    children: Dict[str, List[Row]] = field(default_factory=dict)
    """Rows of the endpoint's child tables, by table name."""
    summary: Optional[Row] = None
    """The row of the endpoint's `summary_table`: what the answer says of the whole window."""
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
    relabelled = False
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
            _read_aliases(endpoint, row, batch.notes)
            _fill_key_defaults(endpoint, row, batch.notes)
            for name in date_fields:
                if row.get(name) is not None:
                    row[name] = parse_date(row[name], endpoint.table, name)
            _check_key(endpoint.table, "a row", row, endpoint.primary_key, endpoint.fields)
            dated = row.get(endpoint.date_field)
            if not isinstance(dated, date):
                raise PayloadError(endpoint.table, f"a row has no `{endpoint.date_field}`")
            label = window.label_of(dated)
            if label is None:
                batch.dropped += 1
                continue
            if label != dated:
                _relabel(endpoint, row, label, batch.notes)
                relabelled = True
            for child, table in children:
                child_rows = _child_rows(endpoint, child, row, batch.notes)
                batch.children.setdefault(table, []).extend(child_rows)
            batch.rows.append(row)
    if relabelled:
        _check_one_row_per_period(endpoint, batch.rows)
    if endpoint.summary_table is not None:
        batch.summary = _summary_row(endpoint, body, window, app_id, batch.notes)
    return batch


def _check_one_row_per_period(endpoint: Endpoint, rows: List[Row]) -> None:
    """Rows relabelled to their period's first day must still be one per key: several rows
    of one period under one key (daily rows for a week) cannot be placed, and would merge."""
    keys = [tuple(row[name] for name in endpoint.primary_key) for row in rows]
    if len(set(keys)) < len(keys):
        raise PayloadError(
            endpoint.table,
            f"several rows of one {endpoint.grain} share a key once dated on its first day "
            f"(rows of single days, not of the {endpoint.grain})",
        )


def _read_aliases(endpoint: Endpoint, row: Row, notes: List[str]) -> None:
    """Another spelling of a declared field lands in the declared column (unless the row has
    both, when each keeps its own)."""
    for alias, declared in endpoint.aliases.items():
        if alias in row and declared not in row:
            row[declared] = row.pop(alias)
            _note(notes, f"{endpoint.table}: `{alias}` was read as `{declared}` (another spelling)")


def _fill_key_defaults(endpoint: Endpoint, row: Row, notes: List[str]) -> None:
    for name, value in endpoint.key_defaults.items():
        if name not in row:
            row[name] = value
            _note(
                notes,
                f"{endpoint.table}: rows without `{name}` (the older documented shape) were "
                f"stored with {name} {value}, the value the newer shape gives them",
            )


def _relabel(endpoint: Endpoint, row: Row, label: date, notes: List[str]) -> None:
    """A period row WeChat dated inside its period, under the period's label."""
    name = endpoint.date_field
    kept = _keep_as_sent(row, name, row[name])
    row[name] = label
    _note(
        notes,
        f"{endpoint.table}: rows dated inside their {endpoint.grain} but not on its first day "
        f"were stored under its first day; WeChat's date is in {kept}",
    )


def _summary_row(
    endpoint: Endpoint, body: Mapping[str, Any], window: Window, app_id: str, notes: List[str]
) -> Row:
    """`total_num` and WeChat's own `summary` of the window (absent at times), as one row."""
    owned: Row = {
        "app_id": app_id,
        "requested_from": window.begin,
        "requested_to": window.end,
        "total_num": body.get("total_num"),
    }
    summary = body.get("summary")
    payload = dict(summary) if isinstance(summary, Mapping) else {"summary": summary}
    return _beside(payload, owned, endpoint.summary_table or "", notes)


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
    """The elements of `row`'s nested list as rows keyed by the parent's key (popped from it).

    An element of a shape the source does not know (not an object, or without its key) is
    kept whole in `element__as_sent`, keyed by its position in the list: it never costs the
    window, nor the other elements, their rows."""
    elements = row.pop(child.list_field, None)
    if elements is None:
        return []
    table = endpoint.child_table(child)
    parent = {"app_id": row["app_id"], **{name: row[name] for name in endpoint.primary_key}}
    rows = []
    for position, element in enumerate(elements if isinstance(elements, list) else [elements], 1):
        if isinstance(element, Mapping) and _fits(element, child.key, child.fields):
            rows.append(_beside(element, parent, table, notes))
            continue
        stand_in = {
            name: -position if child.fields[name] == "bigint" else f"unknown shape #{position}"
            for name in child.key
        }
        # as JSON: a string element too (`"odd"`), so every value of the column reads back
        kept = (
            json.dumps(element, ensure_ascii=False)
            if isinstance(element, str)
            else as_text(element)
        )
        rows.append({**stand_in, ELEMENT_AS_SENT: kept, **parent})
        _note(
            notes,
            f"{table}: elements of a shape the source does not know were kept whole in "
            f"{ELEMENT_AS_SENT}, keyed by their position",
        )
    return rows


def _fits(row: Mapping[str, Any], key: Sequence[str], types: Mapping[str, ColumnType]) -> bool:
    try:
        _check_key("", "", row, key, types)
    except PayloadError:
        return False
    return True


def _note(notes: List[str], note: str) -> None:
    if note not in notes:
        notes.append(note)


def _keep_as_sent(row: Row, name: str, value: Any) -> str:
    """Keeps `value`, the payload's own `name`, in `<name>__as_sent` (never over a field the
    payload has); returns the column used."""
    kept = name + RENAMED_SUFFIX
    while kept in row:
        kept += "_"
    row[kept] = value
    return kept


def _beside(payload: Mapping[str, Any], owned: Row, table: str, notes: List[str]) -> Row:
    """`payload` with `owned` on top; a payload field that `owned` overrides is kept as
    `<name>__as_sent` rather than lost (a row's own `app_id`, null or another account's, once
    landed the row under that account and deleted its rows for the day)."""
    row = dict(payload)
    for name in owned:
        if name in row:
            kept = _keep_as_sent(row, name, row.pop(name))
            note = f"{table}: rows carry their own {name}, which the source sets; kept in {kept}"
            _note(notes, note)
    row.update(owned)
    return row
