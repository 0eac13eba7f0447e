// One remediation task of the events policy (managementgroup.bicep) in one subscription that
// existed when the policy was assigned. ReEvaluateCompliance: the task evaluates the subscription
// itself before deploying, instead of waiting for the assignment's first compliance scan.
targetScope = 'subscription'

param name string
param policyAssignmentId string

resource remediation 'Microsoft.PolicyInsights/remediations@2021-10-01' = {
  name: name
  properties: {
    policyAssignmentId: policyAssignmentId
    resourceDiscoveryMode: 'ReEvaluateCompliance'
  }
}
