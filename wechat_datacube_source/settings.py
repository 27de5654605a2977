"""Constants of the source, in one place (dlt's `settings.py` convention).

Anything a maintainer may need to tune when WeChat changes its behaviour lives here; the
endpoint-specific facts (spans, keys, earliest dates) live in `catalog.py`.
"""

from datetime import date, timedelta, timezone
from typing import Final, FrozenSet, Mapping

DEFAULT_BASE_URL: Final = "https://api.weixin.qq.com"

# ref_date is a China Standard Time calendar day; the docs imply it, third-party tools rely on it.
# A fixed offset is used on purpose: China has no daylight saving time and tzdata may be absent.
BEIJING: Final = timezone(timedelta(hours=8), name="Asia/Shanghai")
# "请于每天上午8点后查询公众号前一天的数据": yesterday is complete from 08:00 Beijing time.
DATA_READY_HOUR: Final = 8

# History floors from the reference (§1.2, §4, §7).
DATACUBE_EARLIEST: Final = date(2014, 12, 1)
PUBLISHED_CONTENT_EARLIEST: Final = date(2025, 11, 1)
PUBLISHER_EARLIEST: Final = date(2016, 1, 1)

# WeChat may still be computing only the newest days: "not ready" (61503, is_delay) is waited
# for on the last complete day and the two before it (for a week or a month: in the week after
# it ended); older, it is an error of the window (unconfirmed: the docs name only yesterday)
NOT_READY_PLAUSIBLE_DAYS: Final[Mapping[str, int]] = {"day": 3, "hour": 3, "week": 7, "month": 7}

# First run without start_date: the 30 days up to the last complete day.
DEFAULT_INITIAL_DAYS: Final = 30
# A first run loads the 30 days up to the last complete day first, for every endpoint; the
# days before them, back to start_date, are history, loaded newest first with what is left of
# the run's calls (and carried on by the next runs)
FRESH_FIRST_DAYS: Final = 30
# Re-fetched on every run unless the catalog says otherwise: numbers of the last days still move.
DEFAULT_REFRESH_DAYS: Final = 3

TOKEN_MODES: Final = ("stable", "classic")

# Token cache: refresh this many seconds before WeChat says the token expires. stable_token
# rotates 5 minutes early and keeps both tokens valid for those 5 minutes, so 300 s is safe.
TOKEN_EXPIRY_MARGIN_SECONDS: Final = 300
# tokens live two hours; an expires_in beyond that, or below a minute (0, negative, not a
# number), is read as the nearest of these
MAX_TOKEN_LIFETIME_SECONDS: Final = 7200.0
MIN_TOKEN_LIFETIME_SECONDS: Final = 60.0

# errcodes and what each means for a run live in one table, `errors.ERRCODES`; HTTP statuses
# worth retrying with backoff:
TRANSIENT_HTTP_STATUSES: Final[FrozenSet[int]] = frozenset({429, 500, 502, 503, 504})

# Retry policy for transient faults (bounded exponential backoff).
DEFAULT_MAX_RETRIES: Final = 5
DEFAULT_BACKOFF_SECONDS: Final = 1.0
MAX_BACKOFF_SECONDS: Final = 30.0
DEFAULT_REQUEST_TIMEOUT_SECONDS: Final = 30.0
# requests of one account in flight at once, across all its endpoints (token fetches included)
DEFAULT_MAX_CONCURRENT_REQUESTS: Final = 8
# upper bounds of the settings: beyond them a value is a typo, not a wish (a pool of 10^8
# connections took 96 s and 968 MB to build before the first call)
MAX_CONCURRENT_REQUESTS_LIMIT: Final = 64
MAX_RETRIES_LIMIT: Final = 20
MAX_REQUEST_TIMEOUT_SECONDS: Final = 600.0
MAX_REQUESTS_PER_SECOND_LIMIT: Final = 1000.0

# the range of a bigint column, and of an errcode
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

# rows per arrow table handed to dlt (per table of an endpoint): big enough that dlt's
# per-item schema work is noise, small enough to keep memory flat on a 10-year backfill
ARROW_BATCH_ROWS: Final = 5000

# publisher/stat pages hold at most 90 rows ("page_size 最大 90").
PUBLISHER_PAGE_SIZE: Final = 90

# keep every committed body in raw_responses (those that fail to parse are kept regardless):
# README, "Raw responses", has the measured cost behind this default
DEFAULT_KEEP_RAW_RESPONSES: Final = True
# a window whose body fails to parse with the same problem on this many runs in a row is set
# aside, so that the endpoint moves on past it (it is retried, one call a run, until it lands)
DEFAULT_SET_ASIDE_AFTER_FAILURES: Final = 3
MAX_SET_ASIDE_AFTER_FAILURES: Final = 100

# the dlt source's name (`@dlt.source(name=...)`), which names its config section: where a
# single account's settings live, and where a list of accounts lives
SOURCE_NAME: Final = "wechat_datacube"
CONFIG_KEY: Final = f"sources.{SOURCE_NAME}"
CONFIG_SECTION: Final = f"[{CONFIG_KEY}]"
ACCOUNTS_KEY: Final = f"{CONFIG_KEY}.accounts"
ACCOUNTS_SECTION: Final = f"[[{ACCOUNTS_KEY}]]"

# the pipeline name, and the prefix of each listed account's pipeline name: it keys every
# user's saved state, so it stays what it is whatever the source is called
PIPELINE_NAME: Final = "wechat_datacube"
