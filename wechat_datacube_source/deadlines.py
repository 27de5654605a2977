"""A total deadline for each HTTP exchange, from connecting to the last byte of the body.

`requests` has no such thing: its timeouts bound each socket operation, so a server that
sends one byte a second keeps a call alive for as long as it likes (a call took 40 s at a
3 s timeout). Here every connection a `DeadlineAdapter` opens registers with the deadline of
the thread that uses it, and one watchdog thread shuts the connection's socket down when the
deadline passes: the blocked read returns at once and the exchange fails like a timeout.
"""

import contextlib
import heapq
import itertools
import socket
import threading
import time
import weakref
from typing import Any, Iterator, List, Optional, Tuple

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Deadline:
    """The moment one exchange must be over by, and the connections it is using."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self.finished = False
        self._connections: List[HTTPConnection] = []

    def watch(self, connection: HTTPConnection) -> None:
        """`connection` serves this exchange now; shut at once if its time is already up."""
        with _OWNERS:
            _owner[connection] = self
            self._connections.append(connection)
            if self.expired:
                _shut(connection)

    def connected(self, connection: HTTPConnection) -> None:
        """The socket exists now: if the deadline passed while it was being opened (a slow
        name lookup or connect), nothing could be shut then, so it is shut now."""
        with _OWNERS:
            if self.expired and _owner.get(connection) is self:
                _shut(connection)

    def expire(self) -> None:
        with _OWNERS:
            if self.finished:
                return
            self.expired = True
            for connection in self._connections:
                # a connection this exchange gave back may already serve another one
                if _owner.get(connection) is self:
                    _shut(connection)

    def finish(self) -> None:
        with _OWNERS:
            self.finished = True
            for connection in self._connections:
                if _owner.get(connection) is self:
                    del _owner[connection]


# which deadline each connection serves; one lock for it and for shutting sockets, so a late
# watchdog never shuts a connection another exchange has taken from the pool meanwhile
_OWNERS = threading.Lock()
_owner: "weakref.WeakKeyDictionary[HTTPConnection, Deadline]" = weakref.WeakKeyDictionary()


def _shut(connection: HTTPConnection) -> None:
    sock: Optional[socket.socket] = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread for the process, asleep unless a deadline is pending."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._pending: List[Tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._thread: Optional[threading.Thread] = None

    def arm(self, deadline: Deadline) -> None:
        with self._condition:
            heapq.heappush(self._pending, (deadline.at, next(self._order), deadline))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="wechat-datacube-deadlines", daemon=True
                )
                self._thread.start()
            if self._pending[0][2] is deadline:
                # the watchdog sleeps until the earliest deadline; only an earlier one wakes it
                # (calls share one timeout, so that is rare: no thread switch per call)
                self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while self._pending and self._pending[0][2].finished:
                    heapq.heappop(self._pending)  # disarmed
                if not self._pending:
                    self._condition.wait()
                    continue
                at, _, deadline = self._pending[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._condition.wait(wait)
                    continue
                heapq.heappop(self._pending)
            deadline.expire()


_WATCHDOG = _Watchdog()


@contextlib.contextmanager
def total_deadline(seconds: float) -> Iterator[Deadline]:
    """Every request this thread sends inside the block must be over within `seconds`."""
    deadline = Deadline(seconds)
    _current.deadline = deadline
    _WATCHDOG.arm(deadline)
    try:
        yield deadline
    finally:
        deadline.finish()
        _current.deadline = None


class _Watched:
    """Mixin for urllib3 connections: each request puts the connection under the deadline of
    the thread that sends it (a kept-alive connection serves several deadlines in turn)."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline: Optional[Deadline] = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.watch(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        deadline: Optional[Deadline] = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.connected(self)  # type: ignore[arg-type]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections, direct or through a proxy, honour `total_deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager
