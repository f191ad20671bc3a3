"""A simulated instance's disk as the stand-in rescue system shows it: a MODEL, not a disk, that the repairs change.

It starts as a recorded diagnosis report shows a disk (the stand-in's recording: a healthy Debian root on /dev/vdb1
with a stale /etc/fstab line, so the diagnosis finds `fstab.unknown_device`): its disks' sections (`@@inuse`,
`@@lsblk`, `@@blkid`, as lsblk and blkid said them), its root, and its files: /etc/fstab, with mode 644 and owner 0:0
(what the recording does not show). What it answers, and all it answers:
- `diagnosis()`: the recording with its `@@fstab` section rendered from the model's current /etc/fstab (as
  diagnose.sh prints it), so a repaired line is no longer found;
- `repair(header)`: what repair.sh with repair_plan.sh or repair_apply.sh prints for the `ZR_…` values of its header:
  the disks' sections and the root, then for `plan` the file (`@@file`, and `@@source` for a restore) exactly as
  repair.sh's zr_show prints it, and for `apply` the same checks and steps as repair_apply.sh (the content the plan
  read, a backup FILE.zomro-rescue-STAMP beside it with the same mode and owner, the new content checked against its
  sha256, then `@@backup`, `@@written`, `@@after`, `@@end`); a plan of no file (where a command would run, and the
  command fixes' plans) gets the root with the modes (`@@perm`) and host keys (`@@hostkey`) the recording shows, the
  group of a mode the recording does not show taken as 0. Any other mode answers `@@failed` saying the simulator
  does not emulate it: nothing is pretended;
- `findings()` and `boots`: the product's own diagnosis (rescue_system.read_report, whose fstab check is
  rescue_system/fstab.check_fstab with the model's disks) run on `diagnosis()`; the instance boots when none is
  critical.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from ..rescue_system.diagnosis import read_report
from ..rescue_system.disks import read_disks
from ..rescue_system.findings import Finding
from ..rescue_system.report import Report

__all__ = ["FSTAB", "NOT_EMULATED", "DiskModel", "ModelFile", "RepairAnswer"]

FSTAB = "/etc/fstab"
NOT_EMULATED = "not_emulated_by_the_simulator"  # the `@@failed` step of a mode the model does not play
MAX_SHOWN = 262144  # repair.sh's zr_show: larger files are `too_large`
_DIAGNOSIS_FSTAB_BYTES, _DIAGNOSIS_FSTAB_WIDTH = 16384, 500  # diagnose.sh: zr_file "$zr_fstab" 16384 500
_DISK_SECTIONS = ("inuse", "lsblk", "blkid")
_STAMP = re.compile(r"\d{8}T\d{6}Z")
_SHA = re.compile(r"[0-9a-f]{64}")


@dataclass
class ModelFile:
    """One file of the instance's root: its content, its mode (octal, as `stat -c %a`) and owner (uid:gid)."""

    content: bytes
    mode: str = "644"
    owner: str = "0:0"


@dataclass(frozen=True)
class RepairAnswer:
    """What the repair script would print on standard output and standard error, and its exit status."""

    stdout: str
    stderr: str = ""
    exit_status: int = 0


def _chunks(report: str) -> list[tuple[str, str]]:
    """The report's sections as (name, their text: the header line and body lines, each ending in a newline)."""
    chunks: list[tuple[str, str]] = []
    for line in report.splitlines(keepends=True):
        if line.startswith("@@"):
            words = line[2:].split()
            chunks.append((words[0] if words else "", ""))
        if chunks:
            name, text = chunks[-1]
            chunks[-1] = (name, text + (line if line.endswith("\n") else line + "\n"))
    return chunks


