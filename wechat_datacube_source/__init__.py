"""WeChat Official Account statistics (datacube and publisher ad stats) as a dlt source.

Every statistics endpoint becomes one incrementally loaded, merge-keyed table; README.md has
the table catalogue, the settings and what each sync_log status asks of the user.

    import dlt
    from wechat_datacube_source import raise_on_incomplete, wechat_datacube

    pipeline = dlt.pipeline("wechat_datacube", destination="duckdb", dataset_name="wechat")
    load_info = pipeline.run(wechat_datacube())
    raise_on_incomplete(pipeline, load_info)  # if some endpoint is partial or failed

Many accounts share a dataset through `account_sources()`: a list of a source, and a
pipeline name that keeps its own state, per account (accounts.py says why).
"""

import inspect
import warnings
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, Iterator, List, Mapping, Optional, Sequence, Union

import dlt
from dlt.common.configuration.exceptions import ConfigurationException
from dlt.common.typing import TSecretStrValue
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource

from .account_run import AccountRun, RunScope
from .accounts import account_settings, configured_accounts, pipeline_name_for
from .catalog import ENDPOINTS, Endpoint
from .clock import last_complete_day
from .config import SourceConfig, validate
from .day_merges import scope_day_merges
from .errors import (
    ConfigurationError,
    IncompleteRunError,
    PayloadError,
    TransportError,
    WeChatApiError,
    WeChatSourceError,
)
from .labels import CODE_LABEL_COLUMNS, CODE_LABELS_TABLE, code_labels
from .resources import declare_tables, endpoint_rows
from .run_summary import raise_on_incomplete
from .settings import (
    ACCOUNTS_SECTION,
    DEFAULT_BACKOFF_SECONDS,
    DEFAULT_BASE_URL,
    DEFAULT_KEEP_RAW_RESPONSES,
    DEFAULT_MAX_CONCURRENT_REQUESTS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    DEFAULT_SET_ASIDE_AFTER_FAILURES,
    SOURCE_NAME,
)
from .version import __version__
from .windows import first_label

__all__ = [
    "wechat_datacube",
    "account_sources",
    "wechat_datacube_accounts",
    "AccountSource",
    "raise_on_incomplete",
    "scope_day_merges",
    "ENDPOINTS",
    "ConfigurationError",
    "IncompleteRunError",
    "PayloadError",
    "TransportError",
    "WeChatApiError",
    "WeChatSourceError",
    "__version__",
]

DateLike = Union[str, date, None]


# nesting 0: every list WeChat documents becomes an explicit child table (catalog.Child); any
# nested value it adds later lands as a JSON column instead of an unkeyed dlt child table
@dlt.source(name=SOURCE_NAME, max_table_nesting=0)
def wechat_datacube(
    app_id: Optional[str] = dlt.config.value,
    app_secret: Optional[TSecretStrValue] = dlt.secrets.value,
    access_token: Optional[TSecretStrValue] = None,
    base_url: str = DEFAULT_BASE_URL,
    start_date: DateLike = None,
    end_date: DateLike = None,
    token_mode: str = "stable",
    include_ad_stats: bool = False,
    resources: Optional[Sequence[str]] = None,
    max_retries: int = DEFAULT_MAX_RETRIES,
    retry_backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
    max_concurrent_requests: int = DEFAULT_MAX_CONCURRENT_REQUESTS,
    max_requests_per_second: Optional[float] = None,
    max_calls: Optional[int] = None,
    keep_raw_responses: bool = DEFAULT_KEEP_RAW_RESPONSES,
    set_aside_after_failures: int = DEFAULT_SET_ASIDE_AFTER_FAILURES,
) -> Iterator[DltResource]:
    """All statistics tables of one Official Account, plus `code_labels` and `sync_log`.

    Args:
        app_id: the account's AppID; every row carries it.
        app_secret: the AppSecret, used to fetch tokens (`.dlt/secrets.toml`).
        access_token: a token managed elsewhere (central token service); then no token
            endpoint is ever called. Give either this or `app_secret`.
        base_url: the API host; tests and the demo point it at the emulator.
        start_date: first day to load on the first run (default: 30 days back).
        end_date: inclusive last day; set it for a bounded backfill of start_date..end_date
            that leaves incremental state untouched.
        token_mode: "stable" (cgi-bin/stable_token, default) or "classic" (cgi-bin/token,
            which invalidates tokens held by other systems).
        include_ad_stats: also select the three publisher_* ad tables (ad-revenue accounts).
        resources: exact table names to select instead of the defaults.
        max_retries: retries of a call on transient faults (-1, 45011, 429, 5xx, network),
            at most 20.
        retry_backoff_seconds: first backoff; it doubles per retry (at most 30).
        request_timeout_seconds: the longest one HTTP request may take in all, from connecting
            to the last byte of the answer (at most 600).
        max_concurrent_requests: requests of the account in flight at once, across all its
            endpoints (each endpoint fetches windows ahead within this limit); 1 to 64.
        max_requests_per_second: an optional cap on the account's request rate.
        max_calls: an optional budget of requests for the run; when it is used up the run
            stops cleanly and the next one resumes there.
        keep_raw_responses: keep every body a run commits in `raw_responses`, compressed, so
            the tables can be rebuilt with no API call (bodies that fail to parse are kept
            either way).
        set_aside_after_failures: a window whose body fails to parse the same way on this
            many runs in a row is set aside so that the endpoint moves on (1 to 100).
    """
    # the arguments by parameter name: the first statement, so nothing else is defined yet
    config = validate(dict(locals()), last_complete_day())
    scope = RunScope(partial(AccountRun.start, config))
    yield dlt.resource(
        code_labels,
        name=CODE_LABELS_TABLE,
        write_disposition="replace",
        columns=CODE_LABEL_COLUMNS,
    )()
    for endpoint in ENDPOINTS:
        yield _endpoint_resource(endpoint, scope, config)


