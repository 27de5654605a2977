"""The raw archive: the bodies WeChat sent, kept compressed in the `raw_responses` table.

Whatever the parser makes of an answer, what WeChat sent is not lost: the body of every window
that failed to parse is always kept, and with `keep_raw_responses` (the default) the body of
every window a run committed. A window is archived in the same flush as its rows, so the
archive holds exactly the answers the tables were built from, and `rebuild.py` can build them
again with no API call (after an upgrade that reads a new field, or a parser fix).

A body is stored as text, base64 of its gzip-compressed bytes: statistics bodies are
repetitive JSON that gzip makes ten times smaller, and text is what every destination loads
through dlt's fast arrow path (PostgreSQL loads arrow as CSV, which has no binary; sent as
rows instead, a 10-year backfill's archive took 1.4 GB to load into DuckDB, against 0.7 GB
without it). `raw_body` gives the bytes back.
"""

import base64
import gzip
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional

import pyarrow as pa
from dlt.common.schema.typing import TTableSchemaColumns

from .catalog import Endpoint
from .windows import Window

RAW_RESPONSES_TABLE = "raw_responses"
RAW_RESPONSES_COLUMNS: TTableSchemaColumns = {
    "run_id": {"data_type": "text", "nullable": False},
    "app_id": {"data_type": "text", "nullable": False},
    "endpoint": {"data_type": "text", "nullable": False},
    "requested_from": {"data_type": "date", "nullable": False},
    "requested_to": {"data_type": "date", "nullable": False},
    "page": {"data_type": "bigint", "nullable": False},
    "fetched_at": {"data_type": "timestamp", "nullable": False},
    "problem": {"data_type": "text"},
    "body": {"data_type": "text", "nullable": False},
}
_ARROW_TYPES = {
    "text": pa.string(),
    "date": pa.date32(),
    "bigint": pa.int64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
_ARROW_SCHEMA = pa.schema(
    [
        pa.field(name, _ARROW_TYPES[str(hint["data_type"])], hint.get("nullable", True))
        for name, hint in RAW_RESPONSES_COLUMNS.items()
    ]
)
# a body is compressed in the account's pool, beside the call that fetched it
_COMPRESS_LEVEL = 6


@dataclass(frozen=True)
class RawPage:
    """One body as it came off the wire, and when."""

    page: int
    fetched_at: datetime
    content: bytes


def raw_row(
    run_id: str,
    app_id: str,
    endpoint: Endpoint,
    window: Window,
    page: RawPage,
    problem: Optional[str],
) -> Dict[str, Any]:
    """The `raw_responses` row of one body; `problem` says why it did not parse, if it did not."""
    return {
        "run_id": run_id,
        "app_id": app_id,
        "endpoint": endpoint.table,
        "requested_from": window.begin,
        "requested_to": window.end,
        "page": page.page,
        "fetched_at": page.fetched_at,
        "problem": problem,
        "body": base64.b64encode(gzip.compress(page.content, _COMPRESS_LEVEL, mtime=0)).decode(),
    }


def raw_table(rows: List[Dict[str, Any]]) -> pa.Table:
    """`raw_responses` rows as arrow, typed as the table's columns."""
    return pa.Table.from_pylist(rows, schema=_ARROW_SCHEMA)


def raw_body(stored: str) -> bytes:
    """A kept body as WeChat sent it."""
    return gzip.decompress(base64.b64decode(stored))
