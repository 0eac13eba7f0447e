// The policy's identity (managementgroup.bicep) on two hub resources, each the one resource that
// needs it: the function app, because Event Grid checks that whoever creates an event
// subscription may write to a non-WebHook handler; the topics' user-assigned identity, because
// attaching a user-assigned identity to a resource needs its assign action.
param principalId string
param functionAppName string
param topicIdentityName string

// Website Contributor: Microsoft.Web/sites/*, on this one function app.
param websiteContributorRoleId string
// Managed Identity Operator: read and assign user-assigned identities, on this one identity.
param managedIdentityOperatorRoleId string

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource topicIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: topicIdentityName
}

resource policyFunctionWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(site.id, principalId, websiteContributorRoleId)
  scope: site
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', websiteContributorRoleId)
    description: 'aks-audit-remediation policy: the function as an Event Grid handler'
  }
}

resource policyIdentityOperator 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topicIdentity.id, principalId, managedIdentityOperatorRoleId)
  scope: topicIdentity
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', managedIdentityOperatorRoleId)
    description: 'aks-audit-remediation policy: attach the topic identity'
  }
}
