"""The architecture stays as docs/architecture.md describes it: small modules, no import cycle, a short event path."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()
MAX_MODULE_LINES = 400
MAX_EVENT_HOPS = 10


def _cycles(imports: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in imports:
        if root in index:
            continue
        work = [(root, iter(imports[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(imports.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert _cycles({"a": ["b"], "b": []}) == []


@pytest.mark.parametrize("package", ["remediation", "armsim"])
def test_no_module_level_import_cycle(package: str):
    graph = grimp.build_graph(package)
    imports = {module: sorted(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    assert _cycles(imports) == []


def test_no_product_module_above_the_size_limit():
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for path in sorted((ROOT / "remediation").rglob("*.py"))
    }
    assert {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES} == {}


def _event_hops() -> list[str]:
    section = ARCHITECTURE.split("## The path of one Event Grid event", 1)[1].split("\n## ", 1)[0]
    hops = re.findall(r"^\d+\. \*\*(?:back in )?`([\w.]+)`", section, flags=re.MULTILINE)
    assert hops, "docs/architecture.md lost its numbered path of one event"
    return hops


def test_the_event_path_is_short_and_its_heading_counts_it():
    hops = _event_hops()
    assert len(hops) <= MAX_EVENT_HOPS
    assert f"## The path of one Event Grid event ({len(hops)} hops)" in ARCHITECTURE


def test_every_hop_of_the_event_path_names_real_code():
    for hop in _event_hops():
        parts = hop.split(".")
        prefix = [] if parts[0] == "function_app" else ["remediation"]
        for split in range(len(parts), 0, -1):
            try:
                target: object = importlib.import_module(".".join(prefix + parts[:split]))
            except ModuleNotFoundError:
                continue
            for attribute in parts[split:]:
                assert hasattr(target, attribute), f"{hop}: no {attribute}"
                target = getattr(target, attribute)
            assert callable(target), hop
            break
        else:
            pytest.fail(f"{hop}: no such module")
