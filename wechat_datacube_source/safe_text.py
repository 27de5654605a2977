"""Text every destination accepts: what WeChat sends is data, and some of it cannot be stored.

JSON may carry characters no destination stores: a lone UTF-16 surrogate (`"\\ud83d"`, half
an emoji cut in two) cannot be encoded as UTF-8 at all, so pyarrow and every database refuse
it, and PostgreSQL refuses the NUL character in text. One such value failed a whole run. Both
are escaped here as the six characters of their JSON escape (`\\ud83d`, `\\u0000`), so the
value lands, readable and with nothing else of it changed, and a note says so.
"""

import re
from typing import Any, List, Tuple

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# in the raw JSON: an escaped NUL or surrogate, or a surrogate encoded as bytes (CESU-8), which
# Python's JSON decoder also lets through
_MAY_BE_UNSTORABLE = re.compile(rb"\\u0000|\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def escape_unstorable(text: str) -> str:
    """`text` with lone surrogates and NUL written as their JSON escapes."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def may_hold_unstorable(raw_json: bytes) -> bool:
    """Cheap test on a body's bytes: False means `storable` would change nothing (a walk over
    every value of every body would cost a tenth of a call's CPU)."""
    if b"\\u" not in raw_json and b"\xed" not in raw_json:
        return False
    return _MAY_BE_UNSTORABLE.search(raw_json) is not None


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