def _endpoint_resource(endpoint: Endpoint, scope: RunScope, config: SourceConfig) -> DltResource:
    # a week or month row is labelled with its first day, which may precede start_date
    initial = first_label(endpoint, config.start_date)
    if config.end_date is not None:
        # a backfill that ends before the endpoint's floor plans no window, but dlt refuses an
        # initial value after the end value
        initial = min(initial, config.end_date)
    # dlt's cursor gives the range and shows how far the endpoint is committed; the resource
    # keeps its own watermark and turns dlt's filter off (resources.py: "Two cursors")
    cursor = dlt.sources.incremental(
        endpoint.date_field,
        initial_value=initial,
        end_value=config.end_date,
        range_end="closed",
        on_cursor_value_missing="include",
    )
    resource = dlt.resource(
        endpoint_rows,
        name=endpoint.table,
        write_disposition="merge",
        selected=endpoint.table in config.tables,
    )(endpoint, scope, cursor)
    declare_tables(resource, endpoint)
    return resource


@dataclass(frozen=True)
class AccountSource:
    """One account of many: its source, and the pipeline name that keeps its state."""

    app_id: str
    pipeline_name: str
    source: DltSource


def account_sources(
    accounts: Optional[Sequence[Mapping[str, Any]]] = None, **settings: Any
) -> List[AccountSource]:
    """A source per account of `[[sources.wechat_datacube.accounts]]` (or of `accounts`).

    Run each in its own pipeline (`pipeline_name`) with the same destination and dataset
    name: every account keeps its own incremental state, and one account's failure (a bad
    secret, its daily quota) leaves the others' loads alone. `settings` apply to every
    account and win over the entries. Every account is checked before any network call.
    """
    entries = configured_accounts() if accounts is None else accounts
    if entries is None:
        raise ConfigurationError(
            "accounts",
            "is not set",
            f"List each account as a {ACCOUNTS_SECTION} table in "
            ".dlt/secrets.toml, with app_id and app_secret (or access_token)",
        )
    allowed = inspect.signature(wechat_datacube).parameters
    sources = []
    for index, account in enumerate(account_settings(entries, allowed)):
        try:
            source = wechat_datacube(**{**account, **settings})
        except ConfigurationError as error:
            raise error.within(f"accounts[{index}]") from None
        except ConfigurationException as error:
            # dlt coerces only what it looked up itself: the shared settings, not the entry's
            raise ConfigurationError.from_dlt(error) from None
        app_id = account["app_id"]
        sources.append(AccountSource(app_id, pipeline_name_for(app_id), source))
    return sources


def wechat_datacube_accounts(
    accounts: Optional[Sequence[Mapping[str, Any]]] = None, **settings: Any
) -> List[AccountSource]:
    """The former name of `account_sources`, which it calls: it read like a dlt source, and
    returns a list. Kept for code written against 0.1.0; to be removed in 0.3.0."""
    warnings.warn(
        "wechat_datacube_accounts() is now account_sources(); the old name goes in 0.3.0",
        DeprecationWarning,
        stacklevel=2,
    )
    return account_sources(accounts, **settings)
