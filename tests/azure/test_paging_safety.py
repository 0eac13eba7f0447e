"""A hostile ARM answer cannot lead the SDK clients astray: a nextLink that repeats or leaves ARM's
endpoint stops the listing with a clear error, and no request off the endpoint carries our token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from armsim.hostile import claims_challenge, next_link_on_host, next_link_to_self, redirect_to_host
from remediation.adapters import build_adapters
from remediation.config.values import Mode
from remediation.core.model import Trigger
from remediation.engine.sweep import run
from tests.support.builders import entries, ws_id
from tests.support.constants import REQUIRED, SUB_A, USER_RG


def cluster_listings(sim) -> list:
    return [r for r in sim.arm_requests() if r.method == "GET" and r.path.lower().endswith("/managedclusters")]


def off_endpoint(sim) -> list:
    """Requests that reached armsim under another host name than the product's ARM endpoint."""
    return [r for r in sim.requests if r.headers.get("Host", "").lower().startswith("localhost")]


def test_a_self_pointing_next_link_stops_the_listing_with_a_clear_error(sim_factory, sweep) -> None:
    sim = sim_factory(page_size=2)
    for i in range(5):
        sim.add_cluster(SUB_A, "rg-apps", f"aks-{i}", "eastus")
    sim.inject_fault("GET", "managedClusters", status=None, times=None, rewrite=next_link_to_self)

    document = sweep("report", REMEDIATION_DEADLINE_SECONDS="10")  # without the guard: pages until the deadline

    (error,) = document["errors"]
    assert (error["scope"], error["code"]) == (f"/subscriptions/{SUB_A}", "NextLinkRepeats")
    assert "nextLink leads back to a page already read" in error["message"]
    assert len(cluster_listings(sim)) == 1  # the repeated page is not requested (it was: 598 times in 14 s)


def test_a_next_link_to_another_host_is_not_followed(sim_factory, sweep) -> None:
    sim = sim_factory(page_size=2)
    for i in range(5):
        sim.add_cluster(SUB_A, "rg-apps", f"aks-{i}", "eastus")
    sim.inject_fault("GET", "managedClusters", status=None, rewrite=next_link_on_host(f"localhost:{sim.port}"))

    document = sweep("report")

    (error,) = document["errors"]
    assert (error["scope"], error["code"]) == (f"/subscriptions/{SUB_A}", "LinkOutsideEndpoint")
    assert f"led to localhost:{sim.port}, outside the endpoint 127.0.0.1:{sim.port}" in error["message"]
    assert off_endpoint(sim) == []
    assert len(cluster_listings(sim)) == 1


def test_no_token_goes_to_another_host_not_even_when_it_asks_for_one(sim_factory, sweep) -> None:
    # ARM redirects the read of a cluster's log categories to another host, which answers with a claims challenge: the
    # SDK's own policy would answer it with a fresh token for that host.
    sim = sim_factory()
    sim.add_cluster(SUB_A, "rg-apps", "aks-0", "eastus")
    settings = "aks-0/providers/Microsoft.Insights/diagnosticSettingsCategories"
    sim.inject_fault("GET", settings, status=None, rewrite=redirect_to_host(f"localhost:{sim.port}"))
    sim.inject_fault("GET", settings, status=None, rewrite=claims_challenge)

    document = sweep("report")

    (redirected,) = off_endpoint(sim)  # and not again with a token
    assert redirected.path.lower().endswith(settings.lower())
    assert redirected.headers.get("Authorization") is None
    assert document["summary"]["clusters"] == 1


def test_the_logs_client_sends_its_token_to_the_query_endpoint_only(estate, configure) -> None:
    cluster = estate.add_cluster(SUB_A, "rg-apps", "aks-0", "eastus")
    workspace = ws_id(SUB_A, USER_RG, "law-user")
    setting = {"workspaceId": workspace, "logAnalyticsDestinationType": "Dedicated", "logs": entries(*REQUIRED)}
    estate.put_setting(cluster, "audit", setting, last_modified_at=datetime.now(UTC) - timedelta(days=3))
    estate.inject_fault("POST", "law-user/query", status=None, rewrite=redirect_to_host(f"localhost:{estate.port}"))
    estate.inject_fault("POST", "law-user/query", status=None, rewrite=claims_challenge)
    config = configure()
    adapters = build_adapters(config, {})

    document = run(config, adapters.gateway, logs=adapters.logs, mode=Mode.REPORT, trigger=Trigger.CLI)

    (redirected,) = off_endpoint(estate)  # and not again with a token
    assert redirected.path.lower().endswith("law-user/query")
    assert redirected.headers.get("Authorization") is None
    (outcome,) = document["clusters"]
    assert outcome["flow"]["verdict"] == "unknown"
