"""The Event Grid events ARM publishes on a subscription's system topic for the writes armsim answered."""

from __future__ import annotations

import uuid
from typing import Any

from armsim.state import RecordedRequest, State, now_text, operation_name


class EventGrid(State):
    """Mixin of :class:`armsim.ArmSimulator`: :meth:`event_for`."""

    def event_for(self, request: RecordedRequest) -> dict[str, Any]:
        """The Event Grid event (schema: subscription system topic) that ARM publishes for a successful write
        or delete armsim answered: ``eventType``, ``subject``, ``data`` with the caller's ``claims`` and
        ``authorization`` (as in the official examples), ``id``, ``eventTime``, ``dataVersion``."""
        if not request.is_write or request.status is None or request.status >= 300:
            raise ValueError(f"{request.method} {request.path} answered {request.status}: ARM publishes no event")
        with self.lock:
            caller = self.token_principals.get((request.headers.get("Authorization") or "")[7:].strip())
        oid, appid = caller or ("", "")
        delete = request.method == "DELETE"
        resource_uri = request.path
        operation = operation_name(resource_uri, request.method)
        parts = [p for p in resource_uri.split("/") if p]
        subscription_id = parts[1] if len(parts) > 1 else ""
        return {
            "id": str(uuid.uuid4()),
            "eventType": "Microsoft.Resources.ResourceDeleteSuccess"
            if delete
            else "Microsoft.Resources.ResourceWriteSuccess",
            "subject": resource_uri,
            "eventTime": now_text(),
            "dataVersion": "2",
            "topic": f"/subscriptions/{subscription_id}",
            "data": {
                "authorization": {
                    "scope": resource_uri,
                    "action": operation,
                    "evidence": {"role": "armsim", "principalId": oid, "principalType": "ServicePrincipal"},
                },
                "claims": {
                    "aud": self.base_url,
                    "appid": appid,
                    "appidacr": "2",
                    "http://schemas.microsoft.com/identity/claims/objectidentifier": oid,
                    "http://schemas.microsoft.com/identity/claims/tenantid": self.tenant_id,
                    "ver": "1.0",
                },
                "correlationId": request.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4()),
                "resourceProvider": operation.split("/", 1)[0],
                "resourceUri": resource_uri,
                "operationName": operation,
                "status": "Succeeded",
                "subscriptionId": subscription_id,
                "tenantId": self.tenant_id,
            },
        }
