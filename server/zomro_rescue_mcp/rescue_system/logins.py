"""Can root log in: the modes sshd's StrictModes insists on, and the state of root's password and keys.

Only the state of root's password ("locked", "empty", "set") leaves the rescue system: the script decides it there,
and the hash never travels.
"""

from __future__ import annotations

from .findings import Finding, finding
from .report import Report
from .sshd import SshdConfig

__all__ = ["check_permissions", "check_root_account", "root_account"]


def root_account(report: Report) -> tuple[str, int]:
    """Root's password state ("locked", "empty", "set" or "unknown") and how many authorized keys it has."""
    state, keys = "unknown", 0
    section = report.first("root_account")
    for line in section.lines if section else ():
        word, _, value = line.partition(" ")
        if word == "password" and value in ("locked", "empty", "set", "unknown"):
            state = value
        elif word == "keys" and value.isdigit():
            keys = int(value)
    return state, keys


def _writable_by_others(mode: str) -> bool:
    return len(mode) >= 10 and (mode[5] == "w" or mode[8] == "w")


def check_permissions(report: Report, config: SshdConfig) -> list[Finding]:
    """ssh.bad_permissions: /root, /root/.ssh or authorized_keys not owned by root or writable by group or others,
    which sshd refuses while StrictModes is on (the default)."""
    section = report.first("perms")
    if section is None or config.first("StrictModes", "yes").lower() == "no":
        return []
    entries = []
    for line in section.lines:
        words = line.split()
        if len(words) == 3:
            entries.append((words[0], words[1], words[2]))
    if not any(path.startswith("/root/.ssh/authorized_keys") for _, _, path in entries):
        return []  # no key file: the modes do not matter for a login
    bad = [
        f"{mode} uid {uid} {path}: " + ("not owned by root" if uid != "0" else "writable by group or others")
        for mode, uid, path in entries
        if uid != "0" or _writable_by_others(mode)
    ]
    if not bad:
        return []
    password, _ = root_account(report)
    return [
        finding(
            "ssh.bad_permissions",
            "sshd's StrictModes refuses root's authorized keys because of these owners or modes",
            bad,
            target=",".join(b.split(": ")[0].split()[-1] for b in bad),
            severity="critical" if password in ("locked", "empty") else "warning",
        )
    ]


def check_root_account(report: Report, config: SshdConfig) -> list[Finding]:
    """account.root_locked: root's password is locked or empty, and root has no authorized key."""
    password, keys = root_account(report)
    if password not in ("locked", "empty") or keys > 0:
        return []
    evidence = [f"root's password: {password}", f"root's authorized keys: {keys}"]
    permit = config.first("PermitRootLogin", "").lower()
    if permit:
        evidence.append(f"sshd_config: PermitRootLogin {permit}")
    return [
        finding(
            "account.root_locked",
            f"root's password is {password} and root has no authorized key: root cannot log in",
            evidence,
            target="root",
        )
    ]
