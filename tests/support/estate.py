"""Fixture plugin (named in tests/conftest.py): the real engine and SDK clients against armsim.

``estate`` is armsim with SUB_A and the user's workspace; ``configure`` loads a Config from the
environment the simulator set; ``sweep`` runs the engine on it as the CLI would."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from remediation.azure.gateway import ArmGateway
from remediation.config.parse import load_config
from remediation.config.values import Config, Mode
from remediation.core.model import Trigger
from remediation.core.report import ReportDocument
from remediation.engine.sweep import run
from remediation.kit.clock import Clock
from remediation.kit.deadline import Deadline
from tests.support.clock import FakeClock
from tests.support.constants import SUB_A, USER_RG


@pytest.fixture
def estate(sim):
    sim.add_subscription(SUB_A, "prod")
    sim.add_workspace(SUB_A, USER_RG, "law-user", "eastus")
    return sim


@pytest.fixture
def configure(sim) -> Callable[..., Config]:
    def make(**settings: str) -> Config:
        env = dict(os.environ)
        env.setdefault("REMEDIATION_SUBSCRIPTION_IDS", SUB_A)
        env.update(settings)
        return load_config(env)

    return make


@pytest.fixture
def sweep(configure) -> Callable[..., ReportDocument]:
    """``sweep(mode, **settings)``: a CLI run, its deadline on a fake clock (tests.support.clock: its waits
    take no real time) unless ``clock=`` says otherwise (``SYSTEM_CLOCK`` for a hung socket's real timeout)."""
    fake = FakeClock()

    def go(
        mode: str = "apply", *, subscriptions=(), clusters=(), sinks=(), clock: Clock = fake, **settings: str
    ) -> ReportDocument:
        config = configure(**settings)
        return run(
            config,
            ArmGateway.from_config(config),
            mode=Mode(mode),
            trigger=Trigger.CLI,
            subscriptions=subscriptions,
            clusters=clusters,
            change_sinks=sinks,
            deadline=Deadline.for_trigger(Trigger.CLI.value, config.deadline_seconds, clock=clock),
        )

    return go
