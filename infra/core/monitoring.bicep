// Application Insights (workspace-based) with its own small Log Analytics workspace.
// Local (instrumentation-key) authentication is disabled: ingestion needs an Entra ID token,
// so the connection string carries no credential (see rbac.bicep: Monitoring Metrics Publisher).
param location string
param tags object
param logAnalyticsName string
param applicationInsightsName string

@description('Retention of the Application Insights workspace (telemetry of the function, not audit logs).')
param retentionInDays int = 30

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    retentionInDays: retentionInDays
    sku: {
      name: 'PerGB2018'
    }
    features: {
      disableLocalAuth: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
    IngestionMode: 'LogAnalytics'
  }
}

output applicationInsightsName string = applicationInsights.name
output logAnalyticsId string = logAnalytics.id
