"""Keeps secrets out of every string the source logs, raises or stores.

`requests` puts the full URL, `?access_token=...` included, into its exceptions, and the
stable_token request body carries the app secret; so every message that leaves the HTTP layer
passes through a `Redactor` that knows the secrets of the run.
"""

import re
import threading
from typing import Iterable, List, Optional, Tuple

import pyarrow as pa
import pyarrow.compute as pc

MASK = "***"
_SECRET_PARAMETER = re.compile(
    r"((?:access_token|secret|appsecret)[\"']?\s*[=:]\s*[\"']?)[^&\s\"',}]+", re.IGNORECASE
)


class Redactor:
    """Replaces known secret values, and anything passed as a secret parameter, with `***`."""

    def __init__(self, secrets: Iterable[Optional[str]] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: List[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: Optional[str]) -> None:
        if not secret:
            return
        with self._lock:
            if secret not in self._secrets:
                # longest first, so a secret containing another is masked whole
                self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def __call__(self, text: str) -> str:
        text = _SECRET_PARAMETER.sub(lambda m: m.group(1) + MASK, text)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def mask_bytes(self, content: bytes) -> bytes:
        """`content` with every known secret masked (a body echoing the token is archived)."""
        with self._lock:
            secrets = list(self._secrets)
        for secret in secrets:
            content = content.replace(secret.encode(), MASK.encode())
        return content

    def mask_table(self, table: pa.Table) -> Tuple[pa.Table, List[str]]:
        """`table` with every known secret masked in its text columns, and those columns.

        Only the secrets themselves: data is not searched for `secret=`-like patterns, which
        an article title may well contain.
        """
        with self._lock:
            secrets = list(self._secrets)
        masked: List[str] = []
        # a secret sent as a field's name reaches the column name, in dlt's form of it
        loose = [_loose(secret) for secret in secrets if len(_loose(secret)) >= 8]
        for index, name in enumerate(table.schema.names):
            if any(secret in _loose(name) for secret in loose):
                names = table.schema.names
                names[index] = f"masked_field_{index}"
                table = table.rename_columns(names)
                masked.append(names[index])
        for index, field in enumerate(table.schema):
            if not pa.types.is_string(field.type):
                continue
            column = table.column(index)
            found = [s for s in secrets if pc.any(pc.match_substring(column, s)).as_py()]
            if not found:
                continue
            for secret in found:
                column = pc.replace_substring(column, pattern=secret, replacement=MASK)
            table = table.set_column(index, field, column)
            masked.append(field.name)
        return table, masked


def _loose(text: str) -> str:
    """Only the letters and digits of `text`, lower case: how a name survives dlt's naming."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())
