"""Fault injection: answer chosen requests with an error, late, never, or after carrying them out.

A :class:`Fault` matches requests by method and path (case-insensitive substring), in the order the
faults were injected; ``times=None`` means forever. :mod:`armsim.server` applies it after the
latency and throttling and before the request is handled. To add a fault switch: add a field here
(with a default that changes nothing), document it in :meth:`Faults.inject_fault`, and act on it in
``armsim.server.Handler._handle``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from armsim.state import State


@dataclass
class Fault:
    method: str | None
    path_contains: str | None
    status: int | None
    retry_after: float | None
    times: int | None  # None = forever
    drop_connection: bool
    latency: float
    code: str | None = None
    message: str | None = None
    apply_first: bool = False  # carry the request out, then answer with the fault (response lost)
    hang: bool = False  # never answer (until the simulator stops, or ``release`` is set)
    identity: bool = False  # match the managed-identity token endpoint instead of ARM
    before: Callable[[], None] | None = None  # run when the fault strikes (e.g. a rival creates the resource)
    # answer normally, then rewrite the answer (Response, the request's URL) -> Response: see armsim.hostile
    rewrite: Callable[[Any, str], Any] | None = None
    release: threading.Event | None = None  # a hung request answers (late, as usual) once this is set

    def matches(self, method: str, path: str, kind: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.identity:
            return kind == "identity"
        if self.path_contains is None:
            return kind == "arm"
        return self.path_contains.lower() in path.lower()


class Faults(State):
    """Mixin of :class:`armsim.ArmSimulator`: the fault switches."""

    def _init_state(self) -> None:
        super()._init_state()
        self.faults: list[Fault] = []

    def inject_fault(
        self,
        method: str | None = None,
        path_contains: str | None = None,
        status: int | None = 429,
        retry_after: float | None = 1,
        times: int | None = 1,
        drop_connection: bool = False,
        latency: float = 0.0,
        code: str | None = None,
        message: str | None = None,
        apply_first: bool = False,
        hang: bool = False,
        identity: bool = False,
        before: Callable[[], None] | None = None,
        rewrite: Callable[[Any, str], Any] | None = None,
        release: threading.Event | None = None,
    ) -> Fault:
        """Answer the next ``times`` matching ARM requests with ``status`` (None: answer normally after latency).

        ``apply_first``: carry the request out (a write takes effect), then answer ``status`` or drop the
        connection: the response is lost. ``hang``: never answer (until :meth:`stop`), or with ``release``
        until the test sets that Event, then answer as usual (a client that had given up never reads it). ``identity``: the
        fault is on the managed-identity token endpoint instead of ARM. ``before``: called when the
        fault strikes, before anything else (e.g. a rival creates the resource this request creates).
        ``rewrite``: with ``status=None``, the request is answered normally and ``rewrite(response, url)``
        returns the answer sent instead (a hostile ARM: :mod:`armsim.hostile`).
        """
        fault = Fault(
            method,
            path_contains,
            status,
            retry_after,
            times,
            drop_connection,
            latency,
            code,
            message,
            apply_first,
            hang,
            identity,
            before,
            rewrite,
            release,
        )
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, method: str, path: str, kind: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path, kind):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None
