"""``python -m armsim [--port N] [--estate demo|empty] [--throttle] [--latency-ms N]``: run the simulator in the foreground."""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import signal
import sys
import threading

from armsim.estate import build_demo_estate
from armsim.simulator import ArmSimulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m armsim", description="Azure Resource Manager simulator (HTTPS).")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--estate", choices=("demo", "empty"), default="demo", help="initial estate (default: demo)")
    parser.add_argument("--page-size", type=int, default=50, help="managed clusters per list page")
    parser.add_argument("--lro-polls", type=int, default=1, help="polls a workspace create stays InProgress")
    parser.add_argument(
        "--workspace-seconds", type=float, default=13.0, help="how long a workspace creation takes (default 13)"
    )
    parser.add_argument("--table-seconds", type=float, default=2.0, help="how long a table change takes (default 2)")
    parser.add_argument("--throttle", action="store_true", help="ARM's token buckets: 429 when a bucket is empty")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every ARM request")
    args = parser.parse_args(argv)

    sim = ArmSimulator(
        port=args.port,
        page_size=args.page_size,
        lro_polls=args.lro_polls,
        workspace_creation_seconds=args.workspace_seconds,
        table_change_seconds=args.table_seconds,
        throttle=args.throttle,
        latency=args.latency_ms / 1000,
    ).start()
    try:
        print(f"# armsim listening on {sim.base_url}; paste these lines into your shell:")
        for name, value in sim.env().items():
            print(f"export {name}={shlex.quote(value)}")
        if args.estate == "demo":
            estate = build_demo_estate(sim)
            print("# demo estate:")
            for field in dataclasses.fields(estate):
                print(f"#   {field.name}: {getattr(estate, field.name)}")
        print("# Ctrl-C to stop.", flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(3600):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
