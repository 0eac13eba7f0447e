// The Function app: Flex Consumption (FC1) on Linux, Python 3.11, system-assigned identity.
// Storage and Application Insights are reached with that identity only (no keys anywhere).
param location string
param tags object
param name string
param planName string
param storageAccountName string
param deploymentContainerName string
param applicationInsightsName string
param maximumInstanceCount int
param instanceMemoryMB int

@description('REMEDIATION_* settings (name -> value), merged into the app settings.')
param appSettings object

@description('azd service name in azure.yaml: azd finds the app to deploy to through this tag.')
param serviceName string = 'remediation'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Host settings: identity-based storage and Entra ID telemetry ingestion. Flex Consumption sets
// FUNCTIONS_WORKER_RUNTIME and FUNCTIONS_EXTENSION_VERSION itself (functionAppConfig.runtime),
// so they are not app settings.
var hostSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storage.name
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: storage.properties.primaryEndpoints.blob
  }
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: storage.properties.primaryEndpoints.queue
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: storage.properties.primaryEndpoints.table
  }
  {
    // Not a secret: local authentication is disabled on the component (core/monitoring.bicep),
    // so ingestion also needs an Entra ID token of this app's identity.
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'Authorization=AAD'
  }
]

var remediationSettings = [for setting in items(appSettings): {
  name: setting.key
  value: setting.value
}]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  //checkov:skip=CKV_AZURE_225: Flex Consumption zone redundancy is not offered in every Flex region; a missed run is harmless because the hourly sweep is idempotent and catches up
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  //checkov:skip=CKV_AZURE_222: Event Grid delivers to the function over its public endpoint; HTTP functions need a function key (AuthLevel.FUNCTION), private networking is out of scope
  //checkov:skip=CKV_AZURE_17: the callers (Event Grid, operators with a function key) cannot present client certificates; requests are authenticated with function/system keys
  //checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero per event; a minimum instance count (always ready) would only add cost for an hourly job
  //checkov:skip=CKV_AZURE_213: health check evicts unhealthy instances of a long-lived pool; Flex Consumption instances are per-demand, and failures surface as failed executions in App Insights
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      appSettings: concat(hostSettings, remediationSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// No basic-auth publishing credentials (FTP or SCM): deployments use Entra ID.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = site.name
output id string = site.id
output defaultHostName string = site.properties.defaultHostName
output principalId string = site.identity.principalId
