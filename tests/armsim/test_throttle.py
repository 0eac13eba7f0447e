"""armsim's model of ARM throttling: token buckets, 429 with Retry-After, true remaining-headers; and its wire."""

from __future__ import annotations

import base64
import json
import socket

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.mgmt.containerservice import ContainerServiceClient

from armsim import ArmSimulator, RecordedRequest, sequential_rounds
from armsim.throttle import DELETES, READS, WRITES, Limit, Throttle, throttled_message
from tests.support.constants import SUB_A, SUB_B

TENANT = "72f988bf-0000-4000-8000-000000000047"
ME = "5b8a1e6c-0000-4000-8000-00000000a11d"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def admit(throttle: Throttle, method: str = "GET", sub: str | None = SUB_A, principal: str = ME):
    return throttle.admit(method=method, subscription_id=sub, tenant_id=TENANT, principal=principal)


# ---------------------------------------------------------------------------- the buckets


def test_reads_burst_250_then_refill_25_per_second() -> None:
    clock = Clock()
    throttle = Throttle(enabled=True, clock=clock)
    answers = [admit(throttle) for _ in range(250)]
    assert all(a.allowed for a in answers)
    assert [a.remaining for a in answers[:3]] == [249, 248, 247]
    assert answers[-1].remaining == 0
    assert answers[-1].header == "x-ms-ratelimit-remaining-subscription-reads"

    refused = admit(throttle)
    assert not refused.allowed and refused.refused_by == "principal"
    assert refused.retry_after == 1  # one token back after 40 ms: whole seconds, at least 1
    # ARM reports only the subscription's global bucket on reads (3750 = 15 x 250, shared by every caller)
    assert refused.headers == {"x-ms-ratelimit-remaining-subscription-global-reads": "3500", "Retry-After": "1"}

    clock.now += 1.0
    assert sum(admit(throttle).allowed for _ in range(30)) == 25
    assert throttle.refused == 6


def test_writes_and_deletes_burst_200_refill_10_in_their_own_buckets() -> None:
    clock = Clock()
    throttle = Throttle(enabled=True, clock=clock)
    assert sum(admit(throttle, "PUT").allowed for _ in range(201)) == 200
    refused = admit(throttle, "PATCH")
    assert not refused.allowed and refused.retry_after == 1
    assert refused.header == "x-ms-ratelimit-remaining-subscription-writes"
    assert admit(throttle, "POST").allowed is False
    # deletes and reads are other buckets, still full
    delete = admit(throttle, "DELETE")
    assert delete.allowed and delete.remaining == 199 and delete.header.endswith("-deletes")
    assert admit(throttle, "GET").remaining == 249
    clock.now += 0.5
    assert sum(admit(throttle, "PUT").allowed for _ in range(10)) == 5


def test_buckets_are_per_subscription_and_per_principal_and_tenant_level_without_subscription() -> None:
    throttle = Throttle(enabled=True, clock=Clock())
    for _ in range(250):
        admit(throttle)
    assert not admit(throttle).allowed
    assert admit(throttle, sub=SUB_B).remaining == 249
    assert admit(throttle, principal="someone-else").remaining == 249
    tenant = admit(throttle, sub=None)
    assert tenant.allowed and tenant.header == "x-ms-ratelimit-remaining-tenant-reads" and tenant.remaining == 249


def test_retry_after_is_the_time_until_a_token_is_back() -> None:
    throttle = Throttle(
        enabled=True,
        clock=Clock(),
        subscription_limits={READS: Limit(1, 0.25), WRITES: Limit(1, 1), DELETES: Limit(1, 1)},
    )
    assert admit(throttle).allowed
    assert admit(throttle).retry_after == 4


def test_headers_as_arm_reports_them() -> None:
    throttle = Throttle(enabled=True, clock=Clock())
    put = "microsoft.insights/diagnosticsettings"
    assert admit(throttle, "GET").headers == {"x-ms-ratelimit-remaining-subscription-global-reads": "3749"}
    assert admit(throttle, "PUT").headers == {
        "x-ms-ratelimit-remaining-subscription-global-writes": "2999",
        "x-ms-ratelimit-remaining-subscription-writes": "199",
    }
    assert admit(throttle, "DELETE").headers == {
        "x-ms-ratelimit-remaining-subscription-deletes": "199",
        "x-ms-ratelimit-remaining-subscription-global-deletes": "2999",
    }
    setting = throttle.admit(method="PUT", subscription_id=SUB_A, tenant_id=TENANT, principal=ME, resource_type=put)
    assert setting.headers == {"x-ms-ratelimit-remaining-subscription-resource-requests": "149"}
    assert setting.remaining == 198  # it still took a token of the caller's write bucket
    tenant = admit(throttle, "GET", sub=None)
    assert tenant.headers == {"x-ms-ratelimit-remaining-tenant-reads": "249"}
    throttle.report = "principal"  # armsim's old behaviour, for tests that need it
    assert admit(throttle, "GET").headers == {"x-ms-ratelimit-remaining-subscription-reads": "248"}


