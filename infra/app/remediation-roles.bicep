// The least-privilege custom roles of the function's identity, split by the scope they are
// assigned at (remediation/permissions.py ACTIONS_BY_SCOPE; tests/infra asserts each, per scope):
// - subscriptionRole: on every covered subscription, or on the management group (read clusters
//   and settings, write our setting, list the group's descendants);
// - workspaceRole: only on the resource group where the tool creates the audit workspaces
//   (create workspaces, link settings to them, query them);
// - workspaceResourceRole: only on the one workspace REMEDIATION_WORKSPACE_ID names (link
//   settings to it, query it), deployed only then;
// - workspaceSubscriptionRole: on REMEDIATION_WORKSPACE_SUBSCRIPTION_ID (poll a workspace
//   creation), deployed only when the workspaces live in a subscription of their own.
// Defined once, in the app's subscription, assignable in every covered subscription (or the
// management group): a custom role's name is unique in the tenant, so the same definition
// cannot be created per subscription. The assignments are in coverage.bicep,
// workspace-access.bicep, workspace-use.bicep and managementgroup.bicep.
targetScope = 'subscription'

@description('Name of the subscription-wide custom role.')
param subscriptionRoleName string

@description('Name of the custom role assigned on the workspace resource group only.')
param workspaceRoleName string

@description('Name of the custom role assigned on the one configured workspace only.')
param workspaceResourceRoleName string

@description('Name of the custom role assigned on the workspace subscription only.')
param workspaceSubscriptionRoleName string

@description('Scopes where the roles may be assigned: /subscriptions/<id> of every covered subscription, or the management group, plus the workspace subscriptions.')
param assignableScopes array

@description('REMEDIATION_WORKSPACE_ID is set: define the role for that one workspace.')
param withWorkspaceResourceRole bool

@description('REMEDIATION_WORKSPACE_SUBSCRIPTION_ID is set: define the role for that subscription.')
param withWorkspaceSubscriptionRole bool

resource subscriptionRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  // Stable per subscription and role name, so redeploying updates the same definition.
  name: guid(subscription().id, subscriptionRoleName)
  properties: {
    roleName: subscriptionRoleName
    description: 'aks-audit-remediation, every covered subscription: read clusters, diagnostic settings and categories, write our own setting, check destination workspaces. Source: remediation/permissions.py.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          // REMEDIATION_MANAGEMENT_GROUP: the group's descendant subscriptions, once per run.
          'Microsoft.Management/managementGroups/descendants/read'
          // Diagnostic settings on clusters: read, and create/update our own setting.
          'Microsoft.Insights/diagnosticSettings/read'
          'Microsoft.Insights/diagnosticSettings/write'
          // Which categories each category group (audit, allLogs) holds.
          'Microsoft.Insights/diagnosticSettingsCategories/read'
          'Microsoft.Insights/eventtypes/values/read' // Activity Log: when settings last changed (no systemData)
          // List and read AKS clusters.
          'Microsoft.ContainerService/managedClusters/read'
          // Whether a setting's destination workspace (anywhere in the subscription) still exists.
          'Microsoft.OperationalInsights/workspaces/read'
          // Polling a workspace creation: the Azure-AsyncOperation URL is subscription-level.
          'Microsoft.OperationalInsights/locations/operationStatuses/read'
          // The subscriptions in scope.
          'Microsoft.Resources/subscriptions/read'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource workspaceRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, workspaceRoleName)
  properties: {
    roleName: workspaceRoleName
    description: 'aks-audit-remediation, the audit-workspace resource group only: create workspaces and link diagnostic settings to them. Source: remediation/permissions.py.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          // The workspace resource group (pre-created by infra): check it exists.
          'Microsoft.Resources/subscriptions/resourceGroups/read'
          // Our workspaces' state and tags, also in a workspace subscription outside the covered ones.
          'Microsoft.OperationalInsights/workspaces/read'
          // Create the per-region audit workspaces.
          'Microsoft.OperationalInsights/workspaces/write'
          // ARM checks it on the destination when a diagnostic setting links to a workspace
          // (LinkedAuthorizationFailed without it). Granted here only, never subscription-wide.
          'Microsoft.OperationalInsights/workspaces/sharedKeys/action'
          // Flow verification: one Log Analytics query per audit workspace, over these tables only.
          'Microsoft.OperationalInsights/workspaces/query/read'
          'Microsoft.OperationalInsights/workspaces/query/AKSAudit/read'
          'Microsoft.OperationalInsights/workspaces/query/AKSAuditAdmin/read'
          'Microsoft.OperationalInsights/workspaces/query/AKSControlPlane/read'
          'Microsoft.OperationalInsights/workspaces/query/AzureDiagnostics/read'
          // REMEDIATION_AUDIT_TABLE_PLAN=basic: the AKSAudit table's plan in the workspaces we created.
          'Microsoft.OperationalInsights/workspaces/tables/read'
          'Microsoft.OperationalInsights/workspaces/tables/write'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource workspaceResourceRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (withWorkspaceResourceRole) {
  name: guid(subscription().id, workspaceResourceRoleName)
  properties: {
    roleName: workspaceResourceRoleName
    description: 'aks-audit-remediation, the one configured audit workspace (REMEDIATION_WORKSPACE_ID) only: link diagnostic settings to it and query it. Source: remediation/permissions.py.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          // The workspace exists and is usable.
          'Microsoft.OperationalInsights/workspaces/read'
          // ARM checks it on the destination when a diagnostic setting links to the workspace.
          'Microsoft.OperationalInsights/workspaces/sharedKeys/action'
          // Flow verification: one query per run, over these tables only.
          'Microsoft.OperationalInsights/workspaces/query/read'
          'Microsoft.OperationalInsights/workspaces/query/AKSAudit/read'
          'Microsoft.OperationalInsights/workspaces/query/AKSAuditAdmin/read'
          'Microsoft.OperationalInsights/workspaces/query/AKSControlPlane/read'
          'Microsoft.OperationalInsights/workspaces/query/AzureDiagnostics/read'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

resource workspaceSubscriptionRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (withWorkspaceSubscriptionRole) {
  name: guid(subscription().id, workspaceSubscriptionRoleName)
  properties: {
    roleName: workspaceSubscriptionRoleName
    description: 'aks-audit-remediation, the subscription of the audit workspaces (REMEDIATION_WORKSPACE_SUBSCRIPTION_ID): poll a workspace creation. Source: remediation/permissions.py.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          // The Azure-AsyncOperation URL of a workspace creation is subscription-level.
          'Microsoft.OperationalInsights/locations/operationStatuses/read'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
  }
}

// Role definition names (GUIDs): assignments build the ID in their own subscription (or, at the
// management group, at tenant level: a role definition's GUID is unique in the tenant).
output subscriptionRoleName string = subscriptionRole.name
output workspaceRoleName string = workspaceRole.name
output workspaceResourceRoleName string = withWorkspaceResourceRole ? workspaceResourceRole.name : ''
output workspaceSubscriptionRoleName string = withWorkspaceSubscriptionRole ? workspaceSubscriptionRole.name : ''
output subscriptionRoleDefinitionId string = subscriptionRole.id
output workspaceRoleDefinitionId string = workspaceRole.id
