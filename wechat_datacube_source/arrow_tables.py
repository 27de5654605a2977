"""Rows → pyarrow tables whose types are exactly the columns' types.

Why arrow: dlt loads arrow tables through its fast path (parquet written at extract, no
row-by-row normalize), which made a backfill several times faster (README, Performance).
Why exact types: dlt keeps its own column hints over an arrow table's, so a table typed
differently from its columns would leave the destination to coerce, or to fail, at load.

Values are coerced the way dlt coerces JSON rows (the official settlement sample sends the
count `mail_send_cnt` as "0"). A value that still does not fit its column (a count beyond
64 bits, a word where a number belongs) is kept exactly, as text, in `<column>__v_text`, the
column where dlt itself puts values of another type, and a note says so: one odd value never
fails a load. Columns nobody declared take the one type all their values share; values of
mixed types, objects and lists become JSON text.
"""

import itertools
import json
import math
from datetime import date
from itertools import chain
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
)

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.normalizers.naming import NamingConvention
from dlt.common.normalizers.naming.snake_case import NamingConvention as SnakeCase
from dlt.common.schema.typing import C_DLT_LOAD_ID, TTableSchemaColumns

from .safe_text import shortened
from .settings import INT64_MAX, INT64_MIN

Row = Dict[str, Any]
MISFIT_SUFFIX = "__v_text"
RENAMED_SUFFIX = "__as_sent"
# the most of a value a note quotes
QUOTE_LIMIT = 60
# dlt's own columns (`_dlt_load_id`, `_dlt_id`) start with this
DLT_PREFIX = "_dlt"
_DEFAULT_NAMING = SnakeCase()


def with_load_id(data: pa.Table, load_id: str, naming: NamingConvention) -> pa.Table:
    """`data` with dlt's `_dlt_load_id` column, whatever dlt's own setting for arrow rows
    (`add_dlt_load_id`, off by default) says: tables loaded with the column and then without
    failed on its NOT NULL constraint on every run after, and tables loaded without could not
    add it. Nullable, so that a table loaded without it before can add it; dlt, when asked,
    puts the same value in its place."""
    name = naming.normalize_identifier(C_DLT_LOAD_ID)
    return data.append_column(
        pa.field(name, pa.string(), nullable=True), pa.array([load_id] * len(data), pa.string())
    )


class Misfit(ValueError):
    """The value has no exact form in the column's type."""


def _is_bigint(value: Any) -> bool:
    """Fits a 64-bit integer column as it is (a bool does not, though Python calls it an int)."""
    return type(value) is int and INT64_MIN <= value <= INT64_MAX


def _parsed(value: Any, parse: Callable[[str], Any]) -> Any:
    """A number or date sent as text read as one, as dlt reads it; other values as they are."""
    if type(value) is not str:
        return value
    try:
        return parse(value)
    except ValueError:
        raise Misfit from None


def _bigint(value: Any) -> int:
    value = _parsed(value, int)
    if type(value) is float and value.is_integer():
        value = int(value)  # as pyarrow converts it
    if not _is_bigint(value):
        raise Misfit
    return int(value)


def _double(value: Any) -> float:
    value = _parsed(value, float)
    if type(value) in (int, float, bool):  # a bool as pyarrow converts it
        try:
            number = float(value)
        except OverflowError:
            raise Misfit from None
        if math.isfinite(number):
            return number
    raise Misfit


def _date(value: Any) -> date:
    value = _parsed(value, date.fromisoformat)
    if type(value) is not date:
        raise Misfit
    return value


def _bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    raise Misfit


TOO_DEEP = "[nested too deep to keep as text]"


def as_text(value: Any) -> str:
    """A value's exact text: strings as they are, dates in ISO form, anything else as JSON
    (or `TOO_DEEP`, for a value nested deeper than Python can write out)."""
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except RecursionError:
        return TOO_DEEP


class Kind(NamedTuple):
    arrow_type: pa.DataType
    exact: FrozenSet[type]
    """Python types pyarrow converts exactly as `fit` would; a column of only these skips it."""
    fit: Callable[[Any], Any]
    """The value in the column's type, or `Misfit`."""


# the column types this source writes (catalog.ColumnType), and bool, which a column nobody
# declared may get; a column of any other type is treated as undeclared
ARROW_TYPES: Dict[str, Kind] = {
    "bigint": Kind(pa.int64(), frozenset({int}), _bigint),
    "double": Kind(pa.float64(), frozenset({int, float}), _double),
    "text": Kind(pa.string(), frozenset({str}), as_text),
    "date": Kind(pa.date32(), frozenset({date}), _date),
    "bool": Kind(pa.bool_(), frozenset({bool}), _bool),
}


