"""The sweep queue: the timer's fan-out puts one message per subscription on an Azure Storage queue.

The queue is ``REMEDIATION_SWEEP_QUEUE`` in the account ``AzureWebJobsStorage`` names (see
:mod:`remediation.azure.storage`); the queue-triggered function ``sweep_subscription`` consumes it.
Messages are base64-encoded text, as the Functions host's queue trigger expects by default
(``extensions.queues.messageEncoding`` is ``base64`` in ``host.json``). Each request has bounded
timeouts and at most 3 retries (about 3 + 5 + 9 s of backoff, each +-1 s); a call given the run's
deadline (``send(..., deadline=...)``) waits between tries on that deadline's clock and makes no
retry whose wait would not leave :data:`~remediation.kit.deadline.MIN_TRY_SECONDS` before it
(:func:`bounded_queue_retry`, the rules of :mod:`remediation.azure.policies`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

from azure.core.pipeline import PipelineRequest

from remediation.azure.policies import carry_deadline, per_call, retry_fits, retry_sleep
from remediation.azure.storage import (
    CONNECTION_TIMEOUT,
    READ_TIMEOUT,
    StorageAccount,
    client_or_config_error,
    default_of,
    storage_account,
)
from remediation.errors import ConfigError, SweepQueueError
from remediation.kit.deadline import Deadline

logger = logging.getLogger(__name__)

QUEUE_SETTING = "REMEDIATION_SWEEP_QUEUE"
DEFAULT_QUEUE = default_of(QUEUE_SETTING)
# Queue names: 3..63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit.
# The host adds "-poison" for the poison queue, so 56 characters at most leave room for it.
_QUEUE_NAME = re.compile(r"^(?=.{3,56}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")
# Messages live at most a day: an older sweep request is superseded by the next timer run anyway.
MESSAGE_TTL_SECONDS = 24 * 3600


@functools.cache
def bounded_queue_retry() -> type[Any]:
    """``BoundedQueueRetry``: the queue SDK's exponential retry, bounded by the call's deadline (the
    per-call keyword ``deadline=CallDeadline(...)``) as :class:`~remediation.azure.policies.BoundedRetryPolicy`
    bounds ARM's, with the same :func:`~remediation.azure.policies.retry_fits` and
    :func:`~remediation.azure.policies.retry_sleep`; without a deadline it is the SDK's policy.
    Made on first use: the queue SDK is the Function app's extra, which the CLI does not install."""
    from azure.storage.queue import ExponentialRetry

    class BoundedQueueRetry(ExponentialRetry):
        def configure_retries(self, request: PipelineRequest[Any]) -> dict[str, Any]:
            settings: dict[str, Any] = super().configure_retries(request)
            settings["call"] = carry_deadline(request)
            return settings

        def increment(self, settings: dict[str, Any], request: Any, response: Any = None, error: Any = None) -> bool:
            if not super().increment(settings, request, response=response, error=error):
                return False
            wait = self.get_backoff_time(settings)  # jittered: drawn once, and slept as drawn
            if not retry_fits(settings["call"], wait):
                return False
            settings["next_wait"] = wait
            return True

        def sleep(self, settings: dict[str, Any], transport: Any) -> None:
            retry_sleep(settings["call"], float(settings.pop("next_wait", 0.0)), transport)

    return BoundedQueueRetry


def _client_options() -> dict[str, Any]:
    return {
        "retry_policy": bounded_queue_retry()(
            retry_total=3, initial_backoff=1, increment_base=2, random_jitter_range=1
        ),
        "connection_timeout": CONNECTION_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
    }


def queue_name(env: Mapping[str, str]) -> str:
    name = (env.get(QUEUE_SETTING) or "").strip() or DEFAULT_QUEUE
    if not _QUEUE_NAME.match(name):
        raise ConfigError(
            QUEUE_SETTING,
            f"{name!r} is not a queue name (3..56 lower-case letters, digits and single hyphens; "
            "the host appends -poison)",
        )
    return name


def _queue_client(account: StorageAccount, name: str) -> Any:
    from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

    codec: dict[str, Any] = {
        "message_encode_policy": TextBase64EncodePolicy(),
        "message_decode_policy": TextBase64DecodePolicy(),
    }
    if account.connection_string is not None:
        connection = account.connection_string
        return client_or_config_error(
            account.setting,
            lambda: QueueClient.from_connection_string(connection, name, **codec, **_client_options()),
        )
    endpoint = account.endpoint
    assert endpoint is not None
    return client_or_config_error(
        account.setting,
        lambda: QueueClient(endpoint, name, credential=account.credential(), **codec, **_client_options()),
    )


class SweepQueue:
    """Puts sweep messages on the queue (creating it on first use when it does not exist)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.name: str = client.queue_name
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> SweepQueue | None:
        """The queue the environment configures, or None when ``AzureWebJobsStorage`` is not configured."""
        name = queue_name(env)
        account = storage_account(env, "queue")
        return None if account is None else cls(_queue_client(account, name))

    def _ensure_queue(self, bound: Mapping[str, Any]) -> None:
        from azure.core.exceptions import ResourceExistsError

        if self._ready:
            return
        with self._lock:
            if not self._ready:
                with contextlib.suppress(ResourceExistsError):  # created meanwhile (or by infra)
                    self._client.create_queue(**bound)
                self._ready = True

    def send(self, text: str, *, delay_seconds: int = 0, deadline: Deadline | None = None) -> str:
        """Put one message (``text``, base64-encoded on the wire) visible after ``delay_seconds``; its ID.

        With ``deadline``, retries wait on its clock and stop when the next would not fit."""
        from azure.core.exceptions import AzureError

        try:
            self._ensure_queue(per_call(deadline))
            sent = self._client.send_message(
                text, visibility_timeout=delay_seconds or None, time_to_live=MESSAGE_TTL_SECONDS, **per_call(deadline)
            )
        except AzureError as exc:
            raise SweepQueueError(f"could not put a message on queue {self.name}: {exc}") from exc
        message_id: str = sent.id
        return message_id

    def close(self) -> None:
        self._client.close()
