"""File-system checks: what `e2fsck -n` / `xfs_repair -n` / `btrfs check --readonly` said on the unmounted devices,
and how full the root and the file systems fstab mounts from the instance's disks are."""

from __future__ import annotations

from .findings import Finding, finding
from .report import Report

__all__ = ["FULL_PERCENT", "check_fsck", "check_usage"]

FULL_PERCENT = 95
_CHATTER = ("e2fsck 1.", "Pass ", "Phase ", "        - ")
_COMMAND = {"e2fsck": "e2fsck -n -f", "xfs_repair": "xfs_repair -n", "btrfs": "btrfs check --readonly"}


def check_fsck(report: Report, fsck_timeout_s: float) -> tuple[list[Finding], list[str]]:
    findings: list[Finding] = []
    notes: list[str] = []
    for section in report.all("fsck"):
        device, tool, status = section.arg(0), section.arg(1), section.arg(2)
        # e2fsck's banner and its "Pass N" lines say nothing about the disk.
        output = [line for line in section.lines if line.strip() and not line.startswith(_CHATTER)]
        if status == "absent":
            notes.append(f"The rescue system has no {tool}: {device} was not checked for file-system errors.")
            continue
        if status == "0":
            continue
        if status == "124":
            notes.append(
                f"{tool} on {device} did not finish within {fsck_timeout_s:g} s: its file system was not fully checked."
            )
            continue
        errors = (tool == "e2fsck" and status in ("4", "12")) or (tool == "xfs_repair" and status == "1")
        errors = errors or (tool == "btrfs" and status == "1")
        dirty_log = tool == "xfs_repair" and status == "2"
        if errors or status == "141":  # 141: the output was cut short while it was still reporting problems
            findings.append(
                finding(
                    "fs.errors",
                    f"{_COMMAND.get(tool, tool)} reports errors on {device} (exit status {status})",
                    [f"$ {_COMMAND.get(tool, tool)} {device}", *output[-12:]],
                    target=device,
                )
            )
        elif dirty_log:
            findings.append(
                finding(
                    "fs.errors",
                    f"the XFS log of {device} holds changes not yet replayed (an unclean shutdown)",
                    [f"$ xfs_repair -n {device}", *output[:8]],
                    target=device,
                    severity="warning",
                    fix=None,
                )
            )
        else:
            first = output[0] if output else "no output"
            notes.append(f"{tool} could not check {device} (exit status {status}): {first}"[:240])
    return findings, notes


def _human(kib: int) -> str:
    size = kib * 1024.0
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} TiB"


def check_usage(report: Report, watched: dict[str, str]) -> list[Finding]:
    """disk.full and disk.inodes_full for the devices in `watched` (device → where the instance mounts it)."""
    findings: list[Finding] = []
    largest = {s.arg(0): [line for line in s.lines if line.strip()] for s in report.all("largest")}
    for section in report.all("usage"):
        device = section.arg(0)
        if device not in watched:
            continue
        where = watched[device]
        for line in section.lines:
            words = line.split()
            if len(words) != 4 or not all(w.isdigit() for w in words[1:]):
                continue
            what, total, used, free = words[0], int(words[1]), int(words[2]), int(words[3])
            if total <= 0 or used + free <= 0:
                continue  # XFS and Btrfs report no fixed inode count
            percent = used * 100 / (used + free)
            if percent < FULL_PERCENT:
                continue
            if what == "blocks":
                findings.append(
                    finding(
                        "disk.full",
                        f"{where} ({device}) is {percent:.0f}% full: {_human(free)} free of {_human(total)}",
                        [f"{device} on {where}: {_human(used)} used, {_human(free)} available"]
                        + [f"largest: {_largest(entry, where)}" for entry in largest.get(device, [])[:6]],
                        target=device,
                    )
                )
            elif what == "inodes":
                findings.append(
                    finding(
                        "disk.inodes_full",
                        f"{where} ({device}) has used {percent:.0f}% of its inodes: {free} free of {total}",
                        [f"{device} on {where}: {used} inodes used, {free} free"],
                        target=device,
                    )
                )
    return findings


def _largest(entry: str, where: str) -> str:
    """One line of `du -k` (size, white space, the path within the file system) as the instance sees the path."""
    size, _, path = entry.strip().partition("\t")
    if not path and " " in size:
        size, _, path = size.partition(" ")
    full = (where.rstrip("/") + path.strip()) or "/"
    return f"{full} {_human(int(size))}" if size.isdigit() else entry
