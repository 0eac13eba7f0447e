"""The pure parts of "one bad entry costs only itself": escaping raw text, and which setting entries a
resource's settings listing may hold (see tests/engine/test_listing_entries.py for the whole run)."""

from __future__ import annotations

import pytest
from azure.mgmt.monitor.v2021_05_01_preview.models import DiagnosticSettingsResource

from remediation.azure.models import settings_of
from remediation.errors import ResourceIdError
from remediation.ids import printable

CLUSTER = (
    "/subscriptions/aaaaaaaa-1111-4111-8111-000000000001/resourcegroups/rg-apps"
    "/providers/Microsoft.ContainerService/managedClusters/aks-a"
)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("rg bad/ü(1)", "rg bad/ü(1)"),  # printable text, spaces and non-ASCII letters stay
        ("a\nb\x1b[31m", "a\\nb\\x1b[31m"),
        ("x\u202eexe.pdf\u2066\u200f", "x\\u202eexe.pdf\\u2066\\u200f"),  # bidi controls
        ("back\\slash\u2028", "back\\\\slash\\u2028"),  # a backslash is escaped too: the escape is unambiguous
    ],
)
def test_printable_escapes_every_control_bidi_and_format_character(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def entry(setting_id: str | None, name: str | None) -> DiagnosticSettingsResource:
    setting = DiagnosticSettingsResource()
    setting.id, setting.name = setting_id, name  # read-only on the model: set as the deserializer does
    return setting


def test_settings_of_accepts_the_resources_settings_in_any_case() -> None:
    ok = entry(f"{CLUSTER.lower()}/providers/microsoft.insights/diagnosticSettings/audit logs", "audit logs")

    (setting,) = settings_of(CLUSTER, [ok])

    assert setting.name == "audit logs"


@pytest.mark.parametrize(
    ("setting_id", "name"),
    [
        (None, "audit"),  # no ID at all
        (f"{CLUSTER}/providers/Microsoft.Insights/diagnosticSettings/audit", None),  # no name
        (f"{CLUSTER}/providers/Microsoft.Insights/diagnosticSettings/other", "audit"),  # ID and name disagree
        (f"{CLUSTER}-2/providers/Microsoft.Insights/diagnosticSettings/audit", "audit"),  # another resource's
        (f"{CLUSTER}/providers/Microsoft.Insights/diagnosticSettings/a\x1b[2J", "a\x1b[2J"),  # hostile text
    ],
)
def test_settings_of_rejects_an_entry_that_is_not_one_of_the_resources_settings(
    setting_id: str | None, name: str | None
) -> None:
    with pytest.raises(ResourceIdError, match="is not a diagnostic setting of") as raised:
        settings_of(
            CLUSTER,
            [entry(f"{CLUSTER}/providers/Microsoft.Insights/diagnosticSettings/ok", "ok"), entry(setting_id, name)],
        )

    assert "\x1b" not in str(raised.value)
