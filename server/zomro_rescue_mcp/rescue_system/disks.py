"""The disk finder's half in Python: what `lsblk -J -b` and `blkid -o export` said, and what became of each candidate.

The script (diagnose.sh) does the finding on the rescue system: it excludes the disks the rescue system uses (its
root, its medium, anything it has mounted), loop, zram, sr and read-only devices, activates LVM volume groups that
were inactive (read-only, deactivated at the end), checks every ext2/3/4, XFS or Btrfs file system that is left before
mounting it read-only, and accepts as the instance's root one that has etc/fstab and etc/os-release. This module
turns its report into `Disk`s and an `Inventory` of the identifiers (UUID, LABEL, PARTUUID…) of the instance's disks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from .report import Report

__all__ = ["Disk", "Inventory", "parse_blkid_export", "parse_lsblk", "read_disks"]

Role = Literal["rescue", "instance", "skipped"]
_VIRTUAL = re.compile(r"^/dev/(loop|zram|sr|ram|fd)\d*")
_ROOT_TYPES = ("ext2", "ext3", "ext4", "xfs", "btrfs")
_ABOUT_TYPE = {
    "LVM2_member": "an LVM physical volume",
    "swap": "swap space",
    "crypto_LUKS": "encrypted (LUKS): not opened, so not examined",
    "linux_raid_member": "a RAID member: not assembled, so not examined",
}


class Disk(BaseModel):
    """One block device the rescue system sees (a disk, a partition, a logical volume …)."""

    device: str = Field(description="The device path in the rescue system, e.g. /dev/vdb1 (not the instance's name).")
    type: str = Field(description="disk, part, lvm, rom, loop …, as lsblk says.")
    size_bytes: int | None = None
    fstype: str | None = None
    uuid: str | None = None
    label: str | None = None
    parent: str | None = None
    role: Role = Field(
        description="rescue: the rescue system's own (never examined); instance: examined; skipped: loop, "
        "optical, read-only, or another disk than the one asked for."
    )
    linux_root: bool | None = Field(default=None, description="Whether it holds a Linux root; null if not examined.")
    note: str | None = None


@dataclass
class Inventory:
    """The instance's block devices (role "instance"), by what an fstab line can name them."""

    disks: list[Disk]
    uuids: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    partuuids: dict[str, str] = field(default_factory=dict)
    partlabels: dict[str, str] = field(default_factory=dict)
    mapper: dict[str, str] = field(default_factory=dict)  # device-mapper names (LVM: vg-lv) to the device
    lvm_seen: bool = False

    def device(self, path: str) -> Disk | None:
        return next((d for d in self.disks if d.device == path), None)


def parse_blkid_export(lines: Iterable[str]) -> dict[str, dict[str, str]]:
    """`blkid -o export`: blank-line separated blocks of KEY=value (values shell-escaped with backslashes)."""
    found: dict[str, dict[str, str]] = {}
    block: dict[str, str] = {}
    for line in [*lines, ""]:
        if not line.strip():
            if "DEVNAME" in block:
                found[block["DEVNAME"]] = block
            block = {}
            continue
        key, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[A-Z_]+", key):
            block[key] = re.sub(r"\\(.)", r"\1", value)
    return found


def parse_lsblk(text: str) -> list[dict[str, Any]]:
    """`lsblk -J -b`: the devices flattened (children after their parent), each with its parent's path; one entry per
    path (a logical volume over two physical volumes shows up under both)."""
    try:
        tree = json.loads(text)
    except ValueError:
        return []
    flat: dict[str, dict[str, Any]] = {}

    def walk(nodes: Any, parent: str | None) -> None:
        if not isinstance(nodes, list):
            return
        for node in nodes:
            if not isinstance(node, dict) or not isinstance(node.get("name"), str):
                continue
            path = node.get("path") or f"/dev/{node.get('kname') or node['name']}"
            entry = {**node, "path": path, "parent_path": parent}
            flat.setdefault(path, entry)
            walk(node.get("children"), path)

    walk(tree.get("blockdevices") if isinstance(tree, dict) else None, None)
    return list(flat.values())


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true")


