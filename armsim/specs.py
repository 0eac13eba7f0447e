"""Request-body validation against the official ARM OpenAPI specs (vendored in ``specs/azure-specs``).

The specs keep their upstream relative ``$ref``s (``../../../../../../common-types/...``). Each spec
file is registered under a synthetic base URL that mirrors the specs folder, so URL resolution of
those ``..`` segments lands on ``common-types/resource-management/vN/types.json``; the few files
that were not copied resolve to an empty stub. Swagger's ``x-nullable`` is turned into JSON-schema
``null`` types. Validation uses draft 4 (what Swagger 2.0 schemas are written in).
"""

from __future__ import annotations

import copy
import json
import os
import threading
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

_BASE = "https://specs.armsim.invalid/"
SPECS_ENV = "ARMSIM_SPECS_DIR"
# A verbatim copy of the shared azure-specs folder (see specs/README.md), so a clean clone is self-contained.
VENDORED_SPECS = Path(__file__).resolve().parent.parent / "specs" / "azure-specs"

# Body schemas armsim validates: kind -> (spec file relative to the specs dir, definition name).
BODY_SCHEMAS = {
    "diagnosticSettings": ("Microsoft.Insights/diagnosticsSettings_API.json", "DiagnosticSettingsResource"),
    "workspace": ("Microsoft.OperationalInsights/Workspaces.json", "Workspace"),
}


class SpecsNotFoundError(FileNotFoundError):
    pass


def specs_dir() -> Path:
    """The specs folder: ``$ARMSIM_SPECS_DIR`` or the repository's ``specs/azure-specs``; raise if missing."""
    override = os.environ.get(SPECS_ENV)
    path = Path(override) if override else VENDORED_SPECS
    marker = path / BODY_SCHEMAS["diagnosticSettings"][0]
    if not marker.is_file():
        raise SpecsNotFoundError(
            f"armsim needs the official Azure REST API specs but {marker} does not exist. "
            f"Put the azure-specs folder at {path} or set {SPECS_ENV} to its location."
        )
    return path


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items()}
        if out.get("x-nullable") is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


class SpecValidator:
    """Validates request bodies; :meth:`errors` returns readable messages (empty when valid)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or specs_dir()
        self._lock = threading.Lock()
        self._validators: dict[str, jsonschema.Draft4Validator] = {}
        self._registry: Registry = Registry(retrieve=self._retrieve)  # type: ignore[call-arg]
        for kind in BODY_SCHEMAS:  # load and compile now: fail loudly at start, not mid-test
            self._validator(kind)

    def _retrieve(self, uri: str) -> Resource:
        relative = uri.removeprefix(_BASE)
        path = self.directory / relative
        contents: Any = {"definitions": {}, "parameters": {}}  # stub for the files that were not copied
        if path.is_file():
            contents = _nullable(json.loads(path.read_text(encoding="utf-8")))
        return Resource.from_contents(contents, default_specification=DRAFT4)

    def _validator(self, kind: str) -> jsonschema.Draft4Validator:
        with self._lock:
            if kind not in self._validators:
                file, definition = BODY_SCHEMAS[kind]
                schema = {"$ref": f"{_BASE}{file}#/definitions/{definition}"}
                validator = jsonschema.Draft4Validator(schema, registry=self._registry)
                list(validator.iter_errors({}))  # resolve the refs once
                self._validators[kind] = validator
            return self._validators[kind]

    def errors(self, kind: str, body: Any) -> list[str]:
        validator = self._validator(kind)
        found = sorted(validator.iter_errors(copy.deepcopy(body)), key=lambda e: list(e.absolute_path))
        messages = []
        for error in found:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            messages.append(f"{where}: {error.message}")
        return messages


_SHARED: dict[Path, SpecValidator] = {}
_SHARED_LOCK = threading.Lock()


def shared_validator() -> SpecValidator:
    """One validator per specs folder, shared by every simulator in the process (compiling takes a while)."""
    directory = specs_dir()
    with _SHARED_LOCK:
        if directory not in _SHARED:
            _SHARED[directory] = SpecValidator(directory)
        return _SHARED[directory]
