"""Fixture plugin (named in tests/conftest.py): Azurite, the Azure Storage emulator, for the ledger, the
state table and the sweep queue; one per session (per xdist worker), a fresh table or queue name per test."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AZURITE = ROOT / "node_modules" / ".bin" / "azurite"
# The emulator's well-known development account (public, documented by Microsoft).
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port that refuses connections for the whole test: bound (so that no other process,
    another worker's Azurite say, can take it between probe and use) and never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        yield port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Azurite exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"Azurite did not listen on 127.0.0.1:{port} within {timeout}s")


def connection_string(table_port: int, queue_port: int, blob_port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"TableEndpoint=http://127.0.0.1:{table_port}/{DEV_ACCOUNT};"
        f"QueueEndpoint=http://127.0.0.1:{queue_port}/{DEV_ACCOUNT};"
        f"BlobEndpoint=http://127.0.0.1:{blob_port}/{DEV_ACCOUNT};"
    )


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start Azurite (table, queue and blob services) on free loopback ports; yields its connection string."""
    if not AZURITE.exists():
        pytest.fail(f"{AZURITE} is missing: run `make deps-node` (npm ci installs the pinned Azurite)")
    workdir = tmp_path_factory.mktemp("azurite")
    log = workdir / "azurite.log"
    # A free port can be taken by another process (another xdist worker's Azurite, say) between the
    # probe and Azurite's bind: Azurite then exits before listening, and a new set of ports is tried.
    for attempt in range(1, 6):
        ports = {"table": free_port(), "queue": free_port(), "blob": free_port()}
        args = [str(AZURITE), "--silent", "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry"]
        for service, port in ports.items():
            args += [f"--{service}Host", "127.0.0.1", f"--{service}Port", str(port)]
        process = subprocess.Popen(args, cwd=workdir, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
        try:
            for port in ports.values():
                wait_for_port(port, process)
            break
        except RuntimeError as exc:
            _stop(process)
            text = log.read_text(errors="replace")
            if attempt == 5 or "EADDRINUSE" not in text:
                raise RuntimeError(f"{exc}: {text[-2000:]}") from None
    try:
        yield connection_string(ports["table"], ports["queue"], ports["blob"])
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def ledger_table() -> str:
    """A fresh table name per test (Azurite is shared by the session)."""
    return "changes" + uuid.uuid4().hex[:12]


@pytest.fixture
def state_table() -> str:
    return "state" + uuid.uuid4().hex[:12]


@pytest.fixture
def sweep_queue() -> str:
    return "sweep-" + uuid.uuid4().hex[:12]
