// The two least-privilege custom roles of the function's identity, split by the scope they are
// assigned at (remediation/permissions.py ACTIONS_BY_SCOPE; tests/infra asserts both, per scope):
// - subscriptionRole: on every covered subscription (read clusters and settings, write our setting);
// - workspaceRole: only on the resource group that holds the audit workspaces (create workspaces,
//   link settings to them).
// Defined once, in the app's subscription, assignable in every covered subscription: a custom
// role's name is unique in the tenant, so the same definition cannot be created per subscription.
// The assignments are in coverage.bicep and workspace-access.bicep.
targetScope = 'subscription'

@description('Name of the subscription-wide custom role.')
param subscriptionRoleName string

@description('Name of the custom role assigned on the workspace resource group only.')
param workspaceRoleName string

@description('Scopes where the roles may be assigned: /subscriptions/<id> of every covered subscription.')
param assignableScopes array

resource subscriptionRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  // Stable per subscription and role name, so redeploying updates the same definition.
  name: guid(subscription().id, subscriptionRoleName)
  properties: {
    roleName: subscriptionRoleName
    description: 'aks-audit-remediation, every covered subscription: read clusters, diagnostic settings and categories, write our own setting, check destination workspaces. Source: remediation/permissions.py.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          // Diagnostic settings on clusters: read, and create/update our own setting.
          'Microsoft.Insights/diagnosticSettings/read'
          'Microsoft.Insights/diagnosticSettings/write'
          // Which categories each category group (audit, allLogs) holds.
          'Microsoft.Insights/diagnosticSettingsCategories/read'
          'Microsoft.Insights/eventtypes/values/read' // Activity Log: when settings last changed (no systemData)
          // List and read AKS clusters.
          'Microsoft.ContainerService/managedClusters/read'
          // Whether a setting's destination workspace (anywhere in the subscription) still exists.
          'Microsoft.OperationalInsights/workspaces/read'
          // Polling a workspace creation: the Azure-AsyncOperation URL is subscription-level.
          'Microsoft.OperationalInsights/locations/operationStatuses/read'
          // The subscriptions in scope.
          'Microsoft.Resources/subscriptions/read'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource workspaceRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, workspaceRoleName)
  properties: {
    roleName: workspaceRoleName
    description: 'aks-audit-remediation, the audit-workspace resource group only: create workspaces and link diagnostic settings to them. Source: remediation/permissions.py.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          // The workspace resource group (pre-created by infra): check it exists.
          'Microsoft.Resources/subscriptions/resourceGroups/read'
          // Create the per-region audit workspaces.
          'Microsoft.OperationalInsights/workspaces/write'
          // ARM checks it on the destination when a diagnostic setting links to a workspace
          // (LinkedAuthorizationFailed without it). Granted here only, never subscription-wide.
          'Microsoft.OperationalInsights/workspaces/sharedKeys/action'
          // Flow verification: one Log Analytics query per audit workspace, over these tables only.
          'Microsoft.OperationalInsights/workspaces/query/read'
          'Microsoft.OperationalInsights/workspaces/query/AKSAudit/read'
          'Microsoft.OperationalInsights/workspaces/query/AKSAuditAdmin/read'
          'Microsoft.OperationalInsights/workspaces/query/AKSControlPlane/read'
          'Microsoft.OperationalInsights/workspaces/query/AzureDiagnostics/read'
          // REMEDIATION_AUDIT_TABLE_PLAN=basic: the AKSAudit table's plan in the workspaces we created.
          'Microsoft.OperationalInsights/workspaces/tables/read'
          'Microsoft.OperationalInsights/workspaces/tables/write'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

// Role definition names (GUIDs): assignments build the ID in their own subscription.
output subscriptionRoleName string = subscriptionRole.name
output workspaceRoleName string = workspaceRole.name
output subscriptionRoleDefinitionId string = subscriptionRole.id
output workspaceRoleDefinitionId string = workspaceRole.id
