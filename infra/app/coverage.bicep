// One covered subscription (deployed with scope: subscription(id) from main.bicep, once per
// subscription): the subscription role's assignment, the audit-workspace resource group with the
// workspace role, and, in estate mode, an Event Grid system topic whose identity may dead-letter to
// the app's storage (cross-subscription). The event subscription itself is created by
// eventgrid.bicep after the code is deployed (Event Grid validates the function endpoint).
targetScope = 'subscription'

param tags object
param location string
param principalId string

@description('Name (GUID) of the subscription-wide custom role (remediation-roles.bicep).')
param subscriptionRoleDefinitionName string

@description('Name (GUID) of the workspace custom role (remediation-roles.bicep).')
param workspaceRoleDefinitionName string

@description('Pre-create REMEDIATION_WORKSPACE_RESOURCE_GROUP here and grant the workspace role on it (false when REMEDIATION_WORKSPACE_ID names one workspace).')
param perRegionWorkspaces bool

param workspaceResourceGroupName string
param workspaceResourceGroupLocation string

@description('Estate mode: this subscription gets its own system topic (main.bicep then creates none).')
param withSystemTopic bool

param eventsResourceGroupName string
param systemTopicName string
param appSubscriptionId string
param appResourceGroupName string
param storageAccountName string
param deadLetterContainerName string

var subscriptionRoleId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', subscriptionRoleDefinitionName)

resource subscriptionRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, subscriptionRoleId)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionRoleId
    description: 'aks-audit-remediation function app'
  }
}

module workspaceGroup 'workspace-group.bicep' = if (perRegionWorkspaces) {
  name: 'aksAuditWorkspaceGroup'
  params: {
    name: workspaceResourceGroupName
    location: workspaceResourceGroupLocation
    tags: tags
    principalId: principalId
    roleDefinitionName: workspaceRoleDefinitionName
  }
}

resource eventsGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = if (withSystemTopic) {
  name: eventsResourceGroupName
  location: location
  tags: tags
}

module systemTopic 'systemtopic.bicep' = if (withSystemTopic) {
  name: 'aksAuditSystemTopic'
  scope: eventsGroup
  params: {
    tags: tags
    name: systemTopicName
  }
}

module deadLetterAccess 'deadletter-access.bicep' = if (withSystemTopic) {
  name: 'aksAuditDeadLetter-${subscription().subscriptionId}'
  scope: resourceGroup(appSubscriptionId, appResourceGroupName)
  params: {
    storageAccountName: storageAccountName
    deadLetterContainerName: deadLetterContainerName
    systemTopicPrincipalId: withSystemTopic ? systemTopic.outputs.principalId : ''
  }
}
