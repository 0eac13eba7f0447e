"""armsim answers every recorded request as real ARM did (``specs/azure-recordings``).

For each recording: armsim is seeded as its ``seed`` says, then each recorded request is sent to armsim
in order (a long-running operation's polls follow armsim's own ``Azure-AsyncOperation`` / ``Location``
URLs), and its answer is compared with the recorded one: the status; for long-running operations which
headers drive the protocol (``Azure-AsyncOperation``, ``Location``, no ``Retry-After``), the poll sequence
and the final body; which fields the body has and which are null (``systemData`` above all); the
rate-limit headers' names; the error body's shape; the casing pattern of every ID.

The requests are mapped onto what armsim serves, the same way for every recording: the recordings'
network security groups become AKS clusters of the same name, their categories the AKS ones the file's
``map`` names, the custom table ``TB000003_CL`` the Azure table ``AKSAudit``, and each api-version the one
the product's SDK sends for that operation (armsim accepts exactly those). Where armsim deliberately
answers otherwise, :data:`DELIBERATE` says so and why; an entry that no longer matches a difference fails
the test, so the list stays true. Timings are scaled down: armsim's operations end after as many polls as
were recorded, at once (``sim.lro_polls``), not after seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from armsim import ArmSimulator
from armsim.providers import ROUTES, SUPPORTED_API_VERSIONS
from armsim.routing import find_route
from tests.conformance.recordings import (
    CLUSTERS,
    NSG,
    RECORDINGS,
    SHARED,
    VENDORED,
    Recording,
    casing_differences,
    id_casing,
    ids_of,
    keys,
    load,
    lro_header_names,
    names_in,
    rate_limit_names,
    shape,
    shape_differences,
)

TABLES = {"TB000003_CL": "AKSAudit"}
OLD_API = "armsim serves the api-version of the product's SDK, whose answers differ from this older one's"
LOCATION_ONLY = (
    "before 2025 a workspace PUT answered Location (the workspace) without Azure-AsyncOperation; armsim answers as "
    "ARM does for the SDK's api-version (2025-02-01 recorded): Azure-AsyncOperation + Location"
)
# (recording, exchange index, aspect) -> why armsim answers otherwise, on purpose.
DELIBERATE: dict[tuple[str, int, str], str] = {
    ("aks_cluster_rg_workspace_2024-02", 3, "id-casing"): OLD_API + " (2015-11-01-preview lower-cases the whole ID)",
    ("diagnostic_settings_2025-05", 0, "body"): OLD_API
    + " (2017-05-01-preview): categories of 2021-05-01-preview carry categoryGroups",
    ("diagnostic_settings_2025-05", 1, "body"): OLD_API + " (2017-05-01-preview): no categoryGroups",
    ("tables_patch_inprogress_2021-12-01-preview_2022", 1, "id-casing"): OLD_API
    + " (2015-11-01-preview spelled 'operationStatuses'; later answers 'operationstatuses')",
    ("tables_patch_inprogress_2021-12-01-preview_2022", 2, "id-casing"): OLD_API
    + " (2015-11-01-preview spelled 'operationStatuses'; later answers 'operationstatuses')",
    ("tables_patch_inprogress_2021-12-01-preview_2022", 2, "body"): OLD_API
    + " (2015-11-01-preview operation status: no properties)",
    ("tables_patch_inprogress_2021-12-01-preview_2022", 3, "body"): OLD_API
    + " (2021-12-01-preview tables: no lastPlanModifiedDate, no *AsDefault)",
    ("tables_patch_inprogress_2021-12-01-preview_2022", 3, "id-casing"): OLD_API
    + " (2021-12-01-preview echoed the request's 'resourcegroups')",
    ("ws_create_2021-12-01-preview_and_diag_put_2023-02", 0, "lro-headers"): LOCATION_ONLY,
    ("ws_create_2021-12-01-preview_and_diag_put_2023-02", 0, "body"): "the 2025 answer has an etag; 2021-12 had none",
    ("ws_create_2021-12-01-preview_and_diag_put_2023-02", 1, "body"): "the 2025 answer has an etag; 2021-12 had none",
    ("ws_create_update_delete_2023-09-01", 1, "lro-headers"): LOCATION_ONLY,
}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    path: str


@dataclass(frozen=True)
class Difference:
    index: int
    aspect: str
    text: str


class Driver:
    """Sends a recording's requests to armsim, mapped onto what armsim serves."""

    def __init__(self, sim: ArmSimulator, recording: Recording) -> None:
        self.sim = sim
        self.recording = recording
        self.token, _ = sim.issue_token(sim.base_url)
        self.seed_names: set[str] = set()
        seed = recording.seed
        for sub in seed.get("subscriptions", []):
            sim.add_subscription(sub)
        for sub, rg, location in seed.get("resource_groups", []):
            sim.add_resource_group(sub, rg, location)
            self.seed_names.add(rg)
        for sub, rg, name, location in seed.get("workspaces", []):
            sim.add_workspace(sub, rg, name, location)
            self.seed_names |= {rg, name}
        for sub, rg, name, location in seed.get("clusters", []):  # the recordings' network security groups
            sim.add_cluster(sub, rg, name, location)
            self.seed_names |= {rg, name}

    def path(self, recorded: str) -> str:
        path = NSG.sub(CLUSTERS, recorded)
        for table, ours in TABLES.items():
            path = re.sub(rf"/tables/{table}(?=/|$)", f"/tables/{ours}", path, flags=re.IGNORECASE)
        mapped = self.recording.categories
        return "/".join(mapped.get(segment, segment) for segment in path.split("/"))

    def body(self, recorded: Any) -> Any:
        """The request body with the recording's categories replaced by the AKS ones."""
        mapped = self.recording.categories
        if isinstance(recorded, dict):
            return {k: self.body(v) for k, v in recorded.items()}
        if isinstance(recorded, list):
            return [self.body(v) for v in recorded]
        return mapped.get(recorded, recorded) if isinstance(recorded, str) else recorded

    def api_version(self, method: str, path: str, recorded: str) -> str:
        found = find_route(ROUTES, method, [s for s in path.split("/") if s])
        assert found is not None, f"armsim serves no {method} {path}"
        supported = SUPPORTED_API_VERSIONS[found[0].group]
        return recorded if recorded in supported else supported[0]

    def send(self, method: str, path: str, *, api_version: str | None = None, body: Any = None) -> Answer:
        url = f"{self.sim.base_url}{path}"
        params = {"api-version": api_version} if api_version else None
        response = requests.request(
            method,
            url,
            params=params,
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            verify=self.sim.cert_path,
            timeout=30,
        )
        parsed = response.json() if response.content else None
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, parsed, path)

    def send_recorded(self, exchange: dict[str, Any]) -> Answer:
        method, path = exchange["method"], self.path(exchange["path"])
        if method == "GET" and exchange["status"] == 200 and _kind(path) == "cluster":
            self._created_meanwhile(path, exchange["body"])
        version = self.api_version(method, path, exchange["api_version"])
        return self.send(method, path, api_version=version, body=self.body(exchange["request_body"]))

    def follow(self, url: str) -> Answer:
        """GET an absolute URL armsim handed out (an operation's status, a Location)."""
        parts = urlsplit(url)
        version = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("api-version")
        return self.send("GET", parts.path, api_version=version)

    def _created_meanwhile(self, path: str, body: dict[str, Any]) -> None:
        """A cluster the recorded client created between two requests (not transcribed): create it too."""
        if self.sim.get_cluster(path) is None:
            parts = [p for p in path.split("/") if p]
            self.sim.add_cluster(parts[1], parts[3], parts[7], body["location"])


