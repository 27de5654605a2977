"""The error model: what each WeChat errcode means for the run, in plain words.

Every message built here has already been redacted by the caller (see `redaction.py`); the
classes only carry and explain.
"""

import enum
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, get_args

from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigurationException,
    ConfigValueCannotBeCoercedException,
    LookupTrace,
    LookupTraces,
)

from .settings import ACCOUNTS_SECTION, CONFIG_SECTION

TOKEN_LABEL = "access token"
"""What a token request's errors name in place of an endpoint."""
PROBLEM = "wechat_datacube_problem"
"""Marks a log record (`extra={PROBLEM: True}`) that states a problem the run's results
(`sync_log`) record too, so that a command printing the results can leave it out of its live
output and say each problem once."""
MALFORMED_ANSWER = -2
"""Not a WeChat code: the answer was unusable (an errcode that is no whole number, a token
response without a token)."""


class ErrorKind(enum.Enum):
    TRANSIENT = "transient"
    """Retry with backoff: system busy, per-minute limit, HTTP 429/5xx, network faults."""
    TOKEN = "token"
    """The token is invalid or expired: refresh once and retry once."""
    QUOTA = "quota"
    """Daily quota exhausted: no more calls for this account in this run."""
    NOT_READY = "not_ready"
    """WeChat has not finished computing the day; fetch it again on a later run."""
    DATE_RANGE = "date_range"
    """The window is longer than WeChat accepts: shrink it and retry."""
    NO_PERMISSION = "no_permission"
    """The account may not call this endpoint: skip it."""
    RETIRED = "retired"
    """WeChat retired the endpoint: skip it, its data lives in the replacement tables."""
    ACCOUNT = "account"
    """Credentials or network setup are wrong: no call for this account can succeed."""
    OTHER = "other"


# runtime errors cannot tell a single account from a listed one, so they name both places
CREDENTIALS_PLACE = (
    f".dlt/secrets.toml ({CONFIG_SECTION}, or the account's {ACCOUNTS_SECTION} entry)"
)


@dataclass(frozen=True)
class Errcode:
    """What one WeChat errcode means for the run, and what the user can do about it."""

    kind: ErrorKind
    fix: str = ""
    """A sentence a user can act on; `{ip}` is the IP WeChat quoted, `{instead}` the tables
    that replace a retired endpoint."""


def _each(codes: Sequence[int], meaning: Errcode) -> Dict[int, Errcode]:
    return dict.fromkeys(codes, meaning)


ERRCODES: Mapping[int, Errcode] = {
    **_each((-1, 45011), Errcode(ErrorKind.TRANSIENT)),
    **_each(
        (40001, 40014, 42001),
        Errcode(
            ErrorKind.TOKEN,
            "the access token stayed invalid after one refresh; if an external service "
            "manages the token, check that it is current",
        ),
    ),
    45009: Errcode(
        ErrorKind.QUOTA,
        "the account's daily API quota is exhausted, so no more calls were made for it in "
        "this run; run again after midnight Beijing time and it resumes where it stopped",
    ),
    61503: Errcode(
        ErrorKind.NOT_READY,
        "WeChat has not finished computing these days yet; the next run fetches them",
    ),
    61501: Errcode(ErrorKind.DATE_RANGE),
    **_each(
        (48001, 50001),
        Errcode(
            ErrorKind.NO_PERMISSION,
            "the account has no permission for this endpoint (the statistics API is open to "
            "verified accounts only; ad statistics to ad-revenue accounts only), so it was "
            "skipped",
        ),
    ),
    47009: Errcode(
        ErrorKind.RETIRED,
        "WeChat retired this endpoint, so it was skipped; its data now lands in {instead}",
    ),
    40164: Errcode(
        ErrorKind.ACCOUNT,
        "WeChat refused the call because the IP {ip} is not in the account's IP whitelist: "
        "add {ip} in mp.weixin.qq.com (设置与开发 > 基本配置 > IP白名单), or run from a "
        "whitelisted host",
    ),
    40013: Errcode(
        ErrorKind.ACCOUNT,
        f"WeChat does not know this app id: check `app_id` in {CREDENTIALS_PLACE}",
    ),
    **_each(
        (40125, 40243),
        Errcode(
            ErrorKind.ACCOUNT,
            # (not "secret: check": text after "secret:" is masked as if it were one)
            f"WeChat rejected the app secret. Check `app_secret` in {CREDENTIALS_PLACE} "
            "(reset or unfreeze it in mp.weixin.qq.com if it was changed)",
        ),
    ),
    **_each((41002, 41004), Errcode(ErrorKind.ACCOUNT)),
    **_each(
        (89503, 89506, 89507),
        Errcode(
            ErrorKind.ACCOUNT,
            "WeChat asked the account admin to confirm this IP; confirm it, then run again",
        ),
    ),
}
"""Every errcode the source treats specially; any other is `ErrorKind.OTHER`, without a fix."""

