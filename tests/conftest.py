"""Fixtures every test gets: the logger levels and the process's caches restored around each test. The shared
fixtures live in tests/support as plugins: the simulator (``sim``, ``sim_factory``), the estate and sweep
against it (``estate``, ``configure``, ``sweep``) and Azurite (``azurite``, fresh table and queue names)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

pytest_plugins = ["tests.support.simulator", "tests.support.estate", "tests.support.azurite"]


@pytest.fixture(autouse=True)
def _restore_logger_levels() -> Iterator[None]:
    """The CLI sets logger levels (``remediation`` at WARNING, ...): give every test the levels it started with."""
    names = [None, *logging.root.manager.loggerDict]
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture(autouse=True)
def _fresh_process_state() -> Iterator[None]:
    """Each test has its own armsim (whose port a later test may get again), and its buckets start full:
    so the process's model of ARM's limits, its cached gateways and tokens, and its knowledge
    (category metadata, confirmed workspaces) start afresh too."""
    from remediation.adapters import reset_process_caches

    reset_process_caches()
    yield
    reset_process_caches()
