"""Reading diagnostic-setting changes from the Activity Log's events (remediation.azure.activity_log)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from azure.mgmt.monitor.v2015_04_01.models import EventData

from remediation.azure.activity_log import SELECT, activity_filter, list_setting_changes, setting_events
from remediation.core.last_change import ANY_SETTING, setting_key

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CLUSTER = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/AKS-1"


def event(operation: str, minutes_ago: float, resource: str, status: str = "Succeeded") -> EventData:
    """An event as the SDK deserializes it from the wire (the documented JSON shape)."""
    return EventData.deserialize(
        {
            "operationName": {"value": operation, "localizedValue": operation},
            "status": {"value": status, "localizedValue": status},
            "eventTimestamp": (NOW - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z"),
            "resourceId": resource,
            "caller": "someone@example.com",
        }
    )


SETTING = (
    "/subscriptions/S/resourcegroups/rg/providers/microsoft.containerservice/managedclusters/aks-1"
    "/providers/microsoft.insights/diagnosticSettings/audit"
)


def test_the_filter_names_the_window_and_the_provider():
    since = datetime(2026, 11, 27, 10, 25, 7, 123456, tzinfo=UTC)
    assert activity_filter(since, NOW) == (
        "eventTimestamp ge '2026-11-27T10:25:07Z' and eventTimestamp le '2026-11-27T12:00:00Z' "
        "and resourceProvider eq 'Microsoft.Insights'"
    )
    # a write in the window's last second is listed: its end is rounded up
    assert "le '2026-11-27T12:00:01Z'" in activity_filter(since, NOW + timedelta(microseconds=300))
    assert SELECT == "eventTimestamp,operationName,resourceId,status"


def test_only_setting_writes_and_deletes_that_did_not_fail_are_kept():
    events = [
        event("microsoft.insights/diagnosticSettings/write", 30, SETTING),
        event("Microsoft.Insights/diagnosticSettings/delete", 20, CLUSTER),
        event("microsoft.insights/diagnosticSettings/write", 5, SETTING, status="Failed"),
        event("microsoft.insights/metricAlerts/write", 1, SETTING),
        EventData.deserialize({"operationName": {"value": "microsoft.insights/diagnosticSettings/write"}}),
    ]
    assert setting_events(events) == [
        (setting_key(CLUSTER, "audit"), NOW - timedelta(minutes=30)),
        ((CLUSTER.lower(), ANY_SETTING), NOW - timedelta(minutes=20)),
    ]
    naive = event("microsoft.insights/diagnosticSettings/write", 0, SETTING)
    naive.event_timestamp = datetime(2026, 1, 1)
    assert setting_events([naive])[0][1].tzinfo is UTC


class _ActivityLogs:
    """The SDK's operation group, as far as the reader uses it: pages already joined."""

    def __init__(self, events):
        self.events = events
        self.calls = []

    def list(self, *, filter, select, **options):
        self.calls.append((filter, select, options))
        return iter(self.events)


class _Client:
    def __init__(self, events):
        self.activity_logs = _ActivityLogs(events)


def test_the_newest_change_of_each_setting_is_kept_and_options_reach_the_sdk():
    client = _Client(
        [
            event("microsoft.insights/diagnosticSettings/write", 80, SETTING),
            event("microsoft.insights/diagnosticSettings/write", 12, SETTING.upper()),
            event("microsoft.insights/diagnosticSettings/write", 40, SETTING),
        ]
    )
    changes = list_setting_changes(client, since=NOW - timedelta(minutes=95), until=NOW, deadline="d")
    assert changes == {setting_key(CLUSTER, "audit"): NOW - timedelta(minutes=12)}
    ((_, select, options),) = client.activity_logs.calls
    assert (select, options) == (SELECT, {"deadline": "d"})
