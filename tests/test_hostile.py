"""Servers of the tests' own making (tests/hostile.py) that misbehave in ways the docs never
mention. No server, payload or habit may fail the whole run, jam later runs, lose rows behind
an `ok`, or carry a secret away; where rows are involved, a later clean run must end with
exactly the tables of a fault-free load."""

import json
import logging
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import dlt
import pytest
import time_machine
import urllib3

from tests.helpers import (
    LAST_COMPLETE,
    NOW,
    last_sync_log,
    make_pipeline,
    query,
    snapshot,
    table_rows,
)
from tests.hostile import (
    APP_ID,
    APP_SECRET,
    TOKEN,
    HostileServer,
    Reply,
    Request,
    wechat_like,
)
from wechat_datacube_source import wechat_datacube
from wechat_datacube_source.raw_archive import raw_body
from wechat_datacube_source.run_summary import needs_rerun, run_results

START = LAST_COMPLETE - timedelta(days=6)
OTHER_APP_ID = "wxh0571e0000000002"


@pytest.fixture(autouse=True)
def frozen(clock: Any) -> None:
    """Every test here runs at 10:00 Beijing time: yesterday is complete."""


def hostile_source(server: HostileServer, **settings: Any) -> Any:
    arguments: Dict[str, Any] = {
        "app_id": APP_ID,
        "app_secret": APP_SECRET,
        "base_url": server.base_url,
        "start_date": START,
        "retry_backoff_seconds": 0.0,
        "max_retries": 1,
    }
    return wechat_datacube(**{**arguments, **settings})


def load(pipeline: dlt.Pipeline, server: HostileServer, **settings: Any) -> Dict[str, Any]:
    """One run; the sync_log rows it wrote, by endpoint."""
    pipeline.run(hostile_source(server, **settings)).raise_on_failed_jobs()
    return last_sync_log(pipeline)


def clean_load(tmp_path: Path, destination: Any = None, **settings: Any) -> dlt.Pipeline:
    """The same account and settings against a server that behaves."""
    pipeline = make_pipeline(tmp_path / "reference", "hostile_reference", destination)
    with HostileServer(wechat_like) as server:
        load(pipeline, server, **settings)
    return pipeline


def every_value(pipeline: dlt.Pipeline) -> str:
    """Every value of every table the pipeline wrote, decoded (the kept bodies too), as one
    text."""
    names = pipeline.default_schema.data_table_names(seen_data_only=True)
    values = [repr(query(pipeline, f'SELECT * FROM wechat."{name}"')) for name in names]
    bodies = query(pipeline, "SELECT body FROM wechat.raw_responses")
    assert bodies  # (every test here keeps some)
    values += [raw_body(body).decode("utf-8", "replace") for (body,) in bodies]
    return "\n".join(values)


# --- A and B: a value or a name the source cannot store lands anyway, and jams nothing ------


@pytest.mark.destinations
def test_text_no_database_stores_lands_escaped_and_the_next_run_is_not_jammed(
    tmp_path: Path, pipeline: dlt.Pipeline, destination: Any
) -> None:
    def answer(request: Request) -> Reply:
        reply = wechat_like(request)
        if request.name == "getarticlesummary" and request.begin == START:
            first = reply.body["list"][0]
            # half an emoji, a NUL (PostgreSQL refuses it in text), a surrogate in a name
            first.update({"title": "half \ud83d", "msgid": "1\x00", "note\udc00": 1})
        return reply

    tables = ["article_summary", "user_cumulate"]
    with HostileServer(answer) as server:
        logs = load(pipeline, server, resources=tables)
        assert logs["article_summary"]["status"] == "ok"
        assert "JSON escape" in logs["article_summary"]["message"]
        rows = {row["ref_date"]: row for row in table_rows(pipeline, "article_summary")}
        odd = rows[START]
        assert (odd["title"], odd["msgid"]) == ("half \\ud83d", "1\\u0000")
        assert [value for name, value in odd.items() if name.startswith("note")] == [1]
        # the rest of the run is as a clean load
        reference = snapshot(clean_load(tmp_path, destination, resources=tables))
        assert snapshot(pipeline)["user_cumulate"] == reference["user_cumulate"]
        assert len(rows) == 7
        # the next run calls WeChat and loads as usual
        server.requests.clear()
        logs = load(pipeline, server, resources=tables)
        assert server.calls("getarticlesummary") and logs["article_summary"]["status"] == "ok"


