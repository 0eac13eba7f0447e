"""Requests stay on the configured endpoint: a hostile answer cannot lead the clients (or our token) away.

ARM's answers carry links the SDK follows on its own: a listing's ``nextLink``, a long-running
operation's ``Azure-AsyncOperation`` and ``Location``, a redirect's ``Location``. Each SDK client
has two policies that keep it on the one endpoint it was made for (ARM's for the management
clients, the Log Analytics query API's for the Logs client):

- :class:`LinkGuardPolicy` (first in the pipeline, once per request the SDK makes) refuses a
  request to any other origin (scheme, host, port) with :class:`~remediation.errors.ArmError`
  ``LinkOutsideEndpoint``, and stops a listing whose ``nextLink`` leads back to a page already
  read in the same call (``NextLinkRepeats``): a self-pointing ``nextLink`` otherwise pages forever.
- :class:`EndpointTokenPolicy` (the clients' authentication policy) adds the bearer token only to
  requests for the endpoint's origin; to any other (a redirect), it sends none and answers no
  authentication challenge. When the token endpoint fails for a moment (a temporary
  :class:`~remediation.errors.CredentialError`), it asks again 1, 5, then every 10 s within the
  call's deadline (at most :data:`TOKEN_RETRY_SECONDS` of it), on every trigger and the CLI alike.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import TokenCredential
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, SansIOHTTPPolicy

from remediation.azure.policies import CallDeadline, call_deadline
from remediation.errors import ArmError, CredentialError
from remediation.kit.deadline import MIN_TRY_SECONDS

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"https": 443, "http": 80}
# A token endpoint that failed for a moment is asked again this far apart (then every 10 s), within
# the call's deadline and at most TOKEN_RETRY_SECONDS of it. (azure-identity's MSAL replays a 429/5xx
# answer for its Retry-After, 5 s without one: the second wait outlasts that.)
TOKEN_WAITS = (1.0, 5.0, 10.0)
TOKEN_RETRY_SECONDS = 60.0


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, lower case, the port made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # not a number: no origin of ours has it
        port = -1
    return scheme, (parts.hostname or "").lower(), port if port is not None else _DEFAULT_PORTS.get(scheme)


def _host(url: str) -> str:
    parts = urlsplit(url)
    return (parts.netloc or "?")[:120]


class LinkGuardPolicy(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Refuses requests off the endpoint, and a listing's page read twice in one call."""

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self._endpoint = endpoint
        self._origin = origin(endpoint)

    def on_request(self, request: PipelineRequest[Any]) -> None:
        http = request.http_request
        if origin(http.url) != self._origin:
            raise ArmError(
                "LinkOutsideEndpoint",
                f"an answer led to {_host(http.url)}, outside the endpoint {_host(self._endpoint)}: not followed",
            )
        call = request.context.options.get("deadline")
        if http.method.upper() != "GET" or not isinstance(call, CallDeadline) or call.polling:
            return
        if http.url in call.pages:
            raise ArmError(
                "NextLinkRepeats",
                f"the listing's nextLink leads back to a page already read (after {len(call.pages)} pages): "
                "paging stopped",
            )
        call.pages.add(http.url)


class EndpointTokenPolicy(BearerTokenCredentialPolicy):  # type: ignore[type-arg]
    """The SDK's bearer-token policy, for the endpoint's origin only: any other gets no token."""

    def __init__(self, credential: TokenCredential, *scopes: str, endpoint: str, **kwargs: Any) -> None:
        super().__init__(credential, *scopes, **kwargs)
        self._origin = origin(endpoint)

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        if origin(request.http_request.url) == self._origin:
            return self._send_with_token(request)
        request.http_request.headers.pop("Authorization", None)
        logger.warning("no token sent to %s: it is not the endpoint's host", _host(request.http_request.url))
        forwarded: PipelineResponse[Any, Any] = self.next.send(request)
        return forwarded

    def _send_with_token(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        call = call_deadline(request)
        budget = call.deadline.child(TOKEN_RETRY_SECONDS) if call is not None else None
        waits = iter(TOKEN_WAITS)
        while True:
            try:
                response: PipelineResponse[Any, Any] = super().send(request)
                return response
            except CredentialError as exc:
                wait = next(waits, TOKEN_WAITS[-1])
                if not exc.transient or budget is None or not budget.can_wait(wait + MIN_TRY_SECONDS):
                    raise
                logger.warning("%s; asking again in %.0f s", exc.message, wait)
                budget.sleep(wait)
