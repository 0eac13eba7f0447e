// coverage=managementGroup: the user-assigned identity of every subscription's Event Grid system
// topic (the policy of managementgroup.bicep attaches it), with Storage Blob Data Contributor on
// the dead-letter container (rbac.bicep). One identity and one role assignment for the whole
// group: the policy deploys topics without writing any role assignment.
param location string
param tags object
param name string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
