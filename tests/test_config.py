"""Bad settings fail before any network call, with a message that names the key and the fix."""

import re
from datetime import date, datetime
from typing import Any, Dict

import pendulum
import pytest

from tests.helpers import source
from wechat_datacube_source import ConfigurationError
from wechat_datacube_source.config import parse_day
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
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_configuration_fails_before_any_call_naming_the_key(api: Emulator, case: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        source(api, **CASES[case])
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
