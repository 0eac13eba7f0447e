"""Issue 8, fail-safe configuration and bad input at the command line: exit codes 2, 3 and 4,
one message for credentials, escaped control characters."""

from __future__ import annotations

import io
import json
import os

import pytest

from remediation.cli.exit_codes import EXIT_FAILED, EXIT_INTERNAL, EXIT_USAGE
from remediation.cli.main import main
from tests.support.cli import cli
from tests.support.constants import SUB_A, SUB_B


def test_a_misspelled_setting_is_exit_2_naming_it_and_the_closest_known_one(estate):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    environ = {k: v for k, v in os.environ.items() if k != "REMEDIATION_SUBSCRIPTION_IDS"}
    environ["REMEDIATION_SUBSCRIPTION_ID"] = SUB_B  # without the S: would widen the scope to everything
    out, err = io.StringIO(), io.StringIO()

    code = main(["apply"], env=environ, stdout=out, stderr=err)

    assert code == EXIT_USAGE
    assert err.getvalue() == (
        "error: invalid configuration: REMEDIATION_SUBSCRIPTION_ID: unknown setting; "
        "did you mean REMEDIATION_SUBSCRIPTION_IDS?\n"
    )
    assert estate.requests == []


def test_an_unknown_category_stops_apply_before_the_first_write(estate):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.add_cluster(SUB_A, "rg-app", "aks-2", "westeurope")

    code, out, err = cli("apply", REMEDIATION_CATEGORIES="kube-audt,kube-apiserver")

    assert code == EXIT_USAGE
    assert out == ""
    assert "REMEDIATION_CATEGORIES: kube-audt is not a log category of AKS clusters" in err
    valid = err.split("valid: ", 1)[1].strip().split(", ")
    assert {"kube-audit", "kube-audit-admin", "kube-apiserver"} <= set(valid)
    assert estate.write_requests() == []


def test_output_is_checked_before_anything_is_read(estate):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")

    code, _, err = cli("apply", "--output", "/nonexistent/x")

    assert code == EXIT_USAGE
    assert err == "error: --output: directory /nonexistent does not exist\n"
    assert estate.requests == []


def test_an_unexpected_exception_is_exit_4_with_one_line_and_the_traceback_only_with_v(estate):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    closed = io.StringIO()
    closed.close()  # writing the report fails: an error no code path expects

    code, _, err = cli("report", stdout=closed)

    assert code == EXIT_INTERNAL
    assert err.splitlines()[-1] == (
        "error: internal error: ValueError: I/O operation on closed file (run with -v for the traceback)"
    )
    assert "Traceback" not in err

    code, _, err = cli("report", "-v", stdout=closed)
    assert code == EXIT_INTERNAL
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1] == "error: internal error: ValueError: I/O operation on closed file"


def test_no_credential_is_one_message_saying_run_az_login_and_exit_3(estate, monkeypatch):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    monkeypatch.setenv("PATH", "/nonexistent")  # no az, azd or pwsh to fall back on

    code, out, err = cli("report", REMEDIATION_SUBSCRIPTION_IDS=f"{SUB_A},{SUB_B}")

    assert code == EXIT_FAILED
    assert out == ""
    errors = [line for line in err.splitlines() if "credential" in line.lower()]
    assert len(errors) == 1, err  # one message, not the credential chain once per subscription
    assert errors[0].startswith("error: no Azure credential could get a token (tried environment credentials, ")
    assert errors[0].endswith(": run `az login`")
    assert "Attempted credentials" not in err
    assert estate.arm_requests() == []


def test_a_failing_managed_identity_says_check_the_managed_identity_and_exit_3(estate):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.inject_fault(identity=True, status=500, retry_after=0, times=None)

    code, _, err = cli("report", REMEDIATION_DEADLINE_SECONDS="3")

    assert code == EXIT_FAILED
    assert err.splitlines()[-1] == (
        "error: the token endpoint of the managed identity (IDENTITY_ENDPOINT) answered HTTP 500: "
        "check the managed identity"
    )
    assert estate.arm_requests() == []


def test_a_ledger_failure_is_reported_and_exit_3(estate, tmp_path):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    nowhere = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=AAAA;"
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    )

    code, out, _ = cli("apply", "--format", "json", AzureWebJobsStorage=nowhere)

    doc = json.loads(out)
    assert code == EXIT_FAILED
    assert doc["summary"]["remediated"] == 1
    assert {(e["scope"], e["code"]) for e in doc["errors"]} == {("ledger", "LedgerWriteFailed")}
    assert len(doc["errors"]) == 3  # resource group, workspace and setting: each record counted


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_control_characters_from_arm_are_escaped_in_logs_and_tables(estate, fmt):
    estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    deny = "Denied by policy.\n12:00:00 INFO    remediation: FORGED all good\x1b[2J\x1b[31m \u202eetirw\u202c \u2066x\u2069"
    estate.inject_fault(
        method="PUT", path_contains="diagnosticSettings", status=403, code="RequestDisallowedByPolicy",
        message=deny, times=None,
    )  # fmt: skip

    code, out, err = cli("apply", "--format", fmt)

    assert code == EXIT_FAILED
    for text in (out, err):
        assert "\x1b" not in text
        assert not any(c in text for c in "\u202e\u202c\u2066\u2069"), "bidi controls escaped too"
        assert "\\u202eetirw\\u202c" in text
        assert not any(line.startswith("12:00:00 INFO    remediation: FORGED") for line in text.splitlines())
    assert "\\x1b" in out  # visible, escaped
    assert "\\x1b[31m" in err
