"""The stand-in rescue system answers the product's repairs from a model of the instance's disk, and with
`disk_decides_boot` the instance boots after exit_rescue only when the product's diagnosis of that model finds nothing
critical.

The simulator runs on loopback HTTP with the stand-in on a port of the test's own; the instance enters and leaves
rescue mode through the server's tools (the official MCP client), and the repairs are the product's own plan_repair
and apply_repair over SSH, unchanged.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from mcp import Client

from zomro_rescue_mcp.rescue_system import HostKeyTrust, RescueSession, SSHTarget, diagnose, repairs
from zomro_rescue_mcp.rescue_system.errors import ScriptFailedError
from zomro_rescue_mcp.rescue_system.repairs import RepairRefusedError, apply_repair, plan_repair
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator, run_on_loopback
from zomro_rescue_mcp.simulator.disk_model import FSTAB, DiskModel
from zomro_rescue_mcp.simulator.own_system import BANNER
from zomro_rescue_mcp.simulator.stand_in import StandInRescueSystem, recorded_report

from ..conftest import DEFAULT_ERA, call, client_for, ok

pytestmark = [pytest.mark.anyio, pytest.mark.heavy]  # many seconds: make test-heavy

WEB = 5203773
STALE = "UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults 0 2"  # the recording's stale line
ADD_NOFAIL_DIFF = (
    "--- a/etc/fstab\n"
    "+++ b/etc/fstab\n"
    "@@ -1,4 +1,4 @@\n"
    " # <file system> <mount point> <type> <options> <dump> <pass>\n"
    " UUID=87d0019f-b4d0-49d6-b821-bcfd81f4c1e4 / ext4 errors=remount-ro 0 1\n"
    "-UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults 0 2\n"
    "+UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults,nofail 0 2\n"
    " LABEL=backup /srv/backup ext4 defaults,nofail 0 2\n"
)


@pytest.fixture
def port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def stand_in(port: int) -> StandInRescueSystem:
    return StandInRescueSystem(port, disk_decides_boot=True)


@pytest.fixture
def sim(stand_in: StandInRescueSystem) -> Iterator[tuple[Simulator, str]]:
    simulator = Simulator(transition_seconds=0.0, rescue_system=stand_in)
    url, stop = run_on_loopback(simulator)
    yield simulator, url
    stop()


@pytest.fixture
async def client(sim: tuple[Simulator, str], port: int) -> AsyncIterator[Client]:
    settings = Settings(
        api_url=sim[1],
        username=DEMO_USERNAME,
        password=DEMO_PASSWORD,
        wait_seconds=4.0,  # also how long an exit waits for an instance that does not boot to answer
        poll_interval=0.05,
        require_preview=False,
        ssh_port=port,
        health_ports=(port,),
    )
    async with client_for(settings, DEFAULT_ERA) as connected:
        yield connected


@pytest.fixture
def disk(sim: tuple[Simulator, str], stand_in: StandInRescueSystem) -> DiskModel:
    return stand_in.disk(sim[0].instances[WEB])


@pytest.fixture
def stamps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each repair's backup stamp a second after the last (two repairs here run within one second)."""
    seconds = itertools.count(10)
    monkeypatch.setattr(repairs, "_stamp", lambda: f"20261203T1200{next(seconds):02d}Z")


async def rescued(client: Client, port: int) -> SSHTarget:
    """Web-1 in rescue mode: where its rescue system answers, logged in with the password the rescue set."""
    entered = ok(await call(client, "enter_rescue", instance_id=WEB, image="Debian 12", confirm=True))
    listed = ok(await call(client, "list_instances", query="web-1"))
    host = str(listed["instances"][0]["ip"])
    return SSHTarget(host, port, password=entered["password"], session=RescueSession.begin("t", WEB))


async def test_the_plan_of_add_nofail_shows_the_exact_diff_and_changes_nothing(
    client: Client, port: int, disk: DiskModel
) -> None:
    target = await rescued(client, port)
    plan = await plan_repair(target, HostKeyTrust(), "fstab.add_nofail", STALE)
    assert (plan.device, plan.files, plan.mode) == ("/dev/vdb1", [FSTAB], "644 0:0")
    assert plan.diff == ADD_NOFAIL_DIFF
    assert (disk.fstab, disk.backups) == (DiskModel(recorded_report()).fstab, [])


