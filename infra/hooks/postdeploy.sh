#!/bin/sh
# azd postdeploy hook (and step 2 of the manual path): create the Event Grid event subscription
# (one per covered subscription in estate mode) once the function code is deployed. Event Grid validates an AzureFunction endpoint when the
# subscription is created, so this cannot be part of main.bicep.
#
# Reads the outputs of main.bicep, which azd exports to hooks as environment variables.
# By hand: export the same variables from `az deployment sub show ... --query properties.outputs`.
set -eu

require() {
  eval "value=\${$1:-}"
  if [ -z "$value" ]; then
    echo "postdeploy: $1 is not set (an output of infra/main.bicep)" >&2
    exit 2
  fi
}

for name in AZURE_LOCATION AZURE_RESOURCE_GROUP AZURE_FUNCTION_APP_NAME STORAGE_ACCOUNT_NAME DEADLETTER_CONTAINER_NAME; do
  require "$name"
done
# Per-subscription mode: the topic in the app's resource group. Estate mode: one per covered subscription.
if [ -z "${EVENTGRID_ESTATE_SUBSCRIPTION_IDS:-}" ]; then
  require EVENTGRID_SYSTEM_TOPIC_NAME
fi

script_dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
template="$script_dir/../eventgrid.bicep"
deployment_name="aks-audit-remediation-events-${AZURE_ENV_NAME:-manual}"

# The Functions host indexes a new package within a minute or two; until then Event Grid
# cannot find the on_resource_event function and refuses the endpoint. Retry a few times.
attempts=${EVENTGRID_DEPLOY_ATTEMPTS:-6}
delay=${EVENTGRID_DEPLOY_DELAY_SECONDS:-30}
attempt=1
while :; do
  echo "postdeploy: creating the Event Grid subscription (attempt $attempt of $attempts)"
  if az deployment sub create \
    --name "$deployment_name" \
    --location "$AZURE_LOCATION" \
    --template-file "$template" \
    --parameters \
      resourceGroupName="$AZURE_RESOURCE_GROUP" \
      functionAppName="$AZURE_FUNCTION_APP_NAME" \
      systemTopicName="${EVENTGRID_SYSTEM_TOPIC_NAME:-}" \
      storageAccountName="$STORAGE_ACCOUNT_NAME" \
      deadLetterContainerName="$DEADLETTER_CONTAINER_NAME" \
      estateSubscriptionIds="${EVENTGRID_ESTATE_SUBSCRIPTION_IDS:-}" \
      estateResourceGroupName="${EVENTGRID_ESTATE_RESOURCE_GROUP:-rg-aks-audit-remediation-events}" \
      estateSystemTopicName="${EVENTGRID_ESTATE_TOPIC_NAME:-evgt-aks-audit-remediation}" \
    --output none; then
    echo "postdeploy: Event Grid subscription ready"
    exit 0
  fi
  if [ "$attempt" -ge "$attempts" ]; then
    echo "postdeploy: giving up after $attempts attempts; rerun: azd hooks run postdeploy" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep "$delay"
done
