"""``json``: exactly the schema-1 document, keys in schema order, indent 2."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from remediation.core.report import ActionDoc, ClusterDoc, ErrorDoc, ReportDocument, SummaryDoc, WorkspaceDoc

_DOC_KEYS = tuple(ReportDocument.__annotations__)
_SUMMARY_KEYS = tuple(SummaryDoc.__annotations__)
_CLUSTER_KEYS = tuple(ClusterDoc.__annotations__)
_ACTION_KEYS = tuple(ActionDoc.__annotations__)
_WORKSPACE_KEYS = tuple(WorkspaceDoc.__annotations__)
_ERROR_KEYS = tuple(ErrorDoc.__annotations__)


def _ordered(data: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    out = {key: data[key] for key in keys if key in data}
    out.update({key: data[key] for key in sorted(data) if key not in out})
    return out


def canonical(document: ReportDocument) -> dict[str, Any]:
    """The document with every object's keys in schema order (extras last, sorted)."""
    out = _ordered(document, _DOC_KEYS)
    if isinstance(out.get("summary"), Mapping):
        out["summary"] = _ordered(out["summary"], _SUMMARY_KEYS)
    clusters = []
    for cluster in out.get("clusters", []):
        item = _ordered(cluster, _CLUSTER_KEYS)
        if isinstance(item.get("action"), Mapping):
            item["action"] = _ordered(item["action"], _ACTION_KEYS)
        clusters.append(item)
    out["clusters"] = clusters
    out["workspaces"] = [_ordered(w, _WORKSPACE_KEYS) for w in out.get("workspaces", [])]
    out["errors"] = [_ordered(e, _ERROR_KEYS) for e in out.get("errors", [])]
    return out


def render_json(document: ReportDocument) -> str:
    return json.dumps(canonical(document), indent=2, ensure_ascii=False) + "\n"
