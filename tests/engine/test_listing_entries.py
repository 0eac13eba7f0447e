"""One bad entry in an ARM listing costs only itself: a cluster listing with an entry whose ID is not a
cluster's (a resource group with a space, hostile text) still has its valid clusters checked and
remediated, and the entry is reported failed with ``invalid-resource-id``, escaped, never written to;
a settings listing with a setting that is not the cluster's fails that cluster, not the subscription.
Through the real SDK clients against armsim, whose answers ``rewrite`` makes hostile."""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from armsim import ArmSimulator
from remediation.cli.exit_codes import EXIT_FAILED
from tests.support.builders import by_name, entries
from tests.support.cli import cli
from tests.support.constants import REQUIRED, SUB_A

SETTING = "aks-audit-remediation"
CLUSTERS = f"/subscriptions/{SUB_A}/resourceGroups/rg-apps/providers/Microsoft.ContainerService/managedClusters"
# A resource group with a space (not a valid name), and a name with a newline, an ANSI escape and a bidi override.
SPACED_RG = f"/subscriptions/{SUB_A}/resourceGroups/rg bad/providers/Microsoft.ContainerService/managedClusters/aks-x"
HOSTILE_NAME = "aks-evil\n\x1b[31mERROR forged\u202egnp.exe"
HOSTILE = f"{CLUSTERS}/{HOSTILE_NAME}"
RAW = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def extra_clusters(sim: ArmSimulator, template: str, *ids: str) -> Callable[[Any, str], Any]:
    """A rewrite of the subscription's cluster listing that appends entries shaped like ``template``
    but with each of ``ids`` as ID (and its last segment as name)."""
    answer = sim.get_cluster(template)
    assert answer is not None

    def rewrite(response: Any, url: str) -> Any:
        if response.status == 200 and urlsplit(url).path.lower().endswith("/managedclusters"):
            for rid in ids:
                entry = copy.deepcopy(answer)
                entry["id"], entry["name"] = rid, rid.rsplit("/", 1)[-1]
                response.body["value"].append(entry)
        return response

    return rewrite


@pytest.fixture
def listing(estate: ArmSimulator) -> tuple[ArmSimulator, list[str]]:
    """Two valid clusters without settings, and a listing that also holds two entries the tool cannot use."""
    valid = [estate.add_cluster(SUB_A, "rg-apps", name, "eastus") for name in ("aks-a", "aks-b")]
    rewrite = extra_clusters(estate, valid[0], SPACED_RG, HOSTILE)
    estate.inject_fault("GET", "managedClusters", status=None, times=None, rewrite=rewrite)
    return estate, valid


def assert_rejected(document: dict[str, Any]) -> None:
    bad = [c for c in document["clusters"] if c["reason"] == "invalid-resource-id"]
    assert sorted(c["id"] for c in bad) == sorted(
        [SPACED_RG, HOSTILE.replace("\n", "\\n").replace("\x1b", "\\x1b").replace("\u202e", "\\u202e")]
    )
    for doc in bad:
        assert doc["status"] == "failed" and doc["subscription_id"] == SUB_A
        assert "portal_url" not in doc
        assert not RAW.search(json.dumps(doc, ensure_ascii=False)), "every text of the entry is escaped"
        assert "the subscription's other clusters are checked" in (doc["explanation"] or "")
    assert not any(e["scope"] == f"/subscriptions/{SUB_A}" for e in document["errors"]), "the listing did not fail"
    assert document["summary"]["unreadable_subscriptions"] == 0


def test_a_bad_entry_in_the_cluster_listing_costs_only_itself_in_report_mode(listing, sweep) -> None:
    sim, _valid = listing

    document = sweep("report")

    clusters = by_name(document)
    assert clusters["aks-a"]["status"] == clusters["aks-b"]["status"] == "non_compliant"
    assert document["summary"]["clusters"] == 4 and document["summary"]["failed"] == 2
    assert_rejected(document)
    assert sim.write_requests() == []


def test_a_bad_entry_in_the_cluster_listing_costs_only_itself_in_apply_mode(
    listing, caplog: pytest.LogCaptureFixture
) -> None:
    sim, valid = listing

    with caplog.at_level(logging.INFO):
        code, out, err = cli("apply", "--format", "json")

    document = json.loads(out)
    clusters = by_name(document)
    assert clusters["aks-a"]["status"] == clusters["aks-b"]["status"] == "remediated"
    assert all(sim.get_setting(cid, SETTING) is not None for cid in valid)
    assert_rejected(document)
    written = [r.path for r in sim.write_requests()]
    assert not any("aks-x" in p or "aks-evil" in p for p in written), "nothing is written to a rejected entry"
    assert code == EXIT_FAILED, "a failed entry makes the run's exit code say so, as a failed cluster does"
    assert not RAW.search(err.replace("\n", ""))
    warnings = [r.getMessage() for r in caplog.records if "cluster listing of subscription" in r.getMessage()]
    assert len(warnings) == 2 and not any(RAW.search(m) for m in warnings)


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "html"])
def test_a_rejected_entry_is_escaped_in_every_format(listing, fmt: str) -> None:
    code, out, _ = cli("report", "--format", fmt)

    assert code == EXIT_FAILED
    assert "aks-evil" in out
    assert "\x1b" not in out and "\u202e" not in out


def test_a_setting_that_is_not_the_clusters_fails_that_cluster_not_the_subscription(
    estate: ArmSimulator, sweep, caplog: pytest.LogCaptureFixture
) -> None:
    sim = estate
    bad, good = (sim.add_cluster(SUB_A, "rg-apps", name, "eastus") for name in ("aks-a", "aks-b"))
    sim.put_setting(bad, "audit", {"workspaceId": None, "logs": entries(*REQUIRED)})
    path = f"{bad}/providers/Microsoft.Insights/diagnosticSettings"

    def foreign_setting(response: Any, url: str) -> Any:
        if response.status == 200 and urlsplit(url).path.lower() == path.lower():
            entry = copy.deepcopy(response.body["value"][0])
            entry["name"] = "x\n\x1b[2J\u202e"
            entry["id"] = f"{good}/providers/Microsoft.Insights/diagnosticSettings/{entry['name']}"
            response.body["value"].append(entry)
        return response

    sim.inject_fault(
        "GET", "aks-a/providers/Microsoft.Insights/diagnosticSettings", status=None, times=None, rewrite=foreign_setting
    )

    with caplog.at_level(logging.INFO):
        document = sweep("apply")

    clusters = by_name(document)
    assert clusters["aks-b"]["status"] == "remediated"
    assert (clusters["aks-a"]["status"], clusters["aks-a"]["reason"]) == ("failed", "invalid-resource-id")
    assert "portal_url" in clusters["aks-a"], "the cluster itself is a valid one"
    assert (
        sim.get_setting(bad, SETTING) is None
        and [r for r in sim.write_requests() if "managedclusters/aks-a/" in r.path.lower()] == []
    )
    assert not RAW.search(json.dumps(document, ensure_ascii=False))
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("remediation")]
    assert [m for m in ours if RAW.search(m)] == []
    (error,) = [e for e in document["errors"] if e["code"] == "invalid-resource-id"]
    assert error["scope"].lower() == bad.lower() and "is not a diagnostic setting of" in error["message"]
