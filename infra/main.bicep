// aks-audit-remediation: everything the Function app needs, in one subscription-scope deployment.
// Three shapes (infra/README.md):
// - per subscription (estateSubscriptionIds empty): the app covers the subscription it is deployed in;
// - estate (estateSubscriptionIds = a list): this subscription is the hub that runs the one app, and
//   app/coverage.bicep is deployed with scope: subscription(id) into every covered subscription
//   (role assignments, the audit-workspace resource group, an Event Grid system topic);
// - management group (coverage = 'managementGroup'): this subscription is the hub; the app lists
//   the group's subscriptions at every run, its subscription-wide role is assigned once on the
//   group and an Azure Policy deploys each subscription's Event Grid topic (managementgroup.bicep).
// The Event Grid event subscriptions are deployed afterwards by eventgrid.bicep, or by the policy
// of managementgroup.bicep (hooks/postdeploy.sh): Event Grid validates the AzureFunction endpoint,
// so the function code must exist first.
targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------
// Deployment
// ---------------------------------------------------------------------------------------------
@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds every generated name and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region of the resource group and every regional resource (Flex Consumption must be available there).')
param location string

@description('Resource group for the app. Empty = rg-<environmentName>.')
param resourceGroupName string = ''

@description('Storage account name (3-24 lowercase letters and digits). Empty = generated.')
param storageAccountName string = ''

@description('Flex Consumption plan name. Empty = generated.')
param appServicePlanName string = ''

@description('Function app name (globally unique host name). Empty = generated.')
param functionAppName string = ''

@description('Application Insights name. Empty = generated.')
param applicationInsightsName string = ''

@description('Log Analytics workspace that backs Application Insights (not the audit workspace). Empty = generated.')
param logAnalyticsName string = ''

@description('Event Grid system topic for this subscription. Empty = generated.')
param systemTopicName string = ''

@description('Name of the subscription-wide custom role (unique in the tenant).')
param customRoleName string = 'AKS audit log remediation'

@description('Name of the custom role assigned on the audit-workspace resource group only (unique in the tenant).')
param workspaceRoleName string = 'AKS audit log remediation (workspaces)'

@description('Name of the custom role assigned on the one workspace of REMEDIATION_WORKSPACE_ID only (unique in the tenant).')
param workspaceResourceRoleName string = 'AKS audit log remediation (workspace)'

@description('Name of the custom role assigned on REMEDIATION_WORKSPACE_SUBSCRIPTION_ID only (unique in the tenant).')
param workspaceSubscriptionRoleName string = 'AKS audit log remediation (workspace subscription)'

@description('Location of the audit-workspace resource group(s) this deployment pre-creates. Empty = location. If a group already exists, give its location.')
param workspaceResourceGroupLocation string = ''

// ---------------------------------------------------------------------------------------------
// Coverage: this subscription, a list (estate mode), or a management group
// ---------------------------------------------------------------------------------------------
@description('subscriptions: this subscription, or the estateSubscriptionIds list. managementGroup: every present and future subscription under managementGroupId (listed by the app at each run; step 2 is managementgroup.bicep).')
@allowed([
  'subscriptions'
  'managementGroup'
])
param coverage string = 'subscriptions'

@description('coverage=managementGroup: the management group ID (its name, not its display name). Sets REMEDIATION_MANAGEMENT_GROUP.')
param managementGroupId string = ''

@description('coverage=managementGroup: name of the user-assigned identity that every subscription\'s Event Grid system topic uses to dead-letter into this app\'s storage. Empty = generated.')
param topicIdentityName string = ''

@description('Estate mode: comma-separated GUIDs of every subscription the app covers (this one included only if listed). Empty = this subscription only. Sets REMEDIATION_SUBSCRIPTION_IDS.')
param estateSubscriptionIds string = ''

@description('Estate mode: resource group created in each covered subscription (other than this one) for its Event Grid system topic.')
param estateEventsResourceGroupName string = 'rg-aks-audit-remediation-events'

@description('Estate mode: name of the Event Grid system topic in each covered subscription (other than this one).')
param estateSystemTopicName string = 'evgt-aks-audit-remediation'

// ---------------------------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------------------------
@description('E-mail address the alert rules notify (through the action group). Empty = the rules exist without notifications.')
param alertEmail string = ''

