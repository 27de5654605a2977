"""Bad settings fail before any network call, with a message that names the key and the fix."""

import inspect
import re
from datetime import date, datetime
from typing import Any, Dict

import dlt
import pendulum
import pytest

from tests.helpers import run, source
from wechat_datacube_source import ConfigurationError, account_sources, wechat_datacube
from wechat_datacube_source.config import parse_day, validate
from wechat_datacube_source.emulator import Emulator

CASES: Dict[str, Dict[str, Any]] = {
    "unparseable start_date": {"start_date": "2024-13-01"},
    "unparseable end_date": {"end_date": "yesterday"},
    "inverted dates": {"start_date": "2026-05-10", "end_date": "2026-05-01"},
    "start before the floor": {"start_date": "2014-11-30"},
    "end not complete yet": {"end_date": "2026-06-15"},
    "start not complete yet": {"start_date": "2026-06-20"},
    "unknown resource": {"resources": ["user_summary", "usersummary"]},
    "no resource": {"resources": []},
    "unknown token mode": {"token_mode": "forever"},
    "base url without scheme": {"base_url": "api.weixin.qq.com"},
    "base url with a query": {"base_url": "https://api.weixin.qq.com/?access_token=x"},
    "missing app id": {"app_id": None},
    "missing secret": {"app_secret": None},
    "both token styles": {"access_token": "TOKEN"},
    "negative retries": {"max_retries": -1},
    "zero timeout": {"request_timeout_seconds": 0},
    # nan and inf compare false with every bound
    "nan timeout": {"request_timeout_seconds": float("nan")},
    "infinite timeout": {"request_timeout_seconds": float("inf")},
    "nan backoff": {"retry_backoff_seconds": float("nan")},
    "infinite backoff": {"retry_backoff_seconds": float("inf")},
    "nan rate": {"max_requests_per_second": float("nan")},
    "a pool of 10^8": {"max_concurrent_requests": 100_000_000},
    "retries forever": {"max_retries": 10_000},
    "port out of range": {"base_url": "http://127.0.0.1:99999"},
    "port not a number": {"base_url": "http://127.0.0.1:abc"},
    "port zero": {"base_url": "http://127.0.0.1:0"},
    "example app id": {"app_id": "wx0000000000000000"},
    "example app secret": {"app_secret": "<your AppSecret>"},
    "example access token": {"app_secret": None, "access_token": "<a current access token>"},
    # "no" is a truthy string: it would keep every body
    "keep raw responses as a word": {"keep_raw_responses": "no"},
    "never set aside": {"set_aside_after_failures": 0},
}
KEYS = {
    "unparseable start_date": "start_date",
    "unparseable end_date": "end_date",
    "inverted dates": "end_date",
    "start before the floor": "start_date",
    "end not complete yet": "end_date",
    "start not complete yet": "start_date",
    "unknown resource": "resources",
    "no resource": "resources",
    "unknown token mode": "token_mode",
    "base url without scheme": "base_url",
    "base url with a query": "base_url",
    "missing app id": "app_id",
    "missing secret": "app_secret",
    "both token styles": "access_token",
    "negative retries": "max_retries",
    "zero timeout": "request_timeout_seconds",
    "nan timeout": "request_timeout_seconds",
    "infinite timeout": "request_timeout_seconds",
    "nan backoff": "retry_backoff_seconds",
    "infinite backoff": "retry_backoff_seconds",
    "nan rate": "max_requests_per_second",
    "a pool of 10^8": "max_concurrent_requests",
    "retries forever": "max_retries",
    "port out of range": "base_url",
    "port not a number": "base_url",
    "port zero": "base_url",
    "example app id": "app_id",
    "example app secret": "app_secret",
    "example access token": "access_token",
    "keep raw responses as a word": "keep_raw_responses",
    "never set aside": "set_aside_after_failures",
}


