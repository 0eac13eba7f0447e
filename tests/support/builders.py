"""Builders for ARM-shaped values (resource IDs, a setting's log entries) and for reading a report."""

from __future__ import annotations

from typing import Any

from remediation.core.report import ReportDocument


def cluster_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"


def ws_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}"


def region_ws(sub: str, location: str) -> str:
    return ws_id(sub, "rg-aks-audit-logs", f"law-aks-audit-{location}")


def entries(*categories: str, enabled: bool = True) -> list[dict[str, Any]]:
    return [{"category": c, "enabled": enabled} for c in categories]


def by_name(document: ReportDocument) -> dict[str, Any]:
    return {c["name"]: c for c in document["clusters"]}