def test_bytes_that_are_not_utf8_and_bodies_in_utf16_land_escaped(pipeline: dlt.Pipeline) -> None:
    def answer(request: Request) -> Reply:
        reply = wechat_like(request)
        if request.name == "getarticlesummary":
            reply.body["list"][0]["title"] = "TITLE"
            raw = json.dumps(reply.body, ensure_ascii=False)
            if request.begin == START:  # one Latin-1 byte in UTF-8: it once failed every run
                reply.body = raw.encode().replace(b"TITLE", b"caf\xe9")
            else:  # UTF-16, which Python's JSON reader takes too, with half an emoji
                reply.body = raw.replace("TITLE", "café \ud83d").encode(
                    "utf-16-le", "surrogatepass"
                )
        return reply

    with HostileServer(answer) as server:
        logs = load(pipeline, server, resources=["article_summary"])
    assert logs["article_summary"]["status"] == "ok"
    assert "JSON escape" in logs["article_summary"]["message"]
    titles = {row["ref_date"]: row["title"] for row in table_rows(pipeline, "article_summary")}
    assert titles[START] == "caf\\udce9"
    assert titles[START + timedelta(days=1)] == "café \\ud83d"
    assert len(titles) == 7


def test_a_body_nested_deeper_than_can_be_read_fails_only_its_window(
    pipeline: dlt.Pipeline,
) -> None:
    def answer(request: Request) -> Reply:
        if request.name == "getusercumulate" and request.begin == START:
            return Reply(b'{"list": ' + b"[" * 5000 + b"]" * 5000 + b"}")
        reply = wechat_like(request)
        if request.name == "getarticlesummary":
            nested: Any = 1
            for _ in range(950):
                nested = [nested]
            reply.body["list"][0]["deep"] = nested
        return reply

    with HostileServer(answer) as server:
        logs = load(pipeline, server, resources=["user_cumulate", "article_summary"])
    assert logs["user_cumulate"]["status"] == "failed"
    assert "nests deeper than can be read" in logs["user_cumulate"]["message"]
    assert logs["article_summary"]["status"] == "ok" and logs["article_summary"]["rows"] == 7


@pytest.mark.destinations
def test_field_names_that_collide_are_empty_or_reserved_land_renamed(
    tmp_path: Path, pipeline: dlt.Pipeline, destination: Any
) -> None:
    def answer(request: Request) -> Reply:
        reply = wechat_like(request)
        if request.name == "getusersummary":
            for row in reply.body["list"]:
                # dlt's naming makes newUser new_user and Ref_Date ref_date: one column each
                row.update(
                    {
                        "newUser": 99,
                        "Ref_Date": "1999-01-01",
                        "": "no name",
                        "_dlt_load_id": "forged",
                        "new_user__v_text": "mine",
                    }
                )
        return reply

    with HostileServer(answer) as server:
        logs = load(pipeline, server, resources=["user_summary"])
        assert logs["user_summary"]["status"] == "ok"
        message = logs["user_summary"]["message"]
        assert "'newUser' collides with another name" in message and "''" in message
        rows = table_rows(pipeline, "user_summary")
        assert {
            (
                row["new_user__as_sent"],
                row["ref_date__as_sent"],
                row["unnamed__as_sent"],
                row["dlt_load_id__as_sent"],
                row["new_user__v_text__as_sent"],
            )
            for row in rows
        } == {(99, "1999-01-01", "no name", "forged", "mine")}
        assert "forged" not in {row["_dlt_load_id"] for row in rows}
        # the declared columns hold what a clean load holds
        reference = clean_load(tmp_path, destination, resources=["user_summary"])
        assert snapshot(pipeline, columns(reference)) == snapshot(reference)
        # and the same answers again are no problem for the next run
        server.requests.clear()
        logs = load(pipeline, server, resources=["user_summary"])
        assert server.calls("getusersummary") and logs["user_summary"]["status"] == "ok"


