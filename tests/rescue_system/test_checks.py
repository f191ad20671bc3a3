"""The other checks and the disk list, from report sections as the script writes them: file-system checks, space
and inodes, kernels and initramfs, the last boot's errors, the disks' roles, and the findings' bounds and order."""

from __future__ import annotations

import json

import pytest

from zomro_rescue_mcp.rescue_system.boot import check_boot, version_key
from zomro_rescue_mcp.rescue_system.disks import parse_blkid_export, read_disks
from zomro_rescue_mcp.rescue_system.filesystems import check_fsck, check_usage
from zomro_rescue_mcp.rescue_system.findings import MAX_EVIDENCE_LINES, finding, ordered
from zomro_rescue_mcp.rescue_system.journal import check_journal, fold
from zomro_rescue_mcp.rescue_system.report import Report


def report(text: str) -> Report:
    return Report.parse(text)


def test_e2fsck_errors_are_a_finding_and_its_chatter_is_left_out() -> None:
    text = (
        "@@fsck /dev/vdb1 e2fsck 4\n|e2fsck 1.47.0 (5-Feb-2023)\n|Pass 1: Checking inodes, blocks, and sizes\n"
        "|Inode 12 ref count is 7, should be 1.  Fix? no\n|/dev/vdb1: ********** WARNING: Filesystem still has errors\n"
    )
    (found,), notes = check_fsck(report(text), 60)
    assert (found.kind, found.fix, found.target, notes) == ("fs.errors", "fs.repair", "/dev/vdb1", [])
    assert found.evidence == [
        "$ e2fsck -n -f /dev/vdb1",
        "Inode 12 ref count is 7, should be 1.  Fix? no",
        "/dev/vdb1: ********** WARNING: Filesystem still has errors",
    ]


@pytest.mark.parametrize(
    ("section", "note"),
    [
        ("@@fsck /dev/vdb1 e2fsck 0\n|/dev/vdb1: clean\n", None),
        ("@@fsck /dev/vdb1 e2fsck 124\n", "e2fsck on /dev/vdb1 did not finish within 60 s"),
        ("@@fsck /dev/vdc1 xfs_repair absent\n", "The rescue system has no xfs_repair: /dev/vdc1 was not checked"),
        ("@@fsck /dev/vdb1 e2fsck 8\n|e2fsck: Device or resource busy\n", "e2fsck could not check /dev/vdb1"),
    ],
)
def test_a_check_that_could_not_judge_is_a_note_not_a_finding(section: str, note: str | None) -> None:
    findings, notes = check_fsck(report(section), 60)
    assert findings == []
    assert [n[: len(note or "")] for n in notes] == ([note] if note else [])


def test_an_xfs_log_waiting_for_replay_is_a_warning_without_a_repair() -> None:
    (found,), _ = check_fsck(
        report("@@fsck /dev/vdb1 xfs_repair 2\n|ERROR: The filesystem has valuable metadata\n"), 60
    )
    assert (found.kind, found.severity, found.fix) == ("fs.errors", "warning", None)


USAGE = (
    "@@usage /dev/vdb1\n|blocks 1000 960 40\n|inodes 100 10 90\n"
    "@@usage /dev/vdb2\n|blocks 1000 100 900\n|inodes 100 99 1\n"
    "@@usage /dev/vdc1\n|blocks 1000 999 1\n|inodes 0 0 0\n"
    "@@largest /dev/vdb1\n|960\t\n|700\t/var\n|650\t/var/log\n"
)


def test_a_file_system_at_95_percent_or_more_is_full_when_it_is_the_root_or_in_fstab() -> None:
    found = check_usage(report(USAGE), {"/dev/vdb1": "/", "/dev/vdb2": "/var"})
    assert [(f.kind, f.target) for f in found] == [("disk.full", "/dev/vdb1"), ("disk.inodes_full", "/dev/vdb2")]
    assert found[0].summary == "/ (/dev/vdb1) is 96% full: 40.0 KiB free of 1000.0 KiB"
    assert found[0].evidence[1:] == ["largest: / 960.0 KiB", "largest: /var 700.0 KiB", "largest: /var/log 650.0 KiB"]
    assert found[1].summary == "/var (/dev/vdb2) has used 99% of its inodes: 1 free of 100"


