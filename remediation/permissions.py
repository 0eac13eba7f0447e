"""The ARM actions this product needs, each with the scope it is granted at and why.

The single source for the two custom roles in ``infra/`` (``tests/infra`` asserts that each
role grants exactly the actions of its scope here, no more, no less):

- :attr:`Scope.SUBSCRIPTION`: assigned on every covered subscription. Reading clusters,
  their diagnostic settings and category metadata, writing our own setting, reading the
  subscriptions, checking that any setting's destination workspace still exists.
- :attr:`Scope.WORKSPACE_RESOURCE_GROUP`: assigned only on the resource group that holds the
  audit workspaces (``REMEDIATION_WORKSPACE_RESOURCE_GROUP`` in each covered subscription, or
  the group of ``REMEDIATION_WORKSPACE_ID``). Creating workspaces, linking settings to them,
  and querying them to verify that the audit records arrive.

``infra/`` pre-creates the workspace resource group, so creating resource groups is not part
of the runtime role: the code still creates the group when the identity may (someone granted
more), and otherwise reports the clusters ``blocked`` with ARM's ``AuthorizationFailed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Scope(StrEnum):
    """Where a role holding these actions is assigned."""

    SUBSCRIPTION = "subscription"
    WORKSPACE_RESOURCE_GROUP = "workspace-resource-group"


ACTIONS_BY_SCOPE: Mapping[Scope, Mapping[str, str]] = {
    Scope.SUBSCRIPTION: {
        # gateway.list_subscriptions: the scope when REMEDIATION_SUBSCRIPTION_IDS is empty.
        "Microsoft.Resources/subscriptions/read": "list the subscriptions in scope and read their display names",
        # gateway.list_clusters / get_cluster.
        "Microsoft.ContainerService/managedClusters/read": "list and read AKS clusters",
        # gateway.list_settings.
        "Microsoft.Insights/diagnosticSettings/read": "read the clusters' diagnostic settings",
        # gateway.write_setting (only the setting named REMEDIATION_SETTING_NAME); on the cluster.
        "Microsoft.Insights/diagnosticSettings/write": "create or update our own diagnostic setting on a cluster",
        # gateway.list_setting_changes (azure/activity_log.py): the subscription's Activity Log,
        # when each diagnostic setting was last written (real ARM sends no systemData on them).
        "Microsoft.Insights/eventtypes/values/read": (
            "read the Activity Log: when diagnostic settings last changed (flow verification's grace period)"
        ),
        # gateway.get_category_metadata: category-group membership (audit, allLogs).
        "Microsoft.Insights/diagnosticSettingsCategories/read": "read which categories each category group holds",
        # gateway.workspace_state: any setting's destination, wherever it lives in the subscription.
        "Microsoft.OperationalInsights/workspaces/read": "check that a setting's destination workspace exists",
        # gateway.create_workspace polls the Azure-AsyncOperation URL, which is subscription-level:
        # /subscriptions/{id}/providers/Microsoft.OperationalInsights/locations/{region}/operationStatuses/{op}.
        "Microsoft.OperationalInsights/locations/operationStatuses/read": (
            "poll a workspace creation (the status URL is at subscription level, outside the resource group)"
        ),
    },
    Scope.WORKSPACE_RESOURCE_GROUP: {
        # gateway.resource_group_exists: the group infra pre-creates.
        "Microsoft.Resources/subscriptions/resourceGroups/read": "check the workspace resource group exists",
        # gateway.create_workspace.
        "Microsoft.OperationalInsights/workspaces/write": "create the per-region audit workspaces",
        # ARM checks it on the linked workspace when a diagnostic setting points at it
        # (LinkedAuthorizationFailed without it). The code never reads keys.
        "Microsoft.OperationalInsights/workspaces/sharedKeys/action": (
            "link a diagnostic setting to an audit workspace (ARM checks it on the destination)"
        ),
        # Flow verification (engine/flow.py, azure/logs.py): one query per destination workspace,
        # reading only the four tables the flow query names. Granted where our workspaces are; a
        # destination elsewhere (a team's own workspace) answers 403 and its clusters are
        # `unknown` (InsufficientAccessError) unless its owner grants the same read there.
        "Microsoft.OperationalInsights/workspaces/query/read": "run the flow-verification query in an audit workspace",
        "Microsoft.OperationalInsights/workspaces/query/AKSAudit/read": "read kube-audit records (flow verification)",
        "Microsoft.OperationalInsights/workspaces/query/AKSAuditAdmin/read": (
            "read kube-audit-admin records (flow verification)"
        ),
        "Microsoft.OperationalInsights/workspaces/query/AKSControlPlane/read": (
            "read the other control-plane records (flow verification)"
        ),
        "Microsoft.OperationalInsights/workspaces/query/AzureDiagnostics/read": (
            "read records of AzureDiagnostics-mode settings (flow verification)"
        ),
        # REMEDIATION_AUDIT_TABLE_PLAN=basic (engine/table_plans.py): read and set the AKSAudit
        # table's plan, only in workspaces we created (tag managed-by=aks-audit-remediation).
        "Microsoft.OperationalInsights/workspaces/tables/read": "read the AKSAudit table's plan in an audit workspace",
        "Microsoft.OperationalInsights/workspaces/tables/write": (
            "set the AKSAudit table's plan to Basic in a workspace we created"
        ),
    },
}


def actions(scope: Scope) -> tuple[str, ...]:
    """The actions granted at ``scope``, sorted."""
    return tuple(sorted(ACTIONS_BY_SCOPE[scope]))


# Every action at any scope, sorted (an action appears at one scope only; tests/infra checks).
REQUIRED_ACTIONS: tuple[str, ...] = tuple(sorted({a for granted in ACTIONS_BY_SCOPE.values() for a in granted}))
