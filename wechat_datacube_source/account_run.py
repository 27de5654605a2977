"""One run of one account: what its endpoints share, made when the run's extract starts and
released when it ends.

A source object is made once and may be run many times (an Airflow worker runs many, a user
reruns one in a notebook). What a run shares, its thread pool, its run id, the day it treats
as the last complete one, therefore belongs to the run, not to the source: made when the first
endpoint of an extract starts and released when the last one ends (`RunScope`). A source built
with a pool of its own left 8 idle threads per run in the process, and every rerun of one
source object wrote `sync_log` rows under the same run id.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Callable, Iterator, Optional

import dlt
from dlt.common.storages.exceptions import CurrentLoadPackageStateNotAvailable

from .client import WeChatClient
from .clock import last_complete_day
from .config import SourceConfig
from .progress import RunProgress, track


class FreshFirst:
    """History waits until no endpoint of the run is still catching up to the last complete
    day: the calls a run may make (`max_calls`, or WeChat's daily quota) go to the newest data
    of every endpoint first.

    An endpoint counts from when it starts until its fresh part ends. dlt's default
    round-robin mode starts every endpoint in its first turn, so an endpoint that yields once
    before asking finds every other one counted; in `fifo` mode the others have not started
    and none holds it back (it could not wait for them: they start after it ends)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._catching_up = 0

    def catching_up(self) -> None:
        with self._lock:
            self._catching_up += 1

    def caught_up(self) -> None:
        with self._lock:
            self._catching_up -= 1

    @property
    def open(self) -> bool:
        """No endpoint is catching up: history may be fetched."""
        with self._lock:
            return self._catching_up == 0


@dataclass(frozen=True)
class AccountRun:
    """What every endpoint resource of one account shares in one run."""

    config: SourceConfig
    client: WeChatClient
    last_complete_day: date
    pool: ThreadPoolExecutor
    """Fetches windows ahead for all endpoints; as wide as the account's in-flight limit."""
    run_id: str
    progress: RunProgress
    fresh: FreshFirst = field(default_factory=FreshFirst)
    """Holds history back until every endpoint of the run is up to date."""

    @classmethod
    def start(cls, config: SourceConfig, previous: Optional["AccountRun"] = None) -> "AccountRun":
        """A new run of the account: its client, its pool, the day it treats as last
        complete (fixed for the run, so that every endpoint ends on the same day).

        Given `previous`, whose endpoints have all ended, it is more of that run, for an
        endpoint that starts after them (dlt's `fifo` mode runs endpoints one after another):
        with a pool and connections of its own, and the run's id, call budget, account stop
        and progress carried on."""
        client = WeChatClient.for_account(config)
        pool = ThreadPoolExecutor(
            config.limits.max_concurrent_requests, thread_name_prefix="wechat-datacube"
        )
        if previous is None:
            run_id = new_run_id()
            progress = track(run_id, config.app_id)
            day = last_complete_day()
        else:
            run_id, progress, day = previous.run_id, previous.progress, previous.last_complete_day
            client.carry_on(previous.client)
            progress.resume()
        return cls(config, client, day, pool, run_id, progress)

    @property
    def app_id(self) -> str:
        return self.config.app_id

    @property
    def lookahead(self) -> int:
        """Windows of one endpoint queued before the oldest one is committed: twice the pool,
        so its threads still have work while the oldest window is turned into rows."""
        return 2 * self.client.transport.limits.max_concurrent_requests

    def close(self) -> None:
        """Releases the run's threads and connections. The windows still queued belong to
        endpoints that stopped; those in flight end within their deadline; no thread
        outlives the run."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.client.transport.session.close()
        self.progress.finish()

    def redact(self, text: str) -> str:
        """`text` without the account's secrets: what the run writes may quote what WeChat
        sent, and a server may echo the token or the secret."""
        return self.client.transport.redactor(text)


_run_id_lock = threading.Lock()
_last_run_started = datetime.min.replace(tzinfo=timezone.utc)


def new_run_id() -> str:
    """A run id that sorts in run order: its start to the microsecond (never the same twice
    in a process, even if the clock stands still or steps back), then a random suffix that
    keeps processes apart."""
    global _last_run_started
    with _run_id_lock:
        started = max(datetime.now(timezone.utc), _last_run_started + timedelta(microseconds=1))
        _last_run_started = started
    return f"{started:%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4().hex[:8]}"


class RunScope:
    """The `AccountRun` of the extract under way: the same for every endpoint of one extract
    (one run id), a new one for each extract, its pool shut down when its last endpoint ends.

    An extract is told by dlt's load package: each extract writes a package of its own. An
    endpoint that starts after the others of its extract have ended gets a run with the same
    id and a pool and connections of its own. A source iterated with no pipeline (`list(...)`,
    to look at rows) has no package: each iteration is a run.
    """

    def __init__(self, make: Callable[[Optional[AccountRun]], AccountRun]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._run: Optional[AccountRun] = None
        self._package: Optional[str] = None
        self._users = 0

    @contextmanager
    def run(self) -> Iterator[AccountRun]:
        package = load_under_way()
        with self._lock:
            if (
                self._run is None
                or package != self._package
                or (package is None and self._users == 0)  # iterated with no pipeline
            ):
                self._run, self._package = self._make(None), package
            elif self._users == 0:  # (its pool and connections were released)
                self._run = self._make(self._run)
            self._users += 1
            run = self._run
        try:
            yield run
        finally:
            with self._lock:
                self._users -= 1
                last = self._users == 0
            if last:
                run.close()


def load_under_way() -> Optional[str]:
    """The load id of dlt's extract under way, or None if there is none."""
    try:
        return dlt.current.load_package_state().get("load_id")
    except CurrentLoadPackageStateNotAvailable:
        return None
