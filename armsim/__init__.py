"""armsim: an HTTPS simulator of Azure Resource Manager and the App Service managed-identity endpoint.

Used by the tests and the demo; the product talks to it through the official Azure SDK clients only.
The front is :class:`ArmSimulator` (see :mod:`armsim.simulator` for how it is built and how to add a provider).
"""

from armsim.errors import ArmError
from armsim.providers import SUPPORTED_API_VERSIONS
from armsim.simulator import ArmSimulator, Fault, RecordedRequest, sequential_rounds

__all__ = ["SUPPORTED_API_VERSIONS", "ArmError", "ArmSimulator", "Fault", "RecordedRequest", "sequential_rounds"]
