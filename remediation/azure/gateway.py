"""The ARM gateway: the only module that talks to the Azure management SDK.

One credential per process and one SDK client per (subscription, service), reused across
runs and warm Function invocations; each run works through :meth:`ArmGateway.bounded`, a view
that carries the run's :class:`~remediation.deadline.Deadline` into every request.

Waiting is bounded everywhere (see README "Deadlines"):

- each request has short, explicit connection and read timeouts, clipped to what is left;
- the SDK's retry policy (:class:`BoundedRetryPolicy`) honours ``Retry-After`` up to
  :data:`RETRY_AFTER_CAP` and gives up, with the last answer, when the next wait would not fit;
- a write that meets "another operation is in progress" (409) is tried again a few times,
  2..10 s apart, within the budget;
- listings and the category metadata (shared lookups) are tried again within the budget;
- a workspace's long-running creation is polled only until the deadline.

Writes whose outcome is ambiguous (connection lost, timeout, 5xx after the retries) are
read back: :meth:`ArmGateway.write_setting` returns normally when the setting is now what
we wrote. Workspaces and resource groups are created at most once: never PUT when they
exist, and a 409 or a lost race is read back and reused (reported as not created by us).
Every SDK failure is classified here, once, into :mod:`remediation.errors`.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import requests
import requests.adapters
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.identity import CredentialUnavailableError, DefaultAzureCredential, ManagedIdentityCredential
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.loganalytics import LogAnalyticsManagementClient
from azure.mgmt.loganalytics.models import Table, TableProperties, Workspace, WorkspaceProperties, WorkspaceSku
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.monitor.v2021_05_01_preview.models import DiagnosticSettingsResource, LogSettings
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from remediation.azure.pacing import DeadlineCarrier, Pacer, PacingPolicy
from remediation.config import Config
from remediation.core.model import CategoryMetadata, Cluster, Creation, DiagnosticSetting, LogEntry, SettingChange
from remediation.deadline import Deadline, DeadlineExceeded
from remediation.errors import (
    ArmError,
    ClusterNotFoundError,
    CredentialError,
    NotFoundError,
    ThrottledError,
    TransientArmError,
)
from remediation.ids import ClusterId, ResourceIdError, WorkspaceId, parse_cluster_id, workspace_ref

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Per request: short, explicit socket timeouts (clipped to the run's budget).
CONNECTION_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
# The SDK's per-request retries: at most 4 tries; backoff 0.5, 1, 2 s (at most 8 s); a
# server's Retry-After is honoured up to RETRY_AFTER_CAP, and only while the budget allows.
RETRY_TOTAL = 3
RETRY_BACKOFF_FACTOR = 0.5
RETRY_BACKOFF_MAX = 8.0
RETRY_AFTER_CAP = 10.0
# Time kept for the try after a wait: a wait that leaves less than this is not started.
MIN_TRY_SECONDS = 1.0
# 409 "operation in progress" on a write, and a failed listing: tried again 2, 4, 8, 10 s apart,
# within at most LOOKUP_BUDGET_SECONDS of the run's budget.
CONFLICT_ATTEMPTS = 4
OUTER_WAITS = (2.0, 4.0, 8.0, 10.0)
LOOKUP_BUDGET_SECONDS = 60.0
# Long-running workspace creation: polled every LRO_POLL_INTERVAL s unless ARM says otherwise.
LRO_POLL_INTERVAL = 1.0
# The managed-identity token endpoint: a couple of quick tries; the run's own retries do the rest.
IDENTITY_OPTIONS: Mapping[str, Any] = {
    "retry_total": 1,
    "retry_backoff_factor": 0.5,
    "connection_timeout": CONNECTION_TIMEOUT,
    "read_timeout": 10.0,
}
SDK_OPTIONS: Mapping[str, Any] = {"connection_timeout": CONNECTION_TIMEOUT, "read_timeout": READ_TIMEOUT}

_IN_PROGRESS_CODES = frozenset(
    {"anotheroperationinprogress", "operationnotallowed", "conflict", "resourcebusy", "operationinprogress"}
)
_TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
SUCCEEDED = "Succeeded"

# One HTTP connection pool for every SDK client of the process, as large as the engine's
# largest concurrency (connections are opened only when needed).
POOL_SIZE = 64
# A cached token is renewed this long before it expires.
TOKEN_REFRESH_MARGIN = 300

_credential_lock = threading.Lock()
_shared: dict[str, Any] = {}
_credentials: dict[str, TokenCredential] = {}
_gateways: dict[tuple[str, str], ArmGateway] = {}
# Set by BoundedRetryPolicy (in the calling thread) when it stopped retrying for lack of time.
_stopped_by_deadline = threading.local()
# Inside ArmGateway._again: the budget of the one lookup (in the calling thread).
_lookup_budget = threading.local()


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


def _identity_key(config: Config) -> str:
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
            transient = self.managed_identity and (status is None or status in _TRANSIENT_STATUSES)
            detail = f"HTTP {status}" if status else _first_line(str(exc.message or exc))
            raise CredentialError(
                "CredentialFailed",
                f"could not get a token from {self.tried} ({detail}): {self.advice}",
                status=status,
                transient=transient,
            ) from None
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise CredentialError(
                "CredentialFailed",
                f"the token endpoint of {self.tried} did not answer ({_first_line(str(exc))}): {self.advice}",
                transient=True,
            ) from None


_ENDPOINT_STATUS = re.compile(r"\b(429|5\d\d)\b")


def _endpoint_status(message: str) -> int | None:
    found = _ENDPOINT_STATUS.search(message)
    return int(found.group(1)) if found else None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


def _credential_for(config: Config) -> TokenCredential:
    key = _identity_key(config)
    with _credential_lock:
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


def shared_transport() -> RequestsTransport:
    """The process's one HTTP transport (one ``requests`` session, one connection pool of :data:`POOL_SIZE`)."""
    with _credential_lock:
        transport = _shared.get("transport")
        if transport is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            transport = RequestsTransport(session=session, session_owner=False)
            _shared["transport"] = transport
        return transport


