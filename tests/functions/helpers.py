"""Building real azure.functions request objects for the app's functions."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import azure.functions as func
from azure.functions.timer import TimerRequest  # the concrete class the worker builds

from tests.functions.conftest import SUB

EXAMPLES = Path(__file__).resolve().parents[2] / "specs/azure-specs/Microsoft.EventGrid/examples/event-grid-schema"
WRITE = "Microsoft.Resources.ResourceWriteSuccess"
DELETE = "Microsoft.Resources.ResourceDeleteSuccess"
CLUSTER_WRITE = "Microsoft.ContainerService/managedClusters/write"
SETTING_WRITE = "Microsoft.Insights/diagnosticSettings/write"
SETTING_DELETE = "Microsoft.Insights/diagnosticSettings/delete"


def cluster_id(name: str, rg: str = "rg-apps", sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"


def setting_id(cluster: str, name: str = "aks-audit-remediation") -> str:
    return f"{cluster}/providers/Microsoft.Insights/diagnosticSettings/{name}"


def mixed_case(resource_id: str) -> str:
    """How ARM sometimes spells IDs in events: lower-cased segments, upper-cased provider names."""
    return (
        resource_id.replace("/resourceGroups/", "/resourcegroups/")
        .replace("Microsoft.ContainerService/managedClusters", "MICROSOFT.CONTAINERSERVICE/managedclusters")
        .replace("Microsoft.Insights/diagnosticSettings", "microsoft.insights/DiagnosticSettings")
    )


def grid_event(
    operation: str,
    resource_uri: str | None,
    *,
    event_type: str = WRITE,
    event_id: str | None = None,
    correlation_id: str | None = None,
) -> func.EventGridEvent:
    """A subscription system-topic event in the published shape (the official example, retargeted)."""
    name = "resource_delete_success.json" if event_type == DELETE else "resource_write_success.json"
    text = (EXAMPLES / name).read_text().replace("{subscription-id}", SUB).replace("{resource-group}", "rg-apps")
    envelope: dict[str, Any] = json.loads(text)
    data = envelope["data"]
    data["operationName"] = operation
    data["resourceProvider"] = operation.split("/", 1)[0]
    data["authorization"]["action"] = operation
    data["correlationId"] = correlation_id or str(uuid.uuid4())
    if resource_uri is None:
        data.pop("resourceUri", None)
    else:
        data["resourceUri"] = resource_uri
        data["authorization"]["scope"] = resource_uri
    if operation == CLUSTER_WRITE:
        data.pop("httpRequest", None)  # create events carry no httpRequest
    return func.EventGridEvent(
        id=event_id or str(uuid.uuid4()),
        data=data,
        topic=f"/subscriptions/{SUB}",
        subject=resource_uri or envelope["subject"],
        event_type=event_type,
        event_time=datetime.now(UTC),
        data_version=envelope["dataVersion"],
    )


def example_event(name: str) -> func.EventGridEvent:
    """An official example exactly as published (a storage account event), with a real subscription ID."""
    text = (EXAMPLES / name).read_text().replace("{subscription-id}", SUB).replace("{resource-group}", "rg-apps")
    envelope = json.loads(text)
    return func.EventGridEvent(
        id=envelope["id"],
        data=envelope["data"],
        topic=envelope["topic"],
        subject=envelope["subject"],
        event_type=envelope["eventType"],
        event_time=datetime.now(UTC),
        data_version=envelope["dataVersion"],
    )


def http_get(route: str, query: list[tuple[str, str]] | None = None) -> func.HttpRequest:
    """A GET as the Functions host passes it: the full URL, and params with repeated keys joined by commas."""
    query = query or []
    url = f"https://func-aks-audit.azurewebsites.net/api/{route}"
    if query:
        url += "?" + urlencode(query)
    params: dict[str, str] = {}
    for key, value in parse_qsl(urlencode(query), keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return func.HttpRequest("GET", url, params=params, body=b"")


def timer(past_due: bool = False) -> TimerRequest:
    return TimerRequest(past_due=past_due)
