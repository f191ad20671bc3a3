"""The SSH session on the real rescue VM: host-key trust, a reboot's new key, a wrong password, a stopped rescue
system, a missing tool; and the disk finder without a disk named (two XFS copies of one image, both mounted).

One VM boot for the module's shared tests (`vm`); the missing tool and the stopped rescue system boot their own.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from zomro_rescue_mcp.rescue_system import (
    HostKeyChangedError,
    HostKeyTrust,
    LoginRefusedError,
    MissingToolError,
    RescueSession,
    SSHTarget,
    UnreachableError,
    connect,
    diagnose,
)
from zomro_rescue_mcp.simulator.rescue_vm import RescueVM

from .cases import OTHER_CASES, build_case
from .disks import blank_image, require_vm

pytestmark = pytest.mark.anyio
BootVM = Callable[..., AbstractAsyncContextManager[RescueVM]]  # the conftest's boot_vm


def target(vm: RescueVM, session: RescueSession, password: str | None = None) -> SSHTarget:
    return SSHTarget(vm.host, vm.port, password=vm.password if password is None else password, session=session)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def vm(debian_root: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RescueVM]:
    """A rescue VM with two copies of one XFS root (vdb, vdc): the same filesystem UUID on both."""
    require_vm()
    folder = tmp_path_factory.mktemp("session")
    (xfs,) = [case for case in OTHER_CASES if case.name == "xfs"]
    first = build_case(xfs, debian_root, folder)
    copy = shutil.copyfile(first, folder / "xfs-copy.img")
    async with RescueVM([first, copy], password="Rescue-session-7") as running:
        yield running


async def test_the_first_host_key_of_a_rescue_session_is_trusted_and_shown(vm: RescueVM) -> None:
    trust, session = HostKeyTrust(), RescueSession.begin("default", 7)
    async with await connect(target(vm, session), trust) as first:
        assert (first.fingerprint, first.first_use) == (vm.fingerprint, True)
    async with await connect(target(vm, session), trust) as again:
        assert (again.fingerprint, again.first_use) == (vm.fingerprint, False)


async def test_a_rebooted_rescue_system_is_refused_as_a_changed_key_until_a_new_rescue_session(vm: RescueVM) -> None:
    trust, session = HostKeyTrust(), RescueSession.begin("default", 7)
    async with await connect(target(vm, session), trust):
        pass
    before = vm.fingerprint
    await vm.reboot()
    assert vm.fingerprint != before
    with pytest.raises(HostKeyChangedError) as refused:
        await connect(target(vm, session), trust)
    assert (refused.value.trusted, refused.value.offered) == (before, vm.fingerprint)
    assert "attack" in str(refused.value)
    async with await connect(target(vm, RescueSession.begin("default", 7)), trust) as renewed:
        assert (renewed.fingerprint, renewed.first_use) == (vm.fingerprint, True)


async def test_a_wrong_password_is_refused_as_a_login(vm: RescueVM) -> None:
    with pytest.raises(LoginRefusedError) as refused:
        await connect(target(vm, RescueSession.begin("default", 7), "Not-the-rescue-pass-1"), HostKeyTrust())
    assert refused.value.kind == "rescue.login_refused"
    assert "Not-the-rescue-pass-1" not in str(refused.value)


async def test_two_copies_of_one_xfs_image_are_both_mounted_and_the_first_examined(vm: RescueVM) -> None:
    diagnosis = await diagnose(target(vm, RescueSession.begin("default", 7)), HostKeyTrust())
    roots = [disk.device for disk in diagnosis.disks if disk.linux_root]
    assert roots == ["/dev/vdb1", "/dev/vdc1"]  # the second needs nouuid: XFS refuses a UUID it already has mounted
    assert diagnosis.root is not None
    assert (diagnosis.root.device, diagnosis.root.fstype) == ("/dev/vdb1", "xfs")
    assert any("Several Linux roots" in note for note in diagnosis.notes)


async def test_a_rescue_system_without_lsblk_is_refused_naming_it(boot_vm: BootVM, tmp_path: Path) -> None:
    async with boot_vm(blank_image(tmp_path / "blank.img", 16), hide_tools=("lsblk",)) as bare:
        with pytest.raises(MissingToolError) as refused:
            await diagnose(target(bare, RescueSession.begin("default", 7)), HostKeyTrust())
    assert (refused.value.kind, refused.value.tool) == ("rescue.missing_tool", "lsblk")
    assert "lsblk" in str(refused.value)


async def test_a_stopped_rescue_system_is_unreachable(boot_vm: BootVM, tmp_path: Path) -> None:
    async with boot_vm(blank_image(tmp_path / "blank.img", 16)) as stopped:
        pass
    with pytest.raises(UnreachableError) as refused:
        await connect(target(stopped, RescueSession.begin("default", 7)), HostKeyTrust())
    assert refused.value.kind == "rescue.unreachable"
