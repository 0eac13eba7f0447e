"""Exemptions through the CLI against armsim: tagged clusters excluded until their last day, an
expired one checked and remediated with its exemption in the evidence, a typo excluding nothing.

Days are relative to the real UTC day and kept at least three days from any boundary, so a run
that crosses midnight decides the same."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from tests.support.cli import cli
from tests.support.constants import SUB_A

KEY = "aks-audit-remediation"


def _day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def _estate(sim) -> dict[str, str]:
    return {
        "open": sim.add_cluster(
            SUB_A, "rg-app", "aks-open", "eastus", tags={KEY: "exclude", f"{KEY}-reason": "vendor-managed"}
        ),
        "soon": sim.add_cluster(SUB_A, "rg-app", "aks-soon", "eastus", tags={KEY: f"exclude-until:{_day(5)}"}),
        "later": sim.add_cluster(SUB_A, "rg-app", "aks-later", "eastus", tags={KEY: f"exclude-until:{_day(60)}"}),
        "expired": sim.add_cluster(
            SUB_A,
            "rg-app",
            "aks-expired",
            "eastus",
            tags={KEY: f"exclude-until:{_day(-3)}", f"{KEY}-reason": "migration window"},
        ),
        "typo": sim.add_cluster(SUB_A, "rg-app", "aks-typo", "eastus", tags={KEY: "exlcude"}),
    }


def test_apply_honours_exemptions_until_their_last_day_and_never_a_typo(estate, caplog):
    ids = _estate(estate)
    caplog.set_level(logging.INFO, logger="remediation")

    code, out, _ = cli("apply", "--format", "json")

    doc = json.loads(out)
    by_name = {c["name"]: c for c in doc["clusters"]}
    assert code == 0
    assert by_name["aks-open"]["status"] == "excluded"
    assert by_name["aks-open"]["exemption"] == {
        "state": "active",
        "tag": f"{KEY}=exclude",
        "until": None,
        "reason": "vendor-managed",
    }
    assert "reason: vendor-managed" in by_name["aks-open"]["explanation"]
    assert by_name["aks-soon"]["status"] == "excluded"
    assert by_name["aks-soon"]["exemption"]["state"] == "expiring_soon"
    assert by_name["aks-later"]["status"] == "excluded"
    assert by_name["aks-later"]["exemption"]["state"] == "active"
    expired = by_name["aks-expired"]
    assert expired["status"] == "remediated", "an expired exemption excludes nothing"
    assert expired["exemption"] == {
        "state": "expired",
        "tag": f"{KEY}=exclude-until:{_day(-3)}",
        "until": _day(-3),
        "reason": "migration window",
        "expired_on": _day(-3),
    }
    typo = by_name["aks-typo"]
    assert typo["status"] == "remediated", "a typo never exempts"
    assert typo["exemption"] == {"state": "malformed", "tag": f"{KEY}=exlcude", "until": None, "reason": None}
    assert doc["summary"]["exemptions"] == {"active": 2, "expiring_soon": 1, "expired": 1, "malformed": 1}
    written = {r.path.lower() for r in estate.write_requests()}
    for name in ("open", "soon", "later"):
        assert not any(p.startswith(ids[name].lower()) for p in written), f"aks-{name} is never touched"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "malformed" in r.getMessage()]
    assert [getattr(r, "tag", None) for r in warnings] == [f"{KEY}=exlcude"]


def test_every_format_lists_what_needs_a_person(estate):
    _estate(estate)

    _, table, _ = cli("report", "--format", "table")
    assert "exemptions expiring soon:" in table and f"exclude-until:{_day(5)} (through {_day(5)})" in table
    assert "exclude tags that exclude nothing (malformed):" in table
    assert f"{KEY}=exlcude (excludes nothing)" in table
    assert f"(expired on {_day(-3)}; reason: migration window)" in table
    assert "exemptions  2 active, 1 expiring soon, 1 expired, 1 malformed" in table
    _, markdown, _ = cli("report", "--format", "markdown")
    assert "## Exemptions expiring soon" in markdown and "## Exclude tags that exclude nothing (malformed)" in markdown
    _, page, _ = cli("report", "--format", "html")
    assert 'id="exemptions-expiring_soon"' in page and 'id="exemptions-malformed"' in page
    _, rows, _ = cli("report", "--format", "csv")
    header = rows.splitlines()[0].split(",")
    assert header[-4:] == ["exemption_state", "exemption_tag", "exemption_until", "exemption_reason"]
    assert f"malformed,{KEY}=exlcude,," in rows