def shared_pacer() -> Pacer:
    """The process's one model of ARM's request limits (every run, sweep and event shares ARM's buckets)."""
    with _credential_lock:
        pacer = _shared.get("pacer")
        if pacer is None:
            pacer = _shared["pacer"] = Pacer(retry_after_cap=RETRY_AFTER_CAP)
        return pacer


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


def _log_rate_limits(response: PipelineResponse[Any, Any]) -> None:
    headers = response.http_response.headers
    remaining = {k: v for k, v in headers.items() if k.lower().startswith("x-ms-ratelimit-remaining")}
    if remaining:
        logger.debug("ARM rate limits remaining: %s", remaining)


class BoundedRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
    """The SDK's retry policy, bounded by the run's deadline (the ``deadline`` request option).

    ``Retry-After`` is honoured up to :data:`RETRY_AFTER_CAP`; when the next wait plus a try
    would not fit in what is left, it stops and the caller gets the last answer (or error).
    Each try's connection and read timeouts are clipped to the time left.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.retry_after_cap = float(kwargs.pop("retry_after_cap", RETRY_AFTER_CAP))
        super().__init__(**kwargs)

    def configure_retries(self, options: dict[str, Any]) -> dict[str, Any]:
        deadline = options.pop("deadline", None)
        settings: dict[str, Any] = super().configure_retries(options)
        settings["deadline"] = deadline
        if isinstance(deadline, Deadline):
            settings["timeout"] = max(deadline.remaining(), 0.001)
        return settings

    def _configure_timeout(self, request: Any, absolute_timeout: float, is_response_error: bool) -> None:
        super()._configure_timeout(request, absolute_timeout, is_response_error)
        options = request.context.options
        options["connection_timeout"] = min(options.get("connection_timeout") or CONNECTION_TIMEOUT, absolute_timeout)
        options["read_timeout"] = min(options.get("read_timeout") or READ_TIMEOUT, absolute_timeout)

    def _next_wait(self, settings: dict[str, Any], response: Any) -> float:
        if isinstance(response, PipelineResponse):
            retry_after = self.get_retry_after(response)
            if retry_after is not None:
                return min(float(retry_after), self.retry_after_cap)
        return float(self.get_backoff_time(settings))

    def increment(self, settings: dict[str, Any], response: Any = None, error: Any = None) -> bool:
        if not super().increment(settings, response=response, error=error):
            return False
        wait = self._next_wait(settings, response)
        deadline = settings.get("deadline")
        if isinstance(deadline, Deadline) and not deadline.can_wait(wait + MIN_TRY_SECONDS):
            _stopped_by_deadline.value = True
            return False
        settings["next_wait"] = wait
        return True

    def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
        wait = float(settings.pop("next_wait", 0.0))
        deadline = settings.get("deadline")
        if isinstance(deadline, Deadline):
            deadline.sleep(wait)
        elif wait > 0:
            transport.sleep(wait)


class _BoundedPolling(ARMPolling):
    """ARM long-running-operation polling that never waits past the run's deadline."""

    def __init__(self, budget: Deadline, interval: float) -> None:
        # The deadline travels as a request option too, so that each status request is bounded.
        super().__init__(interval, deadline=budget)
        self._deadline = budget

    def _delay(self) -> None:
        wait = self._deadline.wait_time(self._extract_delay(), cap=RETRY_AFTER_CAP)
        if not self._deadline.can_wait(wait + MIN_TRY_SECONDS):
            raise DeadlineExceeded("long-running operation still in progress")
        self._deadline.sleep(wait)


