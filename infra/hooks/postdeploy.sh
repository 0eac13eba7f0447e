#!/bin/sh
# azd postdeploy hook (and step 2 of the manual path): create the Event Grid event subscription
# (one per covered subscription in estate mode; in group mode, the management-group template whose
# policy creates them) once the function code is deployed. Event Grid validates an AzureFunction endpoint when the
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

script_dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
attempts=${EVENTGRID_DEPLOY_ATTEMPTS:-6}
delay=${EVENTGRID_DEPLOY_DELAY_SECONDS:-30}
# Whole numbers only: an attempt count `[` cannot compare would make the retries below endless.
for name in EVENTGRID_DEPLOY_ATTEMPTS EVENTGRID_DEPLOY_DELAY_SECONDS; do
  eval "value=\${$name:-0}"
  case "$value" in
    *[!0-9]*)
      echo "postdeploy: $name must be a whole number, not '$value'" >&2
      exit 2
      ;;
  esac
done

# Run a deployment ("$3" and on) until it succeeds, at most $attempts times, $delay seconds apart:
# every wait is bounded, (attempts - 1) x delay seconds in all. $1 says what is being deployed, $2
# what is ready once it succeeded. The Functions host indexes a new package within a minute or two;
# until then Event Grid cannot find the on_resource_event function and refuses the endpoint.
deploy_with_retries() {
  what=$1
  ready=$2
  shift 2
  attempt=1
  while :; do
    echo "postdeploy: $what (attempt $attempt of $attempts)"
    if "$@"; then
      echo "postdeploy: $ready"
      return 0
    fi
    if [ "$attempt" -ge "$attempts" ]; then
      echo "postdeploy: giving up after $attempts attempts; rerun: azd hooks run postdeploy" >&2
      return 1
    fi
    attempt=$((attempt + 1))
    sleep "$delay"
  done
}

# Group mode (coverage=managementGroup): the management-group template instead: the app's role on
# the group, the events policy and its remediation tasks (infra/README.md, "Management group mode").
if [ -n "${MANAGEMENT_GROUP_ID:-}" ]; then
  for name in HUB_SUBSCRIPTION_ID FUNCTION_APP_PRINCIPAL_ID CUSTOM_ROLE_DEFINITION_NAME EVENTGRID_TOPIC_IDENTITY_ID; do
    require "$name"
  done
  # The subscriptions under the group now, for one remediation task each (new ones need none).
  existing=$(AKS_AUDIT_MANAGEMENT_GROUP="$MANAGEMENT_GROUP_ID" AKS_AUDIT_PRINT_ONLY=1 \
    sh "$script_dir/estate-subscriptions.sh" | tail -n 1)
  case "$existing" in
    *-*) ;;
    *) existing="" ;;
  esac
  deploy_with_retries "deploying to management group $MANAGEMENT_GROUP_ID" \
    "management group $MANAGEMENT_GROUP_ID ready (role, events policy, remediation tasks)" \
    az deployment mg create \
      --name "aks-audit-remediation-${AZURE_ENV_NAME:-manual}" \
      --management-group-id "$MANAGEMENT_GROUP_ID" \
      --location "$AZURE_LOCATION" \
      --template-file "$script_dir/../managementgroup.bicep" \
      --parameters \
        hubSubscriptionId="$HUB_SUBSCRIPTION_ID" \
        resourceGroupName="$AZURE_RESOURCE_GROUP" \
        functionAppName="$AZURE_FUNCTION_APP_NAME" \
        functionPrincipalId="$FUNCTION_APP_PRINCIPAL_ID" \
        subscriptionRoleDefinitionName="$CUSTOM_ROLE_DEFINITION_NAME" \
        storageAccountName="$STORAGE_ACCOUNT_NAME" \
        deadLetterContainerName="$DEADLETTER_CONTAINER_NAME" \
        topicIdentityId="$EVENTGRID_TOPIC_IDENTITY_ID" \
        location="$AZURE_LOCATION" \
        existingSubscriptionIds="$existing" \
      --output none || exit 1
  exit 0
fi

# Per-subscription mode: the topic in the app's resource group. Estate mode: one per covered subscription.
if [ -z "${EVENTGRID_ESTATE_SUBSCRIPTION_IDS:-}" ]; then
  require EVENTGRID_SYSTEM_TOPIC_NAME
fi

template="$script_dir/../eventgrid.bicep"
deployment_name="aks-audit-remediation-events-${AZURE_ENV_NAME:-manual}"

deploy_with_retries "creating the Event Grid subscription" "Event Grid subscription ready" \
  az deployment sub create \
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
    --output none || exit 1
