"""sarif, junit and ocsf from the CLI on the demo estate (every status, exemption and baseline case),
each read back by an independent consumer (tests/consumers.py)."""

from __future__ import annotations

import pytest

from armsim.estate import build_demo_estate
from tests.support import consumers
from tests.support.cli import cli

# The demo estate spans several subscriptions: every one visible is in scope.
EVERY_SUBSCRIPTION = {"REMEDIATION_SUBSCRIPTION_IDS": ""}


@pytest.mark.parametrize("mode", ["report", "apply"])
def test_the_demo_estate_in_each_machine_format(sim, mode):
    estate = build_demo_estate(sim)

    code, sarif, _ = cli(mode, "--format", "sarif", **EVERY_SUBSCRIPTION)
    log = consumers.sarif(sarif)
    results = log["runs"][0]["results"]
    assert code in (1, 3)
    located = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].lower() for r in results}
    assert located <= {c.lower() for c in estate.clusters}
    assert any(r["ruleId"] == "psrule-Azure.AKS.AuditLogs" for r in results)
    assert any("suppressions" in r for r in results), "the excluded cluster"

    _, junit, _ = cli("report", "--format", "junit", **EVERY_SUBSCRIPTION)
    suites = list(consumers.junit(junit))
    clusters = log["runs"][0]["properties"]["summary"]["clusters"]
    assert len(suites) == 2 and sum(s.tests for s in suites) == clusters

    _, ocsf, _ = cli("report", "--format", "ocsf", **EVERY_SUBSCRIPTION)
    events = consumers.ocsf(ocsf)
    assert len(events) == clusters
    assert all(len(e["compliance"]["checks"]) == 6 for e in events)