@description('How long without a sweep (or without a sweep of one subscription) before an alert fires, in minutes. Default: two hourly schedules and a half.')
@minValue(15)
@maxValue(2880)
param sweepOverdueMinutes int = 150

@description('Maximum instances of the Flex Consumption app (40..1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Instance memory of the Flex Consumption app in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

// ---------------------------------------------------------------------------------------------
// Remediation settings: one parameter per setting in remediation/config/settings.py, same defaults.
// ---------------------------------------------------------------------------------------------
@description('REMEDIATION_WORKSPACE_ID: one Log Analytics workspace (full resource ID) for every cluster. Empty = the function creates one workspace per region.')
param auditWorkspaceId string = ''

@description('REMEDIATION_SUBSCRIPTION_IDS: comma-separated subscription GUIDs in scope. Empty = every subscription the identity can list (the custom role is assigned in this subscription only).')
param remediationSubscriptionIds string = ''

@description('REMEDIATION_CATEGORIES: required log categories.')
param remediationCategories string = 'kube-audit,kube-audit-admin,kube-apiserver,kube-controller-manager,kube-scheduler'

@description('REMEDIATION_SETTING_NAME: name of the diagnostic setting the function owns.')
param remediationSettingName string = 'aks-audit-remediation'

@description('REMEDIATION_WORKSPACE_RESOURCE_GROUP: resource group of the per-region workspaces (in each cluster subscription, or in REMEDIATION_WORKSPACE_SUBSCRIPTION_ID).')
param remediationWorkspaceResourceGroup string = 'rg-aks-audit-logs'

@description('REMEDIATION_WORKSPACE_SUBSCRIPTION_ID: one subscription for every per-region workspace (cross-subscription destinations are allowed within a tenant). Empty = each cluster\'s own subscription; with coverage=managementGroup, empty = this (hub) subscription.')
param remediationWorkspaceSubscriptionId string = ''

@description('REMEDIATION_WORKSPACE_NAME_PREFIX: per-region workspace name = prefix + cluster location.')
param remediationWorkspaceNamePrefix string = 'law-aks-audit-'

@description('REMEDIATION_WORKSPACE_RETENTION_DAYS: retention of the workspaces the function creates (30..730).')
param remediationWorkspaceRetentionDays string = '90'

@description('REMEDIATION_DESTINATION_TABLES: resource-specific or azure-diagnostics.')
@allowed([
  'resource-specific'
  'azure-diagnostics'
])
param remediationDestinationTables string = 'resource-specific'

@description('REMEDIATION_ACCEPTED_DESTINATIONS: which existing sinks count as compliant: log-analytics or any.')
@allowed([
  'log-analytics'
  'any'
])
param remediationAcceptedDestinations string = 'log-analytics'

@description('REMEDIATION_EXCLUDE_TAG: clusters carrying this tag (key=value) are never touched.')
param remediationExcludeTag string = 'aks-audit-remediation=exclude'

@description('REMEDIATION_MODE: what the timer and Event Grid triggers do. Start with report, then switch to apply.')
@allowed([
  'apply'
  'report'
])
param remediationMode string = 'apply'

@description('REMEDIATION_MAX_CONCURRENCY: clusters processed at once; auto = from the subscriptions in scope and ARM round trip (auto or 1..64).')
param remediationMaxConcurrency string = 'auto'

@description('REMEDIATION_CLOUD: AzureCloud, AzureChinaCloud or AzureUSGovernment.')
@allowed([
  'AzureCloud'
  'AzureChinaCloud'
  'AzureUSGovernment'
])
param remediationCloud string = 'AzureCloud'

@description('REMEDIATION_ARM_ENDPOINT: overrides the ARM endpoint. Empty = from REMEDIATION_CLOUD.')
param remediationArmEndpoint string = ''

@description('REMEDIATION_DEADLINE_SECONDS: time budget of every run in seconds (1..86400). Empty = the budget of each trigger.')
param remediationDeadlineSeconds string = ''
@description('REMEDIATION_VERIFY_FLOW: true or false: query each destination workspace once per run to prove the audit records arrive.')
@allowed([
  'true'
  'false'
])
param remediationVerifyFlow string = 'true'

@description('REMEDIATION_LOGS_ENDPOINT: overrides the Log Analytics query endpoint. Empty = from REMEDIATION_CLOUD.')
param remediationLogsEndpoint string = ''

@description('REMEDIATION_FLOW_LOOKBACK_HOURS: how far back flow verification looks for records (1..168).')
param remediationFlowLookbackHours string = '24'

@description('REMEDIATION_FLOW_GRACE_MINUTES: a setting modified less than this long ago is pending, not silent (0..1440).')
param remediationFlowGraceMinutes string = '90'

@description('REMEDIATION_AUDIT_TABLE_PLAN: analytics or basic: the AKSAudit table plan in workspaces the function created.')
@allowed([
  'analytics'
  'basic'
])
param remediationAuditTablePlan string = 'analytics'

@description('REMEDIATION_BASELINES: baselines each cluster is judged against in reports: all, none, or comma-separated ids (docs/baselines.md).')
param remediationBaselines string = 'all'

@description('REMEDIATION_SCHEDULE: NCRONTAB schedule of the timer sweep (default hourly).')
param remediationSchedule string = '0 0 * * * *'

@description('REMEDIATION_LEDGER_TABLE: Azure Table (created here) that keeps every change record.')
param remediationLedgerTable string = 'remediationchanges'

@description('REMEDIATION_SWEEP_QUEUE: Storage queue (created here, with its -poison queue) of the timer fan-out, one message per subscription.')
@minLength(3)
@maxLength(56)
param remediationSweepQueue string = 'remediation-sweep'

@description('REMEDIATION_SWEEP_SPREAD_SECONDS: spread the fan-out messages evenly over this many seconds (0..3600).')
param remediationSweepSpreadSeconds string = '0'

@description('REMEDIATION_STATE_TABLE: Azure Table (created here) of each cluster latest observed outcome, read by /api/status.')
param remediationStateTable string = 'remediationstate'

@description('REMEDIATION_LEDGER_CONTAINER: blob container (created here, in the ledger\'s own storage account, WORM) of the tamper-evident change ledger.')
param remediationLedgerContainer string = 'remediation-ledger'

@description('REMEDIATION_LEDGER_RETENTION_DAYS: days each ledger record stays immutable, the container\'s version-level retention policy (1..146000).')
param remediationLedgerRetentionDays string = '365'

@description('Storage account name of the change ledger; default st<token>lg.')
param ledgerStorageAccountName string = ''

@description('Name of the ledger\'s custom role (read and append only); unique in the tenant.')
param ledgerRoleName string = ''

@description('REMEDIATION_EVENT_COALESCE_SECONDS: cluster-write events within this many seconds after a reconcile of the cluster cost no ARM read (0..3600).')
param remediationEventCoalesceSeconds string = '30'

@description('REMEDIATION_REPORT_CACHE_SECONDS: GET /api/report serves a result younger than this again, with its age (0..3600).')
param remediationReportCacheSeconds string = '300'

@description('REMEDIATION_REPORT_MAX_CLUSTERS: at most this many named clusters per /api/report or /api/status request (1..1000).')
param remediationReportMaxClusters string = '50'

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------
var abbrs = {
  resourceGroup: 'rg-'
  storageAccount: 'st'
  serverFarm: 'plan-'
  functionApp: 'func-'
  applicationInsights: 'appi-'
  logAnalytics: 'log-'
  systemTopic: 'evgt-'
  managedIdentity: 'id-'
}
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var rgName = empty(resourceGroupName) ? '${abbrs.resourceGroup}${environmentName}' : resourceGroupName
var appName = empty(functionAppName) ? '${abbrs.functionApp}${resourceToken}' : functionAppName
var deploymentContainerName = 'app-package-${take(resourceToken, 7)}'
var deadLetterContainerName = 'eventgrid-deadletter'

// Management group mode: no per-subscription deployment at all; the group is the one scope.
var managementGroupMode = coverage == 'managementGroup'
var managementGroupScope = '/providers/Microsoft.Management/managementGroups/${managementGroupId}'
// The covered subscriptions: the estate list, or this subscription alone (none in group mode).
var estateList = (managementGroupMode || empty(estateSubscriptionIds)) ? [] : split(replace(estateSubscriptionIds, ' ', ''), ',')
var perSubscriptionMode = (!managementGroupMode) && empty(estateList)
var coveredSubscriptions = managementGroupMode ? [] : (empty(estateList) ? [
  subscription().subscriptionId
] : estateList)
var coveredScopes = [for id in coveredSubscriptions: '/subscriptions/${id}']
// REMEDIATION_WORKSPACE_ID set: one workspace, which gets the (narrower) workspace role itself.
var singleWorkspace = !empty(auditWorkspaceId)
var singleWorkspaceSubscriptionId = singleWorkspace ? split(auditWorkspaceId, '/')[2] : ''
var singleWorkspaceResourceGroup = singleWorkspace ? split(auditWorkspaceId, '/')[4] : ''
var singleWorkspaceName = singleWorkspace ? last(split(auditWorkspaceId, '/')) : ''
// REMEDIATION_WORKSPACE_SUBSCRIPTION_ID: every per-region workspace in one subscription (group
// mode: this hub subscription unless said otherwise), whose workspace group alone gets the role.
var workspaceSubscriptionSetting = (managementGroupMode && empty(remediationWorkspaceSubscriptionId)) ? subscription().subscriptionId : remediationWorkspaceSubscriptionId
var oneWorkspaceSubscription = (!singleWorkspace) && (!empty(workspaceSubscriptionSetting))
var roleAssignableScopes = union([
  subscription().id
], coveredScopes, managementGroupMode ? [
  managementGroupScope
] : [], singleWorkspace ? [
  '/subscriptions/${singleWorkspaceSubscriptionId}'
] : [], oneWorkspaceSubscription ? [
  '/subscriptions/${workspaceSubscriptionSetting}'
] : [])
// Per-subscription infra scopes the app to its own subscription, so the event path's scope check
// is on too; group mode takes REMEDIATION_SUBSCRIPTION_IDS as an optional narrowing of the group.
var subscriptionIdsSetting = managementGroupMode ? remediationSubscriptionIds : (empty(estateList) ? (empty(remediationSubscriptionIds) ? subscription().subscriptionId : remediationSubscriptionIds) : join(coveredSubscriptions, ','))
var workspaceGroupLocation = empty(workspaceResourceGroupLocation) ? location : workspaceResourceGroupLocation

// Every REMEDIATION_* app setting, each from its parameter (tests/infra asserts names and defaults).
var remediationAppSettings = {
  REMEDIATION_SUBSCRIPTION_IDS: subscriptionIdsSetting
  REMEDIATION_MANAGEMENT_GROUP: managementGroupMode ? managementGroupId : ''
  REMEDIATION_WORKSPACE_SUBSCRIPTION_ID: singleWorkspace ? '' : workspaceSubscriptionSetting
  REMEDIATION_CATEGORIES: remediationCategories
  REMEDIATION_SETTING_NAME: remediationSettingName
  REMEDIATION_WORKSPACE_ID: auditWorkspaceId
  REMEDIATION_WORKSPACE_RESOURCE_GROUP: remediationWorkspaceResourceGroup
  REMEDIATION_WORKSPACE_NAME_PREFIX: remediationWorkspaceNamePrefix
  REMEDIATION_WORKSPACE_RETENTION_DAYS: remediationWorkspaceRetentionDays
  REMEDIATION_DESTINATION_TABLES: remediationDestinationTables
  REMEDIATION_ACCEPTED_DESTINATIONS: remediationAcceptedDestinations
  REMEDIATION_EXCLUDE_TAG: remediationExcludeTag
  REMEDIATION_MODE: remediationMode
  REMEDIATION_MAX_CONCURRENCY: remediationMaxConcurrency
  REMEDIATION_CLOUD: remediationCloud
  REMEDIATION_ARM_ENDPOINT: remediationArmEndpoint
  REMEDIATION_DEADLINE_SECONDS: remediationDeadlineSeconds
  REMEDIATION_VERIFY_FLOW: remediationVerifyFlow
  REMEDIATION_LOGS_ENDPOINT: remediationLogsEndpoint
  REMEDIATION_FLOW_LOOKBACK_HOURS: remediationFlowLookbackHours
  REMEDIATION_FLOW_GRACE_MINUTES: remediationFlowGraceMinutes
  REMEDIATION_AUDIT_TABLE_PLAN: remediationAuditTablePlan
  REMEDIATION_BASELINES: remediationBaselines
  REMEDIATION_SCHEDULE: remediationSchedule
  REMEDIATION_LEDGER_TABLE: remediationLedgerTable
  REMEDIATION_SWEEP_QUEUE: remediationSweepQueue
  REMEDIATION_SWEEP_SPREAD_SECONDS: remediationSweepSpreadSeconds
  REMEDIATION_STATE_TABLE: remediationStateTable
  REMEDIATION_LEDGER_CONTAINER: remediationLedgerContainer
  REMEDIATION_LEDGER_RETENTION_DAYS: remediationLedgerRetentionDays
  REMEDIATION_LEDGER_BLOB_ENDPOINT: storage.outputs.ledgerBlobEndpoint
  REMEDIATION_EVENT_COALESCE_SECONDS: remediationEventCoalesceSeconds
  REMEDIATION_REPORT_CACHE_SECONDS: remediationReportCacheSeconds
  REMEDIATION_REPORT_MAX_CLUSTERS: remediationReportMaxClusters
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------
resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: rgName
  location: location
  tags: tags
}

module monitoring 'core/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: empty(logAnalyticsName) ? '${abbrs.logAnalytics}${resourceToken}' : logAnalyticsName
    applicationInsightsName: empty(applicationInsightsName) ? '${abbrs.applicationInsights}${resourceToken}' : applicationInsightsName
  }
}

