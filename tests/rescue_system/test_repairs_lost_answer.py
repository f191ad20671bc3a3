"""A repair whose answer was lost is never sent again: against the loopback SSH server (no VM), which drops the
connection instead of running the command."""

from __future__ import annotations

import base64
import hashlib

import pytest

from zomro_rescue_mcp.rescue_system import CommandOutcomeUnknownError, HostKeyTrust, RescueSession, SSHTarget
from zomro_rescue_mcp.rescue_system.repairs import RepairPlan, apply_repair

from .loopback_sshd import loopback_sshd

pytestmark = pytest.mark.anyio
PASSWORD = "Rescue-pass-4711"


async def test_a_repair_whose_answer_was_lost_is_never_run_again() -> None:
    new = b"UUID=x / ext4 defaults,nofail 0 1\n"
    plan = RepairPlan(
        fix="fstab.add_nofail",
        target="/",
        device="/dev/vdb1",
        files=["/etc/fstab"],
        diff="",
        summary="",
        old_sha256=hashlib.sha256(b"UUID=x / ext4 defaults 0 1\n").hexdigest(),
        mode="644 0:0",
        new_content_b64=base64.b64encode(new).decode(),
        check_line="UUID=x / ext4 defaults,nofail 0 1",
    )
    async with loopback_sshd(PASSWORD) as server:
        target = SSHTarget(server.host, server.port, password=PASSWORD, session=RescueSession.begin("default", 7))
        server.drop_next = 1
        with pytest.raises(CommandOutcomeUnknownError, match="not run again"):
            await apply_repair(target, HostKeyTrust(), plan)
    assert len(server.commands) == 1
