"""The demo estate: two subscriptions, three regions, sixteen clusters covering every case the product handles.

Deterministic: fixed GUIDs and names. With the product's defaults (categories kube-audit, kube-audit-admin,
kube-apiserver, kube-controller-manager, kube-scheduler; setting ``aks-audit-remediation``; per-region
workspaces ``rg-aks-audit-logs/law-aks-audit-<region>``; accepted destinations ``log-analytics``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from armsim.simulator import ArmSimulator

PROD = "6f1c2a4e-3b5d-4c8e-9a7f-0d1e2f3a4b5c"
DEV = "9d8c7b6a-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
OURS = "aks-audit-remediation"
REQUIRED = ("kube-audit", "kube-audit-admin", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


@dataclass(frozen=True)
class DemoEstate:
    prod_subscription: str
    dev_subscription: str
    # workspaces
    audit_workspace_eastus: str  # rg-aks-audit-logs/law-aks-audit-eastus in PROD: already exists
    platform_workspace: str  # a user's workspace in PROD
    dev_workspace: str  # a user's workspace in DEV
    deleted_workspace: str  # referenced by a user setting, no longer exists
    # clusters, by the case each one covers
    no_settings: str  # PROD eastus: nothing at all
    partial_user: str  # PROD eastus: user setting with kube-apiserver only
    drifted_own: str  # PROD eastus: our setting lost categories
    audit_group: str  # PROD westeurope: user setting with categoryGroup audit
    all_logs: str  # PROD westeurope: user setting with categoryGroup allLogs (compliant)
    compliant: str  # PROD westeurope: user setting with every required category (compliant)
    disabled_entry: str  # PROD southeastasia: kube-audit present but enabled=false
    storage_only: str  # PROD southeastasia: all categories to a storage account only
    five_foreign: str  # DEV westeurope: five foreign settings (blocked)
    excluded: str  # DEV eastus: tagged aks-audit-remediation=exclude
    creating: str  # DEV southeastasia: provisioningState Creating
    deleted_workspace_user: str  # DEV westeurope: user setting pointing at a deleted workspace
    no_settings_dev: str  # DEV eastus: only a metrics setting, no logs (needs a new workspace in DEV)
    # flow verification: the records in the workspaces (armsim's query API)
    secops_workspace: str  # PROD: a workspace the function may not query (403)
    quiet: str  # PROD eastus: compliant for 3 days, no record ever arrived (silent)
    fresh: str  # PROD westeurope: compliant since 20 minutes ago, nothing yet (pending)
    hidden: str  # PROD eastus: compliant, its workspace cannot be queried (unknown)

    @property
    def clusters(self) -> tuple[str, ...]:
        return (
            self.no_settings,
            self.partial_user,
            self.drifted_own,
            self.audit_group,
            self.all_logs,
            self.compliant,
            self.disabled_entry,
            self.storage_only,
            self.five_foreign,
            self.excluded,
            self.creating,
            self.deleted_workspace_user,
            self.no_settings_dev,
            self.quiet,
            self.fresh,
            self.hidden,
        )


def _logs(*categories: str, enabled: bool = True) -> list[dict[str, object]]:
    return [{"category": c, "enabled": enabled} for c in categories]


def build_demo_estate(sim: ArmSimulator) -> DemoEstate:
    """Fill ``sim`` with the demo estate and return the IDs that matter."""
    # The fresh cluster is "pending" only through its setting's systemData (armsim's old behaviour; real ARM
    # sends none) until the product reads the Activity Log (issue 15 B).
    sim.setting_system_data = True
    # Long-running operations as quick as the quickest recorded ones (a workspace in 1.7 s, a table in 1.5 s).
    sim.workspace_creation_seconds = min(sim.workspace_creation_seconds, 1.7)
    sim.table_change_seconds = min(sim.table_change_seconds, 1.5)
    sim.add_subscription(PROD, "Contoso Production")
    sim.add_subscription(DEV, "Contoso Development")

    audit_ws = sim.add_workspace(PROD, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus", retention_in_days=90)
    platform_ws = sim.add_workspace(PROD, "rg-platform-monitoring", "law-platform-eastus", "eastus")
    dev_ws = sim.add_workspace(DEV, "rg-dev-monitoring", "law-dev-shared", "westeurope")
    deleted_ws = sim.add_workspace(DEV, "rg-dev-monitoring", "law-decommissioned", "westeurope")
    sim.delete_workspace(deleted_ws)
    storage = f"/subscriptions/{PROD}/resourceGroups/rg-platform-monitoring/providers/Microsoft.Storage/storageAccounts/stauditarchive01"

    no_settings = sim.add_cluster(PROD, "rg-payments", "aks-payments-prod", "eastus", tags={"team": "payments"})
    partial = sim.add_cluster(PROD, "rg-web", "aks-web-prod", "eastus", tags={"team": "web"})
    sim.put_setting(partial, "send-to-platform", {"workspaceId": platform_ws, "logs": _logs("kube-apiserver")})
    drifted = sim.add_cluster(PROD, "rg-internal", "aks-internal-tools", "eastus")
    sim.put_setting(
        drifted,
        OURS,
        {
            "workspaceId": audit_ws,
            "logAnalyticsDestinationType": "Dedicated",
            "logs": _logs("kube-audit", "kube-apiserver"),
        },
    )

    audit_group = sim.add_cluster(PROD, "rg-eu-shop", "aks-eu-checkout", "westeurope")
    sim.put_setting(
        audit_group,
        "security-audit",
        {"workspaceId": platform_ws, "logs": [{"categoryGroup": "audit", "enabled": True}]},
    )
    all_logs = sim.add_cluster(PROD, "rg-eu-shop", "aks-eu-search", "westeurope")
    sim.put_setting(
        all_logs,
        "everything",
        {
            "workspaceId": platform_ws,
            "logs": [{"categoryGroup": "allLogs", "enabled": True}],
            "metrics": [{"category": "AllMetrics", "enabled": True}],
        },
    )
    compliant = sim.add_cluster(PROD, "rg-eu-core", "aks-eu-core", "westeurope")
    sim.put_setting(
        compliant,
        "platform-audit",
        {"workspaceId": platform_ws, "logAnalyticsDestinationType": "Dedicated", "logs": _logs(*REQUIRED)},
    )

    disabled = sim.add_cluster(PROD, "rg-apac", "aks-sea-api", "southeastasia")
    sim.put_setting(
        disabled,
        "apac-logs",
        {
            "workspaceId": platform_ws,
            "logs": [
                *_logs("kube-apiserver", "kube-scheduler"),
                *_logs("kube-audit", "kube-audit-admin", enabled=False),
            ],
        },
    )
    storage_only = sim.add_cluster(PROD, "rg-apac", "aks-sea-batch", "southeastasia")
    sim.put_setting(storage_only, "archive", {"storageAccountId": storage, "logs": _logs(*REQUIRED)})

    five = sim.add_cluster(DEV, "rg-dev-shared", "aks-dev-crowded", "westeurope")
    for i, category in enumerate(
        ("kube-apiserver", "guard", "cluster-autoscaler", "kube-scheduler", "csi-azuredisk-controller")
    ):
        sink = f"/subscriptions/{DEV}/resourceGroups/rg-dev-shared/providers/Microsoft.Storage/storageAccounts/stdevteam{i}"
        sim.put_setting(five, f"team-{i}", {"storageAccountId": sink, "logs": _logs(category)})
    excluded = sim.add_cluster(
        DEV, "rg-dev-sandbox", "aks-dev-experiments", "eastus", tags={"aks-audit-remediation": "exclude"}
    )
    creating = sim.add_cluster(DEV, "rg-dev-apac", "aks-dev-new", "southeastasia", provisioning_state="Creating")
    orphan = sim.add_cluster(DEV, "rg-dev-shared", "aks-dev-legacy", "westeurope")
    sim.put_setting(orphan, "old-audit", {"workspaceId": deleted_ws, "logs": _logs(*REQUIRED)})
    no_settings_dev = sim.add_cluster(DEV, "rg-dev-web", "aks-dev-web", "eastus")
    sim.put_setting(
        no_settings_dev,
        "metrics-only",
        {"workspaceId": dev_ws, "metrics": [{"category": "AllMetrics", "enabled": True}]},
    )

    # Flow verification. aks-eu-core's records all arrive (flowing); aks-eu-search's allLogs
    # setting (AzureDiagnostics mode) never produced a kube-audit record (partial); the platform
    # team's quiet cluster has sent nothing for 3 days (silent); a setting made 20 minutes ago
    # has nothing yet (pending); the security team's workspace refuses our query (unknown).
    now = datetime.now(UTC)
    gb = 1_000_000_000
    volumes = {
        "kube-audit": 18 * gb,
        "kube-audit-admin": 1.2 * gb,
        "kube-apiserver": 3 * gb,
        "kube-controller-manager": 0.4 * gb,
        "kube-scheduler": 0.2 * gb,
    }
    for category, billed in volumes.items():
        sim.ingest(platform_ws, compliant, category, last_seen=now - timedelta(minutes=4), billed_bytes=int(billed))
    for category in ("kube-audit-admin", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "guard"):
        sim.ingest(
            platform_ws,
            all_logs,
            category,
            last_seen=now - timedelta(minutes=9),
            billed_bytes=int(volumes.get(category, 0.1 * gb) / 3),
            mode="azure-diagnostics",
        )
    quiet = sim.add_cluster(PROD, "rg-ops", "aks-ops-quiet", "eastus")
    sim.put_setting(
        quiet,
        "platform-audit",
        {"workspaceId": platform_ws, "logAnalyticsDestinationType": "Dedicated", "logs": _logs(*REQUIRED)},
        last_modified_at=now - timedelta(days=3),
    )
    fresh = sim.add_cluster(PROD, "rg-eu-core", "aks-eu-fresh", "westeurope")
    sim.put_setting(
        fresh,
        "platform-audit",
        {"workspaceId": platform_ws, "logAnalyticsDestinationType": "Dedicated", "logs": _logs(*REQUIRED)},
        last_modified_at=now - timedelta(minutes=20),
    )
    secops_ws = sim.add_workspace(PROD, "rg-security", "law-secops", "eastus")
    sim.forbid_resource(secops_ws)
    hidden = sim.add_cluster(PROD, "rg-security", "aks-sec-tools", "eastus")
    sim.put_setting(
        hidden,
        "secops-audit",
        {"workspaceId": secops_ws, "logAnalyticsDestinationType": "Dedicated", "logs": _logs(*REQUIRED)},
    )

    return DemoEstate(
        prod_subscription=PROD,
        dev_subscription=DEV,
        audit_workspace_eastus=audit_ws,
        platform_workspace=platform_ws,
        dev_workspace=dev_ws,
        deleted_workspace=deleted_ws,
        no_settings=no_settings,
        partial_user=partial,
        drifted_own=drifted,
        audit_group=audit_group,
        all_logs=all_logs,
        compliant=compliant,
        disabled_entry=disabled,
        storage_only=storage_only,
        five_foreign=five,
        excluded=excluded,
        creating=creating,
        deleted_workspace_user=orphan,
        no_settings_dev=no_settings_dev,
        secops_workspace=secops_ws,
        quiet=quiet,
        fresh=fresh,
        hidden=hidden,
    )
