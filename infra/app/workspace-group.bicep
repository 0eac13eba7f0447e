// The resource group that holds the audit workspaces, pre-created so that the runtime role
// needs no Microsoft.Resources/subscriptions/resourceGroups/write, with the workspace role on it;
// for REMEDIATION_WORKSPACE_SUBSCRIPTION_ID also the workspace-subscription role on the subscription.
targetScope = 'subscription'

param name string

@description('Location of the group (metadata only). If the group already exists, use its location.')
param location string

param tags object
param principalId string
param roleDefinitionName string

@description('Name (GUID) of the workspace-subscription role to assign on this subscription. Empty = none (the subscription role covers it).')
param subscriptionRoleDefinitionName string = ''

var subscriptionRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', empty(subscriptionRoleDefinitionName) ? roleDefinitionName : subscriptionRoleDefinitionName)

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

resource workspaceSubscriptionAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(subscriptionRoleDefinitionName)) {
  name: guid(subscription().id, principalId, subscriptionRoleId)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionRoleId
    description: 'aks-audit-remediation function app: poll workspace creations'
  }
}
