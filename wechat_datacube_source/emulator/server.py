"""A local stand-in for api.weixin.qq.com: real HTTP on loopback, the reference's rules.

Routes: `POST /datacube/<name>`, `GET /publisher/stat?action=`, `GET /cgi-bin/token`,
`POST /cgi-bin/stable_token`, and `/__emulator__/...` for tests driving a separate process
(faults, request log, token expiry). Which endpoints exist, their spans and earliest dates
come from the catalog, so the emulator and the connector cannot drift apart silently.

Defaults follow the reference: errors are HTTP 200 with `errcode`/`errmsg` (+ ` rid: ...`),
spans are the old documented ones, an end date of today or later is `61501`, yesterday
before 08:00 Beijing time is `61503`, days before an endpoint's floor have no rows.
"""

import json
import logging
import secrets
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union
from urllib.parse import parse_qs, urlsplit

import orjson

from ..catalog import BY_API_NAME, Endpoint
from ..clock import beijing_now, last_complete_day
from ..settings import PUBLISHER_PAGE_SIZE
from ..windows import period_end, period_start
from .faults import TOKEN_ROUTES, FaultRule
from .model import AccountModel, Row
from .samples import SAMPLES
from .tokens import TokenRegistry

logger = logging.getLogger(__name__)

DEMO_APP_ID = "wxd3m0000000000001"
DEMO_APP_SECRET = "demo-app-secret-0000000000000001"
ADMIN_PREFIX = "/__emulator__"
ONE_DAY = timedelta(days=1)


@dataclass
class RequestRecord:
    """One request as the emulator saw it, for tests to assert on."""

    method: str
    path: str
    endpoint: str
    params: Dict[str, str]
    body: Any
    app_id: Optional[str] = None
    begin: Optional[date] = None
    end: Optional[date] = None
    errcode: int = 0
    status: int = 200
    fault: Optional[str] = None
    at: float = field(default_factory=time.time)

    def to_json(self) -> Dict[str, Any]:
        data = asdict(self)
        data["begin"] = self.begin.isoformat() if self.begin else None
        data["end"] = self.end.isoformat() if self.end else None
        return data


class _Reply:
    """What the handler sends: a JSON body (or raw bytes), an HTTP status, extra headers."""

    def __init__(
        self,
        body: Any = None,
        status: int = 200,
        raw: Optional[bytes] = None,
        headers: Optional[Dict[str, str]] = None,
        drop: bool = False,
        errcode: int = 0,
        declared_length: Optional[int] = None,
        content_type: str = "application/json; charset=utf-8",
    ) -> None:
        self.raw = raw if raw is not None else _encode(body)
        self.status = status
        self.headers = headers or {}
        self.drop = drop
        self.errcode = errcode
        self.declared_length = declared_length
        self.content_type = content_type


