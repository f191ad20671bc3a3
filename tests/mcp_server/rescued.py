"""The simulator with its stand-in rescue system, for the tools that work in a rescue system (repair_instance,
run_in_rescue): one simulator for a test module, reset for each test, its rescue systems answering SSH on a loopback
port of their own; the disk model (simulator/disk_model.py) is what the repairs change.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp import Client

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator, run_on_loopback
from zomro_rescue_mcp.simulator.disk_model import DiskModel
from zomro_rescue_mcp.simulator.stand_in import StandInRescueSystem

from ..conftest import ok

WEB, DB = 5203773, 5203774
STALE = "UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults 0 2"  # the recording's stale fstab line


@dataclass
class World:
    """The simulator, where it answers, and its stand-in rescue system."""

    sim: Simulator
    url: str
    stand_in: StandInRescueSystem
    port: int

    def settings(self, **changes: Any) -> Settings:
        """A server's settings against this simulator, with the preview rule on (as by default)."""
        base = Settings(
            api_url=self.url,
            username=DEMO_USERNAME,
            password=DEMO_PASSWORD,
            timeout=2.0,
            wait_seconds=4.0,
            poll_interval=0.05,
            require_preview=True,
            ssh_port=self.port,
        )
        return base.but(**changes) if changes else base

    def disk(self, instance_id: int = WEB) -> DiskModel:
        """The instance's disk model, as the repairs leave it."""
        return self.stand_in.disk(self.sim.instances[instance_id])


@contextmanager
def simulated() -> Iterator[World]:
    """The simulator on loopback HTTP, its stand-in's SSH on a free port (a test module's `running` fixture)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    stand_in = StandInRescueSystem(port)
    sim = Simulator(transition_seconds=0.0, rescue_system=stand_in)
    url, stop = run_on_loopback(sim)
    try:
        yield World(sim, url, stand_in, port)
    finally:
        stop()


@contextmanager
def fresh(running: World) -> Iterator[World]:
    """The simulator as it starts, for one test (its `world` fixture): new instances, so new disk models."""
    running.sim.reset()
    running.stand_in.lose_answers, running.stand_in.hold_writes = 0, None
    try:
        yield running
    finally:
        if running.stand_in.hold_writes is not None:
            running.stand_in.hold_writes.set()
        running.sim.reset()


async def rescued(client: Client, instance_id: int = WEB) -> str:
    """Put the instance in rescue mode through enter_rescue (preview, then its confirm); its rescue password."""
    arguments: dict[str, Any] = {"instance_id": instance_id, "image": "Debian 12"}
    preview = ok(await client.call_tool("enter_rescue", arguments))
    entered = ok(
        await client.call_tool("enter_rescue", {**arguments, "confirm": True, "preview_id": preview["preview_id"]})
    )
    assert entered["status"] == "rescued"
    return str(entered["password"])


def audit_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
