"""Event Grid events from a subscription system topic: which ones we act on.

Pure parsing; no I/O. The infra/ event subscription filter is tested against
:data:`HANDLED_EVENT_TYPES` and :data:`HANDLED_OPERATIONS`.
"""

from __future__ import annotations

HANDLED_EVENT_TYPES: tuple[str, ...] = (
    "Microsoft.Resources.ResourceWriteSuccess",
    "Microsoft.Resources.ResourceDeleteSuccess",
)

CLUSTER_WRITE = "Microsoft.ContainerService/managedClusters/write"
SETTING_WRITE = "Microsoft.Insights/diagnosticSettings/write"
SETTING_DELETE = "Microsoft.Insights/diagnosticSettings/delete"

HANDLED_OPERATIONS: tuple[str, ...] = (CLUSTER_WRITE, SETTING_WRITE, SETTING_DELETE)
