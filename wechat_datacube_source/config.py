"""Validates the source's settings before any network call, naming the key and the fix."""

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from .catalog import AD_TABLES, BY_TABLE, DEFAULT_TABLES
from .errors import ConfigurationError
from .settings import (
    CONFIG_SECTION,
    DATACUBE_EARLIEST,
    DEFAULT_BACKOFF_SECONDS,
    DEFAULT_INITIAL_DAYS,
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    MAX_BACKOFF_SECONDS,
    MAX_CONCURRENT_REQUESTS_LIMIT,
    MAX_REQUEST_TIMEOUT_SECONDS,
    MAX_REQUESTS_PER_SECOND_LIMIT,
    MAX_RETRIES_LIMIT,
    MAX_SET_ASIDE_AFTER_FAILURES,
    TOKEN_MODES,
)

# the example values of .dlt/secrets.toml.example: an AppID of zeros, secrets in <angle brackets>
EXAMPLE_APP_IDS = frozenset({"wx0000000000000000", "wx0000000000000001", "wx0000000000000002"})
_PLACEHOLDER = re.compile(r"^\s*<[^<>]*>\s*$")


@dataclass(frozen=True)
class RetryPolicy:
    """How one call is retried on transient faults, and how long it may take."""

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


@dataclass(frozen=True)
class SourceConfig:
    """The settings after validation, in the types the source works with."""

    app_id: str
    # out of the repr: a config (and every run that holds it) may be printed in a traceback,
    # a debugger or an error tracker's captured locals
    app_secret: Optional[str] = field(repr=False)
    access_token: Optional[str] = field(repr=False)
    base_url: str
    token_mode: str
    start_date: date
    end_date: Optional[date]
    tables: Tuple[str, ...]
    retry_policy: RetryPolicy
    limits: CallLimits
    keep_raw_responses: bool
    set_aside_after_failures: int


