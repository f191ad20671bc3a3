"""The instance disks of the diagnosis tests: a healthy Debian root, and one disk per finding kind built from it.

Every case starts from `healthy_tree` (the real Debian root of `make rescue-vm`, with a kernel, an initramfs, an
fstab naming its own UUID, a root password and a clean last boot in syslog) and changes one thing, so that its
diagnosis has exactly the findings it names (`Case.expect`) and the healthy disk has none. The trees are hard-linked
copies: a changed file is always replaced (unlinked, then written), never edited in place.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid as uuids
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from zomro_rescue_mcp.simulator.rescue_vm import RESCUE_ROOT_UUID

from .disks import MIB, blank_image, ext4_image, lvm_image, xfs_image

KERNEL = "6.1.0-30-cloud-amd64"
# A made-up SHA-512 crypt string: the password state is "set"; no one can log in with it.
ROOT_HASH = "$6$zomrotest$" + "Q" * 86
SYSLOG = (
    "Jan 10 10:00:00 debian kernel: Linux version 6.1.0-30-cloud-amd64 (debian-kernel@lists.debian.org)\n"
    "Jan 10 10:00:05 debian systemd[1]: Failed to start old.service - An old failure of the boot before.\n"
    "Jan 11 09:00:00 debian kernel: Linux version 6.1.0-30-cloud-amd64 (debian-kernel@lists.debian.org)\n"
    "Jan 11 09:00:02 debian systemd[1]: Started ssh.service - OpenBSD Secure Shell server.\n"
)
BAD_BOOT = (
    "Jan 11 09:00:03 debian systemd[1]: Failed to mount srv-data.mount - /srv/data.\n"
    "Jan 11 09:00:03 debian systemd[1]: Dependency failed for local-fs.target - Local File Systems.\n"
    + "Jan 11 09:00:04 debian kernel: EXT4-fs error (device vda1): ext4_lookup:1785: deleted inode referenced: 12\n"
    * 3
)


def _run(*command: str) -> str:
    tool = shutil.which(command[0])
    if tool is None:
        raise RuntimeError(f"{command[0]} is not installed: run `make rescue-vm` (as root) to install it.")
    return subprocess.run([tool, *command[1:]], capture_output=True, text=True, check=True).stdout


def replace(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write `path` as a new file (the tree is a hard-linked copy: editing in place would change the original)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)


def healthy_tree(debian: Path, out: Path, *, root: str, fstype: str = "ext4") -> Path:
    """A copy of the Debian root that boots as far as the disk can tell: fstab mounts `root` on /."""
    if out.exists():
        shutil.rmtree(out)
    _run("cp", "-al", str(debian), str(out))
    options = "errors=remount-ro 0 1" if fstype == "ext4" else "defaults 0 0"
    replace(
        out / "etc/fstab",
        f"# <file system> <mount point> <type> <options> <dump> <pass>\n{root} / {fstype} {options}\n",
    )
    replace(out / f"boot/vmlinuz-{KERNEL}", b"\x7fELF kernel " * 800)
    replace(out / f"boot/initrd.img-{KERNEL}", b"\x1f\x8b initramfs " * 800)
    shadow = (out / "etc/shadow").read_text(encoding="utf-8")
    lines = [
        f"root:{ROOT_HASH}:{line.split(':', 2)[2]}" if line.startswith("root:") else line for line in shadow.split("\n")
    ]
    replace(out / "etc/shadow", "\n".join(lines), 0o640)
    replace(out / "var/log/syslog", SYSLOG, 0o640)
    return out


# --- the changes, one per finding kind ----------------------------------------------------------------------------


def _append(path: Path, text: str) -> None:
    replace(path, path.read_text(encoding="utf-8") + text, path.stat().st_mode & 0o7777)


def unknown_device(tree: Path) -> None:
    _append(
        tree / "etc/fstab",
        "UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults 0 2\n"
        "LABEL=backup /srv/backup ext4 defaults,nofail 0 2\n",
    )  # the nofail line is not a finding


def invalid_line(tree: Path) -> None:
    _append(tree / "etc/fstab", "/dev/vdb9 /broken\n")


def no_kernel(tree: Path) -> None:
    (tree / f"boot/vmlinuz-{KERNEL}").unlink()


def empty_initramfs(tree: Path) -> None:
    replace(tree / f"boot/initrd.img-{KERNEL}", b"")


def config_invalid(tree: Path) -> None:
    _append(tree / "etc/ssh/sshd_config", "NoSuchOption yes\n")


def config_invalid_no_chroot(tree: Path) -> None:
    """The instance's sshd cannot run in a chroot (its interpreter is missing): the parser has to judge."""
    config_invalid(tree)
    replace(tree / "usr/sbin/sshd", "#!/nonexistent/interpreter\n", 0o755)


