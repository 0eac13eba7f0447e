// The least-privilege custom role and its one assignment, both at subscription scope.
// The actions are exactly remediation/permissions.py REQUIRED_ACTIONS (tests/infra asserts it).
targetScope = 'subscription'

param roleName string

@description('Principal ID of the function app system-assigned identity.')
param principalId string

resource remediationRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  // Stable per subscription and role name, so redeploying updates the same definition.
  name: guid(subscription().id, roleName)
  properties: {
    roleName: roleName
    description: 'Keeps AKS control-plane audit logs on: read clusters and diagnostic settings, write our own setting, create audit workspaces. Source: remediation/permissions.py.'
    type: 'CustomRole'
    assignableScopes: [
      subscription().id
    ]
    permissions: [
      {
        actions: [
          // Diagnostic settings on clusters: read, and create/update our own setting.
          'Microsoft.Insights/diagnosticSettings/read'
          'Microsoft.Insights/diagnosticSettings/write'
          // Which categories each category group (audit, allLogs) holds.
          'Microsoft.Insights/diagnosticSettingsCategories/read'
          // List and read AKS clusters.
          'Microsoft.ContainerService/managedClusters/read'
          // Per-region audit workspaces: check they exist, create them.
          'Microsoft.OperationalInsights/workspaces/read'
          'Microsoft.OperationalInsights/workspaces/write'
          // Linking a diagnostic setting to a workspace (ARM: LinkedAuthorizationFailed without it).
          'Microsoft.OperationalInsights/workspaces/sharedKeys/action'
          // Workspace resource group: check it exists, create it when missing.
          'Microsoft.Resources/subscriptions/resourceGroups/read'
          'Microsoft.Resources/subscriptions/resourceGroups/write'
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

resource remediationRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, remediationRole.id)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: remediationRole.id
    description: 'aks-audit-remediation function app'
  }
}

output roleDefinitionId string = remediationRole.id