def test_the_global_bucket_is_shared_and_a_noisy_neighbour_drains_it() -> None:
    clock = Clock()
    throttle = Throttle(enabled=True, clock=clock, global_limits={READS: Limit(10, 5.0)})
    for i in range(5):
        assert admit(throttle, principal=f"other-{i}").allowed
    throttle.drain(SUB_A, READS, 4)
    assert admit(throttle).global_remaining == 0
    refused = admit(throttle)
    assert (refused.allowed, refused.refused_by, refused.remaining) == (False, "global", 249)
    assert "global limit" in throttled_message(refused, ME, TENANT)
    throttle.add_neighbour(SUB_A, READS, 4.0)  # others take 4 of the 5 tokens a second
    clock.now += 1.0
    assert admit(throttle).allowed and not admit(throttle).allowed
    assert throttle.refused_by == {"global": 2}
    throttle.add_neighbour(SUB_A, READS, 2.0)  # now more than the refill: never a token again
    clock.now += 10
    late = admit(throttle)
    assert not late.allowed and late.retry_after == 60


def test_a_providers_write_budget_is_its_own() -> None:
    clock = Clock()
    throttle = Throttle(enabled=True, clock=clock, provider_limits={"microsoft.insights": Limit(2, 0.5)})

    def put_setting():
        return throttle.admit(
            method="PUT",
            subscription_id=SUB_A,
            tenant_id=TENANT,
            principal=ME,
            resource_type="microsoft.insights/diagnosticsettings",
        )

    assert [put_setting().allowed for _ in range(3)] == [True, True, False]
    refused = put_setting()
    assert refused.refused_by == "provider" and refused.retry_after == 2
    assert refused.headers == {"x-ms-ratelimit-remaining-subscription-resource-requests": "0", "Retry-After": "2"}
    assert "microsoft.insights" in throttled_message(refused, ME, TENANT)
    assert admit(throttle, "PUT").allowed  # other writes are not metered by Microsoft.Insights
    assert admit(throttle, "PUT", sub=SUB_B).allowed
    clock.now += 2.0
    assert put_setting().allowed


def test_off_by_default_never_refuses_and_reports_a_full_bucket() -> None:
    throttle = Throttle(clock=Clock())
    answers = [admit(throttle, "PUT") for _ in range(1000)]
    assert all(a.allowed for a in answers)
    assert {a.remaining for a in answers} == {200}
    assert throttle.refused == 0


# ---------------------------------------------------------------------------- over HTTPS, through the SDK


@pytest.fixture
def throttled(sim_factory) -> ArmSimulator:
    sim = sim_factory(throttle=True)
    sim.throttle.clock = Clock()  # frozen: no refill unless the test moves it
    sim.throttle.subscription_limits[READS] = Limit(3, 25.0)
    sim.add_subscription(SUB_A)
    sim.add_cluster(SUB_A, "rg-apps", "aks-one", "eastus")
    return sim


def aks(sim: ArmSimulator) -> ContainerServiceClient:
    return ContainerServiceClient(
        DefaultAzureCredential(),
        SUB_A,
        base_url=sim.base_url,
        credential_scopes=[sim.base_url + "/.default"],
        retry_total=0,
    )


def test_empty_bucket_answers_429_with_retry_after_and_arms_error_body(throttled: ArmSimulator) -> None:
    client = aks(throttled)
    remaining = []
    for _ in range(3):
        client.managed_clusters.get(
            "rg-apps",
            "aks-one",
            raw_response_hook=lambda r: remaining.append(dict(r.http_response.headers)),
        )
    # reads report the subscription's global bucket (15 x 3 here) only, as ARM does
    assert [h["x-ms-ratelimit-remaining-subscription-global-reads"] for h in remaining] == ["44", "43", "42"]
    assert not any("x-ms-ratelimit-remaining-subscription-reads" in h for h in remaining)
    with pytest.raises(HttpResponseError) as caught:
        client.managed_clusters.get("rg-apps", "aks-one")
    assert caught.value.status_code == 429
    assert caught.value.error.code == "TooManyRequests"
    assert (
        f"subscription '{SUB_A}'" in caught.value.error.message
        and "https://aka.ms/arm-throttling" in caught.value.error.message
    )
    response = caught.value.response
    assert response.headers["Retry-After"] == "1"
    assert response.headers["x-ms-ratelimit-remaining-subscription-global-reads"] == "42"
    last = throttled.arm_requests()[-1]
    assert last.status == 429 and last.principal == throttled.principal_id
    assert throttled.throttle.refused == 1
    # the bucket refills: 50 ms later one read is allowed again (one token per 40 ms)
    throttled.throttle.clock.now += 0.05
    assert client.managed_clusters.get("rg-apps", "aks-one").name == "aks-one"


