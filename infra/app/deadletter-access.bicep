// Storage Blob Data Contributor on the hub's dead-letter container for one more Event Grid system
// topic (a covered subscription's), so that it dead-letters with its own identity.
param storageAccountName string
param deadLetterContainerName string

@description('Principal ID of the system topic system-assigned identity.')
param systemTopicPrincipalId string

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

resource topicDeadLetter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, systemTopicPrincipalId, storageBlobDataContributorRoleId)
  scope: deadLetterContainer
  properties: {
    principalId: systemTopicPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    description: 'Event Grid system topic of a covered subscription: dead-lettering'
  }
}