def _size(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _top_disks(path: str, parents: dict[str, str | None]) -> set[str]:
    seen = set()
    while path and path not in seen:
        seen.add(path)
        parent = parents.get(path)
        if parent is None:
            return {path}
        path = parent
    return set()


def read_disks(report: Report, *, only: str | None = None) -> Inventory:
    """The disks of the report, each with its role and what became of it, and the inventory of the instance's."""
    lsblk = report.first("lsblk")
    blkid_section = report.first("blkid")
    blkid = parse_blkid_export(blkid_section.lines if blkid_section else ())
    nodes = parse_lsblk(lsblk.text) if lsblk else []
    inuse_section = report.first("inuse")
    inuse = set(inuse_section.args if inuse_section else ())
    parents = {n["path"]: n["parent_path"] for n in nodes}
    with_children = {n["parent_path"] for n in nodes}
    fates = _fates(report)

    disks: list[Disk] = []
    for node in nodes:
        path = node["path"]
        probe = blkid.get(path, {})
        # Without udev in the rescue system lsblk leaves FSTYPE and UUID empty; blkid probes the device itself.
        fstype = probe.get("TYPE") or node.get("fstype") or None
        tops = _top_disks(path, parents)
        role: Role = "instance"
        note: str | None = None
        if tops & inuse:
            role, note = "rescue", "used by the rescue system"
        elif _VIRTUAL.match(path) or any(_VIRTUAL.match(t) for t in tops) or node.get("type") in ("rom", "loop"):
            role, note = "skipped", "loop, RAM or optical device"
        elif only and path != only and only not in tops:
            role, note = "skipped", f"not on {only}, the disk asked for"
        elif _flag(node.get("ro")):
            role, note = "skipped", "read-only device"
        disk = Disk(
            device=path,
            type=str(node.get("type") or "?"),
            size_bytes=_size(node.get("size")),
            fstype=fstype,
            uuid=probe.get("UUID") or node.get("uuid") or None,
            label=probe.get("LABEL") or node.get("label") or None,
            parent=node.get("parent_path"),
            role=role,
            note=note,
        )
        if role == "instance":
            _describe(disk, fates.get(path, {}), path in with_children)
        disks.append(disk)

    inventory = Inventory(disks=disks)
    for disk in disks:
        if disk.role != "instance":
            continue
        probe = blkid.get(disk.device, {})
        for key, table in (
            ("UUID", inventory.uuids),
            ("LABEL", inventory.labels),
            ("PARTUUID", inventory.partuuids),
            ("PARTLABEL", inventory.partlabels),
        ):
            value = probe.get(key)
            if value:
                table.setdefault(value.lower() if key in ("UUID", "PARTUUID") else value, disk.device)
        if disk.uuid:
            inventory.uuids.setdefault(disk.uuid.lower(), disk.device)
        if disk.label:
            inventory.labels.setdefault(disk.label, disk.device)
        if disk.type == "lvm" or disk.device.startswith("/dev/mapper/"):
            inventory.lvm_seen = True
            inventory.mapper[disk.device.rsplit("/", 1)[-1]] = disk.device
    return inventory


def _fates(report: Report) -> dict[str, dict[str, str]]:
    """What the script did with each candidate device: checked, mounted, accepted as a root or not."""
    fates: dict[str, dict[str, str]] = {}
    for section in report:
        device = section.arg(0)
        if section.name in ("mounted", "mount_failed", "linux_root", "not_root", "readonly"):
            fate = fates.setdefault(device, {})
            fate[section.name] = section.lines[0] if section.lines else section.arg(1)
    return fates


def _describe(disk: Disk, fate: dict[str, str], has_children: bool) -> None:
    if "linux_root" in fate:
        disk.linux_root, disk.note = True, "a Linux root"
    elif "not_root" in fate:
        disk.linux_root, disk.note = False, "not a Linux root (no etc/fstab and etc/os-release)"
    elif "mount_failed" in fate:
        disk.linux_root, disk.note = None, f"could not be mounted read-only: {fate['mount_failed']}"[:200]
    elif "readonly" in fate:
        disk.note = "read-only device"
    elif disk.fstype in _ABOUT_TYPE:
        disk.linux_root, disk.note = False, _ABOUT_TYPE[disk.fstype]
    elif disk.fstype and disk.fstype not in _ROOT_TYPES:
        disk.linux_root, disk.note = False, f"not a Linux root ({disk.fstype})"
    elif disk.fstype is None and not has_children:
        disk.linux_root, disk.note = False, "not a Linux root (no file system, no partitions)"
