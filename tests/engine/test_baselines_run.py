"""Baselines through the CLI against armsim: judged on the settings the run read (no extra ARM
request), after our own change once applied, unknown when excluded; REMEDIATION_BASELINES chooses."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from armsim.estate import build_demo_estate
from remediation.core.baselines import POLICY_DEPLOY_LOG_CATEGORIES
from tests.support.builders import entries, region_ws
from tests.support.cli import cli
from tests.support.constants import REQUIRED, SUB_A, USER_RG

STORAGE = f"/subscriptions/{SUB_A}/resourceGroups/{USER_RG}/providers/Microsoft.Storage/storageAccounts/stlogs"


def _estate(sim) -> dict[str, str]:
    target = sim.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
    assert target.lower() == region_ws(SUB_A, "eastus").lower()
    empty = sim.add_cluster(SUB_A, "rg-app", "aks-empty", "eastus")
    policy = sim.add_cluster(SUB_A, "rg-app", "aks-policy", "eastus")
    sim.put_setting(
        policy,
        "AzureKubernetesDiagnosticsLogsToWorkspace",
        {
            "workspaceId": region_ws(SUB_A, "eastus"),
            "logs": entries(*POLICY_DEPLOY_LOG_CATEGORIES),
            "metrics": [{"category": "AllMetrics", "enabled": True}],
        },
    )
    legacy = sim.add_cluster(SUB_A, "rg-app", "aks-legacy", "eastus")
    sim.put_setting(  # written before ARM retired retention: 30 days in storage
        legacy,
        "archive",
        {
            "storageAccountId": STORAGE,
            "logs": [
                {"category": c, "enabled": True, "retentionPolicy": {"enabled": True, "days": 30}} for c in REQUIRED
            ],
        },
    )
    sim.add_cluster(SUB_A, "rg-app", "aks-skip", "eastus", tags={"aks-audit-remediation": "exclude"})
    return {"empty": empty, "policy": policy, "legacy": legacy}


def _verdicts(doc: dict, name: str) -> dict[str, tuple[str, str]]:
    cluster = next(c for c in doc["clusters"] if c["name"] == name)
    return {k: (v["verdict"], v["reason"]) for k, v in cluster["baselines"].items()}


def test_report_judges_what_it_read_and_apply_judges_what_it_left(estate):
    _estate(estate)
    cli("report", "--format", "json", REMEDIATION_BASELINES="none")  # knowledge of the categories cached
    reads = len(estate.arm_requests())

    code, out, _ = cli("report", "--format", "json")

    doc = json.loads(out)
    assert code == 1
    empty = _verdicts(doc, "aks-empty")
    assert empty["cis-aks-2.1.1"] == ("fail", "no-diagnostic-setting")
    assert empty["psrule-Azure.AKS.AuditAdmin"] == ("pass", "auditadmin-no-kube-audit"), "no setting, no kube-audit"
    policy = _verdicts(doc, "aks-policy")
    assert policy["azure-policy-6c66c325"] == ("pass", "6c66c325-setting-found"), "metrics read from ARM"
    assert policy["psrule-Azure.AKS.PlatformLogs"] == ("pass", "platformlogs-every-setting")
    assert policy["psrule-Azure.AKS.AuditLogs"] == ("pass", "auditlogs-every-setting")
    assert _verdicts(doc, "aks-legacy")["azure-policy-245fc9df"] == ("fail", "245fc9df-retention"), "retention read"
    skipped = _verdicts(doc, "aks-skip")
    assert set(skipped.values()) == {("unknown", "excluded")} and len(skipped) == 6
    counts = doc["summary"]["baselines"]
    assert list(counts) == [
        "cis-aks-2.1.1",
        "azure-policy-245fc9df",
        "azure-policy-6c66c325",
        "psrule-Azure.AKS.AuditLogs",
        "psrule-Azure.AKS.AuditAdmin",
        "psrule-Azure.AKS.PlatformLogs",
    ]
    assert counts["azure-policy-6c66c325"] == {"pass": 1, "fail": 2, "unknown": 1}
    assert counts["cis-aks-2.1.1"] == {"pass": 1, "fail": 2, "unknown": 1}
    judged = sorted((r.method, r.path.lower()) for r in estate.arm_requests()[reads:])
    cli("report", "--format", "json", REMEDIATION_BASELINES="none")  # as warm as the run above
    plain = sorted((r.method, r.path.lower()) for r in estate.arm_requests()[reads + len(judged) :])
    assert judged == plain, "judging the baselines makes no ARM request of its own"

    code, out, _ = cli("apply", "--format", "json")

    after = _verdicts(json.loads(out), "aks-empty")
    assert after["cis-aks-2.1.1"] == ("pass", "cis-audit-logs-kept"), "judged on the setting just written"
    assert after["azure-policy-245fc9df"] == ("pass", "245fc9df-setting-found")
    assert after["psrule-Azure.AKS.AuditAdmin"] == ("fail", "auditadmin-kube-audit"), "the default sends kube-audit"
    assert after["psrule-Azure.AKS.AuditLogs"] == ("fail", "auditlogs-setting-incomplete"), "no guard by default"
    assert after["azure-policy-6c66c325"] == ("fail", "6c66c325-categories-missing")


def test_the_chosen_baselines_only_and_a_column_each_in_csv(estate):
    _estate(estate)

    code, out, _ = cli("report", "--format", "csv", REMEDIATION_BASELINES="PSRule-Azure.AKS.AuditAdmin, cis-aks-2.1.1")

    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 1
    assert [k for k in rows[0] if k.startswith("baseline:")] == [
        "baseline:cis-aks-2.1.1",
        "baseline:psrule-Azure.AKS.AuditAdmin",
    ], "configuration order, ids as documented"
    by_name = {r["name"]: r for r in rows}
    assert by_name["aks-skip"]["baseline:cis-aks-2.1.1"] == "unknown"
    assert by_name["aks-policy"]["baseline:psrule-Azure.AKS.AuditAdmin"] == "fail"

    code, out, _ = cli("report", "--format", "json", REMEDIATION_BASELINES="none")
    doc = json.loads(out)
    assert "baselines" not in doc["summary"] and all("baselines" not in c for c in doc["clusters"])


def test_an_unknown_baseline_is_a_clear_configuration_error(estate):
    _estate(estate)

    code, out, err = cli("report", REMEDIATION_BASELINES="cis-aks-2.1.1,psrule-Azure.AKS.Audit")

    assert code == 2 and out == ""
    assert "REMEDIATION_BASELINES" in err and "'psrule-Azure.AKS.Audit' is not a baseline" in err
    assert "psrule-Azure.AKS.AuditLogs" in err, "the valid ids are listed"
    assert estate.requests == [] or all(r.method == "GET" for r in estate.requests)


def test_every_format_shows_the_baselines(estate):
    _estate(estate)

    _, table, _ = cli("report", "--format", "table")
    assert "baselines   cis-aks-2.1.1: 1 pass, 2 fail, 1 unknown" in table
    assert "BASELINES" in table and "unknown (excluded)" in table
    _, markdown, _ = cli("report", "--format", "markdown")
    assert "## Baselines" in markdown and "| azure-policy-6c66c325 |" in markdown, "the summary table"
    assert "| 0/6 pass; fail: CIS 2.1.1, 245fc9df, 6c66c325, AuditLogs, AuditAdmin, PlatformLogs |" in markdown
    _, page, _ = cli("report", "--format", "html")
    assert 'id="baselines"' in page and 'title="6c66c325-setting-found: ' in page


DOC = Path(__file__).resolve().parents[2] / "docs" / "baselines.md"


def _doc_tables() -> tuple[dict[str, tuple[str, str]], dict[str, list[str]]]:
    """docs/baselines.md's summary table (id -> before, after) and crosswalk (cluster -> status, verdicts)."""
    text = DOC.read_text()
    summary = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and "/" in cells[1]:
            summary[cells[0].strip("`")] = (cells[1], cells[2])
    block = text.split("<!-- crosswalk:start -->")[1].split("<!-- crosswalk:end -->")[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in block.strip().splitlines()[2:]]
    return summary, {row[0]: [row[2], *row[3:]] for row in rows}


def _counts(doc: dict) -> dict[str, str]:
    return {b: f"{c['pass']} / {c['fail']} / {c['unknown']}" for b, c in doc["summary"]["baselines"].items()}


def test_the_crosswalk_in_the_docs_is_the_demo_estate(sim):
    build_demo_estate(sim)
    env = {"REMEDIATION_SUBSCRIPTION_IDS": ""}

    before = json.loads(cli("report", "--format", "json", **env)[1])
    cli("apply", "--format", "json", **env)
    after = json.loads(cli("report", "--format", "json", **env)[1])

    summary, crosswalk = _doc_tables()
    assert {b: (_counts(before)[b], _counts(after)[b]) for b in summary} == summary
    assert list(summary) == list(after["summary"]["baselines"])
    ran = {c["name"]: [c["status"], *(j["verdict"] for j in c["baselines"].values())] for c in after["clusters"]}
    assert ran == crosswalk
