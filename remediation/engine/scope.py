"""Scope: how a run chooses its clusters, and what it already knows about them.

The only stage in which a sweep and an event differ:

- a sweep (:func:`discover`) lists every cluster of the subscriptions in scope, or reads the
  clusters named (``--cluster``); a named cluster that cannot be read becomes an outcome, and so
  does a listed entry whose ID is not a cluster's (``invalid-resource-id``: it costs only itself);
- an event (:func:`first_round`) reads the one cluster it names together with its diagnostic
  settings (one round trip instead of three); :func:`wait_until_settled` re-reads a cluster still
  provisioning, within the event's budget.

Everything after the scope (observe, assess, remediate, verify, record) is shared.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from remediation.core.model import Cluster, ClusterListing, DiagnosticSetting, Reason, RejectedEntry, Status
from remediation.engine.context import Run, category_metadata
from remediation.engine.estate import OUTSIDE_SCOPE, Estate, estate_of
from remediation.engine.outcomes import ClusterOutcome
from remediation.engine.ports import Gateway
from remediation.errors import ArmError, ClusterBusyError, ClusterNotFoundError, CredentialError, group_scope
from remediation.ids import ClusterId, id_key, parse_cluster_id, printable
from remediation.kit.deadline import Deadline, DeadlineExceeded

logger = logging.getLogger(__name__)

# A wait is started only when this much time is left after it for the read that follows.
READ_RESERVE = 1.0


def _by_id(cluster_id: str) -> Cluster:
    """A cluster known only by its ID (not read yet, or unreadable)."""
    ref = parse_cluster_id(cluster_id)
    return Cluster(
        id=ref.id,
        name=ref.name,
        subscription_id=ref.subscription_id,
        resource_group=ref.resource_group,
        location="",
        provisioning_state="",
    )


# --- a sweep ---------------------------------------------------------------------------------


def discover(
    state: Run, pool: ThreadPoolExecutor, *, subscriptions: Sequence[str], clusters: Sequence[str]
) -> tuple[list[Cluster], list[ClusterOutcome]]:
    """The clusters in scope (the named ones, else every cluster of every subscription in scope),
    and the named clusters that could not be read.

    With a management group configured (:mod:`remediation.engine.estate`), the group is listed
    once, first: the scope is its subscriptions; a named subscription or cluster outside it is
    reported and never read; a failed listing leaves the run empty, with an error naming the group.
    """
    outside: list[ClusterOutcome] = []
    if state.config.management_group is not None:
        estate = _estate(state)
        if estate is None:
            return [], []
        clusters, outside = _inside(estate, clusters)
        if subscriptions:
            subscriptions = _subscriptions_inside(state, estate, subscriptions)
            if not subscriptions and not clusters:
                return [], outside
        elif not clusters:
            if outside:
                return [], outside
            subscriptions = sorted(estate.allowed or ())
            if not subscriptions:
                logger.warning(
                    "management group %s holds no subscription in scope", estate.group, extra={"run_id": state.run_id}
                )
                return [], []
    if clusters:
        found: dict[str, Cluster] = {}
        unreadable: list[ClusterOutcome] = []
        for cluster_id, read in zip(
            clusters, pool.map(lambda cid: _read_named_cluster(state, cid), clusters), strict=True
        ):
            if isinstance(read, Cluster):
                found.setdefault(id_key(read.id), read)
            else:
                unreadable.append(_unreadable(cluster_id, read))
        return list(found.values()), unreadable + outside

    subs = list(subscriptions) or list(state.config.subscription_ids)
    if not subs:
        try:
            subs = state.gateway.list_subscriptions()
        except ArmError as exc:
            logger.warning("could not list subscriptions: %s", exc, extra={"run_id": state.run_id})
            state.add_error("/subscriptions", exc)
            return [], []
        except DeadlineExceeded as exc:
            state.add_deadline_error("/subscriptions", exc)
            return [], []

    def list_one(subscription_id: str) -> ClusterListing:
        try:
            return state.gateway.list_clusters(subscription_id)
        except (ArmError, DeadlineExceeded) as exc:
            # A credential failure is the same for every subscription: the caller reports it once.
            level = logging.DEBUG if isinstance(exc, CredentialError) else logging.WARNING
            logger.log(
                level,
                "could not list clusters of subscription %s: %s",
                subscription_id,
                exc,
                extra={"run_id": state.run_id},
            )
            scope = f"/subscriptions/{subscription_id}"
            if isinstance(exc, ArmError):
                state.add_error(scope, exc)
            else:
                state.add_deadline_error(scope, exc)
            with state.lock:
                state.unreadable_subscriptions.add(subscription_id)
            return ClusterListing(clusters=())

    listed: dict[str, Cluster] = {}
    rejected: list[ClusterOutcome] = []
    unique = list(dict.fromkeys(s.lower() for s in subs))
    for subscription_id, listing in zip(unique, pool.map(list_one, unique), strict=True):
        for cluster in listing.clusters:
            listed.setdefault(id_key(cluster.id), cluster)
        rejected.extend(_rejected(state, subscription_id, entry) for entry in listing.rejected)
    return sorted(listed.values(), key=lambda c: id_key(c.id)), rejected


def _rejected(state: Run, subscription_id: str, entry: RejectedEntry) -> ClusterOutcome:
    """A listed entry whose ID is not a cluster's: failed on its own (its ID and name escaped), never written to."""
    shown = ClusterId(printable(entry.resource_id))
    name = printable(entry.name or entry.resource_id.rstrip("/").rsplit("/", 1)[-1])
    error = ArmError(
        Reason.INVALID_RESOURCE_ID.value,
        f"the cluster listing of subscription {subscription_id} holds an entry that is not a cluster "
        f"the tool can use ({entry.problem}); it is left alone, the subscription's other clusters are checked",
    )
    logger.warning(
        "cluster listing of subscription %s: %s", subscription_id, error.message, extra=state.log_fields(shown)
    )
    state.add_error(shown, error)
    cluster = Cluster(
        id=shown, name=name, subscription_id=subscription_id, resource_group="", location="", provisioning_state=""
    )
    return ClusterOutcome(cluster=cluster, status=Status.FAILED, missing=None, reason=error.code, error=error)


