"""The integration tests' estate and sweep fixtures, for the end-to-end conformance tests."""

from tests.support.estate import configure, estate, sweep

__all__ = ["configure", "estate", "sweep"]
