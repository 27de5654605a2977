"""The HTTP layer against the emulator: bounded retries, quota stop, redacted messages."""

import socket
import time
from datetime import date
from typing import Any, Dict, List

import dlt
import pytest

from tests.helpers import last_sync_log, run, table_rows
from tests.hostile import HostileServer, Reply
from wechat_datacube_source.config import RetryPolicy
from wechat_datacube_source.emulator import Emulator, FaultRule
from wechat_datacube_source.errors import PayloadError, TransportError, WeChatApiError
from wechat_datacube_source.redaction import Redactor
from wechat_datacube_source.transport import CallCounter, Transport


@pytest.mark.parametrize(
    "fault",
    [
        FaultRule("errcode", errcode=-1, errmsg="system error", every=2),
        FaultRule(
            "errcode",
            errcode=45011,
            errmsg="api minute-quota reach limit, must slower, retry next minute",
            every=2,
        ),
        FaultRule("http", status=503, every=2),
        FaultRule("http", status=429, retry_after=0.01, every=2),
        FaultRule("drop", every=2),
        FaultRule("malformed", every=2),
        FaultRule("timeout", seconds=3.0, every=2),
    ],
    ids=lambda rule: f"{rule.kind}-{rule.errcode if rule.kind == 'errcode' else rule.status}",
)
def test_transient_faults_are_retried_and_the_run_completes(
    pipeline: dlt.Pipeline, api: Emulator, fault: FaultRule
) -> None:
    api.add_fault(fault)
    # a short timeout only where the fault is one: under load the in-process emulator can be
    # slower than 0.2 s by itself, and a retry after a timeout nobody injected is no defect
    timeout = 1.0 if fault.kind == "timeout" else 10.0
    run(
        pipeline,
        api,
        resources=["user_summary", "interface_summary"],
        request_timeout_seconds=timeout,
    )
    retried = 0
    for table in ("user_summary", "interface_summary"):
        log = last_sync_log(pipeline)[table]
        assert log["status"] == "ok", log
        requests = arrived(api, table, log["api_calls"])
        assert log["api_calls"] == len(requests)
        by_window: Dict[Any, List[Any]] = {}
        for request in requests:
            by_window.setdefault((request.begin, request.end), []).append(request.fault)
        # each window is retried only after a fault, and never again once it succeeded: one
        # answer each, the other attempts faults (counted, not ordered: the emulator shares
        # the test's process, and a thread it starts late logs its request late)
        for faults in by_window.values():
            assert faults.count(None) == 1, faults
        retried += sum(len(faults) > 1 for faults in by_window.values())
    assert retried  # the fault did fire
    assert len({row["ref_date"] for row in table_rows(pipeline, "user_summary")}) == 30


def arrived(api: Emulator, table: str, expected: int) -> List[Any]:
    """The emulator's log of `table`'s requests once `expected` of them are in it (or after
    10 s): a request the client gave up on may reach a busy emulator thread after the run."""
    deadline = time.monotonic() + 10
    while len(requests := api.data_requests(table)) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return requests


def test_retries_are_bounded(api: Emulator) -> None:
    api.add_fault(FaultRule("http", status=502))
    transport = Transport(api.base_url, Redactor(), RetryPolicy(max_retries=3, backoff_seconds=0.0))
    counter = CallCounter()
    with pytest.raises(TransportError, match="HTTP 502"):
        transport.request(
            "POST",
            "/datacube/getusersummary",
            label="user_summary",
            counter=counter,
            params={"access_token": "x"},
            json_body={},
        )
    assert counter.calls == 4 == len(api.requests)


def test_backoff_doubles_and_honours_retry_after() -> None:
    policy = RetryPolicy(backoff_seconds=0.5, max_backoff_seconds=3.0)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(0, retry_after=2.5) == 2.5 and policy.delay(0, retry_after=0) == 0.5
    assert policy.delay(0, retry_after=600) == 3.0


