"""The diagnosis script (diagnose.sh, shipped in the package) with its parameters set, ready to send once."""

from __future__ import annotations

import functools
import math
import re
from importlib import resources

__all__ = ["DISK_PATTERN", "STAGES", "diagnosis_script"]

DISK_PATTERN = re.compile(r"/dev/[A-Za-z0-9][A-Za-z0-9/_.:+-]*")

# The stages the script announces (`@@stage NAME`), in order, with what each does; "connect" and "report" are the
# Python side's own.
STAGES: dict[str, str] = {
    "connect": "Connecting to the rescue system and checking its host key",
    "tools": "Checking the rescue system's tools",
    "lvm": "Activating the instance's LVM volume groups (read-only)",
    "disks": "Listing the disks and finding the rescue system's own",
    "filesystems": "Checking the file systems before mounting (e2fsck -n, xfs_repair -n)",
    "mount": "Mounting the instance's file systems read-only",
    "usage": "Measuring free space and inodes",
    "root": "Looking for the instance's root",
    "os": "Reading the operating system's name and version",
    "fstab": "Reading /etc/fstab",
    "boot": "Looking at the kernels and initramfs in /boot",
    "ssh": "Checking the SSH server's configuration, host keys and modes",
    "account": "Checking root's password state and keys",
    "firewall": "Checking the firewall started at boot",
    "journal": "Reading the last boot's errors",
    "cleanup": "Unmounting and deactivating everything again",
    "report": "Reading the report",
}


@functools.cache
def _source() -> str:
    return resources.files(__package__).joinpath("diagnose.sh").read_text(encoding="utf-8")


def diagnosis_script(*, fsck_timeout_s: float, only: str | None = None, hold_at: str | None = None) -> str:
    """The script, with its limits and (optionally) the one disk to examine; the values are checked, not quoted.

    `hold_at` is for tests: the script stops at that stage until its time limit ends it (and its cleanup runs).
    """
    if only is not None and not DISK_PATTERN.fullmatch(only):
        raise ValueError(f"not a device path: {only!r}")
    if hold_at is not None and hold_at not in STAGES:
        raise ValueError(f"not a stage: {hold_at!r}")
    header = f"ZR_FSCK_TIMEOUT={max(1, math.ceil(fsck_timeout_s))}\nZR_ONLY={only or ''}\nZR_HOLD={hold_at or ''}\n"
    return header + _source()
