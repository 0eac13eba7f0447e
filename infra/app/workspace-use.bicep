// REMEDIATION_WORKSPACE_ID: the workspace role for that one workspace, assigned on the workspace
// itself (this module's scope is its resource group, often a shared SOC or Sentinel group, which
// gets nothing). The workspace must exist: the tool links settings to it and queries it, but
// neither creates nor changes it.
param workspaceName string
param principalId string

@description('Name (GUID) of the single-workspace custom role definition (remediation-roles.bicep).')
param roleDefinitionName string

var roleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource workspaceRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workspace.id, principalId, roleDefinitionId)
  scope: workspace
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleDefinitionId
    description: 'aks-audit-remediation function app: the configured audit workspace'
  }
}
