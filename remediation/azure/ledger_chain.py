"""The tamper-evident change ledger: every change record appended to a hash chain of append blobs.

Beside the Azure Table (``remediation.azure.ledger``, fast queries, mutable by whoever holds its
role), each record is appended as one line of a hash chain (``remediation.core.chain``) to an
append blob in the container ``REMEDIATION_LEDGER_CONTAINER``. Infra deploys that container in a
storage account of its own, with version-level immutability and a default time-based retention
policy of ``REMEDIATION_LEDGER_RETENTION_DAYS`` that allows protected append writes (WORM), and
gives the app's identity a role that can read and append (``blobs/add/action``) but neither
overwrite (``blobs/write``) nor delete; see docs/security.md.

Parts: ``ledger-<yyyy>-<mm>-<nnn>.jsonl``, one per month (a new part, ``nnn`` + 1, before an append
blob's 50,000-block limit); names sort oldest first, and the chain runs on across them.

Appending: the tip of the chain (the newest line's seq and hash, and where the newest part ends) is
kept in the process; each line is appended with an append-position condition, so two writers
(app instances, the CLI) can never both extend the same tip: the loser (412) reads the tip again
and retries. A line is one append block, so a line is never torn. A retry of a record whose
first try landed (its answer lost) finds the record at the tip and does not append it twice.

Endpoint: ``REMEDIATION_LEDGER_BLOB_ENDPOINT`` (https, reached with the app's Entra ID identity),
else the blob service of the account ``AzureWebJobsStorage`` names (a connection string for Azurite
and the CLI; ``__blobServiceUri`` or ``__accountName`` with an identity).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from remediation.azure.storage import (
    CONNECTION_TIMEOUT,
    READ_TIMEOUT,
    StorageAccount,
    check_endpoint,
    client_or_config_error,
    default_of,
    failure_kind,
    storage_account,
)
from remediation.config.parse import parse_app_int
from remediation.core.chain import ChainTip, Verification, chain_line, line_hash, tip_of, verify_chain
from remediation.core.changes import ChangeRecord
from remediation.errors import ConfigError, LedgerError, LedgerWriteError

logger = logging.getLogger(__name__)

CONTAINER_SETTING = "REMEDIATION_LEDGER_CONTAINER"
ENDPOINT_SETTING = "REMEDIATION_LEDGER_BLOB_ENDPOINT"
RETENTION_SETTING = "REMEDIATION_LEDGER_RETENTION_DAYS"
PREFIX = "ledger-"
# An append blob takes at most 50,000 blocks (one per line): the next part starts before that.
MAX_LINES_PER_PART = 49_000
# Writers racing for the tip: each loss costs a tip read and one more append.
MAX_ATTEMPTS = 20
_TAIL_WINDOW = 16 * 1024
_CONTAINER_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_PART = re.compile(r"^ledger-(\d{4})-(\d{2})-(\d{3})\.jsonl$")
_CLIENT_OPTIONS: Mapping[str, Any] = {
    "retry_total": 3,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 4,
    "connection_timeout": CONNECTION_TIMEOUT,
    "read_timeout": READ_TIMEOUT,
}


def container_name(env: Mapping[str, str]) -> str:
    name = (env.get(CONTAINER_SETTING) or "").strip() or default_of(CONTAINER_SETTING)
    if not _CONTAINER_NAME.match(name):
        raise ConfigError(
            CONTAINER_SETTING, f"{name!r} is not a container name (3..63 lower-case letters, digits and single hyphens)"
        )
    return name


def part_name(moment: datetime, number: int = 1) -> str:
    return f"{PREFIX}{moment.year:04d}-{moment.month:02d}-{number:03d}.jsonl"


@dataclass(frozen=True)
class _Tail:
    tip: ChainTip
    part: str | None  # the newest part (None: no part yet)
    size: int = 0  # its length: the next append's position
    lines: int = 0  # its committed blocks


@dataclass(frozen=True)
class PartProtection:
    """What the immutability policy says of one part (from its properties)."""

    part: str
    immutable_until: str | None
    mode: str | None  # "locked", "unlocked", or None: no policy

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.part, "immutable_until": self.immutable_until, "mode": self.mode}


class AppendBlobLedger:
    """The hash chain of change records in append blobs (a :data:`remediation.core.changes.ChangeSink`)."""

    def __init__(self, service: Any, container: str, *, retention_days: int, clock: Any = None) -> None:
        self._service = service
        self.container = container
        self.retention_days = retention_days
        self._container = service.get_container_client(container)
        self._lock = threading.Lock()  # one append at a time per process: no race with ourselves
        self._tail: _Tail | None = None
        self._now = clock or (lambda: datetime.now(UTC))

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> AppendBlobLedger | None:
        """The chain the environment configures; None without ``AzureWebJobsStorage`` or a ledger endpoint."""
        container = container_name(env)
        retention = parse_app_int(env, RETENTION_SETTING)
        endpoint = (env.get(ENDPOINT_SETTING) or "").strip()
        if endpoint:
            check_endpoint(ENDPOINT_SETTING, endpoint)
            account: StorageAccount | None = StorageAccount(
                endpoint=endpoint, client_id=(env.get("AzureWebJobsStorage__clientId") or "").strip() or None
            )
            setting = ENDPOINT_SETTING
        else:
            account = storage_account(env, "blob")
            setting = account.setting if account else ""
            if (
                account is not None
                and account.connection_string is not None
                and _names_no_blob(account.connection_string)
            ):
                return None  # a connection string that names its services' endpoints, but no blob endpoint
        if account is None:
            return None
        return cls(_blob_service(account, setting), container, retention_days=retention)

    # --- appending ---------------------------------------------------------------------------------

    def append(self, record: ChangeRecord) -> None:
        """Append the record as the chain's next line; raises :class:`LedgerWriteError`."""
        data = json.loads(json.dumps(record.to_dict()))  # as it reads back
        with self._lock:
            try:
                self._append(data)
            except LedgerWriteError:
                raise
            except Exception as exc:
                self._tail = None
                raise LedgerWriteError(
                    f"container {self.container}: could not append the change record "
                    f"({type(exc).__name__}: {failure_kind(exc)})"
                ) from exc

    def _append(self, data: dict[str, Any]) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

        for _ in range(MAX_ATTEMPTS):
            tail = self._tail or self._read_tail()
            if tail.tip.record == data:
                self._tail = tail
                return  # an earlier try of this record landed; its answer was lost
            part, size, lines = self._target(tail)
            line = chain_line(data, seq=tail.tip.seq + 1, prev=tail.tip.hash)
            blob = self._container.get_blob_client(part)
            try:
                if part != tail.part:
                    blob.create_append_blob(match_condition=MatchConditions.IfMissing)
                blob.append_block(line, appendpos_condition=size)
            except ResourceExistsError:  # another writer started that part first
                self._tail = None
                continue
            except ResourceNotFoundError:  # no container yet (Azurite, a fresh account), or a part gone: read again
                with contextlib.suppress(ResourceExistsError):  # another writer made it first
                    self._container.create_container()
                self._tail = None
                continue
            except HttpResponseError as exc:
                if exc.status_code not in (409, 412):  # 412 AppendPositionConditionNotMet: another writer won
                    raise
                self._tail = None
                continue
            self._tail = _Tail(ChainTip(tail.tip.seq + 1, line_hash(line), data), part, size + len(line), lines + 1)
            logger.debug("change record %d appended to %s/%s", tail.tip.seq + 1, self.container, part)
            return
        raise LedgerWriteError(f"container {self.container}: the chain's tip moved on {MAX_ATTEMPTS} tries in a row")

    def _target(self, tail: _Tail) -> tuple[str, int, int]:
        """The part to append to, where it ends, and how many lines it holds (a new part: 0, 0)."""
        now = self._now()
        match = _PART.match(tail.part or "")
        if match is None or (int(match[1]), int(match[2])) < (now.year, now.month):
            return part_name(now), 0, 0  # the first part, or a new month
        if tail.lines < MAX_LINES_PER_PART:
            return match[0], tail.size, tail.lines
        return f"{PREFIX}{match[1]}-{match[2]}-{int(match[3]) + 1:03d}.jsonl", 0, 0

    def _read_tail(self) -> _Tail:
        """The chain's tip and the newest part, from the service."""
        newest: tuple[str, int, int] | None = None
        for name in reversed(self._part_names()):
            props = self._container.get_blob_client(name).get_blob_properties()
            if newest is None:
                newest = (name, props.size, props.append_blob_committed_block_count or 0)
            if props.size:
                tip = tip_of(self._read_end(name, props.size))
                if tip is not None:
                    return _Tail(tip, *newest)
        return _Tail(ChainTip(), *(newest or (None, 0, 0)))

    def _read_end(self, name: str, size: int) -> bytes:
        """The end of a part holding at least one whole line."""
        window = _TAIL_WINDOW
        while True:
            offset = max(0, size - window)
            data: bytes = (
                self._container.get_blob_client(name).download_blob(offset=offset, length=size - offset).readall()
            )
            if offset == 0 or data.count(b"\n") >= 2:
                return data if offset == 0 else data[data.index(b"\n") + 1 :]
            window *= 4

    def _part_names(self) -> list[str]:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            return sorted(b.name for b in self._container.list_blobs(name_starts_with=PREFIX) if _PART.match(b.name))
        except ResourceNotFoundError:
            return []

    # --- reading -----------------------------------------------------------------------------------

    def verify(self) -> tuple[Verification, list[PartProtection]]:
        """Check the whole chain (and read each part's immutability); raises :class:`LedgerError`."""
        from azure.core.exceptions import AzureError

        try:
            names = self._part_names()
            protections = [self._protection(name) for name in names]
            return verify_chain(self._contents(names)), protections
        except AzureError as exc:
            raise LedgerError(
                f"could not read container {self.container}: {exc}",
                public=f"could not read container {self.container}: {failure_kind(exc)}",
            ) from exc

    def verification_document(self) -> dict[str, Any]:
        """The chain's verification with each part's protection (``verify-ledger`` and ``?verify=true`` answer it)."""
        verification, protections = self.verify()
        return {
            **verification.to_dict(),
            "container": self.container,
            "retention_days": self.retention_days,
            "protection": [p.to_dict() for p in protections],
            "unprotected_parts": [p.part for p in protections if p.mode is None],
        }

    def _contents(self, names: list[str]) -> Iterator[tuple[str, bytes]]:
        for name in names:
            yield name, self._container.get_blob_client(name).download_blob().readall()

    def _protection(self, name: str) -> PartProtection:
        policy = getattr(self._container.get_blob_client(name).get_blob_properties(), "immutability_policy", None)
        until = getattr(policy, "expiry_time", None)
        mode = getattr(policy, "policy_mode", None)
        return PartProtection(
            name,
            until.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if until else None,
            str(mode).lower() if mode else None,
        )

    def close(self) -> None:
        self._container.close()
        self._service.close()


def _names_no_blob(connection_string: str) -> bool:
    keys = {part.split("=", 1)[0].strip().lower() for part in connection_string.split(";") if "=" in part}
    return bool(keys & {"tableendpoint", "queueendpoint"}) and "blobendpoint" not in keys


def _blob_service(account: StorageAccount, setting: str) -> Any:
    from azure.storage.blob import BlobServiceClient

    if account.connection_string is not None:
        connection = account.connection_string
        return client_or_config_error(
            setting, lambda: BlobServiceClient.from_connection_string(connection, **_CLIENT_OPTIONS)
        )
    endpoint = account.endpoint
    assert endpoint is not None
    return client_or_config_error(
        setting, lambda: BlobServiceClient(endpoint, credential=account.credential(), **_CLIENT_OPTIONS)
    )