module storage 'core/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: empty(storageAccountName) ? '${abbrs.storageAccount}${resourceToken}' : storageAccountName
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    ledgerTableName: remediationLedgerTable
    stateTableName: remediationStateTable
    sweepQueueName: remediationSweepQueue
    ledgerAccountName: empty(ledgerStorageAccountName) ? take('${abbrs.storageAccount}${resourceToken}lg', 24) : ledgerStorageAccountName
    ledgerContainerName: remediationLedgerContainer
    ledgerRetentionDays: int(remediationLedgerRetentionDays)
  }
}

// The change ledger's one role: read and append to its append blobs, never overwrite or delete.
module ledgerAccess 'app/ledger-access.bicep' = {
  name: 'ledgerAccess'
  scope: rg
  params: {
    ledgerAccountName: storage.outputs.ledgerAccountName
    ledgerContainerName: remediationLedgerContainer
    functionPrincipalId: functionApp.outputs.principalId
    roleName: empty(ledgerRoleName) ? 'AKS audit remediation ledger appender (${resourceToken})' : ledgerRoleName
  }
}

module functionApp 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    location: location
    tags: tags
    name: appName
    planName: empty(appServicePlanName) ? '${abbrs.serverFarm}${resourceToken}' : appServicePlanName
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    appSettings: remediationAppSettings
  }
}

