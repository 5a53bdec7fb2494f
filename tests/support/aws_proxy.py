"""A loopback proxy in front of moto server that lets a call take effect and then answers it too
late for botocore's read timeout: the reply is "lost", the way a slow network loses it."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

INVALID_PARAMETER = (
    b'<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>'
    b"<Code>InvalidParameter</Code><Message>Invalid parameter: Message</Message></Error>"
    b"<RequestId>00000000-0000-4000-8000-000000000000</RequestId></ErrorResponse>"
)
LATE_SECONDS = 2.5
"""Longer than the function's 2 s AWS read timeout (budget.AWS_READ_TIMEOUT_SECONDS)."""


class SlowReplyProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.late_put_for: str | None = None
        """The next PutItem, or transaction, that succeeds for this account is answered late (once)."""
        self.late_publish = False
        """The next Publish is answered late (once), after SNS accepted it."""
        self.refuse_publish_of: str | None = None
        """Every Publish of a notification of this kind is refused, as SNS refuses a message it
        will never accept (400 InvalidParameter); the others pass."""
        self.puts: list[str] = []
        """"account:outcome" of each state write (each Put of a transaction), in order."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def forward(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        if self.refuse_publish_of and b"Action=Publish" in body:
            fields = parse_qs(body.decode())
            if self.refuse_publish_of in [value for values in fields.values() for value in values]:
                return 400, [("Content-Type", "text/xml")], INVALID_PARAMETER
        connection = http.client.HTTPConnection(self.upstream.hostname or "", self.upstream.port, timeout=10)
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        data = response.read()
        late = False
        if self.late_publish and b"Action=Publish" in body:
            self.late_publish, late = False, True
        target = headers.get("X-Amz-Target", "")
        if target.endswith(("PutItem", "TransactWriteItems")):
            request = json.loads(body)
            puts = [action["Put"] for action in request.get("TransactItems", [])] or [request]
            outcome = json.loads(data).get("__type", "ok").split("#")[-1] if data else "ok"
            accounts = [put["Item"]["provider"]["S"] for put in puts]
            self.puts.extend(f"{account}:{outcome}" for account in accounts)
            if self.late_put_for in accounts and outcome == "ok":
                self.late_put_for, late = None, True
        if late:
            time.sleep(LATE_SECONDS)
        return response.status, response.getheaders(), data


def _handler(proxy: SlowReplyProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, headers, data = proxy.forward(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(OSError):  # botocore hung up already: that is the point
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler
