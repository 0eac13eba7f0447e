"""Helpers for integration tests: the real engine and SDK clients against armsim."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

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

SUB_A = "aaaaaaaa-1111-4111-8111-000000000001"
SUB_B = "bbbbbbbb-2222-4222-8222-000000000002"
USER_RG = "rg-user-logs"


def ws_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}"


def region_ws(sub: str, location: str) -> str:
    return ws_id(sub, "rg-aks-audit-logs", f"law-aks-audit-{location}")


def entries(*categories: str, enabled: bool = True) -> list[dict[str, Any]]:
    return [{"category": c, "enabled": enabled} for c in categories]


REQUIRED = ["kube-audit", "kube-audit-admin", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]


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


def by_name(document: ReportDocument) -> dict[str, Any]:
    return {c["name"]: c for c in document["clusters"]}
