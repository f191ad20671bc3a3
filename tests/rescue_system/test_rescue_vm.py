"""The rescue VM itself (simulator/rescue_vm.py): the disks it shows, its SSH, its reboot, its hidden tools, what
it leaves behind, and what it refuses. The tests that boot it are marked vm (conftest.py); the others run always.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import asyncssh
import pytest

from zomro_rescue_mcp.simulator.rescue_vm import RESCUE_ROOT_UUID, RescueVM, RescueVMUnavailable

from .conftest import BootVM
from .disks import blank_image, ext4_image, pinned_ssh, require_vm

pytestmark = pytest.mark.anyio


def _small_root(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "hostname").write_text("instance\n")
    return ext4_image(tree, tmp_path / "disk.img", 16, label="instance-root")


async def test_the_instance_disk_is_vdb_behind_the_rescue_root(boot_vm: BootVM, tmp_path: Path) -> None:
    async with boot_vm(_small_root(tmp_path)) as vm, pinned_ssh(vm) as ssh:
        done = await ssh.run("blkid -o value -s UUID /dev/vda1; blkid -o value -s LABEL /dev/vdb1", timeout=60)
    assert str(done.stdout).split() == [RESCUE_ROOT_UUID, "instance-root"]


async def test_root_logs_in_with_the_password_under_the_announced_host_key(boot_vm: BootVM, tmp_path: Path) -> None:
    async with boot_vm(blank_image(tmp_path / "blank.img", 8)) as vm:
        offered = await asyncssh.get_server_host_key(vm.host, vm.port)
        async with pinned_ssh(vm) as ssh:  # refuses any other key
            done = await ssh.run("id -u", timeout=60)
    assert offered is not None
    assert offered.get_fingerprint("sha256") == vm.fingerprint
    assert vm.fingerprint.startswith("SHA256:")
    assert str(done.stdout).strip() == "0"


async def test_a_wrong_password_is_refused(boot_vm: BootVM, tmp_path: Path) -> None:
    async with boot_vm(blank_image(tmp_path / "blank.img", 8)) as vm:
        with pytest.raises(asyncssh.PermissionDenied):
            async with pinned_ssh(vm, password=vm.password + "-wrong"):
                pass


async def test_a_reboot_gives_a_new_host_key_on_the_same_port(boot_vm: BootVM, tmp_path: Path) -> None:
    async with boot_vm(blank_image(tmp_path / "blank.img", 8)) as vm:
        before, port = vm.fingerprint, vm.port
        await vm.reboot()
        offered = await asyncssh.get_server_host_key(vm.host, vm.port)
        async with pinned_ssh(vm) as ssh:
            done = await ssh.run("echo up", timeout=60)
    assert vm.port == port
    assert vm.fingerprint != before
    assert offered is not None
    assert offered.get_fingerprint("sha256") == vm.fingerprint
    assert str(done.stdout).strip() == "up"


async def test_hide_tools_removes_the_program_from_the_rescue_system(boot_vm: BootVM, tmp_path: Path) -> None:
    async with boot_vm(blank_image(tmp_path / "blank.img", 8), hide_tools=["lsblk"]) as vm, pinned_ssh(vm) as ssh:
        hidden = await ssh.run("command -v lsblk", timeout=60)
        kept = await ssh.run("command -v blkid", timeout=60)
    assert hidden.exit_status == 1
    assert kept.exit_status == 0


async def test_neither_the_password_nor_the_host_key_is_on_a_command_line(boot_vm: BootVM, tmp_path: Path) -> None:
    async with boot_vm(blank_image(tmp_path / "blank.img", 8)) as vm:
        assert vm.pid is not None
        command_line = Path(f"/proc/{vm.pid}/cmdline").read_bytes()
        assert vm.console_log is not None
        handed = [path for path in vm.console_log.parent.iterdir() if path.name.startswith(("password", "hostkey"))]
        modes = {path.name: path.stat().st_mode & 0o777 for path in handed}
    assert vm.password.encode() not in command_line
    assert b"PRIVATE KEY" not in command_line
    assert b"opt/zomro/password" in command_line  # handed over by fw_cfg, from a file
    assert modes == {"password-1": 0o600, "hostkey-1": 0o600}


async def test_nothing_is_left_running_or_on_disk_after_the_block(boot_vm: BootVM, tmp_path: Path) -> None:
    async with boot_vm(blank_image(tmp_path / "blank.img", 8)) as vm:
        pid, folder, address = vm.pid, vm.console_log, (vm.host, vm.port)
    assert pid is not None
    assert folder is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not folder.parent.exists()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(address, timeout=5):
        pass


async def test_the_disk_image_is_left_byte_for_byte_when_nothing_writes(boot_vm: BootVM, tmp_path: Path) -> None:
    disk = _small_root(tmp_path)
    before = disk.read_bytes()
    async with boot_vm(disk) as vm, pinned_ssh(vm) as ssh:
        await ssh.run("blkid /dev/vdb1 >/dev/null", timeout=60)
    assert disk.read_bytes() == before


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "10.0.2.15", "::1", "localhost"])  # noqa: S104
def test_a_host_other_than_a_loopback_address_is_refused(host: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        RescueVM([], password="x", host=host)


def test_a_tool_name_with_a_slash_is_refused() -> None:
    with pytest.raises(ValueError, match="program's name"):
        RescueVM([], password="x", hide_tools=["../etc/passwd"])


async def test_a_cache_that_was_not_built_says_how_to_build_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOMRO_RESCUE_VM_CACHE", str(tmp_path))
    with pytest.raises(RescueVMUnavailable, match="make rescue-vm"):
        async with RescueVM([], password="x"):
            pass


def test_the_vm_tests_skip_with_the_reason_where_the_vm_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZOMRO_RESCUE_VM_CACHE", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make rescue-vm"):
        require_vm()


def test_under_ci_a_missing_vm_fails_the_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOMRO_RESCUE_VM_CACHE", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the rescue VM tests"):
        require_vm()
