# ruff: noqa: S608 (the only values in the SQL are dates and app_ids quoted by `_text`)
"""What the report shows, read from the loaded dataset: one `AccountReport` per account.

Everything is read through dlt's dataset API (`reading.query`), so the report works on any
destination dlt reads, and on the ready-made views where they answer the question already
(their labels included). A table or view that is not there (the ad tables of an account
without ads, a dataset loaded with `--no-views`) leaves its chart out and says so, rather
than failing the report.

The data-health calendar is built from `sync_log` and the tables' own dates: each run's
loaded ranges (fresh and history) and the days (weeks, months) the table has rows for, the
windows the latest run set aside, and the days the latest run asked for and could not load.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from dlt.destinations.exceptions import DatabaseUndefinedRelation

from .catalog import BY_TABLE
from .errors import ConfigurationError
from .reading import LOADED, TableStatus, account_status, query
from .set_aside import SET_ASIDE_NOTE
from .sync_log import SYNC_LOG_TABLE
from .windows import period_end, period_start

Rows = List[Tuple[Any, ...]]

LOADED_DAY = "loaded"
NOT_READY = "not_ready"
FAILED = "failed"
SET_ASIDE = "set_aside"
NOT_LOADED = "not_loaded"
HEALTH_STATES = (LOADED_DAY, NOT_READY, FAILED, SET_ASIDE, NOT_LOADED)
"""A day of an endpoint, in the order the calendar's legend lists them."""

NOT_READY_DAYS = 3
"""The newest days of a daily endpoint that WeChat may still be computing (reference §1.2)."""

_NO_RUN: Tuple[Any, ...] = (None,) * 11
"""The `sync_log` row of an endpoint whose rows came with no run recorded."""

