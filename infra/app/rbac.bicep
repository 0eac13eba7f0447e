// Every role assignment on resources in the app's resource group, each named
// guid(scope, principal, role) and scoped to the one resource that needs it.
// The custom roles' assignments live in coverage.bicep and workspace-access.bicep:
// a Bicep file can only place extension resources at its own target scope.
param storageAccountName string
param deadLetterContainerName string
param applicationInsightsName string

@description('Principal ID of the function app system-assigned identity.')
param functionPrincipalId string

@description('Principal ID of the Event Grid system topic system-assigned identity. Empty in estate mode (each covered subscription\'s topic gets its role from deadletter-access.bicep).')
param systemTopicPrincipalId string

// Storage Blob Data Owner: the Functions host keeps its keys, timer-trigger leases and the Flex
// Consumption deployment package in blobs; Microsoft documents Owner (not Contributor) for an
// identity-based AzureWebJobsStorage, as the Flex Consumption quickstarts grant it.
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Storage Queue Data Contributor: the sweep queue (REMEDIATION_SWEEP_QUEUE): the timer puts messages,
// the queue trigger reads, deletes and moves them to the poison queue; host-internal queues too.
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
// Storage Table Data Contributor: the change ledger (REMEDIATION_LEDGER_TABLE) and the state table
// (REMEDIATION_STATE_TABLE).
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
// Monitoring Metrics Publisher: Entra ID ingestion into Application Insights (local auth is off).
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'
// Storage Blob Data Contributor: Event Grid writes undeliverable events to the dead-letter container.
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobServices 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobServices
  name: deadLetterContainerName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource functionBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionPrincipalId, storageBlobDataOwnerRoleId)
  scope: storage
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    description: 'Functions host storage and Flex Consumption deployment package'
  }
}

resource functionQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionPrincipalId, storageQueueDataContributorRoleId)
  scope: storage
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributorRoleId)
    description: 'Sweep queue and its poison queue; Functions host queues'
  }
}

resource functionTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionPrincipalId, storageTableDataContributorRoleId)
  scope: storage
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributorRoleId)
    description: 'Change ledger and state tables'
  }
}

resource functionMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, functionPrincipalId, monitoringMetricsPublisherRoleId)
  scope: applicationInsights
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    description: 'Entra ID telemetry ingestion'
  }
}

resource systemTopicDeadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(systemTopicPrincipalId)) {
  name: guid(deadLetterContainer.id, systemTopicPrincipalId, storageBlobDataContributorRoleId)
  scope: deadLetterContainer
  properties: {
    principalId: systemTopicPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    description: 'Event Grid dead-lettering with the system topic identity'
  }
}
