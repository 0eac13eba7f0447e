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
import threading
import time
from collections.abc import Mapping
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError, ServiceResponseError
from azure.core.pipeline import PipelineResponse
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from remediation.azure.classify import TRANSIENT_STATUSES, first_line
from remediation.azure.policies import CONNECTION_TIMEOUT
from remediation.config.values import Config
from remediation.errors import CredentialError

# The managed-identity token endpoint: a couple of quick tries; the run's own retries do the rest.
IDENTITY_OPTIONS: Mapping[str, Any] = {
    "retry_total": 1,
    "retry_backoff_factor": 0.5,
    "connection_timeout": CONNECTION_TIMEOUT,
    "read_timeout": 10.0,
}
# Token endpoint answers worth trying again: ARM's temporary ones, and IMDS's 404 and 410 ("updating").
TOKEN_TRANSIENT_STATUSES = TRANSIENT_STATUSES | {404, 410}
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


class TokenAnswers:
    """The HTTP status of the token endpoints' answers (the SDK's raw response hook): azure-identity
    keeps it only in the text of some bodies, and not at all in IMDS's.

    ``failed`` is the last error answered (None after a success): MSAL replays a 429/5xx answer
    without asking again for its Retry-After (5 s without one), and such a replay is that failure."""

    def __init__(self) -> None:
        self.failed: int | None = None

    def hook(self, response: PipelineResponse[Any, Any]) -> None:
        status = response.http_response.status_code
        self.failed = status if status >= 400 else None


class ClassifiedCredential:
    """A token credential whose failures are :class:`CredentialError`: one message that says what
    was tried and what to do, classified by the HTTP status the token endpoint answered, whatever
    its body said: temporary for 404/408/410/429/5xx (IMDS's "retry later") and when it did not
    answer at all. "No credential" only when there is none: outside Azure, when no token endpoint
    of DefaultAzureCredential's chain failed for a moment and none gave a token."""

    def __init__(self, inner: TokenCredential, *, managed_identity: bool, answers: TokenAnswers | None = None) -> None:
        self._inner = inner
        self.managed_identity = managed_identity
        self._answers = answers or TokenAnswers()
        self._lock = threading.Lock()  # one token request at a time: the last answer is this request's

    @property
    def tried(self) -> str:
        if self.managed_identity:
            return "the managed identity (IDENTITY_ENDPOINT)"
        return "environment credentials, workload identity, managed identity, Azure CLI, Azure Developer CLI"

    @property
    def advice(self) -> str:
        return "check the managed identity" if self.managed_identity else "run `az login`"

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self._lock:
            try:
                return self._inner.get_token(*scopes, **kwargs)
            except (ServiceRequestError, ServiceResponseError) as exc:
                raise CredentialError(
                    "CredentialFailed",
                    f"the token endpoint of {self.tried} did not answer ({first_line(str(exc))}): {self.advice}",
                    transient=True,
                ) from None
            except ClientAuthenticationError as exc:  # CredentialUnavailableError is one too
                raise self._classified(exc, self._answers.failed or exc.status_code) from None

    def _classified(self, exc: ClientAuthenticationError, status: int | None) -> CredentialError:
        if status is not None and not self.managed_identity and status not in TOKEN_TRANSIENT_STATUSES:
            # In DefaultAzureCredential's chain a 400 or 403 means "not here" (IMDS without an identity,
            # a proxy's "unreachable"): the chain went on, and only a failing endpoint stopped it.
            status = None
        if status is not None:
            where = f"the token endpoint of {self.tried}" if self.managed_identity else "a token endpoint"
            tried = "" if self.managed_identity else f" (tried {self.tried})"
            return CredentialError(
                "CredentialFailed",
                f"{where} answered HTTP {status}{tried}: {self.advice}",
                status=status,
                transient=status in TOKEN_TRANSIENT_STATUSES,
            )
        if self.managed_identity:  # it answered, but with no token and no error status
            return CredentialError(
                "CredentialFailed",
                f"the token endpoint of {self.tried} gave no token ({first_line(str(exc.message or exc))}): "
                f"{self.advice}",
            )
        # DefaultAzureCredential: no credential in its chain is configured, no token endpoint answered.
        return CredentialError(
            "CredentialUnavailable", f"no Azure credential could get a token (tried {self.tried}): {self.advice}"
        )


def credential_for(config: Config) -> TokenCredential:
    """The process's credential for ``config``'s identity (built once, reused by warm invocations)."""
    key = identity_key(config)
    with _lock:
        credential = _credentials.get(key)
        if credential is None:
            managed = bool(os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT")) and not any(
                os.environ.get(name) for name in _SERVICE_PRINCIPAL_ENV
            )
            answers = TokenAnswers()
            inner: TokenCredential
            if managed:
                # In Azure: what DefaultAzureCredential would pick, without the chain that turns an
                # endpoint failure (429/5xx) into "unavailable".
                inner = ManagedIdentityCredential(
                    client_id=os.environ.get("AZURE_CLIENT_ID") or None,
                    raw_response_hook=answers.hook,
                    **IDENTITY_OPTIONS,
                )
            else:
                inner = DefaultAzureCredential(authority=config.cloud.authority_host, raw_response_hook=answers.hook)
            credential = ClassifiedCredential(inner, managed_identity=managed, answers=answers)
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
