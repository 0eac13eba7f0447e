"""Every SDK failure classified once, into :mod:`remediation.errors`: permanent or temporary.

Temporary (retrying may help): 408, 429, 5xx, a connection that failed or was lost, and a 409
that says another operation is in progress. Everything else is permanent. A write failure is
*ambiguous* when the write may or may not have taken effect (connection lost, timeout, 5xx):
the gateway then reads back instead of guessing.
"""

from __future__ import annotations

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError, ServiceResponseError

from remediation.core.model import Reason
from remediation.errors import ArmError, NotFoundError, ResourceIdError, TransientArmError

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_IN_PROGRESS_CODES = frozenset(
    {"anotheroperationinprogress", "operationnotallowed", "conflict", "resourcebusy", "operationinprogress"}
)


def classify(exc: Exception, *, what: str) -> ArmError:
    """Turn an SDK exception into an :class:`ArmError` that says whether retrying can help."""
    if isinstance(exc, ArmError):
        return exc
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return TransientArmError("ConnectionError", f"{what}: {first_line(str(exc))}", transient=True)
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) or (exc.reason or "HttpError")
        message = getattr(error, "message", None) or str(exc.message or exc)
        message = f"{what}: {message}"
        if status == 404 or isinstance(exc, ResourceNotFoundError):
            return NotFoundError(code, message, status=status)
        if status in TRANSIENT_STATUSES or (status == 409 and code.lower() in _IN_PROGRESS_CODES):
            return TransientArmError(code, message, status=status, transient=True)
        return ArmError(code, message, status=status)
    if isinstance(exc, ResourceIdError):
        # The message names the resource as repr() writes it: control and bidi characters escaped.
        return ArmError(Reason.INVALID_RESOURCE_ID.value, f"{what}: ARM answered with an unexpected resource: {exc}")
    return ArmError(type(exc).__name__, f"{what}: {exc}")


def is_in_progress(exc: ArmError) -> bool:
    """ARM's 409 "another operation is in progress": the write can be tried again shortly."""
    return exc.status == 409 and exc.transient


def is_ambiguous(exc: ArmError) -> bool:
    """A write failure after which the write may or may not have taken effect."""
    return exc.code == "ConnectionError" or (exc.status is not None and exc.status >= 500) or exc.status == 408


def first_line(text: str) -> str:
    """The first line of ``text``, at most 300 characters ('' for blank text)."""
    return text.strip().splitlines()[0][:300] if text.strip() else ""
