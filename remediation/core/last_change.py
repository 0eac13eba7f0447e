"""When did a diagnostic setting last change? The flow verdict's grace period needs to know.

Real ARM does not send ``systemData`` on diagnostic settings (api 2021-05-01-preview; the
recordings in ``../shared/azure-recordings`` show it), so the age of a setting comes, in order,
from:

1. ``systemData.lastModifiedAt`` when ARM sends it, or the moment this run wrote the setting;
2. the subscription's **Activity Log**: every ``microsoft.insights/diagnosticSettings/write``
   and ``/delete`` event, by any caller, in a window that covers the grace period (one
   listing per subscription per run). No event in the window means the setting is older
   than the window;
3. only when the Activity Log could not be read: our own change ledger (records of our
   writes), and the verdict's ``reason`` says so. The ledger knows every write of our own
   setting, so a ledger read over the window with no record of it makes our setting older than
   the window too; of other settings it knows nothing.

When none of these tells, the last change is unknown. Pure: the engine reads the Activity Log
and the ledger and hands the result here as :class:`SettingChanges`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from remediation.errors import ResourceIdError
from remediation.ids import id_key, split_setting_id

# The key of a setting: (id_key of the resource it is on, lower-case setting name). An Activity
# Log event that names only the resource (not the setting) is keyed with the name ANY_SETTING
# and counts as a change of each of the resource's settings.
SettingKey = tuple[str, str]
ANY_SETTING = "*"


class ChangeSource(StrEnum):
    SYSTEM_DATA = "system-data"  # systemData.lastModifiedAt, or written by this run
    ACTIVITY_LOG = "activity-log"
    LEDGER = "ledger"


@dataclass(frozen=True)
class SettingChanges:
    """What one subscription's Activity Log (and, failing it, our ledger) says of setting changes.

    ``covered_since`` is the start of the window the Activity Log was read over (up to the
    moment it was read); None when it could not be read, and then ``failure`` is why (an error
    code). ``activity`` holds the newest write or delete event per setting in that window;
    ``ledger`` the newest record of ours per setting, read from ``ledger_since`` on (None: the
    ledger was not read); ``ours`` is our setting's name.
    """

    covered_since: datetime | None
    activity: Mapping[SettingKey, datetime] = field(default_factory=dict)
    ledger: Mapping[SettingKey, datetime] = field(default_factory=dict)
    failure: str | None = None
    ledger_since: datetime | None = None
    ours: str | None = None

    @property
    def readable(self) -> bool:
        return self.covered_since is not None


@dataclass(frozen=True)
class LastChange:
    """A setting's last change: ``at`` None means unknown (not "never")."""

    at: datetime | None
    source: ChangeSource | None
    older_than: datetime | None = None  # known only to be no later than this (no event in the window)

    @property
    def known(self) -> bool:
        return self.at is not None or self.older_than is not None


def setting_key(resource_id: str, setting_name: str) -> SettingKey:
    return (id_key(resource_id), setting_name.lower())


def event_key(resource_id: str) -> SettingKey:
    """The key of an Activity Log event's ``resourceId``: a setting's ID, or only its resource's."""
    try:
        resource, name = split_setting_id(resource_id)
    except ResourceIdError:
        return (id_key(resource_id), ANY_SETTING)
    return setting_key(resource, name)


def newest(
    times: Mapping[SettingKey, datetime], events: list[tuple[SettingKey, datetime]]
) -> dict[SettingKey, datetime]:
    """``times`` updated with ``events``, keeping the newest time per key."""
    out = dict(times)
    for key, moment in events:
        if key not in out or moment > out[key]:
            out[key] = moment
    return out


def _lookup(times: Mapping[SettingKey, datetime], key: SettingKey) -> datetime | None:
    found = [t for t in (times.get(key), times.get((key[0], ANY_SETTING))) if t is not None]
    return max(found) if found else None


def last_change(
    resource_id: str,
    setting_name: str,
    system_data: datetime | None,
    changes: SettingChanges | None,
    *,
    since: datetime,
) -> LastChange:
    """The last change of one setting, as far as is known; ``since`` is the start of the grace period.

    ``changes`` None: nothing but ``system_data`` was consulted.
    """
    if system_data is not None:
        return LastChange(system_data, ChangeSource.SYSTEM_DATA)
    if changes is None:
        return LastChange(None, None)
    key = setting_key(resource_id, setting_name)
    if changes.covered_since is not None:
        event = _lookup(changes.activity, key)
        ours = _lookup(changes.ledger, key)  # a write of ours the Activity Log does not list yet
        if event is not None or ours is not None:
            return LastChange(max(t for t in (event, ours) if t is not None), ChangeSource.ACTIVITY_LOG)
        if changes.covered_since <= since:
            return LastChange(None, ChangeSource.ACTIVITY_LOG, older_than=changes.covered_since)
        return LastChange(None, None)  # the window read does not reach back over the grace period
    ours = _lookup(changes.ledger, key)
    if ours is not None:
        return LastChange(ours, ChangeSource.LEDGER)
    mine = changes.ours is not None and key[1] == changes.ours.lower()
    if mine and changes.ledger_since is not None and changes.ledger_since <= since:
        return LastChange(None, ChangeSource.LEDGER, older_than=changes.ledger_since)
    return LastChange(None, None)


def is_young(change: LastChange, *, now: datetime, grace: timedelta) -> bool:
    """Whether the setting changed less than ``grace`` before ``now`` (False when unknown or older)."""
    return change.at is not None and now - change.at < grace
