"""Text every destination accepts: what WeChat sends is data, and some of it cannot be stored.

JSON may carry characters no destination stores: a lone UTF-16 surrogate (`"\\ud83d"`, half
an emoji cut in two) cannot be encoded as UTF-8 at all, so pyarrow and every database refuse
it, and PostgreSQL refuses the NUL character in text. One such value failed a whole run. Both
are escaped here as the six characters of their JSON escape (`\\ud83d`, `\\u0000`), so the
value lands, readable and with nothing else of it changed, and a note says so.
"""

import json
import re
from typing import Any, List, Tuple

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# in valid UTF-8 JSON, the only way to a NUL or a surrogate is its \u escape
_MAY_BE_UNSTORABLE = re.compile(rb"\\u0000|\\u[dD][89a-fA-F]")


def decode_json(content: bytes) -> Tuple[Any, List[str]]:
    """The JSON value of a body, with its text made storable, and where text was escaped.

    Bytes that are not valid in the body's encoding (a Latin-1 `é` in a UTF-8 body) are kept
    (`_decoded_anyway`) and escaped by `storable` like any other: one such byte once failed
    its window on every run. Raises `ValueError` for a body that
    is not JSON, `RecursionError` for one nested deeper than Python can read.
    """
    encoding = json.detect_encoding(content)
    try:
        text = content.decode(encoding)
        clean = encoding == "utf-8" and _MAY_BE_UNSTORABLE.search(content) is None
    except UnicodeDecodeError:
        text, clean = _decoded_anyway(content, encoding), False
    value = json.loads(text)
    if clean:
        return value, []  # the usual case: no walk over every value of the body
    return storable(value)


def shortened(text: str, limit: int) -> str:
    """`text` as a message quotes it: at most `limit` characters, cut ones marked `...`."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def escape_unstorable(text: str) -> str:
    """`text` with lone surrogates and NUL written as their JSON escapes."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _decoded_anyway(content: bytes, encoding: str) -> str:
    """`content` as text although it is not valid `encoding`: surrogates written as bytes
    pass as surrogates (as Python's JSON reader lets them), stray bytes become surrogates
    (`surrogateescape`), and anything else is written as `\\xNN`."""
    for errors in ("surrogatepass", "surrogateescape"):
        try:
            return content.decode(encoding, errors)
        except UnicodeDecodeError:
            continue
    return content.decode(encoding, "backslashreplace")


def storable(value: Any) -> Tuple[Any, List[str]]:
    """`value` (a decoded JSON body or any part of it) with every string and every object key
    made storable, and the paths where something was escaped (`list[3].title`)."""
    escaped: List[str] = []
    return _clean(value, "", escaped), escaped


def _clean(value: Any, path: str, escaped: List[str]) -> Any:
    if isinstance(value, str):
        clean = escape_unstorable(value)
        if clean is not value:
            escaped.append(path or "(the body)")
        return clean
    if isinstance(value, list):
        return [_clean(item, f"{path}[{index}]", escaped) for index, item in enumerate(value)]
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            clean_key = escape_unstorable(key)
            if clean_key is not key:
                escaped.append(f"{path}.{clean_key}".lstrip(".") + " (its name)")
            result[clean_key] = _clean(item, f"{path}.{clean_key}".lstrip("."), escaped)
        return result
    return value