def test_a_column_an_earlier_run_stored_keeps_its_type_in_the_next_run(
    pipeline: dlt.Pipeline,
) -> None:
    """The resource reads the stored schema: a value of another type in a later run lands
    beside the column, which keeps its type (a unit test of `to_arrow` given a schema of the
    test's own making stayed green, with 38 others, while the resource ignored the stored one).
    """
    sent: Dict[str, Any] = {"value": 42}

    def answer(request: Request) -> Reply:
        reply = wechat_like(request)
        if request.name == "getusercumulate":
            for row in reply.body["list"]:
                row["brand_new_metric"] = sent["value"]
        return reply

    with HostileServer(answer) as server:
        load(pipeline, server, resources=["user_cumulate"])
        sent["value"] = "many"  # the refresh window's days come again, with a word
        logs = load(pipeline, server, resources=["user_cumulate"])
    column = pipeline.default_schema.get_table_columns("user_cumulate")["brand_new_metric"]
    assert column["data_type"] == "bigint"
    landed = query(
        pipeline,
        "SELECT brand_new_metric, brand_new_metric__v_text, COUNT(*) FROM wechat.user_cumulate "
        "GROUP BY 1, 2 ORDER BY 1",
    )
    assert landed == [(42, None, 4), (None, "many", 3)]
    assert (
        "many is not bigint, kept in brand_new_metric__v_text" in logs["user_cumulate"]["message"]
    )


def columns(pipeline: dlt.Pipeline) -> Dict[str, List[str]]:
    schema = pipeline.default_schema
    return {name: list(schema.get_table_columns(name)) for name in schema.data_table_names()}


# --- C: no rows lost behind an `ok` -------------------------------------------------------


@pytest.mark.parametrize("errcode", [61503.0, 45009.0, "61503"])
def test_an_errcode_in_any_json_type_is_an_error_and_no_window_is_lost(
    tmp_path: Path, pipeline: dlt.Pipeline, errcode: Any
) -> None:
    failing = True

    def answer(request: Request) -> Reply:
        if failing and request.name == "getusercumulate":
            # as a float it was once read as success: an empty week, never fetched again
            return Reply({"errcode": errcode, "errmsg": "see errcode", "list": []})
        return wechat_like(request)

    tables = ["user_cumulate", "user_summary"]
    with HostileServer(answer) as server:
        logs = load(pipeline, server, resources=tables)
        assert logs["user_cumulate"]["status"] == "failed"
        assert logs["user_cumulate"]["errcode"] == int(float(errcode))
        failing = False
        load(pipeline, server, resources=tables)
    assert snapshot(pipeline) == snapshot(clean_load(tmp_path, resources=tables))


@pytest.mark.parametrize(
    ("day", "status"),
    [
        (START + timedelta(days=1), "partial"),
        (LAST_COMPLETE - timedelta(days=3), "partial"),
        (LAST_COMPLETE - timedelta(days=2), "ok"),
        (LAST_COMPLETE, "ok"),
    ],
)
def test_not_ready_is_waited_for_only_on_the_newest_days(
    pipeline: dlt.Pipeline, day: Any, status: str
) -> None:
    def answer(request: Request) -> Reply:
        if request.name == "getusercumulate" and request.begin <= day <= request.end:
            return Reply({"errcode": 61503, "errmsg": "data not ready, please try later"})
        return wechat_like(request)

    with HostileServer(answer) as server:
        logs = load(pipeline, server, resources=["user_cumulate"])
        info = pipeline.last_trace.last_load_info
    log = logs["user_cumulate"]
    assert log["status"] == status
    assert log["fetched_to"] == day - timedelta(days=1)
    if status == "partial":
        # a day long past that says "not ready" is a problem to report, not to wait for
        assert log["errcode"] == 61503
        age = (LAST_COMPLETE - day).days
        assert f"WeChat says {day.isoformat()} is not ready {age} days after" in log["message"]
        assert info is not None and needs_rerun(run_results(pipeline, info)) != []
    else:
        assert f"no final data for {day.isoformat()} yet" in log["message"]


