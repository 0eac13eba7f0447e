"""Fixture plugin (named in tests/conftest.py): a fresh armsim ARM simulator per test, with the environment
the product reads pointing at it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from armsim import ArmSimulator

# Variables that would steer DefaultAzureCredential away from the simulator's identity endpoint.
_CREDENTIAL_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "AZURE_TOKEN_CREDENTIALS",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IMDS_ENDPOINT",
    "IDENTITY_SERVER_THUMBPRINT",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
)


@pytest.fixture
def sim_factory(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ArmSimulator]]:
    """``sim_factory(**ArmSimulator kwargs)``: start a simulator and point the environment at it."""
    started: list[ArmSimulator] = []

    def make(**kwargs: Any) -> ArmSimulator:
        for name in _CREDENTIAL_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        for name in list(os.environ):
            if name.startswith("AZUREML_"):
                monkeypatch.delenv(name, raising=False)
        # Timings scaled down: real ARM sends no Retry-After on long-running operations, and the SDK's
        # pollers would wait their default interval (30 s, the product's 1 s); a test can pass None. Real
        # workspace creations and table changes take seconds: here they end after ``lro_polls`` polls.
        kwargs.setdefault("lro_retry_after_ms", 10)
        kwargs.setdefault("workspace_creation_seconds", 0.0)
        kwargs.setdefault("table_change_seconds", 0.0)
        sim = ArmSimulator(**kwargs).start()
        started.append(sim)
        for name, value in sim.env().items():
            monkeypatch.setenv(name, value)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(sim_factory: Callable[..., ArmSimulator]) -> ArmSimulator:
    """A started ArmSimulator (page_size=50, lro_polls=1) with ``sim.env()`` applied."""
    return sim_factory()