def _body(data: bytes, width: int) -> str:
    """Lines as zr_body prints them (awk: `|` and at most `width` bytes of each)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return "".join("|" + line[:width].decode("utf-8", "surrogateescape") + "\n" for line in lines)


def _recorded_access(report: Report) -> str:
    """repair.sh's zr_perms and zr_hostkeys for the disk the recording shows (its `@@perms` and `@@hostkeys`)."""
    perms: dict[str, str] = {}
    recorded = report.first("perms")
    for line in recorded.lines if recorded else []:
        symbolic, _, rest = line.partition(" ")
        uid, _, path = rest.partition(" ")
        bits = "".join("0" if c == "-" else "1" for c in symbolic[1:10])
        if len(bits) == 9 and uid.isdigit():
            perms[path] = f"present {int(bits, 2):o} {uid}:0"
    out = "".join(
        f"@@perm {path} {perms.get(path, 'absent')}\n"
        for path in ("/root", "/root/.ssh", "/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2")
    )
    keys = report.first("hostkeys")
    return out + "".join(f"@@hostkey {line.split()[-1]} {line.split()[0]}\n" for line in (keys.lines if keys else []))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DiskModel:
    """One instance's disk (see the module's docstring); `files` holds its root's files by path, backups too."""

    def __init__(self, report: str) -> None:
        self._chunks = _chunks(report)
        parsed = Report.parse(report)
        root = parsed.first("root")
        self.root: str | None = root.arg(0) if root else None
        self.files: dict[str, ModelFile] = {}
        fstab = parsed.first("fstab")
        if fstab is not None:
            self.files[FSTAB] = ModelFile("".join(line + "\n" for line in fstab.lines).encode("utf-8"))
        self._disks = "".join(text for name, text in self._chunks if name in _DISK_SECTIONS)
        usage = parsed.first("usage")
        blocks = [line for line in usage.lines if line.startswith("blocks ")] if usage else []
        self._usage = f"@@usage {usage.arg(0)}\n|{blocks[0]}\n" if usage and blocks else ""
        self._access = _recorded_access(parsed)

    @property
    def fstab(self) -> str | None:
        """The root's /etc/fstab now (None when it has none)."""
        held = self.files.get(FSTAB)
        return None if held is None else held.content.decode("utf-8", "surrogateescape")

    @property
    def backups(self) -> list[str]:
        """The backups the repairs made, oldest name first."""
        return sorted(path for path in self.files if ".zomro-rescue-" in path)

    def diagnosis(self) -> str:
        """The diagnosis script's report of the disk as it is now."""
        out = []
        for name, text in self._chunks:
            if name == "fstab":
                held = self.files.get(FSTAB)
                text = "@@fstab\n" + (
                    _body(held.content[:_DIAGNOSIS_FSTAB_BYTES], _DIAGNOSIS_FSTAB_WIDTH) if held else ""
                )
            out.append(text)
        return "".join(out)

    def findings(self) -> list[Finding]:
        """What the product's diagnosis finds on the disk now, critical first."""
        return read_report(Report.parse(self.diagnosis()))[2]

    @property
    def boots(self) -> bool:
        """Whether the instance boots from this disk: the diagnosis finds nothing critical on it."""
        return not any(f.severity == "critical" for f in self.findings())

    # --- the repair script ---------------------------------------------------------------------------------------

    def repair(self, header: dict[str, str]) -> RepairAnswer:
        """What repair.sh and its mode's part print for these `ZR_…` values (the apply mode changes the model)."""
        mode = header.get("ZR_MODE", "")
        if mode not in ("plan", "apply"):
            return RepairAnswer(
                f"@@failed {NOT_EMULATED}\n@@done\n",
                f"the simulator's stand-in rescue system does not emulate the repair mode {mode[:60]!r}; nothing was "
                "run\n",
                5,
            )
        out = self._disks
        device = header.get("ZR_DEV", "")
        if self.root is None or (device and not self._holds_root(device)):
            return RepairAnswer(out + "@@no_root\n@@done\n")
        out += f"@@roots {self.root}\n@@root {self.root}\n"
        if mode == "plan":
            out += self._show("file", header["ZR_FILE"]) if header.get("ZR_FILE") else self._access
            if header.get("ZR_SRC"):
                out += self._show("source", header["ZR_SRC"])
            return RepairAnswer(out + self._usage + "@@end\n@@done\n")
        return self._apply(out, header)

    def _holds_root(self, device: str) -> bool:
        """Whether `device` (ZR_DEV) is the root's file system or the disk it is on."""
        assert self.root is not None
        found = read_disks(Report.parse(self._disks)).device(self.root)
        return device in (self.root, found.parent if found else None)

    def _show(self, section: str, path: str) -> str:
        """repair.sh's zr_show: the file's state and content (base64, 76 a line), or that it is absent."""
        held = self.files.get(path)
        if held is None:
            return f"@@{section} {path} absent\n"
        size = len(held.content)
        if size > MAX_SHOWN:
            return f"@@{section} {path} too_large {size}\n"
        encoded = base64.encodebytes(held.content).decode("ascii")
        lines = "".join(f"|{line}\n" for line in encoded.splitlines())
        return f"@@{section} {path} present {held.mode} {held.owner} {size} {_sha(held.content)}\n{lines}"

    def _apply(self, out: str, header: dict[str, str]) -> RepairAnswer:
        """repair_apply.sh: the checks in its order, the backup, the write, the file as it now reads."""
        path, stamp = header.get("ZR_FILE", ""), header.get("ZR_STAMP", "")
        held = self.files.get(path)
        if held is None:
            return RepairAnswer(out + f"@@gone {path}\n@@done\n")
        if _sha(held.content) != header.get("ZR_SHA", ""):
            return RepairAnswer(out + f"@@changed {path}\n@@done\n")
        backup = f"{path}.zomro-rescue-{stamp}"
        if backup in self.files:
            return RepairAnswer(out + f"@@backup_exists {backup}\n@@done\n")
        try:
            new = base64.b64decode(header.get("ZR_NEW", ""), validate=True)
        except (binascii.Error, ValueError):
            new = None
        if new is None or not _SHA.fullmatch(header.get("ZR_NEWSHA", "")) or _sha(new) != header["ZR_NEWSHA"]:
            return RepairAnswer(out + "@@failed decode\n@@done\n", exit_status=5)
        if not _STAMP.fullmatch(stamp):  # repair_remote.py never sends one without a stamp
            return RepairAnswer(out + "@@failed backup\n@@done\n", exit_status=5)
        self.files[backup] = ModelFile(held.content, held.mode, held.owner)
        self.files[path] = ModelFile(new, held.mode, held.owner)
        out += f"@@backup {backup}\n@@written {path}\n" + self._show("after", path)
        return RepairAnswer(out + "@@end\n@@done\n")
