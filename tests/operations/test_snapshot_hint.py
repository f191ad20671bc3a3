"""enter_rescue's preview says whether a snapshot of the instance was made today, and suggests one first when none
was; the snapshot list is read beside the state and the images, and a list that cannot be read never stops it."""

from __future__ import annotations

import json
import time

import pytest
from mcp import Client

from zomro_rescue_mcp.simulator import Simulator
from zomro_rescue_mcp.simulator.front import Fault
from zomro_rescue_mcp.simulator.state import SimSnapshot

from ..conftest import call, ok

pytestmark = pytest.mark.anyio

WEB = 5203773


async def test_without_a_snapshot_today_the_preview_suggests_one(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].snapshots = [SimSnapshot(1, "last-week", "2026-01-01", 0.0)]
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04"))
    assert data["snapshot_today"] is False
    assert any("consider create_snapshot first" in note for note in data["notes"])
    assert sim.mutating_requests() == []


async def test_with_a_snapshot_today_the_preview_says_so(client: Client, sim: Simulator) -> None:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    sim.instances[WEB].snapshots = [SimSnapshot(1, "before-fix", today, 0.0)]
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04"))
    assert data["snapshot_today"] is True
    assert not any("create_snapshot first" in note for note in data["notes"])


async def test_a_snapshot_list_that_cannot_be_read_leaves_the_preview_whole(client: Client, sim: Simulator) -> None:
    refusal = {"doc": {"error": {"$type": "access", "$object": "", "msg": {"$": "Access denied"}}}}
    sim.inject(Fault("body", func="instances.snapshots", body=json.dumps(refusal)))
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04"))
    assert (data["executed"], data["snapshot_today"]) == (False, None)
    assert any("could not be read" in note for note in data["notes"])
    assert "will be rebooted into rescue mode" in data["summary"]


async def test_a_confirmed_enter_does_not_read_the_snapshots_again(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True, wait=False))
    assert (data["executed"], data["snapshot_today"]) == (True, None)
    assert not any(r.func == "instances.snapshots" for r in sim.requests)
