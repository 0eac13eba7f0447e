"""Flow verdicts when the Activity Log cannot be read: our own change ledger (Azure Tables, Azurite) fills in
for our setting's writes, and the verdict's reason says so (issue 15 B)."""

from __future__ import annotations

import io
import json
from typing import Any

from remediation.cli.main import main
from tests.support.constants import SUB_A


def _report() -> dict[str, Any]:
    stdout, stderr = io.StringIO(), io.StringIO()
    main(["report", "--format", "json", "--no-progress"], stdout=stdout, stderr=stderr)
    return {c["name"]: c for c in json.loads(stdout.getvalue())["clusters"]}


def test_our_ledger_fills_in_for_an_unreadable_activity_log(app_env: Any) -> None:
    sim = app_env
    sim.add_cluster(SUB_A, "rg-apps", "aks-ours", "westeurope")
    theirs = sim.add_cluster(SUB_A, "rg-apps", "aks-theirs", "westeurope")
    workspace = sim.add_workspace(SUB_A, "rg-team", "law-team", "westeurope")
    every = ["kube-audit", "kube-audit-admin", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
    sim.put_setting(
        theirs, "team", {"workspaceId": workspace, "logs": [{"category": c, "enabled": True} for c in every]}
    )
    stdout, stderr = io.StringIO(), io.StringIO()
    main(["apply", "--format", "json", "--no-progress"], stdout=stdout, stderr=stderr)  # 1: theirs is silent
    assert {c["name"]: c["status"] for c in json.loads(stdout.getvalue())["clusters"]}["aks-ours"] == "remediated"
    # without Microsoft.Insights/eventtypes/values/read nothing in ARM tells when a setting last changed
    sim.forbid_action("Microsoft.Insights/eventtypes/values/read", f"/subscriptions/{SUB_A}")

    clusters = _report()

    # our setting, written minutes ago by the apply: the ledger says so
    assert (clusters["aks-ours"]["flow"]["verdict"], clusters["aks-ours"]["flow"]["reason"]) == (
        "pending",
        "last-write-from-ledger",
    )
    # someone else's: the ledger knows nothing of it, so no finding on that account alone
    assert (clusters["aks-theirs"]["flow"]["verdict"], clusters["aks-theirs"]["flow"]["reason"]) == (
        "unknown",
        "last-write-unknown",
    )
