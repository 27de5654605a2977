"""Faults the emulator injects on request, described as data so tests and CLI share them.

A rule matches requests (by endpoint, account and dates), skips the first `after` matches,
then fires on every `every`-th match until it has fired `times` times (None: for ever).
"""

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Dict, Literal, Optional, Tuple

FaultKind = Literal[
    "errcode",  # a WeChat error body: {"errcode": errcode, "errmsg": errmsg + rid}
    "http",  # an HTTP status (with Retry-After when retry_after is set)
    "timeout",  # hold the response for `seconds` (longer than the client's timeout)
    "drop",  # close the connection without answering
    "malformed",  # a JSON body cut short (complete as HTTP)
    "truncated",  # fewer body bytes than Content-Length says, then the connection closes
    "not_json",  # an HTML error page with HTTP 200, as proxies send
    "is_delay",  # a published-content answer with is_delay: true
    "empty",  # the answer without the rows of `dates` (all rows if none): an unfinished day
    "mutate",  # the real answer, changed by `mutation` (see Mutation)
]
Mutation = Literal[
    "duplicate",  # every row twice
    "nulls",  # metrics null
    "bigint",  # a count beyond 64 bits
    "extra_field",  # fields the docs do not list, scalar and nested
    "unknown_code",  # the first row's enumeration code is one nobody documented
    "outside",  # extra rows dated long before and after the request
    "provisional",  # metrics of rows dated on `dates` halved: numbers WeChat revises later
    "wild",  # shapes other projects saw WeChat send (reference §11.12): see server._wild
    "first_period",  # weeks or months asked: only the first one's rows (the current docs'
    # "必须为同一天", one period a request, read by a server that ignores end_date)
]
TOKEN_ROUTES = "token"


@dataclass
class FaultRule:
    kind: FaultKind
    endpoints: Tuple[str, ...] = ()
    """api names or table names; "token" for both token routes; empty: every data endpoint."""
    mutation: Optional[Mutation] = None
    errcode: int = -1
    errmsg: str = "system error"
    status: int = 500
    retry_after: Optional[float] = None
    seconds: float = 5.0
    app_id: Optional[str] = None
    dates: Tuple[date, ...] = ()
    """Only requests whose window holds one of these days."""
    after: int = 0
    every: int = 1
    times: Optional[int] = None
    _seen: int = field(default=0, repr=False)
    _fired: int = field(default=0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "FaultRule":
        values = dict(data)
        values["endpoints"] = tuple(values.get("endpoints", ()))
        values["dates"] = tuple(date.fromisoformat(day) for day in values.get("dates", ()))
        return cls(**values)

    def matches(
        self,
        route: str,
        names: Tuple[str, ...],
        app_id: Optional[str],
        begin: Optional[date],
        end: Optional[date],
    ) -> bool:
        if self.endpoints:
            if not any(name in self.endpoints for name in names):
                return False
        elif route == TOKEN_ROUTES:
            return False
        if self.app_id is not None and app_id != self.app_id:
            return False
        if not self.dates:
            return True
        return (
            begin is not None and end is not None and any(begin <= day <= end for day in self.dates)
        )

    def fire(self) -> bool:
        """Count a matching request; True when this one gets the fault."""
        with self._lock:
            self._seen += 1
            if self._seen <= self.after or (self._seen - self.after - 1) % self.every:
                return False
            if self.times is not None and self._fired >= self.times:
                return False
            self._fired += 1
            return True
