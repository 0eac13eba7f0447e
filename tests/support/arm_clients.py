"""armsim through the real Azure SDK clients and plain HTTP: clients built the way the product builds them."""

from __future__ import annotations

from typing import Any

import requests
from azure.identity import DefaultAzureCredential
from azure.mgmt.loganalytics import LogAnalyticsManagementClient

from armsim import ArmSimulator
from tests.support.constants import SUB_A


def kwargs(sim: ArmSimulator, **extra: Any) -> dict[str, Any]:
    return {"base_url": sim.base_url, "credential_scopes": [sim.base_url + "/.default"], **extra}


def loganalytics(sim: ArmSimulator, sub: str = SUB_A) -> LogAnalyticsManagementClient:
    return LogAnalyticsManagementClient(DefaultAzureCredential(), sub, **kwargs(sim))


def raw(sim: ArmSimulator, method: str, path: str, token: str | None = None, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, sim.base_url + path, headers=headers, timeout=10, **kw)


def token_for(sim: ArmSimulator) -> str:
    return DefaultAzureCredential().get_token(sim.base_url + "/.default").token
