// Step 2 of the deployment (azd postdeploy hook, or by hand after the code is published):
// the event subscription that sends this subscription's resource events to on_resource_event and,
// in estate mode, one in every other covered subscription delivering across subscriptions.
// Event Grid validates an AzureFunction endpoint on creation, so the function must exist first.
targetScope = 'subscription'

@description('Resource group of the app (main.bicep output AZURE_RESOURCE_GROUP).')
param resourceGroupName string

@description('Function app name (main.bicep output AZURE_FUNCTION_APP_NAME).')
param functionAppName string

@description('Event Grid system topic name (main.bicep output EVENTGRID_SYSTEM_TOPIC_NAME; empty in estate mode).')
param systemTopicName string = ''

@description('Storage account that receives dead-lettered events (main.bicep output STORAGE_ACCOUNT_NAME).')
param storageAccountName string

@description('Blob container for dead-lettered events (main.bicep output DEADLETTER_CONTAINER_NAME).')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Name of the Event Grid-triggered function in function_app.py.')
param functionName string = 'on_resource_event'

@description('Delivery attempts before an event is dead-lettered (1..30).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes an event is retried before it is dead-lettered (1..1440).')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

@description('Estate mode (main.bicep output EVENTGRID_ESTATE_SUBSCRIPTION_IDS): comma-separated covered subscriptions. Empty = this subscription only.')
param estateSubscriptionIds string = ''

@description('Estate mode (output EVENTGRID_ESTATE_RESOURCE_GROUP): resource group of the system topic in each covered subscription.')
param estateResourceGroupName string = 'rg-aks-audit-remediation-events'

@description('Estate mode (output EVENTGRID_ESTATE_TOPIC_NAME): system topic name in each covered subscription.')
param estateSystemTopicName string = 'evgt-aks-audit-remediation'

var estateList = empty(estateSubscriptionIds) ? [] : split(replace(estateSubscriptionIds, ' ', ''), ',')

// Per-subscription mode: the topic in the app's resource group.
module eventSubscription 'app/eventsubscription.bicep' = if (empty(estateList)) {
  name: 'eventSubscription'
  scope: resourceGroup(resourceGroupName)
  params: {
    functionAppName: functionAppName
    functionName: functionName
    systemTopicName: systemTopicName
    storageAccountName: storageAccountName
    deadLetterContainerName: deadLetterContainerName
    maxDeliveryAttempts: maxDeliveryAttempts
    eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
  }
}

// Estate mode: every covered subscription's topic delivers to the function in this subscription.
module estateEventSubscriptions 'app/eventsubscription.bicep' = [for id in estateList: {
  name: 'eventSubscription-${uniqueString(id)}'
  scope: resourceGroup(id, estateResourceGroupName)
  params: {
    functionAppName: functionAppName
    functionName: functionName
    systemTopicName: estateSystemTopicName
    storageAccountName: storageAccountName
    deadLetterContainerName: deadLetterContainerName
    maxDeliveryAttempts: maxDeliveryAttempts
    eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    appSubscriptionId: subscription().subscriptionId
    appResourceGroupName: resourceGroupName
  }
}]

output EVENT_SUBSCRIPTION_NAME string = 'aks-audit-remediation'
output EVENT_SUBSCRIPTION_COUNT int = empty(estateList) ? 1 : length(estateList)
