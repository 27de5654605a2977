"""Calls one endpoint for one date window, with the single guarded token retry.

The client knows the two HTTP shapes (datacube POST with a JSON body, publisher/stat GET with
paging); everything endpoint-specific comes from the catalog entry.
"""

import threading
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, TypeVar

from .catalog import Endpoint
from .config import SourceConfig
from .errors import (
    ErrorKind,
    PayloadError,
    UnreadableBody,
    WeChatApiError,
    WeChatSourceError,
    stops_account,
)
from .raw_archive import RawPage
from .redaction import Redactor
from .settings import PUBLISHER_PAGE_SIZE
from .tokens import ClassicTokenProvider, StableTokenProvider, StaticTokenProvider, TokenProvider
from .transport import Body, CallCounter, Transport
from .windows import Window

T = TypeVar("T")


class FirstCall:
    """Lets the first call through alone; every other waits until it has ended, then all go
    at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._over = False

    def run(self, call: Callable[[], T]) -> T:
        if not self._over:
            with self._lock:
                if not self._over:
                    try:
                        return call()
                    finally:
                        self._over = True
        return call()


class WeChatClient:
    """One account's statistics calls."""

    def __init__(self, transport: Transport, tokens: TokenProvider) -> None:
        self.transport = transport
        self.tokens = tokens
        self._first_call = FirstCall()

    def carry_on(self, previous: "WeChatClient") -> None:
        """Continues the run `previous` served: its call budget and count, its account stop,
        and its first call, done already."""
        self.transport.calls = previous.transport.calls
        self.transport.stopped = previous.transport.stopped
        self._first_call = previous._first_call

    @classmethod
    def for_account(cls, config: SourceConfig) -> "WeChatClient":
        """The account's client, with the token provider its settings ask for; its secrets
        are masked in everything the transport says."""
        redactor = Redactor([config.app_secret, config.access_token])
        transport = Transport(config.base_url, redactor, config.retry_policy, config.limits)
        tokens: TokenProvider
        if config.access_token:
            tokens = StaticTokenProvider(config.access_token)
        elif config.token_mode == "classic":
            tokens = ClassicTokenProvider(transport, config.app_id, config.app_secret or "")
        else:
            tokens = StableTokenProvider(transport, config.app_id, config.app_secret or "")
        return cls(transport, tokens)

    def fetch(
        self, endpoint: Endpoint, window: Window, counter: CallCounter, received: List[RawPage]
    ) -> Body:
        """The endpoint's response for `window`; publisher pages are merged into one body.

        Every answer body, readable or not, is appended to `received` as it arrives."""
        if endpoint.is_publisher:
            return self._fetch_publisher(endpoint, window, counter, received)
        dates = {"begin_date": window.begin.isoformat(), "end_date": window.end.isoformat()}
        send = partial(self._send, endpoint, counter, "POST", {}, dates)
        return _kept(received, 1, partial(self._authorized, endpoint, send))

    def _send(
        self,
        endpoint: Endpoint,
        counter: CallCounter,
        method: str,
        query: Dict[str, Any],
        json_body: Optional[Dict[str, Any]],
        token: str,
    ) -> Body:
        return self.transport.request(
            method,
            endpoint.path,
            label=endpoint.table,
            counter=counter,
            params={**query, "access_token": token},
            json_body=json_body,
        )

    def _fetch_publisher(
        self, endpoint: Endpoint, window: Window, counter: CallCounter, received: List[RawPage]
    ) -> Body:
        """Pages of at most 90 rows, 1-based, until they make up the answer (`read_pages`)."""
        pages: List[Body] = []
        # every page but the last holds a row, so this many pages are enough for any answer
        for page in range(1, window.days * endpoint.max_rows_per_day + 2):
            query = {
                "action": endpoint.api_name,
                "page": page,
                "page_size": PUBLISHER_PAGE_SIZE,
                "start_date": window.begin.isoformat(),
                "end_date": window.end.isoformat(),
            }
            send = partial(self._send, endpoint, counter, "GET", query, None)
            pages.append(_kept(received, page, partial(self._authorized, endpoint, send)))
            answer = read_pages(endpoint, window, pages)
            if answer is not None:
                return answer
        raise PayloadError(endpoint.table, f"paging of {window} did not end")

    def _authorized(self, endpoint: Endpoint, send: Callable[[str], Body]) -> Body:
        """Send with the current token; on a token error refresh once and retry once.

        The run's first call goes alone, and stops the account before the others go if it
        met a problem of the whole account (a rejected token, secret or IP, the daily quota):
        such a problem costs one call, not one per endpoint in flight."""
        self.transport.check_stopped()
        return self._first_call.run(partial(self._stopping_the_account, endpoint, send))

    def _stopping_the_account(self, endpoint: Endpoint, send: Callable[[str], Body]) -> Body:
        try:
            return self._with_token(endpoint, send)
        except WeChatSourceError as error:
            if stops_account(error):
                self.transport.stop(error)
            raise

    def _with_token(self, endpoint: Endpoint, send: Callable[[str], Body]) -> Body:
        token = self._token()
        try:
            return send(token)
        except WeChatApiError as error:
            if error.kind is not ErrorKind.TOKEN:
                raise _with_replacements(error, endpoint) from None
            if not self.tokens.can_refresh:
                # no call of the account can succeed with it
                raise WeChatApiError(
                    error.errcode,
                    error.errmsg,
                    endpoint.table,
                    kind=ErrorKind.ACCOUNT,
                    hint="the configured `access_token` is invalid or expired: get a current one "
                    "from the service that manages it",
                ) from None
        self.tokens.invalidate(token)
        try:
            return send(self._token())
        except WeChatApiError as error:
            # a second token error is final: one refresh per call, never a loop
            raise _with_replacements(error, endpoint) from None

    def _token(self) -> str:
        """The account's token. A token fetch that fails (after its retries) stops the
        account: the provider keeps the error, and no call can succeed without a token."""
        try:
            return self.tokens.token()
        except WeChatSourceError as error:
            self.transport.stop(error)
            raise


