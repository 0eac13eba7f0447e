"""Cluster names to resource IDs: ``--cluster aks-web`` (or ``?cluster=aks-web``) resolved in scope.

A bare name is looked up among the clusters of the subscriptions in scope (case-insensitively,
as ARM compares names). No match and several matches are both errors that say what to give
instead; an ambiguous name lists every match, so the user can copy the resource ID they meant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from remediation.config.values import Config
from remediation.core.model import Trigger
from remediation.engine.estate import Estate, subscriptions_in_scope
from remediation.engine.ports import Gateway
from remediation.errors import ClusterNameError
from remediation.kit.deadline import Deadline

# AKS cluster names: 1..63 letters, digits, '-' and '_', starting and ending with a letter or digit.
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")


def is_cluster_name(value: str) -> bool:
    return bool(CLUSTER_NAME.match(value))


def resolve_cluster_names(
    config: Config,
    gateway: Gateway,
    names: Sequence[str],
    *,
    subscriptions: Sequence[str] = (),
    trigger: Trigger = Trigger.CLI,
    estate: Estate | None = None,
) -> list[str]:
    """The resource ID of each name, in order; raises :class:`ClusterNameError` (or ArmError).
    ``estate``: the scope as the caller already knows it (else the management group is listed)."""
    if not names:
        return []
    bounded = gateway.bounded(Deadline.for_trigger(trigger.value, config.deadline_seconds))
    subs = list(subscriptions) or subscriptions_in_scope(config, bounded, estate)
    listed = [
        cluster for sub in dict.fromkeys(s.lower() for s in subs) for cluster in bounded.list_clusters(sub).clusters
    ]
    where = f"subscription(s) {', '.join(subs)}" if subs else "any subscription the identity can list"
    return match_cluster_names(names, [c.id for c in listed], where)


def match_cluster_names(names: Sequence[str], cluster_ids: Iterable[str], where: str) -> list[str]:
    """The one ID among ``cluster_ids`` whose last segment is each name (case-insensitively), in order.

    Raises :class:`ClusterNameError` for a name that matches none (``where`` says where it was looked
    for) or several (listing every match).
    """
    by_name: dict[str, set[str]] = {}
    for cluster_id in cluster_ids:
        by_name.setdefault(cluster_id.rstrip("/").rsplit("/", 1)[-1].lower(), set()).add(cluster_id)
    ids: list[str] = []
    for name in names:
        matches = sorted(by_name.get(name.lower(), ()), key=str.lower)
        if not matches:
            raise ClusterNameError(
                name, f"no cluster named {name!r} in {where}; give its resource ID or check the name"
            )
        if len(matches) > 1:
            raise ClusterNameError(
                name,
                f"{len(matches)} clusters are named {name!r}; give the resource ID of the one you mean: "
                + "; ".join(matches),
                matches,
            )
        ids.append(matches[0])
    return ids
