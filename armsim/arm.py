"""ARM's request pipeline: authenticate, check the api-version, route, check the scope, then act.

:func:`dispatch` answers one ARM request from the route table of :mod:`armsim.providers`; every
failure is an :class:`~armsim.errors.ArmError` rendered as ``{"error": {...}}``. The handler runs
under the simulator's lock and its response body is deep-copied there, so neither the wire nor the
request log shares live state with the simulator.
"""

from __future__ import annotations

import copy
from typing import Any

from armsim.errors import ArmError
from armsim.providers import ROUTES, SUPPORTED_API_VERSIONS
from armsim.providers.identity import authenticate_arm
from armsim.routing import Request, Response, Route, find_route
from armsim.state import WRITE_METHODS, State, key, resource_type_of, under


def dispatch(
    sim: State, method: str, path: str, query: dict[str, str], body: Any, body_error: str | None, headers: Any
) -> Response:
    """Answer one ARM request (errors included)."""
    try:
        return _run(Request(sim, method, path, query, body, body_error, headers))
    except ArmError as exc:
        return Response(exc.status, exc.body(), exc.headers)


def _run(request: Request) -> Response:
    authenticate_arm(request.sim, request.headers)
    api_version = request.query.get("api-version")
    if not api_version:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    found = find_route(ROUTES, request.method, request.segments) if request.segments[:1] else None
    if found is None:
        raise ArmError(
            404,
            "InvalidResourceType",
            f"armsim does not serve {request.method} {request.path} (no such resource type or operation).",
        )
    route, params = found
    supported = SUPPORTED_API_VERSIONS[route.group]
    if api_version not in supported:
        raise ArmError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{api_version}' is invalid. The supported versions are '{','.join(supported)}'.",
        )
    logged = request.method in WRITE_METHODS and not route.tenant  # ARM's Activity Log keeps writes and deletes
    with request.sim.lock:
        check_scope(request, route)
        caller = request.sim.principal_of(request.headers.get("Authorization")) if logged else None
        try:
            response = route.handler(request, **params)
        except ArmError as exc:
            if logged:
                request.sim.log_activity(request, exc.status, caller)
            raise
        if logged:
            request.sim.log_activity(request, response.status, caller)
        response.body = copy.deepcopy(response.body)
        return response


def action_name(request: Request) -> str:
    """``<resource type>/read|write|delete`` of the request, as in ARM's role definitions."""
    verb = {"GET": "read", "HEAD": "read", "DELETE": "delete"}.get(request.method, "write")
    return f"{resource_type_of(request.path)}/{verb}"


def check_scope(request: Request, route: Route) -> None:
    """404 for an unknown subscription, 403 for a forbidden scope or action, 409 under a lock."""
    sim = request.sim
    if route.tenant:
        return
    sub_key = key("/".join(request.segments[:2]))
    if sub_key not in sim.subscriptions:
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{request.segments[1]}' could not be found.")
    path_key = key(request.path)
    action = action_name(request)
    denied = sim.is_denied(path_key)
    if not denied and sim.forbidden_actions:
        denied = any(a == action.lower() and under(path_key, scope) for a, scope in sim.forbidden_actions)
    if not denied:
        denied = not sim.is_granted(action, path_key)
    if denied:
        raise ArmError(
            403,
            "AuthorizationFailed",
            f"The client '{sim.principal_id}' with object id '{sim.principal_id}' does not have authorization to "
            f"perform action '{action}' over scope '{request.path}' or the scope is invalid. "
            "If access was recently granted, please refresh your credentials.",
        )
    if request.method in WRITE_METHODS:
        locked = [lk for lk in sim.locks if under(path_key, lk)]
        if locked:
            scopes = ",".join(f"'{sim.resource_spelling(lk) or lk}'" for lk in sorted(locked))
            raise ArmError(
                409,
                "ScopeLocked",
                f"The scope '{request.path}' cannot perform write operation because following scope(s) are locked: "
                f"{scopes}. Please remove the lock and try again.",
            )
