"""Diagnostic-setting category metadata per resource type (what diagnosticSettingsCategories serves)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MANAGED_CLUSTER_TYPE = "microsoft.containerservice/managedclusters"

AKS_LOG_CATEGORIES = (
    "kube-apiserver",
    "kube-audit",
    "kube-audit-admin",
    "kube-controller-manager",
    "kube-scheduler",
    "cluster-autoscaler",
    "cloud-controller-manager",
    "guard",
    "csi-azuredisk-controller",
    "csi-azurefile-controller",
    "csi-snapshot-controller",
    "fleet-member-agent",
    "fleet-member-net-controller-manager",
    "fleet-mcs-controller-manager",
)
AKS_METRIC_CATEGORIES = ("AllMetrics",)
AKS_GROUPS: Mapping[str, tuple[str, ...]] = {
    "audit": ("kube-audit", "kube-audit-admin", "guard"),
    "allLogs": AKS_LOG_CATEGORIES,
}


@dataclass
class CategoryTable:
    """Log and metric categories of one resource type and the groups that hold log categories."""

    logs: list[str]
    metrics: list[str]
    groups: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def aks(cls) -> CategoryTable:
        return cls(list(AKS_LOG_CATEGORIES), list(AKS_METRIC_CATEGORIES), {k: list(v) for k, v in AKS_GROUPS.items()})

    def find_log(self, name: str) -> str | None:
        return next((c for c in self.logs if c.lower() == name.lower()), None)

    def find_metric(self, name: str) -> str | None:
        return next((c for c in self.metrics if c.lower() == name.lower()), None)

    def find_group(self, name: str) -> str | None:
        return next((g for g in self.groups if g.lower() == name.lower()), None)

    def expand_group(self, name: str) -> list[str]:
        group = self.find_group(name)
        return list(self.groups[group]) if group else []

    def groups_of(self, category: str) -> list[str]:
        return [g for g, members in self.groups.items() if category.lower() in {m.lower() for m in members}]

    def set_groups(self, groups: Mapping[str, Iterable[str]]) -> None:
        self.groups = {name: list(members) for name, members in groups.items()}
        for members in self.groups.values():
            for member in members:
                if self.find_log(member) is None:
                    self.logs.append(member)
