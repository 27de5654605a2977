"""Many accounts in one dataset: own state, own failures, nothing crossing between them.

Every test here runs on DuckDB and on PostgreSQL.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Tuple

import dlt
import pytest
import time_machine

from tests.helpers import LAST_COMPLETE, make_pipeline, query, table_rows
from wechat_datacube_source import (
    AccountSource,
    ConfigurationError,
    account_sources,
    wechat_datacube_accounts,
)
from wechat_datacube_source.emulator import Emulator, FaultRule
from wechat_datacube_source.run_summary import run_results

pytestmark = pytest.mark.destinations

SECRETS = {
    "wx0000000000000a01": "secret-a",
    "wx0000000000000b02": "secret-b",
    "wx0000000000000c03": "secret-c",
}
A, B, C = SECRETS
TABLES = ["user_summary", "user_cumulate", "article_total", "upstream_msg_week"]
FIRST_DAY = LAST_COMPLETE - timedelta(days=20)


@pytest.fixture
def accounts_api(clock: time_machine.Traveller) -> Iterator[Emulator]:
    with Emulator(SECRETS) as emulator:
        yield emulator


def entries(secrets: Mapping[str, str] = SECRETS) -> List[Dict[str, Any]]:
    return [{"app_id": app_id, "app_secret": secret} for app_id, secret in secrets.items()]


def sources(api: Emulator, secrets: Mapping[str, str] = SECRETS) -> List[AccountSource]:
    return account_sources(
        entries(secrets),
        base_url=api.base_url,
        retry_backoff_seconds=0.0,
        max_retries=1,
        resources=TABLES,
        start_date=FIRST_DAY.isoformat(),
    )


def load(tmp_path: Path, destination: Any, account: AccountSource) -> Dict[str, str]:
    """Runs one account in its own pipeline; its endpoints' statuses."""
    pipeline = make_pipeline(tmp_path, name=account.pipeline_name, destination=destination)
    info = pipeline.run(account.source)
    info.raise_on_failed_jobs()
    return {result.endpoint: result.status for result in run_results(pipeline, info)}


def reader(tmp_path: Path, destination: Any) -> dlt.Pipeline:
    """A pipeline that only reads the shared dataset."""
    return make_pipeline(tmp_path, name="wechat_reader", destination=destination)


def rows_by_account(
    tmp_path: Path, destination: Any, with_load_id: bool = True
) -> Dict[Tuple[str, str], List[str]]:
    """Every row of the data tables, by (table, app_id); with the load that wrote it, so a
    row merged again with the same numbers still counts as touched."""
    found: Dict[Tuple[str, str], List[str]] = {}
    shared = reader(tmp_path, destination)
    for table in TABLES:
        for row in table_rows(shared, table):
            kept = {k: v for k, v in row.items() if with_load_id or not k.startswith("_dlt")}
            found.setdefault((table, row["app_id"]), []).append(repr(sorted(kept.items())))
    return {key: sorted(rows) for key, rows in found.items()}


def state_of(tmp_path: Path, destination: Any, app_id: str) -> Dict[str, Any]:
    pipeline = make_pipeline(tmp_path, name=f"wechat_datacube_{app_id}", destination=destination)
    return dict(pipeline.state["sources"]["wechat_datacube"]["resources"])


def stored_states(tmp_path: Path, destination: Any) -> Dict[str, Tuple[Any, ...]]:
    """The newest state each pipeline stored in the destination, by pipeline name."""
    rows = query(
        reader(tmp_path, destination),
        "SELECT pipeline_name, version, state FROM wechat._dlt_pipeline_state "
        "ORDER BY pipeline_name, version",
    )
    return {name: (version, state) for name, version, state in rows}


def test_three_accounts_share_a_dataset_and_a_rerun_touches_only_its_own_rows(
    tmp_path: Path, destination: Any, accounts_api: Emulator, clock: time_machine.Traveller
) -> None:
    for account in sources(accounts_api):
        assert set(load(tmp_path, destination, account).values()) == {"ok"}
    before = rows_by_account(tmp_path, destination)
    # each account's own numbers, as the emulator made them for it (rows compared with their
    # app_id differed whatever they held: with every account served A's numbers, this passed)
    cumulated = query(
        reader(tmp_path, destination),
        "SELECT app_id, ref_date, cumulate_user FROM wechat.user_cumulate",
    )
    assert len(cumulated) == 3 * ((LAST_COMPLETE - FIRST_DAY).days + 1)
    for app_id, day, followers in cumulated:
        assert followers == accounts_api.model(app_id).cumulate(day), (app_id, day)
    for table in TABLES:
        numbers = [
            sorted(
                tuple(v for k, v in row.items() if k != "app_id" and not k.startswith("_dlt"))
                for row in table_rows(reader(tmp_path, destination), table)
                if row["app_id"] == app_id
            )
            for app_id in SECRETS
        ]
        assert all(numbers) and len({repr(n) for n in numbers}) == 3, table
    days = query(
        reader(tmp_path, destination),
        "SELECT app_id, MIN(ref_date), MAX(ref_date) FROM wechat.user_cumulate GROUP BY app_id",
    )
    assert sorted(days) == [(app_id, FIRST_DAY, LAST_COMPLETE) for app_id in sorted(SECRETS)]
    states = stored_states(tmp_path, destination)
    assert set(states) == {f"wechat_datacube_{app_id}" for app_id in SECRETS}

    # two days later only B runs: its refresh windows are merged again, its new days added
    clock.shift(timedelta(days=2))
    [account_b] = [account for account in sources(accounts_api) if account.app_id == B]
    assert set(load(tmp_path, destination, account_b).values()) == {"ok"}
    after = rows_by_account(tmp_path, destination)
    for table in TABLES:
        for app_id in (A, C):
            assert after[(table, app_id)] == before[(table, app_id)], (table, app_id)
    assert after[("user_cumulate", B)] != before[("user_cumulate", B)]
    last = query(
        reader(tmp_path, destination),
        f"SELECT MAX(ref_date) FROM wechat.user_cumulate WHERE app_id = '{B}'",
    )
    assert last == [(LAST_COMPLETE + timedelta(days=2),)]
    # only B stored a new state in the destination
    stored = stored_states(tmp_path, destination)
    assert {name for name in stored if stored[name] != states[name]} == {f"wechat_datacube_{B}"}
    moved = state_of(tmp_path, destination, B)["user_cumulate"]["fetched_through"]
    assert moved == (LAST_COMPLETE + timedelta(days=2)).isoformat()


