"""The endpoint catalog: one declarative row per WeChat statistics endpoint.

Everything else reads this table: the resources (table name, keys, column types, flattening),
the window planner (span, grain, earliest date, refresh window), the emulator (which routes exist,
which spans it enforces, which fields and codes it generates) and the tests. Adding an endpoint
is adding an entry here (plus its official sample in `emulator/samples.py`).

Spans: `spans` are the days per request each version of the docs states (reference §0 and
§11: old and new pages disagree), widest first. The connector asks the widest, shrinks along
the others on `61501` and remembers what WeChat accepted (`spans.py`); it never asks wider
than the first. `api_span` is what the old docs state and what the emulator enforces by
default.
"""

from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Dict, Literal, Mapping, Optional, Sequence, Tuple, Union

from dlt.common.schema.typing import TTableSchemaColumns

from .settings import (
    DATACUBE_EARLIEST,
    DEFAULT_REFRESH_DAYS,
    PUBLISHED_CONTENT_EARLIEST,
    PUBLISHER_EARLIEST,
)

ColumnType = Literal["bigint", "double", "text", "date"]
Grain = Literal["day", "hour", "week", "month"]
Group = Literal["user", "article", "published", "message", "interface", "publisher"]
Code = Union[int, str]


@dataclass(frozen=True)
class Child:
    """A nested list that becomes a table of its own, one row per element.

    Its key is the parent's key plus the element's own, so it joins on natural keys and merges
    like its parent (dlt's generated child tables are avoided: a crash-retried load duplicates
    the parent rows of a merge table that has them, a dlt defect).
    """

    list_field: str
    key: Tuple[str, ...]
    fields: Mapping[str, ColumnType]
    """The element's fields (its key included) and their column types."""

    def __post_init__(self) -> None:
        if any(self.fields[name] not in ("text", "bigint") for name in self.key):
            # an element of unknown shape is keyed by its position (transforms.py)
            raise ValueError(f"{self.list_field}: a child key is text or bigint")


READ_USER_SOURCE = Child(
    "read_user_source", ("scene_desc",), {"scene_desc": "text", "user_count": "bigint"}
)
READ_JUMP_POSITION = Child(
    "read_jump_position", ("position",), {"position": "bigint", "rate": "double"}
)
SLOT_REVENUE = Child(
    "slot_revenue", ("slot_id",), {"slot_id": "text", "slot_settled_revenue": "bigint"}
)


@dataclass(frozen=True)
class Span:
    """Days per request one source allows, and which source says so."""

    days: int
    source: str


@dataclass(frozen=True)
class Endpoint:
    """One statistics endpoint and everything the connector needs to know about it."""

    api_name: str
    """`getusersummary` for datacube; the `action` for publisher/stat."""
    table: str
    group: Group
    spans: Tuple[Span, ...]
    """Inclusive days per request the sources allow, widest first (period grains: the days
    from the first period's first day to the last one's)."""
    api_span: Optional[int]
    """Inclusive days the documented API accepts (emulator default); None: not limited."""
    grain: Grain
    primary_key: Tuple[str, ...]
    """Natural key of one row, without `app_id` (always prepended). It holds `date_field`,
    even where other fields already identify the row (a msgid's send date never changes):
    the merge deletes rows matching the key or the date merged on, and only a condition the
    two share lets the destination join on the date; with `app_id` alone DuckDB compared
    every stored row with every new one (8 s for one daily run of a one-year table)."""
    fields: Mapping[str, ColumnType]
    """Documented scalar fields of a flattened row and their column types."""
    earliest: date
    date_field: str = "ref_date"
    refresh_days: int = DEFAULT_REFRESH_DAYS
    list_key: str = "list"
    unwrap: Optional[str] = None
    """Name of a nested object whose fields are lifted into the row (`detail`)."""
    explode: Optional[str] = None
    """Name of a nested list that becomes one row per element, carrying the parent fields."""
    response_fields: Tuple[str, ...] = ()
    """Top-level response fields copied into every row (publisher_settlement)."""
    children: Tuple[Child, ...] = ()
    dimensions: Mapping[str, Tuple[Code, ...]] = field(default_factory=dict)
    """Enumerated fields and the codes the emulator generates for them."""
    has_is_delay: bool = False
    replacements: Tuple[str, ...] = ()
    """Tables that replace this endpoint when WeChat retires it (47009)."""
    default_selected: bool = True
    max_rows_per_day: int = 0
    """Publisher endpoints: the most rows one day can have, which bounds paging."""
    key_defaults: Mapping[str, Code] = field(default_factory=dict)
    """Key fields an older documented shape omits, and the value that stands for the omitted
    one (`getuserread` rows of the pre-2020 docs carry no `user_source`: each is the day's
    all-channel row, which the newer shape labels 99999999)."""
    aliases: Mapping[str, str] = field(default_factory=dict)
    """Other spellings of a declared field in circulation → the declared field."""
    summary_fields: Mapping[str, ColumnType] = field(default_factory=dict)
    """Publisher endpoints: the fields of the answer's `summary`, WeChat's own totals of the
    window, which land in `summary_table` with `total_num`."""

    def __post_init__(self) -> None:
        if self.date_field not in self.primary_key:
            raise ValueError(f"{self.table}: the primary key must hold {self.date_field}")
        days = [span.days for span in self.spans]
        if not days or days != sorted(set(days), reverse=True) or days[-1] < 1:
            raise ValueError(f"{self.table}: spans are distinct and positive, widest first")

    @property
    def widest_span(self) -> int:
        """The widest span any source states: where the connector starts, and its ceiling."""
        return self.spans[0].days

    def narrower_span(self, days: int) -> int:
        """The span to try after WeChat refused a request of `days` days: the next source's,
        or half of it once no source states less (never below 1)."""
        narrower = [span.days for span in self.spans if span.days < days]
        return narrower[0] if narrower else max(1, days // 2)

    @property
    def is_publisher(self) -> bool:
        return self.group == "publisher"

    @property
    def path(self) -> str:
        return "/publisher/stat" if self.is_publisher else f"/datacube/{self.api_name}"

    @property
    def summary_table(self) -> Optional[str]:
        """Where a publisher answer's window-level fields land: one row per requested window."""
        return f"{self.table}__summary" if self.is_publisher else None

    def child_table(self, child: Child) -> str:
        return f"{self.table}__{child.list_field}"

    def child_key(self, child: Child) -> Tuple[str, ...]:
        """A child row's natural key, without `app_id`: its parent's key, then its own."""
        return (*self.primary_key, *child.key)


SUMMARY_KEY = ("requested_from", "requested_to")
"""A summary row's key, without `app_id`: the window it sums up."""
SUMMARY_FIELDS: Dict[str, ColumnType] = {
    "requested_from": "date",
    "requested_to": "date",
    "total_num": "bigint",
}


def table_columns(endpoint: Endpoint) -> Dict[str, TTableSchemaColumns]:
    """Column hints of the endpoint's table, its child tables and its summary table, by name.

    `app_id` and the key come first: dlt orders compound keys by column order. The date
    merged on is never null either (the transforms refuse such a row), and dlt makes it
    non-null as a merge key.
    """
    columns = {endpoint.table: _columns(endpoint.primary_key, endpoint.fields)}
    for child in endpoint.children:
        parent = {name: endpoint.fields[name] for name in endpoint.primary_key}
        columns[endpoint.child_table(child)] = _columns(
            endpoint.child_key(child), {**parent, **child.fields}
        )
    for hints in columns.values():
        hints[endpoint.date_field]["nullable"] = False
    if endpoint.summary_table is not None:
        columns[endpoint.summary_table] = _columns(
            SUMMARY_KEY,
            {**SUMMARY_FIELDS, **endpoint.summary_fields},
        )
    return columns


def _columns(key: Sequence[str], fields: Mapping[str, ColumnType]) -> TTableSchemaColumns:
    columns: TTableSchemaColumns = {"app_id": {"data_type": "text", "nullable": False}}
    for name in key:
        columns[name] = {"data_type": fields[name], "nullable": False}
    for name, data_type in fields.items():
        columns.setdefault(name, {"data_type": data_type})
    return columns


def _counts(*names: str) -> Dict[str, ColumnType]:
    return {name: "bigint" for name in names}


FOLLOW_SOURCES: Tuple[Code, ...] = (0, 1, 17, 30, 43, 57, 100, 149, 161, 200, 201)
READ_SOURCES: Tuple[Code, ...] = (99999999, 0, 1, 2, 4, 5, 6, 7)
# "全部" (all channels): what a reading row of the older shape, which has no user_source, is
_ALL_READ_CHANNELS: Mapping[str, Code] = {"user_source": 99999999}
SHARE_SCENES: Tuple[Code, ...] = (1, 2, 255)
MSG_TYPES: Tuple[Code, ...] = (1, 2, 3, 4, 6)
COUNT_INTERVALS: Tuple[Code, ...] = (0, 1, 2, 3)
AD_SLOTS: Tuple[Code, ...] = (
    "SLOT_ID_BIZ_BOTTOM",
    "SLOT_ID_BIZ_MID_CONTEXT",
    "SLOT_ID_BIZ_VIDEO_END",
    "SLOT_ID_BIZ_SPONSOR",
    "SLOT_ID_BIZ_CPS",
)

_READ_METRICS = _counts(
    "int_page_read_user",
    "int_page_read_count",
    "ori_page_read_user",
    "ori_page_read_count",
    "share_user",
    "share_count",
    "add_to_fav_user",
    "add_to_fav_count",
)
_ARTICLE_TOTAL_DETAIL_METRICS = {
    "target_user": "bigint",
    **_READ_METRICS,
    **_counts(
        *(
            f"int_page_from_{scene}_read_{unit}"
            for scene in ("session", "hist_msg", "feed", "friends", "other", "kanyikan", "souyisou")
            for unit in ("user", "count")
        ),
        *(
            f"feed_share_from_{scene}_{unit}"
            for scene in ("session", "feed", "other")
            for unit in ("user", "cnt")
        ),
    ),
}
_PUBLISHED_METRICS = _counts(
    "read_user",
    "share_user",
    "zaikan_user",
    "like_user",
    "comment_count",
    "collection_user",
)
_MSG = _counts("msg_type", "msg_user", "msg_count")
_MSG_DIST = _counts("count_interval", "msg_user")
_INTERFACE = _counts("callback_count", "fail_count", "total_time_cost", "max_time_cost")
_ADPOS_METRICS: Dict[str, ColumnType] = {
    **_counts("req_succ_count", "exposure_count", "click_count", "income"),
    "exposure_rate": "double",
    "click_rate": "double",
    "ecpm": "double",
}
_CPS_METRICS: Dict[str, ColumnType] = {
    **_counts("exposure_count", "click_count", "order_count", "total_fee", "total_commission"),
    "click_rate": "double",
    "order_rate": "double",
}
_DAY: Dict[str, ColumnType] = {"ref_date": "date"}
_HOUR: Dict[str, ColumnType] = {"ref_date": "date", "ref_hour": "bigint"}

# where each span comes from (reference §0, §11 and §13)
OLD_DOCS = "old docs"
OLD_DOCS_WXJAVA = "old docs, WxJava"
CURRENT_DOCS = "current docs"
BOTH_DOCS = "old and current docs"
THIRD_PARTY_CLI = "a 2026 third-party CLI"
AD_DOCS = "ad docs"
ONE_PERIOD = "current docs: one period a request (必须为同一天)"
_BOTH_7 = (Span(7, BOTH_DOCS),)

# one constructor per endpoint family, so each entry below states only what is its own
_user = partial(Endpoint, group="user", earliest=DATACUBE_EARLIEST)
_legacy_article = partial(Endpoint, group="article", earliest=DATACUBE_EARLIEST)
_published = partial(
    Endpoint, group="published", earliest=PUBLISHED_CONTENT_EARLIEST, has_is_delay=True
)
_message = partial(Endpoint, group="message", earliest=DATACUBE_EARLIEST)
# week and month endpoints: periods asked by their first days, as many as the old docs' 30
# days hold, down to one per request, begin = end = its first day, which satisfies the new
# pages' "必须为同一天" (must be the same day); a period's numbers are final once it is
# served, so nothing is re-fetched
_message_period = partial(
    _message, spans=(Span(30, OLD_DOCS), Span(1, ONE_PERIOD)), api_span=30, refresh_days=0
)
# the distribution periods: 30 days in the old docs, 15 in the current ones
_message_dist_period = partial(
    _message_period, spans=(Span(30, OLD_DOCS), Span(15, CURRENT_DOCS), Span(1, ONE_PERIOD))
)
# the wechatpy fixture (and code copied from it) spells max_time_cost `max_time_count`
_interface = partial(
    Endpoint,
    group="interface",
    earliest=DATACUBE_EARLIEST,
    aliases={"max_time_count": "max_time_cost"},
)
_publisher = partial(
    Endpoint,
    group="publisher",
    earliest=PUBLISHER_EARLIEST,
    date_field="date",
    default_selected=False,
)

ENDPOINTS: Tuple[Endpoint, ...] = (
    _user(
        api_name="getusersummary",
        table="user_summary",
        spans=_BOTH_7,
        api_span=7,
        grain="day",
        primary_key=("ref_date", "user_source"),
        fields={**_DAY, **_counts("user_source", "new_user", "cancel_user")},
        dimensions={"user_source": FOLLOW_SOURCES},
    ),
    _user(
        api_name="getusercumulate",
        table="user_cumulate",
        spans=_BOTH_7,
        api_span=7,
        grain="day",
        primary_key=("ref_date",),
        fields={**_DAY, **_counts("cumulate_user")},
    ),
    # legacy article endpoints: deprecated by WeChat, replaced by the published-content family
    _legacy_article(
        api_name="getarticlesummary",
        table="article_summary",
        spans=(Span(1, OLD_DOCS),),
        api_span=1,
        grain="day",
        primary_key=("ref_date", "msgid"),
        fields={**_DAY, "msgid": "text", "title": "text", **_READ_METRICS},
        replacements=("article_read", "article_share"),
    ),
    _legacy_article(
        # ref_date is the send date; details[] hold cumulative numbers for 7 days after it
        api_name="getarticletotal",
        table="article_total",
        spans=(Span(1, OLD_DOCS),),
        api_span=1,
        grain="day",
        primary_key=("ref_date", "msgid", "stat_date"),
        fields={
            **_DAY,
            "msgid": "text",
            "title": "text",
            "url": "text",
            "stat_date": "date",
            **_ARTICLE_TOTAL_DETAIL_METRICS,
        },
        refresh_days=7,
        explode="details",
        replacements=("article_total_detail",),
    ),
    _legacy_article(
        api_name="getuserread",
        table="user_read",
        spans=(Span(3, OLD_DOCS_WXJAVA), Span(1, THIRD_PARTY_CLI)),
        api_span=3,
        grain="day",
        primary_key=("ref_date", "user_source"),
        fields={**_DAY, "user_source": "bigint", **_READ_METRICS},
        dimensions={"user_source": READ_SOURCES},
        key_defaults=_ALL_READ_CHANNELS,
        replacements=("biz_summary",),
    ),
    _legacy_article(
        api_name="getuserreadhour",
        table="user_read_hour",
        spans=(Span(1, OLD_DOCS),),
        api_span=1,
        grain="hour",
        primary_key=("ref_date", "ref_hour", "user_source"),
        fields={**_HOUR, "user_source": "bigint", **_READ_METRICS},
        dimensions={"user_source": READ_SOURCES},
        key_defaults=_ALL_READ_CHANNELS,
        replacements=("biz_summary",),
    ),
    _legacy_article(
        api_name="getusershare",
        table="user_share",
        spans=(Span(7, OLD_DOCS_WXJAVA), Span(1, THIRD_PARTY_CLI)),
        api_span=7,
        grain="day",
        primary_key=("ref_date", "share_scene"),
        fields={**_DAY, **_counts("share_scene", "share_count", "share_user")},
        dimensions={"share_scene": SHARE_SCENES},
        replacements=("article_share", "biz_summary"),
    ),
    _legacy_article(
        api_name="getusersharehour",
        table="user_share_hour",
        spans=(Span(1, OLD_DOCS),),
        api_span=1,
        grain="hour",
        primary_key=("ref_date", "ref_hour", "share_scene"),
        fields={**_HOUR, **_counts("share_scene", "share_count", "share_user")},
        dimensions={"share_scene": SHARE_SCENES},
        replacements=("article_share", "biz_summary"),
    ),
    _published(
        api_name="getarticleread",
        table="article_read",
        spans=(Span(1, CURRENT_DOCS),),
        api_span=1,
        grain="day",
        primary_key=("ref_date", "msgid"),
        fields={**_DAY, "msgid": "text", **_counts("read_user")},
        unwrap="detail",
        children=(READ_USER_SOURCE,),
    ),
    _published(
        api_name="getarticleshare",
        table="article_share",
        spans=(Span(1, CURRENT_DOCS),),
        api_span=1,
        grain="day",
        primary_key=("ref_date", "msgid"),
        fields={**_DAY, "msgid": "text", **_counts("share_user")},
        unwrap="detail",
    ),
    _published(
        api_name="getbizsummary",
        table="biz_summary",
        spans=(Span(30, CURRENT_DOCS),),
        api_span=30,
        grain="day",
        primary_key=("ref_date",),
        fields={
            **_DAY,
            **_PUBLISHED_METRICS,
            **_counts("redirect_ori_page_user", "send_page_count"),
        },
        unwrap="detail",
        children=(READ_USER_SOURCE,),
    ),
    _published(
        # ref_date is the publish date; detail_list[] is cumulative for 30 days after it.
        # The 1-day span is quoted by SDKs, not read on the official page (reference §4.4).
        api_name="getarticletotaldetail",
        table="article_total_detail",
        spans=(Span(1, "SDKs quoting the current docs"),),
        api_span=1,
        grain="day",
        primary_key=("ref_date", "msgid", "stat_date"),
        fields={
            **_DAY,
            "msgid": "text",
            "publish_type": "bigint",
            "title": "text",
            "content_url": "text",
            "stat_date": "date",
            **_PUBLISHED_METRICS,
            **_counts("praise_money", "read_subscribe_user"),
            "read_delivery_rate": "double",
            "read_finish_rate": "double",
            "read_avg_activetime": "double",
        },
        refresh_days=30,
        explode="detail_list",
        dimensions={"publish_type": (0, 1)},
        children=(READ_USER_SOURCE, READ_JUMP_POSITION),
    ),
    _message(
        api_name="getupstreammsg",
        table="upstream_msg",
        spans=_BOTH_7,
        api_span=7,
        grain="day",
        primary_key=("ref_date", "msg_type"),
        fields={**_DAY, **_MSG},
        dimensions={"msg_type": MSG_TYPES},
    ),
    _message(
        api_name="getupstreammsghour",
        table="upstream_msg_hour",
        spans=(Span(1, BOTH_DOCS),),
        api_span=1,
        grain="hour",
        primary_key=("ref_date", "ref_hour", "msg_type"),
        fields={**_HOUR, **_MSG},
        dimensions={"msg_type": MSG_TYPES},
    ),
    _message_period(
        api_name="getupstreammsgweek",
        table="upstream_msg_week",
        grain="week",
        primary_key=("ref_date", "msg_type"),
        fields={**_DAY, **_MSG},
        dimensions={"msg_type": MSG_TYPES},
    ),
    _message_period(
        api_name="getupstreammsgmonth",
        table="upstream_msg_month",
        grain="month",
        primary_key=("ref_date", "msg_type"),
        fields={**_DAY, **_MSG},
        dimensions={"msg_type": MSG_TYPES},
    ),
    _message(
        api_name="getupstreammsgdist",
        table="upstream_msg_dist",
        spans=(Span(15, BOTH_DOCS),),
        api_span=15,
        grain="day",
        primary_key=("ref_date", "count_interval"),
        fields={**_DAY, **_MSG_DIST},
        dimensions={"count_interval": COUNT_INTERVALS},
    ),
    _message_dist_period(
        api_name="getupstreammsgdistweek",
        table="upstream_msg_dist_week",
        grain="week",
        primary_key=("ref_date", "count_interval"),
        fields={**_DAY, **_MSG_DIST},
        dimensions={"count_interval": COUNT_INTERVALS},
    ),
    _message_dist_period(
        api_name="getupstreammsgdistmonth",
        table="upstream_msg_dist_month",
        grain="month",
        primary_key=("ref_date", "count_interval"),
        fields={**_DAY, **_MSG_DIST},
        dimensions={"count_interval": COUNT_INTERVALS},
    ),
    _interface(
        api_name="getinterfacesummary",
        table="interface_summary",
        spans=(Span(30, BOTH_DOCS),),
        api_span=30,
        grain="day",
        primary_key=("ref_date",),
        fields={**_DAY, **_INTERFACE},
    ),
    _interface(
        api_name="getinterfacesummaryhour",
        table="interface_summary_hour",
        spans=(Span(1, BOTH_DOCS),),
        api_span=1,
        grain="hour",
        primary_key=("ref_date", "ref_hour"),
        fields={**_HOUR, **_INTERFACE},
    ),
    _publisher(
        api_name="publisher_adpos_general",
        table="publisher_adpos_general",
        # a row per ad slot and day: five slots are documented, room is left for new ones
        max_rows_per_day=20,
        spans=(Span(90, AD_DOCS),),
        api_span=90,
        grain="day",
        primary_key=("date", "ad_slot"),
        fields={"date": "date", "ad_slot": "text", "slot_id": "bigint", **_ADPOS_METRICS},
        summary_fields=_ADPOS_METRICS,
        dimensions={"ad_slot": AD_SLOTS},
    ),
    _publisher(
        api_name="publisher_cps_general",
        table="publisher_cps_general",
        max_rows_per_day=2,  # one row a day
        spans=(Span(60, AD_DOCS),),
        api_span=60,
        grain="day",
        primary_key=("date",),
        fields={"date": "date", **_CPS_METRICS},
        summary_fields=_CPS_METRICS,
    ),
    _publisher(
        # the docs state no span for settlements; 90 days keeps each call as small as adpos's
        api_name="publisher_settlement",
        table="publisher_settlement",
        # settlements come twice a month; their rows' semantics are unconfirmed, hence room
        max_rows_per_day=10,
        spans=(Span(90, "none stated: the connector's choice"),),
        api_span=None,
        grain="day",
        primary_key=("date", "month", "order"),
        fields={
            "month": "text",
            "order": "bigint",
            "date": "date",
            "zone": "text",
            "sett_no": "text",
            "body": "text",
            **_counts(
                "sett_status",
                "settled_revenue",
                "mail_send_cnt",
                "revenue_all",
                "penalty_all",
                "settled_revenue_all",
            ),
        },
        list_key="settlement_list",
        children=(SLOT_REVENUE,),
        response_fields=("body", "revenue_all", "penalty_all", "settled_revenue_all"),
        refresh_days=31,
    ),
)

BY_TABLE: Mapping[str, Endpoint] = {endpoint.table: endpoint for endpoint in ENDPOINTS}
BY_API_NAME: Mapping[str, Endpoint] = {endpoint.api_name: endpoint for endpoint in ENDPOINTS}
DEFAULT_TABLES: Tuple[str, ...] = tuple(e.table for e in ENDPOINTS if e.default_selected)
AD_TABLES: Tuple[str, ...] = tuple(e.table for e in ENDPOINTS if not e.default_selected)
