"""Which Event Grid events reconcile a cluster, which are ignored, which are malformed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from remediation.app.events import (
    CLUSTER_WRITE,
    HANDLED_EVENT_TYPES,
    HANDLED_OPERATIONS,
    SETTING_DELETE,
    SETTING_WRITE,
    Cause,
    Ignore,
    IgnoreReason,
    Malformed,
    ReconcileCluster,
    classify,
)
from tests.support.constants import SUB_A, SUB_B

# The official examples from Azure/azure-rest-api-specs, kept in ../shared beside the repository.
EXAMPLES = Path(__file__).resolve().parents[2] / "specs/azure-specs/Microsoft.EventGrid/examples/event-grid-schema"

CLUSTER = f"/subscriptions/{SUB_A}/resourceGroups/rg-apps/providers/Microsoft.ContainerService/managedClusters/aks-1"
MIXED_CLUSTER = (
    f"/SUBSCRIPTIONS/{SUB_A.upper()}/resourcegroups/RG-Apps/providers/microsoft.containerservice/MANAGEDCLUSTERS/aks-1"
)

SETTING = f"{CLUSTER}/providers/Microsoft.Insights/diagnosticSettings/aks-audit-remediation"
MIXED_SETTING = f"{MIXED_CLUSTER}/PROVIDERS/microsoft.insights/DIAGNOSTICSETTINGS/Aks-Audit-Remediation"
STORAGE = f"/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1"
WRITE = "Microsoft.Resources.ResourceWriteSuccess"
DELETE = "Microsoft.Resources.ResourceDeleteSuccess"


def data(operation: str | None, uri: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": "Succeeded", "subscriptionId": SUB_A, "correlationId": "c-1"}
    if operation is not None:
        out["operationName"] = operation
    if uri is not None:
        out["resourceUri"] = uri
    return out


RECONCILE_CASES = [
    ("cluster write", WRITE, data(CLUSTER_WRITE, CLUSTER), CLUSTER, Cause.CLUSTER_WRITTEN),
    (
        "cluster write, mixed case",
        WRITE.lower(),
        data(CLUSTER_WRITE.upper(), MIXED_CLUSTER),
        MIXED_CLUSTER,
        Cause.CLUSTER_WRITTEN,
    ),
    ("cluster write, trailing slash", WRITE, data(CLUSTER_WRITE, CLUSTER + "/"), CLUSTER, Cause.CLUSTER_WRITTEN),
    ("setting write", WRITE, data(SETTING_WRITE, SETTING), CLUSTER, Cause.SETTING_WRITTEN),
    ("setting delete", DELETE, data(SETTING_DELETE, SETTING), CLUSTER, Cause.SETTING_DELETED),
    (
        "setting delete, mixed case",
        DELETE.upper(),
        data(SETTING_DELETE.lower(), MIXED_SETTING),
        MIXED_CLUSTER,
        Cause.SETTING_DELETED,
    ),
    (
        "setting write, mixed case",
        WRITE,
        data("microsoft.insights/DiagnosticSettings/WRITE", MIXED_SETTING),
        MIXED_CLUSTER,
        Cause.SETTING_WRITTEN,
    ),
    ("setting delete as write event", WRITE, data(SETTING_DELETE, SETTING), CLUSTER, Cause.SETTING_DELETED),
]


@pytest.mark.parametrize(
    ("event_type", "payload", "cluster_id", "cause"),
    [c[1:] for c in RECONCILE_CASES],
    ids=[c[0] for c in RECONCILE_CASES],
)
def test_reconcile(event_type: str, payload: dict[str, Any], cluster_id: str, cause: Cause) -> None:
    decision = classify(event_type, payload, subscription_ids=(SUB_A,))
    assert decision == ReconcileCluster(cluster_id=cluster_id, subscription_id=SUB_A, reason=cause)  # type: ignore[arg-type]


IGNORE_CASES = [
    (
        "other event type",
        "Microsoft.Resources.ResourceActionSuccess",
        data(CLUSTER_WRITE, CLUSTER),
        IgnoreReason.EVENT_TYPE,
    ),
    (
        "write failure",
        "Microsoft.Resources.ResourceWriteFailure",
        data(CLUSTER_WRITE, CLUSTER),
        IgnoreReason.EVENT_TYPE,
    ),
    ("storage write", WRITE, data("Microsoft.Storage/storageAccounts/write", STORAGE), IgnoreReason.OPERATION),
    (
        "cluster delete",
        DELETE,
        data("Microsoft.ContainerService/managedClusters/delete", CLUSTER),
        IgnoreReason.OPERATION,
    ),
    ("cluster write as delete event", DELETE, data(CLUSTER_WRITE, CLUSTER), IgnoreReason.OPERATION),
    (
        "agent pool write",
        WRITE,
        data("Microsoft.ContainerService/managedClusters/agentPools/write", CLUSTER + "/agentPools/np1"),
        IgnoreReason.OPERATION,
    ),
    (
        "setting on a storage account",
        WRITE,
        data(SETTING_WRITE, STORAGE + "/providers/Microsoft.Insights/diagnosticSettings/x"),
        IgnoreReason.NOT_A_CLUSTER_SETTING,
    ),
    (
        "setting on a subscription",
        DELETE,
        data(SETTING_DELETE, f"/subscriptions/{SUB_A}/providers/Microsoft.Insights/diagnosticSettings/x"),
        IgnoreReason.NOT_A_CLUSTER_SETTING,
    ),
    ("cluster out of scope", WRITE, data(CLUSTER_WRITE, CLUSTER.replace(SUB_A, SUB_B)), IgnoreReason.OUT_OF_SCOPE),
    (
        "setting out of scope",
        DELETE,
        data(SETTING_DELETE, SETTING.replace(SUB_A, SUB_B.upper())),
        IgnoreReason.OUT_OF_SCOPE,
    ),
    ("unrelated event, no data", "Microsoft.Storage.BlobCreated", None, IgnoreReason.EVENT_TYPE),
]


@pytest.mark.parametrize(
    ("event_type", "payload", "reason"), [c[1:] for c in IGNORE_CASES], ids=[c[0] for c in IGNORE_CASES]
)
def test_ignore(event_type: str, payload: Any, reason: IgnoreReason) -> None:
    decision = classify(event_type, payload, subscription_ids=(SUB_A,))
    assert isinstance(decision, Ignore)
    assert decision.reason is reason


MALFORMED_CASES = [
    ("data is a string", WRITE, "not an object"),
    ("data is a list", WRITE, [CLUSTER]),
    ("data is null", DELETE, None),
    ("no operationName", WRITE, data(None, CLUSTER)),
    ("operationName not a string", WRITE, {"operationName": 7, "resourceUri": CLUSTER}),
    ("no resourceUri", WRITE, data(CLUSTER_WRITE, None)),
    ("empty resourceUri", WRITE, data(CLUSTER_WRITE, "  ")),
    ("resourceUri not a string", WRITE, {"operationName": CLUSTER_WRITE, "resourceUri": {"id": CLUSTER}}),
    ("cluster write, not a cluster ID", WRITE, data(CLUSTER_WRITE, STORAGE)),
    ("cluster write, bad GUID", WRITE, data(CLUSTER_WRITE, CLUSTER.replace(SUB_A, "not-a-guid"))),
    ("setting write, not a setting ID", WRITE, data(SETTING_WRITE, CLUSTER)),
    ("setting delete, garbage", DELETE, data(SETTING_DELETE, "%%%")),
]


@pytest.mark.parametrize(
    ("event_type", "payload"), [c[1:] for c in MALFORMED_CASES], ids=[c[0] for c in MALFORMED_CASES]
)
def test_malformed(event_type: str, payload: Any) -> None:
    decision = classify(event_type, payload, subscription_ids=(SUB_A,))
    assert isinstance(decision, Malformed), decision
    assert decision.message


def test_no_scope_means_every_subscription() -> None:
    decision = classify(WRITE, data(CLUSTER_WRITE, CLUSTER.replace(SUB_A, SUB_B)))
    assert isinstance(decision, ReconcileCluster)
    assert decision.subscription_id == SUB_B


def test_scope_is_case_insensitive() -> None:
    decision = classify(WRITE, data(CLUSTER_WRITE, CLUSTER), subscription_ids=(SUB_A.upper(),))
    assert isinstance(decision, ReconcileCluster)


def test_handled_constants_are_what_infra_filters_on() -> None:
    assert set(HANDLED_EVENT_TYPES) == {WRITE, DELETE}
    assert set(HANDLED_OPERATIONS) == {CLUSTER_WRITE, SETTING_WRITE, SETTING_DELETE}


def load_example(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return result


def with_ids(event: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(event).replace("{subscription-id}", SUB_A).replace("{resource-group}", "rg-apps")
    result: dict[str, Any] = json.loads(text)
    return result


@pytest.mark.parametrize("name", ["resource_write_success.json", "resource_delete_success.json"])
def test_official_examples_as_published_are_ignored(name: str) -> None:
    """The published examples are storage-account events: not ours, so no ARM request follows."""
    event = with_ids(load_example(name))
    decision = classify(event["eventType"], event["data"], subscription_ids=(SUB_A,))
    assert decision == Ignore(IgnoreReason.OPERATION, event["data"]["operationName"])


def test_official_write_example_for_a_new_cluster() -> None:
    """The published write shape, retargeted at a cluster being created (no httpRequest)."""
    event = with_ids(load_example("resource_write_success.json"))
    event["data"]["resourceProvider"] = "Microsoft.ContainerService"
    event["data"]["operationName"] = "Microsoft.ContainerService/managedClusters/write"
    event["data"]["resourceUri"] = MIXED_CLUSTER
    event["data"]["authorization"]["scope"] = MIXED_CLUSTER
    event["subject"] = MIXED_CLUSTER
    assert "httpRequest" not in event["data"]
    decision = classify(event["eventType"], event["data"], subscription_ids=(SUB_A,))
    assert decision == ReconcileCluster(cluster_id=MIXED_CLUSTER, subscription_id=SUB_A, reason=Cause.CLUSTER_WRITTEN)  # type: ignore[arg-type]


def test_official_delete_example_for_our_setting() -> None:
    event = with_ids(load_example("resource_delete_success.json"))
    data_ = copy.deepcopy(event["data"])
    data_["resourceProvider"] = "Microsoft.Insights"
    data_["operationName"] = "Microsoft.Insights/diagnosticSettings/delete"
    data_["resourceUri"] = MIXED_SETTING
    decision = classify(event["eventType"], data_, subscription_ids=(SUB_A,))
    assert decision == ReconcileCluster(cluster_id=MIXED_CLUSTER, subscription_id=SUB_A, reason=Cause.SETTING_DELETED)  # type: ignore[arg-type]


def test_event_callers_are_read_from_claims_and_authorization():
    from remediation.app.events import event_callers

    data = {
        "claims": {
            "http://schemas.microsoft.com/identity/claims/objectidentifier": "AAAA-1",
            "appid": "bbbb-2",
            "oid": "",
        },
        "authorization": {"evidence": {"principalId": "cccc-3", "role": "Owner"}},
    }
    assert event_callers(data) == {"aaaa-1", "bbbb-2", "cccc-3"}
    assert event_callers({"claims": "not a map", "authorization": {"evidence": None}}) == frozenset()
    assert event_callers(None) == frozenset()


def test_token_caller_ids_reads_oid_and_appid_of_a_jwt():
    import base64
    import json

    from remediation.azure.identity import token_caller_ids

    def b64(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    token = f"{b64({'alg': 'RS256'})}.{b64({'oid': 'OID-1', 'appid': 'App-2', 'tid': 't'})}.sig"
    assert token_caller_ids(token) == {"oid-1", "app-2"}
    assert token_caller_ids("opaque-token") == frozenset()
    assert token_caller_ids("a.!!!.c") == frozenset()
    assert token_caller_ids(f"x.{b64(['list'])}.y") == frozenset()