def test_a_file_system_fstab_does_not_mount_is_not_judged() -> None:
    assert check_usage(report(USAGE), {}) == []


def boot(files: str, where: str = "root") -> Report:
    return report(f"@@boot {where}\n" + "".join(f"|{line}\n" for line in files.split("\n") if line))


def test_kernels_are_listed_newest_first() -> None:
    findings, _, kernels = check_boot(
        boot(
            "9000 vmlinuz-6.1.0-9-amd64\n9000 vmlinuz-6.1.0-18-amd64\n"
            "900 initrd.img-6.1.0-18-amd64\n900 initrd.img-6.1.0-9-amd64"
        )
    )
    assert (findings, kernels) == ([], ["6.1.0-18-amd64", "6.1.0-9-amd64"])
    assert version_key("6.1.0-18") > version_key("6.1.0-9")


def test_no_kernel_or_only_empty_ones_is_a_finding() -> None:
    for files in ("900 initrd.img-6.1.0-18-amd64", "0 vmlinuz-6.1.0-18-amd64\n900 initrd.img-6.1.0-18-amd64"):
        (found,), _, kernels = check_boot(boot(files))
        assert (found.kind, found.fix, kernels) == ("boot.no_kernel", None, [])


def test_an_empty_initramfs_or_none_for_the_newest_kernel_is_a_finding() -> None:
    (empty,), _, _ = check_boot(boot("9000 vmlinuz-6.1.0-18-amd64\n0 initrd.img-6.1.0-18-amd64"))
    assert (empty.kind, empty.fix, empty.target) == ("boot.empty_initramfs", "boot.rebuild_initramfs", "6.1.0-18-amd64")
    (none,), _, _ = check_boot(
        boot("9000 vmlinuz-6.1.0-18-amd64\n9000 vmlinuz-6.1.0-9-amd64\n900 initrd.img-6.1.0-9-amd64")
    )
    assert none.summary == "no initramfs for the newest kernel 6.1.0-18-amd64 in /boot"


@pytest.mark.parametrize(
    "files",
    [
        "9000 vmlinuz-5.14.0-362.el9.x86_64\n900 initramfs-5.14.0-362.el9.x86_64.img",  # RHEL and its kin
        "9000 vmlinuz-linux\n900 initramfs-linux.img\n900 initramfs-linux-fallback.img",  # Arch
        "9000 vmlinuz-lts\n900 initramfs-lts",  # Alpine
    ],
)
def test_other_distributions_initramfs_names_are_known(files: str) -> None:
    assert check_boot(boot(files))[0] == []


def test_a_boot_partition_that_was_not_found_is_a_note() -> None:
    findings, notes, _ = check_boot(boot("", "unmounted"))
    assert findings == []
    assert notes[0].startswith("fstab mounts /boot from a file system that was not found")


def test_log_lines_are_folded_without_time_host_and_pid_newest_last() -> None:
    lines = [
        "Jan 11 09:00:03 web systemd[1]: Failed to mount srv.mount.",
        "2026-01-11T09:00:04.123456+00:00 web kernel: EXT4-fs error (device vda1)",
        "Jan 11 09:00:05 web systemd[1]: Failed to mount srv.mount.",
        "-- Boot 4c5e… --",
    ]
    assert fold(lines) == [("kernel: EXT4-fs error (device vda1)", 1), ("systemd: Failed to mount srv.mount.", 2)]


def test_only_the_newest_20_error_lines_are_kept() -> None:
    text = "@@journal journalctl\n" + "".join(
        f"|Jan 11 09:00:{i:02d} web app[9]: error number {i}\n" for i in range(30)
    )
    (found,), _ = check_journal(report(text))
    assert (found.kind, found.severity, found.fix) == ("journal.errors", "warning", None)
    assert found.evidence == [f"app: error number {i}" for i in range(10, 30)]
    assert found.summary == "the last boot logged 30 error lines in its journal"


def test_a_root_without_journal_or_syslog_is_a_note() -> None:
    assert check_journal(report("@@journal none\n")) == (
        [],
        ["No journal or syslog of the last boot was found on the instance's root."],
    )


