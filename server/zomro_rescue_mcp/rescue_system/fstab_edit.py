"""The fstab fixes as pure edits: which line a fix acts on, the line it becomes, and why a fix does not apply.

Each edit changes exactly one line and keeps every other byte (the whitespace between fields included), so the diff
a preview shows is the whole change. A fix that does not apply raises `EditRefused` with a sentence saying why and
what to do instead: the line is not there, two lines match, the line has nofail already, no file system (or more
than one) could replace a stale source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .disks import Inventory
from .fstab import parse_fstab, resolve

__all__ = ["EditRefused", "LineEdit", "add_nofail", "comment_out", "find_line", "replace_device"]

_FIELD = re.compile(r"\S+")
_SPEC_TAGS = ("UUID=", "LABEL=", "PARTUUID=", "PARTLABEL=", "/dev/")


class EditRefused(ValueError):
    """The fix does not apply to this fstab; the message says why, in a sentence."""


@dataclass(frozen=True)
class LineEdit:
    number: int  # 1-based
    old: str
    new: str

    def apply(self, text: str) -> str:
        lines = text.split("\n")
        if lines[self.number - 1].rstrip("\r") != self.old:
            raise EditRefused(f"/etc/fstab line {self.number} changed since it was read; preview the fix again.")
        ending = "\r" if lines[self.number - 1].endswith("\r") else ""
        lines[self.number - 1] = self.new + ending
        return "\n".join(lines)


def _lines(text: str) -> list[tuple[int, str]]:
    """The lines that are neither blank nor comments, as (number, line)."""
    out = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if line.strip() and not line.strip().startswith("#"):
            out.append((number, line))
    return out


def find_line(text: str, target: str | None) -> tuple[int, str]:
    """The one line `target` names: the line itself (surrounding spaces aside), or else its mount point or source."""
    if not target or not target.strip():
        raise EditRefused("This fix needs `target`: the fstab line to act on (as the finding names it).")
    wanted = target.strip()
    lines = _lines(text)
    exact = [(n, line) for n, line in lines if line.strip() == wanted]
    if not exact:
        exact = [(n, line) for n, line in lines if wanted in _FIELD.findall(line)[:2]]
    if not exact:
        raise EditRefused(
            f"No line of /etc/fstab is {wanted[:120]!r} or mounts it; diagnose again and use the line a finding names."
        )
    if len(exact) > 1:
        numbers = ", ".join(str(n) for n, _ in exact[:6])
        raise EditRefused(
            f"{len(exact)} lines of /etc/fstab match {wanted[:120]!r} (lines {numbers}); give the whole line as target."
        )
    return exact[0]


def _field_span(line: str, index: int) -> tuple[int, int] | None:
    found = list(_FIELD.finditer(line))
    if index >= len(found):
        return None
    return found[index].start(), found[index].end()


def add_nofail(text: str, target: str | None) -> LineEdit:
    """The line with `nofail` added to its options (boot goes on when its device is missing)."""
    number, line = find_line(text, target)
    entries, _ = parse_fstab(text)
    entry = next((e for e in entries if e.number == number), None)
    if entry is None:
        raise EditRefused(
            f"/etc/fstab line {number} cannot be parsed, so nofail cannot be added to it; comment it out instead "
            "(fstab.comment_out)."
        )
    if "nofail" in entry.options:
        raise EditRefused(f"/etc/fstab line {number} has nofail already; nothing to change.")
    span = _field_span(line, 3)
    if span is None:  # device, mount point and type only: the options field is added
        end = _field_span(line, 2)
        assert end is not None  # parse_fstab accepted it: three fields at least
        new = line[: end[1]] + " nofail" + line[end[1] :]
    else:
        new = line[: span[1]] + ",nofail" + line[span[1] :]
    return LineEdit(number, line, new)


def comment_out(text: str, target: str | None) -> LineEdit:
    """The line behind a `#` (the boot ignores it; file.restore_backup or removing the `#` brings it back)."""
    number, line = find_line(text, target)
    return LineEdit(number, line, "#" + line)


def replace_device(text: str, target: str | None, inventory: Inventory) -> tuple[LineEdit, str]:
    """The line with its source replaced by `UUID=…` of the one file system of the instance that can be it.

    A candidate is a file system on the instance's disks of the line's type (any type for `auto`) with a UUID, that
    no other line of fstab names. Returns the edit and the device chosen.
    """
    number, line = find_line(text, target)
    entries, _ = parse_fstab(text)
    entry = next((e for e in entries if e.number == number), None)
    if entry is None:
        raise EditRefused(f"/etc/fstab line {number} cannot be parsed; comment it out instead (fstab.comment_out).")
    status, _ = resolve(entry.spec, inventory)
    if status == "found":
        raise EditRefused(f"The source of /etc/fstab line {number}, {entry.spec}, exists on the instance's disks.")
    if status == "virtual" or not entry.spec.startswith(_SPEC_TAGS):
        raise EditRefused(f"/etc/fstab line {number} does not mount a block device ({entry.spec}).")
    named = set()
    for other in entries:
        if other.number != number:
            found, device = resolve(other.spec, inventory)
            if found == "found" and device:
                named.add(device)
    candidates = [
        d
        for d in inventory.disks
        if d.role == "instance"
        and d.uuid
        and d.device not in named
        and (d.fstype == entry.vfstype or (entry.vfstype == "auto" and d.fstype))
    ]
    if not candidates:
        raise EditRefused(
            f"No file system of type {entry.vfstype} on the instance's disks is free to replace {entry.spec} on "
            f"/etc/fstab line {number}; add nofail (fstab.add_nofail) or comment the line out (fstab.comment_out)."
        )
    if len(candidates) > 1:
        shown = ", ".join(f"{d.device} (UUID={d.uuid})" for d in candidates[:4])
        raise EditRefused(
            f"{len(candidates)} file systems could replace {entry.spec} on /etc/fstab line {number} ({shown}); "
            "edit the line by hand, or add nofail (fstab.add_nofail)."
        )
    chosen = candidates[0]
    span = _field_span(line, 0)
    assert span is not None
    return LineEdit(number, line, line[: span[0]] + f"UUID={chosen.uuid}" + line[span[1] :]), chosen.device
