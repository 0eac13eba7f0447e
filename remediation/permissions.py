"""The ARM actions this product needs: the single source for the custom role in infra/.

Each action sits next to the reason it is needed. ``tests/infra`` asserts that the role
definition in ``infra/`` grants exactly :data:`REQUIRED_ACTIONS`.
"""

from __future__ import annotations

from collections.abc import Mapping

ACTIONS: Mapping[str, str] = {
    # gateway.list_subscriptions: the scope when REMEDIATION_SUBSCRIPTION_IDS is empty.
    "Microsoft.Resources/subscriptions/read": "list the subscriptions in scope",
    # gateway.list_clusters / get_cluster.
    "Microsoft.ContainerService/managedClusters/read": "list and read AKS clusters",
    # gateway.list_settings / get_setting.
    "Microsoft.Insights/diagnosticSettings/read": "read the clusters' diagnostic settings",
    # gateway.create_or_update_setting (only the setting named REMEDIATION_SETTING_NAME).
    "Microsoft.Insights/diagnosticSettings/write": "create or update our own diagnostic setting",
    # gateway.list_categories: category-group membership (audit, allLogs).
    "Microsoft.Insights/diagnosticSettingsCategories/read": "read which categories each category group holds",
    # gateway.get_resource_group / begin_create_resource_group.
    "Microsoft.Resources/subscriptions/resourceGroups/read": "check the workspace resource group exists",
    "Microsoft.Resources/subscriptions/resourceGroups/write": "create the workspace resource group when missing",
    # gateway.get_workspace: whether a setting's destination still exists.
    "Microsoft.OperationalInsights/workspaces/read": "check that a setting's workspace exists",
    # gateway.begin_create_workspace.
    "Microsoft.OperationalInsights/workspaces/write": "create per-region audit workspaces",
    # ARM checks this when a diagnostic setting links to a workspace (LinkedAuthorizationFailed otherwise).
    "Microsoft.OperationalInsights/workspaces/sharedKeys/action": "link a diagnostic setting to the workspace",
}

REQUIRED_ACTIONS: tuple[str, ...] = tuple(sorted(ACTIONS))
