"""Disk images for the rescue VM, built from folder trees by the filesystems' own tools: no committed binaries, and
nothing mounted on the host.

- `debian_root_tree(folder)`: a real Debian root (minbase bookworm with openssh-server and passwd, from the cache
  `make rescue-vm` builds), unpacked into the folder, for findings that run the instance's own programs;
- `ext4_image`, `xfs_image`: a filesystem filled from a tree (`mkfs.ext4 -d`, `mkfs.xfs -p` with a protofile),
  in partition 1 of a GPT (or MBR) disk, or on the whole disk;
- `lvm_image` (async: it boots a rescue VM, the host has no device mapper): partition 1 a physical volume of the
  volume group `vg0`, whose logical volume `root` holds an ext4 filled from the tree;
- `blank_image`: a disk that is not a Linux root (vfat by default, or an empty ext4 or xfs, or no filesystem);
- `pinned_ssh(vm)`: SSH as root into a booted VM, accepting only the host key it was given;
- `require_vm()`: the skip rule of the VM tests (skip with the reason; under CI=true, fail).

Sizes are the whole image's, in MiB; the images are sparse. A partition starts at 1 MiB and ends 1 MiB before the
end of the disk (where GPT keeps its backup).
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

import asyncssh
import pytest

from zomro_rescue_mcp.simulator.rescue_vm import RescueVM, RescueVMUnavailable, check_available, vm_cache

MIB = 1024 * 1024
XFS_MIN_MB = 302  # mkfs.xfs refuses a filesystem under 300 MiB; 2 more for the partition table
LVM_VG, LVM_LV = "vg0", "root"
_TABLE_TYPES = {"gpt": "linux", "dos": "83"}


def require_vm(reason_if_missing: str | None = None) -> None:
    """Skip the test (under CI=true: fail it) when the rescue VM cannot run here, saying why; `reason_if_missing`
    is another reason to, found by the caller (a missing file)."""
    try:
        check_available()
        if reason_if_missing is not None:
            raise RescueVMUnavailable(reason_if_missing)
    except RescueVMUnavailable as missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the rescue VM tests: {missing}")
        pytest.skip(str(missing))


def _run(*command: str | Path, stdin: str | None = None) -> str:
    """Run a tool found on PATH; its output, or RuntimeError with what it said."""
    tool = shutil.which(str(command[0]))
    if tool is None:
        raise RuntimeError(f"{command[0]} is not installed: run `make rescue-vm` (as root) to install it.")
    done = subprocess.run([tool, *map(str, command[1:])], input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def debian_root_tree(folder: Path) -> Path:
    """The cached Debian root unpacked in `folder / "debian-root"` (once: an unpacked one is reused); its path.

    Each caller that changes the tree needs a folder of its own (a test's `tmp_path`); the conftest's session
    fixture `debian_root` is one shared copy, to be read only.
    """
    tree = folder / "debian-root"
    done = folder / ".debian-root-unpacked"
    if done.exists():
        return tree
    tarball = vm_cache() / "debian-root.tar"
    if not tarball.is_file():
        raise FileNotFoundError(f"{tarball} is missing: run `make rescue-vm` to build it.")
    tree.mkdir(parents=True, exist_ok=True)
    _run("tar", "-x", "--numeric-owner", "-f", tarball, "-C", tree)
    done.touch()
    return tree


def _partition_table(out: Path, size_mb: int, table: str) -> None:
    """`out`, `size_mb` MiB of zeros with partition 1 from 1 MiB to 1 MiB before the end."""
    if table not in _TABLE_TYPES:
        raise ValueError(f"table must be one of {', '.join(_TABLE_TYPES)}, not {table!r}")
    with out.open("wb") as file:
        file.truncate(size_mb * MIB)
    script = f"label: {table}\nstart=2048, size={(size_mb - 2) * 2048}, type={_TABLE_TYPES[table]}\n"
    _run("sfdisk", "-q", out, stdin=script)


def _place(filesystem: Path, out: Path) -> None:
    """Copy a filesystem image into partition 1 of `out` (from 1 MiB), keeping it sparse."""
    _run("dd", f"if={filesystem}", f"of={out}", "bs=1M", "seek=1", "conv=notrunc,sparse", "status=none")
    filesystem.unlink()


def _check_size(size_mb: int, least: int) -> None:
    if size_mb < least:
        raise ValueError(f"size_mb must be at least {least}, not {size_mb}")


def ext4_image(
    tree: Path,
    out: Path,
    size_mb: int,
    *,
    partitioned: bool = True,
    uuid: str | None = None,
    label: str | None = None,
    table: str = "gpt",
) -> Path:
    """An ext4 filled from `tree` (`mkfs.ext4 -d`), in partition 1 or on the whole disk; returns `out`."""
    _check_size(size_mb, 8)
    options: list[str] = []
    if uuid is not None:
        options += ["-U", uuid]
    if label is not None:
        options += ["-L", label]
    if partitioned:
        _partition_table(out, size_mb, table)
        options += ["-E", f"offset={MIB}"]  # mke2fs writes into the partition and leaves the table alone
        fs_mb = size_mb - 2
    else:
        out.unlink(missing_ok=True)
        fs_mb = size_mb
    _run("mkfs.ext4", "-q", "-F", "-d", tree, *options, out, f"{fs_mb}M")
    return out


def _proto_name(path: Path) -> str:
    name = path.name
    if not name or any(char.isspace() for char in name):
        raise ValueError(f"mkfs.xfs's protofile cannot name {path}: a file name with white space")
    return name


def _protofile_lines(folder: Path, depth: int) -> list[str]:
    """The entries of `folder` in mkfs.xfs's protofile syntax (see xfsprogs' mkfs/proto.c), then `$`."""
    lines: list[str] = []
    indent = " " * depth
    for entry in sorted(folder.iterdir()):
        info = entry.lstat()
        mode = info.st_mode
        perms = (
            ("u" if mode & stat.S_ISUID else "-")
            + ("g" if mode & stat.S_ISGID else "-")
            + f"{stat.S_IMODE(mode) & 0o777:03o}"
        )
        owner = f"{info.st_uid} {info.st_gid}"
        name = _proto_name(entry)
        if stat.S_ISDIR(mode):
            lines.append(f"{indent}{name} d{perms} {owner}")
            lines += _protofile_lines(entry, depth + 1)
        elif stat.S_ISLNK(mode):
            lines.append(f"{indent}{name} l{perms} {owner} {os.readlink(entry)}")
        elif stat.S_ISREG(mode):
            lines.append(f"{indent}{name} -{perms} {owner} {entry}")
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            kind = "c" if stat.S_ISCHR(mode) else "b"
            lines.append(f"{indent}{name} {kind}{perms} {owner} {os.major(info.st_rdev)} {os.minor(info.st_rdev)}")
        elif stat.S_ISFIFO(mode):
            lines.append(f"{indent}{name} p{perms} {owner}")
        # sockets cannot be in a protofile, and have no place in an image anyway
    lines.append(f"{indent}$")
    return lines


def xfs_protofile(tree: Path, out: Path) -> Path:
    """A protofile for `mkfs.xfs -p` describing `tree` (owners, modes, links, devices; no hard links)."""
    info = tree.stat()
    root = f"d--{stat.S_IMODE(info.st_mode) & 0o777:03o} {info.st_uid} {info.st_gid}"
    out.write_text("\n".join(["/dev/null", "0 0", root, *_protofile_lines(tree, 1)]) + "\n", encoding="utf-8")
    return out


def xfs_image(tree: Path, out: Path, size_mb: int, *, partitioned: bool = True, table: str = "gpt") -> Path:
    """An XFS filled from `tree` (`mkfs.xfs -p`), in partition 1 or on the whole disk; at least 302 MiB (sparse)."""
    _check_size(size_mb, XFS_MIN_MB)
    proto = xfs_protofile(tree, out.with_name(out.name + ".proto"))
    target = out.with_name(out.name + ".xfs") if partitioned else out
    with target.open("wb") as file:
        file.truncate((size_mb - 2 if partitioned else size_mb) * MIB)
    try:
        _run("mkfs.xfs", "-q", "-f", "-p", proto, target)
    finally:
        proto.unlink()
    if partitioned:
        _partition_table(out, size_mb, table)
        _place(target, out)
    return out


def blank_image(out: Path, size_mb: int, fstype: str = "vfat", *, partitioned: bool = True) -> Path:
    """A disk that is not a Linux root: an empty vfat (or ext4, or xfs), or no filesystem at all (`"none"`)."""
    if fstype == "xfs":
        _check_size(size_mb, XFS_MIN_MB)
    else:
        _check_size(size_mb, 8)
    if fstype == "none":
        if partitioned:
            _partition_table(out, size_mb, "gpt")
        else:
            with out.open("wb") as file:
                file.truncate(size_mb * MIB)
        return out
    if fstype == "ext4":
        empty = out.with_name(out.name + ".empty")
        empty.mkdir(exist_ok=True)
        try:
            return ext4_image(empty, out, size_mb, partitioned=partitioned)
        finally:
            empty.rmdir()
    target = out.with_name(out.name + ".fs") if partitioned else out
    with target.open("wb") as file:
        file.truncate((size_mb - 2 if partitioned else size_mb) * MIB)
    if fstype == "vfat":
        _run("mkfs.vfat", target)
    elif fstype == "xfs":
        _run("mkfs.xfs", "-q", "-f", target)
    else:
        raise ValueError(f"fstype must be vfat, ext4, xfs or none, not {fstype!r}")
    if partitioned:
        _partition_table(out, size_mb, "gpt")
        _place(target, out)
    return out


async def lvm_image(tree: Path, out: Path, size_mb: int) -> Path:
    """Partition 1 a physical volume of `vg0`, its logical volume `root` an ext4 filled from `tree`; returns `out`.

    The host has no device mapper, so a rescue VM does the LVM part: the host makes the partition table and the
    ext4 (`mkfs.ext4 -d`, sized to the logical volume), the VM creates the volume group, copies the ext4 into the
    logical volume and deactivates it. About one VM boot (10 s under TCG).
    """
    _check_size(size_mb, 16)
    password = secrets.token_urlsafe(12)
    _partition_table(out, size_mb, "gpt")
    lv_mb = size_mb - 2 - 8  # what is left of the partition after LVM's metadata, rounded down to whole extents
    filesystem = ext4_image(tree, out.with_name(out.name + ".lv"), lv_mb, partitioned=False)
    script = (
        "set -e; modprobe dm_mod; "
        f"pvcreate -q /dev/vdb1; vgcreate -q {LVM_VG} /dev/vdb1; "
        f"lvcreate -q -y -L {lv_mb}m -n {LVM_LV} {LVM_VG}; "
        f"dd if=/dev/vdc of=/dev/{LVM_VG}/{LVM_LV} bs=1M status=none; sync; vgchange -q -an {LVM_VG}"
    )
    try:
        async with RescueVM([out, filesystem], password=password) as vm, pinned_ssh(vm) as connection:
            done = await connection.run(script, check=False, timeout=120)
            if done.exit_status != 0:
                raise RuntimeError(f"building the LVM disk failed ({done.exit_status}): {done.stderr!s}")
    finally:
        filesystem.unlink(missing_ok=True)
    return out


class _Pinned(asyncssh.SSHClient):
    def __init__(self, fingerprint: str) -> None:
        self.fingerprint = fingerprint

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        return key.get_fingerprint("sha256") == self.fingerprint


def _no_stored_keys(host: str, addr: str, port: int | None) -> tuple[list[str], list[str], list[str]]:
    return [], [], []  # no known_hosts file: every key goes to _Pinned


class VMAddress(Protocol):
    """Where a booted rescue VM answers, and as whom: a RescueVM, or what `zomro-rescue-mcp rescue-vm` announced."""

    host: str
    port: int
    password: str
    fingerprint: str


@asynccontextmanager
async def pinned_ssh(vm: VMAddress, password: str | None = None) -> AsyncIterator[asyncssh.SSHClientConnection]:
    """An SSH connection as root to `vm`, accepting only the host key the VM was given (for building disks and for
    tests of the VM itself; the product's own SSH code is in zomro_rescue_mcp.rescue_system)."""
    async with asyncssh.connect(
        vm.host,
        vm.port,
        username="root",
        password=vm.password if password is None else password,
        client_factory=lambda: _Pinned(vm.fingerprint),
        known_hosts=_no_stored_keys,
        config=None,
        client_keys=None,
        agent_path=None,
        connect_timeout=30,
        login_timeout=30,
    ) as connection:
        yield connection
