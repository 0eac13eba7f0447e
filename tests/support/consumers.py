"""Independent consumers of the machine formats, from PyPI, so no test trusts only our own code:

* ``sarif``: the official SARIF 2.1.0 JSON schema (specs/sarif/, vendored from the OASIS SARIF TC),
  checked with ``jsonschema``;
* ``junit``: ``junitparser``, a JUnit XML reader;
* ``ocsf``: ``py-ocsf-models``, the OCSF models Prowler uses (Compliance Finding, and the cloud
  profile's Cloud object, which the class itself does not declare).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema.validators import validator_for
from junitparser import JUnitXml
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
from py_ocsf_models.objects.cloud import Cloud

SARIF_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "specs" / "sarif" / "sarif-schema-2.1.0.json").read_text()
)
SARIF_VALIDATOR = validator_for(SARIF_SCHEMA)(SARIF_SCHEMA, format_checker=validator_for(SARIF_SCHEMA).FORMAT_CHECKER)


def sarif(text: str) -> dict[str, Any]:
    """The SARIF log, after the official schema accepted it (every error listed otherwise)."""
    log: dict[str, Any] = json.loads(text)
    errors = sorted(SARIF_VALIDATOR.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:10]]
    return log


def junit(text: str) -> JUnitXml:
    """The report as junitparser reads it (one testsuite per subscription)."""
    return JUnitXml.fromstring(text.encode("utf-8"))


# Fields an OCSF Compliance Finding may carry beyond the class: the cloud profile's.
PROFILE_FIELDS = {"cloud"}


def ocsf(text: str) -> list[dict[str, Any]]:
    """Each JSON line, validated as an OCSF Compliance Finding; nothing we wrote is dropped by the model."""
    events = [json.loads(line) for line in text.splitlines()]
    for event in events:
        model = ComplianceFinding.model_validate(event)
        kept = model.model_dump(mode="json", exclude_none=True)
        assert set(event) - set(kept) <= PROFILE_FIELDS, set(event) - set(kept)
        assert _subset(event, kept, path="")
        Cloud.model_validate(event["cloud"])
    return events


def _subset(ours: Any, theirs: Any, path: str) -> bool:
    """Every value we wrote survives the model (enums as their numbers, nested objects field by field)."""
    if isinstance(ours, dict):
        for key, value in ours.items():
            if path == "" and key in PROFILE_FIELDS:
                continue
            assert key in theirs, f"{path}.{key} dropped by the model"
            _subset(value, theirs[key], f"{path}.{key}")
        return True
    if isinstance(ours, list):
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            _subset(a, b, f"{path}[{i}]")
        return True
    assert ours == theirs, (path, ours, theirs)
    return True
