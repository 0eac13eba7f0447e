"""The CLI contract: formats, exit codes, usage errors, JSON change log, demo."""

from __future__ import annotations

import io
import json

import pytest

from remediation.cli.main import main
from tests.support.builders import entries, ws_id
from tests.support.cli import cli
from tests.support.constants import REQUIRED, SUB_A, SUB_B

SCHEMA_KEYS = {
    "schema_version",
    "mode",
    "run_id",
    "started_at",
    "finished_at",
    "required_categories",
    "summary",
    "clusters",
    "workspaces",
    "errors",
    "cost",
    "table_plans",
    "tool_version",
    "scope",
    "configuration",
}
CLUSTER_KEYS = {
    "id",
    "name",
    "subscription_id",
    "resource_group",
    "location",
    "status",
    "missing_categories",
    "reason",
    "action",
    "flow",
    "subscription_name",
    "portal_url",
    "settings",
    "explanation",
    "next_step",
    "baselines",
}


def test_report_json_is_the_schema_1_document_and_exit_1(estate):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")

    code, out, _ = cli("report", "--format", "json")

    doc = json.loads(out)
    assert code == 1
    assert set(doc) == SCHEMA_KEYS
    assert doc["schema_version"] == 1
    assert doc["mode"] == "report"
    assert doc["required_categories"] == REQUIRED
    assert set(doc["summary"]) == {
        "clusters",
        "compliant",
        "non_compliant",
        "remediated",
        "excluded",
        "deferred",
        "blocked",
        "failed",
        "unreadable_subscriptions",
        "flow",
        "baselines",
    }
    (cluster,) = doc["clusters"]
    assert set(cluster) == CLUSTER_KEYS
    assert (
        cluster["id"].lower() == cid.lower()
    )  # ARM spells cluster IDs with "resourcegroups" (recorded): compare as ARM IDs compare, without case
    assert cluster["status"] == "non_compliant"
    assert cluster["action"]["kind"] == "create"
    assert doc["started_at"].endswith("Z")
    assert estate.write_requests() == []


def test_apply_then_report_exit_0_and_json_change_log_on_stderr(estate, tmp_path):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    target = tmp_path / "report.md"

    code, out, err = cli("apply", "--format", "markdown", "--output", str(target), "--log-format", "json")

    assert code == 0
    assert out == ""
    assert "aks-1" in target.read_text()
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    changes = [r for r in records if r["logger"] == "remediation.changes"]
    assert [c["event"] for c in changes] == [
        "resource_group.created",
        "workspace.created",
        "diagnostic_setting.created",
    ]
    assert all(c["trigger"] == "cli" and c["run_id"] for c in changes)
    assert changes[-1]["categories_after"] == REQUIRED
    assert cli("report")[0] == 0


def test_failed_subscription_gives_exit_3(sim):
    sim.add_subscription(SUB_A)
    sim.add_subscription(SUB_B)
    sim.forbid_subscription(SUB_B)

    code, out, _ = cli("report", "--format", "json", REMEDIATION_SUBSCRIPTION_IDS=f"{SUB_A},{SUB_B}")

    assert code == 3
    assert json.loads(out)["errors"][0]["code"] == "AuthorizationFailed"


def test_blocked_and_deferred_give_exit_1_after_apply(estate):
    estate.add_cluster(SUB_A, "rg-app", "aks-new", "eastus", provisioning_state="Creating")

    assert cli("apply")[0] == 1


def test_cluster_and_subscription_filters(estate):
    one = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.add_cluster(SUB_A, "rg-app", "aks-2", "eastus")
    estate.put_setting(one, "u", {"workspaceId": ws_id(SUB_A, "rg-user-logs", "law-user"), "logs": entries(*REQUIRED)})
    for category in REQUIRED:  # its records arrive: flowing, no finding
        estate.ingest(ws_id(SUB_A, "rg-user-logs", "law-user"), one, category, mode="azure-diagnostics")

    code, out, _ = cli("report", "--format", "json", "--cluster", one)
    assert (code, [c["name"] for c in json.loads(out)["clusters"]]) == (0, ["aks-1"])

    code, out, _ = cli("report", "--format", "json", "--subscription", SUB_A.upper())
    assert (code, len(json.loads(out)["clusters"])) == (1, 2)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (("report",), {"REMEDIATION_MODE": "fix"}, "REMEDIATION_MODE: 'fix' is not one of: apply, report"),
        (
            ("apply",),
            {"REMEDIATION_WORKSPACE_RETENTION_DAYS": "5"},
            "REMEDIATION_WORKSPACE_RETENTION_DAYS: 5 is out of range",
        ),
        (("report", "--subscription", "prod"), {}, "--subscription: 'prod' is not a subscription GUID"),
        (
            ("report", "--subscription", SUB_B),
            {},
            f"--subscription: subscription {SUB_B} is outside REMEDIATION_SUBSCRIPTION_IDS",
        ),
        (
            ("report", "--cluster", "/subscriptions/x/aks"),
            {},
            "--cluster: '/subscriptions/x/aks' is not an AKS cluster resource ID",
        ),
        (
            (
                "report",
                "--cluster",
                f"/subscriptions/{SUB_B}/resourceGroups/r/providers/Microsoft.ContainerService/managedClusters/c",
            ),
            {},
            "outside REMEDIATION_SUBSCRIPTION_IDS",
        ),
    ],
)
def test_bad_input_exits_2_with_a_clear_message_and_no_request(estate, argv, env, message):
    estate.clear_requests()

    code, out, err = cli(*argv, **env)

    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err
    assert estate.requests == []


