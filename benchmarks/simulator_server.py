"""The Zomro API simulator as its own process on a loopback port, so it does not share the benchmark's CPU time.

python benchmarks/simulator_server.py PORT [LATENCY_SECONDS [EXTRA_INSTANCES [ACCOUNTS]]]

ACCOUNTS above 1 adds logins account2@example.com … with the demo password, each with the demo instances.
"""

from __future__ import annotations

import sys

import uvicorn

from zomro_rescue_mcp.mcp_server.http_limits import listen
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, Simulator

if __name__ == "__main__":
    port = int(sys.argv[1])
    latency = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    simulator = Simulator(transition_seconds=0.2, latency=latency)
    simulator.populate(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    for number in range(2, (int(sys.argv[4]) if len(sys.argv) > 4 else 1) + 1):
        simulator.add_account(f"account{number}@example.com", DEMO_PASSWORD)
    config = uvicorn.Config(simulator.app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[listen("127.0.0.1", port, 128)])
