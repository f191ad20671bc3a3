"""The rescue VM: a real rescue system under QEMU, for the tests and for `zomro-rescue-mcp rescue-vm`.

`tools/rescue-vm/build.sh` (`make rescue-vm`) builds it from Debian's packages into `vm_cache()`: the Debian cloud
kernel, a busybox initramfs, and a small Debian rescue root with OpenSSH's sshd. `RescueVM` boots it with the given
disk images after the rescue root, as a rescued Nova instance is seen: the rescue system on vda, the instance's own
disk on vdb (then vdc, ...). SSH is forwarded to a loopback address and port only.

What reaches the guest never appears on a command line: the root password and this boot's SSH host key (generated
here, per boot) are handed over through QEMU's fw_cfg from 0600 files in a private temporary folder, and the guest
reads them from /sys/firmware/qemu_fw_cfg. `hide_tools` names programs the guest removes at boot, to play a rescue
system that lacks a tool. The guest's changes to its own root are thrown away (`snapshot=on`); the disks given are
written through, as an instance's disk is.

KVM is used when it boots the VM (on some hosts /dev/kvm opens but the guest never starts: it is tried for a short
while, then TCG, and the verdict is remembered in the cache); else TCG, pure emulation, a few seconds slower.
Nothing here prints: logs go to the `logging` module (stdout is JSON-RPC in stdio mode). Where the VM is built and
whether it can run here: vm_cache.py.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import anyio
import anyio.abc
import asyncssh

from .vm_cache import (
    CACHE_VERSION,
    RESCUE_ROOT_UUID,
    RescueVMError,
    RescueVMUnavailable,
    check_available,
    kvm_usable,
    remember_accel,
    remembered_accel,
    vm_cache,
)

__all__ = [
    "CACHE_VERSION",
    "RESCUE_ROOT_UUID",
    "RescueVM",
    "RescueVMError",
    "RescueVMUnavailable",
    "check_available",
    "vm_cache",
]

logger = logging.getLogger(__name__)

KVM_PROBE_SECONDS = 15.0  # a working KVM has the guest up in about a second; a broken one hangs
BOOT_SECONDS = 120.0  # TCG on 2 busy cores; an idle machine boots in 5 to 10 s
STOP_SECONDS = 10.0
_READY = b"zomro-rescue: ready"
_TOOL_NAME = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9._+-]*")
_KERNEL_ARGS = "console=ttyS0 panic=-1 quiet"
_QBOOT = Path("/usr/share/qemu/qboot.rom")  # Debian's qemu-system-data
_CPU = {"kvm": "host,-arch-capabilities", "tcg": "max"}  # KVM here refuses to set IA32_ARCH_CAPABILITIES


def _private_file(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def _qemu_path(path: Path) -> str:
    return str(path).replace(",", ",,")  # QEMU's option syntax doubles a comma inside a value


def _firmware() -> list[str]:
    """qboot, a minimal firmware for -kernel boots, where QEMU has it: half a second less than SeaBIOS under TCG."""
    return ["-bios", _qemu_path(_QBOOT)] if _QBOOT.is_file() else []


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(line.rstrip() for line in text.splitlines()[-lines:] if line.strip())


class _BootFailed(Exception):
    def __init__(self, reason: str, *, port_taken: bool = False) -> None:
        super().__init__(reason)
        self.port_taken = port_taken


class RescueVM:
    """A rescue system under QEMU: `async with RescueVM([disk], password=...) as vm:` then SSH to vm.host:vm.port.

    The disks follow the rescue root (vda) as vdb, vdc, ... `reboot()` restarts it on the same disks and port with
    a new host key, as a rescue system rebooted. Leaving the block stops QEMU and removes its temporary files.
    """

    host: str
    port: int
    fingerprint: str  # "SHA256:..." of this boot's host key
    accel: str  # "kvm" or "tcg", once booted
    boot_seconds: float  # how long the last boot took, up to SSH answering with the expected key

    def __init__(
        self,
        disks: Sequence[Path],
        *,
        password: str,
        host: str = "127.0.0.1",
        port: int = 0,
        accel: str = "auto",
        memory_mb: int = 512,
        hide_tools: Sequence[str] = (),
    ) -> None:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if not isinstance(address, ipaddress.IPv4Address) or not address.is_loopback:
            raise ValueError(
                f"The rescue VM listens only on a loopback address (127.0.0.1 to 127.255.255.254), not on {host!r}: "
                "give one of those."
            )
        if not 0 <= port <= 65535:
            raise ValueError(f"The port {port} is not a TCP port: give 1 to 65535, or 0 for a free one.")
        if accel not in ("auto", "kvm", "tcg"):
            raise ValueError(f"The accelerator {accel!r} is not one of auto, kvm, tcg: give one of those.")
        if not password or any(char in password for char in "\n\r\0"):
            raise ValueError("The rescue VM's root password must be one line of text, not empty: give another.")
        for tool in hide_tools:
            if not _TOOL_NAME.fullmatch(tool):
                raise ValueError(f"{tool!r} is not a program's name (no slash, no leading dot): give a name.")
        self.disks = [Path(disk) for disk in disks]
        for disk in self.disks:
            if not disk.is_file():
                raise ValueError(f"The disk image {disk} does not exist: build it first.")
        self.host = host
        self.port = port
        self.password = password
        self.memory_mb = memory_mb
        self.hide_tools = tuple(hide_tools)
        self._accel = accel
        self.accel = ""
        self.fingerprint = ""
        self.boot_seconds = 0.0
        self._process: anyio.abc.Process | None = None
        self._folder: Path | None = None
        self._boots = 0

    def __repr__(self) -> str:  # never the password
        return f"RescueVM(host={self.host!r}, port={self.port}, disks={[str(d) for d in self.disks]!r})"

    @property
    def pid(self) -> int | None:
        """QEMU's process id while the VM runs."""
        return None if self._process is None else self._process.pid

    @property
    def console_log(self) -> Path | None:
        """The serial console of the current boot (kernel and init messages, sshd's log), while the VM runs."""
        return None if self._folder is None else self._folder / f"console-{self._boots}.log"

    async def __aenter__(self) -> RescueVM:
        qemu = check_available()
        self._folder = Path(tempfile.mkdtemp(prefix="zomro-rescue-vm-"))
        try:
            await self._boot(qemu)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._stop()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with anyio.CancelScope(shield=True):
            await self._stop()

    async def reboot(self) -> None:
        """Restart the rescue system: the same disks and port, a new host key; returns once SSH answers again."""
        if self._folder is None:
            raise RescueVMError("The rescue VM is not running: boot it with `async with` first.")
        qemu = check_available()
        with anyio.CancelScope(shield=True):
            await self._stop_qemu()
        try:
            await self._boot(qemu)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._stop()
            raise

    # --- booting ---------------------------------------------------------------------------------------------

    async def _boot(self, qemu: Path) -> None:
        fixed_port = self.port != 0
        if self._accel != "auto":
            choices = [self._accel]
        else:
            verdict = remembered_accel(qemu)
            choices = [verdict] if verdict else (["kvm", "tcg"] if kvm_usable() else ["tcg"])
        for accel in choices:
            probing = self._accel == "auto" and len(choices) > 1 and accel == "kvm"
            for _attempt in range(1 if fixed_port else 3):
                if not fixed_port:
                    self.port = _free_port(self.host)
                try:
                    await self._boot_once(qemu, accel, KVM_PROBE_SECONDS if probing else BOOT_SECONDS)
                except _BootFailed as failed:
                    await self._stop_qemu()
                    if failed.port_taken:
                        if not fixed_port:
                            continue  # another program took the free port first: pick another
                        raise RescueVMError(
                            f"The port {self.host}:{self.port} is taken by another program: stop it, or pick another."
                        ) from None
                    if probing:
                        logger.info("KVM did not boot the rescue VM (%s); using TCG", failed)
                        remember_accel(qemu, "tcg")
                        break
                    if not fixed_port:
                        self.port = 0
                    raise RescueVMError(str(failed)) from None
                if probing:
                    remember_accel(qemu, "kvm")
                return
            else:
                raise RescueVMError(f"No free port on {self.host} could be forwarded to the rescue VM: try again.")

    async def _boot_once(self, qemu: Path, accel: str, seconds: float) -> None:
        assert self._folder is not None
        self._boots += 1
        folder = self._folder
        boot = self._boots
        key = asyncssh.generate_private_key("ssh-ed25519")
        self.fingerprint = key.get_fingerprint("sha256")  # stdout ok: a fingerprint, not a print
        files = {"password": self.password.encode(), "hostkey": key.export_private_key("openssh")}
        if self.hide_tools:
            files["hide"] = "".join(f"{tool}\n" for tool in self.hide_tools).encode()
        fw_cfg: list[str] = []
        for name, data in files.items():
            path = folder / f"{name}-{boot}"
            _private_file(path, data)
            fw_cfg += ["-fw_cfg", f"name=opt/zomro/{name},file={_qemu_path(path)}"]
        console = folder / f"console-{boot}.log"
        errors = folder / f"qemu-{boot}.err"
        cache = vm_cache()
        command = [
            str(qemu),
            "-name", "zomro-rescue-vm",
            "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-accel", accel, "-cpu", _CPU[accel], "-smp", "1", "-m", str(self.memory_mb),
            "-kernel", _qemu_path(cache / "vmlinuz"),
            "-initrd", _qemu_path(cache / "initrd.img"),
            "-append", _KERNEL_ARGS,
            "-serial", f"file:{_qemu_path(console)}",
            "-drive", f"file={_qemu_path(cache / 'rescue-root.img')},if=virtio,format=raw,snapshot=on",
        ]  # fmt: skip
        command += _firmware()
        for disk in self.disks:
            command += ["-drive", f"file={_qemu_path(disk.resolve())},if=virtio,format=raw"]
        command += [
            "-netdev", f"user,id=net0,hostfwd=tcp:{self.host}:{self.port}-:22",
            "-device", "virtio-net-pci,netdev=net0",
            *fw_cfg,
        ]  # fmt: skip
        setpriv = shutil.which("setpriv")  # util-linux: QEMU gets SIGTERM if this process dies without stopping it
        if setpriv is not None:
            command = [setpriv, "--pdeathsig", "TERM", "--", *command]
        started = time.monotonic()
        with errors.open("wb") as stderr:
            self._process = await anyio.open_process(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )
        logger.info("rescue VM starting under %s on %s:%d (pid %d)", accel.upper(), self.host, self.port,
                    self._process.pid)  # fmt: skip
        try:
            with anyio.fail_after(seconds):
                await self._wait_for_console(console, errors, accel)
                await self._wait_for_ssh()
        except TimeoutError:
            raise _BootFailed(
                f"The rescue VM did not boot within {seconds:.0f} s under {accel.upper()}"
                + self._evidence(console, errors)
            ) from None
        self.accel = accel
        self.boot_seconds = time.monotonic() - started
        logger.info("rescue VM up in %.1f s under %s on %s:%d, host key %s", self.boot_seconds, accel.upper(),
                    self.host, self.port, self.fingerprint)  # fmt: skip

    def _evidence(self, console: Path, errors: Path) -> str:
        said = _tail(errors, 5)
        shown = _tail(console)
        text = "; run `make rescue-vm` again if its files are damaged."
        if said:
            text += f"\nQEMU said:\n{said}"
        if shown:
            text += f"\nIts console's last lines:\n{shown}"
        return text

    async def _wait_for_console(self, console: Path, errors: Path, accel: str) -> None:
        assert self._process is not None
        while True:
            if self._process.returncode is not None:
                said = _tail(errors, 5)
                raise _BootFailed(
                    f"QEMU stopped with status {self._process.returncode} while booting the rescue VM under "
                    f"{accel.upper()}" + self._evidence(console, errors),
                    port_taken="host forwarding rule" in said,
                )
            try:
                if _READY in await anyio.Path(console).read_bytes():
                    return
            except FileNotFoundError:
                pass
            await anyio.sleep(0.1)

    async def _wait_for_ssh(self) -> None:
        """Until the guest's sshd answers on the forwarded port with the host key it was given."""
        while True:
            try:
                with anyio.fail_after(20):
                    offered = await asyncssh.get_server_host_key(
                        self.host, self.port, server_host_key_algs=["ssh-ed25519"]
                    )
            except (OSError, asyncssh.Error, TimeoutError):
                offered = None  # sshd not listening yet: QEMU accepts and then drops the connection
            if offered is not None:
                got = offered.get_fingerprint("sha256")  # stdout ok: a fingerprint, not a print
                if got != self.fingerprint:
                    raise RescueVMError(
                        f"The rescue VM offered the host key {got}, not the one it was given ({self.fingerprint}): "
                        "another program may be listening on that port; stop it or pick another port."
                    )
                return
            await anyio.sleep(0.2)

    # --- stopping ----------------------------------------------------------------------------------------------

    async def _stop_qemu(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.returncode is None:
            process.terminate()  # QEMU stops cleanly on SIGTERM, flushing the disks
            with anyio.move_on_after(STOP_SECONDS):
                await process.wait()
            if process.returncode is None:
                logger.warning("QEMU (pid %d) did not stop within %.0f s; killing it", process.pid, STOP_SECONDS)
                process.kill()
        with anyio.move_on_after(STOP_SECONDS):
            await process.wait()
        await process.aclose()

    async def _stop(self) -> None:
        await self._stop_qemu()
        folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
