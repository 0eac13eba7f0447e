"""The managed-identity token endpoint as it really fails (issue 15 E): App Service answers errors as
``{"statusCode", "message"}``, IMDS (a VM, a pipeline agent running the CLI) as ``{"error",
"error_description"}``. The product classifies a failure by its HTTP status whatever the body, tries a
temporary one again within the run's deadline, and says "no credential" only when there is none."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from armsim.routing import Response
from remediation.cli.exit_codes import EXIT_FAILED
from tests.support.cli import cli
from tests.support.constants import SUB_A

SHAPES = ["app-service", "imds"]


def imds_error(status: int, retry_after: int | None) -> Callable[[Response, str], Response]:
    """The token endpoint's answer replaced by an IMDS-shaped error."""

    def rewrite(response: Response, url: str) -> Response:
        body = {"error": "unknown_error", "error_description": "IMDS is unavailable, retry later"}
        return Response(status, body, None if retry_after is None else {"Retry-After": str(retry_after)})

    return rewrite


def fail_token_endpoint(sim, shape: str, status: int, times: int | None, retry_after: int | None = 0) -> None:
    """``retry_after=0``: azure-identity's MSAL asks again at once (without it, MSAL replays a 5xx for 5 s)."""
    if shape == "app-service":  # armsim's own error shape for the identity endpoint
        sim.inject_fault(identity=True, status=status, retry_after=retry_after, times=times)
    else:
        sim.inject_fault(identity=True, status=None, times=times, rewrite=imds_error(status, retry_after))


@pytest.mark.parametrize("shape", SHAPES)
def test_a_token_endpoint_that_fails_for_a_moment_costs_a_retry_not_the_run(estate, shape):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    fail_token_endpoint(estate, shape, 500, times=2)  # the SDK's own two tries both fail

    code, out, err = cli("report", "--format", "json")

    assert code != EXIT_FAILED, err
    assert [c["name"] for c in json.loads(out)["clusters"]] == ["aks-1"]
    assert [r.status for r in estate.identity_requests()] == [500, 500, 200]


@pytest.mark.parametrize("shape", SHAPES)
def test_a_token_endpoint_that_keeps_failing_is_named_by_its_status(estate, shape):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    fail_token_endpoint(estate, shape, 503, times=None)

    code, _, err = cli("report", REMEDIATION_DEADLINE_SECONDS="3")  # room for one more try, 1 s later

    assert code == EXIT_FAILED
    assert err.splitlines()[-1] == (
        "error: the token endpoint of the managed identity (IDENTITY_ENDPOINT) answered HTTP 503: "
        "check the managed identity"
    )
    assert len(estate.identity_requests()) > 2  # tried again within the 3 s
    assert estate.arm_requests() == []


@pytest.mark.parametrize("shape", SHAPES)
def test_an_identity_the_endpoint_refuses_is_permanent_and_not_tried_again(estate, shape):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    fail_token_endpoint(estate, shape, 400, times=None)  # e.g. no identity assigned to the app

    code, _, err = cli("report")

    assert code == EXIT_FAILED
    assert err.splitlines()[-1] == (
        "error: the token endpoint of the managed identity (IDENTITY_ENDPOINT) answered HTTP 400: "
        "check the managed identity"
    )
    # no try again: one token request per operation (the listing, then the subscription's name)
    assert [r.status for r in estate.identity_requests()] == [400, 400]


def test_a_failure_the_sdk_replays_is_still_classified_by_its_status(estate):
    # Without Retry-After, MSAL answers the next token requests (for 5 s) with the 5xx it got, without
    # asking the endpoint: the retry 1 s later meets that replay, the one 5 s later the endpoint again.
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    fail_token_endpoint(estate, "imds", 503, times=None, retry_after=None)

    code, _, err = cli("report", REMEDIATION_DEADLINE_SECONDS="8")

    assert code == EXIT_FAILED
    assert "answered HTTP 503" in err.splitlines()[-1]
    assert "asking again in 1 s" in err and "asking again in 5 s" in err
    assert len(estate.identity_requests()) == 4  # twice (the SDK's two tries) at 0 s and at 6 s