def test_a_run_with_good_settings_calls(pipeline: dlt.Pipeline, api: Emulator) -> None:
    """The control of the test below: the statement it runs calls WeChat when the settings
    are good (building a source alone never calls, so asserting no call after it proved
    nothing)."""
    run(pipeline, api, resources=["user_cumulate"])
    assert api.requests


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_configuration_fails_before_any_call_naming_the_key(
    pipeline: dlt.Pipeline, api: Emulator, case: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        run(pipeline, api, **{"resources": ["user_cumulate"], **CASES[case]})
    error = raised.value
    assert error.key == KEYS[case]
    assert str(error).startswith(f"{KEYS[case]}: ")
    assert api.requests == []


@pytest.mark.parametrize(
    ("case", "hint"),
    [
        ("unknown resource", "Choose from: user_summary, user_cumulate"),
        ("missing secret", ".dlt/secrets.toml"),
        ("start before the floor", "2014-12-01"),
        ("end not complete yet", "Use a day up to 2026-06-14"),
        ("both token styles", "Set only one"),
        ("unparseable start_date", "Write it as YYYY-MM-DD"),
        ("a pool of 10^8", "a whole number at least 1 and at most 64"),
        ("nan timeout", "greater than 0 and at most 600"),
        ("port out of range", "not a number from 1 to 65535"),
        ("example app secret", "example value of .dlt/secrets.toml.example"),
    ],
)
def test_messages_say_how_to_fix(api: Emulator, case: str, hint: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(hint)):
        source(api, **CASES[case])


def test_dates_from_toml_strings_and_pendulum_are_equivalent() -> None:
    expected = date(2026, 5, 1)
    for value in (
        "2026-05-01",
        " 2026-05-01 ",
        expected,
        pendulum.date(2026, 5, 1),
        datetime(2026, 5, 1, 9),
    ):
        assert parse_day("start_date", value) == expected
    assert parse_day("end_date", None) is None and parse_day("end_date", "") is None
    with pytest.raises(ConfigurationError, match="end_date: 20260501 is not a date"):
        parse_day("end_date", 20260501)


def test_an_accounts_entry_error_names_the_entry_not_the_single_account_section() -> None:
    with pytest.raises(ConfigurationError) as raised:
        account_sources(
            [
                {"app_id": "wx00000000000000a1", "app_secret": "a"},
                {"app_id": "wx00000000000000b2", "app_secret": "<its AppSecret>"},
            ]
        )
    message = str(raised.value)
    assert message.startswith("accounts[1].app_secret: still holds the example value")
    assert "the accounts[1] entry of [[sources.wechat_datacube.accounts]]" in message
    assert "[sources.wechat_datacube] " not in message


def test_app_ids_that_differ_only_in_case_are_one_account() -> None:
    # they would share one pipeline name, hence one state
    with pytest.raises(
        ConfigurationError, match=r"accounts\[1\]\.app_id: wx00000000000000AB is listed twice"
    ):
        account_sources(
            [
                {"app_id": "wx00000000000000ab", "app_secret": "a"},
                {"app_id": "wx00000000000000AB", "app_secret": "b"},
            ]
        )


def test_a_value_dlt_cannot_coerce_is_a_configuration_error_naming_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCES__WECHAT_DATACUBE__MAX_RETRIES", "abc")
    with pytest.raises(ConfigurationError) as raised:
        account_sources([{"app_id": "wx00000000000000a1", "app_secret": "a"}])
    # the value comes from the settings every account shares, so that is where to fix it
    assert str(raised.value) == (
        "max_retries: the configured value cannot be read as a whole number. "
        "Set `max_retries` to a whole number in [sources.wechat_datacube]"
    )


def source_arguments(**given: Any) -> Dict[str, Any]:
    """Every argument of the source, as dlt would pass them: defaults, then `given`."""
    arguments = {
        name: parameter.default
        for name, parameter in inspect.signature(wechat_datacube).parameters.items()
    }
    return {**arguments, "app_id": "wxd3m0000000000001", **given}


def test_a_setting_the_source_declares_but_never_checks_fails_every_run() -> None:
    """The signature declares the settings and `validate` checks each: one added to the first
    and not to the second must not slip through unchecked (break tried: `all_read` a no-op)."""
    arguments = source_arguments(app_secret="a-secret")
    today = date(2026, 6, 14)
    assert validate(arguments, today).app_id == "wxd3m0000000000001"  # the control
    with pytest.raises(TypeError, match="settings never checked: max_fun"):
        validate({**arguments, "max_fun": 1}, today)


@pytest.mark.parametrize("secret", ["app_secret", "access_token"])
def test_the_checked_settings_keep_their_secret_out_of_their_repr(secret: str) -> None:
    """A config, and every run that holds one, may be printed in a traceback or captured by
    an error tracker (break tried: the field back in the repr)."""
    config = validate(source_arguments(**{secret: "S3cr3t-in-a-repr"}), date(2026, 6, 14))
    assert getattr(config, secret) == "S3cr3t-in-a-repr"
    assert "wxd3m0000000000001" in repr(config) and "S3cr3t" not in repr(config)
