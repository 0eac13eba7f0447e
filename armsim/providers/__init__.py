"""armsim's providers and the route table they make.

Each provider module serves one ARM resource provider (or the part of it the product uses) and has:

* ``API_VERSIONS``: route group -> the api-versions accepted (exactly what the pinned SDKs send);
* ``ROUTES``: :class:`armsim.routing.Route` entries, each a method and a path pattern bound to a
  handler ``handler(request, **placeholders) -> Response`` (raise :class:`armsim.errors.ArmError`
  for an error answer);
* a seeding mixin (``...Seeding``) with the test API of that provider (``add_...``, ``get_...``) and,
  through the cooperative ``_init_state()`` hook, its own state.

:data:`ROUTES` and :data:`SUPPORTED_API_VERSIONS` gather them; :class:`armsim.ArmSimulator` inherits
every seeding mixin. The query API (:mod:`.logs`) and the token endpoint (:mod:`.identity`) are not
ARM and are dispatched by :mod:`armsim.server` directly.
"""

from __future__ import annotations

from armsim.providers import (
    activitylog,
    containerservice,
    insights,
    management,
    operationalinsights,
    resources,
    tables,
)
from armsim.routing import Route

PROVIDERS = (resources, management, containerservice, operationalinsights, tables, insights, activitylog)

ROUTES: tuple[Route, ...] = tuple(route for provider in PROVIDERS for route in provider.ROUTES)
# api-versions accepted per route group: exactly what the pinned SDKs send.
SUPPORTED_API_VERSIONS: dict[str, tuple[str, ...]] = {
    group: versions for provider in PROVIDERS for group, versions in provider.API_VERSIONS.items()
}
