// Event Grid system topic for this subscription's resource events (Microsoft.Resources.Subscriptions
// topics are global). Its system-assigned identity writes dead-lettered events to the storage
// account (role in rbac.bicep); the event subscription itself is in eventsubscription.bicep.
param tags object
param name string

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: 'global'
  tags: tags
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

output name string = systemTopic.name
output principalId string = systemTopic.identity.principalId
