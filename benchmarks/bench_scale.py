"""Benchmark: the engine at estate scale under ARM's request limits (``make bench``).

    python -m benchmarks.bench_scale [--latency-ms 30] [--json benchmarks/results.json] [--only A B C D]

armsim runs in this process with ARM's throttle model on (token buckets per subscription and
kind, full at the start of each run) and every ARM request delayed by --latency-ms. Each sweep
runs the real CLI (``python -m remediation``) in a child process, as an operator would, so that
its peak RSS is its own; the event path runs the Function app's handler in this process.

Scenarios:

- A: 1 subscription x 1,000 clusters, two thirds missing audit logs: report, apply, apply again.
- B: 3 subscriptions x 600 clusters: report.
- C: the Event Grid path for a settled new cluster whose region has its workspace: cold worker
  (first event) and warm worker (the next one): requests and sequential round trips.
- D: 10,000 clusters in 4 subscriptions, throttling off: report and apply; peak RSS.
- E: 1 subscription x 600 clusters, report, while other callers (a noisy neighbour) leave about
  15 reads/s of the subscription's global read bucket (emptied at the start): real ARM reports only
  that bucket on a read.
- F: 1 subscription x 400 clusters, apply (about 270 setting writes), with Microsoft.Insights'
  write budget at 50 refilled 1/s, which the product is not told: real ARM reports only that budget
  on a setting PUT.

For each run: wall time (of the child process, start-up included), requests by operation,
answers 429 (count and share), the throttle bound (per subscription and bucket, the caller's,
the global one and Microsoft.Insights' budget, ``max(0, (successful requests drawing on it - tokens
at the start) / refill left for us)``, subscriptions and buckets in parallel: the largest),
efficiency = bound / wall, clusters failed, and peak RSS (the child's ``ru_maxrss``, which counts
this process's own at the fork: after D, about 490 MB; run a scenario alone with ``--only`` to see
its own). Numbers, not assertions: benchmarks are not tests (the tests assert request budgets and
behaviour).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from armsim import ArmSimulator, RecordedRequest, sequential_rounds
from armsim.throttle import GLOBAL_FACTOR, READS, SUBSCRIPTION_LIMITS, TENANT_LIMITS, Limit, kind_of

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ("A", "B", "C", "D", "E", "F")
REGIONS = ("eastus", "westeurope", "southeastasia")
REQUIRED = ["kube-audit", "kube-audit-admin", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]
USER_RG = "rg-platform-logs"


def sub_id(n: int) -> str:
    return f"5ca1e000-0000-4000-8000-{n:012d}"


@dataclass
class Result:
    scenario: str
    run: str
    wall_seconds: float
    requests: dict[str, int]
    requests_total: int
    throttled_429: int
    throttled_share: float
    throttle_bound_seconds: float
    efficiency: float | None
    clusters: int
    failed: int
    summary: dict[str, int] = field(default_factory=dict)
    peak_rss_mb: float | None = None
    rounds: int | None = None
    notes: str = ""


# ------------------------------------------------------------------------------ estates


def build_estate(sim: ArmSimulator, subscriptions: int, clusters_per_subscription: int) -> None:
    """Clusters in 3 regions; one in three already sends every required category to a user workspace.

    The regional workspace of eastus exists in each subscription; the others are created by apply."""
    for s in range(subscriptions):
        sub = sub_id(s + 1)
        sim.add_subscription(sub, f"team-{s + 1}")
        user_ws = sim.add_workspace(sub, USER_RG, f"law-platform-{s + 1}", "eastus")
        sim.add_workspace(sub, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
        for i in range(clusters_per_subscription):
            cid = sim.add_cluster(sub, f"rg-team-{i % 20:02d}", f"aks-{s + 1}-{i:05d}", REGIONS[i % 3])
            if i % 3 == 0:
                sim.put_setting(
                    cid,
                    "platform",
                    {"workspaceId": user_ws, "logs": [{"category": c, "enabled": True} for c in REQUIRED]},
                )


# ------------------------------------------------------------------------------ measuring


def operation(request: RecordedRequest) -> str:
    path = request.path.lower()
    if path.endswith("/diagnosticsettingscategories"):
        name = "list categories"
    elif path.endswith("/diagnosticsettings"):
        name = "list settings"
    elif "/diagnosticsettings/" in path:
        name = "setting"
    elif "/operationstatuses/" in path or "/operationresults/" in path:
        name = "workspace operation"
    elif "/workspaces/" in path:
        name = "workspace"
    elif path.endswith("/managedclusters"):
        name = "list clusters"
    elif "/managedclusters/" in path:
        name = "cluster"
    elif "/resourcegroups/" in path and path.count("/") == 4:
        name = "resource group"
    elif path == "/subscriptions":
        name = "list subscriptions"
    elif path.startswith("/subscriptions/") and path.count("/") == 2:
        name = "subscription"
    else:
        name = "other"
    return f"{request.method} {name}"


@dataclass(frozen=True)
class Conditions:
    """What a scenario does to ARM's buckets beyond the documented limits (armsim's throttle model)."""

    neighbour_reads: float = 0.0  # reads/s other callers take of each subscription's global bucket
    drained: bool = False  # the global read bucket is empty at the start
    insights: Limit | None = None  # Microsoft.Insights' write budget, when not armsim's default

    def apply(self, sim: ArmSimulator, subscriptions: Sequence[str]) -> None:
        if self.insights is not None:
            sim.throttle.provider_limits["microsoft.insights"] = self.insights
        if self.neighbour_reads:
            for sub in subscriptions:
                sim.throttle.add_neighbour(sub, READS, self.neighbour_reads)

    def start(self, sim: ArmSimulator, subscriptions: Sequence[str]) -> None:
        """At the start of a run: every bucket full, but the drained one."""
        sim.throttle.reset()
        if self.drained:
            for sub in subscriptions:
                sim.throttle.drain(sub, READS, GLOBAL_FACTOR * SUBSCRIPTION_LIMITS[READS].burst)


DOCUMENTED = Conditions()  # ARM's documented limits, nobody else in the subscription


def _insights_write(request: RecordedRequest) -> bool:
    return (
        request.method.upper() == "PUT" and "/providers/microsoft.insights/diagnosticsettings/" in request.path.lower()
    )


def throttle_bound(
    requests: Iterable[RecordedRequest],
    conditions: Conditions = DOCUMENTED,
    insights: Limit | None = None,
    *,
    provider_budgets: bool = True,
) -> float:
    """Seconds ARM's buckets force on these requests: per subscription and bucket (the caller's, the
    global one, Microsoft.Insights' budget), the successful requests drawing on it beyond the tokens it
    had at the start, at the refill left for us; subscriptions and buckets in parallel.

    ``provider_budgets=False`` (armsim's throttle model off, scenario D) leaves Microsoft.Insights'
    budget out: it is not documented, so the engine paces it only as ARM's headers report it, and
    with the model off they always report it full. The documented buckets stay in: the engine
    paces those from the start, whatever the headers say."""
    counts: Counter[tuple[str, str]] = Counter()
    for r in requests:
        if r.status is None or r.status == 429:
            continue
        parts = [p for p in r.path.split("/") if p]
        scope = parts[1].lower() if len(parts) >= 2 and parts[0].lower() == "subscriptions" else "tenant"
        kind = kind_of(r.method)
        counts[(scope, kind)] += 1
        if scope != "tenant":
            counts[(scope, "global-" + kind)] += 1
        if scope != "tenant" and provider_budgets and _insights_write(r):
            counts[(scope, "insights")] += 1
    bound = 0.0
    for (scope, bucket), n in counts.items():
        if bucket == "insights":
            limit = conditions.insights or insights or Limit(150, 2.5)
            start, rate = float(limit.burst), limit.refill
        elif bucket.startswith("global-"):
            kind = bucket[len("global-") :]
            documented = SUBSCRIPTION_LIMITS[kind]
            rate = documented.refill * GLOBAL_FACTOR
            start = float(documented.burst * GLOBAL_FACTOR)
            if kind == READS:
                rate -= conditions.neighbour_reads
                start = 0.0 if conditions.drained else start
        else:
            limit = (TENANT_LIMITS if scope == "tenant" else SUBSCRIPTION_LIMITS)[bucket]
            start, rate = float(limit.burst), limit.refill
        bound = max(bound, max(0.0, (n - start) / rate))
    return bound


def measure(
    scenario: str,
    run: str,
    sim: ArmSimulator,
    wall: float,
    document: dict[str, Any] | None,
    conditions: Conditions = DOCUMENTED,
    **extra: Any,
) -> Result:
    arm = sim.arm_requests()
    throttled = sum(1 for r in arm if r.status == 429)
    bound = throttle_bound(
        arm,
        conditions,
        sim.throttle.provider_limits.get("microsoft.insights"),
        provider_budgets=sim.throttle.enabled,
    )
    summary = dict(document["summary"]) if document else {}
    return Result(
        scenario=scenario,
        run=run,
        wall_seconds=round(wall, 2),
        requests=dict(sorted(Counter(operation(r) for r in arm).items())),
        requests_total=len(arm),
        throttled_429=throttled,
        throttled_share=round(throttled / len(arm), 4) if arm else 0.0,
        throttle_bound_seconds=round(bound, 2),
        efficiency=round(bound / wall, 2) if bound > 0 and wall > 0 else None,
        clusters=int(summary.get("clusters", 0)),
        failed=int(summary.get("failed", 0)),
        summary=summary,
        **extra,
    )


def cli_run(
    sim: ArmSimulator, mode: str, subscriptions: Sequence[str], env: dict[str, str]
) -> tuple[float, dict[str, Any], float]:
    """One CLI run in a child process: (wall seconds, report document, peak RSS in MB)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        command = [sys.executable, "-m", "remediation", mode, "--format", "json", "--output", str(out), "--no-progress"]
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert child.stderr is not None
        stderr = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if not out.exists():
            raise RuntimeError(f"{mode} exited {child.returncode} without a report: {stderr.decode()[-2000:]}")
        document = json.loads(out.read_text())
    return wall, document, usage.ru_maxrss / 1024


def child_env(sim: ArmSimulator, subscriptions: Sequence[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REMEDIATION_", "AZURE_", "MSI_", "IDENTITY_"))}
    env.pop("AzureWebJobsStorage", None)
    env.update(sim.env())
    env["REMEDIATION_SUBSCRIPTION_IDS"] = ",".join(subscriptions)
    env["REMEDIATION_MAX_CONCURRENCY"] = "auto"
    env["PYTHONPATH"] = str(ROOT)
    return env


def sweeps(
    scenario: str,
    subscriptions: int,
    per_subscription: int,
    modes: Sequence[tuple[str, str]],
    latency: float,
    throttle: bool,
    conditions: Conditions = DOCUMENTED,
    notes: str = "",
) -> list[Result]:
    results = []
    with ArmSimulator(page_size=100, throttle=throttle) as sim:
        build_estate(sim, subscriptions, per_subscription)
        sim.latency = latency
        subs = [sub_id(s + 1) for s in range(subscriptions)]
        conditions.apply(sim, subs)
        env = child_env(sim, subs)
        for label, mode in modes:
            conditions.start(sim, subs)  # ARM's buckets are full at the start of each run (but a drained one)
            sim.clear_requests()
            wall, document, rss = cli_run(sim, mode, subs, env)
            result = measure(scenario, label, sim, wall, document, conditions, peak_rss_mb=round(rss, 1), notes=notes)
            results.append(result)
            show(result)
    return results


# ------------------------------------------------------------------------------ the event path


def event_path(latency: float) -> list[Result]:
    """Scenario C: the Function app's Event Grid handler for a settled new cluster, cold then warm."""
    from datetime import UTC, datetime

    import azure.functions as func

    from remediation.app.runtime import reset_runtime

    results = []
    with ArmSimulator(throttle=True) as sim:
        sub = sub_id(1)
        sim.add_subscription(sub, "events")
        sim.add_workspace(sub, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
        saved = dict(os.environ)
        try:
            for name in [k for k in os.environ if k.startswith(("REMEDIATION_", "AZURE_", "MSI_", "AzureWebJobs"))]:
                del os.environ[name]
            os.environ.update(sim.env())
            os.environ["REMEDIATION_SUBSCRIPTION_IDS"] = sub
            reset_runtime()
            import function_app

            handler = {f.get_function_name(): f.get_user_function() for f in function_app.app.get_functions()}[
                "on_resource_event"
            ]
            sim.latency = latency
            for label, name in (("cold worker", "aks-new-1"), ("warm worker", "aks-new-2")):
                cid = sim.add_cluster(sub, "rg-apps", name, "eastus")
                sim.clear_requests()
                event = func.EventGridEvent(
                    id=name,
                    data={
                        "operationName": "Microsoft.ContainerService/managedClusters/write",
                        "resourceUri": cid,
                        "status": "Succeeded",
                        "subscriptionId": sub,
                    },
                    topic=f"/subscriptions/{sub}",
                    subject=cid,
                    event_type="Microsoft.Resources.ResourceWriteSuccess",
                    event_time=datetime.now(UTC),
                    data_version="2",
                )
                started = time.perf_counter()
                handler(event)
                wall = time.perf_counter() - started
                arm = sim.arm_requests()
                document = {
                    "summary": {"clusters": 1, "failed": 0 if sim.get_setting(cid, "aks-audit-remediation") else 1}
                }
                result = measure("C", label, sim, wall, document, rounds=sequential_rounds(arm))
                results.append(result)
                show(result)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            reset_runtime()
    return results


# ------------------------------------------------------------------------------ output


def show(r: Result) -> None:
    eff = f"{r.efficiency:.2f}" if r.efficiency is not None else "-"
    rss = f"{r.peak_rss_mb:.0f} MB" if r.peak_rss_mb is not None else "-"
    rounds = f", {r.rounds} rounds" if r.rounds is not None else ""
    print(
        f"{r.scenario} {r.run:<14} {r.wall_seconds:>7.2f} s  {r.requests_total:>6} requests  "
        f"429: {r.throttled_429} ({100 * r.throttled_share:.1f} %)  bound {r.throttle_bound_seconds:>6.2f} s  "
        f"efficiency {eff:>4}  clusters {r.clusters}  failed {r.failed}  peak RSS {rss}{rounds}"
        + (f"  ({r.notes})" if r.notes else ""),
        flush=True,
    )
    print("    " + ", ".join(f"{k} {v}" for k, v in r.requests.items()), flush=True)


def markdown(results: Sequence[Result]) -> str:
    lines = [
        "| scenario | run | wall | requests | 429 | throttle bound | efficiency | failed | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        eff = f"{r.efficiency:.2f}" if r.efficiency is not None else "-"
        rss = f"{r.peak_rss_mb:.0f} MB" if r.peak_rss_mb is not None else "-"
        requests = f"{r.requests_total}" + (f" ({r.rounds} rounds)" if r.rounds is not None else "")
        lines.append(
            f"| {r.scenario} | {r.run} | {r.wall_seconds:.1f} s | {requests} | {r.throttled_429} "
            f"({100 * r.throttled_share:.1f} %) | {r.throttle_bound_seconds:.1f} s | {eff} | {r.failed} | {rss} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results.json"), help="where to write the results")
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--d-clusters", type=int, default=10_000, help="clusters in scenario D")
    args = parser.parse_args(argv)
    latency = args.latency_ms / 1000
    print(f"armsim, ARM's throttle model on (D: off), {args.latency_ms:.0f} ms per ARM request", flush=True)
    results: list[Result] = []
    if "A" in args.only:
        results += sweeps(
            "A", 1, 1000, [("report", "report"), ("apply", "apply"), ("apply again", "apply")], latency, True
        )
    if "B" in args.only:
        results += sweeps("B", 3, 600, [("report", "report")], latency, True)
    if "C" in args.only:
        results += event_path(latency)
    if "D" in args.only:
        results += sweeps("D", 4, args.d_clusters // 4, [("report", "report"), ("apply", "apply")], latency, False)
    if "E" in args.only:
        neighbour = Conditions(neighbour_reads=GLOBAL_FACTOR * SUBSCRIPTION_LIMITS[READS].refill - 15.0, drained=True)
        results += sweeps("E", 1, 600, [("report", "report")], latency, True, neighbour, "others leave 15 reads/s")
    if "F" in args.only:
        budget = Conditions(insights=Limit(50, 1.0))
        results += sweeps("F", 1, 400, [("apply", "apply")], latency, True, budget, "Insights budget 50, 1/s")
    print()
    print(markdown(results))
    path = Path(args.json)
    kept = []  # the scenarios not run this time keep their last results
    if path.exists() and set(args.only) != set(SCENARIOS):
        kept = [r for r in json.loads(path.read_text())["results"] if r["scenario"] not in args.only]
    everything = sorted(kept + [asdict(r) for r in results], key=lambda r: r["scenario"])
    path.write_text(json.dumps({"latency_ms": args.latency_ms, "results": everything}, indent=2) + "\n")
    print(f"\nwritten to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
