"""Names the tests of every layer share: the subscriptions, the user's resource group, the Function app's
region and workspace, and the categories a default configuration requires."""

from __future__ import annotations

from remediation.config.values import DEFAULT_CATEGORIES

SUB_A = "aaaaaaaa-1111-4111-8111-000000000001"
SUB_B = "bbbbbbbb-2222-4222-8222-000000000002"
SUB_C = "dddddddd-4444-4444-8444-000000000004"
USER_RG = "rg-user-logs"

# The Function app tests' estate: SUB_A with its regional workspace in LOCATION already there.
LOCATION = "westeurope"
WORKSPACE = (
    f"/subscriptions/{SUB_A}/resourceGroups/rg-aks-audit-logs"
    f"/providers/Microsoft.OperationalInsights/workspaces/law-aks-audit-{LOCATION}"
)

# remediation's DEFAULT_CATEGORIES as a report document lists them (a list, like the JSON).
REQUIRED: list[str] = list(DEFAULT_CATEGORIES)
