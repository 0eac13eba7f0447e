"""The subscription's Activity Log: when were diagnostic settings last written or deleted?

Real ARM sends no ``systemData`` on diagnostic settings, so the flow verdict's grace period
(:mod:`remediation.core.last_change`) learns a setting's age here: one listing per
subscription per run, paged, through azure-mgmt-monitor's ``activity_logs.list``::

    GET /subscriptions/{id}/providers/Microsoft.Insights/eventtypes/management/values
        ?api-version=2015-04-01
        &$filter=eventTimestamp ge '<since>' and eventTimestamp le '<until>'
                 and resourceProvider eq 'Microsoft.Insights'
        &$select=eventTimestamp,operationName,resourceId,status

The filter cannot name operations (Microsoft's documentation: ``eventTimestamp`` plus one of
resource group, resource ID, resource provider, correlation ID, ...), so every
Microsoft.Insights event of the window comes back and only
``microsoft.insights/diagnosticSettings/write`` and ``/delete`` are kept, by any caller,
except those whose status is ``Failed`` (a refused write changed nothing).
Needs ``Microsoft.Insights/eventtypes/values/read`` on the subscription
(:mod:`remediation.permissions`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from remediation.core.last_change import SettingKey, event_key, newest

API_VERSION = "2015-04-01"
OPERATIONS = frozenset({"microsoft.insights/diagnosticsettings/write", "microsoft.insights/diagnosticsettings/delete"})
SELECT = "eventTimestamp,operationName,resourceId,status"


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def activity_filter(since: datetime, until: datetime) -> str:
    """The ``$filter`` of the listing: the window (whole seconds, widened: ``until`` rounded up, so a
    write in its last second is listed) and the provider."""
    end = until.replace(microsecond=0) + timedelta(seconds=1) if until.microsecond else until
    return (
        f"eventTimestamp ge '{_instant(since)}' and eventTimestamp le '{_instant(end)}' "
        "and resourceProvider eq 'Microsoft.Insights'"
    )


def _value(item: Any) -> str:
    """A LocalizableString's value (``operationName``, ``status``), or ''."""
    return str(getattr(item, "value", None) or "")


def setting_events(events: Iterable[Any]) -> list[tuple[SettingKey, datetime]]:
    """(setting key, time) of every diagnostic-setting write or delete that did not fail."""
    found = []
    for event in events:
        if _value(event.operation_name).lower() not in OPERATIONS or _value(event.status).lower() == "failed":
            continue
        moment, resource = event.event_timestamp, event.resource_id
        if not isinstance(moment, datetime) or not resource:
            continue
        found.append((event_key(str(resource)), moment if moment.tzinfo else moment.replace(tzinfo=UTC)))
    return found


def list_setting_changes(
    client: Any, *, since: datetime, until: datetime, **options: Any
) -> dict[SettingKey, datetime]:
    """The newest write or delete of each diagnostic setting in ``[since, until]``.

    ``client`` is the subscription's ``MonitorManagementClient``; ``options`` go to every page's
    request (the run's deadline). Every page is read: a window with no event proves the
    settings older than it only when all of it was read.
    """
    pages = client.activity_logs.list(filter=activity_filter(since, until), select=SELECT, **options)
    return newest({}, setting_events(pages))