def _encode(body: Any) -> bytes:
    """orjson is ten times faster, which keeps the emulator's CPU out of benchmark figures;
    it refuses integers beyond 64 bits (the `bigint` mutation), which json writes exactly."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body, ensure_ascii=False).encode()


def _rid() -> str:
    return "-".join(secrets.token_hex(4) for _ in range(3))


def _error(errcode: int, errmsg: str) -> _Reply:
    return _Reply({"errcode": errcode, "errmsg": f"{errmsg} rid: {_rid()}"}, errcode=errcode)


def _publisher_error(ret: int, err_msg: str) -> _Reply:
    return _Reply({"base_resp": {"err_msg": f"{err_msg} rid: {_rid()}", "ret": ret}}, errcode=ret)


class Emulator:
    """The emulated API. `start()` serves it on 127.0.0.1 in a background thread."""

    def __init__(
        self,
        accounts: Optional[Mapping[str, str]] = None,
        *,
        latency_seconds: float = 0.0,
        samples: Union[bool, Mapping[str, str]] = False,
        spans: Optional[Mapping[str, Optional[int]]] = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        token_ttl_seconds: float = 7200,
        classic_grace_seconds: float = 300,
        not_ready: str = "61503",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.accounts: Dict[str, str] = dict(accounts or {DEMO_APP_ID: DEMO_APP_SECRET})
        self.latency_seconds = latency_seconds
        # True: the official samples; a mapping: those payloads for those api names
        self.samples: Dict[str, str] = {}
        if samples:
            self.samples = dict(SAMPLES) if samples is True else {**SAMPLES, **samples}
        self.spans: Dict[str, Optional[int]] = {
            e.api_name: e.api_span for e in BY_API_NAME.values()
        }
        self.spans.update(spans or {})
        self.clock = clock
        self.not_ready = not_ready
        self.tokens = TokenRegistry(token_ttl_seconds, classic_grace_seconds, clock)
        self.faults: List[FaultRule] = []
        self.requests: List[RequestRecord] = []
        self.in_flight = 0
        self.max_in_flight = 0
        """The most requests handled at once, to check a client's concurrency limit."""
        self._lock = threading.Lock()
        self._models: Dict[str, AccountModel] = {}
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def base_url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> "Emulator":
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="wechat-emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def add_fault(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def data_requests(self, endpoint: Optional[str] = None) -> List[RequestRecord]:
        """Logged statistics requests (not token fetches), optionally of one api name/table."""
        with self._lock:
            records = list(self.requests)
        return [
            r
            for r in records
            if r.endpoint in BY_API_NAME
            and (endpoint is None or endpoint in (r.endpoint, BY_API_NAME[r.endpoint].table))
        ]

    def model(self, app_id: str) -> AccountModel:
        with self._lock:
            if app_id not in self._models:
                self._models[app_id] = AccountModel(app_id)
            return self._models[app_id]

    def handle(self, method: str, raw_path: str, raw_body: bytes) -> _Reply:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._handle(method, raw_path, raw_body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _handle(self, method: str, raw_path: str, raw_body: bytes) -> _Reply:
        parts = urlsplit(raw_path)
        params = {
            key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()
        }
        if parts.path.startswith(ADMIN_PREFIX):
            return self._admin(method, parts.path[len(ADMIN_PREFIX) :], raw_body)
        endpoint_name, endpoint = _route(parts.path, params)
        record = RequestRecord(method, parts.path, endpoint_name, params, _decode(raw_body))
        if endpoint is not None:
            record.begin, record.end = _window_of(endpoint, params, record.body)
        # logged on arrival: a client that timed out and moved on has still made the request,
        # even while its answer is being delayed here
        with self._lock:
            self.requests.append(record)
        if self.latency_seconds:
            time.sleep(self.latency_seconds)
        rule = self._matching_fault(endpoint_name, endpoint, record)
        reply = self._fault_reply(rule, endpoint) if rule else None
        if reply is None:
            reply = self._answer(method, parts.path, params, raw_body, endpoint, record)
            if rule is not None and rule.kind == "empty" and endpoint is not None:
                reply = _without_days(reply, endpoint, rule.dates)
            if rule is not None and rule.kind == "mutate" and endpoint is not None:
                reply = _mutated(reply, endpoint, rule.mutation, rule.dates)
        record.errcode, record.status = reply.errcode, reply.status
        return reply

    def _matching_fault(
        self, name: str, endpoint: Optional[Endpoint], record: RequestRecord
    ) -> Optional[FaultRule]:
        route = TOKEN_ROUTES if name in ("token", "stable_token") else "data"
        names = (
            (name, TOKEN_ROUTES)
            if route == TOKEN_ROUTES
            else (name, endpoint.table if endpoint else name)
        )
        app_id = record.params.get("appid") or (
            record.body.get("appid") if isinstance(record.body, dict) else None
        )
        if app_id is None and "access_token" in record.params:
            app_id, _ = self.tokens.check(record.params["access_token"])
        with self._lock:
            rules = list(self.faults)
        for rule in rules:
            if rule.matches(route, names, app_id, record.begin, record.end) and rule.fire():
                record.fault = rule.kind
                return rule
        return None

    def _fault_reply(self, rule: FaultRule, endpoint: Optional[Endpoint]) -> Optional[_Reply]:
        """The reply a fault replaces the answer with; None when the answer still goes out."""
        if rule.kind == "errcode":
            if endpoint is not None and endpoint.is_publisher:
                return _publisher_error(rule.errcode, rule.errmsg)
            return _error(rule.errcode, rule.errmsg)
        if rule.kind == "http":
            headers = {} if rule.retry_after is None else {"Retry-After": f"{rule.retry_after:g}"}
            return _Reply({"error": "upstream"}, status=rule.status, headers=headers, errcode=0)
        if rule.kind == "timeout":
            time.sleep(rule.seconds)
            return None
        if rule.kind == "drop":
            return _Reply(raw=b"", drop=True)
        if rule.kind == "malformed":
            return _Reply(raw=b'{"list":[{"ref_date":"20')
        if rule.kind == "truncated":
            return _Reply(raw=b'{"list":[{"ref_date":', declared_length=4096)
        if rule.kind == "not_json":
            return _Reply(
                raw=b"<html><body><h1>502 Bad Gateway</h1></body></html>", content_type="text/html"
            )
        if rule.kind == "is_delay":
            return _Reply({"list": [], "is_delay": True})
        return None  # "empty" and "mutate" change the real answer; "timeout" answers late

    def _answer(
        self,
        method: str,
        path: str,
        params: Dict[str, str],
        raw_body: bytes,
        endpoint: Optional[Endpoint],
        record: RequestRecord,
    ) -> _Reply:
        if path == "/cgi-bin/token":
            return self._classic_token(method, params, record)
        if path == "/cgi-bin/stable_token":
            return self._stable_token(method, record)
        if endpoint is None:
            return _Reply({"errcode": 404, "errmsg": "not found"}, status=404)
        app_id, token_error = self.tokens.check(params.get("access_token"))
        if token_error:
            return _error(*token_error)
        record.app_id = app_id
        if endpoint.is_publisher:
            return self._publisher(endpoint, method, params, app_id or "")
        return self._datacube(endpoint, method, raw_body, app_id or "")

    def _credentials_error(self, app_id: Any, secret: Any) -> Optional[_Reply]:
        if not app_id:
            return _error(41002, "appid missing")
        if not secret:
            return _error(41004, "appsecret missing")
        if app_id not in self.accounts:
            return _error(40013, "invalid appid")
        if self.accounts[app_id] != secret:
            return _error(40125, "invalid appsecret")
        return None

    def _classic_token(self, method: str, params: Dict[str, str], record: RequestRecord) -> _Reply:
        if params.get("grant_type") != "client_credential":
            return _error(40002, "invalid grant_type")
        problem = self._credentials_error(params.get("appid"), params.get("secret"))
        if problem:
            return problem
        record.app_id = params["appid"]
        token, expires_in = self.tokens.classic(params["appid"])
        return _Reply({"access_token": token, "expires_in": expires_in})

    def _stable_token(self, method: str, record: RequestRecord) -> _Reply:
        body = record.body
        if method != "POST" or not isinstance(body, dict):
            return _error(47001, "data format error")
        if body.get("grant_type") != "client_credential":
            return _error(40002, "invalid grant_type")
        problem = self._credentials_error(body.get("appid"), body.get("secret"))
        if problem:
            return problem
        record.app_id = body["appid"]
        token, expires_in, error = self.tokens.stable(
            body["appid"], body.get("force_refresh") is True
        )
        if error:
            return _error(*error)
        return _Reply({"access_token": token, "expires_in": expires_in})

    def _range_error(self, endpoint: Endpoint, begin: date, end: date) -> Optional[Tuple[int, str]]:
        """WeChat's checks of a date range, in the order it applies them."""
        if begin > end:
            return 61501, "date range error"
        span = self.spans.get(endpoint.api_name)
        if span is not None and (end - begin).days + 1 > span:
            return 61501, "date range error"
        today = beijing_now(self.clock()).date()
        if end >= today:  # reference §9: assumed 61501, no official statement
            return 61501, "date range error"
        if end > last_complete_day(self.clock()) and self.not_ready == "61503":
            return 61503, "data not ready, please try later"
        return None

    def _datacube(self, endpoint: Endpoint, method: str, raw_body: bytes, app_id: str) -> _Reply:
        if method != "POST":
            return _error(43002, "require POST method")
        if not raw_body.strip():
            return _error(44002, "empty post data")
        try:
            body = json.loads(raw_body)
        except ValueError:
            return _error(47001, "data format error")
        begin, end = _dates(body if isinstance(body, dict) else {}, "begin_date", "end_date")
        if begin is None or end is None:
            return _error(61500, "date format error")
        problem = self._range_error(endpoint, begin, end)
        if problem:
            return _error(*problem)
        if self.samples:
            return _Reply(raw=self.samples[endpoint.api_name].encode())
        reply: Dict[str, Any] = {"list": self.rows(endpoint, app_id, begin, end)}
        if endpoint.has_is_delay:
            reply["is_delay"] = False
        return _Reply(reply)

    def rows(self, endpoint: Endpoint, app_id: str, begin: date, end: date) -> List[Row]:
        """Every row the account has for a request of `begin..end` (no paging)."""
        model = self.model(app_id)
        ready = last_complete_day(self.clock())
        first = max(begin, endpoint.earliest)
        rows: List[Row] = []
        if endpoint.grain in ("week", "month"):
            start = period_start(first, endpoint.grain)
            start = start if start >= first else period_end(start, endpoint.grain) + ONE_DAY
            daily = endpoint.table.rsplit("_", 1)[0]
            while start <= end and period_end(start, endpoint.grain) <= ready:
                rows.extend(
                    model.period_rows(daily, start, endpoint.grain, endpoint.primary_key[1])
                )
                start = period_end(start, endpoint.grain) + ONE_DAY
            return rows
        for day in _days(first, min(end, ready)):
            if endpoint.explode:
                rows.extend(getattr(model, endpoint.table)(day, ready))
            else:
                rows.extend(getattr(model, endpoint.table)(day))
        return rows

    def _publisher(
        self, endpoint: Endpoint, method: str, params: Dict[str, str], app_id: str
    ) -> _Reply:
        if method != "GET":
            return _publisher_error(43001, "require GET method")
        begin, end = _dates(params, "start_date", "end_date")
        if begin is None or end is None:
            return _publisher_error(61500, "date format error")
        try:
            page, page_size = int(params.get("page", "1")), int(params.get("page_size", "10"))
        except ValueError:
            return _publisher_error(47001, "data format error")
        if page < 1 or not 1 <= page_size <= PUBLISHER_PAGE_SIZE:
            return _publisher_error(47001, "page must be >= 1 and page_size 1..90")
        problem = self._range_error(endpoint, begin, end)
        if problem:
            return _publisher_error(*problem)
        if self.samples:
            if page == 1:
                return _Reply(raw=self.samples[endpoint.api_name].encode())
            return _Reply(
                {"base_resp": {"err_msg": "ok", "ret": 0}, endpoint.list_key: [], "total_num": 0}
            )
        rows = self.rows(endpoint, app_id, begin, end)
        if params.get("ad_slot"):
            rows = [row for row in rows if row.get("ad_slot") == params["ad_slot"]]
        reply: Dict[str, Any] = {"base_resp": {"err_msg": "ok", "ret": 0}}
        reply[endpoint.list_key] = rows[(page - 1) * page_size : page * page_size]
        reply["total_num"] = len(rows)
        if endpoint.list_key == "list":
            reply["summary"] = _summary(rows)
        else:
            revenue = sum(row["settled_revenue"] for row in rows)
            reply.update(
                body="深圳市腾讯计算机系统有限公司",
                penalty_all=0,
                revenue_all=revenue,
                settled_revenue_all=revenue,
            )
        return _Reply(reply)

    def _admin(self, method: str, action: str, raw_body: bytes) -> _Reply:
        if action == "/requests" and method == "GET":
            with self._lock:
                return _Reply([record.to_json() for record in self.requests])
        if action == "/faults" and method == "POST":
            rules = json.loads(raw_body or b"[]")
            for rule in rules:
                self.add_fault(FaultRule.from_json(rule))
            return _Reply({"faults": len(self.faults)})
        if action == "/faults" and method == "DELETE":
            self.clear_faults()
            return _Reply({"faults": 0})
        if action == "/expire_tokens" and method == "POST":
            self.tokens.expire_all()
            return _Reply({"expired": True})
        return _Reply({"error": f"unknown admin call {method} {action}"}, status=404)


def _route(path: str, params: Mapping[str, str]) -> Tuple[str, Optional[Endpoint]]:
    if path == "/cgi-bin/token":
        return "token", None
    if path == "/cgi-bin/stable_token":
        return "stable_token", None
    if path == "/publisher/stat":
        endpoint = BY_API_NAME.get(params.get("action", ""))
        return (
            (endpoint.api_name, endpoint)
            if endpoint and endpoint.is_publisher
            else ("publisher/stat", None)
        )
    if path.startswith("/datacube/"):
        endpoint = BY_API_NAME.get(path[len("/datacube/") :])
        if endpoint is not None and not endpoint.is_publisher:
            return endpoint.api_name, endpoint
    return path, None


def _decode(raw_body: bytes) -> Any:
    if not raw_body:
        return None
    try:
        return json.loads(raw_body)
    except ValueError:
        return raw_body.decode("utf-8", "replace")


def _dates(
    source: Mapping[str, Any], begin_key: str, end_key: str
) -> Tuple[Optional[date], Optional[date]]:
    values = []
    for key in (begin_key, end_key):
        value = source.get(key)
        try:
            parsed = (
                date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
            )
        except ValueError:
            parsed = None
        values.append(parsed)
    return values[0], values[1]


def _window_of(
    endpoint: Endpoint, params: Mapping[str, str], body: Any
) -> Tuple[Optional[date], Optional[date]]:
    if endpoint.is_publisher:
        return _dates(params, "start_date", "end_date")
    return _dates(body if isinstance(body, dict) else {}, "begin_date", "end_date")


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


def _without_days(reply: _Reply, endpoint: Endpoint, days: Tuple[date, ...]) -> _Reply:
    """The answer without rows labelled on `days` (all rows when no days are given)."""
    body = json.loads(reply.raw) if reply.status == 200 else None
    if not isinstance(body, dict) or not isinstance(body.get(endpoint.list_key), list):
        return reply
    labels = {day.isoformat() for day in days}
    body[endpoint.list_key] = [
        row
        for row in body[endpoint.list_key]
        if labels and row.get(endpoint.date_field) not in labels
    ]
    return _Reply(body)


BEYOND_INT64 = 2**63 + 7
UNKNOWN_CODE = 424242


def _mutated(
    reply: _Reply, endpoint: Endpoint, mutation: Optional[str], days: Tuple[date, ...]
) -> _Reply:
    """The answer changed the way real payloads have surprised SDKs (reference §1.3, §2.1)."""
    body = json.loads(reply.raw) if reply.status == 200 else None
    if not isinstance(body, dict) or not isinstance(body.get(endpoint.list_key), list):
        return reply
    items: List[Row] = body[endpoint.list_key]
    keys = {*endpoint.primary_key, endpoint.date_field}
    metrics = [
        n for n, kind in endpoint.fields.items() if kind in ("bigint", "double") and n not in keys
    ]
    if mutation == "duplicate":
        items = [item for item in items for _ in (0, 1)]
    elif mutation == "outside" and items:
        items = [
            {**items[0], endpoint.date_field: "2015-01-01"},
            *items,
            {**items[-1], endpoint.date_field: "2099-12-31"},
        ]
    elif mutation == "wild":
        items = _wild(items, endpoint)
    elif mutation == "first_period" and items:
        first = min(item[endpoint.date_field] for item in items)
        items = [item for item in items if item[endpoint.date_field] == first]
    revised = {day.isoformat() for day in days}
    for item in items:
        for row in _metric_holders(item, endpoint):
            if mutation == "nulls":
                row.update({name: None for name in metrics if name in row})
            elif mutation == "bigint":
                row.update({name: BEYOND_INT64 for name in metrics[:1] if name in row})
            elif mutation == "extra_field":
                row.update(brand_new_metric=42, brand_new_object={"level": 1, "note": "new"})
            elif mutation == "provisional" and item.get(endpoint.date_field) in revised:
                row.update({n: row[n] // 2 for n in metrics if isinstance(row.get(n), int)})
    if mutation == "unknown_code" and items:
        codes = {n for n, known in endpoint.dimensions.items() if isinstance(known[0], int)}
        items[0].update({name: UNKNOWN_CODE for name in codes if name in items[0]})
    body[endpoint.list_key] = items
    return _Reply(body)


WILD_ELEMENT_TYPE = 99999999


def _wild(items: List[Row], endpoint: Endpoint) -> List[Row]:
    """The answer in the shapes seen in the wild rather than the documented ones: reading rows
    of the older docs (the all-channel row alone, without `user_source`), a `read_user_source`
    element `{"type", "value"}`, week and month rows dated on the period's last day, and the
    other spellings of fields (`max_time_count`)."""
    for name, value in endpoint.key_defaults.items():
        items = [item for item in items if item.get(name) == value]
        for item in items:
            del item[name]
    for item in items:
        for holder in _metric_holders(item, endpoint):
            elements = holder.get("read_user_source")
            if isinstance(elements, list) and elements:
                value = elements[0].get("user_count", 0)
                elements.append({"type": WILD_ELEMENT_TYPE, "value": value})
            for alias, declared in endpoint.aliases.items():
                if declared in holder:
                    holder[alias] = holder.pop(declared)
        if endpoint.grain in ("week", "month"):
            label = date.fromisoformat(item[endpoint.date_field])
            item[endpoint.date_field] = period_end(label, endpoint.grain).isoformat()
    return items


def _metric_holders(item: Row, endpoint: Endpoint) -> List[Row]:
    """The objects of one list item that carry metrics: the item, its detail, its details."""
    holders = [item]
    if endpoint.unwrap and isinstance(item.get(endpoint.unwrap), dict):
        holders.append(item[endpoint.unwrap])
    if endpoint.explode and isinstance(item.get(endpoint.explode), list):
        holders.extend(child for child in item[endpoint.explode] if isinstance(child, dict))
    return holders


def _summary(rows: List[Row]) -> Row:
    summary: Row = {}
    for row in rows:
        for key, value in row.items():
            if key.endswith(("_count", "income", "total_fee", "total_commission")) and isinstance(
                value, int
            ):
                summary[key] = summary.get(key, 0) + value
    return summary


def _handler_for(emulator: Emulator) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "wechat-emulator"

        def setup(self) -> None:
            super().setup()
            # headers and body go out in separate writes: without this, Nagle's algorithm and
            # delayed ACKs add ~40 ms to every keep-alive response
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug(format, *args)

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length) if length else b""
            reply = emulator.handle(method, self.path, raw_body)
            if reply.drop:
                self.close_connection = True
                return
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(reply.declared_length or len(reply.raw)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.raw)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            if reply.declared_length:
                self.close_connection = True

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler
