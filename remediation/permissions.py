"""The ARM actions this product needs, each with the scope it is granted at and why.

The single source for the custom roles of the function's identity in ``infra/``
(``tests/infra`` asserts that each role grants exactly the actions of its scope here, no more,
no less):

- :attr:`Scope.SUBSCRIPTION`: assigned on every covered subscription, or once on the
  management group (``REMEDIATION_MANAGEMENT_GROUP``), whence every present and future
  subscription under it inherits it. Reading clusters, their diagnostic settings and category
  metadata, writing our own setting, reading the subscriptions and the group's descendants,
  checking that any setting's destination workspace still exists.
- :attr:`Scope.WORKSPACE_RESOURCE_GROUP`: assigned only on the resource group where the tool
  creates the per-region audit workspaces (``REMEDIATION_WORKSPACE_RESOURCE_GROUP``, in each
  covered subscription or in ``REMEDIATION_WORKSPACE_SUBSCRIPTION_ID``). Creating workspaces,
  linking settings to them, and querying them to verify that the audit records arrive.
- :attr:`Scope.WORKSPACE`: assigned on the one workspace ``REMEDIATION_WORKSPACE_ID`` names,
  never on its resource group (often a shared SOC group): linking settings to it and querying
  it. The tool does not create or change that workspace.
- :attr:`Scope.WORKSPACE_SUBSCRIPTION`: assigned on ``REMEDIATION_WORKSPACE_SUBSCRIPTION_ID``
  when the audit workspaces live in a subscription of their own: polling a workspace creation,
  whose status URL is at subscription level.

An action may be granted at two scopes (``workspaces/read`` is subscription-wide and again on
the workspace group, so that a workspace subscription outside the covered ones needs nothing
more); ``tests/infra`` lists those overlaps.

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
    WORKSPACE = "workspace"
    WORKSPACE_SUBSCRIPTION = "workspace-subscription"


# The flow-verification query's reads, granted wherever the tool queries a workspace.
_FLOW_QUERY: Mapping[str, str] = {
    "Microsoft.OperationalInsights/workspaces/query/read": "run the flow-verification query in the workspace",
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
}

ACTIONS_BY_SCOPE: Mapping[Scope, Mapping[str, str]] = {
    Scope.SUBSCRIPTION: {
        # gateway.list_subscriptions: the scope when REMEDIATION_SUBSCRIPTION_IDS is empty.
        "Microsoft.Resources/subscriptions/read": "list the subscriptions in scope and read their display names",
        # REMEDIATION_MANAGEMENT_GROUP: the group's descendant subscriptions, listed once per run
        # (GET /providers/Microsoft.Management/managementGroups/{id}/descendants). Meaningful only
        # where the role is assigned on the management group itself.
        "Microsoft.Management/managementGroups/descendants/read": (
            "list the subscriptions under the management group (REMEDIATION_MANAGEMENT_GROUP)"
        ),
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
        # gateway.workspace_state on our own workspaces, also when they live in a subscription
        # outside the covered ones (REMEDIATION_WORKSPACE_SUBSCRIPTION_ID).
        "Microsoft.OperationalInsights/workspaces/read": "read the audit workspaces' state and tags",
        # gateway.create_workspace.
        "Microsoft.OperationalInsights/workspaces/write": "create the per-region audit workspaces",
        # ARM checks it on the linked workspace when a diagnostic setting points at it
        # (LinkedAuthorizationFailed without it). The code never reads keys.
        "Microsoft.OperationalInsights/workspaces/sharedKeys/action": (
            "link a diagnostic setting to an audit workspace (ARM checks it on the destination)"
        ),
        # Flow verification (engine/flow_check.py, azure/logs.py): one query per destination workspace,
        # reading only the four tables the flow query names. Granted where our workspaces are; a
        # destination elsewhere (a team's own workspace) answers 403 and its clusters are
        # `unknown` (InsufficientAccessError) unless its owner grants the same read there.
        **_FLOW_QUERY,
        # REMEDIATION_AUDIT_TABLE_PLAN=basic (engine/table_plans.py): read and set the AKSAudit
        # table's plan, only in workspaces we created (tag managed-by=aks-audit-remediation).
        "Microsoft.OperationalInsights/workspaces/tables/read": "read the AKSAudit table's plan in an audit workspace",
        "Microsoft.OperationalInsights/workspaces/tables/write": (
            "set the AKSAudit table's plan to Basic in a workspace we created"
        ),
    },
    Scope.WORKSPACE: {
        # gateway.workspace_state: the configured workspace exists and is usable.
        "Microsoft.OperationalInsights/workspaces/read": "read the configured workspace's state and tags",
        "Microsoft.OperationalInsights/workspaces/sharedKeys/action": (
            "link a diagnostic setting to the configured workspace (ARM checks it on the destination)"
        ),
        **_FLOW_QUERY,
    },
    Scope.WORKSPACE_SUBSCRIPTION: {
        "Microsoft.OperationalInsights/locations/operationStatuses/read": (
            "poll a workspace creation in the workspace subscription (the status URL is at subscription level)"
        ),
    },
}

# Actions granted at more than one scope, each on purpose (tests/infra holds the roles to this).
OVERLAPS: Mapping[str, frozenset[Scope]] = {
    "Microsoft.OperationalInsights/workspaces/read": frozenset(
        {Scope.SUBSCRIPTION, Scope.WORKSPACE_RESOURCE_GROUP, Scope.WORKSPACE}
    ),
    "Microsoft.OperationalInsights/workspaces/sharedKeys/action": frozenset(
        {Scope.WORKSPACE_RESOURCE_GROUP, Scope.WORKSPACE}
    ),
    **{
        action: frozenset({Scope.WORKSPACE_RESOURCE_GROUP, Scope.WORKSPACE})
        for action in (
            "Microsoft.OperationalInsights/workspaces/query/read",
            "Microsoft.OperationalInsights/workspaces/query/AKSAudit/read",
            "Microsoft.OperationalInsights/workspaces/query/AKSAuditAdmin/read",
            "Microsoft.OperationalInsights/workspaces/query/AKSControlPlane/read",
            "Microsoft.OperationalInsights/workspaces/query/AzureDiagnostics/read",
        )
    },
    "Microsoft.OperationalInsights/locations/operationStatuses/read": frozenset(
        {Scope.SUBSCRIPTION, Scope.WORKSPACE_SUBSCRIPTION}
    ),
}


def actions(scope: Scope) -> tuple[str, ...]:
    """The actions granted at ``scope``, sorted."""
    return tuple(sorted(ACTIONS_BY_SCOPE[scope]))


# Every action at any scope, sorted (an action at two scopes is listed in OVERLAPS; tests/infra checks).
REQUIRED_ACTIONS: tuple[str, ...] = tuple(sorted({a for granted in ACTIONS_BY_SCOPE.values() for a in granted}))