// Per-subscription mode only: in estate mode every covered subscription gets its topic from
// coverage.bicep, in group mode from the policy (Event Grid allows one system topic per source
// subscription).
module systemTopic 'app/systemtopic.bicep' = if (perSubscriptionMode) {
  name: 'systemTopic'
  scope: rg
  params: {
    tags: tags
    name: empty(systemTopicName) ? '${abbrs.systemTopic}${resourceToken}' : systemTopicName
  }
}

// Group mode: the one identity every subscription's system topic (deployed by the policy) uses to
// dead-letter here, so that no role assignment is needed per subscription.
module topicIdentity 'app/topic-identity.bicep' = if (managementGroupMode) {
  name: 'topicIdentity'
  scope: rg
  params: {
    location: location
    tags: tags
    name: empty(topicIdentityName) ? '${abbrs.managedIdentity}aks-audit-events-${resourceToken}' : topicIdentityName
  }
}

// Data-plane roles in the app's resource group (storage, Application Insights, dead-letter container).
module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    deadLetterContainerName: deadLetterContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    functionPrincipalId: functionApp.outputs.principalId
    systemTopicPrincipalId: perSubscriptionMode ? systemTopic.outputs.principalId : (managementGroupMode ? topicIdentity.outputs.principalId : '')
  }
}

