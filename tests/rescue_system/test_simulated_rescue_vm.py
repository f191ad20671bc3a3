"""The simulator with real rescue VMs (`serve --simulator --rescue-system vm --disk ID=PATH`), and the stand-in's
recording checked against what the rescue VM reports today for the disk it was recorded from.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import signal
import tempfile
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from zomro_rescue_mcp.rescue_system import HostKeyTrust, RescueSession, SSHTarget, diagnose, read_report
from zomro_rescue_mcp.rescue_system.report import Report
from zomro_rescue_mcp.simulator.stand_in import RECORDED_CASE, recorded_report

from ..conftest import CONSOLE_SCRIPT, DEFAULT_ERA, ok
from .cases import FINDING_CASES, build_case
from .conftest import BootVM
from .disks import blank_image, require_vm

pytestmark = pytest.mark.anyio

WEB = 5203773
CASE = next(c for c in FINDING_CASES if c.name == RECORDED_CASE)


def vms_of(disk: Path) -> list[int]:
    """The QEMU processes that have `disk` as a drive."""
    drive = f"file={disk.resolve()},".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and drive in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue  # it ended meanwhile
    return found


def server(disk: Path, home: Path) -> StdioServerParameters:
    """serve --simulator with a rescue VM for web-1, `disk` its disk image."""
    env = {
        "ZOMRO_CONFIG": "none",
        "ZOMRO_POLL_INTERVAL": "1",
        "ZOMRO_WAIT_SECONDS": "300",  # the VM boots under TCG on a busy machine
        "ZOMRO_RESCUE_VM_CACHE": os.environ["ZOMRO_RESCUE_VM_CACHE"],
        "HOME": str(home),
    }
    args = ["serve", "--simulator", "--rescue-system", "vm", "--disk", f"{WEB}={disk}"]
    return StdioServerParameters(command=CONSOLE_SCRIPT, args=args, env=env)


async def confirmed(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The tool previewed, then confirmed with the preview's id."""
    preview = ok(await client.call_tool(tool, arguments))
    return ok(await client.call_tool(tool, {**arguments, "preview_id": preview["preview_id"], "confirm": True}))


async def test_serve_simulator_with_the_rescue_vm_diagnoses_the_instances_own_disk(
    debian_root: Path, tmp_path: Path
) -> None:
    disk = build_case(CASE, debian_root, tmp_path)
    params = server(disk, tmp_path)
    with tempfile.TemporaryFile("w+") as errlog:
        async with Client(stdio_client(params, errlog=errlog), mode=DEFAULT_ERA, cache=None) as client:
            entered = await confirmed(client, "enter_rescue", {"instance_id": WEB, "image": "Debian 12"})
            booted = vms_of(disk)
            diagnosis = ok(await client.call_tool("diagnose_instance", {"instance_id": WEB}))
            left = await confirmed(client, "exit_rescue", {"instance_id": WEB})
            after = vms_of(disk)
    assert (entered["status"], left["status"]) == ("rescued", "active")
    assert [f["kind"] for f in diagnosis["findings"]] == ["fstab.unknown_device"]
    assert ipaddress.ip_address(diagnosis["address"]).is_loopback
    assert diagnosis["root"]["os_name"] == "Debian GNU/Linux"
    assert booted != []
    assert after == []


async def test_the_stand_ins_recording_is_what_the_rescue_vm_reports_for_its_case(
    boot_vm: BootVM, debian_root: Path, tmp_path: Path
) -> None:
    disk = build_case(CASE, debian_root, tmp_path)
    password = f"Rescue-{secrets.token_urlsafe(9)}"
    async with boot_vm(disk, password=password) as vm:
        target = SSHTarget(vm.host, vm.port, password=password, session=RescueSession.begin("t", WEB))
        live = await diagnose(target, HostKeyTrust())
    _, root, findings, notes = read_report(Report.parse(recorded_report()))

    def seen(found: list[Any]) -> list[tuple[str, str, str | None, str | None]]:
        return [(f.kind, f.severity, f.fix, f.target) for f in found]

    assert seen(live.findings) == seen(findings)
    assert live.root is not None
    assert root is not None
    assert live.root.model_dump() == root.model_dump()
    assert live.notes == notes


@pytest.mark.vm
async def test_a_client_leaving_while_the_instance_is_rescued_leaves_no_rescue_vm_behind(tmp_path: Path) -> None:
    require_vm()
    disk = blank_image(tmp_path / "blank.img", 32)
    with tempfile.TemporaryFile("w+") as errlog:
        async with Client(stdio_client(server(disk, tmp_path), errlog=errlog), mode=DEFAULT_ERA, cache=None) as client:
            entered = await confirmed(client, "enter_rescue", {"instance_id": WEB, "image": "Debian 12"})
            [qemu] = vms_of(disk)
            console = next(a for a in Path(f"/proc/{qemu}/cmdline").read_bytes().split(b"\0") if b"console-" in a)
            folder = Path(console.decode().removeprefix("file:")).parent
        # The client closed the server's standard input (and would send SIGTERM after 2 s): the server stops its VM.
    assert entered["status"] == "rescued"
    assert vms_of(disk) == []
    assert not folder.exists()


@pytest.mark.vm
async def test_a_server_ended_by_sigterm_stops_its_rescue_vm_first(tmp_path: Path) -> None:
    require_vm()
    disk = blank_image(tmp_path / "blank.img", 32)
    with tempfile.TemporaryFile("w+") as errlog:
        async with Client(stdio_client(server(disk, tmp_path), errlog=errlog), mode=DEFAULT_ERA, cache=None) as client:
            await confirmed(client, "enter_rescue", {"instance_id": WEB, "image": "Debian 12"})
            [qemu] = vms_of(disk)
            status = Path(f"/proc/{qemu}/status").read_text().splitlines()
            serving = int(next(line.split()[1] for line in status if line.startswith("PPid:")))
            console = next(a for a in Path(f"/proc/{qemu}/cmdline").read_bytes().split(b"\0") if b"console-" in a)
            folder = Path(console.decode().removeprefix("file:")).parent
            os.kill(serving, signal.SIGTERM)  # the server this test started, as a client ends one that hangs
        # Leaving the client waits for the server's end (closing its input, then SIGTERM, then SIGKILL after 4 s).
    assert vms_of(disk) == []
    assert not folder.exists()