LSBLK = {
    "blockdevices": [
        {"name": "vda", "path": "/dev/vda", "type": "disk", "size": 100, "ro": False, "children": [
            {"name": "vda1", "path": "/dev/vda1", "type": "part", "size": 99, "mountpoint": "/", "ro": False}]},
        {"name": "vdb", "path": "/dev/vdb", "type": "disk", "size": 200, "ro": False, "children": [
            {"name": "vdb1", "path": "/dev/vdb1", "type": "part", "size": 199, "ro": False, "children": [
                {"name": "vg0-root", "path": "/dev/mapper/vg0-root", "type": "lvm", "size": 190, "ro": False}]}]},
        {"name": "vdc", "path": "/dev/vdc", "type": "disk", "size": 50, "ro": True},
        {"name": "loop0", "path": "/dev/loop0", "type": "loop", "size": 5, "ro": False},
        {"name": "sr0", "path": "/dev/sr0", "type": "rom", "size": 5, "ro": True},
        {"name": "vdd", "path": "/dev/vdd", "type": "disk", "size": 32, "ro": False},
    ]
}  # fmt: skip
BLKID = (
    "DEVNAME=/dev/vda1\nUUID=5e5c0e00-0000-4000-8000-00000000c0de\nTYPE=ext4\n\n"
    "DEVNAME=/dev/vdb1\nUUID=Kzzx-LVM\nTYPE=LVM2_member\n\n"
    "DEVNAME=/dev/mapper/vg0-root\nUUID=A4142875-DFD3-4774-8C4D-C82CD5B786A2\nTYPE=ext4\nLABEL=my\\ root\n\n"
    "DEVNAME=/dev/vdd\nUUID=1234-ABCD\nTYPE=vfat\n"
)


def disks_report(extra: str = "") -> Report:
    lsblk = "".join(f"|{line}\n" for line in json.dumps(LSBLK, indent=1).split("\n"))
    blkid = "".join(f"|{line}\n" for line in BLKID.split("\n"))
    return report(f"@@inuse /dev/vda\n@@lsblk\n{lsblk}@@blkid\n{blkid}{extra}")


def test_blkid_exports_values_unescaped() -> None:
    assert parse_blkid_export(BLKID.split("\n"))["/dev/mapper/vg0-root"]["LABEL"] == "my root"


def test_each_device_has_its_role_and_what_became_of_it() -> None:
    inventory = read_disks(disks_report("@@linux_root /dev/mapper/vg0-root /\n"))
    seen = {d.device: (d.role, d.linux_root, d.note) for d in inventory.disks}
    assert seen == {
        "/dev/vda": ("rescue", None, "used by the rescue system"),
        "/dev/vda1": ("rescue", None, "used by the rescue system"),
        "/dev/vdb": ("instance", None, None),
        "/dev/vdb1": ("instance", False, "an LVM physical volume"),
        "/dev/mapper/vg0-root": ("instance", True, "a Linux root"),
        "/dev/vdc": ("skipped", None, "read-only device"),
        "/dev/loop0": ("skipped", None, "loop, RAM or optical device"),
        "/dev/sr0": ("skipped", None, "loop, RAM or optical device"),
        "/dev/vdd": ("instance", False, "not a Linux root (vfat)"),
    }
    assert inventory.uuids["a4142875-dfd3-4774-8c4d-c82cd5b786a2"] == "/dev/mapper/vg0-root"
    assert "5e5c0e00-0000-4000-8000-00000000c0de" not in inventory.uuids  # the rescue system's own
    assert inventory.mapper == {"vg0-root": "/dev/mapper/vg0-root"}


def test_disks_other_than_the_one_asked_for_are_skipped() -> None:
    roles = {d.device: d.role for d in read_disks(disks_report(), only="/dev/vdd").disks}
    assert (roles["/dev/vdd"], roles["/dev/mapper/vg0-root"], roles["/dev/vdb"]) == ("instance", "skipped", "skipped")


def test_evidence_is_bounded_and_critical_comes_first() -> None:
    long = finding("journal.errors", "many", [f"line {i} " + "x" * 300 for i in range(30)])
    assert len(long.evidence) == MAX_EVIDENCE_LINES
    assert long.evidence[-1] == "… and 11 more"
    assert all(len(line) <= 200 for line in long.evidence)
    first = finding("boot.no_kernel", "no kernel", ["-"])
    assert [f.kind for f in ordered([long, first])] == ["boot.no_kernel", "journal.errors"]
