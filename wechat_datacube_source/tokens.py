"""Access-token providers: stable_token (default), classic cgi-bin/token, or a static token.

A provider hands out one token per account for the run and refreshes it only through
`invalidate(failed_token)`, which expires the cache only if it still holds the token that
failed (compare-and-expire, as WxJava does), so threads that fail together cause one fetch.
"""

import math
import threading
import time
from abc import ABC, abstractmethod
from typing import Any, Callable, Optional, Tuple

from .errors import (
    CREDENTIALS_PLACE,
    MALFORMED_ANSWER,
    TOKEN_LABEL,
    ErrorKind,
    TransportError,
    WeChatApiError,
)
from .settings import (
    MAX_TOKEN_LIFETIME_SECONDS,
    MIN_TOKEN_LIFETIME_SECONDS,
    TOKEN_EXPIRY_MARGIN_SECONDS,
)
from .transport import Body, Transport


class TokenProvider(ABC):
    can_refresh: bool = True

    @abstractmethod
    def token(self) -> str:
        """A token believed valid; fetched at most once per expiry or invalidation."""

    @abstractmethod
    def invalidate(self, failed_token: str) -> None:
        """WeChat rejected `failed_token`; the next `token()` fetches a new one."""


class StaticTokenProvider(TokenProvider):
    """A token managed by a central token service: never fetched, never refreshed here."""

    can_refresh = False

    def __init__(self, access_token: str) -> None:
        self._token = access_token

    def token(self) -> str:
        return self._token

    def invalidate(self, failed_token: str) -> None:
        """Nothing to do: only the service that issued the token can replace it."""


class FetchedTokenProvider(TokenProvider):
    """Fetches and caches a token from WeChat; a credential error is final for the run."""

    def __init__(
        self,
        transport: Transport,
        app_id: str,
        app_secret: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._app_id = app_id
        self._app_secret = app_secret
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Optional[str] = None
        self._expires_at = 0.0
        self._error: Optional[Exception] = None

    def token(self) -> str:
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._token is not None and self._clock() < self._expires_at:
                return self._token
            try:
                body = self._fetch(self._transport, self._app_id, self._app_secret)
                token, expires_in = _parse_token(body)
            except (WeChatApiError, TransportError) as raw:
                # the fetch had its retries; without a token no call of the run can succeed,
                # so every endpoint fails at once instead of repeating the retries and backoff
                self._error = _as_credential_error(raw)
                raise self._error from None
            self._transport.redactor.add(token)
            self._token = token
            self._expires_at = self._clock() + _cache_seconds(expires_in)
            return token

    def invalidate(self, failed_token: str) -> None:
        with self._lock:
            if self._token == failed_token:
                self._token = None

    @abstractmethod
    def _fetch(self, transport: Transport, app_id: str, app_secret: str) -> Body:
        """The raw token response."""


class StableTokenProvider(FetchedTokenProvider):
    """`POST cgi-bin/stable_token` in normal mode: it never invalidates tokens others hold."""

    def _fetch(self, transport: Transport, app_id: str, app_secret: str) -> Body:
        return transport.request(
            "POST",
            "/cgi-bin/stable_token",
            label=TOKEN_LABEL,
            counter=None,
            json_body={
                "grant_type": "client_credential",
                "appid": app_id,
                "secret": app_secret,
                "force_refresh": False,
            },
        )


class ClassicTokenProvider(FetchedTokenProvider):
    """`GET cgi-bin/token`: each fetch invalidates the account's previous token (after 5 min)."""

    def _fetch(self, transport: Transport, app_id: str, app_secret: str) -> Body:
        return transport.request(
            "GET",
            "/cgi-bin/token",
            label=TOKEN_LABEL,
            counter=None,
            params={"grant_type": "client_credential", "appid": app_id, "secret": app_secret},
        )


def _parse_token(body: Body) -> Tuple[str, float]:
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise WeChatApiError(MALFORMED_ANSWER, "token response has no access_token", TOKEN_LABEL)
    return token, _lifetime(body.get("expires_in"))


def _lifetime(expires_in: Any) -> float:
    """WeChat's `expires_in`, read sensibly: within the documented two hours, and a value that
    makes no sense (0, negative, not a number) as a short lifetime rather than "expired
    already", which would fetch a token before every data call."""
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError):
        return MIN_TOKEN_LIFETIME_SECONDS
    if not math.isfinite(seconds) or seconds < MIN_TOKEN_LIFETIME_SECONDS:
        return MIN_TOKEN_LIFETIME_SECONDS
    return min(seconds, MAX_TOKEN_LIFETIME_SECONDS)


def _cache_seconds(expires_in: float) -> float:
    """Keep a margin before WeChat's expiry; short-lived tokens are kept for half their life."""
    if expires_in > 2 * TOKEN_EXPIRY_MARGIN_SECONDS:
        return expires_in - TOKEN_EXPIRY_MARGIN_SECONDS
    return expires_in / 2


def _as_credential_error(error: Exception) -> Exception:
    """On the token endpoints 40001 means a wrong app secret, not a stale token."""
    if isinstance(error, WeChatApiError) and error.kind is ErrorKind.TOKEN:
        return WeChatApiError(
            error.errcode,
            error.errmsg,
            error.endpoint,
            kind=ErrorKind.ACCOUNT,
            hint=f"WeChat rejected the credentials: check `app_secret` in {CREDENTIALS_PLACE}",
        )
    return error