def read_pages(endpoint: Endpoint, window: Window, pages: Sequence[Body]) -> Optional[Body]:
    """The answer `pages` make up, as one body (the first page's fields, every page's rows);
    None while it needs more pages. The live client and the rebuild from kept bodies both
    read pages here, so a rebuild never lands an answer the live run refused.

    With a `total_num`, only the total ends paging (a server may cap pages below 90 rows);
    without, a short page does. Paging is bounded by what the window can hold
    (`Endpoint.max_rows_per_day`), and a page that repeats the one before means the server
    ignores `page`: either would otherwise page forever (1,350 calls a minute against such a
    server). Both raise `PayloadError`, as does a total the pages fall short of.
    """
    items = [_page_items(endpoint, page) for page in pages]
    count, number = sum(map(len, items)), len(pages)
    capacity = window.days * endpoint.max_rows_per_day
    if number > 1 and items[-1] and items[-1] == items[-2]:
        raise PayloadError(
            endpoint.table,
            f"page {number} repeats page {number - 1}: the server ignores `page`, so the "
            f"rows of {window} cannot all be read",
        )
    if count > capacity:
        raise PayloadError(
            endpoint.table,
            f"paging went on to page {number}, past the {capacity} rows {window} can "
            f"hold ({endpoint.max_rows_per_day} a day)",
        )
    total = _count(pages[-1].get("total_num"))
    if total is not None and count < total and not items[-1]:
        raise PayloadError(
            endpoint.table, f"total_num says {total} rows for {window}, the pages held {count}"
        )
    done = count >= total if total is not None else len(items[-1]) < PUBLISHER_PAGE_SIZE
    if not done:
        return None
    merged = Body(pages[0])
    merged[endpoint.list_key] = [item for page_items in items for item in page_items]
    merged.escaped = tuple(
        f"page {n}: {place}" for n, page in enumerate(pages, 1) for place in page.escaped
    )
    return merged


def _page_items(endpoint: Endpoint, body: Body) -> List[Any]:
    items = body.get(endpoint.list_key) or []
    if not isinstance(items, list):
        raise PayloadError(endpoint.table, f"`{endpoint.list_key}` is not a list")
    return items


def _kept(received: List[RawPage], page: int, call: Callable[[], Body]) -> Body:
    """`call()`, its answer appended to `received` (an unreadable one too, then raised)."""
    try:
        body = call()
    except UnreadableBody as error:
        received.append(RawPage(page, datetime.now(timezone.utc), error.content))
        raise
    received.append(RawPage(page, datetime.now(timezone.utc), body.content))
    return body


def _with_replacements(error: WeChatApiError, endpoint: Endpoint) -> WeChatApiError:
    """A retirement notice that names the tables holding the endpoint's data now."""
    if error.kind is ErrorKind.RETIRED and endpoint.replacements:
        return WeChatApiError(error.errcode, error.errmsg, endpoint.table, endpoint.replacements)
    return error


def _count(value: Any) -> Optional[int]:
    """`total_num` as a count, if it is one (a whole number, also sent as 90.0 or "90")."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() and 0 <= number < 2**53 else None
