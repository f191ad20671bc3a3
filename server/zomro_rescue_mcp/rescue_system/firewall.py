"""Does the instance's firewall, as it starts at boot, let SSH in.

ufw (enabled in ufw.conf and as a unit, incoming policy drop or reject, no allow or limit for the port), nftables
(/etc/nftables.conf of an enabled nftables unit: an input chain that drops the port, or drops by policy without an
accept for it) and saved iptables rules (rules.v4 or /etc/sysconfig/iptables of an enabled unit: the INPUT chain, with
the chains it jumps to, judged the same way). firewalld's zones are not judged (a note says so).
"""

from __future__ import annotations

import re

from .findings import Finding, finding
from .report import Report

__all__ = ["check_firewall", "iptables_verdict", "nft_verdict", "ufw_verdict"]

_DPORT = re.compile(r"--dports? (\S+)")


def _has_port(spec: str, ports: list[int]) -> bool:
    for part in spec.strip("{} ").replace(",", " ").split():
        low, _, high = part.partition(":" if ":" in part else "-")
        if part == "ssh" and 22 in ports:
            return True
        if low.isdigit() and (high.isdigit() or not high) and any(int(low) <= p <= int(high or low) for p in ports):
            return True
    return False


def ufw_verdict(lines: list[str], ports: list[int]) -> str | None:
    """Why ufw blocks SSH, or None."""
    enabled = any(re.match(r"\s*ENABLED\s*=\s*\"?yes\"?\s*$", line, re.I) for line in lines)
    if not enabled:
        return None
    policy = "DROP"
    for line in lines:
        if match := re.match(r"\s*DEFAULT_INPUT_POLICY\s*=\s*\"?(\w+)\"?", line):
            policy = match.group(1).upper()
    for line in lines:
        if not line.startswith("-A ufw"):
            continue
        spec = _DPORT.search(line)
        target = line.rsplit("-j ", 1)[-1].split()[0] if "-j " in line else ""
        if spec and _has_port(spec.group(1), ports):
            if target in ("ACCEPT", "ufw-user-limit-accept") or target.endswith("limit-accept"):
                return None
            if target in ("DROP", "REJECT", "ufw-user-limit"):
                return f"ufw: {line}"
    if policy in ("DROP", "REJECT"):
        return f"ufw is enabled with incoming policy {policy} and no rule allows port {ports[0]}"
    return None


def nft_verdict(text: str, ports: list[int]) -> str | None:
    """Why nftables.conf's input chains block SSH, or None."""
    for body in _input_chains(text):
        policy_drop = re.search(r"policy\s+drop", body) is not None
        for raw in body.split("\n"):
            line = raw.split("#", 1)[0].strip()
            match = re.search(r"\b(?:tcp\s+)?dport\s+(\{[^}]*\}|\S+)", line)
            if not match or not _has_port(match.group(1), ports):
                continue
            if re.search(r"\baccept\b", line):
                break
            if re.search(r"\b(drop|reject)\b", line):
                return f"nftables: {line}"
        else:
            if policy_drop:
                return f"nftables: an input chain has policy drop and no rule accepts port {ports[0]}"
    return None


def _input_chains(text: str) -> list[str]:
    chains = []
    for match in re.finditer(r"\bchain\s+\S+\s*\{", text):
        depth, start = 1, match.end()
        i = start
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body = text[start : i - 1]
        if re.search(r"\bhook\s+input\b", body):
            chains.append(body)
    return chains


def iptables_verdict(lines: list[str], ports: list[int]) -> str | None:
    """Why saved iptables rules (iptables-save format) block SSH in the filter table, or None."""
    policies: dict[str, str] = {}
    rules: dict[str, list[str]] = {}
    table = ""
    for line in lines:
        if line.startswith("*"):
            table = line[1:].strip()
        elif table == "filter" and line.startswith(":"):
            name, _, rest = line[1:].partition(" ")
            policies[name] = rest.split()[0] if rest.split() else "-"
        elif table == "filter" and line.startswith("-A "):
            chain = line.split()[1]
            rules.setdefault(chain, []).append(line)

    def walk(chain: str, depth: int) -> str | None:
        for line in rules.get(chain, []):
            target = line.rsplit("-j ", 1)[-1].split()[0] if "-j " in line else ""
            spec = _DPORT.search(line)
            if spec is None:
                if target in rules and depth < 3:
                    verdict = walk(target, depth + 1)
                    if verdict is not None:
                        return verdict
                continue
            if not _has_port(spec.group(1), ports):
                continue
            if target == "ACCEPT":
                return ""
            if target in ("DROP", "REJECT"):
                return f"iptables: {line}"
            if target in rules and depth < 3:
                verdict = walk(target, depth + 1)
                if verdict is not None:
                    return verdict
        return None

    verdict = walk("INPUT", 0)
    if verdict is not None:
        return verdict or None
    if policies.get("INPUT") in ("DROP", "REJECT"):
        return f"iptables: INPUT policy {policies['INPUT']} and no rule accepts port {ports[0]}"
    return None


def check_firewall(report: Report, ports: list[int]) -> tuple[list[Finding], list[str]]:
    units_section = report.first("units")
    units = set(units_section.lines) if units_section else set()
    reasons: list[tuple[str, str]] = []
    notes: list[str] = []
    ufw = report.first("ufw")
    if ufw and "ufw" in units and (why := ufw_verdict(list(ufw.lines), ports)):
        reasons.append(("ufw", why))
    nft = report.first("nftables")
    if nft and "nftables" in units and (why := nft_verdict(nft.text, ports)):
        reasons.append(("nftables", why))
    if units & {"netfilter-persistent", "iptables"}:
        for section in report.all("iptables"):
            if why := iptables_verdict(list(section.lines), ports):
                reasons.append(("iptables", f"{section.arg(0)}: {why}"))
    if "firewalld" in units:
        notes.append("firewalld is enabled on the instance; its zones were not checked for SSH.")
    if not reasons:
        return [], notes
    return [
        finding(
            "firewall.blocks_ssh",
            f"the firewall started at boot ({', '.join(name for name, _ in reasons)}) blocks SSH on port {ports[0]}",
            [why for _, why in reasons],
            target=reasons[0][0],
        )
    ], notes