def classify(exc: Exception, *, what: str) -> ArmError:
    """Turn an SDK exception into an :class:`ArmError` that says whether retrying can help."""
    if isinstance(exc, ArmError):
        return exc
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return TransientArmError("ConnectionError", f"{what}: {_first_line(str(exc))}", transient=True)
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) or (exc.reason or "HttpError")
        message = getattr(error, "message", None) or str(exc.message or exc)
        message = f"{what}: {message}"
        if status == 404 or isinstance(exc, ResourceNotFoundError):
            return NotFoundError(code, message, status=status)
        if status in _TRANSIENT_STATUSES or (status == 409 and code.lower() in _IN_PROGRESS_CODES):
            return TransientArmError(code, message, status=status, transient=True)
        return ArmError(code, message, status=status)
    if isinstance(exc, ResourceIdError):
        return ArmError("InvalidResponse", f"{what}: ARM answered with an unexpected resource: {exc}")
    return ArmError(type(exc).__name__, f"{what}: {exc}")


def _is_in_progress(exc: BaseException) -> bool:
    return isinstance(exc, ArmError) and exc.status == 409 and exc.transient


def _ambiguous(exc: ArmError) -> bool:
    """A write failure after which the write may or may not have taken effect."""
    return exc.code == "ConnectionError" or (exc.status is not None and exc.status >= 500) or exc.status == 408


class ArmGateway:
    """Typed, classified access to the ARM operations the product uses."""

    def __init__(
        self,
        config: Config,
        credential: TokenCredential,
        deadline: Deadline | None = None,
        *,
        pacer: Pacer | None = None,
        transport: RequestsTransport | None = None,
    ) -> None:
        self._endpoint = config.arm_endpoint
        self._scopes = [config.credential_scope]
        self._credential = credential if isinstance(credential, SharedToken) else SharedToken(credential)
        self.pacer = pacer or shared_pacer()
        self._transport = transport or shared_transport()
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._deadline = deadline if deadline is not None else Deadline.for_trigger("cli", config.deadline_seconds)

    @classmethod
    def from_config(cls, config: Config, credential: TokenCredential | None = None) -> ArmGateway:
        """The process-wide gateway for this endpoint (built once, reused by warm invocations)."""
        if credential is not None:
            return cls(config, credential)
        key = (config.arm_endpoint, _identity_key(config))
        with _credential_lock:
            gateway = _gateways.get(key)
        if gateway is None:
            gateway = cls(config, _credential_for(config))
            with _credential_lock:
                gateway = _gateways.setdefault(key, gateway)
        return gateway

    def bounded(self, deadline: Deadline) -> ArmGateway:
        """A view of this gateway (same credential and clients) whose every wait ends by ``deadline``."""
        view = copy.copy(self)
        view._deadline = deadline
        return view

    @property
    def deadline(self) -> Deadline:
        return self._deadline

    def round_trip(self) -> float | None:
        """Smoothed round-trip time of ARM requests answered so far (from the pacer)."""
        return self.pacer.round_trip

    def caller_ids(self) -> frozenset[str]:
        """Who we are to ARM: the object ID (``oid``) and application ID (``appid``) in our ARM
        token, lower case. Event Grid events carry their caller's, so our own writes can be told
        apart. Empty when the token is not a JWT (nothing is then taken for ours)."""
        try:
            token = self._credential.get_token(*self._scopes).token
        except Exception as exc:  # noqa: BLE001 - not knowing who we are only costs reads
            logger.debug("could not read our own identity from a token: %s", exc)
            return frozenset()
        return token_caller_ids(token)

    # -- clients -----------------------------------------------------------------------------
    def _client(self, kind: str, subscription_id: str, factory: Callable[..., T]) -> T:
        key = (kind, subscription_id.lower())
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                kwargs: dict[str, Any] = {
                    "base_url": self._endpoint,
                    "credential_scopes": self._scopes,
                    "raw_response_hook": _log_rate_limits,
                    "retry_policy": BoundedRetryPolicy(
                        retry_total=RETRY_TOTAL,
                        retry_backoff_factor=RETRY_BACKOFF_FACTOR,
                        retry_backoff_max=RETRY_BACKOFF_MAX,
                    ),
                    **SDK_OPTIONS,
                    # one transport, one token, one model of ARM's buckets for every client
                    "transport": self._transport,
                    "per_call_policies": [DeadlineCarrier()],
                    "per_retry_policies": [PacingPolicy(self.pacer)],
                }
                if kind == "subscriptions":
                    client = factory(self._credential, **kwargs)
                else:
                    client = factory(self._credential, subscription_id, **kwargs)
                self._clients[key] = client
            return client

    def _aks(self, subscription_id: str) -> ContainerServiceClient:
        return self._client("aks", subscription_id, ContainerServiceClient)

    def _monitor(self, subscription_id: str) -> MonitorManagementClient:
        return self._client("monitor", subscription_id, MonitorManagementClient)

    def _logs(self, subscription_id: str) -> LogAnalyticsManagementClient:
        return self._client("loganalytics", subscription_id, LogAnalyticsManagementClient)

    def _resources(self, subscription_id: str) -> ResourceManagementClient:
        return self._client("resources", subscription_id, ResourceManagementClient)

    def _active_deadline(self) -> Deadline:
        """The run's deadline, or inside :meth:`_again` the smaller budget of that one lookup."""
        override = getattr(_lookup_budget, "deadline", None)
        return override if isinstance(override, Deadline) else self._deadline

    @property
    def _opts(self) -> dict[str, Any]:
        """Per-request options: the deadline, read by :class:`BoundedRetryPolicy`."""
        return {"deadline": self._active_deadline()}

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        self._active_deadline().check(what)
        _stopped_by_deadline.value = False
        try:
            return fn()
        except DeadlineExceeded:
            raise
        except Exception as exc:
            error = classify(exc, what=what)
            stopped = getattr(_stopped_by_deadline, "value", False)
            # Stopped for lack of time: the run's deadline (deferred) or only this lookup's budget (the error).
            if error.transient and stopped and not self._deadline.can_wait(MIN_TRY_SECONDS):
                raise DeadlineExceeded(f"{what} ({error.code})") from exc
            raise error from exc

    def _again(self, what: str, fn: Callable[[], T], retry_if: Callable[[ArmError], bool]) -> T:
        """``fn`` tried again (2, 4, 8, 10 s apart) while ``retry_if`` says so, within at most
        :data:`LOOKUP_BUDGET_SECONDS` of the run's budget (a hung endpoint costs one such budget,
        not one per try)."""
        budget = self._deadline.child(LOOKUP_BUDGET_SECONDS)
        previous = getattr(_lookup_budget, "deadline", None)
        _lookup_budget.deadline = budget
        try:
            waits = iter(OUTER_WAITS)
            while True:
                try:
                    return self._call(what, fn)
                except ArmError as exc:
                    if not retry_if(exc):
                        raise
                    wait = next(waits, None)
                    if wait is None:
                        raise
                    if not budget.can_wait(wait + MIN_TRY_SECONDS):
                        if isinstance(exc, CredentialError) or self._deadline.can_wait(wait + MIN_TRY_SECONDS):
                            raise  # the lookup's own budget is spent (or what to do matters more)
                        raise DeadlineExceeded(f"{what} ({exc.code})") from exc
                    logger.debug("%s: %s; trying again in %.0f s", what, exc.code, wait)
                    budget.sleep(wait)
        finally:
            _lookup_budget.deadline = previous

    def _write(self, what: str, fn: Callable[[], T]) -> T:
        """A write, tried again while ARM says another operation is in progress (409)."""
        return self._again(what, fn, _is_in_progress)

    def _read(self, what: str, fn: Callable[[], T]) -> T:
        """A read that many things depend on, tried again while the failure is transient (but not
        when ARM's limits already outlast the budget: the pacer waited what could be waited)."""
        return self._again(what, fn, lambda exc: exc.transient and not isinstance(exc, ThrottledError))

    # -- subscriptions and clusters -------------------------------------------------------------
    def list_subscriptions(self) -> list[str]:
        """IDs of the enabled subscriptions the identity can see."""
        client: SubscriptionClient = self._client("subscriptions", "-", SubscriptionClient)

        def read() -> list[str]:
            return [
                str(s.subscription_id).lower()
                for s in client.subscriptions.list(**self._opts)
                if _text(s.state).lower() in {"enabled", "warned", "pastdue"}
            ]

        return self._read("list subscriptions", read)

    def subscription_name(self, subscription_id: str) -> str | None:
        """The subscription's display name (None when ARM gives none)."""
        client: SubscriptionClient = self._client("subscriptions", "-", SubscriptionClient)
        sub = self._call(f"read subscription {subscription_id}", lambda: client.subscriptions.get(subscription_id))
        return str(sub.display_name) if sub.display_name else None

    def list_clusters(self, subscription_id: str) -> list[Cluster]:
        def read() -> list[Cluster]:
            return [_cluster(mc) for mc in self._aks(subscription_id).managed_clusters.list(**self._opts)]

        return self._read(f"list clusters in subscription {subscription_id}", read)

    def get_cluster(self, cluster_id: str) -> Cluster:
        ref = parse_cluster_id(cluster_id)
        what = f"read cluster {cluster_id}"
        try:
            return self._call(
                what,
                lambda: _cluster(
                    self._aks(ref.subscription_id).managed_clusters.get(ref.resource_group, ref.name, **self._opts)
                ),
            )
        except NotFoundError as exc:
            raise ClusterNotFoundError(exc.code, exc.message, status=404) from exc

    # -- diagnostic settings -------------------------------------------------------------------
    def list_settings(self, cluster: Cluster) -> tuple[DiagnosticSetting, ...]:
        uri = _uri(cluster.id)

        def read() -> tuple[DiagnosticSetting, ...]:
            client = self._monitor(cluster.subscription_id)
            return tuple(_setting(s) for s in client.diagnostic_settings.list(uri, **self._opts))

        return self._call(f"list diagnostic settings of {cluster.id}", read)

    def get_category_metadata(self, cluster: Cluster) -> CategoryMetadata:
        uri = _uri(cluster.id)

        def read() -> CategoryMetadata:
            groups: dict[str, set[str]] = {}
            categories: set[str] = set()
            client = self._monitor(cluster.subscription_id)
            for item in client.diagnostic_settings_category.list(uri, **self._opts):
                if _text(item.category_type).lower() != "logs":
                    continue
                categories.add(str(item.name))
                for group in item.category_groups or []:
                    groups.setdefault(str(group).lower(), set()).add(str(item.name))
            return CategoryMetadata(
                groups={g: frozenset(c) for g, c in groups.items()}, categories=frozenset(categories)
            )

        return self._read(f"read diagnostic categories of {cluster.id}", read)

    def write_setting(self, cluster: Cluster, change: SettingChange, existing: DiagnosticSetting | None) -> None:
        """Create or update our setting exactly as ``change`` says, keeping all else of it.

        After an ambiguous failure the setting is read back: when it now holds what we wrote,
        the write took effect and this returns normally; otherwise the failure is raised.
        """
        body: DiagnosticSettingsResource
        if existing is not None and isinstance(existing.raw, DiagnosticSettingsResource):
            body = copy.deepcopy(existing.raw)
        else:
            body = DiagnosticSettingsResource()
        body.workspace_id = change.workspace_id
        body.log_analytics_destination_type = change.log_analytics_destination_type
        body.logs = [_log_settings(e) for e in change.keep_logs] + [
            LogSettings(category=c, enabled=True) for c in change.categories
        ]
        uri = _uri(cluster.id)
        client = self._monitor(cluster.subscription_id)
        what = f"write diagnostic setting {change.setting_name} on {cluster.id}"
        try:
            self._write(
                what, lambda: client.diagnostic_settings.create_or_update(uri, change.setting_name, body, **self._opts)
            )
        except (ArmError, DeadlineExceeded) as exc:
            ambiguous = isinstance(exc, DeadlineExceeded) or _ambiguous(exc)
            if not ambiguous or not self._setting_holds(cluster, change):
                raise
            logger.warning("%s: the answer was lost (%s), but reading it back shows the write took effect", what, exc)

    def _setting_holds(self, cluster: Cluster, change: SettingChange) -> bool:
        """Whether our setting on ``cluster`` now holds what ``change`` writes (read back once)."""
        uri = _uri(cluster.id)
        try:
            found = self._call(
                f"read back diagnostic setting {change.setting_name} on {cluster.id}",
                lambda: self._monitor(cluster.subscription_id).diagnostic_settings.get(
                    uri, change.setting_name, retry_total=1, **self._opts
                ),
            )
        except (ArmError, DeadlineExceeded):
            return False
        setting = _setting(found)
        enabled = {e.category for e in setting.logs if e.enabled and e.category}
        return (setting.workspace_id or "").lower() == change.workspace_id.lower() and set(change.categories) <= enabled

    # -- workspaces and resource groups ----------------------------------------------------------
    def _read_workspace(self, workspace_id: str) -> Workspace | Literal["gone", "forbidden"]:
        """The workspace, or why not: ``gone`` (404) or ``forbidden`` (403); other errors raise."""
        ref = workspace_ref(workspace_id)
        try:
            return self._call(
                f"read workspace {workspace_id}",
                lambda: self._logs(ref.subscription_id).workspaces.get(ref.resource_group, ref.name, **self._opts),
            )
        except NotFoundError:
            return "gone"
        except ArmError as exc:
            if exc.status == 403:
                logger.debug("workspace %s is not readable (%s)", workspace_id, exc.code)
                return "forbidden"
            raise

    def workspace_state(self, workspace_id: str) -> str | None:
        """The workspace's provisioningState; None on 404; ``Succeeded`` assumed when we may not read it (403)."""
        ws = self._read_workspace(workspace_id)
        if isinstance(ws, str):
            return None if ws == "gone" else SUCCEEDED
        return _text(ws.provisioning_state) or SUCCEEDED

    # -- table plans (REMEDIATION_AUDIT_TABLE_PLAN) -------------------------------------------------
    def workspace_tags(self, workspace_id: str) -> dict[str, str] | None:
        """The workspace's tags; None when it is gone (404) or we may not read it (403)."""
        ws = self._read_workspace(workspace_id)
        if isinstance(ws, str):  # gone or forbidden
            return None
        return {str(k): str(v) for k, v in (ws.tags or {}).items()}

    def get_table_plan(self, workspace_id: str, table: str) -> str:
        """The plan of one table of a workspace (``Analytics``, ``Basic``, ...)."""
        ref = workspace_ref(workspace_id)
        found = self._call(
            f"read table {table} of {workspace_id}",
            lambda: self._logs(ref.subscription_id).tables.get(ref.resource_group, ref.name, table, **self._opts),
        )
        return _text(getattr(found.properties, "plan", None))

    def set_table_plan(self, workspace_id: str, table: str, plan: str) -> str:
        """PATCH the table's plan and wait for the long-running operation (200, or 202 and
        ``Azure-AsyncOperation``) within the deadline; the plan read back. Raises :class:`ArmError`
        when ARM refuses (e.g. the plan was changed less than a week ago)."""
        ref = workspace_ref(workspace_id)
        client = self._logs(ref.subscription_id)
        what = f"set the plan of table {table} of {workspace_id} to {plan}"

        def update() -> Any:
            poller = client.tables.begin_update(
                ref.resource_group,
                ref.name,
                table,
                Table(properties=TableProperties(plan=plan)),
                polling=_BoundedPolling(self._deadline, LRO_POLL_INTERVAL),
                retry_total=0,
                **self._opts,
            )
            return poller.result(timeout=self._deadline.remaining() + READ_TIMEOUT)

        updated = self._call(what, update)
        return _text(getattr(getattr(updated, "properties", None), "plan", None)) or plan

    def workspace_exists(self, workspace_id: str) -> bool:
        """False only on 404; a workspace we may not read (403) is assumed to exist."""
        return self.workspace_state(workspace_id) is not None

    def resource_group_exists(self, subscription_id: str, name: str) -> bool:
        try:
            self._call(
                f"read resource group {name}",
                lambda: self._resources(subscription_id).resource_groups.get(name, **self._opts),
            )
        except NotFoundError:
            return False
        return True

    def create_resource_group(
        self, subscription_id: str, name: str, location: str, tags: Mapping[str, str]
    ) -> Creation:
        """Create a resource group that a read found missing. ``created`` is False when it turned out
        to exist (409, a lost race, or an ambiguous failure after which it exists)."""
        rid = f"/subscriptions/{subscription_id}/resourceGroups/{name}"
        status: list[int] = []
        what = f"create resource group {name}"

        def put() -> Any:
            return self._resources(subscription_id).resource_groups.create_or_update(
                name,
                {"location": location, "tags": dict(tags)},
                retry_total=0,
                raw_response_hook=_status_hook(status),
                **self._opts,
            )

        for _ in range(CONFLICT_ATTEMPTS):
            try:
                group = self._call(what, put)
                return Creation(str(group.id or rid), created=status[-1:] == [201])
            except ArmError as exc:
                if exc.status != 409 and not _ambiguous(exc):
                    raise
                if self.resource_group_exists(subscription_id, name):
                    # 409: someone else made it; ambiguous: ours, most likely (it was missing just before).
                    return Creation(rid, created=exc.status != 409)
                if not self._deadline.can_wait(OUTER_WAITS[0] + MIN_TRY_SECONDS):
                    raise DeadlineExceeded(what) from exc
                self._deadline.sleep(OUTER_WAITS[0])
        raise DeadlineExceeded(what)

    def create_workspace(
        self, workspace_id: WorkspaceId, *, location: str, retention_days: int, tags: Mapping[str, str]
    ) -> Creation:
        """Create a workspace that a read found missing, and poll its creation until the deadline.

        ``created`` is False when it turned out to exist (409, or a PUT answered 200: a lost race);
        ``state`` is its provisioningState when we stopped waiting (``Succeeded`` only when usable).
        An ambiguous failure is read back: if the workspace exists now, our PUT made it.
        """
        ref = workspace_ref(workspace_id)
        params = Workspace(
            location=location,
            tags=dict(tags),
            properties=WorkspaceProperties(sku=WorkspaceSku(name="PerGB2018"), retention_in_days=retention_days),
        )
        client = self._logs(ref.subscription_id)
        what = f"create workspace {workspace_id}"
        for _ in range(CONFLICT_ATTEMPTS):
            status: list[int] = []
            try:
                poller = self._call(
                    what,
                    lambda status=status: client.workspaces.begin_create_or_update(  # type: ignore[misc]
                        ref.resource_group,
                        ref.name,
                        params,
                        polling=_BoundedPolling(self._deadline, LRO_POLL_INTERVAL),
                        retry_total=0,
                        raw_response_hook=_status_hook(status),
                        **self._opts,
                    ),
                )
            except ArmError as exc:
                if exc.status != 409 and not _ambiguous(exc):
                    raise
                state = self.workspace_state(workspace_id)
                if state is not None:
                    return Creation(workspace_id, created=exc.status != 409, state=self._settle(workspace_id, state))
                if not self._deadline.can_wait(OUTER_WAITS[0] + MIN_TRY_SECONDS):
                    raise DeadlineExceeded(what) from exc
                self._deadline.sleep(OUTER_WAITS[0])
                continue
            created = status[:1] != [200]
            return Creation(str(workspace_id), created=created, state=self._await_creation(poller, workspace_id))
        raise DeadlineExceeded(what)

    def _await_creation(self, poller: Any, workspace_id: str) -> str:
        """Poll a creation until it ends or the deadline comes; the workspace's state then."""
        try:
            ws = poller.result(timeout=self._deadline.remaining() + READ_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - Failed, Canceled, deadline, connection: read the state
            logger.warning("creation of workspace %s did not complete: %s", workspace_id, _first_line(str(exc)))
            return self._state_or(workspace_id, "Unknown")
        if not poller.done():
            return self._state_or(workspace_id, "Creating")
        return _text(getattr(ws, "provisioning_state", None)) or self._state_or(workspace_id, "Unknown")

    def _settle(self, workspace_id: str, state: str) -> str:
        """Re-read a workspace still being provisioned until it is done or the deadline comes."""
        waits = iter((1.0, 2.0, 4.0, *([8.0] * 1000)))
        while state.lower() not in {"succeeded", "failed", "canceled", "deleting"}:
            wait = next(waits)
            if not self._deadline.can_wait(wait + MIN_TRY_SECONDS):
                return state
            self._deadline.sleep(wait)
            state = self._state_or(workspace_id, state)
        return state

    def wait_for_workspace(self, workspace_id: str, state: str) -> str:
        """A workspace found in ``state`` (e.g. Creating): its state once settled, or at the deadline."""
        return self._settle(workspace_id, state)

    def _state_or(self, workspace_id: str, default: str) -> str:
        try:
            return self.workspace_state(workspace_id) or default
        except (ArmError, DeadlineExceeded):
            return default


def _status_hook(into: list[int]) -> Callable[[PipelineResponse[Any, Any]], None]:
    def hook(response: PipelineResponse[Any, Any]) -> None:
        into.append(response.http_response.status_code)
        _log_rate_limits(response)

    return hook


def _text(value: Any) -> str:
    """An SDK enum or string as its plain text value ('' for None)."""
    return str(getattr(value, "value", value) or "")


def _uri(resource_id: str) -> str:
    # The monitor SDK puts resource_uri after a literal '/' without quoting it.
    return resource_id.lstrip("/")


def _cluster(mc: Any) -> Cluster:
    ref = parse_cluster_id(str(mc.id))
    return Cluster(
        id=ClusterId(str(mc.id)),
        name=str(mc.name),
        subscription_id=ref.subscription_id,
        resource_group=ref.resource_group,
        location=str(mc.location),
        provisioning_state=_text(mc.provisioning_state),
        tags=dict(mc.tags or {}),
    )


def _setting(s: DiagnosticSettingsResource) -> DiagnosticSetting:
    return DiagnosticSetting(
        name=str(s.name),
        logs=tuple(
            LogEntry(enabled=bool(e.enabled), category=e.category or None, category_group=e.category_group or None)
            for e in (s.logs or [])
        ),
        workspace_id=s.workspace_id or None,
        storage_account_id=s.storage_account_id or None,
        event_hub_authorization_rule_id=s.event_hub_authorization_rule_id or None,
        marketplace_partner_id=s.marketplace_partner_id or None,
        log_analytics_destination_type=s.log_analytics_destination_type or None,
        last_modified_at=_last_modified(s),
        raw=s,
    )


def _last_modified(s: DiagnosticSettingsResource) -> datetime | None:
    """``systemData.lastModifiedAt`` (else ``createdAt``), timezone-aware; None when ARM did not say."""
    system_data = getattr(s, "system_data", None)
    value = getattr(system_data, "last_modified_at", None) or getattr(system_data, "created_at", None)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _log_settings(entry: LogEntry) -> LogSettings:
    return LogSettings(category=entry.category, category_group=entry.category_group, enabled=entry.enabled)