def test_one_account_failing_leaves_the_others_whole(
    tmp_path: Path, destination: Any, accounts_api: Emulator
) -> None:
    # B's secret was rotated in mp.weixin.qq.com; C runs out of daily quota mid-run
    accounts_api.add_fault(
        FaultRule(
            "errcode", errcode=45009, errmsg="reach max api daily quota limit", app_id=C, after=2
        )
    )
    configured = {**SECRETS, B: "an-old-secret"}
    statuses = {
        account.app_id: load(tmp_path, destination, account)
        for account in sources(accounts_api, configured)
    }
    assert set(statuses[A].values()) == {"ok"}
    assert set(statuses[B].values()) == {"failed"}
    # C stopped where its quota ended: what it fetched before is kept, marked partial. Only
    # upstream_msg_week (three weeks, one call) can fit whole in the two calls WeChat answered
    # before the quota, and then it is complete, so ok; the others need more calls than that
    assert set(statuses[C].values()) <= {"ok", "partial", "failed"}
    assert {table for table, status in statuses[C].items() if status == "ok"} <= {
        "upstream_msg_week"
    }
    assert "partial" in statuses[C].values()
    log = query(
        reader(tmp_path, destination),
        "SELECT app_id, errcode FROM wechat.sync_log WHERE errcode IS NOT NULL",
    )
    assert {errcode for app_id, errcode in log if app_id == B} == {40125}
    assert {errcode for app_id, errcode in log if app_id == C} == {45009}
    assert {app_id for app_id, _ in log} == {B, C}

    # A's tables are exactly what A alone would have loaded
    alone = tmp_path / "alone"
    with Emulator({A: SECRETS[A]}) as clean:
        [only_a] = sources(clean, {A: SECRETS[A]})
        load(alone, dlt.destinations.duckdb(str(alone / "a.duckdb")), only_a)
    shared = rows_by_account(tmp_path, destination, with_load_id=False)
    reference = rows_by_account(
        alone, dlt.destinations.duckdb(str(alone / "a.duckdb")), with_load_id=False
    )
    for table in TABLES:
        assert shared[(table, A)] == reference[(table, A)], table


def test_every_account_is_checked_before_any_call(tmp_path: Path, accounts_api: Emulator) -> None:
    def run_all(accounts: List[Dict[str, Any]]) -> None:
        """Every account run, one after another, as the pipeline script does."""
        destination = dlt.destinations.duckdb(str(tmp_path / "accounts.duckdb"))
        for account in account_sources(
            accounts, base_url=accounts_api.base_url, resources=["user_cumulate"]
        ):
            load(tmp_path, destination, account)

    broken = entries()
    broken[2]["start_date"] = "2024-02-30"
    with pytest.raises(ConfigurationError, match=r"accounts\[2\]\.start_date"):
        run_all(broken)
    twice = [*entries(), entries()[0]]
    with pytest.raises(ConfigurationError, match=r"accounts\[3\]\.app_id: .* listed twice"):
        run_all(twice)
    with pytest.raises(ConfigurationError, match=r"accounts\[0\]\.app_scret: is not a setting"):
        run_all([{"app_id": A, "app_scret": "x"}])
    # not even the accounts before the bad entry were run
    assert accounts_api.requests == []
    # (the control: with good entries, the same statement calls for every account)
    run_all(entries())
    assert {r.app_id for r in accounts_api.data_requests()} == set(SECRETS)


def test_the_former_name_of_account_sources_still_works_and_says_so() -> None:
    listed = [{"app_id": "wx00000000000000a1", "app_secret": "a"}]
    with pytest.warns(DeprecationWarning, match=r"now account_sources\(\)"):
        former = wechat_datacube_accounts(listed)
    assert [(a.app_id, a.pipeline_name) for a in former] == [
        (a.app_id, a.pipeline_name) for a in account_sources(listed)
    ]
