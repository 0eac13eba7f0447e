// The tamper-evident change ledger's one role (REMEDIATION_LEDGER_CONTAINER, remediation/azure/ledger_chain.py):
// the function's identity may read the ledger's append blobs and append to them, nothing else.
// - blobs/read: list the parts, read the chain's tip and verify the chain;
// - blobs/add/action: create a new append blob and append blocks to it ("add" content only: a Put Blob
//   over an existing blob, and so an overwrite, needs blobs/write, which this role does not hold);
// - no blobs/write, no blobs/delete, no immutability-policy action, no container action.
// The container's version-level time-based retention policy (core/storage.bicep) makes every
// version immutable for its retention, whoever asks; this role keeps the app's identity from even
// writing a new version. The ledger has a storage account of its own: the Storage Blob Data Owner
// role the Functions host needs on its own account (rbac.bicep) does not reach it.
param ledgerAccountName string
param ledgerContainerName string

@description('Principal ID of the function app system-assigned identity.')
param functionPrincipalId string

@description('Name of the custom role (unique in the tenant).')
param roleName string

resource ledgerAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: ledgerAccountName
}

resource ledgerBlobServices 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: ledgerAccount
  name: 'default'
}

resource ledgerContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: ledgerBlobServices
  name: ledgerContainerName
}

resource ledgerAppenderRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, roleName)
  properties: {
    roleName: roleName
    description: 'aks-audit-remediation change ledger: read and append to its append blobs; never overwrite or delete. Source: infra/app/ledger-access.bicep.'
    type: 'CustomRole'
    assignableScopes: [
      resourceGroup().id
    ]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: [
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read'
          'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action'
        ]
        notDataActions: []
      }
    ]
  }
}

resource ledgerAppender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(ledgerContainer.id, functionPrincipalId, ledgerAppenderRole.id)
  scope: ledgerContainer
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: ledgerAppenderRole.id
    description: 'Change ledger: read and append only'
  }
}
