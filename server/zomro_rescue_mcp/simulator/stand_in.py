"""A STAND-IN for a rescue system, not a rescue system: an SSH server that answers the diagnosis with a recording.

The simulator's default rescue system (`serve --simulator`, `make demo`, the fast tests), so that diagnose_instance
runs through the product's real SSH and diagnosis code (rescue_system: asyncssh, the host-key trust, the bounded
command, the report's parser) without QEMU. What it does, and all it does:
- it listens on its instance's own loopback address (127.0.0.N) at the port the server uses, with a new host key
  each time it starts (as a rescue system booted anew), and lets in only root with the password the rescue request
  carried (password or keyboard-interactive; no key, no agent, no forwarding, no shell, no SFTP);
- to the diagnosis script, sent the way the product sends every command (`timeout … sh -s` with the script on
  standard input), it answers with a report recorded once from the real rescue VM (recordings/, made by
  `python -m tests.rescue_system.record_stand_in`): the disk of a healthy Debian with a stale fstab line, so the
  diagnosis finds `fstab.unknown_device`. It runs nothing: the report is the same whatever disk the instance has;
- anything else it is sent is refused (exit status 126, one line on standard error saying so).
`--rescue-system vm` (vm_rescue_system.py) is the real thing: a rescue VM with the instance's disk image.
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from .rescue_systems import DEFAULT_SSH_PORT, Where, on_free_loopback
from .state import SimInstance

if TYPE_CHECKING:
    import asyncssh

__all__ = ["RECORDED_CASE", "RECORDING", "StandInRescueSystem", "recorded_report"]

RECORDED_CASE = "fstab.unknown_device"  # the case of tests/rescue_system/cases.py whose disk the recording is of
RECORDING = Path(__file__).with_name("recordings") / "fstab-unknown-device.txt"
MAX_SCRIPT_BYTES = 1024 * 1024
# How the product runs every command (rescue_system/connection.py): the script arrives on standard input.
_COMMAND = re.compile(r"command -v timeout .*; exec timeout -k \d+ \d+ sh -s")
_REFUSAL = b"zomro stand-in rescue system: it answers only the diagnosis script (with a recording); nothing was run\n"


@functools.cache
def recorded_report() -> str:
    """The recorded report, without its header (the `#` lines at the top saying what it is)."""
    lines = RECORDING.read_text(encoding="utf-8").splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


@functools.cache
def _script_body() -> bytes:
    """diagnose.sh as the product sends it (its parameters, set above it, vary)."""
    return resources.files("zomro_rescue_mcp.rescue_system").joinpath("diagnose.sh").read_bytes()


class _Instance:
    """One instance's running stand-in: its listener and the connections it accepted."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.listener: asyncssh.SSHAcceptor | None = None
        self.connections: set[asyncssh.SSHServerConnection] = set()


class StandInRescueSystem:
    """The stand-in rescue system (see the module's docstring): `report` is what it answers the diagnosis with."""

    def __init__(self, port: int = DEFAULT_SSH_PORT, *, report: str | None = None) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"The stand-in rescue system's port must be from 1 to 65535, not {port}.")
        self.port = port
        self._report = report
        self._running: dict[int, tuple[str, _Instance]] = {}  # by id(instance): its host and its state

    @property
    def report(self) -> str:
        return self._report if self._report is not None else recorded_report()

    async def start(self, instance: SimInstance, password: str) -> Where:
        import asyncssh  # only when a rescued instance needs it

        state = _Instance(password)
        key = asyncssh.generate_private_key("ssh-ed25519")  # a new host key each start, as a new rescue boot has

        async def listen(host: str) -> asyncssh.SSHAcceptor:
            return await asyncssh.listen(
                host,
                self.port,
                server_factory=functools.partial(_server_class(), state),
                server_host_keys=[key],
                process_factory=self._answer,
                encoding=None,
                sftp_factory=None,
                allow_scp=False,
                agent_forwarding=False,
                x11_forwarding=False,
            )

        taken = {host for host, _ in self._running.values()}
        host, state.listener = await on_free_loopback(self.port, taken, listen)
        self._running[id(instance)] = (host, state)
        return host, self.port

    async def stop(self, instance: SimInstance) -> None:
        _, state = self._running.pop(id(instance), ("", None))
        if state is None or state.listener is None:
            return
        state.listener.close()
        await state.listener.wait_closed()
        for conn in list(state.connections):
            conn.close()
            await conn.wait_closed()

    async def _answer(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        try:
            script = await _read_script(process) if _COMMAND.fullmatch(process.command or "") else None
            if script is None or _script_body() not in script:
                process.stderr.write(_REFUSAL)
                process.exit(126)
                return
            process.stdout.write(self.report.encode("utf-8"))
            process.exit(0)
        except OSError:  # the client went away
            process.close()


async def _read_script(process: asyncssh.SSHServerProcess[bytes]) -> bytes | None:
    """The standard input up to its end, or None past MAX_SCRIPT_BYTES."""
    data = bytearray()
    while chunk := await process.stdin.read(65536):
        data += chunk
        if len(data) > MAX_SCRIPT_BYTES:
            return None
    return bytes(data)


@functools.cache
def _server_class() -> Callable[[_Instance], asyncssh.SSHServer]:
    """The SSH server's policy: root with the rescue password, and nothing else (built on first use: asyncssh loads
    only when an instance is rescued)."""
    import asyncssh

    class Server(asyncssh.SSHServer):
        def __init__(self, state: _Instance) -> None:
            self._state = state
            self._conn: asyncssh.SSHServerConnection | None = None

        def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
            self._conn = conn
            self._state.connections.add(conn)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._conn is not None:
                self._state.connections.discard(self._conn)

        def begin_auth(self, username: str) -> bool:
            return True  # every login needs the password

        def password_auth_supported(self) -> bool:
            return True  # keyboard-interactive asks for the same password

        def validate_password(self, username: str, password: str) -> bool:
            given, held = password.encode(), self._state.password.encode()
            return username == "root" and hmac.compare_digest(given, held)

        def public_key_auth_supported(self) -> bool:
            return False

        def host_based_auth_supported(self) -> bool:
            return False

    return Server
