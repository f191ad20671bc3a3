"""One confirmed command line on the real rescue VM (commands.py), against a healthy case disk.

One VM boot for the module: its fixture runs each command once, in order, and after the ones that mount something it
reads what is left mounted on the rescue system; the tests read what it recorded, so that their order does not
matter.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from zomro_rescue_mcp.rescue_system import (
    CommandRun,
    HostKeyTrust,
    RescueSession,
    SSHTarget,
    connect,
    locate_root,
    run_command,
)
from zomro_rescue_mcp.simulator.rescue_vm import RescueVM

from .cases import OTHER_CASES, build_case, replace
from .disks import require_vm

pytestmark = pytest.mark.anyio

MARKER = f"instance-{secrets.token_hex(8)}"  # only the case disk has it


def _mark(tree: Path) -> None:
    replace(tree / "etc/zomro-commands-marker", MARKER + "\n")


HEALTHY = dataclasses.replace(next(c for c in OTHER_CASES if c.name == "healthy"), name="commands", change=_mark)
# What is left of the runs on the rescue system: mounts, work folders, the bind folder, sleepers.
STATE = r"""
printf 'mounts %s\n' "$(grep -c zomro /proc/mounts)"
printf 'folders %s\n' "$(ls -d /tmp/zomro-rescue.* 2>/dev/null | wc -l)"
printf 'bind %s\n' "$(if [ -e /mnt/zomro-root ]; then echo present; else echo absent; fi)"
printf 'sleepers %s\n' "$(ps -eo args | grep -c '^sleep 1[27]7$')"
"""
# name: (command, chroot, timeout_s)
RUNS: dict[str, tuple[str, bool, int]] = {
    "plain": ('echo hello; echo oops >&2; cat "$ZOMRO_ROOT/etc/zomro-commands-marker"; pwd', False, 60),
    "failing": ("echo about to fail; exit 3", False, 60),
    "chroot": (
        "cat /etc/os-release /etc/zomro-commands-marker; test -r /proc/1/status && echo proc-mounted; "
        "test -d /sys/class && echo sys-mounted; test -c /dev/null && echo dev-mounted; "
        "grep -q ' /dev/pts devpts ' /proc/mounts && echo devpts-mounted; echo \"root=$ZOMRO_ROOT\"",
        True,
        60,
    ),
    "timeout": ("echo before; sleep 30; echo after", True, 2),
    "cap": ("head -c 40000 /dev/zero | tr '\\0' a", False, 60),
    "quoting": ("printf '[%s]' 'it'\\''s' \"$((6 * 7))\" '$HOME' \"`echo ok`\"; echo", False, 60),
    "background": ("sleep 177 & sleep 127 & echo started", False, 60),
}


@dataclass
class Bench:
    device: str | Exception = ""
    runs: dict[str, CommandRun | Exception] = field(default_factory=dict)
    states: dict[str, dict[str, str]] = field(default_factory=dict)  # after each run
    steps: list[str] = field(default_factory=list)  # what on_line heard during the plain run


def ok(step: CommandRun | Exception | None) -> CommandRun:
    if isinstance(step, Exception):
        raise step
    assert step is not None, "the run did not happen"
    return step


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def bench(debian_root: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bench]:
    require_vm()
    image = build_case(HEALTHY, debian_root, tmp_path_factory.mktemp("commands"))
    async with RescueVM([image], password=f"Rescue-{secrets.token_urlsafe(9)}") as vm:
        target = SSHTarget(vm.host, vm.port, password=vm.password, session=RescueSession.begin("default", 1))
        trust, bench = HostKeyTrust(), Bench()
        try:
            bench.device = await locate_root(target, trust, disk="/dev/vdb")
        except Exception as failed:  # the test reads it
            bench.device = failed

        async def heard(line: str) -> None:
            bench.steps.append(line)

        for name, (command, chroot, timeout_s) in RUNS.items():
            try:
                bench.runs[name] = await run_command(
                    target,
                    trust,
                    command,
                    chroot=chroot,
                    timeout_s=timeout_s,
                    disk="/dev/vdb",
                    on_line=heard if name == "plain" else None,
                )
            except Exception as failed:  # the test reads it
                bench.runs[name] = failed
            async with await connect(target, trust) as conn:
                done = await conn.run(STATE, read_only=True)
            bench.states[name] = dict(line.split(" ", 1) for line in done.text.splitlines() if " " in line)
        yield bench


CLEAN = {"mounts": "0", "folders": "0", "bind": "absent", "sleepers": "0"}


async def test_the_root_is_located_read_only(bench: Bench) -> None:
    if isinstance(bench.device, Exception):
        raise bench.device
    assert bench.device == "/dev/vdb1"


async def test_a_plain_command_reports_its_interleaved_output_and_exit_code(bench: Bench) -> None:
    run = ok(bench.runs["plain"])
    assert run.output == f"hello\noops\n{MARKER}\n/mnt/zomro-root\n"
    assert (run.exit_code, run.timed_out, run.truncated) == (0, False, False)
    assert (run.chroot, run.device, run.root_path) == (False, "/dev/vdb1", "/mnt/zomro-root")
    assert run.round_trips == 1


async def test_the_steps_are_told_as_they_happen(bench: Bench) -> None:
    ok(bench.runs["plain"])
    assert bench.steps == [
        "Running the command",
        "The command ended; reading its output",
        "Unmounting what was mounted for the command",
    ]


async def test_the_command_runs_verbatim_whatever_its_quotes(bench: Bench) -> None:
    run = ok(bench.runs["quoting"])
    assert run.output == "[it's][42][$HOME][ok]\n"


async def test_a_failing_command_reports_its_exit_code(bench: Bench) -> None:
    run = ok(bench.runs["failing"])
    assert (run.exit_code, run.output, run.timed_out) == (3, "about to fail\n", False)


async def test_in_the_chroot_the_command_sees_the_instance_with_proc_sys_dev_and_devpts(
    bench: Bench, debian_root: Path
) -> None:
    run = ok(bench.runs["chroot"])
    os_release = (debian_root / "etc/os-release").read_text(encoding="utf-8")
    assert run.output == (f"{os_release}{MARKER}\nproc-mounted\nsys-mounted\ndev-mounted\ndevpts-mounted\nroot=/\n")
    assert (run.exit_code, run.root_path, run.left_mounted) == (0, "/", [])


@pytest.mark.parametrize("name", list(RUNS))
async def test_after_each_command_nothing_is_left_on_the_rescue_system(bench: Bench, name: str) -> None:
    ok(bench.runs[name])
    assert bench.states[name] == CLEAN


async def test_a_command_past_its_limit_is_stopped_with_its_output_so_far(bench: Bench) -> None:
    run = ok(bench.runs["timeout"])
    assert (run.timed_out, run.exit_code, run.output) == (True, None, "before\n")


async def test_the_output_is_capped_at_16_kib(bench: Bench) -> None:
    run = ok(bench.runs["cap"])
    assert run.output == "a" * 16384
    assert run.truncated
    assert run.exit_code == 0


async def test_what_a_command_leaves_running_is_stopped_when_it_ends(bench: Bench) -> None:
    run = ok(bench.runs["background"])
    assert (run.output, run.exit_code, run.timed_out) == ("started\n", 0, False)
