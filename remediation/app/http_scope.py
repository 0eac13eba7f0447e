"""The estate that ``/api/status`` and ``/api/changes`` serve: the same scope as a run's.

A run covers ``REMEDIATION_SUBSCRIPTION_IDS``, or with ``REMEDIATION_MANAGEMENT_GROUP`` the group's
descendant subscriptions (narrowed by the list when both are set; :mod:`remediation.engine.estate`).
The endpoints that read stored state (the state table, the change ledger) serve that estate and
nothing else: a subscription or cluster outside it is 403 ``SubscriptionOutOfScope``, and records
of other subscriptions are not served.

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
from remediation.ids import parse_cluster_id
from remediation.kit.deadline import Deadline, DeadlineExceeded

logger = logging.getLogger(__name__)

# The longest a request waits for the management group's listing (its retries included).
LOOKUP_SECONDS = 30.0


def served_estate(runtime: Runtime) -> Estate:
    """The estate the endpoints serve (the group's listing shared and cached per instance).

    Raises :class:`ApiError` 503 ``ManagementGroupUnavailable`` when the group cannot be listed.
    """
    config = runtime.config
    if config.management_group is None:
        return estate_of(config, runtime.gateway)  # the configured list (or any): no ARM request
    group = config.management_group
    deadline = Deadline.for_trigger(Trigger.HTTP.value, config.deadline_seconds, clock=runtime.clock).child(
        LOOKUP_SECONDS
    )
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
    for subscription_id in subscriptions:
        if not estate.admits(subscription_id):
            raise ApiError(403, "SubscriptionOutOfScope", f"subscription {subscription_id} is outside {estate.where}")
    for cluster_id in clusters:
        subscription_id = parse_cluster_id(cluster_id).subscription_id
        if not estate.admits(subscription_id):
            raise ApiError(
                403,
                "SubscriptionOutOfScope",
                f"cluster {cluster_id} is in subscription {subscription_id}, outside {estate.where}",
            )


def estate_subscriptions(estate: Estate) -> tuple[str, ...]:
    """The estate's subscriptions, sorted; empty when any subscription is (neither a list nor a group)."""
    return tuple(sorted(estate.allowed)) if estate.allowed is not None else ()


def is_empty(estate: Estate) -> bool:
    """Whether the estate holds no subscription at all (a group with none in scope): nothing to serve."""
    return estate.allowed is not None and not estate.allowed
