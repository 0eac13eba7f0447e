// Subscription resource events -> the Event Grid-triggered function, filtered in Event Grid to
// exactly what remediation/app/events.py handles (tests/infra asserts both lists), so unrelated
// writes never wake the function. Undeliverable events are dead-lettered to blob storage with
// the system topic's own identity (Storage Blob Data Contributor on the container, rbac.bicep, or
// deadletter-access.bicep for a covered subscription's topic). In estate mode the topic is in a
// covered subscription and the function and storage in the app's (cross-subscription delivery).
param functionAppName string
param functionName string
param systemTopicName string
param storageAccountName string
param deadLetterContainerName string
param maxDeliveryAttempts int
param eventTimeToLiveInMinutes int

@description('Subscription of the function app and its storage (default: the topic\'s own).')
param appSubscriptionId string = subscription().subscriptionId

@description('Resource group of the function app and its storage (default: the topic\'s own).')
param appResourceGroupName string = resourceGroup().name

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
  scope: resourceGroup(appSubscriptionId, appResourceGroupName)
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
  scope: resourceGroup(appSubscriptionId, appResourceGroupName)
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource eventSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: 'aks-audit-remediation'
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${site.id}/functions/${functionName}'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Resources.ResourceWriteSuccess'
        'Microsoft.Resources.ResourceDeleteSuccess'
      ]
      // StringIn is case-insensitive in Event Grid: operation names arrive in varying case.
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.operationName'
          values: [
            'Microsoft.ContainerService/managedClusters/write'
            'Microsoft.Insights/diagnosticSettings/write'
            'Microsoft.Insights/diagnosticSettings/delete'
          ]
        }
      ]
      enableAdvancedFilteringOnArrays: false
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output name string = eventSubscription.name
