"""Benchmark: sweep wall time and ARM request counts against armsim with ARM-like latency.

    python -m benchmarks.bench_sweep [--clusters 200] [--latency-ms 60]

Each ARM request is delayed by --latency-ms (armsim's latency fault), roughly what ARM reads
cost from inside Azure. Measures report and apply at several REMEDIATION_MAX_CONCURRENCY
values on a fresh estate each time, then the Event Grid path for one new cluster.
Numbers, not assertions: benchmarks are not tests.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

from armsim import ArmSimulator
from remediation.azure.gateway import ArmGateway
from remediation.config import Mode, load_config
from remediation.core.model import Trigger
from remediation.engine.reconcile import reconcile_cluster, run

SUBS = ("5a1f0000-0000-4000-8000-000000000001", "5a1f0000-0000-4000-8000-000000000002")
REGIONS = ("eastus", "westeurope", "southeastasia")


def build(sim: ArmSimulator, clusters: int) -> None:
    for sub in SUBS:
        sim.add_subscription(sub)
    for i in range(clusters):
        sim.add_cluster(SUBS[i % 2], f"rg-team-{i % 7}", f"aks-{i:04d}", REGIONS[i % 3])


def measure(clusters: int, latency: float, concurrency: int) -> dict[str, float]:
    with ArmSimulator(page_size=100) as sim:
        build(sim, clusters)
        os.environ.update(sim.env())
        config = load_config(
            {
                **os.environ,
                "REMEDIATION_SUBSCRIPTION_IDS": ",".join(SUBS),
                "REMEDIATION_MAX_CONCURRENCY": str(concurrency),
            }
        )
        gateway = ArmGateway.from_config(config)
        sim.inject_fault(status=None, latency=latency, times=None)
        result = {}
        for mode in (Mode.REPORT, Mode.APPLY, Mode.REPORT):
            sim.clear_requests()
            started = time.perf_counter()
            document = run(config, gateway, mode=mode, trigger=Trigger.CLI)
            elapsed = time.perf_counter() - started
            key = mode.value if mode.value not in result else "report-after"
            result[key] = elapsed
            counts = Counter("write" if r.is_write else "read" for r in sim.arm_requests())
            result[f"{key}-reads"] = counts["read"]
            result[f"{key}-writes"] = counts["write"]
            assert document["summary"]["failed"] == 0
        return result


def event_path(latency: float) -> tuple[float, int]:
    with ArmSimulator() as sim:
        build(sim, 3)
        os.environ.update(sim.env())
        config = load_config({**os.environ, "REMEDIATION_SUBSCRIPTION_IDS": ",".join(SUBS)})
        gateway = ArmGateway.from_config(config)
        run(config, gateway, mode=Mode.APPLY, trigger=Trigger.CLI)  # workspaces exist, tokens cached (warm worker)
        new = sim.add_cluster(SUBS[0], "rg-new", "aks-new", "eastus")
        sim.inject_fault(status=None, latency=latency, times=None)
        sim.clear_requests()
        started = time.perf_counter()
        reconcile_cluster(config, gateway, new, mode=Mode.APPLY, trigger=Trigger.EVENT_GRID, settle_timeout=20)
        return time.perf_counter() - started, len(sim.arm_requests())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 16])
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    print(f"{args.clusters} clusters, 2 subscriptions, 3 regions; {args.latency_ms:.0f} ms per ARM request")
    print(
        f"{'concurrency':>11} {'report s':>9} {'apply s':>8} {'report-after s':>15}  requests (report / apply / report-after)"
    )
    for concurrency in args.concurrency:
        r = measure(args.clusters, latency, concurrency)
        print(
            f"{concurrency:>11} {r['report']:>9.2f} {r['apply']:>8.2f} {r['report-after']:>15.2f}  "
            f"{r['report-reads']:.0f}r+{r['report-writes']:.0f}w / {r['apply-reads']:.0f}r+{r['apply-writes']:.0f}w / "
            f"{r['report-after-reads']:.0f}r+{r['report-after-writes']:.0f}w"
        )
    seconds, requests = event_path(latency)
    print(f"event path, settled new cluster, warm worker: {seconds:.2f} s, {requests} ARM requests")


if __name__ == "__main__":
    main()