def _kind(path: str) -> str:
    low = path.lower()
    if "/operationstatuses/" in low:
        return "operation"
    if "/providers/microsoft.insights/diagnosticsettingscategories" in low:
        return "categories"
    if "/providers/microsoft.insights/" in low:
        return "settings"
    if "/tables/" in low:
        return "table"
    if re.search(r"/managedclusters/[^/]+$", low):
        return "cluster"
    if "/workspaces/" in low:
        return "workspace"
    return "resource-group"


def _body_differences(kind: str, recorded: Any, ours: Any, method: str) -> list[str]:
    if method == "HEAD":
        return []
    if kind == "cluster" and isinstance(recorded, dict) and isinstance(ours, dict) and "id" in recorded:
        # armsim models a slice of a cluster: nothing it has may be missing from ARM's answer, and
        # the fields ARM leaves out must be out of armsim's too
        extra = sorted(keys(ours) - keys(recorded))
        absent = [k for k in ("tags", "systemData", "eTag") if (k in recorded) != (k in ours)]
        return [f"{k}: armsim has it, the recording does not" for k in extra] + [f"{k}: present in one" for k in absent]
    if kind == "table" and isinstance(recorded, dict) and isinstance(ours, dict):
        # the recorded table is a custom log table, armsim's an Azure table: the schema's content differs
        return sorted(f"{k}: in one only" for k in keys(recorded) ^ keys(ours))
    if kind == "resource-group" and isinstance(recorded, dict) and isinstance(ours, dict):
        # the recorded groups carry the CLI's tags; armsim's seeded groups have none (an empty object)
        recorded = {k: v for k, v in recorded.items() if k != "tags"}
        ours = {k: v for k, v in ours.items() if k != "tags"}
    return shape_differences(shape(recorded), shape(ours))


