// Storage for the Functions host (blobs, queues, tables), the Flex Consumption deployment
// package, the Event Grid dead-letter container, the change ledger and state tables, and the
// sweep queue (with the poison queue the Functions host moves failed messages to).
// Identity-only: shared keys are disabled, so no connection string or SAS can work.
param location string
param tags object
@minLength(3)
@maxLength(24)
param name string
param deploymentContainerName string
param deadLetterContainerName string
param ledgerTableName string
param stateTableName string
@minLength(3)
@maxLength(56)
param sweepQueueName string
@description('Storage account of the tamper-evident change ledger (its own, see below).')
@minLength(3)
@maxLength(24)
param ledgerAccountName string
@description('REMEDIATION_LEDGER_CONTAINER: the ledger\'s blob container.')
@minLength(3)
@maxLength(63)
param ledgerContainerName string
@description('REMEDIATION_LEDGER_RETENTION_DAYS: how long each ledger record stays immutable.')
@minValue(1)
@maxValue(146000)
param ledgerRetentionDays int

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35: a Flex Consumption app without VNet integration reaches its host storage over the public endpoint; shared keys are off, so only Entra ID principals holding a data role get in
  //checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35 (public endpoint, identity-only access); anonymous blob access is separately off (allowBlobPublicAccess: false)
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    // Geo-redundant: the change ledger is the audit trail of every change made.
    name: 'Standard_GRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobServices 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobServices
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobServices
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableServices 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource ledgerTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableServices
  name: ledgerTableName
}

resource stateTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableServices
  name: stateTableName
}

resource queueServices 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource sweepQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueServices
  name: sweepQueueName
}

resource sweepPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueServices
  name: '${sweepQueueName}-poison'
}

// The tamper-evident change ledger (REMEDIATION_LEDGER_CONTAINER): append blobs holding a hash chain of
// every change record, in a storage account of its own, so that no role the Functions host needs on
// the account above reaches it. Version-level immutability (WORM) on its container, with a default
// time-based retention policy of ledgerRetentionDays that allows protected append writes: a block once
// appended cannot be changed or deleted for the retention, by anyone; an overwrite (which the app's
// identity may not even attempt: infra/app/ledger-access.bicep) would only add a version. The policy is
// deployed unlocked: lock it (docs/security.md) once the retention is right; a locked policy can be
// extended, never shortened or removed.
resource ledgerStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  //checkov:skip=CKV_AZURE_35: a Flex Consumption app without VNet integration reaches the ledger over the public endpoint; shared keys are off, so only Entra ID principals holding a data role get in
  //checkov:skip=CKV_AZURE_59: same reason as CKV_AZURE_35 (public endpoint, identity-only access); anonymous blob access is separately off (allowBlobPublicAccess: false)
  //checkov:skip=CKV_AZURE_43: checkov reads the parameter's identifier (ledgerAccountName), not its value; main.bicep passes st<resourceToken>lg (lower case, at most 24 characters) and the parameter's length limits hold it to 3..24
  name: ledgerAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_GRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource ledgerBlobServices 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: ledgerStorage
  name: 'default'
  properties: {
    // Version-level immutability needs blob versioning.
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource ledgerContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: ledgerBlobServices
  name: ledgerContainerName
  properties: {
    publicAccess: 'None'
    immutableStorageWithVersioning: {
      enabled: true
    }
  }
}

resource ledgerRetention 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: ledgerContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: ledgerRetentionDays
    allowProtectedAppendWrites: true
  }
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output ledgerAccountName string = ledgerStorage.name
output ledgerBlobEndpoint string = ledgerStorage.properties.primaryEndpoints.blob
