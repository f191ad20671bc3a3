"""ssh.fix_permissions as data: the owners and modes sshd's StrictModes wants on root's home, .ssh and its keys.

StrictModes (the default) refuses root's authorized keys when any of these is not owned by root, or is writable by
group or others (logins.py finds that). The fix makes each wrong one owned by root (0:0) and sets its mode: the home
keeps its mode without group and others' write bits, .ssh becomes 700, a key file 600. A path that is a symbolic
link is refused: a link is never followed to change a mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from .report import Report

__all__ = ["STRICT_PATHS", "PermChange", "PermState", "changes", "commands", "items", "read_perms", "wrong"]

STRICT_PATHS = ("/root", "/root/.ssh", "/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2")
_WANTED = {"/root/.ssh": 0o700, "/root/.ssh/authorized_keys": 0o600, "/root/.ssh/authorized_keys2": 0o600}


@dataclass(frozen=True)
class PermState:
    path: str
    state: str  # present, absent, link
    mode: int = 0
    owner: str = ""

    def bad(self) -> bool:
        return self.state == "present" and (self.owner.split(":")[0] != "0" or bool(self.mode & 0o022))


@dataclass(frozen=True)
class PermChange:
    path: str
    mode: int
    chown: bool
    old: PermState


def read_perms(report: Report) -> dict[str, PermState]:
    """The `@@perm PATH present MODE UID:GID` (or absent, link) sections of repair.sh's report."""
    found = {}
    for section in report.all("perm"):
        path, state = section.arg(0), section.arg(1)
        if path in STRICT_PATHS and state in ("present", "absent", "link"):
            mode = int(section.arg(2), 8) if state == "present" and section.arg(2).isdigit() else 0
            found[path] = PermState(path, state, mode, section.arg(3))
    return found


def wrong(perms: dict[str, PermState]) -> list[PermState]:
    return [p for p in perms.values() if p.bad()]


def changes(perms: dict[str, PermState]) -> list[PermChange]:
    """What to change; raises ValueError with a sentence when the fix does not apply."""
    if not any(perms.get(p, PermState(p, "absent")).state != "absent" for p in STRICT_PATHS[2:]):
        raise ValueError("root has no authorized_keys file, so the modes do not stop a login; nothing to change.")
    links = [p.path for p in perms.values() if p.state == "link"]
    if links:
        raise ValueError(
            f"{', '.join(links)} is a symbolic link, which this fix never follows; fix it by hand (run_in_rescue)."
        )
    bad = wrong(perms)
    if not bad:
        raise ValueError("The owners and modes of /root, .ssh and authorized_keys are as StrictModes wants already.")
    return [
        PermChange(p.path, _WANTED.get(p.path, p.mode & ~0o022 & 0o7777), p.owner.split(":")[0] != "0", p) for p in bad
    ]


def commands(planned: list[PermChange]) -> list[str]:
    """The commands, as run inside the instance's root."""
    out = []
    for change in planned:
        if change.chown:
            out.append(f"chown 0:0 {change.path}")
        out.append(f"chmod {change.mode:o} {change.path}")
    return out


def items(planned: list[PermChange]) -> str:
    """The script's ZR_PERMS: MODE:CHOWN:PATH, space-separated."""
    return " ".join(f"{c.mode:o}:{int(c.chown)}:{c.path}" for c in planned)
