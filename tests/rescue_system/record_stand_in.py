"""Records what the simulator's stand-in rescue system answers with: the report the diagnosis script gave, once, on
the real rescue VM, for the disk of the case `fstab.unknown_device` (a stale fstab line, see cases.py).

    .venv/bin/python -m tests.rescue_system.record_stand_in   # needs `make rescue-vm`; about a minute

It writes `server/zomro_rescue_mcp/simulator/recordings/fstab-unknown-device.txt` (a header of `#` lines saying what
it is, then the report as the VM sent it). Record it again when diagnose.sh changes what it reports:
test_stand_in_recording.py compares the recording with what the VM reports today.
"""

from __future__ import annotations

import hashlib
import secrets
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import anyio

from zomro_rescue_mcp.rescue_system import HostKeyTrust, Limits, RescueSession, SSHTarget, connect
from zomro_rescue_mcp.rescue_system.script import diagnosis_script
from zomro_rescue_mcp.simulator.rescue_vm import RescueVM
from zomro_rescue_mcp.simulator.stand_in import RECORDED_CASE, RECORDING

from .cases import FINDING_CASES, build_case
from .disks import debian_root_tree


async def vm_report(disk: Path) -> str:
    """The diagnosis script's report for `disk`, as the rescue VM sends it (the script run once, read-only)."""
    password = f"Record-{secrets.token_urlsafe(9)}"
    limits = Limits()
    async with RescueVM([disk], password=password) as vm:
        target = SSHTarget(vm.host, vm.port, password=password, session=RescueSession.begin("record", 0))
        async with await connect(target, HostKeyTrust(), limits) as conn:
            done = await conn.run(
                diagnosis_script(fsck_timeout_s=limits.fsck_timeout_s),
                read_only=True,
                timeout_s=limits.diagnosis_timeout_s,
                max_output=limits.max_output_bytes,
            )
    if done.exit_status != 0 or done.truncated or done.timed_out:
        raise RuntimeError(f"the diagnosis script did not finish cleanly: {done.exit_status} {done.error_text[:300]}")
    return done.text


def header(script_sha256: str) -> str:
    when = time.strftime("%Y-%m-%d", time.gmtime())
    return (
        "# A RECORDING, not a rescue system: the report the diagnosis script (rescue_system/diagnose.sh, sha256\n"
        f"# {script_sha256[:16]}…) gave on the real rescue VM (`make rescue-vm`) on {when}, for the disk of the case\n"
        f"# {RECORDED_CASE} in tests/rescue_system/cases.py (a healthy Debian root with a stale fstab line).\n"
        "# The simulator's stand-in rescue system (simulator/stand_in.py) answers the diagnosis script with it.\n"
        "# Recorded by `python -m tests.rescue_system.record_stand_in`; run it again when diagnose.sh changes.\n"
    )


def main() -> int:
    case = next(c for c in FINDING_CASES if c.name == RECORDED_CASE)
    script = resources.files("zomro_rescue_mcp.rescue_system").joinpath("diagnose.sh").read_bytes()
    with tempfile.TemporaryDirectory(prefix="zomro-record-") as folder:
        disk = build_case(case, debian_root_tree(Path(folder)), Path(folder))
        report = anyio.run(vm_report, disk)
    RECORDING.write_text(header(hashlib.sha256(script).hexdigest()) + report, encoding="utf-8")
    print(f"recorded {len(report)} characters into {RECORDING}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
