// The workspace role, assigned on the resource group that holds the audit workspaces (this
// module's scope) and nowhere else.
param principalId string

@description('Name (GUID) of the workspace custom role definition (remediation-roles.bicep).')
param roleDefinitionName string

var roleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionName)

resource workspaceRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, roleDefinitionId)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleDefinitionId
    description: 'aks-audit-remediation function app: audit workspaces'
  }
}