// The least-privilege custom roles (remediation/permissions.py, per scope), defined once here.
module remediationRoles 'app/remediation-roles.bicep' = {
  name: 'remediationRoles'
  params: {
    subscriptionRoleName: customRoleName
    workspaceRoleName: workspaceRoleName
    workspaceResourceRoleName: workspaceResourceRoleName
    workspaceSubscriptionRoleName: workspaceSubscriptionRoleName
    assignableScopes: roleAssignableScopes
    withWorkspaceResourceRole: singleWorkspace
    withWorkspaceSubscriptionRole: oneWorkspaceSubscription
  }
}

// Every covered subscription: role assignments, the audit-workspace resource group, and (for one
// other than this) an Event Grid system topic that may dead-letter to this app's storage.
module coverage 'app/coverage.bicep' = [for id in coveredSubscriptions: {
  name: 'aksAuditCoverage-${uniqueString(id, environmentName)}'
  scope: subscription(id)
  params: {
    tags: tags
    location: location
    principalId: functionApp.outputs.principalId
    subscriptionRoleDefinitionName: remediationRoles.outputs.subscriptionRoleName
    workspaceRoleDefinitionName: remediationRoles.outputs.workspaceRoleName
    perRegionWorkspaces: (!singleWorkspace) && (!oneWorkspaceSubscription)
    workspaceResourceGroupName: remediationWorkspaceResourceGroup
    workspaceResourceGroupLocation: workspaceGroupLocation
    withSystemTopic: !empty(estateList)
    eventsResourceGroupName: estateEventsResourceGroupName
    systemTopicName: estateSystemTopicName
    appSubscriptionId: subscription().subscriptionId
    appResourceGroupName: rg.name
    storageAccountName: storage.outputs.name
    deadLetterContainerName: deadLetterContainerName
  }
}]

