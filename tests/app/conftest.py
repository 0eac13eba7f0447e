"""Fixtures of the Function app's tests: armsim and Azurite behind the app's settings, the indexed
functions, and the app's ledger. (``sim`` comes from tests/support/simulator.py, ``azurite`` and the
fresh table and queue names from tests/support/azurite.py.)"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from remediation.app.runtime import reset_runtime
from remediation.azure.ledger import TableLedger
from tests.support.constants import LOCATION, SUB_A
from tests.support.host import indexed


@pytest.fixture
def app_env(
    sim: Any, azurite: str, ledger_table: str, state_table: str, sweep_queue: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """armsim with one subscription (its regional workspace already there), the ledger, state table
    and sweep queue on Azurite, and the app settings in the environment; the app's runtime is rebuilt
    for the test."""
    sim.add_subscription(SUB_A, "prod")
    sim.add_workspace(SUB_A, "rg-aks-audit-logs", f"law-aks-audit-{LOCATION}", LOCATION)
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", SUB_A)
    monkeypatch.setenv("REMEDIATION_MODE", "apply")
    monkeypatch.setenv("REMEDIATION_SCHEDULE", "0 0 * * * *")
    monkeypatch.setenv("AzureWebJobsStorage", azurite)
    monkeypatch.setenv("REMEDIATION_LEDGER_TABLE", ledger_table)
    monkeypatch.setenv("REMEDIATION_LEDGER_CONTAINER", "ledger-" + ledger_table.lower())
    monkeypatch.setenv("REMEDIATION_STATE_TABLE", state_table)
    monkeypatch.setenv("REMEDIATION_SWEEP_QUEUE", sweep_queue)
    monkeypatch.delenv("REMEDIATION_SWEEP_SPREAD_SECONDS", raising=False)
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    reset_runtime()
    yield sim
    reset_runtime()


@pytest.fixture(scope="session")
def functions() -> dict[str, Callable[..., Any]]:
    """The app's functions by name: the user code behind each decorated function."""
    return {fn.get_function_name(): fn.get_user_function() for fn in indexed()}


@pytest.fixture
def ledger(app_env: Any) -> TableLedger:
    built = TableLedger.from_environment(dict(os.environ))
    assert built is not None
    return built
