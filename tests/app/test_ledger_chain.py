"""The tamper-evident ledger: every change record appended to a hash chain of append blobs (Azurite).

Changes made through the indexed app land in the chain; ``GET /api/changes?verify=true`` and the CLI's
``verify-ledger`` check every link; a changed or a removed record (or a removed part) is found, with the first
broken link named; concurrent writers never fork the chain; a retried record is not appended twice.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from remediation.app.runtime import reset_runtime
from remediation.azure.ledger_chain import AppendBlobLedger, part_name
from remediation.cli.main import main
from remediation.core.chain import GENESIS, line_hash
from remediation.core.changes import ChangeEvent, ChangeRecord
from tests.support.constants import SUB_A, SUB_B
from tests.support.host import CLUSTER_WRITE, cluster_id, grid_event, http_get

Functions = dict[str, Callable[..., Any]]


def record(i: int, cluster: str | None = None) -> ChangeRecord:
    cid = cluster or cluster_id(f"aks-{i:03d}")
    return ChangeRecord(
        event=ChangeEvent.SETTING_CREATED,
        run_id=f"run-{i}",
        trigger="timer",
        resource_id=f"{cid}/providers/Microsoft.Insights/diagnosticSettings/aks-audit-remediation",
        cluster_id=cid,
        setting_name="aks-audit-remediation",
        categories_after=("kube-audit",),
        timestamp=f"2026-12-01T12:00:{i % 60:02d}.000+00:00",
    )


class Month:
    def __init__(self, year: int = 2026, month: int = 11) -> None:
        self.moment = datetime(year, month, 15, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def chain(app_env: Any) -> AppendBlobLedger:
    built = AppendBlobLedger.from_environment(dict(os.environ))
    assert built is not None
    return built


def parts(ledger: AppendBlobLedger) -> dict[str, bytes]:
    container = ledger._service.get_container_client(ledger.container)
    return {b.name: container.get_blob_client(b.name).download_blob().readall() for b in container.list_blobs()}


def rewrite(ledger: AppendBlobLedger, name: str, data: bytes) -> None:
    """What someone with blobs/write and delete (which the app's identity does not hold) could do."""
    blob = ledger._service.get_container_client(ledger.container).get_blob_client(name)
    blob.delete_blob()
    blob.create_append_blob()
    if data:
        blob.append_block(data)


def verify_http(functions: Functions) -> tuple[int, dict[str, Any]]:
    response = functions["changes"](http_get("changes", [("verify", "true")]))
    return response.status_code, json.loads(response.get_body())


def verify_cli(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(["verify-ledger", *argv], env=dict(os.environ), stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def test_changes_made_by_the_app_are_chained_and_verify(app_env: Any, functions: Functions, chain: Any) -> None:
    for name in ("aks-a", "aks-b"):
        cid = app_env.add_cluster(SUB_A, "rg-apps", name, "westeurope")
        functions["on_resource_event"](grid_event(CLUSTER_WRITE, cid))
    ((name, data),) = parts(chain).items()
    assert name == part_name(datetime.now(UTC))
    lines = data.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2]
    assert json.loads(lines[0])["prev"] == GENESIS
    assert json.loads(lines[1])["prev"] == line_hash(lines[0])
    assert {json.loads(line)["record"]["event"] for line in lines} == {"diagnostic_setting.created"}

    status, body = verify_http(functions)
    assert status == 200
    assert body["intact"] is True and body["first_broken"] is None
    assert (body["records"], body["parts"], body["last_seq"]) == (2, 1, 2)
    assert body["last_hash"] == line_hash(lines[1])
    assert body["retention_days"] == 365
    assert body["unprotected_parts"] == [name], "Azurite has no immutability policy: said so, not hidden"

    code, out, err = verify_cli("--format", "json")
    assert code == 0
    assert json.loads(out) == body
    assert "no immutability policy" in err


def test_a_changed_record_is_found_at_the_next_link(functions: Functions, chain: AppendBlobLedger) -> None:
    for i in range(5):
        chain.append(record(i))
    ((name, data),) = parts(chain).items()
    lines = data.splitlines(keepends=True)
    forged = json.loads(lines[2])
    forged["record"]["workspace_id"] = (
        "/subscriptions/x/resourceGroups/evil/providers/Microsoft.OperationalInsights/workspaces/w"
    )
    lines[2] = json.dumps(forged, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    rewrite(chain, name, b"".join(lines))

    status, body = verify_http(functions)
    assert status == 200
    assert body["intact"] is False
    assert body["first_broken"] == {
        "part": name,
        "line": 4,
        "seq": 4,
        "reason": "prev is not the hash of the record before it: that record was changed or removed",
    }
    assert body["last_seq"] == 3, "intact up to the changed record"
    code, out, _ = verify_cli()
    assert code == 1
    assert f"BROKEN at {name} line 4 (seq 4)" in out


def test_a_removed_record_is_found(functions: Functions, chain: AppendBlobLedger) -> None:
    for i in range(5):
        chain.append(record(i))
    ((name, data),) = parts(chain).items()
    lines = data.splitlines(keepends=True)
    rewrite(chain, name, b"".join(lines[:1] + lines[2:]))
    _, body = verify_http(functions)
    assert body["first_broken"]["line"] == 2
    assert body["first_broken"]["seq"] == 3
    assert "records are missing" in body["first_broken"]["reason"]


def test_a_removed_part_is_found_and_the_chain_runs_across_parts(functions: Functions, chain: AppendBlobLedger) -> None:
    month = Month(2026, 10)
    chain._now = month
    chain.append(record(1))
    chain.append(record(2))
    month.moment = datetime(2026, 11, 2, tzinfo=UTC)
    chain.append(record(3))
    names = sorted(parts(chain))
    assert names == [part_name(datetime(2026, 10, 1)), part_name(datetime(2026, 11, 1))]
    _, body = verify_http(functions)
    assert (body["intact"], body["records"], body["parts"]) == (True, 3, 2)

    blob = chain._service.get_container_client(chain.container).get_blob_client(names[0])
    blob.delete_blob()
    _, body = verify_http(functions)
    assert body["first_broken"] == {
        "part": names[1],
        "line": 1,
        "seq": 3,
        "reason": "seq 3 where 1 was expected: records are missing before it",
    }


def test_concurrent_writers_never_fork_the_chain(app_env: Any, chain: AppendBlobLedger) -> None:
    other = AppendBlobLedger.from_environment(dict(os.environ))  # another instance of the app
    assert other is not None
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: (chain if i % 2 else other).append(record(i)), range(40)))
    verification, _ = chain.verify()
    assert verification.intact and verification.records == 40
    runs = sorted(json.loads(line)["record"]["run_id"] for data in parts(chain).values() for line in data.splitlines())
    assert runs == sorted(f"run-{i}" for i in range(40)), "every record once"


def test_a_retried_record_is_not_appended_twice(chain: AppendBlobLedger) -> None:
    chain.append(record(1))
    chain._tail = None  # as after a lost answer: the tip is read again
    chain.append(record(1))
    verification, _ = chain.verify()
    assert verification.records == 1


def test_verify_parameters_and_configuration(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = functions["changes"](http_get("changes", [("verify", "true"), ("limit", "5")]))
    assert response.status_code == 400
    response = functions["changes"](http_get("changes", [("verify", "yes")]))
    assert response.status_code == 400
    status, body = verify_http(functions)
    assert (status, body["records"], body["intact"]) == (200, 0, True), "an empty ledger is intact"

    monkeypatch.setenv("REMEDIATION_LEDGER_CONTAINER", "Not_A_Container")
    reset_runtime()
    response = functions["changes"](http_get("changes", [("verify", "true")]))
    assert json.loads(response.get_body())["error"]["target"] == "REMEDIATION_LEDGER_CONTAINER"
    assert verify_cli()[0] == 2
    monkeypatch.delenv("REMEDIATION_LEDGER_CONTAINER")
    monkeypatch.setenv("REMEDIATION_LEDGER_BLOB_ENDPOINT", "http://127.0.0.1:10000/devstoreaccount1")
    assert verify_cli()[0] == 2, "a token is only ever sent over https"
    monkeypatch.delenv("REMEDIATION_LEDGER_BLOB_ENDPOINT")
    monkeypatch.delenv("AzureWebJobsStorage")
    code, _, err = verify_cli()
    assert code == 2 and "no change ledger" in err


def test_verify_says_nothing_of_subscriptions_outside_the_scope(
    app_env: Any, functions: Functions, chain: AppendBlobLedger
) -> None:
    """The check covers the whole chain (a link is the hash of the line before, whichever subscription
    it is of), and answers only positions, counts and hashes: no record, cluster or subscription."""
    theirs = cluster_id("aks-theirs", sub=SUB_B)  # outside REMEDIATION_SUBSCRIPTION_IDS (moved out, say)
    for i in range(4):
        chain.append(record(i, theirs if i % 2 else None))
    ((name, data),) = parts(chain).items()
    lines = data.splitlines(keepends=True)
    lines[1] = lines[1].replace(b"kube-audit", b"kube-audix")  # someone edits a record of theirs
    rewrite(chain, name, b"".join(lines))

    status, body = verify_http(functions)

    assert status == 200
    assert set(body) == {
        "intact", "records", "parts", "last_seq", "last_hash", "first_broken",
        "container", "retention_days", "protection", "unprotected_parts",
    }  # fmt: skip
    assert body["first_broken"] == {
        "part": name,
        "line": 3,
        "seq": 3,
        "reason": "prev is not the hash of the record before it: that record was changed or removed",
    }
    text = json.dumps(body).lower()
    assert SUB_B not in text and "aks-theirs" not in text and "kube-audi" not in text
    assert app_env.requests == [], "not scoped: no listing, nothing read in ARM"