async def test_apply_writes_the_models_fstab_and_keeps_the_old_one_as_its_backup(
    client: Client, port: int, disk: DiskModel
) -> None:
    before = disk.fstab
    trust, target = HostKeyTrust(), await rescued(client, port)
    outcome = await apply_repair(target, trust, await plan_repair(target, trust, "fstab.add_nofail", STALE))
    assert (outcome.files_changed, outcome.problem_gone) == ([FSTAB], True)
    assert outcome.backups == disk.backups
    assert len(disk.backups) == 1
    assert disk.files[disk.backups[0]].content.decode() == before
    assert disk.fstab == str(before).replace(STALE, STALE.replace("defaults", "defaults,nofail"))


@pytest.mark.parametrize("fix", ["fstab.add_nofail", "fstab.comment_out"])
async def test_a_second_diagnosis_no_longer_finds_the_repaired_line(client: Client, port: int, fix: str) -> None:
    trust, target = HostKeyTrust(), await rescued(client, port)
    first = await diagnose(target, trust)
    assert [f.kind for f in first.findings] == ["fstab.unknown_device"]
    await apply_repair(target, trust, await plan_repair(target, trust, fix, first.findings[0].target))
    again = await diagnose(target, trust)
    assert again.findings == []


async def test_restoring_the_backup_puts_the_stale_line_back(
    client: Client, port: int, disk: DiskModel, stamps: None
) -> None:
    before = disk.fstab
    trust, target = HostKeyTrust(), await rescued(client, port)
    repaired = await apply_repair(target, trust, await plan_repair(target, trust, "fstab.add_nofail", STALE))
    plan = await plan_repair(target, trust, "file.restore_backup", repaired.backups[0])
    restored = await apply_repair(target, trust, plan)
    assert (restored.problem_gone, disk.fstab, len(disk.backups)) == (True, before, 2)
    assert [f.kind for f in (await diagnose(target, trust)).findings] == ["fstab.unknown_device"]


async def test_an_apply_refuses_when_the_file_changed_since_its_plan(
    client: Client, port: int, disk: DiskModel
) -> None:
    trust, target = HostKeyTrust(), await rescued(client, port)
    plan = await plan_repair(target, trust, "fstab.add_nofail", STALE)
    disk.files[FSTAB].content += b"# edited by hand\n"
    edited = disk.fstab
    with pytest.raises(RepairRefusedError, match="changed since the preview"):
        await apply_repair(target, trust, plan)
    assert (disk.fstab, disk.backups) == (edited, [])


async def test_a_repair_the_simulator_does_not_emulate_fails_saying_so(
    client: Client, port: int, disk: DiskModel
) -> None:
    target = await rescued(client, port)
    with pytest.raises(ScriptFailedError, match="does not emulate"):
        await plan_repair(target, HostKeyTrust(), "boot.rebuild_initramfs", None)
    assert disk.backups == []


async def test_after_exit_rescue_a_repaired_instance_answers_with_its_banner(client: Client, port: int) -> None:
    trust, target = HostKeyTrust(), await rescued(client, port)
    await apply_repair(target, trust, await plan_repair(target, trust, "fstab.add_nofail", STALE))
    left = ok(await call(client, "exit_rescue", instance_id=WEB, confirm=True))
    assert (left["status"], left["reachable"]) == ("active", {str(port): True})
    assert left["banner"] == BANNER.decode().strip()


@pytest.mark.heavy  # end to end: make test-heavy
async def test_after_exit_rescue_an_unrepaired_instance_does_not_answer(
    client: Client, port: int, sim: tuple[Simulator, str]
) -> None:
    await rescued(client, port)
    left = ok(await call(client, "exit_rescue", instance_id=WEB, confirm=True))
    assert (left["status"], left["reachable"]) == ("active", {str(port): False})
    assert sim[0].instances[WEB].boots  # nothing but its disk keeps it from booting


async def test_a_repaired_disk_stays_repaired_when_the_instance_is_rescued_again(client: Client, port: int) -> None:
    trust, target = HostKeyTrust(), await rescued(client, port)
    await apply_repair(target, trust, await plan_repair(target, trust, "fstab.add_nofail", STALE))
    ok(await call(client, "exit_rescue", instance_id=WEB, confirm=True))
    again = await rescued(client, port)
    assert (await diagnose(again, HostKeyTrust())).findings == []


async def test_a_repair_on_a_disk_that_holds_no_root_finds_none(client: Client, port: int) -> None:
    target = await rescued(client, port)
    with pytest.raises(RepairRefusedError, match="No Linux root"):
        await plan_repair(target, HostKeyTrust(), "fstab.add_nofail", STALE, disk="/dev/vdc")
    plan = await plan_repair(target, HostKeyTrust(), "fstab.add_nofail", STALE, disk="/dev/vdb")
    assert plan.device == "/dev/vdb1"
