"""How the run's deadline bounds every SDK request: the azure-core way, in the request's context.

Each SDK call of the gateway (and of the Logs adapter) passes one per-call keyword,
``deadline=CallDeadline(...)``. azure-core puts per-call keywords in
``PipelineRequest.context.options``; :class:`BoundedRetryPolicy` takes it from there into
``request.context[DEADLINE_KEY]`` (for itself and for the policies behind it: pacing, on every
attempt) and, when it stops retrying because the next wait would not fit, says so on the same
:class:`CallDeadline` (``stopped_for_time``), which the caller reads after the call. Nothing
travels in a thread-local, and a long-running operation's polls carry the same keyword
(:class:`BoundedPolling`).

- each request has short, explicit connection and read timeouts, clipped to what is left;
- the retry policy honours ``Retry-After`` up to :data:`RETRY_AFTER_CAP` and gives up, with the
  last answer, when the next wait plus :data:`~remediation.kit.deadline.MIN_TRY_SECONDS` would not fit;
- a long-running operation is polled only until the deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy
from azure.mgmt.core.polling.arm_polling import ARMPolling

from remediation.kit.deadline import MIN_TRY_SECONDS, Deadline, DeadlineExceeded

logger = logging.getLogger(__name__)

# Per request: short, explicit socket timeouts (clipped to the run's budget).
CONNECTION_TIMEOUT = 5.0
READ_TIMEOUT = 20.0
# The SDK's per-request retries: at most 4 tries; backoff 0.5, 1, 2 s (at most 8 s); a
# server's Retry-After is honoured up to RETRY_AFTER_CAP, and only while the budget allows.
RETRY_TOTAL = 3
RETRY_BACKOFF_FACTOR = 0.5
RETRY_BACKOFF_MAX = 8.0
RETRY_AFTER_CAP = 10.0
# Long-running operations: polled every LRO_POLL_INTERVAL s unless ARM says otherwise.
LRO_POLL_INTERVAL = 1.0
SDK_OPTIONS: Mapping[str, Any] = {"connection_timeout": CONNECTION_TIMEOUT, "read_timeout": READ_TIMEOUT}

# Where the call's deadline sits in the pipeline context once the retry policy has taken it
# from the per-call options (the options left over go to the transport, which knows no deadline).
DEADLINE_KEY = "remediation.kit.deadline"


@dataclass
class CallDeadline:
    """The run's deadline as one SDK call carries it (per-call keyword ``deadline``), and what the
    pipeline reports back: ``stopped_for_time`` when a retry was not started for lack of time.

    ``pages`` are the URLs the call has read (a listing's pages: see
    :mod:`remediation.azure.endpoints`); a long-running operation's polls carry a ``polling``
    copy, whose status URL is read again and again by design."""

    deadline: Deadline
    stopped_for_time: bool = False
    polling: bool = False
    pages: set[str] = field(default_factory=set)


def call_deadline(request: PipelineRequest[Any] | PipelineResponse[Any, Any]) -> CallDeadline | None:
    """The call's deadline, from the request's context (None for a call that carries none)."""
    found = request.context.get(DEADLINE_KEY)
    return found if isinstance(found, CallDeadline) else None


def per_call(deadline: Deadline | None) -> dict[str, Any]:
    """The per-call keyword that bounds one SDK call (every request and retry of it) by ``deadline``:
    ``{"deadline": CallDeadline(deadline)}``, or none without a deadline."""
    return {} if deadline is None else {"deadline": CallDeadline(deadline)}


def carry_deadline(request: PipelineRequest[Any]) -> CallDeadline | None:
    """Move the per-call keyword ``deadline`` from the options into the request's context (where
    every policy behind the retry policy reads it, and the transport never sees it); the call's deadline."""
    carried = request.context.options.pop("deadline", None)
    if not isinstance(carried, CallDeadline):
        return None
    request.context[DEADLINE_KEY] = carried
    return carried


def retry_fits(call: CallDeadline | None, wait: float) -> bool:
    """Whether a retry after ``wait`` s still leaves :data:`MIN_TRY_SECONDS` for the try; when it
    does not, the call is marked ``stopped_for_time`` and the retry is not made."""
    if call is not None and not call.deadline.can_wait(wait + MIN_TRY_SECONDS):
        call.stopped_for_time = True
        return False
    return True


