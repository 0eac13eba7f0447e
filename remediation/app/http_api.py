"""The HTTP endpoints, framework-free: parse and validate parameters, run, answer.

``GET /api/report`` is always a dry run (``Mode.REPORT``, whatever ``REMEDIATION_MODE`` says)
and never writes. ``GET /api/status`` renders the estate as last observed from the state table,
with no ARM request. ``GET /api/changes`` reads the change ledger. Errors are
``{"error": {"code", "message"}}`` with 400 (malformed parameter), 403 (outside the
configured scope), 500 (invalid configuration, naming the variable) or 503 (no ledger or state
table, or it could not be read).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from remediation.app.runtime import Runtime
from remediation.config import LEDGER_MAX_LIMIT as MAX_LIMIT
from remediation.config import Config, ConfigError, Mode, parse_subscription_ids
from remediation.core.model import Trigger
from remediation.core.status import status_document
from remediation.engine.names import ClusterNameError, is_cluster_name, resolve_cluster_names
from remediation.engine.reconcile import run
from remediation.errors import LedgerError, StateError, UnknownCategoriesError
from remediation.ids import ResourceIdError, parse_cluster_id
from remediation.output.render import CONTENT_TYPES, FORMATS, render

logger = logging.getLogger(__name__)

JSON = "application/json"
REPORT_FORMATS: tuple[str, ...] = FORMATS  # the same renderers as the CLI; table is plain text
DEFAULT_LIMIT = 100
# ``code`` carries the function key when it is passed in the query string.
_ALWAYS_ALLOWED = frozenset({"code"})
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class HttpResult:
    status: int
    body: str
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_result(status: int, code: str, message: str, **details: str) -> HttpResult:
    body = {"error": {"code": code, "message": message, **details}}
    return HttpResult(status, json.dumps(body, indent=2) + "\n", JSON)


def config_error_result(exc: ConfigError) -> HttpResult:
    return error_result(500, "InvalidConfiguration", str(exc), target=exc.variable)


# --- parameters -----------------------------------------------------------------------------


def query_values(url: str, params: Mapping[str, str], name: str) -> list[str]:
    """Every value of a repeatable parameter, also comma-separated (``a&a`` or ``a,b``).

    The URL is authoritative (it keeps repeated keys); ``params`` is the fallback for hosts
    that pass a pre-parsed map (the Functions host joins repeated values with commas).
    """
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    raw: Sequence[str] = query[name] if name in query else ([params[name]] if name in params else [])
    values: list[str] = []
    for item in raw:
        values += [part.strip() for part in item.split(",") if part.strip()]
    return values


def _single(url: str, params: Mapping[str, str], name: str) -> str | None:
    values = query_values(url, params, name)
    if len(values) > 1:
        raise ApiError(400, "InvalidParameter", f"'{name}' may be given once")
    return values[0] if values else None


def _reject_unknown(url: str, params: Mapping[str, str], allowed: Sequence[str]) -> None:
    names = set(parse_qs(urlsplit(url).query, keep_blank_values=True)) | set(params)
    unknown = sorted(names - set(allowed) - _ALWAYS_ALLOWED)
    if unknown:
        raise ApiError(
            400, "UnknownParameter", f"unknown parameter(s): {', '.join(unknown)}; expected: {', '.join(allowed)}"
        )


@dataclass(frozen=True)
class ReportRequest:
    subscriptions: tuple[str, ...]
    clusters: tuple[str, ...]
    fmt: str
    names: tuple[str, ...] = ()  # bare cluster names, resolved in scope before the run


def parse_report_request(url: str, params: Mapping[str, str], config: Config) -> ReportRequest:
    _reject_unknown(url, params, ("subscription", "cluster", "format"))
    fmt = (_single(url, params, "format") or "json").lower()
    if fmt not in REPORT_FORMATS:
        raise ApiError(400, "InvalidFormat", f"format {fmt!r} is not one of: {', '.join(REPORT_FORMATS)}")
    try:
        subscriptions = parse_subscription_ids(",".join(query_values(url, params, "subscription")), "subscription")
    except ConfigError as exc:
        raise ApiError(400, "InvalidSubscription", str(exc)) from None
    for subscription_id in subscriptions:
        if not config.subscription_in_scope(subscription_id):
            raise ApiError(
                403, "SubscriptionOutOfScope", f"subscription {subscription_id} is outside REMEDIATION_SUBSCRIPTION_IDS"
            )
    clusters: dict[str, str] = {}
    names: list[str] = []
    for raw in query_values(url, params, "cluster"):
        if not raw.startswith("/") and is_cluster_name(raw):
            names.append(raw)
            continue
        try:
            ref = parse_cluster_id(raw)
        except ResourceIdError as exc:
            raise ApiError(400, "InvalidCluster", str(exc)) from None
        if not config.subscription_in_scope(ref.subscription_id):
            raise ApiError(
                403,
                "SubscriptionOutOfScope",
                f"cluster {ref.id} is in subscription {ref.subscription_id}, outside REMEDIATION_SUBSCRIPTION_IDS",
            )
        clusters.setdefault(ref.id.lower(), ref.id)
    return ReportRequest(subscriptions, tuple(clusters.values()), fmt, tuple(dict.fromkeys(names)))


@dataclass(frozen=True)
class ChangesRequest:
    cluster: str | None
    since: datetime | None
    limit: int


def parse_rfc3339(value: str) -> datetime:
    # A '+' in an unencoded query string arrives as a space.
    value = re.sub(r" (\d{2}:\d{2})$", r"+\1", value.strip())
    if not _RFC3339.match(value):
        raise ValueError(value)
    try:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00")).astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 lies before datetime.min in UTC
        raise ValueError(value) from None
    if moment.year < 1970:  # the ledger's keys count from the Unix epoch
        raise ValueError(value)
    return moment


def parse_changes_request(url: str, params: Mapping[str, str]) -> ChangesRequest:
    _reject_unknown(url, params, ("cluster", "since", "limit"))
    cluster = _single(url, params, "cluster")
    if cluster is not None:
        try:
            cluster = parse_cluster_id(cluster).id
        except ResourceIdError as exc:
            raise ApiError(400, "InvalidCluster", str(exc)) from None
    since_raw = _single(url, params, "since")
    since = None
    if since_raw is not None:
        try:
            since = parse_rfc3339(since_raw)
        except ValueError:
            raise ApiError(
                400,
                "InvalidSince",
                f"since {since_raw!r} is not an RFC 3339 time from 1970 on, e.g. 2025-01-31T12:00:00Z",
            ) from None
    limit_raw = _single(url, params, "limit")
    limit = DEFAULT_LIMIT
    if limit_raw is not None:
        if not re.fullmatch(r"\d{1,5}", limit_raw) or not 1 <= int(limit_raw) <= MAX_LIMIT:
            raise ApiError(400, "InvalidLimit", f"limit {limit_raw!r} must be a whole number 1..{MAX_LIMIT}")
        limit = int(limit_raw)
    return ChangesRequest(cluster, since, limit)


# --- endpoints ------------------------------------------------------------------------------


def report(runtime: Runtime, url: str, params: Mapping[str, str]) -> HttpResult:
    """``GET /api/report``: a dry run of the requested scope, rendered in the requested format."""
    try:
        request = parse_report_request(url, params, runtime.config)
    except ApiError as exc:
        return error_result(exc.status, exc.code, exc.message)
    clusters = request.clusters
    if request.names:
        try:
            resolved = resolve_cluster_names(
                runtime.config,
                runtime.gateway,
                request.names,
                subscriptions=request.subscriptions,
                trigger=Trigger.HTTP,
            )
        except ClusterNameError as exc:
            if exc.matches:
                return error_result(400, "AmbiguousCluster", str(exc), matches=", ".join(exc.matches))
            return error_result(404, "ClusterNotFound", str(exc))
        clusters = tuple(dict.fromkeys([*clusters, *resolved]))
    try:
        document = run(
            runtime.config,
            runtime.gateway,
            mode=Mode.REPORT,
            trigger=Trigger.HTTP,
            subscriptions=request.subscriptions,
            clusters=clusters,
            logs=runtime.logs,
        )
    except UnknownCategoriesError as exc:  # found in ARM's category metadata: a configuration error
        logger.error("invalid configuration: %s", exc, extra={"config_variable": exc.variable})
        return error_result(500, "InvalidConfiguration", str(exc), target=exc.variable)
    logger.info(
        "report %s served as %s: %d clusters, %d errors",
        document["run_id"],
        request.fmt,
        document["summary"]["clusters"],
        len(document["errors"]),
        extra={"run_id": document["run_id"], "trigger": Trigger.HTTP.value},
    )
    return HttpResult(200, render(document, request.fmt), CONTENT_TYPES[request.fmt], {"Cache-Control": "no-store"})


def status(runtime: Runtime, url: str, params: Mapping[str, str]) -> HttpResult:
    """``GET /api/status``: the estate as last observed (the state table), with no ARM request."""
    try:
        request = parse_report_request(url, params, runtime.config)
    except ApiError as exc:
        return error_result(exc.status, exc.code, exc.message)
    if runtime.state is None:
        return error_result(
            503,
            "StateNotConfigured",
            "no state table: set AzureWebJobsStorage (or AzureWebJobsStorage__accountName) to record observations",
        )
    # Unfiltered, the configured scope (when there is one) is the filter: a subscription left out of it is not shown.
    subscriptions = request.subscriptions or (() if request.clusters else runtime.config.subscription_ids)
    try:
        observed = runtime.state.observations(subscriptions, request.clusters)
        sweeps = runtime.state.sweeps()
    except StateError as exc:
        logger.warning("could not read the state table: %s", exc)
        return error_result(503, "StateUnavailable", str(exc))
    document = status_document(
        observed,
        sweeps,
        required_categories=runtime.config.categories,
        document_id=uuid.uuid4().hex,
        now=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        subscriptions=subscriptions,
        clusters=request.clusters,
    )
    return HttpResult(200, render(document, request.fmt), CONTENT_TYPES[request.fmt], {"Cache-Control": "no-store"})


def changes(runtime: Runtime, url: str, params: Mapping[str, str]) -> HttpResult:
    """``GET /api/changes``: change records from the ledger, newest first."""
    try:
        request = parse_changes_request(url, params)
    except ApiError as exc:
        return error_result(exc.status, exc.code, exc.message)
    if runtime.ledger is None:
        return error_result(
            503,
            "LedgerNotConfigured",
            "no change ledger: set AzureWebJobsStorage (or AzureWebJobsStorage__accountName) to keep change records",
        )
    try:
        records = runtime.ledger.list_changes(request.cluster, request.since, request.limit)
    except LedgerError as exc:
        logger.warning("could not read the change ledger: %s", exc)
        return error_result(503, "LedgerUnavailable", str(exc))
    body: dict[str, Any] = {
        "changes": records,
        "count": len(records),
        "limit": request.limit,
        "cluster": request.cluster,
        "since": request.since.isoformat().replace("+00:00", "Z") if request.since else None,
    }
    return HttpResult(200, json.dumps(body, indent=2) + "\n", JSON, {"Cache-Control": "no-store"})
