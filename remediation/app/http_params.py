"""The HTTP endpoints' parameters and answers: parse and validate, before anything is read.

Every parameter is checked before any storage or ARM request: unknown parameters and malformed
values are answered here (400) as ``{"error": {"code", "message"}}``. Whether the subscriptions and
clusters named lie in the scope (403) is :mod:`remediation.app.http_scope`'s to say, for every endpoint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from remediation.config.parse import parse_subscription_ids
from remediation.config.values import LEDGER_MAX_LIMIT as MAX_LIMIT
from remediation.engine.names import is_cluster_name
from remediation.errors import ApiError, ConfigError, ResourceIdError
from remediation.ids import parse_cluster_id
from remediation.output.render import FORMATS

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
    flow: bool = False  # /api/report?flow=true: verify the flow (Log Analytics queries, billed on Basic)

    @property
    def scope_key(self) -> tuple[object, ...]:
        """What the run depends on (not the format): callers with the same key share a run."""
        return (
            frozenset(s.lower() for s in self.subscriptions),
            frozenset(c.lower() for c in self.clusters),
            frozenset(n.lower() for n in self.names),
            self.flow,
        )


def parse_report_request(
    url: str, params: Mapping[str, str], *, max_clusters: int, flow_allowed: bool = False
) -> ReportRequest:
    """Validate a report's (or status') parameters: 400 before anything is read."""
    _reject_unknown(url, params, ("subscription", "cluster", "format", *(("flow",) if flow_allowed else ())))
    flow = False
    if flow_allowed:
        flow_raw = (_single(url, params, "flow") or "false").lower()
        if flow_raw not in ("true", "false"):
            raise ApiError(400, "InvalidParameter", f"flow {flow_raw!r} must be true or false")
        flow = flow_raw == "true"
    named = {value.lower() for value in query_values(url, params, "cluster")}
    if len(named) > max_clusters:
        raise ApiError(
            400,
            "TooManyClusters",
            f"{len(named)} clusters named; at most {max_clusters} per request (REMEDIATION_REPORT_MAX_CLUSTERS): "
            "ask for their subscriptions instead, or split the request",
        )
    fmt = (_single(url, params, "format") or "json").lower()
    if fmt not in REPORT_FORMATS:
        raise ApiError(400, "InvalidFormat", f"format {fmt!r} is not one of: {', '.join(REPORT_FORMATS)}")
    try:
        subscriptions = parse_subscription_ids(",".join(query_values(url, params, "subscription")), "subscription")
    except ConfigError as exc:
        raise ApiError(400, "InvalidSubscription", str(exc)) from None
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
        clusters.setdefault(ref.id.lower(), ref.id)
    return ReportRequest(subscriptions, tuple(clusters.values()), fmt, tuple(dict.fromkeys(names)), flow)


@dataclass(frozen=True)
class ChangesRequest:
    cluster: str | None
    since: datetime | None
    limit: int
    verify: bool = False  # ?verify=true: check the tamper-evident ledger's hash chain instead


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
    _reject_unknown(url, params, ("cluster", "since", "limit", "verify"))
    verify_raw = (_single(url, params, "verify") or "false").lower()
    if verify_raw not in ("true", "false"):
        raise ApiError(400, "InvalidParameter", f"verify {verify_raw!r} must be true or false")
    if verify_raw == "true":
        others = sorted({"cluster", "since", "limit"} & (set(parse_qs(urlsplit(url).query)) | set(params)))
        if others:
            raise ApiError(
                400, "InvalidParameter", f"verify=true checks the whole chain: it takes no {', '.join(others)}"
            )
        return ChangesRequest(None, None, DEFAULT_LIMIT, verify=True)
    cluster = _single(url, params, "cluster")
    if cluster is not None:
        try:
            ref = parse_cluster_id(cluster)
        except ResourceIdError as exc:
            raise ApiError(400, "InvalidCluster", str(exc)) from None
        cluster = ref.id
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
