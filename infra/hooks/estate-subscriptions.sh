#!/bin/sh
# Estate mode: set AKS_AUDIT_ESTATE_SUBSCRIPTION_IDS (main.bicep estateSubscriptionIds) to every
# enabled subscription under the management group AKS_AUDIT_MANAGEMENT_GROUP, including nested
# groups. Run it before `azd provision`, and again when subscriptions are added or removed.
# Without AKS_AUDIT_MANAGEMENT_GROUP it does nothing (an explicit list, or per-subscription mode);
# with AKS_AUDIT_COVERAGE=managementGroup neither (hooks/postdeploy.sh uses it to print the list).
# Needs the Azure CLI (`az login`) with read access to the management group, and azd for `azd env set`
# (set AKS_AUDIT_PRINT_ONLY=1 to print the list instead).
set -eu

if [ -z "${AKS_AUDIT_MANAGEMENT_GROUP:-}" ]; then
  echo "estate-subscriptions: AKS_AUDIT_MANAGEMENT_GROUP is not set; nothing to do"
  exit 0
fi
# Group mode lists the subscriptions at run time: no list to keep (only printed on request).
if [ "${AKS_AUDIT_COVERAGE:-subscriptions}" = "managementGroup" ] && [ -z "${AKS_AUDIT_PRINT_ONLY:-}" ]; then
  echo "estate-subscriptions: coverage is managementGroup: the app lists the group's subscriptions at every run; nothing to do"
  exit 0
fi

# Resource Graph sees the whole hierarchy under the group (nested groups included).
ids=$(az graph query --management-groups "$AKS_AUDIT_MANAGEMENT_GROUP" --first 1000 \
  -q "resourcecontainers | where type =~ 'microsoft.resources/subscriptions' | where properties.state =~ 'Enabled' | project subscriptionId | order by subscriptionId asc" \
  --query "data[].subscriptionId" -o tsv | paste -sd, -)

if [ -z "$ids" ]; then
  echo "estate-subscriptions: no enabled subscription under management group $AKS_AUDIT_MANAGEMENT_GROUP" >&2
  exit 1
fi

count=$(printf '%s' "$ids" | tr ',' '\n' | wc -l | tr -d ' ')
echo "estate-subscriptions: $count subscription(s) under $AKS_AUDIT_MANAGEMENT_GROUP"
if [ -n "${AKS_AUDIT_PRINT_ONLY:-}" ]; then
  echo "$ids"
else
  azd env set AKS_AUDIT_ESTATE_SUBSCRIPTION_IDS "$ids"
fi
