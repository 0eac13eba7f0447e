"""Event Grid events from a subscription system topic: which ones we act on.

Pure parsing; no I/O. The infra/ event subscription filter is tested against
:data:`HANDLED_EVENT_TYPES` and :data:`HANDLED_OPERATIONS`.

:func:`classify` turns one event (its type, subject and ``data``) into a decision:

- :class:`ReconcileCluster`: a managed cluster was written, or a diagnostic setting under a
  managed cluster was written or deleted (drift repair). The event is only a hint: the
  handler reads the cluster before doing anything.
- :class:`Ignore`: anything else (other resource types, other operations, subscriptions
  outside the configured scope). No ARM request follows.

:func:`event_callers` reads who made the change (the event's ``claims`` and ``authorization``):
the handler drops the events our own writes cause.
- :class:`Malformed`: the event claims to be one we handle but its data cannot be read
  (missing or unparsable ``resourceUri``, wrong data shape). Retrying cannot help.

Names are compared case-insensitively: ARM IDs and operation names arrive in varying case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from remediation.errors import ResourceIdError
from remediation.ids import ClusterId, parse_cluster_id, split_setting_id

HANDLED_EVENT_TYPES: tuple[str, ...] = (
    "Microsoft.Resources.ResourceWriteSuccess",
    "Microsoft.Resources.ResourceDeleteSuccess",
)

CLUSTER_WRITE = "Microsoft.ContainerService/managedClusters/write"
SETTING_WRITE = "Microsoft.Insights/diagnosticSettings/write"
SETTING_DELETE = "Microsoft.Insights/diagnosticSettings/delete"

HANDLED_OPERATIONS: tuple[str, ...] = (CLUSTER_WRITE, SETTING_WRITE, SETTING_DELETE)

WRITE_SUCCESS = HANDLED_EVENT_TYPES[0]
DELETE_SUCCESS = HANDLED_EVENT_TYPES[1]


class Cause(StrEnum):
    """Why a cluster is reconciled (logged with the reconciliation)."""

    CLUSTER_WRITTEN = "cluster-written"
    SETTING_WRITTEN = "setting-written"
    SETTING_DELETED = "setting-deleted"


class IgnoreReason(StrEnum):
    EVENT_TYPE = "event-type-not-handled"
    OPERATION = "operation-not-handled"
    NOT_A_CLUSTER_SETTING = "setting-not-on-a-cluster"
    OUT_OF_SCOPE = "subscription-out-of-scope"
    OUR_OWN_WRITE = "caused-by-our-identity"


@dataclass(frozen=True, kw_only=True)
class ReconcileCluster:
    cluster_id: ClusterId
    subscription_id: str  # lower case
    reason: Cause


@dataclass(frozen=True)
class Ignore:
    reason: IgnoreReason
    detail: str = ""


@dataclass(frozen=True)
class Malformed:
    message: str


Decision = ReconcileCluster | Ignore | Malformed

# Which operation may arrive with which event type, and what it means.
_RULES: Mapping[tuple[str, str], Cause] = {
    (WRITE_SUCCESS.lower(), CLUSTER_WRITE.lower()): Cause.CLUSTER_WRITTEN,
    (WRITE_SUCCESS.lower(), SETTING_WRITE.lower()): Cause.SETTING_WRITTEN,
    (DELETE_SUCCESS.lower(), SETTING_DELETE.lower()): Cause.SETTING_DELETED,
    # Either event type with either setting operation (the rule): cheap to accept,
    # and the handler reads the cluster's settings anyway.
    (WRITE_SUCCESS.lower(), SETTING_DELETE.lower()): Cause.SETTING_DELETED,
    (DELETE_SUCCESS.lower(), SETTING_WRITE.lower()): Cause.SETTING_WRITTEN,
}


def classify(
    event_type: str,
    data: object,
    *,
    subscription_ids: Sequence[str] = (),
) -> Decision:
    """Decide what one Event Grid event asks of us.

    ``subscription_ids`` is the configured scope (empty: every subscription).
    """
    if not isinstance(event_type, str) or event_type.lower() not in {t.lower() for t in HANDLED_EVENT_TYPES}:
        return Ignore(IgnoreReason.EVENT_TYPE, str(event_type))
    if not isinstance(data, Mapping):
        return Malformed(f"{event_type} event data is {type(data).__name__}, expected an object")
    operation = data.get("operationName")
    if not isinstance(operation, str) or not operation.strip():
        return Malformed(f"{event_type} event has no operationName")
    cause = _RULES.get((event_type.lower(), operation.strip().lower()))
    if cause is None:
        return Ignore(IgnoreReason.OPERATION, operation)

    resource_uri = data.get("resourceUri")
    if not isinstance(resource_uri, str) or not resource_uri.strip():
        return Malformed(f"{operation} event has no resourceUri")

    if cause is Cause.CLUSTER_WRITTEN:
        target = resource_uri
    else:
        try:
            target, _setting_name = split_setting_id(resource_uri)
        except ResourceIdError as exc:
            return Malformed(f"{operation} event: {exc}")
    try:
        cluster = parse_cluster_id(target)
    except ResourceIdError as exc:
        if cause is Cause.CLUSTER_WRITTEN:
            return Malformed(f"{operation} event: {exc}")
        return Ignore(IgnoreReason.NOT_A_CLUSTER_SETTING, resource_uri)

    scope = {s.lower() for s in subscription_ids}
    if scope and cluster.subscription_id not in scope:
        return Ignore(IgnoreReason.OUT_OF_SCOPE, cluster.subscription_id)
    return ReconcileCluster(cluster_id=cluster.id, subscription_id=cluster.subscription_id, reason=cause)


_OBJECT_ID_CLAIM = "http://schemas.microsoft.com/identity/claims/objectidentifier"


def event_callers(data: object) -> frozenset[str]:
    """Who made the change an event reports (lower case): the object ID and application ID in its
    ``claims``, and ``authorization.evidence.principalId``. Empty when the event does not say."""
    if not isinstance(data, Mapping):
        return frozenset()
    found: set[str] = set()
    claims = data.get("claims")
    if isinstance(claims, Mapping):
        for name in (_OBJECT_ID_CLAIM, "oid", "appid", "azp"):
            value = claims.get(name)
            if isinstance(value, str) and value.strip():
                found.add(value.strip().lower())
    authorization = data.get("authorization")
    evidence = authorization.get("evidence") if isinstance(authorization, Mapping) else None
    if isinstance(evidence, Mapping):
        principal = evidence.get("principalId")
        if isinstance(principal, str) and principal.strip():
            found.add(principal.strip().lower())
    return frozenset(found)