def _estate(state: Run) -> Estate | None:
    """The run's estate: as its starter knows it, else one listing of the management group; None
    when it could not be listed (the error, naming the group, is the run's)."""
    if state.estate is not None:
        return state.estate
    group = state.config.management_group or ""
    try:
        return estate_of(state.config, state.gateway)
    except ArmError as exc:
        logger.warning("%s", exc.message, extra={"run_id": state.run_id, "management_group": group})
        state.add_error(group_scope(group), exc)
    except DeadlineExceeded as exc:
        state.add_deadline_error(group_scope(group), exc)
    return None


def _inside(estate: Estate, clusters: Sequence[str]) -> tuple[list[str], list[ClusterOutcome]]:
    """The named clusters in the estate, and an outcome for each one outside it (never read)."""
    inside: list[str] = []
    outside: list[ClusterOutcome] = []
    for cluster_id in clusters:
        subscription_id = parse_cluster_id(cluster_id).subscription_id
        if estate.admits(subscription_id):
            inside.append(cluster_id)
            continue
        error = ArmError(OUTSIDE_SCOPE, estate.outside_message(subscription_id))
        outside.append(
            ClusterOutcome(
                cluster=_by_id(cluster_id), status=Status.FAILED, missing=None, reason=OUTSIDE_SCOPE, error=error
            )
        )
    return inside, outside


def _subscriptions_inside(state: Run, estate: Estate, subscriptions: Sequence[str]) -> list[str]:
    """The named subscriptions in the estate; each one outside it is an error of the run (never read)."""
    inside, outside = estate.split(subscriptions)
    for subscription_id in outside:
        scope = f"/subscriptions/{subscription_id}"
        state.add_error(scope, ArmError(OUTSIDE_SCOPE, estate.outside_message(subscription_id)))
    return inside


def _read_named_cluster(state: Run, cluster_id: str) -> Cluster | ArmError | DeadlineExceeded:
    try:
        return state.gateway.get_cluster(cluster_id)
    except ArmError as exc:
        state.add_error(cluster_id, exc)
        return exc
    except DeadlineExceeded as exc:
        return exc


def _unreadable(cluster_id: str, error: ArmError | DeadlineExceeded) -> ClusterOutcome:
    cluster = _by_id(cluster_id)
    if isinstance(error, DeadlineExceeded):
        return ClusterOutcome(
            cluster=cluster, status=Status.DEFERRED, missing=(), reason=Reason.DEADLINE.value, note=str(error)
        )
    reason = Reason.CLUSTER_NOT_FOUND.value if isinstance(error, ClusterNotFoundError) else error.code
    return ClusterOutcome(cluster=cluster, status=Status.FAILED, missing=None, reason=reason, error=error)


# --- an event --------------------------------------------------------------------------------


def first_round(state: Run, cluster_id: str) -> tuple[Cluster, tuple[DiagnosticSetting, ...] | None]:
    """The cluster and its diagnostic settings, read at the same time (and the category metadata
    too, when this worker does not know it yet): one round trip instead of three.

    Raises what reading the cluster raises; a failed settings read is left to the assessment
    (it reads them again and reports the failure)."""
    by_id = _by_id(cluster_id)
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="event") as pool:
        cluster_read = pool.submit(state.gateway.get_cluster, cluster_id)
        settings_read = pool.submit(state.gateway.list_settings, by_id)
        if state.knowledge.category_metadata() is None:
            pool.submit(category_metadata, state, by_id)  # warms the run's and the process's cache
        cluster = cluster_read.result()
        try:
            settings: tuple[DiagnosticSetting, ...] | None = settings_read.result()
        except (ArmError, DeadlineExceeded):
            settings = None
    return cluster, settings


def wait_until_settled(
    gateway: Gateway, cluster: Cluster, budget: Deadline, wait: tuple[float, float]
) -> Cluster | ClusterBusyError:
    """Re-read the cluster, waiting ``wait[0]``, ``2*wait[0]``, ... (at most ``wait[1]``) in between;
    the cluster once settled, else (a value) why it is still busy.

    A wait is started only when the read after it still fits in ``budget``: the limit is
    checked before waiting, not after. Raises what reading the cluster raises."""
    delay = wait[0]
    while not cluster.is_settled:
        if not budget.can_wait(delay + min(READ_RESERVE, delay)):
            return ClusterBusyError(cluster.id, cluster.provisioning_state, budget.budget - budget.remaining())
        budget.sleep(delay)
        cluster = gateway.get_cluster(cluster.id)
        delay = min(delay * 2, wait[1])
    return cluster
