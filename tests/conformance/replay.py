"""A tiny HTTPS server that answers with recorded ARM exchanges, in the order of a script.

Each request must be the script's next one (same method, same path without regard to case; the
api-version is not compared: the product's SDK sends newer ones than the recorded clients did). It is
answered with the recorded status, headers (URLs to ``management.azure.com`` pointed at this server)
and body. A request off the script is answered 599 and recorded in :attr:`ReplayServer.unexpected`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import ssl
import tempfile
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from armsim.tls import write_self_signed

REAL_ARM = "https://management.azure.com"


class ReplayServer:
    def __init__(self, script: Sequence[dict[str, Any]]) -> None:
        self.script = list(script)
        self.served: list[dict[str, Any]] = []  # the script's exchanges answered so far, in order
        self.unexpected: list[str] = []
        self._lock = threading.Lock()
        self._tmp = Path(tempfile.mkdtemp(prefix="replay-"))
        self.cert_path, key_path = write_self_signed(self._tmp)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.base_url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def next_for(self, method: str, path: str) -> dict[str, Any] | None:
        with self._lock:
            if len(self.served) < len(self.script):
                wanted = self.script[len(self.served)]
                if wanted["method"] == method and wanted["path"].lower() == path.lower():
                    self.served.append(wanted)
                    return wanted
            self.unexpected.append(f"{method} {path}")
            return None

    def headers_of(self, exchange: dict[str, Any]) -> Iterator[tuple[str, str]]:
        for name, value in exchange["headers"].items():
            if name.lower() != "content-type":
                yield name, value.replace(REAL_ARM, self.base_url)


def _handler(replay: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            path = unquote(urlsplit(self.path).path)
            exchange = replay.next_for(self.command, path)
            if exchange is None:
                payload = json.dumps({"error": {"code": "OffScript", "message": f"{self.command} {path}"}}).encode()
                self.send_response(599)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            body = exchange["body"]
            payload = b"" if body is None or self.command == "HEAD" else json.dumps(body).encode()
            self.send_response(exchange["status"])
            for name, value in replay.headers_of(exchange):
                self.send_header(name, value)
            if payload:
                self.send_header("Content-Type", exchange["headers"].get("content-type", "application/json"))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(payload)

        do_GET = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_POST = _answer  # noqa: N815

    return Handler
