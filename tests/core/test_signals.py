"""The per-subscription and per-cluster records the alerts and the workbook read, from a report document."""

from __future__ import annotations

from typing import Any

from remediation.core.signals import needing_attention, subscription_summaries
from tests.support.constants import SUB_A, SUB_B

A = SUB_A.upper()  # a subscription ID spelled in capitals, as ARM sometimes does
C = "cccccccc-3333-4333-8333-000000000003"


def cluster(sub: str, name: str, status: str, reason: str | None = None) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}",
        "name": name,
        "subscription_id": sub,
        "resource_group": "rg",
        "location": "eastus",
        "status": status,
        "missing_categories": [],
        "reason": reason,
        "action": None,
    }


def document(clusters: list[dict[str, Any]], errors: list[dict[str, str]]) -> Any:
    return {"run_id": "r1", "mode": "apply", "clusters": clusters, "errors": errors}


def test_one_record_per_subscription_in_scope_or_seen_with_counts_and_errors() -> None:
    doc = document(
        [
            cluster(A, "one", "remediated"),
            cluster(A.lower(), "two", "failed", "InternalError"),
            cluster(SUB_B, "three", "blocked"),
        ],
        [
            {
                "scope": f"/subscriptions/{A}/resourceGroups/rg/providers/x/y/two",
                "code": "InternalError",
                "message": "",
            },
            {"scope": f"/subscriptions/{C}", "code": "AuthorizationFailed", "message": ""},
            {"scope": "/subscriptions", "code": "AuthorizationFailed", "message": "could not list subscriptions"},
        ],
    )
    records = subscription_summaries(doc, [C.upper(), "dddddddd-4444-4444-8444-000000000004"])
    by_sub = {r["subscription_id"]: r for r in records}
    assert list(by_sub) == sorted(by_sub), "sorted, lower-case"
    assert (by_sub[A.lower()]["clusters"], by_sub[A.lower()]["remediated"], by_sub[A.lower()]["failed"]) == (2, 1, 1)
    assert by_sub[A.lower()]["errors"] == 1
    assert (by_sub[SUB_B]["clusters"], by_sub[SUB_B]["blocked"], by_sub[SUB_B]["errors"]) == (1, 1, 0)
    assert (by_sub[C]["clusters"], by_sub[C]["errors"]) == (0, 1), "configured and unreadable"
    assert by_sub["dddddddd-4444-4444-8444-000000000004"]["clusters"] == 0, "configured, empty: still reported"
    assert len(records) == 4, "a tenant-level error belongs to no subscription"
    assert set(records[0]) == {
        "subscription_id", "clusters", "errors",
        "compliant", "non_compliant", "remediated", "excluded", "deferred", "blocked", "failed",
    }  # fmt: skip


def test_clusters_needing_attention_are_failed_blocked_and_non_compliant() -> None:
    doc = document(
        [
            cluster(A, "ok", "compliant"),
            cluster(A, "fixed", "remediated"),
            cluster(A, "broken", "failed", "InternalError"),
            cluster(A, "stuck", "blocked", "ScopeLocked"),
            cluster(A, "open", "non_compliant"),
            cluster(A, "busy", "deferred", "cluster-busy"),
            cluster(A, "tagged", "excluded", "excluded-by-tag"),
        ],
        [],
    )
    assert [c["name"] for c in needing_attention(doc)] == ["broken", "stuck", "open"]