def compare(driver: Driver, index: int, exchange: dict[str, Any], answer: Answer) -> list[Difference]:
    found: list[Difference] = []

    def note(aspect: str, text: str) -> None:
        found.append(Difference(index, aspect, text))

    if answer.status != exchange["status"]:
        note("status", f"recorded {exchange['status']}, armsim {answer.status}: {answer.body}")
        return found
    recorded_headers = {k.lower(): v for k, v in exchange["headers"].items()}
    if exchange["role"].startswith("lro") and lro_header_names(recorded_headers) != lro_header_names(answer.headers):
        note(
            "lro-headers",
            f"recorded {sorted(lro_header_names(recorded_headers))}, armsim {sorted(lro_header_names(answer.headers))}",
        )
    recorded_limits, our_limits = rate_limit_names(recorded_headers), rate_limit_names(answer.headers)
    if driver.recording.recorded >= "2025" and recorded_limits != our_limits:
        note("rate-limit-headers", f"recorded {sorted(recorded_limits)}, armsim {sorted(our_limits)}")
    elif not recorded_limits <= our_limits:  # before 2025 ARM sent fewer (no global buckets, none on reads)
        note("rate-limit-headers", f"recorded {sorted(recorded_limits)} not all in armsim's {sorted(our_limits)}")
    for text in _body_differences(_kind(answer.path), exchange["body"], answer.body, exchange["method"]):
        note("body", text)
    recorded_ids, our_ids = ids_of(exchange["body"]), ids_of(answer.body)
    if recorded_ids and our_ids:
        recorded_names = names_in(exchange["path"], exchange["body"]) | driver.seed_names
        our_names = names_in(answer.path, answer.body) | driver.seed_names
        for text in casing_differences(id_casing(recorded_ids[0], recorded_names), id_casing(our_ids[0], our_names)):
            note("id-casing", f"{recorded_ids[0]} vs {our_ids[0]}: {text}")
    return found


def _in_progress(exchange: dict[str, Any]) -> bool:
    body = exchange["body"] or {}
    state = body.get("status") or (body.get("properties") or {}).get("provisioningState")
    return state in ("InProgress", "Creating", "Updating")


def _polls(exchanges: list[dict[str, Any]], start: int) -> list[dict[str, Any]]:
    polls = []
    for exchange in exchanges[start + 1 :]:
        if exchange["role"] != "lro-poll":
            break
        polls.append(exchange)
    return polls


def run_recording(sim: ArmSimulator, recording: Recording) -> list[Difference]:
    driver = Driver(sim, recording)
    exchanges = recording.exchanges
    found: list[Difference] = []
    index = 0
    while index < len(exchanges):
        exchange = exchanges[index]
        polls = _polls(exchanges, index) if exchange["role"] == "lro-start" else []
        sim.lro_polls = sum(_in_progress(p) for p in polls)
        answer = driver.send_recorded(exchange)
        found += compare(driver, index, exchange, answer)
        start_headers = {k.lower(): v for k, v in exchange["headers"].items()}
        for offset, poll in enumerate(polls, start=1):
            # the recorded client polled Azure-AsyncOperation, or (without it) Location: follow armsim's own
            polled_operation = (
                "azure-asyncoperation" in start_headers
                and urlsplit(start_headers["azure-asyncoperation"]).path.lower() == poll["path"].lower()
            )
            url = answer.headers.get("azure-asyncoperation" if polled_operation else "location")
            if url is None:
                found.append(Difference(index + offset, "lro-headers", "armsim gave no URL to poll"))
                continue
            found += compare(driver, index + offset, poll, driver.follow(url))
        index += 1 + len(polls)
    return found


@pytest.mark.parametrize("path", RECORDINGS, ids=[p.stem for p in RECORDINGS])
def test_armsim_answers_as_recorded(sim_factory: Any, path: Path) -> None:
    sim = sim_factory(lro_retry_after_ms=None)  # as ARM: no Retry-After on long-running operations
    recording = load(path)

    found = run_recording(sim, recording)

    unexplained = [d for d in found if (recording.name, d.index, d.aspect) not in DELIBERATE]
    assert unexplained == []
    explained = {(recording.name, d.index, d.aspect) for d in found}
    stale = [k for k in DELIBERATE if k[0] == recording.name and k not in explained]
    assert stale == [], "DELIBERATE names a difference armsim no longer has"


def test_every_recording_is_covered_and_every_deliberate_difference_has_a_reason() -> None:
    assert len(RECORDINGS) >= 10
    assert {k[0] for k in DELIBERATE} <= {p.stem for p in RECORDINGS}
    assert all(DELIBERATE.values())


def test_the_vendored_recordings_are_the_shared_ones_when_present() -> None:
    if SHARED.is_dir():  # the shared folder exists on development machines, not necessarily in CI
        assert sorted(p.name for p in SHARED.iterdir()) == sorted(p.name for p in VENDORED.iterdir())
        for shared in SHARED.iterdir():
            assert (VENDORED / shared.name).read_bytes() == shared.read_bytes(), shared.name
