"""The rescue VM as a simulated instance's rescue system (`serve --simulator --rescue-system vm`, `demo` too).

For each rescued instance, a rescue VM (rescue_vm.py: QEMU, the Debian rescue root built by `make rescue-vm`) boots
with that instance's disk image as vdb (`--disk ID=PATH`; an instance without one has no disk beside the rescue
root), root's password the one the rescue request carried, SSH forwarded to the instance's own loopback address at
the port the server uses. The disk is written through, as an instance's disk is: what a repair changes stays.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path

from .rescue_systems import DEFAULT_SSH_PORT, Where, on_free_loopback
from .state import SimInstance

__all__ = ["VMRescueSystem"]


def _port_free(host: str, port: int) -> None:
    """Raise OSError(EADDRINUSE) when `port` is taken on `host` (QEMU would fail to forward it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as QEMU binds it: a closed connection is no bar
        probe.bind((host, port))


class VMRescueSystem:
    """A rescue VM for each rescued instance, with its disk image from `disks` (instance id -> image)."""

    def __init__(self, port: int = DEFAULT_SSH_PORT, *, disks: Mapping[int, Path] | None = None) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"The rescue VM's port must be from 1 to 65535, not {port}.")
        self.port = port
        self.disks = {instance: Path(path) for instance, path in (disks or {}).items()}
        self._running: dict[int, tuple[str, AsyncExitStack]] = {}  # by id(instance): its host and its VM
        self._reserved: set[str] = set()  # hosts of the VMs booting or running

    async def start(self, instance: SimInstance, password: str) -> Where:
        from .rescue_vm import RescueVM

        disks = [self.disks[instance.id]] if instance.id in self.disks else []
        stack = AsyncExitStack()

        async def boot(host: str) -> RescueVM:
            _port_free(host, self.port)
            self._reserved.add(host)  # before the boot awaits, so another instance's start picks another address
            try:
                return await stack.enter_async_context(RescueVM(disks, password=password, host=host, port=self.port))
            except BaseException:
                self._reserved.discard(host)
                raise

        host, _ = await on_free_loopback(self.port, set(self._reserved), boot)
        self._running[id(instance)] = (host, stack)
        return host, self.port

    async def stop(self, instance: SimInstance) -> None:
        host, stack = self._running.pop(id(instance), ("", None))
        if stack is None:
            return
        try:
            await stack.aclose()  # QEMU stopped (the disk flushed), its files removed
        finally:
            self._reserved.discard(host)
