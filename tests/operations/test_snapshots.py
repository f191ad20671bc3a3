"""list_snapshots and create_snapshot over the simulator: the preview sends nothing that changes, the confirm sends
instances.snapshots.edit (a backup: instances.fleio_bckps.edit) with plid, name and sok once, and the wait sees the
new image Active."""

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
    assert [(s.kind, s.name, s.status) for s in listed.snapshots] == [("snapshot", "before-fsck", "Active")]
    assert listed.made_today == {"snapshot": 1, "backup": 0}


async def test_a_backup_is_sent_to_the_backups_call(service: RescueService, sim: Simulator) -> None:
    done = await create_snapshot(service, SnapshotRequest(WEB, "nightly", "backup"), confirm=True)
    [sent] = sim.mutating_requests()
    assert (sent.fields["func"], sent.fields["plid"], sent.fields["name"], sent.fields["sok"]) == (
        "instances.fleio_bckps.edit",
        str(WEB),
        "nightly",
        "ok",
    )
    assert (done.image_kind, done.wait) == ("backup", "reached")
    listed = await list_snapshots(service, WEB)
    assert [(s.kind, s.name) for s in listed.snapshots] == [("backup", "nightly")]
    assert listed.made_today == {"snapshot": 0, "backup": 1}


async def test_the_list_reads_both_kinds_and_changes_nothing(service: RescueService, sim: Simulator) -> None:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    sim.instances[WEB].snapshots = [SimSnapshot(1, "s1", today, 0.0)]
    sim.instances[WEB].backups = [SimSnapshot(2, "b1", "2026-01-01", 0.0)]
    listed = await list_snapshots(service, WEB)
    assert [(s.kind, s.id, s.name, s.created) for s in listed.snapshots] == [
        ("snapshot", "1", "s1", today),
        ("backup", "2", "b1", "2026-01-01"),
    ]
    assert listed.made_today == {"snapshot": 1, "backup": 0}
    assert {r.func for r in sim.requests} >= {"instances.snapshots", "instances.fleio_bckps"}
    assert sim.mutating_requests() == []


async def test_a_hundred_backups_kept_are_refused_before_anything_is_sent(
    service: RescueService, sim: Simulator
) -> None:
    sim.instances[WEB].backups = [SimSnapshot(i, f"b{i}", "2026-01-01", 0.0) for i in range(100)]
    with pytest.raises(StateConflictError, match="it has 100 backups, and Zomro keeps at most 100"):
        await create_snapshot(service, SnapshotRequest(WEB, "one-more", "backup"), confirm=True)
    assert sim.mutating_requests() == []


async def test_a_preview_id_of_a_snapshot_does_not_confirm_a_backup(settings: Settings, sim: Simulator) -> None:
    async with assemble(Accounts.single(settings.but(require_preview=True))).open() as fleet:
        service = fleet.service(None)
        shown = await create_snapshot(service, SnapshotRequest(WEB, "x"))
        refused = await create_snapshot(
            service, SnapshotRequest(WEB, "x", "backup"), confirm=True, preview_id=shown.preview_id
        )
    assert (refused.executed, refused.kind) == (False, "refused.preview_required")
    assert sim.mutating_requests() == []


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
