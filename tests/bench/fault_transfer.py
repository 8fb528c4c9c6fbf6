"""Fault-to-transfer time: how long after an AI fault the caller is handed to the human queue.

A real server on loopback (Nova Sonic engine on the protocol-checking double, agent on AgentCore
through boto3 against an emulated data plane) takes calls over the browser widget's WebSocket
and over Twilio Media Streams. Each fault kind is injected into fresh calls; the time runs from
the fault (for a timeout: the moment the wait ran out) to the connector's transfer: the widget
receiving `handoff`, or the Twilio REST call update to <Enqueue> arriving.

    .venv/bin/python -m tests.bench.fault_transfer [--rounds N] [--channels browser,twilio]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

from tests.fault_calls import AGENT_TIMEOUT, FAKE_AWS_ENV, FAULTS, Transfer, fault_rig

TARGET_MS = 2000.0
CHANNELS = ("browser", "twilio")


async def measure(rounds: int, channels: tuple[str, ...]) -> list[Transfer]:
    transfers: list[Transfer] = []
    with tempfile.TemporaryDirectory(prefix="oratio-fault-bench-") as tmp:
        async with fault_rig(Path(tmp) / "data") as rig:
            for channel in channels:
                for kind, label in FAULTS.items():
                    times: list[float] = []
                    for _ in range(rounds):
                        if channel == "browser":
                            transfer = await rig.browser_call(kind)
                        else:
                            transfer = await rig.twilio_call(kind)
                        transfers.append(transfer)
                        times.append(transfer.ms)
                    print(
                        f"{channel:<8} {label:<62} max {max(times):7.1f} ms  "
                        f"median {statistics.median(times):7.1f} ms  "
                        f"({', '.join(f'{t:.1f}' for t in times)})  -> {transfer.reason!r}",
                        flush=True,
                    )
            assert rig.double.violations == [], rig.double.violations
    return transfers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="calls per fault kind and channel")
    parser.add_argument("--channels", default=",".join(CHANNELS), help="browser,twilio")
    args = parser.parse_args()
    channels = tuple(c for c in args.channels.split(",") if c)
    if unknown := set(channels) - set(CHANNELS):
        parser.error(f"unknown channel(s): {', '.join(sorted(unknown))}")
    os.environ.update(FAKE_AWS_ENV)  # boto3 signs for the loopback emulator only
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger().setLevel(logging.CRITICAL)  # the faults are meant to happen
    print(
        f"fault-to-transfer over loopback (python {platform.python_version()}, "
        f"{os.cpu_count()} cpu, agent timeout {AGENT_TIMEOUT:g} s, {args.rounds} call(s) each)",
        flush=True,
    )
    transfers = asyncio.run(measure(args.rounds, channels))
    worst = max(t.ms for t in transfers)
    print(f"fault-to-transfer: max {worst:.0f} ms over {len(transfers)} faults (target 2000 ms)")
    sys.exit(0 if worst < TARGET_MS else 1)


if __name__ == "__main__":
    main()
