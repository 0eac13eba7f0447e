"""Access control the tests switch on: forbidden subscriptions, resources and actions, role grants, locks.

Checked for every ARM request by :func:`armsim.routing.check_scope` (403 ``AuthorizationFailed``,
409 ``ScopeLocked``) and by the providers that link resources (403 ``LinkedAuthorizationFailed``).
"""

from __future__ import annotations

from collections.abc import Iterable

from armsim.state import State, key, under


class AccessControl(State):
    """Mixin of :class:`armsim.ArmSimulator`: the access-control switches."""

    def forbid_subscription(self, subscription_id: str) -> None:
        with self.lock:
            self.forbidden_subscriptions.add(key(f"/subscriptions/{subscription_id}"))

    def forbid_resource(self, resource_id: str) -> None:
        """Any request at or under it answers 403 AuthorizationFailed; linking it, 403 LinkedAuthorizationFailed."""
        with self.lock:
            self.forbidden_resources.add(key(resource_id))

    def forbid_action(self, action: str, scope: str) -> None:
        """Answer 403 AuthorizationFailed to ``action`` (e.g. ``Microsoft.Resources/subscriptions/
        resourceGroups/write``) on ``scope`` and below, as a role without that action would."""
        with self.lock:
            self.forbidden_actions.add((action.lower(), key(scope)))

    def grant(self, actions: Iterable[str], scope: str) -> None:
        """Model a role assignment: ``actions`` (exact names, no wildcards) at ``scope`` and below.
        From the first call on, every ARM request needs its action granted at a scope containing
        its path (``<resource type>/read|write|delete``), a diagnostic setting's workspace needs
        ``Microsoft.OperationalInsights/workspaces/sharedKeys/action`` (LinkedAuthorizationFailed),
        and listing subscriptions returns those where ``Microsoft.Resources/subscriptions/read`` is granted."""
        with self.lock:
            if self.role_grants is None:
                self.role_grants = []
            self.role_grants.append((frozenset(a.lower() for a in actions), key(scope)))

    def is_granted(self, action: str, resource_id: str) -> bool:
        """True when RBAC is not modelled, or ``action`` is granted at a scope containing ``resource_id``."""
        grants = self.role_grants
        if grants is None:
            return True
        target = key(resource_id)
        wanted = action.lower()
        return any(wanted in actions and self._within(target, scope) for actions, scope in grants)

    def is_denied(self, resource_id: str) -> bool:
        """True when ``resource_id`` lies in a forbidden subscription or under a forbidden resource."""
        target = key(resource_id)
        sub_key = "/".join(target.split("/")[:3])
        return sub_key in self.forbidden_subscriptions or any(under(target, f) for f in self.forbidden_resources)

    def lock_resource(self, resource_id: str) -> None:
        """PUT/PATCH/POST/DELETE at or under it answer 409 ScopeLocked."""
        with self.lock:
            self.locks.add(key(resource_id))

    def unlock_resource(self, resource_id: str) -> None:
        with self.lock:
            self.locks.discard(key(resource_id))
