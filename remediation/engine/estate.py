"""Which subscriptions a run covers: the configured list, a management group's, or every one visible.

``REMEDIATION_MANAGEMENT_GROUP`` makes the scope the group's descendant subscriptions, listed once
per run: a subscription created (or moved) under the group is swept by the next run with no
redeployment, one moved out is no longer touched, not even when a run names it. With
``REMEDIATION_SUBSCRIPTION_IDS`` too, the scope is both (the list narrows the group). A failed
listing raises :class:`~remediation.errors.ManagementGroupError` naming the group: the run then
covers nothing, never "every subscription the identity can see".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from remediation.config.values import Config
from remediation.ids import parse_cluster_id

# The code of a subscription (or a named cluster's) outside the configured estate: reported, never read.
OUTSIDE_SCOPE = "OutsideScope"


class GroupLister(Protocol):
    def list_management_group_subscriptions(self, group_id: str) -> list[str]: ...

    def list_subscriptions(self) -> list[str]: ...


@dataclass(frozen=True)
class Estate:
    """The subscriptions a run may touch (``None``: any, when neither a list nor a group is configured)."""

    allowed: frozenset[str] | None
    group: str | None = None
    narrowed: bool = False  # the group's subscriptions, narrowed by REMEDIATION_SUBSCRIPTION_IDS

    def admits(self, subscription_id: str) -> bool:
        return self.allowed is None or subscription_id.lower() in self.allowed

    def split(self, requested: Sequence[str]) -> tuple[list[str], list[str]]:
        """``requested`` (order kept, duplicates dropped) into those in the estate and those outside."""
        inside: list[str] = []
        outside: list[str] = []
        for sub in dict.fromkeys(s.lower() for s in requested):
            (inside if self.admits(sub) else outside).append(sub)
        return inside, outside

    @property
    def where(self) -> str:
        """What bounds the estate, for messages: the group (and the list narrowing it), or the list."""
        where = f"management group {self.group!r}" if self.group else "REMEDIATION_SUBSCRIPTION_IDS"
        return where + " (narrowed by REMEDIATION_SUBSCRIPTION_IDS)" if self.narrowed else where

    def outside_message(self, subscription_id: str) -> str:
        return f"subscription {subscription_id} is not in {self.where}; it is not touched"

    def refusal(self, subscriptions: Sequence[str], clusters: Sequence[str]) -> str | None:
        """Why a request naming ``subscriptions`` and ``clusters`` (resource IDs) is refused: the first
        one outside the estate; None when every one is inside. The one decision behind 403
        ``SubscriptionOutOfScope`` (HTTP) and exit 2 (CLI)."""
        for subscription_id in subscriptions:
            if not self.admits(subscription_id):
                return f"subscription {subscription_id} is outside {self.where}"
        for cluster_id in clusters:
            subscription_id = parse_cluster_id(cluster_id).subscription_id
            if not self.admits(subscription_id):
                return f"cluster {cluster_id} is in subscription {subscription_id}, outside {self.where}"
        return None


def configured_estate(config: Config) -> Estate:
    """The estate as far as the settings alone say, with no request: ``REMEDIATION_SUBSCRIPTION_IDS``
    (or any). With a management group too, the run's estate is narrower (:func:`estate_of`): what
    this one refuses, that one refuses too."""
    return Estate(frozenset(s.lower() for s in config.subscription_ids) if config.subscription_ids else None)


def estate_of(config: Config, gateway: GroupLister) -> Estate:
    """The run's estate: one listing of the management group when one is configured (raises
    :class:`~remediation.errors.ManagementGroupError` naming it when the listing fails)."""
    configured = configured_estate(config).allowed
    if config.management_group is None:
        return Estate(configured)
    listed = frozenset(s.lower() for s in gateway.list_management_group_subscriptions(config.management_group))
    if configured is None:
        return Estate(listed, config.management_group)
    return Estate(listed & configured, config.management_group, narrowed=True)


def subscriptions_in_scope(config: Config, gateway: GroupLister, estate: Estate | None = None) -> list[str]:
    """Every subscription a sweep covers, sorted: the estate's, else every one the identity can list."""
    estate = estate or estate_of(config, gateway)
    if estate.allowed is None:
        return list(dict.fromkeys(s.lower() for s in gateway.list_subscriptions()))
    if estate.group is None:
        return list(dict.fromkeys(s.lower() for s in config.subscription_ids))
    return sorted(estate.allowed)
