"""The Azure Function app (Python v2 programming model): thin adapters over ``remediation``.

- ``sweep``: timer (``%REMEDIATION_SCHEDULE%``): one message per subscription in scope on the sweep queue.
- ``sweep_subscription``: queue (``%REMEDIATION_SWEEP_QUEUE%``): reconcile one subscription in ``REMEDIATION_MODE``.
- ``sweep_poison``: queue (``%REMEDIATION_SWEEP_QUEUE%-poison``): a sweep the host gave up on, logged at ERROR.
- ``on_resource_event``: Event Grid (subscription system topic): reconcile the cluster an event names.
- ``report``: ``GET /api/report``, a dry run rendered as json, markdown, html or csv.
- ``status``: ``GET /api/status``, the estate as last observed (state table, no ARM request).
- ``changes``: ``GET /api/changes``, the change ledger, newest first.

Queue settings (batch size, retries, poison) are in ``host.json``; docs/running-in-azure.md says why.

Configuration is read and validated on first use and cached for the life of the worker
process (``remediation.app.runtime``); all logic lives in ``remediation``.
"""

from __future__ import annotations

import logging
import os

import azure.functions as func

from remediation.app import http_api, telemetry
from remediation.app.event_handler import handle_event
from remediation.app.runtime import get_runtime
from remediation.app.sweep import fan_out, poison_queue_name, poisoned
from remediation.app.sweep import sweep_subscription as run_subscription_sweep
from remediation.errors import ConfigError

telemetry.configure()
logger = logging.getLogger("remediation.function_app")

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.function_name("sweep")
@app.timer_trigger(arg_name="timer", schedule="%REMEDIATION_SCHEDULE%", run_on_startup=False, use_monitor=True)
def sweep(timer: func.TimerRequest) -> None:
    fan_out(get_runtime(), past_due=timer.past_due)


# The host base64-decodes the message (host.json: messageEncoding base64), completes it when the
# function returns, and makes it visible again after visibilityTimeout when it raises.
@app.function_name("sweep_subscription")
@app.queue_trigger(arg_name="msg", queue_name="%REMEDIATION_SWEEP_QUEUE%", connection="AzureWebJobsStorage")
def sweep_subscription(msg: func.QueueMessage) -> None:
    run_subscription_sweep(get_runtime(), msg.get_body(), message_id=msg.id or "", dequeue_count=msg.dequeue_count or 1)


# After maxDequeueCount failed attempts the host moves the message to <queue>-poison.
@app.function_name("sweep_poison")
@app.queue_trigger(arg_name="msg", queue_name="%REMEDIATION_SWEEP_QUEUE%-poison", connection="AzureWebJobsStorage")
def sweep_poison(msg: func.QueueMessage) -> None:
    poisoned(msg.get_body(), message_id=msg.id or "", queue=poison_queue_name(os.environ))


@app.function_name("on_resource_event")
@app.event_grid_trigger(arg_name="event")
def on_resource_event(event: func.EventGridEvent) -> None:
    try:
        data: object = event.get_json()
    except ValueError:
        data = None
    handle_event(
        get_runtime(),
        event_id=event.id,
        event_type=event.event_type,
        subject=event.subject,
        data=data,
        event_time=event.event_time,
    )


def _respond(result: http_api.HttpResult) -> func.HttpResponse:
    return func.HttpResponse(
        body=result.body,
        status_code=result.status,
        headers={**result.headers, "Content-Type": result.content_type},
        mimetype=result.content_type.split(";")[0],
        charset="utf-8",
    )


@app.function_name("report")
@app.route(route="report", methods=[func.HttpMethod.GET])
def report(req: func.HttpRequest) -> func.HttpResponse:
    try:
        runtime = get_runtime()
    except ConfigError as exc:
        return _respond(http_api.config_error_result(exc))
    return _respond(http_api.report(runtime, req.url, req.params))


@app.function_name("status")
@app.route(route="status", methods=[func.HttpMethod.GET])
def status(req: func.HttpRequest) -> func.HttpResponse:
    try:
        runtime = get_runtime()
    except ConfigError as exc:
        return _respond(http_api.config_error_result(exc))
    return _respond(http_api.status(runtime, req.url, req.params))


@app.function_name("changes")
@app.route(route="changes", methods=[func.HttpMethod.GET])
def changes(req: func.HttpRequest) -> func.HttpResponse:
    try:
        runtime = get_runtime()
    except ConfigError as exc:
        return _respond(http_api.config_error_result(exc))
    return _respond(http_api.changes(runtime, req.url, req.params))