def test_a_payload_app_id_never_overrides_the_account(tmp_path: Path) -> None:
    destination = dlt.destinations.duckdb(str(tmp_path / "shared.duckdb"))
    other = make_pipeline(tmp_path, "wechat_other", destination)
    with HostileServer(wechat_like) as server:
        load(other, server, app_id=OTHER_APP_ID, resources=["user_cumulate"])
    others = (
        "SELECT ref_date, cumulate_user, _dlt_load_id FROM wechat.user_cumulate "
        f"WHERE app_id = '{OTHER_APP_ID}' ORDER BY ref_date"
    )
    others_rows = query(other, others)

    def answer(request: Request) -> Reply:
        reply = wechat_like(request)
        for index, row in enumerate(reply.body.get("list", [])):
            row["app_id"] = OTHER_APP_ID if index % 2 else None
        return reply

    pipeline = make_pipeline(tmp_path, "wechat_this", destination)
    with HostileServer(answer) as server:
        logs = load(pipeline, server, resources=["user_cumulate"])
    assert logs["user_cumulate"]["status"] == "ok"
    rows = query(
        pipeline,
        "SELECT app_id, app_id__as_sent, COUNT(*) FROM wechat.user_cumulate "
        "GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST",
    )
    # this account's 7 days under its own app_id (WeChat's value, null or the other
    # account's, kept beside); the other account's 7 rows untouched
    assert rows == [(APP_ID, None, 4), (APP_ID, OTHER_APP_ID, 3), (OTHER_APP_ID, None, 7)]
    assert query(other, others) == others_rows  # down to the load that wrote them


def test_a_watermark_behind_the_default_start_date_is_resumed_not_skipped(
    tmp_path: Path, pipeline: dlt.Pipeline, clock: time_machine.Traveller
) -> None:
    # a first run from 60 days back stops early, in its newest 30 days; a week later runs use
    # the default start_date (the last 30 days, a day later every day), which must not leave
    # the days between the watermark and it unloaded; and given the start date again, the
    # history before the first run's days is walked back to it
    first = LAST_COMPLETE - timedelta(days=59)
    with HostileServer(wechat_like) as server:
        logs = load(pipeline, server, resources=["user_cumulate"], start_date=first, max_calls=3)
        assert logs["user_cumulate"]["status"] == "partial"
        clock.move_to(NOW + timedelta(days=7))
        logs = load(pipeline, server, resources=["user_cumulate"], start_date=None)
        assert logs["user_cumulate"]["status"] == "ok"
        logs = load(pipeline, server, resources=["user_cumulate"], start_date=first)
    assert logs["user_cumulate"]["status"] == "ok"
    reference = clean_load(tmp_path, resources=["user_cumulate"], start_date=first)
    assert snapshot(pipeline) == snapshot(reference)


@pytest.mark.parametrize("batch_rows", [5000, 2])
@pytest.mark.parametrize("limit", [1, 2, 5])
def test_add_limit_then_a_normal_run_leaves_no_gap(
    tmp_path: Path,
    pipeline: dlt.Pipeline,
    monkeypatch: pytest.MonkeyPatch,
    limit: int,
    batch_rows: int,
) -> None:
    # small batches make the source yield (and commit) mid-run, as a long backfill does
    monkeypatch.setattr("wechat_datacube_source.resources.ARROW_BATCH_ROWS", batch_rows)
    tables = ["article_read", "user_summary"]
    with HostileServer(wechat_like) as server:
        source = hostile_source(server, resources=tables)
        for table in tables:
            source.resources[table].add_limit(limit)
        pipeline.run(source)
        load(pipeline, server, resources=tables)
    assert snapshot(pipeline) == snapshot(clean_load(tmp_path, resources=tables))