def test_another_caller_has_its_own_bucket(throttled: ArmSimulator) -> None:
    token, _ = throttled.issue_token(throttled.base_url, principal_id="0ther000-0000-4000-8000-000000000001")
    url = f"{throttled.base_url}/subscriptions/{SUB_A}/resourceGroups/rg-apps/providers/Microsoft.ContainerService/managedClusters/aks-one?api-version=2026-08-01"
    mine, _ = throttled.issue_token(throttled.base_url)
    statuses = [
        requests.get(url, headers={"Authorization": f"Bearer {mine}"}, timeout=10).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    other = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    # its own bucket, but the same global one (3 of 45 were taken by the first caller)
    assert other.status_code == 200 and other.headers["x-ms-ratelimit-remaining-subscription-global-reads"] == "41"


def test_unthrottled_sim_reports_the_full_bucket(sim: ArmSimulator) -> None:
    sim.add_subscription(SUB_A)
    sim.add_cluster(SUB_A, "rg-apps", "aks-one", "eastus")
    seen = []
    aks(sim).managed_clusters.get(
        "rg-apps", "aks-one", raw_response_hook=lambda r: seen.append(dict(r.http_response.headers))
    )
    assert seen[0]["x-ms-ratelimit-remaining-subscription-global-reads"] == "3750"


def test_tokens_are_jwts_naming_the_identity(sim: ArmSimulator) -> None:
    token = DefaultAzureCredential().get_token(sim.base_url + "/.default").token
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["oid"] == sim.principal_id
    assert claims["appid"] == sim.client_id
    assert claims["tid"] == sim.tenant_id
    assert claims["aud"] == sim.base_url


def test_connections_use_tcp_nodelay(sim: ArmSimulator) -> None:
    with requests.Session() as session:
        assert session.get(sim.identity_endpoint, timeout=10).status_code == 401
        sockets = list(sim._server.open_sockets)  # the connection is kept alive
        assert sockets
        assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets)


def test_event_for_a_write_carries_the_callers_claims(sim: ArmSimulator) -> None:
    sim.add_subscription(SUB_A)
    cluster = sim.add_cluster(SUB_A, "rg-apps", "aks-one", "eastus")
    sim.add_workspace(SUB_A, "rg-logs", "law", "eastus")
    token, _ = sim.issue_token(sim.base_url)
    body = {
        "properties": {
            "workspaceId": f"/subscriptions/{SUB_A}/resourceGroups/rg-logs/providers/Microsoft.OperationalInsights/workspaces/law",
            "logs": [{"category": "kube-audit", "enabled": True}],
        }
    }
    url = f"{sim.base_url}{cluster}/providers/Microsoft.Insights/diagnosticSettings/mine?api-version=2021-05-01-preview"
    assert requests.put(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    event = sim.event_for(sim.write_requests()[-1])
    assert event["eventType"] == "Microsoft.Resources.ResourceWriteSuccess"
    data = event["data"]
    assert data["operationName"] == "Microsoft.Insights/diagnosticSettings/write"
    assert data["resourceUri"] == f"{cluster}/providers/Microsoft.Insights/diagnosticSettings/mine"
    assert data["claims"]["http://schemas.microsoft.com/identity/claims/objectidentifier"] == sim.principal_id
    assert data["claims"]["appid"] == sim.client_id
    assert data["authorization"]["evidence"]["principalId"] == sim.principal_id
    with pytest.raises(ValueError, match="no event"):
        sim.event_for(
            sim.arm_requests()[0]
            if not sim.arm_requests()[0].is_write
            else RecordedRequest("GET", "/x", {}, 200, None, {}, "arm")
        )


def _req(start: float, end: float) -> RecordedRequest:
    return RecordedRequest("GET", "/x", {}, 200, None, {}, "arm", received=start, answered=end)


def test_sequential_rounds_count_requests_that_waited_for_one_another() -> None:
    # two overlapping reads, then a write after both: 2 rounds
    assert sequential_rounds([_req(0.0, 1.0), _req(0.1, 1.1), _req(1.2, 2.0)]) == 2
    # three in a row
    assert sequential_rounds([_req(0.0, 1.0), _req(1.1, 2.0), _req(2.1, 3.0)]) == 3
    # a request still unanswered (dropped) does not count
    assert sequential_rounds([_req(0.0, 1.0), RecordedRequest("GET", "/x", {}, None, None, {}, "arm")]) == 1
    assert sequential_rounds([]) == 0
