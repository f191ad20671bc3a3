"""What the access fixes share: the read-only read of the instance's root (repair_plan_access.sh), and the plan and
apply of a previewed file edit (repair_access.sh's put: backed up, written atomically, read back)."""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable

from .connection import SSHTarget
from .limits import Limits
from .repair_models import Applier, RepairOutcome, RepairPlan
from .repair_remote import read_file, repair_script, run_script
from .report import Report
from .trust import HostKeyTrust
from .unified_diff import unified_diff

__all__ = ["Check", "file_applier", "file_plan", "optional", "read_root", "stamp"]

log = logging.getLogger("zomro_rescue_mcp.rescue_system")

Check = Callable[[RepairPlan, Report, bytes | None], Awaitable[tuple[bool, str]]]
"""check(plan, report, after): whether the problem is gone after the write, and the verdict's sentence."""


async def read_root(
    target: SSHTarget, trust: HostKeyTrust, what: str, limits: Limits, disk: str | None
) -> tuple[Report, str]:
    """One read-only run of the plan_access mode for `what`; its report and the root file system's device."""
    script = repair_script("plan_access", device=disk, file="", extra={"WHAT": what})
    report, _ = await run_script(target, trust, script, limits, read_only=True)
    root = report.first("root")
    assert root is not None  # run_script refused a report without one
    return report, root.arg(0)


def optional(report: Report, name: str, path: str) -> tuple[bytes, str, str]:
    """The file's content, sha256 and mode as the script showed it; empty ones when it is absent."""
    section = report.first(name)
    if section is not None and section.arg(1) == "absent":
        return b"", "", ""
    return read_file(report, name, path)


def stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def file_plan(
    fix: str, target_arg: str | None, device: str, disk: str | None, path: str, old: tuple[bytes, str, str], new: bytes
) -> RepairPlan:
    data, sha, mode = old
    return RepairPlan(
        fix=fix,
        target=target_arg,
        device=device,
        scope=disk,
        files=[path],
        diff=unified_diff(path, data, new),
        summary="",
        old_sha256=sha,
        mode=mode,
        new_content_b64=base64.b64encode(new).decode("ascii"),
    )


def file_applier(check: Check) -> Applier:
    """The apply of a previewed file edit (repair_access.sh's put), judged by `check` on the file as it now reads."""

    async def apply(
        target: SSHTarget, trust: HostKeyTrust, plan: RepairPlan, limits: Limits, started: float
    ) -> RepairOutcome:
        new = base64.b64decode(plan.new_content_b64)
        path = plan.files[0]
        script = repair_script(
            "access",
            device=plan.device,
            file=path,
            sha=plan.old_sha256,
            new_b64=plan.new_content_b64,
            new_sha=hashlib.sha256(new).hexdigest(),
            stamp=stamp(),
            extra={**plan.extra, "ACT": "put"},
        )
        report, round_trips = await run_script(target, trust, script, limits, read_only=False)
        after = optional(report, "after", path)[0] if report.has("written") else None
        gone, verdict = await check(plan, report, after)
        backups = [s.arg(0) for s in report.all("backup")]
        changed = [s.arg(0) for s in report.all("created")] + ([path] if report.has("written") else [])
        test = report.first("sshd_test")
        log.info("repair %s on %s: %s, backups %s", plan.fix, plan.device, "gone" if gone else "not gone", backups)
        return RepairOutcome(
            fix=plan.fix,
            device=plan.device,
            files_changed=changed,
            backups=backups,
            problem_gone=gone,
            verdict=verdict,
            output=list(test.lines) if test else [],
            round_trips=round_trips,
            elapsed_s=round(time.monotonic() - started, 2),
        )

    return apply
