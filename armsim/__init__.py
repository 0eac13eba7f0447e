"""armsim: an HTTPS simulator of Azure Resource Manager and the App Service managed-identity endpoint.

Used by the tests and the demo; the product talks to it through the official Azure SDK clients only.
"""

from armsim.errors import ArmError
from armsim.handlers import SUPPORTED_API_VERSIONS
from armsim.simulator import ArmSimulator, Fault, RecordedRequest

__all__ = ["SUPPORTED_API_VERSIONS", "ArmError", "ArmSimulator", "Fault", "RecordedRequest"]
