"""Real ARM answers (``specs/azure-recordings``, a verbatim copy of ``../shared/azure-recordings``) and the
ways the conformance tests compare an answer with a recorded one: the shape of a body (which fields are
present, and whether each is null, a string, a number, an object or a list), the casing pattern of an ID,
the rate-limit headers' names and the long-running-operation headers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "specs" / "azure-recordings"
SHARED = ROOT.parent / "shared" / "azure-recordings"
RECORDINGS = sorted(VENDORED.glob("*.json"))
RATE_LIMIT = "x-ms-ratelimit-remaining-"
LRO_HEADERS = ("azure-asyncoperation", "location", "retry-after", "retry-after-ms")


@dataclass(frozen=True)
class Recording:
    name: str
    data: dict[str, Any]

    @property
    def exchanges(self) -> list[dict[str, Any]]:
        return list(self.data["exchanges"])

    @property
    def recorded(self) -> str:
        return str(self.data["source"]["recorded"])

    @property
    def seed(self) -> dict[str, Any]:
        return dict(self.data.get("seed") or {})

    @property
    def categories(self) -> dict[str, str]:
        """Recorded category -> the AKS category armsim serves in its place (the file's ``map``)."""
        return dict((self.data.get("map") or {}).get("categories") or {})


def load(path: Path) -> Recording:
    return Recording(path.stem, json.loads(path.read_text(encoding="utf-8")))


def shape(value: Any) -> Any:
    """The structure of a JSON value: objects keep their keys, lists their first element, scalars their kind."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "str"


def keys(value: Any, depth: int = 2) -> set[str]:
    """The dotted key paths of an object, ``depth`` levels deep (``properties.plan``)."""
    out: set[str] = set()
    if isinstance(value, dict) and depth > 0:
        for k, v in value.items():
            out.add(k)
            out |= {f"{k}.{inner}" for inner in keys(v, depth - 1)}
    return out


def shape_differences(recorded: Any, ours: Any, where: str = "") -> list[str]:
    """Where two shapes differ: a field one has and the other lacks, or a different kind of value."""
    if isinstance(recorded, dict) and isinstance(ours, dict):
        found = []
        for k in recorded.keys() | ours.keys():
            path = f"{where}.{k}" if where else k
            if k not in ours:
                found.append(f"{path}: recorded, armsim lacks it")
            elif k not in recorded:
                found.append(f"{path}: armsim has it, the recording does not")
            else:
                found += shape_differences(recorded[k], ours[k], path)
        return sorted(found)
    if isinstance(recorded, list) and isinstance(ours, list):
        if recorded and ours:
            return shape_differences(recorded[0], ours[0], where + "[0]")
        return []  # an empty list says nothing of its elements
    if recorded != ours:
        return [f"{where or '(body)'}: recorded {recorded!r}, armsim {ours!r}"]
    return []


def id_casing(resource_id: str, names: set[str]) -> list[str]:
    """The casing pattern of an ARM ID: per segment, ``lower`` or ``as-is`` for the fixed parts
    (``resourcegroups`` or ``resourceGroups``, ``providers``, namespaces, types), and for names whether ARM
    kept the spelling they were created or sent with (``kept``), lower-cased it (``lowered``), or there is
    no telling (``*``: the name is all lower case, or unknown). ``names``: the names as created or sent."""
    out: list[str] = []
    expect = "type"  # /subscriptions/{name}/resourceGroups/{name}/providers/{namespace}/{type}/{name}/...
    for seg in (s for s in resource_id.split("/") if s):
        low = seg.lower()
        if expect == "name":
            known = [n for n in names if n.lower() == low and n != low]
            out.append("*" if not known else "kept" if seg in known else "lowered" if seg == low else "other")
            expect = "type"
            continue
        out.append("lower" if seg == low else "as-is")
        if expect == "type" and low == "providers":
            expect = "namespace"
        elif expect == "namespace":
            expect = "type"
        else:
            expect = "name"
    return out


def casing_differences(recorded: list[str], ours: list[str]) -> list[str]:
    if len(recorded) != len(ours):
        return [f"{len(recorded)} segments recorded, {len(ours)} from armsim"]
    return [
        f"segment {i}: recorded {r}, armsim {o}"
        for i, (r, o) in enumerate(zip(recorded, ours, strict=True))
        if r != o and "*" not in (r, o)
    ]


def names_in(path: str, body: Any) -> set[str]:
    names = {s for s in path.split("/") if s}
    if isinstance(body, dict):
        for item in [body, *(body.get("value") or [])]:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                names.add(item["name"])
    return names


def rate_limit_names(headers: dict[str, str]) -> set[str]:
    return {h.lower() for h in headers if h.lower().startswith(RATE_LIMIT)}


def lro_header_names(headers: dict[str, str]) -> set[str]:
    return {h.lower() for h in headers if h.lower() in LRO_HEADERS}


def ids_of(body: Any) -> list[str]:
    """The ``id`` of a resource body, or of each item of a list answer."""
    if not isinstance(body, dict):
        return []
    items = body["value"] if isinstance(body.get("value"), list) else [body]
    return [str(item["id"]) for item in items if isinstance(item, dict) and item.get("id")]


NSG = re.compile(r"/providers/Microsoft\.Network/networkSecurityGroups/", re.IGNORECASE)
CLUSTERS = "/providers/Microsoft.ContainerService/managedClusters/"