_TYPE_WORDS: Mapping[Any, str] = {
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    str: "text",
}
_IP_PATTERN = re.compile(r"invalid ip ([0-9a-fA-F.:]+)")


def kind_of(errcode: int) -> ErrorKind:
    meaning = ERRCODES.get(errcode)
    return meaning.kind if meaning else ErrorKind.OTHER


def explain(errcode: int, errmsg: str, replacements: Sequence[str] = ()) -> str:
    """A sentence a user can act on, for the errcodes that need one."""
    meaning = ERRCODES.get(errcode)
    if meaning is None:
        return ""
    match = _IP_PATTERN.search(errmsg)
    return meaning.fix.format(
        ip=match.group(1) if match else "of this machine",
        instead=", ".join(replacements) or "the newer endpoints",
    )


class WeChatSourceError(Exception):
    """Base of every error this source raises."""


class ConfigurationError(WeChatSourceError, ValueError):
    """A setting is missing, malformed or contradictory; raised before any network call."""

    def __init__(self, key: str, problem: str, fix: str) -> None:
        self.key = key
        self.problem = problem
        self.fix = fix
        super().__init__(f"{key}: {problem}. {fix}")

    def within(self, prefix: str) -> "ConfigurationError":
        """The same error, its key named inside a list entry (`accounts[2].start_date`), and
        the fix pointing at that entry rather than at the single account's section."""
        place = f"the {prefix} entry of {ACCOUNTS_SECTION}"
        return ConfigurationError(
            f"{prefix}.{self.key}", self.problem, self.fix.replace(CONFIG_SECTION, place)
        )

    @classmethod
    def from_dlt(cls, error: ConfigurationException) -> "ConfigurationError":
        """dlt's own configuration error (a value its type coercion refused) as one line that
        names the key; the value is not quoted, as it may be a secret."""
        if isinstance(error, ConfigValueCannotBeCoercedException):
            # Optional[int] (max_calls) is read as int, when it is set at all
            hint = next((a for a in get_args(error.hint) if a is not type(None)), error.hint)
            wanted = _TYPE_WORDS.get(hint, getattr(hint, "__name__", str(hint)))
            return cls(
                error.field_name,
                f"the configured value cannot be read as {wanted}",
                f"Set `{error.field_name}` to {wanted} in {CONFIG_SECTION}",
            )
        if isinstance(error, ConfigFieldMissingException):
            return cls._missing(error)
        return cls("configuration", str(error).splitlines()[0], "See the dlt configuration docs")

    @classmethod
    def _missing(cls, error: ConfigFieldMissingException) -> "ConfigurationError":
        """Settings dlt looked for and did not find (a destination's credentials), by key."""
        keys: List[str] = []
        for name, traces in error.traces.items():
            nested = [trace for trace in traces if isinstance(trace, LookupTraces)]
            if nested:  # a configuration of its own, e.g. `credentials`: its missing fields
                keys += [_key(tried, field) for field, tried in nested[0].traces.items()]
            else:
                keys.append(_key(traces, name))
        if not keys:
            return cls("configuration", "a setting is missing", str(error).splitlines()[0])
        section, _, _ = keys[0].rpartition(".")
        names = ", ".join(key.rpartition(".")[2] for key in dict.fromkeys(keys))
        where = f" under [{section}]" if section else ""
        return cls(
            section or names,
            f"{names} {'is' if len(keys) == 1 else 'are'} not set",
            f"Set {'it' if len(keys) == 1 else 'them'} in .dlt/secrets.toml{where} "
            "(README: Destinations)",
        )


def _key(tried: Sequence[Any], field: str) -> str:
    """`destination.postgres.credentials.password`: the first place dlt looked."""
    sections = next((t.sections for t in tried if isinstance(t, LookupTrace)), [])
    return ".".join([*sections, field])


class WeChatApiError(WeChatSourceError):
    """WeChat answered with a non-zero errcode (or publisher `base_resp.ret`)."""

    def __init__(
        self,
        errcode: int,
        errmsg: str,
        endpoint: str,
        replacements: Sequence[str] = (),
        kind: Optional[ErrorKind] = None,
        hint: Optional[str] = None,
    ) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.endpoint = endpoint
        self.kind = kind or kind_of(errcode)
        hint = hint if hint is not None else explain(errcode, errmsg, replacements)
        self.detail = f"WeChat error {errcode} ({errmsg})" + (f": {hint}" if hint else "")
        """The message without the endpoint it was met on."""
        super().__init__(f"{endpoint}: {self.detail}")