// REMEDIATION_WORKSPACE_ID: the narrower workspace role on that workspace itself, never on its
// resource group (often a shared SOC or Sentinel group). The workspace must exist already.
module singleWorkspaceAccess 'app/workspace-use.bicep' = if (singleWorkspace) {
  name: 'aksAuditWorkspaceUse-${uniqueString(auditWorkspaceId)}'
  scope: resourceGroup(singleWorkspace ? singleWorkspaceSubscriptionId : subscription().subscriptionId, singleWorkspace ? singleWorkspaceResourceGroup : rg.name)
  params: {
    workspaceName: singleWorkspaceName
    principalId: functionApp.outputs.principalId
    roleDefinitionName: remediationRoles.outputs.workspaceResourceRoleName
  }
}

// REMEDIATION_WORKSPACE_SUBSCRIPTION_ID: the one workspace group, pre-created there with the
// workspace role, and the workspace-subscription role on that subscription.
module workspaceSubscriptionGroup 'app/workspace-group.bicep' = if (oneWorkspaceSubscription) {
  name: 'aksAuditWorkspaceGroup-${uniqueString(workspaceSubscriptionSetting, remediationWorkspaceResourceGroup)}'
  scope: subscription(oneWorkspaceSubscription ? workspaceSubscriptionSetting : subscription().subscriptionId)
  params: {
    name: remediationWorkspaceResourceGroup
    location: workspaceGroupLocation
    tags: tags
    principalId: functionApp.outputs.principalId
    roleDefinitionName: remediationRoles.outputs.workspaceRoleName
    subscriptionRoleDefinitionName: remediationRoles.outputs.workspaceSubscriptionRoleName
  }
}

// Alert rules, their action group, and the estate workbook, on the app's telemetry.
module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    alertEmail: alertEmail
    sweepOverdueMinutes: sweepOverdueMinutes
  }
}

module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs (no secrets: no keys, no connection strings)
// ---------------------------------------------------------------------------------------------
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_APP_PRINCIPAL_ID string = functionApp.outputs.principalId
output REPORT_URL string = 'https://${functionApp.outputs.defaultHostName}/api/report'
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output DEADLETTER_CONTAINER_NAME string = deadLetterContainerName
output EVENTGRID_SYSTEM_TOPIC_NAME string = perSubscriptionMode ? systemTopic.outputs.name : ''
output CUSTOM_ROLE_DEFINITION_ID string = remediationRoles.outputs.subscriptionRoleDefinitionId
output CUSTOM_ROLE_DEFINITION_NAME string = remediationRoles.outputs.subscriptionRoleName
output WORKSPACE_ROLE_DEFINITION_ID string = remediationRoles.outputs.workspaceRoleDefinitionId
// Estate mode, for eventgrid.bicep: the covered subscriptions and where their system topics are.
output EVENTGRID_ESTATE_SUBSCRIPTION_IDS string = join(estateList, ',')
output EVENTGRID_ESTATE_RESOURCE_GROUP string = estateEventsResourceGroupName
output EVENTGRID_ESTATE_TOPIC_NAME string = estateSystemTopicName
// Group mode, for managementgroup.bicep: the group, the hub, and the topics' identity.
output MANAGEMENT_GROUP_ID string = managementGroupMode ? managementGroupId : ''
output HUB_SUBSCRIPTION_ID string = subscription().subscriptionId
output EVENTGRID_TOPIC_IDENTITY_ID string = managementGroupMode ? topicIdentity.outputs.id : ''
