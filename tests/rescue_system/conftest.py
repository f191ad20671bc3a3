"""Fixtures of the rescue-system tests: a real rescue VM (QEMU) and the Debian root its disks are built from.

- `boot_vm`: `async with boot_vm(disk, hide_tools=()) as vm:` boots the rescue VM with `disk` as vdb (more disks
  follow as vdc, ...); `vm.host`, `vm.port`, `vm.password`, `vm.fingerprint`, `await vm.reboot()`. SSH into it
  with the product's code, or with `disks.pinned_ssh(vm)`.
- `debian_root`: one unpacked Debian root for the session, to be read only (`disks.debian_root_tree(tmp_path)` for
  one to change).

Every test that uses `boot_vm` or `debian_root` is marked `vm` here: `make test` leaves them out, `make test-vm`
runs them. Where QEMU or the built VM is missing they are skipped with the reason; under CI=true that is a failure
instead, since CI installs and builds them (`make rescue-vm`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from zomro_rescue_mcp.simulator.rescue_vm import RescueVM, vm_cache

from .disks import debian_root_tree, require_vm

HERE = Path(__file__).parent
# The cache as the person running the tests has it, named before tests/conftest.py gives each test a HOME of its own.
os.environ.setdefault("ZOMRO_RESCUE_VM_CACHE", str(vm_cache()))
VM_FIXTURES = {"boot_vm", "debian_root"}  # a test that asks for one of these is marked vm

BootVM = Callable[..., AbstractAsyncContextManager[RescueVM]]


@pytest.hookimpl(tryfirst=True)  # before -m selects on markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if VM_FIXTURES & set(getattr(item, "fixturenames", ())) and HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.vm)


@pytest.fixture
def boot_vm() -> BootVM:
    """A factory of booted rescue VMs: `async with boot_vm(disk, hide_tools=("lsblk",)) as vm:`."""
    require_vm()

    @asynccontextmanager
    async def boot(
        *disks: Path, hide_tools: Sequence[str] = (), password: str | None = None, port: int = 0
    ) -> AsyncIterator[RescueVM]:
        chosen = password if password is not None else f"Rescue-{secrets.token_urlsafe(9)}"
        async with RescueVM(list(disks), password=chosen, port=port, hide_tools=hide_tools) as vm:
            yield vm

    return boot


@pytest.fixture(scope="session")
def debian_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Debian root (minbase bookworm, openssh-server, passwd), unpacked once: read it, do not change it."""
    tarball = vm_cache() / "debian-root.tar"
    require_vm(None if tarball.is_file() else f"{tarball} is missing: run `make rescue-vm` to build it.")
    return debian_root_tree(tmp_path_factory.mktemp("debian-root"))
