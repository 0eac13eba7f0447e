"""Values of the pure core's model: one cluster, its category metadata, workspaces and settings to judge."""

from __future__ import annotations

from datetime import date

from remediation.config.parse import load_config
from remediation.config.values import DEFAULT_CATEGORIES
from remediation.core.model import CategoryMetadata, Cluster, ClusterState, DiagnosticSetting, LogEntry
from remediation.core.planner import target_workspace
from remediation.ids import ClusterId, id_key
from tests.support.constants import SUB_A

CLUSTER_ID = ClusterId(
    f"/subscriptions/{SUB_A}/resourceGroups/rg-app/providers/Microsoft.ContainerService/managedClusters/aks1"
)
OTHER_LOGS = ("guard", "cluster-autoscaler", "cloud-controller-manager")
ALL_LOGS = DEFAULT_CATEGORIES + OTHER_LOGS
METADATA = CategoryMetadata(
    groups={"audit": frozenset({"kube-audit", "kube-audit-admin", "guard"}), "alllogs": frozenset(ALL_LOGS)},
    categories=frozenset(ALL_LOGS),
)
USER_WS = f"/subscriptions/{SUB_A}/resourceGroups/rg-user/providers/Microsoft.OperationalInsights/workspaces/law-user"
DEAD_WS = f"/subscriptions/{SUB_A}/resourceGroups/rg-user/providers/Microsoft.OperationalInsights/workspaces/law-gone"
STORAGE = f"/subscriptions/{SUB_A}/resourceGroups/rg-user/providers/Microsoft.Storage/storageAccounts/stlogs"
CONFIG = load_config({})
TODAY = date(2026, 12, 1)
TARGET = target_workspace(
    Cluster(CLUSTER_ID, "aks1", SUB_A, "rg-app", "eastus", "Succeeded"),
    CONFIG,
)


def cluster(state: str = "Succeeded", tags: dict[str, str] | None = None) -> Cluster:
    return Cluster(CLUSTER_ID, "aks1", SUB_A, "rg-app", "eastus", state, tags or {})


def cats(*names: str, enabled: bool = True) -> tuple[LogEntry, ...]:
    return tuple(LogEntry(enabled=enabled, category=n) for n in names)


def group(name: str, enabled: bool = True) -> LogEntry:
    return LogEntry(enabled=enabled, category_group=name)


def setting(name: str, logs: tuple[LogEntry, ...], **sinks: str) -> DiagnosticSetting:
    return DiagnosticSetting(name=name, logs=logs, **sinks)


def state_of(*settings: DiagnosticSetting, missing: tuple[str, ...] = (), cluster_state: str = "Succeeded"):
    return ClusterState(cluster(cluster_state), settings, METADATA, frozenset(id_key(w) for w in missing))
