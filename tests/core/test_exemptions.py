"""Exemptions (remediation/core/exemptions.py): the exclude tag with an expiry and a reason."""

from __future__ import annotations

from datetime import date

import pytest

from remediation.config.parse import load_config
from remediation.core.evidence import explain
from remediation.core.exemptions import ExemptionState, exemption_doc, exemption_of
from remediation.core.model import Status
from remediation.core.planner import precheck
from tests.support.model import CONFIG, cluster

TODAY = date(2026, 12, 1)
KEY = "aks-audit-remediation"


@pytest.mark.parametrize(
    ("value", "state", "until"),
    [
        ("exclude", "active", None),
        ("EXCLUDE ", "active", None),
        ("exclude-until:2027-01-31", "active", "2027-01-31"),
        ("exclude-until:2026-12-16", "active", "2026-12-16"),
        ("exclude-until:2026-12-15", "expiring_soon", "2026-12-15"),
        ("Exclude-Until:2026-12-01", "expiring_soon", "2026-12-01"),
        ("exclude-until:2026-11-30", "expired", "2026-11-30"),
        ("exlude", "malformed", None),
        ("exclude-until:2026-13-01", "malformed", None),
        ("exclude-until:2026-02-30", "malformed", None),
        ("exclude-until:2026-2-1", "malformed", None),
        ("exclude-until:20261231", "malformed", None),
        ("exclude-until:", "malformed", None),
        ("exclude until 2026-12-31", "malformed", None),
        ("", "malformed", None),
    ],
)
def test_each_form_of_the_tag(value, state, until):
    found = exemption_of({KEY.upper(): value, "team": "web"}, CONFIG.exclude_tag, today=TODAY)
    assert found is not None
    assert found.state.value == state
    assert (found.until.isoformat() if found.until else None) == until
    assert found.tag == f"{KEY.upper()}={value}", "the tag as found, for the report"
    assert found.excludes is (state in ("active", "expiring_soon"))


def test_no_tag_no_exemption_and_the_reason_tag_follows_the_key():
    assert exemption_of({"team": "web"}, CONFIG.exclude_tag, today=TODAY) is None
    assert exemption_of(None, CONFIG.exclude_tag, today=TODAY) is None
    tags = {KEY: "exclude", f"{KEY}-reason": " vendor-managed cluster "}
    assert exemption_of(tags, CONFIG.exclude_tag, today=TODAY).reason == "vendor-managed cluster"
    assert exemption_of({KEY: "exclude", f"{KEY}-reason": " "}, CONFIG.exclude_tag, today=TODAY).reason is None
    custom = load_config({"REMEDIATION_EXCLUDE_TAG": "skip=yes"}).exclude_tag
    found = exemption_of({"skip": "yes-until:2027-01-01", "skip-reason": "pilot"}, custom, today=TODAY)
    assert found is not None and found.state is ExemptionState.ACTIVE and found.reason == "pilot"


def test_the_document_form_says_when_an_exemption_expired():
    expired = exemption_of(
        {KEY: "exclude-until:2026-11-01", f"{KEY}-reason": "migration"}, CONFIG.exclude_tag, today=TODAY
    )
    assert exemption_doc(expired) == {
        "state": "expired",
        "tag": f"{KEY}=exclude-until:2026-11-01",
        "until": "2026-11-01",
        "reason": "migration",
        "expired_on": "2026-11-01",
    }
    open_ended = exemption_of({KEY: "exclude"}, CONFIG.exclude_tag, today=TODAY)
    assert exemption_doc(open_ended) == {"state": "active", "tag": f"{KEY}=exclude", "until": None, "reason": None}


def test_only_a_valid_unexpired_exemption_excludes():
    def excluded(value: str) -> bool:
        early = precheck(cluster(tags={KEY: value}), CONFIG, today=TODAY)
        return early is not None and early.status is Status.EXCLUDED

    assert excluded("exclude") and excluded("exclude-until:2026-12-01") and excluded("exclude-until:2030-01-01")
    assert not excluded("exclude-until:2026-11-30"), "expired: checked and remediated"
    assert not excluded("exclude-until:2026-12-32") and not excluded("exclued"), "a typo never exempts"


def test_an_excluded_cluster_says_until_when_and_why():
    exemption = exemption_of(
        {KEY: "exclude-until:2026-12-10", f"{KEY}-reason": "vendor"}, CONFIG.exclude_tag, today=TODAY
    )
    why = explain(
        cluster=cluster(),
        status=Status.EXCLUDED,
        reason="excluded-by-tag",
        missing=None,
        settings=None,
        change=None,
        config=CONFIG,
        exemption=exemption,
    )
    assert why.text == (
        f"tagged {KEY}=exclude-until:2026-12-10 (exempt through 2026-12-10; reason: vendor): "
        "nothing beyond the cluster list was read and nothing is written"
    )