def host_keys_missing(tree: Path) -> None:
    for key in (tree / "etc/ssh").glob("ssh_host_*"):
        key.unlink()


def _authorized_key() -> str:
    return asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()


def bad_permissions(tree: Path) -> None:
    replace(tree / "root/.ssh/authorized_keys", _authorized_key(), 0o600)
    os.chmod(tree / "root/.ssh", 0o700)
    os.chmod(tree / "root", 0o777)  # noqa: S103 - the problem this case is about: StrictModes refuses a home others can write


def root_locked(tree: Path) -> None:
    shadow = (tree / "etc/shadow").read_text(encoding="utf-8").replace(f"root:{ROOT_HASH}:", "root:*:")
    replace(tree / "etc/shadow", shadow, 0o640)


def blocks_ssh(tree: Path) -> None:
    replace(tree / "etc/ufw/ufw.conf", "# /etc/ufw/ufw.conf\nENABLED=yes\nLOGLEVEL=low\n")
    replace(tree / "etc/default/ufw", 'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n')
    replace(
        tree / "etc/ufw/user.rules",
        "*filter\n:ufw-user-input - [0:0]\n### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n"
        "-A ufw-user-input -p tcp --dport 80 -j ACCEPT\nCOMMIT\n",
    )
    wants = tree / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / "ufw.service").symlink_to("/lib/systemd/system/ufw.service")


def journal_errors(tree: Path) -> None:
    replace(tree / "var/log/syslog", SYSLOG + BAD_BOOT, 0o640)


# --- building the images ------------------------------------------------------------------------------------------


def _dumpe2fs(image: Path, offset: int) -> dict[str, int]:
    values = {}
    for line in _run("dumpe2fs", "-h", f"{image}?offset={offset}").splitlines():
        key, _, value = line.partition(":")
        if value.strip().isdigit():
            values[key.strip()] = int(value.strip())
    return values


def ext4(size_mb: int = 300, **options: object) -> Callable[[Path, Path, str], Path]:
    def build(tree: Path, out: Path, uuid: str) -> Path:
        return ext4_image(tree, out, size_mb, uuid=uuid, **options)  # type: ignore[arg-type]

    return build


def full_disk(tree: Path, out: Path, uuid: str) -> Path:
    """The healthy tree plus a runaway log that leaves about 2 MiB of the file system free (≥ 98 % used)."""
    ext4_image(tree, out, 200, uuid=uuid)
    sb = _dumpe2fs(out, MIB)
    free = (sb["Free blocks"] - sb["Reserved block count"]) * sb["Block size"]
    chunk = os.urandom(MIB)
    size = free - 3 * MIB
    with (tree / "var/log/runaway.log").open("wb") as log:
        while size > 0:
            log.write(chunk[: min(size, MIB)])
            size -= MIB
    return ext4_image(tree, out, 200, uuid=uuid)


def inodes_full(tree: Path, out: Path, uuid: str) -> Path:
    """The healthy tree on a file system with few inodes, plus empty files until fewer than 40 are free.

    mke2fs reads its inode ratio from mke2fs.conf: a copy with a large ratio (MKE2FS_CONFIG, for this build only)
    leaves a few hundred inodes beyond the tree's, which a few hundred files use up.
    """
    used = sum(1 + len(folders) + len(files) for _, folders, files in os.walk(tree))
    ratio = 200 * MIB // (used + 600)
    conf = out.with_name(out.name + ".mke2fs.conf")
    conf.write_text(re.sub(r"inode_ratio\s*=\s*\d+", f"inode_ratio = {ratio}", Path("/etc/mke2fs.conf").read_text()))
    previous = os.environ.get("MKE2FS_CONFIG")
    os.environ["MKE2FS_CONFIG"] = str(conf)
    try:
        ext4_image(tree, out, 200, uuid=uuid)
        wanted = _dumpe2fs(out, MIB)["Free inodes"] - 40
        many = tree / "var/spool/many"
        many.mkdir(parents=True)
        for number in range(wanted - 1):
            (many / f"f{number}").touch()
        return ext4_image(tree, out, 200, uuid=uuid)
    finally:
        if previous is None:
            os.environ.pop("MKE2FS_CONFIG", None)
        else:
            os.environ["MKE2FS_CONFIG"] = previous
        conf.unlink()


