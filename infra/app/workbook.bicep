// An Azure Monitor workbook on the app's Application Insights: the estate at a glance (status counts
// over time, the latest sweep per subscription, clusters needing attention, flow findings, recent
// changes). Its queries are in workbook.json; tests/infra checks them like the alert rules'.
param location string
param tags object
param applicationInsightsName string

@description('Display name of the workbook.')
param displayName string = 'AKS audit log remediation'

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name must be a GUID; stable per Application Insights component.
  name: guid(applicationInsights.id, 'aks-audit-remediation-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: applicationInsights.id
    serializedData: loadTextContent('workbook.json')
    version: 'Notebook/1.0'
  }
}

output workbookId string = workbook.id
