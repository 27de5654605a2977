"""Small servers of the tests' own making, on 127.0.0.1, that misbehave in ways WeChat's docs
never mention: odd types and names, dribbled bodies, redirects, echoes, endless pages.

They share no code with the emulator on purpose: the emulator is our own reading of the docs,
and a server written apart from it is what shows the source's own assumptions. Each test
passes an `answer` function that decides every reply; `wechat_like` answers as WeChat does
for a handful of endpoints, and a test changes only what it is about.
"""

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qs, urlsplit

APP_ID = "wxh0571e0000000001"
APP_SECRET = "hostile-app-secret-0001"
TOKEN = "hostile-access-token-0001"


@dataclass
class Request:
    method: str
    path: str
    query: Dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)

    @property
    def name(self) -> str:
        """The endpoint: `getusersummary`, a publisher action, `stable_token`, `token`."""
        return self.query.get("action") or self.path.rsplit("/", 1)[-1]

    @property
    def begin(self) -> date:
        value = self.body.get("begin_date") if self.body else self.query["start_date"]
        return date.fromisoformat(value)

    @property
    def end(self) -> date:
        value = self.body.get("end_date") if self.body else self.query["end_date"]
        return date.fromisoformat(value)


@dataclass
class Reply:
    body: Any = None
    """JSON-encoded (with \\u escapes, so lone surrogates survive), unless it is bytes."""
    status: int = 200
    headers: Dict[str, str] = field(default_factory=dict)
    dribble_seconds: float = 0.0
    """Pause between single bytes of the headers and body."""

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=True).encode()


Answer = Callable[[Request], Reply]


class HostileServer:
    """An HTTP server on 127.0.0.1 whose every reply comes from `answer`; it logs requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: List[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True

    @property
    def base_url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self._server.socket.getsockname()[1])

    def __enter__(self) -> "HostileServer":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self, name: Optional[str] = None) -> List[Request]:
        with self._lock:
            logged = list(self.requests)
        return [r for r in logged if name is None or r.name == name]

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)


def _handler(server: HostileServer) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Request(
                self.command,
                parts.path,
                {key: values[-1] for key, values in parse_qs(parts.query).items()},
                json.loads(raw) if raw else None,
            )
            server.record(request)
            reply = server.answer(request)
            payload = reply.encoded()
            head = [f"HTTP/1.1 {reply.status} X", "Content-Type: application/json"]
            head += [f"Content-Length: {len(payload)}"]
            head += [f"{name}: {value}" for name, value in reply.headers.items()]
            message = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                if not reply.dribble_seconds:
                    self.wfile.write(message)
                    return
                self.close_connection = True
                for index in range(len(message)):
                    self.wfile.write(message[index : index + 1])
                    self.wfile.flush()
                    time.sleep(reply.dribble_seconds)
            except OSError:
                self.close_connection = True  # the client hung up

        do_GET = do_POST = _serve

    return Handler


def days_of(request: Request) -> List[date]:
    return [
        request.begin + timedelta(days=n) for n in range((request.end - request.begin).days + 1)
    ]


def wechat_like(request: Request) -> Reply:
    """What WeChat answers, for the endpoints the hostile tests use; numbers follow the date."""
    if request.name in ("stable_token", "token"):
        return Reply({"access_token": TOKEN, "expires_in": 7200})
    if request.query.get("access_token") != TOKEN:
        return Reply({"errcode": 40001, "errmsg": "invalid credential"})
    rows: List[Dict[str, Any]] = []
    for day in days_of(request):
        n, label = day.toordinal() % 1000, day.isoformat()
        if request.name == "getusersummary":
            rows += [
                {"ref_date": label, "user_source": source, "new_user": n + source, "cancel_user": 3}
                for source in (0, 30)
            ]
        elif request.name == "getusercumulate":
            rows.append({"ref_date": label, "cumulate_user": 10_000 + n})
        elif request.name == "getarticlesummary":
            rows.append(
                {
                    "ref_date": label,
                    "msgid": f"{n}_1",
                    "title": f"article of {label}",
                    "int_page_read_user": n,
                    "int_page_read_count": 2 * n,
                }
            )
        elif request.name == "getarticleread":
            rows.append(
                {
                    "ref_date": label,
                    "msgid": f"{n}_1",
                    "detail": {
                        "read_user": n,
                        "read_user_source": [
                            {"scene_desc": "全部", "user_count": n},
                            {"scene_desc": "朋友圈", "user_count": n // 2},
                        ],
                    },
                }
            )
        elif request.name == "publisher_adpos_general":
            rows += [
                {
                    "date": label,
                    "ad_slot": slot,
                    "slot_id": index,
                    "income": n + index,
                    "exposure_count": 10 * n,
                    "click_count": n,
                }
                for index, slot in enumerate(("SLOT_ID_BIZ_BOTTOM", "SLOT_ID_BIZ_MID_CONTEXT"))
            ]
        else:
            return Reply({"errcode": 48001, "errmsg": "api unauthorized"})
    if request.name.startswith("publisher_"):
        page, size = int(request.query["page"]), int(request.query["page_size"])
        return Reply(
            {
                "base_resp": {"ret": 0, "err_msg": "ok"},
                "list": rows[(page - 1) * size : page * size],
                "total_num": len(rows),
            }
        )
    return Reply({"list": rows})
