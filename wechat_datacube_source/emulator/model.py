"""Deterministic, internally consistent synthetic statistics for one account.

Every number is a pure function of (app_id, endpoint, date, key), so any request can be
answered without storing anything and two accounts differ. The numbers agree with each other
the way WeChat's do: cumulative followers follow the daily gains and losses, article totals
are running sums of the daily article numbers and only grow, the all-channels read row is at
least any channel row, week and month rows sum their days, daily interface numbers sum the
hourly ones.
"""

import hashlib
import threading
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Mapping, Tuple

from ..catalog import AD_SLOTS, BY_TABLE
from ..settings import DATACUBE_EARLIEST, PUBLISHED_CONTENT_EARLIEST
from ..windows import period_end

Row = Dict[str, Any]
HOURS = tuple(range(0, 2400, 100))
READ_SCENES = ("公众号消息", "聊天会话", "朋友圈", "公众号主页", "推荐", "搜一搜", "其他")
ARTICLE_TOTAL_DAYS = 7
ARTICLE_DETAIL_DAYS = 30


@lru_cache(maxsize=1 << 17)
def unit(*key: Any) -> float:
    """A reproducible number in [0, 1) for `key`. Cached: cumulative rows ask for the same
    day's numbers again and again (the cache cut an article_total_detail answer by 70 %)."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def integer(low: int, high: int, *key: Any) -> int:
    return low + int(unit(*key) * (high - low + 1))


class AccountModel:
    """All statistics of one synthetic account."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        self.scale = 1 + int(unit(app_id, "scale") * 9)
        # followers at the end of each day since the floor; index 0 is the day before it.
        # Filled on demand by concurrent request threads, hence the lock.
        self._followers: List[int] = []
        self._followers_lock = threading.Lock()

    def user_summary(self, day: date) -> List[Row]:
        rows = []
        for source in (0, 1, 17, 30, 43, 57, 100, 149, 161, 200, 201):
            # the 0 row is always there, even on a quiet day (reference §2.1)
            if source and unit(self.app_id, "follow", day, source) < 0.45:
                continue
            new = integer(0, 40 * self.scale, self.app_id, "new", day, source)
            cancel = integer(0, 15 * self.scale, self.app_id, "cancel", day, source)
            rows.append(
                {
                    "ref_date": day.isoformat(),
                    "user_source": source,
                    "new_user": new,
                    "cancel_user": cancel,
                }
            )
        return rows

    def cumulate(self, day: date) -> int:
        return _cumulate(self, day)

    def user_cumulate(self, day: date) -> List[Row]:
        return [
            {"ref_date": day.isoformat(), "user_source": 0, "cumulate_user": self.cumulate(day)}
        ]

    # articles: a fixed set of broadcasts, each article's daily numbers decay after sending ---

    def articles_sent(self, day: date) -> List[Tuple[str, str, int]]:
        """(msgid, title, publish_type) of the articles sent on `day`."""
        sent = []
        for message in range(integer(0, 2, self.app_id, "broadcasts", day)):
            msg_data_id = 2247480000 + integer(0, 10**6, self.app_id, "msg", day, message)
            for index in range(1, integer(1, 3, self.app_id, "articles", day, message) + 1):
                msgid = f"{msg_data_id}_{index}"
                publish_type = 0 if unit(self.app_id, "notify", msgid) < 0.8 else 1
                sent.append((msgid, f"{day.isoformat()} 推送 {message + 1}-{index}", publish_type))
        return sent

    def article_day(self, msgid: str, sent: date, day: date) -> Dict[str, int]:
        """One article's own numbers on `day` (not cumulative)."""
        age = (day - sent).days
        peak = integer(50, 2000 * self.scale, self.app_id, "peak", msgid)
        reads = int(peak * 0.45**age)
        share = int(reads * 0.06)
        return {
            "int_page_read_user": reads,
            "int_page_read_count": reads + reads // 5,
            "ori_page_read_user": reads // 40,
            "ori_page_read_count": reads // 35,
            "share_user": share,
            "share_count": share + share // 4,
            "add_to_fav_user": reads // 60,
            "add_to_fav_count": reads // 55,
        }

    def live_articles(self, day: date, days: int) -> Iterable[Tuple[date, str, str, int]]:
        """(sent, msgid, title, publish_type) of articles sent within `days` days up to `day`."""
        for back in range(days):
            sent = day - timedelta(days=back)
            if sent < DATACUBE_EARLIEST:
                break
            for msgid, title, publish_type in self.articles_sent(sent):
                yield sent, msgid, title, publish_type

    def article_summary(self, day: date) -> List[Row]:
        rows = []
        for sent, msgid, title, _ in self.live_articles(day, ARTICLE_TOTAL_DAYS):
            numbers = self.article_day(msgid, sent, day)
            activity = sum(
                numbers[k]
                for k in (
                    "int_page_read_user",
                    "ori_page_read_user",
                    "share_user",
                    "share_count",
                    "add_to_fav_count",
                )
            )
            if activity >= 3:  # WeChat only counts articles with at least 3 interactions
                rows.append(
                    {
                        "ref_date": day.isoformat(),
                        "msgid": msgid,
                        "title": title,
                        "user_source": 0,  # undocumented, always 0 (reference §1.3)
                        **numbers,
                    }
                )
        return rows

    def article_total(self, sent: date, through: date) -> List[Row]:
        rows = []
        for msgid, title, _ in self.articles_sent(sent):
            details: List[Row] = []
            running: Dict[str, int] = {}
            for age in range(ARTICLE_TOTAL_DAYS):
                stat = sent + timedelta(days=age)
                if stat > through:
                    break
                for key, value in self.article_day(msgid, sent, stat).items():
                    running[key] = running.get(key, 0) + value
                details.append(
                    {
                        "stat_date": stat.isoformat(),
                        "target_user": self.cumulate(sent),
                        **running,
                        **self._read_scenes(msgid, running),
                    }
                )
            if details:
                rows.append(
                    {
                        "ref_date": sent.isoformat(),
                        "msgid": msgid,
                        "title": title,
                        "user_source": 0,
                        "url": f"https://mp.weixin.qq.com/s?__biz=demo&mid={msgid}#rd",
                        "details": details,
                    }
                )
        return rows

    def _read_scenes(self, msgid: str, totals: Mapping[str, int]) -> Row:
        """Cumulative reads split by scene: each split is a fixed share of a growing total."""
        split: Row = {}
        reads, count = totals["int_page_read_user"], totals["int_page_read_count"]
        for scene, share in (
            ("session", 0.5),
            ("hist_msg", 0.05),
            ("feed", 0.25),
            ("friends", 0.12),
            ("other", 0.03),
            ("kanyikan", 0.03),
            ("souyisou", 0.02),
        ):
            split[f"int_page_from_{scene}_read_user"] = int(reads * share)
            split[f"int_page_from_{scene}_read_count"] = int(count * share)
        shares = totals["share_user"]
        for scene, share in (("session", 0.6), ("feed", 0.3), ("other", 0.1)):
            split[f"feed_share_from_{scene}_user"] = int(shares * share)
            split[f"feed_share_from_{scene}_cnt"] = int(shares * share * 1.1)
        return split

    def _published(self, day: date, days: int) -> Iterable[Tuple[date, str, str, int]]:
        for sent, msgid, title, publish_type in self.live_articles(day, days):
            if sent >= PUBLISHED_CONTENT_EARLIEST:
                yield sent, msgid, title, publish_type

    def _source_list(self, msgid: str, read_user: int) -> List[Row]:
        sources = [{"user_count": read_user, "scene_desc": "全部"}]
        left = read_user
        for scene in READ_SCENES:
            part = int(left * unit(self.app_id, "scene", msgid, scene) * 0.6)
            sources.append({"user_count": part, "scene_desc": scene})
            left -= part
        return sources

    def article_read(self, day: date) -> List[Row]:
        rows = []
        for sent, msgid, _, _ in self._published(day, ARTICLE_DETAIL_DAYS):
            reads = self.article_day(msgid, sent, day)["int_page_read_user"]
            if reads:
                rows.append(
                    {
                        "ref_date": day.isoformat(),
                        "msgid": msgid,
                        "detail": {
                            "read_user": reads,
                            "read_user_source": self._source_list(msgid, reads),
                        },
                    }
                )
        return rows

    def article_share(self, day: date) -> List[Row]:
        rows = []
        for sent, msgid, _, _ in self._published(day, ARTICLE_DETAIL_DAYS):
            shares = self.article_day(msgid, sent, day)["share_user"]
            if shares:
                rows.append(
                    {"ref_date": day.isoformat(), "msgid": msgid, "detail": {"share_user": shares}}
                )
        return rows

    def _engagement(self, numbers: Mapping[str, int]) -> Row:
        reads = numbers["int_page_read_user"]
        return {
            "read_user": reads,
            "share_user": numbers["share_user"],
            "zaikan_user": reads // 30,
            "like_user": reads // 12,
            "comment_count": reads // 90,
            "collection_user": numbers["add_to_fav_user"],
        }

    def biz_summary(self, day: date) -> List[Row]:
        if day < PUBLISHED_CONTENT_EARLIEST:
            return []
        total: Dict[str, int] = {}
        for sent, msgid, _, _ in self._published(day, ARTICLE_DETAIL_DAYS):
            numbers = self.article_day(msgid, sent, day)
            for key, value in {
                **self._engagement(numbers),
                "redirect_ori_page_user": numbers["ori_page_read_user"],
            }.items():
                total[key] = total.get(key, 0) + value
        for key, kind in BY_TABLE["biz_summary"].fields.items():
            if kind == "bigint" and key != "send_page_count":
                total.setdefault(key, 0)
        detail = {
            **total,
            "read_user_source": self._source_list(f"biz{day}", total["read_user"]),
            "send_page_count": len(self.articles_sent(day)),
        }
        return [{"ref_date": day.isoformat(), "detail": detail}]

    def article_total_detail(self, sent: date, through: date) -> List[Row]:
        if sent < PUBLISHED_CONTENT_EARLIEST:
            return []
        rows = []
        for msgid, title, publish_type in self.articles_sent(sent):
            running: Dict[str, int] = {}
            detail_list = []
            for age in range(ARTICLE_DETAIL_DAYS):
                stat = sent + timedelta(days=age)
                if stat > through:
                    break
                for key, value in self._engagement(self.article_day(msgid, sent, stat)).items():
                    running[key] = running.get(key, 0) + value
                reads = running["read_user"]
                detail_list.append(
                    {
                        "stat_date": stat.isoformat(),
                        **running,
                        "read_user_source": self._source_list(msgid, reads),
                        "praise_money": reads // 20 * 100,
                        "read_subscribe_user": reads // 150,
                        "read_delivery_rate": round(reads / max(self.cumulate(sent), 1), 7),
                        "read_finish_rate": round(
                            0.4 + 0.5 * unit(self.app_id, "finish", msgid), 7
                        ),
                        "read_avg_activetime": round(
                            0.5 + 3 * unit(self.app_id, "active", msgid), 7
                        ),
                        "read_jump_position": [
                            {
                                "position": position,
                                "rate": round(unit(self.app_id, "jump", msgid, position) / 5, 7),
                            }
                            for position in range(1, 6)
                        ],
                    }
                )
            if detail_list:
                rows.append(
                    {
                        "ref_date": sent.isoformat(),
                        "msgid": msgid,
                        "publish_type": publish_type,
                        "title": title,
                        "content_url": f"https://mp.weixin.qq.com/s/{msgid}",
                        "detail_list": detail_list,
                    }
                )
        return rows

    def _read_rows(self, day: date, hour: Any) -> List[Row]:
        channels = []
        for source in (0, 1, 2, 4, 5, 6, 7):
            if unit(self.app_id, "readsrc", day, hour, source) < 0.3:
                continue
            reads = integer(0, 300 * self.scale, self.app_id, "read", day, hour, source)
            share = reads // integer(8, 20, self.app_id, "sharediv", day, hour, source)
            channels.append(
                {
                    "user_source": source,
                    "int_page_read_user": reads,
                    "int_page_read_count": reads + reads // 4,
                    "ori_page_read_user": 0,
                    "ori_page_read_count": 0,
                    "share_user": share,
                    "share_count": share + share // 3,
                    "add_to_fav_user": 0,
                    "add_to_fav_count": 0,
                }
            )
        if not channels:
            return []
        # 99999999 is a de-duplicated total: at least any channel, at most their sum
        everything: Row = {"user_source": 99999999}
        for key in ("int_page_read_user", "int_page_read_count", "share_user", "share_count"):
            values = [row[key] for row in channels]
            everything[key] = max(values) + int((sum(values) - max(values)) * 0.7)
        on_hour = hour is not None  # original-page reads and favourites are daily-only
        reads = everything["int_page_read_user"]
        everything.update(
            ori_page_read_user=0 if on_hour else reads // 50,
            ori_page_read_count=0 if on_hour else reads // 45,
            add_to_fav_user=0 if on_hour else reads // 70,
            add_to_fav_count=0 if on_hour else reads // 65,
        )
        prefix: Row = (
            {"ref_date": day.isoformat()}
            if hour is None
            else {"ref_date": day.isoformat(), "ref_hour": hour}
        )
        return [{**prefix, **row} for row in [everything, *channels]]

    def user_read(self, day: date) -> List[Row]:
        return self._read_rows(day, None)

    def user_read_hour(self, day: date) -> List[Row]:
        # total_online_time: undocumented, always 0 (reference §1.3)
        return [
            {**row, "total_online_time": 0} for hour in HOURS for row in self._read_rows(day, hour)
        ]

    def _share_rows(self, day: date, hour: Any) -> List[Row]:
        rows = []
        for scene in (1, 2, 255):
            if unit(self.app_id, "scene", day, hour, scene) < 0.35:
                continue
            users = integer(1, 30 * self.scale, self.app_id, "shareu", day, hour, scene)
            prefix: Row = (
                {"ref_date": day.isoformat()}
                if hour is None
                else {"ref_date": day.isoformat(), "ref_hour": hour}
            )
            rows.append(
                {
                    **prefix,
                    "share_scene": scene,
                    "share_count": users + users // 2,
                    "share_user": users,
                }
            )
        return rows

    def user_share(self, day: date) -> List[Row]:
        return self._share_rows(day, None)

    def user_share_hour(self, day: date) -> List[Row]:
        return [row for hour in HOURS for row in self._share_rows(day, hour)]

    def _msg_rows(self, day: date, hour: Any) -> List[Row]:
        rows = []
        for msg_type in (1, 2, 3, 4, 6):
            if msg_type != 1 and unit(self.app_id, "msgtype", day, hour, msg_type) < 0.5:
                continue
            users = integer(
                0 if hour is not None else 1,
                20 * self.scale,
                self.app_id,
                "msgu",
                day,
                hour,
                msg_type,
            )
            if hour is not None and users == 0:
                continue
            prefix: Row = (
                {"ref_date": day.isoformat()}
                if hour is None
                else {"ref_date": day.isoformat(), "ref_hour": hour}
            )
            rows.append(
                {
                    **prefix,
                    "msg_type": msg_type,
                    "msg_user": users,
                    "msg_count": users * 2 + users // 3,
                }
            )
        return rows

    def upstream_msg(self, day: date) -> List[Row]:
        return self._msg_rows(day, None)

    def upstream_msg_hour(self, day: date) -> List[Row]:
        return [row for hour in HOURS for row in self._msg_rows(day, hour)]

    def upstream_msg_dist(self, day: date) -> List[Row]:
        rows = []
        for interval in (0, 1, 2, 3):
            users = integer(
                0, 60 * self.scale // (interval + 1), self.app_id, "dist", day, interval
            )
            rows.append(
                {
                    "ref_date": day.isoformat(),
                    "count_interval": interval,
                    "msg_user": users,
                    "user_source": 0,
                }
            )
        return rows

    def period_rows(self, daily_name: str, start: date, grain: str, key: str) -> List[Row]:
        """A week or month row per `key` value: the sums of its days, labelled with its start."""
        totals: Dict[Any, Row] = {}
        day = start
        while day <= period_end(start, grain):  # type: ignore[arg-type]
            for row in getattr(self, daily_name)(day):
                total = totals.setdefault(row[key], {"ref_date": start.isoformat(), key: row[key]})
                for name, value in row.items():
                    if name not in ("ref_date", key):
                        total[name] = total.get(name, 0) + value
            day += timedelta(days=1)
        return [totals[code] for code in sorted(totals)]

    def interface_summary_hour(self, day: date) -> List[Row]:
        rows = []
        for hour in HOURS:
            calls = integer(0, 80 * self.scale, self.app_id, "cb", day, hour)
            if not calls:
                continue
            average = integer(100, 600, self.app_id, "avg", day, hour)
            rows.append(
                {
                    "ref_date": day.isoformat(),
                    "ref_hour": hour,
                    "callback_count": calls,
                    "fail_count": calls // integer(20, 200, self.app_id, "fail", day, hour),
                    "total_time_cost": calls * average,
                    "max_time_cost": average * 3 + hour // 100,
                }
            )
        return rows

    def interface_summary(self, day: date) -> List[Row]:
        hours = self.interface_summary_hour(day)
        return [
            {
                "ref_date": day.isoformat(),
                "callback_count": sum(row["callback_count"] for row in hours),
                "fail_count": sum(row["fail_count"] for row in hours),
                "total_time_cost": sum(row["total_time_cost"] for row in hours),
                "max_time_cost": max((row["max_time_cost"] for row in hours), default=0),
            }
        ]

    def publisher_adpos_general(self, day: date) -> List[Row]:
        rows = []
        for position, slot in enumerate(AD_SLOTS):
            requests = integer(1000, 20000 * self.scale, self.app_id, "req", day, slot)
            exposures = int(requests * (0.3 + 0.4 * unit(self.app_id, "exp", day, slot)))
            clicks = int(exposures * 0.05 * unit(self.app_id, "clk", day, slot))
            income = integer(100, 50000, self.app_id, "inc", day, slot)
            rows.append(
                {
                    "slot_id": 3030046789020000 + position,
                    "ad_slot": slot,
                    "date": day.isoformat(),
                    "req_succ_count": requests,
                    "exposure_count": exposures,
                    "exposure_rate": round(exposures / requests, 9),
                    "click_count": clicks,
                    "click_rate": round(clicks / exposures, 9) if exposures else 0.0,
                    "income": income,
                    "ecpm": round(income / exposures * 1000, 9) if exposures else 0.0,
                }
            )
        return rows

    def publisher_cps_general(self, day: date) -> List[Row]:
        exposures = integer(500, 20000, self.app_id, "cpsexp", day)
        clicks = int(exposures * 0.03)
        orders = integer(0, 10, self.app_id, "orders", day)
        fee = orders * integer(1000, 60000, self.app_id, "fee", day)
        return [
            {
                "date": day.isoformat(),
                "exposure_count": exposures,
                "click_count": clicks,
                "click_rate": round(clicks / exposures * 100, 9),
                "order_count": orders,
                "order_rate": round(orders / clicks, 9) if clicks else 0.0,
                "total_fee": fee,
                "total_commission": fee // 7,
            }
        ]

    def publisher_settlement(self, day: date) -> List[Row]:
        """Settlements come on the 5th (last month's second half) and the 20th (first half)."""
        if day.day not in (5, 20):
            return []
        if day.day == 20:
            month, order, zone_days = day, 1, "1日至15日"
        else:
            month, order, zone_days = (day.replace(day=1) - timedelta(days=1)), 2, "16日至月底"
        revenue = integer(10**5, 10**8, self.app_id, "settle", month.year, month.month, order)
        slots = ("SLOT_ID_BIZ_BOTTOM", "SLOT_ID_BIZ_MID_CONTEXT")
        first = int(revenue * 0.6)
        return [
            {
                "date": day.isoformat(),
                "zone": f"{month.year}年{month.month}月{zone_days}",
                "month": f"{month.year}{month.month:02d}",
                "order": order,
                "sett_status": 3,
                "settled_revenue": revenue,
                "sett_no": f"S{month:%Y%m}{order}{integer(1000, 9999, self.app_id, 'sett', month)}",
                "mail_send_cnt": "0",
                "slot_revenue": [
                    {"slot_id": slots[0], "slot_settled_revenue": first},
                    {"slot_id": slots[1], "slot_settled_revenue": revenue - first},
                ],
            }
        ]


def _cumulate(model: AccountModel, day: date) -> int:
    """Followers at the end of `day`: a base plus every day's net gain since the floor."""
    with model._followers_lock:
        return _extend_followers(model, day)


def _extend_followers(model: AccountModel, day: date) -> int:
    totals = model._followers
    if not totals:
        totals.append(1000 * model.scale + integer(0, 5000, model.app_id, "base"))
    index = (day - DATACUBE_EARLIEST).days + 1
    while len(totals) <= index:
        today = DATACUBE_EARLIEST + timedelta(days=len(totals) - 1)
        gain = sum(row["new_user"] - row["cancel_user"] for row in model.user_summary(today))
        totals.append(max(totals[-1] + gain, 0))
    return totals[max(index, 0)]
