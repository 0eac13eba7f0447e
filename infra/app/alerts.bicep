// Alerts that reach a person: scheduled query rules on the app's telemetry (Application Insights
// traces; the custom dimensions are the extra fields of our log records, remediation/core/signals.py)
// and one action group. The queries are in queries/*.kql; tests/infra checks every field and event
// name they use against records the code really emits.
param location string
param tags object
param applicationInsightsName string

@description('E-mail receiver of the action group. Empty = the rules exist without notifications.')
param alertEmail string = ''

@description('Minutes without a sweep (of the estate, or of one subscription) before alerting.')
param sweepOverdueMinutes int = 150

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-aks-audit-remediation'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'aksaudit'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var overdue = string(sweepOverdueMinutes)

// name, severity, evaluation frequency, window, query, operator, threshold.
var rules = [
  {
    name: 'clusters-failed-or-blocked'
    displayName: 'AKS audit remediation: clusters failed or blocked in the latest sweep'
    description: 'A subscription\'s latest sweep left clusters failed (an error) or blocked (needs a person: permissions, a lock, 5 settings, a sink conflict). See the workbook or GET /api/report.'
    severity: 2
    evaluationFrequency: 'PT1H'
    windowSize: 'PT6H'
    query: loadTextContent('queries/clusters-failed-or-blocked.kql')
    operator: 'GreaterThan'
    threshold: 0
  }
  {
    name: 'sweep-overdue'
    displayName: 'AKS audit remediation: no sweep on schedule'
    description: 'No timer sweep finished within the configured minutes: the app is stopped, failing or not triggered.'
    severity: 1
    evaluationFrequency: 'PT30M'
    windowSize: 'P1D'
    query: replace(loadTextContent('queries/sweep-overdue.kql'), '__OVERDUE_MINUTES__', overdue)
    operator: 'LessThan'
    threshold: 1
  }
  {
    name: 'subscription-overdue'
    displayName: 'AKS audit remediation: a subscription was not swept'
    description: 'A subscription swept during the last day has not been swept within the configured minutes, or its latest sweep could not read it.'
    severity: 2
    evaluationFrequency: 'PT30M'
    windowSize: 'P1D'
    query: replace(loadTextContent('queries/subscription-overdue.kql'), '__OVERDUE_MINUTES__', overdue)
    operator: 'GreaterThan'
    threshold: 0
  }
  {
    name: 'poison-messages'
    displayName: 'AKS audit remediation: sweep messages in the poison queue'
    description: 'A subscription\'s sweep message failed every attempt and was moved to the poison queue.'
    severity: 1
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    query: loadTextContent('queries/poison-messages.kql')
    operator: 'GreaterThan'
    threshold: 0
  }
  {
    name: 'flow-silent-or-partial'
    displayName: 'AKS audit remediation: audit logs not arriving'
    description: 'Flow verification found clusters whose audit categories send nothing (silent) or only some (partial) to the workspace.'
    severity: 2
    evaluationFrequency: 'PT1H'
    windowSize: 'PT6H'
    query: loadTextContent('queries/flow-findings.kql')
    operator: 'GreaterThan'
    threshold: 0
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = [for rule in rules: {
  name: 'aks-audit-remediation-${rule.name}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: rule.displayName
    description: rule.description
    severity: rule.severity
    enabled: true
    evaluationFrequency: rule.evaluationFrequency
    windowSize: rule.windowSize
    scopes: [
      applicationInsights.id
    ]
    criteria: {
      allOf: [
        {
          query: rule.query
          timeAggregation: 'Count'
          operator: rule.operator
          threshold: rule.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

output actionGroupId string = actionGroup.id
output alertRuleNames array = [for (rule, i) in rules: alertRules[i].name]
