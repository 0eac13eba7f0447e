"""sarif, junit and ocsf from the CLI on the demo estate (every status, exemption and baseline case),
each read back by an independent consumer (tests/consumers.py)."""

from __future__ import annotations

import io
import os

import pytest

from armsim.estate import build_demo_estate
from remediation.cli.main import main
from tests.support import consumers


def cli(*argv: str) -> tuple[int, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    environ = {**os.environ, "REMEDIATION_SUBSCRIPTION_IDS": ""}
    code = main(list(argv), env=environ, stdout=stdout, stderr=stderr)
    return code, stdout.getvalue()


@pytest.mark.parametrize("mode", ["report", "apply"])
def test_the_demo_estate_in_each_machine_format(sim, mode):
    estate = build_demo_estate(sim)

    code, sarif = cli(mode, "--format", "sarif")
    log = consumers.sarif(sarif)
    results = log["runs"][0]["results"]
    assert code in (1, 3)
    located = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].lower() for r in results}
    assert located <= {c.lower() for c in estate.clusters}
    assert any(r["ruleId"] == "psrule-Azure.AKS.AuditLogs" for r in results)
    assert any("suppressions" in r for r in results), "the excluded cluster"

    _, junit = cli("report", "--format", "junit")
    suites = list(consumers.junit(junit))
    clusters = log["runs"][0]["properties"]["summary"]["clusters"]
    assert len(suites) == 2 and sum(s.tests for s in suites) == clusters

    _, ocsf = cli("report", "--format", "ocsf")
    events = consumers.ocsf(ocsf)
    assert len(events) == clusters
    assert all(len(e["compliance"]["checks"]) == 6 for e in events)