# --- D: hangs and runaways ------------------------------------------------------------------


def dribbling(request: Request) -> Reply:
    """WeChat's answers, but getusercumulate's a byte at a time: ~500 bytes, 25 s."""
    reply = wechat_like(request)
    reply.dribble_seconds = 0.05 if request.name == "getusercumulate" else 0.0
    return reply


def timed_load(pipeline: dlt.Pipeline, **settings: Any) -> Tuple[Dict[str, Any], float, int]:
    """A run against `dribbling` with 1 s per call: its sync_log, seconds, dribbled calls."""
    with HostileServer(dribbling) as server:
        started = time.monotonic()
        logs = load(pipeline, server, request_timeout_seconds=1.0, **settings)
        return logs, time.monotonic() - started, len(server.calls("getusercumulate"))


def test_a_dribbling_server_cannot_hold_a_call_past_its_deadline(pipeline: dlt.Pipeline) -> None:
    logs, elapsed, calls = timed_load(pipeline, resources=["user_cumulate", "user_summary"])
    assert logs["user_summary"]["status"] == "ok"
    assert logs["user_cumulate"]["status"] == "failed"
    assert "no complete answer within 1 s" in logs["user_cumulate"]["message"]
    assert calls == 2  # the call and its one retry
    assert elapsed < 10, elapsed  # each held 25 s without a total deadline


