"""repair_instance and run_in_rescue through the official MCP client, against the simulator with a real rescue VM: the
instance (web-1) enters rescue mode once for the module, its disk the one the stand-in's recording is of (a Debian
root with a stale /etc/fstab line); each tool is previewed, then confirmed with the preview's id.

One rescue VM boots for the module (TCG is slow): the fixture makes every call and keeps each result (or what it
raised), and each test reads one.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from zomro_rescue_mcp.rescue_system.commands import MAX_OUTPUT_BYTES
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator, run_on_loopback
from zomro_rescue_mcp.simulator.stand_in import RECORDED_CASE
from zomro_rescue_mcp.simulator.vm_rescue_system import VMRescueSystem

from ..conftest import DEFAULT_ERA, client_for, ok
from .cases import FINDING_CASES, build_case
from .disks import require_vm

pytestmark = [pytest.mark.anyio, pytest.mark.vm]

WEB = 5203773
CASE = next(c for c in FINDING_CASES if c.name == RECORDED_CASE)
RUNS: dict[str, dict[str, Any]] = {
    "plain": {"command": "echo out-$((40 + 2)); echo err >&2; exit 3", "chroot": False},
    "os-release": {"command": "cat /etc/os-release", "chroot": True},
    "timeout": {"command": "echo before; sleep 30; echo after", "chroot": True, "timeout_s": 2},
    "cap": {"command": "head -c 40000 /dev/zero | tr '\\0' a", "chroot": False},
}


@dataclass
class Bench:
    audit: Path
    results: dict[str, dict[str, Any] | Exception] = field(default_factory=dict)

    def __getitem__(self, name: str) -> dict[str, Any]:
        result = self.results.get(name)
        if isinstance(result, Exception):
            raise result
        assert result is not None, f"{name} did not happen (an earlier step failed)"
        return result


async def confirmed(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The tool previewed, then confirmed with the preview's id; the preview under "preview"."""
    preview = ok(await client.call_tool(tool, arguments))
    assert (preview["kind"], preview["executed"]) == ("preview", False)
    done = ok(await client.call_tool(tool, {**arguments, "preview_id": preview["preview_id"], "confirm": True}))
    return {**done, "preview": preview}


async def _steps(client: Client, bench: Bench) -> None:
    async def step(name: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any] | None:
        try:
            bench.results[name] = done = await confirmed(client, tool, arguments)
        except Exception as failed:  # the test of the step raises it
            bench.results[name] = failed
            return None
        return done

    if await step("enter", "enter_rescue", {"instance_id": WEB, "image": "Debian 12"}) is None:
        return
    for name, arguments in RUNS.items():
        await step(name, "run_in_rescue", {"instance_id": WEB, **arguments})
    found = ok(await client.call_tool("diagnose_instance", {"instance_id": WEB}))
    [stale] = [f for f in found["findings"] if f["kind"] == "fstab.unknown_device"]
    bench.results["finding"] = stale
    repaired = await step(
        "repair", "repair_instance", {"instance_id": WEB, "fix": stale["fix"], "target": stale["target"]}
    )
    if repaired is not None and repaired["backups"]:
        backup = repaired["backups"][0]
        await step("backup", "run_in_rescue", {"instance_id": WEB, "command": f"ls -l {backup}", "chroot": True})
    bench.results["after"] = ok(await client.call_tool("diagnose_instance", {"instance_id": WEB}))


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def bench(debian_root: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bench]:
    require_vm()
    image = build_case(CASE, debian_root, tmp_path_factory.mktemp("repair-tools"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    sim = Simulator(transition_seconds=0.0, rescue_system=VMRescueSystem(port, disks={WEB: image}))
    url, stop = run_on_loopback(sim)
    settings = Settings(
        api_url=url,
        username=DEMO_USERNAME,
        password=DEMO_PASSWORD,
        wait_seconds=300.0,  # the VM boots under TCG on a busy machine
        poll_interval=1.0,
        ssh_port=port,
        audit_log=str(image.with_name("audit.jsonl")),
    )
    bench = Bench(image.with_name("audit.jsonl"))
    try:
        async with client_for(settings, DEFAULT_ERA) as client:
            await _steps(client, bench)
        yield bench
    finally:
        stop()  # the rescue VM too


async def test_enter_rescue_boots_the_rescue_vm(bench: Bench) -> None:
    assert bench["enter"]["status"] == "rescued"


async def test_a_confirmed_command_gives_its_exit_code_and_its_output(bench: Bench) -> None:
    ran = bench["plain"]
    assert (ran["kind"], ran["executed"], ran["exit_code"], ran["timed_out"]) == ("executed", True, 3, False)
    assert ran["output"] == "out-42\nerr\n"
    assert ran["preview"]["device"] == ran["device"] == "/dev/vdb1"


async def test_a_command_in_the_chroot_sees_the_instances_own_root(bench: Bench, debian_root: Path) -> None:
    ran = bench["os-release"]
    assert ran["exit_code"] == 0
    assert ran["output"] == (debian_root / "etc" / "os-release").read_text(encoding="utf-8")
    assert "ID=debian" in ran["output"]


async def test_a_command_past_its_time_limit_is_stopped(bench: Bench) -> None:
    ran = bench["timeout"]
    assert (ran["timed_out"], ran["exit_code"], ran["timeout_s"]) == (True, None, 2)
    assert ran["output"] == "before\n"


async def test_a_commands_output_is_cut_at_16_kib(bench: Bench) -> None:
    ran = bench["cap"]
    assert (ran["exit_code"], ran["truncated"]) == (0, True)
    assert ran["output"] == "a" * MAX_OUTPUT_BYTES


async def test_a_previewed_repair_is_applied_with_the_file_backed_up(bench: Bench) -> None:
    repaired, line = bench["repair"], bench["finding"]["target"]
    changed = [d for d in repaired["preview"]["diff"].splitlines() if d[:1] in "+-" and d[:3] not in ("+++", "---")]
    assert changed == [f"-{line}", f"+{line.replace(' defaults ', ' defaults,nofail ')}"]
    assert (repaired["executed"], repaired["problem_gone"], repaired["files_changed"]) == (True, True, ["/etc/fstab"])
    [backup] = repaired["backups"]
    assert backup.startswith("/etc/fstab.zomro-rescue-")
    assert "fstab.unknown_device" not in [f["kind"] for f in bench["after"]["findings"]]


async def test_the_backup_is_on_the_instances_disk_afterwards(bench: Bench) -> None:
    listed = bench["backup"]
    assert listed["exit_code"] == 0
    assert listed["output"].split()[-1] == bench["repair"]["backups"][0]


async def test_the_audit_trail_has_the_command_and_its_exit_code_but_not_its_output(bench: Bench) -> None:
    assert bench["plain"]["exit_code"] == 3
    records = [json.loads(line) for line in bench.audit.read_text(encoding="utf-8").splitlines()]
    [outcome] = [
        r for r in records if r["tool"] == "run_in_rescue" and r["phase"] == "outcome" and r.get("exit_code") == 3
    ]
    assert (outcome["command"], outcome["chroot"], outcome["result"]) == (RUNS["plain"]["command"], False, "executed")
    assert "out-42" not in bench.audit.read_text(encoding="utf-8")
