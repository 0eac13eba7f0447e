"""The estate the HTTP endpoints serve: the same scope as a run's, decided one way for all three.

A run covers ``REMEDIATION_SUBSCRIPTION_IDS``, or with ``REMEDIATION_MANAGEMENT_GROUP`` the group's
descendant subscriptions (narrowed by the list when both are set; :mod:`remediation.engine.estate`).
A request to ``/api/status``, ``/api/changes`` or ``/api/report`` naming a subscription or cluster
outside that estate is 403 ``SubscriptionOutOfScope`` (:meth:`Estate.refusal
<remediation.engine.estate.Estate.refusal>`, the CLI's exit 2 too); the endpoints that read stored
state (the state table, the change ledger) serve no record of another subscription. A named
``/api/report`` runs on the estate decided here (the run does not list the group again); one for
the whole estate is a run that lists the group itself.

With a group, knowing the estate takes one ARM listing, which these endpoints otherwise never
make. So that a function key cannot turn reads of stored state into ARM reads, the listing is
bounded and shared per app instance (:class:`~remediation.app.report_runs.ReportRuns`): concurrent
callers share one listing, and its result is served again while younger than
``REMEDIATION_REPORT_CACHE_SECONDS`` (default 300 s: a subscription moved into or out of the group
shows within that time); the listing ends within :data:`LOOKUP_SECONDS` (and the HTTP deadline).
A listing that fails is not kept and never widens the scope: the answer is 503
``ManagementGroupUnavailable`` naming the group.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from remediation.app.report_runs import ReportBusy
from remediation.app.runtime import Runtime
from remediation.core.model import Trigger
from remediation.engine.estate import Estate, estate_of
from remediation.errors import ApiError, ArmError
from remediation.kit.deadline import Deadline, DeadlineExceeded

logger = logging.getLogger(__name__)

# The longest a request waits for the management group's listing (its retries included).
LOOKUP_SECONDS = 30.0


def served_estate(runtime: Runtime, request_deadline: Deadline | None = None) -> Estate:
    """The estate the endpoints serve (the group's listing shared and cached per instance), within
    ``request_deadline`` (default: the HTTP trigger's) and :data:`LOOKUP_SECONDS`.

    Raises :class:`ApiError` 503 ``ManagementGroupUnavailable`` when the group cannot be listed.
    """
    config = runtime.config
    if config.management_group is None:
        return estate_of(config, runtime.gateway)  # the configured list (or any): no ARM request
    group = config.management_group
    request_deadline = request_deadline or Deadline.for_trigger(
        Trigger.HTTP.value, config.deadline_seconds, clock=runtime.clock
    )
    deadline = request_deadline.child(LOOKUP_SECONDS)
    try:
        return runtime.estates.get(
            (group, config.subscription_ids),
            lambda: estate_of(config, runtime.gateway.bounded(deadline)),
            lock_wait=deadline.remaining(),
            share_wait=deadline.remaining(),
        ).value
    except ArmError as exc:
        logger.warning("%s", exc.message, extra={"management_group": group})
        why = f"ARM answered {exc.status} {exc.code}" if exc.status else exc.code
    except (DeadlineExceeded, ReportBusy) as exc:
        logger.warning("could not list management group %s: %s", group, exc, extra={"management_group": group})
        why = f"no answer within {deadline.budget:.0f} s"
    raise ApiError(
        503,
        "ManagementGroupUnavailable",
        f"could not list the subscriptions of management group {group!r} ({why}); "
        "nothing is served until it can be listed",
    )


def check_in_estate(estate: Estate, subscriptions: Sequence[str], clusters: Sequence[str]) -> None:
    """403 ``SubscriptionOutOfScope`` for a requested subscription or cluster outside the estate."""
    refusal = estate.refusal(subscriptions, clusters)
    if refusal is not None:
        raise ApiError(403, "SubscriptionOutOfScope", refusal)


def scoped_estate(
    runtime: Runtime,
    subscriptions: Sequence[str],
    clusters: Sequence[str],
    request_deadline: Deadline | None = None,
) -> Estate:
    """The served estate, once every subscription and cluster the request names is known to be in it.

    Raises :class:`ApiError`: 403 ``SubscriptionOutOfScope``, 503 ``ManagementGroupUnavailable``."""
    estate = served_estate(runtime, request_deadline)
    check_in_estate(estate, subscriptions, clusters)
    return estate


def estate_subscriptions(estate: Estate) -> tuple[str, ...]:
    """The estate's subscriptions, sorted; empty when any subscription is (neither a list nor a group)."""
    return tuple(sorted(estate.allowed)) if estate.allowed is not None else ()


def is_empty(estate: Estate) -> bool:
    """Whether the estate holds no subscription at all (a group with none in scope): nothing to serve."""
    return estate.allowed is not None and not estate.allowed
