"""The timer's sweep of a subscription whose cluster listing holds an entry the tool cannot use: the
valid clusters are remediated and recorded, the entry is counted failed in the subscription's sweep
(not stored as a cluster: it has no key the state table could hold), and the message completes
instead of being retried until it is poisoned. Through the real azure.functions model, Azurite and
the ARM SDK against armsim."""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from remediation.app.runtime import get_runtime
from remediation.ids import id_key
from tests.support.constants import SUB_A
from tests.support.host import QueueHost, timer

Functions = dict[str, Callable[..., Any]]
SETTING = "aks-audit-remediation"
RAW = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def test_a_bad_listing_entry_on_the_queue_path_costs_only_itself(
    app_env: Any, functions: Functions, azurite: str, sweep_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    sim = app_env
    host = QueueHost(azurite, sweep_queue, functions)
    valid = sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    answer = sim.get_cluster(valid)
    bad_id = f"/subscriptions/{SUB_A}/resourceGroups/rg apps/providers/Microsoft.ContainerService/managedClusters/aks\n\u202ex"

    def rewrite(response: Any, url: str) -> Any:
        if response.status == 200 and urlsplit(url).path.lower().endswith("/managedclusters"):
            entry = copy.deepcopy(answer)
            entry["id"], entry["name"] = bad_id, "aks\n\u202ex"
            response.body["value"].append(entry)
        return response

    sim.inject_fault("GET", "managedClusters", status=None, times=None, rewrite=rewrite)
    functions["sweep"](timer())

    with caplog.at_level(logging.INFO):
        assert host.drain() == ["completed"], "before: could read nothing (InvalidResponse), retried, then poisoned"

    assert sim.get_setting(valid, SETTING) is not None
    assert [r.path for r in sim.write_requests() if "aks\n" in r.path or "rg apps" in r.path] == []
    state = get_runtime().state
    assert state is not None
    last = state.sweep(SUB_A)
    assert last is not None and not last.listing_failed
    assert (last.summary["clusters"], last.summary["remediated"], last.summary["failed"]) == (2, 1, 1)
    assert [id_key(c) for c, _, _ in state.stored_clusters(SUB_A)] == [id_key(valid)]
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("remediation")]
    assert any("cluster listing of subscription" in m for m in ours)
    assert [m for m in ours if RAW.search(m)] == []
