"""The run's estate (remediation.engine.estate): the configured list, a management group's, or every one visible."""

from __future__ import annotations

import pytest

from remediation.config.parse import load_config
from remediation.engine.estate import Estate, estate_of, subscriptions_in_scope

A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"
C = "cccccccc-0000-4000-8000-000000000003"


class Lister:
    """ARM as far as the estate asks it: the group's subscriptions and every visible one, counted."""

    def __init__(self, group: list[str], visible: list[str]) -> None:
        self.group, self.visible = group, visible
        self.calls: list[str] = []

    def list_management_group_subscriptions(self, group_id: str) -> list[str]:
        self.calls.append(f"group {group_id}")
        return list(self.group)

    def list_subscriptions(self) -> list[str]:
        self.calls.append("subscriptions")
        return list(self.visible)


@pytest.mark.parametrize(
    ("settings", "expected", "calls"),
    [
        ({}, [A.upper(), B], ["subscriptions"]),
        ({"REMEDIATION_SUBSCRIPTION_IDS": f"{C},{A}"}, [C, A], []),
        ({"REMEDIATION_MANAGEMENT_GROUP": "lz"}, [A, B], ["group lz"]),
        ({"REMEDIATION_MANAGEMENT_GROUP": "lz", "REMEDIATION_SUBSCRIPTION_IDS": f"{B},{C}"}, [B], ["group lz"]),
    ],
)
def test_subscriptions_in_scope(settings: dict[str, str], expected: list[str], calls: list[str]) -> None:
    lister = Lister(group=[B, A.upper()], visible=[A.upper(), B, A])
    scope = subscriptions_in_scope(load_config({"REMEDIATION_SUBSCRIPTION_IDS": "", **settings}), lister)
    assert scope == [s.lower() for s in expected]
    assert lister.calls == calls, "at most one listing"


def test_an_estate_admits_and_splits_case_insensitively() -> None:
    estate = Estate(frozenset({A}), "lz")
    assert estate.admits(A.upper()) and not estate.admits(B)
    assert estate.split([B, A.upper(), A, B]) == ([A], [B])
    assert "management group 'lz'" in estate.outside_message(B)
    narrowed = estate_of(
        load_config({"REMEDIATION_MANAGEMENT_GROUP": "lz", "REMEDIATION_SUBSCRIPTION_IDS": A}), Lister([A, B], [])
    )
    assert narrowed == Estate(frozenset({A}), "lz", narrowed=True)
    assert "narrowed by REMEDIATION_SUBSCRIPTION_IDS" in narrowed.outside_message(B)
    assert "REMEDIATION_SUBSCRIPTION_IDS" in Estate(frozenset({A})).outside_message(B)
    assert Estate(None).admits(C)