def test_the_daily_quota_stops_every_call_of_the_account(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    api.add_fault(
        FaultRule("errcode", errcode=45009, errmsg="reach max api daily quota limit", after=2)
    )
    tables = ["user_read_hour", "user_share_hour", "article_summary"]  # 30 one-day windows each
    run(pipeline, api, resources=tables, max_retries=0, max_concurrent_requests=1)
    # the third call gets 45009 and no call follows it, though every endpoint had more to do
    assert [r.errcode for r in api.data_requests()] == [0, 0, 45009]
    logs = last_sync_log(pipeline)
    for table in tables:
        assert logs[table]["errcode"] == 45009 and logs[table]["status"] in ("partial", "failed")
        assert "run again after midnight Beijing time" in logs[table]["message"]


def test_with_requests_in_flight_the_quota_stop_lets_only_those_finish(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    api.add_fault(
        FaultRule("errcode", errcode=45009, errmsg="reach max api daily quota limit", after=20)
    )
    run(
        pipeline,
        api,
        resources=["user_read_hour", "user_share_hour", "article_summary"],
        max_retries=0,
    )
    # requests already in flight when the first 45009 came back (at most 7 more, the in-flight
    # limit being 8) may finish; none starts after it
    assert 21 <= len(api.data_requests()) <= 21 + 7
    assert {log["errcode"] for log in last_sync_log(pipeline).values()} == {45009}


def test_secrets_are_masked_in_every_message() -> None:
    redact = Redactor(["s3cret-app-secret"])
    redact.add("TOKEN123")
    text = (
        "HTTPConnectionPool: Max retries exceeded with url: /datacube/x?access_token=TOKEN123&a=1 "
        '{"appid": "wx", "secret": "s3cret-app-secret"} secret=abc TOKEN123'
    )
    masked = redact(text)
    assert (
        "TOKEN123" not in masked
        and "s3cret-app-secret" not in masked
        and "secret=abc" not in masked
    )
    assert "access_token=***&a=1" in masked


def test_a_dropped_connection_message_carries_no_token(api: Emulator) -> None:
    api.add_fault(FaultRule("drop"))
    redactor = Redactor(["TOKEN-XYZ"])
    transport = Transport(api.base_url, redactor, RetryPolicy(max_retries=0))
    with pytest.raises(TransportError) as raised:
        transport.request(
            "POST",
            "/datacube/getusersummary",
            label="user_summary",
            counter=CallCounter(),
            params={"access_token": "TOKEN-XYZ"},
            json_body={"begin_date": str(date(2026, 6, 1))},
        )
    assert "TOKEN-XYZ" not in str(raised.value) and raised.value.__cause__ is None


def test_a_host_nothing_answers_on_is_named_with_base_url() -> None:
    """A mistyped base_url retried for half a minute and said only `_WatchedHTTPPool ...`."""
    with socket.socket() as bound:  # bound, never listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        transport = Transport(
            f"http://127.0.0.1:{port}", Redactor(["TOKEN-XYZ"]), RetryPolicy(max_retries=0)
        )
        with pytest.raises(TransportError) as raised:
            transport.request(
                "GET", "/x", label="access token", counter=None, params={"s": "TOKEN-XYZ"}
            )
    assert "could not connect to 127.0.0.1 (check base_url" in str(raised.value)
    assert "TOKEN-XYZ" not in str(raised.value) and raised.value.transient


def test_proxies_and_ca_bundle_from_the_environment_are_honoured(
    monkeypatch: pytest.MonkeyPatch, api: Emulator
) -> None:
    # read once per run rather than per call, but with the meaning requests gives them
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/corporate-ca.pem")
    wechat = Transport("https://api.weixin.qq.com", Redactor([]))
    assert wechat.session.proxies["https"] == "http://proxy.example:3128"
    assert wechat.session.verify == "/etc/corporate-ca.pem"
    local = Transport(api.base_url, Redactor([]))
    assert "http" not in local.session.proxies  # NO_PROXY: the emulator is reached directly
    # the emulator answers (an unknown appid), where a proxy would have been unreachable
    with pytest.raises(WeChatApiError, match="40013"):
        local.request(
            "POST",
            "/cgi-bin/stable_token",
            label="token",
            counter=CallCounter(),
            json_body={"grant_type": "client_credential", "appid": "wx0", "secret": "s"},
        )


@pytest.mark.parametrize(
    ("reply", "transient"),
    [
        (Reply({}, status=307, headers={"Location": "http://127.0.0.1:9/x"}), False),
        (Reply({"errmsg": "no such page"}, status=404), False),
        (Reply({"errcode": 40003, "errmsg": "invalid openid"}), False),
        (Reply({"errcode": 48001, "errmsg": "api unauthorized"}), False),
        (Reply({"errcode": -1, "errmsg": "system error"}), True),
        (Reply({"errmsg": "busy"}, status=503), True),
        (Reply("<html>502 Bad Gateway</html>"), True),
        (Reply(b'{"list": ' + b"[" * 5000 + b"]" * 5000 + b"}"), False),  # never readable
    ],
    ids=[
        "redirect",
        "http-404",
        "errcode-40003",
        "errcode-48001",
        "errcode-1",
        "http-503",
        "html",
        "too-deep",
    ],
)
def test_a_fault_is_asked_again_only_when_asking_again_may_help(
    reply: Reply, transient: bool
) -> None:
    """Breaks tried: every fault retryable (the refusals cost 4 calls); none retryable; a
    body too deep to read retried."""
    with HostileServer(lambda request: reply) as server:
        transport = Transport(
            server.base_url, Redactor(), RetryPolicy(max_retries=3, backoff_seconds=0.0)
        )
        counter = CallCounter()
        with pytest.raises((TransportError, WeChatApiError, PayloadError)):
            transport.request("POST", "/datacube/getusersummary", label="x", counter=counter)
        calls = len(server.calls())
    assert calls == counter.calls == (4 if transient else 1)