def test_argparse_errors_exit_2(capsys):
    assert main(["report", "--format", "yaml"]) == 2
    assert "invalid choice: 'yaml'" in capsys.readouterr().err
    assert main([]) == 2


def test_output_to_a_directory_is_a_usage_error(estate, tmp_path):
    code, _, err = cli("report", "--output", str(tmp_path))
    assert code == 2
    assert "is a directory" in err


def test_demo_goes_from_non_compliant_to_compliant():
    stdout, stderr = io.StringIO(), io.StringIO()

    assert main(["demo", "--no-progress"], stdout=stdout, stderr=stderr) == 0

    out = stdout.getvalue()
    assert "write requests made by the dry run: 0" in out
    assert "By status, before -> after: compliant 5 -> 13; non-compliant 8 -> 0;" in out
    assert "created the diagnostic setting 'aks-audit-remediation' on aks-web-prod: it now sends" in out
    assert "What remains, and why:" in out
    assert "aks-dev-crowded is blocked: it already has 5 diagnostic settings" in out
    assert "1 clusters" not in out
    # the demo estate shows every flow verdict before apply, and one query per destination workspace
    assert "audit records: 1 flowing, 1 partial, 5 silent, 1 pending, 7 unknown" in out
    assert "Log Analytics queries per run (one per distinct destination workspace): 3 before, 7 after" in out


def test_cluster_by_bare_name_is_resolved_in_scope(estate):
    wanted = estate.add_cluster(SUB_A, "rg-app", "aks-web", "eastus")
    estate.add_cluster(SUB_A, "rg-app", "aks-other", "eastus")

    code, out, err = cli("report", "--cluster", "AKS-WEB", "--format", "json")

    doc = json.loads(out)
    assert code == 1, err
    assert [c["id"].lower() for c in doc["clusters"]] == [
        wanted.lower()
    ]  # ARM spells cluster IDs with "resourcegroups" (recorded): compare as ARM IDs compare, without case
    assert [c.lower() for c in doc["scope"]["clusters"]] == [wanted.lower()]


def test_an_ambiguous_cluster_name_is_an_error_listing_the_matches(estate):
    one = estate.add_cluster(SUB_A, "rg-one", "aks-web", "eastus")
    two = estate.add_cluster(SUB_A, "rg-two", "aks-web", "westeurope")
    estate.clear_requests()

    code, out, err = cli("apply", "--cluster", "aks-web")

    assert code == 2 and out == ""
    assert "2 clusters are named 'aks-web'" in err and one.lower() in err.lower() and two.lower() in err.lower()
    assert estate.write_requests() == []


def test_an_unknown_cluster_name_is_an_error(estate):
    estate.add_cluster(SUB_A, "rg-app", "aks-web", "eastus")

    code, _, err = cli("report", "--cluster", "aks-nope")

    assert code == 2
    assert "no cluster named 'aks-nope'" in err


def test_naming_what_is_outside_the_management_group_exits_2_as_outside_the_list_does(estate):
    """Group mode: the same refusal as 403 SubscriptionOutOfScope over HTTP, from one listing of the group."""
    estate.add_subscription(SUB_B, "dev")
    estate.add_management_group("lz")
    estate.move_subscription(SUB_A, "lz")
    inside = estate.add_cluster(SUB_A, "rg-app", "aks-in", "eastus")
    outside = estate.add_cluster(SUB_B, "rg-app", "aks-out", "eastus")
    group = {"REMEDIATION_SUBSCRIPTION_IDS": "", "REMEDIATION_MANAGEMENT_GROUP": "lz"}

    def listings() -> int:
        return sum(1 for r in estate.arm_requests() if r.path.endswith("/descendants"))

    for argv, message in [
        (("--cluster", outside), f"--cluster: cluster {outside} is in subscription {SUB_B}, outside management group"),
        (("--subscription", SUB_B), f"--subscription: subscription {SUB_B} is outside management group 'lz'"),
    ]:
        estate.clear_requests()
        code, out, err = cli("report", *argv, **group)
        assert (code, out) == (2, ""), err
        assert message in err
        assert listings() == len(estate.arm_requests()) == 1, "one listing, nothing outside read"

    estate.clear_requests()
    code, out, err = cli("report", "--cluster", inside, "--format", "json", **group)
    assert code == 1, err
    assert [c["name"] for c in json.loads(out)["clusters"]] == ["aks-in"]
    assert listings() == 1, "the run covers the estate already listed"

    estate.clear_requests()
    code, out, err = cli("report", "--cluster", inside, **{**group, "REMEDIATION_MANAGEMENT_GROUP": "no-such-group"})
    assert (code, out) == (3, "")
    assert "could not list the subscriptions of management group 'no-such-group'" in err
    assert listings() == len(estate.arm_requests()) == 1
