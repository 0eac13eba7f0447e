"""The composition root's one recipe: which adapters a configuration and an environment give.

:func:`build_adapters` is used by the Function app (:mod:`remediation.app.runtime`) and by the
CLI (:mod:`remediation.cli.run`) alike: the ARM gateway, the Log Analytics query adapter (when
flow verification is on), and, when ``AzureWebJobsStorage`` is configured, the change ledger,
the state table and the sweep queue. Everything that uses them sees them through the protocols
below (and the engine's), never as Azure classes. The Azure modules are imported on first use,
so a command line that ends in a usage error never loads the SDKs.

:func:`reset_process_caches` forgets what the process keeps across runs (credentials and
tokens, gateways and their clients, the model of ARM's limits, the Logs adapters, what the
engine knows of categories and workspaces): tests call it so that each starts afresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

from remediation.config.values import Config
from remediation.core.changes import ChangeRecord, ChangeSink
from remediation.core.status import Observation, SubscriptionSweep
from remediation.engine.ports import ChangeHistory, Gateway, LogsGateway, StateStore
from remediation.kit.deadline import Deadline


class ChangeLedger(ChangeHistory, Protocol):
    """The durable record of every change the tool made (``GET /api/changes``); read as :class:`ChangeHistory`."""

    def append(self, record: ChangeRecord) -> None: ...


class ChainLedger(Protocol):
    """The tamper-evident ledger: a hash chain of every change record (``GET /api/changes?verify=true``)."""

    container: str
    retention_days: int

    def append(self, record: ChangeRecord) -> None: ...

    def verification_document(self) -> dict[str, Any]: ...


class StateTable(StateStore, Protocol):
    """Each cluster's latest observed outcome and each subscription's last sweep (``GET /api/status``)."""

    def observations(
        self, subscriptions: Sequence[str] = (), clusters: Sequence[str] = (), *, deadline: Deadline | None = None
    ) -> list[Observation]: ...

    def sweeps(self, *, deadline: Deadline | None = None) -> list[SubscriptionSweep]: ...

    def sweep(self, subscription_id: str, *, deadline: Deadline | None = None) -> SubscriptionSweep | None: ...


class SweepQueue(Protocol):
    """Where the timer's fan-out puts one message per subscription."""

    @property
    def name(self) -> str: ...

    def send(self, text: str, *, delay_seconds: int = 0, deadline: Deadline | None = None) -> str:
        """Put one message; with ``deadline``, its retries wait on that deadline and never past it."""
        ...


@dataclass(frozen=True, kw_only=True)
class Adapters:
    gateway: Gateway
    logs: LogsGateway | None = None  # the Log Analytics query adapter (None when flow verification is off)
    ledger: ChangeLedger | None = None
    chain: ChainLedger | None = None  # the tamper-evident ledger (append blobs), besides the table
    state: StateTable | None = None
    queue: SweepQueue | None = None

    @property
    def change_sinks(self) -> tuple[ChangeSink, ...]:
        """Where change records go besides the log: the ledger, when one is configured."""
        return tuple(sink.append for sink in (self.ledger, self.chain) if sink is not None)

    def parts(self) -> dict[str, Any]:
        """The adapters by field name (to build a structure that holds them too)."""
        return {f.name: getattr(self, f.name) for f in fields(Adapters)}


def build_adapters(config: Config, env: Mapping[str, str]) -> Adapters:
    """The adapters ``config`` and the storage settings in ``env`` call for; raises ConfigError."""
    from remediation.azure.gateway import ArmGateway
    from remediation.azure.ledger import TableLedger
    from remediation.azure.ledger_chain import AppendBlobLedger
    from remediation.azure.logs import LogsAdapter
    from remediation.azure.queue import SweepQueue as StorageQueue
    from remediation.azure.state import StateTable as StorageTable

    ledger = TableLedger.from_environment(env)
    state = StorageTable.from_environment(env)
    queue = StorageQueue.from_environment(env)
    return Adapters(
        gateway=ArmGateway.from_config(config),
        logs=LogsAdapter.from_config(config) if config.verify_flow else None,
        ledger=ledger,
        chain=AppendBlobLedger.from_environment(env),
        state=state,
        queue=queue,
    )


def reset_process_caches() -> None:
    """Forget everything the process keeps across runs: the next run builds it again."""
    from remediation.azure import clients, gateway, identity, logs
    from remediation.engine import knowledge

    clients.forget_pacer()
    gateway.forget_gateways()
    identity.forget_credentials()
    logs.forget_adapters()  # their clients hold a credential, and so a token
    knowledge.forget_all()
