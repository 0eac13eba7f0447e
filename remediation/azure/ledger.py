"""The durable change ledger: every change record appended to an Azure Table.

The table lives in the storage account that ``AzureWebJobsStorage`` names (a connection
string, ``UseDevelopmentStorage=true``, or identity-based ``AzureWebJobsStorage__accountName``
/ ``AzureWebJobsStorage__tableServiceUri`` with ``DefaultAzureCredential``). Its name is
``REMEDIATION_LEDGER_TABLE``.

Keys. Table Storage reads cheaply only by PartitionKey and RowKey ranges, and returns rows
sorted by (PartitionKey, RowKey) ascending. So each record is written twice:

=================  ========================================================  ==========================
entity             PartitionKey                                              RowKey
=================  ========================================================  ==========================
per resource       ``r|`` + the lower-cased cluster ID (or, for records      ``<inverted µs>-<digest>``
                   without one, the resource ID), with ``/`` as ``|``
                   (``/`` is not allowed in keys)
estate-wide        ``estate-<999999 - yyyymm>`` (one partition per month)    same RowKey
=================  ========================================================  ==========================

``<inverted µs>`` is ``(2**63 - 1) - microseconds since the epoch``, zero-padded to 19
digits, so an ascending scan yields the newest record first. One cluster's history is a
single-partition query; the newest changes across the estate are a range scan over the
``estate-`` prefix whose inverted month also sorts newest first, stopped after ``limit``
rows. ``since`` turns into an upper bound on RowKey (and on the month partition).
``<digest>`` is a hash of the record, so re-appending the same record (a retry after an
ambiguous failure) overwrites the same two rows instead of adding duplicates.

Lists (categories) are stored as JSON strings. Retries of single requests are configured
on the SDK client (bounded); the two rows of a record are written independently, and
:meth:`TableLedger.append` raises when either could not be written:
:class:`remediation.engine.changelog.ChangeLog` then logs the full record at ERROR and the
run reports the failure (an error with scope ``ledger``; the CLI exits 3).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from remediation.azure.policies import BoundedRetryPolicy
from remediation.azure.storage import (
    CONNECTION_TIMEOUT,
    READ_TIMEOUT,
    StorageAccount,
    client_or_config_error,
    default_of,
    failure_kind,
    storage_account,
    table_name,
)
from remediation.config.values import LEDGER_MAX_LIMIT as MAX_LIMIT
from remediation.core.changes import ChangeRecord
from remediation.errors import LedgerError, LedgerWriteError
from remediation.ids import id_key, subscription_of

logger = logging.getLogger(__name__)

TABLE_SETTING = "REMEDIATION_LEDGER_TABLE"
DEFAULT_TABLE = default_of(TABLE_SETTING)
_MAX_TICKS = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Bounded retries of each request, on the SDK client (about 0.5 + 1 + 2 s of backoff at most).
_CLIENT_OPTIONS: Mapping[str, Any] = {
    "retry_total": 3,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 4,
    "connection_timeout": CONNECTION_TIMEOUT,
    "read_timeout": READ_TIMEOUT,
}
_FIELDS = (
    "event",
    "run_id",
    "trigger",
    "resource_id",
    "cluster_id",
    "setting_name",
    "workspace_id",
    "categories_before",
    "categories_after",
    "timestamp",
)


@functools.cache
def bounded_table_service() -> type[Any]:
    """``TableServiceClient`` whose retry policy is the Tables SDK's (its secondary-host handling)
    bounded by a call's deadline (the per-call keyword ``deadline=CallDeadline(...)``) exactly as
    ARM's is: :class:`~remediation.azure.policies.BoundedRetryPolicy`. The SDK builds its retry
    policy itself (no ``retry_policy`` option), so the subclass swaps it where the SDK makes it;
    every table client the service hands out shares these policies."""
    from azure.data.tables import TableServiceClient
    from azure.data.tables._policies import TablesRetryPolicy

    class BoundedTablesRetry(BoundedRetryPolicy, TablesRetryPolicy):
        pass

    class BoundedTableService(TableServiceClient):
        def _configure_policies(self, **kwargs: Any) -> list[Any]:
            policies: list[Any] = super()._configure_policies(**kwargs)
            return [BoundedTablesRetry(**kwargs) if type(p) is TablesRetryPolicy else p for p in policies]

    return BoundedTableService


def table_service(account: StorageAccount) -> Any:
    """A ``TableServiceClient`` for the account, with bounded timeouts and retries (bounded by a
    call's deadline too, when the call carries one)."""
    TableServiceClient = bounded_table_service()  # noqa: N806 - the SDK's class, bounded

    if account.connection_string is not None:
        connection = account.connection_string
        return client_or_config_error(
            account.setting, lambda: TableServiceClient.from_connection_string(connection, **_CLIENT_OPTIONS)
        )
    endpoint = account.endpoint
    assert endpoint is not None
    return client_or_config_error(
        account.setting,
        lambda: TableServiceClient(endpoint=endpoint, credential=account.credential(), **_CLIENT_OPTIONS),
    )


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def inverted_ticks(moment: datetime) -> str:
    """19 digits that sort newest first."""
    return f"{_MAX_TICKS - _micros(moment):019d}"


def resource_partition(resource_id: str) -> str:
    """The PartitionKey of one cluster's (or resource's) history."""
    return "r|" + id_key(resource_id).strip("/").replace("/", "|")


def estate_partition(moment: datetime) -> str:
    """The PartitionKey of the estate-wide month that holds ``moment`` (newest month sorts first)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"estate-{999_999 - (moment.year * 100 + moment.month):06d}"


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def row_key(record: ChangeRecord) -> str:
    digest = hashlib.sha256(json.dumps(record.to_dict(), sort_keys=True).encode()).hexdigest()[:16]
    return f"{inverted_ticks(_parse_time(record.timestamp))}-{digest}"


def to_entities(record: ChangeRecord) -> tuple[dict[str, Any], dict[str, Any]]:
    """The per-resource and the estate-wide entity of one record."""
    data = record.to_dict()
    properties: dict[str, Any] = {
        key: (json.dumps(value) if isinstance(value, list) else value)
        for key, value in data.items()
        if value is not None and key != "timestamp"
    }
    properties["recorded_at"] = data["timestamp"]  # "Timestamp" is the service's own property
    key = row_key(record)
    subject = record.cluster_id or record.resource_id
    moment = _parse_time(record.timestamp)
    return (
        {"PartitionKey": resource_partition(subject), "RowKey": key, **properties},
        {"PartitionKey": estate_partition(moment), "RowKey": key, **properties},
    )


def from_entity(entity: Mapping[str, Any]) -> dict[str, Any]:
    """A ledger entity as the change record's dict (the ``remediation.engine.changelog`` shape)."""
    out: dict[str, Any] = {}
    for name in _FIELDS:
        value = entity.get("recorded_at" if name == "timestamp" else name)
        if name.startswith("categories_"):
            value = json.loads(value) if isinstance(value, str) and value else []
        out[name] = value
    for name in ("plan_before", "plan_after"):  # table_plan.updated records only
        if entity.get(name) is not None:
            out[name] = entity[name]
    return out


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class TableLedger:
    """Append change records to, and read them back from, one Azure Table."""

    def __init__(self, service: Any, table_name: str = DEFAULT_TABLE) -> None:
        self._service = service
        self.table_name = table_name
        self._table = service.get_table_client(table_name)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> TableLedger | None:
        """The ledger the environment configures, or None when ``AzureWebJobsStorage`` is not configured."""
        name = table_name(env, TABLE_SETTING)
        account = storage_account(env, "table")
        return None if account is None else cls(table_service(account), name)

    def append(self, record: ChangeRecord) -> None:
        """Write the record (a :data:`remediation.core.changes.ChangeSink`).

        Its two rows are written independently, each with the client's bounded retries: a
        failure of one does not keep the other from being tried. Raises
        :class:`LedgerWriteError` naming the rows that could not be written.
        """
        failed: list[str] = []
        for which, entity in zip(("resource", "estate"), to_entities(record), strict=True):
            try:
                self._upsert(entity)
            except Exception as exc:  # noqa: BLE001 - the other row is still tried
                failed.append(f"{which} row ({type(exc).__name__}: {_first_line(str(exc))})")
        if failed:
            raise LedgerWriteError(f"table {self.table_name}: could not write the {' and the '.join(failed)}")
        logger.debug("change record %s written to table %s", record.event.value, self.table_name)

    def _upsert(self, entity: dict[str, Any]) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self._table.upsert_entity(entity)
        except ResourceNotFoundError:
            # The table does not exist yet (first record ever): create it, then write again. No
            # lock: creating an existing table is harmless, and a slow service holds no one up.
            self._service.create_table_if_not_exists(self.table_name)
            self._table.upsert_entity(entity)

    def list_changes(
        self,
        cluster_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        *,
        subscriptions: Sequence[str] = (),
    ) -> list[dict[str, Any]]:
        """Change records, newest first: one cluster's (or resource's) history, or the whole estate's.

        With ``subscriptions``, only records of resources in those subscriptions (the configured
        scope): the scan goes on past the others until ``limit`` records are found.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_LIMIT}")
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        if cluster_id:
            clauses = [f"PartitionKey eq {_quote(resource_partition(cluster_id))}"]
        else:
            clauses = ["PartitionKey ge 'estate-'", "PartitionKey lt 'estate.'"]
            if since is not None:
                clauses.append(f"PartitionKey le {_quote(estate_partition(since))}")
        if since is not None:
            clauses.append(f"RowKey le {_quote(inverted_ticks(since) + '~')}")
        query = " and ".join(clauses)
        try:
            return list(self._take(query, limit, frozenset(s.lower() for s in subscriptions)))
        except ResourceNotFoundError:
            return []  # nothing was ever written
        except AzureError as exc:
            raise LedgerError(
                f"could not read table {self.table_name}: {exc}",
                public=f"could not read table {self.table_name}: {failure_kind(exc)}",
            ) from exc

    def _take(self, query: str, limit: int, subscriptions: frozenset[str]) -> Iterator[dict[str, Any]]:
        pages = self._table.query_entities(query, results_per_page=min(limit, MAX_LIMIT))
        count = 0
        for entity in pages:
            record = from_entity(entity)
            if (
                subscriptions
                and subscription_of(record["cluster_id"] or record["resource_id"] or "") not in subscriptions
            ):
                continue
            yield record
            count += 1
            if count >= limit:
                return

    def close(self) -> None:
        self._table.close()
        self._service.close()


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""
