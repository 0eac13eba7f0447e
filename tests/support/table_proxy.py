"""A faulty front for Azurite: passes requests on, fails or hangs the ones a rule picks.

Azurite has no fault injection; this loopback HTTP proxy sits between the real Azure Tables
client and Azurite so that a test can make one of a record's two rows fail (``fail``), or the
whole service hang (``hang``), while everything else is the real service.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import unquote, urlsplit

Verdict = Literal["pass", "fail", "hang"]
Rule = Callable[[str, str], Verdict]  # (method, unquoted path) -> verdict


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        verdict = self.server.rule(self.command, unquote(self.path))
        self.server.seen.append((self.command, unquote(self.path), verdict))
        if verdict == "hang":
            self.server.stopping.wait()
            self.close_connection = True
            return
        if verdict == "fail":
            payload = b'{"odata.error":{"code":"ServerBusy","message":{"lang":"en-US","value":"injected"}}}'
            self.send_response(503)
            self.send_header("Retry-After", "0.01")  # a busy server asking to be tried again at once (no backoff)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.upstream_port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "host")}
        headers["Host"] = f"127.0.0.1:{self.server.upstream_port}"
        upstream.request(self.command, self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_MERGE = _relay  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream_port: int, rule: Rule) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream_port = upstream_port
        self.rule = rule
        self.seen: list[tuple[str, str, Verdict]] = []
        self.stopping = threading.Event()


@contextmanager
def table_proxy(azurite_connection: str, rule: Rule) -> Iterator[tuple[str, _Server]]:
    """Yield (connection string through the proxy, server) for the Azurite connection string."""
    endpoint = next(p.split("=", 1)[1] for p in azurite_connection.split(";") if p.startswith("TableEndpoint="))
    parts = urlsplit(endpoint)
    server = _Server(parts.port or 80, rule)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    proxied = azurite_connection.replace(
        f"TableEndpoint={endpoint}", f"TableEndpoint=http://127.0.0.1:{server.server_address[1]}{parts.path}"
    )
    try:
        yield proxied, server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
