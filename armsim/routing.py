"""The route table's vocabulary: :class:`Route` (a method and a path pattern bound to a handler),
:class:`Request` (what a handler gets) and :class:`Response` (what it returns).

A pattern is an ARM path with ``{name}`` placeholders, each matching one segment, compared without
regard to case: ``/subscriptions/{sub}/resourceGroups/{rg}``. A pattern may start with
``{resourceUri*}``, which matches the two or more segments before the rest of the pattern (the
``{resourceUri}/providers/Microsoft.Insights/...`` form of extension resources; it must start with
``subscriptions`` unless the route is a tenant route). The handler is called
as ``handler(request, **placeholders)`` with the segments as sent; ``group`` names the api-versions
the route accepts (a key of the table in :mod:`armsim.providers`); ``tenant`` routes need no subscription.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from armsim.errors import ArmError
from armsim.state import State

PREFIX = "{resourceUri*}"


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    group: str  # key of SUPPORTED_API_VERSIONS
    handler: Callable[..., Response]
    tenant: bool = False  # a tenant-level route (no subscription in the path)
    _parts: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_parts", tuple(p for p in self.pattern.split("/") if p))

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """The placeholders' values when ``segments`` (the path's) match the pattern, else None."""
        parts = self._parts
        params: dict[str, str] = {}
        if parts and parts[0] == PREFIX:
            rest = parts[1:]
            split = len(segments) - len(rest)
            if split < 2 or (not self.tenant and segments[0].lower() != "subscriptions"):
                return None
            params["resource"] = "/" + "/".join(segments[:split])
            tail = segments[split:]
        else:
            rest, tail = parts, segments
            if len(tail) != len(rest):
                return None
        for pattern, segment in zip(rest, tail, strict=True):
            if pattern.startswith("{") and pattern.endswith("}"):
                params[pattern[1:-1]] = segment
            elif pattern.lower() != segment.lower():
                return None
        return params


def find_route(routes: Iterable[Route], method: str, segments: list[str]) -> tuple[Route, dict[str, str]] | None:
    """The first route of ``routes`` for ``method`` whose pattern matches ``segments``."""
    for route in routes:
        if route.method != method:
            continue
        params = route.match(segments)
        if params is not None:
            return route, params
    return None


class Request:
    """One ARM request, as a handler sees it. ``sim`` is the simulator (its state and seeding API)."""

    def __init__(
        self,
        sim: State,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
        body_error: str | None,
        headers: Any,
    ) -> None:
        self.sim: Any = sim
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.body_error = body_error
        self.headers = headers
        self.segments = [s for s in path.split("/") if s]
        self.lower = [s.lower() for s in self.segments]

    @property
    def api_version(self) -> str:
        return self.query["api-version"]

    def json_body(self) -> dict[str, Any]:
        """The body as a JSON object, or 400 ``InvalidRequestContent``."""
        if self.body_error is not None or not isinstance(self.body, dict):
            detail = self.body_error or "the request body must be a JSON object"
            raise ArmError(
                400, "InvalidRequestContent", f"The request content was invalid and could not be deserialized: {detail}"
            )
        return self.body

    def validate(self, kind: str, body: dict[str, Any]) -> None:
        """400 ``InvalidRequestContent`` unless ``body`` is valid against the spec schema ``kind``."""
        errors = self.sim.validator.errors(kind, body)
        if errors:
            raise ArmError(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: " + "; ".join(errors[:5]),
            )
