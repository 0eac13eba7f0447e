"""Failures, classified once where they are caught: permanent or temporary."""

from __future__ import annotations


class RemediationError(Exception):
    """Base of every error this package raises on purpose."""


class ArmError(RemediationError):
    """ARM answered with an error (or could not be reached).

    ``code`` is ARM's error code (AuthorizationFailed, ScopeLocked, ...) or one of ours;
    ``transient`` says whether trying again later can help.
    """

    def __init__(self, code: str, message: str, *, status: int | None = None, transient: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.transient = transient


class NotFoundError(ArmError):
    """The resource does not exist (404)."""


class ClusterNotFoundError(NotFoundError):
    """The cluster does not exist (any more)."""


class TransientArmError(ArmError):
    """A temporary ARM failure (429, 5xx, timeout, operation in progress) outlasted our retries."""


class CredentialError(ArmError):
    """No token could be had: no credential is available, or the identity endpoint failed.

    The message says what was tried and what to do ("run `az login`", "check the managed
    identity"); ``transient`` is true when the identity endpoint answered 429/5xx or not at all.
    """


class WorkspaceFailedError(ArmError):
    """The target workspace's provisioningState is Failed (or Canceled): it is not used."""


class ClusterBusyError(RemediationError):
    """The cluster did not reach a terminal provisioning state within the allowed time."""

    def __init__(self, cluster_id: str, state: str, waited_seconds: float) -> None:
        super().__init__(
            f"cluster {cluster_id} is still {state!r} after {waited_seconds:.0f}s; "
            "it will be remediated on redelivery or by the next sweep"
        )
        self.cluster_id = cluster_id
        self.state = state


class LedgerError(RemediationError):
    """The change ledger could not be read."""


class LedgerWriteError(RemediationError):
    """A change record could not be written (wholly or in part) to the ledger."""


class UnknownCategoriesError(RemediationError):
    """Configured categories (REMEDIATION_CATEGORIES) that ARM's category metadata does not know.

    Found before the first write; the run stops (CLI exit code 2).
    """

    def __init__(self, unknown: list[str], valid: list[str]) -> None:
        super().__init__(
            f"REMEDIATION_CATEGORIES: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not "
            f"{'a log category' if len(unknown) == 1 else 'log categories'} of AKS clusters; "
            f"valid: {', '.join(valid)}"
        )
        self.variable = "REMEDIATION_CATEGORIES"
        self.unknown = unknown
        self.valid = valid


class StateError(RemediationError):
    """The state table (each cluster's latest observed outcome) could not be read."""


class SweepFailedError(RemediationError):
    """The sweep could read nothing at all: the execution must fail (and the host retries the message)."""


class SweepQueueError(RemediationError):
    """A sweep message could not be put on the sweep queue."""


class ThrottledError(TransientArmError):
    """ARM's request limits would keep us waiting past the run's deadline (reason ``throttled``).

    Raised before the wait, not after it: the cluster is reported ``failed`` with reason
    ``throttled`` and the next sweep or event delivery picks it up.
    """

    CODE = "throttled"

    def __init__(self, message: str) -> None:
        super().__init__(self.CODE, message, status=429, transient=True)