def test_a_deadline_that_passes_while_connecting_still_ends_the_call(
    pipeline: dlt.Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a slow name lookup or connect: the deadline passes before there is a socket to shut
    connect = urllib3.util.connection.create_connection

    def slow_connect(*args: Any, **kwargs: Any) -> Any:
        time.sleep(1.5)
        return connect(*args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", slow_connect)
    logs, elapsed, _ = timed_load(
        pipeline, resources=["user_cumulate"], access_token=TOKEN, app_secret=None
    )
    assert logs["user_cumulate"]["status"] == "failed"
    assert "no complete answer within 1 s" in logs["user_cumulate"]["message"]
    assert elapsed < 10, elapsed  # two attempts of 1.5 s; each held 25 s before


@pytest.mark.parametrize("repeat", [True, False], ids=["ignores page", "pages forever"])
def test_runaway_paging_stops_within_what_the_window_can_hold(
    pipeline: dlt.Pipeline, repeat: bool
) -> None:
    def answer(request: Request) -> Reply:
        if request.name != "publisher_adpos_general":
            return wechat_like(request)
        page = 1 if repeat else int(request.query["page"])
        rows = [
            {"date": START.isoformat(), "ad_slot": f"SLOT_{page}_{n}", "income": n}
            for n in range(90)
        ]
        return Reply({"base_resp": {"ret": 0, "err_msg": "ok"}, "list": rows})

    with HostileServer(answer) as server:
        logs = load(pipeline, server, resources=["publisher_adpos_general"])
        calls = len(server.calls("publisher_adpos_general"))
    log = logs["publisher_adpos_general"]
    assert log["status"] == "failed" and log["rows"] == 0
    if repeat:
        assert calls == 2 and "page 2 repeats page 1" in log["message"]
    else:
        # 7 days of at most 20 slots are 140 rows: the second page of 90 goes past them
        assert calls == 2 and "paging went on to page 2, past the 140 rows" in log["message"]


def test_pages_shorter_than_asked_are_read_to_the_total(
    tmp_path: Path, pipeline: dlt.Pipeline
) -> None:
    def answer(request: Request) -> Reply:
        if request.name != "publisher_adpos_general":
            return wechat_like(request)
        # a server that caps pages at 5 rows: a short page is not the last one here
        rows = wechat_like(Request("GET", request.path, {**request.query, "page": "1"}, None))
        everything = rows.body["list"]
        page = int(request.query["page"])
        body = {**rows.body, "list": everything[(page - 1) * 5 : page * 5]}
        return Reply({**body, "total_num": float(len(everything))})

    with HostileServer(answer) as server:
        logs = load(pipeline, server, resources=["publisher_adpos_general"])
        calls = len(server.calls("publisher_adpos_general"))
    assert logs["publisher_adpos_general"]["status"] == "ok" and calls == 3  # 14 rows
    reference = clean_load(tmp_path, resources=["publisher_adpos_general"])
    assert snapshot(pipeline) == snapshot(reference)


@pytest.mark.parametrize("expires_in", [0, -5, "soon", None, 10**12])
def test_a_nonsensical_token_lifetime_is_read_as_short_not_as_expired(
    pipeline: dlt.Pipeline, expires_in: Any
) -> None:
    def answer(request: Request) -> Reply:
        if request.name == "stable_token":
            return Reply({"access_token": TOKEN, "expires_in": expires_in})
        return wechat_like(request)

    with HostileServer(answer) as server:
        logs = load(pipeline, server, resources=["user_cumulate", "article_summary"])
        tokens, data = len(server.calls("stable_token")), len(server.calls()) - 1
    assert {log["status"] for log in logs.values()} == {"ok"}
    assert data == 8 and tokens == 1  # not a token before each of the 8 data calls


# --- E: secrets never leave, never show --------------------------------------------------


@pytest.fixture
def elsewhere() -> Iterator[HostileServer]:
    """Another host, as a redirect would name it: it must never hear from the source."""
    with HostileServer(wechat_like) as server:
        yield server


@pytest.mark.parametrize("hop", ["stable_token", "getusercumulate"])
def test_a_redirect_never_carries_a_secret_to_another_host(
    pipeline: dlt.Pipeline, elsewhere: HostileServer, hop: str
) -> None:
    def answer(request: Request) -> Reply:
        if request.name == hop:
            target = f"http://localhost:{elsewhere.port}{request.path}?stolen=1"
            return Reply({}, status=307, headers={"Location": target})
        return wechat_like(request)

    with HostileServer(answer) as server:
        logs = load(pipeline, server, resources=["user_cumulate"])
    log = logs["user_cumulate"]
    assert log["status"] == "failed"
    assert "HTTP 307: a redirect to localhost was refused" in log["message"]
    assert elsewhere.calls() == []
    assert "stolen" not in log["message"]


def test_an_echoed_secret_is_masked_in_tables_messages_and_logs(
    pipeline: dlt.Pipeline, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    def answer(request: Request) -> Reply:
        if request.name == "getusercumulate":
            message = f"invalid appsecret {APP_SECRET}, token {TOKEN}"
            return Reply({"errcode": 40003, "errmsg": message})
        reply = wechat_like(request)
        if request.name == "getarticlesummary":
            for row in reply.body.get("list", []):
                row.update({"title": f"echo {TOKEN}", "debug": f"secret was {APP_SECRET}"})
                row[TOKEN.upper()] = 1  # as a field's name: dlt makes it a column's
        return reply

    caplog.set_level(logging.DEBUG)
    with HostileServer(answer) as server:
        logs = load(pipeline, server, resources=["user_cumulate", "article_summary"])
    assert logs["user_cumulate"]["status"] == "failed"
    assert "40003" in logs["user_cumulate"]["message"]
    assert "was masked as ***" in logs["article_summary"]["message"]
    assert {row["title"] for row in table_rows(pipeline, "article_summary")} == {"echo ***"}
    captured = capsys.readouterr()
    columns = repr(pipeline.default_schema.tables)
    for place in (every_value(pipeline), columns, caplog.text, captured.out, captured.err):
        assert TOKEN not in place and APP_SECRET not in place
        assert TOKEN.replace("-", "_") not in place
