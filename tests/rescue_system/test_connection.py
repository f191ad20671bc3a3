"""The SSH session to a rescue system: host-key trust per rescue session, the login, bounded commands, lost answers.

Against a real SSH server on loopback (loopback_sshd.py) that runs commands with this machine's sh; the same code
meets the real rescue VM in test_vm_session.py.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from zomro_rescue_mcp.rescue_system import (
    CommandOutcomeUnknownError,
    HostKeyChangedError,
    HostKeyTrust,
    LoginRefusedError,
    MissingToolError,
    RescueSession,
    SSHTarget,
    UnreachableError,
    connect,
)

from .loopback_sshd import LoopbackSSH, loopback_sshd

pytestmark = pytest.mark.anyio
PASSWORD = "Rescue-pass-4711"


@pytest.fixture
async def server() -> AsyncIterator[LoopbackSSH]:
    async with loopback_sshd(PASSWORD) as running:
        yield running


def target(server: LoopbackSSH, session: RescueSession, password: str = PASSWORD) -> SSHTarget:
    return SSHTarget(server.host, server.port, password=password, session=session)


async def test_the_first_key_of_a_rescue_session_is_trusted_and_its_fingerprint_returned(server: LoopbackSSH) -> None:
    trust, session = HostKeyTrust(), RescueSession.begin("default", 42)
    async with await connect(target(server, session), trust) as first:
        assert (first.fingerprint, first.first_use) == (server.fingerprint, True)
    async with await connect(target(server, session), trust) as again:
        assert (again.fingerprint, again.first_use) == (server.fingerprint, False)
    assert trust.pinned(session) == server.fingerprint


async def test_another_key_in_the_same_rescue_session_is_refused_before_login(server: LoopbackSSH) -> None:
    trust, session = HostKeyTrust(), RescueSession.begin("default", 42)
    async with await connect(target(server, session), trust):
        pass
    trusted = server.fingerprint
    await server.new_host_key()
    logins = len(server.logins)
    with pytest.raises(HostKeyChangedError) as refused:
        await connect(target(server, session), trust)
    assert refused.value.kind == "rescue.host_key_changed"
    assert refused.value.facts["trusted"] == trusted
    assert refused.value.facts["offered"] == server.fingerprint
    assert "attack" in str(refused.value)
    assert "rebooted" in str(refused.value)
    assert len(server.logins) == logins  # the password was not sent to the new key


async def test_a_new_rescue_session_trusts_the_new_key(server: LoopbackSSH) -> None:
    trust = HostKeyTrust()
    async with await connect(target(server, RescueSession.begin("default", 42)), trust):
        pass
    await server.new_host_key()
    async with await connect(target(server, RescueSession.begin("default", 42)), trust) as conn:
        assert (conn.fingerprint, conn.first_use) == (server.fingerprint, True)


async def test_a_refused_password_is_its_own_kind_and_never_shown(server: LoopbackSSH) -> None:
    wrong = "Not-the-password-99"
    with pytest.raises(LoginRefusedError) as refused:
        await connect(target(server, RescueSession.begin("default", 42), wrong), HostKeyTrust())
    assert refused.value.kind == "rescue.login_refused"
    shown = f"{refused.value} {refused.value.facts} {target(server, RescueSession.begin('a', 1), wrong)!r}"
    assert wrong not in shown
    assert PASSWORD not in shown


async def test_a_port_where_nothing_listens_is_unreachable() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, and is closed now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    session = RescueSession.begin("default", 42)
    with pytest.raises(UnreachableError) as refused:
        await connect(SSHTarget("127.0.0.1", port, password=PASSWORD, session=session), HostKeyTrust())
    assert (refused.value.kind, refused.value.reason) == ("rescue.unreachable", "refused")


async def test_the_operators_keys_agent_and_known_hosts_are_never_used(
    server: LoopbackSSH, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ssh = tmp_path / ".ssh"
    ssh.mkdir(mode=0o700)
    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(ssh / "id_ed25519"))
    key.write_public_key(str(ssh / "id_ed25519.pub"))
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    (ssh / "known_hosts").write_text(f"[127.0.0.1]:{server.port} {other}")  # would refuse the server's key
    (ssh / "config").write_text("Host *\n  User someone\n  IdentityFile ~/.ssh/id_ed25519\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "agent.sock"))
    async with await connect(target(server, RescueSession.begin("default", 42)), HostKeyTrust()) as conn:
        result = await conn.run("id -un", read_only=True)
    assert server.logins == ["password"]
    assert result.exit_status == 0


async def test_output_past_the_cap_is_dropped_and_flagged(server: LoopbackSSH) -> None:
    async with await connect(target(server, RescueSession.begin("default", 42)), HostKeyTrust()) as conn:
        result = await conn.run("yes | head -c 3000000", read_only=True, max_output=1000)
    assert (len(result.stdout), result.truncated, result.exit_status) == (1000, True, 0)


async def test_a_command_past_its_limit_is_stopped_on_the_remote_side(server: LoopbackSSH) -> None:
    async with await connect(target(server, RescueSession.begin("default", 42)), HostKeyTrust()) as conn:
        result = await conn.run("sleep 60; echo late", read_only=True, timeout_s=1)
    assert result.timed_out
    assert b"late" not in result.stdout
    assert server.commands[-1].endswith("timeout -k 15 1 sh -s")


async def test_a_rescue_system_without_timeout_is_refused_by_name() -> None:
    async with (
        loopback_sshd(PASSWORD, path="/nonexistent") as bare,
        await connect(target(bare, RescueSession.begin("default", 42)), HostKeyTrust()) as conn,
    ):
        with pytest.raises(MissingToolError) as refused:
            await conn.run("echo hi", read_only=True)
    assert (refused.value.kind, refused.value.tool) == ("rescue.missing_tool", "timeout")


async def test_a_read_only_command_whose_answer_was_lost_runs_once_more(server: LoopbackSSH) -> None:
    async with await connect(target(server, RescueSession.begin("default", 42)), HostKeyTrust()) as conn:
        server.drop_next = 1
        result = await conn.run("echo answered", read_only=True)
    assert result.stdout == b"answered\n"
    assert len(server.commands) == 2


async def test_a_changing_command_whose_answer_was_lost_is_never_run_again(server: LoopbackSSH) -> None:
    async with await connect(target(server, RescueSession.begin("default", 42)), HostKeyTrust()) as conn:
        server.drop_next = 1
        with pytest.raises(CommandOutcomeUnknownError) as unknown:
            await conn.run("echo changed", read_only=False)
    assert unknown.value.kind == "outcome_unknown"
    assert len(server.commands) == 1


async def test_the_script_cannot_read_its_own_rest_from_standard_input(server: LoopbackSSH) -> None:
    async with await connect(target(server, RescueSession.begin("default", 42)), HostKeyTrust()) as conn:
        result = await conn.run("cat\necho after", read_only=True)
    assert result.stdout == b"after\n"


async def test_no_log_line_holds_the_password(server: LoopbackSSH, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="asyncssh")  # whatever an earlier test of this process set it to
    asyncssh.set_debug_level(2)
    try:
        async with await connect(target(server, RescueSession.begin("default", 42)), HostKeyTrust()) as conn:
            await conn.run("echo hi", read_only=True)
        with pytest.raises(LoginRefusedError):
            await connect(target(server, RescueSession.begin("default", 42), "Wrong-pass-1234"), HostKeyTrust())
    finally:
        asyncssh.set_debug_level(1)
    assert caplog.records
    assert PASSWORD not in caplog.text
    assert "Wrong-pass-1234" not in caplog.text
