"""Tokens: one per run, one guarded refresh-and-retry, never a loop, no secret in messages."""

from typing import List

import dlt

from tests.helpers import ip_not_whitelisted, last_sync_log, run
from wechat_datacube_source.emulator import DEMO_APP_ID, DEMO_APP_SECRET, Emulator, FaultRule
from wechat_datacube_source.emulator.server import RequestRecord


def token_requests(api: Emulator) -> List[RequestRecord]:
    return [r for r in api.requests if r.endpoint in ("token", "stable_token")]


def test_an_expired_token_is_refreshed_once_and_the_call_retried(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    api.add_fault(
        FaultRule(
            "errcode",
            errcode=42001,
            errmsg="access_token expired",
            endpoints=("getusersummary",),
            after=2,
            times=1,
        )
    )
    run(pipeline, api, resources=["user_summary"], max_concurrent_requests=1)
    assert len(token_requests(api)) == 2
    calls = api.data_requests("user_summary")
    assert [r.errcode for r in calls] == [0, 0, 42001, 0, 0, 0]
    assert calls[2].begin == calls[3].begin  # the same window again, after the refresh
    assert last_sync_log(pipeline)["user_summary"]["status"] == "ok"


def test_a_token_that_stays_bad_gets_exactly_one_refresh_and_one_retry(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    api.add_fault(
        FaultRule(
            "errcode",
            errcode=40001,
            errmsg="invalid credential, access_token is invalid or not latest",
            endpoints=("getusersummary",),
        )
    )
    run(pipeline, api, resources=["user_summary"])
    assert len(api.data_requests("user_summary")) == 2
    assert len(token_requests(api)) == 2
    log = last_sync_log(pipeline)["user_summary"]
    assert log["status"] == "failed" and log["errcode"] == 40001
    assert "stayed invalid after one refresh" in log["message"]


def test_classic_mode_uses_cgi_bin_token(pipeline: dlt.Pipeline, api: Emulator) -> None:
    run(pipeline, api, resources=["user_cumulate"], token_mode="classic")
    assert [r.endpoint for r in token_requests(api)] == ["token"]
    assert token_requests(api)[0].params["grant_type"] == "client_credential"


def test_a_static_access_token_never_calls_a_token_endpoint(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    token, _, _ = api.tokens.stable(DEMO_APP_ID, force_refresh=False)
    run(pipeline, api, resources=["user_cumulate"], app_secret=None, access_token=token)
    assert token_requests(api) == []
    assert last_sync_log(pipeline)["user_cumulate"]["status"] == "ok"
    api.tokens.expire_all()
    run(pipeline, api, resources=["user_cumulate"], app_secret=None, access_token=token)
    assert token_requests(api) == []
    log = last_sync_log(pipeline)["user_cumulate"]
    assert log["status"] == "failed" and "`access_token` is invalid or expired" in log["message"]
    assert token not in log["message"]


def test_a_rejected_static_token_costs_one_call_and_stops_every_endpoint_alike(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    """A token that cannot be refreshed here stops the whole account, as a wrong secret
    does: before, each of the endpoints (8 at once) made its own failing call."""
    tables = ["user_summary", "user_cumulate", "user_read", "upstream_msg"]
    run(pipeline, api, resources=tables, app_secret=None, access_token="not-a-live-token")
    assert token_requests(api) == []
    assert [r.errcode for r in api.data_requests()] == [40001]
    logs = last_sync_log(pipeline)
    assert {log["status"] for log in logs.values()} == {"failed"}
    assert {log["errcode"] for log in logs.values()} == {40001}
    # the same words in every row, naming the fix once rather than per endpoint
    (message,) = {log["message"] for log in logs.values()}
    assert message.startswith("the account stopped: WeChat error 40001")
    assert "`access_token` is invalid or expired" in message and "not-a-live-token" not in message


def test_a_wrong_secret_fails_every_endpoint_with_one_token_call_and_names_the_key(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    run(pipeline, api, resources=["user_summary", "user_cumulate"], app_secret="not-the-secret")
    assert len(token_requests(api)) == 1
    assert api.data_requests() == []
    for log in last_sync_log(pipeline).values():
        assert log["status"] == "failed" and log["errcode"] == 40125
        assert "app_secret" in log["message"] and "not-the-secret" not in log["message"]


def test_an_ip_outside_the_whitelist_is_named(pipeline: dlt.Pipeline, api: Emulator) -> None:
    api.add_fault(ip_not_whitelisted())
    run(pipeline, api, resources=["user_summary"])
    log = last_sync_log(pipeline)["user_summary"]
    assert (
        log["status"] == "failed"
        and "203.0.113.7 is not in the account's IP whitelist" in log["message"]
    )


def test_stable_token_semantics_of_the_emulator(api: Emulator) -> None:
    first, expires_in, _ = api.tokens.stable(DEMO_APP_ID, force_refresh=False)
    again, _, _ = api.tokens.stable(DEMO_APP_ID, force_refresh=False)
    assert first == again and 300 < expires_in <= 7200
    forced, _, _ = api.tokens.stable(DEMO_APP_ID, force_refresh=True)
    assert forced != first
    assert api.tokens.check(first)[1] == (
        40001,
        "invalid credential, access_token is invalid or not latest",
    )
    assert api.tokens.check(forced) == (DEMO_APP_ID, None)
    classic, _ = api.tokens.classic(DEMO_APP_ID)
    assert api.tokens.check(forced)[0] == DEMO_APP_ID  # the two kinds are isolated
    assert DEMO_APP_SECRET not in classic


def test_a_token_endpoint_that_stays_down_fails_the_run_after_one_round_of_retries(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    api.add_fault(FaultRule("http", status=503, endpoints=("token",)))
    run(pipeline, api, resources=["user_summary", "user_cumulate", "user_read"], max_retries=2)
    assert len(token_requests(api)) == 3 and api.data_requests() == []
    assert {log["status"] for log in last_sync_log(pipeline).values()} == {"failed"}
