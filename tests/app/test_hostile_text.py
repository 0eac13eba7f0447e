"""Hostile text: what ARM, an event's sender or a misconfigured setting sends reaches no reader unescaped.

Bidirectional controls (U+202E makes text read backwards) and control characters come back as visible
escapes in every text format of ``/api/report``; markdown turns no URL into a link; the malformed-event
ERROR line escapes what the event carried; storage errors in HTTP bodies say what failed, not where;
an unusable storage URI is ``InvalidConfiguration``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest

from tests.support.constants import SUB_A
from tests.support.host import http_get

Functions = dict[str, Callable[..., Any]]

BIDI = ("\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f")
# A subscription's display name is free text its owner chooses: it reaches every format.
HOSTILE_NAME = "Contoso \u202eLLEH\u202c prod\u2066x\u2069\u200e\u200f\x1b[31m https://evil.example/login www.evil.example a@evil.example"


def get(functions: Functions, route: str, *query: tuple[str, str]) -> tuple[int, str]:
    response = functions[route](http_get(route, list(query)))
    return response.status_code, response.get_body().decode("utf-8")


@pytest.fixture
def hostile(app_env: Any) -> Any:
    sim = app_env
    sim.add_subscription(SUB_A, HOSTILE_NAME)  # its owner renamed it
    sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    return sim


@pytest.mark.parametrize("fmt", ["table", "markdown", "html", "csv"])
def test_bidi_and_control_characters_are_escaped_in_every_text_format(
    hostile: Any, functions: Functions, fmt: str
) -> None:
    status, body = get(functions, "report", ("format", fmt))
    assert status == 200
    for char in (*BIDI, "\x1b"):
        assert char not in body, (fmt, hex(ord(char)))
    if fmt == "csv":
        (row,) = csv.DictReader(io.StringIO(body))
        assert row["subscription_name"].startswith(
            "Contoso \\u202eLLEH\\u202c prod\\u2066x\\u2069\\u200e\\u200f\\x1b[31m"
        )
    else:
        assert "\\u202eLLEH\\u202c" in body
        assert "\\x1b" in body


def test_markdown_turns_no_url_into_a_link(hostile: Any, functions: Functions) -> None:
    _, body = get(functions, "report", ("format", "markdown"))
    assert "https\\://evil.example/login" in body
    assert "www\\.evil.example" in body
    assert "a\\@evil.example" in body
    assert not re.search(r"https?://evil|(?<!\\)www\.evil|a@evil", body)


def test_the_json_document_keeps_the_text_as_it_is(hostile: Any, functions: Functions) -> None:
    """JSON escapes nothing a parser needs; the value is data, given back exactly."""
    _, body = get(functions, "report")
    assert json.loads(body)["clusters"][0]["subscription_name"] == HOSTILE_NAME


def test_the_malformed_event_line_escapes_what_the_event_carried(
    app_env: Any, functions: Functions, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "x\n2026-01-01T00:00:00Z INFO    remediation: FORGED all good\x1b[2J\u202e"
    event = func.EventGridEvent(
        id="evt-1\n\x1b[31m\u202e",
        data={"operationName": "Microsoft.ContainerService/managedClusters/write", "resourceUri": forged},
        topic=f"/subscriptions/{SUB_A}",
        subject=forged,
        event_type="Microsoft.Resources.ResourceWriteSuccess",
        event_time=datetime.now(UTC),
        data_version="2",
    )
    with caplog.at_level(logging.ERROR, logger="remediation"):
        functions["on_resource_event"](event)
    (record,) = [r for r in caplog.records if "malformed event" in r.getMessage()]
    line = record.getMessage()
    for char in ("\n", "\x1b", "\u202e"):
        assert char not in line
        assert char not in record.event_id  # the structured field too
    assert "evt-1\\n\\x1b[31m\\u202e" in line
    assert "\\nFORGED" not in line and "x\\n2026-01-01T00:00:00Z INFO    remediation: FORGED" in line
    assert app_env.requests == []


@pytest.mark.parametrize(("route", "code"), [("status", "StateUnavailable"), ("changes", "LedgerUnavailable")])
def test_storage_errors_say_what_failed_not_where(
    app_env: Any,
    functions: Functions,
    azurite: str,
    dead_port: int,
    monkeypatch: pytest.MonkeyPatch,
    route: str,
    code: str,
) -> None:
    port = dead_port
    monkeypatch.setenv(
        "AzureWebJobsStorage",
        re.sub(r"TableEndpoint=http://127\.0\.0\.1:\d+/", f"TableEndpoint=http://127.0.0.1:{port}/", azurite),
    )
    status, body = get(functions, route)
    error = json.loads(body)["error"]
    assert (status, error["code"]) == (503, code)
    assert "could not be reached" in error["message"]
    assert "127.0.0.1" not in body and str(port) not in body


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:10002/devstoreaccount1",  # a token is never sent in clear text
        "https://",
        "https://storage.example:99999",
        "https://storage.example/?sig=x",
        "ftp://storage.example",
    ],
)
@pytest.mark.parametrize("route", ["report", "status", "changes"])
def test_an_unusable_storage_uri_is_invalid_configuration(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch, uri: str, route: str
) -> None:
    monkeypatch.delenv("AzureWebJobsStorage")
    monkeypatch.setenv("AzureWebJobsStorage__tableServiceUri", uri)
    status, body = get(functions, route)
    error = json.loads(body)["error"]
    assert (status, error["code"], error["target"]) == (
        500,
        "InvalidConfiguration",
        "AzureWebJobsStorage__tableServiceUri",
    )
    assert app_env.requests == []
