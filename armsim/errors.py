"""ARM errors: every failure armsim answers is an :class:`ArmError`, rendered as ``{"error": {...}}`` (ARM's
shape) or, for a resource provider's own refusals, as the bare ``{code, message}`` real answers show."""

from __future__ import annotations

from typing import Any


class ArmError(Exception):
    """An ARM error response: HTTP status, ARM error code, message and optional extra headers."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None, *, bare: bool = False
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.bare = bare  # a resource provider's own error: ``{code, message}``, not wrapped in ``error``

    def body(self) -> dict[str, Any]:
        inner = {"code": self.code, "message": self.message}
        return inner if self.bare else {"error": inner}


def bad_request(message: str, code: str = "BadRequest") -> ArmError:
    return ArmError(400, code, message)


def provider_bad_request(message: str, code: str = "BadRequest") -> ArmError:
    """A 400 a resource provider answers itself: Microsoft.Insights sends a bare ``{code, message}`` body."""
    return ArmError(400, code, message, bare=True)


NOT_FOUND_HINT = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"


def not_found(type_name: str, name: str, resource_group: str) -> ArmError:
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{type_name}/{name}' under resource group '{resource_group}' was not found. {NOT_FOUND_HINT}",
    )


def rg_not_found(name: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


# Default ARM error code for a fault-injected status.
FAULT_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "AuthorizationFailed",
    404: "ResourceNotFound",
    408: "RequestTimeout",
    409: "Conflict",
    412: "PreconditionFailed",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
