"""The Azure Function app (Python v2 programming model): thin adapters over ``remediation``.

- ``sweep``: timer (``%REMEDIATION_SCHEDULE%``), the whole configured scope in ``REMEDIATION_MODE``.
- ``on_resource_event``: Event Grid (subscription system topic): reconcile the cluster an event names.
- ``report``: ``GET /api/report``, a dry run rendered as json, markdown, html or csv.
- ``changes``: ``GET /api/changes``, the change ledger, newest first.

Configuration is read and validated on first use and cached for the life of the worker
process (``remediation.app.runtime``); all logic lives in ``remediation``.
"""

from __future__ import annotations

import logging

import azure.functions as func

from remediation.app import http_api, telemetry
from remediation.app.event_handler import handle_event
from remediation.app.runtime import get_runtime
from remediation.app.sweep import sweep as run_sweep
from remediation.config import ConfigError

telemetry.configure()
logger = logging.getLogger("remediation.function_app")

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.function_name("sweep")
@app.timer_trigger(arg_name="timer", schedule="%REMEDIATION_SCHEDULE%", run_on_startup=False, use_monitor=True)
def sweep(timer: func.TimerRequest) -> None:
    run_sweep(get_runtime(), past_due=timer.past_due)


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


@app.function_name("changes")
@app.route(route="changes", methods=[func.HttpMethod.GET])
def changes(req: func.HttpRequest) -> func.HttpResponse:
    try:
        runtime = get_runtime()
    except ConfigError as exc:
        return _respond(http_api.config_error_result(exc))
    return _respond(http_api.changes(runtime, req.url, req.params))
