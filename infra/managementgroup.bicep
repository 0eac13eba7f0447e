// Step 2 with coverage = 'managementGroup' (hooks/postdeploy.sh runs it with
// `az deployment mg create` once the code is deployed): everything that lives on the
// management group, so that a subscription created under it tomorrow is covered without anyone
// running anything.
// - The app's subscription-wide role, assigned once on the group: every present and future
//   subscription under it inherits it (the app lists the group's subscriptions at every run).
// - An Azure Policy (DeployIfNotExists, policy/eventgrid-coverage.json) with its own managed
//   identity that deploys, in every subscription under the group, the Event Grid system topic and
//   the event subscription to the hub's on_resource_event, dead-lettering with the hub's
//   user-assigned topic identity. The app's identity gets no Event Grid or role-assignment right.
// - A remediation task per subscription that exists now (new ones are deployed by the policy on
//   their creation, or their move under the group).
targetScope = 'managementGroup'

@description('Subscription of the hub: the app, its storage and the topic identity (main.bicep output HUB_SUBSCRIPTION_ID).')
param hubSubscriptionId string

@description('Resource group of the app (main.bicep output AZURE_RESOURCE_GROUP).')
param resourceGroupName string

@description('Function app name (main.bicep output AZURE_FUNCTION_APP_NAME).')
param functionAppName string

@description('Name of the Event Grid-triggered function in function_app.py.')
param functionName string = 'on_resource_event'

@description('Principal ID of the function app identity (main.bicep output FUNCTION_APP_PRINCIPAL_ID).')
param functionPrincipalId string

@description('Name (GUID) of the subscription-wide custom role (main.bicep output CUSTOM_ROLE_DEFINITION_NAME).')
param subscriptionRoleDefinitionName string

@description('Storage account that receives dead-lettered events (main.bicep output STORAGE_ACCOUNT_NAME).')
param storageAccountName string

@description('Blob container for dead-lettered events (main.bicep output DEADLETTER_CONTAINER_NAME).')
param deadLetterContainerName string = 'eventgrid-deadletter'

@description('Resource ID of the topics\' user-assigned identity (main.bicep output EVENTGRID_TOPIC_IDENTITY_ID).')
param topicIdentityId string

@description('Location of the policy assignment\'s identity, of the events resource groups and of the policy\'s deployments (main.bicep output AZURE_LOCATION).')
param location string

@description('Resource group created in each subscription for its system topic.')
param eventsResourceGroupName string = 'rg-aks-audit-remediation-events'

@description('System topic name in each subscription.')
param systemTopicName string = 'evgt-aks-audit-remediation'

@description('Delivery attempts before an event is dead-lettered (1..30).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes an event is retried before it is dead-lettered (1..1440).')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

@description('Name of the policy definition and of its assignment on the group.')
@maxLength(64)
param policyName string = 'aks-audit-remediation-events'

@description('DeployIfNotExists, or AuditIfNotExists to only report the subscriptions without events.')
@allowed([
  'DeployIfNotExists'
  'AuditIfNotExists'
])
param policyEffect string = 'DeployIfNotExists'

@description('Name of the custom role of the policy\'s identity (unique in the tenant).')
param eventDeploymentRoleName string = 'AKS audit log remediation (event deployment)'

@description('Comma-separated subscriptions under the group now: one remediation task each (hooks/estate-subscriptions.sh lists them). Empty = none (create one later, infra/README.md).')
param existingSubscriptionIds string = ''

@description('Suffix of the remediation task names; a new value starts new tasks.')
param remediationRun string = utcNow('yyyyMMddHHmm')

// Built-in roles the policy's identity holds on single hub resources (each commented where assigned).
var websiteContributorRoleId = 'de139f84-1756-47ae-9be6-808fbbe84772'
var managedIdentityOperatorRoleId = 'f1a07417-d97a-45cb-824c-7a7467783830'

var policyJson = loadJsonContent('policy/eventgrid-coverage.json')
var existingList = empty(existingSubscriptionIds) ? [] : split(replace(existingSubscriptionIds, ' ', ''), ',')
var functionResourceId = '/subscriptions/${hubSubscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.Web/sites/${functionAppName}/functions/${functionName}'
var storageAccountId = '/subscriptions/${hubSubscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.Storage/storageAccounts/${storageAccountName}'
// A custom role's GUID is unique in the tenant: the tenant-level ID names it at any scope.
var subscriptionRoleId = tenantResourceId('Microsoft.Authorization/roleDefinitions', subscriptionRoleDefinitionName)

// The app's subscription-wide role, once, on the group (inherited by every subscription under it).
resource appSubscriptionRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, functionPrincipalId, subscriptionRoleId)
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionRoleId
    description: 'aks-audit-remediation function app: every subscription under the management group'
  }
}

