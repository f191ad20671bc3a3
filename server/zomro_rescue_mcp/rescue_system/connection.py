"""One SSH connection to a rescue system, and bounded commands over it.

The one place where asyncssh's errors become ours (see errors.py). The rules kept here:
- the host key is checked against the rescue session's pin (trust.py), never skipped (`known_hosts` is never None);
- only the password is offered: no key of the operator's, no agent, no ~/.ssh/config, known_hosts or certificates;
- every command runs as a script on the standard input of `timeout … sh -s` (a remote limit), under a client-side
  limit a little longer, with its output read in bounded chunks (the rest is read and dropped, `truncated` says so);
- an answer lost to a broken connection is re-run once only when the caller said the command is read-only; a
  command that may change something is never re-run (`CommandOutcomeUnknownError`).
The password is never logged, nor put in an error or a result. asyncssh is imported at the first connection, not
with this module: a server that never logs in to a rescue system starts without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from .errors import (
    CommandOutcomeUnknownError,
    ConnectionLostError,
    HostKeyChangedError,
    LoginRefusedError,
    MissingToolError,
    RemoteTimeoutError,
    UnreachableError,
)
from .limits import Limits
from .trust import HostKeyTrust, RescueSession, TrustDecision

if TYPE_CHECKING:
    import asyncssh

__all__ = ["CommandResult", "LineHandler", "RescueConnection", "SSHTarget", "connect"]

log = logging.getLogger("zomro_rescue_mcp.rescue_system")

LineHandler = Callable[[str], Awaitable[None]]
_CHUNK = 64 * 1024
_TIMED_OUT = (124, 137)  # GNU and busybox `timeout`: stopped by TERM, or by KILL after -k
_MISSING = b"zomro-rescue: missing tool: "
# The login shell runs this; the script itself arrives on standard input. A rescue system without `timeout` is
# refused by name rather than running a command without its remote limit.
_REMOTE = (
    "command -v timeout >/dev/null 2>&1 || {{ echo 'zomro-rescue: missing tool: timeout' >&2; exit 127; }}; "
    "exec timeout -k {kill} {secs} sh -s"
)


@dataclass(frozen=True)
class SSHTarget:
    """Where the rescue system answers and how to log in; `session` keys the host-key trust."""

    host: str
    port: int
    password: str = field(repr=False)
    session: RescueSession
    username: str = "root"


@dataclass(frozen=True)
class CommandResult:
    """What a remote command returned, bounded."""

    exit_status: int | None  # None when it ended by a signal
    stdout: bytes
    stderr: bytes
    truncated: bool  # standard output or error went past its cap; the rest was dropped
    timed_out: bool  # the remote `timeout` stopped it

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def error_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


class _Pinning:
    """Decides on the server's host key with the rescue session's pin; remembers the decision for the error."""

    def __init__(self, trust: HostKeyTrust, session: RescueSession) -> None:
        self._trust = trust
        self._session = session
        self.decision: TrustDecision | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        offered = key.get_fingerprint("sha256")  # stdout ok: a fingerprint, not a print
        self.decision = self._trust.check(self._session, offered)
        return self.decision.trusted


@functools.cache
def _pinning_client() -> type[Any]:
    """_Pinning as an asyncssh.SSHClient, made at the first connection (asyncssh is imported then)."""
    import asyncssh

    return type("_PinningClient", (_Pinning, asyncssh.SSHClient), {})


def _no_stored_keys(host: str, addr: str, port: int | None) -> tuple[list[str], list[str], list[str]]:
    # No stored host keys (the operator's ~/.ssh/known_hosts included): every key goes to _Pinning.
    return [], [], []


def _options(target: SSHTarget, limits: Limits) -> dict[str, object]:
    return {
        "username": target.username,
        "password": target.password,
        "known_hosts": _no_stored_keys,
        "config": None,  # no ~/.ssh/config
        "client_keys": None,  # no key of the operator's
        "agent_path": None,  # no agent
        "agent_forwarding": False,
        "x509_trusted_certs": None,
        "x509_trusted_cert_paths": None,
        "pkcs11_provider": None,
        "public_key_auth": False,
        "host_based_auth": False,
        "gss_auth": False,
        "gss_kex": False,
        "password_auth": True,
        "kbdint_auth": True,  # some SSH servers ask for the password by keyboard-interactive
        "connect_timeout": limits.connect_timeout_s,
        "login_timeout": limits.connect_timeout_s,
        "keepalive_interval": 15,
        "keepalive_count_max": 4,
    }


async def _open(
    target: SSHTarget, trust: HostKeyTrust, limits: Limits
) -> tuple[asyncssh.SSHClientConnection, TrustDecision]:
    """Connect and log in; return the connection and the trust decision on its host key."""
    import asyncssh

    client = cast(_Pinning, _pinning_client()(trust, target.session))
    where = f"{target.host} port {target.port}"
    try:
        conn = await asyncssh.connect(
            target.host, target.port, client_factory=lambda: client, **_options(target, limits)
        )
    except asyncssh.HostKeyNotVerifiable as exc:
        decision = client.decision
        if decision is None:  # a certificate or an unknown key type: not a key we could pin
            raise UnreachableError(
                f"The SSH server at {where} offered a host key that cannot be checked; nothing was sent: check the "
                "address and port of the rescue system.",
                host=target.host,
                port=target.port,
                reason="not_ssh",
            ) from exc
        raise HostKeyChangedError(
            f"The rescue system at {where} now offers another host key ({decision.offered}) than the one trusted "
            f"earlier in this rescue session ({decision.pinned}): this may be an attack, or the rescue system was "
            "rebooted. Nothing was sent; check the instance's console, and enter rescue mode again to trust a new key.",
            host=target.host,
            port=target.port,
            trusted=decision.pinned,
            offered=decision.offered,
        ) from exc
    except asyncssh.PermissionDenied as exc:
        raise LoginRefusedError(
            f"The rescue system at {where} refused the login as {target.username} with the password given; check the "
            "rescue password (the one set when entering rescue mode, or shown in the panel) and try again.",
            host=target.host,
            port=target.port,
        ) from exc
    except ConnectionRefusedError as exc:
        raise _unreachable(target, "refused") from exc
    except TimeoutError as exc:
        raise _unreachable(target, "timeout", limits.connect_timeout_s) from exc
    except socket.gaierror as exc:
        raise _unreachable(target, "unresolved") from exc
    except asyncssh.Error as exc:
        raise _unreachable(target, "not_ssh") from exc
    except OSError as exc:
        raise _unreachable(target, "network") from exc
    assert client.decision is not None  # validate_host_public_key ran, or no connection would exist
    return conn, client.decision


def _unreachable(target: SSHTarget, reason: str, seconds: float = 0) -> UnreachableError:
    where = f"{target.host} port {target.port}"
    text = {
        "refused": f"The rescue system at {where} refused the connection: it may still be starting (wait a minute "
        "and try again), or its image has no SSH server (a Windows rescue image offers only the console).",
        "timeout": f"Nothing answered at {where} within {seconds:g} s: the rescue system may still be starting; "
        "wait a minute and try again, or open the instance's console.",
        "unresolved": f"The address {target.host} of the rescue system cannot be resolved; check the instance's "
        "address.",
        "not_ssh": f"What answered at {where} did not complete an SSH handshake; check the address and port of the "
        "rescue system, or wait a minute if it is still starting.",
        "network": f"The network refused the connection to {where}; check the instance's address and try again.",
    }[reason]
    return UnreachableError(text, host=target.host, port=target.port, reason=reason)


class RescueConnection:
    """An open, logged-in SSH connection to the rescue system (use `connect`)."""

    def __init__(
        self,
        conn: asyncssh.SSHClientConnection,
        target: SSHTarget,
        trust: HostKeyTrust,
        limits: Limits,
        first: TrustDecision,
    ) -> None:
        self._conn: asyncssh.SSHClientConnection | None = conn
        self._target = target
        self._trust = trust
        self.limits = limits
        self.fingerprint = first.offered  # "SHA256:…" of the host key this connection trusted
        self.first_use = first.first_use  # whether this connection pinned the key (the first in its rescue session)
        self.round_trips = 0  # remote commands started (a re-run counts)

    @property
    def target(self) -> SSHTarget:
        return self._target

    async def run(
        self,
        script: str,
        *,
        read_only: bool,
        timeout_s: float | None = None,
        max_output: int | None = None,
        on_line: LineHandler | None = None,
    ) -> CommandResult:
        """Run `script` (POSIX sh) on the rescue system within `timeout_s` (remote and client side), its output capped.

        `read_only` must say truthfully whether the script changes nothing: only then is it run a second time after
        the connection broke before its answer. `on_line` receives each line of standard output as it arrives.
        """
        try:
            return await self._run_once(script, timeout_s, max_output, on_line, read_only)
        except _Lost as lost:
            if not read_only:
                raise CommandOutcomeUnknownError(
                    "The connection to the rescue system broke before the command answered: it may have run, and it "
                    "is not run again; check the state (diagnose again) before deciding what to do.",
                    host=self._target.host,
                    port=self._target.port,
                ) from lost.__cause__
            log.info("rescue system: connection lost during a read-only command; running it once more")
        await self._reconnect()
        try:
            return await self._run_once(script, timeout_s, max_output, on_line, read_only)
        except _Lost as lost:
            raise ConnectionLostError(
                "The connection to the rescue system broke twice before a read-only command answered; nothing was "
                "changed: check the network and try again.",
                host=self._target.host,
                port=self._target.port,
            ) from lost.__cause__

    async def _run_once(
        self, script: str, timeout_s: float | None, max_output: int | None, on_line: LineHandler | None, ro: bool
    ) -> CommandResult:
        if self._conn is None:
            raise RuntimeError("the connection is closed")
        limit = timeout_s if timeout_s is not None else self.limits.command_timeout_s
        secs = max(1, math.ceil(limit))
        command = _REMOTE.format(kill=self.limits.kill_after_s, secs=secs)
        self.round_trips += 1
        waited = secs + self.limits.kill_after_s + self.limits.grace_s
        import asyncssh  # loaded already: this connection was opened with it

        try:
            async with asyncio.timeout(waited):
                proc = await self._conn.create_process(command, encoding=None)
                try:
                    try:
                        proc.stdin.write(_wrap(script).encode())
                        proc.stdin.write_eof()
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # it stopped reading early (e.g. no `timeout`): its output and status still say why
                    (out, out_cut), (err, err_cut) = await asyncio.gather(
                        _drain(proc.stdout, max_output or self.limits.max_output_bytes, on_line),
                        _drain(proc.stderr, self.limits.max_stderr_bytes, None),
                    )
                    done = await proc.wait(check=False)
                finally:
                    proc.close()
        except TimeoutError as exc:
            await self.close()
            if ro:
                raise RemoteTimeoutError(
                    f"The rescue system did not answer within {waited:g} s; the command was "
                    "read-only and changed nothing: try again, and check the instance's console if it happens again.",
                    host=self._target.host,
                    port=self._target.port,
                ) from exc
            raise CommandOutcomeUnknownError(
                "The rescue system did not answer in time: the command may have run, and it is not run again; check "
                "the state (diagnose again) before deciding what to do.",
                host=self._target.host,
                port=self._target.port,
            ) from exc
        except (asyncssh.Error, OSError) as exc:
            await self.close()
            raise _Lost from exc
        status = done.exit_status
        if status is None or (status == -1 and not done.exit_signal):
            await self.close()
            raise _Lost from None
        if status == 127 and err.startswith(_MISSING):
            tool = err[len(_MISSING) :].split(b"\n", 1)[0].decode("ascii", "replace").strip()
            raise MissingToolError(
                f"The rescue system lacks `{tool}`, which every command here needs; use a rescue image that has it "
                "(coreutils or busybox).",
                tool=tool,
            )
        return CommandResult(
            exit_status=None if status == -1 else status,
            stdout=out,
            stderr=err,
            truncated=out_cut or err_cut,
            timed_out=status in _TIMED_OUT,
        )

    async def _reconnect(self) -> None:
        await self.close()
        self._conn, _ = await _open(self._target, self._trust, self.limits)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 5)

    async def __aenter__(self) -> RescueConnection:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class _Lost(Exception):
    """The connection broke before the command's answer (internal: run() decides what it means)."""


