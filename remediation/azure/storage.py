"""The storage account ``AzureWebJobsStorage`` names, for the ledger, the state table and the sweep queue.

The Functions host and our adapters read the same settings:

- ``AzureWebJobsStorage``: a connection string (``UseDevelopmentStorage=true`` for Azurite);
- else identity-based: ``AzureWebJobsStorage__<service>ServiceUri`` (``tableServiceUri``,
  ``queueServiceUri``) or ``AzureWebJobsStorage__accountName`` (the endpoint is derived from
  ``REMEDIATION_CLOUD``), with ``DefaultAzureCredential`` (``AzureWebJobsStorage__clientId``
  selects a user-assigned identity).

Every client gets bounded timeouts and retries, so no storage call waits without a deadline.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from remediation.config import FUNCTION_APP_SETTINGS
from remediation.errors import ConfigError

STORAGE_SETTING = "AzureWebJobsStorage"
Service = Literal["table", "queue"]

_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_STORAGE_SUFFIXES: Mapping[str, str] = {
    "azurecloud": "core.windows.net",
    "azurechinacloud": "core.chinacloudapi.cn",
    "azureusgovernment": "core.usgovcloudapi.net",
}
# Per request: connect within 5 s, read within 10 s; retries are configured per SDK by the adapters.
CONNECTION_TIMEOUT = 5
READ_TIMEOUT = 10


def default_of(name: str) -> str:
    return next(s.default for s in FUNCTION_APP_SETTINGS if s.name == name)


def table_name(env: Mapping[str, str], setting: str) -> str:
    """The table ``setting`` names (its default when unset); :class:`ConfigError` when it is not a table name."""
    name = (env.get(setting) or "").strip() or default_of(setting)
    if not _TABLE_NAME.match(name):
        raise ConfigError(setting, f"{name!r} is not a table name (3..63 letters and digits, starting with a letter)")
    return name


@dataclass(frozen=True)
class StorageAccount:
    """Either a connection string or an endpoint reached with an Entra ID credential."""

    connection_string: str | None = None
    endpoint: str | None = None
    client_id: str | None = None

    def credential(self) -> Any:
        """The process-wide ``DefaultAzureCredential`` (one per client ID: tokens are cached once)."""
        return _credential(self.client_id)


def storage_account(env: Mapping[str, str], service: Service) -> StorageAccount | None:
    """How to reach ``service`` of the account ``AzureWebJobsStorage`` names; None when it is not configured."""
    connection = (env.get(STORAGE_SETTING) or "").strip()
    if connection:
        return StorageAccount(connection_string=connection)
    uri_setting = f"{STORAGE_SETTING}__{service}ServiceUri"
    endpoint = (env.get(uri_setting) or "").strip()
    account = (env.get(f"{STORAGE_SETTING}__accountName") or "").strip()
    if not endpoint and not account:
        return None
    if not endpoint:
        if not re.fullmatch(r"[a-z0-9]{3,24}", account):
            raise ConfigError(f"{STORAGE_SETTING}__accountName", f"{account!r} is not a storage account name")
        cloud = (env.get("REMEDIATION_CLOUD") or "AzureCloud").strip().lower()
        endpoint = f"https://{account}.{service}.{_STORAGE_SUFFIXES.get(cloud, _STORAGE_SUFFIXES['azurecloud'])}"
    elif not endpoint.lower().startswith(("https://", "http://")):
        raise ConfigError(uri_setting, f"{endpoint!r} is not an http(s) URL")
    client_id = (env.get(f"{STORAGE_SETTING}__clientId") or "").strip() or None
    return StorageAccount(endpoint=endpoint, client_id=client_id)


_credentials: dict[str | None, Any] = {}
_credentials_lock = threading.Lock()


def _credential(client_id: str | None) -> Any:
    from azure.identity import DefaultAzureCredential

    with _credentials_lock:
        if client_id not in _credentials:
            _credentials[client_id] = DefaultAzureCredential(managed_identity_client_id=client_id)
        return _credentials[client_id]