def fs_errors(tree: Path, out: Path, uuid: str) -> Path:
    """The healthy image with a wrong link count in one inode: e2fsck -n -f reports it (and with -n fixes nothing)."""
    ext4_image(tree, out, 300, uuid=uuid)
    _run("debugfs", "-w", "-R", "set_inode_field /etc/hostname links_count 7", f"{out}?offset={MIB}")
    return out


def xfs(tree: Path, out: Path, uuid: str) -> Path:
    return xfs_image(tree, out, 400)


def blank(tree: Path, out: Path, uuid: str) -> Path:
    return blank_image(out, 32, "vfat")


@dataclass(frozen=True)
class Case:
    name: str
    expect: frozenset[str]  # the finding kinds its diagnosis has, exactly
    change: Callable[[Path], None] | None = None
    build: Callable[[Path, Path, str], Path] = field(default_factory=ext4)
    root_spec: str | None = None  # how fstab names the root; None: by the case's UUID
    fstype: str = "ext4"
    uuid: str | None = None


def _kinds(*kinds: str) -> frozenset[str]:
    return frozenset(kinds)


# One per finding kind (the name is the kind), then the disks of the disk finder.
FINDING_CASES = [
    Case("fstab.unknown_device", _kinds("fstab.unknown_device"), unknown_device),
    Case("fstab.invalid_line", _kinds("fstab.invalid_line"), invalid_line, ext4(300, table="dos")),
    Case("disk.full", _kinds("disk.full"), build=full_disk),
    Case("disk.inodes_full", _kinds("disk.inodes_full"), build=inodes_full),
    Case("fs.errors", _kinds("fs.errors"), build=fs_errors),
    Case("boot.no_kernel", _kinds("boot.no_kernel"), no_kernel),
    Case("boot.empty_initramfs", _kinds("boot.empty_initramfs"), empty_initramfs),
    Case("ssh.config_invalid", _kinds("ssh.config_invalid"), config_invalid),
    Case("ssh.host_keys_missing", _kinds("ssh.host_keys_missing"), host_keys_missing),
    Case("ssh.bad_permissions", _kinds("ssh.bad_permissions"), bad_permissions),
    Case("account.root_locked", _kinds("account.root_locked"), root_locked),
    Case("firewall.blocks_ssh", _kinds("firewall.blocks_ssh"), blocks_ssh),
    Case("journal.errors", _kinds("journal.errors"), journal_errors),
]
OTHER_CASES = [
    Case("healthy", _kinds()),
    Case("ssh.config_invalid.parser", _kinds("ssh.config_invalid"), config_invalid_no_chroot),
    Case("whole-disk", _kinds(), build=ext4(300, partitioned=False)),
    Case("rescue-uuid", _kinds(), uuid=RESCUE_ROOT_UUID),  # a copy of the rescue image's UUID
    Case("xfs", _kinds(), build=xfs, root_spec="/dev/vda1", fstype="xfs"),
    Case("blank", _kinds(), build=blank),
]
LVM_CASE = Case("lvm", _kinds(), root_spec="/dev/mapper/vg0-root")


def build_case(case: Case, debian: Path, folder: Path) -> Path:
    """The disk image of `case`, in `folder` (its tree beside it, removed once the image is built)."""
    uuid = case.uuid or str(uuids.uuid4())
    tree = healthy_tree(debian, folder / f"{case.name}.tree", root=case.root_spec or f"UUID={uuid}", fstype=case.fstype)
    try:
        if case.change is not None:
            case.change(tree)
        return case.build(tree, folder / f"{case.name}.img", uuid)
    finally:
        shutil.rmtree(tree)


async def build_lvm_case(debian: Path, folder: Path) -> Path:
    tree = healthy_tree(debian, folder / "lvm.tree", root=LVM_CASE.root_spec or "", fstype="ext4")
    try:
        return await lvm_image(tree, folder / "lvm.img", 300)
    finally:
        shutil.rmtree(tree)
