"""Loopback HTTPS servers that behave like the documented FullEnrich and lemlist credit endpoints.

Test code only (tests/ is not in the Lambda package). Used by the integration tests and `make demo`.
Behaviour follows ../shared/specs: auth schemes, error bodies and content types, lemlist's
Retry-After on 429. A test can queue one-off misbehaviours (status, drop, hang, raw body) and
hostile ones: a body that drips, a flood of any size streamed without holding it in memory, a
gzip bomb, a 401 that echoes the Authorization header back.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import ssl
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol, Self

import trustme

Kind = Literal["fullenrich", "lemlist"]
BASE_PATHS: dict[Kind, str] = {"fullenrich": "/api/v2", "lemlist": "/api"}
CREDIT_PATHS: dict[Kind, str] = {"fullenrich": "/account/credits", "lemlist": "/team/credits"}
HANG_LIMIT_SECONDS = 30.0
DRIP_INTERVAL_SECONDS = 1.0
FLOOD_CHUNK = b" " * 65536
AUTHORIZATION_PLACEHOLDER = "{authorization}"


@dataclass
class Reply:
    """One scripted answer.

    `action`: "respond" sends `body`; "drop" closes the connection unanswered; "hang" never answers;
    "drip" sends the headers, then the body one byte per second; "flood" sends `size` bytes of
    whitespace, streamed; "gzip_bomb" sends `size` zero bytes gzip-compressed (about 1,000 to 1);
    "echo_authorization" sends `body` with "{authorization}" replaced by the request's
    Authorization header, as a broken API might in a 401.
    `encoding` "gzip" or "deflate" compresses the body and says so in Content-Encoding. `chunked`
    sends Transfer-Encoding: chunked instead of Content-Length, so the client cannot know the size.
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    action: Literal["respond", "drop", "hang", "drip", "flood", "gzip_bomb", "echo_authorization"] = "respond"
    size: int = 0
    encoding: Literal["gzip", "deflate"] | None = None
    chunked: bool = False


