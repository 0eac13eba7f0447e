"""The process's time-to-live knowledge (remediation.engine.knowledge)."""

from __future__ import annotations

from remediation.core.model import CategoryMetadata
from remediation.engine.knowledge import CATEGORY_TTL, WORKSPACE_TTL, Knowledge, is_stale_knowledge, knowledge_for
from remediation.errors import ArmError

WS = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    known = Knowledge(clock=clock)
    metadata = CategoryMetadata(groups={}, categories=frozenset({"kube-audit"}))
    known.remember_categories(metadata)
    known.remember_workspace(WS, "Succeeded")
    assert known.category_metadata() is metadata
    assert known.workspace_state(WS.upper()) == "Succeeded"  # IDs compared case-insensitively
    clock.now = WORKSPACE_TTL + 1
    assert known.workspace_state(WS) is None
    assert known.category_metadata() is metadata
    clock.now = CATEGORY_TTL + 1
    assert known.category_metadata() is None


def test_only_confirmations_are_kept() -> None:
    known = Knowledge()
    known.remember_workspace(WS, "Succeeded")
    known.remember_workspace(WS, None)  # gone
    assert known.workspace_state(WS) is None
    known.remember_workspace(WS, "Creating")
    assert known.workspace_state(WS) is None
    known.remember_categories(CategoryMetadata(groups={}, categories=frozenset()))
    assert known.category_metadata() is None


def test_forget_and_one_knowledge_per_endpoint() -> None:
    known = knowledge_for("https://management.example")
    assert knowledge_for("HTTPS://management.example") is known
    assert knowledge_for("https://other.example") is not known
    known.remember_workspace(WS, "Succeeded")
    known.forget()
    assert known.workspace_state(WS) is None


def test_rejections_that_stale_knowledge_explains() -> None:
    assert is_stale_knowledge(ArmError("LinkedResourceNotFound", "gone", status=400))
    assert is_stale_knowledge(
        ArmError("BadRequest", "Category 'kube-new' is not supported for resource type 'x'.", status=400)
    )
    assert not is_stale_knowledge(ArmError("BadRequest", "A diagnostic setting needs a destination", status=400))
    assert not is_stale_knowledge(ArmError("ScopeLocked", "locked", status=409))
