"""The reason catalogue (remediation/core/reasons.py): one record per code, read by every output."""

from __future__ import annotations

from remediation.core.model import Reason
from remediation.core.reasons import (
    BASELINE_ENTRIES,
    CATALOGUE,
    ENTRIES,
    EXEMPTION_ENTRIES,
    OTHER_ARM_ERROR_STEP,
    lookup,
    meaning,
    next_step,
)


def test_each_code_is_catalogued_once_and_every_cluster_reason_says_what_to_do():
    assert len(CATALOGUE) == len(ENTRIES) + len(BASELINE_ENTRIES) + len(EXEMPTION_ENTRIES)
    for reason in Reason:
        entry = lookup(reason.value)
        assert entry is not None and entry.meaning and entry.next_step, reason


def test_a_code_is_looked_up_as_its_own_kind_only():
    assert meaning("logs-disabled", "setting") == "every log category in it is disabled"
    assert meaning("logs-disabled") is None, "a setting's reason is no cluster's reason"
    assert meaning("query-timeout", "flow")
    assert meaning(None) is None and meaning("Conflict") is None


def test_next_steps_fill_their_fields_and_unknown_codes_get_the_generic_step():
    assert next_step("ScopeLocked", tag="k=v") == "remove the lock, or exclude the cluster with the tag k=v"
    assert next_step("Conflict") == OTHER_ARM_ERROR_STEP
    assert next_step(None) == OTHER_ARM_ERROR_STEP
    setting_reason = CATALOGUE["no-destination"]
    assert setting_reason.step() is None