_WINDOW = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2}) \(")


@dataclass
class AccountReport:
    """One account's data for the report's charts; an empty list is a chart with no data."""

    app_id: str
    first_day: date
    last_day: date
    followers: Rows = field(default_factory=list)
    """(ref_date, followers)"""
    channels: Rows = field(default_factory=list)
    """(ref_date, channel_en, channel_zh, new_user, cancel_user)"""
    top_articles: Rows = field(default_factory=list)
    """(title, published_on, readers_first_7_days, readers_first_30_days)"""
    legacy_articles: Rows = field(default_factory=list)
    """(title, sent_on, readers_first_7_days) from the legacy `article_total`"""
    read_sources: Rows = field(default_factory=list)
    """(source_en, source_zh, readers)"""
    shares: Rows = field(default_factory=list)
    """(ref_date, scene_en, scene_zh, share_count)"""
    messages: Rows = field(default_factory=list)
    """(ref_date, message_type_en, message_type_zh, messages)"""
    message_hours: Rows = field(default_factory=list)
    """(weekday 0 = Monday, hour 0-23, messages)"""
    interface: Rows = field(default_factory=list)
    """(ref_date, callback_count, fail_count, average_ms)"""
    ads: Rows = field(default_factory=list)
    """(date, slot_en, slot_zh, income_yuan)"""
    health: Dict[str, Dict[date, str]] = field(default_factory=dict)
    """endpoint -> day -> one of `HEALTH_STATES`, for every day of the report on which
    WeChat offered the endpoint."""
    problems: List[TableStatus] = field(default_factory=list)
    """The endpoints whose latest run needs a look, with its message."""
    missing: Dict[str, str] = field(default_factory=dict)
    """Each chart's rows (by field name) that could not be read: the table or view they come
    from, which the dataset does not have."""

    @property
    def days(self) -> List[date]:
        return [
            self.first_day + timedelta(days=n)
            for n in range((self.last_day - self.first_day).days + 1)
        ]


def choose_accounts(known: Sequence[str], wanted: Optional[Sequence[str]]) -> List[str]:
    """`wanted` (all of `known` if None) as the dataset spells them, checked before anything
    is read. AppIDs are compared trimmed and ignoring case, as the accounts' settings are."""
    if not known:
        raise ConfigurationError(
            "report",
            "nothing is loaded in this dataset yet",
            "Load first: wechat-datacube demo (or run), then wechat-datacube report",
        )
    if not wanted:
        return list(known)
    spelled = {app_id.lower(): app_id for app_id in known}
    unknown = [app_id for app_id in wanted if app_id.strip().lower() not in spelled]
    if unknown:
        raise ConfigurationError(
            "accounts",
            f"no data for {', '.join(unknown)} in this dataset",
            f"Use accounts that are loaded: {', '.join(known)}",
        )
    return list(dict.fromkeys(spelled[app_id.strip().lower()] for app_id in wanted))


DEFAULT_REPORT_DAYS = 90


def read_report(
    dataset: Any,
    accounts: Optional[Sequence[str]] = None,
    days: int = DEFAULT_REPORT_DAYS,
    last_day: Optional[date] = None,
) -> List[AccountReport]:
    """The report's data for `accounts` (default: every account loaded): up to `days` days
    ending on `last_day`, by default each account's newest day loaded, so that a report of
    data loaded a while ago still shows it. The days stay within those loaded: a `last_day`
    past the newest ends on the newest, and no day before the first loaded is shown (so
    `days` may be as many as wanted, and a new account's calendar is not mostly grey)."""
    if days < 1:
        raise ConfigurationError("days", f"{days} is no number of days", "Give 1 or more")
    # what `status` says, read once: the accounts, how far each is loaded, its problems
    statuses = account_status(dataset)
    reports = []
    for app_id in choose_accounts(list(dict.fromkeys(s.app_id for s in statuses)), accounts):
        own = [status for status in statuses if status.app_id == app_id]
        newest = max((s.loaded_through for s in own if s.loaded_through), default=None)
        if newest is None:
            continue  # (every run of it failed: nothing to show but `status`)
        # (by the daily tables where there are: a month's or week's data starts on its first
        # day, which may be weeks before the first day loaded)
        daily = [s for s in own if BY_TABLE[s.table].grain == "day"] or own
        earliest = min(s.loaded_from or newest for s in daily)
        end = min(last_day, newest) if last_day else newest
        if end < earliest:
            raise ConfigurationError(
                "until",
                f"{last_day} is before the first day loaded for {app_id}, {earliest}",
                f"Give a day from {earliest} to {newest}",
            )
        first = max(end - timedelta(days=days - 1), earliest)
        report = read_account(dataset, app_id, first, end)
        report.problems = [status for status in own if not status.healthy]
        reports.append(report)
    return reports


def read_account(dataset: Any, app_id: str, first_day: date, last_day: date) -> AccountReport:
    """Every chart's rows for `app_id` from `first_day` to `last_day`."""
    report = AccountReport(app_id, first_day, last_day)

    def within(day_column: str = "ref_date", alias: str = "") -> str:
        """The account's rows of the report's days."""
        return (
            f"{alias}app_id = {_text(app_id)} AND {alias}{day_column} "
            f"BETWEEN {_day(first_day)} AND {_day(last_day)}"
        )

    where = within()

    def read(rows: str, name: str, sql: str, optional: bool = False) -> Rows:
        """The query's rows for the report's field `rows`; none when its table or view `name`
        is not in the dataset, which the chart then says, unless it is `optional` (the ad
        tables: an account with no ads never loads them, and their chart says so itself)."""
        try:
            return query(dataset, sql)[1]
        except DatabaseUndefinedRelation:
            if not optional:
                report.missing[rows] = name
            return []

    report.followers = read(
        "followers",
        "v_follower_total",
        f"SELECT ref_date, followers FROM v_follower_total WHERE {where} ORDER BY ref_date",
    )
    report.channels = read(
        "channels",
        "v_net_followers_by_channel",
        "SELECT ref_date, COALESCE(channel, CAST(channel_code AS VARCHAR)), "
        "COALESCE(channel_zh, CAST(channel_code AS VARCHAR)), SUM(new_user), SUM(cancel_user) "
        f"FROM v_net_followers_by_channel WHERE {where} GROUP BY 1, 2, 3 ORDER BY 1, 2",
    )
    report.top_articles = read(
        "top_articles",
        "v_article_first_days",
        "SELECT title, published_on, readers_first_7_days, readers_first_30_days "
        f"FROM v_article_first_days WHERE {within('published_on')} "
        "ORDER BY readers_first_7_days DESC NULLS LAST, published_on DESC LIMIT 10",
    )
    # the legacy family: before 2025-11-01 the only one with articles; WeChat counts each
    # article's readers for 7 days after it was sent (ref_date), cumulative per stat_date
    report.legacy_articles = read(
        "legacy_articles",
        "article_total",
        "SELECT title, ref_date, MAX(int_page_read_user) FROM article_total "
        f"WHERE {where} AND stat_date <= ref_date + 6 GROUP BY msgid, title, ref_date "
        "ORDER BY 3 DESC NULLS LAST, ref_date DESC LIMIT 10",
    )
    report.read_sources = read(
        "read_sources",
        "v_read_source_mix",
        "SELECT COALESCE(source, CAST(source_code AS VARCHAR)), "
        "COALESCE(source_zh, CAST(source_code AS VARCHAR)), SUM(readers) "
        f"FROM v_read_source_mix WHERE {where} GROUP BY 1, 2 ORDER BY 3 DESC",
    )
    report.shares = read(
        "shares",
        "user_share",
        "SELECT s.ref_date, COALESCE(l.label_en, CAST(s.share_scene AS VARCHAR)), "
        "COALESCE(l.label_zh, CAST(s.share_scene AS VARCHAR)), SUM(s.share_count) "
        "FROM user_share AS s LEFT JOIN code_labels AS l ON l.field = 'share_scene' "
        "AND l.code = CAST(s.share_scene AS VARCHAR) "
        f"WHERE {within(alias='s.')} "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2",
    )
    report.messages = read(
        "messages",
        "v_message_volume",
        "SELECT ref_date, COALESCE(message_type, CAST(msg_type AS VARCHAR)), "
        "COALESCE(message_type_zh, CAST(msg_type AS VARCHAR)), SUM(messages) "
        f"FROM v_message_volume WHERE {where} GROUP BY 1, 2, 3 ORDER BY 1, 2",
    )
    # WeChat writes the hour as HHMM (0, 100, ..., 2300)
    report.message_hours = [
        (day.weekday(), int(hour) // 100, count)
        for day, hour, count in read(
            "message_hours",
            "upstream_msg_hour",
            "SELECT ref_date, ref_hour, SUM(msg_count) FROM upstream_msg_hour "
            f"WHERE {where} GROUP BY 1, 2",
        )
        if hour is not None and 0 <= int(hour) // 100 <= 23
    ]
    report.interface = read(
        "interface",
        "interface_summary",
        "SELECT ref_date, callback_count, fail_count, "
        "CASE WHEN callback_count > 0 THEN total_time_cost * 1.0 / callback_count END "
        f"FROM interface_summary WHERE {where} ORDER BY ref_date",
    )
    report.ads = read(
        "ads",
        "v_ad_revenue_by_slot",
        "SELECT date, COALESCE(slot, CAST(ad_slot AS VARCHAR)), "
        "COALESCE(slot_zh, CAST(ad_slot AS VARCHAR)), SUM(income_yuan) "
        f"FROM v_ad_revenue_by_slot WHERE {within('date')} GROUP BY 1, 2, 3 ORDER BY 1, 2",
        optional=True,
    )
    report.health = _health(dataset, app_id, report.days)
    return report


def _days_with_rows(dataset: Any, app_id: str, table: str, days: List[date]) -> Set[date]:
    """The `days` the table has rows of the account for (a week's or month's row covers each
    of its days); none when the table is not in the dataset."""
    endpoint = BY_TABLE[table]
    column = endpoint.date_field
    # (a week or month that began before the first day may cover some of the days)
    since = days[0] - timedelta(days=31 if endpoint.grain != "day" else 0)
    try:
        _, rows = query(
            dataset,
            f"SELECT DISTINCT {column} FROM {table} WHERE app_id = {_text(app_id)} "
            f"AND {column} BETWEEN {_day(since)} AND {_day(days[-1])}",
        )
    except DatabaseUndefinedRelation:
        return set()
    covered: Set[date] = set()
    for (first,) in rows:
        last = first if endpoint.grain == "day" else period_end(first, endpoint.grain)
        covered.update(_span(first, last, days))
    return covered


def _health(dataset: Any, app_id: str, days: List[date]) -> Dict[str, Dict[date, str]]:
    """endpoint -> day -> its state, from every `sync_log` row of the account, and, where
    those leave days unaccounted for, the days its table has rows for (rows loaded by a run
    `sync_log` does not hold). A healthy account's tables need no look at their rows."""
    _, rows = query(
        dataset,
        "SELECT endpoint, status, requested_from, requested_to, fetched_from, fetched_to, "
        "history_from, history_to, message, started_at, run_id "
        f"FROM {SYNC_LOG_TABLE} WHERE app_id = {_text(app_id)} ORDER BY started_at, run_id",
    )
    loaded: Dict[str, Set[date]] = defaultdict(set)
    latest: Dict[str, Tuple[Any, ...]] = {}
    for row in rows:
        endpoint, status, _, _, fetched_from, fetched_to, history_from, history_to = row[:8]
        latest[endpoint] = row
        if status in LOADED:
            loaded[endpoint].update(_span(fetched_from, fetched_to, days))
            loaded[endpoint].update(_span(history_from, history_to, days))
    for table in BY_TABLE:
        unaccounted = [day for day in days if day not in loaded[table]]
        if unaccounted:
            loaded[table].update(_days_with_rows(dataset, app_id, table, unaccounted))
    health: Dict[str, Dict[date, str]] = {}
    for endpoint in (table for table in BY_TABLE if table in latest or loaded[table]):
        _, status, asked_from, asked_to, *_, message, _, _ = latest.get(endpoint, _NO_RUN)
        held = loaded[endpoint]
        newest = max(held, default=None)
        aside = _set_aside_days(message, days)
        asked = set(_span(asked_from, asked_to, days)) if status in ("failed", "partial") else set()
        states: Dict[date, str] = {}
        # (no state before WeChat offered the endpoint: the new published-content family
        # starts on 2025-11-01, and its days before are not missing)
        for day in (day for day in days if day >= BY_TABLE[endpoint].earliest):
            # set aside first: the run that set a day aside reports the range around it as
            # loaded, and the day's rows, if any, are an older answer
            if day in aside:
                states[day] = SET_ASIDE
            elif day in held:
                states[day] = LOADED_DAY
            elif day in asked:
                states[day] = FAILED
            elif newest is not None and day > newest and _unfinished(day, endpoint, days[-1]):
                states[day] = NOT_READY
            else:
                states[day] = NOT_LOADED
        health[endpoint] = states
    return health


def _unfinished(day: date, endpoint: str, last_day: date) -> bool:
    """Whether WeChat may still be computing `day` for `endpoint`: one of the newest days, or
    in a week or month not over by the report's last day."""
    grain = BY_TABLE[endpoint].grain
    if grain in ("week", "month"):
        return period_end(period_start(day, grain), grain) > last_day
    return (last_day - day).days < NOT_READY_DAYS


def _span(first: Optional[date], last: Optional[date], days: Iterable[date]) -> List[date]:
    if first is None or last is None:
        return []
    return [day for day in days if first <= day <= last]


def _set_aside_days(message: Optional[str], days: List[date]) -> Set[date]:
    """The days of the windows the message says are set aside."""
    if not message or SET_ASIDE_NOTE not in message:
        return set()
    listed = message[message.index(SET_ASIDE_NOTE) :]
    aside: Set[date] = set()
    for begin, end in _WINDOW.findall(listed):
        aside.update(_span(date.fromisoformat(begin), date.fromisoformat(end), days))
    return aside


def _text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _day(value: date) -> str:
    return f"DATE '{value.isoformat()}'"
