"""A schema-1 report document to render: four clusters in two subscriptions (compliant, remediated or
not, deferred, failed with hostile text), a workspace and an error."""

from __future__ import annotations

from typing import Any

from remediation.core.report import ReportDocument, summarize
from tests.support.builders import cluster_id
from tests.support.constants import REQUIRED, SUB_A, SUB_B

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


WS = (
    f"/subscriptions/{SUB_A}/resourceGroups/rg-aks-audit-logs"
    "/providers/Microsoft.OperationalInsights/workspaces/law-aks-audit-westeurope"
)


def _extra(cluster: dict[str, Any]) -> dict[str, Any]:
    """The fields schema 1 gained: evidence, next steps, names and links."""
    cluster.setdefault("subscription_name", "Contoso Production" if cluster["subscription_id"] == SUB_A else None)
    cluster.setdefault("portal_url", "https://portal.azure.com/#resource" + cluster["id"] + "/overview")
    cluster.setdefault("settings", [])
    cluster.setdefault("explanation", f"why {cluster['status']}")
    cluster.setdefault("next_step", None)
    if cluster["action"] is not None:
        cluster["action"].setdefault("added", ["kube-audit", "kube-audit-admin"])
    return cluster


def make_document(mode: str = "report") -> ReportDocument:
    clusters: list[Any] = [
        {
            "id": cluster_id(SUB_A, "rg-apps", "aks-prod"),
            "name": "aks-prod",
            "subscription_id": SUB_A,
            "resource_group": "rg-apps",
            "location": "westeurope",
            "status": "compliant",
            "missing_categories": [],
            "reason": None,
            "action": None,
        },
        {
            "id": cluster_id(SUB_A, "rg-apps", "aks-dev"),
            "name": "aks-dev",
            "subscription_id": SUB_A,
            "resource_group": "rg-apps",
            "location": "westeurope",
            "status": "non_compliant" if mode == "report" else "remediated",
            "missing_categories": ["kube-audit", "kube-audit-admin"],
            "reason": None,
            "action": {
                "kind": "create",
                "setting_name": "aks-audit-remediation",
                "workspace_id": WS,
                "categories": REQUIRED,
            },
        },
        {
            "id": cluster_id(SUB_B, "rg-x", "aks-busy"),
            "name": "aks-busy",
            "subscription_id": SUB_B,
            "resource_group": "rg-x",
            "location": "eastus",
            "status": "deferred",
            "missing_categories": REQUIRED,
            "reason": "cluster-busy",
            "action": None,
        },
        {
            "id": cluster_id(SUB_B, "rg-x", "evil"),
            "name": XSS,
            "subscription_id": SUB_B,
            "resource_group": "rg-x",
            "location": "eastus",
            "status": "failed",
            "missing_categories": ["kube-audit"],
            "reason": '=HYPERLINK("http://evil") | ' + XSS,
            "action": None,
        },
    ]
    clusters = [_extra(c) for c in clusters]
    clusters[2]["next_step"] = "wait for the next sweep"
    clusters[3]["settings"] = None
    clusters[3]["missing_categories"] = None
    clusters[3]["next_step"] = "fix " + XSS
    return {
        "schema_version": 1,
        "mode": mode,  # type: ignore[typeddict-item]
        "run_id": "run-123",
        "started_at": "2025-01-01T00:00:00Z",
        "finished_at": "2025-01-01T00:00:05Z",
        "required_categories": list(REQUIRED),
        "summary": summarize(clusters),
        "clusters": clusters,
        "workspaces": [{"id": WS, "location": "westeurope", "action": "would_create"}],
        "errors": [{"scope": f"/subscriptions/{SUB_B}", "code": "AuthorizationFailed", "message": "no access " + XSS}],
        "tool_version": "9.9.9",
        "scope": {"subscriptions": [SUB_A, SUB_B], "clusters": []},
        "configuration": {
            "mode": "apply",
            "categories": list(REQUIRED),
            "destination_tables": "resource-specific",
            "accepted_destinations": "log-analytics",
            "setting_name": "aks-audit-remediation",
            "workspace": "per region",
            "exclude_tag": "aks-audit-remediation=exclude",
            "cloud": "AzureCloud",
            "portal": "https://portal.azure.com",
        },
    }


def judged(verdict: str, reason: str, detail: str | None = None) -> dict[str, Any]:
    return {"verdict": verdict, "reason": reason, "detail": detail}