def _wrap(script: str) -> str:
    # The shell reads the script from standard input: the whole script is one function, parsed before it runs, and
    # runs with its standard input on /dev/null, so that no command in it can swallow the rest of the script.
    return "zomro_main() {\n:\n" + script + "\n}\nzomro_main </dev/null\n"


async def _drain(stream: asyncssh.SSHReader[bytes], cap: int, on_line: LineHandler | None) -> tuple[bytes, bool]:
    """Read `stream` to its end, keeping at most `cap` bytes; pass each complete kept line to `on_line`."""
    kept = bytearray()
    truncated = False
    pending = b""
    while chunk := await stream.read(_CHUNK):
        room = cap - len(kept)
        if room <= 0:
            truncated = True
            continue
        piece = chunk[:room]
        truncated = truncated or len(chunk) > room
        kept += piece
        if on_line is not None:
            *lines, pending = (pending + piece).split(b"\n")
            for line in lines:
                await on_line(line.decode("utf-8", "replace"))
    return bytes(kept), truncated


async def connect(target: SSHTarget, trust: HostKeyTrust, limits: Limits | None = None) -> RescueConnection:
    """Open and log in to the rescue system, checking its host key against the rescue session's trust.

    Use it as `async with await connect(...) as conn:`. `conn.fingerprint` is the key's SHA256 fingerprint and
    `conn.first_use` whether this connection pinned it.
    """
    limits = limits or Limits()
    conn, decision = await _open(target, trust, limits)
    return RescueConnection(conn, target, trust, limits, decision)
