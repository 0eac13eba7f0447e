"""Who we are to Azure: one token credential per process and identity, its failures classified.

In Azure (``IDENTITY_ENDPOINT`` or ``MSI_ENDPOINT`` set, no service principal settings) the
managed identity is used directly; elsewhere ``DefaultAzureCredential`` (environment, workload
identity, managed identity, Azure CLI, Azure Developer CLI). Every failure to get a token is a
:class:`~remediation.errors.CredentialError` whose message says what was tried and what to do.
:class:`SharedToken` lets every SDK client of the process share one token.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError, ServiceResponseError
from azure.identity import CredentialUnavailableError, DefaultAzureCredential, ManagedIdentityCredential

from remediation.azure.classify import TRANSIENT_STATUSES, first_line
from remediation.azure.policies import CONNECTION_TIMEOUT
from remediation.config import Config
from remediation.errors import CredentialError

# The managed-identity token endpoint: a couple of quick tries; the run's own retries do the rest.
IDENTITY_OPTIONS: Mapping[str, Any] = {
    "retry_total": 1,
    "retry_backoff_factor": 0.5,
    "connection_timeout": CONNECTION_TIMEOUT,
    "read_timeout": 10.0,
}
# A cached token is renewed this long before it expires.
TOKEN_REFRESH_MARGIN = 300

# What the credential reads from the environment when it is built: a change of any of these
# (another managed identity, another token endpoint) needs a new credential.
_IDENTITY_ENV = (
    "IDENTITY_ENDPOINT",
    "MSI_ENDPOINT",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
)
# Service principal settings: with these, DefaultAzureCredential uses them before any managed identity.
_SERVICE_PRINCIPAL_ENV = ("AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE")

_lock = threading.Lock()
_credentials: dict[str, TokenCredential] = {}


def identity_key(config: Config) -> str:
    """What identifies the process's identity for ``config`` (the key of every per-identity cache)."""
    return "|".join([config.cloud.authority_host, *(os.environ.get(name, "") for name in _IDENTITY_ENV)])


class ClassifiedCredential:
    """A token credential whose failures are :class:`CredentialError`: one message that says what
    was tried and what to do, transient when the identity endpoint answered 429/5xx or not at all."""

    def __init__(self, inner: TokenCredential, *, managed_identity: bool) -> None:
        self._inner = inner
        self.managed_identity = managed_identity

    @property
    def tried(self) -> str:
        if self.managed_identity:
            return "the managed identity (IDENTITY_ENDPOINT)"
        return "environment credentials, workload identity, managed identity, Azure CLI, Azure Developer CLI"

    @property
    def advice(self) -> str:
        return "check the managed identity" if self.managed_identity else "run `az login`"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        try:
            return self._inner.get_token(*scopes, **kwargs)
        except CredentialUnavailableError as exc:
            # The SDK reports an identity endpoint that answered 429/5xx as "unavailable" too, with
            # the status only in its message: that one is temporary.
            status = _endpoint_status(str(exc)) if self.managed_identity else None
            if status is not None:
                raise CredentialError(
                    "CredentialFailed",
                    f"the token endpoint of {self.tried} answered HTTP {status}: {self.advice}",
                    status=status,
                    transient=True,
                ) from None
            raise CredentialError(
                "CredentialUnavailable", f"no Azure credential is available (tried {self.tried}): {self.advice}"
            ) from None
        except ClientAuthenticationError as exc:
            status = exc.status_code
            if not self.managed_identity and status is None:
                # DefaultAzureCredential: no credential in its chain could get a token.
                raise CredentialError(
                    "CredentialUnavailable",
                    f"no Azure credential could get a token (tried {self.tried}): {self.advice}",
                ) from None
            transient = self.managed_identity and (status is None or status in TRANSIENT_STATUSES)
            detail = f"HTTP {status}" if status else first_line(str(exc.message or exc))
            raise CredentialError(
                "CredentialFailed",
                f"could not get a token from {self.tried} ({detail}): {self.advice}",
                status=status,
                transient=transient,
            ) from None
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise CredentialError(
                "CredentialFailed",
                f"the token endpoint of {self.tried} did not answer ({first_line(str(exc))}): {self.advice}",
                transient=True,
            ) from None


_ENDPOINT_STATUS = re.compile(r"\b(429|5\d\d)\b")


def _endpoint_status(message: str) -> int | None:
    found = _ENDPOINT_STATUS.search(message)
    return int(found.group(1)) if found else None


def credential_for(config: Config) -> TokenCredential:
    """The process's credential for ``config``'s identity (built once, reused by warm invocations)."""
    key = identity_key(config)
    with _lock:
        credential = _credentials.get(key)
        if credential is None:
            managed = bool(os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT")) and not any(
                os.environ.get(name) for name in _SERVICE_PRINCIPAL_ENV
            )
            inner: TokenCredential
            if managed:
                # In Azure: what DefaultAzureCredential would pick, without the chain that turns an
                # endpoint failure (429/5xx) into "unavailable".
                inner = ManagedIdentityCredential(
                    client_id=os.environ.get("AZURE_CLIENT_ID") or None, **IDENTITY_OPTIONS
                )
            else:
                inner = DefaultAzureCredential(authority=config.cloud.authority_host)
            credential = ClassifiedCredential(inner, managed_identity=managed)
            _credentials[key] = credential
        return credential


def forget_credentials() -> None:
    """Drop the cached credentials (and so their tokens): the next use builds them again."""
    with _lock:
        _credentials.clear()


class SharedToken:
    """One token for every client: the first caller fetches it, the others wait and reuse it
    (each SDK client would otherwise ask the credential on its own, several at once at start)."""

    def __init__(self, credential: TokenCredential) -> None:
        self.credential = credential
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, ...], AccessToken] = {}

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        if kwargs.get("claims"):  # a claims challenge needs a fresh token
            return self.credential.get_token(*scopes, **kwargs)
        with self._lock:
            token = self._tokens.get(scopes)
            if token is None or token.expires_on - TOKEN_REFRESH_MARGIN <= time.time():
                token = self.credential.get_token(*scopes, **kwargs)
                self._tokens[scopes] = token
            return token


def token_caller_ids(token: str) -> frozenset[str]:
    """``oid`` and ``appid`` (or ``azp``) of a JWT access token, lower case (no signature check: it is ours)."""
    parts = token.split(".")
    if len(parts) != 3:
        return frozenset()
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return frozenset()
    if not isinstance(claims, dict):
        return frozenset()
    return frozenset(
        str(claims[k]).lower() for k in ("oid", "appid", "azp") if isinstance(claims.get(k), str) and claims[k]
    )
