"""The Log Analytics query adapter: the only user of ``azure-monitor-query``.

One :class:`LogsQueryClient` per process and endpoint, authenticated by the same credential as
the ARM gateway (token scope ``<logs endpoint>/.default``). The flow query runs against the
workspace's resource ID (``POST /v1/{workspaceResourceId}/query``), so no extra ARM read is
needed to learn the workspace's customer ID. Failures are classified into
:mod:`remediation.errors` like ARM's.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.credentials import TokenCredential
from azure.monitor.query import LogsQueryClient, LogsQueryPartialResult, LogsQueryStatus

from remediation.azure.classify import classify
from remediation.azure.endpoints import EndpointTokenPolicy, LinkGuardPolicy
from remediation.azure.identity import credential_for, identity_key
from remediation.azure.policies import SDK_OPTIONS, CallDeadline, new_retry_policy
from remediation.config.values import Config
from remediation.core.flow_verdict import QUERY_COLUMNS, FlowRow
from remediation.errors import ArmError
from remediation.kit.deadline import Deadline

_lock = threading.Lock()
_adapters: dict[tuple[str, str], LogsAdapter] = {}


class LogsAdapter:
    """Runs the flow query against one workspace and returns its rows."""

    def __init__(self, config: Config, credential: TokenCredential) -> None:
        self._client = LogsQueryClient(
            credential,
            endpoint=config.logs_endpoint,
            retry_policy=new_retry_policy(),
            # requests, and our token, stay on the query API's endpoint (the SDK's own scope: <endpoint>/.default)
            per_call_policies=[LinkGuardPolicy(config.logs_endpoint)],
            authentication_policy=EndpointTokenPolicy(
                credential, config.logs_endpoint.rstrip("/") + "/.default", endpoint=config.logs_endpoint
            ),
            **SDK_OPTIONS,
        )

    @classmethod
    def from_config(cls, config: Config, credential: TokenCredential | None = None) -> LogsAdapter:
        """The process-wide adapter for this endpoint and identity (reused by warm invocations)."""
        if credential is not None:
            return cls(config, credential)
        key = (config.logs_endpoint, identity_key(config))
        with _lock:
            adapter = _adapters.get(key)
            if adapter is None:
                adapter = _adapters[key] = cls(config, credential_for(config))
            return adapter

    def query_flow(
        self, workspace_id: str, query: str, *, lookback_hours: int, server_timeout: int, deadline: Deadline
    ) -> tuple[FlowRow, ...]:
        """Rows of ``query`` (columns :data:`QUERY_COLUMNS`) over the last ``lookback_hours``;
        retries and socket timeouts stay within ``deadline``."""
        what = f"query workspace {workspace_id}"
        try:
            result = self._client.query_resource(
                workspace_id,
                query,
                timespan=timedelta(hours=lookback_hours),
                server_timeout=server_timeout,
                deadline=CallDeadline(deadline),
            )
        except Exception as exc:
            raise classify(exc, what=what) from exc
        if isinstance(result, LogsQueryPartialResult) or result.status != LogsQueryStatus.SUCCESS:
            error = getattr(result, "partial_error", None)
            raise ArmError(
                str(getattr(error, "code", "") or "PartialError"),
                f"{what}: {getattr(error, 'message', '') or 'the query returned partial results'}",
            )
        rows: list[FlowRow] = []
        for table in result.tables:
            index = {name: i for i, name in enumerate(table.columns)}
            missing = [c for c in QUERY_COLUMNS if c not in index]
            if missing:
                raise ArmError("UnexpectedResponse", f"{what}: columns {', '.join(missing)} are missing")
            for row in table.rows:
                rows.append(
                    FlowRow(
                        resource_id=str(row[index["_ResourceId"]]),
                        category=str(row[index["Category"]]),
                        last_seen=_datetime(row[index["LastSeen"]]),
                        billed_bytes=int(row[index["BilledBytes"]] or 0),
                    )
                )
        return tuple(rows)


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def forget_adapters() -> None:
    """Drop the process's Logs adapters (their clients hold a credential, and so a token)."""
    with _lock:
        _adapters.clear()