class TransportError(WeChatSourceError):
    """The HTTP exchange failed (network, deadline, HTTP status)."""

    def __init__(
        self,
        endpoint: str,
        problem: str,
        status: Optional[int] = None,
        retry_after: Optional[float] = None,
        transient: bool = False,
    ) -> None:
        self.endpoint = endpoint
        self.status = status
        self.retry_after = retry_after
        self.transient = transient
        """A network fault, a deadline passed or a busy server: asking again may help."""
        super().__init__(f"{endpoint}: {problem}")


class CallBudgetExhausted(WeChatSourceError):
    """The run used up its `max_calls` budget; the next run resumes where this one stopped."""

    def __init__(self, max_calls: int) -> None:
        super().__init__(
            f"the max_calls budget of {max_calls} calls is used up, so the run stopped here; "
            "the next run resumes where it stopped"
        )


class AccountStopped(WeChatSourceError):
    """An earlier call of the run met a problem no call of the account can get past (a
    rejected secret or token, an IP off the whitelist, the daily quota, the run's call budget):
    the account makes no more calls in this run."""

    def __init__(self, cause: WeChatSourceError) -> None:
        self.cause = cause
        super().__init__(str(cause))


class IncompleteRunError(WeChatSourceError):
    """Raised by `raise_on_incomplete`: some endpoint of the run is `partial` or `failed`.
    Its rows before the stop are loaded; the next run resumes there."""

    def __init__(self, problems: Sequence[Tuple[str, str, str]]) -> None:
        self.problems = list(problems)
        """(endpoint, status, message) of each endpoint to rerun."""
        listed = "; ".join(
            f"{endpoint} {status}: {message}" for endpoint, status, message in problems
        )
        super().__init__(
            f"{len(self.problems)} endpoint(s) of the run did not load everything (what they "
            f"fetched before is loaded, and the next run resumes): {listed}"
        )


class PayloadError(WeChatSourceError):
    """A successful response has a shape the source cannot turn into rows."""

    def __init__(self, endpoint: str, problem: str) -> None:
        self.endpoint = endpoint
        super().__init__(f"{endpoint}: unexpected response shape: {problem}")


class UnreadableBody(PayloadError):
    """An answer that is no JSON object; retried like a network fault first (a proxy's error
    page passes), then a payload error like any other, its bytes kept for the raw archive."""

    def __init__(self, endpoint: str, problem: str, content: bytes, final: bool = False) -> None:
        self.content = content
        self.final = final
        """Asking again cannot help (a body nested deeper than can be read)."""
        super().__init__(endpoint, problem)


ACCOUNT_WIDE = frozenset({ErrorKind.ACCOUNT, ErrorKind.QUOTA})
"""Kinds of error after which no call of the account can succeed in the run."""
ACCOUNT_STOPPED = "the account stopped: "
"""How the note of a problem of the whole account begins (`account_problem`)."""


def stops_account(error: Exception) -> bool:
    """Whether `error` ends every call of the account in this run, not only one endpoint's."""
    return isinstance(error, AccountStopped) or error_kind(error) in ACCOUNT_WIDE


def account_problem(error: Exception) -> str:
    """What stopped an account, in the same words whichever endpoint met it first: said once,
    and written alike in every endpoint's `sync_log` row."""
    cause = error.cause if isinstance(error, AccountStopped) else error
    if isinstance(cause, WeChatApiError) and cause.endpoint != TOKEN_LABEL:
        text = cause.detail
    else:
        text = str(cause)
    return f"{ACCOUNT_STOPPED}{text}"


def error_kind(error: Exception) -> ErrorKind:
    """What `error` means for the run: a WeChat error's kind (that of the error which stopped
    the account, for the calls it stopped); anything else is `OTHER`."""
    if isinstance(error, AccountStopped):
        return error_kind(error.cause)
    return error.kind if isinstance(error, WeChatApiError) else ErrorKind.OTHER


def error_code(error: Exception) -> Tuple[Optional[int], str]:
    """The errcode (if WeChat sent one) and message of an error, for sync_log."""
    if isinstance(error, AccountStopped):
        return error_code(error.cause)
    if isinstance(error, WeChatApiError):
        return error.errcode, str(error)
    if isinstance(error, WeChatSourceError):
        return None, str(error)
    # not one of ours: a defect met by one window, said with its type so it can be reported
    return None, f"{type(error).__name__}: {error}"
