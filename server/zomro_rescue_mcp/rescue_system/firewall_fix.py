"""firewall.allow_ssh's edit: an accept rule for the SSH port at the start of what blocks it, judged as the diagnosis
judges the firewall (firewall.py), before and after.

- ufw: /etc/ufw/user.rules gets the rule `ufw allow PORT/tcp` would write (its `### tuple ###` line and
  `-A ufw-user-input -p tcp --dport PORT -j ACCEPT`) before its first rule;
- nftables: /etc/nftables.conf gets `tcp dport PORT accept` as the first rule of the input chain that blocks it;
- iptables: the saved rules (/etc/iptables/rules.v4 or /etc/sysconfig/iptables) get `-A INPUT -p tcp --dport PORT -j
  ACCEPT` before the INPUT chain's first DROP, REJECT or jump to a chain of its own (or at its end).

The plan refuses unless the edited file, judged again, no longer blocks the port.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from .findings import Finding
from .firewall import check_firewall, nft_verdict
from .report import Report
from .sshd import read_config
from .unified_diff import text

__all__ = ["FirewallEdit", "firewall_report", "parse_port", "plan_edit", "remaining"]

_IPTABLES = (("iptables_v4", "/etc/iptables/rules.v4"), ("iptables_sysconfig", "/etc/sysconfig/iptables"))
_FILES = {
    "ufw_conf": "/etc/ufw/ufw.conf",
    "ufw_default": "/etc/default/ufw",
    "ufw_rules": "/etc/ufw/user.rules",
    "ufw6_rules": "/etc/ufw/user6.rules",
    "nftables": "/etc/nftables.conf",
    **dict(_IPTABLES),
    "sshd": "/etc/ssh/sshd_config",
}


@dataclass(frozen=True)
class FirewallEdit:
    section: str  # the plan_access report's section of the file
    path: str
    new: bytes
    summary: str


def parse_port(target_arg: str | None) -> int | None:
    """The port `target_arg` names (None: sshd's, as the diagnosis reads it), or ValueError with a sentence."""
    given = (target_arg or "").strip()
    if given in ("", "ufw", "nftables", "iptables"):  # the finding's target names the firewall
        return None
    if given.isdigit() and 0 < int(given) < 65536:
        return int(given)
    raise ValueError(
        f"{given[:40]!r} is not a TCP port; firewall.allow_ssh takes the SSH port (1 to 65535, default the one "
        "sshd_config sets). Nothing was changed."
    )


def _content(report: Report, name: str) -> str | None:
    section = report.first(name)
    if section is None or section.arg(1) != "present":
        return None
    return text(base64.b64decode("".join(section.lines)))


def _body(lines: list[str]) -> str:
    return "".join(f"|{line[:400]}\n" for line in lines)


def firewall_report(report: Report, new: dict[str, str] | None = None) -> tuple[Report, list[int]]:
    """The diagnosis's firewall sections (and sshd's ports) rebuilt from the files plan_access read, `new` replacing
    a file's content by its section name."""
    files = {name: (new or {}).get(name, _content(report, name)) for name in _FILES}

    def lines(name: str) -> list[str]:
        return (files[name] or "").splitlines()

    units = report.first("units")
    ufw = [line for line in lines("ufw_conf") if re.match(r"[ \t]*ENABLED=", line)]
    ufw += [line for line in lines("ufw_default") if re.match(r"[ \t]*DEFAULT_INPUT_POLICY=", line)]
    ufw += [
        line for name in ("ufw_rules", "ufw6_rules") for line in lines(name) if re.match(r"-A ufw6?-user-input", line)
    ]
    out = "@@units\n" + _body(list(units.lines) if units else []) + "@@ufw\n" + _body(ufw)
    out += "@@nftables\n" + _body(lines("nftables")[:2000])
    for name, path in _IPTABLES:
        if files[name] is not None:
            out += f"@@iptables {path}\n" + _body([x for x in lines(name) if re.match(r"(\*|:|-A|COMMIT)", x)])
    sshd = "@@sshd_file /etc/ssh/sshd_config\n" + _body(lines("sshd"))
    return Report.parse(out), read_config(Report.parse(sshd)).ports()


def remaining(report: Report, target_arg: str | None) -> list[Finding]:
    """firewall.blocks_ssh as the diagnosis would find it in what plan_access read (empty: SSH gets through)."""
    port = parse_port(target_arg)
    rebuilt, ports = firewall_report(report)
    return check_firewall(rebuilt, [port] if port else ports)[0]


def _ufw(old: str, port: int) -> str:
    lines = old.splitlines(keepends=True)
    rule = [
        f"### tuple ### allow tcp {port} 0.0.0.0/0 any 0.0.0.0/0 in\n",
        f"-A ufw-user-input -p tcp --dport {port} -j ACCEPT\n",
    ]
    for marks in (("### tuple ###", "-A ufw-user-input "), ("### END RULES ###", "COMMIT")):
        at = next((i for i, line in enumerate(lines) if line.strip().startswith(marks)), None)
        if at is not None:
            return "".join(lines[:at] + rule + lines[at:])
    raise ValueError("/etc/ufw/user.rules has no rules section (no COMMIT line)")


def _nft(old: str, port: int) -> str:
    for match in re.finditer(r"\bchain\s+\S+\s*\{", old):
        depth, i = 1, match.end()
        while i < len(old) and depth:
            depth += {"{": 1, "}": -1}.get(old[i], 0)
            i += 1
        body = old[match.end() : i - 1]
        hook = re.search(r"[^\n]*\bhook\s+input\b[^\n]*\n", body)
        if hook is None or nft_verdict("chain c {" + body + "}", [port]) is None:
            continue
        if "}" in hook.group(0):
            break
        at = match.end() + hook.end()
        indent = re.match(r"[ \t]*", hook.group(0).lstrip("\n"))
        return old[:at] + f"{indent.group(0) if indent else ''}tcp dport {port} accept\n" + old[at:]
    raise ValueError("/etc/nftables.conf has no input chain with its hook on a line of its own that blocks the port")


def _iptables(old: str, port: int) -> str:
    lines = old.splitlines(keepends=True)
    rule = f"-A INPUT -p tcp --dport {port} -j ACCEPT\n"
    start = next((i for i, line in enumerate(lines) if line.strip() == "*filter"), None)
    if start is None:
        raise ValueError("the saved iptables rules have no *filter table")
    end = next((i for i in range(start, len(lines)) if lines[i].strip() == "COMMIT"), None)
    if end is None:
        raise ValueError("the saved iptables rules' *filter table has no COMMIT line")
    chains = {line[1:].split()[0] for line in lines[start:end] if line.startswith(":") and line[1:].split()}
    own = chains - {"INPUT", "FORWARD", "OUTPUT"}
    inputs = [i for i in range(start, end) if lines[i].startswith("-A INPUT ")]
    for i in inputs:
        target = lines[i].rsplit("-j ", 1)[-1].split()[0] if "-j " in lines[i] else ""
        if target in ("DROP", "REJECT") or target in own:
            return "".join([*lines[:i], rule, *lines[i:]])
    at = inputs[-1] + 1 if inputs else end
    return "".join([*lines[:at], rule, *lines[at:]])


def plan_edit(report: Report, port: int | None) -> FirewallEdit:
    """The edit of the first firewall that blocks SSH, as plan_access read them; ValueError with a sentence if none."""
    rebuilt, ports = firewall_report(report)
    port = port or ports[0]
    found = check_firewall(rebuilt, [port])[0]
    if not found:
        raise ValueError(
            f"The firewall the instance starts at boot lets port {port} in already (as the diagnosis judges it); "
            "nothing to change."
        )
    kind = found[0].target or ""
    if kind == "ufw":
        section = "ufw_rules"
    elif kind == "nftables":
        section = "nftables"
    else:
        section = next(
            (n for n, p in _IPTABLES if any(e.startswith(f"{p}:") for e in found[0].evidence)), _IPTABLES[0][0]
        )
    path = _FILES[section]
    old = _content(report, section)
    if old is None:
        raise ValueError(f"{kind} blocks port {port} but {path} is not a readable file; add the rule by hand.")
    edit = {"ufw_rules": _ufw, "nftables": _nft}.get(section, _iptables)
    try:
        new = edit(old, port)
    except ValueError as refused:
        raise ValueError(f"{refused}; nothing was changed: add the rule by hand (run_in_rescue).") from None
    still = check_firewall(firewall_report(report, {section: new})[0], [port])[0]
    if still and any(e.startswith(kind) or e.startswith(path) for f in still for e in f.evidence):
        raise ValueError(
            f"An accept rule in {path} would not let port {port} in ({still[0].evidence[0]}); nothing was changed: "
            "edit the firewall by hand (run_in_rescue)."
        )
    others = f"; another firewall still blocks it: {still[0].evidence[0]}" if still else ""
    return FirewallEdit(
        section,
        path,
        new.encode("utf-8", "surrogateescape"),
        f"Lets TCP port {port} in through {kind}: an accept "
        f"rule in {path} before what blocks it (the file is backed up first){others}.",
    )
