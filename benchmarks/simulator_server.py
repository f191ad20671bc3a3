"""The Zomro API simulator as its own process on a loopback port, so it does not share the benchmark's CPU time."""

from __future__ import annotations

import sys

import uvicorn

from zomro_rescue_mcp.simulator import Simulator

if __name__ == "__main__":
    port = int(sys.argv[1])
    uvicorn.run(
        Simulator(transition_seconds=0.2).app, host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
