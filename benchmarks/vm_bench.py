"""The diagnosis on the real rescue VM: how long the read-only look at a healthy Debian disk takes, from the SSH
connection to the report (row 8a, target at most 15 s under TCG), beside the VM's boot (8b, for reference).

The disk is built as the VM tests build theirs (tests/rescue_system/cases.py: the healthy case). Where QEMU or the
built VM is missing (`make rescue-vm`), the rows say so instead of a figure.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 15.0


class Rows(Protocol):
    def add(self, *cells: str) -> None: ...


async def _measure(folder: Path) -> tuple[float, float, int, int]:
    """(boot seconds, diagnosis seconds, findings, remote round trips) for the healthy case's disk."""
    sys.path.insert(0, str(ROOT))  # the test disks' builders
    from tests.rescue_system.cases import OTHER_CASES, build_case
    from tests.rescue_system.disks import debian_root_tree

    from zomro_rescue_mcp.rescue_system import HostKeyTrust, RescueSession, SSHTarget, diagnose
    from zomro_rescue_mcp.simulator.rescue_vm import RescueVM

    [healthy] = [case for case in OTHER_CASES if case.name == "healthy"]
    disk = build_case(healthy, debian_root_tree(folder), folder)
    password = "Bench-" + secrets.token_urlsafe(12)
    started = time.perf_counter()
    async with RescueVM([disk], password=password) as vm:
        booted = time.perf_counter() - started
        target = SSHTarget(vm.host, vm.port, password=password, session=RescueSession.begin("bench", 1))
        started = time.perf_counter()
        found = await diagnose(target, HostKeyTrust())
        took = time.perf_counter() - started
    return booted, took, len(found.findings), found.round_trips


def diagnosis_on_vm(report: Rows, *, quick: bool) -> None:
    """Rows 8a and 8b; nothing is measured with --quick (a VM boot is many seconds)."""
    import anyio

    from zomro_rescue_mcp.simulator.vm_cache import RescueVMUnavailable, check_available

    measure = "diagnose_instance's diagnosis of a healthy Debian disk on the rescue VM, SSH connect to report"
    boot = "the rescue VM's boot, QEMU start to SSH answering (for reference)"
    if quick:
        report.add("8a", measure, "not measured (--quick)", "", "", f"at most {TARGET_SECONDS:.0f} s", "-")
        report.add("8b", boot, "not measured (--quick)", "", "", "", "-")
        return
    try:
        check_available()
    except RescueVMUnavailable as exc:
        report.add("8a", measure, f"not measured: {exc}", "", "", f"at most {TARGET_SECONDS:.0f} s", "-")
        report.add("8b", boot, "not measured", "", "", "", "-")
        return
    with tempfile.TemporaryDirectory(prefix="zomro-bench-vm-") as folder:
        booted, took, findings, trips = anyio.run(_measure, Path(folder))
    report.add(
        "8a",
        measure,
        f"{took:.1f} s ({trips} remote round trip(s), {findings} finding(s))",
        "",
        "",
        f"at most {TARGET_SECONDS:.0f} s",
        "yes" if took <= TARGET_SECONDS else "NO",
    )
    report.add("8b", boot, f"{booted:.1f} s", "", "", "", "-")
