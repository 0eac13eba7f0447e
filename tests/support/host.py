"""The Function app as its host runs it: the indexed functions, and real azure.functions request objects
(Event Grid events, timer and queue triggers, HTTP requests) to call them with."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import azure.functions as func
from azure.functions.meta import Datum
from azure.functions.queue import QueueMessageInConverter
from azure.functions.timer import TimerRequest  # the concrete class the worker builds

from tests.support import builders
from tests.support.constants import SUB_A

EXAMPLES = Path(__file__).resolve().parents[2] / "specs/azure-specs/Microsoft.EventGrid/examples/event-grid-schema"
WRITE = "Microsoft.Resources.ResourceWriteSuccess"
DELETE = "Microsoft.Resources.ResourceDeleteSuccess"
CLUSTER_WRITE = "Microsoft.ContainerService/managedClusters/write"
SETTING_WRITE = "Microsoft.Insights/diagnosticSettings/write"
SETTING_DELETE = "Microsoft.Insights/diagnosticSettings/delete"


def cluster_id(name: str, rg: str = "rg-apps", sub: str = SUB_A) -> str:
    """A cluster of the app's estate (SUB_A, rg-apps unless told)."""
    return builders.cluster_id(sub, rg, name)


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
    text = (EXAMPLES / name).read_text().replace("{subscription-id}", SUB_A).replace("{resource-group}", "rg-apps")
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
        topic=f"/subscriptions/{SUB_A}",
        subject=resource_uri or envelope["subject"],
        event_type=event_type,
        event_time=datetime.now(UTC),
        data_version=envelope["dataVersion"],
    )


def example_event(name: str) -> func.EventGridEvent:
    """An official example exactly as published (a storage account event), with a real subscription ID."""
    text = (EXAMPLES / name).read_text().replace("{subscription-id}", SUB_A).replace("{resource-group}", "rg-apps")
    return envelope_event(json.loads(text))


def envelope_event(envelope: dict[str, Any]) -> func.EventGridEvent:
    """The event the Functions host hands over for an Event Grid schema envelope (as delivered now)."""
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


# --- the host's queue listener, as host.json configures it, against Azurite ---------------------------

HOST_JSON = Path(__file__).resolve().parents[2] / "host.json"


class QueueHost:
    """What the Functions host's queue trigger does with a message, per host.json, on a real (Azurite) queue.

    Receive one message (held invisible while it runs), base64-decode it (``messageEncoding``), call
    the function with a real ``func.QueueMessage``; on success delete it; on an exception make it
    visible again (the real host waits ``visibilityTimeout``; here it is visible at once, so no test
    sleeps) or, once ``dequeue_count`` reached ``maxDequeueCount``, move it to ``<queue>-poison``.
    """

    def __init__(self, connection: str, queue_name: str, functions: dict[str, Any]) -> None:
        from azure.storage.queue import QueueClient

        self.settings: dict[str, Any] = json.loads(HOST_JSON.read_text())["extensions"]["queues"]
        assert self.settings["messageEncoding"] == "base64"
        options: dict[str, Any] = {"connection_timeout": 5, "read_timeout": 15, "retry_total": 1}
        self.queue = QueueClient.from_connection_string(connection, queue_name, **options)
        self.poison = QueueClient.from_connection_string(connection, queue_name + "-poison", **options)
        self.functions = functions
        self.failures: list[BaseException] = []

    def messages(self, client: Any | None = None) -> list[dict[str, Any]]:
        """The visible messages (peeked, not taken), decoded as the host decodes them."""
        client = client or self.queue
        try:
            peeked = client.peek_messages(max_messages=32)
        except Exception:  # the queue does not exist (yet)
            return []
        return [json.loads(base64.b64decode(m.content)) for m in peeked]

    def message_count(self) -> int:
        """Every message, visible or not (a delayed one is counted)."""
        return int(self.queue.get_queue_properties().approximate_message_count)

    def deliver(self, function: str = "sweep_subscription", client: Any | None = None) -> str | None:
        """Deliver the next visible message; "completed", "retry", "poisoned", or None when there is none."""
        client = client or self.queue
        received = next(iter(client.receive_messages(max_messages=1, visibility_timeout=600)), None)
        if received is None:
            return None
        # As the worker builds it: the decoded body and the trigger metadata, through the library's converter.
        raw = base64.b64decode(received.content)
        try:
            body = Datum(raw.decode("utf-8"), "string")
        except UnicodeDecodeError:
            body = Datum(raw, "bytes")
        metadata = {
            "Id": Datum(received.id, "string"),
            "DequeueCount": Datum(received.dequeue_count, "int"),
            "InsertionTime": Datum(received.inserted_on.isoformat(), "string"),
            "ExpirationTime": Datum(received.expires_on.isoformat(), "string"),
            "PopReceipt": Datum(received.pop_receipt, "string"),
        }
        message = QueueMessageInConverter.decode(body, trigger_metadata=metadata)
        try:
            self.functions[function](message)
        except Exception as exc:
            self.failures.append(exc)
            if client is self.queue and received.dequeue_count >= self.settings["maxDequeueCount"]:
                if not self._exists(self.poison):
                    self.poison.create_queue()
                self.poison.send_message(received.content)
                client.delete_message(received)
                return "poisoned"
            client.update_message(received, visibility_timeout=0)
            return "retry"
        client.delete_message(received)
        return "completed"

    def drain(self, function: str = "sweep_subscription", limit: int = 50) -> list[str]:
        """Deliver until the queue has no visible message (at most ``limit`` deliveries)."""
        outcomes: list[str] = []
        for _ in range(limit):
            outcome = self.deliver(function)
            if outcome is None:
                return outcomes
            outcomes.append(outcome)
        raise AssertionError(f"the queue was not drained in {limit} deliveries: {outcomes}")

    def deliver_poison(self) -> str | None:
        return self.deliver("sweep_poison", client=self.poison)

    @staticmethod
    def _exists(client: Any) -> bool:
        try:
            client.get_queue_properties()
        except Exception:
            return False
        return True

    def put_raw(self, body: bytes | str) -> None:
        """Put a message as another producer might (base64 of ``body``)."""
        raw = body.encode() if isinstance(body, str) else body
        if not self._exists(self.queue):
            self.queue.create_queue()
        self.queue.send_message(base64.b64encode(raw).decode())


_INDEXED: list[Any] = []


def indexed() -> list[Any]:
    """``app.get_functions()`` of the app, as the worker indexes it (once: indexing twice is an error)."""
    if not _INDEXED:
        import function_app

        _INDEXED.extend(function_app.app.get_functions())
    return _INDEXED
