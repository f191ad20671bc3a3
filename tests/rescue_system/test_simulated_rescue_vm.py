"""The simulator with real rescue VMs (`serve --simulator --rescue-system vm --disk ID=PATH`), and the stand-in's
recording checked against what the rescue VM reports today for the disk it was recorded from.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
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


async def test_serve_simulator_with_the_rescue_vm_diagnoses_the_instances_own_disk(
    debian_root: Path, tmp_path: Path
) -> None:
    disk = build_case(CASE, debian_root, tmp_path)
    env = {
        "ZOMRO_CONFIG": "none",
        "ZOMRO_POLL_INTERVAL": "1",
        "ZOMRO_WAIT_SECONDS": "300",  # the VM boots under TCG on a busy machine
        "ZOMRO_RESCUE_VM_CACHE": os.environ["ZOMRO_RESCUE_VM_CACHE"],
        "HOME": str(tmp_path),
    }
    args = ["serve", "--simulator", "--rescue-system", "vm", "--disk", f"{WEB}={disk}"]
    params = StdioServerParameters(command=CONSOLE_SCRIPT, args=args, env=env)

    async def confirmed(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        preview = ok(await client.call_tool(tool, arguments))
        return ok(await client.call_tool(tool, {**arguments, "preview_id": preview["preview_id"], "confirm": True}))

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
