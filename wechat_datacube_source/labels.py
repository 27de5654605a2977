"""Labels for the enumerated codes, loaded as the `code_labels` reference table.

`field` names the column a code belongs to; `user_source` means a follow channel in
user_summary and a read channel in user_read*, so those two are told apart by table.
Codes are text so that numeric and named codes (ad_slot) share one column; join with
`CAST(user_source AS VARCHAR) = code`. Codes seen in the wild but never documented (10, 11,
176 for follow channels, 5 for share scenes) are listed with a note; any other unknown code
still loads, it just has no label.
"""

from typing import Dict, Iterator, List, Tuple

from dlt.common.schema.typing import TTableSchemaColumns

Label = Tuple[str, str, str, str]

CODE_LABELS_TABLE = "code_labels"
CODE_LABEL_COLUMNS: TTableSchemaColumns = {
    name: {"data_type": "text", "nullable": False}
    for name in ("field", "code", "label_en", "label_zh")
}

FOLLOW_SOURCE = "user_summary.user_source"
READ_SOURCE = "user_read.user_source"

LABELS: Tuple[Label, ...] = (
    (FOLLOW_SOURCE, "0", "other channels (total)", "其他合计"),
    (FOLLOW_SOURCE, "1", "account search", "公众号搜索"),
    (FOLLOW_SOURCE, "3", "QR code scan (2015 code)", "扫二维码"),
    (FOLLOW_SOURCE, "10", "undocumented (seen 2020)", "未公开渠道"),
    (FOLLOW_SOURCE, "11", "undocumented (seen 2020)", "未公开渠道"),
    (FOLLOW_SOURCE, "17", "business card share", "名片分享"),
    (FOLLOW_SOURCE, "30", "QR code scan", "扫描二维码"),
    (FOLLOW_SOURCE, "35", "search by number (2015 code)", "搜号码"),
    (FOLLOW_SOURCE, "39", "official account search (2015 code)", "查询微信公众帐号"),
    (FOLLOW_SOURCE, "43", "article page top-right menu", "图文页右上角菜单"),
    (FOLLOW_SOURCE, "51", "follow after payment (folded into 0 since 2023-06)", "支付后关注"),
    (FOLLOW_SOURCE, "57", "account name inside an article", "文章内账号名称"),
    (FOLLOW_SOURCE, "75", "article ads", "公众号文章广告"),
    (FOLLOW_SOURCE, "78", "Moments ads", "朋友圈广告"),
    (FOLLOW_SOURCE, "100", "WeChat ads", "微信广告"),
    (FOLLOW_SOURCE, "149", "Mini Program", "小程序关注"),
    (FOLLOW_SOURCE, "161", "reposted by others", "他人转载"),
    (FOLLOW_SOURCE, "176", "account name on an album page (community report)", "专辑页内账号名称"),
    (FOLLOW_SOURCE, "200", "Channels", "视频号"),
    (FOLLOW_SOURCE, "201", "live stream", "直播"),
    (READ_SOURCE, "99999999", "all channels (de-duplicated total)", "全部"),
    (READ_SOURCE, "0", "conversation", "会话"),
    (READ_SOURCE, "1", "friends", "好友"),
    (READ_SOURCE, "2", "Moments", "朋友圈"),
    (READ_SOURCE, "3", "Tencent Weibo (old docs)", "腾讯微博"),
    (READ_SOURCE, "4", "history messages page", "历史消息页"),
    (READ_SOURCE, "5", "other", "其他"),
    (READ_SOURCE, "6", "Top Stories", "看一看"),
    (READ_SOURCE, "7", "Search", "搜一搜"),
    ("share_scene", "1", "friend forward", "好友转发"),
    ("share_scene", "2", "Moments", "朋友圈"),
    ("share_scene", "3", "Tencent Weibo (old docs)", "腾讯微博"),
    ("share_scene", "5", "undocumented (in the official sample)", "未公开场景"),
    ("share_scene", "255", "other", "其他"),
    ("msg_type", "1", "text", "文字"),
    ("msg_type", "2", "image", "图片"),
    ("msg_type", "3", "voice", "语音"),
    ("msg_type", "4", "video", "视频"),
    ("msg_type", "6", "third-party app message", "第三方应用消息"),
    ("count_interval", "0", "0 messages", "0"),
    ("count_interval", "1", "1-5 messages", "1-5"),
    ("count_interval", "2", "6-10 messages", "6-10"),
    ("count_interval", "3", "more than 10 messages", "10次以上"),
    ("publish_type", "0", "followers notified (mass send)", "已通知"),
    ("publish_type", "1", "published without notification", "未开启通知"),
    ("ad_slot", "SLOT_ID_BIZ_BOTTOM", "article-bottom ad", "公众号底部广告"),
    ("ad_slot", "SLOT_ID_BIZ_MID_CONTEXT", "mid-article ad", "文中广告"),
    ("ad_slot", "SLOT_ID_BIZ_VIDEO_END", "post-video ad", "视频后贴"),
    ("ad_slot", "SLOT_ID_BIZ_SPONSOR", "sponsored ad", "互选广告"),
    ("ad_slot", "SLOT_ID_BIZ_CPS", "commission products", "返佣商品"),
    ("ad_slot", "SLOT_ID_WEAPP_BANNER", "Mini Program banner", "小程序banner"),
    ("ad_slot", "SLOT_ID_WEAPP_REWARD_VIDEO", "Mini Program rewarded video", "小程序激励视频"),
    ("ad_slot", "SLOT_ID_WEAPP_INTERSTITIAL", "Mini Program interstitial", "小程序插屏广告"),
    ("ad_slot", "SLOT_ID_WEAPP_VIDEO_FEEDS", "Mini Program video feed", "小程序视频广告"),
    ("ad_slot", "SLOT_ID_WEAPP_VIDEO_BEGIN", "Mini Program pre-roll video", "小程序视频贴片广告"),
    ("ad_slot", "SLOT_ID_WEAPP_BOX", "Mini Program grid ad", "小程序格子广告"),
    ("ad_slot", "SLOT_ID_WEAPP_COVER", "Mini Program cover ad", "小程序封面广告"),
    ("ad_slot", "SLOT_ID_WEAPP_TEMPLATE", "Mini Program native template ad", "小程序原生模板广告"),
)


def label_rows() -> List[Dict[str, str]]:
    return [
        {"field": field, "code": code, "label_en": label_en, "label_zh": label_zh}
        for field, code, label_en, label_zh in LABELS
    ]


def code_labels() -> Iterator[List[Dict[str, str]]]:
    """The `code_labels` reference table (replaced on every run)."""
    yield label_rows()
