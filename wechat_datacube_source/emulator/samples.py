"""The official sample payloads of the reference, byte for byte, one per endpoint.

In samples mode the emulator answers every request of an endpoint with its sample, so tests
can prove each one lands exactly (`getupstreammsgdistweek`/`distmonth` reuse the daily
sample's 2014-12-07, a day inside the week and month asked for: their rows land under the
period's first day, 2014-12-07 kept beside it). Two samples cannot land as printed, and the
tests pin what happens to them instead:

* `getupstreammsgmonth` is labelled 2014-11-01, before the 2014-12-01 floor the connector
  never crosses: its rows are outside every window the connector may send, so they are
  dropped (and counted in sync_log).
* `publisher_cps_general` carries the placeholder date "20XX-XX-XX", which the connector
  rejects with a typed error rather than inventing a date.

`REDATED` gives each of the two a copy with a real label date, to check their values and types.
"""

from typing import Dict, Tuple

SAMPLES: Dict[str, str] = {
    "getusersummary": '{"list":[{"ref_date":"2014-12-07","user_source":0,"new_user":0,"cancel_user":0}]}',
    "getusercumulate": '{"list":[{"ref_date":"2014-12-07","cumulate_user":1217056}]}',
    "getarticlesummary": """{"list":[{"ref_date":"2014-12-08","msgid":"10000050_1","title":"12月27日 DiLi日报",
 "int_page_read_user":23676,"int_page_read_count":25615,"ori_page_read_user":29,"ori_page_read_count":34,
 "share_user":122,"share_count":994,"add_to_fav_user":1,"add_to_fav_count":3}]}""",
    "getarticletotal": """{"list":[{"ref_date":"2014-12-14","msgid":"202457380_1","title":"马航丢画记","details":[{
 "stat_date":"2014-12-14","target_user":261917,"int_page_read_user":23676,"int_page_read_count":25615,
 "ori_page_read_user":29,"ori_page_read_count":34,"share_user":122,"share_count":994,
 "add_to_fav_user":1,"add_to_fav_count":3,
 "int_page_from_session_read_user":657283,"int_page_from_session_read_count":753486,
 "int_page_from_hist_msg_read_user":1669,"int_page_from_hist_msg_read_count":1920,
 "int_page_from_feed_read_user":367308,"int_page_from_feed_read_count":433422,
 "int_page_from_friends_read_user":15428,"int_page_from_friends_read_count":19645,
 "int_page_from_other_read_user":477,"int_page_from_other_read_count":703,
 "feed_share_from_session_user":63925,"feed_share_from_session_cnt":66489,
 "feed_share_from_feed_user":18249,"feed_share_from_feed_cnt":19319,
 "feed_share_from_other_user":731,"feed_share_from_other_cnt":775}]}]}""",
    "getuserread": """{"list":[
 {"ref_date":"2020-02-18","user_source":99999999,"int_page_read_user":545497,"int_page_read_count":856093,
  "ori_page_read_user":191,"ori_page_read_count":240,"share_user":22603,"share_count":28487,"add_to_fav_user":3163,"add_to_fav_count":3841},
 {"ref_date":"2020-02-18","user_source":0,"int_page_read_user":381272,"int_page_read_count":646629,
  "ori_page_read_user":0,"ori_page_read_count":0,"share_user":13110,"share_count":16469,"add_to_fav_user":0,"add_to_fav_count":0}]}""",
    "getuserreadhour": """{"list":[
 {"ref_date":"2020-02-18","ref_hour":0,"user_source":99999999,"int_page_read_user":9028,"int_page_read_count":11815,
  "ori_page_read_user":0,"ori_page_read_count":0,"share_user":279,"share_count":340,"add_to_fav_user":0,"add_to_fav_count":0},
 {"ref_date":"2020-02-18","ref_hour":0,"user_source":0,"int_page_read_user":6812,"int_page_read_count":9172,
  "ori_page_read_user":0,"ori_page_read_count":0,"share_user":164,"share_count":196,"add_to_fav_user":0,"add_to_fav_count":0}]}""",
    "getusershare": """{"list":[{"ref_date":"2014-12-07","share_scene":1,"share_count":207,"share_user":11},
         {"ref_date":"2014-12-07","share_scene":5,"share_count":23,"share_user":11}]}""",
    "getusersharehour": '{"list":[{"ref_date":"2014-12-07","ref_hour":1200,"share_scene":1,"share_count":72,"share_user":4}]}',
    "getarticleread": """{"list":[{"ref_date":"2025-11-01","msgid":"2247490098_1","detail":{"read_user":4123,
  "read_user_source":[{"user_count":4123,"scene_desc":"全部"},{"user_count":234,"scene_desc":"公众号消息"}]}}],
 "is_delay":false}""",
    "getarticleshare": '{"list":[{"ref_date":"2025-11-01","msgid":"2247490098_1","detail":{"share_user":366}}],"is_delay":false}',
    "getbizsummary": """{"list":[{"ref_date":"2025-11-01","detail":{"read_user":4123,
  "read_user_source":[{"user_count":4123,"scene_desc":"全部"},{"user_count":234,"scene_desc":"公众号消息"}],
  "share_user":366,"zaikan_user":191,"like_user":386,"comment_count":33,"collection_user":233,
  "redirect_ori_page_user":369,"send_page_count":512}}],"is_delay":false}""",
    "getarticletotaldetail": """{"list":[{"ref_date":"2025-11-01","msgid":"2247490098_1","publish_type":0,
  "title":"<title>","content_url":"https://mp.weixin.qq.com/s/...",
  "detail_list":[{"stat_date":"2025-11-01","read_user":4123,
    "read_user_source":[{"user_count":4123,"scene_desc":"全部"}],
    "share_user":366,"zaikan_user":191,"like_user":386,"comment_count":33,"collection_user":233,
    "praise_money":361,"read_subscribe_user":327,"read_delivery_rate":0.0271002,"read_finish_rate":0.6304348,
    "read_avg_activetime":1.0588236,
    "read_jump_position":[{"position":1,"rate":0.5304147},{"position":2,"rate":0.1023412}]}]}],
 "is_delay":false}""",
    "getupstreammsg": '{"list":[{"ref_date":"2014-12-07","msg_type":1,"msg_user":282,"msg_count":817}]}',
    "getupstreammsghour": '{"list":[{"ref_date":"2014-12-07","ref_hour":0,"msg_type":1,"msg_user":9,"msg_count":10}]}',
    "getupstreammsgweek": '{"list":[{"ref_date":"2014-12-08","msg_type":1,"msg_user":16,"msg_count":27}]}',
    "getupstreammsgmonth": '{"list":[{"ref_date":"2014-11-01","msg_type":1,"msg_user":7989,"msg_count":42206}]}',
    "getupstreammsgdist": '{"list":[{"ref_date":"2014-12-07","count_interval":1,"msg_user":246}]}',
    "getupstreammsgdistweek": '{"list":[{"ref_date":"2014-12-07","count_interval":1,"msg_user":246}]}',
    "getupstreammsgdistmonth": '{"list":[{"ref_date":"2014-12-07","count_interval":1,"msg_user":246}]}',
    "getinterfacesummary": '{"list":[{"ref_date":"2014-12-07","callback_count":36974,"fail_count":67,"total_time_cost":14994291,"max_time_cost":5044}]}',
    "getinterfacesummaryhour": '{"list":[{"ref_date":"2014-12-01","ref_hour":0,"callback_count":331,"fail_count":18,"total_time_cost":167870,"max_time_cost":5042}]}',
    "publisher_adpos_general": """{"base_resp":{"err_msg":"ok","ret":0},
 "list":[{"slot_id":3030046789020061,"ad_slot":"SLOT_ID_WEAPP_INTERSTITIAL","date":"2020-04-13",
   "req_succ_count":443610,"exposure_count":181814,"exposure_rate":0.409850995,"click_count":10095,
   "click_rate":0.055523777,"income":52175,"ecpm":286.969100289}],
 "summary":{"req_succ_count":4406394,"exposure_count":1797225,"exposure_rate":0.407867522,"click_count":100167,
   "click_rate":0.055734257,"income":578003,"ecpm":321.608591022},
 "total_num":1}""",
    "publisher_cps_general": """{"base_resp":{"err_msg":"ok","ret":0},
 "list":[{"date":"20XX-XX-XX","exposure_count":15153,"click_count":396,"click_rate":38.265151515,"order_count":3,
   "order_rate":0.007575758,"total_fee":162900,"total_commission":25021}],
 "summary":{"exposure_count":117143,"click_count":3442,"click_rate":34.033410808,"order_count":18,
   "order_rate":0.005229518,"total_fee":924082,"total_commission":133030},
 "total_num":7}""",
    "publisher_settlement": """{"base_resp":{"err_msg":"ok","ret":0},"body":"深圳市腾讯计算机系统有限公司","penalty_all":0,
 "revenue_all":5178368698,"settled_revenue_all":2613696765,
 "settlement_list":[{"date":"2020-03-25","zone":"2020年3月1日至15日","month":"202003","order":1,"sett_status":1,
   "settled_revenue":718926045,"sett_no":"XXX","mail_send_cnt":"0",
   "slot_revenue":[{"slot_id":"SLOT_ID_WEAPP_BANNER","slot_settled_revenue":34139443},
                   {"slot_id":"SLOT_ID_WEAPP_REWARD_VIDEO","slot_settled_revenue":684786602}]}],
 "total_num":1}""",
}

# (api_name) -> (label date as printed, a real label date to put in its place)
REDATED: Dict[str, Tuple[str, str]] = {
    "getupstreammsgmonth": ("2014-11-01", "2014-12-01"),
    "publisher_cps_general": ("20XX-XX-XX", "2020-04-13"),
}


def redated(api_name: str) -> str:
    """The sample with its unusable label date replaced (see the module docstring)."""
    printed, real = REDATED[api_name]
    return SAMPLES[api_name].replace(printed, real)
