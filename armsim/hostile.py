"""A hostile ARM: answers rewritten to lead a client astray (used with ``inject_fault(status=None, rewrite=...)``).

``sim.inject_fault("GET", "managedClusters", status=None, times=None, rewrite=next_link_to_self)``
makes every page of the cluster listing point back at itself; ``next_link_on_host("localhost:1234")``
moves the ``nextLink`` to another host; ``redirect_to_host(...)`` answers 307 to the same path on
another host; ``claims_challenge`` answers 401 with a claims challenge. armsim's certificate is valid for both ``127.0.0.1`` and ``localhost``, so the other
host is this same simulator, which records whatever the client sends it (its token, above all).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from armsim.routing import Response


def next_link_to_self(response: Response, url: str) -> Response:
    """The page's ``nextLink`` is the page itself (a client that follows it pages forever)."""
    if isinstance(response.body, dict) and response.status == 200:
        response.body["nextLink"] = url
    return response


def next_link_on_host(netloc: str) -> Callable[[Response, str], Response]:
    """The page's ``nextLink`` (or, on the last page, its own URL) moved to ``netloc``."""

    def rewrite(response: Response, url: str) -> Response:
        if isinstance(response.body, dict) and response.status == 200:
            link = urlsplit(str(response.body.get("nextLink") or url))
            response.body["nextLink"] = urlunsplit(link._replace(netloc=netloc))
        return response

    return rewrite


def redirect_to_host(netloc: str) -> Callable[[Response, str], Response]:
    """307 Temporary Redirect to the same path and query on ``netloc``."""

    def rewrite(response: Response, url: str) -> Response:
        return Response(307, None, {"Location": urlunsplit(urlsplit(url)._replace(netloc=netloc))})

    return rewrite


def claims_challenge(response: Response, url: str) -> Response:
    """401 with a Continuous Access Evaluation claims challenge: a client that answers it sends a fresh token."""
    claims = base64.urlsafe_b64encode(b'{"access_token":{"nbf":{"essential":true,"value":"1"}}}').decode().rstrip("=")
    challenge = f'Bearer authorization_uri="https://login.microsoftonline.com/common", error="insufficient_claims", claims="{claims}"'
    body = {"error": {"code": "InvalidAuthenticationToken", "message": "The token is not valid for this host."}}
    return Response(401, body, {"WWW-Authenticate": challenge})
