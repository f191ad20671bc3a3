"""A STAND-IN for a rescue system, not a rescue system: an SSH server that answers from a model of the instance's disk.

The simulator's default rescue system (`serve --simulator`, `make demo`, the fast tests), so that diagnose_instance
and the repairs run through the product's real SSH, diagnosis and repair code (rescue_system: asyncssh, the host-key
trust, the bounded command, the report's parser, plan_repair and apply_repair) without QEMU. What it does, and all it
does:
- it listens on its instance's own loopback address (127.0.0.N) at the port the server uses, with a new host key
  each time it starts (as a rescue system booted anew), and lets in only root with the password the rescue request
  carried (password or keyboard-interactive; no key, no agent, no forwarding, no shell, no SFTP);
- each instance has a disk model (disk_model.py), made at its first rescue and kept while the simulator runs (a
  repaired disk stays repaired when it is rescued again). It starts as a report recorded once from the real rescue
  VM shows a disk (recordings/, made by `python -m tests.rescue_system.record_stand_in`): a healthy Debian with a
  stale fstab line, so the diagnosis finds `fstab.unknown_device`;
- to the diagnosis script, sent the way the product sends every command (`timeout … sh -s` with the script on
  standard input), it answers with the recording, its fstab section rendered from the model's /etc/fstab;
- to a repair script (repair.sh, its `ZR_…=value` header above it) it answers as repair.sh would for the model: the
  `plan` mode reads, the `apply` mode backs up and writes the model's file; another mode is answered with `@@failed`
  saying the simulator does not emulate it. It runs nothing; a test may have it cut the connection of a write
  after making it (`lose_answers`), or hold the write until it lets it go (`hold_writes`);
- anything else it is sent is refused (exit status 126, one line on standard error saying so).
With `disk_decides_boot`, an instance boots after its unrescue only when its model's diagnosis finds nothing critical
(rescue_systems.py asks `boots`); without it, every instance boots (unless `SimInstance.boots` is False).
`--rescue-system vm` (vm_rescue_system.py) is the real thing: a rescue VM with the instance's disk image.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import re
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from .disk_model import DiskModel
from .rescue_systems import DEFAULT_SSH_PORT, Where, on_free_loopback
from .state import SimInstance

if TYPE_CHECKING:
    import asyncssh

__all__ = ["RECORDED_CASE", "RECORDING", "StandInRescueSystem", "recorded_report", "script_header"]

RECORDED_CASE = "fstab.unknown_device"  # the case of tests/rescue_system/cases.py whose disk the recording is of
RECORDING = Path(__file__).with_name("recordings") / "fstab-unknown-device.txt"
MAX_SCRIPT_BYTES = 1024 * 1024
# How the product runs every command (rescue_system/connection.py): the script arrives on standard input.
_COMMAND = re.compile(r"command -v timeout .*; exec timeout -k \d+ \d+ sh -s")
_REFUSAL = (
    b"zomro stand-in rescue system: it answers only the diagnosis script and repair.sh (from a model of the disk); "
    b"nothing was run\n"
)
_WRAPPER = b"zomro_main() {\n:\n"  # connection.py's: the script is one function, read whole before it runs
_HEADER_LINE = re.compile(r"(ZR_[A-Z0-9_]+)=(.*)")


@functools.cache
def recorded_report() -> str:
    """The recorded report, without its header (the `#` lines at the top saying what it is)."""
    lines = RECORDING.read_text(encoding="utf-8").splitlines(keepends=True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)


@functools.cache
def _script_body(name: str = "diagnose.sh") -> bytes:
    """One of the product's scripts as it sends it (its parameters, set above it, vary)."""
    return resources.files("zomro_rescue_mcp.rescue_system").joinpath(name).read_bytes()


def script_header(script: bytes) -> dict[str, str] | None:
    """The `ZR_NAME=value` lines above repair.sh (ZR_PERMS's quotes taken off), or None when it is not a repair.

    `script` is as the product sends it: inside connection.py's wrapping function."""
    start = script.find(_script_body("repair.sh"))
    if start < 0:
        return None
    above = script[:start].removeprefix(_WRAPPER)
    header: dict[str, str] = {}
    for line in above.decode("utf-8", "replace").splitlines():
        matched = _HEADER_LINE.fullmatch(line)
        if matched is None:
            return None
        value = matched.group(2)
        header[matched.group(1)] = value[1:-1] if len(value) > 1 and value[0] == value[-1] == "'" else value
    return header


class _Instance:
    """One instance's running stand-in: its listener and the connections it accepted."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.listener: asyncssh.SSHAcceptor | None = None
        self.connections: set[asyncssh.SSHServerConnection] = set()


class StandInRescueSystem:
    """The stand-in rescue system (see the module's docstring).

    `report`: the diagnosis report each instance's disk model starts from (the recording when None);
    `disk_decides_boot`: whether an instance boots after its unrescue only when its disk model's diagnosis finds
    nothing critical (`boots`), rather than always.
    """

    def __init__(
        self, port: int = DEFAULT_SSH_PORT, *, report: str | None = None, disk_decides_boot: bool = False
    ) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"The stand-in rescue system's port must be from 1 to 65535, not {port}.")
        self.port = port
        self.disk_decides_boot = disk_decides_boot
        self._report = report
        # For tests of what a change does when its answer is lost or slow (each a repair that writes, apply mode):
        self.lose_answers = 0  # the next N are made, then their connection is cut before the answer
        self.hold_writes: threading.Event | None = None  # set: each waits (at most 30 s) until it is set, then writes
        self._running: dict[int, tuple[str, _Instance]] = {}  # by id(instance): its host and its state
        # By id(instance), with the instance (so that its id is not reused while the model is kept).
        self._disks: dict[int, tuple[SimInstance, DiskModel]] = {}

    @property
    def report(self) -> str:
        """The report the disk models start from."""
        return self._report if self._report is not None else recorded_report()

    def disk(self, instance: SimInstance) -> DiskModel:
        """The instance's disk model (made as the report shows the disk, on first use), which the repairs change."""
        held = self._disks.get(id(instance))
        if held is None:
            held = self._disks[id(instance)] = (instance, DiskModel(self.report))
        return held[1]

    def boots(self, instance: SimInstance) -> bool:
        """Whether the instance boots once out of rescue mode: with `disk_decides_boot`, when the product's
        diagnosis of its disk model finds nothing critical; else always."""
        return not self.disk_decides_boot or self.disk(instance).boots

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
                process_factory=functools.partial(self._answer, self.disk(instance)),
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

    async def _answer(self, disk: DiskModel, process: asyncssh.SSHServerProcess[bytes]) -> None:
        try:
            script = await _read_script(process) if _COMMAND.fullmatch(process.command or "") else None
            header = script_header(script) if script is not None else None
            if script is not None and _script_body() in script:
                process.stdout.write(disk.diagnosis().encode("utf-8", "surrogateescape"))
                process.exit(0)
            elif header is not None:
                writes = header.get("ZR_MODE") == "apply"
                if writes and self.hold_writes is not None:
                    await asyncio.get_running_loop().run_in_executor(None, self.hold_writes.wait, 30.0)
                answer = disk.repair(header)
                if writes and self.lose_answers > 0:
                    self.lose_answers -= 1
                    process.get_extra_info("connection").abort()
                    return
                process.stdout.write(answer.stdout.encode("utf-8", "surrogateescape"))
                process.stderr.write(answer.stderr.encode("utf-8"))
                process.exit(answer.exit_status)
            else:
                process.stderr.write(_REFUSAL)
                process.exit(126)
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
