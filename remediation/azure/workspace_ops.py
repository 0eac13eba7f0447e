"""Log Analytics workspaces, their ``AKSAudit`` table's plan, and their resource groups on ARM.

The ARM side of the engine's :class:`~remediation.engine.ports.WorkspaceGateway` and
:class:`~remediation.engine.ports.TablePlanGateway`: reading a workspace (404 is ``gone``, 403
is assumed usable), creating a resource group or a workspace at most once
(:meth:`~remediation.azure.calls.Caller.create_once`: never PUT when it exists, a 409 or a lost
race read back and reused, reported as not created by us), polling a creation and re-reading a
workspace still being provisioned until the deadline, and reading or PATCHing a table's plan.

:class:`WorkspaceOperations` is one of the rooms of :class:`~remediation.azure.gateway.ArmGateway`,
which inherits it; it works through the gateway's SDK clients and its run-bounded caller.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from azure.mgmt.loganalytics.models import Workspace

from remediation.azure import models
from remediation.azure.calls import Caller, Found
from remediation.azure.classify import first_line
from remediation.azure.clients import ArmClients
from remediation.azure.policies import READ_TIMEOUT, BoundedPolling, CallDeadline, status_hook
from remediation.core.model import Creation
from remediation.errors import ArmError, NotFoundError
from remediation.ids import WorkspaceId, workspace_ref
from remediation.kit.deadline import MIN_TRY_SECONDS, DeadlineExceeded

logger = logging.getLogger(__name__)

# A workspace still being provisioned is read again 1, 2, 4, then every 8 s, until the deadline.
SETTLE_WAITS = (1.0, 2.0, 4.0)
SETTLE_WAIT_MAX = 8.0
SUCCEEDED = "Succeeded"
_SETTLED = frozenset({"succeeded", "failed", "canceled", "deleting"})


class WorkspaceOperations:
    """Workspaces, table plans and resource groups, through the gateway's clients and caller."""

    clients: ArmClients
    _calls: Caller

    # -- workspaces and resource groups ----------------------------------------------------------
    def _read_workspace(self, workspace_id: str) -> Workspace | Literal["gone", "forbidden"]:
        """The workspace, or why not: ``gone`` (404) or ``forbidden`` (403); other errors raise."""
        ref = workspace_ref(workspace_id)
        client = self.clients.logs(ref.subscription_id)
        try:
            return self._calls.call(
                f"read workspace {workspace_id}",
                lambda call: client.workspaces.get(ref.resource_group, ref.name, deadline=call),
            )
        except NotFoundError:
            return "gone"
        except ArmError as exc:
            if exc.status == 403:
                logger.debug("workspace %s is not readable (%s)", workspace_id, exc.code)
                return "forbidden"
            raise

    def workspace_state(self, workspace_id: str) -> str | None:
        """The workspace's provisioningState; None on 404; ``Succeeded`` assumed when we may not read it (403)."""
        ws = self._read_workspace(workspace_id)
        if isinstance(ws, str):
            return None if ws == "gone" else SUCCEEDED
        return models.text(ws.provisioning_state) or SUCCEEDED

    def workspace_tags(self, workspace_id: str) -> dict[str, str] | None:
        """The workspace's tags; None when it is gone (404) or we may not read it (403)."""
        ws = self._read_workspace(workspace_id)
        if isinstance(ws, str):  # gone or forbidden
            return None
        return {str(k): str(v) for k, v in (ws.tags or {}).items()}

    def workspace_exists(self, workspace_id: str) -> bool:
        """False only on 404; a workspace we may not read (403) is assumed to exist."""
        return self.workspace_state(workspace_id) is not None

    # -- table plans (REMEDIATION_AUDIT_TABLE_PLAN) -------------------------------------------------
    def get_table_plan(self, workspace_id: str, table: str) -> str:
        """The plan of one table of a workspace (``Analytics``, ``Basic``, ...)."""
        ref = workspace_ref(workspace_id)
        client = self.clients.logs(ref.subscription_id)
        found = self._calls.call(
            f"read table {table} of {workspace_id}",
            lambda call: client.tables.get(ref.resource_group, ref.name, table, deadline=call),
        )
        return models.table_plan(found)

    def set_table_plan(self, workspace_id: str, table: str, plan: str) -> str:
        """PATCH the table's plan and wait for the long-running operation (200, or 202 and
        ``Azure-AsyncOperation``) within the deadline; the plan read back. Raises :class:`ArmError`
        when ARM refuses (e.g. the plan was changed less than a week ago)."""
        ref = workspace_ref(workspace_id)
        client = self.clients.logs(ref.subscription_id)

        def update(call: CallDeadline) -> Any:
            poller = client.tables.begin_update(
                ref.resource_group,
                ref.name,
                table,
                models.table_plan_patch(plan),
                polling=BoundedPolling(call),
                retry_total=0,
                deadline=call,
            )
            return poller.result(timeout=call.deadline.remaining() + READ_TIMEOUT)

        updated = self._calls.call(f"set the plan of table {table} of {workspace_id} to {plan}", update)
        return models.table_plan(updated) or plan

    def resource_group_exists(self, subscription_id: str, name: str) -> bool:
        client = self.clients.resources(subscription_id)
        try:
            self._calls.call(
                f"read resource group {name}", lambda call: client.resource_groups.get(name, deadline=call)
            )
        except NotFoundError:
            return False
        return True

    def create_resource_group(
        self, subscription_id: str, name: str, location: str, tags: Mapping[str, str]
    ) -> Creation:
        """Create a resource group that a read found missing. ``created`` is False when it turned out
        to exist (409, a lost race, or an ambiguous failure after which it exists)."""
        rid = f"/subscriptions/{subscription_id}/resourceGroups/{name}"
        client = self.clients.resources(subscription_id)
        status: list[int] = []
        group = self._calls.create_once(
            f"create resource group {name}",
            lambda call: client.resource_groups.create_or_update(
                name,
                {"location": location, "tags": dict(tags)},
                retry_total=0,
                raw_response_hook=status_hook(status),
                deadline=call,
            ),
            lambda: True if self.resource_group_exists(subscription_id, name) else None,
        )
        if isinstance(group, Found):
            return Creation(rid, created=group.ours)
        return Creation(str(group.id or rid), created=status[-1:] == [201])

    def create_workspace(
        self, workspace_id: WorkspaceId, *, location: str, retention_days: int, tags: Mapping[str, str]
    ) -> Creation:
        """Create a workspace that a read found missing, and poll its creation until the deadline.

        ``created`` is False when it turned out to exist (409, or a PUT answered 200: a lost race);
        ``state`` is its provisioningState when we stopped waiting (``Succeeded`` only when usable).
        An ambiguous failure is read back: if the workspace exists now, our PUT made it.
        """
        ref = workspace_ref(workspace_id)
        params = models.new_workspace(location, retention_days, tags)
        client = self.clients.logs(ref.subscription_id)
        status: list[int] = []

        def put(call: CallDeadline) -> Any:
            status.clear()
            return client.workspaces.begin_create_or_update(
                ref.resource_group,
                ref.name,
                params,
                polling=BoundedPolling(call),
                retry_total=0,
                raw_response_hook=status_hook(status),
                deadline=call,
            )

        poller = self._calls.create_once(
            f"create workspace {workspace_id}", put, lambda: self.workspace_state(workspace_id)
        )
        if isinstance(poller, Found):
            return Creation(workspace_id, created=poller.ours, state=self._settle(workspace_id, poller.value))
        created = status[:1] != [200]
        return Creation(str(workspace_id), created=created, state=self._await_creation(poller, workspace_id))

    def _await_creation(self, poller: Any, workspace_id: str) -> str:
        """Poll a creation until it ends or the deadline comes; the workspace's state then."""
        try:
            ws = poller.result(timeout=self._calls.deadline.remaining() + READ_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - Failed, Canceled, deadline, connection: read the state
            logger.warning("creation of workspace %s did not complete: %s", workspace_id, first_line(str(exc)))
            return self._state_or(workspace_id, "Unknown")
        if not poller.done():
            return self._state_or(workspace_id, "Creating")
        return models.text(getattr(ws, "provisioning_state", None)) or self._state_or(workspace_id, "Unknown")

    def _settle(self, workspace_id: str, state: str) -> str:
        """Re-read a workspace still being provisioned until it is done or the deadline comes."""
        waits = iter(SETTLE_WAITS)
        while state.lower() not in _SETTLED:
            wait = next(waits, SETTLE_WAIT_MAX)
            if not self._calls.deadline.can_wait(wait + MIN_TRY_SECONDS):
                return state
            self._calls.deadline.sleep(wait)
            state = self._state_or(workspace_id, state)
        return state

    def wait_for_workspace(self, workspace_id: str, state: str) -> str:
        """A workspace found in ``state`` (e.g. Creating): its state once settled, or at the deadline."""
        return self._settle(workspace_id, state)

    def _state_or(self, workspace_id: str, default: str) -> str:
        try:
            return self.workspace_state(workspace_id) or default
        except (ArmError, DeadlineExceeded):
            return default
