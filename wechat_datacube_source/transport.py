"""HTTP exchanges with WeChat: bounded retries with backoff, errcode parsing, the quota stop.

One `Transport` serves one account. It owns the retry loop rather than using dlt's retrying
session because WeChat reports most faults as HTTP 200 with an `errcode` body, the quota stop
must be shared by every call of the account, and every attempt must be counted for `sync_log`.
"""

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

import requests

from .errors import CallBudgetExhausted, ErrorKind, TransportError, WeChatApiError
from .redaction import Redactor
from .settings import (
    DEFAULT_BACKOFF_SECONDS,
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    MAX_BACKOFF_SECONDS,
    TRANSIENT_HTTP_STATUSES,
)

logger = logging.getLogger(__name__)

Body = Dict[str, Any]


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    max_backoff_seconds: float = MAX_BACKOFF_SECONDS
    timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS

    def delay(self, attempt: int, retry_after: Optional[float] = None) -> float:
        """Exponential backoff for retry number `attempt` (0-based), or the server's wish."""
        if retry_after is not None and retry_after > 0:
            return min(retry_after, self.max_backoff_seconds)
        return float(min(self.backoff_seconds * (2**attempt), self.max_backoff_seconds))


@dataclass(frozen=True)
class CallLimits:
    """How hard one account's calls may press on WeChat in one run."""

    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS
    max_requests_per_second: Optional[float] = None
    max_calls: Optional[int] = None
    """Budget of requests (retries and token fetches included) for the whole run."""


class CallCounter:
    """Requests counted for one endpoint (sync_log) or a whole run (the max_calls budget),
    retries included."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0

    def add(self, budget: Optional[int] = None) -> bool:
        """Count one request, unless `budget` requests were counted already."""
        with self._lock:
            if budget is not None and self.calls >= budget:
                return False
            self.calls += 1
            return True


def body_error(body: Mapping[str, Any]) -> Tuple[int, str]:
    """(code, message) of a WeChat body; code 0 means success.

    Datacube and token calls put errors in `errcode`/`errmsg`; publisher/stat puts them in
    `base_resp.ret`/`base_resp.err_msg` (SDKs check both, so do we). A code sent as a string
    still counts: reading it as success would pass an error off as an empty day.
    """
    code = _as_code(body.get("errcode"))
    if code:
        return code, str(body.get("errmsg", ""))
    base_resp = body.get("base_resp")
    if isinstance(base_resp, Mapping):
        code = _as_code(base_resp.get("ret"))
        if code:
            return code, str(base_resp.get("err_msg", ""))
    return 0, ""


def _as_code(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return -1 if value.strip() else 0
    return 0


def _retry_after(response: requests.Response) -> Optional[float]:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class Transport:
    """Sends requests for one account and turns every outcome into a body or a typed error."""

    def __init__(
        self,
        base_url: str,
        redactor: Redactor,
        policy: RetryPolicy = RetryPolicy(),
        limits: CallLimits = CallLimits(),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.redactor = redactor
        self.policy = policy
        self.limits = limits
        self.session = requests.Session()
        # proxies and CA bundle from the environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE)
        # are read once: requests would read them, and ~/.netrc, again on every call, which
        # was a third of its time per call
        environment = self.session.merge_environment_settings(self.base_url, {}, None, None, None)
        self.session.trust_env = False
        self.session.proxies.update(environment["proxies"])
        self.session.verify = environment["verify"]
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=limits.max_concurrent_requests)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._pace_lock = threading.Lock()
        self._next_start = 0.0
        self.calls = CallCounter()
        """Every request of the run, for the `max_calls` budget."""
        # the 45009 that stopped this account's calls for the run, if any
        self._quota_error: Optional[WeChatApiError] = None

    def request(
        self,
        method: str,
        path: str,
        *,
        label: str,
        counter: CallCounter,
        params: Optional[Mapping[str, Any]] = None,
        json_body: Optional[Mapping[str, Any]] = None,
    ) -> Body:
        """One logical call, retried on transient faults; raises on anything else."""
        last_problem: Exception = TransportError(label, "no attempt made")
        for attempt in range(self.policy.max_retries + 1):
            if self._quota_error is not None:
                raise WeChatApiError(
                    self._quota_error.errcode, self._quota_error.errmsg, label
                ) from None
            if attempt:
                retry_after = (
                    last_problem.retry_after if isinstance(last_problem, TransportError) else None
                )
                delay = self.policy.delay(attempt - 1, retry_after)
                logger.warning("%s; retry %d in %.2fs", last_problem, attempt, delay)
                time.sleep(delay)
            self._spend_call()
            counter.add()
            self._pace()
            outcome = self._attempt(method, path, label, params, json_body)
            if isinstance(outcome, dict):
                return outcome
            last_problem = outcome
        raise last_problem

    def _spend_call(self) -> None:
        if not self.calls.add(self.limits.max_calls):
            raise CallBudgetExhausted(self.limits.max_calls or 0)

    def _pace(self) -> None:
        """Wait for the next start the request-rate cap allows, if there is one."""
        rate = self.limits.max_requests_per_second
        if not rate:
            return
        with self._pace_lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + 1.0 / rate
        if start > now:
            time.sleep(start - now)

    def _attempt(
        self,
        method: str,
        path: str,
        label: str,
        params: Optional[Mapping[str, Any]],
        json_body: Optional[Mapping[str, Any]],
    ) -> "Body | Exception":
        """A body on success; a retryable problem as a value; raises when retrying cannot help."""
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=json_body,
                timeout=self.policy.timeout_seconds,
            )
        except requests.RequestException as exc:
            # the exception text holds the URL with the token: keep the type, redact the rest
            return TransportError(label, self.redactor(f"{type(exc).__name__}: {exc}"))
        if response.status_code in TRANSIENT_HTTP_STATUSES:
            return TransportError(
                label, f"HTTP {response.status_code}", response.status_code, _retry_after(response)
            )
        if response.status_code != 200:
            raise TransportError(label, f"HTTP {response.status_code}", response.status_code)
        try:
            body = json.loads(response.content)
        except ValueError:
            return TransportError(label, "response body is not JSON (truncated or malformed)")
        if not isinstance(body, dict):
            return TransportError(
                label, f"response body is JSON {type(body).__name__}, not an object"
            )
        code, message = body_error(body)
        if code == 0:
            return body
        error = WeChatApiError(code, self.redactor(message), label)
        if error.kind is ErrorKind.TRANSIENT:
            return error
        if error.kind is ErrorKind.QUOTA:
            self._quota_error = error
        raise error
