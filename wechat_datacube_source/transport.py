"""HTTP exchanges with WeChat: bounded retries with backoff, errcode parsing, the quota stop.

One `Transport` serves one account. It owns the retry loop rather than using dlt's retrying
session because WeChat reports most faults as HTTP 200 with an `errcode` body, the quota stop
must be shared by every call of the account, and every attempt must be counted for `sync_log`.
"""

import logging
import threading
import time
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urljoin, urlsplit

import requests
from urllib3.exceptions import NewConnectionError as NoHost

from .config import CallLimits, RetryPolicy
from .deadlines import DeadlineAdapter, total_deadline
from .errors import (
    MALFORMED_ANSWER,
    PROBLEM,
    AccountStopped,
    CallBudgetExhausted,
    ErrorKind,
    TransportError,
    UnreadableBody,
    WeChatApiError,
    WeChatSourceError,
    account_problem,
    stops_account,
)
from .redaction import Redactor
from .safe_text import decode_json, escape_unstorable, shortened
from .settings import INT64_MAX, INT64_MIN, TRANSIENT_HTTP_STATUSES

logger = logging.getLogger(__name__)


class _RedactedRecords(logging.Filter):
    """urllib3 logs every request line at DEBUG, `?access_token=...` included: a user who
    turns debug logging on must not find the token in the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = Redactor()(record.getMessage()), None
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactedRecords())


class Body(Dict[str, Any]):
    """A decoded answer: a JSON object whose text every destination can store."""

    escaped: Tuple[str, ...] = ()
    """Where text had to be escaped to be storable (`list[0].title`); see `safe_text`."""
    content: bytes = b""
    """The body as it came off the wire, for the raw archive."""


class CallCounter:
    """Requests counted for one endpoint (sync_log) or a whole run (the max_calls budget),
    retries included; each counted in `parent` too, if given (the run's progress)."""

    def __init__(self, parent: Optional["CallCounter"] = None) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self._parent = parent

    def add(self, budget: Optional[int] = None) -> bool:
        """Count one request, unless `budget` requests were counted already."""
        with self._lock:
            if budget is not None and self.calls >= budget:
                return False
            self.calls += 1
        if self._parent is not None:
            self._parent.add()
        return True


def read_body(label: str, content: bytes) -> Body:
    """The JSON object of an answer's bytes; `UnreadableBody` if they hold none."""
    try:
        decoded, escaped = decode_json(content)
    except ValueError:
        raise UnreadableBody(
            label, "the body is not JSON (truncated or malformed)", content
        ) from None
    except RecursionError:
        # no answer of WeChat's nests that deep, and asking again will not change it
        raise UnreadableBody(
            label, "the body nests deeper than can be read", content, final=True
        ) from None
    if not isinstance(decoded, dict):
        raise UnreadableBody(
            label, f"the body is JSON {type(decoded).__name__}, not an object", content
        )
    body = Body(decoded)
    body.escaped = tuple(escaped)
    body.content = content
    return body


def body_error(body: Mapping[str, Any]) -> Tuple[int, str]:
    """(code, message) of a WeChat body; code 0 means success.

    Datacube and token calls put errors in `errcode`/`errmsg`; publisher/stat puts them in
    `base_resp.ret`/`base_resp.err_msg` (SDKs check both, so do we). Any code other than zero,
    in any JSON type, is an error: reading `61503.0` or `"45009"` as success would commit an
    empty window whose rows are then never fetched again.
    """
    code = _as_code(body.get("errcode"))
    if code:
        return code, _message(body.get("errmsg"), body.get("errcode"), code)
    base_resp = body.get("base_resp")
    if isinstance(base_resp, Mapping):
        code = _as_code(base_resp.get("ret"))
        if code:
            return code, _message(base_resp.get("err_msg"), base_resp.get("ret"), code)
    return 0, ""


def _as_code(value: Any) -> int:
    """0 for success (no code, or zero as a number or numeric text); the code otherwise, or
    `MALFORMED_ANSWER` for a code that is not a whole number within 64 bits."""
    if value is None:
        return 0
    if isinstance(value, str):
        try:
            value = float(value.strip()) if "." in value or "e" in value.lower() else int(value)
        except ValueError:
            return MALFORMED_ANSWER
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return MALFORMED_ANSWER  # true, a list, an object
    if value == 0:
        return 0
    if isinstance(value, float) and not value.is_integer():
        return MALFORMED_ANSWER  # nan, inf, 1.5
    if not INT64_MIN <= value <= INT64_MAX:
        return MALFORMED_ANSWER
    return int(value)


def _message(errmsg: Any, raw_code: Any, code: int) -> str:
    """The errmsg as text; for a code that is no whole number, what the code was."""
    text = errmsg if isinstance(errmsg, str) else "" if errmsg is None else repr(errmsg)
    if code != MALFORMED_ANSWER:
        return text
    shown = shortened(repr(raw_code), 40)
    return f"errcode {shown} is not a whole number" + (f"; {text}" if text else "")


def _retryable(problem: WeChatSourceError) -> bool:
    """Whether asking again may help: a network fault, a busy server, an answer cut short or
    garbled on its way (a proxy's error page); not a refusal WeChat meant."""
    if isinstance(problem, TransportError):
        return problem.transient
    if isinstance(problem, UnreadableBody):
        return not problem.final
    return isinstance(problem, WeChatApiError) and problem.kind is ErrorKind.TRANSIENT


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
        adapter = DeadlineAdapter(pool_maxsize=limits.max_concurrent_requests)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._pace_lock = threading.Lock()
        self._next_start = 0.0
        self.calls = CallCounter()
        """Every request of the run, for the `max_calls` budget."""
        self._stop_lock = threading.Lock()
        self.stopped: Optional[WeChatSourceError] = None
        """What ended every call of the account in this run (`stop`), if anything did."""

    def request(
        self,
        method: str,
        path: str,
        *,
        label: str,
        counter: Optional[CallCounter],
        params: Optional[Mapping[str, Any]] = None,
        json_body: Optional[Mapping[str, Any]] = None,
    ) -> Body:
        """One logical call, retried on transient faults; raises on anything else.

        Every attempt counts against the run's `max_calls`, and against `counter` (the
        endpoint's calls in `sync_log`); None for a call of no endpoint (a token fetch).
        """
        attempt = 0
        while True:
            self._pace()
            # (after the wait for the rate cap: the account may have stopped meanwhile)
            self.check_stopped()
            self._spend_call()
            if counter is not None:
                counter.add()
            try:
                return self._attempt(method, path, label, params, json_body)
            except WeChatSourceError as problem:
                if attempt >= self.policy.max_retries or not _retryable(problem):
                    raise
                retry_after = problem.retry_after if isinstance(problem, TransportError) else None
                delay = self.policy.delay(attempt, retry_after)
                attempt += 1
                logger.warning("%s; retry %d in %.2fs", problem, attempt, delay)
                time.sleep(delay)

    def stop(self, error: WeChatSourceError) -> None:
        """No call of the account can succeed in this run after `error` (`stops_account`):
        every later request raises `AccountStopped` without a call, and the problem is logged
        here, once, rather than by each endpoint it stops."""
        with self._stop_lock:
            if self.stopped is not None:
                return
            self.stopped = error
        logger.warning("%s", self.redactor(account_problem(error)), extra={PROBLEM: True})

    def check_stopped(self) -> None:
        """Raises `AccountStopped` if the account's calls have ended for this run."""
        if self.stopped is not None:
            raise AccountStopped(self.stopped)

    def _spend_call(self) -> None:
        if not self.calls.add(self.limits.max_calls):
            self.stop(CallBudgetExhausted(self.limits.max_calls or 0))
            self.check_stopped()

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
    ) -> Body:
        """The body of one exchange, or the error it came to (`_retryable` says whether
        asking again may help).

        The exchange must be over within `timeout_seconds` in all, not per read, and a
        redirect is never followed: it would carry the token (or, from the token endpoint,
        the app secret) to whatever host it names.
        """
        timeout = self.policy.timeout_seconds
        with total_deadline(timeout) as deadline:
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=json_body,
                    timeout=timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                # the exception text holds the URL with the token: keep the type, redact the rest
                problem = self.redactor(f"{type(exc).__name__}: {exc}")
                if isinstance(getattr(exc.args[0] if exc.args else None, "reason", None), NoHost):
                    problem = (
                        f"could not connect to {self._host_of(None)} (check base_url, and that "
                        f"this machine can reach it): {problem}"
                    )
                failure: Optional[TransportError] = TransportError(label, problem, transient=True)
            else:
                failure = None
        if deadline.expired:
            # an exchange cut short may end in an exception or in a body cut off unnoticed
            raise TransportError(
                label,
                f"no complete answer within {timeout:g} s (the call's deadline)",
                transient=True,
            )
        if failure is not None:
            raise failure
        if response.status_code in TRANSIENT_HTTP_STATUSES:
            raise TransportError(
                label,
                f"HTTP {response.status_code}",
                response.status_code,
                _retry_after(response),
                transient=True,
            )
        if response.is_redirect:
            raise TransportError(
                label,
                f"HTTP {response.status_code}: a redirect to {self._host_of(response)} was "
                "refused (calls never follow redirects, so the token and secret stay with "
                f"{self._host_of(None)}); check base_url",
                response.status_code,
            )
        if response.status_code != 200:
            raise TransportError(label, f"HTTP {response.status_code}", response.status_code)
        body = read_body(label, response.content)
        code, message = body_error(body)
        if code == 0:
            return body
        error = WeChatApiError(code, self.redactor(message), label)
        if stops_account(error):
            self.stop(error)
        raise error

    def _host_of(self, response: Optional[requests.Response]) -> str:
        """The host a redirect points at (or ours): never the URL, which may carry a secret."""
        location = response.headers.get("Location", "") if response is not None else ""
        host = urlsplit(urljoin(self.base_url + "/", location)).hostname or "an unknown host"
        return self.redactor(escape_unstorable(host))