@functools.cache
def gzip_bomb(inflated_size: int) -> bytes:
    """`inflated_size` zero bytes, gzip-compressed (about 1,000 to 1), built without holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [
        compressor.compress(block[: min(len(block), inflated_size - done)])
        for done in range(0, inflated_size, len(block))
    ]
    return b"".join(parts) + compressor.flush()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    """When it arrived: rate-limit tests count requests per window."""


class Loopback:
    """A threading HTTPS server on 127.0.0.1, trusted through the tests' CA, with replies a test can
    script (`then`); the simulators here, in vendors.py and in receivers.py are built on it."""

    def __init__(self, cert: trustme.LeafCert, handler: type[BaseHTTPRequestHandler]) -> None:
        self.script: deque[Reply] = deque()
        self.tls_failures = 0
        self._stop = threading.Event()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        self._server = TlsServer(("127.0.0.1", 0), handler, context, self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def then(self, *replies: Reply) -> Self:
        self.script.extend(replies)
        return self

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ApiSimulator(Loopback):
    def __init__(self, kind: Kind, cert: trustme.LeafCert, api_key: str, balance: float = 5000) -> None:
        self.kind: Kind = kind
        self.valid_keys = {api_key}
        self.balance: float = balance
        self.balances: dict[str, float] = {}
        """A balance of its own for a key, as separate vendor accounts have; others get `balance`."""
        self.latency_seconds = 0.0
        """Added before every answer: a stand-in for the real API's response time."""
        self.requests: list[RecordedRequest] = []
        super().__init__(cert, _handler_for(self))

    @property
    def base_url(self) -> str:
        return self.origin + BASE_PATHS[self.kind]

    @property
    def credit_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith(CREDIT_PATHS[self.kind])]

    # --- what the real API would answer -------------------------------------------------------
    def answer(self, method: str, path: str, headers: dict[str, str]) -> Reply:
        if self.script:
            return self.script.popleft()
        if method != "GET" or path != BASE_PATHS[self.kind] + CREDIT_PATHS[self.kind]:
            return Reply(404, {"code": "error.not_found", "message": "Not found"})
        if self.kind == "fullenrich":
            return self._fullenrich(headers.get("authorization"))
        return self._lemlist(headers.get("authorization"))

    def _fullenrich(self, authorization: str | None) -> Reply:
        if not authorization:
            return Reply(
                401, {"code": "error.authorization.not_set", "message": "Authorization headers not set"}
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return Reply(
                401,
                {
                    "code": "error.authorization.not_bearer",
                    "message": "Authorization headers do not have prefix 'bearer'",
                },
            )
        if token not in self.valid_keys:
            return Reply(401, {"code": "error.api.key", "message": "Unknown api key"})
        return Reply(200, {"balance": self.balances.get(token, self.balance)})

    def _lemlist(self, authorization: str | None) -> Reply:
        text = {"Content-Type": "text/plain; charset=utf-8"}
        if not authorization or not authorization.lower().startswith("basic "):
            return Reply(400, "No API key provided", text)
        try:
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            return Reply(401, "The authentication you supplied is incorrect", text)
        if user or password not in self.valid_keys:
            return Reply(401, "The authentication you supplied is incorrect", text)
        credits = int(self.balances.get(password, self.balance))
        subscription = credits * 8 // 10
        return Reply(
            200,
            {
                "credits": credits,
                "details": {
                    "remaining": {
                        "total": credits,
                        "freemium": 0,
                        "subscription": subscription,
                        "gifted": credits - subscription,
                        "paid": 0,
                    }
                },
            },
        )


class CountsTlsFailures(Protocol):
    tls_failures: int


def refused_handshakes(simulator: CountsTlsFailures, within: float = 5.0) -> int:
    """The server counts a refused handshake in its own thread, after the client has already
    given up and reported: wait (bounded) for it rather than race it."""
    until = time.monotonic() + within
    while simulator.tls_failures == 0 and time.monotonic() < until:
        time.sleep(0.02)
    return simulator.tls_failures


class TlsServer(ThreadingHTTPServer):
    """A threading HTTPS server for the simulators here and in vendors.py."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext,
        simulator: CountsTlsFailures,
    ) -> None:
        super().__init__(address, handler)
        self.context = context
        self.simulator = simulator

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Handshake in the connection's own thread, so a refused certificate is counted, not fatal.
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            self.simulator.tls_failures += 1
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up on a hanging server are expected here; stay quiet."""


def _handler_for(simulator: ApiSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as a real API: headers then body, no 40 ms delayed-ACK wait

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            simulator.requests.append(RecordedRequest("GET", self.path, headers))
            reply = simulator.answer("GET", self.path, headers)
            if simulator.latency_seconds:
                simulator._stop.wait(simulator.latency_seconds)
            send_reply(self, reply, _encode(reply, headers.get("authorization", "")), simulator._stop)

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log."""

    return Handler


def send_reply(handler: BaseHTTPRequestHandler, reply: Reply, data: bytes, stop: threading.Event) -> None:
    """Answer as `reply` says (drop, hang, drip, flood, chunked...), `data` being its encoded body.
    Every wait ends when `stop` is set, so a stopped simulator never holds a test."""
    if reply.action == "drop":
        handler.close_connection = True
        return
    if reply.action == "hang":
        stop.wait(HANG_LIMIT_SECONDS)
        handler.close_connection = True
        return
    size = reply.size if reply.action == "flood" else len(data)
    handler.send_response(reply.status)
    handler.send_header("Content-Type", reply.headers.get("Content-Type", "application/json"))
    if reply.chunked:
        handler.send_header("Transfer-Encoding", "chunked")
    else:
        handler.send_header("Content-Length", str(size))
    if reply.encoding or reply.action == "gzip_bomb":
        handler.send_header("Content-Encoding", reply.encoding or "gzip")
    for name, value in reply.headers.items():
        if name != "Content-Type":
            handler.send_header(name, value)
    handler.end_headers()

    def write(piece: bytes) -> None:
        handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if reply.chunked else piece)

    if reply.action == "flood":
        sent = 0
        while sent < size and not stop.is_set():
            piece = FLOOD_CHUNK[: size - sent]
            write(piece)
            sent += len(piece)
    elif reply.action == "drip":
        for offset in range(len(data)):
            if stop.wait(DRIP_INTERVAL_SECONDS):
                break
            write(data[offset : offset + 1])
    elif data:
        write(data)
    if reply.chunked:
        handler.wfile.write(b"0\r\n\r\n")


def body_bytes(body: Any) -> bytes:
    """A scripted body as sent: JSON for a dict or list (None: {}), text as UTF-8, bytes as they are."""
    if isinstance(body, dict | list) or body is None:
        return json.dumps(body if body is not None else {}).encode()
    return body.encode() if isinstance(body, str) else bytes(body)


def _encode(reply: Reply, authorization: str) -> bytes:
    data = body_bytes(reply.body)
    if reply.action == "echo_authorization":
        data = data.replace(AUTHORIZATION_PLACEHOLDER.encode(), authorization.encode())
    if reply.action == "gzip_bomb":
        return gzip_bomb(reply.size)
    if reply.encoding == "gzip":
        return gzip.compress(data)
    if reply.encoding == "deflate":
        return zlib.compress(data)
    return data
