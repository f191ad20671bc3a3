"""list_snapshots and create_snapshot over the simulator: the preview sends nothing that changes, the confirm sends
instances.snapshots.edit with plid, name and sok once, and the wait sees the new snapshot Active."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from zomro_rescue_mcp.core.errors import StateConflictError
from zomro_rescue_mcp.operations.assembly import assemble
from zomro_rescue_mcp.operations.rescue import RescueService
from zomro_rescue_mcp.operations.snapshots import SnapshotRequest, create_snapshot, list_snapshots
from zomro_rescue_mcp.settings.accounts import Accounts
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Simulator
from zomro_rescue_mcp.simulator.state import SimSnapshot

pytestmark = pytest.mark.anyio

WEB = 5203773


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[RescueService]:
    async with assemble(Accounts.single(settings.but(require_preview=False))).open() as fleet:
        yield fleet.service(None)


async def test_a_preview_sends_nothing_that_changes(service: RescueService, sim: Simulator) -> None:
    shown = await create_snapshot(service, SnapshotRequest(WEB, " before-fsck "))
    assert (shown.executed, shown.name, shown.made_today) == (False, "before-fsck", 0)
    assert sim.mutating_requests() == []
    assert not any(r.func == "instances.snapshots.edit" for r in sim.requests)


async def test_the_confirm_sends_plid_name_and_sok_once_and_waits(service: RescueService, sim: Simulator) -> None:
    done = await create_snapshot(service, SnapshotRequest(WEB, "before-fsck"), confirm=True)
    [sent] = sim.mutating_requests()
    assert set(sent.fields) == {"func", "out", "lang", "auth", "plid", "name", "sok"}
    assert (sent.fields["func"], sent.fields["plid"], sent.fields["name"]) == (
        "instances.snapshots.edit",
        str(WEB),
        "before-fsck",
    )
    assert (done.executed, done.wait) == (True, "reached")
    listed = await list_snapshots(service, WEB)
    assert [(s.name, s.status) for s in listed.snapshots] == [("before-fsck", "Active")]
    assert listed.made_today == 1


async def test_five_made_today_are_refused_before_anything_is_sent(service: RescueService, sim: Simulator) -> None:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    sim.instances[WEB].snapshots = [SimSnapshot(i, f"s{i}", today, 0.0) for i in range(5)]
    with pytest.raises(StateConflictError) as refused:
        await create_snapshot(service, SnapshotRequest(WEB, "one-more"), confirm=True)
    assert "5 were made today, and Zomro allows 5 a day" in str(refused.value)
    assert sim.mutating_requests() == []


async def test_a_rescued_instance_is_refused_before_anything_is_sent(service: RescueService, sim: Simulator) -> None:
    sim.instances[WEB].status = "rescued"
    with pytest.raises(StateConflictError, match="is in rescue mode"):
        await create_snapshot(service, SnapshotRequest(WEB, "x"), confirm=True)
    assert sim.mutating_requests() == []
