"""ARM resource IDs: parsing, validation and case-insensitive comparison.

ARM IDs are case-insensitive. We keep the spelling ARM returned for display and compare
through :func:`id_key`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NewType

from remediation.errors import ResourceIdError

ClusterId = NewType("ClusterId", str)
WorkspaceId = NewType("WorkspaceId", str)
SettingId = NewType("SettingId", str)


_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_NAME = r"[^/\s]+"
# Resource group names (common-types: ^[-\w\._\(\)]+$, at most 90) may not end with a period;
# AKS cluster names follow the managedClusters spec's resourceName pattern. A name such as "."
# or ".." would be a dot segment that HTTP clients remove from the URL.
_RG_NAME = r"[-\w._()]{0,89}[-\w_()]"
_CLUSTER_NAME = r"[a-zA-Z0-9](?:[-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?"
_CLUSTER = re.compile(
    rf"^/subscriptions/(?P<sub>{_GUID})/resourceGroups/(?P<rg>{_RG_NAME})"
    rf"/providers/Microsoft\.ContainerService/managedClusters/(?P<name>{_CLUSTER_NAME})/?$",
    re.IGNORECASE,
)
_WORKSPACE = re.compile(
    rf"^/subscriptions/(?P<sub>{_GUID})/resourceGroups/(?P<rg>{_RG_NAME})"
    rf"/providers/Microsoft\.OperationalInsights/workspaces/(?P<name>[A-Za-z0-9][A-Za-z0-9-]{{2,61}}[A-Za-z0-9])/?$",
    re.IGNORECASE,
)
_SETTING = re.compile(
    r"^(?P<resource>.+)/providers/Microsoft\.Insights/diagnosticSettings/(?P<name>[^/\s]+)/?$",
    re.IGNORECASE,
)


_SUBSCRIPTION_PREFIX = re.compile(r"^/subscriptions/(?P<sub>[^/]+)", re.IGNORECASE)


def printable(value: str) -> str:
    """``value`` with every backslash and non-printable character (C0/C1 controls, bidi and other
    format characters, line separators) written as a Python escape: safe in any output or log line."""
    return "".join(
        ch if ch.isprintable() and ch != "\\" else ch.encode("unicode_escape").decode("ascii") for ch in value
    )


def id_key(resource_id: str) -> str:
    """The comparison key of an ARM ID: lower case, no trailing slash."""
    return resource_id.rstrip("/").lower()


def subscription_of(resource_id: str) -> str:
    """The lower-cased subscription GUID an ARM ID starts with (``""`` when it starts with none)."""
    match = _SUBSCRIPTION_PREFIX.match(resource_id)
    return match["sub"].lower() if match else ""


def same_id(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and id_key(a) == id_key(b)


@dataclass(frozen=True)
class ClusterRef:
    id: ClusterId
    subscription_id: str
    resource_group: str
    name: str


@dataclass(frozen=True)
class WorkspaceRef:
    id: WorkspaceId
    subscription_id: str
    resource_group: str
    name: str


def parse_cluster_id(value: str) -> ClusterRef:
    """Parse an AKS managed cluster ID or raise :class:`ResourceIdError`."""
    match = _CLUSTER.match(value.strip())
    if not match:
        raise ResourceIdError(
            f"{value!r} is not an AKS cluster resource ID; expected "
            "/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.ContainerService/managedClusters/<name>"
        )
    return ClusterRef(
        id=ClusterId(value.strip().rstrip("/")),
        subscription_id=match["sub"].lower(),
        resource_group=match["rg"],
        name=match["name"],
    )


def is_cluster_id(value: str) -> bool:
    return bool(_CLUSTER.match(value.strip()))


def parse_workspace_id(value: str) -> WorkspaceId:
    """Validate a Log Analytics workspace ID or raise :class:`ResourceIdError`."""
    return workspace_ref(value).id


def workspace_ref(value: str) -> WorkspaceRef:
    match = _WORKSPACE.match(value.strip())
    if not match:
        raise ResourceIdError(
            f"{value!r} is not a Log Analytics workspace resource ID; expected "
            "/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.OperationalInsights/workspaces/<name>"
        )
    return WorkspaceRef(
        id=WorkspaceId(value.strip().rstrip("/")),
        subscription_id=match["sub"].lower(),
        resource_group=match["rg"],
        name=match["name"],
    )


def workspace_id_for(subscription_id: str, resource_group: str, name: str) -> WorkspaceId:
    return WorkspaceId(
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.OperationalInsights/workspaces/{name}"
    )


def split_setting_id(value: str) -> tuple[str, str]:
    """Split a diagnostic setting ID into (parent resource ID, setting name)."""
    match = _SETTING.match(value.strip())
    if not match:
        raise ResourceIdError(f"{value!r} is not a diagnostic setting resource ID")
    return match["resource"], match["name"]