// What the policy's deployment writes in each subscription, and nothing else: the events resource
// group, the system topic, its event subscription, and the deployment that carries them.
resource eventDeploymentRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(managementGroup().id, eventDeploymentRoleName)
  properties: {
    roleName: eventDeploymentRoleName
    description: 'aks-audit-remediation policy: deploy the Event Grid system topic and event subscription in each subscription. Source: infra/managementgroup.bicep.'
    type: 'CustomRole'
    assignableScopes: [
      managementGroup().id
    ]
    permissions: [
      {
        actions: [
          'Microsoft.Resources/subscriptions/resourceGroups/read'
          'Microsoft.Resources/subscriptions/resourceGroups/write'
          'Microsoft.Resources/deployments/read'
          'Microsoft.Resources/deployments/write'
          'Microsoft.Resources/deployments/validate/action'
          'Microsoft.Resources/deployments/operationstatuses/read'
          'Microsoft.EventGrid/systemTopics/read'
          'Microsoft.EventGrid/systemTopics/write'
          'Microsoft.EventGrid/systemTopics/eventSubscriptions/read'
          'Microsoft.EventGrid/systemTopics/eventSubscriptions/write'
          // Event Grid checks it on the event source (here the subscription) when an event
          // subscription is created (Authorizing access to Event Grid resources).
          'Microsoft.EventGrid/eventSubscriptions/read'
          'Microsoft.EventGrid/eventSubscriptions/write'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource policyDefinition 'Microsoft.Authorization/policyDefinitions@2023-04-01' = {
  name: policyName
  properties: {
    policyType: 'Custom'
    displayName: policyJson.displayName
    description: policyJson.description
    mode: policyJson.mode
    metadata: policyJson.metadata
    parameters: policyJson.parameters
    policyRule: {
      if: policyJson.policyRule.if
      then: {
        effect: policyJson.policyRule.then.effect
        details: union(policyJson.policyRule.then.details, {
          roleDefinitionIds: [
            eventDeploymentRole.id
            tenantResourceId('Microsoft.Authorization/roleDefinitions', websiteContributorRoleId)
            tenantResourceId('Microsoft.Authorization/roleDefinitions', managedIdentityOperatorRoleId)
          ]
        })
      }
    }
  }
}

resource policyAssignment 'Microsoft.Authorization/policyAssignments@2024-04-01' = {
  name: take(policyName, 24)
  location: location
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    displayName: policyJson.displayName
    policyDefinitionId: policyDefinition.id
    enforcementMode: 'Default'
    parameters: {
      effect: {
        value: policyEffect
      }
      eventsResourceGroupName: {
        value: eventsResourceGroupName
      }
      eventsLocation: {
        value: location
      }
      systemTopicName: {
        value: systemTopicName
      }
      eventSubscriptionName: {
        value: 'aks-audit-remediation'
      }
      functionResourceId: {
        value: functionResourceId
      }
      deadLetterStorageAccountId: {
        value: storageAccountId
      }
      deadLetterContainerName: {
        value: deadLetterContainerName
      }
      topicIdentityId: {
        value: topicIdentityId
      }
      maxDeliveryAttempts: {
        value: maxDeliveryAttempts
      }
      eventTimeToLiveInMinutes: {
        value: eventTimeToLiveInMinutes
      }
    }
  }
}

// The policy's identity, in every subscription under the group: its deployment's role.
resource policyEventDeployment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, policyAssignment.id, eventDeploymentRole.id)
  properties: {
    principalId: policyAssignment.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: eventDeploymentRole.id
    description: 'aks-audit-remediation policy: Event Grid topic and event subscription per subscription'
  }
}

// ... and on two hub resources: the function (Event Grid checks write access to a non-WebHook
// handler when an event subscription is created) and the topics' identity (attaching it).
module policyHubAccess 'app/policy-hub-access.bicep' = {
  name: 'aksAuditPolicyHubAccess'
  scope: resourceGroup(hubSubscriptionId, resourceGroupName)
  params: {
    principalId: policyAssignment.identity.principalId
    functionAppName: functionAppName
    topicIdentityName: last(split(topicIdentityId, '/'))
    websiteContributorRoleId: websiteContributorRoleId
    managedIdentityOperatorRoleId: managedIdentityOperatorRoleId
  }
}

// The subscriptions under the group now: one remediation task each, re-evaluating first (a new
// assignment's first compliance scan has no fixed duration; a task that waited for it would find
// nothing to remediate). Subscriptions created or moved under the group later need none.
module remediations 'app/policy-remediation.bicep' = [for id in existingList: {
  name: 'aksAuditRemediation-${uniqueString(id, remediationRun)}'
  scope: subscription(id)
  dependsOn: [
    policyEventDeployment
    policyHubAccess
  ]
  params: {
    name: '${policyName}-${remediationRun}'
    policyAssignmentId: policyAssignment.id
  }
}]

output POLICY_ASSIGNMENT_ID string = policyAssignment.id
output POLICY_PRINCIPAL_ID string = policyAssignment.identity.principalId
output REMEDIATION_TASK_COUNT int = length(existingList)
