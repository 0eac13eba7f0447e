"""The state table: each cluster's latest observed outcome and each subscription's last sweep.

One Azure Table, ``REMEDIATION_STATE_TABLE``, in the account ``AzureWebJobsStorage`` names
(see :mod:`remediation.azure.storage`). ``GET /api/status`` reads it and nothing else.

=================  ==========================================  ===================================
row                PartitionKey                                RowKey
=================  ==========================================  ===================================
a cluster          ``c|`` + the subscription GUID (lower case)  the lower-cased cluster ID without its
                                                               leading ``/``, ``/`` as ``|`` (``/``
                                                               is not allowed in keys)
a subscription     ``s``                                       the subscription GUID (lower case)
=================  ==========================================  ===================================

A cluster row holds ``cluster_id``, ``name``, ``subscription_id``, ``resource_group``,
``location``, ``status``, ``missing_categories`` (JSON list), ``reason``, ``action`` (JSON, when
a change was planned or made), ``flow`` (JSON, when audit-log flow was verified), ``observed_at``, ``run_id``, ``mode`` and ``trigger``; each write
replaces the whole row (latest observation wins). A subscription row holds ``run_id``, ``mode``,
``trigger``, ``started_at``, ``finished_at``, ``summary`` (JSON counts) and ``errors`` (JSON,
at most :data:`MAX_STORED_ERRORS`). One subscription's clusters are one partition: a sweep writes
them in entity-group transactions of up to 100 rows, and the status of one subscription is a
single-partition query.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from remediation.azure.ledger import table_service
from remediation.azure.policies import per_call
from remediation.azure.storage import failure_kind, storage_account, table_name
from remediation.core.report import ActionDoc, ClusterDoc, ErrorDoc, SummaryDoc
from remediation.core.status import Observation, SubscriptionSweep
from remediation.errors import StateError
from remediation.ids import id_key, parse_cluster_id
from remediation.kit.deadline import Deadline

logger = logging.getLogger(__name__)

TABLE_SETTING = "REMEDIATION_STATE_TABLE"
SWEEP_PARTITION = "s"
MAX_STORED_ERRORS = 50
_MAX_MESSAGE = 1000
_TRANSACTION_LIMIT = 100  # entity-group transactions hold at most 100 operations


def cluster_partition(subscription_id: str) -> str:
    return "c|" + subscription_id.lower()


def cluster_row(cluster_id: str) -> str:
    return id_key(cluster_id).strip("/").replace("/", "|")


def to_entity(item: Observation) -> dict[str, Any]:
    c = item.cluster
    entity: dict[str, Any] = {
        "PartitionKey": cluster_partition(c["subscription_id"]),
        "RowKey": cluster_row(c["id"]),
        "cluster_id": c["id"],
        "name": c["name"],
        "subscription_id": c["subscription_id"].lower(),
        "resource_group": c["resource_group"],
        "location": c["location"],
        "status": c["status"],
        "missing_categories": json.dumps(c["missing_categories"]),
        "observed_at": item.observed_at,
        "run_id": item.run_id,
        "mode": item.mode,
        "trigger": item.trigger,
    }
    if c["reason"] is not None:
        entity["reason"] = c["reason"]
    if c["action"] is not None:
        entity["action"] = json.dumps(c["action"])
    if c.get("flow") is not None:
        entity["flow"] = json.dumps(c.get("flow"))
    return entity


def from_entity(entity: Mapping[str, Any]) -> Observation:
    action = entity.get("action")
    cluster = ClusterDoc(
        id=entity["cluster_id"],
        name=entity["name"],
        subscription_id=entity["subscription_id"],
        resource_group=entity["resource_group"],
        location=entity.get("location") or "",
        status=entity["status"],
        missing_categories=json.loads(entity.get("missing_categories") or "[]"),
        reason=entity.get("reason"),
        action=cast(ActionDoc, json.loads(action)) if action else None,
    )
    if entity.get("flow"):
        cluster["flow"] = json.loads(entity["flow"])
    return Observation(cluster, entity["observed_at"], entity["run_id"], entity["mode"], entity["trigger"])


def sweep_to_entity(sweep: SubscriptionSweep) -> dict[str, Any]:
    errors = [
        ErrorDoc(scope=e["scope"], code=e["code"], message=e["message"][:_MAX_MESSAGE])
        for e in sweep.errors[:MAX_STORED_ERRORS]
    ]
    return {
        "PartitionKey": SWEEP_PARTITION,
        "RowKey": sweep.subscription_id.lower(),
        "subscription_id": sweep.subscription_id.lower(),
        "run_id": sweep.run_id,
        "mode": sweep.mode,
        "trigger": sweep.trigger,
        "started_at": sweep.started_at,
        "finished_at": sweep.finished_at,
        "summary": json.dumps(sweep.summary),
        "errors": json.dumps(errors),
        "error_count": len(sweep.errors),
    }


def sweep_from_entity(entity: Mapping[str, Any]) -> SubscriptionSweep:
    return SubscriptionSweep(
        subscription_id=entity["subscription_id"],
        run_id=entity["run_id"],
        mode=entity["mode"],
        trigger=entity["trigger"],
        started_at=entity["started_at"],
        finished_at=entity["finished_at"],
        summary=cast(SummaryDoc, json.loads(entity["summary"])),
        errors=tuple(cast(list[ErrorDoc], json.loads(entity.get("errors") or "[]"))),
    )


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class StateTable:
    """Each cluster's latest outcome and each subscription's last sweep, in one Azure Table."""

    def __init__(self, service: Any, name: str) -> None:
        self._service = service
        self.table_name = name
        self._table = service.get_table_client(name)
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> StateTable | None:
        """The table the environment configures, or None when ``AzureWebJobsStorage`` is not configured."""
        name = table_name(env, TABLE_SETTING)
        account = storage_account(env, "table")
        return None if account is None else cls(table_service(account), name)

    def _ensure_table(self, bound: Mapping[str, Any]) -> None:
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                self._service.create_table_if_not_exists(self.table_name, **bound)
                self._ready = True

    # --- writes (errors propagate: remediation.engine.observations logs them) ----------------------

    def put_observations(self, items: Sequence[Observation], *, deadline: Deadline | None = None) -> None:
        if not items:
            return
        bound = per_call(deadline)
        self._ensure_table(bound)
        partitions: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for item in items:
            entity = to_entity(item)
            partitions[entity["PartitionKey"]][entity["RowKey"]] = entity  # one operation per row
        for rows in partitions.values():
            entities = list(rows.values())
            for start in range(0, len(entities), _TRANSACTION_LIMIT):
                chunk = entities[start : start + _TRANSACTION_LIMIT]
                self._table.submit_transaction([("upsert", e, {"mode": "replace"}) for e in chunk], **bound)

    def put_sweep(self, sweep: SubscriptionSweep, *, deadline: Deadline | None = None) -> None:
        from azure.data.tables import UpdateMode

        bound = per_call(deadline)
        self._ensure_table(bound)
        self._table.upsert_entity(sweep_to_entity(sweep), mode=UpdateMode.REPLACE, **bound)

    def delete_clusters(self, cluster_ids: Iterable[str], *, deadline: Deadline | None = None) -> None:
        bound = per_call(deadline)
        for cluster_id in cluster_ids:
            ref = parse_cluster_id(cluster_id)
            self._table.delete_entity(cluster_partition(ref.subscription_id), cluster_row(ref.id), **bound)

    # --- reads (errors become StateError) ---------------------------------------------------------

    def stored_clusters(self, subscription_id: str, *, deadline: Deadline | None = None) -> list[tuple[str, str, str]]:
        query = f"PartitionKey eq {_quote(cluster_partition(subscription_id))}"
        rows = self._query(query, per_call(deadline), select=["cluster_id", "observed_at", "trigger"])
        return [(e["cluster_id"], e["observed_at"], e["trigger"]) for e in rows]

    def observations(
        self, subscriptions: Sequence[str] = (), clusters: Sequence[str] = (), *, deadline: Deadline | None = None
    ) -> list[Observation]:
        """Stored outcomes: of the named clusters, else of the named subscriptions, else of every cluster."""
        bound = per_call(deadline)
        if clusters:
            found = (
                self._get(cluster_partition(parse_cluster_id(c).subscription_id), cluster_row(c), bound)
                for c in clusters
            )
            return [from_entity(e) for e in found if e is not None]
        if subscriptions:
            entities: Iterable[Mapping[str, Any]] = (
                e for s in subscriptions for e in self._query(f"PartitionKey eq {_quote(cluster_partition(s))}", bound)
            )
        else:
            entities = self._query("PartitionKey ge 'c|' and PartitionKey lt 'c}'", bound)
        return [from_entity(e) for e in entities]

    def sweeps(self, *, deadline: Deadline | None = None) -> list[SubscriptionSweep]:
        query = f"PartitionKey eq {_quote(SWEEP_PARTITION)}"
        return [sweep_from_entity(e) for e in self._query(query, per_call(deadline))]

    def sweep(self, subscription_id: str, *, deadline: Deadline | None = None) -> SubscriptionSweep | None:
        entity = self._get(SWEEP_PARTITION, subscription_id.lower(), per_call(deadline))
        return None if entity is None else sweep_from_entity(entity)

    def _get(self, partition: str, row: str, bound: Mapping[str, Any]) -> Mapping[str, Any] | None:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            return cast(Mapping[str, Any], self._table.get_entity(partition, row, **bound))
        except ResourceNotFoundError:
            return None  # no such row, or no table yet
        except AzureError as exc:
            raise StateError(
                f"could not read table {self.table_name}: {exc}",
                public=f"could not read table {self.table_name}: {failure_kind(exc)}",
            ) from exc

    def _query(
        self, query: str, bound: Mapping[str, Any], select: list[str] | None = None
    ) -> Iterator[Mapping[str, Any]]:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            yield from self._table.query_entities(query, select=select, results_per_page=1000, **bound)
        except ResourceNotFoundError:
            return  # nothing was ever recorded
        except AzureError as exc:
            raise StateError(
                f"could not read table {self.table_name}: {exc}",
                public=f"could not read table {self.table_name}: {failure_kind(exc)}",
            ) from exc

    def close(self) -> None:
        self._table.close()
        self._service.close()
