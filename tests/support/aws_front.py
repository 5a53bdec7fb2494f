"""An HTTPS front for moto server that keeps connections alive, as AWS's endpoints do.

moto's server (werkzeug) answers every call with `Connection: close`, so a function pointed at it
opens a new connection for every AWS call: work it never does in Lambda, where DynamoDB, SNS and
Secrets Manager keep their TLS connections open between calls. The benchmark puts this front
between the function and moto, so what it measures per call is the function's own (TLS
included), not a connection per call. It runs outside the box, like moto and the simulators.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import trustme

from tests.support.simulators import TlsServer

HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


class KeepAliveFront:
    def __init__(self, upstream: str, cert: trustme.LeafCert) -> None:
        self.upstream = urlsplit(upstream)
        self.tls_failures = 0
        self.connections = 0
        """TLS connections accepted: a warm client opens one per concurrent caller, not per call."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        self._server = TlsServer(("127.0.0.1", 0), _handler(self), context, self)

    def start(self) -> KeepAliveFront:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(self.upstream.hostname or "", self.upstream.port, timeout=30)
        try:
            connection.request(method, path, body or None, headers)
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()


def _handler(front: KeepAliveFront) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as a real endpoint: no 40 ms wait on delayed ACKs

        def setup(self) -> None:
            super().setup()
            front.connections += 1

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, headers, data = front.forward(self.command, self.path, dict(self.headers.items()), body)
            self.send_response(status)
            for name, value in headers:
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    return Handler
