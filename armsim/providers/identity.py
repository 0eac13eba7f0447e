"""Identity: the App Service managed-identity token endpoint, the tokens it issues, and ARM's bearer check.

``GET /msi/token?api-version=2019-08-01&resource=...`` with ``X-IDENTITY-HEADER`` (the protocol
``DefaultAzureCredential`` speaks when ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` are set); its
errors have that endpoint's own shape ``{"statusCode", "message"}``. Tokens are JWT-shaped with the
claims a real ARM token carries (``oid``, ``appid``, ``tid``, ``aud``, ``exp``; the signature is random).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

from armsim.errors import ArmError
from armsim.routing import Response
from armsim.state import State

IDENTITY_PATH = "/msi/token"
IDENTITY_API_VERSION = "2019-08-01"


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


class IdentitySeeding(State):
    """Mixin of :class:`armsim.ArmSimulator`: tokens."""

    def issue_token(
        self, resource: str, lifetime: int = 3600, *, principal_id: str | None = None, client_id: str | None = None
    ) -> tuple[str, int]:
        """A JWT-shaped access token (claims ``oid``, ``appid``, ``tid``, ``aud``; the signature is random).

        By default for the managed identity the token endpoint serves; pass ``principal_id`` (and
        ``client_id``) to act as another caller.
        """
        oid = principal_id or self.principal_id
        appid = client_id or (self.client_id if principal_id is None else oid)
        issued = int(time.time())
        expires_on = issued + lifetime
        claims = {
            "aud": resource.removesuffix("/.default"),
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": issued,
            "nbf": issued,
            "exp": expires_on,
            "appid": appid,
            "appidacr": "2",
            "idtyp": "app",
            "oid": oid,
            "sub": oid,
            "tid": self.tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        header = {"typ": "JWT", "alg": "RS256", "kid": "armsim"}
        token = ".".join(
            [_b64(header), _b64(claims), base64.urlsafe_b64encode(secrets.token_bytes(64)).decode().rstrip("=")]
        )
        with self.lock:
            self.tokens[token] = (resource, float(expires_on))
            self.token_principals[token] = (oid, appid)
        return token, expires_on

    def principal_of(self, authorization: str | None) -> tuple[str, str] | None:
        """(object ID, client ID) of a valid bearer token's caller, or None."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        token = authorization[7:].strip()
        with self.lock:
            issued = self.tokens.get(token)
            if issued is None or issued[1] < time.time():
                return None
            return self.token_principals.get(token)


def answer_token_request(sim: IdentitySeeding, headers: Any, query: dict[str, str]) -> Response:
    """App Service / Functions managed identity (``IDENTITY_ENDPOINT`` protocol, api-version 2019-08-01)."""
    if headers.get("X-IDENTITY-HEADER") != sim.identity_header:
        return Response(401, {"statusCode": 401, "message": "X-IDENTITY-HEADER is missing or invalid."})
    if query.get("api-version") != IDENTITY_API_VERSION:
        return Response(400, {"statusCode": 400, "message": f"api-version must be {IDENTITY_API_VERSION}."})
    resource = query.get("resource")
    if not resource:
        return Response(400, {"statusCode": 400, "message": "The 'resource' query parameter is required."})
    token, expires_on = sim.issue_token(resource)
    return Response(
        200,
        {
            "access_token": token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": sim.client_id,
        },
    )


def authenticate_arm(sim: State, headers: Any) -> None:
    """Raise 401 ``InvalidAuthenticationToken`` (with ARM's ``WWW-Authenticate`` challenge) unless the request
    carries a valid, unexpired bearer token for ``sim.base_url``."""
    header = headers.get("Authorization") or ""
    challenge = (
        f'Bearer authorization_uri="https://login.microsoftonline.com/{sim.tenant_id}", '
        f'error="invalid_token", error_description="The authentication failed because of missing or invalid token."'
    )
    fail_headers = {"WWW-Authenticate": challenge}
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        raise ArmError(
            401,
            "InvalidAuthenticationToken",
            "The 'Authorization' header is missing or is not a Bearer token.",
            fail_headers,
        )
    token = header[7:].strip()
    with sim.lock:
        issued = sim.tokens.get(token)
    if issued is None or issued[1] < time.time():
        raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid or expired.", fail_headers)
    audience = issued[0].rstrip("/").lower()
    if audience.removesuffix("/.default") != sim.base_url.lower():
        raise ArmError(
            401,
            "InvalidAuthenticationToken",
            f"The access token has been obtained for wrong audience or resource '{issued[0]}'. "
            f"It should exactly match with one of the allowed audiences '{sim.base_url}/'.",
            fail_headers,
        )
