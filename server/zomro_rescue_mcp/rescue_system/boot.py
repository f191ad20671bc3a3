"""Kernels and initramfs images in the instance's /boot (its own file system when fstab says so)."""

from __future__ import annotations

import re

from .findings import Finding, finding
from .report import Report

__all__ = ["check_boot", "initramfs_names", "version_key"]

_KERNEL = re.compile(r"^(vmlinuz|vmlinux|kernel|bzImage)(-(?P<version>.+))?$")
_INITRAMFS = re.compile(r"^(initrd|initramfs)")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Orders kernel versions as people do: 6.1.0-18 after 6.1.0-9."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.findall(r"\d+|[A-Za-z]+", version))


def initramfs_names(version: str) -> set[str]:
    """The names an initramfs of kernel `version` has on Debian, Ubuntu, RHEL and its kin, Arch and Alpine."""
    return {
        f"initrd.img-{version}",
        f"initrd-{version}.img",
        f"initramfs-{version}.img",
        f"initrd-{version}",
        f"initramfs-{version}",
    }


def check_boot(report: Report) -> tuple[list[Finding], list[str], list[str]]:
    """Findings, notes and the kernel versions found (newest first)."""
    section = report.first("boot")
    if section is None:
        return [], [], []
    if section.arg(0) == "unmounted":
        return (
            [],
            ["fstab mounts /boot from a file system that was not found on the instance's disks: kernels not checked."],
            [],
        )
    files: dict[str, int] = {}
    for line in section.lines:
        size, _, name = line.partition(" ")
        if size.isdigit() and name:
            files[name] = int(size)
    where = "/boot" + (f" ({section.arg(1)})" if section.arg(0) == "separate" else "")
    kernels = {m.group("version") or "": name for name in files if (m := _KERNEL.match(name))}
    usable = {version: name for version, name in kernels.items() if files[name] > 0}
    listing = [f"{size:>10} {name}" for name, size in sorted(files.items())][:12] or [f"{where} holds no kernel files"]
    findings: list[Finding] = []
    if not usable:
        findings.append(finding("boot.no_kernel", f"no kernel in {where}", listing, target=where))
        return findings, [], []
    versions = sorted(usable, key=version_key, reverse=True)
    newest = versions[0]
    empty = sorted(name for name, size in files.items() if _INITRAMFS.match(name) and size == 0)
    names = initramfs_names(newest) if newest else {"initrd.img", "initramfs.img", "initrd"}
    if newest == "linux" or newest.startswith("linux-"):  # Arch: vmlinuz-linux goes with initramfs-linux.img
        names.add(f"initramfs-{newest}.img")
    present = [name for name in names if name in files]
    if empty:
        findings.append(
            finding(
                "boot.empty_initramfs",
                f"an initramfs of size 0 in {where}: {', '.join(empty)}",
                listing,
                target=newest or None,
            )
        )
    elif not present:
        findings.append(
            finding(
                "boot.empty_initramfs",
                f"no initramfs for the newest kernel {newest or kernels['']} in {where}",
                listing,
                target=newest or None,
            )
        )
    return findings, [], [v or kernels[v] for v in versions]
