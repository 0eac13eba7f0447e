"""A change record: what one write made true, as the change log and the ledger keep it. Pure data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from remediation.core.model import Trigger


class ChangeEvent(StrEnum):
    RESOURCE_GROUP_CREATED = "resource_group.created"
    WORKSPACE_CREATED = "workspace.created"
    SETTING_CREATED = "diagnostic_setting.created"
    SETTING_UPDATED = "diagnostic_setting.updated"
    TABLE_PLAN_UPDATED = "table_plan.updated"


@dataclass(frozen=True)
class ChangeRecord:
    event: ChangeEvent
    run_id: str
    trigger: Trigger
    resource_id: str
    cluster_id: str | None = None
    setting_name: str | None = None
    workspace_id: str | None = None
    categories_before: tuple[str, ...] = ()
    categories_after: tuple[str, ...] = ()
    plan_before: str | None = None  # table_plan.updated only
    plan_after: str | None = None
    timestamp: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["event"] = self.event.value
        data["trigger"] = str(self.trigger)
        data["categories_before"] = list(self.categories_before)
        data["categories_after"] = list(self.categories_after)
        if self.plan_before is None and self.plan_after is None:  # only table plan changes carry a plan
            del data["plan_before"], data["plan_after"]
        return data


ChangeSink = Callable[[ChangeRecord], None]
