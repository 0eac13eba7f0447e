"""The timer's fan-out on the sweep queue and the per-subscription sweep, through the real azure.functions
model, the real azure-storage-queue client on Azurite and the ARM SDK against armsim."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from remediation.app.runtime import get_runtime
from remediation.app.sweep import SweepRequest, fan_out, spread_delays
from remediation.config.values import Mode
from remediation.errors import ConfigError, SweepFailedError, SweepQueueError
from remediation.kit.deadline import MIN_TRY_SECONDS
from tests.support.clock import FakeClock
from tests.support.constants import SUB_A, SUB_B
from tests.support.host import QueueHost, timer

Functions = dict[str, Callable[..., Any]]
SETTING = "aks-audit-remediation"


@pytest.fixture
def host(app_env: Any, functions: Functions, azurite: str, sweep_queue: str) -> QueueHost:
    return QueueHost(azurite, sweep_queue, functions)


def sweep_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The summary of each subscription's sweep."""
    return [r for r in caplog.records if getattr(r, "event", None) == "sweep.completed"]


# --- the timer ---------------------------------------------------------------------------------------


def test_timer_queues_one_message_per_subscription_and_reads_no_cluster(
    app_env: Any, functions: Functions, host: QueueHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = app_env
    sim.add_subscription(SUB_B, "dev")
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", f"{SUB_A},{SUB_B.upper()}")
    sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    before = datetime.now(UTC).replace(microsecond=0)
    functions["sweep"](timer())
    assert sim.arm_requests() == [], "the scope is configured: the timer makes no ARM request"
    messages = host.messages()
    assert sorted(m["subscription_id"] for m in messages) == sorted([SUB_A, SUB_B])
    (run_id,) = {m["run_id"] for m in messages}
    for message in messages:
        assert message["mode"] == "apply"
        assert message["version"] == 1
        assert datetime.fromisoformat(message["enqueued_at"].replace("Z", "+00:00")) >= before
        assert message["run_id"] == run_id and len(run_id) == 32


def test_timer_lists_subscriptions_when_no_scope_is_configured(
    app_env: Any, functions: Functions, host: QueueHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = app_env
    sim.add_subscription(SUB_B, "dev")
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", "")
    functions["sweep"](timer())
    assert sorted(m["subscription_id"] for m in host.messages()) == sorted([SUB_A, SUB_B])
    assert [r.path for r in sim.arm_requests()] == ["/subscriptions"], "one tenant-level list, nothing else"


def test_timer_spreads_messages_with_visibility_delays(
    app_env: Any, functions: Functions, host: QueueHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_env.add_subscription(SUB_B, "dev")
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", f"{SUB_A},{SUB_B}")
    monkeypatch.setenv("REMEDIATION_SWEEP_SPREAD_SECONDS", "600")
    functions["sweep"](timer())
    assert host.message_count() == 2
    assert [m["subscription_id"] for m in host.messages()] == [SUB_A], "the second is invisible for 300 s"


def test_spread_delays_are_even_and_bounded() -> None:
    assert spread_delays(0, 600) == ()
    assert spread_delays(1, 600) == (0,)
    assert spread_delays(4, 600) == (0, 150, 300, 450)
    assert spread_delays(3, 0) == (0, 0, 0)
    assert max(spread_delays(1000, 3600)) < 3600


@pytest.mark.parametrize("value", ["-1", "3601", "soon"])
def test_invalid_spread_is_a_configuration_error(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("REMEDIATION_SWEEP_SPREAD_SECONDS", value)
    with pytest.raises(ConfigError) as info:
        functions["sweep"](timer())
    assert info.value.variable == "REMEDIATION_SWEEP_SPREAD_SECONDS"


def test_invalid_queue_name_is_a_configuration_error(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_SWEEP_QUEUE", "Sweep_Queue")
    with pytest.raises(ConfigError) as info:
        functions["sweep"](timer())
    assert info.value.variable == "REMEDIATION_SWEEP_QUEUE"
    assert app_env.requests == []


def test_timer_that_cannot_list_subscriptions_fails(
    app_env: Any, functions: Functions, host: QueueHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", "")
    app_env.inject_fault(
        method="GET", path_contains="/subscriptions", status=403, times=None, code="AuthorizationFailed"
    )
    with pytest.raises(SweepFailedError, match="could not list subscriptions"):
        functions["sweep"](timer())
    assert host.messages() == []


def test_timer_without_storage_fails_clearly(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AzureWebJobsStorage")
    with pytest.raises(SweepQueueError, match="AzureWebJobsStorage"):
        functions["sweep"](timer())


@pytest.mark.parametrize(
    ("budget", "tries"),
    [(None, 4), ("6", 2)],
    ids=["every-retry-within-the-timer-budget", "no-retry-past-the-deadline"],
)
def test_timer_fails_when_the_queue_is_unreachable(
    app_env: Any,
    azurite: str,
    dead_port: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    budget: str | None,
    tries: int,
) -> None:
    dead = f"http://127.0.0.1:{dead_port}/devstoreaccount1"
    monkeypatch.setenv(
        "AzureWebJobsStorage",
        azurite.rsplit("QueueEndpoint=", 1)[0] + f"QueueEndpoint={dead};",
    )
    if budget is not None:
        monkeypatch.setenv("REMEDIATION_DEADLINE_SECONDS", budget)
    clock = FakeClock()  # the queue SDK's backoff (3, 5, 9 s, each +-1 s) waits on the timer's deadline
    with caplog.at_level(logging.ERROR), pytest.raises(SweepQueueError, match="1 of 1 subscription"):
        fan_out(replace(get_runtime(), clock=clock))
    assert any(getattr(r, "subscription_id", None) == SUB_A for r in caplog.records if r.levelno == logging.ERROR)
    assert len(clock.waits) == tries - 1, clock.waits
    assert all(2.0 <= wait <= 10.0 for wait in clock.waits), clock.waits
    if budget is not None:  # a 4-6 s second wait would leave less than MIN_TRY_SECONDS of the 6 s: not made
        assert sum(clock.waits) + MIN_TRY_SECONDS <= float(budget)


# --- the queue trigger: end to end ----------------------------------------------------------------------


def test_fan_out_then_sweep_remediates_records_and_logs(
    app_env: Any, functions: Functions, host: QueueHost, ledger: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sim = app_env
    open_id = sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    sim.add_cluster(SUB_A, "rg-apps", "aks-excluded", "westeurope", tags={"AKS-Audit-Remediation": "EXCLUDE"})
    sim.add_cluster(SUB_A, "rg-apps", "aks-busy", "westeurope", provisioning_state="Updating")
    functions["sweep"](timer())
    (message,) = host.messages()
    with caplog.at_level(logging.INFO):
        assert host.drain() == ["completed"]
    assert sim.get_setting(open_id, SETTING) is not None
    (summary,) = sweep_records(caplog)
    assert summary.subscription_id == SUB_A  # type: ignore[attr-defined]
    assert summary.run_id == message["run_id"]  # type: ignore[attr-defined]
    assert (summary.remediated, summary.excluded, summary.deferred, summary.clusters) == (1, 1, 1, 3)  # type: ignore[attr-defined]
    (change,) = ledger.list_changes()
    assert change["trigger"] == "queue" and change["run_id"] == message["run_id"]

    state = get_runtime().state
    assert state is not None
    last = state.sweep(SUB_A)
    assert last is not None and last.run_id == message["run_id"] and last.summary["clusters"] == 3

    sim.clear_requests()
    functions["sweep"](timer(past_due=True))
    assert host.drain() == ["completed"]
    assert sim.write_requests() == [], "the second sweep has nothing to do"


def test_sweep_honours_report_mode_of_the_message_and_of_the_configuration(
    app_env: Any, functions: Functions, host: QueueHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = app_env
    sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    host.put_raw(SweepRequest(subscription_id=SUB_A, run_id="r-report", mode=Mode.REPORT, enqueued_at=now).to_json())
    assert host.drain() == ["completed"]
    assert sim.write_requests() == [], "a report message never writes, whatever REMEDIATION_MODE says"

    monkeypatch.setenv("REMEDIATION_MODE", "report")
    from remediation.app.runtime import reset_runtime

    reset_runtime()
    later = (datetime.now(UTC) + timedelta(seconds=5)).isoformat(timespec="seconds").replace("+00:00", "Z")
    host.put_raw(SweepRequest(subscription_id=SUB_A, run_id="r-apply", mode=Mode.APPLY, enqueued_at=later).to_json())
    assert host.drain() == ["completed"]
    assert sim.write_requests() == [], "switching to report mode stops writes of messages already queued"


def test_superseded_message_makes_no_arm_request(
    app_env: Any, functions: Functions, host: QueueHost, caplog: pytest.LogCaptureFixture
) -> None:
    sim = app_env
    sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    old = (datetime.now(UTC) - timedelta(hours=2)).isoformat(timespec="seconds").replace("+00:00", "Z")
    functions["sweep"](timer())
    assert host.drain() == ["completed"]
    sim.clear_requests()
    host.put_raw(SweepRequest(subscription_id=SUB_A, run_id="r-old", mode=Mode.APPLY, enqueued_at=old).to_json())
    with caplog.at_level(logging.INFO):
        assert host.drain() == ["completed"]
    assert sim.arm_requests() == []
    assert any("superseded" in r.getMessage() for r in caplog.records)


def test_report_sweep_does_not_supersede_an_apply_message(app_env: Any, functions: Functions, host: QueueHost) -> None:
    sim = app_env
    open_id = sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    enqueued = (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="seconds").replace("+00:00", "Z")
    host.put_raw(
        SweepRequest(subscription_id=SUB_A, run_id="r-report", mode=Mode.REPORT, enqueued_at=enqueued).to_json()
    )
    assert host.drain() == ["completed"]
    host.put_raw(SweepRequest(subscription_id=SUB_A, run_id="r-apply", mode=Mode.APPLY, enqueued_at=enqueued).to_json())
    assert host.drain() == ["completed"]
    assert sim.get_setting(open_id, SETTING) is not None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"\xff\xfe not utf-8", "not JSON"),
        (b"sweep everything", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (
            json.dumps(
                {"subscription_id": "prod", "run_id": "r", "mode": "apply", "enqueued_at": "2026-01-01T00:00:00Z"}
            ).encode(),
            "not a subscription GUID",
        ),
        (
            json.dumps(
                {"subscription_id": SUB_A, "run_id": "r", "mode": "delete", "enqueued_at": "2026-01-01T00:00:00Z"}
            ).encode(),
            "mode 'delete'",
        ),
        (
            json.dumps({"subscription_id": SUB_A, "mode": "apply", "enqueued_at": "2026-01-01T00:00:00Z"}).encode(),
            "'run_id'",
        ),
        (
            json.dumps({"subscription_id": SUB_A, "run_id": "r", "mode": "apply", "enqueued_at": "yesterday"}).encode(),
            "enqueued_at",
        ),
        (json.dumps({"version": 2, "subscription_id": SUB_A}).encode(), "version"),
    ],
)
def test_malformed_message_is_logged_and_completed(
    app_env: Any, functions: Functions, host: QueueHost, caplog: pytest.LogCaptureFixture, body: bytes, problem: str
) -> None:
    host.put_raw(body)
    with caplog.at_level(logging.ERROR):
        assert host.drain() == ["completed"], "retrying cannot help"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("malformed sweep message" in m and problem in m for m in errors), errors
    assert app_env.arm_requests() == []


def test_message_for_a_subscription_out_of_scope_is_ignored(
    app_env: Any, functions: Functions, host: QueueHost, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    host.put_raw(SweepRequest(subscription_id=SUB_B, run_id="r", mode=Mode.APPLY, enqueued_at=now).to_json())
    with caplog.at_level(logging.WARNING):
        assert host.drain() == ["completed"]
    assert any("outside REMEDIATION_SUBSCRIPTION_IDS" in r.getMessage() for r in caplog.records)
    assert app_env.arm_requests() == []


def test_transient_failure_raises_and_the_retry_sweeps(
    app_env: Any, functions: Functions, host: QueueHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = app_env
    monkeypatch.setenv("REMEDIATION_DEADLINE_SECONDS", "3")  # the engine's own retries give up within 3 s
    open_id = sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    functions["sweep"](timer())
    # Every try of the first attempt's cluster list answers 503 (an outage that outlasts the SDK's retries).
    sim.inject_fault(method="GET", path_contains="managedClusters", status=503, retry_after=0, times=None)
    assert host.deliver() == "retry"
    assert isinstance(host.failures[-1], SweepFailedError)
    assert sim.get_setting(open_id, SETTING) is None
    sim.clear_faults()  # the outage is over when the host retries
    assert host.drain() == ["completed"]
    assert sim.get_setting(open_id, SETTING) is not None


def test_poison_after_max_dequeue_count_is_logged_with_the_subscription(
    app_env: Any, functions: Functions, host: QueueHost, caplog: pytest.LogCaptureFixture
) -> None:
    sim = app_env
    sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    sim.forbid_subscription(SUB_A)
    functions["sweep"](timer())
    (message,) = host.messages()
    assert host.drain() == ["retry", "retry", "poisoned"], "maxDequeueCount is 3"
    assert all(isinstance(f, SweepFailedError) for f in host.failures)
    assert host.messages() == []
    with caplog.at_level(logging.ERROR):
        assert host.deliver_poison() == "completed"
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "remediation.app.sweep"]
    assert record.subscription_id == SUB_A  # type: ignore[attr-defined]
    assert record.run_id == message["run_id"]  # type: ignore[attr-defined]
    assert SUB_A in record.getMessage() and "poison" in record.getMessage()


def test_malformed_poison_message_is_logged(
    app_env: Any, functions: Functions, host: QueueHost, caplog: pytest.LogCaptureFixture
) -> None:
    host.poison.create_queue()
    host.poison.send_message("bm90IGpzb24=")  # base64 of "not json"
    with caplog.at_level(logging.ERROR):
        assert host.deliver_poison() == "completed"
    assert any("poison sweep message" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


def test_invalid_configuration_raises_and_logs(
    app_env: Any,
    functions: Functions,
    host: QueueHost,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", "prod-subscription")
    with caplog.at_level(logging.ERROR), pytest.raises(ConfigError) as info:
        functions["sweep"](timer())
    assert info.value.variable == "REMEDIATION_SUBSCRIPTION_IDS"
    assert any("REMEDIATION_SUBSCRIPTION_IDS" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    host.put_raw(SweepRequest(subscription_id=SUB_A, run_id="r", mode=Mode.APPLY, enqueued_at=now).to_json())
    assert host.deliver() == "retry", "a message is kept until the configuration is fixed"
    assert isinstance(host.failures[-1], ConfigError)
    assert app_env.requests == []


def test_runtime_is_built_once_per_process(
    app_env: Any, functions: Functions, host: QueueHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_env.add_cluster(SUB_A, "rg-apps", "aks-a", "westeurope")
    functions["sweep"](timer())
    first = get_runtime()
    monkeypatch.setenv("REMEDIATION_MODE", "report")  # read once: a warm invocation does not re-read it
    assert host.drain() == ["completed"]
    assert get_runtime() is first
    assert first.config.mode.value == "apply"
    assert app_env.write_requests() != [], "still apply"


# --- the storage account, identity-based (as infra configures the app): no request is made here --------


@pytest.mark.parametrize(
    ("env", "queue_url", "table_url"),
    [
        (
            {"AzureWebJobsStorage__accountName": "stprod"},
            "https://stprod.queue.core.windows.net/remediation-sweep",
            "https://stprod.table.core.windows.net",
        ),
        (
            {"AzureWebJobsStorage__accountName": "stgov", "REMEDIATION_CLOUD": "AzureUSGovernment"},
            "https://stgov.queue.core.usgovcloudapi.net/remediation-sweep",
            "https://stgov.table.core.usgovcloudapi.net",
        ),
        (
            {
                "AzureWebJobsStorage__accountName": "stprod",
                "AzureWebJobsStorage__queueServiceUri": "https://stprod.queue.core.windows.net/",
                "AzureWebJobsStorage__tableServiceUri": "https://stprod.table.core.windows.net/",
                "REMEDIATION_SWEEP_QUEUE": "sweeps",
                "REMEDIATION_STATE_TABLE": "state",
            },
            "https://stprod.queue.core.windows.net/sweeps",
            "https://stprod.table.core.windows.net",
        ),
    ],
)
def test_identity_based_storage_endpoints(env: dict[str, str], queue_url: str, table_url: str) -> None:
    from remediation.azure.queue import SweepQueue
    from remediation.azure.state import StateTable

    queue = SweepQueue.from_environment(env)
    state = StateTable.from_environment(env)
    assert queue is not None and state is not None
    assert queue._client.url == queue_url
    assert state._table.url.startswith(table_url)
    assert type(queue._client.credential).__name__ == "DefaultAzureCredential"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"AzureWebJobsStorage__accountName": "Not_An_Account"}, "AzureWebJobsStorage__accountName"),
        ({"AzureWebJobsStorage__queueServiceUri": "stprod.queue"}, "AzureWebJobsStorage__queueServiceUri"),
        ({"AzureWebJobsStorage": "not a connection string"}, "AzureWebJobsStorage"),
        (
            {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "REMEDIATION_SWEEP_QUEUE": "x" * 57},
            "REMEDIATION_SWEEP_QUEUE",
        ),
    ],
)
def test_unusable_queue_settings_are_configuration_errors(env: dict[str, str], variable: str) -> None:
    from remediation.azure.queue import SweepQueue

    with pytest.raises(ConfigError) as info:
        SweepQueue.from_environment(env)
    assert info.value.variable == variable


def test_no_storage_means_no_queue_and_no_state() -> None:
    from remediation.azure.queue import SweepQueue
    from remediation.azure.state import StateTable

    assert SweepQueue.from_environment({}) is None
    assert StateTable.from_environment({}) is None
