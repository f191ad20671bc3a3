"""The instance's /etc/fstab: lines libmount would refuse, and devices that none of the instance's disks has.

The rules follow libmount (util-linux 2.38, what systemd's fstab generator uses), checked with `findmnt --verify`: a
line needs 3 to 6 fields (a 7th may only start a comment), dump and pass must be numbers; such a line is ignored at
boot. A source is looked up among the instance's disks only (never the rescue system's): tags (UUID=, LABEL=,
PARTUUID=, PARTLABEL=), their /dev/disk/by-* links and device-mapper names. Kernel names (/dev/vda1, /dev/sda1) differ
inside the rescue system, so they are not judged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .disks import Inventory
from .findings import Finding, finding

__all__ = ["FstabLine", "check_fstab", "parse_fstab", "resolve"]

Resolution = Literal["found", "missing", "unverifiable", "virtual"]
_NOT_A_DISK = {"tmpfs", "proc", "sysfs", "devpts", "devtmpfs", "cgroup", "cgroup2", "securityfs", "debugfs", "efivarfs"}
_NETWORK = ("nfs", "nfs4", "cifs", "smbfs", "smb3", "sshfs", "glusterfs", "ceph", "9p", "davfs")
_TAGS = {"UUID": "uuids", "LABEL": "labels", "PARTUUID": "partuuids", "PARTLABEL": "partlabels"}
_BY = {"by-uuid": "UUID", "by-label": "LABEL", "by-partuuid": "PARTUUID", "by-partlabel": "PARTLABEL"}


@dataclass(frozen=True)
class FstabLine:
    number: int
    text: str
    spec: str
    file: str
    vfstype: str
    options: tuple[str, ...]

    @property
    def optional(self) -> bool:
        """Whether boot goes on without it (nofail, or not mounted at boot at all)."""
        return "nofail" in self.options or "noauto" in self.options


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def parse_fstab(text: str) -> tuple[list[FstabLine], list[tuple[int, str, str]]]:
    """The entries, and the lines libmount cannot parse as (line number, line, why)."""
    entries: list[FstabLine] = []
    invalid: list[tuple[int, str, str]] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = stripped.split()
        if len(fields) > 6 and fields[6].startswith("#"):
            fields = fields[:6]
        if len(fields) < 3:
            invalid.append((number, line, f"{len(fields)} field{'s' if len(fields) > 1 else ''}, at least 3 needed"))
            continue
        if len(fields) > 6:
            invalid.append((number, line, f"{len(fields)} fields, at most 6"))
            continue
        bad = [name for name, value in zip(("dump", "pass"), fields[4:], strict=False) if not value.isdigit()]
        if bad:
            invalid.append((number, line, f"{' and '.join(bad)} must be a number"))
            continue
        options = tuple(fields[3].split(",")) if len(fields) > 3 else ()
        entries.append(FstabLine(number, line, _unescape(fields[0]), _unescape(fields[1]), fields[2], options))
    return entries, invalid


def resolve(spec: str, inventory: Inventory) -> tuple[Resolution, str | None]:
    """Whether `spec` names one of the instance's block devices, and which."""
    tag, sep, value = spec.partition("=")
    if sep and tag.upper() in _TAGS:
        return _lookup(tag.upper(), value.strip('"'), inventory)
    if spec.startswith("/dev/disk/"):
        kind, _, name = spec[len("/dev/disk/") :].partition("/")
        if kind in _BY:
            return _lookup(
                _BY[kind], re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), name), inventory
            )
        return "unverifiable", None
    if spec.startswith("/dev/mapper/"):
        name = spec[len("/dev/mapper/") :]
        found = inventory.mapper.get(name)
        return ("found", found) if found else ("unverifiable", None)
    parts = spec.split("/")
    if len(parts) == 4 and parts[:2] == ["", "dev"] and inventory.lvm_seen:  # /dev/VG/LV
        name = f"{parts[2].replace('-', '--')}-{parts[3].replace('-', '--')}"
        if name in inventory.mapper:
            return "found", inventory.mapper[name]
        return "unverifiable", None
    if spec.startswith("/dev/"):
        return "unverifiable", None
    return "virtual", None


def _lookup(tag: str, value: str, inventory: Inventory) -> tuple[Resolution, str | None]:
    table: dict[str, str] = getattr(inventory, _TAGS[tag])
    key = value.lower() if tag in ("UUID", "PARTUUID") else value
    found = table.get(key)
    return ("found", found) if found else ("missing", None)


def _known(inventory: Inventory) -> str:
    shown = [f"UUID={u} ({d})" for u, d in inventory.uuids.items()][:4]
    shown += [f"LABEL={label} ({d})" for label, d in inventory.labels.items()][:2]
    return "the instance's disks have: " + (", ".join(shown) if shown else "no file system with a UUID or label")


def check_fstab(text: str, inventory: Inventory) -> tuple[list[Finding], list[str], dict[str, str]]:
    """Findings, notes, and the instance's devices that fstab mounts (device → mount point)."""
    entries, invalid = parse_fstab(text)
    findings: list[Finding] = []
    notes: list[str] = []
    mounted: dict[str, str] = {}
    for number, line, why in invalid:
        findings.append(
            finding(
                "fstab.invalid_line",
                f"fstab line {number} cannot be parsed and is ignored at boot: {why}",
                [f"line {number}: {line.strip()}", "fstab(5): device, mount point, type[, options[, dump[, pass]]]"],
                target=line,
            )
        )
    unchecked: list[str] = []
    for entry in entries:
        if entry.vfstype in _NOT_A_DISK or entry.vfstype.startswith(_NETWORK) or entry.vfstype.startswith("fuse"):
            continue
        status, device = resolve(entry.spec, inventory)
        if status == "found" and device:
            mounted.setdefault(device, entry.file)
        elif status == "unverifiable":
            unchecked.append(entry.spec)
        elif status == "missing" and not entry.optional:
            swap = entry.vfstype == "swap"
            findings.append(
                finding(
                    "fstab.unknown_device",
                    f"fstab line {entry.number} mounts {entry.spec} on {entry.file}, which no disk has, without nofail",
                    [f"line {entry.number}: {entry.text.strip()}", _known(inventory)],
                    target=entry.text,
                    severity="warning" if swap else None,
                    fix="fstab.replace_device" if entry.file == "/" else False,
                )
            )
    if unchecked:
        notes.append(
            f"fstab names {', '.join(sorted(set(unchecked))[:4])} by kernel or mapper name; such names differ inside "
            "the rescue system, so they were not checked."
        )
    return findings, notes, mounted
