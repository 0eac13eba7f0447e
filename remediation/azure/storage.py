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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from remediation.config.settings import BY_NAME
from remediation.errors import ConfigError

STORAGE_SETTING = "AzureWebJobsStorage"
Service = Literal["table", "queue", "blob"]
T = TypeVar("T")

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
    return BY_NAME[name].default


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
    setting: str = STORAGE_SETTING  # the app setting that names it (for configuration errors)

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
    setting = uri_setting if endpoint else f"{STORAGE_SETTING}__accountName"
    if not endpoint:
        if not re.fullmatch(r"[a-z0-9]{3,24}", account):
            raise ConfigError(f"{STORAGE_SETTING}__accountName", f"{account!r} is not a storage account name")
        cloud = (env.get("REMEDIATION_CLOUD") or "AzureCloud").strip().lower()
        endpoint = f"https://{account}.{service}.{_STORAGE_SUFFIXES.get(cloud, _STORAGE_SUFFIXES['azurecloud'])}"
    else:
        check_endpoint(uri_setting, endpoint)
    client_id = (env.get(f"{STORAGE_SETTING}__clientId") or "").strip() or None
    return StorageAccount(endpoint=endpoint, client_id=client_id, setting=setting)


def check_endpoint(setting: str, endpoint: str) -> None:
    """An identity-based endpoint must be ``https://<host>[:port][/path]``: a token is never sent in clear text."""
    try:
        parts = urlsplit(endpoint)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # a port that is not a number, or out of range
        port_ok = False
        parts = urlsplit("")
    if parts.scheme.lower() != "https" or not parts.hostname or not port_ok or parts.query or parts.fragment:
        raise ConfigError(
            setting,
            f"{endpoint!r} is not an https URL of a storage service (https://<account>.<service>.<suffix>); "
            "an Entra ID token is only ever sent over HTTPS",
        )


def client_or_config_error(setting: str, build: Callable[[], T]) -> T:
    """``build()``, with an SDK's refusal of the endpoint or connection string turned into :class:`ConfigError`."""
    try:
        return build()
    except (ValueError, TypeError) as exc:
        raise ConfigError(setting, f"not a usable storage endpoint or connection string ({exc})") from None


def failure_kind(exc: BaseException) -> str:
    """What went wrong with a storage request, without where: an HTTP status and the service's
    error code, or the kind of transport failure (never a host, port or URL)."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        raw = getattr(exc, "error_code", None)  # set by the storage SDKs from x-ms-error-code
        code = raw if isinstance(raw, str) and re.fullmatch(r"[A-Za-z0-9]{1,64}", raw) else ""
        return f"HTTP {exc.status_code}" + (f" {code}" if code else "")
    if isinstance(exc, ServiceRequestError):
        return "the storage service could not be reached"
    if isinstance(exc, ServiceResponseError):
        return "the storage service did not answer"
    return type(exc).__name__


_credentials: dict[str | None, Any] = {}
_credentials_lock = threading.Lock()


def _credential(client_id: str | None) -> Any:
    from azure.identity import DefaultAzureCredential

    with _credentials_lock:
        if client_id not in _credentials:
            _credentials[client_id] = DefaultAzureCredential(managed_identity_client_id=client_id)
        return _credentials[client_id]
