"""ArmSimulator: an in-process HTTPS fake of Azure Resource Manager plus the App Service managed-identity endpoint.

The front of armsim. A test starts one, seeds an estate through its methods, points the product at
``sim.env()`` and reads back what happened (``sim.requests``, ``sim.get_setting``...). The API and the
behaviour are described in ``armsim/README.md``.

How it is built (each module below imports only the ones listed after it, no cycles):

* :mod:`armsim.server`: HTTPS plumbing (latency, throttling, faults, recording, one buffered write);
* :mod:`armsim.arm`: ARM's pipeline (authenticate, api-version, route, scope checks, handler under the lock);
* :mod:`armsim.providers`: one module per resource provider, gathered into the route table;
* :mod:`armsim.routing` (Route, Request, Response), :mod:`armsim.access`, :mod:`armsim.faults`,
  :mod:`armsim.events`, :mod:`armsim.state` (the shared state), :mod:`armsim.throttle`,
  :mod:`armsim.specs`, :mod:`armsim.tls`, :mod:`armsim.errors`.

**Adding a provider** (say Microsoft.Management for management groups):

1. Write ``armsim/providers/<name>.py`` with ``API_VERSIONS`` (route group -> the versions the pinned SDK
   sends), handlers ``def get_thing(req: Request, **placeholders) -> Response`` (raise
   :class:`~armsim.errors.ArmError` for errors; they run under ``sim.lock`` and their body is deep-copied
   for the wire), ``ROUTES = (Route("GET", "/providers/Microsoft.Management/managementGroups/{group}",
   "managementGroups", get_thing, tenant=True), ...)`` and a seeding mixin
   ``class ThingSeeding(State)`` whose ``_init_state()`` calls ``super()._init_state()`` and creates the
   provider's dictionaries (``register_resources(table)`` lets :meth:`resource_spelling` and settings on
   the new resources find them).
2. Add the module to ``PROVIDERS`` in :mod:`armsim.providers` and the mixin to :class:`ArmSimulator`'s bases.
3. Test it in ``tests/armsim/`` through the SDK the product uses, and list it in ``armsim/README.md``.

**Adding a fault switch**: see :mod:`armsim.faults`. **Changing how ARM answers** in a way a test
needs to undo: add an attribute here with the real behaviour as its default and name it in the README.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
import threading
from pathlib import Path

from armsim.events import EventGrid
from armsim.faults import Fault, Faults
from armsim.providers.containerservice import ClusterSeeding
from armsim.providers.identity import IDENTITY_PATH, IdentitySeeding
from armsim.providers.insights import InsightsSeeding
from armsim.providers.logs import LogsSeeding
from armsim.providers.management import ManagementSeeding
from armsim.providers.tables import TableSeeding
from armsim.server import Handler, Server
from armsim.state import RecordedRequest, key, resource_type_of, sequential_rounds
from armsim.tls import write_self_signed

__all__ = ["ArmSimulator", "Fault", "RecordedRequest", "key", "resource_type_of", "sequential_rounds"]


class ArmSimulator(
    ClusterSeeding, ManagementSeeding, TableSeeding, InsightsSeeding, LogsSeeding, IdentitySeeding, Faults, EventGrid
):
    """Fake ARM over HTTPS on 127.0.0.1. See ``armsim/README.md`` for the API and behaviour.

    ``ArmSimulator(page_size=50, lro_polls=1, lro_retry_after_ms=10, port=0, host="127.0.0.1",
    principal_id=..., tenant_id=..., client_id=..., throttle=False, latency=0.0)`` (the options of
    :class:`armsim.state.State`).
    """

    def _init_state(self) -> None:
        super()._init_state()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._tmp: Path | None = None
        self.cert_path = ""
        self.key_path = ""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> ArmSimulator:
        if self._server is not None:
            return self
        self._tmp = Path(tempfile.mkdtemp(prefix="armsim-"))
        cert, keyfile = write_self_signed(self._tmp)
        self.cert_path, self.key_path = str(cert), str(keyfile)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        self._server = Server((self.host, self.port), Handler, self, context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="armsim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.stopping.set()
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._server = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> ArmSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def identity_endpoint(self) -> str:
        return self.base_url + IDENTITY_PATH

    def env(self) -> dict[str, str]:
        """Environment for the product: ARM endpoint, App Service managed identity, trust of our certificate."""
        return {
            "REMEDIATION_ARM_ENDPOINT": self.base_url,
            "REMEDIATION_LOGS_ENDPOINT": self.base_url,
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            "REQUESTS_CA_BUNDLE": self.cert_path,
            "SSL_CERT_FILE": self.cert_path,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
