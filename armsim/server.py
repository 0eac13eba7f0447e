"""The HTTPS plumbing: a threading server (TLS handshake in the worker thread) and the request handler.

Per request: read it, classify it (``arm``, ``identity`` or ``logs``), add the latency and take a
throttle token (ARM only), apply a matching fault, answer (:func:`armsim.arm.dispatch`, the token
endpoint or the query API), record it, and write the response in one buffered write.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from armsim.arm import dispatch
from armsim.errors import FAULT_CODES, ArmError
from armsim.providers.identity import IDENTITY_PATH, answer_token_request
from armsim.providers.logs import LOGS_PREFIX, answer_query
from armsim.routing import Response
from armsim.state import RecordedRequest, key, resource_type_of
from armsim.throttle import Admission, throttled_message


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type, sim: Any, context: ssl.SSLContext) -> None:
        self.sim = sim
        self.context = context
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake in the worker thread so a slow client cannot stall accept().
        with self.sockets_lock:
            self.open_sockets.add(request)
        try:
            request.settimeout(30)
            # No Nagle: a response (and the TLS handshake) goes out at once, not after the client's delayed ACK.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            self._forget(request)
            return
        with self.sockets_lock:  # wrapping detached the plain socket: track the TLS one
            self.open_sockets.discard(request)
            self.open_sockets.add(tls)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            self._forget(tls)
            with contextlib.suppress(OSError):
                tls.close()

    def _forget(self, request: socket.socket) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)

    def close_all(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: clients drop connections
        pass


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "armsim/1.0"
    timeout = 30
    # Answer in one segment, at once: TCP_NODELAY on the connection, and status line, headers and body
    # buffered into a single write (flushed by handle_one_request). Without both, every response waits
    # for the client's delayed ACK (about 40 ms on loopback) between the headers and the body.
    disable_nagle_algorithm = True
    wbufsize = 256 * 1024

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    @property
    def sim(self) -> Any:
        return self.server.sim  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)  # "rg-%28prod%29%20%C3%BC" is the resource group "rg-(prod) ü"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        body_error: str | None = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as exc:
                body_error = str(exc)
        kind = "identity" if key(path) == IDENTITY_PATH else "logs" if key(path).startswith(LOGS_PREFIX) else "arm"
        record = RecordedRequest(
            method=self.command,
            path=path,
            query=query,
            status=None,
            body=body,
            headers=dict(self.headers.items()),
            kind=kind,
        )
        self._admission: Admission | None = None
        self._recorded: RecordedRequest | None = None
        if kind == "arm":
            if self.sim.latency > 0:
                time.sleep(self.sim.latency)
            if self._throttled(record, path):
                return
        fault = self.sim.take_fault(self.command, path, kind)
        if fault is not None:
            if fault.hang:  # an endpoint that accepts the request and never answers (or answers once released)
                self.sim.record(record)
                self._recorded = record
                if not self._released(fault.release):
                    self.close_connection = True
                    return
            if fault.latency:
                time.sleep(fault.latency)
            if fault.before is not None:
                fault.before()
            if fault.apply_first and kind == "arm":
                # The request takes effect; only its answer is lost (or replaced by the fault's).
                record.applied = self._dispatch(path, query, body, body_error).status
            if fault.drop_connection:
                self.sim.record(record)
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault.status is not None:
                code = fault.code or FAULT_CODES.get(fault.status, "InternalServerError")
                message = fault.message or f"armsim injected fault: {fault.status} {code}."
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = _number(fault.retry_after)
                if kind == "identity":  # the App Service identity endpoint's own error shape
                    self._send(
                        record, Response(fault.status, {"statusCode": fault.status, "message": message}, headers)
                    )
                    return
                self._send(record, Response(fault.status, ArmError(fault.status, code, message).body(), headers))
                return
        if kind == "identity":
            response = answer_token_request(self.sim, self.headers, query)
        elif kind == "logs":
            response = answer_query(self.sim, self.command, path, body, body_error, self.headers)
        else:
            response = self._dispatch(path, query, body, body_error)
        if fault is not None and fault.rewrite is not None:
            response = fault.rewrite(response, self.sim.base_url + self.path)
        self._send(record, response)

    def _released(self, release: threading.Event | None) -> bool:
        """Wait for ``release`` (if any) or the simulator's stop; whether it was released (and may answer)."""
        if release is None:
            self.sim.stopping.wait()
            return False
        while not release.wait(0.05):
            if self.sim.stopping.is_set():
                return False
        return not self.sim.stopping.is_set()

    def _dispatch(self, path: str, query: dict[str, str], body: Any, body_error: str | None) -> Response:
        return dispatch(self.sim, self.command, path, query, body, body_error, self.headers)

    def _throttled(self, record: RecordedRequest, path: str) -> bool:
        """ARM's token bucket for this caller: take a token, or answer 429 TooManyRequests."""
        sim = self.sim
        caller = sim.principal_of(self.headers.get("Authorization"))
        principal = caller[0] if caller else ""
        record.principal = caller[0] if caller else None
        segments = [s for s in path.split("/") if s]
        subscription = segments[1] if len(segments) >= 2 and segments[0].lower() == "subscriptions" else None
        admit = sim.throttle.admit if caller else sim.throttle.peek
        self._admission = admit(
            method=self.command,
            subscription_id=subscription,
            tenant_id=sim.tenant_id,
            principal=principal,
            resource_type=resource_type_of(path),
        )
        if self._admission.allowed:
            return False
        error = ArmError(429, "TooManyRequests", throttled_message(self._admission, principal, sim.tenant_id))
        self._send(record, Response(429, error.body()))
        return True

    def _send(self, record: RecordedRequest, response: Response) -> None:
        payload = b""
        if response.body is not None and self.command != "HEAD":
            payload = json.dumps(response.body).encode("utf-8")
        self.send_response(response.status)
        request_id = str(uuid.uuid4())
        self.send_header("x-ms-request-id", request_id)
        self.send_header("x-ms-correlation-request-id", request_id)
        if self._admission is not None:
            for name, value in self._admission.headers.items():
                self.send_header(name, value)
        for name, value in (response.headers or {}).items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        # Record before the response leaves: a client that has its answer finds its request in the log.
        record.answered = time.monotonic()
        record.status = response.status
        record.response = json.loads(payload) if payload else response.body
        if record is not self._recorded:  # a hung request released late is in the log already
            self.sim.record(record)
        self.end_headers()
        if payload:
            self.wfile.write(payload)