def parse_day(key: str, value: Any) -> Optional[date]:
    """A date from TOML (date), the command line or env (`YYYY-MM-DD` string), or None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return date(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigurationError(
        key, f"{value!r} is not a date", f'Write it as YYYY-MM-DD, e.g. {key} = "2025-01-31"'
    )


def _require_text(key: str, value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(key, "is not set", f"Set `{key}` in {CONFIG_SECTION} of {where}")
    return value.strip()


def _refuse_placeholder(key: str, value: Optional[str]) -> None:
    """The values of .dlt/secrets.toml.example are never sent to WeChat."""
    if value is not None and (value.strip() in EXAMPLE_APP_IDS or _PLACEHOLDER.match(value)):
        raise ConfigurationError(
            key,
            "still holds the example value of .dlt/secrets.toml.example",
            f"Put the account's real {key} in {CONFIG_SECTION} of .dlt/secrets.toml",
        )


def validate(arguments: Mapping[str, Any], last_complete_day: date) -> SourceConfig:
    """Checks every setting; the first problem raises `ConfigurationError`.

    `arguments` are the source function's, by parameter name: its signature is where the
    settings are declared (dlt looks each up in config by that name), and this is where
    each is checked. A parameter added there and not read here fails every run, loudly.
    """
    settings = _Settings(arguments)
    app_id = settings.take("app_id")
    app_secret = settings.take("app_secret")
    access_token = settings.take("access_token")
    token_mode = settings.take("token_mode")
    checked_app_id = _require_text("app_id", app_id, ".dlt/secrets.toml or .dlt/config.toml")
    if token_mode not in TOKEN_MODES:
        raise ConfigurationError(
            "token_mode",
            f"{token_mode!r} is not a token mode",
            'Use "stable" (default) or "classic"',
        )
    secret = app_secret if isinstance(app_secret, str) and app_secret.strip() else None
    token = access_token if isinstance(access_token, str) and access_token.strip() else None
    if secret and token:
        raise ConfigurationError(
            "access_token",
            "is set together with app_secret",
            "Set only one: access_token when a central service manages the account's tokens, "
            "app_secret when this source should fetch them",
        )
    if not secret and not token:
        raise ConfigurationError(
            "app_secret",
            "is not set",
            f"Set `app_secret` in {CONFIG_SECTION} of .dlt/secrets.toml (or `access_token` if a "
            "central service manages tokens)",
        )
    _refuse_placeholder("app_id", checked_app_id)
    _refuse_placeholder("app_secret", secret)
    _refuse_placeholder("access_token", token)
    checked_base_url = _check_base_url(settings.take("base_url"))
    start, end = _check_dates(
        settings.take("start_date"), settings.take("end_date"), last_complete_day
    )
    tables = _check_tables(settings.take("resources"), settings.take("include_ad_stats"))
    policy = RetryPolicy(
        max_retries=_check_number(
            "max_retries",
            settings.take("max_retries"),
            minimum=0,
            maximum=MAX_RETRIES_LIMIT,
            integer=True,
        ),
        backoff_seconds=_check_number(
            "retry_backoff_seconds",
            settings.take("retry_backoff_seconds"),
            minimum=0,
            maximum=MAX_BACKOFF_SECONDS,
        ),
        timeout_seconds=_check_number(
            "request_timeout_seconds",
            settings.take("request_timeout_seconds"),
            minimum=0,
            maximum=MAX_REQUEST_TIMEOUT_SECONDS,
            exclusive=True,
        ),
    )
    per_second = settings.take("max_requests_per_second")
    max_calls = settings.take("max_calls")
    limits = CallLimits(
        max_concurrent_requests=_check_number(
            "max_concurrent_requests",
            settings.take("max_concurrent_requests"),
            minimum=1,
            maximum=MAX_CONCURRENT_REQUESTS_LIMIT,
            integer=True,
        ),
        max_requests_per_second=None
        if per_second is None
        else _check_number(
            "max_requests_per_second",
            per_second,
            minimum=0,
            maximum=MAX_REQUESTS_PER_SECOND_LIMIT,
            exclusive=True,
        ),
        max_calls=None
        if max_calls is None
        else _check_number("max_calls", max_calls, minimum=1, integer=True),
    )
    config = SourceConfig(
        app_id=checked_app_id,
        app_secret=secret,
        access_token=token,
        base_url=checked_base_url,
        token_mode=token_mode,
        start_date=start,
        end_date=end,
        tables=tables,
        retry_policy=policy,
        limits=limits,
        keep_raw_responses=_check_flag("keep_raw_responses", settings.take("keep_raw_responses")),
        set_aside_after_failures=_check_number(
            "set_aside_after_failures",
            settings.take("set_aside_after_failures"),
            minimum=1,
            maximum=MAX_SET_ASIDE_AFTER_FAILURES,
            integer=True,
        ),
    )
    settings.all_read()
    return config


class _Settings:
    """The arguments as they are read, so that one left unchecked is noticed."""

    def __init__(self, arguments: Mapping[str, Any]) -> None:
        self._unread = dict(arguments)

    def take(self, key: str) -> Any:
        return self._unread.pop(key)

    def all_read(self) -> None:
        if self._unread:
            # a defect of the source, not of the user's settings
            raise TypeError(f"settings never checked: {', '.join(sorted(self._unread))}")


def _check_flag(key: str, value: Any) -> bool:
    """true or false, not a word that reads like one ("no" would be truthy)."""
    if not isinstance(value, bool):
        raise ConfigurationError(
            key, f"{value!r} is not true or false", f"Set `{key}` to true or false"
        )
    return value


def _check_number(
    key: str,
    value: Any,
    minimum: float,
    maximum: float = math.inf,
    integer: bool = False,
    exclusive: bool = False,
) -> Any:
    """`value` if it is a finite number (a whole one if `integer`) within the bounds.

    nan and inf are refused here: they compare false with every bound, so they would pass a
    range check and only fail deep in the extract (a timeout of nan, a pool of inf threads).
    """
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if (
        isinstance(value, bool)
        or not ok_type
        or not math.isfinite(value)
        or value < minimum
        or (exclusive and value == minimum)
        or value > maximum
    ):
        kind = "a whole number" if integer else "a number"
        bound = f"greater than {minimum:g}" if exclusive else f"at least {minimum:g}"
        if maximum != math.inf:
            bound += f" and at most {maximum:g}"
        raise ConfigurationError(
            key, f"{value!r} is not {kind} {bound}", f"Set `{key}` to {kind} {bound}"
        )
    return value


def _check_base_url(base_url: Any) -> str:
    parts = urlsplit(base_url) if isinstance(base_url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            "base_url",
            f"{base_url!r} is not an http(s) URL",
            "Leave it unset for https://api.weixin.qq.com, or give e.g. http://127.0.0.1:8080",
        )
    bad_port = ConfigurationError(
        "base_url",
        f"{base_url!r} has a port that is not a number from 1 to 65535",
        "Give e.g. http://127.0.0.1:8080",
    )
    try:
        port = parts.port  # raises on a port that is not a number from 0 to 65535
    except ValueError:
        raise bad_port from None
    if port == 0:
        raise bad_port
    if parts.query or parts.fragment:
        raise ConfigurationError(
            "base_url", "has a query or fragment", "Give only scheme, host, port and path"
        )
    return str(base_url).rstrip("/")


def _check_dates(
    start_date: Any, end_date: Any, last_complete_day: date
) -> Tuple[date, Optional[date]]:
    start = parse_day("start_date", start_date)
    end = parse_day("end_date", end_date)
    ready = (
        f"the last day WeChat has finished is {last_complete_day.isoformat()} "
        "(yesterday in Beijing time, from 08:00)"
    )
    if end is not None and end > last_complete_day:
        raise ConfigurationError(
            "end_date",
            f"{end.isoformat()} is not complete yet",
            f"Use a day up to {last_complete_day.isoformat()}: {ready}",
        )
    if start is None:
        start = (end or last_complete_day) - timedelta(days=DEFAULT_INITIAL_DAYS - 1)
    if start < DATACUBE_EARLIEST:
        raise ConfigurationError(
            "start_date",
            f"{start.isoformat()} is before {DATACUBE_EARLIEST.isoformat()}",
            "WeChat keeps no statistics before 2014-12-01: use that date or later",
        )
    if start > last_complete_day:
        raise ConfigurationError(
            "start_date",
            f"{start.isoformat()} is not complete yet",
            f"Use a day up to {last_complete_day.isoformat()}: {ready}",
        )
    if end is not None and end < start:
        raise ConfigurationError(
            "end_date",
            f"{end.isoformat()} is before start_date {start.isoformat()}",
            "end_date is inclusive and must be on or after start_date",
        )
    return start, end


def _check_tables(resources: Optional[Sequence[str]], include_ad_stats: bool) -> Tuple[str, ...]:
    if resources is None:
        return DEFAULT_TABLES + (AD_TABLES if include_ad_stats else ())
    if isinstance(resources, str):
        resources = [name.strip() for name in resources.split(",") if name.strip()]
    unknown = [name for name in resources if name not in BY_TABLE]
    if unknown or not resources:
        raise ConfigurationError(
            "resources",
            f"unknown table name(s) {', '.join(map(repr, unknown))}" if unknown else "is empty",
            f"Choose from: {', '.join(BY_TABLE)}",
        )
    return tuple(dict.fromkeys(resources))
