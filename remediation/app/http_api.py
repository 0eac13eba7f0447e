"""The HTTP endpoints, framework-free: parse and validate parameters, run, answer.

``GET /api/report`` is always a dry run (``Mode.REPORT``, whatever ``REMEDIATION_MODE`` says)
and never writes. ``GET /api/status`` renders the estate as last observed from the state table,
and ``GET /api/changes`` reads the change ledger. All three serve the run's scope, decided one way
(:mod:`remediation.app.http_scope`: with a management group, one shared, cached listing of it;
``/api/status`` and ``/api/changes`` make no other ARM request). Errors are
``{"error": {"code", "message"}}`` with 400 (malformed parameter), 403 (a subscription or cluster
named outside the scope), 500 (invalid configuration, naming the variable) or 503 (no ledger or
state table, or it could not be read; the management group could not be listed).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from remediation.app.http_params import (
    JSON,
    HttpResult,
    ReportRequest,
    config_error_result,
    error_result,
    parse_changes_request,
    parse_report_request,
)
from remediation.app.http_scope import estate_subscriptions, is_empty, scoped_estate
from remediation.app.report_runs import ReportBusy, ReportOutcome
from remediation.app.runtime import Runtime
from remediation.config.values import Mode
from remediation.core.model import Trigger
from remediation.core.status import status_document
from remediation.engine.estate import Estate
from remediation.engine.names import match_cluster_names, resolve_cluster_names
from remediation.engine.response import INVALID_CONFIGURATION_HTTP_STATUS
from remediation.engine.sweep import run
from remediation.errors import ApiError, ClusterNameError, LedgerError, StateError, UnknownCategoriesError
from remediation.kit.deadline import Deadline
from remediation.output.render import CONTENT_TYPES, render

__all__ = ["HttpResult", "changes", "config_error_result", "report", "status"]

logger = logging.getLogger(__name__)

RETRY_AFTER = 30  # seconds: what a caller turned away by ReportBusy is told to wait
# A shared run ends by its own deadline, which began no later than this caller's; the grace covers rendering.
SHARE_GRACE = 10.0


# --- endpoints ------------------------------------------------------------------------------


def report(runtime: Runtime, url: str, params: Mapping[str, str]) -> HttpResult:
    """``GET /api/report``: a dry run of the requested scope, rendered in the requested format.

    Bounded (``remediation.app.report_runs``): one run at a time per instance, shared by every
    caller of the same scope, served again while younger than ``REMEDIATION_REPORT_CACHE_SECONDS``.
    A request naming subscriptions or clusters is checked against the served estate first (403,
    503 like ``/api/status``), and its run covers that estate; one for the whole estate lists the
    management group in its run (a failed listing is then an error in the report).
    """
    limits = runtime.report_limits
    try:
        request = parse_report_request(url, params, max_clusters=limits.max_clusters, flow_allowed=True)
    except ApiError as exc:
        return error_result(exc.status, exc.code, exc.message)
    deadline = Deadline.for_trigger(Trigger.HTTP.value, runtime.config.deadline_seconds, clock=runtime.clock)
    estate: Estate | None = None
    if request.subscriptions or request.clusters or request.names:
        try:
            estate = scoped_estate(runtime, request.subscriptions, request.clusters, deadline)
        except ApiError as exc:
            return error_result(exc.status, exc.code, exc.message)
    try:
        served = runtime.reports.get(
            request.scope_key,
            lambda: _run_report(runtime, request, deadline, estate),
            # A run waits for the run lock at most half its budget; a caller sharing a run, the whole of it.
            lock_wait=deadline.remaining() / 2,
            share_wait=deadline.remaining() + SHARE_GRACE,
        )
    except ReportBusy as exc:
        logger.warning("report not run: %s", exc, extra={"trigger": Trigger.HTTP.value})
        result = error_result(503, "ReportBusy", f"{exc}; try again shortly")
        return HttpResult(result.status, result.body, result.content_type, {"Retry-After": str(RETRY_AFTER)})
    except UnknownCategoriesError as exc:  # found in ARM's category metadata: a configuration error
        logger.error("invalid configuration: %s", exc, extra={"config_variable": exc.variable})
        return error_result(INVALID_CONFIGURATION_HTTP_STATUS, "InvalidConfiguration", str(exc), target=exc.variable)
    if served.value.name_error is not None:
        return _name_error(served.value.name_error)
    document = served.value.document
    assert document is not None
    age = int(served.age)
    logger.info(
        "report %s served as %s (%s, %d s old): %d clusters, %d errors",
        document["run_id"],
        request.fmt,
        served.how,
        age,
        document["summary"]["clusters"],
        len(document["errors"]),
        extra={"run_id": document["run_id"], "trigger": Trigger.HTTP.value, "report_served": served.how},
    )
    headers = {"Cache-Control": "no-store", "Age": str(age), "Last-Modified": _http_date(document["finished_at"])}
    return HttpResult(200, render(document, request.fmt), CONTENT_TYPES[request.fmt], headers)


def _run_report(runtime: Runtime, request: ReportRequest, deadline: Deadline, estate: Estate | None) -> ReportOutcome:
    """One dry run (names resolved first) of ``estate`` (None: the run lists it): what every caller
    of this scope gets."""
    clusters = request.clusters
    if request.names:
        try:
            resolved = resolve_cluster_names(
                runtime.config,
                runtime.gateway,
                request.names,
                subscriptions=request.subscriptions,
                trigger=Trigger.HTTP,
                estate=estate,
            )
        except ClusterNameError as exc:
            return ReportOutcome(name_error=exc)
        clusters = tuple(dict.fromkeys([*clusters, *resolved]))
    document = run(
        runtime.config,
        runtime.gateway,
        mode=Mode.REPORT,
        trigger=Trigger.HTTP,
        subscriptions=request.subscriptions,
        clusters=clusters,
        deadline=deadline,
        logs=runtime.logs if request.flow else None,
        estate=estate,
    )
    document["generated_at"] = document["finished_at"]
    return ReportOutcome(document=document)


def _http_date(rfc3339: str) -> str:
    return format_datetime(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")), usegmt=True)


def _name_error(exc: ClusterNameError) -> HttpResult:
    if exc.matches:
        return error_result(400, "AmbiguousCluster", str(exc), matches=", ".join(exc.matches))
    return error_result(404, "ClusterNotFound", str(exc))


def _observed_names(
    runtime: Runtime, estate: Estate, subscriptions: tuple[str, ...], names: tuple[str, ...], deadline: Deadline
) -> list[str]:
    """The IDs of the observed clusters the bare ``names`` mean (in the requested, else the served, scope)."""
    assert runtime.state is not None
    scope = subscriptions or estate_subscriptions(estate)
    observed = [] if is_empty(estate) else runtime.state.observations(scope, deadline=deadline)
    in_scope = [o.cluster["id"] for o in observed if estate.admits(o.cluster["subscription_id"])]
    where = f"the observed clusters of subscription(s) {', '.join(scope)}" if scope else "the observed clusters"
    return match_cluster_names(names, in_scope, where)


def status(runtime: Runtime, url: str, params: Mapping[str, str]) -> HttpResult:
    """``GET /api/status``: the estate as last observed (the state table); no ARM request but the
    management group's shared listing (:mod:`remediation.app.http_scope`). The table's retries
    draw on the HTTP budget (remediation.kit.deadline)."""
    deadline = Deadline.for_trigger(Trigger.HTTP.value, runtime.config.deadline_seconds, clock=runtime.clock)
    try:
        request = parse_report_request(url, params, max_clusters=runtime.report_limits.max_clusters)
        estate = scoped_estate(runtime, request.subscriptions, request.clusters)
    except ApiError as exc:
        return error_result(exc.status, exc.code, exc.message)
    if runtime.state is None:
        return error_result(
            503,
            "StateNotConfigured",
            "no state table: set AzureWebJobsStorage (or AzureWebJobsStorage__accountName) to record observations",
        )
    clusters = request.clusters
    # Unfiltered, the estate (when it is bounded) is the filter: a subscription outside it is not shown.
    subscriptions = request.subscriptions or (() if clusters or request.names else estate_subscriptions(estate))
    try:
        if request.names:  # bare names: looked up among the clusters observed in scope, like /api/report does in ARM
            clusters = (*clusters, *_observed_names(runtime, estate, request.subscriptions, request.names, deadline))
        nothing = is_empty(estate)  # a group with no subscription in scope: nothing to read
        observed = [] if nothing else runtime.state.observations(subscriptions, clusters, deadline=deadline)
        sweeps = [] if nothing else runtime.state.sweeps(deadline=deadline)
    except ClusterNameError as exc:
        return _name_error(exc)
    except StateError as exc:
        logger.warning("could not read the state table: %s", exc)
        return error_result(503, "StateUnavailable", exc.public)
    document = status_document(
        observed,
        sweeps,
        required_categories=runtime.config.categories,
        document_id=uuid.uuid4().hex,
        now=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        subscriptions=subscriptions,
        clusters=clusters,
    )
    return HttpResult(200, render(document, request.fmt), CONTENT_TYPES[request.fmt], {"Cache-Control": "no-store"})


def changes(runtime: Runtime, url: str, params: Mapping[str, str]) -> HttpResult:
    """``GET /api/changes``: change records from the ledger, newest first."""
    try:
        request = parse_changes_request(url, params)
    except ApiError as exc:
        return error_result(exc.status, exc.code, exc.message)
    if request.verify:
        return _verify_ledger(runtime)
    try:
        estate = scoped_estate(runtime, (), (request.cluster,) if request.cluster else ())
    except ApiError as exc:
        return error_result(exc.status, exc.code, exc.message)
    if runtime.ledger is None:
        return error_result(
            503,
            "LedgerNotConfigured",
            "no change ledger: set AzureWebJobsStorage (or AzureWebJobsStorage__accountName) to keep change records",
        )
    try:
        records = (
            []
            if is_empty(estate)
            else runtime.ledger.list_changes(
                request.cluster, request.since, request.limit, subscriptions=estate_subscriptions(estate)
            )
        )
    except LedgerError as exc:
        logger.warning("could not read the change ledger: %s", exc)
        return error_result(503, "LedgerUnavailable", exc.public)
    body: dict[str, Any] = {
        "changes": records,
        "count": len(records),
        "limit": request.limit,
        "cluster": request.cluster,
        "since": request.since.isoformat().replace("+00:00", "Z") if request.since else None,
    }
    return HttpResult(200, json.dumps(body, indent=2) + "\n", JSON, {"Cache-Control": "no-store"})


def _verify_ledger(runtime: Runtime) -> HttpResult:
    """``GET /api/changes?verify=true``: every link of the tamper-evident ledger checked, the first broken one named."""
    if runtime.chain is None:
        return error_result(
            503,
            "LedgerNotConfigured",
            "no tamper-evident ledger: set AzureWebJobsStorage (or REMEDIATION_LEDGER_BLOB_ENDPOINT) to keep one",
        )
    try:
        document = runtime.chain.verification_document()
    except LedgerError as exc:
        logger.warning("could not verify the change ledger: %s", exc)
        return error_result(503, "LedgerUnavailable", exc.public)
    if not document["intact"]:
        logger.error(
            "the change ledger's chain is broken at %s line %s: %s",
            document["first_broken"]["part"],
            document["first_broken"]["line"],
            document["first_broken"]["reason"],
            extra={"ledger_broken": True},
        )
    return HttpResult(200, json.dumps(document, indent=2) + "\n", JSON, {"Cache-Control": "no-store"})
