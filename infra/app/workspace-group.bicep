// The resource group that holds the audit workspaces, pre-created so that the runtime role
// needs no Microsoft.Resources/subscriptions/resourceGroups/write, with the workspace role on it.
targetScope = 'subscription'

param name string

@description('Location of the group (metadata only). If the group already exists, use its location.')
param location string

param tags object
param principalId string
param roleDefinitionName string

resource workspaceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: name
  location: location
  tags: tags
}

module access 'workspace-access.bicep' = {
  name: 'aksAuditWorkspaceAccess'
  scope: workspaceGroup
  params: {
    principalId: principalId
    roleDefinitionName: roleDefinitionName
  }
}