def to_arrow(
    rows: Sequence[Row],
    columns: TTableSchemaColumns,
    notes: List[str],
    table: str,
    naming: Optional[NamingConvention] = None,
) -> pa.Table:
    """`rows` as one table; `columns` are the known columns (hints and the stored schema).

    Column names are the fields' names as the destination will know them (`naming`, dlt's
    convention of the schema): a field whose name collides with another's, is empty, or
    takes a name dlt or this source reserves, is renamed (see `column_names`). A note is
    appended to `notes` for each renamed field and each column some of whose values did not
    fit.
    """
    present = dict.fromkeys(chain.from_iterable(rows))
    names = column_names(present, columns, naming or _DEFAULT_NAMING, notes, table)
    # known columns in their declared order: dlt orders a compound key by column order
    order = {name: index for index, name in enumerate(columns)}
    names = dict(sorted(names.items(), key=lambda item: order.get(item[1], len(order))))
    types: Dict[str, str] = {}
    for raw, name in names.items():
        data_type: Optional[str] = columns.get(name, {}).get("data_type")
        if data_type not in ARROW_TYPES:
            data_type = _shared_type([row.get(raw) for row in rows])
            if data_type is None:
                continue  # only nulls: dlt would not create the column either
        types[raw] = data_type
    try:
        # what pyarrow makes of the rows by itself, in one pass; a column it typed exactly as
        # declared is taken as it is (pyarrow's own conversion to a declared type is not:
        # it truncates 0.5 to 0 in an integer column)
        inferred: Optional[pa.StructArray] = pa.array(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        inferred = None  # mixed types, or an integer beyond 64 bits
    schema: List[pa.Field] = []
    arrays: List[pa.Array] = []
    for raw, data_type in types.items():
        name, kind = names[raw], ARROW_TYPES[data_type]
        misfits: List[Optional[str]] = []
        if (
            inferred is not None
            and _inferred_type(inferred, raw) == kind.arrow_type
            and _all_finite(inferred.field(raw))
        ):
            array = inferred.field(raw)
        else:
            array, misfits = _array([row.get(raw) for row in rows], kind)
        if misfits:
            schema.append(pa.field(name + MISFIT_SUFFIX, pa.string()))
            arrays.append(pa.array(misfits, pa.string()))
            example = shortened(next(m for m in misfits if m is not None), QUOTE_LIMIT)
            notes.append(
                f"{table}.{name}: {example} is not {data_type}, kept in {name}{MISFIT_SUFFIX}"
            )
        # declared non-null in arrow too, or dlt warns that the hints differ; the transforms
        # refuse a row whose key or date is missing
        nullable = columns.get(name, {}).get("nullable", True)
        schema.append(pa.field(name, kind.arrow_type, nullable))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(schema))


def column_names(
    fields: Iterable[str],
    columns: TTableSchemaColumns,
    naming: NamingConvention,
    notes: List[str],
    table: str,
) -> Dict[str, str]:
    """The column each field lands in.

    A field named exactly like a known column lands there. Any other field gets its name in
    dlt's convention, unless that name is taken (`newUser` beside `new_user`, `Ref_Date`, a
    second `app_id`), empty (`""`, which the destination refuses), or reserved (dlt's `_dlt`
    columns, this source's `__v_text` columns): then it lands, with a note, in
    `<name>__as_sent` (`_2`, `_3`... if need be). Either way no collision reaches dlt, which
    would fail the whole run on it.
    """
    names: Dict[str, str] = {}
    taken = set()
    for field in fields:
        if field in columns and not field.endswith(MISFIT_SUFFIX):
            names[field] = field
            taken.add(field)
    for field in fields:
        if field in names:
            continue
        try:
            name = naming.normalize_path(field) if field.strip() else ""
        except ValueError:
            name = ""
        if name and name not in taken and not _reserved(name):
            names[field] = name
            taken.add(name)
            continue
        base = f"{name.lstrip('_') or 'unnamed'}{RENAMED_SUFFIX}"
        candidates = itertools.chain([base], (f"{base}_{n}" for n in itertools.count(2)))
        # in dlt's form already (`1__as_sent` is `_1__as_sent` to dlt), or dlt would rename
        # it again, perhaps onto another field's name
        name = next(
            normal
            for normal in map(naming.normalize_path, candidates)
            if normal not in taken and not _reserved(normal)
        )
        names[field] = name
        taken.add(name)
        quoted = shortened(repr(field), QUOTE_LIMIT)
        notes.append(
            f"{table}: the field {quoted} collides with another name or is not a usable name, "
            f"kept in {name}"
        )
    return names


def _reserved(name: str) -> bool:
    return name.startswith(DLT_PREFIX) or name.endswith(MISFIT_SUFFIX)


def _all_finite(array: pa.Array) -> bool:
    """False for a float array holding nan or infinity (JSON's `NaN`, `Infinity`, which
    Python reads): those are no statistic, and `_double` keeps them as text."""
    if not pa.types.is_floating(array.type):
        return True
    return pc.all(pc.is_finite(array)).as_py() is not False


def _inferred_type(inferred: pa.StructArray, name: str) -> Optional[pa.DataType]:
    index = inferred.type.get_field_index(name)
    return inferred.type.field(index).type if index >= 0 else None


def _array(values: List[Any], kind: Kind) -> Tuple[pa.Array, List[Optional[str]]]:
    """The values as an array of the column's type, and the text of those that do not fit
    (or [] if all do)."""
    if {type(value) for value in values} - {type(None)} <= kind.exact:
        try:
            array = pa.array(values, kind.arrow_type)
        except (pa.ArrowInvalid, OverflowError):
            pass  # an integer beyond 64 bits: sorted out one value at a time below
        else:
            if _all_finite(array):
                return array, []
    fitted: List[Any] = []
    misfits: List[Optional[str]] = []
    for value in values:
        try:
            fitted.append(None if value is None else kind.fit(value))
            misfits.append(None)
        except Misfit:
            fitted.append(None)
            misfits.append(as_text(value))
    array = pa.array(fitted, kind.arrow_type)
    return array, misfits if any(misfit is not None for misfit in misfits) else []


def _shared_type(values: Sequence[Any]) -> Optional[str]:
    """The type all non-null `values` are ("text" for a mix or objects), None if all null."""
    kinds = {type(value) for value in values if value is not None}
    if not kinds:
        return None
    if kinds == {bool}:
        return "bool"
    if kinds == {date}:
        return "date"  # only the source's own values are dates (`ref_date__as_sent`)
    if kinds == {int} and all(_is_bigint(value) for value in values if value is not None):
        return "bigint"
    if kinds <= {int, float} and all(
        _is_bigint(value) or type(value) is float for value in values if value is not None
    ):
        return "double"
    return "text"
