"""infra/hooks/postdeploy.sh run for real with a stand-in `az` on PATH: each deployment is tried at
most EVENTGRID_DEPLOY_ATTEMPTS times (every wait bounded), in every mode."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.constants import SUB_A

HOOK = Path(__file__).resolve().parents[2] / "infra" / "hooks" / "postdeploy.sh"
GROUP = "landing-zones"

# Logs each call; `az deployment ...` fails until the FAILURES-th call is past; `az graph query` lists SUB_A.
FAKE_AZ = """#!/bin/sh
echo "$*" >> "$AZ_LOG"
case "$1" in
  graph) echo "$AZ_SUB"; exit 0 ;;
esac
count=$(($(cat "$AZ_COUNT" 2>/dev/null || echo 0) + 1))
echo "$count" > "$AZ_COUNT"
[ "$count" -gt "$AZ_FAILURES" ]
"""


def run_hook(tmp_path: Path, failures: int, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    az = bin_dir / "az"
    az.write_text(FAKE_AZ)
    az.chmod(0o755)
    log = tmp_path / "az.log"
    base = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "AZ_LOG": str(log),
        "AZ_COUNT": str(tmp_path / "az.count"),
        "AZ_FAILURES": str(failures),
        "AZ_SUB": SUB_A,
        "AZURE_LOCATION": "westeurope",
        "AZURE_RESOURCE_GROUP": "rg-aks-audit",
        "AZURE_FUNCTION_APP_NAME": "func-aks-audit",
        "STORAGE_ACCOUNT_NAME": "staksaudit",
        "DEADLETTER_CONTAINER_NAME": "deadletter",
        "EVENTGRID_SYSTEM_TOPIC_NAME": "evgt-aks-audit",
        "EVENTGRID_DEPLOY_DELAY_SECONDS": "0",
    }
    result = subprocess.run(["sh", str(HOOK)], env={**base, **env}, capture_output=True, text=True, timeout=60)
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def deployments(calls: list[str], kind: str) -> int:
    return sum(1 for call in calls if call.startswith(f"deployment {kind} create"))


def test_the_event_grid_deployment_is_tried_again_until_it_succeeds(tmp_path: Path) -> None:
    result, calls = run_hook(tmp_path, failures=2)
    assert result.returncode == 0, result.stderr
    assert deployments(calls, "sub") == 3
    assert "postdeploy: creating the Event Grid subscription (attempt 3 of 6)" in result.stdout
    assert result.stdout.rstrip().endswith("postdeploy: Event Grid subscription ready")


def test_the_event_grid_deployment_gives_up_after_its_attempts(tmp_path: Path) -> None:
    result, calls = run_hook(tmp_path, failures=99, EVENTGRID_DEPLOY_ATTEMPTS="3")
    assert result.returncode == 1
    assert deployments(calls, "sub") == 3
    assert "giving up after 3 attempts; rerun: azd hooks run postdeploy" in result.stderr
    assert "ready" not in result.stdout


def test_group_mode_deploys_the_group_template_with_the_same_retries(tmp_path: Path) -> None:
    group = {
        "MANAGEMENT_GROUP_ID": GROUP,
        "HUB_SUBSCRIPTION_ID": SUB_A,
        "FUNCTION_APP_PRINCIPAL_ID": "00000000-0000-0000-0000-0000000000aa",
        "CUSTOM_ROLE_DEFINITION_NAME": "AKS audit remediation",
        "EVENTGRID_TOPIC_IDENTITY_ID": "/subscriptions/x/resourceGroups/rg/providers/id/topic",
    }
    result, calls = run_hook(tmp_path, failures=1, **group)
    assert result.returncode == 0, result.stderr
    assert (deployments(calls, "mg"), deployments(calls, "sub")) == (2, 0)
    assert f"existingSubscriptionIds={SUB_A}" in next(c for c in calls if c.startswith("deployment mg create"))
    assert f"postdeploy: management group {GROUP} ready" in result.stdout

    again, calls = run_hook(tmp_path / "again", failures=99, EVENTGRID_DEPLOY_ATTEMPTS="2", **group)
    assert again.returncode == 1
    assert deployments(calls, "mg") == 2


@pytest.mark.parametrize("variable", ["EVENTGRID_DEPLOY_ATTEMPTS", "EVENTGRID_DEPLOY_DELAY_SECONDS"])
def test_a_retry_setting_that_is_not_a_whole_number_stops_before_any_deployment(tmp_path: Path, variable: str) -> None:
    result, calls = run_hook(tmp_path, failures=0, **{variable: "six"})
    assert result.returncode == 2
    assert f"{variable} must be a whole number" in result.stderr
    assert calls == []