def retry_sleep(call: CallDeadline | None, wait: float, transport: Any) -> None:
    """The wait before a retry: on the call's deadline (its clock, never past it), or the transport's
    sleep for a call that carries no deadline."""
    if call is not None:
        call.deadline.sleep(wait)
    elif wait > 0:
        transport.sleep(wait)


def new_retry_policy() -> BoundedRetryPolicy:
    """The retry policy of every SDK client (ARM and Log Analytics)."""
    return BoundedRetryPolicy(
        retry_total=RETRY_TOTAL, retry_backoff_factor=RETRY_BACKOFF_FACTOR, retry_backoff_max=RETRY_BACKOFF_MAX
    )


class BoundedRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
    """The SDK's retry policy, bounded by the call's deadline (the per-call keyword ``deadline``).

    ``Retry-After`` is honoured up to :data:`RETRY_AFTER_CAP`; when the next wait plus a try
    would not fit in what is left, it stops, marks the call ``stopped_for_time`` and the caller
    gets the last answer (or error). Each try's connection and read timeouts are clipped to the time left.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.retry_after_cap = float(kwargs.pop("retry_after_cap", RETRY_AFTER_CAP))
        # A client's own socket timeouts (a storage client's) are the caps; ARM's are the module's.
        self.connection_timeout = float(kwargs.get("connection_timeout") or CONNECTION_TIMEOUT)
        self.read_timeout = float(kwargs.get("read_timeout") or READ_TIMEOUT)
        super().__init__(**kwargs)

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        carried = carry_deadline(request)
        if carried is not None:
            request.context.options["timeout"] = max(carried.deadline.remaining(), 0.001)
        response: PipelineResponse[Any, Any] = super().send(request)
        return response

    def _configure_timeout(self, request: Any, absolute_timeout: float, is_response_error: bool) -> None:
        super()._configure_timeout(request, absolute_timeout, is_response_error)
        options = request.context.options
        options["connection_timeout"] = min(
            options.get("connection_timeout") or self.connection_timeout, absolute_timeout
        )
        options["read_timeout"] = min(options.get("read_timeout") or self.read_timeout, absolute_timeout)

    def _next_wait(self, settings: dict[str, Any], response: Any) -> float:
        if isinstance(response, PipelineResponse):
            retry_after = self.get_retry_after(response)
            if retry_after is not None:
                return min(float(retry_after), self.retry_after_cap)
        return float(self.get_backoff_time(settings))

    def increment(self, settings: dict[str, Any], response: Any = None, error: Any = None) -> bool:
        if not super().increment(settings, response=response, error=error):
            return False
        wait = self._next_wait(settings, response)
        # azure-core hands over the response, or the request when there is none: both carry the context.
        call = call_deadline(response) if isinstance(response, (PipelineRequest, PipelineResponse)) else None
        if not retry_fits(call, wait):
            return False
        settings["next_wait"] = wait
        settings["call"] = call
        return True

    def sleep(self, settings: dict[str, Any], transport: Any, response: Any = None) -> None:
        retry_sleep(settings.get("call"), float(settings.pop("next_wait", 0.0)), transport)


class BoundedPolling(ARMPolling):
    """ARM long-running-operation polling that never waits past the call's deadline (each status
    request carries the same per-call keyword)."""

    def __init__(self, call: CallDeadline, interval: float = LRO_POLL_INTERVAL) -> None:
        polls = CallDeadline(call.deadline, polling=True)
        super().__init__(interval, deadline=polls)
        self._call = polls

    def _delay(self) -> None:
        deadline = self._call.deadline
        wait = deadline.wait_time(self._extract_delay(), cap=RETRY_AFTER_CAP)
        if not deadline.can_wait(wait + MIN_TRY_SECONDS):
            raise DeadlineExceeded("long-running operation still in progress")
        deadline.sleep(wait)


def log_rate_limits(response: PipelineResponse[Any, Any]) -> None:
    """Debug log of ARM's ``x-ms-ratelimit-remaining-*`` headers (the clients' raw response hook)."""
    headers = response.http_response.headers
    remaining = {k: v for k, v in headers.items() if k.lower().startswith("x-ms-ratelimit-remaining")}
    if remaining:
        logger.debug("ARM rate limits remaining: %s", remaining)


def status_hook(into: list[int]) -> Callable[[PipelineResponse[Any, Any]], None]:
    """A raw response hook that records each answer's HTTP status in ``into`` (and logs the rate limits)."""

    def hook(response: PipelineResponse[Any, Any]) -> None:
        into.append(response.http_response.status_code)
        log_rate_limits(response)

    return hook
