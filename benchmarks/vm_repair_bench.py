"""One repair on the real rescue VM (row 8c): fstab.add_nofail on a disk whose /etc/fstab names a device that does
not exist, as repair_instance does it: the read-only plan that the preview shows, then the confirmed apply (backup,
atomic write, the check again). It reports the time of each and the remote round trips of the apply (the plan is
one more). The disk is built as the VM tests build theirs (tests/rescue_system/cases.py). Where QEMU or the built VM
is missing (`make rescue-vm`), the row says so instead of a figure.
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
STALE_LINE = "UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults 0 2"  # cases.unknown_device's


class Rows(Protocol):
    def add(self, *cells: str) -> None: ...


async def _measure(folder: Path) -> tuple[float, float, int, bool]:
    """(plan seconds, apply seconds, the apply's remote round trips, whether the problem is gone)."""
    sys.path.insert(0, str(ROOT))  # the test disks' builders
    from tests.rescue_system.cases import FINDING_CASES, build_case
    from tests.rescue_system.disks import debian_root_tree

    from zomro_rescue_mcp.rescue_system import HostKeyTrust, RescueSession, SSHTarget
    from zomro_rescue_mcp.rescue_system.repairs import apply_repair, plan_repair
    from zomro_rescue_mcp.simulator.rescue_vm import RescueVM

    [case] = [c for c in FINDING_CASES if c.name == "fstab.unknown_device"]
    disk = build_case(case, debian_root_tree(folder), folder)
    password = "Bench-" + secrets.token_urlsafe(12)
    async with RescueVM([disk], password=password) as vm:
        target = SSHTarget(vm.host, vm.port, password=password, session=RescueSession.begin("bench", 1))
        trust = HostKeyTrust()
        started = time.perf_counter()
        plan = await plan_repair(target, trust, "fstab.add_nofail", STALE_LINE)
        planned = time.perf_counter() - started
        started = time.perf_counter()
        outcome = await apply_repair(target, trust, plan)
        applied = time.perf_counter() - started
    return planned, applied, outcome.round_trips, outcome.problem_gone


def repair_on_vm(report: Rows, *, quick: bool) -> None:
    """Row 8c; nothing is measured with --quick (a VM boot is many seconds)."""
    import anyio

    from zomro_rescue_mcp.simulator.vm_cache import RescueVMUnavailable, check_available

    measure = "repair_instance's fstab.add_nofail on the rescue VM: the preview's plan, then the confirmed apply"
    target = f"apply at most {TARGET_SECONDS:.0f} s"
    if quick:
        report.add("8c", measure, "not measured (--quick)", "", "", target, "-")
        return
    try:
        check_available()
    except RescueVMUnavailable as exc:
        report.add("8c", measure, f"not measured: {exc}", "", "", target, "-")
        return
    with tempfile.TemporaryDirectory(prefix="zomro-bench-repair-") as folder:
        planned, applied, trips, gone = anyio.run(_measure, Path(folder))
    report.add(
        "8c",
        measure,
        f"plan {planned:.1f} s, apply {applied:.1f} s ({trips} remote round trip(s) for the apply, 1 for the plan; "
        f"problem gone: {'yes' if gone else 'NO'})",
        "",
        "",
        target,
        "yes" if applied <= TARGET_SECONDS and gone else "NO",
    )
