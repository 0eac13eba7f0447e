"""Every exception type of the package, in one module (this module imports nothing of the package).

- :class:`ClassifiedError`: a failure classified once where it is caught, permanent or temporary,
  with a ``code`` that reports and logs carry: :class:`ArmError` (ARM, or the identity endpoint on
  the way to it) and :class:`InternalError` (an unexpected exception at a cluster's boundary).
- Errors of our own stores and queue (ledger, state table, sweep queue), and of input
  (configuration, resource IDs, queue messages, the command line, HTTP parameters).

:class:`~remediation.kit.deadline.DeadlineExceeded` stays with the deadline it belongs to
(``remediation.kit`` imports nothing of the product, by contract).
"""

from __future__ import annotations

from collections.abc import Sequence


class RemediationError(Exception):
    """Base of every error this package raises on purpose."""


class ClassifiedError(RemediationError):
    """A failure with a code, classified once where it is caught.

    ``code`` goes into the report (a cluster's reason, a run's errors); ``transient`` says
    whether trying again later can help.
    """

    def __init__(self, code: str, message: str, *, status: int | None = None, transient: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.transient = transient


class ArmError(ClassifiedError):
    """ARM answered with an error (or could not be reached).

    ``code`` is ARM's error code (AuthorizationFailed, ScopeLocked, ...) or one of ours.
    """


class InternalError(ClassifiedError):
    """An unexpected exception (a bug) caught at one cluster's boundary: that cluster fails
    (reason ``InternalError``), the others go on."""

    CODE = "InternalError"

    def __init__(self, exc: Exception) -> None:
        super().__init__(self.CODE, f"{type(exc).__name__}: {exc}")


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


class ManagementGroupError(ArmError):
    """The subscriptions of ``REMEDIATION_MANAGEMENT_GROUP`` could not be listed: the run has no
    scope, and never falls back to every subscription the identity can see."""

    def __init__(self, group_id: str, cause: ArmError) -> None:
        super().__init__(
            cause.code,
            f"could not list the subscriptions of management group {group_id!r}: {cause.message}",
            status=cause.status,
            transient=cause.transient,
        )
        self.group_id = group_id

    @property
    def scope(self) -> str:
        return group_scope(self.group_id)


def group_scope(group_id: str) -> str:
    """The ARM ID of a management group (the scope errors about it are reported on)."""
    return f"/providers/Microsoft.Management/managementGroups/{group_id}"


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


class StorageReadError(RemediationError):
    """A storage read failed. ``str()`` says what and where (for the log); ``public`` only what
    (for an HTTP body: no host, port or account name)."""

    def __init__(self, message: str, *, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public or message


class LedgerError(StorageReadError):
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


class StateError(StorageReadError):
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


class ConfigError(ValueError):
    """A setting has an invalid value. ``variable`` names it."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


class ResourceIdError(ValueError):
    """A string is not the kind of ARM resource ID that was expected."""


class MalformedMessageError(ValueError):
    """A sweep message that no retry can make valid."""


class StateTableTimeoutError(TimeoutError):
    """The state table did not answer within the run's deadline (the write is abandoned, not failed)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the state table did not answer within the run's deadline ({seconds:.1f} s)")


class ClusterNameError(RemediationError):
    """A cluster name matched no cluster in scope, or more than one."""

    def __init__(self, name: str, message: str, matches: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.name = name
        self.matches = list(matches)


class UsageError(Exception):
    """Invalid command-line input: exit code 2, nothing written (nothing read but, in group mode, the
    management group's listing that shows a named subscription or cluster outside it)."""


class ApiError(Exception):
    """An HTTP request the API refuses: ``status`` (400, 403, 404) and ``code`` go into the error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
